//! open(2) flags, as the lower-case C names.
//!
//! Several names share a value (`o_rdonly` is 0, `o_rsync` is `o_sync` on
//! Linux, `o_largefile` is 0 on 64-bit glibc): a lookup by value gives the
//! first name listed.

pub static FILE: &[(&str, i64)] = &[
    ("o_rdonly", libc::O_RDONLY as i64),
    ("o_wronly", libc::O_WRONLY as i64),
    ("o_rdwr", libc::O_RDWR as i64),
    ("o_accmode", libc::O_ACCMODE as i64),
    ("o_creat", libc::O_CREAT as i64),
    ("o_excl", libc::O_EXCL as i64),
    ("o_noctty", libc::O_NOCTTY as i64),
    ("o_trunc", libc::O_TRUNC as i64),
    ("o_append", libc::O_APPEND as i64),
    ("o_nonblock", libc::O_NONBLOCK as i64),
    ("o_ndelay", libc::O_NDELAY as i64),
    ("o_dsync", libc::O_DSYNC as i64),
    ("o_sync", libc::O_SYNC as i64),
    ("o_rsync", libc::O_RSYNC as i64),
    ("o_directory", libc::O_DIRECTORY as i64),
    ("o_nofollow", libc::O_NOFOLLOW as i64),
    ("o_cloexec", libc::O_CLOEXEC as i64),
    ("o_path", libc::O_PATH as i64),
    ("o_tmpfile", libc::O_TMPFILE as i64),
    ("o_noatime", libc::O_NOATIME as i64),
    ("o_largefile", libc::O_LARGEFILE as i64),
    ("o_async", libc::O_ASYNC as i64),
    ("o_direct", libc::O_DIRECT as i64),
];
