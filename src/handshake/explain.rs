//! How much of a measured handshake side its measured parts explain.
//!
//! For one scenario and side: every counted operation ([`super::count`], with OpenSSL's counts
//! measured by callgrind after `make anatomy`) times the measured median of the bench that
//! prices one of it, against the measured median of the handshake side (`handshake/...`).
//! Each stack's parts are priced on its own implementation ([`Pricing::of`]): `<impl>` below is
//! openssl on the openssl stack, ring on rustls, awslc (aws-lc-rs) on rustls-awslc; X.509 is
//! webpki on both rustls stacks; `<cert>` is the scenario's certificate type (`rsa-2048` or
//! `ecdsa-p256`). The parts and their prices:
//!
//! | part | count | price |
//! |---|---|---|
//! | connection object | 1 | `conn/<stack>/<side>/new` |
//! | RSA private sign, private decrypt, public encrypt | RSA calls (RSA certificates) | `rsa/<impl>/<op>/2048` (openssl stack: `rsa/<--price-backend>/...`) |
//! | ECDSA P-256 private sign | signatures (ECDSA certificates) | `ecdsa/<impl>/sign/p256` |
//! | handshake signature checks | public-key verifications outside chains | `rsa/<impl>/verify/2048` or `ecdsa/<impl>/verify/p256` |
//! | certificate parse | leaf certificates parsed | `x509/<openssl\|webpki>/parse/<cert>` |
//! | chain verification | chains verified (its signature check included, so not counted again above) | `x509/<openssl\|webpki>/verify-chain/<cert>` |
//! | chain build (OpenSSL server, own certificate) | chains built without a signature check | `verify-chain/<cert>` less one verify of `<cert>`'s type |
//! | key share, shared secret | key generations, derivations (the scenario's group) | `kx/<impl>/<x25519\|p256>/<keygen\|derive>`; the X25519MLKEM768 hybrid adds `kx/<impl>/mlkem768/<keygen\|decapsulate>` (client) or `.../encapsulate` (server) |
//! | PRF / HKDF | KDF calls | `kdf/<impl>/tls12-prf/master-secret`, `.../tls13-hkdf/expand-label` |
//! | transcript hash | digest outputs, and the handshake's bytes once | `transcript/<impl>/sha256/{64,4096}` |
//! | session ticket seal, open | stateless tickets a rustls server encrypted, decrypted | `ticket/<stack>/<seal\|open>` (none on openssl: [`super::parts::NO_OPENSSL_TICKET`]) |
//! | record seal, open | records and their size | `record/<backend>/<suite>/<op>/<size>` (awslc on rustls-awslc, else `--price-backend`) |
//!
//! What the parts do not cover is the residual: the TLS library itself (state machine, message
//! parsing and building, the session cache), OpenSSL 3's provider plumbing (algorithm fetches,
//! property queries) and allocation. Where a callgrind profile of the side exists, the residual
//! is named by it: the shares of the side's instructions in the parts no bench prices, each with
//! its costliest functions.
//!
//! Each side gets a [`Verdict`] against the done condition: explained when at least
//! [`EXPLAINED`] of it is inside priced parts (by instructions where a profile exists, by time
//! otherwise), a named residual when below with a profile, neither when below without one.
//!
//! Nothing here fails because a bench was not run: a part without a price goes to the residual
//! and into the list of what is missing, with the command that measures it; a side whose
//! handshake was not measured is listed as missing.

use super::anatomy::{AnatomyFile, SideProfile};
use super::count::OpCounts;
use super::{Cert, Group, Protocol, Scenario, Side, Stack};
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
    /// Which implementation's benches priced which parts ([`Pricing::describe`]).
    pub priced_with: String,
    /// Whether the side meets the done condition: explained, or its residual named.
    pub verdict: Verdict,
}

/// The share of a side its priced parts must explain for the side to count as explained.
pub const EXPLAINED: f64 = 0.90;

/// How a side stands against the done condition: at least [`EXPLAINED`] of it inside priced
/// parts (by instructions where a callgrind profile exists, else by time), or, below that, a
/// residual named by the profile; a side with neither is listed as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// At least [`EXPLAINED`] inside priced parts.
    Explained,
    /// Below, with the profile's parts that make up the rest named.
    NamedResidual,
    /// Below, and no profile names the rest (`make anatomy` takes one).
    Unexplained,
}

