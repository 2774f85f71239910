//! The per-call model's arithmetic on synthetic criterion outputs (known inputs, known
//! per-call outputs), its error paths, the results file, and `tlscost model --json`
//! against its schema. No timing is asserted: every number here is made up.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tlscost::crypto::Backend;
use tlscost::fixtures::{Direction, Fixtures, Legs, SipFlow, SipMessage};
use tlscost::handshake::{Kind, Protocol, Scenario, Side as HsSide, Stack};
use tlscost::machine::Machine;
use tlscost::model::components::Estimates;
use tlscost::model::configs::{Config, ProxyMode};
use tlscost::model::paper::Paper;
use tlscost::model::{build, Flows, ModelOptions, ModelOutput};
use tlscost::names::Dimension;
use tlscost::results::{criterion, ResultsFile, SCHEMA_VERSION};
use tlscost::transport::Difference;
use tlscost::Error;

/// Writes one estimate in criterion's layout (`<dir>/<id with _>/new/*.json`).
fn write_estimate(dir: &Path, id: &str, median_ns: f64, half_ci: f64) {
    // Criterion's layout: <group>/<function with '/' as '_'>/<parameter>/new, and a
    // `base/` beside `new/` holding the previous run (to be ignored).
    let parts: Vec<&str> = id.split('/').collect();
    let mut bench_dir = dir.join(parts[0]);
    if parts.len() > 2 {
        bench_dir = bench_dir
            .join(parts[1..parts.len() - 1].join("_"))
            .join(parts[parts.len() - 1]);
    } else {
        bench_dir = bench_dir.join(parts[1]);
    }
    let new = bench_dir.join("new");
    std::fs::create_dir_all(&new).unwrap();
    let bench = json!({"group_id": id.split('/').next().unwrap(), "function_id": null,
        "value_str": null, "throughput": null, "full_id": id, "directory_name": id});
    let pe = |v: f64| {
        json!({"point_estimate": v, "standard_error": 1.0,
        "confidence_interval": {"confidence_level": 0.95,
            "lower_bound": v * (1.0 - half_ci), "upper_bound": v * (1.0 + half_ci)}})
    };
    let est = json!({"mean": pe(median_ns), "median": pe(median_ns),
        "median_abs_dev": pe(1.0), "slope": null, "std_dev": pe(1.0)});
    let sample =
        json!({"sampling_mode": "Linear", "iters": vec![1.0; 10], "times": vec![median_ns; 10]});
    std::fs::write(new.join("benchmark.json"), bench.to_string()).unwrap();
    std::fs::write(new.join("estimates.json"), est.to_string()).unwrap();
    std::fs::write(new.join("sample.json"), sample.to_string()).unwrap();
    // A previous run with another value: must not be read.
    let base = bench_dir.join("base");
    std::fs::create_dir_all(&base).unwrap();
    let old = json!({"median": pe(median_ns * 7.0)});
    std::fs::write(base.join("benchmark.json"), bench.to_string()).unwrap();
    std::fs::write(base.join("estimates.json"), old.to_string()).unwrap();
}

fn msg(name: &str, direction: Direction, legs: Legs) -> SipMessage {
    SipMessage {
        name: name.into(),
        path: PathBuf::from(format!("{name}.sip")),
        bytes: vec![b'x'; 500],
        direction,
        legs,
    }
}

/// Basic flow: `a` (caller to callee), `b` (back), both legs. Auth flow: `c` from the
/// caller and `d` back to it on the left leg only, then `a`, `b`.
fn toy_flows() -> Flows {
    use Direction::*;
    Flows {
        basic: SipFlow {
            name: "basic".into(),
            set: None,
            messages: vec![
                msg("a", UacToUas, Legs::Both),
                msg("b", UasToUac, Legs::Both),
            ],
        },
        auth: SipFlow {
            name: "auth".into(),
            set: None,
            messages: vec![
                msg("c", UacToUas, Legs::Left),
                msg("d", UasToUac, Legs::Left),
                msg("a", UacToUas, Legs::Both),
                msg("b", UasToUac, Legs::Both),
            ],
        },
    }
}

/// The toy record prices (ns): every term distinct, so that a swapped or misattributed term
/// changes the answer. Open and seal differ, and not by a constant (open(c) + seal(d) is not
/// seal(c) + open(d)); 3DES differs from AES; rustcrypto costs twice openssl, awslc three
/// times (and has no 3DES). In µs for openssl: AES open a 1, b 2, c 3, d 4, seal a 5, b 6,
/// c 7, d 9; 3DES open 10, 11, 12, 14, seal 20, 22, 24, 27.
fn record_ns(backend: &str, suite: &str, op: &str, message: &str) -> Option<f64> {
    // Other message names (the fixtures' flows) take one of the four price rows.
    let i = ["a", "b", "c", "d"]
        .iter()
        .position(|&m| m == message)
        .unwrap_or(message.len() % 4);
    let us = match (suite, op) {
        ("aes128-sha", "open") => [1.0, 2.0, 3.0, 4.0],
        ("aes128-sha", "seal") => [5.0, 6.0, 7.0, 9.0],
        ("3des-sha", "open") => [10.0, 11.0, 12.0, 14.0],
        ("3des-sha", "seal") => [20.0, 22.0, 24.0, 27.0],
        ("aes128-gcm", "open") => [30.0, 31.0, 33.0, 36.0],
        ("aes128-gcm", "seal") => [40.0, 42.0, 45.0, 49.0],
        _ => return None,
    }[i];
    let factor = match (backend, suite) {
        ("openssl", _) => 1.0,
        ("rustcrypto", _) => 2.0,
        ("awslc", "aes128-sha" | "aes128-gcm") => 3.0,
        _ => return None,
    };
    Some(us * factor * 1000.0)
}

