//! The SIP corpus of `tests/data/sip`: valid and invalid messages and streams of every kind
//! the parser, the proxy and the stream framer must get right (RFC 3261 sections 7, 16,
//! 18.3 and 25; RFC 5626 4.4.1), each with its expected verdict in `verdicts.tsv`, the
//! cases found outside the project (`E*`, `S*`, `W*`, copied byte for byte from
//! `shared/cases/sip`) among them. Prints the counts by kind and verdict.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::PathBuf;
use tlscost::sip::stream::{Frame, Framer, PONG};
use tlscost::sip::{self, Action, Leg, Name, Proxy, Transport};
use tlscost::Error;

const PROXY_SENT_BY: &str = "198.51.100.1:5061";
const PROXY_ROUTE: &str = "sip:sip.tlscost.test:5061;transport=tls";

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/sip")
}

struct Case {
    file: String,
    kind: String,
    verdict: String,
    detail: String,
    bytes: Vec<u8>,
}

fn cases() -> Vec<Case> {
    let index = std::fs::read_to_string(dir().join("verdicts.tsv")).expect("verdicts.tsv");
    let mut out = Vec::new();
    for line in index
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "verdicts.tsv: {line:?}");
        let bytes =
            std::fs::read(dir().join(cols[0])).unwrap_or_else(|e| panic!("{}: {e}", cols[0]));
        out.push(Case {
            file: cols[0].into(),
            kind: cols[1].into(),
            verdict: cols[2].into(),
            detail: cols[3].into(),
            bytes,
        });
    }
    out
}

fn proxy() -> Proxy {
    Proxy::new(PROXY_SENT_BY, PROXY_ROUTE, false).downstream(Transport::Tls)
}

