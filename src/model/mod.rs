//! The per-call cost model (the paper's Sec. V) rebuilt from measured components:
//! cost(config) = base + TCP extra + TLS bulk + handshakes per call, for every
//! configuration the paper reports, with the paper's figures beside ours.
//!
//! The call flow is data (`fixtures/sip`), the proxy mode decides which sides open new
//! connections per call (Table I), and every component is a weighted sum of benchmark
//! medians (see [`components`]).

pub mod calibrate;
pub mod compare;
pub mod components;
pub mod configs;
pub mod paper;
pub mod repeat;
pub mod today;
pub mod validate;

use crate::crypto::Backend;
use crate::fixtures::{Fixtures, SipFlow};
use crate::handshake::{Cert, Group, Kind, Protocol, Scenario, Stack};
use crate::names::{BenchId, Dimension};
use crate::results::criterion::Estimate;
use crate::transport::{CallFlows, Difference};
use crate::{Error, Result};
use components::{
    difference, tls_bulk, tls_bulk_records, ComponentId, Estimates, Measured, Side, Sum,
};
use configs::{BulkSuite, Config, ProxyMode, TlsKind, Transport};
use paper::Paper;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the `tlscost model --json` document (see `results/model.schema.json`).
pub const MODEL_SCHEMA_VERSION: u32 = 1;

/// A confidence interval wider than this share of the median (either side) earns a warning.
pub const WIDE_CI: f64 = 0.10;

/// Estimates with fewer samples than this (criterion's quick mode keeps 2) earn a warning.
pub const MIN_SAMPLES: usize = 10;

/// The largest `--base-udp-us` / `--auth-us` accepted: one second per call is not a SIP proxy.
pub const MAX_PER_CALL_US: f64 = 1_000_000.0;

/// What the model is computed with.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelOptions {
    /// Crypto backend of the TLS records (`openssl`, `rustcrypto`, `awslc`).
    pub backend: Backend,
    /// TLS stack of the handshakes.
    pub stack: Stack,
    /// Which resumption the "resumed" configurations use (`resumed-id` or `resumed-ticket`).
    pub resumed: Kind,
    /// An operator's own UDP per-call cost (µs) in place of the measured base.
    pub base_udp_us: Option<f64>,
    /// The operator's cost of the SIP auth credential lookup (µs per call); not measurable here.
    pub auth_us: f64,
    /// The handshake protocol of the TLS configurations (and the suite of their records);
    /// `None`: the stack's closest to the paper's ([`ModelOptions::protocol`]). The one place
    /// the protocol is chosen: every component reads it through [`ModelOptions::protocol`].
    pub protocol: Option<Protocol>,
    /// Key-exchange group of the handshakes that have one (`--group`; default X25519).
    pub group: Option<Group>,
    /// Certificate type of the full and mutual handshakes (`--cert`; default the suite's).
    pub cert: Option<Cert>,
    /// Persistent TLS connections whose memory the output states (`--connections N`).
    pub connections: Option<u64>,
}

/// The protocols `tlscost model --protocol` takes on a stack: those its handshake benches
/// measure, without the 3DES suite (a proxy-chain bulk cipher in the paper, no handshake
/// per call).
pub fn model_protocols(stack: Stack) -> &'static [Protocol] {
    match stack {
        Stack::Openssl => &[
            Protocol::Tls12RsaAes128Sha,
            Protocol::Tls12EcdheRsaAes128Gcm,
            Protocol::Tls12EcdheEcdsaAes128Gcm,
            Protocol::Tls13Aes128Gcm,
        ],
        Stack::Rustls | Stack::RustlsAwslc => &[
            Protocol::Tls12EcdheRsaAes128Gcm,
            Protocol::Tls12EcdheEcdsaAes128Gcm,
            Protocol::Tls13Aes128Gcm,
        ],
    }
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            backend: Backend::OpenSsl,
            stack: Stack::Openssl,
            resumed: Kind::ResumedId,
            base_udp_us: None,
            auth_us: 0.0,
            protocol: None,
            group: None,
            cert: None,
            connections: None,
        }
    }
}

