//! A program's stdin written by the NIF itself, once the helper has passed
//! its write end up with the program's output (`direct`). Bytes keep the
//! order they were given in: those the caller sent through the helper
//! before the hand-over are written by the helper, which answers a `Mark`
//! the NIF asks for once they are all in the pipe (saying how many there
//! were); until that answer, new bytes wait here. (Bytes the helper sends
//! back up, `Stdin` frames, go first; it sends none now.) The queue and
//! its limit are the helper's (`stdin_queue` option):
//! past the limit the rest of a write is refused with `{alcove_pipe, Drv,
//! Pipeline, Written}`, as the helper does.

use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};

/// Most bytes kept while waiting for the helper's mark (the window is one
/// round trip); past it a write is refused whole.
const SYNC_MAX: usize = 64 << 20;

pub struct Stdin {
    fd: Option<OwnedFd>,
    /// Bytes the pipe has not taken yet, from `start`.
    queue: Vec<u8>,
    start: usize,
    limit: usize,
    /// Waiting for the helper's mark: bytes sent through it come first.
    syncing: bool,
    /// Writes sent back by the helper, then writes made here meanwhile,
    /// each taken or refused at the mark as it would have been then.
    bounced: Vec<Vec<u8>>,
    waiting: Vec<Vec<u8>>,
    waiting_bytes: usize,
    /// eof asked: close once the queue has drained.
    close_pending: bool,
    /// Bytes written until the pipe is grown (as output pipes are, see
    /// `direct_thread::GROWN_PIPE`); u64::MAX once grown or tried.
    written: u64,
    grown: Option<crate::direct_thread::Grown>,
}

/// How a write went: refused past `Written` bytes, or not at all.
pub type Refused = Option<i64>;

impl Stdin {
    pub fn new(fd: OwnedFd, limit: usize) -> Stdin {
        Stdin {
            fd: Some(fd),
            queue: Vec::new(),
            start: 0,
            limit,
            syncing: true,
            bounced: Vec::new(),
            waiting: Vec::new(),
            waiting_bytes: 0,
            close_pending: false,
            written: 0,
            grown: None,
        }
    }

    fn queued(&self) -> usize {
        self.queue.len() - self.start
    }

    /// Bytes from the caller.
    pub fn write(&mut self, data: &[u8]) -> Refused {
        if self.fd.is_none() || self.close_pending {
            return Some(0);
        }
        if self.syncing {
            if self.waiting_bytes + data.len() > SYNC_MAX {
                return Some(0);
            }
            self.waiting_bytes += data.len();
            self.waiting.push(data.to_vec());
            return None;
        }
        let mut rest = data;
        if self.queued() == 0 {
            match self.write_now(rest) {
                Ok(n) => rest = &rest[n..],
                Err(()) => return Some(0),
            }
        }
        if rest.is_empty() {
            return None;
        }
        if self.queued() + rest.len() > self.limit {
            // What the pipe took stays written; the rest is refused.
            return Some((data.len() - rest.len()) as i64);
        }
        self.queue.extend_from_slice(rest);
        None
    }

    /// Bytes the helper had taken before the hand-over, sent back.
    pub fn bounced(&mut self, data: &[u8]) {
        if self.syncing {
            self.bounced.push(data.to_vec());
        } else {
            // Not expected: bytes relayed before the mark come back before
            // it. Should one come later, it is written, not lost.
            let _ = self.write(data);
        }
    }

    /// The helper's answer to the mark: every byte sent through it is in
    /// the pipe (`taken` of them). The writes kept meanwhile go now, in
    /// order; the refusals they meet are returned (bytes taken of each).
    pub fn marked(&mut self, taken: u64) -> Vec<i64> {
        if !self.syncing {
            return Vec::new();
        }
        self.syncing = false;
        // The bytes the helper wrote count towards growing the pipe (and
        // make the program a fed one) as if written here.
        if self.written != u64::MAX {
            self.written = self.written.saturating_add(taken).min(u64::MAX - 1);
        }
        let writes = std::mem::take(&mut self.bounced)
            .into_iter()
            .chain(std::mem::take(&mut self.waiting));
        self.waiting_bytes = 0;
        // An eof asked meanwhile came after these writes: it closes once
        // they have gone, it does not refuse them.
        let closing = std::mem::replace(&mut self.close_pending, false);
        let refused = writes.filter_map(|chunk| self.write(&chunk)).collect();
        self.close_pending = closing;
        self.flush();
        refused
    }

    /// eof/2: close once what is queued has gone.
    pub fn close(&mut self) {
        self.close_pending = true;
        self.flush();
    }

    /// Whether the pipe has taken any bytes written here.
    pub fn fed(&self) -> bool {
        self.written != 0
    }

    /// Whether the output thread should wait for the pipe to take more.
    pub fn wants_write(&self) -> Option<i32> {
        match &self.fd {
            Some(fd) if !self.syncing && self.queued() > 0 => Some(fd.as_raw_fd()),
            _ => None,
        }
    }

    /// Write what the pipe takes of the queue; close when asked and done.
    pub fn flush(&mut self) {
        if self.syncing {
            return;
        }
        while self.queued() > 0 {
            let Some(fd) = self.fd.as_ref().map(AsRawFd::as_raw_fd) else {
                break;
            };
            match write_raw(fd, &self.queue[self.start..]) {
                Ok(0) => break,
                Ok(n) => {
                    self.start += n;
                    self.wrote(fd, n);
                }
                Err(()) => {
                    // The reader went away: nothing more can be delivered.
                    self.fd = None;
                    self.queue.clear();
                    self.start = 0;
                    break;
                }
            }
        }
        if self.queued() == 0 {
            self.queue.clear();
            self.start = 0;
            if self.close_pending {
                self.fd = None;
            }
        }
    }

    /// One non-blocking write; Err when the pipe is broken (then closed).
    fn write_now(&mut self, bytes: &[u8]) -> Result<usize, ()> {
        let fd = self.fd.as_ref().map(AsRawFd::as_raw_fd).ok_or(())?;
        let n = write_raw(fd, bytes).inspect_err(|_| self.fd = None)?;
        self.wrote(fd, n);
        Ok(n)
    }

    /// Count bytes the pipe took; past `GROW_AFTER`, grow it once.
    fn wrote(&mut self, fd: RawFd, n: usize) {
        crate::direct_thread::count_and_grow(fd, &mut self.written, &mut self.grown, n, true);
    }
}

/// write(2) that does not block: 0 when the pipe is full, Err when broken.
fn write_raw(fd: RawFd, bytes: &[u8]) -> Result<usize, ()> {
    loop {
        // SAFETY: writes from a valid slice to an open fd.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Ok(0),
            _ => return Err(()),
        }
    }
}
