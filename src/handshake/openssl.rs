//! Handshake driver on OpenSSL (the `openssl` crate, the system library).
//!
//! [`client_step`] and [`server_step`] hold every call of one side; see the module doc of
//! [`crate::handshake`] for why their names are public API.

use super::{
    count, EndReport, Endpoint, Kind, Pipe, Pki, Protocol, Scenario, Side, Wire, SERVER_NAME,
};
use crate::{Error, Result};
use openssl::pkey::PKey;
use openssl::ssl::{
    HandshakeError, MidHandshakeSslStream, ShutdownState, Ssl, SslContext, SslContextBuilder,
    SslMethod, SslOptions, SslSession, SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::{X509VerifyResult, X509};
use std::io::Write;
use std::sync::{Arc, Mutex};

fn crypto(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: "openssl",
        op,
        detail: e.to_string(),
    }
}

/// OpenSSL's cipher list for `TLS_RSA_WITH_3DES_EDE_CBC_SHA`, at the only security level that allows it.
pub const DES_CBC3_SHA: &str = "DES-CBC3-SHA:@SECLEVEL=0";

fn no_3des() -> Error {
    Error::Unsupported {
        backend: "openssl",
        what: format!(
            "{} ({}): {}",
            openssl::version::version(),
            if cfg!(feature = "vendored-openssl") {
                "vendored"
            } else {
                "system"
            },
            super::NO_3DES_SUITE
        ),
    }
}

/// Whether the linked OpenSSL can negotiate DES-CBC3-SHA: `Ok`, or [`Error::Unsupported`]
/// naming the library and saying how to get one that can (`OPENSSL=vendored`).
pub fn has_3des_suite() -> Result<()> {
    let mut b =
        SslContextBuilder::new(SslMethod::tls()).map_err(|e| crypto("create SSL_CTX", e))?;
    b.set_cipher_list(DES_CBC3_SHA).map_err(|_| no_3des())
}

/// The two `SslContext`s of one scenario and the session kept for resumption.
pub struct OpensslSetup {
    scenario: Scenario,
    client_ctx: SslContext,
    server_ctx: SslContext,
    /// The session to resume (resumed kinds; set by the first, priming handshake). Shared by
    /// every client of the setup, on any thread.
    session: Arc<Mutex<Option<SslSession>>>,
}

/// Restricts a context to the scenario's version and suite.
pub(crate) fn set_protocol(b: &mut SslContextBuilder, protocol: Protocol) -> Result<()> {
    let e = |e| crypto("configure protocol", e);
    match protocol {
        Protocol::Tls12Rsa3desSha => {
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            // 3DES suites sit below every security level but 0, and exist only when OpenSSL
            // was built with its weak ciphers.
            b.set_cipher_list(DES_CBC3_SHA).map_err(|_| no_3des())?;
        }
        Protocol::Tls12RsaAes128Sha | Protocol::Tls12EcdheRsaAes128Gcm => {
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            let list = if protocol == Protocol::Tls12RsaAes128Sha {
                // Static RSA key exchange with SHA-1 MACs is below the default security level
                // of some distributions; level 0 lets the paper's suite be negotiated.
                "AES128-SHA:@SECLEVEL=0"
            } else {
                "ECDHE-RSA-AES128-GCM-SHA256"
            };
            b.set_cipher_list(list).map_err(e)?;
        }
        Protocol::Tls13Aes128Gcm => {
            b.set_min_proto_version(Some(SslVersion::TLS1_3))
                .map_err(e)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_3))
                .map_err(e)?;
            b.set_ciphersuites("TLS_AES_128_GCM_SHA256").map_err(e)?;
        }
    }
    Ok(())
}

/// Trusts `ca_pem` for peer verification (shared with the loopback testbed).
pub(crate) fn trust(b: &mut SslContextBuilder, ca_pem: &[u8]) -> Result<()> {
    let ca = X509::from_pem(ca_pem).map_err(|e| crypto("parse CA certificate", e))?;
    b.cert_store_mut()
        .add_cert(ca)
        .map_err(|e| crypto("add CA certificate", e))
}

