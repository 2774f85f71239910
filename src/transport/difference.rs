//! The model's transport components that are differences of benches, each measured as one
//! bench ([`crate::interleave`]): TCP's extra cost over UDP for a call, and what SIP proxy
//! authentication (the 407 challenge, RFC 3261 22.3) adds to a call over UDP and over TCP.
//!
//! Each is the weighted sum of benches the suite also measures on their own (send-recv of
//! one message over UDP or TCP, the base's call): [`Difference::parts`] lists them, with the
//! same weights the model used when it summed them, so the interleaved figure replaces that
//! sum one for one. Message weights follow [`crate::model::components::transfer_weight`]: a message on
//! both legs counts once (a full send + receive), a left-leg message half.

use super::{base_bench_id, tcp_send_recv_id, udp_send_recv_id, TcpPair, UdpPair, UdpProxyCall};
use crate::cputime;
use crate::fixtures::SipFlow;
use crate::interleave::{self, NegativeSamples};
use crate::model::components::transfer_weight;
use crate::names::{BenchId, Dimension};
use crate::Result;
use std::time::Duration;

/// A transport component measured as one difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Difference {
    /// TCP's extra over UDP for the basic call: Σ weight × (TCP − UDP send-recv) over its
    /// messages (the model's `tcp-extra`).
    TcpExtra,
    /// The challenged call minus the basic call through the UDP base (`auth-udp`).
    AuthUdp,
    /// [`Difference::AuthUdp`] plus TCP's extra over UDP for the messages the challenge adds
    /// or changes (`auth-tcp`; TLS adds its records' difference to this in the model).
    AuthTcp,
}

impl Dimension for Difference {
    const ALL: &'static [Self] = &[
        Difference::TcpExtra,
        Difference::AuthUdp,
        Difference::AuthTcp,
    ];
    fn label(&self) -> &'static str {
        match self {
            Difference::TcpExtra => "tcp-extra",
            Difference::AuthUdp => "auth-udp",
            Difference::AuthTcp => "auth-tcp",
        }
    }
}

/// One bench a difference is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// One message sent and received over UDP (by message name).
    Udp(String),
    /// The same over an established TCP connection.
    Tcp(String),
    /// One call of the basic flow through the UDP base.
    BasicCall,
    /// One call of the challenged flow through the UDP base.
    AuthCall,
}

/// The call flows a difference reads: the basic call and the same call challenged first.
#[derive(Debug, Clone, Copy)]
pub struct CallFlows<'a> {
    /// INVITE .. 200 OK (BYE).
    pub basic: &'a SipFlow,
    /// The same after INVITE, 407, ACK.
    pub auth: &'a SipFlow,
}

impl Part {
    /// The name of the bench that measures this part on its own.
    pub fn bench(&self, flows: CallFlows) -> String {
        match self {
            Part::Udp(m) => udp_send_recv_id(m).full(),
            Part::Tcp(m) => tcp_send_recv_id(m).full(),
            Part::BasicCall => base_bench_id(flows.basic).full(),
            Part::AuthCall => base_bench_id(flows.auth).full(),
        }
    }
}

/// Σ weight × (TCP − UDP) over `flow`'s messages, times `sign`, into `out`.
fn tcp_over_udp(out: &mut Vec<(Part, f64)>, flow: &SipFlow, sign: f64) {
    for m in &flow.messages {
        let w = sign * transfer_weight(m.legs);
        add(out, Part::Tcp(m.name.clone()), w);
        add(out, Part::Udp(m.name.clone()), -w);
    }
}

/// Adds `w` to `part`'s weight (a part both flows carry cancels instead of running twice).
fn add(out: &mut Vec<(Part, f64)>, part: Part, w: f64) {
    match out.iter_mut().find(|(p, _)| *p == part) {
        Some((_, acc)) => *acc += w,
        None => out.push((part, w)),
    }
}

impl Difference {
    /// The bench's name: `transport/tcp-extra/<call>`, `base/auth-udp/<call>`,
    /// `base/auth-tcp/<call>`, where `<call>` is the function of the base bench of the flow it
    /// is about (`call-basic`, `call-auth`; `<set>-call-...` for a `--flow DIR` directory).
    pub fn id(self, flows: CallFlows) -> BenchId {
        let call = |f: &SipFlow| {
            let base = base_bench_id(f);
            base.function
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string()
        };
        match self {
            Difference::TcpExtra => BenchId::new("transport", &[self.label(), &call(flows.basic)]),
            _ => BenchId::new("base", &[self.label(), &call(flows.auth)]),
        }
    }

