//! Callgrind profiles of each handshake side: the calls that matter, counted (OpenSSL's RSA,
//! EC, X.509, digest, MAC and KDF entry points), and every instruction of the side classified
//! into the paper's categories and the finer parts ([`crate::profile`]).
//!
//! One scenario is one process under callgrind: `tlscost anatomy --one <scenario>` builds the
//! scenario, runs the warm-up/priming handshake and the checked one, then one more handshake
//! in [`counted_handshake`]. Callgrind writes a profile part on entry to every step function,
//! so each part is one step of one side; a side's profile is the sum of its parts in the
//! counted handshake ([`callgrind_args`], [`read_parts`]). That is what the gate counts with
//! `--toggle-collect` on the side's step (creating the connection object, the handshake calls,
//! the side's end of the in-memory wire), plus the driver's few instructions between steps.
//! What is counted is what the criterion bench of the same name times: creating the side's
//! connection object, its handshake calls, reading and writing its end of the in-memory wire.
//!
//! The results of every side go to one JSON file ([`DEFAULT_PATH`]); `tlscost counts` reads
//! the OpenSSL call counts from it instead of inferring them from the messages.

use super::{HandshakeBench, Pki, Scenario, Side, Stack};
use crate::names::Dimension;
use crate::profile::callgrind::Profile;
use crate::profile::{Breakdown, Category, Objects, Part};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `tlscost anatomy` writes its results, under the crate's target directory.
pub const DEFAULT_PATH: &str = "target/anatomy/anatomy.json";
/// What the `kind` field of the results file says.
pub const KIND: &str = "tlscost-anatomy";
/// The results file's schema (4: ECDSA, key-share, peer-key and HMAC calls counted).
pub const SCHEMA: u32 = 4;

/// The functions whose calls are counted, with what one call is. Exported entry points
/// (Debian's libcrypto carries no other names); each is the one place its operation passes,
/// whatever calls it (libssl through the EVP layer, the provider, the verifier).
pub const COUNTED: &[(&str, &str)] = &[
    (
        "RSA_private_encrypt",
        "RSA private-key signature (PKCS#1 v1.5 and PSS both end here)",
    ),
    (
        "RSA_private_decrypt",
        "RSA private-key decryption (key transport)",
    ),
    (
        "RSA_public_decrypt",
        "RSA public-key signature check (certificates and handshake signatures)",
    ),
    (
        "RSA_public_encrypt",
        "RSA public-key encryption (key transport)",
    ),
    (
        "ECDSA_sign_ex",
        "ECDSA signature (what OpenSSL's EC signature provider calls)",
    ),
    (
        "ECDSA_verify",
        "ECDSA signature check (certificates and handshake signatures)",
    ),
    (
        "X509_verify",
        "certificate signature checked (inside chain verification)",
    ),
    (
        "EVP_PKEY_generate",
        "key or parameter generation (libssl also makes the peer's key template with it)",
    ),
    (
        "EVP_PKEY_keygen",
        "ephemeral key share generated (libssl's one call per share)",
    ),
    (
        "EVP_PKEY_derive",
        "(EC)DH derive call (libssl calls it twice per secret: length, then secret)",
    ),
    (
        "EVP_PKEY_derive_set_peer",
        "(EC)DH shared secret derived (libssl's one call per secret)",
    ),
    ("d2i_X509", "certificate parsed from DER"),
    ("X509_verify_cert", "certificate chain verified"),
    ("EVP_KDF_derive", "PRF (TLS 1.2) or HKDF (TLS 1.3) call"),
    (
        "EVP_DigestFinal_ex",
        "digest output (transcript hashes, Finished)",
    ),
    ("EVP_DigestUpdate", "digest input call"),
    ("EVP_DigestSignFinal", "MAC or signature output (HMAC)"),
    ("EVP_MAC_final", "MAC output (EVP_MAC)"),
    (
        "HMAC_Final",
        "HMAC output (HKDF, the PRF and EVP_MAC's HMAC all end here; two digests each)",
    ),
    ("SSL_new", "connection object created"),
    (
        "EVP_CipherInit_ex",
        "cipher context initialised (record keys)",
    ),
];

