%%% alcove_cgroup's v2 and hybrid API on the machine's real cgroups
%%% (needs root): layout, groups, limits by name, processes, pids.max and
%%% OOM events, freeze and thaw, kill, PSI, and groups nested in a
%%% driver's own cgroup. Every case's cgroups carry a name unique to the
%%% case and are killed and removed in end_per_testcase, pass or fail.
-module(alcove_cgroup2_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([
    layout/1,
    create_remove/1,
    limits/1,
    add_proc/1,
    pids_max/1,
    oom_kill/1,
    freeze_v2/1,
    freeze_v1/1,
    kill_v2/1,
    kill_v1/1,
    pressure/1,
    parent_self/1,
    watch_option/1,
    clone_into/1
]).
-export([
    layout/0,
    create_remove/0,
    limits/0,
    add_proc/0,
    pids_max/0,
    oom_kill/0,
    freeze_v2/0,
    freeze_v1/0,
    kill_v2/0,
    kill_v1/0,
    pressure/0,
    parent_self/0,
    watch_option/0,
    clone_into/0
]).

all() ->
    [layout, create_remove, limits, add_proc, pids_max, oom_kill, freeze_v2, freeze_v1, kill_v2, kill_v1, pressure, parent_self,
     watch_option, clone_into].

init_per_suite(Config) ->
    case alcove_ct:root() of
        true -> Config;
        false -> {skip, "needs root to make cgroups"}
    end.

end_per_suite(_Config) ->
    ok.

init_per_testcase(Case, Config) ->
    Name = list_to_binary(io_lib:format("alcove_ct_~s_~s", [os:getpid(), Case])),
    cleanup(Name),
    alcove_ct:init_driver([{name, Name} | Config]).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config),
    cleanup(?config(name, Config)).

%%% Cleanup, in the VM and independent of the module under test: every
%%% directory called Name in any cgroup hierarchy, its processes killed.

cgroup_mounts() ->
    {ok, Text} = file:read_file("/proc/self/mountinfo"),
    [
        {FsType, binary_to_list(Dir)}
     || Line <- binary:split(Text, <<"\n">>, [global, trim_all]),
        [Left, Right] <- [binary:split(Line, <<" - ">>)],
        [_, _, _, _, Dir | _] <- [binary:split(Left, <<" ">>, [global])],
        [FsType | _] <- [binary:split(Right, <<" ">>)],
        FsType =:= <<"cgroup">> orelse FsType =:= <<"cgroup2">>
    ].

cleanup(Name) ->
    Dirs = lists:append([
        string:lexemes(os:cmd("find " ++ Mount ++ " -maxdepth 6 -type d -name " ++ binary_to_list(Name)), "\n")
     || {_, Mount} <- cgroup_mounts()
    ]),
    [cleanup_dir(Dir) || Dir <- Dirs],
    ok.

cleanup_dir(Dir) ->
    %% Children first, deepest first.
    Tree = lists:reverse(lists:sort(string:lexemes(os:cmd("find " ++ Dir ++ " -type d"), "\n"))),
    [
        begin
            _ = file:write_file(filename:join(D, "cgroup.kill"), "1"),
            _ = file:write_file(filename:join(D, "freezer.state"), "THAWED"),
            _ = [os:cmd("kill -9 " ++ P) || P <- string:lexemes(read(filename:join(D, "cgroup.procs")), "\n")],
            Removed = alcove_ct:wait_until(fun() -> file:del_dir(D) =:= ok orelse not filelib:is_dir(D) end),
            Removed =:= ok orelse ct:pal("could not remove ~s", [D])
        end
     || D <- Tree
    ].

read(File) ->
    case file:read_file(File) of
        {ok, Text} -> binary_to_list(Text);
        {error, _} -> ""
    end.

trim(File) ->
    string:trim(read(File)).

