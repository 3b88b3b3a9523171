//! Resource limits and scheduling priority: getrlimit(2), setrlimit(2),
//! getpriority(2), setpriority(2).
//!
//! Raw libc calls: nix has no getpriority or setpriority, and its
//! getrlimit/setrlimit take a closed `Resource` enum with no conversion from
//! a number, where the caller may name any resource (the kernel answers
//! EINVAL for one it does not know).

use crate::args::{Args, CallError, CallResult};
use crate::consts::rlimit::{PRIO, RLIMIT};
use crate::state::State;
use alcove_proto::Value;

/// The record tag of `#alcove_rlimit{cur, max}` (include/alcove.hrl).
const RLIMIT_RECORD: &str = "alcove_rlimit";

/// A constant that must fit a C int (resource, which): wider is badarg.
pub fn c_int_constant(
    args: &Args,
    index: usize,
    table: &[(&'static str, i64)],
) -> Result<libc::c_int, CallError> {
    libc::c_int::try_from(args.constant(index, table)?).map_err(|_| CallError::Badarg)
}

/// rlim_t values are uint64: RLIM_INFINITY (2^64-1) does not fit an Int.
fn rlim_value(value: libc::rlim_t) -> Value {
    match i64::try_from(value) {
        Ok(small) => Value::Int(small),
        Err(_) => Value::UInt(value),
    }
}

fn rlim_arg(value: &Value) -> Result<libc::rlim_t, CallError> {
    match *value {
        Value::UInt(u) => Ok(u),
        Value::Int(i) => libc::rlim_t::try_from(i).map_err(|_| CallError::Badarg),
        _ => Err(CallError::Badarg),
    }
}

/// `{alcove_rlimit, Cur, Max}` as an rlimit; anything else is badarg.
pub fn rlimit_record(value: &Value) -> Result<libc::rlimit, CallError> {
    match value {
        Value::Tuple(fields) => match fields.as_slice() {
            [Value::Atom(tag), cur, max] if tag == RLIMIT_RECORD => Ok(libc::rlimit {
                rlim_cur: rlim_arg(cur)?,
                rlim_max: rlim_arg(max)?,
            }),
            _ => Err(CallError::Badarg),
        },
        _ => Err(CallError::Badarg),
    }
}

/// getrlimit(2): `{ok, {alcove_rlimit, Cur, Max}}`.
pub fn getrlimit(_state: &mut State, args: &Args) -> CallResult {
    let resource = c_int_constant(args, 0, RLIMIT)?;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: limit is a live, writable rlimit; an unknown resource is
    // EINVAL from the kernel (the cast only changes C's signedness).
    if unsafe { libc::getrlimit(resource as _, &mut limit) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok_with(Value::Tuple(vec![
        Value::atom(RLIMIT_RECORD),
        rlim_value(limit.rlim_cur),
        rlim_value(limit.rlim_max),
    ])))
}

/// setrlimit(2): Limit is `{alcove_rlimit, Cur, Max}`, anything else badarg.
/// Lowering RLIMIT_NOFILE lowers the `maxchild` option to what the new
/// limit can hold (see [`State::maxchild_for`]), as in the original.
pub fn setrlimit(state: &mut State, args: &Args) -> CallResult {
    let resource = c_int_constant(args, 0, RLIMIT)?;
    let limit = rlimit_record(args.get(1)?)?;
    // SAFETY: limit is a live rlimit, only read by the kernel.
    if unsafe { libc::setrlimit(resource as _, &limit) } < 0 {
        return Err(CallError::last_os());
    }
    if resource == libc::RLIMIT_NOFILE as libc::c_int {
        state.opts.maxchild = state.opts.maxchild.min(State::maxchild_for(limit.rlim_cur));
    }
    Ok(Value::ok())
}

/// getpriority(2): `{ok, Nice}`.
pub fn getpriority(_state: &mut State, args: &Args) -> CallResult {
    let which = c_int_constant(args, 0, PRIO)?;
    let who = args.i32(1)?;
    // -1 is a valid nice value, so only errno tells a failure apart.
    nix::errno::Errno::clear();
    // SAFETY: plain integer arguments; the id_t cast keeps C's reading of
    // `who` (0 is the caller).
    let prio = unsafe { libc::getpriority(which as _, who as libc::id_t) };
    if prio == -1 {
        if let Some(errno @ 1..) = std::io::Error::last_os_error().raw_os_error() {
            return Err(CallError::Errno(errno));
        }
    }
    Ok(Value::ok_with(Value::Int(prio as i64)))
}

/// setpriority(2)
pub fn setpriority(_state: &mut State, args: &Args) -> CallResult {
    let which = c_int_constant(args, 0, PRIO)?;
    let who = args.i32(1)?;
    let prio = args.i32(2)?;
    // SAFETY: plain integer arguments; the kernel clamps prio to -20..19.
    if unsafe { libc::setpriority(which as _, who as libc::id_t, prio) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}
