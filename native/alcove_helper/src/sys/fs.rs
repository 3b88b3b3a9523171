//! Filesystem calls: chdir(2), getcwd(3), chmod(2), chown(2), chroot(2),
//! link(2), symlink(2), unlink(2), mkdir(2), mkfifo(3), rmdir(2),
//! readdir(3). Paths are iodata without NUL bytes (a NUL is `badarg`).
//!
//! nix has no link, symlink, rmdir or chmod, only their `*at` forms: those
//! are other system calls (a seccomp filter tells them apart), so these
//! four stay raw libc calls.

use crate::args::{binaries_size, Args, CallError, CallResult, MAX_REPLY_DATA};
use crate::state::State;
use alcove_proto::Value;
use nix::dir::Dir;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::{Gid, Uid};
use std::os::unix::ffi::OsStringExt;

/// `ok`, or `{error, Errno}` when a libc call returned a negative value.
fn check(rc: libc::c_int) -> CallResult {
    if rc < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// A uid or gid argument: 0..=u32::MAX, or -1 for "leave unchanged" as
/// chown(2) takes it.
fn id_arg(args: &Args, index: usize) -> Result<u32, CallError> {
    match args.int(index) {
        Ok(-1) => Ok(u32::MAX),
        _ => args.u32(index),
    }
}

/// chdir(2)
pub fn chdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    nix::unistd::chdir(path.as_c_str())?;
    Ok(Value::ok())
}

/// getcwd(3)
pub fn getcwd(_state: &mut State, _args: &Args) -> CallResult {
    let cwd = nix::unistd::getcwd()?;
    Ok(Value::ok_with(Value::Bin(cwd.into_os_string().into_vec())))
}

/// chmod(2), a raw call (see the module doc).
pub fn chmod(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let mode = args.u32(1)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::chmod(path.as_ptr(), mode as libc::mode_t) })
}

/// chown(2): an owner or group of -1 is left as it is.
pub fn chown(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let owner = id_arg(args, 1)?;
    let group = id_arg(args, 2)?;
    // -1 (u32::MAX) is passed as it is: "leave unchanged".
    nix::unistd::chown(
        path.as_c_str(),
        Some(Uid::from_raw(owner)),
        Some(Gid::from_raw(group)),
    )?;
    Ok(Value::ok())
}

/// chroot(2): the working directory is left where it is, as chroot(2) does.
pub fn chroot(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    nix::unistd::chroot(path.as_c_str())?;
    Ok(Value::ok())
}

/// link(2), a raw call (see the module doc).
pub fn link(_state: &mut State, args: &Args) -> CallResult {
    let old_path = args.cstring(0)?;
    let new_path = args.cstring(1)?;
    // SAFETY: both paths are NUL-terminated strings.
    check(unsafe { libc::link(old_path.as_ptr(), new_path.as_ptr()) })
}

/// symlink(2), a raw call (see the module doc).
pub fn symlink(_state: &mut State, args: &Args) -> CallResult {
    let target = args.cstring(0)?;
    let link_path = args.cstring(1)?;
    // SAFETY: both paths are NUL-terminated strings.
    check(unsafe { libc::symlink(target.as_ptr(), link_path.as_ptr()) })
}

/// unlink(2)
pub fn unlink(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    nix::unistd::unlink(path.as_c_str())?;
    Ok(Value::ok())
}

/// mkdir(2)
pub fn mkdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let mode = args.u32(1)?;
    nix::unistd::mkdir(path.as_c_str(), Mode::from_bits_retain(mode))?;
    Ok(Value::ok())
}

/// mkfifo(3)
pub fn mkfifo(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let mode = args.u32(1)?;
    nix::unistd::mkfifo(path.as_c_str(), Mode::from_bits_retain(mode))?;
    Ok(Value::ok())
}

/// rmdir(2), a raw call (see the module doc).
pub fn rmdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::rmdir(path.as_ptr()) })
}

/// readdir(3): the names in a directory, in the order readdir(3) returns
/// them, "." and ".." included (as the original alcove returns them).
/// A listing too large for one reply is `{error, eoverflow}`.
pub fn readdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // The flags opendir(3) opens with; the stream is closed on every way out.
    let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let dir = Dir::open(path.as_c_str(), flags, Mode::empty())?;
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut size = binaries_size([]);
    for entry in dir {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        size += binaries_size([name]) - binaries_size([]);
        if size > MAX_REPLY_DATA {
            return Err(CallError::Errno(libc::EOVERFLOW));
        }
        names.push(name.to_vec());
    }
    Ok(Value::ok_with(Value::List(
        names.into_iter().map(Value::Bin).collect(),
    )))
}
