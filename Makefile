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
GATE_BASELINE := results/baseline/gate-vendored.json
else ifeq ($(OPENSSL),system)
FEATURES   :=
GATE_BASELINE := results/baseline/gate.json
else
$(error OPENSSL=$(OPENSSL): expected system or vendored)
endif
# Criterion (wall-time) benches; the gungraun gate is run by `make gate` only.
CRITERION_BENCHES := primitives handshakes transport eventloop connections parts
BENCH_FLAGS := $(foreach b,$(CRITERION_BENCHES),--bench $(b))

.PHONY: all setup valgrind build test bench model today memory anatomy fixtures lint gate baseline ab-openssl scale parity audit fuzz clean kamailio kamailio-setup

all: model

build:
	$(CARGO) build $(FEATURES) --release --all-targets

# Unit and integration tests, then every criterion bench once in test mode
# (each bench's self-check runs before it would be timed).
test: build valgrind
	$(CARGO) test $(FEATURES) --release --lib --bins --tests
	$(CARGO) test $(FEATURES) --release $(BENCH_FLAGS)

bench:
	$(CARGO) bench $(FEATURES) $(BENCH_FLAGS)

fixtures:
	$(CARGO) run --release -- fixtures --out fixtures

# --- The per-call model (the main job) ---------------------------------------------------
# Only the benches `tlscost model` reads, each filtered to what it needs; then the model.
# Every component is timed in CPU time of the measuring thread (src/cputime.rs), with a
# warm-up and at least 10 samples (criterion's median): the socket components (transport,
# event loop) with their own longer settings. Before the benches it waits up to QUIET_WAIT
# seconds for a quiet machine (`tlscost quiet wait`), and a monitor samples the machine
# once a second during them (`tlscost quiet monitor`, ended by its pid): the model then
# names every component measured while the CPU ran slow (see docs/repeatability.md).
# MODEL_ARGS passes options to `tlscost model` (e.g. MODEL_ARGS="--backend rustcrypto" or
# "--base-udp-us 40"). tlscost is the binary `cargo bench --no-run` builds beside the benches
# (cargo builds a package's binaries for its benches): building it with `cargo build` as well
# compiled the library a second time, six minutes on a fresh clone.
MODEL_ARGS     ?=
# FLOW=DIR: a call-flow directory (the format of fixtures/sip) instead of fixtures/sip, for
# every bench the model reads and for the model itself (see docs/sip.md, "Call flows as data").
FLOW           ?=
ifneq ($(FLOW),)
export TLSCOST_FLOW := $(abspath $(FLOW))
endif
MODEL_BACKENDS ?= openssl|rustcrypto|awslc
QUIET_WAIT     ?= 60
TARGET_DIR     := $(or $(CARGO_TARGET_DIR),target)
MODEL_CRITERION = -- --noplot --sample-size 10 --warm-up-time 0.2 --measurement-time 0.4
MODEL_SOCKETS   = -- --noplot
# The handshakes the model can use (both stacks' protocols, every kind).
MODEL_SCALE     = --scenario 'openssl/tls12-rsa-aes128-sha/*' --scenario 'rustls/tls12-ecdhe-rsa-aes128-gcm/*'
SCALE_THREADS  ?= $(shell nproc 2>/dev/null || echo 2)
model:
	@start=$$(date +%s); set -e; \
	step() { printf '\n==> [%s] %s (%ss so far)\n' "$$1" "$$2" "$$(( $$(date +%s) - start ))"; }; \
	step 1/9 "build the benches and tlscost (release)"; \
	$(CARGO) bench $(FEATURES) --no-run --bench transport --bench primitives --bench handshakes --bench eventloop --bench connections; \
	tlscost=$(TARGET_DIR)/release/tlscost; \
	step 2/9 "wait for a quiet machine (at most $(QUIET_WAIT) s), then monitor it during the benches"; \
	$$tlscost quiet wait --max-wait $(QUIET_WAIT); \
	$$tlscost quiet monitor & monitor=$$!; \
	trap 'kill $$monitor 2>/dev/null || true' EXIT; \
	since=$$(date +%s); \
	step 3/9 "transport: the UDP base, and what TCP and SIP auth add to a call (each measured as one interleaved bench)"; \
	$(CARGO) bench $(FEATURES) --bench transport $(MODEL_SOCKETS) '^(base|transport/tcp-extra)/'; \
	step 4/9 "records: seal/open at each SIP message size, AES and 3DES, backends $(MODEL_BACKENDS) and libssl; RSA-2048 and small records to price handshakes"; \
	$(CARGO) bench $(FEATURES) --bench primitives $(MODEL_CRITERION) '^(record/($(MODEL_BACKENDS)|libssl)/(aes128-sha|3des-sha)/(seal|open)/sip-|rsa/openssl/[a-z]+/2048$$|record/openssl/(aes128-sha|3des-sha)/(seal|open)/64$$)'; \
	step 5/9 "handshakes: openssl (TLS_RSA AES128-SHA, 3DES-SHA where this OpenSSL has it) and rustls (ECDHE), per side and kind"; \
	$(CARGO) bench $(FEATURES) --bench handshakes $(MODEL_CRITERION) '^handshake/(openssl/tls12-rsa-(aes128|3des)-sha|rustls/tls12-ecdhe-rsa-aes128-gcm)/((x25519/)?rsa2048/(full|mutual)|resumed-id|resumed-ticket)/'; \
	step 6/9 "event loop (App. D): client handshake on sockets, faulty vs fixed loop"; \
	$(CARGO) bench $(FEATURES) --bench eventloop $(MODEL_SOCKETS) '^eventloop/(faulty|fixed)/tls12-rsa-aes128-sha/[a-z-]+/1ms$$'; \
	step 7/9 "connections on loopback sockets, each side: new TCP, and a TLS connection's handling beyond TCP and its in-memory handshake (TLS_RSA AES128-SHA: full, mutual, resumed-id; the three interleaved in one bench)"; \
	$(CARGO) bench $(FEATURES) --bench connections $(MODEL_SOCKETS) '^connection/(tcp/|openssl/tls12-rsa-aes128-sha/(full|mutual|resumed-id)/[a-z]+/handling$$)'; \
	kill $$monitor 2>/dev/null || true; \
	step 8/9 "multi-core scaling of the model's handshakes: 1..$(SCALE_THREADS) threads on one shared context"; \
	$$tlscost scale --threads $(SCALE_THREADS) --seconds 1 $(MODEL_SCALE); \
	step 9/9 "the per-call model"; \
	$$tlscost model --since $$since $(MODEL_ARGS); \
	echo "make model finished in $$(( $$(date +%s) - start )) s"

