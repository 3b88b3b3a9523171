//! Signals, reaping and shutdown: how children end and how a helper ends.

use crate::child_io::{drain_child, has_data};
use crate::consts;
use crate::event_loop::flush_upstream;
use crate::signals::Disposition;
use crate::state::State;
use alcove_proto::{Kind, Value, STDIO_CHUNK};
use nix::sys::prctl;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{getpid, getppid, Pid};
use std::time::{Duration, Instant};

/// Most processes one reap collects; the next SIGCHLD collects the rest.
const REAP_BATCH: usize = 4096;

/// How long a closing helper waits for its children before SIGKILL.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(400);

/// Read pending signals: reap on SIGCHLD, report caught ones.
pub fn on_signals(state: &mut State) {
    let mut sigchld = false;
    for (signum, info) in state.signals.drain() {
        sigchld |= signum == libc::SIGCHLD;
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
    // Only SIGCHLD makes the loop call waitpid: under a seccomp filter that
    // traps wait4, reaping on every signal would trap forever.
    if sigchld && !state.signals.caller_reaps() {
        reap(state);
    }
}

/// The caller reaped a child with waitpid (SIGCHLD set to `sig_info`): its
/// output still goes up, then it is forgotten without an exit event, as
/// the caller has the status already.
pub fn reaped_by_caller(state: &mut State, pid: i32) {
    if let Some(idx) = state.child_index(pid) {
        state.children[idx].exited = Some(None);
        crate::teardown::reaped(state, pid, false);
        finish_exited(state, pid);
    }
}

/// Collect every child that has exited; its output and replies go up
/// before its exit event. Orphans adopted as subreaper are just reaped.
pub fn reap(state: &mut State) {
    // Bounded: a seccomp filter that traps wait4 makes it return its own
    // number instead of failing.
    for _ in 0..REAP_BATCH {
        let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(status) => status,
            Err(_) => return,
        };
        let Some(pid) = status.pid().map(Pid::as_raw) else {
            return;
        };
        let Some(idx) = state.child_index(pid) else {
            // An orphan adopted from below, now gone: what is left of the
            // process group it led goes with it (no group, no effect).
            kill_group(pid);
            continue;
        };
        // Whether it exec'd is known from its control channel's end of
        // file, which may still be unread when SIGCHLD comes first (a
        // program that exits at once, on a loaded machine): read it now,
        // or a program would be taken for a helper and its leaf killed.
        if state.children[idx].ctl_state == crate::state::CtlState::Open {
            let mut buf = [0u8; 4096];
            crate::child_io::drain_ctl(state, pid, &mut buf);
        }
        // Likewise a fork_exec child's report: its reply goes before its
        // exit, and a child whose step failed is forgotten there.
        if state.children[idx].exec_report.is_some() {
            crate::sys::spawn::on_report(state, pid, true);
        }
        let Some(idx) = state.child_index(pid) else {
            continue;
        };
        // A program killed by a signal (its owner's exit, say) takes what it
        // started in its process group along; one that exits on its own
        // leaves its background processes be. setcpid killpg: always.
        let child = &state.children[idx];
        let execed = child.ctl_state == crate::state::CtlState::Execed;
        let killed_program = execed && matches!(status, WaitStatus::Signaled(..));
        if child.killpg || killed_program {
            kill_group(pid);
        }
        // Its cgroup leaf goes too, setsid'd and double-forked processes
        // included; so does all of a helper's (nothing can reach it now).
        let kill_rest = child.killpg || killed_program || !execed;
        crate::teardown::reaped(state, pid, kill_rest);
        let event = exit_event(state, status);
        state.children[idx].exited = Some(event);
        finish_exited(state, pid);
    }
}

/// SIGKILL to the process group `leader` led. A group keeps its leader's
/// pid as its id while any member lives, and no process can be given that
/// pid meanwhile: this reaches only that group, if it is still there.
fn kill_group(leader: libc::pid_t) {
    if leader > 1 {
        let _ = killpg(Pid::from_raw(leader), Signal::SIGKILL);
    }
}