/// One side of one scenario, profiled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SideProfile {
    /// `handshake/<stack>/<protocol>/<kind>/<side>`.
    pub bench: String,
    /// Instructions executed by the side in one handshake (callgrind `Ir`).
    pub total_ir: u64,
    /// Instructions per paper category (labels of [`Category`]).
    pub by_category: BTreeMap<String, f64>,
    /// Instructions per finer part (labels of [`Part`]).
    pub by_part: BTreeMap<String, f64>,
    /// Calls of the [`COUNTED`] functions in the side's handshake (absent: zero).
    pub calls: BTreeMap<String, u64>,
    /// Instructions inside the operations the handshake parts price ([`priced_ir`]).
    pub priced_ir: f64,
    /// The functions with the most instructions (after unnamed code is handed to its named
    /// callers), with their category and part.
    pub top: Vec<TopFunction>,
    /// Instructions outside the priced operations, per finer part (labels of [`Part`]): what
    /// the residual is made of: on OpenSSL the instructions outside every priced call
    /// ([`Profile::outside`]), elsewhere the parts no bench prices.
    pub residual_by_part: BTreeMap<String, f64>,
    /// The costliest functions of that residual.
    pub residual_top: Vec<TopFunction>,
}

/// One of the costliest functions of a side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopFunction {
    /// Function name (or address).
    pub name: String,
    /// Object file name.
    pub object: String,
    /// Instructions (self, plus unnamed code handed to it).
    pub ir: f64,
    /// Paper category label.
    pub category: String,
    /// Finer part label.
    pub part: String,
}

