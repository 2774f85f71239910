//! The loopback testbed: stream framing, configuration names, short real runs of each
//! transport and TLS kind (every call and handshake checked inside), the validation on
//! synthetic consistent data, and the error paths. No timing is asserted.

use std::collections::BTreeMap;
use std::io::Read;
use tlscost::fixtures::Fixtures;
use tlscost::handshake::Pki;
use tlscost::model::calibrate::{self, ComponentValues, Kind};
use tlscost::model::components::{ComponentId, Side};
use tlscost::testbed::validate::{self, CALIBRATION_SET};
use tlscost::testbed::wire::Framer;
use tlscost::testbed::{self, Bed, Plan, Series};

/// A connection that returns its data a few bytes at a time (and takes any write: the
/// framer answers keep-alive pings on the connection it reads).
struct Trickle(Vec<u8>, usize);
impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buf.len()).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0.drain(..n);
        Ok(n)
    }
}
impl std::io::Write for Trickle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn framer_splits_messages_on_content_length() {
    let a = b"INVITE sip:b@x SIP/2.0\r\nContent-Length: 5\r\n\r\nhello".to_vec();
    let b = b"SIP/2.0 100 Trying\r\nl: 0\r\n\r\n".to_vec();
    let mut both = a.clone();
    both.extend_from_slice(&b);
    for chunk in [1, 7, 4096] {
        let mut r = Trickle(both.clone(), chunk);
        let mut f = Framer::default();
        assert_eq!(f.read_message(&mut r, "t").unwrap(), a);
        assert_eq!(f.read_message(&mut r, "t").unwrap(), b);
        assert!(f.is_empty());
        let e = f.read_message(&mut r, "t").unwrap_err().to_string();
        assert!(e.contains("closed"), "{e}");
    }
    let mut r = Trickle(b"BYE sip:b@x SIP/2.0\r\nVia: x\r\n\r\n".to_vec(), 100);
    let e = Framer::default()
        .read_message(&mut r, "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("Content-Length"), "{e}");
    let mut r = Trickle(
        b"BYE sip:b@x SIP/2.0\r\nContent-Length: x\r\n\r\n".to_vec(),
        100,
    );
    let e = Framer::default()
        .read_message(&mut r, "t")
        .unwrap_err()
        .to_string();
    assert!(e.contains("'x'"), "{e}");
}

#[test]
fn every_testbed_configuration_is_a_calibration_name() {
    let names = testbed::names();
    assert_eq!(names.len(), 15);
    let mut uniq = names.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), names.len());
    for n in &names {
        calibrate::config_from_name(n).unwrap();
        assert_eq!(&Bed::from_name(n).unwrap().name(), n);
    }
    for n in CALIBRATION_SET {
        assert!(names.iter().any(|x| x == n), "{n}");
    }
    let e = Bed::from_name("outbound-auth/tls").unwrap_err().to_string();
    assert!(
        e.contains("local/tls-resumed"),
        "lists the valid names: {e}"
    );
    let e = testbed::parse_beds("proxy-chain/udp,nope")
        .unwrap_err()
        .to_string();
    assert!(e.contains("'nope'"), "{e}");
    assert_eq!(testbed::parse_beds("all").unwrap().len(), 15);
}

fn plan(calls: u64) -> Plan {
    let flow = Fixtures::locate()
        .unwrap()
        .sip()
        .unwrap()
        .flow("basic")
        .unwrap()
        .clone();
    Plan::new(&flow, calls, 2, 1000.0).unwrap()
}

#[test]
fn short_runs_of_each_transport_and_tls_kind_complete() {
    let pki = Pki::locate().unwrap();
    let p = plan(4);
    for name in [
        "proxy-chain/udp",
        "proxy-chain/tcp",
        "proxy-chain/tls-aes",
        "outbound/tcp",
        "inbound/tls-mutual",
        "outbound/tls-resumed",
        "local/tls",
        "local/tls-resumed",
    ] {
        let r = testbed::run_bed(Bed::from_name(name).unwrap(), &p, &pki)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.name, name);
        assert_eq!(r.calls, 4);
        assert!(r.cpu_us_per_call > 0.0, "{name}: {r:?}");
    }
}

#[test]
fn plan_refuses_bad_sizes_and_the_auth_flow() {
    let corpus = Fixtures::locate().unwrap().sip().unwrap();
    let basic = corpus.flow("basic").unwrap();
    for (calls, rate) in [(0, 100.0), (10, 0.0), (10, f64::NAN), (1_000_000, 100.0)] {
        assert!(Plan::new(basic, calls, 0, rate).is_err(), "{calls} {rate}");
    }
    let e = Plan::new(corpus.flow("auth").unwrap(), 10, 0, 100.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("auth"), "{e}");
    let e = testbed::plan_for(100_000, 0, 1.0, 20, 15)
        .unwrap_err()
        .to_string();
    assert!(e.contains("would take"), "{e}");
    assert!(testbed::plan_for(10, 0, 100.0, 0, 15).is_err());
}

