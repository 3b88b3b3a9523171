%%% Capability sets by name (caps_* calls, alcove_caps), the
%%% no_new_privs option, and outlive: a process that is to outlive its
%%% driver and the VM. The capability and outlive cases need root.
-module(alcove_caps_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, groups/0, init_per_group/2, end_per_group/2, init_per_testcase/2, end_per_testcase/2]).
-export([
    get_lists_root_caps/1,
    drop_chown_then_eperm/1,
    drop_permitted_drops_effective/1,
    set_replaces/1,
    bounding_drop_reaches_exec/1,
    ambient_survives_exec/1,
    no_ambient_no_caps_after_exec/1,
    unknown_names/1,
    bad_arguments/1,
    sets_that_only_shrink/1,
    unprivileged_raise_eperm/1,
    clear/1,
    keep_only/1,
    no_new_privs_option/1,
    no_new_privs_prctl/1,
    outlive_survives_stop/1,
    outlive_nested_survives_stop/1,
    without_outlive_dies_with_driver/1
]).

%% An id no account on the machine uses: credentials need no passwd entry.
-define(UID, 64123).
-define(GID, 64123).
-define(CAP_NET_BIND_SERVICE_BIT, 16#400).

all() ->
    [{group, caps}, {group, no_new_privs}, {group, outlive}].

groups() ->
    [{caps, [], [get_lists_root_caps, drop_chown_then_eperm, drop_permitted_drops_effective,
                 set_replaces, bounding_drop_reaches_exec, ambient_survives_exec,
                 no_ambient_no_caps_after_exec, unknown_names, bad_arguments,
                 sets_that_only_shrink, unprivileged_raise_eperm, clear, keep_only]},
     {no_new_privs, [], [no_new_privs_option, no_new_privs_prctl]},
     {outlive, [], [outlive_survives_stop, outlive_nested_survives_stop, without_outlive_dies_with_driver]}].

init_per_group(no_new_privs, Config) ->
    Config;
init_per_group(_, Config) ->
    case alcove_ct:root() of
        true -> Config;
        false -> {skip, "needs root: changing capability sets and credentials"}
    end.

end_per_group(_, _Config) ->
    ok.

init_per_testcase(Case, Config) when Case =:= outlive_survives_stop; Case =:= outlive_nested_survives_stop;
                                     Case =:= without_outlive_dies_with_driver ->
    Config;
init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(Case, _Config) when Case =:= outlive_survives_stop; Case =:= outlive_nested_survives_stop;
                                     Case =:= without_outlive_dies_with_driver ->
    ok;
end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

%%% Capabilities

%% doc: a root child's effective set lists cap_chown, and so does the list
%% of what the kernel supports.
get_lists_root_caps(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, Effective} = alcove:caps_get(Drv, [C], effective),
    ?assert(lists:member(cap_chown, Effective)),
    ?assert(lists:member(cap_sys_admin, Effective)),
    Supported = alcove:caps_supported(Drv, [C]),
    ?assert(lists:member(cap_chown, Supported)),
    % In number order: cap_chown is capability 0.
    ?assertEqual(cap_chown, hd(Effective)),
    % Every capability of the kernel, numbered 0 up.
    {ok, LastCap} = file:read_file("/proc/sys/kernel/cap_last_cap"),
    ?assertEqual(binary_to_integer(string:trim(LastCap)) + 1, length(Supported)),
    {ok, Bounding} = alcove:caps_get(Drv, [C], bounding),
    ?assertEqual(status_mask(C, <<"CapBnd">>), mask(Supported, Bounding)),
    % Root's effective set is what /proc says it is.
    ?assertEqual(status_mask(C, <<"CapEff">>), mask(Supported, Effective)).

%% doc: after dropping cap_chown from its effective set, a root child's
%% chown of a file fails with eperm, where a sibling's succeeds.
drop_chown_then_eperm(Config) ->
    Drv = ?config(drv, Config),
    File = temp_file(Config, "chown"),
    {ok, Sibling} = alcove:fork(Drv, []),
    ok = alcove:chown(Drv, [Sibling], File, ?UID, ?GID),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:caps_drop(Drv, [C], effective, [cap_chown]),
    ?assertEqual({error, eperm}, alcove:chown(Drv, [C], File, 0, 0)),
    {ok, Effective} = alcove:caps_get(Drv, [C], effective),
    ?assertNot(lists:member(cap_chown, Effective)),
    ?assert(lists:member(cap_kill, Effective)),
    % Still permitted: raising it again works.
    ok = alcove:caps_raise(Drv, [C], effective, [cap_chown]),
    ok = alcove:chown(Drv, [C], File, 0, 0).

%% doc: dropping from permitted drops from effective too, for good.
drop_permitted_drops_effective(Config) ->
    Drv = ?config(drv, Config),
    File = temp_file(Config, "permitted"),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:caps_drop(Drv, [C], permitted, [cap_chown]),
    {ok, Permitted} = alcove:caps_get(Drv, [C], permitted),
    {ok, Effective} = alcove:caps_get(Drv, [C], effective),
    ?assertNot(lists:member(cap_chown, Permitted)),
    ?assertNot(lists:member(cap_chown, Effective)),
    ?assertEqual({error, eperm}, alcove:caps_raise(Drv, [C], effective, [cap_chown])),
    ?assertEqual({error, eperm}, alcove:chown(Drv, [C], File, ?UID, ?GID)).

%% doc: caps_set replaces a set with exactly the names given.
set_replaces(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:caps_set(Drv, [C], effective, [cap_kill, cap_chown, cap_kill]),
    ?assertEqual({ok, [cap_chown, cap_kill]}, alcove:caps_get(Drv, [C], effective)),
    ok = alcove:caps_set(Drv, [C], inheritable, [cap_net_raw]),
    ?assertEqual({ok, [cap_net_raw]}, alcove:caps_get(Drv, [C], inheritable)),
    ok = alcove:caps_set(Drv, [C], permitted, [cap_chown, cap_setpcap]),
    ?assertEqual({ok, [cap_chown, cap_setpcap]}, alcove:caps_get(Drv, [C], permitted)),
    % Effective kept only what permitted still holds.
    ?assertEqual({ok, [cap_chown]}, alcove:caps_get(Drv, [C], effective)),
    ok = alcove:caps_set(Drv, [C], effective, []),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], effective)).

