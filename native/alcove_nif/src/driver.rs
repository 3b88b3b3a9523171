//! One driver: the helper process, the socket to it, the threads that serve
//! it, and the routing of everything that comes back.

use crate::routes::{Owner, Pending, Routes};
use crate::shortcut::Shortcut;
use crate::writer::Writer;
use alcove_proto::{encode_frame, encode_value, Kind, Value, STDIO_CHUNK};
use rustler::env::OwnedEnv;
use rustler::types::tuple::make_tuple;
use rustler::{Encoder, Env, LocalPid, ResourceArc};
use std::collections::HashMap;
use std::os::unix::io::{AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

rustler::atoms! {
    alcove_call,
    alcove_ctl,
    alcove_event,
    alcove_stdout,
    alcove_stderr,
    alcove_pipe,
    alcove_closed,
    alcove_hold,
    closed,
    ok,
    exit_status,
    termsig,
}

/// Call numbers the driver acts on, given by the Erlang side at start.
#[derive(Clone)]
pub struct CallNumbers {
    pub fork: u16,
    pub clone: u16,
    pub kill: u16,
    /// A program spawned in one call: its caller owns it, as with fork.
    pub fork_exec: u16,
    /// Calls that go down the tree even when the process has a shortcut
    /// (see `shortcut`): exec, exit, outlive, fork_exec.
    pub tree_only: Vec<u16>,
}

/// Why a call was not sent.
pub enum CallRefused {
    /// The frame is over the cap: raised as badarg.
    TooLarge,
    /// The helper is gone: raised as closed.
    Closed,
}

/// How the helper ended, once it has.
#[derive(Default)]
pub struct Exit {
    pub status: Option<i32>,
}

pub struct Driver {
    pub drv: LocalPid,
    pub owner: LocalPid,
    pub socket: OwnedFd,
    pub writer: Writer,
    pub routes: Mutex<Routes>,
    pub next_id: AtomicU64,
    pub numbers: CallNumbers,
    pub helper_pid: u32,
    pub exit: Mutex<Exit>,
    pub exited: Condvar,
    /// Signal sent to the processes of an owner that exits.
    pub owner_exit_signal: i32,
    /// Programs whose output this driver reads itself.
    pub direct: crate::direct::Direct,
    /// Sockets straight to forked helpers, by pipeline.
    pub shortcuts: Mutex<HashMap<Vec<i32>, Arc<Shortcut>>>,
    /// Shortcuts read to their end with calls unanswered, until their
    /// helper's `Gone` says what those raise.
    pub ending: Mutex<HashMap<Vec<i32>, Arc<Shortcut>>>,
}

/// The resource Erlang holds; its monitors watch owners and the driver process.
pub struct DriverResource {
    pub driver: Arc<Driver>,
}

#[rustler::resource_impl]
impl rustler::Resource for DriverResource {
    fn down<'a>(&'a self, _env: Env<'a>, pid: LocalPid, _monitor: rustler::Monitor) {
        if pid == self.driver.drv {
            // The driver process is gone however it ended: tear the tree down.
            self.driver.close();
            crate::registry::remove(pid);
        } else {
            self.driver.owner_exited(pid);
        }
    }
}

impl Driver {
    pub fn request_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queue a frame for the helper; false once the channel is closed.
    pub fn send(&self, frame: Vec<u8>) -> bool {
        self.writer.send(frame)
    }

