//! WebSocket URIs (RFC 6455 section 3): `ws://` and `wss://`.
//!
//! A client starts from a URI and needs four things from it (RFC 6455 4.1):
//! /host/, /port/, /resource name/ and the /secure/ flag. [`WsUri`] holds
//! exactly those, and [`WsUri::host_header`] gives the `Host` value the
//! request must carry (RFC 6455 4.1 step 4). Parsing is strict: everything
//! that ends up in the request line or `Host` is checked against RFC 3986
//! characters, so a URI can never inject bytes into the request.

use std::fmt;
use std::net::Ipv6Addr;

use super::HandshakeError;

/// The parts of a `ws://` or `wss://` URI a client handshake needs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WsUri {
    /// Whether the scheme is `wss` (TLS), compared case-insensitively.
    pub secure: bool,
    /// The host as written, without the brackets of an IPv6 literal
    /// (`ws://[::1]/` gives `::1`), ready to resolve or connect to.
    pub host: String,
    /// The port: explicit, or 80 for `ws` and 443 for `wss`.
    pub port: u16,
    /// The /resource name/: the path (`/` if empty), then `?` and the query
    /// when the query is non-empty.
    pub resource: String,
}

impl WsUri {
    /// Parses a `ws://` or `wss://` URI.
    ///
    /// Accepted: a case-insensitive scheme, a registered name, IPv4 address
    /// or bracketed IPv6 literal host, an optional port (an empty port means
    /// the default), a path and a query. Rejected, with
    /// [`HandshakeError::InvalidUri`]: other schemes, a fragment or any `#`
    /// (RFC 6455 3: "MUST NOT be used"; a literal `#` must be sent as `%23`),
    /// userinfo (`user@`), an empty host, a port that is not a number in
    /// 1..=65535, and characters RFC 3986 does not allow (spaces, controls,
    /// non-ASCII, malformed `%` escapes).
    pub fn parse(uri: &str) -> Result<WsUri, HandshakeError> {
        let invalid = |reason| Err(HandshakeError::InvalidUri { reason });
        let Some((scheme, rest)) = uri.split_once("://") else {
            return invalid("expected ws:// or wss://");
        };
        let secure = if scheme.eq_ignore_ascii_case("ws") {
            false
        } else if scheme.eq_ignore_ascii_case("wss") {
            true
        } else {
            return invalid("the scheme must be ws or wss");
        };
        if rest.contains('#') {
            return invalid("fragments are not allowed (escape a literal # as %23)");
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_query) = rest.split_at(authority_end);
        if authority.contains('@') {
            return invalid("userinfo (user@host) is not allowed");
        }
        let (host, port) = split_host_port(authority)?;
        let default_port = if secure { 443 } else { 80 };
        let port = match port {
            None | Some("") => default_port,
            Some(p) if p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
                Ok(0) | Err(_) => return invalid("the port must be in 1..=65535"),
                Ok(n) => n,
            },
            Some(_) => return invalid("the port must be a decimal number"),
        };
        let (path, query) = match path_query.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path_query, None),
        };
        if !path.bytes().all(|b| is_pchar(b) || b == b'/') || !valid_escapes(path) {
            return invalid("the path contains characters not allowed in a URI");
        }
        if let Some(q) = query {
            if !q.bytes().all(|b| is_pchar(b) || b == b'/' || b == b'?') || !valid_escapes(q) {
                return invalid("the query contains characters not allowed in a URI");
            }
        }
        let mut resource = if path.is_empty() {
            "/".to_owned()
        } else {
            path.to_owned()
        };
        if let Some(q) = query.filter(|q| !q.is_empty()) {
            resource.push('?');
            resource.push_str(q);
        }
        Ok(WsUri {
            secure,
            host: host.to_owned(),
            port,
            resource,
        })
    }

    /// The default port for this URI's scheme: 443 when secure, else 80.
    pub fn default_port(&self) -> u16 {
        if self.secure {
            443
        } else {
            80
        }
    }

    /// The `Host` header value (RFC 6455 4.1 step 4): the host, bracketed if
    /// it is an IPv6 literal, then `:port` unless the port is the default.
    pub fn host_header(&self) -> String {
        let mut out = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port != self.default_port() {
            out.push(':');
            out.push_str(&self.port.to_string());
        }
        out
    }
}

impl fmt::Display for WsUri {
    /// Writes the URI back: scheme, `Host` form and resource name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.resource)
    }
}

/// Splits an authority (no userinfo) into host and optional port text.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), HandshakeError> {
    let invalid = |reason| Err(HandshakeError::InvalidUri { reason });
    if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((literal, after)) = bracketed.split_once(']') else {
            return invalid("an IPv6 literal is missing its closing ]");
        };
        if literal.parse::<Ipv6Addr>().is_err() {
            return invalid("the bracketed host is not an IPv6 address");
        }
        let port = match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return invalid("unexpected characters after the IPv6 literal"),
        };
        return Ok((literal, port));
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    if host.is_empty() {
        return invalid("the host is empty");
    }
    if !host.bytes().all(is_reg_name_char) || !valid_escapes(host) {
        return invalid("the host contains characters not allowed in a URI");
    }
    Ok((host, port))
}

