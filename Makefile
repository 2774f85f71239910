# tlscost: every target installs what it needs (crates, gungraun-runner, valgrind).
# Everything builds in release: the tests call the same components as the benches.

CARGO      ?= cargo
# Criterion (wall-time) benches; the gungraun gate is run by `make gate` only.
CRITERION_BENCHES := primitives
BENCH_FLAGS := $(foreach b,$(CRITERION_BENCHES),--bench $(b))

.PHONY: all setup build test bench model fixtures lint gate baseline parity audit clean

all: model

build:
	$(CARGO) build --release --all-targets

# Unit and integration tests, then every criterion bench once in test mode
# (each bench's self-check runs before it would be timed).
test: build
	$(CARGO) test --release --lib --bins --tests
	$(CARGO) test --release $(BENCH_FLAGS)

bench:
	$(CARGO) bench $(BENCH_FLAGS)

fixtures:
	$(CARGO) run --release -- fixtures --out fixtures

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

clean:
	$(CARGO) clean
