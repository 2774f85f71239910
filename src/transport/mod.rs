//! Transport components on loopback: one SIP message over UDP and over an established TCP
//! connection, TCP connect and accept timed apart, and the paper's base, a proxy's per-call
//! cost over UDP ([`UdpProxyCall`]).
//!
//! Everything binds to 127.0.0.1 only, every socket has a read timeout (a lost datagram is
//! an error, not a hang), and every socket is closed when its owner is dropped.
//!
//! What is on the clock (CPU time of the measuring thread, [`crate::cputime`]: the kernel's
//! work for the socket calls included, other programs' use of the CPU excluded):
//! - send-recv (UDP and TCP): the sender's `send`/`write_all` and the receiver's
//!   `recv`/`read_exact`, both in one thread, since a proxy does both for every message.
//! - connect: the client's `socket()` + `connect()` (blocking; on loopback it returns once
//!   the kernel has done the three-way handshake, whose softirq work for the listening side
//!   runs in the caller's context and so lands here too). Accept: the server's `accept()`
//!   of a connection already queued on the listener. Closing is off the clock.
//! - the base: the proxy's `recv_from`, parse, rewrite and `send_to`; the UAC and UAS
//!   sending and receiving are off the clock (all in one thread: a loopback datagram is
//!   queued at the receiver before `send_to` returns).

mod difference;
pub use difference::{CallFlows, Difference, DifferenceBench, Part, DIFFERENCE_BATCH};

use crate::cputime::CpuTimer;
use crate::names::{BenchId, Dimension};
use crate::sip::{self, Action, Leg, Proxy};
use crate::{Error, Result};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long any receive may wait before the component reports a lost message.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

fn io(context: &str) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(context, e)
}

fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

fn udp_socket(what: &str) -> Result<UdpSocket> {
    let s = UdpSocket::bind(loopback()).map_err(io(what))?;
    s.set_read_timeout(Some(IO_TIMEOUT)).map_err(io(what))?;
    Ok(s)
}

