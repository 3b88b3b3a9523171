//! seccomp(2) operations, flags and filter return actions, and the
//! AUDIT_ARCH_* values a filter compares `seccomp_data.arch` with.

/// AUDIT_ARCH_* from linux/audit.h: the ELF machine number, plus bits
/// for 64-bit and little-endian ABIs.
const fn audit_arch(machine: i64, bits64: bool, little_endian: bool) -> i64 {
    let mut arch = machine;
    if bits64 {
        arch |= 0x8000_0000;
    }
    if little_endian {
        arch |= 0x4000_0000;
    }
    arch
}

pub static SECCOMP: &[(&str, i64)] = &[
    // Operations.
    (
        "seccomp_set_mode_strict",
        libc::SECCOMP_SET_MODE_STRICT as i64,
    ),
    (
        "seccomp_set_mode_filter",
        libc::SECCOMP_SET_MODE_FILTER as i64,
    ),
    (
        "seccomp_get_action_avail",
        libc::SECCOMP_GET_ACTION_AVAIL as i64,
    ),
    (
        "seccomp_get_notif_sizes",
        libc::SECCOMP_GET_NOTIF_SIZES as i64,
    ),
    // Flags of SECCOMP_SET_MODE_FILTER.
    (
        "seccomp_filter_flag_tsync",
        libc::SECCOMP_FILTER_FLAG_TSYNC as i64,
    ),
    (
        "seccomp_filter_flag_log",
        libc::SECCOMP_FILTER_FLAG_LOG as i64,
    ),
    (
        "seccomp_filter_flag_spec_allow",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW as i64,
    ),
    (
        "seccomp_filter_flag_new_listener",
        libc::SECCOMP_FILTER_FLAG_NEW_LISTENER as i64,
    ),
    (
        "seccomp_filter_flag_tsync_esrch",
        libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH as i64,
    ),
    (
        "seccomp_filter_flag_wait_killable_recv",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV as i64,
    ),
    // Filter return actions and masks.
    (
        "seccomp_ret_kill_process",
        libc::SECCOMP_RET_KILL_PROCESS as i64,
    ),
    (
        "seccomp_ret_kill_thread",
        libc::SECCOMP_RET_KILL_THREAD as i64,
    ),
    ("seccomp_ret_kill", libc::SECCOMP_RET_KILL as i64),
    ("seccomp_ret_trap", libc::SECCOMP_RET_TRAP as i64),
    ("seccomp_ret_errno", libc::SECCOMP_RET_ERRNO as i64),
    (
        "seccomp_ret_user_notif",
        libc::SECCOMP_RET_USER_NOTIF as i64,
    ),
    ("seccomp_ret_trace", libc::SECCOMP_RET_TRACE as i64),
    ("seccomp_ret_log", libc::SECCOMP_RET_LOG as i64),
    ("seccomp_ret_allow", libc::SECCOMP_RET_ALLOW as i64),
    (
        "seccomp_ret_action_full",
        libc::SECCOMP_RET_ACTION_FULL as i64,
    ),
    ("seccomp_ret_action", libc::SECCOMP_RET_ACTION as i64),
    ("seccomp_ret_data", libc::SECCOMP_RET_DATA as i64),
    // Modes, as prctl(PR_GET_SECCOMP) reports them.
    ("seccomp_mode_disabled", libc::SECCOMP_MODE_DISABLED as i64),
    ("seccomp_mode_strict", libc::SECCOMP_MODE_STRICT as i64),
    ("seccomp_mode_filter", libc::SECCOMP_MODE_FILTER as i64),
    // What alcove:audit_arch/0 names.
    ("audit_arch_x86_64", audit_arch(62, true, true)),
    ("audit_arch_i386", audit_arch(3, false, true)),
    ("audit_arch_aarch64", audit_arch(183, true, true)),
    ("audit_arch_arm", audit_arch(40, false, true)),
    ("audit_arch_riscv64", audit_arch(243, true, true)),
];
