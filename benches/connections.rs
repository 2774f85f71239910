//! Criterion group `connection`: one new TCP connection, and one new TLS connection of each
//! OpenSSL protocol and kind, on loopback sockets with a non-blocking event loop on both
//! ends; the client's and the server's thread CPU time timed apart. Logic in
//! `tlscost::connection`; every TLS connection is checked on both ends.
//!
//! Then, per TLS scenario and side, `.../<side>/handling`: the connection on sockets minus
//! the in-memory handshake minus TCP set-up, measured interleaved within every sample
//! (`tlscost::connection::HandlingBench`); negative samples count as 1 ns (criterion refuses a zero) and are reported.

use criterion::SamplingMode;
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tlscost::connection::{self, HandlingBench, Layer, Scenario};
use tlscost::error::or_stop;
use tlscost::eventloop::Pki;
use tlscost::fixtures::Fixtures;
use tlscost::handshake::{Pki as HsPki, Side};
use tlscost::names::Dimension;

fn bench(c: &mut Criterion) {
    let pki = or_stop(Fixtures::locate().and_then(|f| Pki::load(&f)));
    let mut g = c.benchmark_group("connection");
    // Wall time per connection exceeds the CPU time criterion sees (each side waits for
    // the other): keep the measurement short so the run stays bounded.
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(1));
    for s in Scenario::all() {
        // Self-check before timing: two connections, each verified on both ends.
        or_stop(connection::run(&pki, &s, 2));
        for side in Side::ALL {
            g.bench_function(s.id(*side).function.as_str(), |b| {
                b.iter_custom(|iters| or_stop(connection::side_cpu(&pki, &s, *side, iters)))
            });
        }
    }
    g.finish();

    // The handling difference: each sample alternates the three parts in batches, so every
    // sample has the same share of each (flat sampling: equal samples, a median over them).
    let hs_pki = or_stop(HsPki::locate());
    // A difference of two near-equal CPU times is noisier than either: 20 samples over 7 s
    // (about 7.5 s a bench, 45 s for the six `make model` runs).
    const SAMPLES: usize = 20;
    let mut g = c.benchmark_group("connection");
    g.sample_size(SAMPLES)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(7));
    for s in Scenario::all() {
        if s.layer == Layer::Tcp {
            continue;
        }
        let mut handling = or_stop(HandlingBench::new(&pki, &hs_pki, s));
        or_stop(handling.check());
        for side in Side::ALL {
            let id = handling.id(*side);
            let mut negatives = connection::handling_negatives();
            g.bench_function(id.function.as_str(), |b| {
                b.iter_custom(|iters| or_stop(handling.sample(*side, iters, &mut negatives)))
            });
            if let Some(say) = negatives.verdict(&id.full(), SAMPLES) {
                eprintln!("{say}");
            }
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
