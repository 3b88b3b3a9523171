//! seccomp filters by system call name (seccomp(2)), and serving the
//! user notifications of a child's filter (seccomp_unotify(2)).
//!
//! `seccomp_load` compiles rules (decoded by `crate::seccomp_rules`) with
//! the `seccompiler` crate for this helper's architecture and installs the
//! program in this process. seccompiler gives one filter a single action on
//! match and one on mismatch; rules with different actions are compiled as
//! one seccompiler program per run of consecutive rules sharing an action,
//! with placeholder actions, and the programs are joined: a program's
//! "match" returns become the run's action, its "mismatch" returns a jump
//! to the next program (the last one's: the default action). The first
//! rule that matches so decides, in list order. seccompiler has no user
//! notification action either: the placeholders carry it.
//!
//! A filtered process cannot answer its own notifications: its parent
//! helper takes the listener (`seccomp_listener`, pidfd_getfd(2)), watches
//! it in its event loop, sends each notification to the owner of the
//! child's pipeline as an event, and answers with `seccomp_respond`. A
//! listener is closed when the kernel reports that its filter has no user
//! left, or with the child's other fds when the child is reaped.

use crate::args::{Args, CallError, CallResult};
use crate::seccomp_rules::{self, Condition, Decoded, Op, Rule, Spec};
use crate::state::State;
use alcove_proto::{Kind, Value};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use std::collections::BTreeMap;
use std::os::unix::io::RawFd;

/// Placeholder data of the compiled programs (SECCOMP_RET_TRACE data).
const MISMATCH_DATA: u32 = 0xa1c0;
const MATCH_DATA: u32 = 0xa1c1;
/// Longest program the kernel takes (BPF_MAXINSNS).
const BPF_MAXINSNS: usize = 4096;
/// Listeners one helper serves for one child.
pub const MAX_LISTENERS: usize = 16;

const BPF_LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const BPF_JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const BPF_JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const BPF_JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const BPF_RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// This helper's architecture, for seccompiler and the arch check.
fn target_arch() -> Result<TargetArch, CallError> {
    TargetArch::try_from(std::env::consts::ARCH).map_err(|_| CallError::Errno(libc::ENOTSUP))
}

fn audit_arch() -> u32 {
    match std::env::consts::ARCH {
        "x86_64" => 0xc000_003e,
        "aarch64" => 0xc000_00b7,
        _ => 0xc000_00f3, // riscv64
    }
}

fn condition(c: &Condition) -> Result<SeccompCondition, CallError> {
    let op = match c.op {
        Op::Eq => SeccompCmpOp::Eq,
        Op::Ne => SeccompCmpOp::Ne,
        Op::Lt => SeccompCmpOp::Lt,
        Op::Le => SeccompCmpOp::Le,
        Op::Gt => SeccompCmpOp::Gt,
        Op::Ge => SeccompCmpOp::Ge,
        Op::MaskedEq(mask) => SeccompCmpOp::MaskedEq(mask),
    };
    let len = if c.qword {
        SeccompCmpArgLen::Qword
    } else {
        SeccompCmpArgLen::Dword
    };
    // A dword compare looks at the low 32 bits only: so does its value.
    let value = if c.qword {
        c.value
    } else {
        c.value & 0xffff_ffff
    };
    SeccompCondition::new(c.arg, len, op, value).map_err(|_| CallError::Badarg)
}

/// One run of rules sharing an action, as a seccompiler program with
/// placeholder returns.
fn compile_run(rules: &[Rule], arch: TargetArch) -> Result<Vec<libc::sock_filter>, CallError> {
    let mut map: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    for rule in rules {
        let entry = map.entry(rule.nr).or_insert_with(|| Some(Vec::new()));
        if rule.conditions.is_empty() {
            // Matched on the number alone: other rules add nothing.
            *entry = None;
            continue;
        }
        if let Some(chain) = entry {
            let conds = rule
                .conditions
                .iter()
                .map(condition)
                .collect::<Result<Vec<_>, _>>()?;
            chain.push(SeccompRule::new(conds).map_err(|_| CallError::Badarg)?);
        }
    }
    let map = map
        .into_iter()
        .map(|(nr, chain)| (nr, chain.unwrap_or_default()))
        .collect();
    let filter = SeccompFilter::new(
        map,
        SeccompAction::Trace(MISMATCH_DATA),
        SeccompAction::Trace(MATCH_DATA),
        arch,
    )
    .map_err(|_| CallError::Badarg)?;
    let program: seccompiler::BpfProgram = filter
        .try_into()
        .map_err(|_| CallError::Errno(libc::E2BIG))?;
    Ok(program
        .into_iter()
        .map(|i| insn(i.code, i.jt, i.jf, i.k))
        .collect())
}