/// Closes a TCP socket with a reset instead of a FIN (SO_LINGER 0), so the thousands of
/// connections a benchmark opens leave no TIME_WAIT entries to exhaust loopback ports.
fn set_linger_zero(s: &TcpStream) -> Result<()> {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a correctly sized, initialised `linger`.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(Error::io(
            "setting SO_LINGER 0",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Two UDP sockets on loopback: one sends a message, the other receives it.
#[derive(Debug)]
pub struct UdpPair {
    tx: UdpSocket,
    rx: UdpSocket,
    rx_addr: SocketAddr,
    buf: Vec<u8>,
}

impl UdpPair {
    /// Binds both sockets on 127.0.0.1.
    pub fn new() -> Result<Self> {
        let tx = udp_socket("binding the UDP sender")?;
        let rx = udp_socket("binding the UDP receiver")?;
        let rx_addr = rx.local_addr().map_err(io("UDP receiver address"))?;
        Ok(UdpPair {
            tx,
            rx,
            rx_addr,
            buf: vec![0; sip::MAX_MESSAGE],
        })
    }

    /// Sends `msg` and receives it on the other socket; returns the received bytes.
    pub fn send_recv(&mut self, msg: &[u8]) -> Result<&[u8]> {
        self.tx
            .send_to(msg, self.rx_addr)
            .map_err(io("UDP send_to"))?;
        let (n, _) = self
            .rx
            .recv_from(&mut self.buf)
            .map_err(io("UDP recv_from"))?;
        Ok(&self.buf[..n])
    }

    /// Self-check: `msg` arrives intact.
    pub fn check(&mut self, bench: &str, msg: &[u8]) -> Result<()> {
        let got = self.send_recv(msg)?;
        if got != msg {
            return Err(Error::SelfCheck {
                bench: bench.into(),
                what: format!(
                    "sent {} bytes, received {} different ones",
                    msg.len(),
                    got.len()
                ),
            });
        }
        Ok(())
    }
}

/// An established TCP connection on loopback (Nagle off on both ends, as SIP proxies run).
#[derive(Debug)]
pub struct TcpPair {
    tx: TcpStream,
    rx: TcpStream,
    buf: Vec<u8>,
}

impl TcpPair {
    /// Opens a listener, connects to it, accepts, and closes the listener.
    pub fn new() -> Result<Self> {
        let listener = TcpListener::bind(loopback()).map_err(io("binding a TCP listener"))?;
        let addr = listener.local_addr().map_err(io("TCP listener address"))?;
        let tx = TcpStream::connect(addr).map_err(io("TCP connect"))?;
        let (rx, _) = listener.accept().map_err(io("TCP accept"))?;
        for s in [&tx, &rx] {
            s.set_nodelay(true).map_err(io("TCP_NODELAY"))?;
            s.set_read_timeout(Some(IO_TIMEOUT))
                .map_err(io("TCP read timeout"))?;
        }
        Ok(TcpPair {
            tx,
            rx,
            buf: vec![0; sip::MAX_MESSAGE],
        })
    }

    /// Writes all of `msg` and reads exactly as many bytes on the other end.
    pub fn send_recv(&mut self, msg: &[u8]) -> Result<&[u8]> {
        if msg.len() > self.buf.len() {
            return Err(Error::Usage(format!(
                "message of {} bytes is larger than {}",
                msg.len(),
                self.buf.len()
            )));
        }
        self.tx.write_all(msg).map_err(io("TCP write"))?;
        let out = &mut self.buf[..msg.len()];
        self.rx.read_exact(out).map_err(io("TCP read"))?;
        Ok(out)
    }

    /// Self-check: `msg` arrives intact.
    pub fn check(&mut self, bench: &str, msg: &[u8]) -> Result<()> {
        let got = self.send_recv(msg)?;
        if got != msg {
            return Err(Error::SelfCheck {
                bench: bench.into(),
                what: format!("sent {} bytes, received different ones", msg.len()),
            });
        }
        Ok(())
    }
}

/// A loopback TCP listener for timing connect (client side) and accept (server side) apart.
#[derive(Debug)]
pub struct ConnectAccept {
    listener: TcpListener,
    addr: SocketAddr,
}

impl ConnectAccept {
    /// Binds the listener on 127.0.0.1.
    pub fn new() -> Result<Self> {
        let listener = TcpListener::bind(loopback()).map_err(io("binding a TCP listener"))?;
        let addr = listener.local_addr().map_err(io("TCP listener address"))?;
        Ok(ConnectAccept { listener, addr })
    }

    /// Client side: time of `socket()` + `connect()`; the accept and the close are off the clock.
    pub fn connect_timed(&self) -> Result<Duration> {
        let t0 = CpuTimer::start();
        let client = TcpStream::connect(self.addr).map_err(io("TCP connect"))?;
        let took = t0.elapsed();
        let (server, _) = self.listener.accept().map_err(io("TCP accept"))?;
        close_pair(client, server)?;
        Ok(took)
    }

    /// Server side: time of `accept()` of a queued connection; connect and close are off the clock.
    pub fn accept_timed(&self) -> Result<Duration> {
        let client = TcpStream::connect(self.addr).map_err(io("TCP connect"))?;
        let t0 = CpuTimer::start();
        let (server, _) = self.listener.accept().map_err(io("TCP accept"))?;
        let took = t0.elapsed();
        close_pair(client, server)?;
        Ok(took)
    }

    /// Self-check: the accepted socket is the connected one (addresses match, a byte goes through).
    pub fn check(&self, bench: &str) -> Result<()> {
        let mut client = TcpStream::connect(self.addr).map_err(io("TCP connect"))?;
        let (mut server, peer) = self.listener.accept().map_err(io("TCP accept"))?;
        server
            .set_read_timeout(Some(IO_TIMEOUT))
            .map_err(io("TCP read timeout"))?;
        let local = client.local_addr().map_err(io("TCP client address"))?;
        client.write_all(b"x").map_err(io("TCP write"))?;
        let mut b = [0u8; 1];
        server.read_exact(&mut b).map_err(io("TCP read"))?;
        if peer != local || b != *b"x" {
            return Err(Error::SelfCheck {
                bench: bench.into(),
                what: format!("accepted {peer}, connected from {local}, byte {b:?}"),
            });
        }
        close_pair(client, server)
    }
}

fn close_pair(client: TcpStream, server: TcpStream) -> Result<()> {
    set_linger_zero(&client)?;
    drop(client);
    drop(server);
    Ok(())
}

/// One message of a call flow, as the base needs it (built from a `fixtures` SIP message).
#[derive(Debug, Clone)]
pub struct FlowMessage {
    /// Manifest name, e.g. `invite`.
    pub name: String,
    /// The message as its sender writes it (for a response: without the proxy's Via).
    pub bytes: Vec<u8>,
    /// Sent by the UAC towards the UAS (requests), else by the UAS towards the UAC.
    pub from_uac: bool,
    /// Crosses the proxy on both legs; `false` = only between UAC and proxy (407 and its ACK).
    pub both_legs: bool,
}

#[derive(Debug)]
enum Expect {
    /// Forwarded to this leg; the bytes are learned in the self-check run.
    Forward(Leg, Option<Vec<u8>>),
    /// The proxy answers the UAC itself with this status (the 407 challenge).
    Reply(u16, Option<Vec<u8>>),
    /// The proxy swallows it (ACK of its own 407).
    Absorb,
}

#[derive(Debug)]
struct Step {
    name: String,
    sender: Leg,
    bytes: Vec<u8>,
    expect: Expect,
}

/// The paper's base: the proxy's per-call cost over UDP. One call = every message of a flow
/// sent by the UAC or UAS, received, parsed, rewritten and sent on by the proxy, and received
/// at the other end. Only the proxy's part is timed (see the module doc).
#[derive(Debug)]
pub struct UdpProxyCall {
    uac: UdpSocket,
    uas: UdpSocket,
    proxy_sock: UdpSocket,
    uac_addr: SocketAddr,
    uas_addr: SocketAddr,
    proxy_addr: SocketAddr,
    sent_by: String,
    route_uri: String,
    auth: bool,
    steps: Vec<Step>,
    checked: bool,
    buf: Vec<u8>,
    ua_buf: Vec<u8>,
}

impl UdpProxyCall {
    /// Sets up UAC, proxy and UAS sockets for one flow; `auth` = the proxy challenges INVITEs.
    pub fn new(flow: &[FlowMessage], auth: bool) -> Result<Self> {
        let uac = udp_socket("binding the UAC socket")?;
        let uas = udp_socket("binding the UAS socket")?;
        let proxy_sock = udp_socket("binding the proxy socket")?;
        let addr = |s: &UdpSocket| s.local_addr().map_err(io("UDP socket address"));
        let (uac_addr, uas_addr, proxy_addr) = (addr(&uac)?, addr(&uas)?, addr(&proxy_sock)?);
        let (sent_by, route_uri) = proxy_identity(flow)?;
        let mut steps: Vec<Step> = Vec::new();
        for m in flow {
            match (m.from_uac, m.both_legs) {
                (true, true) => steps.push(Step {
                    name: m.name.clone(),
                    sender: Leg::Uac,
                    bytes: m.bytes.clone(),
                    expect: Expect::Forward(Leg::Uas, None),
                }),
                (true, false) => steps.push(Step {
                    name: m.name.clone(),
                    sender: Leg::Uac,
                    bytes: m.bytes.clone(),
                    expect: Expect::Absorb,
                }),
                (false, true) => steps.push(Step {
                    name: m.name.clone(),
                    sender: Leg::Uas,
                    bytes: m.bytes.clone(),
                    expect: Expect::Forward(Leg::Uac, None),
                }),
                (false, false) => {
                    // The proxy's own reply: it is what the previous request must produce.
                    let code = sip::parse(&m.bytes)
                        .map_err(|e| flow_error(&m.name, e))?
                        .status()
                        .ok_or_else(|| {
                            flow_error(&m.name, "a proxy-generated message must be a response")
                        })?;
                    match steps.last_mut() {
                        Some(prev) if prev.sender == Leg::Uac => {
                            prev.expect = Expect::Reply(code, None)
                        }
                        _ => {
                            return Err(flow_error(
                                &m.name,
                                "a proxy reply must follow a request from the UAC",
                            ))
                        }
                    }
                }
            }
        }
        if steps.is_empty() {
            return Err(Error::Usage("the call flow has no messages".into()));
        }
        Ok(UdpProxyCall {
            uac,
            uas,
            proxy_sock,
            uac_addr,
            uas_addr,
            proxy_addr,
            sent_by,
            route_uri,
            auth,
            steps,
            checked: false,
            buf: vec![0; sip::MAX_MESSAGE],
            ua_buf: vec![0; sip::MAX_MESSAGE],
        })
    }

    /// After [`UdpProxyCall::check`]: per message the proxy received, the size of what it
    /// sent (forwarded, or its own reply), `None` when it absorbed it.
    pub fn forwarded_sizes(&self) -> Vec<(String, Option<usize>)> {
        self.steps
            .iter()
            .map(|s| {
                let size = match &s.expect {
                    Expect::Forward(_, Some(b)) | Expect::Reply(_, Some(b)) => Some(b.len()),
                    _ => None,
                };
                (s.name.clone(), size)
            })
            .collect()
    }

    /// Number of datagrams the proxy receives per call.
    pub fn messages_per_call(&self) -> usize {
        self.steps.len()
    }

    /// Self-check of one whole call: every forwarded request has one Via more and
    /// Max-Forwards one less (an INVITE also a Record-Route naming the proxy), every
    /// forwarded response one Via less, the proxy's replies and absorptions are where the
    /// flow says. Records each output so that timed calls can compare bytes.
    pub fn check(&mut self, bench: &str) -> Result<()> {
        let fail = |what: String| Error::SelfCheck {
            bench: bench.into(),
            what,
        };
        let mut proxy = self.proxy();
        for i in 0..self.steps.len() {
            let step = &self.steps[i];
            let (name, sender, input) = (step.name.clone(), step.sender, step.bytes.clone());
            self.ua_send(sender, &input)?;
            let (n, _) = self
                .proxy_sock
                .recv_from(&mut self.buf)
                .map_err(io("proxy recv_from"))?;
            let action = proxy.handle(&self.buf[..n])?;
            let before = sip::parse(&input)?;
            match (&mut self.steps[i].expect, action) {
                (Expect::Absorb, Action::Absorb) => {}
                (Expect::Forward(want, slot), Action::Send(leg, out)) if *want == leg => {
                    let after = sip::parse(&out)
                        .map_err(|e| fail(format!("{name}: forwarded message: {e}")))?;
                    let (vb, va) = (before.vias().len(), after.vias().len());
                    if before.method().is_some() {
                        let mf_ok = after.max_forwards() == Some(forwarded_max_forwards(&before));
                        let rr_ok = before.method() != Some("INVITE")
                            || after
                                .record_routes()
                                .first()
                                .is_some_and(|r| r.contains(proxy.route_uri()));
                        let route_ok = after.routes().len()
                            + usize::from(!before.routes().is_empty())
                            == before.routes().len();
                        if va != vb + 1
                            || !mf_ok
                            || !rr_ok
                            || !route_ok
                            || after.body != before.body
                        {
                            return Err(fail(format!(
                                "{name}: forwarded request has {va} Vias (sent {vb}), Max-Forwards {:?} (sent {:?}), Record-Route ok {rr_ok}",
                                after.max_forwards(),
                                before.max_forwards()
                            )));
                        }
                    } else if va + 1 != vb || after.status() != before.status() {
                        return Err(fail(format!(
                            "{name}: forwarded response has {va} Vias (received {vb})"
                        )));
                    }
                    *slot = Some(out);
                }
                (Expect::Reply(code, slot), Action::Reply(status, out)) => {
                    let reply =
                        sip::parse(&out).map_err(|e| fail(format!("{name}: proxy reply: {e}")))?;
                    if status != *code
                        || reply.status() != Some(*code)
                        || reply.vias() != before.vias()
                    {
                        return Err(fail(format!(
                            "{name}: proxy replied {:?}, the flow says {code}",
                            reply.status()
                        )));
                    }
                    *slot = Some(out);
                }
                (want, got) => {
                    return Err(fail(format!(
                        "{name}: the proxy did {got:?}, the flow says {want:?}"
                    )))
                }
            }
            let out = match &self.steps[i].expect {
                Expect::Forward(leg, Some(b)) => Some((*leg, b.clone())),
                Expect::Reply(_, Some(b)) => Some((Leg::Uac, b.clone())),
                _ => None,
            };
            if let Some((leg, bytes)) = out {
                let to = self.leg_addr(leg);
                self.proxy_sock
                    .send_to(&bytes, to)
                    .map_err(io("proxy send_to"))?;
                let got = self.ua_recv(leg)?;
                if got != bytes {
                    return Err(fail(format!("{name}: the UA received other bytes")));
                }
            }
        }
        self.checked = true;
        Ok(())
    }

    fn proxy(&self) -> Proxy {
        Proxy::new(self.sent_by.clone(), self.route_uri.clone(), self.auth)
    }

    fn leg_addr(&self, leg: Leg) -> SocketAddr {
        match leg {
            Leg::Uac => self.uac_addr,
            Leg::Uas => self.uas_addr,
        }
    }

    fn ua_send(&self, sender: Leg, bytes: &[u8]) -> Result<()> {
        let sock = match sender {
            Leg::Uac => &self.uac,
            Leg::Uas => &self.uas,
        };
        sock.send_to(bytes, self.proxy_addr)
            .map_err(io("UA send_to"))?;
        Ok(())
    }

    fn ua_recv(&mut self, leg: Leg) -> Result<&[u8]> {
        let sock = match leg {
            Leg::Uac => &self.uac,
            Leg::Uas => &self.uas,
        };
        let (n, _) = sock
            .recv_from(&mut self.ua_buf)
            .map_err(io("UA recv_from"))?;
        Ok(&self.ua_buf[..n])
    }

    /// One whole call; returns the time the proxy spent receiving, handling and sending.
    /// Every output is compared with the one the self-check recorded (off the clock).
    pub fn run_call(&mut self) -> Result<Duration> {
        if !self.checked {
            return Err(Error::Usage(
                "UdpProxyCall::check must pass before run_call".into(),
            ));
        }
        let mut proxy = self.proxy();
        let mut total = Duration::ZERO;
        for i in 0..self.steps.len() {
            let sender = self.steps[i].sender;
            self.ua_send(sender, &self.steps[i].bytes)?;

            let t0 = CpuTimer::start();
            let (n, _) = self
                .proxy_sock
                .recv_from(&mut self.buf)
                .map_err(io("proxy recv_from"))?;
            let action = proxy.handle(&self.buf[..n])?;
            let sent = match &action {
                Action::Send(leg, out) => Some((*leg, out)),
                // The proxy's own response goes back to the request's sender.
                Action::Reply(_, out) => Some((Leg::Uac, out)),
                Action::Absorb => None,
            };
            if let Some((leg, out)) = sent {
                self.proxy_sock
                    .send_to(out, self.leg_addr(leg))
                    .map_err(io("proxy send_to"))?;
            }
            let sent = sent.map(|(leg, _)| leg);
            total += t0.elapsed();

            let want = match &self.steps[i].expect {
                Expect::Forward(_, Some(b)) | Expect::Reply(_, Some(b)) => Some(b.clone()),
                _ => None,
            };
            if let (Some(leg), Some(want)) = (sent, want) {
                if self.ua_recv(leg)? != want.as_slice() {
                    return Err(Error::SelfCheck {
                        bench: "base/udp-proxy".into(),
                        what: format!(
                            "{}: output differs from the checked one",
                            self.steps[i].name
                        ),
                    });
                }
            }
        }
        Ok(total)
    }
}

/// The Max-Forwards a request must carry once forwarded: one less, or 70 when it had none
/// (RFC 3261 16.6 step 3).
pub fn forwarded_max_forwards(request: &sip::Message<'_>) -> u8 {
    request
        .max_forwards()
        .map_or(sip::proxy::DEFAULT_MAX_FORWARDS, |m| m.saturating_sub(1))
}

fn flow_error(name: &str, e: impl std::fmt::Display) -> Error {
    Error::Sip {
        what: format!("call-flow message '{name}': {e}"),
    }
}

/// The proxy's own names as the flow's responses carry them: the `sent-by` of the top Via
/// of the first relayed response, and the URI of the first Record-Route echoed in one
/// (without `<>` and `;lr`), else `sip:<sent-by>`.
fn proxy_identity(flow: &[FlowMessage]) -> Result<(String, String)> {
    let mut sent_by = None;
    let mut route_uri = None;
    for m in flow.iter().filter(|m| !m.from_uac && m.both_legs) {
        let msg = sip::parse(&m.bytes).map_err(|e| flow_error(&m.name, e))?;
        if sent_by.is_none() {
            let top = msg.vias().first().copied().unwrap_or("");
            sent_by = Some(sip::via_sent_by(top)?);
        }
        if route_uri.is_none() {
            route_uri = msg.record_routes().first().map(|rr| {
                let uri = rr.trim().trim_start_matches('<').trim_end_matches('>');
                uri.replace(";lr", "")
            });
        }
    }
    let sent_by = sent_by.ok_or_else(|| {
        Error::Usage(
            "the call flow has no response relayed by the proxy: its Via is unknown".into(),
        )
    })?;
    let route_uri = route_uri.unwrap_or_else(|| format!("sip:{sent_by}"));
    Ok((sent_by, route_uri))
}

impl From<&crate::fixtures::SipMessage> for FlowMessage {
    fn from(m: &crate::fixtures::SipMessage) -> Self {
        FlowMessage {
            name: m.name.clone(),
            bytes: m.bytes.clone(),
            from_uac: m.direction == crate::fixtures::Direction::UacToUas,
            both_legs: m.legs == crate::fixtures::Legs::Both,
        }
    }
}

/// The call flows the base is measured on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseFlow {
    /// INVITE, 100, 180, 200, ACK, BYE, 200.
    Basic,
    /// The same after INVITE, 407, ACK (the proxy challenges the first INVITE).
    Auth,
}

impl Dimension for BaseFlow {
    const ALL: &'static [Self] = &[BaseFlow::Basic, BaseFlow::Auth];
    fn label(&self) -> &'static str {
        match self {
            BaseFlow::Basic => "call-basic",
            BaseFlow::Auth => "call-auth",
        }
    }
}

impl BaseFlow {
    /// The fixtures flow name.
    pub fn flow_name(self) -> &'static str {
        match self {
            BaseFlow::Basic => "basic",
            BaseFlow::Auth => "auth",
        }
    }

    /// Whether the proxy challenges INVITEs in this flow.
    pub fn auth(self) -> bool {
        self == BaseFlow::Auth
    }

    /// `base/udp-proxy/call-<flow>` (the fixtures' flows; see [`base_bench_id`]).
    pub fn bench_id(self) -> BenchId {
        BenchId::new("base", &["udp-proxy", self.label()])
    }

    /// The proxy set up for this flow of the corpus.
    pub fn setup(self, corpus: &crate::fixtures::SipCorpus) -> Result<UdpProxyCall> {
        let flow: Vec<FlowMessage> = corpus
            .flow(self.flow_name())?
            .messages
            .iter()
            .map(FlowMessage::from)
            .collect();
        UdpProxyCall::new(&flow, self.auth())
    }
}

