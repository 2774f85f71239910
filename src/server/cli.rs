//! `tlscost server`: flags, output files and the table.
//!
//! - `tlscost server measure --listen udp=127.0.0.1:5060 ... --pid-file /run/my.pid`:
//!   measures a SIP server that is already running.
//! - `tlscost server kamailio`: starts Kamailio (and MariaDB for SIP auth) from
//!   `servers/kamailio/`, measures it, stops everything it started.
//!
//! Both write the measured-server JSON and the calibration CSV beside it (atomically, only
//! when every configuration ran) and print the table.

use super::cpu::{self, Processes};
use super::file::{LoadInfo, ServerFile, ServerInfo, KIND, SCHEMA_VERSION};
use super::measure::{self, Listens, Server, Settings, Target};
use crate::handshake::{Pki, Protocol};
use crate::model::calibrate;
use crate::names::Dimension;
use crate::testbed::dialog::Credentials;
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Arguments of `tlscost server`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to measure.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `tlscost server`.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Measure a SIP server that is already running: its addresses (--listen) and the
    /// processes whose CPU is counted (--pid, --pid-file, with their children).
    Measure(MeasureArgs),
    /// Start Kamailio from servers/kamailio/ (and MariaDB for SIP auth), measure every
    /// configuration, its peak rates and profiles, and stop everything it started.
    Kamailio(super::kamailio::Args),
}

/// How the configurations are run (shared by `measure` and `kamailio`).
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Configurations: comma-separated model names (`proxy-chain/udp,outbound/tls`), or `all`.
    #[arg(long, default_value = "all")]
    pub configs: String,
    /// TLS handshake protocols, comma-separated labels, or `all`.
    #[arg(
        long,
        default_value = "tls12-rsa-aes128-sha,tls12-ecdhe-rsa-aes128-gcm,tls13-aes128-gcm,tls12-rsa-3des-sha"
    )]
    pub protocols: String,
    /// Protocols of the SIP-auth configurations (`none`: no SIP auth).
    #[arg(long, default_value = "tls12-rsa-aes128-sha")]
    pub auth_protocols: String,
    /// Measured calls per run.
    #[arg(long, default_value_t = 200)]
    pub calls: u64,
    /// Warm-up calls per run, not measured.
    #[arg(long, default_value_t = 20)]
    pub warmup: u64,
    /// Calls started per second.
    #[arg(long, default_value_t = 100.0, allow_negative_numbers = true)]
    pub rate: f64,
    /// Runs per configuration (the median is reported).
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// How long one expected message may take before the call fails (ms).
    #[arg(long, default_value_t = 3000)]
    pub timeout_ms: u64,
    /// Wait after the last measured call before the closing CPU sample (ms).
    #[arg(long, default_value_t = 200)]
    pub settle_ms: u64,
    /// How long the idle CPU is sampled before the runs (s).
    #[arg(long, default_value_t = 2.0)]
    pub idle_s: f64,
    /// SIP-auth user the UAC answers challenges as.
    #[arg(long, default_value = "alice")]
    pub auth_user: String,
    /// Its password.
    #[arg(long, default_value = "tlscost-secret")]
    pub auth_password: String,
    /// The JSON to write (the calibration CSV goes beside it, `.csv`); default
    /// results/<name>-<host>-<date>-<time>.json.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write nothing.
    #[arg(long)]
    pub no_save: bool,
}

/// The phases after the CPU-per-call runs: peak throughput and profiles.
#[derive(Debug, Clone, clap::Args)]
pub struct ExtraArgs {
    /// Configurations whose peak rate is searched (server on one core, generators on
    /// another), comma-separated model names; their TLS ones with --extra-protocol.
    #[arg(long, value_name = "CONFIGS")]
    pub peak_configs: Option<String>,
    /// Configurations profiled with perf (the paper's breakdown), comma-separated.
    #[arg(long, value_name = "CONFIGS")]
    pub profile_configs: Option<String>,
    /// The TLS protocol of the peak and profile configurations.
    #[arg(long, default_value = "tls12-rsa-aes128-sha")]
    pub extra_protocol: String,
    /// Trials at most per peak search.
    #[arg(long, default_value_t = 8)]
    pub peak_trials: usize,
    /// Calls in flight during a peak search (enough to hide the latency of a busy machine).
    #[arg(long, default_value_t = 256)]
    pub peak_lanes: usize,
}

