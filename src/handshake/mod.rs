//! In-memory TLS handshakes, client side and server side measured apart.
//!
//! A [`Scenario`] is one stack × protocol × kind (see [`Stack`], [`Protocol`], [`Kind`]);
//! [`Scenario::ALL`] lists every combination the stacks support. A [`HandshakeBench`] builds
//! the configurations of one scenario once (keys loaded and warmed, outside any timing),
//! checks that a handshake really is what the scenario's name says ([`HandshakeBench::check`]),
//! and then runs handshake after handshake ([`HandshakeBench::run_once`]) returning the time
//! each side spent.
//!
//! # What is timed per side
//! Client and server run in one thread; bytes go through two in-memory queues ([`Wire`]).
//! Every call that belongs to one side (creating its connection object, its handshake
//! steps, reading and writing its end of the queues) happens inside one function per stack
//! and side: `tlscost::handshake::openssl::client_step`, `...::openssl::server_step`,
//! `...::rustls::client_step`, `...::rustls::server_step`. These names are public API: the
//! instruction-count gate counts one side with callgrind's
//! `--toggle-collect=*tlscost::handshake::*client_step*` (or `*server_step*`). The functions
//! are `#[inline(never)]` and have different bodies, so the compiler neither inlines nor
//! merges them. Building configurations and loading keys happen outside them.

pub mod anatomy;
pub mod cli;
pub mod count;
pub mod explain;
pub mod openssl;
pub mod parts;
pub mod rustls;

use crate::fixtures::{Ca, Fixtures, Identity};
use crate::names::{BenchId, Dimension};
use crate::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

pub use count::{OpCounts, SideCounts};

/// A TLS implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stack {
    /// OpenSSL through the `openssl` crate (the system library).
    Openssl,
    /// rustls with its `ring` crypto provider.
    Rustls,
}

impl Dimension for Stack {
    const ALL: &'static [Self] = &[Stack::Openssl, Stack::Rustls];
    fn label(&self) -> &'static str {
        match self {
            Stack::Openssl => "openssl",
            Stack::Rustls => "rustls",
        }
    }
}

/// Protocol version and cipher suite of a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TLS 1.2, RSA key transport, AES-128-CBC with HMAC-SHA1 (`TLS_RSA_WITH_AES_128_CBC_SHA`):
    /// the paper's suite.
    Tls12RsaAes128Sha,
    /// TLS 1.2, RSA key transport, 3DES-EDE-CBC with HMAC-SHA1 (`TLS_RSA_WITH_3DES_EDE_CBC_SHA`):
    /// the paper's proxy-chain 3DES suite. Only an OpenSSL built with its weak ciphers has it
    /// (the vendored build, `OPENSSL=vendored`); see [`NO_3DES_SUITE`].
    Tls12Rsa3desSha,
    /// TLS 1.2, ECDHE with RSA signatures, AES-128-GCM (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`).
    Tls12EcdheRsaAes128Gcm,
    /// TLS 1.3, `TLS_AES_128_GCM_SHA256` (ECDHE key share, RSA signature).
    Tls13Aes128Gcm,
}

impl Dimension for Protocol {
    const ALL: &'static [Self] = &[
        Protocol::Tls12RsaAes128Sha,
        Protocol::Tls12Rsa3desSha,
        Protocol::Tls12EcdheRsaAes128Gcm,
        Protocol::Tls13Aes128Gcm,
    ];
    fn label(&self) -> &'static str {
        match self {
            Protocol::Tls12RsaAes128Sha => "tls12-rsa-aes128-sha",
            Protocol::Tls12Rsa3desSha => "tls12-rsa-3des-sha",
            Protocol::Tls12EcdheRsaAes128Gcm => "tls12-ecdhe-rsa-aes128-gcm",
            Protocol::Tls13Aes128Gcm => "tls13-aes128-gcm",
        }
    }
}