impl ModelOptions {
    /// Refuses values that cannot be a per-call cost, and backends with no TLS records.
    pub fn validate(&self) -> Result<()> {
        let check = |flag: &str, v: f64, zero_ok: bool| {
            let ok = v.is_finite() && (v > 0.0 || (zero_ok && v == 0.0)) && v <= MAX_PER_CALL_US;
            if ok {
                Ok(())
            } else {
                Err(Error::Usage(format!(
                    "{flag} {v}: expected a {} number of microseconds per call, at most {MAX_PER_CALL_US}",
                    if zero_ok { "finite, non-negative" } else { "finite, positive" }
                )))
            }
        };
        if let Some(b) = self.base_udp_us {
            check("--base-udp-us", b, false)?;
        }
        check("--auth-us", self.auth_us, true)?;
        if !Backend::SYMMETRIC.contains(&self.backend) {
            let valid: Vec<&str> = Backend::SYMMETRIC.iter().map(|b| b.label()).collect();
            return Err(Error::Usage(format!(
                "--backend {}: TLS records exist only for {}",
                self.backend.label(),
                valid.join(", ")
            )));
        }
        let valid = model_protocols(self.stack);
        if !valid.contains(&self.protocol()) {
            let labels: Vec<&str> = valid.iter().map(|p| p.label()).collect();
            return Err(Error::Usage(format!(
                "--protocol {}: the {} stack's handshakes are {}{}",
                self.protocol().label(),
                self.stack.label(),
                labels.join(", "),
                if self.stack == Stack::Rustls && self.protocol().rsa_key_transport() {
                    format!(" ({})", crate::handshake::RUSTLS_NO_RSA_KX)
                } else {
                    String::new()
                }
            )));
        }
        if !self.resumed.resumes() {
            return Err(Error::Usage(format!(
                "--resumed {}: expected resumed-id, resumed-ticket or resumed-psk-ke",
                self.resumed.label()
            )));
        }
        if self.connections == Some(0) {
            return Err(Error::Usage(
                "--connections 0: expected a number of persistent connections, at least 1".into(),
            ));
        }
        let p = self.protocol();
        if let (Some(g), true) = (self.group, p.rsa_key_transport()) {
            return Err(Error::Usage(format!(
                "--group {}: {} is RSA key transport, which has no key-exchange group",
                g.label(),
                p.label()
            )));
        }
        for kind in [Kind::Full, Kind::Mutual, self.resumed] {
            let s = self.scenario(kind);
            s.supported().map_err(|why| {
                Error::Usage(format!(
                    "--stack {} --protocol {}{}{}: {}: {why}",
                    self.stack.label(),
                    p.label(),
                    self.group
                        .map(|g| format!(" --group {}", g.label()))
                        .unwrap_or_default(),
                    self.cert
                        .map(|c| format!(" --cert {}", c.label()))
                        .unwrap_or_default(),
                    s.label()
                ))
            })?;
        }
        Ok(())
    }

    /// The handshake protocol: `--protocol`, else the one the stack can do closest to the
    /// paper's RSA key transport.
    pub fn protocol(&self) -> Protocol {
        self.protocol.unwrap_or(match self.stack {
            Stack::Openssl => Protocol::Tls12RsaAes128Sha,
            // rustls has no RSA key transport.
            _ => Protocol::Tls12EcdheRsaAes128Gcm,
        })
    }

    /// The record-bench suite of a configuration's bulk suite: `aes` means the protocol's
    /// own (AES-128-CBC + HMAC-SHA1, or AES-128-GCM for the GCM suites and TLS 1.3).
    pub fn record_suite(&self, suite: BulkSuite) -> &'static str {
        match suite {
            BulkSuite::Aes => self.protocol().record_suite(),
            BulkSuite::TripleDes => suite.record_label(),
        }
    }

    /// The resumption the "resumed" configurations use: `--resumed`, except that TLS 1.3
    /// has no session ids and resumes by ticket.
    pub fn resumed_kind(&self) -> Kind {
        if self.protocol() == Protocol::Tls13Aes128Gcm {
            Kind::ResumedTicket
        } else {
            self.resumed
        }
    }

    /// The handshake scenario of a per-call handshake of `kind`: the stack, the protocol, the
    /// group (where the handshake has a key exchange) and the certificate type (where it
    /// has a certificate).
    pub fn scenario(&self, kind: Kind) -> Scenario {
        let mut s = Scenario::new(self.stack, self.protocol(), kind);
        if s.group.is_some() {
            s.group = self.group.or(s.group);
        }
        if s.cert.is_some() {
            s.cert = self.cert.or(s.cert);
        }
        s
    }

    /// The record backend for a suite (aws-lc-rs has no 3DES: OpenSSL's stands in).
    pub fn record_backend(&self, suite: BulkSuite) -> Backend {
        if suite == BulkSuite::TripleDes && self.backend == Backend::AwsLc {
            Backend::OpenSsl
        } else {
            self.backend
        }
    }
}

/// The two call flows the model needs.
#[derive(Debug, Clone)]
pub struct Flows {
    /// INVITE .. 200 OK (BYE) without SIP auth.
    pub basic: SipFlow,
    /// The same call with the 407 challenge first.
    pub auth: SipFlow,
}

impl Flows {
    /// The two flows as the transport differences read them.
    pub fn call_flows(&self) -> CallFlows<'_> {
        CallFlows {
            basic: &self.basic,
            auth: &self.auth,
        }
    }

    /// The flows of the fixtures (`fixtures/sip`).
    pub fn from_fixtures(fx: &Fixtures) -> Result<Flows> {
        let corpus = fx.flows()?;
        Ok(Flows {
            basic: corpus.flow("basic")?.clone(),
            auth: corpus.flow("auth")?.clone(),
        })
    }
}

