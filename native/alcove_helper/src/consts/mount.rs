//! mount(2) flags and umount2(2) flags, in one table as alcove 1.0 had it.
//!
//! The two families overlap in value (`ms_rdonly` and `mnt_force` are both
//! 1), so look names up here, never values. The portable names the
//! original alcove accepts on every OS (`rdonly`, `nosuid`, `noexec`,
//! `noatime`) are here too.

pub static MOUNT: &[(&str, i64)] = &[
    ("ms_rdonly", libc::MS_RDONLY as i64),
    ("ms_nosuid", libc::MS_NOSUID as i64),
    ("ms_nodev", libc::MS_NODEV as i64),
    ("ms_noexec", libc::MS_NOEXEC as i64),
    ("ms_synchronous", libc::MS_SYNCHRONOUS as i64),
    ("ms_remount", libc::MS_REMOUNT as i64),
    ("ms_mandlock", libc::MS_MANDLOCK as i64),
    ("ms_dirsync", libc::MS_DIRSYNC as i64),
    ("ms_noatime", libc::MS_NOATIME as i64),
    ("ms_nodiratime", libc::MS_NODIRATIME as i64),
    ("ms_bind", libc::MS_BIND as i64),
    ("ms_move", libc::MS_MOVE as i64),
    ("ms_rec", libc::MS_REC as i64),
    ("ms_silent", libc::MS_SILENT as i64),
    ("ms_posixacl", libc::MS_POSIXACL as i64),
    ("ms_unbindable", libc::MS_UNBINDABLE as i64),
    ("ms_private", libc::MS_PRIVATE as i64),
    ("ms_slave", libc::MS_SLAVE as i64),
    ("ms_shared", libc::MS_SHARED as i64),
    ("ms_relatime", libc::MS_RELATIME as i64),
    ("ms_kernmount", libc::MS_KERNMOUNT as i64),
    ("ms_i_version", libc::MS_I_VERSION as i64),
    ("ms_strictatime", libc::MS_STRICTATIME as i64),
    ("ms_lazytime", libc::MS_LAZYTIME as i64),
    ("mnt_force", libc::MNT_FORCE as i64),
    ("mnt_detach", libc::MNT_DETACH as i64),
    ("mnt_expire", libc::MNT_EXPIRE as i64),
    ("umount_nofollow", libc::UMOUNT_NOFOLLOW as i64),
    ("rdonly", libc::MS_RDONLY as i64),
    ("nosuid", libc::MS_NOSUID as i64),
    ("noexec", libc::MS_NOEXEC as i64),
    ("noatime", libc::MS_NOATIME as i64),
];
