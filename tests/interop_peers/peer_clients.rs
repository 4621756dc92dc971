//! The peers' clients against weir's echo servers (weir-mio's server API,
//! weir-std with and without context takeover).

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use weir::blocking;
use weir::event_loop::server::{Server, Socket, WsHandler};
use weir::event_loop::{self, ConnId};
use weir::proto::deflate::{DeflateConfig, DeflateParams};
use weir::proto::handshake::{AcceptOptions, HttpRequest, Rejection, UpgradeRequest};
use weir::proto::{CloseCode, Config, Message};
use weir_test_support::api_server::ApiServer;
use weir_test_support::peers::{installed, Peer};
use weir_test_support::{join, PATIENCE};

use super::{negotiated, params, uncompressed, EXTENSIONS};

/// What a weir echo server saw on one connection, reported when it ended.
#[derive(Debug, Default)]
struct Seen {
    offer: Option<String>,
    deflate: Option<DeflateParams>,
    echoed: usize,
    error: Option<String>,
}

fn offer_of(request: &HttpRequest) -> Option<String> {
    let value = request.header(EXTENSIONS)?;
    Some(String::from_utf8_lossy(value).into_owned())
}

/// The weir echo servers.
#[derive(Clone, Copy, Debug)]
enum WeirServer {
    /// weir-mio's server API with its default deflate terms.
    Mio,
    /// weir-std with `accept`'s default terms.
    Std,
    /// weir-std accepting context takeover both ways.
    StdTakeover,
}

/// A running weir echo server; stopped on drop.
struct WeirEcho {
    addr: SocketAddr,
    seen: Receiver<Seen>,
    stop: Option<Box<dyn FnOnce()>>,
}

impl Drop for WeirEcho {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }
}

impl WeirEcho {
    fn start(kind: WeirServer) -> Self {
        match kind {
            WeirServer::Mio => start_mio_server(),
            WeirServer::Std => start_std_server(AcceptOptions::default()),
            WeirServer::StdTakeover => start_std_server(
                AcceptOptions::default().with_deflate(Some(DeflateConfig::default())),
            ),
        }
    }
}

/// The weir-mio echo handler; keeps what each connection saw until it ends.
struct MioEcho {
    seen: Sender<Seen>,
    conns: Mutex<HashMap<ConnId, Seen>>,
}

impl MioEcho {
    fn with_seen<T>(&self, ws: &Socket, f: impl FnOnce(&mut Seen) -> T) -> T {
        f(self.conns.lock().unwrap().entry(ws.id()).or_default())
    }
}

impl WsHandler for MioEcho {
    type State = ();

    fn on_upgrade(
        &self,
        ws: &Socket,
        request: &UpgradeRequest,
    ) -> Result<AcceptOptions, Rejection> {
        self.with_seen(ws, |seen| seen.offer = offer_of(request.request()));
        Ok(AcceptOptions::default())
    }

    fn on_message(&self, ws: &Socket, _state: &mut Self::State, message: Message) {
        let index = self.with_seen(ws, |seen| {
            seen.echoed += 1;
            seen.echoed - 1
        });
        let sent = match uncompressed(index) {
            true => ws.send_uncompressed(message),
            false => ws.send(message),
        };
        if let Err(error) = sent {
            self.with_seen(ws, |seen| seen.error = Some(error.to_string()));
        }
    }

    fn on_error(&self, ws: &Socket, error: &event_loop::Error) {
        self.with_seen(ws, |seen| seen.error = Some(error.to_string()));
    }

    fn on_close(&self, ws: &Socket, _state: Self::State, _code: CloseCode, _reason: &str) {
        let mut seen = self
            .conns
            .lock()
            .unwrap()
            .remove(&ws.id())
            .unwrap_or_default();
        seen.deflate = ws.deflate();
        let _ = self.seen.send(seen);
    }
}

fn start_mio_server() -> WeirEcho {
    let (tx, seen) = mpsc::channel();
    let echo = MioEcho {
        seen: tx,
        conns: Mutex::default(),
    };
    // A 16 MiB echo must fit the send queue (the builder's is 1 MiB).
    let connection = Config::default().with_max_send_queue(64 << 20);
    let server = ApiServer::start(
        Server::builder()
            .route("/*", echo)
            .config(event_loop::Config::default().with_connection(connection)),
    );
    WeirEcho {
        addr: server.addr,
        seen,
        stop: Some(Box::new(move || {
            server.shutdown(Duration::from_secs(2));
        })),
    }
}

fn start_std_server(options: AcceptOptions) -> WeirEcho {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, seen) = mpsc::channel();
    let stopping = Arc::new(AtomicBool::new(false));
    let acceptor = {
        let stopping = Arc::clone(&stopping);
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::Acquire) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (options, tx) = (options.clone(), tx.clone());
                thread::spawn(move || serve_std(stream, options, tx));
            }
        })
    };
    WeirEcho {
        addr,
        seen,
        stop: Some(Box::new(move || {
            stopping.store(true, Ordering::Release);
            // Wake the acceptor; it sees the flag and returns.
            let _ = TcpStream::connect(addr);
            join(acceptor);
        })),
    }
}

