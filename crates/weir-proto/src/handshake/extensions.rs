//! `Sec-WebSocket-Extensions` values (RFC 6455 section 9.1).
//!
//! The grammar, with RFC 2616's implied whitespace between elements:
//!
//! ```text
//! extension-list  = 1#extension
//! extension       = extension-token *( ";" extension-param )
//! extension-param = token [ "=" (token | quoted-string) ]
//!     ; a quoted-string value must be a token once unescaped
//! ```
//!
//! [`parse_extensions`] reads one header value into [`ExtensionOffer`]s (a
//! request or response may split the list over several header fields; callers
//! parse each and concatenate). [`format_extensions`] writes a list back, and
//! `ExtensionOffer::validate` checks that what we send follows the grammar.
//! What the parameters mean is up to each extension, not this module.

use std::fmt;

use super::http::{is_tchar, is_token};
use super::HandshakeError;

const HEADER: &str = "Sec-WebSocket-Extensions";

/// One extension with its parameters, as offered by a client or selected by
/// a server, e.g. `permessage-deflate; client_max_window_bits`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExtensionOffer {
    /// The extension token, e.g. `permessage-deflate`.
    pub name: String,
    /// Parameters in order: name and optional value (quotes removed).
    pub params: Vec<(String, Option<String>)>,
}

impl ExtensionOffer {
    /// An extension with no parameters.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter, builder style.
    pub fn with_param(mut self, name: impl Into<String>, value: Option<&str>) -> Self {
        self.params.push((name.into(), value.map(str::to_owned)));
        self
    }

    /// The first parameter named `name` (case-insensitive): `None` if absent,
    /// `Some(None)` if present without a value.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }

