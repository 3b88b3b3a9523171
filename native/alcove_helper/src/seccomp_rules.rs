//! Decoding a seccomp filter given by system call name (`seccomp_load`):
//! the default action, the rules and the flags, checked and resolved
//! against this helper's system call table. No allocation beyond the
//! size of the argument; every shape that is not the documented one is
//! `Badarg`. Compiling the result into BPF is `sys::seccomp_named`'s.
//!
//! Wire shapes (see `alcove_seccomp` for the Erlang side):
//!
//! * action: `allow | kill_process | kill_thread | trap | log | user_notif
//!   | {errno, Errno} | {trace, 0..65535}`, Errno an errno atom or 0..4095;
//! * rule: `{Syscall, Action}` or `{Syscall, Action, [Condition]}`,
//!   Syscall an atom (`read`, the name without `sys_`) or a number;
//! * condition: `{Arg, Op, Value}` (64-bit compare) or
//!   `{Arg, Op, Value, dword | qword}`, Arg 0..5, Op `eq | ne | lt | le |
//!   gt | ge | {masked_eq, Mask}`, Value and Mask integers (a negative one
//!   stands for its 64-bit two's complement);
//! * flags: a list of `no_new_privs | log | spec_allow`.

use crate::args::CallError;
use crate::consts;
use alcove_proto::Value;

/// Most rules in one filter (a BPF program has at most 4096 instructions
/// anyway).
pub const MAX_RULES: usize = 1024;
/// Most conditions in one rule.
pub const MAX_CONDITIONS: usize = 16;
/// Largest system call number accepted as a number (x32 numbers and
/// negative ones are refused).
pub const MAX_SYSCALL_NR: i64 = 0x3fff_ffff;

/// What the filter does with a system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Allow,
    KillProcess,
    KillThread,
    Trap,
    Log,
    UserNotif,
    Errno(u16),
    Trace(u16),
}

impl Action {
    /// The filter's return value (SECCOMP_RET_*).
    pub fn ret(self) -> u32 {
        match self {
            Action::Allow => libc::SECCOMP_RET_ALLOW,
            Action::KillProcess => libc::SECCOMP_RET_KILL_PROCESS,
            Action::KillThread => libc::SECCOMP_RET_KILL_THREAD,
            Action::Trap => libc::SECCOMP_RET_TRAP,
            Action::Log => libc::SECCOMP_RET_LOG,
            Action::UserNotif => libc::SECCOMP_RET_USER_NOTIF,
            Action::Errno(e) => libc::SECCOMP_RET_ERRNO | u32::from(e),
            Action::Trace(n) => libc::SECCOMP_RET_TRACE | u32::from(n),
        }
    }
}

/// How an argument is compared with the condition's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq(u64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Condition {
    /// Argument index, 0..5.
    pub arg: u8,
    pub op: Op,
    pub value: u64,
    /// Compare all 64 bits (else the low 32).
    pub qword: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub nr: i64,
    pub action: Action,
    /// All must hold (none: the system call alone matches).
    pub conditions: Vec<Condition>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub no_new_privs: bool,
    pub log: bool,
    pub spec_allow: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    pub default: Action,
    /// In order: the first rule that matches decides.
    pub rules: Vec<Rule>,
    pub flags: Flags,
}

impl Spec {
    /// Whether any action is a user notification (the filter then needs a
    /// listener).
    pub fn notifies(&self) -> bool {
        self.default == Action::UserNotif
            || self.rules.iter().any(|r| r.action == Action::UserNotif)
    }
}

/// A well-formed filter, or the system call names this helper does not
/// know (in the order given, each once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    Spec(Spec),
    Unknown(Vec<String>),
}

/// The number of a system call for this architecture: `read` is looked up
/// as `sys_read` in the helper's table.
pub fn syscall_nr(name: &str) -> Option<i64> {
    consts::syscall::SYSCALL
        .iter()
        .find(|(n, _)| n.strip_prefix("sys_") == Some(name))
        .map(|&(_, nr)| nr)
}

/// The name of a system call number (without `sys_`).
pub fn syscall_name(nr: i64) -> Option<&'static str> {
    consts::syscall::SYSCALL
        .iter()
        .find(|&&(_, v)| v == nr)
        .and_then(|(n, _)| n.strip_prefix("sys_"))
}

