//! clone(2) flags.

pub static CLONE: &[(&str, i64)] = &[
    ("clone_files", libc::CLONE_FILES as i64),
    ("clone_fs", libc::CLONE_FS as i64),
    ("clone_io", libc::CLONE_IO as i64),
    ("clone_newcgroup", libc::CLONE_NEWCGROUP as i64),
    ("clone_newipc", libc::CLONE_NEWIPC as i64),
    ("clone_newnet", libc::CLONE_NEWNET as i64),
    ("clone_newns", libc::CLONE_NEWNS as i64),
    ("clone_newpid", libc::CLONE_NEWPID as i64),
    ("clone_newtime", 0x80_i64),
    ("clone_newuser", libc::CLONE_NEWUSER as i64),
    ("clone_newuts", libc::CLONE_NEWUTS as i64),
    ("clone_parent", libc::CLONE_PARENT as i64),
    ("clone_ptrace", libc::CLONE_PTRACE as i64),
    ("clone_sighand", libc::CLONE_SIGHAND as i64),
    ("clone_sysvsem", libc::CLONE_SYSVSEM as i64),
    ("clone_thread", libc::CLONE_THREAD as i64),
    ("clone_untraced", libc::CLONE_UNTRACED as i64),
    ("clone_vfork", libc::CLONE_VFORK as i64),
    ("clone_vm", libc::CLONE_VM as i64),
];
