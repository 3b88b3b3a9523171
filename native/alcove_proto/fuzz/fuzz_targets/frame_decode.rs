//! `Frame::decode` on an arbitrary frame body: no panic, bounded
//! allocation, and an accepted frame encodes back to the same body. The
//! payload is then decoded the way the NIF and the helper do it.
#![no_main]

use alcove_proto::{decode_value, encode_frame, peek_request_id, Frame, Kind};
use alcove_proto_fuzz::{check_alloc, peak_alloc, Tracking};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Tracking = Tracking;

fuzz_target!(|body: &[u8]| {
    let (decoded, peak) = peak_alloc(|| Frame::decode(body));
    check_alloc("Frame::decode", body.len(), peak);
    let Ok(frame) = decoded else { return };
    let h = &frame.header;
    assert_eq!(peek_request_id(body), Some(h.request_id));
    let again = encode_frame(h.kind, h.request_id, &h.pipeline, frame.payload);
    assert_eq!(&again[4..], body, "Frame::decode accepted a body that does not encode back");
    assert_eq!(u32::from_be_bytes(again[..4].try_into().unwrap()) as usize, body.len());
    // What the receivers do with the payload.
    let payload = match h.kind {
        Kind::Call => frame.payload.get(2..),
        Kind::Reply | Kind::Event | Kind::Raise | Kind::Pipe => Some(frame.payload),
        // A shortcut's number, then how its calls end.
        Kind::Gone => frame.payload.get(8..),
        // Raw bytes: stdio, Hold's one-byte flag, and the fixed-size
        // fields of the stream and shortcut frames.
        Kind::Stdin
        | Kind::Stdout
        | Kind::Stderr
        | Kind::Hold
        | Kind::Done
        | Kind::Mark
        | Kind::Output
        | Kind::Flow
        | Kind::Close
        | Kind::Shortcut => None,
    };
    if let Some(payload) = payload {
        let (_, peak) = peak_alloc(|| decode_value(payload));
        check_alloc("decode_value (frame payload)", payload.len(), peak);
    }
});
