%%% What the fast paths must keep: the driver's reader takes every frame a
%%% read brings in place and readers of many drivers share the CPUs;
%%% bytes, order, ownership, replies, exits and one message per read (flow
%%% control counts them) stay as they were.
-module(alcove_batching_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    small_writes_whole/1, small_writes_whole/0,
    one_message_per_read/1, one_message_per_read/0,
    streams_not_merged/1, streams_not_merged/0,
    owners_not_merged/1, owners_not_merged/0,
    exit_answered_with_event/1, exit_answered_with_event/0,
    exit_of_parent_with_held_child/1, exit_of_parent_with_held_child/0,
    exit_with_calls_in_flight/1, exit_with_calls_in_flight/0,
    many_drivers/1, many_drivers/0
]).

all() ->
    [small_writes_whole, one_message_per_read, streams_not_merged, owners_not_merged, exit_answered_with_event,
     exit_of_parent_with_held_child, exit_with_calls_in_flight, many_drivers].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

small_writes_whole() ->
    [{doc, "Many small writes read faster than the owner takes them arrive whole and in order."}].
small_writes_whole(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    % The owner sleeps while awk writes line by line: frames pile up in the
    % socket and are read several at a time.
    ok = alcove:execvp(Drv, [C], "awk", ["awk", "BEGIN { for (i = 1; i <= 200000; i++) { print i; fflush() } }"]),
    timer:sleep(200),
    {Chunks, Exit} = chunks_until_exit(Drv, [C], []),
    ?assertEqual({exit_status, 0}, Exit),
    Expected = iolist_to_binary([[integer_to_list(N), $\n] || N <- lists:seq(1, 200000)]),
    ?assertEqual(Expected, iolist_to_binary(Chunks)),
    ct:pal("~b writes arrived in ~b messages", [200000, length(Chunks)]).

one_message_per_read() ->
    [{doc, "flowcontrol N lets exactly N output messages through, however fast the reads come."}].
one_message_per_read(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 5),
    ok = alcove:execvp(Drv, [C], "awk", ["awk", "BEGIN { for (i = 1; i <= 200000; i++) { print i; fflush() } }"]),
    % Five messages, then none: the helper stopped reading and awk blocks
    % on its full pipe.
    alcove_ct:granted(Drv, C, 5),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 3),
    alcove_ct:granted(Drv, C, 3),
    true = alcove:setcpid(Drv, [], C, flowcontrol, -1),
    {_, Exit} = chunks_until_exit(Drv, [C], []),
    ?assertEqual({exit_status, 0}, Exit).

streams_not_merged() ->
    [{doc, "stdout and stderr of one process stay apart, each whole and in order."}].
