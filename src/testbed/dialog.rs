//! The SIP messages of one call as the load generators build them: the call flow's fixture
//! messages (`fixtures/sip`) as templates, with what must be new or true for each call
//! filled in, so a real proxy routes and accepts them (RFC 3261):
//!
//! - the UAC ([`UacCall`]) gives every call its own Call-ID and From tag and every
//!   transaction its own Via branch; its Via and Contact carry its real address and
//!   transport; the INVITE's request URI names the UAS, so a proxy forwards it there; ACK
//!   and BYE follow the dialog (request URI = the UAS's Contact, Route = the Record-Route
//!   set reversed, RFC 3261 12.2.1.1); the ACK of a non-2xx final response stays in the
//!   INVITE's transaction (17.1.1.3); a 407 is answered with a real digest (RFC 2617).
//! - the UAS ([`answer`]) builds its responses from the request (8.2.6.2: Via, From, To
//!   with its tag, Call-ID, CSeq copied; Record-Route copied into dialog-creating responses,
//!   12.1.1) and the template's own headers and body, so it needs no per-call state.
//!
//! Every other header and every body is the template's, so messages keep the sizes the
//! model prices. Received messages are checked against the flow: the method or status it
//! says, the transaction (branch, CSeq) and dialog (Call-ID), one Via per hop, the body
//! unchanged.

use crate::model::configs::Transport;
use crate::sip::{self, Message};
use crate::{Error, Result};
use std::fmt::Write as _;
use std::net::SocketAddr;

/// The Via transport token (`UDP`, `TCP`, `TLS`) of a transport.
pub fn via_transport(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
    }
}

/// A SIP URI for `user` at `addr` over `t` (`sip:bob@127.0.0.1:5070;transport=tls`; UDP,
/// the default transport, carries no parameter).
pub fn sip_uri(user: &str, addr: SocketAddr, t: Transport) -> String {
    match t {
        Transport::Udp => format!("sip:{user}@{addr}"),
        Transport::Tcp => format!("sip:{user}@{addr};transport=tcp"),
        Transport::Tls => format!("sip:{user}@{addr};transport=tls"),
    }
}

/// Headers the builders write themselves; a template's own values of these are replaced.
const REBUILT: &[&str] = &[
    "via",
    "route",
    "record-route",
    "from",
    "to",
    "call-id",
    "cseq",
    "contact",
    "proxy-authorization",
    "content-length",
];

/// Appends the template's headers that the builders do not write (`Max-Forwards`, `Allow`,
/// `User-Agent`, `Content-Type`...), as written.
fn copy_other_headers(out: &mut String, template: &Message<'_>) {
    for h in &template.headers {
        if !REBUILT.contains(&h.canonical().as_str()) {
            let _ = write!(out, "{}: {}\r\n", h.name, h.value);
        }
    }
}

/// Ends the headers with Content-Length and appends the body.
fn finish(mut out: String, body: &[u8]) -> Vec<u8> {
    let _ = write!(out, "Content-Length: {}\r\n\r\n", body.len());
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn sip_err(what: impl Into<String>) -> Error {
    Error::Sip { what: what.into() }
}

fn check_err(who: &str, what: String) -> Error {
    Error::SelfCheck {
        bench: format!("load generator {who}"),
        what,
    }
}

/// The `name=value` parameters of a header value after its first `;` (values unquoted).
fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"'))
    })
}

/// The URI inside `<...>` of a name-addr, or the whole value up to its parameters.
fn addr_spec(value: &str) -> &str {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value.split(';').next().unwrap_or(value).trim(),
    }
}

/// The CSeq number and method of a message.
fn cseq(msg: &Message<'_>) -> Result<(u32, String)> {
    let v = msg.header("cseq").ok_or_else(|| sip_err("no CSeq"))?;
    let mut it = v.split_ascii_whitespace();
    let n = it
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| sip_err(format!("CSeq '{v}' has no number")))?;
    let m = it
        .next()
        .ok_or_else(|| sip_err(format!("CSeq '{v}' has no method")))?;
    Ok((n, m.to_string()))
}

// --- SIP digest authentication (RFC 2617 with MD5, as SIP uses it: RFC 3261 22.4) ------------

/// The user a UAC authenticates as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name (`alice`).
    pub user: String,
    /// Password.
    pub password: String,
}

/// A digest challenge (`Proxy-Authenticate: Digest realm=..., nonce=..., qop="auth"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Protection realm.
    pub realm: String,
    /// Server nonce.
    pub nonce: String,
    /// Opaque value to echo, if any.
    pub opaque: Option<String>,
    /// Whether the server offers `qop=auth`.
    pub qop_auth: bool,
}

