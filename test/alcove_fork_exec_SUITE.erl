%%% alcove:fork_exec/4: a program spawned in one request, with real
%%% processes: its steps, its errors, its stdio and lifecycle, and the
%%% alcove_proc:run/3 built on it.
-module(alcove_fork_exec_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include("alcove.hrl").

-export([output_and_status/0, owner_exit/0, teardown/0, flowcontrol/0, signal_state/0, signals_set_by_caller/0, process_group/0, chdir_env_umask/0, setrlimit/0, credentials/0, namespaces/0, cgroup/0, no_new_privs/0, chroot/0, failing_step/0, missing_program/0, bad_shapes/0, stdin_eof/0, output_before_exit/0, owner_is_caller/0, kill/0, at_depth/0, only_stdio_fds/0, burst/0, run_result/0, run_timeout_kills_tree/0, run_max_output/0, run_errors/0]).
-export([all/0, groups/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    output_and_status/1, owner_exit/1, teardown/1, flowcontrol/1, signal_state/1, signals_set_by_caller/1, process_group/1,
    chdir_env_umask/1, setrlimit/1, credentials/1, namespaces/1,
    cgroup/1, no_new_privs/1, chroot/1, failing_step/1, missing_program/1, bad_shapes/1,
    stdin_eof/1, output_before_exit/1, owner_is_caller/1, kill/1, at_depth/1, only_stdio_fds/1,
    burst/1, run_result/1, run_timeout_kills_tree/1, run_max_output/1, run_errors/1
]).

all() ->
    [{group, spawn}, {group, steps}, {group, lifecycle}, {group, proc}].

groups() ->
    [
        {spawn, [], [output_and_status, failing_step, missing_program, bad_shapes]},
        {steps, [], [chdir_env_umask, setrlimit, credentials, namespaces, cgroup, no_new_privs, chroot]},
        {lifecycle, [], [stdin_eof, output_before_exit, flowcontrol, signal_state, signals_set_by_caller, process_group, owner_is_caller, owner_exit, teardown, kill, at_depth,
                         only_stdio_fds, burst]},
        {proc, [], [run_result, run_timeout_kills_tree, run_max_output, run_errors]}
    ].

-define(PRIVILEGED, [credentials, namespaces, cgroup, chroot]).

init_per_testcase(Case, Config) ->
    case lists:member(Case, ?PRIVILEGED) andalso not alcove_ct:root() of
        true -> {skip, "needs root (CI runs the suite as root)"};
        false -> alcove_ct:init_driver(Config)
    end.

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

drv(Config) -> ?config(drv, Config).

%% The children the helper at the top of `Pipeline' has, from /proc.
os_children(Drv, Pipeline) ->
    Pid = integer_to_list(alcove:getpid(Drv, Pipeline)),
    {ok, Text} = file:read_file("/proc/" ++ Pid ++ "/task/" ++ Pid ++ "/children"),
    [binary_to_integer(P) || P <- binary:split(Text, <<" ">>, [global, trim_all])].

%% Run Argv with Steps at the root and return {Stdout, ExitEvent}.
spawn_read(Drv, Argv, Steps) ->
    {ok, Pid} = alcove:fork_exec(Drv, [], Argv, Steps),
    alcove_ct:read_until_exit(Drv, [Pid]).

lines(Bin) ->
    binary:split(Bin, <<"\n">>, [global, trim_all]).

%%% spawn

output_and_status() -> [{doc, "The program's stdout arrives, then its exit status."}].
output_and_status(Config) ->
    Drv = drv(Config),
    ?assertEqual({<<"hello\n">>, {exit_status, 3}},
                 spawn_read(Drv, ["sh", "-c", "echo hello; exit 3"], [])),
    ?assertEqual({<<"x\n">>, {exit_status, 0}}, spawn_read(Drv, ["/bin/echo", "x"], [])),
    ?assertEqual([], alcove:cpid(Drv, [])).

failing_step() -> [{doc, "A failing step is {error, {Step, Errno}}, later steps and the program never run, no process is left."}].
failing_step(Config) ->
    Drv = drv(Config),
    Marker = filename:join(?config(priv_dir, Config), "ran"),
    ?assertEqual({error, {chdir, enoent}},
                 alcove:fork_exec(Drv, [], ["touch", Marker], [{chdir, "/nonexistent"}])),
    ?assertEqual({error, {setpgid, eperm}},
                 alcove:fork_exec(Drv, [], ["touch", Marker], [{umask, 0}, {setpgid, 999999}])),
    ?assertEqual({error, {setrlimit, enotsup}},
                 alcove:fork_exec(Drv, [], ["touch", Marker],
                                  [{setrlimit, rlimit_bogus, #alcove_rlimit{cur = 1, max = 1}}])),
    ?assertEqual({error, {cgroup, enoent}},
                 alcove:fork_exec(Drv, [], ["touch", Marker], [{cgroup, "/nonexistent"}])),
    ?assertEqual(false, filelib:is_file(Marker)),
    ?assertEqual([], alcove:cpid(Drv, [])),
    ?assertEqual([], os_children(Drv, [])).

missing_program() -> [{doc, "A program not found is {error, enoent}; one not executable {error, eacces}; a script without #! runs in sh, as execvp does."}].
missing_program(Config) ->
    Drv = drv(Config),
    ?assertEqual({error, enoent}, alcove:fork_exec(Drv, [], ["no-such-program-here"], [])),
    ?assertEqual({error, enoent}, alcove:fork_exec(Drv, [], ["/nonexistent/program"], [])),
    Script = filename:join(?config(priv_dir, Config), "script"),
    ok = file:write_file(Script, "echo from script $1\n"),
    ok = file:change_mode(Script, 8#644),
    ?assertEqual({error, eacces}, alcove:fork_exec(Drv, [], [Script], [])),
    ok = file:change_mode(Script, 8#755),
    ?assertEqual({<<"from script arg\n">>, {exit_status, 0}}, spawn_read(Drv, [Script, "arg"], [])),
    ?assertEqual([], os_children(Drv, [])).

bad_shapes() -> [{doc, "Malformed argv or steps raise badarg."}].
bad_shapes(Config) ->
    Drv = drv(Config),
    Bad = [{[], []}, {"true", []}, {[true], []}, {["true"], bogus}, {["true"], [bogus]},
           {["true"], [{chdir}]}, {["true"], [{chdir, 1}]}, {["true"], [{setuid, -5}]},
           {["true"], [{setrlimit, rlimit_nofile, {1, 2}}]}, {["true"], [{env, "A=1"}]},
           {["true"], [{umask, 8#10000}]}, {["nul\0"], []}],
    [?assertError(badarg, alcove:fork_exec(Drv, [], Argv, Steps)) || {Argv, Steps} <- Bad],
    ?assertEqual([], alcove:cpid(Drv, [])).

%%% steps

chdir_env_umask() -> [{doc, "chdir, env (the whole environment) and umask are applied."}].
chdir_env_umask(Config) ->
    Drv = drv(Config),
    {Out, {exit_status, 0}} =
        spawn_read(Drv, ["/bin/sh", "-c", "pwd; umask; env | sort"],
                   [{chdir, "/tmp"}, {env, ["A=1", "B=two"]}, {umask, 8#27}]),
    ?assertEqual([<<"/tmp">>, <<"0027">>, <<"A=1">>, <<"B=two">>, <<"PWD=/tmp">>], lines(Out)),
    % Without env, the helper's environment.
    ok = alcove:setenv(Drv, [], "ALCOVE_FE", "seen", 1),
    ?assertEqual({<<"seen\n">>, {exit_status, 0}},
                 spawn_read(Drv, ["sh", "-c", "echo $ALCOVE_FE"], [])).

setrlimit() -> [{doc, "setrlimit takes the resource and #alcove_rlimit{} as setrlimit/4 does."}].
setrlimit(Config) ->
    Drv = drv(Config),
    ?assertEqual({<<"77\n33\n">>, {exit_status, 0}},
                 spawn_read(Drv, ["sh", "-c", "ulimit -n; ulimit -c"],
                            [{setrlimit, rlimit_nofile, #alcove_rlimit{cur = 77, max = 77}},
                             {setrlimit, rlimit_core, #alcove_rlimit{cur = 33 * 512, max = 33 * 512}}])).

credentials() -> [{doc, "setgroups, setgid and setuid are applied in order (id -u, -g, -G)."}].
credentials(Config) ->
    Drv = drv(Config),
    {Out, {exit_status, 0}} =
        spawn_read(Drv, ["sh", "-c", "id -u; id -g; id -G"],
                   [{setgroups, [65534, 100]}, {setgid, 65534}, {setuid, 65534}]),
    ?assertEqual([<<"65534">>, <<"65534">>, <<"65534 100">>], lines(Out)),
    % Dropped privileges: a later privileged step fails.
    ?assertEqual({error, {setuid, eperm}},
                 alcove:fork_exec(Drv, [], ["true"], [{setuid, 65534}, {setuid, 0}])).

namespaces() -> [{doc, "{clone, Flags}: the program is pid 1 of a new PID namespace, in a UTS namespace of its own."}].
namespaces(Config) ->
    Drv = drv(Config),
    {ok, HelperUts} = file:read_link("/proc/" ++ integer_to_list(alcove:getpid(Drv, [])) ++ "/ns/uts"),
    {Out, {exit_status, 0}} =
        spawn_read(Drv, ["sh", "-c", "echo $$; readlink /proc/self/ns/uts"],
                   [{clone, [clone_newpid, clone_newuts]}]),
    [Pid1, Uts] = lines(Out),
    ?assertEqual(<<"1">>, Pid1),
    ?assertNotEqual(list_to_binary(HelperUts), Uts),
    % An integer works too; CLONE_VM is refused.
    {ok, Flags} = {ok, alcove:clone_constant(Drv, [], clone_newuts)},
    ?assertMatch({_, {exit_status, 0}}, spawn_read(Drv, ["true"], [{clone, Flags}])),
    ?assertEqual({error, {clone, einval}},
                 alcove:fork_exec(Drv, [], ["true"], [{clone, 16#100}])).

cgroup() -> [{doc, "{cgroup, Dir}: the program starts in a cgroup v2 directory made by the test."}].
cgroup(Config) ->
    Drv = drv(Config),
    Name = "alcove_fork_exec_" ++ os:getpid(),
    Dir = filename:join("/sys/fs/cgroup/unified", Name),
    case file:make_dir(Dir) of
        ok ->
            try
                {Out, {exit_status, 0}} = spawn_read(Drv, ["cat", "/proc/self/cgroup"], [{cgroup, Dir}]),
                ?assert(lists:member(<<"0::/", (list_to_binary(Name))/binary>>, lines(Out)))
            after
                ok = alcove_ct:wait_until(fun() -> file:del_dir(Dir) =:= ok end)
            end;
        {error, Reason} ->
            {skip, {no_cgroup_v2_dir, Reason}}
    end.

no_new_privs() -> [{doc, "no_new_privs sets NoNewPrivs (it is 0 without the step)."}].
no_new_privs(Config) ->
    Drv = drv(Config),
    Grep = ["grep", "NoNewPrivs", "/proc/self/status"],
    ?assertEqual({<<"NoNewPrivs:\t1\n">>, {exit_status, 0}}, spawn_read(Drv, Grep, [no_new_privs])),
    ?assertEqual({<<"NoNewPrivs:\t0\n">>, {exit_status, 0}}, spawn_read(Drv, Grep, [])).

chroot() -> [{doc, "chroot then chdir: the program sees only the new root (a static busybox)."}].
chroot(Config) ->
    Drv = drv(Config),
    case os:find_executable("busybox") of
        false ->
            {skip, "no busybox"};
        Busybox ->
            Root = filename:join(?config(priv_dir, Config), "root"),
            ok = filelib:ensure_dir(filename:join([Root, "inside", "x"])),
            {ok, _} = file:copy(Busybox, filename:join(Root, "busybox")),
            ok = file:change_mode(filename:join(Root, "busybox"), 8#755),
            {Out, {exit_status, 0}} =
                spawn_read(Drv, ["/busybox", "ls", "/"], [{chroot, Root}, {chdir, "/"}]),
            ?assertEqual([<<"busybox">>, <<"inside">>], lists:sort(lines(Out)))
    end.

%%% lifecycle

stdin_eof() -> [{doc, "stdin/3 reaches the program; eof/2 closes its stdin."}].
stdin_eof(Config) ->
    Drv = drv(Config),
    {ok, Pid} = alcove:fork_exec(Drv, [], ["cat"], []),
    ok = alcove:stdin(Drv, [Pid], "one "),
    ok = alcove:stdin(Drv, [Pid], <<"two">>),
    ok = alcove:eof(Drv, [Pid]),
    ?assertEqual({<<"one two">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [Pid])).

output_before_exit() -> [{doc, "Several MiB of output all arrive before the exit event."}].
output_before_exit(Config) ->
    Drv = drv(Config),
    Size = 5 * 1024 * 1024,
    {Out, Exit} = spawn_read(Drv, ["head", "-c", integer_to_list(Size), "/dev/zero"], []),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(Size, byte_size(Out)).

flowcontrol() -> [{doc, "Flow control at 0 holds the output, and the exit event behind it, until granted."}].
flowcontrol(Config) ->
    Drv = drv(Config),
    % Inherited by the children made from now on, as with fork.
    true = alcove:setopt(Drv, [], flowcontrol, 0),
    {ok, Pid} = alcove:fork_exec(Drv, [], ["echo", "held"], []),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:proc_state(Pid) =:= gone end)),
    receive
        {_, Drv, [Pid], _} = Early -> ct:fail({not_held, Early})
    after 0 -> ok
    end,
    true = alcove:setcpid(Drv, [], Pid, flowcontrol, 1),
    ?assertEqual({<<"held\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [Pid])).

signal_state() -> [{doc, "The program starts with no signal blocked or ignored, as an exec'd helper leaves it."}].
signal_state(Config) ->
    Drv = drv(Config),
    ?assertEqual({<<"SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n">>, {exit_status, 0}},
                 spawn_read(Drv, ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"], [])).

signals_set_by_caller() ->
    [{doc, "Signals the caller set to be ignored (or caught) in the helper are not ignored in "
           "the program, by fork_exec and by fork + execvp: an exec resets only the caught ones "
           "itself."}].
signals_set_by_caller(Config) ->
    Drv = drv(Config),
    Status = [<<"SigBlk:\t0000000000000000">>, <<"SigIgn:\t0000000000000000">>],
    Grep = ["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"],
    Set = [{sigusr1, sig_ign}, {sigterm, sig_catch}, {sighup, sig_ign}],
    Old = [begin {ok, Was} = alcove:sigaction(Drv, [], Sig, How), {Sig, Was} end
           || {Sig, How} <- Set],
    {Out, Exit} = spawn_read(Drv, Grep, []),
    ?assertEqual({Status, {exit_status, 0}}, {lines(Out), Exit}),
    % A forked child inherits the table; one more ignored in it alone.
    {ok, C} = alcove:fork(Drv, []),
    {ok, _} = alcove:sigaction(Drv, [C], sigusr2, sig_ign),
    ok = alcove:execvp(Drv, [C], "grep", Grep),
    {Out2, Exit2} = alcove_ct:read_until_exit(Drv, [C]),
    ?assertEqual({Status, {exit_status, 0}}, {lines(Out2), Exit2}),
    [{ok, _} = alcove:sigaction(Drv, [], Sig, Was) || {Sig, Was} <- Old].

process_group() -> [{doc, "The program leads a process group of its own, or a session with setsid."}].
process_group(Config) ->
    Drv = drv(Config),
    {Out, {exit_status, 0}} = spawn_read(Drv, ["sh", "-c", "echo $$; ps -o pgid= -o sid= -p $$"], []),
    [Pid, Ids] = lines(Out),
    [Pgid, Sid] = string:lexemes(Ids, " "),
    ?assertEqual(Pid, Pgid),
    ?assertNotEqual(Pid, Sid),
    {Out2, {exit_status, 0}} = spawn_read(Drv, ["sh", "-c", "echo $$; ps -o pgid= -o sid= -p $$"], [setsid]),
    [Pid2, Ids2] = lines(Out2),
    ?assertEqual([Pid2, Pid2], string:lexemes(Ids2, " ")).

owner_is_caller() -> [{doc, "The calling process owns its program: another process's spawn goes to it, not to us."}].
owner_is_caller(Config) ->
    Drv = drv(Config),
    Self = self(),
    Other = spawn_link(fun() ->
        {ok, Pid} = alcove:fork_exec(Drv, [], ["echo", "theirs"], []),
        Self ! {spawned, self(), Pid, alcove_ct:read_until_exit(Drv, [Pid])}
    end),
    {ok, Mine} = alcove:fork_exec(Drv, [], ["echo", "mine"], []),
    ?assertEqual({<<"mine\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [Mine])),
    receive
        {spawned, Other, Theirs, Result} ->
            ?assertEqual({<<"theirs\n">>, {exit_status, 0}}, Result),
            receive
                {_, Drv, [Theirs], _} = Stray -> ct:fail({stray, Stray})
            after 0 -> ok
            end
    after 10000 -> ct:fail(no_result)
    end.

owner_exit() -> [{doc, "When the process that spawned the program exits, the program is killed."}].
owner_exit(Config) ->
    Drv = drv(Config),
    Self = self(),
    {Owner, Ref} = spawn_monitor(fun() ->
        {ok, Pid} = alcove:fork_exec(Drv, [], ["sleep", "60"], []),
        Self ! {spawned, Pid}
    end),
    Pid = receive {spawned, P} -> P after 10000 -> ct:fail(no_spawn) end,
    receive {'DOWN', Ref, process, Owner, _} -> ok end,
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Pid) end)),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end)).

teardown() -> [{doc, "Stopping the driver ends the spawned programs, setsid'd ones and their children too."}].
teardown(Config) ->
    Drv = drv(Config),
    {ok, Plain} = alcove:fork_exec(Drv, [], ["sleep", "60"], []),
    {ok, P1} = alcove:fork(Drv, []),
    {ok, Deep} = alcove:fork_exec(Drv, [P1], ["sh", "-c", "sleep 60 & echo $!; wait"], [setsid]),
    {ok, Bin} = read_line(Drv, [P1, Deep]),
    Grandchild = binary_to_integer(string:trim(Bin)),
    unlink(Drv),
    ok = alcove_drv:stop(Drv),
    [?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(P) end))
     || P <- [Plain, Deep, Grandchild]].

read_line(Drv, Pipeline) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> {ok, Data}
    after 10000 -> ct:fail(no_line)
    end.

kill() -> [{doc, "alcove:kill/4 ends the program: {termsig, sigkill}."}].
kill(Config) ->
    Drv = drv(Config),
    {ok, Pid} = alcove:fork_exec(Drv, [], ["sleep", "60"], []),
    ok = alcove:kill(Drv, [], Pid, sigkill),
    ?assertEqual({termsig, sigkill}, alcove_ct:wait_exit(Drv, [Pid])),
    ?assertEqual([], os_children(Drv, [])).

at_depth() -> [{doc, "fork_exec from a helper two forks down: output, stdin and exit at that pipeline."}].
at_depth(Config) ->
    Drv = drv(Config),
    {ok, P1} = alcove:fork(Drv, []),
    {ok, P2} = alcove:fork(Drv, [P1]),
    {ok, Pid} = alcove:fork_exec(Drv, [P1, P2], ["sh", "-c", "read x; echo got $x; exit 4"],
                                 [{chdir, "/"}]),
    ok = alcove:stdin(Drv, [P1, P2, Pid], "deep\n"),
    ?assertEqual({<<"got deep\n">>, {exit_status, 4}}, alcove_ct:read_until_exit(Drv, [P1, P2, Pid])),
    ?assertEqual({error, {chdir, enoent}},
                 alcove:fork_exec(Drv, [P1, P2], ["true"], [{chdir, "/nonexistent"}])),
    ?assertEqual([], alcove:cpid(Drv, [P1, P2])).

only_stdio_fds() -> [{doc, "The program starts with only fds 0, 1 and 2 open."}].
only_stdio_fds(Config) ->
    Drv = drv(Config),
    {ok, P1} = alcove:fork(Drv, []),
    % cat opens nothing of its own: its fds, read from outside, are what
    % it was started with (exec closes the rest as it goes: wait for it).
    [begin
         {ok, Pid} = alcove:fork_exec(Drv, Pipeline, ["cat"], []),
         Fds = fun() -> file:list_dir("/proc/" ++ integer_to_list(Pid) ++ "/fd") end,
         ?assertEqual(ok, alcove_ct:wait_until(fun() -> {ok, ["0", "1", "2"]} =:= sort_ok(Fds()) end)),
         ok = alcove:eof(Drv, Pipeline ++ [Pid]),
         ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, Pipeline ++ [Pid]))
     end || Pipeline <- [[], [P1]]].

sort_ok({ok, List}) -> {ok, lists:sort(List)};
sort_ok(Other) -> Other.

burst() -> [{doc, "200 concurrent fork_exec calls from 10 processes all get their exit event; nothing is left."}].
burst(Config) ->
    Drv = drv(Config),
    true = alcove:setopt(Drv, [], maxchild, 256),
    Self = self(),
    Workers = [spawn_link(fun() ->
        Pids = [begin {ok, P} = alcove:fork_exec(Drv, [], ["sh", "-c", "exit 7"], []), P end
                || _ <- lists:seq(1, 20)],
        Exits = [alcove_ct:wait_exit(Drv, [P]) || P <- Pids],
        Self ! {done, self(), Exits}
    end) || _ <- lists:seq(1, 10)],
    [receive
         {done, W, Exits} -> ?assertEqual(lists:duplicate(20, {exit_status, 7}), Exits)
     after 60000 -> ct:fail({burst_timeout, W})
     end || W <- Workers],
    ?assertEqual([], alcove:cpid(Drv, [])),
    ?assertEqual([], os_children(Drv, [])).

%%% alcove_proc:run/3

run_result() -> [{doc, "run/3 collects stdout and stderr apart, with stdin, env and cwd applied."}].
run_result(_Config) ->
    {ok, Root} = alcove_proc:fork(),
    try
        ?assertEqual({ok, #{status => {exit_status, 2}, stdout => <<"in:abc /tmp V\n">>, stderr => <<"e\n">>}},
                     alcove_proc:run(Root, ["sh", "-c", "echo in:$(cat) $(pwd) $V; echo e >&2; exit 2"],
                                     [{stdin, "abc"}, {cwd, "/tmp"}, {env, ["V=V", "PATH=/bin:/usr/bin"]}])),
        ?assertEqual({ok, #{status => {exit_status, 0}, stdout => <<"x\n">>, stderr => <<>>}},
                     alcove_proc:run(Root, ["echo", "x"])),
        % cmd/2 still interleaves both streams.
        ?assertEqual(<<"o\ne\n">>, alcove_proc:sh(Root, "echo o; echo e >&2")),
        ?assertEqual([], alcove_proc:cpid(Root))
    after
        alcove_proc:stop(Root)
    end.

run_timeout_kills_tree() -> [{doc, "Past the timeout the program and what it started are killed; the output so far is returned."}].
run_timeout_kills_tree(_Config) ->
    {ok, Root} = alcove_proc:fork(),
    try
        Script = "sleep 100 & echo $!; sleep 100",
        {error, {timeout, #{stdout := Out}}} = alcove_proc:run(Root, ["sh", "-c", Script], #{timeout => 300}),
        Background = binary_to_integer(string:trim(Out)),
        ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Background) end)),
        ?assertEqual([], alcove_proc:cpid(Root))
    after
        alcove_proc:stop(Root)
    end.

run_max_output() -> [{doc, "max_output caps what is collected and kills the program."}].
run_max_output(_Config) ->
    {ok, Root} = alcove_proc:fork(),
    try
        {error, {max_output, #{stdout := Out, stderr := <<>>}}} =
            alcove_proc:run(Root, ["yes"], #{max_output => 4096}),
        ?assertEqual(4096, byte_size(Out)),
        ?assertEqual([], alcove_proc:cpid(Root))
    after
        alcove_proc:stop(Root)
    end.

run_errors() -> [{doc, "run/3: a failed step, a missing program, an unknown option."}].
run_errors(_Config) ->
    {ok, Root} = alcove_proc:fork(),
    try
        ?assertEqual({error, {chdir, enoent}}, alcove_proc:run(Root, ["true"], [{cwd, "/nonexistent"}])),
        ?assertEqual({error, enoent}, alcove_proc:run(Root, ["/nonexistent/program"])),
        ?assertError(badarg, alcove_proc:run(Root, ["true"], #{bogus => 1})),
        ?assertError(badarg, alcove_proc:run(Root, ["true"], #{timeout => -1})),
        ?assertError(badarg, alcove_proc:run(Root, ["true"], [{max_output, many}])),
        ?assertEqual([], alcove_proc:cpid(Root))
    after
        alcove_proc:stop(Root)
    end.
