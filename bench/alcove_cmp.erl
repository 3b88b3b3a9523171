%%% @doc One round of the side-by-side benchmark (bench/compare.sh): runs
%%% in a VM of its own against ONE target and appends its figures to a
%%% results file, one Erlang term per line:
%%%
%%%   {Target, Round, Figure, Value, Unit, Better}.
%%%
%%% Better is `lower' or `higher'. Targets:
%%%
%%%   ours, original  the alcove on the code path (this project's build or
%%%                   the original alcove's; both have the same Erlang API)
%%%   port            a bare open_port({spawn_executable, ...})
%%%   erlexec         saleyn/erlexec (its ebin on the code path)
%%%
%%% Modes: `compare' (the alcove figures, ours and original), `peers'
%%% (spawn /bin/true, stdout 256 MiB, cat echo 64 MiB for every target) and
%%% `memory' (helper RSS per 1,000 children and the VM's memory during a
%%% 1 GiB stdout stream read by a slow consumer).
%%%
%%%   erl -noshell -pa EBIN -run alcove_cmp main Target Mode Round OutFile
-module(alcove_cmp).

-export([main/1]).

%%%   erl -noshell -pa EBIN -run alcove_cmp report Mode ResultsFile
%%% prints the summary of a results file as markdown tables.

-define(KiB, 1024).
-define(MiB, (1024 * 1024)).
%% stdin writes in the echo figures: the original alcove refuses a frame
%% over 64 KiB, so every target writes 32 KiB at a time.
-define(ECHO_CHUNK, (32 * ?KiB)).

main(["report", Mode, File]) ->
    {ok, Terms} = file:consult(File),
    report(list_to_atom(Mode), Terms),
    erlang:halt(0);
main([Target0, Mode0, Round0, Out]) ->
    Target = list_to_atom(Target0),
    Mode = list_to_atom(Mode0),
    Round = list_to_integer(Round0),
    Code =
        try
            Figures = run(Target, Mode),
            {ok, F} = file:open(Out, [append]),
            [io:format(F, "~p.~n", [{Target, Round, Name, Value, Unit, Better}])
             || {Name, Value, Unit, Better} <- Figures],
            ok = file:close(F),
            [io:format("  ~-10s ~-30s ~14.2f ~s~n", [Target0, Name, float(Value), Unit])
             || {Name, Value, Unit, _} <- Figures],
            0
        catch
            Class:Reason:Stack ->
                io:format(standard_error, "~s ~s round ~s failed: ~P:~P~n~P~n",
                          [Target0, Mode0, Round0, Class, 10, Reason, 10, Stack, 20]),
                1
        end,
    erlang:halt(Code).

env_int(Name, Default) ->
    case os:getenv(Name) of
        false -> Default;
        V -> list_to_integer(V)
    end.

exe(Name) ->
    case os:find_executable(Name) of
        false -> error({not_found, Name});
        Path -> Path
    end.

%%% ---------------------------------------------------------------------
%%% modes

run(Target, compare) when Target =:= ours; Target =:= original ->
    Drv = start_drv(Target, []),
    Cat = exe("cat"),
    P1 = fork_chain(Drv, [], 1),
    P4 = fork_chain(Drv, [], 4),
    _ = getpid_loop(Drv, [], 2000),
    _ = getpid_loop(Drv, P1, 1000),
    _ = getpid_loop(Drv, P4, 500),
    Rt0 = per_call_us(20000, fun() -> getpid_loop(Drv, [], 20000) end),
    Rt1 = per_call_us(20000, fun() -> getpid_loop(Drv, P1, 20000) end),
    Rt4 = per_call_us(5000, fun() -> getpid_loop(Drv, P4, 5000) end),
    ok = kill_chain(Drv, P1),
    ok = kill_chain(Drv, P4),
    _ = fork_exit_loop(Drv, 20),
    Fork = rate(400, fun() -> fork_exit_loop(Drv, 400) end),
    Stdout = alcove_stdout(Drv, 256 * ?MiB),
    Echo = alcove_echo(Drv, Cat, 64 * ?MiB),
    % The original answers calls from its owner only ({error, not_owner}):
    % callers sharing one Drv are measured for ours alone.
    ConcOne = case Target of
        ours -> [{conc_one_drv, concurrent(8, 5000, fun() -> fun() -> getpid_loop(Drv, [], 5000) end end),
                  "calls/s", higher}];
        original -> []
    end,
    ok = stop_drv(Target, Drv),
    ConcPer = concurrent(8, 5000, fun() ->
        D = start_drv(Target, []),
        _ = getpid_loop(D, [], 100),
        fun() -> getpid_loop(D, [], 5000) end
    end),
    [{rt_root, Rt0, "us/call", lower},
     {rt_depth1, Rt1, "us/call", lower},
     {rt_depth4, Rt4, "us/call", lower},
     {fork_exit, Fork, "cycles/s", higher},
     {stdout_256m, Stdout, "MB/s", higher},
     {cat_echo_64m, Echo, "MB/s", higher},
     {conc_drv_per_caller, ConcPer, "calls/s", higher}
     | ConcOne];
run(Target, peers) ->
    peers(Target);
run(Target, memory) when Target =:= ours; Target =:= original ->
    memory(Target);
run(Target, strace) when Target =:= ours; Target =:= original ->
    strace(Target);
run(Target, profile) when Target =:= ours; Target =:= original ->
    profile(Target).

%%% ---------------------------------------------------------------------
%%% alcove (ours or the original: same API)

start_drv(original, Opts) ->
    % The original runs its port program through the `exec' option (sudo
    % when asked to); without it the program runs directly (we are root).
    {ok, Drv} = alcove_drv:start_link(Opts),
    unlink(Drv),
    Drv;
