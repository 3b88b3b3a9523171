%%% alcove_cgroup's v2 and hybrid API against a fake cgroupfs: plain
%%% files and directories in a temporary directory, with a fake
%%% mountinfo and /proc/self/cgroup naming them, so every v2 path is
%%% covered on any machine and without root. The files are read and
%%% written by the helper, as on a real tree.
-module(alcove_cgroup_fake_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([layout_hybrid/0, layout_pure_v2/0, layout_pure_v1/0, layout_escaped_and_bind/0, new_enables_controllers/0, new_rolls_back/0, new_parent_self/0, new_bad_name/0, limits_v2/0, limits_v1/0, limit_errors/0, events_v2/0, events_v1/0, pressure/0, freeze_v2/0, freeze_v1/0, kill_v2/0, procs/0, remove/0]).
-export([
    layout_hybrid/1,
    layout_pure_v2/1,
    layout_pure_v1/1,
    layout_escaped_and_bind/1,
    new_enables_controllers/1,
    new_rolls_back/1,
    new_parent_self/1,
    new_bad_name/1,
    limits_v2/1,
    limits_v1/1,
    limit_errors/1,
    events_v2/1,
    events_v1/1,
    pressure/1,
    freeze_v2/1,
    freeze_v1/1,
    kill_v2/1,
    procs/1,
    remove/1
]).

all() ->
    [
        layout_hybrid,
        layout_pure_v2,
        layout_pure_v1,
        layout_escaped_and_bind,
        new_enables_controllers,
        new_rolls_back,
        new_parent_self,
        new_bad_name,
        limits_v2,
        limits_v1,
        limit_errors,
        events_v2,
        events_v1,
        pressure,
        freeze_v2,
        freeze_v1,
        kill_v2,
        procs,
        remove
    ].

init_per_testcase(Case, Config) ->
    Dir = filename:join(["/tmp", "alcove_cgfake_" ++ os:getpid() ++ "_" ++ atom_to_list(Case)]),
    _ = os:cmd("rm -rf " ++ Dir),
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    alcove_ct:init_driver([{root, list_to_binary(Dir)} | Config]).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config),
    _ = os:cmd("rm -rf " ++ binary_to_list(?config(root, Config))),
    ok.

%%% Fake trees

%% A mountinfo line.
mount(Id, Root, Dir, FsType, SuperOpts) ->
    io_lib:format("~b 1 0:~b ~s ~s rw,relatime - ~s ~s ~s~n", [Id, Id, Root, Dir, FsType, FsType, SuperOpts]).

%% A v2 tree at Root/unified offering `Controllers', plus v1 hierarchies
%% at Root/<name> for `V1' ([{Name, SuperOpts}]); returns layout options.
fake(Config, Controllers, V1, CgroupLines) ->
    Root = ?config(root, Config),
    Unified = filename:join(Root, "unified"),
    V2Lines =
        case Controllers of
            none ->
                [];
            _ ->
                ok = filelib:ensure_dir(filename:join(Unified, "x")),
                ok = file:write_file(filename:join(Unified, "cgroup.controllers"), [lists:join(" ", Controllers), "\n"]),
                ok = file:write_file(filename:join(Unified, "cgroup.subtree_control"), <<>>),
                [mount(41, "/", Unified, "cgroup2", "rw,nsdelegate")]
        end,
    V1Lines = [
        begin
            Dir = filename:join(Root, Name),
            ok = filelib:ensure_dir(filename:join(Dir, "x")),
            mount(50 + N, "/", Dir, "cgroup", Opts)
        end
     || {N, {Name, Opts}} <- lists:enumerate(V1)
    ],
    Mountinfo = filename:join(Root, "mountinfo"),
    ok = file:write_file(Mountinfo, [mount(20, "/", "/", "ext4", "rw") | V1Lines ++ V2Lines]),
    CgroupFile = filename:join(Root, "cgroup"),
    ok = file:write_file(CgroupFile, CgroupLines),
    #{mountinfo => Mountinfo, cgroup => CgroupFile}.

pure_v2(Config) ->
    fake(Config, ["cpuset", "cpu", "io", "memory", "pids"], [], "0::/\n").