/// One connection of the weir-std echo server.
fn serve_std(stream: TcpStream, options: AcceptOptions, tx: Sender<Seen>) {
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    stream.set_write_timeout(Some(PATIENCE)).unwrap();
    let mut seen = Seen::default();
    let accepted = blocking::accept_with(stream, Config::default(), |upgrade| {
        seen.offer = offer_of(upgrade.request());
        Ok(options)
    });
    // A failed handshake (or the stop's wake-up) shows at the peer.
    let Ok(mut ws) = accepted else { return };
    seen.deflate = ws.connection().deflate().copied();
    loop {
        let sent = match ws.read() {
            Ok(message) if uncompressed(seen.echoed) => ws.send_uncompressed(message),
            Ok(message) => ws.send(message),
            Err(blocking::Error::Closed(_)) => break,
            Err(error) => Err(error),
        };
        if let Err(error) = sent {
            seen.error = Some(error.to_string());
            break;
        }
        seen.echoed += 1;
    }
    let _ = tx.send(seen);
}

/// One offer of a peer client, and what a weir server that allows context
/// takeover agrees to (a low-memory one adds no context takeover both ways).
struct ClientCase {
    name: &'static str,
    /// The peer's command-line options, separated by spaces.
    args: &'static str,
    expect: DeflateParams,
}

fn client_cases(peer: Peer) -> Vec<ClientCase> {
    // websockets cannot compress with 8 bits: its own window is 9 at least.
    let (window_8, own_bits) = match peer {
        Peer::Python => ("--server-max-window-bits 8 --client-max-window-bits 9", 9),
        Peer::Node => ("--server-max-window-bits 8 --client-max-window-bits 8", 8),
    };
    vec![
        ClientCase {
            name: "its default offer, up to 16 MiB",
            args: "--big",
            expect: params(false, false, 15, 15),
        },
        ClientCase {
            name: "client_no_context_takeover and windows of 10",
            args: "--client-no-context-takeover --server-max-window-bits 10 --client-max-window-bits 10",
            expect: params(false, true, 10, 10),
        },
        ClientCase {
            name: "windows of 8",
            args: window_8,
            expect: params(false, false, 8, own_bits),
        },
    ]
}

/// Runs every [`ClientCase`] of `peer`'s client against a weir server.
fn peer_client_against(peer: Peer, kind: WeirServer) {
    if !installed(&[Peer::Python, Peer::Node]) {
        return;
    }
    let server = WeirEcho::start(kind);
    let url = format!("ws://{}/echo", server.addr);
    for case in client_cases(peer) {
        let what = format!(
            "{peer:?} client, {}, against the weir {kind:?} server",
            case.name
        );
        let output = peer
            .command("client")
            .arg(&url)
            .args(case.args.split_whitespace())
            .output()
            .unwrap();
        let printed =
            String::from_utf8_lossy(&output.stdout) + String::from_utf8_lossy(&output.stderr);
        let seen = server.seen.recv_timeout(PATIENCE);
        eprintln!("--- {what}\n{}\nweir saw {seen:?}", printed.trim_end());
        assert!(
            output.status.success(),
            "{what} failed ({}):\n{printed}\nweir saw {seen:?}",
            output.status
        );
        let seen = seen.unwrap_or_else(|e| panic!("{what}: the server reported nothing: {e}"));
        let (_, answer) =
            negotiated(&printed).unwrap_or_else(|| panic!("{what}: no answer in\n{printed}"));
        assert!(
            answer.contains("permessage-deflate"),
            "{what}: answer {answer}"
        );
        let mut expect = case.expect;
        if !matches!(kind, WeirServer::StdTakeover) {
            expect.server_no_context_takeover = true;
            expect.client_no_context_takeover = true;
        }
        assert_eq!(
            seen.deflate,
            Some(expect),
            "{what}: the server agreed to other terms"
        );
        assert_eq!(seen.error, None, "{what}");
        let sent = if case.args.contains("--big") { 12 } else { 10 };
        assert_eq!(seen.echoed, sent, "{what}: messages echoed");
    }
}

#[test]
fn python_client_against_weir_mio_server() {
    peer_client_against(Peer::Python, WeirServer::Mio);
}

#[test]
fn python_client_against_weir_std_server() {
    peer_client_against(Peer::Python, WeirServer::Std);
}

#[test]
fn python_client_against_weir_std_server_with_context_takeover() {
    peer_client_against(Peer::Python, WeirServer::StdTakeover);
}

#[test]
fn node_client_against_weir_mio_server() {
    peer_client_against(Peer::Node, WeirServer::Mio);
}

#[test]
fn node_client_against_weir_std_server() {
    peer_client_against(Peer::Node, WeirServer::Std);
}

#[test]
fn node_client_against_weir_std_server_with_context_takeover() {
    peer_client_against(Peer::Node, WeirServer::StdTakeover);
}
