%%% Common Test suite: seccomp filters given by system call name
%%% (alcove_seccomp:install/3,4, the helper's seccomp_load), and user
%%% notifications answered from Erlang (alcove_seccomp:respond/4).
-module(alcove_seccomp_named_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
%% Each case Name/1 has a Name/0 with its doc line.
-export([
    kill_process/0, kill_process/1,
    errno_call_and_exec/0, errno_call_and_exec/1,
    allow_list_exec/0, allow_list_exec/1,
    argument_conditions/0, argument_conditions/1,
    rule_order/0, rule_order/1,
    unknown_syscalls/0, unknown_syscalls/1,
    bad_specs/0, bad_specs/1,
    user_notif_errno/0, user_notif_errno/1,
    user_notif_continue/0, user_notif_continue/1,
    user_notif_return/0, user_notif_return/1,
    user_notif_listener_closed/0, user_notif_listener_closed/1,
    user_notif_root/0, user_notif_root/1,
    trap_and_log/0, trap_and_log/1,
    no_new_privs/0, no_new_privs/1
]).

-define(BUSYBOX, "/bin/busybox").

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [kill_process, errno_call_and_exec, allow_list_exec, argument_conditions, rule_order,
     unknown_syscalls, bad_specs, user_notif_errno, user_notif_continue, user_notif_return,
     user_notif_listener_closed, user_notif_root, trap_and_log, no_new_privs].

init_per_suite(Config) ->
    case {os:type(), erlang:system_info(wordsize), arch()} of
        {{unix, linux}, 8, "x86_64"} -> Config;
        Other -> {skip, {"system call names are known for Linux x86_64 only", Other}}
    end.

end_per_suite(_Config) ->
    ok.

init_per_testcase(Case, Config) ->
    Busybox = lists:member(Case, [errno_call_and_exec, allow_list_exec, user_notif_continue,
                                  trap_and_log]),
    case {Busybox andalso not filelib:is_regular(?BUSYBOX),
          Case =:= no_new_privs andalso not alcove_ct:root()} of
        {true, _} ->
            {skip, "no " ?BUSYBOX " to exec"};
        {_, true} ->
            {skip, "needs root to drop to an unprivileged uid"};
        _ ->
            Dir = string:trim(os:cmd("mktemp -d /tmp/alcove_seccomp_named.XXXXXX")),
            alcove_ct:init_driver([{dir, Dir} | Config])
    end.

end_per_testcase(_Case, Config) ->
    alcove_ct:end_driver(Config),
    os:cmd("rm -rf " ++ ?config(dir, Config)),
    ok.

%%% helpers

arch() ->
    string:trim(os:cmd("uname -m")).

drv(Config) -> ?config(drv, Config).

path(Config, Name) ->
    filename:join(?config(dir, Config), Name).

%% Run Fun in another process: its result arrives as {Ref, Result}.
async(Fun) ->
    Self = self(),
    Ref = make_ref(),
    spawn_link(fun() -> Self ! {Ref, catch Fun()} end),
    Ref.

await(Ref) ->
    receive
        {Ref, Result} -> Result
    after 10000 -> ct:fail({no_result, Ref})
    end.

notification(Drv, Pipeline) ->
    receive
        {alcove_event, Drv, Pipeline, {seccomp_notif, Id, Pid, Syscall, Args}} ->
            {Id, Pid, Syscall, Args}
    after 10000 -> ct:fail({no_notification, Pipeline})
    end.

exec(Drv, Pipeline, Argv) ->
    ok = alcove:execve(Drv, Pipeline, ?BUSYBOX, ["busybox" | Argv], []).

listeners(OSPid) ->
    Dir = "/proc/" ++ integer_to_list(OSPid) ++ "/fd",
    {ok, Fds} = file:list_dir(Dir),
    length([Fd || Fd <- Fds,
                  {ok, Link} <- [file:read_link(filename:join(Dir, Fd))],
                  string:find(Link, "seccomp notify") =/= nomatch]).

%%% cases

kill_process() ->
    [{doc, "A denied call with kill_process: the process dies of SIGSYS, the caller and the owner see {termsig, sigsys}."}].
kill_process(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    {ok, _} = alcove:getcwd(Drv, [Child]),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{deny => [getcwd]})),
    % Other calls still work.
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    ?assertError({termsig, sigsys}, alcove:getcwd(Drv, [Child])),
    ?assertEqual({termsig, sigsys}, alcove_ct:wait_exit(Drv, [Child])),
    ?assert(is_integer(alcove:getpid(Drv, []))).

errno_call_and_exec() ->
    [{doc, "{errno, eacces}: a helper call and an exec'd program both get EACCES from mkdir."}].
errno_call_and_exec(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child],
        #{deny => [{mkdir, {errno, eacces}}, {mkdirat, {errno, eacces}}]})),
    Dir = path(Config, "denied"),
    ?assertEqual({error, eacces}, alcove:mkdir(Drv, [Child], Dir, 8#755)),
    ?assertNot(filelib:is_dir(Dir)),
    % Not denied elsewhere, nor other calls here.
    ?assertEqual(ok, alcove:mkdir(Drv, [], path(Config, "allowed"), 8#755)),
    ?assertEqual(ok, alcove:rmdir(Drv, [Child], path(Config, "allowed"))),
    exec(Drv, [Child], ["mkdir", Dir]),
    {_, Exit} = alcove_ct:read_until_exit(Drv, [Child]),
    ?assertEqual({exit_status, 1}, Exit),
    ?assertNot(filelib:is_dir(Dir)).

%% What the helper needs between the install and the exec (serving the
%% exec call, entering its teardown cgroup) and what `busybox echo' needs.
allow_list() ->
    [read, write, poll, ppoll, close, openat, fcntl, mkdir, rt_sigaction, rt_sigprocmask,
     rt_sigreturn, getpid, getpgid, getpgrp, getppid, setpgid, getuid, prctl, prlimit64, readlink,
     getrandom, execve, arch_prctl, brk, mprotect, rseq, set_robust_list, set_tid_address,
     exit, exit_group].

allow_list_exec() ->
    [{doc, "An allow-list with default kill_process runs busybox echo; busybox uname, using a call not listed, dies of SIGSYS."}].
allow_list_exec(Config) ->
    Drv = drv(Config),
    Spec = #{default => kill_process, allow => allow_list()},
    {ok, Echo} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Echo], Spec)),
    exec(Drv, [Echo], ["echo", "allowed"]),
    ?assertEqual({<<"allowed\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [Echo])),
    {ok, Uname} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Uname], Spec)),
    exec(Drv, [Uname], ["uname"]),
    ?assertEqual({<<>>, {termsig, sigsys}}, alcove_ct:read_until_exit(Drv, [Uname])).

argument_conditions() ->
    [{doc, "Conditions on arguments: socket denied for AF_INET only, and for SOCK_DGRAM by a masked 32-bit compare."}].
argument_conditions(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    % Linux's values (the suite runs on Linux only).
    AF_INET = 2,
    SOCK_DGRAM = 2,
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{
        deny => [{socket, {errno, eacces}, [{0, eq, AF_INET}]},
                 {socket, {errno, eperm}, [{1, {masked_eq, 16#f}, SOCK_DGRAM, dword}]}]
    })),
    ?assertEqual({error, eacces}, alcove:socket(Drv, [Child], af_inet, sock_stream, 0)),
    ?assertMatch({ok, _}, alcove:socket(Drv, [Child], af_unix, sock_stream, 0)),
    ?assertEqual({error, eperm}, alcove:socket(Drv, [Child], af_unix, sock_dgram, 0)),
    % SOCK_CLOEXEC is outside the mask.
    ?assertEqual({error, eperm}, alcove:socket(Drv, [Child], af_unix, [sock_dgram, sock_cloexec], 0)),
    ?assertMatch({ok, _}, alcove:socket(Drv, [], af_inet, sock_stream, 0)).

rule_order() ->
    [{doc, "The first matching rule decides: rules, then deny, then allow; the default for the rest."}].
rule_order(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{
        default => {errno, enosys},
        rules => [{getcwd, {errno, eperm}}],
        deny => [{getcwd, {errno, eacces}}, {chdir, {errno, eacces}}],
        allow => [getcwd, chdir, read, write, poll, close, getpid, rt_sigprocmask]
    })),
    ?assertEqual({error, eperm}, alcove:getcwd(Drv, [Child])),
    ?assertEqual({error, eacces}, alcove:chdir(Drv, [Child], "/")),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])),
    ?assertEqual({error, enosys}, alcove:mkdir(Drv, [Child], path(Config, "x"), 8#755)).

unknown_syscalls() ->
    [{doc, "Unknown names raise {unknown_syscalls, Names}, naming each once; nothing is installed and the helper serves on."}].
unknown_syscalls(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertError({unknown_syscalls, [no_such_call, frobnicate]},
        alcove_seccomp:install(Drv, [Child], #{
            deny => [no_such_call, mkdir, frobnicate],
            allow => [no_such_call]
        })),
    ?assertEqual({error, {unknown_syscalls, [nope]}},
        alcove:seccomp_load(Drv, [Child], allow, [{nope, allow}], [])),
    % mkdir was not denied: no filter went in.
    ?assertEqual(ok, alcove:mkdir(Drv, [Child], path(Config, "made"), 8#755)),
    ?assertEqual(Child, alcove:getpid(Drv, [Child])).

bad_specs() ->
    [{doc, "Specs of the wrong shape raise badarg (helper or Erlang side); a filter too long is e2big; the helper serves on."}].
bad_specs(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    Bad = [
        {deny, [], []},
        {allow, [{mkdir, deny}], []},
        {allow, [{mkdir, allow, [{6, eq, 0}]}], []},
        {allow, [{mkdir, allow, [{0, equal, 0}]}], []},
        {allow, [{mkdir, {errno, 5000}}], []},
        {allow, [{-1, allow}], []},
        {allow, [{"mkdir", allow}], []},
        {allow, [mkdir], []},
        {allow, [], [tsync]},
        {allow, not_a_list, []}
    ],
    [?assertError(badarg, alcove:seccomp_load(Drv, [Child], D, R, F), {D, R, F})
     || {D, R, F} <- Bad],
    ?assertError(badarg, alcove_seccomp:install(Drv, [Child], #{default => nope})),
    ?assertError(badarg, alcove_seccomp:install(Drv, [Child], #{allow => mkdir})),
    ?assertError(badarg, alcove_seccomp:install(Drv, [Child], #{}, #{tsync => true})),
    Long = [{N, case N rem 2 of 0 -> trap; 1 -> log end} || N <- lists:seq(0, 999)],
    ?assertEqual({error, e2big}, alcove:seccomp_load(Drv, [Child], allow, Long, [])),
    % Notification calls: a child with no listener, a listener that is not
    % one, no such child, a response of another shape.
    ?assertEqual({error, enoent}, alcove_seccomp:respond(Drv, [Child], 1, continue)),
    ?assertEqual({error, einval}, alcove:seccomp_listener(Drv, [], Child, 0)),
    ?assertEqual({error, esrch}, alcove:seccomp_listener(Drv, [], 0, 0)),
    ?assertError(badarg, alcove:seccomp_listener(Drv, [], Child, -1)),
    ?assertError(badarg, alcove_seccomp:respond(Drv, [Child], 1, allow)),
    ?assertError(badarg, alcove_seccomp:respond(Drv, [Child], 1, {errno, 0})),
    ?assertEqual(ok, alcove:mkdir(Drv, [Child], path(Config, "made"), 8#755)).

user_notif_errno() ->
    [{doc, "user_notif in a grandchild: its parent (not the root helper) serves it; the owner gets the notification and fails the call with {errno, eacces}."}].
user_notif_errno(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    {ok, Grandchild} = alcove:fork(Drv, [Child]),
    P = [Child, Grandchild],
    ?assertEqual(ok, alcove_seccomp:install(Drv, P, #{rules => [{mkdir, user_notif}]})),
    Dir = path(Config, "notified"),
    Ref = async(fun() -> alcove:mkdir(Drv, P, Dir, 8#750) end),
    {Id, Pid, Syscall, Args} = notification(Drv, P),
    ?assertEqual({Grandchild, mkdir}, {Pid, Syscall}),
    ?assertMatch([_, 8#750, _, _, _, _], Args),
    ?assertEqual(ok, alcove_seccomp:respond(Drv, P, Id, {errno, eacces})),
    ?assertEqual({error, eacces}, await(Ref)),
    ?assertNot(filelib:is_dir(Dir)),
    % Answered already.
    ?assertEqual({error, enoent}, alcove_seccomp:respond(Drv, P, Id, continue)).

user_notif_continue() ->
    [{doc, "user_notif answered continue: the call really happens, for a helper call and an exec'd program."}].
user_notif_continue(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    % A process takes its teardown cgroup leaf as its own when it first
    % forks or execs (making it, where it did not start in it): now, so
    % that the exec below makes none.
    {ok, _} = alcove:fork(Drv, [Child]),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child],
        #{rules => [{mkdir, user_notif}, {mkdirat, user_notif}]})),
    Dir = path(Config, "continued"),
    Ref = async(fun() -> alcove:mkdir(Drv, [Child], Dir, 8#755) end),
    {Id, Child, mkdir, _} = notification(Drv, [Child]),
    ?assertNot(filelib:is_dir(Dir)),
    ?assertEqual(ok, alcove_seccomp:respond(Drv, [Child], Id, continue)),
    ?assertEqual(ok, await(Ref)),
    ?assert(filelib:is_dir(Dir)),
    % The exec'd program's mkdir is notified too, and waits for the answer.
    Dir2 = path(Config, "by_busybox"),
    exec(Drv, [Child], ["mkdir", Dir2]),
    {Id2, Child, Syscall, _} = notification(Drv, [Child]),
    ?assert(lists:member(Syscall, [mkdir, mkdirat]), Syscall),
    ?assertNot(filelib:is_dir(Dir2)),
    ?assertEqual(ok, alcove_seccomp:respond(Drv, [Child], Id2, continue)),
    ?assertEqual({<<>>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [Child])),
    ?assert(filelib:is_dir(Dir2)).

user_notif_return() ->
    [{doc, "user_notif answered {return, N}: the call returns N without running."}].
user_notif_return(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{rules => [{getpid, user_notif}]})),
    Ref = async(fun() -> alcove:getpid(Drv, [Child]) end),
    {Id, Child, getpid, _} = notification(Drv, [Child]),
    ?assertEqual(ok, alcove_seccomp:respond(Drv, [Child], Id, {return, 4242})),
    ?assertEqual(4242, await(Ref)).

user_notif_listener_closed() ->
    [{doc, "The parent holds the listener (the child's copy is closed) and closes it when the filtered process exits."}].
user_notif_listener_closed(Config) ->
    Drv = drv(Config),
    Root = alcove:getpid(Drv, []),
    {ok, Child} = alcove:fork(Drv, []),
    ?assertEqual(0, listeners(Root)),
    % close itself notified: install answers the one for the child's copy.
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{rules => [{close, user_notif}]})),
    ?assertEqual(1, listeners(Root)),
    ?assertEqual(0, listeners(Child)),
    ok = alcove:exit(Drv, [Child], 0),
    ?assertEqual({exit_status, 0}, alcove_ct:wait_exit(Drv, [Child])),
    ?assertEqual(ok, alcove_ct:wait_until(fun() -> listeners(Root) =:= 0 end)).

user_notif_root() ->
    [{doc, "The root helper has no parent helper to serve its notifications: badarg, nothing installed."}].
user_notif_root(Config) ->
    Drv = drv(Config),
    ?assertError(badarg, alcove_seccomp:install(Drv, [], #{rules => [{mkdir, user_notif}]})),
    ?assertError(badarg, alcove_seccomp:respond(Drv, [], 1, continue)),
    ?assertEqual(ok, alcove:mkdir(Drv, [], path(Config, "root"), 8#755)).

trap_and_log() ->
    [{doc, "log lets the call run; trap sends SIGSYS (reported by a helper, fatal to an exec'd program); kill_thread kills the single-threaded helper."}].
trap_and_log(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    {ok, Cwd} = alcove:getcwd(Drv, [Child]),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{deny => [{getcwd, log}]},
                                            #{log => true})),
    ?assertEqual({ok, Cwd}, alcove:getcwd(Drv, [Child])),
    % The helper catches SIGSYS and reports it; the trapped call does not run.
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{deny => [{chdir, trap}, {uname, trap}]})),
    _ = alcove:chdir(Drv, [Child], "/"),
    receive
        {alcove_event, Drv, [Child], {signal, sigsys, _}} -> ok
    after 10000 -> ct:fail(no_sigsys)
    end,
    ?assertEqual({ok, Cwd}, alcove:getcwd(Drv, [Child])),
    % An exec'd program has SIGSYS's default action.
    exec(Drv, [Child], ["uname"]),
    ?assertEqual({<<>>, {termsig, sigsys}}, alcove_ct:read_until_exit(Drv, [Child])),
    {ok, Child2} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child2], #{deny => [{getcwd, kill_thread}]},
                                            #{no_new_privs => false})),
    ?assertError({termsig, sigsys}, alcove:getcwd(Drv, [Child2])),
    ?assertEqual({termsig, sigsys}, alcove_ct:wait_exit(Drv, [Child2])).

no_new_privs() ->
    [{doc, "An unprivileged process installs a filter with no_new_privs (the default), not without it (EACCES); its notifications are served as well."}].
no_new_privs(Config) ->
    Drv = drv(Config),
    {ok, Child} = alcove:fork(Drv, []),
    ok = alcove:setresuid(Drv, [Child], 65534, 65534, 65534),
    ?assertEqual({ok, 0, 0, 0, 0, 0}, alcove:prctl(Drv, [Child], pr_get_no_new_privs, 0, 0, 0, 0)),
    ?assertEqual({error, eacces}, alcove_seccomp:install(Drv, [Child], #{deny => [{getcwd, {errno, eperm}}]},
                                                         #{no_new_privs => false})),
    ?assertMatch({ok, _}, alcove:getcwd(Drv, [Child])),
    ?assertEqual(ok, alcove_seccomp:install(Drv, [Child], #{rules => [{getcwd, user_notif}]})),
    ?assertEqual({ok, 1, 0, 0, 0, 0}, alcove:prctl(Drv, [Child], pr_get_no_new_privs, 0, 0, 0, 0)),
    Ref = async(fun() -> alcove:getcwd(Drv, [Child]) end),
    {Id, Child, getcwd, _} = notification(Drv, [Child]),
    ?assertEqual(ok, alcove_seccomp:respond(Drv, [Child], Id, {errno, eperm})),
    ?assertEqual({error, eperm}, await(Ref)).
