//! The low-level hooks the server API is built on, used directly:
//! `Handler::on_http`, `WakeHandle` + `Handler::on_wake` + `Conns`, and
//! `EventLoop::shutdown`.

use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use weir_mio::weir_proto::handshake::http_response;
use weir_mio::{
    CloseCode, Config, ConnId, ConnInfo, Conns, EventLoop, Handler, HttpRequest, Message, Opened,
    Ws,
};
use weir_test_support::{
    client::Client,
    tcp::{read_to_eof, tcp},
};

/// Answers `/hello` over plain HTTP, reports opened ids, sends what other
/// threads queue, and shuts the loop down when asked to.
struct App {
    opened: mpsc::Sender<ConnId>,
    queue: Arc<Mutex<Vec<(ConnId, String)>>>,
}

impl Handler for App {
    fn on_http(&mut self, request: &HttpRequest, _info: &ConnInfo) -> Vec<u8> {
        let body = format!("hello from {}", request.path());
        http_response(200, &[("Connection", "close")], body.as_bytes()).unwrap()
    }

    fn on_open(&mut self, ws: &mut Ws<'_>, _opened: Opened<'_>) {
        self.opened.send(ws.id()).unwrap();
    }

    fn on_wake(&mut self, conns: &mut Conns<'_>) {
        for (id, text) in std::mem::take(&mut *self.queue.lock().unwrap()) {
            if text == "shutdown" {
                conns.shutdown(CloseCode::GOING_AWAY, "bye all");
            } else if let Some(mut ws) = conns.ws(id) {
                ws.send(text).unwrap();
            }
        }
    }
}

#[test]
fn http_hook_wake_handle_and_shutdown() {
    let mut event_loop = EventLoop::new(Config::default()).unwrap();
    let addr = event_loop.listen("127.0.0.1:0").unwrap();
    let wake = event_loop.wake_handle();
    let (opened_tx, opened) = mpsc::channel();
    let queue = Arc::new(Mutex::new(Vec::new()));
    let mut app = App {
        opened: opened_tx,
        queue: Arc::clone(&queue),
    };
    let thread = std::thread::spawn(move || {
        event_loop.run_until_idle(&mut app).unwrap();
        event_loop.connection_count()
    });

    let mut stream = tcp(addr);
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let answer = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("hello from /hello"), "{answer}");

    let mut client = Client::connect(addr, "/ws");
    let id = opened.recv_timeout(weir_test_support::PATIENCE).unwrap();
    queue
        .lock()
        .unwrap()
        .push((id, "from another thread".into()));
    wake.wake();
    assert_eq!(client.next_message(), Message::from("from another thread"));

    queue.lock().unwrap().push((id, "shutdown".into()));
    wake.wake();
    assert_eq!(
        client.expect_close_then_eof(),
        Some((CloseCode::GOING_AWAY, "bye all".to_owned()))
    );
    // No listener and no connection left: run_until_idle returns.
    assert_eq!(thread.join().unwrap(), 0);
    drop(stream);
}
