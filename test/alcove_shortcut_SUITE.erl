%%% Common Test suite: shortcuts, the sockets the driver holds straight to
%%% each forked helper. A call to a process below the root goes to that
%%% process alone (the helpers above it do not relay it); exec, exit and
%%% the other calls its parent must see still go down the tree. These
%%% cases check what a caller can see of that: calls that skip a stopped
%%% parent, how a call in flight ends when its process execs or dies, many
%%% callers at once, and that the VM holds one fd per live helper and none
%%% once they are gone.
-module(alcove_shortcut_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
-export([skips_stopped_parent/1, fds_follow_helpers/1, exec_ends_shortcut/1,
         death_during_call_deep/1, many_callers/1, large_calls/1, timed_out_calls/1,
         stop_closes_shortcuts/1, capped_by_fd_limit/1, reexec_keeps_shortcut/1]).
-export([skips_stopped_parent/0, fds_follow_helpers/0, exec_ends_shortcut/0,
         death_during_call_deep/0, many_callers/0, large_calls/0, timed_out_calls/0,
         stop_closes_shortcuts/0, capped_by_fd_limit/0, reexec_keeps_shortcut/0]).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [skips_stopped_parent, fds_follow_helpers, exec_ends_shortcut, death_during_call_deep,
     many_callers, large_calls, timed_out_calls, stop_closes_shortcuts, capped_by_fd_limit,
     reexec_keeps_shortcut].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

drv(Config) -> ?config(drv, Config).

chain(Drv, Depth) ->
    lists:foldl(fun(_, P) -> {ok, C} = alcove:fork(Drv, P), P ++ [C] end, [], lists:seq(1, Depth)).

stopped(OSPid) -> alcove_ct:proc_state(OSPid) =:= <<"T">>.

%% The VM's open sockets (the driver's, the shortcuts and the VM's own).
vm_sockets() ->
    Dir = "/proc/" ++ os:getpid() ++ "/fd/",
    {ok, Names} = file:list_dir(Dir),
    length([N || N <- Names, {ok, "socket:" ++ _} <- [file:read_link(Dir ++ N)]]).

skips_stopped_parent() ->
    [{doc, "With its parent stopped, a process and those under it still answer their own calls."}].
skips_stopped_parent(Config) ->
    Drv = drv(Config),
    [C, G, H] = chain(Drv, 3),
    ok = alcove:kill(Drv, [], C, sigstop),
    ok = alcove_ct:wait_until(fun() -> stopped(C) end),
    [?assertEqual(G, alcove:getpid(Drv, [C, G], 5000)) || _ <- lists:seq(1, 100)],
    [?assertEqual(H, alcove:getpid(Drv, [C, G, H], 5000)) || _ <- lists:seq(1, 100)],
    % A fork there (answered by G itself) gives a child that answers too.
    {ok, K} = alcove:fork(Drv, [C, G]),
    ?assertEqual(K, alcove:getpid(Drv, [C, G, K], 5000)),
    ?assert(stopped(C)),
    ok = alcove:kill(Drv, [], C, sigcont),
    ?assertEqual(C, alcove:getpid(Drv, [C])).

fds_follow_helpers() ->
    [{doc, "The VM holds one shortcut per forked helper below another and per child of the root "
           "helper called once, and none once they exited."}].
fds_follow_helpers(Config) ->
    Drv = drv(Config),
    Before = vm_sockets(),
    [C | _] = P = chain(Drv, 6),
    {ok, C2} = alcove:fork(Drv, []),
    % C2 has not been called: no shortcut yet (C got its own with the
    % fork made in it).
    ?assertEqual(Before + 6, vm_sockets()),
    C2 = alcove:getpid(Drv, [C2]),
    ?assertEqual(Before + 7, vm_sockets()),
    ok = alcove:exit(Drv, [C2], 0),
    {exit_status, 0} = alcove_ct:wait_exit(Drv, [C2]),
    % The middle of the chain goes: the five under it die with it.
    ok = alcove:kill(Drv, [], C, sigkill),
    {termsig, sigkill} = alcove_ct:wait_exit(Drv, [C]),
    ok = alcove_ct:wait_until(fun() -> vm_sockets() =:= Before end),
    [?assertError(badpid, alcove:getpid(Drv, lists:sublist(P, N))) || N <- lists:seq(1, 6)],
    ct:pal("VM sockets: ~b before, ~b with 7 helpers, ~b after", [Before, Before + 7, vm_sockets()]).

exec_ends_shortcut() ->
    [{doc, "After exec a process's calls raise badpid; its stdio still works; the shortcut is closed."}].
exec_ends_shortcut(Config) ->
    Drv = drv(Config),
    Before = vm_sockets(),
    [C, G] = P = chain(Drv, 2),
    ?assertEqual(G, alcove:getpid(Drv, P)),
    ok = alcove:execvp(Drv, P, "/bin/cat", ["cat"]),
    ?assertError(badpid, alcove:getpid(Drv, P)),
    ok = alcove:stdin(Drv, P, <<"through the tree\n">>),
    ?assertEqual(<<"through the tree\n">>, alcove_ct:read_stdout(Drv, P, 17)),
    ok = alcove:eof(Drv, P),
    {exit_status, 0} = alcove_ct:wait_exit(Drv, P),
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    % C's shortcut is left.
    ok = alcove_ct:wait_until(fun() -> vm_sockets() =:= Before + 1 end).

death_during_call_deep() ->
    [{doc, "At depth 3, a call in a process that dies raises how it ended; one under it raises badpid."}].
death_during_call_deep(Config) ->
    Drv = drv(Config),
    [C, G, H, K] = chain(Drv, 4),
    Self = self(),
    Select = [alcove:syscall_constant(Drv, [], S) || S <- [sys_select, sys_pselect6]],
    % select with no fds and no timeout blocks until the process dies.
    [spawn_link(fun() -> Self ! {raised, P, catch alcove:select(Drv, P, [], [], [], [])} end)
     || P <- [[C, G, H], [C, G, H, K]]],
    ok = alcove_ct:wait_until(fun() -> alcove_ct:in_syscall(H, Select) andalso alcove_ct:in_syscall(K, Select) end),
    ok = alcove:kill(Drv, [C, G], H, sigkill),
    Raised = fun(P) ->
        receive {raised, P, {'EXIT', {Reason, _}}} -> Reason after 10000 -> timeout end
    end,
    ?assertEqual({termsig, sigkill}, Raised([C, G, H])),
    ?assertEqual(badpid, Raised([C, G, H, K])),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C, G, H])),
    ?assertEqual(G, alcove:getpid(Drv, [C, G])).

