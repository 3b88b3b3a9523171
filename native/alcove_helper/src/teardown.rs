//! Whole-tree teardown with cgroup v2.
//!
//! Process groups and parent-death signals do not reach a process that
//! called `setsid` or whose parent is gone (double-forked daemons): it is
//! reparented and lives on. A cgroup does not let go of it. Where a cgroup
//! v2 hierarchy with `cgroup.kill` (Linux 5.14) is writable, the root
//! helper makes one per driver (`alcove.<pid>` under its own cgroup) and
//! every forked process gets a leaf of its own under its parent's, so the
//! cgroup tree mirrors the process tree. The parent makes the leaf and
//! starts the child in it (`clone3` with `CLONE_INTO_CGROUP`, Linux 5.7):
//! a process entering a cgroup afterwards (a write to its `cgroup.procs`)
//! waits for an RCU grace period when none has passed for a while, 6 to
//! 21 ms here, which an exec paid every time programs were started now and
//! then. Where the kernel refuses it, the child enters its leaf itself
//! when it first forks or execs.
//!
//! - a child that dies by a signal, or a helper that ends, has its cgroup
//!   killed when its parent reaps it: all it started goes, setsid or not;
//! - a child's leaf, once empty at its reap, is kept for the next child
//!   (at most [`SPARE_MAX`]): directories are not made and removed per
//!   spawn, which cost more than the fork and exec themselves;
//! - a helper shutting down kills its children's cgroups after the grace;
//! - a guardian, double-forked by the root helper before it enters the
//!   driver's cgroup and so outside it, waits on a pidfd for the root
//!   helper to end however it ends (SIGKILL of it or of the VM included),
//!   then kills the driver's cgroup, waits for it to empty and removes it.
//!
//! Without a writable v2 hierarchy (an unprivileged helper without a
//! delegated cgroup) none of this happens: process groups, parent-death
//! signals and the helpers' subreaper sweep at shutdown are what is left.
//! A process that moves itself to another cgroup leaves the tree's; a
//! helper moved into another cgroup (`alcove_cgroup:add_proc/4`) stays
//! there, and what it starts stays there with it.

use crate::state::State;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the guardian waits for a killed tree to empty before removing
/// what it can.
const GUARD_WAIT: Duration = Duration::from_secs(5);

/// Most emptied cgroups remembered for removal later.
const LINGER_MAX: usize = 4096;

/// Most emptied leaves kept for reuse: making and removing a cgroup
/// directory costs more than the fork and exec it serves (about 125 us a
/// spawn here), entering an existing one next to nothing.
const SPARE_MAX: usize = 16;

/// The cgroup v2 mount point and this process's cgroup path in it.
fn own_cgroup() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mount = mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        (right.split_whitespace().next()? == "cgroup2").then(|| left.split_whitespace().nth(4))?
    })?;
    let cgroups = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let path = cgroups.lines().find_map(|l| l.strip_prefix("0::"))?;
    let mut dir = PathBuf::from(mount);
    dir.push(path.trim_start_matches('/'));
    Some(dir)
}

/// Move this process into `dir`.
fn enter(dir: &Path) -> bool {
    std::fs::write(dir.join("cgroup.procs"), b"0").is_ok()
}

/// SIGKILL to every process in `dir` and below, in one write.
pub fn kill(dir: &Path) {
    let _ = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.kill"))
        .and_then(|mut f| f.write_all(b"1"));
}

/// Remove `dir` and the cgroups below it, deepest first; false when one
/// is still in use.
pub fn remove_tree(dir: &Path, depth: usize) -> bool {
    if depth > 64 {
        return false;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&entry.path(), depth + 1);
            }
        }
    }
    match std::fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// True once no process is left in `dir` or below.
fn empty(dir: &Path) -> bool {
    match std::fs::read_to_string(dir.join("cgroup.events")) {
        Ok(events) => events.lines().any(|l| l == "populated 0"),
        Err(_) => true,
    }
}

