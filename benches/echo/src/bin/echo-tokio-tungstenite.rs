//! tokio-tungstenite's echo server, as its examples/echo-server.rs: a task
//! per connection that forwards the data messages of the read half into the
//! write half (`forward` flushes when the read side has nothing ready, so
//! a burst leaves in one write).
//!
//! Runtime: tokio's multi-thread runtime (`#[tokio::main]`). Its worker
//! count follows the CPUs the process may run on, so pinned to one CPU
//! (`taskset -c 0`, as benches/echo.sh does) it runs one worker thread.

use futures_util::{future, StreamExt, TryStreamExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    weir_bench_echo::announce("tokio-tungstenite", port);
    while let Ok((stream, _)) = listener.accept().await {
        tokio::spawn(echo(stream));
    }
    Ok(())
}

async fn echo(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (write, read) = ws.split();
    let _ = read
        .try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(write)
        .await;
}
