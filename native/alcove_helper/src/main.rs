//! The alcove helper. The driver starts it with a socket as stdin and
//! stdout; it serves calls on that socket until it closes. Forked children
//! run the same loop on a control socket of their own.

mod args;
// Generated from gen/calls.def; left as the generator writes it.
#[rustfmt::skip]
mod calls;
mod child_io;
mod consts;
mod cstruct;
mod event_loop;
mod fdio;
mod lifecycle;
mod signals;
mod state;
mod sys;

use state::{Opts, State};

fn usage(bad: &str) -> ! {
    eprintln!("alcove: bad argument {bad:?}; usage: alcove [--OPTION VALUE]... (options as in getopt: maxchild, maxforkdepth, depth, ...)");
    std::process::exit(2)
}

/// Options from argv: `--name value` pairs, names as in getopt/3, plus `depth`.
fn parse_args() -> (Opts, i64) {
    let mut opts = Opts::default();
    let mut depth = 0;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let Some(name) = flag.strip_prefix("--") else {
            usage(&flag)
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

fn main() {
    // Whatever the VM ignored or blocked must not leak into the children.
    signals::reset_all();
    lifecycle::close_inherited_fds();
    lifecycle::become_subreaper(true);
    let (opts, depth) = parse_args();
    let signals = match signals::Signals::new() {
        Ok(signals) => signals,
        Err(errno) => {
            eprintln!("alcove: cannot create the signal pipe: errno {errno}");
            std::process::exit(1);
        }
    };
    fdio::set_nonblock(0);
    fdio::set_nonblock(1);
    let mut state = State {
        up_read: 0,
        up_write: 1,
        up_reader: Default::default(),
        up_out: Default::default(),
        up_closed: false,
        children: Vec::new(),
        opts,
        depth,
        signals,
        epoch: 0,
        current_request: 0,
        filter: Default::default(),
        child_filter: Default::default(),
    };
    event_loop::run(&mut state)
}
