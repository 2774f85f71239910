//! The instruction-count regression gate.
//!
//! `benches/gate.rs` (gungraun) counts the instructions of a fast subset of the components
//! under callgrind; this module reads those counts, compares them with the committed
//! baseline (`results/baseline/gate.json`) and fails when a bench grew by more than the
//! threshold. `make gate` runs the bench and then `tlscost gate check`; `make baseline`
//! runs it and then `tlscost gate record`.
//!
//! Instruction counts only compare on the same code paths, and under valgrind those are
//! chosen by the CPU valgrind presents to the program, not by the host's ([`cpu`]). The
//! baseline records that emulated CPU; the gate fails on a regression whenever valgrind
//! presents the same CPU here, whatever the host, and reports without failing (naming the
//! features that differ) when it does not.
//!
//! The vendored OpenSSL build (`--features vendored-openssl`, `make gate OPENSSL=vendored`)
//! has its own baseline, [`baseline::VENDORED_PATH`], and its own target directory.

pub mod baseline;
pub mod bench;
pub mod compare;
pub mod counts;
pub mod cpu;

use crate::{Error, Result};
use baseline::Baseline;
use compare::{Comparison, HereCpu};
use counts::Counts;
use std::path::{Path, PathBuf};

/// Where `cargo bench --bench gate -- --save-summary=json` leaves its summaries:
/// `gungraun/tlscost/gate` under the target directory ([`crate::fsutil::target_dir`]:
/// `$CARGO_TARGET_DIR` when set, as for the vendored build's `target-vendored/`).
pub fn default_summaries() -> PathBuf {
    crate::fsutil::target_dir().join("gungraun/tlscost/gate")
}

/// Which OpenSSL this build links: `system` or `vendored`.
pub fn openssl_build() -> &'static str {
    if cfg!(feature = "vendored-openssl") {
        "vendored"
    } else {
        "system"
    }
}

/// `tlscost gate ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Compare the last gate run with the baseline; fail when a bench grew above the threshold.
    Check(CheckArgs),
    /// Write the last gate run as the new baseline.
    Record(RecordArgs),
    /// Print the CPU valgrind presents to counted programs (runs this binary under
    /// `valgrind --tool=none`), beside the host's, as JSON.
    Probe(ProbeArgs),
}

/// Options shared by `check` and `record`.
#[derive(Debug, clap::Args)]
struct Common {
    /// Directory holding the gungraun summary.json files of the run
    /// (default: <target dir>/gungraun/tlscost/gate, the target dir from $CARGO_TARGET_DIR).
    #[arg(long)]
    summaries: Option<PathBuf>,
    /// The baseline file (default: results/baseline/gate.json; gate-vendored.json for the
    /// vendored OpenSSL build).
    #[arg(long, default_value = baseline::default_path())]
    baseline: PathBuf,
}

impl Common {
    fn summaries(&self) -> PathBuf {
        self.summaries.clone().unwrap_or_else(default_summaries)
    }
}

#[derive(Debug, clap::Args)]
struct ProbeArgs {
    /// Print the CPU as this process sees it (what the default mode runs under valgrind).
    #[arg(long, hide = true)]
    this_process: bool,
}

#[derive(Debug, clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    common: Common,
    /// Fail when a bench's instructions grow by more than this many percent.
    #[arg(long, default_value_t = compare::DEFAULT_THRESHOLD_PCT, value_parser = parse_threshold)]
    threshold: f64,
    /// Also write the counts as Bencher Metric Format JSON (an `instructions` measure).
    #[arg(long, value_name = "FILE")]
    bmf: Option<PathBuf>,
    /// Counts of the previous run: print the largest difference to it, then replace it.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct RecordArgs {
    #[command(flatten)]
    common: Common,
}

/// Runs `tlscost gate ...`.
pub fn run(args: Args) -> Result<()> {
    match args.command {
        Command::Check(a) => check(a),
        Command::Record(a) => record(a),
        Command::Probe(a) => probe(a),
    }
}

fn probe(a: ProbeArgs) -> Result<()> {
    let host = cpu::CpuView::of_this_process();
    let value = if a.this_process {
        serde_json::json!(host)
    } else {
        serde_json::json!({ "emulated": cpu::emulated(&this_exe()?)?, "host": host })
    };
    println!("{value}");
    Ok(())
}

/// The running tlscost binary (the probe runs it again under valgrind).
fn this_exe() -> Result<PathBuf> {
    std::env::current_exe().map_err(|e| Error::io("locating the tlscost binary", e))
}

/// The CPU here: host signature, and what valgrind presents (or why it could not be probed).
fn here_cpu() -> HereCpu {
    HereCpu {
        host_signature: crate::machine::Machine::current().cpu_signature(),
        emulated: this_exe()
            .and_then(|exe| cpu::emulated(&exe))
            .map_err(|e| e.to_string()),
    }
}

/// A baseline recorded from the other OpenSSL build is the wrong file: say which to use.
fn check_build(base: &Baseline, path: &Path) -> Result<()> {
    match &base.openssl_build {
        Some(b) if b != openssl_build() => Err(Error::Results {
            path: path.to_path_buf(),
            what: format!(
                "this baseline counts the {b} OpenSSL build, this is the {} build: its baseline is {} (`make gate OPENSSL={}`)",
                openssl_build(),
                baseline::default_path(),
                openssl_build()
            ),
        }),
        _ => Ok(()),
    }
}

