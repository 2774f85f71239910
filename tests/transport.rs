//! The SIP parser, the proxy's rewrite, and the transport components' self-checks.
//! Counts and contents only: no timing is asserted.

use proptest::prelude::*;
use tlscost::fixtures::{Direction, Fixtures, Legs};
use tlscost::names::Dimension;
use tlscost::sip::{self, Action, Leg, Proxy};
use tlscost::transport::{BaseFlow, ConnectAccept, TcpPair, UdpPair};
use tlscost::Error;

fn corpus() -> tlscost::fixtures::SipCorpus {
    Fixtures::locate()
        .and_then(|f| f.sip())
        .expect("fixtures/sip loads")
}

const PROXY_VIA: &str = "198.51.100.1:5061";
const PROXY_RR: &str = "sip:sip.tlscost.test:5061;transport=tls";

#[test]
fn every_fixture_message_parses() {
    let corpus = corpus();
    let all = corpus.unique_messages();
    assert!(all.len() >= 10, "corpus has {} messages", all.len());
    for m in all {
        let msg = sip::parse(&m.bytes).unwrap_or_else(|e| panic!("{}: {e}", m.name));
        let is_request = msg.method().is_some();
        assert_eq!(
            is_request,
            m.direction == Direction::UacToUas,
            "{}: requests go UAC to UAS",
            m.name
        );
        assert!(!msg.vias().is_empty(), "{}", m.name);
        let cl: usize = msg.header("content-length").unwrap().parse().unwrap();
        assert_eq!(cl, msg.body.len(), "{}", m.name);
        if is_request {
            assert_eq!(msg.max_forwards(), Some(70), "{}", m.name);
        }
    }
}

#[test]
fn request_rewrite_round_trip() {
    let corpus = corpus();
    let invite = &corpus.flow("basic").unwrap().messages[0];
    let mut proxy = Proxy::new(PROXY_VIA, PROXY_RR, false);
    let Action::Send(Leg::Uas, out) = proxy.handle(&invite.bytes).unwrap() else {
        panic!("INVITE must go to the UAS")
    };
    let before = sip::parse(&invite.bytes).unwrap();
    let after = sip::parse(&out).unwrap();
    assert_eq!(after.vias().len(), before.vias().len() + 1);
    assert_eq!(sip::via_sent_by(after.vias()[0]).unwrap(), PROXY_VIA);
    assert_eq!(after.vias()[1..], before.vias()[..]);
    assert_eq!(after.max_forwards(), Some(69));
    assert_eq!(
        after.record_routes().first().copied(),
        Some(format!("<{PROXY_RR};lr>").as_str())
    );
    assert_eq!(after.body, before.body);
    assert_eq!(after.start_raw, before.start_raw);

    // The UAS answers with the proxy's Via on top; the proxy strips it on the way back.
    let mut resp = b"SIP/2.0 180 Ringing\r\n".to_vec();
    for v in after.vias() {
        resp.extend_from_slice(format!("Via: {v}\r\n").as_bytes());
    }
    resp.extend_from_slice(b"From: <sip:alice@tlscost.test>;tag=1\r\nTo: <sip:bob@tlscost.test>;tag=2\r\nCall-ID: c1\r\nCSeq: 102 INVITE\r\nContent-Length: 0\r\n\r\n");
    let Action::Send(Leg::Uac, back) = proxy.handle(&resp).unwrap() else {
        panic!("a response goes to the UAC")
    };
    let back = sip::parse(&back).unwrap();
    assert_eq!(back.vias(), before.vias());
    assert_eq!(back.status(), Some(180));
}

#[test]
fn in_dialog_request_loses_the_proxy_route() {
    let corpus = corpus();
    let bye = corpus
        .unique_messages()
        .into_iter()
        .find(|m| m.name == "bye")
        .unwrap();
    let before = sip::parse(&bye.bytes).unwrap();
    assert_eq!(before.routes().len(), 1);
    let mut proxy = Proxy::new(PROXY_VIA, PROXY_RR, false);
    let Action::Send(Leg::Uas, out) = proxy.handle(&bye.bytes).unwrap() else {
        panic!("BYE must go to the UAS")
    };
    let after = sip::parse(&out).unwrap();
    assert!(after.routes().is_empty());
    assert!(
        after.record_routes().is_empty(),
        "only an INVITE is record-routed"
    );
}

