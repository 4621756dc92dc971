//! Small HTTP/1.1 pieces shared by the client and server handshakes.
//!
//! Both sides read a header block (request or response head) that may arrive
//! in any number of pieces, and both write header blocks. What lives here:
//!
//! - [`HeadBuffer`], the bounded buffer that collects a header block, calls
//!   `httparse` only when the block may be complete, and hands back the bytes
//!   that followed it;
//! - token and list rules from RFC 7230 / RFC 2616 (`token`, `#rule`, OWS);
//! - case-insensitive header lookup over owned `(name, value)` pairs;
//! - checks on headers we are asked to send (no CR/LF injection) and
//!   [`http_response`], the writer for plain responses.

use bytes::{Bytes, BytesMut};

use super::{HandshakeError, MAX_HEADERS};

/// Owned header fields in arrival order: name as sent, raw value bytes.
pub(crate) type HeaderList = Vec<(String, Vec<u8>)>;

/// Whether `b` is a `tchar` (RFC 7230 3.2.6; the same set as RFC 2616's
/// CHAR minus CTLs and separators).
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'!' | b'#'
                | b'$'
                | b'%'
                | b'&'
                | b'\''
                | b'*'
                | b'+'
                | b'-'
                | b'.'
                | b'^'
                | b'_'
                | b'`'
                | b'|'
                | b'~'
        )
}

/// Whether `s` is a non-empty `token`.
pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// `s` without leading and trailing optional whitespace (SP, HTAB).
pub(crate) fn trim_ows(s: &[u8]) -> &[u8] {
    let start = s
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    s.get(start..end).unwrap_or_default()
}

/// Splits a comma-separated header value (`#rule`, RFC 7230 7) into its
/// elements, trimming optional whitespace and skipping empty elements.
///
/// Use it for `Connection`, `Upgrade` and `Sec-WebSocket-Protocol`; compare
/// the elements case-insensitively where the header calls for it. It does not
/// understand quoted strings, so `Sec-WebSocket-Extensions` has its own
/// parser, [`parse_extensions`](super::parse_extensions).
pub fn split_header_list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(trim_ows)
        .filter(|s| !s.is_empty())
}

/// The first value of header `name` (case-insensitive).
pub(crate) fn header<'a>(headers: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    headers_named(headers, name).next()
}

/// Every value of header `name` (case-insensitive), in order.
pub(crate) fn headers_named<'a: 'n, 'n>(
    headers: &'a [(String, Vec<u8>)],
    name: &'n str,
) -> impl Iterator<Item = &'a [u8]> + 'n {
    headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

/// The value of a header that may appear at most once, trimmed.
pub(crate) fn header_once<'a>(
    headers: &'a [(String, Vec<u8>)],
    name: &'static str,
) -> Result<Option<&'a [u8]>, HandshakeError> {
    let mut values = headers_named(headers, name);
    let first = values.next();
    if values.next().is_some() {
        return Err(HandshakeError::DuplicateHeader { name });
    }
    Ok(first.map(trim_ows))
}

/// Whether any `name` header's comma list holds `token` (case-insensitive).
pub(crate) fn list_contains(headers: &[(String, Vec<u8>)], name: &str, token: &str) -> bool {
    headers_named(headers, name)
        .flat_map(split_header_list)
        .any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
}

/// At most `MAX_SHOWN` bytes of peer data, lossily decoded, for error messages.
pub(crate) fn shown(bytes: &[u8]) -> String {
    const MAX_SHOWN: usize = 64;
    let cut = bytes.get(..MAX_SHOWN).unwrap_or(bytes);
    let mut s = String::from_utf8_lossy(cut).into_owned();
    if cut.len() < bytes.len() {
        s.push_str("...");
    }
    s
}

/// Copies `httparse` headers into an owned list.
pub(crate) fn owned_headers(headers: &[httparse::Header<'_>]) -> HeaderList {
    headers
        .iter()
        .map(|h| (h.name.to_owned(), h.value.to_vec()))
        .collect()
}

/// Maps an `httparse` error to ours.
pub(crate) fn parse_error(err: httparse::Error) -> HandshakeError {
    match err {
        httparse::Error::TooManyHeaders => HandshakeError::TooManyHeaders { limit: MAX_HEADERS },
        httparse::Error::Version => HandshakeError::UnsupportedHttpVersion {
            version: "other than HTTP/1.x".to_owned(),
        },
        other => HandshakeError::MalformedHttp {
            reason: other.to_string(),
        },
    }
}

/// The version string for an `httparse` minor version.
pub(crate) fn version_name(minor: u8) -> String {
    format!("HTTP/1.{minor}")
}

/// Checks a header we are asked to send: the name must be a token and the
/// value must hold no CR, LF or other control character except HTAB, so it
/// cannot end the field or the header block early.
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), HandshakeError> {
    if !is_token(name.as_bytes()) {
        return Err(HandshakeError::InvalidHeader {
            name: name.to_owned(),
            reason: "the name is not an HTTP token",
        });
    }
    if value.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HandshakeError::InvalidHeader {
            name: name.to_owned(),
            reason: "the value contains CR, LF or another control character",
        });
    }
    Ok(())
}

