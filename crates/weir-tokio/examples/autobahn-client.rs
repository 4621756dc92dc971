//! Client for the Autobahn testsuite's fuzzingserver.
//!
//! `cargo run --release -p weir-tokio --example autobahn-client -- ws://127.0.0.1:PORT [AGENT]`
//! (AGENT defaults to `weir-tokio-client`): asks for the case count, runs
//! each case by echoing every message until the stream ends, then asks the
//! server to write its reports.

use futures_util::{SinkExt, StreamExt};
use weir_tokio::{CloseCode, Config, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let base = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let base = base.trim_end_matches('/').to_string();
    let agent = args.next().unwrap_or_else(|| "weir-tokio-client".into());

    let count = case_count(&base).await?;
    println!("{count} cases");
    for case in 1..=count {
        let uri = format!("{base}/runCase?case={case}&agent={agent}");
        if let Err(error) = run_case(&uri).await {
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
    let uri = format!("{base}/updateReports?agent={agent}");
    let (mut ws, _) = weir_tokio::connect_async(&uri).await?;
    ws.close(CloseCode::NORMAL, "").await?;
    while ws.next().await.is_some() {}
    println!("reports updated for {agent}");
    Ok(())
}

/// `/getCaseCount`: the server sends the count as text, then closes.
async fn case_count(base: &str) -> Result<u32, Error> {
    let (mut ws, _) = weir_tokio::connect_async(&format!("{base}/getCaseCount")).await?;
    let message = ws.next().await.ok_or(Error::ConnectionReset)??;
    let count = std::str::from_utf8(message.payload())
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(0);
    while ws.next().await.is_some() {}
    Ok(count)
}

/// Echoes every message until the stream ends.
async fn run_case(uri: &str) -> Result<(), Error> {
    let config = Config::default()
        .with_max_frame_size(64 << 20)
        .with_max_message_size(64 << 20)
        .with_max_send_queue(64 << 20);
    let (mut ws, _) = weir_tokio::connect_async_with(uri, Default::default(), config).await?;
    while let Some(message) = ws.next().await {
        ws.send(message?).await?;
    }
    Ok(())
}
