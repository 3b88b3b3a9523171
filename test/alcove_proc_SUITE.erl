%%% Common Test suite: alcove_proc, one Erlang process per OS process (the
%%% prx API). `make conformance PRX_ORIG=...' also runs prx's own suite
%%% against it; this suite is ours.
-module(alcove_proc_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
% The supervisor of the supervised case.
-behaviour(supervisor).
-export([init/1]).
% A task op of the task_ops case.
-export([set_name/3]).
-export([
    fork_exec_messages/1, exit_reasons/1, call_wrappers/1, call_errors/1, ownership/1,
    controlling_process_and_stdio/1, stdin_refused/1, eof/1, cpid_getcpid_setcpid/1,
    parent_pipeline_pidof/1, sh_cmd/1, reexec/1, task_ops/1, sigaction_fun/1, atexit/1,
    filter/1, sudo_options/1,
    task_death_kills/1, parent_death_kills_subtree/1, program_children_killed/1,
    supervised/1,
    backpressure_bounds_memory/1, backpressure_off/1,
    remote_node/1, stress/1, pty/1, tree/1
]).
-export([
    fork_exec_messages/0, exit_reasons/0, call_wrappers/0, call_errors/0, ownership/0,
    controlling_process_and_stdio/0, stdin_refused/0, eof/0, cpid_getcpid_setcpid/0,
    parent_pipeline_pidof/0, sh_cmd/0, reexec/0, task_ops/0, sigaction_fun/0, atexit/0,
    filter/0, sudo_options/0,
    task_death_kills/0, parent_death_kills_subtree/0, program_children_killed/0,
    supervised/0,
    backpressure_bounds_memory/0, backpressure_off/0,
    remote_node/0, stress/0, pty/0, tree/0
]).

suite() ->
    [{timetrap, {seconds, 120}}].

all() ->
    [{group, api}, {group, lifetimes}, {group, backpressure}, remote_node, stress].

groups() ->
    [
        {api, [], [
            fork_exec_messages, exit_reasons, call_wrappers, call_errors, ownership,
            controlling_process_and_stdio, stdin_refused, eof, cpid_getcpid_setcpid,
            parent_pipeline_pidof, sh_cmd, reexec, task_ops, sigaction_fun, atexit, filter,
            sudo_options, pty, tree
        ]},
        {lifetimes, [], [task_death_kills, parent_death_kills_subtree, program_children_killed,
                         supervised]},
        {backpressure, [], [backpressure_bounds_memory, backpressure_off]}
    ].

init_per_testcase(_Case, Config) ->
    application:unset_env(alcove, options),
    {ok, Root} = alcove_proc:fork(),
    [{root, Root} | Config].

end_per_testcase(_Case, Config) ->
    Root = ?config(root, Config),
    unlink(Root),
    alcove_proc:stop(Root),
    application:unset_env(alcove, options),
    ok.

root(Config) -> ?config(root, Config).

%% Every message sent to this process about Task until its exit.
until_exit(Task) ->
    until_exit(Task, []).

until_exit(Task, Acc) ->
    receive
        {stdout, Task, Data} -> until_exit(Task, [{stdout, Data} | Acc]);
        {stderr, Task, Data} -> until_exit(Task, [{stderr, Data} | Acc]);
        {exit_status, Task, _} = Exit -> {lists:reverse(Acc), Exit};
        {termsig, Task, _} = Exit -> {lists:reverse(Acc), Exit}
    after 20000 -> ct:fail({no_exit, Task, Acc})
    end.

stdout_of(Messages) ->
    iolist_to_binary([Data || {stdout, Data} <- Messages]).

%%% api

fork_exec_messages() ->
    [{doc, "A forked task execs a program: stdin in, {stdout, Task, _}, {stderr, Task, _}, then the exit."}].
fork_exec_messages(Config) ->
    {ok, Task} = alcove_proc:fork(root(Config)),
    ?assertNot(alcove_proc:execed(Task)),
    ok = alcove_proc:execvp(Task, ["sh", "-c", "read line; echo out:$line; echo err >&2; exit 3"]),
    ?assert(alcove_proc:execed(Task)),
    ok = alcove_proc:stdin(Task, [<<"hel">>, "lo\n"]),
    {Messages, Exit} = until_exit(Task),
    ?assertEqual(<<"out:hello\n">>, stdout_of(Messages)),
    ?assert(lists:member({stderr, <<"err\n">>}, Messages)),
    ?assertEqual({exit_status, Task, 3}, Exit),
    % execvp/3 and execve/3,4 too.
    {ok, T2} = alcove_proc:fork(root(Config)),
    ok = alcove_proc:execvp(T2, "echo", ["echo", "three"]),
    ?assertEqual(<<"three\n">>, stdout_of(element(1, until_exit(T2)))),
    {ok, T3} = alcove_proc:fork(root(Config)),
    ok = alcove_proc:execve(T3, ["/usr/bin/env"], ["A=1"]),
    ?assertEqual(<<"A=1\n">>, stdout_of(element(1, until_exit(T3)))),
    {ok, T4} = alcove_proc:fork(root(Config)),
    ok = alcove_proc:execve(T4, "/usr/bin/env", ["env"], ["B=2"]),
    ?assertEqual(<<"B=2\n">>, stdout_of(element(1, until_exit(T4)))),
    {ok, T5} = alcove_proc:fork(root(Config)),
    {ok, FD} = alcove_proc:open(T5, "/usr/bin/env", [o_rdonly, o_cloexec]),
    ok = alcove_proc:fexecve(T5, FD, [], ["C=3"]),
    ?assertEqual(<<"C=3\n">>, stdout_of(element(1, until_exit(T5)))),
    % A failed exec leaves the task as it was.
    {ok, T6} = alcove_proc:fork(root(Config)),
    ?assertEqual({error, enoent}, alcove_proc:execvp(T6, ["/nonexistent"])),
    ?assertNot(alcove_proc:execed(T6)),
    ?assertEqual(alcove_proc:pidof(T6), alcove_proc:getpid(T6)).

exit_reasons() ->
    [{doc, "A task exits with {shutdown, {exit_status, N}} or {shutdown, {termsig, Sig}}."}].
exit_reasons(Config) ->
    {ok, T1} = alcove_proc:fork(root(Config)),
    Ref1 = monitor(process, T1),
    ok = alcove_proc:exit(T1, 7),
    ?assertEqual({exit_status, T1, 7}, receive {exit_status, T1, _} = M -> M after 5000 -> timeout end),
    ?assertEqual({shutdown, {exit_status, 7}},
                 receive {'DOWN', Ref1, process, T1, R} -> R after 5000 -> timeout end),
    {ok, T2} = alcove_proc:fork(root(Config)),
    Ref2 = monitor(process, T2),
    ok = alcove_proc:kill(root(Config), alcove_proc:pidof(T2), sigkill),
    ?assertEqual({termsig, T2, sigkill}, receive {termsig, T2, _} = M2 -> M2 after 5000 -> timeout end),
    ?assertEqual({shutdown, {termsig, sigkill}},
                 receive {'DOWN', Ref2, process, T2, R2} -> R2 after 5000 -> timeout end),
    ?assertEqual(noproc, alcove_proc:pidof(T2)).

call_wrappers() ->
    [{doc, "Each call of the call table has a wrapper taking the task; the prx shapes of the others."}].
call_wrappers(Config) ->
    {ok, T} = alcove_proc:fork(root(Config)),
    Exports = alcove_proc:module_info(exports),
    [?assert(lists:member({Name, Arity}, Exports) orelse lists:member(Name, [eof]))
     || {Name, Arity} <- [{N, length(A) + 1} || {N, _, A, _, _, _} <- calls_def()]],
    OSPid = alcove_proc:getpid(T),
    ?assertEqual(OSPid, alcove_proc:pidof(T)),
    ?assertEqual(OSPid, alcove_proc:call(T, getpid, [])),
    ok = alcove_proc:chdir(T, "/tmp"),
    ?assertEqual({ok, <<"/tmp">>}, alcove_proc:getcwd(T)),
    ?assertEqual(9, alcove_proc:signal_constant(T, sigkill)),
    ?assertEqual(<<"ab">>, alcove_proc:iolist_to_bin(T, ["a", <<"b">>])),
    {ok, #{cur := Cur, max := Max}} = alcove_proc:getrlimit(T, rlimit_nofile),
    ok = alcove_proc:setrlimit(T, rlimit_nofile, #{cur => Cur - 1, max => Max}),
    ?assertEqual({ok, #{cur => Cur - 1, max => Max}}, alcove_proc:getrlimit(T, rlimit_nofile)),
    {ok, FD} = alcove_proc:open(T, "/dev/null", [o_rdwr]),
    ?assertEqual({ok, [FD], [FD], []}, alcove_proc:select(T, [FD], [FD], [], #{sec => 1})),
    ?assertMatch({ok, _}, alcove_proc:fcntl(T, FD, f_getfd)),
    ok = alcove_proc:close(T, FD),
    ?assertEqual({error, eagain}, alcove_proc:call(T, fork, [])),
    ?assertEqual({error, eagain}, alcove_proc:call(T, clone, [[]])),
    ?assertEqual(true, alcove_proc:setopt(T, maxforkdepth, 5)),
    ?assertEqual(5, alcove_proc:getopt(T, maxforkdepth)),
    ?assertError(undef, alcove_proc:pledge(T, <<>>, <<>>)),
    ?assertError(undef, alcove_proc:jail(T, #{})).

calls_def() ->
    Root = filename:dirname(filename:dirname(proplists:get_value(source, alcove_proc:module_info(compile)))),
    {ok, Calls} = file:consult(filename:join(Root, "gen/calls.def")),
    Calls.

call_errors() ->
    [{doc, "Errors raise in the caller: badarg, badpid-like deaths, unknown calls."}].
call_errors(Config) ->
    {ok, T} = alcove_proc:fork(root(Config)),
    ?assertError(badarg, alcove_proc:chdir(T, 42)),
    ?assertError(undef, alcove_proc:call(T, no_such_call, [])),
    ?assertEqual({error, enoent}, alcove_proc:chdir(T, "/nonexistent")),
    % The task goes on.
    ?assert(is_integer(alcove_proc:getpid(T))).

ownership() ->
    [{doc, "Only the owner makes calls; anyone may fork; an exec'd task takes no calls; exec needs no children."}].
ownership(Config) ->
    Root = root(Config),
    {ok, T1} = alcove_proc:fork(Root),
    Self = self(),
    spawn_link(fun() ->
        {ok, T2} = alcove_proc:fork(T1),
        Self ! {forked, T2, catch alcove_proc:getpid(T1)},
        receive done -> ok end
    end),
    {T2, Refused} = receive {forked, T, R} -> {T, R} after 5000 -> ct:fail(no_fork) end,
    ?assertMatch({'EXIT', {eacces, _}}, Refused),
    ?assertMatch({'EXIT', {eacces, _}}, catch alcove_proc:getpid(T2)),
    ?assertEqual({error, eacces}, alcove_proc:execvp(T1, ["true"])),
    {ok, T3} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(T3, ["cat"]),
    ?assertMatch({'EXIT', {eacces, _}}, catch alcove_proc:getpid(T3)),
    % Some questions any process may ask.
    ?assertEqual(T1, alcove_proc:parent(T2)),
    ?assert(is_integer(alcove_proc:pidof(T2))).

controlling_process_and_stdio() ->
    [{doc, "controlling_process/2 hands calls and messages over; stdio/2 only the messages."}].
controlling_process_and_stdio(Config) ->
    {ok, T} = alcove_proc:fork(root(Config)),
    Self = self(),
    Other = spawn_link(fun() ->
        receive {take, Task} -> Self ! {pid, alcove_proc:getpid(Task)} end,
        receive {stdout, _, Data} -> Self ! {other_got, Data} end
    end),
    % A process known to be gone (not merely one spawned to end soon).
    {Dead, Ref} = spawn_monitor(fun() -> ok end),
    receive {'DOWN', Ref, process, Dead, _} -> ok end,
    ?assertEqual({error, badarg}, alcove_proc:controlling_process(T, Dead)),
    ok = alcove_proc:controlling_process(T, Other),
    ?assertMatch({'EXIT', {eacces, _}}, catch alcove_proc:getpid(T)),
    Other ! {take, T},
    OSPid = alcove_proc:pidof(T),
    ?assertEqual({pid, OSPid}, receive {pid, _} = P -> P after 5000 -> timeout end),
    {ok, T2} = alcove_proc:fork(root(Config)),
    Listener = spawn_link(fun() -> receive {stdout, _, Data} -> Self ! {listener_got, Data} end end),
    ok = alcove_proc:stdio(T2, Listener),
    ok = alcove_proc:execvp(T2, ["echo", "to the listener"]),
    ?assertEqual({listener_got, <<"to the listener\n">>},
                 receive {listener_got, _} = L -> L after 5000 -> timeout end).

stdin_refused() ->
    [{doc, "Stdin a program's pipe cannot take is refused: {stdin, Task, {error, {eagain, Written}}}."}].
stdin_refused(Config) ->
    {ok, T} = alcove_proc:fork(root(Config)),
    ok = alcove_proc:execvp(T, ["sleep", "60"]),
    Chunk = binary:copy(<<"x">>, 10000),
    [ok = alcove_proc:stdin(T, Chunk) || _ <- lists:seq(1, 8)],
    receive
        {stdin, T, {error, {eagain, N}}} -> ?assert(N >= 0 andalso N < 10000)
    after 5000 -> ct:fail(no_refusal)
    end.

eof() ->
    [{doc, "eof/1,2,3 close a child's stdin (or stdout, stderr) from its parent."}].
eof(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(T, ["sort"]),
    ok = alcove_proc:stdin(T, "b\na\n"),
    ok = alcove_proc:eof(T),
    {Messages, {exit_status, T, 0}} = until_exit(T),
    ?assertEqual(<<"a\nb\n">>, stdout_of(Messages)),
    {ok, T2} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(T2, ["cat"]),
    ok = alcove_proc:eof(Root, T2),
    ?assertMatch({_, {exit_status, T2, 0}}, until_exit(T2)),
    {ok, T3} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(T3, ["cat"]),
    ok = alcove_proc:eof(Root, alcove_proc:pidof(T3), stdin),
    ?assertMatch({_, {exit_status, T3, 0}}, until_exit(T3)),
    ?assertEqual({error, ebadf}, alcove_proc:eof(Root)),
    ?assertEqual({error, esrch}, alcove_proc:eof(Root, 999999999)).

cpid_getcpid_setcpid() ->
    [{doc, "cpid/1,2 as maps; getcpid/2,3 and setcpid/3,4 from the task or its parent."}].
cpid_getcpid_setcpid(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:fork(Root),
    OSPid = alcove_proc:pidof(T),
    [#{pid := OSPid, exec := false, flowcontrol := -1, signaloneof := 15}] = alcove_proc:cpid(Root),
    ?assertEqual(alcove_proc:cpid(Root, T), alcove_proc:cpid(Root, OSPid)),
    ?assertEqual(error, alcove_proc:cpid(Root, 999999999)),
    ?assertEqual(15, alcove_proc:getcpid(T, signaloneof)),
    ?assertEqual(true, alcove_proc:setcpid(T, signaloneof, 9)),
    ?assertEqual(9, alcove_proc:getcpid(Root, T, signaloneof)),
    ?assertEqual(true, alcove_proc:setcpid(Root, T, signaloneof, 10)),
    ?assertEqual(10, alcove_proc:getcpid(Root, OSPid, signaloneof)),
    ?assertEqual(true, alcove_proc:setcpid(Root, alcove_proc:cpid(Root, T), signaloneof, 11)),
    ?assertEqual(11, alcove_proc:getcpid(T, signaloneof)),
    % The root has no parent; a task that is gone has no record.
    ?assertEqual(false, alcove_proc:getcpid(Root, flowcontrol)),
    ?assertEqual(false, alcove_proc:setcpid(Root, flowcontrol, 1)),
    ok = alcove_proc:exit(T, 0),
    receive {exit_status, T, 0} -> ok after 5000 -> ct:fail(no_exit) end,
    ?assertEqual(false, alcove_proc:getcpid(T, signaloneof)),
    ?assertEqual(false, alcove_proc:getcpid(Root, T, signaloneof)),
    ?assertEqual(false, alcove_proc:setcpid(Root, T, signaloneof, 1)).

parent_pipeline_pidof() ->
    [{doc, "parent/1, pipeline/1, pidof/1, drv/1 describe the tree."}].
parent_pipeline_pidof(Config) ->
    Root = root(Config),
    {ok, T1} = alcove_proc:fork(Root),
    {ok, T2} = alcove_proc:fork(T1),
    ?assertEqual(noproc, alcove_proc:parent(Root)),
    ?assertEqual(Root, alcove_proc:parent(T1)),
    ?assertEqual(T1, alcove_proc:parent(T2)),
    ?assertEqual([], alcove_proc:pipeline(Root)),
    ?assertEqual([alcove_proc:pidof(T1), alcove_proc:pidof(T2)], alcove_proc:pipeline(T2)),
    Drv = alcove_proc:drv(Root),
    ?assertEqual(Drv, alcove_proc:drv(T2)),
    ?assertEqual(alcove_proc:pidof(Root), alcove:getpid(Drv, [])),
    ?assertEqual(-1, gen_server:call(Drv, fdexe)).

sh_cmd() ->
    [{doc, "sh/2 and cmd/2 run a program in a child and return its output."}].
sh_cmd(Config) ->
    Root = root(Config),
    ?assertEqual(<<"a b\n">>, alcove_proc:cmd(Root, ["echo", "a", "b"])),
    ?assertEqual(<<"out\nerr\n">>, alcove_proc:sh(Root, "echo out; echo err >&2")),
    ?assertEqual({error, enoent}, alcove_proc:cmd(Root, ["/nonexistent"])),
    Big = alcove_proc:sh(Root, "head -c 3000000 /dev/zero"),
    ?assertEqual(3000000, byte_size(Big)),
    % A flowcontrol set for the task's children does not hold what sh/2
    % and run/3 collect.
    true = alcove_proc:setopt(Root, flowcontrol, 1),
    Lines = alcove_proc:sh(Root, "seq 1 20000 | grep --line-buffered ."),
    ?assertEqual(iolist_to_binary([[integer_to_list(N), $\n] || N <- lists:seq(1, 20000)]), Lines),
    ?assertMatch({ok, #{status := {exit_status, 0}, stdout := <<"a\n">>}}, alcove_proc:run(Root, ["echo", "a"])),
    ?assertEqual([], alcove_proc:cpid(Root)).

reexec() ->
    [{doc, "reexec/1,3 replace a task's helper with a fresh image, options kept."}].
reexec(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:fork(Root),
    OSPid = alcove_proc:pidof(T),
    true = alcove_proc:setopt(T, maxforkdepth, 7),
    ok = alcove_proc:reexec(T),
    ?assertEqual(OSPid, alcove_proc:getpid(T)),
    ?assertEqual(7, alcove_proc:getopt(T, maxforkdepth)),
    Argv = alcove_drv:getopts([{progname, alcove_drv:progname()}, {depth, 1}]),
    ok = alcove_proc:reexec(T, Argv, ["A=1"]),
    ?assertEqual([<<"A=1">>], alcove_proc:environ(T)),
    ok = alcove_proc:replace_process_image(T),
    ok = alcove_proc:replace_process_image(T, Argv, []),
    ?assertEqual([], alcove_proc:environ(T)),
    ?assertEqual({error, ebadf}, alcove_proc:reexec(T, {fd, -1, Argv}, [])),
    % Still a working task: it forks and runs programs.
    ?assertEqual(<<"ok\n">>, alcove_proc:cmd(T, ["echo", "ok"])),
    % A task with children refuses; a root task without any works.
    {ok, _} = alcove_proc:fork(T),
    ?assertEqual({error, eacces}, alcove_proc:reexec(T)),
    {ok, Root2} = alcove_proc:fork(),
    Helper = alcove_proc:pidof(Root2),
    ?assertEqual(ok, alcove_proc:reexec(Root2)),
    ?assertEqual(Helper, alcove_proc:getpid(Root2)),
    ?assertEqual(<<"again\n">>, alcove_proc:cmd(Root2, ["echo", "again"])),
    unlink(Root2),
    alcove_proc:stop(Root2).

task_ops() ->
    [{doc, "task/3,4 build a child from a list of operations; an error stops it."}].
task_ops(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:task(Root, [{chdir, ["/"]}, [{setenv, ["X", "1", 1]}]], []),
    ?assertEqual({ok, <<"/">>}, alcove_proc:getcwd(T)),
    ?assertEqual(<<"1">>, alcove_proc:getenv(T, "X")),
    ?assertEqual({error, enoent}, alcove_proc:task(Root, [{chdir, ["/nonexistent"]}], [])),
    % The failed child is stopped and killed: only T remains once it is reaped.
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> length(alcove_proc:cpid(Root)) =:= 1 end)),
    {ok, T2} = alcove_proc:task(Root, [{chdir, ["/nonexistent"], [{errexit, false}]},
                                       {?MODULE, set_name, ["x"], [state]}], "named"),
    ?assert(is_pid(T2)),
    {ok, T3} = alcove_proc:task(Root, [], [], [{init, fun(P) -> alcove_proc:clone(P, []) end}]),
    ?assert(is_integer(alcove_proc:pidof(T3))).

%% A task op that takes the state first.
set_name(State, Task, Suffix) ->
    ok = alcove_proc:setproctitle(Task, State ++ Suffix),
    {ok, State}.

sigaction_fun() ->
    [{doc, "A trapped signal goes to the owner as {signal, Task, Sig, Info}, or to a fun."}].
sigaction_fun(Config) ->
    {ok, T} = alcove_proc:fork(root(Config)),
    OSPid = alcove_proc:pidof(T),
    ok = alcove_proc:kill(root(Config), OSPid, sigusr1),
    receive
        {signal, T, sigusr1, Info} -> ?assert(is_binary(Info))
    after 5000 -> ct:fail(no_signal)
    end,
    Self = self(),
    {ok, sig_info} = alcove_proc:sigaction(T, sigusr2,
        {sig_info, fun(_Drv, Pipeline, Sig, _Info) -> Self ! {handled, Pipeline, Sig} end}),
    ok = alcove_proc:kill(root(Config), OSPid, sigusr2),
    ?assertEqual({handled, [OSPid], sigusr2}, receive {handled, _, _} = H -> H after 5000 -> timeout end).

atexit() ->
    [{doc, "When a child task stops while its OS process lives on, its parent runs atexit on the child's record."}].
atexit(_Config) ->
    % atexit is for a child whose OS process lives on after its task
    % stopped. With the default owner_exit_signal (SIGKILL) the driver
    % kills it as the task goes, and whether the parent still finds it
    % would be a race: SIGCONT leaves it running.
    application:set_env(alcove, options, [{owner_exit_signal, 18}]),
    {ok, Root} = alcove_proc:fork(),
    Self = self(),
    ok = alcove_proc:atexit(Root, fun(_Drv, _Pipeline, #{pid := Pid}) -> Self ! {atexit, Pid} end),
    {ok, T} = alcove_proc:fork(Root),
    OSPid = alcove_proc:pidof(T),
    ok = alcove_proc:stop(T),
    ?assertEqual({atexit, OSPid}, receive {atexit, _} = A -> A after 30000 -> timeout end),
    unlink(Root),
    alcove_proc:stop(Root).

filter() ->
    [{doc, "filter/2,3: denied calls raise undef, in the task and the tasks forked from it later."}].
filter(Config) ->
    Root = root(Config),
    {ok, Before} = alcove_proc:fork(Root),
    ok = alcove_proc:filter(Root, [fork, getcwd]),
    ?assertError(undef, alcove_proc:fork(Root)),
    ?assertError(undef, alcove_proc:getcwd(Root)),
    {ok, _} = alcove_proc:fork(Before),
    ?assertMatch({ok, _}, alcove_proc:getcwd(Before)),
    {ok, T} = alcove_proc:fork(Before),
    ok = alcove_proc:filter(T, {allow, [fork, getpid, exit]}, {deny, []}),
    ?assertError(undef, alcove_proc:getcwd(T)),
    ?assert(is_integer(alcove_proc:getpid(T))).

sudo_options() ->
    [{doc, "sudo/0,1 set the exec prefix of later drivers in the application environment."}].
sudo_options(_Config) ->
    ok = alcove_proc:sudo(),
    ?assertEqual([{exec, "sudo -n"}], application:get_env(alcove, options, [])),
    ok = alcove_proc:sudo(<<"doas">>),
    ?assertEqual([{exec, "doas"}], application:get_env(alcove, options, [])),
    application:set_env(alcove, options, [{exec, "/usr/bin/env ALCOVE_PROC=1"}]),
    {ok, Root} = alcove_proc:fork(),
    ?assertEqual(<<"1\n">>, alcove_proc:sh(Root, "echo $ALCOVE_PROC")),
    unlink(Root),
    alcove_proc:stop(Root).

pty() ->
    [{doc, "fork/2 with a pty: the program sees a terminal of the size given; winsize/3 resizes it (SIGWINCH)."}].
pty(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:fork(Root, [{pty, {24, 80}}]),
    % The WINCH trap only notes the signal: a trap's own output could wait
    % for the next line, should the signal come as the shell is about to
    % block in read(2). The shell reports after the line that follows
    % the resize; a read the signal interrupts is read again.
    Script = "test -t 0 && test -t 1 && test -t 2 && echo isatty; stty size; "
             "winch=no; trap 'winch=yes' WINCH; read line; echo got:$line; "
             "until read line; do :; done; echo winch:$winch; stty size; "
             "until read line && [ \"$line\" = bye ]; do :; done",
    ok = alcove_proc:execvp(T, ["sh", "-c", Script]),
    expect_pty(T, <<"isatty\r\n24 80\r\n">>),
    ok = alcove_proc:stdin(T, "typed\n"),
    % The terminal echoes what is typed, then the program answers.
    expect_pty(T, <<"typed\r\ngot:typed\r\n">>),
    ok = alcove_proc:winsize(T, 30, 100),
    ok = alcove_proc:stdin(T, "next\n"),
    expect_pty(T, <<"next\r\nwinch:yes\r\n30 100\r\n">>),
    ok = alcove_proc:stdin(T, "bye\n"),
    ?assertMatch({_, {exit_status, T, 0}}, until_exit(T)),
    % Without a pty: pipes, and winsize says so.
    {ok, P} = alcove_proc:fork(Root),
    ?assertEqual({error, enotty}, alcove_proc:winsize(P, 1, 1)),
    ok = alcove_proc:execvp(P, ["sh", "-c", "test -t 1 || echo notty"]),
    ?assertEqual(<<"notty\n">>, stdout_of(element(1, until_exit(P)))).

expect_pty(T, Expected) ->
    ?assertEqual(Expected, read_pty(T, byte_size(Expected), <<>>)).

read_pty(_T, Size, Acc) when byte_size(Acc) >= Size ->
    Acc;
read_pty(T, Size, Acc) ->
    receive
        {stdout, T, Data} -> read_pty(T, Size, <<Acc/binary, Data/binary>>)
    after 5000 -> ct:fail({pty_output, Acc})
    end.

tree() ->
    [{doc, "tree/1 pictures the live tree (pids across PID namespaces, exec, uid, namespaces); format_tree/1 prints it."}].
tree(Config) ->
    Root = root(Config),
    {ok, A} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(A, ["cat"]),
    {ok, B} = alcove_proc:clone(Root, [clone_newpid, clone_newuts]),
    {ok, B1} = alcove_proc:fork(B),
    ok = alcove_proc:setuid(B1, 65534),
    Tree = alcove_proc:tree(Root),
    #{task := Root, pipeline := [], exec := false, uid := 0, children := [TA, TB]} = Tree,
    #{task := A, exec := ["cat"], host_pid := HostA, os_pid := HostA} = TA,
    #{task := B, children := [TB1], namespaces := NSB, host_pid := HostB} = TB,
    ?assertEqual(HostB, alcove_proc:pidof(B)),
    % B1 is pid 2 in B's namespace; this node sees it under another pid.
    #{task := B1, os_pid := 2, uid := 65534, host_pid := HostB1} = TB1,
    ?assert(is_integer(HostB1) andalso HostB1 =/= 2),
    ?assertNotEqual(maps:get(pid, maps:get(namespaces, Tree)), maps:get(pid, NSB)),
    ?assertEqual(maps:get(net, maps:get(namespaces, Tree)), maps:get(net, NSB)),
    Text = lists:flatten(io_lib:format("~ts", [alcove_proc:format_tree(Tree)])),
    ct:pal("~ts", [Text]),
    [L1, L2, L3, L4] = string:split(string:trim(Text), "\n", all),
    ?assertMatch({match, _}, re:run(L1, "^<[0-9.]+> [0-9]+ alcove uid=0$")),
    ?assertMatch({match, _}, re:run(L2, "^\\|- <[0-9.]+> [0-9]+ cat uid=0$")),
    ?assertMatch({match, _}, re:run(L3, "^`- <[0-9.]+> [0-9]+ alcove uid=0 pid:\\[[0-9]+\\] uts:\\[[0-9]+\\]$")),
    ?assertMatch({match, _}, re:run(L4, "^   `- <[0-9.]+> 2 alcove uid=65534$")).

