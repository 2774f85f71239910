//! The parts of a handshake that the residual would otherwise hide, as components of their
//! own (criterion bench `parts`), each on the implementations that have it:
//!
//! | group | what one iteration does | implementations |
//! |---|---|---|
//! | `x509/<impl>/parse/<rsa-2048\|ecdsa-p256>` | DER to the library's certificate object (the server's leaf of that key type) | openssl (`d2i_X509`, which also decodes the public key), webpki (rustls's parser, with either provider) |
//! | `x509/<impl>/verify-chain/<rsa-2048\|ecdsa-p256>` | the server's leaf to the fixtures' CA of its type with the stack's verifier, its signature check included | openssl (`X509_verify_cert`), webpki (rustls's `WebPkiServerVerifier` on ring, which parses the leaf itself) |
//! | `conn/<stack>/<side>/new` | creating a connection object (freeing it is not timed, as in the handshake benches) | openssl (`SSL_new`: OpenSSL's perf tools call it sslnew), rustls, rustls-awslc (`ClientConnection::new` builds and queues its ClientHello; TLS 1.2 configuration, so without a key share) |
//! | `kx/<backend>/<group>/<op>` | key-share generation (`keygen`) and shared-secret derivation from the peer's share (`derive`); ML-KEM: `keygen`, `encapsulate`, `decapsulate` | openssl, ring (rustls's provider API), awslc (aws-lc-rs; the only one here with ML-KEM-768) |
//! | `kdf/<backend>/tls12-prf/<master-secret\|key-block>` | one TLS 1.2 PRF call (SHA-256): the 48-byte extended master secret, the 104-byte key block of AES128-SHA | openssl (`EVP_KDF` TLS1-PRF, fetched per call as libssl 3 does), ring and awslc (rustls's PRF provider on each), rustcrypto (hmac + sha2, hand-written: the independent reference) |
//! | `kdf/<backend>/tls13-hkdf/<expand-label\|key-schedule>` | one HKDF-Expand-Label of a 32-byte secret; the whole TLS 1.3 key schedule of a full handshake (3 extracts, 18 expands, 2 Finished HMACs) | openssl (`EVP_KDF` HKDF), ring and awslc (rustls's HKDF provider on each), rustcrypto |
//! | `transcript/<backend>/sha256/<bytes>` | hashing `bytes` of handshake messages and taking the hash out of a copy of the context (a transcript hash: the context goes on) | openssl (EVP), ring and awslc (rustls's hash provider on each) |
//! | `rsa/ring/<sign\|verify>/2048` | PKCS#1 v1.5 SHA-256 signature and its verification on ring: what rustls's provider signs and verifies with | ring ([`crate::crypto::ring`]); aws-lc-rs's are `rsa/awslc/*` of the primitives bench |
//! | `ecdsa/<backend>/<sign\|verify>/p256` | an ECDSA P-256 SHA-256 signature (DER) and its verification, as TLS's `ecdsa_secp256r1_sha256` | openssl (EVP), ring, awslc ([`crate::crypto::ecdsa`]) |
//! | `ticket/<stack>/<seal\|open>` | a rustls server's stateless session ticket encrypted / decrypted by its provider's `Ticketer`, of the size its server encrypts | rustls (ChaCha20-Poly1305), rustls-awslc (AES-256-CBC + HMAC-SHA256); none on openssl ([`NO_OPENSSL_TICKET`]) |
//!
//! Every case checks before it is timed that it does what its name says: a parsed certificate
//! is the one for `localhost` with the named key type; a chain verifies to its CA, not to the
//! other type's CA, and the rogue client's (another CA) does not verify; both ends of a key
//! exchange derive the same secret; every PRF and HKDF output equals the hand-written
//! reference; a transcript hash equals the `sha2` crate's; a signature verifies (an ECDSA one
//! on another implementation too) and a flipped bit does not; a ticket decrypts to its
//! plaintext, does not hold it in the clear, and a flipped bit does not decrypt. A failed
//! check is [`Error::SelfCheck`] naming the bench.

use super::{Cert, CertAndKey, Pki, Stack, SERVER_NAME};
use crate::crypto::cases::{check, in_check, Case, Skip, SIGNED_MESSAGE};
use crate::crypto::ecdsa::{verify_point, EcdsaBackend, EcdsaP256};
use crate::names::{BenchId, Dimension};
use crate::{Error, Result};
use std::hint::black_box;
use std::rc::Rc;
use std::time::Duration;

/// The certificate parameter of the x509 benches: the fixtures' RSA-2048 leaf.
pub const CERT: &str = "rsa-2048";
/// The transcript sizes benched (a small update plus the finish, and a whole handshake's).
pub const TRANSCRIPT_SIZES: [usize; 2] = [64, 4096];
/// RSA modulus of the ring benches.
pub const RING_RSA_BITS: u32 = 2048;
/// Why there is no `ticket/openssl/*` bench.
pub const NO_OPENSSL_TICKET: &str = "OpenSSL seals and opens its session tickets inside libssl \
     (tls_construct_new_session_ticket, tls_decrypt_ticket: the session's DER under AES-256-CBC \
     and HMAC-SHA256, both fetched per ticket): no API runs that alone, so it stays in the \
     residual of the handshake sides, named by their profiles";

type Builder = Box<dyn Fn(&BenchId) -> Result<Box<dyn Case>>>;

/// A named part and how to set it up.
pub struct PartSpec {
    /// Its name.
    pub id: BenchId,
    build: Builder,
}

impl PartSpec {
    fn new(id: BenchId, build: impl Fn(&BenchId) -> Result<Box<dyn Case>> + 'static) -> Self {
        PartSpec {
            id,
            build: Box::new(build),
        }
    }

    /// Sets the case up and runs its self-check.
    pub fn build(&self) -> Result<Box<dyn Case>> {
        (self.build)(&self.id)
    }
}

/// Every part, and the combinations left out (with why).
pub struct PartsPlan {
    /// Runnable parts, in report order.
    pub cases: Vec<PartSpec>,
    /// Left out.
    pub skipped: Vec<Skip>,
}

fn ossl(op: &'static str) -> impl Fn(openssl::error::ErrorStack) -> Error {
    move |e| Error::Crypto {
        backend: "openssl",
        op,
        detail: e.to_string(),
    }
}

fn failed(backend: &'static str, op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend,
        op,
        detail: e.to_string(),
    }
}

/// A case timed one iteration at a time, with untimed work around each (set-up of a value the
/// timed step consumes, or freeing what it made).
/// What the timed step made is dropped after the clock stopped.
struct Each<S, T, F: FnMut() -> Result<S>, G: FnMut(S) -> Result<T>> {
    prepare: F,
    timed_step: G,
    _s: std::marker::PhantomData<(S, T)>,
}

impl<S, T, F: FnMut() -> Result<S>, G: FnMut(S) -> Result<T>> Case for Each<S, T, F, G> {
    fn run(&mut self) -> Result<()> {
        let s = (self.prepare)()?;
        (self.timed_step)(s).map(drop)
    }
    fn batched(&self) -> bool {
        true
    }
    fn timed(&mut self, iters: u64) -> Result<Duration> {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let s = (self.prepare)()?;
            // Thread CPU time, as every other case and the handshake steps it is set against.
            let t = crate::cputime::CpuTimer::start();
            let made = (self.timed_step)(black_box(s))?;
            total += t.elapsed();
            drop(black_box(made));
        }
        Ok(total)
    }
}

