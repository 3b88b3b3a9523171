%%% Common Test suite: credentials, sessions, resource limits and priority
%%% (sys/ids.rs and sys/limits.rs). Every case works in a freshly forked
%%% child, so what it changes dies with that child.
-module(alcove_ids_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include("alcove.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    getuid/1, getgid/1, getgroups/1, setgroups/1, getresuid/1, getresgid/1,
    setresuid/1, setresgid/1, setuid/1, setgid/1, getpgrp/1, getsid/1,
    setsid/1, setpgid/1
]).
-export([getrlimit/1, setrlimit/1, getpriority/1, setpriority/1]).

-define(NOBODY, 65534).
-define(RLIM_INFINITY, 18446744073709551615).
%% No pid can be this large (pid_max is at most 2^22).
-define(NO_SUCH_PID, 999999999).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, ids}, {group, limits}].

groups() ->
    [
        {ids, [], [
            getuid, getgid, getgroups, setgroups, getresuid, getresgid,
            setresuid, setresgid, setuid, setgid, getpgrp, getsid, setsid, setpgid
        ]},
        {limits, [], [getrlimit, setrlimit, getpriority, setpriority]}
    ].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

%%% helpers

drv(Config) -> ?config(drv, Config).


%% A fresh child of the root helper for one case.
child(Drv) ->
    {ok, Child} = alcove:fork(Drv, []),
    Child.

%% The integers of a line of /proc/PID/status ("Uid:", "Groups:", ...).
proc_status(OsPid, Key) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/status"),
    [Line] = [L || L <- binary:split(Status, <<"\n">>, [global]), binary:match(L, Key) =:= {0, byte_size(Key)}],
    [binary_to_integer(F) || F <- tl(string:lexemes(Line, " \t"))].

