//! Re-executing a helper in place (the original's `fexecve` of its own
//! binary, which prx uses to give each process a fresh image).
//!
//! A caller clears close-on-exec on the control channel (fd 5) and execs
//! the helper binary with the argv `alcove_drv:getopts/1` gives (`-d
//! Depth`). Because fd 5 survives, the new image can serve the same
//! channel. Two things would be lost with the old image, so they are
//! handed over in a memfd whose number travels in the environment
//! variable [`ENV`]:
//!
//! - the request id of the exec call, which the new image answers `ok`
//!   once it is serving (the parent sees no close, so only the new image
//!   can answer it);
//! - the depth of the process in the tree (what `-d` says is the caller's
//!   word; prx passes its parent's);
//! - the bytes the old image had read from the channel but not handled
//!   yet (calls queued behind the exec), which the new image handles first;
//! - its shortcut to the driver (see `shortcut`), kept open across the
//!   exec like fd 5, with its number and the bytes read from it but not
//!   handled yet: calls sent on it while the exec runs are answered by
//!   the new image.

use crate::fdio;
use nix::fcntl::{fcntl, FcntlArg};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::unistd::{lseek, Whence};
use std::ffi::CString;
use std::os::unix::io::{AsRawFd, IntoRawFd, RawFd};

/// The environment variable naming the handoff fd.
pub const ENV: &str = "ALCOVE_REEXEC_FD";
const MAGIC: &[u8; 8] = b"ALCVEXEC";
/// magic, request id, depth, bytes to skip; the shortcut's fd (-1: none),
/// number, bytes to skip and bytes pending (those come last).
const HEADER: usize = 8 + 8 + 8 + 8 + 8 + 8 + 8 + 8;
/// A reader holds at most one frame and one read; anything bigger is not ours.
const MAX_HANDOFF: usize = HEADER + 4 * alcove_proto::MAX_FRAME + 2 * alcove_proto::STDIO_CHUNK;

/// What the old image leaves to the new one.
pub struct Handoff {
    pub request_id: u64,
    pub depth: i64,
    pub pending: Vec<u8>,
    pub skipping: usize,
    pub shortcut: Option<KeptShortcut>,
}

/// The shortcut as the old image left it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeptShortcut {
    pub fd: RawFd,
    pub seq: u64,
    pub pending: Vec<u8>,
    pub skipping: usize,
}

/// Write the handoff for an exec that keeps the control channel; returns
/// the memfd (inherited by the new image) and the `ENV=fd` entry for its
/// environment. The caller closes the fd if the exec fails.
pub fn prepare(
    request_id: u64,
    depth: i64,
    pending: &[u8],
    skipping: usize,
    shortcut: Option<&KeptShortcut>,
) -> Result<(RawFd, CString), i32> {
    // No MFD_CLOEXEC, so exec keeps it; closed (dropped) on an error.
    let fd = memfd_create(c"alcove-reexec", MFdFlags::empty()).map_err(|e| e as i32)?;
    let kept = shortcut.cloned().unwrap_or(KeptShortcut {
        fd: -1,
        ..Default::default()
    });
    let mut data = Vec::with_capacity(HEADER + pending.len() + kept.pending.len());
    data.extend_from_slice(MAGIC);
    data.extend_from_slice(&request_id.to_be_bytes());
    data.extend_from_slice(&depth.to_be_bytes());
    data.extend_from_slice(&(skipping as u64).to_be_bytes());
    data.extend_from_slice(&i64::from(kept.fd).to_be_bytes());
    data.extend_from_slice(&kept.seq.to_be_bytes());
    data.extend_from_slice(&(kept.skipping as u64).to_be_bytes());
    data.extend_from_slice(&(kept.pending.len() as u64).to_be_bytes());
    data.extend_from_slice(pending);
    data.extend_from_slice(&kept.pending);
    let mut written = 0;
    while written < data.len() {
        match fdio::write(fd.as_raw_fd(), &data[written..]) {
            Ok(n) if n > 0 => written += n,
            Ok(_) => return Err(libc::EIO),
            Err(errno) => return Err(errno),
        }
    }
    if lseek(&fd, 0, Whence::SeekSet).is_err() {
        return Err(libc::EIO);
    }
    let entry = CString::new(format!("{ENV}={}", fd.as_raw_fd())).map_err(|_| libc::EINVAL)?;
    Ok((fd.into_raw_fd(), entry))
}

