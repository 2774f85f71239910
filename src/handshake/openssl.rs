//! Handshake driver on OpenSSL (the `openssl` crate, the system library).
//!
//! [`client_step`] and [`server_step`] hold every call of one side; see the module doc of
//! [`crate::handshake`] for why their names are public API.

use super::{
    cert_label, count, group_label, EndReport, Endpoint, Group, Kind, Pipe, Pki, Protocol,
    ResumedFrom, Scenario, Side, Wire, NONE, SERVER_NAME, TLS13_TICKETS,
};
use crate::{Error, Result};
use openssl::pkey::PKey;
use openssl::ssl::{
    HandshakeError, MidHandshakeSslStream, ShutdownState, Ssl, SslContext, SslContextBuilder,
    SslMethod, SslOptions, SslRef, SslSession, SslSessionCacheMode, SslStream, SslVerifyMode,
    SslVersion,
};
use openssl::x509::{X509VerifyResult, X509};
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

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
            "the 3DES TLS suite (DES-CBC3-SHA) in {} ({}): {}",
            openssl::version::version(),
            build_kind(),
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

/// Whether the linked OpenSSL has the key-exchange group `g`: `Ok`, or
/// [`Error::Unsupported`] ([`super::NO_MLKEM_GROUP`] for the hybrid before OpenSSL 3.5).
pub fn has_group(g: Group) -> Result<()> {
    let mut b =
        SslContextBuilder::new(SslMethod::tls()).map_err(|e| crypto("create SSL_CTX", e))?;
    b.set_groups_list(g.openssl_name()).map_err(|e| {
        let what = if g == Group::X25519Mlkem768 {
            super::NO_MLKEM_GROUP.to_string()
        } else {
            format!("no group {}: {e}", g.openssl_name())
        };
        Error::Unsupported {
            backend: "openssl",
            what: format!(
                "the group {} in {} ({}): {what}",
                g.openssl_name(),
                openssl::version::version(),
                build_kind()
            ),
        }
    })
}

/// `SSL_OP_ALLOW_NO_DHE_KEX`: offer (client) and accept (server) psk_ke resumption.
const ALLOW_NO_DHE_KEX: u64 = 1 << 10;
/// `SSL_OP_PREFER_NO_DHE_KEX` (OpenSSL 3.3+): a server offered both modes takes psk_ke.
const PREFER_NO_DHE_KEX: u64 = 1 << 35;
/// The first OpenSSL that has [`PREFER_NO_DHE_KEX`] (`OPENSSL_VERSION_NUMBER` 3.3.0).
const FIRST_PREFER_NO_DHE_KEX: i64 = 0x3030_0000;

/// Whether two ends on the linked OpenSSL can resume with psk_ke (see [`super::NO_PSK_KE`]).
pub fn can_prefer_psk_ke() -> Result<()> {
    if openssl::version::number() >= FIRST_PREFER_NO_DHE_KEX {
        Ok(())
    } else {
        Err(Error::Unsupported {
            backend: "openssl",
            what: format!(
                "psk_ke resumption in {} ({}): {}",
                openssl::version::version(),
                build_kind(),
                super::NO_PSK_KE
            ),
        })
    }
}

fn build_kind() -> &'static str {
    if cfg!(feature = "vendored-openssl") {
        "vendored"
    } else {
        "system"
    }
}

/// What a server's ticket callbacks saw, over every handshake of its context.
#[derive(Debug, Default)]
struct TicketsSeen {
    /// Tickets the server generated (TLS 1.2 and 1.3, stateless and stateful).
    issued: AtomicU32,
    /// Stateless tickets it decrypted and resumed from.
    resumed: AtomicU32,
}

type GenTicketCb =
    unsafe extern "C" fn(ssl: *mut openssl_sys::SSL, arg: *mut libc::c_void) -> libc::c_int;
type DecTicketCb = unsafe extern "C" fn(
    ssl: *mut openssl_sys::SSL,
    session: *mut openssl_sys::SSL_SESSION,
    keyname: *const libc::c_uchar,
    keyname_len: libc::size_t,
    status: libc::c_int,
    arg: *mut libc::c_void,
) -> libc::c_int;

extern "C" {
    // libssl 1.1.1+, linked through openssl-sys, which does not declare it.
    fn SSL_CTX_set_session_ticket_cb(
        ctx: *mut openssl_sys::SSL_CTX,
        gen_cb: Option<GenTicketCb>,
        dec_cb: Option<DecTicketCb>,
        arg: *mut libc::c_void,
    ) -> libc::c_int;
}

