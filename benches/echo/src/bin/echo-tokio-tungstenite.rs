//! tokio-tungstenite's echo server, as its examples/echo-server.rs: a task
//! per connection that forwards the data messages of the read half into the
//! write half (`forward` flushes when the read side has nothing ready, so
//! a burst leaves in one write).
//!
//! Runtime: tokio's multi-thread runtime (`#[tokio::main]`). Its worker
//! count follows the CPUs the process may run on, so pinned to one CPU
//! (`taskset -c 0`, as benches/echo.sh does) it runs one worker thread.
//!
//! `echo-tokio-tungstenite PORT tls CERT.pem KEY.pem` serves `wss://`
//! instead: each task first completes the TLS handshake with
//! `tokio-rustls` (on weir-tls's rustls configuration, as the other TLS
//! servers), then echoes over the TLS stream.

use std::sync::Arc;

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let tls = weir_bench_echo::tls::server_tls_arg()
        .map(|tls| TlsAcceptor::from(Arc::clone(tls.config())));
    weir_bench_echo::announce("tokio-tungstenite", port);
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        match &tls {
            Some(acceptor) => {
                let accept = acceptor.accept(stream);
                tokio::spawn(async move {
                    if let Ok(stream) = accept.await {
                        echo(stream).await;
                    }
                });
            }
            None => {
                tokio::spawn(echo(stream));
            }
        }
    }
    Ok(())
}

async fn echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (write, read) = ws.split();
    let _ = read
        .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(write)
        .await;
}