/// RFC 3986 `unreserved` / `sub-delims` / `%` (escapes checked separately).
fn is_reg_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b'%'
        )
}

/// RFC 3986 `pchar` (escapes checked separately).
fn is_pchar(b: u8) -> bool {
    is_reg_name_char(b) || b == b':' || b == b'@'
}

/// Whether every `%` starts a `%HH` escape.
fn valid_escapes(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit()
            )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(s: &str) -> WsUri {
        WsUri::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn rejects(s: &str) {
        assert!(
            matches!(WsUri::parse(s), Err(HandshakeError::InvalidUri { .. })),
            "{s} should be rejected"
        );
    }

    #[test]
    fn rfc6455_3_default_ports_and_resource_name() {
        let u = uri("ws://example.com");
        assert_eq!(
            u,
            WsUri {
                secure: false,
                host: "example.com".into(),
                port: 80,
                resource: "/".into()
            }
        );
        assert_eq!(u.host_header(), "example.com");
        let u = uri("wss://example.com/chat?room=1&x=%20");
        assert!(u.secure);
        assert_eq!(u.port, 443);
        assert_eq!(u.resource, "/chat?room=1&x=%20");
        assert_eq!(uri("ws://h?a=b").resource, "/?a=b");
        // "?" is added only if the query is non-empty.
        assert_eq!(uri("ws://h/p?").resource, "/p");
        assert_eq!(uri("ws://h/a/b/").resource, "/a/b/");
    }

    #[test]
    fn rfc6455_3_scheme_is_case_insensitive() {
        assert!(!uri("WS://h/").secure);
        assert!(uri("WsS://h/").secure);
        rejects("http://h/");
        rejects("wsx://h/");
        rejects("h/");
        rejects("ws:/h/");
    }

    #[test]
    fn rfc6455_4_1_host_header_omits_default_port() {
        assert_eq!(uri("ws://h:80/").host_header(), "h");
        assert_eq!(uri("ws://h:443/").host_header(), "h:443");
        assert_eq!(uri("wss://h:443/").host_header(), "h");
        assert_eq!(uri("wss://h:8443/").host_header(), "h:8443");
        assert_eq!(uri("ws://h:/").port, 80);
        assert_eq!(uri("ws://127.0.0.1:9001").host_header(), "127.0.0.1:9001");
    }

    #[test]
    fn rfc3986_ipv6_literal() {
        let u = uri("ws://[::1]:9001/x");
        assert_eq!(u.host, "::1");
        assert_eq!(u.port, 9001);
        assert_eq!(u.host_header(), "[::1]:9001");
        assert_eq!(u.to_string(), "ws://[::1]:9001/x");
        assert_eq!(uri("wss://[2001:db8::7]").host_header(), "[2001:db8::7]");
        rejects("ws://[::1/");
        rejects("ws://[zz]/");
        rejects("ws://[::1]x/");
        rejects("ws://[]/");
    }

    #[test]
    fn rfc6455_3_fragments_must_not_be_used() {
        rejects("ws://h/chat#frag");
        rejects("ws://h/#");
        rejects("ws://h#x");
        assert_eq!(uri("ws://h/a%23b").resource, "/a%23b");
    }

    #[test]
    fn rfc6455_3_rejects_userinfo_empty_host_bad_port() {
        rejects("ws://user:pw@h/");
        rejects("ws://@h/");
        rejects("ws:///path");
        rejects("ws://:80/");
        rejects("ws://h:0/");
        rejects("ws://h:65536/");
        rejects("ws://h:-1/");
        rejects("ws://h:+80/");
        rejects("ws://h:8a/");
        assert_eq!(uri("ws://h:65535").port, 65535);
    }

    #[test]
    fn rfc3986_rejects_bytes_that_could_break_the_request() {
        rejects("ws://h/a b");
        rejects("ws://h/a\r\nX: y");
        rejects("ws://h/\u{e9}");
        rejects("ws://h/%zz");
        rejects("ws://h/%4");
        rejects("ws://h/?q=\"");
        rejects("ws://h o/");
        rejects("ws://h\r\n/");
        assert_eq!(
            uri("ws://h/a:b@c!$&'()*+,;=-._~").resource,
            "/a:b@c!$&'()*+,;=-._~"
        );
        assert_eq!(uri("ws://h/?a/b?c").resource, "/?a/b?c");
    }

    #[test]
    fn display_round_trips() {
        for s in ["ws://h/", "wss://h:8443/a?b", "ws://[::1]/"] {
            assert_eq!(uri(s).to_string(), s);
            assert_eq!(uri(&uri(s).to_string()), uri(s));
        }
    }
}