/// Send what an exited child left in its pipes, then its exit event, and
/// forget it. While its flow control is at 0 and output remains, wait;
/// end of file needs no grant.
pub fn finish_exited(state: &mut State, pid: i32) {
    // Allocated once: a fresh zeroed 64 KiB per exit was a memset and,
    // as the heap is shared copy-on-write with every new child, 16 page
    // faults. Reading end of file writes nothing into it.
    let mut buf = std::mem::take(&mut state.drain_buf);
    buf.resize(STDIO_CHUNK, 0);
    drain_child(state, pid, &mut buf);
    state.drain_buf = buf;
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    let child = &state.children[idx];
    let held = (child.flowcontrol == 0 || child.held)
        && (has_data(child.stdout) || has_data(child.stderr));
    if held {
        return;
    }
    let direct = state.children[idx].direct != 0;
    let shortcut = state.children[idx].shortcut.take();
    let (event, inflight, pending_noreturn) = if direct {
        // The driver reads this program's output: the record stays, for
        // setcpid and cpid, until the driver has sent the output and the
        // exit on (`direct::done`).
        let child = &mut state.children[idx];
        if child.reported {
            return;
        }
        child.reported = true;
        let taken = (
            child.exited.take().flatten(),
            std::mem::take(&mut child.inflight),
            child.pending_noreturn.take(),
        );
        child.exited = Some(None);
        child.close_all();
        taken
    } else {
        let mut child = state.children.swap_remove(idx);
        child.close_all();
        (
            child.exited.take().flatten(),
            std::mem::take(&mut child.inflight),
            child.pending_noreturn,
        )
    };
    match &event {
        Some(event) => state.send_value(Kind::Event, 0, &[pid], event),
        // No exit event to wait for: the driver is told the program ended.
        None if direct => crate::direct::ended(state, pid),
        None => {}
    }
    // A call still in flight can no longer be answered: a call made in
    // this process raises how it ended (`{termsig, Sig}`, `{exit_status,
    // N}`), as in the original; one bound further down, or when the end
    // is not reported, raises badpid.
    let badpid = Value::atom("badpid");
    if let Some(seq) = shortcut {
        crate::shortcut::send_gone(state, &[pid], seq, event.as_ref().unwrap_or(&badpid));
    }
    for call in inflight {
        if Some(call.request_id) == pending_noreturn {
            state.send_value(Kind::Reply, call.request_id, &[pid], &Value::ok());
        } else {
            let reason = event.as_ref().filter(|_| call.direct).unwrap_or(&badpid);
            state.send_value(Kind::Raise, call.request_id, &[pid], reason);
        }
    }
}

/// Make orphaned descendants this process's to reap (and to kill when it
/// shuts down), instead of init's.
pub fn become_subreaper(on: bool) {
    let _ = prctl::set_child_subreaper(on);
}

/// Die (SIGKILL) when the parent helper dies, however it dies: a process
/// whose helper is gone can no longer be reached, so it must not linger.
/// The kernel drops this setting when credentials change, so the id calls
/// arm it again.
pub fn die_with_parent(parent: libc::pid_t) {
    rearm_parent_death();
    // The parent may have died before the setting took. (In a new PID
    // namespace the parent is outside it and getppid() is 0.)
    let ppid = getppid().as_raw();
    if parent > 0 && ppid != parent && ppid != 0 {
        exit_now_with(1);
    }
}

/// Arm parent-death again after a credential change (see [`die_with_parent`]).
pub fn rearm_parent_death() {
    let _ = prctl::set_pdeathsig(Signal::SIGKILL);
}

/// Close every fd above stderr: the helper must not hold the VM's fds.
pub fn close_inherited_fds() {
    crate::fdio::close_all_except(&[0, 1, 2]);
}

/// The pids of this process's children, from /proc (None without /proc,
/// as after a chroot).
fn children_of_self() -> Option<Vec<i32>> {
    let pid = getpid();
    let text = std::fs::read_to_string(format!("/proc/self/task/{pid}/children")).ok()?;
    Some(
        text.split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
    )
}

