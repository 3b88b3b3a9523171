%%% Output and input handled by the driver itself: once a child of the
%%% root helper has exec'd, the helper passes the read ends of its stdout
%%% and stderr and the write end of its stdin to the NIF, which reads and
%%% writes them from then on. Every contract of the relayed path holds:
%%% bytes and order, output before the exit event, flow control, eof,
%%% stream events, stdin order and refusals (alcove_compat_SUITE's
%%% stdin_queue_zero runs on this path), exits without events, no fd left
%%% behind.
-module(alcove_direct_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("alcove/include/alcove.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    handed_over/1, handed_over/0,
    output_before_exit/1, output_before_exit/0,
    flow_after_exit/1, flow_after_exit/0,
    flow_windows/1, flow_windows/0,
    eof_stdout/1, eof_stdout/0,
    stream_events/1, stream_events/0,
    no_exit_event/1, no_exit_event/0,
    caller_reaps/1, caller_reaps/0,
    owner_gone_while_held/1, owner_gone_while_held/0,
    stdin_direct/1, stdin_direct/0,
    stdin_terms/1, stdin_terms/0,
    stdin_order_across_handover/1, stdin_order_across_handover/0,
    stdin_reader_gone/1, stdin_reader_gone/0,
    stdin_then_eof_at_exec/1, stdin_then_eof_at_exec/0,
    deeper_children_relayed/1, deeper_children_relayed/0,
    fork_exec_handed_over/1, fork_exec_handed_over/0,
    no_fd_left/1, no_fd_left/0,
    silent_kept/1, silent_kept/0,
    streaming_pipe_grows/1, streaming_pipe_grows/0,
    streaming_stdin_grows/1, streaming_stdin_grows/0,
    grown_pipes_capped/1, grown_pipes_capped/0
]).

all() ->
    [handed_over, output_before_exit, flow_after_exit, flow_windows, eof_stdout, stream_events,
     no_exit_event, caller_reaps, owner_gone_while_held, stdin_direct, stdin_terms,
     stdin_order_across_handover,
     stdin_reader_gone, stdin_then_eof_at_exec, deeper_children_relayed,
     fork_exec_handed_over, silent_kept, no_fd_left, streaming_pipe_grows, streaming_stdin_grows,
     grown_pipes_capped].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

handed_over() ->
    [{doc, "An exec'd program keeps its pipes in the helper until it is first given stdin (or "
           "writes): then the helper holds neither output pipe (cpid shows -1) and the output "
           "arrives whole."}].
