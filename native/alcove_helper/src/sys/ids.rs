//! Credentials and sessions: user and group IDs, supplementary groups,
//! process groups and sessions.
//!
//! The helper is single-threaded, so changing the IDs of the calling thread
//! (what the raw syscalls do) changes the IDs of the whole process.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;
use alcove_proto::Value;
use nix::unistd::{Gid, Pid, Uid};

/// A uid_t/gid_t argument: 0..=2^32-1, or -1 (the C `(uid_t)-1`, which the
/// setres*id(2) calls read as "leave unchanged").
fn id_arg(args: &Args, index: usize) -> Result<u32, CallError> {
    match args.int(index) {
        Ok(-1) => Ok(u32::MAX),
        _ => args.u32(index),
    }
}

/// After a credential change: the kernel forgets the parent-death signal
/// then, and a process must still not outlive its helper (unless it asked
/// to, with `outlive`).
fn changed_ids(state: &State, result: nix::Result<()>) -> CallResult {
    result?;
    if !state.outlive {
        crate::lifecycle::rearm_parent_death();
    }
    Ok(Value::ok())
}

/// getuid(2)
pub fn getuid(_state: &mut State, _args: &Args) -> CallResult {
    Ok(Value::Int(nix::unistd::getuid().as_raw() as i64))
}

/// getgid(2)
pub fn getgid(_state: &mut State, _args: &Args) -> CallResult {
    Ok(Value::Int(nix::unistd::getgid().as_raw() as i64))
}

/// getgroups(2): `{ok, [Gid]}`.
///
/// A raw call: nix's getgroups first asks sysconf(_SC_NGROUPS_MAX), which
/// glibc answers by opening and reading /proc/sys/kernel/ngroups_max, system
/// calls (and a dependence on /proc) this call does not make.
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

/// A list of group ids at argument `index`.
pub fn gid_list(args: &Args, index: usize) -> Result<Vec<libc::gid_t>, CallError> {
    args.ints(index)?
        .into_iter()
        .map(|g| libc::gid_t::try_from(g).map_err(|_| CallError::Badarg))
        .collect()
}

/// setgroups(2): the kernel rejects more than NGROUPS_MAX with EINVAL.
pub fn setgroups(_state: &mut State, args: &Args) -> CallResult {
    let groups: Vec<Gid> = gid_list(args, 0)?.into_iter().map(Gid::from_raw).collect();
    nix::unistd::setgroups(&groups)?;
    Ok(Value::ok())
}

/// getresuid(2): `{ok, Real, Effective, Saved}`.
pub fn getresuid(_state: &mut State, _args: &Args) -> CallResult {
    let ids = nix::unistd::getresuid()?;
    Ok(res_tuple(
        ids.real.as_raw(),
        ids.effective.as_raw(),
        ids.saved.as_raw(),
    ))
}

/// getresgid(2): `{ok, Real, Effective, Saved}`.
pub fn getresgid(_state: &mut State, _args: &Args) -> CallResult {
    let ids = nix::unistd::getresgid()?;
    Ok(res_tuple(
        ids.real.as_raw(),
        ids.effective.as_raw(),
        ids.saved.as_raw(),
    ))
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
pub fn setresuid(state: &mut State, args: &Args) -> CallResult {
    let (real, effective, saved) = (id_arg(args, 0)?, id_arg(args, 1)?, id_arg(args, 2)?);
    changed_ids(
        state,
        nix::unistd::setresuid(
            Uid::from_raw(real),
            Uid::from_raw(effective),
            Uid::from_raw(saved),
        ),
    )
}

/// setresgid(2)
pub fn setresgid(state: &mut State, args: &Args) -> CallResult {
    let (real, effective, saved) = (id_arg(args, 0)?, id_arg(args, 1)?, id_arg(args, 2)?);
    changed_ids(
        state,
        nix::unistd::setresgid(
            Gid::from_raw(real),
            Gid::from_raw(effective),
            Gid::from_raw(saved),
        ),
    )
}

/// setuid(2)
pub fn setuid(state: &mut State, args: &Args) -> CallResult {
    let uid = args.u32(0)?;
    changed_ids(state, nix::unistd::setuid(Uid::from_raw(uid)))
}

/// setgid(2)
pub fn setgid(state: &mut State, args: &Args) -> CallResult {
    let gid = args.u32(0)?;
    changed_ids(state, nix::unistd::setgid(Gid::from_raw(gid)))
}

/// getpgrp(2)
pub fn getpgrp(_state: &mut State, _args: &Args) -> CallResult {
    Ok(Value::Int(nix::unistd::getpgrp().as_raw() as i64))
}

/// getsid(2): `{ok, Sid}`; a pid of 0 is the caller.
pub fn getsid(_state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let sid = nix::unistd::getsid(Some(Pid::from_raw(pid)))?;
    Ok(Value::ok_with(Value::Int(sid.as_raw() as i64)))
}

/// setsid(2): `{ok, Sid}`; EPERM for a process group leader.
pub fn setsid(_state: &mut State, _args: &Args) -> CallResult {
    let sid = nix::unistd::setsid()?;
    Ok(Value::ok_with(Value::Int(sid.as_raw() as i64)))
}

/// setpgid(2)
pub fn setpgid(_state: &mut State, args: &Args) -> CallResult {
    let (pid, pgid) = (args.i32(0)?, args.i32(1)?);
    nix::unistd::setpgid(Pid::from_raw(pid), Pid::from_raw(pgid))?;
    Ok(Value::ok())
}
