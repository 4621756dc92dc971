//! WebSocket endpoints in hyper and axum services (cargo feature `hyper`):
//! [`upgrade`] answers an upgrade request and runs the connection on the
//! I/O hyper hands over once the `101` is written.
//!
//! The decision is the core's ([`decide`] on `Incoming::from_http`, the
//! same RFC 6455 checks as weir's own parser); this module glues it to
//! `hyper::upgrade::on`, which works for any server built on hyper with
//! upgrades enabled: hyper's `http1` connections with `with_upgrades()`,
//! and `axum::serve`. No axum `ws` feature (tokio-tungstenite) is needed.

use std::future::Future;

use hyper_util::rt::TokioIo;
use weir_proto::handshake::{
    decide, response_to_http, AcceptOptions, Decision, Incoming, Rejection, UpgradeRequest,
};
use weir_proto::Config;

use crate::stream::WebSocketStream;

/// The transport of a WebSocket that [`upgrade`] runs: hyper's upgraded
/// connection, as tokio I/O.
pub type Upgraded = TokioIo<hyper::upgrade::Upgraded>;

/// Answers `request`, an upgrade request in a hyper or axum service.
///
/// `options` sees a valid upgrade request (path, query, headers,
/// subprotocols) and returns the [`AcceptOptions`] to accept with, or a
/// [`Rejection`]. The returned response is what the service returns: the
/// `101`, or the refusal (426 for a request that is not an upgrade, 400,
/// 405... for an invalid one, the rejection's own answer). Once hyper has
/// written the `101`, a task on the current tokio runtime calls `serve`
/// with the [`WebSocketStream`], built with `config`.
///
/// ```no_run
/// # async fn handler(mut request: http::Request<()>) -> http::Response<Vec<u8>> {
/// use futures_util::{SinkExt, StreamExt};
///
/// weir_tokio::upgrade(&mut request, Default::default(), |_| Ok(Default::default()), |mut ws| async move {
///     while let Some(Ok(message)) = ws.next().await {
///         if ws.send(message).await.is_err() {
///             break;
///         }
///     }
/// })
/// # }
/// ```
pub fn upgrade<B, F, S, Fut>(
    request: &mut http::Request<B>,
    config: Config,
    options: F,
    serve: S,
) -> http::Response<Vec<u8>>
where
    F: FnOnce(&UpgradeRequest) -> Result<AcceptOptions, Rejection>,
    S: FnOnce(WebSocketStream<Upgraded>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let accepted = match decide(Incoming::from_http(request), config, options) {
        Decision::Accept { accepted, .. } => accepted,
        Decision::Refuse { response, .. } => return response_to_http(&response),
    };
    let response = accepted.http_response().map(|()| Vec::new());
    let on_upgrade = hyper::upgrade::on(request);
    tokio::spawn(async move {
        // No upgrade: the client went away, or the service's response was
        // not the 101 after all. Nothing to run.
        if let Ok(upgraded) = on_upgrade.await {
            let io = TokioIo::new(upgraded);
            serve(WebSocketStream::from_connection(io, accepted.connection)).await;
        }
    });
    response
}
