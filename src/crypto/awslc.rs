//! The aws-lc-rs backend (cargo feature `awslc`): AWS-LC, a BoringSSL descendant with
//! assembly from OpenSSL and formally verified parts.
//!
//! What it offers here: RSA PKCS#1 v1.5 sign (SHA-256), verify (SHA-256, -384, -512; no
//! SHA-224) and PKCS#1 v1.5 decrypt (a bad padding is an error) / encrypt, for keys of
//! 2048 to 8192 bits (it refuses 1024-bit keys);
//! AES-128-CBC; AES-128-GCM; HMAC-SHA1 and SHA-1 (`*_FOR_LEGACY_USE_ONLY`). 3DES is only
//! behind aws-lc-rs's `legacy-des` feature, which needs aws-lc-sys's bindgen-generated
//! bindings; it is not enabled, so 3DES is [`crate::Error::Unsupported`] here.

use super::cipher::{Aes128Gcm, CbcCipher, CipherAlg, GCM_NONCE_LEN, GCM_TAG_LEN};
use super::mac::{HmacSha1, Sha1, SHA1_LEN};
use super::rsa::{Rejection, RsaKey, RsaPublicKey, SigHash};
use super::rustcrypto::pkcs8_der;
use super::{crypto_err, Backend};
use crate::names::Dimension;
use crate::{Error, Result};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM};
use aws_lc_rs::cipher::{
    DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    Pkcs1PrivateDecryptingKey, Pkcs1PublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{
    KeyPair, ParsedPublicKey, RsaKeyPair, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256,
    RSA_PKCS1_SHA256,
};

const B: Backend = Backend::AwsLc;

/// An aws-lc-rs RSA public key (2048 to 8192 bits): a PKCS#1 v1.5 encrypting key and a
/// SHA-256 verification key parsed once (other hashes parse the key per call; they are not
/// timed).
pub struct AwsLcRsaPublic {
    der: Vec<u8>,
    sha256: ParsedPublicKey,
    encrypting: Pkcs1PublicEncryptingKey,
    bits: u32,
}

impl AwsLcRsaPublic {
    /// From a public key's DER (SubjectPublicKeyInfo or PKCS#1 `RSAPublicKey`) and its
    /// encrypting key.
    fn new(der: Vec<u8>, encrypting: PublicEncryptingKey) -> Result<Self> {
        let bits = encrypting.key_size_bits() as u32;
        let sha256 = ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &der)
            .map_err(|e| crypto_err(B, "load public key", e))?;
        let encrypting = Pkcs1PublicEncryptingKey::new(encrypting)
            .map_err(|e| crypto_err(B, "load public key", e))?;
        Ok(AwsLcRsaPublic {
            der,
            sha256,
            encrypting,
            bits,
        })
    }

    /// Parses a SubjectPublicKeyInfo (PEM `BEGIN PUBLIC KEY` or DER).
    pub fn from_spki(key: &[u8]) -> Result<Self> {
        let der = super::rsa::spki_der(B, key)?;
        let encrypting = PublicEncryptingKey::from_der(&der).map_err(|e| {
            crypto_err(
                B,
                "load public key",
                format!("not an RSA public key of 2048..=8192 bits: {e}"),
            )
        })?;
        Self::new(der, encrypting)
    }
}

impl RsaPublicKey for AwsLcRsaPublic {
    fn backend(&self) -> Backend {
        B
    }

    fn bits(&self) -> u32 {
        self.bits
    }

    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.encrypting.ciphertext_size()];
        let n = self
            .encrypting
            .encrypt(message, &mut out)
            .map_err(|e| crypto_err(B, "rsa encrypt", e))?
            .len();
        out.truncate(n);
        Ok(out)
    }

    /// aws-lc-rs reports every failed verification as one `Unspecified`; the key was parsed
    /// and accepted at load time, so a failure here is the signature's: `Ok(false)`.
    fn verify_with(&mut self, hash: SigHash, message: &[u8], signature: &[u8]) -> Result<bool> {
        let alg =
            match hash {
                SigHash::Sha256 => return Ok(self.sha256.verify_sig(message, signature).is_ok()),
                SigHash::Sha384 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA384,
                SigHash::Sha512 => &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA512,
                SigHash::Sha224 => return Err(Error::Unsupported {
                    backend: B.label(),
                    what:
                        "RSA PKCS#1 v1.5 signatures with SHA-224 (aws-lc-rs has no such algorithm)"
                            .into(),
                }),
            };
        Ok(UnparsedPublicKey::new(alg, &self.der)
            .verify(message, signature)
            .is_ok())
    }
}

