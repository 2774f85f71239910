//! Criterion group `eventloop` (the paper's Appendix D): the client thread's CPU time per
//! TLS handshake, faulty vs fixed event loop. Logic in `tlscost::eventloop`; every
//! handshake is checked (protocol, cipher, resumed or not, client cert verified or not).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::time::Duration;
use tlscost::eventloop::{self, Pki};
use tlscost::fixtures::Fixtures;

use tlscost::error::or_stop;

fn bench(c: &mut Criterion) {
    let pki = or_stop(Fixtures::locate().and_then(|f| Pki::load(&f)));
    let mut g = c.benchmark_group("eventloop");
    // Wall time per handshake exceeds the CPU time criterion sees (the client waits for the
    // server): keep the measurement short so the run stays bounded.
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_millis(500));
    for s in eventloop::bench_scenarios() {
        let id = s.bench_id();
        // Self-check before timing: two handshakes, each verified on both ends.
        or_stop(eventloop::run_scenario(&pki, &s, 2));
        let param = id.parameter.clone().unwrap_or_default();
        g.bench_function(BenchmarkId::new(id.function.clone(), param), |b| {
            b.iter_custom(|iters| or_stop(eventloop::client_cpu(&pki, &s, iters)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
