//! SIP and SIPS URIs as far as a proxy needs them (RFC 3261 19.1 and 25.1): scheme, user,
//! host (a name, an IPv4 address or an IPv6 reference in brackets), port, parameters; and
//! the ports a URI means when it names none (19.1.2: 5060 for sip over UDP and TCP, 5061
//! for sips and for TLS).

use super::grammar::{digits, is_token_char, trim_lws};

/// The default port of `sip:` over UDP or TCP (RFC 3261 19.1.2).
pub const SIP_PORT: u16 = 5060;

/// The default port of `sips:` and of SIP over TLS (RFC 3261 19.1.2, 26.2).
pub const SIPS_PORT: u16 = 5061;

/// A parsed `sip:` or `sips:` URI, borrowing from the text it was parsed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SipUri<'a> {
    /// `sips:` (TLS to the target) rather than `sip:`.
    pub secure: bool,
    /// The user part (before `@`), if any.
    pub user: Option<&'a str>,
    /// The host: a name, an IPv4 address, or an IPv6 reference with its brackets.
    pub host: &'a str,
    /// The port, when the URI names one.
    pub port: Option<u16>,
    /// The parameters as written, each with its leading `;` (empty when there are none).
    pub params: &'a str,
}

impl<'a> SipUri<'a> {
    /// The value of parameter `name` (case-insensitive): `Some(None)` for a flag such as `lr`.
    pub fn param(&self, name: &str) -> Option<Option<&'a str>> {
        self.params
            .split(';')
            .skip(1)
            .find_map(|p| match p.split_once('=') {
                Some((k, v)) => k.eq_ignore_ascii_case(name).then_some(Some(v)),
                None => p.eq_ignore_ascii_case(name).then_some(None),
            })
    }

    /// The port this URI means: the one it names, else 5061 for `sips:` or
    /// `transport=tls`, else 5060 (RFC 3261 19.1.2).
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or_else(|| {
            let tls = self
                .param("transport")
                .flatten()
                .is_some_and(|t| t.eq_ignore_ascii_case("tls"));
            if self.secure || tls {
                SIPS_PORT
            } else {
                SIP_PORT
            }
        })
    }

    /// Whether both URIs name the same host (case-insensitive) and the same effective port.
    pub fn same_host_port(&self, other: &SipUri<'_>) -> bool {
        self.host.eq_ignore_ascii_case(other.host)
            && self.effective_port() == other.effective_port()
    }
}

/// Checks a host: `[IPv6]`, or a host name / IPv4 address (alphanumerics, `-`, `.`).
/// Returns the length of the host at the start of `s` (brackets included).
pub(crate) fn host_len(s: &str) -> Result<usize, String> {
    let b = s.as_bytes();
    if b.first() == Some(&b'[') {
        let close = s
            .find(']')
            .ok_or_else(|| format!("IPv6 reference '{s}' has no ']'"))?;
        let inner = &s[1..close];
        let ok = inner.contains(':')
            && inner
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.');
        if !ok {
            return Err(format!("'[{inner}]' is not an IPv6 reference"));
        }
        return Ok(close + 1);
    }
    let n = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'-' || **c == b'.')
        .count();
    if n == 0 {
        return Err(format!("'{s}' does not start with a host"));
    }
    Ok(n)
}

/// Parses a `sip:` or `sips:` URI (scheme case-insensitive).
pub fn parse_sip_uri(s: &str) -> Result<SipUri<'_>, String> {
    let (scheme, rest) = s
        .split_once(':')
        .ok_or_else(|| format!("URI '{s}' has no scheme"))?;
    let secure = if scheme.eq_ignore_ascii_case("sips") {
        true
    } else if scheme.eq_ignore_ascii_case("sip") {
        false
    } else {
        return Err(format!("URI '{s}' is not a sip: or sips: URI"));
    };
    // The headers part (`?...`) is not needed by a proxy; the user part ends at the last
    // '@' before it (an '@' inside the user part must be escaped).
    let before_headers = rest.split('?').next().unwrap_or(rest);
    let (user, hostport) = match before_headers.rfind('@') {
        Some(at) => (Some(&before_headers[..at]), &before_headers[at + 1..]),
        None => (None, before_headers),
    };
    if user.is_some_and(str::is_empty) {
        return Err(format!("URI '{s}' has an empty user part"));
    }
    let n = host_len(hostport).map_err(|e| format!("URI '{s}': {e}"))?;
    let host = &hostport[..n];
    let mut after = &hostport[n..];
    let mut port = None;
    if let Some(p) = after.strip_prefix(':') {
        let len = p.bytes().take_while(u8::is_ascii_digit).count();
        let value = digits(&p[..len], "port", u64::from(u16::MAX))
            .map_err(|e| format!("URI '{s}': {e}"))?;
        port = Some(value as u16);
        after = &p[len..];
    }
    if !after.is_empty() && !after.starts_with(';') {
        return Err(format!("URI '{s}': unexpected '{after}' after the host"));
    }
    Ok(SipUri {
        secure,
        user,
        host,
        port,
        params: after,
    })
}

