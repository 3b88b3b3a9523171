//! Signal handling: every catchable signal is caught by a handler that
//! writes its siginfo to a self-pipe; the event loop reads them back.
//! Before exec (and at start) every disposition goes back to the default
//! and the mask is emptied: the VM ignores SIGCHLD and SIGPIPE, and ignored
//! signals would otherwise survive exec.

use crate::fdio;
use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicI32, Ordering};

/// Where the self-pipe lives (fixed, so a re-executed helper finds the
/// same layout).
pub const SIGNAL_READ_FD: RawFd = 3;
pub const SIGNAL_WRITE_FD: RawFd = 4;

/// Signal records taken from the self-pipe by one read.
const SIGNAL_BATCH: usize = 16;

/// Highest signal number handled.
pub const NSIG: usize = 65;
/// Bytes of one siginfo record in the self-pipe.
pub const SIGINFO_SIZE: usize = std::mem::size_of::<libc::siginfo_t>();

/// Where the handler writes; -1 until set up.
static SELF_PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);

/// What the caller asked for with `sigaction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Default action.
    Default,
    /// Ignored.
    Ignore,
    /// Caught and reported as `{signal, Sig, Info}` (`sig_info`). For
    /// SIGCHLD it also means the helper stops reaping its children: the
    /// caller reaps them with waitpid.
    Catch,
}

impl Disposition {
    pub fn atom(self) -> &'static str {
        match self {
            Disposition::Default => "sig_dfl",
            Disposition::Ignore => "sig_ign",
            Disposition::Catch => "sig_info",
        }
    }

    pub fn from_atom(name: &str) -> Option<Disposition> {
        Some(match name {
            "sig_dfl" => Disposition::Default,
            "sig_ign" => Disposition::Ignore,
            // sig_catch: the name this project used before taking the original's.
            "sig_info" | "sig_catch" => Disposition::Catch,
            _ => return None,
        })
    }
}

extern "C" fn on_signal(_signum: libc::c_int, info: *mut libc::siginfo_t, _ctx: *mut libc::c_void) {
    let fd = SELF_PIPE_WRITE.load(Ordering::Relaxed);
    if fd < 0 || info.is_null() {
        return;
    }
    // The interrupted code may be about to read errno.
    let saved = nix::errno::Errno::last_raw();
    // SAFETY: write(2) is async-signal-safe; info points at a siginfo_t the
    // kernel filled for this handler, SIGINFO_SIZE bytes long.
    unsafe { libc::write(fd, info as *const libc::c_void, SIGINFO_SIZE) };
    nix::errno::Errno::set_raw(saved);
}

fn catchable(signum: usize) -> bool {
    signum != libc::SIGKILL as usize && signum != libc::SIGSTOP as usize
}

fn install(signum: usize, handler: libc::sighandler_t, flags: libc::c_int) {
    // SAFETY: all-zero bytes are a valid sigaction (an empty mask, no flags).
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler;
    action.sa_flags = flags;
    // SAFETY: handler is SIG_DFL, SIG_IGN or on_signal, which only does
    // async-signal-safe work. (nix's Signal cannot name real-time signals,
    // which are handled here too.)
    unsafe { libc::sigaction(signum as libc::c_int, &action, std::ptr::null_mut()) };
}

/// The kernel's own `struct sigaction` layout (x86_64, aarch64 and the
/// generic ABI), used to reach the signals libc keeps for itself.
#[repr(C)]
struct KernelSigaction {
    handler: usize,
    flags: libc::c_ulong,
    restorer: usize,
    mask: u64,
}

/// Every signal to its default action, and an empty mask. Done with raw
/// system calls: libc refuses to touch the two realtime signals it reserves
/// (32 and 33), and the VM leaves those ignored.
pub fn reset_all() {
    reset_for_exec(u128::MAX);
}

/// Before an exec: the signals in `kept` (bit N for signal N, from
/// [`Signals::kept_over_exec`]) to their default action, and an empty
/// mask. The exec itself resets every signal with a handler; only an
/// ignored one, and the mask, would reach the program. Async-signal-safe.
pub fn reset_for_exec(kept: u128) {
    let default = KernelSigaction {
        handler: 0,
        flags: 0,
        restorer: 0,
        mask: 0,
    };
    for signum in 1..NSIG {
        if catchable(signum) && kept >> signum & 1 == 1 {
            // SAFETY: a valid kernel sigaction for SIG_DFL, sigset size 8 bytes.
            unsafe {
                libc::syscall(
                    libc::SYS_rt_sigaction,
                    signum as libc::c_long,
                    &default as *const KernelSigaction,
                    std::ptr::null_mut::<KernelSigaction>(),
                    8 as libc::c_long,
                )
            };
        }
    }
    let empty: u64 = 0;
    // SAFETY: an empty 8-byte mask; the old mask is not asked for.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK as libc::c_long,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            8 as libc::c_long,
        )
    };
}

/// Block every signal; returns the mask to restore.
pub fn block_all() -> SigSet {
    let mut old = SigSet::empty();
    let _ = sigprocmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    );
    old
}

/// Put back a mask saved by [`block_all`].
pub fn restore_mask(mask: &SigSet) {
    let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(mask), None);
}

/// The signal state of one helper process.
pub struct Signals {
    pub read_fd: RawFd,
    write_fd: RawFd,
    pub table: [Disposition; NSIG],
}

