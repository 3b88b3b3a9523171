%%% Common Test suite: what errors say. A bad argument names the call and
%%% the argument (extended error information, printed as the shell prints
%%% it), calls on a driver that is gone raise closed, unknown constants
%%% keep the original's {error, enotsup}, calls of another OS raise undef
%%% naming that OS, and start failures name their cause.
-module(alcove_errors_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
%% Each case Name/1 has a Name/0 with its doc line.
-export([
    badarg_names_call_and_argument/0, badarg_names_call_and_argument/1,
    badarg_with_timeout/0, badarg_with_timeout/1,
    badarg_out_of_range/0, badarg_out_of_range/1,
    badarg_helper_refused/0, badarg_helper_refused/1,
    badarg_not_a_driver/0, badarg_not_a_driver/1,
    badpid_names_pipeline/0, badpid_names_pipeline/1,
    closed_after_stop/0, closed_after_stop/1,
    closed_after_owner_died/0, closed_after_owner_died/1,
    closed_unregistered_name/0, closed_unregistered_name/1,
    registered_name/0, registered_name/1,
    unknown_constants/0, unknown_constants/1,
    other_os_call/0, other_os_call/1,
    start_missing_helper/0, start_missing_helper/1,
    start_helper_not_executable/0, start_helper_not_executable/1,
    start_missing_prefix/0, start_missing_prefix/1,
    start_prefix_fails/0, start_prefix_fails/1,
    start_bad_options/0, start_bad_options/1,
    start_known_options/0, start_known_options/1
]).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [
        badarg_names_call_and_argument, badarg_with_timeout, badarg_out_of_range,
        badarg_helper_refused, badarg_not_a_driver, badpid_names_pipeline, closed_after_stop,
        closed_after_owner_died, closed_unregistered_name, registered_name, unknown_constants,
        other_os_call, start_missing_helper, start_helper_not_executable, start_missing_prefix,
        start_prefix_fails, start_bad_options, start_known_options
    ].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

drv(Config) -> ?config(drv, Config).

%% Run Fun; the text the shell prints for what it raises, with its class,
%% reason and top stack frame.
raised(Fun) ->
    try Fun() of
        Value -> ct:fail({returned, Value})
    catch
        Class:Reason:Stack ->
            Text = unicode:characters_to_list(erl_error:format_exception(Class, Reason, Stack)),
            ct:log("~ts", [Text]),
            {Class, Reason, hd(Stack), Text}
    end.

contains(Text, Part) ->
    case string:find(Text, Part) of
        nomatch -> ct:fail({not_in, Part, Text});
        _ -> ok
    end.

badarg_names_call_and_argument() ->
    [{doc, "chdir with an integer path: badarg from alcove:chdir/3 with its arguments, argument 3 named."}].
badarg_names_call_and_argument(Config) ->
    Drv = drv(Config),
    {Class, Reason, Top, Text} = raised(fun() -> alcove:chdir(Drv, [], 123) end),
    ?assertEqual({error, badarg}, {Class, Reason}),
    ?assertMatch({alcove, chdir, [Drv, [], 123], _}, Top),
    contains(Text, "alcove:chdir/3"),
    contains(Text, "*** argument 3: Path of alcove:chdir/3 must be iodata"),
    % Only the wrong argument is named.
    ?assertEqual(nomatch, string:find(Text, "argument 1")),
    ?assertEqual(nomatch, string:find(Text, "alcove_drv")).

badarg_with_timeout() ->
    [{doc, "With a timeout the frame is the /4 call, and its timeout is shown."}].
badarg_with_timeout(Config) ->
    Drv = drv(Config),
    {error, badarg, Top, Text} = raised(fun() -> alcove:chdir(Drv, [], {no, path}, 5000) end),
    ?assertMatch({alcove, chdir, [Drv, [], {no, path}, 5000], _}, Top),
    contains(Text, "alcove:chdir/4"),
    contains(Text, "argument 3: Path of alcove:chdir/4 must be iodata").

badarg_out_of_range() ->
    [{doc, "An integer out of its type's range is named with the range."}].
badarg_out_of_range(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    {error, badarg, _, Text} = raised(fun() -> alcove:setuid(Drv, [C], -1) end),
    contains(Text, "alcove:setuid/3"),
    contains(Text, "argument 3: User of alcove:setuid/3 must be an integer in 0..4294967295"),
    {error, badarg, _, Text2} = raised(fun() -> alcove:kill(Drv, [], C, "sigterm") end),
    contains(Text2, "argument 4: Signal of alcove:kill/4 must be a constant"),
    {error, badarg, _, Text3} = raised(fun() -> alcove:getpid(Drv, [foo]) end),
    contains(Text3, "argument 2: Pipeline must be a list of OS pids").

badarg_helper_refused() ->
    [{doc, "Arguments of the declared types that the helper refuses: the call is named, in general terms."}].
badarg_helper_refused(Config) ->
    Drv = drv(Config),
    % execvp takes a list of iodata as argv: a list of atoms is iodata of no one.
    {error, badarg, Top, Text} = raised(fun() -> alcove:execvp(Drv, [], "true", [true]) end),
    ?assertMatch({alcove, execvp, [Drv, [], "true", [true]], _}, Top),
    contains(Text, "argument 4: Argv of alcove:execvp/4 must be a list of strings or binaries"),
    % A value of the declared type that the helper cannot take (a buffer of 1 TiB).
    {error, badarg, _, Text2} = raised(fun() -> alcove:alloc(Drv, [], [{ptr, 1 bsl 40}]) end),
    contains(Text2, "*** alcove:alloc/3: the helper refused an argument of the declared type"),
    % A C string with a NUL byte in it.
    {error, badarg, _, Text3} = raised(fun() -> alcove:chdir(Drv, [], <<"/tmp", 0>>) end),
    contains(Text3, "argument 3: Path of alcove:chdir/3 must not contain a NUL byte").

badarg_not_a_driver() ->
    [{doc, "A pid that is no driver is argument 1."}].
badarg_not_a_driver(_Config) ->
    {error, badarg, _, Text} = raised(fun() -> alcove:getcwd(self(), []) end),
    contains(Text, "alcove:getcwd/2"),
    contains(Text, "argument 1: Drv is not an alcove driver").

badpid_names_pipeline() ->
    [{doc, "A pipeline naming no process raises badpid from the call, the pipeline named."}].
badpid_names_pipeline(Config) ->
    Drv = drv(Config),
    {error, badpid, Top, Text} = raised(fun() -> alcove:getpid(Drv, [99999999]) end),
    ?assertMatch({alcove, getpid, [Drv, [99999999]], _}, Top),
    contains(Text, "argument 2: no process at [99999999] for alcove:getpid/2").

closed_after_stop() ->
    [{doc, "Calls on a stopped driver raise closed, with an explanation."}].
closed_after_stop(_Config) ->
    {ok, Drv} = alcove_drv:start(),
    ok = alcove_drv:stop(Drv),
    {error, closed, Top, Text} = raised(fun() -> alcove:getpid(Drv, []) end),
    ?assertMatch({alcove, getpid, [Drv, []], _}, Top),
    contains(Text, "argument 1: the driver of alcove:getpid/2 is stopped").

closed_after_owner_died() ->
    [{doc, "A linked driver that died with its owner (a shell after an exception): closed, not badarg."}].
closed_after_owner_died(_Config) ->
    Self = self(),
    Owner = spawn(fun() ->
        {ok, D} = alcove_drv:start_link(),
        Self ! {drv, D},
        % Dies as a shell does on an exception: the driver goes with it.
        alcove:chdir(D, [], 123)
    end),
    Drv = receive {drv, D} -> D after 10000 -> ct:fail(no_driver) end,
    Ref = monitor(process, Drv),
    receive {'DOWN', Ref, process, Drv, _} -> ok after 10000 -> ct:fail(driver_lives) end,
    false = is_process_alive(Owner),
    {error, closed, _, Text} = raised(fun() -> alcove:getpid(Drv, []) end),
    contains(Text, "alcove:getpid/2"),
    ?assertError(closed, alcove:stdin(Drv, [], <<"x">>)).

closed_unregistered_name() ->
    [{doc, "A name no driver is registered under: closed, as a driver gone."}].
closed_unregistered_name(_Config) ->
    {error, closed, Top, _} = raised(fun() -> alcove:getpid(alcove_errors_no_such_name, []) end),
    ?assertMatch({alcove, getpid, [alcove_errors_no_such_name, []], _}, Top),
    ?assertError(closed, alcove:stdin(alcove_errors_no_such_name, [], <<"x">>)).

registered_name() ->
    [{doc, "A driver registered under a name can be called by that name."}].
registered_name(Config) ->
    Drv = drv(Config),
    true = register(alcove_errors_drv, Drv),
    try
        ?assertEqual(alcove:getpid(Drv, []), alcove:getpid(alcove_errors_drv, [])),
        {ok, C} = alcove:fork(alcove_errors_drv, []),
        ok = alcove:execvp(Drv, [C], "cat", ["cat"]),
        ok = alcove:stdin(alcove_errors_drv, [C], <<"by name\n">>),
        ?assertEqual(<<"by name\n">>, alcove_ct:read_stdout(Drv, [C], 8)),
        {error, badarg, _, Text} = raised(fun() -> alcove:chdir(alcove_errors_drv, [], 1) end),
        contains(Text, "argument 3: Path")
    after
        unregister(alcove_errors_drv)
    end.

unknown_constants() ->
    [{doc, "Unknown constant atoms keep the original's answers: {error, enotsup}, or unknown from *_constant."}].
unknown_constants(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual({error, enotsup}, alcove:kill(Drv, [], C, sigbogus)),
    ?assertEqual({error, enotsup}, alcove:clone(Drv, [], [clone_bogus])),
    ?assertEqual(unknown, alcove:signal_constant(Drv, [], sigbogus)),
    ?assertEqual(unknown, alcove:clone_constant(Drv, [], clone_bogus)),
    % And the docs say so.
    Source = filename:join([code:lib_dir(alcove), "src", "alcove.erl"]),
    {ok, Bin} = file:read_file(Source),
    ?assertNotEqual(nomatch, binary:match(Bin, <<"%% @doc kill(2): Send a signal to a process. An unknown constant atom returns {error, enotsup}">>)).

other_os_call() ->
    [{doc, "A call of another OS raises undef (as the original did) from the call, naming the OS in its error information."}].
other_os_call(Config) ->
    Drv = drv(Config),
    {error, undef, Top, _} = raised(fun() -> alcove:pledge(Drv, [], "stdio", "") end),
    ?assertMatch({alcove, pledge, [Drv, [], "stdio", ""], _}, Top),
    % erl_error prints no error information for undef: format_error has it.
    ?assertEqual(#{general => <<"alcove:pledge/4 is not available on Linux (OpenBSD only)">>},
                 alcove_drv:format_error(undef, [Top])),
    {error, undef, Top2, _} = raised(fun() -> alcove:jail_attach(Drv, [], 1, 1000) end),
    ?assertEqual(#{general => <<"alcove:jail_attach/4 is not available on Linux (FreeBSD only)">>},
                 alcove_drv:format_error(undef, [Top2])).

start_missing_helper() ->
    [{doc, "A helper that is not there: {error, {enoent, Path}}, and a linked caller lives on."}].
start_missing_helper(_Config) ->
    ?assertEqual({error, {enoent, "/nonexistent/alcove"}},
                 alcove_drv:start_link([{progname, "/nonexistent/alcove"}])),
    ?assertEqual({error, {enoent, "/nonexistent/alcove"}},
                 alcove_drv:start([{progname, "/nonexistent/alcove"}])),
    ?assertEqual({error, {enoent, "/nonexistent/alcove"}},
                 alcove_drv:start_link(self(), [{progname, "/nonexistent/alcove"}])).

start_helper_not_executable() ->
    [{doc, "A helper that is not executable: {error, {eacces, Path}}."}].
start_helper_not_executable(Config) ->
    Path = filename:join(?config(priv_dir, Config), "not_executable"),
    ok = file:write_file(Path, <<"#!/bin/sh\n">>),
    ok = file:change_mode(Path, 8#644),
    ?assertEqual({error, {eacces, Path}}, alcove_drv:start_link([{progname, Path}])),
    % Executable but not a program: what exec said.
    ok = file:write_file(Path, <<0, 1, 2, 3>>),
    ok = file:change_mode(Path, 8#755),
    ?assertEqual({error, {enoexec, Path}}, alcove_drv:start_link([{progname, Path}])).

start_missing_prefix() ->
    [{doc, "An exec prefix whose program is not there: {error, {exec, Prefix, enoent}}."}].
start_missing_prefix(_Config) ->
    ?assertEqual({error, {exec, "alcove-no-such-sudo -n", enoent}},
                 alcove_drv:start_link([{exec, "alcove-no-such-sudo -n"}])),
    ?assertEqual({error, {exec, "/nonexistent/sudo -n", enoent}},
                 alcove_drv:start_link([{exec, "/nonexistent/sudo -n"}])).

start_prefix_fails() ->
    [{doc, "An exec prefix that runs and exits instead of running the helper (sudo refusing): its exit status."}].
start_prefix_fails(_Config) ->
    process_flag(trap_exit, true),
    ?assertEqual({error, {exec, "false", {exit_status, 1}}}, alcove_drv:start_link([{exec, "false"}])),
    % The starter is not sent an exit signal that would end it.
    receive {'EXIT', _, Reason} when Reason =/= normal -> ct:fail({exit_signal, Reason}) after 0 -> ok end,
    % A prefix that does run the helper starts it.
    case alcove_ct:root() of
        true ->
            {ok, Drv} = alcove_drv:start_link([{exec, "sudo -n"}]),
            ?assertEqual(0, alcove:getuid(Drv, [])),
            ok = alcove_drv:stop(Drv);
        false ->
            ok
    end.

start_bad_options() ->
    [{doc, "An unknown or ill-typed option: {error, {badopt, Opt}}."}].
start_bad_options(_Config) ->
    [?assertEqual({error, {badopt, Opt}}, alcove_drv:start_link([Opt]))
     || Opt <- [{bogus, 1}, bogus, {progname, 42}, {exec, sudo_n}, {maxchild, -1}, {depth, "1"},
                {env, [{"A", 1}]}, {stderr_to_stdout, maybe}, {owner_exit_signal, 65}]],
    ?assertEqual({error, {badopt, {bogus, 1}}}, alcove_drv:start([{bogus, 1}])).

start_known_options() ->
    [{doc, "Every option the driver takes is accepted."}].
start_known_options(_Config) ->
    Opts = [{maxchild, 32}, {maxforkdepth, 8}, {exit_status, true}, {termsig, true},
            {flowcontrol, -1}, {signaloneof, 15}, {stdin_closed, false}, {stdout_closed, false},
            {stderr_closed, false}, {stdin_queue, 1024}, {pty, false}, {stderr_to_stdout, false},
            {env, [{"ALCOVE_ERRORS", "1"}]}, {progname, alcove_drv:progname()},
            {owner_exit_signal, 15}, stderr_to_stdout],
    {ok, Drv} = alcove_drv:start_link(Opts),
    ?assertEqual(32, alcove:getopt(Drv, [], maxchild)),
    ok = alcove_drv:stop(Drv).
