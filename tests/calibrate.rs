//! The calibration fit on synthetic data (known factors and per-connection terms are
//! recovered; an under-determined set is refused naming the factor or term) and the
//! calibration file reader's errors.

use std::collections::BTreeMap;
use std::path::Path;
use tlscost::model::calibrate::{self, ComponentValues, ConnectionTerm, Kind, Measured};
use tlscost::model::components::{ComponentId, Side};
use tlscost::model::configs::Config;

/// Bare component costs: every component any configuration needs, with distinct values.
fn values() -> ComponentValues {
    let mut v = BTreeMap::new();
    for (i, c) in calibrate::universe().iter().enumerate() {
        for id in ComponentId::compose(c) {
            let n = v.len() as f64;
            v.entry(id).or_insert(3.0 + 7.3 * n + (i % 3) as f64);
        }
    }
    v
}

/// The new TLS connection a component stands for, by side.
fn tls_side(id: &ComponentId) -> Option<Side> {
    match id {
        ComponentId::TlsHandshake(s, _) => Some(*s),
        _ => None,
    }
}

/// The truth: Σ factor(kind) × bare component, plus per new TLS connection of a side the
/// term `factor(Kind::NewConnection(side))` µs.
fn truth(config: &Config, factor: &impl Fn(Kind) -> f64, v: &ComponentValues) -> f64 {
    ComponentId::compose(config)
        .iter()
        .map(|id| {
            factor(Kind::of(id)) * v[id]
                + tls_side(id).map_or(0.0, |s| factor(Kind::NewConnection(s)))
        })
        .sum()
}

/// Measured µs = the truth, times (1 + noise).
fn synth(names: &[&str], factor: impl Fn(Kind) -> f64, noise: &[f64]) -> Vec<Measured> {
    let v = values();
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let config = calibrate::config_from_name(n).unwrap();
            let us = truth(&config, &factor, &v);
            Measured {
                config,
                us: us * (1.0 + noise.get(i).copied().unwrap_or(0.0)),
                spread_us: None,
                protocol: None,
            }
        })
        .collect()
}

fn factor_of(cal: &calibrate::Calibration, name: &str) -> f64 {
    cal.factors
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no factor {name} in {:?}", cal.factors))
        .value
}

/// Known factors, and per-connection terms in µs.
fn known(k: Kind) -> f64 {
    match k {
        Kind::TransportUdp => 1.7,
        Kind::TransportTcp => 2.2,
        Kind::Record => 3.1,
        Kind::Auth => 1.3,
        Kind::TcpSetup(Side::Server) => 4.0,
        Kind::TcpSetup(Side::Client) => 2.5,
        Kind::TlsHandshake(Side::Server) => 1.4,
        Kind::TlsHandshake(Side::Client) => 1.9,
        Kind::NewConnection(Side::Server) => 310.0,
        Kind::NewConnection(Side::Client) => 140.0,
    }
}

/// The same factors without per-connection terms (what full handshakes alone can fit).
fn known_no_term(k: Kind) -> f64 {
    if k.is_term() {
        0.0
    } else {
        known(k)
    }
}

