//! Hostile `Sec-WebSocket-Extensions` values, to both ends of the
//! permessage-deflate negotiation (RFC 7692 section 7.1).
//!
//! Input layout:
//!
//! | byte | meaning |
//! | --- | --- |
//! | 0 | the server: bit 0 `server_no_context_takeover`, bit 1 `client_no_context_takeover`, bit 2 declines compression; bit 7: the value is built (else raw) |
//! | 1 | the server's window bits: low nibble server's, high nibble client's, each `8 + n % 8` |
//! | 2, 3 | the client's offer, the same way (bit 2: offers no compression) |
//! | then | the header value: these bytes (raw), or a list built from them ([`built`]) |
//!
//! The value goes, as the offer, into an upgrade request for a server with
//! the chosen config, and, as the answer, into a `101` for a client that
//! made the chosen offer. Each side's outcome is checked against [`read`],
//! an RFC 7692 reader written here (the header grammar is weir-proto's
//! `parse_extensions`, fuzzed by the handshake targets):
//!
//! - server: compression is agreed exactly when it is configured and some
//!   permessage-deflate offer is valid; then the answer has only known,
//!   single, in-range parameters, accepts what the offer asked for
//!   (`server_no_context_takeover`, `server_max_window_bits` with at most
//!   the offered value), holds `client_max_window_bits` only if offered and
//!   at most the offered value, respects the server's config; the
//!   connection's `DeflateParams` are what the answer says; and when the
//!   accepted offer is one weir-proto's client can make (it always offers
//!   `client_max_window_bits`), that client accepts the server's own `101`
//!   and agrees on the same `DeflateParams`;
//! - client: it accepts exactly the answers that are valid for its offer
//!   (no unknown, repeated, out-of-range or valueless-window parameter, no
//!   second answer, no extension not offered, what it asked for granted),
//!   and then reports the `DeflateParams` the answer gives. (weir-proto's
//!   client always offers `client_max_window_bits`, so "answered without
//!   being offered" is covered only for the extension as a whole: a client
//!   offering no compression must refuse every answer.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_fuzz::negotiated;
use weir_proto::deflate::{DeflateConfig, DeflateParams};
use weir_proto::handshake::{
    accept_key, parse_extensions, AcceptOptions, ClientHandshake, ClientOptions, ExtensionOffer,
    Incoming, ServerHandshake,
};
use weir_proto::Config;

/// The nonce of RFC 6455 4.1's example, and its base64 form.
const NONCE: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const KEY: &str = "AQIDBAUGBwgJCgsMDQ4PEA==";
const NAME: &str = "permessage-deflate";

/// One permessage-deflate offer or answer, as RFC 7692 section 7.1 reads it.
#[derive(Debug, Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (valid in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

/// Section 7.1.2: "a decimal integer value without leading zeros between 8
/// to 15, inclusive" (quotes were removed by `parse_extensions`).
fn window_bits(value: &str) -> Option<u8> {
    (8u8..=15).find(|bits| bits.to_string() == value)
}

/// Section 7.1: the four parameters, each at most once, valued as 7.1.1 and
/// 7.1.2 say; anything else makes the offer or answer invalid. Names are
/// compared case-insensitively, as weir-proto compares extension names.
fn read(extension: &ExtensionOffer) -> Option<Params> {
    let mut p = Params::default();
    let mut seen: Vec<String> = Vec::new();
    for (name, value) in &extension.params {
        let name = name.to_ascii_lowercase();
        if seen.contains(&name) {
            return None;
        }
        match (name.as_str(), value.as_deref()) {
            ("server_no_context_takeover", None) => p.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => p.client_no_context_takeover = true,
            ("server_max_window_bits", Some(v)) => p.server_max_window_bits = Some(window_bits(v)?),
            ("client_max_window_bits", None) => p.client_max_window_bits = Some(None),
            ("client_max_window_bits", Some(v)) => {
                p.client_max_window_bits = Some(Some(window_bits(v)?))
            }
            _ => return None,
        }
        seen.push(name);
    }
    Some(p)
}

fn is_deflate(extension: &ExtensionOffer) -> bool {
    extension.name.eq_ignore_ascii_case(NAME)
}

