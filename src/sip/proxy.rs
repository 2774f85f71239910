//! The signalling logic of a stateful SIP proxy (RFC 3261 section 16), as far as the
//! testbed and the base proxy need it; no I/O: the caller moves the bytes.
//!
//! Requests are validated (16.3: Max-Forwards, Proxy-Require), answered by the proxy
//! itself when they must be (483, 420, and with authentication on, 407), or forwarded
//! (16.6): the proxy's Via on top naming the transport of the leg it sends on, with a
//! branch unique per transaction; Max-Forwards decremented, or 70 added when missing; a
//! Route naming the proxy removed (16.4, with or without the default port); a
//! Record-Route added to an INVITE. Responses lose the proxy's Via (16.7).

use super::grammar::{split_list, trim_lws};
use super::message::{parse, Message, Name, StartLine};
use super::uri::{addr_uri, parse_sip_uri};
use super::via::{split_host_port, MAGIC_COOKIE};
use super::{err, Transport};
use crate::Result;
use std::collections::HashSet;
use std::fmt::Write as _;

/// The Max-Forwards a proxy adds when a request has none (RFC 3261 16.6 step 3).
pub const DEFAULT_MAX_FORWARDS: u8 = 70;

/// Where a message the proxy emits goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leg {
    /// Towards the caller (UAC): responses, and the proxy's own replies.
    Uac,
    /// Towards the callee (UAS): forwarded requests.
    Uas,
}

/// What the proxy does with one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Forward these bytes on this leg.
    Send(Leg, Vec<u8>),
    /// Answer the sender of the request with this response of the proxy's own (483, 420,
    /// 407): a message like any other, received by the UAC.
    Reply(u16, Vec<u8>),
    /// Nothing to send (the ACK of a non-2xx response the proxy sent itself).
    Absorb,
}

/// A minimal stateful SIP proxy's signalling logic.
#[derive(Debug)]
pub struct Proxy {
    /// The proxy's own `host:port`, as written in its Via.
    sent_by: String,
    /// The same, split (host, port) for comparisons.
    host: String,
    port: Option<u16>,
    /// The URI it puts in Record-Route, and recognises in a Route as its own.
    route_uri: String,
    /// The transport of the leg towards the UAS, named in the proxy's Via.
    downstream: Transport,
    /// Challenge INVITEs without `Proxy-Authorization` with a 407.
    auth: bool,
    /// Option tags the proxy understands in Proxy-Require (none by default).
    supported: Vec<String>,
    /// Transactions of INVITEs answered by the proxy itself, whose ACK it absorbs.
    answered: HashSet<u64>,
}

/// FNV-1a over parts separated by a zero byte: cheap and deterministic; a branch only has
/// to be unique per transaction.
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for b in p.bytes().chain([0]) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    h
}

impl Proxy {
    /// A proxy whose Via says `sent_by` (`host:port`) and whose Record-Route says
    /// `route_uri` (e.g. `sip:proxy.example:5061;transport=tls`); `auth` turns on SIP proxy
    /// authentication (407 challenges). Its Via names UDP until [`Proxy::downstream`] says
    /// otherwise.
    pub fn new(sent_by: impl Into<String>, route_uri: impl Into<String>, auth: bool) -> Self {
        let sent_by = sent_by.into();
        let (host, port) = match split_host_port(&sent_by) {
            Ok((h, p)) => (h.to_string(), p),
            Err(_) => (sent_by.clone(), None),
        };
        Proxy {
            sent_by,
            host,
            port,
            route_uri: route_uri.into(),
            downstream: Transport::Udp,
            auth,
            supported: Vec::new(),
            answered: HashSet::new(),
        }
    }

    /// The transport of the leg the proxy forwards requests on (named in its Via, RFC 3261
    /// 18.1.1: the Via's transport is the one the request is sent over).
    pub fn downstream(mut self, transport: Transport) -> Self {
        self.downstream = transport;
        self
    }

    /// Option tags the proxy accepts in Proxy-Require.
    pub fn supporting(mut self, tags: &[&str]) -> Self {
        self.supported = tags.iter().map(|t| t.to_string()).collect();
        self
    }

    /// The proxy's `host:port`.
    pub fn sent_by(&self) -> &str {
        &self.sent_by
    }