// SSL_TICKET_STATUS and SSL_TICKET_RETURN values (openssl/ssl.h).
const SSL_TICKET_NONE: libc::c_int = 2;
const SSL_TICKET_SUCCESS: libc::c_int = 5;
const SSL_TICKET_SUCCESS_RENEW: libc::c_int = 6;
const SSL_TICKET_RETURN_IGNORE: libc::c_int = 1;
const SSL_TICKET_RETURN_IGNORE_RENEW: libc::c_int = 2;
const SSL_TICKET_RETURN_USE: libc::c_int = 3;
const SSL_TICKET_RETURN_USE_RENEW: libc::c_int = 4;

unsafe extern "C" fn on_ticket_generated(
    _ssl: *mut openssl_sys::SSL,
    arg: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: `arg` is the `TicketsSeen` the context owns (its ex_data), alive as long as it.
    let seen = unsafe { &*(arg as *const TicketsSeen) };
    seen.issued.fetch_add(1, Ordering::Relaxed);
    1
}

/// Observes a ticket decryption and returns what OpenSSL does without a callback: use a
/// good ticket (renewing it when OpenSSL says so), ignore a missing one, and ignore an empty or
/// undecryptable one but issue a new ticket.
unsafe extern "C" fn on_ticket_decrypted(
    _ssl: *mut openssl_sys::SSL,
    _session: *mut openssl_sys::SSL_SESSION,
    _keyname: *const libc::c_uchar,
    _keyname_len: libc::size_t,
    status: libc::c_int,
    arg: *mut libc::c_void,
) -> libc::c_int {
    // SAFETY: as in `on_ticket_generated`.
    let seen = unsafe { &*(arg as *const TicketsSeen) };
    match status {
        SSL_TICKET_SUCCESS | SSL_TICKET_SUCCESS_RENEW => {
            seen.resumed.fetch_add(1, Ordering::Relaxed);
            if status == SSL_TICKET_SUCCESS {
                SSL_TICKET_RETURN_USE
            } else {
                SSL_TICKET_RETURN_USE_RENEW
            }
        }
        SSL_TICKET_NONE => SSL_TICKET_RETURN_IGNORE,
        _ => SSL_TICKET_RETURN_IGNORE_RENEW,
    }
}

/// Installs the ticket observers on a server context; the context owns what they count.
fn observe_tickets(b: &mut SslContextBuilder) -> Result<Arc<TicketsSeen>> {
    static INDEX: OnceLock<
        std::result::Result<openssl::ex_data::Index<SslContext, Arc<TicketsSeen>>, String>,
    > = OnceLock::new();
    let index = INDEX
        .get_or_init(|| SslContext::new_ex_index().map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| crypto("SSL_CTX ex_data index", e))?;
    let seen = Arc::new(TicketsSeen::default());
    let arg = Arc::as_ptr(&seen) as *mut libc::c_void;
    b.set_ex_data(index, seen.clone());
    // SAFETY: the context is live; `arg` points into the Arc the context now owns.
    let ok = unsafe {
        SSL_CTX_set_session_ticket_cb(
            b.as_ptr(),
            Some(on_ticket_generated),
            Some(on_ticket_decrypted),
            arg,
        )
    };
    if ok != 1 {
        return Err(crypto("SSL_CTX_set_session_ticket_cb", "refused"));
    }
    Ok(seen)
}

/// `SSL_CTRL_GET_NEGOTIATED_GROUP` (openssl/ssl.h), the control behind
/// `SSL_get_negotiated_group`.
const SSL_CTRL_GET_NEGOTIATED_GROUP: libc::c_int = 134;
/// OpenSSL's mark of a group without a NID: `TLSEXT_nid_unknown | code point`.
const TLSEXT_NID_UNKNOWN: libc::c_long = 0x0100_0000;

