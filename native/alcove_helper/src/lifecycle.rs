//! Signals, reaping and shutdown: how children end and how a helper ends.

use crate::consts;
use crate::event_loop::{drain_child, flush_upstream};
use crate::signals::Disposition;
use crate::state::State;
use alcove_proto::{Kind, Value, STDIO_CHUNK};
use std::time::{Duration, Instant};

/// How long a closing helper waits for its children before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Read pending signals: reap on SIGCHLD, report caught ones.
pub fn on_signals(state: &mut State) {
    for (signum, info) in state.signals.drain() {
        let reported = usize::try_from(signum)
            .ok()
            .and_then(|s| state.signals.table.get(s).copied())
            .is_some_and(|d| d == Disposition::Catch);
        if reported {
            let event = Value::Tuple(vec![
                Value::atom("signal"),
                Value::atom(consts::signal::name(signum)),
                Value::Bin(info),
            ]);
            state.send_value(Kind::Event, 0, &[], &event);
        }
    }
    reap(state);
}

/// Collect every child that has exited; its output and replies go up
/// before its exit event.
pub fn reap(state: &mut State) {
    let mut buf = vec![0u8; STDIO_CHUNK];
    loop {
        let mut status = 0;
        // SAFETY: status is a valid int to write to.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            return;
        }
        if state.child_index(pid).is_none() {
            continue;
        }
        drain_child(state, pid, &mut buf);
        // If the control channel was still open, drain_child saw its end.
        if let Some(idx) = state.child_index(pid) {
            if state.children[idx].ctl >= 0 {
                crate::event_loop::on_ctl_readable(state, pid, &mut buf);
            }
        }
        if let Some(event) = exit_event(state, status) {
            state.send_value(Kind::Event, 0, &[pid], &event);
        }
        if let Some(idx) = state.child_index(pid) {
            let mut child = state.children.swap_remove(idx);
            // A call still in flight can no longer be answered.
            for id in child.inflight.drain(..) {
                let reply = if Some(id) == child.pending_noreturn { Value::ok() } else { Value::atom("badpid") };
                let kind = if reply == Value::ok() { Kind::Reply } else { Kind::Raise };
                state.send_value(kind, id, &[pid], &reply);
            }
            child.close_all();
        }
    }
}

fn exit_event(state: &State, status: i32) -> Option<Value> {
    if libc::WIFEXITED(status) {
        (state.opts.exit_status == 1).then(|| {
            Value::tuple2(Value::atom("exit_status"), Value::Int(libc::WEXITSTATUS(status) as i64))
        })
    } else if libc::WIFSIGNALED(status) {
        (state.opts.termsig == 1).then(|| {
            Value::tuple2(Value::atom("termsig"), Value::atom(consts::signal::name(libc::WTERMSIG(status))))
        })
    } else {
        None
    }
}

/// The control channel closed: signal the children, wait for them a
/// little, kill what is left, reap everything and exit.
pub fn shutdown(state: &mut State) -> ! {
    for child in &mut state.children {
        crate::fdio::close(child.ctl);
        crate::fdio::close(child.stdin);
        child.ctl = -1;
        child.stdin = -1;
        if child.signaloneof > 0 {
            // SAFETY: kill has no memory effects.
            unsafe { libc::kill(child.pid, child.signaloneof as i32) };
        }
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    let mut remaining: Vec<i32> = state.children.iter().map(|c| c.pid).collect();
    while !remaining.is_empty() && Instant::now() < deadline {
        remaining.retain(|&pid| {
            // SAFETY: null status pointer is allowed.
            unsafe { libc::waitpid(pid, std::ptr::null_mut(), libc::WNOHANG) == 0 }
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    for pid in remaining {
        // SAFETY: kill and waitpid have no memory effects here.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
            libc::waitpid(pid, std::ptr::null_mut(), 0);
        }
    }
    // SAFETY: _exit ends the process without running destructors, which is
    // what a helper that may be a fork of another wants.
    unsafe { libc::_exit(0) }
}

/// Send what is queued upstream, waiting up to a second for room.
pub fn flush_before_exit(state: &mut State) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while !state.up_out.is_empty() && !state.up_closed && Instant::now() < deadline {
        flush_upstream(state);
        let mut pfd = libc::pollfd { fd: state.up_write, events: libc::POLLOUT, revents: 0 };
        // SAFETY: one valid pollfd.
        unsafe { libc::poll(&mut pfd, 1, 100) };
    }
}
