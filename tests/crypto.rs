//! Every crypto backend against published known-answer vectors and against each other.

use tlscost::crypto::rsa::PRE_MASTER_LEN;
use tlscost::crypto::{self, Backend, CipherAlg, Rejection, RsaKey, SigHash};
use tlscost::fixtures::{Fixtures, RSA_BITS};
use tlscost::names::Dimension;
use tlscost::Error;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The symmetric backends compiled into this build.
fn symmetric() -> Vec<Backend> {
    Backend::SYMMETRIC
        .iter()
        .copied()
        .filter(|b| b.compiled())
        .collect()
}

fn key_pem(bits: u32) -> Vec<u8> {
    Fixtures::locate().unwrap().rsa_key(bits).unwrap().pem
}

#[test]
fn hmac_sha1_rfc2202_vectors_on_every_backend() {
    let long_key = vec![0xaa; 80];
    let key4: Vec<u8> = (1..=25).collect();
    let cases: Vec<(Vec<u8>, Vec<u8>, &str)> = vec![
        (
            vec![0x0b; 20],
            b"Hi There".to_vec(),
            "b617318655057264e28bc0b6fb378c8ef146be00",
        ),
        (
            b"Jefe".to_vec(),
            b"what do ya want for nothing?".to_vec(),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79",
        ),
        (
            vec![0xaa; 20],
            vec![0xdd; 50],
            "125d7342b9ac11cd91a39af48aa17b4f63f175d3",
        ),
        (
            key4,
            vec![0xcd; 50],
            "4c9007f4026250c6bc8414f9bf50c86c2d7235da",
        ),
        (
            vec![0x0c; 20],
            b"Test With Truncation".to_vec(),
            "4c1a03424b55e07fe7f27be1d58bb9324a9a5a04",
        ),
        (
            long_key.clone(),
            b"Test Using Larger Than Block-Size Key - Hash Key First".to_vec(),
            "aa4ae5e15272d00e95705637ce8a3b55ed402112",
        ),
        (
            long_key,
            b"Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data".to_vec(),
            "e8e99d0f45237d786d6bbaa7965c7808bbff1a91",
        ),
    ];
    for b in symmetric() {
        for (i, (key, data, want)) in cases.iter().enumerate() {
            let mut mac = crypto::hmac_sha1(b, key).unwrap();
            assert_eq!(
                mac.mac(&[data]).unwrap().to_vec(),
                hex(want),
                "{} case {}",
                b.label(),
                i + 1
            );
            // The same tag again (the keyed state is reused), and over split parts.
            let (x, y) = data.split_at(data.len() / 3);
            assert_eq!(
                mac.mac(&[x, y]).unwrap().to_vec(),
                hex(want),
                "{} case {} split",
                b.label(),
                i + 1
            );
        }
    }
}

