%%% @doc User namespaces for processes of the helper tree: who a cloned
%%% child is inside its own user namespace, written from outside.
%%%
%%% A child cloned with `clone_newuser' starts with no uid or gid mapping:
%%% it has every capability inside its new namespace, but its ids read as
%%% the overflow ids (65534, `/proc/sys/kernel/overflowuid') and it cannot
%%% create files or exec with its capabilities until a mapping is written
%%% to its `/proc/PID/uid_map' and `/proc/PID/gid_map' (user_namespaces(7)).
%%% The mapping is written from the parent (or by the child itself); an
%%% alcove child helper keeps serving calls meanwhile, so the order is:
%%% clone, map/4 from the parent, then the calls that need the mapping
%%% (sethostname, mount, exec, ...). clone/4 does all of it in one call.
%%%
%%% Who may write which mapping (user_namespaces(7)): a writer with
%%% `CAP_SETUID' (`CAP_SETGID' for gid_map) in the parent namespace, such
%%% as root, may map any ids, in up to 340 ranges. An unprivileged writer
%%% may write one line mapping its own effective uid (gid) with a count of
%%% 1, and the gid map only after `deny' was written to
%%% `/proc/PID/setgroups'. map/4 writes setgroups before gid_map for that
%%% reason; once a gid map is written, setgroups can no longer change.
%%%
%%% A mapping does not change the child's credentials: it keeps the ids
%%% it had outside, and they read as the overflow ids inside if the map
%%% does not hold them. Mapping the parent's own ids (the default of
%%% clone/4) makes the child 0 inside at once; with a map that does not
%%% hold them (root mapping 0 to 100000, say), the child switches to ids
%%% of the map itself: `alcove:setresgid(Drv, Child, 0, 0, 0)', then
%%% `setresuid'. It has every capability in its namespace for that.
%%%
%%% A writer whose uid changed (a root helper that called setresuid, for
%%% example) is not dumpable, and neither are the children it clones: their
%%% `/proc/PID' files belong to root and it cannot open them. Make it
%%% dumpable again first (`alcove:prctl(Drv, Pipeline, pr_set_dumpable, 1,
%%% 0, 0, 0)').
-module(alcove_userns).

-export([clone/4, map/4, validate/1, format/1, restrictions/0]).

-type pipeline() :: [alcove:pid_t()].
-type range() :: {Inside :: alcove:uint32_t(), Outside :: alcove:uint32_t(), Count :: pos_integer()}.
-type id_map() :: [range()].
-type setgroups() :: deny | allow.
-type options() :: #{uid_map => id_map(), gid_map => id_map(), setgroups => setgroups()}.
-type target() :: alcove:pid_t() | self.
-type map_error() ::
    empty
    | not_a_list
    | {not_a_range, term()}
    | {out_of_range, range()}
    | {overlap, inside | outside, range(), range()}
    | {too_many, pos_integer()}
    | {too_long, pos_integer()}.
-type step() :: uid_map | setgroups | gid_map.
-type error() ::
    {step(), map_error() | alcove:posix() | {short_write, non_neg_integer()}}
    | {setgroups, {bad_value, term()}}
    | {bad_option, term()}
    | {clone, alcove:posix()}.

-export_type([range/0, id_map/0, options/0, error/0]).

