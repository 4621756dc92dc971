//! fastwebsockets' echo server, as its examples/echo_server.rs: hyper 1
//! serves HTTP/1.1 with upgrades, `fastwebsockets::upgrade::upgrade`
//! answers the handshake, and a task per connection reads frames through a
//! `FragmentCollector` and writes data frames back (`write_frame` writes
//! each frame at once). Auto-pong and auto-close are on (the defaults).
//!
//! Runtime: tokio's current-thread runtime, as the example.
//!
//! `echo-fastwebsockets PORT tls CERT.pem KEY.pem` serves `wss://`
//! instead: each connection's task first completes the TLS handshake with
//! `tokio-rustls` (on weir-tls's rustls configuration, as the other TLS
//! servers), then hyper serves over the TLS stream.

use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use weir_bench_echo::tls::{run_current_thread, ServeStream};

async fn handle_client(fut: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
    let mut ws = FragmentCollector::new(fut.await?);
    loop {
        let frame = ws.read_frame().await?;
        match frame.opcode {
            OpCode::Close => break,
            OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

async fn server_upgrade(
    mut req: Request<Incoming>,
) -> Result<Response<Empty<Bytes>>, WebSocketError> {
    let (response, fut) = upgrade::upgrade(&mut req)?;
    tokio::task::spawn(async move {
        let _ = tokio::task::unconstrained(handle_client(fut)).await;
    });
    Ok(response)
}

fn main() -> std::io::Result<()> {
    run_current_thread("fastwebsockets", Http)
}

/// HTTP/1.1, with upgrades, on each connection.
#[derive(Clone, Copy)]
struct Http;

impl ServeStream for Http {
    async fn serve<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = hyper_util::rt::TokioIo::new(stream);
        let _ = http1::Builder::new()
            .serve_connection(io, service_fn(server_upgrade))
            .with_upgrades()
            .await;
    }
}
