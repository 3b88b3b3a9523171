//! alcove_nif: starts the helper and carries calls to it and replies,
//! events and output back, from threads of its own.

mod convert;
mod direct;
mod direct_stdin;
mod direct_thread;
mod driver;
mod reactor;
mod reader;
mod registry;
mod routes;
mod shortcut;
mod spawn;
mod writer;

use convert::{decode_pipeline, term_to_value};
use driver::{CallNumbers, CallRefused, Driver, DriverResource};
use registry::lookup;
use rustler::{Binary, Encoder, Env, Error, LocalPid, NifResult, ResourceArc, Term};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

rustler::atoms! {
    ok,
    error,
    not_owner,
}

fn socketpair() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a valid array of two ints.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Start the helper. `argv` is the full command (prefix such as sudo
/// included); the socket becomes its stdin and stdout.
#[rustler::nif]
#[allow(clippy::too_many_arguments)]
fn start<'a>(
    env: Env<'a>,
    drv: LocalPid,
    owner: LocalPid,
    argv: Vec<Binary>,
    envs: Vec<(Binary, Binary)>,
    numbers: (u16, u16, u16, u16, Vec<u16>),
    owner_exit_signal: i32,
) -> NifResult<Term<'a>> {
    let os = |b: &Binary| std::ffi::OsString::from_vec(b.as_slice().to_vec());
    if argv.is_empty() {
        return Err(Error::BadArg);
    }
    let (ours, theirs) = socketpair().map_err(|e| Error::Term(Box::new(e.to_string())))?;
    let argv: Vec<_> = argv.iter().map(os).collect();
    let envs: Vec<_> = envs.iter().map(|(k, v)| (os(k), os(v))).collect();
    let child = match spawn::spawn(&argv, &envs, &theirs) {
        Ok(child) => child,
        Err(errno) => return Ok((error(), errno).encode(env)),
    };
    drop(theirs);
    // Reads are the reactor thread's (one for every driver); writes never
    // block (MSG_DONTWAIT).
    let driver = Arc::new(Driver {
        drv,
        owner,
        writer: writer::Writer::new(ours.as_raw_fd()),
        socket: ours,
        routes: Mutex::new(Default::default()),
        next_id: AtomicU64::new(1),
        numbers: CallNumbers {
            fork: numbers.0,
            clone: numbers.1,
            kill: numbers.2,
            fork_exec: numbers.3,
            tree_only: numbers.4,
        },
        helper_pid: child.pid as u32,
        exit: Mutex::new(Default::default()),
        exited: Condvar::new(),
        owner_exit_signal,
        direct: crate::direct::Direct::new().map_err(|e| Error::Term(Box::new(e.to_string())))?,
        shortcuts: Mutex::new(Default::default()),
        ending: Mutex::new(Default::default()),
    });
    let resource = ResourceArc::new(DriverResource {
        driver: driver.clone(),
    });
    resource.monitor(Some(env), &drv);
    registry::insert(drv, resource.clone());
    let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new().name(name.into()).spawn(f)
    };
    let (d1, d2, d3, d4, r1) = (
        driver.clone(),
        driver.clone(),
        driver.clone(),
        driver.clone(),
        resource.clone(),
    );
    let started = reactor::register(d1, r1)
        .map_err(std::io::Error::other)
        .and_then(|_| spawn("alcove_writer", Box::new(move || d2.writer.run())))
        .and_then(|_| {
            spawn(
                "alcove_output",
                Box::new(move || direct_thread::output_loop(d4)),
            )
        })
        .and_then(|_| {
            spawn(
                "alcove_reaper",
                Box::new(move || driver::reap_loop(d3, child)),
            )
        });
    if let Err(e) = started {
        driver.close();
        return Err(Error::Term(Box::new(e.to_string())));
    }
    Ok((ok(), resource, driver.helper_pid).encode(env))
}

/// How long a closed helper has to shut its tree down before it and its
/// process group are killed.
const STOP_GRACE: Duration = Duration::from_millis(600);

/// Close the channel and wait for the helper (and so its tree) to be gone.
/// A helper that has not gone within [`STOP_GRACE`] (blocked in a call,
/// say) is killed with its process group: its other descendants die with
/// their parents (parent-death signal).
#[rustler::nif(schedule = "DirtyIo")]
fn stop(resource: ResourceArc<DriverResource>, timeout_ms: u64) -> bool {
    let driver = &resource.driver;
    driver.close();
    let timeout = Duration::from_millis(timeout_ms);
    let mut gone = driver.wait_exit(timeout.min(STOP_GRACE));
    if !gone {
        driver.kill_helper_group();
        gone = driver.wait_exit(timeout.saturating_sub(STOP_GRACE));
    }
    registry::remove(driver.drv);
    gone
}