#[test]
fn exact_set_recovers_per_side_factors() {
    let names = [
        "proxy-chain/udp",
        "proxy-chain/tcp",
        "proxy-chain/tls-aes",
        "outbound/tcp",
        "outbound/tls",
        "inbound/tcp",
        "inbound/tls",
    ];
    let cal = calibrate::fit(&synth(&names, known_no_term, &[]), &values()).unwrap();
    assert_eq!(cal.method, "exact");
    assert_eq!(cal.factors.len(), 7);
    for (name, want) in [
        ("transport-udp", 1.7),
        ("transport-tcp", 2.2),
        ("tls-record", 3.1),
        ("tcp-setup-server", 4.0),
        ("tcp-setup-client", 2.5),
        ("tls-handshake-server", 1.4),
        ("tls-handshake-client", 1.9),
    ] {
        let got = factor_of(&cal, name);
        assert!((got - want).abs() < 1e-9, "{name}: {got} vs {want}");
    }
    // Every unmeasured no-auth configuration is predicted exactly.
    let v = values();
    for r in cal.rows.iter().filter(|r| !r.name.contains("auth")) {
        let c = Config::from_name(&r.name)
            .or_else(|_| calibrate::config_from_name(&r.name).map_err(|_| ()))
            .unwrap();
        let want = truth(&c, &known_no_term, &v);
        let got = r
            .predicted_us
            .unwrap_or_else(|| panic!("{} not predicted", r.name));
        assert!(
            (got / want - 1.0).abs() < 1e-9,
            "{}: {got} vs {want}",
            r.name
        );
    }
    // Auth is in no measured configuration: its configurations are not predicted.
    let auth = cal
        .rows
        .iter()
        .find(|r| r.name == "outbound-auth/tls")
        .unwrap();
    assert!(auth.predicted_us.is_none());
    assert!(auth.note.as_deref().unwrap().contains("auth"));
}

#[test]
fn overdetermined_set_gives_errors_and_leave_one_out() {
    let names = [
        "proxy-chain/udp",
        "proxy-chain/tcp",
        "proxy-chain/tls-aes",
        "proxy-chain-auth/udp",
        "outbound/tcp",
        "outbound/tls",
        "outbound/tls-mutual",
        "inbound/tcp",
        "inbound/tls",
        "inbound/tls-resumed",
        "local/tls",
        "outbound/tls-resumed",
        "inbound/tls-mutual",
        "local/tcp",
        "local/tls-resumed",
    ];
    // Exact data with per-connection terms: full and mutual (server), full and resumed
    // (client) determine them, so the fit carries them; every factor and term is
    // recovered, with zero residual, zero standard errors, zero leave-one-out errors.
    let cal = calibrate::fit(&synth(&names, known, &[]), &values()).unwrap();
    assert_eq!(cal.method, "least-squares");
    assert_eq!(cal.factors.len(), 10);
    for f in &cal.factors {
        let want = known_by_name(&f.name);
        assert!((f.value / want - 1.0).abs() < 1e-9, "{f:?}");
        assert!(f.std_error.unwrap() < 1e-9 * want, "{f:?}");
    }
    let term = cal
        .factors
        .iter()
        .find(|f| f.name == "per-connection-server")
        .unwrap();
    assert_eq!(term.unit, "µs per connection");
    let measured: Vec<_> = cal.rows.iter().filter(|r| r.measured).collect();
    assert_eq!(measured.len(), names.len());
    for r in &measured {
        match r.loo_error {
            Some(e) => assert!(e.abs() < 1e-9, "{r:?}"),
            // The only configurations separating UDP from auth: without one, the other
            // cannot tell them apart.
            None => {
                assert!(
                    ["proxy-chain/udp", "proxy-chain-auth/udp"].contains(&r.name.as_str()),
                    "{r:?}"
                );
                assert!(
                    r.note.as_deref().unwrap().contains("cannot determine"),
                    "{r:?}"
                );
            }
        }
    }
    assert_eq!(
        measured.iter().filter(|r| r.loo_error.is_some()).count(),
        13
    );
    // Noisy data: factors close, positive standard errors, some leave-one-out error.
    // Per mille: the synthetic handshakes are cheap beside the per-connection terms, so
    // their factors rest on small differences.
    let noise = [
        0.001, -0.002, 0.0015, 0.0, -0.001, 0.002, -0.0015, 0.001, 0.0, -0.001, 0.002, -0.001,
        0.0005, 0.001, -0.0005,
    ];
    let cal = calibrate::fit(&synth(&names, known, &noise), &values()).unwrap();
    for f in &cal.factors {
        let want = known_by_name(&f.name);
        assert!((f.value / want - 1.0).abs() < 0.2, "{f:?}");
        assert!(f.std_error.unwrap() > 0.0, "{f:?}");
    }
    assert!(cal.rms_residual.unwrap() > 0.0);
    assert!(cal
        .rows
        .iter()
        .any(|r| r.loo_error.is_some_and(|e| e.abs() > 1e-6)));
}

