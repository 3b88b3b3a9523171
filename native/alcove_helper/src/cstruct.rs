//! C structs built from the wire: the `cstruct()` and `ptr_arg()` argument
//! types of alloc, ioctl, prctl, ptrace and seccomp.
//!
//! A cstruct is a list of binaries and `{ptr, Size | Binary}` elements laid
//! end to end. A binary is copied into the struct as is; a `{ptr, ...}` is
//! a pointer-sized, native-endian field holding the address of a buffer of
//! its own (`Size` zeroed bytes, or a copy of `Binary`). After the call the
//! struct is read back: binaries as they now are in the struct, and each
//! `{ptr, ...}` as `{ptr, CurrentContents}`, so out-parameters are visible
//! in the reply. The addresses themselves are never returned (alloc
//! excepted).

use crate::args::CallError;
use alcove_proto::Value;
use std::ops::Range;

/// Most bytes a struct and its buffers may take together.
pub const MAX_CSTRUCT: usize = 1 << 20;

const POINTER_SIZE: usize = std::mem::size_of::<usize>();

enum Field {
    /// Bytes of the struct given as a binary.
    Bytes(Range<usize>),
    /// A pointer field at `offset` to `buffer`; an empty buffer is NULL.
    Ptr { offset: usize, buffer: Box<[u8]> },
}

/// How the argument was written, so the reply can be written the same way.
enum Shape {
    /// `Binary`: the struct is the binary; the reply is a binary.
    Binary,
    /// `[Binary | {ptr, ...}]`: the reply is a list of the same shape.
    List,
    /// A bare `{ptr, ...}`: the argument is the buffer's address; the reply
    /// is `{ptr, Contents}`.
    Ptr,
}

/// A struct with the buffers its pointer fields point to.
pub struct CStruct {
    bytes: Vec<u8>,
    fields: Vec<Field>,
    shape: Shape,
}

impl CStruct {
    /// A cstruct (a list), or a binary taken as a struct of one field.
    pub fn from_value(value: &Value) -> Result<CStruct, CallError> {
        let mut cstruct = CStruct {
            bytes: Vec::new(),
            fields: Vec::new(),
            shape: Shape::List,
        };
        let mut budget = MAX_CSTRUCT;
        match value {
            Value::Bin(bytes) => {
                cstruct.shape = Shape::Binary;
                cstruct.push_bytes(bytes, &mut budget)?;
            }
            Value::List(items) => {
                for item in items {
                    cstruct.push(item, &mut budget)?;
                }
            }
            _ => return Err(CallError::Badarg),
        }
        Ok(cstruct)
    }

    /// A bare `{ptr, Size | Binary}`: the buffer alone, no struct around
    /// it, so it is kept as the struct's bytes.
    fn from_ptr(value: &Value) -> Result<CStruct, CallError> {
        let mut budget = MAX_CSTRUCT;
        let buffer = ptr_buffer(value, &mut budget)?.ok_or(CallError::Badarg)?;
        Ok(CStruct {
            fields: vec![Field::Bytes(0..buffer.len())],
            bytes: buffer.into_vec(),
            shape: Shape::Ptr,
        })
    }

    fn push(&mut self, item: &Value, budget: &mut usize) -> Result<(), CallError> {
        if let Value::Bin(bytes) = item {
            return self.push_bytes(bytes, budget);
        }
        let buffer = ptr_buffer(item, budget)?.ok_or(CallError::Badarg)?;
        take(budget, POINTER_SIZE)?;
        let offset = self.bytes.len();
        self.bytes.extend_from_slice(&[0; POINTER_SIZE]);
        self.fields.push(Field::Ptr { offset, buffer });
        Ok(())
    }

    fn push_bytes(&mut self, bytes: &[u8], budget: &mut usize) -> Result<(), CallError> {
        take(budget, bytes.len())?;
        let start = self.bytes.len();
        self.bytes.extend_from_slice(bytes);
        self.fields.push(Field::Bytes(start..self.bytes.len()));
        Ok(())
    }

    /// Write the buffers' current addresses into the pointer fields and
    /// return the address to pass to the kernel, NULL for an empty struct.
    /// The addresses stay valid while `self` is neither dropped nor changed.
    pub fn as_mut_ptr(&mut self) -> *mut libc::c_void {
        for field in &mut self.fields {
            if let Field::Ptr { offset, buffer } = field {
                let address = buffer_address(buffer) as usize;
                self.bytes[*offset..*offset + POINTER_SIZE].copy_from_slice(&address.to_ne_bytes());
            }
        }
        if self.bytes.is_empty() {
            std::ptr::null_mut()
        } else {
            self.bytes.as_mut_ptr().cast()
        }
    }

