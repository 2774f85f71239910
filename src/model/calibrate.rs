//! Calibration of the per-call model on a server's measured per-call figures.
//!
//! A real proxy spends more around each component than the bare operation costs
//! (buffers, allocator, its own connection bookkeeping, its event loop). Given the
//! measured CPU µs per call of a few configurations, this module fits
//!
//! ```text
//! measured_us(config) ≈ Σ_kind factor_kind × bare_us(config, kind)        (factors)
//!                     + Σ_side term_side × new connections per call (side)  (terms, µs)
//!                     + Σ socket handling of the new connections            (as measured)
//! ```
//!
//! and predicts every other configuration with them. Its structure follows where a real
//! server spends:
//! - per message: one factor on the UDP base and TCP's extra (pooled as `transport` unless
//!   a TCP configuration tells them apart), one on the TLS records, one on SIP auth;
//! - per new connection, for each side apart (server: the proxy accepts from the UAC;
//!   client: it connects towards the UAS), never pooled across sides: a factor on the
//!   in-memory TLS handshake (its crypto and state machine) and a fixed µs per new
//!   connection, TCP or TLS (the server's own bookkeeping: connection objects, buffers,
//!   timers); the connection's handling on sockets beyond the handshake (system calls,
//!   round trips through the kernel, the event loop, close), measured on loopback
//!   ([`crate::connection`]), is taken at its measured cost. A side measured with one
//!   TLS kind only cannot tell the factor from the term: the handshake is then taken at
//!   its bare cost and the term carries the rest ([`SideFit::TermOnly`]).
//!
//! A configuration whose factors or terms the measured set does not determine is not
//! predicted: it is listed with the reason ("no measured configuration opens connections
//! towards the UAS"). A factor outside what a proxy can plausibly add to a bare component
//! ([`PLAUSIBLE`]) and a negative term are reported as such.
//!
//! With as many configurations as parameters the solve is exact (the paper's subtraction
//! method); with more it is least squares on relative errors (nalgebra's SVD), with
//! standard errors from the residuals and a leave-one-out prediction error per measured
//! configuration. A TLS configuration measured on another protocol than the model's
//! (`protocol` column) is priced with that protocol's handshake, connection and record
//! components; the factors and terms are the same for every protocol.

use super::components::Estimates;
use super::components::{ComponentId, Side};
use super::configs::{BulkSuite, Config, ProxyMode, TlsKind, Transport};
use super::{component_sum, Flows, ModelOptions};
use crate::handshake::Protocol;
use crate::names::Dimension;
use crate::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Header of the calibration CSV (its first non-comment line).
pub const CSV_HEADER: &str = "configuration,us_per_call";

/// An optional CSV column: the spread of the measurement (µs), for information.
pub const CSV_SPREAD: &str = "spread_us";

/// An optional CSV column: the handshake protocol of a TLS configuration, a
/// [`crate::handshake::Protocol`] label (empty or absent: the model's protocol, by default
/// the paper's `tls12-rsa-aes128-sha`).
pub const CSV_PROTOCOL: &str = "protocol";

/// Largest per-call cost accepted (µs): one second per call is not a SIP proxy.
pub const MAX_US: f64 = 1_000_000.0;

/// What a proxy can plausibly spend per occurrence of a component, as a multiple of its
/// bare cost: a fitted factor outside this range is reported (it says more about noise in
/// the figures, or a cost the model misses, than about the proxy).
pub const PLAUSIBLE: (f64, f64) = (0.5, 20.0);

/// Singular values below this share of the largest (columns scaled to unit norm) count
/// as zero: the parameter is not determined by the measured set.
const RANK_TOL: f64 = 1e-8;

/// What one factor or term applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Per-message UDP transport and SIP processing (the base).
    TransportUdp,
    /// What TCP adds per message over UDP.
    TransportTcp,
    /// Per-message TLS record work (open + seal).
    Record,
    /// SIP proxy authentication.
    Auth,
    /// The in-memory TLS handshake of one side (crypto and state machine): a factor.
    Handshake(Side),
    /// TCP set-up and close of one side on sockets (`connection/tcp/<side>`): a factor of
    /// its own when a TCP configuration per call is measured on the side, else sharing the
    /// side's handshake factor (or taken at × 1 where the side has none).
    TcpSetup(Side),
    /// What a new TLS connection costs one side on sockets beyond its TCP set-up and its
    /// in-memory handshake: taken at its measured cost.
    Socket(Side),
    /// A fixed cost per new TLS connection on one side, in µs: a term, whose bare value is
    /// the number of new TLS connections per call.
    NewConnection(Side),
}

impl Kind {
    /// True for the additive per-connection terms (µs per connection, not × bare cost).
    pub fn is_term(self) -> bool {
        matches!(self, Kind::NewConnection(_))
    }

    /// The kind a model component belongs to.
    pub fn of(c: &ComponentId) -> Kind {
        match c {
            ComponentId::UdpBase => Kind::TransportUdp,
            ComponentId::TcpExtra => Kind::TransportTcp,
            ComponentId::TlsBulk(_) => Kind::Record,
            ComponentId::Auth(..) => Kind::Auth,
            ComponentId::TcpHandshake(s) => Kind::TcpSetup(*s),
            ComponentId::TlsConnection(s, _) => Kind::Socket(*s),
            ComponentId::TlsHandshake(s, _) => Kind::Handshake(*s),
            ComponentId::TlsClientLoop { .. } => Kind::Handshake(Side::Client),
        }
    }

    /// Label, e.g. `tls-handshake-server`.
    pub fn label(self) -> String {
        match self {
            Kind::TransportUdp => "transport-udp".into(),
            Kind::TransportTcp => "transport-tcp".into(),
            Kind::Record => "tls-record".into(),
            Kind::Auth => "auth".into(),
            Kind::Handshake(s) => format!("tls-handshake-{}", s.label()),
            Kind::TcpSetup(s) => format!("tcp-setup-{}", s.label()),
            Kind::Socket(s) => format!("socket-{}", s.label()),
            Kind::NewConnection(s) => format!("per-connection-{}", s.label()),
        }
    }

