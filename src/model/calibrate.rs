//! Calibration of the per-call model on an operator's measured per-call figures.
//!
//! A real proxy spends more around each component than the bare operation costs
//! (buffers, allocator, connection bookkeeping, system calls, its event loop). Given the
//! measured CPU µs per call of a few configurations, this module fits one overhead factor
//! per component kind,
//!
//! ```text
//! measured_us(config) ≈ Σ_kind factor_kind × modelled_us(config, kind)
//! ```
//!
//! and predicts every other configuration with the fitted factors. When the measured set
//! has exactly as many configurations as factors, the fit is the exact solve of a
//! triangular-like system: the paper's subtraction method (UDP gives the base, TLS proxy
//! chain minus it the record work, a new-connection mode minus the proxy chain the
//! handshakes...). With more configurations it is a least-squares fit on relative errors,
//! with standard errors from the residuals and a leave-one-out prediction error per
//! measured configuration. A measured set that cannot determine a factor is refused with
//! the factor's name and the configurations that would determine it.
//!
//! Factors are split per side (client, server) and per kind (UDP transport vs TCP's extra,
//! TCP set-up vs TLS handshake) only where the data allow; otherwise the kinds are pooled
//! (see [`Grouping`]).
//!
//! Besides the factors, the fit can carry an additive term per side: µs per new TLS
//! connection the proxy accepts (server) or opens (client), whatever the handshake's kind
//! ([`Kind::NewConnection`]). A real proxy pays a fixed cost per TLS connection (creating
//! the SSL object, the system calls of the handshake's round trips, closing it) that does
//! not scale with the handshake's crypto, so a factor on the bare handshake alone
//! under-predicts cheap (resumed) handshakes once fitted on full ones. Full and resumed
//! handshakes of a side determine both; [`ConnectionTerm`] says whether the term is
//! optional or required.

use super::components::{ComponentId, Estimates, Side};
use super::configs::{BulkSuite, Config, ProxyMode, TlsKind, Transport};
use super::{component_sum, Flows, ModelOptions};
use crate::names::Dimension;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Header of the calibration CSV (its first non-comment line).
pub const CSV_HEADER: &str = "configuration,us_per_call";

/// An optional CSV column: the spread of the measurement (µs), for information.
pub const CSV_SPREAD: &str = "spread_us";

/// An optional CSV column: the handshake protocol of a TLS configuration, a
/// [`crate::handshake::Protocol`] label (empty or absent: the paper's `tls12-rsa-aes128-sha`).
pub const CSV_PROTOCOL: &str = "protocol";

/// Largest per-call cost accepted (µs): one second per call is not a SIP proxy.
pub const MAX_US: f64 = 1_000_000.0;

/// A relative tolerance below which a column counts as dependent on the others.
const RANK_TOL: f64 = 1e-9;

/// The finest kind of overhead a factor can scale.
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
    /// Per-connection TCP set-up on one side.
    TcpSetup(Side),
    /// Per-handshake TLS on one side.
    TlsHandshake(Side),
    /// A fixed cost per new TLS connection on one side, in µs (an additive term, not a
    /// factor: its bare value is the number of new TLS connections per call).
    NewConnection(Side),
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 10] = [
        Kind::TransportUdp,
        Kind::TransportTcp,
        Kind::Record,
        Kind::Auth,
        Kind::TcpSetup(Side::Server),
        Kind::TcpSetup(Side::Client),
        Kind::TlsHandshake(Side::Server),
        Kind::TlsHandshake(Side::Client),
        Kind::NewConnection(Side::Server),
        Kind::NewConnection(Side::Client),
    ];

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
            ComponentId::TlsHandshake(s, _) => Kind::TlsHandshake(*s),
            ComponentId::TlsClientLoop { .. } => Kind::TlsHandshake(Side::Client),
        }
    }

    /// Label, e.g. `tls-handshake-server`.
    pub fn label(self) -> String {
        match self {
            Kind::TransportUdp => "transport-udp".into(),
            Kind::TransportTcp => "transport-tcp".into(),
            Kind::Record => "tls-record".into(),
            Kind::Auth => "auth".into(),
            Kind::TcpSetup(s) => format!("tcp-setup-{}", s.label()),
            Kind::TlsHandshake(s) => format!("tls-handshake-{}", s.label()),
            Kind::NewConnection(s) => format!("per-connection-{}", s.label()),
        }
    }
}

