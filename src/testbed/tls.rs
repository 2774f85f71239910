//! TLS for the load generators and the testbed proxy: OpenSSL contexts for one handshake
//! protocol (or any of them, for a proxy that serves whatever its clients offer), and
//! [`TlsEnd`], one end of TLS connections that checks every handshake it makes: the
//! negotiated version and suite are the protocol's, a resumed handshake really resumed, a
//! mutual one really carried a client certificate.
//!
//! Resumption: TLS 1.2 resumes from the server's session cache by session id (tickets off,
//! as the paper's servers did); TLS 1.3 can only resume from a ticket (PSK), so its tickets
//! stay on.

use super::wire::{self, Conn};
use crate::handshake::openssl::{identity, set_protocol, trust};
use crate::handshake::{Pki, Protocol};
use crate::names::Dimension;
use crate::{Error, Result};
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslRef, SslSession,
    SslSessionCacheMode, SslVerifyMode, SslVersion,
};
use std::cell::Cell;
use std::net::TcpStream;

/// OpenSSL's cipher list when any protocol is allowed: the paper's suite and ECDHE-RSA with
/// AES-128-GCM for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults, `TLS_AES_128_GCM_SHA256`
/// among them). Security level 0 lets the paper's RSA key transport with SHA-1 through.
pub const ANY_CIPHER_LIST: &str = "AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0";

/// The session id context of servers built here.
const SESSION_ID_CONTEXT: &[u8] = b"tlscost-testbed";

fn crypto(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: "openssl",
        op,
        detail: e.to_string(),
    }
}

/// A context builder restricted to `protocol`, or to TLS 1.2..1.3 with [`ANY_CIPHER_LIST`].
fn base(method: SslMethod, protocol: Option<Protocol>) -> Result<SslContextBuilder> {
    let e = |e| crypto("configure a TLS context", e);
    let mut b = SslContextBuilder::new(method).map_err(e)?;
    match protocol {
        Some(p) => set_protocol(&mut b, p)?,
        None => {
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_3))
                .map_err(e)?;
            b.set_cipher_list(ANY_CIPHER_LIST).map_err(e)?;
        }
    }
    Ok(b)
}

/// Whether TLS 1.2 resumes by session id here: every protocol but TLS 1.3.
fn tls12(protocol: Option<Protocol>) -> bool {
    protocol.is_some_and(|p| p.version() == "TLSv1.2")
}

/// A TLS server context with the fixtures' server identity; `mutual` requires and verifies
/// a client certificate against the fixtures' CA; `resumable`: a session cache (and TLS 1.3
/// tickets), else no session is ever resumed (every handshake full, whatever the client
/// offers).
pub fn server_context(
    pki: &Pki,
    protocol: Option<Protocol>,
    mutual: bool,
    resumable: bool,
) -> Result<SslContext> {
    let mut b = base(SslMethod::tls_server(), protocol)?;
    identity(&mut b, &pki.server)?;
    b.set_session_id_context(SESSION_ID_CONTEXT)
        .map_err(|e| crypto("set session id context", e))?;
    if resumable {
        b.set_session_cache_mode(SslSessionCacheMode::SERVER);
        if tls12(protocol) {
            b.set_options(SslOptions::NO_TICKET);
        }
    } else {
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
        b.set_options(SslOptions::NO_TICKET);
        b.set_num_tickets(0)
            .map_err(|e| crypto("turn TLS 1.3 tickets off", e))?;
    }
    if mutual {
        trust(&mut b, &pki.ca)?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    Ok(b.build())
}

/// A TLS client context that verifies the server against the fixtures' CA; `certificate`
/// installs the fixtures' client identity (sent when the server asks for one).
pub fn client_context(
    pki: &Pki,
    protocol: Option<Protocol>,
    certificate: bool,
) -> Result<SslContext> {
    let mut b = base(SslMethod::tls_client(), protocol)?;
    trust(&mut b, &pki.ca)?;
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    if protocol.is_none() || tls12(protocol) {
        // Session-id resumption for TLS 1.2 (the paper's); TLS 1.3 needs its tickets.
        b.set_options(SslOptions::NO_TICKET);
    }
    if certificate {
        identity(&mut b, &pki.client)?;
    }
    install_certificate_counter(&mut b);
    Ok(b.build())
}

// --- Counting the client certificates a client really sent ----------------------------------

thread_local! {
    /// Non-empty Certificate messages this thread's TLS clients sent.
    static CERTIFICATES_SENT: Cell<u64> = const { Cell::new(0) };
}

fn install_certificate_counter(b: &mut SslContextBuilder) {
    // SAFETY: `as_ptr` is the live SSL_CTX of the builder; the callback only reads the
    // buffer OpenSSL passes for the duration of the call.
    unsafe {
        crate::handshake::count::SSL_CTX_set_msg_callback(b.as_ptr().cast(), Some(on_message))
    }
}

const SSL3_RT_HANDSHAKE: libc::c_int = 22;
const TLS1_3_VERSION: libc::c_int = 0x0304;

unsafe extern "C" fn on_message(
    write_p: libc::c_int,
    version: libc::c_int,
    content_type: libc::c_int,
    buf: *const libc::c_void,
    len: libc::size_t,
    _ssl: *mut libc::c_void,
    _arg: *mut libc::c_void,
) {
    if write_p == 0 || content_type != SSL3_RT_HANDSHAKE || buf.is_null() || len == 0 {
        return;
    }
    // SAFETY: OpenSSL passes `len` readable bytes at `buf` for the duration of the call.
    let b = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    if certificate_message_has_certificates(b, version == TLS1_3_VERSION) {
        CERTIFICATES_SENT.with(|c| c.set(c.get() + 1));
    }
}

/// Whether a handshake message is a Certificate message with at least one certificate
/// (RFC 5246 7.4.2; RFC 8446 4.4.2, after its request context). A client without a
/// certificate answers a CertificateRequest with an empty one.
pub fn certificate_message_has_certificates(msg: &[u8], tls13: bool) -> bool {
    if msg.first() != Some(&11) || msg.len() < 4 {
        return false;
    }
    let mut at = 4;
    if tls13 {
        let Some(&ctx_len) = msg.get(at) else {
            return false;
        };
        at += 1 + usize::from(ctx_len);
    }
    match msg.get(at..at + 3) {
        Some(l) => u32::from_be_bytes([0, l[0], l[1], l[2]]) > 0,
        None => false,
    }
}

fn certificates_sent() -> u64 {
    CERTIFICATES_SENT.with(Cell::get)
}

// --- One end of TLS connections -------------------------------------------------------------

/// What one handshake was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Handshake {
    /// It resumed a session.
    pub resumed: bool,
    /// A client certificate went over it: sent (client side) or verified (server side).
    pub client_certificate: bool,
}

