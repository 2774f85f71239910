//! How much of a measured handshake its measured operations explain.
//!
//! For one scenario and side: the operation counts of [`super::count`] times the measured cost
//! of each primitive (criterion results of the `rsa/...` and `record/...` benches), against
//! the measured time of the same handshake side (`handshake/...`). What the priced operations
//! do not cover is the residual: key exchange, PRF/HKDF and hashing (no primitive bench
//! prices them here), and the TLS library itself (state machine, message parsing and
//! building, certificate parsing and chain building, allocation), the paper's
//! "RSA / MAC / other libcrypto / libssl" breakdown in our terms.

use super::count::OpCounts;
use super::{Scenario, Side};
use crate::names::{BenchId, Dimension};
use crate::results::criterion::Estimate;
use crate::{Error, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

/// RSA modulus size of the fixtures' server and client keys.
pub const RSA_BITS: u32 = 2048;

/// One priced operation kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// What was counted (e.g. "private sign").
    pub what: String,
    /// How many times, in one handshake on this side.
    pub count: u64,
    /// The primitive benchmark that prices one of them.
    pub bench: String,
    /// Its measured median (µs).
    pub unit_us: f64,
    /// `count × unit_us`.
    pub total_us: f64,
}

/// The explanation of one handshake side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The handshake benchmark, `handshake/<stack>/<protocol>/<kind>/<side>`.
    pub bench: String,
    /// Its measured median (µs).
    pub measured_us: f64,
    /// The priced operations.
    pub parts: Vec<Part>,
    /// Sum of the parts (µs).
    pub explained_us: f64,
    /// `explained_us / measured_us`.
    pub fraction: f64,
    /// `measured_us - explained_us` (µs).
    pub residual_us: f64,
    /// Counted operations in the residual because no primitive bench prices them.
    pub unpriced: Vec<String>,
    /// The backend whose primitive benches priced the operations.
    pub priced_with: String,
}

fn missing(dir: &Path, id: &str, run: &str) -> Error {
    Error::Results {
        path: dir.to_path_buf(),
        what: format!("no criterion estimate for {id}; run `{run}` first"),
    }
}

fn price(
    est: &BTreeMap<String, Estimate>,
    dir: &Path,
    id: &BenchId,
    run: &str,
) -> Result<(String, f64)> {
    let full = id.full();
    est.get(&full)
        .map(|e| (full.clone(), e.median_us()))
        .ok_or_else(|| missing(dir, &full, run))
}

/// The record bench that prices a record of `bytes` ciphertext bytes: the smallest measured
/// size of the sweep at least that large (or the largest).
fn record_bench(
    est: &BTreeMap<String, Estimate>,
    dir: &Path,
    backend: &str,
    suite: &str,
    op: &str,
    bytes: u64,
) -> Result<(String, f64)> {
    let prefix = format!("record/{backend}/{suite}/{op}/");
    let mut sizes: Vec<(u64, &Estimate)> = est
        .iter()
        .filter_map(|(k, e)| {
            k.strip_prefix(&prefix)
                .and_then(|p| p.parse::<u64>().ok())
                .map(|n| (n, e))
        })
        .collect();
    sizes.sort_by_key(|(n, _)| *n);
    let pick = sizes.iter().find(|(n, _)| *n >= bytes).or(sizes.last());
    pick.map(|(_, e)| (e.id.clone(), e.median_us()))
        .ok_or_else(|| {
            missing(
                dir,
                &format!("{prefix}<size>"),
                &format!("cargo bench --bench primitives -- record/{backend}/{suite}/{op}"),
            )
        })
}

/// Explains one side of one scenario with the estimates in `est` (read from `dir`), pricing
/// the public-key and record operations with `backend`'s primitive benches.
pub fn explain(
    scenario: Scenario,
    side: Side,
    counts: &OpCounts,
    est: &BTreeMap<String, Estimate>,
    dir: &Path,
    backend: &str,
) -> Result<Explanation> {
    let id = scenario.id(side).full();
    let measured_us = est
        .get(&id)
        .map(|e| e.median_us())
        .ok_or_else(|| missing(dir, &id, &format!("cargo bench --bench handshakes -- {id}")))?;
    let c = counts.side(side);
    let run_rsa = format!("cargo bench --bench primitives -- rsa/{backend}");
    let mut parts = Vec::new();
    let mut unpriced = Vec::new();
    // The rsa/... benches price RSA-2048 only: an ECDSA scenario's signatures stay unpriced.
    let ecdsa = scenario.cert_type() == super::Cert::EcdsaP256;
    for (what, n, op) in [
        ("private sign", c.private_sign, "sign"),
        ("private decrypt", c.private_decrypt, "decrypt"),
        ("public verify", c.public_verify, "verify"),
        ("public encrypt", c.public_encrypt, "encrypt"),
    ] {
        if n == 0 {
            continue;
        }
        if ecdsa {
            unpriced.push(format!("{n} ECDSA P-256 {what}(s)"));
            continue;
        }
        let bench = BenchId::new("rsa", &[backend, op]).with_parameter(RSA_BITS);
        let (bench, unit_us) = price(est, dir, &bench, &run_rsa)?;
        parts.push(Part {
            what: what.to_string(),
            count: n,
            bench,
            unit_us,
            total_us: n as f64 * unit_us,
        });
    }
    let suite = scenario.protocol.record_suite();
    for (what, n, bytes, op) in [
        ("record seal", c.records_sealed, c.sealed_bytes, "seal"),
        ("record open", c.records_opened, c.opened_bytes, "open"),
    ] {
        if n == 0 {
            continue;
        }
        let (bench, unit_us) = record_bench(est, dir, backend, suite, op, bytes / n)?;
        parts.push(Part {
            what: what.to_string(),
            count: n,
            bench,
            unit_us,
            total_us: n as f64 * unit_us,
        });
    }
    if c.key_exchanges > 0 {
        unpriced.push(format!(
            "{} key exchange(s) ({})",
            c.key_exchanges,
            scenario.group.map_or("no group", |g| g.label())
        ));
    }
    if let Some(n) = c.kdf_calls.filter(|n| *n > 0) {
        unpriced.push(format!("{n} PRF/HKDF call(s)"));
    }
    if let Some(n) = c.hash_outputs.filter(|n| *n > 0) {
        unpriced.push(format!("{n} hash output(s)"));
    }
    if c.kdf_calls.is_none() {
        unpriced.push("PRF and hashing (not observed on openssl)".to_string());
    }
    unpriced.push("TLS library: state machine, parsing, certificates, allocation".to_string());
    let explained_us: f64 = parts.iter().map(|p| p.total_us).sum();
    Ok(Explanation {
        bench: id,
        measured_us,
        parts,
        explained_us,
        fraction: if measured_us > 0.0 {
            explained_us / measured_us
        } else {
            0.0
        },
        residual_us: measured_us - explained_us,
        unpriced,
        priced_with: backend.to_string(),
    })
}

/// Explains every side of every scenario in `counts`.
pub fn explain_all(
    counts: &[OpCounts],
    est: &BTreeMap<String, Estimate>,
    dir: &Path,
    backend: &str,
) -> Result<Vec<Explanation>> {
    let mut out = Vec::new();
    for c in counts {
        let scenario = Scenario::from_label(&c.scenario)?;
        for side in Side::ALL {
            out.push(explain(scenario, *side, c, est, dir, backend)?);
        }
    }
    Ok(out)
}