/// Which kinds share one factor. Each switch pools kinds the data may not tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Grouping {
    /// One factor for UDP transport and TCP's extra (per-message transport).
    pub pool_transport: bool,
    /// One factor for TCP set-up on both sides.
    pub pool_tcp_sides: bool,
    /// One factor for TLS handshakes on both sides.
    pub pool_tls_sides: bool,
    /// One factor for TCP set-up and TLS handshake of a side (per-connection set-up).
    pub pool_connection: bool,
    /// The additive per-new-TLS-connection terms are fitted (else they are left out, 0).
    pub connection_term: bool,
    /// One per-connection term for both sides.
    pub pool_term_sides: bool,
}

impl Grouping {
    /// All 48 groupings (16 poolings of the factors, without the per-connection terms, with
    /// them per side, with one pooled term), finest first; at equal pooling, with the terms
    /// first.
    pub fn all() -> Vec<Grouping> {
        let mut v: Vec<Grouping> = (0u8..48)
            .map(|b| Grouping {
                pool_transport: b & 1 != 0,
                pool_tcp_sides: b & 2 != 0,
                pool_tls_sides: b & 4 != 0,
                pool_connection: b & 8 != 0,
                connection_term: b >= 16,
                pool_term_sides: b >= 32,
            })
            .collect();
        v.sort_by_key(|g| (g.pools(), !g.connection_term));
        v
    }

    /// The coarsest grouping, with or without the per-connection term.
    pub fn coarsest(connection_term: bool) -> Grouping {
        Grouping {
            pool_transport: true,
            pool_tcp_sides: true,
            pool_tls_sides: true,
            pool_connection: true,
            connection_term,
            pool_term_sides: connection_term,
        }
    }

    fn pools(&self) -> u32 {
        [
            self.pool_transport,
            self.pool_tcp_sides,
            self.pool_tls_sides,
            self.pool_connection,
            self.pool_term_sides,
        ]
        .iter()
        .filter(|b| **b)
        .count() as u32
    }

    /// The factor groups: each a set of kinds, in report order.
    pub fn groups(&self) -> Vec<Vec<Kind>> {
        // Union-find over the kinds by the pooling rules.
        let idx = |k: Kind| Kind::ALL.iter().position(|x| *x == k).unwrap_or(0);
        let mut parent: Vec<usize> = (0..Kind::ALL.len()).collect();
        fn find(p: &mut [usize], i: usize) -> usize {
            let mut r = i;
            while p[r] != r {
                r = p[r];
            }
            p[i] = r;
            r
        }
        let mut join = |a: Kind, b: Kind| {
            let (ra, rb) = (find(&mut parent, idx(a)), find(&mut parent, idx(b)));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        };
        let (s, c) = (Side::Server, Side::Client);
        if self.pool_transport {
            join(Kind::TransportUdp, Kind::TransportTcp);
        }
        if self.pool_tcp_sides {
            join(Kind::TcpSetup(s), Kind::TcpSetup(c));
        }
        if self.pool_tls_sides {
            join(Kind::TlsHandshake(s), Kind::TlsHandshake(c));
        }
        if self.pool_connection {
            join(Kind::TcpSetup(s), Kind::TlsHandshake(s));
            join(Kind::TcpSetup(c), Kind::TlsHandshake(c));
        }
        if self.pool_term_sides {
            join(Kind::NewConnection(s), Kind::NewConnection(c));
        }
        let mut groups: BTreeMap<usize, Vec<Kind>> = BTreeMap::new();
        for (i, k) in Kind::ALL.iter().enumerate() {
            if k.is_term() && !self.connection_term {
                continue;
            }
            let r = find(&mut parent, i);
            groups.entry(r).or_default().push(*k);
        }
        groups.into_values().collect()
    }
}

