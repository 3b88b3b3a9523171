//! The poll(2) loop every helper runs: frames from upstream are answered or
//! forwarded to a child; child output, replies and events travel up with
//! the child's pid prepended to their pipeline.

use crate::args::{Args, CallError};
use crate::calls;
use crate::child_io::{flush_stdin, on_output, stdin_to_child};
use crate::fdio::{self, ReadOutcome};
use crate::lifecycle;
use crate::state::{CtlState, Inflight, State, CTL_QUEUE_MAX, INFLIGHT_MAX};
use alcove_proto::{decode_value, Frame, Kind, Next, Value, HEADER_FIXED, STDIO_CHUNK};
use std::os::unix::io::RawFd;

#[derive(Clone, Copy)]
enum Tag {
    UpRead,
    StdinHangup,
    UpWrite,
    Signal,
    CtlRead(i32),
    CtlWrite(i32),
    Stdout(i32),
    Stderr(i32),
    Stdin(i32),
    SeccompListener(i32, RawFd),
    /// A `fork_exec` child's report pipe.
    ExecReport(i32),
    /// The cgroup watches' inotify fd.
    CgroupInotify,
    /// A cgroup watch's v1 OOM eventfd, by watch id.
    CgroupOom(u64),
    /// This helper's shortcut to the driver (see `shortcut`).
    ShortcutRead,
    ShortcutWrite,
}

pub fn run(state: &mut State) -> ! {
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut tags: Vec<Tag> = Vec::new();
    let mut buf = vec![0u8; STDIO_CHUNK];
    loop {
        if state.up_closed {
            lifecycle::shutdown(state);
        }
        // Requests read but left while the replies queued up were many.
        if !state.upstream_full() && state.up_reader.buffered() > 0 {
            handle_upstream_frames(state);
        }
        if state
            .shortcut
            .as_ref()
            .is_some_and(|s| !s.full() && s.reader.buffered() > 0)
        {
            crate::shortcut::handle_frames(state);
        }
        fds.clear();
        tags.clear();
        let mut watch = |fd: RawFd, events: libc::c_short, tag: Tag| {
            if fd >= 0 {
                fds.push(libc::pollfd {
                    fd,
                    events,
                    revents: 0,
                });
                tags.push(tag);
            }
        };
        let full = state.upstream_full();
        watch(state.signals.read_fd, libc::POLLIN, Tag::Signal);
        // No new requests while their replies cannot go out: what is queued
        // upstream stays bounded however fast calls come.
        if !full {
            watch(state.up_read, libc::POLLIN, Tag::UpRead);
        }
        if state.watch_stdin {
            // Only hangups: bytes waiting there are for a program exec'd later.
            watch(0, 0, Tag::StdinHangup);
        }
        if !state.up_out.is_empty() {
            watch(state.up_write, libc::POLLOUT, Tag::UpWrite);
        }
        if let Some(shortcut) = &state.shortcut {
            if !shortcut.full() {
                watch(shortcut.fd, libc::POLLIN, Tag::ShortcutRead);
            }
            if !shortcut.out.is_empty() {
                watch(shortcut.fd, libc::POLLOUT, Tag::ShortcutWrite);
            }
        }
        for child in &state.children {
            if !full {
                // Before its output: the reply precedes what the program writes.
                if let Some(report) = &child.exec_report {
                    watch(report.fd, libc::POLLIN, Tag::ExecReport(child.pid));
                }
                watch(child.ctl, libc::POLLIN, Tag::CtlRead(child.pid));
                for &fd in &child.seccomp_listeners {
                    watch(fd, libc::POLLIN, Tag::SeccompListener(child.pid, fd));
                }
                if child.flowcontrol != 0 && !child.held {
                    watch(child.stdout, libc::POLLIN, Tag::Stdout(child.pid));
                    watch(child.stderr, libc::POLLIN, Tag::Stderr(child.pid));
                }
            }
            if !child.ctl_out.is_empty() {
                watch(child.ctl, libc::POLLOUT, Tag::CtlWrite(child.pid));
            }
            if !child.stdin_queue.is_empty() {
                watch(child.stdin, libc::POLLOUT, Tag::Stdin(child.pid));
            }
        }
        if !full {
            for (fd, id) in state.cgwatch.poll_fds() {
                watch(
                    fd,
                    libc::POLLIN,
                    id.map_or(Tag::CgroupInotify, Tag::CgroupOom),
                );
            }
        }
        let timeout = state.cgwatch.timeout_ms();
        let ready = wait_for_events(&mut fds, timeout);
        crate::cgwatch::tick(state);
        if ready < 0 {
            continue;
        }
        let epoch = state.epoch;
        for i in 0..fds.len() {
            if fds[i].revents == 0 {
                continue;
            }
            match tags[i] {
                Tag::Signal => lifecycle::on_signals(state),
                Tag::UpRead => on_upstream_readable(state, &mut buf),
                Tag::StdinHangup => on_stdin_hangup(state, fds[i].revents),
                Tag::UpWrite => flush_upstream(state),
                Tag::CtlRead(pid) => {
                    on_ctl_readable(state, pid, &mut buf);
                }
                Tag::CtlWrite(pid) => flush_ctl(state, pid),
                Tag::Stdout(pid) => output_ready(state, pid, Kind::Stdout, &mut buf),
                Tag::Stderr(pid) => output_ready(state, pid, Kind::Stderr, &mut buf),
                Tag::Stdin(pid) => flush_stdin(state, pid),
                Tag::SeccompListener(pid, fd) => {
                    crate::sys::seccomp_named::on_listener(state, pid, fd, fds[i].revents)
                }
                Tag::ExecReport(pid) => crate::sys::spawn::on_report(state, pid, false),
                Tag::CgroupInotify => crate::cgwatch::on_inotify(state),
                Tag::CgroupOom(id) => crate::cgwatch::on_eventfd(state, id),
                Tag::ShortcutRead => crate::shortcut::on_readable(state, &mut buf),
                Tag::ShortcutWrite => crate::shortcut::flush(state),
            }
            if state.epoch != epoch {
                break;
            }
        }
        if state.epoch == epoch {
            flush_upstream(state);
            crate::shortcut::flush(state);
        }
    }
}

