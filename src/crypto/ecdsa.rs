//! ECDSA on NIST P-256 with SHA-256 (`ecdsa_secp256r1_sha256`, RFC 8446 section 4.2.3; the
//! signature of TLS_ECDHE_ECDSA_* in TLS 1.2), as the TLS stacks sign and verify with it:
//! DER-encoded (r, s) signatures over SHA-256 of the message.
//!
//! Three implementations, each the one a stack uses: OpenSSL through EVP (`EVP_DigestSign`,
//! `EVP_DigestVerify`, as libssl does, the peer's key held as an `EVP_PKEY` decoded once with
//! its certificate), ring and aws-lc-rs (what rustls's two providers sign with; their verifiers
//! parse the peer's public key on every call, as webpki hands it to them). The benches
//! `ecdsa/<backend>/<sign|verify>/p256` live with the handshake parts
//! ([`crate::handshake::parts`]). Like every key of [`super`], a key is warm when returned: one
//! signature was made with it.

use crate::{Error, Result};
use openssl::pkey::{PKey, Private, Public};

/// The curve parameter of the ECDSA benches.
pub const CURVE: &str = "p256";

/// An implementation of ECDSA P-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EcdsaBackend {
    /// OpenSSL's EVP signatures (libssl's).
    Openssl,
    /// ring (rustls's `ring` provider).
    Ring,
    /// aws-lc-rs (rustls's `aws-lc-rs` provider; cargo feature `awslc`).
    Awslc,
}

impl EcdsaBackend {
    /// Every implementation, in report order.
    pub const ALL: &'static [EcdsaBackend] = &[
        EcdsaBackend::Openssl,
        EcdsaBackend::Ring,
        EcdsaBackend::Awslc,
    ];

    /// Label in benchmark names.
    pub fn label(self) -> &'static str {
        match self {
            EcdsaBackend::Openssl => "openssl",
            EcdsaBackend::Ring => "ring",
            EcdsaBackend::Awslc => "awslc",
        }
    }

    /// Whether this build has it (aws-lc-rs is a cargo feature).
    pub fn compiled(self) -> bool {
        self != EcdsaBackend::Awslc || cfg!(feature = "awslc")
    }
}

fn err(backend: EcdsaBackend, op: &'static str, detail: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: backend.label(),
        op,
        detail: detail.to_string(),
    }
}

enum Key {
    Openssl {
        private: PKey<Private>,
        public: PKey<Public>,
    },
    Ring {
        pair: ring::signature::EcdsaKeyPair,
        rng: ring::rand::SystemRandom,
    },
    #[cfg(feature = "awslc")]
    Awslc {
        pair: aws_lc_rs::signature::EcdsaKeyPair,
        rng: aws_lc_rs::rand::SystemRandom,
    },
}

/// An ECDSA P-256 key pair of one implementation.
pub struct EcdsaP256 {
    backend: EcdsaBackend,
    key: Key,
    /// The public key as an uncompressed point (65 bytes: what a certificate's key holds).
    point: Vec<u8>,
}

/// The uncompressed point of an OpenSSL EC key.
fn openssl_point(k: &openssl::ec::EcKeyRef<impl openssl::pkey::HasPublic>) -> Result<Vec<u8>> {
    let mut ctx =
        openssl::bn::BigNumContext::new().map_err(|e| err(EcdsaBackend::Openssl, "point", e))?;
    k.public_key()
        .to_bytes(
            k.group(),
            openssl::ec::PointConversionForm::UNCOMPRESSED,
            &mut ctx,
        )
        .map_err(|e| err(EcdsaBackend::Openssl, "point", e))
}

impl EcdsaP256 {
    /// Loads a PKCS#8 PEM private key of curve P-256 into `backend` and makes one signature
    /// with it (warm-up). Errors: not PEM, not PKCS#8, not a P-256 key, backend not compiled.
    pub fn from_pkcs8_pem(backend: EcdsaBackend, pem: &[u8]) -> Result<EcdsaP256> {
        use rustls_pki_types::pem::PemObject;
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(pem)
            .map_err(|e| err(backend, "parse PEM", e))?;
        let der = der.secret_pkcs8_der();
        let (key, point) = match backend {
            EcdsaBackend::Openssl => {
                let private = PKey::private_key_from_pkcs8(der)
                    .map_err(|e| err(backend, "load PKCS#8 key", e))?;
                let ec = private
                    .ec_key()
                    .map_err(|e| err(backend, "load PKCS#8 key", format!("not an EC key: {e}")))?;
                if ec.group().curve_name() != Some(openssl::nid::Nid::X9_62_PRIME256V1) {
                    return Err(err(backend, "load PKCS#8 key", "not a P-256 key"));
                }
                let point = openssl_point(&ec)?;
                let public = PKey::public_key_from_der(
                    &private
                        .public_key_to_der()
                        .map_err(|e| err(backend, "public key", e))?,
                )
                .map_err(|e| err(backend, "public key", e))?;
                (Key::Openssl { private, public }, point)
            }
            EcdsaBackend::Ring => {
                use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
                let rng = ring::rand::SystemRandom::new();
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der, &rng)
                    .map_err(|e| err(backend, "load PKCS#8 P-256 key", e))?;
                let point = pair.public_key().as_ref().to_vec();
                (Key::Ring { pair, rng }, point)
            }
            #[cfg(feature = "awslc")]
            EcdsaBackend::Awslc => {
                use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, der)
                    .map_err(|e| err(backend, "load PKCS#8 P-256 key", e))?;
                let point = pair.public_key().as_ref().to_vec();
                let rng = aws_lc_rs::rand::SystemRandom::new();
                (Key::Awslc { pair, rng }, point)
            }
            #[cfg(not(feature = "awslc"))]
            EcdsaBackend::Awslc => {
                return Err(Error::Unsupported {
                    backend: "awslc",
                    what: "anything in this build (enable the cargo feature `awslc`)".into(),
                })
            }
        };
        let k = EcdsaP256 {
            backend,
            key,
            point,
        };
        k.sign(b"warm-up")?;
        Ok(k)
    }

    /// The implementation.
    pub fn backend(&self) -> EcdsaBackend {
        self.backend
    }

    /// The public key, an uncompressed P-256 point (65 bytes).
    pub fn public_point(&self) -> &[u8] {
        &self.point
    }

    /// A DER-encoded ECDSA signature over SHA-256(`message`) (randomised: two differ).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let b = self.backend;
        match &self.key {
            Key::Openssl { private, .. } => {
                let mut s =
                    openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), private)
                        .map_err(|e| err(b, "sign", e))?;
                s.sign_oneshot_to_vec(message)
                    .map_err(|e| err(b, "sign", e))
            }
            Key::Ring { pair, rng } => pair
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| err(b, "sign", e)),
            #[cfg(feature = "awslc")]
            Key::Awslc { pair, rng } => pair
                .sign(rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|e| err(b, "sign", e)),
        }
    }

    /// Whether `sig` is a valid signature of `message` under this key's public half, checked
    /// the way the stack checks a peer's: OpenSSL with the decoded public key, ring and
    /// aws-lc-rs parsing the point on each call.
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> bool {
        match &self.key {
            Key::Openssl { public, .. } => openssl_verify(public, message, sig),
            _ => verify_point(self.backend, &self.point, message, sig).unwrap_or(false),
        }
    }
}

