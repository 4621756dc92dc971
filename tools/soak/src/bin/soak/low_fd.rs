//! The low descriptor limit phase: a server with a low RLIMIT_NOFILE, more
//! clients at once than it has descriptors (so that accepting fails with
//! EMFILE), then all of them leave, and new clients must be served by the
//! same process without a restart.

use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::Barrier;
use std::thread;
use std::time::{Duration, Instant};

use weir_std::{ClientOptions, CloseCode, Config, Error, Message, WebSocket};

use crate::args::Args;
use crate::report::verdict;
use crate::server::ServerProcess;

/// How long a crowd member waits for its handshake before giving up.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(3);

/// How long the server may take to serve a new client after the crowd left.
const RECOVERY_WAIT: Duration = Duration::from_secs(30);

/// How long every worker's accept-error spell may take to be reported
/// over once descriptors are free again: twice the server's longest
/// backoff between tries (`Config::accept_backoff_max`, 1 s).
const RESUME_WAIT: Duration = Duration::from_secs(2);

/// New clients that must be served after the crowd left.
const RECOVERY_CLIENTS: usize = 20;

/// Opens a WebSocket to `url` at `addr` with every wait bounded.
fn connect(url: &str, server: &ServerProcess) -> Result<WebSocket<TcpStream>, Error> {
    let stream = TcpStream::connect_timeout(&server.addr(), HANDSHAKE_WAIT)?;
    stream.set_read_timeout(Some(HANDSHAKE_WAIT))?;
    let options = ClientOptions::default().with_deflate(None);
    let (ws, _) = weir_std::client(stream, url, options, Config::default())?;
    Ok(ws)
}

/// Connects, has one text and one binary message echoed, closes cleanly.
fn echo_once(url: &str, server: &ServerProcess) -> Result<(), String> {
    let mut ws = connect(url, server).map_err(|e| format!("connect: {e}"))?;
    for message in [Message::from("still here"), Message::from(vec![7u8; 3000])] {
        ws.send(message.clone()).map_err(|e| format!("send: {e}"))?;
        let echo = ws.read().map_err(|e| format!("read: {e}"))?;
        if echo != message {
            return Err("wrong echo".into());
        }
    }
    ws.close_and_wait(CloseCode::NORMAL, "bye")
        .map(drop)
        .map_err(|e| format!("close: {e}"))
}

/// Runs the phase; `Ok(true)` if it passed.
pub fn run(args: &Args) -> Result<bool, String> {
    let mut server =
        ServerProcess::start(&args.server, &args.addr, args.workers, Some(args.fd_limit))?;
    let url = server.echo_url();
    let before = server.usage()?;
    println!(
        "== low descriptor limit: server pid {} with RLIMIT_NOFILE {} ({} fds open at start); {} clients at once",
        server.pid(),
        args.fd_limit,
        before.fds,
        args.crowd
    );
    let release = Barrier::new(args.crowd + 1);
    let (done, results) = mpsc::channel();
    let (held, peak) = thread::scope(|scope| {
        for index in 0..args.crowd {
            let (url, server, release, done) = (&url, &server, &release, done.clone());
            scope.spawn(move || {
                let ws = connect(url, server);
                let _ = done.send(ws.is_ok());
                release.wait();
                // Half leave cleanly, half just drop the connection.
                if let (Ok(mut ws), 0) = (ws, index % 2) {
                    let _ = ws.close_and_wait(CloseCode::NORMAL, "bye");
                }
            });
        }
        let held = results
            .iter()
            .take(args.crowd)
            .filter(|&upgraded| upgraded)
            .count();
        let peak = server.usage();
        release.wait();
        (held, peak)
    });
    let peak = peak?;
    let released = Instant::now();
    println!(
        "crowd: {held} upgraded, {} refused or timed out; server fds at the peak: {} (limit {})",
        args.crowd - held,
        peak.fds,
        args.fd_limit
    );
    let mut first_error = None;
    let recovered_after = loop {
        match echo_once(&url, &server) {
            Ok(()) => break Some(released.elapsed()),
            Err(e) if released.elapsed() < RECOVERY_WAIT => {
                first_error.get_or_insert(e);
                thread::sleep(Duration::from_millis(100));
            }
            Err(e) => {
                first_error.get_or_insert(e);
                break None;
            }
        }
    };
    let served = (1..RECOVERY_CLIENTS)
        .filter(|_| echo_once(&url, &server).is_ok())
        .count()
        + usize::from(recovered_after.is_some());
    let (mut stats, idle, after) = server.settle()?;
    // A worker still between two tries of its failing accept reports the
    // end of its spell at its next try, which the backoff may hold for up
    // to `Config::accept_backoff_max` (1 s) after descriptors are free.
    let resume_deadline = Instant::now() + RESUME_WAIT;
    while stats.accept_resumes < stats.accept_errors && Instant::now() < resume_deadline {
        thread::sleep(Duration::from_millis(100));
        stats = server.stats()?;
    }
    match recovered_after {
        Some(after) => println!(
            "recovery: first new client served {} ms after the crowd left",
            after.as_millis()
        ),
        None => println!(
            "recovery: no new client served within {} s",
            RECOVERY_WAIT.as_secs()
        ),
    }
    if let Some(error) = first_error {
        println!("first error while recovering: {error}");
    }
    println!(
        "after: {served}/{RECOVERY_CLIENTS} new clients served; server fds {} (at start {}); {} on_open, {} on_close, {} open now",
        after.fds, before.fds, stats.opens, stats.closes, stats.open_now
    );
    println!(
        "accept-error reports: {} on_accept_error, {} on_accept_resumed ({} workers; one report per worker per spell)",
        stats.accept_errors, stats.accept_resumes, args.workers
    );
    let mut failures = Vec::new();
    if held >= args.crowd {
        failures.push("every client got in: the limit was never reached".into());
    }
    if after.fds.abs_diff(before.fds) * 10 > before.fds {
        failures.push("the server's descriptors did not come back to their start".into());
    }
    if served < RECOVERY_CLIENTS {
        failures.push(format!(
            "only {served}/{RECOVERY_CLIENTS} new clients served"
        ));
    }
    if !idle || stats.opens != stats.closes {
        failures.push("on_open and on_close are not paired".into());
    }
    if stats.accept_errors == 0 || stats.accept_resumes != stats.accept_errors {
        failures.push(
            "accept errors not reported once per spell, each followed by its resumption".into(),
        );
    }
    if stats.double_closes + stats.unpaired_closes > 0 {
        failures.push("on_close called twice or without on_open".into());
    }
    Ok(verdict("low descriptor limit", &failures))
}
