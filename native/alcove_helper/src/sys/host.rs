//! Host identity: gethostname(2), sethostname(2).

use crate::args::{Args, CallResult};
use crate::state::State;
use alcove_proto::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// gethostname(2)
pub fn gethostname(_state: &mut State, _args: &Args) -> CallResult {
    let name = nix::unistd::gethostname()?;
    Ok(Value::ok_with(Value::Bin(name.into_vec())))
}

/// sethostname(2): the name is passed with its length, NULs and all.
pub fn sethostname(_state: &mut State, args: &Args) -> CallResult {
    let name = args.iodata(0)?;
    nix::unistd::sethostname(OsStr::from_bytes(&name))?;
    Ok(Value::ok())
}