fn output_ready(state: &mut State, pid: i32, kind: Kind, buf: &mut [u8]) {
    // A program's first output: its streams go to the driver instead.
    if let Some(idx) = state.child_index(pid) {
        if crate::direct::take_over(state, idx, true) {
            return;
        }
    }
    on_output(state, pid, kind, buf);
    if state
        .child_index(pid)
        .is_some_and(|idx| state.children[idx].exited.is_some())
    {
        lifecycle::finish_exited(state, pid);
    }
}

/// The parent closed this forked helper's stdin (eof/2, or close/3 on the
/// fd `cpid` reports): as in the original, where stdin was the control
/// channel, the helper leaves its loop. If the caller closed fd 0 itself
/// there is nothing left to watch.
fn on_stdin_hangup(state: &mut State, revents: libc::c_short) {
    if revents & libc::POLLNVAL != 0 {
        state.watch_stdin = false;
    } else if revents & (libc::POLLHUP | libc::POLLERR) != 0 {
        state.up_closed = true;
    }
}

/// Write queued frames upstream; a broken upstream ends this helper.
pub fn flush_upstream(state: &mut State) {
    if state.up_out.flush(state.up_write).is_err() {
        state.up_out.clear();
        state.up_closed = true;
    }
}

fn on_upstream_readable(state: &mut State, buf: &mut [u8]) {
    // The root helper passes a child its shortcut's end on the control
    // channel, with the first call it relays to it.
    let read = if state.shortcut_expected {
        fdio::read_with_fds(state.up_read, buf, &mut state.up_fds)
    } else {
        fdio::read(state.up_read, buf)
    };
    match read {
        ReadOutcome::Data(n) => state.up_reader.push(&buf[..n]),
        ReadOutcome::WouldBlock => return,
        ReadOutcome::Eof | ReadOutcome::Error => {
            state.up_closed = true;
            return;
        }
    }
    handle_upstream_frames(state);
}

/// Handle every whole frame the upstream reader holds.
pub fn handle_upstream_frames(state: &mut State) {
    let epoch = state.epoch;
    loop {
        if state.upstream_full() {
            break;
        }
        match state.up_reader.next_frame() {
            Next::Body(body) => handle_upstream_frame(state, &body),
            Next::Oversized {
                request_id: Some(id),
                ..
            } => state.send_value(Kind::Raise, id, &[], &Value::atom("badarg")),
            Next::Oversized {
                request_id: None, ..
            } => {}
            Next::NeedMore => break,
        }
        if state.epoch != epoch {
            break;
        }
    }
}

