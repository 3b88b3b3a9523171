%%% Common Test suite: the driver facing bad input and hostile calls.
%%% Start options are checked before anything starts, unknown call numbers
%%% are undef, a stopped driver's callers get `closed', the helper's
%%% signals cannot reach the VM, stop/1 ends a blocked tree, and arguments
%%% or replies cannot blow up memory. Each case logs what it measured.
-module(alcove_fault_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0]).
-export([bad_options/1, good_options/1, unknown_call_numbers/1, stopped_driver/1,
         kill_group_spares_vm/1, stop_blocked_helper/1, shared_binary_amplification/1,
         replies_bounded/1, owner_death_takes_program_group/1, vm_death_blocked_helper/1,
         stop_blocked_in_fifo_open/1, replies_left_unread/1, drivers_share_reactor/1]).
-export([bad_options/0, good_options/0, unknown_call_numbers/0, stopped_driver/0,
         kill_group_spares_vm/0, stop_blocked_helper/0, shared_binary_amplification/0,
         replies_bounded/0, owner_death_takes_program_group/0, vm_death_blocked_helper/0,
         stop_blocked_in_fifo_open/0, replies_left_unread/0, drivers_share_reactor/0]).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [bad_options, good_options, unknown_call_numbers, stopped_driver, kill_group_spares_vm,
     stop_blocked_helper, shared_binary_amplification, replies_bounded,
     owner_death_takes_program_group, vm_death_blocked_helper, stop_blocked_in_fifo_open,
     replies_left_unread, drivers_share_reactor].

bad_options() ->
    [{doc, "A wrong option name, type or range is {error, {badopt, Opt}} and starts nothing."}].
bad_options(_Config) ->
    Before = helpers(),
    Bad = [{owner_exit_signal, 99}, {owner_exit_signal, 0}, {maxchild, -1}, {maxforkdepth, x},
           {signaloneof, 65}, {flowcontrol, -2}, {exit_status, 2}, {stdin_queue, -1},
           {pty, 5}, {env, [{"A", 1}]}, {env, notalist}, {exec, 42}, {progname, self()},
           {no_such_option, 1}, no_such_flag, {stderr_to_stdout, maybe}],
    [?assertEqual({Opt, {error, {badopt, Opt}}}, {Opt, alcove_drv:start([Opt])}) || Opt <- Bad],
    [?assertEqual({Opt, {error, {badopt, Opt}}}, {Opt, alcove_drv:start_link([Opt])}) || Opt <- Bad],
    % Still alive (no exit signal from a half-started driver), nothing left running.
    After = helpers(),
    ct:pal("~b bad options refused by start/1 and start_link/1; helpers running before ~b, after ~b",
           [length(Bad), length(Before), length(After)]),
    ?assertEqual(Before, After).

good_options() ->
    [{doc, "Every option the driver takes, as a value, a flag or a bare atom."}].
good_options(_Config) ->
    Opts = [{maxchild, 7}, {maxforkdepth, 3}, {exit_status, 1}, termsig, {flowcontrol, -1},
            {signaloneof, 9}, {stdin_closed, false}, {stdin_queue, 0}, {pty, 0},
            stderr_to_stdout, {owner_exit_signal, 15}, {env, [{<<"A">>, a}]},
            {ctldir, "/tmp"}, {exec, ""}],
    {ok, Drv} = alcove_drv:start(Opts),
    ?assertEqual(7, alcove:getopt(Drv, [], maxchild)),
    ?assertEqual(3, alcove:getopt(Drv, [], maxforkdepth)),
    ?assertEqual(1, alcove:getopt(Drv, [], termsig)),
    ?assertEqual(0, alcove:getopt(Drv, [], stdin_queue)),
    ?assertEqual(<<"a">>, alcove:getenv(Drv, [], "A")),
    ok = alcove_drv:stop(Drv),
    % Every helper option given at start reaches the helper.
    {ok, Drv2} = alcove_drv:start([{pty, 1}, {stdin_closed, 1}, {signaloneof, 3}]),
    ?assertEqual([1, 1, 3], [alcove:getopt(Drv2, [], O) || O <- [pty, stdin_closed, signaloneof]]),
    ok = alcove_drv:stop(Drv2).

unknown_call_numbers() ->
    [{doc, "A call number outside the call table is undef, never a crash or another call."}].
