//! What the testbed's proxy and load generators move bytes over: TCP or TLS streams with
//! SIP message framing and keep-alives ([`Framer`], from [`crate::sip::stream`]: pings are
//! answered, a framing error names the connection), the OpenSSL contexts of each role
//! (TLS 1.2, AES128-SHA with RSA key transport, as the paper), the thread CPU clock and a
//! blocking wait with a deadline.

use crate::handshake::openssl::{identity, trust};
use crate::handshake::{Pki, SERVER_NAME};
pub use crate::sip::stream::Framer;
use crate::{Error, Result};
use openssl::ssl::{
    SslContext, SslContextBuilder, SslMethod, SslOptions, SslSessionCacheMode, SslStream,
    SslVerifyMode, SslVersion,
};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// How long any socket operation may block before the run is declared failed.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// The paper's suite: TLS_RSA_WITH_AES_128_CBC_SHA (RSA key transport).
pub const CIPHER_LIST: &str = "AES128-SHA:@SECLEVEL=0";

/// A stream connection: plain TCP or TLS over TCP.
#[derive(Debug)]
pub enum Conn {
    /// SIP over TCP.
    Tcp(TcpStream),
    /// SIP over TLS.
    Tls(Box<SslStream<TcpStream>>),
}

impl Conn {
    /// The TCP socket under it.
    pub fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Tcp(s) => s,
            Conn::Tls(s) => s.get_ref(),
        }
    }

    /// Closes the connection: TLS sends its close_notify first (best effort: the peer may
    /// already be gone, which is not a failed call).
    pub fn close(self) {
        if let Conn::Tls(mut s) = self {
            let _ = s.shutdown();
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// Writes one whole message.
pub fn send(conn: &mut impl Write, msg: &[u8], what: &str) -> Result<()> {
    conn.write_all(msg)
        .and_then(|_| conn.flush())
        .map_err(|e| Error::io(format!("{what}: sending a SIP message"), e))
}

/// Sets the I/O timeouts of a TCP socket, and no Nagle delay (SIP messages are small).
pub fn prepare(s: &TcpStream, what: &str) -> Result<()> {
    s.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|_| s.set_write_timeout(Some(IO_TIMEOUT)))
        .and_then(|_| s.set_nodelay(true))
        .map_err(|e| Error::io(format!("{what}: socket options"), e))
}

/// Which of `fds` are readable (data, or a connection waiting), within `timeout`: their
/// indices. A signal interrupting the wait gives none (the caller loops anyway).
pub fn readable(
    fds: &[std::os::fd::RawFd],
    timeout: std::time::Duration,
) -> std::io::Result<Vec<usize>> {
    let mut p: Vec<libc::pollfd> = fds
        .iter()
        .map(|&fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    // SAFETY: `p` is a valid array of `p.len()` pollfds.
    let r = unsafe {
        libc::poll(
            p.as_mut_ptr(),
            p.len() as libc::nfds_t,
            timeout.as_millis() as libc::c_int,
        )
    };
    if r < 0 {
        let e = std::io::Error::last_os_error();
        if e.kind() == std::io::ErrorKind::Interrupted {
            return Ok(Vec::new());
        }
        return Err(e);
    }
    Ok((0..p.len()).filter(|&i| p[i].revents != 0).collect())
}

/// Blocks until `fd` is readable (a listener: a connection is waiting), at most
/// [`IO_TIMEOUT`]. Blocking in the kernel keeps the waiting thread's CPU clock still.
pub fn wait_readable(fd: &impl AsRawFd, what: &str) -> Result<()> {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, count 1.
        let r = unsafe { libc::poll(&mut p, 1, IO_TIMEOUT.as_millis() as libc::c_int) };
        if r > 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if r < 0 && e.kind() == std::io::ErrorKind::Interrupted {
            continue;
        }
        return Err(Error::io(
            format!("{what}: waiting for a connection"),
            if r == 0 {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "nothing within the timeout")
            } else {
                e
            },
        ));
    }
}

/// CPU time consumed by the calling thread so far (CLOCK_THREAD_CPUTIME_ID), in ns.
pub fn thread_cpu_ns() -> Result<u64> {
    Ok(crate::cputime::thread_cpu().as_nanos() as u64)
}

fn crypto(op: &'static str, e: openssl::error::ErrorStack) -> Error {
    Error::Crypto {
        backend: "openssl",
        op,
        detail: e.to_string(),
    }
}

fn base(method: SslMethod) -> Result<SslContextBuilder> {
    let e = |e| crypto("configure the testbed's TLS context", e);
    let mut b = SslContextBuilder::new(method).map_err(e)?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .map_err(e)?;
    b.set_max_proto_version(Some(SslVersion::TLS1_2))
        .map_err(e)?;
    b.set_cipher_list(CIPHER_LIST).map_err(e)?;
    // Session-id resumption (the model's default), no tickets.
    b.set_options(SslOptions::NO_TICKET);
    Ok(b)
}

/// A TLS server context (the proxy's left side, the UAS): its own session cache;
/// `mutual` requires and verifies a client certificate against the CA.
pub fn server_context(pki: &Pki, mutual: bool) -> Result<SslContext> {
    let mut b = base(SslMethod::tls_server())?;
    identity(&mut b, &pki.server)?;
    b.set_session_id_context(b"tlscost-testbed")
        .map_err(|e| crypto("set session id context", e))?;
    b.set_session_cache_mode(SslSessionCacheMode::SERVER);
    if mutual {
        trust(&mut b, &pki.ca)?;
        b.set_verify(SslVerifyMode::PEER | SslVerifyMode::FAIL_IF_NO_PEER_CERT);
    }
    Ok(b.build())
}

/// A TLS client context (the UAC, the proxy's right side): verifies the server against the
/// CA; `mutual` presents the client certificate.
pub fn client_context(pki: &Pki, mutual: bool) -> Result<SslContext> {
    let mut b = base(SslMethod::tls_client())?;
    trust(&mut b, &pki.ca)?;
    b.set_verify(SslVerifyMode::PEER);
    b.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    if mutual {
        identity(&mut b, &pki.client)?;
    }
    Ok(b.build())
}

/// The host name clients check in the server certificate.
pub const HOST: &str = SERVER_NAME;
