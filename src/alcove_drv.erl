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
    getopts/1,
    not_on_this_os/3,
    not_on_this_os_text/2,
    format_error/2
]).

-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

%% A driver, or the name it is registered under.
-type ref() :: pid() | atom().
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
-spec start() -> {ok, pid()} | {error, term()}.
start() -> start(self(), []).

%% @doc Start a driver owned by the caller, unlinked, with options.
-spec start(proplists:proplist()) -> {ok, pid()} | {error, term()}.
start(Opts) -> start(self(), Opts).

%% @doc Start a driver owned by `Owner': it gets the root's events and the
%% tree is torn down when it exits.
-spec start(pid(), proplists:proplist()) -> {ok, pid()} | {error, term()}.
start(Owner, Opts) when is_pid(Owner), is_list(Opts) ->
    case prepare(Opts) of
        {ok, Argv} -> gen_server:start(?MODULE, [Owner, Opts, Argv], []);
        Error -> Error
    end.

%% @doc Start a driver linked to and owned by the caller.
-spec start_link() -> {ok, pid()} | {error, term()}.
start_link() -> start_link(self(), []).

%% @doc Start a driver linked to and owned by the caller, with options.
-spec start_link(proplists:proplist()) -> {ok, pid()} | {error, term()}.
start_link(Opts) -> start_link(self(), Opts).

%% @doc Start a driver linked to the caller and owned by `Owner'.
-spec start_link(pid(), proplists:proplist()) -> {ok, pid()} | {error, term()}.
start_link(Owner, Opts) when is_pid(Owner), is_list(Opts) ->
    case prepare(Opts) of
        {ok, Argv} -> gen_server:start_link(?MODULE, [Owner, Opts, Argv], []);
        Error -> Error
    end.

%% What can go wrong before the helper runs is found here, in the caller
%% (a failed start_link then sends it no exit signal): a bad option is
%% `{badopt, Opt}', a missing or non-executable exec prefix `{exec,
%% Prefix, enoent | eacces}', a missing or non-executable helper `{enoent
%% | eacces, Path}'.
prepare(Opts) ->
    case check_options(Opts) of
        ok -> check_programs(Opts);
        Error -> Error
    end.

check_programs(Opts) ->
    Exec = to_list(proplists:get_value(exec, Opts, "")),
    Progname = to_list(proplists:get_value(progname, Opts, progname())),
    Prefix = string:tokens(Exec, " "),
    Checked =
        case Prefix of
            [] ->
                ok;
            [Cmd | _] ->
                case program(Cmd) of
                    {ok, _} -> ok;
                    {error, NotRun} -> {error, {exec, Exec, NotRun}}
                end
        end,
    case {Checked, program(Progname)} of
        {ok, {ok, _}} -> {ok, getopts(Opts)};
        % Under a prefix (sudo) the helper may be executable by its user
        % only: only its absence is an error here.
        {ok, {error, eacces}} when Prefix =/= [] -> {ok, getopts(Opts)};
        {ok, {error, Missing}} -> {error, {Missing, Progname}};
        {Error, _} -> Error
    end.

