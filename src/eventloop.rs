//! The paper's Appendix D on real sockets: a non-blocking OpenSSL TLS client driven by an
//! event loop, the faulty way and the fixed way, against a real server on loopback.
//!
//! The paper's proxy (OpenSIPS on epoll) watched its outgoing TLS connection for both
//! readable and writable events while the handshake was under way, and called `SSL_connect`
//! again on every wake-up. While the client waits for the server's next flight the socket is
//! writable, so each writable wake-up bought one more `SSL_connect` that only answered
//! `SSL_ERROR_WANT_READ` (up to 44 per connection in the paper). The fix: wait for exactly
//! what the library asked for.
//!
//! Here:
//! - [`Loop::Faulty`]: the socket is registered once, level-triggered, for readable *and*
//!   writable, and the handshake step (`SSL_connect`, through openssl's
//!   `MidHandshakeSslStream::handshake`) is called on every wake-up.
//! - [`Loop::Fixed`]: after each step the registration is changed to what the step asked
//!   for (`WANT_READ`: readable, `WANT_WRITE`: writable), level-triggered.
//! - The server is a blocking OpenSSL server in another thread, which sleeps
//!   [`Delay`] before each of its flights to stand for a real peer's RTT and processing.
//!
//! Counted per handshake on the client: handshake-step calls, event-loop wake-ups, and the
//! client thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`: user + system time of this thread,
//! not wall time, so the server's sleeping and working does not count). On the CPU clock:
//! building the `Ssl`, every handshake step, every `epoll_ctl`/`epoll_wait` and the socket
//! reads and writes inside the steps. Off it: the TCP connect, registering the socket, and
//! the post-handshake check and close.
//!
//! Every handshake is checked to be what it claims: the negotiated protocol and cipher,
//! `session_reused()` on both ends (true for resumed, false otherwise), and for mutual the
//! server saw a client certificate that passed verification against the CA.

use crate::fixtures::{Ca, Fixtures, Identity};
use crate::handshake::{Kind, Protocol};
use crate::names::{BenchId, Dimension};
use crate::{Error, Result};
use openssl::pkey::{PKey, Private};
use openssl::ssl::{
    ErrorCode, HandshakeError, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions,
    SslSession, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509VerifyResult, X509};
use polling::{Event, Events, PollMode, Poller};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Longest any single wait may take before the handshake is declared stuck.
const WAIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most handshake-step calls one handshake may make (bounds the faulty loop's spinning).
const MAX_CALLS: u64 = 2_000_000;
/// Most handshakes one run may do.
pub const MAX_HANDSHAKES: usize = 10_000;

/// How the event loop drives the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Loop {
    /// Readable and writable watched; the handshake step is called on every wake-up.
    Faulty,
    /// Only what the library asked for is watched (want-read: readable; want-write: writable).
    Fixed,
}

impl Dimension for Loop {
    const ALL: &'static [Self] = &[Loop::Faulty, Loop::Fixed];
    fn label(&self) -> &'static str {
        match self {
            Loop::Faulty => "faulty",
            Loop::Fixed => "fixed",
        }
    }
}

/// What the handshake does, per protocol, for the OpenSSL client and server here.
fn ssl_version(p: Protocol) -> SslVersion {
    match p {
        Protocol::Tls13Aes128Gcm => SslVersion::TLS1_3,
        _ => SslVersion::TLS1_2,
    }
}

/// The cipher name OpenSSL must report after the handshake.
pub(crate) fn openssl_cipher(p: Protocol) -> &'static str {
    match p {
        Protocol::Tls12RsaAes128Sha => "AES128-SHA",
        Protocol::Tls12Rsa3desSha => "DES-CBC3-SHA",
        Protocol::Tls12EcdheRsaAes128Gcm => "ECDHE-RSA-AES128-GCM-SHA256",
        Protocol::Tls12EcdheEcdsaAes128Gcm => "ECDHE-ECDSA-AES128-GCM-SHA256",
        Protocol::Tls13Aes128Gcm => "TLS_AES_128_GCM_SHA256",
    }
}

/// Whether a kind resumes a session.
fn resumes(k: Kind) -> bool {
    matches!(k, Kind::ResumedId | Kind::ResumedTicket)
}

/// The server's pause before each of its flights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delay {
    /// No pause: the server answers as fast as it computes.
    D0,
    /// 0.1 ms.
    D100us,
    /// 1 ms.
    D1ms,
    /// 5 ms.
    D5ms,
}

