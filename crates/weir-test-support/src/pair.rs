//! Two endpoints in memory: a client and a server [`Connection`] joined by
//! a simulated network, on a simulated clock. Tests read like scripts:
//! act on an endpoint, then [`Pair::drive`] (deliver everything due) or
//! [`Pair::advance`] (let simulated time pass); then look at what each side
//! saw ([`Pair::client_saw`], [`Pair::server_saw`]).
//!
//! Each direction is a [`Link`] that can delay bytes, cut them into pieces,
//! drop them, or stall (the sender's output stays queued, as with a peer
//! that does not read). When an endpoint says to close the transport, its
//! link carries an end-of-input to the other side after the bytes in flight.
//!
//! It lives here, not in weir-proto's `tests/`, so that every crate's tests
//! (and not only the core's) can script two endpoints without sockets.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use weir_proto::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake,
};
use weir_proto::{CloseCode, Config, Connection, Event, ProtocolError, TimedOut};

/// Something an endpoint saw, in order.
#[derive(Debug, PartialEq)]
pub enum Seen {
    /// An event from `poll_event`.
    Event(Event),
    /// A protocol error from `poll_event`.
    Error(ProtocolError),
    /// `handle_timeout` reported an expired deadline.
    TimedOut(TimedOut),
    /// The input ended; `receive_eof` returned this.
    Eof(Option<CloseCode>),
    /// The endpoint closed its transport (`should_close_transport`).
    ClosedTransport,
}

/// One direction of the network.
#[derive(Debug, Default)]
pub struct Link {
    /// How long bytes take to arrive.
    pub delay: Duration,
    /// The largest piece delivered at once (0: whole writes).
    pub piece: usize,
    /// Bytes sent are lost.
    pub drop: bool,
    /// The sender's output is not taken: it stays queued in the sender.
    pub stalled: bool,
    /// The sender's closing of its transport never reaches the receiver.
    pub hold_eof: bool,
    in_flight: VecDeque<(Instant, Bytes)>,
    /// The sender closed; the end of input arrives at this time.
    eof_at: Option<Instant>,
    eof_delivered: bool,
}

/// The endpoint on one side and what it saw.
#[derive(Debug)]
pub struct Side {
    /// The endpoint's connection; tests act on it directly.
    pub conn: Connection,
    /// What it saw, oldest first (taken by [`Pair::client_saw`] and
    /// [`Pair::server_saw`]).
    pub seen: Vec<Seen>,
    /// The transport is closed: nothing more is read, written or ticked.
    pub closed: bool,
}

/// A client and a server, connected.
pub struct Pair {
    /// The client endpoint.
    pub client: Side,
    /// The server endpoint.
    pub server: Side,
    /// Client to server.
    pub up: Link,
    /// Server to client.
    pub down: Link,
    /// The simulated time: moved only by [`Pair::advance`].
    pub now: Instant,
}

impl Pair {
    /// A pair with these configurations, after a real handshake, both told
    /// the time once (as adapters do when a connection opens).
    pub fn new(client: Config, server: Config) -> Self {
        let (client, server) = connect(
            ClientOptions::default(),
            AcceptOptions::default(),
            client,
            server,
        );
        let mut pair = Self {
            client: Side::new(client),
            server: Side::new(server),
            up: Link::default(),
            down: Link::default(),
            now: Instant::now(),
        };
        pair.drive();
        pair
    }

    /// Both with `config`.
    pub fn with(config: Config) -> Self {
        Self::new(config.clone(), config)
    }

    /// What the client saw so far, taken.
    pub fn client_saw(&mut self) -> Vec<Seen> {
        std::mem::take(&mut self.client.seen)
    }

    /// What the server saw so far, taken.
    pub fn server_saw(&mut self) -> Vec<Seen> {
        std::mem::take(&mut self.server.seen)
    }

    /// Runs until nothing more happens at the current time.
    pub fn drive(&mut self) {
        for _ in 0..10_000 {
            let mut busy = false;
            busy |= transmit(&mut self.client, &mut self.up, self.now);
            busy |= transmit(&mut self.server, &mut self.down, self.now);
            busy |= deliver(&mut self.up, &mut self.server, self.now);
            busy |= deliver(&mut self.down, &mut self.client, self.now);
            busy |= self.client.tick(self.now);
            busy |= self.server.tick(self.now);
            // A tick may queue output (a keepalive ping): send it now.
            busy |= self.client.has_output_for(&self.up);
            busy |= self.server.has_output_for(&self.down);
            if !busy {
                return;
            }
        }
        panic!("the pair never settles");
    }

