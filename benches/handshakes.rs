//! Criterion group `handshake`: every scenario of `tlscost::handshake::Scenario::ALL`, client
//! side and server side timed apart (only the measured side's calls are on the clock).
//! The logic lives in `src/handshake/`; this file only hands it to criterion.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tlscost::handshake::{HandshakeBench, Pki, Scenario, Side, RUSTLS_NO_RSA_KX, TLS13_TICKETS};
use tlscost::names::Dimension;

use tlscost::error::stop;

fn handshakes(c: &mut Criterion) {
    let pki = Pki::locate().unwrap_or_else(|e| stop(e));
    eprintln!("note: {RUSTLS_NO_RSA_KX}");
    // Said once, when the first TLS 1.3 bench criterion's filter selected runs.
    let tls13_note = std::sync::Once::new();
    let mut group = c.benchmark_group("handshake");
    let mut skipped = std::collections::BTreeSet::new();
    for scenario in Scenario::ALL {
        // Configurations built, keys warmed and the session primed once per scenario; then
        // the handshake is checked before anything is timed.
        // A scenario this build cannot run (3DES, the ML-KEM hybrid and psk_ke on the system
        // OpenSSL) is skipped with one line per reason.
        if let Err(tlscost::Error::Unsupported { what, .. }) = scenario.available() {
            let why = what
                .split_once(": ")
                .map_or(what.clone(), |(_, w)| w.to_string());
            if skipped.insert(why.clone()) {
                eprintln!("skipped: {why} (first: {})", scenario.label());
            }
            continue;
        }
        let mut bench = HandshakeBench::new(*scenario, &pki).unwrap_or_else(|e| stop(e));
        bench.check().unwrap_or_else(|e| stop(e));
        for side in Side::ALL {
            let id = scenario.id(*side);
            group.bench_function(id.function.as_str(), |b| {
                b.iter_custom(|iters| {
                    if scenario.protocol.tls13() {
                        tls13_note.call_once(|| eprintln!(
                            "note: TLS 1.3 full and mutual handshakes include the server's {TLS13_TICKETS} session tickets (both stacks' default); full-no-tickets sends none"
                        ));
                    }
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += bench.run_once(*side).unwrap_or_else(|e| stop(e));
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    // Small samples: the ~200 benches must finish a `--quick` run in a few minutes.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    targets = handshakes
}
criterion_main!(benches);
