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

use std::future::Future;

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use weir_bench_echo::tls::{serve_tokio, ServeStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    serve_tokio("tokio-tungstenite", Echo).await
}

/// The echo of each connection.
#[derive(Clone, Copy)]
struct Echo;

impl ServeStream for Echo {
    fn serve<S>(self, stream: S) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        echo(stream)
    }
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
