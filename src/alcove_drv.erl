%%% @doc The alcove driver: starts the helper, owns its lifecycle, and is
%%% the `Drv' every call names. Calls do not pass through this process:
%%% they go straight to the NIF, and replies come straight back to the
%%% caller.
-module(alcove_drv).
-behaviour(gen_server).

-include_lib("kernel/include/file.hrl").

-export([
    start/0, start/1, start/2,
    start_link/0, start_link/1, start_link/2,
    stop/1,
    call/5,
    stdin/3,
    stdout/3,
    stderr/3,
    event/3,
    controlling_process/3,
    progname/0,
    getopts/1
]).

-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-type ref() :: pid().
-export_type([ref/0]).

-record(state, {
    owner :: pid(),
    resource :: reference(),
    argv :: [string()],
    helper :: non_neg_integer(),
    stopping = false :: boolean()
}).

%% How long stop/1 waits for the helper tree to be gone.
%% Larger stdin writes are streamed from a dirty scheduler.
-define(STDIN_FLAT_MAX, 1048576).
%% Held output flows again when fewer of its messages than this wait.
-define(HOLD_LOW_WATER, 16).
%% Mailboxes longer than this are not looked through.
-define(HOLD_SCAN_MAX, 10000).
%% How often a held owner's mailbox is looked at: first, and at most.
-define(HOLD_POLL_MS, 1).
-define(HOLD_POLL_MAX_MS, 50).
-define(STOP_TIMEOUT_MS, 10000).

%% @doc Start a driver owned by the caller, unlinked.
-spec start() -> {ok, ref()} | {error, term()}.
start() -> start(self(), []).

%% @doc Start a driver owned by the caller, unlinked, with options.
-spec start(proplists:proplist()) -> {ok, ref()} | {error, term()}.
start(Opts) -> start(self(), Opts).

%% @doc Start a driver owned by `Owner': it gets the root's events and the
%% tree is torn down when it exits.
-spec start(pid(), proplists:proplist()) -> {ok, ref()} | {error, term()}.
start(Owner, Opts) when is_pid(Owner), is_list(Opts) ->
    case check_options(Opts) of
        ok -> gen_server:start(?MODULE, [Owner, Opts], []);
        Error -> Error
    end.

%% @doc Start a driver linked to and owned by the caller.
-spec start_link() -> {ok, ref()} | {error, term()}.
start_link() -> start_link(self(), []).

%% @doc Start a driver linked to and owned by the caller, with options.
-spec start_link(proplists:proplist()) -> {ok, ref()} | {error, term()}.
start_link(Opts) -> start_link(self(), Opts).

%% @doc Start a driver linked to the caller and owned by `Owner'.
-spec start_link(pid(), proplists:proplist()) -> {ok, ref()} | {error, term()}.
start_link(Owner, Opts) when is_pid(Owner), is_list(Opts) ->
    case check_options(Opts) of
        ok -> gen_server:start_link(?MODULE, [Owner, Opts], []);
        Error -> Error
    end.

%% Every option is checked before anything starts: a wrong name, type or
%% range is `{error, {badopt, Opt}}'. Bare atoms stand for `{Atom, true}'.
check_options(Opts) ->
    Unfold = fun(Opt) when is_atom(Opt) -> {Opt, true}; (Opt) -> Opt end,
    case [Opt || Opt <- Opts, not valid_option(Unfold(Opt))] of
        [] -> ok;
        [Bad | _] -> {error, {badopt, Bad}}
    end.

valid_option({exec, Exec}) -> is_chars(Exec);
valid_option({progname, Path}) -> is_chars(Path);
valid_option({env, Env}) when is_list(Env) ->
    lists:all(fun({K, V}) -> is_name(K) andalso is_name(V); (_) -> false end, Env);