impl Protocol {
    /// The protocol version, as "TLSv1.2" / "TLSv1.3".
    pub fn version(&self) -> &'static str {
        match self {
            Protocol::Tls13Aes128Gcm => "TLSv1.3",
            _ => "TLSv1.2",
        }
    }
    /// The IANA name of the cipher suite the handshake must negotiate.
    pub fn iana_suite(&self) -> &'static str {
        match self {
            Protocol::Tls12RsaAes128Sha => "TLS_RSA_WITH_AES_128_CBC_SHA",
            Protocol::Tls12Rsa3desSha => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            Protocol::Tls12EcdheRsaAes128Gcm => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            Protocol::Tls13Aes128Gcm => "TLS_AES_128_GCM_SHA256",
        }
    }
    /// Whether the key exchange is RSA key transport (the client encrypts the pre-master).
    pub fn rsa_key_transport(&self) -> bool {
        matches!(
            self,
            Protocol::Tls12RsaAes128Sha | Protocol::Tls12Rsa3desSha
        )
    }
    /// The record protection suite label of the `record/...` benches for this protocol.
    pub fn record_suite(&self) -> &'static str {
        match self {
            Protocol::Tls12RsaAes128Sha => "aes128-sha",
            Protocol::Tls12Rsa3desSha => "3des-sha",
            _ => "aes128-gcm",
        }
    }
}

/// What kind of handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Full handshake, server authenticated only.
    Full,
    /// Full handshake, and the server requires and verifies a client certificate.
    Mutual,
    /// Abbreviated handshake resuming a session from the server's session cache (tickets off).
    ResumedId,
    /// Abbreviated handshake resuming from a stateless ticket (TLS 1.3: the stack's PSK resumption).
    ResumedTicket,
}

impl Dimension for Kind {
    const ALL: &'static [Self] = &[
        Kind::Full,
        Kind::Mutual,
        Kind::ResumedId,
        Kind::ResumedTicket,
    ];
    fn label(&self) -> &'static str {
        match self {
            Kind::Full => "full",
            Kind::Mutual => "mutual",
            Kind::ResumedId => "resumed-id",
            Kind::ResumedTicket => "resumed-ticket",
        }
    }
}

impl Kind {
    /// Whether a handshake of this kind must resume a session.
    pub fn resumes(&self) -> bool {
        matches!(self, Kind::ResumedId | Kind::ResumedTicket)
    }
}

/// Which end of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The side that connects (`SSL_connect`, `ClientConnection`).
    Client,
    /// The side that accepts (`SSL_accept`, `ServerConnection`).
    Server,
}

