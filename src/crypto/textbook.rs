//! Textbook RSA on `num-bigint`: the oracle that shows what the Chinese Remainder Theorem
//! buys (the paper's server does one private operation per full handshake).
//!
//! The private operation is either one exponentiation modulo n with d
//! ([`Backend::TextbookNoCrt`]) or two half-size exponentiations modulo p and q recombined
//! with Garner's formula ([`Backend::TextbookCrt`]). PKCS#1 v1.5 padding (RFC 8017 7.2 and
//! 8.2) is done by hand. There is no blinding and no constant-time code: this backend
//! exists to be measured and to check the others, never to protect a secret.
//! The key parameters come from the PEM through OpenSSL's `Rsa` accessors.

use super::rsa::{Rejection, RsaKey, RsaPublicKey, SigHash, PRE_MASTER_LEN};
use super::{crypto_err, Backend};
use crate::names::Dimension;
use crate::Result;
use num_bigint::BigUint;
use rand::Rng;

/// The public half of a textbook key: n, e and the PKCS#1 v1.5 encodings, by hand.
pub struct TextbookPublic {
    n: BigUint,
    e: BigUint,
    k: usize,
    bits: u32,
    backend: Backend,
}

impl TextbookPublic {
    /// Reads n and e from a SubjectPublicKeyInfo (PEM `BEGIN PUBLIC KEY` or DER) through
    /// OpenSSL's parser; `crt` only names the backend (public operations have no CRT).
    pub fn from_spki(key: &[u8], crt: bool) -> Result<Self> {
        let b = backend_of(crt);
        let der = super::rsa::spki_der(b, key)?;
        let pkey = openssl::pkey::PKey::public_key_from_der(&der)
            .map_err(|e| crypto_err(b, "load public key", e))?;
        let rsa = pkey
            .rsa()
            .map_err(|e| crypto_err(b, "load public key", format!("expected an RSA key: {e}")))?;
        Ok(Self::of(&rsa, pkey.bits(), b))
    }

    fn of<T: openssl::pkey::HasPublic>(rsa: &openssl::rsa::Rsa<T>, bits: u32, b: Backend) -> Self {
        TextbookPublic {
            n: BigUint::from_bytes_be(&rsa.n().to_vec()),
            e: BigUint::from_bytes_be(&rsa.e().to_vec()),
            k: rsa.size() as usize,
            bits,
            backend: b,
        }
    }

    /// x^e mod n, the public-key operation.
    fn public(&self, x: &BigUint) -> BigUint {
        x.modpow(&self.e, &self.n)
    }

    /// I2OSP: the integer as exactly k big-endian bytes.
    fn to_octets(&self, x: &BigUint, op: &'static str) -> Result<Vec<u8>> {
        let bytes = x.to_bytes_be();
        if bytes.len() > self.k {
            return Err(crypto_err(
                self.backend,
                op,
                "integer too large for the modulus",
            ));
        }
        let mut out = vec![0u8; self.k - bytes.len()];
        out.extend_from_slice(&bytes);
        Ok(out)
    }

    /// OS2IP of an input that must be k bytes and smaller than n.
    fn octets_to_int(&self, x: &[u8], op: &'static str) -> Result<BigUint> {
        if x.len() != self.k {
            return Err(crypto_err(
                self.backend,
                op,
                format!("expected {} bytes, got {}", self.k, x.len()),
            ));
        }
        let v = BigUint::from_bytes_be(x);
        if v >= self.n {
            return Err(crypto_err(
                self.backend,
                op,
                "input is not smaller than the modulus",
            ));
        }
        Ok(v)
    }

    /// EMSA-PKCS1-v1_5 encoding of `hash`(message) (RFC 8017 9.2).
    fn signature_block(&self, hash: SigHash, message: &[u8]) -> Result<Vec<u8>> {
        let digest = hash.digest(message);
        let prefix = hash.digest_info();
        let t_len = prefix.len() + digest.len();
        if self.k < t_len + 11 {
            return Err(crypto_err(
                self.backend,
                "rsa sign",
                format!("modulus too short for {}", hash.label()),
            ));
        }
        let mut em = vec![0xffu8; self.k];
        em[0] = 0x00;
        em[1] = 0x01;
        em[self.k - t_len - 1] = 0x00;
        em[self.k - t_len..self.k - digest.len()].copy_from_slice(prefix);
        em[self.k - digest.len()..].copy_from_slice(&digest);
        Ok(em)
    }
}