    /// Checks that this offer can be sent: the name, every parameter name and
    /// every value are tokens (RFC 6455 9.1).
    pub fn validate(&self) -> Result<(), HandshakeError> {
        let bad = |what: &str, s: &str| {
            Err(HandshakeError::InvalidExtension {
                reason: format!("{what} {s:?} is not a token"),
            })
        };
        if !is_token(self.name.as_bytes()) {
            return bad("extension name", &self.name);
        }
        for (name, value) in &self.params {
            if !is_token(name.as_bytes()) {
                return bad("parameter name", name);
            }
            if let Some(v) = value {
                if !is_token(v.as_bytes()) {
                    return bad("parameter value", v);
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for ExtensionOffer {
    /// Writes `name; param; param=value`. A value that is not a token (which
    /// [`validate`](Self::validate) rejects) is written as a quoted string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, "; {name}")?;
            match value {
                None => {}
                Some(v) if is_token(v.as_bytes()) => write!(f, "={v}")?,
                Some(v) => {
                    f.write_str("=\"")?;
                    for c in v.chars() {
                        if c == '"' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("\"")?;
                }
            }
        }
        Ok(())
    }
}

/// Writes a list of extensions as one `Sec-WebSocket-Extensions` value,
/// separated by `", "`.
pub fn format_extensions(offers: &[ExtensionOffer]) -> String {
    offers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parses one `Sec-WebSocket-Extensions` header value (RFC 6455 9.1).
///
/// Whitespace around `,`, `;` and `=` is allowed, empty list elements
/// (`a, , b`) are skipped, and quoted values are unescaped. Fails with
/// [`HandshakeError::InvalidHeaderValue`] if the value does not follow the
/// grammar, a quoted value is not a token once unescaped, or the list holds
/// no extension at all (the empty string is not a valid value).
pub fn parse_extensions(header_value: &[u8]) -> Result<Vec<ExtensionOffer>, HandshakeError> {
    let mut cur = Cursor {
        s: header_value,
        pos: 0,
    };
    let mut out = Vec::new();
    loop {
        cur.skip_ows();
        match cur.peek() {
            None => break,
            Some(b',') => {
                cur.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = cur
            .token()
            .ok_or_else(|| cur.error("expected an extension name"))?;
        let mut offer = ExtensionOffer::new(name);
        loop {
            cur.skip_ows();
            match cur.peek() {
                None => break,
                Some(b',') => {
                    cur.pos += 1;
                    break;
                }
                Some(b';') => {
                    cur.pos += 1;
                    cur.skip_ows();
                    let param = cur
                        .token()
                        .ok_or_else(|| cur.error("expected a parameter name"))?;
                    cur.skip_ows();
                    let value = if cur.peek() == Some(b'=') {
                        cur.pos += 1;
                        cur.skip_ows();
                        Some(cur.value()?)
                    } else {
                        None
                    };
                    offer.params.push((param, value));
                }
                Some(_) => return Err(cur.error("expected ',' or ';'")),
            }
        }
        out.push(offer);
    }
    if out.is_empty() {
        return Err(cur.error("the list holds no extension"));
    }
    Ok(out)
}

/// A position in a header value being parsed.
struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Reads a non-empty token.
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        let bytes = self.s.get(start..self.pos)?;
        if bytes.is_empty() {
            return None;
        }
        // Tokens are ASCII, so this never loses anything.
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Reads a parameter value: a token or a quoted string whose content is
    /// a token once unescaped.
    fn value(&mut self) -> Result<String, HandshakeError> {
        if self.peek() != Some(b'"') {
            return self
                .token()
                .ok_or_else(|| self.error("expected a parameter value"));
        }
        self.pos += 1;
        let mut raw = Vec::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated quoted string")),
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(c) if c.is_ascii() => raw.push(c),
                        _ => return Err(self.error("bad escape in quoted string")),
                    }
                    self.pos += 1;
                }
                Some(c) => {
                    raw.push(c);
                    self.pos += 1;
                }
            }
        }
        if !is_token(&raw) {
            return Err(self.error("a quoted value must be a token once unescaped"));
        }
        Ok(String::from_utf8_lossy(&raw).into_owned())
    }

    fn error(&self, what: &str) -> HandshakeError {
        HandshakeError::InvalidHeaderValue {
            name: HEADER,
            reason: format!("{what} at byte {}", self.pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Vec<ExtensionOffer> {
        parse_extensions(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn rejects(s: &str) {
        assert!(
            matches!(
                parse_extensions(s.as_bytes()),
                Err(HandshakeError::InvalidHeaderValue { name: HEADER, .. })
            ),
            "{s:?} should be rejected"
        );
    }

    #[test]
    fn rfc6455_9_1_examples() {
        assert_eq!(
            parse("deflate-stream"),
            [ExtensionOffer::new("deflate-stream")]
        );
        assert_eq!(
            parse("mux; max-channels=4; flow-control, deflate-stream"),
            [
                ExtensionOffer::new("mux")
                    .with_param("max-channels", Some("4"))
                    .with_param("flow-control", None),
                ExtensionOffer::new("deflate-stream"),
            ]
        );
        assert_eq!(parse("private-extension").len(), 1);
    }

    #[test]
    fn rfc6455_9_1_split_headers_equal_combined() {
        let mut split = parse("foo");
        split.extend(parse("bar; baz=2"));
        assert_eq!(split, parse("foo, bar; baz=2"));
    }

    #[test]
    fn rfc6455_9_1_whitespace_tolerant() {
        assert_eq!(
            parse(" a ;\tb = 1 ; c ,\t, d "),
            [
                ExtensionOffer::new("a")
                    .with_param("b", Some("1"))
                    .with_param("c", None),
                ExtensionOffer::new("d"),
            ]
        );
    }

    #[test]
    fn rfc6455_9_1_quoted_string_value_unescaped_must_be_token() {
        assert_eq!(
            parse(r#"permessage-deflate; client_max_window_bits="10""#)[0]
                .param("client_max_window_bits"),
            Some(Some("10"))
        );
        assert_eq!(parse(r#"x; p="a\bc""#)[0].param("p"), Some(Some("abc")));
        rejects(r#"x; p="a b""#);
        rejects(r#"x; p="""#);
        rejects(r#"x; p="a,b""#);
        rejects(r#"x; p="abc"#);
        rejects(r#"x; p="ab\"#);
        rejects(r#"x; p="ab"c"#);
    }

    #[test]
    fn rfc6455_9_1_rejects_malformed() {
        rejects("");
        rejects(" , ");
        rejects("; a");
        rejects("a;");
        rejects("a; =1");
        rejects("a; b=");
        rejects("a; b=,c");
        rejects("a b");
        rejects("a/b");
        rejects("a; b=1=2");
        rejects("\u{e9}");
    }

    #[test]
    fn rfc6455_9_1_render_round_trip() {
        let list = vec![
            ExtensionOffer::new("permessage-deflate")
                .with_param("client_max_window_bits", None)
                .with_param("server_max_window_bits", Some("10")),
            ExtensionOffer::new("x-foo"),
        ];
        let text = format_extensions(&list);
        assert_eq!(
            text,
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, x-foo"
        );
        assert_eq!(parse(&text), list);
        assert!(list.iter().all(|e| e.validate().is_ok()));
    }

    #[test]
    fn validate_rejects_non_tokens_and_display_quotes_them() {
        let bad = ExtensionOffer::new("x").with_param("p", Some("a \"b\""));
        assert!(matches!(
            bad.validate(),
            Err(HandshakeError::InvalidExtension { .. })
        ));
        assert_eq!(bad.to_string(), r#"x; p="a \"b\"""#);
        assert!(ExtensionOffer::new("a,b").validate().is_err());
        assert!(ExtensionOffer::new("a")
            .with_param("b c", None)
            .validate()
            .is_err());
        assert!(ExtensionOffer::new("").validate().is_err());
    }
}
