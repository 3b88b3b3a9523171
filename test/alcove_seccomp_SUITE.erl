%%% Common Test suite: seccomp filters built with include/alcove_seccomp.hrl
%%% and installed with prctl/7 and seccomp/5, and the other calls taking C
%%% structs (alloc, ioctl, prctl, ptrace) as round trips.
-module(alcove_seccomp_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include("alcove_seccomp.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
%% Each case Name/1 has a Name/0 with its doc line.
-export([
    filter_errno_prctl/0, filter_errno_prctl/1,
    filter_kill_seccomp/0, filter_kill_seccomp/1,
    filter_flags/0, filter_flags/1,
    action_avail/0, action_avail/1,
    seccomp_arguments/0, seccomp_arguments/1,
    instructions/0, instructions/1
]).
-export([
    alloc/0, alloc/1,
    alloc_limits/0, alloc_limits/1,
    ioctl_enotty/0, ioctl_enotty/1,
    ioctl_out_parameter/0, ioctl_out_parameter/1,
    prctl_name/0, prctl_name/1,
    prctl_pdeathsig/0, prctl_pdeathsig/1,
    prctl_arguments/0, prctl_arguments/1,
    ptrace_esrch/0, ptrace_esrch/1,
    ptrace_seize/0, ptrace_seize/1
]).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, seccomp}, {group, cstruct}].

groups() ->
    [
        {seccomp, [], [
            filter_errno_prctl, filter_kill_seccomp, filter_flags, action_avail,
            seccomp_arguments, instructions
        ]},
        {cstruct, [], [
            alloc, alloc_limits, ioctl_enotty, ioctl_out_parameter, prctl_name,
            prctl_pdeathsig, prctl_arguments, ptrace_esrch, ptrace_seize
        ]}
    ].

init_per_testcase(_Case, Config) ->
    alcove_ct:init_driver(Config).

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config).

%%% helpers

drv(Config) -> ?config(drv, Config).

-define(EPERM, 1).

%% A forked child that may no longer gain privileges: what an
%% unprivileged process needs before installing a filter.
sandbox(Drv) ->
    {ok, Child} = alcove:fork(Drv, []),
    ?assertMatch({ok, 0, 1, 0, 0, 0}, alcove:prctl(Drv, [Child], pr_set_no_new_privs, 1, 0, 0, 0)),
    ?assertMatch({ok, 1, 0, 0, 0, 0}, alcove:prctl(Drv, [Child], pr_get_no_new_privs, 0, 0, 0, 0)),
    Child.

%% A filter that returns Action for the system call Name and allows
%% every other call.
filter(Drv, Pipeline, Name, Action) ->
    Arch = alcove:define(Drv, Pipeline, alcove:audit_arch()),
    Nr = alcove:define(Drv, Pipeline, Name),
    ?assert(is_integer(Arch)),
    ?assert(is_integer(Nr)),
    iolist_to_binary([
        ?VALIDATE_ARCHITECTURE(Arch),
        ?EXAMINE_SYSCALL,
        ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, Nr, 0, 1),
        ?BPF_STMT(?BPF_RET bor ?BPF_K, Action),
        ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_ALLOW)
    ]).

%% struct sock_fprog: an unsigned short count, padding to pointer
%% alignment, then a pointer to the instructions.
fprog(Prog) ->
    Pad = (erlang:system_info(wordsize) - 2) * 8,
    [<<(byte_size(Prog) div 8):16/native, 0:Pad>>, {ptr, Prog}].

wait_event(Drv, Pipeline) ->
    receive
        {alcove_event, Drv, Pipeline, Event} -> Event
    after 10000 -> ct:fail({no_event, Pipeline})
    end.

%%% seccomp

filter_errno_prctl() ->
    [{doc, "A filter installed with prctl makes getcwd fail with eperm; getpid still works."}].
filter_errno_prctl(Config) ->
    Drv = drv(Config),
    Child = sandbox(Drv),
    ?assertMatch({ok, _}, alcove:getcwd(Drv, [Child])),
    Prog = filter(Drv, [Child], sys_getcwd, ?SECCOMP_RET_ERRNO bor ?EPERM),
    Fprog = fprog(Prog),
    % The struct comes back as its contents: the count and the program,
    % not the pointer to it.
    ?assertEqual(
        {ok, 0, ?SECCOMP_MODE_FILTER, Fprog, 0, 0},
        alcove:prctl(Drv, [Child], pr_set_seccomp, ?SECCOMP_MODE_FILTER, Fprog, 0, 0)
    ),
    ?assertEqual({error, eperm}, alcove:getcwd(Drv, [Child])),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    ?assertMatch(
        {ok, ?SECCOMP_MODE_FILTER, 0, 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_get_seccomp, 0, 0, 0, 0)
    ),
    % The filter is the child's alone.
    ?assertMatch({ok, _}, alcove:getcwd(Drv, [])).

