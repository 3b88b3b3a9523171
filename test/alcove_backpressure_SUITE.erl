%%% Output backpressure in the raw API: past a high-water mark of output
%%% delivered to an owner that has not taken it, the helper stops reading
%%% that process until the owner's mailbox drains. Nothing is lost, the
%%% order holds, and the exit event still comes last.
-module(alcove_backpressure_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0]).
-export([unread_gigabyte/1, order_kept/1, per_process/1, owner_dies_while_held/1, stdin_shared_binaries/1]).

all() ->
    [unread_gigabyte, order_kept, per_process, owner_dies_while_held, stdin_shared_binaries].

%% A child writes 1 GiB to an owner that reads nothing for 3 s: the VM's
%% memory stays bounded, then every byte arrives before the exit event.
unread_gigabyte(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Size = 1 bsl 30,
    erlang:garbage_collect(),
    Before = erlang:memory(total),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "exec head -c " ++ integer_to_list(Size) ++ " /dev/zero"]),
    % Wait until the output is held: the child is blocked writing.
    ok = alcove_ct:wait_until(fun() -> alcove_ct:blocked_writing(C) end),
    timer:sleep(3000),
    Held = erlang:memory(total) - Before,
    {message_queue_len, Queued} = process_info(self(), message_queue_len),
    ct:pal("1 GiB unread for 3 s: VM memory +~p MB, ~p messages waiting", [Held div (1 bsl 20), Queued]),
    ?assert(Held < 64 bsl 20),
    {Micros, {Bytes, Exit}} = timer:tc(fun() -> count(Drv, [C], 0) end),
    ct:pal("then read ~p bytes in ~p ms", [Bytes, Micros div 1000]),
    ?assertEqual(Size, Bytes),
    ?assertEqual({exit_status, 0}, Exit),
    alcove_drv:stop(Drv).

%% Held and resumed many times over, the stream arrives whole and in order.
order_kept(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "seq", ["seq", "1", "3000000"]),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:blocked_writing(C) end),
    {Out, Exit} = alcove_ct:read_until_exit(Drv, [C]),
    ?assertEqual({exit_status, 0}, Exit),
    Expected = iolist_to_binary([[integer_to_list(N), $\n] || N <- lists:seq(1, 3000000)]),
    ct:pal("~p bytes, held at least once", [byte_size(Expected)]),
    ?assertEqual(erlang:md5(Expected), erlang:md5(iolist_to_binary(Out))).

%% One process held does not hold another: a second child's output flows
%% while the first one's owner reads nothing.
per_process(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {Lazy, C1} = held_by_lazy_owner(Drv),
    {ok, C2} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C2], "/bin/sh", ["sh", "-c", "head -c 20000000 /dev/zero"]),
    {Out, Exit} = alcove_ct:read_until_exit(Drv, [C2]),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(20000000, iolist_size(Out)),
    ?assert(alcove_ct:blocked_writing(C1)),
    exit(Lazy, kill),
    alcove_drv:stop(Drv).

%% An owner that dies with output held: its process is killed and the
%% driver carries on (nothing waits for a mailbox that is gone).
owner_dies_while_held(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {Owner, C} = held_by_lazy_owner(Drv),
    exit(Owner, kill),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(C) end),
    ?assertEqual([], [Pid || {Pid, _} <- cpids(Drv)]),
    ?assert(is_integer(alcove:getpid(Drv, []))),
    alcove_drv:stop(Drv).

%% Stdin of 2,000 references to one 1 MiB binary: streamed from a dirty
%% scheduler without being flattened; the VM's memory does not grow by the
%% 2 GB a flattened copy would take. Every byte reaches the program unless
%% the helper refused some (its stdin queue full: `{alcove_pipe, ...}`, as
%% for any stdin write), which a loaded machine can cause.
stdin_shared_binaries(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "exec wc -c"]),
    Bin = binary:copy(<<"x">>, 1 bsl 20),
    Data = lists:duplicate(2000, Bin),
    erlang:garbage_collect(),
    Before = erlang:memory(total),
    {Micros, ok} = timer:tc(fun() -> alcove_drv:stdin(Drv, [C], Data) end),
    Grew = erlang:memory(total) - Before,
    ok = alcove:eof(Drv, [C], stdin),
    {Out, Exit} = alcove_ct:read_until_exit(Drv, [C]),
    Refused = receive {alcove_pipe, Drv, [C], _} = Pipe -> Pipe after 0 -> none end,
    Counted = binary_to_integer(string:trim(iolist_to_binary(Out))),
    ct:pal("2000 x 1 MiB of stdin: written in ~p ms, VM memory +~p MB, wc counted ~p, refused: ~p",
           [Micros div 1000, Grew div (1 bsl 20), Counted, Refused]),
    ?assertEqual({exit_status, 0}, Exit),
    case Refused of
        none -> ?assertEqual(2000 bsl 20, Counted);
        _ -> ?assert(Counted < 2000 bsl 20)
    end,
    ?assert(Grew < 64 bsl 20),
    % Not iodata: refused whole, nothing sent.
    ?assertError(badarg, alcove_drv:stdin(Drv, [C], [Bin, Bin, foo])),
    alcove_drv:stop(Drv).

%%% Helpers

%% A process owning `cat /dev/zero' and reading none of it; returns once
%% the output is held. {Owner, OS pid}.
held_by_lazy_owner(Drv) ->
    Self = self(),
    Owner = spawn(fun() ->
        {ok, C} = alcove:fork(Drv, []),
        ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "exec cat /dev/zero"]),
        Self ! {held, self(), C},
        receive stop -> ok end
    end),
    C = receive {held, Owner, P} -> P end,
    ok = alcove_ct:wait_until(fun() -> alcove_ct:blocked_writing(C) end),
    {Owner, C}.

%% The child is asleep writing to its stdout pipe (the helper no longer
%% reads it).
count(Drv, Pipeline, N) ->
    receive
        {alcove_stdout, Drv, Pipeline, B} -> count(Drv, Pipeline, N + byte_size(B));
        {alcove_event, Drv, Pipeline, Exit} -> {N, Exit}
    after 30000 -> {N, timeout}
    end.

cpids(Drv) ->
    [{P, X} || {alcove_pid, P, _, _, _, _, _} = X <- alcove:cpid(Drv, [])].