/// The URI inside a `name-addr` (`"Name" <sip:...>;params`) or an `addr-spec` (`sip:...`,
/// whose `;params` then belong to the header, RFC 3261 20.10).
pub fn addr_uri(value: &str) -> &str {
    let v = trim_lws(value);
    match (v.find('<'), v.rfind('>')) {
        (Some(open), Some(close)) if open < close => &v[open + 1..close],
        _ => v.split(';').next().unwrap_or(v),
    }
}

/// Checks a Request-URI (RFC 3261 25.1: `SIP-URI / SIPS-URI / absoluteURI`): a `sip:` or
/// `sips:` URI is parsed in full; another scheme (`tel:`, `urn:`...) needs a valid scheme
/// name and no white space.
pub fn check_request_uri(uri: &str) -> Result<(), String> {
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Err(format!("request URI '{uri}' has no scheme"));
    };
    let scheme_ok = scheme
        .as_bytes()
        .first()
        .is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    if !scheme_ok || rest.is_empty() {
        return Err(format!("request URI '{uri}' has no valid scheme"));
    }
    if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
        parse_sip_uri(uri).map(|_| ())
    } else if uri.bytes().all(|b| b > b' ' && b != 0x7f) {
        Ok(())
    } else {
        Err(format!(
            "request URI '{uri}' contains white space or a control character"
        ))
    }
}

/// Whether `b` may appear in a generic parameter value (`token / host / quoted-string`
/// without the quotes): token characters and the `[`, `]`, `:` of IPv6 addresses.
pub(crate) fn is_gen_value_char(b: u8) -> bool {
    is_token_char(b) || b == b'[' || b == b']' || b == b':'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_defaults() {
        let u = parse_sip_uri("sip:bob@[2001:db8::2]:5070;transport=tcp").unwrap();
        assert_eq!(
            (u.host, u.port, u.user),
            ("[2001:db8::2]", Some(5070), Some("bob"))
        );
        let u = parse_sip_uri("SIP:sip.tlscost.test;transport=TLS;lr").unwrap();
        assert_eq!(u.effective_port(), 5061);
        assert_eq!(u.param("lr"), Some(None));
        assert_eq!(parse_sip_uri("sips:x.test").unwrap().effective_port(), 5061);
        assert_eq!(parse_sip_uri("sip:x.test").unwrap().effective_port(), 5060);
        let a = parse_sip_uri("sip:x.test:5060").unwrap();
        let b = parse_sip_uri("sip:X.TEST;lr").unwrap();
        assert!(a.same_host_port(&b));
        for bad in [
            "http://x",
            "sip:",
            "sip:@x",
            "sip:[::1",
            "sip:x:99999",
            "sip:x y",
        ] {
            assert!(parse_sip_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_uris() {
        assert!(check_request_uri("sip:bob@example.com").is_ok());
        assert!(check_request_uri("tel:+15551234567").is_ok());
        assert!(check_request_uri("bob@example.com").is_err());
        assert!(check_request_uri("sip:bob@[zz::1]").is_err());
    }

    #[test]
    fn name_addr() {
        assert_eq!(addr_uri("\"A, B\" <sip:a@x;lr>;tag=1"), "sip:a@x;lr");
        assert_eq!(addr_uri(" sip:a@x;tag=1"), "sip:a@x");
    }
}