fn openssl_verify(public: &PKey<Public>, message: &[u8], sig: &[u8]) -> bool {
    openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), public)
        .and_then(|mut v| v.verify_oneshot(sig, message))
        .unwrap_or(false)
}

/// Whether `sig` is a valid signature of `message` under the P-256 public key `point`
/// (uncompressed), checked by `backend`: used to check one implementation's signatures with
/// another. Error: the point does not load, or the backend is not compiled in.
pub fn verify_point(
    backend: EcdsaBackend,
    point: &[u8],
    message: &[u8],
    sig: &[u8],
) -> Result<bool> {
    match backend {
        EcdsaBackend::Openssl => {
            use openssl::ec::{EcGroup, EcKey, EcPoint};
            let group = EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1)
                .map_err(|e| err(backend, "group", e))?;
            let mut ctx =
                openssl::bn::BigNumContext::new().map_err(|e| err(backend, "point", e))?;
            let p = EcPoint::from_bytes(&group, point, &mut ctx)
                .map_err(|e| err(backend, "point", e))?;
            let key = EcKey::from_public_key(&group, &p)
                .and_then(PKey::from_ec_key)
                .map_err(|e| err(backend, "public key", e))?;
            Ok(openssl_verify(&key, message, sig))
        }
        EcdsaBackend::Ring => {
            use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
            Ok(UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                .verify(message, sig)
                .is_ok())
        }
        #[cfg(feature = "awslc")]
        EcdsaBackend::Awslc => {
            use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
            Ok(UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
                .verify(message, sig)
                .is_ok())
        }
        #[cfg(not(feature = "awslc"))]
        EcdsaBackend::Awslc => Err(Error::Unsupported {
            backend: "awslc",
            what: "anything in this build (enable the cargo feature `awslc`)".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem() -> Vec<u8> {
        let fx = crate::fixtures::Fixtures::locate().unwrap();
        fx.identity(crate::fixtures::Identity::EcdsaServer)
            .unwrap()
            .key
            .pem
    }

    #[test]
    fn every_backend_verifies_every_other_and_refuses_a_flipped_bit() {
        let pem = pem();
        let keys: Vec<EcdsaP256> = EcdsaBackend::ALL
            .iter()
            .filter(|b| b.compiled())
            .map(|b| EcdsaP256::from_pkcs8_pem(*b, &pem).unwrap())
            .collect();
        let point = keys[0].public_point().to_vec();
        for k in &keys {
            assert_eq!(k.public_point(), &point[..], "{:?}", k.backend());
            let sig = k.sign(b"message").unwrap();
            assert!(k.verify(b"message", &sig), "{:?}", k.backend());
            assert!(!k.verify(b"massage", &sig), "{:?}", k.backend());
            let mut bad = sig.clone();
            let at = bad.len() - 3;
            bad[at] ^= 0x04;
            assert!(!k.verify(b"message", &bad), "{:?}", k.backend());
            for other in &keys {
                assert!(
                    verify_point(other.backend(), &point, b"message", &sig).unwrap(),
                    "{:?} signed, {:?} verified",
                    k.backend(),
                    other.backend()
                );
            }
        }
    }

    #[test]
    fn an_rsa_key_is_refused_with_the_backend_named() {
        let fx = crate::fixtures::Fixtures::locate().unwrap();
        let rsa = fx.rsa_key(2048).unwrap().pem;
        for b in EcdsaBackend::ALL.iter().filter(|b| b.compiled()) {
            let e = EcdsaP256::from_pkcs8_pem(*b, &rsa).err().expect("refused");
            assert!(e.to_string().contains(b.label()), "{e}");
        }
    }
}
