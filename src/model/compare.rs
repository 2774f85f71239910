//! `tlscost compare`: every component across crypto backends (and TLS stacks) side by side
//! with the ratio to OpenSSL, or two results files component by component.

use super::{default_criterion_dir, load_estimates};
use crate::crypto::Backend;
use crate::handshake::Stack;
use crate::names::Dimension;
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
    /// What a row is (`benchmark`, `component`, `handshake side, part`): the key column's
    /// header.
    pub key_header: String,
    /// Column names (backends, stacks, or files).
    pub columns: Vec<String>,
    /// The column ratios are taken to.
    pub baseline: String,
    /// Rows: sorted by key, except the model's components, which keep the model's order.
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

fn ratio_rows(
    keys: impl IntoIterator<Item = (String, Vec<Option<f64>>)>,
    base: usize,
) -> Vec<CompareRow> {
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
            key_header: "benchmark".into(),
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
        key_header: "benchmark".into(),
        title: format!(
            "{a_name} ({}, {} {}) vs {b_name} ({}, {} {})",
            a.machine.cpu_model,
            a.machine.openssl_build,
            a.machine.openssl,
            b.machine.cpu_model,
            b.machine.openssl_build,
            b.machine.openssl
        ),
        columns: vec![a_name.to_string(), b_name.to_string()],
        baseline: a_name.to_string(),
        rows: ratio_rows(keys, 0),
        unit: "ns".into(),
    }
}

/// The model components of two results files written by `tlscost model` (values in ns for
/// the table, like the benches), ratio b / a; `None` when either has no model.
pub fn model_components(
    a: &ResultsFile,
    a_name: &str,
    b: &ResultsFile,
    b_name: &str,
) -> Option<Comparison> {
    let (ca, cb) = (
        super::repeat::measured_components(a),
        super::repeat::measured_components(b),
    );
    if ca.is_empty() || cb.is_empty() {
        return None;
    }
    // In the model's order (a's, then any only b has), as the model prints them.
    let mut keys: Vec<(String, Vec<Option<f64>>)> = Vec::new();
    for (i, comps) in [ca, cb].into_iter().enumerate() {
        for (label, us) in comps {
            let row = match keys.iter().position(|(k, _)| *k == label) {
                Some(r) => r,
                None => {
                    keys.push((label, vec![None; 2]));
                    keys.len() - 1
                }
            };
            keys[row].1[i] = Some(us * 1e3);
        }
    }
    Some(Comparison {
        title: format!("model components per call, {a_name} vs {b_name}"),
        key_header: "component".into(),
        columns: vec![a_name.to_string(), b_name.to_string()],
        baseline: a_name.to_string(),
        rows: ratio_rows(keys, 0),
        unit: "ns".into(),
    })
}