impl Dimension for Delay {
    const ALL: &'static [Self] = &[Delay::D0, Delay::D100us, Delay::D1ms, Delay::D5ms];
    fn label(&self) -> &'static str {
        match self {
            Delay::D0 => "0ms",
            Delay::D100us => "0.1ms",
            Delay::D1ms => "1ms",
            Delay::D5ms => "5ms",
        }
    }
}

impl Delay {
    /// The pause.
    pub fn duration(self) -> Duration {
        match self {
            Delay::D0 => Duration::ZERO,
            Delay::D100us => Duration::from_micros(100),
            Delay::D1ms => Duration::from_millis(1),
            Delay::D5ms => Duration::from_millis(5),
        }
    }
}

/// One event-loop scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scenario {
    /// Protocol and suite.
    pub protocol: Protocol,
    /// Handshake kind.
    pub kind: Kind,
    /// Server pause before each flight.
    pub delay: Delay,
    /// Faulty or fixed loop.
    pub event_loop: Loop,
}

impl Scenario {
    /// `eventloop/<loop>/<protocol>/<kind>/<delay>`.
    pub fn bench_id(&self) -> BenchId {
        BenchId::new(
            "eventloop",
            &[
                self.event_loop.label(),
                self.protocol.label(),
                self.kind.label(),
            ],
        )
        .with_parameter(self.delay.label())
    }
}

/// What a run of handshakes counted on the client.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Handshakes counted.
    pub handshakes: u64,
    /// Handshake-step calls (`SSL_connect`), all handshakes.
    pub calls: u64,
    /// Most calls in one handshake.
    pub max_calls: u64,
    /// Event-loop wake-ups, all handshakes.
    pub wakeups: u64,
    /// Client thread CPU time, all handshakes.
    pub cpu: Duration,
}

impl Tally {
    fn add(&mut self, one: &OneHandshake) {
        self.handshakes += 1;
        self.calls += one.calls;
        self.max_calls = self.max_calls.max(one.calls);
        self.wakeups += one.wakeups;
        self.cpu += one.cpu;
    }

    /// Mean handshake-step calls per handshake.
    pub fn calls_per_handshake(&self) -> f64 {
        self.calls as f64 / self.handshakes.max(1) as f64
    }

    /// Mean wake-ups per handshake.
    pub fn wakeups_per_handshake(&self) -> f64 {
        self.wakeups as f64 / self.handshakes.max(1) as f64
    }

    /// Mean client CPU time per handshake, µs.
    pub fn cpu_us_per_handshake(&self) -> f64 {
        self.cpu.as_secs_f64() * 1e6 / self.handshakes.max(1) as f64
    }
}

/// Certificates and keys, parsed once.
pub struct Pki {
    ca: X509,
    server_cert: X509,
    server_key: PKey<Private>,
    client_cert: X509,
    client_key: PKey<Private>,
}

impl std::fmt::Debug for Pki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pki { .. }")
    }
}

impl Pki {
    /// Loads the CA, the server and the client identity from the fixtures.
    pub fn load(fixtures: &Fixtures) -> Result<Self> {
        let bad =
            |path: &std::path::Path, what: &str, e: openssl::error::ErrorStack| Error::Fixture {
                path: path.to_path_buf(),
                what: format!("{what}: {e}"),
            };
        let ca = fixtures.ca(Ca::Main)?;
        let server = fixtures.identity(Identity::Server)?;
        let client = fixtures.identity(Identity::Client)?;
        Ok(Pki {
            ca: X509::from_pem(&ca.pem).map_err(|e| bad(&ca.path, "CA certificate", e))?,
            server_cert: X509::from_pem(&server.cert.pem)
                .map_err(|e| bad(&server.cert.path, "server certificate", e))?,
            server_key: PKey::private_key_from_pem(&server.key.pem)
                .map_err(|e| bad(&server.key.path, "server key", e))?,
            client_cert: X509::from_pem(&client.cert.pem)
                .map_err(|e| bad(&client.cert.path, "client certificate", e))?,
            client_key: PKey::private_key_from_pem(&client.key.pem)
                .map_err(|e| bad(&client.key.path, "client key", e))?,
        })
    }
}

fn tls_err(scenario: &Scenario, what: impl std::fmt::Display) -> Error {
    Error::Handshake {
        scenario: scenario.bench_id().full(),
        what: what.to_string(),
    }
}

