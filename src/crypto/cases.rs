//! The cases of the primitive benchmarks (groups `rsa`, `cipher`, `mac`, `record`), defined
//! once for the criterion bench, the gate, the tests and the CLI.
//!
//! A [`CaseSpec`] names one benchmark and knows how to build it; [`CaseSpec::build`] sets
//! the case up (keys warm, inputs ready) and runs its self-check, so a case that exists
//! has been shown to do what its name says. Every round trip crosses backends (what one
//! backend produced, another reads back), so a backend that is wrong both ways (a CBC that
//! ignores its IV on encrypt and decrypt) cannot check itself:
//! - rsa: another backend decrypts this one's ciphertext and this one decrypts the other's,
//!   both signatures are the same bytes (PKCS#1 v1.5 signing is deterministic), a signature
//!   verifies and one with a flipped bit does not;
//! - cipher: the published known answer (NIST SP 800-38A F.2.1 for AES-128-CBC, CAVP
//!   TCBCMMT3 for 3DES) encrypts and decrypts, and the payload round-trips through another
//!   backend both ways;
//! - mac: the tag matches OpenSSL's one-shot HMAC;
//! - record: a record sealed here opens in another backend and the other's opens here; a
//!   record whose IV's first byte is flipped (which changes one plaintext byte and no
//!   padding: only the MAC check can refuse it) is refused; and every single-fault record
//!   of [`crate::record::fault`] is refused for its own reason, so a check missing from
//!   `open` fails the bench.
//!
//! A failed check is an [`Error::SelfCheck`] naming the benchmark. Combinations a backend
//! does not offer are not cases but [`Skip`]s, each with the reason.

use super::cipher::CipherDir;
use super::rsa::PRE_MASTER_LEN;
use super::{Backend, CbcCipher, CipherAlg, HmacSha1, MacAlg, RsaKey, RsaOp, Sha1};
use crate::fixtures::{Fixtures, RSA_BITS};
use crate::names::{BenchId, Dimension};
use crate::record::fault::{Fault, Forger};
use crate::record::{RecordKeys, RecordLayer, RecordOp, Suite, APPLICATION_DATA, HEADER_LEN};
use crate::{Error, Result};
use std::hint::black_box;
use std::rc::Rc;

/// The plaintext sizes of the sweep, in bytes.
pub const SWEEP: [usize; 5] = [64, 256, 1024, 4096, 16384];

/// The message an RSA signature covers in the benchmarks (about what a TLS 1.2
/// ServerKeyExchange signs: two randoms and the key-exchange parameters).
pub const SIGNED_MESSAGE: [u8; 128] = {
    let mut m = [0u8; 128];
    let mut i = 0;
    while i < 128 {
        m[i] = (i as u8).wrapping_mul(31).wrapping_add(7);
        i += 1;
    }
    m
};

/// A benchmark group of the primitives bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    /// RSA operations per backend and key size.
    Rsa,
    /// Raw CBC encrypt / decrypt.
    Cipher,
    /// HMAC-SHA1 and SHA-1.
    Mac,
    /// TLS 1.2 record seal / open.
    Record,
}

impl Dimension for Group {
    const ALL: &'static [Self] = &[Group::Rsa, Group::Cipher, Group::Mac, Group::Record];

    fn label(&self) -> &'static str {
        match self {
            Group::Rsa => "rsa",
            Group::Cipher => "cipher",
            Group::Mac => "mac",
            Group::Record => "record",
        }
    }
}

/// One plaintext a size-swept case runs on: a sweep size or a SIP message.
#[derive(Debug, Clone)]
pub struct Payload {
    /// The benchmark parameter: the size in bytes, or `sip-<message name>`.
    pub parameter: String,
    /// The bytes.
    pub data: Rc<Vec<u8>>,
}

/// The sweep sizes (deterministic filler bytes) and every distinct SIP message of the
/// fixtures, in that order.
pub fn payloads(fx: &Fixtures) -> Result<Vec<Payload>> {
    let mut out: Vec<Payload> = SWEEP
        .iter()
        .map(|&n| Payload {
            parameter: n.to_string(),
            data: Rc::new((0..n).map(|i| (i * 7 % 251) as u8).collect()),
        })
        .collect();
    let corpus = fx.flows()?;
    for m in corpus.unique_messages() {
        out.push(Payload {
            parameter: format!("sip-{}", m.name),
            data: Rc::new(m.bytes.clone()),
        });
    }
    Ok(out)
}

