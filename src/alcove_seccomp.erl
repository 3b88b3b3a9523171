%%% @doc Classic BPF instructions for seccomp filters: the functions behind
%%% the macros of `include/alcove_seccomp.hrl'.
%%%
%%% An instruction is struct sock_filter (linux/filter.h): a 16-bit code,
%%% 8-bit jump offsets for true and false, and a 32-bit constant, in
%%% native byte order, 8 bytes in all. A filter reads struct seccomp_data
%%% (linux/seccomp.h); offset/1 says where its fields are. See seccomp(2)
%%% and the kernel's Documentation/networking/filter.rst.
%%%
%%% == Filters by system call name ==
%%%
%%% {@link install/3} installs a filter given by system call names in the
%%% process at a pipeline: the helper resolves the names for its own
%%% architecture, compiles the filter to BPF (with the `seccompiler'
%%% crate) and loads it with seccomp(2). The filter applies to that
%%% process from then on: to the calls it still makes for its owner and to
%%% any program it execs. A spec is a map:
%%%
%%% <ul>
%%% <li>`default => Action': for calls no rule matches (default `allow');</li>
%%% <li>`rules => [{Name, Action} | {Name, Action, [Condition]}]': tried
%%% first, in order;</li>
%%% <li>`deny => [Name | {Name, Action} | {Name, Action, [Condition]}]':
%%% then these; a bare name gets `deny_action' (default `kill_process');</li>
%%% <li>`allow => [Name | {Name, [Condition]}]': then these, action `allow'.</li>
%%% </ul>
%%%
%%% The first rule that matches decides. Names are atoms as in syscall(2)
%%% without the `sys_' prefix (`mkdir', `openat'), or numbers. An action is
%%% `allow', `kill_process', `kill_thread', `trap' (SIGSYS), `log',
%%% `user_notif', `{errno, Errno}' (an errno atom or 0..4095) or
%%% `{trace, 0..65535}'. A condition `{Arg, Op, Value}' compares argument
%%% `Arg' (0..5) with `Value' on 64 bits; `{Arg, Op, Value, dword}' on the
%%% low 32 bits. `Op' is `eq', `ne', `lt', `le', `gt', `ge' or
%%% `{masked_eq, Mask}' (`Arg band Mask =:= Value'). All conditions of a
%%% rule must hold.
%%%
%%% With `user_notif', a matching call waits while the owner of the
%%% filtered process's pipeline receives
%%% `{alcove_event, Drv, Pipeline, {seccomp_notif, Id, OSPid, Syscall, Args}}'
%%% (`Syscall' a name, or the number when unknown; `Args' the six
%%% arguments as unsigned integers) and answers it with {@link respond/4}.
-module(alcove_seccomp).

-include("alcove_seccomp.hrl").

-export([stmt/2, jump/4, insn/1, offset/1]).
-export([install/3, install/4, respond/4]).

-type code() :: 0..16#ffff.
-type jump_offset() :: 0..16#ff.
-type k() :: -16#80000000..16#ffffffff.
%% The constant: unsigned, or negative for the same 32 bits.

-type insn() :: #alcove_insn{} | {code(), jump_offset(), jump_offset(), k()}.
-type field() ::
    nr | arch | instruction_pointer | {args, 0..5} | {args, 0..5, low | high}.

-type load_size() :: word | halfword | byte.

-type action() ::
    allow | kill_process | kill_thread | trap | log | user_notif
    | {errno, alcove:posix() | 0..4095} | {trace, 0..16#ffff}.
-type syscall() :: atom() | non_neg_integer().
-type op() :: eq | ne | lt | le | gt | ge | {masked_eq, integer()}.
-type condition() :: {0..5, op(), integer()} | {0..5, op(), integer(), dword | qword}.
-type rule() :: {syscall(), action()} | {syscall(), action(), [condition()]}.
-type spec() :: #{
    default => action(),
    rules => [rule()],
    deny => [syscall() | rule()],
    deny_action => action(),
    allow => [syscall() | {syscall(), [condition()]}]
}.
-type options() :: #{no_new_privs => boolean(), log => boolean(), spec_allow => boolean()}.
-type response() :: continue | {errno, alcove:posix() | 1..4095} | {return, integer()}.

-export_type([insn/0, field/0, load_size/0]).
-export_type([action/0, syscall/0, condition/0, rule/0, spec/0, options/0, response/0]).

%% @doc seccomp(2): an instruction that does not jump (BPF_STMT).
-spec stmt(code(), k()) -> <<_:64>>.
stmt(Code, K) ->
    insn({Code, 0, 0, K}).

