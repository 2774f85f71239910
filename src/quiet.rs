//! Is the machine quiet enough to measure, and was it while each component was measured?
//!
//! Components are timed in CPU time of the measuring thread ([`crate::cputime`]), which
//! other programs cannot inflate by taking the CPU away. What they still can do is slow the
//! CPU itself: a busy sibling hyperthread on the same physical core, a shared cache
//! thrashed, a lower clock, or the hypervisor stealing time from the VM. A short
//! **calibration loop** (fixed work over a 256 KiB buffer, timed in thread CPU time) measures
//! exactly that: on a quiet machine it always costs the same; when it costs more, so does
//! every component measured at that moment.
//!
//! - `tlscost quiet wait`: before a run, samples once a second (load average, CPU used by
//!   other programs, steal time, the calibration loop) until the machine is quiet, or until
//!   `--max-wait` has passed; then says plainly what is not quiet.
//! - `tlscost quiet monitor --out FILE`: during a run, appends one [`Sample`] per second as a
//!   JSON line; it stops when its parent exits.
//! - [`assess`]: after the run, the samples taken while each benchmark was measured (from
//!   the time criterion wrote its estimate) name the components measured in noisy periods.
//!
//! The quietest calibration ever seen on this machine is kept in `<dir>/reference.json`, so
//! a run that is busy from start to end is still compared with a quiet one.

use crate::cputime::{thread_cpu, thread_schedstat};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The calibration loop costing this much more than the quiet reference marks a sample noisy.
pub const SLOWDOWN_LIMIT: f64 = 0.04;
/// Hypervisor steal above this share of the VM's CPU time marks a sample noisy.
pub const STEAL_LIMIT: f64 = 0.02;
/// Other programs using more than this many cores (before a run) is not quiet.
pub const OTHERS_LIMIT_CORES: f64 = 0.3;

/// One look at the machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When the sample ended, seconds since the Unix epoch.
    pub at_s: f64,
    /// Seconds the sample covers.
    pub interval_s: f64,
    /// 1-minute load average.
    pub load1: f64,
    /// Cores busy over the interval, all programs (this one included).
    pub busy_cores: f64,
    /// Cores this process used over the interval (the calibration loop).
    pub own_cores: f64,
    /// Share of the VM's CPU time the hypervisor stole over the interval.
    pub steal: f64,
    /// Thread CPU time of one calibration unit, µs (the fastest of a few).
    pub calib_us: f64,
    /// Share of the calibration's wall time spent runnable but waiting for a CPU.
    pub wait: f64,
}

impl Sample {
    /// Cores used by other programs over the interval.
    pub fn others_cores(&self) -> f64 {
        (self.busy_cores - self.own_cores).max(0.0)
    }

    /// How much slower the calibration loop ran than `reference_us` (0.05 = 5% slower).
    pub fn slowdown(&self, reference_us: f64) -> f64 {
        if reference_us > 0.0 {
            self.calib_us / reference_us - 1.0
        } else {
            0.0
        }
    }

    /// What makes this sample noisy for CPU-time measurements, if anything.
    pub fn noise(&self, reference_us: f64) -> Vec<String> {
        let mut v = Vec::new();
        let slow = self.slowdown(reference_us);
        if slow > SLOWDOWN_LIMIT {
            v.push(format!(
                "the calibration loop ran {:.0}% slower than on a quiet machine",
                slow * 100.0
            ));
        }
        if self.steal > STEAL_LIMIT {
            v.push(format!(
                "the hypervisor stole {:.1}% of the CPU",
                self.steal * 100.0
            ));
        }
        v
    }
}

/// Jiffies of the `cpu` line of `/proc/stat`: (busy, total, steal).
fn cpu_jiffies() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    if v.len() < 8 {
        return None;
    }
    // user nice system idle iowait irq softirq steal [guest guest_nice: already in user]
    let total: u64 = v[..8].iter().sum();
    let idle = v[3] + v[4];
    Some((total - idle, total, v[7]))
}

fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

fn now_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Words in the calibration buffer: 256 KiB, larger than L1, inside L2 of current CPUs, so
/// the loop feels a sibling's or neighbour's pressure on the caches as well as on the core.
const CALIB_WORDS: usize = 32 * 1024;
/// Passes over the buffer per calibration unit (about 1 ms on a current core).
const CALIB_PASSES: usize = 24;

/// The calibration buffer, allocated once per process.
pub struct Calibrator {
    buf: Vec<u64>,
}

impl Default for Calibrator {
    fn default() -> Self {
        Calibrator {
            buf: (0..CALIB_WORDS as u64).collect(),
        }
    }
}

impl Calibrator {
    fn unit(&mut self) -> u64 {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..CALIB_PASSES {
            for w in self.buf.iter_mut() {
                x = (x ^ *w).rotate_left(7).wrapping_mul(0xff51_afd7_ed55_8ccd);
                *w = x;
            }
        }
        x
    }

    /// Runs `units` calibration units: (fastest unit's thread CPU time in µs, share of the
    /// wall time spent waiting for a CPU).
    pub fn run(&mut self, units: usize) -> (f64, f64) {
        let sched0 = thread_schedstat();
        let wall0 = Instant::now();
        let mut best = f64::INFINITY;
        for _ in 0..units.max(1) {
            let t = thread_cpu();
            std::hint::black_box(self.unit());
            best = best.min((thread_cpu() - t).as_secs_f64() * 1e6);
        }
        let wall = wall0.elapsed().as_secs_f64();
        let wait = match (sched0, thread_schedstat()) {
            (Some((_, w0)), Some((_, w1))) if wall > 0.0 => {
                (w1.saturating_sub(w0) as f64 / 1e9 / wall).min(1.0)
            }
            _ => 0.0,
        };
        (best, wait)
    }

    /// One sample over about `interval`: the machine's counters around a few calibration
    /// units and a sleep.
    pub fn sample(&mut self, interval: Duration) -> Sample {
        let start = Instant::now();
        let (j0, own0) = (cpu_jiffies(), crate::cputime::process_cpu());
        let (calib_us, wait) = self.run(3);
        std::thread::sleep(interval.saturating_sub(start.elapsed()));
        let (j1, own1) = (cpu_jiffies(), crate::cputime::process_cpu());
        let secs = start.elapsed().as_secs_f64();
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        let (busy_cores, steal) = match (j0, j1) {
            (Some((b0, t0, s0)), Some((b1, t1, s1))) if t1 > t0 => {
                let total = (t1 - t0) as f64;
                (
                    (b1 - b0) as f64 / total * cores,
                    (s1.saturating_sub(s0)) as f64 / total,
                )
            }
            _ => (0.0, 0.0),
        };
        Sample {
            at_s: now_s(),
            interval_s: secs,
            load1: load1(),
            busy_cores,
            own_cores: (own1 - own0).as_secs_f64() / secs.max(1e-9),
            steal,
            calib_us,
            wait,
        }
    }
}

/// The quietest calibration seen on this machine (`<dir>/reference.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    /// Host name and CPU model it was taken on: another machine starts afresh.
    pub machine: String,
    /// Thread CPU time of one calibration unit, µs.
    pub calib_us: f64,
}

fn machine_key() -> String {
    let m = crate::machine::Machine::current();
    format!("{} / {}", m.host, m.cpu_model)
}

impl Reference {
    /// The reference of this machine in `dir`, if one was kept (a corrupt file is ignored:
    /// the reference is rebuilt from the samples).
    pub fn load(dir: &Path) -> Option<Reference> {
        let text = std::fs::read_to_string(dir.join("reference.json")).ok()?;
        let r: Reference = serde_json::from_str(&text).ok()?;
        (r.machine == machine_key() && r.calib_us > 0.0).then_some(r)
    }

