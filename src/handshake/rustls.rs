//! Handshake driver on rustls, with its `ring` provider ([`Stack::Rustls`]) or its `aws-lc-rs`
//! provider ([`Stack::RustlsAwslc`], the same aws-lc-rs the `awslc` crypto backend measures).
//!
//! [`client_step`] and [`server_step`] hold every call of one side; see the module doc of
//! [`crate::handshake`] for why their names are public API. rustls has no RSA key transport,
//! so `tls12-rsa-aes128-sha` does not exist here ([`super::RUSTLS_NO_RSA_KX`]).

use super::{
    cert_label, count, group_label, EndReport, Endpoint, Group, Kind, Pipe, Pki, Protocol,
    ResumedFrom, Scenario, Side, Stack, Wire, NONE, SERVER_NAME, TLS13_TICKETS,
};
use crate::names::Dimension;
use crate::{Error, Result};
use rustls::client::{Resumption, Tls12Resumption};
use rustls::crypto::{ring, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{
    NoServerSessionStorage, ProducesTickets, StoresServerSessions, WebPkiClientVerifier,
};
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig,
    ServerConnection, SupportedCipherSuite,
};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

fn tls(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: "rustls",
        op,
        detail: e.to_string(),
    }
}

#[cfg(not(feature = "awslc"))]
fn no_provider(stack: Stack) -> Error {
    Error::Unsupported {
        backend: "rustls",
        what: format!("{}: {}", stack.label(), super::NO_AWSLC_PROVIDER),
    }
}

/// The rustls cipher suite of a protocol on `stack`'s provider, if rustls has it.
pub fn suite(stack: Stack, protocol: Protocol) -> Result<SupportedCipherSuite> {
    if protocol.rsa_key_transport() {
        return Err(Error::Unsupported {
            backend: "rustls",
            what: super::RUSTLS_NO_RSA_KX.to_string(),
        });
    }
    Ok(match stack {
        Stack::RustlsAwslc => {
            #[cfg(feature = "awslc")]
            {
                use rustls::crypto::aws_lc_rs::cipher_suite as s;
                match protocol {
                    Protocol::Tls12EcdheEcdsaAes128Gcm => {
                        s::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                    }
                    Protocol::Tls13Aes128Gcm => s::TLS13_AES_128_GCM_SHA256,
                    _ => s::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
                }
            }
            #[cfg(not(feature = "awslc"))]
            return Err(no_provider(stack));
        }
        _ => {
            use ring::cipher_suite as s;
            match protocol {
                Protocol::Tls12EcdheEcdsaAes128Gcm => s::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                Protocol::Tls13Aes128Gcm => s::TLS13_AES_128_GCM_SHA256,
                _ => s::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            }
        }
    })
}

/// `stack`'s default provider (ring, or aws-lc-rs), unrestricted.
pub fn base_provider(stack: Stack) -> Result<CryptoProvider> {
    match stack {
        Stack::RustlsAwslc => {
            #[cfg(feature = "awslc")]
            return Ok(rustls::crypto::aws_lc_rs::default_provider());
            #[cfg(not(feature = "awslc"))]
            return Err(no_provider(stack));
        }
        _ => Ok(ring::default_provider()),
    }
}

/// `stack`'s key-exchange group `g`, if its provider has it (ring has no ML-KEM).
pub fn kx_group(stack: Stack, g: Group) -> Result<&'static dyn SupportedKxGroup> {
    if stack == Stack::RustlsAwslc {
        #[cfg(feature = "awslc")]
        {
            use rustls::crypto::aws_lc_rs::kx_group as k;
            return Ok(match g {
                Group::X25519 => k::X25519,
                Group::P256 => k::SECP256R1,
                Group::X25519Mlkem768 => k::X25519MLKEM768,
            });
        }
        #[cfg(not(feature = "awslc"))]
        return Err(no_provider(stack));
    }
    match g {
        Group::X25519 => Ok(ring::kx_group::X25519),
        Group::P256 => Ok(ring::kx_group::SECP256R1),
        Group::X25519Mlkem768 => Err(Error::Unsupported {
            backend: "rustls",
            what: "ring has no ML-KEM: X25519MLKEM768 runs on rustls-awslc".into(),
        }),
    }
}

