# tlscost: every target installs what it needs (crates, gungraun-runner, valgrind).
# Everything builds in release: the tests call the same components as the benches.

CARGO      ?= cargo
# OPENSSL=vendored: build, test, bench and model against an OpenSSL built from source
# (openssl-src with weak-crypto, so the 3DES TLS suites exist), in target-vendored/ so the
# default build (the system OpenSSL, target/) is never touched. See README "Two OpenSSL builds".
OPENSSL    ?= system
ifeq ($(OPENSSL),vendored)
FEATURES   := --features vendored-openssl
export CARGO_TARGET_DIR := $(CURDIR)/target-vendored
else ifeq ($(OPENSSL),system)
FEATURES   :=
else
$(error OPENSSL=$(OPENSSL): expected system or vendored)
endif
# Criterion (wall-time) benches; the gungraun gate is run by `make gate` only.
CRITERION_BENCHES := primitives handshakes transport eventloop
BENCH_FLAGS := $(foreach b,$(CRITERION_BENCHES),--bench $(b))

.PHONY: all setup build test bench model today memory fixtures lint gate baseline parity audit fuzz clean kamailio kamailio-setup

all: model

build:
	$(CARGO) build $(FEATURES) --release --all-targets

# Unit and integration tests, then every criterion bench once in test mode
# (each bench's self-check runs before it would be timed).
test: build
	$(CARGO) test $(FEATURES) --release --lib --bins --tests
	$(CARGO) test $(FEATURES) --release $(BENCH_FLAGS)

bench:
	$(CARGO) bench $(FEATURES) $(BENCH_FLAGS)

fixtures:
	$(CARGO) run --release -- fixtures --out fixtures

# --- The per-call model (the main job) ---------------------------------------------------
# Only the benches `tlscost model` reads, each filtered to what it needs and run in
# criterion's quick mode; then the model. MODEL_ARGS passes options to `tlscost model`
# (e.g. MODEL_ARGS="--backend rustcrypto" or "--base-udp-us 40"). tlscost is built with the
# benches' profile (same settings as release) so the library is compiled once.
MODEL_ARGS     ?=
# FLOW=DIR: a call-flow directory (the format of fixtures/sip) instead of fixtures/sip, for
# every bench the model reads and for the model itself (see README "Call flows").
FLOW           ?=
ifneq ($(FLOW),)
export TLSCOST_FLOW := $(abspath $(FLOW))
endif
MODEL_BACKENDS ?= openssl|rustcrypto|awslc
MODEL_CRITERION = -- --quick --noplot
model:
	@start=$$(date +%s); set -e; \
	step() { printf '\n==> [%s] %s (%ss so far)\n' "$$1" "$$2" "$$(( $$(date +%s) - start ))"; }; \
	step 1/6 "build the benches and tlscost (release)"; \
	$(CARGO) bench $(FEATURES) --no-run --bench transport --bench primitives --bench handshakes --bench eventloop; \
	$(CARGO) build $(FEATURES) --profile bench --bin tlscost; \
	step 2/6 "transport: SIP messages over loopback UDP/TCP, TCP connect/accept, the UDP base"; \
	$(CARGO) bench $(FEATURES) --bench transport $(MODEL_CRITERION) '^(transport|base)/'; \
	step 3/6 "records: seal/open at each SIP message size, AES and 3DES, backends $(MODEL_BACKENDS) and libssl; RSA-2048 and small records to price handshakes"; \
	$(CARGO) bench $(FEATURES) --bench primitives $(MODEL_CRITERION) '^(record/($(MODEL_BACKENDS)|libssl)/(aes128-sha|3des-sha)/(seal|open)/sip-|rsa/openssl/[a-z]+/2048$$|record/openssl/(aes128-sha|3des-sha)/(seal|open)/64$$)'; \
	step 4/6 "handshakes: openssl (TLS_RSA AES128-SHA, 3DES-SHA where this OpenSSL has it) and rustls (ECDHE), per side and kind"; \
	$(CARGO) bench $(FEATURES) --bench handshakes $(MODEL_CRITERION) '^handshake/(openssl/tls12-rsa-(aes128|3des)-sha|rustls/tls12-ecdhe-rsa-aes128-gcm)/((x25519/)?rsa2048/(full|mutual)|resumed-id|resumed-ticket)/'; \
	step 5/6 "event loop (App. D): client handshake on sockets, faulty vs fixed loop"; \
	$(CARGO) bench $(FEATURES) --bench eventloop $(MODEL_CRITERION) '^eventloop/(faulty|fixed)/tls12-rsa-aes128-sha/[a-z-]+/1ms$$'; \
	step 6/6 "the per-call model"; \
	$(CARGO) run $(FEATURES) --profile bench --quiet --bin tlscost -- model $(MODEL_ARGS); \
	echo "make model finished in $$(( $$(date +%s) - start )) s"

