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

use std::sync::Arc;

use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

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
    let port = weir_bench_echo::port_arg();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let tls = weir_bench_echo::tls::server_tls_arg()
        .map(|tls| TlsAcceptor::from(Arc::clone(tls.config())));
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        weir_bench_echo::announce("fastwebsockets", port);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            match &tls {
                Some(acceptor) => {
                    let accept = acceptor.accept(stream);
                    tokio::spawn(async move {
                        if let Ok(stream) = accept.await {
                            serve(stream).await;
                        }
                    });
                }
                None => {
                    tokio::spawn(serve(stream));
                }
            }
        }
    })
}

/// Serves HTTP/1.1, with upgrades, on one connection.
async fn serve<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(stream: S) {
    let io = hyper_util::rt::TokioIo::new(stream);
    let _ = http1::Builder::new()
        .serve_connection(io, service_fn(server_upgrade))
        .with_upgrades()
        .await;
}
