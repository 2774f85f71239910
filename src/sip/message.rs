//! A SIP message by the grammar of RFC 3261 section 7 and 25: the start line, the header
//! fields (names case-insensitive, compact forms, folded values), the body.
//!
//! The parser borrows from its input (no copy of the message) and never panics on outside
//! bytes: everything malformed is an [`Error::Sip`] naming the field and the rule.

use super::grammar::{digits, is_token, is_wsp, split_list, sws_len, trim_lws};
use super::uri::check_request_uri;
use super::via::{parse_via, Via};
use super::{err, MAX_MESSAGE};
use crate::Result;

/// The first line of a SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `Method SP Request-URI SP SIP-Version`
    Request {
        /// The method, e.g. `INVITE` (case-sensitive, RFC 3261 7.1).
        method: &'a str,
        /// The request URI.
        uri: &'a str,
    },
    /// `SIP-Version SP Status-Code SP Reason-Phrase`
    Response {
        /// The status code, 100..=699.
        code: u16,
        /// The reason phrase (may be empty).
        reason: &'a str,
    },
}

/// A header field name the proxy knows: every name of the IANA SIP header-field registry
/// that has a compact form, and the ones the proxy reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name {
    /// `Accept-Contact` (`a`, RFC 3841).
    AcceptContact,
    /// `Allow-Events` (`u`, RFC 6665).
    AllowEvents,
    /// `Call-ID` (`i`).
    CallId,
    /// `Contact` (`m`).
    Contact,
    /// `Content-Encoding` (`e`).
    ContentEncoding,
    /// `Content-Length` (`l`).
    ContentLength,
    /// `Content-Type` (`c`).
    ContentType,
    /// `CSeq`.
    CSeq,
    /// `Event` (`o`, RFC 6665).
    Event,
    /// `From` (`f`).
    From,
    /// `Identity` (`y`, RFC 8224).
    Identity,
    /// `Identity-Info` (`n`, RFC 4474, obsoleted by RFC 8224 but still in the registry).
    IdentityInfo,
    /// `Max-Forwards`.
    MaxForwards,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `Record-Route`.
    RecordRoute,
    /// `Refer-To` (`r`, RFC 3515).
    ReferTo,
    /// `Referred-By` (`b`, RFC 3892).
    ReferredBy,
    /// `Reject-Contact` (`j`, RFC 3841).
    RejectContact,
    /// `Request-Disposition` (`d`, RFC 3841).
    RequestDisposition,
    /// `Route`.
    Route,
    /// `Session-Expires` (`x`, RFC 4028).
    SessionExpires,
    /// `Subject` (`s`).
    Subject,
    /// `Supported` (`k`).
    Supported,
    /// `To` (`t`).
    To,
    /// `Via` (`v`).
    Via,
    /// Any other name.
    Other,
}

/// Every known name: its canonical lowercase long form and its compact form. The compact
/// forms are all those of the IANA "Header Fields" registry of the SIP parameters
/// (<https://www.iana.org/assignments/sip-parameters>): a b c d e f i j k l m n o r s t u v x y.
const NAMES: [(Name, &str, Option<u8>); 26] = [
    (Name::AcceptContact, "accept-contact", Some(b'a')),
    (Name::AllowEvents, "allow-events", Some(b'u')),
    (Name::CallId, "call-id", Some(b'i')),
    (Name::Contact, "contact", Some(b'm')),
    (Name::ContentEncoding, "content-encoding", Some(b'e')),
    (Name::ContentLength, "content-length", Some(b'l')),
    (Name::ContentType, "content-type", Some(b'c')),
    (Name::CSeq, "cseq", None),
    (Name::Event, "event", Some(b'o')),
    (Name::From, "from", Some(b'f')),
    (Name::Identity, "identity", Some(b'y')),
    (Name::IdentityInfo, "identity-info", Some(b'n')),
    (Name::MaxForwards, "max-forwards", None),
    (Name::ProxyAuthorization, "proxy-authorization", None),
    (Name::ProxyRequire, "proxy-require", None),
    (Name::RecordRoute, "record-route", None),
    (Name::ReferTo, "refer-to", Some(b'r')),
    (Name::ReferredBy, "referred-by", Some(b'b')),
    (Name::RejectContact, "reject-contact", Some(b'j')),
    (Name::RequestDisposition, "request-disposition", Some(b'd')),
    (Name::Route, "route", None),
    (Name::SessionExpires, "session-expires", Some(b'x')),
    (Name::Subject, "subject", Some(b's')),
    (Name::Supported, "supported", Some(b'k')),
    (Name::To, "to", Some(b't')),
    (Name::Via, "via", Some(b'v')),
];

