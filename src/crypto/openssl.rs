//! The OpenSSL backend: the system libcrypto through the `openssl` crate.
//!
//! Contexts are set up once and reused per call, as libssl and `openssl speed` use them:
//! one `EVP_PKEY_CTX` per RSA operation kind (initialised with its padding and digest),
//! one `EVP_CIPHER_CTX` per CBC direction (key schedule kept, never re-initialised), one
//! keyed `EVP_MAC_CTX` (each call restarts from the precomputed inner/outer pads).
//! The safe crate offers neither in-place CBC nor a reusable HMAC, so those two use
//! `openssl-sys` directly, inside small owning wrappers.

use super::cipher::{Aes128Gcm, CbcCipher, CipherAlg, GCM_NONCE_LEN, GCM_TAG_LEN};
use super::mac::{HmacSha1, Sha1, SHA1_LEN};
use super::rsa::{Rejection, RsaKey, RsaPublicKey, SigHash};
use super::{crypto_err, Backend};
use crate::names::Dimension;
use crate::{Error, Result};
use openssl::cipher::Cipher;
use openssl::cipher_ctx::CipherCtx;
use openssl::hash::{Hasher, MessageDigest};
use openssl::md::Md;
use openssl::pkey::{HasPublic, PKey, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use std::os::raw::c_int;

const B: Backend = Backend::OpenSsl;

/// The public-key contexts of an OpenSSL RSA key (a public one, or the public half of a
/// private one): encrypt and SHA-256 verify, each initialised once.
pub struct OpensslRsaPublic<T> {
    pkey: PKey<T>,
    bits: u32,
    encrypt: PkeyCtx<T>,
    verify: PkeyCtx<T>,
}

/// A context for `pkey` set up by `init`, with PKCS#1 v1.5 padding and, for signatures,
/// the digest `md`.
fn rsa_ctx<T>(
    pkey: &PKey<T>,
    init: fn(&mut PkeyCtx<T>) -> std::result::Result<(), openssl::error::ErrorStack>,
    md: Option<&openssl::md::MdRef>,
) -> std::result::Result<PkeyCtx<T>, openssl::error::ErrorStack> {
    let mut c = PkeyCtx::new(pkey)?;
    init(&mut c)?;
    c.set_rsa_padding(Padding::PKCS1)?;
    if let Some(md) = md {
        c.set_signature_md(md)?;
    }
    Ok(c)
}

fn md(hash: SigHash) -> &'static openssl::md::MdRef {
    match hash {
        SigHash::Sha224 => Md::sha224(),
        SigHash::Sha256 => Md::sha256(),
        SigHash::Sha384 => Md::sha384(),
        SigHash::Sha512 => Md::sha512(),
    }
}

fn check_rsa<T>(pkey: &PKey<T>, op: &'static str) -> Result<()> {
    if pkey.id() != openssl::pkey::Id::RSA {
        return Err(crypto_err(
            B,
            op,
            format!("expected an RSA key, got key type {:?}", pkey.id()),
        ));
    }
    Ok(())
}

impl<T: HasPublic> OpensslRsaPublic<T> {
    fn new(pkey: PKey<T>, op: &'static str) -> Result<Self> {
        check_rsa(&pkey, op)?;
        let build = || -> std::result::Result<Self, openssl::error::ErrorStack> {
            Ok(OpensslRsaPublic {
                bits: pkey.bits(),
                encrypt: rsa_ctx(&pkey, |c| c.encrypt_init(), None)?,
                verify: rsa_ctx(&pkey, |c| c.verify_init(), Some(Md::sha256()))?,
                pkey: pkey.clone(),
            })
        };
        build().map_err(|e| crypto_err(B, "set up RSA contexts", e))
    }
}

impl OpensslRsaPublic<Public> {
    /// Parses a SubjectPublicKeyInfo (PEM `BEGIN PUBLIC KEY` or DER) and sets up the
    /// contexts.
    pub fn from_spki(key: &[u8]) -> Result<Self> {
        let der = super::rsa::spki_der(B, key)?;
        let pkey =
            PKey::public_key_from_der(&der).map_err(|e| crypto_err(B, "load public key", e))?;
        Self::new(pkey, "load public key")
    }
}

