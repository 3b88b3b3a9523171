//! Process calls: fork(2), clone(2), getpid(2), exit(3), kill(2).

use crate::args::{Args, CallError, CallResult};
use crate::child_fds::ChildFds;
use crate::consts::{clone::CLONE, signal::SIGNAL};
use crate::fdio;
use crate::state::{Child, CtlState, State};
use alcove_proto::{FrameReader, Value};
use nix::errno::Errno;
use nix::sys::resource::Resource;
use nix::unistd::ForkResult;
use std::ffi::CStr;
use std::os::unix::io::{AsRawFd, RawFd};

/// getpid(2)
pub fn getpid(_state: &mut State, _args: &Args) -> CallResult {
    Ok(Value::Int(current_pid() as i64))
}

/// How a child is made.
#[derive(Clone, Copy)]
pub enum Spawn {
    Fork,
    /// clone(2) with these flags.
    Clone(i64),
    /// clone3(2) with these flags, into the cgroup v2 directory open at
    /// the fd (`CLONE_INTO_CGROUP`), outside the driver's teardown tree.
    CloneInto(i64, RawFd),
}

/// fork(2): a new helper in the same event loop.
pub fn fork(state: &mut State, _args: &Args) -> CallResult {
    spawn(state, Spawn::Fork)
}

/// clone(2) with namespace and other flags, fork-like (no shared memory).
pub fn clone(state: &mut State, args: &Args) -> CallResult {
    let flags = clone_flags(args, 0)?;
    spawn(state, Spawn::Clone(flags))
}

/// Clone flags at argument `index`, refusing those that would share the
/// helper's memory, thread group or signal handlers (which would corrupt
/// it) and an exit signal (always SIGCHLD).
pub fn clone_flags(args: &Args, index: usize) -> Result<i64, CallError> {
    let flags = args.flags(index, CLONE)?;
    let forbidden =
        (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND | libc::CLONE_VFORK) as i64;
    if flags & forbidden != 0 || flags & 0x7f != 0 {
        return Err(CallError::Errno(libc::EINVAL));
    }
    Ok(flags)
}

pub fn spawn(state: &mut State, how: Spawn) -> CallResult {
    if state.depth >= state.opts.maxforkdepth
        || state.children.len() as i64 >= state.opts.maxchild.min(nofile_limit())
    {
        return Err(CallError::Errno(libc::EAGAIN));
    }
    let pty = state.opts.pty == 1;
    let fds = ChildFds::new(pty, true).map_err(CallError::Errno)?;
    // Output queued for upstream must not be duplicated into the child.
    crate::event_loop::flush_upstream(state);
    crate::shortcut::flush(state);
    // The root helper's children get their shortcut with the first call
    // relayed to them (`shortcut::on_relay`); deeper ones at once, so that
    // a stopped helper above them never holds up their calls.
    let shortcut = match state.depth {
        0 => None,
        _ => crate::shortcut::pair_for_child(state),
    };
    let offers_later = state.depth == 0 && crate::shortcut::can_offer(state);
    // Signals wait until the child has a signal pipe of its own: one
    // caught in between would be written to the parent's pipe.
    crate::teardown::ensure_own(state);
    let saved_mask = crate::signals::block_all();
    let parent = current_pid();
    // A child cloned into a cgroup of the caller's stays there: it gets no
    // teardown leaf (entering one would move it out).
    let cgroup = match how {
        Spawn::CloneInto(..) => None,
        _ => crate::teardown::child_dir(state),
    };
    // Started in its leaf where the kernel can (the leaf made and opened
    // here): entering it later, at its first exec, could wait milliseconds.
    let leaf = cgroup.as_deref().and_then(crate::teardown::open_leaf);
    let mut born = false;
    let pid = match how {
        Spawn::CloneInto(flags, dir) => crate::sys::cgroup::clone3_into(flags, dir),
        Spawn::Fork | Spawn::Clone(_) => {
            let flags = match how {
                Spawn::Clone(flags) => flags,
                _ => 0,
            };
            let leaf = leaf.as_ref().map(AsRawFd::as_raw_fd);
            match crate::sys::cgroup::clone3_into_leaf(flags, leaf) {
                Some(pid) => {
                    born = pid.is_ok();
                    pid
                }
                // The child enters its leaf itself.
                None => fork_or_clone(flags),
            }
        }
    };
    drop(leaf);
    if pid != Ok(0) {
        crate::signals::restore_mask(&saved_mask);
    }
    let pid = match pid {
        Ok(pid) => pid,
        Err(err) => {
            fds.parent_ends()
                .into_iter()
                .chain(fds.child_ends())
                .for_each(fdio::close);
            if let Some(dir) = &cgroup {
                let _ = std::fs::remove_dir(dir);
            }
            if let Some(pair) = shortcut {
                pair.close();
            }
            return Err(err.into());
        }
    };
    if pid == 0 {
        become_child(state, &fds, parent);
        crate::shortcut::in_child(state, shortcut);
        state.shortcut_expected = offers_later;
        let leaf = cgroup.map(|dir| match born {
            true => crate::teardown::Pending::Born(dir),
            false => crate::teardown::Pending::Enter(dir),
        });
        crate::teardown::become_child(state, leaf);
        crate::signals::restore_mask(&saved_mask);
        return Ok(Value::ok());
    }
    fds.child_ends().into_iter().for_each(fdio::close);
    crate::teardown::adopt(state, pid, cgroup);
    // The control socket was made non-blocking (both ends).
    let child = new_child(state, pid, &fds);
    state.children.push(child);
    crate::shortcut::in_parent(state, pid, shortcut);
    Ok(Value::ok_with(Value::Int(pid as i64)))
}

