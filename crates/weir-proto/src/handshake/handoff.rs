//! From a finished handshake to a ready [`Connection`].
//!
//! The handshake decides which extensions are in use; the connection must
//! then speak them from its first byte, and must parse the bytes that came
//! after the handshake head before anything read later. Both steps happen
//! here, once, for both roles: [`UpgradeRequest::accept`] returns an
//! [`Accepted`] holding the `101` bytes and the server's connection, and
//! [`Response::connection`] turns a checked `101` into the client's.
//! No adapter can forget the leftover bytes or configure compression by hand.
//!
//! [`decide`] is the server's whole answer to a request head, for every
//! adapter: plain HTTP gets `426`, an invalid upgrade its error's answer, a
//! rejection its own, accept options the request does not allow a `500`,
//! and anything else the `101` and a connection.
//!
//! [`UpgradeRequest::accept`]: super::UpgradeRequest::accept
//! [`Response::connection`]: super::Response::connection

use std::sync::Arc;

use bytes::Bytes;

use super::answers::{internal_error, upgrade_required, Rejection};
use super::extensions::ExtensionOffer;
use super::server::{AcceptOptions, HttpRequest, Incoming, UpgradeRequest};
use super::HandshakeError;
use crate::config::Config;
use crate::connection::Connection;
#[cfg(feature = "deflate")]
use crate::deflate::{self, DeflateConfig, DeflateParams};

/// A server's accepted upgrade: the response to write, then the connection
/// to run. The connection has already taken the bytes that followed the
/// request and speaks the negotiated extensions.
#[derive(Debug)]
#[non_exhaustive]
pub struct Accepted {
    /// The `101 Switching Protocols` response, to write before any frame.
    pub response: Vec<u8>,
    /// The subprotocol selected, if any.
    pub protocol: Option<String>,
    /// The server's connection.
    pub connection: Connection,
}

/// A server's answer to a complete request head: see [`decide`].
#[derive(Debug)]
pub enum Decision {
    /// Write [`Accepted::response`], then run [`Accepted::connection`].
    Accept {
        /// The answer and the connection.
        accepted: Accepted,
        /// The request accepted, for the application (path, headers).
        request: Box<UpgradeRequest>,
    },
    /// Write `response`, then close the connection.
    Refuse {
        /// The complete HTTP answer.
        response: Vec<u8>,
        /// Why, for the application.
        refusal: Refusal,
    },
}

/// Why a server refused a request; see [`Decision::Refuse`].
#[derive(Debug)]
pub enum Refusal {
    /// A plain HTTP request, without `Upgrade: websocket`; the answer is
    /// `426 Upgrade Required` (an adapter that serves HTTP may answer
    /// otherwise).
    NotWebSocket(Box<HttpRequest>),
    /// An invalid upgrade request (answered with the error's own
    /// [`response`](HandshakeError::response)), or accept options the
    /// request does not allow, such as a subprotocol the client did not
    /// offer (answered `500`).
    Invalid(HandshakeError),
    /// The application's [`Rejection`], with its status.
    Rejected(u16),
}

/// Decides a server's answer to what [`ServerHandshake::receive`] made of a
/// complete request head: the one decision every adapter makes.
///
/// An upgrade request goes to `on_upgrade`, which returns the
/// [`AcceptOptions`] to accept with or a [`Rejection`]; an accepted one
/// gets the server's connection built with `config`.
///
/// [`ServerHandshake::receive`]: super::ServerHandshake::receive
pub fn decide<F>(
    incoming: Result<Incoming, HandshakeError>,
    config: impl Into<Arc<Config>>,
    on_upgrade: F,
) -> Decision
where
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, Rejection>,
{
    let refuse = |response, refusal| Decision::Refuse { response, refusal };
    let upgrade = match incoming {
        Ok(Incoming::Upgrade(upgrade)) => upgrade,
        Ok(Incoming::Http(request)) => {
            return refuse(upgrade_required(), Refusal::NotWebSocket(Box::new(request)))
        }
        Err(error) => {
            let response = error.response().unwrap_or_else(internal_error);
            return refuse(response, Refusal::Invalid(error));
        }
    };
    let options = match on_upgrade(&upgrade) {
        Ok(options) => options,
        Err(rejection) => {
            return refuse(rejection.response(), Refusal::Rejected(rejection.status()))
        }
    };
    match upgrade.accept(&options, config) {
        Ok(accepted) => Decision::Accept {
            accepted,
            request: Box::new(upgrade),
        },
        Err(error) => refuse(internal_error(), Refusal::Invalid(error)),
    }
}

/// Extensions agreed in a handshake, ready to configure a connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Agreed {
    /// permessage-deflate: the agreed parameters and the local choices.
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<(DeflateParams, DeflateConfig)>,
}

