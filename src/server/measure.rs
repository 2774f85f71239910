//! Measuring an external SIP server's CPU per call, configuration by configuration.
//!
//! For one configuration (a [`Target`]: a model configuration and, for TLS, a handshake
//! protocol) a run starts a UAS on loopback, points a UAC at the server's address for
//! that transport (and, with SIP auth, at its authenticating address), plays the warm-up
//! calls, samples the server's CPU ([`super::cpu`]), plays the measured calls at the fixed
//! rate, waits a short settle time for the work the server defers (closing connections),
//! samples again, and divides what the server used beyond its idle CPU by the calls. The
//! run is then checked: every call completed at both ends; per side one connection or one
//! per call as the proxy mode says (the UAS counts the connections the server opened
//! towards it); every TLS handshake of the protocol and kind named (resumed really resumed,
//! mutual really carried a certificate). A failed check is an error, except where the
//! server itself cannot do what the configuration needs (it never resumes a session as a
//! TLS client, say): that configuration is reported as not measured, with the reason.

use super::cpu::{self, Processes};
use super::file::{NotMeasured, ServerInfo};
pub use super::listen::{Entry, EntryKind, Listens};
use crate::fixtures::Fixtures;
use crate::handshake::{Pki, Protocol};
use crate::model::configs::{BulkSuite, Config, ProxyMode, TlsKind, Transport};
use crate::names::Dimension;
use crate::testbed::dialog::Credentials;
use crate::testbed::load::{self, LoadReport, Phase, Uac, UacSpec, Uas};
use crate::testbed::tls::{refuses_anonymous_client, TlsEnd};
use crate::testbed::Plan;
use crate::{Error, Result};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// One row of a server measurement: a model configuration and, for TLS, its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// The configuration (mode, auth, transport, kind).
    pub config: Config,
    /// The handshake protocol (TLS only).
    pub protocol: Option<Protocol>,
}

impl Target {
    /// `outbound/tls-resumed` or `outbound/tls-resumed tls13-aes128-gcm`.
    pub fn label(&self) -> String {
        match self.protocol {
            Some(p) => format!("{} {}", self.config.name(), p.label()),
            None => self.config.name(),
        }
    }

    /// The server entry the UAC connects to.
    pub fn entry(&self) -> Entry {
        let kind = match self.config.transport {
            Transport::Udp => EntryKind::Udp,
            Transport::Tcp => EntryKind::Tcp,
            Transport::Tls if self.config.kind == TlsKind::Mutual => EntryKind::TlsMutual,
            Transport::Tls => EntryKind::Tls,
        };
        Entry {
            auth: self.config.auth,
            kind,
        }
    }

    /// Every target of the paper's proxy modes for `protocols`: UDP; TCP and TLS in proxy
    /// chain (3DES with its own protocol); TCP and TLS full, mutual and resumed in outbound,
    /// inbound and local mode. `auth_protocols`: with SIP auth as the paper ran it (proxy
    /// chain, outbound and local), for these protocols.
    pub fn all(protocols: &[Protocol], auth_protocols: &[Protocol]) -> Vec<Target> {
        let mut out = Vec::new();
        let mut modes = |auth: bool, protocols: &[Protocol]| {
            let plain = |mode: ProxyMode, transport: Transport| Config {
                mode,
                auth,
                transport,
                kind: TlsKind::Full,
                suite: BulkSuite::Aes,
            };
            let chain = ProxyMode::ProxyChain;
            for transport in [Transport::Udp, Transport::Tcp] {
                out.push(Target {
                    config: plain(chain, transport),
                    protocol: None,
                });
            }
            for &p in protocols {
                let suite = if p == Protocol::Tls12Rsa3desSha {
                    BulkSuite::TripleDes
                } else {
                    BulkSuite::Aes
                };
                out.push(Target {
                    config: Config {
                        suite,
                        ..plain(chain, Transport::Tls)
                    },
                    protocol: Some(p),
                });
            }
            let modes: &[ProxyMode] = if auth {
                &[ProxyMode::Outbound, ProxyMode::Local]
            } else {
                &[ProxyMode::Outbound, ProxyMode::Inbound, ProxyMode::Local]
            };
            for &mode in modes {
                out.push(Target {
                    config: plain(mode, Transport::Tcp),
                    protocol: None,
                });
                // 3DES only in proxy chain, as the paper.
                for &p in protocols
                    .iter()
                    .filter(|p| **p != Protocol::Tls12Rsa3desSha)
                {
                    for kind in TlsKind::ALL {
                        out.push(Target {
                            config: Config {
                                kind,
                                ..plain(mode, Transport::Tls)
                            },
                            protocol: Some(p),
                        });
                    }
                }
            }
        };
        modes(false, protocols);
        if !auth_protocols.is_empty() {
            modes(true, auth_protocols);
        }
        out
    }
}

