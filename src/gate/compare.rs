//! Compares one run's instruction counts with the baseline: the verdict and the table.

use super::baseline::Baseline;
use super::counts::Counts;
use super::cpu::EmulatedCpu;
use crate::{Error, Result};
use comfy_table::{presets::ASCII_FULL_CONDENSED, CellAlignment, Table};

/// The default threshold: a benchmark fails when its instructions grow by more than this (%).
pub const DEFAULT_THRESHOLD_PCT: f64 = 2.0;

/// What happened to one benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Within the threshold.
    Ok,
    /// Grew by more than the threshold.
    Regressed,
    /// Shrank by more than the threshold (the baseline may be re-recorded).
    Improved,
    /// Counted now, absent from the baseline (record a new baseline to gate it).
    New,
    /// In the baseline, absent from this run: the bench did not run, so it cannot pass.
    Missing,
}

impl Status {
    /// The word printed in the table.
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Regressed => "REGRESSED",
            Status::Improved => "improved",
            Status::New => "new (not in baseline)",
            Status::Missing => "MISSING (did not run)",
        }
    }

    /// Whether this status fails the gate (when the counts are comparable).
    pub fn fails(self) -> bool {
        matches!(self, Status::Regressed | Status::Missing)
    }
}

/// One benchmark in the comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Full benchmark name.
    pub name: String,
    /// Baseline instruction count, if the baseline has this bench.
    pub baseline: Option<u64>,
    /// This run's instruction count, if it ran.
    pub now: Option<u64>,
    /// Verdict for this bench.
    pub status: Status,
}

impl Row {
    /// now - baseline, in instructions.
    pub fn change(&self) -> Option<i128> {
        Some(self.now? as i128 - self.baseline? as i128)
    }

    /// (now - baseline) / baseline, in percent.
    pub fn change_pct(&self) -> Option<f64> {
        Some(self.change()? as f64 * 100.0 / self.baseline? as f64)
    }
}

/// The CPU of the machine running the gate now.
#[derive(Debug, Clone, PartialEq)]
pub struct HereCpu {
    /// The host's `Machine::cpu_signature()`.
    pub host_signature: String,
    /// What valgrind presents to the counted program here, or why it could not be probed.
    pub emulated: std::result::Result<EmulatedCpu, String>,
}

/// Whether this run's counts compare with the baseline's, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparability {
    /// Valgrind presents the same CPU (vendor and features) as when the baseline was taken:
    /// the counted code takes the same paths, whatever the host CPUs.
    SameEmulatedCpu,
    /// No emulated CPU on one side (a schema 1 baseline, or the probe failed here): the host
    /// CPU signatures are equal, as the gate required before it probed valgrind's CPU.
    SameHost {
        /// Why the emulated CPUs could not be compared.
        why: String,
    },
    /// Not comparable: what differs.
    Different {
        /// Each difference, e.g. `only in the baseline: avx2`.
        reasons: Vec<String>,
    },
}

impl Comparability {
    /// Compares the baseline's CPU with `here`'s.
    pub fn of(baseline: &Baseline, here: &HereCpu) -> Comparability {
        match (&baseline.emulated_cpu, &here.emulated) {
            (Some(base), Ok(now)) => {
                let reasons: Vec<String> = base
                    .view
                    .differences(&now.view)
                    .into_iter()
                    .map(|d| {
                        d.replace("only in the first", "only in the baseline")
                            .replace("only in the second", "only here")
                            .replace("vendor ", "vendor (baseline vs here) ")
                    })
                    .collect();
                if reasons.is_empty() {
                    Comparability::SameEmulatedCpu
                } else {
                    Comparability::Different { reasons }
                }
            }
            (base, now) => {
                let why = match (base, now) {
                    (None, _) => "the baseline records no emulated CPU (schema 1: re-record it with `make baseline`)".to_string(),
                    (_, Err(e)) => format!("the CPU valgrind presents here could not be probed: {e}"),
                    _ => String::new(),
                };
                if baseline.cpu_signature == here.host_signature {
                    Comparability::SameHost { why }
                } else {
                    Comparability::Different {
                        reasons: vec![
                            why,
                            format!(
                                "host CPU: baseline {}, here {}",
                                baseline.cpu_signature, here.host_signature
                            ),
                        ],
                    }
                }
            }
        }
    }

