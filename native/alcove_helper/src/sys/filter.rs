//! filter calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// filter: not implemented yet.
pub fn filter(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