fn each<S: 'static, T: 'static>(
    prepare: impl FnMut() -> Result<S> + 'static,
    timed_step: impl FnMut(S) -> Result<T> + 'static,
) -> Box<dyn Case> {
    Box::new(Each {
        prepare,
        timed_step,
        _s: std::marker::PhantomData,
    })
}

/// A case whose every iteration is timed whole.
struct Plain<F: FnMut() -> Result<()>>(F);
impl<F: FnMut() -> Result<()>> Case for Plain<F> {
    fn run(&mut self) -> Result<()> {
        (self.0)()
    }
}

fn plain(f: impl FnMut() -> Result<()> + 'static) -> Box<dyn Case> {
    Box::new(Plain(f))
}

/// The certificate DERs of a PEM.
fn ders(pem: &[u8]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| failed("rustls", "parse certificate PEM", e))
}

fn leaf_der(who: &CertAndKey) -> Result<Vec<u8>> {
    ders(&who.cert)?
        .into_iter()
        .next()
        .map(|c| c.to_vec())
        .ok_or_else(|| failed("rustls", "parse certificate PEM", "no certificate"))
}

// ------------------------------------------------------------------ x509

/// The certificate parameter of the x509 benches for a certificate type.
pub fn x509_param(cert: Cert) -> &'static str {
    match cert {
        Cert::Rsa2048 => CERT,
        Cert::EcdsaP256 => "ecdsa-p256",
    }
}

/// The other certificate type (its CA did not sign this type's certificates).
fn other_cert(cert: Cert) -> Cert {
    match cert {
        Cert::Rsa2048 => Cert::EcdsaP256,
        Cert::EcdsaP256 => Cert::Rsa2048,
    }
}

/// A signature over [`SIGNED_MESSAGE`] by the server key of type `cert` (made with ring, the
/// webpki parse check's independent signer).
fn server_signature(pki: &Pki, cert: Cert) -> Result<Vec<u8>> {
    let pem = &pki.server_of(cert).key;
    match cert {
        Cert::Rsa2048 => crate::crypto::ring::RingRsa::from_pkcs8_pem(pem)?.sign(&SIGNED_MESSAGE),
        Cert::EcdsaP256 => {
            EcdsaP256::from_pkcs8_pem(EcdsaBackend::Ring, pem)?.sign(&SIGNED_MESSAGE)
        }
    }
}

/// webpki's verification algorithm of a certificate type's handshake signatures.
fn webpki_alg(cert: Cert) -> &'static dyn rustls::pki_types::SignatureVerificationAlgorithm {
    match cert {
        Cert::Rsa2048 => webpki::ring::RSA_PKCS1_2048_8192_SHA256,
        Cert::EcdsaP256 => webpki::ring::ECDSA_P256_SHA256,
    }
}