impl Dimension for Side {
    const ALL: &'static [Self] = &[Side::Client, Side::Server];
    fn label(&self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

impl Side {
    /// 0 for the client, 1 for the server (index into per-side arrays).
    pub fn index(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }
}

/// One handshake scenario: a stack, a protocol and a kind (timed for each [`Side`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scenario {
    /// The TLS implementation (both ends use it).
    pub stack: Stack,
    /// Version and cipher suite.
    pub protocol: Protocol,
    /// Full, mutual or resumed.
    pub kind: Kind,
}

const fn sc(stack: Stack, protocol: Protocol, kind: Kind) -> Scenario {
    Scenario {
        stack,
        protocol,
        kind,
    }
}

/// One line saying which combination is absent and why (printed by `counts` and the bench).
pub const RUSTLS_NO_RSA_KX: &str = "rustls has no RSA key transport (no TLS_RSA_* suites): \
     handshake/rustls/tls12-rsa-aes128-sha/* does not exist; the paper's suite is measured on openssl only";

/// Why the 3DES scenarios cannot run on an OpenSSL without its weak ciphers (the system one).
pub const NO_3DES_SUITE: &str = "this OpenSSL has no 3DES TLS suite at any security level \
     (DES-CBC3-SHA: no cipher match; distributions build OpenSSL without its weak ciphers): \
     handshake/openssl/tls12-rsa-3des-sha/* and record/libssl/3des-sha/* need the vendored \
     OpenSSL, built with weak-crypto: run with OPENSSL=vendored (e.g. `make bench OPENSSL=vendored`, \
     cargo feature vendored-openssl)";

impl Scenario {
    /// Every supported scenario, in report order (see [`Scenario::supported`] for what is left out).
    pub const ALL: &'static [Scenario] = {
        use Kind::*;
        use Protocol::*;
        use Stack::*;
        &[
            sc(Openssl, Tls12RsaAes128Sha, Full),
            sc(Openssl, Tls12RsaAes128Sha, Mutual),
            sc(Openssl, Tls12RsaAes128Sha, ResumedId),
            sc(Openssl, Tls12RsaAes128Sha, ResumedTicket),
            sc(Openssl, Tls12Rsa3desSha, Full),
            sc(Openssl, Tls12Rsa3desSha, Mutual),
            sc(Openssl, Tls12Rsa3desSha, ResumedId),
            sc(Openssl, Tls12Rsa3desSha, ResumedTicket),
            sc(Openssl, Tls12EcdheRsaAes128Gcm, Full),
            sc(Openssl, Tls12EcdheRsaAes128Gcm, Mutual),
            sc(Openssl, Tls12EcdheRsaAes128Gcm, ResumedId),
            sc(Openssl, Tls12EcdheRsaAes128Gcm, ResumedTicket),
            sc(Openssl, Tls13Aes128Gcm, Full),
            sc(Openssl, Tls13Aes128Gcm, Mutual),
            sc(Openssl, Tls13Aes128Gcm, ResumedTicket),
            sc(Rustls, Tls12EcdheRsaAes128Gcm, Full),
            sc(Rustls, Tls12EcdheRsaAes128Gcm, Mutual),
            sc(Rustls, Tls12EcdheRsaAes128Gcm, ResumedId),
            sc(Rustls, Tls12EcdheRsaAes128Gcm, ResumedTicket),
            sc(Rustls, Tls13Aes128Gcm, Full),
            sc(Rustls, Tls13Aes128Gcm, Mutual),
            sc(Rustls, Tls13Aes128Gcm, ResumedTicket),
        ]
    };

    /// Whether a combination exists, and if not, why not.
    pub fn supported(
        stack: Stack,
        protocol: Protocol,
        kind: Kind,
    ) -> std::result::Result<(), &'static str> {
        if stack == Stack::Rustls && protocol.rsa_key_transport() {
            return Err(RUSTLS_NO_RSA_KX);
        }
        if protocol == Protocol::Tls13Aes128Gcm && kind == Kind::ResumedId {
            return Err("TLS 1.3 has no session-id resumption: it resumes by ticket (PSK) only");
        }
        Ok(())
    }

    /// Whether this build can run the scenario: [`Scenario::supported`], and for the 3DES suite
    /// an OpenSSL that has it (probed on the linked library, see [`NO_3DES_SUITE`]).
    /// Error: [`Error::Unsupported`] saying why and what to do.
    pub fn available(&self) -> Result<()> {
        Scenario::supported(self.stack, self.protocol, self.kind).map_err(|why| {
            Error::Unsupported {
                backend: self.stack.label(),
                what: format!("{}: {why}", self.label()),
            }
        })?;
        if self.stack == Stack::Openssl && self.protocol == Protocol::Tls12Rsa3desSha {
            openssl::has_3des_suite().map_err(|e| match e {
                Error::Unsupported { backend, what } => Error::Unsupported {
                    backend,
                    what: format!("{}: {what}", self.label()),
                },
                other => other,
            })?;
        }
        Ok(())
    }

    /// The benchmark name of one side: `handshake/<stack>/<protocol>/<kind>/<side>`.
    pub fn id(&self, side: Side) -> BenchId {
        BenchId::new(
            "handshake",
            &[
                self.stack.label(),
                self.protocol.label(),
                self.kind.label(),
                side.label(),
            ],
        )
    }

    /// `<stack>/<protocol>/<kind>`, for messages.
    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.stack.label(),
            self.protocol.label(),
            self.kind.label()
        )
    }

    /// Finds a scenario by its label `<stack>/<protocol>/<kind>` (with or without `handshake/`).
    pub fn from_label(s: &str) -> Result<Scenario> {
        let s = s.strip_prefix("handshake/").unwrap_or(s);
        Scenario::ALL
            .iter()
            .copied()
            .find(|sc| sc.label() == s)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown handshake scenario '{s}'; see `tlscost counts`"
                ))
            })
    }
}