/// The root helper, at a fresh start: make the driver's cgroup, leave a
/// guardian outside it, and enter it. Silently nothing where cgroup v2
/// with cgroup.kill is not available to this process. Called before the
/// helper becomes a subreaper, so the guardian is not reparented to it.
pub fn setup_root() -> Option<PathBuf> {
    let base = own_cgroup()?;
    let pid = nix::unistd::getpid().as_raw();
    let dir = base.join(format!("alcove.{pid}"));
    if dir.exists() {
        // Left by an earlier process that had this pid.
        kill(&dir);
        remove_tree(&dir, 0);
    }
    std::fs::create_dir(&dir).ok()?;
    if !dir.join("cgroup.kill").exists() {
        // A kernel before 5.14: no one-write kill.
        let _ = std::fs::remove_dir(&dir);
        return None;
    }
    if !spawn_guardian(pid, &dir) || !enter(&dir) {
        kill(&dir);
        remove_tree(&dir, 0);
        return None;
    }
    Some(dir)
}

/// Double-fork the guardian, so that it is nobody's child in the tree and
/// no process group or cgroup kill aimed at the tree reaches it.
fn spawn_guardian(helper: libc::pid_t, dir: &Path) -> bool {
    // Opened here, while the helper is certainly alive, and inherited.
    // SAFETY: pidfd_open takes integers only; nix has no wrapper for it.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, helper, 0u32) } as i32;
    if pidfd < 0 {
        return false;
    }
    // SAFETY: the helper is single-threaded; the intermediate child only
    // forks again and exits.
    let middle = unsafe { libc::fork() };
    if middle < 0 {
        crate::fdio::close(pidfd);
        return false;
    }
    if middle == 0 {
        // SAFETY: as above.
        if unsafe { libc::fork() } == 0 {
            guard(pidfd, dir);
        }
        // SAFETY: leave without running anything of the helper's.
        unsafe { libc::_exit(0) };
    }
    crate::fdio::close(pidfd);
    matches!(
        nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(middle), None),
        Ok(nix::sys::wait::WaitStatus::Exited(_, 0))
    )
}

/// The guardian: wait for the root helper to end (its pidfd turns
/// readable), then kill and remove the driver's cgroup.
fn guard(pidfd: i32, dir: &Path) -> ! {
    // A session of its own: no signal to the tree's process group or
    // session reaches the guardian.
    let _ = nix::unistd::setsid();
    let _ = nix::sys::prctl::set_name(c"alcove-guard");
    // Nothing of the helper's: above all not its control socket, whose
    // end of file tells the driver the helper is gone. stderr stays.
    crate::fdio::close_all_except(&[2, pidfd]);
    // A pidfd turns readable once its process has exited.
    while !crate::child_io::poll_one(pidfd, libc::POLLIN, -1) {}
    kill(dir);
    let deadline = Instant::now() + GUARD_WAIT;
    while !empty(dir) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
        kill(dir);
    }
    remove_tree(dir, 0);
    // SAFETY: leave without running the helper's destructors.
    unsafe { libc::_exit(0) }
}

/// The leaf a child about to be forked will enter, named by sequence (its
/// pid may differ in a new PID namespace).
pub fn child_dir(state: &mut State) -> Option<PathBuf> {
    let dir = state.cgroup.as_ref()?;
    if let Some(spare) = state.spare_leaves.pop() {
        return Some(spare);
    }
    state.cgroup_seq += 1;
    Some(dir.join(format!("c{}", state.cgroup_seq)))
}

/// The leaf a new child has: made by its parent and entered at the fork
/// (`CLONE_INTO_CGROUP`), or named only, for the child to enter when it
/// first forks or execs.
pub enum Pending {
    /// Entered already: the child started in it.
    Born(PathBuf),
    /// To be made and entered by the child itself ([`ensure_own`]).
    Enter(PathBuf),
}

/// In the new child: the leaf its parent gave it. A child started in it
/// has it from its first instruction; one its parent could not start
/// there (no `CLONE_INTO_CGROUP`, say) enters it when it first forks or
/// execs ([`ensure_own`]).
pub fn become_child(state: &mut State, leaf: Option<Pending>) {
    crate::state::leave_behind(&mut state.child_cgroups);
    crate::state::leave_behind(&mut state.lingering);
    crate::state::leave_behind(&mut state.spare_leaves);
    state.cgroup_seq = 0;
    state.cgroup = None;
    state.pending_cgroup = leaf;
}

