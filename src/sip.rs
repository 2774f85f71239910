//! A minimal SIP message parser and the forwarding logic of a stateful SIP proxy, enough to
//! measure the paper's "base": what a proxy spends per call over UDP (receive, parse,
//! rewrite, send), on which the TCP and TLS components are stacked.
//!
//! The parser takes outside bytes, so it never panics: anything malformed is an
//! [`Error::Sip`] that says what was wrong. It parses the start line, every header (compact
//! forms and folded lines included), the `Via` list, `Max-Forwards` and `Content-Length`,
//! and borrows from the input (no copy of the message).
//!
//! The [`Proxy`] does what the paper's stateful OpenSIPS does on the signalling path:
//! requests get its `Via` on top and `Max-Forwards` decremented, an INVITE gets a
//! `Record-Route`, a `Route` naming the proxy is consumed, responses lose the proxy's `Via`,
//! and with SIP authentication on, an INVITE without credentials is answered with a 407 and
//! the ACK of that 407 is absorbed. It does not check digest credentials (the paper counts
//! authentication as a component of its own) and does not resolve `Via` addresses: like the
//! paper's SIPp set-up, the UAC and UAS sit at fixed addresses.

use crate::{Error, Result};
use std::collections::HashSet;
use std::fmt::Write as _;

/// Largest message accepted (a UDP datagram cannot be larger).
pub const MAX_MESSAGE: usize = 65_535;

fn err(what: impl Into<String>) -> Error {
    Error::Sip { what: what.into() }
}

/// The first line of a SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `METHOD request-uri SIP/2.0`
    Request {
        /// The method, e.g. `INVITE`.
        method: &'a str,
        /// The request URI.
        uri: &'a str,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code, 100..=699.
        code: u16,
        /// The reason phrase (may be empty).
        reason: &'a str,
    },
}

/// One header line as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name as written (case and compact form kept).
    pub name: &'a str,
    /// The value, trimmed; folded continuation lines are kept inside it.
    pub value: &'a str,
}

impl Header<'_> {
    /// The canonical lowercase long name (`v` -> `via`, `l` -> `content-length`, ...).
    pub fn canonical(&self) -> String {
        canonical_name(self.name)
    }

    /// Whether this header has the given canonical lowercase name.
    pub fn is(&self, canonical: &str) -> bool {
        canonical_name(self.name) == canonical
    }
}

/// Maps a header name to its canonical lowercase long form (RFC 3261 compact forms).
pub fn canonical_name(name: &str) -> String {
    let long = match name {
        "v" | "V" => "via",
        "l" | "L" => "content-length",
        "m" | "M" => "contact",
        "f" | "F" => "from",
        "t" | "T" => "to",
        "i" | "I" => "call-id",
        "c" | "C" => "content-type",
        "k" | "K" => "supported",
        "s" | "S" => "subject",
        "e" | "E" => "content-encoding",
        _ => return name.to_ascii_lowercase(),
    };
    long.to_string()
}

/// A parsed SIP message, borrowing from the bytes it was parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Request or status line.
    pub start: StartLine<'a>,
    /// The start line as written, without its CRLF.
    pub start_raw: &'a str,
    /// Every header, in order.
    pub headers: Vec<Header<'a>>,
    /// The body: exactly `Content-Length` bytes when that header is present, else the rest.
    pub body: &'a [u8],
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&c)
}

/// Splits a header value list on commas that are not inside a quoted string or `<...>`.
fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let mut parts = Vec::new();
    let (mut quoted, mut angle, mut start) = (false, false, 0);
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => {
                parts.push(value[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(value[start..].trim());
    parts.into_iter().filter(|p| !p.is_empty())
}

/// The `sent-by` (host[:port]) of one Via value, e.g. `127.0.0.1:5060` from
/// `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1`.
pub fn via_sent_by(via: &str) -> Result<&str> {
    let mut it = via.split_ascii_whitespace();
    let proto = it.next().ok_or_else(|| err("empty Via"))?;
    if !proto.to_ascii_uppercase().starts_with("SIP/2.0/") {
        return Err(err(format!(
            "Via '{via}' does not start with SIP/2.0/<transport>"
        )));
    }
    let rest = it
        .next()
        .ok_or_else(|| err(format!("Via '{via}' has no sent-by")))?;
    let sent_by = rest.split(';').next().unwrap_or(rest);
    if sent_by.is_empty() {
        return Err(err(format!("Via '{via}' has an empty sent-by")));
    }
    Ok(sent_by)
}

/// The `branch` parameter of one Via value, if any.
pub fn via_branch(via: &str) -> Option<&str> {
    via.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim().eq_ignore_ascii_case("branch").then(|| v.trim())
    })
}

