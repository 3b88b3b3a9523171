//! Frames from the helper (read by `reactor`), routed to the caller that
//! waits for a reply or to the owner of the process that sent output or
//! an event.

use crate::convert::{bytes_to_term, value_to_term};
use crate::driver::{
    alcove_call, alcove_ctl, alcove_event, alcove_hold, alcove_pipe, alcove_stderr, alcove_stdout,
    watch_owner, Driver, DriverResource,
};
use crate::routes::Owner;
use alcove_proto::{decode_value, encode_frame, Frame, Kind, Value};
use rustler::env::OwnedEnv;
use rustler::types::tuple::make_tuple;
use rustler::{Atom, Encoder, Env, LocalPid, ResourceArc, Term};
use std::os::unix::io::{FromRawFd, OwnedFd, RawFd};

/// Room for the fds one recvmsg(2) can bring: the helper passes at most
/// two with a frame, and a read stops after the bytes they came with.
const FDS_MAX: usize = 8;

/// recvmsg(2): bytes into `buf`, fds passed with them (close-on-exec)
/// onto `fds`.
pub(crate) fn recv_with_fds(
    fd: RawFd,
    buf: &mut [u8],
    flags: libc::c_int,
    fds: &mut Vec<OwnedFd>,
) -> isize {
    // u64s: aligned for cmsghdr.
    let mut control = [0u64; 1 + (FDS_MAX * 4 + 16) / 8];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; zeroed is a valid empty header.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at a valid iovec over buf and a control buffer of
    // msg_controllen bytes, all alive for the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags | libc::MSG_CMSG_CLOEXEC) };
    if n < 0 || msg.msg_controllen == 0 {
        return n;
    }
    // SAFETY: the kernel filled msg's control buffer; CMSG_FIRSTHDR and
    // CMSG_NXTHDR walk it within msg_controllen, and each SCM_RIGHTS
    // message holds (cmsg_len - CMSG_LEN(0)) / 4 fds now owned by us.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(cmsg).cast::<RawFd>();
                let count = ((*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                    / std::mem::size_of::<RawFd>();
                for i in 0..count {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    n
}

/// Bytes asked of each recv(2): a few of the helper's output frames.
pub(crate) const READ_SIZE: usize = 256 * 1024;

pub(crate) fn route(
    driver: &Driver,
    resource: &ResourceArc<DriverResource>,
    env: &mut OwnedEnv,
    body: &[u8],
) {
    let Ok(frame) = Frame::decode(body) else {
        return;
    };
    let header = frame.header;
    match header.kind {
        Kind::Reply | Kind::Raise => {
            let Ok(value) = decode_value(frame.payload) else {
                return;
            };
            let Ok(mut routes) = driver.routes.lock() else {
                return;
            };
            let Some(pending) = routes.pending.remove(&header.request_id) else {
                return;
            };
            let tag = if header.kind == Kind::Reply {
                alcove_call()
            } else {
                alcove_ctl()
            };
            if header.kind == Kind::Reply && pending.spawns {
                if let Some(child) = spawned_pid(&value) {
                    let mut path = pending.pipeline.clone();
                    path.push(child);
                    unclaimed_shortcut(driver, &path);
                    routes.owners.insert(path, Owner::Process(pending.caller));
                    watch_owner(&mut routes, resource, None, pending.caller);
                }
            }
            // Sent with the routes locked, so a cancel either wins before
            // this (no message) or after it (message already delivered).
            let _ = env.send_and_clear(&pending.caller, |env| {
                message(
                    env,
                    tag,
                    driver.drv,
                    &pending.pipeline,
                    value_to_term(env, &value),
                )
            });
        }
        Kind::Event => {
            let Ok(value) = decode_value(frame.payload) else {
                return;
            };
            if !is_exit(&value) {
                deliver(driver, env, &header.pipeline, alcove_event(), |env| {
                    value_to_term(env, &value)
                });
            } else if !driver.direct.exited(&header.pipeline, &value) {
                deliver_exit(driver, env, &header.pipeline, &value);
            }
        }
        Kind::Output => driver
            .direct
            .output(driver, &header.pipeline, frame.payload),
        // Going up: bytes the helper took for a stdin it has since passed.
        Kind::Stdin => driver.direct.bounced(&header.pipeline, frame.payload),
        Kind::Mark => driver.direct.marked(&header.pipeline, frame.payload),
        Kind::Flow => driver.direct.flow(&header.pipeline, frame.payload),
        Kind::Close => driver.direct.close_stream(&header.pipeline, frame.payload),
        Kind::Stdout | Kind::Stderr => {
            let tag = if header.kind == Kind::Stdout {
                alcove_stdout()
            } else {
                alcove_stderr()
            };
            let _ = deliver_output(driver, env, &header.pipeline, tag, frame.payload);
        }
        Kind::Pipe => {
            let Ok(value) = decode_value(frame.payload) else {
                return;
            };
            deliver(driver, env, &header.pipeline, alcove_pipe(), |env| {
                value_to_term(env, &value)
            });
        }
        Kind::Shortcut => {
            if let Some(fd) = driver.direct.take_received() {
                let seq = seq(frame.payload);
                crate::reactor::add_shortcut(resource, header.pipeline.to_vec(), seq, fd);
            }
        }
        Kind::Gone => {
            let (Some(head), Some(rest)) = (frame.payload.get(..8), frame.payload.get(8..)) else {
                return;
            };
            if let Ok(reason) = decode_value(rest) {
                driver.gone(&header.pipeline, seq(head), reason);
            }
        }
        Kind::Call | Kind::Hold | Kind::Done => {}
    }
}

/// The shortcut number a `Shortcut` or `Gone` payload starts with.
pub(crate) fn seq(payload: &[u8]) -> u64 {
    payload
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_be_bytes)
}

/// A fork named a new process: a shortcut for its pipeline must be the
/// one that came for it, ahead of this answer. One a fork named before is
/// a former process's (the pid was reused, and no shortcut came for this
/// one): it goes.
fn unclaimed_shortcut(driver: &Driver, path: &[i32]) {
    if let Ok(mut shortcuts) = driver.shortcuts.lock() {
        if shortcuts.get(path).is_some_and(|s| !s.claim()) {
            shortcuts.remove(path);
        }
    }
}

/// A process's exit event, then forget it and what was under it.
pub fn deliver_exit(driver: &Driver, env: &mut OwnedEnv, pipeline: &[i32], event: &Value) {
    deliver(driver, env, pipeline, alcove_event(), |env| {
        value_to_term(env, event)
    });
    if let Ok(mut routes) = driver.routes.lock() {
        routes.forget_tree(pipeline);
    }
}

fn spawned_pid(value: &Value) -> Option<i32> {
    match value {
        Value::Tuple(items) if items.len() == 2 && items[0] == Value::atom("ok") => {
            items[1].as_i64().and_then(|p| i32::try_from(p).ok())
        }
        _ => None,
    }
}

fn is_exit(value: &Value) -> bool {
    matches!(value, Value::Tuple(items) if items.len() == 2 && matches!(items[0].as_atom(), Some("exit_status") | Some("termsig")))
}

fn message<'a>(
    env: Env<'a>,
    tag: Atom,
    drv: LocalPid,
    pipeline: &[i32],
    term: Term<'a>,
) -> Term<'a> {
    make_tuple(
        env,
        &[tag.encode(env), drv.encode(env), pipeline.encode(env), term],
    )
}

