#!/bin/sh
# make fuzz: run every cargo-fuzz target for FUZZ_SECONDS (default 60)
# each, then print executions and crashes per target. Exits non-zero when
# a target crashed (or could not be built or run).
#
# Stable toolchain: RUSTC_BOOTSTRAP=1 lets it take cargo-fuzz's -Z flags.
# cargo-fuzz is installed with `cargo install` when missing.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
logs="$root/target/fuzz-logs"
mkdir -p "$logs"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 1
fi

# crate directory and target, one per line
targets="native/alcove_proto/fuzz decode_value
native/alcove_proto/fuzz frame_decode
native/alcove_proto/fuzz frame_reader
native/alcove_helper/fuzz args
native/alcove_helper/fuzz cstruct"

artifacts() {
    ls "$1" 2>/dev/null | grep -E '^(crash|leak|oom|timeout)-' | sort
}

summary=""
failed=0
echo "$targets" | {
while read -r dir target; do
    echo "== $target ($dir, ${seconds} s)"
    cd "$root/$dir" || exit 1
    if ! cargo fuzz build "$target" </dev/null >"$logs/$target.build.log" 2>&1; then
        tail -20 "$logs/$target.build.log"
        summary="$summary
$target: build failed (see $logs/$target.build.log)"
        failed=1
        continue
    fi
    mkdir -p "corpus/$target" "artifacts/$target"
    artifacts "artifacts/$target" >"$logs/$target.before"
    set -- "corpus/$target"
    [ -d "seeds/$target" ] && set -- "$@" "seeds/$target"
    cargo fuzz run "$target" "$@" -- -max_total_time="$seconds" -print_final_stats=1 \
        </dev/null >"$logs/$target.log" 2>&1
    status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -1)
    if [ -z "$execs" ]; then
        # No final stats (killed): the last status line's count.
        execs=$(grep -oE '^#[0-9]+' "$logs/$target.log" | tail -1 | tr -d '#')
    fi
    new=$(artifacts "artifacts/$target" | grep -vxF -f "$logs/$target.before" || true)
    crashes=$(printf '%s' "$new" | grep -c . || true)
    if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        grep -E 'ERROR|panicked|SUMMARY' "$logs/$target.log" | head -5
        line="$target: execs ${execs:-?}, run failed with status $status (see $logs/$target.log)"
        failed=1
    else
        line="$target: execs ${execs:-?}, crashes $crashes"
        if [ "$crashes" -gt 0 ]; then
            grep -E 'panicked|ERROR: AddressSanitizer|ERROR: libFuzzer' "$logs/$target.log" | head -3
            for a in $new; do line="$line
    $dir/artifacts/$target/$a"; done
            failed=1
        fi
    fi
    echo "$line"
    summary="$summary
$line"
done
echo
echo "== fuzz summary (${seconds} s per target; logs in $logs)"
printf '%s\n' "$summary" | sed '/^$/d'
exit $failed
}