fn int(value: &Value) -> Option<i64> {
    value.as_i64()
}

/// An integer as the 64 bits the filter compares: negative ones as their
/// two's complement.
fn word(value: &Value) -> Result<u64, CallError> {
    match value {
        Value::UInt(u) => Ok(*u),
        Value::Int(i) => Ok(*i as u64),
        _ => Err(CallError::Badarg),
    }
}

/// An errno, by name or number (0..4095: what the kernel passes on).
pub fn errno(value: &Value) -> Result<u16, CallError> {
    let n = match value {
        Value::Atom(name) => {
            consts::by_name(consts::errno::ERRNO, name).ok_or(CallError::Badarg)?
        }
        other => int(other).ok_or(CallError::Badarg)?,
    };
    match u16::try_from(n) {
        Ok(e) if e <= 4095 => Ok(e),
        _ => Err(CallError::Badarg),
    }
}

pub fn action(value: &Value) -> Result<Action, CallError> {
    match value {
        Value::Atom(name) => match name.as_str() {
            "allow" => Ok(Action::Allow),
            "kill_process" => Ok(Action::KillProcess),
            "kill_thread" => Ok(Action::KillThread),
            "trap" => Ok(Action::Trap),
            "log" => Ok(Action::Log),
            "user_notif" => Ok(Action::UserNotif),
            _ => Err(CallError::Badarg),
        },
        Value::Tuple(items) => match items.as_slice() {
            [Value::Atom(tag), e] if tag == "errno" => Ok(Action::Errno(errno(e)?)),
            [Value::Atom(tag), n] if tag == "trace" => int(n)
                .and_then(|n| u16::try_from(n).ok())
                .map(Action::Trace)
                .ok_or(CallError::Badarg),
            _ => Err(CallError::Badarg),
        },
        _ => Err(CallError::Badarg),
    }
}

fn op(value: &Value) -> Result<Op, CallError> {
    match value {
        Value::Atom(name) => match name.as_str() {
            "eq" => Ok(Op::Eq),
            "ne" => Ok(Op::Ne),
            "lt" => Ok(Op::Lt),
            "le" => Ok(Op::Le),
            "gt" => Ok(Op::Gt),
            "ge" => Ok(Op::Ge),
            _ => Err(CallError::Badarg),
        },
        Value::Tuple(items) => match items.as_slice() {
            [Value::Atom(tag), mask] if tag == "masked_eq" => Ok(Op::MaskedEq(word(mask)?)),
            _ => Err(CallError::Badarg),
        },
        _ => Err(CallError::Badarg),
    }
}

pub fn condition(value: &Value) -> Result<Condition, CallError> {
    let Value::Tuple(items) = value else {
        return Err(CallError::Badarg);
    };
    let (arg, o, v, qword) = match items.as_slice() {
        [arg, o, v] => (arg, o, v, true),
        [arg, o, v, Value::Atom(len)] if len == "qword" => (arg, o, v, true),
        [arg, o, v, Value::Atom(len)] if len == "dword" => (arg, o, v, false),
        _ => return Err(CallError::Badarg),
    };
    let arg = match int(arg) {
        Some(n @ 0..=5) => n as u8,
        _ => return Err(CallError::Badarg),
    };
    Ok(Condition {
        arg,
        op: op(o)?,
        value: word(v)?,
        qword,
    })
}

/// A system call: its number, or its name when this helper does not know it.
fn syscall(value: &Value) -> Result<Result<i64, &str>, CallError> {
    match value {
        Value::Atom(name) => Ok(syscall_nr(name).ok_or(name.as_str())),
        other => match int(other) {
            Some(nr @ 0..=MAX_SYSCALL_NR) => Ok(Ok(nr)),
            _ => Err(CallError::Badarg),
        },
    }
}

fn flags(value: &Value) -> Result<Flags, CallError> {
    let Value::List(items) = value else {
        return Err(CallError::Badarg);
    };
    let mut flags = Flags::default();
    for item in items {
        match item.as_atom() {
            Some("no_new_privs") => flags.no_new_privs = true,
            Some("log") => flags.log = true,
            Some("spec_allow") => flags.spec_allow = true,
            _ => return Err(CallError::Badarg),
        }
    }
    Ok(flags)
}

