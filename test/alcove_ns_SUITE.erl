%%% Common Test suite: mounts, namespaces and sockets (sys/mount.rs and
%%% sys/net.rs). Whatever changes global state runs in a child cloned into
%%% new namespaces: mounts in clone_newns with the whole tree made private
%%% first (so nothing propagates to the host), host names in clone_newuts,
%%% network in clone_newnet.
-module(alcove_ns_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include("alcove.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
-export([mount/1, umount/1, umount2/1, pivot_root/1, setns/1, unshare/1]).
-export([socket/1, connect/1, connect_netns/1]).

-define(MS_RDONLY, 16#1).
-define(MS_REMOUNT, 16#20).
-define(AF_UNIX, 1).
-define(AF_INET, 2).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, mounts}, {group, namespaces}, {group, sockets}].

groups() ->
    [
        {mounts, [], [mount, umount, umount2, pivot_root]},
        {namespaces, [], [setns, unshare]},
        {sockets, [], [socket, connect, connect_netns]}
    ].

init_per_testcase(Case, Config) ->
    case needs_root(Case) andalso not alcove_ct:root() of
        true ->
            {skip, "needs root (CAP_SYS_ADMIN in the initial namespaces)"};
        false ->
            {ok, Drv} = alcove_drv:start_link(),
            Dir = filename:join("/tmp", io_lib:format("alcove_ns_~s_~p", [os:getpid(), erlang:unique_integer([positive])])),
            ok = file:make_dir(Dir),
            [{drv, Drv}, {dir, lists:flatten(Dir)} | Config]
    end.

end_per_testcase(_Case, Config) ->
    Drv = ?config(drv, Config),
    unlink(Drv),
    catch alcove_drv:stop(Drv),
    % The mounts were in namespaces that died with the helper: none of them
    % may be on the host.
    Dir = ?config(dir, Config),
    false = mounted_on_host(Dir),
    ok = file:del_dir_r(Dir).

%%% helpers

needs_root(Case) ->
    lists:member(Case, [mount, umount, umount2, pivot_root, setns, unshare, connect_netns]).

drv(Config) -> ?config(drv, Config).

%% A child in a new mount namespace where no mount propagates anywhere.
private_mount_ns(Drv) ->
    {ok, C} = alcove:clone(Drv, [], [clone_newns]),
    ok = alcove:mount(Drv, [C], "none", "/", "", [ms_rec, ms_private], "", ""),
    C.

mount_tmpfs(Drv, C, Dir) ->
    ok = alcove:mount(Drv, [C], "tmpfs", Dir, "tmpfs", [ms_nosuid, ms_nodev], "size=16m,mode=755", "").

%% Run a shell command in a new child of Pipeline; {Stdout, ExitEvent}.
sh(Drv, Pipeline, Command) ->
    {ok, Sh} = alcove:fork(Drv, Pipeline),
    ok = alcove:execvp(Drv, Pipeline ++ [Sh], "sh", ["sh", "-c", Command]),
    alcove_ct:read_until_exit(Drv, Pipeline ++ [Sh]).

mounted_on_host(Dir) ->
    {ok, Mounts} = file:read_file("/proc/self/mounts"),
    binary:match(Mounts, list_to_binary(" " ++ Dir ++ " ")) =/= nomatch.

%% struct sockaddr_un for a path.
sockaddr_un(Path) ->
    [<<?AF_UNIX:16/native>>, iolist_to_binary([Path, 0])].

%%% mounts

%% doc: mount(2) a tmpfs seen only in the child's mount namespace; flags as
%% atoms or an integer (remount read-only); ENOENT, ENODEV, enotsup, badarg.
mount(Config) ->
    Drv = drv(Config),
    Dir = ?config(dir, Config),
    C = private_mount_ns(Drv),
    ?assertEqual(ok, alcove:mount(Drv, [C], "tmpfs", Dir, "tmpfs", [ms_nosuid, ms_nodev], "size=1m,mode=755", "")),
    {Out, Exit} = sh(Drv, [C], "echo in-ns > " ++ Dir ++ "/f && cat " ++ Dir ++ "/f && grep ' " ++ Dir ++ " ' /proc/self/mounts"),
    ?assertEqual({exit_status, 0}, Exit),
    [<<"in-ns">>, MountLine | _] = binary:split(Out, <<"\n">>, [global]),
    ?assertMatch([<<"tmpfs">>, _, <<"tmpfs">>, _ | _], binary:split(MountLine, <<" ">>, [global])),
    ?assertNotEqual(nomatch, binary:match(MountLine, <<"nosuid">>)),
    ?assertNotEqual(nomatch, binary:match(MountLine, <<"size=1024k">>)),
    % Nothing of it on the host.
    ?assertEqual({error, enoent}, file:read_file(Dir ++ "/f")),
    ?assertNot(mounted_on_host(Dir)),
    % Integer flags: MS_REMOUNT | MS_RDONLY (empty source and type).
    ?assertEqual(ok, alcove:mount(Drv, [C], "", Dir, "", ?MS_REMOUNT bor ?MS_RDONLY, "", "")),
    {_, ReadOnly} = sh(Drv, [C], "echo x > " ++ Dir ++ "/g 2>/dev/null"),
    ?assertNotEqual({exit_status, 0}, ReadOnly),
    ?assertEqual({error, enoent}, alcove:mount(Drv, [C], "tmpfs", Dir ++ "/nonexistent", "tmpfs", 0, "", "")),
    ?assertEqual({error, enodev}, alcove:mount(Drv, [C], "none", Dir, "alcove_no_such_fs", 0, "", "")),
    ?assertEqual({error, enotsup}, alcove:mount(Drv, [C], "tmpfs", Dir, "tmpfs", [ms_nonexistent], "", "")),
    ?assertError(badarg, alcove:mount(Drv, [C], "tmpfs", Dir, "tmpfs", -1, "", "")),
    ?assertError(badarg, alcove:mount(Drv, [C], "tmpfs", Dir, "tmpfs", 0, "", not_iodata)),
    % Unprivileged (as nobody, in no user namespace of its own): EPERM.
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:setresuid(Drv, [C, G], 65534, 65534, 65534),
    ?assertEqual({error, eperm}, alcove:mount(Drv, [C, G], "tmpfs", Dir, "tmpfs", 0, "", "")).

%% doc: umount(2) a tmpfs; again is EINVAL (not a mount point); ENOENT.
umount(Config) ->
    Drv = drv(Config),
    Dir = ?config(dir, Config),
    C = private_mount_ns(Drv),
    mount_tmpfs(Drv, C, Dir),
    {_, {exit_status, 0}} = sh(Drv, [C], "touch " ++ Dir ++ "/f"),
    ?assertEqual(ok, alcove:umount(Drv, [C], Dir)),
    {Out, {exit_status, 0}} = sh(Drv, [C], "ls -A " ++ Dir),
    ?assertEqual(<<>>, Out),
    ?assertEqual({error, einval}, alcove:umount(Drv, [C], Dir)),
    ?assertEqual({error, enoent}, alcove:umount(Drv, [C], Dir ++ "/nonexistent")),
    ?assertError(badarg, alcove:umount(Drv, [C], <<"a", 0, "b">>)).

%% doc: umount2(2): EBUSY while a process works in the mount, MNT_DETACH
%% works anyway; EINVAL for MNT_EXPIRE with MNT_FORCE; enotsup.
umount2(Config) ->
    Drv = drv(Config),
    Dir = ?config(dir, Config),
    C = private_mount_ns(Drv),
    mount_tmpfs(Drv, C, Dir),
    {ok, G} = alcove:fork(Drv, [C]),
    ok = alcove:chdir(Drv, [C, G], Dir),
    ?assertEqual({error, ebusy}, alcove:umount2(Drv, [C], Dir, 0)),
    ?assertEqual({error, einval}, alcove:umount2(Drv, [C], Dir, [mnt_expire, mnt_force])),
    ?assertEqual({error, enotsup}, alcove:umount2(Drv, [C], Dir, [mnt_nonexistent])),
    ?assertError(badarg, alcove:umount2(Drv, [C], Dir, 1 bsl 40)),
    ?assertEqual(ok, alcove:umount2(Drv, [C], Dir, [mnt_detach])),
    ?assertEqual({error, einval}, alcove:umount2(Drv, [C], Dir, [umount_nofollow])),
    % Gone from C's mount table, though G still works in it.
    ?assertEqual({<<>>, {exit_status, 1}}, sh(Drv, [C], "grep ' " ++ Dir ++ " ' /proc/self/mounts")),
    ?assertEqual(G, alcove:getpid(Drv, [C, G])).

%% doc: pivot_root(2) into a tmpfs holding a static busybox, then exec
%% busybox ls / there; ENOENT, and EINVAL when PutOld is not under NewRoot.
pivot_root(Config) ->
    Busybox = "/bin/busybox",
    case filelib:is_regular(Busybox) of
        false ->
            {skip, "needs a static busybox at /bin/busybox"};
        true ->
            Drv = drv(Config),
            Dir = ?config(dir, Config),
            C = private_mount_ns(Drv),
            ?assertEqual({error, enoent}, alcove:pivot_root(Drv, [C], Dir ++ "/nonexistent", Dir)),
            % Not a mount point yet: EINVAL, or EBUSY where the directory
            % is on the root's own mount (checked first by the kernel).
            ok = file:make_dir(Dir ++ "/old"),
            ?assertMatch({error, E} when E =:= einval; E =:= ebusy, alcove:pivot_root(Drv, [C], Dir, Dir ++ "/old")),
            ok = file:del_dir(Dir ++ "/old"),
            mount_tmpfs(Drv, C, Dir),
            % PutOld must be under NewRoot.
            ?assertEqual({error, einval}, alcove:pivot_root(Drv, [C], Dir, "/proc")),
            {_, {exit_status, 0}} = sh(Drv, [C], "cp " ++ Busybox ++ " " ++ Dir ++ "/busybox && mkdir " ++ Dir ++ "/old"),
            ?assertEqual(ok, alcove:pivot_root(Drv, [C], Dir, Dir ++ "/old")),
            ok = alcove:chdir(Drv, [C], "/"),
            ok = alcove:umount2(Drv, [C], "/old", [mnt_detach]),
            {ok, G} = alcove:fork(Drv, [C]),
            ok = alcove:execve(Drv, [C, G], "/busybox", ["busybox", "ls", "/"], []),
            ?assertEqual({<<"busybox\nold\n">>, {exit_status, 0}}, alcove_ct:read_until_exit(Drv, [C, G])),
            % The host's root did not move.
            ?assert(filelib:is_regular(Busybox))
    end.

%%% namespaces

%% doc: setns(2) into another child's UTS namespace through
%% /proc/PID/ns/uts; EINVAL for the wrong type, EBADF for a bad fd.
setns(Config) ->
    Drv = drv(Config),
    {ok, Other} = alcove:clone(Drv, [], [clone_newuts]),
    ok = alcove:sethostname(Drv, [Other], "alcove-setns"),
    {ok, C} = alcove:fork(Drv, []),
    {ok, Host} = alcove:gethostname(Drv, [C]),
    {ok, FD} = alcove:open(Drv, [C], "/proc/" ++ integer_to_list(Other) ++ "/ns/uts", [o_rdonly], 0),
    ?assertEqual({error, einval}, alcove:setns(Drv, [C], FD, clone_newnet)),
    ?assertEqual({error, enotsup}, alcove:setns(Drv, [C], FD, clone_nonexistent)),
    ?assertEqual({error, ebadf}, alcove:setns(Drv, [C], 9999, clone_newuts)),
    ?assertEqual({ok, Host}, alcove:gethostname(Drv, [C])),
    ?assertEqual(ok, alcove:setns(Drv, [C], FD, clone_newuts)),
    ?assertEqual({ok, <<"alcove-setns">>}, alcove:gethostname(Drv, [C])),
    % 0 accepts any type; the host's namespace by an integer type.
    Root = alcove:getpid(Drv, []),
    {ok, HostFD} = alcove:open(Drv, [C], "/proc/" ++ integer_to_list(Root) ++ "/ns/uts", [o_rdonly], 0),
    ?assertEqual(ok, alcove:setns(Drv, [C], HostFD, 0)),
    ?assertEqual({ok, Host}, alcove:gethostname(Drv, [C])),
    ?assertEqual(ok, alcove:setns(Drv, [C], FD, 16#04000000)),
    ?assertEqual({ok, <<"alcove-setns">>}, alcove:gethostname(Drv, [C])).

%% doc: unshare(2) a UTS namespace, then sethostname stays in it; EINVAL
%% for a flag unshare does not take, enotsup, EPERM unprivileged.
unshare(Config) ->
    Drv = drv(Config),
    {ok, Host} = inet:gethostname(),
    {ok, C} = alcove:fork(Drv, []),
    ?assertEqual(ok, alcove:unshare(Drv, [C], [clone_newuts])),
    ok = alcove:sethostname(Drv, [C], "alcove-unshare"),
    ?assertEqual({ok, <<"alcove-unshare">>}, alcove:gethostname(Drv, [C])),
    ?assertEqual({ok, Host}, inet:gethostname()),
    ?assertEqual({ok, list_to_binary(Host)}, alcove:gethostname(Drv, [])),
    % Integer flags: CLONE_NEWNS.
    ?assertEqual(ok, alcove:unshare(Drv, [C], 16#00020000)),
    ?assertEqual({error, einval}, alcove:unshare(Drv, [C], [clone_parent])),
    ?assertEqual({error, enotsup}, alcove:unshare(Drv, [C], [clone_nonexistent])),
    ?assertError(badarg, alcove:unshare(Drv, [C], 1 bsl 40)),
    {ok, G} = alcove:fork(Drv, []),
    ok = alcove:setresuid(Drv, [G], 65534, 65534, 65534),
    ?assertEqual({error, eperm}, alcove:unshare(Drv, [G], [clone_newuts])).

%%% sockets

%% doc: socket(2) with atom and integer constants and a list of types;
%% EAFNOSUPPORT/EPROTONOSUPPORT/EINVAL, enotsup for an unknown name.
socket(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:fork(Drv, []),
    {ok, FD} = alcove:socket(Drv, [C], af_unix, sock_stream, 0),
    ?assert(is_integer(FD) andalso FD >= 0),
    Link = "/proc/" ++ integer_to_list(C) ++ "/fd/" ++ integer_to_list(FD),
    {ok, Target} = file:read_link(Link),
    ?assertMatch("socket:[" ++ _, Target),
    {ok, FD2} = alcove:socket(Drv, [C], af_inet, [sock_dgram, sock_cloexec, sock_nonblock], 0),
    ?assertNotEqual(FD, FD2),
    {ok, _} = alcove:socket(Drv, [C], ?AF_UNIX, 5, 0),
    {ok, _} = alcove:socket(Drv, [C], af_local, sock_seqpacket, 0),
    % UDP is no stream protocol; a protocol past IPPROTO_MAX is EINVAL.
    ?assertEqual({error, eprotonosupport}, alcove:socket(Drv, [C], af_inet, sock_stream, 17)),
    ?assertEqual({error, einval}, alcove:socket(Drv, [C], af_inet, sock_stream, 12345)),
    ?assertEqual({error, einval}, alcove:socket(Drv, [C], af_unix, 12345, 0)),
    ?assertEqual({error, eafnosupport}, alcove:socket(Drv, [C], 4000, sock_stream, 0)),
    ?assertEqual({error, enotsup}, alcove:socket(Drv, [C], af_nonexistent, sock_stream, 0)),
    ?assertEqual({error, enotsup}, alcove:socket(Drv, [C], af_unix, sock_nonexistent, 0)),
    ?assertError(badarg, alcove:socket(Drv, [C], af_unix, sock_stream, 1 bsl 40)).

%% doc: connect(2) to a Unix socket a python3 listener made; ENOENT,
%% ECONNREFUSED, EINVAL for [] (NULL), EBADF, badarg for a {ptr, _}.
connect(Config) ->
    Drv = drv(Config),
    Dir = ?config(dir, Config),
    Path = Dir ++ "/sock",
    Listener = open_port(
        {spawn_executable, os:find_executable("python3")},
        [
            {args, ["-c",
                    "import socket, sys\n"
                    "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                    "s.bind(sys.argv[1]); s.listen(1); print('listening', flush=True)\n"
                    "c, _ = s.accept(); print('accepted', flush=True)\n"
                    "sys.stdin.readline()\n",
                    Path]},
            {line, 256}, exit_status, stderr_to_stdout
        ]
    ),
    receive {Listener, {data, {eol, "listening"}}} -> ok after 10000 -> ct:fail(no_listener) end,
    {ok, C} = alcove:fork(Drv, []),
    {ok, FD} = alcove:socket(Drv, [C], af_unix, sock_stream, 0),
    ?assertError(badarg, alcove:connect(Drv, [C], FD, [<<?AF_UNIX:16/native>>, {ptr, 108}])),
    ?assertError(badarg, alcove:connect(Drv, [C], FD, not_a_sockaddr)),
    ?assertEqual({error, einval}, alcove:connect(Drv, [C], FD, [])),
    ?assertEqual({error, ebadf}, alcove:connect(Drv, [C], 9999, sockaddr_un(Path))),
    ?assertEqual({error, enoent}, alcove:connect(Drv, [C], FD, sockaddr_un(Dir ++ "/nonexistent"))),
    ?assertEqual(ok, alcove:connect(Drv, [C], FD, sockaddr_un(Path))),
    receive {Listener, {data, {eol, "accepted"}}} -> ok after 10000 -> ct:fail(not_accepted) end,
    % While the listener is still there (it is looked up first).
    ?assertEqual({error, eisconn}, alcove:connect(Drv, [C], FD, sockaddr_un(Path))),
    true = port_command(Listener, "done\n"),
    receive {Listener, {exit_status, 0}} -> ok after 10000 -> ct:fail(listener_exit) end,
    % Nobody listens any more.
    {ok, FD2} = alcove:socket(Drv, [C], af_unix, sock_stream, 0),
    ?assertEqual({error, econnrefused}, alcove:connect(Drv, [C], FD2, sockaddr_un(Path))),
    ok = file:delete(Path).

%% doc: connect(2) in a new network namespace, where even loopback is down:
%% ENETUNREACH for 127.0.0.1; a datagram socket's association dissolved
%% with an AF_UNSPEC sockaddr.
connect_netns(Config) ->
    Drv = drv(Config),
    {ok, C} = alcove:clone(Drv, [], [clone_newnet]),
    {ok, FD} = alcove:socket(Drv, [C], af_inet, sock_stream, 0),
    Loopback = [<<?AF_INET:16/native, 80:16/big, 127, 0, 0, 1>>, <<0:64>>],
    ?assertEqual({error, enetunreach}, alcove:connect(Drv, [C], FD, Loopback)),
    {ok, UDP} = alcove:socket(Drv, [C], af_inet, sock_dgram, 0),
    ?assertEqual({error, enetunreach}, alcove:connect(Drv, [C], UDP, Loopback)),
    ?assertEqual(ok, alcove:connect(Drv, [C], UDP, [<<0:16/native, 0:112>>])).
