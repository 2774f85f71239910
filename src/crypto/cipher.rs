//! The block-cipher primitive kind: raw CBC, encrypt and decrypt in place, no padding
//! (TLS does its own padding, see `record.rs`).

use super::Backend;
use crate::names::Dimension;
use crate::{Error, Result};

/// A CBC block cipher as used by the paper's TLS suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CipherAlg {
    /// AES-128 in CBC mode (TLS_RSA_WITH_AES_128_CBC_SHA).
    Aes128Cbc,
    /// Three-key triple DES, EDE, in CBC mode (TLS_RSA_WITH_3DES_EDE_CBC_SHA).
    TdesCbc,
}

impl Dimension for CipherAlg {
    const ALL: &'static [Self] = &[CipherAlg::Aes128Cbc, CipherAlg::TdesCbc];

    fn label(&self) -> &'static str {
        match self {
            CipherAlg::Aes128Cbc => "aes128-cbc",
            CipherAlg::TdesCbc => "3des-cbc",
        }
    }
}

impl CipherAlg {
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            CipherAlg::Aes128Cbc => 16,
            CipherAlg::TdesCbc => 24,
        }
    }

    /// Block (and IV) length in bytes.
    pub fn block_len(self) -> usize {
        match self {
            CipherAlg::Aes128Cbc => 16,
            CipherAlg::TdesCbc => 8,
        }
    }

    /// Refuses a key of the wrong length with an error naming the expected one.
    pub fn check_key(self, backend: Backend, key: &[u8]) -> Result<()> {
        if key.len() != self.key_len() {
            return Err(Error::Crypto {
                backend: backend.label(),
                op: "cbc key setup",
                detail: format!(
                    "{} needs a {}-byte key, got {} bytes",
                    self.label(),
                    self.key_len(),
                    key.len()
                ),
            });
        }
        Ok(())
    }

    /// Refuses an IV or buffer that does not fit the block size.
    pub fn check_iv_buf(self, backend: Backend, iv: &[u8], buf: &[u8]) -> Result<()> {
        let b = self.block_len();
        if iv.len() != b || !buf.len().is_multiple_of(b) {
            return Err(Error::Crypto {
                backend: backend.label(),
                op: "cbc",
                detail: format!(
                    "{} needs a {b}-byte IV and a multiple of {b} bytes; got IV {} bytes, data {} bytes",
                    self.label(),
                    iv.len(),
                    buf.len()
                ),
            });
        }
        Ok(())
    }
}

/// Encrypt or decrypt, as a benchmark dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CipherDir {
    /// CBC encryption.
    Encrypt,
    /// CBC decryption.
    Decrypt,
}

impl Dimension for CipherDir {
    const ALL: &'static [Self] = &[CipherDir::Encrypt, CipherDir::Decrypt];

    fn label(&self) -> &'static str {
        match self {
            CipherDir::Encrypt => "encrypt",
            CipherDir::Decrypt => "decrypt",
        }
    }
}

/// A keyed CBC cipher of one backend. The key schedule is built once, at construction;
/// each call takes a fresh IV, as each TLS 1.2 record does.
pub trait CbcCipher {
    /// The backend that implements it.
    fn backend(&self) -> Backend;

    /// The algorithm.
    fn alg(&self) -> CipherAlg;

    /// Encrypts `buf` in place (length a multiple of the block size) under `iv`.
    fn encrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()>;

    /// Decrypts `buf` in place (length a multiple of the block size) under `iv`.
    fn decrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()>;
}

/// Length of an AES-GCM nonce and tag as TLS 1.2 uses them.
pub const GCM_NONCE_LEN: usize = 12;
/// Length of an AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;

/// AES-128-GCM with a fixed key (the AEAD suite, for comparison with the CBC suites).
pub trait Aes128Gcm {
    /// The backend that implements it.
    fn backend(&self) -> Backend;

    /// Encrypts `buf` in place; returns the tag over `aad` and the ciphertext.
    fn seal(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]>;

    /// Decrypts `buf` in place if `tag` authenticates it and `aad`; an [`Error::Crypto`]
    /// otherwise (the contents of `buf` are then unspecified).
    fn open(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()>;
}
