//! Cgroup event watches (`cgroup_watch`): the helper notices OOM kills,
//! `pids.max` hits and populated/frozen changes of a cgroup and sends its
//! owner `{cgroup, {Event, Dir, Value}}` events, without the owner polling.
//!
//! - v2 (or any directory, a fake tree of regular files included):
//!   inotify `IN_MODIFY` on those of `cgroup.events`, `memory.events` and
//!   `pids.events` present (cgroupfs raises it when their content changes);
//!   on a change the file is read again and compared with the last reading.
//! - v1 memory cgroup (`memory.oom_control`, no `memory.events`): an
//!   eventfd registered through `cgroup.event_control`; the kernel signals
//!   it when the group goes out of memory, before the OOM killer has run,
//!   so `oom_kill` in `memory.oom_control` is read then and, while it has
//!   not grown, again every [`RECHECK_MS`] up to [`RECHECKS`] times.
//! - v1 `pids.events` (a pids cgroup without `cgroup.events`): the kernel
//!   does not notify changes of it (6.18 here), so it is read again every
//!   [`PIDS_POLL_MS`] while such a watch exists; the helper sleeps in poll
//!   otherwise, and a `pids_max` event comes at most that much late.
//!
//! At most [`WATCH_MAX`] watches per helper. Every fd is close-on-exec, a
//! forked child drops its copies (watches are not inherited), and exit
//! frees them all.

use crate::cgroup_events::{self, Change, File, Snapshot};
use alcove_proto::{Kind, Value};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
use std::ffi::OsStr;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::RawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Most watches one helper holds.
pub const WATCH_MAX: usize = 64;
/// Interval of the `oom_kill` re-reads after a v1 OOM notification.
pub const RECHECK_MS: i32 = 10;
/// Most re-reads after one notification.
pub const RECHECKS: u32 = 100;
/// Interval of the re-reads of v1 `pids.events`, which is not notified.
pub const PIDS_POLL_MS: u64 = 100;

struct Watch {
    id: u64,
    /// The directory as the caller named it (sent back in events).
    dir: Vec<u8>,
    path: PathBuf,
    files: Vec<(File, WatchDescriptor)>,
    oom_eventfd: Option<EventFd>,
    seen: Snapshot,
    rechecks: u32,
    /// A v1 pids cgroup: `pids.events` is re-read on a timer.
    poll_pids: bool,
}

/// The watches of one helper.
#[derive(Default)]
pub struct Watches {
    inotify: Option<Inotify>,
    list: Vec<Watch>,
    last_id: u64,
    /// When the next `oom_kill` re-read is due, if one is awaited.
    recheck_at: Option<Instant>,
    /// When v1 `pids.events` files are next re-read, if any is watched.
    pids_poll_at: Option<Instant>,
}

fn errno(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// The first [`cgroup_events::READ_MAX`] bytes of a regular file (never
/// blocking on a FIFO planted in a fake tree).
fn read_file(path: &Path) -> Result<Vec<u8>, i32> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(errno)?;
    if !file.metadata().map_err(errno)?.is_file() {
        return Err(libc::EINVAL);
    }
    let mut text = Vec::with_capacity(256);
    file.take(cgroup_events::READ_MAX as u64)
        .read_to_end(&mut text)
        .map_err(errno)?;
    Ok(text)
}

/// Register `eventfd` for OOM notifications of the v1 memory cgroup `dir`.
fn register_oom(dir: &Path) -> Result<EventFd, i32> {
    let eventfd = EventFd::from_flags(EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
        .map_err(|e| e as i32)?;
    // Only needed while registering: the kernel keeps what it needs.
    let control = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC)
        .open(dir.join(File::OomControl.name()))
        .map_err(errno)?;
    let line = format!("{} {}", eventfd.as_raw_fd(), control.as_raw_fd());
    let mut event_control = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(dir.join("cgroup.event_control"))
        .map_err(errno)?;
    std::io::Write::write_all(&mut event_control, line.as_bytes()).map_err(errno)?;
    Ok(eventfd)
}

impl Watch {
    /// Read the files named and merge them; the events to send.
    fn reread(&mut self, which: impl Iterator<Item = File>) -> Vec<Value> {
        let mut events = Vec::new();
        for file in which {
            let Ok(text) = read_file(&self.path.join(file.name())) else {
                continue;
            };
            let found = cgroup_events::parse(file, &text);
            for change in cgroup_events::merge(&mut self.seen, &found) {
                events.push(event(&self.dir, change));
            }
        }
        events
    }

    fn all_files(&self) -> Vec<File> {
        self.files.iter().map(|(f, _)| *f).collect()
    }
}

/// `{cgroup, {Name, Dir, true | false | Count}}`
fn event(dir: &[u8], change: Change) -> Value {
    let (name, value) = match change {
        Change::Flag(name, on) => (name, Value::atom(if on { "true" } else { "false" })),
        Change::Count(name, n) => (name, i64::try_from(n).map_or(Value::UInt(n), Value::Int)),
    };
    Value::tuple2(
        Value::atom("cgroup"),
        Value::Tuple(vec![Value::atom(name), Value::Bin(dir.to_vec()), value]),
    )
}

