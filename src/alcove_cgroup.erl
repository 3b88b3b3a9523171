%%% @doc cgroup v1 hierarchies, driven through a helper: the API of the
%%% original alcove's module of the same name.
%%%
%%% Every file operation runs in the helper process at `Pipeline' rather
%%% than in the VM: that process may have other privileges, another root
%%% or another mount namespace than the VM. A cgroup is named by a
%%% namespace, a list of path components (`[<<"alcove">>, <<"web">>]'),
%%% created under every v1 hierarchy mounted (see cgroup/2), or under the
%%% hierarchies whose mount options include `MntOpt' (`<<"memory">>',
%%% `<<"pids">>', ...; `<<>>' for all).
%%%
%%% The second half of the module (layout/2 onwards) knows cgroup v2 and
%%% hybrid machines: per controller it finds whether it is bound to a v1
%%% hierarchy or to the unified (v2) one, and a group made by new/4 has a
%%% directory in each hierarchy it needs. Limits are set and read by name
%%% (`memory_max', `pids_max', `cpu_max', ...) through the file of
%%% whichever version holds the controller; events, pressure, freeze, thaw
%%% and kill use the v2 files when the group has a v2 directory and the
%%% v1 equivalents otherwise.
-module(alcove_cgroup).

-include("alcove.hrl").

-export([supported/2]).
-export([create/2, create/3, destroy/2, destroy/3]).
-export([cgroup/1, cgroup/2, fold/5, fold/6, fold_files/6, fold_files/7]).
-export([get/5, set/6]).
-export([is_file/3, is_dir/3]).
-export([mounts/1, mounts/2]).
-export([join/2, relpath/1, expand/1]).
-export([layout/2, layout/3, controller/2]).
-export([new/3, new/4, remove/3, remove/4, dirs/1]).
-export([set_limit/5, get_limit/4]).
-export([add_proc/4, procs/3]).
-export([events/3, pressure/4]).
-export([freeze/3, freeze/4, thaw/3, thaw/4, kill/3]).
-export([watch/3, unwatch/3, clone_into/4]).

-type pipeline() :: [alcove:pid_t()].
-type mount_entry() :: tuple().
-type fold_fun() :: fun((binary(), term()) -> term()).

-export_type([mount_entry/0]).

-type controller() ::
    cpu
    | cpuacct
    | cpuset
    | devices
    | freezer
    | hugetlb
    | io
    | memory
    | misc
    | net_cls
    | net_prio
    | perf_event
    | pids
    | rdma.
