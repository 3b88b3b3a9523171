//! Mounts and namespaces: mount(2), umount(2), umount2(2), pivot_root(2),
//! setns(2), unshare(2).

use crate::args::{Args, CallError, CallResult};
use crate::consts::{clone::CLONE, mount::MOUNT};
use crate::fdio;
use crate::state::State;
use alcove_proto::Value;
use nix::mount::{MntFlags, MsFlags};
use nix::sched::CloneFlags;
use std::ffi::CStr;

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
    // Only the address reaches the kernel, which copies the data from there
    // without stopping at a NUL: a binary with NULs in it still arrives whole.
    let data = match &data {
        Some(bytes) => Some(CStr::from_bytes_until_nul(bytes).map_err(|_| CallError::Badarg)?),
        None => None,
    };
    nix::mount::mount(
        Some(source.as_c_str()),
        target.as_c_str(),
        Some(fstype.as_c_str()),
        MsFlags::from_bits_retain(flags),
        data,
    )?;
    Ok(Value::ok())
}

/// umount(2)
pub fn umount(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    nix::mount::umount(path.as_c_str())?;
    Ok(Value::ok())
}

/// umount2(2): Flags is an int or constants from MOUNT (`mnt_detach`, ...).
pub fn umount2(_state: &mut State, args: &Args) -> CallResult {
    let path = args.cstring(0)?;
    let flags = c_int_flags(args.flags(1, MOUNT)?)?;
    nix::mount::umount2(path.as_c_str(), MntFlags::from_bits_retain(flags))?;
    Ok(Value::ok())
}

/// pivot_root(2), which libc does not wrap (nix makes the system call).
pub fn pivot_root(_state: &mut State, args: &Args) -> CallResult {
    let new_root = args.cstring(0)?;
    let put_old = args.cstring(1)?;
    nix::unistd::pivot_root(new_root.as_c_str(), put_old.as_c_str())?;
    Ok(Value::ok())
}

/// setns(2): NSType is a CLONE constant (`clone_newuts`, ...) or an int;
/// 0 joins whatever namespace FD refers to.
pub fn setns(_state: &mut State, args: &Args) -> CallResult {
    let fd = args.i32(0)?;
    let nstype = c_int_flags(args.constant(1, CLONE)?)?;
    // The helper is single-threaded, as joining a user or mount namespace
    // requires.
    fdio::with_fd(fd, |fd| {
        nix::sched::setns(fd, CloneFlags::from_bits_retain(nstype))
    })?;
    Ok(Value::ok())
}

/// unshare(2): Flags as for clone (an int or CLONE constants).
pub fn unshare(_state: &mut State, args: &Args) -> CallResult {
    let flags = c_int_flags(args.flags(0, CLONE)?)?;
    // The helper is single-threaded, so unsharing memory, files or signal
    // handlers changes nothing it shares.
    nix::sched::unshare(CloneFlags::from_bits_retain(flags))?;
    Ok(Value::ok())
}
