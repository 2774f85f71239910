//! `tlscost ab`: a paired comparison of two builds (or two backends) on the same benches.
//!
//! Timings taken at different moments on a shared machine differ by more than most real
//! differences between two builds (runs 30% apart were seen here). So A and B are measured
//! in one session, alternately: for each round and each bench, a sample of A and a sample
//! of B back to back (the order flips every round, A B, B A, A B, ...), each the bench run
//! for `--seconds` of CPU time of the measuring thread. Each round gives one pair, and the
//! answer is the ratio B/A of every pair: its median, and its spread over the pairs. Slow
//! drifts of the machine hit both halves of a pair alike and cancel in the ratio.
//!
//! A difference is called real only when every pair says so: all ratios above 1 (B slower)
//! or all below 1 (B faster); otherwise it is **within noise**. With the default 9 rounds,
//! all nine on one side happens by chance with probability 2/512 per bench when there is no
//! difference (about 8% that one of 20 benches is called different by chance).
//!
//! Beside the times, `--count` counts the instructions of one iteration of each bench in
//! each build under callgrind ([`count`]): deterministic, but blind to what costs time
//! without instructions (cache misses, a slower instruction mix).
//!
//! Each build runs as its own worker process ([`worker`]), kept for the whole session: the
//! binaries are `--a` and `--b` (e.g. `target/release/tlscost` and
//! `target-vendored/release/tlscost`); two backends of one build are one binary and
//! `--b-rename openssl=rustcrypto`.

pub mod worker;

use crate::{Error, Result};
use comfy_table::{presets::ASCII_MARKDOWN, presets::UTF8_FULL_CONDENSED, CellAlignment, Table};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// What the pairs of one bench say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every pair has B slower than A.
    BSlower,
    /// Every pair has B faster than A.
    BFaster,
    /// The pairs disagree: no difference beyond the noise.
    WithinNoise,
}

impl Verdict {
    /// The words in the table.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::BSlower => "B slower",
            Verdict::BFaster => "B faster",
            Verdict::WithinNoise => "within noise",
        }
    }
}

/// The paired statistics of one bench.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Pairs (rounds).
    pub pairs: usize,
    /// Median of A's samples, ns per iteration.
    pub a_median_ns: f64,
    /// Median of B's samples, ns per iteration.
    pub b_median_ns: f64,
    /// Median of the pairs' ratios B/A.
    pub ratio: f64,
    /// Smallest pair ratio.
    pub ratio_min: f64,
    /// Largest pair ratio.
    pub ratio_max: f64,
    /// Whether the pairs agree on a difference.
    pub verdict: Verdict,
}

/// Median of `v` (mean of the two middle values for an even count); `None` when empty.
pub fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(s[n / 2]),
        _ => Some((s[n / 2 - 1] + s[n / 2]) / 2.0),
    }
}

/// The statistics of `(a, b)` pairs, each the time of one sample (any unit, both alike).
/// Errors: no pairs, or a time that is not a positive finite number.
pub fn paired(pairs: &[(f64, f64)]) -> Result<Paired> {
    if pairs.is_empty() {
        return Err(Error::Usage("no A/B pairs to compare".into()));
    }
    if let Some(bad) = pairs
        .iter()
        .find(|(a, b)| !(a.is_finite() && b.is_finite() && *a > 0.0 && *b > 0.0))
    {
        return Err(Error::Usage(format!(
            "an A/B pair holds a time that is not positive: {bad:?}"
        )));
    }
    let ratios: Vec<f64> = pairs.iter().map(|(a, b)| b / a).collect();
    let a: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let b: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let verdict = if lo > 1.0 {
        Verdict::BSlower
    } else if hi < 1.0 {
        Verdict::BFaster
    } else {
        Verdict::WithinNoise
    };
    Ok(Paired {
        pairs: pairs.len(),
        a_median_ns: median(&a).unwrap_or(0.0),
        b_median_ns: median(&b).unwrap_or(0.0),
        ratio: median(&ratios).unwrap_or(0.0),
        ratio_min: lo,
        ratio_max: hi,
        verdict,
    })
}