impl Challenge {
    /// Parses a `Digest` challenge; only MD5 (the default) is accepted.
    pub fn parse(value: &str) -> Result<Challenge> {
        let rest = value
            .trim()
            .strip_prefix("Digest")
            .ok_or_else(|| sip_err(format!("challenge '{value}' is not Digest")))?;
        let (mut realm, mut nonce, mut opaque, mut qop, mut algorithm) =
            (None, None, None, None, None);
        for (k, v) in digest_params(rest) {
            match k.to_ascii_lowercase().as_str() {
                "realm" => realm = Some(v),
                "nonce" => nonce = Some(v),
                "opaque" => opaque = Some(v),
                "qop" => qop = Some(v),
                "algorithm" => algorithm = Some(v),
                _ => {}
            }
        }
        if let Some(a) = &algorithm {
            if !a.eq_ignore_ascii_case("MD5") {
                return Err(sip_err(format!(
                    "digest algorithm {a}: only MD5 is implemented"
                )));
            }
        }
        Ok(Challenge {
            realm: realm.ok_or_else(|| sip_err(format!("challenge '{value}' has no realm")))?,
            nonce: nonce.ok_or_else(|| sip_err(format!("challenge '{value}' has no nonce")))?,
            opaque,
            qop_auth: qop.is_some_and(|q| q.split(',').any(|q| q.trim() == "auth")),
        })
    }

    /// The `Proxy-Authorization` value answering this challenge for `method` on `uri`
    /// (with `qop=auth`, nonce count 1 and client nonce `cnonce` when the server offers it).
    pub fn answer(&self, who: &Credentials, method: &str, uri: &str, cnonce: &str) -> String {
        let md5 = |s: String| -> String {
            let d = openssl::hash::hash(openssl::hash::MessageDigest::md5(), s.as_bytes())
                .expect("MD5 is available in OpenSSL");
            d.iter().map(|b| format!("{b:02x}")).collect()
        };
        let ha1 = md5(format!("{}:{}:{}", who.user, self.realm, who.password));
        let ha2 = md5(format!("{method}:{uri}"));
        let nc = "00000001";
        let response = if self.qop_auth {
            md5(format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce))
        } else {
            md5(format!("{ha1}:{}:{ha2}", self.nonce))
        };
        let mut v = format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5",
            who.user, self.realm, self.nonce
        );
        if self.qop_auth {
            let _ = write!(v, ", cnonce=\"{cnonce}\", nc={nc}, qop=auth");
        }
        if let Some(o) = &self.opaque {
            let _ = write!(v, ", opaque=\"{o}\"");
        }
        v
    }
}

