//! Call filters: a process can deny itself (and its future children)
//! calls; a denied call raises `undef`. Filters only ever add bits.

use crate::args::{Args, CallError, CallResult};
use crate::calls::NAMES;
use crate::state::State;
use alcove_proto::Value;

/// Bytes a filter needs: one bit per call.
pub const FILTER_BYTES: usize = NAMES.len().div_ceil(8);

/// A set of denied call numbers.
#[derive(Clone, Copy, Default)]
pub struct CallSet([u8; FILTER_BYTES]);

impl CallSet {
    pub fn contains(&self, nr: u16) -> bool {
        let (byte, bit) = ((nr / 8) as usize, nr % 8);
        self.0.get(byte).is_some_and(|b| b & (1 << bit) != 0)
    }

    /// Add the calls of a filter binary (bit N = call N, little-endian).
    fn add(&mut self, bits: &[u8]) {
        for (slot, byte) in self.0.iter_mut().zip(bits) {
            *slot |= byte;
        }
    }
}

fn filter_bits(value: &Value) -> Result<&[u8], CallError> {
    match value {
        // Longer than there are calls: a filter for another call table.
        Value::Bin(bits) if bits.len() > FILTER_BYTES => Err(CallError::Errno(libc::EINVAL)),
        Value::Bin(bits) => Ok(bits),
        _ => Err(CallError::Badarg),
    }
}

/// filter: deny `Calls` here and `Children` in the children forked from now on.
pub fn filter(state: &mut State, args: &Args) -> CallResult {
    let calls = filter_bits(args.get(0)?)?;
    let children = filter_bits(args.get(1)?)?;
    state.filter.add(calls);
    state.child_filter.add(children);
    Ok(Value::ok())
}
