//! The Appendix D event-loop reproduction: counts and kinds, never times.

use tlscost::eventloop::{self, Delay, Loop, Pki, Scenario};
use tlscost::fixtures::Fixtures;
use tlscost::handshake::{Kind, Protocol};
use tlscost::names::Dimension;

/// The tests run one at a time: each starts server threads and sockets, and
/// `everything_shuts_down` counts this process's threads and descriptors.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn pki() -> Pki {
    Pki::load(&Fixtures::locate().expect("fixtures")).expect("PKI loads")
}

fn scenario(protocol: Protocol, kind: Kind, delay: Delay, event_loop: Loop) -> Scenario {
    Scenario {
        protocol,
        kind,
        delay,
        event_loop,
    }
}

#[test]
fn faulty_loop_calls_the_handshake_more_often_than_the_fixed_one() {
    let _serial = serial();
    let pki = pki();
    for kind in [Kind::Full, Kind::Mutual, Kind::ResumedId] {
        let run = |l| {
            eventloop::run_scenario(
                &pki,
                &scenario(Protocol::Tls12RsaAes128Sha, kind, Delay::D1ms, l),
                5,
            )
            .unwrap()
        };
        let (faulty, fixed) = (run(Loop::Faulty), run(Loop::Fixed));
        assert_eq!(faulty.handshakes, 5);
        assert_eq!(fixed.handshakes, 5);
        // With a 1 ms pause before each server flight, a writable-driven loop wakes many
        // times per flight; the fixed loop wakes once per flight it waits for.
        assert!(
            faulty.calls > fixed.calls + 5 * 5,
            "{}: faulty {} calls, fixed {}",
            kind.label(),
            faulty.calls,
            fixed.calls
        );
        assert!(faulty.wakeups > fixed.wakeups);
        // The fixed loop's calls are exactly its wake-ups plus the first call.
        assert_eq!(fixed.calls, fixed.wakeups + fixed.handshakes);
    }
}

#[test]
fn fixed_loop_calls_at_most_once_per_flight() {
    let _serial = serial();
    let pki = pki();
    // TLS 1.2 full: ClientHello; the server's hello flight; its Finished flight. A step can
    // find a flight already there (the client thread was scheduled out meanwhile), so fewer
    // calls are possible; more are not, since OpenSSL writes each flight in one go.
    let full = eventloop::run_scenario(
        &pki,
        &scenario(
            Protocol::Tls12RsaAes128Sha,
            Kind::Full,
            Delay::D100us,
            Loop::Fixed,
        ),
        4,
    )
    .unwrap();
    assert!(full.max_calls <= 3, "{full:?}");
    assert_eq!(full.calls, full.wakeups + full.handshakes, "{full:?}");
    // Resumed: ClientHello; the server's abbreviated flight, after which the client finishes.
    let resumed = eventloop::run_scenario(
        &pki,
        &scenario(
            Protocol::Tls12RsaAes128Sha,
            Kind::ResumedId,
            Delay::D100us,
            Loop::Fixed,
        ),
        4,
    )
    .unwrap();
    assert!(resumed.max_calls <= 2, "{resumed:?}");
    assert_eq!(resumed.calls, resumed.wakeups + resumed.handshakes);
}

#[test]
fn every_kind_is_what_it_claims_on_both_protocols() {
    let _serial = serial();
    // run_scenario checks each handshake on both ends (protocol, cipher, session_reused,
    // client certificate verified) and fails otherwise.
    let pki = pki();
    for protocol in [Protocol::Tls12RsaAes128Sha, Protocol::Tls13Aes128Gcm] {
        for &kind in Kind::ALL {
            if protocol == Protocol::Tls13Aes128Gcm && kind == Kind::ResumedId {
                continue;
            }
            for &l in Loop::ALL {
                let t = eventloop::run_scenario(&pki, &scenario(protocol, kind, Delay::D0, l), 3)
                    .unwrap_or_else(|e| panic!("{} {}: {e}", protocol.label(), kind.label()));
                assert_eq!(t.handshakes, 3);
                assert!(
                    t.calls >= t.handshakes && t.wakeups + t.handshakes <= t.calls,
                    "{} {} {}: {t:?}",
                    protocol.label(),
                    kind.label(),
                    l.label()
                );
            }
        }
    }
}

#[test]
fn fixed_loop_call_bounds_per_kind() {
    let _serial = serial();
    let pki = pki();
    let calls = |kind| {
        eventloop::run_scenario(
            &pki,
            &scenario(Protocol::Tls12RsaAes128Sha, kind, Delay::D0, Loop::Fixed),
            3,
        )
        .unwrap()
        .calls
    };
    // One server flight to wait for instead of two: at most 2 calls each against 3.
    let (resumed, full) = (calls(Kind::ResumedId), calls(Kind::Full));
    assert!(
        resumed <= 2 * 3 && full <= 3 * 3,
        "resumed {resumed}, full {full}"
    );
}

