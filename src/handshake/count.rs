//! Measured operation counts of one handshake, per side.
//!
//! - rustls: a counting `CryptoProvider` wraps the ring or aws-lc-rs provider's signing keys (private-key
//!   operations), key-exchange groups (shared secrets derived), signature verification
//!   algorithms (certificate chain and handshake signatures), hash, PRF/HKDF and AEAD record
//!   protection; the server's session store and ticketer are wrapped too (stateless tickets
//!   sealed and opened). Every count is observed where the operation happens.
//! - openssl: a message callback (`SSL_CTX_set_msg_callback`) observes every handshake message
//!   and record header each side sends and receives. OpenSSL exposes no hook on its RSA
//!   operations, so those counts are *inferred from the observed messages* (a received
//!   ClientKeyExchange under RSA key transport = one private decrypt on the server, a sent
//!   CertificateVerify = one signature, ...), and marked so; PRF and hash calls are not
//!   observed on openssl.
//!
//! The side an operation belongs to is the side whose step is running
//! ([`super::current_side`]): client and server share one thread.

use super::{current_side, HandshakeBench, Pki, Protocol, Scenario, Side, Stack};
use crate::names::Dimension;
use crate::Result;
use serde::Serialize;
use std::cell::RefCell;
use std::sync::{Arc, OnceLock};

/// How a count was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum How {
    /// Counted where the operation happens.
    Observed,
    /// Derived from observed handshake messages (openssl's RSA operations and key exchanges
    /// when no callgrind profile was taken; rustls's certificate work).
    Inferred,
    /// Calls of the functions that do the operation, counted by callgrind on the side's steps
    /// (openssl, after `make anatomy`; see [`super::anatomy`]).
    Callgrind,
}

/// Operation counts of one side of one handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SideCounts {
    /// Private-key signatures (ServerKeyExchange, CertificateVerify).
    pub private_sign: u64,
    /// Private-key decryptions (RSA key transport pre-master).
    pub private_decrypt: u64,
    /// Public-key signature verifications (certificate chain, handshake signatures).
    pub public_verify: u64,
    /// Public-key encryptions (RSA key transport pre-master).
    pub public_encrypt: u64,
    /// Key exchanges completed (ECDHE shared secrets derived).
    pub key_exchanges: u64,
    /// PRF (TLS 1.2) or HKDF extract/expand/HMAC (TLS 1.3) calls; `None` where not observed.
    pub kdf_calls: Option<u64>,
    /// Hash outputs computed (transcript hashes); `None` where not observed.
    pub hash_outputs: Option<u64>,
    /// Ephemeral key shares generated (`None` where not counted).
    pub key_shares: Option<u64>,
    /// Certificates parsed from DER (`None` where not counted).
    pub cert_parses: Option<u64>,
    /// Certificate chains verified (`None` where not counted). An OpenSSL server also runs the
    /// verifier on its own certificate to build the chain it sends (no signature checked).
    pub chain_verifications: Option<u64>,
    /// Certificate signatures checked inside those chain verifications (`None` where not counted).
    pub chain_signatures: Option<u64>,
    /// Stateless session tickets this side encrypted (a server issuing tickets; `None` where
    /// not observed: openssl seals its tickets inside libssl).
    pub tickets_sealed: Option<u64>,
    /// Stateless session tickets this side decrypted (a server resuming from one; `None` where
    /// not observed).
    pub tickets_opened: Option<u64>,
    /// Records this side protected (encrypted, with their MAC or tag).
    pub records_sealed: u64,
    /// Ciphertext bytes of those records (without the 5-byte headers).
    pub sealed_bytes: u64,
    /// Records this side unprotected.
    pub records_opened: u64,
    /// Ciphertext bytes of those records.
    pub opened_bytes: u64,
    /// HMAC-SHA1 record MACs (MAC-then-encrypt CBC suites: one per record sealed or opened).
    pub record_macs: u64,
    /// Bytes this side wrote to the wire during the handshake (records with headers).
    pub wire_bytes_sent: u64,
    /// Bytes this side read from the wire.
    pub wire_bytes_received: u64,
    /// Handshake messages sent, in order (openssl only; empty for rustls).
    pub messages_sent: Vec<String>,
    /// Handshake messages received, in order (openssl only).
    pub messages_received: Vec<String>,
}

