%%% The sandbox demo: a process in new PID, mount, UTS, IPC and network
%%% namespaces sets its hostname and mounts its own /proc, then runs
%%% busybox sh, whose output streams back through alcove as it is written.
-module(nsdemo).

-export([main/0, run/1]).

%% @doc Run the demo and halt with its status.
-spec main() -> no_return().
main() ->
    Status =
        try run(fun(Line) -> io:put_chars(Line) end) of
            {exit_status, 0} -> 0;
            Other -> io:format("demo: child ended with ~p~n", [Other]), 1
        catch
            Class:Reason:Stack ->
                io:format("demo failed: ~p:~p~n~p~n", [Class, Reason, Stack]),
                1
        end,
    halt(Status).

%% @doc Run the demo, passing each chunk of output to `Print'; returns the
%% sandboxed process's exit event.
-spec run(fun((iodata()) -> any())) -> term().
run(Print) ->
    % Namespaces need root: use sudo for the helper when we are not.
    Opts = case os:cmd("id -u") of "0\n" -> []; _ -> [{exec, "sudo -n"}] end,
    {ok, Drv} = alcove_drv:start_link(Opts),
    try
        {ok, Child} = alcove:clone(Drv, [], [clone_newpid, clone_newns, clone_newuts, clone_newipc, clone_newnet]),
        ok = alcove:sethostname(Drv, [Child], "alcove-sandbox"),
        % Its own /proc, in its own mount namespace (private, so nothing
        % propagates back to the host): ps sees only the sandbox.
        ok = alcove:mount(Drv, [Child], "none", "/", "", [ms_rec, ms_private], "", ""),
        ok = alcove:mount(Drv, [Child], "proc", "/proc", "proc", [ms_nosuid, ms_nodev, ms_noexec], "", ""),
        Print(io_lib:format("[erlang] cloned ~p into new namespaces; inside it is pid ~p~n",
                            [Child, alcove:getpid(Drv, [Child])])),
        Script = "echo \"pid: $$\"; echo \"hostname: $(busybox hostname)\"; "
                 "echo 'interfaces:'; busybox ip -o link | busybox cut -d: -f2; "
                 "echo 'processes:'; busybox ps -o pid,comm",
        ok = alcove:execvp(Drv, [Child], busybox(), ["busybox", "sh", "-c", Script]),
        stream(Drv, [Child], Print)
    after
        alcove_drv:stop(Drv)
    end.

busybox() ->
    hd([P || P <- ["/bin/busybox", "/usr/bin/busybox"], filelib:is_regular(P)] ++ ["busybox"]).

stream(Drv, Pipeline, Print) ->
    receive
        % Output is printed as it arrives, before the exit event.
        {alcove_stdout, Drv, Pipeline, Data} -> Print(Data), stream(Drv, Pipeline, Print);
        {alcove_stderr, Drv, Pipeline, Data} -> Print(Data), stream(Drv, Pipeline, Print);
        {alcove_event, Drv, Pipeline, {exit_status, _} = Exit} -> Exit;
        {alcove_event, Drv, Pipeline, {termsig, _} = Exit} -> Exit
    after 10000 -> timeout
    end.