    /// Whether the gate may fail on these counts.
    pub fn comparable(&self) -> bool {
        !matches!(self, Comparability::Different { .. })
    }
}

/// A run compared with a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Every benchmark of the baseline and of the run, by name.
    pub rows: Vec<Row>,
    /// Threshold in percent.
    pub threshold_pct: f64,
    /// Host CPU signature the baseline was taken on.
    pub baseline_cpu: String,
    /// Host CPU signature of this machine.
    pub current_cpu: String,
    /// The features valgrind presents here (empty when not probed).
    pub emulated_features: Vec<String>,
    /// Whether the counts compare, and why.
    pub comparability: Comparability,
}

impl Comparison {
    /// Compares `now` with `baseline` at `threshold_pct` percent, on the machine `here`.
    pub fn new(baseline: &Baseline, now: &Counts, here: &HereCpu, threshold_pct: f64) -> Self {
        let mut names: Vec<&String> = baseline.benches.keys().chain(now.keys()).collect();
        names.sort();
        names.dedup();
        let rows = names
            .into_iter()
            .map(|name| {
                let (b, n) = (baseline.benches.get(name).copied(), now.get(name).copied());
                let status = match (b, n) {
                    (Some(b), Some(n)) => {
                        let pct = (n as f64 - b as f64) * 100.0 / b as f64;
                        if pct > threshold_pct {
                            Status::Regressed
                        } else if pct < -threshold_pct {
                            Status::Improved
                        } else {
                            Status::Ok
                        }
                    }
                    (Some(_), None) => Status::Missing,
                    _ => Status::New,
                };
                Row {
                    name: name.clone(),
                    baseline: b,
                    now: n,
                    status,
                }
            })
            .collect();
        Comparison {
            rows,
            threshold_pct,
            baseline_cpu: baseline.cpu_signature.clone(),
            current_cpu: here.host_signature.clone(),
            emulated_features: here
                .emulated
                .as_ref()
                .map(|e| e.view.features.clone())
                .unwrap_or_default(),
            comparability: Comparability::of(baseline, here),
        }
    }

    /// Whether the counts compare with the baseline's (only then can the gate fail).
    pub fn same_cpu(&self) -> bool {
        self.comparability.comparable()
    }

    /// The rows that fail the gate (regressed or missing).
    pub fn failures(&self) -> Vec<&Row> {
        self.rows.iter().filter(|r| r.status.fails()).collect()
    }