# --- The handshake's anatomy ----------------------------------------------------------------
# After `make model`: the handshake's parts (certificate parse, chain verification, connection
# object, key exchange, PRF/HKDF, transcript hash, RSA on ring, ECDSA P-256, rustls's session
# tickets), the handshake sides and primitives `make model` does not take (rustls-awslc's are
# priced on aws-lc-rs), every scenario under callgrind (OpenSSL's operation counts, the profile
# in the paper's categories), then `tlscost counts --explain`.
ANATOMY_CRITERION = -- --quick --noplot
anatomy: valgrind
	@start=$$(date +%s); set -e; \
	step() { printf '\n==> [%s] %s (%ss so far)\n' "$$1" "$$2" "$$(( $$(date +%s) - start ))"; }; \
	step 1/5 "build the benches and tlscost (release)"; \
	$(CARGO) bench $(FEATURES) --no-run --bench parts --bench primitives --bench handshakes; \
	step 2/5 "handshake parts: x509, conn, kx, kdf, transcript, rsa/ring, ecdsa, ticket"; \
	$(CARGO) bench $(FEATURES) --bench parts $(ANATOMY_CRITERION); \
	step 3/5 "primitives the explanation prices: RSA-2048 on openssl and aws-lc-rs, small records"; \
	$(CARGO) bench $(FEATURES) --bench primitives $(ANATOMY_CRITERION) '^(rsa/openssl/[a-z]+/2048$$|rsa/awslc/(sign|verify)/2048$$|record/openssl/(aes128-sha|3des-sha|aes128-gcm)/(seal|open)/(64|256|1024)$$|record/awslc/aes128-gcm/(seal|open)/(64|256|1024)$$)'; \
	step 4/5 "handshake sides make model does not take (ECDHE, ECDSA, TLS 1.3, the three stacks)"; \
	$(CARGO) bench $(FEATURES) --bench handshakes $(ANATOMY_CRITERION) '^handshake/(openssl/(tls12-ecdhe|tls13)|rustls/(tls13|tls12-ecdhe-ecdsa)|rustls-awslc/)'; \
	step 5/5 "every handshake scenario under callgrind (counts and profiles), then the explanation"; \
	$(TARGET_DIR)/release/tlscost anatomy; \
	$(TARGET_DIR)/release/tlscost counts --explain; \
	echo "make anatomy finished in $$(( $$(date +%s) - start )) s"

