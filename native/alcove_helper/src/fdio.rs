//! Thin, checked wrappers over read/write/pipe/close on raw fds, and the
//! byte queue each outgoing stream uses.

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use nix::sys::socket::{AddressFamily, SockFlag, SockType};
use std::os::unix::io::{BorrowedFd, IntoRawFd, RawFd};

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

/// Make one nix call on the descriptor numbered `fd`.
///
/// nix takes descriptors as `BorrowedFd`, which cannot hold -1: for -1 the
/// answer is EBADF, the kernel's answer for it, without a system call.
pub fn with_fd<T>(
    fd: RawFd,
    call: impl FnOnce(BorrowedFd<'_>) -> nix::Result<T>,
) -> nix::Result<T> {
    if fd == -1 {
        return Err(Errno::EBADF);
    }
    // SAFETY: fd is not -1. The borrow lives only for `call`, one system
    // call made by this single-threaded process, during which nothing
    // closes fd or opens a file that could take its number. BorrowedFd only
    // carries the number to the kernel: a number that is not open (one a
    // caller named) fails with EBADF there, as the raw call does.
    call(unsafe { BorrowedFd::borrow_raw(fd) })
}

pub fn read(fd: RawFd, buf: &mut [u8]) -> ReadOutcome {
    loop {
        match with_fd(fd, |fd| nix::unistd::read(fd, buf)) {
            Ok(0) => return ReadOutcome::Eof,
            Ok(n) => return ReadOutcome::Data(n),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return ReadOutcome::WouldBlock,
            Err(_) => return ReadOutcome::Error,
        }
    }
}

/// Most fds taken with one read by [`read_with_fds`]; more are closed.
pub const FDS_PER_READ: usize = 4;

/// read(2) of a unix socket by recvmsg(2): the bytes, and the fds that
/// came with them (SCM_RIGHTS, close-on-exec), added to `fds`; past
/// [`FDS_PER_READ`] of them (or when the kernel truncated the control
/// data) they are closed, not kept.
pub fn read_with_fds(fd: RawFd, buf: &mut [u8], fds: &mut Vec<RawFd>) -> ReadOutcome {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
    let mut space = nix::cmsg_space!([RawFd; FDS_PER_READ]);
    loop {
        let mut iov = [std::io::IoSliceMut::new(buf)];
        let flags = MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_CMSG_CLOEXEC;
        let msg = match recvmsg::<UnixAddr>(fd, &mut iov, Some(&mut space), flags) {
            Ok(msg) => msg,
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return ReadOutcome::WouldBlock,
            Err(_) => return ReadOutcome::Error,
        };
        let n = msg.bytes;
        if let Ok(cmsgs) = msg.cmsgs() {
            for cmsg in cmsgs {
                if let ControlMessageOwned::ScmRights(received) = cmsg {
                    for got in received {
                        if fds.len() < FDS_PER_READ {
                            fds.push(got);
                        } else {
                            close(got);
                        }
                    }
                }
            }
        }
        return match n {
            0 => ReadOutcome::Eof,
            n => ReadOutcome::Data(n),
        };
    }
}

/// Write what the fd takes now. `Ok(n)` may be short; `Ok(0)` means it would block.
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize, i32> {
    loop {
        match with_fd(fd, |fd| nix::unistd::write(fd, buf)) {
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(0),
            Err(e) => return Err(e as i32),
        }
    }
}

pub fn close(fd: RawFd) {
    if fd >= 0 {
        // Errors are of no use here.
        let _ = nix::unistd::close(fd);
    }
}

pub fn set_nonblock(fd: RawFd) {
    let _ = with_fd(fd, |fd| {
        let flags = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
        fcntl(fd, FcntlArg::F_SETFL(flags | OFlag::O_NONBLOCK))
    });
}

/// O_NONBLOCK on an fd just made (a pipe or pseudo-terminal end) whose
/// other status flags are all clear: one fcntl, no F_GETFL first.
pub fn set_nonblock_new(fd: RawFd) {
    let _ = with_fd(fd, |fd| fcntl(fd, FcntlArg::F_SETFL(OFlag::O_NONBLOCK)));
}

/// A close-on-exec pipe: (read end, write end).
pub fn pipe() -> Result<(RawFd, RawFd), i32> {
    pipe_with(OFlag::O_CLOEXEC)
}

/// A close-on-exec pipe whose two ends are non-blocking from the start
/// (no fcntl calls afterwards).
pub fn pipe_nonblock() -> Result<(RawFd, RawFd), i32> {
    pipe_with(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)
}

fn pipe_with(flags: OFlag) -> Result<(RawFd, RawFd), i32> {
    let (read, write) = nix::unistd::pipe2(flags).map_err(|e| e as i32)?;
    Ok((read.into_raw_fd(), write.into_raw_fd()))
}

/// Put `fd` at the number `target` (close-on-exec), closing the original;
/// whatever was open at `target` is closed first by dup3.
pub fn move_fd(fd: RawFd, target: RawFd) -> Result<RawFd, i32> {
    if fd == target {
        set_cloexec(fd, true);
        return Ok(fd);
    }
    dup3_cloexec(fd, target)?;
    close(fd);
    Ok(target)
}

/// Put a close-on-exec copy of `fd` at `target`, keeping `fd`.
pub fn move_fd_copy(fd: RawFd, target: RawFd) -> Result<RawFd, i32> {
    dup3_cloexec(fd, target)?;
    Ok(target)
}

/// dup3(2) with O_CLOEXEC onto a fixed number. nix's dup3 wants the
/// target as an OwnedFd and its dup3_raw is an unsafe fn: the numbers here
/// (the helper's fds 3, 4, 5) may be closed or held by no Rust owner.
fn dup3_cloexec(fd: RawFd, target: RawFd) -> Result<(), i32> {
    // SAFETY: integer arguments only; dup3 atomically replaces whatever is
    // open at `target`, which the callers mean to replace (the helper's
    // fixed fds, which nothing else in the process owns).
    if unsafe { libc::dup3(fd, target, libc::O_CLOEXEC) } < 0 {
        return Err(errno());
    }
    Ok(())
}

/// Set or clear FD_CLOEXEC.
pub fn set_cloexec(fd: RawFd, on: bool) {
    let _ = with_fd(fd, |fd| {
        let flags = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?);
        let flags = if on {
            flags | FdFlag::FD_CLOEXEC
        } else {
            flags - FdFlag::FD_CLOEXEC
        };
        fcntl(fd, FcntlArg::F_SETFD(flags))
    });
}

