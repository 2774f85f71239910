//! The load generators: a UAC that starts calls at a fixed rate and plays the caller's side
//! of the call flow, and a UAS that answers, over UDP, TCP or TLS, towards any SIP server
//! at any address (the testbed's own proxy in this process, or a real one such as
//! Kamailio). Messages are built per call ([`super::dialog`]): unique Call-IDs, tags and
//! branches, Vias and Contacts with the generators' real addresses, a request URI naming
//! the UAS so the server forwards the INVITE there, and the dialog's route set for ACK and
//! BYE.
//!
//! A call counts as completed only when every message of the flow went through and was
//! checked (the status or method the flow says, the transaction and dialog, one Via per
//! hop, Max-Forwards decremented, the body unchanged); a failed or timed-out call is an
//! error that ends the run, never a figure.
//!
//! The UAC runs its calls in `lanes` threads (one call at a time in each; one lane for
//! per-call CPU figures, more to reach a server's peak rate). Per lane it keeps one
//! persistent connection or opens a new one per call. The UAS answers whatever arrives,
//! statelessly; it accepts every connection the server opens and, when asked, closes each
//! connection after its call's last request, so that a server must open a new connection
//! towards it for every call (the paper's inbound and local modes); it counts the
//! connections it accepted, which proves it.

use super::dialog::{self, Answers, Credentials, UacCall, UacIdentity, UasIdentity};
use super::tls::TlsEnd;
use super::wire::{self, Conn, Framer};
use super::{Plan, Step};
use crate::model::configs::Transport;
use crate::sip;
use crate::{Error, Result};
use std::collections::HashSet;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a waiting UAS thread looks whether it should stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// What a load generator saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Calls whose every message was sent and every expected message received and checked
    /// (UAS: calls whose last request it answered).
    pub completed: u64,
    /// TLS handshakes made.
    pub handshakes: u64,
    /// Of which resumed a session.
    pub resumed: u64,
    /// Of which carried a client certificate (sent by the UAC, verified by the UAS).
    pub client_certificates: u64,
    /// Connections opened (UAC) or accepted (UAS).
    pub connections: u64,
    /// Messages of an earlier transaction or call received again (UDP retransmissions),
    /// skipped (UAC) or answered again (UAS).
    pub retransmissions: u64,
}

impl LoadReport {
    fn add(&mut self, o: &LoadReport) {
        self.completed += o.completed;
        self.handshakes += o.handshakes;
        self.resumed += o.resumed;
        self.client_certificates += o.client_certificates;
        self.connections += o.connections;
        self.retransmissions += o.retransmissions;
    }
}

/// Where the UAC's measured calls begin and end: it calls back between its phases (all
/// lanes stopped), so a CPU sample taken there covers whole calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The warm-up calls are done; the measured calls start next.
    Measure,
    /// The measured calls are done.
    Done,
}

/// What a UAC does.
#[derive(Debug, Clone)]
pub struct UacSpec {
    /// The server's address for this transport.
    pub server: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// A new connection per call (else one persistent connection per lane).
    pub new_per_call: bool,
    /// Calls in flight at once (threads, each one call at a time).
    pub lanes: usize,
    /// How long one expected message may take.
    pub timeout: Duration,
    /// Request URI, run id, credentials.
    pub who: UacIdentity,
}

/// The UAC: its sockets (UDP: bound at construction, so a server can be told its address).
pub struct Uac {
    spec: UacSpec,
    udp: Vec<UdpSocket>,
}

/// Sleeps until call `i` of a phase is due at `rate` calls per second from `start`.
fn pace(start: Instant, i: u64, rate: f64) {
    let due = start + Duration::from_secs_f64(i as f64 / rate);
    let now = Instant::now();
    if due > now {
        std::thread::sleep(due - now);
    }
}

fn is_timeout(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. }
        if matches!(source.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

fn is_eof(e: &Error) -> bool {
    matches!(e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::UnexpectedEof)
}

fn timed(what: String, e: std::io::Error, timeout: Duration) -> Error {
    if matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ) {
        Error::io(
            what,
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("nothing within {} ms", timeout.as_millis()),
            ),
        )
    } else {
        Error::io(what, e)
    }
}