    /// The parts and their weights, parts of weight 0 left out (a message both flows carry
    /// on the same legs cancels in the auth differences).
    pub fn parts(self, flows: CallFlows) -> Vec<(Part, f64)> {
        let mut out = Vec::new();
        match self {
            Difference::TcpExtra => tcp_over_udp(&mut out, flows.basic, 1.0),
            Difference::AuthUdp | Difference::AuthTcp => {
                add(&mut out, Part::AuthCall, 1.0);
                add(&mut out, Part::BasicCall, -1.0);
                if self == Difference::AuthTcp {
                    tcp_over_udp(&mut out, flows.auth, 1.0);
                    tcp_over_udp(&mut out, flows.basic, -1.0);
                }
            }
        }
        out.retain(|(_, w)| w.abs() > 1e-12);
        out
    }

    /// The parts as `(bench, weight)`, the sum the model used before this bench existed.
    pub fn bench_terms(self, flows: CallFlows) -> Vec<(String, f64)> {
        self.parts(flows)
            .into_iter()
            .map(|(p, w)| (p.bench(flows), w))
            .collect()
    }

    /// What a negative sample of this difference measured, and what else than a change of
    /// the machine's speed could make most samples negative.
    pub fn negatives(self) -> NegativeSamples {
        match self {
            Difference::TcpExtra => NegativeSamples::new(
                "measured the call's messages cheaper over TCP than over UDP",
                "TCP does less work than UDP on this kernel (compare the transport/tcp and transport/udp send-recv benches)",
            ),
            _ => NegativeSamples::new(
                "measured the challenged call cheaper than the basic call",
                "the challenged flow carries less than the basic one (check the flows' messages)",
            ),
        }
    }
}

/// The bytes of message `name` (every part's message is one of the flows').
fn message<'a>(messages: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    messages
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, b)| b.as_slice())
        .unwrap_or_default()
}

/// Runs per batch of one part: small enough that the parts alternate every few hundred µs
/// (here a send-recv took 2-4 µs of CPU, a call through the base 35-55 µs).
pub const DIFFERENCE_BATCH: u64 = 8;

/// A [`Difference`] set up to be measured: its UDP and TCP pairs and its UDP base calls.
pub struct DifferenceBench {
    difference: Difference,
    id: BenchId,
    parts: Vec<(Part, f64)>,
    messages: Vec<(String, Vec<u8>)>,
    udp: UdpPair,
    tcp: TcpPair,
    basic: UdpProxyCall,
    auth: UdpProxyCall,
}

impl DifferenceBench {
    /// Sets up `difference` for `flows`. Errors: a socket cannot be bound or connected, or a
    /// flow cannot be proxied ([`UdpProxyCall::new`]).
    pub fn new(difference: Difference, flows: CallFlows) -> Result<DifferenceBench> {
        let call = |f: &SipFlow, auth: bool| {
            let msgs: Vec<super::FlowMessage> =
                f.messages.iter().map(super::FlowMessage::from).collect();
            UdpProxyCall::new(&msgs, auth)
        };
        let messages = flows
            .basic
            .messages
            .iter()
            .chain(&flows.auth.messages)
            .map(|m| (m.name.clone(), m.bytes.clone()))
            .collect();
        Ok(DifferenceBench {
            difference,
            id: difference.id(flows),
            parts: difference.parts(flows),
            messages,
            udp: UdpPair::new()?,
            tcp: TcpPair::new()?,
            basic: call(flows.basic, false)?,
            auth: call(flows.auth, true)?,
        })
    }

    /// The bench's name.
    pub fn id(&self) -> &BenchId {
        &self.id
    }

    /// A negative-sample tally for this bench.
    pub fn negatives(&self) -> NegativeSamples {
        self.difference.negatives()
    }

    /// Self-check before timing: every part passes its own bench's check (each message
    /// arrives intact over UDP and TCP; each call is proxied as the flow says). Failure:
    /// [`crate::Error::SelfCheck`] naming this bench.
    pub fn check(&mut self) -> Result<()> {
        let DifferenceBench {
            id,
            parts,
            messages,
            udp,
            tcp,
            basic,
            auth,
            ..
        } = self;
        let bench = id.full();
        for (part, _) in parts.iter() {
            match part {
                Part::Udp(m) => udp.check(&bench, message(messages, m))?,
                Part::Tcp(m) => tcp.check(&bench, message(messages, m))?,
                Part::BasicCall => basic.check(&bench)?,
                Part::AuthCall => auth.check(&bench)?,
            }
        }
        Ok(())
    }

    fn run(&mut self, part: usize, n: u64) -> Result<Duration> {
        let DifferenceBench {
            parts,
            messages,
            udp,
            tcp,
            basic,
            auth,
            ..
        } = self;
        match &parts[part].0 {
            Part::Udp(m) => {
                let msg = message(messages, m);
                cputime::measure(n, || udp.send_recv(msg).map(|r| r.len()))
            }
            Part::Tcp(m) => {
                let msg = message(messages, m);
                cputime::measure(n, || tcp.send_recv(msg).map(|r| r.len()))
            }
            Part::BasicCall => cputime::sum(n, || basic.run_call()),
            Part::AuthCall => cputime::sum(n, || auth.run_call()),
        }
    }

