//! Environment calls: environ(7), getenv(3), setenv(3), unsetenv(3),
//! clearenv(3), on the environment of the helper process the call runs in
//! (what a later execvp or a forked child inherits).
//!
//! The libc environment functions are not thread-safe; the helper is
//! single-threaded (see ARCHITECTURE.md), so no other thread can read or
//! change the environment while one of these runs.
//!
//! Raw libc calls: nix wraps none of these but clearenv, and its clearenv
//! is an unsafe fn as well that drops the errno of a failure.

use crate::args::{binaries_size, Args, CallError, CallResult, MAX_REPLY_DATA};
use crate::state::State;
use alcove_proto::Value;
use std::ffi::CStr;

extern "C" {
    /// The process environment: a NULL-terminated array of "NAME=value"
    /// strings (environ(7)). Declared here since the libc crate only has it
    /// for some C libraries.
    #[link_name = "environ"]
    static mut ENVIRON: *const *const libc::c_char;
}

/// The entries of the environment, copied.
fn entries() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    // Single-threaded (see the module doc), so environ is not changed
    // while it is walked. It is either NULL (after clearenv) or a
    // NULL-terminated array of NUL-terminated strings.
    // SAFETY: a plain read of the pointer, which nothing writes meanwhile.
    let mut entry = unsafe { ENVIRON };
    while !entry.is_null() {
        // SAFETY: entry points into the array, at or before its NULL
        // terminator (the walk stops there).
        let string = unsafe { *entry };
        if string.is_null() {
            break;
        }
        // SAFETY: an element before the terminator is a NUL-terminated string.
        out.push(unsafe { CStr::from_ptr(string) }.to_bytes().to_vec());
        entry = entry.wrapping_add(1);
    }
    out
}

fn entries_size(entries: &[Vec<u8>]) -> usize {
    binaries_size(entries.iter().map(Vec::as_slice))
}

/// environ(7): the environment as `[<<"NAME=value">>]`. setenv keeps it
/// small enough for one reply; an inherited environment too large for one
/// is `{error, eoverflow}`.
pub fn environ(_state: &mut State, _args: &Args) -> CallResult {
    let entries = entries();
    if entries_size(&entries) > MAX_REPLY_DATA {
        return Err(CallError::Errno(libc::EOVERFLOW));
    }
    Ok(Value::List(entries.into_iter().map(Value::Bin).collect()))
}

/// getenv(3): the value, or `false` when the name is not set.
pub fn getenv(_state: &mut State, args: &Args) -> CallResult {
    let name = args.cstring(0)?;
    // SAFETY: name is NUL-terminated; nothing changes the environment
    // meanwhile (single-threaded, see the module doc).
    let value = unsafe { libc::getenv(name.as_ptr()) };
    if value.is_null() {
        return Ok(Value::atom("false"));
    }
    // SAFETY: a non-NULL getenv result is a NUL-terminated string, copied
    // here before anything can change the environment.
    let value = unsafe { CStr::from_ptr(value) }.to_bytes().to_vec();
    Ok(Value::Bin(value))
}

/// setenv(3). `{error, enomem}` when the environment would grow past what
/// environ/2 can return in one reply.
pub fn setenv(_state: &mut State, args: &Args) -> CallResult {
    let name = args.cstring(0)?;
    let value = args.cstring(1)?;
    let overwrite = args.i32(2)?;
    let added = binaries_size([name.as_bytes(), value.as_bytes()]);
    if entries_size(&entries()) + added > MAX_REPLY_DATA {
        return Err(CallError::Errno(libc::ENOMEM));
    }
    // SAFETY: both strings are NUL-terminated; single-threaded (see the
    // module doc).
    if unsafe { libc::setenv(name.as_ptr(), value.as_ptr(), overwrite) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// unsetenv(3)
pub fn unsetenv(_state: &mut State, args: &Args) -> CallResult {
    let name = args.cstring(0)?;
    // SAFETY: name is NUL-terminated; single-threaded (see the module doc).
    if unsafe { libc::unsetenv(name.as_ptr()) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// clearenv(3)
pub fn clearenv(_state: &mut State, _args: &Args) -> CallResult {
    // SAFETY: single-threaded (see the module doc).
    if unsafe { libc::clearenv() } != 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}
