//! Who gets what: request id -> caller, pipeline -> owner.

use rustler::{LocalPid, Monitor};
use std::collections::HashMap;

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
    pub pending: HashMap<u64, Pending>,
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
