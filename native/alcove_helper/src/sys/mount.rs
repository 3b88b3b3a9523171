//! mount calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// mount: not implemented yet.
pub fn mount(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// pivot_root: not implemented yet.
pub fn pivot_root(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// setns: not implemented yet.
pub fn setns(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// umount: not implemented yet.
pub fn umount(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// umount2: not implemented yet.
pub fn umount2(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// unshare: not implemented yet.
pub fn unshare(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
