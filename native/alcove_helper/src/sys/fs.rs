//! Working directory calls: chdir(2), getcwd(3).

use crate::args::{Args, CallError, CallResult};
use crate::state::State;
use alcove_proto::Value;

/// chdir(2)
pub fn chdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    if unsafe { libc::chdir(path.as_ptr()) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// getcwd(3)
pub fn getcwd(_state: &mut State, _args: &Args) -> CallResult {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: buf is writable for buf.len() bytes.
    if unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) }.is_null() {
        return Err(CallError::last_os());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    Ok(Value::ok_with(Value::Bin(buf)))
}