fn check(a: CheckArgs) -> Result<()> {
    // Read the baseline first: a missing baseline is the first thing to fix.
    let base = Baseline::load(&a.common.baseline)?;
    check_build(&base, &a.common.baseline)?;
    let run = counts::read_run(&a.common.summaries(), &gate_names())?;
    let cmp = Comparison::new(&base, &run.counts, &here_cpu(), a.threshold);
    println!(
        "gate: {} benches of the {} OpenSSL build vs {} (taken {}), threshold +{}%",
        run.counts.len(),
        openssl_build(),
        a.common.baseline.display(),
        base.date,
        a.threshold
    );
    print!("{}", cmp.report());
    let versions = tool_versions();
    if versions.0 != base.gungraun || versions.1 != base.valgrind {
        println!(
            "note: baseline taken with {} / {}, this run with {} / {}",
            base.gungraun, base.valgrind, versions.0, versions.1
        );
    }
    if let Some(path) = &a.previous {
        previous_run(path, &run.counts)?;
    }
    if let Some(path) = &a.bmf {
        crate::fsutil::write_atomic(path, bmf(&run.counts).as_bytes())?;
        println!("wrote {}", path.display());
    }
    cmp.verdict()?;
    println!("gate passed");
    Ok(())
}

fn record(a: RecordArgs) -> Result<()> {
    let summaries = a.common.summaries();
    let run = counts::read_run(&summaries, &gate_names())?;
    let missing: Vec<String> = bench::all()
        .iter()
        .map(|id| id.full())
        .filter(|name| !run.counts.contains_key(name))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Results {
            path: summaries,
            what: format!(
                "the run lacks {} gate bench(es), not recording a partial baseline: {}",
                missing.len(),
                missing.join(", ")
            ),
        });
    }
    let (gungraun, valgrind) = tool_versions();
    // The counts are only worth recording with the CPU they were counted on.
    let emulated = cpu::emulated(&this_exe()?)?;
    let base = Baseline {
        kind: baseline::KIND.into(),
        schema: baseline::SCHEMA,
        date: run.started_at.unwrap_or_else(|| "unknown".into()),
        cpu_signature: crate::machine::Machine::current().cpu_signature(),
        emulated_cpu: Some(emulated),
        openssl_build: Some(openssl_build().into()),
        gungraun,
        valgrind,
        benches: run.counts,
    };
    base.save(&a.common.baseline)?;
    println!(
        "recorded {} benches of the {} OpenSSL build in {} (host CPU {}; valgrind presents: {})",
        base.benches.len(),
        openssl_build(),
        a.common.baseline.display(),
        base.cpu_signature,
        base.emulated_cpu
            .as_ref()
            .map(|e| e.view.features.join(" "))
            .unwrap_or_default()
    );
    Ok(())
}

/// Full names of every gate bench.
fn gate_names() -> Vec<String> {
    bench::all().iter().map(|id| id.full()).collect()
}

/// Prints the largest difference to the counts saved by the previous run, then saves these.
fn previous_run(path: &Path, now: &Counts) -> Result<()> {
    if path.exists() {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let prev: Counts = serde_json::from_str(&text).map_err(|e| Error::Results {
            path: path.to_path_buf(),
            what: format!("corrupt previous-run counts: {e}"),
        })?;
        match compare::largest_difference(&prev, now) {
            Some((name, d, pct)) => println!(
                "largest difference to the previous run: {d:+} instructions ({pct:+.4}%) in {name}"
            ),
            None => println!("no bench in common with the previous run"),
        }
    }
    let text = serde_json::to_string_pretty(now).map_err(|e| Error::Results {
        path: path.to_path_buf(),
        what: format!("cannot serialise counts: {e}"),
    })?;
    crate::fsutil::write_atomic(path, text.as_bytes())
}

/// Bencher Metric Format: `{"bench": {"instructions": {"value": N}}}`.
pub fn bmf(counts: &Counts) -> String {
    let map: serde_json::Map<String, serde_json::Value> = counts
        .iter()
        .map(|(name, &ir)| {
            (
                name.clone(),
                serde_json::json!({ "instructions": { "value": ir } }),
            )
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::Value::Object(map)).unwrap_or_default() + "\n"
}

/// Accepts `2`, `2.5`, `2%`; a threshold must be a positive number.
fn parse_threshold(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("threshold '{s}' is not a number of percent (e.g. 2 or 2.5%)"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!(
            "threshold '{s}' must be a positive number of percent"
        ))
    }
}

/// (`gungraun-runner --version`, `valgrind --version`), "unknown" when not found.
fn tool_versions() -> (String, String) {
    let runner = std::env::var("GUNGRAUN_RUNNER").unwrap_or_else(|_| "gungraun-runner".into());
    (
        command_version(&runner, "--version"),
        command_version("valgrind", "--version"),
    )
}

fn command_version(cmd: &str, flag: &str) -> String {
    std::process::Command::new(cmd)
        .arg(flag)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds() {
        assert_eq!(parse_threshold("2"), Ok(2.0));
        assert_eq!(parse_threshold("2.5%"), Ok(2.5));
        assert!(parse_threshold("-1").is_err());
        assert!(parse_threshold("abc").is_err());
        assert!(parse_threshold("0").is_err());
    }
}
