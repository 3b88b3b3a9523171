#!/bin/sh
# native/build.sh's check of the Rust toolchain, run on a copy of the
# script (so nothing is installed into this checkout's priv/) with a PATH
# whose cargo is missing, a fake printing an old or a new version, or
# broken; how it links the helper (static or not); and that the helper
# the real build installed is static where it can be. Run by `make test`
# (make test-build-script).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
need=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' "$root/Cargo.toml")
failures=0
tests=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# A scratch project: the script, the workspace manifest and a PATH holding
# only what the script runs besides cargo.
setup() {
    rm -rf "$tmp/project" "$tmp/bin"
    mkdir -p "$tmp/project/native" "$tmp/bin"
    cp "$root/native/build.sh" "$tmp/project/native/build.sh"
    cp "$root/Cargo.toml" "$tmp/project/Cargo.toml"
    for tool in sh sed dirname mkdir install mv; do
        ln -s "$(command -v "$tool")" "$tmp/bin/$tool"
    done
    : >"$tmp/cargo.log"
}

# fake_cargo VERSION_OUTPUT [STATUS]: a cargo that logs its arguments,
# answers --version and, for build, writes what cargo would.
fake_cargo() {
    cat >"$tmp/bin/cargo" <<EOF
#!/bin/sh
echo "\$*" >>"$tmp/cargo.log"
case "\$1" in
--version) echo "$1"; exit ${2:-0} ;;
fetch) exit 0 ;;
build)
    echo "RUSTFLAGS=\${RUSTFLAGS:-}" >>"$tmp/cargo.log"
    dir="\${CARGO_TARGET_DIR:-target}/release"
    helper=dynamic
    while [ \$# -gt 0 ]; do
        [ "\$1" = --target ] && dir="\${CARGO_TARGET_DIR:-target}/\$2/release" && helper="static for \$2"
        shift
    done
    mkdir -p "\$dir" "\${CARGO_TARGET_DIR:-target}/release"
    echo "helper \$helper" >"\$dir/alcove"
    echo nif >"\${CARGO_TARGET_DIR:-target}/release/libalcove_nif.so"
    echo "   Compiling alcove_helper (fake)" >&2
    exit 0 ;;
esac
exit 3
EOF
    chmod +x "$tmp/bin/cargo"
}

# run_build: the script's combined output in $out, its status in $status.
run_build() {
    tests=$((tests + 1))
    out=$(cd "$tmp" && env -i PATH="$tmp/bin" HOME="$tmp" sh "$tmp/project/native/build.sh" 2>&1)
    status=$?
}

expect_refused() {
    name=$1
    shift
    if [ "$status" -eq 0 ]; then
        fail "$name: exit status 0, expected non-zero; output: $out"
    fi
    for text in "$@"; do
        case "$out" in
        *"$text"*) ;;
        *) fail "$name: output lacks '$text': $out" ;;
        esac
    done
    if grep -q '^build' "$tmp/cargo.log"; then
        fail "$name: cargo build ran"
    fi
    if [ -e "$tmp/project/priv" ]; then
        fail "$name: priv/ was written"
    fi
}

[ -n "$need" ] || fail "no rust-version in Cargo.toml"

# No cargo at all.
setup
run_build
expect_refused "no cargo" "alcove needs cargo >= $need (Rust)" "found no cargo in PATH" "rustup"

# Debian 12's cargo.
setup
fake_cargo "cargo 1.65.0"
run_build
expect_refused "cargo 1.65" "alcove needs cargo >= $need (Rust), found 1.65.0 at $tmp/bin/cargo" "rustup"

# A minor version that compares below as a number but not as a string.
need_major=${need%%.*}
setup
fake_cargo "cargo $need_major.9.0 (0a0b0c0d 2020-01-01)"
run_build
expect_refused "cargo $need_major.9" "found $need_major.9.0 at $tmp/bin/cargo"

# A cargo that cannot say its version (rustup without a toolchain).
setup
fake_cargo "error: rustup could not choose a version of cargo to run" 1
run_build
expect_refused "broken cargo" "alcove needs cargo >= $need (Rust)" "rustup could not choose a version"

