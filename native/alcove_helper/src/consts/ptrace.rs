//! ptrace(2) requests, PTRACE_SETOPTIONS options and PTRACE_EVENT_* stop
//! codes.

pub static PTRACE: &[(&str, i64)] = &[
    // Requests.
    ("ptrace_traceme", libc::PTRACE_TRACEME as i64),
    ("ptrace_peektext", libc::PTRACE_PEEKTEXT as i64),
    ("ptrace_peekdata", libc::PTRACE_PEEKDATA as i64),
    ("ptrace_peekuser", libc::PTRACE_PEEKUSER as i64),
    ("ptrace_peekusr", libc::PTRACE_PEEKUSER as i64),
    ("ptrace_poketext", libc::PTRACE_POKETEXT as i64),
    ("ptrace_pokedata", libc::PTRACE_POKEDATA as i64),
    ("ptrace_pokeuser", libc::PTRACE_POKEUSER as i64),
    ("ptrace_pokeusr", libc::PTRACE_POKEUSER as i64),
    ("ptrace_cont", libc::PTRACE_CONT as i64),
    ("ptrace_kill", libc::PTRACE_KILL as i64),
    ("ptrace_singlestep", libc::PTRACE_SINGLESTEP as i64),
    ("ptrace_attach", libc::PTRACE_ATTACH as i64),
    ("ptrace_detach", libc::PTRACE_DETACH as i64),
    ("ptrace_syscall", libc::PTRACE_SYSCALL as i64),
    ("ptrace_setoptions", libc::PTRACE_SETOPTIONS as i64),
    ("ptrace_geteventmsg", libc::PTRACE_GETEVENTMSG as i64),
    ("ptrace_getsiginfo", libc::PTRACE_GETSIGINFO as i64),
    ("ptrace_setsiginfo", libc::PTRACE_SETSIGINFO as i64),
    ("ptrace_getregset", libc::PTRACE_GETREGSET as i64),
    ("ptrace_setregset", libc::PTRACE_SETREGSET as i64),
    ("ptrace_seize", libc::PTRACE_SEIZE as i64),
    ("ptrace_interrupt", libc::PTRACE_INTERRUPT as i64),
    ("ptrace_listen", libc::PTRACE_LISTEN as i64),
    ("ptrace_peeksiginfo", libc::PTRACE_PEEKSIGINFO as i64),
    ("ptrace_getsigmask", libc::PTRACE_GETSIGMASK as i64),
    ("ptrace_setsigmask", libc::PTRACE_SETSIGMASK as i64),
    // Not exported by the libc crate for every target; linux/ptrace.h.
    ("ptrace_seccomp_get_filter", 0x420c),
    ("ptrace_seccomp_get_metadata", 0x420d),
    (
        "ptrace_get_syscall_info",
        libc::PTRACE_GET_SYSCALL_INFO as i64,
    ),
    (
        "ptrace_get_rseq_configuration",
        libc::PTRACE_GET_RSEQ_CONFIGURATION as i64,
    ),
    // x86 only (asm/ptrace-abi.h); other architectures use GETREGSET.
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_getregs", 12),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_setregs", 13),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_getfpregs", 14),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_setfpregs", 15),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_getfpxregs", 18),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_setfpxregs", 19),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_sysemu", 31),
    #[cfg(any(target_arch = "x86_64", target_arch = "x86"))]
    ("ptrace_sysemu_singlestep", 32),
    // PTRACE_SETOPTIONS options (PTRACE_SEIZE's data).
    ("ptrace_o_tracesysgood", libc::PTRACE_O_TRACESYSGOOD as i64),
    ("ptrace_o_tracefork", libc::PTRACE_O_TRACEFORK as i64),
    ("ptrace_o_tracevfork", libc::PTRACE_O_TRACEVFORK as i64),
    ("ptrace_o_traceclone", libc::PTRACE_O_TRACECLONE as i64),
    ("ptrace_o_traceexec", libc::PTRACE_O_TRACEEXEC as i64),
    (
        "ptrace_o_tracevforkdone",
        libc::PTRACE_O_TRACEVFORKDONE as i64,
    ),
    ("ptrace_o_traceexit", libc::PTRACE_O_TRACEEXIT as i64),
    ("ptrace_o_traceseccomp", libc::PTRACE_O_TRACESECCOMP as i64),
    ("ptrace_o_exitkill", libc::PTRACE_O_EXITKILL as i64),
    (
        "ptrace_o_suspend_seccomp",
        libc::PTRACE_O_SUSPEND_SECCOMP as i64,
    ),
    ("ptrace_o_mask", libc::PTRACE_O_MASK as i64),
    // Stop codes, in the status waitpid(2) reports (status >> 16).
    ("ptrace_event_fork", libc::PTRACE_EVENT_FORK as i64),
    ("ptrace_event_vfork", libc::PTRACE_EVENT_VFORK as i64),
    ("ptrace_event_clone", libc::PTRACE_EVENT_CLONE as i64),
    ("ptrace_event_exec", libc::PTRACE_EVENT_EXEC as i64),
    (
        "ptrace_event_vfork_done",
        libc::PTRACE_EVENT_VFORK_DONE as i64,
    ),
    ("ptrace_event_exit", libc::PTRACE_EVENT_EXIT as i64),
    ("ptrace_event_seccomp", libc::PTRACE_EVENT_SECCOMP as i64),
    ("ptrace_event_stop", libc::PTRACE_EVENT_STOP as i64),
];
