//! Crypto backends behind one trait per primitive kind.
//!
//! [`rsa::RsaKey`] (with its public half [`rsa::RsaPublicKey`], also loadable alone),
//! [`cipher::CbcCipher`], [`mac::HmacSha1`] and [`mac::Sha1`] are the primitive kinds; each backend file (`openssl.rs`, `rustcrypto.rs`, `awslc.rs`,
//! `textbook.rs`) implements the kinds it offers. The constructors here pick the backend
//! by its [`Backend`] value and return [`Error::Unsupported`] for a combination the
//! backend does not have, so callers (benches, tests, CLI) never need to know which
//! backend covers what.
//!
//! Keys are returned warm: every RSA constructor has already done one private-key
//! operation, so nothing timed afterwards pays for building Montgomery contexts or
//! blinding values (DESIGN.md: a cold OpenSSL key costs 2.4x a warm one).

pub mod cases;
pub mod cipher;
pub mod ecdsa;
pub mod libssl;
pub mod mac;
pub mod rsa;

#[cfg(feature = "awslc")]
pub mod awslc;
pub mod openssl;
pub mod ring;
pub mod rustcrypto;
pub mod textbook;

use crate::names::Dimension;
use crate::{Error, Result};

pub use self::cipher::{Aes128Gcm, CbcCipher, CipherAlg};
pub use self::mac::{HmacSha1, MacAlg, Sha1};
pub use self::rsa::{Rejection, RsaKey, RsaOp, RsaPublicKey, SigHash};

/// A crypto implementation that can be measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// The system OpenSSL through the `openssl` crate.
    OpenSsl,
    /// The RustCrypto crates (`rsa`, `aes`, `des`, `cbc`, `hmac`, `sha1`, `aes-gcm`).
    RustCrypto,
    /// AWS-LC through `aws-lc-rs` (cargo feature `awslc`).
    AwsLc,
    /// Textbook RSA on `num-bigint`, private operations with the Chinese Remainder Theorem.
    TextbookCrt,
    /// Textbook RSA on `num-bigint`, private operations as one exponentiation mod n.
    TextbookNoCrt,
}

impl Dimension for Backend {
    const ALL: &'static [Self] = &[
        Backend::OpenSsl,
        Backend::RustCrypto,
        Backend::AwsLc,
        Backend::TextbookCrt,
        Backend::TextbookNoCrt,
    ];

    fn label(&self) -> &'static str {
        match self {
            Backend::OpenSsl => "openssl",
            Backend::RustCrypto => "rustcrypto",
            Backend::AwsLc => "awslc",
            Backend::TextbookCrt => "textbook-crt",
            Backend::TextbookNoCrt => "textbook-nocrt",
        }
    }
}

impl Backend {
    /// The backends that implement symmetric primitives (ciphers, MACs, records).
    /// The textbook backends are RSA only.
    pub const SYMMETRIC: &'static [Backend] =
        &[Backend::OpenSsl, Backend::RustCrypto, Backend::AwsLc];

    /// Whether this build has the backend compiled in (aws-lc-rs is a cargo feature).
    pub fn compiled(self) -> bool {
        match self {
            Backend::AwsLc => cfg!(feature = "awslc"),
            _ => true,
        }
    }

    #[cfg_attr(feature = "awslc", allow(dead_code))]
    fn not_compiled(self) -> Error {
        Error::Unsupported {
            backend: self.label(),
            what: "anything in this build (enable the cargo feature `awslc`)".into(),
        }
    }
}

/// An RSA private key of `backend`, parsed from a PKCS#8 PEM and warmed by one private
/// operation.
pub fn rsa_key(backend: Backend, pkcs8_pem: &[u8]) -> Result<Box<dyn RsaKey>> {
    match backend {
        Backend::OpenSsl => Ok(Box::new(openssl::OpensslRsa::from_pkcs8_pem(pkcs8_pem)?)),
        Backend::RustCrypto => Ok(Box::new(rustcrypto::RustCryptoRsa::from_pkcs8_pem(
            pkcs8_pem,
        )?)),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => Ok(Box::new(awslc::AwsLcRsa::from_pkcs8_pem(pkcs8_pem)?)),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt => Ok(Box::new(textbook::TextbookRsa::from_pkcs8_pem(
            pkcs8_pem, true,
        )?)),
        Backend::TextbookNoCrt => Ok(Box::new(textbook::TextbookRsa::from_pkcs8_pem(
            pkcs8_pem, false,
        )?)),
    }
}

/// An RSA public key of `backend` from a SubjectPublicKeyInfo, PEM (`BEGIN PUBLIC KEY`) or
/// DER: encrypt and verify without the private key (a peer's certificate key, a published
/// test key). Errors name the backend and what was expected; awslc takes 2048..=8192-bit
/// keys, rustcrypto 1024..=8192.
pub fn rsa_public_key(backend: Backend, spki: &[u8]) -> Result<Box<dyn RsaPublicKey>> {
    match backend {
        Backend::OpenSsl => Ok(Box::new(openssl::OpensslRsaPublic::from_spki(spki)?)),
        Backend::RustCrypto => Ok(Box::new(rustcrypto::RustCryptoRsaPublic::from_spki(spki)?)),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => Ok(Box::new(awslc::AwsLcRsaPublic::from_spki(spki)?)),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt => Ok(Box::new(textbook::TextbookPublic::from_spki(spki, true)?)),
        Backend::TextbookNoCrt => Ok(Box::new(textbook::TextbookPublic::from_spki(spki, false)?)),
    }
}

