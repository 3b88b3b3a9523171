//! Output the NIF reads itself. When a child of the root helper execs, the
//! helper passes the read ends of the program's stdout and stderr pipes
//! up with an `Output` frame (SCM_RIGHTS) and stops reading them; the
//! output thread reads them from then on and sends the chunks to the
//! owner, with the same flow control (`Flow` frames), backpressure and
//! stream events the helper applied. The program's exit event, which the
//! helper sends once it has reaped it, waits here until what the pipes
//! held has been sent: output always comes before the exit event.

use crate::driver::{alcove_event, alcove_stderr, alcove_stdout, Driver};
use crate::reader::{deliver, deliver_output_with};
use alcove_proto::{encode_frame, Kind, Value};
use rustler::env::OwnedEnv;
use rustler::{Binary, Encoder, OwnedBinary};
use std::collections::{HashMap, VecDeque};
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Stream bits of `Output` and `Close` payloads (as the helper's).
const STDOUT: u8 = 1;
const STDERR: u8 = 2;

/// Bytes read from a pipe at a time: a pipe's default capacity.
const READ_SIZE: usize = 64 * 1024;

struct Stream {
    fd: OwnedFd,
    bit: u8,
}

/// One program whose output this driver reads.
struct Program {
    streams: Vec<Stream>,
    /// Reads left before stopping (-1: no limit), as the helper counts.
    flow: i64,
    /// Stopped by backpressure until the driver process releases it.
    held: bool,
    /// Streams whose end of file is reported (stdout_closed, stderr_closed).
    events: u8,
    /// The program ended: its exit event (None when there is none to
    /// send), kept until the output before it has gone.
    exit: Option<Option<Value>>,
}

impl Program {
    fn may_read(&self) -> bool {
        self.flow != 0 && !self.held
    }
}

pub struct Direct {
    programs: Mutex<HashMap<Vec<i32>, Program>>,
    /// Fds received from the helper, not yet claimed by their frame.
    received: Mutex<VecDeque<OwnedFd>>,
    wake_read: OwnedFd,
    wake_write: OwnedFd,
    closed: AtomicBool,
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

    fn wake(&self) {
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

    /// An `Output` frame: the program's streams are this driver's to read.
    pub fn output(&self, pipeline: &[i32], payload: &[u8]) {
        let Some((&streams, rest)) = payload.split_first() else {
            return;
        };
        let (Some(flow), Some(&events)) = (
            rest.get(..8)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes),
            rest.get(8),
        ) else {
            return;
        };
        let mut taken = Vec::new();
        if let Ok(mut queue) = self.received.lock() {
            for bit in [STDOUT, STDERR] {
                if streams & bit != 0 {
                    let Some(fd) = queue.pop_front() else {
                        return;
                    };
                    taken.push(Stream { fd, bit });
                }
            }
        }
        let program = Program {
            streams: taken,
            flow,
            held: false,
            events,
            exit: None,
        };
        if let Ok(mut programs) = self.programs.lock() {
            programs.insert(pipeline.to_vec(), program);
        }
        self.wake();
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

/// The output thread.
pub fn output_loop(driver: Arc<Driver>) {
    let direct = &driver.direct;
    let mut env = OwnedEnv::new();
    let mut pfds: Vec<libc::pollfd> = Vec::new();
    let mut keys: Vec<(Vec<i32>, u8)> = Vec::new();
    loop {
        pfds.clear();
        keys.clear();
        pfds.push(libc::pollfd {
            fd: direct.wake_read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        });
        if let Ok(programs) = direct.programs.lock() {
            for (pipeline, program) in programs.iter().filter(|(_, p)| p.may_read()) {
                for stream in &program.streams {
                    pfds.push(libc::pollfd {
                        fd: stream.fd.as_raw_fd(),
                        events: libc::POLLIN,
                        revents: 0,
                    });
                    keys.push((pipeline.clone(), stream.bit));
                }
            }
        }
        // SAFETY: pfds is a valid array of pfds.len() pollfd structs; the
        // fds stay open: only this thread closes a program's streams, and
        // the others (Close frames, exits) only mark them.
        let ready = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
        if direct.closed.load(Ordering::Acquire) {
            break;
        }
        if ready < 0 {
            continue;
        }
        if pfds[0].revents != 0 {
            drain_wake(direct.wake_read.as_raw_fd());
        }
        let Ok(mut programs) = direct.programs.lock() else {
            break;
        };
        for (pfd, (pipeline, bit)) in pfds[1..].iter().zip(&keys) {
            if pfd.revents != 0 {
                if let Some(program) = programs.get_mut(pipeline) {
                    let _ = read_stream(&driver, &mut env, pipeline, program, *bit);
                }
            }
        }
        finish_exits(&driver, &mut env, &mut programs);
    }
    if let Ok(mut programs) = direct.programs.lock() {
        programs.clear();
    }
}

fn drain_wake(fd: RawFd) {
    let mut sink = [0u8; 64];
    // SAFETY: reads into a valid local buffer until the pipe is empty.
    while unsafe { libc::read(fd, sink.as_mut_ptr().cast(), sink.len()) } > 0 {}
}

/// Read one chunk of a stream (if its flow control allows) and send it:
/// the bytes read, or None once nothing more can be read now (nothing
/// there, end of file, or flow control or backpressure stop it).
fn read_stream(
    driver: &Driver,
    env: &mut OwnedEnv,
    pipeline: &[i32],
    program: &mut Program,
    bit: u8,
) -> Option<usize> {
    if !program.may_read() {
        return None;
    }
    let pos = program.streams.iter().position(|s| s.bit == bit)?;
    let fd = program.streams[pos].fd.as_raw_fd();
    // Read straight into the binary the owner gets: no copy in between.
    let mut binary = OwnedBinary::new(READ_SIZE);
    let space = binary.as_mut_slice();
    // SAFETY: reads into a valid buffer of space.len() bytes.
    let n = unsafe { libc::read(fd, space.as_mut_ptr().cast(), space.len()) };
    if n > 0 {
        let size = n as usize;
        if program.flow > 0 {
            program.flow -= 1;
        }
        let tag = if bit == STDOUT {
            alcove_stdout()
        } else {
            alcove_stderr()
        };
        // Shrinking keeps the bytes in place; should it fail, the owner
        // gets the first `size` bytes as a sub-binary.
        let shrunk = binary.realloc(size);
        if deliver_output_with(driver, env, pipeline, tag, size, move |env| {
            let term: Binary = binary.release(env);
            match term.make_subbinary(0, size) {
                Ok(sub) if !shrunk => sub.encode(env),
                _ => term.encode(env),
            }
        }) {
            program.held = true;
        }
        return Some(size);
    }
    let errno = std::io::Error::last_os_error().raw_os_error();
    if n < 0 && matches!(errno, Some(libc::EAGAIN) | Some(libc::EINTR)) {
        return None;
    }
    // End of file (or a broken pipe end): close it and say so if asked.
    program.streams.remove(pos);
    if program.events & bit != 0 {
        let name = if bit == STDOUT {
            "stdout_closed"
        } else {
            "stderr_closed"
        };
        let event = Value::atom(name);
        deliver(driver, env, pipeline, alcove_event(), |env| {
            crate::convert::value_to_term(env, &event)
        });
    }
    None
}

/// Send the exit events whose output has gone: what each stream holds now
/// is read (not what a background process goes on writing), unless flow
/// control or backpressure hold bytes back: then the event waits. End of
/// file needs no grant.
fn finish_exits(driver: &Driver, env: &mut OwnedEnv, programs: &mut HashMap<Vec<i32>, Program>) {
    let waiting: Vec<Vec<i32>> = programs
        .iter()
        .filter(|(_, p)| p.exit.is_some())
        .map(|(path, _)| path.clone())
        .collect();
    for pipeline in waiting {
        let Some(program) = programs.get_mut(&pipeline) else {
            continue;
        };
        for bit in [STDOUT, STDERR] {
            let Some(stream) = program.streams.iter().find(|s| s.bit == bit) else {
                continue;
            };
            let mut left = available(stream.fd.as_raw_fd());
            while left > 0 {
                match read_stream(driver, env, &pipeline, program, bit) {
                    Some(n) => left = left.saturating_sub(n),
                    None => break,
                }
            }
        }
        let held_back = program
            .streams
            .iter()
            .any(|s| !program.may_read() && available(s.fd.as_raw_fd()) > 0);
        if held_back {
            continue;
        }
        if let Some(program) = programs.remove(&pipeline) {
            // The helper keeps the program's record until now. Told first:
            // a call the owner makes once it has the exit event comes after
            // this on the socket, and finds the record gone (cpid).
            driver.send(encode_frame(Kind::Done, 0, &pipeline, &[]));
            if let Some(Some(event)) = program.exit {
                crate::reader::deliver_exit(driver, env, &pipeline, &event);
            }
        }
    }
}

/// Bytes a pipe holds not read yet.
fn available(fd: RawFd) -> usize {
    let mut available: libc::c_int = 0;
    // SAFETY: FIONREAD writes one int to a valid pointer.
    let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut available) };
    if rc == 0 {
        usize::try_from(available).unwrap_or(0)
    } else {
        0
    }
}