#[test]
fn zero_or_too_many_handshakes_are_refused() {
    let _serial = serial();
    let pki = pki();
    let s = scenario(
        Protocol::Tls12RsaAes128Sha,
        Kind::Full,
        Delay::D0,
        Loop::Fixed,
    );
    assert!(matches!(
        eventloop::run_scenario(&pki, &s, 0),
        Err(tlscost::Error::Usage(_))
    ));
    assert!(matches!(
        eventloop::run_scenario(&pki, &s, eventloop::MAX_HANDSHAKES + 1),
        Err(tlscost::Error::Usage(_))
    ));
}

#[test]
fn everything_shuts_down() {
    let _serial = serial();
    // Threads: every run joins its server thread; after many runs none is left. Only the
    // server threads count (named `tlscost-eventloop-server`, 15 bytes of it in `comm`): the
    // test harness starts a thread for each test that begins meanwhile and waits on SERIAL.
    let pki = pki();
    let threads = || {
        std::fs::read_dir("/proc/self/task")
            .map(|d| {
                d.filter_map(|t| t.ok())
                    .filter(|t| {
                        std::fs::read_to_string(t.path().join("comm"))
                            .is_ok_and(|c| c.starts_with("tlscost-eventlo"))
                    })
                    .count()
            })
            .unwrap_or(0)
    };
    let fds = || {
        std::fs::read_dir("/proc/self/fd")
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let s = scenario(
        Protocol::Tls12RsaAes128Sha,
        Kind::Full,
        Delay::D0,
        Loop::Faulty,
    );
    eventloop::run_scenario(&pki, &s, 1).unwrap();
    let (t0, f0) = (threads(), fds());
    for _ in 0..5 {
        eventloop::run_scenario(&pki, &s, 2).unwrap();
    }
    // The other tests wait on SERIAL, so nothing else opens sockets meanwhile: a leak of
    // one socket per handshake or one thread per run would show.
    assert!(fds() <= f0, "fds {f0} -> {}", fds());
    assert!(threads() <= t0, "threads {t0} -> {}", threads());
}

#[test]
fn report_round_trips_and_wrong_schema_is_refused() {
    let _serial = serial();
    let pki = pki();
    let rows = eventloop::measure(
        &pki,
        &[Protocol::Tls12RsaAes128Sha],
        &[Kind::Full],
        &[Delay::D0],
        2,
        |_| {},
    )
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].event_loop, "faulty");
    assert!(rows[1].saving_pct.is_some());
    let report = eventloop::Report {
        schema: eventloop::SCHEMA.into(),
        unix_time: 0,
        machine: tlscost::machine::Machine::current(),
        rows,
        paper: eventloop::PaperFigures::appendix_d(),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eventloop.json");
    tlscost::fsutil::write_atomic(&path, serde_json::to_string(&report).unwrap().as_bytes())
        .unwrap();
    let back = eventloop::Report::load(&path).unwrap();
    // Floats may lose their last bit in JSON; names and counts must survive exactly.
    assert_eq!(back.rows.len(), report.rows.len());
    for (a, b) in back.rows.iter().zip(&report.rows) {
        assert_eq!(
            (&a.bench, a.handshakes, a.max_calls),
            (&b.bench, b.handshakes, b.max_calls)
        );
        assert!((a.client_cpu_us - b.client_cpu_us).abs() <= 1e-9 * b.client_cpu_us.abs());
    }
    assert_eq!(back.paper, report.paper);
    assert!(back
        .fixed_client_us(Protocol::Tls12RsaAes128Sha, Kind::Full)
        .is_some());
    let wrong = serde_json::to_string(&eventloop::Report {
        schema: "other/9".into(),
        ..report
    })
    .unwrap();
    std::fs::write(&path, wrong).unwrap();
    assert!(matches!(
        eventloop::Report::load(&path),
        Err(tlscost::Error::Results { .. })
    ));
    std::fs::write(&path, "{\"schema\":").unwrap();
    assert!(matches!(
        eventloop::Report::load(&path),
        Err(tlscost::Error::Results { .. })
    ));
}

#[test]
fn bench_names_are_unique_and_well_formed() {
    let _serial = serial();
    let names: Vec<String> = eventloop::bench_scenarios()
        .iter()
        .map(|s| s.bench_id().full())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
    assert!(names.contains(&"eventloop/fixed/tls12-rsa-aes128-sha/full/0ms".to_string()));
    assert!(Delay::from_label("delay", "2ms").is_err());
}
