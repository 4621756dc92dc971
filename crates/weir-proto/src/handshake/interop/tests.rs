//! The `http` entry points against the byte-level ones: same requests, same
//! decisions; same answers, same header fields.

use super::super::server::tests::RFC_REQUEST;
use super::super::{AcceptOptions, ClientOptions, ServerHandshake, UpgradeRequest};
use super::*;
use crate::Config;

/// `bytes` (a request head) as an `http::Request`, the way an HTTP stack
/// would hand it over.
fn http_request_of(bytes: &[u8]) -> http::Request<()> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    assert!(parsed.parse(bytes).expect("a valid head").is_complete());
    let version = match parsed.version {
        Some(0) => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    let mut request = http::Request::builder()
        .method(parsed.method.expect("a method"))
        .uri(parsed.path.expect("a target"))
        .version(version);
    for header in parsed.headers.iter() {
        request = request.header(header.name, header.value);
    }
    request.body(()).expect("a valid request")
}

/// The RFC request with the lines starting with `remove` left out and
/// `extra` lines added.
fn variant(remove: &[&str], extra: &[&str]) -> Vec<u8> {
    let text = std::str::from_utf8(RFC_REQUEST).expect("ascii");
    let mut lines: Vec<&str> = text
        .split("\r\n")
        .filter(|line| !line.is_empty())
        .filter(|line| !remove.iter().any(|r| line.starts_with(r)))
        .collect();
    lines.extend_from_slice(extra);
    format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes()
}

/// What was decided, leaving out the spelling of header names (the `http`
/// crate lowercases them; every check compares them case-insensitively).
fn decision(incoming: Result<Incoming, HandshakeError>) -> String {
    match incoming {
        Ok(Incoming::Upgrade(upgrade)) => format!(
            "upgrade {} {:?} key {} protocols {:?} extensions {:?}",
            upgrade.request().path(),
            upgrade.request().query(),
            upgrade.key(),
            upgrade.protocols(),
            upgrade.extensions(),
        ),
        Ok(Incoming::Http(request)) => format!("http {} {}", request.method(), request.path()),
        Err(error) => format!("error {error:?}"),
    }
}

fn upgrade_of(incoming: Result<Incoming, HandshakeError>) -> UpgradeRequest {
    match incoming {
        Ok(Incoming::Upgrade(upgrade)) => upgrade,
        other => panic!("expected an upgrade, got {other:?}"),
    }
}

/// Every decision of the byte parser (upgrade, plain HTTP, each error) is
/// the `http` entry point's too: one implementation of RFC 6455 4.2.1.
#[test]
fn both_entry_points_decide_alike() {
    let cases = [
        RFC_REQUEST.to_vec(),
        variant(&["Upgrade"], &[]),
        variant(&["Host"], &[]),
        variant(&["Connection"], &["Connection: keep-alive"]),
        variant(&["Sec-WebSocket-Version"], &["Sec-WebSocket-Version: 8"]),
        variant(&["Sec-WebSocket-Key"], &[]),
        variant(&["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: c2hvcnQ="]),
        variant(&[], &["Content-Length: 5"]),
        variant(&[], &["Sec-WebSocket-Version: 13"]),
        variant(
            &["Sec-WebSocket-Protocol"],
            &["Sec-WebSocket-Protocol: a b"],
        ),
        variant(
            &[],
            &["Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"],
        ),
        String::from_utf8_lossy(RFC_REQUEST)
            .replacen("GET", "POST", 1)
            .into_bytes(),
        String::from_utf8_lossy(RFC_REQUEST)
            .replacen("HTTP/1.1", "HTTP/1.0", 1)
            .into_bytes(),
        String::from_utf8_lossy(RFC_REQUEST)
            .replacen("/chat", "/chat?room=1&x=%20", 1)
            .into_bytes(),
    ];
    for bytes in cases {
        if httparse::Request::new(&mut [httparse::EMPTY_HEADER; MAX_HEADERS])
            .parse(&bytes)
            .map_or(true, |status| status.is_partial())
        {
            continue; // not a head an HTTP stack would hand over
        }
        let from_bytes = decision(ServerHandshake::new().receive(&bytes).map(Option::unwrap));
        let from_http = decision(Incoming::from_http(&http_request_of(&bytes)));
        assert_eq!(
            from_http,
            from_bytes,
            "request:\n{}",
            String::from_utf8_lossy(&bytes)
        );
        let (parts, ()) = http_request_of(&bytes).into_parts();
        assert_eq!(decision(Incoming::from_http_parts(&parts)), from_bytes);
    }
}