    /// Register a call and send it. Returns the request id.
    pub fn call(
        &self,
        resource: &ResourceArc<DriverResource>,
        caller: LocalPid,
        pipeline: Vec<i32>,
        number: u16,
        args: &Value,
    ) -> Result<u64, CallRefused> {
        let mut payload = Vec::with_capacity(64);
        payload.extend_from_slice(&number.to_be_bytes());
        encode_value(&mut payload, args);
        let request_id = self.request_id();
        // Length prefix, header, pids, payload (as encode_frame lays it out).
        let tree_len = 4 + alcove_proto::HEADER_FIXED + 4 * pipeline.len() + payload.len();
        if tree_len > alcove_proto::MAX_FRAME + 4 {
            return Err(CallRefused::TooLarge);
        }
        let spawns = number == self.numbers.fork
            || number == self.numbers.clone
            || number == self.numbers.fork_exec;
        let shortcut = if pipeline.is_empty() || self.numbers.tree_only.contains(&number) {
            None
        } else {
            self.shortcut_for(&pipeline)
                .filter(|s| crate::reactor::watch_shortcut(resource, &pipeline, s))
        };
        // Down the tree: encoded before the pipeline moves into the route.
        let mut frame = shortcut
            .is_none()
            .then(|| encode_frame(Kind::Call, request_id, &pipeline, &payload));
        {
            let mut routes = self.routes.lock().map_err(|_| CallRefused::Closed)?;
            // Checked under the lock the reader takes to fail every pending
            // call when the helper goes: a call is either failed there or refused here.
            if routes.closed {
                return Err(CallRefused::Closed);
            }
            let pending = Pending {
                caller,
                pipeline,
                spawns,
                via: shortcut.as_ref().map_or(0, |s| s.token),
            };
            routes.pending.insert(request_id, pending);
        }
        if let Some(shortcut) = shortcut {
            if shortcut.send(&encode_frame(Kind::Call, request_id, &[], &payload)) {
                return Ok(request_id);
            }
            // Not sent there: down the tree, no longer waiting on it (unless
            // it was answered meanwhile, as the shortcut ended).
            let mut routes = self.routes.lock().map_err(|_| CallRefused::Closed)?;
            if let Some(pending) = routes.pending.get_mut(&request_id) {
                pending.via = 0;
                frame = Some(encode_frame(
                    Kind::Call,
                    request_id,
                    &pending.pipeline,
                    &payload,
                ));
            }
        }
        // A write that fails means the helper is going: the reactor
        // answers the pending call with `closed` when it sees the end.
        if let Some(frame) = frame {
            self.send(frame);
        }
        Ok(request_id)
    }

    /// The shortcut to the process at `pipeline`, if there is one.
    pub fn shortcut_for(&self, pipeline: &[i32]) -> Option<Arc<Shortcut>> {
        let shortcuts = self.shortcuts.lock().ok()?;
        if shortcuts.is_empty() {
            return None;
        }
        shortcuts.get(pipeline).cloned()
    }

    /// A shortcut's end was read: forget it; the calls sent on it with no
    /// answer raise what its helper's `Gone` said, or wait for it.
    pub fn shortcut_closed(&self, pipeline: &[i32], shortcut: &Arc<Shortcut>) {
        if let Ok(mut shortcuts) = self.shortcuts.lock() {
            if shortcuts
                .get(pipeline)
                .is_some_and(|s| s.token == shortcut.token)
            {
                shortcuts.remove(pipeline);
            }
        }
        if let Some(reason) = shortcut.ended() {
            return self.raise_sent_on(shortcut.token, &reason);
        }
        let waiting = self
            .routes
            .lock()
            .is_ok_and(|routes| routes.pending.iter().any(|(_, p)| p.via == shortcut.token));
        if !waiting {
            return;
        }
        let former = match self.ending.lock() {
            Ok(mut ending) => ending.insert(pipeline.to_vec(), shortcut.clone()),
            Err(_) => None,
        };
        if let Some(former) = former {
            self.raise_sent_on(former.token, &Value::atom("badpid"));
        }
    }

