//! Arbitrary bytes to `ServerHandshake::receive`, whole and in two reads.
//!
//! Input: byte 0 picks the header limit (0: the default, else 16 times it),
//! bytes 1-2 the split point (big-endian, modulo the length + 1), then the
//! request bytes.
//!
//! Oracle: no panic; the same outcome whole and split (Ok(None), an upgrade
//! or plain request with the same fields and leftover bytes, or the same
//! error); `Finished` after an outcome; the heap held while waiting for more
//! bytes stays within twice the header limit; an accepted upgrade really
//! satisfies RFC 6455 4.2.1, and its `accept()` answer completes a client
//! handshake for the same key; every error the server reports has an HTTP
//! answer that a client reads back with the same status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_fuzz::alloc;
use weir_proto::handshake::{
    AcceptOptions, ClientHandshake, ClientOptions, HandshakeError, Incoming, ServerHandshake,
    DEFAULT_MAX_HEADER_BYTES,
};
use weir_proto::Config;

#[derive(Debug, PartialEq)]
enum Summary {
    Pending,
    Upgrade {
        request: Request,
        key: String,
        protocols: Vec<String>,
        extensions: String,
    },
    Http(Request),
    Error(HandshakeError),
}

#[derive(Debug, PartialEq)]
struct Request {
    method: String,
    path: String,
    query: Option<String>,
    version: u8,
    headers: Vec<(String, Vec<u8>)>,
    leftover: Vec<u8>,
}

fn request(r: &weir_proto::handshake::HttpRequest, more: &[u8]) -> Request {
    let mut leftover = r.leftover().to_vec();
    leftover.extend_from_slice(more);
    Request {
        method: r.method().to_owned(),
        path: r.path().to_owned(),
        query: r.query().map(str::to_owned),
        version: r.version(),
        headers: r
            .headers()
            .map(|(n, v)| (n.to_owned(), v.to_vec()))
            .collect(),
        leftover,
    }
}