# New enough: the build runs, says so, and installs both files.
for version in "cargo $need.0 (f2d3ce0bd 2026-03-21)" "cargo $need_major.100.0-nightly (abc 2030-01-01)" "cargo $((need_major + 1)).0.0"; do
    setup
    fake_cargo "$version"
    run_build
    if [ "$status" -ne 0 ]; then
        fail "$version: exit status $status; output: $out"
    fi
    case "$out" in
    *"alcove: building the native code with cargo"*"Compiling alcove_helper (fake)"*) ;;
    *) fail "$version: no progress lines: $out" ;;
    esac
    grep -q '^build --release' "$tmp/cargo.log" || fail "$version: cargo build --release did not run"
    [ "$(cat "$tmp/project/priv/alcove" 2>/dev/null)" = "helper dynamic" ] || fail "$version: priv/alcove not installed"
    [ "$(cat "$tmp/project/priv/alcove_nif.so" 2>/dev/null)" = nif ] || fail "$version: priv/alcove_nif.so not installed"
done

# fake_toolchain LIBC_A: a rustc naming its host and a cc that prints
# LIBC_A for -print-file-name=libc.a (as gcc does: the bare name when the
# archive is not installed).
fake_toolchain() {
    printf '#!/bin/sh\necho "rustc 1.95.0"\necho "host: x86_64-unknown-linux-gnu"\n' >"$tmp/bin/rustc"
    printf '#!/bin/sh\necho "%s"\n' "$1" >"$tmp/bin/cc"
    chmod +x "$tmp/bin/rustc" "$tmp/bin/cc"
}

# The C library's static archive is there: the helper is built on its own,
# for the host target, with crt-static, and that binary is installed.
setup
fake_cargo "cargo $need.0"
: >"$tmp/libc.a"
fake_toolchain "$tmp/libc.a"
run_build
[ "$status" -eq 0 ] || fail "static: exit status $status; output: $out"
[ "$(cat "$tmp/project/priv/alcove" 2>/dev/null)" = "helper static for x86_64-unknown-linux-gnu" ] ||
    fail "static: the static helper was not installed: $(cat "$tmp/project/priv/alcove" 2>/dev/null)"
grep -q -- '-p alcove_helper --target x86_64-unknown-linux-gnu' "$tmp/cargo.log" || fail "static: no helper build for the host target: $(cat "$tmp/cargo.log")"
grep -q -- 'RUSTFLAGS=-C target-feature=+crt-static' "$tmp/cargo.log" || fail "static: no crt-static: $(cat "$tmp/cargo.log")"
[ "$(cat "$tmp/project/priv/alcove_nif.so" 2>/dev/null)" = nif ] || fail "static: priv/alcove_nif.so not installed"
case "$out" in
*"installed priv/alcove (statically linked)"*) ;;
*) fail "static: the output does not say so: $out" ;;
esac

# No static archive, or the switch off: the helper is linked dynamically.
for case in missing off; do
    setup
    fake_cargo "cargo $need.0"
    if [ "$case" = missing ]; then
        fake_toolchain "libc.a"
        run_build
    else
        : >"$tmp/libc.a"
        fake_toolchain "$tmp/libc.a"
        tests=$((tests + 1))
        out=$(cd "$tmp" && env -i PATH="$tmp/bin" HOME="$tmp" ALCOVE_STATIC_HELPER=0 sh "$tmp/project/native/build.sh" 2>&1)
        status=$?
    fi
    [ "$status" -eq 0 ] || fail "dynamic ($case): exit status $status; output: $out"
    [ "$(cat "$tmp/project/priv/alcove" 2>/dev/null)" = "helper dynamic" ] ||
        fail "dynamic ($case): $(cat "$tmp/project/priv/alcove" 2>/dev/null)"
    if grep -q -- 'crt-static' "$tmp/cargo.log"; then
        fail "dynamic ($case): crt-static was asked for: $(cat "$tmp/cargo.log")"
    fi
done

# The helper this checkout's build installed: statically linked (no
# program interpreter) where the C library's static archive is there,
# unless the build was asked for a dynamic one.
libc_a=$(cc -print-file-name=libc.a 2>/dev/null || true)
if [ -x "$root/priv/alcove" ] && [ -f "$libc_a" ] && [ "${ALCOVE_STATIC_HELPER:-1}" != 0 ] &&
    command -v readelf >/dev/null 2>&1; then
    tests=$((tests + 1))
    if readelf -l "$root/priv/alcove" | grep -q INTERP; then
        fail "priv/alcove is dynamically linked although $libc_a is installed"
    fi
fi

if [ "$failures" -ne 0 ]; then
    echo "build_sh_test: $failures failed checks in $tests cases"
    exit 1
fi
echo "build_sh_test: $tests cases passed"