    /// The side a per-connection kind belongs to.
    pub fn side(self) -> Option<Side> {
        match self {
            Kind::Handshake(s) | Kind::TcpSetup(s) | Kind::Socket(s) | Kind::NewConnection(s) => {
                Some(s)
            }
            _ => None,
        }
    }
}

/// How one side's new connections are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SideFit {
    /// A factor on the in-memory handshake and a µs term per new TLS connection (needs
    /// two TLS kinds of new connection on the side: full and resumed, or full and mutual).
    Both,
    /// The handshake factor only, no term (the paper's model).
    FactorOnly,
    /// The term only; the handshake at its bare cost (× 1).
    TermOnly,
}

impl SideFit {
    /// In order of preference at equal coverage and parameter count.
    const ALL: [SideFit; 3] = [SideFit::Both, SideFit::FactorOnly, SideFit::TermOnly];
}

/// How the kinds are fitted: which share a factor, which sides carry terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grouping {
    /// One factor for the UDP base and TCP's extra (per-message transport).
    pub pool_transport: bool,
    /// TCP set-up shares its side's handshake factor (× 1 where the side has none) instead
    /// of a factor of its own.
    pub pool_tcp_setup: bool,
    /// The server side (new connections from the UAC).
    pub server: SideFit,
    /// The client side (new connections towards the UAS).
    pub client: SideFit,
}

impl Grouping {
    /// Every grouping, in order of preference at equal coverage and parameter count:
    /// transport split first, then both sides as finely fitted as possible.
    pub fn all() -> Vec<Grouping> {
        let mut v = Vec::new();
        for pool_transport in [false, true] {
            for pool_tcp_setup in [false, true] {
                for server in SideFit::ALL {
                    for client in SideFit::ALL {
                        v.push(Grouping {
                            pool_transport,
                            pool_tcp_setup,
                            server,
                            client,
                        });
                    }
                }
            }
        }
        v
    }

    fn side(&self, s: Side) -> SideFit {
        match s {
            Side::Server => self.server,
            Side::Client => self.client,
        }
    }

    /// The fitted parameters: each a set of kinds sharing one factor, or one term.
    pub fn groups(&self) -> Vec<Vec<Kind>> {
        let mut g = if self.pool_transport {
            vec![vec![Kind::TransportUdp, Kind::TransportTcp]]
        } else {
            vec![vec![Kind::TransportUdp], vec![Kind::TransportTcp]]
        };
        g.push(vec![Kind::Record]);
        g.push(vec![Kind::Auth]);
        for s in [Side::Server, Side::Client] {
            let fit = self.side(s);
            let mut hs = vec![Kind::Handshake(s)];
            if self.pool_tcp_setup {
                hs.push(Kind::TcpSetup(s));
            } else {
                g.push(vec![Kind::TcpSetup(s)]);
            }
            if fit != SideFit::TermOnly {
                g.push(hs);
            }
            if fit != SideFit::FactorOnly {
                g.push(vec![Kind::NewConnection(s)]);
            }
        }
        g
    }

    /// The kinds taken at their bare cost (× 1), not fitted.
    pub fn fixed(&self) -> Vec<Kind> {
        let mut f = Vec::new();
        for s in [Side::Server, Side::Client] {
            f.push(Kind::Socket(s));
            if self.side(s) == SideFit::TermOnly {
                f.push(Kind::Handshake(s));
                if self.pool_tcp_setup {
                    f.push(Kind::TcpSetup(s));
                }
            }
        }
        f
    }
}

/// The name of a parameter that applies to these kinds, e.g. `transport`, `per-connection-server`.
pub fn group_name(kinds: &[Kind]) -> String {
    if kinds.len() > 1 && kinds.contains(&Kind::TransportUdp) {
        return "transport".into();
    }
    if let [Kind::Handshake(s), Kind::TcpSetup(_)] = kinds {
        return format!("connection-{}", s.label());
    }
    kinds
        .iter()
        .map(|k| k.label())
        .collect::<Vec<_>>()
        .join("+")
}

/// Why a parameter is not determined, in the operator's terms.
fn undetermined_reason(kinds: &[Kind]) -> String {
    match kinds[0] {
        Kind::Record => "no measured TLS configuration determines the TLS record factor".into(),
        Kind::Auth => "no measured configuration with SIP auth determines the auth factor".into(),
        Kind::TransportTcp => {
            "no measured TCP or TLS configuration determines TCP's per-message extra".into()
        }
        Kind::TcpSetup(s) => format!(
            "no measured TCP configuration {} determines the {} side's TCP set-up factor",
            side_verb(s),
            s.label()
        ),
        Kind::Handshake(s) | Kind::NewConnection(s) => format!(
            "the measured configurations {} cannot tell the {} side's handshake factor from its per-connection term (measure a second kind of new connection on that side: TCP, resumed or mutual)",
            side_verb(s),
            s.label()
        ),
        _ => format!("no measured configuration determines {}", group_name(kinds)),
    }
}

fn side_verb(s: Side) -> &'static str {
    match s {
        Side::Server => "that accept connections from the UAC",
        Side::Client => "that open connections towards the UAS",
    }
}

/// The reason a side with no measured new connection gives for not predicting.
pub fn unexercised_reason(s: Side) -> String {
    match s {
        Side::Server => "no measured configuration accepts new connections from the UAC (outbound or local mode): the server side's per-connection cost is unknown".into(),
        Side::Client => "no measured configuration opens connections towards the UAS (inbound or local mode): the client side's per-connection cost is unknown".into(),
    }
}

/// Every configuration calibration knows by name: the paper's (`Config::all`) first, then
/// the same modes with and without SIP auth that the paper did not run (for example the
/// testbed's `outbound/tls`).
pub fn universe() -> Vec<Config> {
    let mut out = Config::all();
    let mut push = |c: Config| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    for auth in [false, true] {
        for mode in ProxyMode::ALL.iter().copied() {
            let base = Config {
                mode,
                auth,
                transport: Transport::Tcp,
                kind: TlsKind::Full,
                suite: BulkSuite::Aes,
            };
            if mode == ProxyMode::ProxyChain {
                push(Config {
                    transport: Transport::Udp,
                    ..base
                });
                push(base);
                for suite in BulkSuite::ALL {
                    push(Config {
                        transport: Transport::Tls,
                        suite,
                        ..base
                    });
                }
            } else {
                push(base);
                for kind in TlsKind::ALL {
                    push(Config {
                        transport: Transport::Tls,
                        kind,
                        ..base
                    });
                }
            }
        }
    }
    out
}

