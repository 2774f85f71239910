//! A loopback SIP testbed that checks the per-call model end to end: a small SIP proxy
//! over real sockets (UDP, TCP, TLS on OpenSSL with the paper's TLS 1.2 AES128-SHA RSA key
//! transport), forwarding the `fixtures/sip` basic call flow between a UAC and a UAS load
//! generator, each in its own thread, at a fixed call rate and call count.
//!
//! Per side, the proxy keeps one persistent connection or takes a new one per call: the
//! paper's four proxy modes (proxy chain, outbound, inbound, local), with plain, mutual
//! and resumed TLS. The figure it reports is the proxy thread's CPU time per call
//! (`CLOCK_THREAD_CPUTIME_ID`), not wall time; a run in which any call did not complete,
//! or a handshake was not the kind its configuration names, is an error, not a result.
//! Its output is the calibration format (`tlscost model --calibrate`).

pub mod dialog;
pub mod load;
pub mod proxy;
pub mod serve;
pub mod tls;
pub mod validate;
pub mod wire;

pub use tls::TlsEnd;

use crate::fixtures::{Fixtures, Legs, SipFlow};
use crate::handshake::Pki;
use crate::model::calibrate::{self, Measurement};
use crate::model::configs::{BulkSuite, Config, ProxyMode, TlsKind, Transport};
use crate::sip;
use crate::{Error, Result};
use load::{Uac, UacSpec, Uas};
use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// One message of the call flow as the load generators send it.
#[derive(Debug, Clone)]
pub struct Step {
    /// Manifest name (`invite`, `100-trying`...).
    pub name: String,
    /// The bytes its sender writes.
    pub bytes: Vec<u8>,
    /// Sent by the UAC (a request), else by the UAS (a response).
    pub from_uac: bool,
    /// It crosses the proxy (received on one leg, sent on the other); else it stays
    /// between the UAC and the proxy (a 407 challenge, its ACK).
    pub crosses: bool,
}

/// What one run does: the call flow, how many calls, how fast.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The call flow.
    pub steps: Vec<Step>,
    /// Calls measured.
    pub calls: u64,
    /// Calls run first and not measured (they also make the first, full handshake of a
    /// resumed configuration and warm the keys and caches).
    pub warmup: u64,
    /// Calls started per second.
    pub rate: f64,
    /// The proxy's `host:port` as the flow's responses carry it in their top Via.
    pub sent_by: String,
    /// The proxy's Record-Route URI.
    pub route_uri: String,
}

impl Plan {
    /// A plan for `flow` (every message must cross both legs: the testbed has no SIP auth).
    pub fn new(flow: &SipFlow, calls: u64, warmup: u64, rate: f64) -> Result<Plan> {
        Plan::build(flow, calls, warmup, rate, false)
    }

    /// A plan for `flow`; `auth`: the flow may hold messages that stay between the UAC and
    /// a proxy that authenticates (a real server's SIP auth; the testbed's proxy has none).
    pub fn build(flow: &SipFlow, calls: u64, warmup: u64, rate: f64, auth: bool) -> Result<Plan> {
        if calls == 0 || calls > 100_000 {
            return Err(Error::Usage(format!(
                "--calls {calls}: expected 1..=100000"
            )));
        }
        if warmup > 10_000 {
            return Err(Error::Usage(format!(
                "--warmup {warmup}: expected 0..=10000"
            )));
        }
        if !rate.is_finite() || !(1.0..=MAX_RATE).contains(&rate) {
            return Err(Error::Usage(format!(
                "--rate {rate}: expected 1..={MAX_RATE} calls per second"
            )));
        }
        let mut steps = Vec::new();
        let (mut sent_by, mut route_uri) = (None, None);
        for m in &flow.messages {
            if m.legs != Legs::Both && !auth {
                return Err(Error::Unsupported {
                    backend: "testbed",
                    what: format!(
                        "flow '{}': message {} does not cross the proxy (SIP auth is not in the testbed)",
                        flow.name, m.name
                    ),
                });
            }
            let msg = sip::parse(&m.bytes).map_err(|e| Error::Sip {
                what: format!("{}: {e}", m.name),
            })?;
            let from_uac = msg.method().is_some();
            let crosses = m.legs == Legs::Both;
            if !from_uac && crosses && sent_by.is_none() {
                let top = msg.vias().first().copied().unwrap_or("");
                sent_by = Some(sip::via_sent_by(top)?);
                route_uri = msg.record_routes().first().map(|rr| {
                    rr.trim()
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .replace(";lr", "")
                });
            }
            steps.push(Step {
                name: m.name.clone(),
                bytes: m.bytes.clone(),
                from_uac,
                crosses,
            });
        }
        let sent_by = sent_by.ok_or_else(|| {
            Error::Usage(format!(
                "flow '{}' has no response: the proxy's Via is unknown",
                flow.name
            ))
        })?;
        let route_uri = route_uri.unwrap_or_else(|| format!("sip:{sent_by}"));
        Ok(Plan {
            steps,
            calls,
            warmup,
            rate,
            sent_by,
            route_uri,
        })
    }

