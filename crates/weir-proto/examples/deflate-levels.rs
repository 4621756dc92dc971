//! How well and how fast permessage-deflate compresses chat-like JSON, by
//! message size and level: the figures behind `DeflateConfig`'s defaults
//! (level and threshold).
//!
//! `cargo run --release -p weir-proto --features deflate --example deflate-levels`
//!
//! A server connection with no context takeover (the servers' default)
//! sends 2,000 different JSON messages of each size; the table gives the
//! compressed payload as a share of the original and the time per message
//! of `Connection::send` and draining the output (compression, the reset
//! that no context takeover needs, framing). Timings are wall-clock on
//! whatever else the machine is doing: compare rows of one run.

use std::time::Instant;

use weir_proto::deflate::DeflateConfig;
use weir_proto::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake,
};
use weir_proto::{Config, Connection};

/// `count` different JSON texts of `size` bytes, like a chat's messages.
fn messages(size: usize, count: usize) -> Vec<String> {
    const NAMES: [&str; 6] = ["alice", "bob", "carol", "dave", "erin", "frank"];
    const WORDS: [&str; 10] = [
        "hello", "meeting", "lunch", "deploy", "review", "coffee", "later", "thanks", "great",
        "tomorrow",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    (0..count)
        .map(|_| {
            let mut text = String::from("[");
            while text.len() < size {
                let words: Vec<&str> = (0..3 + next() % 6)
                    .map(|_| WORDS[next() % WORDS.len()])
                    .collect();
                text.push_str(&format!(
                    "{{\"id\":{},\"user\":\"{}\",\"ts\":{},\"text\":\"{}\"}},",
                    next() % 100_000,
                    NAMES[next() % NAMES.len()],
                    1_764_300_000 + next() % 100_000,
                    words.join(" ")
                ));
            }
            text.truncate(size);
            text
        })
        .collect()
}

/// A server connection that compresses every message at `level`.
fn server(level: u8) -> Connection {
    let offer = ClientOptions::default().with_deflate(Some(DeflateConfig::default()));
    let (_, request) =
        ClientHandshake::with_key("ws://localhost/", offer, [1; 16]).expect("request");
    let Ok(Some(Incoming::Upgrade(upgrade))) = ServerHandshake::new().receive(&request) else {
        panic!("not an upgrade");
    };
    let terms = DeflateConfig::low_memory()
        .with_level(level)
        .with_threshold(1);
    let accept = AcceptOptions::default().with_deflate(Some(terms));
    upgrade
        .accept(&accept, Config::default())
        .expect("accept")
        .connection
}

fn main() {
    const COUNT: usize = 2000;
    println!("| size | level | compressed / original | µs per message |");
    println!("| --: | --: | --: | --: |");
    for size in [64, 128, 256, 1024, 16 * 1024] {
        let texts = messages(size, COUNT);
        for level in [1, 2, 6] {
            let mut conn = server(level);
            let (mut wire, start) = (0, Instant::now());
            for text in &texts {
                conn.send(text.as_str()).expect("send");
                while let Some(chunk) = conn.poll_transmit() {
                    wire += chunk.len();
                }
            }
            let micros = start.elapsed().as_secs_f64() * 1e6 / COUNT as f64;
            // Frame headers are 2 bytes up to 125, 4 up to 64 KiB.
            let header = if size < 126 { 2 } else { 4 };
            let payload = wire as f64 / COUNT as f64 - f64::from(header);
            println!(
                "| {size} | {level} | {:.0}% | {micros:.1} |",
                100.0 * payload / size as f64
            );
        }
    }
}
