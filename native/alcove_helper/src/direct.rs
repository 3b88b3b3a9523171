//! A program's output read by the driver itself. Once a child of the root
//! helper has exec'd and first writes output or is first given stdin, the
//! read ends of its stdout and stderr pipes go up to the NIF with
//! SCM_RIGHTS (a `Kind::Output` frame) and the helper stops reading them:
//! the bytes no longer pass through this process, one copy and one
//! wake-up less per chunk. A program that does neither keeps its pipes
//! here. Deeper children keep the relay (their upstream is a helper, which
//! would have to pass the fds on).
//!
//! What the helper read before the hand-over went up before the `Output`
//! frame; the exit event goes after it, and the NIF sends it on once it
//! has read what the pipes held. Flow control set on the child and eof/3
//! of its streams go up as `Flow` and `Close` frames. The program's stdin
//! write end goes up too (unless bytes are queued for it here): what the
//! driver relays through this helper until the answer to its `Mark` is
//! still written here, and that answer waits until it has been.

use crate::state::{CtlState, State};
use alcove_proto::{encode_frame, Kind};

/// Stream bits in `Output` and `Close` payloads and in `Child::direct`.
pub const STDOUT: u8 = 1;
pub const STDERR: u8 = 2;
pub const STDIN: u8 = 4;

/// A child just exec'd: its streams go to the driver when the program
/// first writes output or is first given stdin ([`take_over`]). A program
/// that does neither (`true`, `mkdir`, most commands a supervisor runs)
/// never costs the hand-over: the fds passed up, the driver's mark, its
/// output thread polling them, reading their end and holding the exit
/// event for it (17 % more `fork_exec` spawns of `/bin/true` a second).
///
/// A program paced or held by flow control is handed over at once: the
/// driver keeps its held output and its exit, and forgets them when their
/// owner exits.
pub fn on_exec(state: &mut State, idx: usize) {
    let child = &mut state.children[idx];
    if child.flowcontrol >= 0 || child.held {
        pass_output(state, idx);
    } else {
        child.handover = true;
    }
}

/// Hand a child's streams over to the driver now if it waits for its
/// first output or stdin to be handed over: at its first stdin, or when
/// `output` says its stdout or stderr holds bytes. True once they are the
/// driver's (the caller then leaves them alone).
pub fn take_over(state: &mut State, idx: usize, output: bool) -> bool {
    let child = &state.children[idx];
    if !child.handover {
        return child.direct != 0;
    }
    if output
        && !crate::child_io::has_data(child.stdout)
        && !crate::child_io::has_data(child.stderr)
    {
        // End of file alone: the program ends without a byte, nothing to
        // hand over.
        return false;
    }
    state.children[idx].handover = false;
    pass_output(state, idx);
    state.children[idx].direct != 0
}

/// Hand a child's output over to the driver, if it exec'd and this is the
/// root helper talking to the NIF over a socket.
fn pass_output(state: &mut State, idx: usize) {
    if state.depth != 0 || state.up_closed || !state.up_is_socket {
        return;
    }
    let events = u8::from(state.opts.stdout_closed == 1) * STDOUT
        + u8::from(state.opts.stderr_closed == 1) * STDERR;
    let child = &mut state.children[idx];
    // A pseudo-terminal's master is also the program's stdin here.
    if child.direct != 0 || child.ctl_state != CtlState::Execed || is_tty(child.stdout) {
        return;
    }
    if child.stdout < 0 && child.stderr < 0 {
        return;
    }
    // stdin goes too (a copy: this helper keeps its own, unused, so that
    // the fd cpid reports still answers fcntl, ioctl and close), unless
    // bytes wait for it here: then it stays.
    let stdin = if child.stdin >= 0 && child.stdin_queue.is_empty() && !child.stdin_eof_pending {
        crate::pty::dup(child.stdin).unwrap_or(-1)
    } else {
        -1
    };
    let mut fds = Vec::with_capacity(3);
    let mut streams = 0;
    for (fd, bit) in [
        (child.stdout, STDOUT),
        (child.stderr, STDERR),
        (stdin, STDIN),
    ] {
        if fd >= 0 {
            fds.push(fd);
            streams |= bit;
        }
    }
    if streams & (STDOUT | STDERR) == 0 {
        return;
    }
    let mut payload = Vec::with_capacity(18);
    payload.push(streams);
    payload.extend_from_slice(&child.flowcontrol.to_be_bytes());
    payload.push(events);
    payload.extend_from_slice(&(child.stdin_limit as u64).to_be_bytes());
    let frame = encode_frame(Kind::Output, 0, &[child.pid], &payload);
    child.stdout = -1;
    child.stderr = -1;
    child.direct = streams;
    // The queue owns the fds now and closes them once sent.
    state.up_out.push_with_fds(&frame, fds);
}