/// The base bench of a flow: `base/udp-proxy/call-<name>`, prefixed with the flow's set
/// (`<set>-call-<name>`) when it comes from a `--flow DIR` directory.
pub fn base_bench_id(flow: &crate::fixtures::SipFlow) -> BenchId {
    let label = format!("call-{}", flow.name);
    match &flow.set {
        None => BenchId::new("base", &["udp-proxy", &label]),
        Some(set) => BenchId::new("base", &["udp-proxy", &format!("{set}-{label}")]),
    }
}

/// `transport/udp/send-recv/sip-<message>`.
pub fn udp_send_recv_id(message: &str) -> BenchId {
    BenchId::new("transport", &["udp", "send-recv"]).with_parameter(format!("sip-{message}"))
}

/// `transport/tcp/send-recv/sip-<message>`.
pub fn tcp_send_recv_id(message: &str) -> BenchId {
    BenchId::new("transport", &["tcp", "send-recv"]).with_parameter(format!("sip-{message}"))
}

/// `sip/parse/sip-<message>`: the base's parser on one message (part of the base's cost).
pub fn sip_parse_id(message: &str) -> BenchId {
    BenchId::new("sip", &["parse"]).with_parameter(format!("sip-{message}"))
}

/// Self-check of the parse bench: `msg` parses, with a body of its Content-Length.
pub fn check_parse(bench: &str, msg: &[u8]) -> Result<()> {
    let m = sip::parse(msg)?;
    if m.content_length != Some(m.body.len()) {
        return Err(Error::SelfCheck {
            bench: bench.into(),
            what: format!(
                "Content-Length {:?}, body {} bytes",
                m.content_length,
                m.body.len()
            ),
        });
    }
    Ok(())
}

/// `transport/tcp/connect/client`.
pub fn tcp_connect_id() -> BenchId {
    BenchId::new("transport", &["tcp", "connect", "client"])
}

/// `transport/tcp/accept/server`.
pub fn tcp_accept_id() -> BenchId {
    BenchId::new("transport", &["tcp", "accept", "server"])
}
