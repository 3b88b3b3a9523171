//! A forked helper's own socket to the driver. Each level of the tree a
//! call passes through costs a process wake-up there and back: a call to
//! depth 4 woke four helpers before it reached the one that runs it. So
//! when a helper forks (or clones) a child, it makes a socket pair, keeps
//! nothing of it, gives one end to the child and passes the other up to
//! the driver with a `Shortcut` frame: on the root helper's own socket,
//! or on the parent's shortcut (every forked helper has one once the
//! driver took it), never through the helpers in between. The root
//! helper makes its children's pairs later, with the first call it relays
//! to each (`on_relay`): the child's end goes down the control channel
//! with a `Shortcut` frame (`adopt`). Most of its children exec or exit
//! without a call of their own, and a pair made for each cost a fork +
//! exit about a seventh of its rate.
//!
//! The driver sends on it only the child's own calls (pipeline `[]`),
//! and only those the parent need not see: exec, exit, `outlive` and
//! `fork_exec` still go down the tree, as the parent answers or records
//! them (see `event_loop::forward_call`). The child answers a call on the
//! channel it came by; everything else it sends (events, its children's
//! output) still goes up the tree. When the shortcut closes (the child
//! exec'd: it is close-on-exec; or it exited), the driver answers the
//! calls it sent on it and saw no answer to with `badpid`, as the tree
//! does for the calls behind an exec.
//!
//! The driver is the only peer: what comes here is decoded as what comes
//! up the tree is (`alcove_proto`, fuzzed), and a call here is bounded as
//! one there (no reads while the answers queued are over the high-water
//! mark).

use crate::calls;
use crate::fdio::{self, OutQueue, ReadOutcome};
use crate::state::{State, UPSTREAM_HIGH_WATER};
use alcove_proto::{encode_frame, Frame, FrameReader, Kind, Next, Value};
use std::os::unix::io::RawFd;

/// This helper's end of its shortcut.
pub struct Shortcut {
    pub fd: RawFd,
    /// The parent's number for it (in `Shortcut` and `Gone` frames).
    pub seq: u64,
    pub reader: FrameReader,
    pub out: OutQueue,
}

impl Shortcut {
    fn close(mut self) {
        self.out.clear();
        fdio::close(self.fd);
    }

    /// Too many answers wait to go out to read more calls.
    pub fn full(&self) -> bool {
        self.out.len() >= UPSTREAM_HIGH_WATER
    }
}

/// A socket pair made for a child about to be forked.
pub struct Pair {
    driver_end: RawFd,
    child_end: RawFd,
    seq: u64,
}

impl Pair {
    /// After a failed fork.
    pub fn close(self) {
        fdio::close(self.driver_end);
        fdio::close(self.child_end);
    }
}

/// Whether this helper can pass a shortcut's end up to the driver: the
/// root on its socket, any other on its own shortcut.
pub fn can_offer(state: &State) -> bool {
    (state.depth == 0 && state.up_is_socket && !state.up_closed) || state.shortcut.is_some()
}

/// A pair for a child about to be forked, when this helper can pass its
/// end to the driver (both ends close-on-exec and non-blocking).
pub fn pair_for_child(state: &mut State) -> Option<Pair> {
    if !can_offer(state) {
        return None;
    }
    let (driver_end, child_end) = fdio::socketpair().ok()?;
    state.shortcut_seq += 1;
    Some(Pair {
        driver_end,
        child_end,
        seq: state.shortcut_seq,
    })
}

/// A call is about to go to the child at `idx` (or through it, further
/// down): if it has no shortcut yet, it gets one now. Its end goes down
/// the control channel ahead of the call (a `Shortcut` frame with the fd),
/// the driver's end up as at a fork. Made here rather than at the fork:
/// most forked helpers exec or exit without a call of their own, and a
/// socket pair passed up and torn down again for each of them cost fork +
/// exit about a seventh of its rate.
pub fn on_relay(state: &mut State, idx: usize) {
    let child = &state.children[idx];
    if child.shortcut.is_some() || child.shortcut_offered || child.ctl < 0 {
        return;
    }
    let pid = child.pid;
    state.children[idx].shortcut_offered = true;
    let Some(pair) = pair_for_child(state) else {
        // None to give (no fds left, say): the child stops expecting one.
        let frame = encode_frame(Kind::Shortcut, 0, &[], &[]);
        state.children[idx].ctl_out.push(&frame);
        return;
    };
    let frame = encode_frame(Kind::Shortcut, 0, &[], &pair.seq.to_be_bytes());
    // The queue owns the child's end: closed here once sent.
    state.children[idx]
        .ctl_out
        .push_with_fds(&frame, vec![pair.child_end]);
    send_up(state, pid, pair.driver_end, pair.seq);
}