    /// Each part's CPU time over `iters` runs, in [`Difference::parts`] order, the parts in
    /// alternating batches of [`DIFFERENCE_BATCH`].
    pub fn parts_cpu(&mut self, iters: u64) -> Result<Vec<Duration>> {
        let n = self.parts.len();
        interleave::alternate(n, iters, DIFFERENCE_BATCH, |p, k| self.run(p, k))
    }

    /// One criterion sample (`iter_custom`): the difference over `iters` calls (Σ weight ×
    /// [`DifferenceBench::parts_cpu`]); [`interleave::FLOOR`] when negative (counted in
    /// `negatives`).
    pub fn sample(&mut self, iters: u64, negatives: &mut NegativeSamples) -> Result<Duration> {
        let totals = self.parts_cpu(iters)?;
        let weights: Vec<f64> = self.parts.iter().map(|(_, w)| *w).collect();
        let ns = interleave::weighted_ns(&weights, &totals).round() as i128;
        let (d, negative) = interleave::floored(ns);
        negatives.count(negative);
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{Direction, Legs, SipMessage};
    use Part::*;

    fn flow(name: &str, set: Option<&str>, messages: &[(&str, Legs)]) -> SipFlow {
        SipFlow {
            name: name.into(),
            set: set.map(String::from),
            messages: messages
                .iter()
                .map(|(m, legs)| SipMessage {
                    name: m.to_string(),
                    path: format!("{m}.sip").into(),
                    bytes: m.as_bytes().to_vec(),
                    direction: Direction::UacToUas,
                    legs: *legs,
                })
                .collect(),
        }
    }

    /// Basic: a, b on both legs. Challenged: c, d on the left leg, then a2 (the INVITE with
    /// credentials, in place of a) and b.
    fn flows() -> (SipFlow, SipFlow) {
        (
            flow("basic", None, &[("a", Legs::Both), ("b", Legs::Both)]),
            flow(
                "auth",
                None,
                &[
                    ("c", Legs::Left),
                    ("d", Legs::Left),
                    ("a2", Legs::Both),
                    ("b", Legs::Both),
                ],
            ),
        )
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    #[test]
    fn the_parts_are_the_models_sums() {
        let (basic, auth) = flows();
        let f = CallFlows {
            basic: &basic,
            auth: &auth,
        };
        assert_eq!(
            Difference::TcpExtra.parts(f),
            [
                (Tcp(s("a")), 1.0),
                (Udp(s("a")), -1.0),
                (Tcp(s("b")), 1.0),
                (Udp(s("b")), -1.0)
            ]
        );
        assert_eq!(
            Difference::AuthUdp.parts(f),
            [(AuthCall, 1.0), (BasicCall, -1.0)]
        );
        // b is in both calls on the same legs: it cancels. a2 replaces a.
        assert_eq!(
            Difference::AuthTcp.parts(f),
            [
                (AuthCall, 1.0),
                (BasicCall, -1.0),
                (Tcp(s("c")), 0.5),
                (Udp(s("c")), -0.5),
                (Tcp(s("d")), 0.5),
                (Udp(s("d")), -0.5),
                (Tcp(s("a2")), 1.0),
                (Udp(s("a2")), -1.0),
                (Tcp(s("a")), -1.0),
                (Udp(s("a")), 1.0)
            ]
        );
        assert_eq!(
            Difference::AuthTcp.bench_terms(f)[..3],
            [
                (s("base/udp-proxy/call-auth"), 1.0),
                (s("base/udp-proxy/call-basic"), -1.0),
                (s("transport/tcp/send-recv/sip-c"), 0.5)
            ]
        );
    }

    #[test]
    fn names_follow_the_base_bench_of_the_flow() {
        let (basic, auth) = flows();
        let f = CallFlows {
            basic: &basic,
            auth: &auth,
        };
        let names: Vec<String> = Difference::ALL.iter().map(|d| d.id(f).full()).collect();
        assert_eq!(
            names,
            [
                "transport/tcp-extra/call-basic",
                "base/auth-udp/call-auth",
                "base/auth-tcp/call-auth"
            ]
        );
        let (b, a) = (
            flow("basic", Some("webrtc"), &[]),
            flow("auth", Some("webrtc"), &[]),
        );
        let f = CallFlows {
            basic: &b,
            auth: &a,
        };
        assert_eq!(
            Difference::TcpExtra.id(f).full(),
            "transport/tcp-extra/webrtc-call-basic"
        );
        assert_eq!(
            Difference::AuthTcp.id(f).full(),
            "base/auth-tcp/webrtc-call-auth"
        );
    }
}