/// Past this much output delivered to its owner, a process's output is held
/// (the helper stops reading it; the program blocks on its full pipe) until
/// the driver process sees the owner's mailbox drained.
pub const OUTPUT_HIGH_WATER: usize = 8 << 20;

/// Send a chunk of stdout or stderr to the owner; past the high-water mark
/// hold the process's output and ask the driver process to watch the
/// owner's mailbox (`{alcove_hold, Pipeline, Owner, Messages}`). True when
/// it was held just now.
pub fn deliver_output(
    driver: &Driver,
    env: &mut OwnedEnv,
    pipeline: &[i32],
    tag: Atom,
    bytes: &[u8],
) -> bool {
    deliver_output_with(driver, env, pipeline, tag, bytes.len(), |env| {
        bytes_to_term(env, bytes)
    })
}

/// [`deliver_output`] of `size` bytes the term `make` gives (a binary read
/// into directly, say).
pub fn deliver_output_with<F>(
    driver: &Driver,
    env: &mut OwnedEnv,
    pipeline: &[i32],
    tag: Atom,
    size: usize,
    make: F,
) -> bool
where
    F: for<'a> FnOnce(Env<'a>) -> Term<'a>,
{
    let (to, hold) = {
        let Ok(mut routes) = driver.routes.lock() else {
            return false;
        };
        let to = match routes.owner_of(pipeline) {
            Some(Owner::Process(pid)) => pid,
            Some(Owner::Gone) => return false,
            None => driver.owner,
        };
        // Looked up by slice: a pipeline is copied once, not per chunk.
        if !routes.output.contains_key(pipeline) {
            routes.output.insert(pipeline.to_vec(), Default::default());
        }
        let Some(delivered) = routes.output.get_mut(pipeline) else {
            return false;
        };
        delivered.bytes += size;
        delivered.messages += 1;
        let hold = !delivered.held && delivered.bytes >= OUTPUT_HIGH_WATER;
        if hold {
            delivered.held = true;
        }
        (to, hold.then_some(delivered.messages))
    };
    let _ = env.send_and_clear(&to, |env| {
        message(env, tag, driver.drv, pipeline, make(env))
    });
    let held = hold.is_some();
    if let Some(messages) = hold {
        driver.send(encode_frame(Kind::Hold, 0, pipeline, &[1]));
        let _ = env.send_and_clear(&driver.drv, |env| {
            make_tuple(
                env,
                &[
                    alcove_hold().encode(env),
                    pipeline.encode(env),
                    to.encode(env),
                    messages.encode(env),
                ],
            )
        });
    }
    held
}

/// Send to the owner of a pipeline (the driver's owner when it has none).
pub fn deliver<'b, F>(driver: &Driver, env: &mut OwnedEnv, pipeline: &[i32], tag: Atom, make: F)
where
    F: for<'a> FnOnce(Env<'a>) -> Term<'a>,
{
    let owner = match driver.routes.lock() {
        Ok(routes) => routes.owner_of(pipeline),
        Err(_) => return,
    };
    let to = match owner {
        Some(Owner::Process(pid)) => pid,
        Some(Owner::Gone) => return,
        None => driver.owner,
    };
    let _ = env.send_and_clear(&to, |env| {
        message(env, tag, driver.drv, pipeline, make(env))
    });
}