fn handle_upstream_frame(state: &mut State, body: &[u8]) {
    let frame = match Frame::decode(body) {
        Ok(frame) => frame,
        Err(_) => {
            if let Some(id) = alcove_proto::peek_request_id(body) {
                state.send_value(Kind::Raise, id, &[], &Value::atom("badarg"));
            }
            return;
        }
    };
    let request_id = frame.header.request_id;
    match (frame.header.kind, frame.header.pipeline.split_first()) {
        (Kind::Call, None) => call_here(state, request_id, frame.payload),
        (Kind::Call, Some((&pid, rest))) => {
            forward_call(state, request_id, pid, rest, frame.payload)
        }
        (Kind::Stdin, Some((&pid, []))) => stdin_to_child(state, pid, frame.payload),
        (Kind::Stdin, Some((&pid, rest))) => forward_stdin(state, pid, rest, frame.payload),
        (Kind::Hold, Some((&pid, []))) => hold_child(state, pid, frame.payload == [1]),
        (Kind::Hold, Some((&pid, rest))) => forward_hold(state, pid, rest, frame.payload),
        (Kind::Done, Some((&pid, []))) => crate::direct::done(state, pid),
        (Kind::Mark, Some((&pid, []))) => crate::direct::mark(state, pid),
        (Kind::Flow, Some((&pid, []))) => crate::direct::flow_used(state, pid, frame.payload),
        (Kind::Shortcut, None) if state.shortcut_expected => {
            crate::shortcut::adopt(state, frame.payload)
        }
        // Frames that only travel up, or stdin for the helper itself, are ignored.
        _ => {}
    }
}

pub fn call_here(state: &mut State, request_id: u64, payload: &[u8]) {
    let epoch = state.epoch;
    let result = match (payload.get(..2), payload.get(2..).map(decode_value)) {
        (Some(nr), Some(Ok(Value::List(args)))) => {
            let nr = u16::from_be_bytes([nr[0], nr[1]]);
            state.current_request = request_id;
            state.reply_later = false;
            if state.filter.contains(nr) {
                Err(CallError::Undef)
            } else {
                calls::dispatch(nr, state, &Args(&args))
            }
        }
        _ => Err(CallError::Badarg),
    };
    if state.epoch != epoch {
        // This is a freshly forked child: the reply is the parent's to send.
        return;
    }
    if std::mem::take(&mut state.reply_later) {
        // The call sends its reply itself, later.
        return;
    }
    match result {
        Ok(value) => state.send_value(Kind::Reply, request_id, &[], &value),
        Err(CallError::Errno(errno)) => state.send_value(
            Kind::Reply,
            request_id,
            &[],
            &crate::args::errno_value(errno),
        ),
        Err(CallError::Badarg) => {
            state.send_value(Kind::Raise, request_id, &[], &Value::atom("badarg"))
        }
        // A filtered call is answered `undef` as a reply, as the original
        // does; the caller raises it.
        Err(CallError::Undef) => {
            state.send_value(Kind::Reply, request_id, &[], &Value::atom("undef"))
        }
    }
}

fn badpid(state: &mut State, request_id: u64, pid: i32, rest: &[i32]) {
    let mut pipeline = Vec::with_capacity(rest.len() + 1);
    pipeline.push(pid);
    pipeline.extend_from_slice(rest);
    state.send_value(Kind::Raise, request_id, &pipeline, &Value::atom("badpid"));
}

fn forward_call(state: &mut State, request_id: u64, pid: i32, rest: &[i32], payload: &[u8]) {
    let Some(idx) = state.child_index(pid) else {
        return badpid(state, request_id, pid, rest);
    };
    let child = &mut state.children[idx];
    if child.ctl_state != CtlState::Open
        || child.ctl_out.len() > CTL_QUEUE_MAX
        || child.inflight.len() >= INFLIGHT_MAX
    {
        let busy = child.ctl_state == CtlState::Open;
        if busy {
            return state.send_value(Kind::Reply, request_id, &[], &Value::error("eagain"));
        }
        return badpid(state, request_id, pid, rest);
    }
    let mut ends_it = false;
    if rest.is_empty() {
        let nr = payload.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if nr.is_some_and(calls::is_noreturn) {
            child.pending_noreturn = Some(request_id);
            child.pending_exit = nr.and_then(|nr| calls::NAMES.get(nr as usize)) == Some(&"exit");
            ends_it = true;
        }
        // Asked to leave the teardown: spared at shutdown from now on. If
        // the call fails, the child is still in the teardown cgroup and
        // still has its parent-death signal, which end it instead.
        if nr.and_then(|nr| calls::NAMES.get(nr as usize)) == Some(&"outlive") {
            child.outlives = true;
        }
    }
    child.inflight.push(Inflight {
        request_id,
        direct: rest.is_empty(),
    });
    // The first call relayed to or through it gives it a shortcut, for
    // the calls after it; not an exec or exit, after which it answers
    // nothing more.
    if !ends_it {
        crate::shortcut::on_relay(state, idx);
    }
    let child = &mut state.children[idx];
    alcove_proto::encode_frame_into(
        child.ctl_out.buffer(),
        Kind::Call,
        request_id,
        rest,
        payload,
    );
    flush_ctl(state, pid);
}