/// Before this process forks or execs: take the leaf its parent gave it
/// as its own, entering it if it did not start in it, so that what it
/// starts can be killed with it. If it cannot (a new user namespace,
/// say), it stays in its parent's, still inside the driver's, and its
/// children get no leaves of their own.
///
/// A process that is no longer where its parent put it (moved into
/// another group, `alcove_cgroup:add_proc/4`, or forked by a parent that
/// was moved) stays where it was put, and what it starts stays there with
/// it: the group it was moved to keeps it.
pub fn ensure_own(state: &mut State) {
    let own = match state.pending_cgroup.take() {
        Some(Pending::Born(dir)) => in_cgroup(&dir).then_some(dir),
        Some(Pending::Enter(dir)) => {
            let in_parent = dir.parent().is_some_and(in_cgroup);
            (in_parent && make_leaf(&dir) && enter(&dir)).then_some(dir)
        }
        None => None,
    };
    if own.is_some() {
        state.cgroup = own;
    }
}

/// A leaf made (or a spare one taken) and opened, for a child to start
/// in (`CLONE_INTO_CGROUP`): entering a cgroup later (a write to its
/// `cgroup.procs`) waits for an RCU grace period when none has passed
/// for a while, 6 to 21 ms a process here, where starting in it costs
/// nothing. None where there is no leaf to have.
pub fn open_leaf(dir: &Path) -> Option<std::os::fd::OwnedFd> {
    let oflag =
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    let open = || nix::fcntl::open(dir, oflag, nix::sys::stat::Mode::empty());
    // A spare leaf is there already: opened without a mkdir first.
    match open() {
        Ok(fd) => return Some(fd),
        Err(nix::errno::Errno::ENOENT) => {}
        Err(_) => return None,
    }
    if !make_leaf(dir) {
        return None;
    }
    match open() {
        Ok(fd) => Some(fd),
        Err(_) => {
            let _ = std::fs::remove_dir(dir);
            None
        }
    }
}

/// Make a leaf, or take the spare one of that name (its parent kept it).
pub fn make_leaf(dir: &Path) -> bool {
    match std::fs::create_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::AlreadyExists,
    }
}

/// Whether this process is in the cgroup `dir`: listed in its
/// `cgroup.procs`. Pids there are as the reader sees them and the path is
/// the parent's view of the mount, so this holds in new PID and cgroup
/// namespaces too. Unreadable: assume it is.
fn in_cgroup(dir: &Path) -> bool {
    match std::fs::File::open(dir.join("cgroup.procs")) {
        Ok(file) => listed(file, std::process::id()),
        Err(_) => true,
    }
}

/// Whether `pid` is one of the lines of a `cgroup.procs`, read in fixed
/// chunks: no stat for a size hint (a seccomp allow-list need not name
/// it) and no allocation however many processes the group holds. A read
/// that fails part way counts as listed, as an unreadable file does.
fn listed(mut procs: impl std::io::Read, pid: u32) -> bool {
    let mut buf = [0u8; 4096];
    // The number on the current line so far; None once it is not one.
    let mut line: Option<u32> = Some(0);
    let mut digits = false;
    loop {
        let n = match procs.read(&mut buf) {
            Ok(0) => return digits && line == Some(pid),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        };
        for &b in &buf[..n] {
            match b {
                b'0'..=b'9' => {
                    digits = true;
                    line = line
                        .and_then(|v| v.checked_mul(10))
                        .and_then(|v| v.checked_add(u32::from(b - b'0')));
                }
                b'\n' => {
                    if digits && line == Some(pid) {
                        return true;
                    }
                    line = Some(0);
                    digits = false;
                }
                b' ' | b'\t' | b'\r' => {}
                _ => line = None,
            }
        }
    }
}

/// In the parent, after forking: remember the child's leaf.
pub fn adopt(state: &mut State, pid: i32, dir: Option<PathBuf>) {
    if let Some(dir) = dir {
        state.child_cgroups.push((pid, dir));
    }
}