/// Parses one SIP message. Never panics; every malformed input is an [`Error::Sip`].
pub fn parse(bytes: &[u8]) -> Result<Message<'_>> {
    if bytes.len() > MAX_MESSAGE {
        return Err(err(format!(
            "{} bytes, larger than {MAX_MESSAGE}",
            bytes.len()
        )));
    }
    let head_end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| err("no empty line (CRLF CRLF) ends the headers"))?;
    let head = std::str::from_utf8(&bytes[..head_end])
        .map_err(|e| err(format!("headers are not UTF-8 (byte {})", e.valid_up_to())))?;
    let rest = &bytes[head_end + 4..];

    let mut lines = head.split("\r\n");
    let start_raw = lines.next().unwrap_or("");
    let start = parse_start_line(start_raw)?;

    // Collect header lines, joining folded continuation lines onto the header they continue.
    let mut headers: Vec<Header<'_>> = Vec::new();
    let mut offset = start_raw.len() + 2;
    let mut current: Option<(usize, usize)> = None; // byte range of the current header in `head`
    for line in lines {
        let line_start = offset;
        offset += line.len() + 2;
        if line.starts_with([' ', '\t']) {
            match current.as_mut() {
                Some(range) => range.1 = line_start + line.len(),
                None => return Err(err("a continuation line comes before any header")),
            }
            continue;
        }
        if let Some((s, e)) = current.take() {
            headers.push(parse_header(&head[s..e])?);
        }
        current = Some((line_start, line_start + line.len()));
    }
    if let Some((s, e)) = current {
        headers.push(parse_header(&head[s..e])?);
    }

    let mut content_length = None;
    let mut max_forwards_seen = false;
    let mut vias = 0;
    for h in &headers {
        match h.canonical().as_str() {
            "content-length" => {
                if content_length.is_some() {
                    return Err(err("more than one Content-Length"));
                }
                let n: usize = h
                    .value
                    .parse()
                    .map_err(|_| err(format!("Content-Length '{}' is not a number", h.value)))?;
                content_length = Some(n);
            }
            "max-forwards" => {
                if max_forwards_seen {
                    return Err(err("more than one Max-Forwards"));
                }
                max_forwards_seen = true;
                h.value
                    .parse::<u8>()
                    .map_err(|_| err(format!("Max-Forwards '{}' is not 0..=255", h.value)))?;
            }
            "via" => {
                for v in split_list(h.value) {
                    via_sent_by(v)?;
                    vias += 1;
                }
            }
            _ => {}
        }
    }
    if vias == 0 {
        return Err(err("no Via header"));
    }
    let body = match content_length {
        Some(n) if n > rest.len() => {
            return Err(err(format!(
                "Content-Length {n} but only {} body bytes",
                rest.len()
            )))
        }
        // Over UDP, bytes past Content-Length are discarded (RFC 3261 18.3).
        Some(n) => &rest[..n],
        None => rest,
    };
    Ok(Message {
        start,
        start_raw,
        headers,
        body,
    })
}

