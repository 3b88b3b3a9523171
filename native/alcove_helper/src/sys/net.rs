//! net calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// connect: not implemented yet.
pub fn connect(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// socket: not implemented yet.
pub fn socket(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
