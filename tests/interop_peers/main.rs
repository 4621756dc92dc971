//! Real peers, compression negotiated both ways: Python `websockets` and
//! Node `ws` (tests/interop/peer.py and peer.mjs) as clients of weir's echo
//! servers, and as echo servers for weir's clients, with permessage-deflate
//! on several parameter sets, windows of 8 bits among them.
//!
//! `bash scripts/interop-test.sh` installs the peers (target/interop-venv,
//! tests/interop/node_modules) and runs these tests with WEIR_INTEROP=1.
//! Without the peers every test skips with a loud message, so that a plain
//! `cargo test` passes on a machine without them; WEIR_INTEROP=1 turns the
//! skip into a failure. What finds and launches the peers is
//! `weir_test_support::peers`, shared with `interop_tls.rs`.
//!
//! weir sends every third message uncompressed (`send_uncompressed`), as a
//! server and as a client, so the peers get both kinds of frame. The peers'
//! clients against weir's servers are in `peer_clients`, weir's clients
//! against the peers' servers in `weir_clients`; what both use is here.

use weir::proto::deflate::DeflateParams;

const EXTENSIONS: &str = "sec-websocket-extensions";

/// The agreed parameters, in the order of [`DeflateParams`]' fields.
fn params(server_nct: bool, client_nct: bool, server_bits: u8, client_bits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: server_nct,
        client_no_context_takeover: client_nct,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    }
}

/// The `OFFER => ANSWER` a peer printed on a `negotiated: ` line.
fn negotiated(output: &str) -> Option<(&str, &str)> {
    let line = output
        .lines()
        .find_map(|l| l.strip_prefix("negotiated: "))?;
    line.split_once(" => ")
}

/// Whether weir sends its message number `index` (from 0) uncompressed.
fn uncompressed(index: usize) -> bool {
    index % 3 == 2
}

mod peer_clients;
mod weir_clients;