/// The certificates and keys a handshake uses, as PEM (PKCS#8 keys).
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA that signed the server and client certificates (trusted by both ends).
    pub ca: Vec<u8>,
    /// Server certificate and key (RSA 2048, SAN `localhost`).
    pub server: CertAndKey,
    /// Client certificate and key, signed by the CA.
    pub client: CertAndKey,
    /// A client certificate signed by another CA: a mutual server must refuse it.
    pub rogue_client: CertAndKey,
}

impl Pki {
    /// Loads the CA, server, client and rogue-client identities from the fixtures (each
    /// checked by [`crate::fixtures`]: a missing or corrupt file is an error naming it).
    pub fn load(fixtures: &Fixtures) -> Result<Pki> {
        let pair = |who| -> Result<CertAndKey> {
            let ck = fixtures.identity(who)?;
            Ok(CertAndKey {
                cert: ck.cert.pem,
                key: ck.key.pem,
            })
        };
        Ok(Pki {
            ca: fixtures.ca(Ca::Main)?.pem,
            server: pair(Identity::Server)?,
            client: pair(Identity::Client)?,
            rogue_client: pair(Identity::RogueClient)?,
        })
    }

    /// [`Pki::load`] from [`Fixtures::locate`].
    pub fn locate() -> Result<Pki> {
        Pki::load(&Fixtures::locate()?)
    }
}

/// One certificate and its private key, PEM.
#[derive(Debug, Clone)]
pub struct CertAndKey {
    /// Leaf certificate (PEM).
    pub cert: Vec<u8>,
    /// Private key (PKCS#8 PEM).
    pub key: Vec<u8>,
}

/// The host name the client asks for and checks in the server certificate.
pub const SERVER_NAME: &str = "localhost";

/// What a finished handshake reports about itself, read from the stack after it completed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Negotiated version as seen by the client ("TLSv1.2"/"TLSv1.3").
    pub version: String,
    /// Negotiated suite, IANA name, as seen by the client.
    pub suite: String,
    /// Version and suite as seen by the server.
    pub server_version: String,
    /// Suite as seen by the server.
    pub server_suite: String,
    /// The client reports that it resumed a session.
    pub client_resumed: bool,
    /// The server reports that it resumed a session.
    pub server_resumed: bool,
    /// The server received a client certificate and its verifier accepted it.
    pub client_cert_verified: bool,
}

/// What one end reports about a finished handshake.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndReport {
    /// Negotiated version, "TLSv1.2" / "TLSv1.3".
    pub version: String,
    /// Negotiated cipher suite, IANA name (`TLS_AES_128_GCM_SHA256` for TLS 1.3).
    pub suite: String,
    /// The stack says this handshake resumed a session.
    pub resumed: bool,
    /// The peer sent a certificate and this end's verifier accepted it.
    pub peer_verified: bool,
}

/// The two in-memory queues between client and server.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    /// Bytes the client sent and the server has not read yet.
    pub to_server: Rc<RefCell<VecDeque<u8>>>,
    /// Bytes the server sent and the client has not read yet.
    pub to_client: Rc<RefCell<VecDeque<u8>>>,
}

impl Wire {
    /// The client's end: reads what the server sent, writes to the server.
    pub fn client_end(&self) -> Pipe {
        Pipe::new(self.to_client.clone(), self.to_server.clone())
    }
    /// The server's end.
    pub fn server_end(&self) -> Pipe {
        Pipe::new(self.to_server.clone(), self.to_client.clone())
    }
}