impl Verdict {
    /// The verdict of a side explained to `fraction` by time and `fraction_instructions` by
    /// instructions (`None`: no profile).
    pub fn of(fraction: f64, fraction_instructions: Option<f64>) -> Verdict {
        match fraction_instructions {
            Some(f) if f >= EXPLAINED => Verdict::Explained,
            Some(_) => Verdict::NamedResidual,
            None if fraction >= EXPLAINED => Verdict::Explained,
            None => Verdict::Unexplained,
        }
    }

    /// Label, as in tables and JSON.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Explained => "explained",
            Verdict::NamedResidual => "named residual",
            Verdict::Unexplained => "neither",
        }
    }
}

/// How many sides have each verdict.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Sides explained to at least [`EXPLAINED`].
    pub explained: usize,
    /// Sides below it with a residual named by their profile.
    pub named_residual: usize,
    /// Sides below it without a profile.
    pub unexplained: usize,
}

impl Summary {
    /// The counts of `explanations`' verdicts.
    pub fn of(explanations: &[Explanation]) -> Summary {
        let mut s = Summary::default();
        for e in explanations {
            match e.verdict {
                Verdict::Explained => s.explained += 1,
                Verdict::NamedResidual => s.named_residual += 1,
                Verdict::Unexplained => s.unexplained += 1,
            }
        }
        s
    }

    /// Whether every side meets the done condition (explained or its residual named).
    pub fn done(&self) -> bool {
        self.unexplained == 0
    }
}

/// Explanations of every side that was measured, and what is missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// One per measured handshake side.
    pub explanations: Vec<Explanation>,
    /// Missing measurements, each once, with the command that takes it.
    pub missing: Vec<Missing>,
    /// The verdicts counted.
    pub summary: Summary,
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

/// Whose benches price each kind of part on one stack: the stack's own implementation, except
/// OpenSSL's RSA and records (`--price-backend`) and rustls-on-ring's records (ring has no
/// record bench).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pricing {
    /// Label of the `conn/` and `ticket/` benches (the stack).
    pub stack: &'static str,
    /// `x509/<this>/...`: openssl, or webpki (rustls, on either provider).
    pub x509: &'static str,
    /// `rsa/<this>/...`.
    pub rsa: String,
    /// `ecdsa/<this>/...`.
    pub ecdsa: &'static str,
    /// `kx/<this>/...`, `kdf/<this>/...`, `transcript/<this>/...`.
    pub provider: &'static str,
    /// `record/<this>/...`.
    pub records: String,
}

impl Pricing {
    /// The pricing of `stack`, with `backend` for what the stack's own implementation has no
    /// bench of (OpenSSL's RSA and records are priced on `backend`, `openssl` by default).
    pub fn of(stack: Stack, backend: &str) -> Pricing {
        match stack {
            Stack::Openssl => Pricing {
                stack: "openssl",
                x509: "openssl",
                rsa: backend.to_string(),
                ecdsa: "openssl",
                provider: "openssl",
                records: backend.to_string(),
            },
            Stack::Rustls => Pricing {
                stack: "rustls",
                x509: "webpki",
                rsa: "ring".into(),
                ecdsa: "ring",
                provider: "ring",
                records: backend.to_string(),
            },
            Stack::RustlsAwslc => Pricing {
                stack: "rustls-awslc",
                x509: "webpki",
                rsa: "awslc".into(),
                ecdsa: "awslc",
                provider: "awslc",
                records: "awslc".into(),
            },
        }
    }

    /// One line saying which implementation priced what.
    pub fn describe(&self) -> String {
        if self.stack == "openssl" {
            return format!(
                "openssl (X.509, ECDSA, kx, KDF, transcript, connection); RSA and records on {}",
                self.rsa
            );
        }
        let records = if self.records == self.provider {
            ", records".to_string()
        } else {
            String::new()
        };
        let mut s = format!(
            "{} (RSA, ECDSA, kx, KDF, transcript{records}), webpki (X.509), {} (connection, tickets)",
            self.provider, self.stack
        );
        if self.records != self.provider {
            s.push_str(&format!(
                ", {} (records: {} has no record bench)",
                self.records, self.provider
            ));
        }
        s
    }
}

