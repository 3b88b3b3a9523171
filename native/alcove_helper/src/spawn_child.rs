//! The child side of `fork_exec`: between fork and exec it only makes
//! async-signal-safe system calls on what the parent prepared (no
//! allocation, no lock, no panic). A failure is written to the report
//! pipe as (step index, errno), then `_exit(127)`; a successful exec
//! closes the pipe (close-on-exec), which tells the parent.

use crate::spawn_steps::Step;
use std::os::unix::io::RawFd;

/// The step index reported for the exec itself.
pub const EXEC_INDEX: i32 = -1;

/// What the child gets from the parent, all made before the fork.
pub struct ChildSetup<'a> {
    pub parent: libc::pid_t,
    /// The report pipe's write end (close-on-exec).
    pub report: RawFd,
    /// The child ends of stdin, stdout and stderr.
    pub stdio: [RawFd; 3],
    /// A pseudo-terminal: become its session leader.
    pub pty: bool,
    /// The teardown leaf's `cgroup.procs`, open for writing (-1: none).
    pub cgroup_procs: RawFd,
    /// Lead a process group of its own (no step sets one).
    pub own_group: bool,
    /// The signals to set to their default action before the exec
    /// (`Signals::kept_over_exec`): the others an exec resets itself.
    pub signals_kept: u128,
    /// The helper's `no_new_privs` option.
    pub no_new_privs: bool,
    /// Credential changes re-arm the parent-death signal.
    pub die_with_parent: bool,
    pub steps: &'a [Step],
    pub candidates: &'a [*const libc::c_char],
    pub argv: &'a [*const libc::c_char],
    /// `/bin/sh`, a slot for the file, then argv past its first: a file
    /// that is not an executable format is run by the shell, as execvp
    /// does (filled here, no allocation).
    pub sh_argv: Vec<*const libc::c_char>,
    /// None: the environment of the process at exec time.
    pub envp: Option<&'a [*const libc::c_char]>,
}

extern "C" {
    static environ: *const *const libc::c_char;
}

/// Run in the new child: never returns.
pub fn run(mut setup: ChildSetup) -> ! {
    if setup.cgroup_procs >= 0 {
        // Into its teardown leaf first, while still privileged: what it
        // starts can then be killed with it. A failure leaves it in the
        // parent's cgroup, as an exec'd helper would be.
        // SAFETY: write(2) of a live one-byte buffer.
        unsafe { libc::write(setup.cgroup_procs, b"0".as_ptr().cast(), 1) };
    }
    if setup.die_with_parent {
        arm_parent_death();
        // The parent may be gone already (in a new PID namespace it is
        // outside and getppid() is 0).
        // SAFETY: getppid(2) has no memory effects.
        let ppid = unsafe { libc::getppid() };
        if ppid != setup.parent && ppid != 0 {
            exit(1);
        }
    }
    for (fd, target) in setup.stdio.iter().zip([0, 1, 2]) {
        if *fd == target {
            // Already in place, but close-on-exec as made: keep it open.
            // SAFETY: fcntl(2) on integers.
            unsafe { libc::fcntl(target, libc::F_SETFD, 0) };
        } else if *fd >= 0 {
            // SAFETY: dup2(2) on integers; the target is one of our stdio fds.
            unsafe { libc::dup2(*fd, target) };
        }
    }
    // Everything else is the helper's: closed at exec. The report pipe
    // is close-on-exec already, and stays open until then.
    // SAFETY: close_range(2) with CLOSE_RANGE_CLOEXEC only sets flags.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if setup.pty {
        crate::pty::become_session_leader();
    } else if setup.own_group {
        // SAFETY: setpgid(2) on integers.
        unsafe { libc::setpgid(0, 0) };
    }
    if setup.no_new_privs && no_new_privs() < 0 {
        fail(setup.report, EXEC_INDEX);
    }
    for (index, step) in setup.steps.iter().enumerate() {
        if apply(step) < 0 {
            fail(setup.report, index as i32);
        }
        if setup.die_with_parent && step.changes_ids() {
            arm_parent_death();
        }
    }
    // Default dispositions and an empty mask, as an exec'd helper leaves.
    crate::signals::reset_for_exec(setup.signals_kept);
    let envp = match setup.envp {
        Some(envp) => envp.as_ptr(),
        // SAFETY: reading the environ pointer; the process is
        // single-threaded, nothing changes it meanwhile.
        None => unsafe { environ },
    };
    let mut errno = libc::ENOENT;
    let mut denied = false;
    for &path in setup.candidates.iter().take_while(|p| !p.is_null()) {
        // SAFETY: path, argv and envp are NUL-terminated strings and
        // NULL-terminated arrays the parent built and this copy still holds.
        unsafe { libc::execve(path, setup.argv.as_ptr(), envp) };
        errno = last_errno();
        if errno == libc::ENOEXEC {
            if let Some(slot) = setup.sh_argv.get_mut(1) {
                *slot = path;
                // SAFETY: as above; sh_argv is NULL-terminated and points
                // into strings the parent built.
                unsafe { libc::execve(c"/bin/sh".as_ptr(), setup.sh_argv.as_ptr(), envp) };
                errno = last_errno();
            }
            break;
        }
        match errno {
            libc::EACCES => denied = true,
            libc::ENOENT
            | libc::ENOTDIR
            | libc::ESTALE
            | libc::ELOOP
            | libc::ENAMETOOLONG
            | libc::ENODEV
            | libc::ETIMEDOUT => {}
            _ => break,
        }
    }
    // As execvp: a file found but not executable is EACCES, even when a
    // later entry was not found.
    if denied && matches!(errno, libc::ENOENT | libc::ENOTDIR) {
        errno = libc::EACCES;
    }
    report(setup.report, EXEC_INDEX, errno)
}

