//! `tlscost scale`: handshakes per second and CPU per handshake with 1..N threads sharing
//! one server context and one client context, and the scaling efficiency.
//!
//! The per-call model projects peak calls/s from the CPU one call costs on one core. On K
//! cores that is K times more only if nothing is shared; OpenSSL 3.0 takes locks in its
//! provider and property lookups on every handshake, and threads sharing an `SSL_CTX`
//! contend for them. Here every thread runs whole in-memory handshakes (both sides, as
//! [`crate::handshake`] does) on the one [`Setup`] of the scenario, as a multi-threaded
//! server shares its context, for `--seconds` of wall time.
//!
//! Per thread count t: **throughput** = handshakes of all threads / wall time; **CPU per
//! handshake** = the threads' CPU time / handshakes; **efficiency** = throughput(t) /
//! (t × throughput(1)). A thread's wall time is its CPU time, plus the time it waited for a
//! CPU while another program (or, above the core count, a sibling thread) ran, plus the time
//! it was blocked (a lock held by another thread). Other programs on a shared machine are
//! not the code's fault: up to the core count, throughput is computed over the threads'
//! wall time minus their waits for a CPU (`/proc/thread-self/schedstat`), and the raw
//! figure is shown beside it.

use crate::cputime::{thread_cpu, thread_schedstat};
use crate::handshake::{self, Kind, Pki, Protocol, Scenario, Setup, Stack, Wire};
use crate::{Error, Result};
use comfy_table::{presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Barrier;
use std::time::{Duration, Instant};

/// One thread count of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Threads.
    pub threads: usize,
    /// Handshakes completed by all threads.
    pub handshakes: u64,
    /// Wall seconds of the run (from the common start to the last thread's end).
    pub wall_s: f64,
    /// Wall seconds of the threads, summed (each from the start to its own end).
    pub thread_wall_s: f64,
    /// CPU seconds of all threads.
    pub cpu_s: f64,
    /// Seconds the threads waited for a CPU (summed over threads).
    pub wait_s: f64,
}

impl Point {
    /// Handshakes per second over the wall time.
    pub fn raw_throughput(&self) -> f64 {
        self.handshakes as f64 / self.wall_s
    }

    /// Handshakes per second with the threads' waits for a CPU taken out: the handshakes
    /// over the threads' mean wall time minus their mean wait (running or blocked time).
    pub fn throughput(&self) -> f64 {
        let busy = (self.thread_wall_s - self.wait_s) / self.threads as f64;
        self.handshakes as f64 / busy.max(self.wall_s * 0.001)
    }

    /// CPU µs per handshake (both sides).
    pub fn cpu_us(&self) -> f64 {
        self.cpu_s * 1e6 / self.handshakes.max(1) as f64
    }

    /// Share of the threads' time spent blocked (neither running nor waiting for a CPU).
    pub fn blocked(&self) -> f64 {
        ((self.thread_wall_s - self.cpu_s - self.wait_s) / self.thread_wall_s).max(0.0)
    }

    /// Share of the threads' time spent waiting for a CPU.
    pub fn waiting(&self) -> f64 {
        self.wait_s / self.thread_wall_s
    }
}

/// All thread counts of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// `<stack>/<protocol>/<kind>`.
    pub scenario: String,
    /// One point per thread count, 1..N.
    pub points: Vec<Point>,
}

impl Curve {
    /// Throughput at `threads` over `threads` × throughput at 1. Up to `cores`, with the
    /// waits for a CPU taken out (other programs' doing); above, raw.
    pub fn efficiency(&self, threads: usize, cores: usize) -> Option<f64> {
        let one = self.points.iter().find(|p| p.threads == 1)?;
        let at = self.points.iter().find(|p| p.threads == threads)?;
        let (t1, tn) = if threads <= cores {
            (one.throughput(), at.throughput())
        } else {
            (one.raw_throughput(), at.raw_throughput())
        };
        Some(tn / (threads as f64 * t1))
    }

    /// [`Curve::efficiency`] from the raw wall-time throughputs.
    pub fn raw_efficiency(&self, threads: usize) -> Option<f64> {
        let one = self.points.iter().find(|p| p.threads == 1)?;
        let at = self.points.iter().find(|p| p.threads == threads)?;
        Some(at.raw_throughput() / (threads as f64 * one.raw_throughput()))
    }
}