/// In a forked helper: a `Shortcut` frame from its parent, with the fd
/// that came with it (payload: the parent's `u64` number for it).
pub fn adopt(state: &mut State, payload: &[u8]) {
    // One offer, with an fd or without: reads go back to read(2).
    state.shortcut_expected = false;
    let mut fds = std::mem::take(&mut state.up_fds).into_iter();
    let fd = fds.next();
    fds.for_each(fdio::close);
    let Some(fd) = fd else {
        return;
    };
    let seq = payload.try_into().map(u64::from_be_bytes);
    match (&state.shortcut, seq) {
        (None, Ok(seq)) => {
            state.shortcut = Some(Shortcut {
                fd,
                seq,
                reader: FrameReader::new(),
                out: OutQueue::default(),
            })
        }
        _ => fdio::close(fd),
    }
}

/// In the parent after the fork: the child's end is the child's; the
/// driver's goes up, ahead of the answer to the fork.
pub fn in_parent(state: &mut State, pid: i32, pair: Option<Pair>) {
    let Some(pair) = pair else {
        return;
    };
    fdio::close(pair.child_end);
    send_up(state, pid, pair.driver_end, pair.seq);
}

/// The driver's end of child `pid`'s shortcut goes up: on the root
/// helper's socket, or on this helper's own shortcut.
fn send_up(state: &mut State, pid: i32, driver_end: RawFd, seq: u64) {
    let frame = encode_frame(Kind::Shortcut, 0, &[pid], &seq.to_be_bytes());
    let queue = if state.depth == 0 {
        &mut state.up_out
    } else if let Some(shortcut) = &mut state.shortcut {
        &mut shortcut.out
    } else {
        return fdio::close(driver_end);
    };
    queue.push_with_fds(&frame, vec![driver_end]);
    if let Some(idx) = state.child_index(pid) {
        state.children[idx].shortcut = Some(seq);
    }
}

/// In the new child: the parent's shortcut (inherited) is dropped, and
/// the child's end of the new pair becomes this helper's.
pub fn in_child(state: &mut State, pair: Option<Pair>) {
    if let Some(inherited) = state.shortcut.take() {
        inherited.close();
    }
    state.via_shortcut = None;
    if let Some(pair) = pair {
        fdio::close(pair.driver_end);
        state.shortcut = Some(Shortcut {
            fd: pair.child_end,
            seq: pair.seq,
            reader: FrameReader::new(),
            out: OutQueue::default(),
        });
    }
}

/// A child's shortcut will answer nothing more (it exec'd, exited or was
/// reaped): the driver raises `reason` in the calls it saw no answer to.
/// Sent once, up the tree, whatever way the child went.
pub fn child_gone(state: &mut State, pid: i32, reason: &Value) {
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    if let Some(seq) = state.children[idx].shortcut.take() {
        send_gone(state, &[pid], seq, reason);
    }
}

pub fn send_gone(state: &mut State, pipeline: &[i32], seq: u64, reason: &Value) {
    let mut payload = seq.to_be_bytes().to_vec();
    alcove_proto::encode_value(&mut payload, reason);
    state.send(Kind::Gone, 0, pipeline, &payload);
}

/// Close the shortcut while this helper goes on (the driver closed it,
/// it broke, or this helper re-executes itself): the calls it held are
/// lost, and the driver is told so up the tree.
pub fn drop_it(state: &mut State) {
    state.via_shortcut = None;
    if let Some(shortcut) = state.shortcut.take() {
        let seq = shortcut.seq;
        shortcut.close();
        send_gone(state, &[], seq, &Value::atom("badpid"));
    }
}