fn x509_openssl_parse(id: &BenchId, pki: &Pki, cert: Cert) -> Result<Box<dyn Case>> {
    let der = leaf_der(pki.server_of(cert))?;
    let parsed = in_check(
        id,
        openssl::x509::X509::from_der(&der).map_err(ossl("d2i_X509")),
    )?;
    let names: Vec<String> = parsed
        .subject_alt_names()
        .map(|s| {
            s.iter()
                .filter_map(|n| n.dnsname().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    check(
        id,
        names.iter().any(|n| n == SERVER_NAME),
        format!("the parsed certificate names {names:?}, not {SERVER_NAME}"),
    )?;
    let key = super::cert_label(&der);
    check(
        id,
        key == cert.label(),
        format!(
            "the parsed certificate's key is {key}, not {}",
            cert.label()
        ),
    )?;
    Ok(each(
        || Ok(()),
        move |()| openssl::x509::X509::from_der(black_box(&der)).map_err(ossl("d2i_X509")),
    ))
}

fn x509_webpki_parse(id: &BenchId, pki: &Pki, cert: Cert) -> Result<Box<dyn Case>> {
    let der = rustls::pki_types::CertificateDer::from(leaf_der(pki.server_of(cert))?);
    let name = rustls::pki_types::ServerName::try_from(SERVER_NAME)
        .map_err(|e| failed("webpki", "server name", e))?;
    let other = rustls::pki_types::ServerName::try_from("example.com")
        .map_err(|e| failed("webpki", "server name", e))?;
    let sig = in_check(id, server_signature(pki, cert))?;
    {
        let parsed = in_check(
            id,
            webpki::EndEntityCert::try_from(&der).map_err(|e| failed("webpki", "parse", e)),
        )?;
        check(
            id,
            parsed.verify_is_valid_for_subject_name(&name).is_ok(),
            "the parsed certificate is not valid for localhost",
        )?;
        check(
            id,
            parsed.verify_is_valid_for_subject_name(&other).is_err(),
            "the parsed certificate is also valid for example.com",
        )?;
        // The key type: the server key's signature verifies with this type's algorithm and
        // the other type's algorithm refuses the key.
        check(
            id,
            parsed
                .verify_signature(webpki_alg(cert), &SIGNED_MESSAGE, &sig)
                .is_ok(),
            format!(
                "the parsed certificate's key does not verify the server key's {} signature",
                cert.label()
            ),
        )?;
        check(
            id,
            parsed
                .verify_signature(webpki_alg(other_cert(cert)), &SIGNED_MESSAGE, &sig)
                .is_err(),
            format!(
                "the parsed certificate's key is also taken as {}",
                other_cert(cert).label()
            ),
        )?;
    }
    Ok(plain(move || {
        let c = webpki::EndEntityCert::try_from(black_box(&der))
            .map_err(|e| failed("webpki", "parse", e))?;
        black_box(&c);
        Ok(())
    }))
}

fn x509_openssl_chain(id: &BenchId, pki: &Pki, cert: Cert) -> Result<Box<dyn Case>> {
    use openssl::stack::Stack;
    use openssl::x509::store::{X509Store, X509StoreBuilder};
    use openssl::x509::{X509StoreContext, X509};
    let store = |ca_pem: &[u8]| -> Result<X509Store> {
        let ca = X509::from_pem(ca_pem).map_err(ossl("parse CA"))?;
        let mut b = X509StoreBuilder::new().map_err(ossl("X509_STORE_new"))?;
        b.add_cert(ca).map_err(ossl("add CA"))?;
        Ok(b.build())
    };
    let (right, wrong) = (store(pki.ca_of(cert))?, store(pki.ca_of(other_cert(cert)))?);
    let leaf = X509::from_pem(&pki.server_of(cert).cert).map_err(ossl("parse leaf"))?;
    let rogue = X509::from_pem(&pki.rogue_client.cert).map_err(ossl("parse rogue"))?;
    let chain = Stack::new().map_err(ossl("stack"))?;
    let verify = move |store: &X509Store, cert: &X509| -> Result<bool> {
        let mut ctx = X509StoreContext::new().map_err(ossl("X509_STORE_CTX_new"))?;
        ctx.init(store, cert, &chain, |c| c.verify_cert())
            .map_err(ossl("X509_verify_cert"))
    };
    check(
        id,
        in_check(id, verify(&right, &leaf))?,
        "the server certificate does not verify to its CA",
    )?;
    check(
        id,
        !in_check(id, verify(&wrong, &leaf))?,
        "the server certificate verifies to a CA that did not sign it",
    )?;
    check(
        id,
        !in_check(id, verify(&right, &rogue))?,
        "a certificate of another CA verifies",
    )?;
    Ok(plain(move || {
        black_box(verify(&right, black_box(&leaf))?);
        Ok(())
    }))
}

fn x509_webpki_chain(id: &BenchId, pki: &Pki, cert: Cert) -> Result<Box<dyn Case>> {
    use rustls::client::WebPkiServerVerifier;
    use rustls::pki_types::{ServerName, UnixTime};
    let provider = Arc::new(super::rustls::provider(&super::Scenario::new(
        super::Stack::Rustls,
        super::Protocol::Tls13Aes128Gcm,
        super::Kind::Full,
    ))?);
    let verifier = |ca_pem: &[u8]| -> Result<Arc<WebPkiServerVerifier>> {
        let mut roots = rustls::RootCertStore::empty();
        for c in ders(ca_pem)? {
            roots.add(c).map_err(|e| failed("rustls", "add CA", e))?;
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| failed("rustls", "server verifier", e))
    };
    let (right, wrong) = (
        verifier(pki.ca_of(cert))?,
        verifier(pki.ca_of(other_cert(cert)))?,
    );
    let leaf = rustls::pki_types::CertificateDer::from(leaf_der(pki.server_of(cert))?);
    let rogue = rustls::pki_types::CertificateDer::from(leaf_der(&pki.rogue_client)?);
    let name = ServerName::try_from(SERVER_NAME).map_err(|e| failed("rustls", "name", e))?;
    let verify = move |v: &WebPkiServerVerifier, c: &rustls::pki_types::CertificateDer<'static>| {
        v.verify_server_cert(c, &[], &name, &[], UnixTime::now())
    };
    check(
        id,
        verify(&right, &leaf).is_ok(),
        "the server certificate does not verify to its CA",
    )?;
    check(
        id,
        verify(&wrong, &leaf).is_err(),
        "the server certificate verifies to a CA that did not sign it",
    )?;
    check(
        id,
        verify(&right, &rogue).is_err(),
        "a certificate of another CA verifies",
    )?;
    Ok(plain(move || {
        black_box(verify(&right, black_box(&leaf))).map_err(|e| failed("rustls", "verify", e))?;
        Ok(())
    }))
}

use rustls::client::danger::ServerCertVerifier;
use std::sync::Arc;

// ------------------------------------------------------------------ conn

fn conn_openssl(id: &BenchId, pki: &Pki, server: bool) -> Result<Box<dyn Case>> {
    use openssl::ssl::{Ssl, SslContextBuilder, SslMethod, SslVerifyMode};
    let method = if server {
        SslMethod::tls_server()
    } else {
        SslMethod::tls_client()
    };
    let mut b = SslContextBuilder::new(method).map_err(ossl("SSL_CTX_new"))?;
    if server {
        super::openssl::identity(&mut b, &pki.server)?;
    } else {
        super::openssl::trust(&mut b, &pki.ca)?;
        b.set_verify(SslVerifyMode::PEER);
    }
    let ctx = b.build();
    // What the handshake's step does to a new client object before SSL_connect.
    let make = move || -> Result<Ssl> {
        let mut ssl = Ssl::new(&ctx).map_err(ossl("SSL_new"))?;
        if !server {
            ssl.set_hostname(SERVER_NAME).map_err(ossl("set SNI"))?;
            ssl.param_mut()
                .set_host(SERVER_NAME)
                .map_err(ossl("set host"))?;
        }
        Ok(ssl)
    };
    let ssl = in_check(id, make())?;
    let ok = if server {
        ssl.ssl_context().certificate().is_some()
    } else {
        ssl.servername(openssl::ssl::NameType::HOST_NAME) == Some(SERVER_NAME)
    };
    check(
        id,
        ok,
        "the new connection object is not set up as its side's",
    )?;
    Ok(each(|| Ok(()), move |()| make()))
}

fn conn_rustls(id: &BenchId, pki: &Pki, stack: Stack, server: bool) -> Result<Box<dyn Case>> {
    use rustls::client::Resumption;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{PrivateKeyDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, ServerConfig, ServerConnection};
    let provider = Arc::new(super::rustls::provider(&super::Scenario::new(
        stack,
        super::Protocol::Tls12EcdheRsaAes128Gcm,
        super::Kind::Full,
    ))?);
    let e = |op| move |e: rustls::Error| failed("rustls", op, e);
    if server {
        let key = PrivateKeyDer::from_pem_slice(&pki.server.key)
            .map_err(|e| failed("rustls", "key", e))?;
        let config = Arc::new(
            ServerConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS12])
                .map_err(e("versions"))?
                .with_no_client_auth()
                .with_single_cert(ders(&pki.server.cert)?, key)
                .map_err(e("certificate"))?,
        );
        let c = in_check(
            id,
            ServerConnection::new(config.clone()).map_err(e("ServerConnection::new")),
        )?;
        check(
            id,
            c.is_handshaking() && !c.wants_write(),
            "a new server connection should wait for the ClientHello",
        )?;
        return Ok(each(
            || Ok(()),
            move |()| ServerConnection::new(config.clone()).map_err(e("ServerConnection::new")),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for c in ders(&pki.ca)? {
        roots.add(c).map_err(e("add CA"))?;
    }
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .map_err(e("versions"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = Resumption::disabled();
    let config = Arc::new(config);
    let name = ServerName::try_from(SERVER_NAME).map_err(|e| failed("rustls", "name", e))?;
    let c = in_check(
        id,
        ClientConnection::new(config.clone(), name.clone()).map_err(e("ClientConnection::new")),
    )?;
    check(
        id,
        c.is_handshaking() && c.wants_write(),
        "a new client connection should have its ClientHello queued",
    )?;
    Ok(each(
        || Ok(()),
        move |()| {
            ClientConnection::new(config.clone(), name.clone()).map_err(e("ClientConnection::new"))
        },
    ))
}

// ------------------------------------------------------------------ kx

/// Key-exchange groups of the `kx` benches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// X25519 (RFC 7748): the default group of both stacks here.
    X25519,
    /// NIST P-256 (secp256r1).
    P256,
    /// ML-KEM-768 (FIPS 203), the post-quantum half of X25519MLKEM768.
    MlKem768,
}

impl Group {
    /// Label in benchmark names.
    pub fn label(self) -> &'static str {
        match self {
            Group::X25519 => "x25519",
            Group::P256 => "p256",
            Group::MlKem768 => "mlkem768",
        }
    }
}

fn kx_openssl(id: &BenchId, group: Group, derive: bool) -> Result<Box<dyn Case>> {
    use openssl::derive::Deriver;
    use openssl::pkey::{Id, PKey, Private, Public};
    let gen = move || -> Result<PKey<Private>> {
        match group {
            Group::X25519 => PKey::generate_x25519().map_err(ossl("X25519 keygen")),
            _ => PKey::ec_gen("prime256v1").map_err(ossl("P-256 keygen")),
        }
    };
    let public = move |k: &PKey<Private>| -> Result<PKey<Public>> {
        match group {
            Group::X25519 => {
                let raw = k.raw_public_key().map_err(ossl("raw public key"))?;
                PKey::public_key_from_raw_bytes(&raw, Id::X25519).map_err(ossl("peer key"))
            }
            _ => {
                let der = k.public_key_to_der().map_err(ossl("public key DER"))?;
                PKey::public_key_from_der(&der).map_err(ossl("peer key"))
            }
        }
    };
    let agree = |mine: &PKey<Private>, peer: &PKey<Public>| -> Result<Vec<u8>> {
        let mut d = Deriver::new(mine).map_err(ossl("derive init"))?;
        d.set_peer(peer).map_err(ossl("derive set peer"))?;
        d.derive_to_vec().map_err(ossl("derive"))
    };
    let (a, b) = (in_check(id, gen())?, in_check(id, gen())?);
    let (pa, pb) = (in_check(id, public(&a))?, in_check(id, public(&b))?);
    let (ab, ba) = (in_check(id, agree(&a, &pb))?, in_check(id, agree(&b, &pa))?);
    check(
        id,
        ab == ba && ab.len() == 32,
        "the two ends derived different secrets",
    )?;
    if derive {
        return Ok(plain(move || {
            black_box(agree(&a, black_box(&pb))?);
            Ok(())
        }));
    }
    Ok(plain(move || {
        black_box(gen()?);
        Ok(())
    }))
}

fn kx_ring(id: &BenchId, group: Group, derive: bool) -> Result<Box<dyn Case>> {
    use rustls::crypto::ring::kx_group;
    let g: &'static dyn rustls::crypto::SupportedKxGroup = match group {
        Group::X25519 => kx_group::X25519,
        _ => kx_group::SECP256R1,
    };
    let e = |e: rustls::Error| failed("ring", "key exchange", e);
    let (a, b) = (
        in_check(id, g.start().map_err(e))?,
        in_check(id, g.start().map_err(e))?,
    );
    let (pa, pb) = (a.pub_key().to_vec(), b.pub_key().to_vec());
    let ab = in_check(id, a.complete(&pb).map_err(e))?;
    let ba = in_check(id, b.complete(&pa).map_err(e))?;
    check(
        id,
        ab.secret_bytes() == ba.secret_bytes(),
        "the two ends derived different secrets",
    )?;
    if derive {
        return Ok(each(
            move || g.start().map_err(e),
            move |kx| kx.complete(&pb).map_err(e),
        ));
    }
    Ok(plain(move || {
        black_box(g.start().map_err(e)?);
        Ok(())
    }))
}

#[cfg(feature = "awslc")]
fn kx_awslc(id: &BenchId, group: Group, op: &str) -> Result<Box<dyn Case>> {
    use aws_lc_rs::agreement::{self, EphemeralPrivateKey, UnparsedPublicKey};
    use aws_lc_rs::kem::{Ciphertext, DecapsulationKey, ML_KEM_768};
    let e = |op| move |e: aws_lc_rs::error::Unspecified| failed("awslc", op, e);
    if group == Group::MlKem768 {
        let dk = in_check(
            id,
            DecapsulationKey::generate(&ML_KEM_768).map_err(e("keygen")),
        )?;
        let ek = in_check(id, dk.encapsulation_key().map_err(e("ek")))?;
        let (ct, ss) = in_check(id, ek.encapsulate().map_err(e("encapsulate")))?;
        let ss2 = in_check(
            id,
            dk.decapsulate(Ciphertext::from(ct.as_ref()))
                .map_err(e("decapsulate")),
        )?;
        check(
            id,
            ss.as_ref() == ss2.as_ref(),
            "decapsulation gave another secret",
        )?;
        let ct = ct.as_ref().to_vec();
        return Ok(match op {
            "keygen" => plain(move || {
                let dk = DecapsulationKey::generate(&ML_KEM_768).map_err(e("keygen"))?;
                black_box(dk.encapsulation_key().map_err(e("ek"))?);
                Ok(())
            }),
            "encapsulate" => plain(move || {
                black_box(ek.encapsulate().map_err(e("encapsulate"))?);
                Ok(())
            }),
            _ => plain(move || {
                black_box(
                    dk.decapsulate(Ciphertext::from(&ct[..]))
                        .map_err(e("decapsulate"))?,
                );
                Ok(())
            }),
        });
    }
    let alg: &'static agreement::Algorithm = match group {
        Group::X25519 => &agreement::X25519,
        _ => &agreement::ECDH_P256,
    };
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let gen = move || -> Result<(EphemeralPrivateKey, Vec<u8>)> {
        let k = EphemeralPrivateKey::generate(alg, &rng).map_err(e("keygen"))?;
        let p = k.compute_public_key().map_err(e("public key"))?;
        Ok((k, p.as_ref().to_vec()))
    };
    let agree = move |k: EphemeralPrivateKey, peer: &[u8]| -> Result<Vec<u8>> {
        agreement::agree_ephemeral(
            k,
            UnparsedPublicKey::new(alg, peer),
            aws_lc_rs::error::Unspecified,
            |s| Ok(s.to_vec()),
        )
        .map_err(e("agree"))
    };
    let ((a, pa), (b, pb)) = (in_check(id, gen())?, in_check(id, gen())?);
    let (ab, ba) = (in_check(id, agree(a, &pb))?, in_check(id, agree(b, &pa))?);
    check(id, ab == ba, "the two ends derived different secrets")?;
    if op == "derive" {
        return Ok(each(move || gen().map(|(k, _)| k), move |k| agree(k, &pb)));
    }
    Ok(plain(move || {
        black_box(gen()?);
        Ok(())
    }))
}

// ------------------------------------------------------------------ kdf

/// A TLS 1.2 PRF (P_SHA256, RFC 5246 section 5).
pub trait Prf12 {
    /// PRF(secret, label, seed) into `out`.
    fn prf(&self, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()>;
}

/// HKDF with SHA-256 as the TLS 1.3 key schedule uses it (RFC 5869, RFC 8446 section 7.1).
pub trait Hkdf13 {
    /// A pseudo-random key.
    type Prk;
    /// HKDF-Extract(salt, ikm).
    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Self::Prk>;
    /// A secret taken as a pseudo-random key (the traffic secrets).
    fn prk(&self, secret: &[u8]) -> Result<Self::Prk>;
    /// HKDF-Expand(prk, info, out.len()).
    fn expand(&self, prk: &Self::Prk, info: &[u8], out: &mut [u8]) -> Result<()>;
    /// HMAC-SHA256(key, message) (the Finished MAC).
    fn hmac(&self, key: &[u8], message: &[u8]) -> Result<Vec<u8>>;
}

/// The reference: P_SHA256 and HKDF written out over the `hmac` and `sha2` crates (the PRF is
/// the rustcrypto backend's).
pub struct Reference;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().to_vec()
}

impl Prf12 for Reference {
    fn prf(&self, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
        // The rustcrypto backend's PRF (checked against the CAVP TLS 1.2 vectors in tests).
        crate::crypto::rustcrypto::tls12_prf(secret, label, seed, out)
    }
}

impl Hkdf13 for Reference {
    type Prk = Vec<u8>;
    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Vec<u8>> {
        Ok(hmac256(salt, &[ikm]))
    }
    fn prk(&self, secret: &[u8]) -> Result<Vec<u8>> {
        Ok(secret.to_vec())
    }
    fn expand(&self, prk: &Vec<u8>, info: &[u8], out: &mut [u8]) -> Result<()> {
        let mut t: Vec<u8> = Vec::new();
        let mut at = 0;
        let mut i = 1u8;
        while at < out.len() {
            t = hmac256(prk, &[&t, info, &[i]]);
            let n = t.len().min(out.len() - at);
            out[at..at + n].copy_from_slice(&t[..n]);
            at += n;
            i += 1;
        }
        Ok(())
    }
    fn hmac(&self, key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
        Ok(hmac256(key, &[message]))
    }
}

/// A rustls provider's PRF and HKDF, as its TLS 1.2 and 1.3 suites use them: ring's
/// ([`Stack::Rustls`]) or aws-lc-rs's ([`Stack::RustlsAwslc`]).
pub struct ProviderKdf {
    backend: &'static str,
    prf: &'static dyn rustls::crypto::tls12::Prf,
    hkdf: &'static dyn rustls::crypto::tls13::Hkdf,
}

impl ProviderKdf {
    /// The PRF of TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 and the HKDF of TLS_AES_128_GCM_SHA256
    /// on `stack`'s provider. Error: `stack` is not rustls, or its provider is not compiled in.
    pub fn new(stack: Stack) -> Result<ProviderKdf> {
        use rustls::SupportedCipherSuite as S;
        let backend = provider_label(stack);
        let (S::Tls12(t12), S::Tls13(t13)) = (
            super::rustls::suite(stack, super::Protocol::Tls12EcdheRsaAes128Gcm)?,
            super::rustls::suite(stack, super::Protocol::Tls13Aes128Gcm)?,
        ) else {
            return Err(failed(
                backend,
                "cipher suites",
                "unexpected suite versions",
            ));
        };
        Ok(ProviderKdf {
            backend,
            prf: t12.prf_provider,
            hkdf: t13.hkdf_provider,
        })
    }
}

/// The backend label of a rustls stack's provider in part names (`ring`, `awslc`).
pub fn provider_label(stack: Stack) -> &'static str {
    match stack {
        Stack::RustlsAwslc => "awslc",
        _ => crate::crypto::ring::LABEL,
    }
}

