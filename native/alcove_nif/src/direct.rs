//! Programs whose stdio the NIF handles itself. When a child of the root
//! helper has exec'd and first writes output or is first given stdin, the
//! helper passes the read ends of the program's stdout and stderr pipes
//! (and the write end of its stdin) up with an `Output` frame
//! (SCM_RIGHTS) and stops using them; the output thread
//! (`direct_thread`) reads them from then on and sends the chunks to the
//! owner, with the same flow control (`Flow` frames), backpressure and
//! stream events the helper applied; stdin is `direct_stdin`. The program's exit event, which the
//! helper sends once it has reaped it, waits here until what the pipes
//! held has been sent: output always comes before the exit event.

use crate::direct_stdin::Stdin;
use crate::driver::Driver;
use alcove_proto::{encode_frame, Kind, Value};
use std::collections::{HashMap, VecDeque};
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

/// Stream bits of `Output` and `Close` payloads (as the helper's).
pub(crate) const STDOUT: u8 = 1;
pub(crate) const STDERR: u8 = 2;
pub(crate) const STDIN: u8 = 4;

pub(crate) struct Stream {
    /// Shared with a read in progress, which the output thread makes
    /// without the table locked: the fd stays open until that read is
    /// done, even if a `Close` frame drops the stream meanwhile.
    pub(crate) fd: Arc<OwnedFd>,
    pub(crate) bit: u8,
    /// Bytes read from it until its pipe is grown (see
    /// `direct_thread::GROWN_PIPE`); u64::MAX once grown or tried.
    pub(crate) read: u64,
    /// Its pipe's place among the grown ones, once grown.
    pub(crate) grown: Option<crate::direct_thread::Grown>,
}

impl Stream {
    /// Bytes to read from it at a time: more once its pipe is grown.
    pub(crate) fn read_size(&self) -> usize {
        use crate::direct_thread::{GROWN_READ_SIZE, READ_SIZE};
        if self.grown.is_some() {
            GROWN_READ_SIZE
        } else {
            READ_SIZE
        }
    }
}

/// One program whose output this driver reads.
pub(crate) struct Program {
    pub(crate) streams: Vec<Stream>,
    /// Reads left before stopping (-1: no limit), as the helper counts.
    pub(crate) flow: i64,
    /// Stopped by backpressure until the driver process releases it.
    pub(crate) held: bool,
    /// Streams whose end of file is reported (stdout_closed, stderr_closed).
    pub(crate) events: u8,
    /// The program ended: its exit event (None when there is none to
    /// send), kept until the output before it has gone.
    pub(crate) exit: Option<Option<Value>>,
    /// Its stdin, when that was passed too; locked on its own, so that a
    /// write to it does not hold up the reading of every program's output.
    pub(crate) stdin: Option<Arc<SharedStdin>>,
    /// Writes refused (`{alcove_pipe, ...}` to send), bytes taken of each.
    pub(crate) refused: Vec<i64>,
}

impl Program {
    pub(crate) fn may_read(&self) -> bool {
        self.flow != 0 && !self.held
    }

    /// `change` applied to its stdin (locked); None when it has none.
    pub(crate) fn with_stdin<R>(&self, change: impl FnOnce(&mut Stdin) -> R) -> Option<R> {
        self.stdin.as_ref()?.with(change)
    }
}

/// A program's stdin, and whether bytes wait for its pipe to take more:
/// that, the output thread reads without the lock, which a scheduler
/// writing to the pipe may be holding.
pub(crate) struct SharedStdin {
    stdin: Mutex<Stdin>,
    /// The pipe's fd while bytes wait for it, else -1.
    waiting_on: AtomicI32,
    /// The pipe has taken bytes written here.
    fed: AtomicBool,
}

impl SharedStdin {
    fn new(stdin: Stdin) -> SharedStdin {
        SharedStdin {
            stdin: Mutex::new(stdin),
            waiting_on: AtomicI32::new(-1),
            fed: AtomicBool::new(false),
        }
    }

