//! fcntl(2) commands and the values they take or return, as the lower-case
//! C names. `fd_cloexec` and `f_getfd` are both 1: a lookup by value gives
//! the first name listed.

pub static FCNTL: &[(&str, i64)] = &[
    ("f_dupfd", libc::F_DUPFD as i64),
    ("f_getfd", libc::F_GETFD as i64),
    ("f_setfd", libc::F_SETFD as i64),
    ("f_getfl", libc::F_GETFL as i64),
    ("f_setfl", libc::F_SETFL as i64),
    ("f_getlk", libc::F_GETLK as i64),
    ("f_setlk", libc::F_SETLK as i64),
    ("f_setlkw", libc::F_SETLKW as i64),
    ("f_setown", libc::F_SETOWN as i64),
    ("f_getown", libc::F_GETOWN as i64),
    // Not in the libc crate; 10 and 11 on every Linux architecture.
    ("f_setsig", 10),
    ("f_getsig", 11),
    ("f_ofd_getlk", libc::F_OFD_GETLK as i64),
    ("f_ofd_setlk", libc::F_OFD_SETLK as i64),
    ("f_ofd_setlkw", libc::F_OFD_SETLKW as i64),
    ("f_setlease", libc::F_SETLEASE as i64),
    ("f_getlease", libc::F_GETLEASE as i64),
    ("f_notify", libc::F_NOTIFY as i64),
    ("f_dupfd_cloexec", libc::F_DUPFD_CLOEXEC as i64),
    ("f_setpipe_sz", libc::F_SETPIPE_SZ as i64),
    ("f_getpipe_sz", libc::F_GETPIPE_SZ as i64),
    ("f_add_seals", libc::F_ADD_SEALS as i64),
    ("f_get_seals", libc::F_GET_SEALS as i64),
    ("fd_cloexec", libc::FD_CLOEXEC as i64),
    ("f_rdlck", libc::F_RDLCK as i64),
    ("f_wrlck", libc::F_WRLCK as i64),
    ("f_unlck", libc::F_UNLCK as i64),
    ("f_seal_seal", libc::F_SEAL_SEAL as i64),
    ("f_seal_shrink", libc::F_SEAL_SHRINK as i64),
    ("f_seal_grow", libc::F_SEAL_GROW as i64),
    ("f_seal_write", libc::F_SEAL_WRITE as i64),
    ("f_seal_future_write", libc::F_SEAL_FUTURE_WRITE as i64),
];
