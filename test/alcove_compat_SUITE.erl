%%% Common Test suite: behaviours of the original alcove 1.0.1 that
%%% existing code relies on, one group per area (see the README's
%%% "Compatibility"). `make conformance' runs the original's own suites
%%% against this project; this suite guards the same behaviours in CI,
%%% with tests of our own.
-module(alcove_compat_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include("alcove.hrl").
-include("alcove_seccomp.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    records/1, cstruct_jail/1, wordalign/1, seccomp_insn/1, cgroup_v1/1, cgroup_paths/1,
    getopts/1, reexec_child/1, reexec_keeps_queued_calls/1, reexec_root/1,
    reexec_needs_the_channel/1,
    sig_info/1, caller_reaps/1, ptrace_stops/1,
    define/1, maxchild_nofile/1, alloc/1,
    close_child_fds/1, stdin_hangup_ends_subtree/1, control_fd_flags/1,
    iodata_nesting/1, flowcontrol_eof/1,
    filtered_reply/1, call_by_name/1, death_during_call/1, drv_stdout_event/1,
    stdout_raises_on_refused_stdin/1, trapped_wait4/1, stdin_queue_zero/1
]).
%% Test case docs.
-export([
    records/0, cstruct_jail/0, wordalign/0, seccomp_insn/0,
    cgroup_v1/0, cgroup_paths/0, getopts/0, reexec_child/0,
    reexec_keeps_queued_calls/0, reexec_root/0, reexec_needs_the_channel/0, sig_info/0,
    caller_reaps/0, ptrace_stops/0, define/0, maxchild_nofile/0,
    alloc/0, close_child_fds/0, stdin_hangup_ends_subtree/0, control_fd_flags/0,
    iodata_nesting/0, flowcontrol_eof/0, filtered_reply/0, call_by_name/0,
    death_during_call/0, drv_stdout_event/0, stdout_raises_on_refused_stdin/0, trapped_wait4/0,
    stdin_queue_zero/0
]).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [
        {group, headers},
        {group, reexec},
        {group, signals},
        {group, calls},
        {group, fds},
        {group, messages}
    ].

groups() ->
    [
        {headers, [], [records, cstruct_jail, wordalign, seccomp_insn, cgroup_v1, cgroup_paths]},
        {reexec, [], [
            getopts, reexec_child, reexec_keeps_queued_calls, reexec_root, reexec_needs_the_channel
        ]},
        {signals, [], [sig_info, caller_reaps, ptrace_stops, trapped_wait4]},
        {calls, [], [define, maxchild_nofile, alloc, iodata_nesting]},
        {fds, [], [close_child_fds, stdin_hangup_ends_subtree, control_fd_flags, flowcontrol_eof]},
        {messages, [], [
            filtered_reply, call_by_name, death_during_call, drv_stdout_event,
            stdout_raises_on_refused_stdin, stdin_queue_zero
        ]}
    ].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

drv(Config) -> ?config(drv, Config).

%%% headers and helper modules

records() ->
    [{doc, "alcove.hrl has the original's records with its defaults."}].
records(_Config) ->
    ?assertEqual({alcove_jail, 2, <<>>, <<>>, <<>>, [], []}, #alcove_jail{}),
    ?assertEqual({alcove_pid, 0, -1, 15, -1, -1, -1, -1}, #alcove_pid{}),
    ?assertEqual({alcove_rlimit, 0, 0}, #alcove_rlimit{}),
    ?assertEqual({alcove_timeval, 0, 0}, #alcove_timeval{}),
    ?assertEqual({alcove_insn, 0, 0, 0, 0}, #alcove_insn{}),
    ?assertEqual({alcove_seccomp_data, 0, 0, 0, [0, 0, 0, 0, 0, 0]}, #alcove_seccomp_data{}),
    % Usable in patterns, as the original's literals are.
    0 = ?OFFSET_SYSCALL_NR,
    4 = ?OFFSET_ARCH_NR.

cstruct_jail() ->
    [{doc, "alcove_cstruct:jail/1 lays out struct jail (version 2)."}].
cstruct_jail(Config) ->
    Word = erlang:system_info({wordsize, external}),
    Jail = alcove_cstruct:jail(#alcove_jail{
        path = "/rescue",
        hostname = [<<"host">>, "0"],
        jailname = <<"j">>,
        ip4 = [{127, 0, 0, 1}, {10, 1, 2, 3}],
        ip6 = [{16#fe80, 0, 0, 0, 0, 0, 0, 1}]
    }),
    [Version, Pad, {ptr, Path}, {ptr, Host}, {ptr, Name}, Counts, {ptr, IP4}, {ptr, IP6}] = Jail,
    ?assertEqual(<<2:32/native>>, Version),
    ?assertEqual(Word, byte_size(Version) + byte_size(Pad)),
    ?assertEqual({<<"/rescue", 0>>, <<"host0", 0>>, <<"j", 0>>}, {Path, Host, Name}),
    ?assertEqual(<<2:32/native, 1:32/native>>, Counts),
    ?assertEqual(<<127, 0, 0, 1, 10, 1, 2, 3>>, IP4),
    ?assertEqual(<<16#fe80:16, 0:(6 * 16), 1:16>>, IP6),
    % The whole struct as the helper lays it out: fields then pointers.
    {ok, Struct, _} = alcove:alloc(drv(Config), [], Jail),
    ?assertEqual(Word + 3 * Word + 8 + 2 * Word, byte_size(Struct)).

wordalign() ->
    [{doc, "alcove:wordalign/1,2: padding to the next word (or Align) boundary."}].
wordalign(_Config) ->
    Word = erlang:system_info({wordsize, external}),
    ?assertEqual(0, alcove:wordalign(0)),
    ?assertEqual(Word - 1, alcove:wordalign(1)),
    ?assertEqual(0, alcove:wordalign(Word)),
    ?assertEqual([0, 3, 2, 1, 0, 3], [alcove:wordalign(N, 4) || N <- lists:seq(0, 5)]).

seccomp_insn() ->
    [{doc, "alcove_seccomp:insn/1 takes #alcove_insn{} and decodes 8 bytes back; offset/1 maps load sizes."}].
seccomp_insn(_Config) ->
    Insn = #alcove_insn{code = ?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, jt = 1, jf = 2, k = 16#c000003e},
    Bin = alcove_seccomp:insn(Insn),
    ?assertEqual(8, byte_size(Bin)),
    ?assertEqual(Bin, ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, 16#c000003e, 1, 2)),
    ?assertEqual(Insn, alcove_seccomp:insn(Bin)),
    ?assertEqual([?BPF_W, ?BPF_H, ?BPF_B], [alcove_seccomp:offset(S) || S <- [word, halfword, byte]]),
    ?assertEqual([word, halfword, byte], [alcove_seccomp:offset(C) || C <- [?BPF_W, ?BPF_H, ?BPF_B]]).

cgroup_v1() ->
    [{doc, "alcove_cgroup: create, set, get, fold_files and destroy a cgroup in every v1 hierarchy."}].
cgroup_v1(Config) ->
    Drv = drv(Config),
    case alcove_ct:root() andalso alcove_cgroup:cgroup(Drv, []) =/= [] of
        false ->
            {skip, "needs root and cgroup v1 hierarchies"};
        true ->
            ?assert(alcove_cgroup:supported(Drv, [])),
            Name = iolist_to_binary(["alcove_compat_SUITE.", os:getpid()]),
            Namespace = [Name, <<"leaf">>],
            ok = alcove_cgroup:create(Drv, [], Namespace),
            try
                Hierarchies = alcove_cgroup:cgroup(Drv, []),
                [?assert(alcove_cgroup:is_dir(Drv, [], alcove_cgroup:join(Dir, Namespace)))
                 || {Dir, _} <- Hierarchies],
                ?assertEqual(ok, alcove_cgroup:set(Drv, [], <<"pids">>, Namespace, <<"pids.max">>, "7")),
                ?assertEqual({ok, <<"7\n">>},
                             alcove_cgroup:get(Drv, [], <<"pids">>, Namespace, <<"pids.max">>)),
                ?assertEqual({error, enoent},
                             alcove_cgroup:set(Drv, [], <<"nonesuch">>, Namespace, <<"x">>, "1")),
                Tasks = alcove_cgroup:fold_files(Drv, <<>>, Namespace, "^tasks$",
                                                 fun(File, Acc) -> [File | Acc] end, []),
                ?assertEqual(length(Hierarchies), length(Tasks)),
                % A process moved in shows in tasks.
                {ok, Child} = alcove:fork(Drv, []),
                ok = alcove_cgroup:set(Drv, [], <<"pids">>, Namespace, <<"tasks">>,
                                       integer_to_list(Child)),
                {ok, Listed} = alcove_cgroup:get(Drv, [], <<"pids">>, Namespace, <<"tasks">>),
                ?assertEqual([integer_to_binary(Child)], binary:split(Listed, <<"\n">>, [trim_all])),
                ?assertEqual({error, ebusy}, alcove_cgroup:destroy(Drv, [], [Name])),
                ok = alcove:exit(Drv, [Child], 0),
                {exit_status, 0} = alcove_ct:wait_exit(Drv, [Child])
            after
                alcove_cgroup:destroy(Drv, [], Namespace),
                alcove_cgroup:destroy(Drv, [], [Name])
            end,
            [?assertNot(alcove_cgroup:is_dir(Drv, [], alcove_cgroup:join(Dir, [Name])))
             || {Dir, _} <- alcove_cgroup:cgroup(Drv, [])],
            ?assertEqual([], alcove_cgroup:get(Drv, [], <<"pids">>, [Name], <<"pids.max">>))
    end.

cgroup_paths() ->
    [{doc, "alcove_cgroup's path helpers and mounts/2."}].
cgroup_paths(Config) ->
    Drv = drv(Config),
    ?assertEqual(<<"/sys/fs/cgroup/pids/a/b">>,
                 alcove_cgroup:join(<<"/sys/fs/cgroup/pids">>, ["/a", <<"b">>])),
    ?assertEqual([<<"a">>, <<"b">>, <<"c">>], alcove_cgroup:relpath([<<"/a/b">>, "c"])),
    ?assertEqual([[a], [a, b], [a, b, c]], alcove_cgroup:expand([a, b, c])),
    ?assertEqual([], alcove_cgroup:expand([])),
    {ok, Mounts} = alcove_cgroup:mounts(Drv, []),
    ?assert(lists:keymember(<<"/proc">>, 2, Mounts)),
    ?assert(alcove_cgroup:is_file(Drv, [], "/proc/mounts")),
    ?assertNot(alcove_cgroup:is_dir(Drv, [], "/proc/mounts")),
    ?assert(alcove_cgroup:is_dir(Drv, [], "/proc")).

%%% re-exec

getopts() ->
    [{doc, "alcove_drv:getopts/1 is a pure function of the start options; progname/0 the helper."}].
getopts(_Config) ->
    Progname = alcove_drv:progname(),
    ?assertEqual(Progname, filename:absname(Progname)),
    ?assert(filelib:is_regular(Progname)),
    ?assertEqual([Progname], alcove_drv:getopts([])),
    ?assertEqual([Progname, "-d", "2", "-m", "3", "--maxforkdepth", "5"],
                 alcove_drv:getopts([{depth, 2}, {maxchild, 3}, termsig, {maxforkdepth, 5}, {env, []}])),
    Env = os:find_executable("env"),
    ?assertEqual([Env, "-i", "/bin/true", "-d", "1"],
                 alcove_drv:getopts([{exec, "env -i"}, {progname, "/bin/true"}, {depth, 1}])),
    ?assertError(badarg, alcove_drv:getopts([{progname, "/nonexistent/alcove"}])),
    ?assertError(badarg, alcove_drv:getopts([{exec, "no-such-program-here"}])),
    % A driver that cannot find its helper does not start.
    process_flag(trap_exit, true),
    ?assertMatch({error, _}, alcove_drv:start([{progname, "/nonexistent/alcove"}])).

%% Re-execute the helper at Pipeline in place, as prx's reexec does: clear
%% close-on-exec on 3, 4, 5 and the binary's fd, fexecve with getopts/1.
reexec(Drv, Pipeline) ->
    Progname = alcove_drv:progname(),
    {ok, FD} = alcove:open(Drv, Pipeline, Progname, [o_rdonly, o_cloexec], 0),
    Argv = alcove_drv:getopts([{progname, Progname}, {depth, length(Pipeline)}]),
    Env = alcove:environ(Drv, Pipeline),
    [{ok, _} = alcove:fcntl(Drv, Pipeline, Fd, f_setfd, 0) || Fd <- [3, 4, 5, FD]],
    Reply = alcove:fexecve(Drv, Pipeline, FD, Argv, Env),
    {Reply, FD}.

reexec_child() ->
    [{doc, "A forked helper re-executed with getopts/1's argv serves the same pipeline from a fresh image."}].
reexec_child(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setopt(Drv, [C], maxforkdepth, 3),
    ok = alcove:setenv(Drv, [C], "ALCOVE_COMPAT", "kept", 1),
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, G], "sleep", ["sleep", "60"]),
    {ok, OldExe} = file:read_link("/proc/" ++ integer_to_list(C) ++ "/exe"),
    {ok, StartBefore} = start_time(C),
    {ok, FD} = reexec_ok(Drv, [C]),
    % Same process, new image: options back to their defaults, the
    % environment passed on, the exec'd grandchild gone with the old image.
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    ?assertEqual({ok, StartBefore}, start_time(C)),
    ?assertEqual({ok, OldExe}, file:read_link("/proc/" ++ integer_to_list(C) ++ "/exe")),
    ?assertEqual(16, alcove:getopt(Drv, [C], maxforkdepth)),
    ?assertEqual(<<"kept">>, alcove:getenv(Drv, [C], "ALCOVE_COMPAT")),
    ?assertEqual(false, alcove:getenv(Drv, [C], "ALCOVE_REEXEC_FD")),
    ?assertEqual([], alcove:cpid(Drv, [C])),
    % The fds the caller kept are still open; close-on-exec can be set back.
    FdCloexec = alcove:fcntl_constant(Drv, [C], fd_cloexec),
    [?assertMatch({ok, _}, alcove:fcntl(Drv, [C], Fd, f_setfd, FdCloexec)) || Fd <- [3, 4, 5, FD]],
    % It forks, execs and reports exits as before.
    {ok, G2} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, G2], "sh", ["sh", "-c", "echo again; exit 4"]),
    ?assertEqual({<<"again\n">>, {exit_status, 4}}, alcove_ct:read_until_exit(Drv, [C, G2])),
    % execve works as well, and the image can be replaced again and again.
    {ok, _} = alcove:fcntl(Drv, [C], 5, f_setfd, 0),
    ?assertEqual(ok, alcove:execve(Drv, [C], alcove_drv:progname(),
                                   alcove_drv:getopts([{depth, 1}]), [])),
    ?assertEqual([], alcove:environ(Drv, [C])),
    {ok, _} = reexec_ok(Drv, [C]),
    ok = alcove:exit(Drv, [C], 9),
    ?assertEqual({exit_status, 9}, alcove_ct:wait_exit(Drv, [C])).

reexec_ok(Drv, Pipeline) ->
    {Reply, FD} = reexec(Drv, Pipeline),
    ?assertEqual(ok, Reply),
    {ok, FD}.

%% Field 22 of /proc/PID/stat: when the process started (clock ticks).
start_time(OSPid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/stat"),
    [_, AfterComm] = binary:split(Stat, <<") ">>),
    {ok, lists:nth(20, binary:split(AfterComm, <<" ">>, [global]))}.

reexec_keeps_queued_calls() ->
    [{doc, "Calls queued behind a re-exec (sent before the new image serves) are all answered."}].
reexec_keeps_queued_calls(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    Progname = alcove_drv:progname(),
    {ok, FD} = alcove:open(Drv, [C], Progname, [o_rdonly, o_cloexec], 0),
    {ok, _} = alcove:fcntl(Drv, [C], 5, f_setfd, 0),
    Argv = alcove_drv:getopts([{depth, 1}]),
    Self = self(),
    % 50 callers fire as the exec is sent; none may be lost.
    Callers = [
        spawn_link(fun() ->
            receive go -> ok end,
            Self ! {answered, self(), alcove:getpid(Drv, [C], 10000)}
        end)
     || _ <- lists:seq(1, 50)
    ],
    Exec = spawn_link(fun() ->
        receive go -> ok end,
        Self ! {execed, alcove:fexecve(Drv, [C], FD, Argv, [], 10000)}
    end),
    [P ! go || P <- [Exec | Callers]],
    ?assertEqual(ok, receive {execed, R} -> R after 15000 -> timeout end),
    [?assertEqual({P, C}, receive {answered, P, Pid} -> {P, Pid} after 15000 -> {P, timeout} end)
     || P <- Callers],
    ?assertEqual(C, alcove:getpid(Drv, [C])).

reexec_root() ->
    [{doc, "The root helper re-executes in place when its channel is kept; the driver goes on."}].
reexec_root(Config) ->
    Drv = drv(Config),
    Root = alcove:getpid(Drv, []),
    {ok, _} = reexec_ok(Drv, []),
    ?assertEqual(Root, alcove:getpid(Drv, [])),
    {ok, P0} = alcove:fork(Drv, []),
    {ok, P1} = alcove:fork(Drv, [P0]),
    ok = alcove:execvp(Drv, [P0, P1], "cat", ["cat"]),
    ok = alcove:exit(Drv, [P0], 0),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [P0])),
    ?assertEqual([], alcove:cpid(Drv, [])).

reexec_needs_the_channel() ->
    [{doc, "Exec on the root with its channel close-on-exec is refused; a helper started at depth > 0 without a channel exits."}].
reexec_needs_the_channel(Config) ->
    Drv = drv(Config),
    Root = alcove:getpid(Drv, []),
    ?assertEqual({error, einval}, alcove:execvp(Drv, [], "/bin/true", ["true"])),
    ?assertEqual(Root, alcove:getpid(Drv, [])),
    Out = os:cmd(alcove_drv:progname() ++ " -d 1 </dev/null 2>&1; echo status=$?"),
    ?assertMatch({match, _}, re:run(Out, "no control channel")),
    ?assertMatch({match, _}, re:run(Out, "status=2")).

%%% signals

sig_info() ->
    [{doc, "Handlers are sig_dfl, sig_ign, sig_info; a new helper traps signals and reports them."}].
sig_info(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigusr1, [])),
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sighup, [])),
    % Synchronous faults and SIGCHLD are not reported by default.
    ?assertEqual({ok, sig_dfl}, alcove:sigaction(Drv, [C], sigsegv, [])),
    ?assertEqual({ok, sig_dfl}, alcove:sigaction(Drv, [C], sigchld, [])),
    ok = alcove:kill(Drv, [], C, sigusr1),
    {signal, sigusr1, Info} = alcove_ct_event(Drv, [C]),
    ?assert(is_binary(Info) andalso byte_size(Info) >= 12),
    <<Signo:32/native, _/binary>> = Info,
    ?assertEqual(alcove:signal_constant(Drv, [], sigusr1), Signo),
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigusr1, sig_ign)),
    ?assertEqual({ok, sig_ign}, alcove:sigaction(Drv, [C], sigusr1, sig_catch)),
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigusr1, sig_dfl)),
    ?assertEqual({error, einval}, alcove:sigaction(Drv, [C], sigusr1, no_such_handler)),
    ok = alcove:kill(Drv, [], C, sigusr1),
    ?assertEqual({termsig, sigusr1}, alcove_ct:wait_exit(Drv, [C])).

alcove_ct_event(Drv, Pipeline) ->
    receive
        {alcove_event, Drv, Pipeline, Event} -> Event
    after 10000 -> ct:fail({no_event, Pipeline})
    end.

caller_reaps() ->
    [{doc, "With SIGCHLD set to sig_info the caller gets {signal, sigchld, _} and reaps with waitpid."}].
caller_reaps(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual({ok, sig_dfl}, alcove:sigaction(Drv, [C], sigchld, sig_info)),
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigchld, [])),
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, G], "sh", ["sh", "-c", "echo out; exit 3"]),
    ?assertEqual(<<"out\n">>, alcove_ct:read_stdout(Drv, [C, G], 4)),
    {signal, sigchld, _} = alcove_ct_event(Drv, [C]),
    % The exit waits for the caller: the child is still listed.
    ?assertMatch([#alcove_pid{pid = G}], alcove:cpid(Drv, [C])),
    ?assertEqual({ok, G, 3 bsl 8, [{exit_status, 3}]}, alcove:waitpid(Drv, [C], G, [])),
    ?assertEqual([], alcove:cpid(Drv, [C])),
    ?assertEqual({error, echild}, alcove:waitpid(Drv, [C], -1, [wnohang])),
    % No exit event: the caller has the status.
    ?assertEqual(false, alcove:event(Drv, [C, G], 200)),
    % Back to the loop reaping: exits are events again.
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigchld, sig_dfl)),
    {ok, G2} = alcove:fork(Drv, [C]),
    ok = alcove:exit(Drv, [C, G2], 5),
    ?assertEqual({exit_status, 5}, alcove_ct:wait_exit(Drv, [C, G2])).

ptrace_stops() ->
    [{doc, "A traced child's stops reach a caller that reaps: sigchld events and stopsig statuses."}].
ptrace_stops(Config) ->
    Drv = drv(Config),
    {ok, Tracer} = alcove:fork(Drv, []),
    {ok, Tracee} = alcove:fork(Drv, [Tracer]),
    {ok, sig_dfl} = alcove:sigaction(Drv, [Tracer], sigchld, sig_info),
    ?assertEqual({ok, 0, <<>>, <<>>}, alcove:ptrace(Drv, [Tracer, Tracee], ptrace_traceme, 0, 0, 0)),
    ok = alcove:execvp(Drv, [Tracer, Tracee], "cat", ["cat"]),
    {signal, sigchld, _} = alcove_ct_event(Drv, [Tracer]),
    ?assertMatch({ok, Tracee, _, [{stopsig, sigtrap}]},
                 alcove:waitpid(Drv, [Tracer], -1, [wnohang])),
    ?assertEqual({ok, 0, 0, []}, alcove:waitpid(Drv, [Tracer], -1, [wnohang])),
    {ok, 0, <<>>, <<>>} = alcove:ptrace(Drv, [Tracer], ptrace_cont, Tracee, 0, 0),
    ok = alcove:stdin(Drv, [Tracer, Tracee], "traced\n"),
    ?assertEqual(<<"traced\n">>, alcove_ct:read_stdout(Drv, [Tracer, Tracee], 7)),
    ok = alcove:kill(Drv, [Tracer], Tracee, sigterm),
    {signal, sigchld, _} = alcove_ct_event(Drv, [Tracer]),
    ?assertMatch({ok, Tracee, _, [{stopsig, sigterm}]}, alcove:waitpid(Drv, [Tracer], -1, [])),
    % Deliver it: the tracee dies of it.
    {ok, 0, <<>>, <<>>} = alcove:ptrace(Drv, [Tracer], ptrace_cont, Tracee, 0, 15),
    ?assertMatch({ok, Tracee, _, [{termsig, sigterm}]}, alcove:waitpid(Drv, [Tracer], -1, [])),
    ?assertEqual([], alcove:cpid(Drv, [Tracer])).

trapped_wait4() ->
    [{doc, "Under a seccomp filter that traps wait4, a helper stays responsive and reports SIGSYS."}].
trapped_wait4(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, _} = alcove:sigaction(Drv, [C], sigsys, sig_info),
    Arch = alcove:define(Drv, [C], alcove:audit_arch()),
    Filter = [
        ?VALIDATE_ARCHITECTURE(Arch),
        ?EXAMINE_SYSCALL,
        ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, alcove:define(Drv, [C], sys_wait4), 0, 1),
        ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_TRAP),
        ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_ALLOW)
    ],
    Prog = iolist_to_binary(Filter),
    {ok, _, _, _, _, _} = alcove:prctl(Drv, [C], pr_set_no_new_privs, 1, 0, 0, 0),
    Fprog = [<<(byte_size(Prog) div 8):16/native>>, <<0:((erlang:system_info({wordsize, external}) - 2) * 8)>>,
             {ptr, Prog}],
    ok = alcove:seccomp(Drv, [C], seccomp_set_mode_filter, 0, Fprog),
    % A grandchild exits: SIGCHLD makes the helper call wait4, which traps.
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:exit(Drv, [C, G], 0),
    {signal, sigsys, _} = alcove_ct_event(Drv, [C]),
    % Still serving, and not spinning: it sleeps in poll.
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:proc_state(C) =:= <<"S">> end),
    ?assertEqual(C, alcove:getpid(Drv, [C])).

%%% calls

define() ->
    [{doc, "define/3: unknown names raise {unknown, Name}; portable mount names; the audit arch."}].
define(Config) ->
    Drv = drv(Config),
    ?assertError({unknown, nonesuch}, alcove:define(Drv, [], nonesuch)),
    ?assertError({unknown, nonesuch}, alcove:define(Drv, [], [ms_bind, nonesuch])),
    ?assertEqual(alcove:define(Drv, [], ms_rdonly) bor alcove:define(Drv, [], ms_noexec),
                 alcove:define(Drv, [], [rdonly, noexec])),
    [?assert(is_integer(alcove:define(Drv, [], N))) || N <- [rdonly, nosuid, noexec, noatime]],
    ?assert(is_integer(alcove:define(Drv, [], alcove:audit_arch()))),
    ?assertEqual(alcove:define(Drv, [], alcove:audit_arch()),
                 alcove:syscall_constant(Drv, [], alcove:audit_arch())).

maxchild_nofile() ->
    [{doc, "maxchild follows RLIMIT_NOFILE as in the original: six fds per process."}].
maxchild_nofile(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setopt(Drv, [C], maxchild, 8),
    {ok, Limit} = alcove:getrlimit(Drv, [C], rlimit_nofile),
    ok = alcove:setrlimit(Drv, [C], rlimit_nofile, Limit#alcove_rlimit{cur = 64}),
    % (64 - 6) div 6 = 9: more than 8, unchanged.
    ?assertEqual(8, alcove:getopt(Drv, [C], maxchild)),
    ok = alcove:setrlimit(Drv, [C], rlimit_nofile, Limit#alcove_rlimit{cur = 32}),
    ?assertEqual(4, alcove:getopt(Drv, [C], maxchild)),
    % Raising the limit again does not raise maxchild; asking for more
    % than the limit holds is refused.
    ok = alcove:setrlimit(Drv, [C], rlimit_nofile, Limit#alcove_rlimit{cur = 64}),
    ?assertEqual(4, alcove:getopt(Drv, [C], maxchild)),
    ?assertEqual(false, alcove:setopt(Drv, [C], maxchild, 10)),
    ?assertEqual(true, alcove:setopt(Drv, [C], maxchild, 9)),
    ok = alcove:setrlimit(Drv, [C], rlimit_nofile, Limit#alcove_rlimit{cur = 32}),
    Forks = [alcove:fork(Drv, [C]) || _ <- lists:seq(1, 6)],
    ?assertEqual(4, length([ok || {ok, _} <- Forks])),
    ?assertEqual([{error, eagain}, {error, eagain}], lists:nthtail(4, Forks)).

alloc() ->
    [{doc, "alloc/3: [] is badarg, empty fields stay, NULL pointers read back as the pointer field."}].
alloc(Config) ->
    Drv = drv(Config),
    Word = erlang:system_info({wordsize, external}),
    ?assertError(badarg, alcove:alloc(Drv, [], [])),
    ?assertEqual({ok, <<>>, [<<>>]}, alcove:alloc(Drv, [], [<<>>])),
    ?assertEqual({ok, <<>>, [<<>>, <<>>]}, alcove:alloc(Drv, [], [<<>>, <<>>])),
    Null = <<0:(Word * 8)>>,
    ?assertEqual({ok, Null, [Null]}, alcove:alloc(Drv, [], [{ptr, 0}])),
    ?assertEqual({ok, Null, [Null]}, alcove:alloc(Drv, [], [{ptr, <<>>}])),
    {ok, Buf, [<<"ab">>, {ptr, <<0, 0, 0>>}, Null]} =
        alcove:alloc(Drv, [], [<<"ab">>, {ptr, 3}, {ptr, 0}]),
    ?assertEqual(2 + 2 * Word, byte_size(Buf)).

iodata_nesting() ->
    [{doc, "iodata: 16 levels of lists, 17 is badarg; a string is a leaf, as in the original."}].
iodata_nesting(Config) ->
    Drv = drv(Config),
    Nest = fun Nest(X, 0) -> X; Nest(X, N) -> Nest([X], N - 1) end,
    ?assertEqual(<<"x">>, alcove:iolist_to_bin(Drv, [], Nest(<<"x">>, 16))),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], Nest(<<"x">>, 17))),
    ?assertEqual(<<"ok">>, alcove:iolist_to_bin(Drv, [], Nest("ok", 16))),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], Nest("ok", 17))),
    % A list holding a binary is a level of its own.
    ?assertEqual(<<1, "y">>, alcove:iolist_to_bin(Drv, [], Nest([1, <<"y">>], 15))),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], Nest([1, <<"y">>], 16))),
    % The same limit for every iodata argument.
    ?assertError(badarg, alcove:chdir(Drv, [], Nest(<<"/">>, 17))),
    ?assertEqual(ok, alcove:chdir(Drv, [], Nest(<<"/">>, 16))).

%%% fds

close_child_fds() ->
    [{doc, "close/3 on a child's fds as cpid reports them: ends an exec'd child's input, or a forked helper."}].
close_child_fds(Config) ->
    Drv = drv(Config),
    {ok, Cat} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [Cat], "cat", ["cat"]),
    ok = alcove:stdin(Drv, [Cat], <<"before\n">>),
    ?assertEqual(<<"before\n">>, alcove_ct:read_stdout(Drv, [Cat], 7)),
    #alcove_pid{stdin = CatIn} = cpid_of(Drv, [], Cat),
    ?assertEqual(ok, alcove:close(Drv, [], CatIn)),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [Cat])),
    {ok, Helper} = alcove:fork(Drv, []),
    #alcove_pid{stdin = In, stdout = Out} = cpid_of(Drv, [], Helper),
    ?assertEqual(ok, alcove:close(Drv, [], Out)),
    % Forgotten: reported closed, and closing it again is ebadf.
    ?assertMatch(#alcove_pid{stdin = In, stdout = -1}, cpid_of(Drv, [], Helper)),
    ?assertEqual({error, ebadf}, alcove:eof(Drv, [Helper], stdout)),
    ?assertEqual(ok, alcove:close(Drv, [], In)),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [Helper])),
    ?assertEqual([], alcove:cpid(Drv, [])).

cpid_of(Drv, Pipeline, Pid) ->
    {value, Record} = lists:keysearch(Pid, #alcove_pid.pid, alcove:cpid(Drv, Pipeline)),
    Record.

stdin_hangup_ends_subtree() ->
    [{doc, "Closing a forked helper's stdin ends it; its exec'd descendants get signaloneof and go."}].
stdin_hangup_ends_subtree(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setopt(Drv, [C], signaloneof, 15),
    {ok, F0} = alcove:fork(Drv, [C]),
    {ok, F00} = alcove:fork(Drv, [C, F0]),
    {ok, F1} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, F0, F00], "sleep", ["sleep", "60"]),
    ok = alcove:execvp(Drv, [C, F1], "sleep", ["sleep", "60"]),
    ok = alcove:eof(Drv, [C]),
    ?assertMatch({exit_status, _}, alcove_ct:wait_exit(Drv, [C])),
    Gone = fun() -> [P || P <- [C, F0, F00, F1], alcove:kill(Drv, [], P, 0) =/= {error, esrch}] =:= [] end,
    ?assertEqual(ok, alcove_ct:wait_until(Gone)).

control_fd_flags() ->
    [{doc, "fd 5 is the control channel, close-on-exec; its flag can be read and set, it cannot be closed."}].
control_fd_flags(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    FdCloexec = alcove:fcntl_constant(Drv, [C], fd_cloexec),
    {ok, Flags} = alcove:fcntl(Drv, [C], 5, f_getfd, 0),
    ?assertEqual(FdCloexec, Flags band FdCloexec),
    {ok, _} = alcove:fcntl(Drv, [C], 5, f_setfd, Flags band bnot FdCloexec),
    ?assertEqual({ok, Flags band bnot FdCloexec}, alcove:fcntl(Drv, [C], 5, f_getfd, 0)),
    {ok, _} = alcove:fcntl(Drv, [C], 5, f_setfd, Flags),
    ?assertEqual({ok, Flags}, alcove:fcntl(Drv, [C], 5, f_getfd, 0)),
    ?assertEqual({error, ebadf}, alcove:close(Drv, [C], 5)),
    % An ordinary exec still closes it: the parent answers ok.
    ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "ls /proc/self/fd"]),
    {Listing, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, [C]),
    Fds = lists:sort([binary_to_integer(F) || F <- binary:split(Listing, <<"\n">>, [global, trim_all])]),
    ?assertEqual([0, 1, 2, 3], Fds).

flowcontrol_eof() ->
    [{doc, "End of file needs no flowcontrol grant: an exit event comes after the granted output."}].
flowcontrol_eof(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setopt(Drv, [C], flowcontrol, 1),
    {ok, P0} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, P0], "echo", ["echo", "test"]),
    ?assertEqual({<<"test\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C, P0])),
    % Output beyond the grant holds the exit event back until granted.
    {ok, P1} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, P1], "sh", ["sh", "-c", "echo one; sleep 0.2; echo two"]),
    ?assertEqual(<<"one\n">>, alcove_ct:read_stdout(Drv, [C, P1], 4)),
    ok = alcove_ct:wait_until(fun() -> alcove:kill(Drv, [C], P1, 0) =:= {error, esrch} orelse
                                 alcove_ct:ended(P1) end),
    ?assertEqual(false, alcove:event(Drv, [C, P1], 300)),
    true = alcove:setcpid(Drv, [C], P1, flowcontrol, 1),
    ?assertEqual({<<"two\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C, P1])),
    ?assertEqual([], alcove:cpid(Drv, [C])).

%%% messages

filtered_reply() ->
    [{doc, "A filtered call is answered {alcove_call, Drv, Pipeline, undef}; the alcove call raises undef."}].
filtered_reply(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:filter(Drv, [C], alcove:filter([getcwd])),
    _ = alcove_nif:call(Drv, [C], alcove_proto:call(getcwd), []),
    ?assertEqual(undef, receive {alcove_call, Drv, [C], Reply} -> Reply after 5000 -> timeout end),
    ?assertError(undef, alcove:getcwd(Drv, [C])),
    ?assertEqual({alcove_error, undef}, alcove_drv:call(Drv, [C], getcwd, [], 5000)).

call_by_name() ->
    [{doc, "alcove_drv:call/5 with a call name returns errors as {alcove_error, Reason}, as the original."}].
call_by_name(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(C, alcove_drv:call(Drv, [C], getpid, [], 5000)),
    ?assertEqual({ok, <<"/">>}, begin ok = alcove_drv:call(Drv, [C], chdir, ["/"], 5000),
                                      alcove_drv:call(Drv, [C], getcwd, [], 5000) end),
    ?assertEqual({alcove_error, badpid}, alcove_drv:call(Drv, [1], getpid, [], 5000)),
    ?assertEqual({alcove_error, badarg}, alcove_drv:call(Drv, [C], chdir, [42], 5000)),
    ?assertEqual({alcove_error, undef}, alcove_drv:call(Drv, [C], no_such_call, [], 5000)),
    ?assertEqual({alcove_error, timeout},
                 alcove_drv:call(Drv, [C], select, [[], [], [], []], 100)).

death_during_call() ->
    [{doc, "A process that dies during a call makes the caller raise how it ended."}].
death_during_call(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    Self = self(),
    % select with no fds and no timeout blocks until the process dies.
    Caller = spawn_link(fun() ->
        Self ! {raised, catch alcove:select(Drv, [C], [], [], [], [])}
    end),
    Select = [alcove:syscall_constant(Drv, [], S) || S <- [sys_select, sys_pselect6]],
    ok = alcove_ct:wait_until(fun() -> alcove_ct:in_syscall(C, Select) end),
    ok = alcove:kill(Drv, [], C, sigkill),
    {raised, {'EXIT', {Reason, _}}} = receive {raised, _} = R -> R after 10000 -> timeout end,
    ?assertEqual({termsig, sigkill}, Reason),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])),
    ?assertNot(is_process_alive(Caller)),
    % A call bound further down raises badpid.
    {ok, C2} = alcove:fork(Drv, []),
    {ok, G} = alcove:fork(Drv, [C2]),
    spawn_link(fun() -> Self ! {raised, catch alcove:select(Drv, [C2, G], [], [], [], [])} end),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:in_syscall(G, Select) end),
    ok = alcove:kill(Drv, [], C2, sigkill),
    {raised, {'EXIT', {Reason2, _}}} = receive {raised, _} = R2 -> R2 after 10000 -> timeout end,
    ?assertEqual(badpid, Reason2).

drv_stdout_event() ->
    [{doc, "alcove_drv:stdout/3, stderr/3 and event/3 take one message each, false when none comes."}].
drv_stdout_event(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "printf out; printf err >&2; exit 2"]),
    ?assertEqual(<<"out">>, alcove_drv:stdout(Drv, [C], 5000)),
    ?assertEqual(<<"err">>, alcove_drv:stderr(Drv, [C], 5000)),
    ?assertEqual({exit_status, 2}, alcove_drv:event(Drv, [C], 5000)),
    ?assertEqual(false, alcove_drv:stdout(Drv, [C], 0)),
    ?assertEqual(false, alcove_drv:event(Drv, [C], 0)).

stdout_raises_on_refused_stdin() ->
    [{doc, "Stdin refused for a process turns its next stdout/stderr read into {eagain, Bytes}."}].
stdout_raises_on_refused_stdin(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "60"]),
    ok = alcove:eof(Drv, [C]),
    ok = alcove:stdin(Drv, [C], <<"nobody reads this">>),
    ?assertEqual({alcove_pipe, {eagain, 0}}, alcove_drv:stdout(Drv, [C], 5000)),
    ok = alcove:stdin(Drv, [C], <<"again">>),
    receive {alcove_pipe, Drv, [C], _} = Msg -> self() ! Msg after 5000 -> ct:fail(no_pipe) end,
    ?assertError({eagain, 0}, alcove:stderr(Drv, [C], 0)),
    ok = alcove:kill(Drv, [], C, sigkill),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])).

stdin_queue_zero() ->
    [{doc, "With stdin_queue 0 a child takes only what its pipe holds, as in the original; the rest is refused with the count written."}].
stdin_queue_zero(Config) ->
    Drv = drv(Config),
    ?assertEqual(16 * 1024 * 1024, alcove:getopt(Drv, [], stdin_queue)),
    true = alcove:setopt(Drv, [], stdin_queue, 0),
    ?assertEqual(false, alcove:setopt(Drv, [], stdin_queue, -1)),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "60"]),
    Stdin = alcove:getcpid(Drv, [], C, stdin),
    {ok, PipeSize} = alcove:fcntl(Drv, [], Stdin, f_getpipe_sz, 0),
    % 10,000 bytes at a time: the pipe fills, then a write goes in part.
    Chunks = PipeSize div 10000,
    Chunk = binary:copy(<<"x">>, 10000),
    [ok = alcove:stdin(Drv, [C], Chunk) || _ <- lists:seq(1, Chunks + 2)],
    Written = receive {alcove_pipe, Drv, [C], N} -> N after 5000 -> ct:fail(no_pipe) end,
    ?assert(Written > 0 andalso Written < 10000),
    % Exactly what was accepted is in the pipe.
    {ok, 0, <<InPipe:32/native>>} = alcove:ioctl(Drv, [], Stdin, fionread, <<0:32>>),
    ?assertEqual(Chunks * 10000 + Written, InPipe),
    % Each later write is refused whole.
    ?assertEqual(0, receive {alcove_pipe, Drv, [C], M} -> M after 5000 -> timeout end),
    ok = alcove:kill(Drv, [], C, sigkill),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])).
