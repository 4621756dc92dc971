//! Arbitrary bytes to `ClientHandshake::receive` (a client built with a
//! fixed nonce, offering two subprotocols and one extension), whole and in
//! two reads.
//!
//! Input: byte 0 picks the header limit (0: the default, else 16 times it),
//! bytes 1-2 the split point (big-endian, modulo the length + 1), then the
//! response bytes.
//!
//! Oracle: no panic; the same outcome whole and split (Ok(None), the same
//! response fields and leftover, or the same error); `Finished` after an
//! outcome; the heap held while waiting stays within twice the limit; an
//! accepted response really satisfies RFC 6455 4.1 (101, Upgrade, Connection,
//! the right Sec-WebSocket-Accept, only offered subprotocol and extensions).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_fuzz::alloc;
use weir_proto::deflate::DeflateConfig;
use weir_proto::handshake::{
    accept_key, ClientHandshake, ClientOptions, HandshakeError, Response, DEFAULT_MAX_HEADER_BYTES,
};

/// The nonce of RFC 6455 4.1's example ("AQIDBAUGBwgJCgsMDQ4PEA==").
const NONCE: [u8; 16] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];

fn client(limit_arg: usize) -> ClientHandshake {
    // The default DeflateConfig offers `permessage-deflate;
    // client_max_window_bits`, as browsers do.
    let options = ClientOptions {
        protocols: vec!["chat".into(), "superchat".into()],
        deflate: Some(DeflateConfig::default()),
        max_header_bytes: limit_arg,
        ..Default::default()
    };
    ClientHandshake::with_key("ws://example.com/chat", options, NONCE)
        .expect("client handshake")
        .0
}

#[derive(Debug, PartialEq)]
enum Summary {
    Pending,
    Accepted {
        status: u16,
        reason: String,
        headers: Vec<(String, Vec<u8>)>,
        protocol: Option<String>,
        extensions: String,
        leftover: Vec<u8>,
    },
    Error(HandshakeError),
}

fn summary(outcome: &Result<Option<Response>, HandshakeError>, more: &[u8]) -> Summary {
    match outcome {
        Ok(None) => Summary::Pending,
        Ok(Some(r)) => {
            let mut leftover = r.leftover().to_vec();
            leftover.extend_from_slice(more);
            Summary::Accepted {
                status: r.status(),
                reason: r.reason().to_owned(),
                headers: r
                    .headers()
                    .map(|(n, v)| (n.to_owned(), v.to_vec()))
                    .collect(),
                protocol: r.protocol().map(str::to_owned),
                extensions: format!("{:?}", r.extensions()),
                leftover,
            }
        }
        Err(e) => Summary::Error(e.clone()),
    }
}

fn trimmed(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |i| i + 1);
    &v[start..end]
}

/// RFC 6455 4.1, re-checked on an accepted response.
fn check_response(r: &Response) {
    assert_eq!(r.status(), 101);
    assert_eq!(r.header_all("upgrade").count(), 1);
    assert!(trimmed(r.header("upgrade").unwrap()).eq_ignore_ascii_case(b"websocket"));
    assert!(r.header_all("connection").any(|v| v
        .split(|&b| b == b',')
        .any(|t| trimmed(t).eq_ignore_ascii_case(b"upgrade"))));
    // accept_key itself is pinned to RFC 6455 1.3's example.
    assert_eq!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    let expected = accept_key(b"AQIDBAUGBwgJCgsMDQ4PEA==");
    assert_eq!(r.header_all("sec-websocket-accept").count(), 1);
    assert_eq!(
        trimmed(r.header("sec-websocket-accept").unwrap()),
        expected.as_bytes()
    );
    match r.protocol() {
        None => assert_eq!(r.header("sec-websocket-protocol"), None),
        Some(p) => {
            assert!(p == "chat" || p == "superchat", "unoffered protocol {p:?}");
            assert_eq!(
                trimmed(r.header("sec-websocket-protocol").unwrap()),
                p.as_bytes()
            );
        }
    }
    for ext in r.extensions() {
        assert!(
            ext.name.eq_ignore_ascii_case("permessage-deflate"),
            "{ext:?}"
        );
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let (head, data) = input.split_at(3);
    let limit_arg = head[0] as usize * 16;
    let limit = if limit_arg == 0 {
        DEFAULT_MAX_HEADER_BYTES
    } else {
        limit_arg
    };
    let at = u16::from_be_bytes([head[1], head[2]]) as usize % (data.len() + 1);
    let (a, b) = data.split_at(at);
    let max_held = 2 * limit + 64;

    let baseline = alloc::held_by(client(limit_arg));
    let mut whole = client(limit_arg);
    let outcome = whole.receive(data);
    let whole_summary = summary(&outcome, &[]);
    let mut twin = client(limit_arg);
    let twin_outcome = twin.receive(data);
    assert_eq!(
        summary(&twin_outcome, &[]),
        whole_summary,
        "not deterministic"
    );
    drop(twin_outcome);
    match &outcome {
        Ok(None) => {
            let held = alloc::held_by(twin).saturating_sub(baseline);
            assert!(
                held <= max_held,
                "a waiting client holds {held} bytes (limit {limit})"
            );
        }
        Ok(Some(r)) => {
            check_response(r);
            assert_eq!(twin.receive(b"x").unwrap_err(), HandshakeError::Finished);
            assert_eq!(
                alloc::held_by(twin),
                baseline,
                "a finished client holds memory"
            );
        }
        Err(_) => {
            assert_eq!(twin.receive(b"x").unwrap_err(), HandshakeError::Finished);
            assert_eq!(
                alloc::held_by(twin),
                baseline,
                "a finished client holds memory"
            );
        }
    }

    let mut split = client(limit_arg);
    let first = split.receive(a);
    let split_summary = match first {
        Ok(None) => {
            let mut twin = client(limit_arg);
            assert!(matches!(twin.receive(a), Ok(None)));
            let held = alloc::held_by(twin).saturating_sub(baseline);
            assert!(
                held <= max_held,
                "a waiting client holds {held} bytes (limit {limit})"
            );
            summary(&split.receive(b), &[])
        }
        done => {
            if !b.is_empty() {
                assert_eq!(split.receive(b).unwrap_err(), HandshakeError::Finished);
            }
            summary(&done, b)
        }
    };
    if whole_summary != split_summary {
        // The reader runs the HTTP parser only when a blank line may end the
        // head, so a head that is already malformed may be reported at once
        // by one chunking and only once the head ends by another. Allowed:
        // Pending on one side and an error on the other, which completing
        // the head turns into the same error.
        let pending_vs_error = matches!(
            (&whole_summary, &split_summary),
            (Summary::Pending, Summary::Error(_)) | (Summary::Error(_), Summary::Pending)
        );
        assert!(
            pending_vs_error,
            "split at {at}: {whole_summary:?} vs {split_summary:?}"
        );
        let settle = |reader: &mut ClientHandshake, s: Summary| match s {
            Summary::Pending => summary(&reader.receive(b"\r\n\r\n"), &[]),
            done => done,
        };
        let whole_settled = settle(&mut whole, whole_summary);
        let split_settled = settle(&mut split, split_summary);
        assert_eq!(
            whole_settled, split_settled,
            "split at {at}, once the head ends"
        );
    }
});
