//! Connections that negotiated permessage-deflate, made the only way
//! weir-proto allows it: a real opening handshake, run in memory.
//!
//! A client that offers a [`DeflateConfig`] and a server that accepts on the
//! same config agree on exactly that config's four parameters (the server
//! answers with the smaller of the offered and its own window, and with the
//! no-context-takeover flags either side asked for), so [`pair`] hands out
//! connections with any chosen [`DeflateParams`]. A handshake costs a SHA-1
//! and two small parses: cheap enough to run for every input.

use weir_proto::deflate::{DeflateConfig, DeflateParams};
use weir_proto::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, Incoming, ServerHandshake,
};
use weir_proto::{Config, Connection};

/// The one block zlib-rs allocates for an inflater: its state and window
/// together, whatever the window size (measured with zlib-rs 0.6.8 through
/// flate2 1.1: 47,552 bytes at every window from 9 to 15 bits, nothing more
/// while inflating). An inflater is made for a connection's first
/// compressed message, and per message without context takeover when the
/// thread's pool has no spare. If a zlib-rs upgrade changes this size, the
/// allocation oracle of deflate_frames reports blocks of the new size:
/// update it here.
pub const ZLIB_RS_INFLATER: usize = 47_552;

/// The nonce of RFC 6455 4.1's example; runs are deterministic.
const NONCE: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

/// Parameters from input bits: the two no-context-takeover flags, and one
/// byte whose low nibble gives `server_max_window_bits` and high nibble
/// `client_max_window_bits`, each as `8 + n % 8` (8 to 15).
pub fn params(
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    bits: u8,
) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover,
        client_no_context_takeover,
        server_max_window_bits: 8 + (bits & 0x0f) % 8,
        client_max_window_bits: 8 + (bits >> 4) % 8,
    }
}

/// The config whose offer, answered by a server using the same config,
/// agrees on `params`; `level` and `threshold` are local choices.
pub fn config_for(params: &DeflateParams, level: u8, threshold: usize) -> DeflateConfig {
    DeflateConfig::default()
        .with_no_context_takeover(
            params.server_no_context_takeover,
            params.client_no_context_takeover,
        )
        .with_max_window_bits(params.server_max_window_bits, params.client_max_window_bits)
        .with_level(level)
        .with_threshold(threshold)
}

/// Runs a handshake in memory: a client offering `client_deflate` (`None`:
/// no offer), a server accepting on `server_deflate` terms. Returns the
/// client's and the server's connections. Panics if the handshake fails (it
/// cannot: both requests are weir-proto's own) or if the two sides disagree
/// on what was negotiated.
pub fn handshake(
    client_deflate: Option<DeflateConfig>,
    server_deflate: Option<DeflateConfig>,
    client_config: Config,
    server_config: Config,
    mask_seed: [u8; 32],
) -> (Connection, Connection) {
    let options = ClientOptions::default().with_deflate(client_deflate);
    let (mut client, request) =
        ClientHandshake::with_key("ws://example.com/", options, NONCE).expect("client handshake");
    let Ok(Some(Incoming::Upgrade(upgrade))) = ServerHandshake::new().receive(&request) else {
        panic!("the server refused weir-proto's own request");
    };
    let options = AcceptOptions::default().with_deflate(server_deflate);
    let accepted = upgrade
        .accept(&options, server_config)
        .expect("accept without a subprotocol");
    let response = client
        .receive(&accepted.response)
        .expect("the client accepts the server's 101")
        .expect("the 101 is complete");
    let client = response.connection_with_mask_seed(client_config, mask_seed);
    assert_eq!(
        client.deflate(),
        accepted.connection.deflate(),
        "the two ends disagree on permessage-deflate"
    );
    (client, accepted.connection)
}

/// A client and a server connection that agreed on exactly `params`.
pub fn pair(
    params: DeflateParams,
    level: u8,
    threshold: usize,
    client_config: Config,
    server_config: Config,
    mask_seed: [u8; 32],
) -> (Connection, Connection) {
    let config = config_for(&params, level, threshold);
    let (client, server) = handshake(
        Some(config.clone()),
        Some(config),
        client_config,
        server_config,
        mask_seed,
    );
    assert_eq!(client.deflate(), Some(&params), "negotiated parameters");
    (client, server)
}
