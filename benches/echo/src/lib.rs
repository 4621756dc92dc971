//! The echo load test: a load generator (`loadgen`) on weir-proto + mio, and
//! one echo server per implementation measured (`echo-*`). Every server takes
//! a PORT argument, listens on 127.0.0.1:PORT, echoes text as text and
//! binary as binary, and sets TCP_NODELAY on its sockets (as the load
//! generator does), so Nagle's algorithm does not skew anyone's latency.
//!
//! The servers that compress (weir-mio, yawc) also take a second argument,
//! `takeover`: permessage-deflate with context takeover both ways instead of
//! their no-context-takeover default for many connections.
//!
//! With the arguments `PORT tls CERT.pem KEY.pem`, weir-mio,
//! tokio-tungstenite and fastwebsockets serve `wss://` instead (see [`tls`]).
//!
//! `bash benches/echo.sh` builds and runs the whole comparison.
//!
//! The broadcast workload (`bash benches/broadcast.sh`) has its own
//! generator, `broadcast-gen`, and servers, `broadcast-*`: each takes a PORT
//! argument, puts every connection in one group and sends each message it
//! receives to every member of the group, the sender included.

pub mod cpu;
pub mod tls;

use std::io::{self, IoSlice, Write};
use std::str::FromStr;

/// A generator's command-line flags, read one at a time: each flag, then
/// its value with [`Flags::value`] or [`Flags::num`], which call `usage`
/// (it prints the usage and exits) when the value is missing or does not
/// parse.
pub struct Flags {
    args: std::env::Args,
    usage: fn() -> !,
}

impl Flags {
    /// The process's arguments after the program name.
    pub fn new(usage: fn() -> !) -> Self {
        let mut args = std::env::args();
        args.next();
        Self { args, usage }
    }

    /// The next flag, `None` at the end.
    pub fn next_flag(&mut self) -> Option<String> {
        self.args.next()
    }

    /// The value after the flag just read.
    pub fn value(&mut self) -> String {
        self.args.next().unwrap_or_else(|| (self.usage)())
    }

    /// The value after the flag just read, parsed.
    pub fn num<T: FromStr>(&mut self) -> T {
        self.value().parse().unwrap_or_else(|_| (self.usage)())
    }
}

/// Writes what `conn` has to send to `socket`, vectored, until nothing is
/// left or the socket would block; returns the bytes written. Any error but
/// `WouldBlock` (and `Interrupted`, retried) is returned.
pub fn write_transmit(
    conn: &mut weir_proto::Connection,
    mut socket: impl Write,
) -> io::Result<u64> {
    let mut written = 0;
    loop {
        let mut slices = [IoSlice::new(&[]); 64];
        let count = conn.transmit_slices(&mut slices);
        if count == 0 {
            return Ok(written);
        }
        match socket.write_vectored(&slices[..count]) {
            Ok(n) => {
                conn.advance_transmit(n);
                written += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Prints the one line the driver scripts read from a generator,
/// `RESULT key=value ...` (in the order given), on stdout, and flushes it.
/// Values must not contain spaces.
pub fn print_result(fields: &[(&str, String)]) {
    let mut line = String::from("RESULT");
    for (key, value) in fields {
        line.push(' ');
        line.push_str(key);
        line.push('=');
        line.push_str(value);
    }
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// `value` with `digits` decimals, or `na` when it was not measured.
pub fn or_na(value: Option<f64>, digits: usize) -> String {
    match value {
        Some(v) => format!("{v:.digits$}"),
        None => "na".into(),
    }
}

/// The port from the first argument (default 9001).
pub fn port_arg() -> u16 {
    match std::env::args().nth(1) {
        Some(arg) => arg.parse().unwrap_or_else(|_| {
            eprintln!(
                "usage: {} PORT",
                std::env::args().next().unwrap_or_default()
            );
            std::process::exit(2)
        }),
        None => 9001,
    }
}

/// Whether the second argument is `takeover` (permessage-deflate with
/// context takeover instead of the server's low-memory default).
pub fn takeover_arg() -> bool {
    std::env::args().nth(2).as_deref() == Some("takeover")
}

/// Tells the driver script that the server is listening.
pub fn announce(name: &str, port: u16) {
    println!("{name} listening on 127.0.0.1:{port}");
}

/// Runs a blocking server: takes the port from the arguments, listens on
/// 127.0.0.1, announces itself as `name`, and hands each accepted socket,
/// with TCP_NODELAY set, to `serve` on a thread of its own.
pub fn serve_thread_per_connection(
    name: &str,
    serve: fn(std::net::TcpStream),
) -> std::io::Result<()> {
    let port = port_arg();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
    announce(name, port);
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let _ = stream.set_nodelay(true);
        std::thread::spawn(move || serve(stream));
    }
    Ok(())
}