# --- Today's TLS beside the paper's -------------------------------------------------------
# The paper's TLS configurations beside their modern equivalents (TLS 1.2 ECDHE, TLS 1.3,
# ECDSA, the X25519MLKEM768 hybrid, ticket resumption), per call, with ratios: the benches
# `tlscost model --today` reads (quick mode), then the model. TODAY_STACK picks the stack of
# the modern set-ups: openssl (the hybrid needs OPENSSL=vendored), rustls or rustls-awslc.
TODAY_STACK ?= openssl
TODAY_HANDSHAKES = '^handshake/(openssl/tls12-rsa-aes128-sha/(rsa2048/(full|mutual)|resumed-id)|$(TODAY_STACK)/(tls12-ecdhe-rsa-aes128-gcm/(x25519/rsa2048/(full|mutual)|resumed-ticket)|tls13-aes128-gcm/(x25519|x25519mlkem768)/((rsa2048|ecdsa-p256)/(full|mutual)|resumed-ticket)))/'
today:
	@start=$$(date +%s); set -e; \
	step() { printf '\n==> [%s] %s (%ss so far)\n' "$$1" "$$2" "$$(( $$(date +%s) - start ))"; }; \
	step 1/5 "build the benches and tlscost (release)"; \
	$(CARGO) bench $(FEATURES) --no-run --bench transport --bench primitives --bench handshakes; \
	$(CARGO) build $(FEATURES) --profile bench --bin tlscost; \
	step 2/5 "transport and the UDP base"; \
	$(CARGO) bench $(FEATURES) --bench transport $(MODEL_CRITERION) '^(transport|base)/'; \
	step 3/5 "records at each SIP message size: AES-128-CBC-SHA, 3DES, AES-128-GCM"; \
	$(CARGO) bench $(FEATURES) --bench primitives $(MODEL_CRITERION) '^record/($(MODEL_BACKENDS)|libssl)/(aes128-sha|3des-sha|aes128-gcm)/(seal|open)/sip-'; \
	step 4/5 "handshakes: the paper's on openssl, the modern ones on $(TODAY_STACK)"; \
	$(CARGO) bench $(FEATURES) --bench handshakes $(MODEL_CRITERION) $(TODAY_HANDSHAKES); \
	step 5/5 "the model with the today table"; \
	$(CARGO) run $(FEATURES) --profile bench --quiet --bin tlscost -- model --today --stack $(TODAY_STACK) --protocol tls13-aes128-gcm --resumed resumed-ticket --no-save $(MODEL_ARGS); \
	echo "make today finished in $$(( $$(date +%s) - start )) s"

# Heap bytes per established TLS connection and the peak during its handshake (no benches).
memory:
	$(CARGO) run $(FEATURES) --release --quiet --bin tlscost -- memory $(MEMORY_ARGS)