/// Which of the two goes first in round `round` (0-based): A in even rounds, B in odd ones.
pub fn order(round: u32) -> [Which; 2] {
    if round.is_multiple_of(2) {
        [Which::A, Which::B]
    } else {
        [Which::B, Which::A]
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The reference.
    A,
    /// The one compared with it.
    B,
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// The benches of the comparison of two OpenSSL builds: RSA-2048 decrypt, sign and
/// verify, the paper's two record suites at the INVITE's size, and every side of every kind
/// of the paper's handshake.
pub const OPENSSL_BUILDS: &[&str] = &[
    "rsa/openssl/*/2048",
    "record/openssl/*/*/sip-invite",
    "handshake/openssl/tls12-rsa-aes128-sha/*",
];

/// A worker process of one build.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    bin: PathBuf,
}

impl Worker {
    fn spawn(bin: &Path) -> Result<Worker> {
        let mut child = Command::new(bin)
            .arg("ab-worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| Error::io(format!("starting {} ab-worker", bin.display()), e))?;
        let (stdin, stdout) = match (child.stdin.take(), child.stdout.take()) {
            (Some(i), Some(o)) => (i, BufReader::new(o)),
            _ => return Err(Error::Usage("worker without pipes".into())),
        };
        Ok(Worker {
            child,
            stdin,
            stdout,
            bin: bin.to_path_buf(),
        })
    }

    fn ask(&mut self, command: &str) -> Result<serde_json::Value> {
        let ctx = |what: &str| format!("{what} {} ab-worker", self.bin.display());
        writeln!(self.stdin, "{command}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| Error::io(ctx("writing to"), e))?;
        let mut line = String::new();
        let n = self
            .stdout
            .read_line(&mut line)
            .map_err(|e| Error::io(ctx("reading from"), e))?;
        if n == 0 {
            return Err(Error::Usage(format!(
                "{} ab-worker ended without answering '{command}' (is it a tlscost with `ab-worker`?)",
                self.bin.display()
            )));
        }
        let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            Error::Usage(format!(
                "{} ab-worker answered '{command}' with something that is not JSON ({e}): {line}",
                self.bin.display()
            ))
        })?;
        if let Some(err) = v.get("error").and_then(|e| e.as_str()) {
            return Err(Error::Usage(format!(
                "{} ({command}): {err}",
                self.bin.display()
            )));
        }
        Ok(v)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Ends this worker only, by its own process handle.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Instructions of one iteration of `bench` in the build `bin`, counted by callgrind over
/// `iters` iterations (`tlscost ab-worker --count`): for a handshake side, only inside that
/// side's step function (as the gate counts it); for a primitive, the whole iteration.
pub fn count(bin: &Path, bench: &str, iters: u64) -> Result<f64> {
    let dir = std::env::temp_dir().join(format!("tlscost-ab-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let out = dir.join(format!("{}.callgrind", crate::gate::counts::ident(bench)));
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=callgrind", "-q", "--collect-atstart=no"])
        .arg(format!("--callgrind-out-file={}", out.display()));
    if let Some(side) = bench
        .strip_prefix("handshake/")
        .and_then(|r| r.rsplit('/').next())
    {
        cmd.arg(format!(
            "--toggle-collect=*tlscost::handshake::*{side}_step*"
        ))
        .arg("--zero-before=*tlscost::ab::worker::counted*");
    } else {
        cmd.arg("--toggle-collect=*tlscost::ab::worker::counted*");
    }
    let status = cmd
        .arg(bin)
        .args(["ab-worker", "--count", bench, "--iters"])
        .arg(iters.to_string())
        .output()
        .map_err(|e| Error::io("running valgrind (install it: `make setup`)", e))?;
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let _ = std::fs::remove_file(&out);
    let _ = std::fs::remove_dir(&dir);
    if !status.status.success() {
        return Err(Error::Usage(format!(
            "counting {bench} in {} under callgrind failed ({}): {}",
            bin.display(),
            status.status,
            String::from_utf8_lossy(&status.stderr).trim()
        )));
    }
    let ir = callgrind_total(&text).ok_or_else(|| {
        Error::Usage(format!(
            "callgrind wrote no total for {bench} in {}",
            bin.display()
        ))
    })?;
    if ir == 0 {
        return Err(Error::Usage(format!(
            "callgrind counted 0 instructions for {bench} in {} (was the counted function inlined?)",
            bin.display()
        )));
    }
    Ok(ir as f64 / iters as f64)
}

/// The total of the first event (Ir) of a callgrind output file: its `totals:` line, else
/// its `summary:` line.
pub fn callgrind_total(text: &str) -> Option<u64> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    field("totals:").or_else(|| field("summary:"))
}

/// One bench of a comparison.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    /// Its name in A.
    pub name: String,
    /// Its name in B (differs with --b-rename).
    pub b_name: String,
    /// A's samples, ns per iteration, in round order.
    pub a_ns: Vec<f64>,
    /// B's samples.
    pub b_ns: Vec<f64>,
    /// The paired statistics.
    pub paired: Paired,
    /// Instructions per iteration in A and B, when counted.
    pub ir: Option<(f64, f64)>,
}

/// A whole comparison, as `--json` prints and `--out` writes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// What A is: the binary and the OpenSSL it links.
    pub a: String,
    /// What B is.
    pub b: String,
    /// Rounds (pairs per bench).
    pub rounds: u32,
    /// CPU seconds per sample.
    pub seconds: f64,
    /// The machine it ran on.
    pub machine: crate::machine::Machine,
    /// 1-minute load average at the start and the end.
    pub load: (f64, f64),
    /// Every bench.
    pub benches: Vec<BenchResult>,
}

/// Arguments of `tlscost ab`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The reference build's tlscost binary (default: this one).
    #[arg(long, value_name = "BIN")]
    a: Option<PathBuf>,
    /// The build compared with it (default: this one).
    #[arg(long, value_name = "BIN")]
    b: Option<PathBuf>,
    /// Benches to compare, by name; `*` matches anything (repeat the flag). Default: the
    /// two OpenSSL builds' comparison (RSA-2048, records at the INVITE's size, every side
    /// of the paper's handshake).
    #[arg(long, value_name = "PATTERN")]
    bench: Vec<String>,
    /// B's bench name is A's with FROM replaced by TO (two backends of one build:
    /// `--b-rename openssl=rustcrypto`).
    #[arg(long, value_name = "FROM=TO")]
    b_rename: Option<String>,
    /// Pairs per bench (with 9, all nine pairs on one side of 1 happens by chance with
    /// probability 2/512 per bench when there is no difference).
    #[arg(long, default_value_t = 9)]
    rounds: u32,
    /// CPU seconds per sample.
    #[arg(long, default_value_t = 0.3)]
    seconds: f64,
    /// Also count the instructions of one iteration in each build under callgrind.
    #[arg(long)]
    count: bool,
    /// Print JSON instead of the table.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// Print the table as markdown.
    #[arg(long)]
    markdown: bool,
    /// Also write the report as JSON to FILE (atomically).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs `tlscost ab`.
pub fn run(args: Args) -> Result<()> {
    if args.rounds < 2 {
        return Err(Error::Usage(
            "--rounds must be at least 2: a spread needs two pairs".into(),
        ));
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        return Err(Error::Usage(format!(
            "--seconds {}: expected a positive number",
            args.seconds
        )));
    }
    let rename = match &args.b_rename {
        Some(r) => Some(
            r.split_once('=')
                .map(|(f, t)| (f.to_string(), t.to_string()))
                .ok_or_else(|| Error::Usage(format!("--b-rename '{r}': expected FROM=TO")))?,
        ),
        None => None,
    };
    let here = std::env::current_exe().map_err(|e| Error::io("locating tlscost", e))?;
    let bins = [
        args.a.clone().unwrap_or(here.clone()),
        args.b.clone().unwrap_or(here),
    ];
    for b in &bins {
        if !b.is_file() {
            return Err(Error::Usage(format!(
                "{}: no such tlscost binary (build it: `cargo build --release`, or for the vendored OpenSSL `make build OPENSSL=vendored`)",
                b.display()
            )));
        }
    }
    let mut workers = [Worker::spawn(&bins[0])?, Worker::spawn(&bins[1])?];
    let describe = |w: &mut Worker| -> Result<String> {
        let i = w.ask("info")?;
        Ok(format!(
            "{} ({} OpenSSL {})",
            w.bin.display(),
            i["openssl_build"].as_str().unwrap_or("?"),
            i["openssl"].as_str().unwrap_or("?")
        ))
    };
    let (a_desc, b_desc) = (describe(&mut workers[0])?, describe(&mut workers[1])?);
    let list = |w: &mut Worker| -> Result<Vec<String>> {
        serde_json::from_value(w.ask("list")?)
            .map_err(|e| Error::Usage(format!("{}: bad bench list: {e}", w.bin.display())))
    };
    let (a_list, b_list) = (list(&mut workers[0])?, list(&mut workers[1])?);
    let patterns: Vec<String> = if args.bench.is_empty() {
        OPENSSL_BUILDS.iter().map(|s| s.to_string()).collect()
    } else {
        args.bench.clone()
    };
    let mut names: Vec<(String, String)> = Vec::new();
    for p in &patterns {
        let matched: Vec<&String> = a_list.iter().filter(|n| glob(p, n)).collect();
        if matched.is_empty() {
            return Err(Error::Usage(format!(
                "--bench {p}: no bench of A ({}) matches",
                bins[0].display()
            )));
        }
        for n in matched {
            let b = match &rename {
                Some((from, to)) => n.replace(from.as_str(), to),
                None => n.clone(),
            };
            if !b_list.contains(&b) {
                return Err(Error::Usage(format!(
                    "B ({}) has no bench {b} (A's {n})",
                    bins[1].display()
                )));
            }
            if !names.iter().any(|(a, _)| a == n) {
                names.push((n.clone(), b));
            }
        }
    }
    let load0 = crate::machine::busy_signals().0.unwrap_or(0.0);
    let mut samples: Vec<Vec<(f64, f64)>> =
        vec![vec![(0.0, 0.0); args.rounds as usize]; names.len()];
    for round in 0..args.rounds {
        for (i, (a_name, b_name)) in names.iter().enumerate() {
            eprint!(
                "\rab: round {}/{}, bench {}/{}: {a_name}            ",
                round + 1,
                args.rounds,
                i + 1,
                names.len()
            );
            for which in order(round) {
                let (w, name) = match which {
                    Which::A => (&mut workers[0], a_name),
                    Which::B => (&mut workers[1], b_name),
                };
                let v = w.ask(&format!("time {name} {}", args.seconds))?;
                let ns = v["ns_per_op"].as_f64().unwrap_or(f64::NAN);
                let slot = &mut samples[i][round as usize];
                match which {
                    Which::A => slot.0 = ns,
                    Which::B => slot.1 = ns,
                }
            }
        }
    }
    eprintln!();
    drop(workers);
    let load1 = crate::machine::busy_signals().0.unwrap_or(0.0);
    let mut benches = Vec::new();
    for ((a_name, b_name), pairs) in names.into_iter().zip(samples) {
        let ir = if args.count {
            eprintln!("ab: counting {a_name} under callgrind");
            Some((count(&bins[0], &a_name, 3)?, count(&bins[1], &b_name, 3)?))
        } else {
            None
        };
        benches.push(BenchResult {
            paired: paired(&pairs)?,
            a_ns: pairs.iter().map(|p| p.0).collect(),
            b_ns: pairs.iter().map(|p| p.1).collect(),
            name: a_name,
            b_name,
            ir,
        });
    }
    let report = Report {
        a: a_desc,
        b: b_desc,
        rounds: args.rounds,
        seconds: args.seconds,
        machine: crate::machine::Machine::current(),
        load: (load0, load1),
        benches,
    };
    let json = serde_json::to_string_pretty(&report).unwrap_or_default() + "\n";
    if let Some(path) = &args.out {
        crate::fsutil::write_atomic(path, json.as_bytes())?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        print!("{json}");
    } else {
        print!("{}", render(&report, args.markdown));
    }
    Ok(())
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else {
        format!("{:.2} µs", ns / 1e3)
    }
}

/// The table: per bench A and B (medians), the median ratio with the pairs' range, the
/// verdict, and the instruction counts when taken.
pub fn render(r: &Report, markdown: bool) -> String {
    let mut t = Table::new();
    t.load_style(if markdown {
        ASCII_MARKDOWN
    } else {
        UTF8_FULL_CONDENSED
    });
    let counted = r.benches.iter().any(|b| b.ir.is_some());
    let mut header = vec!["bench", "A", "B", "B/A", "pairs' range", "verdict"];
    if counted {
        header.extend(["Ir A", "Ir B", "Ir B/A"]);
    }
    t.set_header(header);
    for b in &r.benches {
        let p = &b.paired;
        let name = if b.b_name == b.name {
            b.name.clone()
        } else {
            format!("{} vs {}", b.name, b.b_name)
        };
        let mut row = vec![
            name,
            fmt_ns(p.a_median_ns),
            fmt_ns(p.b_median_ns),
            format!("{:.3}", p.ratio),
            format!("{:.3}-{:.3}", p.ratio_min, p.ratio_max),
            p.verdict.label().to_string(),
        ];
        if let Some((a, bb)) = b.ir {
            row.extend([
                crate::gate::compare::group_digits(a.round() as u64),
                crate::gate::compare::group_digits(bb.round() as u64),
                format!("{:.3}", bb / a),
            ]);
        } else if counted {
            row.extend(["-".into(), "-".into(), "-".into()]);
        }
        t.add_row(row);
    }
    for i in 1..t.column_count() {
        if i != 5 {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(CellAlignment::Right);
            }
        }
    }
    format!(
        "A: {}\nB: {}\n{t}\nA, B: medians of {} samples of {} s CPU time of the measuring thread each, per iteration; B/A: median of the {} pairs' ratios (A and B measured back to back, order alternating); 'within noise' unless every pair's ratio is on the same side of 1. Load average {:.2} at the start, {:.2} at the end.{}\n",
        r.a,
        r.b,
        r.rounds,
        r.seconds,
        r.rounds,
        r.load.0,
        r.load.1,
        if counted {
            " Ir: instructions of one iteration under callgrind (handshakes: the side's step function only, as in the gate)."
        } else {
            ""
        }
    )
}

/// `tlscost ab-worker`: the hidden worker the controller starts.
pub use worker::{run as run_worker, WorkerArgs};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_give_median_ratio_range_and_verdict() {
        // B 10% slower in every pair, with noise that moves both halves of a pair.
        let pairs = [
            (100.0, 110.0),
            (120.0, 131.0),
            (90.0, 100.0),
            (105.0, 115.0),
        ];
        let p = paired(&pairs).unwrap();
        assert_eq!(p.pairs, 4);
        assert_eq!(p.verdict, Verdict::BSlower);
        assert!((p.ratio_min - 1.0917).abs() < 1e-3, "{p:?}");
        assert!((p.ratio_max - 1.1111).abs() < 1e-3, "{p:?}");
        // Ratios sorted: 1.0917, 1.0952, 1.1000, 1.1111: median = (1.0952 + 1.1) / 2.
        assert!((p.ratio - (110.0 / 100.0 + 115.0 / 105.0) / 2.0).abs() < 1e-12);
        assert_eq!(p.a_median_ns, 102.5);
        assert_eq!(p.b_median_ns, 112.5);
    }

    #[test]
    fn pairs_that_disagree_are_within_noise() {
        let p = paired(&[(100.0, 97.0), (100.0, 104.0), (100.0, 99.0)]).unwrap();
        assert_eq!(p.verdict, Verdict::WithinNoise);
        assert_eq!(p.ratio, 0.99);
        let p = paired(&[(100.0, 90.0), (100.0, 95.0)]).unwrap();
        assert_eq!(p.verdict, Verdict::BFaster);
        // A ratio of exactly 1 is not a difference.
        assert_eq!(
            paired(&[(100.0, 100.0), (100.0, 120.0)]).unwrap().verdict,
            Verdict::WithinNoise
        );
    }

    /// A machine that slows down during the session: unpaired medians would mislead,
    /// the pairs' ratios do not.
    #[test]
    fn pairing_cancels_a_drift() {
        let pairs: Vec<(f64, f64)> = (0..7)
            .map(|i| {
                let slow = 1.0 + 0.1 * i as f64;
                (100.0 * slow, 102.0 * slow)
            })
            .collect();
        let p = paired(&pairs).unwrap();
        assert!((p.ratio_min - 1.02).abs() < 1e-12 && (p.ratio_max - 1.02).abs() < 1e-12);
        assert_eq!(p.verdict, Verdict::BSlower);
    }

    #[test]
    fn bad_pairs_are_errors() {
        assert!(paired(&[]).is_err());
        assert!(paired(&[(0.0, 1.0)])
            .unwrap_err()
            .to_string()
            .contains("not positive"));
        assert!(paired(&[(1.0, f64::NAN)]).is_err());
    }

    #[test]
    fn order_alternates() {
        assert_eq!(order(0), [Which::A, Which::B]);
        assert_eq!(order(1), [Which::B, Which::A]);
        assert_eq!(order(2), [Which::A, Which::B]);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn globs() {
        assert!(glob("rsa/openssl/*/2048", "rsa/openssl/sign/2048"));
        assert!(!glob("rsa/openssl/*/2048", "rsa/openssl/sign/4096"));
        assert!(glob(
            "handshake/openssl/*",
            "handshake/openssl/tls12-rsa-aes128-sha/full/client"
        ));
        assert!(glob(
            "record/*/*/sip-invite",
            "record/openssl/aes128-sha/seal/sip-invite"
        ));
        assert!(!glob(
            "record/*/*/sip-invite",
            "record/openssl/aes128-sha/seal/1024"
        ));
        assert!(glob("exact", "exact") && !glob("exact", "exactly"));
        assert!(glob("*", "anything"));
        assert!(!glob("a*b*c", "acb"));
    }

    #[test]
    fn callgrind_totals() {
        let text = "version: 1\nevents: Ir\nsummary: 1234\nfn=x\n1 5\ntotals: 1234\n";
        assert_eq!(callgrind_total(text), Some(1234));
        assert_eq!(callgrind_total("events: Ir\nsummary: 77\n"), Some(77));
        assert_eq!(callgrind_total("nothing"), None);
    }
}