/// A config from two input bytes (see the layout), or `None`.
fn config(flags: u8, bits: u8) -> Option<DeflateConfig> {
    let params = negotiated::params(flags & 1 != 0, flags & 2 != 0, bits);
    (flags & 4 == 0).then(|| negotiated::config_for(&params, 1, 128))
}

/// A header value built from `bytes`: `permessage-deflate`, then per byte,
/// by its low 3 bits, one of six parameters (the four, one in other case,
/// an unknown one) with a value picked by the high 5 bits, or a new
/// `permessage-deflate` offer, or another extension.
fn built(bytes: &[u8]) -> Vec<u8> {
    const NAMES: [&str; 6] = [
        "server_no_context_takeover",
        "client_no_context_takeover",
        "server_max_window_bits",
        "client_max_window_bits",
        "Client_Max_Window_Bits",
        "x_unknown",
    ];
    const VALUES: [&str; 18] = [
        "", "=8", "=9", "=10", "=11", "=12", "=13", "=14", "=15", "=7", "=16", "=0", "=08",
        "=\"10\"", "=1a", "=256", "=-9", " = 9 ",
    ];
    let mut out = NAME.to_owned();
    for &b in bytes {
        match (b & 7) as usize {
            6 => out.push_str(", permessage-deflate"),
            7 => out.push_str(", x-other"),
            i => {
                out.push_str("; ");
                out.push_str(NAMES[i]);
                out.push_str(VALUES[(b >> 3) as usize % VALUES.len()]);
            }
        }
    }
    out.into_bytes()
}

fn with_header(head: &str, value: &[u8]) -> Vec<u8> {
    let mut out = head.as_bytes().to_vec();
    out.extend_from_slice(b"Sec-WebSocket-Extensions: ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n\r\n");
    out
}

/// The value of the `Sec-WebSocket-Extensions` field of a `101` weir-proto
/// wrote, if it has one.
fn answer_in(response: &[u8]) -> Option<&[u8]> {
    const FIELD: &[u8] = b"Sec-WebSocket-Extensions: ";
    response
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(FIELD))
        .map(|v| v.strip_suffix(b"\r").unwrap_or(v))
}

fn server_side(value: &[u8], server: Option<DeflateConfig>) {
    let request = with_header(
        &format!(
            "GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n"
        ),
        value,
    );
    // Built values can be long: the head limit is not under test here.
    let mut server_handshake = ServerHandshake::with_max_header_bytes(request.len());
    let upgrade = match server_handshake.receive(&request) {
        Ok(Some(Incoming::Upgrade(upgrade))) => upgrade,
        Err(e) => {
            assert!(
                parse_extensions(value).is_err(),
                "refused a valid list: {e:?}"
            );
            return;
        }
        other => panic!("{other:?}"),
    };
    let options = AcceptOptions::default().with_deflate(server.clone());
    let accepted = upgrade.accept(&options, Config::default()).expect("accept");
    let agreed = accepted.connection.deflate().copied();
    let offer = upgrade
        .extensions()
        .iter()
        .filter(|e| is_deflate(e))
        .find_map(read);
    let (Some(config), Some(offer)) = (server, offer) else {
        assert_eq!(agreed, None, "agreed without a valid offer or a config");
        assert_eq!(
            answer_in(&accepted.response),
            None,
            "answered, yet agreed nothing"
        );
        return;
    };
    let agreed = agreed.expect("a valid offer was declined");
    let answer = answer_in(&accepted.response).expect("agreed, yet no answer");
    let answer = parse_extensions(answer).expect("the answer parses");
    assert!(answer.len() == 1 && is_deflate(&answer[0]), "{answer:?}");
    let a = read(&answer[0]).expect("the answer is valid");
    let expected = DeflateParams {
        server_no_context_takeover: a.server_no_context_takeover,
        client_no_context_takeover: a.client_no_context_takeover,
        server_max_window_bits: a.server_max_window_bits.unwrap_or(15),
        client_max_window_bits: match a.client_max_window_bits {
            Some(bits) => bits.expect("an answer gives client_max_window_bits a value"),
            None => offer.client_max_window_bits.flatten().unwrap_or(15),
        },
    };
    assert_eq!(
        agreed, expected,
        "the connection's parameters vs the answer"
    );
    // What the offer asked for is granted, and the server's wishes applied.
    assert!(!offer.server_no_context_takeover || a.server_no_context_takeover);
    assert!(!config.server_no_context_takeover || a.server_no_context_takeover);
    assert!(!config.client_no_context_takeover || a.client_no_context_takeover);
    if let Some(bits) = offer.server_max_window_bits {
        assert!(
            a.server_max_window_bits.is_some_and(|b| b <= bits),
            "{a:?} for {offer:?}"
        );
    }
    assert!(agreed.server_max_window_bits <= config.server_max_window_bits);
    match offer.client_max_window_bits {
        None => assert_eq!(a.client_max_window_bits, None, "not offered"),
        Some(hint) => {
            assert!(agreed.client_max_window_bits <= hint.unwrap_or(15));
            assert!(agreed.client_max_window_bits <= config.client_max_window_bits);
        }
    }
    // A weir-proto client that made this offer takes this 101.
    let Some(client_bits) = offer.client_max_window_bits else {
        return;
    };
    let client = DeflateConfig::default()
        .with_no_context_takeover(
            offer.server_no_context_takeover,
            offer.client_no_context_takeover,
        )
        .with_max_window_bits(
            offer.server_max_window_bits.unwrap_or(15),
            client_bits.unwrap_or(15),
        );
    let options = ClientOptions::default().with_deflate(Some(client));
    let (mut client, _) =
        ClientHandshake::with_key("ws://example.com/", options, NONCE).expect("client");
    let response = client
        .receive(&accepted.response)
        .unwrap_or_else(|e| panic!("the offering client refuses the answer: {e:?}"))
        .expect("complete");
    assert_eq!(response.deflate(), Some(&agreed), "the two ends disagree");
}

