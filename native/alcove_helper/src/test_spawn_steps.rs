use super::*;

fn atom(name: &str) -> Value {
    Value::atom(name)
}

fn bin(bytes: &[u8]) -> Value {
    Value::Bin(bytes.to_vec())
}

fn tuple(items: Vec<Value>) -> Value {
    Value::Tuple(items)
}

fn argv(items: &[&[u8]]) -> Value {
    Value::List(items.iter().map(|b| bin(b)).collect())
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn every_step_decodes_in_order() {
    let steps = Value::List(vec![
        tuple(vec![atom("chdir"), bin(b"/tmp")]),
        tuple(vec![atom("env"), Value::List(vec![bin(b"A=1")])]),
        tuple(vec![
            atom("setrlimit"),
            atom("rlimit_nofile"),
            tuple(vec![atom("alcove_rlimit"), Value::Int(64), Value::Int(128)]),
        ]),
        tuple(vec![
            atom("setgroups"),
            Value::List(vec![Value::Int(1), Value::Int(2)]),
        ]),
        tuple(vec![atom("setgid"), Value::Int(65534)]),
        tuple(vec![atom("setuid"), Value::Int(65534)]),
        tuple(vec![atom("umask"), Value::Int(0o27)]),
        atom("setsid"),
        tuple(vec![atom("setpgid"), Value::Int(0)]),
        tuple(vec![atom("chroot"), bin(b"/")]),
        atom("no_new_privs"),
        tuple(vec![atom("clone"), Value::List(vec![atom("clone_newuts")])]),
        tuple(vec![atom("cgroup"), bin(b"/sys/fs/cgroup/x")]),
    ]);
    let plan = decode(&argv(&[b"true"]), &steps, Some(b"/bin")).unwrap();
    let names: Vec<_> = plan.steps.iter().map(Step::name).collect();
    assert_eq!(
        names,
        [
            "chdir",
            "setrlimit",
            "setgroups",
            "setgid",
            "setuid",
            "umask",
            "setsid",
            "setpgid",
            "chroot",
            "no_new_privs"
        ]
    );
    assert_eq!(
        plan.steps[1],
        Step::Setrlimit(libc::RLIMIT_NOFILE as libc::c_int, 64, 128)
    );
    assert_eq!(plan.steps[2], Step::Setgroups(vec![1, 2]));
    assert_eq!(plan.env, Some(vec![cs("A=1")]));
    assert_eq!(plan.clone_flags, Some(libc::CLONE_NEWUTS as i64));
    assert_eq!(plan.cgroup, Some(cs("/sys/fs/cgroup/x")));
    assert!(plan.sets_group());
}

#[test]
fn bad_shapes_are_badarg() {
    let bad_steps = [
        atom("chdir"),
        tuple(vec![atom("chdir")]),
        tuple(vec![atom("chdir"), Value::Int(1)]),
        tuple(vec![atom("setuid"), atom("root")]),
        tuple(vec![atom("setsid"), Value::Int(1)]),
        tuple(vec![atom("umask"), Value::Int(0o10000)]),
        tuple(vec![
            atom("setrlimit"),
            atom("rlimit_nofile"),
            Value::Int(1),
        ]),
        tuple(vec![atom("unknown_step"), Value::Int(1)]),
        Value::Int(3),
        tuple(vec![]),
    ];
    for step in bad_steps {
        let steps = Value::List(vec![step.clone()]);
        assert_eq!(
            decode(&argv(&[b"true"]), &steps, None).err(),
            Some(DecodeError::Badarg),
            "{step:?}"
        );
    }
    let none = Value::List(vec![]);
    assert_eq!(
        decode(&Value::List(vec![]), &none, None).err(),
        Some(DecodeError::Badarg)
    );
    assert_eq!(
        decode(&argv(&[b"a\0b"]), &none, None).err(),
        Some(DecodeError::Badarg)
    );
    assert_eq!(
        decode(&argv(&[b"true"]), &atom("x"), None).err(),
        Some(DecodeError::Badarg)
    );
}

#[test]
fn unknown_constants_name_their_step() {
    let steps = Value::List(vec![tuple(vec![
        atom("setrlimit"),
        atom("rlimit_bogus"),
        tuple(vec![atom("alcove_rlimit"), Value::Int(1), Value::Int(1)]),
    ])]);
    assert_eq!(
        decode(&argv(&[b"true"]), &steps, None).err(),
        Some(DecodeError::Step("setrlimit", libc::ENOTSUP))
    );
    let steps = Value::List(vec![tuple(vec![
        atom("clone"),
        Value::Int(libc::CLONE_VM as i64),
    ])]);
    assert_eq!(
        decode(&argv(&[b"true"]), &steps, None).err(),
        Some(DecodeError::Step("clone", libc::EINVAL))
    );
}

#[test]
fn path_search_candidates() {
    assert_eq!(
        candidates(&cs("ls"), Some(b"/usr/bin::/bin")),
        [cs("/usr/bin/ls"), cs("ls"), cs("/bin/ls")]
    );
    assert_eq!(candidates(&cs("./x"), Some(b"/bin")), [cs("./x")]);
    assert_eq!(candidates(&cs(""), Some(b"/bin")), [cs("")]);
    assert_eq!(
        candidates(&cs("sh"), None),
        [cs("/bin/sh"), cs("/usr/bin/sh")]
    );
}

#[test]
fn pointer_arrays_end_with_null() {
    let strings = [cs("a"), cs("b")];
    let ptrs = pointers(&strings);
    assert_eq!(ptrs.len(), 3);
    assert!(ptrs[2].is_null());
    assert_eq!(ptrs[0], strings[0].as_ptr());
}

#[test]
fn reports_decode() {
    let mut bytes = [0u8; 8];
    bytes[..4].copy_from_slice(&3i32.to_ne_bytes());
    bytes[4..].copy_from_slice(&libc::ENOENT.to_ne_bytes());
    assert_eq!(
        crate::spawn_child::decode_report(&bytes),
        Some((3, libc::ENOENT))
    );
    assert_eq!(crate::spawn_child::decode_report(&bytes[..5]), None);
}