impl Watches {
    /// Watch the cgroup directory `dir`: the new watch's id.
    pub fn add(&mut self, dir: &[u8]) -> Result<u64, i32> {
        let path = PathBuf::from(OsStr::from_bytes(dir));
        if !std::fs::metadata(&path).map_err(errno)?.is_dir() {
            return Err(libc::ENOTDIR);
        }
        if self.list.len() >= WATCH_MAX {
            return Err(libc::EMFILE);
        }
        if self.inotify.is_none() {
            let flags = InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC;
            self.inotify = Some(Inotify::init(flags).map_err(|e| e as i32)?);
        }
        let mut watch = Watch {
            id: self.last_id + 1,
            dir: dir.to_vec(),
            path,
            files: Vec::new(),
            oom_eventfd: None,
            seen: Snapshot::default(),
            rechecks: 0,
            poll_pids: false,
        };
        if let Err(e) = self.arm(&mut watch) {
            self.disarm(&watch);
            return Err(e);
        }
        // The baseline, read after arming: a change from now on is seen.
        watch.reread(watch.all_files().into_iter());
        self.last_id += 1;
        self.list.push(watch);
        self.schedule_pids_poll();
        Ok(self.last_id)
    }

    fn arm(&self, watch: &mut Watch) -> Result<(), i32> {
        let Some(inotify) = &self.inotify else {
            return Err(libc::EBADF);
        };
        for file in File::WATCHED {
            let path = watch.path.join(file.name());
            if !path.is_file() {
                continue;
            }
            let wd = inotify
                .add_watch(&path, AddWatchFlags::IN_MODIFY)
                .map_err(|e| e as i32)?;
            watch.files.push((file, wd));
        }
        let has = |name: &str| watch.path.join(name).is_file();
        if !has(File::MemoryEvents.name()) && has(File::OomControl.name()) {
            // A v1 memory cgroup. cgroupfs does not notify changes of
            // memory.oom_control, a fake tree's file does: watched as well.
            let path = watch.path.join(File::OomControl.name());
            let wd = inotify
                .add_watch(&path, AddWatchFlags::IN_MODIFY)
                .map_err(|e| e as i32)?;
            watch.files.push((File::OomControl, wd));
            if has("cgroup.event_control") {
                watch.oom_eventfd = Some(register_oom(&watch.path)?);
            }
        }
        // v1 cgroupfs has `cgroup.procs` but no `cgroup.events`, and does
        // not notify `pids.events`.
        watch.poll_pids =
            has(File::PidsEvents.name()) && has("cgroup.procs") && !has(File::CgroupEvents.name());
        if watch.files.is_empty() && watch.oom_eventfd.is_none() {
            // No events file: not a cgroup directory.
            return Err(libc::EINVAL);
        }
        Ok(())
    }

    /// Drop the inotify watches of `watch` no other watch shares (inotify
    /// gives one descriptor per file and instance).
    fn disarm(&self, watch: &Watch) {
        let Some(inotify) = &self.inotify else {
            return;
        };
        for (_, wd) in &watch.files {
            let shared = self
                .list
                .iter()
                .any(|w| w.id != watch.id && w.files.iter().any(|(_, d)| d == wd));
            if !shared {
                let _ = inotify.rm_watch(*wd);
            }
        }
    }

    /// Stop watch `id` and free what it holds.
    pub fn remove(&mut self, id: u64) -> Result<(), i32> {
        let idx = self
            .list
            .iter()
            .position(|w| w.id == id)
            .ok_or(libc::EINVAL)?;
        let watch = self.list.swap_remove(idx);
        self.disarm(&watch);
        self.schedule_recheck();
        self.schedule_pids_poll();
        if self.list.is_empty() {
            // The last watch: the inotify fd goes too.
            self.inotify = None;
        }
        // Dropping the eventfd closes it, which ends its registration.
        Ok(())
    }