/// Explains one side of one scenario with the estimates in `est`, each part priced on the
/// stack's own implementation ([`Pricing::of`]: OpenSSL's RSA and records on `backend`).
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
    let pr = Pricing::of(scenario.stack, backend);
    let tls13 = scenario.protocol == Protocol::Tls13Aes128Gcm;
    p.add(
        "connection object",
        1.0,
        &format!("conn/{}/{}/new", pr.stack, side.label()),
    );
    // Signatures, certificates and chains of the scenario's certificate type (a mutual
    // client's certificate is of the same type as the server's).
    let cert = scenario.cert_type();
    let (sig_name, sign_bench, verify_bench) = match cert {
        Cert::Rsa2048 => (
            "RSA",
            format!("rsa/{}/sign/{RSA_BITS}", pr.rsa),
            format!("rsa/{}/verify/{RSA_BITS}", pr.rsa),
        ),
        Cert::EcdsaP256 => (
            "ECDSA P-256",
            format!("ecdsa/{}/sign/{}", pr.ecdsa, crate::crypto::ecdsa::CURVE),
            format!("ecdsa/{}/verify/{}", pr.ecdsa, crate::crypto::ecdsa::CURVE),
        ),
    };
    let x509 = super::parts::x509_param(cert);
    let chains = c.chain_verifications.unwrap_or(0);
    let signed_chains = c.chain_signatures.unwrap_or(chains).min(chains);
    let chain_bench = format!("x509/{}/verify-chain/{x509}", pr.x509);
    p.add(
        &format!("{sig_name} private sign"),
        c.private_sign as f64,
        &sign_bench,
    );
    p.add(
        "RSA private decrypt",
        c.private_decrypt as f64,
        &format!("rsa/{}/decrypt/{RSA_BITS}", pr.rsa),
    );
    p.add(
        "RSA public encrypt",
        c.public_encrypt as f64,
        &format!("rsa/{}/encrypt/{RSA_BITS}", pr.rsa),
    );
    p.add("chain verification", signed_chains as f64, &chain_bench);
    // An OpenSSL server runs the verifier on its own certificate to build the chain it sends,
    // without a trusted issuer: no signature is checked. Priced as a chain verification less
    // its signature check.
    let unsigned = chains - signed_chains;
    if unsigned > 0 {
        match (p.est.get(&chain_bench), p.est.get(&verify_bench)) {
            (Some(ch), Some(v)) => p.push(
                "chain build (own certificate, no signature)",
                unsigned as f64,
                format!("{chain_bench} - {verify_bench}"),
                (ch.median_us() - v.median_us()).max(0.0),
            ),
            _ => p.unpriced(
                "chain build (own certificate)",
                unsigned as f64,
                &chain_bench,
            ),
        }
    }
    // The chain bench checks the leaf's signature: the checks inside chains are in it already.
    p.add(
        "handshake signature check",
        c.public_verify.saturating_sub(signed_chains) as f64,
        &verify_bench,
    );
    p.add(
        "certificate parse",
        c.cert_parses.unwrap_or(0) as f64,
        &format!("x509/{}/parse/{x509}", pr.x509),
    );
    key_exchange(&mut p, scenario, side, c, pr.provider);
    let kdf_bench = if tls13 {
        format!("kdf/{}/tls13-hkdf/expand-label", pr.provider)
    } else {
        format!("kdf/{}/tls12-prf/master-secret", pr.provider)
    };
    p.add(
        if tls13 { "HKDF call" } else { "PRF call" },
        c.kdf_calls.unwrap_or(0) as f64,
        &kdf_bench,
    );
    transcript(&mut p, pr.provider, c.hash_outputs, handshake_bytes(c));
    p.add(
        "session ticket sealed",
        c.tickets_sealed.unwrap_or(0) as f64,
        &format!("ticket/{}/seal", pr.stack),
    );
    p.add(
        "session ticket opened",
        c.tickets_opened.unwrap_or(0) as f64,
        &format!("ticket/{}/open", pr.stack),
    );
    let suite = scenario.protocol.record_suite();
    for (what, n, bytes, op) in [
        ("record seal", c.records_sealed, c.sealed_bytes, "seal"),
        ("record open", c.records_opened, c.opened_bytes, "open"),
    ] {
        if n == 0 {
            continue;
        }
        match record_bench(est, &pr.records, suite, op, bytes as f64 / n as f64) {
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
    let fraction = if measured_us > 0.0 {
        explained_us / measured_us
    } else {
        0.0
    };
    let fraction_instructions = profile
        .filter(|x| x.total_ir > 0)
        .map(|x| x.priced_ir / x.total_ir as f64);
    let ex = Explanation {
        bench: id,
        measured_us,
        fraction,
        residual_us: measured_us - explained_us,
        fraction_instructions,
        verdict: Verdict::of(fraction, fraction_instructions),
        parts: p.parts,
        explained_us,
        residual,
        unpriced: p.unpriced,
        priced_with: pr.describe(),
    };
    (Some(ex), p.missing)
}

/// The key exchange of one side: each group of the scenario's share priced on `provider`'s
/// `kx` benches. The X25519MLKEM768 hybrid is two exchanges in one share: X25519 on both sides,
/// and ML-KEM-768, whose client generates the key and decapsulates and whose server only
/// encapsulates.
fn key_exchange(
    p: &mut Pricer<'_>,
    scenario: Scenario,
    side: Side,
    c: &super::count::SideCounts,
    provider: &str,
) {
    let shares = c.key_shares.unwrap_or(c.key_exchanges) as f64;
    let exchanges = c.key_exchanges as f64;
    let ecdh = match scenario.group {
        Some(Group::P256) => "p256",
        _ => GROUP,
    };
    p.add("key share", shares, &format!("kx/{provider}/{ecdh}/keygen"));
    p.add(
        "shared secret",
        exchanges,
        &format!("kx/{provider}/{ecdh}/derive"),
    );
    if scenario.group != Some(Group::X25519Mlkem768) {
        return;
    }
    let kem = |op: &str| format!("kx/{provider}/mlkem768/{op}");
    match side {
        Side::Client => {
            p.add("ML-KEM-768 key share", shares, &kem("keygen"));
            p.add("ML-KEM-768 decapsulation", exchanges, &kem("decapsulate"));
        }
        Side::Server => p.add("ML-KEM-768 encapsulation", exchanges, &kem("encapsulate")),
    }
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

/// What the residual of a side is made of: the profile's residual parts
/// ([`SideProfile::residual_by_part`]: on OpenSSL the instructions outside every priced call,
/// elsewhere the parts no bench prices) as shares of the side's instructions, largest first,
/// each with its costliest functions.
pub fn named_residual(prof: &SideProfile) -> Vec<String> {
    let all: f64 = (prof.total_ir as f64)
        .max(prof.by_part.values().sum::<f64>())
        .max(1.0);
    let mut rest: Vec<(&String, f64)> = prof
        .residual_by_part
        .iter()
        .map(|(k, v)| (k, *v / all))
        .filter(|(_, v)| *v >= 0.005)
        .collect();
    rest.sort_by(|a, b| b.1.total_cmp(&a.1));
    rest.into_iter()
        .map(|(k, v)| {
            let top: Vec<String> = prof
                .residual_top
                .iter()
                .filter(|f| &f.part == k && f.ir / all >= 0.01)
                .take(3)
                .map(|f| format!("{} {:.0}%", short_name(&f.name), 100.0 * f.ir / all))
                .collect();
            if top.is_empty() {
                format!("{k} {:.0}%", 100.0 * v)
            } else {
                format!("{k} {:.0}% ({})", 100.0 * v, top.join(", "))
            }
        })
        .collect()
}

/// A function name without its ELF version, crate symbol prefix, generic arguments and hash
/// (`ossl_namemap_name2num`, `rustls::server::hs::ExpectClientHello::handle`).
fn short_name(name: &str) -> String {
    let base = crate::profile::normalize(crate::profile::callgrind::base_name(name));
    // A trait impl (`<T as Trait>::f`) stays whole; a path loses its generic arguments.
    let base = if base.starts_with('<') {
        base
    } else {
        base.split('<').next().unwrap_or(base)
    };
    match base.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            head.to_string()
        }
        _ => base.trim_end_matches("::").to_string(),
    }
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
    report.summary = Summary::of(&report.explanations);
    Ok(report)
}