handed_over(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    [#alcove_pid{stdout = Out0, stderr = Err0}] = alcove:cpid(Drv, []),
    ?assert(Out0 > 2 andalso Err0 > 2),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "read x; seq 1 200000; seq 1 1000 >&2"]),
    ?assertMatch([#alcove_pid{stdout = Out0, stderr = Err0}], alcove:cpid(Drv, [])),
    ok = alcove:stdin(Drv, [C], <<"go\n">>),
    ok = alcove_ct:wait_until(fun() ->
        [#alcove_pid{stdout = Out, stderr = Err}] = alcove:cpid(Drv, []),
        {Out, Err} =:= {-1, -1}
    end),
    % The helper keeps a copy of stdin's fd (fcntl, ioctl, close/3 on it).
    [#alcove_pid{stdin = In}] = alcove:cpid(Drv, []),
    ?assert(In > 2),
    {Stdout, Stderr, Exit} = alcove_ct:both_until_exit(Drv, [C]),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(seq(200000), Stdout),
    ?assertEqual(seq(1000), Stderr).

silent_kept() ->
    [{doc, "A program that neither writes nor is given stdin is never handed over: its pipes stay "
           "in the helper (none in the VM) and its end comes from there."}].
silent_kept(Config) ->
    Drv = ?config(drv, Config),
    Pipes0 = [Fd || Fd <- vm_fds(), is_pipe(Fd)],
    {ok, C} = alcove:fork_exec(Drv, [], ["/bin/sh", "-c", "read x"], []),
    [#alcove_pid{pid = C, stdout = Out, stderr = Err}] = alcove:cpid(Drv, []),
    ?assert(Out > 2 andalso Err > 2),
    % A program writing at once is handed over at once; this one, never.
    {ok, W} = alcove:fork_exec(Drv, [], ["/bin/sh", "-c", "echo hi; read x"], []),
    ok = alcove_ct:wait_until(fun() ->
        case lists:keyfind(W, #alcove_pid.pid, alcove:cpid(Drv, [])) of
            #alcove_pid{stdout = -1, stderr = -1} -> true;
            _ -> false
        end
    end),
    % W's stdout, stderr and stdin; none of C's.
    ?assertEqual(3, length(new_pipes(Pipes0))),
    ?assertMatch(#alcove_pid{stdout = Out, stderr = Err}, lists:keyfind(C, #alcove_pid.pid, alcove:cpid(Drv, []))),
    ok = alcove:eof(Drv, [C]),
    ?assertEqual({exit_status, 1}, wait_exit(Drv, [C])),
    ok = alcove:eof(Drv, [W]),
    ?assertEqual({<<"hi\n">>, {exit_status, 1}}, alcove_ct:read_until_exit(Drv, [W])).

output_before_exit() ->
    [{doc, "A program that writes 8 MiB and exits at once: every byte comes before the exit event, 20 times."}].
output_before_exit(Config) ->
    Drv = ?config(drv, Config),
    [begin
         {ok, C} = alcove:fork(Drv, []),
         ok = alcove:execvp(Drv, [C], "head", ["head", "-c", "8388608", "/dev/zero"]),
         {Stdout, <<>>, Exit} = alcove_ct:both_until_exit(Drv, [C]),
         ?assertEqual({exit_status, 0}, Exit),
         ?assertEqual(8388608, byte_size(Stdout))
     end || _ <- lists:seq(1, 20)].

flow_after_exit() ->
    [{doc, "flowcontrol 0: the program exits with its output unread; nothing comes until a grant, "
           "then the output and the exit event; setcpid finds the program until then."}].
flow_after_exit(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 0),
    ok = alcove:execvp(Drv, [C], "echo", ["echo", "held"]),
    ok = alcove_ct:wait_until(fun() -> alcove:kill(Drv, [], C, 0) =:= {error, esrch} end),
    ?assertEqual(false, alcove:event(Drv, [C], 300)),
    ?assertEqual([], alcove:stdout(Drv, [C], 0)),
    ?assertEqual(true, alcove:setcpid(Drv, [], C, flowcontrol, 1)),
    ?assertEqual(<<"held\n">>, iolist_to_binary(alcove:stdout(Drv, [C], 5000))),
    ?assertEqual({exit_status, 0}, alcove:event(Drv, [C], 5000)),
    ok = alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end).

flow_windows() ->
    [{doc, "flowcontrol N after exec lets N messages through at a time."}].
flow_windows(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    % It starts writing once told to, after the flow control is set.
    Awk = "awk 'BEGIN { for (i = 1; i <= 100000; i++) { print i; fflush() } }'",
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "read x; exec " ++ Awk]),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 4),
    ok = alcove:stdin(Drv, [C], <<"go\n">>),
    alcove_ct:granted(Drv, C, 4),
    true = alcove:setcpid(Drv, [], C, flowcontrol, 2),
    alcove_ct:granted(Drv, C, 2),
    true = alcove:setcpid(Drv, [], C, flowcontrol, -1),
    {_, _, Exit} = alcove_ct:both_until_exit(Drv, [C]),
    ?assertEqual({exit_status, 0}, Exit).

eof_stdout() ->
    [{doc, "eof/3 of stdout after exec: the driver closes it, the program gets SIGPIPE writing."}].
eof_stdout(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "read x; exec yes"]),
    ok = alcove:eof(Drv, [C], stdout),
    ?assertEqual({error, ebadf}, alcove:eof(Drv, [C], stdout)),
    ok = alcove:stdin(Drv, [C], <<"go\n">>),
    ?assertEqual({termsig, sigpipe}, wait_exit(Drv, [C])).

stream_events() ->
    [{doc, "stdout_closed and stderr_closed events come for a program whose streams the driver reads."}].
stream_events(Config) ->
    Drv = ?config(drv, Config),
    true = alcove:setopt(Drv, [], stdout_closed, 1),
    true = alcove:setopt(Drv, [], stderr_closed, 1),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "exec 1>&-; exec 2>&-; read x; exit 0"]),
    ?assertEqual(lists:sort([stdout_closed, stderr_closed]),
                 lists:sort([alcove:event(Drv, [C], 5000), alcove:event(Drv, [C], 5000)])),
    ok = alcove:eof(Drv, [C]),
    ?assertEqual({exit_status, 0}, alcove:event(Drv, [C], 5000)).

no_exit_event() ->
    [{doc, "With exit events off, the output still comes and the program is forgotten once it has."}].
no_exit_event(Config) ->
    Drv = ?config(drv, Config),
    true = alcove:setopt(Drv, [], exit_status, 0),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "echo", ["echo", "quiet"]),
    ?assertEqual(<<"quiet\n">>, iolist_to_binary(alcove_ct:read_stdout(Drv, [C], 6))),
    ok = alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end),
    ?assertEqual(false, alcove:event(Drv, [C], 0)).