    /// Warm-up plus measured calls.
    pub fn total_calls(&self) -> u64 {
        self.warmup + self.calls
    }
}

/// One testbed configuration: transport, proxy mode, TLS kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bed {
    /// Transport of both legs.
    pub transport: Transport,
    /// Which sides take a new connection per call.
    pub mode: ProxyMode,
    /// Handshake kind of the per-call TLS connections.
    pub kind: TlsKind,
}

impl Bed {
    /// Every configuration the testbed runs: UDP; TCP and TLS in the proxy chain; TCP and
    /// TLS full, mutual, resumed in outbound, inbound and local mode (15 in all).
    pub fn all() -> Vec<Bed> {
        let chain = ProxyMode::ProxyChain;
        let mut v = vec![
            Bed::new(Transport::Udp, chain, TlsKind::Full),
            Bed::new(Transport::Tcp, chain, TlsKind::Full),
            Bed::new(Transport::Tls, chain, TlsKind::Full),
        ];
        for mode in [ProxyMode::Outbound, ProxyMode::Inbound, ProxyMode::Local] {
            v.push(Bed::new(Transport::Tcp, mode, TlsKind::Full));
            for kind in TlsKind::ALL {
                v.push(Bed::new(Transport::Tls, mode, kind));
            }
        }
        v
    }

    fn new(transport: Transport, mode: ProxyMode, kind: TlsKind) -> Bed {
        Bed {
            transport,
            mode,
            kind,
        }
    }

    /// The model configuration it is (no SIP auth).
    pub fn config(&self) -> Config {
        Config {
            mode: self.mode,
            auth: false,
            transport: self.transport,
            kind: self.kind,
            suite: BulkSuite::Aes,
        }
    }

    /// Its name, as the model prints it (`inbound/tls-resumed`).
    pub fn name(&self) -> String {
        self.config().name()
    }

    /// The testbed configuration of a model name.
    pub fn from_name(name: &str) -> Result<Bed> {
        Bed::all()
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                let valid: Vec<String> = Bed::all().iter().map(|b| b.name()).collect();
                Error::Usage(format!(
                    "the testbed has no configuration '{name}'; expected one of: {}",
                    valid.join(", ")
                ))
            })
    }
}

/// One run's result.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResult {
    /// Configuration name.
    pub name: String,
    /// Measured calls (all completed).
    pub calls: u64,
    /// The proxy thread's CPU µs per call.
    pub cpu_us_per_call: f64,
    /// Wall time of the whole run (s).
    pub wall_s: f64,
}

fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T>>, who: &str) -> Result<T> {
    h.join()
        .map_err(|_| Error::Usage(format!("testbed: the {who} thread panicked")))?
}

fn first_error<A, B, C>(a: Result<A>, b: Result<B>, c: Result<C>) -> Result<(A, B, C)> {
    // The proxy's error is the most telling; a UA's timeout usually follows from it.
    match (a, b, c) {
        (Ok(a), Ok(b), Ok(c)) => Ok((a, b, c)),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Err(e),
    }
}

fn udp_bind(what: &str) -> Result<UdpSocket> {
    let s = UdpSocket::bind("127.0.0.1:0").map_err(|e| Error::io(format!("{what}: bind"), e))?;
    s.set_read_timeout(Some(wire::IO_TIMEOUT))
        .map_err(|e| Error::io(format!("{what}: timeout"), e))?;
    Ok(s)
}

fn tcp_listen(what: &str) -> Result<TcpListener> {
    TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io(format!("{what}: listen"), e))
}

fn addr<T>(r: std::io::Result<T>, what: &str) -> Result<T> {
    r.map_err(|e| Error::io(format!("{what}: local address"), e))
}