    /// A `Gone` frame: the helper at `pipeline` (its shortcut numbered
    /// `seq`) will answer nothing more on it, and nothing under it will.
    pub fn gone(&self, pipeline: &[i32], seq: u64, reason: Value) {
        let badpid = Value::atom("badpid");
        let mut raise = Vec::new();
        let under = |path: &[i32]| path.len() > pipeline.len() && path.starts_with(pipeline);
        if let Ok(mut shortcuts) = self.shortcuts.lock() {
            if shortcuts.get(pipeline).is_some_and(|s| s.seq == seq) {
                if let Some(shortcut) = shortcuts.remove(pipeline) {
                    // Raised once its end is read (what came before it
                    // are answers).
                    shortcut.end(reason.clone());
                }
            }
            shortcuts.retain(|path, shortcut| {
                if under(path) {
                    shortcut.end(badpid.clone());
                }
                !under(path)
            });
        }
        if let Ok(mut ending) = self.ending.lock() {
            if ending.get(pipeline).is_some_and(|s| s.seq == seq) {
                if let Some(shortcut) = ending.remove(pipeline) {
                    raise.push((shortcut.token, reason));
                }
            }
            ending.retain(|path, shortcut| {
                if under(path) {
                    raise.push((shortcut.token, badpid.clone()));
                }
                !under(path)
            });
        }
        for (token, reason) in raise {
            self.raise_sent_on(token, &reason);
        }
    }

    /// Raise `reason` in the calls sent on a shortcut and not answered.
    fn raise_sent_on(&self, token: u64, reason: &Value) {
        let Ok(mut routes) = self.routes.lock() else {
            return;
        };
        let lost: Vec<u64> = routes
            .pending
            .iter()
            .filter(|(_, p)| p.via == token)
            .map(|(id, _)| *id)
            .collect();
        let mut env = OwnedEnv::new();
        for id in lost {
            let Some(p) = routes.pending.remove(&id) else {
                continue;
            };
            // Sent with the routes locked, as replies are (see reader::route).
            let _ = env.send_and_clear(&p.caller, |env| {
                make_tuple(
                    env,
                    &[
                        alcove_ctl().encode(env),
                        self.drv.encode(env),
                        p.pipeline.encode(env),
                        crate::convert::value_to_term(env, reason),
                    ],
                )
            });
        }
    }

    /// End every shortcut (the driver is closing).
    pub fn shut_shortcuts(&self) {
        if let Ok(mut shortcuts) = self.shortcuts.lock() {
            // The reactor closes those it reads when it sees their end;
            // the others close as they are dropped here.
            shortcuts.drain().for_each(|(_, s)| s.shut());
        }
    }

    /// Send stdin in chunks, each its own frame, in order.
    pub fn stdin(&self, pipeline: &[i32], data: &[u8]) -> bool {
        self.direct.stdin(pipeline, data, |data| {
            data.chunks(STDIO_CHUNK)
                .all(|chunk| self.send(encode_frame(Kind::Stdin, 0, pipeline, chunk)))
        })
    }

    /// Forget a call that timed out. True when its reply will never be
    /// delivered; false when it already was (it is in the caller's mailbox).
    pub fn cancel(&self, request_id: u64) -> bool {
        match self.routes.lock() {
            Ok(mut routes) => routes.pending.remove(&request_id).is_some(),
            Err(_) => true,
        }
    }

    /// Hand a process to a new owner; only the current owner may.
    pub fn controlling_process(
        &self,
        resource: &ResourceArc<DriverResource>,
        env: Env,
        caller: LocalPid,
        pipeline: Vec<i32>,
        new_owner: LocalPid,
    ) -> bool {
        let Ok(mut routes) = self.routes.lock() else {
            return false;
        };
        let current = routes.owners.get(&pipeline).copied();
        let allowed = match current {
            Some(Owner::Process(pid)) => pid == caller,
            Some(Owner::Gone) => false,
            None => pipeline.is_empty() && caller == self.owner,
        };
        if !allowed {
            return false;
        }
        routes.owners.insert(pipeline, Owner::Process(new_owner));
        watch_owner(&mut routes, resource, Some(env), new_owner);
        true
    }

