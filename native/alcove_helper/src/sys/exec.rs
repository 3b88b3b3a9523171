//! execvp(3) and execve(2). On success the control socket closes
//! (close-on-exec) and the parent answers `ok`; on failure the child
//! answers `{error, Errno}` and stays in its loop.

use crate::args::{Args, CallError, CallResult};
use crate::signals;
use crate::state::State;
use std::ffi::CString;

fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

fn run_exec(state: &mut State, exec: impl FnOnce()) -> CallResult {
    if state.depth == 0 {
        // The root helper's stdio is the driver's socket: replacing it
        // would hand the protocol stream to an unrelated program.
        return Err(CallError::Errno(libc::EINVAL));
    }
    crate::event_loop::flush_upstream(state);
    signals::reset_all();
    // The program gets no orphans of ours to reap.
    crate::lifecycle::become_subreaper(false);
    exec();
    let err = CallError::last_os();
    crate::lifecycle::become_subreaper(true);
    state.signals.apply_all();
    Err(err)
}

/// execvp(3)
pub fn execvp(state: &mut State, args: &Args) -> CallResult {
    let file = args.cstring(0)?;
    let argv = args.cstrings(1)?;
    let argv_ptrs = pointers(&argv);
    run_exec(state, || {
        // SAFETY: file and every argv pointer are NUL-terminated strings
        // that outlive the call; argv_ptrs ends with a null pointer.
        unsafe { libc::execvp(file.as_ptr(), argv_ptrs.as_ptr()) };
    })
}

/// execve(2)
pub fn execve(state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let argv = args.cstrings(1)?;
    let env = args.cstrings(2)?;
    let argv_ptrs = pointers(&argv);
    let env_ptrs = pointers(&env);
    run_exec(state, || {
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
    let env_ptrs = pointers(&env);
    run_exec(state, || {
        // SAFETY: null-terminated argv and envp of NUL-terminated strings
        // that outlive the call.
        unsafe { libc::fexecve(fd, argv_ptrs.as_ptr(), env_ptrs.as_ptr()) };
    })
}
