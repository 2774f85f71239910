//! TLS 1.2 record protection (RFC 5246 6.2.3) for the paper's suites, over any backend.
//!
//! * CBC suites, TLS_RSA_WITH_AES_128_CBC_SHA and TLS_RSA_WITH_3DES_EDE_CBC_SHA:
//!   MAC-then-encrypt. The MAC is HMAC-SHA1 over
//!   `seq_num(8) || type(1) || version(2) || length(2) || plaintext`; the fragment is
//!   `IV || CBC(plaintext || MAC || padding)` with a fresh random explicit IV per record and
//!   TLS padding (every padding byte, and the length byte after them, equals the padding
//!   length). Built over any [`CbcCipher`] and any [`HmacSha1`], so the two may even come
//!   from different backends.
//! * AES-128-GCM (RFC 5288), for comparison: the fragment is
//!   `explicit_nonce(8) || ciphertext || tag(16)`, nonce = `salt(4) || explicit_nonce`, the
//!   explicit part being the sequence number; AAD = `seq_num || type || version || length`.
//!
//! Every record carries the 5-byte header `type || 0x0303 || length`. Opening checks, in
//! this order: the header is whole; the content type is one of RFC 5246's four; the version
//! is 0303; the header's length is the fragment's; the fragment is at most 2^14+2048 bytes;
//! the fragment is IV + whole blocks holding at least MAC + padding length (CBC) or nonce +
//! tag (GCM); the padding length fits; every padding byte equals it; the MAC (or tag) over
//! the sequence number, header and plaintext; the plaintext is at most 2^14 bytes. A record
//! that fails any of them is refused with an [`Error::Crypto`] whose detail names the check
//! (padding and MAC failures share one reason, as RFC 5246 6.2.3.2 asks); a failed padding
//! check still computes the MAC, so both failures cost about the same. Sequence numbers
//! advance by one per record sealed or opened. [`fault`] builds records that fail exactly
//! one of these checks, to prove each of them.

use crate::crypto::cipher::{GCM_NONCE_LEN, GCM_TAG_LEN};
use crate::crypto::mac::SHA1_LEN;
use crate::crypto::{self, Aes128Gcm, Backend, CbcCipher, CipherAlg, HmacSha1};
use crate::names::Dimension;
use crate::{Error, Result};
use rand::Rng;

pub mod fault;

/// Length of the record header.
pub const HEADER_LEN: usize = 5;
/// TLS 1.2 on the wire.
pub const TLS12: [u8; 2] = [3, 3];
/// Largest plaintext fragment (2^14).
pub const MAX_FRAGMENT: usize = 16384;
/// Content type of application data (a SIP message over TLS).
pub const APPLICATION_DATA: u8 = 23;
/// The content types a TLS 1.2 record may carry (RFC 5246 6.2.1 and A.1):
/// change_cipher_spec, alert, handshake, application_data.
pub const CONTENT_TYPES: [u8; 4] = [20, 21, 22, APPLICATION_DATA];
/// Length of the explicit nonce of a GCM record.
pub const GCM_EXPLICIT_LEN: usize = 8;

/// A TLS 1.2 cipher suite's record protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Suite {
    /// TLS_RSA_WITH_AES_128_CBC_SHA.
    Aes128Sha,
    /// TLS_RSA_WITH_3DES_EDE_CBC_SHA.
    TdesSha,
    /// AES-128-GCM (as in TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256), for comparison.
    Aes128Gcm,
}

impl Dimension for Suite {
    const ALL: &'static [Self] = &[Suite::Aes128Sha, Suite::TdesSha, Suite::Aes128Gcm];

    fn label(&self) -> &'static str {
        match self {
            Suite::Aes128Sha => "aes128-sha",
            Suite::TdesSha => "3des-sha",
            Suite::Aes128Gcm => "aes128-gcm",
        }
    }
}

impl Suite {
    /// The CBC cipher of a CBC suite; `None` for GCM.
    pub fn cbc_alg(self) -> Option<CipherAlg> {
        match self {
            Suite::Aes128Sha => Some(CipherAlg::Aes128Cbc),
            Suite::TdesSha => Some(CipherAlg::TdesCbc),
            Suite::Aes128Gcm => None,
        }
    }

    /// Bytes a sealed record of `plaintext_len` bytes takes on the wire, header included.
    pub fn record_len(self, plaintext_len: usize) -> usize {
        match self.cbc_alg() {
            Some(alg) => {
                let bs = alg.block_len();
                let body = plaintext_len + SHA1_LEN;
                HEADER_LEN + bs + (body / bs + 1) * bs
            }
            None => HEADER_LEN + GCM_EXPLICIT_LEN + plaintext_len + GCM_TAG_LEN,
        }
    }
}

