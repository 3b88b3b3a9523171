//! The output thread of a driver: it reads the programs' output pipes
//! the driver holds (see `direct`), writes their stdin queues as the pipes
//! take them, and sends each exit event once the output before it has gone.

use crate::direct::{Program, STDERR, STDIN, STDOUT};
use crate::direct_stdin::Stdin;
use crate::driver::{alcove_event, alcove_pipe, alcove_stderr, alcove_stdout, Driver};
use crate::reader::{deliver, deliver_output_with};
use crate::routes::Owner;
use alcove_proto::{encode_frame, Kind, Value};
use rustler::env::OwnedEnv;
use rustler::{Binary, Encoder, OwnedBinary};
use std::collections::HashMap;
use std::os::unix::io::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Bytes read from a pipe at a time: a pipe's default capacity.
pub(crate) const READ_SIZE: usize = 64 * 1024;

/// Bytes read at a time from a grown pipe (a program streaming): half as
/// many messages and wake-ups as [`READ_SIZE`]; a `cat` echo went about
/// 11 % faster (medians of five alternating pairs of VMs).
pub(crate) const GROWN_READ_SIZE: usize = 128 * 1024;

/// A read of a streaming program's pipe (past [`GROW_AFTER`]) that took
/// less than this found a program writing in small pieces (`head` writes
/// 8 KiB at a time) and this thread keeping up with it: every read then
/// takes the pipe's lock while the writer spins on it, 13–23 KiB at a
/// time. Yielding the CPU after such a read lets the writer fill more:
/// reads of 40–55 KiB, stdout 14 % faster (medians of five alternating
/// runs: 1,751 against 1,540 MB/s, a bare port 1,649), the echo
/// unchanged; no slower with one or two busy loops beside it.
const SHORT_READ: usize = 32 * 1024;

/// Bytes through a pipe (read from stdout or stderr, written to stdin)
/// before it is grown: a program streaming, not one answering a command
/// now and then.
const GROW_AFTER: u64 = 256 * 1024;