start_drv(ours, Opts) ->
    {ok, Drv} = alcove_drv:start_link(Opts),
    unlink(Drv),
    Drv.

stop_drv(_, Drv) ->
    alcove_drv:stop(Drv).

getpid_loop(_Drv, _P, 0) ->
    ok;
getpid_loop(Drv, P, N) ->
    Pid = alcove:getpid(Drv, P),
    true = is_integer(Pid),
    getpid_loop(Drv, P, N - 1).

per_call_us(N, Fun) ->
    {T, ok} = timer:tc(Fun),
    T / N.

rate(N, Fun) ->
    {T, ok} = timer:tc(Fun),
    N / (T / 1.0e6).

fork_chain(_Drv, Pipeline, 0) ->
    Pipeline;
fork_chain(Drv, Pipeline, Depth) ->
    {ok, C} = alcove:fork(Drv, Pipeline),
    fork_chain(Drv, Pipeline ++ [C], Depth - 1).

kill_chain(Drv, [C | _]) ->
    ok = alcove:exit(Drv, [C], 0),
    wait_exit(Drv, [C]).

wait_exit(Drv, P) ->
    receive
        {alcove_event, Drv, P, {exit_status, _}} -> ok;
        {alcove_event, Drv, P, {termsig, _}} -> ok
    after 10000 -> error({no_exit_event, P})
    end.

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

alcove_spawn_true(_Drv, _True, 0) ->
    ok;
alcove_spawn_true(Drv, True, N) ->
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], True, [True]),
    receive
        {alcove_event, Drv, [C], {exit_status, 0}} -> ok
    after 5000 -> error({no_exit_event, C})
    end,
    alcove_spawn_true(Drv, True, N - 1).

%% The same, in one request: alcove:fork_exec/4 (ours only).
alcove_fork_exec_true(_Drv, _True, 0) ->
    ok;
alcove_fork_exec_true(Drv, True, N) ->
    {ok, C} = alcove:fork_exec(Drv, [], [True], []),
    receive
        {alcove_event, Drv, [C], {exit_status, 0}} -> ok
    after 5000 -> error({no_exit_event, C})
    end,
    alcove_fork_exec_true(Drv, True, N - 1).

alcove_stdout(Drv, Bytes) ->
    Head = exe("head"),
    {ok, C} = alcove:fork(Drv, []),
    T0 = erlang:monotonic_time(),
    ok = alcove:execvp(Drv, [C], Head, [Head, "-c", integer_to_list(Bytes), "/dev/zero"]),
    Bytes = count_alcove_stdout(Drv, [C], 0, Bytes, false),
    mb_per_s(Bytes, elapsed_s(T0)).

%% Until every byte and the exit event have come: the original alcove may
%% deliver the last output after the exit event (ours never does): once
%% 9 bytes of 256 MiB came after it.
count_alcove_stdout(_Drv, _P, N, Bytes, true) when N >= Bytes ->
    N;
count_alcove_stdout(Drv, P, N, Bytes, Exited) ->
    receive
        {alcove_stdout, Drv, P, Bin} -> count_alcove_stdout(Drv, P, N + byte_size(Bin), Bytes, Exited);
        {alcove_event, Drv, P, {exit_status, 0}} -> count_alcove_stdout(Drv, P, N, Bytes, true);
        {alcove_event, Drv, P, Other} -> error({unexpected_event, Other})
    after 30000 -> error({stdout_timeout, N})
    end.