%% @doc seccomp(2): a conditional jump (BPF_JUMP): on true skip `JT'
%% instructions, on false skip `JF'.
-spec jump(code(), k(), jump_offset(), jump_offset()) -> <<_:64>>.
jump(Code, K, JT, JF) ->
    insn({Code, JT, JF, K}).

%% @doc seccomp(2): the 8 bytes of a struct sock_filter, from an
%% `#alcove_insn{}' record (or a `{Code, JT, JF, K}' tuple); given the 8
%% bytes, the record back.
-spec insn(insn()) -> <<_:64>>;
          (<<_:64>>) -> #alcove_insn{}.
insn(#alcove_insn{code = Code, jt = JT, jf = JF, k = K}) ->
    insn({Code, JT, JF, K});
insn(<<Code:16/native-unsigned, JT:8, JF:8, K:32/native-unsigned>>) ->
    #alcove_insn{code = Code, jt = JT, jf = JF, k = K};
insn({Code, JT, JF, K}) when
    is_integer(Code), Code >= 0, Code =< 16#ffff,
    is_integer(JT), JT >= 0, JT =< 16#ff,
    is_integer(JF), JF >= 0, JF =< 16#ff,
    is_integer(K), K >= -16#80000000, K =< 16#ffffffff
->
    <<Code:16/native-unsigned, JT:8, JF:8, K:32/native>>.

%% @doc seccomp(2): the byte offset of a field of struct seccomp_data, to
%% load with `BPF_LD bor BPF_W bor BPF_ABS': the system call number
%% (`nr'), the audit architecture (`arch'), the instruction pointer, or a
%% system call argument. Arguments are 64 bits wide and a load 32:
%% `{args, N, low | high}' is the half wanted, in this machine's byte order;
%% `{args, N}' is where the argument starts.
%%
%% As in the original alcove, it also maps a load size to its code and
%% back: `word', `halfword', `byte' to `BPF_W', `BPF_H', `BPF_B'.
-spec offset(field() | load_size()) -> non_neg_integer();
            (?BPF_W | ?BPF_H | ?BPF_B) -> load_size().
offset(word) -> ?BPF_W;
offset(halfword) -> ?BPF_H;
offset(byte) -> ?BPF_B;
offset(?BPF_W) -> word;
offset(?BPF_H) -> halfword;
offset(?BPF_B) -> byte;
offset(nr) -> 0;
offset(arch) -> 4;
offset(instruction_pointer) -> 8;
offset({args, N}) when is_integer(N), N >= 0, N =< 5 -> 16 + 8 * N;
offset({args, N, Half}) when Half =:= low; Half =:= high ->
    offset({args, N}) + half_offset(Half, endianness()).

half_offset(low, little) -> 0;
half_offset(high, little) -> 4;
half_offset(low, big) -> 4;
half_offset(high, big) -> 0.

endianness() ->
    case <<1:16/native>> of
        <<1:16/little>> -> little;
        _ -> big
    end.