impl Prf12 for ProviderKdf {
    fn prf(&self, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
        self.prf.for_secret(out, secret, label, seed);
        Ok(())
    }
}

impl Hkdf13 for ProviderKdf {
    type Prk = Box<dyn rustls::crypto::tls13::HkdfExpander>;
    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Self::Prk> {
        Ok(self.hkdf.extract_from_secret(Some(salt), ikm))
    }
    fn prk(&self, secret: &[u8]) -> Result<Self::Prk> {
        Ok(self
            .hkdf
            .expander_for_okm(&rustls::crypto::tls13::OkmBlock::new(secret)))
    }
    fn expand(&self, prk: &Self::Prk, info: &[u8], out: &mut [u8]) -> Result<()> {
        prk.expand_slice(&[info], out)
            .map_err(|e| failed(self.backend, "HKDF-Expand", format!("{e:?}")))
    }
    fn hmac(&self, key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
        let tag = self
            .hkdf
            .hmac_sign(&rustls::crypto::tls13::OkmBlock::new(key), message);
        Ok(tag.as_ref().to_vec())
    }
}

/// OpenSSL's KDFs through `EVP_KDF`, fetched for every call as libssl 3 does.
pub struct OpensslKdf;

impl Prf12 for OpensslKdf {
    fn prf(&self, secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
        crate::crypto::openssl::tls12_prf(secret, label, seed, out)
    }
}

