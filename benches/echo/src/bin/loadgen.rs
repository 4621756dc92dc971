//! Echo load generator: N WebSocket client connections on one mio thread,
//! each keeping at most K messages of S bytes in flight for T seconds.
//!
//! ```text
//! loadgen --url ws://127.0.0.1:PORT/ --connections 100 --size 20 \
//!         --inflight 8 (--seconds 10 | --messages N) [--server-pid PID] \
//!         [--label NAME] [--json] [--deflate] [--tls CERT.pem]
//! loadgen --url ws://127.0.0.1:PORT/ --idle 1000 --seconds 5 \
//!         [--idle-messages M] [--json] [--deflate]
//! loadgen --url wss://127.0.0.1:PORT/ --tls CERT.pem --handshakes \
//!         --connections 10 --seconds 5 [--server-pid PID] [--label NAME]
//! ```
//!
//! The clients are weir's own: weir-proto's `ClientHandshake` and
//! `Connection` (client role, so every frame is masked) driven by a small
//! mio loop written for this purpose. One thread, edge-triggered; per turn of
//! the loop every readable connection is read (a short read ends it: the
//! socket is drained), its echoes parsed and checked, replacements queued,
//! and then each touched connection is written once, with one vectored
//! write, so the K messages of a connection leave together.
//!
//! Payloads: binary by default (a 12-byte header, sequence number and
//! connection index, then a fixed pattern at an offset that moves with the
//! sequence number). With `--json`, text: S bytes of JSON, a page of user
//! records (ids, user names, roles, booleans, scores, timestamps, tags) drawn
//! from a seeded generator, one of 1024 pages per message, with the
//! connection index and sequence number in its first field (see
//! `JsonPages`). zlib level 1 makes a 1 KiB page about 2.7x smaller on its
//! own and about 5x smaller with the previous pages in the window.
//!
//! Every echo is checked: kind (binary or text), S bytes, the sequence
//! number the connection expects next (order), and the whole payload against
//! what was sent (content). A mismatch is an error: the run fails (exit 1).
//!
//! Compression: by default the clients offer no extension. With
//! `--deflate` they offer permessage-deflate as weir's clients do by default
//! (`permessage-deflate; client_max_window_bits`, `DeflateConfig::default()`:
//! level 1, messages under 128 bytes uncompressed), accept any valid answer
//! (weir-proto's handshake checks it), and compress and inflate as agreed;
//! a server that declines fails the run. The loadgen counts the bytes it
//! writes to and reads from the sockets during the run: wire bytes per
//! message each way, against the payload bytes (`up_ratio`, `down_ratio`:
//! payload / wire, frame headers and masks included).
//!
//! Messages are timed from the loop turn that queued them to the turn that
//! parsed their echo (one clock read per turn). At T seconds no new message
//! is sent; the run ends when every message in flight has come back.
//! `--messages N` instead sends exactly N messages in all, however long that
//! takes (for counts that must not depend on speed, e.g. instructions under
//! callgrind); `--messages 0` opens the connections and closes them.
//!
//! TLS: with `--tls CERT.pem` (and a `wss://` URL) every connection speaks
//! TLS through a rustls `ClientConnection` (weir-tls's set-up: `ring`,
//! ALPN `http/1.1`) that trusts only CERT.pem, without session resumption;
//! the loop reads the socket into the TLS session and the plaintext into
//! the WebSocket, and writes the WebSocket's output through the session.
//! Wire bytes are then TLS bytes (record headers and tags included).
//!
//! With `--server-pid`, the server's CPU time (utime and stime of
//! /proc/PID/stat, all its threads) is read when the last connection opens
//! and when the last echo arrives; divided by the messages echoed, it gives
//! the server's user and system CPU time per echoed message.
//!
//! `--handshakes`: for `--seconds`, each of `--connections` slots loops on
//! connect, TLS handshake (with `--tls`), WebSocket handshake, Close sent
//! and the server's Close received, then drops the socket and starts over;
//! reports handshakes per second, their latency (connect to the server's
//! Close) and, with `--server-pid`, the server's CPU time per handshake.
//!
//! `--idle N` opens N connections, completes their handshakes, has each
//! exchange `--idle-messages` messages (default 0) and waits for their
//! echoes, prints `IDLE_READY connections=N`, then holds them open
//! (answering pings) for `--seconds` or until stdin reaches end of file, and
//! exits: for measuring a server's memory per idle connection.
//!
//! Output: one line on stdout, `RESULT key=value ...` (see `print_result`
//! and `run_handshakes`), printed once; stderr carries only what went wrong.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use weir_bench_echo::cpu::{clock_ticks_per_second, cpu_ticks, Cpu};
use weir_bench_echo::{or_na, write_transmit, Flags};
use weir_proto::deflate::{DeflateConfig, DeflateParams};
use weir_proto::handshake::{ClientHandshake, ClientOptions};
use weir_proto::{Config, Connection, Event, Message};
use weir_tls::pki_types::ServerName;
use weir_tls::rustls::{ClientConfig, ClientConnection};

/// Bytes of the per-message header: sequence number (u64) and connection
/// index (u32), little endian. Shorter messages carry a prefix of it.
const HEADER: usize = 12;
/// The pattern that fills payloads after the header, at an offset that
/// depends on the sequence number.
const PATTERN_PERIOD: usize = 251;
/// The most connections in their TCP connect or handshake at once (listen
/// backlogs of 128 would otherwise drop SYNs and add seconds of retries).
const CONNECT_WINDOW: usize = 64;
/// How long in-flight messages may take to come back after T.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the connections may take to open.
const OPEN_TIMEOUT: Duration = Duration::from_secs(60);
/// How many different JSON pages there are; message `seq` of connection
/// `conn` is page `(seq + 7 * conn) % JSON_PAGES`.
const JSON_PAGES: usize = 1024;

