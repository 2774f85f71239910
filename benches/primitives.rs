//! Criterion benches of the crypto primitives: groups `rsa`, `cipher`, `mac`, `record`.
//!
//! Thin: the cases, their names and their self-checks live in `tlscost::crypto::cases`.
//! Each case is set up and checked once, on its first call, before anything is timed; a
//! failed check prints an error naming the bench and exits non-zero.

use criterion::{BenchmarkId, Criterion, Throughput};
use std::collections::BTreeSet;
use std::time::Duration;
use tlscost::crypto::cases::{self, Case, Group};
use tlscost::fixtures::Fixtures;
use tlscost::names::Dimension;

use tlscost::cputime;
use tlscost::error::stop;

fn main() {
    let fx = Fixtures::locate().unwrap_or_else(|e| stop(e));
    // Small samples: the whole quick run (`-- --quick`) has to fit in a few minutes even on
    // a busy 2-core machine. Quick mode stops a bench once two estimates agree within the
    // significance level (10%), after at least 0.1 s and at most the measurement time.
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(500))
        .significance_level(0.1)
        .nresamples(10_000)
        .without_plots()
        .configure_from_args();
    let mut noted = BTreeSet::new();
    for &group in Group::ALL {
        let plan = cases::plan(group, &fx).unwrap_or_else(|e| stop(e));
        for s in &plan.skipped {
            eprintln!("skipped {}: {}", s.what, s.why);
        }
        let mut g = c.benchmark_group(group.label());
        for spec in plan.cases {
            if let Some(n) = spec.bytes {
                g.throughput(Throughput::Bytes(n));
            }
            let param = spec.id.parameter.clone().unwrap_or_default();
            let mut case: Option<Box<dyn Case>> = None;
            g.bench_function(BenchmarkId::new(spec.id.function.clone(), param), |b| {
                if case.is_none() {
                    if let Some(note) = spec.note {
                        if noted.insert(note) {
                            eprintln!("{note}");
                        }
                    }
                    case = Some(spec.build().unwrap_or_else(|e| stop(e)));
                }
                let Some(run) = case.as_mut() else {
                    return;
                };
                // Cases with untimed work between iterations (libssl record open) time themselves.
                if run.batched() {
                    b.iter_custom(|iters| run.timed(iters).unwrap_or_else(|e| stop(e)));
                    return;
                }
                // CPU time of this thread: other programs taking the CPU do not count.
                b.iter_custom(|iters| {
                    cputime::measure(iters, || run.run()).unwrap_or_else(|e| {
                        stop(format!(
                            "{}: a timed iteration failed after the self-check passed: {e}",
                            spec.id
                        ))
                    })
                });
            });
        }
        g.finish();
    }
    c.final_summary();
}