%%% lifetimes

task_death_kills() ->
    [{doc, "When a task's Erlang process dies (stopped, killed, crashed) its OS process is gone."}].
task_death_kills(Config) ->
    Root = root(Config),
    Kill = fun(How) ->
        {ok, T} = alcove_proc:fork(Root),
        ok = alcove_proc:execvp(T, ["sleep", "100"]),
        OSPid = alcove_proc:pidof(T),
        unlink(T),
        How(T),
        ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(OSPid) end))
    end,
    Kill(fun alcove_proc:stop/1),
    Kill(fun(T) -> exit(T, kill) end),
    Kill(fun(T) -> sys:terminate(T, crashed) end),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_proc:cpid(Root) =:= [] end)).

parent_death_kills_subtree() ->
    [{doc, "A task whose parent task dies goes with it, OS process and all."}].
parent_death_kills_subtree(Config) ->
    Root = root(Config),
    {ok, T1} = alcove_proc:fork(Root),
    {ok, T2} = alcove_proc:fork(T1),
    {ok, T3} = alcove_proc:fork(T2),
    ok = alcove_proc:execvp(T3, ["sleep", "100"]),
    OSPids = [alcove_proc:pidof(T) || T <- [T1, T2, T3]],
    Refs = [monitor(process, T) || T <- [T2, T3]],
    exit(T1, kill),
    [receive {'DOWN', Ref, process, _, _} -> ok after 5000 -> ct:fail(task_alive) end || Ref <- Refs],
    [?assertEqual({OSPid, ok}, {OSPid, alcove_ct:wait_until(fun() -> alcove_ct:ended(OSPid) end)}) || OSPid <- OSPids].