/// What `tlscost scale` writes (`<target dir>/scale.json`) and the model reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScaleFile {
    /// Always [`SCALE_KIND`].
    pub kind: String,
    /// Logical cores of the machine.
    pub cores: usize,
    /// Wall seconds per point.
    pub seconds: f64,
    /// The machine.
    pub machine: crate::machine::Machine,
    /// Every scenario measured.
    pub curves: Vec<Curve>,
}

/// Waiting for a CPU more than this share of the time marks a scaling run as busy.
pub const BUSY_WAITING: f64 = 0.10;

/// The `kind` of a scale file.
pub const SCALE_KIND: &str = "tlscost-scale";

impl ScaleFile {
    /// Reads a scale file; errors name the file and what is wrong.
    pub fn read(path: &Path) -> Result<ScaleFile> {
        let bad = |what: String| Error::Results {
            path: path.to_path_buf(),
            what,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let f: ScaleFile = serde_json::from_str(&text).map_err(|e| {
            bad(format!(
                "not a scale file ({e}); write one with `tlscost scale`"
            ))
        })?;
        if f.kind != SCALE_KIND {
            return Err(bad(format!(
                "`kind` is {:?}, expected {SCALE_KIND:?}",
                f.kind
            )));
        }
        Ok(f)
    }

    /// The efficiency of `scenario` at `threads`, or, when `threads` was not measured, at the
    /// largest count measured, with a note saying so.
    pub fn efficiency(&self, scenario: &str, threads: usize) -> Option<(f64, usize)> {
        let c = self.curves.iter().find(|c| c.scenario == scenario)?;
        let max = c.points.iter().map(|p| p.threads).max()?;
        let at = threads.min(max);
        Some((c.efficiency(at, self.cores)?, at))
    }
}

/// The default scale file: `<target dir>/scale.json`.
pub fn default_path() -> PathBuf {
    crate::fsutil::target_dir().join("scale.json")
}

/// The scenarios measured by default: the paper's suite on OpenSSL and the model's rustls
/// protocol, every kind, and TLS 1.3 on both stacks.
pub fn default_scenarios() -> Vec<Scenario> {
    Scenario::ALL
        .iter()
        .copied()
        .filter(|s| {
            matches!(
                (s.stack, s.protocol),
                (Stack::Openssl, Protocol::Tls12RsaAes128Sha)
                    | (Stack::Rustls, Protocol::Tls12EcdheRsaAes128Gcm)
                    | (_, Protocol::Tls13Aes128Gcm)
            )
        })
        .collect()
}

/// The scenarios whose label `<stack>/<protocol>/<kind>` matches one of `patterns` (`*`
/// matches anything), in [`Scenario::ALL`]'s order. A pattern matching no scenario is an
/// error; a matched scenario this build cannot run is an error saying why.
pub fn select(patterns: &[String]) -> Result<Vec<Scenario>> {
    let mut out: Vec<Scenario> = Vec::new();
    for p in patterns {
        let matched: Vec<Scenario> = Scenario::ALL
            .iter()
            .copied()
            .filter(|s| crate::ab::glob(p.strip_prefix("handshake/").unwrap_or(p), &s.label()))
            .collect();
        if matched.is_empty() {
            // The error of an exact name lists what exists.
            Scenario::from_label(p)?;
        }
        // A pattern takes what this build can run; an exact name this build cannot run is
        // an error saying why.
        let glob = p.contains('*');
        let mut any = false;
        for s in matched {
            match s.available() {
                Err(_) if glob => continue,
                r => r?,
            }
            any = true;
            if !out.contains(&s) {
                out.push(s);
            }
        }
        if !any {
            return Err(Error::Usage(format!(
                "--scenario {p}: no handshake scenario this build can run matches it"
            )));
        }
    }
    Ok(out)
}

/// Checks a thread count: at least 1. Returns a note when it exceeds the cores.
pub fn check_threads(threads: usize, cores: usize) -> Result<Option<String>> {
    if threads == 0 {
        return Err(Error::Usage(
            "--threads 0: expected at least 1 thread".into(),
        ));
    }
    Ok((threads > cores).then(|| {
        format!(
            "{threads} threads on {cores} cores: above {cores} threads share cores, so throughput cannot grow further; efficiencies there are from raw wall-time throughput and measure oversubscription, not contention"
        )
    }))
}

/// Runs `threads` threads on one `setup` for `seconds`: each does whole handshakes, checking
/// that each resumed exactly when `kind` says so.
pub fn measure_point(
    setup: &dyn Setup,
    scenario: Scenario,
    threads: usize,
    seconds: f64,
) -> Result<Point> {
    let start = Barrier::new(threads + 1);
    let deadline = Duration::from_secs_f64(seconds);
    let label = scenario.label();
    type Thread = (u64, Duration, u64, Duration);
    let results: Vec<Result<Thread>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (start, label) = (&start, &label);
                s.spawn(move || -> Result<Thread> {
                    // Warm this thread's allocator and caches before the clock starts.
                    one_handshake(setup, scenario, label)?;
                    start.wait();
                    let (cpu0, wait0) = (thread_cpu(), thread_schedstat().map_or(0, |s| s.1));
                    let t0 = Instant::now();
                    let mut n = 0u64;
                    while t0.elapsed() < deadline {
                        one_handshake(setup, scenario, label)?;
                        n += 1;
                    }
                    let wall = t0.elapsed();
                    let wait = thread_schedstat().map_or(0, |s| s.1).saturating_sub(wait0);
                    Ok((n, thread_cpu() - cpu0, wait, wall))
                })
            })
            .collect();
        start.wait();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(Error::Handshake {
                        scenario: label.clone(),
                        what: "a scaling thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    // All threads start together (the barrier) and stop after the deadline's handshake.
    let mut p = Point {
        threads,
        handshakes: 0,
        wall_s: 0.0,
        thread_wall_s: 0.0,
        cpu_s: 0.0,
        wait_s: 0.0,
    };
    for r in results {
        let (n, cpu, wait, wall) = r?;
        p.handshakes += n;
        p.cpu_s += cpu.as_secs_f64();
        p.wait_s += wait as f64 / 1e9;
        p.thread_wall_s += wall.as_secs_f64();
        p.wall_s = p.wall_s.max(wall.as_secs_f64());
    }
    if p.handshakes == 0 {
        return Err(Error::Handshake {
            scenario: label,
            what: format!("no handshake completed in {seconds} s"),
        });
    }
    Ok(p)
}

fn one_handshake(setup: &dyn Setup, scenario: Scenario, label: &str) -> Result<()> {
    let wire = Wire::default();
    let mut c = setup.client(&wire);
    let mut s = setup.server(&wire);
    handshake::drive(c.as_mut(), s.as_mut(), label)?;
    let f = handshake::facts(c.as_ref(), s.as_ref())?;
    c.after_handshake()?;
    s.after_handshake()?;
    let want = scenario.kind.resumes();
    if f.client_resumed != want || f.server_resumed != want {
        return Err(Error::SelfCheck {
            bench: format!("scale {label}"),
            what: format!(
                "a handshake had resumed={} (expected {want})",
                f.server_resumed
            ),
        });
    }
    Ok(())
}

/// Measures every scenario at 1..=`threads` threads.
pub fn measure(scenarios: &[Scenario], threads: usize, seconds: f64) -> Result<Vec<Curve>> {
    let pki = Pki::locate()?;
    let mut curves = Vec::new();
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    for (i, sc) in scenarios.iter().enumerate() {
        // Configurations built, keys warm, the session primed, and the scenario checked.
        let mut bench = handshake::HandshakeBench::new(*sc, &pki)?;
        bench.check()?;
        let setup = handshake::setup(*sc, &pki, false)?;
        // The first handshake on a fresh setup is full; it primes the session to resume.
        let first = if sc.kind.resumes() {
            Scenario {
                kind: Kind::Full,
                ..*sc
            }
        } else {
            *sc
        };
        one_handshake(setup.as_ref(), first, &sc.label())?;
        let mut points = Vec::new();
        for t in 1..=threads {
            // One line rewritten in place on a terminal; one line per point in a log.
            let progress = format!(
                "scale: {}/{} {} with {t} thread(s)",
                i + 1,
                scenarios.len(),
                sc.label()
            );
            if on_terminal {
                eprint!("\r{progress:<90}");
            } else {
                eprintln!("{progress}");
            }
            points.push(measure_point(setup.as_ref(), *sc, t, seconds)?);
        }
        curves.push(Curve {
            scenario: sc.label(),
            points,
        });
    }
    if on_terminal {
        eprintln!();
    }
    Ok(curves)
}

/// The table: per scenario and thread count, throughput, CPU per handshake, efficiency
/// (with the raw one), and where the threads' time went.
pub fn render(f: &ScaleFile) -> String {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED);
    t.set_header(vec![
        "scenario",
        "threads",
        "handshakes/s",
        "CPU µs/handshake",
        "efficiency",
        "raw",
        "waiting for CPU",
        "blocked",
    ]);
    for c in &f.curves {
        for p in &c.points {
            let eff = c.efficiency(p.threads, f.cores).unwrap_or(f64::NAN);
            let raw = c.raw_efficiency(p.threads).unwrap_or(f64::NAN);
            t.add_row(vec![
                c.scenario.clone(),
                p.threads.to_string(),
                format!("{:.0}", p.throughput()),
                format!("{:.1}", p.cpu_us()),
                format!("{eff:.3}"),
                format!("{raw:.3}"),
                format!("{:.1}%", p.waiting() * 100.0),
                format!("{:.1}%", p.blocked() * 100.0),
            ]);
        }
    }
    for i in 1..8 {
        if let Some(col) = t.column_mut(i) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    let busiest = f
        .curves
        .iter()
        .flat_map(|c| c.points.iter())
        .map(|p| p.waiting())
        .fold(0.0f64, f64::max);
    let busy = if busiest > BUSY_WAITING {
        format!(
            "\nWARNING: the machine was busy: threads waited up to {:.0}% of their time for a CPU taken by other programs. The efficiencies take those waits out, but they rest on the remaining time only: re-run `tlscost scale` on a quiet machine for figures to rely on.",
            busiest * 100.0
        )
    } else {
        String::new()
    };
    format!(
        "{t}{busy}\nEach thread runs whole in-memory handshakes (client and server side) on one shared server context and one shared client context, {} s per point, {} cores. handshakes/s: all threads, over the wall time minus the threads' waits for a CPU (other programs' doing; up to the core count), 'raw' efficiency without that correction. CPU µs/handshake: both sides, all threads' CPU time over the handshakes. efficiency = throughput at t / (t x throughput at 1). blocked: share of the threads' time neither running nor waiting for a CPU (lock waits).\n",
        f.seconds, f.cores
    )
}

/// Arguments of `tlscost scale`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Measure 1..=N threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Wall seconds per scenario and thread count.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Scenarios `<stack>/<protocol>/<kind>`, `*` matching anything (repeat; default:
    /// openssl tls12-rsa-aes128-sha and rustls tls12-ecdhe-rsa-aes128-gcm of every kind, and
    /// TLS 1.3 on both stacks).
    #[arg(long, value_name = "SCENARIO")]
    scenario: Vec<String>,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Where to write the results (default: <target dir>/scale.json, which `tlscost model`
    /// reads).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `tlscost scale`.
pub fn run(args: Args) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let note = check_threads(args.threads, cores)?;
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err(Error::Usage(format!(
            "--seconds {}: expected a positive number",
            args.seconds
        )));
    }
    let scenarios = if args.scenario.is_empty() {
        default_scenarios()
    } else {
        select(&args.scenario)?
    };
    if let Some(n) = &note {
        eprintln!("note: {n}");
    }
    let curves = measure(&scenarios, args.threads, args.seconds)?;
    let file = ScaleFile {
        kind: SCALE_KIND.into(),
        cores,
        seconds: args.seconds,
        machine: crate::machine::Machine::current(),
        curves,
    };
    let json = serde_json::to_string_pretty(&file).unwrap_or_default() + "\n";
    let out = args.out.unwrap_or_else(default_path);
    crate::fsutil::write_atomic(&out, json.as_bytes())?;
    if args.json {
        print!("{json}");
    } else {
        print!("{}", render(&file));
        if let Some(n) = note {
            println!("Note: {n}");
        }
    }
    eprintln!("wrote {} (read by `tlscost model`)", out.display());
    Ok(())
}