    /// Keeps `calib_us` when it is quieter than the kept reference; returns the reference.
    pub fn update(dir: &Path, calib_us: f64) -> Result<f64> {
        let old = Reference::load(dir).map(|r| r.calib_us);
        let best = old.map_or(calib_us, |o| o.min(calib_us));
        if old != Some(best) {
            let r = Reference {
                machine: machine_key(),
                calib_us: best,
            };
            let text = serde_json::to_string_pretty(&r).unwrap_or_default();
            crate::fsutil::write_atomic(&dir.join("reference.json"), text.as_bytes())?;
        }
        Ok(best)
    }
}

/// What stops a sample from being quiet before a run (stricter than [`Sample::noise`]: other
/// programs' CPU use counts too, since they may start using the measuring core).
pub fn not_quiet(s: &Sample, reference_us: f64) -> Vec<String> {
    let mut v = s.noise(reference_us);
    if s.others_cores() > OTHERS_LIMIT_CORES {
        v.push(format!(
            "other programs use {:.1} cores (load average {:.2})",
            s.others_cores(),
            s.load1
        ));
    }
    v
}

/// The default directory of the monitor's files: `<target dir>/quiet`.
pub fn default_dir() -> PathBuf {
    crate::fsutil::target_dir().join("quiet")
}

/// The samples file the monitor writes in `dir`.
pub fn samples_path(dir: &Path) -> PathBuf {
    dir.join("samples.jsonl")
}

/// Reads the monitor's samples; a line that is not a sample (the last one, cut by the
/// monitor's end) is skipped. A missing file gives no samples.
pub fn read_samples(path: &Path) -> Result<Vec<Sample>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// One component of a run and the benchmarks it is computed from.
#[derive(Debug, Clone)]
pub struct ComponentWindows {
    /// The component's label, as the output names it.
    pub label: String,
    /// When each of its benchmarks was measured: (bench, start, end), Unix seconds.
    pub windows: Vec<(String, f64, f64)>,
}

/// How quiet the machine was while each component was measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// The quiet reference of the calibration loop, µs.
    pub reference_us: f64,
    /// Samples taken during the run.
    pub samples: usize,
    /// Largest calibration slowdown and steal seen during the run.
    pub worst_slowdown: f64,
    /// Largest steal share seen.
    pub worst_steal: f64,
    /// Highest 1-minute load average seen.
    pub max_load: f64,
    /// Components measured while a sample was noisy, with why: the worst calibration slowdown
    /// (`loop +N%`) and steal (`steal N%`) over the limits among the samples taken meanwhile.
    pub unreliable: Vec<(String, Vec<String>)>,
    /// Components with no sample in their measuring window (measured before the monitor ran).
    pub unassessed: Vec<String>,
}

/// Assesses each component from the samples taken while its benchmarks ran.
pub fn assess(
    samples: &[Sample],
    reference_us: f64,
    components: &[ComponentWindows],
) -> Assessment {
    let worst = |f: &dyn Fn(&Sample) -> f64| samples.iter().map(f).fold(0.0f64, f64::max);
    let mut a = Assessment {
        reference_us,
        samples: samples.len(),
        worst_slowdown: worst(&|s| s.slowdown(reference_us)),
        worst_steal: worst(&|s| s.steal),
        max_load: worst(&|s| s.load1),
        unreliable: Vec::new(),
        unassessed: Vec::new(),
    };
    for c in components {
        // A sample covers (at - interval, at]; it counts when it overlaps a window.
        let during: Vec<&Sample> = samples
            .iter()
            .filter(|s| {
                c.windows
                    .iter()
                    .any(|(_, from, to)| s.at_s > *from && s.at_s - s.interval_s < *to)
            })
            .collect();
        if during.is_empty() {
            if !c.windows.is_empty() {
                a.unassessed.push(c.label.clone());
            }
            continue;
        }
        let worst_slow = during
            .iter()
            .map(|s| s.slowdown(reference_us))
            .fold(0.0f64, f64::max);
        let worst_steal = during.iter().map(|s| s.steal).fold(0.0f64, f64::max);
        let mut why = Vec::new();
        if worst_slow > SLOWDOWN_LIMIT {
            why.push(format!("loop +{:.0}%", worst_slow * 100.0));
        }
        if worst_steal > STEAL_LIMIT {
            why.push(format!("steal {:.1}%", worst_steal * 100.0));
        }
        if !why.is_empty() {
            a.unreliable.push((c.label.clone(), why));
        }
    }
    a
}

