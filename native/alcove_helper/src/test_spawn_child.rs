//! The child side run in a real forked process (this test process is
//! multi-threaded: the child may only make async-signal-safe calls, which
//! is what `run` promises). Forks share a lock and wait for their own
//! child only.

use super::*;
use crate::spawn_steps::{decode, pointers};
use alcove_proto::Value;
use std::sync::Mutex;

static FORK_LOCK: Mutex<()> = Mutex::new(());

/// What the parent saw: the report (None: end of file, the exec
/// happened), the exit status and the child's stdout.
struct Outcome {
    report: Option<(i32, i32)>,
    status: i32,
    stdout: Vec<u8>,
}

fn spawn(argv: &[&str], steps: Vec<Value>) -> Outcome {
    let _guard = FORK_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let argv = Value::List(
        argv.iter()
            .map(|a| Value::Bin(a.as_bytes().to_vec()))
            .collect(),
    );
    let plan = decode(&argv, &Value::List(steps), Some(b"/usr/bin:/bin")).unwrap();
    let candidates = pointers(&plan.candidates);
    let argv = pointers(&plan.argv);
    let envp = plan.env.as_deref().map(pointers);
    let mut sh_argv = vec![c"/bin/sh".as_ptr(), std::ptr::null()];
    sh_argv.extend(argv.iter().skip(1));
    let (report_read, report_write) = crate::fdio::pipe().unwrap();
    let (out_read, out_write) = crate::fdio::pipe().unwrap();
    let setup = ChildSetup {
        // SAFETY: getpid(2) has no memory effects.
        parent: unsafe { libc::getpid() },
        report: report_write,
        stdio: [-1, out_write, -1],
        pty: false,
        cgroup_procs: -1,
        own_group: true,
        // The test process's dispositions are not a helper's table: all.
        signals_kept: u128::MAX,
        no_new_privs: false,
        // The thread that forks is the parent-death signal's parent.
        die_with_parent: false,
        steps: &plan.steps,
        candidates: &candidates,
        argv: &argv,
        sh_argv,
        envp: envp.as_deref(),
    };
    // SAFETY: the child runs only `run`, async-signal-safe by design.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        run(setup);
    }
    crate::fdio::close(report_write);
    crate::fdio::close(out_write);
    let mut stdout = Vec::new();
    let mut buf = [0u8; 4096];
    while let crate::fdio::ReadOutcome::Data(n) = crate::fdio::read(out_read, &mut buf) {
        stdout.extend_from_slice(&buf[..n]);
    }
    let mut report = [0u8; 8];
    let report = match crate::fdio::read(report_read, &mut report) {
        crate::fdio::ReadOutcome::Data(n) => decode_report(&report[..n]),
        _ => None,
    };
    crate::fdio::close(out_read);
    crate::fdio::close(report_read);
    let mut status = 0;
    // SAFETY: waits for our own child, status is a valid int.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    Outcome {
        report,
        status,
        stdout,
    }
}

fn tuple(items: Vec<Value>) -> Value {
    Value::Tuple(items)
}

#[test]
fn exec_with_steps() {
    let steps = vec![
        tuple(vec![Value::atom("chdir"), Value::Bin(b"/".to_vec())]),
        tuple(vec![
            Value::atom("env"),
            Value::List(vec![Value::Bin(b"X=from-env".to_vec())]),
        ]),
    ];
    let outcome = spawn(&["sh", "-c", "echo $X; pwd"], steps);
    assert_eq!(outcome.report, None);
    assert!(libc::WIFEXITED(outcome.status) && libc::WEXITSTATUS(outcome.status) == 0);
    assert_eq!(outcome.stdout, b"from-env\n/\n");
}

#[test]
fn failing_step_reports_its_index() {
    let steps = vec![
        tuple(vec![Value::atom("umask"), Value::Int(0o22)]),
        tuple(vec![
            Value::atom("chdir"),
            Value::Bin(b"/nonexistent".to_vec()),
        ]),
    ];
    let outcome = spawn(&["true"], steps);
    assert_eq!(outcome.report, Some((1, libc::ENOENT)));
    assert_eq!(libc::WEXITSTATUS(outcome.status), 127);
    assert!(outcome.stdout.is_empty());
}

#[test]
fn failed_exec_reports_the_errno() {
    let outcome = spawn(&["no-such-program-anywhere"], vec![]);
    assert_eq!(outcome.report, Some((EXEC_INDEX, libc::ENOENT)));
    let outcome = spawn(&["/nonexistent/program"], vec![]);
    assert_eq!(outcome.report, Some((EXEC_INDEX, libc::ENOENT)));
}