caller_reaps() ->
    [{doc, "SIGCHLD trapped by the caller, who reaps with waitpid: the output comes, the program is forgotten."}].
caller_reaps(Config) ->
    Drv = ?config(drv, Config),
    {ok, _} = alcove:sigaction(Drv, [], sigchld, sig_info),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "echo", ["echo", "reaped"]),
    ?assertMatch({signal, sigchld, _}, alcove:event(Drv, [], 5000)),
    ?assertMatch({ok, C, _, _}, alcove:waitpid(Drv, [], C, [])),
    ?assertEqual(<<"reaped\n">>, iolist_to_binary(alcove_ct:read_stdout(Drv, [C], 7))),
    ok = alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end).

owner_gone_while_held() ->
    [{doc, "A program that exited with output held by flowcontrol 0: once its owner exits it is forgotten."}].
owner_gone_while_held(Config) ->
    Drv = ?config(drv, Config),
    Self = self(),
    Owner = spawn(fun() ->
        {ok, C} = alcove:fork(Drv, []),
        true = alcove:setcpid(Drv, [], C, flowcontrol, 0),
        ok = alcove:execvp(Drv, [C], "echo", ["echo", "never read"]),
        ok = alcove_ct:wait_until(fun() -> alcove:kill(Drv, [], C, 0) =:= {error, esrch} end),
        Self ! {exited, C},
        receive stop -> ok end
    end),
    C = receive {exited, P} -> P after 10000 -> error(no_exit) end,
    ?assertMatch([#alcove_pid{pid = C}], alcove:cpid(Drv, [])),
    exit(Owner, kill),
    ok = alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end).

stdin_direct() ->
    [{doc, "stdin written by the driver: cat echoes 4 MiB back in order, eof ends it."}].
stdin_direct(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "cat", ["cat"]),
    Data = crypto:strong_rand_bytes(4 * 1024 * 1024),
    Self = self(),
    spawn_link(fun() ->
        [ok = alcove:stdin(Drv, [C], Chunk) || Chunk <- chunks(Data, 65536)],
        Self ! sent
    end),
    receive sent -> ok after 30000 -> error(stdin_timeout) end,
    Echoed = iolist_to_binary(alcove_ct:read_stdout(Drv, [C], byte_size(Data))),
    ?assertEqual(erlang:md5(Data), erlang:md5(Echoed)),
    ok = alcove:eof(Drv, [C]),
    ?assertEqual({exit_status, 0}, wait_exit(Drv, [C])).

stdin_terms() ->
    [{doc, "A refc binary, a sub-binary (byte-aligned or not), a heap binary and an iolist reach a "
           "handed-over stdin whole and in order; a bitstring raises badarg and sends nothing."}].
stdin_terms(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "cat", ["cat"]),
    % Echoed: the program runs and its output pipe is the driver's.
    ok = alcove:stdin(Drv, [C], <<"ready\n">>),
    ?assertEqual(<<"ready\n">>, iolist_to_binary(alcove_ct:read_stdout(Drv, [C], 6))),
    Big = crypto:strong_rand_bytes(100000),
    <<_:3, Unaligned:40000/binary, _/bitstring>> = Big,
    Parts = [Big, binary:part(Big, 1, 70000), Unaligned, <<"short">>, ["io", $l, [<<"ist">>]]],
    ?assertError(badarg, alcove:stdin(Drv, [C], <<1:3>>)),
    ?assertError(badarg, alcove:stdin(Drv, [C], [<<"a">>, <<1:3>>])),
    [ok = alcove:stdin(Drv, [C], Part) || Part <- Parts],
    Want = iolist_to_binary(Parts),
    Got = iolist_to_binary(alcove_ct:read_stdout(Drv, [C], byte_size(Want))),
    ?assertEqual(byte_size(Want), byte_size(Got)),
    ?assertEqual(erlang:md5(Want), erlang:md5(Got)),
    ok = alcove:eof(Drv, [C]),
    ?assertEqual({exit_status, 0}, wait_exit(Drv, [C])).

stdin_order_across_handover() ->
    [{doc, "Chunks sent while the program execs (some through the helper, some not) arrive in order."}].
stdin_order_across_handover(Config) ->
    Drv = ?config(drv, Config),
    [begin
         {ok, C} = alcove:fork(Drv, []),
         Self = self(),
         Writer = spawn_link(fun() ->
             receive go -> ok end,
             [ok = alcove:stdin(Drv, [C], [integer_to_list(N), $\n]) || N <- lists:seq(1, 3000)],
             Self ! {sent, self()}
         end),
         Writer ! go,
         ok = alcove:execvp(Drv, [C], "cat", ["cat"]),
         receive {sent, Writer} -> ok after 30000 -> error(writer_timeout) end,
         ok = alcove:eof(Drv, [C]),
         {Stdout, <<>>, Exit} = alcove_ct:both_until_exit(Drv, [C]),
         ?assertEqual({exit_status, 0}, Exit),
         ?assertEqual(seq(3000), Stdout)
     end || _ <- lists:seq(1, 10)].

stdin_then_eof_at_exec() ->
    [{doc, "stdin then eof right after exec, 50 times: the bytes arrive, then end of file."}].
stdin_then_eof_at_exec(Config) ->
    Drv = ?config(drv, Config),
    [begin
         {ok, C} = alcove:fork(Drv, []),
         ok = alcove:execvp(Drv, [C], "wc", ["wc", "-c"]),
         ok = alcove:stdin(Drv, [C], <<"12345">>),
         ok = alcove:eof(Drv, [C], stdin),
         {Stdout, <<>>, Exit} = alcove_ct:both_until_exit(Drv, [C]),
         ?assertEqual({exit_status, 0}, Exit),
         ?assertEqual(<<"5">>, string:trim(Stdout))
     end || _ <- lists:seq(1, 50)].

stdin_reader_gone() ->
    [{doc, "stdin to a program that closed its stdin is refused (0), the driver lives on."}].
stdin_reader_gone(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", "exec 0<&-; echo closed; exec sleep 60"]),
    ?assertEqual(<<"closed\n">>, iolist_to_binary(alcove_ct:read_stdout(Drv, [C], 7))),
    ok = alcove:stdin(Drv, [C], <<"lost">>),
    ?assertEqual(0, receive {alcove_pipe, Drv, [C], W} -> W after 10000 -> error(no_refusal) end),
    ?assert(is_integer(alcove:getpid(Drv, []))),
    ok = alcove:kill(Drv, [], C, 9),
    ?assertEqual({termsig, sigkill}, wait_exit(Drv, [C])).

deeper_children_relayed() ->
    [{doc, "A program two levels down keeps the relayed path: its helper holds its pipes, output is whole."}].
deeper_children_relayed(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, P} = alcove:fork(Drv, [C]),
    % It waits for a line first: C's record of it is looked at while it runs.
    ok = alcove:execvp(Drv, [C, P], "sh", ["sh", "-c", "read go && exec seq 1 100000"]),
    [#alcove_pid{stdout = Out}] = alcove:cpid(Drv, [C]),
    ?assert(Out > 2),
    ok = alcove:stdin(Drv, [C, P], <<"go\n">>),
    {Stdout, <<>>, Exit} = alcove_ct:both_until_exit(Drv, [C, P]),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(seq(100000), Stdout).

fork_exec_handed_over() ->
    [{doc, "A program started with fork_exec is handed over too, at its first stdin: cpid shows "
           "-1, output whole."}].
fork_exec_handed_over(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork_exec(Drv, [], ["/bin/sh", "-c", "read x; seq 1 50000"], []),
    ok = alcove:stdin(Drv, [C], <<"go\n">>),
    ok = alcove_ct:wait_until(fun() ->
        case alcove:cpid(Drv, []) of
            [#alcove_pid{pid = C, stdout = -1, stderr = -1}] -> true;
            [#alcove_pid{pid = C}] -> false;
            % Done already: handed over or not, it is gone.
            [] -> true
        end
    end),
    {Stdout, <<>>, Exit} = alcove_ct:both_until_exit(Drv, [C]),
    ?assertEqual({exit_status, 0}, Exit),
    ?assertEqual(seq(50000), Stdout).

no_fd_left() ->
    [{doc, "100 programs later the VM holds no more fds than before; the passed fds are close-on-exec."}].
no_fd_left(Config) ->
    Drv = ?config(drv, Config),
    Pipes0 = [Fd || Fd <- vm_fds(), is_pipe(Fd)],
    {ok, C0} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C0], "/bin/sh", ["sh", "-c", "read x; read y; exit 0"]),
    ok = alcove:stdin(Drv, [C0], <<"x\n">>),
    % The program's stdout, stderr and stdin, now the VM's: close-on-exec, so
    % no port program or os:cmd child inherits them.
    ok = alcove_ct:wait_until(fun() -> length(new_pipes(Pipes0)) =:= 3 end),
    ?assert(lists:all(fun cloexec/1, new_pipes(Pipes0))),
    ok = alcove:eof(Drv, [C0]),
    {exit_status, 0} = wait_exit(Drv, [C0]),
    ok = alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end),
    Before = length(vm_fds()),
    [begin
         {ok, C} = alcove:fork(Drv, []),
         ok = alcove:execvp(Drv, [C], "echo", ["echo", integer_to_list(N)]),
         {_, _, {exit_status, 0}} = alcove_ct:both_until_exit(Drv, [C])
     end || N <- lists:seq(1, 100)],
    ok = alcove_ct:wait_until(fun() -> alcove:cpid(Drv, []) =:= [] end),
    ?assertEqual(Before, length(vm_fds())).

%%% helpers

seq(N) ->
    iolist_to_binary([[integer_to_list(I), $\n] || I <- lists:seq(1, N)]).

chunks(<<Chunk:65536/binary, Rest/binary>>, 65536) -> [Chunk | chunks(Rest, 65536)];
chunks(<<>>, _) -> [];
chunks(Rest, _) -> [Rest].

wait_exit(Drv, P) ->
    receive
        {alcove_event, Drv, P, {exit_status, _} = Exit} -> Exit;
        {alcove_event, Drv, P, {termsig, _} = Exit} -> Exit
    after 30000 -> error(no_exit)
    end.

vm_fds() ->
    {ok, Fds} = file:list_dir("/proc/self/fd"),
    Fds.

new_pipes(Before) ->
    [Fd || Fd <- vm_fds(), is_pipe(Fd), not lists:member(Fd, Before)].

is_pipe(Fd) ->
    case file:read_link("/proc/self/fd/" ++ Fd) of
        {ok, "pipe:" ++ _} -> true;
        _ -> false
    end.

%% O_CLOEXEC in the fd's flags (octal 02000000).
cloexec(Fd) ->
    case file:read_file("/proc/self/fdinfo/" ++ Fd) of
        {ok, Info} ->
            [Flags] = [F || <<"flags:\t", F/binary>> <- binary:split(Info, <<"\n">>, [global])],
            binary_to_integer(Flags, 8) band 8#2000000 =/= 0;
        {error, enoent} -> true
    end.

streaming_pipe_grows() ->
    [{doc, "Once 256 KiB of the stdout of a program fed through stdin have been read, its pipe "
           "holds 1 MiB: with reads stopped it writes 900,000 bytes more and exits, where one "
           "that wrote little, one paced by a flow control limit, or one that only writes (a "
           "producer, as a port's program) is blocked at 64 KiB. A grown pipe is read 128 KiB "
           "at a time, another 64 KiB."}].
streaming_pipe_grows(Config) ->
    Drv = ?config(drv, Config),
    Run = fun(Fed, First, Flow) ->
        {ok, C} = alcove:fork(Drv, []),
        true = alcove:setcpid(Drv, [], C, flowcontrol, Flow),
        Script = [
            case Fed of
                true -> "read x; ";
                false -> ""
            end,
            "head -c ", integer_to_list(First), " /dev/zero; read y; exec head -c 900000 /dev/zero"
        ],
        ok = alcove:execvp(Drv, [C], "/bin/sh", ["sh", "-c", lists:flatten(Script)]),
        Fed andalso alcove:stdin(Drv, [C], <<"go\n">>),
        % The first part read whole (the program then waits on stdin),
        % then no more reads.
        ok = stdout_bytes(Drv, C, First),
        true = alcove:setcpid(Drv, [], C, flowcontrol, 0),
        ok = alcove:stdin(Drv, [C], <<"go\n">>),
        C
    end,
    Streamed = Run(true, 300000, -1),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:ended(Streamed) end)),
    Quiet = Run(true, 1000, -1),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:blocked_writing(Quiet) end)),
    ?assertNot(alcove_ct:ended(Quiet)),
    % Paced by a flow control limit, a pipe does not grow, however much
    % has come through it.
    Paced = Run(true, 300000, 100000),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:blocked_writing(Paced) end)),
    ?assertNot(alcove_ct:ended(Paced)),
    % Nor does the pipe of a program given nothing on stdin while it
    % streamed.
    Producer = Run(false, 300000, -1),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> alcove_ct:blocked_writing(Producer) end)),
    ?assertNot(alcove_ct:ended(Producer)),
    % Everything still arrives once reads resume, then the exit events.
    Sizes = [begin
                 true = alcove:setcpid(Drv, [], C, flowcontrol, -1),
                 {N, Exit, Chunks} = count_until_exit(Drv, C, 0, []),
                 ?assertEqual({900000, {exit_status, 0}}, {N, Exit}),
                 Chunks
             end || C <- [Streamed, Quiet, Paced, Producer]],
    % The first read after the pause finds a full pipe: 128 KiB of the
    % grown one, 64 KiB of the others (which grow only later in the
    % stream, the producer now that it was fed); no read is ever larger.
    ?assertEqual([131072, 65536, 65536, 65536], [hd(Chunks) || Chunks <- Sizes]),
    ?assertEqual(131072, lists:max(lists:append(Sizes))).

