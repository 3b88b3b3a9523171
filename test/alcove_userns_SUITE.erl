%%% alcove_userns: map checks, what root may map, what an unprivileged
%%% writer may (a helper dropped to a uid of its own), the order of
%%% setgroups and gid_map, and clone/4.
-module(alcove_userns_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1, init_per_group/2, end_per_group/2,
         init_per_testcase/2, end_per_testcase/2]).
-export([
    validate_errors/1,
    bad_options_clone_nothing/1,
    unmapped_child_serves_calls/1,
    root_maps_a_range/1,
    map_written_once/1,
    unprivileged_maps_only_itself/1,
    setgroups_before_gid_map/1,
    child_maps_itself/1,
    clone_maps_caller_to_root/1,
    clone_integer_flags/1,
    clone_failed_map_kills_child/1
]).

all() ->
    [validate_errors, {group, root}, {group, unprivileged}].

groups() ->
    [
        {root, [], [bad_options_clone_nothing, unmapped_child_serves_calls, root_maps_a_range, map_written_once]},
        {unprivileged, [], [
            unprivileged_maps_only_itself,
            setgroups_before_gid_map,
            child_maps_itself,
            clone_maps_caller_to_root,
            clone_integer_flags,
            clone_failed_map_kills_child
        ]}
    ].

init_per_suite(Config) ->
    Config.

end_per_suite(_Config) ->
    ok.

init_per_group(root, Config) ->
    case alcove_ct:root() of
        true -> Config;
        false -> {skip, "mapping any ids into a user namespace needs root (CAP_SETUID)"}
    end;
init_per_group(unprivileged, Config) ->
    % The cases drop a helper from root to an unused uid: root is needed
    % to drop, and the kernel must allow the dropped helper a namespace.
    case {alcove_ct:root(), alcove_userns:restrictions()} of
        {false, _} -> {skip, "dropping a helper to an unprivileged uid needs root"};
        {true, [_ | _] = R} -> {skip, lists:flatten(io_lib:format("unprivileged user namespaces are restricted: ~p", [R]))};
        {true, []} -> Config
    end.

end_per_group(_Group, _Config) ->
    ok.

init_per_testcase(validate_errors, Config) ->
    Config;
init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(validate_errors, _Config) ->
    ok;
end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

%%% Cases

