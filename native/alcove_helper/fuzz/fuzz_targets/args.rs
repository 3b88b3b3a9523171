//! The helper's `Args` accessors (`args.rs`) on generated argument lists:
//! every accessor at every index (and one past the end) must not panic,
//! must agree with a model of what it accepts written from the README's
//! rules (integers checked against their C type, iodata of binaries and
//! bytes nested at most 16 lists deep, a string not counting as a level,
//! at most 1 MiB; constants by name or number, unknown names `enotsup`),
//! and must hold heap in proportion to the argument. The seccomp rule
//! decoder (`seccomp_rules.rs`, behind `seccomp_load`) runs on every
//! window of three arguments: it must not panic, must agree with a model
//! of the actions it accepts, must keep its limits, must name only
//! unknown system calls, and must hold heap in proportion to its input.
//! The capability
//! decoders (`capnames.rs`) likewise: a set is one of five atoms, a list
//! of names a proper list of at most 256 atoms, unknown names collected.
#![no_main]

use alcove_helper_fuzz::args::{Args, CallError, MAX_IODATA, MAX_IODATA_NESTING};
use alcove_helper_fuzz::capnames::{self, Names, MAX_NAMES};
use alcove_helper_fuzz::cgroup_events::{self, File, Snapshot};
use alcove_helper_fuzz::consts;
use alcove_helper_fuzz::gen;
use alcove_helper_fuzz::seccomp_rules::{self, Action, Decoded};
use alcove_proto::Value;
use alcove_proto_fuzz::{alloc_factor, peak_alloc, Tracking};
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: Tracking = Tracking;

/// An integer argument as i64: `Int`, or a `UInt` that fits.
fn model_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::UInt(u) if *u <= i64::MAX as u64 => Some(*u as i64),
        _ => None,
    }
}

/// The value as an unbounded integer, for range checks.
fn model_i128(v: &Value) -> Option<i128> {
    match v {
        Value::Int(i) => Some(*i as i128),
        Value::UInt(u) => Some(*u as i128),
        _ => None,
    }
}

fn in_range<T: TryFrom<i128>>(v: &Value) -> Option<T> {
    model_i128(v).and_then(|n| T::try_from(n).ok())
}

/// iodata as bytes, walked with an explicit stack of (value, depth).
/// `None` when it is not iodata, too deep or too long.
fn model_iodata(v: &Value) -> Option<Vec<u8>> {
    if !matches!(v, Value::Bin(_) | Value::List(_)) {
        return None;
    }
    let byte = |x: &Value| match x {
        Value::Int(i) => u8::try_from(*i).ok(),
        _ => None,
    };
    let mut out = Vec::new();
    let mut todo: Vec<(&Value, usize)> = vec![(v, 0)];
    while let Some((x, depth)) = todo.pop() {
        match x {
            Value::Bin(b) => out.extend_from_slice(b),
            Value::List(items) if items.iter().all(|i| byte(i).is_some()) => {
                // A string: bytes at the level of the list holding it.
                out.extend(items.iter().filter_map(byte));
            }
            Value::List(items) => {
                if depth + 1 > MAX_IODATA_NESTING {
                    return None;
                }
                todo.extend(items.iter().rev().map(|i| (i, depth + 1)));
            }
            other => out.push(byte(other)?),
        }
        if out.len() > MAX_IODATA {
            return None;
        }
    }
    Some(out)
}

fn model_constant(v: &Value, table: &[(&'static str, i64)]) -> Result<i64, CallError> {
    match v {
        Value::Atom(name) => table
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, x)| *x)
            .ok_or(CallError::Errno(libc::ENOTSUP)),
        other => model_i64(other).ok_or(CallError::Badarg),
    }
}