% The kernel's limits on a map (user_namespaces(7)): 340 lines, written
% in one write(2) of less than a page.
-define(MAX_RANGES, 340).
-define(MAX_BYTES, 4096).
% Ids are 32 bits and (uid_t)-1 is never an id: a range ends below it.
-define(ID_END, 16#ffffffff).

%% @doc clone(2) with `clone_newuser' added to `Flags', then map/4 from
%% `Pipeline' (the parent): `{ok, Pid}', the child's pid in the parent.
%%
%% By default the child is uid 0 and gid 0 inside, mapped to the parent's
%% real uid and gid (getuid(2), getgid(2) in the parent), with setgroups
%% denied: what an unprivileged parent may write. `Options' replace any of
%% `uid_map', `gid_map' and `setgroups' (see map/4); with a map that does
%% not hold the parent's ids, the child still has them (the overflow ids
%% inside) until it switches to mapped ones (see the module doc).
%%
%% The options are checked before anything is cloned. If the mapping
%% cannot be written, the child is killed (its owner, the caller, gets its
%% `{termsig, sigkill}' event) and the error returned: `{error,
%% {clone, Posix}}' when clone(2) failed (`eperm' or `enospc' when the
%% kernel does not allow the caller a user namespace: see restrictions/0),
%% else an error of map/4.
-spec clone(alcove_drv:ref(), pipeline(), alcove:int32_t() | alcove:constant() | [alcove:constant()], options()) ->
    {ok, alcove:pid_t()} | {error, error()}.
clone(Drv, Pipeline, Flags, Options) ->
    case check_options(Options) of
        ok ->
            Defaults = #{
                uid_map => [{0, alcove:getuid(Drv, Pipeline), 1}],
                gid_map => [{0, alcove:getgid(Drv, Pipeline), 1}],
                setgroups => deny
            },
            clone_mapped(Drv, Pipeline, Flags, maps:merge(Defaults, Options));
        {error, _} = Error ->
            Error
    end.

clone_mapped(Drv, Pipeline, Flags, Options) ->
    case alcove:clone(Drv, Pipeline, with_newuser(Drv, Pipeline, Flags)) of
        {ok, Child} ->
            case map(Drv, Pipeline, Child, Options) of
                ok ->
                    {ok, Child};
                {error, _} = Error ->
                    _ = alcove:kill(Drv, Pipeline, Child, sigkill),
                    Error
            end;
        {error, Errno} ->
            {error, {clone, Errno}}
    end.

with_newuser(_Drv, _Pipeline, Flags) when is_list(Flags) -> [clone_newuser | Flags];
with_newuser(_Drv, _Pipeline, Flag) when is_atom(Flag) -> [clone_newuser, Flag];
with_newuser(Drv, Pipeline, Flags) when is_integer(Flags) ->
    Flags bor alcove:clone_constant(Drv, Pipeline, clone_newuser).

%% @doc Write the user namespace mapping of the process `Target' from the
%% process at `Pipeline': `/proc/Target/uid_map', then
%% `/proc/Target/setgroups', then `/proc/Target/gid_map', each with
%% open(2) and a single write(2) in that process, as the kernel requires.
%% Only the keys given are written. `Target' is a pid as the writer sees
%% it (a child it cloned), or `self' for the writer's own namespace.
%%
%% A map is a list of `{Inside, Outside, Count}': ids `Inside' to `Inside
%% + Count - 1' in the namespace are ids `Outside' to `Outside + Count -
%% 1' in the writer's. Maps are checked (validate/1) before anything is
%% written. Errors name the step: `{error, {uid_map, eperm}}' (not
%% allowed: see the module doc), `{error, {gid_map, {overlap, inside, R1,
%% R2}}}', `{error, {setgroups, eperm}}' (a gid map was already written),
%% `{error, {bad_option, Key}}'. A map can be written once: a second write
%% fails with `eperm'.
-spec map(alcove_drv:ref(), pipeline(), target(), options()) -> ok | {error, error()}.
map(Drv, Pipeline, Target, Options) ->
    case check_options(Options) of
        ok ->
            Steps = [{Key, maps:get(Key, Options)} || Key <- [uid_map, setgroups, gid_map], maps:is_key(Key, Options)],
            write_steps(Drv, Pipeline, proc_dir(Target), Steps);
        {error, _} = Error ->
            Error
    end.

write_steps(_Drv, _Pipeline, _Dir, []) ->
    ok;
write_steps(Drv, Pipeline, Dir, [{Key, Value} | Steps]) ->
    Text =
        case Key of
            setgroups -> atom_to_list(Value);
            _ -> format(Value)
        end,
    case write_file(Drv, Pipeline, Dir ++ "/" ++ atom_to_list(Key), Text) of
        ok -> write_steps(Drv, Pipeline, Dir, Steps);
        {error, Reason} -> {error, {Key, Reason}}
    end.

proc_dir(self) -> "/proc/self";
proc_dir(Pid) when is_integer(Pid) -> "/proc/" ++ integer_to_list(Pid).

write_file(Drv, Pipeline, Path, Text) ->
    Size = iolist_size(Text),
    case alcove:open(Drv, Pipeline, Path, [o_wronly, o_cloexec], 0) of
        {ok, Fd} ->
            Written = alcove:write(Drv, Pipeline, Fd, Text),
            _ = alcove:close(Drv, Pipeline, Fd),
            case Written of
                {ok, Size} -> ok;
                {ok, Short} -> {error, {short_write, Short}};
                {error, _} = Error -> Error
            end;
        {error, _} = Error ->
            Error
    end.

check_options(Options) when is_map(Options) ->
    check_options(maps:to_list(Options));
check_options([]) ->
    ok;
