//! The load generators: a UAC that starts calls at a fixed rate and plays the caller's side
//! of the call flow, and a UAS that answers. Both check every message they receive (the
//! method or status the flow says, one Via more on a forwarded request and one less on a
//! forwarded response, Max-Forwards one less), so a call counts as completed only when the
//! whole flow went through the proxy as a proxy must forward it.

use super::wire::{self, Conn, Framer};
use super::{Plan, Step, TlsEnd};
use crate::sip;
use crate::{Error, Result};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::Instant;

/// What one load generator saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Calls whose every message was sent and every expected message received and checked.
    pub completed: u64,
    /// TLS handshakes made, and how many of them resumed a session.
    pub handshakes: u64,
    /// Of which resumed.
    pub resumed: u64,
}

fn check_received(step: &Step, got: &[u8], who: &str) -> Result<()> {
    let sent = sip::parse(&step.bytes)?;
    let recv = sip::parse(got).map_err(|e| Error::Sip {
        what: format!("{who}: {} as received: {e}", step.name),
    })?;
    let fail = |what: String| Error::SelfCheck {
        bench: format!("testbed {who}"),
        what: format!("{}: {what}", step.name),
    };
    if let Some(m) = sent.method() {
        if recv.method() != Some(m) {
            return Err(fail(format!("expected {m}, received {:?}", recv.method())));
        }
        if recv.vias().len() != sent.vias().len() + 1 {
            return Err(fail(format!(
                "a forwarded request must carry the proxy's Via: {} Vias, sent {}",
                recv.vias().len(),
                sent.vias().len()
            )));
        }
        if recv.max_forwards() != Some(crate::transport::forwarded_max_forwards(&sent)) {
            return Err(fail("Max-Forwards not decremented".into()));
        }
    } else {
        if recv.status() != sent.status() {
            return Err(fail(format!(
                "expected status {:?}, received {:?}",
                sent.status(),
                recv.status()
            )));
        }
        if recv.vias().len() + 1 != sent.vias().len() {
            return Err(fail(format!(
                "a forwarded response must lose the proxy's Via: {} Vias, sent {}",
                recv.vias().len(),
                sent.vias().len()
            )));
        }
    }
    if recv.body != sent.body {
        return Err(fail("the body changed on the way".into()));
    }
    Ok(())
}

