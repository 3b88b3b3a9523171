//! Constant lookups: the value of a lower-case C name in one family, or
//! `unknown`; errno_id(3)-style names; iolist_to_bin.

use crate::args::{Args, CallError, CallResult};
use crate::consts;
use crate::state::State;
use alcove_proto::Value;

/// `Symbol`'s value in `table`, or the atom `unknown`.
fn lookup(args: &Args, table: &[(&'static str, i64)]) -> CallResult {
    let name = args.atom(0)?;
    Ok(match consts::by_name(table, name) {
        Some(value) => Value::Int(value),
        None => Value::atom("unknown"),
    })
}

/// clone(2) flags: `clone_newns`, `clone_newpid`, ...
pub fn clone_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::clone::CLONE)
}

/// fcntl(2) commands and flags: `f_getfd`, `fd_cloexec`, ...
pub fn fcntl_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::fcntl::FCNTL)
}

/// open(2) flags and file constants: `o_rdonly`, `o_cloexec`, ...
pub fn file_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::file::FILE)
}

/// ioctl(2) requests: `tiocgwinsz`, `siocgifflags`, `tunsetiff`, ...
pub fn ioctl_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::ioctl::IOCTL)
}

/// mount(2) flags: `ms_rdonly`, `ms_bind`, ...
pub fn mount_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::mount::MOUNT)
}

/// prctl(2) options and their values: `pr_set_no_new_privs`, ...
pub fn prctl_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::prctl::PRCTL)
}

/// ptrace(2) requests, options and events: `ptrace_attach`, ...
pub fn ptrace_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::ptrace::PTRACE)
}

/// getrlimit(2) resources: `rlimit_nofile`, ...
pub fn rlimit_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::rlimit::RLIMIT)
}

/// seccomp(2) operations, flags, actions and audit architectures.
pub fn seccomp_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::seccomp::SECCOMP)
}

/// signal(7) numbers: `sigterm`, `sigkill`, ...
pub fn signal_constant(_state: &mut State, args: &Args) -> CallResult {
    lookup(args, consts::signal::SIGNAL)
}

/// syscall(2) numbers of this architecture: `sys_getpid`, ...; also the
/// audit architectures (`audit_arch_x86_64`, ...), which the original
/// answered here, for seccomp filters checking the ABI.
pub fn syscall_constant(_state: &mut State, args: &Args) -> CallResult {
    let name = args.atom(0)?;
    if name.starts_with("audit_arch_") {
        return lookup(args, consts::seccomp::SECCOMP);
    }
    lookup(args, consts::syscall::SYSCALL)
}

/// errno(3): the lower-case name of an errno value, `unknown` if none.
pub fn errno_id(_state: &mut State, args: &Args) -> CallResult {
    Ok(Value::atom(consts::errno::name(args.i32(0)?)))
}

/// iodata flattened by the helper into one binary (a codec round trip).
/// As in erlang:iolist_to_binary/1, a byte is iodata only inside a list.
pub fn iolist_to_bin(_state: &mut State, args: &Args) -> CallResult {
    match args.get(0)? {
        Value::Bin(_) | Value::List(_) => Ok(Value::Bin(args.iodata(0)?)),
        _ => Err(CallError::Badarg),
    }
}