unknown_call_numbers(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    N = length(alcove_proto:calls()),
    Getpid = alcove_proto:call(getpid),
    Numbers = [N, N + 1, 255, 256, 65535, 65536, Getpid + 65536, Getpid + 16#100000000, -1, 1.0, getpid],
    [?assertError(undef, alcove_drv:call(Drv, [], Nr, [], 1000)) || Nr <- Numbers, not is_atom(Nr)],
    ?assertError(undef, alcove:call(Drv, [], foo_bar_baz_not_a_call, [], 1000)),
    ct:pal("~b call numbers outside the table of ~b raised undef", [length(Numbers) - 1, N]),
    ?assertEqual({alcove_error, undef}, alcove_drv:call(Drv, [], foo_bar_baz_not_a_call, [], 1000)),
    % Below alcove_drv, the NIF refuses numbers past 16 bits rather than
    % cutting them (getpid + 65,536 used to run getpid).
    [?assertError(badarg, alcove_nif:call(Drv, [], Nr, [])) || Nr <- [Getpid + 65536, 65536, 16#FFFFFFFF]],
    % The driver is fine.
    ?assertEqual(alcove:getpid(Drv, []), alcove_drv:call(Drv, [], Getpid, [], 1000)),
    ok = alcove_drv:stop(Drv).

stopped_driver() ->
    [{doc, "Calls and stdin on a stopped driver raise closed."}].
stopped_driver(_Config) ->
    {ok, Drv} = alcove_drv:start(),
    {ok, Child} = alcove:fork(Drv, []),
    ok = alcove_drv:stop(Drv),
    ?assertError(closed, alcove:getpid(Drv, [])),
    ?assertError(closed, alcove:getpid(Drv, [Child])),
    ?assertError(closed, alcove:stdin(Drv, [Child], <<"x">>)),
    ?assertEqual({alcove_error, closed}, alcove_drv:call(Drv, [], getpid, [], 1000)),
    % The rest of the API too, with or without a timeout, and promptly.
    T0 = erlang:monotonic_time(microsecond),
    ?assertError(closed, alcove:getpid(Drv, [], 5000)),
    ?assertError(closed, alcove:fork(Drv, [])),
    ?assertError(closed, alcove:eof(Drv, [Child])),
    ?assertError(closed, alcove:cpid(Drv, [])),
    ?assertError(closed, alcove:define(Drv, [], sigkill)),
    ?assertError(closed, alcove:call(Drv, [], getpid, [])),
    ?assertError(closed, alcove:kill(Drv, [], 0, sigkill)),
    ?assertEqual([], alcove:stdout(Drv, [Child])),
    ?assertError(closed, alcove_drv:controlling_process(Drv, [Child], self())),
    % Stopping it again is a no-op.
    ?assertEqual(ok, alcove_drv:stop(Drv)),
    Took = erlang:monotonic_time(microsecond) - T0,
    ct:pal("11 calls and stdin on a stopped driver raised closed (stdout/2 finds nothing); the last 8 took ~b us", [Took]),
    ?assert(Took < 1000000).

kill_group_spares_vm() ->
    [{doc, "kill(0, sigkill) in the root helper kills its process group, not the VM's."}].
kill_group_spares_vm(_Config) ->
    {ok, Drv} = alcove_drv:start(),
    Ref = monitor(process, Drv),
    Helper = alcove:getpid(Drv, []),
    ?assertNotEqual(pgid(list_to_integer(os:getpid())), pgid(Helper)),
    ?assertEqual(Helper, pgid(Helper)),
    _ = (catch alcove:kill(Drv, [], 0, sigkill)),
    % The helper is gone, the driver reports it, and this VM is still here.
    T0 = erlang:monotonic_time(millisecond),
    receive
        {'DOWN', Ref, process, Drv, Reason} -> ?assertMatch({helper_exited, _}, Reason)
    after 5000 -> ct:fail(driver_alive)
    end,
    ct:pal("driver down ~b ms after kill(0, sigkill) in helper ~b (group ~b); VM ~s (group ~b) alive",
           [erlang:monotonic_time(millisecond) - T0, Helper, Helper, os:getpid(),
            pgid(list_to_integer(os:getpid()))]),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Helper) end)),
    ?assert(is_integer(list_to_integer(os:getpid()))).

pgid(OSPid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/stat"),
    [_, Rest] = binary:split(Stat, <<") ">>),
    [_State, _PPid, Pgrp | _] = binary:split(Rest, <<" ">>, [global]),
    binary_to_integer(Pgrp).

%% The helpers running now (by their command line).
helpers() ->
    Progname = alcove_drv:progname(),
    lists:sort([P || P <- filelib:wildcard("/proc/[0-9]*"),
                     {ok, Cmd} <- [file:read_file(P ++ "/cmdline")],
                     binary:match(Cmd, list_to_binary(Progname)) =/= nomatch]).

stop_blocked_helper() ->
    [{doc, "stop/1 ends a tree whose root is blocked in a call, or whose programs ignore SIGTERM, within its deadline."}].
stop_blocked_helper(_Config) ->
    {ok, Drv} = alcove_drv:start(),
    Root = alcove:getpid(Drv, []),
    {ok, C} = alcove:fork(Drv, []),
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:execvp(Drv, [C, G], "sh", ["sh", "-c", "trap '' TERM; sleep 100"]),
    % The root helper blocks in waitpid(-1): it reads nothing more.
    spawn(fun() -> catch alcove:waitpid(Drv, [], -1, []) end),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:proc_state(Root) =:= <<"S">> andalso in_wait(Root) end),
    T0 = erlang:monotonic_time(millisecond),
    ok = alcove_drv:stop(Drv),
    Took = erlang:monotonic_time(millisecond) - T0,
    ct:comment("stop took ~b ms", [Took]),
    ct:pal("stop with the root blocked in waitpid(-1) took ~b ms", [Took]),
    ?assert(Took < 3000),
    % Gone, or dead and waiting for a PID 1 that does not reap on this machine.
    [?assertEqual({P, ok}, {P, alcove_ct:wait_until(fun() -> alcove_ct:ended(P) end)})
     || P <- [Root, C, G]].

in_wait(OSPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/wchan") of
        {ok, Wchan} -> binary:match(Wchan, <<"wait">>) =/= nomatch;
        {error, _} -> false
    end.

shared_binary_amplification() ->
    [{doc, "2,000 references to one 1 MiB binary are refused (badarg) before being copied."}].
shared_binary_amplification(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Big = binary:copy(<<"x">>, 1 bsl 20),
    Arg = lists:duplicate(2000, Big),
    erlang:garbage_collect(),
    Before = erlang:memory(total),
    T0 = erlang:monotonic_time(millisecond),
    ?assertError(badarg, alcove:iolist_to_bin(Drv, [], Arg)),
    Took = erlang:monotonic_time(millisecond) - T0,
    Grew = erlang:memory(total) - Before,
    ct:comment("refused in ~b ms, memory grew by ~b bytes", [Took, Grew]),
    ct:pal("2,000 references to a 1 MiB binary refused in ~b ms; erlang:memory(total) ~b -> ~b bytes (~b)",
           [Took, Before, Before + Grew, Grew]),
    ?assert(Took < 100),
    ?assert(Grew < 8 * 1024 * 1024),
    % Just under the cap still goes through.
    Small = binary:copy(<<"y">>, 1000),
    ?assertEqual(iolist_size(lists:duplicate(900, Small)),
                 byte_size(alcove:iolist_to_bin(Drv, [], lists:duplicate(900, Small)))),
    ok = alcove_drv:stop(Drv).

replies_bounded() ->
    [{doc, "300 reads of 1 MB sent at once: the helper takes requests only as its replies go out (its peak memory stays small); every reply arrives."}].
replies_bounded(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Helper = alcove:getpid(Drv, []),
    {ok, Fd} = alcove:open(Drv, [], "/dev/zero", [o_rdonly], 0),
    Read = alcove_proto:call(read),
    [alcove_nif:call(Drv, [], Read, [Fd, 1000000]) || _ <- lists:seq(1, 300)],
    ?assertEqual(300, count_replies(0)),
    Peak = peak_rss_mb(Helper),
    ct:comment("helper peak RSS ~b MB", [Peak]),
    ct:pal("300 reads of 1 MB: helper peak RSS ~b MB", [Peak]),
    ?assert(Peak < 64),
    ok = alcove_drv:stop(Drv).

count_replies(N) ->
    receive
        {alcove_call, _, [], {ok, Data}} when byte_size(Data) =:= 1000000 -> count_replies(N + 1)
    after 5000 -> N
    end.

peak_rss_mb(OSPid) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/status"),
    {match, [KB]} = re:run(Status, "VmHWM:\\s+(\\d+)", [{capture, all_but_first, binary}]),
    binary_to_integer(KB) div 1024.

owner_death_takes_program_group() ->
    [{doc, "An exec'd program leads its own process group: killed with its owner, it takes what it started along; exiting on its own, it leaves it be."}].
owner_death_takes_program_group(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Self = self(),
    Start = fun(Script) ->
        spawn(fun() ->
            {ok, C} = alcove:fork(Drv, []),
            ok = alcove:execvp(Drv, [C], "sh", ["sh", "-c", Script]),
            receive {alcove_stdout, Drv, [C], Line} -> Self ! {background, C, binary_to_integer(string:trim(Line))} end,
            receive stop -> ok end
        end)
    end,
    Owner = Start("sleep 100 & echo $!; wait"),
    {C, Bg} = receive {background, C0, Bg0} -> {C0, Bg0} after 5000 -> ct:fail(no_background) end,
    ?assertEqual(C, pgid(C)),
    ?assertEqual(C, pgid(Bg)),
    exit(Owner, kill),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:proc_state(Bg) =:= gone andalso alcove_ct:proc_state(C) =:= gone end)),
    % A program that exits by itself leaves its background process running.
    _ = Start("sleep 100 & echo $!"),
    {C2, Bg2} = receive {background, C1, Bg1} -> {C1, Bg1} after 5000 -> ct:fail(no_background) end,
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:proc_state(C2) =:= gone end)),
    % The helper has finished with the reaped program (reaping and its
    % teardown run in one turn of its loop, signals before requests) once
    % it has answered a call; the background process still runs, in
    % whatever state a loaded machine has it (R, S, or D while exec pages
    % in), not ended.
    _ = alcove:getpid(Drv, []),
    ?assertNot(alcove_ct:ended(Bg2), alcove_ct:proc_state(Bg2)),
    ok = alcove_drv:stop(Drv),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Bg2) end)).

