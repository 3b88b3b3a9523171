# Two entry points on a fresh Debian 12 machine with Rust: `make demo` and
# `make test`. Both install what is missing with apt first.

PACKAGES := erlang-nox erlang-dev erlang-common-test erlang-proper erlang-proper-dev erlang-dialyzer elixir rebar3 busybox-static
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
EBIN := _build/default/lib/alcove/ebin

.PHONY: all deps build demo test test-rust test-erlang test-elixir check-gen bench gen lint clean

all: build

deps:
	@missing=$$(for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	rebar3 compile

demo: build
	@mkdir -p _build/examples
	erlc -o _build/examples -I include examples/nsdemo.erl
	erl -noshell -pa $(EBIN) -pa _build/examples -eval 'nsdemo:main()'

test: build check-gen test-rust test-erlang test-elixir

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

gen:
	escript gen/gen_calls.escript

lint: build
	cargo fmt --all --check
	cargo clippy --release --workspace -- -D warnings
	rebar3 dialyzer
	mix format --check-formatted

clean:
	rm -rf _build target priv/alcove priv/alcove_nif.so