/// The counts of one scenario, both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpCounts {
    /// `<stack>/<protocol>/<kind>`.
    pub scenario: String,
    /// Client side.
    pub client: SideCounts,
    /// Server side.
    pub server: SideCounts,
    /// How the public-key and key-exchange counts were obtained.
    pub pk_counts: How,
    /// How the record counts were obtained (both stacks observe them).
    pub record_counts: How,
    /// How the certificate counts (parses, chain verifications) were obtained.
    pub x509_counts: How,
    /// One line on the instrumentation used.
    pub method: &'static str,
}

impl OpCounts {
    /// The counts of one side.
    pub fn side(&self, side: Side) -> &SideCounts {
        match side {
            Side::Client => &self.client,
            Side::Server => &self.server,
        }
    }
}

/// What the instrumentation saw on one side during one handshake.
#[derive(Debug, Default, Clone)]
struct Raw {
    c: SideCounts,
    /// This side sent a ChangeCipherSpec: its later records are protected.
    write_protected: bool,
    /// Certificates in received Certificate messages that are not self-signed.
    certs_to_verify: u64,
    /// A TLS 1.3 ServerHello with a key_share extension was sent or received.
    key_share: bool,
}

thread_local! {
    static RAW: RefCell<[Raw; 2]> = RefCell::new([Raw::default(), Raw::default()]);
}

fn bump(f: impl FnOnce(&mut Raw)) {
    if let Some(side) = current_side() {
        RAW.with(|r| f(&mut r.borrow_mut()[side.index()]));
    }
}

/// A stateless session ticket was sealed on the side whose step runs (rustls's ticketer).
pub(crate) fn ticket_sealed() {
    bump(|r| *r.c.tickets_sealed.get_or_insert(0) += 1);
}

/// A stateless session ticket was opened on the side whose step runs.
pub(crate) fn ticket_opened() {
    bump(|r| *r.c.tickets_opened.get_or_insert(0) += 1);
}

fn reset() {
    RAW.with(|r| *r.borrow_mut() = [Raw::default(), Raw::default()]);
}

