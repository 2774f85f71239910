//! The two OpenSSL builds: the vendored one (feature `vendored-openssl`) negotiates the paper's
//! 3DES suite; the default one (system OpenSSL) says clearly that it cannot. Both record which
//! OpenSSL they measured, and both seal and open real libssl records.

use tlscost::crypto::libssl::{self, Connection};
use tlscost::fixtures::Fixtures;
use tlscost::handshake::{HandshakeBench, Kind, Pki, Protocol, Scenario, Stack};
use tlscost::machine::Machine;
use tlscost::record::Suite;

fn pki() -> Pki {
    Pki::locate().expect("fixtures")
}

fn tdes(kind: Kind) -> Scenario {
    Scenario::new(Stack::Openssl, Protocol::Tls12Rsa3desSha, kind)
}

#[test]
fn the_3des_scenarios_are_named_in_every_build() {
    for kind in Kind::PAPER {
        let s = tdes(*kind);
        assert!(Scenario::ALL.contains(&s), "{}", s.label());
        assert_eq!(Scenario::from_label(&s.label()).unwrap(), s);
    }
    // rustls has no RSA key transport at all.
    assert!(
        Scenario::new(Stack::Rustls, Protocol::Tls12Rsa3desSha, Kind::Full)
            .supported()
            .is_err()
    );
}

#[test]
fn results_record_which_openssl_was_measured() {
    let m = Machine::current();
    assert_eq!(m.openssl, openssl::version::version());
    let want = if cfg!(feature = "vendored-openssl") {
        "vendored"
    } else {
        "system"
    };
    assert_eq!(m.openssl_build, want);
    assert_eq!(m.openssl_config.len(), 3, "{:?}", m.openssl_config);
    for (line, prefix) in m
        .openssl_config
        .iter()
        .zip(["built on", "platform", "compiler"])
    {
        assert!(line.starts_with(prefix), "{line}");
    }
}