    /// The struct as the kernel sees it, pointer fields included.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The struct read back in the shape it was given in.
    pub fn contents(&self) -> Value {
        match self.shape {
            Shape::Binary => Value::Bin(self.bytes.clone()),
            Shape::List => Value::List(self.fields.iter().map(|f| self.read(f)).collect()),
            Shape::Ptr => ptr_value(&self.bytes),
        }
    }

    /// The encoded size of `contents()` (see `alcove_proto::value`): a
    /// call checks its reply fits in one frame before making the call.
    pub fn reply_size(&self) -> usize {
        const TAG_AND_LENGTH: usize = 5;
        // `{ptr, Binary}`: the tuple, the atom, the binary's header.
        const PTR_TUPLE: usize = 3 * TAG_AND_LENGTH;
        match self.shape {
            Shape::Binary => TAG_AND_LENGTH + self.bytes.len(),
            Shape::Ptr => PTR_TUPLE + self.bytes.len(),
            Shape::List => self.fields.iter().fold(TAG_AND_LENGTH, |size, field| {
                size + match field {
                    Field::Bytes(range) => TAG_AND_LENGTH + range.len(),
                    Field::Ptr { buffer, .. } if buffer.is_empty() => TAG_AND_LENGTH + POINTER_SIZE,
                    Field::Ptr { buffer, .. } => PTR_TUPLE + buffer.len(),
                }
            }),
        }
    }

    fn read(&self, field: &Field) -> Value {
        match field {
            Field::Bytes(range) => Value::Bin(self.bytes[range.clone()].to_vec()),
            // A pointer to nothing is NULL: read back as the pointer field
            // itself (zeroes), as the original does.
            Field::Ptr { buffer, .. } if buffer.is_empty() => Value::Bin(vec![0; POINTER_SIZE]),
            Field::Ptr { buffer, .. } => ptr_value(buffer),
        }
    }
}

/// A `ptr_arg()`: an integer passed as is, or a struct passed by address.
pub enum PtrArg {
    Int(Value, libc::c_ulong),
    Struct(CStruct),
}

impl PtrArg {
    /// An integer, a binary, a cstruct, or a bare `{ptr, Size | Binary}`.
    pub fn from_value(value: &Value) -> Result<PtrArg, CallError> {
        match value {
            // A negative integer is passed with the same bits, as C would.
            Value::Int(i) => libc::c_long::try_from(*i)
                .map(|word| word as libc::c_ulong)
                .or_else(|_| libc::c_ulong::try_from(*i))
                .map(|word| PtrArg::Int(value.clone(), word))
                .map_err(|_| CallError::Badarg),
            Value::UInt(u) => libc::c_ulong::try_from(*u)
                .map(|word| PtrArg::Int(value.clone(), word))
                .map_err(|_| CallError::Badarg),
            Value::Tuple(_) => CStruct::from_ptr(value).map(PtrArg::Struct),
            _ => CStruct::from_value(value).map(PtrArg::Struct),
        }
    }

    /// The machine word to pass: the integer, or the struct's address.
    pub fn as_word(&mut self) -> libc::c_ulong {
        match self {
            PtrArg::Int(_, word) => *word,
            PtrArg::Struct(cstruct) => cstruct.as_mut_ptr() as usize as libc::c_ulong,
        }
    }

    /// The encoded size of `value()`.
    pub fn reply_size(&self) -> usize {
        match self {
            PtrArg::Int(..) => 9,
            PtrArg::Struct(cstruct) => cstruct.reply_size(),
        }
    }

    /// The `ptr_val()` for the reply: the integer, or the struct's contents.
    pub fn value(&self) -> Value {
        match self {
            PtrArg::Int(value, _) => value.clone(),
            PtrArg::Struct(cstruct) => cstruct.contents(),
        }
    }

    /// As [`PtrArg::value`], but an integer argument reads back as `<<>>`:
    /// what the original's ioctl and ptrace replies hold for one.
    pub fn value_or_empty(&self) -> Value {
        match self {
            PtrArg::Int(..) => Value::Bin(Vec::new()),
            PtrArg::Struct(cstruct) => cstruct.contents(),
        }
    }
}

