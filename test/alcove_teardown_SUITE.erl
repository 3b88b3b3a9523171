%%% Whole-tree teardown: however a tree ends (its owner exits, stop/1, a
%%% helper killed, SIGKILL of the root helper or of the VM), nothing it
%%% started is left, processes that called setsid or were double-forked
%%% included. Each case logs how long the tree took to go.
-module(alcove_teardown_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([
    owner_exit/1,
    stop/1,
    kill_helper/1,
    sigkill_root_helper/1,
    sigkill_vm/1,
    exited_program_leaves_background/1,
    helper_exit_status/1,
    leaves_reused/1,
    forked_in_leaf/1
]).
-export([start_escapees/3]).

%% The guarantee is 1 s; the cases wait longer before failing, so that a
%% loaded machine shows up as a figure in the log, not as a flaky case.
-define(GONE_WITHIN_MS, 5000).

all() ->
    [owner_exit, stop, kill_helper, sigkill_root_helper, sigkill_vm, exited_program_leaves_background, helper_exit_status, leaves_reused,
     forked_in_leaf].

init_per_suite(Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Helper = alcove:getpid(Drv, []),
    Cgroup = own_cgroup(Helper),
    ok = alcove_drv:stop(Drv),
    case string:find(Cgroup, "/alcove." ++ integer_to_list(Helper)) of
        nomatch ->
            {skip, "no writable cgroup v2 hierarchy with cgroup.kill here (the helper is in " ++ Cgroup ++
                "): setsid'd processes are reached only by the shutdown sweep"};
        _ ->
            Config
    end.

end_per_suite(_Config) ->
    ok.

%%% Cases

%% The owner of an exec'd shell exits: the shell, its background job, a
%% double-forked process and a setsid'd one all go.
owner_exit(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Self = self(),
    Owner = spawn(fun() ->
        {ok, C} = alcove:fork(Drv, []),
        Tag = start_escapees(Drv, [C]),
        Self ! {tag, Tag},
        receive stop -> ok end
    end),
    Tag = receive {tag, T} -> T end,
    Pids = wait_for(Tag, 4),
    exit(Owner, kill),
    gone(owner_exit, Tag, Pids),
    alcove_drv:stop(Drv).

%% stop/1: the whole tree goes, and stop returns once it has.
stop(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {ok, C} = alcove:fork(Drv, []),
    {ok, C2} = alcove:fork(Drv, [C]),
    Tag = start_escapees(Drv, [C, C2]),
    Pids = wait_for(Tag, 4),
    {Micros, ok} = timer:tc(fun() -> alcove_drv:stop(Drv) end),
    ct:pal("stop/1 returned after ~p ms", [Micros div 1000]),
    gone(stop, Tag, Pids).

%% A forked helper killed with SIGKILL: what it started goes with it,
%% while its siblings are untouched.
kill_helper(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {ok, C} = alcove:fork(Drv, []),
    {ok, C2} = alcove:fork(Drv, [C]),
    Tag = start_escapees(Drv, [C, C2]),
    {ok, Sibling} = alcove:fork(Drv, []),
    Pids = wait_for(Tag, 4),
    ok = alcove:kill(Drv, [], C, sigkill),
    gone(kill_helper, Tag, Pids),
    ?assertEqual(Sibling, alcove:getpid(Drv, [Sibling])),
    alcove_drv:stop(Drv).

%% SIGKILL of the root helper, which can clean nothing up: the guardian
%% outside the tree does, and removes the driver's cgroup.
sigkill_root_helper(_Config) ->
    {ok, Drv} = alcove_drv:start(),
    Ref = monitor(process, Drv),
    Helper = alcove:getpid(Drv, []),
    Cgroup = cgroup_dir(Helper),
    {ok, C} = alcove:fork(Drv, []),
    Tag = start_escapees(Drv, [C]),
    Pids = wait_for(Tag, 4),
    [] = os:cmd("kill -9 " ++ integer_to_list(Helper)),
    gone(sigkill_root_helper, Tag, Pids),
    receive {'DOWN', Ref, process, Drv, Why} -> ?assertEqual({helper_exited, 128 + 9}, Why) end,
    ok = alcove_ct:wait_until(fun() -> not filelib:is_dir(Cgroup) end),
    ct:pal("~s removed", [Cgroup]).

%% SIGKILL of the VM that started the tree.
sigkill_vm(_Config) ->
    Tag = tag(),
    Paths = lists:usort([filename:dirname(code:which(M)) || M <- [alcove_drv, ?MODULE]]),
    Eval = lists:flatten(io_lib:format(
        "{ok, Drv} = alcove_drv:start(), {ok, C} = alcove:fork(Drv, []),"
        "alcove_teardown_SUITE:start_escapees(Drv, [C], ~p),"
        "io:format(\"vm ~~s~~n\", [os:getpid()]), receive after infinity -> ok end.", [Tag])),
    Port = open_port({spawn_executable, os:find_executable("erl")},
        [{args, ["-noshell" | lists:append([["-pa", P] || P <- Paths])] ++ ["-eval", Eval]},
         {line, 1024}, exit_status, stderr_to_stdout]),
    Vm = receive {Port, {data, {eol, "vm " ++ V}}} -> V after 30000 -> error(no_vm) end,
    Pids = wait_for(Tag, 4),
    [] = os:cmd("kill -9 " ++ Vm),
    gone(sigkill_vm, Tag, Pids),
    receive {Port, {exit_status, _}} -> ok after 5000 -> ok end.

%% A program that exits on its own leaves its background processes be (as
%% the original does): only a death by a signal takes them along. They go
%% when the driver stops.
exited_program_leaves_background(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {ok, C} = alcove:fork(Drv, []),
    Tag = tag(),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "setsid sleep " ++ Tag ++ " & exit 0"]),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [C])),
    [Pid] = wait_for(Tag, 1),
    ?assertEqual([Pid], alive(Tag)),
    ok = alcove_drv:stop(Drv),
    gone(exited_then_stop, Tag, [Pid]).

%% The driver reports how its helper ended (the VM ignores SIGCHLD, so the
%% kernel reaps the helper: the status comes from its pidfd).
helper_exit_status(_Config) ->
    Cases = [{sigkill, "-9", 137}, {sigsegv, "-SEGV", 128 + 11}],
    lists:foreach(
        fun({Name, Signal, Status}) ->
            {ok, Drv} = alcove_drv:start(),
            Ref = monitor(process, Drv),
            Helper = alcove:getpid(Drv, []),
            [] = os:cmd("kill " ++ Signal ++ " " ++ integer_to_list(Helper)),
            receive {'DOWN', Ref, process, Drv, Why} -> ct:pal("~p: ~p", [Name, Why]), ?assertEqual({helper_exited, Status}, Why) end
        end,
        Cases
    ),
    % exit/3 in the root helper: its own status.
    {ok, Drv} = alcove_drv:start(),
    Ref = monitor(process, Drv),
    ok = alcove:exit(Drv, [], 3),
    receive {'DOWN', Ref, process, Drv, Why} -> ?assertEqual({helper_exited, 3}, Why) end.

%% An emptied leaf is kept for the next child rather than removed and
%% made again: programs run one after another share one; a burst leaves
%% at most 16 behind; a leaf something still runs in is not given out; a
%% forked helper that execs enters a kept one; all go when the driver
%% stops.
leaves_reused(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Driver = cgroup_dir(alcove:getpid(Drv, [])),
    Leaves = [program_cgroup(Drv, []) || _ <- lists:seq(1, 20)],
    ?assertMatch([_], lists:usort(Leaves)),
    [Leaf] = lists:usort(Leaves),
    ?assertEqual(Driver, filename:dirname(Leaf)),
    % A burst: 30 at once, then all killed and reaped.
    Burst = [begin {ok, P} = alcove:fork_exec(Drv, [], ["sleep", "100"], []), P end || _ <- lists:seq(1, 30)],
    ?assertEqual(30, length(lists:usort([cgroup_dir(P) || P <- Burst]))),
    [ok = alcove:kill(Drv, [], P, sigkill) || P <- Burst],
    [{termsig, sigkill} = alcove_ct:wait_exit(Drv, [P]) || P <- Burst],
    ?assertEqual(16, length(subdirs(Driver))),
    % A program leaving a process behind: its leaf stays its own.
    Tag = tag(),
    {ok, Shell} = alcove:fork_exec(Drv, [], ["sh", "-c", "setsid sleep " ++ Tag ++ " & exit 0"], []),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [Shell])),
    [Left] = wait_for(Tag, 1),
    Busy = cgroup_dir(Left),
    ?assertEqual(Driver, filename:dirname(Busy)),
    [?assertNotEqual(Busy, program_cgroup(Drv, [])) || _ <- lists:seq(1, 20)],
    % A forked helper execs into a kept leaf.
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "/bin/cat", ["cat", "/proc/self/cgroup"]),
    {Out, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, [C]),
    ?assert(lists:member(cgroup_mount() ++ v2_path(Out), subdirs(Driver))),
    ok = alcove_drv:stop(Drv),
    gone(leaves_reused, Tag, [Left]),
    ok = alcove_ct:wait_until(fun() -> not filelib:is_dir(Driver) end).