struct Args {
    url: String,
    connections: usize,
    size: usize,
    inflight: usize,
    seconds: f64,
    /// `--messages`: how many messages to send in all, instead of `seconds`.
    messages: Option<u64>,
    server_pid: Option<u32>,
    label: String,
    idle: Option<usize>,
    idle_messages: usize,
    json: bool,
    deflate: bool,
    /// The certificate to trust, for TLS.
    tls: Option<String>,
    handshakes: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen --url ws://HOST:PORT/PATH [--connections N] [--size BYTES] \
         [--inflight K] [--seconds T | --messages N] [--server-pid PID] [--label NAME] [--idle N] \
         [--idle-messages M] [--json] [--deflate] [--tls CERT.pem] [--handshakes]"
    );
    exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        url: String::new(),
        connections: 100,
        size: 20,
        inflight: 8,
        seconds: 10.0,
        messages: None,
        server_pid: None,
        label: "server".into(),
        idle: None,
        idle_messages: 0,
        json: false,
        deflate: false,
        tls: None,
        handshakes: false,
    };
    let mut flags = Flags::new(usage);
    while let Some(flag) = flags.next_flag() {
        match flag.as_str() {
            "--url" => args.url = flags.value(),
            "--connections" | "-c" => args.connections = flags.num(),
            "--size" | "-s" => args.size = flags.num(),
            "--inflight" | "-k" => args.inflight = flags.num(),
            "--seconds" | "-t" => args.seconds = flags.num(),
            "--messages" | "-n" => args.messages = Some(flags.num()),
            "--server-pid" => args.server_pid = Some(flags.num()),
            "--label" => args.label = flags.value(),
            "--idle" => args.idle = Some(flags.num()),
            "--idle-messages" => args.idle_messages = flags.num(),
            "--json" => args.json = true,
            "--deflate" => args.deflate = true,
            "--tls" => args.tls = Some(flags.value()),
            "--handshakes" => args.handshakes = true,
            _ => usage(),
        }
    }
    if args.url.is_empty() || args.connections == 0 || args.inflight == 0 {
        usage();
    }
    if args.json && args.size < JsonPages::MIN_SIZE {
        eprintln!(
            "loadgen: --json needs --size {} or more",
            JsonPages::MIN_SIZE
        );
        exit(2);
    }
    if args.json && args.idle.unwrap_or(args.connections) > JsonPages::MAX_CONNECTIONS {
        eprintln!(
            "loadgen: --json takes at most {} connections",
            JsonPages::MAX_CONNECTIONS
        );
        exit(2);
    }
    args
}

/// A latency histogram in nanoseconds: 32 linear sub-buckets per power of
/// two (about 3 % resolution), exact maximum.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Histogram {
    const SUB_BITS: u32 = 5;
    const SUB: u64 = 1 << Self::SUB_BITS;

    fn new() -> Self {
        Self {
            counts: vec![0; 64 * Self::SUB as usize],
            total: 0,
            max: 0,
        }
    }

    fn index(value: u64) -> usize {
        if value < Self::SUB {
            return value as usize;
        }
        let msb = 63 - value.leading_zeros();
        let shift = msb - Self::SUB_BITS;
        let sub = (value >> shift) - Self::SUB;
        (Self::SUB + u64::from(shift) * Self::SUB + sub) as usize
    }

    /// The largest value that falls in bucket `index`.
    fn upper(index: usize) -> u64 {
        let index = index as u64;
        if index < Self::SUB {
            return index;
        }
        let shift = (index - Self::SUB) / Self::SUB;
        let sub = (index - Self::SUB) % Self::SUB;
        ((Self::SUB + sub + 1) << shift) - 1
    }

    fn record(&mut self, value: u64) {
        self.counts[Self::index(value)] += 1;
        self.total += 1;
        self.max = self.max.max(value);
    }

    fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Self::upper(index).min(self.max);
            }
        }
        self.max
    }
}

/// The messages of a run: binary or JSON text, all of the same size.
enum Payloads {
    Binary(BinaryPayloads),
    Json(JsonPages),
}

impl Payloads {
    fn new(size: usize, json: bool) -> Self {
        if json {
            Self::Json(JsonPages::new(size))
        } else {
            Self::Binary(BinaryPayloads::new(size))
        }
    }

    fn size(&self) -> usize {
        match self {
            Self::Binary(p) => p.size,
            Self::Json(p) => p.size,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Binary(_) => "binary",
            Self::Json(_) => "json",
        }
    }

    /// Message `seq` of connection `conn`.
    fn make(&self, seq: u64, conn: u32) -> Message {
        match self {
            Self::Binary(p) => Message::Binary(p.make(seq, conn)),
            Self::Json(p) => match weir_proto::Utf8Bytes::try_from(p.make(seq, conn)) {
                Ok(text) => Message::Text(text),
                Err(_) => unreachable!("the JSON pages are ASCII"),
            },
        }
    }

    /// Whether `message` is message `seq` of connection `conn`: same kind,
    /// same bytes.
    fn matches(&self, message: &Message, seq: u64, conn: u32) -> bool {
        match (self, message) {
            (Self::Binary(p), Message::Binary(payload)) => p.matches(payload, seq, conn),
            (Self::Json(p), Message::Text(text)) => p.matches(text.as_bytes(), seq, conn),
            _ => false,
        }
    }
}

/// Binary payloads: a header (sequence, connection) then a slice of a fixed
/// pattern that starts at an offset given by the sequence number.
struct BinaryPayloads {
    size: usize,
    pattern: Vec<u8>,
}

impl BinaryPayloads {
    fn new(size: usize) -> Self {
        let len = size + PATTERN_PERIOD;
        let pattern = (0..len).map(|i| (i * 131 + 7) as u8).collect();
        Self { size, pattern }
    }

    fn header(seq: u64, conn: u32) -> [u8; HEADER] {
        let mut header = [0; HEADER];
        header[..8].copy_from_slice(&seq.to_le_bytes());
        header[8..].copy_from_slice(&conn.to_le_bytes());
        header
    }

    fn tail(&self, seq: u64) -> &[u8] {
        let offset = (seq % PATTERN_PERIOD as u64) as usize;
        &self.pattern[offset..offset + self.size.saturating_sub(HEADER)]
    }

    fn make(&self, seq: u64, conn: u32) -> Bytes {
        let header = Self::header(seq, conn);
        let head_len = self.size.min(HEADER);
        let mut payload = Vec::with_capacity(self.size);
        payload.extend_from_slice(&header[..head_len]);
        payload.extend_from_slice(self.tail(seq));
        Bytes::from(payload)
    }

    fn matches(&self, payload: &[u8], seq: u64, conn: u32) -> bool {
        if payload.len() != self.size {
            return false;
        }
        let head_len = self.size.min(HEADER);
        let header = Self::header(seq, conn);
        payload[..head_len] == header[..head_len] && payload[head_len..] == *self.tail(seq)
    }
}

