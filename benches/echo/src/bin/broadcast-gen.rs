//! Broadcast load generator, modelled on uWebSockets' `broadcast_test`:
//! N clients connect to a server that puts them all in one group; in each
//! iteration every client sends one 20-byte text message, the server sends
//! each message to all N members (N² deliveries per iteration), and the
//! iteration ends when every client has received all N messages. Then the
//! next one starts.
//!
//! ```text
//! broadcast-gen --url ws://127.0.0.1:PORT/ [--url ws://...] --clients 50 \
//!               [--senders K] (--seconds 5 | --iterations I) [--warmup 1] \
//!               [--server-pid PID[,PID]] [--label NAME]
//! ```
//!
//! With several `--url`s (the nodes of a cluster), client `i` connects to
//! the `i mod k`-th. With `--senders K`, only the first K clients send in
//! each iteration, so an iteration is K x N deliveries: `--senders 1` is a
//! fan-out, one message to the whole group. `--server-pid` may list several
//! processes, whose CPU is added up.
//!
//! The clients are weir-proto client `Connection`s (every frame masked) on
//! one mio thread; the handshakes are made one client at a time, before any
//! message is sent. Iterations run for `--warmup` seconds first (checked,
//! not counted), then for `--seconds` (the last iteration is finished) or
//! exactly `--iterations` times.
//!
//! Every delivery is checked: text, 20 bytes, the current iteration's
//! number, and a sender that this client has not yet heard from in the
//! iteration; an iteration is complete when each client has heard every
//! sender once. Anything else (a wrong or repeated message, a server that
//! closes, an iteration that does not complete within 10 s) fails the run
//! with exit status 1 and what went wrong on stderr.
//!
//! Output: one line on stdout, `RESULT key=value ...`: iterations per
//! second, deliveries per second (iterations/s × N²), the median and 99th
//! percentile of an iteration's time, and, with `--server-pid`, the
//! server's user and system CPU (`/proc/PID/stat`, all its threads) per
//! delivery over the measured iterations, and the CPU % of the server, of
//! this generator and of the whole machine (all CPUs, from /proc/stat; 100
//! is one CPU) over the same interval.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::exit;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use weir_bench_echo::cpu::{clock_ticks_per_second, machine_busy_ticks, Cpu, CpuClock};
use weir_bench_echo::{or_na, write_transmit, Flags};
use weir_proto::handshake::{ClientHandshake, ClientOptions, WsUri};
use weir_proto::{Config, Connection, Event, Message};

/// Bytes of every message: `IIIIIIIIIIII:SSSSSSS`, the iteration (12
/// digits) and the sender (7 digits).
const SIZE: usize = 20;
/// How long one iteration may take before the run fails.
const STUCK: Duration = Duration::from_secs(10);

struct Args {
    urls: Vec<String>,
    clients: usize,
    /// How many clients send in each iteration (the first ones).
    senders: usize,
    seconds: f64,
    iterations: Option<u64>,
    warmup: f64,
    server_pids: Vec<u32>,
    label: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: broadcast-gen --url ws://HOST:PORT/PATH [--url ...] [--clients N] [--senders K] \
         [--seconds T | --iterations I] [--warmup W] [--server-pid PID[,PID]] [--label NAME]"
    );
    exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        urls: Vec::new(),
        clients: 10,
        senders: 0,
        seconds: 5.0,
        iterations: None,
        warmup: 1.0,
        server_pids: Vec::new(),
        label: "server".into(),
    };
    let mut flags = Flags::new(usage);
    while let Some(flag) = flags.next_flag() {
        match flag.as_str() {
            "--url" => args.urls.push(flags.value()),
            "--clients" | "-c" => args.clients = flags.num(),
            "--senders" => args.senders = flags.num(),
            "--seconds" | "-t" => args.seconds = flags.num(),
            "--iterations" | "-n" => args.iterations = Some(flags.num()),
            "--warmup" => args.warmup = flags.num(),
            "--server-pid" => {
                let pids = flags.value();
                let pids = pids
                    .split(',')
                    .map(|pid| pid.parse::<u32>().unwrap_or_else(|_| usage()));
                args.server_pids.extend(pids);
            }
            "--label" => args.label = flags.value(),
            _ => usage(),
        }
    }
    if args.senders == 0 {
        args.senders = args.clients;
    }
    if args.urls.is_empty() || args.clients == 0 || args.clients > 9_999_999 {
        usage();
    }
    if args.senders > args.clients {
        usage();
    }
    args
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("broadcast-gen: {message}");
    exit(1)
}

