%%% Common Test suite: the doc chunks the rebar3 build writes with edoc
%%% (native/edoc.escript, a post_hook of compile) into the application's
%%% doc/chunks, where code:get_doc/1 and the shell's h/2 find them.
-module(alcove_docs_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("stdlib/include/assert.hrl").

-export([all/0, suite/0]).
%% Each case Name/1 has a Name/0 with its doc line.
-export([
    every_module/0, every_module/1,
    execvp/0, execvp/1,
    shell_help/0, shell_help/1,
    type_docs/0, type_docs/1
]).

suite() ->
    [{timetrap, {seconds, 60}}].

all() ->
    [every_module, execvp, shell_help, type_docs].

every_module() ->
    [{doc, "Every module of the application has a chunk edoc could build"}].
every_module(_Config) ->
    ok = application:load(alcove),
    {ok, AppModules} = application:get_key(alcove, modules),
    %% A Mix build of the same profile also lists the Elixir modules, whose
    %% docs are in their .beam files, not made by edoc.
    Modules = [M || M <- AppModules, not lists:prefix("Elixir.", atom_to_list(M))],
    ?assert(length(Modules) > 5),
    [
        ?assertMatch({Module, {ok, {docs_v1, _, erlang, _, _, _, _}}}, {Module, code:get_doc(Module)})
     || Module <- Modules
    ],
    ok.

execvp() ->
    [{doc, "alcove's chunk has execvp/4 with its edoc line and spec"}].
execvp(_Config) ->
    Chunk = filename:join([code:lib_dir(alcove), "doc", "chunks", "alcove.chunk"]),
    ?assert(filelib:is_regular(Chunk)),
    {ok, {docs_v1, _, erlang, <<"application/erlang+html">>, #{<<"en">> := _}, _, Docs}} =
        code:get_doc(alcove),
    {_, _, _, #{<<"en">> := Doc}, #{signature := [_]}} =
        lists:keyfind({function, execvp, 4}, 1, Docs),
    ?assertMatch({match, _}, re:run(text(Doc), "execvp\\(3\\): Replace the process image")),
    ok.

shell_help() ->
    [{doc, "h(alcove, execvp) renders the doc, as the shell prints it"}].
shell_help(_Config) ->
    {ok, Docs} = code:get_doc(alcove),
    Text = unicode:characters_to_binary(shell_docs:render(alcove, execvp, Docs)),
    ?assertMatch({match, _}, re:run(Text, "Replace the process image, searching PATH")),
    ?assertMatch({match, _}, re:run(Text, "-spec execvp\\(")),
    ok.

type_docs() ->
    [{doc, "A type's doc comment documents that type, not its neighbour"}].
type_docs(_Config) ->
    {ok, {docs_v1, _, _, _, _, _, Docs}} = code:get_doc(alcove),
    {_, _, _, #{<<"en">> := Doc}, _} = lists:keyfind({type, caps_name, 0}, 1, Docs),
    ?assertMatch({match, _}, re:run(text(Doc), "A capability, named as in capabilities")),
    {_, _, _, FilterDoc, _} = lists:keyfind({type, filter, 0}, 1, Docs),
    ?assertEqual(#{}, FilterDoc),
    ok.

%% The text of an application/erlang+html doc.
text(Doc) when is_binary(Doc) -> Doc;
text(Doc) when is_list(Doc) -> iolist_to_binary([text(D) || D <- Doc]);
text({_Tag, _Attrs, Content}) -> text(Content).