/// Rejects a caller header whose name is one the handshake writes itself.
pub(crate) fn check_not_reserved(name: &str, reserved: &[&str]) -> Result<(), HandshakeError> {
    if reserved.iter().any(|r| r.eq_ignore_ascii_case(name)) {
        return Err(HandshakeError::InvalidHeader {
            name: name.to_owned(),
            reason: "the handshake sets this header itself",
        });
    }
    Ok(())
}

/// Appends `name: value\r\n`.
pub(crate) fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// The reason phrase for common status codes, or `""`.
pub(crate) fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        413 => "Content Too Large",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// Appends `HTTP/1.1 {status} {reason}\r\n`.
pub(crate) fn push_status_line(out: &mut Vec<u8>, status: u16) {
    out.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
}

/// Writes a complete HTTP/1.1 response: status line with the reason phrase
/// of common codes, the given headers, `Content-Length` and the body.
///
/// `status` must be a three-digit code. Header names must be tokens and
/// values free of CR, LF and other controls; `Content-Length` and
/// `Transfer-Encoding` are rejected because this function sets the length.
/// Statuses that cannot carry a body (1xx, 204, 304) get no `Content-Length`
/// and must have an empty `body`.
pub fn http_response(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    write_response(status, headers, body)
}

/// [`http_response`], shared with the error responses.
pub(crate) fn write_response(
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Vec<u8>, HandshakeError> {
    if !(100..=999).contains(&status) {
        return Err(HandshakeError::InvalidStatus {
            status,
            reason: "an HTTP status code has three digits",
        });
    }
    let bodiless = (100..200).contains(&status) || status == 204 || status == 304;
    if bodiless && !body.is_empty() {
        return Err(HandshakeError::InvalidStatus {
            status,
            reason: "a response with this status has no body",
        });
    }
    for (name, value) in headers {
        check_header(name, value)?;
        check_not_reserved(name, &["Content-Length", "Transfer-Encoding"])?;
    }
    let mut out = Vec::with_capacity(128 + body.len());
    push_status_line(&mut out, status);
    for (name, value) in headers {
        push_header(&mut out, name, value.as_bytes());
    }
    if !bodiless {
        push_header(
            &mut out,
            "Content-Length",
            body.len().to_string().as_bytes(),
        );
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    Ok(out)
}

/// What a head parser made of the buffered bytes.
pub(crate) enum Head<T> {
    /// More bytes are needed.
    Partial,
    /// The head is complete: its length in bytes and what was parsed.
    Complete(usize, T),
}

/// Collects one header block, never holding more than `limit` bytes.
///
/// Bytes beyond the limit are not copied in; if the head turns out complete
/// within the limit, they become part of the leftover, otherwise the head is
/// too large. The parser runs only once the buffer holds a possible end of
/// head (`\n\n` or `\n\r\n`) it has not yet tried, or is full, so feeding one
/// byte at a time costs one parse per blank line, not one per byte.
#[derive(Debug)]
pub(crate) struct HeadBuffer {
    buf: BytesMut,
    limit: usize,
    /// Where to resume the search for a blank line.
    scan_from: usize,
    /// How many bytes of empty lines (`\r`, `\n`) come before the start
    /// line. The parser skips them (RFC 9112 section 2.2), so they cannot
    /// end the head: were they taken for its end, the parser would run on
    /// whatever prefix of the start line had come by then, and how the
    /// bytes were split would change the outcome.
    leading: usize,
    finished: bool,
}

impl HeadBuffer {
    /// An empty buffer holding at most `limit` bytes.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            limit,
            scan_from: 0,
            leading: 0,
            finished: false,
        }
    }

    /// The limit in bytes.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes currently buffered (at most the limit).
    #[cfg(test)]
    pub(crate) fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds `bytes`. `Ok(None)` means more are needed; `Ok(Some((t, rest)))`
    /// gives the parsed head and every byte received after it. After a result
    /// or an error, the buffer is released and every call fails with
    /// [`HandshakeError::Finished`].
    pub(crate) fn receive<T>(
        &mut self,
        bytes: &[u8],
        parse: impl FnOnce(&[u8]) -> Result<Head<T>, HandshakeError>,
    ) -> Result<Option<(T, Bytes)>, HandshakeError> {
        if self.finished {
            return Err(HandshakeError::Finished);
        }
        let room = self.limit.saturating_sub(self.buf.len());
        let (taken, rest) = bytes.split_at(room.min(bytes.len()));
        let search_from = self.scan_from.max(self.buf.len().saturating_sub(2));
        self.buf.extend_from_slice(taken);
        let full = self.buf.len() >= self.limit;
        while matches!(self.buf.get(self.leading), Some(b'\r' | b'\n')) {
            self.leading += 1;
        }
        let blank_line = find_blank_line(&self.buf, search_from.max(self.leading));
        if blank_line.is_none() && !full {
            self.scan_from = self.buf.len().saturating_sub(2);
            return Ok(None);
        }
        match parse(&self.buf) {
            Ok(Head::Complete(len, parsed)) => {
                let mut leftover = self.buf.split_off(len.min(self.buf.len()));
                leftover.extend_from_slice(rest);
                self.finish();
                Ok(Some((parsed, leftover.freeze())))
            }
            Ok(Head::Partial) if full => {
                self.finish();
                Err(HandshakeError::HeadersTooLarge { limit: self.limit })
            }
            Ok(Head::Partial) => {
                // A blank line that did not end the head (httparse skips
                // blank lines before the start line): look past it next time.
                self.scan_from = blank_line.map_or(self.buf.len(), |i| i + 1);
                Ok(None)
            }
            Err(err) => {
                self.finish();
                Err(err)
            }
        }
    }

    fn finish(&mut self) {
        self.finished = true;
        self.buf = BytesMut::new();
    }
}