%% Fields of /proc/PID/stat after the command name (field 3 onwards).
proc_stat(OsPid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/stat"),
    [_, Rest] = binary:split(Stat, <<") ">>),
    string:lexemes(Rest, " \n").

%% {Soft, Hard} of a /proc/PID/limits line, "unlimited" as RLIM_INFINITY.
proc_limit(OsPid, Name) ->
    {ok, Limits} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/limits"),
    [Line] = [L || L <- binary:split(Limits, <<"\n">>, [global]), binary:match(L, Name) =:= {0, byte_size(Name)}],
    [Soft, Hard | _] = string:lexemes(binary:part(Line, 26, byte_size(Line) - 26), " "),
    {limit_value(Soft), limit_value(Hard)}.

limit_value(<<"unlimited">>) -> ?RLIM_INFINITY;
limit_value(N) -> binary_to_integer(N).

%% Deny Call in Child (its own filter, not its children's).
deny(Drv, Child, Call) ->
    ok = alcove:filter(Drv, [Child], alcove:filter([Call]), <<>>).

%%% ids

%% doc: getuid(2) is the helper's real uid; a denied getuid raises undef.
getuid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    [Real | _] = proc_status(C, <<"Uid:">>),
    ?assertEqual(Real, alcove:getuid(Drv, [C])),
    ?assertEqual(list_to_integer(string:trim(os:cmd("id -u"))), alcove:getuid(Drv, [C])),
    deny(Drv, C, getuid),
    ?assertError(undef, alcove:getuid(Drv, [C])).

%% doc: getgid(2) is the helper's real gid; a denied getgid raises undef.
getgid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    [Real | _] = proc_status(C, <<"Gid:">>),
    ?assertEqual(Real, alcove:getgid(Drv, [C])),
    deny(Drv, C, getgid),
    ?assertError(undef, alcove:getgid(Drv, [C])).

%% doc: getgroups(2) lists what /proc says; a denied getgroups raises undef.
getgroups(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    {ok, Groups} = alcove:getgroups(Drv, [C]),
    ?assertEqual(proc_status(C, <<"Groups:">>), Groups),
    deny(Drv, C, getgroups),
    ?assertError(undef, alcove:getgroups(Drv, [C])).

%% doc: setgroups(2) replaces the list; a bad gid is badarg; EPERM unprivileged.
setgroups(Config) ->
    case alcove_ct:root() of
        false ->
            Drv = drv(Config),
            C = child(Drv),
            ?assertEqual({error, eperm}, alcove:setgroups(Drv, [C], [1])),
            {skip, "setgroups success path needs root (CAP_SETGID)"};
        true ->
            Drv = drv(Config),
            C = child(Drv),
            ?assertEqual(ok, alcove:setgroups(Drv, [C], [10, 20, 30])),
            ?assertEqual({ok, [10, 20, 30]}, alcove:getgroups(Drv, [C])),
            ?assertEqual([10, 20, 30], proc_status(C, <<"Groups:">>)),
            ?assertEqual(ok, alcove:setgroups(Drv, [C], [])),
            ?assertEqual({ok, []}, alcove:getgroups(Drv, [C])),
            ?assertError(badarg, alcove:setgroups(Drv, [C], [-1])),
            ?assertError(badarg, alcove:setgroups(Drv, [C], [1 bsl 32])),
            ?assertError(badarg, alcove:setgroups(Drv, [C], not_a_list)),
            ok = alcove:setuid(Drv, [C], ?NOBODY),
            ?assertEqual({error, eperm}, alcove:setgroups(Drv, [C], [1]))
    end.

%% doc: getresuid(2) matches /proc; a denied getresuid raises undef.
getresuid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    [R, E, S, _Fs] = proc_status(C, <<"Uid:">>),
    ?assertEqual({ok, R, E, S}, alcove:getresuid(Drv, [C])),
    deny(Drv, C, getresuid),
    ?assertError(undef, alcove:getresuid(Drv, [C])).

%% doc: getresgid(2) matches /proc; a denied getresgid raises undef.
getresgid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    [R, E, S, _Fs] = proc_status(C, <<"Gid:">>),
    ?assertEqual({ok, R, E, S}, alcove:getresgid(Drv, [C])),
    deny(Drv, C, getresgid),
    ?assertError(undef, alcove:getresgid(Drv, [C])).

%% doc: setresuid(2) to nobody, -1 leaves an id alone, no way back (EPERM).
setresuid(Config) ->
    case alcove_ct:root() of
        false ->
            {skip, "setresuid to another user needs root (CAP_SETUID)"};
        true ->
            Drv = drv(Config),
            C = child(Drv),
            ?assertEqual(ok, alcove:setresuid(Drv, [C], -1, ?NOBODY, -1)),
            ?assertEqual({ok, 0, ?NOBODY, 0}, alcove:getresuid(Drv, [C])),
            ?assertEqual(ok, alcove:setresuid(Drv, [C], ?NOBODY, ?NOBODY, ?NOBODY)),
            ?assertEqual({ok, ?NOBODY, ?NOBODY, ?NOBODY}, alcove:getresuid(Drv, [C])),
            ?assertEqual([?NOBODY, ?NOBODY, ?NOBODY, ?NOBODY], proc_status(C, <<"Uid:">>)),
            ?assertEqual({error, eperm}, alcove:setresuid(Drv, [C], 0, 0, 0)),
            ?assertError(badarg, alcove:setresuid(Drv, [C], -2, 0, 0)),
            ?assertError(badarg, alcove:setresuid(Drv, [C], 1 bsl 32, 0, 0)),
            % The helper still answers as nobody.
            ?assertEqual(C, alcove:getpid(Drv, [C]))
    end.

%% doc: setresgid(2) to nobody; after dropping the uid, no way back (EPERM).
setresgid(Config) ->
    case alcove_ct:root() of
        false ->
            {skip, "setresgid to another group needs root (CAP_SETGID)"};
        true ->
            Drv = drv(Config),
            C = child(Drv),
            ?assertEqual(ok, alcove:setresgid(Drv, [C], ?NOBODY, ?NOBODY, ?NOBODY)),
            ?assertEqual({ok, ?NOBODY, ?NOBODY, ?NOBODY}, alcove:getresgid(Drv, [C])),
            ?assertEqual(?NOBODY, alcove:getgid(Drv, [C])),
            ok = alcove:setresuid(Drv, [C], ?NOBODY, ?NOBODY, ?NOBODY),
            ?assertEqual({error, eperm}, alcove:setresgid(Drv, [C], 0, 0, 0)),
            ?assertError(badarg, alcove:setresgid(Drv, [C], 0, <<"0">>, 0))
    end.

%% doc: setuid(2) as root sets all three uids; then setuid(0) is EPERM.
setuid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    case alcove_ct:root() of
        false ->
            ?assertEqual({error, eperm}, alcove:setuid(Drv, [C], 0)),
            {skip, "setuid to another user needs root (CAP_SETUID)"};
        true ->
            ?assertEqual(ok, alcove:setuid(Drv, [C], ?NOBODY)),
            ?assertEqual(?NOBODY, alcove:getuid(Drv, [C])),
            ?assertEqual({ok, ?NOBODY, ?NOBODY, ?NOBODY}, alcove:getresuid(Drv, [C])),
            ?assertEqual({error, eperm}, alcove:setuid(Drv, [C], 0)),
            ?assertError(badarg, alcove:setuid(Drv, [C], -1))
    end.

%% doc: setgid(2) as root; unprivileged, setgid(0) is EPERM.
setgid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    case alcove_ct:root() of
        false ->
            ?assertEqual({error, eperm}, alcove:setgid(Drv, [C], 0)),
            {skip, "setgid to another group needs root (CAP_SETGID)"};
        true ->
            ?assertEqual(ok, alcove:setgid(Drv, [C], ?NOBODY)),
            ?assertEqual(?NOBODY, alcove:getgid(Drv, [C])),
            ok = alcove:setuid(Drv, [C], ?NOBODY),
            ?assertEqual({error, eperm}, alcove:setgid(Drv, [C], 0)),
            ?assertError(badarg, alcove:setgid(Drv, [C], 1 bsl 32))
    end.

%% doc: getpgrp(2): inherited from the parent, then the child's own.
getpgrp(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    Root = alcove:getpgrp(Drv, []),
    ?assertEqual(Root, alcove:getpgrp(Drv, [C])),
    ?assertEqual(integer_to_binary(Root), lists:nth(3, proc_stat(C))),
    ok = alcove:setpgid(Drv, [C], 0, 0),
    ?assertEqual(C, alcove:getpgrp(Drv, [C])),
    deny(Drv, C, getpgrp),
    ?assertError(undef, alcove:getpgrp(Drv, [C])).

%% doc: getsid(2) of self and of another process; ESRCH for no process.
getsid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    {ok, Sid} = alcove:getsid(Drv, [C], 0),
    ?assertEqual(integer_to_binary(Sid), lists:nth(4, proc_stat(C))),
    ?assertEqual({ok, Sid}, alcove:getsid(Drv, [], C)),
    ?assertEqual({error, esrch}, alcove:getsid(Drv, [C], ?NO_SUCH_PID)),
    ?assertError(badarg, alcove:getsid(Drv, [C], 1 bsl 40)).

%% doc: setsid(2) makes the child a session and group leader; twice is EPERM.
setsid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    ?assertEqual({ok, C}, alcove:setsid(Drv, [C])),
    ?assertEqual({ok, C}, alcove:getsid(Drv, [C], 0)),
    ?assertEqual(C, alcove:getpgrp(Drv, [C])),
    ?assertEqual({error, eperm}, alcove:setsid(Drv, [C])),
    % Its children start in its session.
    {ok, G} = alcove:fork(Drv, [C]),
    ?assertEqual({ok, C}, alcove:getsid(Drv, [C, G], 0)).

%% doc: setpgid(2) for self and for a child; ESRCH and EINVAL.
setpgid(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    ?assertEqual(ok, alcove:setpgid(Drv, [C], 0, 0)),
    ?assertEqual(C, alcove:getpgrp(Drv, [C])),
    {ok, G} = alcove:fork(Drv, [C]),
    ?assertEqual(C, alcove:getpgrp(Drv, [C, G])),
    ?assertEqual(ok, alcove:setpgid(Drv, [C], G, G)),
    ?assertEqual(G, alcove:getpgrp(Drv, [C, G])),
    ?assertEqual({error, esrch}, alcove:setpgid(Drv, [C], ?NO_SUCH_PID, 0)),
    ?assertEqual({error, einval}, alcove:setpgid(Drv, [C], 0, -1)),
    ?assertError(badarg, alcove:setpgid(Drv, [C], 0, self())).

%%% limits

%% doc: getrlimit(2) as a record, infinity as 2^64-1; unknown resources.
getrlimit(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    {Soft, Hard} = proc_limit(C, <<"Max open files">>),
    ?assertEqual({ok, #alcove_rlimit{cur = Soft, max = Hard}}, alcove:getrlimit(Drv, [C], rlimit_nofile)),
    {AsSoft, AsHard} = proc_limit(C, <<"Max address space">>),
    ?assertEqual({ok, #alcove_rlimit{cur = AsSoft, max = AsHard}}, alcove:getrlimit(Drv, [C], rlimit_as)),
    [
        ?assertMatch({ok, #alcove_rlimit{}}, alcove:getrlimit(Drv, [C], R))
     || R <- [rlimit_core, rlimit_cpu, rlimit_data, rlimit_fsize, rlimit_locks, rlimit_memlock,
              rlimit_msgqueue, rlimit_nice, rlimit_nproc, rlimit_rss, rlimit_rtprio, rlimit_rttime,
              rlimit_sigpending, rlimit_stack]
    ],
    % An integer resource works too (RLIMIT_NOFILE is 7 on Linux).
    ?assertEqual(alcove:getrlimit(Drv, [C], rlimit_nofile), alcove:getrlimit(Drv, [C], 7)),
    ?assertEqual({error, enotsup}, alcove:getrlimit(Drv, [C], rlimit_nonexistent)),
    ?assertEqual({error, einval}, alcove:getrlimit(Drv, [C], 9999)),
    ?assertError(badarg, alcove:getrlimit(Drv, [C], "rlimit_nofile")).

%% doc: setrlimit(2) lowers RLIMIT_NOFILE; EINVAL, EPERM, badarg records.
setrlimit(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    Limit = #alcove_rlimit{cur = 64, max = 128},
    ?assertEqual(ok, alcove:setrlimit(Drv, [C], rlimit_nofile, Limit)),
    ?assertEqual({ok, Limit}, alcove:getrlimit(Drv, [C], rlimit_nofile)),
    ?assertEqual({64, 128}, proc_limit(C, <<"Max open files">>)),
    % Cur above max.
    ?assertEqual({error, einval}, alcove:setrlimit(Drv, [C], rlimit_nofile, #alcove_rlimit{cur = 100, max = 90})),
    % Above fs.nr_open: refused even to root.
    {ok, NrOpen} = file:read_file("/proc/sys/fs/nr_open"),
    TooMany = binary_to_integer(string:trim(NrOpen)) + 1,
    ?assertEqual({error, eperm}, alcove:setrlimit(Drv, [C], rlimit_nofile, #alcove_rlimit{cur = 64, max = TooMany})),
    % Infinity travels both ways (RLIMIT_CORE's hard limit may be infinite).
    {ok, #alcove_rlimit{max = CoreMax}} = alcove:getrlimit(Drv, [C], rlimit_core),
    ?assertEqual(ok, alcove:setrlimit(Drv, [C], rlimit_core, #alcove_rlimit{cur = 0, max = CoreMax})),
    ?assertEqual({ok, #alcove_rlimit{cur = 0, max = CoreMax}}, alcove:getrlimit(Drv, [C], rlimit_core)),
    case alcove_ct:root() of
        true ->
            Inf = #alcove_rlimit{cur = ?RLIM_INFINITY, max = ?RLIM_INFINITY},
            ?assertEqual(ok, alcove:setrlimit(Drv, [C], rlimit_core, Inf)),
            ?assertEqual({ok, Inf}, alcove:getrlimit(Drv, [C], rlimit_core));
        false ->
            ok
    end,
    ?assertEqual({error, enotsup}, alcove:setrlimit(Drv, [C], rlimit_nonexistent, Limit)),
    ?assertError(badarg, alcove:setrlimit(Drv, [C], rlimit_nofile, {alcove_rlimit, 1})),
    ?assertError(badarg, alcove:setrlimit(Drv, [C], rlimit_nofile, {not_rlimit, 1, 2})),
    ?assertError(badarg, alcove:setrlimit(Drv, [C], rlimit_nofile, {alcove_rlimit, -1, 2})),
    ?assertError(badarg, alcove:setrlimit(Drv, [C], rlimit_nofile, {alcove_rlimit, 1, 1 bsl 64})),
    ?assertError(badarg, alcove:setrlimit(Drv, [C], rlimit_nofile, [64, 128])),
    % The parent's limit did not move.
    ?assertNotEqual({ok, Limit}, alcove:getrlimit(Drv, [], rlimit_nofile)).

%% doc: getpriority(2) is the nice value of /proc; ESRCH, EINVAL, ENOTSUP.
getpriority(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    {ok, Nice} = alcove:getpriority(Drv, [C], prio_process, 0),
    ?assertEqual(integer_to_binary(Nice), lists:nth(17, proc_stat(C))),
    ?assertEqual({ok, Nice}, alcove:getpriority(Drv, [], prio_process, C)),
    ?assertMatch({ok, _}, alcove:getpriority(Drv, [C], prio_pgrp, 0)),
    ?assertMatch({ok, _}, alcove:getpriority(Drv, [C], prio_user, 0)),
    ?assertEqual({error, esrch}, alcove:getpriority(Drv, [C], prio_process, ?NO_SUCH_PID)),
    ?assertEqual({error, einval}, alcove:getpriority(Drv, [C], 99, 0)),
    ?assertEqual({error, enotsup}, alcove:getpriority(Drv, [C], prio_nonexistent, 0)),
    ?assertError(badarg, alcove:getpriority(Drv, [C], prio_process, 1 bsl 32)).

%% doc: setpriority(2) raises the nice value, -1 included (not an error);
%% lowering it again unprivileged is EACCES.
setpriority(Config) ->
    Drv = drv(Config),
    C = child(Drv),
    ?assertEqual(ok, alcove:setpriority(Drv, [C], prio_process, 0, 10)),
    ?assertEqual({ok, 10}, alcove:getpriority(Drv, [C], prio_process, 0)),
    ?assertEqual({ok, 10}, alcove:getpriority(Drv, [], prio_process, C)),
    ?assertEqual({error, esrch}, alcove:setpriority(Drv, [C], prio_process, ?NO_SUCH_PID, 1)),
    ?assertEqual({error, enotsup}, alcove:setpriority(Drv, [C], prio_nonexistent, 0, 1)),
    % Without privilege (and with RLIMIT_NICE at 0) the nice value only goes up.
    ok = alcove:setrlimit(Drv, [C], rlimit_nice, #alcove_rlimit{cur = 0, max = 0}),
    case alcove_ct:root() of
        true -> ok = alcove:setresuid(Drv, [C], ?NOBODY, ?NOBODY, ?NOBODY);
        false -> ok
    end,
    ?assertEqual({error, eacces}, alcove:setpriority(Drv, [C], prio_process, 0, 5)),
    ?assertEqual({ok, 10}, alcove:getpriority(Drv, [C], prio_process, 0)),
    % A nice value of -1 is a value, not a failure, for getpriority.
    {ok, G} = alcove:fork(Drv, []),
    case alcove_ct:root() of
        true ->
            ?assertEqual(ok, alcove:setpriority(Drv, [G], prio_process, 0, -1)),
            ?assertEqual({ok, -1}, alcove:getpriority(Drv, [G], prio_process, 0));
        false ->
            ok
    end.