/// One UAC lane: its socket or connection and what it counted.
struct Lane<'a> {
    id: usize,
    udp: Option<&'a UdpSocket>,
    conn: Option<Conn>,
    framer: Framer,
    tls: Option<TlsEnd>,
    report: LoadReport,
}

impl Uac {
    /// A UAC of `spec`; over UDP binds one socket per lane on 127.0.0.1.
    pub fn new(spec: UacSpec) -> Result<Uac> {
        if spec.lanes == 0 || spec.lanes > 512 {
            return Err(Error::Usage(format!(
                "{} lanes: expected 1..=512 calls in flight",
                spec.lanes
            )));
        }
        let mut udp = Vec::new();
        if spec.transport == Transport::Udp {
            for _ in 0..spec.lanes {
                let s = UdpSocket::bind("127.0.0.1:0")
                    .map_err(|e| Error::io("UAC: binding a UDP socket on 127.0.0.1", e))?;
                s.set_read_timeout(Some(spec.timeout))
                    .map_err(|e| Error::io("UAC: socket timeout", e))?;
                udp.push(s);
            }
        }
        Ok(Uac { spec, udp })
    }

    /// The addresses of its UDP sockets (empty over TCP and TLS).
    pub fn udp_addrs(&self) -> Result<Vec<SocketAddr>> {
        self.udp
            .iter()
            .map(|s| {
                s.local_addr()
                    .map_err(|e| Error::io("UAC: local address", e))
            })
            .collect()
    }

    /// Runs the plan's warm-up calls, calls `mark(Phase::Measure)`, runs the measured calls,
    /// calls `mark(Phase::Done)`. `tls`: the client end each lane copies (TLS only).
    pub fn run(
        &self,
        plan: &Plan,
        tls: Option<&TlsEnd>,
        mark: &mut dyn FnMut(Phase) -> Result<()>,
    ) -> Result<LoadReport> {
        if (self.spec.transport == Transport::Tls) != tls.is_some() {
            return Err(Error::Usage(
                "UAC: a TLS end is needed for TLS, and only for TLS".into(),
            ));
        }
        let mut lanes: Vec<Lane> = (0..self.spec.lanes)
            .map(|id| Lane {
                id,
                udp: self.udp.get(id),
                conn: None,
                framer: Framer::default(),
                tls: tls.map(TlsEnd::fork),
                report: LoadReport::default(),
            })
            .collect();
        self.phase(plan, &mut lanes, 0, plan.warmup)?;
        mark(Phase::Measure)?;
        self.phase(plan, &mut lanes, plan.warmup, plan.calls)?;
        mark(Phase::Done)?;
        let mut total = LoadReport::default();
        for lane in &mut lanes {
            if let Some(c) = lane.conn.take() {
                c.close();
            }
            total.add(&lane.report);
        }
        Ok(total)
    }

    /// Calls `first..first + n`, spread over the lanes, paced from one start.
    fn phase(&self, plan: &Plan, lanes: &mut [Lane], first: u64, n: u64) -> Result<()> {
        if n == 0 {
            return Ok(());
        }
        let start = Instant::now();
        let k = lanes.len() as u64;
        let results: Vec<Result<()>> = std::thread::scope(|s| {
            let handles: Vec<_> = lanes
                .iter_mut()
                .map(|lane| {
                    s.spawn(move || -> Result<()> {
                        let mut j = lane.id as u64;
                        while j < n {
                            pace(start, j, plan.rate);
                            self.call(plan, lane, first + j)?;
                            j += k;
                        }
                        Ok(())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Usage("UAC: a lane panicked".into())))
                })
                .collect()
        });
        results.into_iter().collect()
    }

