%%% Common Test suite: the *_constant lookups, errno_id, iolist_to_bin and
%%% alcove:define/3. Values are checked against a C program built with the
%%% system's headers when a C compiler is there, and against a few values
%%% fixed by the Linux ABI always.
-module(alcove_constants_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
%% Each case Name/1 has a Name/0 with its doc line.
-export([
    known_values/0, known_values/1,
    libc_values/0, libc_values/1,
    syscalls_from_header/0, syscalls_from_header/1,
    unknown_names/0, unknown_names/1,
    in_a_child/0, in_a_child/1,
    errno_id/0, errno_id/1,
    iolist_to_bin/0, iolist_to_bin/1,
    define/0, define/1
]).

suite() ->
    [{timetrap, {seconds, 120}}].

all() ->
    [
        known_values, libc_values, syscalls_from_header, unknown_names, in_a_child,
        errno_id, iolist_to_bin, define
    ].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

drv(Config) -> ?config(drv, Config).

lookups() ->
    [
        clone_constant, fcntl_constant, file_constant, ioctl_constant, mount_constant,
        prctl_constant, ptrace_constant, rlimit_constant, seccomp_constant,
        signal_constant, syscall_constant
    ].

%% {Lookup, C headers, names}: names the C library and kernel headers
%% of this system define under the upper-case name. Clone flags are read
%% as the int clone(2) and unshare(2) take (CLONE_IO is negative).
families() ->
    [
        {clone_constant, ["sched.h"], [
            clone_files, clone_fs, clone_io, clone_newcgroup, clone_newipc, clone_newnet,
            clone_newns, clone_newpid, clone_newuser, clone_newuts, clone_parent,
            clone_ptrace, clone_sighand, clone_sysvsem, clone_thread, clone_untraced,
            clone_vfork, clone_vm
        ]},
        {signal_constant, ["signal.h"], [
            sighup, sigint, sigquit, sigill, sigtrap, sigabrt, sigbus, sigfpe, sigkill,
            sigusr1, sigsegv, sigusr2, sigpipe, sigalrm, sigterm, sigstkflt, sigchld,
            sigcont, sigstop, sigtstp, sigttin, sigttou, sigurg, sigxcpu, sigxfsz,
            sigvtalrm, sigprof, sigwinch, sigio, sigpwr, sigsys
        ]},
        {file_constant, ["fcntl.h"], [
            o_rdonly, o_wronly, o_rdwr, o_accmode, o_creat, o_excl, o_noctty, o_trunc,
            o_append, o_nonblock, o_ndelay, o_dsync, o_sync, o_rsync, o_directory,
            o_nofollow, o_cloexec, o_path, o_tmpfile, o_noatime, o_async, o_direct
        ]},
        {fcntl_constant, ["fcntl.h"], [
            f_dupfd, f_getfd, f_setfd, f_getfl, f_setfl, f_getlk, f_setlk, f_setlkw,
            f_setown, f_getown, f_setsig, f_getsig, f_ofd_getlk, f_ofd_setlk,
            f_ofd_setlkw, f_setlease, f_getlease, f_notify, f_dupfd_cloexec,
            f_setpipe_sz, f_getpipe_sz, f_add_seals, f_get_seals, fd_cloexec, f_rdlck,
            f_wrlck, f_unlck, f_seal_seal, f_seal_shrink, f_seal_grow, f_seal_write
        ]},
        {mount_constant, ["sys/mount.h"], [
            ms_rdonly, ms_nosuid, ms_nodev, ms_noexec, ms_synchronous, ms_remount,
            ms_mandlock, ms_dirsync, ms_noatime, ms_nodiratime, ms_bind, ms_move, ms_rec,
            ms_silent, ms_posixacl, ms_unbindable, ms_private, ms_slave, ms_shared,
            ms_relatime, ms_kernmount, ms_i_version, ms_strictatime, ms_lazytime,
            mnt_force, mnt_detach, mnt_expire, umount_nofollow
        ]},
        {rlimit_constant, ["sys/resource.h"], [
            rlimit_as, rlimit_core, rlimit_cpu, rlimit_data, rlimit_fsize, rlimit_locks,
            rlimit_memlock, rlimit_msgqueue, rlimit_nice, rlimit_nofile, rlimit_nproc,
            rlimit_rss, rlimit_rtprio, rlimit_rttime, rlimit_sigpending, rlimit_stack
        ]},
        {prctl_constant, ["sys/prctl.h", "linux/seccomp.h"], [
            pr_set_pdeathsig, pr_get_pdeathsig, pr_get_dumpable, pr_set_dumpable,
            pr_get_unalign, pr_set_unalign, pr_get_keepcaps, pr_set_keepcaps,
            pr_get_fpemu, pr_set_fpemu, pr_get_fpexc, pr_set_fpexc, pr_get_timing,
            pr_set_timing, pr_set_name, pr_get_name, pr_get_endian, pr_set_endian,
            pr_get_seccomp, pr_set_seccomp, pr_capbset_read, pr_capbset_drop, pr_get_tsc,
            pr_set_tsc, pr_get_securebits, pr_set_securebits, pr_set_timerslack,
            pr_get_timerslack, pr_task_perf_events_disable, pr_task_perf_events_enable,
            pr_mce_kill, pr_mce_kill_get, pr_set_mm, pr_set_ptracer,
            pr_set_child_subreaper, pr_get_child_subreaper, pr_set_no_new_privs,
            pr_get_no_new_privs, pr_get_tid_address, pr_set_thp_disable,
            pr_get_thp_disable, pr_mpx_enable_management, pr_mpx_disable_management,
            pr_set_fp_mode, pr_get_fp_mode, pr_cap_ambient, pr_sve_set_vl, pr_sve_get_vl,
            pr_get_speculation_ctrl, pr_set_speculation_ctrl, pr_pac_reset_keys,
            pr_set_tagged_addr_ctrl, pr_get_tagged_addr_ctrl, pr_set_io_flusher,
            pr_get_io_flusher, pr_set_syscall_user_dispatch, pr_pac_set_enabled_keys,
            pr_pac_get_enabled_keys, pr_sched_core, pr_sme_set_vl, pr_sme_get_vl,
            pr_set_vma, pr_unalign_noprint, pr_unalign_sigbus, pr_fpemu_noprint,
            pr_fpemu_sigfpe, pr_fp_exc_sw_enable, pr_fp_exc_div, pr_fp_exc_ovf,
            pr_fp_exc_und, pr_fp_exc_res, pr_fp_exc_inv, pr_fp_exc_disabled,
            pr_fp_exc_nonrecov, pr_fp_exc_async, pr_fp_exc_precise,
            pr_timing_statistical, pr_timing_timestamp, pr_endian_big, pr_endian_little,
            pr_endian_ppc_little, pr_tsc_enable, pr_tsc_sigsegv, pr_mce_kill_clear,
            pr_mce_kill_set, pr_mce_kill_late, pr_mce_kill_early, pr_mce_kill_default,
            pr_set_mm_start_code, pr_set_mm_end_code, pr_set_mm_start_data,
            pr_set_mm_end_data, pr_set_mm_start_stack, pr_set_mm_start_brk,
            pr_set_mm_brk, pr_set_mm_arg_start, pr_set_mm_arg_end, pr_set_mm_env_start,
            pr_set_mm_env_end, pr_set_mm_auxv, pr_set_mm_exe_file, pr_set_mm_map,
            pr_set_mm_map_size, pr_set_ptracer_any, pr_fp_mode_fr, pr_fp_mode_fre,
            pr_cap_ambient_is_set, pr_cap_ambient_raise, pr_cap_ambient_lower,
            pr_cap_ambient_clear_all, pr_spec_store_bypass, pr_spec_indirect_branch,
            pr_spec_l1d_flush, pr_spec_not_affected, pr_spec_prctl, pr_spec_enable,
            pr_spec_disable, pr_spec_force_disable, pr_spec_disable_noexec,
            pr_tagged_addr_enable, pr_sys_dispatch_off, pr_sys_dispatch_on,
            pr_sched_core_get, pr_sched_core_create, pr_sched_core_share_to,
            pr_sched_core_share_from, pr_set_vma_anon_name, seccomp_mode_disabled,
            seccomp_mode_strict, seccomp_mode_filter
        ]},
        {ptrace_constant, ["sys/ptrace.h"], [
            ptrace_traceme, ptrace_peektext, ptrace_peekdata, ptrace_peekuser,
            ptrace_poketext, ptrace_pokedata, ptrace_pokeuser, ptrace_cont, ptrace_kill,
            ptrace_singlestep, ptrace_attach, ptrace_detach, ptrace_syscall,
            ptrace_setoptions, ptrace_geteventmsg, ptrace_getsiginfo, ptrace_setsiginfo,
            ptrace_getregset, ptrace_setregset, ptrace_seize, ptrace_interrupt,
            ptrace_listen, ptrace_peeksiginfo, ptrace_getsigmask, ptrace_setsigmask,
            ptrace_seccomp_get_filter, ptrace_seccomp_get_metadata,
            ptrace_get_syscall_info, ptrace_o_tracesysgood, ptrace_o_tracefork,
            ptrace_o_tracevfork, ptrace_o_traceclone, ptrace_o_traceexec,
            ptrace_o_tracevforkdone, ptrace_o_traceexit, ptrace_o_traceseccomp,
            ptrace_o_exitkill, ptrace_o_suspend_seccomp, ptrace_o_mask,
            ptrace_event_fork, ptrace_event_vfork, ptrace_event_clone, ptrace_event_exec,
            ptrace_event_vfork_done, ptrace_event_exit, ptrace_event_seccomp,
            ptrace_event_stop
        ] ++ x86_ptrace()},
        {seccomp_constant, ["linux/seccomp.h", "linux/audit.h"], [
            seccomp_set_mode_strict, seccomp_set_mode_filter, seccomp_get_action_avail,
            seccomp_get_notif_sizes, seccomp_filter_flag_tsync, seccomp_filter_flag_log,
            seccomp_filter_flag_spec_allow, seccomp_filter_flag_new_listener,
            seccomp_filter_flag_tsync_esrch, seccomp_filter_flag_wait_killable_recv,
            seccomp_ret_kill_process, seccomp_ret_kill_thread, seccomp_ret_kill,
            seccomp_ret_trap, seccomp_ret_errno, seccomp_ret_user_notif,
            seccomp_ret_trace, seccomp_ret_log, seccomp_ret_allow,
            seccomp_ret_action_full, seccomp_ret_action, seccomp_ret_data,
            seccomp_mode_disabled, seccomp_mode_strict, seccomp_mode_filter,
            audit_arch_x86_64, audit_arch_i386, audit_arch_aarch64, audit_arch_arm,
            audit_arch_riscv64
        ]},
        {ioctl_constant,
            ["sys/ioctl.h", "linux/if.h", "linux/if_tun.h", "linux/sockios.h",
                "linux/nsfs.h", "linux/fs.h"], [
            tcgets, tcsets, tcsetsw, tcsetsf, tcsbrk, tcxonc, tcflsh, tiocexcl, tiocnxcl,
            tiocgexcl, tiocsctty, tiocnotty, tiocgpgrp, tiocspgrp, tiocgsid, tiocoutq,
            tiocinq, tiocsti, tiocgwinsz, tiocswinsz, tiocmget, tiocmbis, tiocmbic,
            tiocmset, tiocgsoftcar, tiocssoftcar, tioccons, tiocpkt, tiocgpkt, tiocgetd,
            tiocsetd, tiocsbrk, tioccbrk, tiocgptn, tiocsptlck, tiocgptlck, tiocgptpeer,
            tiocgdev, tiocsig, tiocvhangup, fionread, fionbio, fioclex, fionclex,
            fioasync, fioqsize, siocgifname, siocsiflink, siocgifconf, siocgifflags,
            siocsifflags, siocgifaddr, siocsifaddr, siocgifdstaddr, siocsifdstaddr,
            siocgifbrdaddr, siocsifbrdaddr, siocgifnetmask, siocsifnetmask,
            siocgifmetric, siocsifmetric, siocgifmtu, siocsifmtu, siocsifname,
            siocsifhwaddr, siocgifhwaddr, siocsifhwbroadcast, siocgifindex,
            siocgiftxqlen, siocsiftxqlen, siocgifmap, siocsifmap, siocaddmulti,
            siocdelmulti, siocaddrt, siocdelrt, siocdifaddr, siocethtool, siocbraddbr,
            siocbrdelbr, siocbraddif, siocbrdelif, siocgskns, tunsetnocsum, tunsetdebug,
            tunsetiff, tunsetpersist, tunsetowner, tunsetlink, tunsetgroup,
            tungetfeatures, tunsetoffload, tunsettxfilter, tungetiff, tungetsndbuf,
            tunsetsndbuf, tunattachfilter, tundetachfilter, tungetvnethdrsz,
            tunsetvnethdrsz, tunsetqueue, tunsetifindex, tungetfilter, tunsetvnetle,
            tungetvnetle, tunsetvnetbe, tungetvnetbe, tunsetsteeringebpf,
            tunsetfilterebpf, tunsetcarrier, tungetdevnetns, ns_get_userns,
            ns_get_parent, ns_get_nstype, ns_get_owner_uid, ficlone, ficlonerange,
            fs_ioc_getflags, fs_ioc_setflags, fs_ioc_getversion, fs_ioc_setversion,
            iff_up, iff_broadcast, iff_debug, iff_loopback, iff_pointopoint,
            iff_notrailers, iff_running, iff_noarp, iff_promisc, iff_allmulti,
            iff_master, iff_slave, iff_multicast, iff_portsel, iff_automedia,
            iff_dynamic, iff_lower_up, iff_dormant, iff_echo, iff_tun, iff_tap, iff_napi,
            iff_napi_frags, iff_no_carrier, iff_no_pi, iff_one_queue, iff_vnet_hdr,
            iff_tun_excl, iff_multi_queue, iff_attach_queue, iff_detach_queue,
            iff_persist, iff_nofilter
        ]}
    ].

%% Requests only x86 has (other machines use PTRACE_GETREGSET).
x86_ptrace() ->
    case alcove:audit_arch() of
        audit_arch_x86_64 ->
            [
                ptrace_getregs, ptrace_setregs, ptrace_getfpregs, ptrace_setfpregs,
                ptrace_getfpxregs, ptrace_setfpxregs, ptrace_sysemu,
                ptrace_sysemu_singlestep
            ];
        _ ->
            []
    end.

%%% cases

known_values() ->
    [{doc, "A few values per family that the Linux ABI fixes."}].
known_values(Config) ->
    Drv = drv(Config),
    Known = [
        {clone_constant, clone_newns, 16#00020000},
        {clone_constant, clone_newuser, 16#10000000},
        {signal_constant, sigkill, 9},
        {signal_constant, sigterm, 15},
        {signal_constant, sigchld, 17},
        {file_constant, o_rdonly, 0},
        {file_constant, o_creat, 8#100},
        {fcntl_constant, f_getfd, 1},
        {fcntl_constant, fd_cloexec, 1},
        {mount_constant, ms_rdonly, 1},
        {mount_constant, ms_bind, 4096},
        {rlimit_constant, rlimit_nofile, 7},
        {prctl_constant, pr_set_pdeathsig, 1},
        {prctl_constant, pr_set_name, 15},
        {prctl_constant, pr_get_name, 16},
        {prctl_constant, pr_set_seccomp, 22},
        {prctl_constant, pr_set_no_new_privs, 38},
        {prctl_constant, pr_set_ptracer, 16#59616d61},
        {prctl_constant, seccomp_mode_filter, 2},
        {ptrace_constant, ptrace_traceme, 0},
        {ptrace_constant, ptrace_attach, 16},
        {ptrace_constant, ptrace_seize, 16#4206},
        {ptrace_constant, ptrace_o_exitkill, 1 bsl 20},
        {ptrace_constant, ptrace_event_stop, 128},
        {seccomp_constant, seccomp_set_mode_filter, 1},
        {seccomp_constant, seccomp_filter_flag_tsync, 1},
        {seccomp_constant, seccomp_ret_kill_process, 16#80000000},
        {seccomp_constant, seccomp_ret_errno, 16#00050000},
        {seccomp_constant, seccomp_ret_allow, 16#7fff0000},
        {seccomp_constant, audit_arch_x86_64, 16#c000003e},
        {seccomp_constant, audit_arch_aarch64, 16#c00000b7},
        {ioctl_constant, tiocsctty, 16#540e},
        {ioctl_constant, tiocgwinsz, 16#5413},
        {ioctl_constant, fionread, 16#541b},
        {ioctl_constant, siocgifflags, 16#8913},
        {ioctl_constant, tunsetiff, 16#400454ca},
        {ioctl_constant, iff_tap, 2}
    ] ++ x86_64_syscalls(),
    [?assertEqual({Lookup, Name, Value}, {Lookup, Name, alcove:Lookup(Drv, [], Name)})
     || {Lookup, Name, Value} <- Known].

x86_64_syscalls() ->
    case alcove:audit_arch() of
        audit_arch_x86_64 ->
            [
                {syscall_constant, sys_read, 0},
                {syscall_constant, sys_getpid, 39},
                {syscall_constant, sys_getcwd, 79},
                {syscall_constant, sys_seccomp, 317}
            ];
        _ ->
            []
    end.

libc_values() ->
    [{doc, "Every listed name gives what a C program compiled with the system headers prints."}].
libc_values(Config) ->
    case os:find_executable("cc") of
        false ->
            {skip, "no C compiler (cc) to read the system headers with"};
        CC ->
            Drv = drv(Config),
            Dir = ?config(priv_dir, Config),
            Checked = [check_family(Drv, CC, Dir, Family) || Family <- families()],
            ct:comment("~b names checked", [lists:sum(Checked)])
    end.

check_family(Drv, CC, Dir, {Lookup, Headers, Names}) ->
    Type =
        case Lookup of
            clone_constant -> "int";
            _ -> "long long"
        end,
    Expected = c_values(CC, Dir, atom_to_list(Lookup), Headers, Type, Names),
    Got = [alcove:Lookup(Drv, [], Name) || Name <- Names],
    Mismatches = [
        {Name, {libc, C}, {alcove, A}}
     || {Name, C, A} <- lists:zip3(Names, Expected, Got), C =/= A
    ],
    ?assertEqual({Lookup, []}, {Lookup, Mismatches}),
    length(Names).

%% Compile and run a program printing each name's value, one a line.
c_values(CC, Dir, Base, Headers, Type, Names) ->
    Source = filename:join(Dir, Base ++ ".c"),
    Binary = filename:join(Dir, Base),
    Program = [
        "#define _GNU_SOURCE\n",
        [["#include <", H, ">\n"] || H <- Headers],
        "#include <stdio.h>\n",
        "int main(void) {\n",
        [
            ["    printf(\"%lld\\n\", (long long)(", Type, ")(", string:uppercase(atom_to_list(N)),
                "));\n"]
         || N <- Names
        ],
        "    return 0;\n}\n"
    ],
    ok = file:write_file(Source, Program),
    Compile = os:cmd(CC ++ " -o " ++ Binary ++ " " ++ Source ++ " 2>&1; echo $?"),
    case lists:last(string:lexemes(Compile, "\n")) of
        "0" -> ok;
        _ -> ct:fail({cc, Base, Compile})
    end,
    [list_to_integer(Line) || Line <- string:lexemes(os:cmd(Binary), "\n")].

syscalls_from_header() ->
    [{doc, "Every __NR_ of asm/unistd_64.h is there as sys_<name> (x86_64)."}].
syscalls_from_header(Config) ->
    Header = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    case {alcove:audit_arch(), file:read_file(Header)} of
        {audit_arch_x86_64, {ok, Text}} ->
            Drv = drv(Config),
            {match, Defines} = re:run(Text, "^#define __NR_([a-z0-9_]+) ([0-9]+)$",
                [multiline, global, {capture, all_but_first, list}]),
            Expected = [{list_to_atom("sys_" ++ Name), list_to_integer(Nr)} || [Name, Nr] <- Defines],
            ?assert(length(Expected) > 300),
            Got = [{Name, alcove:syscall_constant(Drv, [], Name)} || {Name, _} <- Expected],
            ?assertEqual(Expected, Got),
            ct:comment("~b system calls", [length(Expected)]);
        _ ->
            {skip, "needs x86_64 and " ++ Header}
    end.

unknown_names() ->
    [{doc, "An unknown name gives unknown in every family; a name must be an atom."}].
unknown_names(Config) ->
    Drv = drv(Config),
    [?assertEqual({L, unknown}, {L, alcove:L(Drv, [], no_such_constant)}) || L <- lookups()],
    % Names are the lower-case C names only.
    [?assertEqual({L, unknown}, {L, alcove:L(Drv, [], N)})
     || {L, N} <- [{signal_constant, 'SIGKILL'}, {prctl_constant, 'PR_SET_NAME'},
                   {syscall_constant, getpid}, {signal_constant, kill}]],
    [?assertError(badarg, alcove:L(Drv, [], "sigkill")) || L <- lookups()],
    [?assertError(badarg, alcove:L(Drv, [], 9)) || L <- lookups()].

in_a_child() ->
    [{doc, "A forked child answers lookups like the root helper."}].
in_a_child(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    [?assertEqual(alcove:L(Drv, [], N), alcove:L(Drv, [Child], N))
     || {L, N} <- [{signal_constant, sigterm}, {prctl_constant, pr_set_seccomp},
                   {ioctl_constant, tiocgwinsz}, {syscall_constant, sys_getcwd},
                   {seccomp_constant, seccomp_ret_allow}]].

errno_id() ->
    [{doc, "errno_id names errno values as Erlang's posix() atoms; unknown otherwise."}].
errno_id(Config) ->
    Drv = drv(Config),
    Known = [
        {1, eperm}, {2, enoent}, {3, esrch}, {4, eintr}, {9, ebadf}, {11, eagain},
        {12, enomem}, {13, eacces}, {17, eexist}, {22, einval}, {25, enotty},
        {38, enosys}, {95, enotsup}, {110, etimedout}, {111, econnrefused}
    ],
    [?assertEqual({N, Name}, {N, alcove:errno_id(Drv, [], N)}) || {N, Name} <- Known],
    [?assertEqual({N, unknown}, {N, alcove:errno_id(Drv, [], N)}) || N <- [0, -1, 4096, 100000]],
    % Every errno Linux defines has a name.
    Names = [alcove:errno_id(Drv, [], N) || N <- lists:seq(1, 133)],
    ?assertEqual([], [{N, Name} || {N, Name} <- lists:zip(lists:seq(1, 133), Names),
                                  not is_atom(Name) orelse Name =:= unknown,
                                  not lists:member(N, [41, 58])]),
    ?assertError(badarg, alcove:errno_id(Drv, [], 1 bsl 40)),
    ?assertError(badarg, alcove:errno_id(Drv, [], eperm)).

iolist_to_bin() ->
    [{doc, "The helper flattens iodata like erlang:iolist_to_binary/1."}].
iolist_to_bin(Config) ->
    Drv = drv(Config),
    Cases = [
        <<>>, [], <<"abc">>, "abc", [$a, <<"b">>, [[$c], <<>>], [[]]],
        [<<0, 255>>, 0, 255, [<<"x">>, <<"y">>]],
        binary:copy(<<"0123456789">>, 50000)
    ],
    [?assertEqual(iolist_to_binary(C), alcove:iolist_to_bin(Drv, [], C)) || C <- Cases],
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], [256])),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], [-1])),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], [foo])),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], 42)).

define() ->
    [{doc, "alcove:define/3 finds a name in any family and ORs lists (integers stand for themselves); an unknown name raises {unknown, Name}."}].
define(Config) ->
    Drv = drv(Config),
    Families = [{L, N} || {L, _, [N | _]} <- families()] ++ [{syscall_constant, sys_getpid}],
    [?assertEqual(alcove:L(Drv, [], N), alcove:define(Drv, [], N)) || {L, N} <- Families],
    NewNs = alcove:clone_constant(Drv, [], clone_newns),
    NewPid = alcove:clone_constant(Drv, [], clone_newpid),
    ?assertEqual(NewNs bor NewPid, alcove:define(Drv, [], [clone_newns, clone_newpid])),
    ?assertEqual(0, alcove:define(Drv, [], [])),
    ?assertEqual(NewNs bor 16#1000, alcove:define(Drv, [], [clone_newns, 16#1000])),
    ?assertEqual(7, alcove:define(Drv, [], 7)),
    ?assertError({unknown, no_such_constant}, alcove:define(Drv, [], no_such_constant)),
    ?assertError({unknown, no_such_constant},
                 alcove:define(Drv, [], [clone_newns, no_such_constant])),
    % The original's portable mount flags.
    ?assertEqual(alcove:define(Drv, [], [ms_rdonly, ms_nosuid, ms_noexec, ms_noatime]),
                 alcove:define(Drv, [], [rdonly, nosuid, noexec, noatime])),
    ?assertEqual(alcove:mount_constant(Drv, [], ms_rdonly), alcove:mount_constant(Drv, [], rdonly)),
    % What a seccomp filter compares the architecture with.
    ?assert(is_integer(alcove:define(Drv, [], alcove:audit_arch()))),
    case alcove:audit_arch() of
        audit_arch_x86_64 ->
            ?assertEqual(16#c000003e, alcove:define(Drv, [], audit_arch_x86_64)),
            % As in the original, syscall_constant knows it too.
            ?assertEqual(16#c000003e, alcove:syscall_constant(Drv, [], audit_arch_x86_64));
        _ -> ok
    end,
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(alcove:define(Drv, [], pr_set_no_new_privs),
        alcove:define(Drv, [Child], pr_set_no_new_privs)).