/// The name of a factor that scales these kinds, e.g. `transport`, `connection-server`.
pub fn group_name(kinds: &[Kind]) -> String {
    if kinds.len() == 1 {
        return kinds[0].label();
    }
    if kinds.contains(&Kind::TransportUdp) {
        return "transport".into();
    }
    if kinds.iter().any(|k| k.is_term()) {
        return "per-connection".into();
    }
    let tcp = kinds.iter().any(|k| matches!(k, Kind::TcpSetup(_)));
    let tls = kinds.iter().any(|k| matches!(k, Kind::TlsHandshake(_)));
    let server = kinds.iter().any(|k| {
        matches!(
            k,
            Kind::TcpSetup(Side::Server) | Kind::TlsHandshake(Side::Server)
        )
    });
    let client = kinds.iter().any(|k| {
        matches!(
            k,
            Kind::TcpSetup(Side::Client) | Kind::TlsHandshake(Side::Client)
        )
    });
    let base = match (tcp, tls) {
        (true, true) => "connection",
        (true, false) => "tcp-setup",
        _ => "tls-handshake",
    };
    match (server, client) {
        (true, false) => format!("{base}-server"),
        (false, true) => format!("{base}-client"),
        _ => base.to_string(),
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

/// The modelled µs per call of every component, by component (bare cost: factor 1).
pub type ComponentValues = BTreeMap<ComponentId, f64>;

/// Evaluates every component some configuration of [`universe`] needs; a component whose
/// benchmarks are missing is left out with the reason.
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
                    values.insert(id, m.us);
                }
                Err(e) => {
                    missing.insert(id, e.to_string());
                }
            }
        }
    }
    (values, missing)
}

/// One fitted factor.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    /// Name, e.g. `transport`, `tls-handshake-server`.
    pub name: String,
    /// The kinds it scales.
    pub kinds: Vec<String>,
    /// `× bare` for a factor, `µs per connection` for a per-connection term.
    pub unit: String,
    /// The fitted factor (measured / bare cost), or the term in µs per connection.
    pub value: f64,
    /// Standard error from the residuals (only when over-determined).
    pub std_error: Option<f64>,
}

/// One configuration after calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Configuration name.
    pub name: String,
    /// True when it was in the calibration file.
    pub measured: bool,
    /// The measured µs per call.
    pub measured_us: Option<f64>,
    /// The bare model (every factor 1).
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

/// The result of a calibration.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// How the kinds were grouped into factors.
    pub grouping: Grouping,
    /// The fitted factors.
    pub factors: Vec<Factor>,
    /// Number of measured configurations.
    pub measured: usize,
    /// `exact` (as many configurations as factors: the paper's subtraction) or `least-squares`.
    pub method: String,
    /// Root mean square of the relative fit residuals (least squares only).
    pub rms_residual: Option<f64>,
    /// Every configuration of [`universe`].
    pub rows: Vec<Row>,
    /// Factors the data do not support well: negative, or smaller than their standard error.
    pub warnings: Vec<String>,
}

/// Whether the fit carries the additive per-new-TLS-connection terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionTerm {
    /// Optional, like a finer split of the factors: of the groupings that determine every
    /// factor, the one predicting the most configurations wins, then the one with the most
    /// factors and terms, then the one pooling the fewest kinds, then the one with terms.
    /// Without them the model is factors only.
    #[default]
    Auto,
    /// Always fitted; a measured set that cannot determine them is refused, naming them.
    Required,
}

/// The TLS connection a component opens per call, by side (the per-connection term's count).
fn new_tls_connection(id: &ComponentId) -> Option<Side> {
    match id {
        ComponentId::TlsHandshake(s, _) => Some(*s),
        ComponentId::TlsClientLoop { .. } => Some(Side::Client),
        _ => None,
    }
}

