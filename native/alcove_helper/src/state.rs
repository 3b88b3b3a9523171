//! The state of one helper process: its upstream channel, its children and
//! its options. A forked child starts from a copy and trims it.

use crate::fdio::{self, OutQueue};
use crate::signals::Signals;
use alcove_proto::{encode_frame_into, encode_value, FrameReader, Kind, Value};
use std::os::unix::io::RawFd;

/// The fd of every helper's control channel to its parent (the original
/// alcove's fdctl number).
pub const CTL_FD: RawFd = 5;

/// Past this many bytes queued upstream, the helper stops reading its
/// children's output (they block on their full pipes) until it drains.
pub const UPSTREAM_HIGH_WATER: usize = 4 << 20;
/// Cap on stdin queued for one child.
pub const STDIN_QUEUE_MAX: usize = 16 << 20;
/// Cap on frames queued for one child's control channel.
pub const CTL_QUEUE_MAX: usize = 64 << 20;
/// fds counted per process when the fd limit bounds `maxchild`.
const FDS_PER_PROCESS: i64 = 6;
/// Cap on calls in flight to one child.
pub const INFLIGHT_MAX: usize = 65536;

/// Options settable with getopt/setopt; inherited by forked children.
#[derive(Clone, Copy, Debug)]
pub struct Opts {
    pub maxchild: i64,
    pub exit_status: i64,
    pub maxforkdepth: i64,
    pub termsig: i64,
    pub flowcontrol: i64,
    pub signaloneof: i64,
    pub stdin_closed: i64,
    pub stdout_closed: i64,
    pub stderr_closed: i64,
    /// Children's stderr goes to their stdout pipe (a start option).
    pub stderr_to_stdout: i64,
    /// Bytes of stdin queued for a child beyond what its pipe takes; past
    /// it stdin is refused. 0 is the original alcove's behaviour (only what
    /// the pipe takes). Applies to children forked from then on.
    pub stdin_queue: i64,
    /// 1: the next children forked get a pseudo-terminal (not inherited).
    pub pty: i64,
    /// 1: children forked or cloned from then on set PR_SET_NO_NEW_PRIVS
    /// before they serve anything (prctl(2)): nothing they exec gains
    /// privileges from set-user-ID bits or file capabilities.
    pub no_new_privs: i64,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            maxchild: 64,
            exit_status: 1,
            maxforkdepth: 16,
            termsig: 1,
            flowcontrol: -1,
            signaloneof: libc::SIGTERM as i64,
            stdin_closed: 0,
            stdout_closed: 0,
            stderr_closed: 0,
            stderr_to_stdout: 0,
            stdin_queue: STDIN_QUEUE_MAX as i64,
            pty: 0,
            no_new_privs: 0,
        }
    }
}

impl Opts {
    pub fn get(&self, name: &str) -> Option<i64> {
        Some(match name {
            "maxchild" => self.maxchild,
            "exit_status" => self.exit_status,
            "maxforkdepth" => self.maxforkdepth,
            "termsig" => self.termsig,
            "flowcontrol" => self.flowcontrol,
            "signaloneof" => self.signaloneof,
            "stdin_closed" => self.stdin_closed,
            "stdout_closed" => self.stdout_closed,
            "stderr_closed" => self.stderr_closed,
            "stderr_to_stdout" => self.stderr_to_stdout,
            "stdin_queue" => self.stdin_queue,
            "pty" => self.pty,
            "no_new_privs" => self.no_new_privs,
            _ => return None,
        })
    }