%% Where the VM sees `Controller': {v1, Mount} or {v2, Mount}.
expected(Controller) ->
    Mounts = cgroup_mounts(),
    {ok, Text} = file:read_file("/proc/self/mountinfo"),
    V1 = [
        Dir
     || Line <- binary:split(Text, <<"\n">>, [global, trim_all]),
        [Left, Right] <- [binary:split(Line, <<" - ">>)],
        [<<"cgroup">>, _, Opts | _] <- [binary:split(Right, <<" ">>, [global])],
        lists:member(Controller, binary:split(Opts, <<",">>, [global])),
        [_, _, _, _, Dir | _] <- [binary:split(Left, <<" ">>, [global])]
    ],
    case V1 of
        [Dir | _] ->
            {v1, Dir};
        [] ->
            [Unified | _] = [list_to_binary(D) || {<<"cgroup2">>, D} <- Mounts],
            {v2, Unified}
    end.

%% The first cgroup2 mount, as a list of zero or one.
unified_mount() ->
    lists:sublist([list_to_binary(D) || {<<"cgroup2">>, D} <- cgroup_mounts()], 1).

new(Config, Opts) ->
    alcove_cgroup:new(?config(drv, Config), [], [?config(name, Config)], Opts).

needs_unified(Group, Fun) ->
    case maps:get(unified, Group) of
        undefined -> {skip, "no cgroup v2 hierarchy here"};
        Dir -> Fun(Dir)
    end.

v1_dir(Group, Controller) ->
    case [D || {D, Cs} <- maps:get(v1, Group), lists:member(Controller, Cs)] of
        [D | _] -> D;
        [] -> undefined
    end.

wchan(OSPid) ->
    trim("/proc/" ++ integer_to_list(OSPid) ++ "/wchan").

%%% Cases

layout() ->
    [{doc, "layout/2 finds memory, pids and cpu where /proc/self/mountinfo binds them, and the unified tree."}].
layout(Config) ->
    Drv = ?config(drv, Config),
    {ok, Layout} = alcove_cgroup:layout(Drv, []),
    [?assertEqual(expected(atom_to_binary(C)), alcove_cgroup:controller(Layout, C), C) || C <- [memory, pids, cpu]],
    Unified = unified_mount(),
    ?assertEqual(lists:sublist(Unified, 1), [maps:get(unified, Layout) || maps:get(unified, Layout) =/= undefined]),
    Offered = [binary_to_atom(C) || Unified =/= [], C <- string:lexemes(list_to_binary(trim(filename:join(hd(Unified), "cgroup.controllers"))), " ")],
    ?assertEqual(Offered, maps:get(unified_controllers, Layout)),
    %% The helper's own v2 cgroup, from its /proc/PID/cgroup.
    Helper = alcove:getpid(Drv, []),
    [Own] = [P || "0::" ++ P <- string:lexemes(read("/proc/" ++ integer_to_list(Helper) ++ "/cgroup"), "\n")],
    [?assertEqual(alcove_cgroup:join(U, [Own]), maps:get(U, maps:get(self, Layout))) || U <- Unified].

create_remove() ->
    [{doc, "new/4 makes the group in each hierarchy of a requested controller and in the v2 tree; remove/3 removes them all."}].
create_remove(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => [memory, pids, cpu]}),
    Dirs = alcove_cgroup:dirs(Group),
    Name = ?config(name, Config),
    V1 = [alcove_cgroup:join(Mount, [Name]) || C <- [<<"memory">>, <<"pids">>, <<"cpu">>], {v1, Mount} <- [expected(C)]],
    V2 = [alcove_cgroup:join(D, [Name]) || D <- unified_mount()],
    Expected = lists:usort(V1 ++ V2),
    ?assertEqual(Expected, lists:usort(Dirs)),
    [?assert(filelib:is_dir(Dir), Dir) || Dir <- Dirs],
    %% A second new of the same name reuses the directories.
    {ok, Again} = new(Config, #{controllers => [memory, pids, cpu]}),
    ?assertEqual(Dirs, alcove_cgroup:dirs(Again)),
    ?assertEqual([], maps:get(created, Again)),
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group)),
    [?assertNot(filelib:is_dir(Dir), Dir) || Dir <- Dirs].

limits() ->
    [{doc, "memory, pids and cpu limits set by name land in the files of the hierarchy holding each controller and read back."}].
limits(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => [memory, pids, cpu]}),
    Check = fun(Limit, Value, V1Files, V2File) ->
        ?assertEqual(ok, alcove_cgroup:set_limit(Drv, [], Group, Limit, Value)),
        ?assertEqual({ok, Value}, alcove_cgroup:get_limit(Drv, [], Group, Limit)),
        Controller = hd(string:lexemes(atom_to_list(Limit), "_")),
        case expected(list_to_binary(Controller)) of
            {v1, _} ->
                Dir = v1_dir(Group, list_to_atom(Controller)),
                [?assertEqual(Text, trim(filename:join(Dir, F)), F) || {F, Text} <- V1Files];
            {v2, _} ->
                ?assertEqual(element(1, V2File), trim(filename:join(maps:get(unified, Group), element(2, V2File))))
        end
    end,
    Check(memory_max, 16777216, [{"memory.limit_in_bytes", "16777216"}], {"16777216", "memory.max"}),
    Check(memory_max, max, [{"memory.limit_in_bytes", "9223372036854771712"}], {"max", "memory.max"}),
    Check(pids_max, 7, [{"pids.max", "7"}], {"7", "pids.max"}),
    Check(pids_max, max, [{"pids.max", "max"}], {"max", "pids.max"}),
    Check(cpu_max, {50000, 100000}, [{"cpu.cfs_quota_us", "50000"}, {"cpu.cfs_period_us", "100000"}], {"50000 100000", "cpu.max"}),
    Check(cpu_max, {max, 200000}, [{"cpu.cfs_quota_us", "-1"}, {"cpu.cfs_period_us", "200000"}], {"max 200000", "cpu.max"}),
    Check(cpu_weight, 50, [{"cpu.shares", "512"}], {"50", "cpu.weight"}),
    case expected(<<"memory">>) of
        {v1, _} -> ?assertEqual({error, enotsup}, alcove_cgroup:set_limit(Drv, [], Group, memory_high, 1 bsl 20));
        {v2, _} -> ?assertEqual(ok, alcove_cgroup:set_limit(Drv, [], Group, memory_high, 1 bsl 20))
    end,
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group)).

add_proc() ->
    [{doc, "add_proc/4 moves a forked process into every directory of the group."}].
add_proc(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => [memory, pids]}),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_cgroup:add_proc(Drv, [], Group, Child)),
    [?assertEqual(integer_to_list(Child), trim(filename:join(Dir, "cgroup.procs")), Dir) || Dir <- alcove_cgroup:dirs(Group)],
    ?assertEqual({ok, [Child]}, alcove_cgroup:procs(Drv, [], Group)),
    ?assertMatch({ok, #{cgroup := #{populated := true}}}, alcove_cgroup:events(Drv, [], Group)),
    ?assertEqual({error, ebusy}, alcove_cgroup:remove(Drv, [], Group)),
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group, #{kill => true})),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [Child])).

pids_max() ->
    [{doc, "With pids.max 1 a process in the group cannot fork (EAGAIN) and events count the refusal."}].
pids_max(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => [pids]}),
    {ok, #{pids := #{max := Before}}} = alcove_cgroup:events(Drv, [], Group),
    ok = alcove_cgroup:set_limit(Drv, [], Group, pids_max, 1),
    {ok, Child} = alcove:fork(Drv, []),
    ok = alcove_cgroup:add_proc(Drv, [], Group, Child),
    ?assertEqual({error, eagain}, alcove:fork(Drv, [Child])),
    {ok, #{pids := #{max := After}}} = alcove_cgroup:events(Drv, [], Group),
    ?assert(After >= Before + 1, {Before, After}),
    %% Raised again, it can.
    ok = alcove_cgroup:set_limit(Drv, [], Group, pids_max, 2),
    ?assertMatch({ok, _}, alcove:fork(Drv, [Child])).

oom_kill() ->
    [{doc, "A program allocating past a 16 MiB memory limit is killed with SIGKILL and events count an oom_kill."}].
oom_kill(Config) ->
    Drv = ?config(drv, Config),
    Busybox = "/bin/busybox",
    case filelib:is_file(Busybox) of
        false ->
            {skip, "needs /bin/busybox"};
        true ->
            {ok, Group} = new(Config, #{controllers => [memory]}),
            ok = alcove_cgroup:set_limit(Drv, [], Group, memory_max, 16 bsl 20),
            {ok, Child} = alcove:fork(Drv, []),
            ok = alcove_cgroup:add_proc(Drv, [], Group, Child),
            {ok, #{memory := #{oom_kill := Before}}} = alcove_cgroup:events(Drv, [], Group),
            ok = alcove:execve(Drv, [Child], Busybox, ["busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], []),
            ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [Child])),
            {ok, #{memory := #{oom_kill := After}}} = alcove_cgroup:events(Drv, [], Group),
            ?assert(After >= Before + 1, {Before, After})
    end.

watch_option() ->
    [{doc, "new/4 with watch => true pushes the group's events to the owner: populated, "
           "pids_max when a fork is refused, oom and oom_kill when a program passes the memory "
           "limit; remove/4 ends the watches."}].
watch_option(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => [memory, pids], watch => true}),
    #{watches := Ids} = Group,
    ?assert(length(Ids) >= 2, Ids),
    Dirs = alcove_cgroup:dirs(Group),
    [MemDir] = [D || D <- Dirs, filelib:is_file(filename:join(D, "memory.limit_in_bytes")) orelse
                                filelib:is_file(filename:join(D, "memory.max"))],
    [PidsDir] = [D || D <- Dirs, filelib:is_file(filename:join(D, "pids.max"))],
    ok = alcove_cgroup:set_limit(Drv, [], Group, memory_max, 16 bsl 20),
    ok = alcove_cgroup:set_limit(Drv, [], Group, pids_max, 1),
    {ok, Child} = alcove:fork(Drv, []),
    ok = alcove_cgroup:add_proc(Drv, [], Group, Child),
    ?assertEqual({error, eagain}, alcove:fork(Drv, [Child])),
    ?assertMatch({pids_max, PidsDir, N} when N >= 1, pushed(Drv, pids_max)),
    ok = alcove:execve(Drv, [Child], "/bin/busybox", ["busybox", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"], []),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [Child])),
    ?assertMatch({oom_kill, MemDir, N} when N >= 1, pushed(Drv, oom_kill)),
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group, #{kill => true})),
    % The watches are gone with the group.
    [?assertEqual({error, einval}, alcove:cgroup_unwatch(Drv, [], Id)) || Id <- Ids].

%% The next pushed event named `Name' (others skipped).
pushed(Drv, Name) ->
    receive
        {alcove_event, Drv, [], {cgroup, {Name, _, _} = Event}} -> Event;
        {alcove_event, Drv, [], {cgroup, _}} -> pushed(Drv, Name)
    after 10000 -> ct:fail({no_cgroup_event, Name})
    end.