/// Parses a configuration name of [`universe`]; the error lists the valid names.
pub fn config_from_name(name: &str) -> std::result::Result<Config, String> {
    let all = universe();
    all.iter()
        .copied()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            let valid: Vec<String> = all.iter().map(|c| c.name()).collect();
            format!(
                "unknown configuration '{name}'; expected one of: {}",
                valid.join(", ")
            )
        })
}

/// One measured configuration of a calibration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// Configuration name, as the model prints it.
    pub configuration: String,
    /// The proxy's CPU µs per call.
    pub us_per_call: f64,
    /// Spread of repeated measurements (µs), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread_us: Option<f64>,
    /// Handshake protocol label of a TLS configuration ([`CSV_PROTOCOL`]); `None`: the paper's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

/// The JSON form of a calibration file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationFile {
    /// Where the figures come from (free text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The measured configurations.
    pub measurements: Vec<Measurement>,
}

/// A checked measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// The configuration.
    pub config: Config,
    /// µs per call.
    pub us: f64,
    /// Spread, if given.
    pub spread_us: Option<f64>,
    /// The handshake protocol of a TLS configuration, when the file names one.
    pub protocol: Option<crate::handshake::Protocol>,
}

fn bad(path: &Path, what: impl Into<String>) -> Error {
    Error::Results {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// Reads a calibration file: JSON when it ends in `.json` or starts with `{`, else CSV.
pub fn read_file(path: &Path) -> Result<Vec<Measured>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading calibration file {}", path.display()), e))?;
    parse(&text, path)
}

/// Parses calibration text (CSV or JSON), `path` naming it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Vec<Measured>> {
    let is_json =
        path.extension().is_some_and(|e| e == "json") || text.trim_start().starts_with('{');
    let rows: Vec<(String, Measurement)> = if crate::server::file::ServerFile::is_server_file(text)
    {
        crate::server::file::ServerFile::parse(text, path)?
            .calibration_rows()
            .into_iter()
            .enumerate()
            .map(|(i, m)| (format!("measurement {}", i + 1), m))
            .collect()
    } else if is_json {
        let f: CalibrationFile = serde_json::from_str(text).map_err(|e| {
            bad(
                path,
                format!(
                    "not a calibration JSON ({e}); expected {{\"measurements\": [{{\"configuration\": \"proxy-chain/udp\", \"us_per_call\": 40.0}}, ...]}}"
                ),
            )
        })?;
        f.measurements
            .into_iter()
            .enumerate()
            .map(|(i, m)| (format!("measurement {}", i + 1), m))
            .collect()
    } else {
        parse_csv(text, path)?
    };
    check(rows, path)
}

fn parse_csv(text: &str, path: &Path) -> Result<Vec<(String, Measurement)>> {
    let mut rows = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let at = format!("line {}", i + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<String> = line.split(',').map(|c| c.trim().to_string()).collect();
        let Some(h) = &header else {
            let optional = |c: &String| c == CSV_SPREAD || c == CSV_PROTOCOL;
            let ok = cells.len() >= 2
                && cells[0] == "configuration"
                && cells[1] == "us_per_call"
                && cells[2..].iter().all(optional)
                && (2..cells.len()).all(|i| !cells[i + 1..].contains(&cells[i]));
            if !ok {
                return Err(bad(
                    path,
                    format!("{at}: header '{line}'; expected '{CSV_HEADER}' (optionally ',{CSV_SPREAD}' and ',{CSV_PROTOCOL}')"),
                ));
            }
            header = Some(cells);
            continue;
        };
        if cells.len() != h.len() {
            return Err(bad(
                path,
                format!(
                    "{at}: '{line}' has {} fields; expected {} ({})",
                    cells.len(),
                    h.len(),
                    h.join(",")
                ),
            ));
        }
        let num = |s: &str, col: &str| {
            s.parse::<f64>().map_err(|_| {
                bad(
                    path,
                    format!("{at}: {col} '{s}' is not a number (µs per call)"),
                )
            })
        };
        let us = num(&cells[1], "us_per_call")?;
        let column = |name: &str| {
            h.iter()
                .position(|c| c == name)
                .map(|i| cells[i].clone())
                .filter(|v| !v.is_empty())
        };
        let spread = match column(CSV_SPREAD) {
            Some(s) => Some(num(&s, CSV_SPREAD)?),
            None => None,
        };
        rows.push((
            at,
            Measurement {
                configuration: cells[0].clone(),
                us_per_call: us,
                spread_us: spread,
                protocol: column(CSV_PROTOCOL),
            },
        ));
    }
    if header.is_none() {
        return Err(bad(
            path,
            format!("empty; expected the header '{CSV_HEADER}' and one row per configuration"),
        ));
    }
    Ok(rows)
}