many_callers() ->
    [{doc, "50 callers at once on one deep process (past the shortcut's limit) all get their own answers."}].
many_callers(Config) ->
    Drv = drv(Config),
    P = chain(Drv, 3),
    Self = self(),
    Callers = [spawn_link(fun() ->
                   Answers = [alcove:getenv(Drv, P, "HOME") =:= alcove:getenv(Drv, P, "HOME")
                              andalso alcove:setenv(Drv, P, "X" ++ integer_to_list(N), integer_to_list(I), 1) =:= ok
                              andalso alcove:getenv(Drv, P, "X" ++ integer_to_list(N)) =:= list_to_binary(integer_to_list(I))
                              || I <- lists:seq(1, 100)],
                   Self ! {done, N, lists:all(fun(A) -> A end, Answers)}
               end) || N <- lists:seq(1, 50)],
    [receive {done, N, Ok} -> ?assert(Ok) after 30000 -> ct:fail({no_answer, N}) end
     || N <- lists:seq(1, length(Callers))],
    ?assertEqual(lists:last(P), alcove:getpid(Drv, P)).

large_calls() ->
    [{doc, "Calls too large for a shortcut (and small ones between them) are answered in order."}].
large_calls(Config) ->
    Drv = drv(Config),
    P = chain(Drv, 2),
    [begin
         Value = binary:copy(<<"v">>, Size),
         ok = alcove:setenv(Drv, P, "BIG", Value, 1),
         ?assertEqual(Value, alcove:getenv(Drv, P, "BIG"))
     end || Size <- [10, 8000, 9000, 60000, 100]].

timed_out_calls() ->
    [{doc, "Calls that time out in a stopped process leave no answer behind and the process answers after."}].
timed_out_calls(Config) ->
    Drv = drv(Config),
    [C, G] = P = chain(Drv, 2),
    ok = alcove:kill(Drv, [C], G, sigstop),
    ok = alcove_ct:wait_until(fun() -> stopped(G) end),
    % More than a shortcut takes at once: the rest go down the tree.
    [?assertExit(timeout, alcove:getpid(Drv, P, 20)) || _ <- lists:seq(1, 40)],
    ok = alcove:kill(Drv, [C], G, sigcont),
    [?assertEqual(G, alcove:getpid(Drv, P, 5000)) || _ <- lists:seq(1, 100)],
    % The 40 late answers were dropped.
    ?assertEqual(G, alcove:getpid(Drv, P)),
    receive
        {alcove_call, Drv, P, Late} -> ct:fail({late_answer, Late})
    after 200 -> ok
    end.

stop_closes_shortcuts() ->
    [{doc, "Stopping the driver closes every shortcut: the VM's fds are back to what they were."}].
stop_closes_shortcuts(_Config) ->
    Before = vm_sockets(),
    {ok, Drv} = alcove_drv:start(),
    [chain_under(Drv, [], 3) || _ <- lists:seq(1, 5)],
    ?assertEqual(Before + 1 + 15, vm_sockets()),
    ok = alcove_drv:stop(Drv),
    ok = alcove_ct:wait_until(fun() -> vm_sockets() =:= Before end).