clone_into() ->
    [{doc, "clone_into/4 starts a child inside every directory of the group (its v2 one by "
           "CLONE_INTO_CGROUP), with the namespaces asked for; it serves calls and what it forks stays in."}].
clone_into(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => [memory, pids]}),
    {ok, Child} = alcove_cgroup:clone_into(Drv, [], Group, [clone_newuts]),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    {ok, Grandchild} = alcove:fork(Drv, [Child]),
    InGroup = fun(Pid) -> [D || D <- alcove_cgroup:dirs(Group), lists:member(integer_to_list(Pid), string:lexemes(read(filename:join(D, "cgroup.procs")), "\n"))] end,
    ?assertEqual(lists:sort(alcove_cgroup:dirs(Group)), lists:sort(InGroup(Child))),
    ?assertEqual(lists:sort(alcove_cgroup:dirs(Group)), lists:sort(InGroup(Grandchild))),
    % Its own UTS namespace.
    ok = alcove:sethostname(Drv, [Child], "alcove-clone-into"),
    ?assertNotEqual({ok, <<"alcove-clone-into">>}, alcove:gethostname(Drv, [])),
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group, #{kill => true})).

freeze_v2() ->
    [{doc, "freeze/3 on the v2 group: the process is stopped in the freezer and cgroup.events says frozen; thaw/3 lets it answer again."}].