    /// The fds to poll: the inotify fd (None) and each eventfd (its watch).
    pub fn poll_fds(&self) -> impl Iterator<Item = (RawFd, Option<u64>)> + '_ {
        let inotify = self
            .inotify
            .as_ref()
            .filter(|_| !self.list.is_empty())
            .map(|i| (i.as_fd().as_raw_fd(), None));
        let eventfds = self.list.iter().filter_map(|w| {
            let fd = w.oom_eventfd.as_ref()?.as_raw_fd();
            Some((fd, Some(w.id)))
        });
        inotify.into_iter().chain(eventfds)
    }

    /// The poll timeout: short while an OOM kill is awaited or a v1
    /// `pids.events` is watched, else none.
    pub fn timeout_ms(&self) -> i32 {
        let next = match (self.recheck_at, self.pids_poll_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next {
            Some(at) => {
                let left = at.saturating_duration_since(Instant::now()).as_millis();
                // Rounded up, so the loop does not spin before it is due.
                i32::try_from(left + 1).unwrap_or(RECHECK_MS)
            }
            None => -1,
        }
    }

    fn schedule_recheck(&mut self) {
        self.recheck_at = self
            .list
            .iter()
            .any(|w| w.rechecks > 0)
            .then(|| Instant::now() + Duration::from_millis(RECHECK_MS as u64));
    }

    fn schedule_pids_poll(&mut self) {
        self.pids_poll_at = self
            .list
            .iter()
            .any(|w| w.poll_pids)
            .then(|| Instant::now() + Duration::from_millis(PIDS_POLL_MS));
    }

    /// Re-read the v1 `pids.events` files.
    fn poll_pids(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        for watch in self.list.iter_mut().filter(|w| w.poll_pids) {
            events.extend(watch.reread(std::iter::once(File::PidsEvents)));
        }
        self.schedule_pids_poll();
        events
    }

    /// The inotify fd is readable: re-read the files that changed.
    fn on_inotify(&mut self) -> Vec<Value> {
        let Some(inotify) = &self.inotify else {
            return Vec::new();
        };
        let mut touched: Vec<(WatchDescriptor, bool)> = Vec::new();
        let mut overflow = false;
        // Bounded: a few reads of 4 KiB drain what a burst queued; more
        // waits for the next turn of the loop.
        for _ in 0..16 {
            let Ok(batch) = inotify.read_events() else {
                break;
            };
            for ev in batch {
                overflow |= ev.mask.contains(AddWatchFlags::IN_Q_OVERFLOW);
                let gone = ev.mask.contains(AddWatchFlags::IN_IGNORED);
                if !touched.contains(&(ev.wd, gone)) {
                    touched.push((ev.wd, gone));
                }
            }
        }
        let mut events = Vec::new();
        for watch in &mut self.list {
            let files: Vec<File> = watch
                .files
                .iter()
                .filter(|(_, wd)| overflow || touched.iter().any(|(t, _)| t == wd))
                .map(|(f, _)| *f)
                .collect();
            events.extend(watch.reread(files.into_iter()));
            // A removed file (its cgroup removed) is no longer watched.
            watch
                .files
                .retain(|(_, wd)| !touched.contains(&(*wd, true)));
        }
        events
    }

    /// A v1 OOM notification (or the cgroup's removal) for watch `id`.
    fn on_eventfd(&mut self, id: u64) -> Vec<Value> {
        let Some(watch) = self.list.iter_mut().find(|w| w.id == id) else {
            return Vec::new();
        };
        let Some(eventfd) = &watch.oom_eventfd else {
            return Vec::new();
        };
        let Ok(count) = eventfd.read() else {
            return Vec::new();
        };
        let path = watch.path.join(File::OomControl.name());
        let Ok(text) = read_file(&path) else {
            // The cgroup is gone (the kernel signals removal too).
            watch.oom_eventfd = None;
            watch.rechecks = 0;
            return Vec::new();
        };
        let mut found = cgroup_events::parse(File::OomControl, &text);
        found.oom = Some(watch.seen.oom.unwrap_or(0).saturating_add(count));
        let before = watch.seen.oom_kill;
        let changes = cgroup_events::merge(&mut watch.seen, &found);
        if watch.seen.oom_kill == before {
            watch.rechecks = RECHECKS;
        }
        let events = changes.into_iter().map(|c| event(&watch.dir, c)).collect();
        self.schedule_recheck();
        events
    }

    /// Re-read `oom_kill` of the watches awaiting one.
    fn recheck(&mut self) -> Vec<Value> {
        let mut events = Vec::new();
        for watch in self.list.iter_mut().filter(|w| w.rechecks > 0) {
            watch.rechecks -= 1;
            let before = watch.seen.oom_kill;
            events.extend(watch.reread(std::iter::once(File::OomControl)));
            if watch.seen.oom_kill != before {
                watch.rechecks = 0;
            }
        }
        self.schedule_recheck();
        events
    }

    /// How many watches are held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.list.len()
    }
}

fn send(state: &mut crate::state::State, events: Vec<Value>) {
    for value in events {
        state.send_value(Kind::Event, 0, &[], &value);
    }
}

/// The event loop: the inotify fd is readable.
pub fn on_inotify(state: &mut crate::state::State) {
    let events = state.cgwatch.on_inotify();
    send(state, events);
}

/// The event loop: watch `id`'s eventfd is readable.
pub fn on_eventfd(state: &mut crate::state::State, id: u64) {
    let events = state.cgwatch.on_eventfd(id);
    send(state, events);
}

/// The event loop, every turn: the pending `oom_kill` re-reads and the
/// v1 `pids.events` re-reads, when due.
pub fn tick(state: &mut crate::state::State) {
    // Most helpers have nothing due, ever: no clock read for them (a forked
    // child's first one faults in the vDSO's page).
    if state.cgwatch.recheck_at.is_none() && state.cgwatch.pids_poll_at.is_none() {
        return;
    }
    let now = Instant::now();
    if state.cgwatch.recheck_at.is_some_and(|at| at <= now) {
        let events = state.cgwatch.recheck();
        send(state, events);
    }
    if state.cgwatch.pids_poll_at.is_some_and(|at| at <= now) {
        let events = state.cgwatch.poll_pids();
        send(state, events);
    }
}

#[cfg(test)]
#[path = "test_cgwatch.rs"]
mod tests;