%% A program to run: found (in PATH when its name has no slash) and
%% executable, or why not.
program(Cmd) ->
    case lists:member($/, Cmd) of
        false ->
            case os:find_executable(Cmd) of
                false -> {error, enoent};
                Path -> {ok, Path}
            end;
        true ->
            Path = filename:absname(Cmd),
            case file:read_file_info(Path) of
                {ok, #file_info{type = regular, mode = Mode}} when Mode band 8#111 =/= 0 -> {ok, Path};
                {ok, _} -> {error, eacces};
                {error, _} -> {error, enoent}
            end
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
    case program(Cmd) of
        {ok, Path} -> Path;
        {error, _} -> false
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
call(Name, Pipeline, Call, Args, Timeout) when is_atom(Name) ->
    % A registered driver; a name no longer registered is a driver gone.
    case whereis(Name) of
        undefined ->
            case is_integer(Call) andalso Call >= 0 andalso Call < alcove_proto:count() of
                true -> raise(closed, Name, Pipeline, Call, Args, Timeout);
                false -> erlang:error(closed, [Name, Pipeline, Call, Args, Timeout])
            end;
        Drv -> call(Drv, Pipeline, Call, Args, Timeout)
    end;
call(Drv, Pipeline, Call, Args, Timeout) ->
    case is_integer(Call) andalso Call >= 0 andalso Call < alcove_proto:count() of
        true -> ok;
        % No such call: as a call filtered out.
        false -> erlang:error(undef, [Drv, Pipeline, Call, Args, Timeout])
    end,
    RequestId =
        try
            alcove_nif:call(Drv, Pipeline, Call, Args)
        catch
            error:Refused -> raise(refusal(Refused, Drv), Drv, Pipeline, Call, Args, Timeout)
        end,
    receive
        % The reply to this caller's one outstanding call on this pipeline
        % (undef for a filtered call, as in the original: raised).
        {alcove_call, Drv, Pipeline, Reply} when Reply =/= undef ->
            Reply;
        % The call failed in a way that raises (undef, badpid, badarg,
        % closed, or how the process ended).
        {Tag, Drv, Pipeline, Reason} when Tag =:= alcove_ctl; Tag =:= alcove_call ->
            raise(Reason, Drv, Pipeline, Call, Args, Timeout)
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

%% A failed call raises from the alcove function it was made by, with the
%% arguments it was given (the timeout shown when not infinity), and
%% extended error information (EEP 54) for format_error/2 to explain.
-spec raise(term(), term(), term(), non_neg_integer(), [term()], timeout()) -> no_return().
raise(Reason, Drv, Pipeline, Call, Args, Timeout) ->
    Name = lists:nth(Call + 1, alcove_proto:calls()),
    Cause =
        case Reason of
            % Refused by the NIF: maybe not a driver; refused by the
            % helper: an argument is wrong.
            badarg -> {call, Name, is_driver(Drv)};
            _ -> {call, Name}
        end,
    raise_from(Reason, Name, [Drv, Pipeline | Args], Timeout, Cause).

-spec raise_from(term(), atom(), [term()], timeout(), term()) -> no_return().
raise_from(Reason, Name, Args, Timeout, Cause) ->
    Shown =
        case Timeout of
            infinity -> Args;
            _ -> Args ++ [Timeout]
        end,
    Info = [{error_info, #{module => ?MODULE, function => format_error, cause => Cause}}],
    {current_stacktrace, [_Self | Stack]} = process_info(self(), current_stacktrace),
    Callers = lists:dropwhile(fun(Frame) -> element(1, Frame) =:= ?MODULE end, Stack),
    erlang:raise(error, Reason, [{alcove, Name, Shown, Info} | Callers]).

is_driver(Drv) when is_pid(Drv) ->
    node(Drv) =:= node() andalso
        case process_info(Drv, dictionary) of
            {dictionary, Dict} -> proplists:get_value('$initial_call', Dict) =:= {?MODULE, init, 1};
            undefined -> false
        end;
is_driver(_) ->
    false.

%% @doc Raise `undef' for `alcove:Name' (`Args' with Drv and Pipeline
%% first), a call of another OS: as in the original, with extended error
%% information naming the OS it is for.
-spec not_on_this_os(atom(), [term()], timeout()) -> no_return().
not_on_this_os(Name, Args, Timeout) ->
    raise_from(undef, Name, Args, Timeout, {not_on_this_os, Name}).

%% @doc `<<"Name/Arity is not available on Linux (OS only)">>' for a call
%% of another OS.
-spec not_on_this_os_text(atom(), arity()) -> binary().
not_on_this_os_text(Name, Arity) ->
    OS =
        case alcove_proto:os(Name) of
            linux -> "another OS";
            Other -> Other
        end,
    iolist_to_binary(io_lib:format("~s/~b is not available on Linux (~s only)", [Name, Arity, OS])).

%% @doc Extended error information (EEP 54) for the errors calls raise:
%% which argument is wrong and why, what `closed' or `badpid' means. The
%% shell (erl_error) and Elixir's exceptions show it.
-spec format_error(term(), erlang:stacktrace()) -> #{pos_integer() | general => binary()}.
format_error(Reason, [{_M, _F, Args, Info} | _]) when is_list(Args) ->
    Cause = maps:get(cause, proplists:get_value(error_info, Info, #{}), none),
    maps:map(fun(_, Text) -> unicode:characters_to_binary(Text) end, explain(Reason, Cause, Args));
format_error(_Reason, _Stack) ->
    #{}.

explain(undef, {not_on_this_os, Name}, Args) ->
    #{general => ["alcove:", not_on_this_os_text(Name, length(Args))]};
explain(closed, {call, Name}, Args) ->
    #{1 => io_lib:format("the driver of alcove:~s/~b is stopped, its helper exited, or no driver is registered under this name",
                         [Name, length(Args)])};
explain(badpid, {call, Name}, [_, Pipeline | _] = Args) ->
    #{2 => io_lib:format("no process at ~w for alcove:~s/~b: it exited, or never was a child there",
                         [Pipeline, Name, length(Args)])};