    fn connect(&self, lane: &mut Lane) -> Result<()> {
        let tcp = TcpStream::connect(self.spec.server).map_err(|e| {
            Error::io(
                format!("UAC: connecting to the server at {}", self.spec.server),
                e,
            )
        })?;
        wire::prepare(&tcp, "UAC")?;
        tcp.set_read_timeout(Some(self.spec.timeout))
            .map_err(|e| Error::io("UAC: socket timeout", e))?;
        lane.report.connections += 1;
        lane.framer = Framer::default();
        lane.conn = Some(match lane.tls.as_mut() {
            None => Conn::Tcp(tcp),
            Some(end) => {
                let what = format!("UAC TLS to {}", self.spec.server);
                let (c, hs) = end.connect(tcp, &what)?;
                lane.report.handshakes += 1;
                lane.report.resumed += u64::from(hs.resumed);
                lane.report.client_certificates += u64::from(hs.client_certificate);
                c
            }
        });
        Ok(())
    }

    fn send(&self, lane: &mut Lane, bytes: &[u8], what: &str) -> Result<()> {
        match (lane.udp, lane.conn.as_mut()) {
            (Some(s), _) => s
                .send_to(bytes, self.spec.server)
                .map(|_| ())
                .map_err(|e| Error::io(format!("UAC: sending {what}"), e)),
            (None, Some(c)) => wire::send(c, bytes, "UAC"),
            (None, None) => Err(Error::Usage(format!(
                "UAC: no connection to send {what} on"
            ))),
        }
    }

    fn receive(&self, lane: &mut Lane, what: &str) -> Result<Vec<u8>> {
        let ctx = || format!("UAC: waiting for {what} from {}", self.spec.server);
        match (lane.udp, lane.conn.as_mut()) {
            (Some(s), _) => {
                let mut buf = vec![0u8; sip::MAX_MESSAGE];
                let (n, from) = s
                    .recv_from(&mut buf)
                    .map_err(|e| timed(ctx(), e, self.spec.timeout))?;
                if from != self.spec.server {
                    return Err(Error::Usage(format!(
                        "UAC: a datagram from {from}, not the server {}",
                        self.spec.server
                    )));
                }
                buf.truncate(n);
                Ok(buf)
            }
            (None, Some(c)) => lane.framer.read_message(c, "UAC").map_err(|e| match e {
                Error::Io { source, .. } => timed(ctx(), source, self.spec.timeout),
                e => e,
            }),
            (None, None) => Err(Error::Usage(format!(
                "UAC: no connection to read {what} from"
            ))),
        }
    }

    /// One whole call on `lane`.
    fn call(&self, plan: &Plan, lane: &mut Lane, index: u64) -> Result<()> {
        let local = match (lane.udp, &lane.conn) {
            (Some(s), _) => s.local_addr(),
            (None, Some(c)) if !self.spec.new_per_call => c.tcp().local_addr(),
            (None, _) => {
                self.connect(lane)?;
                lane.conn
                    .as_ref()
                    .map(|c| c.tcp().local_addr())
                    .expect("connected")
            }
        }
        .map_err(|e| Error::io("UAC: local address", e))?;
        let mut call = UacCall::new(&self.spec.who, lane.id, index, local);
        let steps = &plan.steps;
        let mut k = 0;
        // Index of the first response of the group being received (after a request).
        let mut group = 0;
        while k < steps.len() {
            let step = &steps[k];
            if step.from_uac {
                let bytes = call.request(&step.bytes)?;
                self.send(lane, &bytes, &step.name)?;
                k += 1;
                group = k;
                continue;
            }
            let got = self.receive(lane, &step.name)?;
            let at = match_response(steps, group, k, &got);
            if at < k {
                // A provisional response received twice (a retransmission).
                lane.report.retransmissions += 1;
                continue;
            }
            if call.response(&got, &steps[at].bytes, "UAC")? {
                k = at + 1;
            } else {
                lane.report.retransmissions += 1;
            }
        }
        if self.spec.new_per_call {
            if let Some(c) = lane.conn.take() {
                if let Some(end) = lane.tls.as_mut() {
                    end.remember(&c);
                }
                if !lane.framer.is_empty() {
                    return Err(Error::Usage(
                        "UAC: bytes left on the connection after the call's last message".into(),
                    ));
                }
                c.close();
            }
        } else if let Some(c) = &lane.conn {
            if let Some(end) = lane.tls.as_mut() {
                end.remember(c);
            }
        }
        lane.report.completed += 1;
        Ok(())
    }
}