program_children_killed() ->
    [{doc, "What an exec'd program started (in its process group) dies with its task."}].
program_children_killed(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(T, ["sh", "-c", "sleep 100 & sleep 100 & echo $!; wait"]),
    Child = receive {stdout, T, Line} -> binary_to_integer(string:trim(Line)) after 5000 -> ct:fail(no_pid) end,
    ?assertNot(alcove_ct:ended(Child)),
    OSPid = alcove_proc:pidof(T),
    unlink(T),
    exit(T, kill),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(OSPid) andalso alcove_ct:ended(Child) end)),
    % Through a parent's death as well.
    {ok, P} = alcove_proc:fork(Root),
    {ok, T2} = alcove_proc:fork(P),
    ok = alcove_proc:execvp(T2, ["sh", "-c", "sleep 100 & echo $!; wait"]),
    Child2 = receive {stdout, T2, Line2} -> binary_to_integer(string:trim(Line2)) after 5000 -> ct:fail(no_pid) end,
    unlink(P),
    exit(P, kill),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Child2) end)).

supervised() ->
    [{doc, "child_spec/1 puts a root task under a supervisor; restarts leave no stray OS process."}].
supervised(_Config) ->
    process_flag(trap_exit, true),
    Spec = alcove_proc:child_spec(#{id => root}),
    {ok, Sup} = supervisor:start_link(?MODULE, Spec),
    [{root, Root1, worker, _}] = supervisor:which_children(Sup),
    Helper1 = alcove_proc:pidof(Root1),
    % Anyone may fork from (and call) a supervised root.
    {ok, T} = alcove_proc:fork(Root1),
    ok = alcove_proc:execvp(T, ["sleep", "100"]),
    Child = alcove_proc:pidof(T),
    exit(Root1, kill),
    ok = alcove_ct:wait_until(fun() ->
        case supervisor:which_children(Sup) of
            [{root, R, _, _}] when is_pid(R), R =/= Root1 -> true;
            _ -> false
        end
    end),
    [{root, Root2, _, _}] = supervisor:which_children(Sup),
    ?assertNotEqual(Helper1, alcove_proc:pidof(Root2)),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Helper1) andalso alcove_ct:ended(Child) end)),
    exit(Sup, shutdown),
    receive {'EXIT', Sup, shutdown} -> ok after 5000 -> ct:fail(sup_alive) end.

