//! SIP as a proxy needs it: the message parser (RFC 3261 sections 7 and 25), the stream
//! framing with keep-alives (RFC 3261 18.3, RFC 5626 4.4.1), and the forwarding logic of a
//! stateful proxy (RFC 3261 16). Together they are the paper's "base": what a proxy spends
//! per call over UDP (receive, parse, rewrite, send), on which TCP and TLS are stacked.
//!
//! The parser is hand-written on purpose: it is part of what the base measures, so it does
//! what a production proxy's parser does per message (OpenSIPS and Kamailio scan the header
//! block once, borrow from the buffer and parse only the fields the proxy reads) rather
//! than build a typed tree of every header; and none of the SIP crates on crates.io
//! accepts the RFC 3261 grammar the issue asks for (see docs/sip.md, "Why hand-written", for the
//! comparison). It takes outside bytes, so it never panics: anything malformed is an
//! [`Error::Sip`] that says what was wrong.
//!
//! - [`message`]: start line, header fields (every compact form of the IANA registry,
//!   folded values, case-insensitive names), the numbers that must be digits only.
//! - [`via`] and [`uri`]: the Via grammar (LWS around `/` and `:`, parameters, IPv6) and
//!   SIP URIs with their default ports.
//! - [`proxy`]: 483 / 420 / 407 answers, Max-Forwards, the proxy's own Via and branch,
//!   Route and Record-Route.
//! - [`stream`]: [`stream::Framer`] for TCP and TLS connections.

pub mod grammar;
pub mod message;
pub mod proxy;
pub mod stream;
pub mod uri;
pub mod via;

pub use message::{canonical_name, parse, CSeq, Header, Message, Name, StartLine};
pub use proxy::{Action, Leg, Proxy};
pub use via::{parse_via, Via};

use crate::Error;

/// Largest message accepted (a UDP datagram cannot be larger; the stream framer keeps the
/// same limit so that a message frames on a stream exactly when it parses in a datagram).
pub const MAX_MESSAGE: usize = 65_535;

/// The largest message sent over UDP when the path MTU is unknown: RFC 3261 18.1.1 wants
/// a larger request sent over a congestion-controlled transport (TCP, TLS), never as a
/// fragmented datagram. tlscost applies the same limit to responses.
pub const UDP_LIMIT: usize = 1_300;

fn err(what: impl Into<String>) -> Error {
    Error::Sip { what: what.into() }
}

/// Refuses a message that RFC 3261 18.1.1 keeps off UDP (over [`UDP_LIMIT`] bytes); `name`
/// names the message in the error.
pub fn check_udp_size(name: &str, len: usize) -> crate::Result<()> {
    if len > UDP_LIMIT {
        return Err(Error::Usage(format!(
            "UDP cannot carry message '{name}': it is {len} bytes, over {UDP_LIMIT}, and RFC 3261 18.1.1 sends such a message over a congestion-controlled transport (TCP or TLS), never as fragmented UDP datagrams"
        )));
    }
    Ok(())
}

/// A SIP transport as a Via names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `UDP`
    Udp,
    /// `TCP`
    Tcp,
    /// `TLS` (over TCP)
    Tls,
}

impl Transport {
    /// The transport token of a Via (`SIP/2.0/<this>`).
    pub fn via_label(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }
}

/// The `sent-by` (host[:port]) of one Via value as written, e.g. `127.0.0.1:5060` from
/// `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1`; a Via that does not parse is an error.
pub fn via_sent_by(via: &str) -> crate::Result<String> {
    let v = parse_via(via).map_err(err)?;
    Ok(match v.port {
        Some(p) => format!("{}:{p}", v.host),
        None => v.host.to_string(),
    })
}

/// The `branch` parameter of one Via value, if it parses and has one.
pub fn via_branch(via: &str) -> Option<&str> {
    parse_via(via).ok().and_then(|v| v.branch)
}
