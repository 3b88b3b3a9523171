//! `fork_exec`: fork (or clone), apply the caller's steps and exec a
//! program, answering once. No control channel, no helper loop in the
//! child: the arguments are decoded here (spawn_steps.rs), the child only
//! makes system calls (spawn_child.rs) and reports a failure through a
//! close-on-exec pipe. The loop watches that pipe and answers when it
//! ends: end of file is a successful exec (`{ok, Pid}`), a report is a
//! failure (`{error, {Step, Errno}}` or `{error, Errno}` for the exec),
//! the child then gone without an exit event.
//!
//! The child is registered like a forked helper that exec'd: stdio pipes,
//! a teardown leaf, a place in `children`, a process group of its own.

use crate::args::{errno_value, Args, CallError, CallResult};
use crate::child_fds::ChildFds;
use crate::fdio::{self, ReadOutcome};
use crate::spawn_child::{self, ChildSetup, EXEC_INDEX};
use crate::spawn_steps::{self, DecodeError, Plan};
use crate::state::{CtlState, ExecReport, State};
use alcove_proto::{Kind, Value};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, OwnedFd};

/// fork(2) + execvp(3) with steps between, in one request.
pub fn fork_exec(state: &mut State, args: &Args) -> CallResult {
    let path = std::env::var_os("PATH").map(std::os::unix::ffi::OsStringExt::into_vec);
    let plan = match spawn_steps::decode(args.get(0)?, args.get(1)?, path.as_deref()) {
        Ok(plan) => plan,
        Err(DecodeError::Badarg) => return Err(CallError::Badarg),
        Err(DecodeError::Step(name, errno)) => return Ok(step_error(name, errno)),
    };
    if state.depth >= state.opts.maxforkdepth
        || state.children.len() as i64
            >= state.opts.maxchild.min(crate::sys::process::nofile_limit())
    {
        return Err(CallError::Errno(libc::EAGAIN));
    }
    let cgroup_dir = match &plan.cgroup {
        Some(dir) => {
            let oflag = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
            match nix::fcntl::open(dir.as_c_str(), oflag, Mode::empty()) {
                Ok(fd) => Some(fd),
                Err(errno) => return Ok(step_error("cgroup", errno as i32)),
            }
        }
        None => None,
    };
    let pty = state.opts.pty == 1;
    let fds = ChildFds::new(pty, false).map_err(CallError::Errno)?;
    // Non-blocking from the start: the loop reads it; the child's one
    // 8-byte write to an empty pipe never blocks either way.
    let (report_read, report_write) = match fdio::pipe_nonblock() {
        Ok(pipe) => pipe,
        Err(errno) => {
            close_fds(&fds);
            return Err(CallError::Errno(errno));
        }
    };
    // A leaf in the teardown tree, as a forked helper gets, unless the
    // program goes into a cgroup of the caller's.
    crate::teardown::ensure_own(state);
    let leaf = match &plan.cgroup {
        Some(_) => None,
        None => crate::teardown::child_dir(state),
    };
    let pid = start(
        state,
        &plan,
        &fds,
        report_write,
        cgroup_dir.as_ref(),
        leaf.as_deref(),
    );
    fdio::close(report_write);
    fds.child_ends().into_iter().for_each(fdio::close);
    let pid = match pid {
        Ok(pid) => pid,
        Err(errno) => {
            if let Some(dir) = &leaf {
                let _ = std::fs::remove_dir(dir);
            }
            fdio::close(report_read);
            fds.parent_ends().into_iter().for_each(fdio::close);
            let step = if plan.cgroup.is_some() {
                "cgroup"
            } else {
                "clone"
            };
            return match plan.clone_flags.is_some() || plan.cgroup.is_some() {
                true => Ok(step_error(step, errno)),
                false => Err(CallError::Errno(errno)),
            };
        }
    };
    crate::teardown::adopt(state, pid, leaf);
    let mut child = crate::sys::process::new_child(state, pid, &fds);
    child.exec_report = Some(ExecReport {
        fd: report_read,
        request_id: state.current_request,
        steps: plan.steps.iter().map(|step| step.name()).collect(),
    });
    state.children.push(child);
    state.reply_later = true;
    Ok(Value::ok())
}