impl Hkdf13 for OpensslKdf {
    type Prk = Vec<u8>;
    fn extract(&self, salt: &[u8], ikm: &[u8]) -> Result<Vec<u8>> {
        use openssl::kdf::{hkdf, HkdfMode};
        let mut prk = vec![0u8; 32];
        hkdf(
            openssl::md::Md::sha256(),
            ikm,
            Some(salt),
            None,
            HkdfMode::ExtractOnly,
            None,
            &mut prk,
        )
        .map_err(ossl("HKDF-Extract"))?;
        Ok(prk)
    }
    fn prk(&self, secret: &[u8]) -> Result<Vec<u8>> {
        Ok(secret.to_vec())
    }
    fn expand(&self, prk: &Vec<u8>, info: &[u8], out: &mut [u8]) -> Result<()> {
        use openssl::kdf::{hkdf, HkdfMode};
        hkdf(
            openssl::md::Md::sha256(),
            prk,
            None,
            Some(info),
            HkdfMode::ExpandOnly,
            None,
            out,
        )
        .map_err(ossl("HKDF-Expand"))
    }
    fn hmac(&self, key: &[u8], message: &[u8]) -> Result<Vec<u8>> {
        let k = openssl::pkey::PKey::hmac(key).map_err(ossl("HMAC key"))?;
        let mut s = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &k)
            .map_err(ossl("HMAC"))?;
        s.sign_oneshot_to_vec(message).map_err(ossl("HMAC"))
    }
}

/// The `HkdfLabel` of HKDF-Expand-Label (RFC 8446 section 7.1).
pub fn hkdf_label(label: &[u8], context: &[u8], len: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(10 + label.len() + context.len());
    v.extend_from_slice(&len.to_be_bytes());
    v.push((6 + label.len()) as u8);
    v.extend_from_slice(b"tls13 ");
    v.extend_from_slice(label);
    v.push(context.len() as u8);
    v.extend_from_slice(context);
    v
}

fn expand_label<H: Hkdf13>(
    h: &H,
    prk: &H::Prk,
    label: &[u8],
    ctx: &[u8],
    len: usize,
) -> Result<Vec<u8>> {
    let mut out = vec![0u8; len];
    h.expand(prk, &hkdf_label(label, ctx, len as u16), &mut out)?;
    Ok(out)
}

/// SHA-256 of the empty string (the context of the "derived" secrets).
fn empty_hash() -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(b"").to_vec()
}

/// The key schedule of a full TLS 1.3 handshake without PSK (RFC 8446 section 7.1): early,
/// handshake and master secrets, the four traffic secrets with their keys and IVs (AES-128-GCM),
/// the exporter and resumption secrets, the two Finished keys and MACs. `shared` is the (EC)DHE
/// secret, `hashes` the transcript hashes at ServerHello, server Finished and client Finished.
/// Returns every output, concatenated (for comparing implementations).
pub fn tls13_key_schedule<H: Hkdf13>(
    h: &H,
    shared: &[u8],
    hashes: &[[u8; 32]; 3],
) -> Result<Vec<u8>> {
    let zeros = [0u8; 32];
    let empty = empty_hash();
    let mut out = Vec::with_capacity(600);
    let early = h.extract(&zeros, &zeros)?;
    let derived = expand_label(h, &early, b"derived", &empty, 32)?;
    let hs = h.extract(&derived, shared)?;
    let c_hs = expand_label(h, &hs, b"c hs traffic", &hashes[0], 32)?;
    let s_hs = expand_label(h, &hs, b"s hs traffic", &hashes[0], 32)?;
    let derived2 = expand_label(h, &hs, b"derived", &empty, 32)?;
    let master = h.extract(&derived2, &zeros)?;
    let c_ap = expand_label(h, &master, b"c ap traffic", &hashes[1], 32)?;
    let s_ap = expand_label(h, &master, b"s ap traffic", &hashes[1], 32)?;
    out.extend(expand_label(h, &master, b"exp master", &hashes[1], 32)?);
    out.extend(expand_label(h, &master, b"res master", &hashes[2], 32)?);
    for secret in [&c_hs, &s_hs, &c_ap, &s_ap] {
        let prk = h.prk(secret)?;
        out.extend(expand_label(h, &prk, b"key", b"", 16)?);
        out.extend(expand_label(h, &prk, b"iv", b"", 12)?);
        out.extend_from_slice(secret);
    }
    for (secret, th) in [(&s_hs, &hashes[1]), (&c_hs, &hashes[2])] {
        let prk = h.prk(secret)?;
        let key = expand_label(h, &prk, b"finished", b"", 32)?;
        out.extend(h.hmac(&key, th)?);
    }
    Ok(out)
}

