%%% The helper installed setuid root (make install-setuid) and through
%%% sudo, driven by real unprivileged users from VMs of their own: one in
%%% the allowed group, one not.
-module(alcove_setuid_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, init_per_testcase/2, end_per_testcase/2]).
-export([
    allowed_user/1,
    refused_user_cannot_exec/1,
    refused_user_refused_by_helper/1,
    refused_directly_from_a_shell/1,
    writable_binary_refused/1,
    unsafe_config_refused/1,
    no_config_refuses_everyone/1,
    sudo_path/1
]).

-define(GROUP, "alcovect").
-define(OK_USER, "alcovect_ok").
-define(NO_USER, "alcovect_no").
-define(SUDOERS, "/etc/sudoers.d/alcove-ct").

all() ->
    [
        allowed_user,
        refused_user_cannot_exec,
        refused_user_refused_by_helper,
        refused_directly_from_a_shell,
        writable_binary_refused,
        unsafe_config_refused,
        no_config_refuses_everyone,
        sudo_path
    ].

init_per_suite(Config) ->
    Tools = [os:find_executable(T) || T <- ["useradd", "groupadd", "userdel", "groupdel", "runuser", "make"]],
    case {alcove_ct:root(), lists:member(false, Tools)} of
        {false, _} ->
            {skip, "installing a setuid helper and creating users needs root"};
        {true, true} ->
            {skip, "needs useradd, groupadd, userdel, groupdel, runuser and make"};
        {true, false} ->
            Root = project_root(),
            Helper = filename:join(Root, "priv/alcove"),
            ConfPath = string:trim(os:cmd(Helper ++ " --config-path")),
            Saved = file:read_file(ConfPath),
            remove_users(),
            sh("groupadd " ++ ?GROUP),
            sh("useradd -M -G " ++ ?GROUP ++ " " ++ ?OK_USER),
            sh("useradd -M " ++ ?NO_USER),
            Prefix = "/tmp/alcove-setuid-ct-" ++ os:getpid(),
            sh("rm -rf " ++ Prefix ++ " && mkdir -m 0755 " ++ Prefix),
            % A configuration of the test's own: the installer adds the group
            % to an existing file, so start from none.
            _ = file:delete(ConfPath),
            Out = sh("make -s -C " ++ Root ++ " install-setuid PREFIX=" ++ Prefix ++ " GROUP=" ++ ?GROUP),
            ct:pal("make install-setuid:~n~s", [Out]),
            Installed = filename:join(Prefix, "lib/alcove/alcove"),
            [
                {root, Root},
                {helper, Helper},
                {conf, ConfPath},
                {saved_conf, Saved},
                {prefix, Prefix},
                {installed, Installed}
                | Config
            ]
    end.

end_per_suite(Config) ->
    ConfPath = ?config(conf, Config),
    case ?config(saved_conf, Config) of
        {ok, Bin} -> ok = file:write_file(ConfPath, Bin);
        _ -> _ = file:delete(ConfPath)
    end,
    _ = file:delete(?SUDOERS),
    sh("rm -rf " ++ ?config(prefix, Config)),
    remove_users(),
    ok.

init_per_testcase(_Case, Config) ->
    % Every case starts from the installed state.
    Installed = ?config(installed, Config),
    sh("chown root:" ++ ?GROUP ++ " " ++ Installed ++ " && chmod 4750 " ++ Installed),
    % Names no account has come first: they are skipped, in a statically
    % linked helper too (whose C library would crash loading a directory
    % service's NSS module to look them up).
    ok = file:write_file(?config(conf, Config), "# written by alcove_setuid_SUITE\n"
                         "user alcove-ct-nobody\ngroup alcove-ct-nogroup\ngroup " ++ ?GROUP ++ "\n"),
    sh("chown root:root " ++ ?config(conf, Config) ++ " && chmod 0644 " ++ ?config(conf, Config)),
    Config.

end_per_testcase(_Case, _Config) ->
    ok.

%%% Cases

%% The installed helper, as an allowed user: root's powers (reads
%% /etc/shadow), the caller's real uid, a cleaned environment, no stray fds.
allowed_user(Config) ->
    Uid = list_to_integer(string:trim(os:cmd("id -u " ++ ?OK_USER))),
    Body =
        "{ok, D} = alcove_drv:start([{progname, \"" ++ ?config(installed, Config) ++ "\"},"
        "                            {env, [{\"ALCOVE_CT_LEAK\", \"1\"}, {\"LD_LIBRARY_PATH\", \"/tmp\"}]}]),"
        "RUid = alcove:getuid(D, []),"
        "{ok, Fd} = alcove:open(D, [], \"/etc/shadow\", [o_rdonly], 0),"
        "{ok, Shadow} = alcove:read(D, [], Fd, 5),"
        "ok = alcove:close(D, [], Fd),"
        "{ok, Fds} = alcove:readdir(D, [], \"/proc/self/fd\"),"
        "{ok, C} = alcove:fork(D, []),"
        "ok = alcove:execvp(D, [C], \"env\", [\"env\"]),"
        "{Env, Exit} = alcove_ct:read_until_exit(D, [C]),"
        "{RUid, Shadow, Fds, Env, Exit}",
    {ok, {RUid, Shadow, Fds, Env, Exit}} = as_user(?OK_USER, Body),
    ct:pal("uid ~p; /etc/shadow starts ~p; helper fds ~p; env of a child:~n~s", [RUid, Shadow, Fds, Env]),
    ?assertEqual(Uid, RUid),
    ?assertEqual(<<"root:">>, Shadow),
    ?assertEqual({exit_status, 0}, Exit),
    Lines = binary:split(iolist_to_binary(Env), <<"\n">>, [global, trim_all]),
    % Nothing of the caller's environment (nor of the VM's) reaches
    % the helper or what it runs: only the fixed PATH.
    ?assertEqual([<<"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin">>], Lines),
    % 0-2, the signal pipe (3, 4), the control socket (5) and the
    % directory being read.
    Numbers = lists:sort([binary_to_integer(F) || F <- Fds, F =/= <<".">>, F =/= <<"..">>]),
    ?assertEqual([0, 1, 2, 3, 4, 5, 6], Numbers).