/// Components of a configuration summed per kind; `Err` names a missing component.
fn kind_sums(
    c: &Config,
    values: &ComponentValues,
) -> std::result::Result<BTreeMap<Kind, f64>, ComponentId> {
    let mut m = BTreeMap::new();
    for id in ComponentId::compose(c) {
        let v = values.get(&id).ok_or(id)?;
        *m.entry(Kind::of(&id)).or_insert(0.0) += v;
        // Each handshake component is one new TLS connection per call.
        if let Some(s) = new_tls_connection(&id) {
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

/// A group is "present" when some configuration uses it with a non-zero cost.
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

/// Fits the factors to `measured`, using `values` for the bare components; the
/// per-connection terms only where they are free ([`ConnectionTerm::Auto`]).
pub fn fit(measured: &[Measured], values: &ComponentValues) -> Result<Calibration> {
    fit_with(measured, values, ConnectionTerm::Auto)
}

/// Fits the factors, and the per-connection terms as `term` says.
pub fn fit_with(
    measured: &[Measured],
    values: &ComponentValues,
    term: ConnectionTerm,
) -> Result<Calibration> {
    if measured.is_empty() {
        return Err(Error::Usage(
            "calibration needs at least one measured configuration".into(),
        ));
    }
    let mut sums = Vec::new();
    for m in measured {
        let s = kind_sums(&m.config, values).map_err(|id| {
            Error::Usage(format!(
                "{}: the model has no value for its component {} (its benchmarks are missing); run the benches first",
                m.config.name(),
                id.id()
            ))
        })?;
        sums.push(s);
    }
    let y: Vec<f64> = measured.iter().map(|m| m.us).collect();
    let targets: Vec<(Config, Option<BTreeMap<Kind, f64>>)> = universe()
        .into_iter()
        .map(|c| {
            let s = kind_sums(&c, values).ok();
            (c, s)
        })
        .collect();

    // Pick the grouping: full rank on the measured set, predicting the most configurations,
    // then the most factors (the finest split), then the fewest pools.
    let mut best: Option<(Grouping, usize, usize)> = None;
    for g in Grouping::all() {
        if term == ConnectionTerm::Required && !g.connection_term {
            continue;
        }
        let groups = g.groups();
        let a: Vec<Vec<f64>> = sums.iter().map(|s| design_row(s, &groups)).collect();
        let used: Vec<usize> = (0..groups.len()).filter(|&j| present(&a, j)).collect();
        let sub = columns(&a, &used);
        if rank(&sub) < used.len() {
            continue;
        }
        let coverage = targets
            .iter()
            .filter(|(_, s)| {
                s.as_ref().is_some_and(|s| {
                    let r = design_row(s, &groups);
                    (0..groups.len()).all(|j| r[j] == 0.0 || used.contains(&j))
                })
            })
            .count();
        let better = match best {
            None => true,
            Some((_, cov, nf)) => coverage > cov || (coverage == cov && used.len() > nf),
        };
        if better {
            best = Some((g, coverage, used.len()));
        }
    }
    let Some((grouping, _, _)) = best else {
        return Err(underdetermined(measured, &sums, values, term));
    };

    let groups = grouping.groups();
    let a_full: Vec<Vec<f64>> = sums.iter().map(|s| design_row(s, &groups)).collect();
    let used: Vec<usize> = (0..groups.len()).filter(|&j| present(&a_full, j)).collect();
    let a = columns(&a_full, &used);
    let sol = solve(&a, &y).ok_or_else(|| underdetermined(measured, &sums, values, term))?;
    let (n, p) = (a.len(), used.len());
    let factors: Vec<Factor> = used
        .iter()
        .enumerate()
        .map(|(i, &j)| Factor {
            name: group_name(&groups[j]),
            kinds: groups[j].iter().map(|k| k.label()).collect(),
            unit: if groups[j].iter().any(|k| k.is_term()) {
                "µs per connection".into()
            } else {
                "× bare".into()
            },
            value: sol.x[i],
            std_error: sol.se.as_ref().map(|se| se[i]),
        })
        .collect();

    // Leave-one-out: refit without each measured row, predict it.
    let mut loo: Vec<std::result::Result<f64, String>> = Vec::new();
    for i in 0..n {
        if n <= p {
            loo.push(Err(
                "as many configurations as factors: no leave-one-out".into()
            ));
            continue;
        }
        let rest: Vec<Vec<f64>> = (0..n).filter(|&k| k != i).map(|k| a[k].clone()).collect();
        let ry: Vec<f64> = (0..n).filter(|&k| k != i).map(|k| y[k]).collect();
        match solve(&rest, &ry) {
            Some(s) => loo.push(Ok(dot(&a[i], &s.x) / y[i] - 1.0)),
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

    let measured_by: BTreeMap<Config, usize> = measured
        .iter()
        .enumerate()
        .map(|(i, m)| (m.config, i))
        .collect();
    let rows = targets
        .iter()
        .map(|(c, s)| {
            let mi = measured_by.get(c).copied();
            let mut row = Row {
                name: c.name(),
                measured: mi.is_some(),
                measured_us: mi.map(|i| y[i]),
                model_us: None,
                predicted_us: None,
                fit_error: None,
                loo_error: None,
                note: None,
            };
            let Some(s) = s else {
                row.note = Some("the model lacks a component of it (benchmarks missing)".into());
                return row;
            };
            let r = design_row(s, &groups);
            row.model_us = Some(bare_us(s));
            let unfitted: Vec<String> = (0..groups.len())
                .filter(|j| r[*j] != 0.0 && !used.contains(j))
                .map(|j| group_name(&groups[j]))
                .collect();
            if !unfitted.is_empty() {
                row.note = Some(format!(
                    "not predicted: no measured configuration determines {}",
                    unfitted.join(", ")
                ));
                return row;
            }
            let pred: f64 = used.iter().enumerate().map(|(i, &j)| r[j] * sol.x[i]).sum();
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

    let warnings = factors
        .iter()
        .filter_map(|f| {
            if f.value < 0.0 {
                Some(format!(
                    "factor '{}' fitted negative ({:.2}): the measured difference it rests on is within the noise of the figures; measure them again, with more runs",
                    f.name, f.value
                ))
            } else {
                f.std_error.filter(|se| *se > f.value.abs()).map(|se| {
                    format!(
                        "factor '{}' = {:.2} ± {se:.2}: not significantly different from zero",
                        f.name, f.value
                    )
                })
            }
        })
        .collect();
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
        rows,
    })
}

/// The refusal for a measured set that no grouping can fit: names the factors of the
/// coarsest grouping it cannot determine and the configurations that would.
fn underdetermined(
    measured: &[Measured],
    sums: &[BTreeMap<Kind, f64>],
    values: &ComponentValues,
    term: ConnectionTerm,
) -> Error {
    let coarse = Grouping::coarsest(term == ConnectionTerm::Required);
    let groups = coarse.groups();
    let a_full: Vec<Vec<f64>> = sums.iter().map(|s| design_row(s, &groups)).collect();
    let used: Vec<usize> = (0..groups.len()).filter(|&j| present(&a_full, j)).collect();
    let a = columns(&a_full, &used);
    let mut lines = Vec::new();
    for (i, &j) in used.iter().enumerate() {
        if identifiable(&a, i) {
            continue;
        }
        // Configurations whose addition would determine this factor.
        let helpers: Vec<String> = universe()
            .into_iter()
            .filter(|c| !measured.iter().any(|m| m.config == *c))
            .filter_map(|c| {
                let s = kind_sums(&c, values).ok()?;
                let r = design_row(&s, &groups);
                let mut more = a.clone();
                more.push(used.iter().map(|&k| r[k]).collect());
                identifiable(&more, i).then(|| c.name())
            })
            .take(4)
            .collect();
        let kinds: Vec<String> = groups[j].iter().map(|k| k.label()).collect();
        lines.push(format!(
            "{} '{}' ({}) is not determined: it always occurs together with others in the same proportion{}",
            if groups[j].iter().any(|k| k.is_term()) {
                "per-connection term"
            } else {
                "factor"
            },
            group_name(&groups[j]),
            kinds.join(" + "),
            if helpers.is_empty() {
                String::new()
            } else {
                format!("; also measure one of: {}", helpers.join(", "))
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
            " and the per-connection term (required)"
        } else {
            ""
        },
        lines.join("; ")
    ))
}

// ---- small dense linear algebra (p ≤ 10 factors) ------------------------------------------

fn columns(a: &[Vec<f64>], cols: &[usize]) -> Vec<Vec<f64>> {
    a.iter()
        .map(|r| cols.iter().map(|&j| r[j]).collect())
        .collect()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Modified Gram-Schmidt on the columns (each scaled to unit norm first): the number of
/// columns independent of the ones before them.
fn rank(a: &[Vec<f64>]) -> usize {
    gram_schmidt(a).1.iter().filter(|d| **d).count()
}

/// Factor `j` is determined by `a` iff dropping its column lowers the rank.
fn identifiable(a: &[Vec<f64>], j: usize) -> bool {
    let p = a.first().map_or(0, |r| r.len());
    let others: Vec<usize> = (0..p).filter(|&k| k != j).collect();
    rank(a) == rank(&columns(a, &others)) + 1
}

/// Returns Q's columns and which columns were independent.
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
fn gram_schmidt(a: &[Vec<f64>]) -> (Vec<Vec<f64>>, Vec<bool>) {
    let n = a.len();
    let p = a.first().map_or(0, |r| r.len());
    let mut q: Vec<Vec<f64>> = Vec::new();
    let mut indep = Vec::new();
    for j in 0..p {
        let mut v: Vec<f64> = (0..n).map(|i| a[i][j]).collect();
        let norm0 = dot(&v, &v).sqrt();
        if norm0 == 0.0 {
            indep.push(false);
            continue;
        }
        v.iter_mut().for_each(|x| *x /= norm0);
        // Twice, for numerical orthogonality.
        for _ in 0..2 {
            for qk in &q {
                let r = dot(qk, &v);
                v.iter_mut().zip(qk).for_each(|(x, qv)| *x -= r * qv);
            }
        }
        let norm = dot(&v, &v).sqrt();
        if norm > RANK_TOL.sqrt() {
            v.iter_mut().for_each(|x| *x /= norm);
            q.push(v);
            indep.push(true);
        } else {
            indep.push(false);
        }
    }
    (q, indep)
}

struct Solution {
    x: Vec<f64>,
    se: Option<Vec<f64>>,
    rms: Option<f64>,
}

/// Least squares on relative errors: minimise Σ ((a_i·x − y_i) / y_i)², via QR of the
/// row-scaled, column-normalised matrix. `None` when the columns are dependent.
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
fn solve(a: &[Vec<f64>], y: &[f64]) -> Option<Solution> {
    let n = a.len();
    let p = a.first().map_or(0, |r| r.len());
    if n < p || p == 0 {
        return None;
    }
    // Row i divided by y_i, target 1; columns scaled to unit norm.
    let mut b: Vec<Vec<f64>> = (0..n)
        .map(|i| a[i].iter().map(|v| v / y[i]).collect())
        .collect();
    let scale: Vec<f64> = (0..p)
        .map(|j| (0..n).map(|i| b[i][j] * b[i][j]).sum::<f64>().sqrt())
        .collect();
    if scale.contains(&0.0) {
        return None;
    }
    for row in &mut b {
        row.iter_mut().zip(&scale).for_each(|(v, s)| *v /= s);
    }
    // Householder QR of b (n × p): R upper triangular, Qᵀ·1 accumulated alongside.
    let mut r = b;
    let mut qt1 = vec![1.0; n];
    for k in 0..p {
        let norm: f64 = (k..n).map(|i| r[i][k] * r[i][k]).sum::<f64>().sqrt();
        if norm < RANK_TOL.sqrt() {
            return None;
        }
        let alpha = if r[k][k] > 0.0 { -norm } else { norm };
        let mut v: Vec<f64> = (k..n).map(|i| r[i][k]).collect();
        v[0] -= alpha;
        let vn: f64 = dot(&v, &v);
        if vn == 0.0 {
            continue;
        }
        for j in k..p {
            let s: f64 = (k..n).map(|i| v[i - k] * r[i][j]).sum::<f64>() * 2.0 / vn;
            for i in k..n {
                r[i][j] -= s * v[i - k];
            }
        }
        let s: f64 = (k..n).map(|i| v[i - k] * qt1[i]).sum::<f64>() * 2.0 / vn;
        for i in k..n {
            qt1[i] -= s * v[i - k];
        }
    }
    let diag_max = (0..p).map(|k| r[k][k].abs()).fold(0.0, f64::max);
    if (0..p).any(|k| r[k][k].abs() <= RANK_TOL.sqrt() * diag_max) {
        return None;
    }
    // Back substitution R z = (Qᵀ1)[..p].
    let mut z = vec![0.0; p];
    for k in (0..p).rev() {
        let s: f64 = ((k + 1)..p).map(|j| r[k][j] * z[j]).sum();
        z[k] = (qt1[k] - s) / r[k][k];
    }
    let x: Vec<f64> = z.iter().zip(&scale).map(|(v, s)| v / s).collect();
    if n == p {
        return Some(Solution {
            x,
            se: None,
            rms: None,
        });
    }
    // Residuals (relative), s² = RSS / (n − p); cov(z) = s² R⁻¹ R⁻ᵀ.
    let rss: f64 = (0..n).map(|i| (dot(&a[i], &x) / y[i] - 1.0).powi(2)).sum();
    let s2 = rss / (n - p) as f64;
    let mut rinv = vec![vec![0.0; p]; p];
    for c in 0..p {
        for k in (0..=c).rev() {
            let e = if k == c { 1.0 } else { 0.0 };
            let s: f64 = ((k + 1)..=c).map(|j| r[k][j] * rinv[j][c]).sum();
            rinv[k][c] = (e - s) / r[k][k];
        }
    }
    let se: Vec<f64> = (0..p)
        .map(|k| {
            let var: f64 = (0..p).map(|c| rinv[k][c] * rinv[k][c]).sum::<f64>() * s2;
            var.sqrt() / scale[k]
        })
        .collect();
    Some(Solution {
        x,
        se: Some(se),
        rms: Some((rss / n as f64).sqrt()),
    })
}

// ---- output ------------------------------------------------------------------------------

/// Formats a relative error as a signed percentage.
pub fn pct(e: f64) -> String {
    format!("{:+.1}%", e * 100.0)
}

/// The calibration as terminal text: the factors, then every configuration.
pub fn render(cal: &Calibration) -> String {
    use comfy_table::Table;
    let mut out = String::new();
    out.push_str(&format!(
        "Calibration: {} measured configurations, {} factors, {}\n",
        cal.measured,
        cal.factors.len(),
        if cal.method == "exact" {
            "exact solve (the paper's subtraction method; no residual left to estimate an uncertainty)".to_string()
        } else {
            format!(
                "least squares on relative errors (rms residual {})",
                cal.rms_residual.map(|r| format!("{:.1}%", r * 100.0)).unwrap_or_default()
            )
        }
    ));
    let mut t = Table::new();
    t.set_header(vec![
        "factor / term",
        "scales",
        "fitted",
        "unit",
        "± std. error",
    ]);
    for f in &cal.factors {
        t.add_row(vec![
            f.name.clone(),
            f.kinds.join(" + "),
            format!("{:.3}", f.value),
            f.unit.clone(),
            f.std_error
                .map(|s| format!("{s:.3}"))
                .unwrap_or_else(|| "-".into()),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    let mut t = Table::new();
    t.set_header(vec![
        "configuration",
        "",
        "measured µs",
        "bare model µs",
        "calibrated µs",
        "fit error",
        "leave-one-out",
        "note",
    ]);
    let opt = |v: Option<f64>| v.map(crate::report::fmt_us).unwrap_or_else(|| "-".into());
    // Configurations that cannot be predicted are listed once per reason, not row by row.
    let mut unpredicted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &cal.rows {
        if !r.measured && r.predicted_us.is_none() {
            let why = r.note.clone().unwrap_or_else(|| "not predicted".into());
            unpredicted.entry(why).or_default().push(r.name.clone());
            continue;
        }
        t.add_row(vec![
            r.name.clone(),
            if r.measured {
                "measured".into()
            } else {
                "predicted".into()
            },
            opt(r.measured_us),
            opt(r.model_us),
            opt(r.predicted_us),
            r.fit_error.map(pct).unwrap_or_else(|| "-".into()),
            r.loo_error.map(pct).unwrap_or_else(|| "-".into()),
            r.note.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&format!("{t}\n"));
    for (why, names) in unpredicted {
        out.push_str(&format!("{why}: {}\n", names.join(", ")));
    }
    for w in &cal.warnings {
        out.push_str(&format!("Warning: {w}\n"));
    }
    out
}

/// `tlscost model --calibrate FILE`: the model's components, calibrated on FILE.
pub fn run_model(
    opts: &ModelOptions,
    est: &Estimates,
    flows: &Flows,
    file: &Path,
    json: bool,
) -> Result<()> {
    let measured = read_file(file)?;
    let (values, _missing) = component_values(opts, flows, est);
    let cal = fit(&measured, &values)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cal).map_err(|e| Error::Results {
                path: PathBuf::from(file),
                what: format!("cannot serialise the calibration: {e}"),
            })?
        );
    } else {
        print!("{}", render(&cal));
    }
    Ok(())
}

/// `tlscost model --calibrate FILE` with the model's own arguments (options, estimates).
pub fn run_args(args: &super::ModelArgs, file: &Path) -> Result<()> {
    let opts = args.options()?;
    let (est, mixed) = super::cli::estimates(args)?;
    mixed.iter().for_each(|w| eprintln!("Warning: {w}"));
    let flows = Flows::from_fixtures(&crate::fixtures::Fixtures::locate()?)?;
    run_model(&opts, &est, &flows, file, args.json)
}
