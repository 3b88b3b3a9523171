%%% @doc Soak test: many Erlang processes forking, exec'ing, writing
%%% stdin, reading stdout and killing, all through one driver, for a
%%% while; then the tree must be empty and the helper back where it
%%% started.
%%%
%%% Run with `make soak' (SOAK_SECONDS, default 600; SOAK_PROCS, default
%%% 200). Prints the operations made, the errors by reason (expected ones,
%%% such as a call racing a kill, and unexpected ones), the helper's and
%%% the VM's memory at start and end, the processes left in the tree and
%%% the helper's open fds; exits 1 on an unexpected error, a leftover
%%% process, an fd not given back, or memory grown past its bound.
%%%
%%% Kills by pid only ever target a process that cannot have exited on
%%% its own (a forked helper, `sleep 100', `cat' before its stdin is
%%% closed): pids are reused within seconds here (pid_max 32768), and a
%%% pid that has been reaped may already be someone else's.
-module(alcove_soak).

-export([main/0]).

%% Bound on every call and every wait for output or an exit.
-define(WAIT_MS, 30000).
%% The helper's RSS may end this much above where it started.
-define(HELPER_RSS_SLACK, 64 * 1024 * 1024).
-define(VM_MEMORY_SLACK, 128 * 1024 * 1024).

-record(st, {
    drv :: pid(),
    ops = 0 :: non_neg_integer(),
    scenarios = #{} :: #{atom() => non_neg_integer()},
    errors = #{} :: #{{expected | unexpected, term()} => non_neg_integer()}
}).

main() ->
    Code =
        try
            run(env_int("SOAK_SECONDS", 600), env_int("SOAK_PROCS", 200))
        catch
            Class:Reason:Stack ->
                io:format("soak: crashed: ~p:~p~n~p~n", [Class, Reason, Stack]),
                2
        end,
    halt(Code).

env_int(Name, Default) ->
    case os:getenv(Name) of
        false -> Default;
        "" -> Default;
        V -> list_to_integer(V)
    end.

run(Seconds, Procs) ->
    {ok, Drv} = alcove_drv:start_link([{maxchild, Procs + 64}]),
    Helper = alcove:getpid(Drv, []),
    io:format("soak: ~b s, ~b processes, one driver (helper ~b)~n", [Seconds, Procs, Helper]),
    erlang:garbage_collect(),
    Start = #{helper_rss => rss(Helper), vm_rss => rss(os_pid()), vm_memory => erlang:memory(total),
              fds => fd_count(Helper), ticks => start_ticks(Helper)},
    Deadline = erlang:monotonic_time(millisecond) + Seconds * 1000,
    Self = self(),
    T0 = erlang:monotonic_time(millisecond),
    Workers = [spawn_monitor(fun() -> Self ! {done, self(), worker(Drv, Deadline)} end)
               || _ <- lists:seq(1, Procs)],
    Sampler = spawn_link(fun() -> sample(Drv, Helper, T0, Deadline, max(5, Seconds div 10) * 1000) end),
    Results = [collect(W) || W <- Workers],
    unlink(Sampler),
    exit(Sampler, kill),
    Elapsed = erlang:monotonic_time(millisecond) - T0,
    Total = lists:foldl(fun merge/2, #st{drv = Drv}, Results),

    % Everything the workers started has exited and been reported: the
    % helper has no child left, nothing under it runs or waits to be
    % reaped, nothing escaped, and its fds are back.
    NoChildren = wait_until(fun() -> alcove:cpid(Drv, [], ?WAIT_MS) =:= [] end),
    _ = wait_until(fun() -> descendants(Helper) =:= [] end),
    Left = descendants(Helper),
    Escaped = escaped_zombies(Helper, maps:get(ticks, Start)),
    _ = wait_until(fun() -> fd_count(Helper) =:= maps:get(fds, Start) end),
    erlang:garbage_collect(),
    End = #{helper_rss => rss(Helper), helper_peak => peak_rss(Helper), vm_rss => rss(os_pid()),
            vm_memory => erlang:memory(total), fds => fd_count(Helper)},
    ok = alcove_drv:stop(Drv),
    report(Total, Elapsed, Start, End, NoChildren, Left, Escaped).

