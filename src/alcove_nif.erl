%%% @private
%%% @doc The NIF stubs; use alcove_drv and alcove instead.
-module(alcove_nif).

-export([start/6, stop/2, call/4, stdin/3, cancel/2, controlling_process/3, release/2, stdin_stream/3, priv_dir/0]).

-on_load(init/0).

-spec init() -> ok | {error, term()}.
init() ->
    erlang:load_nif(filename:join(priv_dir(), "alcove_nif"), 0).

%% @doc The priv directory, also when the application is not installed
%% (escripts, mix, a bare code path).
-spec priv_dir() -> file:filename().
priv_dir() ->
    case code:priv_dir(alcove) of
        {error, bad_name} ->
            filename:join(filename:dirname(filename:dirname(code:which(?MODULE))), "priv");
        Dir ->
            Dir
    end.

%% CallNumbers: fork, clone, kill, fork_exec, and the calls that go down
%% the tree even to a process the driver has a shortcut to.
-spec start(pid(), pid(), [binary()], [{binary(), binary()}],
            {non_neg_integer(), non_neg_integer(), non_neg_integer(), non_neg_integer(),
             [non_neg_integer()]},
            integer()) ->
    {ok, reference(), non_neg_integer()} | {error, integer()}.
start(_Drv, _Owner, _Argv, _Env, _CallNumbers, _OwnerExitSignal) -> erlang:nif_error(not_loaded).

-spec stop(reference(), non_neg_integer()) -> boolean().
stop(_Resource, _TimeoutMs) -> erlang:nif_error(not_loaded).

-spec call(pid(), [integer()], non_neg_integer(), [term()]) -> non_neg_integer().
%% The call number must fit 16 bits (badarg otherwise).
call(_Drv, _Pipeline, _Call, _Args) -> erlang:nif_error(not_loaded).

-spec stdin(pid(), [integer()], iodata()) -> ok.
stdin(_Drv, _Pipeline, _Data) -> erlang:nif_error(not_loaded).

-spec release(reference(), [integer()]) -> ok.
release(_Resource, _Pipeline) -> erlang:nif_error(not_loaded).

-spec stdin_stream(pid(), [integer()], iodata()) -> ok.
stdin_stream(_Drv, _Pipeline, _Data) -> erlang:nif_error(not_loaded).

-spec cancel(pid(), non_neg_integer()) -> boolean().
cancel(_Drv, _RequestId) -> erlang:nif_error(not_loaded).

-spec controlling_process(pid(), [integer()], pid()) -> ok | {error, not_owner}.
controlling_process(_Drv, _Pipeline, _Pid) -> erlang:nif_error(not_loaded).