/// `stack`'s provider restricted to the protocol's one suite and to the scenario's groups
/// ([`Scenario::offered_groups`]; its verifiers and key loader unchanged).
pub fn provider(scenario: &Scenario) -> Result<CryptoProvider> {
    let base = base_provider(scenario.stack)?;
    let groups = scenario.offered_groups();
    let kx_groups = if groups.is_empty() {
        base.kx_groups.clone()
    } else {
        groups
            .iter()
            .map(|g| kx_group(scenario.stack, *g))
            .collect::<Result<_>>()?
    };
    Ok(CryptoProvider {
        cipher_suites: vec![suite(scenario.stack, scenario.protocol)?],
        kx_groups,
        ..base
    })
}

/// The provider's stateless ticketer (`Ticketer::new()` of ring or aws-lc-rs).
pub fn ticketer(stack: Stack) -> Result<Arc<dyn ProducesTickets>> {
    match stack {
        Stack::RustlsAwslc => {
            #[cfg(feature = "awslc")]
            return rustls::crypto::aws_lc_rs::Ticketer::new().map_err(|e| tls("ticketer", e));
            #[cfg(not(feature = "awslc"))]
            return Err(no_provider(stack));
        }
        _ => ring::Ticketer::new().map_err(|e| tls("ticketer", e)),
    }
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls("parse certificate PEM", e))
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| tls("parse private key PEM", e))
}

/// What a server's session store and ticketer saw, over every handshake of its config.
#[derive(Debug, Default)]
struct ServerSeen {
    /// Sessions stored (TLS 1.2: a session-id cache entry; TLS 1.3: a stateful ticket).
    stored: AtomicU32,
    /// Sessions found in the store when a client resumed.
    cache_hits: AtomicU32,
    /// Stateless tickets encrypted.
    encrypted: AtomicU32,
    /// Stateless tickets decrypted (a client resumed from one).
    decrypted: AtomicU32,
    /// Bytes of the last ticket plaintext encrypted (what a ticket bench seals).
    last_plaintext: AtomicUsize,
}