/// What one file's measurements explain of each OpenSSL handshake side: operation counts
/// (measured on this build, [`crate::handshake::count`]) times that file's primitive medians
/// ([`crate::handshake::explain`]: RSA-2048 of `rsa/openssl/...`, records of `record/openssl/...`).
/// Rows per handshake side: measured, public-key operations, record operations, residual
/// (measured minus both: PRF and hashing, the state machine, certificate parsing, allocation),
/// and everything outside public-key operations. Handshakes without counts or prices are left out.
pub fn handshakes_explained(
    a: &ResultsFile,
    a_name: &str,
    b: &ResultsFile,
    b_name: &str,
    pki: &crate::handshake::Pki,
) -> Result<Option<Comparison>> {
    use crate::handshake::{count, explain, Protocol, Scenario, Side};
    let (ea, eb) = (a.estimates(), b.estimates());
    let mut keys: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    let mut borrowed = Vec::new();
    let mut shares = Vec::new();
    for scenario in Scenario::ALL.iter().filter(|s| s.stack == Stack::Openssl) {
        let ids: Vec<String> = Side::ALL.iter().map(|s| scenario.id(*s).full()).collect();
        if !ids
            .iter()
            .any(|id| ea.contains_key(id) || eb.contains_key(id))
        {
            continue;
        }
        // The messages of the 3DES handshake are those of the AES one (same key transport,
        // same certificates): where this build cannot run it, its counts stand in.
        let counted = if scenario.available().is_ok() {
            *scenario
        } else if scenario.protocol == Protocol::Tls12Rsa3desSha {
            borrowed.push(scenario.label());
            Scenario {
                protocol: Protocol::Tls12RsaAes128Sha,
                ..*scenario
            }
        } else {
            continue;
        };
        let counts = count::measure(counted, pki)?;
        for side in Side::ALL {
            let id = scenario.id(*side).full();
            for (col, est) in [&ea, &eb].into_iter().enumerate() {
                // A side or price this file lacks leaves the row out.
                let (Some(x), missing) =
                    explain::explain(*scenario, *side, &counts, est, "openssl", None)
                else {
                    continue;
                };
                if !missing.is_empty() && x.parts.is_empty() {
                    continue;
                }
                let sum = |rsa: bool| -> f64 {
                    x.parts
                        .iter()
                        .filter(|p| {
                            if rsa {
                                p.what.starts_with("RSA")
                                    || p.what.starts_with("handshake signature")
                            } else {
                                p.what.starts_with("record")
                            }
                        })
                        .map(|p| p.total_us * 1e3)
                        .sum::<f64>()
                        + 0.0 // an empty f64 sum is -0.0, printed "-0.00"
                };
                let measured = x.measured_us * 1e3;
                let (pk, sym) = (sum(true), sum(false));
                for (what, v) in [
                    ("1 measured", measured),
                    ("2 public-key ops", pk),
                    ("3 record ops", sym),
                    ("4 residual", measured - pk - sym),
                    ("5 outside public-key", measured - pk),
                ] {
                    keys.entry(format!("{id} {what}"))
                        .or_insert_with(|| vec![None; 2])[col] = Some(v);
                }
                if scenario.kind == crate::handshake::Kind::Full && measured > 0.0 {
                    shares.push(format!(
                        "{} {} {}: {:.0}%",
                        [a_name, b_name][col],
                        scenario.protocol.label(),
                        side.label(),
                        100.0 * (measured - pk) / measured
                    ));
                }
            }
        }
    }
    if keys.is_empty() {
        return Ok(None);
    }
    let mut title = "OpenSSL handshakes explained: counts x primitive medians of each file (public-key: rsa/openssl/*/2048; records: record/openssl/<suite>/*), residual = measured - both".to_string();
    if !shares.is_empty() {
        title.push_str(&format!(
            ". Share of a full handshake outside public-key operations: {}",
            shares.join("; ")
        ));
    }
    if !borrowed.is_empty() {
        title.push_str(&format!(
            ". Counts of {} taken from the AES128-SHA handshake (this build has no 3DES suite)",
            borrowed.join(", ")
        ));
    }
    Ok(Some(Comparison {
        title,
        key_header: "handshake side, part".into(),
        columns: vec![a_name.to_string(), b_name.to_string()],
        baseline: a_name.to_string(),
        rows: ratio_rows(keys, 0),
        unit: "ns".into(),
    }))
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
            let (fa, fb) = (ResultsFile::read(a)?, ResultsFile::read(b)?);
            let mut out = vec![files(&fa, &name(a), &fb, &name(b))];
            out.extend(model_components(&fa, &name(a), &fb, &name(b)));
            // The handshake explanation needs the fixtures to count operations; without them
            // the plain comparison still stands.
            match crate::handshake::Pki::locate() {
                Ok(pki) => out.extend(handshakes_explained(&fa, &name(a), &fb, &name(b), &pki)?),
                Err(e) => eprintln!("note: handshakes not explained: {e}"),
            }
            out
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
