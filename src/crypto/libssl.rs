//! Real OpenSSL (libssl) TLS 1.2 records: `record/libssl/<suite>/<seal|open>/<size>`.
//!
//! The other `record/...` benches build the record themselves over a backend's primitives;
//! these take the bytes libssl itself emits on an established connection. Client and server
//! are connected in memory ([`crate::handshake::Wire`]) with one cipher suite; seal is one
//! `SSL_write` of the plaintext on the client (the record goes into the queue to the server),
//! open is one `SSL_read` of such a record on the server. A record can be opened only once
//! (its MAC covers the sequence number), so the open bench writes its records first, outside
//! the timing ([`crate::crypto::cases::Case::timed`]).
//!
//! Suites: `aes128-sha` (AES128-SHA) and `3des-sha` (DES-CBC3-SHA, only in an OpenSSL built
//! with its weak ciphers: the vendored build; see [`crate::handshake::NO_3DES_SUITE`]).

use crate::crypto::mac::SHA1_LEN;
use crate::handshake::openssl::{has_3des_suite, DES_CBC3_SHA};
use crate::handshake::{Pipe, Pki, Wire, SERVER_NAME};
use crate::record::{RecordKeys, Suite};
use crate::{Error, Result};
use openssl::pkey::PKey;
use openssl::ssl::{
    ErrorCode, HandshakeError, Ssl, SslContextBuilder, SslMethod, SslOptions, SslStream,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;

/// The backend label of these benches.
pub const LABEL: &str = "libssl";

/// The sequence number of the client's first application-data record: its Finished was
/// record 0 under the new keys.
pub const FIRST_CLIENT_SEQ: u64 = 1;

/// `SSL_OP_NO_ENCRYPT_THEN_MAC` of OpenSSL 3's `ssl.h` (`SSL_OP_BIT(19)`; the `openssl`
/// crate has no name for it).
const NO_ENCRYPT_THEN_MAC: SslOptions = SslOptions::from_bits_retain(1 << 19);

/// Most records one untimed batch writes before they are opened.
const BATCH: u64 = 256;

fn crypto(op: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Crypto {
        backend: LABEL,
        op,
        detail: e.to_string(),
    }
}

/// OpenSSL's cipher list for a record suite, or why there is none here.
pub fn cipher_list(suite: Suite) -> Result<&'static str> {
    match suite {
        Suite::Aes128Sha => Ok("AES128-SHA:@SECLEVEL=0"),
        Suite::TdesSha => {
            has_3des_suite()?;
            Ok(DES_CBC3_SHA)
        }
        Suite::Aes128Gcm => Err(Error::Unsupported {
            backend: LABEL,
            what:
                "record/libssl/aes128-gcm: only the paper's CBC suites are measured through libssl"
                    .into(),
        }),
    }
}

/// An established TLS 1.2 connection in memory: both ends, and the queues between them.
pub struct Connection {
    /// The client end (seals).
    pub client: SslStream<Pipe>,
    /// The server end (opens).
    pub server: SslStream<Pipe>,
    /// The queues; `wire.to_server` holds the records the client wrote.
    pub wire: Wire,
}