%% @private
init(Spec) ->
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10}, [Spec]}}.

%%% backpressure

backpressure_bounds_memory() ->
    [{doc, "1 GiB to a consumer taking a message a millisecond: all of it arrives, memory stays bounded."}].
backpressure_bounds_memory(Config) ->
    Size = list_to_integer(os:getenv("ALCOVE_PROC_BP_BYTES", integer_to_list(1 bsl 30))),
    Root = root(Config),
    erlang:garbage_collect(),
    Baseline = erlang:memory(total),
    Sampler = spawn_link(fun() -> sample(Baseline) end),
    {ok, T} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(T, ["head", "-c", integer_to_list(Size), "/dev/zero"]),
    {Bytes, Exit} = consume(T, 0),
    Sampler ! {peak, self()},
    Peak = receive {peak, P} -> P after 5000 -> ct:fail(no_sampler) end,
    ?assertEqual({Size, {exit_status, T, 0}}, {Bytes, Exit}),
    MB = 1024 * 1024,
    ct:comment("~b MiB through; VM memory ~.1f MB before, peak ~.1f MB",
               [Size div MB, Baseline / 1.0e6, Peak / 1.0e6]),
    ct:pal("backpressure: ~b bytes, memory baseline ~b, peak ~b", [Size, Baseline, Peak]),
    % Growth over the baseline: what earlier suites left in this VM (up to
    % 55 MB seen) is not this test's.
    ?assert(Peak - Baseline < 40 * 1000 * 1000).