impl Signals {
    /// A fresh self-pipe (read end on fd 3, write end on fd 4, as in the
    /// original alcove) and the default table: everything caught and
    /// reported, as the original does, but SIGPIPE (ignored: broken pipes
    /// come back as EPIPE), the uncatchable ones and the synchronous
    /// faults (a handler that returns would fault again forever). SIGCHLD
    /// is caught internally for reaping and only reported when the caller
    /// asks for it with `sig_info`.
    pub fn new() -> Result<Signals, i32> {
        let (read_fd, write_fd) = Signals::pipe()?;
        let mut table = [Disposition::Catch; NSIG];
        table[0] = Disposition::Default;
        for signum in [
            libc::SIGKILL,
            libc::SIGSTOP,
            libc::SIGCHLD,
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGILL,
            libc::SIGFPE,
        ] {
            table[signum as usize] = Disposition::Default;
        }
        table[libc::SIGPIPE as usize] = Disposition::Ignore;
        let signals = Signals {
            read_fd,
            write_fd,
            table,
        };
        SELF_PIPE_WRITE.store(write_fd, Ordering::Relaxed);
        signals.apply_all();
        Ok(signals)
    }

    /// The self-pipe, non-blocking, on its fixed fds (where the kernel
    /// put it, when they were free: close-on-exec already).
    fn pipe() -> Result<(RawFd, RawFd), i32> {
        let (read_fd, write_fd) = fdio::pipe_nonblock()?;
        let onto = |fd, target| match fd == target {
            true => Ok(fd),
            false => fdio::move_fd(fd, target),
        };
        Ok((
            onto(read_fd, SIGNAL_READ_FD)?,
            onto(write_fd, SIGNAL_WRITE_FD)?,
        ))
    }

    /// A forked child's own pipe, keeping the parent's table. The
    /// dispositions need no setting again: the child inherited the
    /// parent's, which follow the table, and the handler finds the new
    /// pipe on the same fds.
    pub fn renew(&mut self) -> Result<(), i32> {
        SELF_PIPE_WRITE.store(-1, Ordering::Relaxed);
        // The parent's pipe goes first, so that the new one is made on its
        // fds (the lowest free ones): no dup3 and close of each end.
        fdio::close_many(vec![self.read_fd, self.write_fd]);
        let (read_fd, write_fd) = Signals::pipe()?;
        self.read_fd = read_fd;
        self.write_fd = write_fd;
        SELF_PIPE_WRITE.store(write_fd, Ordering::Relaxed);
        Ok(())
    }

    fn apply(&self, signum: usize) {
        if !catchable(signum) {
            return;
        }
        let flags = libc::SA_SIGINFO | libc::SA_RESTART;
        match self.table[signum] {
            // SIGCHLD always reaches the loop, so children are reaped.
            // Stops matter only to a caller doing its own reaping (ptrace).
            Disposition::Default if signum == libc::SIGCHLD as usize => install(
                signum,
                on_signal as *const () as libc::sighandler_t,
                flags | libc::SA_NOCLDSTOP,
            ),
            Disposition::Default => install(signum, libc::SIG_DFL, 0),
            Disposition::Ignore => install(signum, libc::SIG_IGN, 0),
            Disposition::Catch => {
                install(signum, on_signal as *const () as libc::sighandler_t, flags)
            }
        }
    }

    /// The signals an exec would leave as they are here: those ignored
    /// (an exec resets a handler, not SIG_IGN), and those libc keeps for
    /// itself (32 up to SIGRTMIN), which the table does not follow. Bit N
    /// for signal N, for [`reset_for_exec`].
    pub fn kept_over_exec(&self) -> u128 {
        let rtmin = usize::try_from(libc::SIGRTMIN()).unwrap_or(NSIG);
        (1..NSIG)
            .filter(|&signum| {
                self.table[signum] == Disposition::Ignore || (32..rtmin).contains(&signum)
            })
            .fold(0, |kept, signum| kept | 1 << signum)
    }

    pub fn apply_all(&self) {
        for signum in 1..NSIG {
            self.apply(signum);
        }
    }

    /// Change one disposition; returns the previous one. For SIGCHLD only
    /// two states exist: reported (`Catch`) or reaped internally (`Default`).
    pub fn set(&mut self, signum: usize, disposition: Disposition) -> Option<Disposition> {
        if signum == 0 || signum >= NSIG || !catchable(signum) {
            return None;
        }
        let disposition = match disposition {
            Disposition::Ignore if signum == libc::SIGCHLD as usize => Disposition::Default,
            other => other,
        };
        let old = self.table[signum];
        self.table[signum] = disposition;
        self.apply(signum);
        Some(old)
    }

    /// Whether the caller reaps children itself (SIGCHLD set to `sig_info`).
    pub fn caller_reaps(&self) -> bool {
        self.table[libc::SIGCHLD as usize] == Disposition::Catch
    }

    /// Read the pending siginfo records.
    pub fn drain(&self) -> Vec<(i32, Vec<u8>)> {
        let mut out = Vec::new();
        // Records are written whole (SIGINFO_SIZE is under PIPE_BUF), so
        // a read takes whole ones; one that does not fill the buffer
        // emptied the pipe, and no second read is needed to learn that.
        let mut records = [0u8; SIGINFO_SIZE * SIGNAL_BATCH];
        while let fdio::ReadOutcome::Data(n) = fdio::read(self.read_fd, &mut records) {
            for record in records[..n].chunks(SIGINFO_SIZE) {
                if record.len() < 4 {
                    break;
                }
                let signum = i32::from_ne_bytes([record[0], record[1], record[2], record[3]]);
                out.push((signum, record.to_vec()));
            }
            if n < records.len() {
                break;
            }
        }
        out
    }
}
