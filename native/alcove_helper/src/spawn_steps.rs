//! `fork_exec`'s arguments decoded into a plan: every string a C string,
//! every pointer array built, before the fork. The child (spawn_child.rs)
//! only walks the plan and makes system calls.
//!
//! Steps are decoded with the accessors the calls of the same name use
//! (`Args` over the step tuple's fields), so a step takes exactly what its
//! call takes.

use crate::args::{Args, CallError};
use crate::consts::rlimit::RLIMIT;
use alcove_proto::Value;
use std::ffi::{CStr, CString};

/// Most steps one call takes.
pub const MAX_STEPS: usize = 256;

/// A step the child applies between fork and exec.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    Chdir(CString),
    Chroot(CString),
    Setrlimit(libc::c_int, libc::rlim_t, libc::rlim_t),
    Setgroups(Vec<libc::gid_t>),
    Setgid(libc::gid_t),
    Setuid(libc::uid_t),
    Umask(libc::mode_t),
    Setsid,
    Setpgid(libc::pid_t),
    NoNewPrivs,
}

impl Step {
    /// The step's name, as the caller wrote it (and as its error names it).
    pub fn name(&self) -> &'static str {
        match self {
            Step::Chdir(_) => "chdir",
            Step::Chroot(_) => "chroot",
            Step::Setrlimit(..) => "setrlimit",
            Step::Setgroups(_) => "setgroups",
            Step::Setgid(_) => "setgid",
            Step::Setuid(_) => "setuid",
            Step::Umask(_) => "umask",
            Step::Setsid => "setsid",
            Step::Setpgid(_) => "setpgid",
            Step::NoNewPrivs => "no_new_privs",
        }
    }

    /// Whether it changes credentials (the kernel then forgets the
    /// parent-death signal, which is armed again).
    pub fn changes_ids(&self) -> bool {
        matches!(self, Step::Setgid(_) | Step::Setuid(_) | Step::Setgroups(_))
    }
}

/// Everything the child needs, decoded.
#[derive(Debug)]
pub struct Plan {
    /// Where to look for the program, in order (execvp's PATH search done
    /// in advance; one entry for a file name with a slash).
    pub candidates: Vec<CString>,
    pub argv: Vec<CString>,
    /// The program's environment; None: the helper's at exec time.
    pub env: Option<Vec<CString>>,
    pub steps: Vec<Step>,
    /// `{clone, Flags}`: clone instead of fork.
    pub clone_flags: Option<i64>,
    /// `{cgroup, Dir}`: clone3 into this cgroup v2 directory.
    pub cgroup: Option<CString>,
}

impl Plan {
    /// Whether the program is given a process group by a step (otherwise
    /// it leads one of its own, as an exec'd program does).
    pub fn sets_group(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Setsid | Step::Setpgid(_)))
    }
}

/// Why the arguments were refused: badarg, or a step that names a value
/// the helper does not know (`{error, {Step, Errno}}`).
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    Badarg,
    Step(&'static str, i32),
}

/// Decode `Argv` and `Steps`; `path` is the PATH to search (the helper's).
pub fn decode(argv: &Value, steps: &Value, path: Option<&[u8]>) -> Result<Plan, DecodeError> {
    let argv = Args(std::slice::from_ref(argv))
        .cstrings(0)
        .map_err(|_| DecodeError::Badarg)?;
    let file = argv.first().ok_or(DecodeError::Badarg)?;
    let candidates = candidates(file, path);
    let Value::List(items) = steps else {
        return Err(DecodeError::Badarg);
    };
    if items.len() > MAX_STEPS {
        return Err(DecodeError::Badarg);
    }
    let mut plan = Plan {
        candidates,
        argv,
        env: None,
        steps: Vec::with_capacity(items.len()),
        clone_flags: None,
        cgroup: None,
    };
    for item in items {
        decode_step(&mut plan, item)?;
    }
    Ok(plan)
}