impl SideProfile {
    /// From a parsed callgrind profile of the side.
    pub fn from_profile(bench: String, p: &Profile) -> SideProfile {
        let objects = Objects::default();
        let b = p.breakdown(&objects);
        let calls = COUNTED
            .iter()
            .map(|(f, _)| (f.to_string(), p.calls_to(f)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let (residual_by_part, residual_top) = residual(p, &b, &objects);
        SideProfile {
            top: top_functions(p, &objects, |_| true),
            residual_by_part,
            residual_top,
            priced_ir: priced_ir(p, &b),
            bench,
            total_ir: p.total_ir,
            by_category: b
                .by_category
                .iter()
                .map(|(k, v)| (k.label().to_string(), *v))
                .collect(),
            by_part: b
                .by_part
                .iter()
                .map(|(k, v)| (k.label().to_string(), *v))
                .collect(),
            calls,
        }
    }

    /// Calls of one counted function (0 when it was not called).
    pub fn calls(&self, function: &str) -> u64 {
        self.calls.get(function).copied().unwrap_or(0)
    }

    /// The breakdown back as a [`Breakdown`] (instructions).
    pub fn breakdown(&self) -> Breakdown {
        let mut b = Breakdown {
            total: self.by_category.values().sum(),
            ..Breakdown::default()
        };
        for c in Category::ALL {
            if let Some(v) = self.by_category.get(c.label()) {
                b.by_category.insert(*c, *v);
            }
        }
        for p in Part::ALL {
            if let Some(v) = self.by_part.get(p.label()) {
                b.by_part.insert(*p, *v);
            }
        }
        b
    }
}

/// The kinds of code the handshake parts price (the rest of a profile is the residual:
/// plumbing, state machine, allocation, random numbers, other).
pub const PRICED_PARTS: &[Part] = &[
    Part::RsaOp,
    Part::KeyExchange,
    Part::PrfHkdf,
    Part::X509Parse,
    Part::ChainVerify,
    Part::Digest,
    Part::Cipher,
];

/// OpenSSL entry points of the operations the handshake parts price: the connection object,
/// certificate parse and chain verification, KDF calls, key generation and derivation, RSA
/// and ECDSA operations ([`SIGNATURE_CHECKS`] too), and the digests and ciphers the transcript
/// and record benches price. They may run inside one another (a digest inside a KDF or a
/// signature check inside a chain): [`Profile::outside`] counts nested work once.
const PRICED_OPENSSL: &[&str] = &[
    "SSL_new",
    "d2i_X509",
    "X509_verify_cert",
    "EVP_KDF_derive",
    "EVP_PKEY_generate",
    "EVP_PKEY_derive",
    "RSA_private_decrypt",
    "RSA_private_encrypt",
    "RSA_public_encrypt",
    "ECDSA_sign_ex",
    "EVP_DigestInit_ex",
    "EVP_DigestUpdate",
    "EVP_DigestFinal_ex",
    "EVP_MD_CTX_copy_ex",
    "EVP_Cipher",
    "EVP_CipherUpdate",
    "EVP_CipherFinal_ex",
];

/// OpenSSL's signature checks: inside chain verification or outside it (handshake signatures).
const SIGNATURE_CHECKS: &[&str] = &["RSA_public_decrypt", "ECDSA_verify"];

/// Every OpenSSL entry point priced.
fn priced_entries() -> Vec<&'static str> {
    PRICED_OPENSSL
        .iter()
        .chain(SIGNATURE_CHECKS)
        .copied()
        .collect()
}

/// Instructions inside the operations the handshake parts price: a deterministic "explained"
/// beside the timed one. OpenSSL: every instruction executed inside a call of a priced entry
/// point ([`PRICED_OPENSSL`], [`SIGNATURE_CHECKS`]), nested calls once: the side's
/// instructions less [`Profile::outside`] them. Other stacks (ring, aws-lc-rs, webpki: crypto
/// in code of its own): the profile's parts that the benches price (RSA, key exchange,
/// PRF/HKDF, X.509, chains, digests, ciphers).
pub fn priced_ir(p: &Profile, b: &Breakdown) -> f64 {
    if by_entry_points(p) {
        let outside = p.outside(&priced_entries()).total_ir;
        let total: u64 = p.functions.iter().map(|f| f.self_ir).sum();
        return total.saturating_sub(outside) as f64;
    }
    PRICED_PARTS.iter().map(|x| b.part(*x)).sum()
}

/// The 25 functions of `p` with the most instructions (after unnamed code is handed to its
/// named callers) among those whose class `keep` accepts.
fn top_functions(
    p: &Profile,
    objects: &Objects,
    keep: impl Fn(&crate::profile::Class) -> bool,
) -> Vec<TopFunction> {
    let mut attributed: Vec<(String, String, f64, crate::profile::Class)> = p
        .attributed()
        .into_iter()
        .map(|(name, object, ir)| {
            let class = crate::profile::classify(
                crate::profile::callgrind::base_name(&name),
                &object,
                objects,
            );
            (name, object, ir, class)
        })
        .filter(|x| keep(&x.3))
        .collect();
    attributed.sort_by(|a, b| b.2.total_cmp(&a.2));
    attributed
        .into_iter()
        .take(25)
        .map(|(name, object, ir, class)| TopFunction {
            name,
            object: object.rsplit('/').next().unwrap_or(&object).to_string(),
            ir,
            category: class.category.label().to_string(),
            part: class.part.label().to_string(),
        })
        .collect()
}

/// What the residual of a side is made of, per finer part, and its costliest functions: on
/// OpenSSL the instructions outside every call of the priced entry points
/// ([`Profile::outside`], so plumbing or allocation inside a priced call is not residual); on
/// the other stacks, whose crypto is code of its own, the parts the benches do not price.
fn residual(
    p: &Profile,
    b: &Breakdown,
    objects: &Objects,
) -> (BTreeMap<String, f64>, Vec<TopFunction>) {
    if by_entry_points(p) {
        let rest = p.outside(&priced_entries());
        let by_part = rest
            .breakdown(objects)
            .by_part
            .iter()
            .filter(|(_, v)| **v > 0.0)
            .map(|(k, v)| (k.label().to_string(), *v))
            .collect();
        return (by_part, top_functions(&rest, objects, |_| true));
    }
    let by_part = b
        .by_part
        .iter()
        .filter(|(k, _)| !PRICED_PARTS.contains(k))
        .map(|(k, v)| (k.label().to_string(), *v))
        .collect();
    let top = top_functions(p, objects, |c| !PRICED_PARTS.contains(&c.part));
    (by_part, top)
}

/// Whether a profile is priced by OpenSSL's entry points (it is an OpenSSL side: it creates
/// an `SSL`) rather than by parts.
fn by_entry_points(p: &Profile) -> bool {
    p.calls_to("SSL_new") > 0
}

/// The results file of `tlscost anatomy`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnatomyFile {
    /// Always [`KIND`].
    pub kind: String,
    /// [`SCHEMA`].
    pub schema: u32,
    /// The OpenSSL the profiles were taken with (`OpenSSL 3.0.19 ...`).
    pub openssl: String,
    /// `valgrind --version`.
    pub valgrind: String,
    /// The profiled sides, in report order.
    pub sides: Vec<SideProfile>,
}