impl Name {
    /// The name a header field name stands for (case-insensitive; compact forms mapped).
    pub fn of(name: &str) -> Name {
        let b = name.as_bytes();
        if b.len() == 1 {
            let c = b[0].to_ascii_lowercase();
            return NAMES
                .iter()
                .find(|(_, _, compact)| *compact == Some(c))
                .map_or(Name::Other, |(n, _, _)| *n);
        }
        NAMES
            .iter()
            .find(|(_, long, _)| long.len() == b.len() && long.eq_ignore_ascii_case(name))
            .map_or(Name::Other, |(n, _, _)| *n)
    }

    /// The canonical lowercase long name (`None` for [`Name::Other`]).
    pub fn long(self) -> Option<&'static str> {
        NAMES
            .iter()
            .find(|(n, _, _)| *n == self)
            .map(|(_, l, _)| *l)
    }

    /// The compact form, if the registry gives one.
    pub fn compact(self) -> Option<char> {
        NAMES
            .iter()
            .find(|(n, _, _)| *n == self)
            .and_then(|(_, _, c)| c.map(char::from))
    }

    /// Every known name with its compact form (for documentation and tests).
    pub fn all() -> impl Iterator<Item = (Name, &'static str, Option<char>)> {
        NAMES.iter().map(|(n, l, c)| (*n, *l, c.map(char::from)))
    }
}

/// Maps a header name to its canonical lowercase long form (`v` -> `via`,
/// `L` -> `content-length`, `X-Foo` -> `x-foo`).
pub fn canonical_name(name: &str) -> String {
    match Name::of(name).long() {
        Some(long) => long.to_string(),
        None => name.to_ascii_lowercase(),
    }
}

/// One header field as it appears in the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    /// The name as written (case and compact form kept).
    pub name: &'a str,
    /// The value without leading and trailing LWS; folds inside it are kept as written.
    pub value: &'a str,
    /// What the name stands for.
    pub kind: Name,
}

impl Header<'_> {
    /// The canonical lowercase long name.
    pub fn canonical(&self) -> String {
        canonical_name(self.name)
    }

    /// Whether this header has the given canonical lowercase long name (compact forms and
    /// case do not matter; no allocation).
    pub fn is(&self, canonical: &str) -> bool {
        match self.kind.long() {
            Some(long) => long == canonical,
            None => self.name.eq_ignore_ascii_case(canonical),
        }
    }
}

/// The CSeq of a message: `1*DIGIT LWS Method` (RFC 3261 20.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CSeq<'a> {
    /// The sequence number (less than 2**31, RFC 3261 8.1.1.5).
    pub number: u32,
    /// The method.
    pub method: &'a str,
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
    /// The `Content-Length` value, when present.
    pub content_length: Option<usize>,
    /// The `Max-Forwards` value (0..=255), when present.
    pub max_forwards: Option<u8>,
    /// The CSeq.
    pub cseq: CSeq<'a>,
}

/// Where the header block of a message ends and how long its body is: what a stream
/// framer needs, computed by the same rules as [`parse`] (folds, compact forms, digits
/// only, at most one Content-Length).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// Bytes up to and including the empty line (CRLF CRLF).
    pub len: usize,
    /// The Content-Length value, `None` when the header is absent.
    pub content_length: Option<usize>,
}

/// Where the header block ends (the index of its closing CRLF CRLF), `None` when no empty
/// line is there yet.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    memchr::memmem::find(bytes, b"\r\n\r\n")
}

/// The header block's extent and Content-Length, for framing a stream (RFC 3261 18.3):
/// `Ok(None)` while the empty line has not arrived.
pub fn scan_head(bytes: &[u8]) -> Result<Option<Head>> {
    let Some(end) = head_end(bytes) else {
        return Ok(None);
    };
    let (_, block) = head_text(&bytes[..end])?;
    let mut content_length = None;
    for h in header_fields(block) {
        let h = h?;
        if h.kind == Name::ContentLength {
            content_length = Some(parse_content_length(h.value, content_length)?);
        }
    }
    Ok(Some(Head {
        len: end + 4,
        content_length,
    }))
}