alcove_echo(Drv, Cat, Bytes) ->
    Data = binary:copy(<<"x">>, ?ECHO_CHUNK),
    {ok, C} = alcove:fork(Drv, []),
    P = [C],
    ok = alcove:execvp(Drv, P, Cat, [Cat]),
    T0 = erlang:monotonic_time(),
    Send = fun() -> alcove:stdin(Drv, P, Data) end,
    Recv = fun() ->
        receive
            {alcove_stdout, Drv, P, Bin} -> byte_size(Bin);
            {alcove_pipe, Drv, P, Written} -> {lost, byte_size(Data) - Written};
            {alcove_event, Drv, P, Ev} -> error({unexpected_event, Ev})
        after 30000 -> error(echo_timeout)
        end
    end,
    ok = echo_loop(Send, Recv, byte_size(Data), Bytes, 2 * ?MiB, 0, 0),
    T = elapsed_s(T0),
    ok = alcove:eof(Drv, P),
    ok = wait_exit(Drv, P),
    mb_per_s(Bytes, T).

%% Keep at most Window bytes outstanding (sent but not read back). Recv()
%% returns the bytes read back or {lost, N}: N bytes of a write were
%% dropped (the original alcove's {alcove_pipe, ...} when the child's stdin
%% pipe is full); they are sent again once some output has been read.
echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got) ->
    echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got, false).

echo_loop(_Send, _Recv, _Chunk, Total, _Window, _Sent, Got, _Blocked) when Got >= Total ->
    ok;
echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got, false) when Sent < Total, Sent - Got + Chunk =< Window ->
    ok = Send(),
    echo_loop(Send, Recv, Chunk, Total, Window, Sent + Chunk, Got, false);
echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got, _Blocked) ->
    case Recv() of
        {lost, N} -> echo_loop(Send, Recv, Chunk, Total, Window, Sent - N, Got, true);
        N -> echo_loop(Send, Recv, Chunk, Total, Window, Sent, Got + N, false)
    end.

%% Procs processes each run the work Setup() returns, all started at once;
%% total calls per second from the first start to the last finish.
concurrent(Procs, N, Setup) ->
    Self = self(),
    Pids = [spawn_link(fun() ->
                Work = Setup(),
                Self ! {ready, self()},
                receive go -> ok end,
                ok = Work(),
                Self ! {done, self()},
                receive stop -> ok end
            end) || _ <- lists:seq(1, Procs)],
    [receive {ready, P} -> ok end || P <- Pids],
    T0 = erlang:monotonic_time(),
    [P ! go || P <- Pids],
    [receive {done, P} -> ok after 60000 -> error(concurrent_timeout) end || P <- Pids],
    R = Procs * N / elapsed_s(T0),
    [P ! stop || P <- Pids],
    R.

elapsed_s(T0) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native, nanosecond) / 1.0e9.

mb_per_s(Bytes, Seconds) ->
    Bytes / 1.0e6 / Seconds.

%%% ---------------------------------------------------------------------
%%% peers: spawn /bin/true, stdout 256 MiB, cat echo 64 MiB

peers(Target) when Target =:= ours; Target =:= original ->
    Drv = start_drv(Target, []),
    True = exe("true"),
    _ = alcove_spawn_true(Drv, True, 20),
    Spawn = rate(400, fun() -> alcove_spawn_true(Drv, True, 400) end),
    Sparse = sparse_us(fun() -> alcove_spawn_true(Drv, True, 1) end),
    % The original has no fork_exec: the figures are ours alone.
    ForkExec =
        case Target of
            ours ->
                _ = alcove_fork_exec_true(Drv, True, 20),
                [{spawn_true_fork_exec, rate(400, fun() -> alcove_fork_exec_true(Drv, True, 400) end),
                  "spawns/s", higher},
                 {spawn_sparse_fork_exec, sparse_us(fun() -> alcove_fork_exec_true(Drv, True, 1) end),
                  "us/spawn", lower}];
            original ->
                []
        end,
    Stdout = alcove_stdout(Drv, 256 * ?MiB),
    Echo = alcove_echo(Drv, exe("cat"), 64 * ?MiB),
    ok = stop_drv(Target, Drv),
    peer_figures(Spawn, Sparse, Stdout, Echo) ++ ForkExec;
