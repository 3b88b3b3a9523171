#!/bin/sh
# Run the alcove benchmarks: sh bench/run.sh [quick]
# Needs `rebar3 compile` to have built _build/default/lib/alcove (and priv/).
# ALCOVE_BENCH_RUNS=N changes the number of runs each median is taken over.
set -e
cd "$(dirname "$0")/.."
ebin=_build/default/lib/alcove/ebin
if [ ! -f "$ebin/alcove.beam" ] || [ ! -f priv/alcove_nif.so ] || [ ! -x priv/alcove ]; then
    echo "bench: run 'rebar3 compile' first" >&2
    exit 1
fi
out=_build/bench
mkdir -p "$out"
erlc +debug_info -o "$out" bench/alcove_bench.erl
exec erl -noshell -pa "$ebin" -pa "$out" -run alcove_bench main "$@"