/// Whether FD_CLOEXEC is set (false for a closed fd).
pub fn is_cloexec(fd: RawFd) -> bool {
    with_fd(fd, |fd| fcntl(fd, FcntlArg::F_GETFD))
        .is_ok_and(|flags| FdFlag::from_bits_retain(flags).contains(FdFlag::FD_CLOEXEC))
}

/// A close-on-exec stream socketpair.
pub fn socketpair() -> Result<(RawFd, RawFd), i32> {
    let (a, b) = nix::sys::socket::socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
    )
    .map_err(|e| e as i32)?;
    Ok((a.into_raw_fd(), b.into_raw_fd()))
}

/// Bytes waiting to go out on one fd, and fds to pass with some of them.
#[derive(Default)]
pub struct OutQueue {
    bytes: Vec<u8>,
    start: usize,
    /// Bytes written since the queue was made: positions in the stream.
    sent: u64,
    /// Fds to send (SCM_RIGHTS, the fd must be a unix socket) with the
    /// byte at a stream position; owned by the queue until sent.
    attached: std::collections::VecDeque<(u64, Vec<RawFd>)>,
}

impl OutQueue {
    pub fn len(&self) -> usize {
        self.bytes.len() - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `fd` waits here to be passed (the queue owns it).
    pub fn holds(&self, fd: RawFd) -> bool {
        self.attached.iter().any(|(_, fds)| fds.contains(&fd))
    }

    /// The fds waiting here to be passed.
    pub fn attached_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.attached
            .iter()
            .flat_map(|(_, fds)| fds.iter().copied())
    }

    pub fn push(&mut self, data: &[u8]) {
        self.buffer().extend_from_slice(data);
    }

    /// Queue `data` with `fds` to go with its first byte. The queue owns
    /// the fds: they are closed once sent, or when the queue is cleared.
    pub fn push_with_fds(&mut self, data: &[u8], fds: Vec<RawFd>) {
        if data.is_empty() {
            fds.into_iter().for_each(close);
            return;
        }
        self.attached
            .push_back((self.sent + self.len() as u64, fds));
        self.push(data);
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
        for (_, fds) in self.attached.drain(..) {
            fds.into_iter().for_each(close);
        }
    }

    /// Write as much as the fd takes. Err on a broken fd.
    pub fn flush(&mut self, fd: RawFd) -> Result<(), i32> {
        while self.start < self.bytes.len() {
            // Up to the next attachment; an attachment due now goes with
            // the bytes up to the one after it.
            let due = self
                .attached
                .front()
                .is_some_and(|(at, _)| *at == self.sent);
            let next = self
                .attached
                .iter()
                .map(|(at, _)| *at)
                .find(|at| *at > self.sent);
            let end = next.map_or(self.bytes.len(), |at| {
                (self.start + (at - self.sent) as usize).min(self.bytes.len())
            });
            let chunk = &self.bytes[self.start..end];
            let n = if due {
                let fds = self.attached.front().map_or(&[][..], |(_, fds)| &fds[..]);
                let n = send_with_fds(fd, chunk, fds)?;
                if n > 0 {
                    if let Some((_, fds)) = self.attached.pop_front() {
                        fds.into_iter().for_each(close);
                    }
                }
                n
            } else {
                write(fd, chunk)?
            };
            if n == 0 {
                return Ok(());
            }
            self.start += n;
            self.sent += n as u64;
        }
        self.bytes.clear();
        self.start = 0;
        Ok(())
    }
}

