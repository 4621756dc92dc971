//! Every sendable close code, with a reason, through the closing handshake
//! in both directions and across adapters; reserved codes refused locally.

use weir::blocking::{Error, SendError};
use weir::proto::{CloseCode, Message};
use weir_test_support::echo::*;
use weir_test_support::script::*;

/// Every code a Close frame may carry, from each registered range.
const CODES: [u16; 16] = [
    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
];

/// Codes that may never be sent: 1005, 1006 and 1015 are local-only
/// (RFC 6455 section 7.4.1); the others are outside every assigned range.
const RESERVED: [u16; 8] = [1005, 1006, 1015, 0, 999, 1004, 2999, 5000];

/// A reason with non-ASCII characters, different for each code.
fn reason(code: u16) -> String {
    format!("closing with {code}: ünïcödé ✓")
}

// ---- The client closes -----------------------------------------------------

fn std_client_closes_with_every_code(server: Adapter) {
    let server = EchoServer::start(server);
    for code in CODES {
        let mut ws = std_client(&server.uri("/close"));
        let conn = server.next_open();
        std_round_trip(&mut ws, Message::from("before"), "before the close");
        // close_and_wait returns after the echoed Close and the server's EOF.
        let answer = ws
            .close_and_wait(CloseCode::new(code), &reason(code))
            .unwrap_or_else(|e| panic!("code {code}: {e}"))
            .unwrap_or_else(|| panic!("code {code}: the answer carried no code"));
        assert_eq!(answer.code.as_u16(), code, "the echoed code");
        assert_eq!(server.close_of(conn), (code, reason(code)));
        assert!(matches!(ws.read(), Err(Error::AlreadyClosed)));
    }
}

fn mio_client_closes_with_every_code(server: Adapter) {
    let server = EchoServer::start(server);
    for code in CODES {
        let script = Script::new([
            Step::Echo(Message::from("before")),
            Step::Close(code, reason(code)),
        ])
        .run(&server.uri("/close"));
        script.assert_echoes();
        assert_eq!(script.errors, Vec::<String>::new(), "code {code}");
        assert_eq!(script.refused, Vec::<String>::new(), "code {code}");
        // The server's answer echoes the code; run_client_loop returned, so
        // the server closed TCP as well.
        assert_eq!(script.closes, [(code, String::new())], "code {code}");
        let conn = server.next_open();
        assert_eq!(server.close_of(conn), (code, reason(code)));
    }
}

#[test]
fn std_client_close_codes_and_reasons_reach_mio_server() {
    std_client_closes_with_every_code(Adapter::Mio);
}

#[test]
fn std_client_close_codes_and_reasons_reach_std_server() {
    std_client_closes_with_every_code(Adapter::Std);
}

#[test]
fn mio_client_close_codes_and_reasons_reach_std_server() {
    mio_client_closes_with_every_code(Adapter::Std);
}

#[test]
fn mio_client_close_codes_and_reasons_reach_mio_server() {
    mio_client_closes_with_every_code(Adapter::Mio);
}

// ---- The server closes -----------------------------------------------------

fn server_closes_std_client_with_every_code(server: Adapter) {
    let server = EchoServer::start(server);
    for code in CODES {
        let mut ws = std_client(&server.uri("/close"));
        let conn = server.next_open();
        ws.send(close_command(code, &reason(code))).unwrap();
        match ws.read() {
            Err(Error::Closed(Some(frame))) => {
                assert_eq!(frame.code.as_u16(), code);
                assert_eq!(frame.reason.as_str(), reason(code));
            }
            other => panic!("code {code}: expected the server's Close, got {other:?}"),
        }
        // The client answered; the server closes TCP first.
        assert_std_eof(&mut ws);
        assert_eq!(server.close_of(conn), (code, String::new()), "the answer");
    }
}