/// How each configuration is run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Measured calls per run.
    pub calls: u64,
    /// Warm-up calls per run (not measured; at least 1 for resumed configurations).
    pub warmup: u64,
    /// Calls started per second.
    pub rate: f64,
    /// Runs per configuration (the figure is their median).
    pub repeat: usize,
    /// How long one expected message may take before the call fails.
    pub timeout: Duration,
    /// Wait after the last measured call before the closing CPU sample.
    pub settle: Duration,
    /// How long the idle CPU is sampled before the runs.
    pub idle: Duration,
    /// Who the UAC authenticates as on the auth entries.
    pub credentials: Option<Credentials>,
}

/// The server under measurement.
#[derive(Debug, Clone)]
pub struct Server {
    /// What it is (name, version, start line...).
    pub info: ServerInfo,
    /// Where it listens.
    pub listens: Listens,
    /// Whose CPU is counted.
    pub processes: Processes,
    /// Protocols the server is known not to have, with the reason (its TLS library lacks
    /// the suite, say): their configurations are reported as not measured.
    pub unsupported: Vec<(Protocol, String)>,
}

impl Server {
    /// The address `target` is sent to: the server's `--listen` of its kind (UDP, TCP, TLS,
    /// mutual TLS, with or without auth); an error naming the missing kind otherwise.
    pub fn address_of(&self, target: &Target) -> Result<SocketAddr> {
        self.listens
            .get(target.entry())
            .ok_or_else(|| Error::Usage(format!("no --listen {} address", target.entry().label())))
    }
}

/// One run's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// The server's CPU µs per call, idle subtracted.
    pub us_per_call: f64,
    /// The load generators' CPU µs per call (UAC + UAS, this process).
    pub generator_us_per_call: f64,
    /// Wall time of the measured calls (s).
    pub wall_s: f64,
    /// What the UAC saw (all calls).
    pub uac: LoadReport,
    /// What the UAS saw.
    pub uas: LoadReport,
    /// Server threads that ended during the measured calls.
    pub exited_threads: usize,
}

/// What a run of one target gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Measured and checked.
    Measured(RunFigures),
    /// The server cannot do what the configuration needs; the reason.
    NotMeasured(String),
}

/// How many addresses the UAS listens on (calls go to them in turn).
pub const UAS_ADDRESSES: usize = 8;

/// The basic call flow, or the auth flow for an authenticating entry.
pub fn plan_for(target: &Target, s: &Settings) -> Result<Plan> {
    let sip = Fixtures::locate()?.sip()?;
    let flow = sip.flow(if target.config.auth { "auth" } else { "basic" })?;
    // A resumed configuration's first handshakes are full ones: one with the UAC, one per
    // UAS address (a TLS client keeps its sessions per destination). They fall in the warm-up.
    let warmup = match (target.config.kind, target.config.mode.new_right()) {
        (TlsKind::Resumed, true) => s.warmup.max(UAS_ADDRESSES as u64),
        (TlsKind::Resumed, false) => s.warmup.max(1),
        _ => s.warmup,
    };
    Plan::build(flow, s.calls, warmup, s.rate, true)
}