fn versions(
    b: &mut SslContextBuilder,
    p: Protocol,
) -> std::result::Result<(), openssl::error::ErrorStack> {
    b.set_min_proto_version(Some(ssl_version(p)))?;
    b.set_max_proto_version(Some(ssl_version(p)))?;
    match p {
        // AES128-SHA is a legacy suite; level 0 keeps it available whatever the system default.
        Protocol::Tls12RsaAes128Sha => b.set_cipher_list("AES128-SHA:@SECLEVEL=0"),
        Protocol::Tls12Rsa3desSha => b.set_cipher_list(crate::handshake::openssl::DES_CBC3_SHA),
        Protocol::Tls12EcdheRsaAes128Gcm => b.set_cipher_list("ECDHE-RSA-AES128-GCM-SHA256"),
        Protocol::Tls12EcdheEcdsaAes128Gcm => b.set_cipher_list("ECDHE-ECDSA-AES128-GCM-SHA256"),
        Protocol::Tls13Aes128Gcm => b.set_ciphersuites("TLS_AES_128_GCM_SHA256"),
    }
}

fn server_context(pki: &Pki, s: &Scenario) -> Result<SslContext> {
    server_context_for(pki, s.protocol, s.kind)
        .map_err(|e| tls_err(s, format!("server context: {e}")))
}

fn client_context(pki: &Pki, s: &Scenario) -> Result<SslContext> {
    client_context_for(pki, s.protocol, s.kind)
        .map_err(|e| tls_err(s, format!("client context: {e}")))
}

/// The OpenSSL server context of a protocol and kind: the server certificate and key; a
/// session cache with session-id resumption (tickets off) for TLS 1.2 except for
/// `resumed-ticket`; TLS 1.3 sends OpenSSL's default stateless tickets, as the in-memory
/// handshake of the same scenario does; for `mutual`, a required client certificate
/// verified against the CA.
pub(crate) fn server_context_for(
    pki: &Pki,
    protocol: Protocol,
    kind: Kind,
) -> std::result::Result<SslContext, openssl::error::ErrorStack> {
    Ok(server_builder_for(pki, protocol, kind)?.build())
}

/// [`server_context_for`] before it is built (its options can be read).
fn server_builder_for(
    pki: &Pki,
    protocol: Protocol,
    kind: Kind,
) -> std::result::Result<SslContextBuilder, openssl::error::ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_server())?;
    versions(&mut b, protocol)?;
    b.set_certificate(&pki.server_cert)?;
    b.set_private_key(&pki.server_key)?;
    b.check_private_key()?;
    b.set_session_id_context(b"tlscost-eventloop")?;
    b.set_session_cache_mode(SslSessionCacheMode::SERVER);
    if kind != Kind::ResumedTicket && !protocol.tls13() {
        // Session-id resumption (the paper's "session reuse"). Not in TLS 1.3 (it has no
        // session ids, and its sockets resume by ticket only): there NO_TICKET would make
        // OpenSSL's tickets stateful, cheaper than the stateless ones the in-memory handshake
        // encrypts (a mutual session carries the client's certificate), and the connection
        // handling bench, sockets minus in-memory, came out negative on every sample.
        b.set_options(SslOptions::NO_TICKET);
    }
    if kind == Kind::Mutual {
        b.cert_store_mut().add_cert(pki.ca.clone())?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    Ok(b)
}

/// The OpenSSL client context of a protocol and kind: trusts the CA and verifies the
/// server; a client session cache; for `mutual`, the client certificate and key.
pub(crate) fn client_context_for(
    pki: &Pki,
    protocol: Protocol,
    kind: Kind,
) -> std::result::Result<SslContext, openssl::error::ErrorStack> {
    let mut b = SslContext::builder(SslMethod::tls_client())?;
    versions(&mut b, protocol)?;
    b.cert_store_mut().add_cert(pki.ca.clone())?;
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    if kind == Kind::Mutual {
        b.set_certificate(&pki.client_cert)?;
        b.set_private_key(&pki.client_key)?;
        b.check_private_key()?;
    }
    Ok(b.build())
}

/// The calling thread's CPU time (user + system): [`crate::cputime::thread_cpu`].
pub use crate::cputime::thread_cpu as thread_cpu_time;

/// A socket that sleeps before the first write after a read: one pause per server flight.
#[derive(Debug)]
struct DelayedStream {
    inner: TcpStream,
    delay: Duration,
    read_since_write: bool,
}

impl Read for DelayedStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.read_since_write = true;
        self.inner.read(buf)
    }
}

impl Write for DelayedStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.read_since_write && !self.delay.is_zero() {
            thread::sleep(self.delay);
        }
        self.read_since_write = false;
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// What the server saw of one handshake.
#[derive(Debug, Clone, Copy)]
struct ServerSaw {
    reused: bool,
    client_cert_verified: bool,
}