/// The message client `sender` sends in iteration `iteration`.
fn payload(iteration: u64, sender: usize) -> String {
    format!("{iteration:012}:{sender:07}")
}

/// The iteration and sender of a message, if it has the shape of one.
fn parse(message: &Message) -> Option<(u64, usize)> {
    let Message::Text(text) = message else {
        return None;
    };
    let (iteration, sender) = text.as_str().split_once(':')?;
    if text.len() != SIZE || iteration.len() != 12 {
        return None;
    }
    Some((iteration.parse().ok()?, sender.parse().ok()?))
}

/// One client connection.
struct Client {
    socket: TcpStream,
    conn: Connection,
    /// Messages received in the current iteration.
    received: usize,
    /// Per sender, 1 + the last iteration heard from it (0: never).
    heard: Vec<u64>,
}

/// What the clients connect to: a URL and its address.
struct Target {
    url: String,
    addr: SocketAddr,
}

/// Connects client `index` and completes its opening handshake (blocking),
/// then hands the socket over to mio.
fn connect(url: &str, addr: SocketAddr, index: usize, senders: usize) -> Client {
    let fail_here = |what: &str, e: &dyn std::fmt::Display| -> ! {
        fail(format!("client {index}: {what}: {e}"))
    };
    let (mut handshake, request) = ClientHandshake::new(url, ClientOptions::default())
        .unwrap_or_else(|e| fail_here("bad url", &e));
    let mut socket =
        std::net::TcpStream::connect(addr).unwrap_or_else(|e| fail_here("connect", &e));
    let _ = socket.set_nodelay(true);
    let _ = socket.set_read_timeout(Some(STUCK));
    socket
        .write_all(&request)
        .unwrap_or_else(|e| fail_here("writing the request", &e));
    let mut buf = [0u8; 4096];
    let response = loop {
        let n = socket
            .read(&mut buf)
            .unwrap_or_else(|e| fail_here("reading the response", &e));
        if n == 0 {
            fail(format!("client {index}: closed during the handshake"));
        }
        match handshake.receive(&buf[..n]) {
            Ok(Some(response)) => break response,
            Ok(None) => {}
            Err(e) => fail_here("handshake", &e),
        }
    };
    let conn = response
        .connection(Config::default())
        .unwrap_or_else(|e| fail_here("connection", &e));
    socket
        .set_nonblocking(true)
        .unwrap_or_else(|e| fail_here("set_nonblocking", &e));
    Client {
        socket: TcpStream::from_std(socket),
        conn,
        received: 0,
        heard: vec![0; senders],
    }
}

/// The clients and the iteration in progress.
struct Generator {
    poll: Poll,
    clients: Vec<Client>,
    /// The iteration in progress.
    iteration: u64,
    /// Deliveries still missing in it.
    missing: usize,
    /// How many clients send in each iteration (the first ones).
    senders: usize,
    scratch: Box<[u8]>,
}

impl Generator {
    /// Starts the next iteration: every sender queues its message, and
    /// is written.
    fn start_iteration(&mut self) {
        let n = self.clients.len();
        self.missing = n * self.senders;
        for client in &mut self.clients {
            client.received = 0;
        }
        for index in 0..self.senders {
            let client = &mut self.clients[index];
            if let Err(e) = client.conn.send(payload(self.iteration, index)) {
                fail(format!("client {index}: send: {e}"));
            }
            self.flush(index);
        }
    }

    /// Writes what client `index` has queued, until done or the socket is
    /// full (the rest goes when it is writable again).
    fn flush(&mut self, index: usize) {
        let client = &mut self.clients[index];
        if let Err(e) = write_transmit(&mut client.conn, &client.socket) {
            fail(format!("client {index}: write: {e}"));
        }
    }

