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
use std::ffi::{CStr, CString};

fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

/// Run `exec`, which gets the environment entry to add for a re-exec
/// (None for an ordinary exec). Returns only if the exec failed.
fn run_exec(state: &mut State, exec: impl FnOnce(Option<&CStr>)) -> CallResult {
    let reexec = !fdio::is_cloexec(state.up_read);
    if state.depth == 0 && !reexec {
        // The root helper's channel is the driver's socket: replacing the
        // helper with an unrelated program would hand it the protocol stream.
        return Err(CallError::Errno(libc::EINVAL));
    }
    let handoff = if reexec {
        let (pending, skipping) = state.up_reader.pending();
        Some(
            crate::reexec::prepare(state.current_request, state.depth, pending, skipping)
                .map_err(CallError::Errno)?,
        )
    } else {
        None
    };
    // What is queued upstream would be lost with this image.
    crate::lifecycle::flush_before_exit(state);
    if !reexec {
        lead_own_group();
    }
    signals::reset_all();
    // The program gets no orphans of ours to reap.
    crate::lifecycle::become_subreaper(false);
    exec(handoff.as_ref().map(|(_, entry)| entry.as_c_str()));
    let err = CallError::last_os();
    if let Some((fd, _)) = handoff {
        fdio::close(fd);
    }
    crate::lifecycle::become_subreaper(true);
    state.signals.apply_all();
    Err(err)
}

/// The program gets a process group of its own unless the caller chose
/// one (the group is still the parent's): what it starts in its group can
/// then be killed with it (see `lifecycle::reap`).
fn lead_own_group() {
    // SAFETY: getppid, getpgid, getpgrp and setpgid take integers only.
    unsafe {
        if libc::getpgid(libc::getppid()) == libc::getpgrp() {
            libc::setpgid(0, 0);
        }
    }
}

/// `env` with the re-exec entry added, as pointers for execve.
fn with_entry(env: &[CString], entry: Option<&CStr>) -> Vec<*const libc::c_char> {
    let mut ptrs: Vec<*const libc::c_char> = env.iter().map(|s| s.as_ptr()).collect();
    ptrs.extend(entry.map(CStr::as_ptr));
    ptrs.push(std::ptr::null());
    ptrs
}

/// execvp(3)
pub fn execvp(state: &mut State, args: &Args) -> CallResult {
    let file = args.cstring(0)?;
    let argv = args.cstrings(1)?;
    let argv_ptrs = pointers(&argv);
    run_exec(state, |entry| {
        if let Some(entry) = entry {
            // execvp takes the environment of the process: add the entry to
            // it (the helper is single-threaded; a failed exec removes it).
            if let Some((key, value)) = entry.to_str().ok().and_then(|e| e.split_once('=')) {
                std::env::set_var(key, value);
            }
        }
        // SAFETY: file and every argv pointer are NUL-terminated strings
        // that outlive the call; argv_ptrs ends with a null pointer.
        unsafe { libc::execvp(file.as_ptr(), argv_ptrs.as_ptr()) };
        if entry.is_some() {
            let errno = std::io::Error::last_os_error();
            std::env::remove_var(crate::reexec::ENV);
            // SAFETY: restore the errno of the failed exec for the caller.
            unsafe { *libc::__errno_location() = errno.raw_os_error().unwrap_or(libc::EIO) };
        }
    })
}

/// execve(2)
pub fn execve(state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let argv = args.cstrings(1)?;
    let env = args.cstrings(2)?;
    let argv_ptrs = pointers(&argv);
    run_exec(state, |entry| {
        let env_ptrs = with_entry(&env, entry);
        // SAFETY: as for execvp, with a null-terminated envp as well.
        unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    })
}

/// fexecve(3)
pub fn fexecve(state: &mut State, args: &Args) -> CallResult {
    let fd = args.i32(0)?;
    let argv = args.cstrings(1)?;
    let env = args.cstrings(2)?;
    let argv_ptrs = pointers(&argv);
    run_exec(state, |entry| {
        let env_ptrs = with_entry(&env, entry);
        // SAFETY: null-terminated argv and envp of NUL-terminated strings
        // that outlive the call.
        unsafe { libc::fexecve(fd, argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    })
}