%% Installed mode 4750 root:GROUP: someone outside the group cannot even
%% run it.
refused_user_cannot_exec(Config) ->
    Body = "alcove_drv:start([{progname, \"" ++ ?config(installed, Config) ++ "\"}])",
    {ok, Result} = as_user(?NO_USER, Body),
    ct:pal("outside the group: ~p", [Result]),
    ?assertEqual({error, {eacces, ?config(installed, Config)}}, Result).

%% Made executable by everyone, the helper itself refuses a user the
%% configuration does not list: it exits 77 before serving anything.
refused_user_refused_by_helper(Config) ->
    chmod(?config(installed, Config), "4755"),
    Body =
        "{ok, D} = alcove_drv:start([{progname, \"" ++ ?config(installed, Config) ++ "\"}]),"
        "unlink(D), Ref = monitor(process, D),"
        "Call = try alcove:getpid(D, []) catch error:R -> {error, R} end,"
        "receive {'DOWN', Ref, _, _, Why} -> {Call, Why} after 5000 -> {Call, alive} end",
    {ok, {Call, Why}} = as_user(?NO_USER, Body),
    ct:pal("not listed: call ~p, driver ~p", [Call, Why]),
    ?assertEqual({error, closed}, Call),
    ?assertEqual({helper_exited, 77}, Why).

%% The attack that started this: an unlisted user runs the helper from a
%% shell and feeds it calls on stdin. It answers nothing and says why.
refused_directly_from_a_shell(Config) ->
    Installed = ?config(installed, Config),
    chmod(Installed, "4755"),
    % A getpid call frame would do; the helper must not get as far as
    % reading one.
    Out = os:cmd("runuser -u " ++ ?NO_USER ++ " -- sh -c 'printf xxxxxxxxxxxxxxxx | " ++ Installed ++ " 2>&1; echo status=$?'"),
    ct:pal("~s", [Out]),
    ?assertNotEqual(nomatch, string:find(Out, "refused: uid")),
    ?assertNotEqual(nomatch, string:find(Out, "status=77")).

%% A helper binary that anyone but root could change is not trusted.
writable_binary_refused(Config) ->
    Installed = ?config(installed, Config),
    chmod(Installed, "4775"),
    Out = os:cmd("runuser -u " ++ ?OK_USER ++ " -- sh -c '" ++ Installed ++ " </dev/null 2>&1; echo status=$?'"),
    ct:pal("~s", [Out]),
    ?assertNotEqual(nomatch, string:find(Out, "writable by group or others")),
    ?assertNotEqual(nomatch, string:find(Out, "status=77")).

%% A configuration file (or a directory above it) that someone else could
%% change is not trusted either; nor is one that does not parse.
unsafe_config_refused(Config) ->
    Installed = ?config(installed, Config),
    Conf = ?config(conf, Config),
    Run = fun() ->
        os:cmd("runuser -u " ++ ?OK_USER ++ " -- sh -c '" ++ Installed ++ " </dev/null 2>&1; echo status=$?'")
    end,
    sh("chown " ++ ?OK_USER ++ " " ++ Conf),
    Owned = Run(),
    sh("chown root " ++ Conf ++ " && chmod 0666 " ++ Conf),
    Writable = Run(),
    sh("chmod 0644 " ++ Conf),
    Dir = filename:dirname(Conf),
    sh("chmod 0777 " ++ Dir),
    DirWritable = Run(),
    sh("chmod 0755 " ++ Dir),
    ok = file:write_file(Conf, "grup " ++ ?GROUP ++ "\n"),
    Typo = Run(),
    ct:pal("owned by the user: ~s~nmode 666: ~s~ndirectory 777: ~s~ntypo: ~s", [Owned, Writable, DirWritable, Typo]),
    [?assertNotEqual(nomatch, string:find(O, "status=77")) || O <- [Owned, Writable, DirWritable, Typo]],
    ?assertNotEqual(nomatch, string:find(Owned, "not root")),
    ?assertNotEqual(nomatch, string:find(Writable, "writable")),
    ?assertNotEqual(nomatch, string:find(DirWritable, "directory")),
    ?assertNotEqual(nomatch, string:find(Typo, "unknown keyword")),
    % Fixed again, the same user is served (the helper reads EOF and exits 0).
    ok = file:write_file(Conf, "group " ++ ?GROUP ++ "\n"),
    ?assertNotEqual(nomatch, string:find(Run(), "status=0")).

