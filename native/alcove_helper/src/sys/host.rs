//! Host identity: gethostname(2), sethostname(2).

use crate::args::{Args, CallError, CallResult};
use crate::state::State;
use alcove_proto::Value;

/// gethostname(2)
pub fn gethostname(_state: &mut State, _args: &Args) -> CallResult {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length.
    if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } < 0 {
        return Err(CallError::last_os());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(Value::ok_with(Value::Bin(buf[..len].to_vec())))
}

/// sethostname(2)
pub fn sethostname(_state: &mut State, args: &Args) -> CallResult {
    let name = args.iodata(0)?;
    // SAFETY: name is readable for its length.
    if unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}