freeze_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => []}),
    needs_unified(Group, fun(Dir) ->
        {ok, Child} = alcove:fork(Drv, []),
        ok = alcove_cgroup:add_proc(Drv, [], Group, Child),
        Idle = wchan(Child),
        ?assertEqual(ok, alcove_cgroup:freeze(Drv, [], Group)),
        ?assertMatch("populated 1\nfrozen 1" ++ _, read(filename:join(Dir, "cgroup.events"))),
        %% The v2 freezer parks a task in the signal path.
        Frozen = wchan(Child),
        ?assertNotEqual(Idle, Frozen),
        ?assert(lists:member(Frozen, ["get_signal", "do_freezer_trap"]), Frozen),
        ?assertMatch({ok, #{cgroup := #{frozen := true}}}, alcove_cgroup:events(Drv, [], Group)),
        ?assertEqual(ok, alcove_cgroup:thaw(Drv, [], Group)),
        ?assertMatch("populated 1\nfrozen 0" ++ _, read(filename:join(Dir, "cgroup.events"))),
        ?assertEqual(Child, alcove:getpid(Drv, [Child]))
    end).

freeze_v1() ->
    [{doc, "A group without a v2 directory freezes through the v1 freezer: freezer.state FROZEN, the task in the refrigerator, then thawed."}].
freeze_v1(Config) ->
    Drv = ?config(drv, Config),
    case expected(<<"freezer">>) of
        {v2, _} ->
            {skip, "no v1 freezer hierarchy here"};
        {v1, _} ->
            {ok, Group} = new(Config, #{controllers => [freezer], unified => false}),
            Dir = v1_dir(Group, freezer),
            {ok, Child} = alcove:fork(Drv, []),
            ok = alcove_cgroup:add_proc(Drv, [], Group, Child),
            ?assertEqual(ok, alcove_cgroup:freeze(Drv, [], Group)),
            ?assertEqual("FROZEN", trim(filename:join(Dir, "freezer.state"))),
            ?assertEqual("__refrigerator", wchan(Child)),
            ?assertEqual(ok, alcove_cgroup:thaw(Drv, [], Group)),
            ?assertEqual("THAWED", trim(filename:join(Dir, "freezer.state"))),
            ?assertEqual(Child, alcove:getpid(Drv, [Child]))
    end.

%% Two forked helpers in the group, a third forked inside one of them,
%% and sleeps exec'd in two: {Helpers, Sleepers}.
populate(Drv, Group) ->
    {ok, A} = alcove:fork(Drv, []),
    {ok, B} = alcove:fork(Drv, []),
    ok = alcove_cgroup:add_proc(Drv, [], Group, A),
    ok = alcove_cgroup:add_proc(Drv, [], Group, B),
    {ok, C} = alcove:fork(Drv, [A]),
    {ok, D} = alcove:fork(Drv, [A]),
    ok = alcove:execvp(Drv, [A, C], "sleep", ["sleep", "600"]),
    ok = alcove:execvp(Drv, [B], "sleep", ["sleep", "600"]),
    %% Wait for the exec: the sleeps' names in /proc.
    ok = alcove_ct:wait_until(fun() -> trim("/proc/" ++ integer_to_list(C) ++ "/comm") =:= "sleep" andalso trim("/proc/" ++ integer_to_list(B) ++ "/comm") =:= "sleep" end),
    {ok, Procs} = alcove_cgroup:procs(Drv, [], Group),
    ?assertEqual(lists:sort([A, B, C, D]), Procs),
    [[A], [B], [A, C], [A, D]].

killed(Drv, Pipelines, Group) ->
    %% Each exit is reported to its parent's owner (this process).
    [?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, P), P) || P <- Pipelines, length(P) =:= 1],
    ok = alcove_ct:wait_until(fun() -> alcove_cgroup:procs(Drv, [], Group) =:= {ok, []} end),
    [?assert(alcove_ct:ended(lists:last(P)), P) || P <- Pipelines].

kill_v2() ->
    [{doc, "kill/3 on a v2 group: one write to cgroup.kill ends forked helpers and exec'd sleeps, nested ones included."}].
kill_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => []}),
    needs_unified(Group, fun(Dir) ->
        case filelib:is_file(filename:join(Dir, "cgroup.kill")) of
            false ->
                {skip, "no cgroup.kill (Linux < 5.14)"};
            true ->
                Pipelines = populate(Drv, Group),
                ?assertEqual(ok, alcove_cgroup:kill(Drv, [], Group)),
                killed(Drv, Pipelines, Group),
                ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group))
        end
    end).