/// One end of a [`Wire`]: `Read` takes what the peer wrote (`WouldBlock` when empty),
/// `Write` appends for the peer. Counts the bytes it moved.
#[derive(Debug)]
pub struct Pipe {
    rx: Rc<RefCell<VecDeque<u8>>>,
    tx: Rc<RefCell<VecDeque<u8>>>,
    /// Bytes written so far.
    pub sent: Rc<Cell<u64>>,
    /// Bytes read so far.
    pub received: Rc<Cell<u64>>,
}

impl Pipe {
    fn new(rx: Rc<RefCell<VecDeque<u8>>>, tx: Rc<RefCell<VecDeque<u8>>>) -> Pipe {
        Pipe {
            rx,
            tx,
            sent: Rc::default(),
            received: Rc::default(),
        }
    }
    /// Whether the peer has written bytes this end has not read.
    pub fn has_input(&self) -> bool {
        !self.rx.borrow().is_empty()
    }
    /// A second handle on the same end (same queues and counters).
    pub fn handle(&self) -> Pipe {
        Pipe {
            rx: self.rx.clone(),
            tx: self.tx.clone(),
            sent: self.sent.clone(),
            received: self.received.clone(),
        }
    }
}

impl Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut rx = self.rx.borrow_mut();
        if rx.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = rx.read(buf)?;
        self.received.set(self.received.get() + n as u64);
        Ok(n)
    }
}

impl Write for Pipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx.borrow_mut().extend(buf);
        self.sent.set(self.sent.get() + buf.len() as u64);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One end of a handshake in progress, whatever the stack. The driver calls [`Endpoint::step`]
/// whenever the end has something to do; each implementation's `step` calls its stack's
/// `client_step` / `server_step`.
pub trait Endpoint {
    /// Which side this is.
    fn side(&self) -> Side;
    /// Does the handshake work this end can do now (first call: creates the connection object).
    fn step(&mut self) -> Result<()>;
    /// Whether this end has finished its handshake.
    fn done(&self) -> bool;
    /// Whether the peer wrote bytes this end has not read yet.
    fn has_input(&self) -> bool;
    /// Sends application data (after the handshake).
    fn send(&mut self, data: &[u8]) -> Result<()>;
    /// Reads all application data available now.
    fn receive(&mut self) -> Result<Vec<u8>>;
    /// What the stack says about the finished handshake.
    fn report(&self) -> Result<EndReport>;
    /// Called once after the handshake completed, outside the timing: the client keeps the
    /// session for later resumption; an OpenSSL end marks the connection as cleanly closed
    /// (freeing it without that would make OpenSSL drop the session from its cache).
    fn after_handshake(&mut self) -> Result<()>;
    /// Bytes (sent, received) on the wire so far.
    fn wire_bytes(&self) -> (u64, u64);
}

thread_local! {
    static CURRENT_SIDE: Cell<Option<Side>> = const { Cell::new(None) };
}

/// The side whose step is running on this thread (for the counting instrumentation).
pub fn current_side() -> Option<Side> {
    CURRENT_SIDE.with(|c| c.get())
}

/// Most steps any handshake needs; more means the two ends are stuck.
const MAX_STEPS: usize = 64;

/// Runs a handshake to completion (including the server's post-handshake messages, e.g. TLS 1.3
/// tickets, read by the client), returning the time spent in each side's steps `[client, server]`.
pub fn drive(
    client: &mut dyn Endpoint,
    server: &mut dyn Endpoint,
    name: &str,
) -> Result<[Duration; 2]> {
    let mut times = [Duration::ZERO; 2];
    let mut started = false;
    for _ in 0..MAX_STEPS {
        if !started || client.has_input() {
            started = true;
            times[0] += timed_step(client)?;
        }
        if server.has_input() {
            times[1] += timed_step(server)?;
        }
        if client.done() && server.done() && !client.has_input() && !server.has_input() {
            return Ok(times);
        }
        if !client.has_input() && !server.has_input() {
            return Err(Error::Handshake {
                scenario: name.to_string(),
                what: format!(
                    "stalled: client {}, server {}, nothing in flight",
                    if client.done() { "done" } else { "handshaking" },
                    if server.done() { "done" } else { "handshaking" }
                ),
            });
        }
    }
    Err(Error::Handshake {
        scenario: name.to_string(),
        what: format!("not finished after {MAX_STEPS} steps"),
    })
}

