//! Criterion group `connection`: one new TCP connection, and one new TLS connection of each
//! OpenSSL protocol and kind, on loopback sockets with a non-blocking event loop on both
//! ends; the client's and the server's thread CPU time timed apart. Logic in
//! `tlscost::connection`; every TLS connection is checked on both ends.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::Duration;
use tlscost::connection::{self, Scenario};
use tlscost::error::or_stop;
use tlscost::eventloop::Pki;
use tlscost::fixtures::Fixtures;
use tlscost::handshake::Side;
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