/// The whole program for a filter.
pub fn compile(spec: &Spec) -> Result<Vec<libc::sock_filter>, CallError> {
    let arch = target_arch()?;
    let kill = libc::SECCOMP_RET_KILL_PROCESS;
    // Another architecture's calls (i386 through int 0x80) are killed, and
    // so are x32 calls (numbers with bit 30 set) on x86_64: their numbers
    // are not the ones the rules name.
    let mut program = vec![
        insn(BPF_LD_W_ABS, 0, 0, 4),
        insn(BPF_JEQ_K, 1, 0, audit_arch()),
        insn(BPF_RET_K, 0, 0, kill),
        insn(BPF_LD_W_ABS, 0, 0, 0),
        insn(BPF_JGE_K, 0, 1, 0x4000_0000),
        insn(BPF_RET_K, 0, 0, kill),
    ];
    let runs: Vec<&[Rule]> = spec.rules.chunk_by(|a, b| a.action == b.action).collect();
    for (i, run) in runs.iter().enumerate() {
        let part = compile_run(run, arch)?;
        let start = program.len();
        let end = start + part.len();
        let last = i + 1 == runs.len();
        for (offset, mut ins) in part.into_iter().enumerate() {
            if ins.code == BPF_RET_K && ins.k == libc::SECCOMP_RET_TRACE | MATCH_DATA {
                ins.k = run[0].action.ret();
            } else if ins.code == BPF_RET_K && ins.k == libc::SECCOMP_RET_TRACE | MISMATCH_DATA {
                if last {
                    ins.k = spec.default.ret();
                } else {
                    // To the first instruction of the next run.
                    ins = insn(BPF_JA, 0, 0, (end - (start + offset) - 1) as u32);
                }
            }
            program.push(ins);
        }
        if program.len() > BPF_MAXINSNS {
            return Err(CallError::Errno(libc::E2BIG));
        }
    }
    if runs.is_empty() {
        program.push(insn(BPF_RET_K, 0, 0, spec.default.ret()));
    }
    Ok(program)
}

/// seccomp(2) with SECCOMP_SET_MODE_FILTER: the listener fd, or 0.
fn install(program: &mut [libc::sock_filter], flags: libc::c_ulong) -> Result<i64, CallError> {
    let prog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        filter: program.as_mut_ptr(),
    };
    // SAFETY: `prog` points at `program`, alive for the call; the kernel
    // only reads it.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if rc < 0 {
        return Err(CallError::last_os());
    }
    Ok(rc)
}

/// seccomp_load: install a filter given by system call names in this
/// process. `ok`, or `{ok, ListenerFd}` when an action is `user_notif`;
/// `{error, {unknown_syscalls, Names}}` when names are not this
/// architecture's system calls.
pub fn seccomp_load(_state: &mut State, args: &Args) -> CallResult {
    let spec = match seccomp_rules::decode(args.get(0)?, args.get(1)?, args.get(2)?)? {
        Decoded::Spec(spec) => spec,
        Decoded::Unknown(names) => {
            return Ok(Value::tuple2(
                Value::atom("error"),
                Value::tuple2(
                    Value::atom("unknown_syscalls"),
                    Value::List(names.iter().map(|n| Value::atom(n)).collect()),
                ),
            ))
        }
    };
    let mut program = compile(&spec)?;
    let mut flags: libc::c_ulong = 0;
    if spec.flags.log {
        flags |= libc::SECCOMP_FILTER_FLAG_LOG;
    }
    if spec.flags.spec_allow {
        flags |= libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    }
    let notifies = spec.notifies();
    if notifies {
        flags |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    }
    if spec.flags.no_new_privs {
        nix::sys::prctl::set_no_new_privs()?;
    }
    let fd = install(&mut program, flags)?;
    if notifies {
        Ok(Value::ok_with(Value::Int(fd)))
    } else {
        Ok(Value::ok())
    }
}

/// A raw fd-returning syscall's result.
fn fd_result(rc: libc::c_long) -> Result<RawFd, CallError> {
    if rc < 0 {
        return Err(CallError::last_os());
    }
    RawFd::try_from(rc).map_err(|_| CallError::Errno(libc::EBADF))
}