/// A child was reaped: kill what is left in its leaf if asked (it died by
/// a signal, or was a helper), and remove the leaf once empty.
pub fn reaped(state: &mut State, pid: i32, kill_rest: bool) {
    if let Some(idx) = state.child_cgroups.iter().position(|(p, _)| *p == pid) {
        let (_, dir) = state.child_cgroups.swap_remove(idx);
        // A leaf may be missing (a child left to make its own that
        // neither forked nor exec'd), and an empty one holds nothing to
        // kill: it is kept for the next child while there is room, or
        // removed. Only a busy leaf is killed and walked.
        let kept = match leaf_state(&dir) {
            Leaf::Missing => true,
            Leaf::Empty if state.spare_leaves.len() < SPARE_MAX => {
                state.spare_leaves.push(dir.clone());
                true
            }
            _ => false,
        };
        if !kept && !remove_leaf(&dir) {
            if kill_rest {
                kill(&dir);
            }
            if !remove_tree(&dir, 0) && state.lingering.len() < LINGER_MAX {
                state.lingering.push(dir);
            }
        }
    }
    // Leaves whose processes were still exiting, or that exec'd programs'
    // background processes kept: retried on every reap.
    state.lingering.retain(|dir| !remove_tree(dir, 0));
}

enum Leaf {
    /// Never made (or removed).
    Missing,
    /// No process in it and no cgroup below it.
    Empty,
    /// Processes or cgroups in it, or unreadable.
    Busy,
}

/// What a child's leaf holds, from its `cgroup.events` and `cgroup.stat`.
fn leaf_state(dir: &Path) -> Leaf {
    let mut buf = [0u8; 512];
    let events = match read_head(&dir.join("cgroup.events"), &mut buf) {
        Ok(events) => events,
        Err(nix::errno::Errno::ENOENT) => return Leaf::Missing,
        Err(_) => return Leaf::Busy,
    };
    if leaf_value(events, "populated") != Some(0) {
        return Leaf::Busy;
    }
    match read_head(&dir.join("cgroup.stat"), &mut buf) {
        Ok(stat) if leaf_value(stat, "nr_descendants") == Some(0) => Leaf::Empty,
        _ => Leaf::Busy,
    }
}

/// The start of a file, one read into `buf`: a cgroup file's few lines
/// come whole in one read, without the stat and the growing reads of
/// `read_to_string`. A line cut off at the end does not count in
/// [`leaf_value`], so a longer file only reads as busy.
fn read_head<'a>(path: &Path, buf: &'a mut [u8]) -> Result<&'a [u8], nix::errno::Errno> {
    let oflag = nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open(path, oflag, nix::sys::stat::Mode::empty())?;
    loop {
        match nix::unistd::read(&fd, buf) {
            Ok(n) => return Ok(&buf[..n]),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `key`'s value in the start of a cgroup file (as the events files are
/// read, `cgroup_events::field`), from its whole lines only: the kernel
/// ends each, and a line cut off by the buffer does not count.
fn leaf_value(text: &[u8], key: &str) -> Option<u64> {
    let whole = text
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(&text[..0], |end| &text[..=end]);
    crate::cgroup_events::field(whole, key)
}

/// rmdir of one leaf: true when it is gone (removed now or never made).
fn remove_leaf(dir: &Path) -> bool {
    match std::fs::remove_dir(dir) {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
    }
}

/// Every leaf this process made for its children and still knows of.
fn leaves(state: &State) -> impl Iterator<Item = &PathBuf> {
    state
        .child_cgroups
        .iter()
        .map(|(_, dir)| dir)
        .chain(&state.lingering)
        .chain(&state.spare_leaves)
}

/// A helper shutting down: kill everything in its children's leaves.
pub fn kill_children(state: &State) {
    leaves(state).for_each(|dir| kill(dir));
}

/// Before exit: remove the children's leaves (best effort; a parent or
/// the guardian removes what is still busy).
pub fn remove_children(state: &State) {
    for dir in leaves(state) {
        remove_tree(dir, 0);
    }
}

/// `outlive`: leave the driver's cgroup tree for the cgroup the driver's
/// own cgroup (`alcove.<pid>`, the innermost one on the path) sits in,
/// the one the VM runs in, and forget the leaf this process would enter.
/// Its children get no leaves (they stay with it). Fails with the errno of
/// the move; a process in no driver's tree has nothing to leave.
pub fn leave(state: &mut State) -> Result<(), i32> {
    state.pending_cgroup = None;
    let Some(own) = own_cgroup() else {
        return Ok(());
    };
    let Some(target) = outside_tree(&own) else {
        return Ok(());
    };
    std::fs::write(target.join("cgroup.procs"), b"0")
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EIO))?;
    state.cgroup = None;
    Ok(())
}