    /// The URI the proxy record-routes with.
    pub fn route_uri(&self) -> &str {
        &self.route_uri
    }

    /// The transaction key of a request (RFC 3261 17.2.3 / 16.11): an RFC 3261 branch with
    /// the top Via's sent-by; for a request without one (RFC 2543), the To tag, From tag,
    /// Call-ID, CSeq number, Request-URI and top Via, as 16.11 asks of a branch computed
    /// for such a request. A CANCEL or the ACK of a non-2xx response shares its INVITE's
    /// key, as RFC 3261 wants their branch to be the INVITE's.
    pub fn transaction_key(msg: &Message<'_>) -> u64 {
        let top = msg.vias().first().copied().unwrap_or("");
        match msg.top_via() {
            Some(v) if v.is_rfc3261() => {
                let port = v.effective_port().to_string();
                fnv(&[v.branch.unwrap_or(""), v.host, &port])
            }
            _ => fnv(&[
                msg.tag(Name::To).unwrap_or(""),
                msg.tag(Name::From).unwrap_or(""),
                msg.first(Name::CallId).unwrap_or(""),
                &msg.cseq.number.to_string(),
                msg.request_uri().unwrap_or(""),
                top,
            ]),
        }
    }

    /// The Via line the proxy adds to a request of transaction `key`.
    pub fn via_for(&self, key: u64) -> String {
        format!(
            "SIP/2.0/{} {};branch={MAGIC_COOKIE}-tc{key:016x}",
            self.downstream.via_label(),
            self.sent_by
        )
    }

    /// Handles one received message: parses it and decides what to send where.
    pub fn handle(&mut self, bytes: &[u8]) -> Result<Action> {
        let msg = parse(bytes)?;
        match msg.start {
            StartLine::Request { method, .. } => self.handle_request(&msg, method),
            StartLine::Response { .. } => self
                .forward_response(&msg)
                .map(|b| Action::Send(Leg::Uac, b)),
        }
    }

    fn handle_request(&mut self, msg: &Message<'_>, method: &str) -> Result<Action> {
        let key = Self::transaction_key(msg);
        if method == "ACK" && self.answered.remove(&key) {
            return Ok(Action::Absorb);
        }
        // RFC 3261 16.3 step 3: a request that can go no further is answered, not forwarded.
        if msg.max_forwards == Some(0) {
            return Ok(self.reply(msg, key, 483, "Too Many Hops", ""));
        }
        // 16.3 step 5: every Proxy-Require option tag must be understood.
        let unknown: Vec<&str> = msg
            .values(Name::ProxyRequire)
            .into_iter()
            .filter(|t| !self.supported.iter().any(|s| s.eq_ignore_ascii_case(t)))
            .collect();
        if !unknown.is_empty() {
            let extra = format!("Unsupported: {}\r\n", unknown.join(", "));
            return Ok(self.reply(msg, key, 420, "Bad Extension", &extra));
        }
        if self.auth && method == "INVITE" && msg.first(Name::ProxyAuthorization).is_none() {
            let extra = format!(
                "Proxy-Authenticate: Digest realm=\"tlscost.test\", nonce=\"tc{key:x}\", algorithm=MD5, qop=\"auth\"\r\n"
            );
            return Ok(self.reply(msg, key, 407, "Proxy Authentication Required", &extra));
        }
        Ok(Action::Send(
            Leg::Uas,
            self.forward_request(msg, method, key),
        ))
    }

    /// Whether a Route value names this proxy: its Record-Route URI or its sent-by, with
    /// the port given or left to the default of the URI's scheme and transport.
    fn is_own_route(&self, route: &str) -> bool {
        let Ok(uri) = parse_sip_uri(addr_uri(route)) else {
            return false;
        };
        let own_uri = parse_sip_uri(&self.route_uri).ok();
        own_uri.is_some_and(|own| own.same_host_port(&uri))
            || (uri.host.eq_ignore_ascii_case(&self.host)
                && self.port.is_none_or(|p| p == uri.effective_port()))
    }

