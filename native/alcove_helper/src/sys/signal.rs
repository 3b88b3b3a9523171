//! sigaction(2), with handlers as atoms: sig_dfl, sig_ign, sig_catch.

use crate::args::{Args, CallError, CallResult};
use crate::consts::signal::SIGNAL;
use crate::signals::Disposition;
use crate::state::State;
use alcove_proto::Value;

/// sigaction(2): `[]` reads the current handler without changing it.
pub fn sigaction(state: &mut State, args: &Args) -> CallResult {
    let signum =
        usize::try_from(args.constant(0, SIGNAL)?).map_err(|_| CallError::Errno(libc::EINVAL))?;
    let current = state
        .signals
        .table
        .get(signum)
        .copied()
        .ok_or(CallError::Errno(libc::EINVAL))?;
    let old = match args.get(1)? {
        Value::List(items) if items.is_empty() => current,
        Value::Atom(name) => {
            let wanted = Disposition::from_atom(name).ok_or(CallError::Errno(libc::EINVAL))?;
            state
                .signals
                .set(signum, wanted)
                .ok_or(CallError::Errno(libc::EINVAL))?
        }
        _ => return Err(CallError::Badarg),
    };
    Ok(Value::ok_with(Value::atom(old.atom())))
}
