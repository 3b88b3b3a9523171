//! env calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// clearenv: not implemented yet.
pub fn clearenv(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// environ: not implemented yet.
pub fn environ(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// getenv: not implemented yet.
pub fn getenv(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setenv: not implemented yet.
pub fn setenv(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// unsetenv: not implemented yet.
pub fn unsetenv(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
