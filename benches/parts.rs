//! Criterion benches of the handshake's parts: groups `x509`, `conn`, `kx`, `kdf`,
//! `transcript`, and `rsa/ring/*`.
//!
//! Thin: the cases, their names and their self-checks live in `tlscost::handshake::parts`.
//! Each case is set up and checked on its first call, before anything is timed; a failed
//! check prints an error naming the bench and exits non-zero.

use criterion::Criterion;
use std::rc::Rc;
use std::time::Duration;
use tlscost::error::stop;
use tlscost::fixtures::Fixtures;
use tlscost::handshake::{parts, Pki};

fn main() {
    let fx = Fixtures::locate().unwrap_or_else(|e| stop(e));
    let pki = Rc::new(Pki::load(&fx).unwrap_or_else(|e| stop(e)));
    let rsa = Rc::new(
        fx.rsa_key(parts::RING_RSA_BITS)
            .unwrap_or_else(|e| stop(e))
            .pem,
    );
    // Small samples, as the primitives: `make anatomy` runs these in quick mode.
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(500))
        .significance_level(0.1)
        .without_plots()
        .configure_from_args();
    let plan = parts::plan(pki, rsa);
    for s in &plan.skipped {
        eprintln!("skipped {}: {}", s.what, s.why);
    }
    for spec in plan.cases {
        let mut g = c.benchmark_group(spec.id.group);
        let name = match &spec.id.parameter {
            Some(p) => format!("{}/{p}", spec.id.function),
            None => spec.id.function.clone(),
        };
        let mut case = None;
        g.bench_function(name, |b| {
            let run = case.get_or_insert_with(|| spec.build().unwrap_or_else(|e| stop(e)));
            b.iter_custom(|iters| run.timed(iters).unwrap_or_else(|e| stop(e)));
        });
        g.finish();
    }
    c.final_summary();
}
