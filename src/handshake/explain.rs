//! How much of a measured handshake side its measured parts explain.
//!
//! For one scenario and side: every counted operation ([`super::count`], with OpenSSL's counts
//! measured by callgrind after `make anatomy`) times the measured median of the bench that
//! prices one of it, against the measured median of the handshake side (`handshake/...`).
//! The parts and their prices:
//!
//! | part | count | price (openssl stack / rustls stack) |
//! |---|---|---|
//! | connection object | 1 | `conn/<stack>/<side>/new` |
//! | RSA private sign, private decrypt, public encrypt | RSA calls | `rsa/<backend>/<op>/2048` / `rsa/ring/sign/2048` |
//! | handshake signature checks | public-key verifications outside chains | `rsa/<backend>/verify/2048` / `rsa/ring/verify/2048` |
//! | certificate parse | leaf certificates parsed | `x509/openssl/parse/rsa-2048` / `x509/webpki/parse/rsa-2048` |
//! | chain verification | chains verified (its signature check included) | `x509/<openssl\|webpki>/verify-chain/rsa-2048` |
//! | key share, shared secret | key generations, derivations (X25519, both stacks' default) | `kx/<openssl\|ring>/x25519/<keygen\|derive>` |
//! | PRF / HKDF | KDF calls | `kdf/<openssl\|ring>/tls12-prf/master-secret`, `.../tls13-hkdf/expand-label` |
//! | transcript hash | digest outputs, and the handshake's bytes once | `transcript/<openssl\|ring>/sha256/{64,4096}` |
//! | record seal, open | records and their size | `record/<backend>/<suite>/<op>/<size>` |
//!
//! What the parts do not cover is the residual: the TLS library itself (state machine, message
//! parsing and building), OpenSSL 3's provider plumbing (algorithm fetches, property queries)
//! and allocation. Where a callgrind profile of the side exists, the residual is named by it:
//! the shares of the side's instructions in the parts no bench prices.
//!
//! Nothing here fails because a bench was not run: a part without a price goes to the residual
//! and into the list of what is missing, with the command that measures it; a side whose
//! handshake was not measured is listed as missing.

use super::anatomy::{AnatomyFile, SideProfile};
use super::count::OpCounts;
use super::{Group, Protocol, Scenario, Side, Stack};
use crate::names::Dimension;
use crate::results::criterion::Estimate;
use crate::Result;
use serde::Serialize;
use std::collections::BTreeMap;

/// RSA modulus size of the fixtures' server and client keys.
pub const RSA_BITS: u32 = 2048;
/// The key-exchange group both stacks negotiate here (their first default group).
pub const GROUP: &str = "x25519";

/// One priced part of a handshake side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Part {
    /// What was counted (e.g. "RSA private sign").
    pub what: String,
    /// How many, in one handshake on this side.
    pub count: f64,
    /// The bench that prices one of them.
    pub bench: String,
    /// Its measured median (µs).
    pub unit_us: f64,
    /// `count × unit_us` (µs).
    pub total_us: f64,
    /// `total_us / measured_us`: the part's share of the side (the shares and the residual's
    /// make 1).
    pub share: f64,
}

/// What a missing measurement is and the command that takes it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Missing {
    /// The bench (or file) that is missing.
    pub what: String,
    /// The command that measures it.
    pub run: String,
}

/// The explanation of one handshake side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// The handshake benchmark, `handshake/<stack>/<protocol>/<kind>/<side>`.
    pub bench: String,
    /// Its measured median (µs).
    pub measured_us: f64,
    /// The priced parts.
    pub parts: Vec<Part>,
    /// Sum of the parts (µs).
    pub explained_us: f64,
    /// `explained_us / measured_us`.
    pub fraction: f64,
    /// The share of the side's instructions inside the priced operations (callgrind, after
    /// `make anatomy`): the same question answered without timing noise.
    pub fraction_instructions: Option<f64>,
    /// `measured_us - explained_us` (µs).
    pub residual_us: f64,
    /// What the residual is, largest first: from the side's callgrind profile (share of the
    /// side's instructions in the parts no bench prices), else a description.
    pub residual: Vec<String>,
    /// Counted parts left in the residual because their price was not measured.
    pub unpriced: Vec<String>,
    /// The backend whose RSA and record benches priced those parts (the other parts are
    /// priced on the stack's own implementation).
    pub priced_with: String,
}

/// Explanations of every side that was measured, and what is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One per measured handshake side.
    pub explanations: Vec<Explanation>,
    /// Missing measurements, each once, with the command that takes it.
    pub missing: Vec<Missing>,
}