/// Splits `k=v, k="v, w"` digest parameters (commas inside quotes kept).
fn digest_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    let b = s.as_bytes();
    let mut push = |part: &str| {
        if let Some((k, v)) = part.split_once('=') {
            out.push((k.trim().to_string(), v.trim().trim_matches('"').to_string()));
        }
    };
    for i in 0..b.len() {
        match b[i] {
            b'"' => quoted = !quoted,
            b',' if !quoted => {
                push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    push(&s[start..]);
    out
}

// --- The UAC's side of one call ---------------------------------------------------------------

/// Where a UAC's calls go and who it is.
#[derive(Debug, Clone)]
pub struct UacIdentity {
    /// Transport of its messages.
    pub transport: Transport,
    /// The INVITE's request URIs: the callee at the UAS (`sip:bob@127.0.0.1:5070;transport=tls`),
    /// one per UAS address; call `i` goes to the `i % len`-th.
    pub targets: Vec<String>,
    /// Unique per run, so that no two runs share a Call-ID (a proxy keeps transactions
    /// and connections for a while).
    pub run_id: String,
    /// The credentials it answers a 407 with.
    pub credentials: Option<Credentials>,
}

/// One call from the UAC's side: the identifiers it chose and what it learnt from the
/// responses (the dialog's remote tag, route set and remote target, a challenge).
#[derive(Debug, Clone)]
pub struct UacCall {
    call_id: String,
    from_tag: String,
    local: SocketAddr,
    transport: Transport,
    target: String,
    credentials: Option<Credentials>,
    transactions: u32,
    /// The last request sent: its method, branch, CSeq number.
    last: Option<(String, String, u32)>,
    /// The INVITE's branch, CSeq number and request URI (for the ACK of a non-2xx).
    invite: Option<(String, u32)>,
    /// The last final response to the INVITE: status and To value.
    invite_final: Option<(u16, String)>,
    route_set: Vec<String>,
    remote_target: Option<String>,
    challenge: Option<Challenge>,
}

impl UacCall {
    /// A new call, number `index` of lane `lane`, sent from `local` (the address the UAC's
    /// socket or connection has, written in its Via and Contact).
    pub fn new(who: &UacIdentity, lane: usize, index: u64, local: SocketAddr) -> UacCall {
        UacCall {
            call_id: format!("{}-{lane}-{index}@tlscost.test", who.run_id),
            from_tag: format!("{:x}", fnv(&format!("{}/{lane}/{index}", who.run_id))),
            local,
            transport: who.transport,
            target: who.targets[index as usize % who.targets.len().max(1)].clone(),
            credentials: who.credentials.clone(),
            transactions: 0,
            last: None,
            invite: None,
            invite_final: None,
            route_set: Vec::new(),
            remote_target: None,
            challenge: None,
        }
    }

    /// The call's Call-ID.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    fn branch(&mut self) -> String {
        self.transactions += 1;
        format!(
            "z9hG4bK-{:x}-{}",
            fnv(&self.call_id) & 0xffff_ffff,
            self.transactions
        )
    }

    /// Builds the request of a flow step from its template (`INVITE`, `ACK`, `BYE`...).
    pub fn request(&mut self, template: &[u8]) -> Result<Vec<u8>> {
        let t = sip::parse(template)?;
        let method = t
            .method()
            .ok_or_else(|| sip_err("a UAC template is a response"))?;
        let (n, _) = cseq(&t)?;
        let t_to = t.header("to").unwrap_or("<sip:bob@tlscost.test>");
        let t_from = t.header("from").unwrap_or("<sip:alice@tlscost.test>");
        let from = format!(
            "{};tag={}",
            t_from.split(";tag=").next().unwrap_or(t_from),
            self.from_tag
        );
        let bare_to = t_to.split(";tag=").next().unwrap_or(t_to).to_string();
        let (ruri, branch, cseq_n, to, routes) = match method {
            "INVITE" => {
                let b = self.branch();
                self.invite = Some((b.clone(), n));
                self.invite_final = None;
                (self.target.clone(), b, n, bare_to, Vec::new())
            }
            "ACK" => match (self.invite.clone(), self.invite_final.clone()) {
                // The ACK of a non-2xx final response: the INVITE's transaction (17.1.1.3).
                (Some((b, n)), Some((status, to))) if status >= 300 => {
                    (self.target.clone(), b, n, to, Vec::new())
                }
                (Some((_, n)), Some((_, to))) => {
                    let (ruri, routes) = self.in_dialog()?;
                    (ruri, self.branch(), n, to, routes)
                }
                _ => return Err(sip_err("ACK before a final response to an INVITE")),
            },
            _ => {
                let to = match &self.invite_final {
                    Some((_, to)) => to.clone(),
                    None => bare_to,
                };
                let (ruri, routes) = self.in_dialog()?;
                (ruri, self.branch(), n, to, routes)
            }
        };
        let mut out = String::with_capacity(template.len() + 128);
        let _ = write!(out, "{method} {ruri} SIP/2.0\r\n");
        let _ = write!(
            out,
            "Via: SIP/2.0/{} {};branch={branch};rport\r\n",
            via_transport(self.transport),
            self.local
        );
        for r in &routes {
            let _ = write!(out, "Route: {r}\r\n");
        }
        let _ = write!(
            out,
            "From: {from}\r\nTo: {to}\r\nCall-ID: {}\r\nCSeq: {cseq_n} {method}\r\n",
            self.call_id
        );
        if method != "ACK" || t.header("contact").is_some() {
            let contact = t
                .header("contact")
                .map(|c| c.split_once('>').map(|(_, rest)| rest).unwrap_or(""))
                .unwrap_or("");
            let _ = write!(
                out,
                "Contact: <{}>{contact}\r\n",
                sip_uri("alice", self.local, self.transport)
            );
        }
        if t.header("proxy-authorization").is_some() {
            let (ch, who) = match (&self.challenge, &self.credentials) {
                (Some(c), Some(w)) => (c, w),
                (None, _) => {
                    return Err(sip_err(
                        "the flow sends credentials, but no 407 challenge came before",
                    ))
                }
                (_, None) => {
                    return Err(Error::Usage(
                        "the flow authenticates, but no credentials were given".into(),
                    ))
                }
            };
            let cnonce = format!("{:x}", fnv(&branch));
            let _ = write!(
                out,
                "Proxy-Authorization: {}\r\n",
                ch.answer(who, method, &ruri, &cnonce)
            );
        }
        copy_other_headers(&mut out, &t);
        self.last = Some((method.to_string(), branch, cseq_n));
        Ok(finish(out, t.body))
    }

    fn in_dialog(&self) -> Result<(String, Vec<String>)> {
        let target = self
            .remote_target
            .clone()
            .ok_or_else(|| sip_err("an in-dialog request before the dialog's 2xx"))?;
        Ok((target, self.route_set.clone()))
    }

    /// Checks a received response against the flow's expected one (`expected` template) and
    /// learns from it. `Ok(false)`: a response of an earlier call or transaction (a UDP
    /// retransmission), to be skipped.
    pub fn response(&mut self, got: &[u8], expected: &[u8], who: &str) -> Result<bool> {
        let r =
            sip::parse(got).map_err(|e| sip_err(format!("{who}: a response as received: {e}")))?;
        let want = sip::parse(expected)?;
        let fail = |what: String| check_err(who, what);
        let Some(code) = r.status() else {
            return Err(fail(format!(
                "expected a response, received a {} request",
                r.method().unwrap_or("?")
            )));
        };
        if r.header("call-id") != Some(self.call_id.as_str()) {
            return Ok(false);
        }
        let (method, branch, n) = self
            .last
            .clone()
            .ok_or_else(|| fail("a response before any request".into()))?;
        let vias = r.vias();
        let top_branch = vias.first().and_then(|v| sip::via_branch(v)).unwrap_or("");
        let (rn, rm) = cseq(&r)?;
        if top_branch != branch || rn != n || rm != method {
            // A late retransmission of an earlier transaction of this call.
            return Ok(false);
        }
        if vias.len() != 1 {
            return Err(fail(format!(
                "a forwarded response must carry the UAC's Via only: {} Vias",
                vias.len()
            )));
        }
        let expected_code = want.status().unwrap_or(0);
        if code != expected_code {
            return Err(fail(format!(
                "expected {expected_code} to {method}, received {}",
                r.start_raw
            )));
        }
        if r.body != want.body {
            return Err(fail(format!(
                "the body of {} changed on the way",
                r.start_raw
            )));
        }
        if method == "INVITE" && code >= 200 {
            let to = r
                .header("to")
                .ok_or_else(|| fail(format!("{} has no To", r.start_raw)))?;
            self.invite_final = Some((code, to.to_string()));
            if code < 300 {
                self.route_set = r
                    .record_routes()
                    .iter()
                    .rev()
                    .map(|s| s.to_string())
                    .collect();
                self.remote_target = Some(
                    addr_spec(r.header("contact").ok_or_else(|| {
                        fail(format!("{} to INVITE has no Contact", r.start_raw))
                    })?)
                    .to_string(),
                );
            }
            if code == 407 || code == 401 {
                let h = r
                    .header("proxy-authenticate")
                    .or_else(|| r.header("www-authenticate"))
                    .ok_or_else(|| fail(format!("{} has no challenge", r.start_raw)))?;
                self.challenge = Some(Challenge::parse(h)?);
            }
        }
        Ok(true)
    }
}

// --- The UAS: stateless answers ---------------------------------------------------------------

/// What the UAS checks a request against and answers it with: the flow's template of the
/// request and the templates of the responses that follow it.
#[derive(Debug, Clone)]
pub struct Answers<'a> {
    /// The template of the request as the UAC sent it.
    pub request: &'a [u8],
    /// The responses to send, in order.
    pub responses: Vec<&'a [u8]>,
}

