//! Turning wire values into syscall arguments. Every conversion is checked:
//! a wrong type is `Badarg`, an unknown constant atom is `Enotsup`.

use crate::consts;
use alcove_proto::Value;
use std::ffi::CString;

/// Largest iodata argument accepted (a path, an argv element, a buffer).
pub const MAX_IODATA: usize = 1 << 20;

/// How a call fails before or instead of reaching the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallError {
    /// Raised as `badarg` in the caller.
    Badarg,
    /// Raised as `undef` (call filtered, or not on this OS).
    Undef,
    /// Returned as `{error, Errno}`.
    Errno(i32),
}

pub type CallResult = Result<Value, CallError>;

impl CallError {
    /// The errno of the last failed libc call.
    pub fn last_os() -> CallError {
        CallError::Errno(
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO),
        )
    }
}

/// `{error, Name}` for an errno.
pub fn errno_value(errno: i32) -> Value {
    Value::error(consts::errno::name(errno))
}

/// The argument list of a call, with checked accessors.
pub struct Args<'a>(pub &'a [Value]);

impl<'a> Args<'a> {
    pub fn get(&self, index: usize) -> Result<&'a Value, CallError> {
        self.0.get(index).ok_or(CallError::Badarg)
    }

    pub fn int(&self, index: usize) -> Result<i64, CallError> {
        self.get(index)?.as_i64().ok_or(CallError::Badarg)
    }

    pub fn i32(&self, index: usize) -> Result<i32, CallError> {
        i32::try_from(self.int(index)?).map_err(|_| CallError::Badarg)
    }

    pub fn u32(&self, index: usize) -> Result<u32, CallError> {
        match self.get(index)? {
            Value::UInt(u) => u32::try_from(*u).map_err(|_| CallError::Badarg),
            other => other
                .as_i64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or(CallError::Badarg),
        }
    }

    pub fn u64(&self, index: usize) -> Result<u64, CallError> {
        match self.get(index)? {
            Value::UInt(u) => Ok(*u),
            Value::Int(i) => u64::try_from(*i).map_err(|_| CallError::Badarg),
            _ => Err(CallError::Badarg),
        }
    }

    /// A list of integers (groups, fd sets).
    pub fn ints(&self, index: usize) -> Result<Vec<i64>, CallError> {
        match self.get(index)? {
            Value::List(items) => items
                .iter()
                .map(|v| v.as_i64().ok_or(CallError::Badarg))
                .collect(),
            _ => Err(CallError::Badarg),
        }
    }

    pub fn atom(&self, index: usize) -> Result<&'a str, CallError> {
        self.get(index)?.as_atom().ok_or(CallError::Badarg)
    }

    pub fn iodata(&self, index: usize) -> Result<Vec<u8>, CallError> {
        iodata(self.get(index)?)
    }

    pub fn cstring(&self, index: usize) -> Result<CString, CallError> {
        cstring(self.get(index)?)
    }

    /// A list of iodata, each a C string (argv, envp).
    pub fn cstrings(&self, index: usize) -> Result<Vec<CString>, CallError> {
        match self.get(index)? {
            Value::List(items) => items.iter().map(cstring).collect(),
            _ => Err(CallError::Badarg),
        }
    }

    /// A constant: an integer, or an atom looked up in `table`.
    pub fn constant(&self, index: usize, table: &[(&'static str, i64)]) -> Result<i64, CallError> {
        constant(self.get(index)?, table)
    }

    /// Flags: a constant or a list of constants OR'ed together.
    pub fn flags(&self, index: usize, table: &[(&'static str, i64)]) -> Result<i64, CallError> {
        match self.get(index)? {
            Value::List(items) => items
                .iter()
                .try_fold(0i64, |acc, item| Ok(acc | constant(item, table)?)),
            other => constant(other, table),
        }
    }
}

pub fn constant(value: &Value, table: &[(&'static str, i64)]) -> Result<i64, CallError> {
    match value {
        Value::Atom(name) => consts::by_name(table, name).ok_or(CallError::Errno(libc::ENOTSUP)),
        other => other.as_i64().ok_or(CallError::Badarg),
    }
}

/// Deepest nesting of lists in iodata, as in the original alcove: a list
/// of bytes only (a string) is a leaf and does not count.
pub const MAX_IODATA_NESTING: usize = 16;

/// Flatten iodata: a binary, or a (nested) list of bytes and binaries.
/// A bare integer is not iodata.
pub fn iodata(value: &Value) -> Result<Vec<u8>, CallError> {
    if !matches!(value, Value::Bin(_) | Value::List(_)) {
        return Err(CallError::Badarg);
    }
    let mut out = Vec::new();
    flatten(value, &mut out, 0)?;
    Ok(out)
}

fn is_string(items: &[Value]) -> bool {
    items.iter().all(|item| matches!(item, Value::Int(0..=255)))
}

fn flatten(value: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), CallError> {
    match value {
        Value::Bin(bytes) => out.extend_from_slice(bytes),
        Value::Int(byte @ 0..=255) => out.push(*byte as u8),
        Value::List(items) => {
            let depth = if is_string(items) { depth } else { depth + 1 };
            if depth > MAX_IODATA_NESTING {
                return Err(CallError::Badarg);
            }
            for item in items {
                flatten(item, out, depth)?;
            }
        }
        _ => return Err(CallError::Badarg),
    }
    if out.len() > MAX_IODATA {
        return Err(CallError::Badarg);
    }
    Ok(())
}

/// iodata with no NUL byte, as a C string.
pub fn cstring(value: &Value) -> Result<CString, CallError> {
    CString::new(iodata(value)?).map_err(|_| CallError::Badarg)
}

/// Data one reply may carry. A reply frame is capped at
/// `alcove_proto::MAX_FRAME` (1 MiB) including its header, its pipeline
/// (up to `MAX_DEPTH` pids) and the term encoding: this leaves room for them.
pub const MAX_REPLY_DATA: usize = 1_000_000;

/// Encoded size of a list of binaries: a tag and a length per item.
pub fn binaries_size<'b>(items: impl IntoIterator<Item = &'b [u8]>) -> usize {
    items.into_iter().map(|item| item.len() + 5).sum::<usize>() + 5
}