fn check(rows: Vec<(String, Measurement)>, path: &Path) -> Result<Vec<Measured>> {
    let mut out: Vec<Measured> = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (at, m) in rows {
        let config =
            config_from_name(&m.configuration).map_err(|e| bad(path, format!("{at}: {e}")))?;
        let ok = |v: f64| (0.0..=MAX_US).contains(&v);
        if !ok(m.us_per_call) || m.us_per_call == 0.0 {
            return Err(bad(
                path,
                format!(
                    "{at}: {}: us_per_call {} must be a finite positive number of µs, at most {MAX_US}",
                    m.configuration, m.us_per_call
                ),
            ));
        }
        if let Some(s) = m.spread_us.filter(|s| !ok(*s)) {
            return Err(bad(
                path,
                format!(
                    "{at}: {}: {CSV_SPREAD} {s} must be finite and non-negative",
                    m.configuration
                ),
            ));
        }
        let protocol = match &m.protocol {
            None => None,
            Some(label) => {
                if config.transport != Transport::Tls {
                    return Err(bad(
                        path,
                        format!(
                            "{at}: {}: protocol '{label}' given for a configuration without TLS; leave it empty",
                            m.configuration
                        ),
                    ));
                }
                Some(protocol_from_label(label).map_err(|e| bad(path, format!("{at}: {e}")))?)
            }
        };
        let key = match &m.protocol {
            Some(p) => format!("{} ({p})", m.configuration),
            None => m.configuration.clone(),
        };
        if let Some(first) = seen.insert(key.clone(), at.clone()) {
            return Err(bad(
                path,
                format!("{at}: {key} is measured twice (first at {first}); give one figure per configuration"),
            ));
        }
        out.push(Measured {
            config,
            us: m.us_per_call,
            spread_us: m.spread_us,
            protocol,
        });
    }
    if out.is_empty() {
        return Err(bad(
            path,
            "no measurements; expected at least one configuration",
        ));
    }
    Ok(out)
}

/// The handshake protocol of a label (`tls13-aes128-gcm`); the error lists the valid labels.
pub fn protocol_from_label(label: &str) -> std::result::Result<crate::handshake::Protocol, String> {
    use crate::handshake::Protocol;
    Protocol::ALL
        .iter()
        .copied()
        .find(|p| p.label() == label)
        .ok_or_else(|| {
            let valid: Vec<&str> = Protocol::ALL.iter().map(|p| p.label()).collect();
            format!(
                "unknown protocol '{label}'; expected one of: {}",
                valid.join(", ")
            )
        })
}

/// Writes measurements as calibration CSV (atomically), `comment` lines first.
pub fn write_csv(path: &Path, comment: &[String], rows: &[Measurement]) -> Result<()> {
    let mut s = String::new();
    for c in comment {
        s.push_str(&format!("# {c}\n"));
    }
    let spread = rows.iter().any(|r| r.spread_us.is_some());
    let protocol = rows.iter().any(|r| r.protocol.is_some());
    s.push_str(CSV_HEADER);
    if spread {
        s.push(',');
        s.push_str(CSV_SPREAD);
    }
    if protocol {
        s.push(',');
        s.push_str(CSV_PROTOCOL);
    }
    s.push('\n');
    for r in rows {
        s.push_str(&format!("{},{:.3}", r.configuration, r.us_per_call));
        if spread {
            s.push_str(
                &r.spread_us
                    .map(|x| format!(",{x:.3}"))
                    .unwrap_or_else(|| ",".into()),
            );
        }
        if protocol {
            s.push(',');
            s.push_str(r.protocol.as_deref().unwrap_or(""));
        }
        s.push('\n');
    }
    crate::fsutil::write_atomic(path, s.as_bytes())
}

/// The bare µs per call of every component of one protocol (factor 1).
pub type ComponentValues = BTreeMap<ComponentId, f64>;

/// The bare components by handshake protocol: what calibration prices a configuration with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prices {
    /// The model's protocol: TLS rows without one, and every prediction, are priced with it.
    pub protocol: Option<Protocol>,
    /// Component values per protocol (only the protocols whose benchmarks were found).
    pub by_protocol: BTreeMap<Protocol, ComponentValues>,
    /// Per protocol, the components whose benchmarks are missing, with the error naming them.
    pub missing: BTreeMap<Protocol, BTreeMap<ComponentId, String>>,
}

impl Prices {
    /// Prices of one protocol only (for synthetic data and tests).
    pub fn single(protocol: Protocol, values: ComponentValues) -> Prices {
        Prices {
            protocol: Some(protocol),
            by_protocol: BTreeMap::from([(protocol, values)]),
            missing: BTreeMap::new(),
        }
    }

    /// The model's protocol.
    pub fn default_protocol(&self) -> Protocol {
        self.protocol.unwrap_or(Protocol::Tls12RsaAes128Sha)
    }

    /// The values of `protocol`, if any were found.
    pub fn values(&self, protocol: Protocol) -> Option<&ComponentValues> {
        self.by_protocol.get(&protocol)
    }
}

/// One measured or predicted configuration's key: the configuration and, for TLS, its
/// handshake protocol.
pub fn key_name(config: &Config, protocol: Option<Protocol>, default: Protocol) -> String {
    match protocol {
        Some(p) if config.transport == Transport::Tls && p != default => {
            format!("{} ({})", config.name(), p.label())
        }
        _ => config.name(),
    }
}

/// One fitted factor or term.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    /// Name, e.g. `transport`, `tls-handshake-server`, `per-connection-client`.
    pub name: String,
    /// The kinds it applies to.
    pub kinds: Vec<String>,
    /// `× bare` for a factor, `µs per connection` for a per-connection term.
    pub unit: String,
    /// The fitted factor (measured / bare cost), or the term in µs per connection.
    pub value: f64,
    /// Standard error from the residuals (only when over-determined).
    pub std_error: Option<f64>,
    /// False when a factor is outside [`PLAUSIBLE`] or a term is negative.
    pub plausible: bool,
}

/// One configuration after calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Configuration name.
    pub name: String,
    /// Handshake protocol label of a TLS configuration.
    pub protocol: Option<String>,
    /// True when it was in the calibration file.
    pub measured: bool,
    /// The measured µs per call.
    pub measured_us: Option<f64>,
    /// The bare model (every factor 1, no term).
    pub model_us: Option<f64>,
    /// The calibrated prediction (µs per call).
    pub predicted_us: Option<f64>,
    /// (predicted − measured) / measured of the fit (measured rows only).
    pub fit_error: Option<f64>,
    /// The same, with this row left out of the fit (measured rows, over-determined sets).
    pub loo_error: Option<f64>,
    /// Why a figure is missing.
    pub note: Option<String>,
}

impl Row {
    /// `name` or `name (protocol)` when the protocol is not the model's.
    pub fn key(&self, default: Protocol) -> String {
        match &self.protocol {
            Some(p) if p != default.label() => format!("{} ({p})", self.name),
            _ => self.name.clone(),
        }
    }
}

