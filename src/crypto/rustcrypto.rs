//! The RustCrypto backend: `rsa` 0.10, `aes` 0.9 + `cbc` 0.2, `des` 0.9, `hmac` 0.13,
//! `sha1` 0.11 and `aes-gcm` 0.11, pure Rust.
//!
//! Note: `rsa`'s PKCS#1 v1.5 decryption is subject to RUSTSEC-2023-0071 (the Marvin
//! timing side channel); it is measured here, not recommended.

use super::cipher::{Aes128Gcm, CbcCipher, CipherAlg, GCM_NONCE_LEN, GCM_TAG_LEN};
use super::mac::{HmacSha1, Sha1, SHA1_LEN};
use super::rsa::{Rejection, RsaKey, RsaPublicKey, SigHash};
use super::{crypto_err, Backend};
use crate::names::Dimension;
use crate::{Error, Result};
use aes_gcm::aead::AeadInOut;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{
    BlockCipherDecrypt, BlockCipherEncrypt, BlockModeDecrypt, BlockModeEncrypt, InnerIvInit,
    KeyInit,
};
use hmac::Mac;
use rsa::pkcs8::DecodePrivateKey;
use rsa::sha2::Sha256;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivatePkcs8KeyDer;
use sha1::Digest;

const B: Backend = Backend::RustCrypto;

/// The advisory that applies to this backend's PKCS#1 v1.5 decryption.
pub const MARVIN_NOTE: &str = "note: rustcrypto rsa decrypt is PKCS#1 v1.5 decryption, subject to RUSTSEC-2023-0071 (Marvin timing side channel); measured for comparison, not for production use";

/// Decodes a PKCS#8 PEM private key to its DER, with an error that says what was expected.
pub(crate) fn pkcs8_der(backend: Backend, pem: &[u8]) -> Result<Vec<u8>> {
    PrivatePkcs8KeyDer::from_pem_slice(pem)
        .map(|k| k.secret_pkcs8_der().to_vec())
        .map_err(|e| {
            crypto_err(
                backend,
                "load key",
                format!("expected a PKCS#8 PEM private key (BEGIN PRIVATE KEY): {e}"),
            )
        })
}

/// A RustCrypto RSA public key (`rsa` 0.10: 1024 to 8192 bits).
pub struct RustCryptoRsaPublic {
    public: rsa::PublicKey,
    bits: u32,
}

impl RustCryptoRsaPublic {
    fn new(public: rsa::PublicKey) -> Self {
        let bits = rsa::traits::PublicKeyParts::size(&public) as u32 * 8;
        RustCryptoRsaPublic { public, bits }
    }

    /// Parses a SubjectPublicKeyInfo (PEM `BEGIN PUBLIC KEY` or DER).
    pub fn from_spki(key: &[u8]) -> Result<Self> {
        use rsa::pkcs8::DecodePublicKey;
        let der = super::rsa::spki_der(B, key)?;
        let public = rsa::PublicKey::from_public_key_der(&der).map_err(|e| {
            crypto_err(
                B,
                "load public key",
                format!("not an RSA public key of 1024..=8192 bits: {e}"),
            )
        })?;
        Ok(Self::new(public))
    }
}

impl RsaPublicKey for RustCryptoRsaPublic {
    fn backend(&self) -> Backend {
        B
    }

    fn bits(&self) -> u32 {
        self.bits
    }

    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        self.public
            .pkcs1v15_encrypt(message)
            .map_err(|e| crypto_err(B, "rsa encrypt", e))
    }

    fn verify_with(&mut self, hash: SigHash, message: &[u8], signature: &[u8]) -> Result<bool> {
        let k = &self.public;
        let r = match hash {
            SigHash::Sha224 => k.pkcs1v15_verify::<rsa::sha2::Sha224>(message, signature),
            SigHash::Sha256 => k.pkcs1v15_verify::<Sha256>(message, signature),
            SigHash::Sha384 => k.pkcs1v15_verify::<rsa::sha2::Sha384>(message, signature),
            SigHash::Sha512 => k.pkcs1v15_verify::<rsa::sha2::Sha512>(message, signature),
        };
        match r {
            Ok(()) => Ok(true),
            // `rsa` reports every way a signature can fail to verify as this one error.
            Err(rsa::Error::Verification) => Ok(false),
            Err(e) => Err(crypto_err(B, "rsa verify", e)),
        }
    }
}

/// A RustCrypto RSA key and its public half.
pub struct RustCryptoRsa {
    private: rsa::PrivateKey,
    public: RustCryptoRsaPublic,
}

impl RustCryptoRsa {
    /// Parses a PKCS#8 PEM RSA key and warms it with one decrypt and one sign.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self> {
        let der = pkcs8_der(B, pem)?;
        let private = rsa::PrivateKey::from_pkcs8_der(&der)
            .map_err(|e| crypto_err(B, "load key", format!("not an RSA PKCS#8 key: {e}")))?;
        let public = RustCryptoRsaPublic::new(private.to_public_key());
        let mut key = RustCryptoRsa { private, public };
        super::rsa::warm_up(&mut key)?;
        Ok(key)
    }
}

super::rsa::public_half!(RustCryptoRsa);

impl RsaKey for RustCryptoRsa {
    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        self.private
            .pkcs1v15_decrypt(ciphertext)
            .map_err(|e| crypto_err(B, "rsa decrypt", e))
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        self.private
            .pkcs1v15_sign::<Sha256>(message)
            .map_err(|e| crypto_err(B, "rsa sign", e))
    }

    /// `rsa` 0.10 decrypts PKCS#1 v1.5 with implicit rejection (its `pkcs1v15_decrypt` doc).
    fn rejection(&self) -> Rejection {
        Rejection::Implicit
    }
}