fn parse_start_line(line: &str) -> Result<StartLine<'_>> {
    if line.is_empty() {
        return Err(err("empty start line"));
    }
    if let Some(status) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = status.split_once(' ').unwrap_or((status, ""));
        let code: u16 = code
            .parse()
            .ok()
            .filter(|c| (100..=699).contains(c))
            .ok_or_else(|| err(format!("status line '{line}' has no code 100..=699")))?;
        return Ok(StartLine::Response { code, reason });
    }
    let mut parts = line.split(' ');
    let (method, uri, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(u), Some(v), None) => (m, u, v),
        _ => {
            return Err(err(format!(
                "start line '{line}' is neither 'METHOD URI SIP/2.0' nor 'SIP/2.0 CODE REASON'"
            )))
        }
    };
    if method.is_empty() || !method.bytes().all(is_token_char) {
        return Err(err(format!("method '{method}' is not a token")));
    }
    if uri.is_empty() || !uri.contains(':') {
        return Err(err(format!("request URI '{uri}' has no scheme")));
    }
    if version != "SIP/2.0" {
        return Err(err(format!("version '{version}' is not SIP/2.0")));
    }
    Ok(StartLine::Request { method, uri })
}

fn parse_header(raw: &str) -> Result<Header<'_>> {
    let (name, value) = raw
        .split_once(':')
        .ok_or_else(|| err(format!("header line '{raw}' has no ':'")))?;
    let name = name.trim_end_matches([' ', '\t']);
    if name.is_empty() || !name.bytes().all(is_token_char) {
        return Err(err(format!("header name '{name}' is not a token")));
    }
    Ok(Header {
        name,
        value: value.trim(),
    })
}