/// The load generators of one target against `addr`.
pub(crate) struct Generators {
    pub(crate) uac: Uac,
    pub(crate) uas: Uas,
    uac_tls: Option<TlsEnd>,
    uas_tls: Option<TlsEnd>,
}

pub(crate) fn generators(
    target: &Target,
    addr: SocketAddr,
    s: &Settings,
    pki: &Pki,
    lanes: usize,
) -> Result<Generators> {
    let c = target.config;
    let run = load::run_id();
    // A new connection per call towards the UAS: several UAS addresses, so a connection the
    // UAS closed after a call is never the next call's destination (see `Uas::bind`).
    let addresses = if c.mode.new_right() { UAS_ADDRESSES } else { 1 };
    let uas = Uas::bind(c.transport, c.mode.new_right(), &run, addresses)?;
    let (mutual, resume) = (c.kind == TlsKind::Mutual, c.kind == TlsKind::Resumed);
    let (uac_tls, uas_tls) = if c.transport == Transport::Tls {
        (
            Some(TlsEnd::client_for(
                pki,
                target.protocol,
                mutual,
                resume && c.mode.new_left(),
            )?),
            Some(TlsEnd::server_for(
                pki,
                target.protocol,
                mutual,
                resume && c.mode.new_right(),
            )?),
        )
    } else {
        (None, None)
    };
    let credentials = if c.auth {
        Some(s.credentials.clone().ok_or_else(|| {
            Error::Usage(format!(
                "{}: SIP auth needs credentials (--auth-user, --auth-password)",
                target.label()
            ))
        })?)
    } else {
        None
    };
    let uac = Uac::new(UacSpec {
        server: addr,
        transport: c.transport,
        new_per_call: c.mode.new_left(),
        lanes,
        timeout: s.timeout,
        who: load::uac_identity(&uas, &run, credentials),
    })?;
    Ok(Generators {
        uac,
        uas,
        uac_tls,
        uas_tls,
    })
}

/// Runs the UAC against the server while the UAS answers; `mark` is called between the
/// UAC's phases. Returns what both saw.
pub(crate) fn drive(
    g: &Generators,
    plan: &Plan,
    mark: &mut dyn FnMut(Phase) -> Result<()>,
) -> Result<(LoadReport, LoadReport)> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let u = s.spawn(|| g.uas.run(plan, g.uas_tls.as_ref(), &stop));
        let c = g.uac.run(plan, g.uac_tls.as_ref(), mark);
        stop.store(true, Ordering::Relaxed);
        let u = u
            .join()
            .unwrap_or_else(|_| Err(Error::Usage("the UAS thread panicked".into())));
        // The UAC's error names the call that failed; the UAS's may say why.
        match (c, u) {
            (Ok(c), Ok(u)) => Ok((c, u)),
            (Err(e), Ok(_)) | (Ok(_), Err(e)) => Err(e),
            (Err(c), Err(u)) => Err(Error::Usage(format!("{c}; the UAS: {u}"))),
        }
    })
}

/// The mutual-TLS check of a target's entry: a client without a certificate is refused.
pub fn check_mutual(target: &Target, server: &Server, pki: &Pki) -> Result<()> {
    if target.config.kind != TlsKind::Mutual {
        return Ok(());
    }
    let addr = server.address_of(target)?;
    refuses_anonymous_client(pki, target.protocol, addr)
}