/// Seal or open, as a benchmark dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordOp {
    /// Protect one plaintext fragment into a record.
    Seal,
    /// Check and decrypt one record.
    Open,
}

impl Dimension for RecordOp {
    const ALL: &'static [Self] = &[RecordOp::Seal, RecordOp::Open];

    fn label(&self) -> &'static str {
        match self {
            RecordOp::Seal => "seal",
            RecordOp::Open => "open",
        }
    }
}

/// The keys of one direction of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKeys {
    /// Cipher key (16 bytes AES-128, 24 bytes 3DES).
    pub enc_key: Vec<u8>,
    /// HMAC-SHA1 key (20 bytes; unused by GCM).
    pub mac_key: Vec<u8>,
    /// GCM implicit nonce part (unused by CBC).
    pub salt: [u8; 4],
}

impl RecordKeys {
    /// Fixed, distinct, non-weak keys for `suite` (benchmarks and tests: both ends of a
    /// test connection must agree on them).
    pub fn fixed(suite: Suite) -> RecordKeys {
        let key_len = suite.cbc_alg().map_or(16, CipherAlg::key_len);
        let pattern = |len: usize, mul: u8, add: u8| -> Vec<u8> {
            (0..len as u8)
                .map(|i| i.wrapping_mul(mul).wrapping_add(add))
                .collect()
        };
        RecordKeys {
            enc_key: pattern(key_len, 37, 11),
            mac_key: pattern(SHA1_LEN, 53, 7),
            salt: [0x5a, 0xc3, 0x17, 0x9e],
        }
    }
}

/// Whether `backend` can protect records of `suite`, and if not, why.
pub fn supports(suite: Suite, backend: Backend) -> std::result::Result<(), String> {
    match suite.cbc_alg() {
        Some(alg) => crypto::cipher_supports(backend, alg),
        None => crypto::mac_supports(backend),
    }
}

/// One direction's primitives: a CBC cipher and HMAC-SHA1, or AES-GCM and its salt.
pub(crate) enum Protection {
    Cbc {
        cipher: Box<dyn CbcCipher>,
        mac: Box<dyn HmacSha1>,
    },
    Gcm {
        aead: Box<dyn Aes128Gcm>,
        salt: [u8; 4],
    },
}

impl Protection {
    /// `suite`'s primitives, all from `backend`, keyed with `keys`.
    pub(crate) fn new(suite: Suite, backend: Backend, keys: &RecordKeys) -> Result<Protection> {
        if let Err(why) = supports(suite, backend) {
            return Err(Error::Unsupported {
                backend: backend.label(),
                what: format!("record suite {}: {why}", suite.label()),
            });
        }
        Ok(match suite.cbc_alg() {
            Some(alg) => Protection::Cbc {
                cipher: crypto::cbc_cipher(backend, alg, &keys.enc_key)?,
                mac: crypto::hmac_sha1(backend, &keys.mac_key)?,
            },
            None => Protection::Gcm {
                aead: crypto::aes128_gcm(backend, &keys.enc_key)?,
                salt: keys.salt,
            },
        })
    }
}

/// One direction's record protection state: keys and sequence numbers.
pub struct RecordLayer {
    suite: Suite,
    label: &'static str,
    prot: Protection,
    write_seq: u64,
    read_seq: u64,
}

impl RecordLayer {
    /// Record protection of `suite` with every primitive from `backend`.
    pub fn new(suite: Suite, backend: Backend, keys: &RecordKeys) -> Result<RecordLayer> {
        Ok(RecordLayer {
            suite,
            label: backend.label(),
            prot: Protection::new(suite, backend, keys)?,
            write_seq: 0,
            read_seq: 0,
        })
    }