/// The synthetic estimates (ns) for a set of message names.
fn toy_estimates(messages: &[&str]) -> BTreeMap<String, f64> {
    let mut e = BTreeMap::new();
    e.insert("base/udp-proxy/call-basic".to_string(), 10_000.0);
    e.insert("base/udp-proxy/call-auth".to_string(), 14_000.0);
    for m in messages {
        e.insert(format!("transport/udp/send-recv/sip-{m}"), 2_000.0);
        e.insert(format!("transport/tcp/send-recv/sip-{m}"), 5_000.0);
        for backend in ["openssl", "rustcrypto", "awslc"] {
            for op in ["open", "seal"] {
                for suite in ["aes128-sha", "3des-sha", "aes128-gcm"] {
                    if let Some(ns) = record_ns(backend, suite, op, m) {
                        e.insert(format!("record/{backend}/{suite}/{op}/sip-{m}"), ns);
                    }
                }
            }
        }
    }
    e.insert("transport/tcp/connect/client".to_string(), 20_000.0);
    e.insert("transport/tcp/accept/server".to_string(), 30_000.0);
    // On sockets: TCP set-up, and TLS connections costing exactly their TCP set-up plus
    // the OpenSSL in-memory handshake (no handling beyond it: the handling bench reads 0).
    e.insert("connection/tcp/client".to_string(), 20_000.0);
    e.insert("connection/tcp/server".to_string(), 30_000.0);
    for (stack, proto) in [
        (Stack::Openssl, Protocol::Tls12RsaAes128Sha),
        (Stack::Openssl, Protocol::Tls12EcdheRsaAes128Gcm),
        (Stack::Rustls, Protocol::Tls12EcdheRsaAes128Gcm),
    ] {
        let scale = if stack == Stack::Rustls { 2.0 } else { 1.0 };
        for (kind, c, s) in [
            (Kind::Full, 100_000.0, 200_000.0),
            (Kind::Mutual, 150_000.0, 300_000.0),
            (Kind::ResumedId, 40_000.0, 50_000.0),
            (Kind::ResumedTicket, 45_000.0, 55_000.0),
        ] {
            let sc = Scenario::new(stack, proto, kind);
            e.insert(sc.id(HsSide::Client).full(), c * scale);
            e.insert(sc.id(HsSide::Server).full(), s * scale);
            if stack == Stack::Openssl {
                use tlscost::names::Dimension;
                let (proto, kind) = (proto.label(), kind.label());
                e.insert(
                    format!("connection/openssl/{proto}/{kind}/client/handling"),
                    0.0,
                );
                e.insert(
                    format!("connection/openssl/{proto}/{kind}/server/handling"),
                    0.0,
                );
            }
        }
    }
    with_differences(e)
}

/// Adds the transport differences the model reads (`transport/tcp-extra/...`,
/// `base/auth-udp/...`, `base/auth-tcp/...`), each the weighted sum of its parts' estimates,
/// for the toy flows and the fixtures' flows, where every part has an estimate (as if the
/// interleaved bench measured exactly what its parts measure apart).
fn with_differences(mut e: BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let fixtures = Flows::from_fixtures(&Fixtures::locate().unwrap()).unwrap();
    for flows in [toy_flows(), fixtures] {
        for d in Difference::ALL {
            let terms = d.bench_terms(flows.call_flows());
            let ns: Option<f64> = terms.iter().map(|(b, w)| e.get(b).map(|v| w * v)).sum();
            if let Some(ns) = ns {
                e.insert(d.id(flows.call_flows()).full(), ns);
            }
        }
    }
    e
}

fn write_all(dir: &Path, est: &BTreeMap<String, f64>, half_ci: f64) {
    for (id, v) in est {
        write_estimate(dir, id, *v, half_ci);
    }
}

fn load(dir: &Path) -> Estimates {
    Estimates {
        map: criterion::load(dir).unwrap(),
        source: dir.to_path_buf(),
    }
}

fn paper() -> Paper {
    Paper::locate().expect("results/paper.json loads")
}

/// The model of `est` (ns per bench) on the toy flows, through a criterion directory.
fn model_on(opts: &ModelOptions, est: &BTreeMap<String, f64>) -> tlscost::Result<ModelOutput> {
    let tmp = TempDir::new().unwrap();
    write_all(tmp.path(), est, 0.01);
    build(opts, &toy_flows(), &load(tmp.path()), &paper())
}

fn toy_model(opts: &ModelOptions) -> ModelOutput {
    model_on(opts, &toy_estimates(&["a", "b", "c", "d"])).unwrap()
}

fn us(m: &ModelOutput, name: &str) -> f64 {
    m.configurations
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no configuration {name}"))
        .us
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9 * b.abs().max(1.0)
}

#[test]
fn known_inputs_give_known_per_call_costs() {
    let m = toy_model(&ModelOptions::default());
    // base 10; TCP extra 2 x (5 - 2) = 6; AES bulk open a + b (1 + 2) + seal a + b (5 + 6)
    // = 14; 3DES 10 + 11 + 20 + 22 = 63.
    let expect = [
        ("proxy-chain/udp", 10.0),
        ("proxy-chain/tcp", 16.0),
        ("proxy-chain/tls-aes", 10.0 + 6.0 + 14.0),
        ("proxy-chain/tls-3des", 10.0 + 6.0 + 63.0),
        // auth over UDP: call-auth - call-basic = 4.
        ("proxy-chain-auth/udp", 14.0),
        // auth over TCP adds the two left-leg messages at half a send+receive: 4 + 3.
        ("proxy-chain-auth/tcp", 23.0),
        // auth over TLS adds c's open (3) and d's seal (9): 23 + 14 + 12.
        ("proxy-chain-auth/tls-aes", 23.0 + 14.0 + 3.0 + 9.0),
        // 3DES: 23 + 63 + open c 12 + seal d 27.
        ("proxy-chain-auth/tls-3des", 23.0 + 63.0 + 12.0 + 27.0),
        // outbound: auth base 14, TCP 9, AES bulk 26, TCP accept 30 + TLS server full 200.
        ("outbound-auth/tls", 14.0 + 9.0 + 26.0 + 30.0 + 200.0),
        ("outbound-auth/tcp", 10.0 + 7.0 + 6.0 + 30.0),
        // inbound: TCP connect 20 + TLS client mutual 150.
        ("inbound/tls-mutual", 10.0 + 6.0 + 14.0 + 20.0 + 150.0),
        // local: both sides, resumed by session id (40 client + 50 server).
        (
            "local-auth/tls-resumed",
            14.0 + 9.0 + 26.0 + 20.0 + 30.0 + 40.0 + 50.0,
        ),
    ];
    for (name, want) in expect {
        assert!(
            close(us(&m, name), want),
            "{name}: {} != {want}",
            us(&m, name)
        );
    }
    assert_eq!(m.configurations.len(), 20);
    assert!(close(m.base_us, 10.0));
}