peers(port) ->
    True = exe("true"),
    _ = port_true_loop(True, 20),
    Spawn = rate(400, fun() -> port_true_loop(True, 400) end),
    Sparse = sparse_us(fun() -> port_true_loop(True, 1) end),
    Stdout = port_stdout(256 * ?MiB),
    Echo = port_echo(64 * ?MiB),
    peer_figures(Spawn, Sparse, Stdout, Echo);
peers(erlexec) ->
    % Started as root, erlexec refuses to run children unless told to
    % stay root.
    {ok, _} = exec:start([root, {user, "root"}, {limit_users, ["root"]}]),
    True = exe("true"),
    _ = exec_true_loop(True, 20),
    Spawn = rate(400, fun() -> exec_true_loop(True, 400) end),
    Sparse = sparse_us(fun() -> exec_true_loop(True, 1) end),
    Stdout = exec_stdout(256 * ?MiB),
    Echo = exec_echo(64 * ?MiB),
    peer_figures(Spawn, Sparse, Stdout, Echo).

peer_figures(Spawn, Sparse, Stdout, Echo) ->
    [{spawn_true, Spawn, "spawns/s", higher},
     {spawn_sparse, Sparse, "us/spawn", lower},
     {stdout_256m, Stdout, "MB/s", higher},
     {cat_echo_64m, Echo, "MB/s", higher}].

%% The median microseconds of one spawn (Fun: one spawn and its exit) of
%% 15, one every 100 ms: a program started now and then, which the
%% back-to-back rate does not show (bench/floor.c: a process entering a
%% cgroup by a write to its cgroup.procs waits for an RCU grace period
%% when none has passed for a while).
sparse_us(Fun) ->
    median([begin
                timer:sleep(100),
                {T, ok} = timer:tc(Fun),
                T
            end || _ <- lists:seq(1, 15)]).

port_true_loop(_True, 0) ->
    ok;
port_true_loop(True, N) ->
    Port = open_port({spawn_executable, True}, [exit_status]),
    receive
        {Port, {exit_status, 0}} -> ok
    after 5000 -> error(port_timeout)
    end,
    port_true_loop(True, N - 1).

port_stdout(Bytes) ->
    Head = exe("head"),
    T0 = erlang:monotonic_time(),
    Port = open_port({spawn_executable, Head},
                     [binary, stream, exit_status, {args, ["-c", integer_to_list(Bytes), "/dev/zero"]}]),
    Bytes = count_port_stdout(Port, 0),
    mb_per_s(Bytes, elapsed_s(T0)).

count_port_stdout(Port, N) ->
    receive
        {Port, {data, Bin}} -> count_port_stdout(Port, N + byte_size(Bin));
        {Port, {exit_status, 0}} -> N
    after 30000 -> error({stdout_timeout, N})
    end.

port_echo(Bytes) ->
    Data = binary:copy(<<"x">>, ?ECHO_CHUNK),
    Port = open_port({spawn_executable, exe("cat")}, [binary, stream]),
    T0 = erlang:monotonic_time(),
    Send = fun() -> true = port_command(Port, Data), ok end,
    Recv = fun() ->
        receive
            {Port, {data, Bin}} -> byte_size(Bin)
        after 30000 -> error(echo_timeout)
        end
    end,
    ok = echo_loop(Send, Recv, byte_size(Data), Bytes, 2 * ?MiB, 0, 0),
    T = elapsed_s(T0),
    true = port_close(Port),
    mb_per_s(Bytes, T).

%% erlexec: started as root it must be told to stay root.
exec_true_loop(_True, 0) ->
    ok;
exec_true_loop(True, N) ->
    {ok, Pid, _OsPid} = exec:run([True], [monitor]),
    receive
        {'DOWN', _, process, Pid, normal} -> ok;
        {'DOWN', _, process, Pid, Other} -> error({exec_exit, Other})
    after 5000 -> error(exec_timeout)
    end,
    exec_true_loop(True, N - 1).

exec_stdout(Bytes) ->
    Head = exe("head"),
    T0 = erlang:monotonic_time(),
    {ok, Pid, OsPid} = exec:run([Head, "-c", integer_to_list(Bytes), "/dev/zero"], [stdout, monitor]),
    Bytes = count_exec_stdout(Pid, OsPid, 0),
    mb_per_s(Bytes, elapsed_s(T0)).

count_exec_stdout(Pid, OsPid, N) ->
    receive
        {stdout, OsPid, Bin} -> count_exec_stdout(Pid, OsPid, N + byte_size(Bin));
        {'DOWN', _, process, Pid, normal} -> drain_exec_stdout(OsPid, N)
    after 30000 -> error({stdout_timeout, N})
    end.

