//! Per-connection components on real sockets, each side timed apart: what one new TCP
//! connection, and one new TLS connection of each kind, costs the end that opens it
//! (client) and the end that accepts it (server), as a SIP server pays it per call in
//! the paper's outbound, inbound and local modes.
//!
//! Both ends are non-blocking and driven by an epoll loop (the `polling` crate,
//! level-triggered) that waits for exactly what OpenSSL asked for: the Appendix D fixed
//! loop ([`crate::eventloop`]) on the client, and the same on the server. Client and
//! server run in two threads over loopback TCP; each side's figure is its own thread's
//! CPU time ([`crate::eventloop::thread_cpu_time`]: user + system, so waiting for the
//! peer costs nothing, and the kernel's work on that thread's behalf counts).
//!
//! One connection, per side:
//! - TCP client: `socket()` + `connect()`, then `close()`.
//!   TCP server: the listener's wake-up, `accept()`, registering the socket, its wake-up
//!   at the client's FIN, the `read()` of end-of-file, deregistering, `close()`.
//! - TLS (OpenSSL) client: the TCP connect, creating the `Ssl` (session set for a resumed
//!   kind), every `SSL_connect` step and `epoll_wait`, reading the server's one byte of
//!   application data (which also brings TLS 1.3 tickets), `SSL_shutdown` (close_notify),
//!   `close()`. TLS server: accept and registration as for TCP, creating the `Ssl`, every
//!   `SSL_accept` step, writing the one byte, reading until the client's close_notify,
//!   `SSL_shutdown`, `close()`.
//!
//! So a TLS connection's figure minus the in-memory handshake of the same side and kind
//! ([`crate::handshake`]) is what handling the connection costs beyond the handshake's
//! crypto and state machine: the system calls, the round trips through the kernel, the
//! event loop, the one byte and the shutdown.
//!
//! Every TLS connection is checked on both ends before its figure counts: version and
//! cipher; `session_reused()` true exactly for resumed kinds; for `mutual`, the server
//! verified the client certificate against the CA.
//!
//! That difference is also measured as one figure, [`HandlingBench`]
//! (`connection/openssl/<protocol>/<kind>/<side>/handling`): small batches of socket
//! connections, in-memory handshakes and TCP connections alternate within every sample, so
//! a change in the host's speed (seconds to minutes on a shared machine) hits all three
//! alike instead of one bench measured minutes apart from the others.

use crate::eventloop::{
    client_context_for, openssl_cipher, server_context_for, thread_cpu_time, Pki,
};
use crate::handshake::{
    HandshakeBench, Kind, Pki as HsPki, Protocol, Scenario as HsScenario, Side, Stack,
};
use crate::interleave::NegativeSamples;
use crate::names::{BenchId, Dimension};
use crate::server::peak::Pinning;
use crate::{Error, Result};
use openssl::ssl::{
    ErrorCode, HandshakeError, MidHandshakeSslStream, Ssl, SslContext, SslSession, SslStream,
};
use openssl::x509::X509VerifyResult;
use polling::{Event, Events, PollMode, Poller};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Longest any single wait may take before the connection is declared stuck.
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most connections one run may make (one server thread serves them all).
pub const MAX_CONNECTIONS: usize = 2_000;
/// Most wake-ups one connection may take (a loop that spins is an error, not a figure).
const MAX_WAKEUPS: u64 = 10_000;
const LISTENER: usize = 1;
const CONN: usize = 2;

/// What a new connection carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Plain TCP.
    Tcp,
    /// TLS on OpenSSL, of this protocol and kind.
    Tls(Protocol, Kind),
}

/// One per-connection scenario (both sides are measured in every run).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scenario {
    /// TCP or TLS.
    pub layer: Layer,
}

impl Scenario {
    /// Plain TCP.
    pub const TCP: Scenario = Scenario { layer: Layer::Tcp };