fn exit_event(state: &State, status: WaitStatus) -> Option<Value> {
    match status {
        WaitStatus::Exited(_, code) => (state.opts.exit_status == 1)
            .then(|| Value::tuple2(Value::atom("exit_status"), Value::Int(code as i64))),
        WaitStatus::Signaled(_, signal, _) => (state.opts.termsig == 1).then(|| {
            Value::tuple2(
                Value::atom("termsig"),
                Value::atom(consts::signal::name(signal as i32)),
            )
        }),
        _ => None,
    }
}

/// The control channel closed: signal the children, wait for them a
/// little, kill whatever is left (adopted orphans included), reap
/// everything and exit. Children that called `outlive` are left alone:
/// once this process is gone they are reparented, as daemons are.
pub fn shutdown(state: &mut State) -> ! {
    let spared: Vec<i32> = state
        .children
        .iter()
        .filter(|c| c.outlives)
        .map(|c| c.pid)
        .collect();
    for child in &mut state.children {
        crate::fdio::close(child.ctl);
        crate::fdio::close(child.stdin);
        child.ctl = -1;
        child.stdin = -1;
        if child.signaloneof > 0 && !child.outlives {
            let _ = crate::sys::process::send_signal(child.pid, child.signaloneof as i32);
        }
    }
    let known: Vec<i32> = state
        .children
        .iter()
        .map(|c| c.pid)
        .filter(|pid| !spared.contains(pid))
        .collect();
    // Orphans adopted from below that called outlive are spared too.
    let doomed = |pids: Vec<i32>| -> Vec<i32> {
        pids.into_iter()
            .filter(|pid| !spared.contains(pid) && !crate::teardown::outlived(*pid))
            .collect()
    };
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while Instant::now() < deadline {
        if reap_all_nohang() {
            finish_shutdown(state);
        }
        let now = children_of_self().map(doomed);
        if now.as_ref().is_some_and(|now| now.is_empty()) {
            finish_shutdown(state);
        }
        // The children asked to end have: what is left are orphans they
        // left behind, which no one asked to end. No point waiting.
        if now.is_some_and(|now| !now.iter().any(|pid| known.contains(pid))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Whatever is left in the children's cgroups, reparented or not.
    crate::teardown::kill_children(state);
    // Kill and reap the rest one by one: waiting for any child would wait
    // for the ones that stay too, and a helper below that ends may leave
    // an orphan to adopt that called outlive. Zombies are reaped first, so
    // that a dead process is never taken for one that outlives.
    let mut fallback = known;
    loop {
        if reap_all_nohang() {
            finish_shutdown(state);
        }
        let left = doomed(children_of_self().unwrap_or_else(|| fallback.clone()));
        let Some(&next) = left.first() else {
            finish_shutdown(state);
        };
        for &pid in &left {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = waitpid(Pid::from_raw(next), None);
        // Without /proc, what is known is all there is to wait for.
        fallback.retain(|&pid| pid != next);
    }
}

fn finish_shutdown(state: &State) -> ! {
    crate::teardown::remove_children(state);
    exit_now()
}

/// Reap what has exited; true when no child is left at all.
fn reap_all_nohang() -> bool {
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Err(_) => return true,
            Ok(WaitStatus::StillAlive) => return false,
            Ok(_) => {}
        }
    }
}

fn exit_now() -> ! {
    exit_now_with(0)
}

fn exit_now_with(code: i32) -> ! {
    // SAFETY: _exit ends the process without running destructors or atexit
    // handlers, which is what a helper that may be a fork of another
    // wants; nix has no wrapper for it.
    unsafe { libc::_exit(code) }
}

/// Send what is queued upstream, waiting up to a second for room.
pub fn flush_before_exit(state: &mut State) {
    // Answers sent on the shortcut: one try, without waiting.
    crate::shortcut::flush(state);
    if state.up_out.is_empty() {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(1);
    while !state.up_out.is_empty() && !state.up_closed && Instant::now() < deadline {
        flush_upstream(state);
        crate::child_io::poll_one(state.up_write, libc::POLLOUT, 100);
    }
}