explain(badarg, {call, Name, DrvOk}, [Drv, Pipeline | Args]) ->
    Declared = alcove_proto:args(Name),
    Given = lists:sublist(Args, length(Declared)),
    Of = io_lib:format(" of alcove:~s/~b", [Name, length(Args) + 2]),
    Checks =
        [{1, drv_ok(DrvOk, Drv)}, {2, check_pipeline(Pipeline)} |
         [{N + 2, check([atom_to_list(Param), Of], Type, Arg)}
          || {N, {Param, Type}, Arg} <- lists:zip3(lists:seq(1, length(Given)), lists:sublist(Declared, length(Given)), Given)]],
    case [Check || {_, Text} = Check <- Checks, Text =/= ok] of
        [] ->
            #{general => io_lib:format("alcove:~s/~b: the helper refused an argument of the declared type (a value out of the range or shape it takes)",
                                       [Name, length(Args) + 2])};
        Bad ->
            maps:from_list(Bad)
    end;
explain({termsig, Signal}, _, _) ->
    #{general => io_lib:format("the process was killed by ~p during the call", [Signal])};
explain({exit_status, Status}, _, _) ->
    #{general => io_lib:format("the process exited with status ~p during the call", [Status])};
explain(_, _, _) ->
    #{}.

drv_ok(true, _) -> ok;
drv_ok(false, Drv) when is_pid(Drv) -> "Drv is not an alcove driver (a pid from alcove_drv:start_link/0,1)";
drv_ok(false, _) -> "Drv must be an alcove driver (a pid from alcove_drv:start_link/0,1)".