impl Agreed {
    /// Server side: the extensions to use for `offers`, and the values of
    /// the `Sec-WebSocket-Extensions` answer.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    pub(crate) fn from_offers(
        offers: &[ExtensionOffer],
        options: &super::AcceptOptions,
    ) -> (Self, Vec<ExtensionOffer>) {
        #[cfg(feature = "deflate")]
        if let Some(config) = &options.deflate {
            if let Some((params, answer)) = deflate::accept_offer(offers, config) {
                let agreed = Self {
                    deflate: Some((params, config.clone())),
                };
                return (agreed, vec![answer]);
            }
        }
        (Self::default(), Vec::new())
    }

    /// Client side: checks the server's `Sec-WebSocket-Extensions` answer
    /// against what `options` offered (RFC 6455 section 4.1, response step
    /// 5; RFC 7692 section 7.1).
    #[cfg_attr(not(feature = "deflate"), allow(clippy::never_loop))]
    pub(crate) fn from_answer(
        answer: &[ExtensionOffer],
        options: &super::ClientOptions,
    ) -> Result<Self, HandshakeError> {
        #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
        let mut agreed = Self::default();
        for extension in answer {
            #[cfg(feature = "deflate")]
            if let Some(config) = options
                .deflate
                .as_ref()
                .filter(|_| extension.name.eq_ignore_ascii_case(deflate::EXTENSION_NAME))
            {
                if agreed.deflate.is_some() {
                    return Err(HandshakeError::InvalidExtensionResponse {
                        reason: "permessage-deflate answered twice".into(),
                    });
                }
                let params = deflate::check_answer(extension, config)
                    .map_err(|reason| HandshakeError::InvalidExtensionResponse { reason })?;
                agreed.deflate = Some((params, config.clone()));
                continue;
            }
            let _ = options;
            return Err(HandshakeError::UnrequestedExtension {
                name: extension.name.clone(),
            });
        }
        Ok(agreed)
    }

    /// The offers a client with `options` sends.
    #[cfg_attr(not(feature = "deflate"), allow(unused_variables))]
    pub(crate) fn offers(options: &super::ClientOptions) -> Vec<ExtensionOffer> {
        #[cfg(feature = "deflate")]
        if let Some(config) = &options.deflate {
            return vec![deflate::offer(config)];
        }
        Vec::new()
    }

    /// Makes a fresh `connection` speak these extensions, and feeds it
    /// `leftover`.
    #[cfg_attr(not(feature = "deflate"), allow(unused_mut))]
    pub(crate) fn set_up(&self, mut connection: Connection, leftover: &Bytes) -> Connection {
        #[cfg(feature = "deflate")]
        if let Some((params, config)) = &self.deflate {
            connection.use_deflate(*params, config);
        }
        connection.receive(leftover);
        connection
    }

    /// The agreed permessage-deflate parameters, if any.
    #[cfg(feature = "deflate")]
    pub(crate) fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref().map(|(params, _)| params)
    }
}

#[cfg(test)]
mod tests {
    use super::super::server::tests::RFC_REQUEST;
    use super::super::ServerHandshake;
    use super::*;

    fn decide_on(request: &[u8], verdict: Result<AcceptOptions, Rejection>) -> Decision {
        let incoming = ServerHandshake::new().receive(request).map(Option::unwrap);
        decide(incoming, Config::default(), |_| verdict)
    }

    fn refused(decision: Decision) -> (String, Refusal) {
        match decision {
            Decision::Refuse { response, refusal } => {
                (String::from_utf8(response).unwrap(), refusal)
            }
            Decision::Accept { .. } => panic!("expected a refusal"),
        }
    }

    #[test]
    fn an_accepted_upgrade_gets_the_101_and_a_connection() {
        let options = AcceptOptions::default().with_protocol("chat");
        match decide_on(RFC_REQUEST, Ok(options)) {
            Decision::Accept { accepted, request } => {
                assert_eq!(request.request().path(), "/chat");
                assert!(accepted.response.starts_with(b"HTTP/1.1 101 "));
                assert_eq!(accepted.protocol.as_deref(), Some("chat"));
                assert_eq!(accepted.connection.role(), crate::Role::Server);
            }
            other => panic!("expected an accept, got {other:?}"),
        }
    }

    #[test]
    fn plain_http_gets_426() {
        let (response, refusal) = refused(decide_on(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            Ok(AcceptOptions::default()),
        ));
        assert!(response.starts_with("HTTP/1.1 426 "), "{response}");
        assert!(matches!(refusal, Refusal::NotWebSocket(request) if request.path() == "/"));
    }

    #[test]
    fn an_invalid_upgrade_gets_its_errors_answer() {
        let request = String::from_utf8_lossy(RFC_REQUEST).replacen("GET", "PUT", 1);
        let (response, refusal) =
            refused(decide_on(request.as_bytes(), Ok(AcceptOptions::default())));
        assert!(response.starts_with("HTTP/1.1 405 "), "{response}");
        assert!(matches!(
            refusal,
            Refusal::Invalid(HandshakeError::MethodNotAllowed { .. })
        ));
    }

    #[test]
    fn a_rejection_gets_its_own_answer() {
        let rejection = Rejection::new(403).with_body("no");
        let (response, refusal) = refused(decide_on(RFC_REQUEST, Err(rejection)));
        assert!(response.starts_with("HTTP/1.1 403 "), "{response}");
        assert!(response.ends_with("\r\n\r\nno"), "{response}");
        assert!(matches!(refusal, Refusal::Rejected(403)));
    }

    #[test]
    fn options_the_request_does_not_allow_get_500() {
        let options = AcceptOptions::default().with_protocol("not-offered");
        let (response, refusal) = refused(decide_on(RFC_REQUEST, Ok(options)));
        assert!(response.starts_with("HTTP/1.1 500 "), "{response}");
        assert!(matches!(
            refusal,
            Refusal::Invalid(HandshakeError::ProtocolNotOffered { .. })
        ));
    }
}
