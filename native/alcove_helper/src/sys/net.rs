//! Sockets: socket(2), connect(2).
//!
//! Raw libc calls: nix's socket takes closed enums for the domain and type,
//! which cannot carry every number a caller may pass (the kernel answers
//! EAFNOSUPPORT or EINVAL for those), and its connect takes a typed
//! address, where here the caller's bytes (or NULL) go to the kernel as
//! they are.

use crate::args::{Args, CallError, CallResult};
use crate::consts::net::SOCKET;
use crate::state::State;
use alcove_proto::Value;

/// socket(2): `{ok, FD}`. Domain is a constant (`af_unix`, `af_inet`, ...);
/// Type a constant or a list of them (`[sock_stream, sock_cloexec]`).
pub fn socket(_state: &mut State, args: &Args) -> CallResult {
    let domain = libc::c_int::try_from(args.constant(0, SOCKET)?).map_err(|_| CallError::Badarg)?;
    let kind = libc::c_int::try_from(args.flags(1, SOCKET)?).map_err(|_| CallError::Badarg)?;
    let protocol = args.i32(2)?;
    // SAFETY: plain integer arguments; the new fd belongs to the caller,
    // who closes it with close/3.
    let fd = unsafe { libc::socket(domain, kind, protocol) };
    if fd < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok_with(Value::Int(fd as i64)))
}

/// The bytes of a sockaddr given as a cstruct(): its binaries concatenated.
///
/// A `{ptr, _}` element is badarg: no sockaddr holds a pointer, and the
/// general cstruct code (with allocated buffers) lives in ptr.rs. A bare
/// binary is accepted as a one-element cstruct.
fn sockaddr(value: &Value) -> Result<Vec<u8>, CallError> {
    match value {
        Value::Bin(bytes) => Ok(bytes.clone()),
        Value::List(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::Bin(bytes) => out.extend_from_slice(bytes),
                    _ => return Err(CallError::Badarg),
                }
            }
            Ok(out)
        }
        _ => Err(CallError::Badarg),
    }
}

/// connect(2). Sockaddr `[]` passes NULL with length 0, which the kernel
/// refuses for most families (EINVAL); to dissolve a datagram association
/// pass a sockaddr with family AF_UNSPEC instead.
pub fn connect(_state: &mut State, args: &Args) -> CallResult {
    let fd = args.i32(0)?;
    let addr = sockaddr(args.get(1)?)?;
    let len = libc::socklen_t::try_from(addr.len()).map_err(|_| CallError::Badarg)?;
    let ptr = if addr.is_empty() {
        std::ptr::null()
    } else {
        addr.as_ptr().cast::<libc::sockaddr>()
    };
    // SAFETY: ptr is NULL with length 0, or points to `len` readable bytes;
    // the kernel copies the address and checks its length for the family
    // (it never reads past `len`, so the alignment of a sockaddr is not
    // needed for a byte buffer).
    if unsafe { libc::connect(fd, ptr, len) } < 0 {
        return Err(CallError::last_os());
    }
    Ok(Value::ok())
}