/// The TLS code point of the group this connection negotiated, `None` when it did no key
/// exchange (OpenSSL reports a NID, or `TLSEXT_nid_unknown | code point` for groups without one,
/// such as X25519MLKEM768).
fn negotiated_group(ssl: &SslRef) -> Option<u16> {
    // SAFETY: a read-only control on a live SSL.
    // A `&SslRef` is the `SSL *` itself (foreign-types' `ForeignTypeRef::as_ptr` is this cast).
    let ptr = ssl as *const SslRef as *mut openssl_sys::SSL;
    let v = unsafe {
        openssl_sys::SSL_ctrl(ptr, SSL_CTRL_GET_NEGOTIATED_GROUP, 0, std::ptr::null_mut())
    };
    if v <= 0 {
        return None;
    }
    if v & TLSEXT_NID_UNKNOWN != 0 {
        return Some((v & 0xffff) as u16);
    }
    Some(match v as libc::c_int {
        openssl_sys::NID_X25519 => Group::X25519.code_point(),
        openssl_sys::NID_X9_62_prime256v1 => Group::P256.code_point(),
        openssl_sys::NID_secp384r1 => 0x0018,
        _ => 0xffff,
    })
}

/// The group of this handshake's key exchange, `None` when it did none. OpenSSL's
/// `SSL_get_negotiated_group` reports the resumed session's group after a handshake that did
/// no key exchange (TLS 1.2 abbreviated, TLS 1.3 psk_ke), so: a TLS 1.2 resumption did none;
/// a TLS 1.3 resumption did one when this end holds the peer's key share (the server always,
/// the client for (EC)DH groups). A client that decapsulated a KEM group's ciphertext keeps no
/// trace of it: there the session's group stands, and the check reads the server's key share
/// off the wire ([`super::server_key_share_group`]).
fn kex_group(ssl: &SslRef) -> Option<u16> {
    let g = negotiated_group(ssl)?;
    if !ssl.session_reused() {
        return Some(g);
    }
    if ssl.version2() != Some(SslVersion::TLS1_3) {
        return None;
    }
    let kem = Group::from_code_point(g) == Some(Group::X25519Mlkem768);
    (ssl.peer_tmp_key().is_ok() || (kem && !ssl.is_server())).then_some(g)
}

