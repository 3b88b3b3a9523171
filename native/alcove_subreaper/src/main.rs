//! `alcove_subreaper CMD [ARG...]`: run CMD as a child subreaper.
//!
//! Orphans left by CMD's descendants are reparented to this process
//! instead of PID 1, and reaped as they exit, as a working init would. On
//! machines whose PID 1 never reaps, a killed orphan otherwise stays a
//! zombie that `kill(Pid, 0)` still finds, which breaks tests asserting that
//! a process is gone. Exits with CMD's status (128 + signal if killed).
//! SIGINT, SIGTERM and SIGHUP are passed on to CMD.

use std::process::Command;
use std::sync::atomic::{AtomicI32, Ordering};

static COMMAND_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(signum: libc::c_int) {
    let pid = COMMAND_PID.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe; pid is our own child.
        unsafe { libc::kill(pid, signum) };
    }
}

fn main() {
    let mut args = std::env::args_os().skip(1);
    let Some(program) = args.next() else {
        eprintln!("usage: alcove_subreaper CMD [ARG...]");
        std::process::exit(2);
    };
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } != 0 {
        eprintln!(
            "alcove_subreaper: prctl: {}",
            std::io::Error::last_os_error()
        );
        std::process::exit(2);
    }
    let child = match Command::new(&program).args(args).spawn() {
        Ok(child) => child,
        Err(error) => {
            eprintln!("alcove_subreaper: {}: {error}", program.to_string_lossy());
            std::process::exit(127);
        }
    };
    let command_pid = child.id() as libc::pid_t;
    COMMAND_PID.store(command_pid, Ordering::Relaxed);
    for signum in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: the handler only reads an atomic and calls kill.
        unsafe { libc::signal(signum, forward as *const () as libc::sighandler_t) };
    }
    let mut exit_code = None;
    loop {
        let mut status = 0;
        // SAFETY: status is a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid < 0 {
            match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EINTR) => continue,
                _ => break, // ECHILD: nothing left to reap
            }
        }
        if pid == command_pid {
            exit_code = Some(if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            });
            // Orphans still running are left to the next reaper up.
            break;
        }
    }
    std::process::exit(exit_code.unwrap_or(1));
}
