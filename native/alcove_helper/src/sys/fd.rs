//! File descriptor calls: open(2), close(2), read(2), write(2), lseek(2),
//! fcntl(2), select(2). They act on the fds of the helper process the call
//! runs in.
//!
//! That process also holds fds of its own, at the numbers the original
//! alcove used: its signal self-pipe (fds 3 and 4) and its control channel
//! to its parent (fd 5), plus the control socket and stdio pipes of each
//! of its children (the fds `cpid` reports).
//!
//! - close: refused (`{error, ebadf}`) for fds 3, 4 and 5, which would cut
//!   the helper off from its parent or from its children's exits. A
//!   child's fds may be closed, as in the original: closing a child's
//!   stdin is how a caller ends its input, and the helper forgets the fd.
//! - read, write: refused for all of them (frames would be corrupted or
//!   a child's output stolen).
//! - fcntl: the `f_get*` commands and `f_setfd` work on all of them
//!   (clearing close-on-exec on fds 3, 4 and 5 is how a helper re-executes
//!   itself, see sys/exec.rs); commands that duplicate an fd or change its
//!   status flags are refused.
//!
//! The helper is single-threaded: a blocking read or a select without a
//! timeout holds up this process (and the calls routed through it) until
//! it returns.

use crate::args::{Args, CallError, CallResult, MAX_REPLY_DATA};
use crate::consts::{fcntl::FCNTL, file::FILE};
use crate::fdio::with_fd;
use crate::state::State;
use alcove_proto::Value;
use nix::fcntl::OFlag;
use nix::sys::select::FdSet;
use nix::sys::stat::Mode;
use nix::sys::time::TimeVal;
use std::os::unix::io::{AsRawFd, BorrowedFd, IntoRawFd, RawFd};

/// Largest read: the data has to fit in one reply frame. A larger Count is
/// clamped (a short read, as read(2) may give anyway), like the original.
pub const MAX_READ: usize = MAX_REPLY_DATA;

fn fd_arg(args: &Args, index: usize) -> Result<RawFd, CallError> {
    args.i32(index)
}

/// Whether `fd` is one of this helper's own: its control channel, its
/// shortcut to the driver or its signal pipe.
fn own(state: &State, fd: RawFd) -> bool {
    state.shortcut.as_ref().is_some_and(|s| s.fd == fd || s.out.holds(fd))
        || fd == state.up_read
        || fd == state.up_write
        || fd == crate::signals::SIGNAL_READ_FD
        || fd == crate::signals::SIGNAL_WRITE_FD
        // Fds queued to be passed (a shortcut's end, a program's pipes):
        // a caller closing a number it saw before (a child's, since
        // reused) must not take them.
        || state.up_out.holds(fd)
        || state.children.iter().any(|c| c.ctl_out.holds(fd))
}

/// Whether `fd` belongs to one of this helper's children.
fn childs(state: &State, fd: RawFd) -> bool {
    fd >= 0
        && state
            .children
            .iter()
            .any(|c| [c.ctl, c.stdin, c.stdout, c.stderr].contains(&fd))
}

fn usable(state: &State, fd: RawFd) -> Result<(), CallError> {
    if own(state, fd) || childs(state, fd) {
        return Err(CallError::Errno(libc::EBADF));
    }
    Ok(())
}

/// open(2): Flags is an integer or a list of `o_*` atoms.
pub fn open(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let flags = i32::try_from(args.flags(1, FILE)?).map_err(|_| CallError::Badarg)?;
    let mode = args.u32(2)?;
    // The fd is the caller's from now on (closed with close/3).
    let fd = nix::fcntl::open(
        path.as_c_str(),
        OFlag::from_bits_retain(flags),
        Mode::from_bits_retain(mode),
    )?
    .into_raw_fd();
    Ok(Value::ok_with(Value::Int(fd as i64)))
}

/// close(2): a child's fd is closed and forgotten (see the module doc).
pub fn close(state: &mut State, args: &Args) -> CallResult {
    let fd = fd_arg(args, 0)?;
    if own(state, fd) {
        return Err(CallError::Errno(libc::EBADF));
    }
    if childs(state, fd) {
        crate::child_io::close_child_fd(state, fd);
        return Ok(Value::ok());
    }
    nix::unistd::close(fd)?;
    Ok(Value::ok())
}

/// read(2): at most [`MAX_READ`] bytes; `{ok, <<>>}` at end of file.
pub fn read(state: &mut State, args: &Args) -> CallResult {
    let fd = fd_arg(args, 0)?;
    let count = args.u64(1)?;
    usable(state, fd)?;
    let count = usize::try_from(count).unwrap_or(MAX_READ).min(MAX_READ);
    let mut buf = vec![0u8; count];
    let n = with_fd(fd, |fd| nix::unistd::read(fd, &mut buf))?;
    buf.truncate(n);
    Ok(Value::ok_with(Value::Bin(buf)))
}

/// write(2): `{ok, BytesWritten}`, which may be short.
pub fn write(state: &mut State, args: &Args) -> CallResult {
    let fd = fd_arg(args, 0)?;
    let buf = args.iodata(1)?;
    usable(state, fd)?;
    let n = with_fd(fd, |fd| nix::unistd::write(fd, &buf))?;
    Ok(Value::ok_with(Value::Int(n as i64)))
}