    /// Reads client `index` until its socket is drained, checking every
    /// message; answers what the connection must answer (pongs).
    fn read(&mut self, index: usize) {
        loop {
            let client = &mut self.clients[index];
            let n = match (&client.socket).read(&mut self.scratch) {
                Ok(0) => fail(format!(
                    "client {index}: the server closed the connection (iteration {})",
                    self.iteration
                )),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => fail(format!("client {index}: read: {e}")),
            };
            client.conn.receive(&self.scratch[..n]);
            while let Some(event) = client.conn.poll_event() {
                match event {
                    Ok(Event::Message(message)) => {
                        self.missing -= check(client, index, self.iteration, &message);
                    }
                    Ok(Event::Ping(_) | Event::Pong(_)) => {}
                    Ok(Event::Fragment(_)) => fail(format!("client {index}: a fragment")),
                    Ok(Event::Close(frame)) => {
                        fail(format!("client {index}: the server closed: {frame:?}"))
                    }
                    Err(e) => fail(format!("client {index}: protocol error: {e}")),
                }
            }
            if n < self.scratch.len() {
                break;
            }
        }
        self.flush(index);
    }

    /// Runs iterations until `done` (asked at each iteration's end, with
    /// the number of iterations run so far) says to stop; returns each
    /// iteration's duration.
    fn run(&mut self, events: &mut Events, mut done: impl FnMut(u64) -> bool) -> Vec<Duration> {
        let mut times = Vec::new();
        let mut started = Instant::now();
        self.start_iteration();
        loop {
            if let Err(e) = self.poll.poll(events, Some(Duration::from_millis(100))) {
                if e.kind() != io::ErrorKind::Interrupted {
                    fail(format!("poll: {e}"));
                }
            }
            for event in events.iter() {
                let index = event.token().0;
                if event.is_readable() {
                    self.read(index);
                } else {
                    self.flush(index);
                }
            }
            if self.missing == 0 {
                times.push(started.elapsed());
                self.iteration += 1;
                if done(times.len() as u64) {
                    return times;
                }
                started = Instant::now();
                self.start_iteration();
            } else if started.elapsed() > STUCK {
                self.stuck();
            }
        }
    }

    /// Fails the run, saying which clients are missing messages.
    fn stuck(&self) -> ! {
        let n = self.clients.len();
        let senders = self.senders;
        let short: Vec<String> = (self.clients.iter().enumerate())
            .filter(|(_, client)| client.received < senders)
            .take(10)
            .map(|(index, client)| format!("client {index} has {}", client.received))
            .collect();
        fail(format!(
            "iteration {} not complete after {STUCK:?}: {} of {} deliveries missing ({}{} \
             of {senders} messages)",
            self.iteration,
            self.missing,
            n * senders,
            short.join(", "),
            if short.len() == 10 { ", ..." } else { "" }
        ))
    }
}

/// Checks a message that client `index` received during `iteration`:
/// returns 1 (one delivery) or fails the run.
fn check(client: &mut Client, index: usize, iteration: u64, message: &Message) -> usize {
    let Some((sent_in, sender)) = parse(message) else {
        fail(format!(
            "client {index}: not a message of this test ({:?}, {} bytes): {:?}",
            message.kind(),
            message.len(),
            String::from_utf8_lossy(message.payload())
        ));
    };
    if sent_in != iteration || sender >= client.heard.len() {
        fail(format!(
            "client {index}: in iteration {iteration}, a message of iteration {sent_in} \
             from client {sender}"
        ));
    }
    if client.heard[sender] == iteration + 1 {
        fail(format!(
            "client {index}: client {sender}'s message of iteration {iteration} came twice"
        ));
    }
    client.heard[sender] = iteration + 1;
    client.received += 1;
    1
}