/// A benchmark that is ready to be timed.
pub trait Case {
    /// One timed iteration. Errors are counted by the caller, never expected: the
    /// self-check ran the same operation successfully before.
    fn run(&mut self) -> Result<()>;

    /// Whether the bench must time [`Case::timed`] instead of [`Case::run`]: the case's
    /// iterations need work between them that must stay off the clock.
    fn batched(&self) -> bool {
        false
    }

    /// Runs `iters` iterations and returns the time spent in them alone. The default times
    /// [`Case::run`]; a libssl record open overrides it (each record opens only once, so fresh
    /// ones are written between timed batches).
    fn timed(&mut self, iters: u64) -> Result<std::time::Duration> {
        let t = std::time::Instant::now();
        for _ in 0..iters {
            self.run()?;
        }
        Ok(t.elapsed())
    }
}

type Builder = Box<dyn Fn(&BenchId) -> Result<Box<dyn Case>>>;

/// A named benchmark and how to set it up.
pub struct CaseSpec {
    /// Its name.
    pub id: BenchId,
    /// Bytes processed per iteration, for criterion's throughput.
    pub bytes: Option<u64>,
    /// A line to print when the case runs (an advisory about what is measured).
    pub note: Option<&'static str>,
    build: Builder,
}

impl CaseSpec {
    /// Sets the case up and runs its self-check.
    pub fn build(&self) -> Result<Box<dyn Case>> {
        (self.build)(&self.id)
    }
}

/// A combination that is not benchmarked, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// What is skipped, as a benchmark-name pattern (`cipher/awslc/3des-cbc/*`).
    pub what: String,
    /// Why.
    pub why: String,
}

/// The cases of a group, and what it skips.
pub struct Plan {
    /// Runnable cases, in report order.
    pub cases: Vec<CaseSpec>,
    /// Skipped combinations.
    pub skipped: Vec<Skip>,
}

/// The plan of `group` over the fixtures.
pub fn plan(group: Group, fx: &Fixtures) -> Result<Plan> {
    match group {
        Group::Rsa => rsa_plan(fx),
        Group::Cipher => cipher_plan(fx),
        Group::Mac => mac_plan(fx),
        Group::Record => record_plan(fx),
    }
}

fn check(id: &BenchId, ok: bool, what: impl Into<String>) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::SelfCheck {
            bench: id.full(),
            what: what.into(),
        })
    }
}

/// Any error during set-up or the check becomes a self-check failure naming the bench.
fn in_check<T>(id: &BenchId, r: Result<T>) -> Result<T> {
    r.map_err(|e| match e {
        Error::SelfCheck { .. } => e,
        other => Error::SelfCheck {
            bench: id.full(),
            what: other.to_string(),
        },
    })
}

/// The first compiled backend other than `b` (in [`Backend::ALL`] order) for which `ok`
/// holds: the one a self-check crosses `b` with.
fn other_backend(id: &BenchId, b: Backend, ok: impl Fn(Backend) -> bool) -> Result<Backend> {
    Backend::ALL
        .iter()
        .copied()
        .find(|&x| x != b && x.compiled() && ok(x))
        .ok_or_else(|| Error::SelfCheck {
            bench: id.full(),
            what: format!(
                "no second backend to cross-check {} with in this build",
                b.label()
            ),
        })
}

// ---------------------------------------------------------------- rsa

struct RsaCase {
    key: Box<dyn RsaKey>,
    op: RsaOp,
    pre_master: Vec<u8>,
    ciphertext: Vec<u8>,
    signature: Vec<u8>,
}

impl Case for RsaCase {
    fn run(&mut self) -> Result<()> {
        match self.op {
            RsaOp::Decrypt => {
                black_box(self.key.decrypt(black_box(&self.ciphertext))?);
            }
            RsaOp::Encrypt => {
                black_box(self.key.encrypt(black_box(&self.pre_master))?);
            }
            RsaOp::Sign => {
                black_box(self.key.sign(black_box(&SIGNED_MESSAGE))?);
            }
            RsaOp::Verify => {
                black_box(
                    self.key
                        .verify(black_box(&SIGNED_MESSAGE), black_box(&self.signature))?,
                );
            }
        }
        Ok(())
    }
}

