//! SIP over a byte stream (TCP, TLS): framing by RFC 3261 18.3 and keep-alives by RFC 5626
//! 4.4.1, for any code that reads SIP from a connection (the testbed's proxy and load
//! generators, and load generators aimed at a real server).
//!
//! - A message is its header block up to the empty line, then exactly Content-Length bytes
//!   of body; on a stream Content-Length is mandatory (18.3), and it is read by the same
//!   rules as the message parser (folded lines, compact `l`, digits only), so a message
//!   frames the same on a stream as it parses in a datagram.
//! - CRLFs before a start line are skipped (RFC 3261 7.5).
//! - A double CRLF is a keep-alive ping, answered with a single CRLF pong on the same
//!   connection (RFC 5626 4.4.1); after sending a ping, a single CRLF is its pong.
//! - A framing error (no or bad Content-Length, a message over the size limit, a stray CR)
//!   leaves the stream with no way to find the next message: the framer reports it naming
//!   the connection, and from then on refuses to read; the connection must be closed. No
//!   panic, no silent resynchronisation.

use super::message::scan_head;
use super::MAX_MESSAGE;
use crate::{Error, Result};
use std::io::{Read, Write};

/// The keep-alive ping a client sends (RFC 5626 4.4.1): CRLF CRLF.
pub const PING: &[u8] = b"\r\n\r\n";

/// The pong a server answers it with: CRLF.
pub const PONG: &[u8] = b"\r\n";

/// One unit read from a SIP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole SIP message (headers, empty line, Content-Length bytes of body).
    Message(Vec<u8>),
    /// A keep-alive ping (CRLF CRLF): answer it with [`PONG`].
    Ping,
    /// The pong of a ping this side sent (see [`Framer::ping_sent`]).
    Pong,
}

/// Splits the bytes of one stream connection into [`Frame`]s.
#[derive(Debug, Default)]
pub struct Framer {
    /// The connection's name in errors (e.g. `proxy (left) 127.0.0.1:40112`).
    connection: String,
    buf: Vec<u8>,
    awaiting_pong: bool,
    /// Set by the first framing error: the stream is out of step for good.
    failed: Option<String>,
}

impl Framer {
    /// A framer for the connection named `connection` (used in every error it reports).
    pub fn new(connection: impl Into<String>) -> Self {
        Framer {
            connection: connection.into(),
            ..Framer::default()
        }
    }

    /// The connection's name.
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Tells the framer this side sent a ping: the next lone CRLF is its pong.
    pub fn ping_sent(&mut self) {
        self.awaiting_pong = true;
    }