check_pipeline(Pipeline) ->
    case is_list(Pipeline) andalso lists:all(fun(P) -> in_range(P, 0, 16#7fffffff) end, Pipeline) of
        true -> ok;
        false -> "Pipeline must be a list of OS pids ([] for the helper itself)"
    end.

%% Whether an argument is of its declared type (as in calls.def); if not,
%% the text saying what it must be.
check(Param, "iodata()", Arg) when is_binary(Arg); is_list(Arg) ->
    case is_iodata(Arg) andalso binary:match(iolist_to_binary(Arg), <<0>>) =/= nomatch of
        true -> io_lib:format("~s must not contain a NUL byte (it is passed as a C string)", [Param]);
        false -> check_type(Param, "iodata()", Arg)
    end;
check(Param, Type, Arg) ->
    check_type(Param, Type, Arg).

check_type(Param, Type, Arg) ->
    case valid(Type, Arg) of
        false -> io_lib:format("~s must be ~s", [Param, describe(Type)]);
        _ -> ok
    end.

valid("iodata()", A) -> is_iodata(A);
valid("binary()", A) -> is_binary(A);
valid("atom()", A) -> is_atom(A);
valid("constant()", A) -> is_atom(A) orelse is_integer(A);
valid("[constant()]", A) -> is_list(A) andalso lists:all(fun(C) -> valid("constant()", C) end, A);
valid("[atom()]", A) -> is_list(A) andalso lists:all(fun is_atom/1, A);
valid("[caps_name()]", A) -> valid("[atom()]", A);
valid("[iodata()]", A) -> is_list(A) andalso lists:all(fun is_iodata/1, A);
valid("[term()]", A) -> is_list(A);
valid("[gid_t()]", A) -> is_list(A) andalso lists:all(fun(G) -> valid("gid_t()", G) end, A);
valid("fd_set()", A) -> is_list(A) andalso lists:all(fun(F) -> valid("fd()", F) end, A);
valid("caps_set()", A) -> lists:member(A, [effective, permitted, inheritable, ambient, bounding]);
valid("stdin | stdout | stderr", A) -> lists:member(A, [stdin, stdout, stderr]);
valid("[] | atom()", A) -> A =:= [] orelse is_atom(A);
valid("[] | cstruct()", A) -> A =:= [] orelse is_cstruct(A);
valid("cstruct()", A) -> is_cstruct(A);
valid("ptr_arg()", A) -> is_integer(A) orelse is_binary(A) orelse is_cstruct(A);
valid("alcove_rlimit()", A) ->
    is_record_of(alcove_rlimit, A) andalso valid("uint64_t()", element(2, A)) andalso valid("uint64_t()", element(3, A));
valid("[] | alcove_timeval()", A) -> A =:= [] orelse is_record_of(alcove_timeval, A);
valid("int32_t() | [constant()]", A) -> valid("int32_t()", A) orelse valid("[constant()]", A);
valid("uint64_t() | [constant()]", A) -> valid("uint64_t()", A) orelse valid("[constant()]", A);
valid(Type, A) ->
    case int_range(Type) of
        {Min, Max} -> in_range(A, Min, Max);
        % term() and the like: anything of the right shape for the helper.
        none -> unknown
    end.

describe("iodata()") -> "iodata (a string or a binary)";
describe("constant()") -> "a constant (an atom such as sigterm, or an integer)";
describe("[constant()]") -> "a list of constants (atoms or integers)";
describe("[iodata()]") -> "a list of strings or binaries";
describe("cstruct()") -> "a C struct: a list of binaries and {ptr, Size | Binary}";
describe("[] | cstruct()") -> "[] or a C struct: a list of binaries and {ptr, Size | Binary}";
describe("alcove_rlimit()") -> "an #alcove_rlimit{} record, cur and max in 0..18446744073709551615";
describe("ptr_arg()") -> "an integer, a binary or a C struct (a list of binaries and {ptr, Size | Binary})";
describe("[] | alcove_timeval()") -> "[] or an #alcove_timeval{} record";
describe(Type) ->
    case int_range(Type) of
        {Min, Max} -> io_lib:format("an integer in ~b..~b (~s)", [Min, Max, Type]);
        none -> Type
    end.

int_range(Type) ->
    Int32 = {-16#7fffffff, 16#7fffffff},
    Int64 = {-16#7fffffffffffffff, 16#7fffffffffffffff},
    Uint32 = {0, 16#ffffffff},
    Uint64 = {0, 16#ffffffffffffffff},
    Ranges = #{
        "uint8_t()" => {0, 16#ff}, "uint16_t()" => {0, 16#ffff},
        "uint32_t()" => Uint32, "uint64_t()" => Uint64,
        "int8_t()" => {-16#7f, 16#7f}, "int16_t()" => {-16#7fff, 16#7fff},
        "int32_t()" => Int32, "int64_t()" => Int64,
        "pid_t()" => Int32, "fd()" => Int32,
        "mode_t()" => Uint32, "uid_t()" => Uint32, "gid_t()" => Uint32,
        "off_t()" => Int64, "size_t()" => Uint64, "ssize_t()" => Int64,
        "non_neg_integer()" => Uint64, "pos_integer()" => {1, 16#ffffffffffffffff}
    },
    maps:get(Type, Ranges, none).

is_iodata(A) ->
    try iolist_size(A) of
        _ -> true
    catch
        error:badarg -> false
    end.

is_cstruct(A) ->
    is_list(A) andalso
        lists:all(
            fun
                (B) when is_binary(B) -> true;
                ({ptr, P}) -> is_binary(P) orelse (is_integer(P) andalso P >= 0);
                (_) -> false
            end,
            A
        ).

is_record_of(Tag, A) ->
    is_tuple(A) andalso tuple_size(A) =:= 3 andalso element(1, A) =:= Tag andalso
        is_integer(element(2, A)) andalso is_integer(element(3, A)).

%% @doc Write to a child's stdin; asynchronous.
-spec stdin(ref(), [integer()], iodata()) -> ok.
stdin(Name, Pipeline, Data) when is_atom(Name) ->
    case whereis(Name) of
        undefined -> erlang:error(closed, [Name, Pipeline, Data]);
        Drv -> stdin(Drv, Pipeline, Data)
    end;
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
init([Owner, Opts, Argv]) ->
    process_flag(trap_exit, true),
    erlang:monitor(process, Owner),
    Env = [{to_bin(K), to_bin(V)} || {K, V} <- proplists:get_value(env, Opts, [])],
    % The calls that go down the tree of helpers even to a process the
    % driver has a shortcut to: its parent answers or records them.
    TreeOnly = [alcove_proto:call(C) || C <- [execve, execvp, fexecve, exit, outlive, fork_exec]],
    Numbers = {alcove_proto:call(fork), alcove_proto:call(clone), alcove_proto:call(kill),
               alcove_proto:call(fork_exec), TreeOnly},
    Signal = proplists:get_value(owner_exit_signal, Opts, 9),
    case alcove_nif:start(self(), Owner, [to_bin(A) || A <- Argv], Env, Numbers, Signal) of
        {ok, Resource, Helper} ->
            State = #state{owner = Owner, resource = Resource, argv = Argv, helper = Helper},
            case proplists:get_value(exec, Opts, "") of
                "" -> {ok, State};
                <<>> -> {ok, State};
                Exec -> check_prefix(to_list(Exec), State)
            end;
        {error, Errno} ->
            start_failed({errno_name(Errno), hd(Argv)})
    end.

%% Under an exec prefix (sudo -n) the helper may never run: the prefix
%% refuses and exits. One call answered shows that it does; otherwise
%% the start fails with `{exec, Prefix, {exit_status, N}}'.
check_prefix(Exec, #state{resource = Resource} = State) ->
    try call(self(), [], alcove_proto:call(version), [], infinity) of
        _ -> {ok, State}
    catch
        error:_ ->
            Status = receive {alcove_closed, S} -> S after ?STOP_TIMEOUT_MS -> unknown end,
            alcove_nif:stop(Resource, ?STOP_TIMEOUT_MS),
            start_failed({exec, Exec, {exit_status, Status}})
    end.

%% The starter gets {error, Reason} and, this process ending normally, no
%% exit signal that would take a linked caller (a shell) down with it.
start_failed(Reason) ->
    proc_lib:init_ack({error, Reason}),
    exit(normal).

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

%% What exec(2) of the helper failed with, by name where it is one of
%% exec's own errors.
errno_name(Errno) ->
    Names = [{1, eperm}, {2, enoent}, {7, e2big}, {8, enoexec}, {12, enomem}, {13, eacces},
             {20, enotdir}, {21, eisdir}, {26, etxtbsy}, {40, eloop}],
    proplists:get_value(Errno, Names, Errno).

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