    /// `change` applied with the stdin locked; what waits is noted before
    /// the lock is let go. None if a panic poisoned the lock.
    pub(crate) fn with<R>(&self, change: impl FnOnce(&mut Stdin) -> R) -> Option<R> {
        let mut stdin = self.stdin.lock().ok()?;
        let result = change(&mut stdin);
        self.waiting_on
            .store(stdin.wants_write().unwrap_or(-1), Ordering::Release);
        if stdin.fed() {
            self.fed.store(true, Ordering::Release);
        }
        Some(result)
    }

    /// Whether the pipe has taken bytes written by the NIF.
    pub(crate) fn fed(&self) -> bool {
        self.fed.load(Ordering::Acquire)
    }

    /// The fd to wait on for the pipe to take more, if bytes wait for it.
    pub(crate) fn wants_write(&self) -> Option<RawFd> {
        let fd = self.waiting_on.load(Ordering::Acquire);
        (fd >= 0).then_some(fd)
    }
}

pub struct Direct {
    pub(crate) programs: Mutex<HashMap<Vec<i32>, Program>>,
    /// Fds received from the helper, not yet claimed by their frame.
    pub(crate) received: Mutex<VecDeque<OwnedFd>>,
    pub(crate) wake_read: OwnedFd,
    pub(crate) wake_write: OwnedFd,
    pub(crate) closed: AtomicBool,
}

impl Direct {
    pub fn new() -> std::io::Result<Direct> {
        let mut fds = [0 as RawFd; 2];
        // SAFETY: pipe2 writes two fds into the array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both fds were just made by pipe2 and are owned by nothing else.
        let (wake_read, wake_write) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        Ok(Direct {
            programs: Mutex::new(HashMap::new()),
            received: Mutex::new(VecDeque::new()),
            wake_read,
            wake_write,
            closed: AtomicBool::new(false),
        })
    }

    /// Have the output thread look again (an owner exited: the programs it
    /// held back may be done).
    pub fn wake(&self) {
        let byte = 1u8;
        // SAFETY: one byte from a valid buffer; a full pipe already wakes.
        unsafe { libc::write(self.wake_write.as_raw_fd(), (&byte as *const u8).cast(), 1) };
    }

    /// Fds that came with the helper's bytes, in order.
    pub fn received(&self, fds: Vec<OwnedFd>) {
        if let Ok(mut queue) = self.received.lock() {
            queue.extend(fds);
        }
    }

    /// The next fd that came with the helper's bytes (a `Shortcut`
    /// frame's).
    pub fn take_received(&self) -> Option<OwnedFd> {
        self.received.lock().ok()?.pop_front()
    }