/// Bytes for a stdin the driver writes itself once its `Mark` is
/// answered: until then the driver sends none itself, and what it relayed
/// meanwhile is written (or queued) here, as before the hand-over; after,
/// sent back up (not expected: the driver relays nothing more). False
/// when they are this helper's to write.
pub fn bounce_stdin(state: &mut State, pid: i32, payload: &[u8]) -> bool {
    let Some(idx) = state.child_index(pid) else {
        return false;
    };
    let child = &state.children[idx];
    if child.direct & STDIN == 0 || !child.marked {
        return false;
    }
    state.send(Kind::Stdin, 0, &[pid], payload);
    true
}

/// The driver's `Mark` for a child's stdin: answered once every byte this
/// helper took for it has been written to the pipe. The driver writes
/// nothing itself until then, so the bytes keep their order. The answer
/// says how many bytes that was (`u64`).
pub fn mark(state: &mut State, pid: i32) {
    match state.child_index(pid) {
        Some(idx) if !state.children[idx].stdin_queue.is_empty() => {
            state.children[idx].mark_pending = true;
        }
        Some(idx) => answer_mark(state, idx),
        None => state.send(Kind::Mark, 0, &[pid], &0u64.to_be_bytes()),
    }
}

/// A child's stdin queue here drained (or was dropped): answer the mark
/// that waited for it.
pub fn stdin_drained(state: &mut State, idx: usize) {
    let child = &state.children[idx];
    if child.mark_pending && child.stdin_queue.is_empty() {
        answer_mark(state, idx);
    }
}

fn answer_mark(state: &mut State, idx: usize) {
    let child = &mut state.children[idx];
    child.mark_pending = false;
    child.marked = true;
    let (pid, taken) = (child.pid, child.stdin_taken);
    state.send(Kind::Mark, 0, &[pid], &taken.to_be_bytes());
}

/// `Flow` from the driver: a read it made used up one of the child's
/// grants; the count here follows, for getcpid.
pub fn flow_used(state: &mut State, pid: i32, payload: &[u8]) {
    let Some(flow) = payload.try_into().ok().map(i64::from_be_bytes) else {
        return;
    };
    if let Some(idx) = state.child_index(pid) {
        if state.children[idx].direct != 0 {
            state.children[idx].flowcontrol = flow;
        }
    }
}

/// Flow control of a child whose output the driver reads was set.
pub fn flow_changed(state: &mut State, idx: usize) {
    let child = &state.children[idx];
    if child.direct != 0 {
        let (pid, flow) = (child.pid, child.flowcontrol);
        state.send(Kind::Flow, 0, &[pid], &flow.to_be_bytes());
    }
}

/// eof/3 (or close/3 of the stdin fd) on a stream the driver holds: the
/// driver closes it, and so does this helper its copy of stdin (stdin
/// ends only when both have). False when that stream is not the
/// driver's (or was closed before).
pub fn close_stream(state: &mut State, idx: usize, stream: u8) -> bool {
    let child = &mut state.children[idx];
    if child.direct & stream == 0 {
        return false;
    }
    child.direct &= !stream;
    if stream == STDIN {
        if child.stdin_queue.is_empty() {
            crate::fdio::close(child.stdin);
            child.stdin = -1;
        } else {
            // Bytes relayed before the driver's mark go first.
            child.stdin_eof_pending = true;
        }
    }
    let pid = child.pid;
    state.send(Kind::Close, 0, &[pid], &[stream]);
    true
}

fn is_tty(fd: i32) -> bool {
    // SAFETY: isatty only queries the fd (an ioctl); no memory is passed.
    fd >= 0 && unsafe { libc::isatty(fd) } == 1
}

/// A program the driver reads ended without an exit event (the
/// exit_status or termsig option is off, or the caller reaped it): the
/// driver forgets it once its output has gone (`Close` with no stream).
pub fn ended(state: &mut State, pid: i32) {
    state.send(Kind::Close, 0, &[pid], &[0]);
}

/// `Done` from the driver: the program's output and exit went to its
/// owner; forget the record kept for it.
pub fn done(state: &mut State, pid: i32) {
    if let Some(idx) = state.child_index(pid) {
        if state.children[idx].reported {
            state.children.swap_remove(idx);
        }
    }
}
