//! Thin, checked wrappers over read/write/pipe/close on raw fds, and the
//! byte queue each outgoing stream uses.

use std::os::unix::io::RawFd;

/// Result of a non-blocking read.
pub enum ReadOutcome {
    Data(usize),
    Eof,
    WouldBlock,
    Error,
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> ReadOutcome {
    loop {
        // SAFETY: buf is a valid writable buffer of buf.len() bytes.
        let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            return ReadOutcome::Data(n as usize);
        }
        if n == 0 {
            return ReadOutcome::Eof;
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return ReadOutcome::WouldBlock,
            _ => return ReadOutcome::Error,
        }
    }
}

/// Write what the fd takes now. `Ok(n)` may be short; `Ok(0)` means it would block.
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize, i32> {
    loop {
        // SAFETY: buf is a valid readable buffer of buf.len() bytes.
        let n = unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        match errno() {
            libc::EINTR => continue,
            libc::EAGAIN => return Ok(0),
            e => return Err(e),
        }
    }
}

pub fn close(fd: RawFd) {
    if fd >= 0 {
        // SAFETY: closing an fd this process owns; errors are of no use here.
        unsafe { libc::close(fd) };
    }
}

pub fn set_nonblock(fd: RawFd) {
    // SAFETY: fcntl on an fd with integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
        }
    }
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> Result<(RawFd, RawFd), i32> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } < 0 {
        return Err(errno());
    }
    Ok((fds[0], fds[1]))
}

/// Put `fd` at the number `target` (close-on-exec), closing the original;
/// whatever was open at `target` is closed first by dup3.
pub fn move_fd(fd: RawFd, target: RawFd) -> Result<RawFd, i32> {
    if fd == target {
        set_cloexec(fd, true);
        return Ok(fd);
    }
    // SAFETY: dup3 on fds this process owns.
    if unsafe { libc::dup3(fd, target, libc::O_CLOEXEC) } < 0 {
        return Err(errno());
    }
    close(fd);
    Ok(target)
}

/// Put a close-on-exec copy of `fd` at `target`, keeping `fd`.
pub fn move_fd_copy(fd: RawFd, target: RawFd) -> Result<RawFd, i32> {
    // SAFETY: dup3 on fds this process owns.
    if unsafe { libc::dup3(fd, target, libc::O_CLOEXEC) } < 0 {
        return Err(errno());
    }
    Ok(target)
}

/// Set or clear FD_CLOEXEC.
pub fn set_cloexec(fd: RawFd, on: bool) {
    // SAFETY: fcntl on an fd with integer arguments only.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags >= 0 {
            let flags = if on {
                flags | libc::FD_CLOEXEC
            } else {
                flags & !libc::FD_CLOEXEC
            };
            libc::fcntl(fd, libc::F_SETFD, flags);
        }
    }
}

/// Whether FD_CLOEXEC is set (false for a closed fd).
pub fn is_cloexec(fd: RawFd) -> bool {
    // SAFETY: fcntl on an fd with integer arguments only.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    flags >= 0 && flags & libc::FD_CLOEXEC != 0
}

/// A close-on-exec stream socketpair.
pub fn socketpair() -> Result<(RawFd, RawFd), i32> {
    let mut fds = [-1; 2];
    // SAFETY: fds is a valid array of two ints.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc < 0 {
        return Err(errno());
    }
    Ok((fds[0], fds[1]))
}

/// Bytes waiting to go out on one fd.
#[derive(Default)]
pub struct OutQueue {
    bytes: Vec<u8>,
    start: usize,
}

impl OutQueue {
    pub fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 && self.start >= self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        self.bytes.extend_from_slice(data);
    }

    /// Room to encode into directly.
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        if self.start > 0 && self.start >= self.bytes.len() / 2 {
            self.bytes.drain(..self.start);
            self.start = 0;
        }
        &mut self.bytes
    }

    pub fn clear(&mut self) {
        self.bytes = Vec::new();
        self.start = 0;
    }

    /// Write as much as the fd takes. Err on a broken fd.
    pub fn flush(&mut self, fd: RawFd) -> Result<(), i32> {
        while self.start < self.bytes.len() {
            let n = write(fd, &self.bytes[self.start..])?;
            if n == 0 {
                return Ok(());
            }
            self.start += n;
        }
        self.bytes.clear();
        self.start = 0;
        Ok(())
    }
}