#[test]
fn auth_proxy_challenges_then_absorbs_the_ack() {
    let corpus = corpus();
    let flow = &corpus.flow("auth").unwrap().messages;
    let mut proxy = Proxy::new(PROXY_VIA, PROXY_RR, true);
    let Action::Reply(407, reply) = proxy.handle(&flow[0].bytes).unwrap() else {
        panic!("the first INVITE is challenged")
    };
    let reply = sip::parse(&reply).unwrap();
    assert_eq!(reply.status(), Some(407));
    assert!(reply.header("proxy-authenticate").is_some());
    assert_eq!(flow[2].name, "ack-407");
    assert_eq!(flow[2].legs, Legs::Left);
    assert_eq!(proxy.handle(&flow[2].bytes).unwrap(), Action::Absorb);
    // The INVITE with credentials goes through.
    assert!(matches!(
        proxy.handle(&flow[3].bytes).unwrap(),
        Action::Send(Leg::Uas, _)
    ));
}

#[test]
fn response_not_for_this_proxy_is_refused() {
    let corpus = corpus();
    let ringing = corpus
        .unique_messages()
        .into_iter()
        .find(|m| m.name == "180-ringing")
        .unwrap();
    let mut proxy = Proxy::new("203.0.113.99:5060", PROXY_RR, false);
    assert!(matches!(
        proxy.handle(&ringing.bytes),
        Err(Error::Sip { .. })
    ));
}

#[test]
fn malformed_messages_are_errors() {
    let cases: &[&[u8]] = &[
        b"",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\n",
        b"INVITE sip:bob@x SIP/3.0\r\nVia: SIP/2.0/UDP a\r\n\r\n",
        b"INVITE\r\nVia: SIP/2.0/UDP a\r\n\r\n",
        b"SIP/2.0 999 Nope\r\nVia: SIP/2.0/UDP a\r\n\r\n",
        b"SIP/2.0 abc OK\r\nVia: SIP/2.0/UDP a\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\nMax-Forwards: 70\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: HTTP/1.1 a\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nContent-Length: 10\r\n\r\nshort",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nContent-Length: x\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nMax-Forwards: 300\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nNo colon here\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\n continuation\r\nVia: SIP/2.0/UDP a\r\n\r\n",
        b"INVITE sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nX\xff: y\r\n\r\n",
    ];
    for (i, c) in cases.iter().enumerate() {
        match sip::parse(c) {
            Err(Error::Sip { what }) => assert!(!what.is_empty()),
            other => panic!("case {i} should be refused, got {other:?}"),
        }
    }
    // Max-Forwards 0 parses, and the proxy answers 483 instead of forwarding it.
    let zero = b"OPTIONS sip:bob@x SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\nMax-Forwards: 0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:bob@x>\r\nCall-ID: z\r\nCSeq: 1 OPTIONS\r\n\r\n";
    assert!(sip::parse(zero).is_ok());
    let mut proxy = Proxy::new(PROXY_VIA, PROXY_RR, false);
    assert!(matches!(proxy.handle(zero), Ok(Action::Reply(483, _))));
}

#[test]
fn compact_and_folded_headers_parse() {
    let m = b"OPTIONS sip:bob@x SIP/2.0\r\nv: SIP/2.0/UDP a;branch=z9hG4bK1, SIP/2.0/UDP b\r\nf: <sip:a@x>;tag=1\r\nt: <sip:bob@x>\r\ni: c\r\nCSeq: 1 OPTIONS\r\nSubject: one\r\n  two\r\nl: 2\r\n\r\nhiEXTRA";
    let msg = sip::parse(m).unwrap();
    assert_eq!(msg.vias().len(), 2);
    assert_eq!(msg.body, b"hi");
    assert!(msg.header("subject").unwrap().contains("two"));
}