%% One message a millisecond; the exit must come after the last byte.
consume(T, Bytes) ->
    receive
        {stdout, T, Data} ->
            timer:sleep(1),
            consume(T, Bytes + byte_size(Data));
        {exit_status, T, _} = Exit ->
            {Bytes, Exit}
    after 30000 -> ct:fail({stalled, Bytes})
    end.

sample(Peak) ->
    receive
        {peak, From} -> From ! {peak, Peak}
    after 20 ->
        sample(max(Peak, erlang:memory(total)))
    end.

backpressure_off() ->
    [{doc, "Backpressure can be turned off (per task or by option); a hand-set flowcontrol is left alone."}].
backpressure_off(Config) ->
    Root = root(Config),
    {ok, On} = alcove_proc:fork(Root),
    ok = alcove_proc:execvp(On, ["sleep", "10"]),
    ?assertEqual(16, alcove_proc:getcpid(Root, On, flowcontrol)),
    {ok, Off} = alcove_proc:fork(Root),
    ok = alcove_proc:backpressure(Off, false),
    ok = alcove_proc:execvp(Off, ["sleep", "10"]),
    ?assertEqual(-1, alcove_proc:getcpid(Root, Off, flowcontrol)),
    {ok, Hand} = alcove_proc:fork(Root),
    true = alcove_proc:setcpid(Hand, flowcontrol, 2),
    ok = alcove_proc:execvp(Hand, ["yes"]),
    receive {stdout, Hand, _} -> ok after 5000 -> ct:fail(no_output) end,
    receive {stdout, Hand, _} -> ok after 5000 -> ct:fail(no_output) end,
    ?assertEqual(false, receive {stdout, Hand, _} -> true after 500 -> false end),
    application:set_env(alcove, options, [{backpressure, false}]),
    {ok, Root2} = alcove_proc:fork(),
    {ok, T} = alcove_proc:fork(Root2),
    ok = alcove_proc:execvp(T, ["sleep", "10"]),
    ?assertEqual(-1, alcove_proc:getcpid(Root2, T, flowcontrol)),
    unlink(Root2),
    alcove_proc:stop(Root2).