/// Accept timeout on the listener (Linux applies SO_RCVTIMEO to accept), so a client that
/// failed never leaves the server thread waiting forever.
fn set_accept_timeout(l: &TcpListener, t: Duration) -> Result<()> {
    let tv = libc::timeval {
        tv_sec: t.as_secs() as libc::time_t,
        tv_usec: t.subsec_micros() as libc::suseconds_t,
    };
    // SAFETY: a valid socket fd and a correctly sized, initialised timeval.
    let rc = unsafe {
        libc::setsockopt(
            l.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(Error::io(
            "setting the listener's accept timeout",
            std::io::Error::last_os_error(),
        ));
    }
    Ok(())
}

/// Serves `n` connections one after another: handshake, one byte of application data
/// (which also carries TLS 1.3 tickets to the client), then waits for the client to close.
fn serve(
    listener: TcpListener,
    ctx: SslContext,
    delay: Duration,
    n: usize,
    tx: mpsc::Sender<ServerSaw>,
) -> std::result::Result<(), String> {
    for i in 0..n {
        let (sock, _) = listener
            .accept()
            .map_err(|e| format!("server accept #{i}: {e}"))?;
        sock.set_read_timeout(Some(WAIT_TIMEOUT))
            .map_err(|e| format!("server read timeout: {e}"))?;
        let _ = sock.set_nodelay(true);
        let stream = DelayedStream {
            inner: sock,
            delay,
            read_since_write: true,
        };
        let ssl = Ssl::new(&ctx).map_err(|e| format!("server Ssl::new: {e}"))?;
        let mut s = ssl
            .accept(stream)
            .map_err(|e| format!("server handshake #{i}: {e}"))?;
        let saw = ServerSaw {
            reused: s.ssl().session_reused(),
            client_cert_verified: s.ssl().peer_certificate().is_some()
                && s.ssl().verify_result() == X509VerifyResult::OK,
        };
        s.write_all(b"k")
            .map_err(|e| format!("server write #{i}: {e}"))?;
        // Until the client's close_notify or EOF.
        let mut b = [0u8; 16];
        while matches!(s.read(&mut b), Ok(n) if n > 0) {}
        let _ = s.shutdown();
        if tx.send(saw).is_err() {
            return Ok(()); // the client side gave up; nothing left to report to
        }
    }
    Ok(())
}

/// One client handshake's counts.
#[derive(Debug, Clone, Copy)]
struct OneHandshake {
    calls: u64,
    wakeups: u64,
    cpu: Duration,
}

const KEY: usize = 7;

/// One handshake on a fresh non-blocking connection, driven by the scenario's loop.
fn client_handshake(
    s: &Scenario,
    ctx: &SslContext,
    addr: SocketAddr,
    session: Option<&SslSession>,
) -> Result<(OneHandshake, SslStream<TcpStream>)> {
    let io = |what: &str, e: std::io::Error| tls_err(s, format!("{what}: {e}"));
    let sock = TcpStream::connect(addr).map_err(|e| io("connect", e))?;
    sock.set_nodelay(true).map_err(|e| io("TCP_NODELAY", e))?;
    sock.set_nonblocking(true)
        .map_err(|e| io("non-blocking", e))?;
    let poller = Poller::new().map_err(|e| io("creating the poller", e))?;
    let both = Event::all(KEY);
    let mut interest = match s.event_loop {
        Loop::Faulty => both,
        Loop::Fixed => Event::writable(KEY), // a fresh connection's first step writes
    };
    // SAFETY: the socket is deleted from the poller below before it is closed; on an error
    // path it is closed while registered, which Linux epoll handles by dropping the entry.
    unsafe { poller.add_with_mode(&sock, interest, PollMode::Level) }
        .map_err(|e| io("registering the socket", e))?;
    let mut events = Events::new();

    let cpu0 = thread_cpu_time();
    let mut ssl = Ssl::new(ctx).map_err(|e| tls_err(s, format!("Ssl::new: {e}")))?;
    let mut setup = || -> std::result::Result<(), openssl::error::ErrorStack> {
        ssl.set_hostname("localhost")?;
        ssl.param_mut().set_host("localhost")?;
        if let Some(sess) = session {
            // SAFETY: the session comes from a context with the same settings (same SslContext).
            unsafe { ssl.set_session(sess)? };
        }
        Ok(())
    };
    setup().map_err(|e| tls_err(s, format!("client set-up: {e}")))?;
    let mut calls = 1u64;
    let mut wakeups = 0u64;
    let mut step = ssl.connect(sock);
    let stream = loop {
        let mid = match step {
            Ok(stream) => break stream,
            Err(HandshakeError::WouldBlock(mid)) => mid,
            Err(e) => return Err(tls_err(s, format!("client handshake failed: {e}"))),
        };
        if s.event_loop == Loop::Fixed {
            let want = match mid.error().code() {
                ErrorCode::WANT_READ => Event::readable(KEY),
                ErrorCode::WANT_WRITE => Event::writable(KEY),
                other => return Err(tls_err(s, format!("unexpected want {other:?}"))),
            };
            if (want.readable, want.writable) != (interest.readable, interest.writable) {
                interest = want;
                poller
                    .modify_with_mode(mid.get_ref(), interest, PollMode::Level)
                    .map_err(|e| io("epoll_ctl", e))?;
            }
        }
        events.clear();
        let n = poller
            .wait(&mut events, Some(WAIT_TIMEOUT))
            .map_err(|e| io("epoll_wait", e))?;
        if n == 0 {
            return Err(tls_err(s, format!("no event for {WAIT_TIMEOUT:?}: stuck")));
        }
        wakeups += 1;
        calls += 1;
        if calls > MAX_CALLS {
            return Err(tls_err(s, format!("more than {MAX_CALLS} handshake calls")));
        }
        step = mid.handshake();
    };
    let cpu = thread_cpu_time().saturating_sub(cpu0);
    poller
        .delete(stream.get_ref())
        .map_err(|e| io("deregistering the socket", e))?;
    Ok((
        OneHandshake {
            calls,
            wakeups,
            cpu,
        },
        stream,
    ))
}

/// After the counted part: the handshake is what it claims on the client side, the
/// server's byte arrives, and the connection closes. Returns the session to resume.
fn finish(
    s: &Scenario,
    mut stream: SslStream<TcpStream>,
    expect_reused: bool,
) -> Result<Option<SslSession>> {
    let ssl = stream.ssl();
    let cipher = ssl.current_cipher().map(|c| c.name()).unwrap_or("none");
    if ssl.version_str() != s.protocol.version() || cipher != openssl_cipher(s.protocol) {
        return Err(tls_err(
            s,
            format!("negotiated {} {cipher}", ssl.version_str()),
        ));
    }
    if ssl.session_reused() != expect_reused {
        return Err(tls_err(
            s,
            format!(
                "client session_reused() = {}, expected {expect_reused}",
                ssl.session_reused()
            ),
        ));
    }
    let io = |what: &str, e: std::io::Error| tls_err(s, format!("{what}: {e}"));
    stream
        .get_ref()
        .set_nonblocking(false)
        .map_err(|e| io("blocking mode", e))?;
    stream
        .get_ref()
        .set_read_timeout(Some(WAIT_TIMEOUT))
        .map_err(|e| io("read timeout", e))?;
    let mut b = [0u8; 1];
    stream
        .read_exact(&mut b)
        .map_err(|e| io("reading the server's byte", e))?;
    if b != *b"k" {
        return Err(tls_err(s, "the server's byte is wrong"));
    }
    let session = stream.ssl().session().map(|x| x.to_owned());
    let _ = stream.shutdown();
    Ok(session)
}

/// Runs `n` counted handshakes of scenario `s` (after one uncounted warm-up that warms the
/// keys and, for resumed, makes the session), against a fresh server thread on loopback.
/// Every handshake is checked on both ends; the server thread is joined before returning.
pub fn run_scenario(pki: &Pki, s: &Scenario, n: usize) -> Result<Tally> {
    if n == 0 || n > MAX_HANDSHAKES {
        return Err(Error::Usage(format!(
            "handshakes per scenario must be 1..={MAX_HANDSHAKES}, got {n}"
        )));
    }
    let server_ctx = server_context(pki, s)?;
    let client_ctx = client_context(pki, s)?;
    let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .map_err(|e| Error::io("binding the TLS server", e))?;
    set_accept_timeout(&listener, WAIT_TIMEOUT)?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("TLS server address", e))?;
    let (tx, rx) = mpsc::channel();
    let delay = s.delay.duration();
    let server = thread::Builder::new()
        .name("tlscost-eventloop-server".into())
        .spawn(move || serve(listener, server_ctx, delay, n + 1, tx))
        .map_err(|e| Error::io("spawning the server thread", e))?;

    let client = (|| -> Result<Tally> {
        let mut tally = Tally::default();
        // Warm-up (uncounted): a full handshake of the same kind.
        let (_, stream) = client_handshake(s, &client_ctx, addr, None)?;
        let mut session = finish(s, stream, false)?;
        check_server(s, &rx, false)?;
        for _ in 0..n {
            let resume = if resumes(s.kind) {
                Some(
                    session
                        .as_ref()
                        .ok_or_else(|| tls_err(s, "the server gave no session to resume"))?,
                )
            } else {
                None
            };
            let (one, stream) = client_handshake(s, &client_ctx, addr, resume)?;
            let expect = resumes(s.kind);
            let next = finish(s, stream, expect)?;
            check_server(s, &rx, expect)?;
            if next.is_some() {
                session = next;
            }
            tally.add(&one);
        }
        Ok(tally)
    })();
    drop(rx);
    let joined = server
        .join()
        .map_err(|_| tls_err(s, "the server thread panicked"))?;
    let tally = client?;
    joined.map_err(|e| tls_err(s, e))?;
    Ok(tally)
}