/// The command that measures a bench.
pub fn command_for(bench: &str) -> String {
    let target = match bench.split('/').next().unwrap_or("") {
        "handshake" => "handshakes",
        "rsa" if bench.starts_with("rsa/ring/") => "parts",
        "rsa" | "record" | "cipher" | "mac" => "primitives",
        _ => "parts",
    };
    format!("make anatomy (or: cargo bench --bench {target} -- '{bench}')")
}

/// The record bench that prices a record of `bytes` ciphertext bytes: the smallest measured
/// size of the sweep at least that large (or the largest).
fn record_bench(
    est: &BTreeMap<String, Estimate>,
    backend: &str,
    suite: &str,
    op: &str,
    bytes: f64,
) -> std::result::Result<(String, f64), String> {
    let prefix = format!("record/{backend}/{suite}/{op}/");
    let mut sizes: Vec<(f64, &Estimate)> = est
        .iter()
        .filter_map(|(k, e)| {
            k.strip_prefix(&prefix)
                .and_then(|p| p.parse::<f64>().ok())
                .map(|n| (n, e))
        })
        .collect();
    sizes.sort_by(|a, b| a.0.total_cmp(&b.0));
    sizes
        .iter()
        .find(|(n, _)| *n >= bytes)
        .or(sizes.last())
        .map(|(_, e)| (e.id.clone(), e.median_us()))
        .ok_or_else(|| format!("{prefix}64"))
}

/// Builds the parts of one side, noting what has no price.
struct Pricer<'a> {
    est: &'a BTreeMap<String, Estimate>,
    measured_us: f64,
    parts: Vec<Part>,
    unpriced: Vec<String>,
    missing: Vec<Missing>,
}

impl Pricer<'_> {
    fn add(&mut self, what: &str, count: f64, bench: &str) {
        if count <= 0.0 {
            return;
        }
        match self.est.get(bench) {
            Some(e) => self.push(what, count, bench.to_string(), e.median_us()),
            None => self.unpriced(what, count, bench),
        }
    }

    fn push(&mut self, what: &str, count: f64, bench: String, unit_us: f64) {
        let total_us = count * unit_us;
        self.parts.push(Part {
            what: what.to_string(),
            count,
            bench,
            unit_us,
            total_us,
            share: if self.measured_us > 0.0 {
                total_us / self.measured_us
            } else {
                0.0
            },
        });
    }

    fn unpriced(&mut self, what: &str, count: f64, bench: &str) {
        self.unpriced.push(format!("{count}× {what} (no {bench})"));
        self.missing.push(Missing {
            what: bench.to_string(),
            run: command_for(bench),
        });
    }
}