streams_not_merged(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    Script = "i=0; while [ $i -lt 3000 ]; do echo o$i; echo e$i >&2; i=$((i+1)); done",
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", Script]),
    {Out, Err, Exit} = alcove_ct:both_until_exit(Drv, [C]),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(iolist_to_binary([["o", integer_to_list(N), "\n"] || N <- lists:seq(0, 2999)]), Out),
    ?assertEqual(iolist_to_binary([["e", integer_to_list(N), "\n"] || N <- lists:seq(0, 2999)]), Err).

owners_not_merged() ->
    [{doc, "Two processes writing at once: each owner gets exactly its own process's bytes."}].
owners_not_merged(Config) ->
    Drv = ?config(drv, Config),
    Self = self(),
    Run = fun(Tag, Count) ->
        spawn_link(fun() ->
            {ok, C} = alcove:fork(Drv, []),
            ok = alcove:execvp(Drv, [C], "seq", ["seq", "-f", Tag ++ "%g", "1", integer_to_list(Count)]),
            {Out, Exit} = alcove_ct:read_until_exit(Drv, [C]),
            Self ! {Tag, Out, Exit}
        end)
    end,
    _ = Run("a", 100000),
    _ = Run("b", 80000),
    [begin
         receive {Tag, Out, Exit} -> ok after 60000 -> Out = Exit = error(timeout) end,
         ?assertEqual({exit_status, 0}, Exit),
         Expected = iolist_to_binary([[Tag, integer_to_list(N), $\n] || N <- lists:seq(1, Count)]),
         ?assertEqual(erlang:md5(Expected), erlang:md5(iolist_to_binary(Out)))
     end || {Tag, Count} <- [{"a", 100000}, {"b", 80000}]].

exit_answered_with_event() ->
    [{doc, "fork then exit, 300 times: each exit returns ok and each child's exit event comes, nothing left."}].
exit_answered_with_event(Config) ->
    Drv = ?config(drv, Config),
    Pids = [begin
                {ok, C} = alcove:fork(Drv, []),
                ok = alcove:exit(Drv, [C], N rem 7),
                ?assertEqual({exit_status, N rem 7}, alcove:event(Drv, [C], 5000)),
                C
            end || N <- lists:seq(1, 300)],
    ?assertEqual(300, length(lists:usort(Pids))),
    ?assertEqual([], alcove:cpid(Drv, [])).

exit_of_parent_with_held_child() ->
    [{doc, "exit of a helper whose exec'd child's output is held by flowcontrol 0 returns at once."}].
exit_of_parent_with_held_child(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, P} = alcove:fork(Drv, [C]),
    true = alcove:setcpid(Drv, [C], P, flowcontrol, 0),
    ok = alcove:execvp(Drv, [C, P], "/bin/sh", ["sh", "-c", "echo held; exec sleep 600"]),
    ?assertEqual(ok, alcove:exit(Drv, [C], 3, 5000)),
    ?assertEqual({exit_status, 3}, alcove:event(Drv, [C], 5000)),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(P) end).

exit_with_calls_in_flight() ->
    [{doc, "Calls sent after an exit to the same child raise, the exit returns ok, the event comes once."}].
exit_with_calls_in_flight(Config) ->
    Drv = ?config(drv, Config),
    Self = self(),
    [begin
         {ok, C} = alcove:fork(Drv, []),
         ok = alcove:exit(Drv, [C], 0),
         Caller = spawn_link(fun() ->
             Self ! {late, self(), catch alcove:getpid(Drv, [C], 5000)}
         end),
         receive
             {late, Caller, Late} ->
                 % The child is gone or going: the late call is refused,
                 % never answered as if it ran.
                 ?assertMatch({'EXIT', {Reason, _}} when Reason =:= badpid;
                                                         Reason =:= {exit_status, 0}, Late)
         after 10000 -> error(no_answer)
         end,
         ?assertEqual({exit_status, 0}, alcove:event(Drv, [C], 5000)),
         ?assertEqual(false, alcove:event(Drv, [C], 0))
     end || _ <- lists:seq(1, 50)].

many_drivers() ->
    [{doc, "8 drivers called by 8 processes at once (more readers than may spin): every reply is right."}].
many_drivers(_Config) ->
    Self = self(),
    Pids = [spawn_link(fun() ->
                {ok, D} = alcove_drv:start_link(),
                Helper = alcove:getpid(D, []),
                {ok, C} = alcove:fork(D, []),
                Ok = lists:all(fun(_) ->
                                   alcove:getpid(D, []) =:= Helper andalso alcove:getpid(D, [C]) =:= C
                               end, lists:seq(1, 2000)),
                alcove_drv:stop(D),
                Self ! {done, self(), Ok}
            end) || _ <- lists:seq(1, 8)],
    [receive {done, P, Ok} -> ?assert(Ok) after 120000 -> error(timeout) end || P <- Pids].

%%% helpers

chunks_until_exit(Drv, P, Acc) ->
    receive
        {alcove_stdout, Drv, P, Data} -> chunks_until_exit(Drv, P, [Data | Acc]);
        {alcove_event, Drv, P, {exit_status, _} = Exit} -> {lists:reverse(Acc), Exit}
    after 60000 -> error({timeout, iolist_size(Acc)})
    end.
