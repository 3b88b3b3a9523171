# Two entry points on a fresh Debian 12 machine with Rust: `make demo` and
# `make test`. Both install what is missing with apt first: the demo only
# what it runs on (DEMO_PACKAGES, without recommended packages: it is built
# with erlc, no rebar3, whose Debian package depends on the wx GUI toolkit
# through reltool and common_test), the other targets what builds, tests
# and lints (PACKAGES).

DEMO_PACKAGES := erlang-base busybox-static
PACKAGES := $(DEMO_PACKAGES) erlang-nox erlang-dev erlang-common-test erlang-proper erlang-proper-dev erlang-dialyzer erlang-edoc elixir rebar3 sudo
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EBIN := _build/default/lib/alcove/ebin
DEMO_APP := _build/demo/lib/alcove

PREFIX ?= /usr/local
GROUP ?= alcove

.PHONY: install-setuid all deps demo-deps build demo docs test test-rust test-erlang test-elixir test-build-script package-check check-gen bench bench-orig bench-compare bench-peers bench-floor gen lint clean conformance fuzz soak

all: build

# apt-get install the packages of $(1) that are not installed yet, with
# the options $(2).
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing; \
	fi
endef

deps:
	$(call apt_install,$(PACKAGES),)

demo-deps:
	$(call apt_install,$(DEMO_PACKAGES),--no-install-recommends)

build: deps
	rebar3 compile

# The examples (examples/NAME.erl), one command each: make example-chroot
example-%: build
	@mkdir -p _build/examples
	erlc -o _build/examples -I include examples/$(subst -,_,$*)_sandbox.erl
	erl -noshell -pa $(EBIN) -pa _build/examples -eval '$(subst -,_,$*)_sandbox:main()'

