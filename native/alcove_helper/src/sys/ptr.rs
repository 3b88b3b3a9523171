//! ptr calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// alloc: not implemented yet.
pub fn alloc(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// ioctl: not implemented yet.
pub fn ioctl(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// prctl: not implemented yet.
pub fn prctl(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// ptrace: not implemented yet.
pub fn ptrace(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// seccomp: not implemented yet.
pub fn seccomp(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