#[test]
fn sha1_fips180_vectors_on_every_backend() {
    let million_a = vec![b'a'; 1_000_000];
    let cases: Vec<(&[u8], &str)> = vec![
        (b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        (b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1",
        ),
        (&million_a, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
    ];
    for b in symmetric() {
        let mut h = crypto::sha1(b).unwrap();
        for (data, want) in &cases {
            assert_eq!(
                h.digest(data).unwrap().to_vec(),
                hex(want),
                "{} len {}",
                b.label(),
                data.len()
            );
        }
    }
}

/// A single block through CBC with a zero IV is the block cipher itself.
fn single_block(b: Backend, alg: CipherAlg, key: &[u8], pt: &[u8], ct: &[u8]) {
    let mut c = crypto::cbc_cipher(b, alg, key).unwrap();
    let iv = vec![0u8; alg.block_len()];
    let mut buf = pt.to_vec();
    c.encrypt(&iv, &mut buf).unwrap();
    assert_eq!(buf, ct, "{} {} encrypt", b.label(), alg.label());
    c.decrypt(&iv, &mut buf).unwrap();
    assert_eq!(buf, pt, "{} {} decrypt", b.label(), alg.label());
}

#[test]
fn aes128_fips197_known_answers() {
    for b in symmetric() {
        // FIPS-197 Appendix C.1 and Appendix B.
        single_block(
            b,
            CipherAlg::Aes128Cbc,
            &hex("000102030405060708090a0b0c0d0e0f"),
            &hex("00112233445566778899aabbccddeeff"),
            &hex("69c4e0d86a7b0430d8cdb78070b4c55a"),
        );
        single_block(
            b,
            CipherAlg::Aes128Cbc,
            &hex("2b7e151628aed2a6abf7158809cf4f3c"),
            &hex("3243f6a8885a308d313198a2e0370734"),
            &hex("3925841d02dc09fbdc118597196a0b32"),
        );
    }
}

#[test]
fn tdea_sp800_67_known_answers() {
    // SP 800-67 Rev. 1, Appendix B: three keys, "The qufck brown fox jump", block by block.
    let key = hex("0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123");
    let blocks = [
        ("5468652071756663", "A826FD8CE53B855F"),
        ("6B2062726F776E20", "CCE21C8112256FE6"),
        ("666F78206A756D70", "68D5C05DD9B6B900"),
    ];
    let mut ran = 0;
    for b in symmetric() {
        if crypto::cipher_supports(b, CipherAlg::TdesCbc).is_err() {
            let err = crypto::cbc_cipher(b, CipherAlg::TdesCbc, &key)
                .err()
                .unwrap();
            assert!(
                matches!(err, Error::Unsupported { .. }),
                "{}: {err}",
                b.label()
            );
            continue;
        }
        for (pt, ct) in blocks {
            single_block(b, CipherAlg::TdesCbc, &key, &hex(pt), &hex(ct));
        }
        ran += 1;
    }
    assert!(
        ran >= 2,
        "3DES checked on {ran} backends, expected openssl and rustcrypto"
    );
}

#[test]
fn cbc_ciphertexts_identical_across_backends() {
    for alg in CipherAlg::ALL.iter().copied() {
        let key: Vec<u8> = (0..alg.key_len() as u8)
            .map(|i| i.wrapping_mul(29).wrapping_add(3))
            .collect();
        let iv: Vec<u8> = (0..alg.block_len() as u8).map(|i| i ^ 0x5c).collect();
        for len in [alg.block_len(), 64, 1024, 16384] {
            let pt: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let mut first: Option<(Backend, Vec<u8>)> = None;
            for b in symmetric()
                .into_iter()
                .filter(|&b| crypto::cipher_supports(b, alg).is_ok())
            {
                let mut c = crypto::cbc_cipher(b, alg, &key).unwrap();
                let mut buf = pt.clone();
                c.encrypt(&iv, &mut buf).unwrap();
                assert_ne!(buf, pt);
                match &first {
                    None => first = Some((b, buf.clone())),
                    Some((fb, fc)) => assert_eq!(
                        &buf,
                        fc,
                        "{} vs {} {} {len}",
                        b.label(),
                        fb.label(),
                        alg.label()
                    ),
                }
                c.decrypt(&iv, &mut buf).unwrap();
                assert_eq!(buf, pt, "{} {} {len} round trip", b.label(), alg.label());
            }
        }
    }
}

#[test]
fn cbc_refuses_bad_lengths() {
    for b in symmetric() {
        let err = crypto::cbc_cipher(b, CipherAlg::Aes128Cbc, &[0u8; 15])
            .err()
            .unwrap();
        assert!(err.to_string().contains("16-byte key"), "{err}");
        let mut c = crypto::cbc_cipher(b, CipherAlg::Aes128Cbc, &[1u8; 16]).unwrap();
        let mut buf = vec![0u8; 17];
        let err = c.encrypt(&[0u8; 16], &mut buf).unwrap_err();
        assert!(matches!(err, Error::Crypto { .. }), "{err}");
        let err = c.decrypt(&[0u8; 8], &mut buf[..16]).unwrap_err();
        assert!(err.to_string().contains("16-byte IV"), "{err}");
    }
}

/// Every RSA backend that can load `bits`-bit keys.
fn rsa_keys(bits: u32) -> Vec<Box<dyn RsaKey>> {
    let pem = key_pem(bits);
    Backend::ALL
        .iter()
        .copied()
        .filter(|&b| crypto::rsa_supports(b, bits).is_ok())
        .map(|b| crypto::rsa_key(b, &pem).unwrap())
        .collect()
}

#[test]
fn rsa_signatures_identical_and_cross_verified() {
    let msg = b"client_random || server_random || ServerKeyExchange params";
    for bits in RSA_BITS {
        let mut keys = rsa_keys(bits);
        assert!(keys.len() >= 4, "{bits}: only {} backends", keys.len());
        let sigs: Vec<Vec<u8>> = keys.iter_mut().map(|k| k.sign(msg).unwrap()).collect();
        for (k, s) in keys.iter().zip(&sigs) {
            assert_eq!(s.len(), bits as usize / 8);
            assert_eq!(
                s,
                &sigs[0],
                "{bits}: {} signature differs from {}",
                k.backend().label(),
                keys[0].backend().label()
            );
        }
        let mut bad = sigs[0].clone();
        bad[bits as usize / 16] ^= 0x01;
        for k in keys.iter_mut() {
            let l = k.backend().label();
            assert!(
                k.verify(msg, &sigs[0]).unwrap(),
                "{bits}: {l} rejects a good signature"
            );
            assert!(
                !k.verify(msg, &bad).unwrap(),
                "{bits}: {l} accepts a flipped bit"
            );
            assert!(
                !k.verify(b"another message", &sigs[0]).unwrap(),
                "{bits}: {l} accepts another message"
            );
            assert!(
                !k.verify(msg, &sigs[0][1..]).unwrap(),
                "{bits}: {l} accepts a short signature"
            );
        }
    }
}

#[test]
fn rsa_each_backend_decrypts_every_backends_encryption() {
    for bits in RSA_BITS {
        let mut keys = rsa_keys(bits);
        for i in 0..keys.len() {
            let pm: Vec<u8> = (0..PRE_MASTER_LEN)
                .map(|x| (x as u8) ^ (i as u8) ^ 0x30)
                .collect();
            let ct = keys[i].encrypt(&pm).unwrap();
            assert_eq!(ct.len(), bits as usize / 8);
            // PKCS#1 v1.5 encryption is randomised.
            assert_ne!(ct, keys[i].encrypt(&pm).unwrap());
            for k in keys.iter_mut() {
                assert_eq!(
                    k.decrypt(&ct).unwrap(),
                    pm,
                    "{bits}: {} decrypting {}'s",
                    k.backend().label(),
                    i
                );
            }
        }
    }
}

#[test]
fn rsa_refuses_bad_ciphertexts_without_panicking() {
    for mut k in rsa_keys(2048) {
        let l = k.backend().label();
        assert!(k.decrypt(&[0xffu8; 256]).is_err(), "{l}: ciphertext >= n");
        // Short and unpadded ciphertexts: an error, or with implicit rejection a
        // deterministic synthetic message, never a panic.
        for (what, ct) in [
            ("short ciphertext", &[0u8; 10][..]),
            ("unpadded block", &[0x01u8; 256][..]),
        ] {
            match (k.rejection(), k.decrypt(ct)) {
                (_, Err(Error::Crypto { .. })) => {}
                (Rejection::Implicit, Ok(m)) => {
                    assert_eq!(k.decrypt(ct).unwrap(), m, "{l}: {what}: implicit rejection")
                }
                (r, other) => panic!("{l}: {what} with {r:?} rejection gave {other:?}"),
            }
        }
        assert!(k.encrypt(&[0u8; 250]).is_err(), "{l}: message too long");
    }
}

/// A full-length ciphertext below n whose decryption is `em` (raw RSA with the fixture key's
/// public half, through OpenSSL without padding).
fn raw_ciphertext(bits: u32, em: &[u8]) -> Vec<u8> {
    let rsa = openssl::rsa::Rsa::private_key_from_pem(&key_pem(bits)).unwrap();
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .public_encrypt(em, &mut out, openssl::rsa::Padding::NONE)
        .unwrap();
    out.truncate(n);
    out
}

/// The decrypt contract per backend, pinned: which backends answer a bad PKCS#1 v1.5
/// padding with an error and which with a synthetic message (implicit rejection), the
/// OpenSSL answer following the linked library's version; a synthetic message is
/// deterministic, depends on the ciphertext, and a good ciphertext still decrypts.
#[test]
fn rsa_decrypt_rejection_contract_per_backend() {
    let declared = |b: Backend| match b {
        Backend::OpenSsl if openssl::version::number() >= 0x3020_0000 => Rejection::Implicit,
        Backend::RustCrypto => Rejection::Implicit,
        _ => Rejection::Explicit,
    };
    // Well-formed sizes, bad paddings: block type 1 instead of 2, and no zero separator.
    let mut type1 = vec![0xffu8; 256];
    type1[..2].copy_from_slice(&[0x00, 0x01]);
    type1[200] = 0;
    let mut no_separator = vec![0x5au8; 256];
    no_separator[..2].copy_from_slice(&[0x00, 0x02]);
    let bad = [
        raw_ciphertext(2048, &type1),
        raw_ciphertext(2048, &no_separator),
    ];
    for mut k in rsa_keys(2048) {
        let l = k.backend().label();
        assert_eq!(k.rejection(), declared(k.backend()), "{l}");
        let mut synthetic = Vec::new();
        for ct in &bad {
            match (k.rejection(), k.decrypt(ct)) {
                (Rejection::Explicit, Err(Error::Crypto { .. })) => {}
                (Rejection::Implicit, Ok(m)) => {
                    assert_eq!(k.decrypt(ct).unwrap(), m, "{l}: not deterministic");
                    synthetic.push(m);
                }
                (r, other) => panic!("{l}: declared {r:?}, a bad padding gave {other:?}"),
            }
        }
        if synthetic.len() == 2 {
            assert_ne!(
                synthetic[0], synthetic[1],
                "{l}: one synthetic message for two ciphertexts"
            );
        }
        let ct = k.encrypt(&[9u8; PRE_MASTER_LEN]).unwrap();
        assert_eq!(k.decrypt(&ct).unwrap(), [9u8; PRE_MASTER_LEN], "{l}");
    }
}

/// The public half of the fixture key of `bits` as SubjectPublicKeyInfo PEM and DER.
fn public_key(bits: u32) -> (Vec<u8>, Vec<u8>) {
    let k = openssl::pkey::PKey::private_key_from_pem(&key_pem(bits)).unwrap();
    (
        k.public_key_to_pem().unwrap(),
        k.public_key_to_der().unwrap(),
    )
}

#[test]
fn rsa_public_keys_load_alone_from_pem_and_der() {
    for bits in RSA_BITS {
        let (pem, der) = public_key(bits);
        let mut private = rsa_keys(bits);
        let msg = b"ServerKeyExchange params";
        let sig = private[0].sign(msg).unwrap();
        for b in Backend::ALL
            .iter()
            .copied()
            .filter(|&b| crypto::rsa_supports(b, bits).is_ok())
        {
            for (form, key) in [("pem", &pem), ("der", &der)] {
                let l = format!("{} {bits} {form}", b.label());
                let mut public =
                    crypto::rsa_public_key(b, key).unwrap_or_else(|e| panic!("{l}: {e}"));
                assert_eq!((public.backend(), public.bits()), (b, bits), "{l}");
                assert!(public.verify(msg, &sig).unwrap(), "{l}: good signature");
                assert!(
                    !public.verify(b"other", &sig).unwrap(),
                    "{l}: other message"
                );
                // Encrypted with the public key alone, decrypted by every private key.
                let ct = public.encrypt(&[7u8; PRE_MASTER_LEN]).unwrap();
                for k in private.iter_mut() {
                    assert_eq!(
                        k.decrypt(&ct).unwrap(),
                        [7u8; PRE_MASTER_LEN],
                        "{l} -> {}",
                        k.backend().label()
                    );
                }
            }
        }
    }
}

#[test]
fn rsa_public_key_errors_name_the_backend() {
    let (pem, _) = public_key(2048);
    let private_pem = key_pem(2048);
    let ec = std::fs::read(Fixtures::locate().unwrap().pki_path("ecdsa-server.key.pem")).unwrap();
    let ec_public = openssl::pkey::PKey::private_key_from_pem(&ec)
        .unwrap()
        .public_key_to_pem()
        .unwrap();
    for b in Backend::ALL.iter().copied().filter(|b| b.compiled()) {
        for (what, key) in [
            ("garbage", b"not a key".to_vec()),
            ("truncated pem", pem[..pem.len() / 2].to_vec()),
            ("a private key", private_pem.clone()),
            ("an ec key", ec_public.clone()),
        ] {
            let err = crypto::rsa_public_key(b, &key)
                .err()
                .unwrap_or_else(|| panic!("{}: {what} accepted", b.label()));
            let msg = err.to_string();
            assert!(
                msg.starts_with(b.label()) && msg.contains("load public key"),
                "{}: {what}: {msg}",
                b.label()
            );
        }
    }
}

/// `verify` is a verdict for every malformed signature (`Ok(false)`), never an error, and
/// every SHA-2 hash of `SigHash` verifies where the backend offers it.
#[test]
fn rsa_verify_verdicts_and_hashes() {
    let msg = b"client_random || server_random || params";
    let openssl_key = openssl::pkey::PKey::private_key_from_pem(&key_pem(2048)).unwrap();
    for mut k in rsa_keys(2048) {
        let l = k.backend().label();
        let good = k.sign(msg).unwrap();
        let n_bytes = vec![0xffu8; 256];
        for (what, sig) in [
            ("empty", Vec::new()),
            ("one byte short", good[1..].to_vec()),
            ("one byte long", [good.as_slice(), &[0]].concat()),
            ("not below n", n_bytes),
            ("zero", vec![0u8; 256]),
            ("one", [vec![0u8; 255], vec![1]].concat()),
        ] {
            assert!(
                !k.verify(msg, &sig)
                    .unwrap_or_else(|e| panic!("{l}: {what}: {e}")),
                "{l}: {what}"
            );
        }
        for &hash in SigHash::ALL {
            let md = match hash {
                SigHash::Sha224 => openssl::hash::MessageDigest::sha224(),
                SigHash::Sha256 => openssl::hash::MessageDigest::sha256(),
                SigHash::Sha384 => openssl::hash::MessageDigest::sha384(),
                SigHash::Sha512 => openssl::hash::MessageDigest::sha512(),
            };
            let mut signer = openssl::sign::Signer::new(md, &openssl_key).unwrap();
            let sig = signer.sign_oneshot_to_vec(msg).unwrap();
            match k.verify_with(hash, msg, &sig) {
                Ok(v) => {
                    assert!(v, "{l}: {}", hash.label());
                    let other = if hash == SigHash::Sha256 {
                        SigHash::Sha384
                    } else {
                        SigHash::Sha256
                    };
                    assert!(
                        !k.verify_with(other, msg, &sig).unwrap_or(false),
                        "{l}: {} as {}",
                        hash.label(),
                        other.label()
                    );
                }
                Err(Error::Unsupported { .. }) => assert_eq!(
                    (k.backend(), hash),
                    (Backend::AwsLc, SigHash::Sha224),
                    "{l}: {} unsupported",
                    hash.label()
                ),
                Err(e) => panic!("{l}: {}: {e}", hash.label()),
            }
        }
    }
}

#[test]
fn textbook_crt_and_nocrt_agree_with_openssl() {
    let pem = key_pem(1024);
    let mut ossl = crypto::rsa_key(Backend::OpenSsl, &pem).unwrap();
    let mut crt = crypto::rsa_key(Backend::TextbookCrt, &pem).unwrap();
    let mut nocrt = crypto::rsa_key(Backend::TextbookNoCrt, &pem).unwrap();
    for m in [&b""[..], b"a", &[0xffu8; 200][..]] {
        let s = ossl.sign(m).unwrap();
        assert_eq!(crt.sign(m).unwrap(), s);
        assert_eq!(nocrt.sign(m).unwrap(), s);
    }
    let ct = ossl.encrypt(&[7u8; 48]).unwrap();
    assert_eq!(crt.decrypt(&ct).unwrap(), vec![7u8; 48]);
    assert_eq!(nocrt.decrypt(&ct).unwrap(), vec![7u8; 48]);
}

#[test]
fn bad_key_input_is_a_clear_error_on_every_backend() {
    let fx = Fixtures::locate().unwrap();
    let ec = std::fs::read(fx.pki_path("ecdsa-server.key.pem")).unwrap();
    let mut truncated = key_pem(2048);
    truncated.truncate(truncated.len() / 2);
    for b in Backend::ALL.iter().copied().filter(|b| b.compiled()) {
        for (what, pem) in [
            ("garbage", b"not a key".to_vec()),
            ("truncated", truncated.clone()),
            ("ec", ec.clone()),
        ] {
            let err = crypto::rsa_key(b, &pem)
                .err()
                .unwrap_or_else(|| panic!("{}: {what} key accepted", b.label()));
            let msg = err.to_string();
            assert!(msg.starts_with(b.label()), "{}: {what}: {msg}", b.label());
            assert!(msg.contains("load key"), "{}: {what}: {msg}", b.label());
        }
    }
    if Backend::AwsLc.compiled() {
        let err = crypto::rsa_key(Backend::AwsLc, &key_pem(1024))
            .err()
            .unwrap();
        assert!(err.to_string().contains("2048"), "{err}");
        assert!(crypto::rsa_supports(Backend::AwsLc, 1024).is_err());
    }
}

#[test]
fn symmetric_primitives_refuse_textbook_backends() {
    for b in [Backend::TextbookCrt, Backend::TextbookNoCrt] {
        assert!(matches!(
            crypto::cbc_cipher(b, CipherAlg::Aes128Cbc, &[0; 16]).err(),
            Some(Error::Unsupported { .. })
        ));
        assert!(matches!(
            crypto::hmac_sha1(b, &[0; 20]).err(),
            Some(Error::Unsupported { .. })
        ));
        assert!(matches!(
            crypto::sha1(b).err(),
            Some(Error::Unsupported { .. })
        ));
    }
}

#[test]
fn cbc_calls_on_one_object_are_independent() {
    // Each call is CBC under its own IV, whatever the object did before (OpenSSL's keeps
    // one chained context and folds the IV into the first block).
    for alg in CipherAlg::ALL.iter().copied() {
        let key = vec![0x42u8; alg.key_len()];
        let backends: Vec<Backend> = symmetric()
            .into_iter()
            .filter(|&b| crypto::cipher_supports(b, alg).is_ok())
            .collect();
        let mut reused: Vec<_> = backends
            .iter()
            .map(|&b| crypto::cbc_cipher(b, alg, &key).unwrap())
            .collect();
        for round in 0..4u8 {
            let iv = vec![round.wrapping_mul(17); alg.block_len()];
            let pt: Vec<u8> = (0..alg.block_len() * (round as usize + 1))
                .map(|i| i as u8 ^ round)
                .collect();
            let mut fresh = crypto::cbc_cipher(Backend::RustCrypto, alg, &key).unwrap();
            let mut want = pt.clone();
            fresh.encrypt(&iv, &mut want).unwrap();
            for (b, c) in backends.iter().zip(reused.iter_mut()) {
                let mut buf = pt.clone();
                c.encrypt(&iv, &mut buf).unwrap();
                assert_eq!(
                    buf,
                    want,
                    "{} {} round {round} encrypt",
                    b.label(),
                    alg.label()
                );
                c.decrypt(&iv, &mut buf).unwrap();
                assert_eq!(
                    buf,
                    pt,
                    "{} {} round {round} decrypt",
                    b.label(),
                    alg.label()
                );
            }
        }
    }
}

/// One vector of a NIST CAVP TDES `.rsp` file.
struct TdesVector {
    key: Vec<u8>,
    iv: Vec<u8>,
    plaintext: Vec<u8>,
    ciphertext: Vec<u8>,
}

/// The vectors of a CAVP TDES response file: `KEYs` (the one key of keying option 3's
/// degenerate form, K1 = K2 = K3) or `KEY1..3`, `IV`, `PLAINTEXT`, `CIPHERTEXT`, in
/// `[ENCRYPT]` and `[DECRYPT]` sections (each vector is checked both ways anyway).
fn cavp_tdes(text: &str) -> Vec<TdesVector> {
    let mut out = Vec::new();
    let mut fields: std::collections::BTreeMap<String, String> = Default::default();
    let mut flush = |f: &mut std::collections::BTreeMap<String, String>| {
        if let (Some(iv), Some(pt), Some(ct)) =
            (f.get("IV"), f.get("PLAINTEXT"), f.get("CIPHERTEXT"))
        {
            let key = match f.get("KEYs") {
                Some(k) => hex(&format!("{k}{k}{k}")),
                None => hex(&format!("{}{}{}", f["KEY1"], f["KEY2"], f["KEY3"])),
            };
            out.push(TdesVector {
                key,
                iv: hex(iv),
                plaintext: hex(pt),
                ciphertext: hex(ct),
            });
        }
        f.clear();
    };
    for line in text.lines().map(str::trim) {
        if line.starts_with("COUNT") || line.starts_with('[') {
            flush(&mut fields);
        }
        if let Some((k, v)) = line.split_once('=') {
            fields.insert(k.trim().to_string(), v.trim().to_string());
        }
    }
    flush(&mut fields);
    out
}

/// NIST's CAVP TDES CBC known-answer and multi-block sets (tests/vectors/tdes-cbc, see its
/// README) on every backend with 3DES: each vector encrypts to its ciphertext and decrypts
/// to its plaintext. Counts go to stderr.
#[test]
fn tdes_cbc_nist_cavp_vectors_on_every_backend() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/tdes-cbc");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rsp"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        8,
        "expected the 8 TCBC files in {}",
        dir.display()
    );
    let mut report = String::from("\nNIST CAVP TDES-CBC vectors per backend and file\n");
    let mut ran = 0;
    for b in symmetric() {
        if let Err(why) = crypto::cipher_supports(b, CipherAlg::TdesCbc) {
            report += &format!("  {:<12} skipped: {why}\n", b.label());
            continue;
        }
        ran += 1;
        for f in &files {
            let vectors = cavp_tdes(&std::fs::read_to_string(f).unwrap());
            assert!(!vectors.is_empty(), "{}: no vectors", f.display());
            let name = f.file_name().unwrap().to_string_lossy();
            for (i, v) in vectors.iter().enumerate() {
                let mut c = crypto::cbc_cipher(b, CipherAlg::TdesCbc, &v.key).unwrap();
                let mut buf = v.plaintext.clone();
                c.encrypt(&v.iv, &mut buf).unwrap();
                assert_eq!(buf, v.ciphertext, "{} {name} vector {i} encrypt", b.label());
                c.decrypt(&v.iv, &mut buf).unwrap();
                assert_eq!(buf, v.plaintext, "{} {name} vector {i} decrypt", b.label());
            }
            report += &format!(
                "  {:<12} {name:<18} {:>4} passed\n",
                b.label(),
                vectors.len()
            );
        }
    }
    let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), report.as_bytes());
    assert!(
        ran >= 2,
        "3DES vectors ran on {ran} backends, expected openssl and rustcrypto"
    );
}