/// What a client that offered `config` must agree on for `value`, or `None`
/// if it must fail the handshake.
fn client_model(value: &[u8], config: &Option<DeflateConfig>) -> Option<Option<DeflateParams>> {
    let mut agreed = None;
    for extension in parse_extensions(value).ok()? {
        let config = config.as_ref().filter(|_| is_deflate(&extension))?;
        if agreed.is_some() {
            return None;
        }
        let a = read(&extension)?;
        let client_bits = match a.client_max_window_bits {
            None => config.client_max_window_bits,
            Some(None) => return None,
            Some(Some(bits)) if bits > config.client_max_window_bits => return None,
            Some(Some(bits)) => bits,
        };
        let server_bits = match a.server_max_window_bits {
            None if config.server_max_window_bits < 15 => return None,
            Some(bits) if bits > config.server_max_window_bits => return None,
            bits => bits.unwrap_or(15),
        };
        if config.server_no_context_takeover && !a.server_no_context_takeover {
            return None;
        }
        agreed = Some(DeflateParams {
            server_no_context_takeover: a.server_no_context_takeover,
            client_no_context_takeover: a.client_no_context_takeover
                || config.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        });
    }
    Some(agreed)
}

fn client_side(value: &[u8], config: Option<DeflateConfig>) {
    let response = with_header(
        &format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {}\r\n",
            accept_key(KEY.as_bytes())
        ),
        value,
    );
    let options = ClientOptions::default()
        .with_deflate(config.clone())
        .with_max_header_bytes(response.len());
    let (mut client, _) =
        ClientHandshake::with_key("ws://example.com/", options, NONCE).expect("client");
    let outcome = client.receive(&response);
    match (client_model(value, &config), outcome) {
        (Some(agreed), Ok(Some(response))) => {
            assert_eq!(response.deflate(), agreed.as_ref(), "agreed parameters")
        }
        (None, Err(_)) => {}
        (model, outcome) => {
            panic!("offer {config:?}: the model says {model:?}, the client {outcome:?}")
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((head, rest)) = input.split_first_chunk::<4>() else {
        return;
    };
    let value = if head[0] & 0x80 != 0 {
        built(rest)
    } else {
        rest.to_vec()
    };
    // Only the extension list is under test: a value that cannot be an HTTP
    // field value (control bytes, non-ASCII) would fail the head instead.
    if !value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        return;
    }
    server_side(&value, config(head[0], head[1]));
    client_side(&value, config(head[2], head[3]));
});
