//! Sockets straight to forked helpers (the helper's `shortcut` module
//! makes them). A call to `[P1, ..., Pn]` goes on Pn's shortcut when the
//! driver has one for it: the helpers above Pn do not wake up for it, so
//! a call at depth 4 costs about what a call at depth 1 does. Calls the
//! parents must see (exec, exit, `outlive`, `fork_exec`), stdin and
//! everything else still go down the tree, and events and output still
//! come up it.
//!
//! Each shortcut is read by the reactor like a driver's socket, from the
//! first call sent on it (most forked helpers are exec'd or exit without
//! a call of their own: their shortcut is then just closed when their
//! parent reports them gone). When it
//! closes (the helper exec'd or exited), the calls sent on it and not
//! answered wait for the helper's parent to say how the helper went (a
//! `Gone` frame up the tree, sent when the parent answers its own calls
//! to it): they raise that, `{termsig, Sig}` for a call the process died
//! in, `badpid` after an exec, as calls through the tree do. Either may
//! come first. Writes never block a scheduler: a shortcut takes at most
//! [`INFLIGHT_MAX`] unanswered calls of at most [`FRAME_MAX`] bytes, far
//! less than its socket buffer holds; a call over either limit takes the
//! tree instead.

use crate::writer::{write_some, Wrote};
use alcove_proto::Value;
use std::os::unix::io::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Unanswered calls on one shortcut, at most.
pub const INFLIGHT_MAX: usize = 16;

/// Largest call frame sent on a shortcut.
pub const FRAME_MAX: usize = 8 * 1024;

/// Shortcuts open in this VM, at most (each is an fd of the VM's): past
/// this, new helpers are reached through the tree only.
const VM_MAX: usize = 1024;

static OPEN: AtomicUsize = AtomicUsize::new(0);

/// [`VM_MAX`], or a quarter of the VM's fd limit if that is less: the
/// fds that come with programs' output must always find room (one the
/// kernel cannot give the VM is dropped with the frame's).
fn vm_max() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes one rlimit struct we own.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } < 0 {
            return 0;
        }
        usize::try_from(limit.rlim_cur / 4).map_or(VM_MAX, |quarter| quarter.min(VM_MAX))
    })
}

/// A slot under [`vm_max`], given back when the shortcut is dropped.
pub fn reserve() -> bool {
    let max = vm_max();
    OPEN.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n < max).then_some(n + 1)
    })
    .is_ok()
}

pub struct Shortcut {
    /// The reactor's token for its socket.
    pub token: u64,
    /// The parent helper's number for it (`Gone` frames name it).
    pub seq: u64,
    pub fd: OwnedFd,
    /// Its end was read, and what the calls left on it raise, once known.
    ending: Mutex<(bool, Option<Value>)>,
    /// Calls sent whose answer has not been read.
    inflight: AtomicUsize,
    /// A fork's answer named this process since the shortcut came: a
    /// second one means the pid was reused without a new shortcut.
    claimed: AtomicBool,
    /// One frame at a time on the socket.
    send_lock: Mutex<()>,
    /// The reactor reads it (from the first call sent on it: a helper
    /// that is never called costs no epoll registration, and its end no
    /// wake-up).
    pub watched: AtomicBool,
}

impl Drop for Shortcut {
    fn drop(&mut self) {
        OPEN.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Shortcut {
    /// A shortcut on `fd`, its slot reserved (see [`reserve`]).
    pub fn new(token: u64, seq: u64, fd: OwnedFd) -> Shortcut {
        Shortcut {
            token,
            seq,
            fd,
            ending: Mutex::new((false, None)),
            inflight: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
            send_lock: Mutex::new(()),
            watched: AtomicBool::new(false),
        }
    }

    /// Send a call frame (pipeline `[]`). False when it was not sent: it
    /// goes down the tree then.
    pub fn send(&self, frame: &[u8]) -> bool {
        if frame.len() > FRAME_MAX {
            return false;
        }
        let Ok(_guard) = self.send_lock.lock() else {
            return false;
        };
        if self.inflight.load(Ordering::Acquire) >= INFLIGHT_MAX {
            return false;
        }
        let fd = self.fd.as_raw_fd();
        let mut done = 0;
        loop {
            match write_some(fd, &frame[done..]) {
                Wrote::All => break,
                // Full, or the helper gone (EPIPE) or going (the reactor
                // sees the end): this call takes the tree.
                Wrote::Part(0) | Wrote::Broken if done == 0 => return false,
                Wrote::Part(n) => {
                    done += n;
                    // Not expected under the limits above. The frame is
                    // half out: finish it, or give the shortcut up.
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    if unsafe { libc::poll(&mut pfd, 1, 5000) } <= 0 {
                        self.shut();
                        break;
                    }
                }
                // Half a frame out and the socket broke: its end answers.
                Wrote::Broken => break,
            }
        }
        self.inflight.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// An answer came on it.
    pub fn answered(&self) {
        let _ = self
            .inflight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// A fork's answer names its process: false when one did before
    /// (this shortcut is a former process's with the same pid).
    pub fn claim(&self) -> bool {
        !self.claimed.swap(true, Ordering::AcqRel)
    }

    /// Its end was read. What the calls left on it raise, when the helper
    /// has said (`gone`); None: not yet.
    pub fn ended(&self) -> Option<Value> {
        let mut ending = self.ending.lock().ok()?;
        ending.0 = true;
        ending.1.clone()
    }

    /// Its helper is gone: the calls left on it raise `reason` once the
    /// reactor has read its end, which this brings about.
    pub fn end(&self, reason: Value) {
        if let Ok(mut ending) = self.ending.lock() {
            ending.1 = Some(reason);
        }
        self.shut();
    }

    /// End it: the reactor sees the end and answers what waits on it.
    pub fn shut(&self) {
        // SAFETY: shutdown on a socket this shortcut owns.
        unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_RDWR) };
    }
}
