//! constants calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// clone_constant: not implemented yet.
pub fn clone_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// errno_id: not implemented yet.
pub fn errno_id(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// fcntl_constant: not implemented yet.
pub fn fcntl_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// file_constant: not implemented yet.
pub fn file_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// ioctl_constant: not implemented yet.
pub fn ioctl_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// iolist_to_bin: not implemented yet.
pub fn iolist_to_bin(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// mount_constant: not implemented yet.
pub fn mount_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// prctl_constant: not implemented yet.
pub fn prctl_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// ptrace_constant: not implemented yet.
pub fn ptrace_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// rlimit_constant: not implemented yet.
pub fn rlimit_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// seccomp_constant: not implemented yet.
pub fn seccomp_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// signal_constant: not implemented yet.
pub fn signal_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// syscall_constant: not implemented yet.
pub fn syscall_constant(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