/// The result of a calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// How the kinds were fitted.
    pub grouping: Grouping,
    /// The fitted factors and terms.
    pub factors: Vec<Factor>,
    /// Number of measured configurations.
    pub measured: usize,
    /// `exact` (as many configurations as parameters: the paper's subtraction) or `least-squares`.
    pub method: String,
    /// Root mean square of the relative fit residuals (least squares only).
    pub rms_residual: Option<f64>,
    /// The model's protocol (label).
    pub protocol: String,
    /// Every configuration of [`universe`] on the model's protocol, then the TLS ones on
    /// every other protocol that was benchmarked or that the file measured.
    pub rows: Vec<Row>,
    /// What the fit takes as given (kinds at their bare cost).
    pub notes: Vec<String>,
    /// Parameters the data do not support well: implausible, negative, or smaller than
    /// their standard error.
    pub warnings: Vec<String>,
}

/// Whether the fit must carry the per-connection terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionTerm {
    /// Of the groupings that determine every parameter, the one predicting the most
    /// configurations wins, then the one with the most parameters, then the finest.
    #[default]
    Auto,
    /// Each side measured with new connections gets both its handshake factor and its
    /// term ([`SideFit::Both`]); a set that cannot determine them is refused, naming them.
    Required,
}

/// Components of a configuration summed per kind, with the new connections per side;
/// `Err` names a missing component.
fn kind_sums(
    c: &Config,
    values: &ComponentValues,
) -> std::result::Result<BTreeMap<Kind, f64>, ComponentId> {
    let mut m = BTreeMap::new();
    for id in ComponentId::compose(c) {
        let v = values.get(&id).ok_or(id)?;
        *m.entry(Kind::of(&id)).or_insert(0.0) += v;
        // Each handshake component is one new TLS connection per call; every new
        // connection, TCP or TLS, has one TCP set-up (which marks the side as used).
        if let ComponentId::TlsHandshake(s, _) = id {
            *m.entry(Kind::NewConnection(s)).or_insert(0.0) += 1.0;
        }
    }
    Ok(m)
}

fn design_row(sums: &BTreeMap<Kind, f64>, groups: &[Vec<Kind>]) -> Vec<f64> {
    groups
        .iter()
        .map(|g| g.iter().map(|k| sums.get(k).copied().unwrap_or(0.0)).sum())
        .collect()
}

fn fixed_part(sums: &BTreeMap<Kind, f64>, fixed: &[Kind]) -> f64 {
    fixed
        .iter()
        .map(|k| sums.get(k).copied().unwrap_or(0.0))
        .sum()
}

/// A parameter is "present" when some measured configuration uses it.
fn present(rows: &[Vec<f64>], j: usize) -> bool {
    rows.iter().any(|r| r[j].abs() > 0.0)
}

/// The bare model of a configuration (every factor 1, no per-connection term), µs.
fn bare_us(sums: &BTreeMap<Kind, f64>) -> f64 {
    sums.iter()
        .filter(|(k, _)| !k.is_term())
        .map(|(_, v)| v)
        .sum()
}

/// The sides a configuration opens new connections on.
fn sides_of(sums: &BTreeMap<Kind, f64>) -> Vec<Side> {
    [Side::Server, Side::Client]
        .into_iter()
        .filter(|s| sums.get(&Kind::TcpSetup(*s)).is_some_and(|n| *n != 0.0))
        .collect()
}

/// One configuration to fit or predict, priced.
struct Priced {
    config: Config,
    protocol: Protocol,
    sums: std::result::Result<BTreeMap<Kind, f64>, String>,
}

fn price(config: Config, protocol: Protocol, prices: &Prices) -> Priced {
    let sums = match prices.values(protocol) {
        None => Err(format!(
            "no benchmarks of protocol {} were found",
            protocol.label()
        )),
        Some(v) => kind_sums(&config, v).map_err(|id| {
            prices
                .missing
                .get(&protocol)
                .and_then(|m| m.get(&id))
                .cloned()
                .unwrap_or_else(|| format!("the model has no value for its component {}", id.id()))
        }),
    };
    Priced {
        config,
        protocol,
        sums,
    }
}

/// The protocol a measured row is priced with (its own, else the model's).
fn row_protocol(m: &Measured, prices: &Prices) -> Protocol {
    match (m.config.transport, m.protocol) {
        (Transport::Tls, Some(p)) => p,
        _ => prices.default_protocol(),
    }
}

/// Fits the factors and terms to `measured` ([`ConnectionTerm::Auto`]).
pub fn fit(measured: &[Measured], prices: &Prices) -> Result<Calibration> {
    fit_with(measured, prices, ConnectionTerm::Auto)
}

