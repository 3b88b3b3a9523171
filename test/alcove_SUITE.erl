%%% Common Test suite: every call of the foundation and every contract of
%%% ARCHITECTURE.md, against real helper processes.
-module(alcove_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include("alcove.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    getpid/1, fork_nested/1, clone_namespaces/1, clone_flags_integer/1, exit_status/1,
    kill_termsig/1, kill_atom_and_unknown/1, execvp_cat/1, execve_env/1, exec_failure/1,
    getopt_setopt/1, options_inherited/1, start_options/1, exec_prefix/1, exec_sudo/1, version/1, cpid/1, setcpid/1, sigaction/1,
    trapped_signal/1, chdir_getcwd/1, hostname/1, eof/1, stderr/1, bad_arguments/1,
    call_by_name/1, filter/1, filter_build/1, waitpid/1, setproctitle/1, fexecve/1
]).
-export([
    concurrent_callers/1, zero_timeout_no_stray/1, timeout_late_reply_dropped/1,
    owner_death_kills/1, controlling_process/1, controlling_process_not_owner/1,
    output_before_exit/1, badpid/1, badpid_stdin/1, badpid_exited_mid_pipeline/1,
    depth16/1, maxchild/1, stop_leaves_nothing/1, owner_exit_tears_down/1,
    helper_death/1, large_stdin/1, signal_defaults/1, flowcontrol/1,
    new_owner_death_kills/1, owner_death_kills_nested/1, signal_after_fork/1,
    stderr_to_stdout/1, undef_names_call/1, stdin_queue_full/1, demo/1,
    child_beside_siblings/1
]).

suite() ->
    [{timetrap, {seconds, 120}}].

all() ->
    [{group, calls}, {group, contracts}].

groups() ->
    [
        {calls, [], [
            getpid, fork_nested, clone_namespaces, clone_flags_integer, exit_status,
            kill_termsig, kill_atom_and_unknown, execvp_cat, execve_env, exec_failure,
            getopt_setopt, options_inherited, start_options, exec_prefix, exec_sudo, version, cpid, setcpid, sigaction,
            trapped_signal, chdir_getcwd, hostname, eof, stderr, bad_arguments, call_by_name,
            filter, filter_build, waitpid, setproctitle, fexecve
        ]},
        {contracts, [], [
            concurrent_callers, zero_timeout_no_stray, timeout_late_reply_dropped,
            owner_death_kills, controlling_process, controlling_process_not_owner,
            output_before_exit, badpid, badpid_stdin, badpid_exited_mid_pipeline,
            depth16, maxchild, stop_leaves_nothing, owner_exit_tears_down,
            helper_death, large_stdin, signal_defaults, flowcontrol,
            new_owner_death_kills, owner_death_kills_nested, signal_after_fork,
            stderr_to_stdout, undef_names_call, stdin_queue_full, demo,
            child_beside_siblings
        ]}
    ].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

%%% helpers

drv(Config) -> ?config(drv, Config).

%% Read exactly N bytes of stdout.
read_bytes(_Drv, _Pipeline, 0, Acc) ->
    iolist_to_binary(lists:reverse(Acc));
read_bytes(Drv, Pipeline, N, Acc) when N > 0 ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> read_bytes(Drv, Pipeline, N - byte_size(Data), [Data | Acc])
    after 20000 -> ct:fail({short_read, N})
    end.

alive(OsPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/stat") of
        {ok, Stat} ->
            % A zombie counts as still there: it has not been reaped.
            [_, Rest] = binary:split(Stat, <<") ">>),
            true =/= (Rest =:= <<>>) andalso true;
        {error, _} ->
            false
    end.

%% Descendants of an OS process, from /proc (children files).
descendants(OsPid) ->
    Tasks = filelib:wildcard("/proc/" ++ integer_to_list(OsPid) ++ "/task/*/children"),
    Kids = lists:append([
        [list_to_integer(P) || P <- string:tokens(binary_to_list(B), " \n")]
     || F <- Tasks, {ok, B} <- [file:read_file(F)]
    ]),
    Kids ++ lists:append([descendants(K) || K <- Kids]).

flush_mailbox() ->
    receive M -> [M | flush_mailbox()] after 0 -> [] end.

%%% calls

getpid(Config) ->
    Drv = drv(Config),
    Root = alcove:getpid(Drv, []),
    ?assert(is_integer(Root) andalso Root > 1),
    ?assertNotEqual(list_to_integer(os:getpid()), Root),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    ?assertEqual(Child, alcove:getpid(Drv, [Child], 5000)).

fork_nested(Config) ->
    Drv = drv(Config),
    {ok, C1} = alcove:fork(Drv, []),
    {ok, C2} = alcove:fork(Drv, [C1]),
    {ok, C3} = alcove:fork(Drv, [C1, C2]),
    ?assertEqual(C3, alcove:getpid(Drv, [C1, C2, C3])),
    % The OS tree matches the pipeline.
    ?assert(lists:member(C3, descendants(C1))),
    ?assert(lists:member(C2, descendants(alcove:getpid(Drv, [])))).

clone_namespaces(Config) ->
    case alcove_ct:root() of
        false ->
            {skip, "clone with new namespaces needs root (CAP_SYS_ADMIN)"};
        true ->
            Drv = drv(Config),
            {ok, C} = alcove:clone(Drv, [], [clone_newpid, clone_newns, clone_newuts, clone_newipc, clone_newnet]),
            % PID 1 in its own PID namespace, its real pid outside.
            ?assertEqual(1, alcove:getpid(Drv, [C])),
            ?assert(C > 1),
            ok = alcove:sethostname(Drv, [C], "alcove-test"),
            ?assertEqual({ok, <<"alcove-test">>}, alcove:gethostname(Drv, [C])),
            % The host's name did not change.
            {ok, Host} = inet:gethostname(),
            ?assertNotEqual("alcove-test", Host),
            {ok, G} = alcove:fork(Drv, [C]),
            ?assertEqual(2, alcove:getpid(Drv, [C, G]))
    end.

clone_flags_integer(Config) ->
    Drv = drv(Config),
    % Integer flags work too: 0 is a plain fork.
    {ok, C} = alcove:clone(Drv, [], 0),
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    ?assertEqual({error, enotsup}, alcove:clone(Drv, [], [clone_nonexistent])),
    ?assertEqual({error, einval}, alcove:clone(Drv, [], [clone_vm])).

exit_status(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove:exit(Drv, [C], 7)),
    ?assertEqual({exit_status, 7}, alcove_ct:wait_exit(Drv, [C])),
    ?assertError(badpid, alcove:getpid(Drv, [C])).

kill_termsig(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove:kill(Drv, [], C, 9)),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])).