/// The model's multi-core projection: per configuration, peak calls/s on `cores` cores when
/// each handshake part of its cost grows by 1 / efficiency of its kind (the rest, bulk
/// encryption and transport, assumed to scale perfectly: not measured here).
/// `parts` are (component id, µs per call); `kind_of` maps a handshake component id to its
/// scenario label, `None` for other components. Returns calls/s.
pub fn project(
    parts: &[(String, f64)],
    cores: usize,
    efficiency: &dyn Fn(&str) -> Option<f64>,
) -> f64 {
    let us: f64 = parts
        .iter()
        .map(|(id, us)| match efficiency(id) {
            Some(e) if e > 0.0 => us / e,
            _ => *us,
        })
        .sum();
    cores as f64 * 1e6 / us
}

/// The model's multi-core projection, as its JSON carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultiCore {
    /// Cores the peak calls/s are projected on.
    pub cores: usize,
    /// The scale file the efficiencies come from.
    pub source: String,
    /// Per handshake scenario: (scenario, efficiency, the thread count it was measured at).
    pub efficiencies: Vec<(String, f64, usize)>,
}

/// The handshake kind label of a model component id `tls-handshake-<side>-<kind>`
/// (`resumed` is the model's resumption kind), `None` for other components.
fn handshake_kind_of(id: &str, resumed: &str) -> Option<String> {
    let (_, kind) = id.strip_prefix("tls-handshake-")?.split_once('-')?;
    match kind {
        "full" | "mutual" => Some(kind.to_string()),
        "resumed" => Some(resumed.to_string()),
        _ => None,
    }
}