/// Installs a certificate and its key, checking they match (shared with the testbed).
pub(crate) fn identity(b: &mut SslContextBuilder, who: &super::CertAndKey) -> Result<()> {
    let cert = X509::from_pem(&who.cert).map_err(|e| crypto("parse certificate", e))?;
    let key = PKey::private_key_from_pem(&who.key).map_err(|e| crypto("parse private key", e))?;
    b.set_certificate(&cert)
        .map_err(|e| crypto("set certificate", e))?;
    b.set_private_key(&key)
        .map_err(|e| crypto("set private key", e))?;
    b.check_private_key()
        .map_err(|e| crypto("check that key matches certificate", e))
}

impl OpensslSetup {
    /// Builds both contexts for `scenario`; `counting` installs the message callback that
    /// [`count`] reads.
    pub fn new(scenario: Scenario, pki: &Pki, counting: bool) -> Result<OpensslSetup> {
        let ctx_err = |e| crypto("create SSL_CTX", e);
        let tls12 = scenario.protocol != Protocol::Tls13Aes128Gcm;

        let mut s = SslContextBuilder::new(SslMethod::tls_server()).map_err(ctx_err)?;
        set_protocol(&mut s, scenario.protocol)?;
        identity(&mut s, &pki.server)?;
        s.set_session_id_context(b"tlscost")
            .map_err(|e| crypto("set session id context", e))?;
        match scenario.kind {
            // TLS 1.2 full handshakes without a ticket (the classic handshake, as rustls's
            // default server does); TLS 1.3 keeps the stack's default tickets.
            Kind::Full | Kind::Mutual if tls12 => {
                s.set_options(SslOptions::NO_TICKET);
            }
            Kind::Full | Kind::Mutual => {}
            Kind::ResumedId => {
                s.set_options(SslOptions::NO_TICKET);
                s.set_session_cache_mode(SslSessionCacheMode::SERVER);
            }
            Kind::ResumedTicket => {
                // No server-side cache: resuming is only possible from the ticket.
                s.set_session_cache_mode(SslSessionCacheMode::OFF);
            }
        }
        if scenario.kind == Kind::Mutual {
            trust(&mut s, &pki.ca)?;
            s.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
        }

        let mut c = SslContextBuilder::new(SslMethod::tls_client()).map_err(ctx_err)?;
        set_protocol(&mut c, scenario.protocol)?;
        trust(&mut c, &pki.ca)?;
        c.set_verify(SslVerifyMode::PEER);
        if scenario.kind == Kind::Mutual {
            identity(&mut c, &pki.client)?;
        }
        if scenario.kind.resumes() {
            c.set_session_cache_mode(SslSessionCacheMode::CLIENT);
        }
        if counting {
            count::install_openssl_callback(&mut s);
            count::install_openssl_callback(&mut c);
        }
        Ok(OpensslSetup {
            scenario,
            client_ctx: c.build(),
            server_ctx: s.build(),
            session: Arc::default(),
        })
    }
}

impl super::Setup for OpensslSetup {
    fn client(&self, wire: &Wire) -> Box<dyn Endpoint> {
        let pipe = wire.client_end();
        Box::new(OpensslClient {
            ctx: self.client_ctx.clone(),
            session: self.session.clone(),
            keep_session: self.scenario.kind.resumes(),
            end: End::new(pipe, self.scenario.label()),
        })
    }
    fn server(&self, wire: &Wire) -> Box<dyn Endpoint> {
        Box::new(OpensslServer {
            ctx: self.server_ctx.clone(),
            end: End::new(wire.server_end(), self.scenario.label()),
        })
    }
}

/// Where one end's connection is.
enum State {
    /// No connection object yet.
    Idle(Pipe),
    /// Handshake in progress, waiting for the peer.
    Mid(MidHandshakeSslStream<Pipe>),
    /// Handshake finished.
    Done(SslStream<Pipe>),
    /// The handshake failed (the error was returned).
    Failed,
}

/// State shared by the client and server ends.
struct End {
    state: State,
    /// A handle on the same pipe, to look at the queue and the byte counters.
    watch: Pipe,
    name: String,
}

impl End {
    fn new(pipe: Pipe, name: String) -> End {
        End {
            watch: pipe.handle(),
            state: State::Idle(pipe),
            name,
        }
    }