/// How one component is computed from benchmarks.
pub fn component_sum(id: &ComponentId, opts: &ModelOptions, flows: &Flows) -> Sum {
    let bulk = |flow: &SipFlow, s: BulkSuite| {
        tls_bulk_records(flow, opts.record_backend(s).label(), opts.record_suite(s))
    };
    match id {
        ComponentId::UdpBase => match opts.base_udp_us {
            Some(us) => Sum {
                terms: vec![],
                constant_us: us,
            },
            None => one(base_bench(&flows.basic)),
        },
        // Differences of transport benches, each measured as one interleaved bench
        // (`crate::transport::DifferenceBench`) made of the same parts and weights.
        ComponentId::TcpExtra => one(Difference::TcpExtra.id(flows.call_flows()).full()),
        ComponentId::TlsBulk(s) => bulk(&flows.basic, *s),
        ComponentId::Auth(t, suite) => {
            let d = match t {
                Transport::Udp => Difference::AuthUdp,
                _ => Difference::AuthTcp,
            };
            let mut s = one(d.id(flows.call_flows()).full());
            s.constant_us = opts.auth_us;
            if *t == Transport::Tls {
                s = add(
                    &s,
                    &difference(&bulk(&flows.auth, *suite), &bulk(&flows.basic, *suite)),
                );
            }
            s
        }
        ComponentId::TcpHandshake(side) => one(tcp_connection_bench(*side)),
        ComponentId::TlsHandshake(side, kind) => one(handshake_bench(opts, *side, *kind)),
        // One bench: the connection on sockets minus its in-memory handshake (OpenSSL, X25519
        // and RSA-2048, as on the sockets) minus TCP set-up, measured interleaved in one
        // session (`crate::connection::HandlingBench`).
        ComponentId::TlsConnection(side, kind) => {
            one(connection_handling_bench(opts, *side, *kind))
        }
        ComponentId::TlsClientLoop { fixed, kind } => one(eventloop_bench(opts, *fixed, *kind)),
    }
}

/// A sum of one bench, weight 1.
fn one(bench: String) -> Sum {
    let mut s = Sum::default();
    s.add(bench, 1.0);
    s
}

/// `base/udp-proxy/call-<flow>` for the fixtures' flows, `base/udp-proxy/<set>-call-<flow>`
/// for a `--flow DIR` directory's (`crate::transport::base_bench_id`).
fn base_bench(flow: &SipFlow) -> String {
    crate::transport::base_bench_id(flow).full()
}

fn add(a: &Sum, b: &Sum) -> Sum {
    let neg_b = Sum {
        terms: b.terms.iter().map(|(n, w)| (n.clone(), -w)).collect(),
        constant_us: -b.constant_us,
    };
    difference(a, &neg_b)
}

fn handshake_kind(opts: &ModelOptions, kind: TlsKind) -> Kind {
    match kind {
        TlsKind::Full => Kind::Full,
        TlsKind::Mutual => Kind::Mutual,
        TlsKind::Resumed => opts.resumed_kind(),
    }
}

fn handshake_side(side: Side) -> crate::handshake::Side {
    match side {
        Side::Client => crate::handshake::Side::Client,
        Side::Server => crate::handshake::Side::Server,
    }
}

/// `connection/tcp/<side>`: a new TCP connection on sockets (set-up and close).
pub fn tcp_connection_bench(side: Side) -> String {
    crate::connection::bench_id(crate::connection::Layer::Tcp, handshake_side(side)).full()
}

/// The protocol whose connections on sockets stand for `p`'s: the same, except ECDSA's
/// ECDHE suite, whose messages and handling are those of the RSA one (the sockets benches use
/// the RSA-2048 certificate; the handshake's own cost comes from its in-memory bench).
pub fn connection_protocol(p: Protocol) -> Protocol {
    match p {
        Protocol::Tls12EcdheEcdsaAes128Gcm => Protocol::Tls12EcdheRsaAes128Gcm,
        p => p,
    }
}

/// `connection/openssl/<protocol>/<kind>/<side>/handling`: a new TLS connection's handling on
/// sockets beyond its TCP set-up and in-memory handshake, measured as one interleaved
/// difference ([`crate::connection::HandlingBench`]).
pub fn connection_handling_bench(opts: &ModelOptions, side: Side, kind: TlsKind) -> String {
    crate::connection::handling_id(
        connection_protocol(opts.protocol()),
        handshake_kind(opts, kind),
        handshake_side(side),
    )
    .full()
}

/// `handshake/<stack>/<protocol>[/<group>][/<cert>]/<kind>/<side>` for a per-call handshake.
pub fn handshake_bench(opts: &ModelOptions, side: Side, kind: TlsKind) -> String {
    let side = match side {
        Side::Client => crate::handshake::Side::Client,
        Side::Server => crate::handshake::Side::Server,
    };
    opts.scenario(handshake_kind(opts, kind)).id(side).full()
}

