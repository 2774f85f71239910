//! Every crypto backend against published known-answer vectors and against each other.

use tlscost::crypto::rsa::PRE_MASTER_LEN;
use tlscost::crypto::{self, Backend, CipherAlg, RsaKey};
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
        // OpenSSL 3.2 and later (the vendored build) reject implicitly too: a short or badly
        // padded ciphertext decrypts to a deterministic synthetic message, not an error.
        let implicit_openssl =
            k.backend() == Backend::OpenSsl && openssl::version::number() >= 0x3020_0000;
        let mut deterministic = |ct: &[u8], what: &str| {
            let first = k.decrypt(ct).unwrap_or_else(|e| panic!("{l}: {what}: {e}"));
            assert_eq!(
                k.decrypt(ct).unwrap(),
                first,
                "{l}: {what}: implicit rejection"
            );
        };
        if implicit_openssl {
            deterministic(&[0u8; 10], "short ciphertext");
            deterministic(&[0x01u8; 256], "unpadded block");
        }
        if !implicit_openssl {
            assert!(k.decrypt(&[0u8; 10]).is_err(), "{l}: short ciphertext");
        }
        assert!(k.decrypt(&[0xffu8; 256]).is_err(), "{l}: ciphertext >= n");
        // A full-size ciphertext below n whose decryption is not a PKCS#1 v1.5 type 2 block.
        // rsa 0.10 uses implicit rejection: a bad padding yields a deterministic synthetic
        // message instead of an error (so a TLS server cannot be used as a padding oracle).
        let unpadded = [0x01u8; 256];
        if k.backend() == Backend::RustCrypto {
            let synthetic = k.decrypt(&unpadded).unwrap();
            assert_eq!(
                k.decrypt(&unpadded).unwrap(),
                synthetic,
                "{l}: implicit rejection is deterministic"
            );
        } else if !implicit_openssl {
            assert!(k.decrypt(&unpadded).is_err(), "{l}: unpadded block");
        }
        assert!(k.encrypt(&[0u8; 250]).is_err(), "{l}: message too long");
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