kill_v1() ->
    [{doc, "kill/3 on a group with only v1 directories: the freeze, kill each, thaw fallback ends every process."}].
kill_v1(Config) ->
    Drv = ?config(drv, Config),
    case expected(<<"pids">>) of
        {v2, _} ->
            {skip, "no v1 hierarchy here"};
        {v1, _} ->
            {ok, Group} = new(Config, #{controllers => [pids, freezer], unified => false}),
            ?assertEqual(undefined, maps:get(unified, Group)),
            Pipelines = populate(Drv, Group),
            ?assertEqual(ok, alcove_cgroup:kill(Drv, [], Group)),
            killed(Drv, Pipelines, Group),
            ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group))
    end.

pressure() ->
    [{doc, "PSI of the v2 group: cpu and memory pressure parse, and the memory total matches the file."}].
pressure(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = new(Config, #{controllers => []}),
    needs_unified(Group, fun(Dir) ->
        {ok, Cpu} = alcove_cgroup:pressure(Drv, [], Group, cpu),
        ?assertMatch(#{some := #{avg10 := _, avg60 := _, avg300 := _, total := _}}, Cpu),
        {ok, Memory} = alcove_cgroup:pressure(Drv, [], Group, memory),
        ?assertMatch(#{some := #{total := _}, full := #{total := _}}, Memory),
        %% An empty group stalls on nothing: the totals stay as read.
        "some " ++ _ = Text = read(filename:join(Dir, "memory.pressure")),
        [_, Total] = string:split(hd(string:lexemes(Text, "\n")), "total="),
        ?assertEqual(list_to_integer(string:trim(Total)), maps:get(total, maps:get(some, Memory))),
        ?assertEqual({error, enotsup}, alcove_cgroup:pressure(Drv, [], Group#{unified := undefined}, cpu))
    end).

parent_self() ->
    [{doc, "parent => self nests the group in the helper's own v2 cgroup, so stopping the driver ends a process moved into it."}].
parent_self(Config) ->
    Drv = ?config(drv, Config),
    Helper = alcove:getpid(Drv, []),
    [Own] = [P || "0::" ++ P <- string:lexemes(read("/proc/" ++ integer_to_list(Helper) ++ "/cgroup"), "\n")],
    case string:find(Own, "/alcove.") of
        nomatch ->
            {skip, "the driver has no teardown cgroup here (" ++ Own ++ ")"};
        _ ->
            {ok, Group} = new(Config, #{controllers => [pids], parent => self}),
            Dir = maps:get(unified, Group),
            ?assertEqual(filename:basename(Dir), ?config(name, Config)),
            ?assert(lists:suffix(Own, binary_to_list(filename:dirname(Dir))), {Own, Dir}),
            {ok, Child} = alcove:fork(Drv, []),
            ok = alcove_cgroup:add_proc(Drv, [], Group, Child),
            ?assertEqual({ok, [Child]}, alcove_cgroup:procs(Drv, [], Group)),
            ok = alcove_drv:stop(Drv),
            ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Child) end)),
            ?assertEqual(ok, alcove_ct:wait_until(fun() -> not filelib:is_dir(Dir) end))
    end.