    /// The row with the largest absolute change in instructions.
    pub fn largest_change(&self) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.change().is_some())
            .max_by_key(|r| r.change().unwrap_or(0).abs())
    }

    /// The row with the largest relative change.
    pub fn largest_change_pct(&self) -> Option<&Row> {
        self.rows
            .iter()
            .filter_map(|r| Some((r, r.change_pct()?.abs())))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(r, _)| r)
    }

    /// The table of every benchmark: baseline, now, change, change %, status.
    pub fn table(&self) -> String {
        let mut t = Table::new();
        t.load_style(ASCII_FULL_CONDENSED);
        t.set_header(vec![
            "bench",
            "baseline Ir",
            "now Ir",
            "change",
            "change %",
            "status",
        ]);
        for r in &self.rows {
            t.add_row(vec![
                r.name.clone(),
                r.baseline.map(group_digits).unwrap_or_else(|| "-".into()),
                r.now.map(group_digits).unwrap_or_else(|| "-".into()),
                r.change().map(signed_digits).unwrap_or_else(|| "-".into()),
                r.change_pct()
                    .map(|p| format!("{p:+.3}%"))
                    .unwrap_or_else(|| "-".into()),
                r.status.label().to_string(),
            ]);
        }
        for i in 1..=4 {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
        t.to_string()
    }

    /// The full report: table, largest change, CPU note and verdict line.
    pub fn report(&self) -> String {
        let mut out = self.table();
        out.push('\n');
        if let Some(r) = self.largest_change() {
            out.push_str(&format!(
                "largest absolute change: {} instructions ({:+.3}%) in {}\n",
                signed_digits(r.change().unwrap_or(0)),
                r.change_pct().unwrap_or(0.0),
                r.name
            ));
        }
        if let Some(r) = self.largest_change_pct() {
            out.push_str(&format!(
                "largest relative change: {:+.3}% in {}\n",
                r.change_pct().unwrap_or(0.0),
                r.name
            ));
        }
        match &self.comparability {
            Comparability::SameEmulatedCpu => {
                out.push_str(&format!(
                    "CPU: valgrind presents the baseline's CPU here ({}), so the counts compare",
                    self.emulated_features.join(" ")
                ));
                if self.baseline_cpu != self.current_cpu {
                    out.push_str(&format!(
                        " although the host CPUs differ (baseline: {}; here: {})",
                        self.baseline_cpu, self.current_cpu
                    ));
                }
                out.push('\n');
            }
            Comparability::SameHost { why } => out.push_str(&format!(
                "CPU: same host CPU as the baseline ({}); {why}\n",
                self.current_cpu
            )),
            Comparability::Different { reasons } => out.push_str(&format!(
                "NOTE: the CPU the counted code sees differs from the baseline's, so the gate reports \
                 without failing:\n  - {}\n  Crypto code picks its paths from CPUID (OpenSSL's \
                 OPENSSL_ia32cap, ring's and RustCrypto's feature detection): other features mean \
                 other code, other instruction counts. `make baseline` on this machine gates here.\n",
                reasons.join("\n  - ")
            )),
        }
        let new = self.rows.iter().filter(|r| r.status == Status::New).count();
        if new > 0 {
            out.push_str(&format!(
                "{new} bench(es) not in the baseline are not gated; `make baseline` records them\n"
            ));
        }
        out
    }

    /// Ok when the gate passes; [`Error::Regression`] naming every failing bench otherwise.
    /// When the counts are not comparable it always passes (the report says why).
    pub fn verdict(&self) -> Result<()> {
        let failures = self.failures();
        if failures.is_empty() || !self.same_cpu() {
            return Ok(());
        }
        let list: Vec<String> = failures
            .iter()
            .map(|r| match r.change_pct() {
                Some(p) => format!("{} {p:+.2}%", r.name),
                None => format!("{} {}", r.name, r.status.label()),
            })
            .collect();
        Err(Error::Regression {
            what: format!(
                "{} bench(es) above +{}% or missing: {}",
                failures.len(),
                self.threshold_pct,
                list.join(", ")
            ),
        })
    }
}

/// Differences between two runs (no baseline semantics): the largest absolute and relative.
/// Used to show the run-to-run variation of the gate on an unchanged tree.
pub fn largest_difference(previous: &Counts, now: &Counts) -> Option<(String, i128, f64)> {
    now.iter()
        .filter_map(|(name, &n)| {
            let p = *previous.get(name)?;
            let d = n as i128 - p as i128;
            Some((name.clone(), d, d as f64 * 100.0 / p as f64))
        })
        .max_by(|a, b| a.2.abs().total_cmp(&b.2.abs()))
}

/// 1234567 -> "1,234,567".
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn signed_digits(n: i128) -> String {
    let sign = if n < 0 { "-" } else { "+" };
    format!("{sign}{}", group_digits(n.unsigned_abs() as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1,000");
        assert_eq!(group_digits(6_300_123), "6,300,123");
        assert_eq!(signed_digits(-1234), "-1,234");
    }
}