/// The index of the first `\n` at or after `from` that starts `\n\n` or
/// `\n\r\n`.
fn find_blank_line(buf: &[u8], from: usize) -> Option<usize> {
    let tail = buf.get(from..)?;
    tail.iter().enumerate().find_map(|(i, &b)| {
        let ends = b == b'\n'
            && match tail.get(i + 1) {
                Some(b'\n') => true,
                Some(b'\r') => tail.get(i + 2) == Some(&b'\n'),
                _ => false,
            };
        ends.then_some(from + i)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7230_3_2_6_tokens() {
        assert!(is_token(b"websocket"));
        assert!(is_token(b"permessage-deflate"));
        assert!(is_token(b"x!#$%&'*+-.^_`|~9"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        for sep in b"()<>@,;:\\\"/[]?={} \t\x7f\x00" {
            assert!(!is_token(&[b'a', *sep]), "{sep}");
        }
    }

    #[test]
    fn rfc7230_7_list_split_trims_and_skips_empty() {
        let parts: Vec<&[u8]> = split_header_list(b" keep-alive ,\tUpgrade,, ,x").collect();
        assert_eq!(parts, [&b"keep-alive"[..], b"Upgrade", b"x"]);
        assert_eq!(split_header_list(b"").count(), 0);
        assert_eq!(split_header_list(b" , ,").count(), 0);
    }

    #[test]
    fn trim_ows_edges() {
        assert_eq!(trim_ows(b""), b"");
        assert_eq!(trim_ows(b" \t "), b"");
        assert_eq!(trim_ows(b" a b\t"), b"a b");
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let headers: HeaderList = vec![
            ("Host".into(), b"a".to_vec()),
            ("X-Y".into(), b"1".to_vec()),
            ("x-y".into(), b"2".to_vec()),
        ];
        assert_eq!(header(&headers, "HOST"), Some(&b"a"[..]));
        assert_eq!(headers_named(&headers, "X-y").count(), 2);
        assert_eq!(
            header_once(&headers, "X-Y"),
            Err(HandshakeError::DuplicateHeader { name: "X-Y" })
        );
        assert_eq!(header_once(&headers, "host"), Ok(Some(&b"a"[..])));
        assert_eq!(header_once(&headers, "missing"), Ok(None));
    }

    #[test]
    fn http_response_writes_length_and_rejects_injection() {
        let out = http_response(401, &[("WWW-Authenticate", "Basic")], b"no").expect("ok");
        assert_eq!(
            out,
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic\r\nContent-Length: 2\r\n\r\nno"
        );
        let out = http_response(299, &[], b"").expect("ok");
        assert_eq!(out, b"HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n");
        assert!(matches!(
            http_response(400, &[("X", "a\r\nSet-Cookie: x")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        assert!(matches!(
            http_response(400, &[("X Y", "a")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        assert!(matches!(
            http_response(400, &[("content-length", "5")], b""),
            Err(HandshakeError::InvalidHeader { .. })
        ));
        assert!(matches!(
            http_response(42, &[], b""),
            Err(HandshakeError::InvalidStatus { .. })
        ));
        assert!(matches!(
            http_response(204, &[], b"x"),
            Err(HandshakeError::InvalidStatus { .. })
        ));
        let out = http_response(304, &[], b"").expect("ok");
        assert_eq!(out, b"HTTP/1.1 304 Not Modified\r\n\r\n");
    }

    #[test]
    fn blank_line_search() {
        assert_eq!(find_blank_line(b"a\r\n\r\n", 0), Some(2));
        assert_eq!(find_blank_line(b"a\n\n", 0), Some(1));
        assert_eq!(find_blank_line(b"a\r\n\r", 0), None);
        assert_eq!(find_blank_line(b"a\r\n", 9), None);
        assert_eq!(find_blank_line(b"\n\nx\n\n", 1), Some(3));
    }

    #[test]
    fn shown_truncates_peer_data() {
        assert_eq!(shown(b"abc"), "abc");
        let long = [b'x'; 100];
        assert_eq!(shown(&long).len(), 67);
    }
}
