//! ids calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// getgid: not implemented yet.
pub fn getgid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getgroups: not implemented yet.
pub fn getgroups(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getpgrp: not implemented yet.
pub fn getpgrp(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getresgid: not implemented yet.
pub fn getresgid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getresuid: not implemented yet.
pub fn getresuid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getsid: not implemented yet.
pub fn getsid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getuid: not implemented yet.
pub fn getuid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setgid: not implemented yet.
pub fn setgid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setgroups: not implemented yet.
pub fn setgroups(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setpgid: not implemented yet.
pub fn setpgid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setresgid: not implemented yet.
pub fn setresgid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setresuid: not implemented yet.
pub fn setresuid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setsid: not implemented yet.
pub fn setsid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setuid: not implemented yet.
pub fn setuid(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
