//! Frames to the helper. The calling scheduler writes the socket directly
//! when nothing is queued (no thread hop on the common path); what does not
//! fit goes to a queue that a writer thread drains when the socket has room.

use std::collections::VecDeque;
use std::os::unix::io::RawFd;
use std::sync::{Condvar, Mutex};

#[derive(Default)]
struct Queue {
    frames: VecDeque<Vec<u8>>,
    /// Bytes of the front frame already written.
    offset: usize,
    /// Bytes of every frame queued.
    bytes: usize,
    closed: bool,
}

pub struct Writer {
    fd: RawFd,
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// How far a non-blocking write got.
pub(crate) enum Wrote {
    All,
    /// The socket is full after this many bytes.
    Part(usize),
    Broken,
}

/// send(2) without blocking until all is written, the socket is full or
/// it broke.
pub(crate) fn write_some(fd: RawFd, bytes: &[u8]) -> Wrote {
    let mut done = 0;
    while done < bytes.len() {
        // SAFETY: bytes[done..] is a valid readable slice.
        let n = unsafe {
            libc::send(
                fd,
                bytes[done..].as_ptr().cast(),
                bytes.len() - done,
                libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
            )
        };
        if n > 0 {
            done += n as usize;
            continue;
        }
        match std::io::Error::last_os_error().raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EAGAIN) => return Wrote::Part(done),
            _ => return Wrote::Broken,
        }
    }
    Wrote::All
}

impl Writer {
    pub fn new(fd: RawFd) -> Writer {
        Writer {
            fd,
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
        }
    }

    /// Send a frame, in order with every frame sent before it. Never blocks
    /// on the socket. False when the channel is closed.
    pub fn send(&self, frame: Vec<u8>) -> bool {
        let Ok(mut queue) = self.queue.lock() else {
            return false;
        };
        if queue.closed {
            return false;
        }
        if queue.frames.is_empty() {
            match write_some(self.fd, &frame) {
                Wrote::All => return true,
                Wrote::Part(n) => queue.offset = n,
                Wrote::Broken => {
                    queue.closed = true;
                    return false;
                }
            }
        }
        queue.bytes += frame.len();
        queue.frames.push_back(frame);
        self.ready.notify_one();
        true
    }

    /// Bytes waiting for the socket (0 once closed).
    pub fn queued(&self) -> usize {
        self.queue
            .lock()
            .map_or(0, |q| if q.closed { 0 } else { q.bytes })
    }

    pub fn close(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.closed = true;
            queue.frames.clear();
            queue.bytes = 0;
        }
        self.ready.notify_all();
    }

    /// The writer thread: drain the queue whenever the socket has room.
    pub fn run(&self) {
        loop {
            let Ok(mut queue) = self.queue.lock() else {
                return;
            };
            while queue.frames.is_empty() && !queue.closed {
                queue = match self.ready.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
            if queue.closed {
                return;
            }
            while let Some(front) = queue.frames.front() {
                let offset = queue.offset;
                match write_some(self.fd, &front[offset..]) {
                    Wrote::All => {
                        let len = front.len();
                        queue.frames.pop_front();
                        queue.offset = 0;
                        queue.bytes -= len;
                    }
                    Wrote::Part(n) => {
                        queue.offset += n;
                        break;
                    }
                    Wrote::Broken => {
                        queue.closed = true;
                        queue.frames.clear();
                        queue.bytes = 0;
                        return;
                    }
                }
            }
            if queue.frames.is_empty() {
                continue;
            }
            drop(queue);
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLOUT,
                revents: 0,
            };
            // SAFETY: one valid pollfd; the timeout bounds the wait so close() is noticed.
            unsafe { libc::poll(&mut pfd, 1, 100) };
        }
    }
}