/// Fits the factors and terms as `term` says; predicts every configuration the fit determines.
pub fn fit_with(
    measured: &[Measured],
    prices: &Prices,
    term: ConnectionTerm,
) -> Result<Calibration> {
    if measured.is_empty() {
        return Err(Error::Usage(
            "calibration needs at least one measured configuration".into(),
        ));
    }
    let default = prices.default_protocol();
    let mut sums = Vec::new();
    for m in measured {
        let p = price(m.config, row_protocol(m, prices), prices);
        let s = p.sums.map_err(|why| {
            Error::Usage(format!(
                "{}: cannot price it: {why}",
                key_name(&m.config, Some(p.protocol), default)
            ))
        })?;
        sums.push(s);
    }
    let y: Vec<f64> = measured.iter().map(|m| m.us).collect();
    let exercised: BTreeSet<Side> = sums.iter().flat_map(sides_of).collect();
    // Sides with a TCP configuration per call measured: only there can TCP set-up have a
    // factor of its own (elsewhere it would only stand in for the per-connection term).
    let tcp_sides: BTreeSet<Side> = measured
        .iter()
        .zip(&sums)
        .filter(|(m, _)| m.config.transport == Transport::Tcp)
        .flat_map(|(_, s)| sides_of(s))
        .collect();

    // What is predicted: the universe on the model's protocol, then the TLS configurations
    // on the other protocols the file names.
    let mut targets: Vec<Priced> = universe()
        .into_iter()
        .map(|c| price(c, default, prices))
        .collect();
    // Every other protocol whose components were measured, and those the file names.
    let others: BTreeSet<Protocol> = measured
        .iter()
        .map(|m| row_protocol(m, prices))
        .chain(prices.by_protocol.keys().copied())
        .filter(|p| *p != default)
        .collect();
    for p in others {
        for c in universe()
            .into_iter()
            .filter(|c| c.transport == Transport::Tls)
        {
            targets.push(price(c, p, prices));
        }
    }

    // Pick the grouping: full rank on the measured set, predicting the most
    // configurations, then the most parameters, then the first in preference order.
    let mut best: Option<(Grouping, usize, usize)> = None;
    for g in Grouping::all() {
        if term == ConnectionTerm::Required
            && (g.server != SideFit::Both || g.client != SideFit::Both)
        {
            continue;
        }
        if !g.pool_tcp_setup && tcp_sides != exercised {
            continue;
        }
        let groups = g.groups();
        let a: Vec<Vec<f64>> = sums.iter().map(|s| design_row(s, &groups)).collect();
        let used: Vec<usize> = (0..groups.len()).filter(|&j| present(&a, j)).collect();
        if rank(&columns(&a, &used)) < used.len() {
            continue;
        }
        let coverage = targets
            .iter()
            .filter(|t| predictable(t, &groups, &used, &exercised).is_ok())
            .count();
        let better = match best {
            None => true,
            Some((_, cov, np)) => coverage > cov || (coverage == cov && used.len() > np),
        };
        if better {
            best = Some((g, coverage, used.len()));
        }
    }
    let Some((grouping, _, _)) = best else {
        return Err(underdetermined(measured, &sums, term));
    };

    let groups = grouping.groups();
    let fixed = grouping.fixed();
    let a_full: Vec<Vec<f64>> = sums.iter().map(|s| design_row(s, &groups)).collect();
    let used: Vec<usize> = (0..groups.len()).filter(|&j| present(&a_full, j)).collect();
    let a = columns(&a_full, &used);
    let c: Vec<f64> = sums.iter().map(|s| fixed_part(s, &fixed)).collect();
    let sol = solve(&a, &c, &y).ok_or_else(|| underdetermined(measured, &sums, term))?;
    let (n, p) = (a.len(), used.len());
    let factors: Vec<Factor> = used
        .iter()
        .enumerate()
        .map(|(i, &j)| {
            let is_term = groups[j].iter().any(|k| k.is_term());
            let v = sol.x[i];
            Factor {
                name: group_name(&groups[j]),
                kinds: groups[j].iter().map(|k| k.label()).collect(),
                unit: if is_term {
                    "µs per connection".into()
                } else {
                    "× bare".into()
                },
                value: v,
                std_error: sol.se.as_ref().map(|se| se[i]),
                plausible: if is_term {
                    v >= 0.0
                } else {
                    (PLAUSIBLE.0..=PLAUSIBLE.1).contains(&v)
                },
            }
        })
        .collect();

    // Leave-one-out: refit without each measured row, predict it.
    let mut loo: Vec<std::result::Result<f64, String>> = Vec::new();
    for i in 0..n {
        if n <= p {
            loo.push(Err(
                "as many configurations as parameters: no leave-one-out".into(),
            ));
            continue;
        }
        let keep: Vec<usize> = (0..n).filter(|&k| k != i).collect();
        let rest: Vec<Vec<f64>> = keep.iter().map(|&k| a[k].clone()).collect();
        let rc: Vec<f64> = keep.iter().map(|&k| c[k]).collect();
        let ry: Vec<f64> = keep.iter().map(|&k| y[k]).collect();
        match solve(&rest, &rc, &ry) {
            Some(s) => loo.push(Ok((dot(&a[i], &s.x) + c[i]) / y[i] - 1.0)),
            None => {
                let undetermined: Vec<String> = (0..p)
                    .filter(|&j| !identifiable(&rest, j))
                    .map(|j| group_name(&groups[used[j]]))
                    .collect();
                loo.push(Err(format!(
                    "without it the rest cannot determine {}",
                    undetermined.join(", ")
                )));
            }
        }
    }

    let measured_at: BTreeMap<(Config, Protocol), usize> = measured
        .iter()
        .enumerate()
        .map(|(i, m)| ((m.config, row_protocol(m, prices)), i))
        .collect();
    let rows = targets
        .iter()
        .map(|t| {
            let mi = measured_at.get(&(t.config, t.protocol)).copied();
            let mut row = Row {
                name: t.config.name(),
                protocol: (t.config.transport == Transport::Tls)
                    .then(|| t.protocol.label().to_string()),
                measured: mi.is_some(),
                measured_us: mi.map(|i| y[i]),
                model_us: None,
                predicted_us: None,
                fit_error: None,
                loo_error: None,
                note: None,
            };
            let s = match &t.sums {
                Ok(s) => s,
                Err(why) => {
                    row.note = Some(format!("not priced: {why}"));
                    return row;
                }
            };
            row.model_us = Some(bare_us(s));
            if let Err(why) = predictable(t, &groups, &used, &exercised) {
                row.note = Some(format!("not predicted: {why}"));
                return row;
            }
            let r = design_row(s, &groups);
            let pred: f64 = used
                .iter()
                .enumerate()
                .map(|(i, &j)| r[j] * sol.x[i])
                .sum::<f64>()
                + fixed_part(s, &fixed);
            row.predicted_us = Some(pred);
            if let Some(i) = mi {
                row.fit_error = Some(pred / y[i] - 1.0);
                match &loo[i] {
                    Ok(e) => row.loo_error = Some(*e),
                    Err(w) => row.note = Some(w.clone()),
                }
            }
            row
        })
        .collect();

    let mut warnings = Vec::new();
    for f in &factors {
        if !f.plausible {
            warnings.push(if f.unit == "× bare" {
                format!(
                    "factor '{}' = {:.2}: outside what a proxy can plausibly spend per bare component ({}x to {}x): the server does work the model has no component for (its own message handling, memory management, logging: `tlscost server ... --profile-configs` profiles it), or the figures it rests on are noisy",
                    f.name, f.value, PLAUSIBLE.0, PLAUSIBLE.1
                )
            } else {
                format!(
                    "term '{}' = {:.1} µs per connection is negative: the server spends less per new connection than the measured socket components; the figures it rests on are noisy",
                    f.name, f.value
                )
            });
        } else if let Some(se) = f.std_error.filter(|se| *se > f.value.abs()) {
            warnings.push(format!(
                "'{}' = {:.2} ± {se:.2}: not significantly different from zero",
                f.name, f.value
            ));
        }
    }
    let mut notes = vec![
        "A new TLS connection's handling on sockets beyond its TCP set-up and in-memory handshake (connection/openssl/.../handling: one bench, the difference measured interleaved) is taken at its measured cost (× 1): the same kernel does it for the server.".to_string(),
    ];
    for s in [Side::Server, Side::Client] {
        if !exercised.contains(&s) {
            continue;
        }
        match grouping.side(s) {
            SideFit::FactorOnly => notes.push(format!(
                "{} side: one kind of TLS connection measured, which cannot tell a handshake factor from a per-connection term: the factor is fitted, no term (the paper's model); measure resumed or mutual on this side to fit both.",
                s.label()
            )),
            SideFit::TermOnly => notes.push(format!(
                "{} side: the in-memory handshake is taken at its bare cost (× 1) and the per-connection term carries the rest.",
                s.label()
            )),
            SideFit::Both => {}
        }
        if grouping.pool_tcp_setup {
            notes.push(format!(
                "{} side: no TCP configuration per call measured: TCP set-up shares the side's handshake factor.",
                s.label()
            ));
        }
    }
    Ok(Calibration {
        warnings,
        grouping,
        factors,
        measured: n,
        method: if n == p {
            "exact".into()
        } else {
            "least-squares".into()
        },
        rms_residual: sol.rms,
        protocol: default.label().into(),
        rows,
        notes,
    })
}