/// Fixed inputs of the KDF benches: (pre-master or shared secret, 64 bytes of randoms,
/// transcript hashes).
fn kdf_inputs() -> (Vec<u8>, Vec<u8>, [[u8; 32]; 3]) {
    let secret: Vec<u8> = (0..48u8).map(|i| i.wrapping_mul(7) ^ 0x5c).collect();
    let randoms: Vec<u8> = (0..64u8)
        .map(|i| i.wrapping_mul(13).wrapping_add(1))
        .collect();
    let mut hashes = [[0u8; 32]; 3];
    for (k, h) in hashes.iter_mut().enumerate() {
        for (i, b) in h.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(3).wrapping_add(k as u8 * 50);
        }
    }
    (secret, randoms, hashes)
}

/// The size of the key block of TLS_RSA_WITH_AES_128_CBC_SHA: two MAC keys (20), two AES keys (16), two IVs (16).
pub const KEY_BLOCK_LEN: usize = 2 * (20 + 16 + 16);

fn kdf_case<K: Prf12 + Hkdf13 + 'static>(id: &BenchId, k: K, op: &str) -> Result<Box<dyn Case>> {
    let (secret, randoms, hashes) = kdf_inputs();
    let r = Reference;
    match op {
        "master-secret" | "key-block" => {
            let (label, len): (&'static [u8], usize) = if op == "master-secret" {
                (b"extended master secret", 48)
            } else {
                (b"key expansion", KEY_BLOCK_LEN)
            };
            let seed = if op == "master-secret" {
                hashes[0].to_vec() // the session hash
            } else {
                randoms
            };
            let (mut got, mut want) = (vec![0u8; len], vec![0u8; len]);
            in_check(id, k.prf(&secret, label, &seed, &mut got))?;
            r.prf(&secret, label, &seed, &mut want)?;
            check(
                id,
                got == want,
                "the PRF output differs from the reference P_SHA256",
            )?;
            Ok(plain(move || {
                k.prf(black_box(&secret), label, &seed, &mut got)?;
                black_box(&got);
                Ok(())
            }))
        }
        "expand-label" => {
            let secret = &secret[..32];
            let prk = in_check(id, k.prk(secret))?;
            let got = in_check(id, expand_label(&k, &prk, b"c hs traffic", &hashes[0], 32))?;
            let want = expand_label(&r, &r.prk(secret)?, b"c hs traffic", &hashes[0], 32)?;
            check(
                id,
                got == want,
                "HKDF-Expand-Label differs from the reference HKDF",
            )?;
            Ok(plain(move || {
                black_box(expand_label(
                    &k,
                    &prk,
                    b"c hs traffic",
                    black_box(&hashes[0]),
                    32,
                )?);
                Ok(())
            }))
        }
        _ => {
            let shared = secret[..32].to_vec();
            let got = in_check(id, tls13_key_schedule(&k, &shared, &hashes))?;
            let want = tls13_key_schedule(&r, &shared, &hashes)?;
            check(
                id,
                got == want,
                "the key schedule differs from the reference HKDF",
            )?;
            Ok(plain(move || {
                black_box(tls13_key_schedule(&k, black_box(&shared), &hashes)?);
                Ok(())
            }))
        }
    }
}

// ------------------------------------------------------------------ transcript

fn transcript(id: &BenchId, backend: &str, bytes: usize) -> Result<Box<dyn Case>> {
    use sha2::Digest;
    let data: Vec<u8> = (0..bytes).map(|i| (i * 11 % 253) as u8).collect();
    let want = sha2::Sha256::digest(&data).to_vec();
    if backend == "openssl" {
        let run = |d: &[u8]| -> Result<Vec<u8>> {
            let mut h = openssl::hash::Hasher::new(openssl::hash::MessageDigest::sha256())
                .map_err(ossl("EVP_DigestInit"))?;
            h.update(d).map_err(ossl("EVP_DigestUpdate"))?;
            // A copy of the context gives the hash; the transcript goes on.
            let mut copy = h.clone();
            let out = copy.finish().map_err(ossl("EVP_DigestFinal"))?.to_vec();
            black_box(&h);
            Ok(out)
        };
        check(
            id,
            in_check(id, run(&data))? == want,
            "the hash differs from sha2's",
        )?;
        return Ok(plain(move || {
            black_box(run(black_box(&data))?);
            Ok(())
        }));
    }
    let stack = if backend == "awslc" {
        Stack::RustlsAwslc
    } else {
        Stack::Rustls
    };
    let rustls::SupportedCipherSuite::Tls13(suite) =
        super::rustls::suite(stack, super::Protocol::Tls13Aes128Gcm)?
    else {
        return Err(failed(
            provider_label(stack),
            "cipher suite",
            "not a TLS 1.3 suite",
        ));
    };
    let hash = suite.common.hash_provider;
    let run = move |d: &[u8]| -> Vec<u8> {
        let mut ctx = hash.start();
        ctx.update(d);
        ctx.fork_finish().as_ref().to_vec()
    };
    check(id, run(&data) == want, "the hash differs from sha2's")?;
    Ok(plain(move || {
        black_box(run(black_box(&data)));
        Ok(())
    }))
}

// ------------------------------------------------------------------ rsa on ring

fn rsa_ring(id: &BenchId, pem: &[u8], sign: bool) -> Result<Box<dyn Case>> {
    let mut key = in_check(id, crate::crypto::ring::RingRsa::from_pkcs8_pem(pem))?;
    check(
        id,
        key.bits() == RING_RSA_BITS,
        format!("key of {} bits", key.bits()),
    )?;
    let sig = in_check(id, key.sign(&SIGNED_MESSAGE))?;
    check(
        id,
        key.verify(&SIGNED_MESSAGE, &sig),
        "the signature does not verify",
    )?;
    let mut flipped = sig.clone();
    flipped[sig.len() / 2] ^= 0x10;
    check(
        id,
        !key.verify(&SIGNED_MESSAGE, &flipped),
        "a signature with a flipped bit verifies",
    )?;
    Ok(signature_case(key, sig, sign))
}

/// A key that signs [`SIGNED_MESSAGE`] and verifies its signatures (RSA on ring, ECDSA).
trait Signs: 'static {
    fn sign_message(&mut self) -> Result<Vec<u8>>;
    fn verifies(&self, sig: &[u8]) -> bool;
}

impl Signs for crate::crypto::ring::RingRsa {
    fn sign_message(&mut self) -> Result<Vec<u8>> {
        self.sign(black_box(&SIGNED_MESSAGE))
    }
    fn verifies(&self, sig: &[u8]) -> bool {
        self.verify(black_box(&SIGNED_MESSAGE), sig)
    }
}

impl Signs for EcdsaP256 {
    fn sign_message(&mut self) -> Result<Vec<u8>> {
        self.sign(black_box(&SIGNED_MESSAGE))
    }
    fn verifies(&self, sig: &[u8]) -> bool {
        self.verify(black_box(&SIGNED_MESSAGE), sig)
    }
}

/// The timed case of a checked key: one signature, or one verification of `sig`.
fn signature_case(mut key: impl Signs, sig: Vec<u8>, sign: bool) -> Box<dyn Case> {
    if sign {
        return plain(move || {
            black_box(key.sign_message()?);
            Ok(())
        });
    }
    plain(move || {
        black_box(key.verifies(black_box(&sig)));
        Ok(())
    })
}

// ------------------------------------------------------------------ ecdsa

fn ecdsa_case(
    id: &BenchId,
    backend: EcdsaBackend,
    pem: &[u8],
    sign: bool,
) -> Result<Box<dyn Case>> {
    let key = in_check(id, EcdsaP256::from_pkcs8_pem(backend, pem))?;
    let sig = in_check(id, key.sign(&SIGNED_MESSAGE))?;
    ecdsa_checks(id, &key, &sig)?;
    Ok(signature_case(key, sig, sign))
}