    /// A TLS scenario on OpenSSL with an RSA-2048 certificate and X25519 where there is a key
    /// exchange; refused with the reason when the combination does not exist, is not one the
    /// sockets run (TLS 1.3's session-cache resumption, psk_ke, the no-ticket full handshake,
    /// ECDSA certificates), or this OpenSSL lacks the suite (3DES).
    pub fn tls(protocol: Protocol, kind: Kind) -> Result<Scenario> {
        let unsupported = |why: &str| Error::Unsupported {
            backend: "connection",
            what: format!("{}/{}: {why}", protocol.label(), kind.label()),
        };
        if protocol == Protocol::Tls12EcdheEcdsaAes128Gcm {
            return Err(unsupported(
                "connections on sockets use the RSA-2048 certificate",
            ));
        }
        match kind {
            Kind::Full | Kind::Mutual | Kind::ResumedTicket => {}
            Kind::ResumedId if !protocol.tls13() => {}
            Kind::ResumedId => {
                return Err(unsupported(
                    "on sockets TLS 1.3 resumes by ticket: it has no session-id resumption",
                ))
            }
            _ => return Err(unsupported("not a kind the sockets benches run")),
        }
        HsScenario::new(Stack::Openssl, protocol, kind).available()?;
        Ok(Scenario {
            layer: Layer::Tls(protocol, kind),
        })
    }

    /// `connection/tcp/<side>` or `connection/openssl/<protocol>/<kind>/<side>`.
    pub fn id(&self, side: Side) -> BenchId {
        bench_id(self.layer, side)
    }

    /// The benchmark scenarios: TCP, and TLS on every OpenSSL protocol and kind of
    /// [`crate::handshake::Scenario::ALL`] this build can run.
    pub fn all() -> Vec<Scenario> {
        let mut v = vec![Scenario::TCP];
        for s in HsScenario::ALL {
            if s.stack == Stack::Openssl {
                // One per protocol and kind: the group and certificate dimensions are fixed.
                match Scenario::tls(s.protocol, s.kind) {
                    Ok(sc) if !v.contains(&sc) => v.push(sc),
                    _ => {}
                }
            }
        }
        v
    }
}

/// The benchmark name of one side of a connection layer.
pub fn bench_id(layer: Layer, side: Side) -> BenchId {
    match layer {
        Layer::Tcp => BenchId::new("connection", &["tcp", side.label()]),
        Layer::Tls(p, k) => BenchId::new(
            "connection",
            &[Stack::Openssl.label(), p.label(), k.label(), side.label()],
        ),
    }
}

/// The last label of a handling bench's name.
pub const HANDLING: &str = "handling";

/// `connection/openssl/<protocol>/<kind>/<side>/handling`: what a new TLS connection of
/// `side` costs on sockets beyond its TCP set-up and its in-memory handshake, measured as
/// one interleaved difference ([`HandlingBench`]).
pub fn handling_id(protocol: Protocol, kind: Kind, side: Side) -> BenchId {
    BenchId::new(
        "connection",
        &[
            Stack::Openssl.label(),
            protocol.label(),
            kind.label(),
            side.label(),
            HANDLING,
        ],
    )
}

/// CPU time of both sides over a run of connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Connections counted.
    pub connections: u64,
    /// The client thread's CPU time over them.
    pub client: Duration,
    /// The server thread's CPU time over them.
    pub server: Duration,
}

impl Tally {
    /// CPU time of `side` over the run.
    pub fn cpu(&self, side: Side) -> Duration {
        match side {
            Side::Client => self.client,
            Side::Server => self.server,
        }
    }

    /// Mean CPU µs per connection of `side`.
    pub fn us_per_connection(&self, side: Side) -> f64 {
        self.cpu(side).as_secs_f64() * 1e6 / self.connections.max(1) as f64
    }
}

fn conn_err(s: &Scenario, what: impl std::fmt::Display) -> Error {
    Error::Handshake {
        scenario: s.id(Side::Client).function.clone(),
        what: what.to_string(),
    }
}

/// What the server saw of one connection.
#[derive(Debug, Clone, Copy)]
struct ServerSaw {
    reused: bool,
    client_cert_verified: bool,
}

/// Waits until `want` is ready on the registered socket (re-registering when it changes).
fn wait(
    poller: &Poller,
    events: &mut Events,
    sock: &TcpStream,
    interest: &mut Event,
    want: Event,
) -> std::io::Result<()> {
    if (want.readable, want.writable) != (interest.readable, interest.writable) {
        *interest = want;
        poller.modify_with_mode(sock, want, PollMode::Level)?;
    }
    events.clear();
    if poller.wait(events, Some(WAIT_TIMEOUT))? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no event for {WAIT_TIMEOUT:?}"),
        ));
    }
    Ok(())
}

