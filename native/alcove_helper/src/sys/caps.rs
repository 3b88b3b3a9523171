//! Capability sets by name (capabilities(7)): caps_get, caps_set,
//! caps_drop, caps_raise, caps_clear, caps_supported, with the `caps`
//! crate. The names are not the FreeBSD `cap_*` calls'.
//!
//! The helper is single-threaded, so the calling thread's sets (what
//! capget/capset and the prctl operations change) are the process's.
//!
//! Where the kernel keeps two sets in step the calls do too: dropping or
//! clearing a capability of the permitted set drops it from the effective
//! set first (capset(2) refuses an effective set larger than the permitted
//! one). A set that can only shrink (permitted, bounding) fails with
//! `eperm` before anything changes when asked to gain a capability.

use crate::args::{Args, CallError, CallResult};
use crate::capnames::{self, Names};
use crate::state::State;
use alcove_proto::Value;
use caps::{CapSet, Capability, CapsHashSet};

fn fail(err: caps::errors::CapsError) -> CallError {
    CallError::Errno(capnames::errno(&err))
}

fn read(set: CapSet) -> Result<CapsHashSet, CallError> {
    caps::read(None, set).map_err(fail)
}

/// The set and the capabilities a call names; `Err(reply)` carries the
/// `{error, {unknown_caps, Names}}` reply for unknown names.
fn set_and_names(args: &Args) -> Result<Result<(CapSet, Vec<Capability>), Value>, CallError> {
    let set = capnames::set(args.get(0)?)?;
    match capnames::names(args.get(1)?)? {
        Names::Known(caps) => Ok(Ok((set, caps))),
        Names::Unknown(unknown) => Ok(Err(capnames::unknown_reply(&unknown))),
    }
}

/// Run `apply` on a call's set and capabilities, or answer unknown names.
fn with_names(
    args: &Args,
    apply: impl FnOnce(CapSet, CapsHashSet) -> Result<(), CallError>,
) -> CallResult {
    match set_and_names(args)? {
        Err(unknown) => Ok(unknown),
        Ok((set, caps)) => {
            apply(set, caps.into_iter().collect())?;
            Ok(Value::ok())
        }
    }
}

/// capget(2), PR_CAPBSET_READ, PR_CAP_AMBIENT_IS_SET: `{ok, [Name]}`.
pub fn caps_get(_state: &mut State, args: &Args) -> CallResult {
    let set = capnames::set(args.get(0)?)?;
    Ok(Value::ok_with(capnames::sorted_names(read(set)?)))
}

/// The capabilities both the crate and the running kernel know (those the
/// bounding set can be asked about).
pub fn caps_supported(_state: &mut State, _args: &Args) -> CallResult {
    Ok(capnames::sorted_names(caps::runtime::thread_all_supported()))
}

/// Replace a set with exactly the capabilities named.
pub fn caps_set(_state: &mut State, args: &Args) -> CallResult {
    with_names(args, |set, wanted| match set {
        CapSet::Effective | CapSet::Inheritable => caps::set(None, set, &wanted).map_err(fail),
        CapSet::Permitted => {
            let permitted = read(CapSet::Permitted)?;
            if !wanted.is_subset(&permitted) {
                return Err(CallError::Errno(libc::EPERM));
            }
            let lost: CapsHashSet = permitted.difference(&wanted).copied().collect();
            shrink_permitted(&lost)
        }
        CapSet::Ambient => {
            // Raising needs the capability permitted and inheritable: check
            // it all first rather than leave the set half changed.
            let permitted = read(CapSet::Permitted)?;
            let inheritable = read(CapSet::Inheritable)?;
            if !wanted
                .iter()
                .all(|c| permitted.contains(c) && inheritable.contains(c))
            {
                return Err(CallError::Errno(libc::EPERM));
            }
            caps::set(None, CapSet::Ambient, &wanted).map_err(fail)
        }
        CapSet::Bounding => {
            let bounding = read(CapSet::Bounding)?;
            if !wanted.is_subset(&bounding) {
                return Err(CallError::Errno(libc::EPERM));
            }
            drop_each(CapSet::Bounding, bounding.difference(&wanted))
        }
    })
}

/// Remove the capabilities named from a set (those it holds).
pub fn caps_drop(_state: &mut State, args: &Args) -> CallResult {
    with_names(args, |set, unwanted| match set {
        CapSet::Effective | CapSet::Inheritable => {
            let current = read(set)?;
            let kept: CapsHashSet = current.difference(&unwanted).copied().collect();
            caps::set(None, set, &kept).map_err(fail)
        }
        CapSet::Permitted => shrink_permitted(&unwanted),
        CapSet::Ambient | CapSet::Bounding => {
            let current = read(set)?;
            drop_each(set, current.intersection(&unwanted))
        }
    })
}

/// Add the capabilities named to a set. The kernel decides what may be
/// gained (capset(2), PR_CAP_AMBIENT_RAISE); the bounding set never gains.
pub fn caps_raise(_state: &mut State, args: &Args) -> CallResult {
    with_names(args, |set, added| match set {
        CapSet::Effective | CapSet::Inheritable | CapSet::Permitted => {
            let mut current = read(set)?;
            current.extend(added);
            caps::set(None, set, &current).map_err(fail)
        }
        CapSet::Ambient => {
            for cap in added {
                caps::raise(None, CapSet::Ambient, cap).map_err(fail)?;
            }
            Ok(())
        }
        CapSet::Bounding => {
            if added.is_subset(&read(CapSet::Bounding)?) {
                Ok(())
            } else {
                Err(CallError::Errno(libc::EPERM))
            }
        }
    })
}

/// Empty a set (permitted: effective too).
pub fn caps_clear(_state: &mut State, args: &Args) -> CallResult {
    let set = capnames::set(args.get(0)?)?;
    caps::clear(None, set).map_err(fail)?;
    Ok(Value::ok())
}

/// Drop capabilities from permitted, and first from effective, which may
/// not hold what permitted does not.
fn shrink_permitted(lost: &CapsHashSet) -> Result<(), CallError> {
    let effective = read(CapSet::Effective)?;
    if !effective.is_disjoint(lost) {
        let kept: CapsHashSet = effective.difference(lost).copied().collect();
        caps::set(None, CapSet::Effective, &kept).map_err(fail)?;
    }
    let permitted = read(CapSet::Permitted)?;
    let kept: CapsHashSet = permitted.difference(lost).copied().collect();
    caps::set(None, CapSet::Permitted, &kept).map_err(fail)
}

/// PR_CAPBSET_DROP or PR_CAP_AMBIENT_LOWER, one capability at a time.
fn drop_each<'a>(
    set: CapSet,
    caps: impl IntoIterator<Item = &'a Capability>,
) -> Result<(), CallError> {
    for cap in caps {
        caps::drop(None, set, *cap).map_err(fail)?;
    }
    Ok(())
}