/// lseek(2): `ok` (the new offset is not returned, as in the original).
pub fn lseek(_state: &mut State, args: &Args) -> CallResult {
    let fd = fd_arg(args, 0)?;
    let offset = args.int(1)?;
    let whence = args.i32(2)?;
    // A raw call: nix's Whence is a closed enum, and an unknown whence must
    // reach the kernel, which answers EBADF for a bad fd before EINVAL.
    // SAFETY: lseek takes integers only.
    if unsafe { libc::lseek(fd, offset as libc::off_t, whence) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// fcntl commands whose third argument is an integer, and whether they
/// are allowed on the helper's own fds (inspecting, or setting
/// close-on-exec). Every other command takes
/// a pointer (f_getlk, f_setlk, f_ofd_*, f_getown_ex, ...), which an
/// integer Arg cannot give safely: those are `{error, einval}`, the
/// kernel's own answer to a command it does not know.
const FCNTL_INT_COMMANDS: &[(libc::c_int, bool)] = &[
    (libc::F_GETFD, true),
    (libc::F_GETFL, true),
    (libc::F_GETOWN, true),
    (11, true), // F_GETSIG
    (libc::F_GETLEASE, true),
    (libc::F_GETPIPE_SZ, true),
    (libc::F_GET_SEALS, true),
    (libc::F_DUPFD, false),
    (libc::F_DUPFD_CLOEXEC, false),
    (libc::F_SETFD, true),
    (libc::F_SETFL, false),
    (libc::F_SETOWN, false),
    (10, false), // F_SETSIG
    (libc::F_SETLEASE, false),
    (libc::F_NOTIFY, false),
    (libc::F_SETPIPE_SZ, false),
    (libc::F_ADD_SEALS, false),
];

/// fcntl(2): Cmd is an integer or an `f_*` atom; `{ok, Result}`.
pub fn fcntl(state: &mut State, args: &Args) -> CallResult {
    let fd = fd_arg(args, 0)?;
    let cmd = args.constant(1, FCNTL)?;
    let arg = args.int(2)?;
    let harmless = libc::c_int::try_from(cmd)
        .ok()
        .and_then(|cmd| FCNTL_INT_COMMANDS.iter().find(|&&(c, _)| c == cmd))
        .map(|&(_, harmless)| harmless)
        .ok_or(CallError::Errno(libc::EINVAL))?;
    if !harmless {
        usable(state, fd)?;
    }
    // A raw call: nix's FcntlArg has no variant for several of these
    // (F_GETOWN, F_SETSIG, F_SETLEASE, F_NOTIFY, ...).
    // SAFETY: cmd is one of the commands above, which take an integer, so
    // the kernel never dereferences arg.
    let rc = unsafe { libc::fcntl(fd, cmd as libc::c_int, arg as libc::c_long) };
    if rc < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok_with(Value::Int(rc as i64)))
}

/// An fd list of select: each fd in 0..FD_SETSIZE (a negative fd is
/// `ebadf`, one past the set `einval`).
fn fd_set(args: &Args, index: usize) -> Result<Vec<RawFd>, CallError> {
    args.ints(index)?
        .into_iter()
        .map(|fd| match fd {
            fd if fd < 0 => Err(CallError::Errno(libc::EBADF)),
            fd if fd >= libc::FD_SETSIZE as i64 => Err(CallError::Errno(libc::EINVAL)),
            fd => Ok(fd as RawFd),
        })
        .collect()
}

/// The timeout of select: `[]` (or `<<>>`, as the original took it) blocks;
/// `{alcove_timeval, Sec, Usec}` waits that long.
fn timeout(args: &Args, index: usize) -> Result<Option<libc::timeval>, CallError> {
    match args.get(index)? {
        Value::List(items) if items.is_empty() => Ok(None),
        Value::Bin(bytes) if bytes.is_empty() => Ok(None),
        Value::Tuple(items) => match items.as_slice() {
            [Value::Atom(tag), sec, usec] if tag == "alcove_timeval" => Ok(Some(libc::timeval {
                tv_sec: sec.as_i64().ok_or(CallError::Badarg)? as libc::time_t,
                tv_usec: usec.as_i64().ok_or(CallError::Badarg)? as libc::suseconds_t,
            })),
            _ => Err(CallError::Badarg),
        },
        _ => Err(CallError::Badarg),
    }
}

/// A kernel fd_set holding `fds` (all checked to be in 0..FD_SETSIZE, so
/// FdSet::insert does not panic).
fn to_fd_set(fds: &[RawFd]) -> FdSet<'_> {
    let mut set = FdSet::new();
    for fd in fds {
        // SAFETY: *fd is not -1 (checked by fd_set()). The borrow lasts
        // until the select in the same call, a span in which the
        // single-threaded helper closes nothing and opens nothing that could
        // take the number; one not open makes select fail with EBADF, as
        // the raw call does.
        set.insert(unsafe { BorrowedFd::borrow_raw(*fd) });
    }
    set
}

/// The fds the kernel left set in `set`, ascending.
fn ready(set: &FdSet) -> Value {
    Value::List(
        set.fds(None)
            .map(|fd| Value::Int(fd.as_raw_fd() as i64))
            .collect(),
    )
}

/// select(2): `{ok, ReadyRead, ReadyWrite, ReadyExcept}`.
pub fn select(_state: &mut State, args: &Args) -> CallResult {
    let read_fds = fd_set(args, 0)?;
    let write_fds = fd_set(args, 1)?;
    let except_fds = fd_set(args, 2)?;
    let mut timeval = timeout(args, 3)?.map(TimeVal::from);
    let nfds = read_fds
        .iter()
        .chain(&write_fds)
        .chain(&except_fds)
        .max()
        .map_or(0, |&fd| fd + 1);
    let mut read_set = to_fd_set(&read_fds);
    let mut write_set = to_fd_set(&write_fds);
    let mut except_set = to_fd_set(&except_fds);
    nix::sys::select::select(
        nfds,
        &mut read_set,
        &mut write_set,
        &mut except_set,
        timeval.as_mut(),
    )?;
    Ok(Value::Tuple(vec![
        Value::ok(),
        ready(&read_set),
        ready(&write_set),
        ready(&except_set),
    ]))
}
