//! The RSA primitive kind: the operations TLS 1.2 with RSA key transport makes a server
//! and a client do (PKCS#1 v1.5 throughout).
//!
//! [`RsaPublicKey`] is encrypt and verify, loadable on its own from a SubjectPublicKeyInfo;
//! [`RsaKey`] adds decrypt and sign. `verify` says `Ok(false)` for a signature that does not
//! verify and `Err` only when the backend failed; `decrypt` answers a bad padding with an
//! error or, on backends with implicit rejection, a synthetic message ([`Rejection`]).

use super::Backend;
use crate::names::Dimension;
use crate::Result;

/// Length of the TLS pre-master secret a client encrypts to the server's key.
pub const PRE_MASTER_LEN: usize = 48;

/// One RSA operation as measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RsaOp {
    /// PKCS#1 v1.5 private-key decrypt of a 48-byte pre-master secret (the server's side
    /// of RSA key transport).
    Decrypt,
    /// PKCS#1 v1.5 public-key encrypt of a 48-byte pre-master secret (the client's side).
    Encrypt,
    /// PKCS#1 v1.5 signature with SHA-256 (hash included).
    Sign,
    /// PKCS#1 v1.5 signature verification with SHA-256 (hash included).
    Verify,
}

impl Dimension for RsaOp {
    const ALL: &'static [Self] = &[RsaOp::Decrypt, RsaOp::Encrypt, RsaOp::Sign, RsaOp::Verify];

    fn label(&self) -> &'static str {
        match self {
            RsaOp::Decrypt => "decrypt",
            RsaOp::Encrypt => "encrypt",
            RsaOp::Sign => "sign",
            RsaOp::Verify => "verify",
        }
    }
}

impl RsaOp {
    /// Whether the operation uses the private key (the expensive side).
    pub fn is_private(self) -> bool {
        matches!(self, RsaOp::Decrypt | RsaOp::Sign)
    }
}

/// A hash a PKCS#1 v1.5 signature covers: the SHA-2 hashes TLS 1.2's signature_algorithms
/// offers with RSA (RFC 5246 7.4.1.4.1). The benchmarks sign and verify with SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigHash {
    /// SHA-224.
    Sha224,
    /// SHA-256 (what the benchmarks use).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Dimension for SigHash {
    const ALL: &'static [Self] = &[
        SigHash::Sha224,
        SigHash::Sha256,
        SigHash::Sha384,
        SigHash::Sha512,
    ];

    fn label(&self) -> &'static str {
        match self {
            SigHash::Sha224 => "sha224",
            SigHash::Sha256 => "sha256",
            SigHash::Sha384 => "sha384",
            SigHash::Sha512 => "sha512",
        }
    }
}

impl SigHash {
    /// The DER `DigestInfo` prefix of this hash in a PKCS#1 v1.5 signature (RFC 8017 9.2,
    /// note 1).
    pub fn digest_info(self) -> &'static [u8] {
        match self {
            SigHash::Sha224 => &SHA224_DIGEST_INFO,
            SigHash::Sha256 => &SHA256_DIGEST_INFO,
            SigHash::Sha384 => &SHA384_DIGEST_INFO,
            SigHash::Sha512 => &SHA512_DIGEST_INFO,
        }
    }

    /// The hash of `message` (RustCrypto's `sha2`).
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            SigHash::Sha224 => sha2::Sha224::digest(message).to_vec(),
            SigHash::Sha256 => sha2::Sha256::digest(message).to_vec(),
            SigHash::Sha384 => sha2::Sha384::digest(message).to_vec(),
            SigHash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// What a backend's [`RsaKey::decrypt`] does with a ciphertext whose PKCS#1 v1.5 padding
/// does not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// An error ([`crate::Error::Crypto`]): openssl before OpenSSL 3.2, awslc (aws-lc-rs),
    /// the textbook backends.
    Explicit,
    /// Implicit rejection: `Ok` with a synthetic message derived deterministically from the
    /// key and the ciphertext (the same ciphertext always gives the same message), so that
    /// a TLS server cannot be used as a padding oracle (Bleichenbacher, Marvin;
    /// draft-irtf-cfrg-rsa-guidance). openssl from OpenSSL 3.2 on (checked at run time
    /// against the linked library), rustcrypto (`rsa` 0.10). A caller that must tell a bad
    /// padding apart cannot, by design: TLS compares the pre-master's length and version
    /// afterwards.
    Implicit,
}

/// The public half of an RSA key of one backend: encrypt and verify.
///
/// Loaded on its own from a SubjectPublicKeyInfo ([`crate::crypto::rsa_public_key`]), or
/// as the public half of an [`RsaKey`].
pub trait RsaPublicKey {
    /// The backend that implements this key.
    fn backend(&self) -> Backend;

    /// Modulus size in bits.
    fn bits(&self) -> u32;

    /// Modulus size in bytes (the length of a ciphertext or signature).
    fn modulus_len(&self) -> usize {
        self.bits().div_ceil(8) as usize
    }