#[test]
fn normalization_and_throughput() {
    let m = toy_model(&ModelOptions::default());
    for c in &m.configurations {
        assert!(close(c.units, c.us / 10.0), "{}", c.name);
        assert!(close(c.calls_per_s, 1e6 / c.us), "{}", c.name);
        let parts: f64 = c.parts.iter().map(|p| p.us).sum();
        assert!(close(parts, c.us), "{}: parts {parts} != {}", c.name, c.us);
        assert!(c.lower_us <= c.us && c.us <= c.upper_us, "{}", c.name);
    }
    let base = m.components.iter().find(|c| c.id == "udp-base").unwrap();
    assert_eq!(base.units, Some(1.0));
    // Ratio to the configuration the paper compares with: TCP vs UDP = 10 / 16.
    let tcp = m
        .configurations
        .iter()
        .find(|c| c.name == "proxy-chain/tcp")
        .unwrap();
    let r = tcp.ratio.as_ref().unwrap();
    assert_eq!(r.to, "proxy-chain/udp");
    assert!(close(r.ours, 10.0 / 16.0));
    assert_eq!(r.paper, Some(0.47));
}

#[test]
fn local_equals_inbound_plus_outbound_components() {
    let m = toy_model(&ModelOptions::default());
    assert_eq!(m.local_prediction.len(), 4);
    for l in &m.local_prediction {
        assert!(close(l.ours_direct, l.ours_predicted), "{}", l.name);
        let c = Config::from_name(&l.name).unwrap();
        assert_eq!(c.mode, ProxyMode::Local);
        let out = us(&m, &c.in_mode(ProxyMode::Outbound, true).name());
        let inb = us(&m, &c.in_mode(ProxyMode::Inbound, false).name());
        let chain = us(&m, &c.in_mode(ProxyMode::ProxyChain, false).name());
        assert!(
            close(l.ours_direct * m.base_us, out + inb - chain),
            "{}",
            l.name
        );
    }
    // The paper's derived prediction: 1470 + 1315 - 450 (TLS) over 144.
    let tls = m
        .local_prediction
        .iter()
        .find(|l| l.name == "local-auth/tls")
        .unwrap();
    assert!(close(
        tls.paper_predicted.unwrap(),
        (1470.0 + 1315.0 - 450.0) / 144.0
    ));
    assert!(close(tls.paper_measured.unwrap(), 2400.0 / 144.0));
}

#[test]
fn auth_lookup_and_base_override_are_inputs() {
    let m = toy_model(&ModelOptions {
        auth_us: 5.0,
        ..ModelOptions::default()
    });
    assert!(close(us(&m, "proxy-chain-auth/udp"), 19.0));
    assert!(close(us(&m, "proxy-chain/udp"), 10.0));
    assert!(m.notes.iter().any(|n| n.contains("--auth-us = 5")));

    let m = toy_model(&ModelOptions {
        base_udp_us: Some(20.0),
        ..ModelOptions::default()
    });
    assert!(close(m.base_us, 20.0));
    let tcp = m
        .configurations
        .iter()
        .find(|c| c.name == "proxy-chain/tcp")
        .unwrap();
    assert!(close(tcp.us, 26.0));
    assert!(close(tcp.units, 26.0 / 20.0));
    assert!(m.notes.iter().any(|n| n.contains("--base-udp-us")));
}

#[test]
fn bad_base_udp_us_is_refused() {
    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e9] {
        let opts = ModelOptions {
            base_udp_us: Some(bad),
            ..ModelOptions::default()
        };
        match opts.validate() {
            Err(Error::Usage(msg)) => assert!(msg.contains("--base-udp-us"), "{msg}"),
            other => panic!("{bad}: expected a usage error, got {other:?}"),
        }
    }
    for bad in [-1.0, f64::NAN] {
        let opts = ModelOptions {
            auth_us: bad,
            ..ModelOptions::default()
        };
        assert!(matches!(opts.validate(), Err(Error::Usage(m)) if m.contains("--auth-us")));
    }
    let textbook = ModelOptions {
        backend: Backend::TextbookCrt,
        ..ModelOptions::default()
    };
    assert!(matches!(textbook.validate(), Err(Error::Usage(m)) if m.contains("textbook-crt")));
}

#[test]
fn a_missing_estimate_names_the_bench_to_run() {
    let mut est = toy_estimates(&["a", "b", "c", "d"]);
    est.remove("handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/client");
    let err = model_on(&ModelOptions::default(), &est).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Results { .. }), "{err:?}");
    assert!(
        text.contains("no estimate for handshake/openssl/tls12-rsa-aes128-sha/rsa2048/full/client"),
        "{text}"
    );
    assert!(text.contains("cargo bench --bench handshakes"), "{text}");

    let mut est = toy_estimates(&["a", "b", "c", "d"]);
    est.remove("record/openssl/3des-sha/seal/sip-b");
    let err = model_on(&ModelOptions::default(), &est).unwrap_err();
    assert!(
        err.to_string()
            .contains("record/openssl/3des-sha/seal/sip-b"),
        "{err}"
    );
    assert!(err.to_string().contains("--bench primitives"), "{err}");
}

#[test]
fn stack_backend_and_resumption_pick_their_benches() {
    let m = toy_model(&ModelOptions {
        stack: Stack::Rustls,
        ..ModelOptions::default()
    });
    assert_eq!(m.protocol, "tls12-ecdhe-rsa-aes128-gcm");
    // rustls toy handshakes cost twice openssl's: inbound/tls = base 10 + TCP extra 6 + TCP
    // client set-up 20 + GCM records (open a 30 + seal a 40 + open b 31 + seal b 42 = 143)
    // + client handshake 200.
    assert!(close(us(&m, "inbound/tls"), 379.0));
    assert!(m.notes.iter().any(|n| n.contains("no RSA key transport")));

    // aws-lc-rs has no 3DES: its 3DES records are OpenSSL's, and it says so.
    let m = toy_model(&ModelOptions {
        backend: Backend::AwsLc,
        ..ModelOptions::default()
    });
    assert_eq!(m.options.backend_3des, "openssl");
    assert!(close(us(&m, "proxy-chain/tls-3des"), 79.0));
    // Its AES records cost three times openssl's: 10 + 6 + 3 x 14.
    assert!(close(us(&m, "proxy-chain/tls-aes"), 58.0));
    assert!(m
        .estimates
        .contains_key("record/openssl/3des-sha/open/sip-a"));
    assert!(m
        .estimates
        .contains_key("record/awslc/aes128-sha/open/sip-a"));

    let m = toy_model(&ModelOptions {
        resumed: Kind::ResumedTicket,
        ..ModelOptions::default()
    });
    assert!(close(
        us(&m, "inbound/tls-resumed"),
        10.0 + 6.0 + 14.0 + 20.0 + 45.0
    ));
}