impl ServerSeen {
    fn snapshot(&self) -> [u32; 4] {
        [
            &self.stored,
            &self.cache_hits,
            &self.encrypted,
            &self.decrypted,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// A server session store that counts what it does (wraps the store the config had).
#[derive(Debug)]
struct ObservedStore {
    inner: Arc<dyn StoresServerSessions>,
    seen: Arc<ServerSeen>,
}

impl StoresServerSessions for ObservedStore {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> bool {
        let stored = self.inner.put(key, value);
        if stored {
            self.seen.stored.fetch_add(1, Ordering::Relaxed);
        }
        stored
    }
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        let v = self.inner.get(key);
        if v.is_some() {
            self.seen.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        v
    }
    fn take(&self, key: &[u8]) -> Option<Vec<u8>> {
        let v = self.inner.take(key);
        if v.is_some() {
            self.seen.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        v
    }
    fn can_cache(&self) -> bool {
        self.inner.can_cache()
    }
}

/// A ticketer that counts what it does (wraps the config's ticketer).
#[derive(Debug)]
struct ObservedTicketer {
    inner: Arc<dyn ProducesTickets>,
    seen: Arc<ServerSeen>,
}

impl ProducesTickets for ObservedTicketer {
    fn enabled(&self) -> bool {
        self.inner.enabled()
    }
    fn lifetime(&self) -> u32 {
        self.inner.lifetime()
    }
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let t = self.inner.encrypt(plain);
        if t.is_some() {
            self.seen.encrypted.fetch_add(1, Ordering::Relaxed);
            self.seen
                .last_plaintext
                .store(plain.len(), Ordering::Relaxed);
            count::ticket_sealed();
        }
        t
    }
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        let p = self.inner.decrypt(cipher);
        if p.is_some() {
            self.seen.decrypted.fetch_add(1, Ordering::Relaxed);
            count::ticket_opened();
        }
        p
    }
}

/// The two configurations of one scenario.
pub struct RustlsSetup {
    scenario: Scenario,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: ServerName<'static>,
    seen: Arc<ServerSeen>,
}

impl RustlsSetup {
    /// Builds both configurations for `scenario`; `counting` wraps the provider in the counting
    /// provider of [`count`].
    pub fn new(scenario: Scenario, pki: &Pki, counting: bool) -> Result<RustlsSetup> {
        let plain = provider(&scenario)?;
        let provider = if counting {
            let key = format!(
                "{}/{}/{}",
                scenario.stack.label(),
                scenario.protocol.label(),
                scenario.group.map_or("default-groups", |g| g.label())
            );
            count::counting_provider(&key, plain)
        } else {
            Arc::new(plain)
        };
        let versions: &[&'static rustls::SupportedProtocolVersion] = if scenario.protocol.tls13() {
            &[&rustls::version::TLS13]
        } else {
            &[&rustls::version::TLS12]
        };
        let cert = scenario.cert_type();
        let mut roots = RootCertStore::empty();
        for c in certs(pki.ca_of(cert))? {
            roots.add(c).map_err(|e| tls("add CA certificate", e))?;
        }
        let roots = Arc::new(roots);

        let sb = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(|e| tls("server protocol versions", e))?;
        let sb = if scenario.kind == Kind::Mutual {
            let verifier =
                WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| tls("client certificate verifier", e))?;
            sb.with_client_cert_verifier(verifier)
        } else {
            sb.with_no_client_auth()
        };
        let server_id = pki.server_of(cert);
        let mut server = sb
            .with_single_cert(certs(&server_id.cert)?, key(&server_id.key)?)
            .map_err(|e| tls("server certificate and key", e))?;
        match scenario.kind {
            // The default, made explicit: a change of it cannot change what is measured.
            Kind::Full | Kind::Mutual => server.send_tls13_tickets = TLS13_TICKETS as usize,
            Kind::FullNoTickets => server.send_tls13_tickets = 0,
            // The default session store and no ticketer: TLS 1.2 session ids, TLS 1.3
            // stateful tickets.
            Kind::ResumedId => {}
            Kind::ResumedTicket | Kind::ResumedPskKe => {
                server.ticketer = ticketer(scenario.stack)?;
                // No server-side cache: resuming is only possible from the ticket.
                server.session_storage = Arc::new(NoServerSessionStorage {});
            }
        }
        let seen = Arc::new(ServerSeen::default());
        server.session_storage = Arc::new(ObservedStore {
            inner: server.session_storage.clone(),
            seen: seen.clone(),
        });
        server.ticketer = Arc::new(ObservedTicketer {
            inner: server.ticketer.clone(),
            seen: seen.clone(),
        });

        let cb = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| tls("client protocol versions", e))?
            .with_root_certificates(roots);
        let mut client = if scenario.kind == Kind::Mutual {
            let id = pki.client_of(cert);
            cb.with_client_auth_cert(certs(&id.cert)?, key(&id.key)?)
                .map_err(|e| tls("client certificate and key", e))?
        } else {
            cb.with_no_client_auth()
        };
        client.resumption = match scenario.kind {
            // Each full handshake must be full: no session cache on the client.
            Kind::Full | Kind::FullNoTickets | Kind::Mutual => Resumption::disabled(),
            Kind::ResumedId => {
                Resumption::in_memory_sessions(256).tls12_resumption(Tls12Resumption::SessionIdOnly)
            }
            Kind::ResumedTicket | Kind::ResumedPskKe => Resumption::in_memory_sessions(256),
        };
        let name = ServerName::try_from(SERVER_NAME).map_err(|e| tls("server name", e))?;
        Ok(RustlsSetup {
            scenario,
            client: Arc::new(client),
            server: Arc::new(server),
            name,
            seen,
        })
    }
}

/// The bytes of the ticket plaintext a rustls server on `stack` encrypts after a full TLS 1.3
/// handshake (its session state; what `ticket/<stack>/*` seals): measured in one handshake.
pub fn ticket_plaintext_len(stack: Stack, pki: &Pki) -> Result<usize> {
    use super::Setup;
    let scenario = Scenario::new(stack, Protocol::Tls13Aes128Gcm, Kind::ResumedTicket);
    let setup = RustlsSetup::new(scenario, pki, false)?;
    let wire = Wire::default();
    let (mut c, mut s) = (setup.client(&wire), setup.server(&wire));
    super::drive(c.as_mut(), s.as_mut(), &scenario.label())?;
    match setup.seen.last_plaintext.load(Ordering::Relaxed) {
        0 => Err(fail(
            &scenario.label(),
            Side::Server,
            "the server encrypted no session ticket",
        )),
        n => Ok(n),
    }
}

