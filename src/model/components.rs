//! The model's building blocks (the paper's Fig. 13), how a configuration is composed of
//! them, and how each is computed from benchmark estimates.

use super::configs::{BulkSuite, Config, TlsKind, Transport};
use crate::fixtures::{Direction, Legs, SipFlow};
use crate::results::criterion::Estimate;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which end of a new connection the proxy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Side {
    /// The proxy opens the connection (towards the callee).
    Client,
    /// The proxy accepts the connection (from the caller).
    Server,
}

impl Side {
    /// `client` or `server`, as in benchmark names.
    pub fn label(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// One cost component of the per-call model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ComponentId {
    /// The proxy's per-call cost over UDP without SIP auth: the unit of normalization.
    UdpBase,
    /// What TCP adds over UDP to carrying the messages of one call.
    TcpExtra,
    /// TLS record work (open each message received, seal each message sent) for one call.
    TlsBulk(BulkSuite),
    /// What SIP proxy authentication adds to a call over this transport (suite: TLS only).
    Auth(Transport, BulkSuite),
    /// A TCP connection set up per call on this side.
    TcpHandshake(Side),
    /// A TLS handshake per call on this side, of this kind, in memory: its crypto and
    /// state machine.
    TlsHandshake(Side, TlsKind),
    /// What a new TLS connection of this kind costs this side on sockets beyond its TCP
    /// set-up and its in-memory handshake: system calls, the handshake's round trips through
    /// the kernel, the event loop, the shutdown (`connection/...` minus both).
    TlsConnection(Side, TlsKind),
    /// The TLS client handshake on real loopback sockets driven by an event loop (App. D):
    /// `fixed` = only the events the library asked for; otherwise the paper's faulty loop.
    TlsClientLoop {
        /// The App. D fix applied.
        fixed: bool,
        /// Handshake kind.
        kind: TlsKind,
    },
}

impl ComponentId {
    /// The component table, in report order.
    pub fn table() -> Vec<ComponentId> {
        use ComponentId::*;
        let mut out = vec![
            UdpBase,
            TcpExtra,
            TlsBulk(BulkSuite::Aes),
            TlsBulk(BulkSuite::TripleDes),
            Auth(Transport::Udp, BulkSuite::Aes),
            Auth(Transport::Tcp, BulkSuite::Aes),
            Auth(Transport::Tls, BulkSuite::Aes),
            Auth(Transport::Tls, BulkSuite::TripleDes),
            TcpHandshake(Side::Client),
            TcpHandshake(Side::Server),
        ];
        for side in [Side::Client, Side::Server] {
            for kind in TlsKind::ALL {
                out.push(TlsHandshake(side, kind));
            }
        }
        for side in [Side::Client, Side::Server] {
            for kind in TlsKind::ALL {
                out.push(TlsConnection(side, kind));
            }
        }
        for fixed in [false, true] {
            for kind in TlsKind::ALL {
                out.push(TlsClientLoop { fixed, kind });
            }
        }
        out
    }

    /// Stable identifier, also the id of the paper's figure in `results/paper.json`
    /// (3DES auth over TLS has no paper figure and its own id).
    pub fn id(&self) -> String {
        use ComponentId::*;
        match self {
            UdpBase => "udp-base".into(),
            TcpExtra => "tcp-extra".into(),
            TlsBulk(s) => format!("tls-bulk-{}", s.label()),
            Auth(Transport::Tls, BulkSuite::TripleDes) => "auth-tls-3des".into(),
            Auth(t, _) => format!("auth-{}", transport_label(*t)),
            TcpHandshake(side) => format!("tcp-handshake-{}", side.label()),
            TlsHandshake(side, kind) => format!("tls-handshake-{}-{}", side.label(), kind.label()),
            TlsConnection(side, kind) => {
                format!("tls-connection-{}-{}", side.label(), kind.label())
            }
            TlsClientLoop { fixed, kind } => format!(
                "tls-handshake-client-{}-loop-{}",
                if *fixed { "fixed" } else { "faulty" },
                kind.label()
            ),
        }
    }

    /// The id of the paper's figure for this component in `results/paper.json`, if any
    /// (the faulty event loop is what the paper measured as its client handshake).
    pub fn paper_id(&self) -> Option<String> {
        use ComponentId::*;
        match self {
            Auth(Transport::Tls, BulkSuite::TripleDes) | TlsConnection(..) => None,
            TlsClientLoop { fixed: true, kind } => {
                Some(format!("tls-handshake-client-fixed-{}", kind.label()))
            }
            TlsClientLoop { fixed: false, kind } => {
                Some(format!("tls-handshake-client-{}", kind.label()))
            }
            other => Some(other.id()),
        }
    }

