//! Records that fail exactly one check of [`RecordLayer::open`](super::RecordLayer::open).
//!
//! A tampered record (a flipped bit) proves little: flipping any byte of a CBC record also
//! breaks the MAC, so the padding check is never what refuses it, and a MAC check that was
//! skipped is caught only when the flipped byte happens to scramble the padding. A
//! [`Forger`] builds records by hand from a backend's raw primitives (CBC cipher and
//! HMAC-SHA1, or AES-GCM), with every field under control: a correct MAC over a plaintext
//! whose padding bytes are wrong, a padding that checks around a wrong MAC, a record MACed
//! under the next sequence number, an unknown content type under a correct MAC. Each
//! [`Fault`] names the one check its record fails; every other check passes, except where
//! the standard makes two checks overlap (see [`Fault::CiphertextTooLong`]), and there the
//! refusal's reason ([`Fault::reason`]) shows which check refused it.
//!
//! The forger builds its records with its own code (its own MAC pseudo-header, padding and
//! framing), not with [`RecordLayer::seal`](super::RecordLayer::seal), so a mistake shared by
//! seal and open is not hidden. [`Forger::valid`] builds the fault-free record the same
//! way: it must open, which shows that the forger's records are right.

use super::{Suite, APPLICATION_DATA, GCM_EXPLICIT_LEN, HEADER_LEN, MAX_FRAGMENT, TLS12};
use crate::crypto::cipher::GCM_TAG_LEN;
use crate::crypto::mac::SHA1_LEN;
use crate::crypto::Backend;
use crate::names::Dimension;
use crate::{Error, Result};

use super::{Protection, RecordKeys};

/// The one check a forged record fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// Fewer bytes than a record header: the first 0 to 4 bytes of a correct record (`pick`).
    ShortHeader,
    /// A content type outside RFC 5246's four (under a MAC or tag that covers it).
    UnknownType,
    /// A version other than 0303 (the version is not MACed in TLS 1.2: only this check can
    /// refuse it).
    Version,
    /// The header's length disagrees with the record's bytes, while the bytes are a correct
    /// fragment (CBC: the length field one block short; GCM: one byte after the fragment).
    LengthField,
    /// A ciphertext fragment over 2^14+2048 bytes (RFC 5246 6.2.3), correct otherwise. Its
    /// plaintext is then over 2^14 as well: the reason shows that the ciphertext bound,
    /// which comes first and costs no decryption, refused it.
    CiphertextTooLong,
    /// A plaintext of 2^14+1 bytes in a ciphertext within bounds, correct otherwise.
    PlaintextTooLong,
    /// CBC: a fragment that is not the IV and whole blocks (one byte more, header fixed up).
    NotWholeBlocks,
    /// A fragment too short to hold a MAC and the padding length (CBC: IV + one block), or
    /// a nonce and a tag (GCM).
    TooShort,
    /// CBC: a padding length byte that claims more bytes than the record has, with a
    /// correct MAC for the record read as unpadded (what RFC 5246 says to MAC then).
    PaddingLength,
    /// CBC: one padding byte (not the length byte) differs from the padding length, under
    /// a correct MAC; `pick` chooses which byte.
    PaddingByte,
    /// A wrong MAC (one byte, `pick` chooses which) under a correct padding; GCM: a wrong tag.
    Mac,
    /// A known content type in the header, another one in the MAC (or GCM's AAD).
    TypeChanged,
    /// A record MACed (and for GCM nonced) for a later sequence number than it is opened at.
    Sequence,
}

impl Dimension for Fault {
    const ALL: &'static [Self] = &[
        Fault::ShortHeader,
        Fault::UnknownType,
        Fault::Version,
        Fault::LengthField,
        Fault::CiphertextTooLong,
        Fault::PlaintextTooLong,
        Fault::NotWholeBlocks,
        Fault::TooShort,
        Fault::PaddingLength,
        Fault::PaddingByte,
        Fault::Mac,
        Fault::TypeChanged,
        Fault::Sequence,
    ];

    fn label(&self) -> &'static str {
        match self {
            Fault::ShortHeader => "short-header",
            Fault::UnknownType => "unknown-type",
            Fault::Version => "version",
            Fault::LengthField => "length-field",
            Fault::CiphertextTooLong => "ciphertext-too-long",
            Fault::PlaintextTooLong => "plaintext-too-long",
            Fault::NotWholeBlocks => "not-whole-blocks",
            Fault::TooShort => "too-short",
            Fault::PaddingLength => "padding-length",
            Fault::PaddingByte => "padding-byte",
            Fault::Mac => "mac",
            Fault::TypeChanged => "type-changed",
            Fault::Sequence => "sequence",
        }
    }
}