fn rsa_case(id: &BenchId, backend: Backend, op: RsaOp, pem: &[u8]) -> Result<Box<dyn Case>> {
    let mut key = in_check(id, super::rsa_key(backend, pem))?;
    let bits = key.bits();
    let other = other_backend(id, backend, |x| super::rsa_supports(x, bits).is_ok())?;
    let mut reference = in_check(id, super::rsa_key(other, pem))?;
    let pre_master: Vec<u8> = (0..PRE_MASTER_LEN as u8).map(|i| i ^ 0xa5).collect();
    let ciphertext = in_check(id, key.encrypt(&pre_master))?;
    check(
        id,
        in_check(id, reference.decrypt(&ciphertext))? == pre_master,
        format!(
            "{} does not decrypt this backend's ciphertext",
            other.label()
        ),
    )?;
    let theirs = in_check(id, reference.encrypt(&pre_master))?;
    check(
        id,
        in_check(id, key.decrypt(&theirs))? == pre_master,
        format!(
            "decrypt did not give back the pre-master {} encrypted",
            other.label()
        ),
    )?;
    let signature = in_check(id, key.sign(&SIGNED_MESSAGE))?;
    check(
        id,
        in_check(id, reference.sign(&SIGNED_MESSAGE))? == signature,
        format!("the signature differs from {}'s", other.label()),
    )?;
    check(
        id,
        in_check(id, key.verify(&SIGNED_MESSAGE, &signature))?,
        "the signature does not verify",
    )?;
    let mut flipped = signature.clone();
    flipped[signature.len() / 2] ^= 0x10;
    check(
        id,
        !in_check(id, key.verify(&SIGNED_MESSAGE, &flipped))?,
        "a signature with a flipped bit verifies",
    )?;
    Ok(Box::new(RsaCase {
        key,
        op,
        pre_master,
        ciphertext,
        signature,
    }))
}

fn rsa_plan(fx: &Fixtures) -> Result<Plan> {
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for &backend in Backend::ALL {
        for bits in RSA_BITS {
            if let Err(why) = super::rsa_supports(backend, bits) {
                skipped.push(Skip {
                    what: format!("rsa/{}/*/{bits}", backend.label()),
                    why,
                });
                continue;
            }
            let pem = Rc::new(fx.rsa_key(bits)?.pem);
            for &op in RsaOp::ALL {
                let pem = pem.clone();
                cases.push(CaseSpec {
                    id: BenchId::new("rsa", &[backend.label(), op.label()]).with_parameter(bits),
                    bytes: None,
                    note: (backend == Backend::RustCrypto && op == RsaOp::Decrypt)
                        .then_some(super::rustcrypto::MARVIN_NOTE),
                    build: Box::new(move |id| rsa_case(id, backend, op, &pem)),
                });
            }
        }
    }
    Ok(Plan { cases, skipped })
}

// ---------------------------------------------------------------- cipher

/// A fixed test key of `alg` (distinct, non-weak 3DES sub-keys).
pub fn cipher_key(alg: CipherAlg) -> Vec<u8> {
    (0..alg.key_len() as u8)
        .map(|i| i.wrapping_mul(41).wrapping_add(19))
        .collect()
}

struct CipherCase {
    cipher: Box<dyn CbcCipher>,
    dir: CipherDir,
    iv: Vec<u8>,
    buf: Vec<u8>,
}

impl Case for CipherCase {
    fn run(&mut self) -> Result<()> {
        match self.dir {
            CipherDir::Encrypt => self.cipher.encrypt(&self.iv, black_box(&mut self.buf))?,
            CipherDir::Decrypt => self.cipher.decrypt(&self.iv, black_box(&mut self.buf))?,
        }
        black_box(&self.buf);
        Ok(())
    }
}

/// `data` zero-padded to whole blocks: raw CBC only takes whole blocks.
pub fn whole_blocks(data: &[u8], block: usize) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(block) * block, 0);
    v
}

/// A published CBC known answer: key, IV, plaintext, ciphertext (hex) and where it is from.
pub struct CbcKnownAnswer {
    /// Key.
    pub key: &'static str,
    /// IV (not zero: a CBC that ignores its IV fails it).
    pub iv: &'static str,
    /// Plaintext, whole blocks.
    pub plaintext: &'static str,
    /// Ciphertext.
    pub ciphertext: &'static str,
    /// The publication.
    pub source: &'static str,
}

