//! Routing: which [`WsHandler`](super::WsHandler) answers an upgrade to which path, and the
//! fallback for plain HTTP requests ([`HttpResponse`]).
//!
//! A pattern is either a path matched exactly (`/chat`) or a prefix ending
//! in `/*` (`/rooms/*` matches `/rooms/` and everything under it; `/*`
//! matches every path). Exact patterns win over prefixes; among prefixes the
//! longest wins. Paths are compared as sent, without the query.

use std::fmt;
use std::sync::Arc;

use weir_proto::handshake::{http_response, internal_error, HttpRequest};

use super::dispatch::Dispatch;

/// The plain-HTTP fallback: a function from a request to a response.
pub(crate) type HttpFn = dyn Fn(&HttpRequest) -> HttpResponse + Send + Sync;

/// One route: a pattern and its handler.
pub(crate) struct Route {
    pub(crate) pattern: String,
    pub(crate) handler: Arc<dyn Dispatch>,
}

/// Every route of a server and its HTTP fallback.
pub(crate) struct Routes {
    pub(crate) routes: Vec<Route>,
    pub(crate) http: Box<HttpFn>,
}

impl Routes {
    /// The index of the route that serves `path`, if any.
    pub(crate) fn find(&self, path: &str) -> Option<usize> {
        if let Some(index) = self.routes.iter().position(|r| r.pattern == path) {
            return Some(index);
        }
        self.routes
            .iter()
            .enumerate()
            .filter_map(|(index, route)| {
                let prefix = route.pattern.strip_suffix('*')?;
                path.starts_with(prefix).then_some((prefix.len(), index))
            })
            .max_by_key(|&(len, index)| (len, std::cmp::Reverse(index)))
            .map(|(_, index)| index)
    }

    /// The handler of route `index`.
    pub(crate) fn handler(&self, index: usize) -> &dyn Dispatch {
        self.routes[index].handler.as_ref()
    }
}

/// An answer to a plain HTTP request, from the server's fallback
/// ([`ServerBuilder::http`](super::ServerBuilder::http)).
///
/// The connection closes after it (`Connection: close` is added), so
/// every request gets a fresh connection: enough to serve the page that
/// opens a socket, not a general web server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status`, no header and an empty body.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// `200 OK` with an HTML page.
    pub fn html(page: impl Into<Vec<u8>>) -> Self {
        Self::new(200)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_body(page)
    }

    /// A plain-text response with `status`.
    pub fn text(status: u16, text: impl Into<Vec<u8>>) -> Self {
        Self::new(status)
            .with_header("Content-Type", "text/plain; charset=utf-8")
            .with_body(text)
    }

    /// `404 Not Found`: the default fallback.
    pub fn not_found() -> Self {
        Self::text(404, "Not found.\n")
    }

    /// Adds a header field (not `Content-Length`, which is computed).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The bytes on the wire: status line, headers, `Connection: close`,
    /// `Content-Length`, body. An invalid status or header gives a bare
    /// `500` instead.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("Connection"))
        {
            headers.push(("Connection", "close"));
        }
        http_response(self.status, &headers, &self.body).unwrap_or_else(|_| internal_error())
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Route")
            .field("pattern", &self.pattern)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nop;
    impl crate::server::WsHandler for Nop {
        type State = ();
    }

    fn routes(patterns: &[&str]) -> Routes {
        Routes {
            routes: patterns
                .iter()
                .map(|p| Route {
                    pattern: (*p).to_owned(),
                    handler: Arc::new(Nop),
                })
                .collect(),
            http: Box::new(|_| HttpResponse::not_found()),
        }
    }

    #[test]
    fn exact_beats_prefix_and_longest_prefix_wins() {
        let r = routes(&["/*", "/chat", "/rooms/*", "/rooms/big/*"]);
        assert_eq!(r.find("/chat"), Some(1));
        assert_eq!(r.find("/chat/x"), Some(0));
        assert_eq!(r.find("/rooms/a"), Some(2));
        assert_eq!(r.find("/rooms/big/a"), Some(3));
        assert_eq!(r.find("/"), Some(0));
        let r = routes(&["/chat"]);
        assert_eq!(r.find("/other"), None);
    }

    #[test]
    fn responses_close_and_carry_their_length() {
        let bytes = HttpResponse::html("<p>hi</p>").to_bytes();
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 "), "{text}");
        assert!(text.contains("Content-Type: text/html; charset=utf-8\r\n"));
        assert!(text.contains("Connection: close\r\n"));
        assert!(
            text.ends_with("Content-Length: 9\r\n\r\n<p>hi</p>"),
            "{text}"
        );
        assert!(HttpResponse::new(42)
            .to_bytes()
            .starts_with(b"HTTP/1.1 500"));
    }
}