/// `ERR_LIB_RSA` of `openssl/err.h` (not bound by openssl-sys).
const ERR_LIB_RSA: c_int = 4;
/// `ERR_R_RSA_LIB` of `openssl/err.h`: `ERR_LIB_RSA | ERR_RFLAG_COMMON`, the reason another
/// library (the provider) gives when the RSA code below it failed.
const ERR_R_RSA_LIB: c_int = ERR_LIB_RSA | 0x8_0000;

/// `ERR_LIB_EVP` of `openssl/err.h`.
const ERR_LIB_EVP: c_int = 6;
/// `EVP_R_PROVIDER_SIGNATURE_FAILURE` of `openssl/evperr.h`: OpenSSL 3.6 adds it on top of
/// the RSA padding errors of a signature that does not verify.
const EVP_R_PROVIDER_SIGNATURE_FAILURE: c_int = 234;

/// OpenSSL's answer to a signature check as a verdict or a failure. `EVP_PKEY_verify`
/// reports a bad signature as 0 or -1 with errors on the stack: the RSA library's (bad
/// signature, padding check failed, wrong signature length, data too large for the
/// modulus), each wrapped by the provider's "RSA lib". Those are its verdict on the
/// signature (OpenSSL 3.6 also adds EVP's "provider signature failure" above them); a stack
/// with any other error (allocation, provider set-up, decoder) is a failure of the backend.
fn verify_verdict(r: std::result::Result<bool, openssl::error::ErrorStack>) -> Result<bool> {
    match r {
        Ok(v) => Ok(v),
        Err(e)
            if e.errors().iter().all(|x| {
                x.library_code() == ERR_LIB_RSA
                    || x.reason_code() == ERR_R_RSA_LIB
                    || (x.library_code() == ERR_LIB_EVP
                        && x.reason_code() == EVP_R_PROVIDER_SIGNATURE_FAILURE)
            }) =>
        {
            Ok(false)
        }
        Err(e) => Err(crypto_err(B, "rsa verify", e)),
    }
}

impl<T: HasPublic> RsaPublicKey for OpensslRsaPublic<T> {
    fn backend(&self) -> Backend {
        B
    }

    fn bits(&self) -> u32 {
        self.bits
    }

    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.modulus_len()];
        let n = self
            .encrypt
            .encrypt(message, Some(&mut out))
            .map_err(|e| crypto_err(B, "rsa encrypt", e))?;
        out.truncate(n);
        Ok(out)
    }

    fn verify_with(&mut self, hash: SigHash, message: &[u8], signature: &[u8]) -> Result<bool> {
        if hash == SigHash::Sha256 {
            let digest = openssl::sha::sha256(message);
            return verify_verdict(self.verify.verify(&digest, signature));
        }
        // Other hashes are not timed: a context per call.
        let mut ctx = rsa_ctx(&self.pkey, |c| c.verify_init(), Some(md(hash)))
            .map_err(|e| crypto_err(B, "rsa verify setup", e))?;
        verify_verdict(ctx.verify(&hash.digest(message), signature))
    }
}

/// An OpenSSL RSA key with one ready context per operation.
pub struct OpensslRsa {
    public: OpensslRsaPublic<Private>,
    decrypt: PkeyCtx<Private>,
    sign: PkeyCtx<Private>,
}

impl OpensslRsa {
    /// Parses a PEM private key (PKCS#8 or PKCS#1), checks that it is RSA, sets up the
    /// operation contexts and warms the key with one decrypt and one sign.
    pub fn from_pkcs8_pem(pem: &[u8]) -> Result<Self> {
        let pkey = PKey::private_key_from_pem(pem).map_err(|e| crypto_err(B, "load key", e))?;
        Self::from_pkey(&pkey)
    }

