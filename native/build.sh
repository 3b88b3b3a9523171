#!/bin/sh
# Build the helper and the NIF with cargo and install them in priv/.
# Called by rebar3 (pre_hooks) and by the Mix compiler task.
set -e
cd "$(dirname "$0")/.."

# The Rust this build needs: the workspace's rust-version (Cargo.toml).
need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml)
rustup_hint="install Rust with rustup (https://rustup.rs: curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh, then open a new shell) or run 'rustup update'; Debian 12's own cargo (1.65) is too old"

cargo=$(command -v cargo || true)
if [ -z "$cargo" ]; then
    echo "alcove needs cargo >= $need (Rust) to build its native code, found no cargo in PATH; $rustup_hint" >&2
    exit 1
fi
if ! version_line=$(cargo --version 2>&1); then
    echo "alcove needs cargo >= $need (Rust), but '$cargo --version' failed: $version_line; $rustup_hint" >&2
    exit 1
fi
# "cargo 1.95.0 (f2d3ce0bd 2026-03-21)", "cargo 1.96.0-nightly (...)"
found=$(echo "$version_line" | sed -n 's/^cargo \([0-9][0-9]*\.[0-9][0-9]*[.0-9]*\).*/\1/p')
older() { # is version $1 older than $2? (major.minor)
    a_major=${1%%.*} a_rest=${1#*.}
    b_major=${2%%.*} b_rest=${2#*.}
    a_minor=${a_rest%%.*} b_minor=${b_rest%%.*}
    [ "$a_major" -lt "$b_major" ] || { [ "$a_major" -eq "$b_major" ] && [ "$a_minor" -lt "$b_minor" ]; }
}
if [ -z "$found" ] || older "$found" "$need"; then
    echo "alcove needs cargo >= $need (Rust), found ${found:-"'$version_line'"} at $cargo; $rustup_hint" >&2
    exit 1
fi

# Offline when every crate is already in cargo's cache (no index update,
# works without a network); otherwise cargo downloads what is missing.
# Only this machine's target counts (not the Windows crates in the lock).
offline=
host=$(rustc -vV 2>/dev/null | sed -n 's/^host: //p')
if cargo fetch --offline ${host:+--target "$host"} >/dev/null 2>&1; then
    offline=--offline
fi
echo "alcove: building the native code with cargo $found (release; the first build takes a minute or two)..."
target="${CARGO_TARGET_DIR:-target}"
# The helper is linked statically where the C library's static archive is
# installed (Debian: libc6-dev, which any C linker needs): a static helper
# has half the memory mappings, so each fork copies and each exit tears
# down less, and no dynamic loader runs in a setuid helper.
# ALCOVE_STATIC_HELPER=0 links it dynamically.
static=
if [ -n "$host" ] && [ "${ALCOVE_STATIC_HELPER:-1}" != 0 ]; then
    libc_a=$(cc -print-file-name=libc.a 2>/dev/null || true)
    case "$libc_a" in
    /*) [ -f "$libc_a" ] && static=yes ;;
    esac
fi
if [ -n "$static" ]; then
    cargo build --release $offline -p alcove_nif
    RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static" \
        cargo build --release $offline -p alcove_helper --target "$host"
    helper="$target/$host/release/alcove"
else
    cargo build --release $offline -p alcove_helper -p alcove_nif
    helper="$target/release/alcove"
fi
mkdir -p priv
install -m 0755 "$helper" "priv/alcove.tmp.$$" && mv -f "priv/alcove.tmp.$$" priv/alcove
install -m 0644 "$target/release/libalcove_nif.so" "priv/alcove_nif.so.tmp.$$" && mv -f "priv/alcove_nif.so.tmp.$$" priv/alcove_nif.so
echo "alcove: installed priv/alcove${static:+ (statically linked)} and priv/alcove_nif.so"
