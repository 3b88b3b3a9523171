//! Frame layout, encoder and incremental reader.

use std::fmt;

/// Largest body a frame may declare. Stdin and stdout are chunked well below it.
pub const MAX_FRAME: usize = 1 << 20;
/// Largest pipeline a frame may carry.
pub const MAX_DEPTH: usize = 1024;
/// Size of the stdio chunks both sides send.
pub const STDIO_CHUNK: usize = 64 * 1024;
/// Bytes of kind + request id + depth.
pub const HEADER_FIXED: usize = 1 + 8 + 2;

/// What a frame carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// NIF -> helper: a call; payload is `u16 call number` then a `Value` list of arguments.
    Call = 1,
    /// NIF -> helper: bytes for a child's stdin (helper -> NIF: bytes
    /// sent back, taken for a stdin the helper has since passed up).
    Stdin = 2,
    /// NIF -> helper: stop (payload `[1]`) or resume (`[0]`) reading a
    /// child's stdout and stderr: its owner's mailbox is full.
    Hold = 3,
    /// NIF -> helper: a program whose output the NIF read (see `Output`)
    /// had its output and exit sent on: the helper forgets it.
    Done = 4,
    /// NIF -> helper, then back: a program's stdin was passed up; bytes
    /// the helper took for it before (sent back up as `Stdin` frames) all
    /// precede this mark's answer.
    Mark = 5,
    /// helper -> NIF: the result of a call (a `Value`).
    Reply = 16,
    /// helper -> NIF: an asynchronous event (a `Value`).
    Event = 17,
    /// helper -> NIF: bytes a child wrote to stdout.
    Stdout = 18,
    /// helper -> NIF: bytes a child wrote to stderr.
    Stderr = 19,
    /// helper -> NIF: the call must raise; payload is the reason (a `Value`, usually an atom).
    Raise = 20,
    /// helper -> NIF: stdin was refused past this many bytes (a `Value` integer).
    Pipe = 21,
    /// helper -> NIF: a program's stdout and stderr read ends and stdin
    /// write end, passed with this frame (SCM_RIGHTS); from here on the
    /// NIF reads and writes them itself. Payload: `u8 streams` (1: stdout,
    /// 2: stderr, 4: stdin: which fds come, in that order), `i64
    /// flowcontrol`, `u8 events` (1: stdout_closed, 2: stderr_closed
    /// wanted), `u64` the stdin queue's limit.
    Output = 22,
    /// helper -> NIF: flow control of a program whose output the NIF
    /// reads was set (payload `i64`); NIF -> helper: a read used one
    /// grant, this many are left.
    Flow = 23,
    /// helper -> NIF: close the NIF's end of a passed stream (payload
    /// `u8`: 1 stdout, 2 stderr), as eof/3 asked; 0: the program ended
    /// without an exit event.
    Close = 24,
    /// helper -> NIF: a socket to the forked helper named by the pipeline
    /// (passed with this frame, SCM_RIGHTS; payload `u64` the parent's
    /// number for it). The NIF may send that helper's own calls (pipeline
    /// `[]`) on it, and it answers them there: no helper in between wakes
    /// up (see the helper's `shortcut` module).
    Shortcut = 25,
    /// helper -> NIF: the shortcut numbered so (payload `u64`, then a
    /// `Value`) will answer nothing more: the calls the NIF sent on it and
    /// saw no answer to raise the value (how the process ended, or
    /// `badpid`), and those to the processes under it raise `badpid`.
    Gone = 26,
}

impl Kind {
    pub fn from_u8(byte: u8) -> Option<Kind> {
        Some(match byte {
            1 => Kind::Call,
            2 => Kind::Stdin,
            3 => Kind::Hold,
            4 => Kind::Done,
            5 => Kind::Mark,
            16 => Kind::Reply,
            17 => Kind::Event,
            18 => Kind::Stdout,
            19 => Kind::Stderr,
            20 => Kind::Raise,
            21 => Kind::Pipe,
            22 => Kind::Output,
            23 => Kind::Flow,
            24 => Kind::Close,
            25 => Kind::Shortcut,
            26 => Kind::Gone,
            _ => return None,
        })
    }
}

