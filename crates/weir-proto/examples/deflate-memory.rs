//! What permessage-deflate costs in memory per connection, by parameters.
//!
//! `cargo run --release -p weir-proto --features deflate --example deflate-memory [N]`
//!
//! For each configuration, builds N server connections (default 2,000)
//! through the real handshake, gives each one compressed message from the
//! client and has it send one back (so that a compressor and an inflater
//! exist where the parameters keep them), then reads the process's resident
//! memory. Prints the growth per connection in KiB, as a Markdown table. The
//! rows with context takeover show what each window size costs; the row
//! "no context takeover" is the servers' default, which holds none of it
//! between messages. Linux only (reads /proc/self/statm).

use weir_proto::deflate::DeflateConfig;
use weir_proto::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake,
};
use weir_proto::{Config, Connection};

/// A message worth compressing: 1 KiB of JSON-like text.
fn message() -> String {
    (0..24)
        .map(|i| format!("{{\"id\":{i},\"name\":\"user{i}\",\"online\":true}},"))
        .collect::<String>()
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// N server connections that negotiated `deflate` (both sides asking for
/// the same), each having received and sent one message.
fn connections(n: usize, deflate: Option<DeflateConfig>) -> Vec<Connection> {
    let options = ClientOptions::default().with_deflate(deflate.clone());
    let (mut handshake, request) =
        ClientHandshake::with_key("ws://localhost/", options, [1; 16]).expect("request");
    let accept = AcceptOptions::default().with_deflate(deflate);
    let first = accept_one(&request, &accept);
    let response = handshake
        .receive(&first.1)
        .expect("valid")
        .expect("complete");
    let mut client = response.connection_with_mask_seed(Config::default(), [2; 32]);
    client.send(message()).expect("send");
    let frame: Vec<u8> = std::iter::from_fn(|| client.poll_transmit())
        .flatten()
        .collect();
    let mut servers = vec![first.0];
    servers.extend((1..n).map(|_| accept_one(&request, &accept).0));
    for server in &mut servers {
        server.receive(&frame);
        let Some(Ok(weir_proto::Event::Message(echo))) = server.poll_event() else {
            panic!("no message");
        };
        server.send(echo).expect("echo");
        while server.poll_transmit().is_some() {}
    }
    servers
}

fn accept_one(request: &[u8], accept: &AcceptOptions) -> (Connection, Vec<u8>) {
    let Ok(Some(Incoming::Upgrade(upgrade))) = ServerHandshake::new().receive(request) else {
        panic!("not an upgrade");
    };
    let accepted = upgrade.accept(accept, Config::default()).expect("accept");
    (accepted.connection, accepted.response)
}

/// The configurations measured, by name.
fn rows() -> Vec<(String, Option<DeflateConfig>)> {
    let mut rows: Vec<(String, Option<DeflateConfig>)> = vec![
        ("no compression".into(), None),
        (
            "no context takeover (servers' default)".into(),
            Some(DeflateConfig::low_memory()),
        ),
    ];
    for bits in [8u8, 9, 10, 12, 15] {
        let config = DeflateConfig::default().with_max_window_bits(bits, bits);
        rows.push((
            format!("context takeover, windows of {bits} bits"),
            Some(config),
        ));
    }
    rows
}

/// Each row runs in a process of its own (this program, with `--row I`), so
/// that memory freed by one row cannot hide the cost of the next.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, row, n] = &args[..] {
        if flag == "--row" {
            let (row, n): (usize, usize) = (row.parse().expect("row"), n.parse().expect("n"));
            let before = resident_bytes();
            let held = connections(n, rows().swap_remove(row).1);
            let grown = resident_bytes().saturating_sub(before);
            println!("{}", grown as f64 / n as f64 / 1024.0);
            drop(held);
            return;
        }
    }
    let n: usize = args
        .get(1)
        .map_or(2000, |arg| arg.parse().expect("usage: deflate-memory [N]"));
    let me = std::env::current_exe().expect("own path");
    println!("{n} server connections, each after one 1 KiB message each way\n");
    println!("| parameters | KiB per connection | above no compression |");
    println!("| --- | --: | --: |");
    let mut base = None;
    for (i, (name, _)) in rows().iter().enumerate() {
        let out = std::process::Command::new(&me)
            .args(["--row", &i.to_string(), &n.to_string()])
            .output()
            .expect("run a row");
        let per: f64 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a number");
        let base = *base.get_or_insert(per);
        println!("| {name} | {per:.2} | {:.2} |", per - base);
    }
}