# --- Today's TLS beside the paper's -------------------------------------------------------
# The paper's TLS configurations beside their modern equivalents (TLS 1.2 ECDHE, TLS 1.3,
# ECDSA, the X25519MLKEM768 hybrid, ticket resumption), per call, with ratios: the benches
# `tlscost model --today` reads (quick mode), then the model. TODAY_STACK picks the stack of
# the modern set-ups: openssl (the hybrid needs OPENSSL=vendored), rustls or rustls-awslc.
TODAY_STACK ?= openssl
TODAY_HANDSHAKES = '^handshake/(openssl/tls12-rsa-aes128-sha/(rsa2048/(full|mutual)|resumed-id)|$(TODAY_STACK)/(tls12-ecdhe-rsa-aes128-gcm/(x25519/rsa2048/(full|mutual)|resumed-ticket)|tls13-aes128-gcm/(x25519|x25519mlkem768)/((rsa2048|ecdsa-p256)/(full|mutual)|resumed-ticket)))/'
# The per-connection handling the model adds to every new connection, per protocol.
TODAY_CONNECTIONS = '^connection/(tcp|openssl/(tls12-rsa-aes128-sha|tls12-ecdhe-rsa-aes128-gcm|tls13-aes128-gcm)/(full|mutual|resumed-id|resumed-ticket))/'
today:
	@start=$$(date +%s); set -e; \
	step() { printf '\n==> [%s] %s (%ss so far)\n' "$$1" "$$2" "$$(( $$(date +%s) - start ))"; }; \
	step 1/6 "build the benches and tlscost (release)"; \
	$(CARGO) bench $(FEATURES) --no-run --bench transport --bench primitives --bench handshakes --bench connections; \
	step 2/6 "transport: the UDP base, and what TCP and SIP auth add to a call"; \
	$(CARGO) bench $(FEATURES) --bench transport $(MODEL_SOCKETS) '^(base|transport/tcp-extra)/'; \
	step 3/6 "new connections on sockets (OpenSSL, the three protocols): what a connection costs beyond its handshake"; \
	$(CARGO) bench $(FEATURES) --bench connections $(MODEL_SOCKETS) $(TODAY_CONNECTIONS); \
	step 4/6 "records at each SIP message size: AES-128-CBC-SHA, 3DES, AES-128-GCM"; \
	$(CARGO) bench $(FEATURES) --bench primitives $(MODEL_CRITERION) '^record/($(MODEL_BACKENDS)|libssl)/(aes128-sha|3des-sha|aes128-gcm)/(seal|open)/sip-'; \
	step 5/6 "handshakes: the paper's on openssl, the modern ones on $(TODAY_STACK)"; \
	$(CARGO) bench $(FEATURES) --bench handshakes $(MODEL_CRITERION) $(TODAY_HANDSHAKES); \
	step 6/6 "the model with the today table"; \
	$(TARGET_DIR)/release/tlscost model --today --stack $(TODAY_STACK) --protocol tls13-aes128-gcm --resumed resumed-ticket --no-save $(MODEL_ARGS); \
	echo "make today finished in $$(( $$(date +%s) - start )) s"

# Heap bytes per established TLS connection and the peak during its handshake (no benches).
memory:
	$(CARGO) run $(FEATURES) --release --quiet --bin tlscost -- memory $(MEMORY_ARGS)

