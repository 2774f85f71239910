//! In-memory TLS handshakes, client side and server side measured apart.
//!
//! A [`Scenario`] is one stack × protocol × key-exchange group × certificate type × kind
//! (see [`Stack`], [`Protocol`], [`Group`], [`Cert`], [`Kind`]); [`Scenario::ALL`] lists every
//! combination the stacks support. A [`HandshakeBench`] builds
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
mod scenario;

use crate::fixtures::{Ca, Fixtures, Identity};
use crate::names::Dimension;
use crate::{Error, Result};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

pub use count::{OpCounts, SideCounts};
pub use scenario::{
    Cert, Group, Kind, Protocol, Scenario, Side, Stack, NO_3DES_SUITE, NO_AWSLC_PROVIDER,
    NO_MLKEM_GROUP, NO_PSK_KE, RUSTLS_NO_RSA_KX, TLS13_TICKETS,
};

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
    /// The ECDSA P-256 CA that signed the ECDSA server and client certificates.
    pub ecdsa_ca: Vec<u8>,
    /// ECDSA P-256 server certificate and key (same names as the RSA one).
    pub ecdsa_server: CertAndKey,
    /// ECDSA P-256 client certificate and key.
    pub ecdsa_client: CertAndKey,
}

impl Pki {
    /// Loads the CAs, server, client and rogue-client identities from the fixtures (each
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
            ecdsa_ca: fixtures.ca(Ca::Ecdsa)?.pem,
            ecdsa_server: pair(Identity::EcdsaServer)?,
            ecdsa_client: pair(Identity::EcdsaClient)?,
        })
    }

    /// [`Pki::load`] from [`Fixtures::locate`].
    pub fn locate() -> Result<Pki> {
        Pki::load(&Fixtures::locate()?)
    }

    /// [`Pki::load`] from `dir` (a `--fixtures` flag) when given, else [`Pki::locate`].
    pub fn from_dir(dir: Option<&std::path::Path>) -> Result<Pki> {
        match dir {
            Some(d) => Pki::load(&Fixtures::at(d)),
            None => Pki::locate(),
        }
    }

    /// The CA that signed the certificates of type `cert` (what both ends trust).
    pub fn ca_of(&self, cert: Cert) -> &[u8] {
        match cert {
            Cert::Rsa2048 => &self.ca,
            Cert::EcdsaP256 => &self.ecdsa_ca,
        }
    }

    /// The server identity of type `cert`.
    pub fn server_of(&self, cert: Cert) -> &CertAndKey {
        match cert {
            Cert::Rsa2048 => &self.server,
            Cert::EcdsaP256 => &self.ecdsa_server,
        }
    }

    /// The client identity of type `cert` (mutual handshakes).
    pub fn client_of(&self, cert: Cert) -> &CertAndKey {
        match cert {
            Cert::Rsa2048 => &self.client,
            Cert::EcdsaP256 => &self.ecdsa_client,
        }
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

/// Label of "no key exchange" / "no certificate" in [`Facts`].
pub const NONE: &str = "none";

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
    /// Key-exchange group of this handshake as the client reports it ([`Group`] label,
    /// [`NONE`] when no (EC)DHE was done, `0x....` for a group of no [`Group`]).
    pub group: String,
    /// The same as the server reports it.
    pub server_group: String,
    /// Type of the server certificate the client received ([`Cert`] label, or a description).
    pub server_cert: String,
    /// Type of the client certificate the server received ([`NONE`] when none).
    pub client_cert: String,
    /// Session tickets the server issued during this handshake (TLS 1.2 NewSessionTicket
    /// inside the handshake, TLS 1.3 NewSessionTicket after it, stateless or stateful).
    pub tickets_issued: u32,
    /// Where the server found the resumed session (`None` for a full handshake).
    pub resumed_from: Option<ResumedFrom>,
    /// The group of the key share the server sent, read off the wire ([`NONE`] when it sent
    /// none); `None` when the wire was not tapped (only [`HandshakeBench::check`] taps it).
    pub wire_group: Option<String>,
}

