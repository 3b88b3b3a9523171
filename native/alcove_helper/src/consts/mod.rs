//! Constant tables: lower-case C names to values and back.

pub mod clone;
pub mod errno;
pub mod fcntl;
pub mod file;
pub mod ioctl;
pub mod mount;
pub mod net;
pub mod prctl;
pub mod ptrace;
pub mod rlimit;
pub mod seccomp;
pub mod signal;
pub mod syscall;

/// Look a name up in a `(name, value)` table.
pub fn by_name(table: &[(&'static str, i64)], name: &str) -> Option<i64> {
    table.iter().find(|(n, _)| *n == name).map(|&(_, v)| v)
}

/// Look a value up in a `(name, value)` table.
pub fn by_value(table: &[(&'static str, i64)], value: i64) -> Option<&'static str> {
    table.iter().find(|&&(_, v)| v == value).map(|&(n, _)| n)
}