/// The measured handshake beside the sum of its priced parts, for the model: the explanation of
/// `bench` (`handshake/<stack>/<protocol>/<kind>/<side>`) from counts measured now on `pki` (with
/// the callgrind counts and profile of `anatomy`, `tlscost anatomy`'s file, when given), or
/// `None` when the handshake side was not measured.
pub fn reconstruct(
    bench: &str,
    est: &BTreeMap<String, Estimate>,
    pki: &super::Pki,
    backend: &str,
    anatomy: Option<&AnatomyFile>,
) -> Result<Option<Explanation>> {
    let (scenario, side) = super::anatomy::parse_bench(bench)?;
    if !est.contains_key(bench) || scenario.available().is_err() {
        return Ok(None);
    }
    let counts = super::count::measure_with(scenario, pki, anatomy)?;
    let profile = anatomy.and_then(|a| a.side(bench));
    Ok(explain(scenario, side, &counts, est, backend, profile).0)
}

#[cfg(test)]
mod tests {
    use super::super::anatomy::TopFunction;
    use super::super::count::{How, SideCounts};
    use super::super::Kind;
    use super::*;

    fn est(entries: &[(&str, f64)]) -> BTreeMap<String, Estimate> {
        entries
            .iter()
            .map(|(id, us)| (id.to_string(), Estimate::exact(id, *us, 10)))
            .collect()
    }

