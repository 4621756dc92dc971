//! Servers in one cluster over a real Redis (feature `redis`): room
//! messages, server broadcasts and sends cross nodes, and room counts and
//! member lists span them; with Redis killed, each node's own rooms keep
//! working, the nodes report the outage, and what was meant for the other
//! node is dropped and counted; with Redis back on the same port, delivery
//! across nodes resumes without a restart; a node killed outright (the
//! chat example, in a process of its own) drops out of the other's counts
//! within the expiry; a node given its number starts without Redis and
//! joins the cluster when Redis comes.
//!
//! Needs `redis-server` on the PATH (`bash scripts/cluster-test.sh`
//! installs it); each test starts its own, on a free port, with no
//! persistence.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::{Duration, Instant};

use weir_mio::server::{Cluster, ClusterStatus, Server, Socket, WsHandler};
use weir_mio::weir_proto::handshake::UpgradeRequest;
use weir_mio::{ConnId, Message};
use weir_test_support::api_server::ApiServer;
use weir_test_support::client::Client;

/// How long anything may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(10);

/// The nodes' expiry (how long a node may go unheard): the default, which
/// the chat example uses too. Every node of a cluster must have the same.
const EXPIRY: Duration = Duration::from_secs(3);

/// A `redis-server` of the test's own, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    /// Starts one on `port` (0: a free one), without persistence, and waits
    /// until it accepts connections.
    fn start(port: u16) -> Self {
        let port = if port == 0 { free_port() } else { port };
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on the PATH (bash scripts/cluster-test.sh installs it)");
        wait_accepting(SocketAddr::from(([127, 0, 0, 1], port)), "redis-server");
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it, as a crash would.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until `what`, just started, accepts connections on `addr`.
fn wait_accepting(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "{what} did not start");
        sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// The test's chat: every connection is in room `lobby` and is told its
/// id; `room:TEXT` goes to the rest of the room, `all:TEXT` to everyone,
/// `to:ID:TEXT` to one connection.
struct Chat;

impl WsHandler for Chat {
    type State = ();

    fn on_open(&self, ws: &Socket, _request: &UpgradeRequest) {
        assert!(ws.join("lobby"));
        ws.send(format!("id {}", ws.id().as_u64())).unwrap();
    }

    fn on_message(&self, ws: &Socket, _state: &mut (), message: Message) {
        let Message::Text(text) = message else {
            return;
        };
        let server = ws.server();
        if let Some(text) = text.strip_prefix("room:") {
            let room = server.room("lobby");
            room.broadcast_except(ws.id(), text.to_owned()).unwrap();
        } else if let Some(text) = text.strip_prefix("all:") {
            server.broadcast(text.to_owned()).unwrap();
        } else if let Some(rest) = text.strip_prefix("to:") {
            let (id, text) = rest.split_once(':').unwrap();
            let id = ConnId::from_u64(id.parse().unwrap());
            server.send_to(id, text.to_owned()).unwrap();
        }
    }
}

/// A node: a server in the cluster, and the statuses it reported.
struct Node {
    server: ApiServer,
    statuses: Receiver<ClusterStatus>,
}

impl Node {
    /// A node that claims its number, forgetting others unheard for
    /// `expiry`.
    fn start(redis: &Redis, expiry: Duration) -> Self {
        let (tell, statuses) = mpsc::channel();
        let tell = Mutex::new(tell);
        let cluster = Cluster::redis(&redis.url())
            .expiry(expiry)
            .on_status(move |status| {
                let _ = tell.lock().unwrap().send(status);
            });
        let builder = Server::builder().route("/chat", Chat).cluster(cluster);
        let node = Self {
            server: ApiServer::start(builder),
            statuses,
        };
        assert_eq!(node.next_status(), ClusterStatus::Connected);
        node
    }

    fn next_status(&self) -> ClusterStatus {
        self.statuses.recv_timeout(PATIENCE).expect("a status")
    }

    /// A client in the lobby, and its id.
    fn join(&self) -> (Client, ConnId) {
        let mut client = Client::connect(self.server.addr, "/chat");
        client.stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let Message::Text(hello) = client.next_message() else {
            panic!("expected the id")
        };
        let id = hello.strip_prefix("id ").unwrap().parse().unwrap();
        (client, ConnId::from_u64(id))
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// Waits until the lobby counts `count` members from here.
    fn lobby_counts(&self, count: usize) -> Duration {
        let start = Instant::now();
        let lobby = self.server.handle.room("lobby");
        while lobby.count() != count {
            assert!(
                start.elapsed() < PATIENCE,
                "lobby at {} not {count}",
                lobby.count()
            );
            sleep(Duration::from_millis(10));
        }
        start.elapsed()
    }
}

/// Asks `client` to say `text` and waits until `to` hears `expected`.
fn says(client: &mut Client, text: &str, to: &mut Client, expected: &str) {
    client.send(text);
    assert_eq!(to.next_message(), Message::from(expected), "after {text:?}");
}

/// Nothing more reaches `client` for a moment.
fn hears_nothing(client: &mut Client) {
    client
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 64];
    let got = std::io::Read::read(&mut client.stream, &mut buf);
    assert!(
        got.as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "expected silence, got {got:?}"
    );
    client.stream.set_read_timeout(Some(PATIENCE)).unwrap();
}

#[test]
fn rooms_broadcasts_and_sends_cross_nodes() {
    let redis = Redis::start(0);
    let (a, b) = (Node::start(&redis, EXPIRY), Node::start(&redis, EXPIRY));
    let (mut on_a, id_a) = a.join();
    let (mut on_b, id_b) = b.join();
    assert_eq!((id_a.node(), id_b.node()), (1, 2));
    assert_ne!(a.addr(), b.addr());

    says(&mut on_a, "room:hello from a", &mut on_b, "hello from a");
    says(&mut on_b, "room:hello from b", &mut on_a, "hello from b");
    hears_nothing(&mut on_a);

    says(
        &mut on_a,
        &format!("to:{}:just for b", id_b.as_u64()),
        &mut on_b,
        "just for b",
    );
    says(
        &mut on_b,
        &format!("to:{}:just for a", id_a.as_u64()),
        &mut on_a,
        "just for a",
    );

    on_b.send("all:everyone");
    assert_eq!(on_a.next_message(), Message::from("everyone"));
    assert_eq!(on_b.next_message(), Message::from("everyone"));

    let stats = a.server.handle.cluster_stats().unwrap();
    assert!(stats.published >= 2 && stats.received >= 3, "{stats:?}");
    assert_eq!(stats.dropped, 0);
}

#[test]
fn an_outage_keeps_local_rooms_and_delivery_resumes_when_redis_is_back() {
    let mut redis = Redis::start(0);
    let (a, b) = (Node::start(&redis, EXPIRY), Node::start(&redis, EXPIRY));
    let (mut first, _) = a.join();
    let (mut second, _) = a.join();
    let (mut on_b, _) = b.join();
    says(&mut first, "room:before", &mut on_b, "before");
    assert_eq!(second.next_message(), Message::from("before"));

    redis.kill();
    assert!(matches!(a.next_status(), ClusterStatus::Disconnected(_)));
    assert!(matches!(b.next_status(), ClusterStatus::Disconnected(_)));
    says(&mut first, "room:during", &mut second, "during");
    hears_nothing(&mut on_b);
    let dropped = a.server.handle.cluster_stats().unwrap().dropped;
    assert!(dropped >= 1, "the note for node 2 was dropped and counted");

    let _back = Redis::start(redis.port);
    assert_eq!(a.next_status(), ClusterStatus::Connected);
    assert_eq!(b.next_status(), ClusterStatus::Connected);
    says(&mut first, "room:after", &mut on_b, "after");
    assert_eq!(second.next_message(), Message::from("after"));
}

#[test]
fn counts_and_members_span_nodes() {
    let redis = Redis::start(0);
    let (a, b) = (Node::start(&redis, EXPIRY), Node::start(&redis, EXPIRY));
    let (_on_a, id_a) = a.join();
    let (mut on_b, id_b) = b.join();
    a.lobby_counts(2);
    b.lobby_counts(2);
    let lobby = a.server.handle.room("lobby");
    let mut both = vec![id_a, id_b];
    both.sort_unstable();
    assert_eq!(lobby.members(), both);
    assert!(lobby.contains(id_b));
    // A node that joins later learns who is there already.
    let c = Node::start(&redis, EXPIRY);
    c.lobby_counts(2);
    on_b.close(weir_mio::CloseCode::NORMAL, "");
    on_b.expect_close_then_eof();
    a.lobby_counts(1);
    c.lobby_counts(1);
    assert!(!lobby.contains(id_b));
}

#[test]
fn a_node_killed_outright_drops_out_within_the_expiry() {
    let redis = Redis::start(0);
    let a = Node::start(&redis, EXPIRY);
    let (_on_a, _) = a.join();
    let mut chat = ChatProcess::start(&redis);
    let mut member = Client::connect(chat.addr, "/chat");
    member.send(r#"{"type":"join","room":"lobby","name":"b"}"#);
    let _joined = member.next_message();
    a.lobby_counts(2);
    chat.kill();
    let took = a.lobby_counts(1);
    eprintln!("the killed node's member dropped out after {took:?}");
    assert!(took <= EXPIRY + Duration::from_millis(500), "{took:?}");
}

/// The chat example as a node of its own, in a process that can be killed.
struct ChatProcess {
    child: Child,
    addr: SocketAddr,
}

impl ChatProcess {
    /// Starts the chat example built beside this test (`cargo build
    /// --features redis --example chat`, as scripts/cluster-test.sh does)
    /// and waits until it accepts connections.
    fn start(redis: &Redis) -> Self {
        let test = std::env::current_exe().unwrap();
        let profile = test.parent().and_then(|deps| deps.parent()).unwrap();
        let chat = profile.join("examples").join("chat");
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let child = Command::new(&chat)
            .args([addr.to_string(), "--redis".into(), redis.url()])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (build it with --features redis)", chat.display()));
        wait_accepting(addr, "the chat example");
        Self { child, addr }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChatProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

#[test]
fn without_redis_a_node_needs_its_number_given_and_joins_when_redis_comes() {
    let port = free_port();
    let url = format!("redis://127.0.0.1:{port}");
    let claimed = Server::builder()
        .route("/chat", Chat)
        .cluster(Cluster::redis(&url))
        .bind("127.0.0.1:0")
        .build();
    assert!(claimed.is_err(), "no Redis to claim a number from");

    let (tell, statuses) = mpsc::channel();
    let tell = Mutex::new(tell);
    let given = Cluster::redis(&url).node(7).on_status(move |status| {
        let _ = tell.lock().unwrap().send(status);
    });
    let early = Node {
        server: ApiServer::start(Server::builder().route("/chat", Chat).cluster(given)),
        statuses,
    };
    assert!(matches!(
        early.next_status(),
        ClusterStatus::Disconnected(_)
    ));
    let (mut here, id) = early.join();
    assert_eq!(id.node(), 7);
    // Everything local works without Redis.
    here.send("all:alone");
    assert_eq!(here.next_message(), Message::from("alone"));

    let redis = Redis::start(port);
    assert_eq!(early.next_status(), ClusterStatus::Connected);
    let other = Node::start(&redis, EXPIRY);
    let (mut there, _) = other.join();
    says(&mut here, "room:found you", &mut there, "found you");
    other.lobby_counts(2);
}