%% doc: a capability dropped from the bounding set is not in the bounding
%% or effective set of a root program exec'd afterwards.
bounding_drop_reaches_exec(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:caps_drop(Drv, [C], bounding, [cap_chown, cap_mknod]),
    {ok, Bounding} = alcove:caps_get(Drv, [C], bounding),
    ?assertNot(lists:member(cap_chown, Bounding)),
    ?assertNot(lists:member(cap_mknod, Bounding)),
    ?assert(lists:member(cap_kill, Bounding)),
    Status = exec_status(Drv, C),
    Supported = alcove:caps_supported(Drv, []),
    ?assertEqual(mask(Supported, Bounding), field_mask(Status, <<"CapBnd">>)),
    Eff = field_mask(Status, <<"CapEff">>),
    ?assertEqual(0, Eff band 1),
    ?assertNotEqual(0, Eff band (1 bsl 5)).

%% doc: cap_net_bind_service raised in the ambient set of a process that
%% changed to an unprivileged uid survives exec: the program runs with it
%% effective while its uid is not 0.
ambient_survives_exec(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    become_unprivileged(Drv, C),
    ok = alcove:caps_raise(Drv, [C], inheritable, [cap_net_bind_service]),
    ok = alcove:caps_raise(Drv, [C], effective, [cap_net_bind_service]),
    ok = alcove:caps_raise(Drv, [C], ambient, [cap_net_bind_service]),
    ?assertEqual({ok, [cap_net_bind_service]}, alcove:caps_get(Drv, [C], ambient)),
    has_net_bind_service_after_exec(Drv, C),
    % The same with the recipe in alcove_caps.
    {ok, C2} = alcove:fork(Drv, []),
    become_unprivileged(Drv, C2),
    ok = alcove_caps:ambient(Drv, [C2], [cap_net_bind_service]),
    has_net_bind_service_after_exec(Drv, C2).

has_net_bind_service_after_exec(Drv, C) ->
    Status = exec_status(Drv, C),
    ?assertEqual(integer_to_binary(?UID), hd(field(Status, <<"Uid">>))),
    ?assertEqual(?CAP_NET_BIND_SERVICE_BIT, field_mask(Status, <<"CapAmb">>)),
    ?assertEqual(?CAP_NET_BIND_SERVICE_BIT, field_mask(Status, <<"CapEff">>)).

%% doc: the same steps without the ambient raise: the program has no
%% capabilities after exec.
no_ambient_no_caps_after_exec(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    become_unprivileged(Drv, C),
    ok = alcove:caps_raise(Drv, [C], inheritable, [cap_net_bind_service]),
    ok = alcove:caps_raise(Drv, [C], effective, [cap_net_bind_service]),
    Status = exec_status(Drv, C),
    ?assertEqual(integer_to_binary(?UID), hd(field(Status, <<"Uid">>))),
    ?assertEqual(0, field_mask(Status, <<"CapAmb">>)),
    ?assertEqual(0, field_mask(Status, <<"CapEff">>)).

%% doc: names that are not capabilities are reported, all of them, and
%% nothing is changed.
unknown_names(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, Before} = alcove:caps_get(Drv, [C], effective),
    Unknown = {error, {unknown_caps, [cap_bogus, 'CAP_KILL', chown]}},
    Names = [cap_chown, cap_bogus, 'CAP_KILL', chown],
    ?assertEqual(Unknown, alcove:caps_drop(Drv, [C], effective, Names)),
    ?assertEqual(Unknown, alcove:caps_set(Drv, [C], effective, Names)),
    ?assertEqual(Unknown, alcove:caps_raise(Drv, [C], effective, Names)),
    ?assertEqual({ok, Before}, alcove:caps_get(Drv, [C], effective)),
    ?assert(lists:member(cap_chown, Before)).

%% doc: a set that is not one, a list that is not one or holds a non-atom:
%% badarg; the process goes on answering.
bad_arguments(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertError(badarg, alcove:caps_get(Drv, [C], all)),
    ?assertError(badarg, alcove:caps_get(Drv, [C], "effective")),
    ?assertError(badarg, alcove:caps_clear(Drv, [C], 0)),
    ?assertError(badarg, alcove:caps_drop(Drv, [C], effective, cap_chown)),
    ?assertError(badarg, alcove:caps_drop(Drv, [C], effective, [cap_chown, 0])),
    ?assertError(badarg, alcove:caps_set(Drv, [C], effective, [<<"cap_chown">>])),
    ?assertError(badarg, alcove:caps_raise(Drv, [C], effective, lists:duplicate(257, cap_kill))),
    ok = alcove:caps_raise(Drv, [C], effective, lists:duplicate(256, cap_kill)),
    ?assertEqual(C, alcove:getpid(Drv, [C])).

%% doc: permitted and bounding never gain a capability: eperm, unchanged.
sets_that_only_shrink(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:caps_drop(Drv, [C], bounding, [cap_mknod]),
    ?assertEqual({error, eperm}, alcove:caps_raise(Drv, [C], bounding, [cap_mknod])),
    ?assertEqual({error, eperm}, alcove:caps_set(Drv, [C], bounding, [cap_mknod, cap_kill])),
    ok = alcove:caps_raise(Drv, [C], bounding, [cap_kill]),
    ok = alcove:caps_set(Drv, [C], permitted, [cap_kill, cap_chown]),
    ?assertEqual({error, eperm}, alcove:caps_raise(Drv, [C], permitted, [cap_mknod])),
    ?assertEqual({error, eperm}, alcove:caps_set(Drv, [C], permitted, [cap_mknod])),
    ?assertEqual({ok, [cap_chown, cap_kill]}, alcove:caps_get(Drv, [C], permitted)),
    % Ambient needs permitted and inheritable.
    ?assertEqual({error, eperm}, alcove:caps_raise(Drv, [C], ambient, [cap_kill])),
    ?assertEqual({error, eperm}, alcove:caps_set(Drv, [C], ambient, [cap_kill])),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], ambient)).

%% doc: an unprivileged process cannot raise what it was not permitted:
%% the kernel's eperm comes back as such.
unprivileged_raise_eperm(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:setgroups(Drv, [C], []),
    ok = alcove:setresgid(Drv, [C], ?GID, ?GID, ?GID),
    ok = alcove:setresuid(Drv, [C], ?UID, ?UID, ?UID),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], permitted)),
    ?assertEqual({error, eperm}, alcove:caps_raise(Drv, [C], effective, [cap_chown])),
    ?assertEqual({error, eperm}, alcove:caps_drop(Drv, [C], bounding, [cap_chown])).