/// Checks what the generators saw against what the configuration says: every call
/// completed; one connection per side or one per call; every handshake of the right
/// kind. `Ok(Some(reason))`: the server cannot do it (not measured).
pub fn check_run(
    target: &Target,
    total: u64,
    uac: &LoadReport,
    uas: &LoadReport,
    uas_addresses: usize,
) -> Result<Option<String>> {
    let c = target.config;
    let fail = |what: String| Error::SelfCheck {
        bench: format!("server run {}", target.label()),
        what,
    };
    if uac.completed != total {
        return Err(fail(format!(
            "the UAC completed {} of {total} calls",
            uac.completed
        )));
    }
    if uas.completed != total {
        return Err(fail(format!(
            "the UAS answered the last request of {} of {total} calls",
            uas.completed
        )));
    }
    if c.transport == Transport::Udp {
        return Ok(None);
    }
    let (new_left, new_right) = (c.mode.new_left(), c.mode.new_right());
    if new_left && uac.connections != total {
        return Err(fail(format!(
            "the UAC opened {} connections for {total} calls",
            uac.connections
        )));
    }
    if new_right && uas.connections != total {
        return Err(fail(format!(
            "the server opened {} connections towards the UAS for {total} calls: a new connection per call is what {} means",
            uas.connections,
            c.mode.label()
        )));
    }
    if c.transport != Transport::Tls {
        return Ok(None);
    }
    for (side, r) in [("UAC", uac), ("UAS", uas)] {
        if r.handshakes != r.connections {
            return Err(fail(format!(
                "{side}: {} TLS handshakes on {} connections",
                r.handshakes, r.connections
            )));
        }
    }
    if c.kind == TlsKind::Mutual {
        for (side, r) in [("UAC", uac), ("UAS", uas)] {
            if r.client_certificates != r.handshakes {
                return Err(fail(format!(
                    "{side}: {} of {} handshakes carried a client certificate",
                    r.client_certificates, r.handshakes
                )));
            }
        }
    }
    // Resumed: every handshake on a per-call side but the first with each address (in the
    // warm-up): one UAC address, `uas_addresses` UAS addresses.
    let resumed_side = |side: &str, r: &LoadReport, new: bool, role: &str| -> Option<String> {
        let first = if side == "towards the UAC" {
            1
        } else {
            uas_addresses as u64
        };
        let want = if c.kind == TlsKind::Resumed && new {
            r.handshakes.saturating_sub(first)
        } else {
            0
        };
        (r.resumed < want).then(|| {
            format!(
                "{side}: {} of {} TLS handshakes resumed, expected at least {want}; the server {role}",
                r.resumed, r.handshakes
            )
        })
    };
    if c.kind != TlsKind::Resumed {
        for (side, r) in [("UAC", uac), ("UAS", uas)] {
            if r.resumed > 0 {
                return Err(fail(format!(
                    "{side}: {} handshakes resumed in a configuration of full handshakes",
                    r.resumed
                )));
            }
        }
        return Ok(None);
    }
    let mut reasons = Vec::new();
    if let Some(r) = resumed_side(
        "towards the UAC",
        uac,
        new_left,
        "did not resume the sessions its TLS clients offered (as a TLS server)",
    ) {
        reasons.push(r);
    }
    if let Some(r) = resumed_side(
        "towards the UAS",
        uas,
        new_right,
        "did not offer its earlier sessions when it connected (as a TLS client)",
    ) {
        reasons.push(r);
    }
    Ok((!reasons.is_empty()).then(|| reasons.join("; ")))
}

/// One run of `target`: generators started, warm-up, CPU sampled around the measured
/// calls, checks. `idle_us_per_s`: the server's idle CPU.
pub fn run_target(
    target: &Target,
    server: &Server,
    s: &Settings,
    pki: &Pki,
    idle_us_per_s: f64,
) -> Result<Outcome> {
    let addr = server.address_of(target)?;
    let plan = plan_for(target, s)?;
    let g = generators(target, addr, s, pki, 1)?;
    let mut start: Option<(cpu::Sample, f64)> = None;
    let mut end: Option<(cpu::Sample, f64)> = None;
    let (uac, uas) = drive(&g, &plan, &mut |phase| {
        match phase {
            Phase::Measure => start = Some((server.processes.sample()?, cpu::self_cpu_us()?)),
            Phase::Done => {
                std::thread::sleep(s.settle);
                end = Some((server.processes.sample()?, cpu::self_cpu_us()?));
            }
        }
        Ok(())
    })?;
    if let Some(reason) = check_run(target, plan.total_calls(), &uac, &uas, g.uas.addresses())? {
        return Ok(Outcome::NotMeasured(reason));
    }
    let ((s0, g0), (s1, g1)) = start
        .zip(end)
        .ok_or_else(|| Error::Usage("the UAC ended without its measured calls".into()))?;
    let used = cpu::used(&s0, &s1)?;
    let us_per_call = cpu::per_call_us(&used, idle_us_per_s, plan.calls)?;
    Ok(Outcome::Measured(RunFigures {
        us_per_call,
        generator_us_per_call: (g1 - g0) / plan.calls as f64,
        wall_s: used.wall.as_secs_f64(),
        uac,
        uas,
        exited_threads: used.exited_threads,
    }))
}