/// The event OpenSSL asked for, or the error that ended the step.
fn wanted(code: ErrorCode) -> Option<Event> {
    match code {
        ErrorCode::WANT_READ => Some(Event::readable(CONN)),
        ErrorCode::WANT_WRITE => Some(Event::writable(CONN)),
        _ => None,
    }
}

/// Drives a handshake step by step with the fixed loop until it completes.
fn drive(
    poller: &Poller,
    events: &mut Events,
    interest: &mut Event,
    mut step: std::result::Result<SslStream<TcpStream>, HandshakeError<TcpStream>>,
) -> std::result::Result<SslStream<TcpStream>, String> {
    let mut wakeups = 0u64;
    loop {
        let mid: MidHandshakeSslStream<TcpStream> = match step {
            Ok(s) => return Ok(s),
            Err(HandshakeError::WouldBlock(mid)) => mid,
            Err(e) => return Err(format!("handshake failed: {e}")),
        };
        let want =
            wanted(mid.error().code()).ok_or_else(|| format!("handshake step: {}", mid.error()))?;
        wait(poller, events, mid.get_ref(), interest, want).map_err(|e| e.to_string())?;
        wakeups += 1;
        if wakeups > MAX_WAKEUPS {
            return Err(format!("more than {MAX_WAKEUPS} wake-ups in one handshake"));
        }
        step = mid.handshake();
    }
}

/// Reads into `buf` with the fixed loop; `Ok(0)` at close_notify or end of file.
fn read_tls(
    poller: &Poller,
    events: &mut Events,
    interest: &mut Event,
    s: &mut SslStream<TcpStream>,
    buf: &mut [u8],
) -> std::result::Result<usize, String> {
    for _ in 0..MAX_WAKEUPS {
        match s.ssl_read(buf) {
            Ok(n) => return Ok(n),
            Err(e) => match e.code() {
                ErrorCode::ZERO_RETURN => return Ok(0),
                // End of file without close_notify (OpenSSL 3: "unexpected eof").
                ErrorCode::SYSCALL | ErrorCode::SSL if e.io_error().is_none() => return Ok(0),
                code => {
                    let want = wanted(code).ok_or_else(|| format!("read: {e}"))?;
                    wait(poller, events, s.get_ref(), interest, want).map_err(|e| e.to_string())?;
                }
            },
        }
    }
    Err(format!("more than {MAX_WAKEUPS} wake-ups in one read"))
}

/// Makes `sock` non-blocking (Nagle off) and registers it, level-triggered, with `interest`.
fn register(poller: &Poller, sock: &TcpStream, interest: Event) -> std::io::Result<()> {
    sock.set_nonblocking(true)?;
    sock.set_nodelay(true)?;
    // SAFETY: the socket is deleted from the poller before it is dropped (or dropped on an
    // error path, which Linux epoll handles by removing the entry).
    unsafe { poller.add_with_mode(sock, interest, PollMode::Level) }
}