    /// An owner exited: kill what it owned.
    pub fn owner_exited(&self, pid: LocalPid) {
        let mut owned = match self.routes.lock() {
            Ok(mut routes) => routes.owner_exited(pid),
            Err(_) => return,
        };
        // Output held back for that owner can go (dropped) now.
        self.direct.wake();
        // Deepest first, so each kill still finds its path of helpers.
        owned.sort_by_key(|pipeline| std::cmp::Reverse(pipeline.len()));
        for pipeline in owned {
            let Some((&child, parent)) = pipeline.split_last() else {
                continue;
            };
            let args = Value::List(vec![
                Value::Int(child as i64),
                Value::Int(self.owner_exit_signal as i64),
            ]);
            let mut payload = self.numbers.kill.to_be_bytes().to_vec();
            encode_value(&mut payload, &args);
            // Request id 0: nobody waits for the answer.
            self.send(encode_frame(Kind::Call, 0, parent, &payload));
        }
    }

    /// Let a held process's output flow again (its owner's mailbox drained).
    pub fn release(&self, pipeline: Vec<i32>) {
        let held = match self.routes.lock() {
            Ok(mut routes) => routes.output.get_mut(&pipeline).is_some_and(|delivered| {
                let held = delivered.held;
                *delivered = Default::default();
                held
            }),
            Err(_) => false,
        };
        if held && !self.direct.release(&pipeline) {
            self.send(encode_frame(Kind::Hold, 0, &pipeline, &[0]));
        }
    }

    /// Close the channel: the helper sees end of file and shuts its tree down.
    pub fn close(&self) {
        self.writer.close();
        // SAFETY: shutdown on a socket this driver owns; it wakes the reader.
        unsafe { libc::shutdown(self.socket.as_raw_fd(), libc::SHUT_RDWR) };
    }

    /// SIGKILL to the helper's process group (it leads one of its own) and
    /// to the helper itself.
    pub fn kill_helper_group(&self) {
        if let Ok(pid) = libc::pid_t::try_from(self.helper_pid) {
            if pid > 1 {
                // SAFETY: kill has no memory effects; the helper (not yet
                // reaped: the reaper thread waits for it) owns this pid.
                unsafe {
                    libc::kill(-pid, libc::SIGKILL);
                    libc::kill(pid, libc::SIGKILL);
                }
            }
        }
    }

    /// Wait (on a dirty scheduler) for the helper to have exited.
    pub fn wait_exit(&self, timeout: Duration) -> bool {
        let Ok(guard) = self.exit.lock() else {
            return false;
        };
        match self
            .exited
            .wait_timeout_while(guard, timeout, |e| e.status.is_none())
        {
            Ok((_, result)) => !result.timed_out(),
            Err(_) => false,
        }
    }

    /// The helper is gone: every waiting caller gets `closed`, and later
    /// calls are refused.
    pub fn fail_all_pending(&self) {
        let pending: Vec<Pending> = match self.routes.lock() {
            Ok(mut routes) => {
                routes.closed = true;
                routes.pending.take_all()
            }
            Err(_) => return,
        };
        let mut env = OwnedEnv::new();
        for p in pending {
            let _ = env.send_and_clear(&p.caller, |env| {
                let pipeline = p.pipeline.encode(env);
                make_tuple(
                    env,
                    &[
                        alcove_ctl().encode(env),
                        self.drv.encode(env),
                        pipeline,
                        closed().encode(env),
                    ],
                )
            });
        }
    }
}

/// Monitor an owner once, so its exit kills what it owns.
pub fn watch_owner(
    routes: &mut Routes,
    resource: &ResourceArc<DriverResource>,
    env: Option<Env>,
    owner: LocalPid,
) {
    if let std::collections::hash_map::Entry::Vacant(slot) = routes.monitors.entry(owner) {
        if let Some(monitor) = resource.monitor(env, &owner) {
            slot.insert(monitor);
        }
    }
}

/// The reaper thread: wait for the helper, record how it ended, tell the
/// driver process.
pub fn reap_loop(driver: Arc<Driver>, child: crate::spawn::Spawned) {
    let status = crate::spawn::wait(&child);
    if let Ok(mut exit) = driver.exit.lock() {
        exit.status = Some(status);
    }
    driver.exited.notify_all();
    let mut env = OwnedEnv::new();
    let _ = env.send_and_clear(&driver.drv, |env| {
        make_tuple(env, &[alcove_closed().encode(env), status.encode(env)])
    });
}
