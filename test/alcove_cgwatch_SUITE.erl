%%% Cgroup event watches (cgroup_watch/cgroup_unwatch) and clone_into, on
%%% this machine's real cgroups (a v2 hierarchy and v1 memory and pids
%%% controllers) and on fake trees of regular files. Every cgroup a case
%%% makes is removed after it, however it ended.
-module(alcove_cgwatch_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    v2_populated/1,
    v1_memory_oom_kill/1,
    v1_pids_fork_fails/1,
    v1_pids_event/1,
    fake_tree/1,
    clone_into_v2/1,
    clone_into_errors/1,
    unwatch_stops_events/1,
    bad_input/1,
    watch_limit/1,
    fork_does_not_inherit/1
]).

all() ->
    [{group, real}, {group, fake}].

groups() ->
    [
        {real, [], [v2_populated, v1_memory_oom_kill, v1_pids_fork_fails, v1_pids_event, clone_into_v2,
                    clone_into_errors]},
        {fake, [], [fake_tree, unwatch_stops_events, bad_input, watch_limit, fork_does_not_inherit]}
    ].

init_per_testcase(_Case, Config) ->
    Name = "alcove_cgw_" ++ os:getpid() ++ "_" ++ integer_to_list(erlang:unique_integer([positive])),
    Tmp = filename:join(?config(priv_dir, Config), Name),
    alcove_ct:init_driver([{name, Name}, {tmp, list_to_binary(Tmp)} | Config]).

%% The driver goes first (its processes with it), then every cgroup the
%% case may have made: what is still in one is killed, then it is removed.
end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config),
    Name = ?config(name, Config),
    V2 = [filename:join(Root, Name) || Root <- [v2_root()], Root =/= none],
    V1 = [filename:join("/sys/fs/cgroup/" ++ Ctl, Name) || Ctl <- ["memory", "pids"]],
    [remove_cgroup(Dir) || Dir <- V2 ++ V1, filelib:is_dir(Dir)],
    _ = file:del_dir_r(?config(tmp, Config)),
    ok.

remove_cgroup(Dir) ->
    _ = file:write_file(filename:join(Dir, "cgroup.kill"), <<"1">>),
    Gone = fun() ->
        kill_procs(Dir),
        case file:del_dir(Dir) of
            ok -> true;
            {error, enoent} -> true;
            {error, _} -> false
        end
    end,
    ok = alcove_ct:wait_until(Gone).

kill_procs(Dir) ->
    case file:read_file(filename:join(Dir, "cgroup.procs")) of
        {ok, Procs} -> [os:cmd("kill -9 " ++ binary_to_list(P)) || P <- binary:split(Procs, <<"\n">>, [global, trim_all])];
        {error, _} -> ok
    end.

%%% Where things are

%% The mount point of the cgroup v2 hierarchy, or none.
v2_root() ->
    {ok, Info} = file:read_file("/proc/self/mountinfo"),
    Mounts = [
        binary_to_list(lists:nth(5, binary:split(Left, <<" ">>, [global])))
     || Line <- binary:split(Info, <<"\n">>, [global, trim_all]),
        [Left, Right] <- [binary:split(Line, <<" - ">>)],
        hd(binary:split(Right, <<" ">>)) =:= <<"cgroup2">>
    ],
    case Mounts of
        [Root | _] -> Root;
        [] -> none
    end.

