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
