//! tokio-tungstenite's echo server, as its examples/echo-server.rs: a task
//! per connection that forwards the data messages of the read half into the
//! write half (`forward` flushes when the read side has nothing ready, so
//! a burst leaves in one write).
//!
//! Runtime: as every tokio server here, tokio's current-thread runtime, the
//! echo `unconstrained` ([`run_current_thread`]; its example uses the
//! multi-thread runtime, which pinned to one CPU runs one worker).
//!
//! `echo-tokio-tungstenite PORT tls CERT.pem KEY.pem` serves `wss://`
//! instead: each task first completes the TLS handshake with
//! `tokio-rustls` (on weir-tls's rustls configuration, as the other TLS
//! servers), then echoes over the TLS stream.

use std::future::Future;

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use weir_bench_echo::tls::{run_current_thread, ServeStream};

fn main() -> std::io::Result<()> {
    run_current_thread("tokio-tungstenite", Echo)
}

/// The echo of each connection.
#[derive(Clone, Copy)]
struct Echo;

impl ServeStream for Echo {
    fn serve<S>(self, stream: S) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        tokio::task::unconstrained(echo(stream))
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