    fn fail(&self, side: Side, what: String) -> Error {
        Error::Handshake {
            scenario: self.name.clone(),
            what: format!(
                "{} (openssl {}): {what}",
                side_label(side),
                openssl::version::version()
            ),
        }
    }

    /// Turns the result of `connect`/`accept`/`handshake` into the next state.
    fn advance(
        &self,
        side: Side,
        r: std::result::Result<SslStream<Pipe>, HandshakeError<Pipe>>,
    ) -> Result<State> {
        match r {
            Ok(s) => Ok(State::Done(s)),
            Err(HandshakeError::WouldBlock(m)) => Ok(State::Mid(m)),
            Err(HandshakeError::Failure(m)) => {
                let v = m.ssl().verify_result();
                let mut what = m.error().to_string();
                if v != X509VerifyResult::OK {
                    what.push_str(&format!("; certificate verification: {}", v.error_string()));
                }
                Err(self.fail(side, what))
            }
            Err(HandshakeError::SetupFailure(e)) => Err(self.fail(side, e.to_string())),
        }
    }

    /// Marks the connection closed cleanly without sending anything (quiet shutdown): OpenSSL
    /// removes the session of a connection freed without a shutdown from its caches.
    fn quiet_shutdown(&mut self) {
        if let State::Done(s) = &mut self.state {
            s.set_shutdown(ShutdownState::SENT | ShutdownState::RECEIVED);
        }
    }

    fn ssl(&self) -> Option<&openssl::ssl::SslRef> {
        match &self.state {
            State::Mid(m) => Some(m.ssl()),
            State::Done(s) => Some(s.ssl()),
            _ => None,
        }
    }

    fn report(&self, side: Side) -> Result<EndReport> {
        let State::Done(s) = &self.state else {
            return Err(self.fail(side, "handshake not finished".into()));
        };
        let ssl = s.ssl();
        Ok(EndReport {
            version: ssl.version_str().to_string(),
            suite: ssl
                .current_cipher()
                .and_then(|c| c.standard_name())
                .unwrap_or("none")
                .to_string(),
            resumed: ssl.session_reused(),
            peer_verified: ssl.peer_certificate().is_some()
                && ssl.verify_result() == X509VerifyResult::OK,
        })
    }

    fn send(&mut self, side: Side, data: &[u8]) -> Result<()> {
        let State::Done(s) = &mut self.state else {
            return Err(self.fail(side, "send before the handshake finished".into()));
        };
        s.write_all(data)
            .map_err(|e| self.fail(side, format!("write: {e}")))
    }

    fn receive(&mut self, side: Side) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        if let State::Done(s) = &mut self.state {
            let mut buf = [0u8; 4096];
            while self.watch.has_input() {
                match s.ssl_read(&mut buf) {
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) if e.code() == openssl::ssl::ErrorCode::WANT_READ => break,
                    Err(e) => return Err(self.fail(side, format!("read: {e}"))),
                }
            }
        }
        Ok(out)
    }
}

fn side_label(side: Side) -> &'static str {
    use crate::names::Dimension;
    side.label()
}

