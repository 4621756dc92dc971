//! hyper 1.x serves a page on `/` and upgrades `/ws` to a WebSocket that
//! echoes every message, with weir deciding the handshake and running the
//! connection.
//!
//! ```sh
//! cargo run -p weir-tokio --example hyper-upgrade -- 127.0.0.1:8080
//! # then open http://127.0.0.1:8080/ in a browser
//! ```
//!
//! On `/ws`, `weir_tokio::upgrade` checks the request hyper parsed (the
//! same RFC 6455 rules as weir's own parser), returns the `101` (or the
//! refusal's answer) for the service to send, and runs the echo once hyper
//! hands the connection over (`hyper::upgrade::on`; the connection is
//! served `with_upgrades()`).

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::Full;
use hyper::body::Incoming as Body;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use weir_tokio::weir_proto::handshake::AcceptOptions;
use weir_tokio::Config;

const PAGE: &str = r#"<!doctype html>
<title>weir on hyper</title>
<p>Messages sent to <code>/ws</code> come back:</p>
<pre id="log"></pre>
<script>
  const ws = new WebSocket(`ws://${location.host}/ws`);
  const log = (line) => (document.getElementById("log").textContent += line + "\n");
  ws.onopen = () => ws.send("hello from the browser");
  ws.onmessage = (event) => log(`echoed: ${event.data}`);
</script>
"#;

/// Serves `listener` until the process ends.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (tcp, _) = listener.accept().await?;
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service_fn(route))
                .with_upgrades();
            if let Err(error) = connection.await {
                eprintln!("hyper connection: {error}");
            }
        });
    }
}

/// The page on `/`, the WebSocket on `/ws`, 404 elsewhere.
async fn route(mut request: Request<Body>) -> Result<Response<Full<Bytes>>, Infallible> {
    let response = match request.uri().path() {
        "/" => Response::new(PAGE.into()),
        "/ws" => upgrade(&mut request),
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"not found\n")));
            *response.status_mut() = hyper::StatusCode::NOT_FOUND;
            response
        }
    };
    Ok(response)
}

/// Answers an upgrade request on `/ws`; once hyper hands the connection
/// over, echoes every message.
fn upgrade(request: &mut Request<Body>) -> Response<Full<Bytes>> {
    let options = |_: &_| Ok(AcceptOptions::default());
    weir_tokio::upgrade(request, Config::default(), options, |mut ws| async move {
        while let Some(Ok(message)) = ws.next().await {
            if ws.send(message).await.is_err() {
                break;
            }
        }
    })
    .map(Full::from)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8080".into())
        .parse()
        .expect("an address such as 127.0.0.1:8080");
    let listener = TcpListener::bind(address).await?;
    println!("hyper-upgrade on http://{}/", listener.local_addr()?);
    serve(listener).await
}