/// An in-memory connection: reads the given bytes in chunks of `chunk`, records writes.
struct Pipe {
    input: Vec<u8>,
    pos: usize,
    chunk: usize,
    written: Vec<u8>,
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The frames of a whole stream, read `chunk` bytes at a time; the error, if any, ends it.
fn frames(bytes: &[u8], chunk: usize) -> (Vec<Frame>, Option<String>) {
    let mut pipe = Pipe {
        input: bytes.to_vec(),
        pos: 0,
        chunk,
        written: Vec::new(),
    };
    let mut framer = Framer::new("corpus connection");
    let mut out = Vec::new();
    loop {
        match framer.read_frame(&mut pipe) {
            Ok(f) => out.push(f),
            Err(Error::Io { .. }) if framer.is_empty() => return (out, None),
            Err(e) => return (out, Some(e.to_string())),
        }
    }
}

fn frame_names(frames: &[Frame]) -> String {
    let names: Vec<&str> = frames
        .iter()
        .map(|f| match f {
            Frame::Message(_) => "message",
            Frame::Ping => "ping",
            Frame::Pong => "pong",
        })
        .collect();
    names.join(",")
}

/// The fields the proxy reads, as text, to compare two parses.
fn fields(m: &sip::Message<'_>) -> String {
    format!(
        "{:?} vias={:?} mf={:?} cl={:?} cseq={:?} call-id={:?} body={}",
        m.start,
        m.vias(),
        m.max_forwards(),
        m.content_length,
        m.cseq,
        m.first(Name::CallId),
        m.body.len()
    )
}

#[test]
fn every_case_gets_its_verdict() {
    let all = cases();
    assert!(all.len() >= 70, "{} cases", all.len());
    let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut branches = HashSet::new();
    let mut p = proxy();
    for c in &all {
        let what = format!("{} ({} {} {})", c.file, c.kind, c.verdict, c.detail);
        match c.verdict.as_str() {
            "accept" => {
                let m = sip::parse(&c.bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
                // The same message on a stream frames whole and parses the same.
                if m.content_length.is_some() {
                    let (f, e) = frames(&c.bytes, 7);
                    assert_eq!(e, None, "{what}");
                    let [Frame::Message(framed)] = f.as_slice() else {
                        panic!("{what}: frames {}", frame_names(&f))
                    };
                    assert_eq!(fields(&sip::parse(framed).unwrap()), fields(&m), "{what}");
                }
                if c.detail == "udp-refused" {
                    assert!(
                        sip::check_udp_size(&c.file, c.bytes.len()).is_err(),
                        "{what}"
                    );
                } else {
                    sip::check_udp_size(&c.file, c.bytes.len()).unwrap();
                }
            }
            "refuse" => match sip::parse(&c.bytes) {
                Err(Error::Sip { what: e }) => assert!(
                    e.to_lowercase().contains(&c.detail.to_lowercase()),
                    "{what}: error '{e}' does not say '{}'",
                    c.detail
                ),
                other => panic!("{what}: expected a refusal, got {other:?}"),
            },
            "answer" => {
                let (code, unsupported) = c.detail.split_once(' ').unwrap_or((&c.detail, ""));
                let Action::Reply(got, bytes) =
                    p.handle(&c.bytes).unwrap_or_else(|e| panic!("{what}: {e}"))
                else {
                    panic!("{what}: the proxy did not answer")
                };
                assert_eq!(got.to_string(), code, "{what}");
                let reply = sip::parse(&bytes).unwrap();
                let req = sip::parse(&c.bytes).unwrap();
                assert_eq!(reply.status().map(|s| s.to_string()).as_deref(), Some(code));
                assert_eq!(reply.vias(), req.vias(), "{what}: Vias copied");
                assert_eq!(reply.cseq, req.cseq, "{what}");
                assert!(reply.tag(Name::To).is_some(), "{what}: To tag added");
                if let Some(tags) = unsupported.strip_prefix("unsupported=") {
                    assert_eq!(reply.header("unsupported"), Some(tags), "{what}");
                }
            }
            "forward" => {
                let req = sip::parse(&c.bytes).unwrap();
                let Action::Send(Leg::Uas, out) =
                    p.handle(&c.bytes).unwrap_or_else(|e| panic!("{what}: {e}"))
                else {
                    panic!("{what}: not forwarded")
                };
                let fwd = sip::parse(&out).unwrap();
                let top = fwd.top_via().unwrap();
                assert_eq!(
                    top.transport, "TLS",
                    "{what}: the proxy's Via names the leg's transport"
                );
                assert!(top.is_rfc3261(), "{what}");
                assert!(
                    branches.insert(top.branch.unwrap().to_string()),
                    "{what}: branch reused"
                );
                assert_eq!(fwd.vias()[1..], req.vias()[..], "{what}");
                let (key, value) = c.detail.split_once('=').unwrap_or((&c.detail, ""));
                match key {
                    "max-forwards" => assert_eq!(
                        fwd.max_forwards().map(|m| m.to_string()).as_deref(),
                        Some(value),
                        "{what}"
                    ),
                    "routes" => assert_eq!(fwd.routes().len().to_string(), value, "{what}"),
                    "branch" => {
                        // A retransmission maps to the same downstream branch.
                        let Action::Send(_, again) = proxy().handle(&c.bytes).unwrap() else {
                            panic!()
                        };
                        assert_eq!(
                            sip::parse(&again).unwrap().top_via().unwrap().branch,
                            top.branch,
                            "{what}"
                        );
                    }
                    other => panic!("{what}: unknown forward check {other}"),
                }
            }
            "frames" => {
                let whole = frames(&c.bytes, usize::MAX);
                for chunk in [1, 3, 64] {
                    assert_eq!(frames(&c.bytes, chunk), whole, "{what}: chunks of {chunk}");
                }
                assert_eq!(whole.1, None, "{what}");
                assert_eq!(frame_names(&whole.0), c.detail, "{what}");
                for f in &whole.0 {
                    if let Frame::Message(m) = f {
                        sip::parse(m).unwrap_or_else(|e| panic!("{what}: framed message: {e}"));
                    }
                }
                // A ping is answered with a pong on the same connection.
                let pings = whole.0.iter().filter(|f| **f == Frame::Ping).count();
                let mut pipe = Pipe {
                    input: c.bytes.clone(),
                    pos: 0,
                    chunk: 5,
                    written: Vec::new(),
                };
                let mut framer = Framer::new("corpus connection");
                let messages = whole
                    .0
                    .iter()
                    .filter(|f| matches!(f, Frame::Message(_)))
                    .count();
                for _ in 0..messages {
                    framer.read_message(&mut pipe, "corpus").unwrap();
                }
                assert_eq!(pipe.written, PONG.repeat(pings), "{what}");
            }
            "error" => {
                let (_, e) = frames(&c.bytes, 5);
                let e = e.unwrap_or_else(|| panic!("{what}: no framing error"));
                assert!(
                    e.contains("corpus connection") && e.contains(&c.detail),
                    "{what}: {e}"
                );
            }
            other => panic!("{what}: unknown verdict {other}"),
        }
        *counts
            .entry((c.kind.clone(), c.verdict.clone()))
            .or_default() += 1;
    }
    eprintln!("SIP corpus: {} cases", all.len());
    for ((kind, verdict), n) in &counts {
        eprintln!("  {kind:<10} {verdict:<8} {n}");
    }
}

#[test]
fn a_framing_error_sticks() {
    let mut f = Framer::new("conn 7");
    f.push(b"OPTIONS sip:b@x SIP/2.0\r\nContent-Length: x\r\n\r\n");
    let e1 = f.next_frame().unwrap_err().to_string();
    f.push(b"\r\n\r\n");
    let e2 = f.next_frame().unwrap_err().to_string();
    assert_eq!(e1, e2);
    assert!(
        e1.contains("conn 7") && e1.contains("must be closed"),
        "{e1}"
    );
}

#[test]
fn a_pong_is_recognised_after_our_ping() {
    let mut pipe = Pipe {
        input: b"\r\n".to_vec(),
        pos: 0,
        chunk: 64,
        written: Vec::new(),
    };
    let mut f = Framer::new("client");
    f.keepalive(&mut pipe).unwrap();
    assert_eq!(pipe.written, b"\r\n\r\n");
    // Without a ping of ours, a lone CRLF is only skipped (RFC 3261 7.5).
    let mut f = Framer::new("server");
    f.push(b"\r\n");
    assert_eq!(f.next_frame().unwrap(), None);
}

#[test]
fn the_end_of_a_stream_mid_message_names_the_connection() {
    let mut pipe = Pipe {
        input: b"OPTIONS sip:b@x SIP/2.0\r\nl: 5\r\n\r\nhe".to_vec(),
        pos: 0,
        chunk: 64,
        written: Vec::new(),
    };
    let mut f = Framer::new("uas 3");
    let e = f.read_frame(&mut pipe).unwrap_err().to_string();
    assert!(
        e.contains("uas 3") && e.contains("bytes of a message"),
        "{e}"
    );
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// A header name in a random case, or its compact form.
    fn name(long: &'static str, compact: Option<char>) -> impl Strategy<Value = String> {
        let forms: Vec<String> = [Some(long.to_string()), compact.map(|c| c.to_string())]
            .into_iter()
            .flatten()
            .collect();
        (proptest::sample::select(forms), any::<u64>()).prop_map(|(n, bits)| {
            n.chars()
                .enumerate()
                .map(|(i, c)| {
                    if bits >> (i % 64) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect()
        })
    }

    /// White space the grammar allows: nothing, spaces and tabs, or a fold.
    fn lws() -> impl Strategy<Value = &'static str> {
        proptest::sample::select(vec!["", " ", "\t", "  ", "\r\n ", " \r\n\t"])
    }

    prop_compose! {
        fn message()(
            via_name in name("via", Some('v')),
            cl_name in name("content-length", Some('l')),
            to_name in name("to", Some('t')),
            (a, b, c, d) in (lws(), lws(), lws(), lws()),
            port in proptest::option::of(1u16..),
            v6 in any::<bool>(),
            mf in proptest::option::of(0u8..),
            cseq in 0u32..(1 << 31),
            body in "[a-z=\\r\\n ]{0,40}",
            extra in proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,12}", "[ -~]{0,30}"), 0..4),
            version in proptest::sample::select(vec!["SIP/2.0", "sip/2.0", "Sip/2.0"]),
        ) -> Vec<u8> {
            let host = if v6 { "[2001:db8::7]" } else { "192.0.2.7" };
            let port = port.map_or(String::new(), |p| format!("{c}:{d}{p}"));
            let mut m = format!("INVITE sip:bob@{host} {version}\r\n");
            m += &format!("{via_name}:{a}SIP{b}/{c}2.0/{d}TLS {host}{port}{a};{b}branch{c}={d}z9hG4bK{cseq}\r\n");
            if let Some(mf) = mf {
                m += &format!("Max-Forwards:{a}{mf}{b}\r\n");
            }
            m += &format!("{to_name}: <sip:bob@{host}>\r\nFrom: <sip:a@x>;tag=1\r\ni: c{cseq}\r\nCSeq:{a}{cseq}{d} INVITE\r\n");
            for (n, v) in extra {
                let n = if n.len() == 1 { format!("X-{n}") } else { n };
                m += &format!("X-{n}:{}\r\n", v.trim_end());
            }
            m += &format!("{cl_name}:{b}{}{c}\r\n\r\n{body}", body.len());
            m.into_bytes()
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// A valid message parses; written back out it parses to the same fields; on a
        /// stream it frames whole.
        #[test]
        fn parse_serialise_parse(bytes in message()) {
            let first = sip::parse(&bytes).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&bytes))))?;
            let again = first.to_bytes();
            let second = sip::parse(&again).map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&again))))?;
            prop_assert_eq!(fields(&first), fields(&second));
            prop_assert_eq!(first.headers.len(), second.headers.len());
            let (f, e) = frames(&bytes, 11);
            prop_assert_eq!(e, None);
            prop_assert_eq!(f, vec![Frame::Message(bytes.clone())]);
        }
    }
}

