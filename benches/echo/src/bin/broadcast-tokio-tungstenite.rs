//! The broadcast workload's tokio-tungstenite server (`bash
//! benches/broadcast.sh`), written as a user would on one thread: tokio's
//! current-thread runtime, a task per connection reading its messages, and
//! a shared list of every client's sender. Each text or binary message is
//! cloned (a reference count: tungstenite 0.28's payloads are `Bytes`) into
//! every client's unbounded queue, the sender's included; a writer task per
//! client feeds everything queued into its sink and flushes once the queue
//! is empty, so a burst leaves in one write.
//!
//! `broadcast-tokio-tungstenite PORT`.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_tungstenite::tungstenite::Message;

/// Every open client's queue, with the id that removes it at the end.
type Clients = Arc<Mutex<Vec<(u64, UnboundedSender<Message>)>>>;

fn main() -> std::io::Result<()> {
    let port = weir_bench_echo::port_arg();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        weir_bench_echo::announce("broadcast-tokio-tungstenite", port);
        let clients = Clients::default();
        for id in 0.. {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(serve(id, stream, Arc::clone(&clients)));
        }
        Ok(())
    })
}

/// One client: joins the list once its handshake is done, sends what it
/// receives to everyone in the list, and leaves the list when it closes.
async fn serve(id: u64, stream: TcpStream, clients: Clients) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = unbounded_channel();
    clients.lock().unwrap().push((id, tx));
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.feed(message).await.is_err() {
                return;
            }
            while let Ok(message) = rx.try_recv() {
                if sink.feed(message).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        if message.is_text() || message.is_binary() {
            for (_, client) in clients.lock().unwrap().iter() {
                // Fails only for a client whose writer has ended.
                let _ = client.send(message.clone());
            }
        }
    }
    clients.lock().unwrap().retain(|(other, _)| *other != id);
    writer.abort();
}