/// Explains one side of one scenario with the estimates in `est`, pricing RSA and records with
/// `backend`'s benches (openssl stack) and everything else on the stack's own implementation.
/// `profile` names the residual when given. Returns the explanation, or `None` when the
/// handshake side was not measured, and what is missing either way.
pub fn explain(
    scenario: Scenario,
    side: Side,
    counts: &OpCounts,
    est: &BTreeMap<String, Estimate>,
    backend: &str,
    profile: Option<&SideProfile>,
) -> (Option<Explanation>, Vec<Missing>) {
    let id = scenario.id(side).full();
    let Some(measured) = est.get(&id) else {
        return (
            None,
            vec![Missing {
                run: command_for(&id),
                what: id,
            }],
        );
    };
    let measured_us = measured.median_us();
    let c = counts.side(side);
    let mut p = Pricer {
        est,
        measured_us,
        parts: Vec::new(),
        unpriced: Vec::new(),
        missing: Vec::new(),
    };
    let openssl = scenario.stack == Stack::Openssl;
    let tls13 = scenario.protocol == Protocol::Tls13Aes128Gcm;
    let (x509, kx, kdf, hash, rsa) = if openssl {
        ("openssl", "openssl", "openssl", "openssl", backend)
    } else {
        ("webpki", "ring", "ring", "ring", "ring")
    };
    let rsa_bench = |op: &str| format!("rsa/{rsa}/{op}/{RSA_BITS}");
    let chains = c.chain_verifications.unwrap_or(0);
    let signed_chains = c.chain_signatures.unwrap_or(chains).min(chains);
    p.add(
        "connection object",
        1.0,
        &format!("conn/{}/{}/new", scenario.stack.label(), side.label()),
    );
    // The rsa/, x509/ benches price RSA-2048 certificates: an ECDSA scenario's signatures,
    // parses and chains stay unpriced (named), not priced as RSA.
    let ecdsa = scenario.cert_type() == super::Cert::EcdsaP256;
    let chain_bench = format!("x509/{x509}/verify-chain/rsa-2048");
    let chains = if ecdsa { 0 } else { chains };
    let signed_chains = signed_chains.min(chains);
    if ecdsa {
        for (what, n) in [
            ("ECDSA P-256 sign", c.private_sign),
            ("ECDSA P-256 verify", c.public_verify),
            ("certificate parse (ECDSA)", c.cert_parses.unwrap_or(0)),
            (
                "chain verification (ECDSA)",
                c.chain_verifications.unwrap_or(0),
            ),
        ] {
            if n > 0 {
                p.unpriced.push(format!(
                    "{n}× {what} (no ECDSA bench: the parts price RSA-2048 certificates)"
                ));
            }
        }
    } else {
        p.add(
            "RSA private sign",
            c.private_sign as f64,
            &rsa_bench("sign"),
        );
        p.add(
            "RSA private decrypt",
            c.private_decrypt as f64,
            &rsa_bench("decrypt"),
        );
        p.add(
            "RSA public encrypt",
            c.public_encrypt as f64,
            &rsa_bench("encrypt"),
        );
        p.add("chain verification", signed_chains as f64, &chain_bench);
    }
    // An OpenSSL server runs the verifier on its own certificate to build the chain it sends,
    // without a trusted issuer: no signature is checked. Priced as a chain verification less
    // its signature check.
    let unsigned = chains - signed_chains;
    if unsigned > 0 {
        match (p.est.get(&chain_bench), p.est.get(&rsa_bench("verify"))) {
            (Some(ch), Some(v)) => p.push(
                "chain build (own certificate, no signature)",
                unsigned as f64,
                format!("{chain_bench} - {}", rsa_bench("verify")),
                (ch.median_us() - v.median_us()).max(0.0),
            ),
            _ => p.unpriced(
                "chain build (own certificate)",
                unsigned as f64,
                &chain_bench,
            ),
        }
    }
    if !ecdsa {
        // The chain bench checks the leaf's signature: the checks inside chains are in it already.
        p.add(
            "handshake signature check",
            c.public_verify.saturating_sub(signed_chains) as f64,
            &rsa_bench("verify"),
        );
        p.add(
            "certificate parse",
            c.cert_parses.unwrap_or(0) as f64,
            &format!("x509/{x509}/parse/rsa-2048"),
        );
    }
    // The hybrid is two key exchanges in one share: X25519 and ML-KEM-768, each priced.
    let kx_groups: &[&str] = match scenario.group {
        Some(Group::P256) => &["p256"],
        Some(Group::X25519Mlkem768) => &["x25519", "mlkem768"],
        _ => &[GROUP],
    };
    for g in kx_groups {
        p.add(
            "key share",
            c.key_shares.unwrap_or(c.key_exchanges) as f64,
            &format!("kx/{kx}/{g}/keygen"),
        );
        p.add(
            "shared secret",
            c.key_exchanges as f64,
            &format!("kx/{kx}/{g}/derive"),
        );
    }
    let kdf_bench = if tls13 {
        format!("kdf/{kdf}/tls13-hkdf/expand-label")
    } else {
        format!("kdf/{kdf}/tls12-prf/master-secret")
    };
    p.add(
        if tls13 { "HKDF call" } else { "PRF call" },
        c.kdf_calls.unwrap_or(0) as f64,
        &kdf_bench,
    );
    transcript(&mut p, hash, c.hash_outputs, handshake_bytes(c));
    let suite = scenario.protocol.record_suite();
    let record_backend = backend;
    for (what, n, bytes, op) in [
        ("record seal", c.records_sealed, c.sealed_bytes, "seal"),
        ("record open", c.records_opened, c.opened_bytes, "open"),
    ] {
        if n == 0 {
            continue;
        }
        match record_bench(est, record_backend, suite, op, bytes as f64 / n as f64) {
            Ok((bench, unit)) => p.push(what, n as f64, bench, unit),
            Err(bench) => p.unpriced(what, n as f64, &bench),
        }
    }
    let explained_us: f64 = p.parts.iter().map(|x| x.total_us).sum::<f64>() + 0.0;
    let residual = match profile {
        Some(prof) => named_residual(prof),
        None => vec![
            "TLS library (state machine, messages), provider plumbing, allocation: \
             `make anatomy` names them from a callgrind profile"
                .to_string(),
        ],
    };
    let ex = Explanation {
        bench: id,
        measured_us,
        fraction: if measured_us > 0.0 {
            explained_us / measured_us
        } else {
            0.0
        },
        residual_us: measured_us - explained_us,
        fraction_instructions: profile
            .filter(|x| x.total_ir > 0)
            .map(|x| x.priced_ir / x.total_ir as f64),
        parts: p.parts,
        explained_us,
        residual,
        unpriced: p.unpriced,
        priced_with: if openssl {
            backend.to_string()
        } else {
            "ring, webpki (rustls's own)".to_string()
        },
    };
    (Some(ex), p.missing)
}

