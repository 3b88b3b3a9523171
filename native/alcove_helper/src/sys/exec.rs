//! execvp(3), execve(2) and fexecve(3). On success the control channel
//! closes (close-on-exec) and the parent answers `ok`; on failure the
//! process answers `{error, Errno}` and stays in its loop.
//!
//! The program leads a process group of its own (unless the caller set
//! one), so that what it starts goes with it when it is killed.
//!
//! If the caller has cleared close-on-exec on the control channel (fd 5),
//! the exec is a re-exec of the helper itself: the new image keeps serving
//! the channel and answers the call (see reexec.rs). That is also the only
//! exec the root helper accepts, its channel being the driver's socket.

use crate::args::{Args, CallError, CallResult};
use crate::fdio;
use crate::signals;
use crate::state::State;
use nix::errno::Errno;
use nix::unistd::{getpgid, getpgrp, getppid, setpgid, Pid};
use std::ffi::{CStr, CString};

/// Run `exec`, which gets the environment entry to add for a re-exec
/// (None for an ordinary exec) and returns the errno of the failed exec.
/// Returns only if the exec failed.
fn run_exec(state: &mut State, exec: impl FnOnce(Option<&CStr>) -> Errno) -> CallResult {
    let reexec = !fdio::is_cloexec(state.up_read);
    if state.depth == 0 && !reexec {
        // The root helper's channel is the driver's socket: replacing the
        // helper with an unrelated program would hand it the protocol stream.
        return Err(CallError::Errno(libc::EINVAL));
    }
    let handoff = if reexec {
        // The shortcut goes over too (its answers flushed first): the
        // parent sees no exec, and calls sent on it meanwhile wait there.
        let kept = crate::shortcut::keep_for_reexec(state);
        let (pending, skipping) = state.up_reader.pending();
        let prepared = crate::reexec::prepare(
            state.current_request,
            state.depth,
            pending,
            skipping,
            kept.as_ref(),
        );
        match prepared {
            Ok(prepared) => Some(prepared),
            Err(errno) => {
                crate::shortcut::not_kept(state);
                return Err(CallError::Errno(errno));
            }
        }
    } else {
        None
    };
    // What is queued upstream would be lost with this image.
    crate::lifecycle::flush_before_exit(state);
    if !reexec {
        lead_own_group();
    }
    // Into its own cgroup leaf: all the program starts stays there.
    crate::teardown::ensure_own(state);
    signals::reset_for_exec(state.signals.kept_over_exec());
    // The program gets no orphans of ours to reap.
    crate::lifecycle::become_subreaper(false);
    let err = exec(handoff.as_ref().map(|(_, entry)| entry.as_c_str()));
    if let Some((fd, _)) = handoff {
        fdio::close(fd);
        crate::shortcut::not_kept(state);
    }
    crate::lifecycle::become_subreaper(true);
    state.signals.apply_all();
    Err(err.into())
}

/// The program gets a process group of its own unless the caller chose
/// one (the group is still the parent's): what it starts in its group can
/// then be killed with it (see `lifecycle::reap`).
fn lead_own_group() {
    if getpgid(Some(getppid())) == Ok(getpgrp()) {
        let _ = setpgid(Pid::from_raw(0), Pid::from_raw(0));
    }
}

/// The error of a failed exec (nix's exec functions return only then).
fn failed(result: nix::Result<std::convert::Infallible>) -> Errno {
    match result {
        Err(errno) => errno,
        Ok(never) => match never {},
    }
}

/// `env` with the re-exec entry added.
fn with_entry<'a>(env: &'a [CString], entry: Option<&'a CStr>) -> Vec<&'a CStr> {
    env.iter().map(CString::as_c_str).chain(entry).collect()
}

/// execvp(3)
pub fn execvp(state: &mut State, args: &Args) -> CallResult {
    let file = args.cstring(0)?;
    let argv = args.cstrings(1)?;
    run_exec(state, |entry| {
        if let Some(entry) = entry {
            // execvp takes the environment of the process: add the entry to
            // it (the helper is single-threaded; a failed exec removes it).
            if let Some((key, value)) = entry.to_str().ok().and_then(|e| e.split_once('=')) {
                std::env::set_var(key, value);
            }
        }
        let err = failed(nix::unistd::execvp(&file, &argv));
        if entry.is_some() {
            std::env::remove_var(crate::reexec::ENV);
        }
        err
    })
}

/// execve(2)
pub fn execve(state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let argv = args.cstrings(1)?;
    let env = args.cstrings(2)?;
    run_exec(state, |entry| {
        failed(nix::unistd::execve(&path, &argv, &with_entry(&env, entry)))
    })
}

/// fexecve(3)
pub fn fexecve(state: &mut State, args: &Args) -> CallResult {
    let fd = args.i32(0)?;
    let argv = args.cstrings(1)?;
    let env = args.cstrings(2)?;
    run_exec(state, |entry| {
        if fd == -1 {
            // What glibc's fexecve answers for a negative fd, before any
            // system call (nix's BorrowedFd cannot hold -1).
            return Errno::EINVAL;
        }
        let env = with_entry(&env, entry);
        failed(fdio::with_fd(fd, |fd| {
            nix::unistd::fexecve(fd, &argv, &env)
        }))
    })
}
