%%% @doc Syscall counts and timings of the fork and call round-trip paths,
%%% for this build or the original's (put either's ebin first on the path;
%%% run each in a VM of its own: the module names are the same).
%%%
%%%   erl -noshell -pa EBIN -pa OUT -run fork_measure strace fork 500
%%%   erl -noshell -pa EBIN -pa OUT -run fork_measure time fork 400 7
%%%
%%% Paths: fork (fork + exit + exit event), rt0, rt1, rt4 (getpid at depth
%%% 0, 1, 4). `strace' prints `strace -f -c' of the root helper and its
%%% children over N iterations; `time' prints per-round figures and their
%%% minimum and median.
-module(fork_measure).

-export([strace/1, time/1]).

strace([Path, N0]) ->
    N = list_to_integer(N0),
    {ok, Drv} = alcove_drv:start_link(),
    P = setup(Drv, Path),
    run(Drv, Path, P, 50),
    Root = alcove:getpid(Drv, []),
    Out = "/tmp/fork_measure." ++ os:getpid() ++ ".strace",
    % The root helper and every helper of the pipeline (strace -f follows
    % only the processes forked after it attached).
    Pids = lists:flatten([io_lib:format(" -p ~b", [Pid]) || Pid <- [Root | P]]),
    Port = open_port(
        {spawn, lists:flatten(io_lib:format("strace -f -c -o ~s~s", [Out, Pids]))},
        [exit_status, stderr_to_stdout]
    ),
    {os_pid, SPid} = erlang:port_info(Port, os_pid),
    timer:sleep(1000),
    run(Drv, Path, P, N),
    os:cmd("kill -INT " ++ integer_to_list(SPid)),
    receive
        {Port, {exit_status, _}} -> ok
    after 10000 -> ok
    end,
    {ok, Text} = file:read_file(Out),
    io:format("~s, ~b iterations~n~s", [Path, N, Text]),
    Total = lists:foldl(
        fun(Line, Acc) ->
            case string:lexemes(Line, " ") of
                [_, _, _, Calls, _, "total"] -> Acc + list_to_integer(Calls);
                [_, _, _, Calls, "total"] -> Acc + list_to_integer(Calls);
                _ -> Acc
            end
        end,
        0,
        string:split(binary_to_list(Text), "\n", all)
    ),
    io:format("syscalls per iteration: ~.1f~n", [Total / N]),
    erlang:halt(0).

time([Path, N0, Rounds0]) ->
    N = list_to_integer(N0),
    Rounds = list_to_integer(Rounds0),
    {ok, Drv} = alcove_drv:start_link(),
    P = setup(Drv, Path),
    run(Drv, Path, P, 50),
    Figures = [
        begin
            {T, ok} = timer:tc(fun() -> run(Drv, Path, P, N) end),
            T / N
        end
     || _ <- lists:seq(1, Rounds)
    ],
    Sorted = lists:sort(Figures),
    Median = lists:nth((Rounds + 1) div 2, Sorted),
    io:format("~s us/iter: min ~.2f median ~.2f all ~w~n", [
        Path, hd(Sorted), Median, [round(F) || F <- Figures]
    ]),
    erlang:halt(0).

setup(_Drv, "fork") -> [];
setup(_Drv, "rt0") -> [];
setup(Drv, "rt1") -> chain(Drv, [], 1);
setup(Drv, "rt4") -> chain(Drv, [], 4).

chain(_Drv, P, 0) ->
    P;
chain(Drv, P, D) ->
    {ok, C} = alcove:fork(Drv, P),
    chain(Drv, P ++ [C], D - 1).

run(_Drv, _Path, _P, 0) ->
    ok;
run(Drv, "fork", P, N) ->
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:exit(Drv, [C], 0),
    receive
        {alcove_event, Drv, [C], {exit_status, 0}} -> ok
    after 5000 -> error({no_exit_event, C})
    end,
    run(Drv, "fork", P, N - 1);
run(Drv, Path, P, N) ->
    _ = alcove:getpid(Drv, P),
    run(Drv, Path, P, N - 1).
