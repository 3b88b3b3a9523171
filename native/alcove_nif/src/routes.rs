//! Who gets what: request id -> caller, pipeline -> owner.

use rustler::{LocalPid, Monitor};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// Calls waiting for their reply in every driver of the VM.
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Until when (ms on [`clock_ms`]) calls have been overlapping: a call
/// was made while another waited, less than [`OVERLAP_MS`] ago.
static OVERLAP_UNTIL: AtomicU64 = AtomicU64::new(0);

/// How long one overlap counts.
const OVERLAP_MS: u64 = 20;

/// Milliseconds since the first use.
fn clock_ms() -> u64 {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// Whether calls overlapped lately (callers at once, in one driver or
/// several): the reactor then does not spin (see `reactor::Spin`).
pub fn overlapping() -> bool {
    clock_ms() < OVERLAP_UNTIL.load(Ordering::Relaxed)
}

/// Calls waiting for their reply, by request id; counted VM-wide.
#[derive(Default)]
pub struct PendingCalls(HashMap<u64, Pending>);

impl PendingCalls {
    pub fn insert(&mut self, id: u64, pending: Pending) {
        if self.0.insert(id, pending).is_none() && IN_FLIGHT.fetch_add(1, Ordering::Relaxed) > 0 {
            OVERLAP_UNTIL.store(clock_ms() + OVERLAP_MS, Ordering::Relaxed);
        }
    }

    pub fn remove(&mut self, id: &u64) -> Option<Pending> {
        let removed = self.0.remove(id);
        if removed.is_some() {
            IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }

    pub fn get_mut(&mut self, id: &u64) -> Option<&mut Pending> {
        self.0.get_mut(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&u64, &Pending)> {
        self.0.iter()
    }

    /// Take them all.
    pub fn take_all(&mut self) -> Vec<Pending> {
        IN_FLIGHT.fetch_sub(self.0.len(), Ordering::Relaxed);
        self.0.drain().map(|(_, p)| p).collect()
    }

    pub fn retain(&mut self, keep: impl FnMut(&u64, &mut Pending) -> bool) {
        let before = self.0.len();
        self.0.retain(keep);
        IN_FLIGHT.fetch_sub(before - self.0.len(), Ordering::Relaxed);
    }
}

impl Drop for PendingCalls {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(self.0.len(), Ordering::Relaxed);
    }
}

/// A call waiting for its reply.
pub struct Pending {
    pub caller: LocalPid,
    pub pipeline: Vec<i32>,
    /// The call creates a child (fork, clone): its caller becomes the owner.
    pub spawns: bool,
    /// Sent on this shortcut (its token; 0: down the tree).
    pub via: u64,
}

/// The owner of an OS process.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    Process(LocalPid),
    /// Its owner exited and it was killed: what it still sends is dropped.
    Gone,
}

#[derive(Default)]
pub struct Routes {
    pub pending: PendingCalls,
    pub owners: HashMap<Vec<i32>, Owner>,
    pub monitors: HashMap<LocalPid, Monitor>,
    /// The helper is gone: no call can be answered any more.
    pub closed: bool,
    /// Output delivered per process since the driver last let it flow.
    pub output: HashMap<Vec<i32>, Delivered>,
}

/// Output delivered to a process's owner and maybe not taken yet.
#[derive(Default)]
pub struct Delivered {
    pub bytes: usize,
    pub messages: usize,
    /// The helper was told to stop reading this process's output.
    pub held: bool,
}

impl Routes {
    /// The owner for a pipeline: its own, else its nearest ancestor's.
    /// `None` means the driver's owner.
    pub fn owner_of(&self, pipeline: &[i32]) -> Option<Owner> {
        (1..=pipeline.len())
            .rev()
            .find_map(|len| self.owners.get(&pipeline[..len]).copied())
    }

    /// Forget a process and everything under it.
    pub fn forget_tree(&mut self, pipeline: &[i32]) {
        if self.owners.is_empty() && self.output.is_empty() {
            return;
        }
        self.owners.retain(|path, _| !path.starts_with(pipeline));
        self.output.retain(|path, _| !path.starts_with(pipeline));
    }

    /// The pipelines an exited Erlang process owned, now marked gone.
    pub fn owner_exited(&mut self, pid: LocalPid) -> Vec<Vec<i32>> {
        self.monitors.remove(&pid);
        let mut owned = Vec::new();
        for (path, owner) in self.owners.iter_mut() {
            if *owner == Owner::Process(pid) {
                *owner = Owner::Gone;
                owned.push(path.clone());
            }
        }
        // Pending calls of a dead process can never be delivered.
        self.pending.retain(|_, p| p.caller != pid);
        owned
    }
}