# The demo builds alcove with erlc into _build/demo (the NIF finds priv/
# through the priv link), then runs examples/nsdemo.erl.
demo: demo-deps
	sh native/build.sh
	@mkdir -p $(DEMO_APP)/ebin _build/examples
	@ln -sfn ../../../../priv $(DEMO_APP)/priv
	erlc +debug_info -I include -o $(DEMO_APP)/ebin src/*.erl
	erlc -o _build/examples -I include examples/nsdemo.erl
	erl -noshell -pa $(DEMO_APP)/ebin -pa _build/examples -eval 'nsdemo:main()'

# HTML documentation of the Erlang modules (edoc) in doc/. The build also
# writes their doc chunks, for h(alcove, execvp) in erl.
docs: deps
	escript native/edoc.escript html doc

test: build check-gen test-build-script test-rust test-erlang test-elixir

# native/build.sh's message when cargo is missing or too old.
test-build-script:
	sh test/build_sh_test.sh

# The package (mix.exs's files) as a dependency of fresh Mix and rebar3
# projects, offline: test/package_check.sh.
package-check: deps
	bash test/package_check.sh

check-gen:
	escript gen/gen_calls.escript check

test-rust:
	cargo test --release --workspace

test-erlang:
	rebar3 ct

test-elixir:
	MIX_ENV=test mix test

bench: build
	sh bench/run.sh

# Side by side with the original alcove (ALCOVE_ORIG: an extracted
# msantos/alcove, built here if its priv/alcove is missing), alternating
# the builds over ALCOVE_BENCH_ROUNDS rounds (default 5), each round of
# each build in a VM of its own (bench/compare.sh, bench/alcove_cmp.erl):
# per figure both minimums, both medians and the ratio of medians, then
# the memory figures. bench-peers adds a bare Erlang port and, given
# ERLEXEC (a built saleyn/erlexec: see bench/README.md), erlexec. Neither
# is part of `make test`.
ALCOVE_BENCH_ROUNDS ?= 5
bench-orig:
	@test -n "$(ALCOVE_ORIG)" || { echo "set ALCOVE_ORIG to an extracted msantos/alcove checkout" >&2; exit 2; }
	@test -x "$(ALCOVE_ORIG)/priv/alcove" || (cd "$(ALCOVE_ORIG)" && PROJECT=alcove rebar3 compile)

bench-compare: build bench-orig
	ALCOVE_ORIG="$(ALCOVE_ORIG)" ALCOVE_BENCH_ROUNDS=$(ALCOVE_BENCH_ROUNDS) sh bench/compare.sh compare

bench-peers: build bench-orig
	ALCOVE_ORIG="$(ALCOVE_ORIG)" ERLEXEC="$(ERLEXEC)" ALCOVE_BENCH_ROUNDS=$(ALCOVE_BENCH_ROUNDS) sh bench/compare.sh peers

# The machine's floor under the spawn and fork figures: a C loop with no
# Erlang and no IPC (bench/floor.c; needs a C compiler).
bench-floor:
	@mkdir -p _build/bench
	cc -O2 -Wall -pthread -o _build/bench/floor bench/floor.c
	_build/bench/floor $(FLOOR_CYCLES)

gen:
	escript gen/gen_calls.escript

# The soak test: SOAK_PROCS Erlang processes forking, exec'ing, writing
# stdin, reading stdout and killing through one driver for SOAK_SECONDS,
# then no process left and the helper's fds back (bench/alcove_soak.erl).
SOAK_SECONDS ?= 600
SOAK_PROCS ?= 200
soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_PROCS=$(SOAK_PROCS) sh bench/soak.sh

# cargo-fuzz targets (wire-format decoders, the helper's argument
# decoders), FUZZ_SECONDS each; installs cargo-fuzz if missing. See
# native/alcove_proto/fuzz/README.md. Not part of `make test`.
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh native/fuzz.sh

# The original alcove's own suites, unmodified, against this build and
# against the original side by side: ALCOVE_ORIG=/path/to/msantos-alcove
# (extracted; built here if needed), and with PRX_ORIG=/path/to/msantos-prx
# prx's suite against alcove_proc. Not part of `make test`: CI has no
# copy of the original. Needs root or sudo -n (the suites exec "sudo -n").
conformance: build
	@test -n "$(ALCOVE_ORIG)" || { echo "set ALCOVE_ORIG to an extracted msantos/alcove checkout" >&2; exit 2; }
	@for p in sudo netcat-openbsd; do dpkg -s $$p >/dev/null 2>&1 || $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$p; done
	@test -x "$(ALCOVE_ORIG)/priv/alcove" || (cd "$(ALCOVE_ORIG)" && PROJECT=alcove rebar3 compile)
	CONFORMANCE_TARGET=original sh test/conformance/run.sh; \
	CONFORMANCE_TARGET=ours sh test/conformance/run.sh; \
	if [ -n "$(PRX_ORIG)" ]; then sh test/conformance/run_prx.sh; fi

lint: build
	cargo fmt --all --check
	cargo clippy --release --workspace -- -D warnings
	# The helper as build.sh links it where it can: statically.
	RUSTFLAGS="-C target-feature=+crt-static" cargo clippy --release -p alcove_helper \
		--target "$$(rustc -vV | sed -n 's/^host: //p')" -- -D warnings
	rebar3 dialyzer
	mix format --check-formatted

# Install the helper setuid root for the members of GROUP: the binary goes
# to $(PREFIX)/lib/alcove/alcove (root:GROUP, mode 4750) and GROUP is listed
# in the root-owned file whose path the helper was built with
# (ALCOVE_HELPER_CONFIG at build time, /etc/alcove/helper.conf by default).
# Start drivers with {progname, "$(PREFIX)/lib/alcove/alcove"}.
install-setuid:
	@test -x priv/alcove || { echo "priv/alcove is missing: run make build first" >&2; exit 2; }
	@test "$$(id -u)" = 0 || { echo "install-setuid must run as root" >&2; exit 2; }
	@getent group "$(GROUP)" >/dev/null || { echo "no group $(GROUP): create it first (groupadd $(GROUP))" >&2; exit 2; }
	install -d -o root -g root -m 0755 "$(PREFIX)/lib/alcove"
	install -o root -g "$(GROUP)" -m 4750 priv/alcove "$(PREFIX)/lib/alcove/alcove"
	@conf=$$(priv/alcove --config-path) && \
	install -d -o root -g root -m 0755 "$$(dirname "$$conf")" && \
	if [ ! -f "$$conf" ]; then \
		printf '# Who may use the setuid alcove helper: "user NAME" or "group NAME" lines.\ngroup %s\n' "$(GROUP)" > "$$conf.new" && \
		chown root:root "$$conf.new" && chmod 0644 "$$conf.new" && mv "$$conf.new" "$$conf"; \
	elif ! grep -qx "group $(GROUP)" "$$conf"; then \
		echo "group $(GROUP)" >> "$$conf"; \
	fi && \
	chown root:root "$$conf" && chmod go-w "$$conf" && \
	echo "installed $(PREFIX)/lib/alcove/alcove (setuid root, group $(GROUP)); $$conf:" && cat "$$conf"

clean:
	rm -rf _build target priv/alcove priv/alcove_nif.so doc