drain_exec_stdout(OsPid, N) ->
    receive
        {stdout, OsPid, Bin} -> drain_exec_stdout(OsPid, N + byte_size(Bin))
    after 0 -> N
    end.

exec_echo(Bytes) ->
    Data = binary:copy(<<"x">>, ?ECHO_CHUNK),
    {ok, Pid, OsPid} = exec:run([exe("cat")], [stdin, stdout, monitor]),
    T0 = erlang:monotonic_time(),
    Send = fun() -> exec:send(OsPid, Data) end,
    Recv = fun() ->
        receive
            {stdout, OsPid, Bin} -> byte_size(Bin)
        after 30000 -> error(echo_timeout)
        end
    end,
    ok = echo_loop(Send, Recv, byte_size(Data), Bytes, 2 * ?MiB, 0, 0),
    T = elapsed_s(T0),
    ok = exec:send(OsPid, eof),
    receive
        {'DOWN', _, process, Pid, _} -> ok
    after 5000 -> error(cat_did_not_exit)
    end,
    mb_per_s(Bytes, T).

%%% ---------------------------------------------------------------------
%%% strace: syscalls of the helper tree (strace -c -f on the root helper)
%%% for 10,000 calls to [], 10,000 calls to depth 1 and 1,000 fork + exit
%%% cycles, each in a driver of its own. The summaries go to
%%% ALCOVE_BENCH_STRACE_DIR (default /tmp) as TARGET-WORKLOAD.strace; the
%%% figures returned are the syscalls per call or cycle.

strace(Target) ->
    Dir = case os:getenv("ALCOVE_BENCH_STRACE_DIR") of
        false -> "/tmp";
        D -> D
    end,
    Work = [{rt_root, 10000, fun(Drv) -> getpid_loop(Drv, [], 10000) end},
            {rt_depth1, 10000, fun(Drv) ->
                 P1 = fork_chain(Drv, [], 1),
                 getpid_loop(Drv, P1, 10000)
             end},
            {fork_exit, 1000, fun(Drv) -> fork_exit_loop(Drv, 1000) end}],
    [begin
         Drv = start_drv(Target, []),
         Helper = alcove:getpid(Drv, []),
         File = filename:join(Dir, lists:concat([Target, "-", Name, ".strace"])),
         Port = open_port({spawn_executable, exe("strace")},
                          [{args, ["-c", "-f", "-o", File, "-p", integer_to_list(Helper)]}, exit_status,
                           stderr_to_stdout]),
         % strace prints "attached" once it traces the helper
         receive {Port, {data, _}} -> ok after 5000 -> error(strace_not_attached) end,
         ok = Fun(Drv),
         ok = stop_drv(Target, Drv),
         receive {Port, {exit_status, _}} -> ok after 10000 -> error(strace_did_not_exit) end,
         {ok, Text} = file:read_file(File),
         {lists:concat([Name, "_syscalls"]), total_calls(Text) / N, "syscalls/op", lower}
     end || {Name, N, Fun} <- Work].

%% profile: run one workload (ALCOVE_BENCH_PROFILE: rt_root, rt_depth1 or
%% fork_exit) for ALCOVE_BENCH_PROFILE_SECONDS (default 10) after printing
%% "helper OSPID", for a profiler attached from outside, e.g.
%% perf record -g -p OSPID -- sleep 5.
profile(Target) ->
    Drv = start_drv(Target, []),
    Helper = alcove:getpid(Drv, []),
    io:format("helper ~b~n", [Helper]),
    Work = case os:getenv("ALCOVE_BENCH_PROFILE", "rt_root") of
        "rt_root" -> fun() -> getpid_loop(Drv, [], 1000) end;
        "rt_depth1" -> P1 = fork_chain(Drv, [], 1), fun() -> getpid_loop(Drv, P1, 1000) end;
        "fork_exit" -> fun() -> fork_exit_loop(Drv, 100) end
    end,
    Until = erlang:monotonic_time(millisecond) + 1000 * env_int("ALCOVE_BENCH_PROFILE_SECONDS", 10),
    Loop = fun L(N) ->
        ok = Work(),
        case erlang:monotonic_time(millisecond) < Until of
            true -> L(N + 1);
            false -> N + 1
        end
    end,
    Rounds = Loop(0),
    ok = stop_drv(Target, Drv),
    [{profile_batches, Rounds, "batches", higher}].

total_calls(Text) ->
    [Total] = [L || L <- binary:split(Text, <<"\n">>, [global]), binary:match(L, <<"total">>) =/= nomatch],
    [_Pct, _Secs, _Usecs, Calls | _] = binary:split(Total, <<" ">>, [global, trim_all]),
    binary_to_integer(Calls).