    /// The same from an already parsed key (the contexts hold their own reference).
    pub fn from_pkey(pkey: &PKey<Private>) -> Result<Self> {
        check_rsa(pkey, "load key")?;
        let build = || -> std::result::Result<(PkeyCtx<Private>, PkeyCtx<Private>), openssl::error::ErrorStack> {
            Ok((
                rsa_ctx(pkey, |c| c.decrypt_init(), None)?,
                rsa_ctx(pkey, |c| c.sign_init(), Some(Md::sha256()))?,
            ))
        };
        let (decrypt, sign) = build().map_err(|e| crypto_err(B, "set up RSA contexts", e))?;
        let mut key = OpensslRsa {
            public: OpensslRsaPublic::new(pkey.clone(), "load key")?,
            decrypt,
            sign,
        };
        super::rsa::warm_up(&mut key)?;
        Ok(key)
    }
}

super::rsa::public_half!(OpensslRsa);

impl RsaKey for OpensslRsa {
    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.modulus_len()];
        let n = self
            .decrypt
            .decrypt(ciphertext, Some(&mut out))
            .map_err(|e| crypto_err(B, "rsa decrypt", e))?;
        out.truncate(n);
        Ok(out)
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let hash = openssl::sha::sha256(message);
        let mut out = vec![0u8; self.modulus_len()];
        let n = self
            .sign
            .sign(&hash, Some(&mut out))
            .map_err(|e| crypto_err(B, "rsa sign", e))?;
        out.truncate(n);
        Ok(out)
    }

    /// Implicit from OpenSSL 3.2 on (the linked library's version, read at run time).
    fn rejection(&self) -> Rejection {
        openssl_rejection()
    }
}

/// The linked OpenSSL's answer to a bad PKCS#1 v1.5 padding: implicit rejection from 3.2.0
/// on (its CHANGES: "Added support for implicit rejection in RSA PKCS#1 v1.5 decryption").
pub fn openssl_rejection() -> Rejection {
    if openssl::version::number() >= 0x3020_0000 {
        Rejection::Implicit
    } else {
        Rejection::Explicit
    }
}

/// An owned `EVP_CIPHER_CTX`, keyed once for one direction, padding off.
///
/// The context is never re-initialised: like libssl, which encrypts a random first block
/// through one chained CBC context instead of setting a new IV per record, it keeps
/// running, and a call's IV is applied by XOR-ing the first block with `iv ^ chain`
/// (`chain` = the last ciphertext block the context has seen, i.e. its current IV). The
/// result is exactly CBC under `iv`, without the cost of `EVP_CipherInit_ex` per call.
struct EvpCbc {
    ctx: *mut openssl_sys::EVP_CIPHER_CTX,
    encrypt: bool,
    block: usize,
    chain: [u8; 16],
}

impl EvpCbc {
    fn new(alg: CipherAlg, key: &[u8], encrypt: bool) -> Result<Self> {
        openssl_sys::init();
        // SAFETY: a fresh context is owned by the returned value and freed in Drop; the
        // cipher is a static table of libcrypto; `key` has the checked key length.
        unsafe {
            let cipher = match alg {
                CipherAlg::Aes128Cbc => openssl_sys::EVP_aes_128_cbc(),
                CipherAlg::TdesCbc => openssl_sys::EVP_des_ede3_cbc(),
            };
            let ctx = openssl_sys::EVP_CIPHER_CTX_new();
            if ctx.is_null() {
                return Err(crypto_err(
                    B,
                    "cbc setup",
                    openssl::error::ErrorStack::get(),
                ));
            }
            let me = EvpCbc {
                ctx,
                encrypt,
                block: alg.block_len(),
                chain: [0u8; 16],
            };
            let ok = openssl_sys::EVP_CipherInit_ex(
                ctx,
                cipher,
                std::ptr::null_mut(),
                key.as_ptr(),
                me.chain.as_ptr(),
                c_int::from(encrypt),
            ) == 1
                && openssl_sys::EVP_CIPHER_CTX_set_padding(ctx, 0) == 1;
            if !ok {
                return Err(crypto_err(
                    B,
                    "cbc setup",
                    openssl::error::ErrorStack::get(),
                ));
            }
            Ok(me)
        }
    }