fn known_by_name(name: &str) -> f64 {
    Kind::ALL
        .iter()
        .find(|k| k.label() == name)
        .map(|k| known(*k))
        .unwrap_or_else(|| panic!("factor {name} is not a single kind"))
}

#[test]
fn pools_sides_and_connection_when_the_data_cannot_split_them() {
    // The issue's validation set: UDP, TLS persistent, TLS new connection per call.
    let names = [
        "proxy-chain/udp",
        "proxy-chain/tls-aes",
        "outbound/tls",
        "inbound/tls",
    ];
    // Data generated with transport and connection kinds sharing a factor are recovered.
    let pooled = |k: Kind| match k {
        Kind::TransportUdp | Kind::TransportTcp => 1.5,
        Kind::Record => 2.0,
        Kind::TcpSetup(s) | Kind::TlsHandshake(s) => {
            if s == tlscost::model::components::Side::Server {
                1.2
            } else {
                2.4
            }
        }
        Kind::Auth => 1.0,
        Kind::NewConnection(_) => 0.0,
    };
    let cal = calibrate::fit(&synth(&names, pooled, &[]), &values()).unwrap();
    let names: Vec<&str> = cal.factors.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "transport",
            "tls-record",
            "connection-server",
            "connection-client"
        ]
    );
    assert!((factor_of(&cal, "transport") - 1.5).abs() < 1e-9);
    assert!((factor_of(&cal, "tls-record") - 2.0).abs() < 1e-9);
    assert!((factor_of(&cal, "connection-server") - 1.2).abs() < 1e-9);
    assert!((factor_of(&cal, "connection-client") - 2.4).abs() < 1e-9);
    // The local mode (both sides) is predicted from them.
    let local = cal.rows.iter().find(|r| r.name == "local/tls").unwrap();
    assert!(local.predicted_us.is_some() && !local.measured);
}