-type layout() :: #{
    unified := binary() | undefined,
    unified_controllers := [controller()],
    v1 := [{binary(), [controller()]}],
    self := #{binary() => binary()}
}.
%% What layout/3 found: the unified (v2) mount point and the controllers
%% its root offers (cgroup.controllers), each v1 hierarchy's mount point
%% and controllers (`blkio' is named `io'), and the cgroup of the process
%% at `Pipeline' in each hierarchy, keyed by mount point.

-type group() :: #{
    name := [binary()],
    unified := binary() | undefined,
    unified_controllers := [controller()],
    v1 := [{binary(), [controller()]}],
    created := [binary()],
    watches => [pos_integer()]
}.
%% A group made by new/4: its directory in the unified hierarchy (if any)
%% with the controllers enabled for it there, its directory in each v1
%% hierarchy with that hierarchy's controllers, and the directories new/4
%% created (removed again by remove/3).

-type limit() ::
    memory_max | memory_high | pids_max | cpu_max | cpu_weight | io_max | atom() | binary().
-type io_limit() :: #{rbps | wbps | riops | wiops => non_neg_integer() | max}.
-type limit_value() ::
    non_neg_integer()
    | max
    | {non_neg_integer() | max, pos_integer()}
    | [{{non_neg_integer(), non_neg_integer()}, io_limit()}]
    | {{non_neg_integer(), non_neg_integer()}, io_limit()}.
-type new_opts() :: #{
    controllers => [controller()],
    parent => root | self,
    unified => boolean(),
    layout => layout(),
    mountinfo => file:name_all(),
    cgroup => file:name_all(),
    watch => boolean()
}.

-export_type([controller/0, layout/0, group/0, limit/0, limit_value/0, new_opts/0]).

-define(DEFAULT_CONTROLLERS, [cpu, freezer, io, memory, pids]).
-define(WAIT_MS, 5000).
%% The v1 memory controller's "no limit": PAGE_COUNTER_MAX pages in bytes.
-define(V1_MEMORY_UNLIMITED, 16#7FFFFFFFFFFFF000).

%% @doc Whether cgroups can be used from `Pipeline': Linux, the kernel
%% lists cgroups (/proc/cgroups), and every v1 hierarchy mounted is a
%% directory there.
-spec supported(alcove_drv:ref(), pipeline()) -> boolean().
supported(Drv, Pipeline) ->
    {unix, linux} =:= os:type() andalso
        is_file(Drv, Pipeline, "/proc/cgroups") andalso
        case cgroup(Drv, Pipeline) of
            [] -> false;
            Hierarchies -> lists:all(fun({Dir, _}) -> is_dir(Drv, Pipeline, Dir) end, Hierarchies)
        end.

%% @doc mkdir(2): the cgroup `alcove' in every hierarchy.
-spec create(alcove_drv:ref(), pipeline()) -> ok.
create(Drv, Pipeline) ->
    create(Drv, Pipeline, [<<"alcove">>]).

%% @doc mkdir(2): the cgroup `Namespace' (and each of its parents) in
%% every hierarchy; existing ones are left as they are.
-spec create(alcove_drv:ref(), pipeline(), [file:name_all()]) -> ok.
create(Drv, Pipeline, Namespace) ->
    lists:foreach(
        fun(Prefix) ->
            fold(Drv, <<>>, [], fun(Hierarchy, _) -> mkdir(Drv, Pipeline, join(Hierarchy, Prefix)) end, ok)
        end,
        expand(Namespace)
    ).

mkdir(Drv, Pipeline, Path) ->
    case alcove:mkdir(Drv, Pipeline, Path, 8#755) of
        {error, eexist} -> ok;
        Result -> Result
    end.

%% @doc rmdir(2): the cgroup `alcove' in every hierarchy.
-spec destroy(alcove_drv:ref(), pipeline()) -> ok | {error, file:posix()} | [].
destroy(Drv, Pipeline) ->
    destroy(Drv, Pipeline, [<<"alcove">>]).

%% @doc rmdir(2): the cgroup `Namespace' in every hierarchy (one already
%% gone counts as removed). A cgroup holding processes or child cgroups
%% cannot be removed (`{error, ebusy}'). Returns the result for the last
%% hierarchy, `[]' when there is none.
-spec destroy(alcove_drv:ref(), pipeline(), [file:name_all()]) -> ok | {error, file:posix()} | [].
destroy(Drv, Pipeline, Namespace) ->
    Remove = fun(Hierarchy, _) ->
        case alcove:rmdir(Drv, Pipeline, join(Hierarchy, Namespace)) of
            {error, enoent} -> ok;
            Result -> Result
        end
    end,
    fold(Drv, <<>>, [], Remove, []).

%% @doc Write `Value' to the file `Key' of the cgroup `Namespace' in the
%% hierarchies mounted with `MntOpt': `set(Drv, [], <<"pids">>,
%% [<<"alcove">>], <<"pids.max">>, <<"10">>)'. Returns the result for the
%% last one, `{error, enoent}' when none has that cgroup.
-spec set(alcove_drv:ref(), pipeline(), binary(), [file:name_all()], file:name_all(), iodata()) ->
    ok | {error, file:posix()}.
set(Drv, Pipeline, MntOpt, Namespace, Key, Value) ->
    Write = fun(Dir, _) -> write(Drv, Pipeline, join(Dir, [Key]), Value) end,
    case fold(Drv, MntOpt, Namespace, Write, []) of
        [] -> {error, enoent};
        Result -> Result
    end.

%% @doc Read the file `Key' of the cgroup `Namespace' in the hierarchies
%% mounted with `MntOpt'. Returns the result for the last one, `[]' when
%% none has that cgroup.
-spec get(alcove_drv:ref(), pipeline(), binary(), [file:name_all()], file:name_all()) ->
    {ok, binary()} | {error, file:posix()} | [].
get(Drv, Pipeline, MntOpt, Namespace, Key) ->
    Read = fun(Dir, _) -> read(Drv, Pipeline, join(Dir, [Key])) end,
    fold(Drv, MntOpt, Namespace, Read, []).

%% @doc Fold `Fun(Dir, Acc)' over the directories of the cgroup
%% `Namespace' in the hierarchies mounted with `MntOpt' that have it, as
%% seen from the root helper.
-spec fold(alcove_drv:ref(), binary(), [file:name_all()], fold_fun(), term()) -> term().
fold(Drv, MntOpt, Namespace, Fun, Acc) ->
    fold(Drv, [], MntOpt, Namespace, Fun, Acc).

%% @doc fold/5 as seen from `Pipeline'.
-spec fold(alcove_drv:ref(), pipeline(), binary(), [file:name_all()], fold_fun(), term()) -> term().
fold(Drv, Pipeline, MntOpt, Namespace, Fun, Acc) ->
    Dirs = [
        Dir
     || {Hierarchy, Opts} <- cgroup(Drv, Pipeline),
        MntOpt =:= <<>> orelse lists:member(MntOpt, Opts),
        Dir <- [join(Hierarchy, Namespace)],
        is_dir(Drv, Pipeline, Dir)
    ],
    lists:foldl(Fun, Acc, lists:reverse(Dirs)).

%% @doc Fold `Fun(File, Acc)' over the names in those directories that
%% match the regular expression `RegExp'.
-spec fold_files(alcove_drv:ref(), binary(), [file:name_all()], iodata(), fold_fun(), term()) ->
    term().
fold_files(Drv, MntOpt, Namespace, RegExp, Fun, Acc) ->
    fold_files(Drv, [], MntOpt, Namespace, RegExp, Fun, Acc).

%% @doc fold_files/6 as seen from `Pipeline'.
-spec fold_files(
    alcove_drv:ref(), pipeline(), binary(), [file:name_all()], iodata(), fold_fun(), term()
) -> term().
fold_files(Drv, Pipeline, MntOpt, Namespace, RegExp, Fun, Acc) ->
    {ok, Pattern} = re:compile(RegExp),
    EachDir = fun(Dir, DirAcc) ->
        {ok, Names} = alcove:readdir(Drv, Pipeline, Dir),
        Matching = [Name || Name <- Names, re:run(Name, Pattern) =/= nomatch],
        lists:foldl(Fun, DirAcc, Matching)
    end,
    fold(Drv, Pipeline, MntOpt, Namespace, EachDir, Acc).

%% @doc The cgroup v1 hierarchies mounted, seen from the root helper:
%% `[{Dir, MountOptions}]'.
-spec cgroup(alcove_drv:ref()) -> [{binary(), [binary()]}].
cgroup(Drv) ->
    cgroup(Drv, []).

%% @doc cgroup/1 as seen from `Pipeline'.
-spec cgroup(alcove_drv:ref(), pipeline()) -> [{binary(), [binary()]}].
cgroup(Drv, Pipeline) ->
    {ok, Entries} = mounts(Drv, Pipeline),
    [
        {Dir, binary:split(Opts, <<",">>, [global])}
     || {<<"cgroup">>, Dir, <<"cgroup">>, Opts, _, _} <- Entries
    ].

%% @doc The filesystems mounted, from /proc/mounts: one tuple of its
%% fields per line. `{ok, []}' when /proc/mounts cannot be opened.
-spec mounts(alcove_drv:ref()) -> {ok, [mount_entry()]} | {error, file:posix()}.
mounts(Drv) ->
    mounts(Drv, []).

%% @doc mounts/1 as seen from `Pipeline'.
-spec mounts(alcove_drv:ref(), pipeline()) -> {ok, [mount_entry()]} | {error, file:posix()}.
mounts(Drv, Pipeline) ->
    case read(Drv, Pipeline, "/proc/mounts") of
        {ok, Text} ->
            Lines = binary:split(Text, <<"\n">>, [global, trim_all]),
            {ok, [list_to_tuple(binary:split(Line, <<" ">>, [global])) || Line <- Lines]};
        {error, enoent} ->
            {ok, []};
        {error, eacces} ->
            {ok, []};
        Error ->
            Error
    end.

%% @doc Whether `Path' is a directory, seen from `Pipeline'.
-spec is_dir(alcove_drv:ref(), pipeline(), file:name_all()) -> boolean().
is_dir(Drv, Pipeline, Path) ->
    opens(Drv, Pipeline, Path, [o_rdonly, o_directory]).

%% @doc Whether `File' can be opened for reading, seen from `Pipeline'.
-spec is_file(alcove_drv:ref(), pipeline(), file:name_all()) -> boolean().
is_file(Drv, Pipeline, File) ->
    opens(Drv, Pipeline, File, [o_rdonly]).

opens(Drv, Pipeline, Path, Flags) ->
    case alcove:open(Drv, Pipeline, Path, Flags, 0) of
        {ok, FD} ->
            _ = alcove:close(Drv, Pipeline, FD),
            true;
        {error, _} ->
            false
    end.

%% @doc `Path' (a list of components, absolute ones taken as relative)
%% under the directory `Cgroup'.
-spec join(file:name_all(), [file:name_all()]) -> file:filename_all().
join(Cgroup, Path) ->
    filename:join([Cgroup | relpath(Path)]).

%% @doc The components of `Path' with any leading `/' dropped.
-spec relpath([file:name_all()]) -> [file:filename_all()].
relpath(Path) ->
    lists:append([strip_root(filename:split(to_binary(Component))) || Component <- Path]).

strip_root([<<"/">> | Rest]) -> Rest;
strip_root(Components) -> Components.

%% @doc Every leading part of a path, shortest first:
%% `[a, b]' gives `[[a], [a, b]]'.
-spec expand([T]) -> [[T]].
expand(Path) ->
    [lists:sublist(Path, N) || N <- lists:seq(1, length(Path))].

%%% cgroup v2 and hybrid machines

%% @doc layout/3 with the process's own /proc/self/mountinfo and
%% /proc/self/cgroup.
-spec layout(alcove_drv:ref(), pipeline()) -> {ok, layout()} | {error, file:posix()}.
layout(Drv, Pipeline) ->
    layout(Drv, Pipeline, #{}).

%% @doc Which hierarchies the process at `Pipeline' sees, from
%% proc_pid_mountinfo(5) and cgroups(7)'s /proc/self/cgroup (both read in
%% that process, so its mount namespace counts) and the unified root's
%% `cgroup.controllers'. `Opts' may name other files (`mountinfo',
%% `cgroup'), which is how a layout is built from a fake tree.
-spec layout(alcove_drv:ref(), pipeline(), #{mountinfo => file:name_all(), cgroup => file:name_all()}) ->
    {ok, layout()} | {error, file:posix()}.
layout(Drv, Pipeline, Opts) ->
    case read(Drv, Pipeline, maps:get(mountinfo, Opts, "/proc/self/mountinfo")) of
        {ok, Text} ->
            Mounts = parse_mountinfo(Text),
            Unified = first([{Root, Dir} || {Root, Dir, <<"cgroup2">>, _} <- Mounts]),
            V1 = dedup_v1([
                {Root, Dir, Controllers}
             || {Root, Dir, <<"cgroup">>, SuperOpts} <- Mounts,
                Controllers <- [controller_list(binary:split(SuperOpts, <<",">>, [global]))],
                Controllers =/= []
            ]),
            UnifiedControllers =
                case Unified of
                    undefined ->
                        [];
                    {_, UnifiedDir} ->
                        case read(Drv, Pipeline, join(UnifiedDir, [<<"cgroup.controllers">>])) of
                            {ok, Names} -> controller_list(split_words(Names));
                            {error, _} -> []
                        end
                end,
            Own =
                case read(Drv, Pipeline, maps:get(cgroup, Opts, "/proc/self/cgroup")) of
                    {ok, CgroupText} -> parse_proc_cgroup(CgroupText);
                    {error, _} -> []
                end,
            {ok, #{
                unified => case Unified of undefined -> undefined; {_, D} -> D end,
                unified_controllers => UnifiedControllers,
                v1 => [{Dir, Controllers} || {_, Dir, Controllers} <- V1],
                self => own_dirs(Unified, V1, Own)
            }};
        Error ->
            Error
    end.

%% @doc Where `Controller' lives in `Layout': `{v1, Mount}' when a v1
%% hierarchy has it bound, `{v2, Mount}' when the unified root offers it
%% (the v2 freezer, `cgroup.freeze', is part of every v2 cgroup), `none'.
-spec controller(layout(), controller()) -> {v1 | v2, binary()} | none.
controller(#{v1 := V1, unified := Unified, unified_controllers := Offered}, Controller) ->
    case [Dir || {Dir, Controllers} <- V1, lists:member(Controller, Controllers)] of
        [Dir | _] ->
            {v1, Dir};
        [] when Unified =:= undefined ->
            none;
        [] ->
            case Controller =:= freezer orelse lists:member(Controller, Offered) of
                true -> {v2, Unified};
                false -> none
            end
    end.

%% @doc new/4 with no options.
-spec new(alcove_drv:ref(), pipeline(), file:name_all() | [file:name_all()]) ->
    {ok, group()} | {error, file:posix()}.
new(Drv, Pipeline, Name) ->
    new(Drv, Pipeline, Name, #{}).

%% @doc mkdir(2): the group `Name' (a list of path components, e.g.
%% `[<<"alcove">>, <<"web">>]', or a path, `<<"alcove/web">>') in every v1 hierarchy bound to one of the
%% `controllers' (default cpu, freezer, io, memory, pids) and, unless
%% `unified => false', in the unified hierarchy, where the requested
%% controllers it offers are enabled in each parent's
%% `cgroup.subtree_control' on the way down. Existing directories are
%% used as they are.
%%
%% `parent => root' (the default) puts the group under each hierarchy's
%% root; `parent => self' under the cgroup of the process at `Pipeline'
%% in each hierarchy, which keeps the group inside a driver's teardown
%% cgroup (see the README). v2 lets a cgroup holding processes have
%% children but not enable controllers for them, so under `self' ask for
%% `controllers => []' on a pure v2 machine unless the parent is empty.
%% On an error the directories made so far are removed again.
-spec new(alcove_drv:ref(), pipeline(), file:name_all() | [file:name_all()], new_opts()) ->
    {ok, group()} | {error, file:posix()}.
new(Drv, Pipeline, Name, Opts) ->
    Parts = relpath(components(Name)),
    case Parts =/= [] andalso [P || P <- Parts, P =:= <<"..">> orelse P =:= <<".">>] =:= [] of
        false ->
            {error, einval};
        true ->
            case opt_layout(Drv, Pipeline, Opts) of
                {ok, Layout} -> watch_new(Drv, Pipeline, new_in(Drv, Pipeline, Parts, Layout, Opts), Opts);
                Error -> Error
            end
    end.

%% `watch => true': the owner of `Pipeline' is told of the new group's
%% events from its creation on.
watch_new(Drv, Pipeline, {ok, Group}, #{watch := true}) ->
    case watch(Drv, Pipeline, Group) of
        {ok, Ids} ->
            {ok, Group#{watches => Ids}};
        {error, _} = Error ->
            _ = remove(Drv, Pipeline, Group),
            Error
    end;
watch_new(_Drv, _Pipeline, Result, _Opts) ->
    Result.

%% A path (`<<"alcove/web">>', "alcove/web") or a list of components.
components(Name) when is_binary(Name) -> [Name];
components([Char | _] = Name) when is_integer(Char) -> [Name];
components(Name) when is_list(Name) -> Name.

opt_layout(_Drv, _Pipeline, #{layout := Layout}) -> {ok, Layout};
opt_layout(Drv, Pipeline, Opts) -> layout(Drv, Pipeline, Opts).

new_in(Drv, Pipeline, Parts, Layout, Opts) ->
    #{unified := Unified, unified_controllers := Offered, v1 := V1, self := Self} = Layout,
    Wanted = maps:get(controllers, Opts, ?DEFAULT_CONTROLLERS),
    Base =
        case maps:get(parent, Opts, root) of
            root -> fun(Mount) -> Mount end;
            self -> fun(Mount) -> maps:get(Mount, Self, undefined) end
        end,
    Hierarchies = [{Mount, Cs} || {Mount, Cs} <- V1, [C || C <- Cs, lists:member(C, Wanted)] =/= []],
    Enable = [C || C <- Offered, lists:member(C, Wanted)],
    UseUnified = Unified =/= undefined andalso maps:get(unified, Opts, true),
    Plan =
        [{Base(Mount), Cs, []} || {Mount, Cs} <- Hierarchies] ++
            [{Base(Unified), unified, Enable} || UseUnified],
    case Plan of
        [] ->
            {error, enotsup};
        _ ->
            case [undefined || {undefined, _, _} <- Plan] of
                [_ | _] -> {error, enoent};
                [] -> make_all(Drv, Pipeline, Parts, Plan, Enable, [], [])
            end
    end.

make_all(_Drv, _Pipeline, Parts, [], Enable, Dirs, Created) ->
    UnifiedDirs = [D || {D, unified} <- Dirs],
    {ok, #{
        name => Parts,
        unified => first(UnifiedDirs),
        unified_controllers =>
            case UnifiedDirs of
                [] -> [];
                _ -> Enable
            end,
        v1 => lists:reverse([{D, Cs} || {D, Cs} <- Dirs, Cs =/= unified]),
        created => lists:reverse(Created)
    }};
make_all(Drv, Pipeline, Parts, [{Base, Kind, ToEnable} | Plan], Enable, Dirs, Created) ->
    case make_dirs(Drv, Pipeline, Base, Parts, ToEnable, Created) of
        {ok, Dir, Created1} ->
            make_all(Drv, Pipeline, Parts, Plan, Enable, [{Dir, Kind} | Dirs], Created1);
        {error, Reason, Created1} ->
            _ = [alcove:rmdir(Drv, Pipeline, D) || D <- Created1],
            {error, Reason}
    end.

%% Created is kept deepest first while building.
make_dirs(_Drv, _Pipeline, Dir, [], _Enable, Created) ->
    {ok, Dir, Created};
make_dirs(Drv, Pipeline, Parent, [Part | Rest], Enable, Created) ->
    Dir = join(Parent, [Part]),
    case enable(Drv, Pipeline, Parent, Enable) of
        ok ->
            case alcove:mkdir(Drv, Pipeline, Dir, 8#755) of
                ok -> make_dirs(Drv, Pipeline, Dir, Rest, Enable, [Dir | Created]);
                {error, eexist} -> make_dirs(Drv, Pipeline, Dir, Rest, Enable, Created);
                {error, Reason} -> {error, Reason, Created}
            end;
        {error, Reason} ->
            {error, Reason, Created}
    end.

%% One write for every controller: "+memory +pids".
enable(_Drv, _Pipeline, _Dir, []) ->
    ok;
enable(Drv, Pipeline, Dir, Controllers) ->
    Line = lists:join(<<" ">>, [[<<"+">>, atom_to_binary(C)] || C <- Controllers]),
    put_file(Drv, Pipeline, join(Dir, [<<"cgroup.subtree_control">>]), [Line]).

%% @doc The directories of a group, v1 ones first.
-spec dirs(group()) -> [binary()].
dirs(#{unified := Unified, v1 := V1}) ->
    [Dir || {Dir, _} <- V1] ++ [Unified || Unified =/= undefined].

%% @doc remove/4 without killing: `{error, ebusy}' while the group holds
%% processes.
-spec remove(alcove_drv:ref(), pipeline(), group()) -> ok | {error, file:posix()}.
remove(Drv, Pipeline, Group) ->
    remove(Drv, Pipeline, Group, #{}).

%% @doc rmdir(2): the group's directory in each hierarchy (one already
%% gone counts as removed), then the parents new/4 created, deepest first
%% (a parent another group still uses stays). With `kill => true' every
%% process in the group is killed first (kill/3) and the group waited
%% for until it is empty (up to `timeout' ms, default 5000). Child
%% cgroups made below the group by others are not removed: the group
%% then stays and the result is `{error, ebusy}'.
-spec remove(alcove_drv:ref(), pipeline(), group(), #{kill => boolean(), timeout => timeout()}) ->
    ok | {error, file:posix()}.
remove(Drv, Pipeline, Group, Opts) ->
    _ = unwatch(Drv, Pipeline, maps:get(watches, Group, [])),
    Emptied =
        case maps:get(kill, Opts, false) of
            true ->
                case kill(Drv, Pipeline, Group) of
                    ok -> wait_empty(Drv, Pipeline, Group, maps:get(timeout, Opts, ?WAIT_MS));
                    KillError -> KillError
                end;
            false ->
                ok
        end,
    case Emptied of
        ok ->
            Leaves = dirs(Group),
            case [E || {error, _} = E <- [rmdir_gone(Drv, Pipeline, Dir) || Dir <- Leaves]] of
                [] ->
                    _ = [
                        alcove:rmdir(Drv, Pipeline, Dir)
                     || Dir <- lists:reverse(maps:get(created, Group, [])),
                        not lists:member(Dir, Leaves)
                    ],
                    ok;
                [RmdirError | _] ->
                    RmdirError
            end;
        Error ->
            Error
    end.

rmdir_gone(Drv, Pipeline, Dir) ->
    case alcove:rmdir(Drv, Pipeline, Dir) of
        {error, enoent} -> ok;
        Result -> Result
    end.

wait_empty(Drv, Pipeline, #{unified := Unified} = Group, Timeout) when Unified =/= undefined ->
    case wait_event(Drv, Pipeline, join(Unified, [<<"cgroup.events">>]), populated, false, Timeout) of
        ok -> wait_v1_empty(Drv, Pipeline, Group, deadline(Timeout));
        Error -> Error
    end;
wait_empty(Drv, Pipeline, Group, Timeout) ->
    wait_v1_empty(Drv, Pipeline, Group, deadline(Timeout)).

wait_v1_empty(Drv, Pipeline, #{v1 := V1}, Deadline) ->
    Empty = fun() ->
        lists:all(fun({Dir, _}) -> read_pids(Drv, Pipeline, Dir) =:= {ok, []} end, V1)
    end,
    retry(Drv, Pipeline, Empty, Deadline).

%% @doc Set a limit by name, in whichever hierarchy holds its controller
%% for the group:
%%
%% - `memory_max' (integer bytes or `max'): v2 `memory.max', v1
%%   `memory.limit_in_bytes';
%% - `memory_high': v2 `memory.high'; v1 has none: `{error, enotsup}';
%% - `pids_max' (integer or `max'): `pids.max' on both;
%% - `cpu_max' (`{Quota | max, Period}' in microseconds, or `max'): v2
%%   `cpu.max', v1 `cpu.cfs_period_us' then `cpu.cfs_quota_us' (-1 for max);
%% - `cpu_weight' (1..10000, default 100): v2 `cpu.weight', v1 `cpu.shares'
%%   scaled as the kernel does (weight 100 is 1024 shares);
%% - `io_max' (`{{Major, Minor}, #{rbps, wbps, riops, wiops => N | max}}'
%%   or a list of them): v2 `io.max' (one write per device), v1
%%   `blkio.throttle.{read,write}_{bps,iops}_device' (max writes 0, which
%%   clears).
%%
%% The v2 file names (`'memory.max'', `<<"cpu.max">>', ...) name the same
%% limits. `{error, enotsup}' when no hierarchy of the group has the
%% controller, `{error, einval}' for an unknown name or a bad value.
-spec set_limit(alcove_drv:ref(), pipeline(), group(), limit(), limit_value()) ->
    ok | {error, file:posix()}.
set_limit(Drv, Pipeline, Group, Limit, Value) ->
    case limit_name(Limit) of
        {ok, Name} ->
            case place(Group, limit_controller(Name)) of
                {Version, Dir} -> set_in(Drv, Pipeline, Version, Dir, Name, Value);
                none -> {error, enotsup}
            end;
        error ->
            {error, einval}
    end.

%% @doc Read a limit by name (see set_limit/5) back from its file, in the
%% shapes set_limit/5 takes: `cpu_max' always as `{Quota | max, Period}',
%% `io_max' always as a list with every key present.
-spec get_limit(alcove_drv:ref(), pipeline(), group(), limit()) ->
    {ok, limit_value()} | {error, file:posix()}.
get_limit(Drv, Pipeline, Group, Limit) ->
    case limit_name(Limit) of
        {ok, Name} ->
            case place(Group, limit_controller(Name)) of
                {Version, Dir} -> get_in(Drv, Pipeline, Version, Dir, Name);
                none -> {error, enotsup}
            end;
        error ->
            {error, einval}
    end.

-define(LIMITS, [memory_max, memory_high, pids_max, cpu_max, cpu_weight, io_max]).

limit_name(Name) when is_atom(Name) ->
    limit_name(atom_to_binary(Name));
limit_name(Name) when is_binary(Name) ->
    Underscored = binary:replace(Name, <<".">>, <<"_">>),
    case [L || L <- ?LIMITS, atom_to_binary(L) =:= Underscored] of
        [Limit] -> {ok, Limit};
        [] -> error
    end;
limit_name(_) ->
    error.

limit_controller(memory_max) -> memory;
limit_controller(memory_high) -> memory;
limit_controller(pids_max) -> pids;
limit_controller(cpu_max) -> cpu;
limit_controller(cpu_weight) -> cpu;
limit_controller(io_max) -> io.

%% Where a group's controller is: its v1 directory, else its v2 one when
%% the controller is enabled there.
place(#{v1 := V1, unified := Unified, unified_controllers := Enabled}, Controller) ->
    case [Dir || {Dir, Controllers} <- V1, lists:member(Controller, Controllers)] of
        [Dir | _] ->
            {v1, Dir};
        [] ->
            case Unified =/= undefined andalso lists:member(Controller, Enabled) of
                true -> {v2, Unified};
                false -> none
            end
    end.

set_in(Drv, Pipeline, v2, Dir, Name, Value) ->
    case v2_value(Name, Value) of
        {ok, Lines} -> put_file(Drv, Pipeline, join(Dir, [v2_file(Name)]), Lines);
        error -> {error, einval}
    end;
set_in(Drv, Pipeline, v1, Dir, Name, Value) ->
    case v1_writes(Name, Value) of
        {ok, Writes} -> put_files(Drv, Pipeline, Dir, Writes);
        enotsup -> {error, enotsup};
        error -> {error, einval}
    end.

v2_file(memory_max) -> <<"memory.max">>;
v2_file(memory_high) -> <<"memory.high">>;
v2_file(pids_max) -> <<"pids.max">>;
v2_file(cpu_max) -> <<"cpu.max">>;
v2_file(cpu_weight) -> <<"cpu.weight">>;
v2_file(io_max) -> <<"io.max">>.

%% The lines to write, each in a write of its own.
v2_value(Name, Value) when Name =:= memory_max; Name =:= memory_high; Name =:= pids_max ->
    case count(Value) of
        {ok, Text} -> {ok, [Text]};
        error -> error
    end;
v2_value(cpu_max, max) ->
    {ok, [<<"max">>]};
v2_value(cpu_max, {Quota, Period}) when is_integer(Period), Period > 0 ->
    case count(Quota) of
        {ok, Text} -> {ok, [<<Text/binary, " ", (integer_to_binary(Period))/binary>>]};
        error -> error
    end;
v2_value(cpu_weight, Weight) when is_integer(Weight), Weight >= 1, Weight =< 10000 ->
    {ok, [integer_to_binary(Weight)]};
v2_value(io_max, Devices) ->
    case io_devices(Devices) of
        {ok, List} ->
            {ok, [
                iolist_to_binary([
                    device(Device),
                    [[" ", atom_to_binary(K), "=", count_text(V)] || {K, V} <- Keys]
                ])
             || {Device, Keys} <- List
            ]};
        error ->
            error
    end;
v2_value(_, _) ->
    error.

%% [{File, Text}], written in order.
v1_writes(memory_max, max) ->
    {ok, [{<<"memory.limit_in_bytes">>, <<"-1">>}]};
v1_writes(memory_max, Bytes) when is_integer(Bytes), Bytes >= 0 ->
    {ok, [{<<"memory.limit_in_bytes">>, integer_to_binary(Bytes)}]};
v1_writes(memory_high, _) ->
    enotsup;
v1_writes(pids_max, Value) ->
    case count(Value) of
        {ok, Text} -> {ok, [{<<"pids.max">>, Text}]};
        error -> error
    end;
v1_writes(cpu_max, max) ->
    {ok, [{<<"cpu.cfs_quota_us">>, <<"-1">>}]};
v1_writes(cpu_max, {max, Period}) when is_integer(Period), Period > 0 ->
    {ok, [{<<"cpu.cfs_period_us">>, integer_to_binary(Period)}, {<<"cpu.cfs_quota_us">>, <<"-1">>}]};
v1_writes(cpu_max, {Quota, Period}) when is_integer(Quota), Quota > 0, is_integer(Period), Period > 0 ->
    {ok, [
        {<<"cpu.cfs_period_us">>, integer_to_binary(Period)},
        {<<"cpu.cfs_quota_us">>, integer_to_binary(Quota)}
    ]};
v1_writes(cpu_weight, Weight) when is_integer(Weight), Weight >= 1, Weight =< 10000 ->
    Shares = max(2, min(262144, (Weight * 1024 + 50) div 100)),
    {ok, [{<<"cpu.shares">>, integer_to_binary(Shares)}]};
v1_writes(io_max, Devices) ->
    case io_devices(Devices) of
        {ok, List} ->
            {ok, [
                {v1_io_file(Key), iolist_to_binary([device(Device), " ", v1_io_value(Value)])}
             || {Device, Keys} <- List, {Key, Value} <- Keys
            ]};
        error ->
            error
    end;
v1_writes(_, _) ->
    error.

v1_io_file(rbps) -> <<"blkio.throttle.read_bps_device">>;
v1_io_file(wbps) -> <<"blkio.throttle.write_bps_device">>;
v1_io_file(riops) -> <<"blkio.throttle.read_iops_device">>;
v1_io_file(wiops) -> <<"blkio.throttle.write_iops_device">>.

v1_io_value(max) -> <<"0">>;
v1_io_value(N) -> integer_to_binary(N).

-define(IO_KEYS, [rbps, wbps, riops, wiops]).

%% Devices as [{{Major, Minor}, [{Key, Value}]}], keys in a fixed order.
io_devices({{_, _}, #{}} = One) ->
    io_devices([One]);
io_devices(Devices) when is_list(Devices), Devices =/= [] ->
    case lists:all(fun valid_io_device/1, Devices) of
        true ->
            {ok, [
                {Device, [{K, maps:get(K, Keys)} || K <- ?IO_KEYS, maps:is_key(K, Keys)]}
             || {Device, Keys} <- Devices
            ]};
        false ->
            error
    end;
io_devices(_) ->
    error.

valid_io_device({{Major, Minor}, Keys}) when
    is_integer(Major), Major >= 0, is_integer(Minor), Minor >= 0, is_map(Keys), map_size(Keys) > 0
->
    lists:all(fun({K, V}) -> lists:member(K, ?IO_KEYS) andalso count(V) =/= error end, maps:to_list(Keys));
valid_io_device(_) ->
    false.

device({Major, Minor}) -> [integer_to_binary(Major), ":", integer_to_binary(Minor)].

count(max) -> {ok, <<"max">>};
count(N) when is_integer(N), N >= 0 -> {ok, integer_to_binary(N)};
count(_) -> error.

count_text(Value) ->
    {ok, Text} = count(Value),
    Text.

get_in(Drv, Pipeline, v2, Dir, Name) ->
    case read(Drv, Pipeline, join(Dir, [v2_file(Name)])) of
        {ok, Text} -> parse_v2_limit(Name, Text);
        Error -> Error
    end;
get_in(_Drv, _Pipeline, v1, _Dir, memory_high) ->
    {error, enotsup};
get_in(Drv, Pipeline, v1, Dir, memory_max) ->
    case read_int(Drv, Pipeline, join(Dir, [<<"memory.limit_in_bytes">>])) of
        {ok, Bytes} when Bytes >= ?V1_MEMORY_UNLIMITED -> {ok, max};
        Result -> Result
    end;
get_in(Drv, Pipeline, v1, Dir, pids_max) ->
    get_in(Drv, Pipeline, v2, Dir, pids_max);
get_in(Drv, Pipeline, v1, Dir, cpu_max) ->
    case read_int(Drv, Pipeline, join(Dir, [<<"cpu.cfs_quota_us">>])) of
        {ok, Quota} ->
            case read_int(Drv, Pipeline, join(Dir, [<<"cpu.cfs_period_us">>])) of
                {ok, Period} when Quota < 0 -> {ok, {max, Period}};
                {ok, Period} -> {ok, {Quota, Period}};
                Error -> Error
            end;
        Error ->
            Error
    end;
get_in(Drv, Pipeline, v1, Dir, cpu_weight) ->
    case read_int(Drv, Pipeline, join(Dir, [<<"cpu.shares">>])) of
        {ok, Shares} -> {ok, max(1, min(10000, (Shares * 100 + 512) div 1024))};
        Error -> Error
    end;
get_in(Drv, Pipeline, v1, Dir, io_max) ->
    case read_v1_io(Drv, Pipeline, Dir, ?IO_KEYS, []) of
        {ok, Found} ->
            Devices = lists:usort([Device || {Device, _, _} <- Found]),
            {ok, [
                {Device,
                    maps:merge(
                        maps:from_keys(?IO_KEYS, max),
                        maps:from_list([{K, V} || {D, K, V} <- Found, D =:= Device])
                    )}
             || Device <- Devices
            ]};
        Error ->
            Error
    end.

%% "8:0 1048576" lines of the four blkio.throttle files: [{Device, Key, Value}].
read_v1_io(_Drv, _Pipeline, _Dir, [], Found) ->
    {ok, Found};
read_v1_io(Drv, Pipeline, Dir, [Key | Keys], Found) ->
    case read(Drv, Pipeline, join(Dir, [v1_io_file(Key)])) of
        {ok, Text} ->
            Rows = [
                {Device, Key, Value}
             || Line <- lines(Text),
                [DeviceText, ValueText] <- [split_words(Line)],
                {ok, Device} <- [parse_device(DeviceText)],
                {ok, Value} <- [parse_count(ValueText)]
            ],
            read_v1_io(Drv, Pipeline, Dir, Keys, Rows ++ Found);
        Error ->
            Error
    end.

parse_v2_limit(cpu_max, Text) ->
    case split_words(Text) of
        [QuotaText, PeriodText] ->
            case {parse_count(QuotaText), parse_count(PeriodText)} of
                {{ok, Quota}, {ok, Period}} when is_integer(Period) -> {ok, {Quota, Period}};
                _ -> {error, einval}
            end;
        _ ->
            {error, einval}
    end;
parse_v2_limit(io_max, Text) ->
    Devices = [parse_io_line(Line) || Line <- lines(Text)],
    case lists:member(error, Devices) of
        true -> {error, einval};
        false -> {ok, Devices}
    end;
parse_v2_limit(_Name, Text) ->
    case parse_count(string:trim(Text)) of
        {ok, Value} -> {ok, Value};
        error -> {error, einval}
    end.

%% "8:0 rbps=1048576 wbps=max riops=max wiops=max"
parse_io_line(Line) ->
    case split_words(Line) of
        [DeviceText | Pairs] ->
            Names = [{atom_to_binary(A), A} || A <- ?IO_KEYS],
            Keys = [
                {Key, Value}
             || Pair <- Pairs,
                [K, V] <- [binary:split(Pair, <<"=">>)],
                {_, Key} <- [lists:keyfind(K, 1, Names)],
                {ok, Value} <- [parse_count(V)]
            ],
            case parse_device(DeviceText) of
                {ok, Device} -> {Device, maps:merge(maps:from_keys(?IO_KEYS, max), maps:from_list(Keys))};
                error -> error
            end;
        [] ->
            error
    end.

parse_device(Text) ->
    case binary:split(Text, <<":">>) of
        [Major, Minor] ->
            case {parse_count(Major), parse_count(Minor)} of
                {{ok, Ma}, {ok, Mi}} when is_integer(Ma), is_integer(Mi) -> {ok, {Ma, Mi}};
                _ -> error
            end;
        _ ->
            error
    end.

parse_count(<<"max">>) ->
    {ok, max};
parse_count(Text) ->
    try
        {ok, binary_to_integer(Text)}
    catch
        error:badarg -> error
    end.

read_int(Drv, Pipeline, File) ->
    case read(Drv, Pipeline, File) of
        {ok, Text} ->
            case parse_count(string:trim(Text)) of
                {ok, N} when is_integer(N) -> {ok, N};
                _ -> {error, einval}
            end;
        Error ->
            Error
    end.

%% @doc Move the process `OSPid' into the group: its pid written to
%% `cgroup.procs' in each of the group's directories (v1 ones first).
%% Moving a process takes it out of the cgroup it was in, a driver's
%% teardown cgroup included, unless the group was made with
%% `parent => self'. A forked helper moved into a group stays there, and
%% so does everything it forks or execs afterwards.
-spec add_proc(alcove_drv:ref(), pipeline(), group(), alcove:pid_t()) -> ok | {error, file:posix()}.
add_proc(Drv, Pipeline, Group, OSPid) ->
    Text = integer_to_binary(OSPid),
    lists:foldl(
        fun
            (Dir, ok) -> put_file(Drv, Pipeline, join(Dir, [<<"cgroup.procs">>]), [Text]);
            (_Dir, Error) -> Error
        end,
        ok,
        dirs(Group)
    ).

%% @doc Push the group's events to the owner of `Pipeline': the helper
%% there watches each of the group's directories that has events files
%% (inotify on v2 `cgroup.events', `memory.events' and `pids.events'; an
%% eventfd for a v1 memory group's OOMs; a 100 ms re-read of a v1
%% `pids.events', which the kernel does not notify) and sends
%% `{alcove_event, Drv, Pipeline, {cgroup, {Event, Dir, Value}}}' when
%% something changes: `{populated, Dir, true | false}',
%% `{frozen, Dir, true | false}', `{oom, Dir, Count}',
%% `{oom_kill, Dir, Count}', `{pids_max, Dir, Count}' (counts as the files
%% show them, sent when they grow). The process at `Pipeline' must stay a
%% helper (not exec) for the events to come: the root helper (`[]') or a
%% container's parent. Returns the watch ids (new/4's `watch => true'
%% keeps them in the group, and remove/4 ends them).
-spec watch(alcove_drv:ref(), pipeline(), group()) -> {ok, [pos_integer()]} | {error, file:posix()}.
watch(Drv, Pipeline, Group) ->
    watch_dirs(Drv, Pipeline, dirs(Group), []).

watch_dirs(_Drv, _Pipeline, [], Ids) ->
    {ok, lists:reverse(Ids)};
watch_dirs(Drv, Pipeline, [Dir | Dirs], Ids) ->
    case alcove:cgroup_watch(Drv, Pipeline, Dir) of
        {ok, Id} ->
            watch_dirs(Drv, Pipeline, Dirs, [Id | Ids]);
        % No events file there (a v1 cpu hierarchy): nothing to watch.
        {error, einval} ->
            watch_dirs(Drv, Pipeline, Dirs, Ids);
        {error, _} = Error ->
            _ = unwatch(Drv, Pipeline, Ids),
            Error
    end.

%% @doc End watches made by watch/3 (ids of another helper's are
%% ignored).
-spec unwatch(alcove_drv:ref(), pipeline(), [pos_integer()]) -> ok.
unwatch(Drv, Pipeline, Ids) ->
    lists:foreach(fun(Id) -> _ = alcove:cgroup_unwatch(Drv, Pipeline, Id) end, Ids).

%% @doc clone(2) straight into the group: with a v2 directory, clone3's
%% `CLONE_INTO_CGROUP' puts the child there before it runs anything (no
%% window in which it runs, or forks, outside); it is then moved into the
%% group's v1 directories, before it serves any call of yours. Without a
%% v2 directory: clone, then add_proc/4. `Flags' as for alcove:clone/3.
%% Like add_proc/4, this takes the child out of the driver's teardown
%% cgroup (see the module doc).
-spec clone_into(alcove_drv:ref(), pipeline(), group(), alcove:int32_t() | [alcove:constant()]) ->
    {ok, alcove:pid_t()} | {error, file:posix()}.
clone_into(Drv, Pipeline, #{unified := Unified, v1 := V1}, Flags) ->
    Cloned =
        case Unified of
            undefined -> alcove:clone(Drv, Pipeline, Flags);
            _ -> alcove:clone_into(Drv, Pipeline, Flags, Unified)
        end,
    case Cloned of
        {ok, Pid} ->
            Text = integer_to_binary(Pid),
            Moved = [put_file(Drv, Pipeline, join(Dir, [<<"cgroup.procs">>]), [Text]) || {Dir, _} <- V1],
            case [E || {error, _} = E <- Moved] of
                [] ->
                    {ok, Pid};
                [Error | _] ->
                    _ = alcove:kill(Drv, Pipeline, Pid, sigkill),
                    Error
            end;
        Error ->
            Error
    end.

%% @doc The processes in the group, sorted: `cgroup.procs' of its v2
%% directory, or of its last v1 one.
-spec procs(alcove_drv:ref(), pipeline(), group()) -> {ok, [alcove:pid_t()]} | {error, file:posix()}.
procs(Drv, Pipeline, Group) ->
    case dirs(Group) of
        [] -> {ok, []};
        Dirs -> read_pids(Drv, Pipeline, lists:last(Dirs))
    end.

read_pids(Drv, Pipeline, Dir) ->
    case read(Drv, Pipeline, join(Dir, [<<"cgroup.procs">>])) of
        {ok, Text} -> {ok, lists:sort([Pid || Line <- lines(Text), {ok, Pid} <- [parse_count(Line)]])};
        Error -> Error
    end.

%% @doc The group's event counters, one map per file:
%%
%% - `cgroup': v2 `cgroup.events' (`populated', `frozen' as booleans); a
%%   group with no v2 directory gets `populated' from its v1
%%   `cgroup.procs';
%% - `memory': v2 `memory.events' (`low', `high', `max', `oom',
%%   `oom_kill', `oom_group_kill'); v1 `memory.oom_control'
%%   (`oom_kill_disable' and `under_oom' as booleans, `oom_kill') with
%%   `failcnt' from `memory.failcnt';
%% - `pids': `pids.events' (`max': forks refused by pids.max), v1 or v2.
%%
%% A map is left out when the group has no such controller; keys this
%% module does not know are kept as binaries.
-spec events(alcove_drv:ref(), pipeline(), group()) ->
    {ok, #{cgroup => map(), memory => map(), pids => map()}} | {error, file:posix()}.
events(Drv, Pipeline, Group) ->
    Parts = [
        {cgroup, cgroup_events(Drv, Pipeline, Group)},
        {memory, memory_events(Drv, Pipeline, place(Group, memory))},
        {pids,
            case place(Group, pids) of
                {_, Dir} -> keyed_file(Drv, Pipeline, join(Dir, [<<"pids.events">>]));
                none -> none
            end}
    ],
    case [E || {_, {error, _} = E} <- Parts] of
        [] -> {ok, maps:from_list([{K, V} || {K, {ok, V}} <- Parts])};
        [Error | _] -> Error
    end.

cgroup_events(Drv, Pipeline, #{unified := Dir}) when Dir =/= undefined ->
    keyed_file(Drv, Pipeline, join(Dir, [<<"cgroup.events">>]));
cgroup_events(Drv, Pipeline, #{v1 := [{Dir, _} | _]}) ->
    case read_pids(Drv, Pipeline, Dir) of
        {ok, Pids} -> {ok, #{populated => Pids =/= []}};
        Error -> Error
    end;
cgroup_events(_Drv, _Pipeline, _Group) ->
    none.

memory_events(Drv, Pipeline, {v2, Dir}) ->
    keyed_file(Drv, Pipeline, join(Dir, [<<"memory.events">>]));
memory_events(Drv, Pipeline, {v1, Dir}) ->
    case keyed_file(Drv, Pipeline, join(Dir, [<<"memory.oom_control">>])) of
        {ok, Oom} ->
            case read_int(Drv, Pipeline, join(Dir, [<<"memory.failcnt">>])) of
                {ok, Failcnt} -> {ok, Oom#{failcnt => Failcnt}};
                Error -> Error
            end;
        Error ->
            Error
    end;
memory_events(_Drv, _Pipeline, none) ->
    none.

keyed_file(Drv, Pipeline, File) ->
    case read(Drv, Pipeline, File) of
        {ok, Text} -> {ok, parse_keyed(Text)};
        Error -> Error
    end.

-define(EVENT_KEYS, [
    populated,
    frozen,
    low,
    high,
    max,
    oom,
    oom_kill,
    oom_group_kill,
    oom_kill_disable,
    under_oom,
    sock_throttled
]).
-define(BOOLEAN_KEYS, [populated, frozen, oom_kill_disable, under_oom]).

%% "key value" lines into a map.
parse_keyed(Text) ->
    maps:from_list([
        event_pair(Key, Value)
     || Line <- lines(Text),
        [Key, ValueText] <- [split_words(Line)],
        {ok, Value} <- [parse_count(ValueText)]
    ]).

event_pair(KeyText, Value) ->
    case [A || A <- ?EVENT_KEYS, atom_to_binary(A) =:= KeyText] of
        [Key] ->
            case lists:member(Key, ?BOOLEAN_KEYS) of
                true -> {Key, Value =:= 1};
                false -> {Key, Value}
            end;
        [] ->
            {KeyText, Value}
    end.

%% @doc Pressure stall information (the kernel's
%% Documentation/accounting/psi.rst) of the group for `cpu', `memory',
%% `io' or `irq', from its v2 directory: `#{some => #{avg10 => float(),
%% avg60 => float(), avg300 => float(), total => integer()}, full =>
%% ...}' (`total' in microseconds). `{error, enotsup}' for a group with no
%% v2 directory (v1 has no PSI).
-spec pressure(alcove_drv:ref(), pipeline(), group(), cpu | memory | io | irq) ->
    {ok, #{some | full => #{atom() => number()}}} | {error, file:posix()}.
pressure(_Drv, _Pipeline, #{unified := undefined}, _Resource) ->
    {error, enotsup};
pressure(Drv, Pipeline, #{unified := Dir}, Resource) when
    Resource =:= cpu; Resource =:= memory; Resource =:= io; Resource =:= irq
->
    case read(Drv, Pipeline, join(Dir, [<<(atom_to_binary(Resource))/binary, ".pressure">>])) of
        {ok, Text} -> parse_pressure(Text);
        Error -> Error
    end;
pressure(_Drv, _Pipeline, _Group, _Resource) ->
    {error, einval}.

parse_pressure(Text) ->
    Rows = [parse_pressure_line(Line) || Line <- lines(Text)],
    case lists:member(error, Rows) of
        true -> {error, einval};
        false -> {ok, maps:from_list(Rows)}
    end.

%% "some avg10=0.00 avg60=0.00 avg300=0.00 total=0"
parse_pressure_line(Line) ->
    case split_words(Line) of
        [Kind | Pairs] when Kind =:= <<"some">>; Kind =:= <<"full">> ->
            Values = [pressure_pair(binary:split(Pair, <<"=">>)) || Pair <- Pairs],
            case lists:member(error, Values) of
                true -> error;
                false -> {binary_to_atom(Kind), maps:from_list(Values)}
            end;
        _ ->
            error
    end.

pressure_pair([<<"total">>, Value]) ->
    case parse_count(Value) of
        {ok, N} when is_integer(N) -> {total, N};
        _ -> error
    end;
pressure_pair([Key, Value]) when Key =:= <<"avg10">>; Key =:= <<"avg60">>; Key =:= <<"avg300">> ->
    try
        {binary_to_atom(Key), binary_to_float(Value)}
    catch
        error:badarg -> error
    end;
pressure_pair(_) ->
    error.

%% @doc freeze/4 waiting up to 5 s.
-spec freeze(alcove_drv:ref(), pipeline(), group()) -> ok | {error, file:posix()}.
freeze(Drv, Pipeline, Group) ->
    freeze(Drv, Pipeline, Group, ?WAIT_MS).

%% @doc Freeze every process in the group; returns once the kernel
%% reports the group frozen. With a v2 directory: 1 written to
%% `cgroup.freeze', then `cgroup.events' waited on with select(2) (kernfs
%% flags a change as an exceptional condition) until it says `frozen 1'.
%% Otherwise the v1 freezer: FROZEN written to `freezer.state', read back
%% until it says FROZEN (v1 announces nothing: re-read every 10 ms).
%% `{error, etimedout}' after `Timeout' ms, `{error, enotsup}' with
%% neither freezer.
-spec freeze(alcove_drv:ref(), pipeline(), group(), timeout()) -> ok | {error, file:posix()}.
freeze(Drv, Pipeline, Group, Timeout) ->
    set_frozen(Drv, Pipeline, Group, true, Timeout).

%% @doc thaw/4 waiting up to 5 s.
-spec thaw(alcove_drv:ref(), pipeline(), group()) -> ok | {error, file:posix()}.
thaw(Drv, Pipeline, Group) ->
    thaw(Drv, Pipeline, Group, ?WAIT_MS).

%% @doc Thaw the group, the reverse of freeze/4 (v2 `cgroup.freeze' 0,
%% v1 THAWED); returns once it is no longer reported frozen.
-spec thaw(alcove_drv:ref(), pipeline(), group(), timeout()) -> ok | {error, file:posix()}.
thaw(Drv, Pipeline, Group, Timeout) ->
    set_frozen(Drv, Pipeline, Group, false, Timeout).

set_frozen(Drv, Pipeline, #{unified := Dir}, Frozen, Timeout) when Dir =/= undefined ->
    Value =
        case Frozen of
            true -> <<"1">>;
            false -> <<"0">>
        end,
    case put_file(Drv, Pipeline, join(Dir, [<<"cgroup.freeze">>]), [Value]) of
        ok -> wait_event(Drv, Pipeline, join(Dir, [<<"cgroup.events">>]), frozen, Frozen, Timeout);
        Error -> Error
    end;
set_frozen(Drv, Pipeline, Group, Frozen, Timeout) ->
    case place(Group, freezer) of
        {v1, Dir} ->
            State =
                case Frozen of
                    true -> <<"FROZEN">>;
                    false -> <<"THAWED">>
                end,
            File = join(Dir, [<<"freezer.state">>]),
            case put_file(Drv, Pipeline, File, [State]) of
                ok ->
                    Reached = fun() ->
                        case read(Drv, Pipeline, File) of
                            {ok, Text} -> string:trim(Text) =:= State;
                            {error, _} -> false
                        end
                    end,
                    retry(Drv, Pipeline, Reached, deadline(Timeout));
                Error ->
                    Error
            end;
        _ ->
            {error, enotsup}
    end.

%% @doc Kill every process in the group with SIGKILL. With a v2
%% directory: one write of 1 to `cgroup.kill' (Linux 5.14), which also
%% reaches processes forking meanwhile and the cgroups below. Otherwise
%% (or where `cgroup.kill' is missing) the v1 fallback: freeze the group
%% if it has a v1 freezer, kill(2) each pid in its `cgroup.procs', thaw,
%% and repeat until no pid is left (up to 5 s); without a freezer a
%% process forking faster than the loop kills could outlast it. Returns
%% once the signals are sent; remove/4 with `kill => true' also waits for
%% the processes to be gone.
-spec kill(alcove_drv:ref(), pipeline(), group()) -> ok | {error, file:posix()}.
kill(Drv, Pipeline, #{unified := Dir} = Group) when Dir =/= undefined ->
    case put_file(Drv, Pipeline, join(Dir, [<<"cgroup.kill">>]), [<<"1">>]) of
        {error, enoent} -> kill_v1(Drv, Pipeline, Group);
        Result -> Result
    end;
kill(Drv, Pipeline, Group) ->
    kill_v1(Drv, Pipeline, Group).

kill_v1(_Drv, _Pipeline, #{v1 := []}) ->
    {error, enotsup};
kill_v1(Drv, Pipeline, #{v1 := V1} = Group) ->
    V1Only = Group#{unified := undefined},
    Frozen = place(V1Only, freezer) =/= none andalso set_frozen(Drv, Pipeline, V1Only, true, ?WAIT_MS) =:= ok,
    KillAll = fun() ->
        Pids = lists:usort(lists:append([P || {Dir, _} <- V1, {ok, P} <- [read_pids(Drv, Pipeline, Dir)]])),
        _ = [alcove:kill(Drv, Pipeline, Pid, sigkill) || Pid <- Pids],
        Pids =:= []
    end,
    _ = KillAll(),
    _ = Frozen andalso set_frozen(Drv, Pipeline, V1Only, false, ?WAIT_MS) =:= ok,
    retry(Drv, Pipeline, KillAll, deadline(?WAIT_MS)).

%% Wait for `Key' of the flat-keyed file `File' (cgroup.events) to be
%% `Want': read it and, until it is, select(2) on it for the exceptional
%% condition kernfs raises on a change, then read it again.
wait_event(Drv, Pipeline, File, Key, Want, Timeout) ->
    case alcove:open(Drv, Pipeline, File, [o_rdonly], 0) of
        {ok, FD} ->
            Result = wait_event_fd(Drv, Pipeline, FD, Key, Want, deadline(Timeout)),
            _ = alcove:close(Drv, Pipeline, FD),
            Result;
        Error ->
            Error
    end.

wait_event_fd(Drv, Pipeline, FD, Key, Want, Deadline) ->
    case reread(Drv, Pipeline, FD) of
        {ok, Text} ->
            case maps:get(Key, parse_keyed(Text), undefined) of
                Want ->
                    ok;
                _ ->
                    case remaining(Deadline) of
                        0 ->
                            {error, etimedout};
                        Ms ->
                            case alcove:select(Drv, Pipeline, [], [], [FD], timeval(Ms)) of
                                {ok, _, _, _} -> wait_event_fd(Drv, Pipeline, FD, Key, Want, Deadline);
                                {error, eintr} -> wait_event_fd(Drv, Pipeline, FD, Key, Want, Deadline);
                                Error -> Error
                            end
                    end
            end;
        Error ->
            Error
    end.

reread(Drv, Pipeline, FD) ->
    case alcove:lseek(Drv, Pipeline, FD, 0, 0) of
        ok -> read_all(Drv, Pipeline, FD, []);
        Error -> Error
    end.

%% Check `Done()' until true, pausing 10 ms in the helper between tries:
%% for v1 states that nothing announces.
retry(Drv, Pipeline, Done, Deadline) ->
    case Done() of
        true ->
            ok;
        false ->
            case remaining(Deadline) of
                0 ->
                    {error, etimedout};
                Ms ->
                    _ = alcove:select(Drv, Pipeline, [], [], [], timeval(min(Ms, 10))),
                    retry(Drv, Pipeline, Done, Deadline)
            end
    end.

deadline(infinity) -> infinity;
deadline(Ms) -> erlang:monotonic_time(millisecond) + Ms.

remaining(infinity) -> 1000;
remaining(Deadline) -> max(0, Deadline - erlang:monotonic_time(millisecond)).

timeval(Ms) -> #alcove_timeval{sec = Ms div 1000, usec = (Ms rem 1000) * 1000}.

%% Write each of `Lines' to `File' in a write(2) of its own (a cgroup file
%% takes one value per write); O_TRUNC so that a plain file can stand in
%% for a cgroup file in tests.
put_file(Drv, Pipeline, File, Lines) ->
    case alcove:open(Drv, Pipeline, File, [o_wronly, o_trunc], 0) of
        {ok, FD} ->
            Result = lists:foldl(
                fun
                    (Line, ok) -> write_all(Drv, Pipeline, FD, iolist_to_binary(Line));
                    (_, Error) -> Error
                end,
                ok,
                Lines
            ),
            _ = alcove:close(Drv, Pipeline, FD),
            Result;
        Error ->
            Error
    end.

put_files(Drv, Pipeline, Dir, Writes) ->
    lists:foldl(
        fun
            ({File, Text}, ok) -> put_file(Drv, Pipeline, join(Dir, [File]), [Text]);
            (_, Error) -> Error
        end,
        ok,
        Writes
    ).

%% mountinfo lines as {Root, MountPoint, FsType, SuperOptions}.
parse_mountinfo(Text) ->
    [
        {unescape(Root), unescape(MountPoint), FsType, SuperOpts}
     || Line <- lines(Text),
        [Left, Right] <- [binary:split(Line, <<" - ">>)],
        [_Id, _ParentId, _Dev, Root, MountPoint | _] <- [split_words(Left)],
        [FsType, _Source, SuperOpts | _] <- [split_words(Right)]
    ].

%% mountinfo writes space, tab, newline and backslash as \ooo.
unescape(<<"\\", A, B, C, Rest/binary>>) when
    A >= $0, A =< $3, B >= $0, B =< $7, C >= $0, C =< $7
->
    <<((A - $0) * 64 + (B - $0) * 8 + (C - $0)), (unescape(Rest))/binary>>;
unescape(<<Char, Rest/binary>>) ->
    <<Char, (unescape(Rest))/binary>>;
unescape(<<>>) ->
    <<>>.

%% A hierarchy may be mounted more than once (bind mounts): the first.
dedup_v1(Mounts) ->
    lists:reverse(
        lists:foldl(
            fun({_, _, Controllers} = Mount, Acc) ->
                case lists:keymember(Controllers, 3, Acc) of
                    true -> Acc;
                    false -> [Mount | Acc]
                end
            end,
            [],
            Mounts
        )
    ).

-define(CONTROLLER_NAMES, [
    {<<"blkio">>, io},
    {<<"cpu">>, cpu},
    {<<"cpuacct">>, cpuacct},
    {<<"cpuset">>, cpuset},
    {<<"devices">>, devices},
    {<<"freezer">>, freezer},
    {<<"hugetlb">>, hugetlb},
    {<<"io">>, io},
    {<<"memory">>, memory},
    {<<"misc">>, misc},
    {<<"net_cls">>, net_cls},
    {<<"net_prio">>, net_prio},
    {<<"perf_event">>, perf_event},
    {<<"pids">>, pids},
    {<<"rdma">>, rdma}
]).

controller_list(Names) ->
    [Controller || Name <- Names, {_, Controller} <- [lists:keyfind(Name, 1, ?CONTROLLER_NAMES)]].

%% /proc/self/cgroup lines as {unified | [controller()], Path}.
parse_proc_cgroup(Text) ->
    [
        case Controllers of
            <<>> -> {unified, Path};
            _ -> {controller_list(binary:split(Controllers, <<",">>, [global])), Path}
        end
     || Line <- lines(Text),
        [_Id, Controllers, Path] <- [binary:split(Line, <<":">>, [global])]
    ].

own_dirs(Unified, V1, Own) ->
    UnifiedDir =
        case {Unified, lists:keyfind(unified, 1, Own)} of
            {{Root, Dir}, {_, Path}} -> [{Dir, below(Dir, Root, Path)}];
            _ -> []
        end,
    V1Dirs = [
        {Dir, below(Dir, Root, Path)}
     || {Root, Dir, Controllers} <- V1,
        {[_ | _] = Cs, Path} <- Own,
        lists:sort(Cs) =:= lists:sort(Controllers)
    ],
    maps:from_list(UnifiedDir ++ V1Dirs).

%% The directory of cgroup `Path' in the hierarchy mounted at `Dir' from
%% `Root' (a mount of a subtree shows that subtree's path as its root).
below(Dir, Root, Path) ->
    RootParts = relpath([Root]),
    PathParts = relpath([Path]),
    case lists:prefix(RootParts, PathParts) of
        true -> join(Dir, lists:nthtail(length(RootParts), PathParts));
        false -> join(Dir, PathParts)
    end.

first([]) -> undefined;
first([X | _]) -> X.

lines(Text) ->
    [Line || Line <- binary:split(Text, <<"\n">>, [global, trim_all]), Line =/= <<>>].

split_words(Text) ->
    binary:split(string:trim(Text), [<<" ">>, <<"\t">>], [global, trim_all]).

%%% internal

write(Drv, Pipeline, File, Value) ->
    case alcove:open(Drv, Pipeline, File, [o_wronly], 0) of
        {ok, FD} ->
            Result = write_all(Drv, Pipeline, FD, iolist_to_binary(Value)),
            _ = alcove:close(Drv, Pipeline, FD),
            Result;
        Error ->
            Error
    end.

%% cgroup files take a value in one write; a short one is retried with the rest.
write_all(_Drv, _Pipeline, _FD, <<>>) ->
    ok;
write_all(Drv, Pipeline, FD, Bytes) ->
    case alcove:write(Drv, Pipeline, FD, Bytes) of
        {ok, N} when N > 0 ->
            write_all(Drv, Pipeline, FD, binary:part(Bytes, N, byte_size(Bytes) - N));
        {ok, 0} ->
            {error, eio};
        {error, _} = Error ->
            Error
    end.

read(Drv, Pipeline, File) ->
    case alcove:open(Drv, Pipeline, File, [o_rdonly], 0) of
        {ok, FD} ->
            Result = read_all(Drv, Pipeline, FD, []),
            _ = alcove:close(Drv, Pipeline, FD),
            Result;
        Error ->
            Error
    end.

read_all(Drv, Pipeline, FD, Acc) ->
    case alcove:read(Drv, Pipeline, FD, 65536) of
        {ok, <<>>} -> {ok, iolist_to_binary(lists:reverse(Acc))};
        {ok, Data} -> read_all(Drv, Pipeline, FD, [Data | Acc]);
        Error -> Error
    end.

to_binary(Name) when is_binary(Name) -> Name;
to_binary(Name) -> unicode:characters_to_binary(Name).