/// After the handshake: reads what the peer sent since (TLS 1.3 session tickets), which the
/// stack processes as part of reading.
fn drain(s: &mut SslStream<Pipe>) -> std::result::Result<(), openssl::ssl::Error> {
    let mut buf = [0u8; 256];
    loop {
        match s.ssl_read(&mut buf) {
            Ok(_) => continue,
            Err(e) if e.code() == openssl::ssl::ErrorCode::WANT_READ => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

/// The client end of an OpenSSL handshake.
pub struct OpensslClient {
    ctx: SslContext,
    session: Arc<Mutex<Option<SslSession>>>,
    keep_session: bool,
    end: End,
}

/// One client step: on the first call creates the `Ssl` (SNI and host check on, the session to
/// resume set) and calls `SSL_connect`; then continues the handshake with what the server sent;
/// once finished, reads post-handshake messages. Every client-side call is in here.
#[inline(never)]
pub fn client_step(c: &mut OpensslClient) -> Result<()> {
    let next = match std::mem::replace(&mut c.end.state, State::Failed) {
        State::Idle(pipe) => {
            let mut ssl = Ssl::new(&c.ctx).map_err(|e| crypto("SSL_new (client)", e))?;
            ssl.set_hostname(SERVER_NAME)
                .map_err(|e| crypto("set SNI", e))?;
            ssl.param_mut()
                .set_host(SERVER_NAME)
                .map_err(|e| crypto("set host to verify", e))?;
            if let Some(sess) = c.session.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                // SAFETY: the session comes from a connection of the same SSL_CTX.
                unsafe { ssl.set_session(sess) }.map_err(|e| crypto("set session", e))?;
            }
            c.end.advance(Side::Client, ssl.connect(pipe))?
        }
        State::Mid(m) => c.end.advance(Side::Client, m.handshake())?,
        State::Done(mut s) => {
            drain(&mut s).map_err(|e| {
                c.end
                    .fail(Side::Client, format!("post-handshake read: {e}"))
            })?;
            State::Done(s)
        }
        State::Failed => return Err(c.end.fail(Side::Client, "step after failure".into())),
    };
    c.end.state = next;
    Ok(())
}

/// One server step: on the first call creates the `Ssl` and calls `SSL_accept`; then continues
/// the handshake with what the client sent. Every server-side call is in here.
#[inline(never)]
pub fn server_step(s: &mut OpensslServer) -> Result<()> {
    let next = match std::mem::replace(&mut s.end.state, State::Failed) {
        State::Idle(pipe) => {
            let ssl = Ssl::new(&s.ctx).map_err(|e| crypto("SSL_new (server)", e))?;
            s.end.advance(Side::Server, ssl.accept(pipe))?
        }
        State::Mid(m) => s.end.advance(Side::Server, m.handshake())?,
        State::Done(mut st) => {
            drain(&mut st).map_err(|e| {
                s.end
                    .fail(Side::Server, format!("post-handshake read: {e}"))
            })?;
            State::Done(st)
        }
        State::Failed => return Err(s.end.fail(Side::Server, "step after failure".into())),
    };
    s.end.state = next;
    Ok(())
}

impl Endpoint for OpensslClient {
    fn side(&self) -> Side {
        Side::Client
    }
    fn step(&mut self) -> Result<()> {
        client_step(self)
    }
    fn done(&self) -> bool {
        matches!(self.end.state, State::Done(_))
    }
    fn has_input(&self) -> bool {
        self.end.watch.has_input()
    }
    fn send(&mut self, data: &[u8]) -> Result<()> {
        self.end.send(Side::Client, data)
    }
    fn receive(&mut self) -> Result<Vec<u8>> {
        self.end.receive(Side::Client)
    }
    fn report(&self) -> Result<EndReport> {
        self.end.report(Side::Client)
    }
    fn after_handshake(&mut self) -> Result<()> {
        // Keep the newest session: TLS 1.3 tickets are meant for one use, and a client
        // resumes with the ticket it received last.
        if self.keep_session {
            let sess = self
                .end
                .ssl()
                .and_then(|s| s.session())
                .map(|s| s.to_owned())
                .ok_or_else(|| {
                    self.end
                        .fail(Side::Client, "no session to keep for resumption".into())
                })?;
            *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(sess);
        }
        self.end.quiet_shutdown();
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (self.end.watch.sent.get(), self.end.watch.received.get())
    }
}

/// The server end of an OpenSSL handshake.
pub struct OpensslServer {
    ctx: SslContext,
    end: End,
}

impl Endpoint for OpensslServer {
    fn side(&self) -> Side {
        Side::Server
    }
    fn step(&mut self) -> Result<()> {
        server_step(self)
    }
    fn done(&self) -> bool {
        matches!(self.end.state, State::Done(_))
    }
    fn has_input(&self) -> bool {
        self.end.watch.has_input()
    }
    fn send(&mut self, data: &[u8]) -> Result<()> {
        self.end.send(Side::Server, data)
    }
    fn receive(&mut self) -> Result<Vec<u8>> {
        self.end.receive(Side::Server)
    }
    fn report(&self) -> Result<EndReport> {
        self.end.report(Side::Server)
    }
    fn after_handshake(&mut self) -> Result<()> {
        self.end.quiet_shutdown();
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (self.end.watch.sent.get(), self.end.watch.received.get())
    }
}