    /// PKCS#1 v1.5 public-key encrypt (random padding, so two calls differ). A message
    /// longer than the modulus length minus 11 bytes is an error.
    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>>;

    /// Whether `signature` is a valid PKCS#1 v1.5 signature with `hash` of `message`.
    ///
    /// `Ok(false)`: the signature does not verify (wrong length, not below the modulus, bad
    /// padding, another hash or message). `Err`: the backend failed, or does not offer
    /// `hash` ([`crate::Error::Unsupported`]); never a verdict on the signature.
    fn verify_with(&mut self, hash: SigHash, message: &[u8], signature: &[u8]) -> Result<bool>;

    /// [`RsaPublicKey::verify_with`] SHA-256: the verification the benchmarks time.
    fn verify(&mut self, message: &[u8], signature: &[u8]) -> Result<bool> {
        self.verify_with(SigHash::Sha256, message, signature)
    }
}

/// Implements [`RsaPublicKey`] for a backend's private-key type through its field `public`
/// (its public half, which every backend's key keeps).
macro_rules! public_half {
    ($key:ty) => {
        impl $crate::crypto::rsa::RsaPublicKey for $key {
            fn backend(&self) -> $crate::crypto::Backend {
                $crate::crypto::rsa::RsaPublicKey::backend(&self.public)
            }

            fn bits(&self) -> u32 {
                $crate::crypto::rsa::RsaPublicKey::bits(&self.public)
            }

            fn encrypt(&mut self, message: &[u8]) -> $crate::Result<Vec<u8>> {
                $crate::crypto::rsa::RsaPublicKey::encrypt(&mut self.public, message)
            }

            fn verify_with(
                &mut self,
                hash: $crate::crypto::rsa::SigHash,
                message: &[u8],
                signature: &[u8],
            ) -> $crate::Result<bool> {
                $crate::crypto::rsa::RsaPublicKey::verify_with(
                    &mut self.public,
                    hash,
                    message,
                    signature,
                )
            }
        }
    };
}
pub(crate) use public_half;

/// An RSA private key (and its public half) of one backend.
///
/// Every method returns an error instead of panicking: a wrong length or a backend failure
/// is an [`crate::Error::Crypto`]; what a bad padding gives is [`RsaKey::rejection`].
pub trait RsaKey: RsaPublicKey {
    /// PKCS#1 v1.5 private-key decrypt; returns the message. A ciphertext of the wrong
    /// length or not below the modulus is an error; a ciphertext whose padding does not
    /// check is an error or a synthetic message, as [`RsaKey::rejection`] says.
    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>>;

    /// PKCS#1 v1.5 signature over SHA-256(`message`) (deterministic).
    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>>;

    /// How [`RsaKey::decrypt`] answers a bad padding on this backend (and library version).
    fn rejection(&self) -> Rejection;
}

/// Warms a freshly loaded key as a running server's key is warm: one private decrypt and one
/// sign, so that its Montgomery contexts and blinding values exist before anything is timed
/// (DESIGN.md: a cold OpenSSL key costs 2.4x). The decrypt must give back the message.
pub fn warm_up(key: &mut dyn RsaKey) -> Result<()> {
    let pm = [0x03u8; PRE_MASTER_LEN];
    let ct = key.encrypt(&pm)?;
    if key.decrypt(&ct)? != pm {
        return Err(super::crypto_err(
            key.backend(),
            "warm-up",
            "decrypt did not return the message",
        ));
    }
    key.sign(b"warm-up")?;
    Ok(())
}

/// The DER `DigestInfo` prefix of a SHA-256 hash in a PKCS#1 v1.5 signature (RFC 8017 9.2).
pub const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];
/// The `DigestInfo` prefix of SHA-224 (RFC 8017 9.2).
pub const SHA224_DIGEST_INFO: [u8; 19] = [
    0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05,
    0x00, 0x04, 0x1c,
];
/// The `DigestInfo` prefix of SHA-384 (RFC 8017 9.2).
pub const SHA384_DIGEST_INFO: [u8; 19] = [
    0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05,
    0x00, 0x04, 0x30,
];
/// The `DigestInfo` prefix of SHA-512 (RFC 8017 9.2).
pub const SHA512_DIGEST_INFO: [u8; 19] = [
    0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05,
    0x00, 0x04, 0x40,
];

/// The DER of a SubjectPublicKeyInfo given as PEM (`BEGIN PUBLIC KEY`) or DER, with an
/// error naming `backend` and what was expected.
pub fn spki_der(backend: Backend, key: &[u8]) -> Result<Vec<u8>> {
    use rustls_pki_types::pem::PemObject;
    if !key.starts_with(b"-----BEGIN") {
        return Ok(key.to_vec());
    }
    rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(key)
        .map(|k| k.to_vec())
        .map_err(|e| {
            super::crypto_err(
                backend,
                "load public key",
                format!("expected a PEM public key (BEGIN PUBLIC KEY) or its DER: {e}"),
            )
        })
}