    /// True when no partial frame is buffered (checked when a connection is closed).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn fail(&mut self, what: String) -> Error {
        let what = format!(
            "{}: framing error: {what}; the connection must be closed",
            self.name()
        );
        self.failed = Some(what.clone());
        Error::Sip { what }
    }

    fn name(&self) -> &str {
        if self.connection.is_empty() {
            "SIP stream"
        } else {
            &self.connection
        }
    }

    /// The next whole frame among the bytes pushed so far, `Ok(None)` when more bytes are
    /// needed. After an error every call returns that error again.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if let Some(what) = &self.failed {
            return Err(Error::Sip { what: what.clone() });
        }
        loop {
            let b = &self.buf;
            if b.starts_with(PING) {
                self.buf.drain(..PING.len());
                return Ok(Some(Frame::Ping));
            }
            if b.starts_with(PONG) {
                match b.get(2) {
                    // A lone CRLF and nothing after it yet: the pong we wait for, or the
                    // first half of a ping / a CRLF before a start line (wait and see).
                    None if self.awaiting_pong => {}
                    None => return Ok(None),
                    // CRLF CR: a ping whose last LF has not arrived.
                    Some(b'\r') if b.len() == 3 => return Ok(None),
                    Some(_) => {}
                }
                self.buf.drain(..PONG.len());
                if std::mem::take(&mut self.awaiting_pong) {
                    return Ok(Some(Frame::Pong));
                }
                // RFC 3261 7.5: CRLFs before a start line are ignored.
                continue;
            }
            match b.first() {
                None => return Ok(None),
                Some(b'\r') if b.len() == 1 => return Ok(None),
                Some(b'\r' | b'\n') => {
                    return Err(self
                        .fail("a CR or LF that is not part of a CRLF before a start line".into()))
                }
                Some(_) => {}
            }
            let head = match scan_head(b) {
                Ok(Some(head)) => head,
                Ok(None) if b.len() > MAX_MESSAGE => {
                    return Err(self.fail(format!(
                        "{} bytes without the empty line that ends a header block (limit {MAX_MESSAGE})",
                        b.len()
                    )))
                }
                Ok(None) => return Ok(None),
                Err(e) => return Err(self.fail(message_of(e))),
            };
            let Some(body) = head.content_length else {
                return Err(self.fail(
                    "a message without Content-Length (RFC 3261 18.3: mandatory on a stream)"
                        .into(),
                ));
            };
            let total = head.len + body;
            if total > MAX_MESSAGE {
                return Err(self.fail(format!(
                    "a message of {total} bytes, over the limit of {MAX_MESSAGE}"
                )));
            }
            if b.len() < total {
                return Ok(None);
            }
            return Ok(Some(Frame::Message(self.buf.drain(..total).collect())));
        }
    }

    /// Reads from `conn` until a whole frame is there. The end of the stream in the middle
    /// of a frame, or before any, is an error naming the connection.
    pub fn read_frame(&mut self, conn: &mut impl Read) -> Result<Frame> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(f) = self.next_frame()? {
                return Ok(f);
            }
            let n = conn
                .read(&mut chunk)
                .map_err(|e| Error::io(format!("{}: reading SIP", self.name()), e))?;
            if n == 0 {
                let what = if self.buf.is_empty() {
                    "the peer closed the connection".to_string()
                } else {
                    format!(
                        "the peer closed the connection with {} bytes of a message",
                        self.buf.len()
                    )
                };
                return Err(Error::io(
                    format!("{}: reading SIP", self.name()),
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, what),
                ));
            }
            self.push(&chunk[..n]);
        }
    }

    /// Reads the next SIP message from `conn`, answering every ping with a pong on the same
    /// connection and letting pongs pass. `what` names the connection in errors when the
    /// framer was made without a name.
    pub fn read_message<C: Read + Write>(&mut self, conn: &mut C, what: &str) -> Result<Vec<u8>> {
        if self.connection.is_empty() {
            self.connection = what.to_string();
        }
        loop {
            match self.read_frame(conn)? {
                Frame::Message(m) => return Ok(m),
                Frame::Ping => send(conn, PONG, &format!("{}: keep-alive pong", self.name()))?,
                Frame::Pong => {}
            }
        }
    }

    /// Sends a keep-alive ping on `conn` and waits for its pong. A message that arrives
    /// first is an error: a client pings an idle connection.
    pub fn keepalive<C: Read + Write>(&mut self, conn: &mut C) -> Result<()> {
        send(conn, PING, &format!("{}: keep-alive ping", self.name()))?;
        self.ping_sent();
        match self.read_frame(conn)? {
            Frame::Pong => Ok(()),
            Frame::Ping => Err(self.fail("a ping arrived where the pong of ours was due".into())),
            Frame::Message(_) => {
                Err(self.fail("a message arrived where the pong of our ping was due".into()))
            }
        }
    }
}

fn message_of(e: Error) -> String {
    match e {
        Error::Sip { what } => what,
        other => other.to_string(),
    }
}

/// Writes all of `bytes` and flushes; `what` says what was being sent.
pub fn send(conn: &mut impl Write, bytes: &[u8], what: &str) -> Result<()> {
    conn.write_all(bytes)
        .and_then(|_| conn.flush())
        .map_err(|e| Error::io(what.to_string(), e))
}
