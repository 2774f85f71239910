//! Handshake scenarios: every one completes and passes its check, the two stacks talk to each
//! other, a rogue client certificate is refused, and the measured counts follow the scenario.

use std::collections::HashSet;
use tlscost::handshake::count::{measure, OpCounts};
use tlscost::handshake::{
    cross_handshake, setup, HandshakeBench, Kind, Pki, Protocol, Scenario, Side, Stack,
};
use tlscost::names::Dimension;
use tlscost::Error;

/// The scenarios this build can run (3DES needs the vendored OpenSSL; the others always run).
fn runnable() -> impl Iterator<Item = &'static Scenario> {
    Scenario::ALL.iter().filter(|s| match s.available() {
        Ok(()) => true,
        Err(Error::Unsupported { what, .. }) => {
            assert!(
                s.protocol == Protocol::Tls12Rsa3desSha,
                "only 3DES may be unavailable: {what}"
            );
            false
        }
        Err(e) => panic!("{e}"),
    })
}

fn pki() -> Pki {
    Pki::locate().expect("committed fixtures load")
}

fn scenario(stack: Stack, protocol: Protocol, kind: Kind) -> Scenario {
    Scenario {
        stack,
        protocol,
        kind,
    }
}

#[test]
fn names_are_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for s in Scenario::ALL {
        for side in Side::ALL {
            let id = s.id(*side).full();
            assert_eq!(id.split('/').count(), 5, "{id}");
            assert!(id.starts_with("handshake/"), "{id}");
            assert!(seen.insert(id.clone()), "duplicate bench name {id}");
            assert_eq!(Scenario::from_label(&s.label()).unwrap(), *s);
        }
    }
    assert_eq!(seen.len(), 2 * Scenario::ALL.len());
}

#[test]
fn all_lists_exactly_the_supported_combinations() {
    let mut want = Vec::new();
    for st in Stack::ALL {
        for p in Protocol::ALL {
            for k in Kind::ALL {
                if Scenario::supported(*st, *p, *k).is_ok() {
                    want.push(scenario(*st, *p, *k));
                }
            }
        }
    }
    assert_eq!(Scenario::ALL.to_vec(), want);
    assert!(Scenario::supported(Stack::Rustls, Protocol::Tls12RsaAes128Sha, Kind::Full).is_err());
    assert!(
        Scenario::supported(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::ResumedId).is_err()
    );
}

