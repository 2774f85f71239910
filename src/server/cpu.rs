//! A server's CPU time from `/proc`: every thread of every one of its processes.
//!
//! A server is "an address plus the processes whose CPU is counted": the pids given (a
//! pid file, `--pid`, or the processes the harness started) and, optionally, all their
//! descendants (Kamailio forks its workers from its main process). Each thread's time on
//! a CPU is read from `/proc/<pid>/task/<tid>/schedstat` (its first field, ns; the
//! scheduler's own account, exact), or, on kernels without schedstat, from the thread's
//! `utime + stime` in `/proc/<pid>/task/<tid>/stat` (clock ticks, 10 ms here: coarse).
//!
//! Per call: the CPU the server spent between two samples, minus what it spends idle in
//! that much wall time (its timers and housekeeping, measured before the runs), divided
//! by the calls in between ([`per_call_us`]).
//!
//! Everything here reads from a `/proc`-shaped directory given by the caller, so the
//! accounting is tested on synthetic data.

use crate::{Error, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How a thread's CPU time was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `schedstat`: nanoseconds on a CPU.
    Schedstat,
    /// `stat`'s `utime + stime`: clock ticks.
    Ticks,
}

/// The CPU time of a set of processes at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// When it was taken.
    pub at: Instant,
    /// ns on a CPU of each thread, by (pid, tid).
    pub threads: BTreeMap<(u32, u32), u64>,
    /// How the times were read (ticks if any thread had no schedstat).
    pub source: Source,
}

impl Sample {
    /// The processes sampled.
    pub fn pids(&self) -> BTreeSet<u32> {
        self.threads.keys().map(|(p, _)| *p).collect()
    }

    /// Total ns of every thread.
    pub fn total_ns(&self) -> u64 {
        self.threads.values().sum()
    }
}

/// CPU used between two samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Used {
    /// ns of CPU used by the threads alive at the end (a thread started in between counts
    /// whole).
    pub ns: u64,
    /// Wall time between the samples.
    pub wall: Duration,
    /// Threads alive at the start and gone at the end: their CPU since the start is lost
    /// (the figure is then a lower bound).
    pub exited_threads: usize,
}

/// The processes whose CPU is counted.
#[derive(Debug, Clone)]
pub struct Processes {
    proc_root: PathBuf,
    pids: Vec<u32>,
    descendants: bool,
    ticks_per_s: u64,
}

fn read(path: &Path) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

/// The fields of a `stat` line after the command name (which may hold spaces and
/// parentheses): `state ppid pgrp ...`, so `utime` is index 11 and `stime` 12.
fn stat_fields(text: &str) -> Option<Vec<&str>> {
    let close = text.rfind(')')?;
    Some(text[close + 1..].split_ascii_whitespace().collect())
}

/// The parent pid in a `stat` line.
pub fn parse_ppid(stat: &str) -> Option<u32> {
    stat_fields(stat)?.get(1)?.parse().ok()
}

/// `utime + stime` (clock ticks) of a `stat` line.
pub fn parse_ticks(stat: &str) -> Option<u64> {
    let f = stat_fields(stat)?;
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The ns on a CPU of a `schedstat` line (`<ns on cpu> <ns waiting> <timeslices>`).
pub fn parse_schedstat(text: &str) -> Option<u64> {
    text.split_ascii_whitespace().next()?.parse().ok()
}

impl Processes {
    /// The processes `pids` (and their descendants when `descendants`), read from
    /// `proc_root` (`/proc`). Each pid must be running: an error names one that is not.
    pub fn new(proc_root: &Path, pids: &[u32], descendants: bool) -> Result<Processes> {
        if pids.is_empty() {
            return Err(Error::Usage(
                "no server process to count the CPU of: give --pid or --pid-file".into(),
            ));
        }
        for &pid in pids {
            if !proc_root.join(pid.to_string()).join("stat").exists() {
                return Err(Error::Usage(format!(
                    "process {pid} is not running (no {}): expected the pid of the server",
                    proc_root.join(pid.to_string()).display()
                )));
            }
        }
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        Ok(Processes {
            proc_root: proc_root.to_path_buf(),
            pids: pids.to_vec(),
            descendants,
            ticks_per_s: if ticks > 0 { ticks as u64 } else { 100 },
        })
    }

    /// The processes of `/proc`.
    pub fn live(pids: &[u32], descendants: bool) -> Result<Processes> {
        Processes::new(Path::new("/proc"), pids, descendants)
    }

    /// The pids given.
    pub fn roots(&self) -> &[u32] {
        &self.pids
    }

    /// Every pid counted now: the roots and, when asked, their descendants.
    pub fn pids(&self) -> Result<BTreeSet<u32>> {
        let mut out: BTreeSet<u32> = self.pids.iter().copied().collect();
        if !self.descendants {
            return Ok(out);
        }
        let mut children: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let dir = std::fs::read_dir(&self.proc_root)
            .map_err(|e| Error::io(format!("listing {}", self.proc_root.display()), e))?;
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            // A process may end between the listing and the read: skip it.
            if let Some(ppid) = read(&entry.path().join("stat"))
                .ok()
                .and_then(|s| parse_ppid(&s))
            {
                children.entry(ppid).or_default().push(pid);
            }
        }
        let mut todo: Vec<u32> = self.pids.clone();
        while let Some(p) = todo.pop() {
            for &c in children.get(&p).map(Vec::as_slice).unwrap_or(&[]) {
                if out.insert(c) {
                    todo.push(c);
                }
            }
        }
        Ok(out)
    }

    /// Reads every thread's CPU time now. A root process that is gone is an error (the
    /// server died); a descendant or thread that ends during the read is skipped.
    pub fn sample(&self) -> Result<Sample> {
        let pids = self.pids()?;
        let mut threads = BTreeMap::new();
        let mut source = Source::Schedstat;
        for pid in pids {
            let task_dir = self.proc_root.join(pid.to_string()).join("task");
            let tasks = match std::fs::read_dir(&task_dir) {
                Ok(d) => d,
                Err(_) if !self.pids.contains(&pid) => continue,
                Err(_) => {
                    return Err(Error::Usage(format!(
                        "server process {pid} is no longer running (no {})",
                        task_dir.display()
                    )))
                }
            };
            for t in tasks.flatten() {
                let Some(tid) = t.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                let ns = match read(&t.path().join("schedstat"))
                    .ok()
                    .and_then(|s| parse_schedstat(&s))
                {
                    Some(ns) => Some(ns),
                    None => read(&t.path().join("stat"))
                        .ok()
                        .and_then(|s| parse_ticks(&s))
                        .map(|ticks| {
                            source = Source::Ticks;
                            ticks * 1_000_000_000 / self.ticks_per_s
                        }),
                };
                if let Some(ns) = ns {
                    threads.insert((pid, tid), ns);
                }
            }
        }
        for &root in &self.pids {
            if !threads.keys().any(|(p, _)| *p == root) {
                return Err(Error::Usage(format!(
                    "server process {root} is no longer running"
                )));
            }
        }
        Ok(Sample {
            at: Instant::now(),
            threads,
            source,
        })
    }
}