/// Serves `n` connections one after another; returns the server thread's CPU time over
/// all but the first (the warm-up) and what it saw of each TLS one.
fn serve(
    listener: TcpListener,
    ctx: Option<SslContext>,
    n: usize,
) -> std::result::Result<(Duration, Vec<ServerSaw>), String> {
    let io = |what: &'static str| move |e: std::io::Error| format!("server {what}: {e}");
    listener.set_nonblocking(true).map_err(io("non-blocking"))?;
    // One poller for the listener and the connection, as a server's event loop has; the
    // listener is armed one-shot, only while the server waits for a connection.
    let poller = Poller::new().map_err(io("poller"))?;
    // SAFETY: the listener outlives the poller's use of it and is deleted before return.
    unsafe { poller.add_with_mode(&listener, Event::none(LISTENER), PollMode::Oneshot) }
        .map_err(io("registering the listener"))?;
    let mut events = Events::new();
    let mut saw = Vec::with_capacity(n);
    let mut cpu0 = thread_cpu_time();
    for i in 0..n {
        if i == 1 {
            cpu0 = thread_cpu_time();
        }
        let sock = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    poller
                        .modify_with_mode(&listener, Event::readable(LISTENER), PollMode::Oneshot)
                        .map_err(io("arming the listener"))?;
                    events.clear();
                    if poller
                        .wait(&mut events, Some(WAIT_TIMEOUT))
                        .map_err(io("epoll_wait"))?
                        == 0
                    {
                        return Err(format!("server: no connection #{i} for {WAIT_TIMEOUT:?}"));
                    }
                }
                Err(e) => return Err(format!("server accept #{i}: {e}")),
            }
        };
        let mut interest = Event::readable(CONN);
        register(&poller, &sock, interest).map_err(io("socket set-up"))?;
        let cevents = &mut events;
        match &ctx {
            None => {
                // Plain TCP: wait for the client's FIN, read the end of file, close.
                let mut sock = sock;
                let mut b = [0u8; 16];
                loop {
                    match sock.read(&mut b) {
                        Ok(0) => break,
                        Ok(_) => return Err("server: unexpected bytes on a TCP connection".into()),
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            wait(
                                &poller,
                                cevents,
                                &sock,
                                &mut interest,
                                Event::readable(CONN),
                            )
                            .map_err(io("waiting for the FIN"))?;
                        }
                        Err(e) => return Err(format!("server read #{i}: {e}")),
                    }
                }
                poller.delete(&sock).map_err(io("deregistering"))?;
            }
            Some(ctx) => {
                let ssl = Ssl::new(ctx).map_err(|e| format!("server Ssl::new: {e}"))?;
                let mut s = drive(&poller, cevents, &mut interest, ssl.accept(sock))
                    .map_err(|e| format!("server #{i}: {e}"))?;
                saw.push(ServerSaw {
                    reused: s.ssl().session_reused(),
                    client_cert_verified: s.ssl().peer_certificate().is_some()
                        && s.ssl().verify_result() == X509VerifyResult::OK,
                });
                loop {
                    match s.ssl_write(b"k") {
                        Ok(_) => break,
                        Err(e) => {
                            let want =
                                wanted(e.code()).ok_or_else(|| format!("server write: {e}"))?;
                            wait(&poller, cevents, s.get_ref(), &mut interest, want)
                                .map_err(io("waiting to write"))?;
                        }
                    }
                }
                let mut b = [0u8; 16];
                while read_tls(&poller, cevents, &mut interest, &mut s, &mut b)
                    .map_err(|e| format!("server #{i}: {e}"))?
                    > 0
                {}
                // Answer the close_notify; the client may have closed already (EPIPE).
                let _ = s.shutdown();
                poller.delete(s.get_ref()).map_err(io("deregistering"))?;
            }
        }
    }
    let cpu = thread_cpu_time().saturating_sub(cpu0);
    poller
        .delete(&listener)
        .map_err(io("deregistering the listener"))?;
    Ok((cpu, saw))
}

/// One client connection; returns its CPU time and, for TLS, the session to resume.
fn client_once(
    s: &Scenario,
    poller: &Poller,
    ctx: Option<&SslContext>,
    addr: SocketAddr,
    session: Option<&SslSession>,
) -> Result<(Duration, Option<SslSession>)> {
    let io =
        |what: &'static str| move |e: std::io::Error| conn_err(s, format!("client {what}: {e}"));
    let cpu0 = thread_cpu_time();
    let sock = TcpStream::connect(addr).map_err(io("connect"))?;
    let Some(ctx) = ctx else {
        drop(sock);
        return Ok((thread_cpu_time().saturating_sub(cpu0), None));
    };
    // A fresh connection's first handshake step writes the ClientHello.
    let mut interest = Event::writable(CONN);
    register(poller, &sock, interest).map_err(io("socket set-up"))?;
    let mut events = Events::new();
    let mut ssl = Ssl::new(ctx).map_err(|e| conn_err(s, format!("client Ssl::new: {e}")))?;
    let mut setup = || -> std::result::Result<(), openssl::error::ErrorStack> {
        ssl.set_hostname(crate::handshake::SERVER_NAME)?;
        ssl.param_mut().set_host(crate::handshake::SERVER_NAME)?;
        if let Some(sess) = session {
            // SAFETY: the session comes from a connection of this same context.
            unsafe { ssl.set_session(sess)? };
        }
        Ok(())
    };
    setup().map_err(|e| conn_err(s, format!("client set-up: {e}")))?;
    let mut stream = drive(poller, &mut events, &mut interest, ssl.connect(sock))
        .map_err(|e| conn_err(s, format!("client: {e}")))?;
    let mut b = [0u8; 1];
    let n = read_tls(poller, &mut events, &mut interest, &mut stream, &mut b)
        .map_err(|e| conn_err(s, format!("client: {e}")))?;
    let _ = stream.shutdown();
    poller
        .delete(stream.get_ref())
        .map_err(io("deregistering"))?;
    let next = stream.ssl().session().map(|x| x.to_owned());
    let reused = stream.ssl().session_reused();
    let version = stream.ssl().version_str();
    let cipher = stream
        .ssl()
        .current_cipher()
        .map(|c| c.name())
        .unwrap_or("none");
    let (want_version, want_cipher, want_reused) = match s.layer {
        Layer::Tls(p, k) => (
            p.version(),
            openssl_cipher(p),
            k.resumes() && session.is_some(),
        ),
        Layer::Tcp => unreachable!("TCP returned above"),
    };
    drop(stream);
    let cpu = thread_cpu_time().saturating_sub(cpu0);
    // Checked after the clock stopped.
    if n != 1 || b != *b"k" {
        return Err(conn_err(s, "client: the server's byte did not arrive"));
    }
    if version != want_version || cipher != want_cipher {
        return Err(conn_err(s, format!("negotiated {version} {cipher}")));
    }
    if reused != want_reused {
        return Err(conn_err(
            s,
            format!("client session_reused() = {reused}, expected {want_reused}"),
        ));
    }
    Ok((cpu, next))
}