fn take() -> [Raw; 2] {
    RAW.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

/// Measures the counts of one handshake of `scenario` (after the warm-up / priming handshake,
/// and after checking the handshake is what the scenario says).
pub fn measure(scenario: Scenario, pki: &Pki) -> Result<OpCounts> {
    let mut bench = HandshakeBench::counting(scenario, pki)?;
    bench.check()?;
    reset();
    let super::Outcome { facts, wire, .. } = bench.handshake()?;
    let raw = take();
    super::verify_facts(&scenario, &facts).map_err(|what| crate::Error::SelfCheck {
        bench: format!("handshake/{}", scenario.label()),
        what,
    })?;
    let mut sides = raw;
    if scenario.stack == Stack::Openssl {
        // OpenSSL reports the headers of records it writes, not of those it reads; over the
        // in-memory wire every record one side seals is opened by the other.
        for (to, from) in [(0, 1), (1, 0)] {
            sides[to].c.records_opened = sides[from].c.records_sealed;
            sides[to].c.opened_bytes = sides[from].c.sealed_bytes;
        }
    }
    for side in Side::ALL {
        let i = side.index();
        let (sent, received) = wire[i];
        sides[i].c.wire_bytes_sent = sent;
        sides[i].c.wire_bytes_received = received;
        if scenario.stack == Stack::Openssl {
            infer_openssl(scenario.protocol, *side, &mut sides[i]);
        }
    }
    let [client, server] = sides;
    let (pk_counts, method) = match scenario.stack {
        Stack::Rustls => (
            How::Observed,
            "rustls: counting CryptoProvider around ring (keys, kx groups, verifiers, hash, PRF/HKDF, AEAD)",
        ),
        Stack::RustlsAwslc => (
            How::Observed,
            "rustls: counting CryptoProvider around aws-lc-rs (keys, kx groups, verifiers, hash, PRF/HKDF, AEAD)",
        ),
        Stack::Openssl => (
            How::Inferred,
            "openssl: message callback observes messages and records; RSA ops and key exchanges inferred from messages; PRF/hash not observed",
        ),
    };
    let (mut client, mut server) = (client.c, server.c);
    let x509_counts = How::Inferred;
    for (c, side) in [(&mut client, Side::Client), (&mut server, Side::Server)] {
        infer_x509(scenario, side, c);
    }
    if scenario.stack.is_rustls() {
        for c in [&mut client, &mut server] {
            // The counting provider does not see key-share generation: one per exchange.
            c.key_shares = Some(c.key_exchanges);
            // The server's ticketer is observed on every rustls scenario: none is zero.
            c.tickets_sealed.get_or_insert(0);
            c.tickets_opened.get_or_insert(0);
        }
    }
    Ok(OpCounts {
        scenario: scenario.label(),
        client,
        server,
        pk_counts,
        record_counts: How::Observed,
        x509_counts,
        method,
    })
}

/// Certificate work from the scenario: a side that receives a certificate chain parses its
/// leaf and verifies the chain once (a full or mutual client; a mutual server); rustls also
/// parses the leaf again to check each handshake signature made with it.
fn infer_x509(scenario: Scenario, side: Side, c: &mut SideCounts) {
    let receives =
        !scenario.kind.resumes() && (side == Side::Client || scenario.kind == super::Kind::Mutual);
    let chains = u64::from(receives);
    c.chain_verifications = Some(chains);
    c.chain_signatures = Some(chains);
    let signatures = c.public_verify.saturating_sub(chains);
    c.cert_parses = Some(match scenario.stack {
        Stack::Openssl => chains,
        Stack::Rustls | Stack::RustlsAwslc => signatures,
    });
}

/// The OpenSSL counts measured by callgrind on one side ([`super::anatomy::COUNTED`] calls),
/// in place of the inferred ones.
/// RSA and ECDSA both count as signatures and signature checks (a scenario's certificates are
/// of one type).
pub fn apply_measured(c: &mut SideCounts, p: &super::anatomy::SideProfile) {
    c.private_sign = p.calls("RSA_private_encrypt") + p.calls("ECDSA_sign_ex");
    c.private_decrypt = p.calls("RSA_private_decrypt");
    c.public_verify = p.calls("RSA_public_decrypt") + p.calls("ECDSA_verify");
    c.public_encrypt = p.calls("RSA_public_encrypt");
    // libssl derives each secret with two EVP_PKEY_derive calls (the length, then the secret)
    // and makes the peer's key template with EVP_PKEY_generate (paramgen): the calls made once
    // per secret and per key share are the peer-key set-up and EVP_PKEY_keygen.
    c.key_exchanges = p.calls("EVP_PKEY_derive_set_peer");
    c.key_shares = Some(p.calls("EVP_PKEY_keygen"));
    c.cert_parses = Some(p.calls("d2i_X509"));
    c.chain_verifications = Some(p.calls("X509_verify_cert"));
    c.chain_signatures = Some(p.calls("X509_verify"));
    c.kdf_calls = Some(p.calls("EVP_KDF_derive"));
    // Digest outputs outside HMAC (each HMAC output takes two: inner and outer hash). Every
    // HMAC of OpenSSL 3 ends in HMAC_Final (HKDF's, the PRF's through EVP_MAC, EVP_MAC's own);
    // EVP_MAC_final stands in where HMAC_Final was not seen.
    let hmacs = p.calls("HMAC_Final").max(p.calls("EVP_MAC_final"));
    c.hash_outputs = Some(p.calls("EVP_DigestFinal_ex").saturating_sub(2 * hmacs));
}

/// [`measure`] with the OpenSSL counts of `anatomy` (callgrind) where it has both sides of
/// the scenario; otherwise the inferred ones.
pub fn measure_with(
    scenario: Scenario,
    pki: &Pki,
    anatomy: Option<&super::anatomy::AnatomyFile>,
) -> Result<OpCounts> {
    let mut counts = measure(scenario, pki)?;
    if scenario.stack != Stack::Openssl {
        return Ok(counts);
    }
    let profiles = anatomy.and_then(|a| {
        Some((
            a.side(&scenario.id(Side::Client).full())?,
            a.side(&scenario.id(Side::Server).full())?,
        ))
    });
    if let Some((c, s)) = profiles {
        apply_measured(&mut counts.client, c);
        apply_measured(&mut counts.server, s);
        counts.pk_counts = How::Callgrind;
        counts.x509_counts = How::Callgrind;
        counts.method = "openssl: calls of the RSA, ECDSA, EVP, X.509 and KDF entry points counted by callgrind on each side's steps (`make anatomy`); records observed by the message callback";
    }
    Ok(counts)
}

/// Derives openssl's public-key operations and key exchanges from the messages one side sent
/// and received (OpenSSL has no hook on the operations themselves).
fn infer_openssl(protocol: Protocol, side: Side, r: &mut Raw) {
    let sent = |m: &str| r.c.messages_sent.iter().filter(|x| *x == m).count() as u64;
    let got = |m: &str| r.c.messages_received.iter().filter(|x| *x == m).count() as u64;
    let rsa_kx = protocol.rsa_key_transport();
    let tls13 = protocol.tls13();
    let c = match side {
        Side::Client => SideCounts {
            private_sign: sent("CertificateVerify"),
            public_encrypt: if rsa_kx { sent("ClientKeyExchange") } else { 0 },
            public_verify: r.certs_to_verify + got("ServerKeyExchange") + got("CertificateVerify"),
            key_exchanges: if tls13 {
                u64::from(r.key_share)
            } else if rsa_kx {
                0
            } else {
                got("ServerKeyExchange")
            },
            ..Default::default()
        },
        Side::Server => SideCounts {
            private_sign: sent("ServerKeyExchange") + sent("CertificateVerify"),
            private_decrypt: if rsa_kx { got("ClientKeyExchange") } else { 0 },
            public_verify: r.certs_to_verify + got("CertificateVerify"),
            key_exchanges: if tls13 {
                u64::from(r.key_share)
            } else if rsa_kx {
                0
            } else {
                got("ClientKeyExchange")
            },
            ..Default::default()
        },
    };
    r.c.private_sign = c.private_sign;
    r.c.private_decrypt = c.private_decrypt;
    r.c.public_verify = c.public_verify;
    r.c.public_encrypt = c.public_encrypt;
    r.c.key_exchanges = c.key_exchanges;
    r.c.kdf_calls = None;
    r.c.hash_outputs = None;
    r.c.record_macs = if rsa_kx {
        r.c.records_sealed + r.c.records_opened
    } else {
        0
    };
}

// ---------------------------------------------------------------------------------------------
// openssl: message callback

/// `SSL_CTX_set_msg_callback`'s callback type (openssl/ssl.h).
pub(crate) type MsgCallback = unsafe extern "C" fn(
    write_p: libc::c_int,
    version: libc::c_int,
    content_type: libc::c_int,
    buf: *const libc::c_void,
    len: libc::size_t,
    ssl: *mut libc::c_void,
    arg: *mut libc::c_void,
);

extern "C" {
    // libssl, linked through openssl-sys; the openssl crate does not wrap it.
    pub(crate) fn SSL_CTX_set_msg_callback(ctx: *mut libc::c_void, cb: Option<MsgCallback>);
}

/// Installs the counting message callback on an OpenSSL context.
pub(crate) fn install_openssl_callback(b: &mut openssl::ssl::SslContextBuilder) {
    // SAFETY: `as_ptr` is the live SSL_CTX of the builder; the callback is a plain function
    // that only reads the buffer OpenSSL passes for the duration of the call.
    unsafe { SSL_CTX_set_msg_callback(b.as_ptr().cast(), Some(on_openssl_message)) }
}

const SSL3_RT_CHANGE_CIPHER_SPEC: libc::c_int = 20;
const SSL3_RT_HANDSHAKE: libc::c_int = 22;
const SSL3_RT_HEADER: libc::c_int = 256;
const TLS1_3_VERSION: libc::c_int = 0x0304;

unsafe extern "C" fn on_openssl_message(
    write_p: libc::c_int,
    version: libc::c_int,
    content_type: libc::c_int,
    buf: *const libc::c_void,
    len: libc::size_t,
    _ssl: *mut libc::c_void,
    _arg: *mut libc::c_void,
) {
    let bytes: &[u8] = if buf.is_null() || len == 0 {
        &[]
    } else {
        // SAFETY: OpenSSL passes `len` readable bytes at `buf` for the duration of the call.
        unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) }
    };
    openssl_message(write_p != 0, version, content_type, bytes);
}

