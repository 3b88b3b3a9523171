//! The helper's C struct builder (`cstruct.rs`) on generated arguments,
//! the way alloc, ioctl, prctl, ptrace and seccomp use it:
//! `CStruct::from_value` and `PtrArg::from_value` must not panic, must
//! accept exactly what a model of the `cstruct()` type accepts (binaries
//! and `{ptr, Size | Binary}` elements, 1 MiB for the struct and its
//! buffers together), must not allocate what they refuse, must lay the
//! struct out as the model does with every pointer field pointing to a
//! buffer of its size (the target then writes through them, as the kernel
//! would, under AddressSanitizer), must read back what was written, and
//! `reply_size()` must be the encoded size of the reply it announces.
#![no_main]

use alcove_helper_fuzz::args::CallError;
use alcove_helper_fuzz::cstruct::{CStruct, PtrArg, MAX_CSTRUCT};
use alcove_helper_fuzz::gen;
use alcove_proto::{encode_value, Value};
use alcove_proto_fuzz::{alloc_factor, peak_alloc, Tracking};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Tracking = Tracking;

const WORD: usize = std::mem::size_of::<usize>();

#[derive(Debug, Clone)]
enum Field {
    Bytes(Vec<u8>),
    /// A pointer to a buffer holding these bytes.
    Ptr(Vec<u8>),
}

#[derive(Debug, PartialEq)]
enum Shape {
    Binary,
    List,
    Ptr,
}

/// The buffer a `{ptr, Size | Binary}` element stands for, `None` for
/// anything else.
fn model_ptr(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::Tuple(pair) => match pair.as_slice() {
            [Value::Atom(tag), Value::Bin(b)] if tag == "ptr" => Some(b.clone()),
            [Value::Atom(tag), Value::Int(n)]
                if tag == "ptr" && *n >= 0 && *n as u64 <= MAX_CSTRUCT as u64 =>
            {
                Some(vec![0; *n as usize])
            }
            [Value::Atom(tag), Value::UInt(n)] if tag == "ptr" && *n <= MAX_CSTRUCT as u64 => {
                Some(vec![0; *n as usize])
            }
            _ => None,
        },
        _ => None,
    }
}

/// Bytes the struct and its buffers take.
fn cost(fields: &[Field]) -> usize {
    fields
        .iter()
        .map(|f| match f {
            Field::Bytes(b) => b.len(),
            Field::Ptr(b) => WORD + b.len(),
        })
        .sum()
}

/// What `CStruct::from_value` should build, `None` for badarg.
fn model_cstruct(v: &Value) -> Option<(Shape, Vec<Field>)> {
    let (shape, fields) = match v {
        Value::Bin(b) => (Shape::Binary, vec![Field::Bytes(b.clone())]),
        Value::List(items) => {
            let mut fields = Vec::new();
            for item in items {
                match item {
                    Value::Bin(b) => fields.push(Field::Bytes(b.clone())),
                    other => fields.push(Field::Ptr(model_ptr(other)?)),
                }
                if cost(&fields) > MAX_CSTRUCT {
                    return None;
                }
            }
            (Shape::List, fields)
        }
        _ => return None,
    };
    (cost(&fields) <= MAX_CSTRUCT).then_some((shape, fields))
}

/// Fill `len` bytes at `p` with a pattern, as a system call writing an
/// out-parameter would; the same pattern is written into the model.
fn scribble(p: *mut u8, len: usize, seed: u8, model: &mut [u8]) {
    assert_eq!(model.len(), len);
    for (k, m) in model.iter_mut().enumerate() {
        let b = seed.wrapping_add(k as u8).rotate_left(3);
        // SAFETY: `p` points to `len` bytes the struct owns (that is the
        // property checked, under AddressSanitizer).
        unsafe { p.add(k).write(b) };
        *m = b;
    }
}

fn encoded_len(v: &Value) -> usize {
    let mut out = Vec::new();
    encode_value(&mut out, v);
    out.len()
}

fn ptr_value(b: &[u8]) -> Value {
    Value::Tuple(vec![Value::atom("ptr"), Value::Bin(b.to_vec())])
}