/// Whether a priced target can be predicted by a fit of `groups` (`used` determined):
/// every side it opens connections on was measured, every parameter it needs determined.
fn predictable(
    t: &Priced,
    groups: &[Vec<Kind>],
    used: &[usize],
    exercised: &BTreeSet<Side>,
) -> std::result::Result<(), String> {
    let s = t.sums.as_ref().map_err(|e| e.clone())?;
    for side in sides_of(s) {
        if !exercised.contains(&side) {
            return Err(unexercised_reason(side));
        }
    }
    let r = design_row(s, groups);
    let missing: Vec<String> = (0..groups.len())
        .filter(|j| r[*j] != 0.0 && !used.contains(j))
        .map(|j| undetermined_reason(&groups[j]))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(missing.join("; "))
    }
}

/// The refusal for a measured set that no grouping can fit: names the parameters of the
/// coarsest grouping it cannot determine and the configurations that would.
fn underdetermined(
    measured: &[Measured],
    sums: &[BTreeMap<Kind, f64>],
    term: ConnectionTerm,
) -> Error {
    let coarse = Grouping {
        pool_transport: true,
        pool_tcp_setup: true,
        server: if term == ConnectionTerm::Required {
            SideFit::Both
        } else {
            SideFit::TermOnly
        },
        client: if term == ConnectionTerm::Required {
            SideFit::Both
        } else {
            SideFit::TermOnly
        },
    };
    let groups = coarse.groups();
    let a_full: Vec<Vec<f64>> = sums.iter().map(|s| design_row(s, &groups)).collect();
    let used: Vec<usize> = (0..groups.len()).filter(|&j| present(&a_full, j)).collect();
    let a = columns(&a_full, &used);
    let mut lines = Vec::new();
    for (i, &j) in used.iter().enumerate() {
        if identifiable(&a, i) {
            continue;
        }
        let kinds: Vec<String> = groups[j].iter().map(|k| k.label()).collect();
        lines.push(format!(
            "{} '{}' ({}) is not determined: it always occurs together with others in the same proportion; {}",
            if groups[j].iter().any(|k| k.is_term()) {
                "per-connection term"
            } else {
                "factor"
            },
            group_name(&groups[j]),
            kinds.join(" + "),
            match groups[j][0] {
                Kind::TransportUdp => "also measure proxy-chain/udp".to_string(),
                Kind::Record => "also measure proxy-chain/tls-aes".to_string(),
                Kind::TcpSetup(s) => format!(
            "no measured TCP configuration {} determines the {} side's TCP set-up factor",
            side_verb(s),
            s.label()
        ),
        Kind::Handshake(s) | Kind::NewConnection(s) => format!(
                    "also measure a second kind of new connection on the {} side ({})",
                    s.label(),
                    match s {
                        Side::Server => "outbound/tcp, outbound/tls-resumed or outbound/tls-mutual",
                        Side::Client => "inbound/tcp, inbound/tls-resumed or inbound/tls-mutual",
                    }
                ),
                _ => "measure a configuration that has it alone".to_string(),
            }
        ));
    }
    if lines.is_empty() {
        lines.push("the measured configurations are linearly dependent".into());
    }
    let names: Vec<String> = measured.iter().map(|m| m.config.name()).collect();
    Error::Usage(format!(
        "calibration refused: the measured set ({}) cannot determine every factor{}, even with kinds pooled: {}",
        names.join(", "),
        if term == ConnectionTerm::Required {
            " and the per-connection term of each side (required)"
        } else {
            ""
        },
        lines.join("; ")
    ))
}

// ---- least squares (nalgebra) --------------------------------------------------------------