fn check_server(s: &Scenario, rx: &mpsc::Receiver<ServerSaw>, reused: bool) -> Result<()> {
    let saw = rx
        .recv_timeout(WAIT_TIMEOUT)
        .map_err(|_| tls_err(s, "the server reported no handshake"))?;
    if saw.reused != reused {
        return Err(tls_err(
            s,
            format!(
                "server session_reused() = {}, expected {reused}",
                saw.reused
            ),
        ));
    }
    let mutual = s.kind == Kind::Mutual;
    // A resumed mutual session would carry the old client cert; only the kinds here matter.
    if saw.client_cert_verified != mutual {
        return Err(tls_err(
            s,
            format!(
                "server verified a client certificate: {}, expected {mutual}",
                saw.client_cert_verified
            ),
        ));
    }
    Ok(())
}

/// The paper's Appendix D figures, shown beside ours.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PaperFigures {
    /// "it could be 44 times for one connection setup": needless SSL_connect calls.
    pub needless_calls_up_to: u32,
    /// Client-side handshake cost cut by the fix, % (Fig. 18): full, mutual, resumed.
    pub client_saving_pct_full: f64,
    /// See `client_saving_pct_full`.
    pub client_saving_pct_mutual: f64,
    /// See `client_saving_pct_full`.
    pub client_saving_pct_resumed: f64,
    /// Where the figures come from and what they measured.
    pub note: String,
}

