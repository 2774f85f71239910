//! The MAC primitive kind: HMAC-SHA1 (the record MAC of the paper's suites) and plain
//! SHA-1.

use super::Backend;
use crate::names::Dimension;
use crate::Result;

/// Length of a SHA-1 digest and of an HMAC-SHA1 tag.
pub const SHA1_LEN: usize = 20;

/// What the `mac` group measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MacAlg {
    /// HMAC-SHA1 with a key set up once.
    HmacSha1,
    /// Plain SHA-1.
    Sha1,
}

impl Dimension for MacAlg {
    const ALL: &'static [Self] = &[MacAlg::HmacSha1, MacAlg::Sha1];

    fn label(&self) -> &'static str {
        match self {
            MacAlg::HmacSha1 => "hmac-sha1",
            MacAlg::Sha1 => "sha1",
        }
    }
}

/// HMAC-SHA1 with a fixed key. The keyed inner and outer states are computed once, at
/// construction; each call reuses them, as a TLS connection reuses its MAC key.
pub trait HmacSha1 {
    /// The backend that implements it.
    fn backend(&self) -> Backend;

    /// The tag over the concatenation of `parts` (a TLS MAC covers a 13-byte header and the
    /// fragment; passing them as parts saves copying them together).
    fn mac(&mut self, parts: &[&[u8]]) -> Result<[u8; SHA1_LEN]>;
}

/// SHA-1.
pub trait Sha1 {
    /// The backend that implements it.
    fn backend(&self) -> Backend;

    /// The digest of `data`.
    fn digest(&mut self, data: &[u8]) -> Result<[u8; SHA1_LEN]>;
}