%% A new v2 cgroup (as a binary) under the hierarchy's root, made with
%% alcove:mkdir; or a skip.
v2_dir(Config) ->
    Drv = ?config(drv, Config),
    case {alcove_ct:root(), v2_root()} of
        {false, _} ->
            {skip, "needs root to make a cgroup"};
        {true, none} ->
            {skip, "no cgroup v2 hierarchy mounted"};
        {true, Root} ->
            Dir = list_to_binary(filename:join(Root, ?config(name, Config))),
            ok = alcove:mkdir(Drv, [], Dir, 8#755),
            Dir
    end.

%% A new v1 cgroup of controller `Ctl' (a binary), or a skip.
v1_dir(Config, Ctl, Probe) ->
    Base = "/sys/fs/cgroup/" ++ Ctl,
    case {alcove_ct:root(), filelib:is_regular(filename:join(Base, Probe))} of
        {false, _} ->
            {skip, "needs root to make a cgroup"};
        {true, false} ->
            {skip, "no cgroup v1 " ++ Ctl ++ " controller at " ++ Base};
        {true, true} ->
            Dir = list_to_binary(filename:join(Base, ?config(name, Config))),
            ok = alcove:mkdir(?config(drv, Config), [], Dir, 8#755),
            Dir
    end.

put(Dir, File, Value) ->
    ok = file:write_file(filename:join(Dir, File), Value).

move(Dir, OSPid) ->
    put(Dir, "cgroup.procs", integer_to_list(OSPid)).

%% The next cgroup event of `Pipeline' for `Dir' (others are left).
cgroup_event(Drv, Pipeline, Dir) ->
    receive
        {alcove_event, Drv, Pipeline, {cgroup, {_, Dir, _} = Event}} -> Event
    after 10000 -> ct:fail({no_cgroup_event, Pipeline, Dir})
    end.

%% The path of a process's v2 cgroup, from /proc/PID/cgroup.
v2_cgroup_of(OSPid) ->
    {ok, Text} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/cgroup"),
    v2_line(Text).

v2_line(Text) ->
    [Path] = [P || <<"0::", P/binary>> <- binary:split(Text, <<"\n">>, [global, trim_all])],
    Path.

relative(Dir) ->
    Root = list_to_binary(v2_root()),
    Size = byte_size(Root),
    <<Root:Size/binary, Rel/binary>> = Dir,
    Rel.

%%% Cases on real cgroups

%% v2: a process entering the group and being killed: populated true, then false.
v2_populated(Config) ->
    Drv = ?config(drv, Config),
    case v2_dir(Config) of
        {skip, _} = Skip ->
            Skip;
        Dir ->
            {ok, _Watch} = alcove:cgroup_watch(Drv, [], Dir),
            {ok, C} = alcove:fork(Drv, []),
            move(Dir, C),
            ?assertEqual({populated, Dir, true}, cgroup_event(Drv, [], Dir)),
            ok = alcove:kill(Drv, [], C, sigkill),
            ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])),
            ?assertEqual({populated, Dir, false}, cgroup_event(Drv, [], Dir))
    end.

%% v1 memory: a program over memory.limit_in_bytes is OOM killed; the
%% watch (an eventfd through cgroup.event_control) reports the kill.
v1_memory_oom_kill(Config) ->
    Drv = ?config(drv, Config),
    case v1_dir(Config, "memory", "memory.oom_control") of
        {skip, _} = Skip ->
            Skip;
        Dir ->
            Limit = integer_to_list(16 * 1024 * 1024),
            put(Dir, "memory.limit_in_bytes", Limit),
            % No way around the limit through swap.
            _ = file:write_file(filename:join(Dir, "memory.memsw.limit_in_bytes"), Limit),
            {ok, _Watch} = alcove:cgroup_watch(Drv, [], Dir),
            {ok, C} = alcove:fork(Drv, []),
            move(Dir, C),
            ok = alcove:execvp(Drv, [C], "/bin/busybox",
                               ["busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]),
            ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [C])),
            Kills = oom_kill_event(Drv, Dir),
            ?assert(Kills >= 1),
            {ok, Control} = file:read_file(filename:join(Dir, "memory.oom_control")),
            ct:pal("oom_kill events: ~p; memory.oom_control:~n~s", [Kills, Control])
    end.