#[test]
fn underdetermined_set_is_refused_naming_the_factor() {
    // TLS proxy chain alone: transport and record work always come together.
    let err = calibrate::fit(&synth(&["proxy-chain/tls-aes"], known, &[]), &values())
        .unwrap_err()
        .to_string();
    assert!(err.contains("calibration refused"), "{err}");
    assert!(err.contains("'transport'"), "{err}");
    assert!(err.contains("'tls-record'"), "{err}");
    assert!(
        err.contains("proxy-chain/udp"),
        "suggests a configuration: {err}"
    );

    // UDP fixes the transport; outbound TLS alone still mixes record work and handshakes.
    let err = calibrate::fit(
        &synth(&["proxy-chain/udp", "outbound/tls"], known, &[]),
        &values(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("'tls-record'"), "{err}");
    assert!(err.contains("'connection'"), "{err}");
    assert!(
        !err.contains("'transport'"),
        "transport is determined: {err}"
    );
}

/// Data with a fixed cost per new TLS connection, and kinds pooled as set C must pool them.
fn with_terms(k: Kind) -> f64 {
    match k {
        Kind::TransportUdp | Kind::TransportTcp => 1.7,
        Kind::Record => 3.1,
        Kind::Auth => 1.0,
        Kind::TcpSetup(Side::Server) | Kind::TlsHandshake(Side::Server) => 0.8,
        Kind::TcpSetup(Side::Client) | Kind::TlsHandshake(Side::Client) => 1.1,
        Kind::NewConnection(Side::Server) => 360.0,
        Kind::NewConnection(Side::Client) => 130.0,
    }
}

#[test]
fn full_and_resumed_recover_the_per_connection_terms() {
    let names = tlscost::testbed::validate::CONNECTION_SET;
    let v = values();
    let cal = calibrate::fit_with(
        &synth(&names, with_terms, &[]),
        &v,
        ConnectionTerm::Required,
    )
    .unwrap();
    assert_eq!(cal.method, "exact");
    let got: Vec<(&str, f64, &str)> = cal
        .factors
        .iter()
        .map(|f| (f.name.as_str(), f.value, f.unit.as_str()))
        .collect();
    let want = [
        ("transport", 1.7, "× bare"),
        ("tls-record", 3.1, "× bare"),
        ("connection-server", 0.8, "× bare"),
        ("connection-client", 1.1, "× bare"),
        ("per-connection-server", 360.0, "µs per connection"),
        ("per-connection-client", 130.0, "µs per connection"),
    ];
    assert_eq!(got.len(), want.len(), "{got:?}");
    for ((n, x, u), (wn, wx, wu)) in got.iter().zip(want) {
        assert_eq!((*n, *u), (wn, wu));
        assert!((x / wx - 1.0).abs() < 1e-9, "{n}: {x} vs {wx}");
    }
    // Mutual handshakes, the local mode and TCP are predicted exactly from them.
    for name in [
        "outbound/tls-mutual",
        "inbound/tls-mutual",
        "local/tls-resumed",
        "local/tls",
        "outbound/tcp",
    ] {
        let r = cal.rows.iter().find(|r| r.name == name).unwrap();
        let want = truth(&calibrate::config_from_name(name).unwrap(), &with_terms, &v);
        let got = r.predicted_us.unwrap();
        assert!(
            !r.measured && (got / want - 1.0).abs() < 1e-9,
            "{name}: {got} vs {want}"
        );
        // The bare model leaves the terms out (it has them as 0).
        if name.contains("tls") {
            assert!(r.model_us.unwrap() < want, "{r:?}");
        }
    }
    // Factors alone, fitted on full handshakes only, cannot represent the term: they
    // mispredict the resumed handshakes.
    let a = calibrate::fit(&synth(&names[..4], with_terms, &[]), &v).unwrap();
    assert!(
        a.factors.iter().all(|f| f.unit == "× bare"),
        "{:?}",
        a.factors
    );
    let resumed = a
        .rows
        .iter()
        .find(|r| r.name == "outbound/tls-resumed")
        .unwrap();
    let want = truth(
        &calibrate::config_from_name("outbound/tls-resumed").unwrap(),
        &with_terms,
        &v,
    );
    assert!(
        (resumed.predicted_us.unwrap() / want - 1.0).abs() > 0.05,
        "{resumed:?}"
    );
}

#[test]
fn a_set_that_cannot_determine_the_term_is_refused_naming_it() {
    // Server side only, full handshakes only: the term and the handshake factor always
    // come together.
    let names = ["proxy-chain/udp", "proxy-chain/tls-aes", "outbound/tls"];
    let err = calibrate::fit_with(
        &synth(&names, with_terms, &[]),
        &values(),
        ConnectionTerm::Required,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("calibration refused"), "{err}");
    assert!(err.contains("per-connection term (required)"), "{err}");
    assert!(
        err.contains("per-connection term 'per-connection'"),
        "{err}"
    );
    assert!(
        err.contains("tls-resumed") || err.contains("tls-mutual"),
        "suggests a configuration: {err}"
    );
    assert!(
        !err.contains("'transport'"),
        "transport is determined: {err}"
    );
    // Without the requirement the same set is fitted by factors alone.
    let cal = calibrate::fit(&synth(&names, with_terms, &[]), &values()).unwrap();
    assert!(cal.factors.iter().all(|f| f.unit == "× bare"));
}

fn parse(text: &str) -> tlscost::Result<Vec<Measured>> {
    calibrate::parse(text, Path::new("cal.csv"))
}

#[test]
fn reader_accepts_csv_json_and_the_example() {
    let m = parse("# comment\nconfiguration,us_per_call\nproxy-chain/udp, 41.5\n\noutbound-auth/tls-mutual,1200\n").unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].config.name(), "outbound-auth/tls-mutual");
    assert_eq!(m[0].us, 41.5);
    let m = parse("configuration,us_per_call,spread_us\nproxy-chain/udp,41.5,2\n").unwrap();
    assert_eq!(m[0].spread_us, Some(2.0));
    let j = r#"{"measurements": [{"configuration": "inbound/tls", "us_per_call": 900}]}"#;
    let m = calibrate::parse(j, Path::new("cal.json")).unwrap();
    assert_eq!(m[0].config.name(), "inbound/tls");
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/calibration-example.csv");
    assert!(calibrate::read_file(&fx).unwrap().len() >= 4);
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/calibration-example.json");
    assert!(calibrate::read_file(&fx).unwrap().len() >= 4);
}