/// The server's pause before each flight in the event-loop benches the model reads.
pub const EVENTLOOP_DELAY: &str = "1ms";

/// `eventloop/<fixed|faulty>/tls12-rsa-aes128-sha/<kind>/<delay>`: the client's CPU time
/// for one handshake over loopback sockets driven by an event loop (App. D).
pub fn eventloop_bench(opts: &ModelOptions, fixed: bool, kind: TlsKind) -> String {
    BenchId::new(
        "eventloop",
        &[
            if fixed { "fixed" } else { "faulty" },
            Protocol::Tls12RsaAes128Sha.label(),
            handshake_kind(opts, kind).label(),
        ],
    )
    .with_parameter(EVENTLOOP_DELAY)
    .full()
}

/// One row of the component table.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentRow {
    /// Identifier (as in `results/paper.json`).
    pub id: String,
    /// Label.
    pub label: String,
    /// Our value, when measured.
    pub measured: Option<Measured>,
    /// Our value normalized to our base = 1.0.
    pub units: Option<f64>,
    /// The paper's Fig. 13 value.
    pub paper_units: Option<f64>,
    /// The paper's note on its value.
    pub paper_note: Option<String>,
    /// Why ours is missing, when it is.
    pub missing: Option<String>,
}

/// A component's share of one configuration.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// Component identifier.
    pub id: String,
    /// Its µs per call.
    pub us: f64,
}

/// The ratio the paper quotes for a configuration, ours beside it.
#[derive(Debug, Clone, Serialize)]
pub struct RatioRow {
    /// The configuration it is relative to.
    pub to: String,
    /// Our projected peak throughput of this configuration over that of `to`.
    pub ours: f64,
    /// The paper's measured peak-throughput ratio.
    pub paper: Option<f64>,
}

/// One configuration's per-call cost.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigRow {
    /// Name, e.g. `outbound-auth/tls-mutual`.
    pub name: String,
    /// The configuration itself.
    pub config: Config,
    /// µs per call (median).
    pub us: f64,
    /// Lower bound, µs.
    pub lower_us: f64,
    /// Upper bound, µs.
    pub upper_us: f64,
    /// Normalized to our base = 1.0.
    pub units: f64,
    /// Projected peak calls per second on one core (1e6 / µs per call).
    pub calls_per_s: f64,
    /// Projected peak calls per second on [`ModelOutput::multicore`]'s cores, with the
    /// measured scaling efficiency of the handshakes (`tlscost scale`); absent without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calls_per_s_cores: Option<f64>,
    /// The components it is made of.
    pub parts: Vec<Part>,
    /// The paper's CPU events at 50 calls/s normalized to its proxy-chain/udp.
    pub paper_events_units: Option<f64>,
    /// True when that figure is derived from a ratio the paper quotes, not printed.
    pub paper_events_derived: bool,
    /// The paper's Fig. 13 components composed like ours.
    pub paper_model_units: Option<f64>,
    /// Throughput ratio to the configuration the paper compares it with.
    pub ratio: Option<RatioRow>,
}

/// Fig. 16: a local-proxy configuration computed directly and predicted from inbound +
/// outbound (minus the proxy-chain transfer both of them carry).
#[derive(Debug, Clone, Serialize)]
pub struct LocalRow {
    /// The local configuration.
    pub name: String,
    /// Ours, from its own components (units).
    pub ours_direct: f64,
    /// Ours, outbound + inbound − proxy chain (units).
    pub ours_predicted: f64,
    /// The paper's measured events (units), when printed.
    pub paper_measured: Option<f64>,
    /// The paper's events of outbound + inbound − proxy chain (units), derived here.
    pub paper_predicted: Option<f64>,
}

/// The whole model: what `tlscost model --json` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ModelOutput {
    /// [`MODEL_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Options it was computed with.
    pub options: OptionsOut,
    /// The handshake protocol used.
    pub protocol: String,
    /// Where the estimates came from.
    pub source: String,
    /// The base, µs per call (normalization unit).
    pub base_us: f64,
    /// The component table.
    pub components: Vec<ComponentRow>,
    /// Every configuration.
    pub configurations: Vec<ConfigRow>,
    /// The paper's stated count and the note on its mismatch.
    pub paper_count: PaperCount,
    /// Fig. 16.
    pub local_prediction: Vec<LocalRow>,
    /// What the model assumes or substitutes.
    pub notes: Vec<String>,
    /// Measurements that look unreliable.
    pub warnings: Vec<String>,
    /// Every benchmark estimate the model used, by name.
    pub estimates: BTreeMap<String, Estimate>,
    /// Each TLS handshake component beside the sum of its priced parts (filled by the CLI
    /// from [`crate::handshake::explain::reconstruct`]; empty when not computed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reconstructed: Vec<Reconstructed>,
    /// The multi-core projection, when a `tlscost scale` file was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multicore: Option<crate::scale::MultiCore>,
    /// Memory of `--connections N` persistent connections, next to the CPU per call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<PersistentMemory>,
    /// The paper's TLS configurations beside their modern equivalents (`--today`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub today: Option<today::Today>,
    /// This run's components against the previous run's (filled by the CLI for a fresh
    /// measurement when an earlier results file of the same machine and options exists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeatability: Option<repeat::RunComparison>,
}