    /// Runs CBC under `iv` over `buf` in place (`iv` and `buf` checked by the caller).
    fn run(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        let len = c_int::try_from(buf.len())
            .map_err(|_| crypto_err(B, "cbc", format!("{} bytes is too long", buf.len())))?;
        if buf.is_empty() {
            return Ok(());
        }
        let bs = self.block;
        let last = buf.len() - bs;
        let mut next_chain = [0u8; 16];
        if self.encrypt {
            // First plaintext block ^ iv ^ chain: the context XORs `chain` back in.
            for i in 0..bs {
                buf[i] ^= iv[i] ^ self.chain[i];
            }
        } else {
            next_chain[..bs].copy_from_slice(&buf[last..]);
        }
        let mut outl: c_int = 0;
        // SAFETY: the context is valid and keyed. EVP allows the input and output to be
        // the same buffer; with padding off and whole blocks it writes exactly `len` bytes.
        let ok = unsafe {
            openssl_sys::EVP_CipherUpdate(self.ctx, buf.as_mut_ptr(), &mut outl, buf.as_ptr(), len)
                == 1
        };
        if !ok || outl != len {
            return Err(crypto_err(
                B,
                "cbc",
                format!(
                    "EVP_CipherUpdate wrote {outl} of {len} bytes ({})",
                    openssl::error::ErrorStack::get()
                ),
            ));
        }
        if self.encrypt {
            self.chain[..bs].copy_from_slice(&buf[last..]);
        } else {
            // The context XORed `chain` into the first block; CBC under `iv` wants `iv`.
            for i in 0..bs {
                buf[i] ^= iv[i] ^ self.chain[i];
            }
            self.chain = next_chain;
        }
        Ok(())
    }
}

impl Drop for EvpCbc {
    fn drop(&mut self) {
        // SAFETY: created by EVP_CIPHER_CTX_new and freed only here.
        unsafe { openssl_sys::EVP_CIPHER_CTX_free(self.ctx) }
    }
}

/// Raw CBC on OpenSSL's EVP, one keyed context per direction.
pub struct OpensslCbc {
    alg: CipherAlg,
    enc: EvpCbc,
    dec: EvpCbc,
}

impl OpensslCbc {
    /// Keys both directions once.
    pub fn new(alg: CipherAlg, key: &[u8]) -> Result<Self> {
        alg.check_key(B, key)?;
        Ok(OpensslCbc {
            alg,
            enc: EvpCbc::new(alg, key, true)?,
            dec: EvpCbc::new(alg, key, false)?,
        })
    }
}

impl CbcCipher for OpensslCbc {
    fn backend(&self) -> Backend {
        B
    }

    fn alg(&self) -> CipherAlg {
        self.alg
    }

    fn encrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        self.alg.check_iv_buf(B, iv, buf)?;
        self.enc.run(iv, buf)
    }

    fn decrypt(&mut self, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        self.alg.check_iv_buf(B, iv, buf)?;
        self.dec.run(iv, buf)
    }
}

// Not bound by openssl-sys; part of libcrypto 3 (OSSL_PARAM construction).
extern "C" {
    fn OSSL_PARAM_construct_utf8_string(
        key: *const std::os::raw::c_char,
        buf: *mut std::os::raw::c_char,
        bsize: usize,
    ) -> openssl_sys::OSSL_PARAM;
}

/// HMAC-SHA1 on OpenSSL 3's `EVP_MAC` ("HMAC" with digest SHA1), keyed once; each tag
/// restarts the context with `EVP_MAC_init(ctx, NULL, 0, NULL)`, which keeps the key's
/// precomputed inner and outer pads. This is the path `openssl speed -hmac` measures.
pub struct OpensslHmac {
    mac: *mut openssl_sys::EVP_MAC,
    ctx: *mut openssl_sys::EVP_MAC_CTX,
}