/// Runs `n` counted connections of `s` (after one uncounted one that warms the keys and
/// makes the session a resumed kind resumes) against a fresh server thread on loopback.
/// Every TLS connection is checked on both ends; the server thread is joined before return.
pub fn run(pki: &Pki, s: &Scenario, n: usize) -> Result<Tally> {
    if n == 0 || n > MAX_CONNECTIONS {
        return Err(Error::Usage(format!(
            "connections per run must be 1..={MAX_CONNECTIONS}, got {n}"
        )));
    }
    let (sctx, cctx) = match s.layer {
        Layer::Tcp => (None, None),
        Layer::Tls(p, k) => (
            Some(
                server_context_for(pki, p, k)
                    .map_err(|e| conn_err(s, format!("server context: {e}")))?,
            ),
            Some(
                client_context_for(pki, p, k)
                    .map_err(|e| conn_err(s, format!("client context: {e}")))?,
            ),
        ),
    };
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| Error::io("binding the connection server", e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("connection server address", e))?;
    let (tx, rx) = mpsc::channel();
    let server = thread::Builder::new()
        .name("tlscost-connection-server".into())
        .spawn(move || {
            // One more than counted: the first is the client's warm-up, off the clock.
            let served = serve(listener, sctx, n + 1);
            let _ = tx.send(());
            served
        })
        .map_err(|e| Error::io("spawning the server thread", e))?;
    let client = (|| -> Result<Duration> {
        // One poller for all of the client's connections, as a client's event loop has.
        let poller = Poller::new().map_err(|e| Error::io("creating the client's poller", e))?;
        let (_, mut session) = client_once(s, &poller, cctx.as_ref(), addr, None)?;
        let mut total = Duration::ZERO;
        for _ in 0..n {
            let resume = match s.layer {
                Layer::Tls(_, k) if k.resumes() => Some(
                    session
                        .as_ref()
                        .ok_or_else(|| conn_err(s, "the server gave no session to resume"))?,
                ),
                _ => None,
            };
            let (cpu, next) = client_once(s, &poller, cctx.as_ref(), addr, resume)?;
            total += cpu;
            if next.is_some() {
                session = next;
            }
        }
        Ok(total)
    })();
    let _ = rx.recv_timeout(WAIT_TIMEOUT * 2);
    let joined = server
        .join()
        .map_err(|_| conn_err(s, "the server thread panicked"))?;
    let client_cpu = client?;
    let (server_cpu, saw) = joined.map_err(|e| conn_err(s, e))?;
    if let Layer::Tls(_, kind) = s.layer {
        // saw[0] is the warm-up (a full handshake); the counted ones follow.
        for (i, one) in saw.iter().enumerate().skip(1) {
            if one.reused != kind.resumes() {
                return Err(conn_err(
                    s,
                    format!(
                        "connection {i}: server session_reused() = {}, expected {}",
                        one.reused,
                        kind.resumes()
                    ),
                ));
            }
            if one.client_cert_verified != (kind == Kind::Mutual) {
                return Err(conn_err(
                    s,
                    format!(
                        "connection {i}: server verified a client certificate: {}",
                        one.client_cert_verified
                    ),
                ));
            }
        }
    }
    Ok(Tally {
        connections: n as u64,
        client: client_cpu,
        server: server_cpu,
    })
}