/// The self-check of an ECDSA bench on `key`'s signature `sig` of [`SIGNED_MESSAGE`].
fn ecdsa_checks(id: &BenchId, key: &EcdsaP256, sig: &[u8]) -> Result<()> {
    let backend = key.backend();
    check(
        id,
        key.verify(&SIGNED_MESSAGE, sig),
        "the signature does not verify",
    )?;
    // Another implementation accepts it: it is ECDSA P-256 with SHA-256, as TLS names it.
    let other = if backend == EcdsaBackend::Openssl {
        EcdsaBackend::Ring
    } else {
        EcdsaBackend::Openssl
    };
    check(
        id,
        in_check(
            id,
            verify_point(other, key.public_point(), &SIGNED_MESSAGE, sig),
        )?,
        format!("the signature does not verify on {}", other.label()),
    )?;
    let mut flipped = sig.to_vec();
    let at = sig.len().saturating_sub(5); // inside s: the DER stays well-formed
    flipped[at] ^= 0x10;
    check(
        id,
        !key.verify(&SIGNED_MESSAGE, &flipped),
        "a signature with a flipped bit verifies",
    )?;
    check(
        id,
        !key.verify(&SIGNED_MESSAGE[1..], sig),
        "the signature verifies for another message",
    )
}

// ------------------------------------------------------------------ session tickets

/// A rustls server's stateless session ticket, sealed or opened by the ticketer of `stack`'s
/// provider (`Ticketer::new()`: ring's ChaCha20-Poly1305, aws-lc-rs's AES-256-CBC with
/// HMAC-SHA256, each behind rustls's key rotator), on a plaintext of the size rustls's server
/// encrypts in a handshake (measured once, here).
fn ticket_case(id: &BenchId, pki: &Pki, stack: Stack, seal: bool) -> Result<Box<dyn Case>> {
    let len = in_check(id, super::rustls::ticket_plaintext_len(stack, pki))?;
    check(
        id,
        len >= 32,
        format!("rustls's server encrypted a ticket of {len} bytes"),
    )?;
    let ticketer = in_check(id, super::rustls::ticketer(stack))?;
    let clear: Vec<u8> = (0..len).map(|i| (i * 29 % 251) as u8).collect();
    let none = |op| move || failed("rustls", op, "the ticketer refused");
    let ticket = in_check(id, ticketer.encrypt(&clear).ok_or_else(none("encrypt")))?;
    check(
        id,
        !ticket.windows(len).any(|w| w == clear),
        "the ticket holds its plaintext in the clear",
    )?;
    check(
        id,
        ticketer.decrypt(&ticket).as_deref() == Some(&clear[..]),
        "the ticket does not decrypt to its plaintext",
    )?;
    let mut tampered = ticket.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    check(
        id,
        ticketer.decrypt(&tampered).is_none(),
        "a ticket with a flipped bit decrypts",
    )?;
    if seal {
        return Ok(plain(move || {
            black_box(
                ticketer
                    .encrypt(black_box(&clear))
                    .ok_or_else(none("encrypt"))?,
            );
            Ok(())
        }));
    }
    Ok(plain(move || {
        black_box(
            ticketer
                .decrypt(black_box(&ticket))
                .ok_or_else(none("decrypt"))?,
        );
        Ok(())
    }))
}

// ------------------------------------------------------------------ the plan

