#!/bin/sh
# Build the helper and the NIF with cargo and install them in priv/.
# Called by rebar3 (pre_hooks) and by the Mix compiler task.
set -e
cd "$(dirname "$0")/.."
cargo build --release --offline -q -p alcove_helper -p alcove_nif 2>/dev/null || cargo build --release -q -p alcove_helper -p alcove_nif
mkdir -p priv
target="${CARGO_TARGET_DIR:-target}/release"
install -m 0755 "$target/alcove" "priv/alcove.tmp.$$" && mv -f "priv/alcove.tmp.$$" priv/alcove
install -m 0644 "$target/libalcove_nif.so" "priv/alcove_nif.so.tmp.$$" && mv -f "priv/alcove_nif.so.tmp.$$" priv/alcove_nif.so