/// One end of TLS connections: its context, the protocol it must negotiate (checked after
/// every handshake) and, for a resuming client, the session it offers.
pub struct TlsEnd {
    ctx: SslContext,
    protocol: Option<Protocol>,
    resume: bool,
    mutual: bool,
    session: Option<SslSession>,
}

impl std::fmt::Debug for TlsEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsEnd")
            .field("protocol", &self.protocol.map(|p| p.label()))
            .field("resume", &self.resume)
            .field("mutual", &self.mutual)
            .finish()
    }
}

fn tls_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Handshake {
        scenario: what.to_string(),
        what: e.to_string(),
    }
}

impl TlsEnd {
    /// A client end of `protocol` (`None`: whatever the server picks of TLS 1.2..1.3).
    /// `mutual`: present the client certificate (and check it went out when the server
    /// asked); `resume`: offer the last connection's session on each new connection.
    pub fn client_for(
        pki: &Pki,
        protocol: Option<Protocol>,
        mutual: bool,
        resume: bool,
    ) -> Result<TlsEnd> {
        Ok(TlsEnd {
            ctx: client_context(pki, protocol, mutual)?,
            protocol,
            resume,
            mutual,
            session: None,
        })
    }

    /// A server end of `protocol` (`None`: any); `mutual` requires a client certificate;
    /// `resumable` lets clients resume sessions (else every handshake is a full one).
    pub fn server_for(
        pki: &Pki,
        protocol: Option<Protocol>,
        mutual: bool,
        resumable: bool,
    ) -> Result<TlsEnd> {
        Ok(TlsEnd {
            ctx: server_context(pki, protocol, mutual, resumable)?,
            protocol,
            resume: false,
            mutual,
            session: None,
        })
    }

    /// The paper's protocol, client end (the testbed's own proxy and generators).
    pub fn client(pki: &Pki, mutual: bool, resume: bool) -> Result<TlsEnd> {
        TlsEnd::client_for(pki, Some(Protocol::Tls12RsaAes128Sha), mutual, resume)
    }

    /// The paper's protocol, server end with a session cache.
    pub fn server(pki: &Pki, mutual: bool) -> Result<TlsEnd> {
        TlsEnd::server_for(pki, Some(Protocol::Tls12RsaAes128Sha), mutual, true)
    }

    /// Another end with the same context and no session yet (one per load-generator lane:
    /// each resumes its own sessions).
    pub fn fork(&self) -> TlsEnd {
        TlsEnd {
            ctx: self.ctx.clone(),
            protocol: self.protocol,
            resume: self.resume,
            mutual: self.mutual,
            session: None,
        }
    }