impl Assessment {
    /// Lines for the model's warnings: one per unreliable component, or one saying the run
    /// was quiet.
    pub fn lines(&self) -> Vec<String> {
        let mut v = Vec::new();
        if self.samples == 0 {
            return v;
        }
        if self.unreliable.is_empty() {
            v.push(format!(
                "measured on a quiet machine: {} samples, the calibration loop at most {:+.1}% from quiet, steal at most {:.1}%, load average at most {:.2}",
                self.samples,
                self.worst_slowdown * 100.0,
                self.worst_steal * 100.0,
                self.max_load
            ));
        }
        if !self.unreliable.is_empty() {
            let each: Vec<String> = self
                .unreliable
                .iter()
                .map(|(label, why)| format!("{label} ({})", why.join(", ")))
                .collect();
            v.push(format!(
                "UNRELIABLE: {} components were measured while the machine was not quiet (the calibration loop more than {:.0}% slower than the quietest seen here, or more than {:.0}% of the CPU stolen by the hypervisor); re-run `make model` on a quiet machine: {}",
                self.unreliable.len(),
                SLOWDOWN_LIMIT * 100.0,
                STEAL_LIMIT * 100.0,
                each.join("; ")
            ));
        }
        if !self.unassessed.is_empty() {
            v.push(format!(
                "not monitored (measured outside this run's monitoring): {}",
                self.unassessed.join(", ")
            ));
        }
        v
    }
}

/// When criterion measured each benchmark: its estimate file's modification time is the end;
/// the previous estimate written (any benchmark) is the start, at most `max_window` earlier.
/// Returns (bench full name, start, end) for those of `benches` criterion has, in Unix seconds.
pub fn bench_windows(
    criterion_dir: &Path,
    benches: &[String],
    max_window: f64,
) -> Result<Vec<(String, f64, f64)>> {
    let finished = crate::results::criterion::finished_at(criterion_dir)?;
    let mut ends: Vec<f64> = finished.values().copied().collect();
    ends.sort_by(f64::total_cmp);
    Ok(benches
        .iter()
        .filter_map(|b| {
            let end = *finished.get(b)?;
            let prev = ends
                .iter()
                .rev()
                .find(|&&t| t < end)
                .copied()
                .unwrap_or(end - max_window);
            Some((b.clone(), prev.max(end - max_window), end))
        })
        .collect())
}

/// The lines the model prints about its measuring conditions: reads the monitor's samples
/// (in `<criterion dir>/../quiet`) and names each component (label, its benchmarks) that
/// was measured while the machine was noisy. No samples (no monitored run): no lines.
pub fn conditions(
    criterion_dir: &Path,
    components: &[(String, Vec<String>)],
) -> Result<Vec<String>> {
    let dir = criterion_dir
        .parent()
        .map(|p| p.join("quiet"))
        .unwrap_or_else(default_dir);
    let samples = read_samples(&samples_path(&dir))?;
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let quietest = samples
        .iter()
        .map(|s| s.calib_us)
        .fold(f64::INFINITY, f64::min);
    let reference = Reference::load(&dir).map_or(quietest, |r| r.calib_us.min(quietest));
    let mut windows = Vec::new();
    for (label, benches) in components {
        windows.push(ComponentWindows {
            label: label.clone(),
            windows: bench_windows(criterion_dir, benches, MAX_BENCH_WINDOW_S)?,
        });
    }
    Ok(assess(&samples, reference, &windows).lines())
}