    /// CBC record protection over any cipher and any HMAC-SHA1 (possibly of two backends).
    pub fn cbc(cipher: Box<dyn CbcCipher>, mac: Box<dyn HmacSha1>) -> Result<RecordLayer> {
        let suite = match cipher.alg() {
            CipherAlg::Aes128Cbc => Suite::Aes128Sha,
            CipherAlg::TdesCbc => Suite::TdesSha,
        };
        Ok(RecordLayer {
            suite,
            label: cipher.backend().label(),
            prot: Protection::Cbc { cipher, mac },
            write_seq: 0,
            read_seq: 0,
        })
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// Sequence number of the next record sealed.
    pub fn write_seq(&self) -> u64 {
        self.write_seq
    }

    /// Sequence number of the next record opened.
    pub fn read_seq(&self) -> u64 {
        self.read_seq
    }

    /// Seals `plaintext` as one record of `content_type` (one of [`CONTENT_TYPES`]) into
    /// `out` (cleared first) and advances the write sequence number.
    pub fn seal(&mut self, content_type: u8, plaintext: &[u8], out: &mut Vec<u8>) -> Result<()> {
        self.seal_at(self.write_seq, content_type, plaintext, out)?;
        self.write_seq = self.next(self.write_seq, "seal")?;
        Ok(())
    }

    /// Opens one whole record into `out` (cleared first), returns its content type and
    /// advances the read sequence number. A record that fails any check is refused with an
    /// error and the sequence number does not move.
    pub fn open(&mut self, record: &[u8], out: &mut Vec<u8>) -> Result<u8> {
        let t = self.open_at(self.read_seq, record, out)?;
        self.read_seq = self.next(self.read_seq, "open")?;
        Ok(t)
    }

    fn next(&self, seq: u64, op: &'static str) -> Result<u64> {
        seq.checked_add(1)
            .ok_or_else(|| self.refuse(op, "sequence number exhausted"))
    }

    fn refuse(&self, op: &'static str, detail: impl Into<String>) -> Error {
        Error::Crypto {
            backend: self.label,
            op: if op == "seal" {
                "record seal"
            } else {
                "record open"
            },
            detail: format!("{}: {}", self.suite.label(), detail.into()),
        }
    }

    /// Seals with an explicit sequence number and leaves the state alone.
    pub fn seal_at(
        &mut self,
        seq: u64,
        content_type: u8,
        plaintext: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if plaintext.len() > MAX_FRAGMENT {
            return Err(self.refuse(
                "seal",
                format!("plaintext of {} bytes exceeds 2^14", plaintext.len()),
            ));
        }
        if !CONTENT_TYPES.contains(&content_type) {
            return Err(self.refuse(
                "seal",
                format!("content type {content_type} is not a TLS 1.2 record type (20..=23)"),
            ));
        }
        let total = self.suite.record_len(plaintext.len());
        out.clear();
        out.reserve(total);
        out.push(content_type);
        out.extend_from_slice(&TLS12);
        out.extend_from_slice(&((total - HEADER_LEN) as u16).to_be_bytes());
        match &mut self.prot {
            Protection::Cbc { cipher, mac } => {
                let bs = cipher.alg().block_len();
                let mut iv = [0u8; 16];
                rand::rng().fill_bytes(&mut iv[..bs]);
                out.extend_from_slice(&iv[..bs]);
                let tag = mac.mac(&[&mac_header(seq, content_type, plaintext.len()), plaintext])?;
                out.extend_from_slice(plaintext);
                out.extend_from_slice(&tag);
                let pad = (total - out.len() - 1) as u8;
                out.resize(total, pad);
                cipher.encrypt(&iv[..bs], &mut out[HEADER_LEN + bs..])?;
            }
            Protection::Gcm { aead, salt } => {
                let explicit = seq.to_be_bytes();
                out.extend_from_slice(&explicit);
                out.extend_from_slice(plaintext);
                let start = HEADER_LEN + GCM_EXPLICIT_LEN;
                let tag = aead.seal(
                    &gcm_nonce(salt, &explicit),
                    &mac_header(seq, content_type, plaintext.len()),
                    &mut out[start..],
                )?;
                out.extend_from_slice(&tag);
            }
        }
        debug_assert_eq!(out.len(), total);
        Ok(())
    }

    /// Opens with an explicit sequence number and leaves the state alone (a benchmark
    /// opens the same record again and again).
    pub fn open_at(&mut self, seq: u64, record: &[u8], out: &mut Vec<u8>) -> Result<u8> {
        if record.len() < HEADER_LEN {
            return Err(self.refuse(
                "open",
                format!("{} bytes is shorter than a header", record.len()),
            ));
        }
        let content_type = record[0];
        // RFC 5246 6.2.1: an unknown record type is an unexpected_message.
        if !CONTENT_TYPES.contains(&content_type) {
            return Err(self.refuse(
                "open",
                format!("content type {content_type} is not a TLS 1.2 record type (20..=23)"),
            ));
        }
        if record[1..3] != TLS12 {
            return Err(self.refuse(
                "open",
                format!("version {:02x}{:02x}, expected 0303", record[1], record[2]),
            ));
        }
        let len = u16::from_be_bytes([record[3], record[4]]) as usize;
        let frag = &record[HEADER_LEN..];
        if len != frag.len() {
            return Err(self.refuse(
                "open",
                format!(
                    "header says {len} bytes of fragment, record has {}",
                    frag.len()
                ),
            ));
        }
        // RFC 5246 6.2.3: a ciphertext fragment is at most 2^14 + 2048 bytes.
        if len > MAX_FRAGMENT + 2048 {
            return Err(self.refuse("open", format!("fragment of {len} bytes exceeds 2^14+2048")));
        }
        let (label, suite) = (self.label, self.suite);
        let refused = |what: String| Error::Crypto {
            backend: label,
            op: "record open",
            detail: format!("{}: {what}", suite.label()),
        };
        match &mut self.prot {
            Protection::Cbc { cipher, mac } => {
                let bs = cipher.alg().block_len();
                // IV, then at least one block holding the MAC and the padding length byte.
                let min = bs + (SHA1_LEN / bs + 1) * bs;
                if len < min || !len.is_multiple_of(bs) {
                    return Err(refused(format!(
                        "fragment of {len} bytes is not IV + whole blocks of at least MAC + 1 byte"
                    )));
                }
                out.clear();
                out.extend_from_slice(&frag[bs..]);
                cipher.decrypt(&frag[..bs], out)?;
                let n = out.len();
                let pad = out[n - 1] as usize;
                // Check every padding byte without an early exit; on a bad padding go on
                // as if it were empty, so the MAC is computed either way.
                let mut bad = u8::from(pad + 1 + SHA1_LEN > n);
                if bad == 0 {
                    for &b in &out[n - 1 - pad..n - 1] {
                        bad |= b ^ pad as u8;
                    }
                }
                let pad_total = if bad == 0 { pad + 1 } else { 1 };
                let pt_len = n - pad_total - SHA1_LEN;
                let tag = mac.mac(&[&mac_header(seq, content_type, pt_len), &out[..pt_len]])?;
                let mut diff = 0u8;
                for (a, b) in tag.iter().zip(&out[pt_len..pt_len + SHA1_LEN]) {
                    diff |= a ^ b;
                }
                if bad != 0 || diff != 0 {
                    out.clear();
                    return Err(refused("bad record MAC or padding".into()));
                }
                out.truncate(pt_len);
                check_plaintext_len(out).map_err(refused)?;
            }
            Protection::Gcm { aead, salt } => {
                if len < GCM_EXPLICIT_LEN + GCM_TAG_LEN {
                    return Err(refused(format!(
                        "fragment of {len} bytes is shorter than nonce + tag"
                    )));
                }
                let pt_len = len - GCM_EXPLICIT_LEN - GCM_TAG_LEN;
                let mut explicit = [0u8; GCM_EXPLICIT_LEN];
                explicit.copy_from_slice(&frag[..GCM_EXPLICIT_LEN]);
                let mut tag = [0u8; GCM_TAG_LEN];
                tag.copy_from_slice(&frag[len - GCM_TAG_LEN..]);
                out.clear();
                out.extend_from_slice(&frag[GCM_EXPLICIT_LEN..len - GCM_TAG_LEN]);
                let opened = aead.open(
                    &gcm_nonce(salt, &explicit),
                    &mac_header(seq, content_type, pt_len),
                    out,
                    &tag,
                );
                if opened.is_err() {
                    out.clear();
                    return Err(refused("bad record tag".into()));
                }
                check_plaintext_len(out).map_err(refused)?;
            }
        }
        Ok(content_type)
    }
}

/// RFC 5246 6.2.1: a plaintext fragment is at most 2^14 bytes (record_overflow otherwise,
/// as OpenSSL refuses it). Clears `out` when it is longer.
fn check_plaintext_len(out: &mut Vec<u8>) -> std::result::Result<(), String> {
    if out.len() > MAX_FRAGMENT {
        let n = out.len();
        out.clear();
        return Err(format!("plaintext of {n} bytes exceeds 2^14"));
    }
    Ok(())
}

/// `seq_num || type || version || length`: the MAC's (and GCM's AAD) pseudo-header.
fn mac_header(seq: u64, content_type: u8, len: usize) -> [u8; 13] {
    let mut h = [0u8; 13];
    h[..8].copy_from_slice(&seq.to_be_bytes());
    h[8] = content_type;
    h[9..11].copy_from_slice(&TLS12);
    h[11..].copy_from_slice(&(len as u16).to_be_bytes());
    h
}

fn gcm_nonce(salt: &[u8; 4], explicit: &[u8; GCM_EXPLICIT_LEN]) -> [u8; GCM_NONCE_LEN] {
    let mut n = [0u8; GCM_NONCE_LEN];
    n[..4].copy_from_slice(salt);
    n[4..].copy_from_slice(explicit);
    n
}
