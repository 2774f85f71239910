//! The testbed's SIP proxy: one thread, blocking sockets, the signalling logic of
//! [`crate::sip::Proxy`] (Via naming each leg's transport, Max-Forwards, Record-Route
//! rewriting); over TCP/TLS it answers keep-alive pings ([`Framer`]), and over UDP it
//! refuses to send a message over 1,300 bytes (RFC 3261 18.1.1). Over TCP/TLS each side
//! keeps one connection (proxy chain) or takes a new one per call: accepted from the UAC
//! on the left (outbound, local), opened towards the UAS on the right (inbound, local),
//! as the paper's Table I. Its CPU is read from the thread's own CPU clock around the
//! measured calls; blocking waits do not count, every byte it handles does.

use super::wire::{self, Conn, Framer};
use super::{Plan, TlsEnd};
use crate::sip::{self, Action, Leg, Proxy, Transport};
use crate::{Error, Result};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

/// What the proxy measured and saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProxyReport {
    /// Calls whose every message was forwarded.
    pub calls: u64,
    /// Thread CPU time over the measured calls (after the warm-up), ns.
    pub cpu_ns: u64,
    /// Measured calls.
    pub measured_calls: u64,
    /// TLS handshakes as server (left) and how many resumed.
    pub left_handshakes: (u64, u64),
    /// TLS handshakes as client (right) and how many resumed.
    pub right_handshakes: (u64, u64),
    /// Left-side handshakes that verified a client certificate.
    pub left_client_certs: u64,
}

/// The proxy's logic; its Via names `downstream`, the transport of the leg towards the UAS.
fn new_proxy(plan: &Plan, downstream: Transport) -> Proxy {
    Proxy::new(plan.sent_by.clone(), plan.route_uri.clone(), false).downstream(downstream)
}

/// The proxy answered a request itself where the flow has it forwarded.
fn answered(step: &str, code: u16) -> Error {
    Error::SelfCheck {
        bench: "testbed proxy".into(),
        what: format!("{step}: the proxy answered {code} itself, the flow has it forwarded"),
    }
}

fn wrong_leg(step: &str, leg: Leg) -> Error {
    Error::SelfCheck {
        bench: "testbed proxy".into(),
        what: format!("{step}: the proxy sent it towards {leg:?}, the flow says the other side"),
    }
}

/// The proxy over UDP: one socket, the UAC and UAS at known addresses.
pub fn run_udp(
    plan: &Plan,
    sock: &UdpSocket,
    uac: SocketAddr,
    uas: SocketAddr,
) -> Result<ProxyReport> {
    let mut rep = ProxyReport::default();
    let mut proxy = new_proxy(plan, Transport::Udp);
    let mut buf = vec![0u8; crate::sip::MAX_MESSAGE];
    let mut t0 = wire::thread_cpu_ns()?;
    for i in 0..plan.total_calls() {
        if i == plan.warmup {
            t0 = wire::thread_cpu_ns()?;
        }
        for step in &plan.steps {
            let (n, from) = sock
                .recv_from(&mut buf)
                .map_err(|e| Error::io(format!("proxy: waiting for {}", step.name), e))?;
            let want = if step.from_uac { uac } else { uas };
            if from != want {
                return Err(Error::Usage(format!(
                    "proxy: {} came from {from}, expected {want}",
                    step.name
                )));
            }
            match proxy.handle(&buf[..n])? {
                Action::Send(leg, out) => {
                    let to = match (leg, step.from_uac) {
                        (Leg::Uas, true) => uas,
                        (Leg::Uac, false) => uac,
                        _ => return Err(wrong_leg(&step.name, leg)),
                    };
                    sip::check_udp_size(&step.name, out.len())?;
                    sock.send_to(&out, to)
                        .map_err(|e| Error::io(format!("proxy: forwarding {}", step.name), e))?;
                }
                Action::Reply(code, _) => return Err(answered(&step.name, code)),
                Action::Absorb => return Err(wrong_leg(&step.name, Leg::Uac)),
            }
        }
        rep.calls += 1;
    }
    rep.cpu_ns = wire::thread_cpu_ns()? - t0;
    rep.measured_calls = plan.calls;
    Ok(rep)
}

/// One side of the proxy over a stream transport.
struct Side<'a> {
    new_per_call: bool,
    conn: Option<Conn>,
    framer: Framer,
    tls: Option<&'a mut TlsEnd>,
    handshakes: (u64, u64),
    client_certs: u64,
}

impl Side<'_> {
    fn close(&mut self, what: &str) -> Result<()> {
        if let Some(c) = self.conn.take() {
            c.close();
        }
        if !self.framer.is_empty() {
            return Err(Error::Usage(format!(
                "proxy: bytes left on the {what} connection after the call"
            )));
        }
        Ok(())
    }
}

