#!/bin/sh
# Run the original alcove's own Common Test suites, unmodified, against a
# build of alcove: this project's (default) or the original's own
# (CONFORMANCE_TARGET=original), for a side-by-side comparison.
#
#   ALCOVE_ORIG=/path/to/extracted/msantos-alcove sh test/conformance/run.sh
#
# The original checkout must be built (`PROJECT=alcove rebar3 compile` in it)
# for CONFORMANCE_TARGET=original. Each suite runs in its own ct_run (a suite
# that fails to compile would upset the next one's hooks), under
# alcove_subreaper so that orphans killed by a test are reaped as a normal
# init would. Prints each suite's CT summary; exits non-zero if any case
# failed. CONFORMANCE_SUITES overrides the suite list.
set -eu
cd "$(dirname "$0")/../.."
project=$(pwd)
: "${ALCOVE_ORIG:?set ALCOVE_ORIG to an extracted msantos/alcove checkout}"
orig=$(cd "$ALCOVE_ORIG" && pwd)
target=${CONFORMANCE_TARGET:-ours}
suites=${CONFORMANCE_SUITES:-alcove_SUITE alcove_seccomp_SUITE}

case $target in
ours) build=$project/_build/default/lib/alcove ;;
original) build=$orig/_build/default/lib/alcove ;;
*) echo "CONFORMANCE_TARGET is ours or original" >&2; exit 2 ;;
esac
[ -x "$build/priv/alcove" ] || { echo "$build: not built" >&2; exit 2; }
cargo build --release -q -p alcove_subreaper
subreaper=${CARGO_TARGET_DIR:-$project/target}/release/alcove_subreaper

# A lib dir holding only the alcove under test, so that
# -include_lib("alcove/include/...") in the suites resolves to its headers.
work=$project/_build/conformance/$target
rm -rf "$work"
mkdir -p "$work/lib/alcove" "$work/suites" "$work/logs"
for dir in ebin priv include; do
    ln -s "$build/$dir" "$work/lib/alcove/$dir"
done

status=0
for suite in $suites; do
    cp "$orig/test/$suite.erl" "$work/suites/"
    mkdir -p "$work/logs/$suite"
    echo "== $suite against $target"
    if ! (cd "$work/suites" && ERL_LIBS="$work/lib" "$subreaper" \
            ct_run -noshell -dir . -suite "$suite" -logdir "$work/logs/$suite" \
            -pa "$work/lib/alcove/ebin" >"$work/logs/$suite.out" 2>&1); then
        status=1
    fi
    grep -E "TEST COMPLETE|failed on line|error_in_suite|{error,make_failed}" \
        "$work/logs/$suite.out" || tail -20 "$work/logs/$suite.out"
done
echo "logs: $work/logs"
exit $status
