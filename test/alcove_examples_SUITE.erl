%%% The examples under examples/, run as `make example-NAME' runs them,
%%% with what each one claims to show checked.
-module(alcove_examples_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([chroot_sandbox/1, helper_without_fds/1]).

all() ->
    [chroot_sandbox, helper_without_fds].

init_per_suite(Config) ->
    case alcove_ct:root() of
        false -> {skip, "the examples chroot and change ids: need root"};
        true -> Config
    end.

end_per_suite(_Config) ->
    ok.

%% examples/chroot_sandbox.erl: writing a file and forking fail inside,
%% and the shell runs as the random uid and gid it was given.
chroot_sandbox(Config) ->
    ok = load_example(chroot_sandbox, Config),
    Result = chroot_sandbox:run(fun(Chunk) -> ct:log("~s", [Chunk]) end),
    Checks = chroot_sandbox:checks(Result),
    ct:pal("~p~nchecks: ~p", [maps:without([output], Result), Checks]),
    [?assertEqual({What, true}, {What, Ok}) || {What, Ok} <- Checks],
    #{id := Id} = Result,
    ?assert(Id > 16#f0000000).

%% A forked helper whose fd limit is 0 (as the sandbox sets it before
%% exec) keeps answering: poll(2) refuses more fds than the limit, and
%% the helper then waits with select(2) instead of spinning.
helper_without_fds(_Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:setrlimit(Drv, [C], rlimit_nofile, {alcove_rlimit, 0, 0}),
    [?assertEqual(C, alcove:getpid(Drv, [C], 2000)) || _ <- lists:seq(1, 100)],
    ?assertEqual({error, emfile}, alcove:open(Drv, [C], "/dev/null", [o_rdonly], 0)),
    % Idle, it sleeps: its CPU time does not grow over 200 ms.
    Before = cpu_ticks(C),
    timer:sleep(200),
    ?assert(cpu_ticks(C) - Before =< 2),
    ok = alcove_drv:stop(Drv).

%%% Helpers

load_example(Name, Config) ->
    Root = filename:dirname(filename:dirname(proplists:get_value(source, alcove_drv:module_info(compile)))),
    Src = filename:join([Root, "examples", atom_to_list(Name) ++ ".erl"]),
    Out = ?config(priv_dir, Config),
    {ok, Name} = compile:file(Src, [{outdir, Out}, {i, filename:join(Root, "include")}, report]),
    {module, Name} = code:load_abs(filename:join(Out, atom_to_list(Name))),
    ok.

%% utime + stime of a process, in clock ticks.
cpu_ticks(Pid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/stat"),
    [_, After] = binary:split(Stat, <<") ">>),
    Fields = binary:split(After, <<" ">>, [global]),
    binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields)).