/// The longest time one benchmark is assumed to have run before criterion wrote its estimate.
pub const MAX_BENCH_WINDOW_S: f64 = 60.0;

/// Arguments of `tlscost quiet`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Wait until the machine is quiet (or --max-wait passed), saying what is not.
    Wait(WaitArgs),
    /// Append one sample a second to a file until the parent process exits.
    Monitor(MonitorArgs),
}

#[derive(Debug, clap::Args)]
struct WaitArgs {
    /// Give up waiting after this many seconds and let the run start anyway.
    #[arg(long, default_value_t = 60)]
    max_wait: u64,
    /// Directory of the reference calibration (default: <target dir>/quiet).
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct MonitorArgs {
    /// Directory of the samples file and the reference (default: <target dir>/quiet).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Stop after this many seconds even if the parent is still running.
    #[arg(long, default_value_t = 7200)]
    max_seconds: u64,
}

/// Runs `tlscost quiet ...`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Wait(a) => wait(a),
        Command::Monitor(a) => monitor(a),
    }
}

fn wait(a: WaitArgs) -> Result<()> {
    let dir = a.dir.unwrap_or_else(default_dir);
    let mut cal = Calibrator::default();
    cal.run(2); // first touch of the buffer
    let start = Instant::now();
    let on_terminal = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut said_at: Option<u64> = None;
    loop {
        let s = cal.sample(Duration::from_secs(1));
        let reference = Reference::update(&dir, s.calib_us)?;
        let why = not_quiet(&s, reference);
        let waited = start.elapsed().as_secs();
        if why.is_empty() {
            eprintln!(
                "quiet: yes (calibration {:+.1}% from the quietest seen, others {:.1} cores, steal {:.1}%, load {:.2})",
                s.slowdown(reference) * 100.0,
                s.others_cores(),
                s.steal * 100.0,
                s.load1
            );
            return Ok(());
        }
        if waited >= a.max_wait {
            eprintln!(
                "quiet: NO after {waited} s: {}. Measuring anyway; the components measured while it is not quiet are named at the end.",
                why.join(", ")
            );
            return Ok(());
        }
        // A line a second on a terminal; in a log, one every 10 s says as much.
        if on_terminal || said_at.is_none_or(|t| waited >= t + 10) {
            said_at = Some(waited);
            eprintln!(
                "quiet: waiting ({waited}/{} s): {}",
                a.max_wait,
                why.join(", ")
            );
        }
    }
}