vm_death_blocked_helper() ->
    [{doc, "kill -9 of the VM while its root helper is blocked in a call: the helper and its children go (parent-death signal)."}].
vm_death_blocked_helper(_Config) ->
    ok = alcove_ct:ensure_distributed(),
    Paths = [filename:dirname(code:which(M)) || M <- [alcove_drv, ?MODULE]],
    Args = lists:append([["-pa", P] || P <- Paths]),
    {ok, Peer, Node} = peer:start(#{name => peer:random_name(), args => Args}),
    try
        VM = list_to_integer(erpc:call(Node, os, getpid, [])),
        Self = self(),
        erpc:call(Node, erlang, spawn, [fun() ->
            {ok, Drv} = alcove_drv:start(),
            {ok, Child} = alcove:fork(Drv, []),
            Self ! {tree, alcove:getpid(Drv, []), Child},
            % Blocks the root helper for good.
            catch alcove:waitpid(Drv, [], -1, [])
        end]),
        {Root, Child} = receive {tree, R, C} -> {R, C} after 10000 -> ct:fail(no_tree) end,
        ok = alcove_ct:wait_until(fun() -> in_wait(Root) end),
        _ = os:cmd("kill -9 " ++ integer_to_list(VM)),
        T0 = erlang:monotonic_time(millisecond),
        ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Root) andalso alcove_ct:ended(Child) end)),
        ct:comment("helper and child gone ~b ms after the VM", [erlang:monotonic_time(millisecond) - T0])
    after
        catch peer:stop(Peer)
    end.

