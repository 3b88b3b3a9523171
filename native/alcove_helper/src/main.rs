//! The alcove helper. The driver starts it with a socket as stdin and
//! stdout; it moves the socket to fd 5 and serves calls on it until it
//! closes. Forked children run the same loop on a control socket of their
//! own, also on fd 5; fds 3 and 4 are the signal self-pipe (the original
//! alcove's layout, which re-exec relies on).

// Setuid-safe code: every unsafe block does one thing and says why.
#![deny(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

mod args;
mod cgroup_events;
mod cgwatch;
// Generated from gen/calls.def; left as the generator writes it.
#[rustfmt::skip]
mod calls;
mod capnames;
mod child_fds;
mod child_io;
mod consts;
mod cstruct;
mod direct;
mod event_loop;
mod fdio;
mod lifecycle;
mod privilege;
mod pty;
mod reexec;
mod seccomp_rules;
mod shortcut;
mod signals;
mod spawn_child;
mod spawn_steps;
mod state;
mod sys;
mod teardown;

use alcove_proto::{FrameReader, Kind, Value};
use state::{Opts, State, CTL_FD};

fn usage(bad: &str) -> ! {
    eprintln!(
        "alcove: bad argument {bad:?}; usage: alcove [-d DEPTH] [-m MAXCHILD] [--OPTION VALUE]... \
         (long options as in getopt: maxchild, maxforkdepth, flowcontrol, ...)"
    );
    std::process::exit(2)
}

/// Options from argv: the original's `-d Depth` and `-m Maxchild`, and
/// `--name value` for every getopt/3 option plus `depth`.
fn parse_args() -> (Opts, i64) {
    let mut opts = Opts::default();
    let mut depth = 0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let name = match flag.as_str() {
            "-d" => "depth",
            "-m" => "maxchild",
            long => long.strip_prefix("--").unwrap_or_else(|| usage(&flag)),
        };
        let Some(value) = args.next().and_then(|v| v.parse::<i64>().ok()) else {
            usage(&flag)
        };
        if name == "depth" && value >= 0 {
            depth = value;
        } else if !opts.set(name, value) {
            usage(&flag);
        }
    }
    (opts, depth)
}

/// A fresh start from the driver: the socket is on fds 0 and 1. Nothing
/// else the VM had open may leak into the helper; the socket moves to the
/// control fd and stdin and stdout become /dev/null.
fn boot_channel() {
    lifecycle::close_inherited_fds();
    if fdio::move_fd_copy(0, CTL_FD).is_err() {
        eprintln!("alcove: no control socket on fd 0");
        std::process::exit(1);
    }
    // 0 and 1 hold socket copies no longer needed.
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let _ = nix::unistd::dup2_stdin(&null);
        let _ = nix::unistd::dup2_stdout(&null);
    }
}

fn main() {
    // Whatever the VM ignored or blocked must not leak into the children.
    signals::reset_all();
    // Installed setuid (or with file capabilities): trust nothing the
    // caller set up, and serve only whom the configuration allows.
    if privilege::is_secure() {
        privilege::sanitise(CTL_FD);
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == "--config-path")
    {
        // Where this build reads its authorisation (make install-setuid).
        println!("{}", privilege::CONFIG);
        std::process::exit(0);
    }
    if privilege::is_secure() {
        if let Err(refusal) = privilege::authorise() {
            eprintln!("alcove: refused: {refusal}");
            std::process::exit(privilege::REFUSED);
        }
    }
    let (mut opts, depth) = parse_args();
    let handoff = reexec::take();
    // Where the process really is in the tree, whatever -d says.
    let depth = handoff.as_ref().map_or(depth, |handoff| handoff.depth);
    match &handoff {
        // A re-executed helper keeps the fds its caller chose to keep.
        Some(_) => fdio::set_cloexec(CTL_FD, true),
        None if depth == 0 => boot_channel(),
        None => {
            eprintln!("alcove: -d {depth}: no control channel was handed over");
            std::process::exit(2);
        }
    }
    if handoff.is_none() {
        // The root helper dies with the process that started it (the VM,
        // or sudo): a helper blocked in a call would never see its channel
        // close. (A re-executed image keeps the setting it had.)
        lifecycle::die_with_parent(nix::unistd::getppid().as_raw());
    }
    // The driver's cgroup and its guardian, made before this process
    // becomes a subreaper (the guardian must not be reparented to it).
    let cgroup = if handoff.is_none() && depth == 0 {
        teardown::setup_root()
    } else {
        None
    };
    lifecycle::become_subreaper(true);
    opts.maxchild = opts.maxchild.min(State::maxchild_for(State::nofile()));
    let signals = match signals::Signals::new() {
        Ok(signals) => signals,
        Err(errno) => {
            eprintln!("alcove: cannot create the signal pipe: errno {errno}");
            std::process::exit(1);
        }
    };
    fdio::set_nonblock(CTL_FD);
    let mut state = State {
        up_read: CTL_FD,
        up_write: CTL_FD,
        up_is_socket: fdio::is_socket(CTL_FD),
        up_fds: Vec::new(),
        shortcut_expected: false,
        up_reader: Default::default(),
        up_out: Default::default(),
        up_closed: false,
        watch_stdin: depth > 0,
        children: Vec::new(),
        opts,
        depth,
        signals,
        epoch: 0,
        drain_buf: Vec::new(),
        reply_later: false,
        shortcut: None,
        via_shortcut: None,
        shortcut_seq: 0,
        current_request: 0,
        filter: Default::default(),
        child_filter: Default::default(),
        cgroup,
        pending_cgroup: None,
        cgroup_seq: 0,
        child_cgroups: Vec::new(),
        lingering: Vec::new(),
        spare_leaves: Vec::new(),
        outlive: false,
        cgwatch: Default::default(),
    };
    if let Some(handoff) = handoff {
        // The exec call that made this image is answered by it.
        state.send_value(Kind::Reply, handoff.request_id, &[], &Value::ok());
        state.up_reader = FrameReader::resume(&handoff.pending, handoff.skipping);
        if let Some(kept) = handoff.shortcut {
            shortcut::resume(&mut state, kept);
        }
        event_loop::handle_upstream_frames(&mut state);
        shortcut::handle_frames(&mut state);
    }
    event_loop::run(&mut state)
}
