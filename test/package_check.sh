#!/usr/bin/env bash
# make package-check: the package holds what a consumer's build needs.
#
# Copies exactly the files the package lists (mix.exs's package files, the
# one list; src/alcove.app.src must repeat it) into an empty directory, then
# uses that directory as a dependency of a fresh `mix new` project
# ({:alcove, path: DIR}) and of a fresh `rebar3 new app` project
# (_checkouts/alcove, a symbolic link to DIR), offline (no hex). In each it
# builds, starts a driver, checks that alcove:getpid(Drv, []) is the pid of
# the helper the dependency's build made (/proc), and that code:get_doc/1
# finds the doc chunks the dependency's build wrote. Any failure, a file
# the build needs but the list lacks included, exits non-zero.
#
# PACKAGE_CHECK_OMIT="path ..." leaves listed paths out, to see it fail.
# cargo builds into _build/package-check/target, kept between runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { echo "package-check: $*"; }
die() {
    echo "package-check: FAILED: $*" >&2
    exit 1
}

work=$(mktemp -d "${TMPDIR:-/tmp}/alcove-package-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
export HEX_OFFLINE=1 REBAR_OFFLINE=1 MIX_ENV=dev
export CARGO_TARGET_DIR="$root/_build/package-check/target"
started=$(date +%s)

# The list, from mix.exs, and the same from alcove.app.src.
files=$(mix run --no-compile --no-deps-check --no-start -e \
    'Mix.Project.config()[:package][:files] |> Enum.each(&IO.puts/1)')
[ -n "$files" ] || die "mix.exs lists no package files"
app_files=$(erl -noshell -eval '
    {ok, [{application, alcove, Props}]} = file:consult("src/alcove.app.src"),
    [io:format("~ts~n", [F]) || F <- proplists:get_value(files, Props, [])],
    halt().')
if [ "$files" != "$app_files" ]; then
    diff <(echo "$files") <(echo "$app_files") >&2 || true
    die "the files of mix.exs (<) and src/alcove.app.src (>) differ"
fi

# Nothing to fetch: no dependency in mix.exs nor in rebar.config.
mix_deps=$(mix run --no-compile --no-deps-check --no-start -e 'IO.inspect(Mix.Project.config()[:deps])')
[ "$mix_deps" = "[]" ] || die "mix.exs has dependencies: $mix_deps"
rebar_deps=$(erl -noshell -eval '
    {ok, Terms} = file:consult("rebar.config"),
    io:format("~0p~n", [proplists:get_value(deps, Terms, [])]),
    halt().')
[ "$rebar_deps" = "[]" ] || die "rebar.config has dependencies: $rebar_deps"

# The package: the listed files as they are on disk, minus what git
# ignores (build output such as priv/).
pkg="$work/alcove"
mkdir -p "$pkg"
omit=" ${PACKAGE_CHECK_OMIT:-} "
count=0
for entry in $files; do
    case "$omit" in *" $entry "*)
        say "leaving out $entry (PACKAGE_CHECK_OMIT)"
        continue
        ;;
    esac
    found=$(git ls-files --cached --others --exclude-standard -- "$entry")
    [ -n "$found" ] || die "listed but not in the project: $entry"
    while IFS= read -r file; do
        [ -f "$file" ] || continue # deleted but not yet committed
        mkdir -p "$pkg/$(dirname "$file")"
        cp -p "$file" "$pkg/$file"
        count=$((count + 1))
    done <<<"$found"
done
say "$count files in $pkg"

# One check, run in each consumer's VM with alcove on its code path.
mkdir -p "$work/checker"
cat >"$work/checker/package_check.erl" <<'EOF'
-module(package_check).
-export([main/1]).

main(Tool) ->
    try check() of
        ok ->
            io:format("package-check: ~s consumer: getpid and docs ok~n", [Tool]),
            halt(0)
    catch
        Class:Reason:Stack ->
            io:format("package-check: FAILED: ~s consumer: ~p:~p~n~p~n", [Tool, Class, Reason, Stack]),
            halt(1)
    end.

check() ->
    {ok, Cwd} = file:get_cwd(),
    LibDir = code:lib_dir(alcove),
    %% alcove as the consumer built it, not some other copy.
    true = lists:prefix(filename:join(Cwd, "_build"), LibDir) orelse error({not_built_here, LibDir}),
    {ok, Drv} = alcove_drv:start_link(),
    Pid = alcove:getpid(Drv, []),
    Proc = "/proc/" ++ integer_to_list(Pid),
    {ok, Exe} = file:read_link(Proc ++ "/exe"),
    Helper = realpath(filename:join(code:priv_dir(alcove), "alcove")),
    Exe =:= Helper orelse error({helper, Exe, Helper}),
    {ok, Status} = file:read_file(Proc ++ "/status"),
    {match, [PPid]} = re:run(Status, "\nPPid:\\s*(\\d+)", [{capture, all_but_first, list}]),
    PPid =:= os:getpid() orelse error({parent, PPid, os:getpid()}),
    ok = alcove_drv:stop(Drv),
    true = filelib:is_regular(filename:join([LibDir, "doc", "chunks", "alcove.chunk"])),
    {ok, {docs_v1, _, erlang, _, _, _, Docs} = DocsV1} = code:get_doc(alcove),
    {_, _, _, #{<<"en">> := _}, _} = lists:keyfind({function, execvp, 4}, 1, Docs),
    %% What h(alcove, execvp) prints.
    Text = unicode:characters_to_binary(shell_docs:render(alcove, execvp, DocsV1)),
    {match, _} = re:run(Text, "execvp\\(3\\): Replace the process image"),
    ok.

realpath(Path) ->
    string:trim(os:cmd("readlink -f '" ++ Path ++ "'")).
EOF
erlc -o "$work/checker" "$work/checker/package_check.erl"

# A Mix project with {:alcove, path: DIR}.
say "mix: a new project using $pkg"
(cd "$work" && mix new consumer_mix >/dev/null)
sed -i "s|# {:dep_from_hexpm, \"~> 0.3.0\"},|{:alcove, path: \"$pkg\"},|" "$work/consumer_mix/mix.exs"
grep -q "{:alcove, path: \"$pkg\"}" "$work/consumer_mix/mix.exs" || die "could not add alcove to the mix project's deps"
(
    # set -e does not apply on the left of ||: every step is chained.
    cd "$work/consumer_mix" &&
        mix compile &&
        mix run --no-compile --no-start -e "Code.prepend_path(\"$work/checker\"); :package_check.main(\"mix\")"
) || die "the Mix project (its output is above)"

# A rebar3 project with _checkouts/alcove.
say "rebar3: a new project using $pkg as _checkouts/alcove"
(cd "$work" && rebar3 new app consumer_rebar >/dev/null)
sed -i 's|^{deps, \[\]}\.|{deps, [alcove]}.|' "$work/consumer_rebar/rebar.config"
grep -q '^{deps, \[alcove\]}\.' "$work/consumer_rebar/rebar.config" || die "could not add alcove to the rebar3 project's deps"
mkdir -p "$work/consumer_rebar/_checkouts"
ln -s "$pkg" "$work/consumer_rebar/_checkouts/alcove"
(
    cd "$work/consumer_rebar" &&
        rebar3 compile &&
        ebin=$(rebar3 path --ebin --app alcove) &&
        [ -d "$ebin" ] &&
        erl -noshell -pa "$ebin" -pa "$work/checker" -eval 'package_check:main("rebar3")'
) || die "the rebar3 project (its output is above)"

say "passed in $(($(date +%s) - started)) s"