/// The CPU used between `start` and `end`. A process of `start` missing at `end` is an
/// error naming it (a server process died during the run).
pub fn used(start: &Sample, end: &Sample) -> Result<Used> {
    let end_pids = end.pids();
    if let Some(gone) = start.pids().iter().find(|p| !end_pids.contains(p)) {
        return Err(Error::Usage(format!(
            "server process {gone} ended during the run"
        )));
    }
    let mut ns = 0u64;
    for (key, &t1) in &end.threads {
        let t0 = start.threads.get(key).copied().unwrap_or(0);
        ns += t1.saturating_sub(t0);
    }
    let exited_threads = start
        .threads
        .keys()
        .filter(|k| !end.threads.contains_key(k))
        .count();
    Ok(Used {
        ns,
        wall: end.at.saturating_duration_since(start.at),
        exited_threads,
    })
}

/// The server's idle CPU in µs per second of wall time, from two samples with nothing
/// sent to it in between.
pub fn idle_us_per_s(u: &Used) -> f64 {
    let s = u.wall.as_secs_f64();
    if s <= 0.0 {
        return 0.0;
    }
    u.ns as f64 / 1000.0 / s
}

/// µs per call: the CPU used minus the idle CPU of that much wall time, over `calls`.
/// Errors when there were no calls; a result below zero (idle larger than what was used:
/// the samples are too short or the idle figure wrong) is an error too, not a figure.
pub fn per_call_us(u: &Used, idle_us_per_s: f64, calls: u64) -> Result<f64> {
    if calls == 0 {
        return Err(Error::Usage("no calls to divide the CPU by".into()));
    }
    let idle = idle_us_per_s * u.wall.as_secs_f64();
    let net = u.ns as f64 / 1000.0 - idle;
    if net <= 0.0 {
        return Err(Error::Usage(format!(
            "the server used {:.0} µs in {:.2} s, no more than idle ({idle:.0} µs): no CPU left to attribute to {calls} calls",
            u.ns as f64 / 1000.0,
            u.wall.as_secs_f64()
        )));
    }
    Ok(net / calls as f64)
}

/// CPU µs this process (the load generators) has used so far, every thread included
/// (`getrusage(RUSAGE_SELF)`: user + system).
pub fn self_cpu_us() -> Result<f64> {
    // SAFETY: a zeroed rusage is a valid value to write into.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointer to an rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut r) } != 0 {
        return Err(Error::io(
            "getrusage(RUSAGE_SELF)",
            std::io::Error::last_os_error(),
        ));
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    Ok(tv(r.ru_utime) + tv(r.ru_stime))
}

/// Reads a pid file (a decimal pid, optionally followed by a newline).
pub fn read_pid_file(path: &Path) -> Result<u32> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading pid file {}", path.display()), e))?;
    text.trim().parse().map_err(|_| {
        Error::Usage(format!(
            "pid file {}: '{}' is not a process id",
            path.display(),
            text.trim()
        ))
    })
}