filter_kill_seccomp() ->
    [{doc, "A KILL filter installed with seccomp/5: the denied call kills the child with sigsys."}].
filter_kill_seccomp(Config) ->
    Drv = drv(Config),
    Child = sandbox(Drv),
    Prog = iolist_to_binary([
        ?VALIDATE_ARCHITECTURE(alcove:define(Drv, [Child], alcove:audit_arch())),
        ?EXAMINE_SYSCALL,
        ?DENY_SYSCALL(alcove:define(Drv, [Child], sys_getcwd)),
        ?BPF_STMT(?BPF_RET bor ?BPF_K, ?SECCOMP_RET_ALLOW)
    ]),
    ?assertEqual(ok, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter, 0, fprog(Prog))),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    % The child dies during the call: the caller sees how, as in the original.
    ?assertError({termsig, sigsys}, alcove:getcwd(Drv, [Child], 5000)),
    ?assertEqual({termsig, sigsys}, wait_event(Drv, [Child])),
    ?assertEqual(alcove:getpid(Drv, []), alcove:getpid(Drv, [])).

filter_flags() ->
    [{doc, "seccomp/5 takes flags as a list of constants; filters stack and each applies."}].
filter_flags(Config) ->
    Drv = drv(Config),
    Child = sandbox(Drv),
    Getcwd = filter(Drv, [Child], sys_getcwd, ?SECCOMP_RET_ERRNO bor ?EPERM),
    ?assertEqual(ok, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter,
        [seccomp_filter_flag_log], fprog(Getcwd))),
    % gethostname(3) is uname(2) underneath.
    Uname = filter(Drv, [Child], sys_uname, ?SECCOMP_RET_ERRNO bor ?EPERM),
    ?assertEqual(ok, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter,
        [], fprog(Uname))),
    ?assertEqual({error, eperm}, alcove:getcwd(Drv, [Child])),
    ?assertEqual({error, eperm}, alcove:gethostname(Drv, [Child])),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])).

action_avail() ->
    [{doc, "seccomp_get_action_avail: a pointer to a u32 action, ok or eopnotsupp."}].
action_avail(Config) ->
    Drv = drv(Config),
    Avail = fun(Action) ->
        alcove:seccomp(Drv, [], seccomp_get_action_avail, 0, [<<Action:32/native>>])
    end,
    ?assertEqual(ok, Avail(?SECCOMP_RET_ALLOW)),
    ?assertEqual(ok, Avail(?SECCOMP_RET_ERRNO)),
    ?assertEqual(ok, Avail(?SECCOMP_RET_KILL_PROCESS)),
    % EOPNOTSUPP is ENOTSUP on Linux; errno names follow Erlang's.
    ?assertEqual({error, enotsup}, Avail(16#12340000)).

seccomp_arguments() ->
    [{doc, "Unknown constants are enotsup, malformed programs einval or efault, bad terms badarg."}].
seccomp_arguments(Config) ->
    Drv = drv(Config),
    Child = sandbox(Drv),
    Prog = filter(Drv, [Child], sys_getcwd, ?SECCOMP_RET_ERRNO bor ?EPERM),
    ?assertEqual({error, enotsup}, alcove:seccomp(Drv, [Child], no_such_operation, 0, fprog(Prog))),
    ?assertEqual({error, enotsup}, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter,
        [no_such_flag], fprog(Prog))),
    % A NULL program, an empty program, a program with no return.
    ?assertEqual({error, efault}, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter, 0, [])),
    ?assertEqual({error, einval}, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter, 0,
        fprog(<<>>))),
    ?assertEqual({error, einval}, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter, 0,
        fprog(?EXAMINE_SYSCALL))),
    ?assertError(badarg, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter, 0, [foo])),
    ?assertError(badarg, alcove:seccomp(Drv, [Child], seccomp_set_mode_filter, 0, {ptr, -1})),
    % Nothing was installed.
    ?assertMatch({ok, _}, alcove:getcwd(Drv, [Child])).