    /// True for the components no configuration needs (their benches are optional).
    pub fn optional(&self) -> bool {
        matches!(self, ComponentId::TlsClientLoop { .. })
    }

    /// Human label for tables.
    pub fn label(&self) -> String {
        use ComponentId::*;
        match self {
            UdpBase => "UDP data transfer (base)".into(),
            TcpExtra => "TCP data transfer (extra over UDP)".into(),
            TlsBulk(BulkSuite::Aes) => "TLS bulk, AES-128-CBC + HMAC-SHA1".into(),
            TlsBulk(BulkSuite::TripleDes) => "TLS bulk, 3DES-EDE-CBC + HMAC-SHA1".into(),
            Auth(Transport::Tls, BulkSuite::TripleDes) => "SIP auth over TLS (3DES)".into(),
            Auth(t, _) => format!("SIP auth over {}", transport_label(*t).to_uppercase()),
            TcpHandshake(side) => format!("TCP {} set-up and close (sockets)", side.label()),
            TlsHandshake(side, kind) => format!(
                "TLS {} handshake, {} (in memory)",
                side.label(),
                kind.label()
            ),
            TlsConnection(side, kind) => format!(
                "TLS {} connection handling, {} (sockets, beyond the handshake)",
                side.label(),
                kind.label()
            ),
            TlsClientLoop { fixed, kind } => format!(
                "TLS client handshake, {}, sockets + {} event loop",
                kind.label(),
                if *fixed { "fixed" } else { "faulty" }
            ),
        }
    }

    /// The components one call of `config` costs, each once (the paper's Sec. V-A sum).
    pub fn compose(config: &Config) -> Vec<ComponentId> {
        use ComponentId::*;
        let mut out = vec![UdpBase];
        if config.auth {
            out.push(Auth(config.transport, config.suite));
        }
        if config.transport == Transport::Udp {
            return out;
        }
        out.push(TcpExtra);
        if config.mode.new_left() {
            out.push(TcpHandshake(Side::Server));
        }
        if config.mode.new_right() {
            out.push(TcpHandshake(Side::Client));
        }
        if config.transport == Transport::Tls {
            out.push(TlsBulk(config.suite));
            if config.mode.new_left() {
                out.push(TlsHandshake(Side::Server, config.kind));
                out.push(TlsConnection(Side::Server, config.kind));
            }
            if config.mode.new_right() {
                out.push(TlsHandshake(Side::Client, config.kind));
                out.push(TlsConnection(Side::Client, config.kind));
            }
        }
        out
    }
}

/// The value a configuration is composed with: a TLS connection's handling on sockets beyond
/// its TCP set-up and in-memory handshake cannot cost less than nothing, so a negative
/// difference of those benches (noise between them) is taken as 0 and the model warns; every
/// other component as measured.
pub fn composed_us(id: &ComponentId, us: f64) -> f64 {
    match id {
        ComponentId::TlsConnection(..) => us.max(0.0),
        _ => us,
    }
}

fn transport_label(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
    }
}

/// Benchmark estimates with the place they came from (for error messages).
#[derive(Debug, Clone)]
pub struct Estimates {
    /// Estimates by full benchmark name.
    pub map: BTreeMap<String, Estimate>,
    /// Where they were read (criterion directory or results file).
    pub source: PathBuf,
}

impl Estimates {
    /// The estimate of `bench`, or an error naming it and the command that measures it (for
    /// a results file, also where that command's estimate lands: criterion's directory,
    /// which `tlscost model` without `--results` reads).
    pub fn get(&self, bench: &str) -> Result<&Estimate> {
        self.map.get(bench).ok_or_else(|| {
            let then = if self.source.is_file() {
                ", then `tlscost model` without --results (it reads target/criterion, where the bench writes), or `make model` for a whole new measurement"
            } else {
                ""
            };
            Error::Results {
                path: self.source.clone(),
                what: format!("no estimate for {bench}: run {}{then}", bench_command(bench)),
            }
        })
    }
}

/// The cargo bench target that produces a benchmark group.
pub fn bench_target(bench: &str) -> &'static str {
    match bench.split('/').next().unwrap_or("") {
        "handshake" => "handshakes",
        "transport" | "base" => "transport",
        "eventloop" => "eventloop",
        "connection" => "connections",
        _ => "primitives",
    }
}

