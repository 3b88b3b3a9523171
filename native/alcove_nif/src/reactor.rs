//! One thread reads the helper sockets of every driver in the VM: an
//! epoll set over them, level-triggered. Frames are read straight into
//! each driver's frame reader and routed in place (see `reader`), at most
//! [`BUDGET`] reads of a socket per wake-up so that one busy driver does
//! not hold the others back.
//!
//! With one driver per caller, a reader thread per driver meant one
//! cross-CPU wake-up per reply and per driver; here replies to several
//! drivers that arrive together are read in one wake-up, and the one
//! thread that may spin (see [`Spin`]) covers every driver: no spinner
//! per driver takes the CPUs the helpers need.

use crate::driver::{Driver, DriverResource};
use crate::reader::{recv_with_fds, route, READ_SIZE};
use crate::shortcut::Shortcut;
use alcove_proto::{Frame, FrameReader, Kind, NextRef};
use rustler::env::OwnedEnv;
use rustler::ResourceArc;
use std::collections::HashMap;
use std::collections::VecDeque;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, OnceLock};

/// Reads of one socket per wake-up, at most.
const BUDGET: usize = 4;

/// Bytes asked of each recv(2) on a shortcut.
const SHORTCUT_READ_SIZE: usize = 16 * 1024;

/// Events taken per epoll_wait(2).
const EVENTS: usize = 64;

/// How long the reactor keeps polling before it sleeps: a reply usually
/// follows a reply within this, and a sleeping thread costs a cross-CPU
/// wake-up (about 20 µs here) to get going again.
const SPIN: std::time::Duration = std::time::Duration::from_micros(40);

/// Spins in a row that found nothing before the reactor stops spinning.
const SPIN_MISSES: u32 = 2;

/// Waits without spinning after [`SPIN_MISSES`] spins found nothing,
/// before it tries spinning again. When frames come further apart than
/// [`SPIN`] (forks, exits, programs' output), spinning only takes a CPU
/// from the helpers and their children (2 CPUs here: a fork + exit cycle
/// ran with the reader spinning about 150 µs of every 550).
const SPIN_REST: u32 = 16;

/// Whether the reactor spins before its next sleeping wait.
#[derive(Default)]
struct Spin {
    misses: u32,
    resting: u32,
}

impl Spin {
    fn wanted(&mut self) -> bool {
        // While calls overlap (callers at once, in one driver or several),
        // replies come without it and the CPU a spin takes is one the
        // helpers need: 8 callers made 15-20 % more calls a second without
        // the spin. A lone caller's round trip is what it shortens.
        if crate::routes::overlapping() {
            return false;
        }
        if self.resting > 0 {
            self.resting -= 1;
            return false;
        }
        true
    }

    fn record(&mut self, hit: bool) {
        if hit {
            self.misses = 0;
            return;
        }
        self.misses += 1;
        if self.misses >= SPIN_MISSES {
            self.misses = 0;
            self.resting = SPIN_REST;
        }
    }
}

struct Entry {
    driver: Arc<Driver>,
    resource: ResourceArc<DriverResource>,
    reader: FrameReader,
    /// Made when a frame is first routed (a forked helper that is never
    /// called needs none).
    env: Option<OwnedEnv>,
    fds: Vec<OwnedFd>,
    /// A shortcut's socket (see `shortcut`), with the pipeline of the
    /// helper at its other end; None: the driver's own socket.
    shortcut: Option<(Vec<i32>, Arc<Shortcut>)>,
    /// Fds that came on a shortcut, in order, for its `Shortcut` frames.
    received: VecDeque<OwnedFd>,
}

impl Entry {
    fn fd(&self) -> RawFd {
        match &self.shortcut {
            Some((_, shortcut)) => shortcut.fd.as_raw_fd(),
            None => self.driver.socket.as_raw_fd(),
        }
    }
}

struct Reactor {
    epoll: OwnedFd,
    /// New drivers, taken by the reactor thread before it looks up a
    /// socket it does not know yet.
    incoming: Sender<(u64, Entry)>,
    next: std::sync::atomic::AtomicU64,
}