/// The known answer the cipher benches check each backend against.
pub fn cbc_known_answer(alg: CipherAlg) -> CbcKnownAnswer {
    match alg {
        CipherAlg::Aes128Cbc => CbcKnownAnswer {
            key: "2b7e151628aed2a6abf7158809cf4f3c",
            iv: "000102030405060708090a0b0c0d0e0f",
            plaintext: "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51\
                        30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
            ciphertext: "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2\
                         73bed6b8e3c1743b7116e69e222295163ff1caa1681fac09120eca307586e1a7",
            source: "NIST SP 800-38A, F.2.1 CBC-AES128.Encrypt",
        },
        CipherAlg::TdesCbc => CbcKnownAnswer {
            key: "a49d7564199e97cb529d2c9d97bf2f98d35edf57ba1f7358",
            iv: "c2e999cb6249023c",
            plaintext: "c689aee38a301bb316da75db36f110b5",
            ciphertext: "e9afaba5ec75ea1bbe65506655bb4ecb",
            source: "NIST CAVP TDES, TCBCMMT3.rsp [ENCRYPT] COUNT = 1",
        },
    }
}

/// Bytes of a hex string (whitespace ignored); the constants above are well-formed.
fn unhex(s: &str) -> Vec<u8> {
    let s: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    s.chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16).unwrap_or(0) as u8;
            d(p[0]) << 4 | d(p[1])
        })
        .collect()
}

/// `cipher` against the published known answer of its algorithm, both directions.
fn check_known_answer(id: &BenchId, alg: CipherAlg, backend: Backend) -> Result<()> {
    let kat = cbc_known_answer(alg);
    let mut c = in_check(id, super::cbc_cipher(backend, alg, &unhex(kat.key)))?;
    let (iv, pt, ct) = (unhex(kat.iv), unhex(kat.plaintext), unhex(kat.ciphertext));
    let mut buf = pt.clone();
    in_check(id, c.encrypt(&iv, &mut buf))?;
    check(
        id,
        buf == ct,
        format!("encryption differs from the known answer ({})", kat.source),
    )?;
    in_check(id, c.decrypt(&iv, &mut buf))?;
    check(
        id,
        buf == pt,
        format!("decryption differs from the known answer ({})", kat.source),
    )
}

fn cipher_case(
    id: &BenchId,
    backend: Backend,
    alg: CipherAlg,
    dir: CipherDir,
    data: &[u8],
) -> Result<Box<dyn Case>> {
    check_known_answer(id, alg, backend)?;
    let mut cipher = in_check(id, super::cbc_cipher(backend, alg, &cipher_key(alg)))?;
    let other = other_backend(id, backend, |x| super::cipher_supports(x, alg).is_ok())?;
    let mut reference = in_check(id, super::cbc_cipher(other, alg, &cipher_key(alg)))?;
    let iv: Vec<u8> = (0..alg.block_len() as u8)
        .map(|i| i.wrapping_mul(3).wrapping_add(1))
        .collect();
    let plain = whole_blocks(data, alg.block_len());
    let mut buf = plain.clone();
    in_check(id, cipher.encrypt(&iv, &mut buf))?;
    check(id, buf != plain, "encryption left the data unchanged")?;
    in_check(id, reference.decrypt(&iv, &mut buf))?;
    check(
        id,
        buf == plain,
        format!(
            "{} does not decrypt this backend's ciphertext",
            other.label()
        ),
    )?;
    in_check(id, reference.encrypt(&iv, &mut buf))?;
    in_check(id, cipher.decrypt(&iv, &mut buf))?;
    check(
        id,
        buf == plain,
        format!(
            "decrypting {}'s ciphertext did not give the plaintext",
            other.label()
        ),
    )?;
    Ok(Box::new(CipherCase {
        cipher,
        dir,
        iv,
        buf,
    }))
}