impl Fault {
    /// Whether the fault exists for `suite` (padding and block faults are CBC only).
    pub fn applies(self, suite: Suite) -> bool {
        let cbc = suite.cbc_alg().is_some();
        cbc || !matches!(
            self,
            Fault::NotWholeBlocks | Fault::PaddingLength | Fault::PaddingByte
        )
    }

    /// The faults of `suite`.
    pub fn of(suite: Suite) -> impl Iterator<Item = Fault> {
        Fault::ALL.iter().copied().filter(move |f| f.applies(suite))
    }

    /// The text the refusal of this fault's record contains: the reason of the check that
    /// must refuse it (padding and MAC failures of CBC share one, as RFC 5246 asks).
    pub fn reason(self, suite: Suite) -> &'static str {
        let cbc = suite.cbc_alg().is_some();
        match self {
            Fault::ShortHeader => "shorter than a header",
            Fault::UnknownType => "is not a TLS 1.2 record type",
            Fault::Version => "expected 0303",
            Fault::LengthField => "header says",
            Fault::CiphertextTooLong => "exceeds 2^14+2048",
            Fault::PlaintextTooLong => "bytes exceeds 2^14",
            Fault::NotWholeBlocks => "is not IV + whole blocks",
            Fault::TooShort if cbc => "is not IV + whole blocks",
            Fault::TooShort => "shorter than nonce + tag",
            Fault::PaddingLength
            | Fault::PaddingByte
            | Fault::Mac
            | Fault::TypeChanged
            | Fault::Sequence
                if cbc =>
            {
                "bad record MAC or padding"
            }
            Fault::PaddingLength
            | Fault::PaddingByte
            | Fault::Mac
            | Fault::TypeChanged
            | Fault::Sequence => "bad record tag",
        }
    }

    /// Whether `err` is this fault's refusal by a record layer of `suite`.
    pub fn is_reason(self, suite: Suite, err: &Error) -> bool {
        matches!(
            err,
            Error::Crypto {
                op: "record open",
                ..
            }
        ) && err.to_string().contains(self.reason(suite))
    }
}

/// What goes into one hand-built record.
struct Spec {
    header_type: u8,
    mac_type: u8,
    version: [u8; 2],
    mac_seq: u64,
    plaintext: Vec<u8>,
    /// CBC: padding bytes beyond the fewest that fill the last block (a multiple of the block).
    extra_pad_blocks: usize,
    /// CBC: the padding byte to corrupt, counted from the first padding byte.
    bad_pad_byte: Option<usize>,
    /// The MAC (or tag) byte to corrupt.
    bad_mac_byte: Option<usize>,
}

/// Builds TLS 1.2 records by hand from one backend's primitives, correct or with one
/// [`Fault`], under the keys a [`RecordLayer`](super::RecordLayer) of the same suite uses.
pub struct Forger {
    suite: Suite,
    backend: Backend,
    prims: Protection,
}

impl Forger {
    /// A forger of `suite` records with `backend`'s primitives keyed with `keys`.
    pub fn new(suite: Suite, backend: Backend, keys: &RecordKeys) -> Result<Forger> {
        let prims = Protection::new(suite, backend, keys)?;
        Ok(Forger {
            suite,
            backend,
            prims,
        })
    }

    /// The backend whose primitives build the records.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// A correct application-data record of `plaintext` (at most 2^14 bytes) for sequence
    /// number `seq`, built by hand: it must open.
    pub fn valid(&mut self, seq: u64, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.build(&Spec::correct(seq, plaintext.to_vec()))
    }