    /// The request as forwarded: our Via on top, Max-Forwards decremented (or 70 added), a
    /// Route naming us removed, and a Record-Route added to an INVITE.
    fn forward_request(&self, msg: &Message<'_>, method: &str, key: u64) -> Vec<u8> {
        let pop_route = msg.routes().first().is_some_and(|r| self.is_own_route(r));
        let mut out = String::with_capacity(msg.start_raw.len() + msg.headers.len() * 64 + 128);
        out.push_str(msg.start_raw);
        out.push_str("\r\n");
        let _ = write!(out, "Via: {}\r\n", self.via_for(key));
        let mut rr_done = method != "INVITE";
        let mut route_done = !pop_route;
        for h in &msg.headers {
            if !rr_done && matches!(h.kind, Name::RecordRoute | Name::CallId | Name::From) {
                let _ = write!(out, "Record-Route: <{};lr>\r\n", self.route_uri);
                rr_done = true;
            }
            match h.kind {
                Name::MaxForwards => {
                    let mf = msg.max_forwards.unwrap_or(DEFAULT_MAX_FORWARDS + 1);
                    let _ = write!(out, "{}: {}\r\n", h.name, mf.saturating_sub(1));
                    continue;
                }
                Name::Route if !route_done => {
                    route_done = true;
                    let rest: Vec<&str> = split_list(h.value).skip(1).collect();
                    if !rest.is_empty() {
                        let _ = write!(out, "{}: {}\r\n", h.name, rest.join(", "));
                    }
                    continue;
                }
                _ => {}
            }
            let _ = write!(out, "{}: {}\r\n", h.name, h.value);
        }
        if !rr_done {
            let _ = write!(out, "Record-Route: <{};lr>\r\n", self.route_uri);
        }
        if msg.max_forwards.is_none() {
            let _ = write!(out, "Max-Forwards: {DEFAULT_MAX_FORWARDS}\r\n");
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(msg.body);
        bytes
    }

    /// The response as forwarded: our Via, which must be on top, removed.
    fn forward_response(&self, msg: &Message<'_>) -> Result<Vec<u8>> {
        let vias = msg.vias();
        let top = msg.top_via().ok_or_else(|| err("response without a Via"))?;
        if !top.sent_by_is(&self.host, self.port) {
            return Err(err(format!(
                "response's top Via '{}' is not this proxy's ({})",
                vias[0], self.sent_by
            )));
        }
        if vias.len() < 2 {
            return Err(err(
                "response has no Via below the proxy's: nowhere to send it",
            ));
        }
        let mut out = String::with_capacity(msg.start_raw.len() + msg.headers.len() * 64);
        out.push_str(msg.start_raw);
        out.push_str("\r\n");
        let mut removed = false;
        for h in &msg.headers {
            if !removed && h.kind == Name::Via {
                removed = true;
                let rest: Vec<&str> = split_list(h.value).skip(1).collect();
                if !rest.is_empty() {
                    let _ = write!(out, "{}: {}\r\n", h.name, rest.join(", "));
                }
                continue;
            }
            let _ = write!(out, "{}: {}\r\n", h.name, h.value);
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(msg.body);
        Ok(bytes)
    }

    /// A response of the proxy's own to `msg`, built as RFC 3261 8.2.6 says: the Vias,
    /// From, Call-ID and CSeq copied, To copied with a tag added when it has none; `extra`
    /// header lines (each ending in CRLF) before Content-Length 0. A non-2xx answer to an
    /// INVITE leaves its ACK to the proxy.
    fn reply(
        &mut self,
        msg: &Message<'_>,
        key: u64,
        code: u16,
        reason: &str,
        extra: &str,
    ) -> Action {
        if msg.method() == Some("INVITE") {
            self.answered.insert(key);
        }
        let mut out = String::with_capacity(512);
        let _ = write!(out, "SIP/2.0 {code} {reason}\r\n");
        for h in &msg.headers {
            match h.kind {
                Name::Via | Name::From | Name::CallId | Name::CSeq => {
                    let _ = write!(out, "{}: {}\r\n", h.name, h.value);
                }
                Name::To if msg.tag(Name::To).is_some() => {
                    let _ = write!(out, "{}: {}\r\n", h.name, h.value);
                }
                Name::To => {
                    let _ = write!(out, "{}: {};tag=tc{code}\r\n", h.name, trim_lws(h.value));
                }
                _ => {}
            }
        }
        out.push_str(extra);
        out.push_str("Content-Length: 0\r\n\r\n");
        Action::Reply(code, out.into_bytes())
    }
}