impl AnatomyFile {
    /// The profile of one side, if it was taken.
    pub fn side(&self, bench: &str) -> Option<&SideProfile> {
        self.sides.iter().find(|s| s.bench == bench)
    }

    /// Reads a results file; `Ok(None)` when it does not exist, an error naming the file when
    /// it is not one of ours or of another schema.
    pub fn load(path: &Path) -> Result<Option<AnatomyFile>> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(format!("reading {}", path.display()), e)),
        };
        let bad = |what: String| Error::Results {
            path: path.to_path_buf(),
            what,
        };
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not an anatomy file (invalid JSON: {e})")))?;
        if v["kind"] != KIND {
            return Err(bad(format!(
                "not an anatomy file: `kind` is {}, expected \"{KIND}\"",
                v["kind"]
            )));
        }
        if v["schema"] != SCHEMA {
            return Err(bad(format!(
                "anatomy schema {}, this build reads {SCHEMA}: run `make anatomy` again",
                v["schema"]
            )));
        }
        serde_json::from_value(v)
            .map(Some)
            .map_err(|e| bad(format!("corrupt anatomy file: {e}")))
    }

    /// Writes the file atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self).map_err(|e| Error::Results {
            path: path.to_path_buf(),
            what: format!("cannot serialise: {e}"),
        })?;
        crate::fsutil::write_atomic(path, format!("{text}\n").as_bytes())
    }
}

/// The default results path under the crate (or `$CARGO_TARGET_DIR`).
pub fn default_path() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) => PathBuf::from(t).join("anatomy/anatomy.json"),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_PATH),
    }
}

/// The step function callgrind counts for `side`, as a `--toggle-collect` pattern.
pub fn toggle_pattern(side: Side) -> String {
    format!("*tlscost::handshake::*{}_step*", side.label())
}

/// Parses `handshake/<stack>/<protocol>/<kind>/<side>` into its scenario and side.
pub fn parse_bench(name: &str) -> Result<(Scenario, Side)> {
    let rest = name.strip_prefix("handshake/").unwrap_or(name);
    let (scenario, side) = rest.rsplit_once('/').ok_or_else(|| {
        Error::Usage(format!(
            "'{name}' is not handshake/<stack>/<protocol>/<kind>/<side>"
        ))
    })?;
    Ok((
        Scenario::from_label(scenario)?,
        Side::from_label("side", side)?,
    ))
}

/// Marks the start of the counted handshake in callgrind's output: its name matches the
/// `--dump-before` pattern of the step functions, so callgrind writes a profile part here.
#[inline(never)]
pub fn begin_counted_step() {
    std::hint::black_box(0xb391_u32);
}

