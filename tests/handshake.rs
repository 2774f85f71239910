//! Handshake scenarios: every one completes and passes its check, the two stacks talk to each
//! other, a rogue client certificate is refused, and the measured counts follow the scenario.

use std::collections::HashSet;
use tlscost::handshake::count::{measure, OpCounts};
use tlscost::handshake::{
    cross_handshake, setup, verify_facts, Cert, Group, HandshakeBench, Kind, Pki, Protocol,
    ResumedFrom, Scenario, Side, Stack, NONE, TLS13_TICKETS,
};
use tlscost::names::Dimension;
use tlscost::Error;

/// Whether `s` may be unavailable in this build, and why (the system OpenSSL 3.0 has no 3DES
/// suite, no ML-KEM hybrid and cannot prefer psk_ke; the vendored 3.6 has all three).
fn may_be_unavailable(s: &Scenario) -> bool {
    s.stack == Stack::Openssl
        && (s.protocol == Protocol::Tls12Rsa3desSha
            || s.group == Some(Group::X25519Mlkem768)
            || s.kind == Kind::ResumedPskKe)
}

/// The scenarios this build can run.
fn runnable() -> impl Iterator<Item = &'static Scenario> {
    Scenario::ALL.iter().filter(|s| match s.available() {
        Ok(()) => true,
        Err(Error::Unsupported { what, .. }) => {
            assert!(may_be_unavailable(s), "unexpectedly unavailable: {what}");
            assert!(what.contains("OPENSSL=vendored"), "{what}");
            false
        }
        Err(e) => panic!("{e}"),
    })
}

fn pki() -> Pki {
    Pki::locate().expect("committed fixtures load")
}

fn scenario(stack: Stack, protocol: Protocol, kind: Kind) -> Scenario {
    Scenario::new(stack, protocol, kind)
}

#[test]
fn names_are_unique_and_well_formed() {
    let mut seen = HashSet::new();
    for s in Scenario::ALL {
        for side in Side::ALL {
            let id = s.id(*side).full();
            // handshake/stack/protocol[/group][/cert]/kind/side
            let n = id.split('/').count();
            assert_eq!(
                n,
                5 + usize::from(s.group.is_some()) + usize::from(s.cert.is_some()),
                "{id}"
            );
            assert!(id.starts_with("handshake/"), "{id}");
            assert!(seen.insert(id.clone()), "duplicate bench name {id}");
            assert_eq!(Scenario::from_label(&s.label()).unwrap(), *s);
            assert_eq!(Scenario::from_bench_id(&id).unwrap(), (*s, *side));
        }
    }
    assert_eq!(seen.len(), 2 * Scenario::ALL.len());
    // Names of the paper's scenarios: the certificate type is named, the group where there is one.
    let paper = scenario(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Full);
    assert_eq!(
        paper.id(Side::Server).full(),
        "handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/server"
    );
    let resumed = scenario(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::ResumedId);
    assert_eq!(resumed.label(), "openssl/tls12-rsa-aes128-sha/resumed-id");
    let pq = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full)
        .with_group(Some(Group::X25519Mlkem768))
        .with_cert(Some(Cert::EcdsaP256));
    assert_eq!(
        pq.id(Side::Client).full(),
        "handshake/rustls-awslc/tls13-aes128-gcm/x25519mlkem768/ecdsa-p256/full/client"
    );
    assert!(matches!(
        Scenario::from_bench_id("handshake/openssl/tls13-aes128-gcm/x25519/rsa2048/full"),
        Err(Error::Usage(_))
    ));
}