    /// A record for sequence number `seq` that fails only `fault`'s check, around
    /// `plaintext` where the fault allows (the size faults use their own filler of the
    /// size they need; [`Fault::PaddingLength`] uses at most 32 bytes of it). `pick` chooses
    /// among equivalent variants (which padding or MAC byte is wrong, which type or version
    /// is in the header), so that a property test can walk them all.
    pub fn forge(
        &mut self,
        fault: Fault,
        seq: u64,
        plaintext: &[u8],
        pick: usize,
    ) -> Result<Vec<u8>> {
        if !fault.applies(self.suite) {
            return Err(Error::Unsupported {
                backend: self.backend.label(),
                what: format!(
                    "record fault {} of suite {} (it is a CBC fault)",
                    fault.label(),
                    self.suite.label()
                ),
            });
        }
        let bs = self.block_len();
        let mut spec = Spec::correct(seq, plaintext.to_vec());
        match fault {
            Fault::ShortHeader => {
                let mut r = self.build(&spec)?;
                r.truncate(pick % HEADER_LEN);
                return Ok(r);
            }
            Fault::UnknownType => {
                const UNKNOWN: [u8; 6] = [0, 19, 24, 25, 99, 255];
                spec.header_type = UNKNOWN[pick % UNKNOWN.len()];
                spec.mac_type = spec.header_type;
            }
            Fault::Version => {
                const OTHERS: [[u8; 2]; 5] = [[3, 0], [3, 1], [3, 2], [3, 4], [2, 3]];
                spec.version = OTHERS[pick % OTHERS.len()];
            }
            Fault::LengthField => {
                // Long enough that one block less is still a well-formed CBC fragment.
                if spec.plaintext.len() < 2 * 16 {
                    spec.plaintext.resize(2 * 16, 0x4c);
                }
                let mut r = self.build(&spec)?;
                match self.prims {
                    // The bytes are a correct fragment; only the header's length lies (one
                    // block short: still whole blocks, still long enough).
                    Protection::Cbc { .. } => {
                        let len = r.len() - HEADER_LEN - bs;
                        set_length(&mut r, len);
                    }
                    // Header correct for the fragment, then one byte that is not part of it.
                    Protection::Gcm { .. } => r.push(0x5a),
                }
                return Ok(r);
            }
            Fault::CiphertextTooLong => {
                // The smallest plaintext whose fragment exceeds 2^14 + 2048 bytes.
                let limit = MAX_FRAGMENT + 2048;
                let mut n = limit - SHA1_LEN.min(GCM_TAG_LEN);
                while self.suite.record_len(n) - HEADER_LEN <= limit {
                    n += 1;
                }
                spec.plaintext = filler(n);
            }
            Fault::PlaintextTooLong => spec.plaintext = filler(MAX_FRAGMENT + 1),
            Fault::NotWholeBlocks => {
                let mut r = self.build(&spec)?;
                r.push(0x5a);
                let len = r.len() - HEADER_LEN;
                set_length(&mut r, len);
                return Ok(r);
            }
            Fault::TooShort => {
                let frag = match self.prims {
                    Protection::Cbc { .. } => 2 * bs,
                    Protection::Gcm { .. } => GCM_EXPLICIT_LEN + GCM_TAG_LEN - 1,
                };
                let mut r = vec![APPLICATION_DATA, TLS12[0], TLS12[1]];
                r.extend_from_slice(&(frag as u16).to_be_bytes());
                r.extend((0..frag).map(|i| (i * 29 + pick) as u8));
                return Ok(r);
            }
            Fault::PaddingLength => return self.padding_length(seq, plaintext),
            Fault::PaddingByte => {
                spec.extra_pad_blocks = 1;
                spec.bad_pad_byte = Some(pick);
            }
            Fault::Mac => spec.bad_mac_byte = Some(pick),
            Fault::TypeChanged => {
                const OTHERS: [u8; 3] = [20, 21, 22];
                spec.header_type = OTHERS[pick % OTHERS.len()];
            }
            Fault::Sequence => {
                spec.mac_seq = seq
                    .checked_add(1 + (pick % 3) as u64)
                    .ok_or_else(|| self.err("no later sequence number than u64::MAX"))?;
            }
        }
        self.build(&spec)
    }

    fn block_len(&self) -> usize {
        self.suite.cbc_alg().map_or(1, |a| a.block_len())
    }

    fn err(&self, detail: impl Into<String>) -> Error {
        Error::Crypto {
            backend: self.backend.label(),
            op: "record forge",
            detail: format!("{}: {}", self.suite.label(), detail.into()),
        }
    }