/// CPU time of `side` over `iters` connections of `s` (criterion's `iter_custom`), in runs
/// of at most [`MAX_CONNECTIONS`]; every connection is checked.
pub fn side_cpu(pki: &Pki, s: &Scenario, side: Side, iters: u64) -> Result<Duration> {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(MAX_CONNECTIONS as u64);
        total += run(pki, s, n as usize)?.cpu(side);
        left -= n;
    }
    Ok(total)
}

/// One side's thread CPU time in the three parts of a handling measurement, each over the
/// same number of connections (or handshakes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HandlingParts {
    /// New TLS connections on loopback sockets ([`side_cpu`]).
    pub sockets: Duration,
    /// In-memory handshakes of the same scenario ([`HandshakeBench::run_once`]).
    pub in_memory: Duration,
    /// New TCP connections on loopback sockets.
    pub tcp: Duration,
}

impl HandlingParts {
    /// `sockets − in_memory − tcp`, ns; negative when the host ran faster during the
    /// socket connections than during the other two (noise, not a cost).
    pub fn difference_ns(&self) -> i128 {
        self.sockets.as_nanos() as i128
            - self.in_memory.as_nanos() as i128
            - self.tcp.as_nanos() as i128
    }

    /// The sample's figure for criterion: the difference, or [`crate::interleave::FLOOR`]
    /// when it is not positive; the flag says it was negative ([`crate::interleave::floored`]).
    pub fn handling(&self) -> (Duration, bool) {
        crate::interleave::floored(self.difference_ns())
    }
}

/// The negative-sample tally of a handling bench, with what a negative sample means there.
pub fn handling_negatives() -> NegativeSamples {
    NegativeSamples::new(
        "measured the TLS connection on sockets cheaper than its in-memory handshake plus TCP set-up",
        "the socket connection does less work than the in-memory handshake it is set against (compare the two sides' TLS configurations: TLS 1.3 stateful tickets on sockets once made every sample negative)",
    )
}

/// Connections (and handshakes) per batch of one part in a handling sample: small enough
/// that the three parts alternate every few tens of milliseconds, large enough that the
/// uncounted warm-up connection of each socket run stays a small share of the wall time.
pub const HANDLING_BATCH: u64 = 8;

/// A new TLS connection's handling on sockets beyond its TCP set-up and in-memory handshake,
/// measured as one difference: within every sample, batches of socket connections, in-memory
/// handshakes of the same scenario and TCP connections alternate (A B C, then C B A, so a
/// steady drift cancels too), each timed in the measured side's thread CPU time.
///
/// During a sample the process is pinned to one CPU, so the two ends of a socket connection
/// always share it. Unpinned, where the peer thread happened to run (the same CPU: a context
/// switch; the other: a wake-up across CPUs) moved a side's socket CPU time, and so this
/// difference, by up to 2x from run to run on a 2-core host; the in-memory handshake has no
/// peer, so interleaving alone could not cancel it.
pub struct HandlingBench<'a> {
    pki: &'a Pki,
    scenario: Scenario,
    protocol: Protocol,
    kind: Kind,
    in_memory: HandshakeBench,
}