%%% ---------------------------------------------------------------------
%%% memory

memory(Target) ->
    Batch = env_int("ALCOVE_BENCH_MEM_CHILDREN", 1000),
    Opts = [{maxchild, 2 * Batch + 16}],
    Drv = start_drv(Target, Opts),
    Helper = alcove:getpid(Drv, []),
    Rss0 = rss_kib(Helper),
    Kids1 = [fork_ok(Drv) || _ <- lists:seq(1, Batch)],
    Rss1 = rss_kib(Helper),
    Kids2 = [fork_ok(Drv) || _ <- lists:seq(1, Batch)],
    Rss2 = rss_kib(Helper),
    KidsRss = lists:sum([rss_kib(K) || K <- Kids2]),
    % RSS counts the pages a child shares with its parent in every child;
    % PSS divides them among the sharers.
    KidsPss = lists:sum([pss_kib(K) || K <- Kids2]),
    HelperPss = pss_kib(Helper),
    [ok = alcove:exit(Drv, [K], 0) || K <- Kids1 ++ Kids2],
    [ok = wait_exit(Drv, [K]) || K <- Kids1 ++ Kids2],
    ok = stop_drv(Target, Drv),
    Drv2 = start_drv(Target, []),
    {MemMax, RssMax, Hwm} = slow_stream(Drv2, env_int("ALCOVE_BENCH_SLOW_BYTES", 1024 * ?MiB),
                                        env_int("ALCOVE_BENCH_SLOW_MBS", 100)),
    ok = stop_drv(Target, Drv2),
    PerK = 1000 / Batch,
    [{helper_rss_start, Rss0, "KiB", lower},
     {helper_rss_per_1000_children, (Rss2 - Rss0) / 2 * PerK, "KiB", lower},
     {helper_rss_1st_1000, (Rss1 - Rss0) * PerK, "KiB", lower},
     {children_rss_sum_per_1000, KidsRss * PerK, "KiB", lower},
     {children_pss_sum_per_1000, KidsPss * PerK, "KiB", lower},
     {helper_pss_with_2000_children, HelperPss * 2000 / (2 * Batch), "KiB", lower},
     {slow_1g_vm_memory_max, MemMax / ?MiB, "MiB", lower},
     {slow_1g_beam_rss_max, RssMax / 1024, "MiB", lower},
     {slow_1g_beam_hwm, Hwm / 1024, "MiB", lower}].

fork_ok(Drv) ->
    {ok, C} = alcove:fork(Drv, []),
    C.

status_kib(Pid, Field) ->
    {ok, B} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status"),
    [Line] = [L || L <- binary:split(B, <<"\n">>, [global]), binary:match(L, Field) =:= {0, byte_size(Field)}],
    [_, V | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(V).

rss_kib(Pid) ->
    status_kib(Pid, <<"VmRSS:">>).

pss_kib(Pid) ->
    {ok, B} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/smaps_rollup"),
    [Line] = [L || L <- binary:split(B, <<"\n">>, [global]), binary:match(L, <<"Pss:">>) =:= {0, 4}],
    [_, V | _] = binary:split(Line, [<<" ">>, <<"\t">>], [global, trim_all]),
    binary_to_integer(V).

%% The child writes Bytes to stdout; the owner reads at most Mbs MB/s
%% (sleeping between messages). A sampler records the VM's memory
%% every 50 ms. Returns the largest erlang:memory(total) (bytes), the
%% largest VmRSS of the beam (KiB) and its VmHWM at the end (KiB).
slow_stream(Drv, Bytes, Mbs) ->
    Beam = list_to_integer(os:getpid()),
    Self = self(),
    Sampler = spawn_link(fun() -> sample(Self, Beam, 0, 0) end),
    Head = exe("head"),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], Head, [Head, "-c", integer_to_list(Bytes), "/dev/zero"]),
    T0 = erlang:monotonic_time(),
    Bytes = slow_read(Drv, [C], 0, T0, Mbs),
    Sampler ! {stop, self()},
    receive
        {sampled, MemMax, RssMax} -> {MemMax, RssMax, status_kib(Beam, <<"VmHWM:">>)}
    end.

