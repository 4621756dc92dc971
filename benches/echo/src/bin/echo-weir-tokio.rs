//! weir-tokio's echo server, written as tokio-tungstenite's: a task per
//! connection that forwards the messages of the read half into the write
//! half (`forward` flushes when the read side has nothing ready, so a
//! burst leaves in one write). Same runtime set-up as the tokio peers:
//! `#[tokio::main]`, one worker when pinned to one CPU.
//!
//! `echo-weir-tokio PORT tls CERT.pem KEY.pem` serves `wss://` instead,
//! over tokio-rustls, as the other tokio servers.

use std::future::Future;

use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite};
use weir_bench_echo::tls::{serve_tokio, ServeStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    serve_tokio("weir-tokio", Echo).await
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
    let Ok(ws) = weir_tokio::accept_async(stream).await else {
        return;
    };
    let (read, write) = ws.split();
    let _ = read.forward(write).await;
}