/// The UAC of a testbed run: one lane towards the proxy at `proxy`, calling the UAS.
fn testbed_uac(uas: &Uas, run: &str, proxy: std::net::SocketAddr, bed: Bed) -> Result<Uac> {
    Uac::new(UacSpec {
        server: proxy,
        transport: bed.transport,
        new_per_call: bed.mode.new_left(),
        lanes: 1,
        timeout: wire::IO_TIMEOUT,
        who: load::uac_identity(uas, run, None),
    })
}

/// Runs one configuration: proxy, UAC and UAS threads over loopback; checks that every
/// call completed and every handshake was of the named kind.
pub fn run_bed(bed: Bed, plan: &Plan, pki: &Pki) -> Result<RunResult> {
    let name = bed.name();
    let fail = |what: String| Error::SelfCheck {
        bench: format!("testbed {name}"),
        what,
    };
    let start = Instant::now();
    let total = plan.total_calls();
    let run = load::run_id();
    let stop = AtomicBool::new(false);
    // The UAC's run ends the UAS's, whatever its outcome.
    let drive = |uac: &Uac, tls: Option<&TlsEnd>| {
        let r = uac.run(plan, tls, &mut |_| Ok(()));
        stop.store(true, Ordering::Relaxed);
        r
    };
    let (prep, uac, uas) = if bed.transport == Transport::Udp {
        // RFC 3261 18.1.1: a large message goes over TCP or TLS, never fragmented over UDP.
        for step in &plan.steps {
            sip::check_udp_size(&step.name, step.bytes.len()).map_err(|e| {
                Error::Usage(format!("testbed {name}: {e}; this flow needs TCP or TLS"))
            })?;
        }
        let uas = Uas::bind(Transport::Udp, false, &run, 1)?;
        let ps = udp_bind("proxy")?;
        let pa = addr(ps.local_addr(), "proxy")?;
        let uac = testbed_uac(&uas, &run, pa, bed)?;
        let ca = uac.udp_addrs()?[0];
        let sa = uas.addr();
        std::thread::scope(|s| {
            let p = s.spawn(|| proxy::run_udp(plan, &ps, ca, sa));
            let u = s.spawn(|| uas.run(plan, None, &stop));
            let c = s.spawn(|| drive(&uac, None));
            first_error(join(p, "proxy"), join(c, "UAC"), join(u, "UAS"))
        })?
    } else {
        let tls = bed.transport == Transport::Tls;
        let mutual = tls && bed.kind == TlsKind::Mutual;
        let resume = bed.kind == TlsKind::Resumed;
        let (new_left, new_right) = (bed.mode.new_left(), bed.mode.new_right());
        let mk = |server: bool, resume: bool| -> Result<Option<TlsEnd>> {
            if !tls {
                return Ok(None);
            }
            Ok(Some(if server {
                TlsEnd::server(pki, mutual)?
            } else {
                TlsEnd::client(pki, mutual, resume)?
            }))
        };
        let (mut p_left, mut p_right) = (mk(true, false)?, mk(false, resume && new_right)?);
        let (uac_end, uas_end) = (mk(false, resume && new_left)?, mk(true, false)?);
        let uas = Uas::bind(bed.transport, new_right, &run, 1)?;
        let pl = tcp_listen("proxy")?;
        let pa = addr(pl.local_addr(), "proxy")?;
        let uac = testbed_uac(&uas, &run, pa, bed)?;
        let ua = uas.addr();
        let r = std::thread::scope(|s| {
            let p = s.spawn(|| {
                proxy::run_stream(
                    plan,
                    &pl,
                    ua,
                    (new_left, new_right),
                    (p_left.as_mut(), p_right.as_mut()),
                )
            });
            let u = s.spawn(|| uas.run(plan, uas_end.as_ref(), &stop));
            let c = s.spawn(|| drive(&uac, uac_end.as_ref()));
            first_error(join(p, "proxy"), join(c, "UAC"), join(u, "UAS"))
        })?;
        if tls {
            let want = |new: bool| if new { total } else { 1 };
            let check = |side: &str, (n, resumed): (u64, u64), new: bool| -> Result<()> {
                if n != want(new) {
                    return Err(fail(format!(
                        "{side}: {n} TLS handshakes, expected {}",
                        want(new)
                    )));
                }
                // The first handshake of a resumed side is a full one (in the warm-up).
                let want_resumed = if resume && new { n - 1 } else { 0 };
                if resumed != want_resumed {
                    return Err(fail(format!(
                        "{side}: {resumed} of {n} handshakes resumed, expected {want_resumed}"
                    )));
                }
                Ok(())
            };
            check("proxy as server (left)", r.0.left_handshakes, new_left)?;
            check("proxy as client (right)", r.0.right_handshakes, new_right)?;
            if mutual && r.0.left_client_certs != r.0.left_handshakes.0 {
                return Err(fail(format!(
                    "mutual TLS: {} of {} left handshakes verified a client certificate",
                    r.0.left_client_certs, r.0.left_handshakes.0
                )));
            }
        }
        r
    };
    for (who, n) in [
        ("proxy", prep.calls),
        ("UAC", uac.completed),
        ("UAS", uas.completed),
    ] {
        if n != total {
            return Err(fail(format!("{who} completed {n} of {total} calls")));
        }
    }
    if prep.measured_calls != plan.calls || prep.cpu_ns == 0 {
        return Err(fail(format!(
            "the proxy measured {} calls, {} ns of CPU",
            prep.measured_calls, prep.cpu_ns
        )));
    }
    Ok(RunResult {
        name,
        calls: plan.calls,
        cpu_us_per_call: prep.cpu_ns as f64 / plan.calls as f64 / 1000.0,
        wall_s: start.elapsed().as_secs_f64(),
    })
}

