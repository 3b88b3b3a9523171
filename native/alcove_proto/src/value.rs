//! A small self-describing term format for call arguments, replies and events.
//!
//! ```text
//! 0 i64            Int
//! 1 u64            UInt (integers above i64::MAX)
//! 2 u32 len bytes  Bin
//! 3 u8 len bytes   Atom (latin-1/utf-8 name, at most 255 bytes)
//! 4 u32 n items    List
//! 5 u32 n items    Tuple
//! ```

use std::fmt;

/// Deepest nesting a decoder accepts.
pub const MAX_NESTING: usize = 32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(i64),
    UInt(u64),
    Bin(Vec<u8>),
    Atom(String),
    List(Vec<Value>),
    Tuple(Vec<Value>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValueError {
    Truncated,
    BadTag(u8),
    TooDeep,
    BadAtom,
    Trailing(usize),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueError::Truncated => write!(f, "truncated value"),
            ValueError::BadTag(t) => write!(f, "unknown value tag {t}"),
            ValueError::TooDeep => write!(f, "value nested too deep"),
            ValueError::BadAtom => write!(f, "atom is not utf-8"),
            ValueError::Trailing(n) => write!(f, "{n} bytes after the value"),
        }
    }
}

impl std::error::Error for ValueError {}

impl Value {
    pub fn atom(name: &str) -> Value {
        Value::Atom(name.to_owned())
    }

    pub fn ok() -> Value {
        Value::atom("ok")
    }

    pub fn tuple2(a: Value, b: Value) -> Value {
        Value::Tuple(vec![a, b])
    }

    /// `{error, Reason}`.
    pub fn error(reason: &str) -> Value {
        Value::tuple2(Value::atom("error"), Value::atom(reason))
    }

    /// `{ok, V}`.
    pub fn ok_with(v: Value) -> Value {
        Value::tuple2(Value::ok(), v)
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    pub fn as_atom(&self) -> Option<&str> {
        match self {
            Value::Atom(a) => Some(a),
            _ => None,
        }
    }
}

/// Append the encoding of `value` to `out`.
pub fn encode_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Int(i) => {
            out.push(0);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Value::UInt(u) => {
            out.push(1);
            out.extend_from_slice(&u.to_be_bytes());
        }
        Value::Bin(b) => {
            out.push(2);
            out.extend_from_slice(&(b.len() as u32).to_be_bytes());
            out.extend_from_slice(b);
        }
        Value::Atom(a) => {
            let bytes = &a.as_bytes()[..a.len().min(255)];
            out.push(3);
            out.push(bytes.len() as u8);
            out.extend_from_slice(bytes);
        }
        Value::List(items) | Value::Tuple(items) => {
            out.push(if matches!(value, Value::List(_)) {
                4
            } else {
                5
            });
            out.extend_from_slice(&(items.len() as u32).to_be_bytes());
            for item in items {
                encode_value(out, item);
            }
        }
    }
}

/// Decode exactly one value filling all of `bytes`.
pub fn decode_value(bytes: &[u8]) -> Result<Value, ValueError> {
    let mut cursor = Cursor { bytes, pos: 0 };
    let value = cursor.value(0)?;
    let rest = bytes.len() - cursor.pos;
    if rest != 0 {
        return Err(ValueError::Trailing(rest));
    }
    Ok(value)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ValueError> {
        let end = self.pos.checked_add(n).ok_or(ValueError::Truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(ValueError::Truncated)?;
        self.pos = end;
        Ok(slice)
    }

    fn u32(&mut self) -> Result<usize, ValueError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn u64(&mut self) -> Result<u64, ValueError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    fn value(&mut self, depth: usize) -> Result<Value, ValueError> {
        if depth > MAX_NESTING {
            return Err(ValueError::TooDeep);
        }
        let tag = self.take(1)?[0];
        match tag {
            0 => Ok(Value::Int(self.u64()? as i64)),
            1 => Ok(Value::UInt(self.u64()?)),
            2 => {
                let len = self.u32()?;
                Ok(Value::Bin(self.take(len)?.to_vec()))
            }
            3 => {
                let len = self.take(1)?[0] as usize;
                let name = std::str::from_utf8(self.take(len)?).map_err(|_| ValueError::BadAtom)?;
                Ok(Value::Atom(name.to_owned()))
            }
            4 | 5 => {
                let count = self.u32()?;
                // Every item takes at least two bytes (an empty atom), so a
                // count larger than that allows is a lie: refuse it. Space is
                // reserved only for a few items up front; the rest grows as
                // items actually decode, so memory follows the bytes read
                // (at most a constant factor of the capped frame), never a
                // count that nested headers claim.
                if count > (self.bytes.len() - self.pos) / 2 {
                    return Err(ValueError::Truncated);
                }
                let mut items = Vec::with_capacity(count.min(16));
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Ok(if tag == 4 {
                    Value::List(items)
                } else {
                    Value::Tuple(items)
                })
            }
            other => Err(ValueError::BadTag(other)),
        }
    }
}
