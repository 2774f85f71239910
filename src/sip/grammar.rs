//! The lexical rules of RFC 3261 section 25.1 that every other part of the parser uses:
//! linear white space (LWS, SWS) with line folding, tokens, digit-only numbers.
//!
//! LWS = [*WSP CRLF] 1*WSP and SWS = [LWS]: a header value may continue on the next line
//! when that line starts with a space or a tab, and the fold reads as white space. The
//! parser keeps folded values as they are on the wire (zero-copy); these helpers treat a
//! CRLF followed by a space or tab as white space wherever the grammar allows LWS.

/// SP or HTAB.
pub(crate) fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A `token` character (RFC 3261 25.1: alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+"
/// / "`" / "'" / "~").
pub(crate) fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

/// [`is_token_char`] as a table: the parser asks it for every byte of every name.
const TOKEN_CHARS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'-' | b'.' | b'!' | b'%' | b'*' | b'_' | b'+' | b'`' | b'\'' | b'~'
            );
        i += 1;
    }
    t
};

/// Length of the SWS (possibly empty run of white space and line folds) at the start of `s`.
pub(crate) fn sws_len(s: &[u8]) -> usize {
    let mut i = 0;
    loop {
        while i < s.len() && is_wsp(s[i]) {
            i += 1;
        }
        // A fold: CRLF followed by at least one WSP.
        if s.len() > i + 2 && s[i] == b'\r' && s[i + 1] == b'\n' && is_wsp(s[i + 2]) {
            i += 3;
            continue;
        }
        return i;
    }
}

/// `s` without its leading SWS.
pub(crate) fn skip_sws(s: &str) -> &str {
    &s[sws_len(s.as_bytes())..]
}

/// `s` without leading and trailing LWS (folds included).
pub(crate) fn trim_lws(s: &str) -> &str {
    let s = skip_sws(s);
    let b = s.as_bytes();
    let mut end = b.len();
    loop {
        while end > 0 && is_wsp(b[end - 1]) {
            end -= 1;
        }
        // A continuation line holding only white space leaves a bare CRLF at the end.
        if end >= 2 && &b[end - 2..end] == b"\r\n" {
            end -= 2;
            continue;
        }
        return &s[..end];
    }
}

/// Splits a leading `token` off `s`: `(token, rest)`, or `None` when `s` does not start
/// with a token character.
pub(crate) fn token(s: &str) -> Option<(&str, &str)> {
    let n = s.bytes().take_while(|&b| is_token_char(b)).count();
    (n > 0).then(|| s.split_at(n))
}

/// Whether `s` is one whole `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_token_char)
}

/// A `1*DIGIT` field value no larger than `max` (RFC 3261 25: Content-Length, Max-Forwards,
/// the CSeq number, ports). No sign, no space inside, no other character: `+5` and `5 5`
/// are refused. `what` names the field in the error.
pub(crate) fn digits(value: &str, what: &str, max: u64) -> Result<u64, String> {
    if value.is_empty() {
        return Err(format!("{what} is empty (expected 1*DIGIT)"));
    }
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "{what} '{value}' is not digits only (RFC 3261 25: 1*DIGIT, no sign or space)"
        ));
    }
    // Leading zeros are digits too; only the value matters.
    let mut n: u64 = 0;
    for b in value.bytes() {
        n = n.saturating_mul(10).saturating_add(u64::from(b - b'0'));
    }
    if n > max {
        return Err(format!("{what} {value} is larger than {max}"));
    }
    Ok(n)
}

/// Splits a header value list on the commas the grammar separates elements with
/// (COMMA = SWS "," SWS), skipping commas inside a quoted string or `<...>`; each element is
/// trimmed of LWS, empty ones are dropped.
pub(crate) fn split_list(value: &str) -> impl Iterator<Item = &str> {
    let bytes = value.as_bytes();
    let (mut quoted, mut angle, mut start, mut i) = (false, false, 0, 0);
    let mut parts = Vec::new();
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quoted => i += 1,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => {
                parts.push(trim_lws(&value[start..i]));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(trim_lws(&value[start.min(value.len())..]));
    parts.into_iter().filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lws_includes_folds() {
        assert_eq!(skip_sws(" \t\r\n  x"), "x");
        assert_eq!(
            skip_sws("\r\nx"),
            "\r\nx",
            "a CRLF without WSP is not a fold"
        );
        assert_eq!(trim_lws("\r\n 5\r\n \t"), "5");
        assert_eq!(trim_lws("  a b  "), "a b");
    }

    #[test]
    fn digits_only() {
        assert_eq!(digits("0", "n", 9), Ok(0));
        assert_eq!(digits("007", "n", 9), Ok(7));
        for bad in ["+5", "-0", "5 5", "0x10", "", "5a", "٣"] {
            assert!(digits(bad, "n", 1000).is_err(), "{bad}");
        }
        assert!(digits("256", "Max-Forwards", 255).is_err());
        assert!(digits("99999999999999999999999", "n", u64::MAX - 1).is_err());
    }

    #[test]
    fn lists_split_outside_quotes_and_angles() {
        let v: Vec<&str> =
            split_list("<sip:a,b@x>;x=\"1,2\" ,\r\n <sip:c@y>, ,\"q\\\",\" <sip:d@z>").collect();
        assert_eq!(
            v,
            ["<sip:a,b@x>;x=\"1,2\"", "<sip:c@y>", "\"q\\\",\" <sip:d@z>"]
        );
    }
}