/// Median, minimum and maximum of a non-empty sample.
pub fn median_min_max(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    let med = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    (med, v[0], v[n - 1])
}

/// The figures of repeated runs of one configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Configuration.
    pub bed: Bed,
    /// CPU µs per call of each run.
    pub runs: Vec<f64>,
}

impl Series {
    /// Median µs per call.
    pub fn median(&self) -> f64 {
        median_min_max(&self.runs).0
    }
    /// Max − min, µs.
    pub fn spread(&self) -> f64 {
        let (_, lo, hi) = median_min_max(&self.runs);
        hi - lo
    }
    /// As a calibration-file row (median, spread).
    pub fn measurement(&self) -> Measurement {
        Measurement {
            configuration: self.bed.name(),
            us_per_call: self.median(),
            spread_us: Some(self.spread()),
            protocol: None,
        }
    }
}

/// Runs `beds`, `repeat` rounds (each round runs every configuration once, so that a slow
/// period of the machine spreads over all of them); progress on stderr.
pub fn run_series(beds: &[Bed], plan: &Plan, pki: &Pki, repeat: usize) -> Result<Vec<Series>> {
    let mut out: Vec<Series> = beds
        .iter()
        .map(|b| Series {
            bed: *b,
            runs: Vec::new(),
        })
        .collect();
    for round in 0..repeat {
        for s in out.iter_mut() {
            let r = run_bed(s.bed, plan, pki)?;
            eprintln!(
                "testbed: round {}/{repeat} {:<22} {:>8.1} µs/call ({} calls, {:.1} s)",
                round + 1,
                r.name,
                r.cpu_us_per_call,
                r.calls,
                r.wall_s
            );
            s.runs.push(r.cpu_us_per_call);
        }
    }
    Ok(out)
}

/// Refuses runs that would take longer than this (s).
pub const MAX_RUN_S: f64 = 1800.0;

/// The most calls per second the load generator offers (a plan's `--rate`, and the peak
/// search's highest trial).
pub const MAX_RATE: f64 = 5_000.0;

/// Arguments of `tlscost testbed`.
#[derive(Debug, Clone, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// `serve`: run the testbed's proxy as a server process of its own.
    #[command(subcommand)]
    pub serve: Option<TestbedCommand>,
    /// Configurations to run: comma-separated model names (e.g. `proxy-chain/udp,local/tls`), or `all`.
    #[arg(long, default_value = "all")]
    pub configs: String,
    /// Measured calls per run.
    #[arg(long, default_value_t = 200)]
    pub calls: u64,
    /// Warm-up calls per run, not measured.
    #[arg(long, default_value_t = 10)]
    pub warmup: u64,
    /// Calls started per second.
    #[arg(long, default_value_t = 100.0, allow_negative_numbers = true)]
    pub rate: f64,
    /// Runs per configuration (the median is reported).
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Calibration CSV to write (default: results/testbed-calibration.csv).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write nothing.
    #[arg(long)]
    pub no_save: bool,
}