impl<'a> Message<'a> {
    /// The method of a request, `None` for a response.
    pub fn method(&self) -> Option<&'a str> {
        match self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code of a response, `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The first header with this canonical lowercase name.
    pub fn header(&self, canonical: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|h| h.is(canonical))
            .map(|h| h.value)
    }

    /// Every Via value, top first (comma-separated lists split).
    pub fn vias(&self) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|h| h.is("via"))
            .flat_map(|h| split_list(h.value))
            .collect()
    }

    /// `Max-Forwards`, if present (already checked to be 0..=255 by [`parse`]).
    pub fn max_forwards(&self) -> Option<u8> {
        self.header("max-forwards").and_then(|v| v.parse().ok())
    }

    /// Every Record-Route value, top first.
    pub fn record_routes(&self) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|h| h.is("record-route"))
            .flat_map(|h| split_list(h.value))
            .collect()
    }

    /// Every Route value, top first.
    pub fn routes(&self) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|h| h.is("route"))
            .flat_map(|h| split_list(h.value))
            .collect()
    }
}

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
    /// Send these bytes to this leg.
    Send(Leg, Vec<u8>),
    /// Nothing to send (an ACK for a 407 the proxy sent itself).
    Absorb,
}

/// A minimal stateful SIP proxy's signalling logic (no I/O: the caller moves the bytes).
#[derive(Debug)]
pub struct Proxy {
    /// The proxy's own `host:port`, as written in its Via.
    sent_by: String,
    /// The URI it puts in Record-Route, and recognises in a Route as its own.
    route_uri: String,
    /// Challenge INVITEs without `Proxy-Authorization` with a 407.
    auth: bool,
    /// Branches of INVITEs answered with a 407, whose ACK the proxy absorbs.
    challenged: HashSet<String>,
}

impl Proxy {
    /// A proxy whose Via says `sent_by` (`host:port`) and whose Record-Route says
    /// `route_uri` (e.g. `sip:proxy.example:5061;transport=tls`); `auth` turns on SIP proxy
    /// authentication (407 challenges).
    pub fn new(sent_by: impl Into<String>, route_uri: impl Into<String>, auth: bool) -> Self {
        Proxy {
            sent_by: sent_by.into(),
            route_uri: route_uri.into(),
            auth,
            challenged: HashSet::new(),
        }
    }

    /// The proxy's `host:port`.
    pub fn sent_by(&self) -> &str {
        &self.sent_by
    }

    /// The URI the proxy record-routes with.
    pub fn route_uri(&self) -> &str {
        &self.route_uri
    }

    /// The Via line the proxy adds to a request whose top Via branch is `branch`: its branch
    /// is derived from the incoming one, so retransmissions map to the same transaction.
    pub fn via_for(&self, incoming_branch: &str) -> String {
        // FNV-1a: cheap and deterministic; the branch only has to be unique per transaction.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in incoming_branch.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
        format!("SIP/2.0/UDP {};branch=z9hG4bK-tc{h:016x}", self.sent_by)
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
        let top_branch = msg
            .vias()
            .first()
            .and_then(|v| via_branch(v))
            .unwrap_or("")
            .to_string();
        if method == "ACK" && self.challenged.remove(&top_branch) {
            return Ok(Action::Absorb);
        }
        if self.auth && method == "INVITE" && msg.header("proxy-authorization").is_none() {
            self.challenged.insert(top_branch);
            return self.challenge(msg).map(|b| Action::Send(Leg::Uac, b));
        }
        self.forward_request(msg, method, &top_branch)
            .map(|b| Action::Send(Leg::Uas, b))
    }

    /// The request as forwarded: our Via on top, Max-Forwards decremented, a Route naming
    /// us removed, and a Record-Route added to an INVITE.
    fn forward_request(&self, msg: &Message<'_>, method: &str, branch: &str) -> Result<Vec<u8>> {
        let mf = msg.max_forwards().unwrap_or(70);
        if mf == 0 {
            return Err(err(
                "Max-Forwards is 0: too many hops (a proxy answers 483)",
            ));
        }
        let routes = msg.routes();
        let pop_route = routes
            .first()
            .is_some_and(|r| r.contains(&self.route_uri) || r.contains(&self.sent_by));
        let mut out = String::with_capacity(msg.start_raw.len() + 512);
        out.push_str(msg.start_raw);
        out.push_str("\r\n");
        let _ = write!(out, "Via: {}\r\n", self.via_for(branch));
        let mut rr_done = method != "INVITE";
        let mut mf_done = false;
        let mut route_done = !pop_route;
        for h in &msg.headers {
            let name = h.canonical();
            if !rr_done && (name == "record-route" || name == "call-id" || name == "from") {
                let _ = write!(out, "Record-Route: <{};lr>\r\n", self.route_uri);
                rr_done = true;
            }
            match name.as_str() {
                "max-forwards" => {
                    let _ = write!(out, "{}: {}\r\n", h.name, mf - 1);
                    mf_done = true;
                    continue;
                }
                "route" if !route_done => {
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
        if !mf_done {
            let _ = write!(out, "Max-Forwards: {}\r\n", mf - 1);
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(msg.body);
        Ok(bytes)
    }

    /// The response as forwarded: our Via, which must be on top, removed.
    fn forward_response(&self, msg: &Message<'_>) -> Result<Vec<u8>> {
        let vias = msg.vias();
        let top = vias.first().copied().unwrap_or("");
        if via_sent_by(top)? != self.sent_by {
            return Err(err(format!(
                "response's top Via '{top}' is not this proxy's ({})",
                self.sent_by
            )));
        }
        if vias.len() < 2 {
            return Err(err(
                "response has no Via below the proxy's: nowhere to send it",
            ));
        }
        let mut out = String::with_capacity(msg.start_raw.len() + 512);
        out.push_str(msg.start_raw);
        out.push_str("\r\n");
        let mut removed = false;
        for h in &msg.headers {
            if !removed && h.is("via") {
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

    /// A 407 for an INVITE without credentials, built from the request as RFC 3261 8.2.6 says.
    fn challenge(&self, msg: &Message<'_>) -> Result<Vec<u8>> {
        let mut out = String::with_capacity(512);
        out.push_str("SIP/2.0 407 Proxy Authentication Required\r\n");
        for h in &msg.headers {
            match h.canonical().as_str() {
                "via" | "from" | "call-id" | "cseq" => {
                    let _ = write!(out, "{}: {}\r\n", h.name, h.value);
                }
                "to" if h.value.contains(";tag=") => {
                    let _ = write!(out, "{}: {}\r\n", h.name, h.value);
                }
                "to" => {
                    let _ = write!(out, "{}: {};tag=tc407\r\n", h.name, h.value);
                }
                _ => {}
            }
        }
        let _ = write!(
            out,
            "Proxy-Authenticate: Digest realm=\"tlscost.test\", nonce=\"tc{:x}\", algorithm=MD5, qop=\"auth\"\r\nContent-Length: 0\r\n\r\n",
            self.challenged.len()
        );
        Ok(out.into_bytes())
    }
}
