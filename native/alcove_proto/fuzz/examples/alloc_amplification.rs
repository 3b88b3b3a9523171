//! How many heap bytes `decode_value` holds at once for a few hand-made
//! inputs, against their size. Run from this directory:
//! `cargo run --release --example alloc_amplification`.

use alcove_proto::{decode_value, encode_value, Frame, Kind, Value, MAX_FRAME, MAX_NESTING};
use alcove_proto_fuzz::{peak_alloc, Tracking};

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// A list (tag 4) claiming as many items as there are bytes left, whose
/// first item is again such a list, `levels` deep, padded with zeros to
/// `len` bytes. Every count passes the "count <= bytes left" check.
fn nested_lying_lists(len: usize, levels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    for _ in 0..levels {
        let left = len - out.len() - 5;
        out.push(4);
        out.extend_from_slice(&(left as u32).to_be_bytes());
    }
    out.resize(len, 0);
    out
}

/// A well-formed list of empty atoms (2 bytes each): the most `Value`s
/// per input byte an honest encoding gives.
fn empty_atoms(len: usize) -> Vec<u8> {
    let n = (len - 5) / 2;
    let mut out = Vec::new();
    encode_value(&mut out, &Value::List(vec![Value::atom(""); n]));
    out
}

fn report(name: &str, input: &[u8]) {
    let (result, peak) = peak_alloc(|| decode_value(input).map(|_| ()));
    println!(
        "{name:<48} {:>9} bytes in  {:>12} bytes live at once  x{:<7.1}  {:?}",
        input.len(),
        peak,
        peak as f64 / input.len() as f64,
        result
    );
}

fn main() {
    println!("size_of::<Value>() = {}, MAX_NESTING = {MAX_NESTING}, MAX_FRAME = {MAX_FRAME}", std::mem::size_of::<Value>());
    for len in [4096, MAX_FRAME - 64] {
        report(&format!("honest list of empty atoms ({len})"), &empty_atoms(len));
        report(&format!("1 lying list ({len})"), &nested_lying_lists(len, 1));
        report(&format!("{} nested lying lists ({len})", MAX_NESTING + 1), &nested_lying_lists(len, MAX_NESTING + 1));
    }
    // The same payload inside a Reply frame, as the NIF's reader thread gets it.
    let payload = nested_lying_lists(MAX_FRAME - 64, MAX_NESTING + 1);
    let frame = alcove_proto::encode_frame(Kind::Reply, 7, &[], &payload);
    let body = &frame[4..];
    let (r, peak) = peak_alloc(|| Frame::decode(body).map(|f| decode_value(f.payload).map(|_| ())));
    println!("Reply frame of {} bytes: decode_value holds {} bytes at once: {:?}", body.len(), peak, r);
}