fn reactor() -> Result<&'static Reactor, String> {
    static REACTOR: OnceLock<Result<Reactor, String>> = OnceLock::new();
    REACTOR
        .get_or_init(|| {
            // SAFETY: epoll_create1 takes a flag only.
            let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error().to_string());
            }
            // SAFETY: fd was just returned by epoll_create1 and is ours.
            let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
            let (tx, rx) = channel();
            let raw = epoll.as_raw_fd();
            std::thread::Builder::new()
                .name("alcove_reactor".into())
                .spawn(move || run(raw, rx))
                .map_err(|e| e.to_string())?;
            Ok(Reactor {
                epoll,
                incoming: tx,
                next: std::sync::atomic::AtomicU64::new(1),
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Read this driver's socket from now on, until end of file.
pub fn register(driver: Arc<Driver>, resource: ResourceArc<DriverResource>) -> Result<(), String> {
    let reactor = reactor()?;
    let token = reactor
        .next
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let fd = driver.socket.as_raw_fd();
    add(reactor, token, fd, entry(driver, resource, None))
}

fn entry(
    driver: Arc<Driver>,
    resource: ResourceArc<DriverResource>,
    shortcut: Option<(Vec<i32>, Arc<Shortcut>)>,
) -> Entry {
    Entry {
        driver,
        resource,
        reader: FrameReader::new(),
        env: None,
        fds: Vec::new(),
        shortcut,
        received: VecDeque::new(),
    }
}

fn add(reactor: &Reactor, token: u64, fd: RawFd, entry: Entry) -> Result<(), String> {
    // Queued before the socket is added: the thread finds it when the
    // socket's first event comes.
    reactor
        .incoming
        .send((token, entry))
        .map_err(|_| "reactor gone".to_string())?;
    let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: token,
    };
    // SAFETY: a valid epoll fd, an open socket and a valid event.
    let rc = unsafe {
        libc::epoll_ctl(
            reactor.epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            fd,
            &mut event,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error().to_string());
    }
    Ok(())
}

/// A helper's shortcut came (a `Shortcut` frame): the driver sends that
/// helper's calls on it from now on (see [`watch_shortcut`]). Without
/// room for it (see `shortcut::reserve`) it is closed, and that helper is
/// reached through the tree.
pub fn add_shortcut(
    resource: &ResourceArc<DriverResource>,
    pipeline: Vec<i32>,
    seq: u64,
    fd: OwnedFd,
) {
    let driver = &resource.driver;
    if pipeline.is_empty() || !crate::shortcut::reserve() {
        return;
    }
    let Ok(reactor) = reactor() else {
        return;
    };
    let token = reactor
        .next
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let shortcut = Arc::new(Shortcut::new(token, seq, fd));
    // The root helper's children get theirs after the fork's answer (with
    // the first call relayed to them): that answer has named the process
    // already. Deeper ones come ahead of it and are claimed by it.
    let named = driver
        .routes
        .lock()
        .is_ok_and(|routes| routes.owners.contains_key(&pipeline));
    if named {
        shortcut.claim();
    }
    if let Ok(mut shortcuts) = driver.shortcuts.lock() {
        // A former process's with the same pid goes when its socket ends.
        shortcuts.insert(pipeline.clone(), shortcut.clone());
    }
    if named {
        // Made for a call, so in use; and the shortcuts of the helpers its
        // helper forks come up on it, ahead of their forks' answers.
        watch_shortcut(resource, &pipeline, &shortcut);
    }
}

/// Read a shortcut from now on: a call is about to be sent on it. False
/// when that cannot be (the call takes the tree then).
pub fn watch_shortcut(
    resource: &ResourceArc<DriverResource>,
    pipeline: &[i32],
    shortcut: &Arc<Shortcut>,
) -> bool {
    if shortcut.watched.load(std::sync::atomic::Ordering::Acquire) {
        return true;
    }
    let Ok(reactor) = reactor() else {
        return false;
    };
    // Under the shortcut's own flag: one caller registers it.
    if shortcut
        .watched
        .compare_exchange(
            false,
            true,
            std::sync::atomic::Ordering::AcqRel,
            std::sync::atomic::Ordering::Acquire,
        )
        .is_err()
    {
        return true;
    }
    let entry = entry(
        resource.driver.clone(),
        resource.clone(),
        Some((pipeline.to_vec(), shortcut.clone())),
    );
    if add(reactor, shortcut.token, shortcut.fd.as_raw_fd(), entry).is_err() {
        // Nobody would read its answers: ended, so that every call sent
        // on it from now on fails (EPIPE) and takes the tree.
        shortcut.shut();
        return false;
    }
    true
}

fn run(epoll: RawFd, incoming: Receiver<(u64, Entry)>) {
    let mut entries: HashMap<u64, Entry> = HashMap::new();
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; EVENTS];
    let mut spin = Spin::default();
    loop {
        let n = wait(epoll, &mut events, &mut spin);
        for event in &events[..n] {
            let token = event.u64;
            if !entries.contains_key(&token) {
                entries.extend(incoming.try_iter());
            }
            let Some(entry) = entries.get_mut(&token) else {
                continue;
            };
            // A panic while routing ends that driver only (as if its
            // helper had closed the socket), not the others.
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_some(entry)));
            if !matches!(read, Ok(true)) {
                let fd = entry.fd();
                // SAFETY: removes an fd from a valid epoll set; no event
                // pointer is needed for EPOLL_CTL_DEL.
                unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, fd, std::ptr::null_mut()) };
                if let Some(entry) = entries.remove(&token) {
                    closed(entry);
                }
            }
        }
    }
}

