use super::*;
use crate::value::ValueError;

/// A tiny deterministic generator, so the random tests need no crate.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn random_value(rng: &mut Lcg, depth: usize) -> Value {
    match rng.next() % if depth > 3 { 4 } else { 6 } {
        0 => Value::Int(rng.next() as i64 - (1 << 30)),
        1 => Value::UInt(u64::MAX - rng.next()),
        2 => {
            let n = (rng.next() % 40) as usize;
            Value::Bin(rng.bytes(n))
        }
        3 => Value::Atom(format!("a{}", rng.next() % 1000)),
        4 => Value::List(
            (0..rng.next() % 5)
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => Value::Tuple(
            (0..rng.next() % 5)
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
    }
}

#[test]
fn frame_round_trip() {
    let payload = b"hello";
    let bytes = encode_frame(Kind::Call, 42, &[1, -2, 300], payload);
    let mut reader = FrameReader::new();
    reader.push(&bytes);
    let body = match reader.next_frame() {
        Next::Body(b) => b,
        other => panic!("unexpected {other:?}"),
    };
    let frame = Frame::decode(&body).unwrap();
    assert_eq!(frame.header.kind, Kind::Call);
    assert_eq!(frame.header.request_id, 42);
    assert_eq!(frame.header.pipeline, vec![1, -2, 300]);
    assert_eq!(frame.payload, payload);
    assert_eq!(reader.next_frame(), Next::NeedMore);
}

#[test]
fn frames_split_at_every_byte() {
    let mut stream = Vec::new();
    for i in 0..5u64 {
        encode_frame_into(
            &mut stream,
            Kind::Stdout,
            i,
            &[i as i32],
            &vec![i as u8; i as usize * 7],
        );
    }
    for split in 1..stream.len() {
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(split) {
            reader.push(chunk);
            while let Next::Body(b) = reader.next_frame() {
                got.push(Frame::decode(&b).unwrap().header.request_id);
            }
        }
        assert_eq!(got, vec![0, 1, 2, 3, 4], "split {split}");
    }
}

#[test]
fn oversized_frame_is_skipped_and_reader_resyncs() {
    let mut stream = Vec::new();
    let declared = MAX_FRAME + 10;
    stream.extend_from_slice(&(declared as u32).to_be_bytes());
    stream.push(Kind::Call as u8);
    stream.extend_from_slice(&7u64.to_be_bytes());
    stream.resize(4 + declared, 0xAA);
    encode_frame_into(&mut stream, Kind::Call, 8, &[], b"");
    let mut reader = FrameReader::new();
    let mut oversized = Vec::new();
    let mut ids = Vec::new();
    for chunk in stream.chunks(4096) {
        reader.push(chunk);
        loop {
            match reader.next_frame() {
                Next::Body(b) => ids.push(Frame::decode(&b).unwrap().header.request_id),
                Next::Oversized { request_id, .. } => oversized.push(request_id),
                Next::NeedMore => break,
            }
        }
    }
    assert_eq!(oversized, vec![Some(7)]);
    assert_eq!(ids, vec![8]);
    assert!(reader.buffered() == 0);
}

/// A reader handed over mid-stream (pending, then resume in a new reader)
/// yields exactly what the original would have, at every split point and
/// across an oversized frame being skipped.
#[test]
fn reader_resumes_where_another_stopped() {
    let mut stream = Vec::new();
    encode_frame_into(&mut stream, Kind::Call, 1, &[], b"first");
    let declared = MAX_FRAME + 3;
    stream.extend_from_slice(&(declared as u32).to_be_bytes());
    stream.push(Kind::Call as u8);
    stream.extend_from_slice(&2u64.to_be_bytes());
    stream.resize(stream.len() + declared - 9, 0x55);
    encode_frame_into(&mut stream, Kind::Call, 3, &[7], b"third");
    let ids = |reader: &mut FrameReader, out: &mut Vec<u64>| loop {
        match reader.next_frame() {
            Next::Body(b) => out.push(Frame::decode(&b).unwrap().header.request_id),
            Next::Oversized { request_id, .. } => out.push(1000 + request_id.unwrap_or(0)),
            Next::NeedMore => break,
        }
    };
    for split in [1, 2, 5, 20, 4096, MAX_FRAME / 2, stream.len() - 3] {
        let mut first = FrameReader::new();
        let mut got = Vec::new();
        first.push(&stream[..split]);
        ids(&mut first, &mut got);
        let (bytes, skipping) = first.pending();
        let mut second = FrameReader::resume(bytes, skipping);
        second.push(&stream[split..]);
        ids(&mut second, &mut got);
        assert_eq!(got, vec![1, 1002, 3], "split {split}");
    }
}

#[test]
fn truncated_and_bad_headers_are_errors() {
    assert_eq!(Frame::decode(&[]), Err(FrameError::Truncated));
    assert_eq!(Frame::decode(&[99; 11]), Err(FrameError::BadKind(99)));
    let mut body = vec![1u8];
    body.extend_from_slice(&1u64.to_be_bytes());
    body.extend_from_slice(&3u16.to_be_bytes());
    body.extend_from_slice(&[0, 0, 0, 1]);
    assert_eq!(Frame::decode(&body), Err(FrameError::Truncated));
    let mut deep = vec![1u8];
    deep.extend_from_slice(&1u64.to_be_bytes());
    deep.extend_from_slice(&u16::MAX.to_be_bytes());
    assert_eq!(
        Frame::decode(&deep),
        Err(FrameError::TooDeep(u16::MAX as usize))
    );
}

#[test]
fn value_round_trip_random() {
    let mut rng = Lcg(1);
    for _ in 0..2000 {
        let v = random_value(&mut rng, 0);
        let mut out = Vec::new();
        encode_value(&mut out, &v);
        assert_eq!(decode_value(&out), Ok(v));
    }
}

#[test]
fn value_truncations_never_panic_and_fail() {
    let mut rng = Lcg(2);
    for _ in 0..300 {
        let v = random_value(&mut rng, 0);
        let mut out = Vec::new();
        encode_value(&mut out, &v);
        for cut in 0..out.len() {
            assert!(
                decode_value(&out[..cut]).is_err(),
                "prefix {cut} of {v:?} decoded"
            );
        }
    }
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Lcg(3);
    for _ in 0..20000 {
        let n = (rng.next() % 64) as usize;
        let bytes = rng.bytes(n);
        let _ = decode_value(&bytes);
        let _ = Frame::decode(&bytes);
        let mut reader = FrameReader::new();
        reader.push(&bytes);
        for _ in 0..4 {
            let _ = reader.next_frame();
        }
    }
}

#[test]
fn lying_list_count_does_not_allocate() {
    let mut bytes = vec![4u8];
    bytes.extend_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(decode_value(&bytes), Err(ValueError::Truncated));
}

#[test]
fn nesting_is_capped() {
    let mut bytes = Vec::new();
    for _ in 0..(MAX_NESTING + 2) {
        bytes.push(4);
        bytes.extend_from_slice(&1u32.to_be_bytes());
    }
    bytes.push(0);
    bytes.extend_from_slice(&0u64.to_be_bytes());
    assert_eq!(decode_value(&bytes), Err(ValueError::TooDeep));
}

#[test]
fn nested_lying_counts_are_refused_cheaply() {
    // 33 nested list headers each claiming every byte left: the count is
    // over what the bytes allow at the first level.
    let mut bytes = Vec::new();
    let total = 33 * 5 + 4096;
    for level in 0..33 {
        bytes.push(4);
        let left = (total - (level + 1) * 5) as u32;
        bytes.extend_from_slice(&left.to_be_bytes());
    }
    bytes.resize(total, 0);
    assert!(decode_value(&bytes).is_err());
}

#[test]
fn honest_count_at_the_limit_decodes() {
    // A list of 100 empty atoms: exactly two bytes per item.
    let mut bytes = vec![4u8];
    bytes.extend_from_slice(&100u32.to_be_bytes());
    for _ in 0..100 {
        bytes.extend_from_slice(&[3, 0]);
    }
    let value = decode_value(&bytes).unwrap();
    assert_eq!(value, Value::List(vec![Value::Atom(String::new()); 100]));
}

/// A reader filled in place (`fill`, then `next_body`) yields what one fed
/// with `push` does, at every read size, across an oversized frame, and
/// holds no more than a partial frame plus one read.
#[test]
fn fill_in_place_matches_push() {
    let mut stream = Vec::new();
    encode_frame_into(&mut stream, Kind::Stdout, 1, &[5], &[1u8; 3000]);
    let declared = MAX_FRAME + 17;
    stream.extend_from_slice(&(declared as u32).to_be_bytes());
    stream.push(Kind::Call as u8);
    stream.extend_from_slice(&2u64.to_be_bytes());
    stream.resize(stream.len() + declared - 9, 0xEE);
    for i in 3..40u64 {
        encode_frame_into(
            &mut stream,
            Kind::Stderr,
            i,
            &[i as i32, 9],
            &vec![i as u8; (i * 97) as usize],
        );
    }
    for read_size in [1usize, 7, 64, 4096, 65536, 300_000] {
        let mut reader = FrameReader::new();
        let mut got = Vec::new();
        let mut at = 0;
        while at < stream.len() {
            let n = reader
                .fill::<()>(read_size, |space| {
                    let n = space.len().min(stream.len() - at);
                    space[..n].copy_from_slice(&stream[at..at + n]);
                    Ok(n)
                })
                .unwrap();
            at += n;
            assert!(reader.buffered() <= MAX_FRAME + 4 + read_size);
            loop {
                match reader.next_body() {
                    NextRef::Body(b) => {
                        let frame = Frame::decode(b).unwrap();
                        assert!(frame.payload.iter().all(|&x| x == frame.payload[0]));
                        got.push(frame.header.request_id);
                    }
                    NextRef::Oversized { .. } => got.push(1000),
                    NextRef::NeedMore => break,
                }
            }
        }
        let mut want = vec![1, 1000];
        want.extend(3..40u64);
        assert_eq!(got, want, "read size {read_size}");
        assert_eq!(reader.buffered(), 0);
    }
}
