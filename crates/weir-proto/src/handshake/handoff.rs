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
//! [`UpgradeRequest::accept`]: super::UpgradeRequest::accept
//! [`Response::connection`]: super::Response::connection

use bytes::Bytes;

use super::extensions::ExtensionOffer;
use super::HandshakeError;
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
    /// The server's connection.
    pub connection: Connection,
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
