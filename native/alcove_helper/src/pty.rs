//! Pseudo-terminals for children (the `pty` option): the helper keeps the
//! master, the child gets the slave as its stdin, stdout, stderr and
//! controlling terminal.

use crate::fdio;
use nix::fcntl::{FcntlArg, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::stat::Mode;
use std::os::unix::io::{IntoRawFd, RawFd};

/// A new pseudo-terminal: (master, slave), both close-on-exec. On an error
/// the master is closed (dropped).
pub fn open_pair() -> Result<(RawFd, RawFd), i32> {
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let master = posix_openpt(flags).map_err(|e| e as i32)?;
    grantpt(&master).map_err(|e| e as i32)?;
    unlockpt(&master).map_err(|e| e as i32)?;
    let name = ptsname_r(&master).map_err(|e| e as i32)?;
    let slave = nix::fcntl::open(name.as_str(), flags, Mode::empty()).map_err(|e| e as i32)?;
    Ok((master.into_raw_fd(), slave.into_raw_fd()))
}

/// In the child, with the slave on fds 0, 1 and 2: a session of its own
/// with the terminal as its controlling terminal.
pub fn become_session_leader() {
    let _ = nix::unistd::setsid();
    // TIOCSCTTY has no nix wrapper but the unsafe fns its ioctl macros
    // generate.
    // SAFETY: TIOCSCTTY on fd 0 takes an integer argument (0: do not steal
    // the terminal), so the kernel dereferences nothing of ours.
    unsafe { libc::ioctl(0, libc::TIOCSCTTY, 0) };
}

/// A close-on-exec copy of `fd`.
pub fn dup(fd: RawFd) -> Result<RawFd, i32> {
    fdio::with_fd(fd, |fd| nix::fcntl::fcntl(fd, FcntlArg::F_DUPFD_CLOEXEC(0)))
        .map_err(|e| e as i32)
}