/// JSON text payloads: [`JSON_PAGES`] pages of user records, each exactly
/// `size` bytes of valid JSON, made once from a fixed seed, e.g.
///
/// ```text
/// {"id":"c00042-s000000000123","type":"users.page","page":260,"per_page":5,
///  "items":[{"id":842991,"user":"ivan.okafor","role":"admin","status":"offline",
///  "verified":true,"score":83,"seen":"2026-11-15T14:35:02Z","tags":["mobile","beta"]},
///  ...],"note":"do dolor ut amet magna"}
/// ```
///
/// Records are added while they fit; `note` (words) pads to the exact size.
/// Message `seq` of connection `conn` is page `(seq + 7 * conn) % JSON_PAGES`
/// with `c{conn:05}-s{seq:012}` written over the placeholder of its first
/// field, so consecutive messages of a connection differ and repeat only
/// after 1024 messages (far outside a 32 KiB window).
struct JsonPages {
    size: usize,
    pages: Vec<Vec<u8>>,
}

impl JsonPages {
    /// Where the `c00000-s000000000000` placeholder starts (after `{"id":"`).
    const ID_AT: usize = 7;
    const ID_LEN: usize = 20;
    const MIN_SIZE: usize = 128;
    const MAX_CONNECTIONS: usize = 100_000;

    fn new(size: usize) -> Self {
        let pages = (0..JSON_PAGES as u64)
            .map(|i| Self::page(i + 1, size))
            .collect();
        Self { size, pages }
    }