/// The header block as text (UTF-8), split into the start line and the header fields;
/// a CR or LF inside the start line is refused (every line ends in CRLF, RFC 3261 7).
fn head_text(head: &[u8]) -> Result<(&str, &str)> {
    let text = std::str::from_utf8(head)
        .map_err(|e| err(format!("headers are not UTF-8 (byte {})", e.valid_up_to())))?;
    let (start, block) = text.split_once("\r\n").unwrap_or((text, ""));
    if let Some(i) = start.bytes().position(|c| c == b'\r' || c == b'\n') {
        return Err(bare(start.as_bytes()[i], i));
    }
    Ok((start, block))
}

fn bare(c: u8, at: usize) -> crate::Error {
    err(format!(
        "a bare {} at byte {at} of a line: SIP lines end in CRLF",
        if c == b'\r' { "CR" } else { "LF" }
    ))
}

fn parse_content_length(value: &str, seen: Option<usize>) -> Result<usize> {
    if seen.is_some() {
        return Err(err(
            "more than one Content-Length (a message has exactly one length)",
        ));
    }
    Ok(digits(value, "Content-Length", MAX_MESSAGE as u64).map_err(err)? as usize)
}

/// The header fields of a header block (the text after the start line), each folded
/// value joined to its name: `field-name HCOLON field-value`, HCOLON = *( SP / HTAB ) ":" SWS.
fn header_fields(block: &str) -> impl Iterator<Item = Result<Header<'_>>> {
    let mut rest = block;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        // The field ends at the first CRLF not followed by SP or HTAB (a fold continues
        // it); a CR or LF alone is malformed. One pass over the bytes.
        let b = rest.as_bytes();
        let mut i = 0;
        let end = loop {
            let Some(p) = memchr::memchr2(b'\r', b'\n', &b[i..]) else {
                break b.len();
            };
            let at = i + p;
            if b[at] == b'\n' || b.get(at + 1) != Some(&b'\n') {
                rest = "";
                return Some(Err(bare(b[at], at)));
            }
            if b.get(at + 2).is_some_and(|&c| is_wsp(c)) {
                i = at + 2;
                continue;
            }
            break at;
        };
        let line = &rest[..end];
        rest = rest.get(end + 2..).unwrap_or("");
        Some(parse_header(line))
    })
}

fn parse_header(line: &str) -> Result<Header<'_>> {
    if line.starts_with([' ', '\t']) {
        return Err(err("a continuation line comes before any header"));
    }
    let (name, value) = line
        .split_once(':')
        .ok_or_else(|| err(format!("header line '{line}' has no ':'")))?;
    let name = name.trim_end_matches([' ', '\t']);
    if !is_token(name) {
        return Err(err(format!("header name '{name}' is not a token")));
    }
    Ok(Header {
        name,
        value: trim_lws(value),
        kind: Name::of(name),
    })
}

/// `SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT`, case-insensitive (RFC 3261 7.1, and ABNF
/// string literals are case-insensitive, RFC 2234 2.3); only 2.0 is spoken here.
fn check_version(v: &str) -> std::result::Result<(), String> {
    let ok = v.len() == 7 && v[..4].eq_ignore_ascii_case("SIP/") && &v[4..] == "2.0";
    if ok {
        Ok(())
    } else {
        Err(format!("version '{v}' is not SIP/2.0"))
    }
}