/// The committed WebRTC flow: loadable, every message over the proxy's self-check, UDP
/// refused by its size, and the testbed runs it over TLS.
#[test]
fn the_webrtc_flow_runs_on_tls_and_not_on_udp() {
    use tlscost::testbed::{run_bed, Bed, Plan};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("flows/webrtc");
    let report = tlscost::flow::check(&dir).unwrap();
    assert!(report.usable() && report.model.is_ok());
    let basic = &report.flows[0];
    assert!(basic.udp.is_err() && basic.testbed.is_ok());
    assert!(basic
        .messages
        .iter()
        .any(|m| m.name == "sip-webrtc-invite" && m.bytes > 5000 && !m.udp));
    let corpus = tlscost::fixtures::load_dir(&dir).unwrap();
    let plan = Plan::new(corpus.flow("basic").unwrap(), 3, 1, 500.0).unwrap();
    let pki = tlscost::handshake::Pki::locate().unwrap();
    let udp = run_bed(Bed::from_name("proxy-chain/udp").unwrap(), &plan, &pki).unwrap_err();
    assert!(udp.to_string().contains("18.1.1"), "{udp}");
    let tls = run_bed(Bed::from_name("proxy-chain/tls-aes").unwrap(), &plan, &pki).unwrap();
    assert_eq!(tls.calls, 3);
    let notes = tlscost::flow::model_notes(&[corpus.flow("basic").unwrap()]);
    assert!(
        notes.iter().any(|n| n.contains("needs TCP or TLS")),
        "{notes:?}"
    );
}