    /// Set an option; false for an unknown name or a value out of range.
    pub fn set(&mut self, name: &str, value: i64) -> bool {
        let slot = match name {
            "maxchild" => &mut self.maxchild,
            "exit_status" => &mut self.exit_status,
            "maxforkdepth" => &mut self.maxforkdepth,
            "termsig" => &mut self.termsig,
            "flowcontrol" => &mut self.flowcontrol,
            "signaloneof" => &mut self.signaloneof,
            "stdin_closed" => &mut self.stdin_closed,
            "stdout_closed" => &mut self.stdout_closed,
            "stderr_closed" => &mut self.stderr_closed,
            "stderr_to_stdout" => &mut self.stderr_to_stdout,
            "stdin_queue" => &mut self.stdin_queue,
            "pty" => &mut self.pty,
            "no_new_privs" => &mut self.no_new_privs,
            _ => return false,
        };
        let valid = match name {
            "maxchild" | "maxforkdepth" => value >= 0,
            "flowcontrol" => value >= -1,
            "signaloneof" => (0..crate::signals::NSIG as i64).contains(&value),
            "stdin_queue" => (0..=STDIN_QUEUE_MAX as i64).contains(&value),
            _ => value == 0 || value == 1,
        };
        if valid {
            *slot = value;
        }
        valid
    }
}

/// What happened to a child's control channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtlState {
    /// In the event loop, answering calls.
    Open,
    /// Closed by exec (close-on-exec).
    Execed,
    /// Closed for another reason (exit, crash).
    Closed,
}

/// A call forwarded through a child and not answered yet.
#[derive(Clone, Copy, Debug)]
pub struct Inflight {
    pub request_id: u64,
    /// Made in the child itself (not forwarded further down).
    pub direct: bool,
}

/// A `fork_exec` call waiting for its child to exec or fail.
pub struct ExecReport {
    /// The read end of the child's report pipe.
    pub fd: RawFd,
    pub request_id: u64,
    /// The names of the steps, by index, for the error.
    pub steps: Vec<&'static str>,
}

/// In a forked child: empty a list of its parent's records without
/// freeing them. Freeing writes to every heap page they are on, and the
/// kernel copies each page a child writes after the fork: with a thousand
/// siblings, hundreds of pages and as many page faults, and the child's
/// memory as large as its parent's heap. Left alone, the pages stay shared
/// until the parent writes to them. What the records hold besides memory
/// (fds) must be let go of first.
pub fn leave_behind<T>(records: &mut Vec<T>) {
    std::mem::forget(std::mem::take(records));
}

/// One forked child and the fds the helper holds for it.
pub struct Child {
    pub pid: i32,
    pub ctl: RawFd,
    pub ctl_state: CtlState,
    pub ctl_reader: FrameReader,
    pub ctl_out: OutQueue,
    pub stdin: RawFd,
    pub stdin_queue: OutQueue,
    /// Cap on `stdin_queue` (the `stdin_queue` option when forked).
    pub stdin_limit: usize,
    /// Close stdin once the queue has drained (eof asked while bytes were queued).
    pub stdin_eof_pending: bool,
    pub stdout: RawFd,
    pub stderr: RawFd,
    /// Streams handed to the driver, which reads them itself (`direct`:
    /// bits `direct::STDOUT`, `direct::STDERR`).
    pub direct: u8,
    /// Its exit went up to the driver, which still reads its output: the
    /// record waits for the driver's `Done`.
    pub reported: bool,
    /// An exec'd program whose streams go to the driver at its first
    /// output or first stdin (`direct::take_over`), not at its exec.
    pub handover: bool,
    /// A shortcut was offered to it (made or not): not tried again.
    pub shortcut_offered: bool,
    /// The driver's `Mark` for this program's stdin: answered (it writes
    /// the pipe itself from then on), or waiting for the bytes queued here
    /// to be written first.
    pub marked: bool,
    pub mark_pending: bool,
    /// Bytes of stdin this helper took for the program (written or
    /// queued), told to the driver at the hand-over: the driver grows a
    /// fed program's pipes by how much has gone through them.
    pub stdin_taken: u64,
    /// The exec/exit call forwarded to this child and not answered yet.
    pub pending_noreturn: Option<u64>,
    /// That call is exit (answered when the channel closes, and the child
    /// is then not counted as exec'd).
    pub pending_exit: bool,
    /// Calls forwarded through this child, answered with badpid if it goes.
    pub inflight: Vec<Inflight>,
    /// Output not read while the driver holds it (the owner's mailbox
    /// is over its high-water mark); independent of `flowcontrol`.
    pub held: bool,
    pub flowcontrol: i64,
    pub signaloneof: i64,
    /// Kill the process group the child leads when it is reaped (setcpid
    /// `killpg`): what it started in its group goes with it.
    pub killpg: bool,
    /// The child called `outlive`: at shutdown it is neither signalled,
    /// killed nor waited for.
    pub outlives: bool,
    /// Set once reaped: the exit event to send (None when the exit_status or
    /// termsig option turned it off), held back while flow control holds
    /// back the output that must precede it.
    pub exited: Option<Option<Value>>,
    /// seccomp notification listeners of the child's filters, served here
    /// (`sys::seccomp_named`).
    pub seccomp_listeners: Vec<RawFd>,
    /// A `fork_exec` child not yet exec'd: the read end of its report
    /// pipe and the request to answer (see `sys::spawn`).
    pub exec_report: Option<ExecReport>,
    /// The number of the shortcut made for it, until the driver is told
    /// it is gone (see `shortcut`).
    pub shortcut: Option<u64>,
}