/// `Some(buffer)` for a `{ptr, Size | Binary}` element, `None` otherwise.
fn ptr_buffer(item: &Value, budget: &mut usize) -> Result<Option<Box<[u8]>>, CallError> {
    let Value::Tuple(pair) = item else {
        return Ok(None);
    };
    let [Value::Atom(tag), init] = pair.as_slice() else {
        return Ok(None);
    };
    if tag != "ptr" {
        return Ok(None);
    }
    let buffer = match init {
        Value::Bin(bytes) => {
            take(budget, bytes.len())?;
            bytes.clone().into_boxed_slice()
        }
        size => {
            let size = size
                .as_i64()
                .and_then(|size| usize::try_from(size).ok())
                .ok_or(CallError::Badarg)?;
            take(budget, size)?;
            vec![0u8; size].into_boxed_slice()
        }
    };
    Ok(Some(buffer))
}

/// Charge `size` bytes to what is left of the budget.
fn take(budget: &mut usize, size: usize) -> Result<(), CallError> {
    *budget = budget.checked_sub(size).ok_or(CallError::Badarg)?;
    Ok(())
}

fn buffer_address(buffer: &mut [u8]) -> *mut u8 {
    if buffer.is_empty() {
        std::ptr::null_mut()
    } else {
        buffer.as_mut_ptr()
    }
}

