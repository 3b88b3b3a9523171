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
-module(alcove_cgroup).

-export([supported/2]).
-export([create/2, create/3, destroy/2, destroy/3]).
-export([cgroup/1, cgroup/2, fold/5, fold/6, fold_files/6, fold_files/7]).
-export([get/5, set/6]).
-export([is_file/3, is_dir/3]).
-export([mounts/1, mounts/2]).
-export([join/2, relpath/1, expand/1]).

-type pipeline() :: [alcove:pid_t()].
-type mount_entry() :: tuple().
-type fold_fun() :: fun((binary(), term()) -> term()).

-export_type([mount_entry/0]).

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
