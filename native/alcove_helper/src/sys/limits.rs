//! limits calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// getpriority: not implemented yet.
pub fn getpriority(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getrlimit: not implemented yet.
pub fn getrlimit(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setpriority: not implemented yet.
pub fn setpriority(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setrlimit: not implemented yet.
pub fn setrlimit(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
