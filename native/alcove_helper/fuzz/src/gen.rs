//! Argument lists built from fuzz input by a small stack program, so that
//! a few input bytes can stand for values the byte-level decoder would
//! need megabytes to spell: large binaries, one binary repeated many
//! times, deep nesting, strings, `{ptr, _}` elements, integers at the
//! edges of every C type and of the helper's limits.
//!
//! Each input byte is an opcode (taken modulo [`OPS`]), some followed by
//! operands; missing operands read as zero. The program stops at the end
//! of the input or once the values built weigh [`WEIGHT_MAX`] encoded
//! bytes. The argument list is what is left on the stack, bottom first.
//!
//! The list is then encoded and decoded again with `alcove_proto`, and
//! the decoded one is returned: the helper only ever sees values that came
//! out of `decode_value` (nesting deeper than `MAX_NESTING` is dropped
//! there, so it is dropped here too).

use alcove_proto::{decode_value, encode_value, Value};

/// Stop building past this many encoded bytes: twice a frame, so that
/// the limits at 1 MiB are crossed from both sides.
pub const WEIGHT_MAX: usize = 2 << 20;

const OPS: u8 = 16;

/// Integers at the edges of the C types and of the helper's limits.
const EDGE_INTS: [i64; 20] = [
    0,
    1,
    -1,
    255,
    256,
    i32::MAX as i64,
    i32::MIN as i64,
    u32::MAX as i64,
    u32::MAX as i64 + 1,
    i64::MAX,
    i64::MIN,
    (1 << 20) - 1,
    1 << 20,
    (1 << 20) + 1,
    (1 << 19) - 8,
    1 << 19,
    8,
    7,
    1_000_000,
    -2,
];

/// Binary sizes around the 1 MiB limits and half of them.
const EDGE_SIZES: [usize; 8] = [
    0,
    (1 << 20) - 1,
    1 << 20,
    (1 << 20) + 1,
    (1 << 19) - 8,
    1 << 19,
    (1 << 19) + 1,
    8,
];

/// Atoms the decoders give a meaning to, and some they must refuse.
const ATOMS: [&str; 28] = [
    "ptr",
    "",
    "o_rdonly",
    "o_creat",
    "sigkill",
    "sigterm",
    "clone_newns",
    "clone_newpid",
    "rlimit_nofile",
    "true",
    "undefined",
    "no_such_constant",
    // seccomp_load's rules.
    "allow",
    "user_notif",
    "errno",
    "eacces",
    "eq",
    "masked_eq",
    "dword",
    "read",
    "mkdir",
    "no_new_privs",
    // the capability calls' sets and names.
    "effective",
    "bounding",
    "cap_chown",
    "cap_checkpoint_restore",
    "CAP_CHOWN",
    "cap_",
];

struct Program<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Program<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        b.iter_mut().for_each(|x| *x = self.byte());
        u64::from_be_bytes(b)
    }
}

/// Encoded size of a value, as `alcove_proto::encode_value` writes it.
pub fn weight(value: &Value) -> usize {
    match value {
        Value::Int(_) | Value::UInt(_) => 9,
        Value::Bin(b) => 5 + b.len(),
        Value::Atom(a) => 2 + a.len(),
        Value::List(items) | Value::Tuple(items) => 5 + items.iter().map(weight).sum::<usize>(),
    }
}