impl RsaPublicKey for TextbookPublic {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn bits(&self) -> u32 {
        self.bits
    }

    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        if message.len() + 11 > self.k {
            return Err(crypto_err(
                self.backend,
                "rsa encrypt",
                format!(
                    "message of {} bytes too long for a {}-byte modulus",
                    message.len(),
                    self.k
                ),
            ));
        }
        let mut em = vec![0u8; self.k];
        em[1] = 0x02;
        let ps_end = self.k - message.len() - 1;
        let mut rng = rand::rng();
        rng.fill_bytes(&mut em[2..ps_end]);
        for x in &mut em[2..ps_end] {
            while *x == 0 {
                *x = rng.next_u32() as u8;
            }
        }
        em[ps_end + 1..].copy_from_slice(message);
        let c = self.public(&BigUint::from_bytes_be(&em));
        self.to_octets(&c, "rsa encrypt")
    }

    /// A signature of the wrong length or not below n does not verify (`Ok(false)`).
    fn verify_with(&mut self, hash: SigHash, message: &[u8], signature: &[u8]) -> Result<bool> {
        let Ok(s) = self.octets_to_int(signature, "rsa verify") else {
            return Ok(false);
        };
        let em = self.to_octets(&self.public(&s), "rsa verify")?;
        Ok(em == self.signature_block(hash, message)?)
    }
}

fn backend_of(crt: bool) -> Backend {
    if crt {
        Backend::TextbookCrt
    } else {
        Backend::TextbookNoCrt
    }
}

/// Textbook RSA with or without CRT.
pub struct TextbookRsa {
    public: TextbookPublic,
    d: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
    crt: bool,
}

impl TextbookRsa {
    /// Extracts n, e, d, p, q, d mod (p-1), d mod (q-1) and q^-1 mod p from a PEM private key.
    pub fn from_pkcs8_pem(pem: &[u8], crt: bool) -> Result<Self> {
        let b = backend_of(crt);
        let pkey = openssl::pkey::PKey::private_key_from_pem(pem)
            .map_err(|e| crypto_err(b, "load key", e))?;
        let rsa = pkey
            .rsa()
            .map_err(|e| crypto_err(b, "load key", format!("expected an RSA key: {e}")))?;
        let big = |x: Option<&openssl::bn::BigNumRef>, name: &str| {
            x.map(|v| BigUint::from_bytes_be(&v.to_vec()))
                .ok_or_else(|| crypto_err(b, "load key", format!("the key has no {name}")))
        };
        let mut key = TextbookRsa {
            public: TextbookPublic::of(&rsa, pkey.bits(), b),
            d: big(Some(rsa.d()), "private exponent")?,
            p: big(rsa.p(), "prime p")?,
            q: big(rsa.q(), "prime q")?,
            dp: big(rsa.dmp1(), "CRT exponent dP")?,
            dq: big(rsa.dmq1(), "CRT exponent dQ")?,
            qinv: big(rsa.iqmp(), "CRT coefficient qInv")?,
            crt,
        };
        // Checks the parameters against each other (and warms nothing: there is no cache).
        let pm = [0x03u8; PRE_MASTER_LEN];
        let ct = key.encrypt(&pm)?;
        if key.decrypt(&ct)? != pm {
            return Err(crypto_err(
                b,
                "load key",
                "the key's parameters are inconsistent (decrypt(encrypt(x)) != x)",
            ));
        }
        Ok(key)
    }

    fn b(&self) -> Backend {
        self.public.backend
    }

    /// m^d mod n, the private-key operation.
    fn private(&self, c: &BigUint) -> BigUint {
        if !self.crt {
            return c.modpow(&self.d, &self.public.n);
        }
        let m1 = (c % &self.p).modpow(&self.dp, &self.p);
        let m2 = (c % &self.q).modpow(&self.dq, &self.q);
        // h = qInv * (m1 - m2) mod p, kept non-negative by adding p first.
        let diff = (&m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        m2 + h * &self.q
    }
}

super::rsa::public_half!(TextbookRsa);

impl RsaKey for TextbookRsa {
    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let c = self.public.octets_to_int(ciphertext, "rsa decrypt")?;
        let em = self.public.to_octets(&self.private(&c), "rsa decrypt")?;
        // EM = 0x00 || 0x02 || PS (>= 8 non-zero bytes) || 0x00 || M
        let sep = em.iter().skip(2).position(|&x| x == 0).map(|i| i + 2);
        match sep {
            Some(i) if em[0] == 0 && em[1] == 2 && i >= 10 => Ok(em[i + 1..].to_vec()),
            _ => Err(crypto_err(
                self.b(),
                "rsa decrypt",
                "PKCS#1 v1.5 padding check failed",
            )),
        }
    }

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let em = self.public.signature_block(SigHash::Sha256, message)?;
        let s = self.private(&BigUint::from_bytes_be(&em));
        self.public.to_octets(&s, "rsa sign")
    }

    /// A bad padding is an error (there is no constant-time code here to protect anyway).
    fn rejection(&self) -> Rejection {
        Rejection::Explicit
    }
}