#[test]
fn event_loop_components_are_optional_and_read_when_present() {
    let m = toy_model(&ModelOptions::default());
    let fixed = m
        .components
        .iter()
        .find(|c| c.id == "tls-handshake-client-fixed-loop-full")
        .unwrap();
    assert!(fixed.measured.is_none());
    assert!(fixed
        .missing
        .as_ref()
        .unwrap()
        .contains("--bench eventloop"));
    assert!(close(fixed.paper_units.unwrap(), 2.65));

    let mut est = toy_estimates(&["a", "b", "c", "d"]);
    est.insert(
        tlscost::model::eventloop_bench(
            &ModelOptions::default(),
            true,
            tlscost::model::configs::TlsKind::Full,
        ),
        80_000.0,
    );
    let m = model_on(&ModelOptions::default(), &est).unwrap();
    let fixed = m
        .components
        .iter()
        .find(|c| c.id == "tls-handshake-client-fixed-loop-full")
        .unwrap();
    assert!(close(fixed.measured.as_ref().unwrap().us, 80.0));
    assert!(close(fixed.units.unwrap(), 8.0));
}

#[test]
fn a_wide_interval_is_warned_about() {
    let tmp = TempDir::new().unwrap();
    write_all(tmp.path(), &toy_estimates(&["a", "b", "c", "d"]), 0.30);
    let m = build(
        &ModelOptions::default(),
        &toy_flows(),
        &load(tmp.path()),
        &paper(),
    )
    .unwrap();
    assert!(m
        .warnings
        .iter()
        .any(|w| w.contains("base/udp-proxy/call-basic") && w.contains("±30%")));
    let m = toy_model(&ModelOptions::default());
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);

    // Two samples (criterion's quick mode): one warning that counts them.
    let tmp = TempDir::new().unwrap();
    write_all(tmp.path(), &toy_estimates(&["a", "b", "c", "d"]), 0.01);
    let mut est = load(tmp.path());
    est.map
        .get_mut("base/udp-proxy/call-basic")
        .unwrap()
        .samples = 2;
    let m = build(&ModelOptions::default(), &toy_flows(), &est, &paper()).unwrap();
    assert!(
        m.warnings
            .iter()
            .any(|w| w.starts_with("1 of the ") && w.contains("quick mode")),
        "{:?}",
        m.warnings
    );
}

#[test]
fn results_file_round_trips_and_refuses_other_versions_and_truncation() {
    let tmp = TempDir::new().unwrap();
    let crit = tmp.path().join("criterion");
    write_all(&crit, &toy_estimates(&["a"]), 0.02);
    let est = criterion::load(&crit).unwrap();
    let file = ResultsFile::new(Machine::current(), &est);
    let path = file.default_path(tmp.path());
    // Named by the time it was written, `<host>-YYYY-MM-DD-HHMMSS[-vendored].json`.
    let stamp = tlscost::results::file_stamp(&file.date);
    assert_eq!(stamp.len(), "YYYY-MM-DD-HHMMSS".len(), "{stamp}");
    assert!(path
        .file_name()
        .unwrap()
        .to_string_lossy()
        .contains(&format!("-{stamp}")));
    file.write(&path).unwrap();
    let back = ResultsFile::read(&path).unwrap();
    assert_eq!(back.machine, file.machine);
    assert_eq!(back.date, file.date);
    assert_eq!(back.estimates, file.estimates);
    assert_eq!(back.estimates(), est);

    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["schema_version"] = json!(SCHEMA_VERSION + 1);
    let other = tmp.path().join("other.json");
    std::fs::write(&other, v.to_string()).unwrap();
    let err = ResultsFile::read(&other).unwrap_err();
    assert!(
        matches!(err, Error::Results { .. }) && err.to_string().contains("schema version"),
        "{err}"
    );

    let cut = tmp.path().join("cut.json");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let err = ResultsFile::read(&cut).unwrap_err();
    assert!(
        matches!(err, Error::Results { .. }) && err.to_string().contains("truncated"),
        "{err}"
    );

    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["kind"] = json!("something-else");
    std::fs::write(&other, v.to_string()).unwrap();
    assert!(ResultsFile::read(&other)
        .unwrap_err()
        .to_string()
        .contains("not a tlscost results file"));

    // The model reads its estimates from a results file as well as from criterion's output.
    let loaded = tlscost::model::load_estimates(Some(&path), Path::new("/nonexistent")).unwrap();
    assert_eq!(loaded.map, est);
}

#[test]
fn bmf_export_is_in_nanoseconds() {
    use tlscost::report::Exporter;
    let m = toy_model(&ModelOptions::default());
    let out = tlscost::report::bmf::Bmf.model(&m).unwrap();
    let v: Value = serde_json::from_slice(&out[0].bytes).unwrap();
    let base = &v["base/udp-proxy/call-basic"]["latency"];
    assert_eq!(base["value"], json!(10_000.0));
    assert!(base["lower_value"].as_f64().unwrap() < 10_000.0);
    assert!(base["upper_value"].as_f64().unwrap() > 10_000.0);
    assert!(close(
        v["model/config/proxy-chain/tcp"]["latency"]["value"]
            .as_f64()
            .unwrap(),
        16_000.0
    ));
    assert!(v["model/component/tcp-extra"]["latency"]["value"].is_number());
}

#[test]
fn table_and_svg_render_every_configuration() {
    use tlscost::report::Exporter;
    let m = toy_model(&ModelOptions::default());
    let text = String::from_utf8(
        tlscost::report::table::Table::terminal().model(&m).unwrap()[0]
            .bytes
            .clone(),
    )
    .unwrap();
    for c in Config::all() {
        assert!(text.contains(&c.name()), "table lacks {}", c.name());
    }
    let svgs = tlscost::report::svg::Svg.model(&m).unwrap();
    assert_eq!(svgs.len(), 2);
    for s in &svgs {
        let t = String::from_utf8(s.bytes.clone()).unwrap();
        assert!(
            t.starts_with("<svg") && t.trim_end().ends_with("</svg>"),
            "{}",
            s.name
        );
        assert!(t.contains("<rect"), "{} has no bars", s.name);
    }
}