/// Where a server found the session it resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResumedFrom {
    /// Its session cache (TLS 1.2 session id, TLS 1.3 stateful ticket).
    Cache,
    /// A stateless ticket it decrypted.
    Ticket,
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
    /// Key-exchange group of this handshake (see [`Facts::group`]).
    pub group: String,
    /// Type of the peer's certificate ([`Cert`] label, [`NONE`], or a description).
    pub peer_cert: String,
    /// Server: tickets it issued in this handshake. Client: 0.
    pub tickets_issued: u32,
    /// Server: where the resumed session came from. Client: `None`.
    pub resumed_from: Option<ResumedFrom>,
}

/// The group of the last key share the server sent in `server_bytes` (everything the server
/// wrote, TLS records): a TLS 1.3 ServerHello's `key_share` extension or a TLS 1.2
/// ServerKeyExchange's named curve, read from the plaintext records before the server's
/// ChangeCipherSpec. `None` when the server sent no key share (TLS_RSA key transport, an
/// abbreviated TLS 1.2 handshake, psk_ke resumption) or the bytes do not parse.
pub fn server_key_share_group(server_bytes: &[u8]) -> Option<u16> {
    // The plaintext handshake messages, joined across records.
    let mut hs = Vec::new();
    let mut at = 0;
    while let Some(header) = server_bytes.get(at..at + 5) {
        let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
        let body = server_bytes.get(at + 5..at + 5 + len)?;
        match header[0] {
            22 => hs.extend_from_slice(body),
            _ => break, // ChangeCipherSpec, alert or protected data: the plaintext is over
        }
        at += 5 + len;
    }
    let mut group = None;
    let mut m = 0;
    while let Some(h) = hs.get(m..m + 4) {
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        let Some(body) = hs.get(m + 4..m + 4 + len) else {
            break;
        };
        match h[0] {
            2 => group = server_hello_key_share(body).or(group),
            // ECParameters: curve_type named_curve (3), then the group.
            12 if body.first() == Some(&3) && body.len() >= 3 => {
                group = Some(u16::from_be_bytes([body[1], body[2]]))
            }
            _ => {}
        }
        m += 4 + len;
    }
    group
}

/// The group of a ServerHello's (or HelloRetryRequest's) `key_share` extension.
fn server_hello_key_share(body: &[u8]) -> Option<u16> {
    let sid_len = usize::from(*body.get(34)?);
    let mut at = 35 + sid_len + 3; // session id, cipher suite, compression method
    let ext_len = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
    at += 2;
    let end = at + ext_len;
    while at + 4 <= end {
        let ty = u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]);
        let len = usize::from(u16::from_be_bytes([*body.get(at + 2)?, *body.get(at + 3)?]));
        if ty == 0x0033 {
            return Some(u16::from_be_bytes([*body.get(at + 4)?, *body.get(at + 5)?]));
        }
        at += 4 + len;
    }
    None
}

/// The label of a negotiated group given by its TLS code point ([`NONE`] for no key exchange).
pub fn group_label(code_point: Option<u16>) -> String {
    match code_point {
        None => NONE.to_string(),
        Some(c) => Group::from_code_point(c)
            .map(|g| g.label().to_string())
            .unwrap_or_else(|| format!("0x{c:04x}")),
    }
}

/// The [`Cert`] label of a certificate (parsed with OpenSSL), or what it is instead.
pub fn cert_label(der: &[u8]) -> String {
    use ::openssl::pkey::Id;
    let Ok(x) = ::openssl::x509::X509::from_der(der) else {
        return "unparseable certificate".to_string();
    };
    let Ok(key) = x.public_key() else {
        return "certificate without a usable public key".to_string();
    };
    let p256 = key
        .ec_key()
        .ok()
        .and_then(|k| k.group().curve_name())
        .is_some_and(|n| n == ::openssl::nid::Nid::X9_62_PRIME256V1);
    match key.id() {
        Id::RSA if key.bits() == 2048 => Cert::Rsa2048.label().to_string(),
        Id::EC if p256 => Cert::EcdsaP256.label().to_string(),
        other => format!("{other:?}-{}", key.bits()),
    }
}