%% doc: caps_clear empties a set; clearing permitted empties effective.
clear(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:caps_raise(Drv, [C], inheritable, [cap_kill]),
    ok = alcove:caps_clear(Drv, [C], inheritable),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], inheritable)),
    ok = alcove:caps_clear(Drv, [C], bounding),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], bounding)),
    {ok, [_ | _]} = alcove:caps_get(Drv, [C], effective),
    ok = alcove:caps_clear(Drv, [C], permitted),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], permitted)),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], effective)).

%% doc: alcove_caps:keep/3 leaves only the capabilities named, in every
%% set, and a root program exec'd afterwards has only those.
keep_only(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual({error, {unknown_caps, [cap_nope]}}, alcove_caps:keep(Drv, [C], [cap_nope])),
    ok = alcove_caps:keep(Drv, [C], [cap_net_bind_service, cap_kill]),
    Kept = [cap_kill, cap_net_bind_service],
    [?assertEqual({ok, Kept}, alcove:caps_get(Drv, [C], Set)) || Set <- [effective, permitted, bounding]],
    Status = exec_status(Drv, C),
    Supported = alcove:caps_supported(Drv, []),
    ?assertEqual(mask(Supported, Kept), field_mask(Status, <<"CapEff">>)),
    ?assertEqual(mask(Supported, Kept), field_mask(Status, <<"CapBnd">>)).

%%% no_new_privs

%% doc: setopt no_new_privs: children forked or cloned afterwards run with
%% NoNewPrivs 1 (and their own children too); one forked before does not.
no_new_privs_option(Config) ->
    Drv = ?config(drv, Config),
    ?assertEqual(0, alcove:getopt(Drv, [], no_new_privs)),
    {ok, Before} = alcove:fork(Drv, []),
    true = alcove:setopt(Drv, [], no_new_privs, 1),
    ?assertEqual(1, alcove:getopt(Drv, [], no_new_privs)),
    ?assertNot(alcove:setopt(Drv, [], no_new_privs, 2)),
    {ok, After} = alcove:fork(Drv, []),
    % Set before the child answers anything: once it has answered, it is.
    ?assertEqual(1, alcove:getopt(Drv, [After], no_new_privs)),
    {ok, Grandchild} = alcove:fork(Drv, [Before]),
    Grandchild = alcove:getpid(Drv, [Before, Grandchild]),
    ?assertEqual(<<"0">>, no_new_privs(Before)),
    ?assertEqual(<<"0">>, no_new_privs(Grandchild)),
    ?assertEqual(<<"1">>, no_new_privs(After)),
    ?assertEqual(<<"0">>, no_new_privs(alcove:getpid(Drv, []))),
    Cloned = case alcove_ct:root() of
        true ->
            {ok, Pid} = alcove:clone(Drv, [], [clone_newuts]),
            % Set before the child answers anything.
            {ok, _} = alcove:gethostname(Drv, [Pid]),
            [Pid];
        false ->
            []
    end,
    [?assertEqual(<<"1">>, no_new_privs(P)) || P <- Cloned],
    % Back to 0: the next child is an ordinary one again.
    true = alcove:setopt(Drv, [], no_new_privs, 0),
    {ok, Later} = alcove:fork(Drv, []),
    Later = alcove:getpid(Drv, [Later]),
    ?assertEqual(<<"0">>, no_new_privs(Later)),
    % The original options are untouched.
    ?assertEqual(64, alcove:getopt(Drv, [], maxchild)),
    ?assertEqual(false, alcove:getopt(Drv, [], no_such_option)).

%% doc: prctl pr_set_no_new_privs sets it in that process only.
no_new_privs_prctl(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, 0, _, _, _, _} = alcove:prctl(Drv, [C], pr_get_no_new_privs, 0, 0, 0, 0),
    {ok, 0, _, _, _, _} = alcove:prctl(Drv, [C], pr_set_no_new_privs, 1, 0, 0, 0),
    {ok, 1, _, _, _, _} = alcove:prctl(Drv, [C], pr_get_no_new_privs, 0, 0, 0, 0),
    ?assertEqual(<<"1">>, no_new_privs(C)),
    ?assertEqual(<<"0">>, no_new_privs(alcove:getpid(Drv, []))).

%%% outlive

%% doc: a child that called outlive and exec'd sleep is alive and not a
%% zombie once stop/1 has returned and the driver's cgroup is gone; its
%% sibling that did not call it is gone.
outlive_survives_stop(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Helper = alcove:getpid(Drv, []),
    Cgroups = driver_cgroups(Helper),
    {ok, Daemon} = alcove:fork(Drv, []),
    {ok, Other} = alcove:fork(Drv, []),
    ok = alcove:outlive(Drv, [Daemon]),
    % The documented recipe: stdio off the helper's pipes, which close
    % with it (open takes the lowest free fd).
    [{ok, FD} = begin ok = alcove:close(Drv, [Daemon], FD),
                      alcove:open(Drv, [Daemon], "/dev/null", [o_rdwr], 0) end || FD <- [0, 1, 2]],
    ok = alcove:execvp(Drv, [Daemon], "sleep", ["sleep", "600"]),
    ok = alcove:execvp(Drv, [Other], "sleep", ["sleep", "600"]),
    try
        ok = alcove_ct:wait_until(fun() -> cmdline(Daemon) =:= <<"sleep">> end),
        ok = alcove_ct:wait_until(fun() -> cmdline(Other) =:= <<"sleep">> end),
        ?assertEqual(nomatch, string:find(own_cgroup(Daemon), "/alcove.")),
        ok = alcove_drv:stop(Drv),
        torn_down(Helper, Cgroups),
        ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(Other) end),
        ?assertNot(alcove_ct:ended(Daemon)),
        ?assertNotEqual(<<"Z">>, alcove_ct:proc_state(Daemon)),
        ?assertEqual(<<"sleep">>, cmdline(Daemon)),
        ?assertEqual({ok, "/dev/null"}, file:read_link("/proc/" ++ integer_to_list(Daemon) ++ "/fd/1")),
        % Its parent is gone: it was reparented.
        ?assertNotEqual(Helper, ppid(Daemon))
    after
        _ = os:cmd("kill -9 " ++ integer_to_list(Daemon)),
        catch alcove_drv:stop(Drv)
    end,
    ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(Daemon) end).