#[test]
fn reader_errors_name_line_and_value() {
    let err = |t: &str| parse(t).unwrap_err().to_string();
    let e = err("config,us\nproxy-chain/udp,1\n");
    assert!(
        e.contains("line 1") && e.contains("configuration,us_per_call"),
        "{e}"
    );
    let e = err("configuration,us_per_call\nproxy-chain/udp,1\nproxy-chain/tcp\n");
    assert!(e.contains("line 3") && e.contains("1 fields"), "{e}");
    let e = err("configuration,us_per_call\nproxy-chain/udp,abc\n");
    assert!(e.contains("line 2") && e.contains("'abc'"), "{e}");
    let e = err("configuration,us_per_call\nproxy-chain/sctp,10\n");
    assert!(
        e.contains("line 2") && e.contains("unknown configuration 'proxy-chain/sctp'"),
        "{e}"
    );
    assert!(
        e.contains("outbound-auth/tls-mutual"),
        "lists valid names: {e}"
    );
    let e = err("configuration,us_per_call\nproxy-chain/udp,-3\n");
    assert!(e.contains("line 2") && e.contains("positive"), "{e}");
    let e = err("configuration,us_per_call\nproxy-chain/udp,NaN\n");
    assert!(e.contains("line 2") && e.contains("NaN"), "{e}");
    let e = err("configuration,us_per_call\nproxy-chain/udp,inf\n");
    assert!(e.contains("inf"), "{e}");
    let e = err("configuration,us_per_call\nproxy-chain/udp,3\nproxy-chain/udp,4\n");
    assert!(
        e.contains("line 3") && e.contains("twice") && e.contains("line 2"),
        "{e}"
    );
    let e = err("configuration,us_per_call\n");
    assert!(e.contains("no measurements"), "{e}");
    let e = err("");
    assert!(e.contains("empty"), "{e}");
    let e = calibrate::parse(
        r#"{"measurements": [{"configuration": "x"}]}"#,
        Path::new("c.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("c.json") && e.contains("us_per_call"), "{e}");
    let e = calibrate::read_file(Path::new("/nonexistent/cal.csv"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/cal.csv"), "{e}");
}

#[test]
fn reader_takes_a_protocol_per_tls_row() {
    let m = parse(
        "configuration,us_per_call,spread_us,protocol\n\
         proxy-chain/udp,40,1,\n\
         outbound/tls,900,10,tls13-aes128-gcm\n\
         outbound/tls,1000,12,tls12-rsa-aes128-sha\n\
         outbound/tcp,80,2,\n",
    )
    .unwrap();
    use tlscost::handshake::Protocol;
    let protocols: Vec<Option<Protocol>> = m.iter().map(|r| r.protocol).collect();
    assert_eq!(
        protocols,
        [
            None,
            Some(Protocol::Tls13Aes128Gcm),
            Some(Protocol::Tls12RsaAes128Sha),
            None
        ]
    );
    // Columns may come in either order after the first two.
    let m =
        parse("configuration,us_per_call,protocol\noutbound/tls,900,tls13-aes128-gcm\n").unwrap();
    assert_eq!(m[0].spread_us, None);
    assert_eq!(m[0].protocol, Some(Protocol::Tls13Aes128Gcm));

    let err = |text: &str| parse(text).unwrap_err().to_string();
    let e = err("configuration,us_per_call,protocol\noutbound/tls,900,tls14-magic\n");
    assert!(
        e.contains("line 2")
            && e.contains("unknown protocol 'tls14-magic'")
            && e.contains("tls13-aes128-gcm"),
        "{e}"
    );
    let e = err("configuration,us_per_call,protocol\nproxy-chain/udp,40,tls13-aes128-gcm\n");
    assert!(e.contains("without TLS"), "{e}");
    let e = err("configuration,us_per_call,protocol\noutbound/tls,900,tls13-aes128-gcm\noutbound/tls,910,tls13-aes128-gcm\n");
    assert!(
        e.contains("measured twice") && e.contains("tls13-aes128-gcm"),
        "{e}"
    );
    let e = err("configuration,us_per_call,protocol,protocol\noutbound/tls,900,a,b\n");
    assert!(e.contains("header"), "{e}");
}

#[test]
fn reader_takes_a_measured_server_file() {
    use tlscost::server::file::{
        LoadInfo, ServerFile, ServerInfo, ServerMeasurement, KIND, SCHEMA_VERSION,
    };
    let row = |configuration: &str, protocol: Option<&str>, us: f64| ServerMeasurement {
        configuration: configuration.into(),
        protocol: protocol.map(String::from),
        us_per_call: us,
        spread_us: 2.0,
        runs_us: vec![us - 1.0, us, us + 1.0],
        idle_us_per_s: 300.0,
        generator_us_per_call: 50.0,
        details: vec![],
    };
    let file = ServerFile {
        kind: KIND.into(),
        schema_version: SCHEMA_VERSION,
        date: "2026-11-30T12:00:00Z".into(),
        machine: tlscost::machine::Machine::current(),
        server: ServerInfo {
            name: "kamailio".into(),
            version: "5.6.3".into(),
            start_line: "kamailio -DD -E -f kamailio.cfg".into(),
            memory_manager: Some("q_malloc".into()),
            tls_library: Some("OpenSSL 3.0.19".into()),
            database: None,
        },
        load: LoadInfo {
            flow: "basic".into(),
            rate: 100.0,
            calls: 300,
            warmup: 20,
            repeat: 3,
        },
        measurements: vec![
            row("proxy-chain/udp", None, 60.0),
            row("outbound/tls", Some("tls13-aes128-gcm"), 900.0),
        ],
        not_measured: vec![],
        notes: vec![],
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kamailio.json");
    file.write(&path).unwrap();
    assert_eq!(ServerFile::read(&path).unwrap(), file);
    let m = calibrate::read_file(&path).unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[1].us, 900.0);
    assert_eq!(m[1].spread_us, Some(2.0));
    assert_eq!(
        m[1].protocol,
        Some(tlscost::handshake::Protocol::Tls13Aes128Gcm)
    );
    assert!(file
        .describe()
        .starts_with("kamailio 5.6.3 (q_malloc, OpenSSL 3.0.19) on "));

    // Another schema, or no measurements, is refused naming the file.
    let text = std::fs::read_to_string(&path).unwrap();
    let other = text.replace("\"schema_version\": 1", "\"schema_version\": 7");
    let e = calibrate::parse(&other, &path).unwrap_err().to_string();
    assert!(
        e.contains("kamailio.json") && e.contains("schema version"),
        "{e}"
    );
    let mut empty = file.clone();
    empty.measurements.clear();
    let e = calibrate::parse(&serde_json::to_string(&empty).unwrap(), &path)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no measurements"), "{e}");
}