/// Why a frame could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The body is shorter than its header says.
    Truncated,
    /// Unknown frame kind byte.
    BadKind(u8),
    /// The pipeline is deeper than [`MAX_DEPTH`].
    TooDeep(usize),
    /// The body length is over [`MAX_FRAME`].
    TooLarge(usize),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Truncated => write!(f, "truncated frame"),
            FrameError::BadKind(k) => write!(f, "unknown frame kind {k}"),
            FrameError::TooDeep(d) => write!(f, "pipeline depth {d} over the cap"),
            FrameError::TooLarge(n) => write!(f, "frame of {n} bytes over the cap"),
        }
    }
}

impl std::error::Error for FrameError {}

/// The fixed part of a decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub request_id: u64,
    pub pipeline: Vec<i32>,
}

/// A decoded frame borrowing its payload from the body it came from.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    pub header: Header,
    pub payload: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Decode a frame body (without its length prefix).
    pub fn decode(body: &'a [u8]) -> Result<Frame<'a>, FrameError> {
        if body.len() > MAX_FRAME {
            return Err(FrameError::TooLarge(body.len()));
        }
        if body.len() < HEADER_FIXED {
            return Err(FrameError::Truncated);
        }
        let kind = Kind::from_u8(body[0]).ok_or(FrameError::BadKind(body[0]))?;
        let request_id =
            u64::from_be_bytes(body[1..9].try_into().map_err(|_| FrameError::Truncated)?);
        let depth = u16::from_be_bytes([body[9], body[10]]) as usize;
        if depth > MAX_DEPTH {
            return Err(FrameError::TooDeep(depth));
        }
        let pids_end = HEADER_FIXED + depth * 4;
        let pid_bytes = body
            .get(HEADER_FIXED..pids_end)
            .ok_or(FrameError::Truncated)?;
        let pipeline = pid_bytes
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Frame {
            header: Header {
                kind,
                request_id,
                pipeline,
            },
            payload: &body[pids_end..],
        })
    }
}

/// The request id of a body whose header may be otherwise unreadable.
pub fn peek_request_id(body: &[u8]) -> Option<u64> {
    body.get(1..9)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
}

/// Encode a whole frame, length prefix included.
pub fn encode_frame(kind: Kind, request_id: u64, pipeline: &[i32], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + HEADER_FIXED + pipeline.len() * 4 + payload.len());
    encode_frame_into(&mut out, kind, request_id, pipeline, payload);
    out
}

/// Append a whole frame to `out`. The caller keeps pipelines under
/// [`MAX_DEPTH`] and bodies under [`MAX_FRAME`]; longer pipelines are cut.
pub fn encode_frame_into(
    out: &mut Vec<u8>,
    kind: Kind,
    request_id: u64,
    pipeline: &[i32],
    payload: &[u8],
) {
    let pipeline = &pipeline[..pipeline.len().min(MAX_DEPTH)];
    let body_len = HEADER_FIXED + pipeline.len() * 4 + payload.len();
    out.extend_from_slice(&(body_len as u32).to_be_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&request_id.to_be_bytes());
    out.extend_from_slice(&(pipeline.len() as u16).to_be_bytes());
    for pid in pipeline {
        out.extend_from_slice(&pid.to_be_bytes());
    }
    out.extend_from_slice(payload);
}

/// What [`FrameReader::next_frame`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A complete body (length prefix removed).
    Body(Vec<u8>),
    /// A frame declared a body over the cap; it is being skipped. The
    /// request id is given when the header bytes were already there.
    Oversized {
        declared: usize,
        request_id: Option<u64>,
    },
    /// More bytes are needed.
    NeedMore,
}