/// An aws-lc-rs RSA key: a signing key pair and a PKCS#1 v1.5 decrypting key (two parsed
/// copies of the same PKCS#8 key, as the crate keeps the two uses apart).
pub struct AwsLcRsa {
    pair: RsaKeyPair,
    public: AwsLcRsaPublic,
    decrypting: Pkcs1PrivateDecryptingKey,
    rng: SystemRandom,
}

impl AwsLcRsa {
    /// Parses a PKCS#8 PEM RSA key (2048 bits or more) and warms it with one decrypt and
    /// one sign.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self> {
        let der = pkcs8_der(B, pem)?;
        let pair = RsaKeyPair::from_pkcs8(&der).map_err(|e| {
            crypto_err(
                B,
                "load key",
                format!("not an RSA PKCS#8 key of 2048..8192 bits: {e}"),
            )
        })?;
        let private =
            PrivateDecryptingKey::from_pkcs8(&der).map_err(|e| crypto_err(B, "load key", e))?;
        let public =
            AwsLcRsaPublic::new(pair.public_key().as_ref().to_vec(), private.public_key())?;
        let decrypting =
            Pkcs1PrivateDecryptingKey::new(private).map_err(|e| crypto_err(B, "load key", e))?;
        let mut key = AwsLcRsa {
            pair,
            public,
            decrypting,
            rng: SystemRandom::new(),
        };
        super::rsa::warm_up(&mut key)?;
        Ok(key)
    }
}

super::rsa::public_half!(AwsLcRsa);

impl RsaKey for AwsLcRsa {
    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.decrypting.min_output_size()];
        let n = self
            .decrypting
            .decrypt(ciphertext, &mut out)
            .map_err(|e| crypto_err(B, "rsa decrypt", e))?
            .len();
        out.truncate(n);
        Ok(out)
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &self.rng, message, &mut sig)
            .map_err(|e| crypto_err(B, "rsa sign", e))?;
        Ok(sig)
    }

    /// AWS-LC's PKCS#1 v1.5 decryption reports a bad padding as an error.
    fn rejection(&self) -> Rejection {
        Rejection::Explicit
    }
}

/// AES-128-CBC, no padding, keyed once per direction.
pub struct AwsLcCbc {
    enc: EncryptingKey,
    dec: DecryptingKey,
}

impl AwsLcCbc {
    /// Keys both directions; 3DES is [`Error::Unsupported`] (see the module doc).
    pub fn new(alg: CipherAlg, key: &[u8]) -> Result<Self> {
        if alg != CipherAlg::Aes128Cbc {
            return Err(Error::Unsupported {
                backend: B.label(),
                what: format!(
                    "{} (aws-lc-rs's `legacy-des` feature is not enabled)",
                    alg.label()
                ),
            });
        }
        alg.check_key(B, key)?;
        let unbound =
            || UnboundCipherKey::new(&AES_128, key).map_err(|e| crypto_err(B, "cbc key setup", e));
        Ok(AwsLcCbc {
            enc: EncryptingKey::cbc(unbound()?).map_err(|e| crypto_err(B, "cbc key setup", e))?,
            dec: DecryptingKey::cbc(unbound()?).map_err(|e| crypto_err(B, "cbc key setup", e))?,
        })
    }
}

impl CbcCipher for AwsLcCbc {
    fn backend(&self) -> Backend {
        B
    }

    fn alg(&self) -> CipherAlg {
        CipherAlg::Aes128Cbc
    }

