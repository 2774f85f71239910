//! `tlscost compare`: every component across crypto backends (and TLS stacks) side by side
//! with the ratio to OpenSSL, or two results files component by component.

use super::{default_criterion_dir, load_estimates};
use crate::crypto::Backend;
use crate::handshake::Stack;
use crate::names::Dimension;
use crate::report::{self, Exporter};
use crate::results::criterion::Estimate;
use crate::results::ResultsFile;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One compared benchmark: the same operation under each column.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// The benchmark name without the backend/stack part (e.g. `record/aes128-sha/seal/sip-invite`).
    pub key: String,
    /// Median per column (ns), when measured.
    pub values: Vec<Option<f64>>,
    /// Each column over the baseline column.
    pub ratios: Vec<Option<f64>>,
}

/// One comparison table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// What is compared.
    pub title: String,
    /// Column names (backends, stacks, or files).
    pub columns: Vec<String>,
    /// The column ratios are taken to.
    pub baseline: String,
    /// Rows, sorted by key.
    pub rows: Vec<CompareRow>,
    /// Unit of the values.
    pub unit: String,
}

/// Groups whose second name part is the implementation (backend or stack).
const GROUPS: [(&str, &str); 5] = [
    ("rsa", "RSA operations"),
    ("cipher", "raw CBC ciphers"),
    ("mac", "HMAC-SHA1 and SHA-1"),
    ("record", "TLS records"),
    ("handshake", "TLS handshakes (per side)"),
];

fn ratio_rows(keys: BTreeMap<String, Vec<Option<f64>>>, base: usize) -> Vec<CompareRow> {
    keys.into_iter()
        .map(|(key, values)| {
            let b = values[base];
            let ratios = values
                .iter()
                .map(|v| match (v, b) {
                    (Some(v), Some(b)) if b > 0.0 => Some(v / b),
                    _ => None,
                })
                .collect();
            CompareRow {
                key,
                values,
                ratios,
            }
        })
        .collect()
}

/// Every implementation-keyed group across its backends (or stacks), ratio to OpenSSL.
pub fn across_backends(est: &BTreeMap<String, Estimate>) -> Vec<Comparison> {
    let mut out = Vec::new();
    for (group, title) in GROUPS {
        let columns: Vec<&str> = if group == "handshake" {
            Stack::ALL.iter().map(|s| s.label()).collect()
        } else {
            Backend::ALL.iter().map(|b| b.label()).collect()
        };
        let mut keys: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
        for (id, e) in est {
            let parts: Vec<&str> = id.split('/').collect();
            if parts.len() < 3 || parts[0] != group {
                continue;
            }
            let Some(col) = columns.iter().position(|c| *c == parts[1]) else {
                continue;
            };
            let key = std::iter::once(parts[0])
                .chain(parts[2..].iter().copied())
                .collect::<Vec<_>>()
                .join("/");
            keys.entry(key).or_insert_with(|| vec![None; columns.len()])[col] = Some(e.median_ns);
        }
        if keys.is_empty() {
            continue;
        }
        // Keep only columns that hold something.
        let used: Vec<usize> = (0..columns.len())
            .filter(|&c| keys.values().any(|v| v[c].is_some()))
            .collect();
        let keys: BTreeMap<String, Vec<Option<f64>>> = keys
            .into_iter()
            .map(|(k, v)| (k, used.iter().map(|&c| v[c]).collect()))
            .collect();
        let cols: Vec<String> = used.iter().map(|&c| columns[c].to_string()).collect();
        let base = cols.iter().position(|c| c == "openssl").unwrap_or(0);
        out.push(Comparison {
            title: title.to_string(),
            baseline: cols[base].clone(),
            rows: ratio_rows(keys, base),
            columns: cols,
            unit: "ns".into(),
        });
    }
    out
}

/// Two results files, benchmark by benchmark, ratio b / a.
pub fn files(a: &ResultsFile, a_name: &str, b: &ResultsFile, b_name: &str) -> Comparison {
    let (ea, eb) = (a.estimates(), b.estimates());
    let mut keys: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    for (i, est) in [&ea, &eb].into_iter().enumerate() {
        for (id, e) in est {
            keys.entry(id.clone()).or_insert_with(|| vec![None; 2])[i] = Some(e.median_ns);
        }
    }
    Comparison {
        title: format!(
            "{a_name} ({}, OpenSSL {}) vs {b_name} ({}, OpenSSL {})",
            a.machine.cpu_model, a.machine.openssl, b.machine.cpu_model, b.machine.openssl
        ),
        columns: vec![a_name.to_string(), b_name.to_string()],
        baseline: a_name.to_string(),
        rows: ratio_rows(keys, 0),
        unit: "ns".into(),
    }
}

/// Arguments of `tlscost compare`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompareArgs {
    /// First results file (the baseline of the ratios); needs --b.
    #[arg(long, value_name = "FILE", requires = "b")]
    pub a: Option<PathBuf>,
    /// Second results file; needs --a.
    #[arg(long, value_name = "FILE", requires = "a")]
    pub b: Option<PathBuf>,
    /// Compare backends within this results file instead of criterion's output.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["a", "b"])]
    pub results: Option<PathBuf>,
    /// Criterion's output directory (default: target/criterion).
    #[arg(long, value_name = "DIR")]
    pub criterion_dir: Option<PathBuf>,
    /// Only benchmarks whose name contains this text.
    #[arg(long)]
    pub filter: Option<String>,
    /// Print JSON instead of tables.
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the tables as markdown.
    #[arg(long)]
    pub markdown: bool,
}

/// The comparisons `args` ask for.
pub fn compute(args: &CompareArgs) -> Result<Vec<Comparison>> {
    let mut out = match (&args.a, &args.b) {
        (Some(a), Some(b)) => {
            let name = |p: &PathBuf| p.display().to_string();
            vec![files(
                &ResultsFile::read(a)?,
                &name(a),
                &ResultsFile::read(b)?,
                &name(b),
            )]
        }
        _ => {
            let dir = args
                .criterion_dir
                .clone()
                .unwrap_or_else(default_criterion_dir);
            let est = load_estimates(args.results.as_deref(), &dir)?;
            let cmp = across_backends(&est.map);
            if cmp.is_empty() {
                return Err(Error::Results {
                    path: est.source,
                    what: "no rsa, cipher, mac, record or handshake results to compare: run `cargo bench --bench primitives` and `cargo bench --bench handshakes`".into(),
                });
            }
            cmp
        }
    };
    if let Some(f) = &args.filter {
        for c in &mut out {
            c.rows.retain(|r| r.key.contains(f.as_str()));
        }
        out.retain(|c| !c.rows.is_empty());
    }
    Ok(out)
}

/// `tlscost compare`.
pub fn run(args: CompareArgs) -> Result<()> {
    let cmp = compute(&args)?;
    let exporter: Box<dyn Exporter> = if args.json {
        Box::new(report::json::Json)
    } else if args.markdown {
        Box::new(report::table::Table::markdown())
    } else {
        Box::new(report::table::Table::terminal())
    };
    for a in exporter.comparison(&cmp)? {
        print!("{}", String::from_utf8_lossy(&a.bytes));
    }
    Ok(())
}