/// Stop or resume reading a child's output for the driver. Resuming lets
/// an exited child's remaining output, then its exit event, go.
fn hold_child(state: &mut State, pid: i32, hold: bool) {
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    state.children[idx].held = hold;
    if !hold && state.children[idx].exited.is_some() {
        lifecycle::finish_exited(state, pid);
    }
}

fn forward_hold(state: &mut State, pid: i32, rest: &[i32], payload: &[u8]) {
    if let Some(idx) = state.child_index(pid) {
        let child = &mut state.children[idx];
        if child.ctl_state == CtlState::Open {
            // A few bytes, at most one per hold or release the driver sends.
            alcove_proto::encode_frame_into(child.ctl_out.buffer(), Kind::Hold, 0, rest, payload);
            flush_ctl(state, pid);
        }
    }
}

fn forward_stdin(state: &mut State, pid: i32, rest: &[i32], payload: &[u8]) {
    match state.child_index(pid) {
        Some(idx) if state.children[idx].ctl_state == CtlState::Open => {
            let child = &mut state.children[idx];
            if child.ctl_out.len() > CTL_QUEUE_MAX {
                let mut pipeline = vec![pid];
                pipeline.extend_from_slice(rest);
                return state.send_value(Kind::Pipe, 0, &pipeline, &Value::Int(0));
            }
            alcove_proto::encode_frame_into(child.ctl_out.buffer(), Kind::Stdin, 0, rest, payload);
            flush_ctl(state, pid);
        }
        _ => {
            let mut pipeline = vec![pid];
            pipeline.extend_from_slice(rest);
            state.send_value(Kind::Event, 0, &pipeline, &Value::atom("badpid"));
        }
    }
}

fn flush_ctl(state: &mut State, pid: i32) {
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    let child = &mut state.children[idx];
    if child.ctl >= 0 && child.ctl_out.flush(child.ctl).is_err() {
        child.ctl_out.clear();
    }
}

/// Read a child's control channel. Returns false once it is closed.
pub fn on_ctl_readable(state: &mut State, pid: i32, buf: &mut [u8]) -> bool {
    let Some(idx) = state.child_index(pid) else {
        return false;
    };
    let fd = state.children[idx].ctl;
    if fd < 0 {
        return false;
    }
    match fdio::read(fd, buf) {
        ReadOutcome::Data(n) => {
            state.children[idx].ctl_reader.push(&buf[..n]);
            relay_child_frames(state, idx);
            true
        }
        ReadOutcome::WouldBlock => true,
        ReadOutcome::Eof | ReadOutcome::Error => {
            ctl_closed(state, idx);
            false
        }
    }
}

fn relay_child_frames(state: &mut State, idx: usize) {
    loop {
        let next = state.children[idx].ctl_reader.next_frame();
        let Next::Body(body) = next else { break };
        if body.len() < HEADER_FIXED {
            continue;
        }
        let child = &mut state.children[idx];
        let kind = body[0];
        if kind == Kind::Reply as u8 || kind == Kind::Raise as u8 {
            if let Some(id) = alcove_proto::peek_request_id(&body) {
                child.answered(id);
            }
        }
        let pid = child.pid;
        relay_up(state, pid, &body);
    }
}