impl Connection {
    /// Connects a client and a server that allow only `suite`, and checks that it was negotiated.
    pub fn establish(suite: Suite, pki: &Pki) -> Result<Connection> {
        let list = cipher_list(suite)?;
        let ctx = |method, server: bool| -> Result<openssl::ssl::SslContext> {
            let e = |e| crypto("configure SSL_CTX", e);
            let mut b = SslContextBuilder::new(method).map_err(e)?;
            b.set_min_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            b.set_max_proto_version(Some(SslVersion::TLS1_2))
                .map_err(e)?;
            b.set_cipher_list(list).map_err(e)?;
            // No ticket: nothing but the records under test follows the handshake. No
            // encrypt-then-MAC (RFC 7366, which OpenSSL negotiates by default for CBC suites):
            // the records are the paper's MAC-then-encrypt ones, as `RecordLayer` builds them.
            b.set_options(SslOptions::NO_TICKET | NO_ENCRYPT_THEN_MAC);
            if server {
                let cert = X509::from_pem(&pki.server.cert).map_err(e)?;
                let key = PKey::private_key_from_pem(&pki.server.key).map_err(e)?;
                b.set_certificate(&cert).map_err(e)?;
                b.set_private_key(&key).map_err(e)?;
            } else {
                let ca = X509::from_pem(&pki.ca).map_err(e)?;
                b.cert_store_mut().add_cert(ca).map_err(e)?;
                b.set_verify(SslVerifyMode::PEER);
            }
            Ok(b.build())
        };
        let client_ctx = ctx(SslMethod::tls_client(), false)?;
        let server_ctx = ctx(SslMethod::tls_server(), true)?;
        let wire = Wire::default();
        let mut c = Ssl::new(&client_ctx).map_err(|e| crypto("SSL_new", e))?;
        c.param_mut()
            .set_host(SERVER_NAME)
            .map_err(|e| crypto("set host", e))?;
        let s = Ssl::new(&server_ctx).map_err(|e| crypto("SSL_new", e))?;
        let fail = |side: &str, e: String| Error::Handshake {
            scenario: format!("record/libssl/{}", label(suite)),
            what: format!("{side}: {e}"),
        };
        let mut client = c.connect(wire.client_end());
        let mut server = s.accept(wire.server_end());
        // Alternate the two ends until both finished (a handful of flights).
        for _ in 0..16 {
            client = match client {
                Err(HandshakeError::WouldBlock(m)) => m.handshake(),
                done => done,
            };
            server = match server {
                Err(HandshakeError::WouldBlock(m)) => m.handshake(),
                done => done,
            };
            if client.is_ok() && server.is_ok() {
                break;
            }
            if let Err(HandshakeError::Failure(m)) = &client {
                return Err(fail("client", m.error().to_string()));
            }
            if let Err(HandshakeError::Failure(m)) = &server {
                return Err(fail("server", m.error().to_string()));
            }
        }
        let (client, server) = match (client, server) {
            (Ok(c), Ok(s)) => (c, s),
            _ => return Err(fail("both", "the handshake did not finish".into())),
        };
        let want = match suite {
            Suite::Aes128Sha => "TLS_RSA_WITH_AES_128_CBC_SHA",
            _ => "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        };
        let got = client
            .ssl()
            .current_cipher()
            .and_then(|c| c.standard_name())
            .unwrap_or("none");
        if got != want {
            return Err(fail("client", format!("negotiated {got}, expected {want}")));
        }
        Ok(Connection {
            client,
            server,
            wire,
        })
    }

    /// Seals one record: `SSL_write` of `plaintext` on the client. The record stays queued.
    pub fn seal(&mut self, plaintext: &[u8]) -> Result<usize> {
        self.client
            .ssl_write(plaintext)
            .map_err(|e| crypto("SSL_write", e))
    }

    /// Opens one record: `SSL_read` on the server into `buf`, returning the plaintext length.
    pub fn open(&mut self, buf: &mut [u8]) -> Result<usize> {
        match self.server.ssl_read(buf) {
            Ok(n) => Ok(n),
            Err(e) if e.code() == ErrorCode::WANT_READ => Err(crypto(
                "SSL_read",
                "no complete record queued for the server",
            )),
            Err(e) => Err(crypto("SSL_read", e)),
        }
    }

    /// The keys the client seals records with, derived as RFC 5246 6.3 says from the
    /// session's master secret and the two randoms: the key block PRF(master_secret, "key
    /// expansion", server_random + client_random) begins client_write_MAC_key,
    /// server_write_MAC_key, client_write_key (CBC suites have no implicit IV in TLS 1.2).
    /// With them a record can be built by hand ([`crate::record::fault::Forger`]) and queued
    /// to the server ([`Connection::inject`]) as if the client had written it; its first
    /// application-data record has sequence number [`FIRST_CLIENT_SEQ`].
    pub fn client_write_keys(&self, suite: Suite) -> Result<RecordKeys> {
        let ssl = self.client.ssl();
        let alg = suite
            .cbc_alg()
            .ok_or_else(|| crypto("key block", format!("{} is not a CBC suite", label(suite))))?;
        let session = ssl
            .session()
            .ok_or_else(|| crypto("SSL_get_session", "the client has no session"))?;
        let mut master = [0u8; 48];
        let n = session.master_key(&mut master);
        let (mut client_random, mut server_random) = ([0u8; 32], [0u8; 32]);
        if n != master.len()
            || ssl.client_random(&mut client_random) != 32
            || ssl.server_random(&mut server_random) != 32
        {
            return Err(crypto(
                "key block",
                "no 48-byte master secret or 32-byte randoms",
            ));
        }
        let mut block = vec![0u8; 2 * SHA1_LEN + 2 * alg.key_len()];
        crate::crypto::tls12_prf(
            crate::crypto::Backend::OpenSsl,
            &master,
            b"key expansion",
            &[server_random, client_random].concat(),
            &mut block,
        )?;
        Ok(RecordKeys {
            mac_key: block[..SHA1_LEN].to_vec(),
            enc_key: block[2 * SHA1_LEN..2 * SHA1_LEN + alg.key_len()].to_vec(),
            salt: [0; 4],
        })
    }

    /// Queues `record` (whole or not) to the server as if the client had written it.
    pub fn inject(&self, record: &[u8]) {
        self.wire
            .to_server
            .borrow_mut()
            .extend(record.iter().copied());
    }

    /// Drops every byte queued for the server (the records seal wrote).
    pub fn discard(&self) {
        self.wire.to_server.borrow_mut().clear();
    }

    /// Bytes queued for the server.
    pub fn queued(&self) -> usize {
        self.wire.to_server.borrow().len()
    }
}

fn label(suite: Suite) -> &'static str {
    use crate::names::Dimension;
    suite.label()
}