    fn counts(s: Scenario, client: SideCounts, server: SideCounts) -> OpCounts {
        OpCounts {
            scenario: s.label(),
            client,
            server,
            pk_counts: How::Observed,
            record_counts: How::Observed,
            x509_counts: How::Inferred,
            method: "synthetic",
        }
    }

    /// A full handshake's counts: the server signs once; the client checks the server's chain
    /// (one signature inside it) and its handshake signature, parsing the leaf once.
    fn full_counts(s: Scenario) -> OpCounts {
        let client = SideCounts {
            public_verify: 2,
            chain_verifications: Some(1),
            chain_signatures: Some(1),
            cert_parses: Some(1),
            key_exchanges: 1,
            key_shares: Some(1),
            kdf_calls: Some(10),
            hash_outputs: Some(4),
            ..SideCounts::default()
        };
        let server = SideCounts {
            private_sign: 1,
            chain_verifications: Some(1),
            chain_signatures: Some(0),
            cert_parses: Some(0),
            key_exchanges: 1,
            key_shares: Some(1),
            kdf_calls: Some(10),
            hash_outputs: Some(4),
            tickets_sealed: Some(2),
            ..SideCounts::default()
        };
        counts(s, client, server)
    }

    /// Every bench of every implementation, each at its own price; RSA at prices no ECDSA
    /// part may be given.
    fn all_benches(s: Scenario) -> BTreeMap<String, Estimate> {
        let mut v: Vec<(String, f64)> = Vec::new();
        for side in Side::ALL {
            v.push((s.id(*side).full(), 1000.0));
        }
        for (i, imp) in ["openssl", "ring", "awslc"].into_iter().enumerate() {
            let k = 1.0 + i as f64; // a price per implementation
            for op in ["sign", "verify", "decrypt", "encrypt"] {
                v.push((format!("rsa/{imp}/{op}/2048"), 500.0 * k));
            }
            v.push((format!("ecdsa/{imp}/sign/p256"), 30.0 * k));
            v.push((format!("ecdsa/{imp}/verify/p256"), 60.0 * k));
            for g in ["x25519", "p256", "mlkem768"] {
                for op in ["keygen", "derive", "encapsulate", "decapsulate"] {
                    v.push((format!("kx/{imp}/{g}/{op}"), 10.0 * k));
                }
            }
            v.push((format!("kdf/{imp}/tls13-hkdf/expand-label"), 1.0 * k));
            v.push((format!("kdf/{imp}/tls12-prf/master-secret"), 2.0 * k));
            v.push((format!("transcript/{imp}/sha256/64"), 0.5 * k));
            v.push((format!("transcript/{imp}/sha256/4096"), 4.5 * k));
            for op in ["seal", "open"] {
                v.push((format!("record/{imp}/aes128-gcm/{op}/64"), 0.2 * k));
            }
        }
        for imp in ["openssl", "webpki"] {
            for cert in ["rsa-2048", "ecdsa-p256"] {
                v.push((format!("x509/{imp}/parse/{cert}"), 20.0));
                v.push((format!("x509/{imp}/verify-chain/{cert}"), 100.0));
            }
        }
        for stack in ["openssl", "rustls", "rustls-awslc"] {
            for side in ["client", "server"] {
                v.push((format!("conn/{stack}/{side}/new"), 3.0));
            }
            for op in ["seal", "open"] {
                v.push((format!("ticket/{stack}/{op}"), 1.5));
            }
        }
        let v: Vec<(&str, f64)> = v.iter().map(|(k, x)| (k.as_str(), *x)).collect();
        est(&v)
    }