fn cipher_plan(fx: &Fixtures) -> Result<Plan> {
    let payloads = payloads(fx)?;
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for &backend in Backend::SYMMETRIC {
        for &alg in CipherAlg::ALL {
            if let Err(why) = super::cipher_supports(backend, alg) {
                skipped.push(Skip {
                    what: format!("cipher/{}/{}/*", backend.label(), alg.label()),
                    why,
                });
                continue;
            }
            for &dir in CipherDir::ALL {
                for p in &payloads {
                    let data = p.data.clone();
                    cases.push(CaseSpec {
                        id: BenchId::new("cipher", &[backend.label(), alg.label(), dir.label()])
                            .with_parameter(&p.parameter),
                        bytes: Some(whole_blocks(&data, alg.block_len()).len() as u64),
                        note: None,
                        build: Box::new(move |id| cipher_case(id, backend, alg, dir, &data)),
                    });
                }
            }
        }
    }
    Ok(Plan { cases, skipped })
}

// ---------------------------------------------------------------- mac

/// The HMAC key of the mac benchmarks (20 bytes, as TLS's SHA-1 MAC keys).
pub const MAC_KEY: [u8; 20] = *b"tlscost-hmac-sha1-k!";

enum MacImpl {
    Hmac(Box<dyn HmacSha1>),
    Sha1(Box<dyn Sha1>),
}

struct MacCase {
    imp: MacImpl,
    data: Rc<Vec<u8>>,
}

impl Case for MacCase {
    fn run(&mut self) -> Result<()> {
        let d = black_box(&self.data[..]);
        black_box(match &mut self.imp {
            MacImpl::Hmac(m) => m.mac(&[d])?,
            MacImpl::Sha1(h) => h.digest(d)?,
        });
        Ok(())
    }
}

/// OpenSSL's one-shot HMAC-SHA1 / SHA-1, the reference every backend's result must match.
fn reference_mac(alg: MacAlg, data: &[u8]) -> Result<Vec<u8>> {
    let r = match alg {
        MacAlg::Sha1 => Ok(openssl::sha::sha1(data).to_vec()),
        MacAlg::HmacSha1 => openssl::pkey::PKey::hmac(&MAC_KEY).and_then(|k| {
            let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &k)?;
            s.sign_oneshot_to_vec(data)
        }),
    };
    r.map_err(|e| super::crypto_err(Backend::OpenSsl, "reference mac", e))
}

fn mac_case(
    id: &BenchId,
    backend: Backend,
    alg: MacAlg,
    data: Rc<Vec<u8>>,
) -> Result<Box<dyn Case>> {
    let mut imp = match alg {
        MacAlg::HmacSha1 => MacImpl::Hmac(in_check(id, super::hmac_sha1(backend, &MAC_KEY))?),
        MacAlg::Sha1 => MacImpl::Sha1(in_check(id, super::sha1(backend))?),
    };
    let mut compute = |d: &[u8]| match &mut imp {
        MacImpl::Hmac(m) => m.mac(&[d]),
        MacImpl::Sha1(h) => h.digest(d),
    };
    let got = in_check(id, compute(&data))?;
    let want = in_check(id, reference_mac(alg, &data))?;
    check(
        id,
        got[..] == want[..],
        "result differs from OpenSSL's one-shot reference",
    )?;
    let mut flipped = data.to_vec();
    if let Some(b) = flipped.first_mut() {
        *b ^= 1;
        check(
            id,
            in_check(id, compute(&flipped))? != got,
            "a flipped input bit gives the same result",
        )?;
    }
    Ok(Box::new(MacCase { imp, data }))
}

fn mac_plan(fx: &Fixtures) -> Result<Plan> {
    let payloads = payloads(fx)?;
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for &backend in Backend::SYMMETRIC {
        if let Err(why) = super::mac_supports(backend) {
            skipped.push(Skip {
                what: format!("mac/{}/*", backend.label()),
                why,
            });
            continue;
        }
        for &alg in MacAlg::ALL {
            for p in &payloads {
                let data = p.data.clone();
                cases.push(CaseSpec {
                    id: BenchId::new("mac", &[backend.label(), alg.label()])
                        .with_parameter(&p.parameter),
                    bytes: Some(data.len() as u64),
                    note: None,
                    build: Box::new(move |id| mac_case(id, backend, alg, data.clone())),
                });
            }
        }
    }
    Ok(Plan { cases, skipped })
}

// ---------------------------------------------------------------- record

struct RecordCase {
    layer: RecordLayer,
    op: RecordOp,
    plaintext: Rc<Vec<u8>>,
    record: Vec<u8>,
    out: Vec<u8>,
}