stop_blocked_in_fifo_open() ->
    [{doc, "stop/1 ends a tree whose root is blocked opening a FIFO no one writes to, promptly, leaving nothing alive."}].
stop_blocked_in_fifo_open(Config) ->
    Fifo = filename:join(?config(priv_dir, Config), "no_writer"),
    {ok, Drv} = alcove_drv:start(),
    Root = alcove:getpid(Drv, []),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "100"]),
    ok = alcove:mkfifo(Drv, [], Fifo, 8#600),
    % open(O_RDONLY) waits for a writer that never comes.
    spawn(fun() -> catch alcove:open(Drv, [], Fifo, [o_rdonly], 0) end),
    ok = alcove_ct:wait_until(fun() -> alcove_ct:proc_state(Root) =:= <<"S">> andalso wchan(Root) =:= <<"wait_for_partner">> end),
    T0 = erlang:monotonic_time(millisecond),
    ok = alcove_drv:stop(Drv),
    Took = erlang:monotonic_time(millisecond) - T0,
    ct:pal("stop with the root blocked in open() of a FIFO took ~b ms", [Took]),
    ?assert(Took < 3000),
    [?assertEqual({P, ok}, {P, alcove_ct:wait_until(fun() -> alcove_ct:ended(P) end)}) || P <- [Root, C]],
    ok = file:delete(Fifo).

wchan(OSPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/wchan") of
        {ok, Wchan} -> Wchan;
        {error, _} -> gone
    end.

replies_left_unread() ->
    [{doc, "300 reads of 1 MB whose replies are never read: the helper's peak memory stays bounded, every reply is delivered, the driver answers, and the replies' memory goes with the process holding them."}].
replies_left_unread(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Helper = alcove:getpid(Drv, []),
    {ok, Fd} = alcove:open(Drv, [], "/dev/zero", [o_rdonly], 0),
    Read = alcove_proto:call(read),
    erlang:garbage_collect(),
    Binary0 = erlang:memory(binary),
    Self = self(),
    % Asks for 300 MB and never looks at its mailbox.
    Idle = spawn(fun() ->
        [alcove_nif:call(Drv, [], Read, [Fd, 1000000]) || _ <- lists:seq(1, 300)],
        Self ! sent,
        receive stop -> ok end
    end),
    receive sent -> ok after 10000 -> ct:fail(not_sent) end,
    Queued = fun() -> element(2, process_info(Idle, message_queue_len)) end,
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> Queued() =:= 300 end)),
    Peak = peak_rss_mb(Helper),
    Held = erlang:memory(binary) - Binary0,
    ?assertEqual(Helper, alcove:getpid(Drv, [], 5000)),
    exit(Idle, kill),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> erlang:memory(binary) - Binary0 < 64 * 1024 * 1024 end)),
    ct:pal("300 unread replies of 1 MB: helper peak RSS ~b MB; binaries held ~b MB while queued, ~b MB after the holder exited",
           [Peak, Held div (1024 * 1024), (erlang:memory(binary) - Binary0) div (1024 * 1024)]),
    ?assert(Peak < 64),
    ?assertEqual(ok, alcove:close(Drv, [], Fd)),
    ok = alcove_drv:stop(Drv).

