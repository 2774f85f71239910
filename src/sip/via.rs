//! One `Via` value by the grammar of RFC 3261 25.1:
//!
//! ```text
//! via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
//! sent-protocol = protocol-name SLASH protocol-version SLASH transport
//! sent-by       = host [ COLON port ]
//! SLASH = SWS "/" SWS    COLON = SWS ":" SWS    SEMI = SWS ";" SWS    EQUAL = SWS "=" SWS
//! ```
//!
//! so `SIP / 2.0 / TLS host : 5061 ; branch = z9hG4bK1` is as valid as the usual compact
//! form; the protocol name and transport are case-insensitive; the host may be an IPv6
//! reference (`[2001:db8::1]`).

use super::grammar::{digits, is_wsp, skip_sws, sws_len, token, trim_lws};
use super::uri::{host_len, is_gen_value_char, SIPS_PORT, SIP_PORT};

/// The RFC 3261 branch prefix ("magic cookie", 8.1.1.7): a branch that starts with it was
/// made unique by an RFC 3261 element; one without it (or none) comes from RFC 2543.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// One parsed Via value, borrowing from the header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via<'a> {
    /// The transport as written (`UDP`, `tcp`, `TLS`, `WSS`...).
    pub transport: &'a str,
    /// The host of sent-by: a name, an IPv4 address or a bracketed IPv6 reference.
    pub host: &'a str,
    /// The port of sent-by, when given.
    pub port: Option<u16>,
    /// The `branch` parameter, when present.
    pub branch: Option<&'a str>,
}

impl Via<'_> {
    /// The port sent-by means: the one given, else 5061 for TLS and 5060 otherwise
    /// (RFC 3261 18.2.2 / 19.1.2).
    pub fn effective_port(&self) -> u16 {
        self.port
            .unwrap_or(if self.transport.eq_ignore_ascii_case("tls") {
                SIPS_PORT
            } else {
                SIP_PORT
            })
    }

    /// Whether the branch carries the RFC 3261 magic cookie.
    pub fn is_rfc3261(&self) -> bool {
        self.branch.is_some_and(|b| b.starts_with(MAGIC_COOKIE))
    }

    /// Whether this Via's sent-by is `host[:port]` (host case-insensitive, default ports
    /// filled in by the transport).
    pub fn sent_by_is(&self, host: &str, port: Option<u16>) -> bool {
        let port = port.unwrap_or(
            Via {
                port: None,
                ..*self
            }
            .effective_port(),
        );
        self.host.eq_ignore_ascii_case(host) && self.effective_port() == port
    }
}

/// Splits `host[:port]` written as the proxy's own sent-by (`192.0.2.1:5061`, `[::1]:5060`).
pub fn split_host_port(sent_by: &str) -> Result<(&str, Option<u16>), String> {
    let n = host_len(sent_by)?;
    let (host, rest) = sent_by.split_at(n);
    match rest.strip_prefix(':') {
        None if rest.is_empty() => Ok((host, None)),
        Some(p) => Ok((host, Some(digits(p, "port", u64::from(u16::MAX))? as u16))),
        None => Err(format!("'{sent_by}' is not host[:port]")),
    }
}

/// Parses one Via value (one element of a comma-separated Via header).
pub fn parse_via(value: &str) -> Result<Via<'_>, String> {
    let fail = |what: &str| format!("Via '{}': {what}", trim_lws(value));
    let s = skip_sws(value);
    // sent-protocol, with SWS around each slash.
    let (name, s) = token(s).ok_or_else(|| fail("no protocol name"))?;
    let s = slash(s).ok_or_else(|| fail("expected '/' after the protocol name"))?;
    let (version, s) = token(s).ok_or_else(|| fail("no protocol version"))?;
    let s = slash(s).ok_or_else(|| fail("expected '/' after the protocol version"))?;
    let (transport, s) = token(s).ok_or_else(|| fail("no transport"))?;
    if !name.eq_ignore_ascii_case("SIP") || version != "2.0" {
        return Err(fail(&format!(
            "sent-protocol is {name}/{version}, expected SIP/2.0"
        )));
    }
    // LWS, then sent-by.
    let lws = sws_len(s.as_bytes());
    if lws == 0 {
        return Err(fail("no white space between sent-protocol and sent-by"));
    }
    let s = &s[lws..];
    let n = host_len(s).map_err(|e| fail(&format!("sent-by: {e}")))?;
    let (host, mut s) = s.split_at(n);
    let mut port = None;
    let after_host = skip_sws(s);
    if let Some(p) = after_host.strip_prefix(':') {
        let p = skip_sws(p);
        let len = p.bytes().take_while(u8::is_ascii_digit).count();
        let v = digits(&p[..len], "sent-by port", u64::from(u16::MAX)).map_err(|e| fail(&e))?;
        port = Some(v as u16);
        s = &p[len..];
    }
    // *( SEMI via-params ), each generic-param = token [ EQUAL gen-value ].
    let mut branch = None;
    loop {
        let rest = skip_sws(s);
        if rest.is_empty() {
            break;
        }
        let Some(p) = rest.strip_prefix(';') else {
            return Err(fail(&format!("unexpected '{rest}' after sent-by")));
        };
        let (pname, p) = token(skip_sws(p)).ok_or_else(|| fail("a parameter has no name"))?;
        let after_name = skip_sws(p);
        s = p;
        if let Some(v) = after_name.strip_prefix('=') {
            let v = skip_sws(v);
            let len = gen_value_len(v)
                .ok_or_else(|| fail(&format!("parameter '{pname}' has no valid value")))?;
            if pname.eq_ignore_ascii_case("branch") {
                branch = Some(&v[..len]);
            }
            s = &v[len..];
        }
    }
    Ok(Via {
        transport,
        host,
        port,
        branch,
    })
}