/// Whether `backend` can load an RSA key of `bits` bits, and if not, why.
pub fn rsa_supports(backend: Backend, bits: u32) -> std::result::Result<(), String> {
    if !backend.compiled() {
        return Err("not compiled in (cargo feature `awslc`)".into());
    }
    if backend == Backend::AwsLc && bits < 2048 {
        return Err(format!(
            "aws-lc-rs refuses RSA keys under 2048 bits (asked for {bits})"
        ));
    }
    Ok(())
}

/// A raw CBC cipher of `backend` for `alg` with the given key (16 bytes for AES-128,
/// 24 for 3DES-EDE3).
pub fn cbc_cipher(backend: Backend, alg: CipherAlg, key: &[u8]) -> Result<Box<dyn CbcCipher>> {
    alg.check_key(backend, key)?;
    match backend {
        Backend::OpenSsl => Ok(Box::new(openssl::OpensslCbc::new(alg, key)?)),
        Backend::RustCrypto => rustcrypto::cbc(alg, key),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => Ok(Box::new(awslc::AwsLcCbc::new(alg, key)?)),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt | Backend::TextbookNoCrt => Err(textbook_symmetric(backend)),
    }
}

/// Whether `backend` offers `alg`, and if not, why.
pub fn cipher_supports(backend: Backend, alg: CipherAlg) -> std::result::Result<(), String> {
    if !backend.compiled() {
        return Err("not compiled in (cargo feature `awslc`)".into());
    }
    match (backend, alg) {
        (Backend::AwsLc, CipherAlg::TdesCbc) => Err(
            "aws-lc-rs offers 3DES only behind its `legacy-des` feature (needs aws-lc-sys bindgen bindings), not enabled here"
                .into(),
        ),
        (Backend::TextbookCrt | Backend::TextbookNoCrt, _) => {
            Err("the textbook backends are RSA only".into())
        }
        _ => Ok(()),
    }
}

/// HMAC-SHA1 of `backend` keyed with `key`.
pub fn hmac_sha1(backend: Backend, key: &[u8]) -> Result<Box<dyn HmacSha1>> {
    match backend {
        Backend::OpenSsl => Ok(Box::new(openssl::OpensslHmac::new(key)?)),
        Backend::RustCrypto => Ok(Box::new(rustcrypto::RustCryptoHmac::new(key)?)),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => Ok(Box::new(awslc::AwsLcHmac::new(key))),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt | Backend::TextbookNoCrt => Err(textbook_symmetric(backend)),
    }
}

/// SHA-1 of `backend`.
pub fn sha1(backend: Backend) -> Result<Box<dyn Sha1>> {
    match backend {
        Backend::OpenSsl => Ok(Box::new(openssl::OpensslSha1::new()?)),
        Backend::RustCrypto => Ok(Box::new(rustcrypto::RustCryptoSha1)),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => Ok(Box::new(awslc::AwsLcSha1)),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt | Backend::TextbookNoCrt => Err(textbook_symmetric(backend)),
    }
}

/// AES-128-GCM of `backend` keyed with `key` (16 bytes).
pub fn aes128_gcm(backend: Backend, key: &[u8]) -> Result<Box<dyn Aes128Gcm>> {
    match backend {
        Backend::OpenSsl => Ok(Box::new(openssl::OpensslGcm::new(key)?)),
        Backend::RustCrypto => Ok(Box::new(rustcrypto::RustCryptoGcm::new(key)?)),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => Ok(Box::new(awslc::AwsLcGcm::new(key)?)),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt | Backend::TextbookNoCrt => Err(textbook_symmetric(backend)),
    }
}

/// The TLS 1.2 PRF of `backend` with SHA-256 (RFC 5246 5, the PRF of every TLS 1.2 suite
/// measured here): fills `out` with PRF(`secret`, `label`, `seed`). openssl: `EVP_KDF`
/// "TLS1-PRF"; awslc: `tls_prf`; rustcrypto: P_SHA256 written out over `hmac` and `sha2`.
pub fn tls12_prf(
    backend: Backend,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    out: &mut [u8],
) -> Result<()> {
    match backend {
        Backend::OpenSsl => openssl::tls12_prf(secret, label, seed, out),
        Backend::RustCrypto => rustcrypto::tls12_prf(secret, label, seed, out),
        #[cfg(feature = "awslc")]
        Backend::AwsLc => awslc::tls12_prf(secret, label, seed, out),
        #[cfg(not(feature = "awslc"))]
        Backend::AwsLc => Err(backend.not_compiled()),
        Backend::TextbookCrt | Backend::TextbookNoCrt => Err(textbook_symmetric(backend)),
    }
}

/// Whether `backend` offers HMAC-SHA1 and SHA-1, and if not, why.
pub fn mac_supports(backend: Backend) -> std::result::Result<(), String> {
    cipher_supports(backend, CipherAlg::Aes128Cbc)
}

fn textbook_symmetric(backend: Backend) -> Error {
    Error::Unsupported {
        backend: backend.label(),
        what: "symmetric primitives (the textbook backends are RSA only)".into(),
    }
}

/// A [`Error::Crypto`] from any displayable backend error.
pub(crate) fn crypto_err(
    backend: Backend,
    op: &'static str,
    detail: impl std::fmt::Display,
) -> Error {
    Error::Crypto {
        backend: backend.label(),
        op,
        detail: detail.to_string(),
    }
}