%% No configuration file: a setuid helper serves nobody but root.
no_config_refuses_everyone(Config) ->
    Installed = ?config(installed, Config),
    ok = file:delete(?config(conf, Config)),
    Out = os:cmd("runuser -u " ++ ?OK_USER ++ " -- sh -c '" ++ Installed ++ " </dev/null 2>&1; echo status=$?'"),
    ct:pal("~s", [Out]),
    ?assertNotEqual(nomatch, string:find(Out, "cannot be read")),
    ?assertNotEqual(nomatch, string:find(Out, "status=77")).

%% {exec, "sudo -n"} with a sudoers rule for the allowed user: the helper
%% (not setuid) runs as root; without a rule sudo refuses.
sudo_path(Config) ->
    case os:find_executable("sudo") of
        false ->
            {skip, "sudo is not installed"};
        _ ->
            Helper = ?config(helper, Config),
            ok = file:write_file(?SUDOERS, ?OK_USER ++ " ALL=(root) NOPASSWD: " ++ Helper ++ "\n"),
            ok = file:change_mode(?SUDOERS, 8#440),
            Body =
                "case alcove_drv:start([{exec, \"sudo -n\"}]) of"
                "    {ok, D} -> {alcove:getuid(D, []), alcove:getgid(D, [])};"
                "    Error -> Error "
                "end",
            Allowed = as_user(?OK_USER, Body),
            Refused = as_user(?NO_USER, Body),
            ct:pal("sudo, listed: ~p~nsudo, not listed: ~p", [Allowed, Refused]),
            ?assertEqual({ok, {0, 0}}, Allowed),
            % sudo -n exits 1 when a password would be needed: the start
            % fails with its exit status.
            ?assertEqual({ok, {error, {exec, "sudo -n", {exit_status, 1}}}}, Refused)
    end.

%%% Helpers

project_root() ->
    filename:dirname(filename:dirname(proplists:get_value(source, alcove_drv:module_info(compile)))).

%% Evaluate Body in a VM of User's, with this build on its code path; the
%% value comes back as {ok, Term}.
as_user(User, Body) ->
    Paths = lists:usort([filename:dirname(code:which(M)) || M <- [alcove_drv, alcove_ct]]),
    Eval =
        "CtResult = try begin " ++ Body ++ " end catch CtClass:CtReason -> {caught, CtClass, CtReason} end,"
        "io:format(\"~n@@~s~n\", [base64:encode(term_to_binary(CtResult))]), halt().",
    Args = ["-u", User, "--", os:find_executable("erl"), "-noshell"] ++
        lists:append([["-pa", P] || P <- Paths]) ++ ["-eval", Eval],
    Port = open_port({spawn_executable, os:find_executable("runuser")},
        [{args, Args}, exit_status, stderr_to_stdout, binary, {line, 1 bsl 20}]),
    collect(Port, []).

collect(Port, Acc) ->
    receive
        {Port, {data, {eol, <<"@@", B64/binary>>}}} ->
            collect(Port, [{result, binary_to_term(base64:decode(B64))} | Acc]);
        {Port, {data, {_, Line}}} ->
            collect(Port, [Line | Acc]);
        {Port, {exit_status, Status}} ->
            case lists:keyfind(result, 1, Acc) of
                {result, Term} ->
                    {ok, Term};
                false ->
                    ct:pal("no result (status ~p):~n~s", [Status, lists:join("\n", lists:reverse(Acc))]),
                    {error, {status, Status}}
            end
    after 60000 ->
        error(user_vm_timeout)
    end.

chmod(Path, Mode) ->
    sh("chmod " ++ Mode ++ " " ++ Path).

sh(Cmd) ->
    Out = os:cmd(Cmd ++ " 2>&1; echo \"@status=$?\""),
    case string:split(string:trim(Out, trailing), "@status=", trailing) of
        [Text, "0"] -> Text;
        [Text, Status] -> error({command_failed, Cmd, Status, Text})
    end.

remove_users() ->
    _ = os:cmd("userdel " ++ ?OK_USER ++ " 2>/dev/null; userdel " ++ ?NO_USER ++ " 2>/dev/null; groupdel " ++ ?GROUP ++ " 2>/dev/null"),
    ok.