/// The parent's record of a new child, its stdio on the parent ends of
/// `fds` (non-blocking from now on).
pub fn new_child(state: &State, pid: i32, fds: &ChildFds) -> Child {
    for fd in [fds.stdin.0, fds.stdout.0, fds.stderr.0] {
        fdio::set_nonblock_new(fd);
    }
    Child {
        pid,
        ctl: fds.ctl.0,
        ctl_state: if fds.ctl.0 >= 0 {
            CtlState::Open
        } else {
            CtlState::Closed
        },
        ctl_reader: FrameReader::new(),
        ctl_out: Default::default(),
        stdin: fds.stdin.0,
        stdin_queue: Default::default(),
        stdin_limit: usize::try_from(state.opts.stdin_queue).unwrap_or(0),
        stdin_eof_pending: false,
        stdout: fds.stdout.0,
        stderr: fds.stderr.0,
        pending_noreturn: None,
        pending_exit: false,
        killpg: false,
        outlives: false,
        inflight: Vec::new(),
        flowcontrol: state.opts.flowcontrol,
        held: false,
        signaloneof: state.opts.signaloneof,
        exited: None,
        seccomp_listeners: Vec::new(),
        exec_report: None,
        shortcut: None,
        direct: 0,
        reported: false,
        handover: false,
        shortcut_offered: false,
        marked: false,
        mark_pending: false,
        stdin_taken: 0,
    }
}

/// fork(2): the child's pid in the parent, 0 in the child.
pub fn fork_child() -> Result<libc::pid_t, Errno> {
    // SAFETY: fork is unsafe for a multi-threaded caller, whose child may
    // only run async-signal-safe code; the helper is single-threaded, so
    // its child may go on running Rust code.
    let forked = unsafe { nix::unistd::fork() }?;
    Ok(match forked {
        ForkResult::Parent { child } => child.as_raw(),
        ForkResult::Child => 0,
    })
}

/// fork(2), or clone(2) used like it when there are flags.
pub fn fork_or_clone(flags: i64) -> Result<libc::pid_t, Errno> {
    match flags {
        0 => fork_child(),
        flags => clone_fork(flags),
    }
}