/// Which response step of the group `group..` a received message is: the expected one
/// `k`, a later one when the expected is a provisional response the server did not send
/// (a stateful proxy answers an INVITE with its own 100 and absorbs the UAS's), or an
/// earlier one (a provisional response received again).
fn match_response(steps: &[Step], group: usize, k: usize, got: &[u8]) -> usize {
    let status = sip::parse(got).ok().and_then(|m| m.status());
    let expected = |i: usize| sip::parse(&steps[i].bytes).ok().and_then(|m| m.status());
    if status.is_none() || status == expected(k) {
        return k;
    }
    let is_provisional = |s: Option<u16>| s.is_some_and(|s| s < 200);
    if is_provisional(status) {
        if let Some(i) = (group..k).find(|&i| expected(i) == status) {
            return i;
        }
    }
    if is_provisional(expected(k)) {
        let mut i = k + 1;
        while i < steps.len() && !steps[i].from_uac {
            if expected(i) == status {
                return i;
            }
            i += 1;
        }
    }
    k
}

// --- The UAS --------------------------------------------------------------------------------

/// The UAS: its socket or listeners on 127.0.0.1, the answers of the flow.
pub struct Uas {
    /// Who it is on each address (the UDP socket's, or each listener's).
    who: Vec<UasIdentity>,
    udp: Option<UdpSocket>,
    listeners: Vec<TcpListener>,
    close_after_call: bool,
}

/// Counters shared by the UAS's threads.
#[derive(Default)]
struct UasState {
    completed: AtomicU64,
    handshakes: AtomicU64,
    resumed: AtomicU64,
    client_certificates: AtomicU64,
    connections: AtomicU64,
    retransmissions: AtomicU64,
    seen: Mutex<HashSet<String>>,
    error: Mutex<Option<Error>>,
}

impl UasState {
    fn fail(&self, e: Error) {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(e);
        }
    }
}