instructions() ->
    [{doc, "alcove_seccomp builds struct sock_filter in native byte order; offset/1 follows struct seccomp_data."}].
instructions(_Config) ->
    ?assertEqual(<<16#20:16/native, 0, 0, 4:32/native>>,
        ?BPF_STMT(?BPF_LD bor ?BPF_W bor ?BPF_ABS, ?OFFSET_ARCH_NR)),
    ?assertEqual(<<16#15:16/native, 1, 0, 16#c000003e:32/native>>,
        ?BPF_JUMP(?BPF_JMP bor ?BPF_JEQ bor ?BPF_K, 16#c000003e, 1, 0)),
    ?assertEqual(alcove_seccomp:stmt(6, -1), alcove_seccomp:insn({6, 0, 0, 16#ffffffff})),
    ?assertEqual(0, ?OFFSET_SYSCALL_NR),
    ?assertEqual(8, alcove_seccomp:offset(instruction_pointer)),
    ?assertEqual(16 + 8 * 5, alcove_seccomp:offset({args, 5})),
    % The halves of a 64-bit argument, wherever this machine keeps them.
    Data = <<0:128, 16#0102030405060708:64/native>>,
    Half = fun(Which) ->
        Offset = alcove_seccomp:offset({args, 0, Which}),
        <<_:Offset/binary, Word:32/native, _/binary>> = Data,
        Word
    end,
    ?assertEqual(16#05060708, Half(low)),
    ?assertEqual(16#01020304, Half(high)),
    ?assertEqual(3, length(?VALIDATE_ARCHITECTURE(0))),
    ?assertEqual(2, length(?ALLOW_SYSCALL(0))),
    ?assertEqual(16#0f, ?BPF_CLASS(16#0f) bor ?BPF_SRC(?BPF_X)),
    ?assertError(function_clause, alcove_seccomp:insn({16#10000, 0, 0, 0})),
    ?assertError(function_clause, alcove_seccomp:jump(?BPF_JMP, 0, 256, 0)),
    ?assertError(function_clause, alcove_seccomp:offset({args, 6})).

%%% cstruct calls

alloc() ->
    [{doc, "alloc returns the struct (pointers included) and its contents."}].
alloc(Config) ->
    Drv = drv(Config),
    Word = erlang:system_info(wordsize),
    {ok, Struct, Contents} = alcove:alloc(Drv, [], [<<1, 2>>, {ptr, 4}, {ptr, <<"ab">>}, <<3>>]),
    ?assertEqual([<<1, 2>>, {ptr, <<0, 0, 0, 0>>}, {ptr, <<"ab">>}, <<3>>], Contents),
    ?assertEqual(2 + 2 * Word + 1, byte_size(Struct)),
    <<1, 2, P1:Word/native-unit:8, P2:Word/native-unit:8, 3>> = Struct,
    ?assert(P1 =/= 0 andalso P2 =/= 0 andalso P1 =/= P2),
    % An empty buffer is a NULL pointer, read back as the pointer field
    % itself; a binary is a struct of one field; empty fields stay.
    ?assertEqual({ok, <<0:(Word * 8)>>, [<<0:(Word * 8)>>]}, alcove:alloc(Drv, [], [{ptr, 0}])),
    ?assertEqual({ok, <<0:(Word * 8)>>, [<<0:(Word * 8)>>]}, alcove:alloc(Drv, [], [{ptr, <<>>}])),
    ?assertEqual({ok, <<"abc">>, <<"abc">>}, alcove:alloc(Drv, [], <<"abc">>)),
    ?assertEqual({ok, <<>>, [<<>>]}, alcove:alloc(Drv, [], [<<>>])),
    ?assertEqual({ok, <<"x">>, [<<>>, <<"x">>, <<>>]}, alcove:alloc(Drv, [], [<<>>, <<"x">>, <<>>])),
    % Nothing to lay out.
    ?assertError(badarg, alcove:alloc(Drv, [], [])).

alloc_limits() ->
    [{doc, "Malformed structs, structs over 1 MiB and replies over one frame are badarg."}].
alloc_limits(Config) ->
    Drv = drv(Config),
    MiB = 1024 * 1024,
    ?assertMatch({ok, _, [{ptr, <<0:(900000 * 8)>>}]}, alcove:alloc(Drv, [], [{ptr, 900000}])),
    % The reply holds the struct twice (bytes and contents).
    ?assertMatch({ok, _, _}, alcove:alloc(Drv, [], [<<0:(400000 * 8)>>])),
    ?assertError(badarg, alcove:alloc(Drv, [], [<<0:(600000 * 8)>>])),
    ?assertError(badarg, alcove:alloc(Drv, [], [{ptr, MiB}])),
    ?assertError(badarg, alcove:alloc(Drv, [], [{ptr, 1 bsl 62}])),
    ?assertError(badarg, alcove:alloc(Drv, [], [{ptr, -1}])),
    ?assertError(badarg, alcove:alloc(Drv, [], [{ptr, 512 * 1024}, {ptr, 512 * 1024}])),
    ?assertError(badarg, alcove:alloc(Drv, [], [foo])),
    ?assertError(badarg, alcove:alloc(Drv, [], [{ptr, foo}])),
    ?assertError(badarg, alcove:alloc(Drv, [], [{buf, 1}])),
    ?assertError(badarg, alcove:alloc(Drv, [], [[<<1>>]])),
    ?assertError(badarg, alcove:alloc(Drv, [], 42)),
    % Four buffers of a prctl call share one reply.
    {ok, Child} = alcove:fork(Drv, []),
    Quarter = {ptr, 300000},
    ?assertError(badarg, alcove:prctl(Drv, [Child], pr_get_name, Quarter, Quarter, Quarter, Quarter)),
    % And the helper still answers.
    ?assertEqual(alcove:getpid(Drv, []), alcove:getpid(Drv, [])).

ioctl_enotty() ->
    [{doc, "ioctl tiocgwinsz on a file that is not a terminal gives enotty."}].
ioctl_enotty(Config) ->
    Drv = drv(Config),
    {ok, FD} = alcove:open(Drv, [], "/dev/null", [o_rdonly], 0),
    ?assertEqual({error, enotty}, alcove:ioctl(Drv, [], FD, tiocgwinsz, <<0:64>>)),
    ?assertEqual({error, enotty}, alcove:ioctl(Drv, [], FD, tiocgwinsz, [<<0:64>>])),
    ?assertEqual({error, enotsup}, alcove:ioctl(Drv, [], FD, no_such_request, <<0:64>>)),
    ?assertEqual({error, ebadf}, alcove:ioctl(Drv, [], -1, tiocgwinsz, <<0:64>>)),
    ok = alcove:close(Drv, [], FD).

ioctl_out_parameter() ->
    [{doc, "ioctl fionread writes through its pointer: the reply holds the bytes left to read."}].
ioctl_out_parameter(Config) ->
    Drv = drv(Config),
    Path = filename:join(?config(priv_dir, Config), "fionread"),
    ok = file:write_file(Path, <<"hello">>),
    {ok, FD} = alcove:open(Drv, [], Path, [o_rdonly], 0),
    ?assertEqual({ok, 0, <<5:32/native>>}, alcove:ioctl(Drv, [], FD, fionread, <<0:32>>)),
    ?assertEqual({ok, 0, [<<5:32/native>>]}, alcove:ioctl(Drv, [], FD, fionread, [<<0:32>>])),
    Request = alcove:ioctl_constant(Drv, [], fionread),
    ?assertEqual({ok, 0, {ptr, <<5:32/native>>}}, alcove:ioctl(Drv, [], FD, Request, {ptr, 4})),
    ok = alcove:close(Drv, [], FD).

prctl_name() ->
    [{doc, "pr_set_name takes a string; pr_get_name fills a 16-byte buffer."}].
prctl_name(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual({ok, 0, <<"alcove-test", 0>>, 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_set_name, <<"alcove-test", 0>>, 0, 0, 0)),
    Name = <<"alcove-test", 0:(5 * 8)>>,
    ?assertEqual({ok, 0, {ptr, Name}, 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_get_name, {ptr, 16}, 0, 0, 0)),
    ?assertEqual({ok, 0, Name, 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_get_name, <<0:128>>, 0, 0, 0)),
    Comm = "/proc/" ++ integer_to_list(Child) ++ "/comm",
    ?assertEqual({ok, <<"alcove-test\n">>}, file:read_file(Comm)),
    % The option as an integer, as alcove:define/3 gives it.
    PR_GET_NAME = alcove:define(Drv, [Child], pr_get_name),
    ?assertMatch({ok, 0, {ptr, Name}, 0, 0, 0},
        alcove:prctl(Drv, [Child], PR_GET_NAME, {ptr, <<0:128>>}, 0, 0, 0)).

prctl_pdeathsig() ->
    [{doc, "pr_get_pdeathsig writes an int through its pointer."}].
prctl_pdeathsig(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    SIGUSR1 = alcove:define(Drv, [Child], sigusr1),
    ?assertEqual({ok, 0, SIGUSR1, 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_set_pdeathsig, SIGUSR1, 0, 0, 0)),
    ?assertEqual({ok, 0, <<SIGUSR1:32/native>>, 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_get_pdeathsig, <<0:32>>, 0, 0, 0)),
    ?assertEqual({ok, 0, [<<SIGUSR1:32/native>>], 0, 0, 0},
        alcove:prctl(Drv, [Child], pr_get_pdeathsig, [<<0:32>>], 0, 0, 0)).

prctl_arguments() ->
    [{doc, "Unknown options are enotsup, kernel refusals errors, bad terms badarg."}].
prctl_arguments(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual({error, enotsup}, alcove:prctl(Drv, [Child], no_such_option, 0, 0, 0, 0)),
    ?assertEqual({error, einval}, alcove:prctl(Drv, [Child], 16#7fff0000, 0, 0, 0, 0)),
    % no_new_privs takes 1 and nothing else.
    ?assertEqual({error, einval}, alcove:prctl(Drv, [Child], pr_set_no_new_privs, 2, 0, 0, 0)),
    % Arguments may be prctl constants, as in the original.
    ?assertEqual({error, enotsup}, alcove:prctl(Drv, [Child], pr_get_name, foo, 0, 0, 0)),
    ?assertMatch({ok, 0, _, 0, 0, 0},
                 alcove:prctl(Drv, [Child], pr_set_no_new_privs, 1, 0, 0, 0)),
    ?assertEqual({ok, 1, 0, 0, 0, 0}, alcove:prctl(Drv, [Child], pr_get_no_new_privs, 0, 0, 0, 0)),
    ?assertEqual({ok, 0, 1, 0, 0, 0},
                 alcove:prctl(Drv, [Child], pr_set_no_new_privs, seccomp_mode_strict, 0, 0, 0)),
    ?assertError(badarg, alcove:prctl(Drv, [Child], pr_get_name, 1 bsl 64, 0, 0, 0)),
    ?assertError(badarg, alcove:prctl(Drv, [Child], pr_get_name, {ptr, 1 bsl 30}, 0, 0, 0)),
    ?assertError(badarg, alcove:prctl(Drv, [Child], 1 bsl 40, 0, 0, 0, 0)),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])).

ptrace_esrch() ->
    [{doc, "ptrace on a process that does not exist gives esrch."}].
ptrace_esrch(Config) ->
    Drv = drv(Config),
    NoSuchPid = 16#3fffffff,
    ?assertEqual({error, esrch}, alcove:ptrace(Drv, [], ptrace_attach, NoSuchPid, 0, 0)),
    ?assertEqual({error, esrch}, alcove:ptrace(Drv, [], ptrace_peekdata, NoSuchPid, 0, <<0:64>>)),
    ?assertEqual({error, enotsup}, alcove:ptrace(Drv, [], no_such_request, NoSuchPid, 0, 0)),
    ?assertError(badarg, alcove:ptrace(Drv, [], ptrace_attach, NoSuchPid, bar, 0)).

ptrace_seize() ->
    [{doc, "A child seizes its own child; the tracee still exits normally."}].
ptrace_seize(Config) ->
    Drv = drv(Config),
    {ok, Parent} = alcove:fork(Drv, []),
    {ok, Tracee} = alcove:fork(Drv, [Parent]),
    Options = alcove:define(Drv, [Parent], [ptrace_o_exitkill]),
    % Integer arguments read back as <<>>, as in the original.
    ?assertEqual({ok, 0, <<>>, <<>>},
        alcove:ptrace(Drv, [Parent], ptrace_seize, Tracee, 0, Options)),
    {ok, Status} = file:read_file("/proc/" ++ integer_to_list(Tracee) ++ "/status"),
    {match, [Tracer]} = re:run(Status, "TracerPid:\\s+(\\d+)", [{capture, all_but_first, binary}]),
    ?assertEqual(Parent, binary_to_integer(Tracer)),
    ok = alcove:exit(Drv, [Parent, Tracee], 0),
    ?assertEqual({exit_status, 0}, wait_event(Drv, [Parent, Tracee])).