fn monitor(a: MonitorArgs) -> Result<()> {
    use std::io::Write;
    let dir = a.dir.unwrap_or_else(default_dir);
    let path = samples_path(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let mut file = std::fs::File::create(&path)
        .map_err(|e| Error::io(format!("creating {}", path.display()), e))?;
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    let mut cal = Calibrator::default();
    cal.run(2);
    let start = Instant::now();
    // SAFETY: as above.
    while unsafe { libc::getppid() } == parent && start.elapsed().as_secs() < a.max_seconds {
        let s = cal.sample(Duration::from_secs(1));
        let line = serde_json::to_string(&s).unwrap_or_default();
        writeln!(file, "{line}")
            .map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        Reference::update(&dir, s.calib_us)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: f64, calib_us: f64, steal: f64) -> Sample {
        Sample {
            at_s: at,
            interval_s: 1.0,
            load1: 0.5,
            busy_cores: 0.3,
            own_cores: 0.1,
            steal,
            calib_us,
            wait: 0.0,
        }
    }

    #[test]
    fn noisy_samples_name_the_components_measured_during_them() {
        let samples = [
            sample(101.0, 1000.0, 0.0),
            sample(102.0, 1100.0, 0.0),
            sample(103.0, 1000.0, 0.05),
            sample(104.0, 1010.0, 0.0),
        ];
        let comp = |label: &str, from: f64, to: f64| ComponentWindows {
            label: label.into(),
            windows: vec![(format!("{label}/bench"), from, to)],
        };
        let a = assess(
            &samples,
            1000.0,
            &[
                comp("quiet", 100.0, 100.9),
                comp("slow", 101.2, 101.8),
                comp("stolen", 102.1, 102.5),
                comp("late", 103.1, 103.9),
                comp("before", 10.0, 20.0),
            ],
        );
        let names: Vec<&str> = a.unreliable.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(names, ["slow", "stolen"]);
        assert_eq!(a.unreliable[0].1, ["loop +10%"], "{a:?}");
        assert_eq!(a.unreliable[1].1, ["steal 5.0%"], "{a:?}");
        assert_eq!(a.unassessed, ["before"]);
        let lines = a.lines().join("\n");
        assert!(
            lines.starts_with("UNRELIABLE: 2 components")
                && lines.contains("slow (loop +10%); stolen (steal 5.0%)"),
            "{lines}"
        );
        assert!((a.worst_slowdown - 0.1).abs() < 1e-9);
    }

    #[test]
    fn a_quiet_run_says_so() {
        let samples = [sample(101.0, 1000.0, 0.0), sample(102.0, 1020.0, 0.01)];
        let a = assess(
            &samples,
            1000.0,
            &[ComponentWindows {
                label: "x".into(),
                windows: vec![("b".into(), 100.5, 101.5)],
            }],
        );
        assert!(a.unreliable.is_empty());
        assert!(a.lines()[0].starts_with("measured on a quiet machine"));
    }

    #[test]
    fn before_a_run_other_programs_count() {
        let mut s = sample(1.0, 1000.0, 0.0);
        assert!(not_quiet(&s, 1000.0).is_empty());
        s.busy_cores = 1.5;
        assert!(not_quiet(&s, 1000.0)[0].contains("1.4 cores"));
    }

    #[test]
    fn the_calibration_loop_measures_cpu_time() {
        let mut c = Calibrator::default();
        let (us, wait) = c.run(2);
        assert!(us > 0.0 && (0.0..=1.0).contains(&wait));
    }

    /// A bench's window runs from the previous estimate criterion wrote to its own.
    #[test]
    fn windows_come_from_criterion_file_times() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, at: u64| {
            let new = dir.path().join(name.replace('/', "_")).join("new");
            std::fs::create_dir_all(&new).unwrap();
            std::fs::write(
                new.join("benchmark.json"),
                format!("{{\"full_id\": \"{name}\", \"throughput\": null}}"),
            )
            .unwrap();
            let f = std::fs::File::create(new.join("estimates.json")).unwrap();
            f.set_modified(UNIX_EPOCH + Duration::from_secs(at))
                .unwrap();
        };
        write("a/x", 1000);
        write("b/y", 1010);
        write("c/z", 2000);
        let w = bench_windows(
            dir.path(),
            &["b/y".into(), "c/z".into(), "missing".into()],
            60.0,
        )
        .unwrap();
        assert_eq!(
            w,
            [
                ("b/y".to_string(), 1000.0, 1010.0),
                ("c/z".to_string(), 1940.0, 2000.0)
            ]
        );
    }

    #[test]
    fn reference_keeps_the_quietest() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Reference::update(dir.path(), 1200.0).unwrap(), 1200.0);
        assert_eq!(Reference::update(dir.path(), 1000.0).unwrap(), 1000.0);
        assert_eq!(Reference::update(dir.path(), 1100.0).unwrap(), 1000.0);
        std::fs::write(dir.path().join("reference.json"), "{").unwrap();
        assert_eq!(Reference::update(dir.path(), 1100.0).unwrap(), 1100.0);
    }
}