impl PaperFigures {
    /// The figures as the paper gives them.
    pub fn appendix_d() -> Self {
        PaperFigures {
            needless_calls_up_to: 44,
            client_saving_pct_full: 50.0,
            client_saving_pct_mutual: 55.0,
            client_saving_pct_resumed: 73.0,
            note: "App. D and Sec. V-A: OpenSIPS 1.4.2 on epoll, OpenSSL 0.9.8g, inbound proxy; \
                   savings are of the TLS client handshake component in oprofile CPU events, \
                   the 44 calls an example of one connection, at an unstated peer RTT"
                .into(),
        }
    }

    /// The paper's saving for a kind, %.
    pub fn saving_pct(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Full | Kind::FullNoTickets => self.client_saving_pct_full,
            Kind::Mutual => self.client_saving_pct_mutual,
            Kind::ResumedId | Kind::ResumedTicket | Kind::ResumedPskKe => {
                self.client_saving_pct_resumed
            }
        }
    }
}

/// One scenario's result: a row of the table and of `results/eventloop.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// The criterion name of the same scenario, `eventloop/<loop>/<protocol>/<kind>/<delay>`.
    pub bench: String,
    /// Protocol label.
    pub protocol: String,
    /// Kind label.
    pub kind: String,
    /// Delay label.
    pub delay: String,
    /// The server's pause before each flight, µs.
    pub delay_us: f64,
    /// `faulty` or `fixed`.
    #[serde(rename = "loop")]
    pub event_loop: String,
    /// Handshakes counted.
    pub handshakes: u64,
    /// Mean handshake-step (`SSL_connect`) calls per handshake.
    pub calls_per_handshake: f64,
    /// Most calls in one handshake.
    pub max_calls: u64,
    /// Mean event-loop wake-ups per handshake.
    pub wakeups_per_handshake: f64,
    /// Mean client thread CPU time per handshake, µs.
    pub client_cpu_us: f64,
    /// Fixed rows: CPU the fix saves against the faulty row of the same scenario, %.
    pub saving_pct: Option<f64>,
}

/// `results/eventloop.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Seconds since the Unix epoch when the run ended.
    pub unix_time: u64,
    /// The machine it ran on.
    pub machine: crate::machine::Machine,
    /// Every scenario, faulty row then fixed row.
    pub rows: Vec<Row>,
    /// The paper's figures.
    pub paper: PaperFigures,
}

/// Schema of [`Report`].
pub const SCHEMA: &str = "tlscost-eventloop/1";

