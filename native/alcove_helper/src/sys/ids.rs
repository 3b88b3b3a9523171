//! Credentials and sessions: user and group IDs, supplementary groups,
//! process groups and sessions.
//!
//! The helper is single-threaded, so changing the IDs of the calling thread
//! (what the raw syscalls do) changes the IDs of the whole process.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;
use alcove_proto::Value;

/// A uid_t/gid_t argument: 0..=2^32-1, or -1 (the C `(uid_t)-1`, which the
/// setres*id(2) calls read as "leave unchanged").
fn id_arg(args: &Args, index: usize) -> Result<u32, CallError> {
    match args.int(index) {
        Ok(-1) => Ok(u32::MAX),
        _ => args.u32(index),
    }
}

fn check(rv: libc::c_int) -> CallResult {
    if rv < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// After a credential change: the kernel forgets the parent-death signal
/// then, and a process must still not outlive its helper.
fn changed_ids(rv: libc::c_int) -> CallResult {
    let result = check(rv);
    if result.is_ok() {
        crate::lifecycle::rearm_parent_death();
    }
    result
}

/// getuid(2)
pub fn getuid(_state: &mut State, _args: &Args) -> CallResult {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    Ok(Value::Int(unsafe { libc::getuid() } as i64))
}

/// getgid(2)
pub fn getgid(_state: &mut State, _args: &Args) -> CallResult {
    // SAFETY: getgid cannot fail and touches no memory of ours.
    Ok(Value::Int(unsafe { libc::getgid() } as i64))
}

/// getgroups(2): `{ok, [Gid]}`.
pub fn getgroups(_state: &mut State, _args: &Args) -> CallResult {
    // SAFETY: a size of 0 asks for the count only; the list is not written.
    let count = unsafe { libc::getgroups(0, std::ptr::null_mut()) };
    let Ok(len) = usize::try_from(count) else {
        return Err(CallError::last_os());
    };
    let mut groups: Vec<libc::gid_t> = vec![0; len];
    // SAFETY: groups is writable for `count` gid_t entries. The helper is
    // single-threaded, so the list cannot grow between the two calls.
    let got = unsafe { libc::getgroups(count, groups.as_mut_ptr()) };
    let Ok(got) = usize::try_from(got) else {
        return Err(CallError::last_os());
    };
    groups.truncate(got);
    let list = groups.into_iter().map(|g| Value::Int(g as i64)).collect();
    Ok(Value::ok_with(Value::List(list)))
}

/// setgroups(2)
pub fn setgroups(_state: &mut State, args: &Args) -> CallResult {
    let groups = args
        .ints(0)?
        .into_iter()
        .map(|g| libc::gid_t::try_from(g).map_err(|_| CallError::Badarg))
        .collect::<Result<Vec<_>, _>>()?;
    // SAFETY: groups is readable for groups.len() gid_t entries; the kernel
    // rejects a length over NGROUPS_MAX with EINVAL.
    check(unsafe { libc::setgroups(groups.len(), groups.as_ptr()) })
}

/// getresuid(2): `{ok, Real, Effective, Saved}`.
pub fn getresuid(_state: &mut State, _args: &Args) -> CallResult {
    let (mut real, mut effective, mut saved): (libc::uid_t, libc::uid_t, libc::uid_t) = (0, 0, 0);
    // SAFETY: the three pointers are to live, writable uid_t locals.
    if unsafe { libc::getresuid(&mut real, &mut effective, &mut saved) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(res_tuple(real, effective, saved))
}

/// getresgid(2): `{ok, Real, Effective, Saved}`.
pub fn getresgid(_state: &mut State, _args: &Args) -> CallResult {
    let (mut real, mut effective, mut saved): (libc::gid_t, libc::gid_t, libc::gid_t) = (0, 0, 0);
    // SAFETY: the three pointers are to live, writable gid_t locals.
    if unsafe { libc::getresgid(&mut real, &mut effective, &mut saved) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(res_tuple(real, effective, saved))
}

fn res_tuple(real: u32, effective: u32, saved: u32) -> Value {
    Value::Tuple(vec![
        Value::ok(),
        Value::Int(real as i64),
        Value::Int(effective as i64),
        Value::Int(saved as i64),
    ])
}

/// setresuid(2)
pub fn setresuid(_state: &mut State, args: &Args) -> CallResult {
    let (real, effective, saved) = (id_arg(args, 0)?, id_arg(args, 1)?, id_arg(args, 2)?);
    // SAFETY: plain integer arguments.
    changed_ids(unsafe { libc::setresuid(real, effective, saved) })
}

/// setresgid(2)
pub fn setresgid(_state: &mut State, args: &Args) -> CallResult {
    let (real, effective, saved) = (id_arg(args, 0)?, id_arg(args, 1)?, id_arg(args, 2)?);
    // SAFETY: plain integer arguments.
    changed_ids(unsafe { libc::setresgid(real, effective, saved) })
}

/// setuid(2)
pub fn setuid(_state: &mut State, args: &Args) -> CallResult {
    let uid = args.u32(0)?;
    // SAFETY: a plain integer argument.
    changed_ids(unsafe { libc::setuid(uid) })
}

/// setgid(2)
pub fn setgid(_state: &mut State, args: &Args) -> CallResult {
    let gid = args.u32(0)?;
    // SAFETY: a plain integer argument.
    changed_ids(unsafe { libc::setgid(gid) })
}

/// getpgrp(2)
pub fn getpgrp(_state: &mut State, _args: &Args) -> CallResult {
    // SAFETY: getpgrp cannot fail and touches no memory of ours.
    Ok(Value::Int(unsafe { libc::getpgrp() } as i64))
}

/// getsid(2): `{ok, Sid}`; a pid of 0 is the caller.
pub fn getsid(_state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    // SAFETY: a plain integer argument.
    let sid = unsafe { libc::getsid(pid) };
    if sid < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok_with(Value::Int(sid as i64)))
}

/// setsid(2): `{ok, Sid}`.
pub fn setsid(_state: &mut State, _args: &Args) -> CallResult {
    // SAFETY: no arguments; fails with EPERM for a process group leader.
    let sid = unsafe { libc::setsid() };
    if sid < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok_with(Value::Int(sid as i64)))
}

/// setpgid(2)
pub fn setpgid(_state: &mut State, args: &Args) -> CallResult {
    let (pid, pgid) = (args.i32(0)?, args.i32(1)?);
    // SAFETY: plain integer arguments.
    check(unsafe { libc::setpgid(pid, pgid) })
}