/// Whether process `pid` called `outlive` somewhere below: it sits in the
/// cgroup `outlive` moves to, the one holding the driver's own cgroup (the
/// VM's), not just anywhere outside the tree. A helper shutting down
/// spares it even when it is only an orphan it adopted; a process moved
/// into a group of the user's (`alcove_cgroup:add_proc/4`) is not spared:
/// leaving the teardown cgroup for resource limits is not asking to
/// outlive the driver. False when this process is in no driver's tree or
/// either cgroup cannot be read.
pub fn outlived(pid: i32) -> bool {
    let path_of = |file: String| -> Option<PathBuf> {
        let text = std::fs::read_to_string(file).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("0::"))
            .map(PathBuf::from)
    };
    let Some(own) = path_of("/proc/self/cgroup".to_string()) else {
        return false;
    };
    let Some(outside) = outside_tree(&own) else {
        return false;
    };
    path_of(format!("/proc/{pid}/cgroup")).is_some_and(|theirs| theirs == outside)
}

/// The innermost driver cgroup (`alcove.<digits>`) on `path`.
fn driver_cgroup(path: &Path) -> Option<&Path> {
    let is_driver = |name: &std::ffi::OsStr| {
        name.to_str()
            .and_then(|n| n.strip_prefix("alcove."))
            .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
    };
    path.ancestors()
        .find(|dir| dir.file_name().is_some_and(is_driver))
}

/// The cgroup holding the innermost driver cgroup (`alcove.<digits>`) on
/// `path`, if there is one.
fn outside_tree(path: &Path) -> Option<PathBuf> {
    driver_cgroup(path)
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_value_needs_the_whole_line() {
        assert_eq!(leaf_value(b"populated 0\nfrozen 0\n", "populated"), Some(0));
        assert_eq!(
            leaf_value(b"a 1\nnr_descendants 0\n", "nr_descendants"),
            Some(0)
        );
        assert_ne!(leaf_value(b"populated 1\n", "populated"), Some(0));
        assert_eq!(leaf_value(b"nr_descendants 0", "nr_descendants"), None);
        assert_ne!(
            leaf_value(b"nr_descendants 01\n", "nr_descendants"),
            Some(0)
        );
        assert_eq!(leaf_value(b"", "populated"), None);
    }

    #[test]
    fn listed_matches_whole_pids() {
        let at = |text: &str, pid| listed(text.as_bytes(), pid);
        assert!(at("12\n345\n", 345));
        assert!(at("12\n345\n", 12));
        assert!(at("12\n345", 345));
        assert!(!at("12\n345\n", 34));
        assert!(!at("12\n345\n", 1234));
        assert!(!at("", 1));
        assert!(!at("\n\n", 0));
        assert!(!at("x\n", 1));
        assert!(!at("1x\n", 1));
        assert!(!at("99999999999\n", 1));
        // Across chunk boundaries.
        let many: String = (1..3000).map(|p| format!("{p}\n")).collect();
        assert!(at(&many, 2999));
        assert!(!at(&many, 3000));
    }

    #[test]
    fn outside_the_innermost_driver_cgroup() {
        let at = |p: &str| outside_tree(Path::new(p));
        assert_eq!(
            at("/sys/fs/cgroup/vm.scope/alcove.12/c1/c3"),
            Some(PathBuf::from("/sys/fs/cgroup/vm.scope"))
        );
        assert_eq!(
            at("/sys/fs/cgroup/vm.scope/alcove.12"),
            Some(PathBuf::from("/sys/fs/cgroup/vm.scope"))
        );
        assert_eq!(
            at("/cg/alcove.1/c1/alcove.7/c2"),
            Some(PathBuf::from("/cg/alcove.1/c1"))
        );
        assert_eq!(at("/sys/fs/cgroup/alcove.x/c1"), None);
        assert_eq!(at("/sys/fs/cgroup/alcove./c1"), None);
        assert_eq!(at("/sys/fs/cgroup/user.slice"), None);
    }
}
