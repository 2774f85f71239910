//! Per-connection components on sockets: every scenario runs, both sides are timed and
//! checked (version, cipher, resumption, client certificate), and bad input is refused.
//! No timing is asserted.

use tlscost::connection::{self, Scenario};
use tlscost::eventloop::Pki;
use tlscost::fixtures::Fixtures;
use tlscost::handshake::{Kind, Protocol, Side};
use tlscost::names::Dimension;

fn pki() -> Pki {
    Pki::load(&Fixtures::locate().unwrap()).unwrap()
}

#[test]
fn every_scenario_runs_and_times_both_sides() {
    let pki = pki();
    let all = Scenario::all();
    // TCP plus every OpenSSL protocol and kind this build has (3DES only when vendored).
    assert!(all.len() >= 12, "{}", all.len());
    for s in &all {
        let t = connection::run(&pki, s, 3).unwrap_or_else(|e| panic!("{:?}: {e}", s));
        assert_eq!(t.connections, 3);
        for side in Side::ALL {
            assert!(t.cpu(*side) > std::time::Duration::ZERO, "{:?} {side:?}", s);
        }
    }
}

#[test]
fn names_are_unique_and_follow_the_dimensions() {
    let mut names = std::collections::BTreeSet::new();
    for s in Scenario::all() {
        for side in Side::ALL {
            assert!(names.insert(s.id(*side).full()));
        }
    }
    assert!(names.contains("connection/tcp/server"));
    assert!(names.contains("connection/openssl/tls12-rsa-aes128-sha/resumed-id/client"));
    assert!(names.contains("connection/openssl/tls13-aes128-gcm/resumed-ticket/server"));
}

#[test]
fn impossible_scenarios_and_sizes_are_refused() {
    let e = Scenario::tls(Protocol::Tls13Aes128Gcm, Kind::ResumedId)
        .unwrap_err()
        .to_string();
    assert!(e.contains("session-id"), "{e}");
    let pki = pki();
    let e = connection::run(&pki, &Scenario::TCP, 0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("connections per run"), "{e}");
}

/// The interleaved handling bench: its self-check passes for the scenarios the model reads,
/// each part of a sample is timed (all three non-zero), and TCP is refused.
#[test]
fn handling_bench_checks_and_times_its_three_parts() {
    use tlscost::connection::HandlingBench;
    use tlscost::handshake::Pki as HsPki;
    let pki = pki();
    let hs_pki = HsPki::locate().unwrap();
    for kind in [Kind::Full, Kind::Mutual, Kind::ResumedId] {
        let s = Scenario::tls(Protocol::Tls12RsaAes128Sha, kind).unwrap();
        let mut h = HandlingBench::new(&pki, &hs_pki, s).unwrap();
        h.check().unwrap_or_else(|e| panic!("{kind:?}: {e}"));
        for side in Side::ALL {
            // Two batches (one in each order).
            let p = h
                .parts(*side, tlscost::connection::HANDLING_BATCH + 1)
                .unwrap();
            assert!(
                p.sockets > std::time::Duration::ZERO
                    && p.in_memory > std::time::Duration::ZERO
                    && p.tcp > std::time::Duration::ZERO,
                "{kind:?} {side:?}: {p:?}"
            );
            assert_eq!(
                h.id(*side).full(),
                format!(
                    "connection/openssl/tls12-rsa-aes128-sha/{}/{}/handling",
                    kind.label(),
                    side.label()
                )
            );
        }
    }
    let e = HandlingBench::new(&pki, &hs_pki, Scenario::TCP)
        .err()
        .expect("TCP refused")
        .to_string();
    assert!(e.contains("TLS connections, not TCP"), "{e}");
}