drivers_share_reactor() ->
    [{doc, "One thread reads every driver's socket: concurrent callers on 12 drivers each get "
           "their own driver's replies, and helpers killed or stopped in the middle end their "
           "drivers only."}].
drivers_share_reactor(_Config) ->
    process_flag(trap_exit, true),
    Drvs = [begin {ok, D} = alcove_drv:start_link(), D end || _ <- lists:seq(1, 12)],
    Helpers = [{D, alcove:getpid(D, [])} || D <- Drvs],
    Self = self(),
    Callers = [spawn_link(fun() ->
                   Got = [alcove:getpid(D, []) || _ <- lists:seq(1, 2000)],
                   Self ! {self(), D, lists:usort(Got)}
               end) || D <- Drvs],
    {Killed, Rest} = lists:split(4, Helpers),
    {Stopped, Kept} = lists:split(2, Rest),
    [[] = os:cmd("kill -9 " ++ integer_to_list(H)) || {_, H} <- Killed],
    [ok = alcove_drv:stop(D) || {D, _} <- Stopped],
    Ended = [D || {D, _} <- Killed ++ Stopped],
    % A caller of an ended driver dies with `closed'; the others finish
    % with their own helper's pid only.
    Results = [receive
                   {C, D, Got} -> {D, Got};
                   {'EXIT', C, {closed, _}} -> {D, closed};
                   {'EXIT', C, Why} -> {D, {exit, Why}}
               after 30000 -> ct:fail({caller_stuck, D})
               end || {C, D} <- lists:zip(Callers, Drvs)],
    [?assertEqual({D, [H]}, lists:keyfind(D, 1, Results)) || {D, H} <- Kept],
    [?assertMatch({D, R} when R =:= closed; is_list(R), lists:keyfind(D, 1, Results)) || D <- Ended],
    [?assertError(closed, alcove:getpid(D, [])) || D <- Ended],
    % The kept drivers go on serving, forks and output included.
    [begin
         {ok, P} = alcove:fork_exec(D, [], ["echo", integer_to_list(H)], []),
         ?assertEqual({list_to_binary(integer_to_list(H) ++ "\n"), {exit_status, 0}},
                      alcove_ct:read_until_exit(D, [P]))
     end || {D, H} <- Kept],
    ct:pal("~b drivers: ~b killed, ~b stopped, ~b kept serving", [length(Drvs), length(Killed), length(Stopped), length(Kept)]),
    [alcove_drv:stop(D) || {D, _} <- Kept],
    ok.