/// Marks the end of the counted handshake (the same way; a different body, so the two are
/// never merged).
#[inline(never)]
pub fn end_counted_step() {
    std::hint::black_box(0xe0d1_u64);
}

/// The counted handshake: one handshake of `bench`, driven between the two markers (the end
/// marker right after the last step, so nothing after the handshake is counted), then checked
/// like every timed one (it resumed exactly when the scenario says so).
#[inline(never)]
pub fn counted_handshake(bench: &mut HandshakeBench) -> Result<()> {
    let label = bench.scenario.label();
    begin_counted_step();
    let wire = super::Wire::default();
    let mut c = bench.setup.client(&wire);
    let mut s = bench.setup.server(&wire);
    let driven = super::drive(c.as_mut(), s.as_mut(), &label);
    end_counted_step();
    driven?;
    let f = super::facts(c.as_ref(), s.as_ref())?;
    super::verify_facts(&bench.scenario, &f).map_err(|what| Error::SelfCheck {
        bench: format!("handshake/{label}"),
        what,
    })
}

/// What runs under callgrind: set-up and checks, then [`counted_handshake`].
pub fn run_one(scenario: &str, pki: &Pki) -> Result<()> {
    let scenario = Scenario::from_label(scenario)?;
    let mut hb = HandshakeBench::new(scenario, pki)?;
    hb.check()?;
    counted_handshake(&mut hb)
}

/// The callgrind arguments of one scenario's run. Callgrind writes a profile part each time a
/// step function or one of the two markers is entered (`--dump-before`), so a part holds one
/// step of one side (with the driver's few instructions after it, until the next step), and
/// belongs to the side whose step was entered before it. Counting calls needs the parts:
/// callgrind counts calls even where it does not collect costs, and the two sides share
/// libssl's call sites, so a `--toggle-collect` run (the gate's) would add the other side's
/// calls.
pub fn callgrind_args(out_file: &Path) -> Vec<String> {
    vec![
        "--tool=callgrind".into(),
        format!("--callgrind-out-file={}", out_file.display()),
        "--dump-before=*tlscost::handshake::*_step*".into(),
    ]
}

/// Reads the parts one run wrote (`<out>.1`, `<out>.2`, ..., then `<out>` at exit) and sums,
/// per side, the parts of the counted handshake that follow one of that side's steps:
/// `[client, server]`.
pub fn read_parts(out_file: &Path) -> Result<[Profile; 2]> {
    let mut parts = Vec::new();
    for n in 1.. {
        let path = PathBuf::from(format!("{}.{n}", out_file.display()));
        if !path.exists() {
            break;
        }
        parts.push(Profile::read(&path)?);
    }
    if out_file.exists() {
        parts.push(Profile::read(out_file)?);
    }
    let entered = |p: &Profile, f: &str| p.trigger.as_deref().is_some_and(|t| t.ends_with(f));
    let bad = |what: &str| Error::Results {
        path: out_file.to_path_buf(),
        what: what.to_string(),
    };
    let begin = parts
        .iter()
        .rposition(|p| entered(p, "begin_counted_step"))
        .ok_or_else(|| bad("no profile part starts the counted handshake (begin marker)"))?;
    let end = parts
        .iter()
        .rposition(|p| entered(p, "end_counted_step"))
        .filter(|e| *e > begin)
        .ok_or_else(|| bad("no profile part ends the counted handshake (end marker)"))?;
    let mut sides = [Profile::default(), Profile::default()];
    // Part i holds what ran after the function that triggered part i-1 was entered.
    for i in begin + 1..=end {
        for side in Side::ALL {
            let step = format!("{}_step", side.label());
            if entered(&parts[i - 1], &step) {
                sides[side.index()].merge(&parts[i]);
            }
        }
    }
    Ok(sides)
}