%%% remote

remote_node() ->
    [{doc, "A task works from another node: calls, stdin, controlling process, output, stop."}].
remote_node(Config) ->
    Root = root(Config),
    {ok, T} = alcove_proc:fork(Root),
    OSPid = alcove_proc:pidof(T),
    case start_peer() of
        {skip, _} = Skip ->
            Skip;
        {ok, Peer, Node} ->
            try
                Self = self(),
                Remote = erpc:call(Node, erlang, spawn, [fun() -> remote_user(Self) end]),
                ok = alcove_proc:controlling_process(T, Remote),
                Remote ! {task, T},
                ?assertEqual({remote, OSPid, <<"from afar\n">>},
                             receive {remote, _, _} = R -> R after 10000 -> timeout end),
                ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(OSPid) end))
            after
                peer:stop(Peer)
            end
    end.

remote_user(Tester) ->
    T = receive {task, Task} -> Task end,
    OSPid = alcove_proc:getpid(T),
    ok = alcove_proc:execvp(T, ["cat"]),
    ok = alcove_proc:stdin(T, "from afar\n"),
    Data = receive {stdout, T, D} -> D after 5000 -> timeout end,
    Tester ! {remote, OSPid, Data},
    alcove_proc:stop(T).

start_peer() ->
    case alcove_ct:ensure_distributed() of
        ok ->
            Paths = [filename:dirname(code:which(M)) || M <- [alcove_proc, ?MODULE]],
            Args = lists:append([["-pa", P] || P <- Paths]),
            {ok, Peer, Node} = peer:start_link(#{name => peer:random_name(), args => Args}),
            {ok, Peer, Node};
        {error, Reason} ->
            {skip, {not_distributed, Reason}}
    end.

%%% stress

stress() ->
    [{doc, "Tasks forked, exec'd, written to and killed at random; then nothing is left."}].
stress(Config) ->
    Seconds = list_to_integer(os:getenv("ALCOVE_PROC_STRESS_SECONDS", "30")),
    Root = root(Config),
    rand:seed(exsss, {1, 2, 3}),
    Deadline = erlang:monotonic_time(millisecond) + Seconds * 1000,
    {Tasks, OSPids, Ops, Most} = stress_loop(Root, Deadline, [], [], 0, 0),
    ct:comment("~b operations, at most ~b tasks at once, ~b OS processes made",
               [Ops, Most, length(OSPids)]),
    Helper = alcove_proc:pidof(Root),
    unlink(Root),
    alcove_proc:stop(Root),
    All = [Helper | OSPids],
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> lists:all(fun alcove_ct:ended/1, All) end)),
    ?assertEqual([], [T || T <- Tasks, is_process_alive(T)]),
    ?assertEqual([], [P || P <- All, alcove_ct:proc_state(P) =:= <<"Z">>]).