#[test]
fn all_lists_exactly_the_supported_combinations() {
    let groups: Vec<Option<Group>> = Group::ALL.iter().map(|g| Some(*g)).chain([None]).collect();
    let certs: Vec<Option<Cert>> = Cert::ALL.iter().map(|c| Some(*c)).chain([None]).collect();
    let mut want = Vec::new();
    for st in Stack::ALL {
        for p in Protocol::ALL {
            for g in &groups {
                for c in &certs {
                    for k in Kind::ALL {
                        let s = Scenario {
                            stack: *st,
                            protocol: *p,
                            group: *g,
                            cert: *c,
                            kind: *k,
                        };
                        if s.supported().is_ok() {
                            want.push(s);
                        }
                    }
                }
            }
        }
    }
    assert_eq!(Scenario::ALL.to_vec(), want);
    // Every dimension value appears.
    for st in Stack::ALL {
        assert!(Scenario::ALL.iter().any(|s| s.stack == *st));
    }
    for g in Group::ALL {
        assert!(Scenario::ALL.iter().any(|s| s.group == Some(*g)));
    }
    for c in Cert::ALL {
        assert!(Scenario::ALL.iter().any(|s| s.cert == Some(*c)));
    }
    for k in Kind::ALL {
        assert!(Scenario::ALL.iter().any(|s| s.kind == *k));
    }
}

#[test]
fn unsupported_combinations_say_why() {
    let base = |st, p, k| Scenario::new(st, p, k);
    let cases: Vec<(Scenario, &str)> = vec![
        (
            base(Stack::Rustls, Protocol::Tls12RsaAes128Sha, Kind::Full),
            "RSA key transport",
        ),
        (
            base(Stack::Openssl, Protocol::Tls12RsaAes128Sha, Kind::Full)
                .with_group(Some(Group::X25519)),
            "key transport has no key-exchange group",
        ),
        (
            base(Stack::Openssl, Protocol::Tls12EcdheRsaAes128Gcm, Kind::Full).with_group(None),
            "names its key-exchange group",
        ),
        (
            base(
                Stack::Openssl,
                Protocol::Tls12EcdheRsaAes128Gcm,
                Kind::ResumedId,
            )
            .with_group(Some(Group::X25519)),
            "abbreviated handshake does no key exchange",
        ),
        (
            base(Stack::Openssl, Protocol::Tls12EcdheRsaAes128Gcm, Kind::Full)
                .with_group(Some(Group::X25519Mlkem768)),
            "TLS 1.3 group",
        ),
        (
            base(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::Full)
                .with_group(Some(Group::X25519Mlkem768)),
            "ring provider has no ML-KEM",
        ),
        (
            base(Stack::Openssl, Protocol::Tls12EcdheRsaAes128Gcm, Kind::Full)
                .with_cert(Some(Cert::EcdsaP256)),
            "TLS_ECDHE_ECDSA_* needs ECDSA",
        ),
        (
            base(
                Stack::Openssl,
                Protocol::Tls12EcdheEcdsaAes128Gcm,
                Kind::Full,
            )
            .with_cert(Some(Cert::Rsa2048)),
            "TLS_ECDHE_RSA_* need RSA",
        ),
        (
            base(
                Stack::Openssl,
                Protocol::Tls13Aes128Gcm,
                Kind::ResumedTicket,
            )
            .with_cert(Some(Cert::Rsa2048)),
            "no certificate type",
        ),
        (
            base(
                Stack::Openssl,
                Protocol::Tls12EcdheRsaAes128Gcm,
                Kind::FullNoTickets,
            ),
            "TLS 1.3 variant",
        ),
        (
            base(
                Stack::Openssl,
                Protocol::Tls12EcdheRsaAes128Gcm,
                Kind::ResumedPskKe,
            ),
            "TLS 1.3 resumption mode",
        ),
        (
            base(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::ResumedPskKe),
            "only psk_dhe_ke",
        ),
    ];
    for (s, why) in cases {
        let e = s.supported().unwrap_err();
        assert!(e.contains(why), "{s:?}: {e}");
        assert!(!Scenario::ALL.contains(&s), "{s:?}");
        match HandshakeBench::new(s, &pki()) {
            Err(Error::Unsupported { what, .. }) => assert!(what.contains(why), "{what}"),
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("{s:?} is not a combination"),
        }
    }
    assert!(matches!(
        Scenario::from_label("openssl/tls11/full"),
        Err(Error::Usage(_))
    ));
}