/// Every part bench over the fixtures' PKI (`pki`) and RSA-2048 key (`rsa_pem`).
pub fn plan(pki: Rc<Pki>, rsa_pem: Rc<Vec<u8>>) -> PartsPlan {
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    let mut add = |id: BenchId, f: Builder| {
        cases.push(PartSpec::new(id, f));
    };
    for cert in [Cert::Rsa2048, Cert::EcdsaP256] {
        for imp in ["openssl", "webpki"] {
            for op in ["parse", "verify-chain"] {
                let pki = pki.clone();
                add(
                    BenchId::new("x509", &[imp, op]).with_parameter(x509_param(cert)),
                    Box::new(move |id| match (imp, op) {
                        ("openssl", "parse") => x509_openssl_parse(id, &pki, cert),
                        ("webpki", "parse") => x509_webpki_parse(id, &pki, cert),
                        ("openssl", _) => x509_openssl_chain(id, &pki, cert),
                        _ => x509_webpki_chain(id, &pki, cert),
                    }),
                );
            }
        }
    }
    let awslc_missing = |what: &str| Skip {
        what: what.to_string(),
        why: "aws-lc-rs is not compiled in (cargo feature `awslc`)".into(),
    };
    for stack in [Stack::Openssl, Stack::Rustls, Stack::RustlsAwslc] {
        if stack == Stack::RustlsAwslc && !cfg!(feature = "awslc") {
            skipped.push(awslc_missing("conn/rustls-awslc/*"));
            continue;
        }
        for side in ["client", "server"] {
            let pki = pki.clone();
            add(
                BenchId::new("conn", &[stack.label(), side, "new"]),
                Box::new(move |id| {
                    if stack == Stack::Openssl {
                        conn_openssl(id, &pki, side == "server")
                    } else {
                        conn_rustls(id, &pki, stack, side == "server")
                    }
                }),
            );
        }
    }
    for backend in ["openssl", "ring", "awslc"] {
        for group in [Group::X25519, Group::P256, Group::MlKem768] {
            if group == Group::MlKem768 && backend != "awslc" {
                skipped.push(Skip {
                    what: format!("kx/{backend}/{}/*", group.label()),
                    why: format!(
                        "{backend} has no ML-KEM-768 here ({})",
                        if backend == "openssl" {
                            "OpenSSL 3.5+ has it"
                        } else {
                            "rustls offers X25519MLKEM768 with aws-lc-rs only"
                        }
                    ),
                });
                continue;
            }
            if backend == "awslc" && !cfg!(feature = "awslc") {
                skipped.push(Skip {
                    what: "kx/awslc/*".into(),
                    why: "aws-lc-rs is not compiled in (cargo feature `awslc`)".into(),
                });
                break;
            }
            let ops: &[&'static str] = if group == Group::MlKem768 {
                &["keygen", "encapsulate", "decapsulate"]
            } else {
                &["keygen", "derive"]
            };
            for op in ops {
                let op = *op;
                add(
                    BenchId::new("kx", &[backend, group.label(), op]),
                    Box::new(move |id| match backend {
                        "openssl" => kx_openssl(id, group, op == "derive"),
                        "ring" => kx_ring(id, group, op == "derive"),
                        #[cfg(feature = "awslc")]
                        _ => kx_awslc(id, group, op),
                        #[cfg(not(feature = "awslc"))]
                        _ => Err(failed("awslc", "kx", "not compiled in")),
                    }),
                );
            }
        }
    }
    for backend in ["openssl", "ring", "awslc", "rustcrypto"] {
        if backend == "awslc" && !cfg!(feature = "awslc") {
            skipped.push(awslc_missing("kdf/awslc/*"));
            continue;
        }
        for (kdf, op) in [
            ("tls12-prf", "master-secret"),
            ("tls12-prf", "key-block"),
            ("tls13-hkdf", "expand-label"),
            ("tls13-hkdf", "key-schedule"),
        ] {
            add(
                BenchId::new("kdf", &[backend, kdf, op]),
                Box::new(move |id| match backend {
                    "openssl" => kdf_case(id, OpensslKdf, op),
                    "ring" => kdf_case(id, in_check(id, ProviderKdf::new(Stack::Rustls))?, op),
                    "awslc" => {
                        kdf_case(id, in_check(id, ProviderKdf::new(Stack::RustlsAwslc))?, op)
                    }
                    _ => kdf_case(id, Reference, op),
                }),
            );
        }
    }
    for backend in ["openssl", "ring", "awslc"] {
        if backend == "awslc" && !cfg!(feature = "awslc") {
            skipped.push(awslc_missing("transcript/awslc/*"));
            continue;
        }
        for bytes in TRANSCRIPT_SIZES {
            add(
                BenchId::new("transcript", &[backend, "sha256"]).with_parameter(bytes),
                Box::new(move |id| transcript(id, backend, bytes)),
            );
        }
    }
    for (op, sign) in [("sign", true), ("verify", false)] {
        let pem = rsa_pem.clone();
        add(
            BenchId::new("rsa", &[crate::crypto::ring::LABEL, op]).with_parameter(RING_RSA_BITS),
            Box::new(move |id| rsa_ring(id, &pem, sign)),
        );
    }
    skipped.push(Skip {
        what: format!("rsa/ring/{{decrypt,encrypt}}/{RING_RSA_BITS}"),
        why: crate::crypto::ring::NO_RSA_ENCRYPTION.into(),
    });
    for &backend in EcdsaBackend::ALL {
        if !backend.compiled() {
            skipped.push(awslc_missing("ecdsa/awslc/*"));
            continue;
        }
        for (op, sign) in [("sign", true), ("verify", false)] {
            let pki = pki.clone();
            add(
                BenchId::new("ecdsa", &[backend.label(), op])
                    .with_parameter(crate::crypto::ecdsa::CURVE),
                Box::new(move |id| ecdsa_case(id, backend, &pki.ecdsa_server.key, sign)),
            );
        }
    }
    for stack in [Stack::Rustls, Stack::RustlsAwslc] {
        if stack == Stack::RustlsAwslc && !cfg!(feature = "awslc") {
            skipped.push(awslc_missing("ticket/rustls-awslc/*"));
            continue;
        }
        for (op, seal) in [("seal", true), ("open", false)] {
            let pki = pki.clone();
            add(
                BenchId::new("ticket", &[stack.label(), op]),
                Box::new(move |id| ticket_case(id, &pki, stack, seal)),
            );
        }
    }
    skipped.push(Skip {
        what: "ticket/openssl/*".into(),
        why: NO_OPENSSL_TICKET.into(),
    });
    PartsPlan { cases, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pki() -> Pki {
        Pki::locate().expect("fixtures load")
    }

    fn is_self_check(r: Result<Box<dyn Case>>, what: &str) -> String {
        match r {
            Err(Error::SelfCheck { bench, what: why }) => {
                assert!(why.contains(what), "{bench}: {why}");
                bench
            }
            Err(e) => panic!("not a self-check failure: {e}"),
            Ok(_) => panic!("the self-check passed"),
        }
    }

    #[test]
    fn the_plan_names_the_ecdsa_ticket_and_provider_parts() {
        let pki = Rc::new(pki());
        let plan = plan(pki, Rc::new(Vec::new()));
        let names: Vec<String> = plan.cases.iter().map(|c| c.id.full()).collect();
        let mut want = vec![
            "ecdsa/openssl/sign/p256",
            "ecdsa/ring/verify/p256",
            "x509/openssl/parse/ecdsa-p256",
            "x509/webpki/verify-chain/ecdsa-p256",
            "x509/webpki/parse/rsa-2048",
            "ticket/rustls/seal",
            "conn/rustls/client/new",
        ];
        if cfg!(feature = "awslc") {
            want.extend([
                "ecdsa/awslc/sign/p256",
                "kdf/awslc/tls13-hkdf/expand-label",
                "transcript/awslc/sha256/64",
                "conn/rustls-awslc/server/new",
                "ticket/rustls-awslc/open",
            ]);
        }
        for w in want {
            assert!(names.iter().any(|n| n == w), "{w} not in {names:?}");
        }
        assert!(plan.skipped.iter().any(|s| s.what == "ticket/openssl/*"));
    }

    #[test]
    fn ecdsa_checks_refuse_a_tampered_or_foreign_signature() {
        let pki = pki();
        for &b in EcdsaBackend::ALL.iter().filter(|b| b.compiled()) {
            let id = BenchId::new("ecdsa", &[b.label(), "verify"]).with_parameter("p256");
            let key = EcdsaP256::from_pkcs8_pem(b, &pki.ecdsa_server.key).unwrap();
            let sig = key.sign(&SIGNED_MESSAGE).unwrap();
            ecdsa_checks(&id, &key, &sig).unwrap_or_else(|e| panic!("{e}"));
            let mut tampered = sig.clone();
            tampered[10] ^= 0x01;
            let e = ecdsa_checks(&id, &key, &tampered).unwrap_err();
            assert!(
                matches!(&e, Error::SelfCheck { bench, .. } if bench == &id.full()),
                "{e}"
            );
            // A signature of another key (the ECDSA client's) is refused too.
            let client = EcdsaP256::from_pkcs8_pem(b, &pki.ecdsa_client.key).unwrap();
            let foreign = client.sign(&SIGNED_MESSAGE).unwrap();
            assert!(ecdsa_checks(&id, &key, &foreign).is_err(), "{}", b.label());
        }
    }

    #[test]
    fn an_ecdsa_chain_to_the_wrong_ca_fails_its_self_check() {
        let mut wrong = pki();
        wrong.ecdsa_ca = wrong.ca.clone(); // the RSA CA did not sign the ECDSA leaf
        let id = BenchId::new("x509", &["openssl", "verify-chain"]).with_parameter("ecdsa-p256");
        let bench = is_self_check(
            x509_openssl_chain(&id, &wrong, Cert::EcdsaP256),
            "does not verify to its CA",
        );
        assert_eq!(bench, "x509/openssl/verify-chain/ecdsa-p256");
        let id = BenchId::new("x509", &["webpki", "verify-chain"]).with_parameter("ecdsa-p256");
        is_self_check(
            x509_webpki_chain(&id, &wrong, Cert::EcdsaP256),
            "does not verify to its CA",
        );
        // The right PKI passes.
        assert!(x509_openssl_chain(&id, &pki(), Cert::EcdsaP256).is_ok());
        assert!(x509_webpki_chain(&id, &pki(), Cert::EcdsaP256).is_ok());
    }

    #[test]
    fn a_parsed_certificate_of_the_wrong_key_type_fails_its_self_check() {
        let mut wrong = pki();
        wrong.ecdsa_server.cert = wrong.server.cert.clone(); // an RSA leaf where ECDSA is named
        let id = BenchId::new("x509", &["openssl", "parse"]).with_parameter("ecdsa-p256");
        is_self_check(
            x509_openssl_parse(&id, &wrong, Cert::EcdsaP256),
            "key is rsa2048",
        );
        let id = BenchId::new("x509", &["webpki", "parse"]).with_parameter("ecdsa-p256");
        is_self_check(
            x509_webpki_parse(&id, &wrong, Cert::EcdsaP256),
            "does not verify the server key's ecdsa-p256 signature",
        );
        assert!(x509_webpki_parse(&id, &pki(), Cert::EcdsaP256).is_ok());
        assert!(x509_openssl_parse(&id, &pki(), Cert::EcdsaP256).is_ok());
    }
}