fn columns(a: &[Vec<f64>], cols: &[usize]) -> Vec<Vec<f64>> {
    a.iter()
        .map(|r| cols.iter().map(|&j| r[j]).collect())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `a` as a matrix with each column scaled to unit norm, and the scales (0 for a zero column).
fn normalised(a: &[Vec<f64>]) -> (DMatrix<f64>, Vec<f64>) {
    let n = a.len();
    let p = a.first().map_or(0, |r| r.len());
    let mut m = DMatrix::from_fn(n, p, |i, j| a[i][j]);
    let scale: Vec<f64> = (0..p).map(|j| m.column(j).norm()).collect();
    for (j, s) in scale.iter().enumerate() {
        if *s > 0.0 {
            m.column_mut(j).unscale_mut(*s);
        }
    }
    (m, scale)
}

/// The numerical rank of `a` (columns scaled to unit norm first).
fn rank(a: &[Vec<f64>]) -> usize {
    let p = a.first().map_or(0, |r| r.len());
    if a.is_empty() || p == 0 {
        return 0;
    }
    let (m, _) = normalised(a);
    let sv = m.singular_values();
    let max = sv.max();
    if max <= 0.0 {
        return 0;
    }
    sv.iter().filter(|s| **s > RANK_TOL * max).count()
}

/// Parameter `j` is determined by `a` iff dropping its column lowers the rank.
fn identifiable(a: &[Vec<f64>], j: usize) -> bool {
    let p = a.first().map_or(0, |r| r.len());
    let others: Vec<usize> = (0..p).filter(|&k| k != j).collect();
    rank(a) == rank(&columns(a, &others)) + 1
}

struct Solution {
    x: Vec<f64>,
    se: Option<Vec<f64>>,
    rms: Option<f64>,
}

/// Least squares on relative errors: minimises Σ ((a_i·x + c_i − y_i) / y_i)² by the SVD
/// of the row-scaled, column-normalised matrix. `None` when the columns are dependent.
fn solve(a: &[Vec<f64>], c: &[f64], y: &[f64]) -> Option<Solution> {
    let n = a.len();
    let p = a.first().map_or(0, |r| r.len());
    let relative = |x: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| (dot(&a[i], x) + c[i]) / y[i] - 1.0)
            .collect()
    };
    if p == 0 {
        // Nothing to fit: everything is fixed.
        let r = relative(&[]);
        return Some(Solution {
            x: vec![],
            se: None,
            rms: (n > 0).then(|| (r.iter().map(|e| e * e).sum::<f64>() / n as f64).sqrt()),
        });
    }
    if n < p {
        return None;
    }
    let scaled: Vec<Vec<f64>> = (0..n)
        .map(|i| a[i].iter().map(|v| v / y[i]).collect())
        .collect();
    let (m, scale) = normalised(&scaled);
    if scale.contains(&0.0) {
        return None;
    }
    let t = DVector::from_fn(n, |i, _| (y[i] - c[i]) / y[i]);
    let svd = m.svd(true, true);
    let max = svd.singular_values.max();
    if svd.singular_values.iter().any(|s| *s <= RANK_TOL * max) {
        return None;
    }
    let z = svd.solve(&t, 0.0).ok()?;
    let x: Vec<f64> = (0..p).map(|j| z[j] / scale[j]).collect();
    if n == p {
        return Some(Solution {
            x,
            se: None,
            rms: None,
        });
    }
    // s² = RSS / (n − p); cov(z) = s² V Σ⁻² Vᵀ.
    let rss: f64 = relative(&x).iter().map(|e| e * e).sum();
    let s2 = rss / (n - p) as f64;
    let v_t = svd.v_t.as_ref()?;
    let se: Vec<f64> = (0..p)
        .map(|j| {
            let var: f64 = (0..p)
                .map(|k| (v_t[(k, j)] / svd.singular_values[k]).powi(2))
                .sum::<f64>()
                * s2;
            var.sqrt() / scale[j]
        })
        .collect();
    Some(Solution {
        x,
        se: Some(se),
        rms: Some((rss / n as f64).sqrt()),
    })
}

/// Formats a relative error as a signed percentage.
pub fn pct(e: f64) -> String {
    format!("{:+.1}%", e * 100.0)
}

/// Evaluates every component some configuration of [`universe`] needs, for `opts`'s
/// protocol; a component whose benchmarks are missing is left out with the reason.
pub fn component_values(
    opts: &ModelOptions,
    flows: &Flows,
    est: &Estimates,
) -> (ComponentValues, BTreeMap<ComponentId, String>) {
    let mut values = BTreeMap::new();
    let mut missing = BTreeMap::new();
    for c in universe() {
        for id in ComponentId::compose(&c) {
            if values.contains_key(&id) || missing.contains_key(&id) {
                continue;
            }
            match component_sum(&id, opts, flows).eval(est) {
                Ok(m) => {
                    values.insert(id, super::components::composed_us(&id, m.us));
                }
                Err(e) => {
                    missing.insert(id, e.to_string());
                }
            }
        }
    }
    (values, missing)
}

/// The components of `opts`'s protocol and of every other protocol of its stack whose
/// benchmarks were measured (for rows measured on another protocol).
pub fn prices(opts: &ModelOptions, flows: &Flows, est: &Estimates) -> Prices {
    let mut p = Prices {
        protocol: Some(opts.protocol()),
        ..Prices::default()
    };
    for &protocol in super::model_protocols(opts.stack) {
        let o = ModelOptions {
            protocol: Some(protocol),
            ..opts.clone()
        };
        let (values, missing) = component_values(&o, flows, est);
        // A protocol none of whose handshakes were measured is left out altogether.
        let measured_any = values
            .keys()
            .any(|id| matches!(id, ComponentId::TlsHandshake(..)));
        if protocol == opts.protocol() || measured_any {
            p.by_protocol.insert(protocol, values);
            p.missing.insert(protocol, missing);
        }
    }
    p
}

/// The bare model (every factor 1, no term) of a configuration, priced on `protocol` for
/// TLS (the model's protocol when `None`), µs; `Err` says what is missing.
pub fn bare_model_us(
    config: &Config,
    protocol: Option<Protocol>,
    prices: &Prices,
) -> std::result::Result<f64, String> {
    let p = match (config.transport, protocol) {
        (Transport::Tls, Some(p)) => p,
        _ => prices.default_protocol(),
    };
    price(*config, p, prices).sums.map(|s| bare_us(&s))
}