/// Pass a child's frame up with its pid put in front of the pipeline.
fn relay_up(state: &mut State, pid: i32, body: &[u8]) {
    if state.up_closed {
        return;
    }
    let depth = u16::from_be_bytes([body[9], body[10]]);
    let Some(depth) = depth.checked_add(1) else {
        return;
    };
    let out = state.up_out.buffer();
    out.extend_from_slice(&((body.len() + 4) as u32).to_be_bytes());
    out.extend_from_slice(&body[..9]);
    out.extend_from_slice(&depth.to_be_bytes());
    out.extend_from_slice(&pid.to_be_bytes());
    out.extend_from_slice(&body[HEADER_FIXED..]);
}

/// The control channel is gone: exec succeeded, or the child left its
/// loop. After an exec the calls behind it can never be answered: badpid.
/// Otherwise the child is exiting: its calls are answered when it is
/// reaped, with how it ended (see `lifecycle::finish_exited`), unless the
/// caller reaps children itself.
pub fn ctl_closed(state: &mut State, idx: usize) {
    answer_closed(state, idx);
}

fn answer_closed(state: &mut State, idx: usize) {
    let caller_reaps = state.signals.caller_reaps();
    let child = &mut state.children[idx];
    fdio::close(child.ctl);
    child.ctl = -1;
    child.ctl_out.clear();
    let pid = child.pid;
    let noreturn = child.pending_noreturn.take();
    child.ctl_state = if noreturn.is_some() && !child.pending_exit {
        CtlState::Execed
    } else {
        CtlState::Closed
    };
    if child.ctl_state == CtlState::Execed {
        crate::direct::on_exec(state, idx);
    }
    let child = &mut state.children[idx];
    if noreturn.is_none() && !caller_reaps {
        return;
    }
    let inflight = std::mem::take(&mut child.inflight);
    // After exec or exit, or when no reap will answer them: what the
    // shortcut held is lost, as the calls queued here are.
    crate::shortcut::child_gone(state, pid, &Value::atom("badpid"));
    for Inflight { request_id: id, .. } in inflight {
        if Some(id) == noreturn {
            state.send_value(Kind::Reply, id, &[pid], &Value::ok());
        } else {
            state.send_value(Kind::Raise, id, &[pid], &Value::atom("badpid"));
        }
    }
}

/// poll(2) on the loop's fds. poll refuses more fds than RLIMIT_NOFILE
/// allows (EINVAL): a helper whose caller lowered that limit (to 0, say,
/// before exec'ing a sandboxed program) would spin without serving
/// anything. select(2) has no such check; it stands in then, for fds below
/// FD_SETSIZE and without hangup-only watches (those are left out).
/// `timeout_ms` is poll's (-1: none).
fn wait_for_events(fds: &mut [libc::pollfd], timeout_ms: i32) -> i32 {
    // SAFETY: fds is a valid array of fds.len() pollfd structs.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
    if rc >= 0 || nix::errno::Errno::last() != nix::errno::Errno::EINVAL {
        return rc;
    }
    let mut read = nix::sys::select::FdSet::new();
    let mut write = nix::sys::select::FdSet::new();
    let usable = |fd: RawFd| (0..libc::FD_SETSIZE as RawFd).contains(&fd);
    let mut highest = -1;
    for pfd in fds.iter().filter(|p| usable(p.fd)) {
        // SAFETY: the fd is open for the duration of this call (the loop
        // holds it); the borrow does not outlive it.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(pfd.fd) };
        if pfd.events & libc::POLLIN != 0 {
            read.insert(fd);
            highest = highest.max(pfd.fd);
        }
        if pfd.events & libc::POLLOUT != 0 {
            write.insert(fd);
            highest = highest.max(pfd.fd);
        }
    }
    let mut timeout = (timeout_ms >= 0).then(|| {
        nix::sys::time::TimeVal::new(
            (timeout_ms / 1000).into(),
            ((timeout_ms % 1000) * 1000).into(),
        )
    });
    if nix::sys::select::select(
        highest + 1,
        Some(&mut read),
        Some(&mut write),
        None,
        timeout.as_mut(),
    )
    .is_err()
    {
        return -1;
    }
    let mut ready = 0;
    for pfd in fds.iter_mut().filter(|p| usable(p.fd)) {
        // SAFETY: as above.
        let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(pfd.fd) };
        pfd.revents = 0;
        if pfd.events & libc::POLLIN != 0 && read.contains(fd) {
            pfd.revents |= libc::POLLIN;
        }
        if pfd.events & libc::POLLOUT != 0 && write.contains(fd) {
            pfd.revents |= libc::POLLOUT;
        }
        ready += (pfd.revents != 0) as i32;
    }
    ready
}
