//! yawc's echo server, as its examples/echo_server.rs: hyper 1 serves
//! HTTP/1.1 with upgrades, `WebSocket::upgrade_with_options` answers the
//! handshake, and a task per connection (`tokio::task::unconstrained`)
//! reads messages and sends the data ones back (`SinkExt::send`: each echo
//! is written and flushed at once). Runtime: tokio's multi-thread runtime
//! (`#[tokio::main]`, as the example; pinned to one CPU it runs one worker).
//!
//! `echo-yawc PORT [takeover]`. The example turns compression off
//! (`CompressionLevel::none()`); here permessage-deflate is on and set up
//! like weir's servers, so the rows compare like with like:
//!
//! - default: yawc's own recipe for many connections (the `DeflatePool`
//!   docs): `with_low_latency_compression()` (zlib level 1),
//!   `server_no_context_takeover()` and `client_no_context_takeover()`
//!   imposed on every client, a `DeflatePool` shared by all connections
//!   (state borrowed per message), 1 KiB initial read and write buffers; the
//!   pool's capacity 4 and the threshold 128 bytes are weir's values (the
//!   docs say 64 for both). Like weir-mio's `DeflateConfig::low_memory()`.
//! - `takeover`: `with_low_latency_compression()` and threshold 128 only:
//!   context takeover both ways, each connection keeps its own deflate
//!   state and the default 8 KiB buffers. Like `DeflateConfig::default()`.
//!
//! Windows are 15 bits either way: yawc with its `zlib` feature answers a
//! client's bare `client_max_window_bits` with 9 unless told a value, so the
//! server sets 15. In this workspace flate2 runs on zlib-rs
//! (weir-proto asks for it, and Cargo unifies features), so yawc and weir
//! compress with the same zlib.

use futures_util::{SinkExt, StreamExt};
use http_body_util::Empty;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tokio::net::TcpListener;
use yawc::{DeflatePool, OpCode, Options, WebSocket};

async fn handle_client(fut: yawc::UpgradeFut) -> yawc::Result<()> {
    let mut ws = fut.await?;
    while let Some(frame) = ws.next().await {
        match frame.opcode() {
            OpCode::Text | OpCode::Binary => ws.send(frame).await?,
            _ => {}
        }
    }
    Ok(())
}

fn options(takeover: bool, pool: &DeflatePool) -> Options {
    let options = Options::default()
        .with_low_latency_compression()
        .with_compression_threshold(128)
        // The client's window when it offers `client_max_window_bits` with
        // no value: 15, as weir and ws answer (yawc would answer 9).
        .with_client_max_window_bits(15);
    if takeover {
        options
    } else {
        options
            .server_no_context_takeover()
            .client_no_context_takeover()
            .with_deflate_pool(pool.clone())
            .with_read_buffer_capacity(1024)
            .with_write_buffer_capacity(1024)
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let takeover = weir_bench_echo::takeover_arg();
    let pool = DeflatePool::new(4);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let name = if takeover { "yawc-takeover" } else { "yawc" };
    weir_bench_echo::announce(name, port);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let options = options(takeover, &pool);
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let service = service_fn(move |mut req: Request<Incoming>| {
                let options = options.clone();
                async move {
                    let (response, fut) = WebSocket::upgrade_with_options(&mut req, options)?;
                    tokio::task::spawn(async move {
                        let _ = tokio::task::unconstrained(handle_client(fut)).await;
                    });
                    Ok::<Response<Empty<Bytes>>, yawc::WebSocketError>(response)
                }
            });
            let _ = http1::Builder::new()
                .serve_connection(io, service)
                .with_upgrades()
                .await;
        });
    }
}
