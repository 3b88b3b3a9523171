#!/bin/sh
# Side-by-side benchmark of this alcove against the original alcove (and, in
# `peers' mode, erlexec and a bare Erlang port), alternating builds round by
# round, each round of each build in a fresh VM (bench/alcove_cmp.erl).
#
#   ALCOVE_ORIG=/path/to/msantos-alcove sh bench/compare.sh [compare|peers]
#   ERLEXEC=/path/to/built/erlexec      (peers: adds erlexec)
#   ALCOVE_BENCH_ROUNDS=N               (rounds, default 5)
#   ALCOVE_BENCH_MEMORY=0               (compare: skip the memory figures)
#
# Round r runs the targets in order on odd rounds and in reverse order on
# even rounds, so that a drift of the machine's load hits every build alike.
# Raw figures go to _build/bench/MODE-TIMESTAMP.terms; the summary (minimum,
# median and the ratio of medians per figure) is printed at the end.
set -eu
cd "$(dirname "$0")/.."
out=$(pwd)/_build/bench
mkdir -p "$out"
mode=${1:-compare}
rounds=${ALCOVE_BENCH_ROUNDS:-5}
: "${ALCOVE_ORIG:?set ALCOVE_ORIG to a built msantos/alcove checkout}"
orig=$(cd "$ALCOVE_ORIG" && pwd)
ours_ebin=$(pwd)/_build/default/lib/alcove/ebin
orig_ebin=$orig/_build/default/lib/alcove/ebin
[ -f "$ours_ebin/alcove.beam" ] && [ -x priv/alcove ] || { echo "bench: run 'rebar3 compile' first" >&2; exit 2; }
[ -f "$orig_ebin/alcove.beam" ] && [ -x "$orig_ebin/../priv/alcove" ] ||
    { echo "bench: build the original first (cd $orig && PROJECT=alcove rebar3 compile)" >&2; exit 2; }
# The machine's floor for each figure (bench/floor.c, C with no Erlang),
# as a target of its own in every round.
floor=floor
cc -O2 -Wall -pthread -o "$out/floor" bench/floor.c 2>/dev/null ||
    { echo "bench: no C compiler: the floor is left out" >&2; floor=; }
case $mode in
compare)
    targets="ours original $floor" ;;
peers)
    targets="ours original port $floor"
    if [ -n "${ERLEXEC:-}" ]; then
        erlexec=$(cd "$ERLEXEC" && pwd)
        [ -f "$erlexec/ebin/exec.beam" ] || { echo "bench: $erlexec/ebin/exec.beam missing (see bench/README.md)" >&2; exit 2; }
        targets="$targets erlexec"
    else
        echo "bench: ERLEXEC not set: erlexec left out" >&2
    fi ;;
*) echo "usage: compare.sh compare|peers" >&2; exit 2 ;;
esac
erlc +debug_info -o "$out" bench/alcove_cmp.erl
res=$out/$mode-$(date -u +%Y%m%dT%H%M%SZ).terms
: >"$res"

ebin_of() {
    case $1 in
    ours) echo "$ours_ebin" ;;
    original) echo "$orig_ebin" ;;
    erlexec) echo "$erlexec/ebin" ;;
    port) echo "$out" ;;
    esac
}
run_one() { # target mode round
    if [ "$1" = floor ]; then
        case $2 in compare) "$out/floor" terms "$3" "$res" ;; *) "$out/floor" "$2" "$3" "$res" ;; esac
    else
        erl -noshell -pa "$(ebin_of "$1")" -pa "$out" -run alcove_cmp main "$1" "$2" "$3" "$res"
    fi
}
reverse() { r=; for t in $1; do r="$t $r"; done; echo $r; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r), OTP $(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ "$r" -le "$rounds" ]; do
    if [ $((r % 2)) -eq 1 ]; then order=$targets; else order=$(reverse "$targets"); fi
    echo "== round $r/$rounds: $order (load $(cut -d' ' -f1 /proc/loadavg))"
    for t in $order; do run_one "$t" "$mode" "$r"; done
    r=$((r + 1))
done
if [ "$mode" = compare ] && [ "${ALCOVE_BENCH_MEMORY:-1}" != 0 ]; then
    echo "== memory (once per build)"
    for t in ours original; do run_one "$t" memory 1; done
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "raw figures: $res"
echo
erl -noshell -pa "$out" -run alcove_cmp main report "$mode" "$res"