fn openssl_message(write: bool, version: libc::c_int, content_type: libc::c_int, b: &[u8]) {
    bump(|r| match content_type {
        // Headers of written records (OpenSSL does not report those it reads): protected once
        // this side sent its ChangeCipherSpec (TLS 1.2) or when the outer type is
        // application_data (TLS 1.3).
        SSL3_RT_HEADER if write && b.len() >= 5 && (b[0] == 23 || r.write_protected) => {
            r.c.records_sealed += 1;
            r.c.sealed_bytes += u64::from(u16::from_be_bytes([b[3], b[4]]));
        }
        SSL3_RT_CHANGE_CIPHER_SPEC if write => r.write_protected = true,
        SSL3_RT_HANDSHAKE if !b.is_empty() => {
            let name = message_name(b[0]).to_string();
            if b[0] == 2 && server_hello_has_key_share(b) {
                r.key_share = true;
            }
            if b[0] == 11 && !write {
                r.certs_to_verify += certs_to_verify(b, version == TLS1_3_VERSION);
            }
            if write {
                r.c.messages_sent.push(name)
            } else {
                r.c.messages_received.push(name)
            }
        }
        _ => {}
    });
}

/// The name of a TLS handshake message type.
pub fn message_name(t: u8) -> &'static str {
    match t {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        24 => "KeyUpdate",
        _ => "Other",
    }
}

