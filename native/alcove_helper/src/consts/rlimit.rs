//! getrlimit(2) resources and getpriority(2) targets.

/// Resource names for getrlimit(2)/setrlimit(2) (`rlimit_nofile`, ...).
pub static RLIMIT: &[(&str, i64)] = &[
    ("rlimit_as", libc::RLIMIT_AS as i64),
    ("rlimit_core", libc::RLIMIT_CORE as i64),
    ("rlimit_cpu", libc::RLIMIT_CPU as i64),
    ("rlimit_data", libc::RLIMIT_DATA as i64),
    ("rlimit_fsize", libc::RLIMIT_FSIZE as i64),
    ("rlimit_locks", libc::RLIMIT_LOCKS as i64),
    ("rlimit_memlock", libc::RLIMIT_MEMLOCK as i64),
    ("rlimit_msgqueue", libc::RLIMIT_MSGQUEUE as i64),
    ("rlimit_nice", libc::RLIMIT_NICE as i64),
    ("rlimit_nofile", libc::RLIMIT_NOFILE as i64),
    ("rlimit_nproc", libc::RLIMIT_NPROC as i64),
    ("rlimit_rss", libc::RLIMIT_RSS as i64),
    ("rlimit_rtprio", libc::RLIMIT_RTPRIO as i64),
    ("rlimit_rttime", libc::RLIMIT_RTTIME as i64),
    ("rlimit_sigpending", libc::RLIMIT_SIGPENDING as i64),
    ("rlimit_stack", libc::RLIMIT_STACK as i64),
];

/// The `which` argument of getpriority(2)/setpriority(2).
pub static PRIO: &[(&str, i64)] = &[
    ("prio_process", libc::PRIO_PROCESS as i64),
    ("prio_pgrp", libc::PRIO_PGRP as i64),
    ("prio_user", libc::PRIO_USER as i64),
];