/// Arguments of `tlscost server measure`.
#[derive(Debug, clap::Args)]
pub struct MeasureArgs {
    /// An address of the server, `KIND=ADDR` (repeat): udp, tcp, tls, tls-mutual (requires
    /// client certificates), and each with `auth-` (challenges INVITEs), e.g.
    /// `--listen udp=127.0.0.1:5060 --listen tls=127.0.0.1:5061`.
    #[arg(long = "listen", value_name = "KIND=ADDR", required = true)]
    pub listen: Vec<String>,
    /// A process of the server whose CPU is counted (repeat).
    #[arg(long, value_name = "PID")]
    pub pid: Vec<u32>,
    /// A pid file naming the server's main process.
    #[arg(long, value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// Count only the given processes, not their children.
    #[arg(long)]
    pub no_children: bool,
    /// The server's name in the outputs.
    #[arg(long, default_value = "server")]
    pub name: String,
    /// Its version, as it reports it.
    #[arg(long, default_value = "unknown")]
    pub server_version: String,
    /// How the runs go.
    #[command(flatten)]
    pub load: LoadArgs,
    /// Peak throughput and profiles (none unless asked for).
    #[command(flatten)]
    pub extra: ExtraArgs,
}

fn parse_protocols(list: &str, flag: &str) -> Result<Vec<Protocol>> {
    let list = list.trim();
    if list == "none" {
        return Ok(Vec::new());
    }
    if list == "all" {
        return Ok(rsa_protocols());
    }
    let mut out = Vec::new();
    for l in list.split(',').map(str::trim).filter(|l| !l.is_empty()) {
        let p =
            calibrate::protocol_from_label(l).map_err(|e| Error::Usage(format!("{flag}: {e}")))?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Every protocol a server with an RSA certificate (the fixtures' server identity, which
/// `tlscost server` gives Kamailio) can negotiate: all but the ECDSA suite.
pub fn rsa_protocols() -> Vec<Protocol> {
    Protocol::ALL
        .iter()
        .copied()
        .filter(|p| p.takes_cert(crate::handshake::Cert::Rsa2048))
        .collect()
}

/// The targets the flags name.
pub fn targets(load: &LoadArgs) -> Result<Vec<Target>> {
    let protocols = parse_protocols(&load.protocols, "--protocols")?;
    let auth = parse_protocols(&load.auth_protocols, "--auth-protocols")?;
    let all = Target::all(&protocols, &auth);
    if load.configs.trim() == "all" {
        return Ok(all);
    }
    let mut out = Vec::new();
    for name in load
        .configs
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        let chosen: Vec<Target> = all
            .iter()
            .filter(|t| t.config.name() == name)
            .copied()
            .collect();
        if chosen.is_empty() {
            let mut valid: Vec<String> = all.iter().map(|t| t.config.name()).collect();
            valid.dedup();
            return Err(Error::Usage(format!(
                "--configs: no configuration '{name}' (with --protocols {} and --auth-protocols {}); expected one of: {}",
                load.protocols,
                load.auth_protocols,
                valid.join(", ")
            )));
        }
        for t in chosen {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// Targets named by a comma-separated list of configuration names, TLS ones with
/// `protocol` (`flag` names the list in errors).
pub fn named_targets(list: &str, protocol: &str, flag: &str) -> Result<Vec<Target>> {
    let p = calibrate::protocol_from_label(protocol)
        .map_err(|e| Error::Usage(format!("--extra-protocol: {e}")))?;
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let config =
            calibrate::config_from_name(name).map_err(|e| Error::Usage(format!("{flag}: {e}")))?;
        let protocol = (config.transport == crate::model::configs::Transport::Tls).then_some(p);
        out.push(Target { config, protocol });
    }
    Ok(out)
}

/// The machine's load average now (1, 5, 15 min), for the notes.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// Runs the peak searches and profiles `extra` asks for and adds them to `f`.
pub fn run_extras(
    f: &mut ServerFile,
    server: &Server,
    s: &Settings,
    extra: &ExtraArgs,
    work: &Path,
) -> Result<()> {
    let pki = Pki::locate()?;
    let idle = f
        .measurements
        .first()
        .map(|m| m.idle_us_per_s)
        .unwrap_or(0.0);
    if let Some(list) = &extra.peak_configs {
        let mut with_us = Vec::new();
        for t in named_targets(list, &extra.extra_protocol, "--peak-configs")? {
            let name = t.config.name();
            let label = t.protocol.map(|p| p.label().to_string());
            match f
                .measurements
                .iter()
                .find(|m| m.configuration == name && m.protocol == label)
            {
                Some(m) => with_us.push((t, m.us_per_call)),
                None => f.notes.push(format!(
                    "peak of {} not searched: its CPU per call was not measured (the projection needs it)",
                    t.label()
                )),
            }
        }
        let ps = super::peak::PeakSettings {
            max_trials: extra.peak_trials,
            lanes: extra.peak_lanes,
            ..Default::default()
        };
        if !with_us.is_empty() {
            let search = super::peak::Search {
                server,
                settings: s,
                peak: &ps,
                pki: &pki,
                idle_us_per_s: idle,
            };
            f.peaks = super::peak::peaks(&search, &with_us, &mut |l| eprintln!("server: {l}"))?;
        }
    }
    if let Some(list) = &extra.profile_configs {
        super::perf::check_perf()?;
        for t in named_targets(list, &extra.extra_protocol, "--profile-configs")? {
            if server.listens.get(t.entry()).is_none() {
                f.notes.push(format!(
                    "{} not profiled: the server has no {} address",
                    t.label(),
                    t.entry().label()
                ));
                continue;
            }
            let p = super::perf::profile_target(&t, server, s, &pki, work)?;
            eprintln!(
                "server: profile {}: {:.0} µs/call sampled ({} samples)",
                t.label(),
                p.total_us,
                p.samples
            );
            f.profiles.push(p);
        }
    }
    Ok(())
}

/// The run settings the flags give, checked.
pub fn settings(load: &LoadArgs, targets: usize) -> Result<Settings> {
    if load.calls == 0 || load.calls > 100_000 {
        return Err(Error::Usage(format!(
            "--calls {}: expected 1..=100000",
            load.calls
        )));
    }
    if load.warmup > 10_000 {
        return Err(Error::Usage(format!(
            "--warmup {}: expected 0..=10000",
            load.warmup
        )));
    }
    if !load.rate.is_finite() || !(1.0..=20_000.0).contains(&load.rate) {
        return Err(Error::Usage(format!(
            "--rate {}: expected 1..=20000 calls per second",
            load.rate
        )));
    }
    if load.repeat == 0 || load.repeat > 20 {
        return Err(Error::Usage(format!(
            "--repeat {}: expected 1..=20",
            load.repeat
        )));
    }
    if !(100..=60_000).contains(&load.timeout_ms) {
        return Err(Error::Usage(format!(
            "--timeout-ms {}: expected 100..=60000",
            load.timeout_ms
        )));
    }
    if load.settle_ms > 10_000 {
        return Err(Error::Usage(format!(
            "--settle-ms {}: expected 0..=10000",
            load.settle_ms
        )));
    }
    if !load.idle_s.is_finite() || !(0.1..=60.0).contains(&load.idle_s) {
        return Err(Error::Usage(format!(
            "--idle-s {}: expected 0.1..=60",
            load.idle_s
        )));
    }
    let est = (load.calls + load.warmup) as f64 / load.rate * (load.repeat * targets) as f64;
    if est > crate::testbed::MAX_RUN_S {
        return Err(Error::Usage(format!(
            "this run would take about {est:.0} s ((calls + warm-up) / rate × configurations × repeats); at most {} s: lower --calls or --repeat, or raise --rate",
            crate::testbed::MAX_RUN_S
        )));
    }
    Ok(Settings {
        calls: load.calls,
        warmup: load.warmup,
        rate: load.rate,
        repeat: load.repeat,
        timeout: Duration::from_millis(load.timeout_ms),
        settle: Duration::from_millis(load.settle_ms),
        idle: Duration::from_secs_f64(load.idle_s),
        credentials: Some(Credentials {
            user: load.auth_user.clone(),
            password: load.auth_password.clone(),
        }),
    })
}

/// The default output path: results/<name>-<host>-<date>-<HHMMSS>.json (UTC; one file per
/// run, so a second run the same day does not replace the first).
pub fn default_out(name: &str) -> PathBuf {
    let host = crate::machine::Machine::current().host;
    let at = crate::results::file_stamp(&crate::results::utc_now());
    crate::model::default_results_dir().join(format!("{name}-{host}-{at}.json"))
}

/// The comment lines of the calibration CSV.
fn provenance(f: &ServerFile) -> Vec<String> {
    vec![
        format!("tlscost server: {}", f.describe()),
        format!(
            "server CPU µs per call (every process and thread, /proc schedstat), idle subtracted, median of {} run(s); spread_us = max - min; {} measured calls (+{} warm-up) per run at {} calls/s",
            f.load.repeat, f.load.calls, f.load.warmup, f.load.rate
        ),
        format!("start line: {}", f.server.start_line),
        format!(
            "machine: {}",
            serde_json::to_string(&f.machine).unwrap_or_default()
        ),
    ]
}

/// Writes the JSON and the calibration CSV beside it.
pub fn save(f: &ServerFile, json: &Path) -> Result<PathBuf> {
    let csv = json.with_extension("csv");
    calibrate::write_csv(&csv, &provenance(f), &f.calibration_rows())?;
    f.write(json)?;
    Ok(csv)
}

/// Measures `server` on the targets and builds the file (nothing written yet).
pub fn measure_server(
    server: &Server,
    targets: &[Target],
    s: &Settings,
    notes: Vec<String>,
) -> Result<ServerFile> {
    let pki = Pki::locate()?;
    let (idle, series) = measure::measure(server, targets, s, &pki, &mut |line| {
        eprintln!("server: {line}")
    })?;
    let (measurements, not_measured) = measure::rows(&series, idle);
    if measurements.is_empty() {
        return Err(Error::Usage(format!(
            "nothing measured: every configuration asked for was not measurable ({})",
            not_measured
                .iter()
                .map(|n| format!("{}: {}", n.configuration, n.reason))
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }
    let auth = targets.iter().any(|t| t.config.auth);
    let mut notes = notes;
    notes.push(format!(
        "machine load average (1, 5, 15 min) at the end of the runs: {} on {} cores; other work on the machine makes figures noisy (see each row's spread)",
        load_average(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    Ok(ServerFile {
        kind: KIND.into(),
        schema_version: SCHEMA_VERSION,
        date: crate::results::utc_now(),
        machine: crate::machine::Machine::current(),
        server: server.info.clone(),
        load: LoadInfo {
            flow: if auth {
                "basic, auth".into()
            } else {
                "basic".into()
            },
            rate: s.rate,
            calls: s.calls,
            warmup: s.warmup,
            repeat: s.repeat,
        },
        measurements,
        not_measured,
        notes,
        peaks: Vec::new(),
        profiles: Vec::new(),
    })
}

/// Saves (unless `--no-save`) and prints.
pub fn finish(f: &ServerFile, load: &LoadArgs) -> Result<()> {
    print!("{}", super::report::table(f));
    print!("{}", super::report::peaks_table(f));
    let paper = crate::model::paper::Paper::locate().ok().map(|p| p.raw);
    print!("{}", super::report::breakdown(f, paper.as_ref()));
    if !load.no_save {
        let json = load
            .out
            .clone()
            .unwrap_or_else(|| default_out(&f.server.name));
        let csv = save(f, &json)?;
        eprintln!(
            "measured-server file: {}\ncalibration CSV: {}",
            json.display(),
            csv.display()
        );
    }
    // Everything measured is kept; the exit status still says that something failed.
    let failed: Vec<&str> = f
        .not_measured
        .iter()
        .filter(|n| n.reason.starts_with(super::measure::RUN_FAILED))
        .map(|n| n.configuration.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(Error::Usage(format!(
            "{} configuration(s) failed twice and are not measured ({}); the others are in the file",
            failed.len(),
            failed.join(", ")
        )));
    }
    Ok(())
}

/// The server's command line as its main process shows it.
pub fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|&c| c == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// `tlscost server measure`.
pub fn run_measure(args: MeasureArgs) -> Result<()> {
    let listens = Listens::parse(&args.listen)?;
    let mut pids = args.pid.clone();
    if let Some(f) = &args.pid_file {
        pids.push(cpu::read_pid_file(f)?);
    }
    let processes = Processes::live(&pids, !args.no_children)?;
    let targets = targets(&args.load)?;
    let s = settings(&args.load, targets.len())?;
    let server = Server {
        info: ServerInfo {
            name: args.name.clone(),
            version: args.server_version.clone(),
            start_line: pids.first().map(|&p| cmdline(p)).unwrap_or_default(),
            memory_manager: None,
            tls_library: None,
            database: None,
        },
        listens,
        processes,
        unsupported: Vec::new(),
    };
    let mut f = measure_server(&server, &targets, &s, Vec::new())?;
    let work = super::kamailio::TempDir::new("server")?;
    run_extras(&mut f, &server, &s, &args.extra, work.path())?;
    finish(&f, &args.load)
}

/// `tlscost server`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Measure(a) => run_measure(a),
        Command::Kamailio(a) => super::kamailio::run(a),
    }
}