/// Reads a big-endian length of `n` bytes at `*at`, advancing it.
fn read_len(b: &[u8], at: &mut usize, n: usize) -> Option<usize> {
    let s = b.get(*at..*at + n)?;
    *at += n;
    Some(s.iter().fold(0usize, |acc, x| (acc << 8) | usize::from(*x)))
}

/// Whether a ServerHello message (with its 4-byte header) carries a key_share extension (TLS 1.3
/// full or psk_dhe_ke handshake).
fn server_hello_has_key_share(b: &[u8]) -> bool {
    let mut at = 4 + 2 + 32; // header, legacy_version, random
    let parse = |at: &mut usize| -> Option<bool> {
        let sid = read_len(b, at, 1)?;
        *at += sid + 2 + 1; // session id, cipher suite, compression
        let ext_end = read_len(b, at, 2)? + *at;
        while *at + 4 <= ext_end.min(b.len()) {
            let typ = read_len(b, at, 2)?;
            let len = read_len(b, at, 2)?;
            if typ == 0x0033 {
                return Some(true);
            }
            *at += len;
        }
        Some(false)
    };
    parse(&mut at).unwrap_or(false)
}

/// The certificates of a Certificate message a verifier checks a signature on (all but
/// self-signed ones, which can only be trust anchors).
fn certs_to_verify(b: &[u8], tls13: bool) -> u64 {
    let mut at = 4;
    let mut n = 0;
    let mut parse = || -> Option<()> {
        if tls13 {
            let ctx = read_len(b, &mut at, 1)?;
            at += ctx;
        }
        let end = read_len(b, &mut at, 3)? + at;
        while at < end.min(b.len()) {
            let len = read_len(b, &mut at, 3)?;
            let der = b.get(at..at + len)?;
            at += len;
            if tls13 {
                let ext = read_len(b, &mut at, 2)?;
                at += ext;
            }
            let self_signed = openssl::x509::X509::from_der(der)
                .map(|c| c.issued(&c) == openssl::x509::X509VerifyResult::OK)
                .unwrap_or(false);
            if !self_signed {
                n += 1;
            }
        }
        Some(())
    };
    let _ = parse();
    n
}

// ---------------------------------------------------------------------------------------------
// rustls: counting CryptoProvider

mod provider {
    use super::bump;
    use rustls::crypto::cipher::{
        AeadKey, InboundOpaqueMessage, InboundPlainMessage, Iv, KeyBlockShape, MessageDecrypter,
        MessageEncrypter, OutboundOpaqueMessage, OutboundPlainMessage, Tls12AeadAlgorithm,
        Tls13AeadAlgorithm, UnsupportedOperationError,
    };
    use rustls::crypto::hash::{Context, Hash, HashAlgorithm, Output};
    use rustls::crypto::tls12::Prf;
    use rustls::crypto::tls13::{Hkdf, HkdfExpander, OkmBlock, OutputLengthError};
    use rustls::crypto::{
        hmac, ActiveKeyExchange, KeyProvider, SharedSecret, SupportedKxGroup,
        WebPkiSupportedAlgorithms,
    };
    use rustls::pki_types::{
        AlgorithmIdentifier, InvalidSignature, PrivateKeyDer, SignatureVerificationAlgorithm,
    };
    use rustls::sign::{Signer, SigningKey};
    use rustls::{
        ConnectionTrafficSecrets, Error, NamedGroup, SignatureAlgorithm, SignatureScheme,
        SupportedProtocolVersion,
    };
    use std::fmt;
    use std::sync::Arc;

