%%% Common Test suite: filesystem, file descriptor and environment calls,
%%% each run in a freshly forked helper against a temporary directory of
%%% its own under /tmp.
-module(alcove_fs_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").
-include_lib("kernel/include/file.hrl").
-include("alcove.hrl").

-export([all/0, groups/0, suite/0, init_per_testcase/2, end_per_testcase/2]).
-export([
    chmod/1, chown/1, chroot/1, link/1, symlink/1, unlink/1, mkdir/1, mkfifo/1, rmdir/1,
    readdir/1
]).
-export([
    open_write_lseek_read_close/1, open_flags/1, read_clamped/1, write_stdout/1, lseek/1,
    fcntl/1, select/1, internal_fds/1
]).
-export([environ_getenv_setenv/1, unsetenv/1, clearenv/1, env_limit/1]).
-export([bad_arguments/1]).

%% The O_NONBLOCK bit on Linux, to check f_getfl/f_setfl.
-define(O_NONBLOCK, 8#4000).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [{group, fs}, {group, fd}, {group, env}, bad_arguments].

groups() ->
    [
        {fs, [], [chmod, chown, chroot, link, symlink, unlink, mkdir, mkfifo, rmdir, readdir]},
        {fd, [], [
            open_write_lseek_read_close, open_flags, read_clamped, write_stdout, lseek, fcntl,
            select, internal_fds
        ]},
        {env, [], [environ_getenv_setenv, unsetenv, clearenv, env_limit]}
    ].

init_per_testcase(Case, Config) ->
    Dir = filename:join(
        "/tmp",
        lists:concat(["alcove_fs_SUITE.", os:getpid(), ".", Case, ".",
                      erlang:unique_integer([positive])])
    ),
    ok = file:make_dir(Dir),
    {ok, Drv} = alcove_drv:start_link(),
    [{drv, Drv}, {dir, Dir} | Config].

end_per_testcase(_Case, Config) ->
    Drv = ?config(drv, Config),
    erlang:unlink(Drv),
    catch alcove_drv:stop(Drv),
    _ = file:del_dir_r(?config(dir, Config)),
    ok.

%%% helpers

drv(Config) -> ?config(drv, Config).

%% A path in this test case's directory.
path(Config, Name) -> filename:join(?config(dir, Config), Name).


%% A forked child of the root helper: where every case makes its calls.
child(Drv) ->
    {ok, C} = alcove:fork(Drv, []),
    [C].

%% Create a file through the helper and close it.
touch(Drv, P, Path) ->
    {ok, Fd} = alcove:open(Drv, P, Path, [o_wronly, o_creat, o_trunc], 8#644),
    ok = alcove:close(Drv, P, Fd).

%%% fs

chmod(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    touch(Drv, P, File),
    ok = alcove:chmod(Drv, P, File, 8#600),
    {ok, #file_info{mode = Mode}} = file:read_file_info(File),
    ?assertEqual(8#600, Mode band 8#7777),
    ok = alcove:chmod(Drv, P, [File], 8#4751),
    {ok, #file_info{mode = Mode2}} = file:read_file_info(File),
    ?assertEqual(8#4751, Mode2 band 8#7777),
    ?assertEqual({error, enoent}, alcove:chmod(Drv, P, path(Config, "missing"), 8#600)),
    ?assertEqual({error, enotdir}, alcove:chmod(Drv, P, File ++ "/x", 8#600)).

chown(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    touch(Drv, P, File),
    {ok, #file_info{uid = Uid, gid = Gid}} = file:read_file_info(File),
    % -1 leaves owner and group as they are.
    ok = alcove:chown(Drv, P, File, -1, -1),
    ?assertMatch({ok, #file_info{uid = Uid, gid = Gid}}, file:read_file_info(File)),
    case alcove_ct:root() of
        true ->
            ok = alcove:chown(Drv, P, File, 65534, 65533),
            ?assertMatch({ok, #file_info{uid = 65534, gid = 65533}}, file:read_file_info(File)),
            ok = alcove:chown(Drv, P, File, -1, 0),
            ?assertMatch({ok, #file_info{uid = 65534, gid = 0}}, file:read_file_info(File));
        false ->
            ?assertEqual({error, eperm}, alcove:chown(Drv, P, File, 0, 0))
    end,
    ?assertEqual({error, enoent}, alcove:chown(Drv, P, path(Config, "missing"), Uid, Gid)).

chroot(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    NewRoot = path(Config, "root"),
    ok = file:make_dir(NewRoot),
    ok = file:make_dir(filename:join(NewRoot, "sub")),
    ?assertEqual({error, enoent}, alcove:chroot(Drv, P, path(Config, "missing"))),
    ?assertEqual({error, enotdir}, alcove:chroot(Drv, P, "/etc/hostname")),
    case alcove_ct:root() of
        true ->
            ok = alcove:chroot(Drv, P, NewRoot),
            ok = alcove:chdir(Drv, P, "/"),
            ?assertEqual({ok, <<"/">>}, alcove:getcwd(Drv, P)),
            ok = alcove:chdir(Drv, P, "/sub"),
            ?assertEqual({ok, <<"/sub">>}, alcove:getcwd(Drv, P)),
            {ok, Names} = alcove:readdir(Drv, P, "/"),
            ?assertEqual([<<".">>, <<"..">>, <<"sub">>], lists:sort(Names)),
            % Outside the new root is out of reach.
            ?assertEqual({error, enoent}, alcove:chdir(Drv, P, "/etc")),
            % The root helper's view is unchanged.
            ?assertEqual(ok, alcove:chdir(Drv, [], "/etc"));
        false ->
            ?assertEqual({error, eperm}, alcove:chroot(Drv, P, NewRoot))
    end.

link(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    Link = path(Config, "hardlink"),
    touch(Drv, P, File),
    ok = alcove:link(Drv, P, File, Link),
    ?assertMatch({ok, #file_info{links = 2, type = regular}}, file:read_file_info(Link)),
    ?assertEqual({error, eexist}, alcove:link(Drv, P, File, Link)),
    ?assertEqual({error, enoent}, alcove:link(Drv, P, path(Config, "missing"), path(Config, "x"))).

symlink(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Link = path(Config, "symlink"),
    % The target need not exist.
    ok = alcove:symlink(Drv, P, <<"no/such/target">>, Link),
    ?assertEqual({ok, "no/such/target"}, file:read_link(Link)),
    ?assertEqual({error, eexist}, alcove:symlink(Drv, P, "other", Link)),
    ?assertEqual({error, enoent}, alcove:symlink(Drv, P, "t", path(Config, "missing/link"))).

unlink(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    touch(Drv, P, File),
    ok = alcove:unlink(Drv, P, File),
    ?assertEqual({error, enoent}, file:read_file_info(File)),
    ?assertEqual({error, enoent}, alcove:unlink(Drv, P, File)),
    ?assertEqual({error, eisdir}, alcove:unlink(Drv, P, ?config(dir, Config))).

mkdir(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Dir = path(Config, "dir"),
    ok = alcove:mkdir(Drv, P, Dir, 8#700),
    {ok, #file_info{type = directory, mode = Mode}} = file:read_file_info(Dir),
    ?assertEqual(8#700, Mode band 8#777),
    ?assertEqual({error, eexist}, alcove:mkdir(Drv, P, Dir, 8#700)),
    ?assertEqual({error, enoent}, alcove:mkdir(Drv, P, path(Config, "missing/dir"), 8#700)).

mkfifo(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Fifo = path(Config, "fifo"),
    ok = alcove:mkfifo(Drv, P, Fifo, 8#600),
    % file_info calls a FIFO "other"; the helper can open it both ways.
    ?assertMatch({ok, #file_info{type = other}}, file:read_file_info(Fifo)),
    {ok, Fd} = alcove:open(Drv, P, Fifo, [o_rdwr, o_nonblock], 0),
    ?assertEqual({ok, 3}, alcove:write(Drv, P, Fd, <<"abc">>)),
    ?assertEqual({ok, <<"abc">>}, alcove:read(Drv, P, Fd, 10)),
    ?assertEqual({error, eexist}, alcove:mkfifo(Drv, P, Fifo, 8#600)).

rmdir(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Dir = path(Config, "dir"),
    ok = file:make_dir(Dir),
    ok = file:write_file(filename:join(Dir, "f"), <<>>),
    ?assertEqual({error, enotempty}, alcove:rmdir(Drv, P, Dir)),
    ok = file:delete(filename:join(Dir, "f")),
    ok = alcove:rmdir(Drv, P, Dir),
    ?assertEqual({error, enoent}, file:read_file_info(Dir)),
    ?assertEqual({error, enoent}, alcove:rmdir(Drv, P, Dir)).

readdir(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Dir = path(Config, "dir"),
    ok = file:make_dir(Dir),
    [ok = file:write_file(filename:join(Dir, Name), <<>>) || Name <- ["a", "b", "c"]],
    ok = file:make_dir(filename:join(Dir, "d")),
    {ok, Names} = alcove:readdir(Drv, P, Dir),
    % Like readdir(3) and the original alcove: "." and ".." are listed.
    ?assertEqual([<<".">>, <<"..">>, <<"a">>, <<"b">>, <<"c">>, <<"d">>], lists:sort(Names)),
    ?assertEqual({error, enoent}, alcove:readdir(Drv, P, path(Config, "missing"))),
    ?assertEqual({error, enotdir}, alcove:readdir(Drv, P, filename:join(Dir, "a"))).

%%% fd

open_write_lseek_read_close(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    {ok, Fd} = alcove:open(Drv, P, File, [o_rdwr, o_creat, o_trunc, o_cloexec], 8#644),
    ?assert(Fd > 2),
    ?assertEqual({ok, 11}, alcove:write(Drv, P, Fd, [<<"hello">>, $\s, "world"])),
    ok = alcove:lseek(Drv, P, Fd, 0, 0),
    ?assertEqual({ok, <<"hello">>}, alcove:read(Drv, P, Fd, 5)),
    ?assertEqual({ok, <<" world">>}, alcove:read(Drv, P, Fd, 100)),
    % End of file.
    ?assertEqual({ok, <<>>}, alcove:read(Drv, P, Fd, 100)),
    ?assertEqual({ok, <<>>}, alcove:read(Drv, P, Fd, 0)),
    ok = alcove:close(Drv, P, Fd),
    ?assertEqual({ok, <<"hello world">>}, file:read_file(File)),
    ?assertEqual({error, ebadf}, alcove:close(Drv, P, Fd)),
    ?assertEqual({error, ebadf}, alcove:read(Drv, P, Fd, 1)),
    ?assertEqual({error, ebadf}, alcove:write(Drv, P, Fd, <<"x">>)),
    % Integer flags: O_RDONLY; writing to it fails.
    {ok, Ro} = alcove:open(Drv, P, File, 0, 0),
    ?assertEqual({error, ebadf}, alcove:write(Drv, P, Ro, <<"x">>)),
    ?assertEqual({ok, <<"hello world">>}, alcove:read(Drv, P, Ro, 64)),
    ok = alcove:close(Drv, P, Ro),
    ?assertEqual({error, enoent}, alcove:open(Drv, P, path(Config, "missing"), [o_rdonly], 0)),
    ?assertEqual({error, eexist}, alcove:open(Drv, P, File, [o_wronly, o_creat, o_excl], 8#644)).

open_flags(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    ok = file:write_file(File, <<"data">>),
    % An atom this platform does not know.
    ?assertEqual({error, enotsup}, alcove:open(Drv, P, File, [o_rdonly, o_bogus], 0)),
    ?assertEqual({error, enotsup}, alcove:open(Drv, P, File, o_bogus, 0)),
    % A single atom is a flag too.
    {ok, Fd} = alcove:open(Drv, P, File, o_rdonly, 0),
    ok = alcove:close(Drv, P, Fd),
    ?assertEqual({error, enotdir}, alcove:open(Drv, P, File, [o_rdonly, o_directory], 0)),
    {ok, DirFd} = alcove:open(Drv, P, ?config(dir, Config), [o_rdonly, o_directory], 0),
    ?assertEqual({error, eisdir}, alcove:read(Drv, P, DirFd, 10)),
    Link = path(Config, "link"),
    ok = file:make_symlink(File, Link),
    ?assertEqual({error, eloop}, alcove:open(Drv, P, Link, [o_rdonly, o_nofollow], 0)),
    % o_append: writes land at the end whatever the offset.
    {ok, Ap} = alcove:open(Drv, P, File, [o_wronly, o_append], 0),
    ok = alcove:lseek(Drv, P, Ap, 0, 0),
    {ok, 1} = alcove:write(Drv, P, Ap, <<"!">>),
    ?assertEqual({ok, <<"data!">>}, file:read_file(File)).

read_clamped(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "big"),
    Chunk = binary:copy(<<"0123456789">>, 80000),
    {ok, Fd} = alcove:open(Drv, P, File, [o_rdwr, o_creat, o_trunc], 8#600),
    {ok, 800000} = alcove:write(Drv, P, Fd, Chunk),
    {ok, 800000} = alcove:write(Drv, P, Fd, Chunk),
    ok = alcove:lseek(Drv, P, Fd, 0, 0),
    % A Count larger than one reply can carry is a short read.
    {ok, First} = alcove:read(Drv, P, Fd, 2000000),
    ?assertEqual(1000000, byte_size(First)),
    {ok, Rest} = alcove:read(Drv, P, Fd, 1 bsl 40),
    ?assertEqual(600000, byte_size(Rest)),
    ?assertEqual(<<Chunk/binary, Chunk/binary>>, <<First/binary, Rest/binary>>).

write_stdout(Config) ->
    Drv = drv(Config),
    [C] = P = child(Drv),
    % A child's fds 0, 1 and 2 are its stdio pipes: the caller's to use.
    ?assertEqual({ok, 6}, alcove:write(Drv, P, 1, <<"hello\n">>)),
    ?assertEqual({ok, 4}, alcove:write(Drv, P, 2, <<"err\n">>)),
    receive
        {alcove_stdout, Drv, [C], Out} -> ?assertEqual(<<"hello\n">>, Out)
    after 5000 -> ct:fail(no_stdout)
    end,
    receive
        {alcove_stderr, Drv, [C], Err} -> ?assertEqual(<<"err\n">>, Err)
    after 5000 -> ct:fail(no_stderr)
    end,
    ok = alcove:stdin(Drv, P, <<"input">>),
    ?assertEqual({ok, <<"input">>}, wait_read(Drv, P, 0, 50)),
    ok = alcove:close(Drv, P, 0),
    ?assertEqual({error, ebadf}, alcove:read(Drv, P, 0, 10)),
    ?assertEqual(C, alcove:getpid(Drv, P)).

%% Read from a fd the helper makes non-blocking only once data is there.
wait_read(Drv, P, Fd, Tries) ->
    case alcove:select(Drv, P, [Fd], [], [], #alcove_timeval{sec = 0, usec = 100000}) of
        {ok, [Fd], [], []} -> alcove:read(Drv, P, Fd, 100);
        {ok, [], [], []} when Tries > 0 -> wait_read(Drv, P, Fd, Tries - 1)
    end.

lseek(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    ok = file:write_file(File, <<"0123456789">>),
    {ok, Fd} = alcove:open(Drv, P, File, [o_rdonly], 0),
    % SEEK_SET, SEEK_CUR, SEEK_END.
    ok = alcove:lseek(Drv, P, Fd, 4, 0),
    ?assertEqual({ok, <<"45">>}, alcove:read(Drv, P, Fd, 2)),
    ok = alcove:lseek(Drv, P, Fd, 2, 1),
    ?assertEqual({ok, <<"8">>}, alcove:read(Drv, P, Fd, 1)),
    ok = alcove:lseek(Drv, P, Fd, -3, 2),
    ?assertEqual({ok, <<"789">>}, alcove:read(Drv, P, Fd, 10)),
    ?assertEqual({error, einval}, alcove:lseek(Drv, P, Fd, -100, 0)),
    ?assertEqual({error, einval}, alcove:lseek(Drv, P, Fd, 0, 99)),
    % A child's stdin is a pipe.
    ?assertEqual({error, espipe}, alcove:lseek(Drv, P, 0, 0, 0)),
    ok = alcove:close(Drv, P, Fd),
    ?assertEqual({error, ebadf}, alcove:lseek(Drv, P, Fd, 0, 0)).

fcntl(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    File = path(Config, "file"),
    {ok, Fd} = alcove:open(Drv, P, File, [o_rdwr, o_creat], 8#600),
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, Fd, f_getfd, 0)),
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, Fd, f_setfd, 1)),
    ?assertEqual({ok, 1}, alcove:fcntl(Drv, P, Fd, f_getfd, 0)),
    % Integer commands: F_SETFD is 2, F_GETFD 1.
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, Fd, 2, 0)),
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, Fd, 1, 0)),
    {ok, Fl} = alcove:fcntl(Drv, P, Fd, f_getfl, 0),
    ?assertEqual(2, Fl band 3),
    ?assertEqual(0, Fl band ?O_NONBLOCK),
    {ok, 0} = alcove:fcntl(Drv, P, Fd, f_setfl, Fl bor ?O_NONBLOCK),
    {ok, Fl2} = alcove:fcntl(Drv, P, Fd, f_getfl, 0),
    ?assertEqual(?O_NONBLOCK, Fl2 band ?O_NONBLOCK),
    {ok, Dup} = alcove:fcntl(Drv, P, Fd, f_dupfd_cloexec, 100),
    ?assert(Dup >= 100),
    ?assertEqual({ok, 1}, alcove:fcntl(Drv, P, Dup, f_getfd, 0)),
    ok = alcove:close(Drv, P, Dup),
    ?assertEqual({error, ebadf}, alcove:fcntl(Drv, P, Dup, f_getfd, 0)),
    ?assertEqual({error, enotsup}, alcove:fcntl(Drv, P, Fd, f_bogus, 0)),
    % Commands that take a pointer cannot be given one here.
    ?assertEqual({error, einval}, alcove:fcntl(Drv, P, Fd, f_getlk, 0)),
    ?assertEqual({error, einval}, alcove:fcntl(Drv, P, Fd, 123456, 0)),
    ?assertError(badarg, alcove:fcntl(Drv, P, Fd, f_getfd, <<"x">>)).

select(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Fifo = path(Config, "fifo"),
    ok = alcove:mkfifo(Drv, P, Fifo, 8#600),
    {ok, Fd} = alcove:open(Drv, P, Fifo, [o_rdwr, o_nonblock], 0),
    Now = #alcove_timeval{sec = 0, usec = 0},
    ?assertEqual({ok, [], [], []}, alcove:select(Drv, P, [Fd], [], [Fd], Now)),
    ?assertEqual({ok, [], [Fd], []}, alcove:select(Drv, P, [Fd], [Fd], [], Now)),
    {ok, 1} = alcove:write(Drv, P, Fd, <<"x">>),
    ?assertEqual({ok, [Fd], [Fd], []}, alcove:select(Drv, P, [Fd], [Fd], [Fd], Now)),
    % No timeout: returns at once when something is ready.
    ?assertEqual({ok, [Fd], [], []}, alcove:select(Drv, P, [Fd, Fd], [], [], [])),
    ?assertEqual({ok, [Fd], [], []}, alcove:select(Drv, P, [Fd], [], [], <<>>)),
    {ok, <<"x">>} = alcove:read(Drv, P, Fd, 1),
    % Nothing to read: waits for the timeout.
    T0 = erlang:monotonic_time(millisecond),
    ?assertEqual({ok, [], [], []},
                 alcove:select(Drv, P, [Fd], [], [], #alcove_timeval{sec = 0, usec = 200000})),
    ?assert(erlang:monotonic_time(millisecond) - T0 >= 190),
    ?assertEqual({ok, [], [], []}, alcove:select(Drv, P, [], [], [], Now)),
    ?assertEqual({error, einval}, alcove:select(Drv, P, [1024], [], [], Now)),
    ?assertEqual({error, ebadf}, alcove:select(Drv, P, [], [-1], [], Now)),
    ?assertEqual({error, einval},
                 alcove:select(Drv, P, [Fd], [], [], #alcove_timeval{sec = 0, usec = -1})),
    ok = alcove:close(Drv, P, Fd),
    ?assertEqual({error, ebadf}, alcove:select(Drv, P, [Fd], [], [], Now)),
    ?assertError(badarg, alcove:select(Drv, P, [Fd], [], [], {timeval, 0, 0})),
    ?assertError(badarg, alcove:select(Drv, P, Fd, [], [], [])),
    ?assertError(badarg, alcove:select(Drv, P, [foo], [], [], [])).

%% The helper's own fds sit where the original's did: the signal pipe on
%% 3 and 4, the control channel on 5. They cannot be closed, read or
%% written; their close-on-exec flag can be read and set. A child's fds
%% (what cpid reports) can be closed, not read or written; the helper
%% keeps working throughout.
internal_fds(Config) ->
    Drv = drv(Config),
    [C] = P = child(Drv),
    {ok, G} = alcove:fork(Drv, P),
    RootPid = alcove:getpid(Drv, []),
    FdCloexec = alcove:fcntl_constant(Drv, [], fd_cloexec),
    % The layout: stdio, 3, 4 and 5, and the four fds of each child.
    [#alcove_pid{pid = C, fdctl = CCtl, stdin = CIn, stdout = COut, stderr = CErr}] =
        alcove:cpid(Drv, []),
    ?assertEqual(lists:sort([0, 1, 2, 3, 4, 5, CCtl, CIn, COut, CErr]), open_fds(RootPid)),
    % C: G's four and C's shortcut to the driver (a socket).
    ?assertEqual(5, length(open_fds(C) -- [0, 1, 2, 3, 4, 5])),
    [?assertEqual({Pl, Fd, {ok, FdCloexec}}, {Pl, Fd, alcove:fcntl(Drv, Pl, Fd, f_getfd, 0)})
     || Pl <- [[], P], Fd <- [3, 4, 5]],
    [?assertEqual({Pl, Fd, {error, ebadf}}, {Pl, Fd, alcove:Call(Drv, Pl, Fd)})
     || Pl <- [[], P], Fd <- [3, 4, 5], Call <- [close]],
    [?assertEqual({Pl, Fd, {error, ebadf}}, {Pl, Fd, alcove:read(Drv, Pl, Fd, 10)})
     || Pl <- [[], P], Fd <- [3, 4, 5]],
    [?assertEqual({Pl, Fd, {error, ebadf}}, {Pl, Fd, alcove:write(Drv, Pl, Fd, <<"x">>)})
     || Pl <- [[], P], Fd <- [3, 4, 5]],
    % Setting close-on-exec works; duplicating or changing status flags
    % does not.
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, 5, f_setfd, 0)),
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, 5, f_getfd, 0)),
    ?assertEqual({ok, 0}, alcove:fcntl(Drv, P, 5, f_setfd, FdCloexec)),
    ?assertEqual({ok, FdCloexec}, alcove:fcntl(Drv, P, 5, f_getfd, 0)),
    ?assertEqual({error, ebadf}, alcove:fcntl(Drv, [], 5, f_setfl, 0)),
    ?assertEqual({error, ebadf}, alcove:fcntl(Drv, [], 5, f_dupfd, 0)),
    ?assertEqual({error, ebadf}, alcove:fcntl(Drv, [], 3, f_dupfd_cloexec, 0)),
    % G's pipes, seen from C: not to be read or written.
    [#alcove_pid{pid = G, fdctl = Ctl, stdin = In, stdout = Out, stderr = Err}] =
        alcove:cpid(Drv, P),
    [Shortcut] = open_fds(C) -- [0, 1, 2, 3, 4, 5, Ctl, In, Out, Err],
    {ok, "socket:" ++ _} = file:read_link("/proc/" ++ integer_to_list(C) ++ "/fd/" ++ integer_to_list(Shortcut)),
    % The shortcut is the helper's own, as 3, 4 and 5 are.
    ?assertEqual({ok, FdCloexec}, alcove:fcntl(Drv, P, Shortcut, f_getfd, 0)),
    [?assertEqual({Call, {error, ebadf}}, {Call, Result})
     || {Call, Result} <- [{close, alcove:close(Drv, P, Shortcut)},
                           {read, alcove:read(Drv, P, Shortcut, 1)},
                           {write, alcove:write(Drv, P, Shortcut, <<"x">>)},
                           {dupfd, alcove:fcntl(Drv, P, Shortcut, f_dupfd, 0)}]],
    [?assertEqual({Fd, {error, ebadf}}, {Fd, alcove:read(Drv, P, Fd, 1)}) || Fd <- [Ctl, Out, Err]],
    [?assertEqual({Fd, {error, ebadf}}, {Fd, alcove:write(Drv, P, Fd, <<"x">>)}) || Fd <- [Ctl, In]],
    % Everything still works: calls, forks, signals and exit events.
    ?assertEqual(RootPid, alcove:getpid(Drv, [])),
    ?assertEqual(G, alcove:getpid(Drv, [C, G])),
    ok = alcove:exit(Drv, [C, G], 3),
    receive
        {alcove_event, Drv, [C, G], {exit_status, 3}} -> ok
    after 5000 -> ct:fail(no_exit_event)
    end,
    {ok, C2} = alcove:fork(Drv, []),
    ok = alcove:kill(Drv, [], C2, sigkill),
    receive
        {alcove_event, Drv, [C2], {termsig, sigkill}} -> ok
    after 5000 -> ct:fail(no_termsig_event)
    end.

open_fds(OSPid) ->
    {ok, Names} = file:list_dir("/proc/" ++ integer_to_list(OSPid) ++ "/fd"),
    lists:sort([list_to_integer(Name) || Name <- Names]).

%%% env

environ_getenv_setenv(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Env = alcove:environ(Drv, P),
    ?assert(lists:all(fun is_binary/1, Env)),
    ?assertEqual(false, alcove:getenv(Drv, P, "ALCOVE_FS_SUITE")),
    ok = alcove:setenv(Drv, P, "ALCOVE_FS_SUITE", [<<"va">>, "lue"], 1),
    ?assertEqual(<<"value">>, alcove:getenv(Drv, P, <<"ALCOVE_FS_SUITE">>)),
    % Overwrite 0 keeps the value.
    ok = alcove:setenv(Drv, P, "ALCOVE_FS_SUITE", "other", 0),
    ?assertEqual(<<"value">>, alcove:getenv(Drv, P, "ALCOVE_FS_SUITE")),
    ok = alcove:setenv(Drv, P, "ALCOVE_FS_SUITE", "", 1),
    ?assertEqual(<<>>, alcove:getenv(Drv, P, "ALCOVE_FS_SUITE")),
    ?assert(lists:member(<<"ALCOVE_FS_SUITE=">>, alcove:environ(Drv, P))),
    ?assertEqual(length(Env) + 1, length(alcove:environ(Drv, P))),
    % Only this process changed.
    ?assertEqual(false, alcove:getenv(Drv, [], "ALCOVE_FS_SUITE")),
    ?assertEqual({error, einval}, alcove:setenv(Drv, P, "A=B", "x", 1)),
    ?assertEqual({error, einval}, alcove:setenv(Drv, P, "", "x", 1)),
    ?assertEqual(false, alcove:getenv(Drv, P, "")).

unsetenv(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    ok = alcove:setenv(Drv, P, "ALCOVE_FS_SUITE", "1", 1),
    ok = alcove:unsetenv(Drv, P, "ALCOVE_FS_SUITE"),
    ?assertEqual(false, alcove:getenv(Drv, P, "ALCOVE_FS_SUITE")),
    ?assertNot(lists:member(<<"ALCOVE_FS_SUITE=1">>, alcove:environ(Drv, P))),
    % Unsetting a name that is not set is fine.
    ok = alcove:unsetenv(Drv, P, "ALCOVE_FS_SUITE"),
    ?assertEqual({error, einval}, alcove:unsetenv(Drv, P, "")),
    ?assertEqual({error, einval}, alcove:unsetenv(Drv, P, "A=B")).

clearenv(Config) ->
    Drv = drv(Config),
    [C] = P = child(Drv),
    ?assertNotEqual([], alcove:environ(Drv, P)),
    ok = alcove:clearenv(Drv, P),
    ?assertEqual([], alcove:environ(Drv, P)),
    ?assertEqual(false, alcove:getenv(Drv, P, "PATH")),
    ok = alcove:clearenv(Drv, P),
    ok = alcove:setenv(Drv, P, "ALCOVE_FS", "yes", 0),
    ?assertEqual([<<"ALCOVE_FS=yes">>], alcove:environ(Drv, P)),
    % What an exec'd program sees.
    ok = alcove:execvp(Drv, P, "/usr/bin/env", ["env"]),
    ?assertEqual(<<"ALCOVE_FS=yes\n">>, collect_stdout(Drv, [C], <<>>)).

collect_stdout(Drv, Pipeline, Acc) ->
    receive
        {alcove_stdout, Drv, Pipeline, Data} -> collect_stdout(Drv, Pipeline, <<Acc/binary, Data/binary>>);
        {alcove_event, Drv, Pipeline, {exit_status, 0}} -> Acc
    after 5000 -> ct:fail({no_exit, Acc})
    end.

env_limit(Config) ->
    Drv = drv(Config),
    P = child(Drv),
    Big = binary:copy(<<"x">>, 600000),
    ok = alcove:setenv(Drv, P, "ALCOVE_BIG1", Big, 1),
    % environ must fit in one reply: the environment may not grow past that.
    ?assertEqual({error, enomem}, alcove:setenv(Drv, P, "ALCOVE_BIG2", Big, 1)),
    ?assertEqual(Big, alcove:getenv(Drv, P, "ALCOVE_BIG1")),
    ?assert(lists:member(<<"ALCOVE_BIG1=", Big/binary>>, alcove:environ(Drv, P))),
    ok = alcove:unsetenv(Drv, P, "ALCOVE_BIG1"),
    ok = alcove:setenv(Drv, P, "ALCOVE_BIG2", Big, 1).

%%% arguments

bad_arguments(Config) ->
    Drv = drv(Config),
    [C] = P = child(Drv),
    File = path(Config, "file"),
    ?assertError(badarg, alcove:chmod(Drv, P, File, -1)),
    ?assertError(badarg, alcove:chmod(Drv, P, File, rwx)),
    ?assertError(badarg, alcove:chown(Drv, P, File, -2, 0)),
    ?assertError(badarg, alcove:chown(Drv, P, File, 1 bsl 32, 0)),
    ?assertError(badarg, alcove:mkdir(Drv, P, <<"a", 0, "b">>, 8#700)),
    ?assertError(badarg, alcove:link(Drv, P, File, 42.0)),
    ?assertError(badarg, alcove:readdir(Drv, P, some_atom)),
    ?assertError(badarg, alcove:open(Drv, P, File, [o_rdonly, "o_creat"], 0)),
    ?assertError(badarg, alcove:open(Drv, P, File, {o_rdonly}, 0)),
    ?assertError(badarg, alcove:open(Drv, P, File, 1 bsl 40, 0)),
    ?assertError(badarg, alcove:open(Drv, P, File, [o_rdonly], -1)),
    ?assertError(badarg, alcove:close(Drv, P, 1 bsl 33)),
    ?assertError(badarg, alcove:read(Drv, P, 0, -1)),
    ?assertError(badarg, alcove:write(Drv, P, 1, an_atom)),
    ?assertError(badarg, alcove:lseek(Drv, P, 0, zero, 0)),
    ?assertError(badarg, alcove:fcntl(Drv, P, 0, [f_getfd], 0)),
    ?assertError(badarg, alcove:getenv(Drv, P, name)),
    ?assertError(badarg, alcove:setenv(Drv, P, "A", "B", true)),
    ?assertError(badarg, alcove:unsetenv(Drv, P, <<"A", 0>>)),
    % The child still answers.
    ?assertEqual(C, alcove:getpid(Drv, P)).