/// The TLS 1.2 PRF (P_SHA256) of every backend that has it: the published vector (secret,
/// "test label", seed, 100 bytes; posted to the IETF TLS working group's list in 2009 as
/// "TLS 1.2 PRF test vectors", msg03416, RFC 5246 having none), and the backends against
/// each other (OpenSSL's EVP_KDF, AWS-LC and the one written over RustCrypto's hmac/sha2
/// are three independent implementations) on other lengths, labels and secrets.
#[test]
fn tls12_prf_published_vector_and_backends_agree() {
    let secret = hex("9bbe436ba940f017b17652849a71db35");
    let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
    let want = hex(
        "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a
         6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab
         4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701
         87347b66",
    );
    let backends: Vec<Backend> = symmetric();
    for &b in &backends {
        let mut out = vec![0u8; 100];
        crypto::tls12_prf(b, &secret, b"test label", &seed, &mut out).unwrap();
        assert_eq!(out, want, "{}: published vector", b.label());
    }
    // The key block of a TLS_RSA_WITH_AES_128_CBC_SHA connection is 104 bytes; the master
    // secret 48. Lengths around the 32-byte HMAC-SHA256 blocks, too.
    for (i, len) in [1usize, 31, 32, 33, 48, 64, 104, 200]
        .into_iter()
        .enumerate()
    {
        let secret: Vec<u8> = (0..48u8).map(|x| x.wrapping_mul(i as u8 + 3)).collect();
        let seed: Vec<u8> = (0..64u8).map(|x| x ^ i as u8).collect();
        let mut first: Option<Vec<u8>> = None;
        for &b in &backends {
            let mut out = vec![0u8; len];
            crypto::tls12_prf(b, &secret, b"key expansion", &seed, &mut out).unwrap();
            match &first {
                None => first = Some(out),
                Some(f) => assert_eq!(&out, f, "{} differs at {len} bytes", b.label()),
            }
        }
    }
    assert!(backends.len() >= 2);
}
