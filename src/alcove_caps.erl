%%% @doc Capability recipes built on the `caps_*' calls (capabilities(7)):
%%% keep only some capabilities in every set, and raise one into the
%%% ambient set so that it survives exec into a non-root program.
-module(alcove_caps).

-export([keep/3, ambient/3]).

%% @doc capabilities(7): leave only `Caps' in the process's bounding,
%% ambient, inheritable, permitted and effective sets (each keeps those of
%% `Caps' it holds; none gains any). The bounding set goes first, while
%% the process may still have `cap_setpcap'. Unknown names are reported as
%% `{error, {unknown_caps, Names}}' before anything changes; on another
%% error the sets dropped so far stay dropped.
-spec keep(alcove_drv:ref(), alcove:pipeline(), [alcove:caps_name()]) ->
    ok | {error, alcove:posix() | {unknown_caps, [atom()]}}.
keep(Drv, Pipeline, Caps) ->
    case [Name || Name <- Caps, not is_atom(Name)] of
        [] -> ok;
        _ -> erlang:error(badarg, [Drv, Pipeline, Caps])
    end,
    Supported = alcove:caps_supported(Drv, Pipeline),
    case [Name || Name <- Caps, not lists:member(Name, Supported)] of
        [] ->
            Drop = Supported -- Caps,
            each([bounding, ambient, inheritable, permitted, effective],
                 fun(Set) -> alcove:caps_drop(Drv, Pipeline, Set, Drop) end);
        Unknown ->
            {error, {unknown_caps, Unknown}}
    end.

%% @doc capabilities(7): raise `Caps' in the inheritable, effective and
%% ambient sets, in that order (the kernel raises an ambient capability
%% only if it is permitted and inheritable). A program the process execs
%% afterwards, not set-user-ID and without file capabilities, runs with
%% them effective whatever its uid. Typical use, in a root child: prctl
%% `pr_set_keepcaps', setresgid/setresuid to the unprivileged ids, then
%% this, then exec.
-spec ambient(alcove_drv:ref(), alcove:pipeline(), [alcove:caps_name()]) ->
    ok | {error, alcove:posix() | {unknown_caps, [atom()]}}.
ambient(Drv, Pipeline, Caps) ->
    each([inheritable, effective, ambient],
         fun(Set) -> alcove:caps_raise(Drv, Pipeline, Set, Caps) end).

each([], _Fun) ->
    ok;
each([Set | Sets], Fun) ->
    case Fun(Set) of
        ok -> each(Sets, Fun);
        Error -> Error
    end.