/// The flow's requests as the UAS receives them (those that cross the proxy), each with
/// the responses that follow it.
fn answers(plan: &Plan) -> Vec<(String, Answers<'_>)> {
    let mut out: Vec<(String, Answers<'_>)> = Vec::new();
    for step in plan.steps.iter().filter(|s| s.crosses) {
        if step.from_uac {
            let method = sip::parse(&step.bytes)
                .ok()
                .and_then(|m| m.method().map(str::to_string))
                .unwrap_or_default();
            out.push((
                method,
                Answers {
                    request: &step.bytes,
                    responses: Vec::new(),
                },
            ));
        } else if let Some((_, a)) = out.last_mut() {
            a.responses.push(&step.bytes);
        }
    }
    out
}

impl Uas {
    /// Binds the UAS on 127.0.0.1 (ephemeral ports): one UDP socket, or `addresses` TCP
    /// listeners. `close_after_call`: close each stream connection after its call's last
    /// request was answered. Calls go to the listeners in turn, so a connection the UAS
    /// closed is not the next call's destination: a proxy that learns of the close a moment
    /// late still opens a new connection for the next call, as it must.
    pub fn bind(
        transport: Transport,
        close_after_call: bool,
        run_id: &str,
        addresses: usize,
    ) -> Result<Uas> {
        let who = |addr| UasIdentity {
            addr,
            transport,
            run_id: run_id.to_string(),
        };
        if transport == Transport::Udp {
            let s = UdpSocket::bind("127.0.0.1:0")
                .map_err(|e| Error::io("UAS: binding a UDP socket on 127.0.0.1", e))?;
            s.set_read_timeout(Some(STOP_POLL))
                .map_err(|e| Error::io("UAS: socket timeout", e))?;
            let a = s.local_addr().map_err(|e| Error::io("UAS: address", e))?;
            return Ok(Uas {
                who: vec![who(a)],
                udp: Some(s),
                listeners: Vec::new(),
                close_after_call,
            });
        }
        let mut listeners = Vec::new();
        let mut ids = Vec::new();
        for _ in 0..addresses.max(1) {
            let l = TcpListener::bind("127.0.0.1:0")
                .map_err(|e| Error::io("UAS: listening on 127.0.0.1", e))?;
            ids.push(who(l
                .local_addr()
                .map_err(|e| Error::io("UAS: address", e))?));
            listeners.push(l);
        }
        Ok(Uas {
            who: ids,
            udp: None,
            listeners,
            close_after_call,
        })
    }

    /// How many addresses it listens on.
    pub fn addresses(&self) -> usize {
        self.who.len()
    }

    /// Its (first) address.
    pub fn addr(&self) -> SocketAddr {
        self.who[0].addr
    }

    /// Its URIs for the callee (`sip:bob@127.0.0.1:port;transport=...`), one per address:
    /// the request URIs a UAC puts in its INVITEs.
    pub fn uris(&self) -> Vec<String> {
        self.who
            .iter()
            .map(|w| dialog::sip_uri("bob", w.addr, w.transport))
            .collect()
    }

    /// Answers until `stop` is set, then returns what it saw, or the first error.
    /// `tls`: the server end (TLS only).
    pub fn run(&self, plan: &Plan, tls: Option<&TlsEnd>, stop: &AtomicBool) -> Result<LoadReport> {
        let answers = answers(plan);
        let state = UasState::default();
        if let Some(sock) = &self.udp {
            self.serve_udp(sock, &self.who[0], &answers, &state, stop);
        } else {
            std::thread::scope(|s| loop {
                if stop.load(Ordering::Relaxed) || state.error.lock().is_ok_and(|e| e.is_some()) {
                    break;
                }
                let ready = match poll_readable(&self.listeners, STOP_POLL) {
                    Ok(r) => r,
                    Err(e) => {
                        state.fail(e);
                        break;
                    }
                };
                for i in ready {
                    match self.listeners[i].accept() {
                        Ok((tcp, _)) => {
                            state.connections.fetch_add(1, Ordering::Relaxed);
                            let (answers, state, who) = (&answers, &state, &self.who[i]);
                            s.spawn(move || {
                                if let Err(e) =
                                    self.serve_stream(tcp, who, tls, answers, state, stop)
                                {
                                    state.fail(e);
                                }
                            });
                        }
                        Err(e) => state.fail(Error::io("UAS: accepting a connection", e)),
                    }
                }
            });
        }
        if let Some(e) = state.error.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        Ok(LoadReport {
            completed: state.completed.into_inner(),
            handshakes: state.handshakes.into_inner(),
            resumed: state.resumed.into_inner(),
            client_certificates: state.client_certificates.into_inner(),
            connections: state.connections.into_inner(),
            retransmissions: state.retransmissions.into_inner(),
        })
    }

    /// The responses to one request, and whether it was its call's last request.
    fn handle(
        &self,
        bytes: &[u8],
        who: &UasIdentity,
        answers: &[(String, Answers<'_>)],
        state: &UasState,
    ) -> Result<(Vec<Vec<u8>>, bool)> {
        let req = sip::parse(bytes).map_err(|e| Error::Sip {
            what: format!("UAS: a request as received: {e}"),
        })?;
        let Some(method) = req.method() else {
            return Err(Error::SelfCheck {
                bench: "load generator UAS".into(),
                what: format!(
                    "received a response ({}), the flow sends it none",
                    req.start_raw
                ),
            });
        };
        let Some(i) = answers.iter().position(|(m, _)| m == method) else {
            return Err(Error::SelfCheck {
                bench: "load generator UAS".into(),
                what: format!("received {method}, which the flow does not send"),
            });
        };
        let a = &answers[i].1;
        dialog::check_request(&req, a.request, who)?;
        let branch = req
            .vias()
            .first()
            .and_then(|v| sip::via_branch(v))
            .unwrap_or("")
            .to_string();
        let first = state
            .seen
            .lock()
            .map(|mut s| s.insert(format!("{method} {branch}")))
            .unwrap_or(true);
        let last = i + 1 == answers.len();
        if !first {
            state.retransmissions.fetch_add(1, Ordering::Relaxed);
        } else if last {
            state.completed.fetch_add(1, Ordering::Relaxed);
        }
        let out = a
            .responses
            .iter()
            .map(|t| dialog::answer(&req, t, who))
            .collect::<Result<Vec<_>>>()?;
        Ok((out, last && first))
    }

    fn serve_udp(
        &self,
        sock: &UdpSocket,
        who: &UasIdentity,
        answers: &[(String, Answers<'_>)],
        state: &UasState,
        stop: &AtomicBool,
    ) {
        let mut buf = vec![0u8; sip::MAX_MESSAGE];
        while !stop.load(Ordering::Relaxed) {
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(x) => x,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    continue
                }
                Err(e) => return state.fail(Error::io("UAS: receiving", e)),
            };
            let r = self
                .handle(&buf[..n], who, answers, state)
                .and_then(|(out, _)| {
                    out.iter().try_for_each(|m| {
                        sock.send_to(m, from)
                            .map(|_| ())
                            .map_err(|e| Error::io(format!("UAS: answering {from}"), e))
                    })
                });
            if let Err(e) = r {
                return state.fail(e);
            }
        }
    }

    fn serve_stream(
        &self,
        tcp: TcpStream,
        who: &UasIdentity,
        tls: Option<&TlsEnd>,
        answers: &[(String, Answers<'_>)],
        state: &UasState,
        stop: &AtomicBool,
    ) -> Result<()> {
        wire::prepare(&tcp, "UAS")?;
        let mut conn = match tls {
            None => Conn::Tcp(tcp),
            Some(end) => {
                let (c, hs) = end.accept(tcp, "UAS TLS")?;
                state.handshakes.fetch_add(1, Ordering::Relaxed);
                state
                    .resumed
                    .fetch_add(u64::from(hs.resumed), Ordering::Relaxed);
                state
                    .client_certificates
                    .fetch_add(u64::from(hs.client_certificate), Ordering::Relaxed);
                c
            }
        };
        conn.tcp()
            .set_read_timeout(Some(STOP_POLL))
            .map_err(|e| Error::io("UAS: socket timeout", e))?;
        let mut framer = Framer::default();
        while !stop.load(Ordering::Relaxed) {
            let msg = match framer.read_message(&mut conn, "UAS") {
                Ok(m) => m,
                Err(e) if is_timeout(&e) => continue,
                // The server closed the connection: nothing was cut short unless a part
                // of a message was left.
                Err(e) if is_eof(&e) && framer.is_empty() => return Ok(()),
                Err(e) => return Err(e),
            };
            let (out, call_done) = self.handle(&msg, who, answers, state)?;
            for m in &out {
                wire::send(&mut conn, m, "UAS")?;
            }
            if call_done && self.close_after_call {
                break;
            }
        }
        conn.close();
        Ok(())
    }
}

/// Which of `listeners` have a connection waiting, within `timeout`.
fn poll_readable(listeners: &[TcpListener], timeout: Duration) -> Result<Vec<usize>> {
    use std::os::fd::AsRawFd;
    let fds: Vec<_> = listeners.iter().map(|l| l.as_raw_fd()).collect();
    wire::readable(&fds, timeout).map_err(|e| Error::io("UAS: waiting for a connection", e))
}

/// A fresh run id (12 hex digits): no two runs share a Call-ID.
pub fn run_id() -> String {
    let mut b = [0u8; 6];
    // A failure of the random source leaves zeros: the id is then only less unique.
    let _ = openssl::rand::rand_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The UAC identity for a run towards `uas`.
pub fn uac_identity(uas: &Uas, run_id: &str, credentials: Option<Credentials>) -> UacIdentity {
    UacIdentity {
        transport: uas.who[0].transport,
        targets: uas.uris(),
        run_id: run_id.to_string(),
        credentials,
    }
}