/// The three arguments of `seccomp_load`.
pub fn decode(default: &Value, rules: &Value, flag_list: &Value) -> Result<Decoded, CallError> {
    let default = action(default)?;
    let flags = flags(flag_list)?;
    let Value::List(items) = rules else {
        return Err(CallError::Badarg);
    };
    if items.len() > MAX_RULES {
        return Err(CallError::Badarg);
    }
    // Grown as rules decode, not sized from the (untrusted) count.
    let mut decoded = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for item in items {
        let Value::Tuple(fields) = item else {
            return Err(CallError::Badarg);
        };
        let (name, act, conds) = match fields.as_slice() {
            [name, act] => (name, act, None),
            [name, act, Value::List(conds)] => (name, act, Some(conds)),
            _ => return Err(CallError::Badarg),
        };
        let action = action(act)?;
        let conditions = match conds {
            Some(conds) if conds.len() > MAX_CONDITIONS => return Err(CallError::Badarg),
            Some(conds) => conds.iter().map(condition).collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
        };
        match syscall(name)? {
            Ok(nr) => decoded.push(Rule {
                nr,
                action,
                conditions,
            }),
            Err(name) => {
                if !unknown.iter().any(|u| u == name) {
                    unknown.push(name.to_owned());
                }
            }
        }
    }
    if !unknown.is_empty() {
        return Ok(Decoded::Unknown(unknown));
    }
    Ok(Decoded::Spec(Spec {
        default,
        rules: decoded,
        flags,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn atom(s: &str) -> Value {
        Value::atom(s)
    }

    fn t(items: Vec<Value>) -> Value {
        Value::Tuple(items)
    }

    #[test]
    fn actions() {
        assert_eq!(action(&atom("allow")), Ok(Action::Allow));
        assert_eq!(action(&atom("user_notif")), Ok(Action::UserNotif));
        assert_eq!(
            action(&t(vec![atom("errno"), atom("eacces")])),
            Ok(Action::Errno(libc::EACCES as u16))
        );
        assert_eq!(
            action(&t(vec![atom("errno"), Value::Int(4095)])),
            Ok(Action::Errno(4095))
        );
        assert_eq!(
            action(&t(vec![atom("errno"), Value::Int(4096)])),
            Err(CallError::Badarg)
        );
        assert_eq!(
            action(&t(vec![atom("errno"), atom("enosuch")])),
            Err(CallError::Badarg)
        );
        assert_eq!(
            action(&t(vec![atom("trace"), Value::Int(7)])),
            Ok(Action::Trace(7))
        );
        assert_eq!(action(&atom("deny")), Err(CallError::Badarg));
        assert_eq!(action(&Value::Int(0)), Err(CallError::Badarg));
        assert_eq!(
            Action::Errno(13).ret(),
            libc::SECCOMP_RET_ERRNO | 13,
            "errno in the data bits"
        );
    }

    #[test]
    fn conditions() {
        let c = condition(&t(vec![Value::Int(0), atom("eq"), Value::Int(2)])).unwrap();
        assert_eq!(
            c,
            Condition {
                arg: 0,
                op: Op::Eq,
                value: 2,
                qword: true
            }
        );
        let c = condition(&t(vec![
            Value::Int(5),
            t(vec![atom("masked_eq"), Value::Int(0xff)]),
            Value::Int(-1),
            atom("dword"),
        ]))
        .unwrap();
        assert_eq!(c.op, Op::MaskedEq(0xff));
        assert_eq!(c.value, u64::MAX);
        assert!(!c.qword);
        for bad in [
            t(vec![Value::Int(6), atom("eq"), Value::Int(0)]),
            t(vec![Value::Int(-1), atom("eq"), Value::Int(0)]),
            t(vec![Value::Int(0), atom("equal"), Value::Int(0)]),
            t(vec![Value::Int(0), atom("eq"), atom("x")]),
            t(vec![Value::Int(0), atom("eq"), Value::Int(0), atom("word")]),
            t(vec![Value::Int(0), atom("eq")]),
            Value::List(vec![]),
        ] {
            assert_eq!(condition(&bad), Err(CallError::Badarg), "{bad:?}");
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn decode_rules() {
        let rules = Value::List(vec![
            t(vec![atom("read"), atom("allow")]),
            t(vec![
                atom("socket"),
                t(vec![atom("errno"), atom("eperm")]),
                Value::List(vec![t(vec![Value::Int(0), atom("eq"), Value::Int(2)])]),
            ]),
            t(vec![Value::Int(60), atom("allow")]),
        ]);
        let flags = Value::List(vec![atom("no_new_privs"), atom("log")]);
        let Ok(Decoded::Spec(spec)) = decode(&atom("kill_process"), &rules, &flags) else {
            panic!("not decoded");
        };
        assert_eq!(spec.default, Action::KillProcess);
        assert_eq!(spec.rules.len(), 3);
        assert_eq!(spec.rules[0].nr, 0);
        assert_eq!(spec.rules[1].nr, 41);
        assert_eq!(spec.rules[1].conditions.len(), 1);
        assert_eq!(spec.rules[2].nr, 60);
        assert!(spec.flags.no_new_privs && spec.flags.log && !spec.flags.spec_allow);
        assert!(!spec.notifies());
        assert_eq!(syscall_name(0), Some("read"));
    }

    #[test]
    fn unknown_names() {
        let rules = Value::List(vec![
            t(vec![atom("no_such_call"), atom("allow")]),
            t(vec![atom("read"), atom("allow")]),
            t(vec![atom("no_such_call"), atom("trap")]),
            t(vec![atom("frobnicate"), atom("allow")]),
        ]);
        let got = decode(&atom("allow"), &rules, &Value::List(vec![]));
        // On an architecture without a table, read is unknown too.
        let mut want = vec!["no_such_call".to_owned()];
        if syscall_nr("read").is_none() {
            want.push("read".to_owned());
        }
        want.push("frobnicate".to_owned());
        assert_eq!(got, Ok(Decoded::Unknown(want)));
    }

    #[test]
    fn bad_shapes() {
        let empty = Value::List(vec![]);
        let cases = [
            (atom("nope"), empty.clone(), empty.clone()),
            (atom("allow"), atom("x"), empty.clone()),
            (
                atom("allow"),
                empty.clone(),
                Value::List(vec![atom("tsync")]),
            ),
            (atom("allow"), empty.clone(), atom("log")),
            (
                atom("allow"),
                Value::List(vec![t(vec![atom("read")])]),
                empty.clone(),
            ),
            (
                atom("allow"),
                Value::List(vec![t(vec![Value::Int(-1), atom("allow")])]),
                empty.clone(),
            ),
            (
                atom("allow"),
                Value::List(vec![t(vec![Value::Int(0x4000_0000), atom("allow")])]),
                empty.clone(),
            ),
            (
                atom("allow"),
                Value::List(vec![t(vec![Value::Bin(b"read".to_vec()), atom("allow")])]),
                empty.clone(),
            ),
            (
                atom("allow"),
                Value::List(vec![t(vec![atom("read"), atom("allow"), atom("x")])]),
                empty.clone(),
            ),
            (
                atom("allow"),
                Value::List(vec![t(vec![Value::Int(0), atom("allow")]); MAX_RULES + 1]),
                empty.clone(),
            ),
            (
                atom("allow"),
                Value::List(vec![t(vec![
                    Value::Int(0),
                    atom("allow"),
                    Value::List(vec![
                        t(vec![Value::Int(0), atom("eq"), Value::Int(0)]);
                        MAX_CONDITIONS + 1
                    ]),
                ])]),
                empty.clone(),
            ),
        ];
        for (d, r, f) in cases {
            assert_eq!(
                decode(&d, &r, &f),
                Err(CallError::Badarg),
                "{d:?} {r:?} {f:?}"
            );
        }
        // A bad shape is reported before unknown names.
        let rules = Value::List(vec![
            t(vec![atom("no_such_call"), atom("allow")]),
            t(vec![atom("read"), atom("deny")]),
        ]);
        assert_eq!(
            decode(&atom("allow"), &rules, &empty),
            Err(CallError::Badarg)
        );
    }
}