/// seccomp_listener: take fd `FD` of child `OSPid` (a listener it got from
/// `seccomp_load`) into this process and serve its notifications.
pub fn seccomp_listener(state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let fd = args.i32(1)?;
    if fd < 0 {
        return Err(CallError::Badarg);
    }
    let idx = state
        .child_index(pid)
        .ok_or(CallError::Errno(libc::ESRCH))?;
    if state.children[idx].seccomp_listeners.len() >= MAX_LISTENERS {
        return Err(CallError::Errno(libc::EBUSY));
    }
    // SAFETY: pidfd_open takes a pid and flags; no memory is passed.
    let pidfd = fd_result(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: pidfd_getfd takes two fds and flags; no memory is passed.
    let taken = fd_result(unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) });
    crate::fdio::close(pidfd);
    let taken = taken?;
    // The kernel checks that a listener is what was taken only when it is
    // used: check now, with an id no notification has (ENOENT).
    let probe: u64 = 0;
    // SAFETY: the argument is a u64 the kernel reads.
    let rc = unsafe { libc::ioctl(taken, libc::SECCOMP_IOCTL_NOTIF_ID_VALID, &probe) };
    if rc == 0 || nix::errno::Errno::last() != nix::errno::Errno::ENOENT {
        crate::fdio::close(taken);
        return Err(CallError::Errno(libc::EINVAL));
    }
    crate::fdio::set_nonblock(taken);
    state.children[idx].seccomp_listeners.push(taken);
    Ok(Value::ok())
}

/// A response: `continue`, `{errno, E}` (E > 0) or `{return, Value}`.
fn response(value: &Value, id: u64) -> Result<libc::seccomp_notif_resp, CallError> {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: 0,
    };
    match value {
        Value::Atom(name) if name == "continue" => {
            resp.flags = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
        }
        Value::Tuple(items) => match items.as_slice() {
            [Value::Atom(tag), e] if tag == "errno" => {
                let e = seccomp_rules::errno(e)?;
                if e == 0 {
                    return Err(CallError::Badarg);
                }
                resp.error = -i32::from(e);
            }
            [Value::Atom(tag), v] if tag == "return" => {
                resp.val = v.as_i64().ok_or(CallError::Badarg)?;
            }
            _ => return Err(CallError::Badarg),
        },
        _ => return Err(CallError::Badarg),
    }
    Ok(resp)
}

/// seccomp_respond: answer notification `ID` of child `OSPid`'s filter.
pub fn seccomp_respond(state: &mut State, args: &Args) -> CallResult {
    let pid = args.i32(0)?;
    let id = args.u64(1)?;
    let mut resp = response(args.get(2)?, id)?;
    let idx = state
        .child_index(pid)
        .ok_or(CallError::Errno(libc::ESRCH))?;
    let listeners = state.children[idx].seccomp_listeners.clone();
    if listeners.is_empty() {
        return Err(CallError::Errno(libc::ENOENT));
    }
    // The id is one listener's: the others answer ENOENT.
    let mut errno = libc::ENOENT;
    for fd in listeners {
        // SAFETY: `resp` is a seccomp_notif_resp alive for the call; the
        // kernel reads it.
        let rc = unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_SEND, &mut resp) };
        if rc == 0 {
            return Ok(Value::ok());
        }
        let e = nix::errno::Errno::last() as i32;
        if e != libc::ENOENT {
            errno = e;
        }
    }
    Err(CallError::Errno(errno))
}

