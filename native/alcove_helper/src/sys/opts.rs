//! Helper options and child records: getopt, setopt, cpid, setcpid, version, eof.

use crate::args::{Args, CallError, CallResult};
use crate::state::{CtlState, State};
use alcove_proto::Value;

/// The helper's version string.
pub fn version(_state: &mut State, _args: &Args) -> CallResult {
    Ok(Value::Bin(env!("CARGO_PKG_VERSION").as_bytes().to_vec()))
}

/// getopt: the option's value, `false` when unknown.
pub fn getopt(state: &mut State, args: &Args) -> CallResult {
    let name = args.atom(0)?;
    Ok(state
        .opts
        .get(name)
        .map(Value::Int)
        .unwrap_or_else(|| Value::atom("false")))
}

/// setopt: `true` when set, `false` for an unknown option or a bad value.
/// `maxchild` must fit the fd limit and hold the children there are.
pub fn setopt(state: &mut State, args: &Args) -> CallResult {
    let name = args.atom(0)?;
    let value = args.int(1)?;
    if name == "maxchild"
        && (value > State::maxchild_for(State::nofile()) || value < state.children.len() as i64)
    {
        return Ok(bool_value(false));
    }
    Ok(bool_value(state.opts.set(name, value)))
}

fn bool_value(b: bool) -> Value {
    Value::atom(if b { "true" } else { "false" })
}

/// cpid: one `#alcove_pid{}` per child.
pub fn cpid(state: &mut State, _args: &Args) -> CallResult {
    let records = state
        .children
        .iter()
        .map(|c| {
            let fdctl = match c.ctl_state {
                CtlState::Open => c.ctl as i64,
                CtlState::Execed => -2,
                CtlState::Closed => -1,
            };
            Value::Tuple(vec![
                Value::atom("alcove_pid"),
                Value::Int(c.pid as i64),
                Value::Int(c.flowcontrol),
                Value::Int(c.signaloneof),
                Value::Int(fdctl),
                Value::Int(c.stdin as i64),
                Value::Int(c.stdout as i64),
                Value::Int(c.stderr as i64),
            ])
        })
        .collect();
    Ok(Value::List(records))
}

/// setcpid: change a child's `flowcontrol`, `signaloneof` or `killpg`.
pub fn setcpid(state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let field = args.atom(1)?;
    let value = args.int(2)?;
    let Some(idx) = state.child_index(pid) else {
        return Ok(bool_value(false));
    };
    let child = &mut state.children[idx];
    let ok = match field {
        "flowcontrol" if value >= -1 => {
            child.flowcontrol = value;
            crate::direct::flow_changed(state, idx);
            if state.children[idx].exited.is_some() {
                // Output held back by flow control can go now, then the exit event.
                crate::lifecycle::finish_exited(state, pid);
            }
            return Ok(bool_value(true));
        }
        "signaloneof" if (0..crate::signals::NSIG as i64).contains(&value) => {
            child.signaloneof = value;
            true
        }
        "killpg" if value == 0 || value == 1 => {
            child.killpg = value == 1;
            true
        }
        _ => false,
    };
    Ok(bool_value(ok))
}

/// eof: close the helper's end of a child's stdin, stdout or stderr.
pub fn eof(state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let stream = args.atom(1)?;
    if !matches!(stream, "stdin" | "stdout" | "stderr") {
        return Err(CallError::Badarg);
    }
    crate::child_io::eof(state, pid, stream)
}

/// outlive: take this process out of its driver's teardown (see
/// `teardown::leave`), out of its parent's process group and session
/// (setsid(2); a process leading a group already keeps it), and clear its
/// parent-death signal (prctl(2) PR_SET_PDEATHSIG 0). Its parent, which
/// saw the call go by, spares it at shutdown. What it execs then lives on
/// after the driver stops or the VM exits.
pub fn outlive(state: &mut State, _args: &Args) -> CallResult {
    crate::teardown::leave(state).map_err(CallError::Errno)?;
    // EPERM: it leads a process group already, so no group signal aimed
    // at its parent's reaches it.
    let _ = nix::unistd::setsid();
    nix::sys::prctl::set_pdeathsig(None)?;
    state.outlive = true;
    Ok(Value::ok())
}