slow_read(Drv, P, N, T0, Mbs) ->
    receive
        {alcove_stdout, Drv, P, Bin} ->
            N1 = N + byte_size(Bin),
            % sleep until N1 bytes are due at Mbs MB/s
            DueMs = N1 / (Mbs * 1000),
            ElapsedMs = elapsed_s(T0) * 1000,
            case DueMs - ElapsedMs of
                D when D >= 1 -> timer:sleep(trunc(D));
                _ -> ok
            end,
            slow_read(Drv, P, N1, T0, Mbs);
        {alcove_event, Drv, P, {exit_status, 0}} ->
            N;
        {alcove_event, Drv, P, Other} ->
            error({unexpected_event, Other})
    after 60000 -> error({stdout_timeout, N})
    end.

sample(Owner, Beam, MemMax, RssMax) ->
    receive
        {stop, Owner} -> Owner ! {sampled, MemMax, RssMax}
    after 50 ->
        sample(Owner, Beam, max(MemMax, erlang:memory(total)), max(RssMax, rss_kib(Beam)))
    end.

%%% ---------------------------------------------------------------------
%%% report

values(Terms, Target, Fig) ->
    [V || {T, _, F, V, _, _} <- Terms, T =:= Target, F =:= Fig].

unit_of(Terms, Fig) ->
    case [{U, B} || {_, _, F, _, U, B} <- Terms, F =:= Fig] of
        [UB | _] -> UB;
        [] -> {"", higher}
    end.

median([]) ->
    undefined;
median(L) ->
    S = lists:sort(L),
    N = length(S),
    case N rem 2 of
        1 -> lists:nth(N div 2 + 1, S);
        0 -> (lists:nth(N div 2, S) + lists:nth(N div 2 + 1, S)) / 2
    end.

minimum([]) -> undefined;
minimum(L) -> lists:min(L).

num(undefined) -> "-";
num(X) when abs(X) >= 100 -> integer_to_list(round(X));
num(X) -> lists:flatten(io_lib:format("~.1f", [float(X)])).

ratio(A, B) when is_number(A), is_number(B), B /= 0 -> lists:flatten(io_lib:format("~.2f", [A / B]));
ratio(_, _) -> "-".

better(lower) -> "lower";
better(higher) -> "higher".

row(Cells) ->
    io:format("| ~ts |~n", [lists:join(" | ", Cells)]).

report(compare, Terms) ->
    % {ours' figure, the original's, the floor's, the shaped floor's, name}:
    % the floor is what bench/floor.c measures for that shape with no
    % Erlang (a call at any depth is at best one round trip between two
    % processes); the shaped one is the same done in C the way a driver
    % has to (answers read by an I/O thread and handed to the caller,
    % children made and reaped by a helper process), its threads blocking
    % where they wait.
    Figs = [{rt_root, rt_root, rt_root, rt_relayed, "call round trip, `[]`"},
            {rt_depth1, rt_depth1, rt_root, rt_relayed, "call round trip, depth 1"},
            {rt_depth4, rt_depth4, rt_root, rt_relayed, "call round trip, depth 4"},
            {fork_exit, fork_exit, fork_exit, fork_exit_shaped, "fork + exit event"},
            {stdout_256m, stdout_256m, stdout_256m, none, "child stdout to the owner, 256 MiB"},
            {cat_echo_64m, cat_echo_64m, cat_echo_64m, cat_echo_64m_shaped, "`cat` echo, 64 MiB (32 KiB writes)"},
            {conc_drv_per_caller, conc_drv_per_caller, conc_drv_per_caller, conc_relayed,
             "concurrent calls, 8 callers, one Drv per caller"},
            {conc_one_drv, conc_drv_per_caller, conc_drv_per_caller, conc_relayed,
             "concurrent calls, 8 callers on one Drv (original: one Drv per caller)"}],
    Rounds = length(lists:usort([R || {T, R, _, _, _, _} <- Terms, T =:= ours, R > 0])),
    Floor = [T || T <- Terms, element(1, T) =:= floor] =/= [],
    io:format("ours vs original, ~b alternating rounds (each round of each build in a fresh VM)~n~n", [Rounds]),
    FloorHead = case Floor of
        true -> ["floor median", "floor/original (the best ratio possible)",
                 "C in a driver's shape, median", "shaped/original"];
        false -> []
    end,
    row(["figure", "unit", "better", "ours min", "ours median", "original min", "original median",
         "ratio of medians (ours/original)" | FloorHead]),
    row(["---", "---", "---", "---:", "---:", "---:", "---:", "---:" | ["---:" || _ <- FloorHead]]),
    [begin
         {Unit, B} = unit_of(Terms, Ours),
         O = values(Terms, ours, Ours),
         G = values(Terms, original, Orig),
         F = values(Terms, floor, FloorFig),
         S = values(Terms, floor, Shaped),
         FloorCells = case Floor of
             true -> [num(median(F)), ratio(median(F), median(G)),
                      num(median(S)), ratio(median(S), median(G))];
             false -> []
         end,
         row([Name, Unit, better(B), num(minimum(O)), num(median(O)), num(minimum(G)), num(median(G)),
              ratio(median(O), median(G)) | FloorCells])
     end || {Ours, Orig, FloorFig, Shaped, Name} <- Figs],
    case Floor of
        true ->
            io:format("~nfloor: bench/floor.c, no Erlang, run as a target of its own in every round. "
                      "Shaped: the same in C as a driver must do it (answers read by a second "
                      "thread and handed over; fork and exit through a helper process that gives "
                      "each child three pipes and a control socket; echo's output read by a second "
                      "thread), each thread blocking while it waits: not a bound (a VM's "
                      "schedulers spin before they sleep).~n", []);
        false ->
            ok
    end,
    Mem = [{helper_rss_start, "helper RSS at start"},
           {helper_rss_1st_1000, "helper RSS growth, first 1,000 children"},
           {helper_rss_per_1000_children, "helper RSS growth per 1,000 children (over 2,000)"},
           {children_rss_sum_per_1000, "sum of the children's RSS, per 1,000 children"},
           {children_pss_sum_per_1000, "sum of the children's PSS, per 1,000 children"},
           {helper_pss_with_2000_children, "root helper's PSS with 2,000 children"},
           {slow_1g_vm_memory_max, "1 GiB stdout, slow consumer: max erlang:memory(total)"},
           {slow_1g_beam_rss_max, "1 GiB stdout, slow consumer: max beam VmRSS"},
           {slow_1g_beam_hwm, "1 GiB stdout, slow consumer: beam VmHWM"}],
    case [F || {F, _} <- Mem, values(Terms, ours, F) =/= []] of
        [] ->
            ok;
        _ ->
            io:format("~nmemory (one run per build; lower is better)~n~n"),
            row(["figure", "unit", "ours", "original", "ratio (ours/original)"]),
            row(["---", "---", "---:", "---:", "---:"]),
            [begin
                 {Unit, _} = unit_of(Terms, F),
                 O = median(values(Terms, ours, F)),
                 G = median(values(Terms, original, F)),
                 row([Name, Unit, num(O), num(G), ratio(O, G)])
             end || {F, Name} <- Mem]
    end,
    ok;