# --- A real SIP server: Kamailio (docs/server.md) -----------------------------------------
# Installs what is missing from Debian (Kamailio with its TLS, MySQL and SQLite modules,
# MariaDB for SIP auth, sqlite3, linux-perf for the profiles), then starts Kamailio from
# servers/kamailio/ on loopback, measures every configuration, stops everything it started
# and writes results/kamailio-<host>-<date>.{json,csv}. KAMAILIO_ARGS passes options to
# `tlscost server kamailio` (e.g. KAMAILIO_ARGS="--memory f_malloc" or "--repeat 5").
KAMAILIO_PACKAGES := kamailio kamailio-tls-modules kamailio-mysql-modules kamailio-sqlite-modules mariadb-server sqlite3 linux-perf
KAMAILIO_ARGS     ?=
kamailio-setup:
	@missing=""; for p in $(KAMAILIO_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "kamailio: installing$$missing"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends $$missing; \
	fi

kamailio:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory kamailio-setup && \
	$(CARGO) build $(FEATURES) --release --bin tlscost && \
	$(CARGO) run $(FEATURES) --release --quiet --bin tlscost -- server kamailio $(KAMAILIO_ARGS); \
	rc=$$?; echo "make kamailio finished in $$(( $$(date +%s) - start )) s"; exit $$rc

# --- Instruction-count regression gate (gungraun + valgrind) -----------------------------
# gungraun-runner must be exactly the gungraun library's version: take it from Cargo.lock.
GUNGRAUN_VERSION := $(shell awk '/^name = "gungraun"$$/ { getline; gsub(/"/, "", $$3); print $$3 }' Cargo.lock)
CARGO_BIN        := $(or $(CARGO_HOME),$(HOME)/.cargo)/bin
SUDO             := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Fail when a bench's instructions grow by more than this many percent.
GATE_THRESHOLD   ?= 2
# Set GATE_BMF=file.json to also write the counts as Bencher Metric Format.
GATE_BMF         ?=
GATE_DIR         := target/gungraun/tlscost/gate
# The runner is looked up on PATH (GUNGRAUN_RUNNER would be baked into the bench at compile time).
GATE_RUN = rm -rf $(GATE_DIR) && PATH="$(CARGO_BIN):$$PATH" $(CARGO) bench --bench gate -- --save-summary=json

# Installs what the gate needs when it is missing: valgrind (apt-get) and gungraun-runner
# at the version of the gungraun library in Cargo.lock.
setup:
	@command -v valgrind >/dev/null 2>&1 || { \
	  echo "setup: installing valgrind"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y valgrind; }
	@test -n "$(GUNGRAUN_VERSION)" || { echo "setup: no gungraun in Cargo.lock" >&2; exit 1; }
	@have=$$(PATH="$(CARGO_BIN):$$PATH" gungraun-runner --version 2>/dev/null | awk '{ print $$2 }'); \
	if [ "$$have" != "$(GUNGRAUN_VERSION)" ]; then \
	  echo "setup: installing gungraun-runner $(GUNGRAUN_VERSION) (found: $${have:-none})"; \
	  $(CARGO) install gungraun-runner --version $(GUNGRAUN_VERSION) --locked --force; \
	fi

# Counts instructions of the gate benches and compares them with results/baseline/gate.json;
# fails when one grew by more than GATE_THRESHOLD percent (only on the baseline's CPU).
gate: setup
	@start=$$(date +%s); \
	$(GATE_RUN) && \
	$(CARGO) run --release --quiet -- gate check --threshold $(GATE_THRESHOLD) \
	  --previous target/gungraun/gate-previous.json $(if $(GATE_BMF),--bmf $(GATE_BMF)); \
	rc=$$?; echo "gate finished in $$(( $$(date +%s) - start )) s"; exit $$rc

# Re-records results/baseline/gate.json from a fresh gate run (written atomically).
baseline: setup
	$(GATE_RUN)
	$(CARGO) run --release --quiet -- gate record

# `openssl speed` against the suite's OpenSSL backend on the same operations (RSA-2048
# sign/verify, AES-128-CBC, DES-EDE3-CBC and HMAC-SHA1 at 1,024 bytes), with the ratios.
# PARITY_ARGS passes options (e.g. PARITY_ARGS="--seconds 5").
PARITY_ARGS ?=
parity:
	$(CARGO) run --release --quiet --bin tlscost -- parity $(PARITY_ARGS)

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# Supply chain (cargo-deny, deny.toml): licenses, bans and sources always; advisories when
# the RustSec database can be fetched (it says loudly when not); and every time, the
# advisories known to affect benchmarked code. Installs cargo-deny when missing (~5 min).
audit:
	CARGO="$(CARGO)" ./.ci/audit

# cargo-fuzz targets of the parsers that take outside bytes (fuzz/; needs a nightly toolchain).
# The same parsers are property-tested in `make test`; this searches longer.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := record_open sip_parse results_read
fuzz:
	@rustup run nightly rustc --version >/dev/null 2>&1 || { 	  echo "fuzz: no nightly toolchain (rustup toolchain install nightly); tests/properties.rs covers the same parsers" >&2; exit 1; }
	@PATH="$(CARGO_BIN):$$PATH" cargo-fuzz --version >/dev/null 2>&1 || { 	  echo "fuzz: installing cargo-fuzz (about 3.5 min)"; $(CARGO) install cargo-fuzz --locked; }
	cd fuzz && for t in $(FUZZ_TARGETS); do 	  PATH="$(CARGO_BIN):$$PATH" $(CARGO) +nightly fuzz run -O $$t -- -max_total_time=$(FUZZ_SECONDS) -max_len=4096 || exit 1; 	done

clean:
	$(CARGO) clean