/// The two in-memory queues between client and server.
#[derive(Debug, Clone, Default)]
pub struct Wire {
    /// Bytes the client sent and the server has not read yet.
    pub to_server: Rc<RefCell<VecDeque<u8>>>,
    /// Bytes the server sent and the client has not read yet.
    pub to_client: Rc<RefCell<VecDeque<u8>>>,
    /// A copy of every byte the server sent, when the wire is tapped ([`Wire::tapped`]).
    pub server_sent: Option<Rc<RefCell<Vec<u8>>>>,
}

impl Wire {
    /// A wire that also keeps a copy of what the server sends, to read the server's key
    /// share off it ([`server_key_share_group`]). Only the checked handshake is tapped.
    pub fn tapped() -> Wire {
        Wire {
            server_sent: Some(Rc::default()),
            ..Wire::default()
        }
    }
    /// Queues that hold `bytes` each way without growing (so that no wire buffer is
    /// allocated during a handshake whose heap is counted).
    pub fn with_capacity(bytes: usize) -> Wire {
        let q = || Rc::new(RefCell::new(VecDeque::with_capacity(bytes)));
        Wire {
            to_server: q(),
            to_client: q(),
            server_sent: None,
        }
    }
    /// The queues' capacities `[to_server, to_client]`.
    pub fn capacity(&self) -> [usize; 2] {
        [&self.to_server, &self.to_client].map(|q| q.borrow().capacity())
    }
    /// The client's end: reads what the server sent, writes to the server.
    pub fn client_end(&self) -> Pipe {
        Pipe::new(self.to_client.clone(), self.to_server.clone())
    }
    /// The server's end.
    pub fn server_end(&self) -> Pipe {
        let mut p = Pipe::new(self.to_server.clone(), self.to_client.clone());
        p.tap = self.server_sent.clone();
        p
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
    /// Where a copy of every written byte goes, on a tapped wire.
    tap: Option<Rc<RefCell<Vec<u8>>>>,
}

impl Pipe {
    fn new(rx: Rc<RefCell<VecDeque<u8>>>, tx: Rc<RefCell<VecDeque<u8>>>) -> Pipe {
        Pipe {
            rx,
            tx,
            sent: Rc::default(),
            received: Rc::default(),
            tap: None,
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
            tap: self.tap.clone(),
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
        if let Some(t) = &self.tap {
            t.borrow_mut().extend_from_slice(buf);
        }
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
    /// Bytes of the stack's connection object held inside this end rather than on the heap
    /// (rustls's `ClientConnection`/`ServerConnection` are values; an OpenSSL `SSL` is a
    /// pointer to the heap): added to the heap count of the connection's memory.
    fn inline_connection_bytes(&self) -> usize {
        0
    }
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
        group: c.group,
        server_group: s.group,
        server_cert: c.peer_cert,
        client_cert: s.peer_cert,
        tickets_issued: s.tickets_issued,
        resumed_from: s.resumed_from,
        wire_group: None,
    })
}

/// The tickets the server of `scenario` must issue in one handshake, where the scenario
/// states it: TLS 1.3 full and mutual [`TLS13_TICKETS`], `full-no-tickets` none, TLS 1.2 full,
/// mutual and session-id handshakes none (tickets off). Resumed TLS 1.3 handshakes and TLS 1.2
/// ticket resumption issue what the stack decides (a fresh ticket for the next resumption,
/// or a renewed one): not stated, not checked.
pub fn expected_tickets(scenario: &Scenario) -> Option<u32> {
    match (scenario.kind, scenario.protocol.tls13()) {
        (Kind::Full | Kind::Mutual, true) => Some(TLS13_TICKETS),
        (Kind::FullNoTickets, _) => Some(0),
        (Kind::Full | Kind::Mutual | Kind::ResumedId, false) => Some(0),
        _ => None,
    }
}

/// Whether a handshake's facts match the scenario: version, suite, resumed or not and from
/// where, client certificate verified or not, key-exchange group, certificate types and the
/// tickets issued. The error says what differs.
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
    let from = match scenario.kind {
        Kind::ResumedId => Some(ResumedFrom::Cache),
        Kind::ResumedTicket | Kind::ResumedPskKe => Some(ResumedFrom::Ticket),
        _ => None,
    };
    if f.resumed_from != from {
        return Err(format!(
            "expected the server to resume from {}, it resumed from {}",
            resumed_from_label(from),
            resumed_from_label(f.resumed_from)
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
    let group = scenario.group.map_or(NONE, |g| g.label());
    for (who, got) in [("client", &f.group), ("server", &f.server_group)] {
        if got != group {
            return Err(format!(
                "{who} reports key-exchange group {got}, expected {group}"
            ));
        }
    }
    if let Some(got) = f.wire_group.as_ref().filter(|g| *g != group) {
        return Err(format!(
            "the server's key share on the wire is of group {got}, expected {group}"
        ));
    }
    if let Some(cert) = scenario.cert {
        if f.server_cert != cert.label() {
            return Err(format!(
                "the client received a {} server certificate, expected {}",
                f.server_cert,
                cert.label()
            ));
        }
        let client = if mutual { cert.label() } else { NONE };
        if f.client_cert != client {
            return Err(format!(
                "the server received client certificate {}, expected {client}",
                f.client_cert
            ));
        }
    }
    if let Some(n) = expected_tickets(scenario) {
        if f.tickets_issued != n {
            return Err(format!(
                "the server issued {} session ticket(s), expected {n}",
                f.tickets_issued
            ));
        }
    }
    Ok(())
}

fn resumed_from_label(r: Option<ResumedFrom>) -> &'static str {
    match r {
        None => "nothing (a full handshake)",
        Some(ResumedFrom::Cache) => "its session cache",
        Some(ResumedFrom::Ticket) => "a stateless ticket",
    }
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
        Stack::Rustls | Stack::RustlsAwslc => {
            Box::new(rustls::RustlsSetup::new(scenario, pki, counting)?)
        }
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

/// An established connection: both ends, idle after their handshake, and how it went.
pub struct Connection {
    /// The client end.
    pub client: Box<dyn Endpoint>,
    /// The server end.
    pub server: Box<dyn Endpoint>,
    /// Times, facts and bytes of its handshake.
    pub outcome: Outcome,
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
        self.connect(&Wire::default()).map(|c| c.outcome)
    }

    /// One handshake over `wire`, returning both ends, established and idle (after
    /// [`Endpoint::after_handshake`]), with the outcome.
    pub fn connect(&mut self, wire: &Wire) -> Result<Connection> {
        let mut c = self.setup.client(wire);
        let mut s = self.setup.server(wire);
        let times = drive(c.as_mut(), s.as_mut(), &self.scenario.label())?;
        let f = facts(c.as_ref(), s.as_ref())?;
        c.after_handshake()?;
        s.after_handshake()?;
        let outcome = Outcome {
            times,
            facts: f,
            wire: [c.wire_bytes(), s.wire_bytes()],
        };
        Ok(Connection {
            client: c,
            server: s,
            outcome,
        })
    }

    /// Runs one handshake and checks it is what the scenario's name says (version, suite,
    /// resumed or not, client certificate verified or not). Failure: [`Error::SelfCheck`]
    /// naming the scenario.
    pub fn check(&mut self) -> Result<Facts> {
        let name = format!("handshake/{}", self.scenario.label());
        let wire = Wire::tapped();
        let mut f = self
            .connect(&wire)
            .map(|c| c.outcome.facts)
            .map_err(|e| Error::SelfCheck {
                bench: name.clone(),
                what: e.to_string(),
            })?;
        let sent = wire.server_sent.map(|t| t.take()).unwrap_or_default();
        f.wire_group = Some(group_label(server_key_share_group(&sent)));
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
        self.still_resumes(&f, &self.scenario.id(side).full())?;
        Ok(times[side.index()])
    }

    /// Whether a handshake after the check resumed exactly when the scenario says so (a cache
    /// running dry would change what is measured). Error: [`Error::SelfCheck`] naming `bench`.
    pub fn still_resumes(&self, f: &Facts, bench: &str) -> Result<()> {
        let want = self.scenario.kind.resumes();
        if f.client_resumed != want || f.server_resumed != want {
            return Err(Error::SelfCheck {
                bench: bench.to_string(),
                what: format!(
                    "a handshake after the check had resumed={} (expected {want})",
                    f.server_resumed
                ),
            });
        }
        Ok(())
    }
}