impl Child {
    /// Close every fd this record holds ([`Child::fds`]) and forget them.
    pub fn close_all(&mut self) {
        let fds: Vec<RawFd> = self.fds().collect();
        fds.into_iter().for_each(fdio::close);
        self.ctl = -1;
        self.stdin = -1;
        self.stdout = -1;
        self.stderr = -1;
        self.seccomp_listeners.clear();
        self.exec_report = None;
        // Its queued fds were closed with the rest: not again by a clear.
        self.ctl_out = OutQueue::default();
    }

    /// Every fd this record holds: its channel, its pipes, its seccomp
    /// listeners and report pipe, and fds queued to be passed to it. Read
    /// without writing the record (see [`leave_behind`]).
    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        [self.ctl, self.stdin, self.stdout, self.stderr]
            .into_iter()
            .chain(self.seccomp_listeners.iter().copied())
            .chain(self.exec_report.as_ref().map(|report| report.fd))
            .chain(self.ctl_out.attached_fds())
    }

    /// Forget a call that has been answered.
    pub fn answered(&mut self, request_id: u64) {
        if self.pending_noreturn == Some(request_id) {
            self.pending_noreturn = None;
        }
        if let Some(pos) = self
            .inflight
            .iter()
            .position(|call| call.request_id == request_id)
        {
            self.inflight.swap_remove(pos);
        }
    }
}

