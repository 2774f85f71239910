//! Criterion benches of the transport components and the base (logic in `tlscost::transport`),
//! and the model's transport differences measured interleaved (`transport/tcp-extra/...`,
//! `base/auth-udp/...`, `base/auth-tcp/...`).
//! Each bench runs its self-check first; a failed check stops the run naming the bench.
//! Every figure is CPU time of the measuring thread (`tlscost::cputime`), so other load on
//! the machine does not inflate it.

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};
use std::hint::black_box;
use std::time::Duration;
use tlscost::fixtures::Fixtures;
use tlscost::names::Dimension;
use tlscost::transport::{
    self, BaseFlow, CallFlows, ConnectAccept, Difference, DifferenceBench, TcpPair, UdpPair,
};

use tlscost::cputime;
use tlscost::error::or_stop;

fn send_recv(c: &mut Criterion) {
    let corpus = or_stop(Fixtures::locate().and_then(|f| f.flows()));
    let messages = corpus.unique_messages();
    let mut udp = or_stop(UdpPair::new());
    let mut tcp = or_stop(TcpPair::new());
    for (proto, id_of) in [
        ("udp", transport::udp_send_recv_id as fn(&str) -> _),
        ("tcp", transport::tcp_send_recv_id),
    ] {
        let probe = id_of("x");
        let mut g = c.benchmark_group(probe.group);
        g.warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(1));
        for m in &messages {
            let id = id_of(&m.name);
            let param = id.parameter.clone().unwrap_or_default();
            g.throughput(Throughput::Bytes(m.bytes.len() as u64));
            if proto == "udp" {
                or_stop(udp.check(&id.full(), &m.bytes));
                g.bench_function(BenchmarkId::new(id.function.clone(), param), |b| {
                    b.iter_custom(|iters| {
                        or_stop(cputime::measure(iters, || {
                            udp.send_recv(black_box(&m.bytes)).map(|r| r.len())
                        }))
                    })
                });
            } else {
                or_stop(tcp.check(&id.full(), &m.bytes));
                g.bench_function(BenchmarkId::new(id.function.clone(), param), |b| {
                    b.iter_custom(|iters| {
                        or_stop(cputime::measure(iters, || {
                            tcp.send_recv(black_box(&m.bytes)).map(|r| r.len())
                        }))
                    })
                });
            }
        }
        g.finish();
    }
}

fn connect_accept(c: &mut Criterion) {
    let ca = or_stop(ConnectAccept::new());
    let (connect, accept) = (transport::tcp_connect_id(), transport::tcp_accept_id());
    or_stop(ca.check(&connect.full()));
    let mut g = c.benchmark_group(connect.group);
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    g.bench_function(connect.function.clone(), |b| {
        b.iter_custom(|iters| or_stop(cputime::sum(iters, || ca.connect_timed())))
    });
    g.bench_function(accept.function.clone(), |b| {
        b.iter_custom(|iters| or_stop(cputime::sum(iters, || ca.accept_timed())))
    });
    g.finish();
}

fn base(c: &mut Criterion) {
    let corpus = or_stop(Fixtures::locate().and_then(|f| f.flows()));
    let mut g = c.benchmark_group("base");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    for flow in BaseFlow::ALL {
        let id = or_stop(corpus.flow(flow.flow_name()).map(transport::base_bench_id));
        let mut call = or_stop(flow.setup(&corpus));
        or_stop(call.check(&id.full()));
        g.bench_function(id.function.clone(), |b| {
            b.iter_custom(|iters| or_stop(cputime::sum(iters, || call.run_call())))
        });
    }
    g.finish();
}

/// The model's transport differences (TCP over UDP, the challenged call over the basic one),
/// each measured as one bench whose parts alternate within every sample.
fn differences(c: &mut Criterion) {
    let corpus = or_stop(Fixtures::locate().and_then(|f| f.flows()));
    let (basic, auth) = or_stop(
        corpus
            .flow("basic")
            .and_then(|b| Ok((b, corpus.flow("auth")?))),
    );
    let flows = CallFlows { basic, auth };
    // A difference of near-equal CPU times is noisier than either: 20 equal samples.
    const SAMPLES: usize = 20;
    for d in Difference::ALL {
        let mut bench = or_stop(DifferenceBench::new(*d, flows));
        or_stop(bench.check());
        let id = bench.id().clone();
        let mut negatives = bench.negatives();
        let mut g = c.benchmark_group(id.group);
        g.sample_size(SAMPLES)
            .sampling_mode(SamplingMode::Flat)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(3));
        g.bench_function(id.function.as_str(), |b| {
            b.iter_custom(|iters| or_stop(bench.sample(iters, &mut negatives)))
        });
        g.finish();
        if let Some(say) = negatives.verdict(&id.full(), SAMPLES) {
            eprintln!("{say}");
        }
    }
}

/// The base's SIP parser alone, per message of the flow (what part of the base is parsing).
fn parse(c: &mut Criterion) {
    let corpus = or_stop(Fixtures::locate().and_then(|f| f.flows()));
    let probe = transport::sip_parse_id("x");
    let mut g = c.benchmark_group(probe.group);
    g.warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(500));
    for m in corpus.unique_messages() {
        let id = transport::sip_parse_id(&m.name);
        or_stop(transport::check_parse(&id.full(), &m.bytes));
        g.throughput(Throughput::Bytes(m.bytes.len() as u64));
        let param = id.parameter.clone().unwrap_or_default();
        g.bench_function(BenchmarkId::new(id.function.clone(), param), |b| {
            b.iter(|| black_box(tlscost::sip::parse(black_box(&m.bytes)).map(|p| p.headers.len())))
        });
    }
    g.finish();
}

criterion_group!(benches, send_recv, connect_accept, base, differences, parse);
criterion_main!(benches);