    pub(super) fn leak_static<T>(t: T) -> &'static T {
        Box::leak(Box::new(t))
    }

    #[derive(Debug)]
    pub(super) struct Keys(pub &'static dyn KeyProvider);
    impl KeyProvider for Keys {
        fn load_private_key(
            &self,
            der: PrivateKeyDer<'static>,
        ) -> Result<Arc<dyn SigningKey>, Error> {
            Ok(Arc::new(Key(self.0.load_private_key(der)?)))
        }
    }

    #[derive(Debug)]
    struct Key(Arc<dyn SigningKey>);
    impl SigningKey for Key {
        fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
            self.0
                .choose_scheme(offered)
                .map(|s| Box::new(Sign(s)) as Box<dyn Signer>)
        }
        fn public_key(&self) -> Option<rustls::pki_types::SubjectPublicKeyInfoDer<'_>> {
            self.0.public_key()
        }
        fn algorithm(&self) -> SignatureAlgorithm {
            self.0.algorithm()
        }
    }

    #[derive(Debug)]
    struct Sign(Box<dyn Signer>);
    impl Signer for Sign {
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
            bump(|r| r.c.private_sign += 1);
            self.0.sign(message)
        }
        fn scheme(&self) -> SignatureScheme {
            self.0.scheme()
        }
    }

    #[derive(Debug)]
    pub(super) struct Group(pub &'static dyn SupportedKxGroup);
    impl SupportedKxGroup for Group {
        fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, Error> {
            Ok(Box::new(Active(self.0.start()?)))
        }
        // A KEM (ML-KEM, the X25519MLKEM768 hybrid) encapsulates on the server in one step:
        // the default (start, then complete) would decapsulate instead and fail the handshake.
        fn start_and_complete(
            &self,
            peer_pub_key: &[u8],
        ) -> Result<rustls::crypto::CompletedKeyExchange, Error> {
            bump(|r| r.c.key_exchanges += 1);
            self.0.start_and_complete(peer_pub_key)
        }
        fn name(&self) -> NamedGroup {
            self.0.name()
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
        fn usable_for_version(&self, version: rustls::ProtocolVersion) -> bool {
            self.0.usable_for_version(version)
        }
    }

    struct Active(Box<dyn ActiveKeyExchange>);
    impl ActiveKeyExchange for Active {
        fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, Error> {
            bump(|r| r.c.key_exchanges += 1);
            self.0.complete(peer_pub_key)
        }
        fn complete_for_tls_version(
            self: Box<Self>,
            peer_pub_key: &[u8],
            tls_version: &SupportedProtocolVersion,
        ) -> Result<SharedSecret, Error> {
            bump(|r| r.c.key_exchanges += 1);
            self.0.complete_for_tls_version(peer_pub_key, tls_version)
        }
        fn hybrid_component(&self) -> Option<(NamedGroup, &[u8])> {
            self.0.hybrid_component()
        }
        fn complete_hybrid_component(
            self: Box<Self>,
            peer_pub_key: &[u8],
        ) -> Result<SharedSecret, Error> {
            bump(|r| r.c.key_exchanges += 1);
            self.0.complete_hybrid_component(peer_pub_key)
        }
        fn pub_key(&self) -> &[u8] {
            self.0.pub_key()
        }
        fn group(&self) -> NamedGroup {
            self.0.group()
        }
    }

    struct Verify(&'static dyn SignatureVerificationAlgorithm);
    impl fmt::Debug for Verify {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "Counting({:?})", self.0)
        }
    }
    impl SignatureVerificationAlgorithm for Verify {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidSignature> {
            bump(|r| r.c.public_verify += 1);
            self.0.verify_signature(public_key, message, signature)
        }
        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            self.0.public_key_alg_id()
        }
        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            self.0.signature_alg_id()
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }

    /// The same algorithms, each wrapped once (wrappers are leaked: built once per process).
    pub(super) fn verifiers(inner: WebPkiSupportedAlgorithms) -> WebPkiSupportedAlgorithms {
        let wrap = |a: &'static dyn SignatureVerificationAlgorithm| -> &'static dyn SignatureVerificationAlgorithm {
            leak_static(Verify(a))
        };
        let all: Vec<&'static dyn SignatureVerificationAlgorithm> =
            inner.all.iter().map(|a| wrap(*a)).collect();
        let mapping: Vec<(
            SignatureScheme,
            &'static [&'static dyn SignatureVerificationAlgorithm],
        )> = inner
            .mapping
            .iter()
            .map(|(scheme, algs)| {
                let algs: Vec<&'static dyn SignatureVerificationAlgorithm> =
                    algs.iter().map(|a| wrap(*a)).collect();
                (*scheme, &*Vec::leak(algs))
            })
            .collect();
        WebPkiSupportedAlgorithms {
            all: Vec::leak(all),
            mapping: Vec::leak(mapping),
        }
    }

    pub(super) struct HashCount(pub &'static dyn Hash);
    impl Hash for HashCount {
        fn start(&self) -> Box<dyn Context> {
            Box::new(Ctx(self.0.start()))
        }
        fn hash(&self, data: &[u8]) -> Output {
            bump(|r| *r.c.hash_outputs.get_or_insert(0) += 1);
            self.0.hash(data)
        }
        fn output_len(&self) -> usize {
            self.0.output_len()
        }
        fn algorithm(&self) -> HashAlgorithm {
            self.0.algorithm()
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }

    struct Ctx(Box<dyn Context>);
    impl Context for Ctx {
        fn fork_finish(&self) -> Output {
            bump(|r| *r.c.hash_outputs.get_or_insert(0) += 1);
            self.0.fork_finish()
        }
        fn fork(&self) -> Box<dyn Context> {
            Box::new(Ctx(self.0.fork()))
        }
        fn finish(self: Box<Self>) -> Output {
            bump(|r| *r.c.hash_outputs.get_or_insert(0) += 1);
            self.0.finish()
        }
        fn update(&mut self, data: &[u8]) {
            self.0.update(data)
        }
    }

    fn kdf() {
        bump(|r| *r.c.kdf_calls.get_or_insert(0) += 1);
    }

    pub(super) struct PrfCount(pub &'static dyn Prf);
    impl Prf for PrfCount {
        fn for_key_exchange(
            &self,
            output: &mut [u8; 48],
            kx: Box<dyn ActiveKeyExchange>,
            peer_pub_key: &[u8],
            label: &[u8],
            seed: &[u8],
        ) -> Result<(), Error> {
            kdf();
            self.0
                .for_key_exchange(output, kx, peer_pub_key, label, seed)
        }
        fn for_secret(&self, output: &mut [u8], secret: &[u8], label: &[u8], seed: &[u8]) {
            kdf();
            self.0.for_secret(output, secret, label, seed)
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }

    pub(super) struct HkdfCount(pub &'static dyn Hkdf);
    impl Hkdf for HkdfCount {
        fn extract_from_zero_ikm(&self, salt: Option<&[u8]>) -> Box<dyn HkdfExpander> {
            kdf();
            Box::new(Expander(self.0.extract_from_zero_ikm(salt)))
        }
        fn extract_from_secret(&self, salt: Option<&[u8]>, secret: &[u8]) -> Box<dyn HkdfExpander> {
            kdf();
            Box::new(Expander(self.0.extract_from_secret(salt, secret)))
        }
        fn extract_from_kx_shared_secret(
            &self,
            salt: Option<&[u8]>,
            kx: Box<dyn ActiveKeyExchange>,
            peer_pub_key: &[u8],
        ) -> Result<Box<dyn HkdfExpander>, Error> {
            kdf();
            Ok(Box::new(Expander(self.0.extract_from_kx_shared_secret(
                salt,
                kx,
                peer_pub_key,
            )?)))
        }
        fn expander_for_okm(&self, okm: &OkmBlock) -> Box<dyn HkdfExpander> {
            Box::new(Expander(self.0.expander_for_okm(okm)))
        }
        fn hmac_sign(&self, key: &OkmBlock, message: &[u8]) -> hmac::Tag {
            kdf();
            self.0.hmac_sign(key, message)
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }

    struct Expander(Box<dyn HkdfExpander>);
    impl HkdfExpander for Expander {
        fn expand_slice(&self, info: &[&[u8]], output: &mut [u8]) -> Result<(), OutputLengthError> {
            kdf();
            self.0.expand_slice(info, output)
        }
        fn expand_block(&self, info: &[&[u8]]) -> OkmBlock {
            kdf();
            self.0.expand_block(info)
        }
        fn hash_len(&self) -> usize {
            self.0.hash_len()
        }
    }

    struct Seal(Box<dyn MessageEncrypter>);
    impl MessageEncrypter for Seal {
        fn encrypt(
            &mut self,
            msg: OutboundPlainMessage<'_>,
            seq: u64,
        ) -> Result<OutboundOpaqueMessage, Error> {
            let n = self.0.encrypted_payload_len(msg.payload.len()) as u64;
            bump(|r| {
                r.c.records_sealed += 1;
                r.c.sealed_bytes += n;
            });
            self.0.encrypt(msg, seq)
        }
        fn encrypted_payload_len(&self, payload_len: usize) -> usize {
            self.0.encrypted_payload_len(payload_len)
        }
    }

    struct Open(Box<dyn MessageDecrypter>);
    impl MessageDecrypter for Open {
        fn decrypt<'a>(
            &mut self,
            msg: InboundOpaqueMessage<'a>,
            seq: u64,
        ) -> Result<InboundPlainMessage<'a>, Error> {
            let n = msg.payload.len() as u64;
            bump(|r| {
                r.c.records_opened += 1;
                r.c.opened_bytes += n;
            });
            self.0.decrypt(msg, seq)
        }
    }

    pub(super) struct Aead12(pub &'static dyn Tls12AeadAlgorithm);
    impl Tls12AeadAlgorithm for Aead12 {
        fn encrypter(&self, key: AeadKey, iv: &[u8], extra: &[u8]) -> Box<dyn MessageEncrypter> {
            Box::new(Seal(self.0.encrypter(key, iv, extra)))
        }
        fn decrypter(&self, key: AeadKey, iv: &[u8]) -> Box<dyn MessageDecrypter> {
            Box::new(Open(self.0.decrypter(key, iv)))
        }
        fn key_block_shape(&self) -> KeyBlockShape {
            self.0.key_block_shape()
        }
        fn extract_keys(
            &self,
            key: AeadKey,
            iv: &[u8],
            explicit: &[u8],
        ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
            self.0.extract_keys(key, iv, explicit)
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }

    pub(super) struct Aead13(pub &'static dyn Tls13AeadAlgorithm);
    impl Tls13AeadAlgorithm for Aead13 {
        fn encrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageEncrypter> {
            Box::new(Seal(self.0.encrypter(key, iv)))
        }
        fn decrypter(&self, key: AeadKey, iv: Iv) -> Box<dyn MessageDecrypter> {
            Box::new(Open(self.0.decrypter(key, iv)))
        }
        fn key_len(&self) -> usize {
            self.0.key_len()
        }
        fn extract_keys(
            &self,
            key: AeadKey,
            iv: Iv,
        ) -> Result<ConnectionTrafficSecrets, UnsupportedOperationError> {
            self.0.extract_keys(key, iv)
        }
        fn fips(&self) -> bool {
            self.0.fips()
        }
    }
}

type Provider = Arc<rustls::crypto::CryptoProvider>;

/// `base` (a ring or aws-lc-rs provider, already restricted to the scenario's suite and
/// groups) with every operation counted (see the module doc). Built once per `key` and
/// process (the wrappers live for the whole process): `key` names what `base` holds.
pub fn counting_provider(
    key: &str,
    base: rustls::crypto::CryptoProvider,
) -> Arc<rustls::crypto::CryptoProvider> {
    use provider::*;
    use rustls::SupportedCipherSuite as S;
    static CACHE: OnceLock<std::sync::Mutex<Vec<(String, Provider)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, p)) = cache.iter().find(|(k, _)| k == key) {
        return p.clone();
    }
    let counted = |suite: &S| match suite {
        S::Tls12(s) => S::Tls12(leak_static(rustls::Tls12CipherSuite {
            common: rustls::crypto::CipherSuiteCommon {
                hash_provider: leak_static(HashCount(s.common.hash_provider)),
                ..s.common
            },
            prf_provider: leak_static(PrfCount(s.prf_provider)),
            aead_alg: leak_static(Aead12(s.aead_alg)),
            ..**s
        })),
        S::Tls13(s) => S::Tls13(leak_static(rustls::Tls13CipherSuite {
            common: rustls::crypto::CipherSuiteCommon {
                hash_provider: leak_static(HashCount(s.common.hash_provider)),
                ..s.common
            },
            hkdf_provider: leak_static(HkdfCount(s.hkdf_provider)),
            aead_alg: leak_static(Aead13(s.aead_alg)),
            ..**s
        })),
    };
    let kx_groups = base
        .kx_groups
        .iter()
        .map(|g| leak_static(Group(*g)) as &'static dyn rustls::crypto::SupportedKxGroup)
        .collect();
    let p = Arc::new(rustls::crypto::CryptoProvider {
        cipher_suites: base.cipher_suites.iter().map(counted).collect(),
        kx_groups,
        signature_verification_algorithms: verifiers(base.signature_verification_algorithms),
        secure_random: base.secure_random,
        key_provider: leak_static(Keys(base.key_provider)),
    });
    cache.push((key.to_string(), p.clone()));
    p
}

/// Counts of every supported scenario (each after its own check).
/// Scenarios this build cannot run ([`Scenario::available`]: the 3DES suite on the system
/// OpenSSL) are left out.
pub fn measure_all(pki: &Pki) -> Result<Vec<OpCounts>> {
    Scenario::ALL
        .iter()
        .filter(|s| s.available().is_ok())
        .map(|s| measure(*s, pki))
        .collect()
}

/// Whether a kind/protocol pair uses RSA key transport (used by reports).
pub fn rsa_key_transport(s: &Scenario) -> bool {
    s.protocol.rsa_key_transport()
}