#[test]
fn testbed_csv_reads_back_as_a_calibration_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    let series: Vec<Series> = ["proxy-chain/udp", "local/tls"]
        .iter()
        .map(|n| Series {
            bed: Bed::from_name(n).unwrap(),
            runs: vec![100.0, 120.0, 110.0],
        })
        .collect();
    let rows: Vec<_> = series.iter().map(Series::measurement).collect();
    calibrate::write_csv(&path, &["a comment".into()], &rows).unwrap();
    let back = calibrate::read_file(&path).unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(back[1].config.name(), "local/tls");
    assert!((back[0].us - 110.0).abs() < 1e-9);
    assert_eq!(back[0].spread_us, Some(20.0));
}

/// Bare components with distinct values.
fn values() -> ComponentValues {
    let mut v = BTreeMap::new();
    for c in calibrate::universe() {
        for id in ComponentId::compose(&c) {
            let n = v.len() as f64;
            v.entry(id).or_insert(5.0 + 11.0 * n);
        }
    }
    v
}

#[test]
fn validation_on_consistent_data_predicts_every_configuration() {
    let v = values();
    // Data that the pooled model with a fixed µs per new TLS connection describes exactly.
    let factor = |k: Kind| match k {
        Kind::TransportUdp | Kind::TransportTcp => 2.0,
        Kind::Record => 1.5,
        Kind::TcpSetup(Side::Server) | Kind::TlsHandshake(Side::Server) => 1.3,
        Kind::TcpSetup(Side::Client) | Kind::TlsHandshake(Side::Client) => 1.6,
        Kind::Auth => 1.0,
        Kind::NewConnection(Side::Server) => 400.0,
        Kind::NewConnection(Side::Client) => 250.0,
    };
    let series: Vec<Series> = Bed::all()
        .into_iter()
        .map(|bed| {
            let us: f64 = ComponentId::compose(&bed.config())
                .iter()
                .map(|id| {
                    let term = match id {
                        ComponentId::TlsHandshake(s, _) => factor(Kind::NewConnection(*s)),
                        _ => 0.0,
                    };
                    factor(Kind::of(id)) * v[id] + term
                })
                .sum();
            Series {
                bed,
                runs: vec![us],
            }
        })
        .collect();
    let val = validate::validate(&series, &v).unwrap();
    assert_eq!(val.sets.len(), 3);
    assert_eq!(val.sets[0].predicted, 15 - CALIBRATION_SET.len());
    assert_eq!(val.sets[1].predicted, 15 - validate::PAPER_SET.len());
    assert_eq!(val.sets[2].predicted, 15 - validate::CONNECTION_SET.len());
    // Set C carries the per-connection terms and predicts every configuration exactly;
    // A and B, factors only, cannot represent a fixed cost per connection.
    let c = &val.sets[2];
    assert!(c.mean_abs_error < 1e-9, "{}: {}", c.label, c.mean_abs_error);
    assert_eq!(c.within_10, c.predicted);
    for s in &val.sets[..2] {
        assert!(s.mean_abs_error > 0.01, "{}: {}", s.label, s.mean_abs_error);
        assert!(s.calibration.factors.iter().all(|f| f.unit == "× bare"));
    }
    assert_eq!(val.local.len(), 4);
    for l in &val.local {
        assert!(
            (l.model_us[2].unwrap() / l.measured_us - 1.0).abs() < 1e-9,
            "{l:?}"
        );
    }
    let text = validate::render(&val);
    assert!(text.contains("Fig. 16") && text.contains("local/tls-mutual"));
    assert!(validate::svg(&val).unwrap().contains("<svg"));
    // Without one of the calibration configurations, validation says which is missing.
    let e = validate::validate(&series[1..], &v)
        .unwrap_err()
        .to_string();
    assert!(e.contains("proxy-chain/udp"), "{e}");
}

#[test]
fn a_call_the_proxy_cannot_forward_fails_the_run() {
    let pki = Pki::locate().unwrap();
    let mut flow = Fixtures::locate()
        .unwrap()
        .sip()
        .unwrap()
        .flow("basic")
        .unwrap()
        .clone();
    // The UAC's INVITE arrives with Max-Forwards 0: the proxy must answer it with a 483
    // instead of forwarding it (RFC 3261 16.3), and the run must end in an error, not a figure.
    let m = flow
        .messages
        .iter_mut()
        .find(|m| m.name == "invite")
        .expect("basic flow has an INVITE");
    let text = String::from_utf8(m.bytes.clone()).unwrap();
    assert!(text.contains("Max-Forwards: 70"));
    m.bytes = text
        .replacen("Max-Forwards: 70", "Max-Forwards: 0", 1)
        .into_bytes();
    let p = Plan::new(&flow, 2, 0, 1000.0).unwrap();
    for name in ["proxy-chain/udp", "proxy-chain/tls-aes"] {
        let e = testbed::run_bed(Bed::from_name(name).unwrap(), &p, &pki)
            .expect_err(name)
            .to_string();
        assert!(e.contains("483"), "{name}: {e}");
    }
}