/// Build, check layout, write through the struct and its pointers, and
/// check what is read back.
fn exercise(mut cstruct: CStruct, shape: Shape, mut fields: Vec<Field>, seed: u8) {
    // A bare {ptr, _} is modelled as a struct of one Bytes field: its buffer.
    let layout: usize = fields
        .iter()
        .map(|f| match f {
            Field::Bytes(b) => b.len(),
            Field::Ptr(_) => WORD,
        })
        .sum();
    assert_eq!(cstruct.bytes().len(), layout, "struct size");
    let base = cstruct.as_mut_ptr() as *mut u8;
    assert_eq!(base.is_null(), cstruct.bytes().is_empty());
    let mut offset = 0;
    for (n, field) in fields.iter_mut().enumerate() {
        let seed = seed.wrapping_add(n as u8);
        match field {
            Field::Bytes(b) if shape == Shape::Ptr => {
                scribble(base, b.len(), seed, b);
            }
            Field::Bytes(b) => {
                // SAFETY: within the struct's bytes (the length was checked).
                scribble(unsafe { base.add(offset) }, b.len(), seed, b);
                offset += b.len();
            }
            Field::Ptr(b) => {
                let word: [u8; WORD] = cstruct.bytes()[offset..offset + WORD].try_into().unwrap();
                let address = usize::from_ne_bytes(word) as *mut u8;
                assert_eq!(address.is_null(), b.is_empty(), "pointer field {n}");
                scribble(address, b.len(), seed, b);
                offset += WORD;
            }
        }
    }
    let expected = match shape {
        Shape::Binary => match &fields[..] {
            [Field::Bytes(b)] => Value::Bin(b.clone()),
            _ => unreachable!(),
        },
        Shape::Ptr => match &fields[..] {
            [Field::Bytes(b)] => ptr_value(b),
            _ => unreachable!(),
        },
        Shape::List => Value::List(
            fields
                .iter()
                .map(|f| match f {
                    Field::Bytes(b) => Value::Bin(b.clone()),
                    Field::Ptr(b) if b.is_empty() => Value::Bin(vec![0; WORD]),
                    Field::Ptr(b) => ptr_value(b),
                })
                .collect(),
        ),
    };
    assert_eq!(cstruct.contents(), expected);
    assert_eq!(cstruct.reply_size(), encoded_len(&expected), "reply_size");
}

fuzz_target!(|data: &[u8]| {
    let Some(values) = gen::arguments(data) else {
        return;
    };
    let seed = data.first().copied().unwrap_or(0);
    for v in &values {
        let model = model_cstruct(v);
        let (built, peak) = peak_alloc(|| CStruct::from_value(v));
        // What it holds at once: the struct (doubling as it grows), its
        // buffers, a field record per element; nothing for what it refuses.
        let items = match v {
            Value::List(items) => items.len(),
            _ => 1,
        };
        let bound = 3 * MAX_CSTRUCT + 2 * 48 * items + 4096;
        if alloc_factor() > 0 && peak > bound {
            panic!("CStruct::from_value: {peak} heap bytes live at once (bound {bound})");
        }
        match (built, model) {
            (Ok(c), Some((shape, fields))) => exercise(c, shape, fields, seed),
            (Err(e), None) => assert_eq!(e, CallError::Badarg),
            (Ok(_), None) => panic!(
                "CStruct accepted what the model refuses: {} bytes",
                gen::weight(v)
            ),
            (Err(e), Some(_)) => panic!(
                "CStruct refused ({e:?}) what the model accepts: {} bytes",
                gen::weight(v)
            ),
        }

        // ptr_arg(): integers as they are, a bare {ptr, _}, or a cstruct.
        let arg = PtrArg::from_value(v);
        match v {
            Value::Int(_) | Value::UInt(_) => {
                let mut arg = arg.expect("an integer is a ptr_arg");
                // The same bits as C would pass.
                let word = match v {
                    Value::Int(i) => *i as libc::c_ulong,
                    Value::UInt(u) => *u as libc::c_ulong,
                    _ => unreachable!(),
                };
                assert_eq!(arg.as_word(), word);
                assert_eq!(&arg.value(), v);
                assert_eq!(arg.value_or_empty(), Value::Bin(vec![]));
                assert_eq!(arg.reply_size(), encoded_len(&arg.value()));
            }
            Value::Tuple(_) => match (arg, model_ptr(v).filter(|b| b.len() <= MAX_CSTRUCT)) {
                (Ok(PtrArg::Struct(c)), Some(b)) => {
                    exercise(c, Shape::Ptr, vec![Field::Bytes(b)], seed)
                }
                (Err(CallError::Badarg), None) => {}
                (Ok(PtrArg::Int(..)), _) => panic!("a tuple read as an integer"),
                (r, m) => panic!(
                    "bare ptr: {:?} against model {:?}",
                    r.err(),
                    m.map(|b| b.len())
                ),
            },
            _ => assert_eq!(arg.is_ok(), model_cstruct(v).is_some()),
        }
    }
});
