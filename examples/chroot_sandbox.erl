%%% The chroot sandbox: a forked process limits itself (no new fds, so no
%%% file can be created or opened; one process for its user, so it cannot
%%% fork), chroots into a directory holding only a static busybox, drops to
%%% a random high uid and gid and execs `busybox sh`. Erlang then feeds the
%%% shell commands on stdin and prints what comes back.
-module(chroot_sandbox).

-export([main/0, run/1, checks/1]).

-include("alcove.hrl").

%% @doc Run the example and halt with its status.
-spec main() -> no_return().
main() ->
    Status =
        try run(fun(Line) -> io:put_chars(Line) end) of
            Result ->
                Checks = checks(Result),
                [io:format("[erlang] ~s: ~s~n", [What, case Ok of true -> "yes"; false -> "NO" end]) || {What, Ok} <- Checks],
                case lists:all(fun({_, Ok}) -> Ok end, Checks) of
                    true -> 0;
                    false -> 1
                end
        catch
            Class:Reason:Stack ->
                io:format("example failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
                1
        end,
    halt(Status).

%% @doc What the sandbox shows, each with whether it held.
-spec checks(#{atom() => term()}) -> [{string(), boolean()}].
checks(#{uid := Uid, gid := Gid, id := Id, output := Out}) ->
    Has = fun(Text) -> binary:match(Out, Text) =/= nomatch end,
    [
        {"the shell runs and answers", Has(<<"hello from the sandbox">>)},
        {"creating a file fails", Has(<<"can't create /note">>)},
        {"forking fails", Has(<<"can't fork">>)},
        {"it runs as the random uid and gid", Uid =:= Id andalso Gid =:= Id}
    ].

%% @doc Run the sandbox, passing each chunk of output to `Print'. Returns
%% the sandboxed shell's uid and gid as the kernel reports them from
%% outside, the random id it was given, all it printed, and how it ended
%% (a failed fork ends a non-interactive shell: `{exit_status, 2}').
-spec run(fun((iodata()) -> any())) -> #{atom() => term()}.
run(Print) ->
    Opts = case os:cmd("id -u") of "0\n" -> []; _ -> [{exec, "sudo -n"}] end,
    {ok, Drv} = alcove_drv:start_link(Opts),
    Root = make_root(Drv),
    try
        {ok, Child} = alcove:fork(Drv, []),
        % No fd can be opened (so no file created or read), and the user
        % may have one process, this one: fork fails. (With 0, the exec
        % itself would fail: the kernel counts this process against it.)
        ok = alcove:setrlimit(Drv, [Child], rlimit_nofile, #alcove_rlimit{cur = 0, max = 0}),
        ok = alcove:setrlimit(Drv, [Child], rlimit_nproc, #alcove_rlimit{cur = 1, max = 1}),
        ok = alcove:chroot(Drv, [Child], Root),
        ok = alcove:chdir(Drv, [Child], "/"),
        Id = 16#f0000000 + rand:uniform(16#0fffffff),
        ok = alcove:setgid(Drv, [Child], Id),
        ok = alcove:setuid(Drv, [Child], Id),
        ok = alcove:execve(Drv, [Child], "/busybox", ["/busybox", "sh"], []),
        Print(io_lib:format("[erlang] ~p: chrooted into ~s, uid and gid ~p~n", [Child, Root, Id])),
        {Uid, Gid} = ids(Child),
        Print(io_lib:format("[erlang] the kernel says: uid ~p, gid ~p~n", [Uid, Gid])),
        Commands = [
            "echo hello from the sandbox",
            "echo secret > /note",
            % A failed fork ends a non-interactive busybox sh: last.
            "/busybox ls /"
        ],
        [ok = alcove:stdin(Drv, [Child], [C, $\n]) || C <- Commands],
        {Out, Exit} = collect(Drv, [Child], Print, []),
        #{uid => Uid, gid => Gid, id => Id, output => Out, exit => Exit}
    after
        alcove_drv:stop(Drv),
        os:cmd("rm -rf " ++ Root)
    end.

%% A fresh directory holding only a static busybox.
make_root(_Drv) ->
    Root = string:trim(os:cmd("mktemp -d /tmp/alcove-chroot.XXXXXX")),
    {ok, _} = file:copy(busybox(), filename:join(Root, "busybox")),
    ok = file:change_mode(filename:join(Root, "busybox"), 8#755),
    ok = file:change_mode(Root, 8#755),
    Root.

busybox() ->
    hd([P || P <- ["/bin/busybox", "/usr/bin/busybox"], filelib:is_regular(P)] ++ ["busybox"]).

ids(Pid) ->
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status"),
    Field = fun(Name) ->
        [Line] = [L || L <- string:split(binary_to_list(Status), "\n", all), lists:prefix(Name, L)],
        [_, Real | _] = string:lexemes(Line, "\t "),
        list_to_integer(Real)
    end,
    {Field("Uid:"), Field("Gid:")}.

collect(Drv, Pipeline, Print, Acc) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> Print(Data), collect(Drv, Pipeline, Print, [Data | Acc]);
        {alcove_stderr, Drv, Pipeline, Data} -> Print(Data), collect(Drv, Pipeline, Print, [Data | Acc]);
        {alcove_event, Drv, Pipeline, {exit_status, _} = Exit} -> {iolist_to_binary(lists:reverse(Acc)), Exit};
        {alcove_event, Drv, Pipeline, {termsig, _} = Exit} -> {iolist_to_binary(lists:reverse(Acc)), Exit}
    after 10000 -> {iolist_to_binary(lists:reverse(Acc)), timeout}
    end.