    /// CBC: `plaintext' || MAC(plaintext') || 0xff`, where `plaintext'` fills the record up
    /// to the last byte: read as unpadded (what RFC 5246 says to do after a bad padding
    /// length) the MAC is right, but 255 padding bytes do not fit in the record.
    fn padding_length(&mut self, seq: u64, plaintext: &[u8]) -> Result<Vec<u8>> {
        let bs = self.block_len();
        let head = &plaintext[..plaintext.len().min(32)];
        let body_len = (head.len() + SHA1_LEN + 1).div_ceil(bs) * bs;
        let mut pt = head.to_vec();
        pt.resize(body_len - SHA1_LEN - 1, 0x42);
        let Protection::Cbc { cipher, mac } = &mut self.prims else {
            return Err(self.err("padding faults are CBC only"));
        };
        let tag = mac.mac(&[&pseudo_header(seq, APPLICATION_DATA, TLS12, pt.len()), &pt])?;
        let mut body = pt;
        body.extend_from_slice(&tag);
        body.push(0xff);
        debug_assert!(255 + 1 + SHA1_LEN > body.len());
        let iv = iv_for(seq, bs);
        cipher.encrypt(&iv, &mut body)?;
        Ok(frame(APPLICATION_DATA, TLS12, &[&iv, &body]))
    }

    fn build(&mut self, s: &Spec) -> Result<Vec<u8>> {
        let bs = self.block_len();
        match &mut self.prims {
            Protection::Cbc { cipher, mac } => {
                let mut tag = mac.mac(&[
                    &pseudo_header(s.mac_seq, s.mac_type, TLS12, s.plaintext.len()),
                    &s.plaintext,
                ])?;
                if let Some(i) = s.bad_mac_byte {
                    tag[i % SHA1_LEN] ^= 0x01;
                }
                let mut body = s.plaintext.clone();
                body.extend_from_slice(&tag);
                let pad = bs - 1 - body.len() % bs + s.extra_pad_blocks * bs;
                body.resize(body.len() + pad + 1, pad as u8);
                if let Some(i) = s.bad_pad_byte {
                    let at = body.len() - 1 - pad + i % pad;
                    body[at] ^= 0x01;
                }
                let iv = iv_for(s.mac_seq, bs);
                cipher.encrypt(&iv, &mut body)?;
                Ok(frame(s.header_type, s.version, &[&iv, &body]))
            }
            Protection::Gcm { aead, salt } => {
                let explicit = s.mac_seq.to_be_bytes();
                let mut nonce = [0u8; 12];
                nonce[..4].copy_from_slice(salt);
                nonce[4..].copy_from_slice(&explicit);
                let mut body = s.plaintext.clone();
                let mut tag = aead.seal(
                    &nonce,
                    &pseudo_header(s.mac_seq, s.mac_type, TLS12, s.plaintext.len()),
                    &mut body,
                )?;
                if let Some(i) = s.bad_mac_byte {
                    tag[i % GCM_TAG_LEN] ^= 0x01;
                }
                Ok(frame(s.header_type, s.version, &[&explicit, &body, &tag]))
            }
        }
    }
}

impl Spec {
    fn correct(seq: u64, plaintext: Vec<u8>) -> Spec {
        Spec {
            header_type: APPLICATION_DATA,
            mac_type: APPLICATION_DATA,
            version: TLS12,
            mac_seq: seq,
            plaintext,
            extra_pad_blocks: 0,
            bad_pad_byte: None,
            bad_mac_byte: None,
        }
    }
}

/// RFC 5246 6.2.3.1: `seq_num(8) || type(1) || version(2) || length(2)`, written out here
/// on its own (not shared with the record layer, so a mistake there shows).
fn pseudo_header(seq: u64, content_type: u8, version: [u8; 2], len: usize) -> Vec<u8> {
    let mut h = seq.to_be_bytes().to_vec();
    h.push(content_type);
    h.extend_from_slice(&version);
    h.extend_from_slice(&(len as u16).to_be_bytes());
    h
}

/// `type || version || length || parts...`
fn frame(content_type: u8, version: [u8; 2], parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut r = vec![content_type, version[0], version[1]];
    r.extend_from_slice(&(len as u16).to_be_bytes());
    for p in parts {
        r.extend_from_slice(p);
    }
    r
}

fn set_length(record: &mut [u8], len: usize) {
    record[3..5].copy_from_slice(&(len as u16).to_be_bytes());
}

/// A fixed, non-zero IV that differs per sequence number (its value does not matter to the
/// checks; a forged record must be reproducible).
fn iv_for(seq: u64, bs: usize) -> Vec<u8> {
    (0..bs)
        .map(|i| (seq as u8).wrapping_mul(31).wrapping_add(i as u8 * 17 + 1))
        .collect()
}

fn filler(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}