fn ptr_value(buffer: &[u8]) -> Value {
    Value::Tuple(vec![Value::atom("ptr"), Value::Bin(buffer.to_vec())])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(bytes: &[u8]) -> Value {
        Value::Bin(bytes.to_vec())
    }

    fn ptr(init: Value) -> Value {
        Value::Tuple(vec![Value::atom("ptr"), init])
    }

    fn read_pointer(bytes: &[u8], offset: usize) -> usize {
        let mut word = [0u8; POINTER_SIZE];
        word.copy_from_slice(&bytes[offset..offset + POINTER_SIZE]);
        usize::from_ne_bytes(word)
    }

    #[test]
    fn layout_places_pointers_between_bytes() {
        let value = Value::List(vec![
            bin(b"abc"),
            ptr(Value::Int(4)),
            ptr(bin(b"xyz")),
            bin(b"!"),
        ]);
        let mut cstruct = CStruct::from_value(&value).unwrap();
        let address = cstruct.as_mut_ptr();
        let bytes = cstruct.bytes();
        assert_eq!(bytes.len(), 3 + 2 * POINTER_SIZE + 1);
        assert_eq!(address as usize, bytes.as_ptr() as usize);
        assert_eq!(&bytes[..3], b"abc");
        assert_eq!(bytes[bytes.len() - 1], b'!');
        let second = read_pointer(bytes, 3 + POINTER_SIZE);
        // SAFETY: the field points to the 3-byte buffer cstruct owns.
        let pointed = unsafe { std::slice::from_raw_parts(second as *const u8, 3) };
        assert_eq!(pointed, b"xyz");
        assert_eq!(
            cstruct.contents(),
            Value::List(vec![
                bin(b"abc"),
                ptr(bin(&[0; 4])),
                ptr(bin(b"xyz")),
                bin(b"!"),
            ])
        );
    }

    #[test]
    fn writes_through_pointers_show_in_contents() {
        let value = Value::List(vec![bin(&[1, 2]), ptr(Value::Int(2))]);
        let mut cstruct = CStruct::from_value(&value).unwrap();
        let address = cstruct.as_mut_ptr() as *mut u8;
        // This plays the kernel's part, writing through the addresses.
        // SAFETY: the struct is 2 + POINTER_SIZE bytes, owned by cstruct
        // and not otherwise borrowed while this slice lives.
        let bytes = unsafe { std::slice::from_raw_parts_mut(address, 2 + POINTER_SIZE) };
        bytes[0] = 9;
        let field = read_pointer(bytes, 2) as *mut u8;
        // SAFETY: the pointer field holds the address of the 2-byte buffer
        // cstruct owns, not otherwise borrowed while this slice lives.
        let buffer = unsafe { std::slice::from_raw_parts_mut(field, 2) };
        buffer[1] = 7;
        assert_eq!(
            cstruct.contents(),
            Value::List(vec![bin(&[9, 2]), ptr(bin(&[0, 7]))])
        );
    }

    #[test]
    fn binary_and_bare_ptr_shapes() {
        let mut binary = CStruct::from_value(&bin(b"name")).unwrap();
        assert!(!binary.as_mut_ptr().is_null());
        assert_eq!(binary.contents(), bin(b"name"));

        let mut arg = PtrArg::from_value(&ptr(Value::Int(16))).unwrap();
        assert_ne!(arg.as_word(), 0);
        assert_eq!(arg.value(), ptr(bin(&[0; 16])));

        let mut int = PtrArg::from_value(&Value::Int(-1)).unwrap();
        assert_eq!(int.as_word(), libc::c_ulong::MAX);
        assert_eq!(int.value(), Value::Int(-1));
    }

    #[test]
    fn empty_struct_and_empty_buffer_are_null() {
        let mut empty = CStruct::from_value(&Value::List(vec![])).unwrap();
        assert!(empty.as_mut_ptr().is_null());
        assert_eq!(empty.contents(), Value::List(vec![]));

        let mut zero = CStruct::from_value(&Value::List(vec![ptr(Value::Int(0))])).unwrap();
        zero.as_mut_ptr();
        assert_eq!(read_pointer(zero.bytes(), 0), 0);
        // NULL reads back as the pointer field itself.
        assert_eq!(zero.contents(), Value::List(vec![bin(&[0; POINTER_SIZE])]));
    }

    #[test]
    fn reply_size_is_the_encoded_size() {
        let values = [
            bin(b"abc"),
            Value::List(vec![]),
            Value::List(vec![
                bin(b"ab"),
                ptr(Value::Int(3)),
                ptr(bin(b"xyz")),
                bin(b""),
                ptr(bin(b"")),
            ]),
            ptr(Value::Int(16)),
            Value::Int(-5),
            Value::UInt(u64::MAX),
        ];
        for value in values {
            let arg = PtrArg::from_value(&value).unwrap();
            let mut encoded = Vec::new();
            alcove_proto::encode_value(&mut encoded, &arg.value());
            assert_eq!(arg.reply_size(), encoded.len(), "{value:?}");
        }
    }

    #[test]
    fn bad_elements_are_badarg() {
        for value in [
            Value::atom("ptr"),
            Value::Int(1),
            Value::List(vec![Value::Int(1)]),
            Value::List(vec![Value::atom("ptr")]),
            Value::List(vec![ptr(Value::Int(-1))]),
            Value::List(vec![ptr(Value::atom("x"))]),
            Value::List(vec![Value::Tuple(vec![Value::atom("buf"), Value::Int(1)])]),
            Value::List(vec![Value::Tuple(vec![Value::atom("ptr")])]),
            Value::List(vec![Value::List(vec![])]),
        ] {
            assert_eq!(CStruct::from_value(&value).err(), Some(CallError::Badarg));
        }
        for value in [Value::atom("x"), Value::Tuple(vec![]), ptr(Value::Int(-1))] {
            assert!(matches!(PtrArg::from_value(&value), Err(CallError::Badarg)));
        }
    }

    #[test]
    fn oversize_is_badarg_before_allocating() {
        let huge = [
            Value::List(vec![ptr(Value::UInt(u64::MAX))]),
            Value::List(vec![ptr(Value::Int(i64::MAX))]),
            Value::List(vec![ptr(Value::Int(MAX_CSTRUCT as i64 + 1))]),
            bin(&vec![0; MAX_CSTRUCT + 1]),
        ];
        for value in huge {
            assert_eq!(CStruct::from_value(&value).err(), Some(CallError::Badarg));
        }
    }

    #[test]
    fn budget_counts_struct_and_buffers_together() {
        let half = MAX_CSTRUCT / 2;
        let fits = Value::List(vec![
            bin(&vec![0; half]),
            ptr(Value::Int((half - POINTER_SIZE) as i64)),
        ]);
        assert!(CStruct::from_value(&fits).is_ok());
        let over = Value::List(vec![bin(&vec![0; half]), ptr(Value::Int(half as i64))]);
        assert_eq!(CStruct::from_value(&over).err(), Some(CallError::Badarg));
        let many = Value::List(vec![ptr(bin(&vec![1; half])), ptr(bin(&vec![2; half]))]);
        assert_eq!(CStruct::from_value(&many).err(), Some(CallError::Badarg));
        let exact = Value::List(vec![bin(&vec![0; MAX_CSTRUCT])]);
        assert!(CStruct::from_value(&exact).is_ok());
    }
}
