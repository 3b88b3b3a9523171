//! Pseudo-terminals for children (the `pty` option): the helper keeps the
//! master, the child gets the slave as its stdin, stdout, stderr and
//! controlling terminal.

use crate::fdio;
use std::os::unix::io::RawFd;

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A new pseudo-terminal: (master, slave), both close-on-exec.
pub fn open_pair() -> Result<(RawFd, RawFd), i32> {
    // SAFETY: posix_openpt takes flags only.
    let master = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if master < 0 {
        return Err(errno());
    }
    let mut name = [0 as libc::c_char; 128];
    // SAFETY: grantpt/unlockpt on our master; ptsname_r writes at most
    // name.len() bytes, NUL included.
    let ok = unsafe {
        libc::grantpt(master) == 0
            && libc::unlockpt(master) == 0
            && libc::ptsname_r(master, name.as_mut_ptr(), name.len()) == 0
    };
    if !ok {
        let err = errno();
        fdio::close(master);
        return Err(err);
    }
    // SAFETY: name is NUL-terminated by ptsname_r.
    let slave = unsafe {
        libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        let err = errno();
        fdio::close(master);
        return Err(err);
    }
    Ok((master, slave))
}

/// In the child, with the slave on fds 0, 1 and 2: a session of its own
/// with the terminal as its controlling terminal.
pub fn become_session_leader() {
    // SAFETY: setsid and ioctl with integer arguments on fd 0.
    unsafe {
        libc::setsid();
        libc::ioctl(0, libc::TIOCSCTTY, 0);
    }
}

/// A close-on-exec copy of `fd`.
pub fn dup(fd: RawFd) -> Result<RawFd, i32> {
    // SAFETY: fcntl F_DUPFD_CLOEXEC on an fd this process owns.
    let copy = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0) };
    if copy < 0 {
        return Err(errno());
    }
    Ok(copy)
}