/// The URL and its first address.
fn resolve(url: &str) -> Target {
    let uri = WsUri::parse(url).unwrap_or_else(|e| fail(format!("bad url: {e}")));
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let addr = (host, uri.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .unwrap_or_else(|| fail(format!("cannot resolve {url}")));
    Target {
        url: url.to_owned(),
        addr,
    }
}

/// The `q` quantile of `times`, sorted, in milliseconds.
fn quantile_ms(times: &[Duration], q: f64) -> f64 {
    let index = ((times.len() as f64 * q) as usize).min(times.len() - 1);
    times[index].as_secs_f64() * 1000.0
}

fn main() {
    let args = parse_args();
    let targets: Vec<Target> = args.urls.iter().map(|url| resolve(url)).collect();
    let n = args.clients;
    let poll = Poll::new().unwrap_or_else(|e| fail(format!("poll: {e}")));
    let mut clients = Vec::with_capacity(n);
    for index in 0..n {
        let target = &targets[index % targets.len()];
        let mut client = connect(&target.url, target.addr, index, args.senders);
        poll.registry()
            .register(
                &mut client.socket,
                Token(index),
                Interest::READABLE | Interest::WRITABLE,
            )
            .unwrap_or_else(|e| fail(format!("register: {e}")));
        clients.push(client);
    }
    let mut gen = Generator {
        poll,
        clients,
        iteration: 0,
        missing: 0,
        senders: args.senders,
        scratch: vec![0; 256 * 1024].into_boxed_slice(),
    };
    let mut events = Events::with_capacity(1024);

    let warmup = Instant::now();
    let warmup_iterations = gen.run(&mut events, |_| {
        warmup.elapsed().as_secs_f64() >= args.warmup
    });

    let hz = clock_ticks_per_second();
    let servers: Vec<CpuClock> = (args.server_pids.iter())
        .map(|pid| CpuClock::start(pid.to_string(), hz))
        .collect();
    let own = CpuClock::start("self", hz);
    let machine_before = machine_busy_ticks();
    let start = Instant::now();
    let mut times = gen.run(&mut events, |count| match args.iterations {
        Some(iterations) => count >= iterations,
        None => start.elapsed().as_secs_f64() >= args.seconds,
    });
    let secs = start.elapsed().as_secs_f64();
    // Every process's, added up; none if any is unknown.
    let server_cpu = (!servers.is_empty())
        .then(|| {
            servers
                .iter()
                .map(CpuClock::stop)
                .collect::<Option<Vec<Cpu>>>()
        })
        .flatten()
        .map(|cpus| Cpu {
            user: cpus.iter().map(|c| c.user).sum(),
            system: cpus.iter().map(|c| c.system).sum(),
        });
    let own_cpu = own.stop();
    let machine_pct = machine_before
        .zip(machine_busy_ticks())
        .map(|(before, after)| (after - before) as f64 / hz * 100.0 / secs);
    times.sort_unstable();

    let iterations = times.len() as u64;
    let deliveries = iterations * (n * args.senders) as u64;
    let per_delivery =
        |f: fn(Cpu) -> f64| or_na(server_cpu.map(|c| f(c) * 1e6 / deliveries.max(1) as f64), 4);
    let pct = |cpu: Option<Cpu>| or_na(cpu.map(|c| c.total() * 100.0 / secs), 1);
    weir_bench_echo::print_result(&[
        ("label", args.label.clone()),
        ("clients", n.to_string()),
        ("senders", args.senders.to_string()),
        ("nodes", targets.len().to_string()),
        ("size", SIZE.to_string()),
        ("seconds", format!("{secs:.3}")),
        ("iterations", iterations.to_string()),
        ("warmup_iterations", warmup_iterations.len().to_string()),
        (
            "iterations_per_s",
            format!("{:.2}", iterations as f64 / secs),
        ),
        ("deliveries", deliveries.to_string()),
        (
            "deliveries_per_s",
            format!("{:.0}", deliveries as f64 / secs),
        ),
        ("p50_ms", format!("{:.3}", quantile_ms(&times, 0.50))),
        ("p99_ms", format!("{:.3}", quantile_ms(&times, 0.99))),
        ("server_user_us_per_delivery", per_delivery(|c| c.user)),
        ("server_sys_us_per_delivery", per_delivery(|c| c.system)),
        ("server_cpu_us_per_delivery", per_delivery(Cpu::total)),
        ("server_cpu_pct", pct(server_cpu)),
        ("loadgen_cpu_pct", pct(own_cpu)),
        ("machine_cpu_pct", or_na(machine_pct, 1)),
    ]);

    // Close every connection, and give the server a moment to read it.
    for index in 0..n {
        let _ = gen.clients[index]
            .conn
            .close(weir_proto::CloseCode::NORMAL, "");
        gen.flush(index);
    }
    std::thread::sleep(Duration::from_millis(100));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_20_bytes_and_parse_back() {
        for (iteration, sender) in [(0, 0), (7, 199), (999_999_999_999, 9_999_999)] {
            let text = payload(iteration, sender);
            assert_eq!(text.len(), SIZE);
            assert_eq!(parse(&Message::from(text)), Some((iteration, sender)));
        }
        assert_eq!(parse(&Message::from(&b"000000000001:0000002"[..])), None);
        assert_eq!(parse(&Message::from("000000000001:000002")), None);
    }
}
