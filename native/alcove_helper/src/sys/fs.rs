//! Filesystem calls: chdir(2), getcwd(3), chmod(2), chown(2), chroot(2),
//! link(2), symlink(2), unlink(2), mkdir(2), mkfifo(3), rmdir(2),
//! readdir(3). Paths are iodata without NUL bytes (a NUL is `badarg`).

use crate::args::{binaries_size, Args, CallError, CallResult, MAX_REPLY_DATA};
use crate::state::State;
use alcove_proto::Value;
use std::ffi::CStr;

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
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::chdir(path.as_ptr()) })
}

/// getcwd(3)
pub fn getcwd(_state: &mut State, _args: &Args) -> CallResult {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: buf is writable for buf.len() bytes.
    if unsafe { libc::getcwd(buf.as_mut_ptr().cast(), buf.len()) }.is_null() {
        return Err(CallError::last_os());
    }
    let len = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    buf.truncate(len);
    Ok(Value::ok_with(Value::Bin(buf)))
}

/// chmod(2)
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
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::chown(path.as_ptr(), owner, group) })
}

/// chroot(2): the working directory is left where it is, as chroot(2) does.
pub fn chroot(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::chroot(path.as_ptr()) })
}

/// link(2)
pub fn link(_state: &mut State, args: &Args) -> CallResult {
    let old_path = args.cstring(0)?;
    let new_path = args.cstring(1)?;
    // SAFETY: both paths are NUL-terminated strings.
    check(unsafe { libc::link(old_path.as_ptr(), new_path.as_ptr()) })
}

/// symlink(2)
pub fn symlink(_state: &mut State, args: &Args) -> CallResult {
    let target = args.cstring(0)?;
    let link_path = args.cstring(1)?;
    // SAFETY: both paths are NUL-terminated strings.
    check(unsafe { libc::symlink(target.as_ptr(), link_path.as_ptr()) })
}

/// unlink(2)
pub fn unlink(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::unlink(path.as_ptr()) })
}

/// mkdir(2)
pub fn mkdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let mode = args.u32(1)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::mkdir(path.as_ptr(), mode as libc::mode_t) })
}

/// mkfifo(3)
pub fn mkfifo(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let mode = args.u32(1)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::mkfifo(path.as_ptr(), mode as libc::mode_t) })
}

/// rmdir(2)
pub fn rmdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::rmdir(path.as_ptr()) })
}

/// An open directory stream, closed on every way out.
struct Dir(*mut libc::DIR);

impl Drop for Dir {
    fn drop(&mut self) {
        // SAFETY: self.0 came from a successful opendir and is closed once.
        unsafe { libc::closedir(self.0) };
    }
}

/// readdir(3): the names in a directory, in the order readdir(3) returns
/// them, "." and ".." included (as the original alcove returns them).
/// A listing too large for one reply is `{error, eoverflow}`.
pub fn readdir(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    let dir = unsafe { libc::opendir(path.as_ptr()) };
    if dir.is_null() {
        return Err(CallError::last_os());
    }
    let dir = Dir(dir);
    let mut names: Vec<Vec<u8>> = Vec::new();
    let mut size = binaries_size([]);
    loop {
        // readdir(3) tells the end from an error only through errno.
        // SAFETY: __errno_location returns this thread's errno slot.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: dir.0 is an open directory stream.
        let entry = unsafe { libc::readdir(dir.0) };
        if entry.is_null() {
            break;
        }
        // SAFETY: entry points to a dirent valid until the next readdir on
        // dir, and d_name is NUL-terminated within it.
        let name = unsafe { CStr::from_ptr((*entry).d_name.as_ptr()) }.to_bytes();
        size += binaries_size([name]) - binaries_size([]);
        if size > MAX_REPLY_DATA {
            return Err(CallError::Errno(libc::EOVERFLOW));
        }
        names.push(name.to_vec());
    }
    match std::io::Error::last_os_error().raw_os_error() {
        Some(0) | None => {}
        Some(errno) => return Err(CallError::Errno(errno)),
    }
    drop(dir);
    Ok(Value::ok_with(Value::List(
        names.into_iter().map(Value::Bin).collect(),
    )))
}