# --- A real SIP server: Kamailio (docs/server.md) -----------------------------------------
# Installs what is missing from Debian (Kamailio with its TLS, MySQL and SQLite modules,
# MariaDB for SIP auth, sqlite3, linux-perf for the profiles), then starts Kamailio from
# servers/kamailio/ on loopback, measures every configuration, stops everything it started
# and writes results/kamailio-<host>-<date>-<time>.{json,csv}. KAMAILIO_ARGS passes options to
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
# Each OpenSSL build counts in its own target directory, against its own baseline.
GATE_DIR         := $(TARGET_DIR)/gungraun/tlscost/gate
# The runner is looked up on PATH (GUNGRAUN_RUNNER would be baked into the bench at compile time).
GATE_RUN = rm -rf $(GATE_DIR) && PATH="$(CARGO_BIN):$$PATH" $(CARGO) bench $(FEATURES) --bench gate -- --save-summary=json
GATE_TLSCOST = $(CARGO) run $(FEATURES) --release --quiet --bin tlscost -- gate

# valgrind (apt-get) when it is missing: the gate, `make anatomy` and the tests that count
# OpenSSL's calls under callgrind need it.
valgrind:
	@command -v valgrind >/dev/null 2>&1 || { \
	  echo "installing valgrind"; \
	  $(SUDO) apt-get update && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y valgrind; }

# Installs what the gate needs when it is missing: valgrind (apt-get) and gungraun-runner
# at the version of the gungraun library in Cargo.lock. (`make test` needs valgrind only:
# the gate's CPU probe is tested under it.)
setup: valgrind
	@test -n "$(GUNGRAUN_VERSION)" || { echo "setup: no gungraun in Cargo.lock" >&2; exit 1; }
	@have=$$(PATH="$(CARGO_BIN):$$PATH" gungraun-runner --version 2>/dev/null | awk '{ print $$2 }'); \
	if [ "$$have" != "$(GUNGRAUN_VERSION)" ]; then \
	  echo "setup: installing gungraun-runner $(GUNGRAUN_VERSION) (found: $${have:-none})"; \
	  $(CARGO) install gungraun-runner --version $(GUNGRAUN_VERSION) --locked --force; \
	fi

# Counts instructions of the gate benches and compares them with results/baseline/gate.json
# (OPENSSL=vendored: the vendored build against results/baseline/gate-vendored.json); fails
# when one grew by more than GATE_THRESHOLD percent, whenever valgrind presents the
# baseline's CPU to the counted code (whatever the host CPU).
gate: setup
	@start=$$(date +%s); \
	$(GATE_RUN) && \
	$(GATE_TLSCOST) check --threshold $(GATE_THRESHOLD) --baseline $(GATE_BASELINE) \
	  --summaries $(GATE_DIR) --previous $(TARGET_DIR)/gungraun/gate-previous.json \
	  $(if $(GATE_BMF),--bmf $(GATE_BMF)); \
	rc=$$?; echo "gate finished in $$(( $$(date +%s) - start )) s"; exit $$rc

# Re-records the baseline of this OpenSSL build from a fresh gate run (written atomically).
baseline: setup
	$(GATE_RUN)
	$(GATE_TLSCOST) record --baseline $(GATE_BASELINE) --summaries $(GATE_DIR)

# Paired A/B comparison of the system OpenSSL build (A, target/) and the vendored one (B,
# target-vendored/: its first build takes 4-20 min): RSA-2048, records, every handshake side,
# alternating A and B in one session, with instruction counts (README "Two OpenSSL builds").
# AB_ARGS passes options to `tlscost ab` (e.g. AB_ARGS="--rounds 9 --markdown").
AB_ARGS ?=
ab-openssl: valgrind
	env -u CARGO_TARGET_DIR $(CARGO) build --release --bin tlscost
	CARGO_TARGET_DIR=$(CURDIR)/target-vendored $(CARGO) build --release --features vendored-openssl --bin tlscost
	target/release/tlscost ab --a target/release/tlscost --b target-vendored/release/tlscost --count $(AB_ARGS)

# Handshakes/s with 1..N threads on one shared context (default N = the cores), written to
# <target dir>/scale.json, which `make model` / `tlscost model` then use for peak calls/s.
SCALE_ARGS    ?=
scale:
	$(CARGO) run $(FEATURES) --release --quiet --bin tlscost -- scale --threads $(SCALE_THREADS) $(SCALE_ARGS)

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
