//! Peak throughput: the highest call rate at which every call completes, with the server
//! on one core and the load generators on another (the paper's Fig. 5-12; its Fig. 14
//! checked the linear projection from CPU per call against it).
//!
//! The search follows RFC 7502's session establishment rate: trials at a fixed offered
//! rate, each a fixed number of calls; a trial passes when every call completes (no
//! failure, no timeout) and the calls were started at the offered rate (the UAC did not
//! fall behind because the server answered too slowly). From a first rate (half the
//! projection, 1e6 / µs per call) the rate doubles until a trial fails, then the interval
//! is bisected (geometrically) until it is narrower than the precision asked or the
//! trials run out. Between trials the server is given time to return to idle (a failed
//! trial leaves transactions that retransmit for a while).
//!
//! The projection assumes CPU per call is the same at every rate; the measured peak
//! beside it tests that (as the paper's Fig. 14 did).

use super::cpu::{self, Processes};
use super::measure::{check_run, Server, Settings, Target};
use crate::handshake::Pki;
use crate::testbed::load::Phase;
use crate::testbed::MAX_RATE;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How the search goes.
#[derive(Debug, Clone)]
pub struct PeakSettings {
    /// The length a trial aims at (s); its call count is rate × this, at least `min_calls`.
    pub trial_s: f64,
    /// The fewest calls of a trial.
    pub min_calls: u64,
    /// Calls in flight at once (UAC lanes).
    pub lanes: usize,
    /// Trials at most per configuration.
    pub max_trials: usize,
    /// Stop bisecting when the bracket is narrower than this fraction.
    pub precision: f64,
    /// The fraction of the offered rate the calls must be started at.
    pub keep_up: f64,
    /// The core the server runs on; the generators get another.
    pub server_cpu: usize,
    /// The core of the load generators.
    pub generator_cpu: usize,
}

impl Default for PeakSettings {
    fn default() -> Self {
        PeakSettings {
            trial_s: 2.0,
            min_calls: 200,
            lanes: 256,
            max_trials: 8,
            precision: 0.1,
            keep_up: 0.95,
            server_cpu: 0,
            generator_cpu: 1,
        }
    }
}

/// One trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Offered calls per second.
    pub rate: f64,
    /// Calls measured.
    pub calls: u64,
    /// Whether every call completed at (nearly) the offered rate.
    pub passed: bool,
    /// Calls per second actually started (calls / wall time of the trial).
    pub achieved: f64,
    /// The server's CPU during the trial, in cores (1.0 = its core fully busy).
    pub server_cores: f64,
    /// The load generators' CPU during the trial, in cores.
    pub generator_cores: f64,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// The peak of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// Configuration name.
    pub configuration: String,
    /// Handshake protocol (TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// The highest rate a trial passed at (calls/s); 0 when none did.
    pub peak_calls_per_s: f64,
    /// The linear projection from the measured CPU per call: 1e6 / µs per call.
    pub projected_calls_per_s: f64,
    /// Measured peak / projection.
    pub ratio: f64,
    /// The server's CPU at the peak, in cores (below 1.0: it was not CPU-bound, or the
    /// machine's other work held its core).
    pub server_cores_at_peak: f64,
    /// The server's CPU µs per call at the peak rate (its CPU / calls per second there):
    /// beside the µs per call at the fixed low rate, the linearity the projection assumes.
    pub us_per_call_at_peak: f64,
    /// Every trial, in order.
    pub trials: Vec<Trial>,
    /// Anything a reader should know (a generator-bound trial, the pinning).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

// --- CPU pinning -----------------------------------------------------------------------------

fn tids(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
                .collect()
        })
        .unwrap_or_default()
}

fn get_affinity(tid: u32) -> Option<libc::cpu_set_t> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; the call writes at most its size.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        (libc::sched_getaffinity(
            tid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            &mut set,
        ) == 0)
            .then_some(set)
    }
}

fn set_affinity(tid: u32, set: &libc::cpu_set_t) -> bool {
    // SAFETY: a valid cpu_set_t of its own size.
    unsafe {
        libc::sched_setaffinity(
            tid as libc::pid_t,
            std::mem::size_of::<libc::cpu_set_t>(),
            set,
        ) == 0
    }
}

