//! A tiny interactive WebSocket client.
//!
//! `cargo run --release -p weir-std --example wscat -- ws://HOST:PORT/PATH`:
//! sends each line of stdin as a text message and prints each message
//! received (binary as its length and hex). On stdin EOF it closes with 1000
//! and waits for the server's Close.
//!
//! One WebSocket, one thread for it: a helper thread reads stdin lines into
//! a channel, and the main loop alternates between reading the socket with a
//! short timeout (a timeout loses nothing) and sending queued lines.

use std::io::{BufRead, Write};
use std::sync::mpsc::{self, TryRecvError};
use std::time::Duration;

use weir_std::{CloseCode, Error, Message};

fn main() {
    let Some(uri) = std::env::args().nth(1) else {
        eprintln!("usage: wscat ws://HOST:PORT/PATH");
        std::process::exit(2);
    };
    if let Err(error) = run(&uri) {
        eprintln!("wscat: {error}");
        std::process::exit(1);
    }
}

fn run(uri: &str) -> Result<(), Error> {
    let (mut ws, response) = weir_std::connect(uri)?;
    eprintln!(
        "connected to {uri} ({} {})",
        response.status(),
        response.reason()
    );
    ws.get_mut()
        .tcp()
        .set_read_timeout(Some(Duration::from_millis(50)))?;

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

    let stdout = std::io::stdout();
    loop {
        match ws.read() {
            Ok(message) => print_message(&mut stdout.lock(), &message),
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
        loop {
            match lines.try_recv() {
                Ok(line) => ws.send(line)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    // Close, printing what the server still sends before
                    // its answer.
                    ws.get_mut()
                        .tcp()
                        .set_read_timeout(Some(Duration::from_secs(5)))?;
                    ws.close(CloseCode::NORMAL, "")?;
                    loop {
                        match ws.read() {
                            Ok(message) => print_message(&mut stdout.lock(), &message),
                            Err(Error::Closed(_)) => break,
                            Err(error) => return Err(error),
                        }
                    }
                    // Wait for the server to close TCP (bounded by the timeout).
                    let _ = ws.close_and_wait(CloseCode::NORMAL, "");
                    return Ok(());
                }
            }
        }
    }
}

fn print_message(out: &mut impl Write, message: &Message) {
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