/// The capacity a pipe is grown to once [`GROW_AFTER`] bytes have gone
/// through it: the program then writes on while its earlier output is
/// sent (reads on while more input is written), instead of waiting on
/// the pipe's lock and a wake-up per 64 KiB. A `cat` echo goes about
/// twice as fast: `cat` writes 128 KiB at a time and would block half-way
/// in a 64 KiB pipe. Linux's default `pipe-max-size`; refused (and left
/// as it is) past the pipe owner's `pipe-user-pages` limits.
///
/// Output pipes grow only while the program has no flow control limit
/// (flowcontrol -1, the default; one held back by backpressure would then
/// block after this much unread output rather than 64 KiB), and only once
/// the program has been fed through stdin: a program that only writes (a
/// producer, `head`) is read as a port reads it, from a 64 KiB pipe that
/// it fills while this thread yields, and streamed 7–23 % faster that way
/// (medians of three sets of 10–12 alternating VMs) than from a grown pipe
/// it never fills. A grown stdin pipe takes this much before
/// `stdin_queue` counts.
const GROWN_PIPE: libc::c_int = 1 << 20;

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
            for (pipeline, program) in programs.iter() {
                let wants = program.stdin.as_ref().and_then(|stdin| stdin.wants_write());
                if let Some(fd) = wants {
                    pfds.push(libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    });
                    keys.push((pipeline.clone(), STDIN));
                }
            }
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
        // The table is locked only around each step, never across a read
        // or a write: a stdin write and this thread's reads of other
        // streams go on meanwhile.
        for (pfd, (pipeline, bit)) in pfds[1..].iter().zip(&keys) {
            if pfd.revents == 0 {
                continue;
            }
            if *bit == STDIN {
                let stdin = match direct.programs.lock() {
                    Ok(programs) => programs.get(pipeline).and_then(|p| p.stdin.clone()),
                    Err(_) => None,
                };
                if let Some(stdin) = stdin {
                    stdin.with(Stdin::flush);
                }
                continue;
            }
            let fd = match direct.programs.lock() {
                Ok(programs) => programs
                    .get(pipeline)
                    .filter(|p| p.may_read())
                    .and_then(|p| p.streams.iter().find(|s| s.bit == *bit))
                    .map(|s| (s.fd.clone(), s.read_size(), s.read >= GROW_AFTER)),
                Err(_) => None,
            };
            let Some((fd, size, streaming)) = fd else {
                continue;
            };
            let read = read_chunk(fd.as_raw_fd(), size);
            let short = matches!(read, Read::Data(_, n) if n < SHORT_READ) && streaming;
            if let Ok(mut programs) = direct.programs.lock() {
                if let Some(program) = programs.get_mut(pipeline) {
                    let _ = took(&driver, &mut env, pipeline, program, *bit, read);
                }
            }
            if short {
                // A streaming program writing less at a time than this
                // thread takes: let it run first if it shares this CPU,
                // rather than take its pipe's lock again at once.
                std::thread::yield_now();
            }
        }
        let Ok(mut programs) = direct.programs.lock() else {
            break;
        };
        for (pipeline, program) in programs.iter_mut() {
            for written in program.refused.drain(..) {
                deliver(&driver, &mut env, pipeline, alcove_pipe(), |env| {
                    written.encode(env)
                });
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
    let stream = program.streams.iter().find(|s| s.bit == bit)?;
    let read = read_chunk(stream.fd.as_raw_fd(), stream.read_size());
    took(driver, env, pipeline, program, bit, read)
}

/// What one read of a stream gave.
enum Read {
    Data(OwnedBinary, usize),
    /// Nothing there now (or interrupted).
    Nothing,
    /// End of file, or a broken pipe end.
    End,
}

/// One read of up to `size` bytes of an output pipe, straight into the
/// binary the owner gets (no copy in between). Needs no lock: the caller
/// holds the fd open.
fn read_chunk(fd: RawFd, size: usize) -> Read {
    let mut binary = OwnedBinary::new(size);
    let space = binary.as_mut_slice();
    // SAFETY: reads into a valid buffer of space.len() bytes.
    let n = unsafe { libc::read(fd, space.as_mut_ptr().cast(), space.len()) };
    if n > 0 {
        return Read::Data(binary, n as usize);
    }
    let errno = std::io::Error::last_os_error().raw_os_error();
    if n < 0 && matches!(errno, Some(libc::EAGAIN) | Some(libc::EINTR)) {
        return Read::Nothing;
    }
    Read::End
}

/// Account for a read of `program`'s stream `bit` and send what it gave:
/// the bytes read, or None once nothing more can be read now. The stream
/// may have been dropped (eof/3) since the read: its bytes still go.
fn took(
    driver: &Driver,
    env: &mut OwnedEnv,
    pipeline: &[i32],
    program: &mut Program,
    bit: u8,
    read: Read,
) -> Option<usize> {
    let pos = program.streams.iter().position(|s| s.bit == bit);
    if let Read::Data(mut binary, size) = read {
        // Not while a flow control limit paces the program: there a
        // pipe's worth is what it may write ahead of the grants.
        let fed = program.stdin.as_ref().is_some_and(|stdin| stdin.fed());
        if let (true, Some(pos)) = (program.flow < 0, pos) {
            let stream = &mut program.streams[pos];
            let fd = stream.fd.as_raw_fd();
            count_and_grow(fd, &mut stream.read, &mut stream.grown, size, fed);
        }
        if program.flow > 0 {
            program.flow -= 1;
            // The helper's count follows (getcpid), before the owner has
            // the chunk and can ask.
            driver.send(encode_frame(
                Kind::Flow,
                0,
                pipeline,
                &program.flow.to_be_bytes(),
            ));
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
    let (Read::End, Some(pos)) = (read, pos) else {
        return None;
    };
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
        // Its owner gone, no grant or release will come: what is left is
        // dropped, as that owner's messages are.
        let held_back = !owner_gone(driver, &pipeline)
            && program
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

fn owner_gone(driver: &Driver, pipeline: &[i32]) -> bool {
    driver
        .routes
        .lock()
        .is_ok_and(|routes| routes.owner_of(pipeline) == Some(Owner::Gone))
}

/// Pipes grown at most at once, over every driver in the VM. The kernel
/// counts a pipe's capacity against the user who made it (the helper's),
/// and past `pipe-user-pages-soft` (64 MiB by default) it gives every new
/// pipe of an unprivileged user 8 KiB: 16 MiB of grown pipes leave the
/// rest of that user's pipes their room.
const GROWN_MAX: usize = 16;

static GROWN: AtomicUsize = AtomicUsize::new(0);

/// One of the [`GROWN_MAX`] grown pipes, given back when dropped (with the
/// stream or stdin that holds it).
pub(crate) struct Grown(());

impl Drop for Grown {
    fn drop(&mut self) {
        GROWN.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How growing a pipe went.
pub(crate) enum Growth {
    Grown(Grown),
    /// The kernel refused: not tried again.
    Refused,
    /// [`GROWN_MAX`] pipes are grown: tried again later.
    Busy,
}

/// Grow a pipe to [`GROWN_PIPE`]; a refusal leaves it as it was.
pub(crate) fn grow_pipe(fd: RawFd) -> Growth {
    let slot = GROWN.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
        (n < GROWN_MAX).then_some(n + 1)
    });
    if slot.is_err() {
        return Growth::Busy;
    }
    let grown = Grown(());
    // SAFETY: fcntl(2) on an open fd; F_SETPIPE_SZ changes only the
    // pipe's capacity.
    match unsafe { libc::fcntl(fd, libc::F_SETPIPE_SZ, GROWN_PIPE) } {
        rc if rc >= 0 => Growth::Grown(grown),
        _ => Growth::Refused,
    }
}

/// Count `n` more bytes through a pipe and grow it once past
/// [`GROW_AFTER`]; `through` is u64::MAX once grown or refused.
pub(crate) fn count_and_grow(
    fd: RawFd,
    through: &mut u64,
    grown: &mut Option<Grown>,
    n: usize,
    may_grow: bool,
) {
    if *through == u64::MAX {
        return;
    }
    *through = through.saturating_add(n as u64);
    if *through < GROW_AFTER || !may_grow {
        return;
    }
    match grow_pipe(fd) {
        Growth::Grown(token) => {
            *grown = Some(token);
            *through = u64::MAX;
        }
        Growth::Refused => *through = u64::MAX,
        Growth::Busy => {}
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
