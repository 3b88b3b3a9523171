//! Cgroup calls: event watches (see `cgwatch`) and clone3(2) with
//! `CLONE_INTO_CGROUP`.

use crate::args::{Args, CallError, CallResult};
use crate::state::State;
use alcove_proto::Value;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::AsRawFd;
use std::os::unix::io::RawFd;

/// `CLONE_INTO_CGROUP` (Linux 5.7; not in the libc crate for glibc).
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// cgroups(7): watch the cgroup directory `Dir`; its changes come to the
/// owner as `{cgroup, Event}` events until `cgroup_unwatch`.
pub fn cgroup_watch(state: &mut State, args: &Args) -> CallResult {
    let dir = args.cstring(0)?;
    let id = state
        .cgwatch
        .add(dir.as_bytes())
        .map_err(CallError::Errno)?;
    Ok(Value::ok_with(Value::Int(id as i64)))
}

/// Stop a watch made by `cgroup_watch`; `{error, einval}` for an unknown id.
pub fn cgroup_unwatch(state: &mut State, args: &Args) -> CallResult {
    let id = args.u64(0)?;
    state.cgwatch.remove(id).map_err(CallError::Errno)?;
    Ok(Value::ok())
}

/// clone3(2) with `CLONE_INTO_CGROUP`: a child helper, like `clone`, that
/// is in the cgroup v2 directory `Dir` from its first instruction.
pub fn clone_into(state: &mut State, args: &Args) -> CallResult {
    let flags = crate::sys::process::clone_flags(args, 0)?;
    let dir = args.cstring(1)?;
    let oflag = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let dir = nix::fcntl::open(dir.as_c_str(), oflag, Mode::empty())?;
    // The fd closes when `dir` drops, in the parent and in the child.
    crate::sys::process::spawn(
        state,
        crate::sys::process::Spawn::CloneInto(flags, dir.as_raw_fd()),
    )
}

/// The kernel's `struct clone_args` (CLONE_ARGS_SIZE_VER2, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// clone3(2) used like fork (no new stack), the child in the cgroup open
/// at `dir`. A kernel without clone3 answers ENOSYS (before 5.3), one
/// without `CLONE_INTO_CGROUP` E2BIG or EINVAL (before 5.7): the error
/// is returned, with no fallback.
pub fn clone3_into(flags: i64, dir: RawFd) -> Result<libc::pid_t, Errno> {
    let args = CloneArgs {
        flags: flags as u64 | CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: dir as u64,
        ..Default::default()
    };
    // SAFETY: args is a valid clone_args of the size passed. Without
    // CLONE_VM and with no stack the child gets a copy of the address
    // space, as with fork (the caller refused the flags that would share
    // memory, a thread group or signal handlers), and the helper is
    // single-threaded, so the child may go on running Rust code.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    Errno::result(pid).map(|pid| pid as libc::pid_t)
}

/// clone3 into the teardown leaf open at `leaf`, if there is one. None
/// when the caller should make the child the old way instead: no leaf, or
/// a clone3 into it refused for the cgroup or for clone3 itself (a kernel
/// without it, a flag it refuses, a cgroup that may not take the child).
/// A refusal to make the process at all (a pids limit's EAGAIN, ENOMEM)
/// is returned: a second try would only count a second refusal.
pub fn clone3_into_leaf(flags: i64, leaf: Option<RawFd>) -> Option<Result<libc::pid_t, Errno>> {
    match clone3_into(flags, leaf?) {
        Err(errno) if into_refused(errno) => None,
        pid => Some(pid),
    }
}

fn into_refused(errno: Errno) -> bool {
    matches!(
        errno,
        Errno::ENOSYS
            | Errno::E2BIG
            | Errno::EINVAL
            | Errno::EPERM
            | Errno::EACCES
            | Errno::EBUSY
            | Errno::EOPNOTSUPP
            | Errno::ENODEV
            | Errno::ENOENT
            | Errno::EBADF
    )
}