stress_loop(Root, Deadline, Tasks0, OSPids, Ops, Most) ->
    Tasks = [T || T <- Tasks0, is_process_alive(T)],
    drain(),
    case erlang:monotonic_time(millisecond) >= Deadline of
        true ->
            {Tasks, OSPids, Ops, Most};
        false ->
            % Weighted: fork 4, exec 2, stdin 2, stop a task 1, kill its process 1.
            Op = element(rand:uniform(10), {1, 1, 1, 1, 2, 2, 3, 3, 4, 5}),
            {Tasks1, OSPids1} = stress_op(Op, Root, Tasks, OSPids),
            stress_loop(Root, Deadline, Tasks1, OSPids1, Ops + 1, max(Most, length(Tasks1)))
    end.

stress_op(1, Root, Tasks, OSPids) when length(Tasks) < 200 ->
    % Mostly from the root, so the population grows wide as well as deep.
    Parent = case rand:uniform(4) of 1 when Tasks =/= [] -> pick(Tasks); _ -> Root end,
    case catch alcove_proc:fork(Parent) of
        {ok, T} ->
            % pidof is noproc if the task went already (its parent was killed).
            {[T | Tasks], [P || P <- [alcove_proc:pidof(T)], is_integer(P)] ++ OSPids};
        _ -> {Tasks, OSPids}
    end;
