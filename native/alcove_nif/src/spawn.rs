//! Starting the helper so that its exit status can be collected.
//!
//! The VM ignores SIGCHLD, so the kernel reaps its children the moment they
//! exit and `waitpid` fails with ECHILD: how the helper ended was lost. The
//! helper is started with `clone3(CLONE_PIDFD)`; the pidfd stays valid after
//! the automatic reaping, and since Linux 6.15 it still yields the exit
//! status (`PIDFD_GET_INFO` with `PIDFD_INFO_EXIT`). Where the VM does reap
//! normally, `waitid(P_PIDFD)` gives it. Older kernels report -1 (unknown).

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::io::{AsRawFd, OwnedFd};

/// A started helper: its pid, to wait for with [`wait`].
pub struct Spawned {
    pub pid: libc::pid_t,
    /// A pidfd for the helper, when the kernel has clone3 (-1 otherwise).
    pub pidfd: i32,
}

/// `struct clone_args` as of Linux 5.3 (CLONE_ARGS_SIZE_VER0).
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
}

/// `struct pidfd_info` (PIDFD_INFO_SIZE_VER0, Linux 6.13; `exit_code`
/// filled in from 6.15).
#[repr(C)]
#[derive(Default)]
struct PidfdInfo {
    mask: u64,
    cgroupid: u64,
    ids: [u32; 11],
    exit_code: i32,
}

const PIDFD_INFO_EXIT: u64 = 1 << 3;
/// _IOWR(0xFF, 11, struct pidfd_info)
const PIDFD_GET_INFO: libc::c_ulong = (3 << 30) | (64 << 16) | (0xFF << 8) | 11;
const P_PIDFD: libc::idtype_t = 3;