/// Who the UAS is: its address and transport (its Contact), and the run it answers.
#[derive(Debug, Clone)]
pub struct UasIdentity {
    /// Its address, as it listens.
    pub addr: SocketAddr,
    /// Transport.
    pub transport: Transport,
    /// The run whose calls it answers (a Call-ID of another run is an error).
    pub run_id: String,
}

/// Checks a request the UAS received against its template: the method, at least one Via
/// more than the UAC sent (the proxy's), Max-Forwards decremented, the body unchanged, the
/// Call-ID of this run.
pub fn check_request(req: &Message<'_>, template: &[u8], who: &UasIdentity) -> Result<()> {
    let t = sip::parse(template)?;
    let fail = |what: String| check_err("UAS", what);
    if req.method() != t.method() {
        return Err(fail(format!(
            "expected {:?}, received {}",
            t.method(),
            req.start_raw
        )));
    }
    let call_id = req.header("call-id").unwrap_or("");
    if !call_id.starts_with(&format!("{}-", who.run_id)) {
        return Err(fail(format!(
            "{}: Call-ID '{call_id}' is not of this run",
            req.start_raw
        )));
    }
    if req.vias().len() < 2 {
        return Err(fail(format!(
            "{}: a forwarded request must carry the proxy's Via: {} Via(s)",
            req.start_raw,
            req.vias().len()
        )));
    }
    // A request without Max-Forwards leaves the proxy with 70 (RFC 3261 16.6 step 3).
    let sent_mf = t
        .max_forwards()
        .unwrap_or(sip::proxy::DEFAULT_MAX_FORWARDS + 1);
    if req.max_forwards().is_none_or(|m| m >= sent_mf) {
        return Err(fail(format!(
            "{}: Max-Forwards {:?} not decremented from {sent_mf}",
            req.start_raw,
            req.max_forwards()
        )));
    }
    if req.body != t.body {
        return Err(fail(format!(
            "{}: the body changed on the way",
            req.start_raw
        )));
    }
    Ok(())
}