    /// Lets `time` pass, stopping at every deadline and delivery on the way.
    pub fn advance(&mut self, time: Duration) {
        let end = self.now + time;
        self.drive();
        while let Some(next) = self.next_wakeup().filter(|&t| t <= end) {
            self.now = self.now.max(next);
            self.drive();
        }
        self.now = end;
        self.drive();
    }

    /// The earliest deadline or arrival, if any.
    fn next_wakeup(&self) -> Option<Instant> {
        let sides = [&self.client, &self.server]
            .into_iter()
            .filter(|side| !side.closed)
            .filter_map(|side| side.conn.poll_timeout());
        let links = [&self.up, &self.down]
            .into_iter()
            .filter_map(Link::next_arrival);
        sides.chain(links).min()
    }
}

/// A client and a server `Connection` from a real handshake with these
/// options and configurations (the client's masking keys seeded).
pub fn connect(
    client_options: ClientOptions,
    accept_options: AcceptOptions,
    client: Config,
    server: Config,
) -> (Connection, Connection) {
    let (mut handshake, request) =
        ClientHandshake::with_key("ws://example.com/", client_options, [1; 16]).unwrap();
    let Some(Incoming::Upgrade(upgrade)) = ServerHandshake::new().receive(&request).unwrap() else {
        panic!("not an upgrade");
    };
    let accepted = upgrade.accept(&accept_options, server).unwrap();
    let response = handshake.receive(&accepted.response).unwrap().unwrap();
    let client = response.connection_with_mask_seed(client, [2; 32]);
    (client, accepted.connection)
}

impl Side {
    fn new(conn: Connection) -> Self {
        Self {
            conn,
            seen: Vec::new(),
            closed: false,
        }
    }

    /// Polls events, tells the time, closes the transport when told to.
    fn tick(&mut self, now: Instant) -> bool {
        if self.closed {
            return false;
        }
        let before = self.seen.len();
        self.poll_events();
        if let Some(expired) = self.conn.handle_timeout(now) {
            self.seen.push(Seen::TimedOut(expired));
        }
        if self.conn.should_close_transport() {
            self.closed = true;
            self.seen.push(Seen::ClosedTransport);
        }
        self.seen.len() > before
    }
}

impl Side {
    /// Whether output waits that `link` would take.
    fn has_output_for(&self, link: &Link) -> bool {
        !self.closed && !link.stalled && self.conn.buffered_amount() > 0
    }

    /// Takes every event the input so far makes.
    fn poll_events(&mut self) {
        while let Some(event) = self.conn.poll_event() {
            self.seen.push(match event {
                Ok(event) => Seen::Event(event),
                Err(error) => Seen::Error(error),
            });
        }
    }
}

impl Link {
    fn next_arrival(&self) -> Option<Instant> {
        if let Some((at, _)) = self.in_flight.front() {
            return Some(*at);
        }
        self.eof_at
            .filter(|_| !self.eof_delivered && !self.hold_eof)
    }
}

/// Moves `side`'s output into `link`; closes the link once `side` closed.
fn transmit(side: &mut Side, link: &mut Link, now: Instant) -> bool {
    let mut busy = false;
    if !link.stalled && !side.closed {
        while let Some(chunk) = side.conn.poll_transmit() {
            busy = true;
            if !link.drop {
                link.in_flight.push_back((now + link.delay, chunk));
            }
        }
    }
    if side.closed && link.eof_at.is_none() {
        // The end of input never overtakes the bytes before it.
        let last = link.in_flight.back().map(|(at, _)| *at);
        link.eof_at = Some(last.unwrap_or(now).max(now + link.delay));
        busy = true;
    }
    busy
}

/// Hands `to` the bytes of `link` due by `now`, in pieces, then the end of
/// input when it is due.
fn deliver(link: &mut Link, to: &mut Side, now: Instant) -> bool {
    let mut busy = false;
    while link.in_flight.front().is_some_and(|(at, _)| *at <= now) {
        let (_, chunk) = link.in_flight.pop_front().unwrap();
        busy = true;
        if to.closed {
            continue;
        }
        let piece = if link.piece == 0 {
            chunk.len()
        } else {
            link.piece
        };
        for part in chunk.chunks(piece.max(1)) {
            to.conn.receive(part);
        }
    }
    let eof_due =
        link.eof_at.is_some_and(|at| at <= now) && link.in_flight.is_empty() && !link.hold_eof;
    if eof_due && !link.eof_delivered {
        link.eof_delivered = true;
        busy = true;
        if !to.closed {
            // As an adapter must: events first, then the end of input.
            to.poll_events();
            to.seen.push(Seen::Eof(to.conn.receive_eof()));
        }
    }
    busy
}