/// Bytes of handshake messages a side hashes: what it sent and received on the wire.
fn handshake_bytes(c: &super::count::SideCounts) -> f64 {
    (c.wire_bytes_sent + c.wire_bytes_received) as f64
}

/// The transcript hash: every output at the price of a 64-byte hash, plus the bytes hashed
/// once at the per-byte price between the 64- and 4096-byte benches.
fn transcript(p: &mut Pricer<'_>, hash: &str, outputs: Option<u64>, bytes: f64) {
    let Some(outputs) = outputs.filter(|n| *n > 0) else {
        return;
    };
    let small = format!("transcript/{hash}/sha256/64");
    let large = format!("transcript/{hash}/sha256/4096");
    match (p.est.get(&small), p.est.get(&large)) {
        (Some(s), Some(l)) => {
            let per_byte = ((l.median_us() - s.median_us()) / (4096.0 - 64.0)).max(0.0);
            p.push(
                "transcript hash output",
                outputs as f64,
                small.clone(),
                s.median_us(),
            );
            p.push(
                "transcript bytes hashed",
                bytes,
                format!("{large} (per byte)"),
                per_byte,
            );
        }
        _ => p.unpriced("transcript hash output", outputs as f64, &small),
    }
}

/// Profile parts no bench prices, with their share of the side's instructions, largest first.
fn named_residual(prof: &SideProfile) -> Vec<String> {
    let priced: Vec<&str> = super::anatomy::PRICED_PARTS
        .iter()
        .map(|p| p.label())
        .collect();
    let total: f64 = prof.by_part.values().sum::<f64>().max(1.0);
    let mut rest: Vec<(&String, f64)> = prof
        .by_part
        .iter()
        .filter(|(k, _)| !priced.contains(&k.as_str()))
        .map(|(k, v)| (k, *v / total))
        .filter(|(_, v)| *v >= 0.005)
        .collect();
    rest.sort_by(|a, b| b.1.total_cmp(&a.1));
    rest.into_iter()
        .map(|(k, v)| format!("{k} {:.0}%", 100.0 * v))
        .collect()
}

/// Explains every side of every scenario in `counts` that was measured; lists what is missing.
pub fn explain_all(
    counts: &[OpCounts],
    est: &BTreeMap<String, Estimate>,
    backend: &str,
    anatomy: Option<&AnatomyFile>,
) -> Result<Report> {
    let mut report = Report::default();
    let mut missing = std::collections::BTreeSet::new();
    for c in counts {
        let scenario = Scenario::from_label(&c.scenario)?;
        for side in Side::ALL {
            let bench = scenario.id(*side).full();
            let profile = anatomy.and_then(|a| a.side(&bench));
            let (ex, miss) = explain(scenario, *side, c, est, backend, profile);
            report.explanations.extend(ex);
            missing.extend(miss);
        }
    }
    if anatomy.is_none() {
        missing.insert(Missing {
            what: super::anatomy::DEFAULT_PATH.to_string(),
            run: "make anatomy (or: tlscost anatomy): callgrind counts of OpenSSL's operations and the profiles that name each residual".into(),
        });
    }
    report.missing = missing.into_iter().collect();
    Ok(report)
}

/// The measured handshake beside the sum of its priced parts, for the model: the explanation of
/// `bench` (`handshake/<stack>/<protocol>/<kind>/<side>`) from counts measured now on `pki` (with
/// the callgrind counts of [`super::anatomy::default_path`] when present), or `None` when the
/// handshake side was not measured.
pub fn reconstruct(
    bench: &str,
    est: &BTreeMap<String, Estimate>,
    pki: &super::Pki,
    backend: &str,
) -> Result<Option<Explanation>> {
    let (scenario, side) = super::anatomy::parse_bench(bench)?;
    if !est.contains_key(bench) || scenario.available().is_err() {
        return Ok(None);
    }
    let anatomy = AnatomyFile::load(&super::anatomy::default_path())?;
    let counts = super::count::measure_with(scenario, pki, anatomy.as_ref())?;
    let profile = anatomy.as_ref().and_then(|a| a.side(bench));
    Ok(explain(scenario, side, &counts, est, backend, profile).0)
}