/// In a starting helper: the handoff left by the image it replaces, if
/// any. The variable is removed from the environment and the fd closed
/// either way; anything malformed counts as no handoff.
pub fn take() -> Option<Handoff> {
    let value = std::env::var_os(ENV)?;
    // Single-threaded at start: nothing else reads the environment.
    std::env::remove_var(ENV);
    let fd: RawFd = value.to_str()?.parse().ok().filter(|&fd| fd > 2)?;
    // Only a memfd is ours (and never blocks a read): F_GET_SEALS works
    // on memfds alone. Anything else named there (a stale variable in the
    // driver's environment) is left alone.
    if fdio::with_fd(fd, |fd| fcntl(fd, FcntlArg::F_GET_SEALS)).is_err() {
        return None;
    }
    let mut data = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match fdio::read(fd, &mut buf) {
            fdio::ReadOutcome::Data(n) if data.len() + n <= MAX_HANDOFF => {
                data.extend_from_slice(&buf[..n])
            }
            fdio::ReadOutcome::Eof => break,
            _ => {
                fdio::close(fd);
                return None;
            }
        }
    }
    fdio::close(fd);
    parse(&data)
}

fn parse(data: &[u8]) -> Option<Handoff> {
    if data.len() < HEADER || &data[..8] != MAGIC {
        return None;
    }
    let word = |at: usize| {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(&data[at..at + 8]);
        u64::from_be_bytes(bytes)
    };
    let rest = &data[HEADER..];
    let kept_len = usize::try_from(word(56))
        .ok()
        .filter(|&n| n <= rest.len())?;
    let (pending, kept_pending) = rest.split_at(rest.len() - kept_len);
    // Two's complement: -1 for none; any fd number fits in an i32.
    let kept_fd = RawFd::try_from(word(32) as i64).ok()?;
    let shortcut = match kept_fd {
        -1 => None,
        fd if fd > 2 => Some(KeptShortcut {
            fd,
            seq: word(40),
            skipping: usize::try_from(word(48)).ok()?,
            pending: kept_pending.to_vec(),
        }),
        _ => return None,
    };
    Some(Handoff {
        request_id: word(8),
        depth: i64::try_from(word(16)).ok()?,
        skipping: usize::try_from(word(24)).ok()?,
        pending: pending.to_vec(),
        shortcut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test: both halves use the process environment.
    #[test]
    fn handoff_round_trip_and_malformed_ones() {
        let pending = b"\x00\x00\x00\x05queued".to_vec();
        let kept = KeptShortcut {
            fd: 9,
            seq: 4,
            pending: b"\x00\x00\x00\x02sc".to_vec(),
            skipping: 1,
        };
        let (fd, entry) = prepare(42, 3, &pending, 7, Some(&kept)).expect("memfd");
        assert_eq!(entry.to_str().unwrap(), format!("{ENV}={fd}"));
        std::env::set_var(ENV, fd.to_string());
        let handoff = take().expect("handoff");
        assert_eq!(handoff.request_id, 42);
        assert_eq!(handoff.depth, 3);
        assert_eq!(handoff.skipping, 7);
        assert_eq!(handoff.pending, pending);
        assert_eq!(handoff.shortcut, Some(kept));
        assert!(std::env::var_os(ENV).is_none());
        assert!(
            fdio::with_fd(fd, |fd| fcntl(fd, FcntlArg::F_GETFD)).is_err(),
            "fd closed"
        );

        assert!(parse(b"").is_none());
        assert!(parse(b"NOTMAGIC\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0").is_none());
        assert!(parse(&MAGIC[..]).is_none());
        let mut ok = MAGIC.to_vec();
        ok.extend_from_slice(&[0; 24]);
        ok.extend_from_slice(&(-1i64).to_be_bytes());
        ok.extend_from_slice(&[0; 24]);
        assert!(parse(&ok)
            .is_some_and(|h| h.pending.is_empty() && h.request_id == 0 && h.shortcut.is_none()));
        // A shortcut's pending bytes longer than what follows the header.
        let mut long = ok.clone();
        long[HEADER - 8..].copy_from_slice(&1u64.to_be_bytes());
        assert!(parse(&long).is_none());
        // Without a shortcut, fd 0 to 2 are not one.
        let mut low = ok.clone();
        low[32..40].copy_from_slice(&2i64.to_be_bytes());
        assert!(parse(&low).is_none());
        std::env::set_var(ENV, "not a number");
        assert!(take().is_none());
        assert!(std::env::var_os(ENV).is_none());

        // An fd that is not a memfd is not read (a pipe would block).
        let (read, _write) = nix::unistd::pipe().expect("pipe");
        std::env::set_var(ENV, read.as_raw_fd().to_string());
        assert!(take().is_none());
    }

    /// Whatever bytes a handoff holds, parsing never panics.
    #[test]
    fn parse_is_total() {
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for round in 0..20_000 {
            let mut data = Vec::new();
            if round % 2 == 0 {
                data.extend_from_slice(MAGIC);
            }
            let len = next() as usize % 96;
            data.extend((0..len).map(|_| next() as u8));
            if let Some(handoff) = parse(&data) {
                assert!(data.len() >= HEADER);
                let kept = handoff.shortcut.map_or(0, |s| s.pending.len());
                assert_eq!(handoff.pending.len() + kept, data.len() - HEADER);
            }
        }
    }
}