fn one_cpu(cpu: usize) -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        set
    }
}

/// Threads pinned to a core, with the masks they had; restored when dropped.
pub struct Pinning {
    saved: Vec<(u32, libc::cpu_set_t)>,
}

impl Pinning {
    /// Pins every thread of `pids` to `cpu`.
    pub fn pin(pids: &[u32], cpu: usize) -> Result<Pinning> {
        let mut saved = Vec::new();
        for &pid in pids {
            for tid in tids(pid) {
                if let Some(old) = get_affinity(tid) {
                    if !set_affinity(tid, &one_cpu(cpu)) {
                        return Err(Error::io(
                            format!("pinning thread {tid} of process {pid} to cpu {cpu}"),
                            std::io::Error::last_os_error(),
                        ));
                    }
                    saved.push((tid, old));
                }
            }
        }
        Ok(Pinning { saved })
    }
}

impl Drop for Pinning {
    fn drop(&mut self) {
        for (tid, set) in &self.saved {
            // A thread that ended meanwhile needs nothing restored.
            let _ = set_affinity(*tid, set);
        }
    }
}

// --- The search ------------------------------------------------------------------------------

/// Waits until the server uses at most twice its idle CPU over 200 ms, at most `max`.
fn settle(processes: &Processes, idle_us_per_s: f64, max: Duration) -> Result<()> {
    let t0 = Instant::now();
    while t0.elapsed() < max {
        let a = processes.sample()?;
        std::thread::sleep(Duration::from_millis(200));
        let b = processes.sample()?;
        if cpu::idle_us_per_s(&cpu::used(&a, &b)?) <= 2.0 * idle_us_per_s.max(1000.0) {
            return Ok(());
        }
    }
    Ok(())
}

/// What a peak search runs against and how.
#[derive(Clone, Copy)]
pub struct Search<'a> {
    /// The server.
    pub server: &'a Server,
    /// The run settings (timeouts, credentials).
    pub settings: &'a Settings,
    /// The search's own settings.
    pub peak: &'a PeakSettings,
    /// The fixtures' PKI.
    pub pki: &'a Pki,
    /// The server's idle CPU (µs per second), to know when it has settled.
    pub idle_us_per_s: f64,
}

/// One trial of `target` at `rate`.
pub fn trial(search: &Search, target: &Target, rate: f64) -> Result<Trial> {
    let (server, s, ps, pki) = (search.server, search.settings, search.peak, search.pki);
    let calls = ((rate * ps.trial_s) as u64).max(ps.min_calls);
    let ts = Settings {
        calls,
        warmup: ps.lanes as u64,
        rate,
        ..s.clone()
    };
    let mut plan = super::measure::plan_for(target, &ts)?;
    plan.warmup = plan.warmup.max(ps.lanes as u64);
    let addr = server.address_of(target)?;
    let g = super::measure::generators(target, addr, &ts, pki, ps.lanes)?;
    let mut start = None;
    let mut end = None;
    let r = super::measure::drive(&g, &plan, &mut |phase| {
        let now = (
            Instant::now(),
            server.processes.sample()?,
            cpu::self_cpu_us()?,
        );
        match phase {
            Phase::Measure => start = Some(now),
            Phase::Done => end = Some(now),
        }
        Ok(())
    });
    let failed = |why: String| Trial {
        rate,
        calls,
        passed: false,
        achieved: 0.0,
        server_cores: 0.0,
        generator_cores: 0.0,
        failure: Some(why),
    };
    let (uac, uas) = match r {
        Ok(x) => x,
        Err(e) => return Ok(failed(e.to_string())),
    };
    if let Some(reason) = check_run(target, plan.total_calls(), &uac, &uas, g.uas.addresses())? {
        return Err(Error::Usage(format!("{}: {reason}", target.label())));
    }
    let (Some((t0, s0, g0)), Some((t1, s1, g1))) = (start, end) else {
        return Ok(failed("no measured calls".into()));
    };
    let wall = (t1 - t0).as_secs_f64().max(1e-9);
    let used = cpu::used(&s0, &s1)?;
    let achieved = calls as f64 / wall;
    let passed = achieved >= ps.keep_up * rate;
    Ok(Trial {
        rate,
        calls,
        passed,
        achieved,
        server_cores: used.ns as f64 / 1e9 / wall,
        generator_cores: (g1 - g0) / 1e6 / wall,
        failure: (!passed).then(|| {
            format!(
                "calls started at {achieved:.0}/s, below {:.0}% of the offered rate",
                ps.keep_up * 100.0
            )
        }),
    })
}