/// An HTTP/2 request is refused with a 505: RFC 6455 upgrades are HTTP/1.1.
#[test]
fn other_http_versions_are_refused() {
    let mut request = http_request_of(RFC_REQUEST);
    *request.version_mut() = http::Version::HTTP_2;
    let error = Incoming::from_http(&request).unwrap_err();
    assert!(matches!(
        error,
        HandshakeError::UnsupportedHttpVersion { .. }
    ));
    assert_eq!(error.status(), Some(505));
}

/// The `101` as an `http::Response` carries exactly the header fields of
/// the bytes, RFC 6455 1.3's accept value among them.
#[test]
fn accepted_http_response_matches_the_bytes() {
    let upgrade = upgrade_of(Incoming::from_http(&http_request_of(RFC_REQUEST)));
    let options = AcceptOptions::default()
        .with_protocol("chat")
        .with_header("Set-Cookie", "a=b");
    let accepted = upgrade.accept(&options, Config::default()).unwrap();
    let response = accepted.http_response();
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
    assert_eq!(response.headers()["set-cookie"], "a=b");
    let text = String::from_utf8(accepted.response.clone()).unwrap();
    let lines = text.trim_end().lines().count() - 1; // minus the status line
    assert_eq!(response.headers().len(), lines);
    for (name, value) in response.headers() {
        let line = format!("{}: {}", name, value.to_str().unwrap());
        assert!(
            text.to_ascii_lowercase()
                .contains(&line.to_ascii_lowercase()),
            "{line} not in {text}"
        );
    }
}

/// A refused request's answer, and an application's rejection, keep their
/// status, headers and body as `http::Response`s.
#[test]
fn refusals_as_http_responses() {
    let error = Incoming::from_http(&http_request_of(&variant(
        &["Sec-WebSocket-Version"],
        &["Sec-WebSocket-Version: 8"],
    )))
    .unwrap_err();
    let response = error.http_response().expect("a server-side error");
    assert_eq!(response.status(), http::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    let bytes = error.response().unwrap();
    assert!(bytes.ends_with(response.body()));
    assert!(!response.body().is_empty());

    let rejection = Rejection::new(401)
        .with_header("WWW-Authenticate", "Bearer")
        .with_body("no token");
    let response = rejection.http_response();
    assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.headers()["connection"], "close");
    assert_eq!(response.body(), b"no token");

    // Client-side errors have no answer in either form.
    assert!(HandshakeError::Finished.http_response().is_none());
}

/// A whole handshake in `http` types: the client's request, the server's
/// decision and answer, the client's check, then frames both ways.
#[test]
fn a_handshake_in_http_types() {
    let options = ClientOptions::default().with_protocols(["chat"]);
    let (client, bytes) = ClientHandshake::with_key("ws://example.com/chat", options, [7; 16])
        .expect("a valid client");
    let request = client.http_request();
    assert_eq!(request.uri(), "/chat");
    assert_eq!(request.headers()["host"], "example.com");
    assert_eq!(http_request_of(&bytes).headers(), request.headers());

    let upgrade = upgrade_of(Incoming::from_http(&request));
    assert_eq!(upgrade.protocols(), ["chat".to_owned()]);
    let accepted = upgrade
        .accept(
            &AcceptOptions::default().with_protocol("chat"),
            Config::default(),
        )
        .unwrap();
    let response = client.check_http(&accepted.http_response()).unwrap();
    assert_eq!(response.protocol(), Some("chat"));
    assert!(response.leftover().is_empty());

    let mut server = accepted.connection;
    let mut client = response.connection_with_mask_seed(Config::default(), [1; 32]);
    client.send(crate::Message::from("hello")).unwrap();
    while let Some(bytes) = client.poll_transmit() {
        server.receive(&bytes);
    }
    match server.poll_event() {
        Some(Ok(crate::Event::Message(message))) => assert_eq!(message, "hello".into()),
        other => panic!("expected the message, got {other:?}"),
    }
}

/// The client's checks run on `http` responses too: a wrong accept value
/// and a non-101 status fail as they do from bytes.
#[test]
fn client_checks_http_responses() {
    let (client, _) =
        ClientHandshake::with_key("ws://example.com/", ClientOptions::default(), [7; 16]).unwrap();
    let wrong = http::Response::builder()
        .status(101)
        .header("Upgrade", "websocket")
        .header("Connection", "Upgrade")
        .header("Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        .body(())
        .unwrap();
    assert!(matches!(
        client.check_http(&wrong),
        Err(HandshakeError::AcceptMismatch { .. })
    ));
    let not_found = http::Response::builder().status(404).body(()).unwrap();
    assert!(matches!(
        client.check_http(&not_found),
        Err(HandshakeError::UnexpectedStatus { status: 404, .. })
    ));
}
