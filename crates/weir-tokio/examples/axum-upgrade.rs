//! axum 0.8 routes `/` to a page and `/ws` to a WebSocket that echoes
//! every message, with weir in place of axum's own `ws` feature (which is
//! tokio-tungstenite): the handler takes the whole request and returns
//! what `weir_tokio::upgrade` answers, which runs the connection once
//! hyper hands it over. `axum::serve` enables HTTP/1.1 upgrades, so this
//! works on axum's requests as on hyper's.
//!
//! ```sh
//! cargo run -p weir-tokio --example axum-upgrade -- 127.0.0.1:8080
//! ```

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::Request;
use axum::response::{Html, Response};
use axum::routing::get;
use axum::Router;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use weir_tokio::weir_proto::handshake::AcceptOptions;
use weir_tokio::Config;

/// The application: a page and the WebSocket endpoint.
pub fn app() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { Html("<p>WebSocket echo on <code>/ws</code></p>") }),
        )
        .route("/ws", get(websocket))
}

/// Answers the upgrade on `/ws`; once hyper hands the connection over,
/// echoes every message.
async fn websocket(mut request: Request) -> Response {
    let options = |_: &_| Ok(AcceptOptions::default());
    weir_tokio::upgrade(
        &mut request,
        Config::default(),
        options,
        |mut ws| async move {
            while let Some(Ok(message)) = ws.next().await {
                if ws.send(message).await.is_err() {
                    break;
                }
            }
        },
    )
    .map(Body::from)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .expect("an address such as 127.0.0.1:8080");
    let listener = TcpListener::bind(address).await?;
    println!("axum-upgrade on http://{}/", listener.local_addr()?);
    axum::serve(listener, app()).await
}
