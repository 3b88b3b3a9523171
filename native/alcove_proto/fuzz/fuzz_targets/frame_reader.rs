//! `FrameReader` fed an arbitrary byte stream in arbitrary chunks, drained
//! after every push the way the NIF's reader thread and the helper do it.
//! Chunks go in by `push` and by `fill` (read in place, as the NIF's
//! reader thread does) in turn.
//! Checked against a simple model of the framing: the same bodies in the
//! same order whatever the chunking, oversized frames reported (with the
//! right request id when its bytes were there) and skipped, `buffered()`
//! exact, no panic, and memory bounded by the frame cap and the chunk size.
//!
//! The input is a little program: a byte `op` then
//! - `op` even: push the next `op / 2` (0..127) input bytes as one chunk;
//! - `op` odd: `u16 units, u8 byte`: push `units * 32` copies of `byte`
//!   as one chunk (up to 2 MiB, so whole capped frames fit in few inputs).
#![no_main]

use alcove_proto::{FrameReader, Next, MAX_FRAME};
use alcove_proto_fuzz::{alloc_factor, peak_alloc, Tracking};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// Stop adding chunks once the stream is this long.
const STREAM_MAX: usize = 3 << 20;

struct Item {
    start: usize,
    declared: usize,
    oversized: bool,
}

impl Item {
    /// The reader can report this item once `pushed` bytes are in.
    fn ready(&self, pushed: usize) -> bool {
        if self.oversized {
            pushed >= self.start + 4
        } else {
            pushed >= self.start + 4 + self.declared
        }
    }
}

fn chunks(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut total = 0;
    let mut i = 0;
    while i < data.len() && total < STREAM_MAX {
        let op = data[i];
        i += 1;
        let chunk = if op & 1 == 0 {
            let end = (i + (op >> 1) as usize).min(data.len());
            let c = data[i..end].to_vec();
            i = end;
            c
        } else {
            let Some(arg) = data.get(i..i + 3) else { break };
            i += 3;
            vec![arg[2]; u16::from_be_bytes([arg[0], arg[1]]) as usize * 32]
        };
        total += chunk.len();
        out.push(chunk);
    }
    out
}

/// Items of the whole stream, and where the incomplete tail starts.
fn model(stream: &[u8]) -> (Vec<Item>, usize) {
    let mut items = Vec::new();
    let mut pos = 0;
    while pos + 4 <= stream.len() {
        let declared = u32::from_be_bytes(stream[pos..pos + 4].try_into().unwrap()) as usize;
        let oversized = declared > MAX_FRAME;
        if !oversized && pos + 4 + declared > stream.len() {
            break;
        }
        items.push(Item { start: pos, declared, oversized });
        pos += 4 + declared;
    }
    (items, pos)
}

fuzz_target!(|data: &[u8]| {
    let chunks = chunks(data);
    let stream: Vec<u8> = chunks.concat();
    let (items, tail) = model(&stream);
    let max_chunk = chunks.iter().map(Vec::len).max().unwrap_or(0);

    let mut reader = FrameReader::new();
    let mut pushed = 0;
    let mut idx = 0;
    let ((), peak) = peak_alloc(|| {
        for (n, chunk) in chunks.iter().enumerate() {
            if n % 2 == 0 {
                reader.push(chunk);
            } else {
                let got = reader.fill::<()>(chunk.len(), |space| {
                    space[..chunk.len()].copy_from_slice(chunk);
                    Ok(chunk.len())
                });
                assert_eq!(got, Ok(chunk.len()));
            }
            pushed += chunk.len();
            loop {
                match reader.next_frame() {
                    Next::NeedMore => break,
                    Next::Body(body) => {
                        let item = items.get(idx).expect("a body the stream does not hold");
                        assert!(!item.oversized, "body for an oversized frame at {}", item.start);
                        assert!(item.ready(pushed), "body before its bytes were pushed");
                        assert_eq!(&body[..], &stream[item.start + 4..item.start + 4 + item.declared]);
                        idx += 1;
                    }
                    Next::Oversized { declared, request_id } => {
                        let item = items.get(idx).expect("an oversized frame the stream does not hold");
                        assert!(item.oversized, "oversized reported for a frame of {} bytes", item.declared);
                        assert_eq!(declared, item.declared);
                        let id_end = item.start + 4 + 9;
                        let expected = (pushed >= id_end)
                            .then(|| u64::from_be_bytes(stream[item.start + 5..id_end].try_into().unwrap()));
                        assert_eq!(request_id, expected, "request id of the oversized frame at {}", item.start);
                        idx += 1;
                    }
                }
            }
            // Everything complete has been handed out, and no more.
            if let Some(item) = items.get(idx) {
                assert!(!item.ready(pushed), "frame at {} complete but not returned", item.start);
            }
            let cursor = items.get(idx).map_or(tail, |item| item.start);
            assert_eq!(reader.buffered(), pushed.saturating_sub(cursor), "buffered() after {pushed} bytes");
        }
    });
    assert_eq!(idx, items.len());
    // The reader keeps at most the consumed part of its buffer (drained
    // past MAX_FRAME), one incomplete capped frame and one push, with Vec
    // doubling on top; plus the body being handed out.
    let bound = 2 * (2 * MAX_FRAME + 4 + max_chunk) + MAX_FRAME + 4096;
    if alloc_factor() > 0 && peak > bound {
        panic!("FrameReader: {peak} heap bytes live at once (bound {bound}, largest push {max_chunk})");
    }
});