fn parse_start_line(line: &str) -> Result<StartLine<'_>> {
    if line.is_empty() {
        return Err(err("empty start line"));
    }
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case("SIP/") {
        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (the reason may be empty;
        // a missing SP before an empty reason is tolerated).
        let (version, rest) = line.split_once(' ').unwrap_or((line, ""));
        check_version(version).map_err(err)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code_ok = code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit());
        let code: u16 = if code_ok {
            code.parse().unwrap_or(0)
        } else {
            0
        };
        if !(100..=699).contains(&code) {
            return Err(err(format!(
                "status line '{line}': the status code must be 3 digits, 100..=699"
            )));
        }
        return Ok(StartLine::Response { code, reason });
    }
    let mut parts = line.split(' ');
    let (method, uri, version) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(u), Some(v), None) => (m, u, v),
        _ => {
            return Err(err(format!(
                "start line '{line}' is neither 'Method SP Request-URI SP SIP/2.0' nor 'SIP/2.0 SP code SP reason'"
            )))
        }
    };
    let in_line = |e: String| err(format!("start line '{line}': {e}"));
    if !is_token(method) {
        return Err(in_line(format!("method '{method}' is not a token")));
    }
    check_request_uri(uri).map_err(in_line)?;
    check_version(version).map_err(in_line)?;
    Ok(StartLine::Request { method, uri })
}

fn parse_cseq(value: &str) -> Result<CSeq<'_>> {
    let end = value.find([' ', '\t', '\r']).unwrap_or(value.len());
    let (number, rest) = value.split_at(end);
    let number = digits(number, "CSeq number", (1 << 31) - 1).map_err(err)? as u32;
    if sws_len(rest.as_bytes()) == 0 {
        return Err(err(format!("CSeq '{value}' is not 'number LWS method'")));
    }
    let method = trim_lws(rest);
    if !is_token(method) {
        return Err(err(format!(
            "CSeq '{value}': method '{method}' is not a token"
        )));
    }
    Ok(CSeq { number, method })
}

