%%% Helpers shared by the Common Test suites: a driver per test case,
%%% waiting for a process's exit, and whether the tests run as root.
-module(alcove_ct).

-include_lib("common_test/include/ct.hrl").

-export([init_driver/1, end_driver/1, root/0, read_until_exit/2, wait_exit/2, read_stdout/3,
         wait_until/1, ensure_distributed/0, proc_state/1, ended/1, blocked_writing/1,
         both_until_exit/2, granted/3, in_syscall/2]).

%% @doc Start a driver linked to the test case process (its owner).
-spec init_driver(list()) -> list().
init_driver(Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    [{drv, Drv} | Config].

%% @doc Stop the test case's driver: the tree is gone when this returns.
-spec end_driver(list()) -> ok.
end_driver(Config) ->
    Drv = ?config(drv, Config),
    unlink(Drv),
    catch alcove_drv:stop(Drv),
    ok.

%% @doc Whether the VM runs as root.
-spec root() -> boolean().
root() ->
    string:trim(os:cmd("id -u")) =:= "0".

%% @doc Wait for the exit event of a process.
-spec wait_exit(pid(), [integer()]) -> {exit_status, integer()} | {termsig, atom()}.
wait_exit(Drv, Pipeline) ->
    receive
        {alcove_event, Drv, Pipeline, {exit_status, _} = E} -> E;
        {alcove_event, Drv, Pipeline, {termsig, _} = E} -> E
    after 10000 -> ct:fail({no_exit_event, Pipeline})
    end.

%% @doc Read stdout until the exit event: {Bytes, ExitEvent}.
-spec read_until_exit(pid(), [integer()]) -> {binary(), term()}.
read_until_exit(Drv, Pipeline) ->
    read_until_exit(Drv, Pipeline, []).

read_until_exit(Drv, Pipeline, Acc) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> read_until_exit(Drv, Pipeline, [Data | Acc]);
        {alcove_event, Drv, Pipeline, {exit_status, _} = E} -> {iolist_to_binary(lists:reverse(Acc)), E};
        {alcove_event, Drv, Pipeline, {termsig, _} = E} -> {iolist_to_binary(lists:reverse(Acc)), E}
    after 20000 -> ct:fail({no_exit, Pipeline, iolist_size(Acc)})
    end.

%% @doc Read exactly `Size' bytes of stdout.
-spec read_stdout(pid(), [integer()], non_neg_integer()) -> binary().
read_stdout(Drv, Pipeline, Size) ->
    read_stdout(Drv, Pipeline, Size, <<>>).

read_stdout(_Drv, _Pipeline, Size, Acc) when byte_size(Acc) >= Size ->
    Acc;
read_stdout(Drv, Pipeline, Size, Acc) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> read_stdout(Drv, Pipeline, Size, <<Acc/binary, Data/binary>>)
    after 10000 -> ct:fail({no_stdout, Pipeline, Acc})
    end.

%% @doc Wait (up to 10 s, checking every 20 ms) for `Fun()' to be true:
%% `ok', or `timeout'. For asserting a state that is reached
%% asynchronously, never a fixed sleep.
-spec wait_until(fun(() -> boolean())) -> ok | timeout.
wait_until(Fun) ->
    wait_until(Fun, 500).

wait_until(_Fun, 0) ->
    timeout;
wait_until(Fun, N) ->
    case Fun() of
        true ->
            ok;
        false ->
            timer:sleep(20),
            wait_until(Fun, N - 1)
    end.

%% @doc Make the test node distributed if it is not (starting epmd), for
%% cases that start peer nodes.
-spec ensure_distributed() -> ok | {error, term()}.
ensure_distributed() ->
    case node() of
        nonode@nohost ->
            _ = os:cmd("epmd -daemon"),
            Name = list_to_atom("alcove_ct_" ++ os:getpid()),
            case net_kernel:start([Name, shortnames]) of
                {ok, _} -> ok;
                {error, Reason} -> {error, Reason}
            end;
        _ ->
            ok
    end.

%% @doc The state letter of an OS process from /proc (`<<"S">>',
%% `<<"Z">>', ...), or `gone'.
-spec proc_state(integer()) -> binary() | gone.
proc_state(OSPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/stat") of
        {ok, Stat} ->
            [_, Rest] = binary:split(Stat, <<") ">>),
            binary:part(Rest, 0, 1);
        {error, _} ->
            gone
    end.

%% @doc Whether an OS process no longer runs: gone, or a zombie (PID 1
%% does not reap orphans on every machine these tests run on).
-spec ended(integer()) -> boolean().
ended(OSPid) ->
    lists:member(proc_state(OSPid), [gone, <<"Z">>]).

%% @doc Whether an OS process sleeps writing to a full pipe.
-spec blocked_writing(integer()) -> boolean().
blocked_writing(Pid) ->
    case file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/wchan") of
        % pipe_write, anon_pipe_write (6.x), pipe_wait (older kernels).
        {ok, W} -> binary:match(W, <<"pipe_w">>) =/= nomatch andalso proc_state(Pid) =:= <<"S">>;
        _ -> false
    end.

%% @doc A process's stdout and stderr, each as one binary, and how it ended.
-spec both_until_exit(pid(), [integer()]) -> {binary(), binary(), tuple()}.
both_until_exit(Drv, P) ->
    both_until_exit(Drv, P, [], []).

both_until_exit(Drv, P, Out, Err) ->
    receive
        {alcove_stdout, Drv, P, Data} -> both_until_exit(Drv, P, [Out, Data], Err);
        {alcove_stderr, Drv, P, Data} -> both_until_exit(Drv, P, Out, [Err, Data]);
        {alcove_event, Drv, P, {Ended, _} = Exit} when Ended =:= exit_status; Ended =:= termsig ->
            {iolist_to_binary(Out), iolist_to_binary(Err), Exit}
    after 60000 -> error({timeout, iolist_size(Out), iolist_size(Err)})
    end.

%% @doc N output messages of the process `[C]' arrive, and no more once it
%% is blocked writing (its flow control stopped the reads): after two call
%% round trips, and 100 ms for the driver's output thread.
-spec granted(pid(), integer(), non_neg_integer()) -> ok.
granted(Drv, C, N) ->
    [receive {alcove_stdout, Drv, [C], _} -> ok after 10000 -> error({missing, I, N}) end
     || I <- lists:seq(1, N)],
    ok = wait_until(fun() -> blocked_writing(C) end),
    _ = alcove:getpid(Drv, []),
    _ = alcove:getpid(Drv, []),
    receive
        {alcove_stdout, Drv, [C], _} -> error({more_than, N})
    after 100 -> ok
    end.

%% @doc Whether an OS process sleeps in one of these system calls (numbers;
%% `undefined' for one the platform lacks is skipped).
-spec in_syscall(integer(), [integer() | undefined]) -> boolean().
in_syscall(OSPid, Numbers) ->
    case file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/syscall") of
        {ok, Line} ->
            [Nr | _] = binary:split(Line, <<" ">>),
            lists:member(Nr, [integer_to_binary(N) || N <- Numbers, is_integer(N)]);
        _ ->
            false
    end.