impl Report {
    /// The fixed loop's client CPU µs per handshake at zero delay: the component the model
    /// uses as "TLS client handshake after the App. D fix".
    pub fn fixed_client_us(&self, protocol: Protocol, kind: Kind) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| {
                r.event_loop == Loop::Fixed.label()
                    && r.protocol == protocol.label()
                    && r.kind == kind.label()
                    && r.delay == Delay::D0.label()
            })
            .map(|r| r.client_cpu_us)
    }

    /// Reads a report, refusing another schema or a truncated file.
    pub fn load(path: &std::path::Path) -> Result<Self> {
        let bad = |what: String| Error::Results {
            path: path.to_path_buf(),
            what,
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let r: Report = serde_json::from_str(&text)
            .map_err(|e| bad(format!("not an event-loop report: {e}")))?;
        if r.schema != SCHEMA {
            return Err(bad(format!("schema '{}', expected '{SCHEMA}'", r.schema)));
        }
        Ok(r)
    }
}

/// Runs the faulty and the fixed loop on every combination given, `n` handshakes each.
pub fn measure(
    pki: &Pki,
    protocols: &[Protocol],
    kinds: &[Kind],
    delays: &[Delay],
    n: usize,
    mut progress: impl FnMut(&Scenario),
) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &protocol in protocols {
        for &kind in kinds {
            if protocol == Protocol::Tls13Aes128Gcm && kind == Kind::ResumedId {
                continue; // TLS 1.3 has no session ids; its resumption is resumed-ticket
            }
            for &delay in delays {
                let mut faulty_cpu = None;
                for &event_loop in Loop::ALL {
                    let s = Scenario {
                        protocol,
                        kind,
                        delay,
                        event_loop,
                    };
                    progress(&s);
                    let t = run_scenario(pki, &s, n)?;
                    let cpu = t.cpu_us_per_handshake();
                    let saving_pct = match event_loop {
                        Loop::Faulty => {
                            faulty_cpu = Some(cpu);
                            None
                        }
                        Loop::Fixed => faulty_cpu.map(|f| 100.0 * (f - cpu) / f),
                    };
                    rows.push(Row {
                        bench: s.bench_id().full(),
                        protocol: protocol.label().into(),
                        kind: kind.label().into(),
                        delay: delay.label().into(),
                        delay_us: delay.duration().as_secs_f64() * 1e6,
                        event_loop: event_loop.label().into(),
                        handshakes: t.handshakes,
                        calls_per_handshake: t.calls_per_handshake(),
                        max_calls: t.max_calls,
                        wakeups_per_handshake: t.wakeups_per_handshake(),
                        client_cpu_us: cpu,
                        saving_pct,
                    });
                }
            }
        }
    }
    Ok(rows)
}

/// `tlscost eventloop`: the paper's Appendix D on this machine.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Handshakes counted per scenario (after one uncounted warm-up).
    #[arg(long, default_value_t = 20)]
    pub handshakes: usize,
    /// Protocols, comma-separated: tls12-rsa-aes128-sha, tls12-ecdhe-rsa-aes128-gcm, tls13-aes128-gcm.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "tls12-rsa-aes128-sha,tls13-aes128-gcm"
    )]
    pub protocol: Vec<String>,
    /// Kinds, comma-separated: full, mutual, resumed-id, resumed-ticket.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "full,mutual,resumed-id,resumed-ticket"
    )]
    pub kind: Vec<String>,
    /// Server delays before each flight, comma-separated: 0ms, 0.1ms, 1ms, 5ms.
    #[arg(long, value_delimiter = ',', default_value = "0ms,0.1ms,1ms,5ms")]
    pub delay: Vec<String>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Where to write the report (atomically), for `tlscost model`.
    #[arg(long, default_value = "results/eventloop.json")]
    pub out: std::path::PathBuf,
    /// Do not write the report file.
    #[arg(long)]
    pub no_write: bool,
}

fn labels<D: Dimension>(what: &str, v: &[String]) -> Result<Vec<D>> {
    v.iter().map(|s| D::from_label(what, s.trim())).collect()
}