/// Fork or clone the child and run it; the child's pid, or the errno of
/// the fork.
fn start(
    state: &State,
    plan: &Plan,
    fds: &ChildFds,
    report: i32,
    cgroup_dir: Option<&OwnedFd>,
    leaf: Option<&std::path::Path>,
) -> Result<libc::pid_t, i32> {
    let candidates = spawn_steps::pointers(&plan.candidates);
    let argv = spawn_steps::pointers(&plan.argv);
    let mut sh_argv = vec![c"/bin/sh".as_ptr(), std::ptr::null()];
    sh_argv.extend(argv.iter().skip(1));
    let envp = plan.env.as_deref().map(spawn_steps::pointers);
    let stderr = if state.opts.stderr_to_stdout == 1 || state.opts.pty == 1 {
        fds.stdout.1
    } else {
        fds.stderr.1
    };
    let mut setup = ChildSetup {
        // SAFETY: getpid(2) has no memory effects.
        parent: unsafe { libc::getpid() },
        report,
        stdio: [fds.stdin.1, fds.stdout.1, stderr],
        pty: state.opts.pty == 1,
        cgroup_procs: -1,
        own_group: !plan.sets_group(),
        signals_kept: state.signals.kept_over_exec(),
        no_new_privs: state.opts.no_new_privs == 1,
        // As every forked child: its helper's end is its end.
        die_with_parent: true,
        steps: &plan.steps,
        candidates: &candidates,
        argv: &argv,
        sh_argv,
        envp: envp.as_deref(),
    };
    // The teardown leaf, made and opened to start the child in it
    // (`CLONE_INTO_CGROUP`; see `teardown::open_leaf`).
    let leaf_fd = match cgroup_dir {
        None => leaf.and_then(crate::teardown::open_leaf),
        Some(_) => None,
    };
    let flags = plan.clone_flags.unwrap_or(0);
    // Signals stay blocked until the child has reset them: one caught in
    // between would run the helper's handler in the child.
    let saved_mask = crate::signals::block_all();
    let started = match cgroup_dir {
        Some(dir) => Some(crate::sys::cgroup::clone3_into(flags, dir.as_raw_fd())),
        None => {
            crate::sys::cgroup::clone3_into_leaf(flags, leaf_fd.as_ref().map(AsRawFd::as_raw_fd))
        }
    };
    let mut procs = None;
    let pid = match started {
        Some(pid) => pid,
        // The child writes itself into its leaf, if there is one.
        None => {
            procs = leaf_fd.as_ref().and_then(|_| leaf.and_then(open_procs));
            setup.cgroup_procs = procs.as_ref().map_or(-1, AsRawFd::as_raw_fd);
            crate::sys::process::fork_or_clone(flags)
        }
    };
    if pid == Ok(0) {
        spawn_child::run(setup);
    }
    crate::signals::restore_mask(&saved_mask);
    drop(procs);
    pid.map_err(|errno| errno as i32)
}

/// The leaf's `cgroup.procs` open for a child to write itself into.
fn open_procs(dir: &std::path::Path) -> Option<OwnedFd> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join("cgroup.procs"))
        .ok()
        .map(OwnedFd::from)
}

fn close_fds(fds: &ChildFds) {
    fds.parent_ends()
        .into_iter()
        .chain(fds.child_ends())
        .for_each(fdio::close);
}

/// `{error, {Step, Errno}}`
fn step_error(step: &str, errno: i32) -> Value {
    Value::tuple2(
        Value::atom("error"),
        Value::tuple2(
            Value::atom(step),
            Value::atom(crate::consts::errno::name(errno)),
        ),
    )
}

/// The report pipe of child `pid` is readable: end of file (the program
/// runs: `{ok, Pid}`) or a failure report (the child is reaped, unless
/// `reaped` says the loop did, and forgotten: `{error, ...}`).
pub fn on_report(state: &mut State, pid: i32, reaped: bool) {
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    let Some((fd, request_id)) = state.children[idx]
        .exec_report
        .as_ref()
        .map(|report| (report.fd, report.request_id))
    else {
        return;
    };
    let mut buf = [0u8; 8];
    let failure = match fdio::read(fd, &mut buf) {
        ReadOutcome::WouldBlock => return,
        ReadOutcome::Data(n) => {
            Some(spawn_child::decode_report(&buf[..n]).unwrap_or((EXEC_INDEX, libc::EIO)))
        }
        ReadOutcome::Eof | ReadOutcome::Error => None,
    };
    fdio::close(fd);
    let child = &mut state.children[idx];
    let steps = child
        .exec_report
        .take()
        .map(|r| r.steps)
        .unwrap_or_default();
    let Some((index, errno)) = failure else {
        child.ctl_state = CtlState::Execed;
        let reply = Value::ok_with(Value::Int(pid as i64));
        state.send_value(Kind::Reply, request_id, &[], &reply);
        return crate::direct::on_exec(state, idx);
    };
    let reply = usize::try_from(index)
        .ok()
        .and_then(|i| steps.get(i).copied())
        .map_or_else(|| errno_value(errno), |name| step_error(name, errno));
    if !reaped {
        // The child wrote its report and _exits: this waits for no more.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
    }
    let mut child = state.children.swap_remove(idx);
    child.close_all();
    crate::teardown::reaped(state, pid, true);
    state.send_value(Kind::Reply, request_id, &[], &reply);
}
