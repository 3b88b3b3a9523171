//! `decode_value` on arbitrary bytes: it must not panic, must allocate in
//! proportion to its input, and whatever it accepts must encode back to
//! exactly the same bytes (the encoding is canonical).
#![no_main]

use alcove_proto::{decode_value, encode_value};
use alcove_proto_fuzz::{check_alloc, peak_alloc, Tracking};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Tracking = Tracking;

fuzz_target!(|data: &[u8]| {
    let (decoded, peak) = peak_alloc(|| decode_value(data));
    check_alloc("decode_value", data.len(), peak);
    if let Ok(value) = decoded {
        let mut again = Vec::new();
        encode_value(&mut again, &value);
        assert_eq!(again, data, "decode_value accepted a non-canonical encoding of {value:?}");
    }
});