impl Case for RecordCase {
    fn run(&mut self) -> Result<()> {
        match self.op {
            RecordOp::Seal => {
                self.layer
                    .seal(APPLICATION_DATA, black_box(&self.plaintext), &mut self.out)?;
            }
            RecordOp::Open => {
                // The same record at the same sequence number each time: the work of
                // opening the next record of a connection, without a sealer in the loop.
                self.layer
                    .open_at(0, black_box(&self.record), &mut self.out)?;
            }
        }
        black_box(&self.out);
        Ok(())
    }
}

fn record_case(
    id: &BenchId,
    backend: Backend,
    suite: Suite,
    op: RecordOp,
    plaintext: Rc<Vec<u8>>,
) -> Result<Box<dyn Case>> {
    let keys = RecordKeys::fixed(suite);
    let mut layer = in_check(id, RecordLayer::new(suite, backend, &keys))?;
    let mut record = Vec::new();
    in_check(
        id,
        layer.seal_at(0, APPLICATION_DATA, &plaintext, &mut record),
    )?;
    check_record_layer(id, backend, suite, &record, &plaintext)?;
    Ok(Box::new(RecordCase {
        layer,
        op,
        plaintext,
        record,
        out: Vec::with_capacity(suite.record_len(MAX_PAYLOAD)),
    }))
}

/// The record self-check (see the module doc): `record` was sealed by `backend` at sequence
/// number 0 from `plaintext`.
fn check_record_layer(
    id: &BenchId,
    backend: Backend,
    suite: Suite,
    record: &[u8],
    plaintext: &[u8],
) -> Result<()> {
    let keys = RecordKeys::fixed(suite);
    let other = other_backend(id, backend, |x| crate::record::supports(suite, x).is_ok())?;
    let fresh = |b: Backend| in_check(id, RecordLayer::new(suite, b, &keys));
    let mut out = Vec::new();
    // Sealed here, opened by the other backend.
    let opened = fresh(other)?.open(record, &mut out);
    check(
        id,
        opened.is_ok() && out[..] == plaintext[..],
        format!(
            "{} does not open this backend's record to its plaintext",
            other.label()
        ),
    )?;
    // A byte only the MAC (or tag) covers: the IV's first byte changes the first plaintext
    // byte alone (CBC), the first ciphertext byte of GCM changes that one byte; no padding.
    let mut tampered = record.to_vec();
    tampered[HEADER_LEN + if suite.cbc_alg().is_some() { 0 } else { 8 }] ^= 0x01;
    let mac_fault = crate::record::fault::Fault::Mac;
    match fresh(backend)?.open(&tampered, &mut out) {
        Ok(_) => check(
            id,
            false,
            "a record with one plaintext byte changed was accepted",
        )?,
        Err(e) => check(
            id,
            mac_fault.is_reason(suite, &e),
            format!("a record with one plaintext byte changed was refused for another reason: {e}"),
        )?,
    }
    // Records forged by the other backend's primitives: the correct ones open here in
    // sequence, each single-fault one is refused by the check it fails.
    let mut forger = in_check(id, Forger::new(suite, other, &keys))?;
    let mut layer = fresh(backend)?;
    for seq in 0..2 {
        let good = in_check(id, forger.valid(seq, plaintext))?;
        let opened = layer.open(&good, &mut out);
        check(
            id,
            opened.is_ok() && out[..] == plaintext[..],
            format!(
                "record {seq} built by hand with {}'s primitives does not open",
                other.label()
            ),
        )?;
    }
    let replay = in_check(id, forger.valid(1, plaintext))?;
    check(
        id,
        layer.open(&replay, &mut out).is_err(),
        "a replayed record was accepted",
    )?;
    for fault in Fault::of(suite) {
        let bad = in_check(id, forger.forge(fault, 0, plaintext, 0))?;
        let mut layer = fresh(backend)?;
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            layer.open_at(0, &bad, &mut out)
        }));
        let what = match result {
            Err(_) => "made open panic".to_string(),
            Ok(Ok(_)) => "was accepted".to_string(),
            Ok(Err(e)) if !fault.is_reason(suite, &e) => {
                format!("was refused for another reason: {e}")
            }
            Ok(Err(_)) => continue,
        };
        check(
            id,
            false,
            format!(
                "a record that fails only the {} check {what}",
                fault.label()
            ),
        )?;
    }
    Ok(())
}

const MAX_PAYLOAD: usize = crate::record::MAX_FRAGMENT;