/// Flags: a list of constants OR'ed, the first error in list order.
fn model_flags(v: &Value, table: &[(&'static str, i64)]) -> Result<i64, CallError> {
    match v {
        Value::List(items) => {
            let mut acc = 0;
            for item in items {
                acc |= model_constant(item, table)?;
            }
            Ok(acc)
        }
        other => model_constant(other, table),
    }
}

fn largest_binary(v: &Value) -> usize {
    match v {
        Value::Bin(b) => b.len(),
        Value::List(items) | Value::Tuple(items) => {
            items.iter().map(largest_binary).max().unwrap_or(0)
        }
        _ => 0,
    }
}

fn check(args: &Args, i: usize, v: Option<&Value>) {
    let Some(v) = v else {
        // Past the end: every accessor is badarg.
        let badarg = Some(CallError::Badarg);
        assert_eq!(args.get(i).err(), badarg);
        assert_eq!(args.int(i).err(), badarg);
        assert_eq!(args.iodata(i).err(), badarg);
        assert_eq!(args.cstrings(i).err(), badarg);
        assert_eq!(args.flags(i, consts::signal::SIGNAL).err(), badarg);
        return;
    };
    assert_eq!(args.get(i).ok(), Some(v));
    assert_eq!(args.int(i).ok(), model_i64(v), "int {v:?}");
    assert_eq!(
        args.i32(i).ok(),
        in_range::<i32>(v).filter(|_| model_i64(v).is_some()),
        "i32 {v:?}"
    );
    assert_eq!(args.u32(i).ok(), in_range::<u32>(v), "u32 {v:?}");
    assert_eq!(args.u64(i).ok(), in_range::<u64>(v), "u64 {v:?}");
    let ints = match v {
        Value::List(items) => items.iter().map(model_i64).collect::<Option<Vec<_>>>(),
        _ => None,
    };
    assert_eq!(args.ints(i).ok(), ints, "ints");
    assert_eq!(args.atom(i).ok(), v.as_atom());
    for table in [
        consts::signal::SIGNAL,
        consts::clone::CLONE,
        consts::file::FILE,
    ] {
        assert_eq!(
            args.constant(i, table),
            model_constant(v, table),
            "constant {v:?}"
        );
        assert_eq!(args.flags(i, table), model_flags(v, table), "flags {v:?}");
    }

    let model = model_iodata(v);
    let (iodata, peak) = peak_alloc(|| args.iodata(i));
    assert_eq!(
        iodata.as_ref().ok(),
        model.as_ref(),
        "iodata of {} bytes",
        gen::weight(v)
    );
    assert!(iodata.as_ref().map_or(true, |b| b.len() <= MAX_IODATA));
    // Flattening holds at most the output (doubled as it grows) and the
    // binary being appended past the cap before it is refused.
    let bound = 2 * (MAX_IODATA + largest_binary(v)) + 4096;
    if alloc_factor() > 0 && peak > bound {
        panic!("iodata: {peak} heap bytes live at once (bound {bound})");
    }
    let cstring = model.as_ref().filter(|b| !b.contains(&0));
    assert_eq!(
        args.cstring(i).ok().map(|c| c.into_bytes()).as_ref(),
        cstring,
        "cstring"
    );
    let cstrings = match v {
        Value::List(items) => items
            .iter()
            .map(|item| model_iodata(item).filter(|b| !b.contains(&0)))
            .collect::<Option<Vec<_>>>(),
        _ => None,
    };
    let got = args
        .cstrings(i)
        .ok()
        .map(|cs| cs.into_iter().map(|c| c.into_bytes()).collect::<Vec<_>>());
    assert_eq!(got, cstrings, "cstrings");
    check_capnames(v);
}

/// The capability decoders against a model: which sets and lists decode,
/// and that every name that decodes spells the capability it decodes to.
fn check_capnames(v: &Value) {
    const SETS: [&str; 5] = [
        "effective",
        "permitted",
        "inheritable",
        "ambient",
        "bounding",
    ];
    let set_ok = v.as_atom().is_some_and(|a| SETS.contains(&a));
    assert_eq!(capnames::set(v).is_ok(), set_ok, "set {v:?}");
    if !set_ok {
        assert_eq!(capnames::set(v).err(), Some(CallError::Badarg));
    }
    let model = match v {
        Value::List(items) if items.len() <= MAX_NAMES => items
            .iter()
            .map(|i| i.as_atom())
            .collect::<Option<Vec<&str>>>(),
        _ => None,
    };
    match (capnames::names(v), model) {
        (Err(e), None) => assert_eq!(e, CallError::Badarg),
        (Ok(Names::Known(caps)), Some(atoms)) => {
            assert_eq!(caps.len(), atoms.len());
            for (cap, atom) in caps.iter().zip(&atoms) {
                assert_eq!(capnames::name(*cap), *atom);
            }
        }
        (Ok(Names::Unknown(unknown)), Some(atoms)) => {
            let model: Vec<&str> = atoms
                .into_iter()
                .filter(|a| capnames::capability(a).is_none())
                .collect();
            assert!(!model.is_empty());
            assert_eq!(unknown, model);
            let reply = capnames::unknown_reply(&unknown);
            assert!(matches!(reply, Value::Tuple(_)));
        }
        (got, model) => panic!("names {v:?}: {got:?} against {model:?}"),
    }
    if let Some(atom) = v.as_atom() {
        if let Some(cap) = capnames::capability(atom) {
            assert_eq!(capnames::name(cap), atom);
        }
    }
}

/// The actions `seccomp_rules::action` accepts, from the README's list.
fn model_action(v: &Value) -> Option<Action> {
    let errno = |e: &Value| -> Option<u16> {
        let n = match e {
            Value::Atom(name) => model_constant(e, consts::errno::ERRNO)
                .ok()
                .filter(|_| !name.is_empty())?,
            other => model_i64(other)?,
        };
        u16::try_from(n).ok().filter(|&n| n <= 4095)
    };
    match v {
        Value::Atom(a) => Some(match a.as_str() {
            "allow" => Action::Allow,
            "kill_process" => Action::KillProcess,
            "kill_thread" => Action::KillThread,
            "trap" => Action::Trap,
            "log" => Action::Log,
            "user_notif" => Action::UserNotif,
            _ => return None,
        }),
        Value::Tuple(items) => match items.as_slice() {
            [Value::Atom(t), e] if t == "errno" => errno(e).map(Action::Errno),
            [Value::Atom(t), n] if t == "trace" => model_i64(n)
                .and_then(|n| u16::try_from(n).ok())
                .map(Action::Trace),
            _ => None,
        },
        _ => None,
    }
}

fn check_seccomp(default: &Value, rules: &Value, flags: &Value) {
    assert_eq!(
        seccomp_rules::action(default).ok(),
        model_action(default),
        "action {default:?}"
    );
    let (decoded, peak) = peak_alloc(|| seccomp_rules::decode(default, rules, flags));
    let weight = gen::weight(default) + gen::weight(rules) + gen::weight(flags);
    // A Rule (40 bytes) per rule tuple of at least 19 bytes, doubled as
    // the Vec grows; a Condition (32) per condition of at least 27.
    let bound = 16 * weight + 4096;
    if alloc_factor() > 0 && peak > bound {
        panic!("seccomp rules: {peak} heap bytes live at once (bound {bound})");
    }
    match decoded {
        Ok(Decoded::Spec(spec)) => {
            assert_eq!(Some(spec.default), model_action(default));
            assert!(spec.rules.len() <= seccomp_rules::MAX_RULES);
            assert!(matches!(rules, Value::List(items) if items.len() == spec.rules.len()));
            for rule in &spec.rules {
                assert!((0..=seccomp_rules::MAX_SYSCALL_NR).contains(&rule.nr));
                assert!(rule.conditions.len() <= seccomp_rules::MAX_CONDITIONS);
                assert!(rule.conditions.iter().all(|c| c.arg <= 5));
            }
        }
        Ok(Decoded::Unknown(names)) => {
            assert!(!names.is_empty());
            for (i, name) in names.iter().enumerate() {
                assert!(seccomp_rules::syscall_nr(name).is_none(), "{name} is known");
                assert!(!names[..i].contains(name), "{name} twice");
            }
        }
        Err(e) => assert_eq!(e, CallError::Badarg),
    }
}

/// The cgroup events parser on any bytes (a fake tree's file is anyone's):
/// no panic, only the first `READ_MAX` bytes count, a reading merged twice
/// changes nothing the second time, and a counter reported has grown.
fn check_cgroup_events(text: &[u8]) {
    let mut seen = Snapshot::default();
    for file in [
        File::CgroupEvents,
        File::MemoryEvents,
        File::PidsEvents,
        File::OomControl,
    ] {
        let found = cgroup_events::parse(file, text);
        let cut = &text[..text.len().min(cgroup_events::READ_MAX)];
        assert_eq!(found, cgroup_events::parse(file, cut));
        let before = seen;
        let changes = cgroup_events::merge(&mut seen, &found);
        for change in &changes {
            if let cgroup_events::Change::Count(name, n) = change {
                let old = match *name {
                    "oom" => before.oom,
                    "oom_kill" => before.oom_kill,
                    _ => before.pids_max,
                };
                assert!(*n > old.unwrap_or(0), "{name} {n} after {old:?}");
            }
        }
        assert!(cgroup_events::merge(&mut seen, &found).is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    check_cgroup_events(data);
    let Some(values) = gen::arguments(data) else {
        return;
    };
    let args = Args(&values);
    for i in 0..=values.len() {
        check(&args, i, values.get(i));
    }
    let empty = Value::List(Vec::new());
    for i in 0..values.len() {
        let at = |j: usize| values.get(i + j).unwrap_or(&empty);
        check_seccomp(at(0), at(1), at(2));
        check_seccomp(&Value::atom("allow"), at(0), &empty);
    }
});