stress_op(2, _Root, [_ | _] = Tasks, OSPids) ->
    T = pick(Tasks),
    _ = (catch alcove_proc:execvp(T, pick([["cat"], ["sleep", "30"], ["sh", "-c", "sleep 30 & cat"]]))),
    {Tasks, OSPids};
stress_op(3, _Root, [_ | _] = Tasks, OSPids) ->
    _ = alcove_proc:stdin(pick(Tasks), <<"some input\n">>),
    {Tasks, OSPids};
stress_op(4, _Root, [_ | _] = Tasks, OSPids) ->
    T = pick(Tasks),
    unlink(T),
    case pick([kill, stop, crash]) of
        kill -> exit(T, kill);
        stop -> alcove_proc:stop(T);
        crash -> catch sys:terminate(T, crashed, 1000)
    end,
    {Tasks -- [T], OSPids};
stress_op(5, Root, [_ | _] = Tasks, OSPids) ->
    T = pick(Tasks),
    case alcove_proc:pidof(T) of
        noproc -> ok;
        OSPid -> _ = (catch alcove_proc:kill(Root, OSPid, sigkill))
    end,
    {Tasks, OSPids};
stress_op(_, Root, Tasks, OSPids) ->
    stress_op(1, Root, Tasks, OSPids).

pick(List) ->
    lists:nth(rand:uniform(length(List)), List).

drain() ->
    receive
        {Tag, _, _} when Tag =:= stdout; Tag =:= stderr; Tag =:= exit_status; Tag =:= termsig; Tag =:= stdin -> drain();
        {signal, _, _, _} -> drain();
        {'EXIT', _, _} -> drain()
    after 0 -> ok
    end.