chain_under(_Drv, P, 0) -> P;
chain_under(Drv, P, N) -> {ok, C} = alcove:fork(Drv, P), chain_under(Drv, P ++ [C], N - 1).

capped_by_fd_limit() ->
    [{doc, "A VM with 80 fds holds at most 20 shortcuts; helpers past that answer through the tree, "
           "and programs' output still reaches the VM."}].
capped_by_fd_limit(_Config) ->
    Ebin = filename:dirname(code:which(alcove)),
    Script =
        "{ok, Drv} = alcove_drv:start_link([]),"
        "Dir = \"/proc/\" ++ os:getpid() ++ \"/fd/\","
        "Socks = fun() -> {ok, Ns} = file:list_dir(Dir),"
        "    length([N || N <- Ns, {ok, \"socket:\" ++ _} <- [file:read_link(Dir ++ N)]]) end,"
        "S0 = Socks(),"
        % 12 at the root and 12 under the first: each helper may have 16
        % children under this limit.
        "Top = [begin {ok, C} = alcove:fork(Drv, []), [C] end || _ <- lists:seq(1, 12)],"
        "[[F] | _] = Top,"
        "All = Top ++ [begin {ok, C} = alcove:fork(Drv, [F]), [F, C] end || _ <- lists:seq(1, 12)],"
        % A call to each (a root helper's child gets its shortcut then).
        "Answers = lists:all(fun(P) -> alcove:getpid(Drv, P) =:= lists:last(P) end, All),"
        "S1 = Socks(),"
        "[_, Last] = lists:last(All),"
        "ok = alcove:execvp(Drv, [F, Last], \"/bin/echo\", [\"echo\", \"out\"]),"
        "Out = receive {alcove_stdout, Drv, [F, Last], O} -> O after 5000 -> none end,"
        "io:format(\"~p~n\", [{S1 - S0, Answers, Out}]),"
        "halt().",
    Out = os:cmd("ulimit -n 80; erl -noshell -pa " ++ Ebin ++ " -eval '" ++ Script ++ "'"),
    ct:pal("~s", [Out]),
    {ok, Tokens, _} = erl_scan:string(Out ++ "."),
    ?assertEqual({ok, {20, true, <<"out\n">>}}, erl_parse:parse_term(Tokens)).

reexec_keeps_shortcut() ->
    [{doc, "Calls waiting on a helper's shortcut while it re-executes itself are answered by the new image."}].
reexec_keeps_shortcut(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, FD} = alcove:open(Drv, [C], alcove_drv:progname(), [o_rdonly, o_cloexec], 0),
    {ok, _} = alcove:fcntl(Drv, [C], 5, f_setfd, 0),
    Argv = alcove_drv:getopts([{depth, 1}]),
    ok = alcove:kill(Drv, [], C, sigstop),
    ok = alcove_ct:wait_until(fun() -> stopped(C) end),
    Self = self(),
    % While C is stopped: the exec waits on its channel from the root, the
    % getpids on its shortcut. When it goes on, it reads the exec first.
    Exec = spawn_link(fun() -> Self ! {execed, alcove:fexecve(Drv, [C], FD, Argv, [], 10000)} end),
    ok = alcove_ct:wait_until(fun() -> waiting(Exec) end),
    Callers = [spawn_link(fun() -> Self ! {answered, self(), catch alcove:getpid(Drv, [C], 10000)} end)
               || _ <- lists:seq(1, 10)],
    ok = alcove_ct:wait_until(fun() -> lists:all(fun waiting/1, Callers) end),
    ok = alcove:kill(Drv, [], C, sigcont),
    ?assertEqual(ok, receive {execed, R} -> R after 15000 -> timeout end),
    [?assertEqual({P, C}, receive {answered, P, Pid} -> {P, Pid} after 15000 -> {P, timeout} end)
     || P <- Callers],
    % The new image still has it: C's fds are stdio, 3 to 5 and one socket.
    Dir = "/proc/" ++ integer_to_list(C) ++ "/fd/",
    {ok, Names} = file:list_dir(Dir),
    Fds = lists:sort([list_to_integer(N) || N <- Names]),
    [Shortcut] = Fds -- [0, 1, 2, 3, 4, 5],
    {ok, "socket:" ++ _} = file:read_link(Dir ++ integer_to_list(Shortcut)),
    ?assertEqual({error, ebadf}, alcove:close(Drv, [C], Shortcut)),
    ?assertEqual(C, alcove:getpid(Drv, [C])).

%% Whether an Erlang process waits in a receive (its call is sent).
waiting(Pid) ->
    process_info(Pid, status) =:= {status, waiting}.
