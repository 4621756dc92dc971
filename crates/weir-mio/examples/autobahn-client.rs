//! Client for the Autobahn testsuite's fuzzingserver.
//!
//! `cargo run --release -p weir-mio --example autobahn-client -- ws://127.0.0.1:PORT [AGENT]`
//! (AGENT defaults to `weir-mio-client`): asks `/getCaseCount`, runs every
//! case with `/runCase?case=N&agent=AGENT`, echoing each message until the
//! server closes, one case after another on the same event loop, then asks
//! `/updateReports?agent=AGENT` so the reports are written.

use std::collections::BTreeMap;
use weir_mio::weir_proto;

use weir_mio::{ClientOptions, Config, Error, EventLoop, Handler, Message, Ws};

/// Echoes every message, and remembers the last text message (the case
/// count, for `/getCaseCount`).
#[derive(Default)]
struct Echo {
    last_text: Option<String>,
    /// Connection errors by kind, for the summary.
    errors: BTreeMap<&'static str, usize>,
}

impl Handler for Echo {
    fn on_message(&mut self, ws: &mut Ws<'_>, message: Message) {
        if let Message::Text(text) = &message {
            if text.len() < 32 {
                self.last_text = Some(text.to_string());
            }
        }
        let _ = ws.send(message);
    }

    fn on_error(&mut self, _ws: &mut Ws<'_>, error: &Error) {
        // Failures are part of the tests (the fuzzingserver sends bad
        // frames on purpose); count them for the summary only.
        let kind = match error {
            Error::Io(_) => "I/O",
            Error::Handshake(_) => "handshake",
            Error::Protocol(_) => "protocol",
            Error::HandshakeTimeout(_) => "handshake timeout",
            Error::CloseTimeout(_) => "close timeout",
            _ => "other",
        };
        *self.errors.entry(kind).or_default() += 1;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let base = base.trim_end_matches('/');
    let agent = args.next().unwrap_or_else(|| "weir-mio-client".to_owned());
    let connection = weir_proto::Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(128 << 20);
    let mut event_loop = EventLoop::new(Config::default().with_connection(connection))?;
    let mut echo = Echo::default();

    event_loop.connect(&format!("{base}/getCaseCount"), ClientOptions::default())?;
    event_loop.run_until_idle(&mut echo)?;
    let count: u32 = echo
        .last_text
        .take()
        .ok_or("no case count received")?
        .trim()
        .parse()?;
    println!("{count} cases");

    for case in 1..=count {
        let uri = format!("{base}/runCase?case={case}&agent={agent}");
        event_loop.connect(&uri, ClientOptions::default())?;
        event_loop.run_until_idle(&mut echo)?;
    }

    event_loop.connect(
        &format!("{base}/updateReports?agent={agent}"),
        ClientOptions::default(),
    )?;
    event_loop.run_until_idle(&mut echo)?;
    println!(
        "done: {count} cases; connection errors by kind: {:?}",
        echo.errors
    );
    Ok(())
}
