//! Calls whose arguments are C structs or pointers: alloc, ioctl(2),
//! prctl(2), ptrace(2), seccomp(2). Arguments are built by `crate::cstruct`;
//! replies carry what the kernel left in the structs and buffers.
//!
//! Raw libc calls: the request (and so what the kernel reads or writes
//! through the arguments) is the caller's, chosen at run time. nix has
//! ioctl only as macros generating an unsafe fn per request, prctl and
//! ptrace only as one wrapper per option, and no seccomp at all.

use crate::args::{Args, CallError, CallResult, MAX_REPLY_DATA};
use crate::consts::{ioctl::IOCTL, prctl::PRCTL, ptrace::PTRACE, seccomp::SECCOMP};
use crate::cstruct::{CStruct, PtrArg};
use crate::state::State;
use alcove_proto::Value;

/// The reply's outer tuple, `ok` and the result, around the contents.
const REPLY_OVERHEAD: usize = 64;

/// A reply over one frame could not be delivered: refuse the call before
/// making it (the size of its contents is known from the arguments).
fn fits_reply(contents_size: usize) -> Result<(), CallError> {
    if contents_size + REPLY_OVERHEAD > MAX_REPLY_DATA {
        return Err(CallError::Badarg);
    }
    Ok(())
}

/// alloc: build a struct and return its bytes (pointer fields hold the
/// addresses the buffers had in the helper) and its contents.
pub fn alloc(_state: &mut State, args: &Args) -> CallResult {
    if matches!(args.get(0)?, Value::List(items) if items.is_empty()) {
        // Nothing to lay out: badarg, as in the original.
        return Err(CallError::Badarg);
    }
    let mut cstruct = CStruct::from_value(args.get(0)?)?;
    fits_reply(cstruct.bytes().len() + cstruct.reply_size())?;
    cstruct.as_mut_ptr();
    Ok(Value::Tuple(vec![
        Value::ok(),
        Value::Bin(cstruct.bytes().to_vec()),
        cstruct.contents(),
    ]))
}

/// ioctl(2): the argument is a cstruct, a binary or an integer.
pub fn ioctl(_state: &mut State, args: &Args) -> CallResult {
    let fd = args.i32(0)?;
    let request = args.constant(1, IOCTL)?;
    let mut argp = PtrArg::from_value(args.get(2)?)?;
    fits_reply(argp.reply_size())?;
    let word = argp.as_word();
    // SAFETY: `word` is the caller's integer or the address of a struct
    // that `argp` owns and keeps alive until after the call; the request
    // decides how much the kernel reads or writes there.
    let result = unsafe { libc::ioctl(fd, request as _, word) };
    if result < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::Tuple(vec![
        Value::ok(),
        Value::Int(result.into()),
        argp.value_or_empty(),
    ]))
}

/// A prctl argument: a prctl constant (`seccomp_mode_filter`, as the
/// original took it), an integer, a binary or a cstruct.
fn prctl_arg(args: &Args, index: usize) -> Result<PtrArg, CallError> {
    match args.get(index)? {
        Value::Atom(_) => PtrArg::from_value(&Value::Int(args.constant(index, PRCTL)?)),
        other => PtrArg::from_value(other),
    }
}

/// prctl(2): the option is a constant; each other argument a constant, an
/// integer, a binary or a cstruct.
pub fn prctl(_state: &mut State, args: &Args) -> CallResult {
    let option = libc::c_int::try_from(args.constant(0, PRCTL)?).map_err(|_| CallError::Badarg)?;
    let mut ptr_args = [
        prctl_arg(args, 1)?,
        prctl_arg(args, 2)?,
        prctl_arg(args, 3)?,
        prctl_arg(args, 4)?,
    ];
    fits_reply(ptr_args.iter().map(PtrArg::reply_size).sum())?;
    let [arg2, arg3, arg4, arg5] = ptr_args.each_mut().map(PtrArg::as_word);
    // SAFETY: each argument is an integer or the address of a struct owned
    // by `ptr_args`, alive until after the call.
    let result = unsafe { libc::prctl(option, arg2, arg3, arg4, arg5) };
    if result < 0 {
        return Err(CallError::last_os());
    }
    let mut reply = vec![Value::ok(), Value::Int(result.into())];
    reply.extend(ptr_args.iter().map(PtrArg::value));
    Ok(Value::Tuple(reply))
}

/// ptrace(2): for the PEEK requests the result is the word read.
pub fn ptrace(_state: &mut State, args: &Args) -> CallResult {
    let request = args.constant(0, PTRACE)?;
    let pid = args.i32(1)?;
    let mut addr = PtrArg::from_value(args.get(2)?)?;
    let mut data = PtrArg::from_value(args.get(3)?)?;
    fits_reply(addr.reply_size() + data.reply_size())?;
    let (addr_word, data_word) = (addr.as_word(), data.as_word());
    // A PEEK may return -1 as data: only errno tells a failure apart.
    nix::errno::Errno::clear();
    // SAFETY: addr and data are integers or addresses of structs owned by
    // `addr` and `data`, alive until after the call.
    let result = unsafe { libc::ptrace(request as _, pid, addr_word, data_word) };
    if result == -1 {
        let error = CallError::last_os();
        if error != CallError::Errno(0) {
            return Err(error);
        }
    }
    Ok(Value::Tuple(vec![
        Value::ok(),
        Value::Int(result as i64),
        addr.value_or_empty(),
        data.value_or_empty(),
    ]))
}

/// seccomp(2): operation and flags are constants (flags OR'ed from a
/// list); prog a `struct sock_fprog` as a cstruct, or `[]`/0 for NULL.
/// A filter installed with `seccomp_filter_flag_new_listener` replies
/// `{ok, ListenerFd}`.
pub fn seccomp(_state: &mut State, args: &Args) -> CallResult {
    let operation =
        libc::c_uint::try_from(args.constant(0, SECCOMP)?).map_err(|_| CallError::Badarg)?;
    let flags = libc::c_uint::try_from(args.flags(1, SECCOMP)?).map_err(|_| CallError::Badarg)?;
    let mut prog = PtrArg::from_value(args.get(2)?)?;
    let word = prog.as_word();
    // SAFETY: `word` is the caller's integer or the address of a struct
    // owned by `prog` (whose pointer fields point to buffers it owns),
    // alive until after the call; the kernel copies the program in.
    let result = unsafe { libc::syscall(libc::SYS_seccomp, operation, flags, word) };
    match result {
        r if r < 0 => Err(CallError::last_os()),
        0 => Ok(Value::ok()),
        fd => Ok(Value::ok_with(Value::Int(fd))),
    }
}
