%%% Property test: random argument lists thrown at every call. Whatever a
%%% call does with them (an answer, an error tuple, badarg, undef, a
%%% timeout, even the process dying), the tree must go on answering.
%%%
%%% The random calls run in throwaway children of a sandbox: a process
%%% cloned into new PID, mount (private), UTS, IPC and network namespaces,
%%% chrooted into an empty directory and running as nobody, so a random
%%% kill, chmod, mount or sethostname cannot reach the machine.
-module(alcove_prop_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("proper/include/proper.hrl").

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([every_call_random_args/1, random_call_sequences/1, random_pipelines/1]).

-define(NOBODY, 65534).
%% Random arguments per call in every_call_random_args.
-define(PER_CALL, 25).

suite() ->
    [{timetrap, {minutes, 10}}].

all() ->
    [every_call_random_args, random_call_sequences, random_pipelines].

init_per_suite(Config) ->
    case string:trim(os:cmd("id -u")) of
        "0" -> Config;
        _ -> {skip, "the random-call sandbox needs root (namespaces, chroot, setuid)"}
    end.

end_per_suite(_Config) ->
    ok.

init_per_testcase(_Case, Config) ->
    {ok, Drv} = alcove_drv:start_link(),
    Dir = filename:join("/tmp", "alcove-prop-" ++ integer_to_list(erlang:unique_integer([positive]))),
    ok = file:make_dir(Dir),
    [{drv, Drv}, {dir, Dir} | Config].

end_per_testcase(_Case, Config) ->
    Drv = ?config(drv, Config),
    unlink(Drv),
    catch alcove_drv:stop(Drv),
    os:cmd("rm -rf " ++ ?config(dir, Config)),
    ok.

%%% sandbox

sandbox(Drv, Dir) ->
    {ok, S} = alcove:clone(Drv, [], [clone_newpid, clone_newns, clone_newuts, clone_newipc, clone_newnet]),
    ok = alcove:mount(Drv, [S], "none", "/", "", [ms_rec, ms_private], "", ""),
    ok = alcove:chroot(Drv, [S], Dir),
    ok = alcove:chdir(Drv, [S], "/"),
    ok = alcove:setgroups(Drv, [S], []),
    ok = alcove:setresgid(Drv, [S], ?NOBODY, ?NOBODY, ?NOBODY),
    ok = alcove:setresuid(Drv, [S], ?NOBODY, ?NOBODY, ?NOBODY),
    S.

%% The calls to throw arguments at, with the arity of their short form.
calls() ->
    Exports = alcove:module_info(exports),
    Named = alcove_proto:calls() -- [eof, filter],
    [{Name, lists:min([A || {N, A} <- Exports, N =:= Name]) - 2} || Name <- Named].

%%% generators

arg() ->
    ?LAZY(oneof([
        integer(),
        oneof([0, 1, -1, 2, 16#7fffffff, -16#80000000, 16#ffffffff, 1 bsl 63, (1 bsl 64) - 1, 1 bsl 64]),
        binary(),
        list(range(0, 255)),
        oneof([<<"/">>, <<".">>, <<"/tmp">>, <<"/nonexistent">>, "/bin/sh", <<>>, []]),
        oneof([ok, true, false, undefined, sigkill, sigterm, o_rdonly, clone_newns, ms_bind,
               rlimit_nofile, pr_set_name, sig_ign, stdin, not_a_constant]),
        list(oneof([atom(), small_int(), binary()])),
        {alcove_rlimit, small_int(), small_int()},
        {alcove_timeval, small_int(), small_int()},
        [binary(), {ptr, range(0, 64)}, {ptr, binary()}],
        tuple([small_int(), binary()]),
        float(),
        exactly(self()),
        exactly(make_ref())
    ])).

small_int() ->
    range(-5, 300).

call_with_args() ->
    ?LET({Name, Arity}, oneof(calls()), {Name, vector(Arity, arg())}).

%%% one random call in a fresh child of the sandbox

throw_call(Drv, S, Name, Args) ->
    case catch alcove:fork(Drv, [S], 2000) of
        {ok, G} ->
            Result = (catch apply(alcove, Name, [Drv, [S, G] | Args] ++ [1000])),
            catch alcove:kill(Drv, [S], G, 9, 2000),
            acceptable(Result);
        _ ->
            % The sandbox itself is stuck or gone (a random call stopped it).
            false
    end.

acceptable({'EXIT', {Reason, _}}) when Reason =:= badarg; Reason =:= undef; Reason =:= badpid -> true;
acceptable({'EXIT', timeout}) -> true;
acceptable({'EXIT', Other}) -> ct:pal("unexpected exception: ~p", [Other]), false;
acceptable(_) -> true.

%% The root must answer, and so must a new child of it.
tree_answers(Drv, Root) ->
    Root =:= alcove:getpid(Drv, [], 5000) andalso
        begin
            {ok, C} = alcove:fork(Drv, [], 5000),
            Answer = alcove:getpid(Drv, [C], 5000),
            ok = alcove:kill(Drv, [], C, 9, 5000),
            Answer =:= C
        end.

drain() ->
    receive _ -> drain() after 0 -> ok end.

%%% cases

every_call_random_args(Config) ->
    Drv = ?config(drv, Config),
    Root = alcove:getpid(Drv, []),
    S0 = sandbox(Drv, ?config(dir, Config)),
    Sandbox = put_sandbox(S0),
    lists:foreach(
        fun({Name, Arity}) ->
            {ok, Samples} = proper_gen:pick(vector(?PER_CALL, vector(Arity, arg())), 20),
            lists:foreach(
                fun(Args) ->
                    S = get_sandbox(Drv, Config),
                    ?assert(throw_call(Drv, S, Name, Args) orelse sandbox_gone(Drv, S), {Name, Args}),
                    drain()
                end,
                Samples
            ),
            ?assert(tree_answers(Drv, Root), {after_call, Name})
        end,
        calls()
    ),
    ct:comment("~b calls x ~b random argument lists", [length(calls()), ?PER_CALL]),
    _ = Sandbox.

random_call_sequences(Config) ->
    Drv = ?config(drv, Config),
    Root = alcove:getpid(Drv, []),
    put_sandbox(sandbox(Drv, ?config(dir, Config))),
    Prop = ?FORALL(
        Calls,
        non_empty(list(call_with_args())),
        begin
            S = get_sandbox(Drv, Config),
            lists:foreach(fun({Name, Args}) -> throw_call(Drv, S, Name, Args) end, Calls),
            drain(),
            tree_answers(Drv, Root)
        end
    ),
    ?assert(proper:quickcheck(Prop, [{numtests, 150}, {to_file, user}, noshrink])).

random_pipelines(Config) ->
    Drv = ?config(drv, Config),
    Root = alcove:getpid(Drv, []),
    Prop = ?FORALL(
        Pipeline,
        oneof([list(integer()), list(arg()), arg()]),
        begin
            catch alcove:getpid(Drv, Pipeline, 1000),
            catch alcove:stdin(Drv, Pipeline, <<"x">>),
            drain(),
            Root =:= alcove:getpid(Drv, [])
        end
    ),
    ?assert(proper:quickcheck(Prop, [{numtests, 300}, {to_file, user}])).

%% The sandbox is replaced when a random call has stopped it answering.
put_sandbox(S) ->
    put(sandbox, S),
    S.

get_sandbox(Drv, Config) ->
    S = get(sandbox),
    case catch alcove:getpid(Drv, [S], 2000) of
        1 -> S;
        _ ->
            catch alcove:kill(Drv, [], S, 9),
            put_sandbox(sandbox(Drv, ?config(dir, Config)))
    end.

sandbox_gone(Drv, S) ->
    1 =/= (catch alcove:getpid(Drv, [S], 2000)).