report(peers, Terms) ->
    Targets = [T || T <- [erlexec, ours, original, port, floor], values(Terms, T, spawn_true) =/= []],
    Rounds = length(lists:usort([R || {T, R, _, _, _, _} <- Terms, T =:= ours])),
    io:format("peers, ~b alternating rounds; median (min) per target; higher is better, "
              "but for us/spawn~n~n", [Rounds]),
    Others = Targets -- [ours],
    row(["figure", "unit" | [atom_to_list(T) || T <- Targets]] ++ ["ours/" ++ atom_to_list(T) || T <- Others]),
    row(["---", "---" | ["---:" || _ <- Targets ++ Others]]),
    [begin
         {Unit, _} = unit_of(Terms, F),
         Med = fun(T) -> median(values(Terms, T, F)) end,
         % A figure a target does not have (spawn_true_fork_exec is
         % ours alone) is a dash, and so is its ratio.
         Cell = fun(T) ->
             case values(Terms, T, F) of
                 [] -> "-";
                 Vs -> num(median(Vs)) ++ " (" ++ num(minimum(Vs)) ++ ")"
             end
         end,
         row([Name, Unit | [Cell(T) || T <- Targets]]
             ++ [ratio(Med(ours), Med(T)) || T <- Others])
     end || {F, Name} <- [{spawn_true, "spawn `/bin/true`, wait for its exit"},
                          {spawn_true_fork_exec, "spawn `/bin/true` with fork_exec (one request), wait for its exit"},
                          {spawn_true_leaf, "spawn `/bin/true` started in a kept cgroup leaf (clone3 into it, as alcove does), wait for its exit"},
                          {spawn_sparse, "the same, one every 100 ms: one spawn and its exit"},
                          {spawn_sparse_fork_exec, "the same with fork_exec"},
                          {spawn_sparse_leaf, "the same started in a kept cgroup leaf (clone3 into it)"},
                          {spawn_sparse_leaf_write, "the same entering the leaf by a write to its cgroup.procs"},
                          {stdout_256m, "child stdout, 256 MiB"},
                          {cat_echo_64m, "`cat` echo, 64 MiB (32 KiB writes)"}]],
    ok.
