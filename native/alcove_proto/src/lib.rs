//! Wire format between the alcove NIF and the helper tree.
//!
//! Every frame is a 4-byte big-endian body length followed by the body:
//!
//! ```text
//! u8  kind         (see [`Kind`])
//! u64 request_id   (0 for frames that answer no request)
//! u16 depth        (number of pids that follow)
//! i32 pid * depth  (the pipeline, relative to the receiving helper)
//! ..  payload      (a [`Value`] for calls, replies and events; raw bytes for stdio)
//! ```
//!
//! Decoders are total: they never panic, and what they allocate follows the
//! bytes actually decoded (a small constant factor of the frame, which is
//! itself capped at [`MAX_FRAME`]), never a size or count the input claims.

mod frame;
mod value;

pub use frame::{
    encode_frame, encode_frame_into, peek_request_id, Frame, FrameError, FrameReader, Header, Kind,
    Next, NextRef, HEADER_FIXED, MAX_DEPTH, MAX_FRAME, STDIO_CHUNK,
};
pub use value::{decode_value, encode_value, Value, ValueError, MAX_NESTING};

#[cfg(test)]
mod tests;
