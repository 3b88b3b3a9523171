%%% @doc Benchmarks of alcove against Erlang's own ports, measured in the
%%% same run. Every figure is the median of several runs, after one
%%% discarded warm-up run.
%%%
%%% Run with `sh bench/run.sh' (or `make bench') after `rebar3 compile'.
%%% Arguments: `quick' (fewer runs and iterations, for a smoke test).
%%% Environment: ALCOVE_BENCH_RUNS overrides the number of runs;
%%% ALCOVE_BENCH_INTERLEAVE=1 alternates the benchmarks of a group run by
%%% run instead of running each one's runs back to back (on a 2-CPU machine
%%% round-trip latency then includes the cost of threads being moved
%%% between CPUs every time the workload changes).
-module(alcove_bench).

-export([main/0, main/1]).

-define(KiB, 1024).
-define(MiB, (1024 * 1024)).

%% Figures of the original alcove measured on this machine (from the issue).
-define(ORIG_GETPID_0, "~75").
-define(ORIG_GETPID_1, "~100").
-define(ORIG_GETPID_4, "~240").
-define(ORIG_FORK, "~1500").
-define(ORIG_STDOUT, "~1100").
-define(ORIG_ECHO, "~415").

-record(cfg, {
    runs = 7 :: pos_integer(),
    interleave = false :: boolean(),
    rt_iter = 20000 :: pos_integer(),
    rt4_iter = 5000 :: pos_integer(),
    fork_iter = 400 :: pos_integer(),
    port_spawn_iter = 400 :: pos_integer(),
    stdout_bytes = 256 * ?MiB :: pos_integer(),
    echo_bytes = 64 * ?MiB :: pos_integer(),
    echo_chunk = 64 * ?KiB :: pos_integer(),
    echo_window = 2 * ?MiB :: pos_integer(),
    conc_procs = 8 :: pos_integer(),
    conc_iter = 5000 :: pos_integer()
}).

main() -> main([]).

main(Args) ->
    Code =
        try
            run(config(Args)),
            0
        catch
            Class:Reason:Stack ->
                io:format(standard_error, "benchmark failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
                1
        end,
    erlang:halt(Code).

config(Args) ->
    Base =
        case lists:member("quick", Args) of
            true ->
                #cfg{runs = 3, rt_iter = 2000, rt4_iter = 1000, fork_iter = 100,
                     port_spawn_iter = 100, stdout_bytes = 32 * ?MiB,
                     echo_bytes = 8 * ?MiB, conc_iter = 1000};
            false ->
                #cfg{}
        end,
    Runs =
        case os:getenv("ALCOVE_BENCH_RUNS") of
            false -> Base#cfg.runs;
            N -> list_to_integer(N)
        end,
    Base#cfg{runs = Runs, interleave = os:getenv("ALCOVE_BENCH_INTERLEAVE") =:= "1"}.

run(Cfg) ->
    {ok, Drv} = alcove_drv:start_link(),
    Head = find_exe("head"),
    Cat = find_exe("cat"),
    True = find_exe("true"),
    io:format("alcove benchmarks: ~b schedulers, ~b online CPUs, OTP ~s, median of ~b runs (~s)~n",
              [erlang:system_info(schedulers_online), erlang:system_info(logical_processors_online),
               erlang:system_info(otp_release), Cfg#cfg.runs,
               case Cfg#cfg.interleave of
                   true -> "benchmarks of a group interleaved run by run";
                   false -> "each benchmark's runs back to back after a warm-up run"
               end]),
    io:format("baseline = Erlang open_port measured in the same run; ratio = alcove/baseline~n"
              "(for times lower is better, for rates higher is better)~n~n"),
    T0 = erlang:monotonic_time(millisecond),
    Rows = lists:append([
        bench_roundtrip(Drv, Cat, Cfg),
        bench_fork(Drv, True, Cfg),
        bench_stdout(Drv, Head, Cfg),
        bench_echo(Drv, Cat, Cfg),
        bench_concurrent(Drv, Cat, Cfg)
    ]),
    print_table(Rows),
    io:format("~nfigures are medians; (min..max) is the spread over the runs.~n"
              "original = the original alcove (C helper, Erlang port) measured on this machine, from the issue.~n"),
    io:format("total benchmark time: ~.1f s~n", [(erlang:monotonic_time(millisecond) - T0) / 1000]),
    ok = alcove_drv:stop(Drv).

find_exe(Name) ->
    case os:find_executable(Name) of
        false -> error({not_found, Name});
        Path -> Path
    end.

%%% ---------------------------------------------------------------------
%%% call round trip

bench_roundtrip(Drv, Cat, Cfg) ->
    P1 = fork_chain(Drv, [], 1),
    P4 = fork_chain(Drv, [], 4),
    Port = open_port({spawn_executable, Cat}, [binary, stream]),
    N = Cfg#cfg.rt_iter,
    N4 = Cfg#cfg.rt4_iter,
    Alcove = fun(P, Iter) -> fun() -> per_call_us(Iter, fun() -> getpid_loop(Drv, P, Iter) end) end end,
    PortRt = fun() -> per_call_us(N, fun() -> cat_rt_loop(Port, N) end) end,
    % warm up both paths
    _ = getpid_loop(Drv, [], 1000),
    _ = getpid_loop(Drv, P4, 200),
    _ = cat_rt_loop(Port, 1000),
    [A0, B0, A1, A4] = runs(Cfg, [Alcove([], N), PortRt, Alcove(P1, N), Alcove(P4, N4)]),
    true = port_close(Port),
    ok = kill_chain(Drv, P1),
    ok = kill_chain(Drv, P4),
    Base = "cat port 8-byte echo",
    [
        {fmt("getpid [] round trip (~b calls)", [N]), "us/call", A0, B0, Base, time, ?ORIG_GETPID_0},
        {fmt("getpid depth 1 round trip (~b calls)", [N]), "us/call", A1, B0, Base, time, ?ORIG_GETPID_1},
        {fmt("getpid depth 4 round trip (~b calls)", [N4]), "us/call", A4, B0, Base, time, ?ORIG_GETPID_4}
    ].

getpid_loop(_Drv, _P, 0) ->
    ok;
getpid_loop(Drv, P, N) ->
    _ = alcove:getpid(Drv, P),
    getpid_loop(Drv, P, N - 1).

cat_rt_loop(_Port, 0) ->
    ok;
cat_rt_loop(Port, N) ->
    true = port_command(Port, <<"01234567">>),
    recv_port_bytes(Port, 8),
    cat_rt_loop(Port, N - 1).

recv_port_bytes(_Port, Left) when Left =< 0 ->
    ok;
recv_port_bytes(Port, Left) ->
    receive
        {Port, {data, B}} -> recv_port_bytes(Port, Left - byte_size(B))
    after 10000 -> error(port_timeout)
    end.

per_call_us(N, Fun) ->
    {T, ok} = timer:tc(Fun),
    T / N.

%% Fork a chain Depth deep under Pipeline: [C1, C2, ...].
fork_chain(_Drv, Pipeline, 0) ->
    Pipeline;
fork_chain(Drv, Pipeline, Depth) ->
    {ok, C} = alcove:fork(Drv, Pipeline),
    fork_chain(Drv, Pipeline ++ [C], Depth - 1).

kill_chain(Drv, [C | _]) ->
    ok = alcove:exit(Drv, [C], 0),
    receive
        {alcove_event, Drv, [C], {exit_status, _}} -> ok
    after 5000 -> error({no_exit_event, C})
    end.

%%% ---------------------------------------------------------------------
%%% fork + exit

bench_fork(Drv, True, Cfg) ->
    N = Cfg#cfg.fork_iter,
    NP = Cfg#cfg.port_spawn_iter,
    _ = fork_exit_loop(Drv, 20),
    _ = port_true_loop(True, 20),
    [A, B] = runs(Cfg, [
        fun() -> rate(N, fun() -> fork_exit_loop(Drv, N) end) end,
        fun() -> rate(NP, fun() -> port_true_loop(True, NP) end) end
    ]),
    [{fmt("fork+exit+exit_status (~b cycles)", [N]), "cycles/s", A, B, "open_port /bin/true", rate, ?ORIG_FORK}].

fork_exit_loop(_Drv, 0) ->
    ok;
fork_exit_loop(Drv, N) ->
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:exit(Drv, [C], 0),
    receive
        {alcove_event, Drv, [C], {exit_status, 0}} -> ok
    after 5000 -> error({no_exit_event, C})
    end,
    fork_exit_loop(Drv, N - 1).

port_true_loop(_True, 0) ->
    ok;
port_true_loop(True, N) ->
    Port = open_port({spawn_executable, True}, [exit_status]),
    receive
        {Port, {exit_status, 0}} -> ok
    after 5000 -> error(port_timeout)
    end,
    port_true_loop(True, N - 1).

rate(N, Fun) ->
    {T, ok} = timer:tc(Fun),
    N / (T / 1.0e6).

%%% ---------------------------------------------------------------------
%%% stdout throughput

bench_stdout(Drv, Head, Cfg) ->
    Bytes = Cfg#cfg.stdout_bytes,
    Argv = ["-c", integer_to_list(Bytes), "/dev/zero"],
    [A, B] = runs(Cfg, [
        fun() -> alcove_stdout(Drv, Head, Argv, Bytes) end,
        fun() -> port_stdout(Head, Argv, Bytes) end
    ]),
    [{fmt("stdout, child writes ~b MiB", [Bytes div ?MiB]), "MB/s", A, B, "open_port head", rate, ?ORIG_STDOUT}].

alcove_stdout(Drv, Exe, Argv, Bytes) ->
    {ok, C} = alcove:fork(Drv, []),
    T0 = erlang:monotonic_time(),
    ok = alcove:execvp(Drv, [C], Exe, [Exe | Argv]),
    Got = count_alcove_stdout(Drv, [C], 0),
    T = elapsed_s(T0),
    Bytes = Got,
    mb_per_s(Bytes, T).

count_alcove_stdout(Drv, P, N) ->
    receive
        {alcove_stdout, Drv, P, Bin} -> count_alcove_stdout(Drv, P, N + byte_size(Bin));
        {alcove_event, Drv, P, {exit_status, 0}} -> N;
        {alcove_event, Drv, P, Other} -> error({unexpected_event, Other})
    after 30000 -> error({stdout_timeout, N})
    end.

port_stdout(Exe, Argv, Bytes) ->
    T0 = erlang:monotonic_time(),
    Port = open_port({spawn_executable, Exe}, [binary, stream, exit_status, {args, Argv}]),
    Got = count_port_stdout(Port, 0),
    T = elapsed_s(T0),
    Bytes = Got,
    mb_per_s(Bytes, T).

count_port_stdout(Port, N) ->
    receive
        {Port, {data, Bin}} -> count_port_stdout(Port, N + byte_size(Bin));
        {Port, {exit_status, 0}} -> N
    after 30000 -> error({stdout_timeout, N})
    end.

%%% ---------------------------------------------------------------------
%%% cat echo throughput

bench_echo(Drv, Cat, Cfg) ->
    #cfg{echo_bytes = Bytes, echo_chunk = Chunk, echo_window = Window} = Cfg,
    Data = binary:copy(<<"x">>, Chunk),
    [A, B] = runs(Cfg, [
        fun() -> alcove_echo(Drv, Cat, Data, Bytes, Window) end,
        fun() -> port_echo(Cat, Data, Bytes, Window) end
    ]),
    [{fmt("cat echo ~b MiB (~b KiB writes, ~b MiB window)", [Bytes div ?MiB, Chunk div ?KiB, Window div ?MiB]),
      "MB/s", A, B, "open_port cat", rate, ?ORIG_ECHO}].

alcove_echo(Drv, Cat, Data, Bytes, Window) ->
    {ok, C} = alcove:fork(Drv, []),
    P = [C],
    ok = alcove:execvp(Drv, P, Cat, [Cat]),
    T0 = erlang:monotonic_time(),
    Send = fun() -> alcove:stdin(Drv, P, Data) end,
    Recv = fun(Timeout) ->
        receive
            {alcove_stdout, Drv, P, Bin} -> byte_size(Bin);
            {alcove_pipe, Drv, P, N} -> error({stdin_refused, N});
            {alcove_event, Drv, P, Ev} -> error({unexpected_event, Ev})
        after Timeout -> error(echo_timeout)
        end
    end,
    ok = echo_loop(Send, Recv, byte_size(Data), Bytes, Window, 0, 0),
    T = elapsed_s(T0),
    ok = alcove:eof(Drv, P),
    receive
        {alcove_event, Drv, P, {exit_status, 0}} -> ok
    after 5000 -> error(cat_did_not_exit)
    end,
    mb_per_s(Bytes, T).

port_echo(Cat, Data, Bytes, Window) ->
    Port = open_port({spawn_executable, Cat}, [binary, stream]),
    T0 = erlang:monotonic_time(),
    Send = fun() -> true = port_command(Port, Data), ok end,
    Recv = fun(Timeout) ->
        receive
            {Port, {data, Bin}} -> byte_size(Bin)
        after Timeout -> error(echo_timeout)
        end
    end,
    ok = echo_loop(Send, Recv, byte_size(Data), Bytes, Window, 0, 0),
    T = elapsed_s(T0),
    true = port_close(Port),
    mb_per_s(Bytes, T).

%% Keep at most Window bytes outstanding (sent but not read back).
echo_loop(_Send, _Recv, _Chunk, Total, _Window, _Sent, Total) ->
    ok;
echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got) when Sent < Total, Sent - Got + Chunk =< Window ->
    ok = Send(),
    echo_loop(Send, Recv, Chunk, Total, Window, Sent + Chunk, Got);
echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got) ->
    N = Recv(30000),
    echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got + N).

%%% ---------------------------------------------------------------------
%%% concurrent calls

bench_concurrent(Drv, Cat, Cfg) ->
    #cfg{conc_procs = Procs, conc_iter = N} = Cfg,
    AlcoveWork = fun() -> getpid_loop(Drv, [], N) end,
    PortWork = fun() ->
        Port = open_port({spawn_executable, Cat}, [binary, stream]),
        ok = cat_rt_loop(Port, 100),
        fun() -> cat_rt_loop(Port, N) end
    end,
    [A, B] = runs(Cfg, [
        fun() -> concurrent(Procs, N, fun() -> AlcoveWork end) end,
        fun() -> concurrent(Procs, N, PortWork) end
    ]),
    [{fmt("~b procs x ~b getpid [] on one Drv", [Procs, N]), "calls/s", A, B,
      fmt("~b procs, own cat port each", [Procs]), rate, "-"}].

%% Procs processes each run the work Setup() returns, all started at once;
%% total calls per second from the first start to the last finish.
concurrent(Procs, N, Setup) ->
    Self = self(),
    Pids = [spawn_link(fun() ->
                Work = Setup(),
                Self ! {ready, self()},
                receive go -> ok end,
                ok = Work(),
                Self ! {done, self()}
            end) || _ <- lists:seq(1, Procs)],
    [receive {ready, P} -> ok end || P <- Pids],
    T0 = erlang:monotonic_time(),
    [P ! go || P <- Pids],
    [receive {done, P} -> ok after 60000 -> error(concurrent_timeout) end || P <- Pids],
    Procs * N / elapsed_s(T0).

%%% ---------------------------------------------------------------------
%%% runs, medians, table

%% Run each fun Cfg#cfg.runs times; for each, the median and the smallest
%% and largest sample: {Median, Min, Max}. Back to back after one discarded
%% warm-up run, or interleaved.
runs(#cfg{runs = Runs, interleave = false}, Funs) ->
    [begin
         _ = F(),
         summary([F() || _ <- lists:seq(1, Runs)])
     end || F <- Funs];
runs(#cfg{runs = Runs, interleave = true}, Funs) ->
    Samples = [[F() || F <- Funs] || _ <- lists:seq(1, Runs)],
    [summary([lists:nth(I, S) || S <- Samples]) || I <- lists:seq(1, length(Funs))].

summary(L) ->
    {median(L), lists:min(L), lists:max(L)}.

median(L) ->
    S = lists:sort(L),
    N = length(S),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, S);
        0 -> (lists:nth(N div 2, S) + lists:nth(N div 2 + 1, S)) / 2
    end.

elapsed_s(T0) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, nanosecond) / 1.0e9.

mb_per_s(Bytes, Seconds) ->
    Bytes / 1.0e6 / Seconds.

fmt(F, A) -> lists:flatten(io_lib:format(F, A)).

print_table(Rows) ->
    Header = {"benchmark", "unit", "alcove", "(min..max)", "baseline", "(min..max)", "ratio", "original", "baseline is"},
    Lines = [Header | [row(R) || R <- Rows]],
    Widths = widths(Lines),
    [print_line(L, Widths) || L <- [hd(Lines), rule(Widths) | tl(Lines)]],
    ok.

row({Name, Unit, {A, AMin, AMax}, {B, BMin, BMax}, BaseName, _Kind, Orig}) ->
    {Name, Unit, num(A), spread(AMin, AMax), num(B), spread(BMin, BMax), fmt("~.2f", [A / B]), Orig, BaseName}.

spread(Min, Max) -> fmt("(~s..~s)", [num(Min), num(Max)]).

num(X) when X >= 100 -> fmt("~b", [round(X)]);
num(X) -> fmt("~.1f", [X]).

rule(Widths) ->
    list_to_tuple([lists:duplicate(W, $-) || W <- Widths]).

widths(Lines) ->
    [lists:max([string:length(element(I, L)) || L <- Lines]) || I <- lists:seq(1, tuple_size(hd(Lines)))].

print_line(L, Widths) ->
    Cells = lists:zip(tuple_to_list(L), Widths),
    Text = [pad(I, C, W) || {I, {C, W}} <- lists:zip(lists:seq(1, length(Cells)), Cells)],
    io:format("~ts~n", [string:trim(lists:join("  ", Text), trailing)]).

%% Name and description left-aligned, figures right-aligned.
pad(I, C, W) when I =:= 1; I =:= 2; I =:= 9 -> string:pad(C, W, trailing);
pad(_, C, W) -> string:pad(C, W, leading).