fn timed_step(end: &mut dyn Endpoint) -> Result<Duration> {
    CURRENT_SIDE.with(|c| c.set(Some(end.side())));
    // CPU time of this thread: other programs taking the CPU away do not count.
    let t = crate::cputime::CpuTimer::start();
    let r = end.step();
    let d = t.elapsed();
    CURRENT_SIDE.with(|c| c.set(None));
    r.map(|()| d)
}

/// Reads the facts of a finished handshake from both ends.
pub fn facts(client: &dyn Endpoint, server: &dyn Endpoint) -> Result<Facts> {
    let c = client.report()?;
    let s = server.report()?;
    Ok(Facts {
        version: c.version,
        suite: c.suite,
        server_version: s.version,
        server_suite: s.suite,
        client_resumed: c.resumed,
        server_resumed: s.resumed,
        client_cert_verified: s.peer_verified,
    })
}

/// Whether a handshake's facts match the scenario: the error says what differs.
pub fn verify_facts(scenario: &Scenario, f: &Facts) -> std::result::Result<(), String> {
    let p = scenario.protocol;
    for (who, v, s) in [
        ("client", &f.version, &f.suite),
        ("server", &f.server_version, &f.server_suite),
    ] {
        if v != p.version() {
            return Err(format!("{who} negotiated {v}, expected {}", p.version()));
        }
        if s != p.iana_suite() {
            return Err(format!("{who} negotiated {s}, expected {}", p.iana_suite()));
        }
    }
    let want = scenario.kind.resumes();
    if f.client_resumed != want || f.server_resumed != want {
        return Err(format!(
            "expected {} handshake, client says resumed={}, server says resumed={}",
            if want { "a resumed" } else { "a full" },
            f.client_resumed,
            f.server_resumed
        ));
    }
    let mutual = scenario.kind == Kind::Mutual;
    if f.client_cert_verified != mutual {
        return Err(if mutual {
            "the server did not receive and verify a client certificate".to_string()
        } else {
            "the server received a client certificate in a non-mutual handshake".to_string()
        });
    }
    Ok(())
}

/// Configurations of one scenario on one stack, built once; makes fresh endpoints per handshake.
/// Shareable between threads (`tlscost scale` runs handshakes on one setup from many).
pub trait Setup: Send + Sync {
    /// A new client end on `wire` (no connection object yet: its first step creates it).
    fn client(&self, wire: &Wire) -> Box<dyn Endpoint>;
    /// A new server end on `wire`.
    fn server(&self, wire: &Wire) -> Box<dyn Endpoint>;
}

/// Builds the configurations of a scenario (keys loaded from `pki`), with the counting
/// instrumentation on or off. No handshake is run.
pub fn setup(scenario: Scenario, pki: &Pki, counting: bool) -> Result<Box<dyn Setup>> {
    scenario.available()?;
    Ok(match scenario.stack {
        Stack::Openssl => Box::new(openssl::OpensslSetup::new(scenario, pki, counting)?),
        Stack::Rustls => Box::new(rustls::RustlsSetup::new(scenario, pki, counting)?),
    })
}

