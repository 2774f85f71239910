//! Textbook RSA on `num-bigint`: the oracle that shows what the Chinese Remainder Theorem
//! buys (the paper's server does one private operation per full handshake).
//!
//! The private operation is either one exponentiation modulo n with d
//! ([`Backend::TextbookNoCrt`]) or two half-size exponentiations modulo p and q recombined
//! with Garner's formula ([`Backend::TextbookCrt`]). PKCS#1 v1.5 padding (RFC 8017 7.2 and
//! 8.2) is done by hand. There is no blinding and no constant-time code: this backend
//! exists to be measured and to check the others, never to protect a secret.
//! The key parameters come from the PEM through OpenSSL's `Rsa` accessors.

use super::rsa::{RsaKey, PRE_MASTER_LEN, SHA256_DIGEST_INFO};
use super::{crypto_err, Backend};
use crate::Result;
use num_bigint::BigUint;
use rand::Rng;
use sha2::Digest;

/// Textbook RSA with or without CRT.
pub struct TextbookRsa {
    n: BigUint,
    e: BigUint,
    d: BigUint,
    p: BigUint,
    q: BigUint,
    dp: BigUint,
    dq: BigUint,
    qinv: BigUint,
    k: usize,
    bits: u32,
    crt: bool,
}

impl TextbookRsa {
    /// Extracts n, e, d, p, q, d mod (p-1), d mod (q-1) and q^-1 mod p from a PEM private key.
    pub fn from_pkcs8_pem(pem: &[u8], crt: bool) -> Result<Self> {
        let b = if crt {
            Backend::TextbookCrt
        } else {
            Backend::TextbookNoCrt
        };
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
            n: big(Some(rsa.n()), "modulus")?,
            e: big(Some(rsa.e()), "public exponent")?,
            d: big(Some(rsa.d()), "private exponent")?,
            p: big(rsa.p(), "prime p")?,
            q: big(rsa.q(), "prime q")?,
            dp: big(rsa.dmp1(), "CRT exponent dP")?,
            dq: big(rsa.dmq1(), "CRT exponent dQ")?,
            qinv: big(rsa.iqmp(), "CRT coefficient qInv")?,
            k: rsa.size() as usize,
            bits: pkey.bits(),
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
        if self.crt {
            Backend::TextbookCrt
        } else {
            Backend::TextbookNoCrt
        }
    }

    /// m^d mod n, the private-key operation.
    fn private(&self, c: &BigUint) -> BigUint {
        if !self.crt {
            return c.modpow(&self.d, &self.n);
        }
        let m1 = (c % &self.p).modpow(&self.dp, &self.p);
        let m2 = (c % &self.q).modpow(&self.dq, &self.q);
        // h = qInv * (m1 - m2) mod p, kept non-negative by adding p first.
        let diff = (&m1 + &self.p - (&m2 % &self.p)) % &self.p;
        let h = (&self.qinv * diff) % &self.p;
        m2 + h * &self.q
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
                self.b(),
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
                self.b(),
                op,
                format!("expected {} bytes, got {}", self.k, x.len()),
            ));
        }
        let v = BigUint::from_bytes_be(x);
        if v >= self.n {
            return Err(crypto_err(
                self.b(),
                op,
                "input is not smaller than the modulus",
            ));
        }
        Ok(v)
    }

    /// EMSA-PKCS1-v1_5 encoding of SHA-256(message).
    fn signature_block(&self, message: &[u8]) -> Result<Vec<u8>> {
        let t_len = SHA256_DIGEST_INFO.len() + 32;
        if self.k < t_len + 11 {
            return Err(crypto_err(
                self.b(),
                "rsa sign",
                "modulus too short for SHA-256",
            ));
        }
        let mut em = vec![0xffu8; self.k];
        em[0] = 0x00;
        em[1] = 0x01;
        em[self.k - t_len - 1] = 0x00;
        em[self.k - t_len..self.k - 32].copy_from_slice(&SHA256_DIGEST_INFO);
        em[self.k - 32..].copy_from_slice(&sha2::Sha256::digest(message));
        Ok(em)
    }
}

impl RsaKey for TextbookRsa {
    fn backend(&self) -> Backend {
        self.b()
    }

    fn bits(&self) -> u32 {
        self.bits
    }

    fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>> {
        let c = self.octets_to_int(ciphertext, "rsa decrypt")?;
        let em = self.to_octets(&self.private(&c), "rsa decrypt")?;
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

    fn encrypt(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        if message.len() + 11 > self.k {
            return Err(crypto_err(
                self.b(),
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

    fn sign(&mut self, message: &[u8]) -> Result<Vec<u8>> {
        let em = self.signature_block(message)?;
        let s = self.private(&BigUint::from_bytes_be(&em));
        self.to_octets(&s, "rsa sign")
    }

    fn verify(&mut self, message: &[u8], signature: &[u8]) -> Result<bool> {
        let Ok(s) = self.octets_to_int(signature, "rsa verify") else {
            return Ok(false);
        };
        let em = self.to_octets(&self.public(&s), "rsa verify")?;
        Ok(em == self.signature_block(message)?)
    }
}
