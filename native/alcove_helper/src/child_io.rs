//! A child's standard I/O as the helper holds it: stdin queued and written
//! as the pipe takes it, stdout and stderr read and sent upstream, and what
//! an exited child left behind drained before its exit event.

use crate::args::CallError;
use crate::event_loop::on_ctl_readable;
use crate::fdio::{self, ReadOutcome};
use crate::state::State;
use alcove_proto::{Kind, Value};
use std::os::unix::io::RawFd;

pub fn stdin_to_child(state: &mut State, pid: i32, payload: &[u8]) {
    // A program's first stdin: its streams go to the driver. These bytes,
    // and any it relays before its mark is answered, are still written
    // here (see `direct::mark`).
    if let Some(idx) = state.child_index(pid) {
        crate::direct::take_over(state, idx, false);
    }
    if crate::direct::bounce_stdin(state, pid, payload) {
        return;
    }
    let Some(idx) = state.child_index(pid) else {
        return state.send_value(Kind::Event, 0, &[pid], &Value::atom("badpid"));
    };
    let child = &mut state.children[idx];
    if child.stdin < 0 || child.stdin_eof_pending {
        return state.send_value(Kind::Pipe, 0, &[pid], &Value::Int(0));
    }
    // In order: straight to the pipe only when nothing is queued before it.
    let mut rest = payload;
    if child.stdin_queue.is_empty() {
        match fdio::write(child.stdin, rest) {
            Ok(n) => rest = &rest[n..],
            Err(_) => {
                // The reader went away.
                fdio::close(child.stdin);
                child.stdin = -1;
                return state.send_value(Kind::Pipe, 0, &[pid], &Value::Int(0));
            }
        }
    }
    if rest.is_empty() {
        child.stdin_taken += payload.len() as u64;
        return;
    }
    if child.stdin_queue.len() + rest.len() > child.stdin_limit {
        // What the pipe took stays written; the rest is refused.
        let written = payload.len() - rest.len();
        child.stdin_taken += written as u64;
        return state.send_value(Kind::Pipe, 0, &[pid], &Value::Int(written as i64));
    }
    child.stdin_taken += payload.len() as u64;
    child.stdin_queue.push(rest);
    flush_stdin(state, pid);
}

pub fn flush_stdin(state: &mut State, pid: i32) {
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    flush_stdin_at(state, idx);
    crate::direct::stdin_drained(state, idx);
}

fn flush_stdin_at(state: &mut State, idx: usize) {
    let child = &mut state.children[idx];
    if child.stdin < 0 {
        child.stdin_queue.clear();
        return;
    }
    if child.stdin_queue.flush(child.stdin).is_err() {
        // The reader went away: nothing more can be delivered.
        child.stdin_queue.clear();
        fdio::close(child.stdin);
        child.stdin = -1;
        return;
    }
    if child.stdin_queue.is_empty() && child.stdin_eof_pending {
        fdio::close(child.stdin);
        child.stdin = -1;
        child.stdin_eof_pending = false;
    }
}

/// Read a child's stdout or stderr. Returns false at end of file.
pub fn on_output(state: &mut State, pid: i32, kind: Kind, buf: &mut [u8]) -> bool {
    read_output(state, pid, kind, buf).is_some()
}

/// One read of a child's stdout or stderr: Some(true) when bytes went up,
/// Some(false) when none were there, None at end of file (or no stream).
fn read_output(state: &mut State, pid: i32, kind: Kind, buf: &mut [u8]) -> Option<bool> {
    let idx = state.child_index(pid)?;
    let child = &mut state.children[idx];
    let fd = if kind == Kind::Stdout {
        child.stdout
    } else {
        child.stderr
    };
    if fd < 0 {
        return None;
    }
    match fdio::read(fd, buf) {
        ReadOutcome::Data(n) => {
            if child.flowcontrol > 0 {
                child.flowcontrol -= 1;
            }
            state.send(kind, 0, &[pid], &buf[..n]);
            Some(true)
        }
        ReadOutcome::WouldBlock => Some(false),
        ReadOutcome::Eof | ReadOutcome::Error => {
            fdio::close(fd);
            let (slot, opt, name) = if kind == Kind::Stdout {
                (&mut child.stdout, state.opts.stdout_closed, "stdout_closed")
            } else {
                (&mut child.stderr, state.opts.stderr_closed, "stderr_closed")
            };
            *slot = -1;
            if opt == 1 {
                state.send_value(Kind::Event, 0, &[pid], &Value::atom(name));
            }
            None
        }
    }
}