/// What [`FrameReader::next_body`] found: [`Next`] with the body borrowed
/// from the reader instead of copied out of it.
#[derive(Debug, PartialEq, Eq)]
pub enum NextRef<'a> {
    Body(&'a [u8]),
    Oversized {
        declared: usize,
        request_id: Option<u64>,
    },
    NeedMore,
}

/// Incremental reader: feed it bytes as they arrive, take frames out.
/// It holds at most one capped frame plus one read's worth of bytes. Its
/// buffer is kept between reads (bytes `start..end` are the ones not yet
/// returned), so a reader fed with [`FrameReader::fill`] reads straight
/// into it: no copy and no allocation per read or per frame.
#[derive(Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    skipping: usize,
}

impl FrameReader {
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Make room for `want` more bytes after `end`: move what is left of a
    /// partial frame to the front, then grow the buffer if that is not
    /// enough. The buffer never holds more than a partial frame plus `want`.
    fn make_room(&mut self, want: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && (self.buf.len() - self.end < want || self.start > MAX_FRAME) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < want {
            self.buf.resize(self.end + want, 0);
        }
    }

    /// Add bytes read from the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        if self.skipping > 0 {
            let n = self.skipping.min(bytes.len());
            self.skipping -= n;
            bytes = &bytes[n..];
        }
        self.make_room(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Read up to `want` bytes straight into the reader: `read` gets the
    /// free space and returns how many bytes it wrote there (its error is
    /// passed through).
    pub fn fill<E>(
        &mut self,
        want: usize,
        read: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Result<usize, E> {
        self.make_room(want);
        let n = read(&mut self.buf[self.end..self.end + want])?.min(want);
        let skip = self.skipping.min(n);
        if skip > 0 {
            self.buf
                .copy_within(self.end + skip..self.end + n, self.end);
            self.skipping -= skip;
        }
        self.end += n - skip;
        Ok(n)
    }

    /// Bytes buffered but not yet returned.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// What the reader holds that has not been returned yet: the bytes
    /// buffered and how many more bytes of an oversized frame it will skip.
    /// [`FrameReader::resume`] makes a reader in the same state.
    pub fn pending(&self) -> (&[u8], usize) {
        (&self.buf[self.start..self.end], self.skipping)
    }

    /// A reader that goes on where one whose [`FrameReader::pending`] gave
    /// `(bytes, skipping)` stopped.
    pub fn resume(bytes: &[u8], skipping: usize) -> FrameReader {
        FrameReader {
            buf: bytes.to_vec(),
            start: 0,
            end: bytes.len(),
            skipping,
        }
    }

    /// Take the next frame, if a whole one is buffered.
    pub fn next_frame(&mut self) -> Next {
        match self.next_body() {
            NextRef::Body(body) => Next::Body(body.to_vec()),
            NextRef::Oversized {
                declared,
                request_id,
            } => Next::Oversized {
                declared,
                request_id,
            },
            NextRef::NeedMore => Next::NeedMore,
        }
    }

    /// Take the next frame, if a whole one is buffered, borrowing its body.
    pub fn next_body(&mut self) -> NextRef<'_> {
        let avail = &self.buf[self.start..self.end];
        if avail.len() < 4 {
            return NextRef::NeedMore;
        }
        let declared = u32::from_be_bytes([avail[0], avail[1], avail[2], avail[3]]) as usize;
        if declared > MAX_FRAME {
            let request_id = peek_request_id(&avail[4..]);
            let have = avail.len() - 4;
            let drop_now = have.min(declared);
            self.start += 4 + drop_now;
            self.skipping = declared - drop_now;
            return NextRef::Oversized {
                declared,
                request_id,
            };
        }
        if avail.len() < 4 + declared {
            return NextRef::NeedMore;
        }
        let body_start = self.start + 4;
        self.start = body_start + declared;
        NextRef::Body(&self.buf[body_start..body_start + declared])
    }
}