%% @doc seccomp(2): install a filter given by system call names in the
%% process at `Pipeline', with the default options (see install/4).
-spec install(alcove_drv:ref(), alcove:pipeline(), spec()) -> ok | {error, alcove:posix()}.
install(Drv, Pipeline, Spec) ->
    install(Drv, Pipeline, Spec, #{}).

%% @doc seccomp(2): install a filter given by system call names in the
%% process at `Pipeline' (see the module doc for the spec).
%%
%% Options: `no_new_privs' (default `true') sets PR_SET_NO_NEW_PRIVS first:
%% a process without CAP_SYS_ADMIN cannot install a filter otherwise, and
%% a program it execs then gains no privilege from set-user-ID bits or file
%% capabilities. With `false', the process must have CAP_SYS_ADMIN. `log'
%% and `spec_allow' (default `false') are SECCOMP_FILTER_FLAG_LOG and
%% SECCOMP_FILTER_FLAG_SPEC_ALLOW.
%%
%% Names the helper's architecture does not know raise
%% `error({unknown_syscalls, Names})' and nothing is installed; a spec of
%% another shape raises `badarg'. A filter over 4096 instructions is
%% `{error, e2big}'.
%%
%% With `user_notif' the process's parent helper takes the listener
%% (pidfd_getfd(2), Linux 5.6+) and serves it; the root helper (pipeline
%% `[]') has no parent helper: `badarg'. Should the parent fail to take
%% it, `{error, Errno}' is returned; the filter stays installed and the
%% listener open in the process itself (until it execs), which cannot
%% serve it: its `user_notif' calls wait for good. Kill it then.
%%
%% Once the parent has the listener, install/4 closes the process's own
%% copy; should `close' be a `user_notif' call, install/4 answers that one
%% notification (`continue') itself when the caller owns the pipeline.
%% Otherwise the owner must answer it before install/4 returns.
-spec install(alcove_drv:ref(), alcove:pipeline(), spec(), options()) ->
    ok | {error, alcove:posix()}.
install(Drv, Pipeline, Spec, Opts) when is_map(Spec), is_map(Opts) ->
    {Default, Rules} = rules(Spec),
    Flags = flags(Opts),
    Notifies = lists:any(fun(A) -> A =:= user_notif end,
                         [Default | [element(2, R) || R <- Rules]]),
    case Notifies andalso Pipeline =:= [] of
        true -> erlang:error(badarg, [Drv, Pipeline, Spec, Opts]);
        false -> ok
    end,
    case alcove:seccomp_load(Drv, Pipeline, Default, Rules, Flags) of
        ok ->
            ok;
        {ok, FD} ->
            take_listener(Drv, Pipeline, FD);
        {error, {unknown_syscalls, Names}} ->
            erlang:error({unknown_syscalls, Names}, [Drv, Pipeline, Spec, Opts]);
        {error, _} = Error ->
            Error
    end;
install(Drv, Pipeline, Spec, Opts) ->
    erlang:error(badarg, [Drv, Pipeline, Spec, Opts]).

%% @doc seccomp_unotify(2): answer notification `Id' of the filter of the
%% process at `Pipeline' (received as a `seccomp_notif' event): `continue'
%% lets the system call run (SECCOMP_USER_NOTIF_FLAG_CONTINUE: the kernel
%% makes it as if no filter had stopped it), `{errno, Errno}' fails it,
%% `{return, Value}' makes it return `Value' without running.
%% `{error, enoent}' when the notification is no longer pending (the
%% process was killed, or it was answered already).
-spec respond(alcove_drv:ref(), alcove:pipeline(), non_neg_integer(), response()) ->
    ok | {error, alcove:posix()}.
respond(Drv, Pipeline, Id, Response) when Pipeline =/= [] ->
    {Parent, Pid} = split(Pipeline),
    alcove:seccomp_respond(Drv, Parent, Pid, Id, Response);
respond(Drv, Pipeline, Id, Response) ->
    erlang:error(badarg, [Drv, Pipeline, Id, Response]).

take_listener(Drv, Pipeline, FD) ->
    {Parent, Pid} = split(Pipeline),
    case alcove:seccomp_listener(Drv, Parent, Pid, FD) of
        ok ->
            % The child's copy goes: only the parent serves the filter. The
            % close may itself be a notified call: answered here if this
            % process owns the pipeline (else its owner must).
            Self = self(),
            Ref = make_ref(),
            Closer = spawn_link(fun() -> Self ! {Ref, alcove:close(Drv, Pipeline, FD)} end),
            close_reply(Drv, Pipeline, FD, Ref, Closer);
        {error, _} = Error ->
            % Closing it in the child now could wait on itself: left open
            % (close-on-exec).
            Error
    end.

close_reply(Drv, Pipeline, FD, Ref, Closer) ->
    receive
        {Ref, _} ->
            unlink(Closer),
            ok;
        {alcove_event, Drv, Pipeline, {seccomp_notif, Id, _, close, [FD | _]}} ->
            _ = respond(Drv, Pipeline, Id, continue),
            close_reply(Drv, Pipeline, FD, Ref, Closer)
    end.

split(Pipeline) ->
    [Pid | Rev] = lists:reverse(Pipeline),
    {lists:reverse(Rev), Pid}.

rules(Spec) ->
    Default = maps:get(default, Spec, allow),
    DenyAction = maps:get(deny_action, Spec, kill_process),
    Rules = maps:get(rules, Spec, []),
    Deny = [deny_rule(D, DenyAction) || D <- list(maps:get(deny, Spec, []))],
    Allow = [allow_rule(A) || A <- list(maps:get(allow, Spec, []))],
    {Default, list(Rules) ++ Deny ++ Allow}.

list(L) when is_list(L) -> L;
list(_) -> erlang:error(badarg).

deny_rule(Name, Action) when is_atom(Name); is_integer(Name) -> {Name, Action};
deny_rule(Rule, _) when is_tuple(Rule) -> Rule;
deny_rule(_, _) -> erlang:error(badarg).

allow_rule(Name) when is_atom(Name); is_integer(Name) -> {Name, allow};
allow_rule({Name, Conds}) when is_list(Conds) -> {Name, allow, Conds};
allow_rule(_) -> erlang:error(badarg).

flags(Opts) ->
    Known = [no_new_privs, log, spec_allow],
    case maps:keys(Opts) -- Known of
        [] -> ok;
        _ -> erlang:error(badarg)
    end,
    [F || F <- Known, maps:get(F, Opts, F =:= no_new_privs) =:= true].