/// The configurations named by `--configs`.
pub fn parse_beds(list: &str) -> Result<Vec<Bed>> {
    if list.trim() == "all" {
        return Ok(Bed::all());
    }
    let mut v = Vec::new();
    for n in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let b = Bed::from_name(n)?;
        if !v.contains(&b) {
            v.push(b);
        }
    }
    if v.is_empty() {
        return Err(Error::Usage("--configs: no configuration named".into()));
    }
    Ok(v)
}

/// Checks the run's size and builds its plan.
pub fn plan_for(calls: u64, warmup: u64, rate: f64, repeat: usize, beds: usize) -> Result<Plan> {
    if repeat == 0 || repeat > 20 {
        return Err(Error::Usage(format!("--repeat {repeat}: expected 1..=20")));
    }
    let flow = Fixtures::locate()?.flows()?.flow("basic")?.clone();
    let plan = Plan::new(&flow, calls, warmup, rate)?;
    let est = (calls + warmup) as f64 / rate * (repeat * beds) as f64;
    if est > MAX_RUN_S {
        return Err(Error::Usage(format!(
            "this run would take about {est:.0} s (calls / rate × configurations × repeats); at most {MAX_RUN_S} s: lower --calls or --repeat, or raise --rate"
        )));
    }
    Ok(plan)
}

/// The comment lines of a testbed calibration file.
pub fn provenance(plan: &Plan, repeat: usize) -> Vec<String> {
    let m = crate::machine::Machine::current();
    vec![
        "tlscost testbed: loopback SIP proxy, CPU µs per call of the proxy thread (CLOCK_THREAD_CPUTIME_ID), median of the runs; spread_us = max - min".into(),
        format!(
            "{} measured calls (+{} warm-up) per run at {} calls/s, {repeat} run(s) per configuration, flow 'basic', TLS 1.2 AES128-SHA (RSA key transport), {}",
            plan.calls,
            plan.warmup,
            plan.rate,
            openssl::version::version()
        ),
        format!("machine: {}", serde_json::to_string(&m).unwrap_or_default()),
    ]
}

/// Prints the series as a table.
pub fn series_table(series: &[Series]) -> String {
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "configuration",
        "runs",
        "median µs/call",
        "min..max",
        "peak calls/s (1 core)",
    ]);
    for s in series {
        let (m, lo, hi) = median_min_max(&s.runs);
        t.add_row(vec![
            s.bed.name(),
            s.runs.len().to_string(),
            format!("{m:.1}"),
            format!("{lo:.1}..{hi:.1}"),
            format!("{:.0}", 1e6 / m),
        ]);
    }
    format!("{t}\n")
}

/// The subcommands of `tlscost testbed`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum TestbedCommand {
    /// Run the testbed's proxy as a server at the given addresses until SIGTERM (what
    /// `tlscost server measure` can measure like any other server).
    Serve(serve::ServeArgs),
}

/// `tlscost testbed`.
pub fn run(args: Args) -> Result<()> {
    if let Some(TestbedCommand::Serve(a)) = args.serve {
        return serve::run(a);
    }
    let mut beds = parse_beds(&args.configs)?;
    let mut plan = plan_for(args.calls, args.warmup, args.rate, args.repeat, beds.len())?;
    // `all` on a flow UDP cannot carry (RFC 3261 18.1.1): the stream configurations only.
    if args.configs.trim() == "all" {
        if let Some(e) = plan
            .steps
            .iter()
            .find_map(|s| sip::check_udp_size(&s.name, s.bytes.len()).err())
        {
            eprintln!("testbed: skipping the UDP configuration: {e}");
            beds.retain(|b| b.transport != Transport::Udp);
            plan = plan_for(args.calls, args.warmup, args.rate, args.repeat, beds.len())?;
        }
    }
    let pki = Pki::locate()?;
    let series = run_series(&beds, &plan, &pki, args.repeat)?;
    print!("{}", series_table(&series));
    if !args.no_save {
        let path = args
            .out
            .unwrap_or_else(|| crate::model::default_results_dir().join("testbed-calibration.csv"));
        let rows: Vec<Measurement> = series.iter().map(Series::measurement).collect();
        calibrate::write_csv(&path, &provenance(&plan, args.repeat), &rows)?;
        eprintln!("calibration file: {}", path.display());
    }
    Ok(())
}

/// The names of the testbed's configurations (for documentation and tests).
pub fn names() -> Vec<String> {
    Bed::all().iter().map(Bed::name).collect()
}