pure_v1(Config) ->
    fake(
        Config,
        none,
        [{"cpu,cpuacct", "rw,cpu,cpuacct"}, {"memory", "rw,memory"}, {"pids", "rw,pids"}, {"blkio", "rw,blkio"}, {"freezer", "rw,freezer"}],
        "5:freezer:/\n4:blkio:/\n3:pids:/\n2:memory:/\n1:cpu,cpuacct:/\n"
    ).

%% Make the interface files the kernel would have in a new cgroup.
files(Dir, Files) ->
    ok = filelib:ensure_dir(filename:join(Dir, "x")),
    [ok = file:write_file(filename:join(Dir, Name), Text) || {Name, Text} <- Files],
    ok.

file(Dir, Name) ->
    {ok, Text} = file:read_file(filename:join(Dir, Name)),
    Text.

root(Config, Sub) ->
    filename:join(?config(root, Config), Sub).

%%% Cases

layout_hybrid() ->
    [{doc, "A hybrid layout: memory, pids, cpu on v1, a v2 tree offering only hugetlb."}].
layout_hybrid(Config) ->
    Drv = ?config(drv, Config),
    Opts = fake(
        Config,
        ["hugetlb"],
        [{"cpu", "rw,cpu"}, {"memory", "rw,memory"}, {"pids", "rw,pids"}, {"systemd", "rw,name=systemd"}],
        "9:name=systemd:/\n3:pids:/\n2:memory:/a/b\n1:cpu:/\n0::/c\n"
    ),
    {ok, Layout} = alcove_cgroup:layout(Drv, [], Opts),
    Unified = root(Config, "unified"),
    ?assertEqual(Unified, maps:get(unified, Layout)),
    ?assertEqual([hugetlb], maps:get(unified_controllers, Layout)),
    ?assertEqual(
        [{root(Config, "cpu"), [cpu]}, {root(Config, "memory"), [memory]}, {root(Config, "pids"), [pids]}],
        maps:get(v1, Layout)
    ),
    [?assertEqual({v1, root(Config, atom_to_list(C))}, alcove_cgroup:controller(Layout, C)) || C <- [memory, pids, cpu]],
    ?assertEqual({v2, Unified}, alcove_cgroup:controller(Layout, hugetlb)),
    ?assertEqual({v2, Unified}, alcove_cgroup:controller(Layout, freezer)),
    ?assertEqual(none, alcove_cgroup:controller(Layout, io)),
    Self = maps:get(self, Layout),
    ?assertEqual(filename:join(Unified, "c"), maps:get(Unified, Self)),
    ?assertEqual(filename:join([root(Config, "memory"), "a", "b"]), maps:get(root(Config, "memory"), Self)).

layout_pure_v2() ->
    [{doc, "A pure v2 layout: every controller the root offers is on v2."}].
layout_pure_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Layout} = alcove_cgroup:layout(Drv, [], pure_v2(Config)),
    Unified = root(Config, "unified"),
    ?assertEqual([], maps:get(v1, Layout)),
    ?assertEqual([cpuset, cpu, io, memory, pids], maps:get(unified_controllers, Layout)),
    [?assertEqual({v2, Unified}, alcove_cgroup:controller(Layout, C)) || C <- [memory, pids, cpu, io, freezer]],
    ?assertEqual(none, alcove_cgroup:controller(Layout, hugetlb)).

layout_pure_v1() ->
    [{doc, "A pure v1 layout: no unified tree; blkio is the io controller, a co-mounted cpu,cpuacct one hierarchy."}].
layout_pure_v1(Config) ->
    Drv = ?config(drv, Config),
    {ok, Layout} = alcove_cgroup:layout(Drv, [], pure_v1(Config)),
    ?assertEqual(undefined, maps:get(unified, Layout)),
    ?assertEqual({v1, root(Config, "blkio")}, alcove_cgroup:controller(Layout, io)),
    ?assertEqual({v1, root(Config, "cpu,cpuacct")}, alcove_cgroup:controller(Layout, cpuacct)),
    ?assertEqual({v1, root(Config, "freezer")}, alcove_cgroup:controller(Layout, freezer)),
    ?assertEqual(none, alcove_cgroup:controller(Layout, hugetlb)),
    ?assertEqual(root(Config, "cpu,cpuacct"), maps:get(root(Config, "cpu,cpuacct"), maps:get(self, Layout))).