stdout_bytes(_Drv, _C, 0) ->
    ok;
stdout_bytes(Drv, C, Left) when Left > 0 ->
    receive
        {alcove_stdout, Drv, [C], Data} -> stdout_bytes(Drv, C, Left - byte_size(Data))
    after 10000 -> {missing, Left}
    end.

count_until_exit(Drv, C, N, Chunks) ->
    receive
        {alcove_stdout, Drv, [C], Data} ->
            count_until_exit(Drv, C, N + byte_size(Data), [byte_size(Data) | Chunks]);
        {alcove_event, Drv, [C], {exit_status, _} = Exit} -> {N, Exit, lists:reverse(Chunks)}
    after 10000 -> {timeout, N, lists:reverse(Chunks)}
    end.

streaming_stdin_grows() ->
    [{doc, "A program's stdin pipe keeps its size (64 KiB) until 256 KiB have gone through it, then "
           "holds 1 MiB (seen through the helper's copy of its write end)."}].
streaming_stdin_grows(Config) ->
    Drv = ?config(drv, Config),
    {ok, C} = alcove:fork(Drv, []),
    ok = alcove:execvp(Drv, [C], "cat", ["cat"]),
    Stdin = alcove:getcpid(Drv, [], C, stdin),
    PipeSize = fun() -> {ok, Size} = alcove:fcntl(Drv, [], Stdin, f_getpipe_sz, 0), Size end,
    Initial = PipeSize(),
    ?assert(Initial < 1 bsl 20),
    Echo = fun(Bytes) ->
        ok = alcove:stdin(Drv, [C], binary:copy(<<"y">>, Bytes)),
        ok = stdout_bytes(Drv, C, Bytes)
    end,
    Echo(100000),
    ?assertEqual(Initial, PipeSize()),
    Echo(200000),
    ?assertEqual(1 bsl 20, PipeSize()),
    ok = alcove:eof(Drv, [C]),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [C])).

