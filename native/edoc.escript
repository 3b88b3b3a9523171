#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noinput
%%
%% The Erlang modules' documentation, built with edoc from the comments in
%% src/ (run from the project's root directory):
%%
%%   escript native/edoc.escript chunks [APP_DIR]
%%       EEP-48 doc chunks in APP_DIR/doc/chunks/MODULE.chunk, where
%%       code:get_doc/1 (and so h(alcove, execvp) in the shell) looks for
%%       them: APP_DIR is the directory holding the ebin/ the build wrote.
%%       Without APP_DIR, it is found from the variables rebar3 gives its
%%       hooks. Only modules whose chunk is older than their source (or an
%%       include file, or this script) are built again. A module edoc cannot
%%       read is reported and left without a chunk: documentation never
%%       fails a build, the project's own tests check that every module has
%%       one. --strict makes any failure an error (exit status 1).
%%
%%   escript native/edoc.escript html [DIR]
%%       The HTML documentation (edoc's own layout) in DIR (default doc/).
%%
%% Called by rebar3 (post_hooks in rebar.config), by the Mix compiler task
%% Mix.Tasks.Compile.AlcoveDocs and by `make docs'.
-mode(compile).

main(["chunks" | Args]) ->
    {Strict, Rest} = strict(Args),
    AppDir =
        case Rest of
            [Dir] -> Dir;
            [] -> rebar_app_dir()
        end,
    chunks(AppDir, Strict);
main(["html"]) ->
    html("doc");
main(["html", Dir]) ->
    html(Dir);
main(_) ->
    io:format(standard_error, "usage: escript native/edoc.escript chunks [--strict] [APP_DIR] | html [DIR]~n", []),
    halt(2).

strict(Args) ->
    {lists:member("--strict", Args), Args -- ["--strict"]}.

%% rebar3 runs the hook in the application's source directory. A checkout
%% dependency (REBAR_CHECKOUTS_DIR/alcove, often a symbolic link) is built
%% into REBAR_CHECKOUTS_OUT_DIR, anything else (the project itself, a
%% dependency fetched into _build/PROFILE/lib) into REBAR_DEPS_DIR.
rebar_app_dir() ->
    %% The source directory may have any name; the output's is the app's.
    App = "alcove",
    Checkouts = os:getenv("REBAR_CHECKOUTS_DIR"),
    CheckoutsOut = os:getenv("REBAR_CHECKOUTS_OUT_DIR"),
    Deps = os:getenv("REBAR_DEPS_DIR"),
    IsCheckout = is_list(Checkouts) andalso filelib:is_dir(filename:join(Checkouts, App)),
    if
        IsCheckout, is_list(CheckoutsOut) -> filename:join(CheckoutsOut, App);
        is_list(Deps) -> filename:join(Deps, App);
        true -> no_app_dir()
    end.

no_app_dir() ->
    io:format(standard_error, "alcove: no APP_DIR given and not run by rebar3 (REBAR_DEPS_DIR is unset)~n", []),
    halt(2).

chunks(AppDir, Strict) ->
    OutDir = filename:join([AppDir, "doc", "chunks"]),
    case code:which(edoc) of
        non_existing ->
            io:format(
                "alcove: edoc is not installed (Debian: apt-get install erlang-edoc): no doc chunks, "
                "h(alcove, ...) will not find the documentation~n"
            ),
            halt(exit_status(Strict));
        _ ->
            ok
    end,
    Sources = lists:sort(filelib:wildcard("src/*.erl")),
    Newest = lists:max([mtime(F) || F <- [escript:script_name() | filelib:wildcard("include/*.hrl")]]),
    Stale = [F || F <- Sources, stale(F, OutDir, Newest)],
    case Stale of
        [] ->
            halt(0);
        _ ->
            io:format("alcove: doc chunks (edoc) for ~b of ~b modules in ~ts~n", [
                length(Stale), length(Sources), OutDir
            ])
    end,
    ok = filelib:ensure_dir(filename:join(OutDir, "x")),
    Results = [chunk(F, OutDir, I, length(Stale)) || {I, F} <- lists:zip(lists:seq(1, length(Stale)), Stale)],
    case [F || {error, F} <- Results] of
        [] ->
            halt(0);
        Failed ->
            io:format("alcove: no doc chunk for ~ts~n", [lists:join(", ", Failed)]),
            halt(exit_status(Strict))
    end.

exit_status(true) -> 1;
exit_status(false) -> 0.

stale(Source, OutDir, Newest) ->
    Chunk = filename:join(OutDir, filename:basename(Source, ".erl") ++ ".chunk"),
    Built = mtime(Chunk),
    Built =:= 0 orelse Built < mtime(Source) orelse Built < Newest.

mtime(File) ->
    case file:read_file_info(File, [{time, posix}]) of
        {ok, Info} -> element(6, Info);
        {error, _} -> 0
    end.

chunk(Source, OutDir, I, N) ->
    Module = filename:basename(Source, ".erl"),
    T0 = erlang:monotonic_time(millisecond),
    io:format("alcove:   [~b/~b] ~ts", [I, N, Module]),
    %% The chunk doclet writes into DIR/chunks.
    Options = [
        {doclet, edoc_doclet_chunks},
        {layout, edoc_layout_chunks},
        {dir, filename:dirname(OutDir)},
        {preprocess, true},
        {includes, ["include"]}
    ],
    try edoc:files([Source], Options) of
        ok ->
            io:format(" (~.1f s)~n", [(erlang:monotonic_time(millisecond) - T0) / 1000]),
            ok
    catch
        Class:Reason ->
            io:format(" failed: ~p:~0p~n", [Class, Reason]),
            {error, Source}
    end.

html(Dir) ->
    io:format("alcove: HTML documentation (edoc) in ~ts/~n", [Dir]),
    Options = [{dir, Dir}, {preprocess, true}, {includes, ["include"]}],
    try edoc:application(alcove, ".", Options) of
        ok ->
            io:format("alcove: open ~ts/index.html~n", [Dir]),
            halt(0)
    catch
        Class:Reason ->
            io:format(standard_error, "alcove: edoc failed: ~p:~0p~n", [Class, Reason]),
            halt(1)
    end.
