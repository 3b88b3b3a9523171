%%% The examples under examples/, run as `make example-NAME' runs them,
%%% with what each one claims to show checked.
-module(alcove_examples_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([chroot_sandbox/1, helper_without_fds/1, container_sandbox/1, rootless_sandbox_from_root/1,
         rootless_sandbox_as_user/1]).

-define(ROOTLESS_USER, "alcovect_rootless").

all() ->
    [chroot_sandbox, helper_without_fds, container_sandbox, rootless_sandbox_from_root, rootless_sandbox_as_user].

init_per_suite(Config) ->
    case alcove_ct:root() of
        false -> {skip, "the examples chroot and change ids: need root"};
        true -> Config
    end.

end_per_suite(_Config) ->
    ok.

init_per_testcase(Case, Config) when Case =:= rootless_sandbox_from_root; Case =:= rootless_sandbox_as_user ->
    Tools = [os:find_executable(T) || T <- ["useradd", "userdel", "runuser"]],
    case {alcove_userns:restrictions(), lists:member(false, Tools)} of
        {[_ | _] = Restrictions, _} ->
            {skip, lists:flatten(io_lib:format("unprivileged user namespaces are restricted here: ~p", [Restrictions]))};
        {[], true} ->
            {skip, "needs useradd, userdel and runuser"};
        {[], false} when Case =:= rootless_sandbox_as_user ->
            _ = os:cmd("userdel " ++ ?ROOTLESS_USER ++ " 2>/dev/null"),
            "" = os:cmd("useradd -M " ++ ?ROOTLESS_USER ++ " 2>&1"),
            Dir = string:trim(os:cmd("mktemp -d /tmp/alcove-rootless-ct.XXXXXX")),
            [{rootless_dir, Dir} | Config];
        {[], false} ->
            Config
    end;
init_per_testcase(_Case, Config) ->
    Config.

end_per_testcase(rootless_sandbox_as_user, Config) ->
    _ = os:cmd("userdel " ++ ?ROOTLESS_USER ++ " 2>/dev/null"),
    case ?config(rootless_dir, Config) of
        undefined -> ok;
        Dir -> os:cmd("rm -rf " ++ Dir)
    end,
    ok;
end_per_testcase(_Case, _Config) ->
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

%% examples/container_sandbox.erl: pid 1, its own hostname, only `lo',
%% only its processes, a root holding busybox alone, no uid 0, no
%% capability, no new privileges, the seccomp filter refusing what it
%% names; the memory limit enforced (dd past it is OOM-killed and the
%% owner gets {termsig, sigkill}) and the cgroup's OOM event delivered.
container_sandbox(Config) ->
    ok = load_example(container_sandbox, Config),
    Result = container_sandbox:run(fun(Chunk) -> ct:log("~s", [Chunk]) end),
    Checks = container_sandbox:checks(Result),
    ct:pal("~p~nchecks: ~p", [maps:without([output], Result), Checks]),
    [?assertEqual({What, true}, {What, Ok}) || {What, Ok} <- Checks],
    ?assertEqual({termsig, sigkill}, maps:get(hog_exit, Result)).

%% examples/rootless_sandbox.erl from a root VM: it drops a helper to
%% nobody and sets the sandbox up from there; inside, the shell is uid 0
%% with every capability, outside it is nobody.
rootless_sandbox_from_root(Config) ->
    ok = load_example(rootless_sandbox, Config),
    Result = rootless_sandbox:run(fun(Chunk) -> ct:log("~s", [Chunk]) end),
    check_rootless(Result, 65534, 65534).