impl super::Setup for RustlsSetup {
    fn client(&self, wire: &Wire) -> Box<dyn Endpoint> {
        Box::new(RustlsClient {
            config: self.client.clone(),
            name: self.name.clone(),
            conn: None,
            pipe: wire.client_end(),
            label: self.scenario.label(),
        })
    }
    fn server(&self, wire: &Wire) -> Box<dyn Endpoint> {
        Box::new(RustlsServer {
            config: self.server.clone(),
            conn: None,
            pipe: wire.server_end(),
            label: self.scenario.label(),
            seen: self.seen.clone(),
            seen_before: self.seen.snapshot(),
        })
    }
}

fn fail(label: &str, side: Side, what: impl std::fmt::Display) -> Error {
    Error::Handshake {
        scenario: label.to_string(),
        what: format!("{} (rustls): {what}", side.label()),
    }
}

/// Feeds everything the peer sent into `conn`, processes it, and writes what `conn` has to send.
fn pump<D>(
    conn: &mut rustls::ConnectionCommon<D>,
    pipe: &mut Pipe,
) -> std::result::Result<(), String> {
    while pipe.has_input() {
        conn.read_tls(pipe).map_err(|e| format!("read_tls: {e}"))?;
        if let Err(e) = conn.process_new_packets() {
            // Send the alert rustls queued, so the peer learns why.
            let _ = conn.write_tls(pipe);
            return Err(e.to_string());
        }
    }
    while conn.wants_write() {
        conn.write_tls(pipe)
            .map_err(|e| format!("write_tls: {e}"))?;
    }
    Ok(())
}

fn report<D>(
    conn: Option<&rustls::ConnectionCommon<D>>,
    label: &str,
    side: Side,
) -> Result<EndReport> {
    let conn = conn
        .filter(|c| !c.is_handshaking())
        .ok_or_else(|| fail(label, side, "handshake not finished"))?;
    let version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        other => format!("{other:?}"),
    };
    // rustls names TLS 1.3 suites `TLS13_*`; the IANA name is `TLS_*`.
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| format!("{:?}", s.suite()).replacen("TLS13_", "TLS_", 1))
        .unwrap_or_else(|| "none".into());
    let peer = conn.peer_certificates().and_then(|c| c.first());
    let resumed = conn.handshake_kind() == Some(HandshakeKind::Resumed);
    Ok(EndReport {
        version,
        suite,
        resumed,
        // rustls only records peer certificates its verifier accepted.
        peer_verified: peer.is_some(),
        group: group_label(
            conn.negotiated_key_exchange_group()
                .map(|g| u16::from(g.name())),
        ),
        // A resumed rustls connection carries the peer certificates of the original session.
        peer_cert: peer.map_or_else(|| NONE.to_string(), |c| cert_label(c)),
        tickets_issued: 0,
        resumed_from: None,
    })
}

fn send<D>(
    conn: Option<&mut rustls::ConnectionCommon<D>>,
    pipe: &mut Pipe,
    data: &[u8],
) -> std::result::Result<(), String> {
    let conn = conn.ok_or("send before the handshake")?;
    conn.writer().write_all(data).map_err(|e| e.to_string())?;
    pump(conn, pipe)
}

fn receive<D>(
    conn: Option<&mut rustls::ConnectionCommon<D>>,
    pipe: &mut Pipe,
) -> std::result::Result<Vec<u8>, String> {
    let conn = conn.ok_or("receive before the handshake")?;
    pump(conn, pipe)?;
    let mut out = Vec::new();
    match conn.reader().read_to_end(&mut out) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e.to_string()),
    }
    Ok(out)
}

/// The client end of a rustls handshake.
pub struct RustlsClient {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
    conn: Option<ClientConnection>,
    pipe: Pipe,
    label: String,
}

/// One client step: on the first call creates the `ClientConnection` (which produces the
/// ClientHello); then processes what the server sent and writes the answer. Every client-side
/// call is in here.
#[inline(never)]
pub fn client_step(c: &mut RustlsClient) -> Result<()> {
    if c.conn.is_none() {
        let conn = ClientConnection::new(c.config.clone(), c.name.clone()).map_err(|e| {
            fail(
                &c.label,
                Side::Client,
                format!("ClientConnection::new: {e}"),
            )
        })?;
        c.conn = Some(conn);
    }
    let conn = c.conn.as_mut().expect("created above");
    pump(conn, &mut c.pipe).map_err(|e| fail(&c.label, Side::Client, e))
}