layout_escaped_and_bind() ->
    [{doc, "mountinfo's octal escapes are decoded; a second mount of a hierarchy is ignored; a subtree mount's root is stripped from the own path."}].
layout_escaped_and_bind(Config) ->
    Drv = ?config(drv, Config),
    Root = ?config(root, Config),
    Spaced = filename:join(Root, "mem ory"),
    Unified = filename:join(Root, "unified"),
    ok = filelib:ensure_dir(filename:join(Spaced, "x")),
    ok = filelib:ensure_dir(filename:join(Unified, "x")),
    ok = file:write_file(filename:join(Unified, "cgroup.controllers"), "memory\n"),
    Escaped = binary:replace(Spaced, <<" ">>, <<"\\040">>),
    Mountinfo = filename:join(Root, "mountinfo"),
    ok = file:write_file(Mountinfo, [
        mount(1, "/", Escaped, "cgroup", "rw,memory"),
        mount(2, "/", filename:join(Root, "again"), "cgroup", "rw,memory"),
        mount(3, "/sub", Unified, "cgroup2", "rw")
    ]),
    Cgroup = filename:join(Root, "cgroup"),
    ok = file:write_file(Cgroup, "1:memory:/x\n0::/sub/leaf\n"),
    {ok, Layout} = alcove_cgroup:layout(Drv, [], #{mountinfo => Mountinfo, cgroup => Cgroup}),
    ?assertEqual([{Spaced, [memory]}], maps:get(v1, Layout)),
    ?assertEqual({v1, Spaced}, alcove_cgroup:controller(Layout, memory)),
    ?assertEqual(filename:join(Unified, "leaf"), maps:get(Unified, maps:get(self, Layout))),
    ?assertEqual({error, enoent}, alcove_cgroup:layout(Drv, [], #{mountinfo => filename:join(Root, "none")})).

new_enables_controllers() ->
    [{doc, "new/4 on v2 enables the requested controllers in each parent's cgroup.subtree_control, one write of \"+c +c\", and records what it created."}].
new_enables_controllers(Config) ->
    Drv = ?config(drv, Config),
    Opts = pure_v2(Config),
    Unified = root(Config, "unified"),
    %% The intermediate exists already (mkdir on a fake tree makes no interface files).
    ok = files(filename:join(Unified, "a"), [{"cgroup.subtree_control", ""}]),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"a">>, "b"], Opts#{controllers => [memory, pids, cpu, hugetlb]}),
    Leaf = filename:join([Unified, "a", "b"]),
    ?assert(filelib:is_dir(Leaf)),
    ?assertEqual(<<"+cpu +memory +pids">>, file(Unified, "cgroup.subtree_control")),
    ?assertEqual(<<"+cpu +memory +pids">>, file(filename:join(Unified, "a"), "cgroup.subtree_control")),
    ?assertEqual(Leaf, maps:get(unified, Group)),
    ?assertEqual([cpu, memory, pids], maps:get(unified_controllers, Group)),
    ?assertEqual([Leaf], maps:get(created, Group)),
    ?assertEqual([], maps:get(v1, Group)),
    ?assertEqual([Leaf], alcove_cgroup:dirs(Group)),
    %% No controller asked for: nothing written.
    ok = file:write_file(filename:join(Unified, "cgroup.subtree_control"), <<>>),
    {ok, _} = alcove_cgroup:new(Drv, [], [<<"c">>], Opts#{controllers => []}),
    ?assertEqual(<<>>, file(Unified, "cgroup.subtree_control")).

new_rolls_back() ->
    [{doc, "When enabling controllers fails half way, new/4 returns the error and removes the directories it made."}].
new_rolls_back(Config) ->
    Drv = ?config(drv, Config),
    Opts = pure_v2(Config),
    Unified = root(Config, "unified"),
    %% a is made, but has no cgroup.subtree_control to enable b's controllers in.
    ?assertEqual({error, enoent}, alcove_cgroup:new(Drv, [], [<<"a">>, <<"b">>], Opts#{controllers => [memory]})),
    ?assertNot(filelib:is_dir(filename:join(Unified, "a"))),
    ?assertEqual({error, enotsup}, alcove_cgroup:new(Drv, [], [<<"a">>], Opts#{unified => false})).

new_parent_self() ->
    [{doc, "parent => self: the group goes under the process's own cgroup in each hierarchy."}].
new_parent_self(Config) ->
    Drv = ?config(drv, Config),
    Opts = fake(Config, ["pids"], [{"memory", "rw,memory"}], "2:memory:/m\n0::/own/leaf\n"),
    Own = filename:join([root(Config, "unified"), "own", "leaf"]),
    ok = filelib:ensure_dir(filename:join(Own, "x")),
    ok = filelib:ensure_dir(filename:join([root(Config, "memory"), "m", "x"])),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], Opts#{parent => self, controllers => [memory]}),
    ?assertEqual(filename:join(Own, "g"), maps:get(unified, Group)),
    ?assertEqual([{filename:join([root(Config, "memory"), "m", "g"]), [memory]}], maps:get(v1, Group)),
    ?assert(filelib:is_dir(filename:join(Own, "g"))),
    %% No own cgroup known in a hierarchy: enoent.
    ok = file:write_file(maps:get(cgroup, Opts), "0::/own/leaf\n"),
    ?assertEqual({error, enoent}, alcove_cgroup:new(Drv, [], [<<"h">>], Opts#{parent => self, controllers => [memory]})).

new_bad_name() ->
    [{doc, "Empty names and . or .. components are refused; a path is split into components."}].
new_bad_name(Config) ->
    Drv = ?config(drv, Config),
    Opts = pure_v2(Config),
    ?assertEqual({error, einval}, alcove_cgroup:new(Drv, [], [], Opts)),
    ?assertEqual({error, einval}, alcove_cgroup:new(Drv, [], [<<"a">>, <<"..">>], Opts)),
    ?assertEqual({error, einval}, alcove_cgroup:new(Drv, [], ["a/../../b"], Opts)),
    ?assertEqual({error, einval}, alcove_cgroup:new(Drv, [], <<"a/../b">>, Opts)),
    %% A path names the same group as its components.
    {ok, #{name := [<<"x">>, <<"y">>]} = ByPath} = alcove_cgroup:new(Drv, [], <<"/x/y">>, Opts#{controllers => []}),
    {ok, #{name := [<<"x">>, <<"y">>]} = ByString} = alcove_cgroup:new(Drv, [], "x/y", Opts#{controllers => []}),
    ?assertEqual(alcove_cgroup:dirs(ByPath), alcove_cgroup:dirs(ByString)).

limits_v2() ->
    [{doc, "Each limit's v2 file and value format, and get_limit reading it back."}].
limits_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], (pure_v2(Config))#{controllers => [memory, pids, cpu, io]}),
    Dir = maps:get(unified, Group),
    ok = files(Dir, [{F, ""} || F <- ["memory.max", "memory.high", "pids.max", "cpu.max", "cpu.weight", "io.max"]]),
    Cases = [
        {memory_max, 16777216, "memory.max", <<"16777216">>, 16777216},
        {memory_max, max, "memory.max", <<"max">>, max},
        {'memory.high', 8388608, "memory.high", <<"8388608">>, 8388608},
        {<<"pids.max">>, 10, "pids.max", <<"10">>, 10},
        {pids_max, max, "pids.max", <<"max">>, max},
        {cpu_max, {50000, 100000}, "cpu.max", <<"50000 100000">>, {50000, 100000}},
        {cpu_max, {max, 100000}, "cpu.max", <<"max 100000">>, {max, 100000}},
        {cpu_weight, 250, "cpu.weight", <<"250">>, 250},
        {io_max, {{8, 0}, #{rbps => 1048576, wiops => max}}, "io.max", <<"8:0 rbps=1048576 wiops=max">>,
            [{{8, 0}, #{rbps => 1048576, wbps => max, riops => max, wiops => max}}]}
    ],
    [
        begin
            ?assertEqual(ok, alcove_cgroup:set_limit(Drv, [], Group, Limit, Value), Limit),
            ?assertEqual(Text, file(Dir, File)),
            ?assertEqual({ok, Back}, alcove_cgroup:get_limit(Drv, [], Group, Limit))
        end
     || {Limit, Value, File, Text, Back} <- Cases
    ],
    %% cpu_max max alone keeps the period; two devices, two writes (O_TRUNC'd
    %% once, so the plain file keeps both lines).
    ok = alcove_cgroup:set_limit(Drv, [], Group, cpu_max, max),
    ?assertEqual(<<"max">>, file(Dir, "cpu.max")),
    ok = alcove_cgroup:set_limit(Drv, [], Group, io_max, [{{8, 0}, #{wbps => 10}}, {{8, 16}, #{riops => 5}}]),
    ?assertEqual(<<"8:0 wbps=108:16 riops=5">>, file(Dir, "io.max")),
    ok = file:write_file(filename:join(Dir, "io.max"), "8:0 rbps=1 wbps=max riops=max wiops=max\n8:16 rbps=max wbps=max riops=5 wiops=max\n"),
    ?assertEqual(
        {ok, [
            {{8, 0}, #{rbps => 1, wbps => max, riops => max, wiops => max}},
            {{8, 16}, #{rbps => max, wbps => max, riops => 5, wiops => max}}
        ]},
        alcove_cgroup:get_limit(Drv, [], Group, io_max)
    ).

limits_v1() ->
    [{doc, "Each limit's v1 equivalent: memory.limit_in_bytes, pids.max, cpu.cfs_*, cpu.shares, blkio.throttle.*; memory.high has none."}].
limits_v1(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], pure_v1(Config)),
    Dir = fun(Name) -> filename:join(root(Config, Name), "g") end,
    ok = files(Dir("memory"), [{"memory.limit_in_bytes", ""}]),
    ok = files(Dir("pids"), [{"pids.max", ""}]),
    ok = files(Dir("cpu,cpuacct"), [{F, ""} || F <- ["cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.shares"]]),
    ok = files(Dir("blkio"), [{"blkio.throttle.read_bps_device", ""}]),
    ok = alcove_cgroup:set_limit(Drv, [], Group, memory_max, 16777216),
    ?assertEqual(<<"16777216">>, file(Dir("memory"), "memory.limit_in_bytes")),
    ?assertEqual({ok, 16777216}, alcove_cgroup:get_limit(Drv, [], Group, memory_max)),
    ok = alcove_cgroup:set_limit(Drv, [], Group, memory_max, max),
    ?assertEqual(<<"-1">>, file(Dir("memory"), "memory.limit_in_bytes")),
    %% What the kernel reads back for no limit.
    ok = file:write_file(filename:join(Dir("memory"), "memory.limit_in_bytes"), "9223372036854771712\n"),
    ?assertEqual({ok, max}, alcove_cgroup:get_limit(Drv, [], Group, memory_max)),
    ?assertEqual({error, enotsup}, alcove_cgroup:set_limit(Drv, [], Group, memory_high, 1)),
    ?assertEqual({error, enotsup}, alcove_cgroup:get_limit(Drv, [], Group, memory_high)),
    ok = alcove_cgroup:set_limit(Drv, [], Group, pids_max, 3),
    ?assertEqual(<<"3">>, file(Dir("pids"), "pids.max")),
    ok = alcove_cgroup:set_limit(Drv, [], Group, cpu_max, {50000, 100000}),
    ?assertEqual(<<"100000">>, file(Dir("cpu,cpuacct"), "cpu.cfs_period_us")),
    ?assertEqual(<<"50000">>, file(Dir("cpu,cpuacct"), "cpu.cfs_quota_us")),
    ?assertEqual({ok, {50000, 100000}}, alcove_cgroup:get_limit(Drv, [], Group, cpu_max)),
    ok = alcove_cgroup:set_limit(Drv, [], Group, cpu_max, max),
    ?assertEqual(<<"-1">>, file(Dir("cpu,cpuacct"), "cpu.cfs_quota_us")),
    ?assertEqual({ok, {max, 100000}}, alcove_cgroup:get_limit(Drv, [], Group, cpu_max)),
    ok = alcove_cgroup:set_limit(Drv, [], Group, cpu_weight, 50),
    ?assertEqual(<<"512">>, file(Dir("cpu,cpuacct"), "cpu.shares")),
    ?assertEqual({ok, 50}, alcove_cgroup:get_limit(Drv, [], Group, cpu_weight)),
    ok = alcove_cgroup:set_limit(Drv, [], Group, cpu_weight, 100),
    ?assertEqual(<<"1024">>, file(Dir("cpu,cpuacct"), "cpu.shares")),
    Blkio = Dir("blkio"),
    [ok = file:write_file(filename:join(Blkio, F), <<>>) || F <- ["blkio.throttle.write_bps_device", "blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device"]],
    ok = alcove_cgroup:set_limit(Drv, [], Group, io_max, {{8, 0}, #{rbps => 1048576, wiops => max}}),
    ?assertEqual(<<"8:0 1048576">>, file(Blkio, "blkio.throttle.read_bps_device")),
    ?assertEqual(<<"8:0 0">>, file(Blkio, "blkio.throttle.write_iops_device")),
    ok = file:write_file(filename:join(Blkio, "blkio.throttle.write_iops_device"), <<>>),
    ?assertEqual(
        {ok, [{{8, 0}, #{rbps => 1048576, wbps => max, riops => max, wiops => max}}]},
        alcove_cgroup:get_limit(Drv, [], Group, io_max)
    ).

limit_errors() ->
    [{doc, "Unknown names and bad values are einval, a controller the group lacks enotsup."}].
limit_errors(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], (pure_v2(Config))#{controllers => [memory, cpu, io]}),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, nonesuch, 1)),
    ?assertEqual({error, einval}, alcove_cgroup:get_limit(Drv, [], Group, "memory.max")),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, memory_max, -1)),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, cpu_weight, 0)),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, cpu_weight, 10001)),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, cpu_max, {1, 0})),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, io_max, [])),
    ?assertEqual({error, einval}, alcove_cgroup:set_limit(Drv, [], Group, io_max, {{8, 0}, #{speed => 1}})),
    ?assertEqual({error, enotsup}, alcove_cgroup:set_limit(Drv, [], Group, pids_max, 1)),
    ?assertEqual({error, enotsup}, alcove_cgroup:get_limit(Drv, [], Group, pids_max)),
    %% The file is missing on this fake: the error comes through.
    ?assertEqual({error, enoent}, alcove_cgroup:get_limit(Drv, [], Group, memory_max)),
    ok = file:write_file(filename:join(maps:get(unified, Group), "memory.max"), "lots\n"),
    ?assertEqual({error, einval}, alcove_cgroup:get_limit(Drv, [], Group, memory_max)).

events_v2() ->
    [{doc, "events/3 parses cgroup.events, memory.events and pids.events of a v2 group."}].
events_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], (pure_v2(Config))#{controllers => [memory, pids]}),
    ok = files(maps:get(unified, Group), [
        {"cgroup.events", "populated 1\nfrozen 0\n"},
        {"memory.events", "low 0\nhigh 3\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\nnew_key 4\n"},
        {"pids.events", "max 5\n"}
    ]),
    ?assertEqual(
        {ok, #{
            cgroup => #{populated => true, frozen => false},
            memory => #{low => 0, high => 3, max => 7, oom => 2, oom_kill => 1, oom_group_kill => 0, <<"new_key">> => 4},
            pids => #{max => 5}
        }},
        alcove_cgroup:events(Drv, [], Group)
    ),
    {ok, Bare} = alcove_cgroup:new(Drv, [], [<<"h">>], (pure_v2(Config))#{controllers => []}),
    ok = files(maps:get(unified, Bare), [{"cgroup.events", "populated 0\nfrozen 1\n"}]),
    ?assertEqual({ok, #{cgroup => #{populated => false, frozen => true}}}, alcove_cgroup:events(Drv, [], Bare)),
    ok = file:delete(filename:join(maps:get(unified, Bare), "cgroup.events")),
    ?assertEqual({error, enoent}, alcove_cgroup:events(Drv, [], Bare)).

events_v1() ->
    [{doc, "events/3 on v1: memory.oom_control, memory.failcnt, pids.events, populated from cgroup.procs."}].
events_v1(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], (pure_v1(Config))#{controllers => [memory, pids]}),
    Memory = filename:join(root(Config, "memory"), "g"),
    ok = files(Memory, [
        {"memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 2\n"},
        {"memory.failcnt", "17\n"},
        {"cgroup.procs", "12\n"}
    ]),
    ok = files(filename:join(root(Config, "pids"), "g"), [{"pids.events", "max 3\n"}]),
    ?assertEqual(
        {ok, #{
            cgroup => #{populated => true},
            memory => #{oom_kill_disable => false, under_oom => true, oom_kill => 2, failcnt => 17},
            pids => #{max => 3}
        }},
        alcove_cgroup:events(Drv, [], Group)
    ).

pressure() ->
    [{doc, "pressure/4 parses PSI lines; a group without v2 has none; malformed text is einval."}].
pressure(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], pure_v2(Config)),
    Dir = maps:get(unified, Group),
    ok = files(Dir, [
        {"cpu.pressure", "some avg10=1.50 avg60=0.25 avg300=0.00 total=123456\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=7\n"},
        {"irq.pressure", "full avg10=0.10 avg60=0.00 avg300=0.00 total=9\n"},
        {"io.pressure", "some avg10=x total=1\n"}
    ]),
    ?assertEqual(
        {ok, #{
            some => #{avg10 => 1.5, avg60 => 0.25, avg300 => 0.0, total => 123456},
            full => #{avg10 => 0.0, avg60 => 0.0, avg300 => 0.0, total => 7}
        }},
        alcove_cgroup:pressure(Drv, [], Group, cpu)
    ),
    ?assertEqual({ok, #{full => #{avg10 => 0.1, avg60 => 0.0, avg300 => 0.0, total => 9}}}, alcove_cgroup:pressure(Drv, [], Group, irq)),
    ?assertEqual({error, einval}, alcove_cgroup:pressure(Drv, [], Group, io)),
    ?assertEqual({error, enoent}, alcove_cgroup:pressure(Drv, [], Group, memory)),
    ?assertEqual({error, einval}, alcove_cgroup:pressure(Drv, [], Group, disk)),
    ?assertEqual({error, enotsup}, alcove_cgroup:pressure(Drv, [], Group#{unified := undefined}, cpu)).

freeze_v2() ->
    [{doc, "freeze/thaw write cgroup.freeze and return once cgroup.events says so; etimedout when it never does."}].
freeze_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], pure_v2(Config)),
    Dir = maps:get(unified, Group),
    ok = files(Dir, [{"cgroup.freeze", "0\n"}, {"cgroup.events", "populated 1\nfrozen 1\n"}]),
    ?assertEqual(ok, alcove_cgroup:freeze(Drv, [], Group)),
    ?assertEqual(<<"1">>, file(Dir, "cgroup.freeze")),
    %% The fake kernel never reports it thawed.
    ?assertEqual({error, etimedout}, alcove_cgroup:thaw(Drv, [], Group, 50)),
    ?assertEqual(<<"0">>, file(Dir, "cgroup.freeze")),
    ok = file:write_file(filename:join(Dir, "cgroup.events"), "populated 1\nfrozen 0\n"),
    ?assertEqual(ok, alcove_cgroup:thaw(Drv, [], Group)).

freeze_v1() ->
    [{doc, "Without a v2 directory freeze/thaw use freezer.state; neither freezer is enotsup."}].
freeze_v1(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], pure_v1(Config)),
    Dir = filename:join(root(Config, "freezer"), "g"),
    ok = files(Dir, [{"freezer.state", "THAWED\n"}]),
    %% A plain file reads back what was written: FROZEN at once.
    ?assertEqual(ok, alcove_cgroup:freeze(Drv, [], Group)),
    ?assertEqual(<<"FROZEN">>, file(Dir, "freezer.state")),
    ?assertEqual(ok, alcove_cgroup:thaw(Drv, [], Group)),
    ?assertEqual(<<"THAWED">>, file(Dir, "freezer.state")),
    ?assertEqual({error, enotsup}, alcove_cgroup:freeze(Drv, [], Group#{v1 := []})).

kill_v2() ->
    [{doc, "kill/3 on v2 is one write of 1 to cgroup.kill; without the file it falls back to v1 (enotsup with no v1 directory)."}].
kill_v2(Config) ->
    Drv = ?config(drv, Config),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], pure_v2(Config)),
    Dir = maps:get(unified, Group),
    ?assertEqual({error, enotsup}, alcove_cgroup:kill(Drv, [], Group)),
    ok = files(Dir, [{"cgroup.kill", ""}]),
    ?assertEqual(ok, alcove_cgroup:kill(Drv, [], Group)),
    ?assertEqual(<<"1">>, file(Dir, "cgroup.kill")).

procs() ->
    [{doc, "add_proc/4 writes the pid to cgroup.procs in every directory of the group; procs/3 reads it."}].
procs(Config) ->
    Drv = ?config(drv, Config),
    Opts = fake(Config, ["pids"], [{"memory", "rw,memory"}], "1:memory:/\n0::/\n"),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"g">>], Opts#{controllers => [memory, pids]}),
    Dirs = alcove_cgroup:dirs(Group),
    ?assertEqual(2, length(Dirs)),
    [ok = files(Dir, [{"cgroup.procs", ""}]) || Dir <- Dirs],
    ?assertEqual(ok, alcove_cgroup:add_proc(Drv, [], Group, 4242)),
    [?assertEqual(<<"4242">>, file(Dir, "cgroup.procs")) || Dir <- Dirs],
    ok = file:write_file(filename:join(maps:get(unified, Group), "cgroup.procs"), "30\n4242\n7\n"),
    ?assertEqual({ok, [7, 30, 4242]}, alcove_cgroup:procs(Drv, [], Group)),
    ok = file:delete(filename:join(maps:get(unified, Group), "cgroup.procs")),
    ?assertEqual({error, enoent}, alcove_cgroup:add_proc(Drv, [], Group, 1)).

remove() ->
    [{doc, "remove/3 removes the group's directories and the parents new/4 made, not those that were there."}].
remove(Config) ->
    Drv = ?config(drv, Config),
    Opts = pure_v1(Config),
    ok = filelib:ensure_dir(filename:join([root(Config, "memory"), "keep", "x"])),
    {ok, Group} = alcove_cgroup:new(Drv, [], [<<"keep">>, <<"a">>, <<"b">>], Opts#{controllers => [memory, pids]}),
    ?assertEqual(
        [filename:join([root(Config, "memory"), "keep", "a", "b"]), filename:join([root(Config, "pids"), "keep", "a", "b"])],
        alcove_cgroup:dirs(Group)
    ),
    %% A file in a leaf stands for a process: rmdir fails, nothing else is removed.
    ok = files(filename:join([root(Config, "pids"), "keep", "a", "b"]), [{"cgroup.procs", ""}]),
    ?assertEqual({error, enotempty}, alcove_cgroup:remove(Drv, [], Group)),
    ?assert(filelib:is_dir(filename:join([root(Config, "pids"), "keep", "a"]))),
    ok = file:delete(filename:join([root(Config, "pids"), "keep", "a", "b", "cgroup.procs"])),
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group)),
    ?assert(filelib:is_dir(filename:join(root(Config, "memory"), "keep"))),
    ?assertNot(filelib:is_dir(filename:join([root(Config, "memory"), "keep", "a"]))),
    ?assertNot(filelib:is_dir(filename:join(root(Config, "pids"), "keep"))),
    %% Already gone counts as removed.
    ?assertEqual(ok, alcove_cgroup:remove(Drv, [], Group)).