/// Before a re-exec of this helper: the shortcut as the new image will
/// take it (see `reexec`), its answers written out first (for up to a
/// second) and its fd kept open across the exec.
pub fn keep_for_reexec(state: &mut State) -> Option<crate::reexec::KeptShortcut> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        flush(state);
        let shortcut = state.shortcut.as_ref()?;
        if shortcut.out.is_empty() || std::time::Instant::now() >= deadline {
            break;
        }
        crate::child_io::poll_one(shortcut.fd, libc::POLLOUT, 100);
    }
    let shortcut = state.shortcut.as_ref()?;
    fdio::set_cloexec(shortcut.fd, false);
    let (pending, skipping) = shortcut.reader.pending();
    Some(crate::reexec::KeptShortcut {
        fd: shortcut.fd,
        seq: shortcut.seq,
        pending: pending.to_vec(),
        skipping,
    })
}

/// The re-exec failed (or never ran): the shortcut is this image's again.
pub fn not_kept(state: &mut State) {
    if let Some(shortcut) = &state.shortcut {
        fdio::set_cloexec(shortcut.fd, true);
    }
}

/// In a re-executed helper: the shortcut the old image kept, if it is
/// still a socket.
pub fn resume(state: &mut State, kept: crate::reexec::KeptShortcut) {
    if !fdio::is_socket(kept.fd) {
        return;
    }
    fdio::set_cloexec(kept.fd, true);
    fdio::set_nonblock(kept.fd);
    state.shortcut = Some(Shortcut {
        fd: kept.fd,
        seq: kept.seq,
        reader: FrameReader::resume(&kept.pending, kept.skipping),
        out: OutQueue::default(),
    });
}

/// Write what is queued; a broken shortcut is dropped.
pub fn flush(state: &mut State) {
    let Some(shortcut) = &mut state.shortcut else {
        return;
    };
    if shortcut.out.is_empty() {
        return;
    }
    if shortcut.out.flush(shortcut.fd).is_err() {
        drop_it(state);
    }
}

/// The shortcut is readable: take the calls it brings.
pub fn on_readable(state: &mut State, buf: &mut [u8]) {
    let Some(shortcut) = &mut state.shortcut else {
        return;
    };
    match fdio::read(shortcut.fd, buf) {
        ReadOutcome::Data(n) => shortcut.reader.push(&buf[..n]),
        ReadOutcome::WouldBlock => return,
        ReadOutcome::Eof | ReadOutcome::Error => return drop_it(state),
    }
    handle_frames(state);
}

/// Run every whole call the shortcut holds (while answers have room).
pub fn handle_frames(state: &mut State) {
    let epoch = state.epoch;
    loop {
        let next = match &mut state.shortcut {
            Some(shortcut) if !shortcut.full() => shortcut.reader.next_frame(),
            _ => break,
        };
        match next {
            Next::Body(body) => handle_frame(state, &body),
            Next::Oversized {
                request_id: Some(id),
                ..
            } => answer_here(state, id, &Value::atom("badarg")),
            Next::Oversized { .. } => {}
            Next::NeedMore => break,
        }
        if state.epoch != epoch {
            // A freshly forked child: the calls after the fork are the
            // parent's, and this shortcut is not the child's any more.
            break;
        }
    }
}

fn handle_frame(state: &mut State, body: &[u8]) {
    let Ok(frame) = Frame::decode(body) else {
        if let Some(id) = alcove_proto::peek_request_id(body) {
            answer_here(state, id, &Value::atom("badarg"));
        }
        return;
    };
    let id = frame.header.request_id;
    if frame.header.kind != Kind::Call || !frame.header.pipeline.is_empty() {
        // Only this helper's own calls come this way.
        return;
    }
    let nr = frame
        .payload
        .get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]));
    if nr.is_some_and(tree_only) {
        return answer_here(state, id, &Value::atom("badarg"));
    }
    state.via_shortcut = Some(id);
    crate::event_loop::call_here(state, id, frame.payload);
    if state.via_shortcut == Some(id) {
        state.via_shortcut = None;
    }
}

/// Calls the parent must see (it answers them, or records what they do),
/// or that answer later: these come down the tree only.
fn tree_only(nr: u16) -> bool {
    calls::is_noreturn(nr)
        || matches!(
            calls::NAMES.get(nr as usize),
            Some(&"outlive") | Some(&"fork_exec")
        )
}

/// A `Raise` for a call that came by the shortcut, sent back on it (as
/// `State::send` routes an answer to the call being run).
fn answer_here(state: &mut State, id: u64, reason: &Value) {
    state.via_shortcut = Some(id);
    state.send_value(Kind::Raise, id, &[], reason);
    state.via_shortcut = None;
}