/// Runs one handshake between `client_setup`'s client and `server_setup`'s server (which may be
/// different stacks), then sends `data` each way. Returns the facts and what each side received.
pub fn cross_handshake(
    client_setup: &dyn Setup,
    server_setup: &dyn Setup,
    data: &[u8],
) -> Result<(Facts, Vec<u8>, Vec<u8>)> {
    let wire = Wire::default();
    let mut c = client_setup.client(&wire);
    let mut s = server_setup.server(&wire);
    drive(c.as_mut(), s.as_mut(), "cross-stack")?;
    let f = facts(c.as_ref(), s.as_ref())?;
    c.send(data)?;
    let at_server = s.receive()?;
    s.send(data)?;
    let at_client = c.receive()?;
    Ok((f, at_server, at_client))
}

/// What one handshake of a [`HandshakeBench`] gave.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Time spent in each side's steps, `[client, server]`.
    pub times: [Duration; 2],
    /// What the two ends report about the handshake.
    pub facts: Facts,
    /// Bytes `(sent, received)` on the wire, `[client, server]`.
    pub wire: [(u64, u64); 2],
}

/// One scenario ready to be timed: configurations built, keys warm, resumption primed.
pub struct HandshakeBench {
    scenario: Scenario,
    setup: Box<dyn Setup>,
}

impl HandshakeBench {
    /// Builds the scenario's configurations from `pki`, runs one full handshake to warm the keys
    /// and (for resumed kinds) to get the session to resume. Nothing of this is timed.
    pub fn new(scenario: Scenario, pki: &Pki) -> Result<HandshakeBench> {
        Self::build(scenario, pki, false)
    }

    /// The same with the counting instrumentation on (rustls counting provider, openssl message
    /// callback); for [`count::measure`], not for timing.
    pub fn counting(scenario: Scenario, pki: &Pki) -> Result<HandshakeBench> {
        Self::build(scenario, pki, true)
    }

    fn build(scenario: Scenario, pki: &Pki, counting: bool) -> Result<HandshakeBench> {
        let setup = setup(scenario, pki, counting)?;
        let mut bench = HandshakeBench { scenario, setup };
        // Warm-up and priming: one handshake (full, since nothing is cached yet).
        bench.handshake()?;
        Ok(bench)
    }

    /// The scenario.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    /// One handshake: the time each side spent, the facts and the bytes on the wire.
    pub fn handshake(&mut self) -> Result<Outcome> {
        let wire = Wire::default();
        let mut c = self.setup.client(&wire);
        let mut s = self.setup.server(&wire);
        let times = drive(c.as_mut(), s.as_mut(), &self.scenario.label())?;
        let f = facts(c.as_ref(), s.as_ref())?;
        c.after_handshake()?;
        s.after_handshake()?;
        Ok(Outcome {
            times,
            facts: f,
            wire: [c.wire_bytes(), s.wire_bytes()],
        })
    }

    /// Runs one handshake and checks it is what the scenario's name says (version, suite,
    /// resumed or not, client certificate verified or not). Failure: [`Error::SelfCheck`]
    /// naming the scenario.
    pub fn check(&mut self) -> Result<Facts> {
        let name = format!("handshake/{}", self.scenario.label());
        let f = self
            .handshake()
            .map(|o| o.facts)
            .map_err(|e| Error::SelfCheck {
                bench: name.clone(),
                what: e.to_string(),
            })?;
        verify_facts(&self.scenario, &f).map_err(|what| Error::SelfCheck { bench: name, what })?;
        Ok(f)
    }

    /// Runs one handshake and returns the time `side` spent in it. Also checks, cheaply, that
    /// it resumed exactly when the scenario says so (a cache running dry would change what is
    /// measured).
    pub fn run_once(&mut self, side: Side) -> Result<Duration> {
        let Outcome {
            times, facts: f, ..
        } = self.handshake()?;
        let want = self.scenario.kind.resumes();
        if f.client_resumed != want || f.server_resumed != want {
            return Err(Error::SelfCheck {
                bench: self.scenario.id(side).full(),
                what: format!(
                    "a handshake during timing had resumed={} (expected {want})",
                    f.server_resumed
                ),
            });
        }
        Ok(times[side.index()])
    }
}