impl<'a> HandlingBench<'a> {
    /// Builds the in-memory handshake of the TLS scenario `s` (OpenSSL, X25519 where there is
    /// a key exchange, RSA-2048: what the socket connections run). Errors: `s` is TCP, or the
    /// handshake cannot be set up.
    pub fn new(pki: &'a Pki, hs_pki: &HsPki, s: Scenario) -> Result<HandlingBench<'a>> {
        let Layer::Tls(protocol, kind) = s.layer else {
            return Err(Error::Usage(
                "connection handling is measured for TLS connections, not TCP".into(),
            ));
        };
        let in_memory =
            HandshakeBench::new(HsScenario::new(Stack::Openssl, protocol, kind), hs_pki)?;
        Ok(HandlingBench {
            pki,
            scenario: s,
            protocol,
            kind,
            in_memory,
        })
    }

    /// The bench's name for `side`.
    pub fn id(&self, side: Side) -> BenchId {
        handling_id(self.protocol, self.kind, side)
    }

    /// Self-check before timing: two socket connections verified on both ends (version,
    /// suite, resumed exactly when the kind resumes, the client certificate verified for
    /// mutual), one in-memory handshake verified the same way, two TCP connections.
    /// Failure: [`Error::SelfCheck`] naming the bench.
    pub fn check(&mut self) -> Result<()> {
        let bench = self.id(Side::Client).full().replace("/client/", "/<side>/");
        let named = |e: Error| Error::SelfCheck {
            bench: bench.clone(),
            what: e.to_string(),
        };
        run(self.pki, &self.scenario, 2).map_err(named)?;
        self.in_memory.check().map_err(named)?;
        run(self.pki, &Scenario::TCP, 2).map_err(named)?;
        Ok(())
    }

    /// The three parts of `side` over `iters` connections each, in alternating batches of at
    /// most [`HANDLING_BATCH`].
    pub fn parts(&mut self, side: Side, iters: u64) -> Result<HandlingParts> {
        // The whole process on the CPU it runs on now (server threads inherit the mask),
        // restored on return: see [`HandlingBench`] for why.
        // SAFETY: sched_getcpu has no preconditions.
        let cpu = usize::try_from(unsafe { libc::sched_getcpu() })
            .map_err(|_| Error::io("sched_getcpu", std::io::Error::last_os_error()))?;
        let _pinned = Pinning::pin(&[std::process::id()], cpu)?;
        // Parts in order: sockets, in-memory handshakes, TCP connections.
        let t = crate::interleave::alternate(3, iters, HANDLING_BATCH, |part, n| match part {
            0 => side_cpu(self.pki, &self.scenario, side, n),
            1 => crate::cputime::sum(n, || self.in_memory.run_once(side)),
            _ => side_cpu(self.pki, &Scenario::TCP, side, n),
        })?;
        Ok(HandlingParts {
            sockets: t[0],
            in_memory: t[1],
            tcp: t[2],
        })
    }

    /// One criterion sample (`iter_custom`): the handling of `side` summed over `iters`
    /// connections, [`crate::interleave::FLOOR`] when the sample's difference is negative (counted in
    /// `negatives`).
    pub fn sample(
        &mut self,
        side: Side,
        iters: u64,
        negatives: &mut NegativeSamples,
    ) -> Result<Duration> {
        let (d, negative) = self.parts(side, iters)?.handling();
        negatives.count(negative);
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(sockets_us: u64, in_memory_us: u64, tcp_us: u64) -> HandlingParts {
        HandlingParts {
            sockets: Duration::from_micros(sockets_us),
            in_memory: Duration::from_micros(in_memory_us),
            tcp: Duration::from_micros(tcp_us),
        }
    }

    #[test]
    fn handling_is_sockets_minus_in_memory_minus_tcp() {
        let p = parts(1_500, 1_000, 200);
        assert_eq!(p.difference_ns(), 300_000);
        assert_eq!(p.handling(), (Duration::from_micros(300), false));
        // Exactly the sum of the two: the floor, and not negative.
        assert_eq!(
            parts(1_200, 1_000, 200).handling(),
            (crate::interleave::FLOOR, false)
        );
    }

    #[test]
    fn a_negative_difference_is_the_floor_and_flagged() {
        let p = parts(1_000, 1_000, 200);
        assert_eq!(p.difference_ns(), -200_000);
        assert_eq!(p.handling(), (crate::interleave::FLOOR, true));
        assert!(crate::interleave::FLOOR > Duration::ZERO);
        // Far beyond what a u64 of ns could hold on either side: no overflow.
        let huge = HandlingParts {
            sockets: Duration::from_secs(u64::MAX / 2),
            in_memory: Duration::ZERO,
            tcp: Duration::ZERO,
        };
        assert_eq!(huge.handling(), (Duration::from_nanos(u64::MAX), false));
    }

    #[test]
    fn handling_names_extend_the_connection_names() {
        let id = handling_id(Protocol::Tls12RsaAes128Sha, Kind::ResumedId, Side::Server);
        assert_eq!(
            id.full(),
            "connection/openssl/tls12-rsa-aes128-sha/resumed-id/server/handling"
        );
        let raw = bench_id(
            Layer::Tls(Protocol::Tls12RsaAes128Sha, Kind::ResumedId),
            Side::Server,
        );
        assert_eq!(id.full(), format!("{}/{HANDLING}", raw.full()));
    }
}