%% examples/rootless_sandbox.erl run by a user created for the case, in a
%% VM of that user's (no setuid, no sudo: the helper runs as the user),
%% from a copy of the build the user can read. What the example read
%% from /proc/PID/status as that user must be that user's ids.
rootless_sandbox_as_user(Config) ->
    Uid = list_to_integer(string:trim(os:cmd("id -u " ++ ?ROOTLESS_USER))),
    Gid = list_to_integer(string:trim(os:cmd("id -g " ++ ?ROOTLESS_USER))),
    ?assertNotEqual(0, Uid),
    % The build may sit under a directory the user cannot read: a copy of
    % the application and the compiled example, readable by everyone.
    Dir = ?config(rootless_dir, Config),
    ok = load_example(rootless_sandbox, Config),
    AppDir = filename:join(Dir, "alcove"),
    ExampleDir = filename:join(Dir, "examples"),
    Ebin = filename:dirname(code:which(alcove_drv)),
    Priv = alcove_nif:priv_dir(),
    Copy = os:cmd(lists:flatten(io_lib:format(
        "mkdir -p ~s ~s && cp -rL ~s ~s/ebin && cp -rL ~s ~s/priv && cp ~s ~s/ && chmod -R a+rX ~s && echo copied",
        [AppDir, ExampleDir, Ebin, AppDir, Priv, AppDir, code:which(rootless_sandbox), ExampleDir, Dir]))),
    ?assertEqual("copied\n", Copy),
    Result = as_user(?ROOTLESS_USER, [filename:join(AppDir, "ebin"), ExampleDir],
        "rootless_sandbox:run(fun(_) -> ok end)"),
    check_rootless(Result, Uid, Gid).

check_rootless(Result, Uid, Gid) ->
    Checks = rootless_sandbox:checks(Result),
    ct:pal("~p~nchecks: ~p~noutput:~n~s", [maps:without([output], Result), Checks, maps:get(output, Result)]),
    [?assertEqual({What, true}, {What, Ok}) || {What, Ok} <- Checks],
    #{user := User, group := Group, inside := Inside, outside := Outside, writer := Writer, exit := Exit} = Result,
    ?assertEqual({Uid, Gid}, {User, Group}),
    ?assertEqual(0, maps:get(capeff, Writer)),
    ?assertEqual([0, 0, 0, 0], maps:get(uid, Inside)),
    ?assertEqual([Uid, Uid, Uid, Uid], maps:get(uid, Outside)),
    ?assertEqual([Gid, Gid, Gid, Gid], maps:get(gid, Outside)),
    ?assertEqual({exit_status, 0}, Exit).

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

%% Evaluate Body in a VM of User's with Paths on its code path; its value,
%% sent back as base64 on a line of its own.
as_user(User, Paths, Body) ->
    Eval =
        "CtResult = try begin " ++ Body ++ " end catch CtClass:CtReason -> {caught, CtClass, CtReason} end,"
        "io:format(\"~n@@~s~n\", [base64:encode(term_to_binary(CtResult))]), halt().",
    Args = ["-u", User, "--", os:find_executable("erl"), "-noshell"] ++
        lists:append([["-pa", P] || P <- Paths]) ++ ["-eval", Eval],
    Port = open_port({spawn_executable, os:find_executable("runuser")},
        [{args, Args}, {cd, "/tmp"}, exit_status, stderr_to_stdout, binary, {line, 1 bsl 20}]),
    user_vm_result(Port, []).

user_vm_result(Port, Lines) ->
    receive
        {Port, {data, {eol, <<"@@", B64/binary>>}}} ->
            Result = binary_to_term(base64:decode(B64)),
            receive {Port, {exit_status, _}} -> Result after 10000 -> Result end;
        {Port, {data, {_, Line}}} ->
            user_vm_result(Port, [Line | Lines]);
        {Port, {exit_status, Status}} ->
            ct:fail({user_vm_exited, Status, lists:reverse(Lines)})
    after 60000 ->
        ct:fail({user_vm_timeout, lists:reverse(Lines)})
    end.

%% utime + stime of a process, in clock ticks.
cpu_ticks(Pid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/stat"),
    [_, After] = binary:split(Stat, <<") ">>),
    Fields = binary:split(After, <<" ">>, [global]),
    binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields)).
