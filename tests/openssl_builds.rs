//! The two OpenSSL builds: the vendored one (feature `vendored-openssl`) negotiates the paper's
//! 3DES suite; the default one (system OpenSSL) says clearly that it cannot. Both record which
//! OpenSSL they measured, and both seal and open real libssl records.

use tlscost::crypto::libssl::{self, Connection};
use tlscost::fixtures::Fixtures;
use tlscost::handshake::{HandshakeBench, Kind, Pki, Protocol, Scenario, Stack};
use tlscost::machine::Machine;
use tlscost::names::Dimension;
use tlscost::record::Suite;
use tlscost::Error;

fn pki() -> Pki {
    Pki::locate().expect("fixtures")
}

fn tdes(kind: Kind) -> Scenario {
    Scenario {
        stack: Stack::Openssl,
        protocol: Protocol::Tls12Rsa3desSha,
        kind,
    }
}

#[test]
fn the_3des_scenarios_are_named_in_every_build() {
    for kind in Kind::ALL {
        let s = tdes(*kind);
        assert!(Scenario::ALL.contains(&s), "{}", s.label());
        assert_eq!(Scenario::from_label(&s.label()).unwrap(), s);
    }
    // rustls has no RSA key transport at all.
    assert!(Scenario::supported(Stack::Rustls, Protocol::Tls12Rsa3desSha, Kind::Full).is_err());
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
    for kind in Kind::ALL {
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
    let pki = pki();
    for kind in Kind::ALL {
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