/// `valgrind --version`, or an error saying how to install it.
pub fn valgrind_version() -> Result<String> {
    let out = Command::new("valgrind")
        .arg("--version")
        .output()
        .map_err(|e| {
            Error::Usage(format!(
                "valgrind is needed for the handshake profiles and was not found ({e}); \
             install it (`apt-get install valgrind`, or `make setup`)"
            ))
        })?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Profiles both sides of one scenario under callgrind: runs `exe anatomy --one <scenario>`
/// and reads its output from `work_dir`. Errors name the scenario and, for a failed run, show
/// the end of valgrind's output.
pub fn profile_scenario(
    exe: &Path,
    scenario: Scenario,
    work_dir: &Path,
) -> Result<[SideProfile; 2]> {
    let bench = format!("handshake/{}", scenario.label());
    std::fs::create_dir_all(work_dir)
        .map_err(|e| Error::io(format!("creating {}", work_dir.display()), e))?;
    let out_file = work_dir.join(format!(
        "callgrind.{}.out",
        crate::gate::counts::ident(&bench)
    ));
    remove_parts(&out_file);
    let output = Command::new("valgrind")
        .args(callgrind_args(&out_file))
        .arg(exe)
        .args(["anatomy", "--one", &scenario.label()])
        .output()
        .map_err(|e| Error::io("starting valgrind", e))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = err.lines().rev().take(8).collect();
        return Err(Error::Handshake {
            scenario: bench,
            what: format!(
                "the profiled run failed ({}): {}",
                output.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            ),
        });
    }
    let [client, server] = read_parts(&out_file)?;
    remove_parts(&out_file);
    let mut out = Vec::new();
    for (side, profile) in Side::ALL.iter().zip([client, server]) {
        let id = scenario.id(*side).full();
        if profile.total_ir == 0 {
            return Err(Error::Results {
                path: out_file,
                what: format!(
                    "{id} counted 0 instructions: its step function was not entered \
                     (inlined or merged by the compiler?)"
                ),
            });
        }
        out.push(SideProfile::from_profile(id, &profile));
    }
    let server = out.pop().expect("two sides");
    let client = out.pop().expect("two sides");
    Ok([client, server])
}

/// Removes the files of an earlier run (`<out>`, `<out>.N`).
fn remove_parts(out_file: &Path) {
    let _ = std::fs::remove_file(out_file);
    for n in 1.. {
        if std::fs::remove_file(format!("{}.{n}", out_file.display())).is_err() {
            break;
        }
    }
}

/// Which scenarios `anatomy` profiles by default: every one this build can run.
pub fn scenarios(filter: Option<&str>) -> Vec<Scenario> {
    Scenario::ALL
        .iter()
        .copied()
        .filter(|s| s.available().is_ok())
        .filter(|s| filter.is_none_or(|f| s.label().contains(f)))
        .collect()
}

/// Whether a stack's counts come from [`COUNTED`] call counts (OpenSSL: its functions keep
/// their exported names in any build).
pub fn counted_by_calls(stack: Stack) -> bool {
    stack == Stack::Openssl
}

/// Labels of the categories shown in the profile table, in the paper's order.
pub fn table_categories() -> Vec<&'static str> {
    [
        Category::Rsa,
        Category::Mac,
        Category::Aes,
        Category::TripleDes,
        Category::OtherLibcrypto,
        Category::Libssl,
        Category::Libc,
        Category::Other,
    ]
    .iter()
    .map(|c| c.label())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_names_parse_back() {
        for s in Scenario::ALL {
            for side in Side::ALL {
                let (sc, sd) = parse_bench(&s.id(*side).full()).unwrap();
                assert_eq!((sc, sd), (*s, *side));
            }
        }
        assert!(parse_bench("handshake/openssl").is_err());
        assert!(parse_bench("handshake/openssl/tls12-rsa-aes128-sha/full/middle").is_err());
    }
}