/// The UAS's response to `req` built from `template` (RFC 3261 8.2.6.2, 12.1.1).
pub fn answer(req: &Message<'_>, template: &[u8], who: &UasIdentity) -> Result<Vec<u8>> {
    let t = sip::parse(template)?;
    let code = t
        .status()
        .ok_or_else(|| sip_err("a UAS template is a request"))?;
    let invite = req.method() == Some("INVITE");
    let mut out = String::with_capacity(template.len() + 256);
    out.push_str(t.start_raw);
    out.push_str("\r\n");
    for h in &req.headers {
        if h.is("via") {
            let _ = write!(out, "{}: {}\r\n", h.name, h.value);
        }
    }
    if invite && (101..300).contains(&code) {
        for h in &req.headers {
            if h.is("record-route") {
                let _ = write!(out, "{}: {}\r\n", h.name, h.value);
            }
        }
    }
    let req_h = |n: &str| {
        req.header(n)
            .ok_or_else(|| sip_err(format!("{}: no {n}", req.start_raw)))
    };
    let call_id = req_h("call-id")?;
    let to = req_h("to")?;
    let to = if code > 100 && param(to, "tag").is_none() {
        format!("{to};tag={:x}", fnv(call_id))
    } else {
        to.to_string()
    };
    let _ = write!(
        out,
        "From: {}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {}\r\n",
        req_h("from")?,
        req_h("cseq")?
    );
    if invite && (101..300).contains(&code) {
        let _ = write!(
            out,
            "Contact: <{}>\r\n",
            sip_uri("bob", who.addr, who.transport)
        );
    }
    copy_other_headers(&mut out, &t);
    Ok(finish(out, t.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_response_is_rfc_2617s_example() {
        // RFC 2617 3.5: Mufasa / "Circle Of Life", GET /dir/index.html.
        let ch = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .unwrap();
        assert!(ch.qop_auth);
        let who = Credentials {
            user: "Mufasa".into(),
            password: "Circle Of Life".into(),
        };
        // The RFC's nc is 00000001 and its cnonce 0a4f113b.
        let v = ch.answer(&who, "GET", "/dir/index.html", "0a4f113b");
        assert!(
            v.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{v}"
        );
        assert!(v.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn challenges_other_than_md5_digest_are_refused() {
        assert!(Challenge::parse("Basic realm=\"x\"").is_err());
        assert!(Challenge::parse("Digest realm=\"x\", nonce=\"y\", algorithm=SHA-256").is_err());
        assert!(Challenge::parse("Digest nonce=\"y\"").is_err());
    }

    #[test]
    fn uris_and_name_addrs() {
        let a: SocketAddr = "127.0.0.1:5070".parse().unwrap();
        assert_eq!(sip_uri("bob", a, Transport::Udp), "sip:bob@127.0.0.1:5070");
        assert_eq!(
            sip_uri("bob", a, Transport::Tls),
            "sip:bob@127.0.0.1:5070;transport=tls"
        );
        assert_eq!(
            addr_spec("<sip:bob@127.0.0.1:5070;transport=tls>;expires=3"),
            "sip:bob@127.0.0.1:5070;transport=tls"
        );
        assert_eq!(param("<sip:b@x>;tag=abc", "tag"), Some("abc"));
    }
}