/// The argument list the program in `data` builds, as the helper would
/// decode it; `None` when its encoding is refused by the decoder.
pub fn arguments(data: &[u8]) -> Option<Vec<Value>> {
    let mut p = Program { data, pos: 0 };
    // Each value with its weight.
    let mut stack: Vec<(Value, usize)> = Vec::new();
    let mut total = 0usize;
    let pop_n = |stack: &mut Vec<(Value, usize)>, n: usize| -> (Vec<Value>, usize) {
        let at = stack.len() - n.min(stack.len());
        let items: Vec<(Value, usize)> = stack.drain(at..).collect();
        let w = items.iter().map(|(_, w)| w).sum();
        (items.into_iter().map(|(v, _)| v).collect(), w)
    };
    while p.pos < data.len() {
        let op = p.byte() % OPS;
        let (value, w): (Value, usize) = match op {
            0 => (Value::Int(p.byte() as i8 as i64), 9),
            1 => (Value::Int(p.u64() as i64), 9),
            2 => (Value::UInt(p.u64()), 9),
            3 => (
                Value::Int(EDGE_INTS[p.byte() as usize % EDGE_INTS.len()]),
                9,
            ),
            4 => {
                let n = p.byte() as usize;
                (Value::Bin(p.bytes(n)), 5 + n)
            }
            5 => {
                // u16 units of 64 copies of one byte: up to 4 MiB.
                let n = p.u16() as usize * 64;
                let fill = p.byte();
                if total + n > WEIGHT_MAX {
                    break;
                }
                (Value::Bin(vec![fill; n]), 5 + n)
            }
            6 => {
                let n = EDGE_SIZES[p.byte() as usize % EDGE_SIZES.len()];
                let fill = p.byte();
                if total + n > WEIGHT_MAX {
                    break;
                }
                (Value::Bin(vec![fill; n]), 5 + n)
            }
            7 => {
                // Printable ASCII, so the 255-byte cap never splits a char.
                let n = p.byte() as usize;
                let name: String = p.bytes(n).iter().map(|b| (b' ' + b % 95) as char).collect();
                (Value::Atom(name), 2 + n)
            }
            8 => {
                let name = ATOMS[p.byte() as usize % ATOMS.len()];
                (Value::atom(name), 2 + name.len())
            }
            9 | 10 => {
                let (items, w) = pop_n(&mut stack, p.byte() as usize % 9);
                total -= w;
                let v = if op == 9 {
                    Value::List(items)
                } else {
                    Value::Tuple(items)
                };
                (v, 5 + w)
            }
            11 => {
                // The same value n more times, in a list with it.
                let Some((top, w)) = stack.pop() else {
                    continue;
                };
                total -= w;
                let n = 1 + p.byte() as usize;
                if total + n * w > WEIGHT_MAX {
                    break;
                }
                (Value::List(vec![top; n]), 5 + n * w)
            }
            12 => {
                // Wrap the top in 1..64 one-element lists (past MAX_NESTING).
                let Some((mut top, w)) = stack.pop() else {
                    continue;
                };
                total -= w;
                let n = 1 + p.byte() as usize % 64;
                for _ in 0..n {
                    top = Value::List(vec![top]);
                }
                (top, w + 5 * n)
            }
            13 => {
                // A string: a list of small integers (out of byte range
                // when the length's top bit is set).
                let n = p.byte() as usize;
                let wide = n & 0x80 != 0;
                let items = p
                    .bytes(n & 0x7f)
                    .into_iter()
                    .map(|b| Value::Int(if wide { b as i64 * 3 - 128 } else { b as i64 }))
                    .collect::<Vec<_>>();
                let w = 5 + 9 * items.len();
                (Value::List(items), w)
            }
            14 => {
                // {ptr, Top}
                let Some((top, w)) = stack.pop() else {
                    continue;
                };
                total -= w;
                (Value::Tuple(vec![Value::atom("ptr"), top]), 5 + 5 + w)
            }
            _ => {
                // Duplicate the top.
                let Some((top, w)) = stack.last().cloned() else {
                    continue;
                };
                if total + w > WEIGHT_MAX {
                    break;
                }
                (top, w)
            }
        };
        total += w;
        stack.push((value, w));
        if total > WEIGHT_MAX {
            break;
        }
    }
    let args = Value::List(stack.into_iter().map(|(v, _)| v).collect());
    let mut encoded = Vec::with_capacity(weight(&args));
    encode_value(&mut encoded, &args);
    match decode_value(&encoded) {
        Ok(Value::List(items)) => {
            assert_eq!(Value::List(items.clone()), args, "alcove_proto round trip");
            Some(items)
        }
        Ok(other) => panic!("a list decoded as {other:?}"),
        Err(_) => None,
    }
}
