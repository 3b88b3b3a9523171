%%% The namespace container: a process cloned into new IPC, network,
%%% mount, PID, UTS and cgroup namespaces, held in a cgroup that limits its
%%% memory, processes and CPU, pivots into a fresh tmpfs root holding only
%%% a static busybox, mounts its own /proc, drops its privileges and
%%% capabilities and installs a seccomp filter. It stays an alcove helper
%%% (pid 1 of its namespace): Erlang forks a shell in it and feeds the
%%% shell commands, then forks a program that allocates past the memory
%%% limit and watches the kernel kill it.
-module(container_sandbox).

-export([main/0, run/1, checks/1]).

-include("alcove.hrl").

-define(MEMORY_MAX, 32 * 1024 * 1024).
-define(PIDS_MAX, 16).
-define(UID, 65534).

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

%% @doc What the container shows, each with whether it held.
-spec checks(#{atom() => term()}) -> [{string(), boolean()}].
checks(#{init_pid := InitPid, output := Out, hog_exit := HogExit, cgroup_events := Events} = R) ->
    Has = fun(Text) -> binary:match(Out, Text) =/= nomatch end,
    [
        {"the container's helper is pid 1 inside", InitPid =:= 1},
        {"its own hostname", Has(<<"hostname: alcove-container">>)},
        {"only the loopback interface", Has(<<"interfaces: lo\n">>)},
        {"only its own processes", only_own_processes(Out)},
        {"the root is the tmpfs with busybox alone", Has(<<"root: bin dev proc\n">>)},
        {"it runs as an unprivileged user", Has(<<"uid: 65534\n">>)},
        {"no capability is left", Has(<<"CapEff:\t0000000000000000">>) andalso Has(<<"CapBnd:\t0000000000000000">>)},
        {"no new privileges", Has(<<"NoNewPrivs:\t1">>)},
        {"the seccomp filter denies what it names", Has(<<"Seccomp:\t2">>) andalso Has(<<"user namespace: denied\n">>)},
        {"memory, pid and CPU limits are set", maps:get(limits_ok, R)},
        {"a program allocating past the memory limit is OOM-killed", HogExit =:= {termsig, sigkill}},
        {"the cgroup reports the OOM kill", lists:any(fun(E) -> element(1, E) =:= oom_kill end, Events)}
    ].

%% `ps' inside lists the helper as pid 1 and, besides, only the shell
%% and ps itself: pids the namespace numbers from 1.
only_own_processes(Out) ->
    Rows = [string:lexemes(L, " ") || L <- string:split(binary_to_list(Out), "\n", all)],
    Pids = [list_to_integer(Pid) || [Pid, _, _] <- Rows, lists:all(fun(Ch) -> Ch >= $0 andalso Ch =< $9 end, Pid)],
    lists:member(["1", integer_to_list(?UID), "alcove"], Rows) andalso length(Pids) =< 4 andalso lists:max(Pids) < 100.

%% @doc Run the container, passing each chunk of output to `Print'.
-spec run(fun((iodata()) -> any())) -> #{atom() => term()}.
run(Print) ->
    Opts = case os:cmd("id -u") of "0\n" -> []; _ -> [{exec, "sudo -n"}] end,
    {ok, Drv} = alcove_drv:start_link(Opts),
    Name = [<<"alcove-container">>, integer_to_binary(list_to_integer(os:getpid()))],
    Root = string:trim(os:cmd("mktemp -d /tmp/alcove-container.XXXXXX")),
    Group = cgroup_create(Drv, Name),
    try
        container(Drv, Group, Root, Print)
    after
        cgroup_remove(Drv, Group),
        alcove_drv:stop(Drv),
        file:del_dir(Root)
    end.

container(Drv, Group, Root, Print) ->
    LimitsOk = cgroup_limits(Drv, Group),
    % Cloned into the cgroup (CLONE_INTO_CGROUP where it has a v2
    % directory), then a cgroup namespace rooted there: inside,
    % /proc/self/cgroup shows "/".
    {ok, C} = alcove_cgroup:clone_into(Drv, [], Group, [clone_newipc, clone_newnet, clone_newns, clone_newpid, clone_newuts]),
    Print(io_lib:format("[erlang] cloned ~p into new IPC, net, mount, PID and UTS namespaces and into cgroup ~s~n",
                        [C, lists:join("/", maps:get(name, Group))])),
    ok = alcove:unshare(Drv, [C], [clone_newcgroup]),
    ok = alcove:sethostname(Drv, [C], "alcove-container"),
    ok = make_root(Drv, C, Root),
    ok = drop_privileges(Drv, C),
    ok = install_filter(Drv, C),
    InitPid = alcove:getpid(Drv, [C]),
    Print(io_lib:format("[erlang] inside its namespace the container's helper is pid ~p~n", [InitPid])),
    {Out, ShellExit} = shell(Drv, C, Print),
    HogExit = hog(Drv, C, Print),
    Events = cgroup_events(Drv),
    [Print(io_lib:format("[erlang] cgroup event pushed to this process: ~0p~n", [E])) || E <- Events],
    #{
        init_pid => InitPid,
        output => Out,
        shell_exit => ShellExit,
        hog_exit => HogExit,
        cgroup_events => Events,
        limits_ok => LimitsOk
    }.

%% A fresh tmpfs root with busybox in it, pivoted into; its own /proc.
make_root(Drv, C, Root) ->
    P = [C],
    % Nothing mounted here propagates back to the host.
    ok = alcove:mount(Drv, P, "none", "/", "", [ms_rec, ms_private], "", ""),
    ok = alcove:mount(Drv, P, "tmpfs", Root, "tmpfs", [ms_nosuid, ms_nodev], "size=16m,mode=755", ""),
    [ok = alcove:mkdir(Drv, P, filename:join(Root, D), 8#755) || D <- ["bin", "dev", "proc", "old"]],
    ok = copy_in(Drv, P, busybox(), filename:join(Root, "bin/busybox")),
    % Two devices, bound from the host's: no mknod needed, nothing else.
    lists:foreach(
        fun(Dev) ->
            {ok, FD} = alcove:open(Drv, P, filename:join(Root, "dev/" ++ Dev), [o_wronly, o_creat, o_excl], 8#666),
            ok = alcove:close(Drv, P, FD),
            ok = alcove:mount(Drv, P, "/dev/" ++ Dev, filename:join(Root, "dev/" ++ Dev), "", [ms_bind], "", "")
        end,
        ["null", "zero"]
    ),
    ok = alcove:pivot_root(Drv, P, Root, filename:join(Root, "old")),
    ok = alcove:chdir(Drv, P, "/"),
    ok = alcove:umount2(Drv, P, "/old", [mnt_detach]),
    ok = alcove:rmdir(Drv, P, "/old"),
    ok = alcove:mount(Drv, P, "proc", "/proc", "proc", [ms_nosuid, ms_nodev, ms_noexec], "", "").

%% Copy a host file into the container through the helper (Erlang reads,
%% the helper writes: the tmpfs is only visible in its mount namespace).
copy_in(Drv, P, From, To) ->
    {ok, Bin} = file:read_file(From),
    {ok, FD} = alcove:open(Drv, P, To, [o_wronly, o_creat, o_excl], 8#755),
    ok = write_all(Drv, P, FD, Bin),
    alcove:close(Drv, P, FD).

write_all(_Drv, _P, _FD, <<>>) ->
    ok;
write_all(Drv, P, FD, Bin) ->
    Chunk = binary:part(Bin, 0, min(byte_size(Bin), 60000)),
    {ok, N} = alcove:write(Drv, P, FD, Chunk),
    write_all(Drv, P, FD, binary:part(Bin, N, byte_size(Bin) - N)).

%% No capabilities, now or ever: the bounding set emptied, no new
%% privileges through exec, then an unprivileged uid and gid.
drop_privileges(Drv, C) ->
    P = [C],
    ok = drop_bounding(Drv, P),
    {ok, _, _, _, _, _} = alcove:prctl(Drv, P, pr_set_no_new_privs, 1, 0, 0, 0),
    ok = alcove:setgroups(Drv, P, []),
    ok = alcove:setresgid(Drv, P, ?UID, ?UID, ?UID),
    ok = alcove:setresuid(Drv, P, ?UID, ?UID, ?UID).

drop_bounding(Drv, P) ->
    Last = last_cap(),
    lists:foreach(
        fun(Cap) -> {ok, _, _, _, _, _} = alcove:prctl(Drv, P, pr_capbset_drop, Cap, 0, 0, 0) end,
        lists:seq(0, Last)
    ).

last_cap() ->
    {ok, Bin} = file:read_file("/proc/sys/kernel/cap_last_cap"),
    binary_to_integer(string:trim(Bin)).

%% The seccomp filter: the container may not create namespaces, mount,
%% trace or load kernel code.
install_filter(Drv, C) ->
    alcove_seccomp:install(Drv, [C], #{
        default => allow,
        deny_action => {errno, eperm},
        deny => [
            unshare, setns, mount, umount2, pivot_root, chroot, ptrace, process_vm_readv,
            process_vm_writev, kexec_load, init_module, finit_module, delete_module, bpf,
            perf_event_open, keyctl, add_key, request_key, reboot, swapon, swapoff
        ]
    }).

%% A shell in the container, fed commands on stdin.
shell(Drv, C, Print) ->
    {ok, Sh} = alcove:fork(Drv, [C]),
    ok = alcove:execve(Drv, [C, Sh], "/bin/busybox", ["busybox", "sh"], ["PATH=/bin"]),
    Script = [
        "echo \"hostname: $(busybox hostname)\"",
        "echo \"interfaces: $(busybox ip -o link | busybox cut -d: -f2 | busybox xargs)\"",
        "busybox ps -o pid,user,comm",
        "echo \"root: $(busybox ls / | busybox xargs)\"",
        "echo \"uid: $(busybox id -u)\"",
        "busybox grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp)' /proc/self/status",
        "busybox unshare -U true && echo 'user namespace: allowed' || echo 'user namespace: denied'",
        "exit 0"
    ],
    [ok = alcove:stdin(Drv, [C, Sh], [L, $\n]) || L <- Script],
    collect(Drv, [C, Sh], Print, []).

%% A program allocating (and touching) more than the memory limit.
hog(Drv, C, Print) ->
    {ok, Hog} = alcove:fork(Drv, [C]),
    Mb = integer_to_list(2 * ?MEMORY_MAX div (1024 * 1024)),
    Print(io_lib:format("[erlang] running dd with a ~s MiB buffer under a ~p MiB limit~n", [Mb, ?MEMORY_MAX div (1024 * 1024)])),
    ok = alcove:execve(Drv, [C, Hog], "/bin/busybox", ["dd", "if=/dev/zero", "of=/dev/null", "bs=" ++ Mb ++ "M", "count=1"], []),
    {_, Exit} = collect(Drv, [C, Hog], Print, []),
    Print(io_lib:format("[erlang] dd ended: ~p~n", [Exit])),
    Exit.

busybox() ->
    hd([P || P <- ["/bin/busybox", "/usr/bin/busybox"], filelib:is_regular(P)] ++ ["busybox"]).

collect(Drv, Pipeline, Print, Acc) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> Print(Data), collect(Drv, Pipeline, Print, [Data | Acc]);
        {alcove_stderr, Drv, Pipeline, Data} -> Print(Data), collect(Drv, Pipeline, Print, [Data | Acc]);
        {alcove_event, Drv, Pipeline, {exit_status, _} = Exit} -> {iolist_to_binary(lists:reverse(Acc)), Exit};
        {alcove_event, Drv, Pipeline, {termsig, _} = Exit} -> {iolist_to_binary(lists:reverse(Acc)), Exit}
    after 20000 -> {iolist_to_binary(lists:reverse(Acc)), timeout}
    end.

%%% cgroups: alcove_cgroup finds where each controller lives (v1 or v2)
%%% and writes the right files.

cgroup_create(Drv, Name) ->
    % watch: this process (the owner of the root helper) is sent the
    % group's events, {alcove_event, Drv, [], {cgroup, Event}}.
    {ok, Group} = alcove_cgroup:new(Drv, [], Name, #{controllers => [memory, pids, cpu], watch => true}),
    Group.

cgroup_limits(Drv, Group) ->
    Limits = [{memory_max, ?MEMORY_MAX}, {pids_max, ?PIDS_MAX}, {cpu_max, {50000, 100000}}],
    [ok = alcove_cgroup:set_limit(Drv, [], Group, Name, Value) || {Name, Value} <- Limits],
    [{Name, alcove_cgroup:get_limit(Drv, [], Group, Name)} || {Name, _} <- Limits] =:=
        [{Name, {ok, Value}} || {Name, Value} <- Limits].

%% The events received so far, waiting (up to 5 s) for the OOM kill's.
cgroup_events(Drv) ->
    cgroup_events(Drv, []).

cgroup_events(Drv, Acc) ->
    receive
        {alcove_event, Drv, [], {cgroup, {oom_kill, _Dir, _N} = Event}} -> lists:reverse([Event | Acc]);
        {alcove_event, Drv, [], {cgroup, Event}} -> cgroup_events(Drv, [Event | Acc])
    after 5000 -> lists:reverse(Acc)
    end.

cgroup_remove(Drv, Group) ->
    alcove_cgroup:remove(Drv, [], Group, #{kill => true}).