/// The proxy over TCP or TLS: `listener` takes the UAC's connections, `uas` is where it
/// connects to the UAS.
pub fn run_stream(
    plan: &Plan,
    listener: &TcpListener,
    uas: SocketAddr,
    (new_left, new_right): (bool, bool),
    (left_tls, right_tls): (Option<&mut TlsEnd>, Option<&mut TlsEnd>),
) -> Result<ProxyReport> {
    let mut left = Side {
        new_per_call: new_left,
        conn: None,
        framer: Framer::new("proxy (left, from the UAC)"),
        tls: left_tls,
        handshakes: (0, 0),
        client_certs: 0,
    };
    let mut right = Side {
        new_per_call: new_right,
        conn: None,
        framer: Framer::new("proxy (right, from the UAS)"),
        tls: right_tls,
        handshakes: (0, 0),
        client_certs: 0,
    };
    let accept = |s: &mut Side| -> Result<()> {
        wire::wait_readable(listener, "proxy")?;
        let (tcp, _) = listener
            .accept()
            .map_err(|e| Error::io("proxy: accepting the UAC's connection", e))?;
        wire::prepare(&tcp, "proxy (left)")?;
        s.conn = Some(match s.tls.as_deref_mut() {
            None => Conn::Tcp(tcp),
            Some(end) => {
                let (c, hs) = end.accept(tcp, "proxy (left)")?;
                s.handshakes.0 += 1;
                s.handshakes.1 += u64::from(hs.resumed);
                s.client_certs += u64::from(hs.client_certificate);
                c
            }
        });
        Ok(())
    };
    let connect = |s: &mut Side| -> Result<()> {
        let tcp =
            TcpStream::connect(uas).map_err(|e| Error::io("proxy: connecting to the UAS", e))?;
        wire::prepare(&tcp, "proxy (right)")?;
        s.conn = Some(match s.tls.as_deref_mut() {
            None => Conn::Tcp(tcp),
            Some(end) => {
                let (c, hs) = end.connect(tcp, "proxy (right)")?;
                s.handshakes.0 += 1;
                s.handshakes.1 += u64::from(hs.resumed);
                c
            }
        });
        Ok(())
    };
    // Persistent connections are set up before anything is measured.
    if !left.new_per_call {
        accept(&mut left)?;
    }
    if !right.new_per_call {
        connect(&mut right)?;
    }
    let downstream = if right.tls.is_some() {
        Transport::Tls
    } else {
        Transport::Tcp
    };
    let mut proxy = new_proxy(plan, downstream);
    let mut rep = ProxyReport::default();
    let mut t0 = wire::thread_cpu_ns()?;
    for i in 0..plan.total_calls() {
        if i == plan.warmup {
            t0 = wire::thread_cpu_ns()?;
        }
        if left.new_per_call {
            accept(&mut left)?;
        }
        for step in &plan.steps {
            let src = if step.from_uac { &mut left } else { &mut right };
            let conn = src.conn.as_mut().ok_or_else(|| {
                Error::Usage(format!("proxy: no connection to read {} from", step.name))
            })?;
            let msg = src.framer.read_message(conn, "proxy")?;
            let (leg, out) = match proxy.handle(&msg)? {
                Action::Send(leg, out) => (leg, out),
                Action::Reply(code, _) => return Err(answered(&step.name, code)),
                Action::Absorb => return Err(wrong_leg(&step.name, Leg::Uac)),
            };
            let dst = match (leg, step.from_uac) {
                (Leg::Uas, true) => &mut right,
                (Leg::Uac, false) => &mut left,
                _ => return Err(wrong_leg(&step.name, leg)),
            };
            // A new connection towards the UAS is opened when the call's first request
            // is forwarded, as a proxy does.
            if dst.conn.is_none() && leg == Leg::Uas {
                connect(dst)?;
            }
            let conn = dst.conn.as_mut().ok_or_else(|| {
                Error::Usage(format!("proxy: no connection to forward {} on", step.name))
            })?;
            wire::send(conn, &out, "proxy")?;
        }
        if left.new_per_call {
            left.close("left")?;
        }
        if right.new_per_call {
            right.close("right")?;
        }
        rep.calls += 1;
    }
    rep.cpu_ns = wire::thread_cpu_ns()? - t0;
    rep.measured_calls = plan.calls;
    left.close("left")?;
    right.close("right")?;
    rep.left_handshakes = left.handshakes;
    rep.right_handshakes = right.handshakes;
    rep.left_client_certs = left.client_certs;
    Ok(rep)
}
