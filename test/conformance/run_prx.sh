#!/bin/sh
# Run prx's own Common Test suite against alcove_proc: the suite is copied
# with `prx:` renamed to `alcove_proc:`, `prx_drv:progname` to
# `alcove_drv:progname` and the application `prx` to `alcove`; no prx code
# is loaded.
#
#   PRX_ORIG=/path/to/extracted/msantos-prx sh test/conformance/run_prx.sh
set -eu
cd "$(dirname "$0")/../.."
project=$(pwd)
: "${PRX_ORIG:?set PRX_ORIG to an extracted msantos/prx checkout}"
orig=$(cd "$PRX_ORIG" && pwd)
build=$project/_build/default/lib/alcove
[ -x "$build/priv/alcove" ] || { echo "$build: not built" >&2; exit 2; }
cargo build --release -q -p alcove_subreaper
subreaper=${CARGO_TARGET_DIR:-$project/target}/release/alcove_subreaper

work=$project/_build/conformance/prx
rm -rf "$work"
mkdir -p "$work/lib/alcove" "$work/suites" "$work/logs"
for dir in ebin priv include; do
    ln -s "$build/$dir" "$work/lib/alcove/$dir"
done
sed -e 's/prx_drv:progname/alcove_drv:progname/g' \
    -e 's/\bprx:/alcove_proc:/g' \
    -e 's/application:set_env(prx,/application:set_env(alcove,/g' \
    "$orig/test/prx_SUITE.erl" >"$work/suites/prx_SUITE.erl"
status=0
(cd "$work/suites" && ERL_LIBS="$work/lib" "$subreaper" \
    ct_run -noshell -dir . -suite prx_SUITE -logdir "$work/logs" \
    -pa "$work/lib/alcove/ebin" >"$work/logs/prx_SUITE.out" 2>&1) || status=1
grep -E "TEST COMPLETE|failed on line|error_in_suite|{error,make_failed}" \
    "$work/logs/prx_SUITE.out" || tail -20 "$work/logs/prx_SUITE.out"
echo "logs: $work/logs"
exit $status