/// The two `SslContext`s of one scenario and the session kept for resumption.
pub struct OpensslSetup {
    scenario: Scenario,
    client_ctx: SslContext,
    server_ctx: SslContext,
    /// The session to resume (resumed kinds; set by the first, priming handshake). Shared by
    /// every client of the setup, on any thread.
    session: Arc<Mutex<Option<SslSession>>>,
    /// What the server context's ticket callbacks counted.
    tickets: Arc<TicketsSeen>,
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
        Protocol::Tls12RsaAes128Sha
        | Protocol::Tls12EcdheRsaAes128Gcm
        | Protocol::Tls12EcdheEcdsaAes128Gcm => {
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            let list = match protocol {
                // Static RSA key exchange with SHA-1 MACs is below the default security level
                // of some distributions; level 0 lets the paper's suite be negotiated.
                Protocol::Tls12RsaAes128Sha => "AES128-SHA:@SECLEVEL=0",
                Protocol::Tls12EcdheRsaAes128Gcm => "ECDHE-RSA-AES128-GCM-SHA256",
                _ => "ECDHE-ECDSA-AES128-GCM-SHA256",
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

/// Pins a context to the scenario's key-exchange group ([`Scenario::offered_groups`]; a
/// TLS 1.2 scenario without one keeps the library's default list: its handshakes do no key
/// exchange, only their priming one does).
fn set_groups(b: &mut SslContextBuilder, scenario: &Scenario) -> Result<()> {
    let groups = scenario.offered_groups();
    if groups.is_empty() {
        return Ok(());
    }
    for g in &groups {
        has_group(*g)?;
    }
    let list: Vec<&str> = groups.iter().map(|g| g.openssl_name()).collect();
    b.set_groups_list(&list.join(":"))
        .map_err(|e| crypto("set key-exchange groups", e))
}

impl OpensslSetup {
    /// Builds both contexts for `scenario`; `counting` installs the message callback that
    /// [`count`] reads.
    pub fn new(scenario: Scenario, pki: &Pki, counting: bool) -> Result<OpensslSetup> {
        let ctx_err = |e| crypto("create SSL_CTX", e);
        let tls13 = scenario.protocol.tls13();
        let cert = scenario.cert_type();

        let mut s = SslContextBuilder::new(SslMethod::tls_server()).map_err(ctx_err)?;
        set_protocol(&mut s, scenario.protocol)?;
        set_groups(&mut s, &scenario)?;
        identity(&mut s, pki.server_of(cert))?;
        s.set_session_id_context(b"tlscost")
            .map_err(|e| crypto("set session id context", e))?;
        let tickets = |b: &mut SslContextBuilder, n: u32| {
            b.set_num_tickets(n as usize)
                .map_err(|e| crypto("set number of TLS 1.3 tickets", e))
        };
        match scenario.kind {
            // TLS 1.2 full handshakes without a ticket (the classic handshake, as rustls's
            // default server does); TLS 1.3 sends the stack's default tickets, made explicit.
            Kind::Full | Kind::Mutual if !tls13 => {
                s.set_options(SslOptions::NO_TICKET);
            }
            Kind::Full | Kind::Mutual => tickets(&mut s, TLS13_TICKETS)?,
            Kind::FullNoTickets => tickets(&mut s, 0)?,
            Kind::ResumedId => {
                // TLS 1.2: session ids. TLS 1.3: stateful tickets naming the cache entry.
                s.set_options(SslOptions::NO_TICKET);
                s.set_session_cache_mode(SslSessionCacheMode::SERVER);
            }
            Kind::ResumedTicket => {
                // No server-side cache: resuming is only possible from the ticket.
                s.set_session_cache_mode(SslSessionCacheMode::OFF);
            }
            Kind::ResumedPskKe => {
                s.set_session_cache_mode(SslSessionCacheMode::OFF);
                s.set_options(SslOptions::from_bits_retain(
                    (ALLOW_NO_DHE_KEX | PREFER_NO_DHE_KEX) as _,
                ));
            }
        }
        if scenario.kind == Kind::Mutual {
            trust(&mut s, pki.ca_of(cert))?;
            s.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
        }
        let seen = observe_tickets(&mut s)?;

        let mut c = SslContextBuilder::new(SslMethod::tls_client()).map_err(ctx_err)?;
        set_protocol(&mut c, scenario.protocol)?;
        set_groups(&mut c, &scenario)?;
        trust(&mut c, pki.ca_of(cert))?;
        c.set_verify(SslVerifyMode::PEER);
        if scenario.kind == Kind::Mutual {
            identity(&mut c, pki.client_of(cert))?;
        }
        if scenario.kind.resumes() {
            c.set_session_cache_mode(SslSessionCacheMode::CLIENT);
        }
        if scenario.kind == Kind::ResumedPskKe {
            c.set_options(SslOptions::from_bits_retain(ALLOW_NO_DHE_KEX as _));
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
            tickets: seen,
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
            tickets_before: (
                self.tickets.issued.load(Ordering::Relaxed),
                self.tickets.resumed.load(Ordering::Relaxed),
            ),
            tickets: self.tickets.clone(),
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
        let peer = ssl.peer_certificate();
        Ok(EndReport {
            version: ssl.version_str().to_string(),
            suite: ssl
                .current_cipher()
                .and_then(|c| c.standard_name())
                .unwrap_or("none")
                .to_string(),
            resumed: ssl.session_reused(),
            peer_verified: peer.is_some() && ssl.verify_result() == X509VerifyResult::OK,
            group: group_label(kex_group(ssl)),
            peer_cert: peer
                .and_then(|c| c.to_der().ok())
                .map_or_else(|| NONE.to_string(), |der| cert_label(&der)),
            tickets_issued: 0,
            resumed_from: None,
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
    /// The context's ticket counts when this end was made (issued, resumed from).
    tickets_before: (u32, u32),
    tickets: Arc<TicketsSeen>,
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
        let mut r = self.end.report(Side::Server)?;
        let issued = self.tickets.issued.load(Ordering::Relaxed) - self.tickets_before.0;
        let from_ticket = self.tickets.resumed.load(Ordering::Relaxed) > self.tickets_before.1;
        r.tickets_issued = issued;
        // OpenSSL resumes from a ticket it decrypted or from its session cache (no PSK
        // callbacks are set here).
        r.resumed_from = match (r.resumed, from_ticket) {
            (false, _) => None,
            (true, true) => Some(ResumedFrom::Ticket),
            (true, false) => Some(ResumedFrom::Cache),
        };
        Ok(r)
    }
    fn after_handshake(&mut self) -> Result<()> {
        self.end.quiet_shutdown();
        Ok(())
    }
    fn wire_bytes(&self) -> (u64, u64) {
        (self.end.watch.sent.get(), self.end.watch.received.get())
    }
}