%% Maps the kernel would refuse are refused before anything is written,
%% each with what is wrong.
validate_errors(_Config) ->
    ?assertEqual(ok, alcove_userns:validate([{0, 1000, 1}])),
    ?assertEqual(ok, alcove_userns:validate([{0, 100000, 65536}, {65536, 1000, 1}])),
    % The whole 32-bit range but (uid_t)-1, as in the initial namespace.
    ?assertEqual(ok, alcove_userns:validate([{0, 0, 16#ffffffff}])),
    ?assertEqual({error, empty}, alcove_userns:validate([])),
    ?assertEqual({error, not_a_list}, alcove_userns:validate({0, 1000, 1})),
    ?assertEqual({error, {not_a_range, {0, 1000}}}, alcove_userns:validate([{0, 1000}])),
    ?assertEqual({error, {not_a_range, "0 1000 1"}}, alcove_userns:validate(["0 1000 1"])),
    ?assertEqual({error, {not_a_range, {0, 1000, 0}}}, alcove_userns:validate([{0, 1000, 0}])),
    ?assertEqual({error, {not_a_range, {-1, 1000, 1}}}, alcove_userns:validate([{0, 2000, 1}, {-1, 1000, 1}])),
    ?assertEqual({error, {not_a_range, {0, a, 1}}}, alcove_userns:validate([{0, a, 1}])),
    ?assertEqual({error, {out_of_range, {0, 1, 16#ffffffff}}}, alcove_userns:validate([{0, 1, 16#ffffffff}])),
    ?assertEqual({error, {out_of_range, {16#ffffffff, 1, 1}}}, alcove_userns:validate([{16#ffffffff, 1, 1}])),
    ?assertEqual({error, {overlap, inside, {0, 1000, 10}, {9, 2000, 1}}},
        alcove_userns:validate([{0, 1000, 10}, {9, 2000, 1}])),
    ?assertEqual({error, {overlap, outside, {0, 1000, 10}, {20, 995, 10}}},
        alcove_userns:validate([{0, 1000, 10}, {20, 995, 10}])),
    % Adjacent ranges do not overlap.
    ?assertEqual(ok, alcove_userns:validate([{0, 1000, 10}, {10, 1010, 10}])),
    Many = [{I, 1000 + I, 1} || I <- lists:seq(0, 340)],
    ?assertEqual({error, {too_many, 341}}, alcove_userns:validate(Many)),
    ?assertEqual(ok, alcove_userns:validate(lists:droplast(Many))),
    % 200 lines of long numbers exceed a page.
    Long = [{4000000000 + I, 4000000000 + I, 1} || I <- lists:seq(0, 199)],
    {error, {too_long, Size}} = alcove_userns:validate(Long),
    ?assert(Size >= 4096),
    ?assertEqual(<<"0 1000 1\n5 2000 3\n">>, iolist_to_binary(alcove_userns:format([{0, 1000, 1}, {5, 2000, 3}]))).

%% A bad map or option given to clone/4 or map/4 is returned with the key
%% it was under, and nothing is cloned or written.
bad_options_clone_nothing(Config) ->
    Drv = ?config(drv, Config),
    ?assertEqual({error, {uid_map, empty}}, alcove_userns:clone(Drv, [], [], #{uid_map => []})),
    ?assertEqual({error, {gid_map, {not_a_range, x}}}, alcove_userns:clone(Drv, [], [], #{gid_map => [x]})),
    ?assertEqual({error, {setgroups, {bad_value, maybe}}}, alcove_userns:clone(Drv, [], [], #{setgroups => maybe})),
    ?assertEqual({error, {bad_option, uidmap}}, alcove_userns:clone(Drv, [], [], #{uidmap => [{0, 0, 1}]})),
    ?assertEqual([], alcove:cpid(Drv, [])),
    {ok, Child} = alcove:clone(Drv, [], [clone_newuser]),
    ?assertEqual({error, {uid_map, {overlap, inside, {0, 0, 2}, {1, 5, 1}}}},
        alcove_userns:map(Drv, [], Child, #{uid_map => [{0, 0, 2}, {1, 5, 1}]})),
    % Nothing was written: the child is still unmapped.
    ?assertEqual(overflow(uid), alcove:getuid(Drv, [Child])),
    ?assertEqual({ok, <<>>}, read(Drv, [], Child, "uid_map")).

%% Cloned with clone_newuser and not yet mapped, the child helper serves
%% calls: its ids read as the overflow ids until its parent maps them.
unmapped_child_serves_calls(Config) ->
    Drv = ?config(drv, Config),
    {ok, Child} = alcove:clone(Drv, [], [clone_newuser, clone_newuts]),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    ?assertEqual(overflow(uid), alcove:getuid(Drv, [Child])),
    ?assertEqual(overflow(gid), alcove:getgid(Drv, [Child])),
    % Capabilities are already there, in namespaces it owns.
    ?assertEqual(ok, alcove:sethostname(Drv, [Child], "unmapped")),
    ok = alcove_userns:map(Drv, [], Child, #{uid_map => [{0, 0, 1}], gid_map => [{0, 0, 1}]}),
    ?assertEqual(0, alcove:getuid(Drv, [Child])),
    ?assertEqual(0, alcove:getgid(Drv, [Child])).

%% Root maps 65,536 ids from 100,000. The child keeps its ids (0
%% outside, not in the map: the overflow id inside) until it switches to
%% 0 inside, which is 100,000 outside; other ids shift the same way.
root_maps_a_range(Config) ->
    Drv = ?config(drv, Config),
    {ok, Child} = alcove:clone(Drv, [], [clone_newuser]),
    Range = [{0, 100000, 65536}],
    ok = alcove_userns:map(Drv, [], Child, #{uid_map => Range, gid_map => Range, setgroups => allow}),
    ?assertEqual({ok, <<"allow\n">>}, read(Drv, [], Child, "setgroups")),
    {ok, UidMap} = read(Drv, [], Child, "uid_map"),
    ?assertEqual([<<"0">>, <<"100000">>, <<"65536">>], string:lexemes(UidMap, " \n")),
    ?assertEqual(overflow(uid), alcove:getuid(Drv, [Child])),
    ?assertEqual({0, 0}, status_ids(Child)),
    ok = alcove:setresgid(Drv, [Child], 0, 0, 0),
    ok = alcove:setresuid(Drv, [Child], 0, 0, 0),
    ?assertEqual({0, 0}, {alcove:getuid(Drv, [Child]), alcove:getgid(Drv, [Child])}),
    ?assertEqual({100000, 100000}, status_ids(Child)),
    % setgroups allowed: root inside may set its groups.
    ?assertEqual(ok, alcove:setgroups(Drv, [Child], [1, 2])),
    ok = alcove:setresgid(Drv, [Child], 1000, 1000, 1000),
    ok = alcove:setresuid(Drv, [Child], 1000, 1000, 1000),
    ?assertEqual(1000, alcove:getuid(Drv, [Child])),
    ?assertEqual({101000, 101000}, status_ids(Child)),
    % An id outside the map does not exist in there.
    ?assertEqual({error, einval}, alcove:setresuid(Drv, [Child], 70000, 70000, 70000)).

%% A map is written once: a second write of it fails.
map_written_once(Config) ->
    Drv = ?config(drv, Config),
    {ok, Child} = alcove:clone(Drv, [], [clone_newuser]),
    ok = alcove_userns:map(Drv, [], Child, #{uid_map => [{0, 0, 1}]}),
    ?assertEqual({error, {uid_map, eperm}}, alcove_userns:map(Drv, [], Child, #{uid_map => [{0, 1000, 1}]})),
    ?assertEqual(0, alcove:getuid(Drv, [Child])).

%% An unprivileged parent may map its own uid, once, and nothing else.
unprivileged_maps_only_itself(Config) ->
    Drv = ?config(drv, Config),
    {Parent, Id} = dropped(Drv),
    {ok, Child} = alcove:clone(Drv, Parent, [clone_newuser]),
    ?assertEqual({error, {uid_map, eperm}}, alcove_userns:map(Drv, Parent, Child, #{uid_map => [{0, 0, 1}]})),
    ?assertEqual({error, {uid_map, eperm}}, alcove_userns:map(Drv, Parent, Child, #{uid_map => [{0, Id, 2}]})),
    ?assertEqual(overflow(uid), alcove:getuid(Drv, Parent ++ [Child])),
    ?assertEqual(ok, alcove_userns:map(Drv, Parent, Child, #{uid_map => [{0, Id, 1}]})),
    ?assertEqual(0, alcove:getuid(Drv, Parent ++ [Child])),
    ?assertEqual({Id, Id}, status_ids(Child)).

%% Unprivileged, the gid map is refused while setgroups is allowed, and
%% setgroups cannot change once a gid map is written: map/4 writes
%% setgroups first.
setgroups_before_gid_map(Config) ->
    Drv = ?config(drv, Config),
    {Parent, Id} = dropped(Drv),
    {ok, Child} = alcove:clone(Drv, Parent, [clone_newuser]),
    ?assertEqual({ok, <<"allow\n">>}, read(Drv, Parent, Child, "setgroups")),
    % uid_map is written, then gid_map refused.
    ?assertEqual({error, {gid_map, eperm}},
        alcove_userns:map(Drv, Parent, Child, #{uid_map => [{0, Id, 1}], gid_map => [{0, Id, 1}]})),
    ?assertEqual(0, alcove:getuid(Drv, Parent ++ [Child])),
    ?assertEqual(overflow(gid), alcove:getgid(Drv, Parent ++ [Child])),
    % Given both, setgroups goes first and the gid map is taken.
    ?assertEqual(ok, alcove_userns:map(Drv, Parent, Child, #{gid_map => [{0, Id, 1}], setgroups => deny})),
    ?assertEqual(0, alcove:getgid(Drv, Parent ++ [Child])),
    ?assertEqual({ok, <<"deny\n">>}, read(Drv, Parent, Child, "setgroups")),
    ?assertEqual({error, {setgroups, eperm}}, alcove_userns:map(Drv, Parent, Child, #{setgroups => allow})),
    % Denied: root inside cannot drop or add groups.
    ?assertEqual({error, eperm}, alcove:setgroups(Drv, Parent ++ [Child], [])).

%% The child may write its own map (`self'), with its own outside ids.
child_maps_itself(Config) ->
    Drv = ?config(drv, Config),
    {Parent, Id} = dropped(Drv),
    {ok, Child} = alcove:clone(Drv, Parent, [clone_newuser]),
    Sandbox = Parent ++ [Child],
    ?assertEqual(ok, alcove_userns:map(Drv, Sandbox, self, #{uid_map => [{0, Id, 1}], setgroups => deny, gid_map => [{0, Id, 1}]})),
    ?assertEqual({0, 0}, {alcove:getuid(Drv, Sandbox), alcove:getgid(Drv, Sandbox)}),
    ?assertEqual({Id, Id}, status_ids(Child)).

%% clone/4 with no options: the unprivileged caller is root inside, itself
%% outside, setgroups denied, and the namespaces asked for are there.
clone_maps_caller_to_root(Config) ->
    Drv = ?config(drv, Config),
    {Parent, Id} = dropped(Drv),
    {ok, Child} = alcove_userns:clone(Drv, Parent, [clone_newuts, clone_newns], #{}),
    Sandbox = Parent ++ [Child],
    ?assertEqual({0, 0}, {alcove:getuid(Drv, Sandbox), alcove:getgid(Drv, Sandbox)}),
    ?assertEqual({Id, Id}, status_ids(Child)),
    ?assertEqual({ok, <<"deny\n">>}, read(Drv, Parent, Child, "setgroups")),
    [?assertNotEqual(ns(alcove:getpid(Drv, Parent), Ns), ns(Child, Ns)) || Ns <- ["user", "uts", "mnt"]],
    ?assertEqual(ns(alcove:getpid(Drv, Parent), "net"), ns(Child, "net")),
    ?assertEqual(ok, alcove:sethostname(Drv, Sandbox, "clone4")),
    ?assertEqual({ok, <<"clone4">>}, alcove:gethostname(Drv, Sandbox)).

%% Flags as an integer or a single atom get clone_newuser added too.
clone_integer_flags(Config) ->
    Drv = ?config(drv, Config),
    {Parent, Id} = dropped(Drv),
    Newuts = alcove:clone_constant(Drv, Parent, clone_newuts),
    {ok, C1} = alcove_userns:clone(Drv, Parent, Newuts, #{}),
    {ok, C2} = alcove_userns:clone(Drv, Parent, clone_newipc, #{}),
    [?assertEqual({0, {Id, Id}}, {alcove:getuid(Drv, Parent ++ [C]), status_ids(C)}) || C <- [C1, C2]],
    ?assertNotEqual(ns(alcove:getpid(Drv, Parent), "user"), ns(C1, "user")),
    ?assertNotEqual(ns(alcove:getpid(Drv, Parent), "uts"), ns(C1, "uts")),
    ?assertNotEqual(ns(alcove:getpid(Drv, Parent), "ipc"), ns(C2, "ipc")).

%% A map the kernel refuses: clone/4 returns why and kills the child it
%% cloned; its owner (the caller) gets the exit.
clone_failed_map_kills_child(Config) ->
    Drv = ?config(drv, Config),
    {Parent, _Id} = dropped(Drv),
    ?assertEqual({error, {uid_map, eperm}}, alcove_userns:clone(Drv, Parent, [], #{uid_map => [{0, 0, 1}]})),
    Killed =
        receive
            {alcove_event, Drv, [_, Child], {termsig, sigkill}} -> Child
        after 5000 -> ct:fail(no_exit_event)
        end,
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove:cpid(Drv, Parent) =:= [] end)),
    ?assert(alcove_ct:ended(Killed)).

%%% Helpers

%% A child of the root helper dropped to an unused uid and gid (no
%% groups, no capabilities), dumpable again so that it can open its
%% clones' /proc files.
dropped(Drv) ->
    Id = 200000 + rand:uniform(100000),
    {ok, Helper} = alcove:fork(Drv, []),
    ok = alcove:setgroups(Drv, [Helper], []),
    ok = alcove:setresgid(Drv, [Helper], Id, Id, Id),
    ok = alcove:setresuid(Drv, [Helper], Id, Id, Id),
    {ok, _, _, _, _, _} = alcove:prctl(Drv, [Helper], pr_set_dumpable, 1, 0, 0, 0),
    {[Helper], Id}.

overflow(Kind) ->
    {ok, Text} = file:read_file("/proc/sys/kernel/overflow" ++ atom_to_list(Kind)),
    binary_to_integer(string:trim(Text)).

%% A /proc/PID file of Pid, read in the process at Pipeline.
read(Drv, Pipeline, Pid, File) ->
    {ok, Fd} = alcove:open(Drv, Pipeline, "/proc/" ++ integer_to_list(Pid) ++ "/" ++ File, [o_rdonly], 0),
    Result = alcove:read(Drv, Pipeline, Fd, 4096),
    ok = alcove:close(Drv, Pipeline, Fd),
    case Result of
        {ok, Data} -> {ok, iolist_to_binary(Data)};
        Error -> Error
    end.

%% Real uid and gid of a process, as /proc/PID/status shows them outside.
status_ids(Pid) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status"),
    Field = fun(Name) ->
        [Line] = [L || L <- binary:split(Status, <<"\n">>, [global]), binary:match(L, Name) =:= {0, byte_size(Name)}],
        [_, Real | _] = string:lexemes(Line, "\t "),
        binary_to_integer(Real)
    end,
    {Field(<<"Uid:">>), Field(<<"Gid:">>)}.

ns(Pid, Name) ->
    {ok, Link} = file:read_link("/proc/" ++ integer_to_list(Pid) ++ "/ns/" ++ Name),
    Link.