/// Raw CBC over a RustCrypto block cipher whose key schedule is built once; each call
/// starts a CBC mode object from a copy of it and the new IV.
struct RcCbc<C> {
    alg: CipherAlg,
    cipher: C,
}

impl<C> CbcCipher for RcCbc<C>
where
    C: BlockCipherEncrypt + BlockCipherDecrypt + Clone,
{
    fn backend(&self) -> Backend {
        B
    }

    fn alg(&self) -> CipherAlg {
        self.alg
    }

    fn encrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        self.alg.check_iv_buf(B, iv, buf)?;
        let mode = cbc::Encryptor::<C>::inner_iv_slice_init(self.cipher.clone(), iv)
            .map_err(|e| crypto_err(B, "cbc", e))?;
        let n = buf.len();
        mode.encrypt_padded::<NoPadding>(buf, n)
            .map_err(|e| crypto_err(B, "cbc encrypt", e))?;
        Ok(())
    }

    fn decrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        self.alg.check_iv_buf(B, iv, buf)?;
        let mode = cbc::Decryptor::<C>::inner_iv_slice_init(self.cipher.clone(), iv)
            .map_err(|e| crypto_err(B, "cbc", e))?;
        mode.decrypt_padded::<NoPadding>(buf)
            .map_err(|e| crypto_err(B, "cbc decrypt", e))?;
        Ok(())
    }
}

/// A RustCrypto raw CBC cipher keyed with `key`.
pub fn cbc(alg: CipherAlg, key: &[u8]) -> Result<Box<dyn CbcCipher>> {
    alg.check_key(B, key)?;
    let bad = |e| crypto_err(B, "cbc key setup", e);
    Ok(match alg {
        CipherAlg::Aes128Cbc => Box::new(RcCbc {
            alg,
            cipher: aes::Aes128::new_from_slice(key).map_err(bad)?,
        }),
        CipherAlg::TdesCbc => Box::new(RcCbc {
            alg,
            cipher: des::TdesEde3::new_from_slice(key).map_err(bad)?,
        }),
    })
}

/// HMAC-SHA1 whose keyed state is restored after every tag (`finalize_reset`).
pub struct RustCryptoHmac {
    mac: hmac::HmacReset<sha1::Sha1>,
}

impl RustCryptoHmac {
    /// Keys the MAC once.
    pub fn new(key: &[u8]) -> Result<Self> {
        Ok(RustCryptoHmac {
            mac: <hmac::HmacReset<sha1::Sha1> as KeyInit>::new_from_slice(key)
                .map_err(|e| crypto_err(B, "hmac setup", e))?,
        })
    }
}

impl HmacSha1 for RustCryptoHmac {
    fn backend(&self) -> Backend {
        B
    }

    fn mac(&mut self, parts: &[&[u8]]) -> Result<[u8; SHA1_LEN]> {
        for p in parts {
            self.mac.update(p);
        }
        Ok(self.mac.finalize_reset().into_bytes().into())
    }
}

/// SHA-1 of the `sha1` crate.
pub struct RustCryptoSha1;

impl Sha1 for RustCryptoSha1 {
    fn backend(&self) -> Backend {
        B
    }

    fn digest(&mut self, data: &[u8]) -> Result<[u8; SHA1_LEN]> {
        Ok(sha1::Sha1::digest(data).into())
    }
}

/// AES-128-GCM of the `aes-gcm` crate.
pub struct RustCryptoGcm {
    aead: aes_gcm::Aes128Gcm,
}

impl RustCryptoGcm {
    /// Keys the AEAD once.
    pub fn new(key: &[u8]) -> Result<Self> {
        Ok(RustCryptoGcm {
            aead: aes_gcm::Aes128Gcm::new_from_slice(key).map_err(|_| {
                crypto_err(
                    B,
                    "gcm setup",
                    format!("AES-128-GCM needs a 16-byte key, got {}", key.len()),
                )
            })?,
        })
    }
}

impl Aes128Gcm for RustCryptoGcm {
    fn backend(&self) -> Backend {
        B
    }

    fn seal(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        let tag = self
            .aead
            .encrypt_inout_detached(&(*nonce).into(), aad, buf.into())
            .map_err(|e| crypto_err(B, "gcm seal", e))?;
        Ok(tag.into())
    }

    fn open(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        self.aead
            .decrypt_inout_detached(&(*nonce).into(), aad, buf.into(), &(*tag).into())
            .map_err(|_| Error::Crypto {
                backend: B.label(),
                op: "gcm open",
                detail: "authentication tag does not match".into(),
            })
    }
}

/// The TLS 1.2 PRF with SHA-256 (RFC 5246 5), written out over `hmac` and `sha2`:
/// P_SHA256(secret, label || seed), where A(0) = label || seed, A(i) = HMAC(secret, A(i-1))
/// and the output is HMAC(secret, A(1) || label || seed) || HMAC(secret, A(2) || ...) ...
pub fn tls12_prf(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
    type HmacSha256 = hmac::Hmac<rsa::sha2::Sha256>;
    let keyed = <HmacSha256 as KeyInit>::new_from_slice(secret)
        .map_err(|e| crypto_err(B, "tls12 prf", e))?;
    let hmac = |parts: &[&[u8]]| {
        let mut m = keyed.clone();
        for p in parts {
            m.update(p);
        }
        m.finalize().into_bytes()
    };
    let mut a = hmac(&[label, seed]);
    for chunk in out.chunks_mut(32) {
        let block = hmac(&[&a, label, seed]);
        chunk.copy_from_slice(&block[..chunk.len()]);
        a = hmac(&[&a]);
    }
    Ok(())
}