grown_pipes_capped() ->
    [{doc, "At most 16 pipes are grown at once in a VM (16 MiB counted against the helper's user): "
           "of 20 streaming `cat`s (stdin and stdout each) only the first 8 grow; once those "
           "have gone, a new one grows again."}].
grown_pipes_capped(Config) ->
    Drv = ?config(drv, Config),
    Start = fun() ->
        {ok, C} = alcove:fork(Drv, []),
        ok = alcove:execvp(Drv, [C], "cat", ["cat"]),
        % The first byte hands the program over (through the helper); the
        % rest is the driver's to write, and grows the pipe.
        ok = alcove:stdin(Drv, [C], <<"z">>),
        ok = stdout_bytes(Drv, C, 1),
        ok = alcove:stdin(Drv, [C], binary:copy(<<"z">>, 300000)),
        ok = stdout_bytes(Drv, C, 300000),
        C
    end,
    Grown = fun(C) ->
        {ok, Size} = alcove:fcntl(Drv, [], alcove:getcpid(Drv, [], C, stdin), f_getpipe_sz, 0),
        Size =:= 1 bsl 20
    end,
    Cats = [Start() || _ <- lists:seq(1, 20)],
    {Big, Small} = lists:partition(Grown, Cats),
    ct:pal("stdin pipes grown: ~b of ~b", [length(Big), length(Cats)]),
    ?assert(length(Big) >= 1 andalso length(Big) =< 8),
    [begin ok = alcove:eof(Drv, [C]), {exit_status, 0} = alcove_ct:wait_exit(Drv, [C]) end || C <- Big],
    ok = alcove_ct:wait_until(fun() -> lists:all(fun(C) -> not lists:keymember(C, 2, alcove:cpid(Drv, [])) end, Big) end),
    ?assert(Grown(Start())),
    [alcove:kill(Drv, [], C, sigkill) || C <- Small].