// ---- `tlscost model --json` against results/model.schema.json ----

/// A small JSON-schema checker for the keywords the schema uses: type, required,
/// properties, additionalProperties (bool or schema), items, enum, minimum.
fn check(schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(|x| x.as_str()).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.is_u64() || v.is_i64(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            errors.push(format!("{at}: expected {types:?}, found {v}"));
            return;
        }
    }
    if let Some(e) = schema.get("enum").and_then(|e| e.as_array()) {
        if !e.contains(v) {
            errors.push(format!("{at}: {v} not in {e:?}"));
        }
    }
    if let (Some(min), Some(x)) = (schema.get("minimum").and_then(|m| m.as_f64()), v.as_f64()) {
        if x < min {
            errors.push(format!("{at}: {x} < minimum {min}"));
        }
    }
    if let Some(obj) = v.as_object() {
        for r in schema
            .get("required")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errors.push(format!("{at}: missing required '{r}'"));
            }
        }
        let props = schema.get("properties").and_then(|p| p.as_object());
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => check(s, val, &format!("{at}.{k}"), errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Bool(false)) => errors.push(format!("{at}: unexpected '{k}'")),
                    Some(s @ Value::Object(_)) => check(s, val, &format!("{at}.{k}"), errors),
                    _ => {}
                },
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            check(items, x, &format!("{at}[{i}]"), errors);
        }
    }
}

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/model.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_schema_checker_catches_a_broken_document() {
    let m = toy_model(&ModelOptions::default());
    let mut v = serde_json::to_value(&m).unwrap();
    let mut errors = Vec::new();
    check(&schema(), &v, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    v["configurations"][0]["us"] = json!("fast");
    v.as_object_mut().unwrap().remove("base_us");
    let mut errors = Vec::new();
    check(&schema(), &v, "$", &mut errors);
    assert_eq!(errors.len(), 2, "{errors:#?}");
}

#[test]
fn model_json_from_the_binary_validates_against_the_schema() {
    let fx = Fixtures::locate().unwrap();
    let corpus = fx.sip().unwrap();
    let names: Vec<&str> = corpus
        .unique_messages()
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    let tmp = TempDir::new().unwrap();
    write_all(tmp.path(), &toy_estimates(&names), 0.02);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args(["model", "--json", "--no-save", "--criterion-dir"])
        .arg(tmp.path())
        // No earlier run of the repository's results/ to compare with.
        .arg("--out-dir")
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut errors = Vec::new();
    check(&schema(), &v, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    // Each measured handshake component stands beside the sum of its priced parts.
    let rebuilt = v["reconstructed"]
        .as_array()
        .expect("reconstructed handshakes");
    assert!(
        rebuilt.iter().any(
            |r| r["id"] == "tls-handshake-server-full" && r["measured_us"].as_f64() > Some(0.0)
        ),
        "{rebuilt:?}"
    );
    assert_eq!(v["configurations"].as_array().unwrap().len(), 20);

    // Bad input from the command line: a clear message, a failure status, no panic.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args(["model", "--no-save", "--base-udp-us=-3", "--criterion-dir"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--base-udp-us") && !err.contains("panicked"),
        "{err}"
    );

    let empty = TempDir::new().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args(["model", "--no-save", "--criterion-dir"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("make model"));
}

/// The corpus's message names (what the binary's model reads).
fn corpus_names() -> Vec<String> {
    let fx = Fixtures::locate().unwrap();
    let corpus = fx.sip().unwrap();
    corpus
        .unique_messages()
        .iter()
        .map(|m| m.name.clone())
        .collect()
}

/// Sets the modification time of every `estimates.json` under `dir` (when criterion
/// "finished" those benches).
fn finished(dir: &Path, at: std::time::SystemTime) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            finished(&p, at);
        } else if p.file_name().is_some_and(|n| n == "estimates.json") {
            std::fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(at)
                .unwrap();
        }
    }
}

/// `tlscost model` on criterion directory `crit`, saving into `out`; stdout and stderr.
fn model_run(crit: &Path, out: &Path, extra: &[&str]) -> (String, String) {
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_tlscost"))
        .args(["model", "--criterion-dir"])
        .arg(crit)
        .arg("--out-dir")
        .arg(out)
        .arg("--plots")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout).into_owned(),
        String::from_utf8_lossy(&run.stderr).into_owned(),
    );
    assert!(run.status.success(), "{stderr}");
    (stdout, stderr)
}