/// SWS "/" SWS: the rest after it, or `None`.
fn slash(s: &str) -> Option<&str> {
    skip_sws(s).strip_prefix('/').map(skip_sws)
}

/// Length of a gen-value (token, host or quoted-string) at the start of `s`.
fn gen_value_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() == Some(&b'"') {
        let mut i = 1;
        while i < b.len() {
            match b[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        return None;
    }
    let n = b.iter().take_while(|&&c| is_gen_value_char(c)).count();
    (n > 0
        && !b
            .get(n)
            .is_some_and(|&c| !is_wsp(c) && !b";,\r".contains(&c)))
    .then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn white_space_where_the_grammar_allows_it() {
        for v in [
            "SIP/2.0/TLS 192.0.2.10:5061;branch=z9hG4bK-1",
            "SIP / 2.0 / TLS 192.0.2.10:5061;branch=z9hG4bK-1",
            "sip/2.0/tls 192.0.2.10 : 5061 ; branch = z9hG4bK-1",
            "SIP/2.0/TLS\r\n 192.0.2.10:5061\r\n\t;branch=z9hG4bK-1",
        ] {
            let via = parse_via(v).unwrap_or_else(|e| panic!("{v}: {e}"));
            assert_eq!(via.host, "192.0.2.10", "{v}");
            assert_eq!(via.port, Some(5061), "{v}");
            assert_eq!(via.branch, Some("z9hG4bK-1"), "{v}");
            assert!(via.transport.eq_ignore_ascii_case("tls"));
        }
    }

    #[test]
    fn ipv6_and_params() {
        let v =
            parse_via("SIP/2.0/UDP [2001:db8::1]:5060;received=2001:db8::9;rport;branch=z9hG4bKx")
                .unwrap();
        assert_eq!(
            (v.host, v.port, v.branch),
            ("[2001:db8::1]", Some(5060), Some("z9hG4bKx"))
        );
        let v = parse_via("SIP/2.0/TCP [::1];maddr=\"x;y\"").unwrap();
        assert_eq!((v.port, v.effective_port(), v.branch), (None, 5060, None));
        assert!(!v.is_rfc3261());
        assert_eq!(parse_via("SIP/2.0/TLS h").unwrap().effective_port(), 5061);
    }

    #[test]
    fn malformed() {
        for v in [
            "",
            "SIP/2.0/UDP",
            "SIP/2.0 UDP a",
            "HTTP/1.1/TCP a",
            "SIP/3.0/UDP a",
            "SIP/2.0/UDPa",
            "SIP/2.0/UDP a:",
            "SIP/2.0/UDP a:70000",
            "SIP/2.0/UDP a b",
            "SIP/2.0/UDP [::1",
            "SIP/2.0/UDP a;",
            "SIP/2.0/UDP a;branch=",
            "SIP/2.0/UDP a;branch=\"x",
        ] {
            assert!(parse_via(v).is_err(), "{v:?} should be refused");
        }
    }

    #[test]
    fn own_sent_by() {
        assert_eq!(
            split_host_port("198.51.100.1:5061"),
            Ok(("198.51.100.1", Some(5061)))
        );
        assert_eq!(split_host_port("[::1]"), Ok(("[::1]", None)));
        assert!(split_host_port("a b").is_err());
        let via = parse_via("SIP/2.0/TLS proxy.test").unwrap();
        assert!(via.sent_by_is("PROXY.test", Some(5061)));
        assert!(!via.sent_by_is("proxy.test", Some(5060)));
    }
}