%% doc: the same two levels down: the helper in between ends at stop/1,
%% the root helper adopts the process that called outlive and spares it
%% too; the sibling that did not call it is gone.
outlive_nested_survives_stop(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Helper = alcove:getpid(Drv, []),
    Cgroups = driver_cgroups(Helper),
    {ok, Middle} = alcove:fork(Drv, []),
    {ok, Daemon} = alcove:fork(Drv, [Middle]),
    {ok, Other} = alcove:fork(Drv, [Middle]),
    ok = alcove:outlive(Drv, [Middle, Daemon]),
    ok = alcove:execvp(Drv, [Middle, Daemon], "sleep", ["sleep", "600"]),
    ok = alcove:execvp(Drv, [Middle, Other], "sleep", ["sleep", "600"]),
    try
        ok = alcove_ct:wait_until(fun() -> cmdline(Daemon) =:= <<"sleep">> end),
        ok = alcove_ct:wait_until(fun() -> cmdline(Other) =:= <<"sleep">> end),
        ok = alcove_drv:stop(Drv),
        torn_down(Helper, Cgroups),
        ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(Middle) end),
        ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(Other) end),
        ?assertNot(alcove_ct:ended(Daemon)),
        ?assertEqual(<<"sleep">>, cmdline(Daemon))
    after
        _ = os:cmd("kill -9 " ++ integer_to_list(Daemon)),
        catch alcove_drv:stop(Drv)
    end,
    ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(Daemon) end).