/// Parses one SIP message. Never panics; every malformed input is an [`Error::Sip`] that
/// names the field and the rule. Checked: the start line (version case-insensitive, status
/// 100..=699, Request-URI), every header line (token names, folds), the Via list (each
/// value by the RFC 3261 grammar), the digit-only numbers (Content-Length, Max-Forwards
/// 0..=255, CSeq number below 2**31), at most one Content-Length and one Max-Forwards, the
/// presence of Via, From, To, Call-ID and CSeq (RFC 3261 8.1.1), and a request's CSeq
/// method equal to its method.
///
/// [`Error::Sip`]: crate::Error::Sip
pub fn parse(bytes: &[u8]) -> Result<Message<'_>> {
    if bytes.len() > MAX_MESSAGE {
        return Err(err(format!(
            "{} bytes, larger than {MAX_MESSAGE}",
            bytes.len()
        )));
    }
    let end = head_end(bytes).ok_or_else(|| err("no empty line (CRLF CRLF) ends the headers"))?;
    let (start_raw, block) = head_text(&bytes[..end])?;
    let rest = &bytes[end + 4..];
    let start = parse_start_line(start_raw)?;

    let mut headers = Vec::with_capacity(16);
    let (mut content_length, mut max_forwards, mut cseq) = (None, None, None);
    let (mut vias, mut from, mut to, mut call_id) = (0usize, false, false, false);
    for h in header_fields(block) {
        let h = h?;
        match h.kind {
            Name::ContentLength => {
                content_length = Some(parse_content_length(h.value, content_length)?)
            }
            Name::MaxForwards => {
                if max_forwards.is_some() {
                    return Err(err("more than one Max-Forwards"));
                }
                max_forwards = Some(digits(h.value, "Max-Forwards", 255).map_err(err)? as u8);
            }
            Name::Via => {
                for v in split_list(h.value) {
                    parse_via(v).map_err(err)?;
                    vias += 1;
                }
            }
            Name::CSeq => {
                if cseq.is_some() {
                    return Err(err("more than one CSeq"));
                }
                cseq = Some(parse_cseq(h.value)?);
            }
            Name::From => from = true,
            Name::To => to = true,
            Name::CallId => call_id = !h.value.is_empty(),
            _ => {}
        }
        headers.push(h);
    }
    let missing = [
        (vias > 0, "Via"),
        (from, "From"),
        (to, "To"),
        (call_id, "Call-ID"),
        (cseq.is_some(), "CSeq"),
    ];
    if let Some((_, name)) = missing.iter().find(|(present, _)| !present) {
        return Err(err(format!(
            "no {name} header (RFC 3261 8.1.1: every message carries Via, From, To, Call-ID, CSeq)"
        )));
    }
    let cseq = cseq.unwrap_or(CSeq {
        number: 0,
        method: "",
    });
    if let StartLine::Request { method, .. } = start {
        if cseq.method != method {
            return Err(err(format!(
                "CSeq method '{}' is not the request's method '{method}'",
                cseq.method
            )));
        }
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
        content_length,
        max_forwards,
        cseq,
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

    /// The Request-URI of a request.
    pub fn request_uri(&self) -> Option<&'a str> {
        match self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The first header with this canonical lowercase long name.
    pub fn header(&self, canonical: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|h| h.is(canonical))
            .map(|h| h.value)
    }

    /// The first header of this kind.
    pub fn first(&self, kind: Name) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|h| h.kind == kind)
            .map(|h| h.value)
    }

    /// Every value of every header of this kind, top first (comma-separated lists split).
    pub fn values(&self, kind: Name) -> Vec<&'a str> {
        self.headers
            .iter()
            .filter(|h| h.kind == kind)
            .flat_map(|h| split_list(h.value))
            .collect()
    }

    /// Every Via value, top first.
    pub fn vias(&self) -> Vec<&'a str> {
        self.values(Name::Via)
    }

    /// The top Via, parsed (already checked by [`parse`]).
    pub fn top_via(&self) -> Option<Via<'a>> {
        let first = self.first(Name::Via)?;
        split_list(first).next().and_then(|v| parse_via(v).ok())
    }

    /// `Max-Forwards`, if present (already checked to be 0..=255 by [`parse`]).
    pub fn max_forwards(&self) -> Option<u8> {
        self.max_forwards
    }

    /// Every Record-Route value, top first.
    pub fn record_routes(&self) -> Vec<&'a str> {
        self.values(Name::RecordRoute)
    }

    /// Every Route value, top first.
    pub fn routes(&self) -> Vec<&'a str> {
        self.values(Name::Route)
    }

    /// The message written back out: the start line, every header as `name: value` (folds
    /// inside values kept), the empty line, the body. Parsing the result gives the same
    /// fields (a property test checks it).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(self.start_raw.len() + self.headers.len() * 64 + self.body.len());
        out.extend_from_slice(self.start_raw.as_bytes());
        out.extend_from_slice(b"\r\n");
        for h in &self.headers {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(self.body);
        out
    }

    /// The tag parameter of the To or From header, if any.
    pub fn tag(&self, kind: Name) -> Option<&'a str> {
        let v = self.first(kind)?;
        // The tag follows the name-addr's closing '>' (or the addr-spec).
        let params = match v.rfind('>') {
            Some(close) => &v[close + 1..],
            None => v.split_once(';').map_or("", |(_, p)| p),
        };
        params.split(';').find_map(|p| {
            let (k, val) = p.split_once('=')?;
            trim_lws(k)
                .eq_ignore_ascii_case("tag")
                .then(|| trim_lws(val))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compact_form_of_the_registry() {
        let compact: String = {
            let mut v: Vec<char> = Name::all().filter_map(|(_, _, c)| c).collect();
            v.sort_unstable();
            v.into_iter().collect()
        };
        assert_eq!(compact, "abcdefijklmnorstuvxy");
        for (name, long, c) in Name::all() {
            assert_eq!(Name::of(long), name);
            assert_eq!(Name::of(&long.to_ascii_uppercase()), name);
            if let Some(c) = c {
                assert_eq!(Name::of(&c.to_string()), name);
                assert_eq!(Name::of(&c.to_ascii_uppercase().to_string()), name);
                assert_eq!(canonical_name(&c.to_string()), long);
            }
        }
        assert_eq!(Name::of("g"), Name::Other);
        assert_eq!(canonical_name("X-Foo"), "x-foo");
    }

    #[test]
    fn head_scan_matches_parse() {
        let m = b"OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP a\r\nl:\r\n 5\r\n\r\nhello";
        let head = scan_head(m).unwrap().unwrap();
        assert_eq!(head.content_length, Some(5));
        assert_eq!(head.len + 5, m.len());
        assert!(scan_head(b"OPTIONS sip:b@x SIP/2.0\r\n").unwrap().is_none());
        assert!(scan_head(b"X sip:b@x SIP/2.0\r\nl: +5\r\n\r\n").is_err());
        assert!(scan_head(b"X sip:b@x SIP/2.0\r\nl: 1\r\nContent-Length: 1\r\n\r\n").is_err());
    }
}