%% A forked helper starts in a leaf of its own (clone3 into it): it is
%% there before it runs anything, and its exec moves nothing (a move waits
%% for an RCU grace period). Its children start in leaves below its own.
%% One moved out of its leaf (into a group of the user's) stays there, and
%% what it forks stays there with it.
forked_in_leaf(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Driver = cgroup_dir(alcove:getpid(Drv, [])),
    {ok, C} = alcove:fork(Drv, []),
    Leaf = cgroup_dir(C),
    ?assertEqual(Driver, filename:dirname(Leaf)),
    {ok, G} = alcove:fork(Drv, [C]),
    ?assertEqual(Leaf, filename:dirname(cgroup_dir(G))),
    ok = alcove:execvp(Drv, [C, G], "/bin/cat", ["cat", "/proc/self/cgroup"]),
    {Out, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, [C, G]),
    ?assertEqual(Leaf, filename:dirname(cgroup_mount() ++ v2_path(Out))),
    ok = alcove:execvp(Drv, [C], "/bin/cat", ["cat", "/proc/self/cgroup"]),
    {Out2, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, [C]),
    ?assertEqual(Leaf, cgroup_mount() ++ v2_path(Out2)),
    % Moved into a group of the user's before it forks.
    Group = filename:join(filename:dirname(Driver), "alcove_moved_" ++ tag()),
    ok = file:make_dir(Group),
    try
        {ok, M} = alcove:fork(Drv, []),
        ok = file:write_file(filename:join(Group, "cgroup.procs"), integer_to_list(M)),
        {ok, MG} = alcove:fork(Drv, [M]),
        ?assertEqual(Group, cgroup_dir(MG)),
        ok = alcove:execvp(Drv, [M], "/bin/cat", ["cat", "/proc/self/cgroup"]),
        {Out3, _} = alcove_ct:read_until_exit(Drv, [M]),
        ?assertEqual(Group, cgroup_mount() ++ v2_path(Out3))
    after
        ok = alcove_drv:stop(Drv),
        ok = alcove_ct:wait_until(fun() -> file:del_dir(Group) =:= ok end)
    end.

%%% Helpers

%% The v2 cgroup a program spawned under Pipeline runs in.
program_cgroup(Drv, Pipeline) ->
    {ok, P} = alcove:fork_exec(Drv, Pipeline, ["cat", "/proc/self/cgroup"], []),
    {Out, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, Pipeline ++ [P]),
    cgroup_mount() ++ v2_path(Out).

v2_path(Out) ->
    hd([string:trim(Path) || "0::" ++ Path <- string:split(binary_to_list(Out), "\n", all)]).

subdirs(Dir) ->
    {ok, Names} = file:list_dir(Dir),
    lists:sort([filename:join(Dir, N) || N <- Names, filelib:is_dir(filename:join(Dir, N))]).

%% A shell that leaves behind a background job, a double-forked process
%% and a setsid'd one, each `sleep Tag', then sleeps itself.
start_escapees(Drv, Pipeline) ->
    Tag = tag(),
    start_escapees(Drv, Pipeline, Tag).

start_escapees(Drv, Pipeline, Tag) ->
    Script = "sleep " ++ Tag ++ " & (sleep " ++ Tag ++ " &) ; setsid sleep " ++ Tag ++ " & exec sleep " ++ Tag,
    ok = alcove:execvp(Drv, Pipeline, "/bin/sh", ["sh", "-c", Script]),
    Tag.

%% A sleep duration no other process uses.
tag() ->
    integer_to_list(100000 + erlang:unique_integer([positive]) rem 800000 + rand:uniform(100000)).

%% Wait for N live processes running `sleep Tag'.
wait_for(Tag, N) ->
    ok = alcove_ct:wait_until(fun() -> length(alive(Tag)) =:= N end),
    alive(Tag).

gone(Case, Tag, Pids) ->
    T0 = erlang:monotonic_time(millisecond),
    Deadline = T0 + ?GONE_WITHIN_MS,
    Wait = fun Wait() ->
        case alive(Tag) of
            [] ->
                erlang:monotonic_time(millisecond) - T0;
            Left ->
                case erlang:monotonic_time(millisecond) > Deadline of
                    true -> error({still_alive, Case, Left});
                    false -> timer:sleep(5), Wait()
                end
        end
    end,
    Ms = Wait(),
    ct:pal("~p: ~p processes (~p) gone ~p ms after", [Case, length(Pids), Pids, Ms]),
    Ms.

%% Live (not zombie) processes whose command line is `sleep Tag'.
alive(Tag) ->
    Want = <<"sleep", 0, (list_to_binary(Tag))/binary, 0>>,
    [
        list_to_integer(P)
     || P <- filelib:wildcard("[0-9]*", "/proc"),
        file:read_file("/proc/" ++ P ++ "/cmdline") =:= {ok, Want},
        not alcove_ct:ended(list_to_integer(P))
    ].

own_cgroup(Pid) ->
    {ok, Bin} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/cgroup"),
    hd([string:trim(Path) || "0::" ++ Path <- string:split(binary_to_list(Bin), "\n", all)] ++ [""]).

cgroup_dir(Pid) ->
    cgroup_mount() ++ own_cgroup(Pid).

cgroup_mount() ->
    {ok, Mounts} = file:read_file("/proc/self/mountinfo"),
    [Mount | _] = [
        lists:nth(5, string:lexemes(Left, " "))
     || Line <- string:split(binary_to_list(Mounts), "\n", all),
        [Left, Right] <- [string:split(Line, " - ")],
        hd(string:lexemes(Right, " ")) =:= "cgroup2"
    ],
    Mount.