/// One step; -1 with errno set on failure.
fn apply(step: &Step) -> libc::c_int {
    match step {
        // SAFETY: (each arm) the syscall gets integers, or NUL-terminated
        // strings and arrays owned by the plan, which outlives the call.
        Step::Chdir(dir) => unsafe { libc::chdir(dir.as_ptr()) },
        // SAFETY: as above.
        Step::Chroot(dir) => unsafe { libc::chroot(dir.as_ptr()) },
        Step::Setrlimit(resource, cur, max) => {
            let limit = libc::rlimit {
                rlim_cur: *cur,
                rlim_max: *max,
            };
            // SAFETY: as above; limit is live.
            unsafe { libc::setrlimit(*resource as _, &limit) }
        }
        // SAFETY: as above; the length is the slice's.
        Step::Setgroups(groups) => unsafe { libc::setgroups(groups.len(), groups.as_ptr()) },
        // SAFETY: as above.
        Step::Setgid(gid) => unsafe { libc::setgid(*gid) },
        // SAFETY: as above.
        Step::Setuid(uid) => unsafe { libc::setuid(*uid) },
        Step::Umask(mask) => {
            // SAFETY: as above.
            unsafe { libc::umask(*mask) };
            0
        }
        // SAFETY: as above.
        Step::Setsid => unsafe { libc::setsid() },
        // SAFETY: as above.
        Step::Setpgid(pgid) => unsafe { libc::setpgid(0, *pgid) },
        Step::NoNewPrivs => no_new_privs(),
    }
}

fn no_new_privs() -> libc::c_int {
    // SAFETY: prctl(2) with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) }
}

fn arm_parent_death() {
    // SAFETY: prctl(2) with integer arguments.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
}

/// errno, read in place (no allocation).
fn last_errno() -> i32 {
    nix::errno::Errno::last_raw()
}

fn fail(report_fd: RawFd, index: i32) -> ! {
    report(report_fd, index, last_errno())
}

/// Tell the parent which step failed and why, in one write (under
/// PIPE_BUF, so whole), then leave.
fn report(report_fd: RawFd, index: i32, errno: i32) -> ! {
    let mut message = [0u8; 8];
    message[..4].copy_from_slice(&index.to_ne_bytes());
    message[4..].copy_from_slice(&errno.to_ne_bytes());
    // SAFETY: write(2) of a live 8-byte buffer.
    unsafe { libc::write(report_fd, message.as_ptr().cast(), message.len()) };
    exit(127)
}

fn exit(status: libc::c_int) -> ! {
    // SAFETY: _exit(2) ends the process without running the helper's
    // destructors or atexit handlers.
    unsafe { libc::_exit(status) }
}

/// Decode a report: (step index, errno); None for a short read.
pub fn decode_report(bytes: &[u8]) -> Option<(i32, i32)> {
    let index = i32::from_ne_bytes(bytes.get(..4)?.try_into().ok()?);
    let errno = i32::from_ne_bytes(bytes.get(4..8)?.try_into().ok()?);
    Some((index, errno))
}

#[cfg(test)]
#[path = "test_spawn_child.rs"]
mod tests;