/// The full path of `program`: as given when it holds a slash, else the
/// first executable match on PATH (as execvp would find it).
fn resolve(program: &OsStr, path: Option<OsString>) -> Option<CString> {
    if program.as_bytes().contains(&b'/') {
        return CString::new(program.as_bytes()).ok();
    }
    let path = path.unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .and_then(|found| CString::new(found.into_os_string().into_vec()).ok())
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// Start `argv` with the VM's environment plus `envs`, `socket` as its
/// stdin and stdout, stderr inherited, in a process group of its own (a
/// signal to the helper's group must not reach the VM). Err is an errno.
pub fn spawn(
    argv: &[OsString],
    envs: &[(OsString, OsString)],
    socket: &OwnedFd,
) -> Result<Spawned, i32> {
    let (program, _) = argv.split_first().ok_or(libc::EINVAL)?;
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !envs.iter().any(|(e, _)| e == k))
        .collect();
    vars.extend(envs.iter().cloned());
    let path_var = vars
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone());
    let path = resolve(program, path_var).ok_or(libc::ENOENT)?;
    let cstr = |b: &[u8]| CString::new(b).map_err(|_| libc::EINVAL);
    let args = argv
        .iter()
        .map(|a| cstr(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let env = vars
        .iter()
        .map(|(k, v)| cstr(&[k.as_bytes(), b"=", v.as_bytes()].concat()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
    arg_ptrs.push(std::ptr::null());
    let mut env_ptrs: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).collect();
    env_ptrs.push(std::ptr::null());
    // The child reports a failed exec through this pipe; a successful
    // exec closes it (close-on-exec) and the parent reads end of file.
    let mut report = [-1; 2];
    // SAFETY: report is an array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(report.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(errno());
    }
    let sock = socket.as_raw_fd();
    let mut pidfd: i32 = -1;
    let mut args = CloneArgs {
        flags: libc::CLONE_PIDFD as u64,
        pidfd: &mut pidfd as *mut i32 as u64,
        exit_signal: libc::SIGCHLD as u64,
        ..Default::default()
    };
    // SAFETY: a fork-like clone3 (no shared memory, no new stack) that also
    // returns a pidfd into `pidfd`. In the child, a copy of one thread of a
    // multithreaded process, only async-signal-safe system calls run on
    // memory prepared above, then execve or _exit. nix has no clone3.
    let mut pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid < 0 && errno() == libc::ENOSYS {
        // SAFETY: as above, with the older fork-like clone.
        pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                libc::SIGCHLD as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
    }
    if pid == 0 {
        // SAFETY: the child; see above.
        unsafe {
            libc::close(report[0]);
            libc::dup2(sock, 0);
            libc::dup2(sock, 1);
            libc::setpgid(0, 0);
            let empty: libc::sigset_t = std::mem::zeroed();
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            libc::execve(path.as_ptr(), arg_ptrs.as_ptr(), env_ptrs.as_ptr());
            let code = *libc::__errno_location();
            libc::write(report[1], (&code as *const i32).cast(), 4);
            libc::_exit(127);
        }
    }
    let clone_errno = errno();
    // SAFETY: the parent's copy of the write end is not used.
    unsafe { libc::close(report[1]) };
    if pid < 0 {
        // SAFETY: closing the read end this function opened.
        unsafe { libc::close(report[0]) };
        return Err(clone_errno);
    }
    let pid = pid as libc::pid_t;
    let mut code = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        // SAFETY: reading into the rest of a 4-byte buffer.
        let n = unsafe { libc::read(report[0], code[got..].as_mut_ptr().cast(), 4 - got) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    // SAFETY: closing the read end this function opened.
    unsafe { libc::close(report[0]) };
    let spawned = Spawned { pid, pidfd };
    if got == 4 {
        wait(&spawned);
        return Err(i32::from_ne_bytes(code));
    }
    Ok(spawned)
}

/// Wait for the helper; its exit status, or 128 + the signal that killed
/// it, or -1 when that cannot be known (reaped by the kernel on a kernel
/// without `PIDFD_INFO_EXIT`). Closes the pidfd.
pub fn wait(child: &Spawned) -> i32 {
    if child.pidfd < 0 {
        return wait_pid(child.pid);
    }
    let mut pfd = libc::pollfd {
        fd: child.pidfd,
        events: libc::POLLIN,
        revents: 0,
    };
    // A pidfd polls readable once the process has exited.
    // SAFETY: one valid pollfd.
    while unsafe { libc::poll(&mut pfd, 1, -1) } < 0 && errno() == libc::EINTR {}
    // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let status = loop {
        // SAFETY: info is a valid siginfo_t to write to; the pidfd is ours.
        let rc =
            unsafe { libc::waitid(P_PIDFD, child.pidfd as libc::id_t, &mut info, libc::WEXITED) };
        if rc == 0 {
            // SAFETY: waitid filled in a SIGCHLD siginfo.
            let code = unsafe { info.si_status() };
            break if info.si_code == libc::CLD_EXITED {
                code
            } else {
                128 + code
            };
        }
        if errno() == libc::EINTR {
            continue;
        }
        // Reaped already (the VM ignores SIGCHLD): ask the pidfd.
        let mut pinfo = PidfdInfo {
            mask: PIDFD_INFO_EXIT,
            ..Default::default()
        };
        // SAFETY: PIDFD_GET_INFO writes at most 64 bytes, the size of pinfo.
        let rc = unsafe { libc::ioctl(child.pidfd, PIDFD_GET_INFO, &mut pinfo as *mut PidfdInfo) };
        break if rc == 0 && pinfo.mask & PIDFD_INFO_EXIT != 0 {
            decode(pinfo.exit_code)
        } else {
            -1
        };
    };
    // SAFETY: the pidfd is this function's to close.
    unsafe { libc::close(child.pidfd) };
    status
}

fn decode(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    }
}

fn wait_pid(pid: libc::pid_t) -> i32 {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid int to write to.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return decode(status);
        }
        if rc < 0 && errno() != libc::EINTR {
            return -1;
        }
    }
}