#[test]
fn a_second_run_names_the_components_that_did_not_repeat() {
    let names = corpus_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (crit, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut est = toy_estimates(&names);
    write_all(crit.path(), &est, 0.01);
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    finished(crit.path(), hour_ago);
    let (first, _) = model_run(crit.path(), out.path(), &[]);
    assert!(!first.contains("Repeatability"), "{first}");
    let saved = || -> Vec<PathBuf> {
        std::fs::read_dir(out.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect()
    };
    assert_eq!(saved().len(), 1, "{:?}", saved());

    // The same measurement read again: the same file, compared with nothing.
    let (again, _) = model_run(crit.path(), out.path(), &[]);
    assert!(!again.contains("Repeatability"), "{again}");

    // A second measurement: the UDP base 20% dearer, a TLS bulk bench 3% (within 5%), every
    // other bench 0.1% (a measurement never gives the very same figures twice).
    for (k, v) in est.iter_mut() {
        *v *= if k == "base/udp-proxy/call-basic" {
            1.2
        } else if k.starts_with("record/openssl/aes128-sha/") {
            1.03
        } else {
            1.001
        };
    }
    write_all(crit.path(), &est, 0.01);
    let (second, _) = model_run(crit.path(), out.path(), &[]);
    assert!(
        second.contains("Repeatability: this run against the previous"),
        "{second}"
    );
    let warning = second
        .lines()
        .find(|l| l.contains("NOT REPEATED"))
        .unwrap_or_else(|| panic!("no NOT REPEATED line:\n{second}"));
    assert!(
        warning.contains("UDP data transfer (base) (+20.0%)"),
        "{warning}"
    );
    assert!(!warning.contains("TLS bulk, AES"), "{warning}");
    assert_eq!(
        saved().len(),
        2,
        "each run keeps its own file: {:?}",
        saved()
    );

    // The comparison is in the JSON too, every component of both runs once.
    let (json, _) = model_run(crit.path(), out.path(), &["--json", "--no-save"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let mut errors = Vec::new();
    check(&schema(), &v, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:#?}");
    let rows = v["repeatability"]["components"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap();
    assert_eq!(row("udp-base")["repeated"], false);
    let change = row("udp-base")["change"].as_f64().unwrap();
    assert!((change - 0.2).abs() < 1e-9, "{change}");
    assert_eq!(row("tls-bulk-aes")["repeated"], true);
    // The toy connection handling is exactly 0 in both runs: the very same figures, so not
    // compared; nothing else is left out.
    let unmatched = v["repeatability"]["unmatched"].as_array().unwrap();
    assert_eq!(unmatched.len(), 6, "{unmatched:?}");
    assert!(
        unmatched.iter().all(|u| {
            let u = u.as_str().unwrap();
            u.contains("connection handling")
                && u.ends_with("(the same figures as that run: not measured again)")
        }),
        "{unmatched:?}"
    );

    // Only the UDP base measured again (`cargo bench` of one bench, then `tlscost model`):
    // every other component has the very same figures as the second run, and is not called
    // repeated.
    *est.get_mut("base/udp-proxy/call-basic").unwrap() *= 1.01;
    write_estimate(
        crit.path(),
        "base/udp-proxy/call-basic",
        est["base/udp-proxy/call-basic"],
        0.01,
    );
    let (third, _) = model_run(crit.path(), out.path(), &[]);
    assert!(third.contains("1 of 1 components within 5%"), "{third}");
    assert!(
        third.contains(
            "TLS bulk, AES-128-CBC + HMAC-SHA1 (the same figures as that run: not measured again)"
        ),
        "{third}"
    );
}

#[test]
fn since_keeps_this_runs_estimates_and_names_stale_components() {
    let names = corpus_names();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (crit, out) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    write_all(crit.path(), &toy_estimates(&names), 0.01);
    // One bench left over from an earlier run (criterion keeps it when a bench fails or
    // is not selected).
    let hour_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    finished(&crit.path().join("base/udp-proxy/call-basic"), hour_ago);
    let since = (std::time::SystemTime::now() - std::time::Duration::from_secs(600))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let (stdout, _) = model_run(crit.path(), out.path(), &["--since", &since]);
    let stale = stdout
        .lines()
        .find(|l| l.contains("STALE:"))
        .unwrap_or_else(|| panic!("no STALE line:\n{stdout}"));
    assert!(
        stale.contains("UDP data transfer (base) (base/udp-proxy/call-basic)"),
        "{stale}"
    );
    assert!(!stale.contains("TLS bulk"), "{stale}");
    let file = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    let saved = ResultsFile::read(&file).unwrap();
    assert!(!saved.estimates.contains_key("base/udp-proxy/call-basic"));
    assert!(saved.estimates.contains_key("base/udp-proxy/call-auth"));
}

#[test]
fn the_previous_run_is_the_newest_of_this_machine_build_and_options() {
    use tlscost::model::repeat::find_previous;
    let dir = TempDir::new().unwrap();
    let model = toy_model(&ModelOptions::default());
    let est = criterion::load(&{
        let c = dir.path().join("criterion");
        write_all(&c, &toy_estimates(&["a"]), 0.01);
        c
    })
    .unwrap();
    let write = |name: &str, measured: &str, edit: &dyn Fn(&mut ResultsFile)| {
        let mut f = ResultsFile::new(Machine::current(), &est);
        f.model = Some(serde_json::to_value(&model).unwrap());
        f.measured = Some(measured.into());
        edit(&mut f);
        let p = dir.path().join(name);
        f.write(&p).unwrap();
        p
    };
    let none = |_: &mut ResultsFile| {};
    write("older.json", "2026-01-01T10:00:00Z", &none);
    let newest = write("newer.json", "2026-01-02T10:00:00Z", &none);
    let this_run = write("this-run.json", "2026-01-03T10:00:00Z", &none);
    write("other-host.json", "2026-01-04T10:00:00Z", &|f| {
        f.machine.host = "elsewhere".into()
    });
    write("vendored.json", "2026-01-04T10:00:00Z", &|f| {
        f.machine.openssl_build = "vendored".into()
    });
    write("rustls.json", "2026-01-04T10:00:00Z", &|f| {
        f.model.as_mut().unwrap()["options"]["stack"] = json!("rustls")
    });
    write("no-model.json", "2026-01-04T10:00:00Z", &|f| f.model = None);
    // Not results files: passed over in silence. A results file cut short: a note.
    std::fs::write(dir.path().join("paper-like.json"), r#"{"kind":"paper"}"#).unwrap();
    let cut = std::fs::read_to_string(&newest).unwrap();
    std::fs::write(dir.path().join("cut.json"), &cut[..cut.len() / 2]).unwrap();

    let m = Machine::current();
    let (found, notes) = find_previous(dir.path(), &m.host, &m.openssl_build, &model, &this_run);
    let previous = found.expect("a previous run");
    assert_eq!(previous.path(), newest.as_path());
    assert!(previous.machine_differences(&m).is_empty());
    // Named explicitly (--previous), a run of another machine is read, and what differs said.
    let elsewhere =
        tlscost::model::repeat::PreviousRun::read(&dir.path().join("other-host.json")).unwrap();
    assert_eq!(
        elsewhere.machine_differences(&m),
        [format!("host elsewhere then {}", m.host)]
    );
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains("cut.json"), "{notes:?}");

    // The very same figures (read again, not measured again): none compared, each named.
    let (found, _) = find_previous(dir.path(), &m.host, &m.openssl_build, &model, &this_run);
    let found = found.unwrap();
    let cmp = tlscost::model::repeat::compare(&found, &model.components);
    assert!(cmp.components.is_empty(), "{:?}", cmp.components);
    let measured = model.components.iter().filter(|c| c.measured.is_some());
    assert_eq!(cmp.unmatched.len(), measured.count());
    let again = "(the same figures as that run: not measured again)";
    assert!(cmp.unmatched.iter().all(|u| u.ends_with(again)));
    // Measured again, each 1% dearer: every one repeated, none left out (except those at
    // exactly 0, which stay the same figures).
    let mut dearer = model.components.clone();
    for m in dearer.iter_mut().filter_map(|c| c.measured.as_mut()) {
        m.us *= 1.01;
        m.lower_us *= 1.01;
        m.upper_us *= 1.01;
    }
    let cmp = tlscost::model::repeat::compare(&found, &dearer);
    assert!(!cmp.components.is_empty());
    assert_eq!(cmp.moved().count(), 0);
    assert!(cmp.warning().is_none());
    assert!(
        cmp.unmatched.iter().all(|u| u.ends_with(again)),
        "{:?}",
        cmp.unmatched
    );

    // A component another tlscost measured by other benches is not compared, and says so.
    write("other-benches.json", "2026-01-02T11:00:00Z", &|f| {
        f.model.as_mut().unwrap()["components"][0]["measured"]["benches"] =
            json!([["some/other/bench", 1.0]])
    });
    let (found, _) = find_previous(dir.path(), &m.host, &m.openssl_build, &model, &this_run);
    let cmp = tlscost::model::repeat::compare(&found.unwrap(), &dearer);
    assert_eq!(
        cmp.unmatched.first(),
        Some(&format!(
            "{} (measured by other benches)",
            model.components[0].label
        ))
    );
    assert!(cmp.unmatched[1..].iter().all(|u| u.ends_with(again)));
    assert_eq!(cmp.moved().count(), 0);
}

#[test]
fn compare_lines_up_backends_and_files() {
    let tmp = TempDir::new().unwrap();
    write_all(tmp.path(), &toy_estimates(&["a"]), 0.01);
    let est = criterion::load(tmp.path()).unwrap();
    let cmp = tlscost::model::compare::across_backends(&est);
    let rec = cmp.iter().find(|c| c.title == "TLS records").unwrap();
    assert_eq!(rec.columns, ["openssl", "rustcrypto", "awslc"]);
    let row = rec
        .rows
        .iter()
        .find(|r| r.key == "record/3des-sha/open/sip-a")
        .unwrap();
    assert_eq!(row.values, [Some(10_000.0), Some(20_000.0), None]);
    assert_eq!(row.ratios, [Some(1.0), Some(2.0), None]);
    let hs = cmp
        .iter()
        .find(|c| c.title.starts_with("TLS handshakes"))
        .unwrap();
    assert_eq!(hs.columns, ["openssl", "rustls"]);
    let row = hs
        .rows
        .iter()
        .find(|r| r.key == "handshake/tls12-ecdhe-rsa-aes128-gcm/x25519/rsa2048/full/client")
        .unwrap();
    assert_eq!(row.values, [Some(100_000.0), Some(200_000.0)]);

    let a = ResultsFile::new(Machine::current(), &est);
    let mut b = a.clone();
    b.estimates
        .get_mut("transport/tcp/connect/client")
        .unwrap()
        .median = 40_000.0;
    let c = tlscost::model::compare::files(&a, "a.json", &b, "b.json");
    let row = c
        .rows
        .iter()
        .find(|r| r.key == "transport/tcp/connect/client")
        .unwrap();
    assert_eq!(row.ratios[1], Some(2.0));

    // Two files written by `tlscost model`: their components side by side as well.
    use tlscost::model::compare::model_components;
    assert!(model_components(&a, "a.json", &b, "b.json").is_none());
    let model = toy_model(&ModelOptions::default());
    let (mut a, mut b) = (a, b);
    a.model = Some(serde_json::to_value(&model).unwrap());
    let mut dearer = serde_json::to_value(&model).unwrap();
    dearer["components"][0]["measured"]["us"] =
        json!(model.components[0].measured.as_ref().unwrap().us * 1.5);
    b.model = Some(dearer);
    let c = model_components(&a, "a.json", &b, "b.json").expect("both have models");
    // One row per measured component, in the model's order, keyed by component.
    let measured: Vec<&str> = model
        .components
        .iter()
        .filter(|c| c.measured.is_some())
        .map(|c| c.label.as_str())
        .collect();
    let keys: Vec<&str> = c.rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, measured);
    assert_eq!(c.key_header, "component");
    let first = &c.rows[0];
    assert_eq!(first.key, model.components[0].label);
    assert!((first.ratios[1].unwrap() - 1.5).abs() < 1e-9, "{first:?}");
    assert!(c
        .rows
        .iter()
        .filter(|r| r.key != first.key)
        .all(|r| r.values[0] == r.values[1]));
}

#[test]
fn every_composed_component_is_in_the_table() {
    use tlscost::model::components::ComponentId;
    let table = ComponentId::table();
    for c in Config::all() {
        for id in ComponentId::compose(&c) {
            assert!(
                table.contains(&id),
                "{}: {} not in the table",
                c.name(),
                id.id()
            );
            assert!(!id.optional(), "{} needs optional {}", c.name(), id.id());
        }
    }
}

/// `--protocol` prices the TLS configurations with that protocol's handshakes, connections
/// and records (AES-128-GCM for TLS 1.3), says so in the notes, resumes TLS 1.3 by ticket,
/// and names the command that measures what is missing.
#[test]
fn protocol_picks_its_handshakes_connections_and_records() {
    use tlscost::handshake::Protocol;
    let opts = ModelOptions {
        protocol: Some(Protocol::Tls13Aes128Gcm),
        ..ModelOptions::default()
    };
    let mut est = toy_estimates(&["a", "b", "c", "d"]);
    let err = model_on(&opts, &est).unwrap_err().to_string();
    assert!(
        err.contains("tls13-aes128-gcm") && err.contains("cargo bench --bench"),
        "{err}"
    );
    let proto = "tls13-aes128-gcm";
    for (kind, c, s) in [
        (Kind::Full, 70_000.0, 90_000.0),
        (Kind::Mutual, 110_000.0, 130_000.0),
        (Kind::ResumedTicket, 30_000.0, 35_000.0),
    ] {
        let sc = Scenario::new(Stack::Openssl, Protocol::Tls13Aes128Gcm, kind);
        est.insert(sc.id(HsSide::Client).full(), c);
        est.insert(sc.id(HsSide::Server).full(), s);
        let kind = kind.label();
        // Handling beyond TCP set-up and the in-memory handshake: 5 µs client, 15 µs server.
        est.insert(
            format!("connection/openssl/{proto}/{kind}/client/handling"),
            5_000.0,
        );
        est.insert(
            format!("connection/openssl/{proto}/{kind}/server/handling"),
            15_000.0,
        );
    }
    for m in ["a", "b", "c", "d"] {
        for op in ["open", "seal"] {
            est.insert(format!("record/openssl/aes128-gcm/{op}/sip-{m}"), 500.0);
        }
    }
    let m = model_on(&opts, &est).unwrap();
    assert_eq!(m.protocol, proto);
    assert_eq!(m.options.resumed, "resumed-ticket");
    assert!(m.notes.iter().any(|n| n.contains("AES-128-GCM")));
    // base 10 + TCP extra 6 + GCM bulk 2 x (open + seal) x 0.5 = 18.
    assert!(close(us(&m, "proxy-chain/tls-aes"), 18.0));
    // + client side: TCP 20, handshake 70, handling on sockets 5.
    assert!(close(us(&m, "inbound/tls"), 18.0 + 20.0 + 70.0 + 5.0));
    assert!(close(
        us(&m, "inbound/tls-resumed"),
        18.0 + 20.0 + 30.0 + 5.0
    ));
    assert!(m
        .estimates
        .contains_key("record/openssl/aes128-gcm/open/sip-a"));

    // rustls has no RSA key transport: refused, naming it.
    let bad = ModelOptions {
        stack: Stack::Rustls,
        protocol: Some(Protocol::Tls12RsaAes128Sha),
        ..ModelOptions::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains("RSA key transport") && e.contains("--protocol"),
        "{e}"
    );
}

/// A TLS connection's handling on sockets below zero (a results file can carry one; the
/// interleaved bench itself never returns less than 0) is composed as 0, never subtracted from
/// a configuration, and the warning names the bench and the configurations it touches.
#[test]
fn negative_connection_handling_is_composed_as_zero_and_named() {
    let mut est = toy_estimates(&["a", "b", "c", "d"]);
    est.insert(
        "connection/openssl/tls12-rsa-aes128-sha/full/server/handling".into(),
        -100_000.0,
    );
    let m = model_on(&ModelOptions::default(), &est).unwrap();
    // As in the toy model: auth base 14, TCP 9, AES bulk 26, accept 30, server full 200.
    let want = 14.0 + 9.0 + 26.0 + 30.0 + 200.0;
    assert!(
        close(us(&m, "outbound-auth/tls"), want),
        "{}",
        us(&m, "outbound-auth/tls")
    );
    let w = m
        .warnings
        .iter()
        .find(|w| w.contains("tls-connection-server-full"))
        .unwrap_or_else(|| panic!("{:?}", m.warnings));
    assert!(
        w.contains("-100.0 µs") && w.contains("taken as 0") && w.contains("outbound-auth/tls"),
        "{w}"
    );
    assert!(
        w.contains("(connection/openssl/tls12-rsa-aes128-sha/full/server/handling)")
            && w.contains("cargo bench --bench connections"),
        "{w}"
    );
}

/// The connection-handling component is the one interleaved bench, weight 1 (not the
/// difference of three benches measured apart): its value goes into the configurations as
/// it is, and without it the model stops naming the command that measures it.
#[test]
fn connection_handling_reads_the_interleaved_bench() {
    let mut est = toy_estimates(&["a", "b", "c", "d"]);
    let before = us(
        &model_on(&ModelOptions::default(), &est).unwrap(),
        "inbound/tls-mutual",
    );
    let bench = "connection/openssl/tls12-rsa-aes128-sha/mutual/client/handling";
    est.insert(bench.into(), 40_000.0);
    let m = model_on(&ModelOptions::default(), &est).unwrap();
    let row = m
        .components
        .iter()
        .find(|c| c.id == "tls-connection-client-mutual")
        .expect("the component row");
    let measured = row.measured.as_ref().expect("measured");
    assert_eq!(measured.benches, vec![(bench.to_string(), 1.0)]);
    assert!(close(measured.us, 40.0), "{}", measured.us);
    assert!(close(us(&m, "inbound/tls-mutual"), before + 40.0));
    // The raw socket connection is not read: changing it changes nothing.
    est.insert(
        "connection/openssl/tls12-rsa-aes128-sha/mutual/client".into(),
        9_000_000.0,
    );
    let again = model_on(&ModelOptions::default(), &est).unwrap();
    assert_eq!(
        us(&again, "inbound/tls-mutual"),
        us(&m, "inbound/tls-mutual")
    );

    est.remove(bench);
    let err = model_on(&ModelOptions::default(), &est)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(bench)
            && err.contains(
                "cargo bench --bench connections -- --quick '^connection/openssl/tls12-rsa-aes128-sha/.*/handling$'"
            ),
        "{err}"
    );
}

/// The command a missing estimate's error suggests measures that bench: its filter, applied
/// as criterion applies it (a regex search of the full name), selects the bench, for every
/// bench the model reads and for every protocol's connection handling.
#[test]
fn the_suggested_command_selects_the_missing_bench() {
    use tlscost::model::component_sum;
    use tlscost::model::components::{bench_command, ComponentId};
    let flows = Flows::from_fixtures(&Fixtures::locate().unwrap()).unwrap();
    let mut benches: Vec<String> = Vec::new();
    for protocol in [Protocol::Tls12RsaAes128Sha, Protocol::Tls13Aes128Gcm] {
        let opts = ModelOptions {
            protocol: Some(protocol),
            ..ModelOptions::default()
        };
        for id in ComponentId::table() {
            benches.extend(
                component_sum(&id, &opts, &flows)
                    .terms
                    .into_iter()
                    .map(|t| t.0),
            );
        }
    }
    assert!(benches.iter().any(|b| b == "base/udp-proxy/call-basic"));
    assert!(benches.iter().any(|b| b.ends_with("/handling")));
    for bench in &benches {
        let command = bench_command(bench);
        let filter = command.split('\'').nth(1).expect("a quoted filter");
        let re = regex::Regex::new(filter).unwrap();
        assert!(re.is_match(bench), "{command} does not select {bench}");
    }
}
