//! Handshake driver on rustls with the `ring` crypto provider.
//!
//! [`client_step`] and [`server_step`] hold every call of one side; see the module doc of
//! [`crate::handshake`] for why their names are public API. rustls has no RSA key transport,
//! so `tls12-rsa-aes128-sha` does not exist here ([`super::RUSTLS_NO_RSA_KX`]).

use super::{
    count, EndReport, Endpoint, Kind, Pipe, Pki, Protocol, Scenario, Side, Wire, SERVER_NAME,
};
use crate::names::Dimension;
use crate::{Error, Result};
use rustls::client::{Resumption, Tls12Resumption};
use rustls::crypto::{ring, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{
    ClientConfig, ClientConnection, HandshakeKind, ProtocolVersion, RootCertStore, ServerConfig,
    ServerConnection, SupportedCipherSuite,
};
use std::io::{Read, Write};
use std::sync::Arc;

fn tls(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: "rustls",
        op,
        detail: e.to_string(),
    }
}

/// The rustls (ring) cipher suite of a protocol, if rustls has it.
pub fn suite(protocol: Protocol) -> Result<SupportedCipherSuite> {
    match protocol {
        Protocol::Tls12RsaAes128Sha | Protocol::Tls12Rsa3desSha => Err(Error::Unsupported {
            backend: "rustls",
            what: super::RUSTLS_NO_RSA_KX.to_string(),
        }),
        Protocol::Tls12EcdheRsaAes128Gcm => {
            Ok(ring::cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        }
        Protocol::Tls13Aes128Gcm => Ok(ring::cipher_suite::TLS13_AES_128_GCM_SHA256),
    }
}

/// The ring provider restricted to one suite (its key exchange groups, verifiers and key loader
/// unchanged).
pub fn provider(protocol: Protocol) -> Result<Arc<CryptoProvider>> {
    Ok(Arc::new(CryptoProvider {
        cipher_suites: vec![suite(protocol)?],
        ..ring::default_provider()
    }))
}

fn certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| tls("parse certificate PEM", e))
}

fn key(pem: &[u8]) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| tls("parse private key PEM", e))
}

/// The two configurations of one scenario.
pub struct RustlsSetup {
    scenario: Scenario,
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: ServerName<'static>,
}

impl RustlsSetup {
    /// Builds both configurations for `scenario`; `counting` uses the counting provider of
    /// [`count`] instead of the plain ring provider.
    pub fn new(scenario: Scenario, pki: &Pki, counting: bool) -> Result<RustlsSetup> {
        let provider = if counting {
            count::counting_provider(suite(scenario.protocol)?)
        } else {
            provider(scenario.protocol)?
        };
        let versions: &[&'static rustls::SupportedProtocolVersion] = match scenario.protocol {
            Protocol::Tls13Aes128Gcm => &[&rustls::version::TLS13],
            _ => &[&rustls::version::TLS12],
        };
        let mut roots = RootCertStore::empty();
        for c in certs(&pki.ca)? {
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
        let mut server = sb
            .with_single_cert(certs(&pki.server.cert)?, key(&pki.server.key)?)
            .map_err(|e| tls("server certificate and key", e))?;
        if scenario.kind == Kind::ResumedTicket {
            server.ticketer = ring::Ticketer::new().map_err(|e| tls("ticketer", e))?;
            // No server-side cache: resuming is only possible from the ticket.
            server.session_storage = Arc::new(NoServerSessionStorage {});
        }

        let cb = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(|e| tls("client protocol versions", e))?
            .with_root_certificates(roots);
        let mut client = if scenario.kind == Kind::Mutual {
            cb.with_client_auth_cert(certs(&pki.client.cert)?, key(&pki.client.key)?)
                .map_err(|e| tls("client certificate and key", e))?
        } else {
            cb.with_no_client_auth()
        };
        client.resumption = match scenario.kind {
            // Each full handshake must be full: no session cache on the client.
            Kind::Full | Kind::Mutual => Resumption::disabled(),
            Kind::ResumedId => {
                Resumption::in_memory_sessions(256).tls12_resumption(Tls12Resumption::SessionIdOnly)
            }
            Kind::ResumedTicket => Resumption::in_memory_sessions(256),
        };
        let name = ServerName::try_from(SERVER_NAME).map_err(|e| tls("server name", e))?;
        Ok(RustlsSetup {
            scenario,
            client: Arc::new(client),
            server: Arc::new(server),
            name,
        })
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
    Ok(EndReport {
        version,
        suite,
        resumed: conn.handshake_kind() == Some(HandshakeKind::Resumed),
        // rustls only records peer certificates its verifier accepted.
        peer_verified: conn.peer_certificates().is_some_and(|c| !c.is_empty()),
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
}

/// The server end of a rustls handshake.
pub struct RustlsServer {
    config: Arc<ServerConfig>,
    conn: Option<ServerConnection>,
    pipe: Pipe,
    label: String,
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
        report(self.conn.as_deref(), &self.label, Side::Server)
    }
    fn after_handshake(&mut self) -> Result<()> {
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (self.pipe.sent.get(), self.pipe.received.get())
    }
}