kill_atom_and_unknown(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "100"]),
    ?assertEqual({error, enotsup}, alcove:kill(Drv, [], C, signotreal)),
    ?assertEqual({error, esrch}, alcove:kill(Drv, [], 999999, sigterm)),
    ?assertEqual(ok, alcove:kill(Drv, [], C, sigterm)),
    ?assertEqual({termsig, sigterm}, alcove_ct:wait_exit(Drv, [C])).

execvp_cat(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove:execvp(Drv, [C], "cat", ["cat"])),
    ok = alcove:stdin(Drv, [C], "hello process\n"),
    ?assertEqual(<<"hello process\n">>, read_bytes(Drv, [C], 14, [])),
    % The control channel is gone after exec: fdctl becomes -2.
    ?assertEqual(-2, alcove:getcpid(Drv, [], C, fdctl)),
    ok = alcove:eof(Drv, [C]),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [C])).

execve_env(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execve(Drv, [C], "/usr/bin/env", ["env"], ["A=1", <<"B=two">>]),
    ?assertEqual({<<"A=1\nB=two\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C])).

exec_failure(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual({error, enoent}, alcove:execvp(Drv, [C], "/nonexistent/prog", ["prog"])),
    ?assertEqual({error, eacces}, alcove:execve(Drv, [C], "/tmp", ["x"], [])),
    % Still in its event loop, and it can exec after all.
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    ok = alcove:execvp(Drv, [C], "echo", ["echo", "ok"]),
    ?assertEqual({<<"ok\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C])),
    % exec on the root helper would hand it the protocol socket.
    ?assertEqual({error, einval}, alcove:execvp(Drv, [], "true", ["true"])).

getopt_setopt(Config) ->
    Drv = drv(Config),
    Defaults = [{maxchild, 64}, {exit_status, 1}, {maxforkdepth, 16}, {termsig, 1},
                {flowcontrol, -1}, {signaloneof, 15}, {stdin_closed, 0},
                {stdout_closed, 0}, {stderr_closed, 0}, {stdin_queue, 16 * 1024 * 1024}],
    [?assertEqual(V, alcove:getopt(Drv, [], K)) || {K, V} <- Defaults],
    ?assertEqual(false, alcove:getopt(Drv, [], nonexistent)),
    ?assertEqual(false, alcove:setopt(Drv, [], nonexistent, 1)),
    ?assertEqual(true, alcove:setopt(Drv, [], maxchild, 32)),
    ?assertEqual(32, alcove:getopt(Drv, [], maxchild)),
    ?assertEqual(false, alcove:setopt(Drv, [], exit_status, 7)),
    ?assertEqual(1, alcove:getopt(Drv, [], exit_status)).

options_inherited(Config) ->
    Drv = drv(Config),
    true = alcove:setopt(Drv, [], maxchild, 5),
    true = alcove:setopt(Drv, [], signaloneof, 9),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(5, alcove:getopt(Drv, [C], maxchild)),
    ?assertEqual(9, alcove:getcpid(Drv, [], C, signaloneof)),
    % The child's options are its own from then on.
    true = alcove:setopt(Drv, [C], maxchild, 3),
    ?assertEqual(5, alcove:getopt(Drv, [], maxchild)).

start_options(_Config) ->
    {ok, Drv} = alcove_drv:start_link([{maxchild, 7}, {maxforkdepth, 3}, {env, [{"ALCOVE_T", "x"}]}]),
    try
        ?assertEqual(7, alcove:getopt(Drv, [], maxchild)),
        ?assertEqual(3, alcove:getopt(Drv, [], maxforkdepth)),
        Argv = alcove_drv:getopts(Drv),
        ?assertEqual(["-m", "7"], lists:sublist(Argv, 2, 2)),
        {ok, C} = alcove:fork(Drv, []),
        ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "echo $ALCOVE_T"]),
        ?assertEqual({<<"x\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C]))
    after
        alcove_drv:stop(Drv)
    end,
    % A helper that cannot start is an error, not a hang.
    process_flag(trap_exit, true),
    ?assertMatch({error, _}, alcove_drv:start([{progname, "/nonexistent/alcove"}])).

exec_prefix(_Config) ->
    % The helper runs behind a command prefix, talking over its stdin and
    % stdout (what sudo leaves open).
    {ok, Drv} = alcove_drv:start_link([{exec, "/usr/bin/env ALCOVE_PREFIXED=1"}]),
    try
        ?assertMatch(["/usr/bin/env", "ALCOVE_PREFIXED=1" | _], alcove_drv:getopts(Drv)),
        {ok, C} = alcove:fork(Drv, []),
        ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "echo $ALCOVE_PREFIXED"]),
        ?assertEqual({<<"1\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C]))
    after
        alcove_drv:stop(Drv)
    end.

exec_sudo(_Config) ->
    case os:find_executable("sudo") of
        false ->
            {skip, "sudo is not installed"};
        _ ->
            case os:cmd("sudo -n true 2>&1") of
                "" ->
                    {ok, Drv} = alcove_drv:start_link([{exec, "sudo -n"}]),
                    try
                        {ok, C} = alcove:fork(Drv, []),
                        ok = alcove:execvp(Drv, [C], "id", ["id", "-u"]),
                        ?assertEqual({<<"0\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C]))
                    after
                        alcove_drv:stop(Drv)
                    end;
                Why ->
                    {skip, "sudo -n is not allowed here: " ++ Why}
            end
    end.

version(Config) ->
    Drv = drv(Config),
    V = alcove:version(Drv, []),
    ?assert(is_binary(V) andalso byte_size(V) > 0),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(V, alcove:version(Drv, [C])).

cpid(Config) ->
    Drv = drv(Config),
    ?assertEqual([], alcove:cpid(Drv, [])),
    {ok, C1} = alcove:fork(Drv, []),
    {ok, C2} = alcove:fork(Drv, []),
    Pids = alcove:cpid(Drv, []),
    ?assertEqual(lists:sort([C1, C2]), lists:sort([P#alcove_pid.pid || P <- Pids])),
    [#alcove_pid{flowcontrol = -1, signaloneof = 15, fdctl = Ctl, stdin = In, stdout = Out, stderr = Err} | _] = Pids,
    ?assert(lists:all(fun(Fd) -> Fd > 2 end, [Ctl, In, Out, Err])),
    ?assertEqual(C1, alcove:getcpid(Drv, [], C1, pid)),
    ?assertEqual(false, alcove:getcpid(Drv, [], 424242, pid)).

setcpid(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(true, alcove:setcpid(Drv, [], C, signaloneof, 9)),
    ?assertEqual(9, alcove:getcpid(Drv, [], C, signaloneof)),
    ?assertEqual(true, alcove:setcpid(Drv, [], C, flowcontrol, 10)),
    ?assertEqual(10, alcove:getcpid(Drv, [], C, flowcontrol)),
    ?assertEqual(false, alcove:setcpid(Drv, [], C, nonexistent, 1)),
    ?assertEqual(false, alcove:setcpid(Drv, [], 424242, flowcontrol, 1)).

sigaction(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    % Trapped by default and reported as an event, as in the original.
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigterm, [])),
    ?assertEqual({ok, sig_info}, alcove:sigaction(Drv, [C], sigterm, sig_ign)),
    ?assertEqual({ok, sig_ign}, alcove:sigaction(Drv, [C], sigterm, sig_dfl)),
    ?assertEqual({error, einval}, alcove:sigaction(Drv, [C], sigkill, sig_ign)),
    ?assertEqual({error, enotsup}, alcove:sigaction(Drv, [C], signotreal, sig_ign)),
    ?assertEqual({error, einval}, alcove:sigaction(Drv, [C], sigterm, not_a_handler)),
    % With the default restored, SIGTERM ends the helper.
    ok = alcove:kill(Drv, [], C, sigterm),
    ?assertEqual({termsig, sigterm}, alcove_ct:wait_exit(Drv, [C])).

trapped_signal(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:kill(Drv, [], C, sigusr1),
    receive
        {alcove_event, Drv, [C], {signal, sigusr1, Info}} -> ?assert(is_binary(Info))
    after 5000 -> ct:fail(no_signal_event)
    end,
    % Trapped, so the helper lives on.
    ?assertEqual(C, alcove:getpid(Drv, [C])).

chdir_getcwd(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:chdir(Drv, [C], "/tmp"),
    ?assertEqual({ok, <<"/tmp">>}, alcove:getcwd(Drv, [C])),
    ?assertEqual({error, enoent}, alcove:chdir(Drv, [C], "/nonexistent/dir")),
    ?assertEqual({error, enotdir}, alcove:chdir(Drv, [C], ["/etc/", <<"hostname">>])),
    {ok, Cwd} = file:get_cwd(),
    ?assertEqual({ok, list_to_binary(Cwd)}, alcove:getcwd(Drv, [])).

hostname(Config) ->
    Drv = drv(Config),
    {ok, Host} = inet:gethostname(),
    ?assertEqual({ok, list_to_binary(Host)}, alcove:gethostname(Drv, [])),
    case alcove_ct:root() of
        true -> ok;
        false -> ?assertEqual({error, eperm}, alcove:sethostname(Drv, [], "x"))
    end.

eof(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    % The process outlives its input (sleep), so the second eof meets a
    % live process whatever the timing: ebadf, not esrch.
    ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "wc -c; exec sleep 60"]),
    ok = alcove:stdin(Drv, [C], <<"12345">>),
    ok = alcove:eof(Drv, [C], stdin),
    ?assertEqual({error, ebadf}, alcove:eof(Drv, [C], stdin)),
    ?assertEqual(<<"5">>, string:trim(alcove_ct:read_stdout(Drv, [C], 2))),
    ok = alcove:kill(Drv, [], C, sigkill),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])),
    % Reaped and forgotten.
    ?assertEqual({error, esrch}, alcove:eof(Drv, [C])).

stderr(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "echo out; echo err >&2; exit 3"]),
    ?assertEqual({exit_status, 3}, alcove_ct:wait_exit(Drv, [C])),
    ?assertEqual([<<"out\n">>], alcove:stdout(Drv, [C])),
    ?assertEqual([<<"err\n">>], alcove:stderr(Drv, [C])),
    ?assertEqual([], alcove:stderr(Drv, [C])),
    ?assertEqual(false, alcove:event(Drv, [C])).

bad_arguments(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertError(badarg, alcove:chdir(Drv, [C], self())),
    ?assertError(badarg, alcove:chdir(Drv, [C], 1.5)),
    ?assertError(badarg, alcove:chdir(Drv, [C], [$a | $b])),
    ?assertError(badarg, alcove:chdir(Drv, [C], 47)),
    ?assertError(badarg, alcove:chdir(Drv, [C], <<"a", 0, "b">>)),
    ?assertError(badarg, alcove:getpid(Drv, not_a_list)),
    ?assertError(badarg, alcove:getpid(Drv, [C | C])),
    ?assertError(badarg, alcove:getpid(Drv, [1 bsl 40])),
    ?assertError(badarg, alcove:kill(Drv, [], C, [])),
    ?assertError(badarg, alcove:execvp(Drv, [C], "x", not_a_list)),
    ?assertError(badarg, alcove:stdin(Drv, [C], [self()])),
    % Over the frame cap: an error for that request, nothing else.
    ?assertError(badarg, alcove:chdir(Drv, [C], binary:copy(<<"a">>, 2 * 1024 * 1024))),
    % A not-a-driver is badarg too.
    ?assertError(badarg, alcove:getpid(self(), [])),
    % And the tree still answers.
    ?assertEqual(C, alcove:getpid(Drv, [C])).

call_by_name(Config) ->
    Drv = drv(Config),
    ?assertEqual(alcove:getpid(Drv, []), alcove:call(Drv, [], getpid, [])),
    ?assertError(undef, alcove:call(Drv, [], no_such_call, [])),
    ?assertEqual(alcove_proto:call(getpid), length(lists:takewhile(fun(N) -> N =/= getpid end, alcove_proto:calls()))),
    ?assert(alcove_proto:noreturn(execvp)),
    ?assertNot(alcove_proto:noreturn(getpid)).

%%% contracts

concurrent_callers(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    Self = self(),
    Workers = [
        spawn_link(fun() ->
            Pipeline = case N rem 2 of 0 -> []; 1 -> [C] end,
            Expect = alcove:getpid(Drv, Pipeline),
            Results = [alcove:getpid(Drv, Pipeline) || _ <- lists:seq(1, 500)],
            Self ! {done, self(), lists:all(fun(R) -> R =:= Expect end, Results), flush_mailbox()}
        end)
     || N <- lists:seq(1, 8)
    ],
    [receive {done, W, AllRight, Stray} -> ?assert(AllRight), ?assertEqual([], Stray) end || W <- Workers].

zero_timeout_no_stray(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    Outcomes = [catch alcove:getpid(Drv, [C], 0) || _ <- lists:seq(1, 200)],
    ?assert(lists:member({'EXIT', timeout}, Outcomes)),
    timer:sleep(200),
    ?assertEqual([], [M || M <- flush_mailbox(), element(1, M) =/= 'EXIT']),
    ?assertEqual(C, alcove:getpid(Drv, [C])).

timeout_late_reply_dropped(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    % A stopped helper cannot answer: the call times out, then the reply
    % comes after SIGCONT and must not reach the mailbox.
    ok = alcove:kill(Drv, [], C, sigstop),
    ?assertExit(timeout, alcove:getpid(Drv, [C], 300)),
    ok = alcove:kill(Drv, [], C, sigcont),
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    timer:sleep(100),
    ?assertEqual([], [M || {alcove_call, _, _, _} = M <- flush_mailbox()]).

owner_death_kills(Config) ->
    Drv = drv(Config),
    Self = self(),
    Owner = spawn(fun() ->
        {ok, C} = alcove:fork(Drv, []),
        ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "100"]),
        Self ! {child, C},
        receive stop -> ok end
    end),
    C = receive {child, P} -> P after 5000 -> ct:fail(no_child) end,
    ?assert(alive(C)),
    exit(Owner, kill),
    ok = wait_gone(C, 5000),
    % Its record goes once its pipes are read to their end; its exit event,
    % had it been sent, would be here before the reply to a later call.
    ok = alcove_ct:wait_until(fun() -> not lists:keymember(C, 2, alcove:cpid(Drv, [])) end),
    ?assertError(badpid, alcove:getpid(Drv, [C])),
    % The dead owner's messages are dropped, not sent to the driver owner.
    ?assertEqual([], [M || {alcove_event, _, [X], _} = M <- flush_mailbox(), X =:= C]).

wait_gone(OsPid, Ms) when Ms =< 0 ->
    ct:fail({still_alive, OsPid});
wait_gone(OsPid, Ms) ->
    case alive(OsPid) of
        false -> ok;
        true -> timer:sleep(20), wait_gone(OsPid, Ms - 20)
    end.

controlling_process(Config) ->
    Drv = drv(Config),
    Self = self(),
    {ok, C} = alcove:fork(Drv, []),
    New = spawn_link(fun() ->
        receive go -> ok end,
        Out = alcove:stdout(Drv, [C], 5000),
        Ev = alcove:event(Drv, [C], 5000),
        Self ! {got, Out, Ev}
    end),
    ?assertEqual(ok, alcove_drv:controlling_process(Drv, [C], New)),
    % Only the owner may hand it on.
    ?assertEqual({error, not_owner}, alcove_drv:controlling_process(Drv, [C], self())),
    ok = alcove:execvp(Drv, [C], "echo", ["echo", "moved"]),
    New ! go,
    receive {got, Out, Ev} ->
        ?assertEqual(<<"moved\n">>, iolist_to_binary(Out)),
        ?assertEqual({exit_status, 0}, Ev)
    after 10000 -> ct:fail(no_output_at_new_owner)
    end,
    ?assertEqual([], [M || {alcove_stdout, _, _, _} = M <- flush_mailbox()]).

controlling_process_not_owner(Config) ->
    Drv = drv(Config),
    Self = self(),
    spawn_link(fun() ->
        Self ! {result, catch alcove_drv:controlling_process(Drv, [12345], self())}
    end),
    receive {result, R} -> ?assertEqual({error, not_owner}, R) end,
    {ok, C} = alcove:fork(Drv, []),
    Other = spawn_link(fun() -> Self ! {result, alcove_drv:controlling_process(Drv, [C], self())} end),
    receive {result, R2} -> ?assertEqual({error, not_owner}, R2) end,
    unlink(Other).

output_before_exit(Config) ->
    Drv = drv(Config),
    Size = 1024 * 1024,
    lists:foreach(
        fun(_) ->
            {ok, C} = alcove:fork(Drv, []),
            ok = alcove:execvp(Drv, [C], "head", ["head", "-c", integer_to_list(Size), "/dev/urandom"]),
            {Bytes, Exit} = alcove_ct:read_until_exit(Drv, [C]),
            ?assertEqual({exit_status, 0}, Exit),
            ?assertEqual(Size, byte_size(Bytes))
        end,
        lists:seq(1, 20)
    ).

badpid(Config) ->
    Drv = drv(Config),
    T0 = erlang:monotonic_time(millisecond),
    ?assertError(badpid, alcove:getpid(Drv, [999999])),
    ?assertError(badpid, alcove:getpid(Drv, [0])),
    ?assertError(badpid, alcove:getpid(Drv, [-1])),
    {ok, C} = alcove:fork(Drv, []),
    ?assertError(badpid, alcove:getpid(Drv, [C, 999999])),
    ?assertError(badpid, alcove:fork(Drv, [C, 999999, 5])),
    % A process that has exec'd no longer runs calls.
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "100"]),
    ?assertError(badpid, alcove:getpid(Drv, [C])),
    ?assert(erlang:monotonic_time(millisecond) - T0 < 2000).

badpid_stdin(Config) ->
    Drv = drv(Config),
    ?assertEqual(ok, alcove:stdin(Drv, [999999], "lost")),
    ?assertEqual(badpid, alcove:event(Drv, [999999], 5000)).

badpid_exited_mid_pipeline(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:exit(Drv, [C, G], 0),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [C, G])),
    ?assertError(badpid, alcove:getpid(Drv, [C, G])),
    % Stop the middle one and its child, make calls that wait in each (an
    % exec, which goes through the middle one, and a getpid, which goes
    % straight to the child), kill the middle one: both callers get
    % badpid, not a hang.
    {ok, G2} = alcove:fork(Drv, [C]),
    ok = alcove:kill(Drv, [C], G2, sigstop),
    ok = alcove:kill(Drv, [], C, sigstop),
    Stopped = fun(Pid) -> alcove_ct:proc_state(Pid) =:= <<"T">> end,
    ok = alcove_ct:wait_until(fun() -> Stopped(C) andalso Stopped(G2) end),
    Self = self(),
    spawn_link(fun() -> Self ! {r, catch alcove:getpid(Drv, [C, G2])} end),
    spawn_link(fun() -> Self ! {r, catch alcove:execvp(Drv, [C, G2], "/bin/true", ["true"])} end),
    ok = alcove:kill(Drv, [], C, sigkill),
    [receive {r, R} -> ?assertMatch({'EXIT', {badpid, _}}, R) after 5000 -> ct:fail(hang) end
     || _ <- [1, 2]].

depth16(Config) ->
    Drv = drv(Config),
    Pipeline = lists:foldl(
        fun(_, P) ->
            {ok, C} = alcove:fork(Drv, P),
            P ++ [C]
        end,
        [],
        lists:seq(1, 16)
    ),
    ?assertEqual(16, length(Pipeline)),
    ?assertEqual(lists:last(Pipeline), alcove:getpid(Drv, Pipeline)),
    ?assertEqual({error, eagain}, alcove:fork(Drv, Pipeline)),
    ok = alcove:execvp(Drv, Pipeline, "echo", ["echo", "deep"]),
    ?assertEqual({<<"deep\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, Pipeline)).

maxchild(Config) ->
    Drv = drv(Config),
    true = alcove:setopt(Drv, [], maxchild, 3),
    [{ok, _} = alcove:fork(Drv, []) || _ <- lists:seq(1, 3)],
    ?assertEqual({error, eagain}, alcove:fork(Drv, [])).

%% A helper forked beside many others does not copy its parent's records
%% of them: its own memory (the pages only it maps) is about that of one
%% forked alone. Freeing the records in the child wrote to, and so copied,
%% every page of the parent's heap they were on: 250 KiB more with 400
%% siblings.
child_beside_siblings(Config) ->
    Drv = drv(Config),
    true = alcove:setopt(Drv, [], maxchild, 500),
    Alone = settled_child(Drv),
    Siblings = [begin {ok, C} = alcove:fork(Drv, []), C end || _ <- lists:seq(1, 400)],
    Beside = settled_child(Drv),
    Grown = private_dirty_kib(Beside) - private_dirty_kib(Alone),
    ct:pal("private memory of a child: ~b KiB alone, ~b KiB more beside ~b siblings",
           [private_dirty_kib(Alone), Grown, length(Siblings)]),
    ?assert(Grown < 128),
    % It holds none of its siblings' fds: its stdio, its channel to the
    % parent and its signal pipe.
    {ok, Fds} = file:list_dir("/proc/" ++ integer_to_list(Beside) ++ "/fd"),
    ?assert(length(Fds) =< 8).

%% A forked child that has served a call: done setting itself up.
settled_child(Drv) ->
    {ok, C} = alcove:fork(Drv, []),
    C = alcove:getpid(Drv, [C]),
    C.

private_dirty_kib(Pid) ->
    {ok, Text} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/smaps_rollup"),
    [Kib] = [binary_to_integer(hd(binary:split(string:trim(Rest), <<" ">>)))
             || <<"Private_Dirty:", Rest/binary>> <- binary:split(Text, <<"\n">>, [global])],
    Kib.

stop_leaves_nothing(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Root = alcove:getpid(Drv, []),
    {ok, C1} = alcove:fork(Drv, []),
    {ok, C2} = alcove:fork(Drv, [C1]),
    ok = alcove:execvp(Drv, [C1, C2], "sleep", ["sleep", "1000"]),
    {ok, C3} = alcove:fork(Drv, []),
    % A helper that ignores SIGTERM still goes.
    {ok, _} = alcove:sigaction(Drv, [C3], sigterm, sig_ign),
    {ok, C4} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C4], "sh", ["sh", "-c", "trap '' TERM; sleep 1000"]),
    timer:sleep(100),
    Tree = [Root | descendants(Root)],
    ?assert(length(Tree) >= 6),
    ok = alcove_drv:stop(Drv),
    ?assertEqual([], [P || P <- Tree, alive(P)]),
    ?assertNot(is_process_alive(Drv)).

owner_exit_tears_down(_Config) ->
    Self = self(),
    Owner = spawn(fun() ->
        {ok, Drv} = alcove_drv:start(),
        {ok, C} = alcove:fork(Drv, []),
        Self ! {tree, Drv, alcove:getpid(Drv, []), C},
        receive stop -> ok end
    end),
    {Drv, Root, C} = receive {tree, D, R, P} -> {D, R, P} after 5000 -> ct:fail(no_tree) end,
    Ref = monitor(process, Drv),
    exit(Owner, kill),
    receive {'DOWN', Ref, process, Drv, _} -> ok after 10000 -> ct:fail(driver_lives) end,
    ok = wait_gone(Root, 5000),
    ok = wait_gone(C, 5000).

helper_death(_Config) ->
    process_flag(trap_exit, true),
    {ok, Drv} = alcove_drv:start_link(),
    Root = alcove:getpid(Drv, []),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:kill(Drv, [], C, sigstop),
    Self = self(),
    spawn(fun() -> Self ! {waiting, catch alcove:getpid(Drv, [C])} end),
    timer:sleep(200),
    os:cmd("kill -9 " ++ integer_to_list(Root)),
    % The waiting caller gets an error ...
    receive {waiting, W} -> ?assertMatch({'EXIT', {closed, _}}, W) after 5000 -> ct:fail(caller_hangs) end,
    % ... and the linked owner an exit signal.
    receive {'EXIT', Drv, Reason} -> ?assertMatch({helper_exited, _}, Reason) after 5000 -> ct:fail(no_exit_signal) end,
    os:cmd("kill -9 " ++ integer_to_list(C)),
    ok = wait_gone(Root, 5000),
    % Calls on a driver whose helper is gone raise, never hang.
    {'EXIT', {Late, _}} = (catch alcove:getpid(Drv, [])),
    ?assert(lists:member(Late, [closed, badarg])).

large_stdin(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sha256sum", ["sha256sum"]),
    Data = crypto:strong_rand_bytes(8 * 1024 * 1024),
    % One call with the whole of it, then more in pieces.
    ok = alcove:stdin(Drv, [C], Data),
    ok = alcove:stdin(Drv, [C], [<<"tail">>, [$x, <<"y">>]]),
    ok = alcove:eof(Drv, [C]),
    {Out, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, [C]),
    Expect = binary:encode_hex(crypto:hash(sha256, <<Data/binary, "tailxy">>)),
    ?assertEqual(string:lowercase(Expect), hd(binary:split(Out, <<" ">>))).

signal_defaults(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "yes | head -1; grep -E '^Sig(Ign|Blk)' /proc/self/status"]),
    {Out, Exit} = alcove_ct:read_until_exit(Drv, [C]),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(
        <<"y\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n">>,
        Out
    ).

flowcontrol(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 0),
    ok = alcove:execvp(Drv, [C], "echo", ["echo", "held"]),
    % Paused: nothing is read, so nothing arrives (and no exit event either,
    % since output goes before it).
    ?assertEqual([], alcove:stdout(Drv, [C], 300)),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 1),
    ?assertEqual([<<"held\n">>], alcove:stdout(Drv, [C], 5000)).

filter(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    % getcwd denied in C; getpid denied in the children C forks from now on.
    ?assertEqual(ok, alcove:filter(Drv, [C], alcove:filter([getcwd]), alcove:filter([getpid]))),
    ?assertError(undef, alcove:getcwd(Drv, [C])),
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    {ok, G} = alcove:fork(Drv, [C]),
    ?assertError(undef, alcove:getpid(Drv, [C, G])),
    ?assertMatch({ok, _}, alcove:getcwd(Drv, [C, G])),
    % A filter cannot be lifted.
    ?assertEqual(ok, alcove:filter(Drv, [C], <<>>)),
    ?assertError(undef, alcove:getcwd(Drv, [C])),
    ?assertEqual({error, einval}, alcove:filter(Drv, [C], binary:copy(<<255>>, 64))),
    ?assertError(badarg, alcove:filter(Drv, [C], not_a_binary, <<>>)),
    % The parent is untouched.
    ?assertMatch({ok, _}, alcove:getcwd(Drv, [])),
    % With a timeout as the fourth argument.
    ?assertEqual(ok, alcove:filter(Drv, [C], alcove:filter([chdir]), 5000)),
    ?assertError(undef, alcove:chdir(Drv, [C], "/")).

filter_build(_Config) ->
    Calls = alcove_proto:calls(),
    Bits = fun(Bin) -> [N || N <- lists:seq(0, bit_size(Bin) - 1), (binary:decode_unsigned(Bin, little) bsr N) band 1 =:= 1] end,
    ?assertEqual([alcove_proto:call(getpid)], Bits(alcove:filter([getpid]))),
    ?assertEqual([alcove_proto:call(getpid)], Bits(alcove:filter({deny, [getpid]}))),
    Allowed = Bits(alcove:filter({allow, [getpid, fork]})),
    ?assertEqual(length(Calls) - 2, length(Allowed)),
    ?assertNot(lists:member(alcove_proto:call(getpid), Allowed)),
    ?assertError(badarg, alcove:filter([not_a_call])).

waitpid(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual({error, echild}, alcove:waitpid(Drv, [C], -1, [wnohang])),
    {ok, _G} = alcove:fork(Drv, [C]),
    % A live child: nothing to collect yet.
    ?assertEqual({ok, 0, 0, []}, alcove:waitpid(Drv, [C], -1, [wnohang])),
    ?assertEqual({error, enotsup}, alcove:waitpid(Drv, [C], -1, [wnotreal])).

setproctitle(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove:setproctitle(Drv, [C], "alcove-title-longer-than-15")),
    {ok, Comm} = file:read_file("/proc/" ++ integer_to_list(C) ++ "/comm"),
    ?assertEqual(<<"alcove-title-lo\n">>, Comm).

fexecve(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, FD} = alcove:open(Drv, [C], "/bin/echo", [o_rdonly], 0),
    ?assertEqual({error, ebadf}, alcove:fexecve(Drv, [C], 999, ["echo"], [])),
    ok = alcove:fexecve(Drv, [C], FD, ["echo", "from", "fd"], []),
    ?assertEqual({<<"from fd\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C])).

new_owner_death_kills(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "100"]),
    New = spawn(fun() -> receive stop -> ok end end),
    ok = alcove_drv:controlling_process(Drv, [C], New),
    exit(New, kill),
    ok = wait_gone(C, 5000).

owner_death_kills_nested(Config) ->
    Drv = drv(Config),
    Self = self(),
    lists:foreach(
        fun(_) ->
            Owner = spawn(fun() ->
                {ok, C} = alcove:fork(Drv, []),
                {ok, G} = alcove:fork(Drv, [C]),
                {ok, S} = alcove:fork(Drv, [C, G]),
                ok = alcove:execvp(Drv, [C, G, S], "sleep", ["sleep", "100"]),
                Self ! {tree, [C, G, S]},
                receive stop -> ok end
            end),
            Tree = receive {tree, T} -> T after 5000 -> ct:fail(no_tree) end,
            exit(Owner, kill),
            [ok = wait_gone(P, 5000) || P <- Tree]
        end,
        lists:seq(1, 10)
    ),
    % A record goes once its pipes are read to their end, which may come
    % after the reap (no exit event marks it: the owner is gone).
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end)).

signal_after_fork(Config) ->
    Drv = drv(Config),
    lists:foreach(
        fun(_) ->
            {ok, C} = alcove:fork(Drv, []),
            ok = alcove:kill(Drv, [], C, sigusr1),
            receive
                {alcove_event, Drv, [C], {signal, sigusr1, _}} -> ok;
                {alcove_event, Drv, Other, {signal, sigusr1, _}} -> ct:fail({signal_reported_for, Other})
            after 5000 -> ct:fail({signal_lost, C})
            end,
            ok = alcove:kill(Drv, [], C, sigkill),
            {termsig, sigkill} = alcove_ct:wait_exit(Drv, [C])
        end,
        lists:seq(1, 100)
    ).

stderr_to_stdout(_Config) ->
    {ok, Drv} = alcove_drv:start_link([stderr_to_stdout]),
    try
        {ok, C} = alcove:fork(Drv, []),
        ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", "echo out; echo err >&2"]),
        ?assertEqual({<<"out\nerr\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C])),
        ?assertEqual([], alcove:stderr(Drv, [C]))
    after
        alcove_drv:stop(Drv)
    end.

undef_names_call(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:filter(Drv, [C], alcove:filter([getcwd])),
    try alcove:getcwd(Drv, [C]) of
        R -> ct:fail({not_raised, R})
    catch
        error:undef:Stack -> ?assertMatch([{alcove, getcwd, [Drv, [C]], _} | _], Stack)
    end.

stdin_queue_full(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    % A program that never reads: its pipe fills, then the bounded queue
    % (16 MiB), then what does not fit is refused and reported.
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "100"]),
    ok = alcove:stdin(Drv, [C], binary:copy(<<"x">>, 24 * 1024 * 1024)),
    receive
        {alcove_pipe, Drv, [C], 0} -> ok
    after 10000 -> ct:fail(no_pipe_report)
    end,
    % The process and the tree are fine.
    ?assertEqual(ok, alcove:kill(Drv, [], C, sigkill)),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])).

demo(Config) ->
    case alcove_ct:root() of
        false ->
            {skip, "the demo clones new namespaces: needs root"};
        true ->
            % The README's demo (examples/nsdemo.erl), checked.
            Root = filename:dirname(filename:dirname(proplists:get_value(source, alcove_drv:module_info(compile)))),
            Src = filename:join(Root, "examples/nsdemo.erl"),
            Out = ?config(priv_dir, Config),
            {ok, nsdemo} = compile:file(Src, [{outdir, Out}, {i, filename:join(Root, "include")}, report]),
            {module, nsdemo} = code:load_abs(filename:join(Out, "nsdemo")),
            Self = self(),
            Exit = nsdemo:run(fun(Chunk) -> Self ! {chunk, iolist_to_binary(Chunk)} end),
            Text = iolist_to_binary(collect_chunks()),
            ?assertEqual({exit_status, 0}, Exit),
            [?assertNotEqual(nomatch, binary:match(Text, Expect), Expect)
             || Expect <- [<<"pid: 1\n">>, <<"hostname: alcove-sandbox\n">>, <<" lo\n">>, <<"    1 busybox">>]],
            % One interface only: the sandbox has its own network.
            ?assertEqual(nomatch, binary:match(Text, <<" eth">>))
    end.

collect_chunks() ->
    receive {chunk, C} -> [C | collect_chunks()] after 0 -> [] end.