impl OpensslHmac {
    /// Fetches HMAC, keys the context with SHA-1 and `key`.
    pub fn new(key: &[u8]) -> Result<Self> {
        openssl_sys::init();
        let setup_err = || crypto_err(B, "hmac setup", openssl::error::ErrorStack::get());
        // SAFETY: the MAC and its context are owned by the returned value and freed in
        // Drop (also on the error paths below, through `me`); the parameter strings are
        // NUL-terminated statics that outlive the EVP_MAC_init call reading them.
        unsafe {
            let mac = openssl_sys::EVP_MAC_fetch(
                std::ptr::null_mut(),
                c"HMAC".as_ptr(),
                std::ptr::null(),
            );
            if mac.is_null() {
                return Err(setup_err());
            }
            let ctx = openssl_sys::EVP_MAC_CTX_new(mac);
            let me = OpensslHmac { mac, ctx };
            if ctx.is_null() {
                return Err(setup_err());
            }
            let mut digest = *b"SHA1\0";
            let params = [
                OSSL_PARAM_construct_utf8_string(c"digest".as_ptr(), digest.as_mut_ptr().cast(), 0),
                openssl_sys::OSSL_PARAM_construct_end(),
            ];
            // An empty key must still be a non-NULL pointer: NULL means "keep the key".
            let kp = if key.is_empty() {
                digest.as_ptr()
            } else {
                key.as_ptr()
            };
            if openssl_sys::EVP_MAC_init(ctx, kp, key.len(), params.as_ptr()) != 1 {
                return Err(setup_err());
            }
            Ok(me)
        }
    }
}

impl HmacSha1 for OpensslHmac {
    fn backend(&self) -> Backend {
        B
    }

    fn mac(&mut self, parts: &[&[u8]]) -> Result<[u8; SHA1_LEN]> {
        let mut tag = [0u8; SHA1_LEN];
        let mut len: usize = 0;
        // SAFETY: the context is valid and keyed; a NULL key restarts it with the same
        // key; `tag` has room for the SHA-1 output, whose size is passed.
        let ok = unsafe {
            let mut ok =
                openssl_sys::EVP_MAC_init(self.ctx, std::ptr::null(), 0, std::ptr::null()) == 1;
            for p in parts {
                ok = ok && openssl_sys::EVP_MAC_update(self.ctx, p.as_ptr(), p.len()) == 1;
            }
            ok && openssl_sys::EVP_MAC_final(self.ctx, tag.as_mut_ptr(), &mut len, SHA1_LEN) == 1
        };
        if !ok || len != SHA1_LEN {
            return Err(crypto_err(
                B,
                "hmac-sha1",
                openssl::error::ErrorStack::get(),
            ));
        }
        Ok(tag)
    }
}

impl Drop for OpensslHmac {
    fn drop(&mut self) {
        // SAFETY: created by EVP_MAC_CTX_new / EVP_MAC_fetch and freed only here
        // (both functions accept NULL).
        unsafe {
            openssl_sys::EVP_MAC_CTX_free(self.ctx);
            openssl_sys::EVP_MAC_free(self.mac);
        }
    }
}

/// SHA-1 on one reused EVP digest context.
pub struct OpensslSha1 {
    hasher: Hasher,
}

impl OpensslSha1 {
    /// Fetches the digest and sets up the context.
    pub fn new() -> Result<Self> {
        Ok(OpensslSha1 {
            hasher: Hasher::new(MessageDigest::sha1()).map_err(|e| crypto_err(B, "sha1", e))?,
        })
    }
}

impl Sha1 for OpensslSha1 {
    fn backend(&self) -> Backend {
        B
    }

    fn digest(&mut self, data: &[u8]) -> Result<[u8; SHA1_LEN]> {
        self.hasher
            .update(data)
            .map_err(|e| crypto_err(B, "sha1", e))?;
        let d = self.hasher.finish().map_err(|e| crypto_err(B, "sha1", e))?;
        <[u8; SHA1_LEN]>::try_from(&d[..]).map_err(|_| crypto_err(B, "sha1", "wrong digest length"))
    }
}

/// AES-128-GCM on one reused EVP context per direction (each call sets a new nonce).
pub struct OpensslGcm {
    enc: CipherCtx,
    dec: CipherCtx,
}