    /// The page of seed `seed`, `size` bytes long.
    fn page(seed: u64, size: usize) -> Vec<u8> {
        const FIRST: [&str; 20] = [
            "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
            "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
            "yasmin",
        ];
        const LAST: [&str; 16] = [
            "martin", "garcia", "nguyen", "smith", "kowalski", "rossi", "dubois", "tanaka",
            "silva", "okafor", "larsen", "novak", "haddad", "kim", "meyer", "murphy",
        ];
        const ROLES: [&str; 5] = ["member", "member", "member", "admin", "guest"];
        const STATUS: [&str; 3] = ["online", "offline", "away"];
        const TAGS: [&str; 12] = [
            "alpha", "beta", "gamma", "red", "green", "blue", "vip", "trial", "new", "legacy",
            "mobile", "web",
        ];
        const WORDS: [&str; 19] = [
            "lorem",
            "ipsum",
            "dolor",
            "sit",
            "amet",
            "consectetur",
            "adipiscing",
            "elit",
            "sed",
            "do",
            "eiusmod",
            "tempor",
            "incididunt",
            "ut",
            "labore",
            "et",
            "dolore",
            "magna",
            "aliqua",
        ];
        let mut rng = XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut id = 100_000 + rng.below(900_000);
        let mut t = rng.below(20 * 3600);
        let day = 1 + rng.below(28);
        let mut page = format!(
            r#"{{"id":"c00000-s000000000000","type":"users.page","page":{},"per_page":5,"items":["#,
            rng.below(1000)
        );
        const TAIL: &str = r#"],"note":""}"#;
        let mut first = true;
        loop {
            id += 1 + rng.below(3);
            t += rng.below(5);
            let tags: Vec<String> = (0..1 + rng.below(2))
                .map(|_| format!("\"{}\"", TAGS[rng.below(TAGS.len())]))
                .collect();
            let record = format!(
                r#"{}{{"id":{id},"user":"{}.{}","role":"{}","status":"{}","verified":{},"score":{},"seen":"2026-11-{day:02}T{:02}:{:02}:{:02}Z","tags":[{}]}}"#,
                if first { "" } else { "," },
                FIRST[rng.below(FIRST.len())],
                LAST[rng.below(LAST.len())],
                ROLES[rng.below(ROLES.len())],
                STATUS[rng.below(STATUS.len())],
                rng.below(4) != 0,
                rng.below(100),
                t / 3600 % 24,
                t / 60 % 60,
                t % 60,
                tags.join(","),
            );
            if page.len() + record.len() + TAIL.len() > size {
                break;
            }
            page.push_str(&record);
            first = false;
        }
        let room = size.saturating_sub(page.len() + TAIL.len());
        let mut note = String::new();
        while note.len() < room {
            note.push_str(WORDS[rng.below(WORDS.len())]);
            note.push(' ');
        }
        note.truncate(room);
        page.push_str(r#"],"note":""#);
        page.push_str(&note);
        page.push_str(r#""}"#);
        debug_assert_eq!(page.len(), size);
        page.into_bytes()
    }

    /// `c{conn:05}-s{seq:012}`, the first field's value.
    fn id(seq: u64, conn: u32) -> [u8; Self::ID_LEN] {
        let mut id = *b"c00000-s000000000000";
        let mut digits = |mut value: u64, range: std::ops::Range<usize>| {
            for slot in id[range].iter_mut().rev() {
                *slot = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        digits(u64::from(conn), 1..6);
        digits(seq, 8..20);
        id
    }

    fn page_of(&self, seq: u64, conn: u32) -> &[u8] {
        let index = (seq.wrapping_add(7 * u64::from(conn)) % JSON_PAGES as u64) as usize;
        &self.pages[index]
    }

    fn make(&self, seq: u64, conn: u32) -> Bytes {
        let mut payload = self.page_of(seq, conn).to_vec();
        payload[Self::ID_AT..Self::ID_AT + Self::ID_LEN].copy_from_slice(&Self::id(seq, conn));
        Bytes::from(payload)
    }

    fn matches(&self, payload: &[u8], seq: u64, conn: u32) -> bool {
        let page = self.page_of(seq, conn);
        let (at, end) = (Self::ID_AT, Self::ID_AT + Self::ID_LEN);
        payload.len() == self.size
            && payload[..at] == page[..at]
            && payload[at..end] == Self::id(seq, conn)
            && payload[end..] == page[end..]
    }
}

/// xorshift64: the JSON pages' generator.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

enum Phase {
    /// TCP connect in progress; the request waits.
    Connecting(Box<ClientHandshake>, Vec<u8>),
    /// Request (partly) written, response being read.
    Handshaking(Box<ClientHandshake>, Vec<u8>, usize),
    Open(Box<Connection>),
    Closed,
}

struct Client {
    socket: TcpStream,
    /// The TLS session, with `--tls`.
    tls: Option<Box<ClientConnection>>,
    /// When the TCP connect started.
    started: Instant,
    phase: Phase,
    /// The next sequence number to send.
    next_send: u64,
    /// The sequence number the next echo must carry.
    next_echo: u64,
    /// When each message in flight was queued, oldest first.
    sent_at: VecDeque<Instant>,
    /// In the list of connections to write this turn.
    dirty: bool,
}

struct Stats {
    echoed: u64,
    errors: u64,
    latency: Histogram,
}

fn fail_run(message: impl std::fmt::Display) -> ! {
    eprintln!("loadgen: {message}");
    exit(1)
}

struct Loadgen {
    poll: Poll,
    clients: Vec<Client>,
    addr: SocketAddr,
    url: String,
    /// With `--tls`: the client configuration and the server's name.
    tls: Option<(Arc<ClientConfig>, ServerName<'static>)>,
    /// Bytes read from a socket.
    scratch: Box<[u8]>,
    /// Plaintext out of a TLS session.
    plain: Box<[u8]>,
    payloads: Payloads,
    /// Offer permessage-deflate, and require it.
    deflate: bool,
    /// What the first connection agreed on (every connection must agree the
    /// same): `None` before any opened.
    agreed: Option<Option<DeflateParams>>,
    /// Bytes read from and written to the sockets so far, all connections.
    wire_read: u64,
    wire_written: u64,
    stats: Stats,
    /// Whether echoes are answered with new messages.
    sending: bool,
    /// How many more messages may be sent (`--messages`; else unbounded).
    budget: u64,
    open: usize,
    pending_connects: usize,
    dirty: Vec<usize>,
    inflight_total: u64,
    /// `--handshakes`: connections close once open, and start over.
    cycling: bool,
    /// Connections whose cycle ended this turn, to start over.
    cycled: Vec<usize>,
}

impl Loadgen {
    fn connect_more(&mut self, target: usize) {
        while self.clients.len() < target && self.pending_connects < CONNECT_WINDOW {
            let client = self.new_client(self.clients.len());
            self.clients.push(client);
        }
    }

    /// Starts a connection (TCP connect in progress) registered as `index`.
    fn new_client(&mut self, index: usize) -> Client {
        // weir's client default offer when compressing, none otherwise.
        let deflate = self.deflate.then(DeflateConfig::default);
        let options = ClientOptions::default().with_deflate(deflate);
        let (handshake, request) = ClientHandshake::new(&self.url, options)
            .unwrap_or_else(|e| fail_run(format!("bad url {}: {e}", self.url)));
        let tls = self.tls.as_ref().map(|(config, name)| {
            let session = ClientConnection::new(Arc::clone(config), name.clone())
                .unwrap_or_else(|e| fail_run(format!("TLS: {e}")));
            Box::new(session)
        });
        let mut socket = TcpStream::connect(self.addr)
            .unwrap_or_else(|e| fail_run(format!("connect {}: {e}", self.addr)));
        self.poll
            .registry()
            .register(
                &mut socket,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )
            .unwrap_or_else(|e| fail_run(format!("register: {e}")));
        self.pending_connects += 1;
        Client {
            socket,
            tls,
            started: Instant::now(),
            phase: Phase::Connecting(Box::new(handshake), request),
            next_send: 0,
            next_echo: 0,
            sent_at: VecDeque::new(),
            dirty: false,
        }
    }

    /// `--handshakes`: replaces every connection whose cycle ended with a
    /// new one.
    fn start_over(&mut self) {
        while let Some(index) = self.cycled.pop() {
            let mut client = self.new_client(index);
            std::mem::swap(&mut self.clients[index], &mut client);
            let _ = self.poll.registry().deregister(&mut client.socket);
        }
    }

    fn mark_dirty(&mut self, index: usize) {
        let client = &mut self.clients[index];
        if !client.dirty {
            client.dirty = true;
            self.dirty.push(index);
        }
    }

    /// Handles readiness of connection `index` at `now`.
    fn ready(&mut self, index: usize, now: Instant) {
        let client = &mut self.clients[index];
        if let Phase::Connecting(..) = client.phase {
            if let Ok(Some(e)) | Err(e) = client.socket.take_error() {
                fail_run(format!("connect to {}: {e}", self.addr));
            }
            match client.socket.peer_addr() {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                Err(e) => fail_run(format!("connect to {}: {e}", self.addr)),
            }
            let _ = client.socket.set_nodelay(true);
            let Phase::Connecting(handshake, request) =
                std::mem::replace(&mut client.phase, Phase::Closed)
            else {
                unreachable!()
            };
            let written = match &mut client.tls {
                // Sent once the TLS handshake is done.
                Some(tls) => {
                    if let Err(e) = tls.writer().write_all(&request) {
                        fail_run(format!("TLS: {e}"));
                    }
                    request.len()
                }
                None => 0,
            };
            client.phase = Phase::Handshaking(handshake, request, written);
        }
        if let Phase::Handshaking(_, request, written) = &mut client.phase {
            while *written < request.len() {
                match (&client.socket).write(&request[*written..]) {
                    Ok(n) => {
                        *written += n;
                        self.wire_written += n as u64;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => fail_run(format!("writing the request: {e}")),
                }
            }
        }
        self.read(index, now);
        self.mark_dirty(index);
    }

    /// Reads connection `index` until it would block or a read comes back
    /// short (which drains a TCP socket; later data makes a new edge).
    fn read(&mut self, index: usize, now: Instant) {
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut plain = std::mem::take(&mut self.plain);
        self.read_with(index, now, &mut scratch, &mut plain);
        self.scratch = scratch;
        self.plain = plain;
    }

    /// [`Loadgen::read`] with the buffers taken out of `self`.
    fn read_with(&mut self, index: usize, now: Instant, scratch: &mut [u8], plain: &mut [u8]) {
        loop {
            let client = &mut self.clients[index];
            if matches!(client.phase, Phase::Closed | Phase::Connecting(..)) {
                return;
            }
            let n = match (&client.socket).read(scratch) {
                Ok(0) => {
                    if self.sending
                        || self.cycling
                        || !matches!(client.phase, Phase::Open(_))
                        || !client.sent_at.is_empty()
                    {
                        self.stats.errors += 1;
                        eprintln!("loadgen: connection {index} closed by the server");
                    }
                    if self.cycling {
                        self.cycled.push(index);
                    }
                    let _ = self.poll.registry().deregister(&mut client.socket);
                    self.inflight_total -= client.sent_at.len() as u64;
                    client.sent_at.clear();
                    client.phase = Phase::Closed;
                    return;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => fail_run(format!("connection {index}: read: {e}")),
            };
            self.wire_read += n as u64;
            if client.tls.is_some() {
                self.decrypt(index, &scratch[..n], plain, now);
            } else {
                self.receive(index, &scratch[..n], now);
            }
            if n < scratch.len() {
                return;
            }
        }
    }

    /// Feeds `records` read on connection `index` to its TLS session, and
    /// the plaintext they carry (through `plain`) to [`Loadgen::receive`].
    fn decrypt(&mut self, index: usize, mut records: &[u8], plain: &mut [u8], now: Instant) {
        while !records.is_empty() {
            let Some(tls) = self.clients[index].tls.as_mut() else {
                return;
            };
            if let Err(e) = tls.read_tls(&mut records) {
                fail_run(format!("connection {index}: TLS read: {e}"));
            }
            if let Err(e) = tls.process_new_packets() {
                fail_run(format!("connection {index}: TLS: {e}"));
            }
            loop {
                let Some(tls) = self.clients[index].tls.as_mut() else {
                    return;
                };
                match tls.reader().read(plain) {
                    // close_notify: the end of the stream follows.
                    Ok(0) => break,
                    Ok(n) => self.receive(index, &plain[..n], now),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => fail_run(format!("connection {index}: TLS: {e}")),
                }
            }
        }
    }

    /// Hands `bytes`, received on connection `index`, to its handshake or
    /// its connection.
    fn receive(&mut self, index: usize, bytes: &[u8], now: Instant) {
        let client = &mut self.clients[index];
        match &mut client.phase {
            Phase::Handshaking(handshake, ..) => match handshake.receive(bytes) {
                Ok(None) => {}
                Ok(Some(response)) => {
                    // Speaks what was agreed, and has taken the leftover.
                    let mut core = response.connection(Config::default()).unwrap_or_else(|e| {
                        fail_run(format!("connection {index}: connection: {e}"))
                    });
                    let agreed = core.deflate().copied();
                    if self.deflate && agreed.is_none() {
                        fail_run(format!(
                            "connection {index}: the server declined permessage-deflate"
                        ));
                    }
                    match self.agreed {
                        None => self.agreed = Some(agreed),
                        Some(first) if first != agreed => fail_run(format!(
                            "connection {index}: agreed {agreed:?}, the first {first:?}"
                        )),
                        Some(_) => {}
                    }
                    if self.cycling {
                        let _ = core.close(weir_proto::CloseCode::NORMAL, "");
                    }
                    client.phase = Phase::Open(Box::new(core));
                    self.open += 1;
                    self.pending_connects -= 1;
                    self.drain_events(index, now);
                }
                Err(e) => fail_run(format!("connection {index}: handshake: {e}")),
            },
            Phase::Open(core) => {
                core.receive(bytes);
                self.drain_events(index, now);
            }
            Phase::Connecting(..) | Phase::Closed => {}
        }
    }

    /// Checks every echo parsed on connection `index`, and queues a new
    /// message for each while sending.
    fn drain_events(&mut self, index: usize, now: Instant) {
        let client = &mut self.clients[index];
        let Phase::Open(core) = &mut client.phase else {
            return;
        };
        let mut closed = false;
        while let Some(event) = core.poll_event() {
            match event {
                Ok(Event::Message(message)) => {
                    let seq = client.next_echo;
                    if !self.payloads.matches(&message, seq, index as u32) {
                        self.stats.errors += 1;
                        fail_run(format!(
                            "connection {index}: echo {seq} differs from what was sent \
                             ({:?}, {} bytes; expected {}, {} bytes)",
                            message.kind(),
                            message.len(),
                            self.payloads.kind(),
                            self.payloads.size()
                        ));
                    }
                    let Some(sent) = client.sent_at.pop_front() else {
                        fail_run(format!("connection {index}: an echo nobody sent"));
                    };
                    client.next_echo += 1;
                    self.inflight_total -= 1;
                    self.stats.echoed += 1;
                    let nanos = now.saturating_duration_since(sent).as_nanos() as u64;
                    self.stats.latency.record(nanos);
                    if self.sending && self.budget > 0 {
                        self.budget -= 1;
                        let message = self.payloads.make(client.next_send, index as u32);
                        if let Err(e) = core.send(message) {
                            fail_run(format!("connection {index}: send: {e}"));
                        }
                        client.next_send += 1;
                        client.sent_at.push_back(now);
                        self.inflight_total += 1;
                    }
                }
                Ok(Event::Ping(_) | Event::Pong(_) | Event::Fragment(_)) => {}
                Ok(Event::Close(frame)) => {
                    if self.sending || !client.sent_at.is_empty() {
                        self.stats.errors += 1;
                        eprintln!("loadgen: connection {index}: server closed: {frame:?}");
                    }
                    if self.cycling {
                        closed = true;
                        break;
                    }
                }
                Err(e) => fail_run(format!("connection {index}: protocol error: {e}")),
            }
        }
        if closed {
            // `--handshakes`: the cycle is complete, the socket goes.
            let nanos = now.saturating_duration_since(client.started).as_nanos();
            self.stats.latency.record(nanos as u64);
            self.stats.echoed += 1;
            self.open -= 1;
            client.phase = Phase::Closed;
            self.cycled.push(index);
        }
    }

    /// Queues `count` messages on connection `index`.
    fn send_burst(&mut self, index: usize, count: usize, now: Instant) {
        let client = &mut self.clients[index];
        let Phase::Open(core) = &mut client.phase else {
            return;
        };
        let count = (count as u64).min(self.budget);
        self.budget -= count;
        for _ in 0..count {
            let message = self.payloads.make(client.next_send, index as u32);
            if let Err(e) = core.send(message) {
                fail_run(format!("connection {index}: send: {e}"));
            }
            client.next_send += 1;
            client.sent_at.push_back(now);
            self.inflight_total += 1;
        }
        self.mark_dirty(index);
    }

    /// Writes every connection touched this turn, one vectored write each
    /// (more only if the first is partial); through TLS, one write of the
    /// session's records.
    fn flush_dirty(&mut self) {
        while let Some(index) = self.dirty.pop() {
            let client = &mut self.clients[index];
            client.dirty = false;
            if let Some(tls) = &mut client.tls {
                self.wire_written += flush_tls(index, tls, &mut client.phase, &client.socket);
                continue;
            }
            let Phase::Open(core) = &mut client.phase else {
                continue;
            };
            match write_transmit(core, &client.socket) {
                Ok(n) => self.wire_written += n,
                Err(e) => fail_run(format!("connection {index}: write: {e}")),
            }
        }
    }

    /// One turn: wait (at most `timeout`), handle readiness, write.
    fn turn(&mut self, events: &mut Events, timeout: Duration) {
        match self.poll.poll(events, Some(timeout)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return,
            Err(e) => fail_run(format!("poll: {e}")),
        }
        let now = Instant::now();
        for event in events.iter() {
            self.ready(event.token().0, now);
        }
        self.flush_dirty();
        self.start_over();
    }

    /// Sends a Close on every open connection and writes it.
    fn close_all(&mut self) {
        for index in 0..self.clients.len() {
            if let Phase::Open(core) = &mut self.clients[index].phase {
                let _ = core.close(weir_proto::CloseCode::NORMAL, "");
                self.mark_dirty(index);
            }
        }
        self.flush_dirty();
    }
}

/// Moves what connection `index`'s WebSocket has to send (once open) into
/// its TLS session, and the session's records to `socket`, until both are
/// empty or the socket would block; returns the bytes written.
fn flush_tls(
    index: usize,
    tls: &mut ClientConnection,
    phase: &mut Phase,
    socket: &TcpStream,
) -> u64 {
    let mut written = 0;
    loop {
        if let Phase::Open(core) = phase {
            loop {
                let mut slices = [IoSlice::new(&[]); 64];
                let count = core.transmit_slices(&mut slices);
                if count == 0 {
                    break;
                }
                // Takes less (or nothing) when the session's buffer is full.
                match tls.writer().write_vectored(&slices[..count]) {
                    Ok(0) => break,
                    Ok(n) => core.advance_transmit(n),
                    Err(e) => fail_run(format!("connection {index}: TLS write: {e}")),
                }
            }
        }
        if !tls.wants_write() {
            return written;
        }
        match tls.write_tls(&mut &*socket) {
            Ok(n) => written += n as u64,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return written,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => fail_run(format!("connection {index}: write: {e}")),
        }
    }
}

fn main() {
    let args = parse_args();
    let uri = weir_proto::handshake::WsUri::parse(&args.url)
        .unwrap_or_else(|e| fail_run(format!("bad url {}: {e}", args.url)));
    let host = uri
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addr = (host.as_str(), uri.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| fail_run(format!("cannot resolve {}", args.url)));
    if uri.secure != args.tls.is_some() {
        fail_run("--tls goes with a wss:// URL, and a wss:// URL with --tls");
    }
    let tls = args.tls.as_ref().map(|ca| {
        let config = weir_bench_echo::tls::client_config(ca.as_ref())
            .unwrap_or_else(|e| fail_run(format!("--tls {ca}: {e}")));
        let name = ServerName::try_from(host.clone())
            .unwrap_or_else(|_| fail_run(format!("not a TLS server name: {host}")));
        (config, name)
    });
    let connections = args.idle.unwrap_or(args.connections);
    let mut lg = Loadgen {
        poll: Poll::new().unwrap_or_else(|e| fail_run(format!("poll: {e}"))),
        clients: Vec::with_capacity(connections),
        addr,
        url: args.url.clone(),
        tls,
        scratch: vec![0; 256 * 1024].into_boxed_slice(),
        plain: vec![0; 256 * 1024].into_boxed_slice(),
        payloads: Payloads::new(args.size, args.json),
        deflate: args.deflate,
        agreed: None,
        wire_read: 0,
        wire_written: 0,
        stats: Stats {
            echoed: 0,
            errors: 0,
            latency: Histogram::new(),
        },
        sending: false,
        budget: args.messages.unwrap_or(u64::MAX),
        open: 0,
        pending_connects: 0,
        dirty: Vec::new(),
        inflight_total: 0,
        cycling: args.handshakes,
        cycled: Vec::new(),
    };
    let mut events = Events::with_capacity(1024);
    if args.handshakes {
        return run_handshakes(&args, &mut lg, &mut events);
    }

    // Open every connection.
    let opening = Instant::now();
    while lg.open < connections {
        lg.connect_more(connections);
        lg.turn(&mut events, Duration::from_millis(100));
        if opening.elapsed() > OPEN_TIMEOUT {
            fail_run(format!(
                "only {} of {connections} connections opened",
                lg.open
            ));
        }
    }
    let open_time = opening.elapsed();

    if args.idle.is_some() {
        exchange_before_idle(&mut lg, &mut events, args.idle_messages);
        return hold_idle(&mut lg, &mut events, args.seconds, open_time);
    }

    let ticks_per_second = clock_ticks_per_second();
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let server_before = server_pid.as_deref().and_then(cpu_ticks);
    let self_before = cpu_ticks("self");
    let wire_before = (lg.wire_written, lg.wire_read);

    // Run: K messages in flight per connection for T seconds, or until N
    // messages were sent.
    let start = Instant::now();
    let mut end = match args.messages {
        Some(_) => None,
        None => Some(start + Duration::from_secs_f64(args.seconds)),
    };
    lg.sending = true;
    for index in 0..lg.clients.len() {
        lg.send_burst(index, args.inflight, start);
    }
    lg.flush_dirty();
    loop {
        let now = Instant::now();
        if lg.sending && (lg.budget == 0 || end.is_some_and(|end| now >= end)) {
            lg.sending = false;
            end = Some(end.unwrap_or(now));
        }
        if !lg.sending && lg.inflight_total == 0 {
            break;
        }
        let end = end.unwrap_or(now + Duration::from_secs(1));
        if now >= end + DRAIN_TIMEOUT {
            lg.stats.errors += lg.inflight_total;
            eprintln!("loadgen: {} messages never came back", lg.inflight_total);
            break;
        }
        let timeout = if lg.sending {
            end - now
        } else {
            Duration::from_millis(100)
        };
        lg.turn(&mut events, timeout.min(Duration::from_millis(100)));
    }
    let elapsed = start.elapsed();
    let server_after = server_pid.as_deref().and_then(cpu_ticks);
    let self_after = cpu_ticks("self");
    let wire = Wire {
        up: lg.wire_written - wire_before.0,
        down: lg.wire_read - wire_before.1,
    };
    lg.close_all();

    let server_cpu = Cpu::between(server_before, server_after, ticks_per_second);
    let self_cpu = Cpu::between(self_before, self_after, ticks_per_second);
    let agreed = lg.agreed.flatten();
    let run = Run {
        stats: &lg.stats,
        elapsed,
        server_cpu,
        self_cpu,
        wire,
        payload: lg.payloads.kind(),
        deflate: deflate_label(agreed.as_ref()),
    };
    print_result(&args, &run);
    // Give the servers a moment to read the Close frames before the sockets go.
    let linger = Instant::now();
    while linger.elapsed() < Duration::from_millis(200) {
        lg.turn(&mut events, Duration::from_millis(50));
    }
    if lg.stats.errors > 0 {
        exit(1);
    }
}

/// Bytes written (up) and read (down) at the sockets during the run.
struct Wire {
    up: u64,
    down: u64,
}

/// What a run measured.
struct Run<'a> {
    stats: &'a Stats,
    elapsed: Duration,
    server_cpu: Option<Cpu>,
    self_cpu: Option<Cpu>,
    wire: Wire,
    payload: &'static str,
    deflate: String,
}

/// The agreed permessage-deflate, in short: `off`, or which sides keep
/// their context (`takeover`, `no-takeover`, `server-no-takeover`,
/// `client-no-takeover`) and the windows, server/client.
fn deflate_label(params: Option<&DeflateParams>) -> String {
    let Some(p) = params else {
        return "off".into();
    };
    let takeover = match (p.server_no_context_takeover, p.client_no_context_takeover) {
        (false, false) => "takeover",
        (true, true) => "no-takeover",
        (true, false) => "server-no-takeover",
        (false, true) => "client-no-takeover",
    };
    format!(
        "{takeover},w{}/{}",
        p.server_max_window_bits, p.client_max_window_bits
    )
}

fn print_result(args: &Args, run: &Run<'_>) {
    let stats = run.stats;
    let secs = run.elapsed.as_secs_f64();
    let rate = stats.echoed as f64 / secs;
    let us = |nanos: u64| format!("{:.1}", nanos as f64 / 1000.0);
    let messages = stats.echoed.max(1) as f64;
    let server = |f: fn(Cpu) -> f64| or_na(run.server_cpu.map(|c| f(c) * 1e6 / messages), 3);
    let pct = |cpu: Option<Cpu>| or_na(cpu.map(|c| c.total() * 100.0 / secs), 1);
    // Every message sent during the run was echoed (else errors > 0), so
    // both directions carried `echoed` messages.
    let up_per_msg = run.wire.up as f64 / messages;
    let down_per_msg = run.wire.down as f64 / messages;
    let ratio = |wire: f64| {
        let ratio = if wire > 0.0 {
            args.size as f64 / wire
        } else {
            0.0
        };
        format!("{ratio:.3}")
    };
    weir_bench_echo::print_result(&[
        ("label", args.label.clone()),
        ("connections", args.connections.to_string()),
        ("size", args.size.to_string()),
        ("payload", run.payload.into()),
        ("deflate", run.deflate.clone()),
        ("inflight", args.inflight.to_string()),
        ("seconds", format!("{secs:.3}")),
        ("messages", stats.echoed.to_string()),
        ("msgs_per_s", format!("{rate:.0}")),
        ("mb_per_s", format!("{:.3}", rate * args.size as f64 / 1e6)),
        ("p50_us", us(stats.latency.quantile(0.50))),
        ("p99_us", us(stats.latency.quantile(0.99))),
        ("max_us", us(stats.latency.max)),
        ("server_cpu_us_per_msg", server(Cpu::total)),
        ("server_user_us_per_msg", server(|c| c.user)),
        ("server_sys_us_per_msg", server(|c| c.system)),
        ("server_cpu_pct", pct(run.server_cpu)),
        (
            "loadgen_cpu_us_per_msg",
            or_na(run.self_cpu.map(|c| c.total() * 1e6 / messages), 3),
        ),
        ("loadgen_cpu_pct", pct(run.self_cpu)),
        ("up_wire_bytes_per_msg", format!("{up_per_msg:.1}")),
        ("down_wire_bytes_per_msg", format!("{down_per_msg:.1}")),
        ("up_ratio", ratio(up_per_msg)),
        ("down_ratio", ratio(down_per_msg)),
        ("errors", stats.errors.to_string()),
    ]);
}

/// `--handshakes`: `--connections` slots each loop on connect, handshakes
/// and close for `--seconds`; prints the result (a `RESULT mode=handshakes`
/// line).
fn run_handshakes(args: &Args, lg: &mut Loadgen, events: &mut Events) {
    let ticks_per_second = clock_ticks_per_second();
    let server_pid = args.server_pid.map(|pid| pid.to_string());
    let server_before = server_pid.as_deref().and_then(cpu_ticks);
    let self_before = cpu_ticks("self");
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds);
    lg.connect_more(args.connections);
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        lg.turn(events, left.min(Duration::from_millis(100)));
    }
    let elapsed = start.elapsed();
    let server_cpu = Cpu::between(
        server_before,
        server_pid.as_deref().and_then(cpu_ticks),
        ticks_per_second,
    );
    let self_cpu = Cpu::between(self_before, cpu_ticks("self"), ticks_per_second);
    // Connections cut in their cycle at the end are not counted.
    let stats = &lg.stats;
    let secs = elapsed.as_secs_f64();
    let count = stats.echoed.max(1) as f64;
    let per = |f: fn(Cpu) -> f64| or_na(server_cpu.map(|c| f(c) * 1e6 / count), 3);
    let pct = |cpu: Option<Cpu>| or_na(cpu.map(|c| c.total() * 100.0 / secs), 3);
    let us = |q: f64| format!("{:.1}", stats.latency.quantile(q) as f64 / 1000.0);
    weir_bench_echo::print_result(&[
        ("mode", "handshakes".into()),
        ("label", args.label.clone()),
        ("connections", args.connections.to_string()),
        ("tls", args.tls.is_some().to_string()),
        ("seconds", format!("{secs:.3}")),
        ("handshakes", stats.echoed.to_string()),
        (
            "handshakes_per_s",
            format!("{:.1}", stats.echoed as f64 / secs),
        ),
        ("p50_us", us(0.50)),
        ("p99_us", us(0.99)),
        ("server_cpu_us_per_handshake", per(Cpu::total)),
        ("server_user_us_per_handshake", per(|c| c.user)),
        ("server_sys_us_per_handshake", per(|c| c.system)),
        ("server_cpu_pct", pct(server_cpu)),
        ("loadgen_cpu_pct", pct(self_cpu)),
        ("errors", stats.errors.to_string()),
    ]);
    if stats.errors > 0 {
        exit(1);
    }
}

/// Idle mode, before the connections go idle: each sends `count` messages
/// and the echoes are awaited (and checked).
fn exchange_before_idle(lg: &mut Loadgen, events: &mut Events, count: usize) {
    if count == 0 {
        return;
    }
    let now = Instant::now();
    for index in 0..lg.clients.len() {
        lg.send_burst(index, count, now);
    }
    lg.flush_dirty();
    let deadline = now + OPEN_TIMEOUT;
    while lg.inflight_total > 0 {
        if Instant::now() > deadline {
            fail_run(format!(
                "{} messages of the idle connections never came back",
                lg.inflight_total
            ));
        }
        lg.turn(events, Duration::from_millis(100));
    }
}

/// Idle mode: report readiness, then keep the connections open (answering
/// pings) for `seconds` or until stdin ends.
fn hold_idle(lg: &mut Loadgen, events: &mut Events, seconds: f64, open_time: Duration) {
    println!(
        "IDLE_READY connections={} open_ms={} deflate={} echoed={}",
        lg.open,
        open_time.as_millis(),
        deflate_label(lg.agreed.flatten().as_ref()),
        lg.stats.echoed
    );
    let _ = io::stdout().flush();
    let stdin_closed = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&stdin_closed);
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = io::stdin().read_to_end(&mut sink);
            flag.store(true, Ordering::Release);
        });
    }
    let until = Instant::now() + Duration::from_secs_f64(seconds);
    while Instant::now() < until && !stdin_closed.load(Ordering::Acquire) {
        lg.turn(events, Duration::from_millis(50));
    }
    lg.close_all();
    let linger = Instant::now();
    while linger.elapsed() < Duration::from_millis(200) {
        lg.turn(events, Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_cover_values_within_3_percent() {
        for value in [
            0u64,
            1,
            31,
            32,
            33,
            63,
            64,
            100,
            1000,
            123_456,
            10_000_000_000,
        ] {
            let index = Histogram::index(value);
            let upper = Histogram::upper(index);
            assert!(upper >= value, "{value} -> {upper}");
            assert!(
                upper as f64 <= value as f64 * 1.04 + 1.0,
                "{value} -> {upper}"
            );
            if index > 0 {
                assert!(Histogram::upper(index - 1) < value, "{value}");
            }
        }
        let mut h = Histogram::new();
        (1..=100).for_each(|v| h.record(v * 1000));
        assert!((49_000..=52_000).contains(&h.quantile(0.5)));
        assert!((98_000..=100_000).contains(&h.quantile(0.99)));
        assert_eq!(h.max, 100_000);
    }

    #[test]
    fn payloads_check_sequence_connection_and_content() {
        for size in [0, 5, 12, 20, 16384] {
            let p = BinaryPayloads::new(size);
            let payload = p.make(42, 7);
            assert_eq!(payload.len(), size);
            assert!(p.matches(&payload, 42, 7));
            if size >= 12 {
                assert!(!p.matches(&payload, 43, 7));
                assert!(!p.matches(&payload, 42, 8));
            }
            if size > 12 {
                let mut bad = payload.to_vec();
                bad[size - 1] ^= 1;
                assert!(!p.matches(&bad, 42, 7));
                assert!(!p.matches(&payload[..size - 1], 42, 7));
            }
        }
    }

    #[test]
    fn json_pages_are_exact_size_ascii_json_and_checked() {
        for size in [128, 200, 1024, 4096] {
            let pages = JsonPages::new(size);
            let payloads = Payloads::Json(JsonPages::new(size));
            for page in &pages.pages {
                assert_eq!(page.len(), size);
                assert!(page.is_ascii());
                assert!(page.starts_with(br#"{"id":"c00000-s000000000000","#));
                assert!(page.ends_with(br#""}"#));
                // Balanced brackets outside strings (no escapes are made).
                let mut depth = 0i32;
                let mut in_string = false;
                for &b in page {
                    match b {
                        b'"' => in_string = !in_string,
                        b'{' | b'[' if !in_string => depth += 1,
                        b'}' | b']' if !in_string => depth -= 1,
                        _ => {}
                    }
                    assert!(depth >= 0);
                }
                assert_eq!(depth, 0);
                assert!(!in_string);
            }
            let message = payloads.make(123_456, 42);
            let Message::Text(text) = &message else {
                panic!("not text")
            };
            assert!(text
                .as_str()
                .starts_with(r#"{"id":"c00042-s000000123456","#));
            assert!(payloads.matches(&message, 123_456, 42));
            assert!(!payloads.matches(&message, 123_457, 42));
            assert!(!payloads.matches(&message, 123_456, 43));
            let mut bad = text.as_bytes().to_vec();
            bad[size - 3] ^= 1;
            let bad = Message::Binary(Bytes::from(bad));
            assert!(!payloads.matches(&bad, 123_456, 42));
            let binary = Message::Binary(text.as_bytes().clone());
            assert!(!payloads.matches(&binary, 123_456, 42));
        }
        // Pages differ, and records fill most of a 1 KiB page.
        let pages = JsonPages::new(1024);
        assert_ne!(pages.pages[0], pages.pages[1]);
        let records = pages.pages[0]
            .windows(7)
            .filter(|w| w == b"\"user\":")
            .count();
        assert!(records >= 5, "{records} records");
    }
}
