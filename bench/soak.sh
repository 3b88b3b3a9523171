#!/bin/sh
# Run the soak test: sh bench/soak.sh (SOAK_SECONDS, SOAK_PROCS).
# Needs `rebar3 compile` to have built _build/default/lib/alcove (and priv/).
set -e
cd "$(dirname "$0")/.."
ebin=_build/default/lib/alcove/ebin
if [ ! -f "$ebin/alcove.beam" ] || [ ! -f priv/alcove_nif.so ] || [ ! -x priv/alcove ]; then
    echo "soak: run 'rebar3 compile' first" >&2
    exit 1
fi
out=_build/soak
mkdir -p "$out"
erlc +debug_info -o "$out" bench/alcove_soak.erl
exec erl -noshell +P 1048576 -pa "$ebin" -pa "$out" -run alcove_soak main