/// What the peak search does after a trial.
#[derive(Debug, Clone, Copy, PartialEq)]
enum NextRate {
    /// Offer this rate next.
    Try(f64),
    /// The bracket is narrow enough, or the rate left the range a trial can offer.
    Found,
    /// Every trial passed, the last at [`MAX_RATE`]: the generator cannot offer more.
    GeneratorLimit,
}

/// The next rate after a trial at `rate`, given the highest passed rate `lo` (0: none yet)
/// and the lowest failed one `hi`: double until a trial fails (at most [`MAX_RATE`]), halve
/// until one passes, then bisect geometrically until `hi / lo ≤ 1 + precision`.
fn next_rate(rate: f64, lo: f64, hi: Option<f64>, precision: f64) -> NextRate {
    let next = match hi {
        None if rate >= MAX_RATE => return NextRate::GeneratorLimit,
        None => (rate * 2.0).min(MAX_RATE),
        Some(h) if lo == 0.0 => h / 2.0,
        Some(h) if h / lo <= 1.0 + precision => return NextRate::Found,
        Some(h) => (lo * h).sqrt(),
    };
    if (1.0..=MAX_RATE).contains(&next) {
        NextRate::Try(next)
    } else {
        NextRate::Found
    }
}

/// The peak of `target`; `us_per_call` is its measured CPU per call (the projection).
pub fn search(
    search: &Search,
    target: &Target,
    us_per_call: f64,
    progress: &mut dyn FnMut(String),
) -> Result<Peak> {
    let (server, ps) = (search.server, search.peak);
    let projected = 1e6 / us_per_call;
    let mut trials: Vec<Trial> = Vec::new();
    let (mut lo, mut hi): (f64, Option<f64>) = (0.0, None);
    let mut rate = (projected * 0.5).clamp(10.0, MAX_RATE);
    let mut at_generator_limit = false;
    while trials.len() < ps.max_trials {
        settle(
            &server.processes,
            search.idle_us_per_s,
            Duration::from_secs(10),
        )?;
        let t = trial(search, target, rate)?;
        progress(format!(
            "peak {} trial {}: {:.0} calls/s offered, {:.0} started, {} (server {:.2} cores, generators {:.2}){}",
            target.label(),
            trials.len() + 1,
            t.rate,
            t.achieved,
            if t.passed { "passed" } else { "failed" },
            t.server_cores,
            t.generator_cores,
            t.failure.as_deref().map(|f| format!(": {f}")).unwrap_or_default()
        ));
        if t.passed {
            lo = lo.max(rate);
        } else {
            hi = Some(hi.map_or(rate, |h: f64| h.min(rate)));
        }
        trials.push(t);
        match next_rate(rate, lo, hi, ps.precision) {
            NextRate::Try(r) => rate = r,
            NextRate::Found => break,
            NextRate::GeneratorLimit => {
                at_generator_limit = true;
                break;
            }
        }
    }
    let mut notes = vec![format!(
        "server pinned to cpu {}, load generators to cpu {} ({} calls in flight); other work on the machine shares those cores",
        ps.server_cpu, ps.generator_cpu, ps.lanes
    )];
    if at_generator_limit {
        notes.push(format!(
            "{} kept up at {MAX_RATE} calls/s, the most the load generator offers: its peak is at least that",
            target.label()
        ));
    }
    let best = trials
        .iter()
        .filter(|t| t.passed)
        .max_by(|a, b| a.rate.total_cmp(&b.rate));
    if let Some(t) = best {
        if t.server_cores < 0.8 {
            notes.push(format!(
                "{} at its peak the server used {:.2} of its core: calls were limited by latency (the core shared with other work, or the server's own serialisation), not by its CPU alone",
                target.label(),
                t.server_cores
            ));
        }
        if t.generator_cores > 0.9 {
            notes.push(format!(
                "at {:.0} calls/s the load generators used {:.2} of their core: the peak may be theirs, not the server's",
                t.rate, t.generator_cores
            ));
        }
    }
    let (server_cores_at_peak, us_per_call_at_peak) = best
        .map(|t| (t.server_cores, t.server_cores * 1e6 / t.achieved.max(1e-9)))
        .unwrap_or((0.0, 0.0));
    Ok(Peak {
        server_cores_at_peak,
        us_per_call_at_peak,
        configuration: target.config.name(),
        protocol: target
            .protocol
            .map(|p| crate::names::Dimension::label(&p).to_string()),
        peak_calls_per_s: lo,
        projected_calls_per_s: projected,
        ratio: lo / projected,
        trials,
        notes,
    })
}