/// sendmsg(2) with SCM_RIGHTS: `bytes` (some of them) and `fds` with the
/// first. 0 when the socket is full.
fn send_with_fds(fd: RawFd, bytes: &[u8], fds: &[RawFd]) -> Result<usize, i32> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
    let iov = [std::io::IoSlice::new(bytes)];
    let cmsgs = [ControlMessage::ScmRights(fds)];
    loop {
        match sendmsg::<UnixAddr>(
            fd,
            &iov,
            &cmsgs,
            MsgFlags::MSG_DONTWAIT | MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(n) => return Ok(n),
            Err(Errno::EINTR) => continue,
            Err(Errno::EAGAIN) => return Ok(0),
            Err(e) => return Err(e as i32),
        }
    }
}

/// Whether the fd is a socket (fds can be passed on it).
pub fn is_socket(fd: RawFd) -> bool {
    with_fd(fd, |fd| nix::sys::stat::fstat(fd))
        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

/// Close every fd of this process not in `keep` (close_range over the
/// gaps; one close per fd, up to 65535, where the kernel lacks it). For
/// start-up and forked processes only: none of the fds closed may be
/// owned by a Rust object still in use.
pub fn close_all_except(keep: &[RawFd]) {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter_map(|&fd| u32::try_from(fd).ok())
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from: u32 = 0;
    for fd in keep {
        if fd > from {
            close_range(from, fd - 1);
        }
        from = fd.saturating_add(1);
    }
    close_range(from, u32::MAX);
}

/// Close every fd in `fds` (negative ones skipped): one close_range per
/// run of consecutive numbers (a forked child's fds were made together and
/// are mostly such a run). For forked processes only, as
/// [`close_all_except`].
pub fn close_many(mut fds: Vec<RawFd>) {
    fds.retain(|&fd| fd >= 0);
    fds.sort_unstable();
    fds.dedup();
    let mut run: Option<(u32, u32)> = None;
    for fd in fds.into_iter().filter_map(|fd| u32::try_from(fd).ok()) {
        run = match run {
            Some((first, last)) if last + 1 == fd => Some((first, fd)),
            Some((first, last)) => {
                close_run(first, last);
                Some((fd, fd))
            }
            None => Some((fd, fd)),
        };
    }
    if let Some((first, last)) = run {
        close_run(first, last);
    }
}

fn close_run(first: u32, last: u32) {
    if first == last {
        close(first as RawFd);
    } else {
        close_range(first, last);
    }
}

fn close_range(first: u32, last: u32) {
    // SAFETY: close_range only closes descriptors; the callers of
    // close_all_except own none of them through a Rust object. nix has no
    // wrapper for it.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
    if rc < 0 {
        for fd in first..=last.min(65535) {
            close(fd as RawFd);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minus_one_is_ebadf_without_a_call() {
        let mut called = false;
        let result = with_fd(-1, |_| {
            called = true;
            Ok(())
        });
        assert_eq!(result, Err(Errno::EBADF));
        assert!(!called);
    }

    fn is_open(fd: RawFd) -> bool {
        with_fd(fd, |fd| fcntl(fd, FcntlArg::F_GETFD)).is_ok()
    }

    #[test]
    fn close_many_closes_those_listed_only() {
        // Six pipes: fds made one after another, mostly consecutive.
        let pipes: Vec<(RawFd, RawFd)> = (0..6).map(|_| pipe().unwrap()).collect();
        let all: Vec<RawFd> = pipes.iter().flat_map(|&(r, w)| [r, w]).collect();
        // Every fd but the 4th and the last, given out of order, with a
        // duplicate and a -1: several runs and a single one.
        let last = all.len() - 1;
        let kept: Vec<RawFd> = vec![all[3], all[last]];
        let mut list: Vec<RawFd> = all
            .iter()
            .copied()
            .filter(|fd| !kept.contains(fd))
            .rev()
            .collect();
        list.push(list[0]);
        list.push(-1);
        close_many(list.clone());
        for fd in list.iter().filter(|&&fd| fd >= 0) {
            assert!(!is_open(*fd), "fd {fd} still open");
        }
        for fd in &kept {
            assert!(is_open(*fd), "fd {fd} closed");
        }
        kept.into_iter().for_each(close);
    }
}