/// A summary of an outcome; `more` are bytes read after it, which belong
/// to the leftover.
fn summary(outcome: &Result<Option<Incoming>, HandshakeError>, more: &[u8]) -> Summary {
    match outcome {
        Ok(None) => Summary::Pending,
        Ok(Some(Incoming::Upgrade(u))) => Summary::Upgrade {
            request: request(u.request(), more),
            key: u.key().to_owned(),
            protocols: u.protocols().to_vec(),
            extensions: format!("{:?}", u.extensions()),
        },
        Ok(Some(Incoming::Http(r))) => Summary::Http(request(r, more)),
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

fn has_token(r: &weir_proto::handshake::HttpRequest, name: &str, token: &str) -> bool {
    r.header_all(name).any(|v| {
        v.split(|&b| b == b',')
            .any(|t| trimmed(t).eq_ignore_ascii_case(token.as_bytes()))
    })
}

/// RFC 6455 4.2.1, re-checked on an accepted upgrade.
fn check_upgrade(u: &weir_proto::handshake::UpgradeRequest) {
    let r = u.request();
    assert_eq!(r.method(), "GET");
    assert_eq!(r.version(), 1);
    assert_eq!(r.header_all("host").count(), 1);
    assert!(!trimmed(r.header("host").unwrap()).is_empty());
    assert!(has_token(r, "upgrade", "websocket"));
    assert!(has_token(r, "connection", "upgrade"));
    assert_eq!(r.header_all("sec-websocket-version").count(), 1);
    assert_eq!(trimmed(r.header("sec-websocket-version").unwrap()), b"13");
    assert_eq!(r.header_all("sec-websocket-key").count(), 1);
    assert_eq!(
        trimmed(r.header("sec-websocket-key").unwrap()),
        u.key().as_bytes()
    );
    // base64 of 16 bytes: 22 characters and "==".
    let key = u.key().as_bytes();
    assert_eq!(key.len(), 24, "key {:?}", u.key());
    assert!(key[..22]
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/'));
    assert_eq!(&key[22..], b"==");
}

/// Decodes standard base64 (no padding errors expected: the key was checked).
fn nonce_of(key: &str) -> Option<[u8; 16]> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let chars = key.trim_end_matches('=').as_bytes();
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for &c in chars {
        bits = bits << 6 | value(c)?;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    // Only canonical keys (zero trailing bits) re-encode to the same text.
    if bits != 0 {
        return None;
    }
    out.try_into().ok()
}

/// The server's `101` completes a client handshake for the same key.
fn check_accept(u: &weir_proto::handshake::UpgradeRequest) {
    let Some(nonce) = nonce_of(u.key()) else {
        return;
    };
    let mut protocols: Vec<String> = Vec::new();
    for p in u.protocols() {
        if !protocols.contains(p) {
            protocols.push(p.clone());
        }
    }
    let chosen = protocols.first().cloned();
    // The client's default offer of permessage-deflate is the most
    // permissive one, so whatever the server answered to the fuzzed offers
    // must pass it (deflate_negotiation checks answers to exact offers).
    let options = ClientOptions {
        protocols,
        ..Default::default()
    };
    let (mut client, _) =
        ClientHandshake::with_key("ws://example.com/", options, nonce).expect("client handshake");
    assert_eq!(client.key(), u.key());
    let accepted = u
        .accept(
            &AcceptOptions {
                protocol: chosen.clone(),
                ..Default::default()
            },
            Config::default(),
        )
        .expect("accept with an offered protocol");
    let response = client
        .receive(&accepted.response)
        .expect("the server's 101 is valid")
        .expect("the server's 101 is complete");
    assert_eq!(response.status(), 101);
    assert_eq!(response.protocol(), chosen.as_deref());
    assert_eq!(response.deflate(), accepted.connection.deflate());
    assert!(response.leftover().is_empty());
}

/// Every server error has an HTTP answer with its status.
fn check_error_answer(e: &HandshakeError) {
    if *e == HandshakeError::Finished {
        return;
    }
    let status = e.status().expect("server errors have a status");
    let answer = e.response().expect("server errors have an answer");
    let (mut client, _) =
        ClientHandshake::with_key("ws://example.com/", ClientOptions::default(), [0; 16]).unwrap();
    match client.receive(&answer) {
        Err(HandshakeError::UnexpectedStatus { status: got, .. }) => assert_eq!(got, status),
        other => panic!("the answer to {e:?} reads back as {other:?}"),
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
    // Heap a waiting reader may hold: its buffer (at most `limit` bytes, grown
    // by doubling) and a little bookkeeping.
    let max_held = 2 * limit + 64;

    let mut whole = ServerHandshake::with_max_header_bytes(limit_arg);
    assert_eq!(whole.max_header_bytes(), limit);
    let outcome = whole.receive(data);
    let whole_summary = summary(&outcome, &[]);
    let mut twin = ServerHandshake::with_max_header_bytes(limit_arg);
    let twin_outcome = twin.receive(data);
    assert_eq!(
        summary(&twin_outcome, &[]),
        whole_summary,
        "not deterministic"
    );
    drop(twin_outcome);
    match &outcome {
        Ok(None) => {
            let held = alloc::held_by(twin);
            assert!(
                held <= max_held,
                "a waiting reader holds {held} bytes (limit {limit})"
            );
        }
        Ok(Some(_)) | Err(_) => {
            assert_eq!(twin.receive(b"x"), Err(HandshakeError::Finished));
            assert_eq!(alloc::held_by(twin), 0, "a finished reader holds memory");
        }
    }
    match &outcome {
        Ok(Some(Incoming::Upgrade(u))) => {
            check_upgrade(u);
            check_accept(u);
        }
        Err(e) => check_error_answer(e),
        _ => {}
    }

    let mut split = ServerHandshake::with_max_header_bytes(limit_arg);
    let first = split.receive(a);
    let split_summary = match first {
        Ok(None) => {
            // Memory held between the two reads, measured on a twin reader.
            let mut twin = ServerHandshake::with_max_header_bytes(limit_arg);
            assert_eq!(twin.receive(a), Ok(None));
            let held = alloc::held_by(twin);
            assert!(
                held <= max_held,
                "a waiting reader holds {held} bytes (limit {limit})"
            );
            summary(&split.receive(b), &[])
        }
        done => {
            if !b.is_empty() {
                assert_eq!(split.receive(b), Err(HandshakeError::Finished));
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
        let settle = |reader: &mut ServerHandshake, s: Summary| match s {
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