/// Runs `tlscost eventloop`.
pub fn run(args: Args) -> Result<()> {
    let protocols: Vec<Protocol> = labels("protocol", &args.protocol)?;
    let kinds: Vec<Kind> = labels("kind", &args.kind)?;
    let delays: Vec<Delay> = labels("delay", &args.delay)?;
    // The event-loop handshakes use the RSA identities and the paper's kinds.
    if let Some(p) = protocols
        .iter()
        .find(|p| !p.takes_cert(crate::handshake::Cert::Rsa2048))
    {
        return Err(Error::Usage(format!(
            "--protocol {}: the event-loop handshakes use RSA certificates; expected tls12-rsa-aes128-sha, tls12-rsa-3des-sha, tls12-ecdhe-rsa-aes128-gcm or tls13-aes128-gcm",
            p.label()
        )));
    }
    if let Some(k) = kinds.iter().find(|k| !Kind::PAPER.contains(k)) {
        return Err(Error::Usage(format!(
            "--kind {}: the event-loop handshakes have the paper's kinds: full, mutual, resumed-id, resumed-ticket",
            k.label()
        )));
    }
    if args.handshakes == 0 || args.handshakes > MAX_HANDSHAKES {
        return Err(Error::Usage(format!(
            "--handshakes must be 1..={MAX_HANDSHAKES}, got {}",
            args.handshakes
        )));
    }
    let pki = Pki::load(&Fixtures::locate()?)?;
    let rows = measure(&pki, &protocols, &kinds, &delays, args.handshakes, |s| {
        eprintln!("eventloop: {}", s.bench_id().full())
    })?;
    let report = Report {
        schema: SCHEMA.into(),
        unix_time: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        machine: crate::machine::Machine::current(),
        rows,
        paper: PaperFigures::appendix_d(),
    };
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| Error::Usage(format!("serialising the event-loop report: {e}")))?;
    if !args.no_write {
        crate::fsutil::write_atomic(&args.out, json.as_bytes())?;
    }
    if args.json {
        println!("{json}");
    } else {
        println!("{}", table(&report));
        if !args.no_write {
            println!("written: {}", args.out.display());
        }
    }
    Ok(())
}

/// The report as a terminal table, the paper's figures beside ours.
pub fn table(report: &Report) -> String {
    let mut t = comfy_table::Table::new();
    t.set_header(vec![
        "protocol",
        "kind",
        "delay",
        "loop",
        "calls/hs (max)",
        "wake-ups/hs",
        "client CPU µs",
        "fix saves",
        "paper",
    ]);
    for r in &report.rows {
        let kind = Kind::from_label("kind", &r.kind).ok();
        let paper = match (r.event_loop.as_str(), kind) {
            ("faulty", _) => format!("up to {} needless calls", report.paper.needless_calls_up_to),
            (_, Some(k)) => format!("saves {:.0}%", report.paper.saving_pct(k)),
            _ => String::new(),
        };
        t.add_row(vec![
            r.protocol.clone(),
            r.kind.clone(),
            r.delay.clone(),
            r.event_loop.clone(),
            format!("{:.1} ({})", r.calls_per_handshake, r.max_calls),
            format!("{:.1}", r.wakeups_per_handshake),
            format!("{:.0}", r.client_cpu_us),
            r.saving_pct.map(|p| format!("{p:.0}%")).unwrap_or_default(),
            paper,
        ]);
    }
    format!(
        "{t}\nClient CPU = the client thread's CPU time (CLOCK_THREAD_CPUTIME_ID) per handshake, mean of {} handshakes.\nPaper: {}",
        report.rows.first().map(|r| r.handshakes).unwrap_or(0),
        report.paper.note
    )
}

/// The scenarios of the criterion group `eventloop`: the paper's suite, every kind
/// (resumption by session id and by ticket), both loops, with the server answering at once
/// and after 1 ms.
pub fn bench_scenarios() -> Vec<Scenario> {
    let mut out = Vec::new();
    for &kind in Kind::PAPER {
        for delay in [Delay::D0, Delay::D1ms] {
            for &event_loop in Loop::ALL {
                out.push(Scenario {
                    protocol: Protocol::Tls12RsaAes128Sha,
                    kind,
                    delay,
                    event_loop,
                });
            }
        }
    }
    out
}

/// Client CPU time of `iters` handshakes of `s` (for criterion's `iter_custom`), run in
/// batches of at most 1,000 handshakes per server thread; every handshake is checked.
pub fn client_cpu(pki: &Pki, s: &Scenario, iters: u64) -> Result<Duration> {
    let mut left = iters;
    let mut total = Duration::ZERO;
    while left > 0 {
        let n = left.min(1_000);
        total += run_scenario(pki, s, n as usize)?.cpu;
        left -= n;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls13_servers_send_the_in_memory_handshakes_stateless_tickets() {
        let pki = Pki::load(&Fixtures::locate().unwrap()).unwrap();
        for kind in [Kind::Full, Kind::Mutual] {
            let tls13 = server_builder_for(&pki, Protocol::Tls13Aes128Gcm, kind).unwrap();
            assert!(!tls13.options().contains(SslOptions::NO_TICKET), "{kind:?}");
            // TLS 1.2 keeps session-id resumption, tickets off (the paper's session reuse).
            let tls12 = server_builder_for(&pki, Protocol::Tls12RsaAes128Sha, kind).unwrap();
            assert!(tls12.options().contains(SslOptions::NO_TICKET), "{kind:?}");
        }
    }
}