    fn part<'a>(e: &'a Explanation, what: &str) -> &'a Part {
        e.parts
            .iter()
            .find(|p| p.what == what)
            .unwrap_or_else(|| panic!("no '{what}' in {:?}", e.parts))
    }

    fn explained(s: Scenario, side: Side, c: &OpCounts) -> Explanation {
        let e = all_benches(s);
        let (ex, missing) = explain(s, side, c, &e, "openssl", None);
        assert!(missing.is_empty(), "{missing:?}");
        ex.expect("measured")
    }

    #[test]
    fn an_ecdsa_scenario_is_priced_with_the_ecdsa_benches() {
        for (stack, imp) in [
            (Stack::Openssl, "openssl"),
            (Stack::Rustls, "ring"),
            (Stack::RustlsAwslc, "awslc"),
        ] {
            let s = Scenario::new(stack, Protocol::Tls13Aes128Gcm, Kind::Full)
                .with_cert(Some(Cert::EcdsaP256));
            let c = full_counts(s);
            let x509 = if stack == Stack::Openssl {
                "openssl"
            } else {
                "webpki"
            };
            let client = explained(s, Side::Client, &c);
            // One signature is inside the chain: only the handshake signature is priced alone.
            let check = part(&client, "handshake signature check");
            assert_eq!(check.count, 1.0);
            assert_eq!(check.bench, format!("ecdsa/{imp}/verify/p256"));
            assert_eq!(
                part(&client, "chain verification").bench,
                format!("x509/{x509}/verify-chain/ecdsa-p256")
            );
            assert_eq!(
                part(&client, "certificate parse").bench,
                format!("x509/{x509}/parse/ecdsa-p256")
            );
            let server = explained(s, Side::Server, &c);
            assert_eq!(
                part(&server, "ECDSA P-256 private sign").bench,
                format!("ecdsa/{imp}/sign/p256")
            );
            // The server's own chain, built without a signature: a chain less one ECDSA verify.
            let build = part(&server, "chain build (own certificate, no signature)");
            assert_eq!(
                build.bench,
                format!("x509/{x509}/verify-chain/ecdsa-p256 - ecdsa/{imp}/verify/p256")
            );
            let k: f64 = match imp {
                "openssl" => 1.0,
                "ring" => 2.0,
                _ => 3.0,
            };
            assert!((build.unit_us - (100.0 - 60.0 * k).max(0.0)).abs() < 1e-9);
            for e in [&client, &server] {
                assert!(e.unpriced.is_empty(), "{:?}", e.unpriced);
                assert!(
                    e.parts.iter().all(|p| !p.bench.contains("rsa")),
                    "{}: {:?}",
                    e.bench,
                    e.parts
                );
            }
        }
    }

    #[test]
    fn rustls_awslc_is_priced_on_aws_lc_rs_and_webpki() {
        let s = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full);
        let mut c = full_counts(s);
        for side in [&mut c.client, &mut c.server] {
            side.records_sealed = 2;
            side.sealed_bytes = 100;
            side.records_opened = 2;
            side.opened_bytes = 100;
        }
        for side in Side::ALL {
            let e = explained(s, *side, &c);
            for p in &e.parts {
                let b = &p.bench;
                assert!(
                    b.contains("/awslc/")
                        || b.starts_with("x509/webpki/")
                        || b.starts_with("conn/rustls-awslc/")
                        || b.starts_with("ticket/rustls-awslc/"),
                    "{}: {} priced with {b}",
                    e.bench,
                    p.what
                );
            }
            assert!(e.priced_with.starts_with("awslc"), "{}", e.priced_with);
        }
        let server = explained(s, Side::Server, &c);
        assert_eq!(
            part(&server, "RSA private sign").bench,
            "rsa/awslc/sign/2048"
        );
        assert_eq!(
            part(&server, "HKDF call").bench,
            "kdf/awslc/tls13-hkdf/expand-label"
        );
        assert_eq!(
            part(&server, "record seal").bench,
            "record/awslc/aes128-gcm/seal/64"
        );
        let t = part(&server, "session ticket sealed");
        assert_eq!(
            (t.count, t.bench.as_str()),
            (2.0, "ticket/rustls-awslc/seal")
        );
        // rustls on ring keeps ring, and the price backend's records.
        let ring = Scenario::new(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::Full);
        let e = explained(ring, Side::Server, &full_counts(ring));
        assert_eq!(part(&e, "RSA private sign").bench, "rsa/ring/sign/2048");
        assert_eq!(part(&e, "key share").bench, "kx/ring/x25519/keygen");
    }

    #[test]
    fn the_hybrid_prices_ml_kem_by_side() {
        let s = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full)
            .with_group(Some(Group::X25519Mlkem768));
        let c = full_counts(s);
        let client = explained(s, Side::Client, &c);
        assert_eq!(part(&client, "key share").bench, "kx/awslc/x25519/keygen");
        assert_eq!(
            part(&client, "ML-KEM-768 key share").bench,
            "kx/awslc/mlkem768/keygen"
        );
        assert_eq!(
            part(&client, "ML-KEM-768 decapsulation").bench,
            "kx/awslc/mlkem768/decapsulate"
        );
        let server = explained(s, Side::Server, &c);
        assert_eq!(
            part(&server, "ML-KEM-768 encapsulation").bench,
            "kx/awslc/mlkem768/encapsulate"
        );
        assert!(server
            .parts
            .iter()
            .all(|p| p.what != "ML-KEM-768 key share"));
    }

    fn profile(bench: &str, total: u64, priced: f64) -> SideProfile {
        let rest = total as f64 - priced;
        let residual_by_part: BTreeMap<String, f64> = [
            ("plumbing".to_string(), 0.75 * rest),
            ("allocation".to_string(), 0.25 * rest),
        ]
        .into_iter()
        .collect();
        let mut by_part = residual_by_part.clone();
        by_part.insert("rsa-op".to_string(), priced);
        let top = vec![TopFunction {
            name: "ossl_namemap_name2num@@OPENSSL_3.0.0".into(),
            object: "libcrypto.so.3".into(),
            ir: 0.5 * rest,
            category: "other-libcrypto".into(),
            part: "plumbing".into(),
        }];
        SideProfile {
            bench: bench.to_string(),
            total_ir: total,
            by_category: BTreeMap::new(),
            by_part,
            calls: BTreeMap::new(),
            priced_ir: priced,
            top: top.clone(),
            residual_by_part,
            residual_top: top,
        }
    }

    #[test]
    fn each_side_is_explained_named_or_neither() {
        assert_eq!(Verdict::of(0.2, Some(0.95)), Verdict::Explained);
        assert_eq!(Verdict::of(0.99, Some(0.5)), Verdict::NamedResidual);
        assert_eq!(Verdict::of(0.95, None), Verdict::Explained);
        assert_eq!(Verdict::of(0.89, None), Verdict::Unexplained);
        let s = Scenario::new(
            Stack::Openssl,
            Protocol::Tls13Aes128Gcm,
            Kind::ResumedTicket,
        );
        let c = full_counts(s);
        let e = all_benches(s);
        let bench = s.id(Side::Client).full();
        // 60% inside priced parts: a named residual, its parts and functions listed.
        let low = profile(&bench, 1_000_000, 600_000.0);
        let (x, _) = explain(s, Side::Client, &c, &e, "openssl", Some(&low));
        let x = x.unwrap();
        assert_eq!(x.verdict, Verdict::NamedResidual);
        assert_eq!(x.fraction_instructions, Some(0.6));
        assert_eq!(
            x.residual[0], "plumbing 30% (ossl_namemap_name2num 20%)",
            "{:?}",
            x.residual
        );
        assert_eq!(x.residual[1], "allocation 10%");
        // 95%: explained, whatever the timing says.
        let high = profile(&bench, 1_000_000, 950_000.0);
        let (y, _) = explain(s, Side::Client, &c, &e, "openssl", Some(&high));
        assert_eq!(y.unwrap().verdict, Verdict::Explained);
        // No profile: by time (the synthetic side is 1000 µs; its parts come to far less).
        let (z, _) = explain(s, Side::Server, &c, &e, "openssl", None);
        let z = z.unwrap();
        assert!(z.fraction < EXPLAINED, "{}", z.fraction);
        assert_eq!(z.verdict, Verdict::Unexplained);
        let summary = Summary::of(&[x, z]);
        assert_eq!(
            (
                summary.explained,
                summary.named_residual,
                summary.unexplained
            ),
            (0, 1, 1)
        );
        assert!(!summary.done());
    }
}