/// Sleeps until call `i` is due at `rate` calls per second from `start`.
fn pace(start: Instant, i: u64, rate: f64) {
    let due = start + std::time::Duration::from_secs_f64(i as f64 / rate);
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

/// The UAC over UDP: `sock` talks to the proxy at `proxy`.
pub fn uac_udp(plan: &Plan, sock: &UdpSocket, proxy: SocketAddr) -> Result<LoadReport> {
    let mut rep = LoadReport::default();
    let mut buf = vec![0u8; sip::MAX_MESSAGE];
    let start = Instant::now();
    for i in 0..plan.total_calls() {
        pace(start, i, plan.rate);
        for step in &plan.steps {
            if step.from_uac {
                sock.send_to(&step.bytes, proxy)
                    .map_err(|e| Error::io(format!("UAC: sending {}", step.name), e))?;
            } else {
                let (n, from) = sock
                    .recv_from(&mut buf)
                    .map_err(|e| Error::io(format!("UAC: waiting for {}", step.name), e))?;
                if from != proxy {
                    return Err(Error::Usage(format!(
                        "UAC: datagram from {from}, not the proxy"
                    )));
                }
                check_received(step, &buf[..n], "UAC")?;
            }
        }
        rep.completed += 1;
    }
    Ok(rep)
}

/// The UAS over UDP.
pub fn uas_udp(plan: &Plan, sock: &UdpSocket, proxy: SocketAddr) -> Result<LoadReport> {
    let mut rep = LoadReport::default();
    let mut buf = vec![0u8; sip::MAX_MESSAGE];
    for _ in 0..plan.total_calls() {
        for step in &plan.steps {
            if step.from_uac {
                let (n, from) = sock
                    .recv_from(&mut buf)
                    .map_err(|e| Error::io(format!("UAS: waiting for {}", step.name), e))?;
                if from != proxy {
                    return Err(Error::Usage(format!(
                        "UAS: datagram from {from}, not the proxy"
                    )));
                }
                check_received(step, &buf[..n], "UAS")?;
            } else {
                sock.send_to(&step.bytes, proxy)
                    .map_err(|e| Error::io(format!("UAS: sending {}", step.name), e))?;
            }
        }
        rep.completed += 1;
    }
    Ok(rep)
}

/// The UAC over TCP or TLS: connects to the proxy once, or once per call (`new_per_call`).
pub fn uac_stream(
    plan: &Plan,
    proxy: SocketAddr,
    new_per_call: bool,
    tls: Option<&mut TlsEnd>,
) -> Result<LoadReport> {
    let mut rep = LoadReport::default();
    let mut tls = tls;
    let mut connect = |rep: &mut LoadReport| -> Result<Conn> {
        let tcp =
            TcpStream::connect(proxy).map_err(|e| Error::io("UAC: connecting to the proxy", e))?;
        wire::prepare(&tcp, "UAC")?;
        match tls.as_deref_mut() {
            None => Ok(Conn::Tcp(tcp)),
            Some(end) => {
                let (c, reused) = end.connect(tcp, "UAC")?;
                rep.handshakes += 1;
                rep.resumed += u64::from(reused);
                Ok(c)
            }
        }
    };
    let mut conn = if new_per_call {
        None
    } else {
        Some(connect(&mut rep)?)
    };
    let start = Instant::now();
    for i in 0..plan.total_calls() {
        pace(start, i, plan.rate);
        let mut c = match conn.take() {
            Some(c) => c,
            None => connect(&mut rep)?,
        };
        let mut framer = Framer::default();
        for step in &plan.steps {
            if step.from_uac {
                wire::send(&mut c, &step.bytes, "UAC")?;
            } else {
                let got = framer.read_message(&mut c, "UAC")?;
                check_received(step, &got, "UAC")?;
            }
        }
        if !framer.is_empty() {
            return Err(Error::Usage(
                "UAC: bytes left after the call's last message".into(),
            ));
        }
        if new_per_call {
            c.close();
        } else {
            conn = Some(c);
        }
        rep.completed += 1;
    }
    if let Some(c) = conn {
        c.close();
    }
    Ok(rep)
}

/// The UAS over TCP or TLS: accepts the proxy's connection once, or once per call.
pub fn uas_stream(
    plan: &Plan,
    listener: &TcpListener,
    new_per_call: bool,
    tls: Option<&mut TlsEnd>,
) -> Result<LoadReport> {
    let mut rep = LoadReport::default();
    let mut tls = tls;
    let mut accept = |rep: &mut LoadReport| -> Result<Conn> {
        wire::wait_readable(listener, "UAS")?;
        let (tcp, _) = listener
            .accept()
            .map_err(|e| Error::io("UAS: accepting the proxy's connection", e))?;
        wire::prepare(&tcp, "UAS")?;
        match tls.as_deref_mut() {
            None => Ok(Conn::Tcp(tcp)),
            Some(end) => {
                let (c, reused) = end.accept(tcp, "UAS")?;
                rep.handshakes += 1;
                rep.resumed += u64::from(reused);
                Ok(c)
            }
        }
    };
    let mut conn = if new_per_call {
        None
    } else {
        Some(accept(&mut rep)?)
    };
    for _ in 0..plan.total_calls() {
        let mut c = match conn.take() {
            Some(c) => c,
            None => accept(&mut rep)?,
        };
        let mut framer = Framer::default();
        for step in &plan.steps {
            if step.from_uac {
                let got = framer.read_message(&mut c, "UAS")?;
                check_received(step, &got, "UAS")?;
            } else {
                wire::send(&mut c, &step.bytes, "UAS")?;
            }
        }
        if new_per_call {
            // The proxy closes a per-call connection after the last response: wait for it,
            // so that the proxy's close is part of the call and nothing is cut short.
            let mut one = [0u8; 1];
            let _ = std::io::Read::read(&mut c, &mut one);
            c.close();
        } else {
            conn = Some(c);
        }
        rep.completed += 1;
    }
    if let Some(c) = conn {
        c.close();
    }
    Ok(rep)
}