fn server_closes_mio_client_with_every_code(server: Adapter) {
    let server = EchoServer::start(server);
    for code in CODES {
        let script =
            Script::new([Step::AskServerClose(code, reason(code))]).run(&server.uri("/close"));
        assert!(script.opened, "code {code}: {:?}", script.errors);
        assert_eq!(script.errors, Vec::<String>::new(), "code {code}");
        assert_eq!(script.closes, [(code, reason(code))]);
        let conn = server.next_open();
        assert_eq!(server.close_of(conn), (code, String::new()), "the answer");
    }
}

#[test]
fn mio_server_close_codes_and_reasons_reach_std_client() {
    server_closes_std_client_with_every_code(Adapter::Mio);
}

#[test]
fn std_server_close_codes_and_reasons_reach_std_client() {
    server_closes_std_client_with_every_code(Adapter::Std);
}

#[test]
fn std_server_close_codes_and_reasons_reach_mio_client() {
    server_closes_mio_client_with_every_code(Adapter::Std);
}

#[test]
fn mio_server_close_codes_and_reasons_reach_mio_client() {
    server_closes_mio_client_with_every_code(Adapter::Mio);
}

// ---- Reserved codes --------------------------------------------------------

#[test]
fn std_client_refuses_to_send_reserved_close_codes() {
    let server = EchoServer::start(Adapter::Mio);
    let mut ws = std_client(&server.uri("/reserved"));
    let conn = server.next_open();
    for code in RESERVED {
        match ws.close(CloseCode::new(code), "nope") {
            Err(Error::Send(SendError::InvalidCloseCode(refused))) => assert_eq!(refused, code),
            other => panic!("close({code}) should be refused, got {other:?}"),
        }
        match ws.close_and_wait(CloseCode::new(code), "nope") {
            Err(Error::Send(SendError::InvalidCloseCode(refused))) => assert_eq!(refused, code),
            other => panic!("close_and_wait({code}) should be refused, got {other:?}"),
        }
    }
    // Nothing was sent: the connection is open and the real close is the
    // first one the server sees.
    std_round_trip(&mut ws, Message::from("still open"), "after refusals");
    let answer = ws.close_and_wait(CloseCode::NORMAL, "real").unwrap();
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(server.close_of(conn), (1000, "real".to_owned()));
}

#[test]
fn mio_client_refuses_to_send_reserved_close_codes() {
    let server = EchoServer::start(Adapter::Std);
    let mut steps: Vec<Step> = RESERVED
        .iter()
        .map(|&code| Step::Close(code, "nope".into()))
        .collect();
    steps.push(Step::Echo(Message::from("still open")));
    steps.push(Step::Close(1000, "real".into()));
    let script = Script::new(steps).run(&server.uri("/reserved"));
    let expected: Vec<String> = RESERVED
        .iter()
        .map(|code| SendError::InvalidCloseCode(*code).to_string())
        .collect();
    assert_eq!(script.refused, expected);
    script.assert_echoes();
    assert_eq!(script.echoes.len(), 1);
    assert_eq!(script.closes, [(1000, String::new())]);
    let conn = server.next_open();
    assert_eq!(server.close_of(conn), (1000, "real".to_owned()));
}

fn server_refuses_to_send_reserved_close_codes(server: Adapter) {
    let server = EchoServer::start(server);
    let mut ws = std_client(&server.uri("/reserved"));
    let conn = server.next_open();
    for code in RESERVED {
        ws.send(close_command(code, "nope")).unwrap();
        let error = server.error_of(conn);
        assert!(
            error.contains(&SendError::InvalidCloseCode(code).to_string()),
            "{error}"
        );
    }
    std_round_trip(&mut ws, Message::from("still open"), "after refusals");
    let answer = ws.close_and_wait(CloseCode::NORMAL, "real").unwrap();
    assert_eq!(answer.map(|f| f.code), Some(CloseCode::NORMAL));
    assert_eq!(server.close_of(conn), (1000, "real".to_owned()));
}

#[test]
fn mio_server_refuses_to_send_reserved_close_codes() {
    server_refuses_to_send_reserved_close_codes(Adapter::Mio);
}

#[test]
fn std_server_refuses_to_send_reserved_close_codes() {
    server_refuses_to_send_reserved_close_codes(Adapter::Std);
}