/// A handshake component rebuilt from its measured parts (`tlscost counts --explain`).
#[derive(Debug, Clone, Serialize)]
pub struct Reconstructed {
    /// Component id (`tls-handshake-server-full`...).
    pub id: String,
    /// The handshake bench it is measured by.
    pub bench: String,
    /// The measured handshake side (µs).
    pub measured_us: f64,
    /// The sum of its priced parts (µs).
    pub reconstructed_us: f64,
    /// `reconstructed_us / measured_us`: timed, so the parts and the handshake should come
    /// from one session.
    pub fraction: f64,
    /// The share of the side's instructions inside the priced operations (callgrind, after
    /// `make anatomy`): the same question without timing noise; `None` without a profile.
    pub fraction_instructions: Option<f64>,
    /// What the rest is (named by the side's profile when `make anatomy` ran).
    pub residual: Vec<String>,
}

/// The heap memory of N persistent TLS connections of the model's handshake (measured in
/// this process, [`crate::memory`]): what a registrar holding one connection per phone needs.
#[derive(Debug, Clone, Serialize)]
pub struct PersistentMemory {
    /// N.
    pub connections: u64,
    /// The full handshake whose established connection was measured.
    pub scenario: String,
    /// Heap bytes one idle connection holds on the proxy when it accepted it (TLS server).
    pub server_bytes: i64,
    /// The same when the proxy opened it (TLS client).
    pub client_bytes: i64,
    /// N x server_bytes, in MiB.
    pub server_mib: f64,
    /// N x client_bytes, in MiB.
    pub client_mib: f64,
}

/// The options, as labels.
#[derive(Debug, Clone, Serialize)]
pub struct OptionsOut {
    /// Record backend.
    pub backend: String,
    /// Record backend of the 3DES records (OpenSSL's when the backend has no 3DES).
    pub backend_3des: String,
    /// Handshake stack.
    pub stack: String,
    /// Resumption kind.
    pub resumed: String,
    /// The operator's UDP base, if given.
    pub base_udp_us: Option<f64>,
    /// The operator's auth lookup cost (µs per call).
    pub auth_us: f64,
    /// Key-exchange group of the full handshakes (`none` for RSA key transport).
    pub group: String,
    /// Certificate type of the full handshakes.
    pub cert: String,
    /// Record suite of the AES configurations.
    pub aes_records: String,
}

/// The paper's configuration count.
#[derive(Debug, Clone, Serialize)]
pub struct PaperCount {
    /// Stated (18).
    pub stated: usize,
    /// Listed (every configuration the text reports).
    pub listed: usize,
    /// Why they differ.
    pub note: String,
}