check_options([{Key, IdMap} | Rest]) when Key =:= uid_map; Key =:= gid_map ->
    case validate(IdMap) of
        ok -> check_options(Rest);
        {error, Reason} -> {error, {Key, Reason}}
    end;
check_options([{setgroups, Value} | Rest]) when Value =:= deny; Value =:= allow ->
    check_options(Rest);
check_options([{setgroups, Value} | _]) ->
    {error, {setgroups, {bad_value, Value}}};
check_options([{Key, _} | _]) ->
    {error, {bad_option, Key}};
check_options(Other) ->
    {error, {bad_option, Other}}.

%% @doc Check a uid or gid map as the kernel will (user_namespaces(7)):
%% a non-empty list of at most 340 `{Inside, Outside, Count}' ranges of
%% integers, `Count' at least 1, no range reaching id 4294967295, no two
%% ranges overlapping inside or outside, and its text (format/1) shorter
%% than a page. Whether the writer may write it is for the kernel to say.
-spec validate(term()) -> ok | {error, map_error()}.
validate([]) ->
    {error, empty};
validate(IdMap) when is_list(IdMap) ->
    case [Range || Range <- IdMap, not is_range(Range)] of
        [Bad | _] -> {error, {not_a_range, Bad}};
        [] -> validate_ranges(IdMap)
    end;
validate(_) ->
    {error, not_a_list}.

validate_ranges(IdMap) ->
    OutOfRange = [R || {Inside, Outside, Count} = R <- IdMap, Inside + Count > ?ID_END orelse Outside + Count > ?ID_END],
    Size = iolist_size(format(IdMap)),
    if
        OutOfRange =/= [] -> {error, {out_of_range, hd(OutOfRange)}};
        length(IdMap) > ?MAX_RANGES -> {error, {too_many, length(IdMap)}};
        Size >= ?MAX_BYTES -> {error, {too_long, Size}};
        true -> overlaps(IdMap)
    end.

is_range({Inside, Outside, Count}) ->
    is_integer(Inside) andalso is_integer(Outside) andalso is_integer(Count) andalso
        Inside >= 0 andalso Outside >= 0 andalso Count >= 1;
is_range(_) ->
    false.

overlaps([]) ->
    ok;
overlaps([{Inside, Outside, Count} = Range | Rest]) ->
    Overlap = fun(Start, OtherStart, OtherCount) -> Start < OtherStart + OtherCount andalso OtherStart < Start + Count end,
    case [{inside, R} || {I, _, C} = R <- Rest, Overlap(Inside, I, C)] ++ [{outside, R} || {_, O, C} = R <- Rest, Overlap(Outside, O, C)] of
        [{Side, Other} | _] -> {error, {overlap, Side, Range, Other}};
        [] -> overlaps(Rest)
    end.

%% @doc The text of a map as written to `uid_map' or `gid_map': a line
%% `Inside Outside Count' per range.
-spec format(id_map()) -> iodata().
format(IdMap) ->
    [io_lib:format("~B ~B ~B~n", [Inside, Outside, Count]) || {Inside, Outside, Count} <- IdMap].

%% @doc What on this machine keeps an unprivileged user from creating a
%% user namespace, as `{Sysctl, Value}' pairs (`[]' when nothing does):
%% `user.max_user_namespaces' at 0, `kernel.unprivileged_userns_clone' at
%% 0 (a Debian and Ubuntu patch) or `kernel.apparmor_restrict_unprivileged_userns'
%% at 1 (Ubuntu: the namespace is created without capabilities unless an
%% AppArmor profile allows it). Read by the VM from `/proc/sys'.
-spec restrictions() -> [{string(), integer()}].
restrictions() ->
    Checks = [
        {"user.max_user_namespaces", fun(V) -> V =:= 0 end},
        {"kernel.unprivileged_userns_clone", fun(V) -> V =:= 0 end},
        {"kernel.apparmor_restrict_unprivileged_userns", fun(V) -> V =/= 0 end}
    ],
    [{Name, Value} || {Name, Blocks} <- Checks, {ok, Value} <- [sysctl(Name)], Blocks(Value)].

sysctl(Name) ->
    Path = lists:flatten(["/proc/sys/", string:replace(Name, ".", "/", all)]),
    case file:read_file(Path) of
        {ok, Text} ->
            try
                {ok, binary_to_integer(string:trim(Text))}
            catch
                error:badarg -> {error, Text}
            end;
        {error, _} = Error ->
            Error
    end.