/// clone(2) used like fork: no new stack, returning in both processes.
/// nix's clone cannot do this: it runs a callback on a stack of the
/// caller's, the thread-like use of clone.
pub fn clone_fork(flags: i64) -> Result<libc::pid_t, Errno> {
    // SAFETY: without CLONE_VM and with a null stack the child gets a copy
    // of the address space, as with fork (the caller refused the flags
    // that would share memory, a thread group or signal handlers), and the
    // helper is single-threaded, so the child may go on running Rust code.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone,
            flags as libc::c_ulong | libc::SIGCHLD as libc::c_ulong,
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    Errno::result(pid).map(|pid| pid as libc::pid_t)
}

pub fn nofile_limit() -> i64 {
    let Ok((soft, _)) = nix::sys::resource::getrlimit(Resource::RLIMIT_NOFILE) else {
        return i64::MAX;
    };
    // Each child costs four fds here; keep room for the helper's own.
    (soft as i64 - 16).max(0) / 4
}

/// In the new child: stdio onto the pipes, drop every fd that belongs to
/// the parent or a sibling, and serve the control socket.
fn become_child(state: &mut State, fds: &ChildFds, parent: libc::pid_t) {
    crate::lifecycle::die_with_parent(parent);
    // Before anything is served: a child asked to run without new
    // privileges must never run a call with them.
    if state.opts.no_new_privs == 1 && nix::sys::prctl::set_no_new_privs().is_err() {
        exit_now(1)
    }
    // Only the process that asked to outlive its driver does.
    state.outlive = false;
    let pty = state.opts.pty == 1;
    let stderr = if state.opts.stderr_to_stdout == 1 || pty {
        fds.stdout.1
    } else {
        fds.stderr.1
    };
    let _ = fdio::with_fd(fds.stdin.1, |fd| nix::unistd::dup2_stdin(fd));
    let _ = fdio::with_fd(fds.stdout.1, |fd| nix::unistd::dup2_stdout(fd));
    let _ = fdio::with_fd(stderr, |fd| nix::unistd::dup2_stderr(fd));
    // The parent's channel goes on CTL_FD, replacing our copy of the
    // parent's own.
    if fds.ctl.1 != crate::state::CTL_FD
        && fdio::move_fd_copy(fds.ctl.1, crate::state::CTL_FD).is_err()
    {
        // A forked child that cannot reach its parent.
        exit_now(1)
    }
    // Every fd made for this fork (but the ones just put in place) and
    // every sibling's, closed in a few close_range calls: they were made
    // one after another.
    let mut closing: Vec<RawFd> = fds
        .parent_ends()
        .into_iter()
        .chain(fds.child_ends())
        .filter(|&fd| fd > 2 && fd != crate::state::CTL_FD)
        .collect();
    closing.extend(state.children.iter().flat_map(Child::fds));
    // Fds the parent was passed by its own parent and had not used yet.
    closing.append(&mut state.up_fds);
    fdio::close_many(closing);
    crate::state::leave_behind(&mut state.children);
    // The parent's cgroup watches stay the parent's: dropping the copies
    // closes them (the parent's inotify watches and eventfd registrations
    // live on in its open files).
    state.cgwatch = Default::default();
    if pty {
        crate::pty::become_session_leader();
        // Its own children get pipes unless it asks.
        state.opts.pty = 0;
    }
    let ctl = crate::state::CTL_FD;
    // Non-blocking already: the socket pair was made so.
    state.up_read = ctl;
    state.up_write = ctl;
    state.up_reader = FrameReader::new();
    state.up_out.clear();
    state.up_closed = false;
    state.watch_stdin = true;
    state.depth += 1;
    state.epoch += 1;
    state.filter = state.child_filter;
    crate::lifecycle::become_subreaper(true);
    if state.signals.renew().is_err() {
        // Without a signal pipe the child cannot reap: give up now.
        exit_now(1)
    }
}

/// _exit(2), which nix does not wrap: leave at once, running neither
/// destructors nor atexit handlers (the parent's, in a forked child).
fn exit_now(status: libc::c_int) -> ! {
    // SAFETY: _exit ends the process; nothing in it needs unwinding.
    unsafe { libc::_exit(status) }
}

fn current_pid() -> libc::pid_t {
    nix::unistd::getpid().as_raw()
}