/// Builds the model from estimates, flows and the paper's figures.
pub fn build(
    opts: &ModelOptions,
    flows: &Flows,
    est: &Estimates,
    paper: &Paper,
) -> Result<ModelOutput> {
    opts.validate()?;
    let libssl_3des = libssl_3des_measured(flows, est);
    // Every component a configuration needs must be measured; the fixed client is optional.
    let mut measured: BTreeMap<ComponentId, Measured> = BTreeMap::new();
    let mut rows = Vec::new();
    let mut used: BTreeMap<String, Estimate> = BTreeMap::new();
    for id in ComponentId::table() {
        let sum = component_sum(&id, opts, flows);
        let sum = if libssl_3des {
            on_libssl_3des(sum)
        } else {
            sum
        };
        let (m, missing) = match (sum.eval(est), id) {
            (Ok(m), _) => (Some(m), None),
            (Err(e), id) if id.optional() => (None, Some(e.to_string())),
            (Err(e), _) => return Err(e),
        };
        if let Some(m) = &m {
            for (bench, _) in &m.benches {
                used.insert(bench.clone(), est.get(bench)?.clone());
            }
            measured.insert(id, m.clone());
        }
        let pc = paper.component(&id);
        rows.push(ComponentRow {
            id: id.id(),
            label: id.label(),
            measured: m,
            units: None,
            paper_units: pc.and_then(|c| c.units.value),
            paper_note: pc.and_then(|c| c.units.note.clone()),
            missing,
        });
    }
    let base_us = measured
        .get(&ComponentId::UdpBase)
        .ok_or_else(|| Error::Results {
            path: est.source.clone(),
            what: "no UDP base among the components: run cargo bench --bench transport".into(),
        })?
        .us;
    if base_us <= 0.0 || !base_us.is_finite() {
        return Err(Error::Results {
            path: est.source.clone(),
            what: format!("the UDP base is {base_us} µs per call: it must be positive"),
        });
    }
    for r in &mut rows {
        r.units = r.measured.as_ref().map(|m| m.us / base_us);
        if r.id == ComponentId::TlsBulk(BulkSuite::Aes).id()
            && opts.record_suite(BulkSuite::Aes) == "aes128-gcm"
        {
            r.label = "TLS bulk, AES-128-GCM".into();
        }
    }

    // Every composed component is in the table, so measured (checked by the tests).
    let zero = Measured {
        us: 0.0,
        lower_us: 0.0,
        upper_us: 0.0,
        benches: vec![],
    };
    let cost = |c: &Config| -> (f64, f64, f64, Vec<Part>) {
        let mut t = (0.0, 0.0, 0.0, Vec::new());
        for id in ComponentId::compose(c) {
            let m = measured.get(&id).unwrap_or(&zero);
            let us = components::composed_us(&id, m.us);
            t.0 += us;
            t.1 += components::composed_us(&id, m.lower_us);
            t.2 += components::composed_us(&id, m.upper_us);
            t.3.push(Part { id: id.id(), us });
        }
        t
    };
    let configurations: Vec<ConfigRow> = Config::all()
        .iter()
        .map(|c| {
            let (us, lower_us, upper_us, parts) = cost(c);
            let name = c.name();
            let events = paper.events_units(&name);
            let ratio = c.reference().map(|r| RatioRow {
                to: r.name(),
                ours: cost(&r).0 / us,
                paper: paper
                    .config(&name)
                    .and_then(|p| p.throughput_ratio.as_ref())
                    .filter(|t| t.to == r.name())
                    .map(|t| t.value),
            });
            ConfigRow {
                name,
                config: *c,
                us,
                lower_us,
                upper_us,
                units: us / base_us,
                calls_per_s: 1e6 / us,
                calls_per_s_cores: None,
                parts,
                paper_events_units: events.map(|e| e.0),
                paper_events_derived: events.is_some_and(|e| e.1),
                paper_model_units: paper.model_units(c),
                ratio,
            }
        })
        .collect();

    let local_prediction = Config::all()
        .iter()
        .filter(|c| c.mode == ProxyMode::Local)
        .map(|c| {
            let out = c.in_mode(ProxyMode::Outbound, c.auth);
            let inb = c.in_mode(ProxyMode::Inbound, false);
            let chain = c.in_mode(ProxyMode::ProxyChain, false);
            let paper_ev = |x: &Config| paper.events_units(&x.name()).map(|e| e.0);
            LocalRow {
                name: c.name(),
                ours_direct: cost(c).0 / base_us,
                ours_predicted: (cost(&out).0 + cost(&inb).0 - cost(&chain).0) / base_us,
                paper_measured: paper_ev(c),
                paper_predicted: match (paper_ev(&out), paper_ev(&inb), paper_ev(&chain)) {
                    (Some(o), Some(i), Some(p)) => Some(o + i - p),
                    _ => None,
                },
            }
        })
        .collect();

    let mut warnings = Vec::new();
    let wide: Vec<String> = used
        .iter()
        .filter(|(_, e)| e.relative_ci() > WIDE_CI)
        .map(|(bench, e)| format!("{bench} (±{:.0}%)", e.relative_ci() * 100.0))
        .collect();
    if !wide.is_empty() {
        warnings.push(format!(
            "{} estimates have a confidence interval wider than ±{:.0}% of the median: {}; rerun them on a quiet machine with more samples (`make model MODEL_CRITERION='-- --noplot --sample-size 50 --measurement-time 2'`, or `cargo bench --bench <target> -- '<name>'`)",
            wide.len(),
            WIDE_CI * 100.0,
            wide.join(", ")
        ));
    }
    // Criterion's quick mode keeps 2 samples: its interval is no real confidence interval.
    let few = used.values().filter(|e| e.samples < MIN_SAMPLES).count();
    if few > 0 {
        warnings.push(format!(
            "{few} of the {} estimates used have fewer than {MIN_SAMPLES} samples (criterion's quick mode, as `make model` runs it): their intervals are rough; run `cargo bench --bench <name>` for full measurements",
            used.len()
        ));
    }
    for (id, m) in &measured {
        if matches!(id, ComponentId::TlsConnection(..)) && m.us < 0.0 {
            let affected: Vec<String> = Config::all()
                .iter()
                .filter(|c| ComponentId::compose(c).contains(id))
                .map(Config::name)
                .collect();
            // The difference it is, written out from the weights: `a − b − c`.
            let benches: String = m
                .benches
                .iter()
                .enumerate()
                .map(|(i, (b, w))| match (i, *w < 0.0) {
                    (0, false) => b.clone(),
                    (_, true) => format!(" − {b}"),
                    (_, false) => format!(" + {b}"),
                })
                .collect();
            warnings.push(format!(
                "{}: {:.1} µs: the TLS connection on sockets measured cheaper than its TCP set-up plus in-memory handshake ({}); taken as 0 in {}; rerun `cargo bench --bench connections -- '/handling$'` on a quiet machine",
                id.id(),
                m.us,
                benches,
                affected.join(", ")
            ));
        }
    }
    if let Some(m) = measured.get(&ComponentId::TcpExtra) {
        if m.us < 0.0 {
            warnings.push(format!(
                "TCP data transfer measured cheaper than UDP ({:.2} µs per call): the transport benches disagree with the paper's premise; check them",
                m.us
            ));
        }
    }

    Ok(ModelOutput {
        schema_version: MODEL_SCHEMA_VERSION,
        options: OptionsOut {
            backend: opts.backend.label().into(),
            backend_3des: if libssl_3des {
                crate::crypto::libssl::LABEL.into()
            } else {
                opts.record_backend(BulkSuite::TripleDes).label().into()
            },
            stack: opts.stack.label().into(),
            resumed: opts.resumed_kind().label().into(),
            base_udp_us: opts.base_udp_us,
            auth_us: opts.auth_us,
            group: opts
                .scenario(Kind::Full)
                .group
                .map_or("none", |g| g.label())
                .into(),
            cert: opts.scenario(Kind::Full).cert_type().label().into(),
            aes_records: opts.record_suite(BulkSuite::Aes).into(),
        },
        protocol: opts.protocol().label().to_string(),
        source: est.source.display().to_string(),
        base_us,
        components: rows,
        configurations,
        paper_count: PaperCount {
            stated: paper.configurations.count_stated,
            listed: paper.configurations.count_listed,
            note: paper.configurations.note.clone(),
        },
        local_prediction,
        notes: {
            let mut n = notes(opts);
            if libssl_3des {
                // The measured suite replaces the record-level substitution the note describes.
                n.retain(|l| !l.starts_with("3DES:"));
                n.insert(1, LIBSSL_3DES_NOTE.to_string());
            }
            n.extend(crate::flow::model_notes(&[&flows.basic, &flows.auth]));
            n
        },
        warnings,
        estimates: used,
        reconstructed: Vec::new(),
        multicore: None,
        memory: None,
        today: None,
        repeatability: None,
    })
}