/// One server step: on the first call creates the `ServerConnection`; then processes what the
/// client sent and writes the answer. Every server-side call is in here.
#[inline(never)]
pub fn server_step(s: &mut RustlsServer) -> Result<()> {
    let conn = match &mut s.conn {
        Some(c) => c,
        None => s
            .conn
            .insert(ServerConnection::new(s.config.clone()).map_err(|e| {
                fail(
                    &s.label,
                    Side::Server,
                    format!("ServerConnection::new: {e}"),
                )
            })?),
    };
    pump(conn, &mut s.pipe).map_err(|e| fail(&s.label, Side::Server, e))
}

impl Endpoint for RustlsClient {
    fn side(&self) -> Side {
        Side::Client
    }
    fn step(&mut self) -> Result<()> {
        client_step(self)
    }
    fn done(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| !c.is_handshaking() && !c.wants_write())
    }
    fn has_input(&self) -> bool {
        self.pipe.has_input()
    }
    fn send(&mut self, data: &[u8]) -> Result<()> {
        send(self.conn.as_deref_mut(), &mut self.pipe, data)
            .map_err(|e| fail(&self.label, Side::Client, e))
    }
    fn receive(&mut self) -> Result<Vec<u8>> {
        receive(self.conn.as_deref_mut(), &mut self.pipe)
            .map_err(|e| fail(&self.label, Side::Client, e))
    }
    fn report(&self) -> Result<EndReport> {
        report(self.conn.as_deref(), &self.label, Side::Client)
    }
    fn after_handshake(&mut self) -> Result<()> {
        // The session (TLS 1.2) or tickets (TLS 1.3) are already in the config's resumption store.
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (self.pipe.sent.get(), self.pipe.received.get())
    }
    fn inline_connection_bytes(&self) -> usize {
        std::mem::size_of::<ClientConnection>()
    }
}

/// The server end of a rustls handshake.
pub struct RustlsServer {
    config: Arc<ServerConfig>,
    conn: Option<ServerConnection>,
    pipe: Pipe,
    label: String,
    seen: Arc<ServerSeen>,
    /// The config's counts when this end was made.
    seen_before: [u32; 4],
}

impl Endpoint for RustlsServer {
    fn side(&self) -> Side {
        Side::Server
    }
    fn step(&mut self) -> Result<()> {
        server_step(self)
    }
    fn done(&self) -> bool {
        self.conn
            .as_ref()
            .is_some_and(|c| !c.is_handshaking() && !c.wants_write())
    }
    fn has_input(&self) -> bool {
        self.pipe.has_input()
    }
    fn send(&mut self, data: &[u8]) -> Result<()> {
        send(self.conn.as_deref_mut(), &mut self.pipe, data)
            .map_err(|e| fail(&self.label, Side::Server, e))
    }
    fn receive(&mut self) -> Result<Vec<u8>> {
        receive(self.conn.as_deref_mut(), &mut self.pipe)
            .map_err(|e| fail(&self.label, Side::Server, e))
    }
    fn report(&self) -> Result<EndReport> {
        let mut r = report(self.conn.as_deref(), &self.label, Side::Server)?;
        let now = self.seen.snapshot();
        let [stored, hits, encrypted, decrypted] =
            std::array::from_fn(|i| now[i] - self.seen_before[i]);
        // TLS 1.3 stores a session per stateful ticket; TLS 1.2 stores it under its session id.
        r.tickets_issued = encrypted + if r.version == "TLSv1.3" { stored } else { 0 };
        r.resumed_from = match (r.resumed, hits > 0, decrypted > 0) {
            (false, ..) => None,
            (true, true, false) => Some(ResumedFrom::Cache),
            (true, false, true) => Some(ResumedFrom::Ticket),
            // Neither or both: say so through a mismatch the check reports.
            (true, ..) => None,
        };
        Ok(r)
    }
    fn after_handshake(&mut self) -> Result<()> {
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (self.pipe.sent.get(), self.pipe.received.get())
    }
    fn inline_connection_bytes(&self) -> usize {
        std::mem::size_of::<ServerConnection>()
    }
}