valid_option({ctldir, Dir}) -> is_chars(Dir);
valid_option({owner_exit_signal, Signal}) -> is_integer(Signal) andalso Signal >= 1 andalso Signal =< 64;
valid_option({stderr_to_stdout, Flag}) -> is_flag(Flag);
valid_option({Name, Value}) ->
    case lists:keyfind(Name, 1, helper_options()) of
        {Name, Min, Max} -> in_range(Value, Min, Max);
        false -> false
    end;
valid_option(_) ->
    false.

%% Start options passed to the helper, with their ranges (as setopt takes them).
helper_options() ->
    [{maxchild, 0, 16#7fffffff}, {maxforkdepth, 0, 16#7fffffff}, {depth, 0, 1024},
     {exit_status, 0, 1}, {termsig, 0, 1}, {flowcontrol, -1, 16#7fffffff},
     {signaloneof, 0, 64}, {stdin_closed, 0, 1}, {stdout_closed, 0, 1},
     {stderr_closed, 0, 1}, {stdin_queue, 0, 16 * 1024 * 1024}, {pty, 0, 1}].

in_range(true, Min, Max) -> in_range(1, Min, Max);
in_range(false, Min, Max) -> in_range(0, Min, Max);
in_range(N, Min, Max) -> is_integer(N) andalso N >= Min andalso N =< Max.

is_flag(Flag) -> is_boolean(Flag) orelse Flag =:= 0 orelse Flag =:= 1.

is_name(Name) -> is_atom(Name) orelse is_chars(Name).

is_chars(Chars) when is_binary(Chars) -> true;
is_chars(Chars) when is_list(Chars) ->
    try unicode:characters_to_binary(Chars) of
        Bin -> is_binary(Bin)
    catch
        _:_ -> false
    end;
is_chars(_) -> false.

%% @doc Stop the driver: the helper and every process under it are gone
%% (and reaped) when this returns.
-spec stop(ref()) -> ok.
stop(Drv) ->
    try
        gen_server:call(Drv, stop, infinity)
    catch
        % Stopped already (or its helper is gone and it with it): nothing
        % left to stop.
        exit:{noproc, _} -> ok;
        exit:{normal, _} -> ok
    end.

%% @doc The default helper path.
-spec progname() -> file:filename().
progname() ->
    filename:absname(filename:join(alcove_nif:priv_dir(), "alcove")).

%% @doc The helper's argv for these start options, as in the original
%% alcove: the `exec' prefix (`"sudo -n"'), the helper (`progname'), then
%% `-d Depth' and `-m Maxchild' and this project's other options as
%% `--name Value'. The first element is resolved with
%% `os:find_executable/1' (`badarg' when it cannot be found). Given a
%% running driver instead, the argv it was started with.
%%
%% To re-execute a helper in place (as prx does), exec this argv with
%% `{depth, length(Pipeline)}' after clearing close-on-exec on fds 3, 4
%% and 5: the new image goes on serving the same pipeline.
-spec getopts(proplists:proplist() | ref()) -> [string()].
getopts(Drv) when is_pid(Drv) ->
    gen_server:call(Drv, getopts, infinity);
getopts(Opts) when is_list(Opts) ->
    Exec = string:tokens(to_list(proplists:get_value(exec, Opts, "")), " "),
    Progname = to_list(proplists:get_value(progname, Opts, progname())),
    Switches = lists:append([switch(Opt) || Opt <- proplists:unfold(Opts)]),
    [Cmd | Argv] = [Arg || Arg <- Exec ++ [Progname | Switches], Arg =/= ""],
    case find_executable(Cmd) of
        false -> erlang:error(badarg, [Opts]);
        Path -> [Path | Argv]
    end.

%% A name with a slash is a path (relative to the current directory);
%% others are looked up in PATH.
find_executable(Cmd) ->
    case lists:member($/, Cmd) of
        false ->
            os:find_executable(Cmd);
        true ->
            Path = filename:absname(Cmd),
            case file:read_file_info(Path) of
                {ok, #file_info{type = regular, mode = Mode}} when Mode band 8#111 =/= 0 -> Path;
                _ -> false
            end
    end.

switch({depth, N}) when is_integer(N) -> ["-d", integer_to_list(N)];
switch({maxchild, N}) when is_integer(N) -> ["-m", integer_to_list(N)];
switch({stderr_to_stdout, true}) -> ["--stderr_to_stdout", "1"];
switch({Name, N}) when is_integer(N) ->
    case lists:keymember(Name, 1, helper_options()) orelse Name =:= stderr_to_stdout of
        true -> ["--" ++ atom_to_list(Name), integer_to_list(N)];
        false -> []
    end;
switch(_) -> [].

%% @doc Make call `Call' (a name, or its number in alcove_proto) and wait
%% for its reply. Raises `badpid' for a pipeline naming a process that is
%% not there, `undef' for a call filtered or not on this OS, `badarg' for
%% bad arguments, `{termsig, Sig}' or `{exit_status, N}' if the process
%% dies during the call, `closed' if the helper goes away; exits `timeout'
%% after `Timeout' (the late reply is dropped, never left in the mailbox).
%%
%% With a name, the errors are returned as `{alcove_error, Reason}' instead
%% (`timeout' included), as the original `alcove_drv:call/5' did.
-spec call(ref(), [integer()], atom() | non_neg_integer(), [term()], timeout()) -> term().
call(Drv, Pipeline, Call, Args, Timeout) when is_atom(Call) ->
    case lists:member(Call, alcove_proto:calls()) of
        false ->
            {alcove_error, undef};
        true ->
            try
                call(Drv, Pipeline, alcove_proto:call(Call), Args, Timeout)
            catch
                error:Reason -> {alcove_error, Reason};
                exit:timeout -> {alcove_error, timeout}
            end
    end;
call(Drv, Pipeline, Call, Args, Timeout) ->
    case is_integer(Call) andalso Call >= 0 andalso Call < length(alcove_proto:calls()) of
        true -> ok;
        % No such call: as a call filtered out.
        false -> erlang:error(undef, [Drv, Pipeline, Call, Args, Timeout])
    end,
    RequestId =
        try
            alcove_nif:call(Drv, Pipeline, Call, Args)
        catch
            error:Refused -> erlang:error(refusal(Refused, Drv), [Drv, Pipeline, Call, Args, Timeout])
        end,
    receive
        % A filtered call is answered undef, as in the original.
        {alcove_call, Drv, Pipeline, undef} ->
            raise(undef, Drv, Pipeline, Call, Args);
        % The reply to this caller's one outstanding call on this pipeline.
        {alcove_call, Drv, Pipeline, Reply} ->
            Reply;
        % The call failed in a way that raises (badpid, badarg, closed, or
        % how the process ended).
        {alcove_ctl, Drv, Pipeline, Reason} ->
            raise(Reason, Drv, Pipeline, Call, Args)
    after Timeout ->
        case alcove_nif:cancel(Drv, RequestId) of
            true ->
                ok;
            false ->
                % The reply was sent before the cancel: take it out of the mailbox.
                receive
                    {alcove_call, Drv, Pipeline, _} -> ok;
                    {alcove_ctl, Drv, Pipeline, _} -> ok
                end
        end,
        exit(timeout)
    end.

%% A filtered call raises undef naming the public function, like any
%% undefined function; other reasons name this call.
raise(undef, Drv, Pipeline, Call, Args) ->
    Name = lists:nth(Call + 1, alcove_proto:calls()),
    erlang:raise(error, undef, [{alcove, Name, [Drv, Pipeline | Args], []}]);
raise(Reason, Drv, Pipeline, Call, Args) ->
    erlang:error(Reason, [Drv, Pipeline, Call, Args]).

%% @doc Write to a child's stdin; asynchronous.
-spec stdin(ref(), [integer()], iodata()) -> ok.
stdin(Drv, Pipeline, Data) ->
    try
        % Up to 1 MiB is flattened on this scheduler; more is streamed from
        % a dirty one without being flattened (a binary referenced many
        % times would otherwise be copied as many times, all at once).
        case is_binary(Data) orelse iolist_size(Data) =< ?STDIN_FLAT_MAX of
            true -> alcove_nif:stdin(Drv, Pipeline, Data);
            false -> alcove_nif:stdin_stream(Drv, Pipeline, Data)
        end
    catch
        error:Refused -> erlang:error(refusal(Refused, Drv), [Drv, Pipeline, Data])
    end.

%% Why the NIF refused: `closed' for a driver that has stopped or is
%% stopping (its helper gone), `badarg' for bad arguments or a pid that
%% never was a driver.
refusal(alcove_no_driver, Drv) when is_pid(Drv) ->
    case node(Drv) =:= node() andalso process_info(Drv, dictionary) of
        % Gone: a driver whose process exited.
        undefined -> closed;
        {dictionary, Dict} ->
            case proplists:get_value('$initial_call', Dict) of
                {?MODULE, init, 1} -> closed;
                _ -> badarg
            end;
        false -> badarg
    end;
refusal(closed, _Drv) ->
    closed;
refusal(_, _Drv) ->
    badarg.

%% @doc One chunk of a process's stdout, waiting up to `Timeout'; `false'
%% when none came. If stdin to the process was refused (an `alcove_pipe'
%% message, see the README), `{alcove_pipe, {eagain, Bytes}}' instead, as
%% in the original.
-spec stdout(ref(), [integer()], timeout()) ->
    false | binary() | {alcove_pipe, {eagain, integer()}}.
stdout(Drv, Pipeline, Timeout) ->
    output(alcove_stdout, Drv, Pipeline, Timeout).

%% @doc One chunk of a process's stderr, as stdout/3.
-spec stderr(ref(), [integer()], timeout()) ->
    false | binary() | {alcove_pipe, {eagain, integer()}}.
stderr(Drv, Pipeline, Timeout) ->
    output(alcove_stderr, Drv, Pipeline, Timeout).

output(Tag, Drv, Pipeline, Timeout) ->
    receive
        % Stdin written to this process was refused.
        {alcove_pipe, Drv, Pipeline, Bytes} -> {alcove_pipe, {eagain, Bytes}};
        % Output, in the order it was written.
        {Tag, Drv, Pipeline, Data} -> Data
    after Timeout -> false
    end.

%% @doc One event of a process (`{exit_status, N}', `{termsig, Sig}',
%% `{signal, Sig, Info}', ...), waiting up to `Timeout'; `false' when none
%% came.
-spec event(ref(), [integer()], timeout()) -> term().
event(Drv, Pipeline, Timeout) ->
    receive
        % Events are delivered to the owner of the process.
        {alcove_event, Drv, Pipeline, Event} -> Event
    after Timeout -> false
    end.