/// The model's note when the 3DES configurations run on the measured libssl 3DES suite.
pub const LIBSSL_3DES_NOTE: &str = "3DES: measured suite. The 3DES configurations use real TLS_RSA_WITH_3DES_EDE_CBC_SHA records sealed and opened by libssl (record/libssl/3des-sha/..., an OpenSSL built with its weak ciphers: the vendored build), not the record-level substitution. They are proxy-chain configurations over persistent connections, so no per-call handshake is modelled; handshake/openssl/tls12-rsa-3des-sha/* is measured beside them for `tlscost compare`.";

/// Whether every record the 3DES configurations need (both flows) was measured through libssl.
pub fn libssl_3des_measured(flows: &Flows, est: &Estimates) -> bool {
    [&flows.basic, &flows.auth].iter().all(|f| {
        tls_bulk(f, crate::crypto::libssl::LABEL, BulkSuite::TripleDes)
            .terms
            .iter()
            .all(|(bench, _)| est.map.contains_key(bench))
    })
}

/// The same sum with each record bench `record/<backend>/<suite>/<rest>` renamed to what
/// `rename(backend, suite, rest)` gives (kept where it gives `None`).
fn rename_records(sum: Sum, rename: impl Fn(&str, &str, &str) -> Option<String>) -> Sum {
    let terms = sum
        .terms
        .into_iter()
        .map(|(bench, w)| {
            let parts: Vec<&str> = bench.splitn(4, '/').collect();
            let renamed = match parts[..] {
                ["record", backend, suite, rest] => rename(backend, suite, rest),
                _ => None,
            };
            (renamed.unwrap_or(bench), w)
        })
        .collect();
    Sum {
        terms,
        constant_us: sum.constant_us,
    }
}

/// The same sum with every 3DES record bench taken from libssl (`record/libssl/3des-sha/...`).
fn on_libssl_3des(sum: Sum) -> Sum {
    rename_records(sum, |_, suite, rest| {
        (suite == "3des-sha")
            .then(|| format!("record/{}/{suite}/{rest}", crate::crypto::libssl::LABEL))
    })
}

