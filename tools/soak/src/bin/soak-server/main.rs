//! `soak-server`: the server under soak. An echo route at
//! [`ECHO_PATH`](weir_soak::ECHO_PATH) whose handler counts its callbacks,
//! and those counts as text at [`STATS_PATH`](weir_soak::STATS_PATH); a
//! route at [`SINK_PATH`](weir_soak::SINK_PATH) that answers nothing, for
//! a peer that floods; and [`TRIM_PATH`](weir_soak::TRIM_PATH), which hands
//! free heap memory back to the system before the driver reads the RSS.
//!
//! `soak-server [--addr ADDR] [--workers N] [--fd-limit N]`: prints
//! `listening on ADDR` once bound, then serves until killed. `--fd-limit`
//! lowers the soft RLIMIT_NOFILE first, to see the server run out of
//! descriptors and recover.

mod books;
mod trim;

use std::io::Write;
use std::process::ExitCode;

use books::Books;
use weir_mio::server::{HttpResponse, Server, WsHandler};
use weir_mio::{weir_proto, Config};
use weir_soak::{ECHO_PATH, SINK_PATH, STATS_PATH, TRIM_PATH};

/// The largest frame and message taken: room for the flooding client's
/// 1 MiB messages, twice over.
const MAX_MESSAGE: usize = 2 << 20;

/// What each connection may have queued for sending before it counts as a
/// slow consumer: a few of the flood's 1 MiB echoes.
const MAX_SEND_QUEUE: usize = 4 << 20;

/// The command line.
struct Args {
    addr: String,
    workers: usize,
    fd_limit: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        addr: "127.0.0.1:0".into(),
        workers: 2,
        fd_limit: None,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse()
                .map_err(|_| format!("{flag}: not a number: {value}"))
        };
        match flag.as_str() {
            "--addr" => args.addr = value.clone(),
            "--workers" => args.workers = number()? as usize,
            "--fd-limit" => args.fd_limit = Some(number()?),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// Lowers the soft limit on open descriptors to `limit`, keeping the hard one.
fn lower_fd_limit(limit: u64) -> Result<(), String> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let hard = getrlimit(Resource::Nofile).maximum;
    setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(limit),
            maximum: hard,
        },
    )
    .map_err(|e| format!("setrlimit(NOFILE, {limit}): {e}"))
}

fn serve(args: Args) -> Result<(), String> {
    if let Some(limit) = args.fd_limit {
        lower_fd_limit(limit)?;
    }
    let connection = weir_proto::Config::default()
        .with_max_frame_size(MAX_MESSAGE)
        .with_max_message_size(MAX_MESSAGE)
        .with_max_send_queue(MAX_SEND_QUEUE);
    let books = Books::default();
    let counted = books.clone();
    let (failing, resuming) = (books.clone(), books.clone());
    let server = Server::builder()
        .bind(args.addr.as_str())
        .workers(args.workers)
        .config(Config::default().with_connection(connection))
        .route(ECHO_PATH, books)
        .route(SINK_PATH, Sink)
        .on_accept_error(move |_, _| failing.accept_failed())
        .on_accept_resumed(move |_| resuming.accept_resumed())
        .http(move |request| match request.path() {
            STATS_PATH => HttpResponse::text(200, counted.stats().to_string()),
            TRIM_PATH => HttpResponse::text(200, trim::release_free_memory().to_string()),
            _ => HttpResponse::not_found(),
        })
        .build()
        .map_err(|e| format!("binding {}: {e}", args.addr))?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", server.local_addr())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;
    server.run().map_err(|e| format!("server: {e}"))
}

/// The handler of [`SINK_PATH`]: takes every message, answers none (the
/// trait's defaults).
struct Sink;

impl WsHandler for Sink {
    type State = ();
}

fn main() -> ExitCode {
    match parse_args().and_then(serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("soak-server: {message}");
            ExitCode::FAILURE
        }
    }
}
