//! A tiny interactive WebSocket client.
//!
//! `cargo run --release -p weir-std --example wscat -- [--ca FILE] [--grace MS] URI`
//! with a `ws://` or `wss://` URI: sends each line of stdin as a text
//! message and prints each message received (binary as its length and hex).
//! `--ca cert.pem` trusts that certificate (a self-signed test server)
//! instead of the bundled roots.
//!
//! At the end of stdin it keeps printing what arrives for `--grace`
//! milliseconds (1000 by default): replies to the last lines may still be on
//! their way, and some servers stop answering once they have seen a Close.
//! Then it closes with 1000, printing what comes before the server's
//! answer. It ends early if the server closes first.
//!
//! One WebSocket, one thread for it: a helper thread reads stdin lines into
//! a channel, and the main loop alternates between reading the socket with a
//! short timeout (a timeout loses nothing) and sending queued lines.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, TryRecvError};
use std::time::{Duration, Instant};

use weir_std::{ClientOptions, ClientTls, CloseCode, Config, Error, MaybeTls, Message, WebSocket};

const USAGE: &str = "\
usage: wscat [--ca FILE] [--grace MS] ws[s]://HOST[:PORT]/PATH

Sends each line of stdin as a text message; prints each message received.

options:
  --ca FILE    trust the certificates in this PEM file (e.g. a self-signed
               server's) instead of the bundled roots, for wss://
  --grace MS   after the end of stdin, keep printing replies for MS
               milliseconds before closing (default 1000)
  -h, --help   print this help";

/// How long a read waits before the loop looks at stdin again.
const POLL: Duration = Duration::from_millis(50);

/// What the command line asked for.
struct Args {
    uri: String,
    ca: Option<PathBuf>,
    grace: Duration,
}

impl Args {
    /// The arguments, or `None` for `--help`; `Err` says what is wrong.
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
        let (mut uri, mut ca, mut grace) = (None, None, Duration::from_secs(1));
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "-h" | "--help" => return Ok(None),
                "--ca" => ca = Some(args.next().ok_or("--ca needs a FILE")?.into()),
                "--grace" => {
                    let ms = args.next().ok_or("--grace needs MS")?;
                    let ms = ms
                        .parse()
                        .map_err(|_| format!("--grace {ms}: not a number"))?;
                    grace = Duration::from_millis(ms);
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
                _ if uri.is_some() => return Err(format!("one URI only, not also {arg}")),
                _ => uri = Some(arg),
            }
        }
        let uri = uri.ok_or("no URI")?;
        Ok(Some(Args { uri, ca, grace }))
    }
}

fn main() {
    let args = match Args::parse(std::env::args().skip(1)) {
        Ok(Some(args)) => args,
        Ok(None) => {
            println!("{USAGE}");
            return;
        }
        Err(why) => {
            eprintln!("wscat: {why}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(error) = run(&args) {
        eprintln!("wscat: {error}");
        std::process::exit(1);
    }
}

fn run(args: &Args) -> Result<(), Error> {
    let tls = match &args.ca {
        Some(path) => ClientTls::from_ca_file(path)?,
        None => ClientTls::default(),
    };
    let (mut ws, response) =
        weir_std::connect_tls(&args.uri, &tls, ClientOptions::default(), Config::default())?;
    eprintln!(
        "connected to {} ({} {})",
        args.uri,
        response.status(),
        response.reason()
    );
    ws.get_mut().tcp().set_read_timeout(Some(POLL))?;

    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
        // Dropping the sender tells the main loop that stdin ended.
    });

    let mut stdin_ended: Option<Instant> = None;
    loop {
        match ws.read() {
            Ok(message) => print_message(&message),
            Err(error) if error.is_timeout() => {}
            Err(Error::Closed(frame)) => {
                match frame {
                    Some(frame) => {
                        eprintln!("closed by the server: {} {}", frame.code, frame.reason)
                    }
                    None => eprintln!("closed by the server"),
                }
                return Ok(());
            }
            Err(error) => return Err(error),
        }
        if let Some(ended) = stdin_ended {
            if ended.elapsed() >= args.grace {
                return close(&mut ws);
            }
            continue;
        }
        loop {
            match lines.try_recv() {
                Ok(line) => ws.send(line)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    stdin_ended = Some(Instant::now());
                    break;
                }
            }
        }
    }
}

/// Closes with 1000, printing what the server still sends before its
/// answer, then waits for it to end the connection. The core's close
/// timeout (5 s) bounds both waits.
fn close(ws: &mut WebSocket<MaybeTls>) -> Result<(), Error> {
    ws.close(CloseCode::NORMAL, "")?;
    loop {
        match ws.read() {
            Ok(message) => print_message(&message),
            Err(error) if error.is_timeout() => {}
            Err(Error::Closed(_)) => break,
            Err(error) => return Err(error),
        }
    }
    let _ = ws.close_and_wait(CloseCode::NORMAL, "");
    Ok(())
}

fn print_message(message: &Message) {
    let mut out = std::io::stdout().lock();
    let _ = match message {
        Message::Text(text) => writeln!(out, "{text}"),
        Message::Binary(bytes) => {
            let hex: String = bytes.iter().take(64).map(|b| format!("{b:02x}")).collect();
            let more = if bytes.len() > 64 { "..." } else { "" };
            writeln!(out, "<binary, {} bytes> {hex}{more}", bytes.len())
        }
    };
    let _ = out.flush();
}