#[test]
fn transport_pairs_deliver_every_message_intact() {
    let corpus = corpus();
    let mut udp = UdpPair::new().unwrap();
    let mut tcp = TcpPair::new().unwrap();
    for m in corpus.unique_messages() {
        udp.check(&m.name, &m.bytes).unwrap();
        tcp.check(&m.name, &m.bytes).unwrap();
        assert_eq!(udp.send_recv(&m.bytes).unwrap(), &m.bytes[..]);
    }
    let ca = ConnectAccept::new().unwrap();
    ca.check("connect").unwrap();
    for _ in 0..20 {
        ca.connect_timed().unwrap();
        ca.accept_timed().unwrap();
    }
}

#[test]
fn base_calls_forward_every_message() {
    let corpus = corpus();
    for flow in BaseFlow::ALL {
        let mut call = flow.setup(&corpus).unwrap();
        let n = corpus.flow(flow.flow_name()).unwrap().messages.len();
        // The 407 is produced by the proxy, not received by it.
        let expected = if flow.auth() { n - 1 } else { n };
        assert_eq!(call.messages_per_call(), expected, "{}", flow.label());
        assert!(call.run_call().is_err(), "run before check is refused");
        call.check(&flow.bench_id().full()).unwrap();
        for _ in 0..5 {
            call.run_call().unwrap();
        }
    }
}

fn mutate(bytes: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut b = bytes.to_vec();
    for &(i, v) in edits {
        if !b.is_empty() {
            let i = i % b.len();
            b[i] = v;
        }
    }
    b.truncate(cut % (b.len() + 1));
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = sip::parse(&bytes);
        let mut proxy = Proxy::new(PROXY_VIA, PROXY_RR, true);
        let _ = proxy.handle(&bytes);
    }

    #[test]
    fn mutated_messages_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<usize>(), prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(b','), Just(b' '), Just(b';'), Just(b'"'), Just(b'<'), any::<u8>()]), 0..8),
        cut in any::<usize>(),
    ) {
        let corpus = corpus();
        let all = corpus.unique_messages();
        let m = all[which % all.len()];
        let bytes = mutate(&m.bytes, &edits, cut.max(m.bytes.len() / 2));
        let _ = sip::parse(&bytes);
        let mut proxy = Proxy::new(PROXY_VIA, PROXY_RR, true);
        if let Ok(Action::Send(_, out)) = proxy.handle(&bytes) {
            // Whatever the proxy emits is itself a valid message.
            prop_assert!(sip::parse(&out).is_ok());
        }
    }
}

#[test]
fn difference_benches_check_and_time_every_part() {
    use tlscost::transport::{CallFlows, Difference, DifferenceBench, DIFFERENCE_BATCH};
    let corpus = corpus();
    let (basic, auth) = (corpus.flow("basic").unwrap(), corpus.flow("auth").unwrap());
    let flows = CallFlows { basic, auth };
    for d in Difference::ALL {
        let mut bench = DifferenceBench::new(*d, flows).unwrap();
        bench
            .check()
            .unwrap_or_else(|e| panic!("{}: {e}", d.label()));
        // Two batches, one in each order: every part ran and took time.
        let cpu = bench.parts_cpu(DIFFERENCE_BATCH + 1).unwrap();
        assert_eq!(cpu.len(), d.parts(flows).len(), "{}", d.label());
        assert!(
            cpu.iter().all(|t| *t > std::time::Duration::ZERO),
            "{}: {cpu:?}",
            d.label()
        );
        let mut negatives = bench.negatives();
        assert!(bench.sample(2, &mut negatives).unwrap() > std::time::Duration::ZERO);
    }
    // A basic flow the UDP base cannot proxy (no response comes back through it) is refused
    // when the bench is set up, saying why.
    let mut requests_only = basic.clone();
    requests_only
        .messages
        .retain(|m| m.direction == Direction::UacToUas);
    let flows = CallFlows {
        basic: &requests_only,
        auth,
    };
    let e = DifferenceBench::new(Difference::AuthUdp, flows)
        .err()
        .expect("refused")
        .to_string();
    assert!(e.contains("no response relayed"), "{e}");
}
