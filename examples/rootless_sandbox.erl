%%% The rootless sandbox: with no root, setuid or sudo anywhere, a process
%%% is cloned into new user, mount, PID, UTS, IPC and network namespaces.
%%% Its parent maps the parent's own uid and gid to 0 inside
%%% (alcove_userns:map/4), so the child is root in namespaces it owns: it
%%% sets its hostname, mounts a proc for its PID namespace and execs
%%% busybox sh, which prints what it sees. Erlang then reads the same
%%% process's /proc/PID/status from outside: there it is the unprivileged
%%% user.
%%%
%%% Run by an unprivileged user, the helper runs as that user and does it
%%% all. Run as root, the example first forks a helper that drops to
%%% nobody (65534: no supplementary groups, no capabilities) and does
%%% everything from there, so that nothing privileged is involved either.
-module(rootless_sandbox).

-export([main/0, run/1, checks/1]).

-define(HOSTNAME, <<"rootless">>).
-define(NOBODY, 65534).

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
            throw:{userns_unavailable, Errno, Restrictions} ->
                io:format("[erlang] this kernel refuses an unprivileged user namespace (~p); sysctls: ~p~n", [Errno, Restrictions]),
                2;
            Class:Reason:Stack ->
                io:format("example failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
                1
        end,
    halt(Status).

%% @doc What the sandbox shows, each with whether it held.
-spec checks(#{atom() => term()}) -> [{string(), boolean()}].
checks(#{user := User, group := Group, writer := Writer, inside := Inside, outside := Outside, full_caps := Full}) ->
    [
        {"the parent that set it up is unprivileged (uid not 0, no capabilities)",
            User =/= 0 andalso maps:get(uid, Writer) =:= [User, User, User, User] andalso maps:get(capeff, Writer) =:= 0},
        {"inside, the shell is uid 0 and gid 0",
            maps:get(uid, Inside) =:= [0, 0, 0, 0] andalso maps:get(gid, Inside) =:= [0, 0, 0, 0] andalso
                binary:match(maps:get(id, Inside), <<"uid=0(root) gid=0(root)">>) =/= nomatch},
        {"inside, it has every capability", maps:get(capeff, Inside) =:= Full},
        {"outside, the same process is the unprivileged user",
            maps:get(uid, Outside) =:= [User, User, User, User] andalso maps:get(gid, Outside) =:= [Group, Group, Group, Group]},
        {"it has its own hostname", maps:get(hostname, Inside) =:= ?HOSTNAME},
        {"it is pid 1 in its PID namespace", maps:get(pid, Inside) =:= 1 andalso lists:last(maps:get(nspid, Outside)) =:= 1}
    ].

%% @doc Run the sandbox, passing each chunk of output to `Print'. Returns
%% the unprivileged uid and gid used, the writer's ids and capabilities,
%% what the shell reported inside, what /proc/PID/status says of it from
%% outside, the full capability mask of this kernel, the shell's output
%% and how it ended. Throws `{userns_unavailable, Errno, Restrictions}'
%% when the kernel refuses the user namespace.
-spec run(fun((iodata()) -> any())) -> #{atom() => term()}.
run(Print) ->
    {ok, Drv} = alcove_drv:start_link(),
    try
        Parent = unprivileged(Drv, Print),
        User = alcove:getuid(Drv, Parent),
        Group = alcove:getgid(Drv, Parent),
        Writer = status(alcove:getpid(Drv, Parent)),
        Print(io_lib:format("[erlang] parent ~p: uid ~p, gid ~p, CapEff ~16.16.0b~n", [alcove:getpid(Drv, Parent), User, Group, maps:get(capeff, Writer)])),
        Flags = [clone_newuser, clone_newns, clone_newpid, clone_newuts, clone_newipc, clone_newnet],
        Child =
            case alcove:clone(Drv, Parent, Flags) of
                {ok, Pid} -> Pid;
                {error, Errno} -> throw({userns_unavailable, Errno, alcove_userns:restrictions()})
            end,
        Sandbox = Parent ++ [Child],
        % Unmapped, the child helper still answers: as the overflow uid.
        Print(io_lib:format("[erlang] cloned ~p; before its mapping it is uid ~p (the overflow uid)~n", [Child, alcove:getuid(Drv, Sandbox)])),
        % What an unprivileged parent may write: its own ids, one each,
        % and setgroups denied before the gid map (alcove_userns:clone/4
        % does the clone and this in one call).
        Map = #{uid_map => [{0, User, 1}], gid_map => [{0, Group, 1}], setgroups => deny},
        ok = alcove_userns:map(Drv, Parent, Child, Map),
        Print(io_lib:format("[erlang] uid_map ~s, gid_map ~s, setgroups deny: now it is uid ~p~n",
            [string:trim(alcove_userns:format([{0, User, 1}])), string:trim(alcove_userns:format([{0, Group, 1}])), alcove:getuid(Drv, Sandbox)])),
        ok = alcove:sethostname(Drv, Sandbox, ?HOSTNAME),
        % The mounts stay in its mount namespace; a proc for its PID
        % namespace needs CAP_SYS_ADMIN in the user namespace owning it.
        ok = alcove:mount(Drv, Sandbox, "none", "/", "", [ms_rec, ms_private], "", ""),
        ok = alcove:mount(Drv, Sandbox, "proc", "/proc", "proc", [ms_nosuid, ms_nodev, ms_noexec], "", ""),
        Script =
            "id; echo hostname: $(hostname); echo pid: $$; "
            "grep -E '^(Uid|Gid|CapEff):' /proc/$$/status; echo ready; read line",
        ok = alcove:execve(Drv, Sandbox, busybox(), ["sh", "-c", Script], ["PATH=/usr/bin:/bin"]),
        {Shown, _} = collect(Drv, Sandbox, Print, <<"ready\n">>, <<>>),
        % It waits on stdin: read it from outside while it runs.
        Outside = status(Child),
        Print(io_lib:format("[erlang] from outside, /proc/~p/status: Uid ~w, Gid ~w, CapEff ~16.16.0b, NSpid ~w~n",
            [Child, maps:get(uid, Outside), maps:get(gid, Outside), maps:get(capeff, Outside), maps:get(nspid, Outside)])),
        ok = alcove:stdin(Drv, Sandbox, "\n"),
        {Rest, Exit} = collect(Drv, Sandbox, Print, eof, <<>>),
        #{
            user => User,
            group => Group,
            writer => Writer,
            inside => inside(Shown),
            outside => Outside,
            full_caps => full_caps(),
            child => Child,
            output => <<Shown/binary, Rest/binary>>,
            exit => Exit
        }
    after
        alcove_drv:stop(Drv)
    end.

%% The pipeline of a process without privilege: the root helper when the
%% VM is not root, else a child of it that dropped to nobody. A process
%% whose uid changed is not dumpable, which makes its /proc/PID files
%% (and its clones') root's: it becomes dumpable again to write the maps.
unprivileged(Drv, Print) ->
    case alcove:getuid(Drv, []) of
        0 ->
            {ok, Helper} = alcove:fork(Drv, []),
            ok = alcove:setgroups(Drv, [Helper], []),
            ok = alcove:setresgid(Drv, [Helper], ?NOBODY, ?NOBODY, ?NOBODY),
            ok = alcove:setresuid(Drv, [Helper], ?NOBODY, ?NOBODY, ?NOBODY),
            {ok, _, _, _, _, _} = alcove:prctl(Drv, [Helper], pr_set_dumpable, 1, 0, 0, 0),
            Print(io_lib:format("[erlang] started as root: helper ~p dropped to uid and gid ~p~n", [Helper, ?NOBODY])),
            [Helper];
        _ ->
            []
    end.

busybox() ->
    hd([P || P <- ["/bin/busybox", "/usr/bin/busybox"], filelib:is_regular(P)] ++ ["/bin/busybox"]).

%% Uid, Gid, CapEff and NSpid of a process, from outside.
status(Pid) ->
    {ok, Text} = file:read_file("/proc/" ++ integer_to_list(Pid) ++ "/status"),
    Fields = fields(Text),
    #{
        uid => ints(maps:get(<<"Uid">>, Fields)),
        gid => ints(maps:get(<<"Gid">>, Fields)),
        capeff => binary_to_integer(maps:get(<<"CapEff">>, Fields), 16),
        nspid => ints(maps:get(<<"NSpid">>, Fields))
    }.

%% What the shell printed about itself.
inside(Shown) ->
    Fields = fields(Shown),
    [Id | _] = [L || L <- binary:split(Shown, <<"\n">>, [global]), binary:match(L, <<"uid=">>) =/= nomatch] ++ [<<>>],
    #{
        id => Id,
        uid => ints(maps:get(<<"Uid">>, Fields, <<>>)),
        gid => ints(maps:get(<<"Gid">>, Fields, <<>>)),
        capeff => binary_to_integer(maps:get(<<"CapEff">>, Fields, <<"-1">>), 16),
        hostname => maps:get(<<"hostname">>, Fields, <<>>),
        pid => binary_to_integer(maps:get(<<"pid">>, Fields, <<"-1">>))
    }.

fields(Text) ->
    maps:from_list([
        {Key, string:trim(Value)}
     || Line <- binary:split(Text, <<"\n">>, [global]), [Key, Value] <- [binary:split(Line, <<":">>)]
    ]).

ints(Value) ->
    [binary_to_integer(V) || V <- string:lexemes(Value, "\t ")].

%% Every capability this kernel has (CAP_LAST_CAP and below).
full_caps() ->
    {ok, Last} = file:read_file("/proc/sys/kernel/cap_last_cap"),
    (1 bsl (binary_to_integer(string:trim(Last)) + 1)) - 1.

%% Output up to `Until' (or, with `eof', up to the exit event).
collect(Drv, Pipeline, Print, Until, Acc) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} ->
            Print(Data),
            More = <<Acc/binary, Data/binary>>,
            case Until =/= eof andalso binary:match(More, Until) =/= nomatch of
                true -> {More, running};
                false -> collect(Drv, Pipeline, Print, Until, More)
            end;
        {alcove_stderr, Drv, Pipeline, Data} ->
            Print(Data),
            collect(Drv, Pipeline, Print, Until, <<Acc/binary, Data/binary>>);
        {alcove_event, Drv, Pipeline, {exit_status, _} = Exit} ->
            {Acc, Exit};
        {alcove_event, Drv, Pipeline, {termsig, _} = Exit} ->
            {Acc, Exit}
    after 10000 -> {Acc, timeout}
    end.