    fn encrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        CipherAlg::Aes128Cbc.check_iv_buf(B, iv, buf)?;
        let iv = FixedLength::try_from(iv).map_err(|e| crypto_err(B, "cbc", e))?;
        self.enc
            .less_safe_encrypt(buf, EncryptionContext::Iv128(iv))
            .map_err(|e| crypto_err(B, "cbc encrypt", e))?;
        Ok(())
    }

    fn decrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        CipherAlg::Aes128Cbc.check_iv_buf(B, iv, buf)?;
        let iv = FixedLength::try_from(iv).map_err(|e| crypto_err(B, "cbc", e))?;
        self.dec
            .decrypt(buf, DecryptionContext::Iv128(iv))
            .map_err(|e| crypto_err(B, "cbc decrypt", e))?;
        Ok(())
    }
}

/// HMAC-SHA1 with a key set up once; each tag starts from a copy of the keyed context.
pub struct AwsLcHmac {
    key: aws_lc_rs::hmac::Key,
}

impl AwsLcHmac {
    /// Keys the MAC once.
    pub fn new(key: &[u8]) -> Self {
        AwsLcHmac {
            key: aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key),
        }
    }
}

impl HmacSha1 for AwsLcHmac {
    fn backend(&self) -> Backend {
        B
    }

    fn mac(&mut self, parts: &[&[u8]]) -> Result<[u8; SHA1_LEN]> {
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&self.key);
        for p in parts {
            ctx.update(p);
        }
        <[u8; SHA1_LEN]>::try_from(ctx.sign().as_ref())
            .map_err(|_| crypto_err(B, "hmac-sha1", "wrong tag length"))
    }
}

/// SHA-1 of aws-lc-rs.
pub struct AwsLcSha1;

impl Sha1 for AwsLcSha1 {
    fn backend(&self) -> Backend {
        B
    }

    fn digest(&mut self, data: &[u8]) -> Result<[u8; SHA1_LEN]> {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
        <[u8; SHA1_LEN]>::try_from(d.as_ref())
            .map_err(|_| crypto_err(B, "sha1", "wrong digest length"))
    }
}

/// AES-128-GCM of aws-lc-rs with caller-chosen nonces (TLS 1.2 builds them from the
/// sequence number).
pub struct AwsLcGcm {
    key: LessSafeKey,
}

impl AwsLcGcm {
    /// Keys the AEAD once.
    pub fn new(key: &[u8]) -> Result<Self> {
        let unbound = UnboundKey::new(&AES_128_GCM, key).map_err(|_| {
            crypto_err(
                B,
                "gcm setup",
                format!("AES-128-GCM needs a 16-byte key, got {}", key.len()),
            )
        })?;
        Ok(AwsLcGcm {
            key: LessSafeKey::new(unbound),
        })
    }
}

impl Aes128Gcm for AwsLcGcm {
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
            .key
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|e| crypto_err(B, "gcm seal", e))?;
        <[u8; GCM_TAG_LEN]>::try_from(tag.as_ref())
            .map_err(|_| crypto_err(B, "gcm seal", "wrong tag length"))
    }

    fn open(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        self.key
            .open_in_place_separate_tag(
                Nonce::assume_unique_for_key(*nonce),
                Aad::from(aad),
                tag,
                buf,
            )
            .map(|_| ())
            .map_err(|_| Error::Crypto {
                backend: B.label(),
                op: "gcm open",
                detail: "authentication tag does not match".into(),
            })
    }
}

/// The TLS 1.2 PRF with SHA-256 (RFC 5246 5) of aws-lc-rs (`tls_prf`, AWS-LC's
/// `CRYPTO_tls1_prf`). AWS-LC refuses an empty secret.
pub fn tls12_prf(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
    use aws_lc_rs::tls_prf::{Secret, P_SHA256};
    let derived = Secret::new(&P_SHA256, secret)
        .and_then(|s| s.derive(label, seed, out.len()))
        .map_err(|e| crypto_err(B, "tls12 prf", e))?;
    out.copy_from_slice(derived.as_ref());
    Ok(())
}
