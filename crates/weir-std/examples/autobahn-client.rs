//! Client for the Autobahn testsuite's fuzzingserver.
//!
//! `cargo run --release -p weir-std --example autobahn-client -- ws://127.0.0.1:PORT [AGENT]`
//! (AGENT defaults to `weir-std-client`): asks for the case count, runs each
//! case by echoing every message until the close, then asks the server to
//! write its reports.

use weir_std::{CloseCode, Config, Error};

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let base = base.trim_end_matches('/').to_string();
    let agent = args.next().unwrap_or_else(|| "weir-std-client".into());

    let count = case_count(&base)?;
    println!("{count} cases");
    for case in 1..=count {
        let uri = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(error) = run_case(&uri) {
            // An error ends this case only; the testsuite judges it. Protocol
            // errors are what many cases test for: only report the others.
            if !matches!(error, Error::Protocol(_) | Error::ConnectionReset) {
                println!("case {case}: {error}");
            }
        }
        if case % 50 == 0 {
            println!("{case}/{count} cases run");
        }
    }
    let (mut ws, _) = weir_std::connect(&format!("{base}/updateReports?agent={agent}"))?;
    let _ = ws.close_and_wait(CloseCode::NORMAL, "");
    println!("reports updated for {agent}");
    Ok(())
}

/// `/getCaseCount`: the server sends the count as text, then closes.
fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = weir_std::connect(&format!("{base}/getCaseCount"))?;
    let message = ws.read()?;
    let count = std::str::from_utf8(message.payload())
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    let _ = ws.close_and_wait(CloseCode::NORMAL, "");
    Ok(count)
}

/// Echoes every message until the peer closes.
fn run_case(uri: &str) -> Result<(), Error> {
    let config = Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(64 << 20);
    let (mut ws, _) = weir_std::connect_with(uri, Default::default(), config)?;
    loop {
        match ws.read() {
            Ok(message) => ws.send(message)?,
            Err(Error::Closed(_)) => {
                // Answered already; wait for the server to close TCP first.
                ws.close_and_wait(CloseCode::NORMAL, "")?;
                return Ok(());
            }
            Err(error) => return Err(error),
        }
    }
}
