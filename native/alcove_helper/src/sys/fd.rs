//! fd calls.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;

/// close: not implemented yet.
pub fn close(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// fcntl: not implemented yet.
pub fn fcntl(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// lseek: not implemented yet.
pub fn lseek(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// open: not implemented yet.
pub fn open(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// read: not implemented yet.
pub fn read(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// select: not implemented yet.
pub fn select(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// write: not implemented yet.
pub fn write(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