/// exit(3): leave without running the parent's destructors. A forked
/// helper's parent answers `ok` when it sees the control channel close,
/// so when the caller has its answer the parent's record of the child
/// shows it gone, as in the original; the root helper answers itself.
pub fn exit(state: &mut State, args: &Args) -> CallResult {
    let status = args.i32(0)?;
    if state.depth == 0 {
        state.send_value(
            alcove_proto::Kind::Reply,
            state.current_request,
            &[],
            &Value::ok(),
        );
    }
    crate::lifecycle::flush_before_exit(state);
    exit_now(status)
}

/// kill(2)
pub fn kill(_state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let signum = args.constant(1, SIGNAL)?;
    let signum = i32::try_from(signum).map_err(|_| CallError::Badarg)?;
    send_signal(pid, signum).map_err(|_| CallError::last_os())?;
    Ok(Value::ok())
}

/// kill(2) by number. A raw call: nix's Signal is an enum without the
/// real-time signals (`signaloneof` may name one), and an unknown number
/// must reach the kernel (EINVAL from there).
pub fn send_signal(pid: i32, signum: i32) -> Result<(), ()> {
    // SAFETY: kill has no memory effects.
    if unsafe { libc::kill(pid, signum) } < 0 {
        return Err(());
    }
    Ok(())
}

/// setproctitle(3): on Linux, the process name (prctl PR_SET_NAME; the
/// kernel keeps 15 bytes).
pub fn setproctitle(_state: &mut State, args: &Args) -> CallResult {
    let mut title = args.iodata(0)?;
    title.retain(|&b| b != 0);
    title.truncate(15);
    title.push(0);
    let title = CStr::from_bytes_with_nul(&title).map_err(|_| CallError::Badarg)?;
    // The result is ignored, as in the original.
    let _ = nix::sys::prctl::set_name(title);
    Ok(Value::ok())
}

/// waitpid(2) options.
static WAIT: &[(&str, i64)] = &[
    ("wnohang", libc::WNOHANG as i64),
    ("wuntraced", libc::WUNTRACED as i64),
    ("wcontinued", libc::WCONTINUED as i64),
    ("wall", libc::__WALL as i64),
    ("wclone", libc::__WCLONE as i64),
    ("wnothread", libc::__WNOTHREAD as i64),
];

/// waitpid(2): `{ok, Pid, Status, [WaitStatus]}` as in the original
/// (`{ok, 0, 0, []}` when nothing changed under `wnohang`). The event loop
/// reaps its own children unless SIGCHLD is set to `sig_info`; a child the
/// caller reaps here is forgotten without an exit event.
pub fn waitpid(state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let options = i32::try_from(args.flags(1, WAIT)?).map_err(|_| CallError::Badarg)?;
    let mut status = 0;
    // A raw call: nix's waitpid returns a decoded WaitStatus, not the status
    // word the reply carries, and fails (EINVAL) to decode one for a
    // realtime signal.
    // SAFETY: status is a valid int to write to.
    let rc = unsafe { libc::waitpid(pid, &mut status, options) };
    if rc < 0 {
        return Err(CallError::last_os());
    }
    let mut statuses = Vec::new();
    if rc > 0 {
        let signal = |n| Value::atom(crate::consts::signal::name(n));
        if libc::WIFEXITED(status) {
            statuses.push(Value::tuple2(
                Value::atom("exit_status"),
                Value::Int(libc::WEXITSTATUS(status) as i64),
            ));
        }
        if libc::WIFSIGNALED(status) {
            statuses.push(Value::tuple2(
                Value::atom("termsig"),
                signal(libc::WTERMSIG(status)),
            ));
        }
        if libc::WIFSTOPPED(status) {
            statuses.push(Value::tuple2(
                Value::atom("stopsig"),
                signal(libc::WSTOPSIG(status)),
            ));
        }
        if libc::WIFCONTINUED(status) {
            statuses.push(Value::atom("continued"));
        }
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            crate::lifecycle::reaped_by_caller(state, rc);
        }
    }
    Ok(Value::Tuple(vec![
        Value::ok(),
        Value::Int(rc as i64),
        Value::Int(status as i64),
        Value::List(statuses),
    ]))
}