/// The command that measures `bench`: its group filtered to its first three name parts (a
/// name of three parts or fewer: exactly that bench; a connection-handling bench: the
/// handling benches of its protocol), e.g.
/// `` `cargo bench --bench handshakes -- --quick '^handshake/openssl/tls13-aes128-gcm/'` ``,
/// `` `cargo bench --bench transport -- --quick '^base/udp-proxy/call-basic$'` ``.
pub fn bench_command(bench: &str) -> String {
    let parts: Vec<&str> = bench.split('/').collect();
    let prefix = parts[..parts.len().min(3)].join("/");
    let handling = format!("/{}", crate::connection::HANDLING);
    let pattern = if bench.starts_with("connection/") && bench.ends_with(&handling) {
        format!("^{prefix}/.*{handling}$")
    } else if parts.len() <= 3 {
        format!("^{bench}$")
    } else {
        format!("^{prefix}/")
    };
    format!(
        "`cargo bench --bench {} -- --quick '{pattern}'`",
        bench_target(bench)
    )
}

/// A weighted sum of benchmark medians (µs), with the interval from the same sum of bounds.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sum {
    /// `(benchmark, weight)`; a negative weight subtracts.
    pub terms: Vec<(String, f64)>,
    /// A constant added in µs (an operator's figure such as `--auth-us`).
    pub constant_us: f64,
}

/// A component's value on this machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measured {
    /// Median estimate (µs per call).
    pub us: f64,
    /// Lower bound (µs): the sum of the terms' confidence bounds, so a conservative interval.
    pub lower_us: f64,
    /// Upper bound (µs).
    pub upper_us: f64,
    /// The benchmarks it is made of, with their weights.
    pub benches: Vec<(String, f64)>,
}

impl Sum {
    /// Adds `weight` times `bench`.
    pub fn add(&mut self, bench: impl Into<String>, weight: f64) -> &mut Self {
        self.terms.push((bench.into(), weight));
        self
    }

    /// Evaluates the sum on `est`; a missing estimate is an error naming the bench.
    pub fn eval(&self, est: &Estimates) -> Result<Measured> {
        let (mut us, mut lo, mut hi) = (self.constant_us, self.constant_us, self.constant_us);
        for (bench, w) in &self.terms {
            let e = est.get(bench)?;
            us += w * e.median_ns / 1000.0;
            // Subtracting a term subtracts its upper bound from the lower sum.
            let (l, h) = if *w >= 0.0 {
                (e.lower_ns, e.upper_ns)
            } else {
                (e.upper_ns, e.lower_ns)
            };
            lo += w * l / 1000.0;
            hi += w * h / 1000.0;
        }
        Ok(Measured {
            us,
            lower_us: lo,
            upper_us: hi,
            benches: self.terms.clone(),
        })
    }
}

/// Weight of a message in the per-call transfer: a message on both legs is received once
/// and sent once by the proxy (one full send+receive); a left-leg-only message is either
/// received or sent by the proxy, half of a send+receive.
pub fn transfer_weight(legs: Legs) -> f64 {
    match legs {
        Legs::Both => 1.0,
        Legs::Left => 0.5,
    }
}

/// TLS record work for `flow`: a message on both legs is opened once (received) and sealed
/// once (sent); a left-leg message is opened if the caller sent it, sealed if the proxy did.
pub fn tls_bulk(flow: &SipFlow, backend: &str, suite: BulkSuite) -> Sum {
    tls_bulk_records(flow, backend, suite.record_label())
}

/// [`tls_bulk`] on the records of a record-bench suite label (`aes128-sha`, `aes128-gcm`, ...).
pub fn tls_bulk_records(flow: &SipFlow, backend: &str, record_suite: &str) -> Sum {
    let mut s = Sum::default();
    for m in &flow.messages {
        let rec = |op: &str| format!("record/{backend}/{record_suite}/{op}/sip-{}", m.name);
        match (m.legs, m.direction) {
            (Legs::Both, _) => {
                s.add(rec("open"), 1.0);
                s.add(rec("seal"), 1.0);
            }
            (Legs::Left, Direction::UacToUas) => {
                s.add(rec("open"), 1.0);
            }
            (Legs::Left, Direction::UasToUac) => {
                s.add(rec("seal"), 1.0);
            }
        }
    }
    s
}

/// `a - b`, with the terms of a bench both hold merged (so a message common to both
/// flows cancels out instead of widening the interval).
pub fn difference(a: &Sum, b: &Sum) -> Sum {
    let mut s = Sum {
        terms: Vec::new(),
        constant_us: a.constant_us - b.constant_us,
    };
    let negated = b.terms.iter().map(|(n, w)| (n, -w));
    for (bench, w) in a.terms.iter().map(|(n, w)| (n, *w)).chain(negated) {
        match s.terms.iter_mut().find(|(n, _)| n == bench) {
            Some((_, acc)) => *acc += w,
            None => s.terms.push((bench.clone(), w)),
        }
    }
    s.terms.retain(|(_, w)| w.abs() > 1e-12);
    s
}