#[test]
fn libssl_aes_records_open_to_their_plaintext_and_refuse_tampering() {
    let pki = pki();
    for m in Fixtures::locate().unwrap().sip().unwrap().unique_messages() {
        libssl::self_check(Suite::Aes128Sha, &pki, &m.bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", m.name));
    }
    // Several records in a row, read back one per SSL_read.
    let mut c = Connection::establish(Suite::Aes128Sha, &pki).unwrap();
    let mut buf = vec![0u8; 20_000];
    for n in [1usize, 100, 1000] {
        let msg = vec![b'x'; n];
        c.seal(&msg).unwrap();
        assert_eq!(c.open(&mut buf).unwrap(), n);
    }
    assert_eq!(c.queued(), 0);
    assert!(c.open(&mut buf).is_err(), "nothing left to open");
    assert!(libssl::cipher_list(Suite::Aes128Gcm).is_err());
}

#[cfg(feature = "vendored-openssl")]
#[test]
fn vendored_openssl_negotiates_des_cbc3_sha() {
    let pki = pki();
    println!("OpenSSL: {}", openssl::version::version());
    for kind in Kind::PAPER {
        let s = tdes(*kind);
        s.available().unwrap();
        let mut b = HandshakeBench::new(s, &pki).unwrap_or_else(|e| panic!("{}: {e}", s.label()));
        let f = b.check().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.suite, "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "{}", s.label());
        assert_eq!(f.server_suite, f.suite);
        assert_eq!(f.version, "TLSv1.2");
        assert_eq!(f.client_resumed, kind.resumes(), "{}", s.label());
        assert_eq!(f.client_cert_verified, *kind == Kind::Mutual);
        println!("{}: negotiated {} ({})", s.label(), f.suite, f.version);
    }
    let invite = Fixtures::locate().unwrap().sip().unwrap();
    for m in invite.unique_messages() {
        libssl::self_check(Suite::TdesSha, &pki, &m.bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", m.name));
    }
    assert_eq!(
        libssl::cipher_list(Suite::TdesSha).unwrap(),
        "DES-CBC3-SHA:@SECLEVEL=0"
    );
}

#[cfg(not(feature = "vendored-openssl"))]
#[test]
fn system_openssl_says_clearly_it_has_no_3des_suite() {
    use tlscost::Error;
    let pki = pki();
    for kind in Kind::PAPER {
        let s = tdes(*kind);
        let check = |what: &str| {
            assert!(what.contains("no 3DES TLS suite"), "{what}");
            assert!(what.contains("OPENSSL=vendored"), "{what}");
            assert!(what.contains(&s.label()), "{what}");
        };
        match s.available() {
            Err(Error::Unsupported { what, .. }) => check(&what),
            other => panic!("{}: expected Unsupported, got {other:?}", s.label()),
        }
        match HandshakeBench::new(s, &pki) {
            Err(Error::Unsupported { what, .. }) => check(&what),
            Err(e) => panic!("{}: unexpected error {e}", s.label()),
            Ok(_) => panic!("{}: the system OpenSSL negotiated 3DES", s.label()),
        }
    }
    match libssl::cipher_list(Suite::TdesSha) {
        Err(Error::Unsupported { what, .. }) => assert!(what.contains("OPENSSL=vendored")),
        other => panic!("expected Unsupported, got {other:?}"),
    }
    // The AES scenario of the same kind still works: only the suite is missing.
    let aes = Scenario {
        protocol: Protocol::Tls12RsaAes128Sha,
        ..tdes(Kind::Full)
    };
    HandshakeBench::new(aes, &pki).unwrap().check().unwrap();
}

fn estimate(id: &str, us: f64) -> (String, tlscost::results::criterion::Estimate) {
    (
        id.to_string(),
        tlscost::results::criterion::Estimate::exact(id, us, 10),
    )
}

#[test]
fn model_uses_libssl_3des_records_only_when_all_were_measured() {
    use tlscost::model::components::{tls_bulk, Estimates};
    use tlscost::model::configs::BulkSuite;
    use tlscost::model::{libssl_3des_measured, Flows};
    let flows = Flows::from_fixtures(&Fixtures::locate().unwrap()).unwrap();
    let mut map = std::collections::BTreeMap::new();
    for f in [&flows.basic, &flows.auth] {
        for (bench, _) in tls_bulk(f, "libssl", BulkSuite::TripleDes).terms {
            map.insert(bench.clone(), estimate(&bench, 5.0).1);
        }
    }
    let mut est = Estimates {
        map,
        source: "synthetic".into(),
    };
    assert!(libssl_3des_measured(&flows, &est));
    let first = est.map.keys().next().unwrap().clone();
    est.map.remove(&first);
    assert!(!libssl_3des_measured(&flows, &est), "{first} missing");
}

#[test]
fn compare_explains_a_handshake_as_counts_times_prices_plus_residual() {
    use tlscost::model::compare::handshakes_explained;
    use tlscost::results::ResultsFile;
    let pki = pki();
    let full = "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/server";
    let file = |hs_us: f64, decrypt_us: f64| {
        let est = [
            estimate(full, hs_us),
            estimate("rsa/openssl/decrypt/2048", decrypt_us),
            estimate("rsa/openssl/sign/2048", 1000.0),
            estimate("rsa/openssl/verify/2048", 20.0),
            estimate("rsa/openssl/encrypt/2048", 20.0),
            estimate("record/openssl/aes128-sha/seal/64", 1.0),
            estimate("record/openssl/aes128-sha/open/64", 2.0),
        ]
        .into_iter()
        .collect();
        ResultsFile::new(Machine::current(), &est)
    };
    let (a, b) = (file(800.0, 300.0), file(600.0, 250.0));
    let cmp = handshakes_explained(&a, "a", &b, "b", &pki)
        .unwrap()
        .expect("one handshake to explain");
    let counts = tlscost::handshake::count::measure(
        Scenario::from_label("openssl/tls12-rsa-aes128-sha/rsa2048/full").unwrap(),
        &pki,
    )
    .unwrap();
    let s = &counts.server;
    // The full server decrypts one pre-master and signs nothing (RSA key transport).
    assert_eq!((s.private_decrypt, s.private_sign), (1, 0));
    let row = |what: &str| {
        cmp.rows
            .iter()
            .find(|r| r.key == format!("{full} {what}"))
            .unwrap_or_else(|| panic!("{what}: {:?}", cmp.rows))
            .values
            .clone()
    };
    for (col, (hs, dec)) in [(800.0, 300.0), (600.0, 250.0)].into_iter().enumerate() {
        let records = s.records_sealed as f64 * 1.0 + s.records_opened as f64 * 2.0;
        let pk = dec + s.public_verify as f64 * 20.0;
        let close = |v: Option<f64>, want_us: f64| (v.unwrap() - want_us * 1e3).abs() < 1e-6;
        assert!(close(row("1 measured")[col], hs));
        assert!(close(row("2 public-key ops")[col], pk));
        assert!(close(row("3 record ops")[col], records));
        assert!(close(row("4 residual")[col], hs - pk - records));
        assert!(close(row("5 outside public-key")[col], hs - pk));
    }
    assert!(cmp.title.contains("outside public-key"), "{}", cmp.title);
}
