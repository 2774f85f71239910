//! The RSA primitive kind: the operations TLS 1.2 with RSA key transport makes a server
//! and a client do (PKCS#1 v1.5 throughout).

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

/// An RSA private key (and its public half) of one backend.
///
/// Every method returns an error instead of panicking: a wrong length, a padding that
/// does not check, or a backend failure is an [`crate::Error::Crypto`].
pub trait RsaKey {
    /// The backend that implements this key.
    fn backend(&self) -> Backend;

    /// Modulus size in bits.
    fn bits(&self) -> u32;

    /// Modulus size in bytes (the length of a ciphertext or signature).
    fn modulus_len(&self) -> usize {
        self.bits().div_ceil(8) as usize
    }

    /// PKCS#1 v1.5 private-key decrypt; returns the message.
    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>>;

    /// PKCS#1 v1.5 public-key encrypt (random padding, so two calls differ).
    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>>;

    /// PKCS#1 v1.5 signature over SHA-256(`message`) (deterministic).
    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>>;

    /// Whether `signature` is a valid PKCS#1 v1.5 SHA-256 signature of `message`.
    /// A signature that does not verify is `Ok(false)`; `Err` is for a backend failure.
    fn verify(&mut self, message: &[u8], signature: &[u8]) -> Result<bool>;
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