fn record_plan(fx: &Fixtures) -> Result<Plan> {
    let payloads = payloads(fx)?;
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for &backend in Backend::SYMMETRIC {
        for &suite in Suite::ALL {
            if let Err(why) = crate::record::supports(suite, backend) {
                skipped.push(Skip {
                    what: format!("record/{}/{}/*", backend.label(), suite.label()),
                    why,
                });
                continue;
            }
            for &op in RecordOp::ALL {
                for p in &payloads {
                    let data = p.data.clone();
                    cases.push(CaseSpec {
                        id: BenchId::new("record", &[backend.label(), suite.label(), op.label()])
                            .with_parameter(&p.parameter),
                        bytes: Some(data.len() as u64),
                        note: None,
                        build: Box::new(move |id| {
                            record_case(id, backend, suite, op, data.clone())
                        }),
                    });
                }
            }
        }
    }
    libssl_plan(fx, &payloads, &mut cases, &mut skipped)?;
    Ok(Plan { cases, skipped })
}

// ---------------------------------------------------------------- record through libssl

/// A record sealed or opened by libssl on an established in-memory connection.
struct LibsslCase {
    conn: super::libssl::Connection,
    op: RecordOp,
    plaintext: Rc<Vec<u8>>,
    buf: Vec<u8>,
    id: BenchId,
}

impl Case for LibsslCase {
    /// Seal: one `SSL_write` (the queue is emptied afterwards). Open: writes one record and
    /// reads it (so `run` works alone); the bench times open with [`Case::timed`].
    fn run(&mut self) -> Result<()> {
        if self.op == RecordOp::Open {
            self.conn.discard();
            self.conn.seal(&self.plaintext)?;
            self.conn.open(&mut self.buf)?;
            return Ok(());
        }
        self.conn.seal(black_box(&self.plaintext))?;
        self.conn.discard();
        Ok(())
    }

    fn batched(&self) -> bool {
        self.op == RecordOp::Open
    }

    fn timed(&mut self, iters: u64) -> Result<std::time::Duration> {
        if self.op == RecordOp::Seal {
            let t = std::time::Instant::now();
            for _ in 0..iters {
                self.run()?;
            }
            return Ok(t.elapsed());
        }
        let (d, bad) = super::libssl::timed_opens(&mut self.conn, &self.plaintext, iters)?;
        check(
            &self.id,
            bad == 0,
            format!("{bad} SSL_read calls did not return the whole plaintext"),
        )?;
        Ok(d)
    }
}

fn libssl_case(
    id: &BenchId,
    pki: &crate::handshake::Pki,
    suite: Suite,
    op: RecordOp,
    plaintext: Rc<Vec<u8>>,
) -> Result<Box<dyn Case>> {
    in_check(id, super::libssl::self_check(suite, pki, &plaintext))?;
    let conn = in_check(id, super::libssl::Connection::establish(suite, pki))?;
    Ok(Box::new(LibsslCase {
        conn,
        op,
        plaintext,
        buf: vec![0u8; MAX_PAYLOAD + 1],
        id: id.clone(),
    }))
}

/// `record/libssl/<suite>/<op>/<payload>` for the paper's CBC suites; 3DES only where the
/// linked OpenSSL has it (otherwise a [`Skip`] saying how to get it).
fn libssl_plan(
    fx: &Fixtures,
    payloads: &[Payload],
    cases: &mut Vec<CaseSpec>,
    skipped: &mut Vec<Skip>,
) -> Result<()> {
    let pki = Rc::new(crate::handshake::Pki::load(fx)?);
    for suite in [Suite::Aes128Sha, Suite::TdesSha] {
        if let Err(e) = super::libssl::cipher_list(suite) {
            skipped.push(Skip {
                what: format!("record/{}/{}/*", super::libssl::LABEL, suite.label()),
                why: e.to_string(),
            });
            continue;
        }
        for &op in RecordOp::ALL {
            for p in payloads {
                let (data, pki) = (p.data.clone(), pki.clone());
                cases.push(CaseSpec {
                    id: BenchId::new("record", &[super::libssl::LABEL, suite.label(), op.label()])
                        .with_parameter(&p.parameter),
                    bytes: Some(data.len() as u64),
                    note: None,
                    build: Box::new(move |id| libssl_case(id, &pki, suite, op, data.clone())),
                });
            }
        }
    }
    Ok(())
}