/// What the linked OpenSSL can do decides three scenario families; each says why in one line.
#[test]
fn openssl_build_decides_the_hybrid_and_psk_ke() {
    let pq = Scenario::new(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::Full)
        .with_group(Some(Group::X25519Mlkem768));
    let psk_ke = Scenario::new(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::ResumedPskKe);
    let modern = openssl::version::number() >= 0x3050_0000;
    for (s, why) in [(pq, "X25519MLKEM768"), (psk_ke, "psk_ke")] {
        match s.available() {
            Ok(()) => assert!(
                modern,
                "{} runs on {}",
                s.label(),
                openssl::version::version()
            ),
            Err(Error::Unsupported { what, .. }) => {
                assert!(!modern, "{what}");
                assert!(
                    what.contains(why) && what.contains("OPENSSL=vendored"),
                    "{what}"
                );
                assert!(!what.contains('\n'), "one line: {what}");
            }
            Err(e) => panic!("{e}"),
        }
    }
    // rustls on aws-lc-rs runs the hybrid in every build with the awslc feature.
    let pq = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full)
        .with_group(Some(Group::X25519Mlkem768));
    assert_eq!(pq.available().is_ok(), cfg!(feature = "awslc"));
}

#[test]
fn every_scenario_completes_and_passes_its_check() {
    let pki = pki();
    for s in runnable() {
        let mut b = HandshakeBench::new(*s, &pki).unwrap_or_else(|e| panic!("{}: {e}", s.label()));
        let f = b.check().unwrap_or_else(|e| panic!("{e}"));
        let name = s.label();
        assert_eq!(f.version, s.protocol.version(), "{name}");
        assert_eq!(f.client_resumed, s.kind.resumes(), "{name}");
        let group = s.group.map_or(NONE, |g| g.label());
        assert_eq!(
            (f.group.as_str(), f.server_group.as_str()),
            (group, group),
            "{name}"
        );
        if let Some(c) = s.cert {
            assert_eq!(f.server_cert, c.label(), "{name}");
        }
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
    let msg = b"INVITE sip:bob@sip.tlscost.test SIP/2.0\r\n\r\n";
    // Every rustls provider against OpenSSL, both ways, for each ECDHE and TLS 1.3 protocol,
    // group and certificate type both ends can do.
    for s in runnable().filter(|s| s.stack == Stack::Openssl && s.kind == Kind::Mutual) {
        for other in [Stack::Rustls, Stack::RustlsAwslc] {
            let r = Scenario { stack: other, ..*s };
            if r.available().is_err() {
                continue;
            }
            let o = setup(*s, &pki, false).unwrap();
            let r = setup(r, &pki, false).unwrap();
            for (client, server, what) in [
                (
                    &r,
                    &o,
                    format!("{} client -> openssl server", other.label()),
                ),
                (
                    &o,
                    &r,
                    format!("openssl client -> {} server", other.label()),
                ),
            ] {
                let (f, at_server, at_client) =
                    cross_handshake(client.as_ref(), server.as_ref(), msg)
                        .unwrap_or_else(|e| panic!("{what} {}: {e}", s.label()));
                let what = format!("{what} {}", s.label());
                assert_eq!(f.version, s.protocol.version(), "{what}");
                assert_eq!(f.suite, s.protocol.iana_suite(), "{what}");
                assert_eq!(f.server_suite, s.protocol.iana_suite(), "{what}");
                let group = s.group.map_or(NONE, |g| g.label());
                assert_eq!(
                    (f.group.as_str(), f.server_group.as_str()),
                    (group, group),
                    "{what}"
                );
                let cert = s.cert.map_or(NONE, |c| c.label());
                assert_eq!(
                    (f.server_cert.as_str(), f.client_cert.as_str()),
                    (cert, cert),
                    "{what}"
                );
                assert!(
                    f.client_cert_verified,
                    "{what}: client certificate verified"
                );
                assert_eq!(at_server, msg, "{what}: server got the client's data");
                assert_eq!(at_client, msg, "{what}: client got the server's data");
            }
        }
    }
}

/// Each fact the check compares can make it fail: a handshake that negotiated something else
/// than its name says is refused, naming what differs.
#[test]
fn the_check_refuses_every_mismatch() {
    let s = Scenario::new(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::Full);
    let mut b = HandshakeBench::new(s, &pki()).unwrap();
    let good = b.check().unwrap();
    assert_eq!(good.tickets_issued, TLS13_TICKETS);
    verify_facts(&s, &good).unwrap();
    type Spoil = Box<dyn Fn(&mut tlscost::handshake::Facts)>;
    let bad: Vec<(&str, Spoil)> = vec![
        ("TLSv1.2", Box::new(|f| f.version = "TLSv1.2".into())),
        (
            "TLS_AES_256",
            Box::new(|f| f.server_suite = "TLS_AES_256_GCM_SHA384".into()),
        ),
        ("group p256", Box::new(|f| f.group = "p256".into())),
        ("group none", Box::new(|f| f.server_group = NONE.into())),
        (
            "ecdsa-p256 server",
            Box::new(|f| f.server_cert = "ecdsa-p256".into()),
        ),
        (
            "client certificate",
            Box::new(|f| f.client_cert = "rsa2048".into()),
        ),
        ("issued 0", Box::new(|f| f.tickets_issued = 0)),
        ("resumed=true", Box::new(|f| f.client_resumed = true)),
        (
            "stateless ticket",
            Box::new(|f| f.resumed_from = Some(ResumedFrom::Ticket)),
        ),
    ];
    for (says, spoil) in bad {
        let mut f = good.clone();
        spoil(&mut f);
        let e = verify_facts(&s, &f).unwrap_err();
        assert!(
            e.contains(says.split(' ').next_back().unwrap()),
            "{says}: {e}"
        );
    }
    // A resumed scenario must resume from the place its kind names.
    let r = Scenario::new(Stack::Rustls, Protocol::Tls13Aes128Gcm, Kind::ResumedId);
    let mut b = HandshakeBench::new(r, &pki()).unwrap();
    let mut f = b.check().unwrap();
    assert_eq!(f.resumed_from, Some(ResumedFrom::Cache));
    f.resumed_from = Some(ResumedFrom::Ticket);
    assert!(verify_facts(&r, &f).unwrap_err().contains("session cache"));
}

/// TLS 1.3 tickets: the full handshake's server sends TLS13_TICKETS, full-no-tickets none;
/// stateful resumption (tickets off in OpenSSL, a session store without ticketer in rustls)
/// resumes from the cache, stateless from a ticket.
#[test]
fn tls13_tickets_and_resumption_sources() {
    let pki = pki();
    for stack in [Stack::Openssl, Stack::Rustls, Stack::RustlsAwslc] {
        let one = |k| {
            let s = Scenario::new(stack, Protocol::Tls13Aes128Gcm, k);
            let mut b = HandshakeBench::new(s, &pki).unwrap_or_else(|e| panic!("{e}"));
            let check = b.check().unwrap_or_else(|e| panic!("{e}"));
            let o = b.handshake().unwrap();
            (check, o)
        };
        let (full, full_o) = one(Kind::Full);
        let (none, none_o) = one(Kind::FullNoTickets);
        assert_eq!(full.tickets_issued, TLS13_TICKETS, "{stack:?}");
        assert_eq!(none.tickets_issued, 0, "{stack:?}");
        assert!(
            full_o.wire[1].0 > none_o.wire[1].0,
            "{stack:?}: the tickets are bytes the server sends"
        );
        assert_eq!(
            one(Kind::ResumedId).0.resumed_from,
            Some(ResumedFrom::Cache)
        );
        assert_eq!(
            one(Kind::ResumedTicket).0.resumed_from,
            Some(ResumedFrom::Ticket)
        );
    }
}

/// The post-quantum hybrid: its key shares make the ClientHello and the ServerHello about
/// 1.1 KB larger than X25519's (ML-KEM-768: 1,184-byte encapsulation key, 1,088-byte
/// ciphertext), and both ends report the group.
#[test]
fn post_quantum_hybrid_sends_larger_key_shares() {
    let pki = pki();
    for stack in [Stack::RustlsAwslc, Stack::Openssl] {
        let pq = Scenario::new(stack, Protocol::Tls13Aes128Gcm, Kind::Full)
            .with_group(Some(Group::X25519Mlkem768));
        if pq.available().is_err() {
            continue; // the system OpenSSL 3.0; see openssl_build_decides_the_hybrid_and_psk_ke
        }
        let classic = Scenario::new(stack, Protocol::Tls13Aes128Gcm, Kind::Full);
        let bytes = |s: Scenario| {
            let mut b = HandshakeBench::new(s, &pki).unwrap();
            b.check().unwrap();
            b.handshake().unwrap().wire
        };
        let (p, c) = (bytes(pq), bytes(classic));
        let client_more = p[0].0 - c[0].0;
        let server_more = p[1].0 - c[1].0;
        assert!(
            (1100..1300).contains(&client_more),
            "{stack:?}: client +{client_more} B"
        );
        assert!(
            (1000..1200).contains(&server_more),
            "{stack:?}: server +{server_more} B"
        );
    }
}

#[test]
fn rogue_client_certificate_is_refused() {
    let good = pki();
    let rogue = Pki {
        client: good.rogue_client.clone(),
        ecdsa_client: good.rogue_client.clone(),
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
        (Stack::RustlsAwslc, Protocol::Tls12EcdheEcdsaAes128Gcm),
        (Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm),
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
        let kinds: &[Kind] = &[Kind::ResumedId, Kind::ResumedTicket];
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

/// psk_ke resumption does no key exchange on either side (where the OpenSSL can prefer it),
/// psk_dhe_ke does one on each.
#[test]
fn psk_ke_resumes_without_a_key_exchange() {
    let s = scenario(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::ResumedPskKe);
    if s.available().is_err() {
        return; // OpenSSL before 3.3: see openssl_build_decides_the_hybrid_and_psk_ke
    }
    let c = counts(Stack::Openssl, Protocol::Tls13Aes128Gcm, Kind::ResumedPskKe);
    assert_eq!((c.client.key_exchanges, c.server.key_exchanges), (0, 0));
    let mut b = HandshakeBench::new(s, &pki()).unwrap();
    let f = b.check().unwrap();
    assert_eq!((f.group.as_str(), f.server_group.as_str()), (NONE, NONE));
    assert_eq!(f.resumed_from, Some(ResumedFrom::Ticket));
}

/// The counting provider wraps a KEM group without breaking it: the X25519MLKEM768 hybrid on
/// rustls-awslc completes under `counts` (the server encapsulates in one step, which the
/// wrapper must forward), one key exchange per side, and each direction's key share is
/// larger than X25519's by an ML-KEM-768 encapsulation key (1,184 B, client) or
/// ciphertext (1,088 B, server).
#[cfg(feature = "awslc")]
#[test]
fn counting_the_pq_hybrid_keeps_its_key_exchange_and_shows_its_bytes() {
    let pki = pki();
    let hybrid = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full)
        .with_group(Some(Group::X25519Mlkem768));
    let classic = Scenario::new(Stack::RustlsAwslc, Protocol::Tls13Aes128Gcm, Kind::Full);
    let h = measure(hybrid, &pki).unwrap_or_else(|e| panic!("{e}"));
    let c = measure(classic, &pki).unwrap_or_else(|e| panic!("{e}"));
    for side in [Side::Client, Side::Server] {
        assert_eq!(h.side(side).key_exchanges, 1, "{side:?}");
    }
    let sent = |o: &OpCounts, s: Side| o.side(s).wire_bytes_sent as i64;
    assert!(sent(&h, Side::Client) - sent(&c, Side::Client) >= 1184);
    assert!(sent(&h, Side::Server) - sent(&c, Side::Server) >= 1088);
}