%% @doc Make `Pid' the owner of the process at `Pipeline': it receives its
%% output and events, and its exit kills the process. Only the current
%% owner may call this.
-spec controlling_process(ref(), [integer()], pid()) -> ok | {error, not_owner}.
controlling_process(Drv, Pipeline, Pid) when is_pid(Pid) ->
    try
        alcove_nif:controlling_process(Drv, Pipeline, Pid)
    catch
        error:Refused -> erlang:error(refusal(Refused, Drv), [Drv, Pipeline, Pid])
    end.

%%% gen_server callbacks

%% @private
init([Owner, Opts]) ->
    process_flag(trap_exit, true),
    erlang:monitor(process, Owner),
    try getopts(Opts) of
        Argv -> start_helper(Owner, Opts, Argv)
    catch
        % The helper (or the exec prefix's program) is not there.
        error:badarg -> {stop, {helper_start_failed, enoent}}
    end.

start_helper(Owner, Opts, Argv) ->
    Env = [{to_bin(K), to_bin(V)} || {K, V} <- proplists:get_value(env, Opts, [])],
    Numbers = {alcove_proto:call(fork), alcove_proto:call(clone), alcove_proto:call(kill), alcove_proto:call(fork_exec)},
    Signal = proplists:get_value(owner_exit_signal, Opts, 9),
    case alcove_nif:start(self(), Owner, [to_bin(A) || A <- Argv], Env, Numbers, Signal) of
        {ok, Resource, Helper} ->
            {ok, #state{owner = Owner, resource = Resource, argv = Argv, helper = Helper}};
        {error, Errno} ->
            {stop, {helper_start_failed, Errno}}
    end.

%% @private
handle_call(stop, _From, State) ->
    {stop, normal, ok, State};
handle_call(getopts, _From, #state{argv = Argv} = State) ->
    {reply, Argv, State};
handle_call(fdexe, _From, State) ->
    % prx's driver answers with an fd of the helper binary open in the
    % helper; this one has none to offer (re-exec goes by path).
    {reply, -1, State}.

%% @private
handle_cast(_Msg, State) ->
    {noreply, State}.

%% @private
handle_info({'DOWN', _, process, Owner, _}, #state{owner = Owner} = State) ->
    % The owner is gone: so is everything it started.
    {stop, normal, State};
handle_info({'EXIT', _, Reason}, State) ->
    % A linked process (the starter or a supervisor) exited.
    {stop, Reason, State};
handle_info({alcove_closed, Status}, #state{stopping = false} = State) ->
    % The helper died on its own: linked owners must know.
    {stop, {helper_exited, Status}, State};
handle_info({alcove_hold, Pipeline, Owner, _Messages}, State) ->
    % The NIF stopped reading a process's output: its owner has been sent
    % 8 MiB of it since it last flowed. Let it flow again once the owner
    % has taken it (see check_hold/4).
    {noreply, check_hold(Pipeline, Owner, ?HOLD_POLL_MS, State)};
handle_info({alcove_hold_check, Pipeline, Owner, Poll}, State) ->
    {noreply, check_hold(Pipeline, Owner, Poll, State)};
handle_info(_Msg, State) ->
    {noreply, State}.

%% @private
terminate(_Reason, #state{resource = Resource}) ->
    alcove_nif:stop(Resource, ?STOP_TIMEOUT_MS),
    ok.

%%% internal

%% Held output flows again once fewer than ?HOLD_LOW_WATER of this
%% process's output messages wait in the owner's mailbox. Looked at every
%% Poll ms, backing off to ?HOLD_POLL_MAX_MS while the owner does not read.
check_hold(Pipeline, Owner, Poll, #state{resource = Resource} = State) ->
    _ =
        case unread_output(Owner, Pipeline) of
            N when N < ?HOLD_LOW_WATER ->
                alcove_nif:release(Resource, Pipeline);
            _ ->
                Next = min(Poll * 2, ?HOLD_POLL_MAX_MS),
                erlang:send_after(Poll, self(), {alcove_hold_check, Pipeline, Owner, Next})
        end,
    State.

%% Output messages of Pipeline's in Owner's mailbox: counted when the
%% mailbox is small enough to look through (what else waits there does
%% not count), else the mailbox's length (a mailbox that long holds the
%% output back until it shrinks). An owner that is gone holds nothing back.
unread_output(Owner, Pipeline) ->
    case erlang:process_info(Owner, message_queue_len) of
        undefined ->
            0;
        {message_queue_len, N} when N < ?HOLD_LOW_WATER; N > ?HOLD_SCAN_MAX ->
            N;
        {message_queue_len, _} ->
            case erlang:process_info(Owner, messages) of
                undefined ->
                    0;
                {messages, Messages} ->
                    Self = self(),
                    length([
                        M
                     || {Tag, Drv, P, _} = M <- Messages,
                        Drv =:= Self,
                        P =:= Pipeline,
                        Tag =:= alcove_stdout orelse Tag =:= alcove_stderr
                    ])
            end
    end.

to_list(B) when is_binary(B) -> unicode:characters_to_list(B);
to_list(L) when is_list(L) -> L.

to_bin(B) when is_binary(B) -> B;
to_bin(L) when is_list(L) -> unicode:characters_to_binary(L);
to_bin(A) when is_atom(A) -> atom_to_binary(A, utf8).