/// What the model assumes or substitutes, said in its output.
pub fn notes(opts: &ModelOptions) -> Vec<String> {
    let mut n = vec![
        format!(
            "SIP proxy authentication: the paper's cost is a digest check plus a MySQL credential lookup, which cannot be measured here. The auth components hold the extra messages (challenged INVITE, 407, its ACK) as the proxy handles them, plus --auth-us = {} µs per call for the lookup (default 0: the paper's 3.0-3.6 units are mostly that lookup).",
            opts.auth_us
        ),
        format!(
            "3DES: record-level substitution. This OpenSSL has no 3DES TLS suite (or its libssl 3DES records were not measured), so the 3DES configurations use the 3des-sha record built at record level (record/{}/3des-sha/...). `make model OPENSSL=vendored` measures the real suite.",
            opts.record_backend(BulkSuite::TripleDes).label()
        ),
        "A new connection per call costs its side three measured parts: TCP set-up and close on loopback sockets (connection/tcp/<side>), the TLS handshake in memory (handshake/...: its crypto and state machine, each side timed apart), and the TLS connection's handling on sockets beyond both (connection/openssl/.../<side>/handling: the connection on sockets minus the other two, measured interleaved in one bench: system calls, round trips through the kernel, a non-blocking event loop waiting only for what OpenSSL asks, as after the paper's App. D fix, the shutdown). Thread CPU time on both ends.".to_string(),
        format!(
            "Resumed configurations use {} resumption.",
            opts.resumed_kind().label()
        ),
        "Per message, the proxy receives once and sends once (both legs) or only one of them (left leg only: challenged INVITE, 407, ACK): TLS bulk = one record open + one record seal per relayed message at its real size; TCP extra = (TCP - UDP) send+receive per relayed message, half of it for a left-leg-only one, measured as one bench whose TCP and UDP parts alternate (transport/tcp-extra/...; SIP auth's extra likewise, base/auth-udp/... and base/auth-tcp/...).".to_string(),
        "Paper columns: 'paper events' = its CPU events at 50 calls/s over proxy-chain/udp's 144K (derived from a quoted ratio where marked ~); 'paper model' = its Fig. 13 components composed as ours are.".to_string(),
        "Peak calls/s = 1e6 / µs per call: one core doing nothing else, the paper's linear-scaling assumption (Sec. V-B).".to_string(),
    ];
    let p = opts.protocol();
    if p != Protocol::Tls12RsaAes128Sha {
        n.push(format!(
            "Protocol: {} ({} {}), not the paper's TLS_RSA_WITH_AES_128_CBC_SHA{}. The 'aes' configurations' records are {} (record/{}/{}/...){}.",
            p.label(),
            p.version(),
            p.iana_suite(),
            if opts.stack.is_rustls() && opts.protocol.is_none() {
                " (rustls has no RSA key transport)"
            } else {
                ""
            },
            if p.record_suite() == "aes128-gcm" { "AES-128-GCM" } else { "AES-128-CBC + HMAC-SHA1" },
            opts.record_backend(BulkSuite::Aes).label(),
            p.record_suite(),
            if p == Protocol::Tls13Aes128Gcm {
                ": TLS 1.2's GCM record standing in for TLS 1.3's (the same AEAD and tag; TLS 1.3 adds one inner content-type byte and has no explicit nonce)"
            } else {
                ""
            }
        ));
    }
    if p == Protocol::Tls13Aes128Gcm && opts.resumed == Kind::ResumedId {
        n.push("TLS 1.3 has no session-id resumption: the resumed configurations resume by ticket (PSK).".into());
    }
    if opts.stack.is_rustls() {
        n.push("Connection handling on sockets is measured on OpenSSL (connection/openssl/.../handling, with OpenSSL's in-memory handshake taken out): the rustls handshake takes its place.".into());
    }
    if p != Protocol::Tls12RsaAes128Sha || opts.group.is_some() || opts.cert.is_some() {
        let s = opts.scenario(Kind::Full);
        n.push(format!(
            "Handshakes: {} (key exchange {}, {} certificates); the paper columns stay the paper's.",
            s.label(),
            s.group.map_or("RSA key transport", |g| g.label()),
            s.cert_type().label()
        ));
    }
    if opts.record_backend(BulkSuite::TripleDes) != opts.backend {
        n.push(format!(
            "{} has no 3DES: the 3DES records are OpenSSL's.",
            opts.backend.label()
        ));
    }
    if let Some(b) = opts.base_udp_us {
        n.push(format!(
            "Base: the operator's {b} µs per UDP call (--base-udp-us) instead of the measured base/udp-proxy/call-basic; the auth messages' extra stays measured."
        ));
    }
    n
}

/// The default criterion output directory: `$CARGO_TARGET_DIR/criterion`, else
/// `target/criterion` under the crate.
pub fn default_criterion_dir() -> PathBuf {
    crate::fsutil::target_dir().join("criterion")
}

/// The `results/` directory of the crate.
pub fn default_results_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("results")
}

/// Reads the estimates from a results file, or from criterion's output directory.
pub fn load_estimates(results: Option<&Path>, criterion_dir: &Path) -> Result<Estimates> {
    if let Some(path) = results {
        let file = crate::results::ResultsFile::read(path)?;
        return Ok(Estimates {
            map: file.estimates(),
            source: path.to_path_buf(),
        });
    }
    let map = crate::results::criterion::load(criterion_dir)?;
    if map.is_empty() {
        return Err(Error::Results {
            path: criterion_dir.to_path_buf(),
            what: "no benchmark results here: run `make model` (quick benches, then the model)"
                .into(),
        });
    }
    Ok(Estimates {
        map,
        source: criterion_dir.to_path_buf(),
    })
}

pub use cli::{run, run_compare, ModelArgs};
mod cli;