/// Send a call; returns its request id. badarg for terms that cannot travel.
#[rustler::nif]
fn call(env: Env, drv: LocalPid, pipeline: Term, number: u32, args: Term) -> NifResult<u64> {
    // Taken wide and checked: a u16 argument would be cut to 16 bits, and
    // getpid's number plus 65,536 would run getpid.
    let number = u16::try_from(number).map_err(|_| Error::BadArg)?;
    let resource = lookup(drv)?;
    let driver = &resource.driver;
    let pipeline = decode_pipeline(pipeline, alcove_proto::MAX_DEPTH).map_err(|_| Error::BadArg)?;
    let mut budget = convert::ARGS_BUDGET;
    let args = term_to_value(args, 0, &mut budget).map_err(|_| Error::BadArg)?;
    driver
        .call(&resource, env.pid(), pipeline, number, &args)
        .map_err(|refused| match refused {
            CallRefused::TooLarge => Error::BadArg,
            CallRefused::Closed => Error::RaiseAtom("closed"),
        })
}

/// Write iodata to a child's stdin, chunked and in order.
#[rustler::nif]
fn stdin(drv: LocalPid, pipeline: Term, data: Term) -> NifResult<rustler::Atom> {
    let resource = lookup(drv)?;
    let driver = &resource.driver;
    let pipeline = decode_pipeline(pipeline, alcove_proto::MAX_DEPTH).map_err(|_| Error::BadArg)?;
    // A binary is read where it is; only an iolist is flattened (rustler's
    // from_iolist copies even a binary into a new one).
    let bytes = match Binary::from_term(data) {
        Ok(binary) => binary,
        Err(_) => Binary::from_iolist(data).map_err(|_| Error::BadArg)?,
    };
    driver.stdin(&pipeline, bytes.as_slice());
    Ok(ok())
}

/// Past this many bytes queued for the helper, a large stdin write waits
/// (on its dirty scheduler) for the queue to drain.
const STDIN_STREAM_QUEUE: usize = 64 << 20;

/// Write large iodata to a child's stdin, on a dirty scheduler, without
/// flattening it: chunk by chunk as the iodata is walked, waiting while
/// the queue to the helper is over [`STDIN_STREAM_QUEUE`]. The iodata is
/// checked whole first, so a bad term sends nothing.
#[rustler::nif(schedule = "DirtyCpu")]
fn stdin_stream(drv: LocalPid, pipeline: Term, data: Term) -> NifResult<rustler::Atom> {
    let resource = lookup(drv)?;
    let driver = &resource.driver;
    let pipeline = decode_pipeline(pipeline, alcove_proto::MAX_DEPTH).map_err(|_| Error::BadArg)?;
    convert::walk_iodata(data, |_| true).map_err(|_| Error::BadArg)?;
    let mut chunk = Vec::with_capacity(alcove_proto::STDIO_CHUNK);
    let mut open = true;
    let flush = |chunk: &mut Vec<u8>| {
        while driver.writer.queued() > STDIN_STREAM_QUEUE {
            std::thread::sleep(Duration::from_millis(1));
        }
        let sent = driver.stdin(&pipeline, chunk);
        chunk.clear();
        sent
    };
    convert::walk_iodata(data, |mut bytes| {
        while !bytes.is_empty() {
            let take = (alcove_proto::STDIO_CHUNK - chunk.len()).min(bytes.len());
            chunk.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if chunk.len() == alcove_proto::STDIO_CHUNK && !flush(&mut chunk) {
                open = false;
                return false;
            }
        }
        true
    })
    .map_err(|_| Error::BadArg)?;
    if open && !chunk.is_empty() {
        flush(&mut chunk);
    }
    Ok(ok())
}

/// Let a held process's output flow again; see `reader::deliver_output`.
#[rustler::nif]
fn release(resource: ResourceArc<DriverResource>, pipeline: Term) -> NifResult<rustler::Atom> {
    let pipeline = decode_pipeline(pipeline, alcove_proto::MAX_DEPTH).map_err(|_| Error::BadArg)?;
    resource.driver.release(pipeline);
    Ok(ok())
}

/// Drop the routing of a timed-out call; see `Driver::cancel`.
#[rustler::nif]
fn cancel(drv: LocalPid, request_id: u64) -> bool {
    lookup(drv)
        .map(|r| r.driver.cancel(request_id))
        .unwrap_or(true)
}

#[rustler::nif]
fn controlling_process<'a>(
    env: Env<'a>,
    drv: LocalPid,
    pipeline: Term<'a>,
    new_owner: LocalPid,
) -> NifResult<Term<'a>> {
    let resource = lookup(drv)?;
    let driver = &resource.driver;
    let pipeline = decode_pipeline(pipeline, alcove_proto::MAX_DEPTH).map_err(|_| Error::BadArg)?;
    if driver.controlling_process(&resource, env, env.pid(), pipeline, new_owner) {
        Ok(ok().encode(env))
    } else {
        Ok((error(), not_owner()).encode(env))
    }
}

rustler::init!("alcove_nif");