pub struct State {
    /// Where frames come from: [`CTL_FD`].
    pub up_read: RawFd,
    /// Where frames go: [`CTL_FD`].
    pub up_write: RawFd,
    /// `up_write` is a unix socket (fds can be passed up on it), checked
    /// once at start.
    pub up_is_socket: bool,
    /// Fds that came from the parent helper (SCM_RIGHTS on the control
    /// channel) for the frames read with them: a child's shortcut end.
    pub up_fds: Vec<RawFd>,
    /// A forked child of the root helper whose parent will offer it a
    /// shortcut with the first call relayed to it: until then it reads
    /// its control channel with recvmsg (for the fd), then with read (a
    /// seccomp allow-list naming `read` alone keeps serving it).
    pub shortcut_expected: bool,
    pub up_reader: FrameReader,
    pub up_out: OutQueue,
    pub up_closed: bool,
    /// Leave the loop when stdin hangs up (forked helpers: the parent
    /// closing a child's stdin ends it, as in the original).
    pub watch_stdin: bool,
    pub children: Vec<Child>,
    pub opts: Opts,
    /// Number of forks from the root helper to this process.
    pub depth: i64,
    pub signals: Signals,
    /// Bumped when this process turns out to be a freshly forked child, so
    /// the loop drops whatever it was iterating over.
    pub epoch: u64,
    /// The request id of the call being run (for calls that answer early).
    pub current_request: u64,
    /// Calls denied in this process.
    pub filter: crate::sys::filter::CallSet,
    /// Calls denied in children forked from now on.
    pub child_filter: crate::sys::filter::CallSet,
    /// This process's cgroup v2 leaf in the driver's tree, if it has one
    /// (see `teardown`).
    pub cgroup: Option<std::path::PathBuf>,
    /// The leaf its parent gave this process, taken as its own (entered,
    /// if it did not start in it) when it first forks or execs (see
    /// `teardown::ensure_own`).
    pub pending_cgroup: Option<crate::teardown::Pending>,
    /// Names children's leaves.
    pub cgroup_seq: u64,
    /// Children's leaves, by pid.
    pub child_cgroups: Vec<(i32, std::path::PathBuf)>,
    /// Children's leaves not yet removable (processes still in them).
    pub lingering: Vec<std::path::PathBuf>,
    /// Emptied children's leaves kept for the next children (see
    /// `teardown::reaped`).
    pub spare_leaves: Vec<std::path::PathBuf>,
    /// This process called `outlive`: it is out of the driver's teardown
    /// and credential changes do not arm a parent-death signal again.
    pub outlive: bool,
    /// Cgroup event watches (`cgroup_watch`); not inherited by children.
    pub cgwatch: crate::cgwatch::Watches,
    /// The buffer an exited child's last output is read into, kept from
    /// one child to the next (see `lifecycle::finish_exited`).
    pub drain_buf: Vec<u8>,
    /// Set by a call that answers later itself (`fork_exec`): the loop
    /// sends no reply for it now.
    pub reply_later: bool,
    /// This helper's own socket to the driver (forked helpers; see
    /// `shortcut`).
    pub shortcut: Option<crate::shortcut::Shortcut>,
    /// The call being run came by the shortcut: its answer goes back there.
    pub via_shortcut: Option<u64>,
    /// Numbers the shortcuts made for children.
    pub shortcut_seq: u64,
}

impl State {
    /// Queue a frame for upstream.
    pub fn send(&mut self, kind: Kind, request_id: u64, pipeline: &[i32], payload: &[u8]) {
        if matches!(kind, Kind::Reply | Kind::Raise) && self.via_shortcut == Some(request_id) {
            // Lost if the shortcut broke: the driver answers badpid then.
            if let Some(shortcut) = &mut self.shortcut {
                encode_frame_into(shortcut.out.buffer(), kind, request_id, pipeline, payload);
            }
            return;
        }
        if self.up_closed {
            return;
        }
        encode_frame_into(self.up_out.buffer(), kind, request_id, pipeline, payload);
    }

    pub fn send_value(&mut self, kind: Kind, request_id: u64, pipeline: &[i32], value: &Value) {
        let mut payload = Vec::new();
        encode_value(&mut payload, value);
        self.send(kind, request_id, pipeline, &payload);
    }

    pub fn child_index(&self, pid: i32) -> Option<usize> {
        self.children.iter().position(|c| c.pid == pid)
    }

    /// How many children an fd limit leaves room for, counted as the
    /// original alcove did: six fds for the helper, six per child.
    pub fn maxchild_for(nofile: libc::rlim_t) -> i64 {
        let nofile = i64::try_from(nofile).unwrap_or(i64::MAX);
        (nofile.saturating_sub(FDS_PER_PROCESS) / FDS_PER_PROCESS).max(0)
    }

    /// The current RLIMIT_NOFILE soft limit.
    pub fn nofile() -> libc::rlim_t {
        match nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE) {
            Ok((soft, _)) => soft,
            Err(_) => libc::RLIM_INFINITY,
        }
    }

    /// Whether the upstream queue is too full to take more child output.
    pub fn upstream_full(&self) -> bool {
        self.up_out.len() >= UPSTREAM_HIGH_WATER
    }
}