/// Pins the server and this process, searches the peak of each target (with its measured
/// µs per call), unpins. An error when the machine has fewer than two cores.
pub fn peaks(
    search_with: &Search,
    targets: &[(Target, f64)],
    progress: &mut dyn FnMut(String),
) -> Result<Vec<Peak>> {
    let (server, ps) = (search_with.server, search_with.peak);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || ps.server_cpu == ps.generator_cpu {
        return Err(Error::Usage(format!(
            "peak throughput needs two cores, one for the server and one for the load generators; this machine has {cores}"
        )));
    }
    let pids: Vec<u32> = server.processes.pids()?.into_iter().collect();
    let _server_pin = Pinning::pin(&pids, ps.server_cpu)?;
    let _self_pin = Pinning::pin(&[std::process::id()], ps.generator_cpu)?;
    let mut out = Vec::new();
    for (t, us) in targets {
        out.push(search(search_with, t, *us, progress)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rates a search offers to a server that keeps up with up to `capacity` calls/s.
    fn offered(start: f64, capacity: f64) -> (Vec<f64>, NextRate) {
        let (mut rate, mut lo, mut hi, mut out) = (start, 0.0, None::<f64>, Vec::new());
        loop {
            out.push(rate);
            if rate <= capacity {
                lo = f64::max(lo, rate);
            } else {
                hi = Some(hi.map_or(rate, |h| h.min(rate)));
            }
            match next_rate(rate, lo, hi, 0.1) {
                NextRate::Try(r) => rate = r,
                done => return (out, done),
            }
            assert!(out.len() < 50, "the search does not end: {out:?}");
        }
    }

    #[test]
    fn the_search_never_offers_more_than_the_generator_can() {
        // A server faster than the generator: doubling stops at MAX_RATE and says so (CI once
        // asked the generator for 6312 calls/s, which it refuses).
        let (rates, end) = offered(3156.0, 1e9);
        assert_eq!(rates, [3156.0, MAX_RATE]);
        assert_eq!(end, NextRate::GeneratorLimit);
        // A server that keeps up with 1000 calls/s: bracketed within 10%, never above MAX_RATE.
        let (rates, end) = offered(300.0, 1000.0);
        assert_eq!(end, NextRate::Found);
        assert!(rates.iter().all(|r| *r <= MAX_RATE), "{rates:?}");
        let passed = rates
            .iter()
            .copied()
            .filter(|r| *r <= 1000.0)
            .fold(0.0, f64::max);
        let failed = rates
            .iter()
            .copied()
            .filter(|r| *r > 1000.0)
            .fold(f64::MAX, f64::min);
        assert!(failed / passed <= 1.1, "{passed}..{failed}: {rates:?}");
        assert_eq!(
            &rates[..4],
            [300.0, 600.0, 1200.0, (600.0f64 * 1200.0).sqrt()]
        );
        // A server that fails the first rate: halving, then bisecting.
        let (rates, end) = offered(400.0, 120.0);
        assert_eq!(&rates[..3], [400.0, 200.0, 100.0]);
        assert_eq!(end, NextRate::Found);
        // A server that never keeps up: the rate falls below 1 call/s and the search ends.
        let (rates, end) = offered(10.0, 0.0);
        assert_eq!(end, NextRate::Found);
        assert!(rates.iter().all(|r| *r >= 1.0), "{rates:?}");
    }
}
