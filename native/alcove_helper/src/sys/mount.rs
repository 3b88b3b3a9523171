//! Mounts and namespaces: mount(2), umount(2), umount2(2), pivot_root(2),
//! setns(2), unshare(2).

use crate::args::{Args, CallError, CallResult};
use crate::consts::{clone::CLONE, mount::MOUNT};
use crate::state::State;
use alcove_proto::Value;

fn check(rv: libc::c_int) -> CallResult {
    if rv < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// Flags for a C int: anything in the int32 range, or a uint32 bit pattern
/// (`clone_io` is bit 31, which a caller may well write as 16#80000000).
fn c_int_flags(flags: i64) -> Result<libc::c_int, CallError> {
    libc::c_int::try_from(flags)
        .or_else(|_| u32::try_from(flags).map(|bits| bits as libc::c_int))
        .map_err(|_| CallError::Badarg)
}

/// mount(2) flags: a uint64, or a constant or list of constants from MOUNT.
fn mount_flags(args: &Args, index: usize) -> Result<libc::c_ulong, CallError> {
    let flags = match args.get(index)? {
        Value::Int(_) | Value::UInt(_) => args.u64(index)?,
        _ => u64::try_from(args.flags(index, MOUNT)?).map_err(|_| CallError::Badarg)?,
    };
    libc::c_ulong::try_from(flags).map_err(|_| CallError::Badarg)
}

/// mount(2). An empty Data is passed as NULL. The sixth argument
/// (Options) is for Solaris mount(2) and is ignored here; it must still be
/// iodata.
pub fn mount(_state: &mut State, args: &Args) -> CallResult {
    let source = args.cstring(0)?;
    let target = args.cstring(1)?;
    let fstype = args.cstring(2)?;
    let flags = mount_flags(args, 3)?;
    let data = args.iodata(4)?;
    args.iodata(5)?;
    let data = if data.is_empty() {
        None
    } else {
        // Data is a string for most filesystems; NUL-terminate it so a
        // filesystem that parses it as one never reads past the buffer.
        let mut terminated = data;
        terminated.push(0);
        Some(terminated)
    };
    let data_ptr = data
        .as_ref()
        .map_or(std::ptr::null(), |d| d.as_ptr().cast::<libc::c_void>());
    // SAFETY: source, target and fstype are NUL-terminated strings and
    // data_ptr is NULL or a NUL-terminated buffer, all alive for the call.
    check(unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data_ptr,
        )
    })
}

/// umount(2)
pub fn umount(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::umount(path.as_ptr()) })
}

/// umount2(2): Flags is an int or constants from MOUNT (`mnt_detach`, ...).
pub fn umount2(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let flags = c_int_flags(args.flags(1, MOUNT)?)?;
    // SAFETY: path is a NUL-terminated string.
    check(unsafe { libc::umount2(path.as_ptr(), flags) })
}

/// pivot_root(2), which libc does not wrap.
pub fn pivot_root(_state: &mut State, args: &Args) -> CallResult {
    let new_root = args.cstring(0)?;
    let put_old = args.cstring(1)?;
    // SAFETY: both paths are NUL-terminated strings alive for the call.
    let rv = unsafe { libc::syscall(libc::SYS_pivot_root, new_root.as_ptr(), put_old.as_ptr()) };
    if rv < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}

/// setns(2): NSType is a CLONE constant (`clone_newuts`, ...) or an int;
/// 0 joins whatever namespace FD refers to.
pub fn setns(_state: &mut State, args: &Args) -> CallResult {
    let fd = args.i32(0)?;
    let nstype = c_int_flags(args.constant(1, CLONE)?)?;
    // SAFETY: plain integer arguments; a bad fd is EBADF. The helper is
    // single-threaded, as joining a user or mount namespace requires.
    check(unsafe { libc::setns(fd, nstype) })
}

/// unshare(2): Flags as for clone (an int or CLONE constants).
pub fn unshare(_state: &mut State, args: &Args) -> CallResult {
    let flags = c_int_flags(args.flags(0, CLONE)?)?;
    // SAFETY: a plain integer argument. The helper is single-threaded, so
    // unsharing memory, files or signal handlers changes nothing it shares.
    check(unsafe { libc::unshare(flags) })
}