/// Sets every configuration's peak calls/s on `cores` (default: this machine's) from the
/// efficiencies in `file`, and says how in the model's notes.
/// `scenario(kind)` gives the label of the model's per-call handshake of a kind label
/// (`full`, `mutual`, or the resumption kind): `<stack>/<protocol>[/<group>][/<cert>]/<kind>`.
pub fn apply(
    model: &mut crate::model::ModelOutput,
    file: &ScaleFile,
    cores: Option<usize>,
    path: &Path,
    scenario: &dyn Fn(&str) -> String,
) -> Result<()> {
    let here = std::thread::available_parallelism().map_or(1, |n| n.get());
    let k = cores.unwrap_or(here);
    check_threads(k, usize::MAX)?;
    let resumed = model.options.resumed.clone();
    let mut effs: Vec<(String, f64, usize)> = Vec::new();
    let mut missing = Vec::new();
    for kind in ["full", "mutual", resumed.as_str()] {
        match file.efficiency(&scenario(kind), k) {
            Some((e, at)) => effs.push((scenario(kind), e, at)),
            None => missing.push(scenario(kind)),
        }
    }
    // More than perfect scaling is measurement noise: it counts as perfect.
    let lookup = |id: &str| -> Option<f64> {
        let kind = handshake_kind_of(id, &resumed)?;
        effs.iter()
            .find(|(s, ..)| *s == scenario(&kind))
            .map(|(_, e, _)| e.min(1.0))
    };
    for c in &mut model.configurations {
        let parts: Vec<(String, f64)> = c.parts.iter().map(|p| (p.id.clone(), p.us)).collect();
        c.calls_per_s_cores = Some(project(&parts, k, &lookup));
    }
    let list: Vec<String> = effs
        .iter()
        .map(|(s, e, at)| format!("{s} {e:.3} (at {at} threads)"))
        .collect();
    let mut note = format!(
        "Peak calls/s on {k} cores = {k} x 1e6 / µs per call, each per-call handshake's CPU divided by the scaling efficiency measured by `tlscost scale` ({}; threads sharing one server and one client context): {}. An efficiency above 1 is noise and counts as 1. Bulk encryption, transport and auth are assumed to scale perfectly (not measured).",
        path.display(),
        if list.is_empty() { "none".to_string() } else { list.join(", ") }
    );
    let measured_max = effs.iter().map(|e| e.2).max().unwrap_or(0);
    if measured_max > 0 && measured_max < k {
        note.push_str(&format!(
            " Scaling was measured up to {measured_max} threads only: the {k}-core figure uses the efficiency at {measured_max} (an optimistic extrapolation)."
        ));
    }
    if !missing.is_empty() {
        note.push_str(&format!(
            " Not in the scale file, so taken as 1: {} (`tlscost scale --scenario ...`).",
            missing.join(", ")
        ));
    }
    model.notes.push(note);
    model.multicore = Some(MultiCore {
        cores: k,
        source: path.display().to_string(),
        efficiencies: effs,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(threads: usize, handshakes: u64, wait_s: f64) -> Point {
        Point {
            threads,
            handshakes,
            wall_s: 2.0,
            thread_wall_s: 2.0 * threads as f64,
            cpu_s: 2.0 * threads as f64 - wait_s,
            wait_s,
        }
    }

    #[test]
    fn efficiency_is_throughput_over_threads_times_one() {
        let c = Curve {
            scenario: "x".into(),
            points: vec![
                point(1, 1000, 0.0),
                point(2, 1800, 0.0),
                point(4, 2000, 0.0),
            ],
        };
        assert_eq!(c.efficiency(1, 2), Some(1.0));
        assert!((c.efficiency(2, 2).unwrap() - 0.9).abs() < 1e-12);
        // Above the cores: raw throughput.
        assert!((c.efficiency(4, 2).unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(c.efficiency(3, 2), None);
    }

    #[test]
    fn waits_for_a_cpu_are_taken_out_up_to_the_cores() {
        // Two threads that each waited 1 s of their 2 s for a CPU did 1000 handshakes in
        // 1 s of their own time each: perfect scaling, although raw throughput is flat.
        let c = Curve {
            scenario: "x".into(),
            points: vec![point(1, 1000, 0.0), point(2, 1000, 2.0)],
        };
        assert!((c.efficiency(2, 2).unwrap() - 1.0).abs() < 1e-12);
        assert!((c.raw_efficiency(2).unwrap() - 0.5).abs() < 1e-12);
        let p = &c.points[1];
        assert!((p.waiting() - 0.5).abs() < 1e-12);
        assert!(p.blocked() < 1e-12);
    }

    #[test]
    fn scenario_patterns() {
        let s = select(&["openssl/tls12-rsa-aes128-sha/*".into()]).unwrap();
        assert_eq!(s.len(), 4);
        let s = select(&[
            "*/tls13-aes128-gcm/x25519/rsa2048/full".into(),
            "rustls/tls13-aes128-gcm/x25519/rsa2048/full".into(),
        ])
        .unwrap();
        // openssl and rustls, and rustls on aws-lc-rs when built with it; no duplicate.
        assert_eq!(s.len(), if cfg!(feature = "awslc") { 3 } else { 2 });
        assert!(select(&["nothing/*".into()]).is_err());
    }

    #[test]
    fn thread_counts() {
        assert!(check_threads(0, 2)
            .unwrap_err()
            .to_string()
            .contains("at least 1"));
        assert_eq!(check_threads(2, 2).unwrap(), None);
        let note = check_threads(8, 2).unwrap().unwrap();
        assert!(note.contains("8 threads on 2 cores"), "{note}");
    }

    #[test]
    fn model_component_ids_map_to_scenario_kinds() {
        assert_eq!(
            handshake_kind_of("tls-handshake-server-full", "resumed-id").as_deref(),
            Some("full")
        );
        assert_eq!(
            handshake_kind_of("tls-handshake-client-resumed", "resumed-ticket").as_deref(),
            Some("resumed-ticket")
        );
        assert_eq!(
            handshake_kind_of("tcp-handshake-client", "resumed-id"),
            None
        );
        assert_eq!(handshake_kind_of("udp-base", "resumed-id"), None);
    }

    #[test]
    fn projection_divides_handshakes_by_their_efficiency() {
        let parts = vec![
            ("udp-base".to_string(), 50.0),
            ("tls-handshake-server-full".to_string(), 450.0),
        ];
        let eff = |id: &str| id.starts_with("tls-handshake").then_some(0.9);
        // 50 + 450 / 0.9 = 550 µs per call per core; 4 cores.
        assert!((project(&parts, 4, &eff) - 4.0 * 1e6 / 550.0).abs() < 1e-9);
        assert!((project(&parts, 1, &|_| None) - 2000.0).abs() < 1e-9);
    }
}