/// `eof(Pid, Stream)`: close our end of a child's stdio.
pub fn eof(state: &mut State, pid: i32, stream: &str) -> Result<Value, CallError> {
    let idx = state
        .child_index(pid)
        .ok_or(CallError::Errno(libc::ESRCH))?;
    let child = &mut state.children[idx];
    let slot = match stream {
        "stdin" if child.direct & crate::direct::STDIN != 0 => {
            crate::direct::close_stream(state, idx, crate::direct::STDIN);
            return Ok(Value::ok());
        }
        "stdin" => {
            if child.stdin < 0 || child.stdin_eof_pending {
                return Err(CallError::Errno(libc::EBADF));
            }
            if !child.stdin_queue.is_empty() {
                child.stdin_eof_pending = true;
                return Ok(Value::ok());
            }
            &mut child.stdin
        }
        "stdout" if child.direct & crate::direct::STDOUT != 0 => {
            crate::direct::close_stream(state, idx, crate::direct::STDOUT);
            return Ok(Value::ok());
        }
        "stderr" if child.direct & crate::direct::STDERR != 0 => {
            crate::direct::close_stream(state, idx, crate::direct::STDERR);
            return Ok(Value::ok());
        }
        "stdout" => &mut child.stdout,
        "stderr" => &mut child.stderr,
        _ => return Err(CallError::Badarg),
    };
    if *slot < 0 {
        return Err(CallError::Errno(libc::EBADF));
    }
    fdio::close(*slot);
    *slot = -1;
    release_if_exited(state, idx);
    Ok(Value::ok())
}

/// A caller closed one of a child's fds (close/3 on a number `cpid`
/// reported): close it and forget it, as if the stream had ended.
pub fn close_child_fd(state: &mut State, fd: RawFd) {
    let Some(idx) = state
        .children
        .iter()
        .position(|c| [c.ctl, c.stdin, c.stdout, c.stderr].contains(&fd))
    else {
        return;
    };
    let child = &mut state.children[idx];
    if child.ctl == fd {
        crate::event_loop::ctl_closed(state, idx);
        return;
    }
    if child.stdin == fd && crate::direct::close_stream(state, idx, crate::direct::STDIN) {
        return release_if_exited(state, idx);
    }
    let child = &mut state.children[idx];
    fdio::close(fd);
    if child.stdin == fd {
        child.stdin = -1;
        child.stdin_queue.clear();
        child.stdin_eof_pending = false;
    }
    if child.stdout == fd {
        child.stdout = -1;
    }
    if child.stderr == fd {
        child.stderr = -1;
    }
    release_if_exited(state, idx);
}

/// A child that exited with output held back (flow control at 0) may be
/// done now that one of its streams is closed: finish it.
fn release_if_exited(state: &mut State, idx: usize) {
    if state.children[idx].exited.is_some() {
        let pid = state.children[idx].pid;
        crate::lifecycle::finish_exited(state, pid);
    }
}

/// Take everything a child that has exited left in its channels.
/// Read what a child's control channel holds now: its last frames and,
/// once it has exec'd or died, the end of file that tells which.
pub fn drain_ctl(state: &mut State, pid: i32, buf: &mut [u8]) {
    while on_ctl_readable(state, pid, buf) {
        let Some(idx) = state.child_index(pid) else {
            return;
        };
        let fd = state.children[idx].ctl;
        if !readable_now(fd) {
            break;
        }
    }
}

pub fn drain_child(state: &mut State, pid: i32, buf: &mut [u8]) {
    drain_ctl(state, pid, buf);
    for kind in [Kind::Stdout, Kind::Stderr] {
        loop {
            let Some(idx) = state.child_index(pid) else {
                return;
            };
            let child = &state.children[idx];
            let fd = if kind == Kind::Stdout {
                child.stdout
            } else {
                child.stderr
            };
            // Non-blocking: a read that finds nothing ends it (no poll
            // first).
            if fd < 0
                || child.flowcontrol == 0
                || child.held
                || read_output(state, pid, kind, buf) != Some(true)
            {
                break;
            }
        }
    }
}

/// Whether a pipe holds bytes not read yet (end of file alone is not data).
pub fn has_data(fd: RawFd) -> bool {
    if fd < 0 {
        return false;
    }
    let mut available: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to a valid pointer.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut available) };
    rc == 0 && available > 0
}

pub fn readable_now(fd: RawFd) -> bool {
    fd >= 0 && poll_one(fd, libc::POLLIN, 0)
}

/// Wait up to `timeout_ms` for `events` on one fd; true when one came.
pub fn poll_one(fd: RawFd, events: libc::c_short, timeout_ms: i32) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd. (nix's poll takes borrowed fds, and the
    // helper's fds are plain numbers State owns: borrowing one is itself
    // unsafe, so nix would not remove this block.)
    unsafe { libc::poll(&mut pfd, 1, timeout_ms) > 0 }
}