/// Events ready, spinning first for a while if recent spins paid.
fn wait(epoll: RawFd, events: &mut [libc::epoll_event], spin: &mut Spin) -> usize {
    if spin.wanted() {
        let start = std::time::Instant::now();
        let mut first = true;
        loop {
            let n = epoll_wait(epoll, events, 0);
            if n > 0 {
                if !first {
                    spin.record(true);
                }
                return n;
            }
            first = false;
            if start.elapsed() >= SPIN {
                break;
            }
            std::hint::spin_loop();
        }
        spin.record(false);
    }
    loop {
        let n = epoll_wait(epoll, events, -1);
        if n > 0 {
            return n;
        }
    }
}

fn epoll_wait(epoll: RawFd, events: &mut [libc::epoll_event], timeout: i32) -> usize {
    // SAFETY: events is a writable array of events.len() epoll_events.
    let n = unsafe { libc::epoll_wait(epoll, events.as_mut_ptr(), events.len() as i32, timeout) };
    usize::try_from(n).unwrap_or(0)
}

/// Read what the socket holds (up to the budget) and route its frames;
/// false at end of file or on an error other than "nothing more now".
fn read_some(entry: &mut Entry) -> bool {
    let fd = entry.fd();
    // A shortcut brings answers, mostly small: a driver's read size would
    // make (and zero) a 256 KiB buffer for every forked helper.
    let size = match entry.shortcut {
        Some(_) => SHORTCUT_READ_SIZE,
        None => READ_SIZE,
    };
    for _ in 0..BUDGET {
        let fds = &mut entry.fds;
        let got = entry.reader.fill(size, |space| {
            let n = recv_with_fds(fd, space, libc::MSG_DONTWAIT, fds);
            usize::try_from(n).map_err(|_| std::io::Error::last_os_error().raw_os_error())
        });
        if !entry.fds.is_empty() {
            let fds = std::mem::take(&mut entry.fds);
            match entry.shortcut {
                Some(_) => entry.received.extend(fds),
                None => entry.driver.direct.received(fds),
            }
        }
        let full = match got {
            Ok(0) => return false,
            Ok(n) => n == size,
            Err(Some(libc::EAGAIN)) => return true,
            Err(Some(libc::EINTR)) => continue,
            Err(_) => return false,
        };
        loop {
            match entry.reader.next_body() {
                NextRef::Body(body) => match &entry.shortcut {
                    None => route(
                        &entry.driver,
                        &entry.resource,
                        entry.env.get_or_insert_with(OwnedEnv::new),
                        body,
                    ),
                    Some((pipeline, shortcut)) => route_shortcut(
                        &entry.resource,
                        entry.env.get_or_insert_with(OwnedEnv::new),
                        pipeline,
                        shortcut,
                        &mut entry.received,
                        body,
                    ),
                },
                NextRef::Oversized { .. } => {}
                NextRef::NeedMore => break,
            }
        }
        if !full {
            return true;
        }
    }
    true
}

/// A frame from a shortcut: an answer, or a shortcut to a child of that
/// helper (its pipeline is relative to the helper's).
fn route_shortcut(
    resource: &ResourceArc<DriverResource>,
    env: &mut OwnedEnv,
    pipeline: &[i32],
    shortcut: &Shortcut,
    received: &mut VecDeque<OwnedFd>,
    body: &[u8],
) {
    match body.first().copied().and_then(Kind::from_u8) {
        Some(Kind::Reply | Kind::Raise) => {
            shortcut.answered();
            route(&resource.driver, resource, env, body);
        }
        Some(Kind::Shortcut) => {
            let (Ok(frame), Some(fd)) = (Frame::decode(body), received.pop_front()) else {
                return;
            };
            let mut path = pipeline.to_vec();
            path.extend_from_slice(&frame.header.pipeline);
            add_shortcut(resource, path, crate::reader::seq(frame.payload), fd);
        }
        // Nothing else comes this way.
        _ => {}
    }
}

/// The socket ended: for a driver's, fail what waits on it and end its
/// shortcuts; for a shortcut, raise badpid in the calls sent on it.
fn closed(entry: Entry) {
    if let Some((pipeline, shortcut)) = &entry.shortcut {
        entry.driver.shortcut_closed(pipeline, shortcut);
        return;
    }
    entry.driver.writer.close();
    entry.driver.direct.shut();
    entry.driver.fail_all_pending();
    entry.driver.shut_shortcuts();
}
