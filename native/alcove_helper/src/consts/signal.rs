//! Signal numbers and their lower-case names, as in signal(7).

pub static SIGNAL: &[(&str, i64)] = &[
    ("sighup", libc::SIGHUP as i64),
    ("sigint", libc::SIGINT as i64),
    ("sigquit", libc::SIGQUIT as i64),
    ("sigill", libc::SIGILL as i64),
    ("sigtrap", libc::SIGTRAP as i64),
    ("sigabrt", libc::SIGABRT as i64),
    ("sigbus", libc::SIGBUS as i64),
    ("sigfpe", libc::SIGFPE as i64),
    ("sigkill", libc::SIGKILL as i64),
    ("sigusr1", libc::SIGUSR1 as i64),
    ("sigsegv", libc::SIGSEGV as i64),
    ("sigusr2", libc::SIGUSR2 as i64),
    ("sigpipe", libc::SIGPIPE as i64),
    ("sigalrm", libc::SIGALRM as i64),
    ("sigterm", libc::SIGTERM as i64),
    ("sigstkflt", libc::SIGSTKFLT as i64),
    ("sigchld", libc::SIGCHLD as i64),
    ("sigcont", libc::SIGCONT as i64),
    ("sigstop", libc::SIGSTOP as i64),
    ("sigtstp", libc::SIGTSTP as i64),
    ("sigttin", libc::SIGTTIN as i64),
    ("sigttou", libc::SIGTTOU as i64),
    ("sigurg", libc::SIGURG as i64),
    ("sigxcpu", libc::SIGXCPU as i64),
    ("sigxfsz", libc::SIGXFSZ as i64),
    ("sigvtalrm", libc::SIGVTALRM as i64),
    ("sigprof", libc::SIGPROF as i64),
    ("sigwinch", libc::SIGWINCH as i64),
    ("sigio", libc::SIGIO as i64),
    ("sigpwr", libc::SIGPWR as i64),
    ("sigsys", libc::SIGSYS as i64),
];

/// The atom name of a signal; `unknown` for realtime and unnamed ones.
pub fn name(signum: i32) -> &'static str {
    super::by_value(SIGNAL, signum as i64).unwrap_or("unknown")
}
