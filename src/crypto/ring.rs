//! RSA on `ring`, the crypto of rustls's default provider here: what a rustls handshake
//! signs and verifies with (rustls's `RsaSigningKey` wraps ring's `RsaKeyPair`; webpki
//! verifies with ring's RSA verification algorithms).
//!
//! ring has no RSA encryption or decryption (rustls has no RSA key transport), so only
//! PKCS#1 v1.5 SHA-256 signatures and their verification exist here; the benches
//! `rsa/ring/{sign,verify}/<bits>` live with the handshake parts
//! ([`crate::handshake::parts`]). Like every key of [`super`], a key is warm when returned:
//! one signature was made with it.

use crate::{Error, Result};
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair, RsaKeyPair, UnparsedPublicKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;

/// The backend label of ring in benchmark names.
pub const LABEL: &str = "ring";

/// Why `rsa/ring/decrypt` and `rsa/ring/encrypt` do not exist.
pub const NO_RSA_ENCRYPTION: &str =
    "ring has no RSA encryption or decryption (rustls has no RSA key transport)";

fn err(op: &'static str, detail: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: LABEL,
        op,
        detail: detail.to_string(),
    }
}

/// An RSA key pair of ring.
pub struct RingRsa {
    pair: RsaKeyPair,
    rng: SystemRandom,
}

impl RingRsa {
    /// Parses a PKCS#8 PEM private key and makes one signature with it (warm-up).
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<RingRsa> {
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem).map_err(|e| err("parse PEM", e))?;
        let pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| err("load PKCS#8 RSA key", e))?;
        let mut key = RingRsa {
            pair,
            rng: SystemRandom::new(),
        };
        key.sign(b"warm-up")?;
        Ok(key)
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.pair.public().modulus_len() as u32 * 8
    }

    /// PKCS#1 v1.5 signature over SHA-256(`message`).
    pub fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .map_err(|e| err("sign", e))?;
        Ok(sig)
    }

    /// Whether `sig` is a valid PKCS#1 v1.5 SHA-256 signature of `message` under this key's
    /// public half (parsed from its DER encoding each time, as a verifier of a peer's key does).
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        )
        .verify(message, sig)
        .is_ok()
    }
}