fn decode_step(plan: &mut Plan, item: &Value) -> Result<(), DecodeError> {
    let (name, fields): (&str, &[Value]) = match item {
        Value::Atom(name) => (name.as_str(), &[]),
        Value::Tuple(fields) => match fields.split_first() {
            Some((Value::Atom(name), rest)) => (name.as_str(), rest),
            _ => return Err(DecodeError::Badarg),
        },
        _ => return Err(DecodeError::Badarg),
    };
    let args = Args(fields);
    let arity = |n: usize| {
        if fields.len() == n {
            Ok(())
        } else {
            Err(CallError::Badarg)
        }
    };
    let step = |result: Result<Step, CallError>| result.map(Some);
    let decoded: Result<Option<Step>, CallError> = match name {
        "chdir" => step(arity(1).and_then(|_| Ok(Step::Chdir(args.cstring(0)?)))),
        "chroot" => step(arity(1).and_then(|_| Ok(Step::Chroot(args.cstring(0)?)))),
        "setrlimit" => step(arity(2).and_then(|_| {
            let resource = crate::sys::limits::c_int_constant(&args, 0, RLIMIT)?;
            let limit = crate::sys::limits::rlimit_record(args.get(1)?)?;
            Ok(Step::Setrlimit(resource, limit.rlim_cur, limit.rlim_max))
        })),
        "setgroups" => {
            step(arity(1).and_then(|_| Ok(Step::Setgroups(crate::sys::ids::gid_list(&args, 0)?))))
        }
        "setgid" => step(arity(1).and_then(|_| Ok(Step::Setgid(args.u32(0)?)))),
        "setuid" => step(arity(1).and_then(|_| Ok(Step::Setuid(args.u32(0)?)))),
        "umask" => step(arity(1).and_then(|_| {
            let mask = args.u32(0)?;
            (mask <= 0o7777)
                .then_some(Step::Umask(mask as libc::mode_t))
                .ok_or(CallError::Badarg)
        })),
        "setsid" => step(arity(0).map(|_| Step::Setsid)),
        "setpgid" => step(arity(1).and_then(|_| Ok(Step::Setpgid(args.i32(0)?)))),
        "no_new_privs" => step(arity(0).map(|_| Step::NoNewPrivs)),
        "env" => arity(1).and_then(|_| {
            plan.env = Some(args.cstrings(0)?);
            Ok(None)
        }),
        "clone" => arity(1).and_then(|_| {
            plan.clone_flags = Some(crate::sys::process::clone_flags(&args, 0)?);
            Ok(None)
        }),
        "cgroup" => arity(1).and_then(|_| {
            plan.cgroup = Some(args.cstring(0)?);
            Ok(None)
        }),
        _ => Err(CallError::Badarg),
    };
    match decoded {
        Ok(Some(step)) => {
            plan.steps.push(step);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(CallError::Errno(errno)) => Err(DecodeError::Step(static_name(name), errno)),
        Err(_) => Err(DecodeError::Badarg),
    }
}

/// The step names as static strings (the error term outlives the input).
fn static_name(name: &str) -> &'static str {
    const NAMES: &[&str] = &["setrlimit", "clone", "cgroup"];
    NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .unwrap_or("step")
}

/// execvp(3)'s search, done before the fork: a name with a slash is
/// tried as it is; otherwise each PATH entry (an empty one is the current
/// directory) joined with the name. Without PATH, glibc's default. An
/// empty name is tried as it is (ENOENT, as execvp answers).
pub fn candidates(file: &CStr, path: Option<&[u8]>) -> Vec<CString> {
    let name = file.to_bytes();
    if name.is_empty() || name.contains(&b'/') {
        return vec![file.to_owned()];
    }
    let path = path.unwrap_or(b"/bin:/usr/bin");
    path.split(|&b| b == b':')
        .filter_map(|dir| {
            let mut full = Vec::with_capacity(dir.len() + name.len() + 1);
            if !dir.is_empty() {
                full.extend_from_slice(dir);
                full.push(b'/');
            }
            full.extend_from_slice(name);
            CString::new(full).ok()
        })
        .collect()
}

/// A NULL-terminated array of pointers into `strings`, for execve(2).
pub fn pointers(strings: &[CString]) -> Vec<*const libc::c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

#[cfg(test)]
#[path = "test_spawn_steps.rs"]
mod tests;