%% doc: the converse: without outlive an exec'd sleep is gone after stop/1.
without_outlive_dies_with_driver(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Helper = alcove:getpid(Drv, []),
    Cgroups = driver_cgroups(Helper),
    {ok, C} = alcove:fork(Drv, []),
    % Its own session: what ends it is the teardown, not a group signal.
    {ok, _} = alcove:setsid(Drv, [C]),
    ok = alcove:execvp(Drv, [C], "sleep", ["sleep", "600"]),
    ok = alcove_ct:wait_until(fun() -> cmdline(C) =:= <<"sleep">> end),
    ok = alcove_drv:stop(Drv),
    torn_down(Helper, Cgroups),
    Ended = alcove_ct:wait_until(fun() -> alcove_ct:ended(C) end),
    _ = os:cmd("kill -9 " ++ integer_to_list(C)),
    ?assertEqual(ok, Ended).

%%% Helpers

temp_file(Config, Name) ->
    File = filename:join(?config(priv_dir, Config), Name),
    ok = file:write_file(File, <<>>),
    File.

%% keepcaps, then every id to an unprivileged one: the permitted set stays.
become_unprivileged(Drv, C) ->
    {ok, 0, _, _, _, _} = alcove:prctl(Drv, [C], pr_set_keepcaps, 1, 0, 0, 0),
    ok = alcove:setgroups(Drv, [C], []),
    ok = alcove:setresgid(Drv, [C], ?GID, ?GID, ?GID),
    ok = alcove:setresuid(Drv, [C], ?UID, ?UID, ?UID),
    {ok, Permitted} = alcove:caps_get(Drv, [C], permitted),
    ?assert(lists:member(cap_net_bind_service, Permitted)),
    ?assertEqual({ok, []}, alcove:caps_get(Drv, [C], effective)).

%% Exec cat of its own /proc status; the lines as {Name, Fields}.
exec_status(Drv, C) ->
    ok = alcove:execvp(Drv, [C], "cat", ["cat", "/proc/self/status"]),
    {Out, {exit_status, 0}} = alcove_ct:read_until_exit(Drv, [C]),
    [list_to_tuple(binary:split(L, <<":">>)) || L <- binary:split(Out, <<"\n">>, [global]), L =/= <<>>].

field(Status, Name) ->
    {Name, Value} = lists:keyfind(Name, 1, Status),
    string:lexemes(Value, " \t").

field_mask(Status, Name) ->
    [Hex] = field(Status, Name),
    binary_to_integer(Hex, 16).

status_mask(OSPid, Name) ->
    {ok, Text} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/status"),
    Status = [list_to_tuple(binary:split(L, <<":">>)) || L <- binary:split(Text, <<"\n">>, [global]), L =/= <<>>],
    field_mask(Status, Name).

%% The bit mask of some capability names, numbered by their place in the
%% (number-ordered, complete from 0) list of supported ones.
mask(Supported, Names) ->
    lists:foldl(
        fun(Name, Acc) ->
            {Bit, _} = lists:keyfind(Name, 2, lists:zip(lists:seq(0, length(Supported) - 1), Supported)),
            Acc bor (1 bsl Bit)
        end, 0, Names).

no_new_privs(OSPid) ->
    {ok, Text} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/status"),
    {match, [Value]} = re:run(Text, "NoNewPrivs:\\s*(\\d)", [{capture, all_but_first, binary}]),
    Value.

cmdline(OSPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/cmdline") of
        {ok, Cmdline} -> hd(binary:split(Cmdline, <<0>>));
        {error, _} -> gone
    end.

ppid(OSPid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/stat"),
    [_, Rest] = binary:split(Stat, <<") ">>),
    [_State, Ppid | _] = binary:split(Rest, <<" ">>, [global]),
    binary_to_integer(Ppid).

own_cgroup(OSPid) ->
    {ok, Text} = file:read_file("/proc/" ++ integer_to_list(OSPid) ++ "/cgroup"),
    {match, [Path]} = re:run(Text, "^0::(.*)$", [multiline, {capture, all_but_first, list}]),
    Path.

%% The root helper has exited, and the guardian has removed the driver's
%% cgroup if there was one (it kills what is in it first).
torn_down(Helper, Cgroups) ->
    ok = alcove_ct:wait_until(fun() -> alcove_ct:ended(Helper) end),
    ok = alcove_ct:wait_until(fun() -> not lists:any(fun filelib:is_dir/1, Cgroups) end).

%% Where the driver's cgroup directory is, if it has one (v2 mounted on
%% its own or as the unified tree of a hybrid layout).
driver_cgroups(Helper) ->
    Path = own_cgroup(Helper),
    [Dir || Mount <- ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"],
            Dir <- [Mount ++ Path], filelib:is_dir(Dir)].