#[test]
fn unsupported_scenario_is_a_clear_error() {
    let s = scenario(Stack::Rustls, Protocol::Tls12RsaAes128Sha, Kind::Full);
    match HandshakeBench::new(s, &pki()) {
        Err(Error::Unsupported { what, .. }) => {
            assert!(what.contains("RSA key transport"), "{what}")
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("rustls cannot do RSA key transport"),
    }
    assert!(matches!(
        Scenario::from_label("openssl/tls11/full"),
        Err(Error::Usage(_))
    ));
}

#[test]
fn every_scenario_completes_and_passes_its_check() {
    let pki = pki();
    for s in runnable() {
        let mut b = HandshakeBench::new(*s, &pki).unwrap_or_else(|e| panic!("{}: {e}", s.label()));
        let f = b.check().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.version, s.protocol.version(), "{}", s.label());
        assert_eq!(f.client_resumed, s.kind.resumes(), "{}", s.label());
        // Repeated handshakes keep resuming (or keep being full): the cache does not run dry.
        for side in Side::ALL {
            for _ in 0..3 {
                b.run_once(*side).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}

#[test]
fn cross_stack_pairs_talk() {
    let pki = pki();
    for p in [Protocol::Tls12EcdheRsaAes128Gcm, Protocol::Tls13Aes128Gcm] {
        let o = setup(scenario(Stack::Openssl, p, Kind::Mutual), &pki, false).unwrap();
        let r = setup(scenario(Stack::Rustls, p, Kind::Mutual), &pki, false).unwrap();
        let msg = b"INVITE sip:bob@sip.tlscost.test SIP/2.0\r\n\r\n";
        for (client, server, what) in [
            (&r, &o, "rustls client -> openssl server"),
            (&o, &r, "openssl client -> rustls server"),
        ] {
            let (f, at_server, at_client) = cross_handshake(client.as_ref(), server.as_ref(), msg)
                .unwrap_or_else(|e| panic!("{what} {}: {e}", p.label()));
            assert_eq!(f.version, p.version(), "{what}");
            assert_eq!(f.suite, p.iana_suite(), "{what}");
            assert_eq!(f.server_suite, p.iana_suite(), "{what}");
            assert!(
                f.client_cert_verified,
                "{what}: client certificate verified"
            );
            assert_eq!(at_server, msg, "{what}: server got the client's data");
            assert_eq!(at_client, msg, "{what}: client got the server's data");
        }
    }
}

#[test]
fn rogue_client_certificate_is_refused() {
    let good = pki();
    let rogue = Pki {
        client: good.rogue_client.clone(),
        ..good.clone()
    };
    for s in runnable().filter(|s| s.kind == Kind::Mutual) {
        // The same scenario with the real client works...
        assert!(HandshakeBench::new(*s, &good).is_ok(), "{}", s.label());
        // ...and with a certificate of another CA the server refuses it.
        match HandshakeBench::new(*s, &rogue) {
            Err(Error::Handshake { what, .. }) => {
                assert!(
                    what.starts_with("server"),
                    "{}: refused by the server: {what}",
                    s.label()
                )
            }
            Err(e) => panic!("{}: unexpected error {e}", s.label()),
            Ok(_) => panic!("{}: rogue client certificate accepted", s.label()),
        }
    }
}

fn counts(stack: Stack, p: Protocol, k: Kind) -> OpCounts {
    measure(scenario(stack, p, k), &pki()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn counts_follow_the_scenario() {
    for (stack, p) in [
        (Stack::Openssl, Protocol::Tls12RsaAes128Sha),
        (Stack::Openssl, Protocol::Tls12EcdheRsaAes128Gcm),
        (Stack::Openssl, Protocol::Tls13Aes128Gcm),
        (Stack::Rustls, Protocol::Tls12EcdheRsaAes128Gcm),
        (Stack::Rustls, Protocol::Tls13Aes128Gcm),
    ] {
        let name = format!("{}/{}", stack.label(), p.label());
        let full = counts(stack, p, Kind::Full);
        let mutual = counts(stack, p, Kind::Mutual);
        // Mutual adds one client signature and at least one server verification
        // (the client certificate's chain and its CertificateVerify).
        assert_eq!(
            mutual.client.private_sign,
            full.client.private_sign + 1,
            "{name}"
        );
        assert!(
            mutual.server.public_verify >= full.server.public_verify + 2,
            "{name}"
        );
        assert_eq!(
            full.client.private_sign, 0,
            "{name}: no client key in a full handshake"
        );
        // The server does exactly one private-key operation in a full handshake.
        assert_eq!(
            full.server.private_sign + full.server.private_decrypt,
            1,
            "{name}"
        );
        assert!(
            full.client.public_verify >= 1,
            "{name}: client verifies the server"
        );
        // Resumed: no private-key operation and no certificate on either side.
        let kinds: &[Kind] = if p == Protocol::Tls13Aes128Gcm {
            &[Kind::ResumedTicket]
        } else {
            &[Kind::ResumedId, Kind::ResumedTicket]
        };
        for k in kinds {
            let r = counts(stack, p, *k);
            for side in Side::ALL {
                let c = r.side(*side);
                assert_eq!(
                    c.private_sign + c.private_decrypt,
                    0,
                    "{name}/{}",
                    k.label()
                );
                assert_eq!(
                    c.public_verify + c.public_encrypt,
                    0,
                    "{name}/{}",
                    k.label()
                );
            }
            assert!(
                r.server.wire_bytes_sent < full.server.wire_bytes_sent,
                "{name}/{}: the server sends no certificate",
                k.label()
            );
        }
        // Both sides seal and open records (at least Finished) in every handshake.
        for side in Side::ALL {
            assert!(full.side(*side).records_sealed >= 1, "{name}");
            assert!(full.side(*side).records_opened >= 1, "{name}");
        }
    }
}

#[test]
fn key_transport_and_ecdhe_count_different_operations() {
    let rsa = counts(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Full);
    assert_eq!(rsa.server.private_decrypt, 1);
    assert_eq!(rsa.client.public_encrypt, 1);
    assert_eq!(rsa.server.key_exchanges + rsa.client.key_exchanges, 0);
    assert!(rsa.client.record_macs >= 1, "CBC records carry HMAC-SHA1");
    let ecdhe = counts(Stack::Openssl, Protocol::Tls12EcdheRsaAes128Gcm, Kind::Full);
    assert_eq!(ecdhe.server.private_sign, 1);
    assert_eq!(ecdhe.server.private_decrypt, 0);
    assert_eq!(
        (ecdhe.client.key_exchanges, ecdhe.server.key_exchanges),
        (1, 1)
    );
    let rustls = counts(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::Full);
    assert_eq!(rustls.server.private_sign, 1);
    assert_eq!(
        (rustls.client.key_exchanges, rustls.server.key_exchanges),
        (1, 1)
    );
    assert!(
        rustls.client.kdf_calls.unwrap_or(0) > 0 && rustls.client.hash_outputs.unwrap_or(0) > 0
    );
    // TLS 1.3 resumption still does an (EC)DHE exchange (psk_dhe_ke) on both stacks.
    for stack in Stack::ALL {
        let r = counts(*stack, Protocol::Tls13Aes128Gcm, Kind::ResumedTicket);
        assert_eq!(
            (r.client.key_exchanges, r.server.key_exchanges),
            (1, 1),
            "{}",
            stack.label()
        );
    }
}

#[test]
fn explain_without_results_says_what_to_run() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Full);
    let c = measure(s, &pki()).unwrap();
    let est = tlscost::results::criterion::load(dir.path()).unwrap();
    let (ex, missing) =
        tlscost::handshake::explain::explain(s, Side::Server, &c, &est, "openssl", None);
    assert!(ex.is_none());
    assert_eq!(missing.len(), 1);
    assert!(
        missing[0].run.contains("cargo bench --bench handshakes"),
        "{missing:?}"
    );
}