%% A line every Interval ms: the trend of memory and of the tree's size.
sample(Drv, Helper, T0, Deadline, Interval) ->
    receive after Interval -> ok end,
    Now = erlang:monotonic_time(millisecond),
    case Now < Deadline of
        true ->
            MiB = fun(B) -> B / (1024 * 1024) end,
            io:format("  ~3b s: helper RSS ~.1f MiB, ~b children, ~b fds; VM RSS ~.1f MiB, "
                      "erlang:memory(total) ~.1f MiB~n",
                      [(Now - T0) div 1000, MiB(rss(Helper)), length(alcove:cpid(Drv, [], ?WAIT_MS)),
                       fd_count(Helper), MiB(rss(os_pid())), MiB(erlang:memory(total))]),
            sample(Drv, Helper, T0, Deadline, Interval);
        false ->
            ok
    end.

collect({Pid, Ref}) ->
    receive
        {done, Pid, St} ->
            erlang:demonitor(Ref, [flush]),
            St;
        {'DOWN', Ref, process, Pid, Reason} ->
            % A worker crashed outside its scenarios' error handling.
            error_count(unexpected, {worker_crash, short(Reason)}, #st{drv = undefined})
    end.

merge(#st{ops = O, scenarios = S, errors = E}, #st{ops = O0, scenarios = S0, errors = E0} = Acc) ->
    Add = fun(_K, A, B) -> A + B end,
    Acc#st{ops = O0 + O, scenarios = maps:merge_with(Add, S, S0), errors = maps:merge_with(Add, E, E0)}.

report(#st{ops = Ops, scenarios = Scenarios, errors = Errors}, Elapsed, Start, End, NoChildren, Left, Escaped) ->
    MiB = fun(B) -> B / (1024 * 1024) end,
    io:format("ops: ~b (~b/s) in ~b scenarios: ~ts~n",
              [Ops, Ops * 1000 div max(Elapsed, 1), lists:sum(maps:values(Scenarios)),
               join([io_lib:format("~p ~b", [K, V]) || {K, V} <- lists:sort(maps:to_list(Scenarios))])]),
    Unexpected = [{R, N} || {{unexpected, R}, N} <- maps:to_list(Errors)],
    Expected = [{R, N} || {{expected, R}, N} <- maps:to_list(Errors)],
    io:format("errors, expected (races with a kill): ~ts~n", [format_errors(Expected)]),
    io:format("errors, unexpected: ~ts~n", [format_errors(Unexpected)]),
    io:format("helper RSS: ~.1f MiB -> ~.1f MiB (peak ~.1f MiB); open fds ~b -> ~b~n",
              [MiB(maps:get(helper_rss, Start)), MiB(maps:get(helper_rss, End)),
               MiB(maps:get(helper_peak, End)), maps:get(fds, Start), maps:get(fds, End)]),
    io:format("VM RSS: ~.1f MiB -> ~.1f MiB; erlang:memory(total) ~.1f MiB -> ~.1f MiB~n",
              [MiB(maps:get(vm_rss, Start)), MiB(maps:get(vm_rss, End)),
               MiB(maps:get(vm_memory, Start)), MiB(maps:get(vm_memory, End))]),
    io:format("leftover processes: ~b in the helper's tree, ~b escaped zombies; helper children: ~ts~n",
              [length(Left), length(Escaped), case NoChildren of ok -> "none"; timeout -> "some" end]),
    [io:format("  left: ~p~n", [P]) || P <- Left ++ Escaped],
    Failures =
        [unexpected_errors || Unexpected =/= []] ++
        [leftover_processes || Left =/= [] orelse Escaped =/= [] orelse NoChildren =/= ok] ++
        [fds_not_returned || maps:get(fds, End) =/= maps:get(fds, Start)] ++
        [helper_memory || maps:get(helper_rss, End) - maps:get(helper_rss, Start) > ?HELPER_RSS_SLACK] ++
        [vm_memory || maps:get(vm_memory, End) - maps:get(vm_memory, Start) > ?VM_MEMORY_SLACK] ++
        [no_operations || Ops =:= 0],
    case Failures of
        [] ->
            io:format("soak: PASS~n"),
            0;
        _ ->
            io:format("soak: FAIL ~p~n", [Failures]),
            1
    end.

format_errors([]) -> "none";
format_errors(Errors) ->
    join([io_lib:format("~0p ~b", [R, N]) || {R, N} <- lists:reverse(lists:keysort(2, Errors))]).

join(Items) -> lists:join(", ", Items).

%%% a worker

worker(Drv, Deadline) ->
    rand:seed(exsss),
    loop(#st{drv = Drv}, Deadline).

loop(St, Deadline) ->
    case erlang:monotonic_time(millisecond) >= Deadline of
        true ->
            St;
        false ->
            Scenario = pick([{cat, 4}, {sh, 3}, {sleep_kill, 2}, {inflight_kill, 2},
                             {nested_kill, 1}, {calls, 2}]),
            St1 = scenario(Scenario, St),
            flush_all(),
            loop(St1#st{scenarios = maps:update_with(Scenario, fun(N) -> N + 1 end, 1, St1#st.scenarios)},
                 Deadline)
    end.

pick(Weighted) ->
    R = rand:uniform(lists:sum([W || {_, W} <- Weighted])),
    pick(R, Weighted).

pick(R, [{X, W} | _]) when R =< W -> X;
pick(R, [{_, W} | T]) -> pick(R - W, T).

%% A scenario returns the updated state; anything it did not expect is
%% thrown as {unexpected, Reason} or raised, and counted here.
scenario(Name, St) ->
    try
        run_scenario(Name, St)
    catch
        throw:{unexpected, Reason, St1} ->
            error_count(unexpected, {Name, Reason}, St1);
        Class:Reason ->
            error_count(unexpected, {Name, Class, short(Reason)}, St)
    end.

%% Echo through cat: stdin in, the same bytes out, eof, exit 0. Now and
%% then killed (before its stdin is closed, so it cannot have exited).
run_scenario(cat, St) ->
    Drv = St#st.drv,
    {C, St1} = call(St, fork, [[]]),
    {ok, St2} = call_ok(St1, execvp, [[C], "cat", ["cat"]]),
    Data = rand:bytes(rand:uniform(65536)),
    ok = alcove:stdin(Drv, [C], Data),
    St3 = St2#st{ops = St2#st.ops + 1},
    case rand:uniform(4) of
        1 ->
            idle(rand:uniform(5) - 1),
            {ok, St4} = call_ok(St3, kill, [[], C, sigkill]),
            expect_exit(St4, [C], {termsig, sigkill});
        _ ->
            Out = read_stdout(St3, [C], byte_size(Data)),
            Out =:= Data orelse throw({unexpected, stdout_differs, St3}),
            {ok, St4} = call_ok(St3, eof, [[C]]),
            expect_exit(St4, [C], {exit_status, 0})
    end;
%% sh -c with a script that exits by itself, some reading stdin.
run_scenario(sh, St) ->
    Drv = St#st.drv,
    N = rand:uniform(4) - 1,
    {C, St1} = call(St, fork, [[]]),
    Exit = " ; exit " ++ integer_to_list(N),
    {Script, Input, Expect} =
        case rand:uniform(3) of
            1 -> {"echo $$" ++ Exit, none, integer_to_binary(C)};
            2 -> {"read x; echo \"<$x>\"" ++ Exit, <<"line\n">>, <<"<line>">>};
            3 -> {"i=0; while [ $i -lt 20 ]; do i=$((i+1)); done; echo $i" ++ Exit, none, <<"20">>}
        end,
    {ok, St2} = call_ok(St1, execvp, [[C], "/bin/sh", ["sh", "-c", Script]]),
    St3 =
        case Input of
            none -> St2;
            _ -> ok = alcove:stdin(Drv, [C], Input), St2#st{ops = St2#st.ops + 1}
        end,
    {Out, Event} = read_until_exit(St3, [C]),
    string:trim(Out) =:= Expect orelse throw({unexpected, {sh_output, short(Out)}, St3}),
    Event =:= {exit_status, N} orelse throw({unexpected, {sh_exit, Event}, St3}),
    St3;
%% sleep 100, killed after a moment.
run_scenario(sleep_kill, St) ->
    {C, St1} = call(St, fork, [[]]),
    {ok, St2} = call_ok(St1, execvp, [[C], "sleep", ["sleep", "100"]]),
    idle(rand:uniform(20) - 1),
    {ok, St3} = call_ok(St2, kill, [[], C, sigkill]),
    expect_exit(St3, [C], {termsig, sigkill});
%% A forked helper killed while another process makes calls in it: the
%% calls end with badpid or how it died (expected), never anything else.
run_scenario(inflight_kill, St) ->
    Drv = St#st.drv,
    {C, St1} = call(St, fork, [[]]),
    Self = self(),
    Caller = spawn_link(fun() -> Self ! {caller, self(), calls_until_error(Drv, [C], 0)} end),
    idle(rand:uniform(5) - 1),
    Killer = pick([{root, 2}, {itself, 1}]),
    St2 =
        case Killer of
            root ->
                {ok, S} = call_ok(St1, kill, [[], C, sigkill]),
                S;
            itself ->
                % It kills itself: the call raises how it died.
                try alcove:kill(Drv, [C], C, sigkill, ?WAIT_MS) of
                    R -> throw({unexpected, {self_kill_returned, R}, St1})
                catch
                    error:{termsig, sigkill} -> error_count(expected, {self_kill, {termsig, sigkill}}, St1);
                    error:badpid -> error_count(expected, {self_kill, badpid}, St1)
                end
        end,
    St3 = expect_exit(St2, [C], {termsig, sigkill}),
    receive
        {caller, Caller, {Calls, Reason}} ->
            St4 = St3#st{ops = St3#st.ops + Calls},
            case Reason of
                badpid -> error_count(expected, {inflight_call, badpid}, St4);
                {termsig, sigkill} -> error_count(expected, {inflight_call, {termsig, sigkill}}, St4);
                Other -> throw({unexpected, {inflight_call, Other}, St4})
            end
    after ?WAIT_MS ->
        throw({unexpected, inflight_caller_stuck, St3})
    end;
%% A helper with an exec'd child of its own, killed: the child dies with
%% its parent (parent-death signal); only the parent's exit is reported.
run_scenario(nested_kill, St) ->
    {C, St1} = call(St, fork, [[]]),
    {G, St2} = call(St1, fork, [[C]]),
    {ok, St3} = call_ok(St2, execvp, [[C, G], "sleep", ["sleep", "100"]]),
    idle(rand:uniform(5) - 1),
    {ok, St4} = call_ok(St3, kill, [[], C, sigkill]),
    St5 = expect_exit(St4, [C], {termsig, sigkill}),
    flush([C, G]),
    St5;
%% Plain calls in the root helper.
run_scenario(calls, St) ->
    Drv = St#st.drv,
    Root = alcove:getpid(Drv, [], ?WAIT_MS),
    Root =:= alcove:getpid(Drv, [], ?WAIT_MS) orelse throw({unexpected, getpid_changed, St}),
    {ok, St1} = call_ok(St#st{ops = St#st.ops + 2}, getcwd, [[]]),
    St1.

%% Calls in Pipeline until one raises: {Calls, Reason}.
calls_until_error(Drv, Pipeline, N) when N < 100000 ->
    try alcove:getpid(Drv, Pipeline, ?WAIT_MS) of
        _ -> calls_until_error(Drv, Pipeline, N + 1)
    catch
        error:Reason -> {N + 1, Reason};
        exit:Reason -> {N + 1, {exit, Reason}}
    end;
calls_until_error(_Drv, _Pipeline, N) ->
    {N, never_failed}.

%% A call that returns {ok, X}: {X, St}.
call(St, Name, [Pipeline | Args]) ->
    case apply(alcove, Name, [St#st.drv, Pipeline | Args] ++ [?WAIT_MS]) of
        {ok, X} -> {X, St#st{ops = St#st.ops + 1}};
        Other -> throw({unexpected, {Name, Other}, St})
    end.

%% A call that returns ok (or {ok, _}): {ok, St}.
call_ok(St, eof, [Pipeline]) ->
    check_ok(eof, alcove:eof(St#st.drv, Pipeline), St);
call_ok(St, Name, [Pipeline | Args]) ->
    check_ok(Name, apply(alcove, Name, [St#st.drv, Pipeline | Args] ++ [?WAIT_MS]), St).

check_ok(_Name, ok, St) -> {ok, St#st{ops = St#st.ops + 1}};
check_ok(_Name, {ok, _}, St) -> {ok, St#st{ops = St#st.ops + 1}};
check_ok(Name, Other, St) -> throw({unexpected, {Name, Other}, St}).

expect_exit(St, Pipeline, Expected) ->
    Drv = St#st.drv,
    receive
        {alcove_event, Drv, Pipeline, {exit_status, _} = E} -> check_exit(St, Pipeline, E, Expected);
        {alcove_event, Drv, Pipeline, {termsig, _} = E} -> check_exit(St, Pipeline, E, Expected)
    after ?WAIT_MS ->
        throw({unexpected, {no_exit_event, Expected}, St})
    end.

check_exit(St, Pipeline, Expected, Expected) ->
    flush(Pipeline),
    St;
check_exit(St, Pipeline, Event, _Expected) ->
    flush(Pipeline),
    throw({unexpected, {exit, Event}, St}).

read_stdout(St, Pipeline, Size) ->
    read_stdout(St, Pipeline, Size, []).

read_stdout(St, Pipeline, Size, Acc) ->
    case iolist_size(Acc) >= Size of
        true ->
            iolist_to_binary(lists:reverse(Acc));
        false ->
            Drv = St#st.drv,
            receive
                {alcove_stdout, Drv, Pipeline, Data} -> read_stdout(St, Pipeline, Size, [Data | Acc]);
                {alcove_event, Drv, Pipeline, E} -> throw({unexpected, {early_event, E}, St})
            after ?WAIT_MS ->
                throw({unexpected, {stdout_stalled, iolist_size(Acc), Size}, St})
            end
    end.

read_until_exit(St, Pipeline) ->
    read_until_exit(St, Pipeline, []).

read_until_exit(St, Pipeline, Acc) ->
    Drv = St#st.drv,
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> read_until_exit(St, Pipeline, [Data | Acc]);
        {alcove_event, Drv, Pipeline, {exit_status, _} = E} -> {iolist_to_binary(lists:reverse(Acc)), E};
        {alcove_event, Drv, Pipeline, {termsig, _} = E} -> {iolist_to_binary(lists:reverse(Acc)), E}
    after ?WAIT_MS ->
        throw({unexpected, no_exit, St})
    end.

%% Drop what is left of a process that has exited (stderr, signals).
flush(Pipeline) ->
    receive
        {alcove_stdout, _, Pipeline, _} -> flush(Pipeline);
        {alcove_stderr, _, Pipeline, _} -> flush(Pipeline);
        {alcove_event, _, Pipeline, _} -> flush(Pipeline)
    after 0 -> ok
    end.

%% Nothing is running between scenarios: drop whatever a dead process
%% left (a grandchild's output racing its parent's death, say).
flush_all() ->
    receive
        {alcove_stdout, _, _, _} -> flush_all();
        {alcove_stderr, _, _, _} -> flush_all();
        {alcove_event, _, _, _} -> flush_all()
    after 0 -> ok
    end.

%% A random moment before a kill (timing is the variable here, not a
%% wait for a state).
idle(Ms) ->
    receive after Ms -> ok end.

error_count(Kind, Reason, St) ->
    St#st{errors = maps:update_with({Kind, Reason}, fun(N) -> N + 1 end, 1, St#st.errors)}.

short(Term) ->
    case erlang:external_size(Term) > 512 of
        true -> list_to_binary(io_lib:format("~P", [Term, 8]));
        false -> Term
    end.

%%% the OS side

os_pid() ->
    list_to_integer(os:getpid()).

%% Wait (up to 10 s) for Fun() to be true.
wait_until(Fun) ->
    wait_until(Fun, 500).

wait_until(_Fun, 0) -> timeout;
wait_until(Fun, N) ->
    case Fun() of
        true -> ok;
        false -> receive after 20 -> wait_until(Fun, N - 1) end
    end.

stat(Pid) ->
    case file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/stat") of
        {ok, Stat} ->
            [_, Rest] = binary:split(Stat, <<") ">>),
            {ok, binary:split(Rest, <<" ">>, [global])};
        {error, _} ->
            gone
    end.

%% Processes whose parent chain reaches Root (zombies included), as
%% {Pid, State, Cmdline}.
descendants(Root) ->
    Procs = all_procs(),
    Parents = maps:from_list([{P, PP} || {P, _, PP, _, _} <- Procs]),
    [{P, S, cmdline(P)} || {P, S, _, _, _} <- Procs, P =/= Root, reaches(P, Root, Parents, 0)].

reaches(_P, _Root, _Parents, Hops) when Hops > 64 -> false;
reaches(P, Root, Parents, Hops) ->
    case maps:get(P, Parents, undefined) of
        Root -> true;
        undefined -> false;
        0 -> false;
        PP -> reaches(PP, Root, Parents, Hops + 1)
    end.

%% Zombies adopted by PID 1 (which does not reap here) from the helper's
%% session, started after the helper: what escaped the tree.
escaped_zombies(Helper, Since) ->
    {ok, Fields} = stat(Helper),
    Sid = field(6, Fields),
    [{P, <<"Z">>, cmdline(P)} || {P, <<"Z">>, 1, S, Ticks} <- all_procs(), S =:= Sid, Ticks >= Since].

%% {Pid, State, PPid, Session, StartTicks} of every process.
all_procs() ->
    lists:filtermap(
        fun(Dir) ->
            Pid = list_to_integer(filename:basename(Dir)),
            case stat(Pid) of
                {ok, [State | _] = Fields} ->
                    {true, {Pid, State, field(4, Fields), field(6, Fields), field(22, Fields)}};
                gone ->
                    false
            end
        end,
        filelib:wildcard("/proc/[0-9]*")).

start_ticks(Pid) ->
    {ok, Fields} = stat(Pid),
    field(22, Fields).

%% Field N of /proc/PID/stat (numbered from 1 as in proc(5)), as an
%% integer; Fields starts at field 3 (the state).
field(N, Fields) ->
    binary_to_integer(lists:nth(N - 2, Fields)).

cmdline(Pid) ->
    case file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/cmdline") of
        {ok, C} -> binary:replace(C, <<0>>, <<" ">>, [global]);
        {error, _} -> <<>>
    end.

fd_count(Pid) ->
    {ok, Fds} = file:list_dir("/proc/" ++ integer_to_list(Pid) ++ "/fd"),
    length(Fds).

rss(Pid) -> status_kb(Pid, "VmRSS") * 1024.

peak_rss(Pid) -> status_kb(Pid, "VmHWM") * 1024.

status_kb(Pid, Field) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status"),
    {match, [KB]} = re:run(Status, Field ++ ":\\s+(\\d+)", [{capture, all_but_first, binary}]),
    binary_to_integer(KB).