    /// An `Output` frame: the program's streams are this driver's to read
    /// (and its stdin to write, when passed). Payload: `u8 streams`, `i64
    /// flowcontrol`, `u8 events`, `u64 stdin limit`.
    pub fn output(&self, driver: &Driver, pipeline: &[i32], payload: &[u8]) {
        let field = |at: usize| {
            payload
                .get(at..at + 8)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes)
        };
        let (Some(&streams), Some(flow), Some(&events), Some(limit)) =
            (payload.first(), field(1), payload.get(9), field(10))
        else {
            return;
        };
        let mut taken = Vec::new();
        let mut stdin = None;
        if let Ok(mut queue) = self.received.lock() {
            for bit in [STDOUT, STDERR, STDIN] {
                if streams & bit != 0 {
                    let Some(fd) = queue.pop_front() else {
                        return;
                    };
                    if bit == STDIN {
                        stdin = Some(Arc::new(SharedStdin::new(Stdin::new(
                            fd,
                            usize::try_from(limit).unwrap_or(usize::MAX),
                        ))));
                    } else {
                        taken.push(Stream {
                            fd: Arc::new(fd),
                            bit,
                            read: 0,
                            grown: None,
                        });
                    }
                }
            }
        }
        let syncing = stdin.is_some();
        let program = Program {
            streams: taken,
            flow: flow as i64,
            held: false,
            events,
            exit: None,
            stdin,
            refused: Vec::new(),
        };
        if let Ok(mut programs) = self.programs.lock() {
            programs.insert(pipeline.to_vec(), program);
            if syncing {
                // Bytes sent through the helper before it let go come back
                // ahead of this mark. Sent with the table locked: a stdin
                // write that found no program here sent its bytes first.
                driver.send(encode_frame(Kind::Mark, 0, pipeline, &[]));
            }
        }
        self.wake();
    }

    /// Bytes for a program's stdin: written here when it is this
    /// driver's, else handed to `relay` (through the helper); true unless
    /// the driver is closed. The
    /// output thread is woken only when it has something to do: a queue
    /// to flush or a refusal to report.
    pub fn stdin(&self, pipeline: &[i32], data: &[u8], relay: impl FnOnce(&[u8]) -> bool) -> bool {
        let stdin = {
            let Ok(programs) = self.programs.lock() else {
                return relay(data);
            };
            // Relayed with the table locked, so that these bytes reach the
            // helper before a mark for this program can.
            match programs.get(pipeline).and_then(|p| p.stdin.clone()) {
                Some(stdin) => stdin,
                None => return relay(data),
            }
        };
        // Written with only this program's stdin locked (the table is
        // not: the output thread goes on reading meanwhile). In chunks, as
        // through the helper: each chunk is taken or refused on its own
        // (and reported).
        let mut refused = Vec::new();
        stdin.with(|stdin| {
            for chunk in data.chunks(alcove_proto::STDIO_CHUNK) {
                if let Some(written) = stdin.write(chunk) {
                    refused.push(written);
                }
            }
        });
        let wake = !refused.is_empty() || stdin.wants_write().is_some();
        if !refused.is_empty() {
            if let Ok(mut programs) = self.programs.lock() {
                if let Some(program) = programs.get_mut(pipeline) {
                    program.refused.extend(refused);
                }
            }
        }
        if wake {
            self.wake();
        }
        true
    }

    /// Bytes the helper had taken for a program's stdin before it passed
    /// it, sent back.
    pub fn bounced(&self, pipeline: &[i32], data: &[u8]) {
        self.update(pipeline, |program| {
            program.with_stdin(|stdin| stdin.bounced(data));
        });
    }

    /// The helper's answer to the mark: its bytes have all come back.
    /// The helper's answer to a mark: payload `u64`, the bytes of stdin it
    /// took for the program, all in the pipe now.
    pub fn marked(&self, pipeline: &[i32], payload: &[u8]) {
        let taken = payload.try_into().map(u64::from_be_bytes).unwrap_or(0);
        self.update(pipeline, |program| {
            let Some(refused) = program.with_stdin(|stdin| stdin.marked(taken)) else {
                return;
            };
            program.refused.extend(refused);
        });
    }

    /// A `Flow` frame: the program's flow control was set.
    pub fn flow(&self, pipeline: &[i32], payload: &[u8]) {
        let Some(flow) = payload.try_into().ok().map(i64::from_be_bytes) else {
            return;
        };
        self.update(pipeline, |program| program.flow = flow);
    }

    /// A `Close` frame: eof/3 closed a stream, or (no stream) the program
    /// ended without an exit event.
    pub fn close_stream(&self, pipeline: &[i32], payload: &[u8]) {
        match payload.first().copied() {
            Some(0) => self.update(pipeline, |program| program.exit = Some(None)),
            Some(STDIN) => self.update(pipeline, |program| {
                program.with_stdin(Stdin::close);
            }),
            Some(bit) => self.update(pipeline, |program| program.streams.retain(|s| s.bit != bit)),
            None => false,
        };
    }

    /// Backpressure let go of a program's output. False if it is not one
    /// of this driver's.
    pub fn release(&self, pipeline: &[i32]) -> bool {
        self.update(pipeline, |program| program.held = false)
    }

    /// An exit event: kept (true) when it is a program whose output is
    /// read here, to go once that output has.
    pub fn exited(&self, pipeline: &[i32], event: &Value) -> bool {
        self.update(pipeline, |program| program.exit = Some(Some(event.clone())))
    }

    fn update(&self, pipeline: &[i32], change: impl FnOnce(&mut Program)) -> bool {
        let found = match self.programs.lock() {
            Ok(mut programs) => programs.get_mut(pipeline).map(change).is_some(),
            Err(_) => false,
        };
        if found {
            self.wake();
        }
        found
    }

    /// The helper is gone: the output thread ends and the fds close.
    pub fn shut(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake();
    }
}
