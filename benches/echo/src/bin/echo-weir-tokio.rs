//! weir-tokio's echo server: a task per connection that answers each
//! message with `feed` (queued, not flushed); polling the stream for the
//! next message writes and flushes what is queued before it waits, so a
//! burst leaves in one write. This is the form weir-tokio's docs give for
//! an echo, as fastwebsockets' bench uses its own example's loop.
//! (Written as tokio-tungstenite's, `split()` and `forward`, it costs more:
//! callgrind, 100 x 20 B with one in flight, 3,558 instructions per
//! message against 3,074; benches/README.md.) Runtime: as every tokio
//! server here, tokio's current-thread runtime, the echo `unconstrained`
//! ([`run_current_thread`]).
//!
//! `echo-weir-tokio PORT tls CERT.pem KEY.pem` serves `wss://` instead,
//! over tokio-rustls, as the other tokio servers.

use std::future::Future;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use weir_bench_echo::tls::{run_current_thread, ServeStream};

fn main() -> std::io::Result<()> {
    run_current_thread("weir-tokio", Echo)
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
    let Ok(mut ws) = weir_tokio::accept_async(stream).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if ws.feed(message).await.is_err() {
            return;
        }
    }
}