impl OpensslGcm {
    /// Keys both directions once.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() != 16 {
            return Err(crypto_err(
                B,
                "gcm setup",
                format!("AES-128-GCM needs a 16-byte key, got {}", key.len()),
            ));
        }
        let build = || -> std::result::Result<Self, openssl::error::ErrorStack> {
            let mut enc = CipherCtx::new()?;
            enc.encrypt_init(Some(Cipher::aes_128_gcm()), Some(key), None)?;
            let mut dec = CipherCtx::new()?;
            dec.decrypt_init(Some(Cipher::aes_128_gcm()), Some(key), None)?;
            Ok(OpensslGcm { enc, dec })
        };
        build().map_err(|e| crypto_err(B, "gcm setup", e))
    }
}

impl Aes128Gcm for OpensslGcm {
    fn backend(&self) -> Backend {
        B
    }

    fn seal(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        let c = &mut self.enc;
        let mut tag = [0u8; GCM_TAG_LEN];
        let mut run = || -> std::result::Result<(), openssl::error::ErrorStack> {
            c.encrypt_init(None, None, Some(nonce))?;
            c.cipher_update(aad, None)?;
            let n = buf.len();
            c.cipher_update_inplace(buf, n)?;
            c.cipher_final(&mut [])?;
            c.tag(&mut tag)
        };
        run().map_err(|e| crypto_err(B, "gcm seal", e))?;
        Ok(tag)
    }

    fn open(
        &mut self,
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        let c = &mut self.dec;
        let mut run = || -> std::result::Result<(), openssl::error::ErrorStack> {
            c.decrypt_init(None, None, Some(nonce))?;
            c.cipher_update(aad, None)?;
            let n = buf.len();
            c.cipher_update_inplace(buf, n)?;
            c.set_tag(tag)?;
            c.cipher_final(&mut [])?;
            Ok(())
        };
        run().map_err(|_| Error::Crypto {
            backend: B.label(),
            op: "gcm open",
            detail: "authentication tag does not match".into(),
        })
    }
}

/// The TLS 1.2 PRF with SHA-256 (RFC 5246 5) on OpenSSL 3's `EVP_KDF` "TLS1-PRF": fills
/// `out` with PRF(`secret`, `label`, `seed`).
pub fn tls12_prf(secret: &[u8], label: &[u8], seed: &[u8], out: &mut [u8]) -> Result<()> {
    openssl_sys::init();
    let err = || crypto_err(B, "tls1-prf", openssl::error::ErrorStack::get());
    // The parameter constructors take mutable pointers; they only read through them.
    let (mut secret, mut label_seed) = (secret.to_vec(), [label, seed].concat());
    let mut digest = *b"SHA256\0";
    // SAFETY: the KDF and its context are freed on every path; the context keeps its own
    // reference to the KDF (EVP_KDF_CTX_new ups it). The parameters point into locals that
    // outlive EVP_KDF_derive, with their true lengths; `out` has room for `out.len()` bytes.
    unsafe {
        let kdf = openssl_sys::EVP_KDF_fetch(
            std::ptr::null_mut(),
            c"TLS1-PRF".as_ptr(),
            std::ptr::null(),
        );
        if kdf.is_null() {
            return Err(err());
        }
        let ctx = openssl_sys::EVP_KDF_CTX_new(kdf);
        openssl_sys::EVP_KDF_free(kdf);
        if ctx.is_null() {
            return Err(err());
        }
        let params = [
            OSSL_PARAM_construct_utf8_string(c"digest".as_ptr(), digest.as_mut_ptr().cast(), 0),
            openssl_sys::OSSL_PARAM_construct_octet_string(
                c"secret".as_ptr(),
                secret.as_mut_ptr().cast(),
                secret.len(),
            ),
            openssl_sys::OSSL_PARAM_construct_octet_string(
                c"seed".as_ptr(),
                label_seed.as_mut_ptr().cast(),
                label_seed.len(),
            ),
            openssl_sys::OSSL_PARAM_construct_end(),
        ];
        let ok =
            openssl_sys::EVP_KDF_derive(ctx, out.as_mut_ptr(), out.len(), params.as_ptr()) == 1;
        openssl_sys::EVP_KDF_CTX_free(ctx);
        if !ok {
            return Err(err());
        }
    }
    Ok(())
}