%% Skips the `oom' events that come first.
oom_kill_event(Drv, Dir) ->
    case cgroup_event(Drv, [], Dir) of
        {oom_kill, Dir, N} -> N;
        {oom, Dir, _} -> oom_kill_event(Drv, Dir)
    end.

%% v1 pids: with pids.max at 1 a process in the group cannot fork, and
%% pids.events counts it.
v1_pids_fork_fails(Config) ->
    Drv = ?config(drv, Config),
    case v1_dir(Config, "pids", "tasks") of
        {skip, _} = Skip ->
            Skip;
        Dir ->
            put(Dir, "pids.max", "1"),
            {ok, _Watch} = alcove:cgroup_watch(Drv, [], Dir),
            {ok, C} = alcove:fork(Drv, []),
            move(Dir, C),
            ?assertEqual({error, eagain}, alcove:fork(Drv, [C])),
            {ok, Events} = file:read_file(filename:join(Dir, "pids.events")),
            <<"max ", N/binary>> = string:trim(Events),
            ?assert(binary_to_integer(N) >= 1)
    end.

%% v1 pids.events raises no inotify event (kernel 6.18: the counter
%% grows, a plain inotify watch stays silent), so the helper re-reads it
%% on a timer while such a watch exists: a fork refused by pids.max still
%% reaches the owner as a pids_max event, the count the file shows.
v1_pids_event(Config) ->
    Drv = ?config(drv, Config),
    case v1_dir(Config, "pids", "tasks") of
        {skip, _} = Skip ->
            Skip;
        Dir ->
            put(Dir, "pids.max", "1"),
            {ok, _Watch} = alcove:cgroup_watch(Drv, [], Dir),
            {ok, C} = alcove:fork(Drv, []),
            move(Dir, C),
            ?assertEqual({error, eagain}, alcove:fork(Drv, [C])),
            ?assertEqual({pids_max, Dir, 1}, cgroup_event(Drv, [], Dir)),
            ?assertEqual({error, eagain}, alcove:fork(Drv, [C])),
            ?assertEqual({error, eagain}, alcove:fork(Drv, [C])),
            % Two more refusals: one event or two, ending at 3.
            ?assertEqual(3, last_pids_max(Drv, Dir, 0))
    end.

last_pids_max(_Drv, _Dir, 3) ->
    3;
last_pids_max(Drv, Dir, Last) ->
    {pids_max, Dir, N} = cgroup_event(Drv, [], Dir),
    ?assert(N > Last),
    last_pids_max(Drv, Dir, N).

%% clone_into: the child is in the v2 group from its start, serves calls,
%% forks into the same group, and stays there when it execs.
clone_into_v2(Config) ->
    Drv = ?config(drv, Config),
    case v2_dir(Config) of
        {skip, _} = Skip ->
            Skip;
        Dir ->
            Rel = relative(Dir),
            {ok, C} = alcove:clone_into(Drv, [], [], Dir),
            ?assertEqual(Rel, v2_cgroup_of(C)),
            ?assertEqual(C, alcove:getpid(Drv, [C])),
            % Its own children get no teardown leaf: they stay in Dir.
            {ok, G} = alcove:fork(Drv, [C]),
            ok = alcove:execvp(Drv, [C, G], "/bin/cat", ["cat", "/proc/self/cgroup"]),
            {Out, Exit} = alcove_ct:read_until_exit(Drv, [C, G]),
            ?assertEqual({{exit_status, 0}, Rel}, {Exit, v2_line(Out)}),
            ok = alcove:execvp(Drv, [C], "/bin/sleep", ["sleep", "60"]),
            ?assertEqual(Rel, v2_cgroup_of(C)),
            {ok, Procs} = file:read_file(filename:join(Dir, "cgroup.procs")),
            ?assertEqual([integer_to_binary(C)], binary:split(Procs, <<"\n">>, [global, trim_all]))
    end.

%% clone_into fails cleanly: no directory, a v1 directory (not v2), bad flags.
clone_into_errors(Config) ->
    Drv = ?config(drv, Config),
    ?assertEqual({error, enoent}, alcove:clone_into(Drv, [], [], "/nonexistent/alcove")),
    ?assertEqual({error, einval}, alcove:clone_into(Drv, [], [clone_vm], "/")),
    ?assertError(badarg, alcove:clone_into(Drv, [], [], 1)),
    case filelib:is_dir("/sys/fs/cgroup/pids") andalso alcove_ct:root() of
        true ->
            {error, Errno} = alcove:clone_into(Drv, [], [], "/sys/fs/cgroup/pids"),
            ct:pal("clone_into a v1 directory: ~p", [Errno]);
        false ->
            ok
    end,
    ?assertEqual([], alcove:cpid(Drv, [])).

%%% Cases on fake trees

fake(Config, Files) ->
    Dir = ?config(tmp, Config),
    ok = filelib:ensure_path(Dir),
    [put(Dir, F, V) || {F, V} <- Files],
    Dir.

%% A fake tree watched from a forked helper: every change is an event to
%% the owner, with the helper's pipeline.
fake_tree(Config) ->
    Drv = ?config(drv, Config),
    Dir = fake(Config, [{"cgroup.events", "populated 0\nfrozen 0\n"},
                        {"memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n"},
                        {"pids.events", "max 0\n"}]),
    {ok, C} = alcove:fork(Drv, []),
    {ok, _Watch} = alcove:cgroup_watch(Drv, [C], Dir),
    put(Dir, "cgroup.events", "populated 1\nfrozen 0\n"),
    ?assertEqual({populated, Dir, true}, cgroup_event(Drv, [C], Dir)),
    put(Dir, "cgroup.events", "populated 1\nfrozen 1\n"),
    ?assertEqual({frozen, Dir, true}, cgroup_event(Drv, [C], Dir)),
    put(Dir, "memory.events", "low 0\nhigh 0\nmax 5\noom 2\noom_kill 1\n"),
    ?assertEqual({oom, Dir, 2}, cgroup_event(Drv, [C], Dir)),
    ?assertEqual({oom_kill, Dir, 1}, cgroup_event(Drv, [C], Dir)),
    put(Dir, "pids.events", "max 3\n"),
    ?assertEqual({pids_max, Dir, 3}, cgroup_event(Drv, [C], Dir)).

%% After cgroup_unwatch no event comes: a later change of a second,
%% watched tree arrives alone (inotify reports changes in order).
unwatch_stops_events(Config) ->
    Drv = ?config(drv, Config),
    Dir = fake(Config, [{"pids.events", "max 0\n"}]),
    Other = <<Dir/binary, "/other">>,
    ok = file:make_dir(Other),
    put(Other, "pids.events", "max 0\n"),
    {ok, Watch} = alcove:cgroup_watch(Drv, [], Dir),
    {ok, _} = alcove:cgroup_watch(Drv, [], Other),
    put(Dir, "pids.events", "max 1\n"),
    ?assertEqual({pids_max, Dir, 1}, cgroup_event(Drv, [], Dir)),
    ok = alcove:cgroup_unwatch(Drv, [], Watch),
    ?assertEqual({error, einval}, alcove:cgroup_unwatch(Drv, [], Watch)),
    put(Dir, "pids.events", "max 2\n"),
    put(Other, "pids.events", "max 1\n"),
    ?assertEqual({pids_max, Other, 1}, cgroup_event(Drv, [], Other)),
    receive
        {alcove_event, Drv, [], {cgroup, {_, Dir, _}} = Late} -> ct:fail({event_after_unwatch, Late})
    after 0 -> ok
    end.

%% Bad input: clear errors, no crash, the helper still serves.
bad_input(Config) ->
    Drv = ?config(drv, Config),
    Dir = fake(Config, [{"pids.events", "max 0\n"}]),
    Empty = <<Dir/binary, "/empty">>,
    ok = file:make_dir(Empty),
    ?assertEqual({error, enoent}, alcove:cgroup_watch(Drv, [], "/nonexistent/alcove")),
    ?assertEqual({error, einval}, alcove:cgroup_watch(Drv, [], Empty)),
    ?assertEqual({error, enotdir}, alcove:cgroup_watch(Drv, [], <<Dir/binary, "/pids.events">>)),
    ?assertEqual({error, einval}, alcove:cgroup_unwatch(Drv, [], 12345)),
    ?assertError(badarg, alcove:cgroup_watch(Drv, [], <<"/tmp", 0, "x">>)),
    ?assertError(badarg, alcove:cgroup_watch(Drv, [], 1)),
    ?assertError(badarg, alcove:cgroup_unwatch(Drv, [], -1)),
    ?assertError(badarg, alcove:cgroup_unwatch(Drv, [], <<"1">>)),
    ?assert(is_integer(alcove:getpid(Drv, []))).

%% At most 64 watches per helper; unwatching makes room.
watch_limit(Config) ->
    Drv = ?config(drv, Config),
    Dir = fake(Config, [{"cgroup.events", "populated 0\n"}]),
    Watches = [begin {ok, W} = alcove:cgroup_watch(Drv, [], Dir), W end || _ <- lists:seq(1, 64)],
    ?assertEqual(64, length(lists:usort(Watches))),
    ?assertEqual({error, emfile}, alcove:cgroup_watch(Drv, [], Dir)),
    ok = alcove:cgroup_unwatch(Drv, [], hd(Watches)),
    {ok, _} = alcove:cgroup_watch(Drv, [], Dir),
    % A forked helper has a limit of its own.
    {ok, C} = alcove:fork(Drv, []),
    {ok, _} = alcove:cgroup_watch(Drv, [C], Dir).

%% A forked child holds none of its parent's watch fds, and the parent's
%% watch works on after the child exits.
fork_does_not_inherit(Config) ->
    Drv = ?config(drv, Config),
    Dir = fake(Config, [{"pids.events", "max 0\n"}]),
    {ok, _} = alcove:cgroup_watch(Drv, [], Dir),
    {ok, C} = alcove:fork(Drv, []),
    % The child drops its copies before it serves a call: one answered
    % means they are gone (fork returns in the parent before that).
    ?assertEqual(C, alcove:getpid(Drv, [C])),
    FdDir = "/proc/" ++ integer_to_list(C) ++ "/fd",
    {ok, Fds} = file:list_dir(FdDir),
    Targets = [T || F <- Fds, {ok, T} <- [file:read_link(filename:join(FdDir, F))]],
    ?assertEqual([], [T || T <- Targets, string:find(T, "inotify") =/= nomatch]),
    ok = alcove:exit(Drv, [C], 0),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [C])),
    put(Dir, "pids.events", "max 1\n"),
    ?assertEqual({pids_max, Dir, 1}, cgroup_event(Drv, [], Dir)).