/// Samples the server's idle CPU over `d` (nothing sent to it), µs per second.
pub fn measure_idle(processes: &Processes, d: Duration) -> Result<f64> {
    let a = processes.sample()?;
    std::thread::sleep(d);
    let b = processes.sample()?;
    Ok(cpu::idle_us_per_s(&cpu::used(&a, &b)?))
}

/// The figures of one target over its runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The target.
    pub target: Target,
    /// Each run, in order.
    pub runs: Vec<RunFigures>,
    /// Set when the server cannot run it.
    pub not_measured: Option<String>,
    /// Checks passed before the runs (e.g. the mutual-TLS refusal of an anonymous client).
    pub checks: Vec<String>,
}

impl Series {
    /// µs per call of each run.
    pub fn us(&self) -> Vec<f64> {
        self.runs.iter().map(|r| r.us_per_call).collect()
    }
}

/// The start of the not-measured reason of a configuration whose run failed twice.
pub const RUN_FAILED: &str = "a run failed twice";

/// Measures every target `repeat` times, a round at a time (each round runs every target
/// once, so a slow period of the machine spreads over all of them). `progress` gets one
/// line per run. Idle CPU is measured first.
pub fn measure(
    server: &Server,
    targets: &[Target],
    s: &Settings,
    pki: &Pki,
    progress: &mut dyn FnMut(String),
) -> Result<(f64, Vec<Series>)> {
    let idle = measure_idle(&server.processes, s.idle)?;
    progress(format!(
        "idle: {idle:.0} µs of CPU per second over {:.1} s ({} processes)",
        s.idle.as_secs_f64(),
        server.processes.pids()?.len()
    ));
    let mut series: Vec<Series> = Vec::new();
    for t in targets {
        let mut checks = Vec::new();
        let no_3des = (t.protocol == Some(Protocol::Tls12Rsa3desSha))
            .then(crate::handshake::openssl::has_3des_suite)
            .and_then(|r| r.err());
        let unsupported = server
            .unsupported
            .iter()
            .find(|(p, _)| Some(*p) == t.protocol)
            .map(|(_, why)| why.clone());
        let not_measured = if let Some(why) = unsupported {
            Some(why)
        } else if let Some(e) = no_3des {
            Some(format!("the load generators cannot offer the suite: {e}"))
        } else if server.listens.get(t.entry()).is_none() {
            Some(format!(
                "the server has no {} address (--listen {}=ADDR)",
                t.entry().label(),
                t.entry().label()
            ))
        } else {
            if t.config.kind == TlsKind::Mutual {
                check_mutual(t, server, pki)?;
                checks.push("mutual: a client without a certificate was refused".to_string());
            }
            None
        };
        series.push(Series {
            target: *t,
            runs: Vec::new(),
            not_measured,
            checks,
        });
    }
    let todo = series.iter().filter(|x| x.not_measured.is_none()).count();
    for round in 0..s.repeat {
        let mut i = 0;
        for x in series.iter_mut().filter(|x| x.not_measured.is_none()) {
            i += 1;
            let t0 = Instant::now();
            // A failed run is an error, not a result: it is discarded and repeated once (a
            // server can drop one connection under load); a second failure leaves the
            // configuration unmeasured with both errors, and the rest of the runs go on.
            let outcome = match run_target(&x.target, server, s, pki, idle) {
                Ok(o) => o,
                Err(first) => {
                    progress(format!(
                        "round {}/{} [{i}/{todo}] {:<44} run failed ({first}); repeating it once",
                        round + 1,
                        s.repeat,
                        x.target.label()
                    ));
                    match run_target(&x.target, server, s, pki, idle) {
                        Ok(o) => {
                            x.checks.push(format!(
                                "round {}: a run failed and was repeated: {first}",
                                round + 1
                            ));
                            o
                        }
                        Err(second) => Outcome::NotMeasured(format!(
                            "{RUN_FAILED} in round {}: {first}; repeated: {second}",
                            round + 1
                        )),
                    }
                }
            };
            match outcome {
                Outcome::Measured(f) => {
                    progress(format!(
                        "round {}/{} [{i}/{todo}] {:<44} {:>8.1} µs/call (generators {:.1}) {:.1} s",
                        round + 1,
                        s.repeat,
                        x.target.label(),
                        f.us_per_call,
                        f.generator_us_per_call,
                        t0.elapsed().as_secs_f64()
                    ));
                    x.runs.push(f);
                }
                Outcome::NotMeasured(reason) => {
                    progress(format!(
                        "round {}/{} [{i}/{todo}] {:<44} not measured: {reason}",
                        round + 1,
                        s.repeat,
                        x.target.label()
                    ));
                    x.runs.clear();
                    x.not_measured = Some(reason);
                }
            }
        }
    }
    Ok((idle, series))
}