/// A child's listener is readable or hung up: pass its notification on
/// to the owner of the child's pipeline, or close it once its filter has
/// no process left.
pub fn on_listener(state: &mut State, pid: i32, fd: RawFd, revents: libc::c_short) {
    let Some(idx) = state.child_index(pid) else {
        return;
    };
    if !state.children[idx].seccomp_listeners.contains(&fd) {
        // Closed earlier in this round of the loop.
        return;
    }
    if revents & libc::POLLIN != 0 {
        // SAFETY: seccomp_notif is plain data; all zeroes is a valid value
        // (and the kernel wants it zeroed).
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: `notif` is a seccomp_notif the kernel writes, alive for
        // the call.
        let rc = unsafe { libc::ioctl(fd, libc::SECCOMP_IOCTL_NOTIF_RECV, &mut notif) };
        if rc == 0 {
            let nr = i64::from(notif.data.nr);
            let syscall = match seccomp_rules::syscall_name(nr) {
                Some(name) => Value::atom(name),
                None => Value::Int(nr),
            };
            let event = Value::Tuple(vec![
                Value::atom("seccomp_notif"),
                Value::UInt(notif.id),
                Value::Int(i64::from(notif.pid)),
                syscall,
                Value::List(notif.data.args.iter().map(|&a| Value::UInt(a)).collect()),
            ]);
            state.send_value(Kind::Event, 0, &[pid], &event);
        }
        // Else ENOENT: the process went before it was read.
        return;
    }
    if revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0 {
        let listeners = &mut state.children[idx].seccomp_listeners;
        if let Some(pos) = listeners.iter().position(|&l| l == fd) {
            listeners.swap_remove(pos);
            if revents & libc::POLLNVAL == 0 {
                crate::fdio::close(fd);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp_rules::{Action, Flags};

    fn rule(nr: i64, action: Action) -> Rule {
        Rule {
            nr,
            action,
            conditions: Vec::new(),
        }
    }

    fn rets(program: &[libc::sock_filter]) -> Vec<u32> {
        program
            .iter()
            .filter(|i| i.code == BPF_RET_K)
            .map(|i| i.k)
            .collect()
    }

    #[test]
    fn no_rules_is_the_default() {
        let spec = Spec {
            default: Action::Errno(1),
            rules: Vec::new(),
            flags: Flags::default(),
        };
        let program = compile(&spec).unwrap();
        assert_eq!(
            program.last().map(|i| (i.code, i.k)),
            Some((BPF_RET_K, libc::SECCOMP_RET_ERRNO | 1))
        );
    }

    #[test]
    fn placeholders_are_replaced() {
        let spec = Spec {
            default: Action::KillProcess,
            rules: vec![
                rule(0, Action::Allow),
                rule(1, Action::Allow),
                rule(2, Action::UserNotif),
                rule(3, Action::Errno(13)),
            ],
            flags: Flags::default(),
        };
        let program = compile(&spec).unwrap();
        let rets = rets(&program);
        assert!(rets
            .iter()
            .all(|&k| k != libc::SECCOMP_RET_TRACE | MATCH_DATA
                && k != libc::SECCOMP_RET_TRACE | MISMATCH_DATA));
        for k in [
            libc::SECCOMP_RET_ALLOW,
            libc::SECCOMP_RET_USER_NOTIF,
            libc::SECCOMP_RET_ERRNO | 13,
            libc::SECCOMP_RET_KILL_PROCESS,
        ] {
            assert!(rets.contains(&k), "{k:#x} in {rets:x?}");
        }
        // Every jump lands inside the program.
        for (pc, i) in program.iter().enumerate() {
            if i.code == BPF_JA {
                assert!(pc + 1 + (i.k as usize) < program.len());
            } else if i.code & 0x07 == libc::BPF_JMP as u16 {
                assert!(pc + 1 + (i.jt.max(i.jf) as usize) < program.len());
            }
        }
        assert_eq!(program.last().map(|i| i.code), Some(BPF_RET_K));
    }

    #[test]
    fn too_long() {
        let spec = Spec {
            default: Action::Allow,
            rules: (0..1024)
                .map(|nr| {
                    rule(
                        nr,
                        if nr % 2 == 0 {
                            Action::Trap
                        } else {
                            Action::Log
                        },
                    )
                })
                .collect(),
            flags: Flags::default(),
        };
        assert_eq!(compile(&spec).err(), Some(CallError::Errno(libc::E2BIG)));
    }

    #[test]
    fn responses() {
        let cont = response(&Value::atom("continue"), 7).unwrap();
        assert_eq!(
            (cont.id, cont.flags),
            (7, libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32)
        );
        let e = response(
            &Value::Tuple(vec![Value::atom("errno"), Value::atom("eacces")]),
            1,
        )
        .unwrap();
        assert_eq!(e.error, -libc::EACCES);
        let r = response(
            &Value::Tuple(vec![Value::atom("return"), Value::Int(-5)]),
            1,
        )
        .unwrap();
        assert_eq!((r.val, r.error), (-5, 0));
        for bad in [
            Value::atom("allow"),
            Value::Tuple(vec![Value::atom("errno"), Value::Int(0)]),
            Value::Tuple(vec![Value::atom("return"), Value::atom("x")]),
            Value::Int(0),
        ] {
            assert!(response(&bad, 1).is_err(), "{bad:?}");
        }
    }
}