/// Checks a suite end to end on fresh connections: a sealed record opens on the peer to
/// exactly the plaintext, and a record with one flipped bit is refused. `Err` says what failed.
pub fn self_check(suite: Suite, pki: &Pki, plaintext: &[u8]) -> Result<()> {
    let mut conn = Connection::establish(suite, pki)?;
    let mut buf = vec![0u8; crate::record::MAX_FRAGMENT + 1];
    for round in 0..2 {
        let n = conn.seal(plaintext)?;
        if n != plaintext.len() {
            return Err(Error::SelfCheck {
                bench: format!("record/libssl/{}", label(suite)),
                what: format!("SSL_write took {n} of {} bytes", plaintext.len()),
            });
        }
        let got = conn.open(&mut buf)?;
        if buf[..got] != plaintext[..] {
            return Err(Error::SelfCheck {
                bench: format!("record/libssl/{}", label(suite)),
                what: format!(
                    "record {round}: the peer read {got} bytes that differ from the {} sealed",
                    plaintext.len()
                ),
            });
        }
    }
    conn.seal(plaintext)?;
    {
        let mut q = conn.wire.to_server.borrow_mut();
        let last = q.len() - 1;
        q[last] ^= 0x01;
    }
    if conn.open(&mut buf).is_ok() {
        return Err(Error::SelfCheck {
            bench: format!("record/libssl/{}", label(suite)),
            what: "a record with a flipped bit was accepted".into(),
        });
    }
    Ok(())
}

/// Opens `iters` records written beforehand in untimed batches; returns the time spent in
/// `SSL_read` alone and how many reads did not give back `len` bytes.
pub fn timed_opens(
    conn: &mut Connection,
    plaintext: &[u8],
    iters: u64,
) -> Result<(std::time::Duration, u64)> {
    let mut buf = vec![0u8; crate::record::MAX_FRAGMENT + 1];
    let mut total = std::time::Duration::ZERO;
    let mut bad = 0u64;
    let mut left = iters;
    while left > 0 {
        let k = left.min(BATCH);
        conn.discard();
        for _ in 0..k {
            conn.seal(plaintext)?;
        }
        let t = std::time::Instant::now();
        for _ in 0..k {
            if conn.open(std::hint::black_box(&mut buf))? != plaintext.len() {
                bad += 1;
            }
        }
        total += t.elapsed();
        left -= k;
    }
    Ok((total, bad))
}