    /// The protocol this end must negotiate, if one.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    fn check(&self, ssl: &SslRef, what: &str) -> Result<()> {
        let Some(p) = self.protocol else {
            return Ok(());
        };
        let version = ssl.version_str();
        let suite = ssl
            .current_cipher()
            .and_then(|c| c.standard_name())
            .unwrap_or("none");
        if version != p.version() || suite != p.iana_suite() {
            return Err(tls_err(
                what,
                format!(
                    "negotiated {version} {suite}, expected {} {} ({})",
                    p.version(),
                    p.iana_suite(),
                    p.label()
                ),
            ));
        }
        Ok(())
    }

    /// Client handshake over `tcp`. Checks the negotiated protocol, and that a mutual
    /// end really sent its certificate.
    pub fn connect(&mut self, tcp: TcpStream, what: &str) -> Result<(Conn, Handshake)> {
        let mut ssl = Ssl::new(&self.ctx).map_err(|e| tls_err(what, e))?;
        ssl.set_hostname(wire::HOST).map_err(|e| tls_err(what, e))?;
        ssl.param_mut()
            .set_host(wire::HOST)
            .map_err(|e| tls_err(what, e))?;
        if self.resume {
            if let Some(s) = &self.session {
                // SAFETY: the session comes from a connection of this same context.
                unsafe { ssl.set_session(s) }.map_err(|e| tls_err(what, e))?;
            }
        }
        let before = certificates_sent();
        let s = ssl.connect(tcp).map_err(|e| tls_err(what, e))?;
        let sent = certificates_sent() > before;
        self.check(s.ssl(), what)?;
        if self.mutual && !sent {
            return Err(tls_err(
                what,
                "mutual TLS, but this client sent no certificate (the server did not ask for one)",
            ));
        }
        let hs = Handshake {
            resumed: s.ssl().session_reused(),
            client_certificate: sent,
        };
        let conn = Conn::Tls(Box::new(s));
        self.remember(&conn);
        Ok((conn, hs))
    }

    /// Server handshake over `tcp`; checks the protocol and, when mutual, that a client
    /// certificate was verified.
    pub fn accept(&self, tcp: TcpStream, what: &str) -> Result<(Conn, Handshake)> {
        let ssl = Ssl::new(&self.ctx).map_err(|e| tls_err(what, e))?;
        let s = ssl.accept(tcp).map_err(|e| tls_err(what, e))?;
        self.check(s.ssl(), what)?;
        let cert = s.ssl().peer_certificate().is_some();
        if self.mutual && !cert {
            return Err(tls_err(
                what,
                "mutual TLS, but no client certificate was verified",
            ));
        }
        let hs = Handshake {
            resumed: s.ssl().session_reused(),
            client_certificate: cert,
        };
        Ok((Conn::Tls(Box::new(s)), hs))
    }

    /// Keeps the connection's session for the next connection of a resuming client. Called
    /// after the handshake and again before closing: a TLS 1.3 ticket arrives after the
    /// handshake and is read with the first application data.
    pub fn remember(&mut self, conn: &Conn) {
        if !self.resume {
            return;
        }
        if let Conn::Tls(s) = conn {
            if let Some(session) = s.ssl().session() {
                self.session = Some(session.to_owned());
            }
        }
    }
}

/// Checks that a mutual-TLS server refuses a client without a certificate: connects to
/// `addr` with a client of `protocol` that has none and expects the handshake, or (TLS 1.3,
/// where the server's verdict follows the client's Finished) the first read, to fail.
pub fn refuses_anonymous_client(
    pki: &Pki,
    protocol: Option<Protocol>,
    addr: std::net::SocketAddr,
) -> Result<()> {
    use std::io::Read;
    let ctx = client_context(pki, protocol, false)?;
    let tcp = TcpStream::connect(addr)
        .map_err(|e| Error::io(format!("mutual-TLS check: connecting to {addr}"), e))?;
    wire::prepare(&tcp, "mutual-TLS check")?;
    let mut ssl = Ssl::new(&ctx).map_err(|e| tls_err("mutual-TLS check", e))?;
    ssl.set_hostname(wire::HOST)
        .map_err(|e| tls_err("mutual-TLS check", e))?;
    let Ok(mut s) = ssl.connect(tcp) else {
        return Ok(());
    };
    let mut one = [0u8; 1];
    match s.read(&mut one) {
        Ok(n) if n > 0 => Err(tls_err(
            "mutual-TLS check",
            format!("{addr} sent data to a client without a certificate"),
        )),
        Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
            Err(tls_err(
                "mutual-TLS check",
                format!(
                    "{addr} kept a connection from a client without a certificate open for {} s: it does not require client certificates",
                    wire::IO_TIMEOUT.as_secs()
                ),
            ))
        }
        // Closed or an alert: refused, as a mutual server must.
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_messages_with_and_without_certificates() {
        // TLS 1.2: type 11, length, 3-byte list length.
        assert!(!certificate_message_has_certificates(
            &[11, 0, 0, 3, 0, 0, 0],
            false
        ));
        assert!(certificate_message_has_certificates(
            &[11, 0, 0, 6, 0, 0, 3, 0, 0, 0],
            false
        ));
        // TLS 1.3: a request context first.
        assert!(!certificate_message_has_certificates(
            &[11, 0, 0, 4, 0, 0, 0, 0],
            true
        ));
        assert!(certificate_message_has_certificates(
            &[11, 0, 0, 4, 0, 0, 0, 9],
            true
        ));
        // Other messages and truncated ones.
        assert!(!certificate_message_has_certificates(&[1, 0, 0, 0], false));
        assert!(!certificate_message_has_certificates(&[11, 0], false));
    }
}