/// The rows the series give: measurements and not-measured configurations.
pub fn rows(
    series: &[Series],
    idle_us_per_s: f64,
) -> (Vec<super::file::ServerMeasurement>, Vec<NotMeasured>) {
    let mut measured = Vec::new();
    let mut not = Vec::new();
    for x in series {
        let protocol = x.target.protocol.map(|p| p.label().to_string());
        if let Some(reason) = &x.not_measured {
            not.push(NotMeasured {
                configuration: x.target.config.name(),
                protocol,
                reason: reason.clone(),
            });
            continue;
        }
        if x.runs.is_empty() {
            continue;
        }
        let us = x.us();
        let (med, lo, hi) = crate::testbed::median_min_max(&us);
        let gen: Vec<f64> = x.runs.iter().map(|r| r.generator_us_per_call).collect();
        let last = x.runs.last().expect("non-empty");
        let mut details = x.checks.clone();
        details.extend(describe_run(&x.target, last));
        measured.push(super::file::ServerMeasurement {
            configuration: x.target.config.name(),
            protocol,
            us_per_call: med,
            spread_us: hi - lo,
            runs_us: us,
            idle_us_per_s,
            generator_us_per_call: crate::testbed::median_min_max(&gen).0,
            details,
        });
    }
    (measured, not)
}

/// The `name: value` detail lines of a run (connections and handshakes as counted).
pub fn describe_run(target: &Target, f: &RunFigures) -> Vec<String> {
    let mut d = vec![format!(
        "calls: {} completed at the UAC and the UAS (warm-up included)",
        f.uac.completed
    )];
    if target.config.transport != Transport::Udp {
        d.push(format!(
            "connections: the UAC opened {}, the server opened {} towards the UAS",
            f.uac.connections, f.uas.connections
        ));
    }
    if target.config.transport == Transport::Tls {
        d.push(format!(
            "tls handshakes: {} with the UAC ({} resumed, {} with a client certificate), {} with the UAS ({} resumed, {} with a client certificate)",
            f.uac.handshakes,
            f.uac.resumed,
            f.uac.client_certificates,
            f.uas.handshakes,
            f.uas.resumed,
            f.uas.client_certificates
        ));
    }
    let rtx = f.uac.retransmissions + f.uas.retransmissions;
    if rtx > 0 {
        d.push(format!("retransmissions: {rtx} messages received again"));
    }
    if f.exited_threads > 0 {
        d.push(format!(
            "exited threads: {} server threads ended during the run; their CPU is missing (a lower bound)",
            f.exited_threads
        ));
    }
    d
}
