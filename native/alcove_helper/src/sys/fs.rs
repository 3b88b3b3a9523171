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

/// chmod: not implemented yet.
pub fn chmod(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// chown: not implemented yet.
pub fn chown(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// chroot: not implemented yet.
pub fn chroot(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// link: not implemented yet.
pub fn link(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// mkdir: not implemented yet.
pub fn mkdir(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// mkfifo: not implemented yet.
pub fn mkfifo(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// readdir: not implemented yet.
pub fn readdir(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// rmdir: not implemented yet.
pub fn rmdir(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// symlink: not implemented yet.
pub fn symlink(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}

/// unlink: not implemented yet.
pub fn unlink(_state: &mut State, _args: &Args) -> CallResult {
    Err(CallError::Undef)
}
