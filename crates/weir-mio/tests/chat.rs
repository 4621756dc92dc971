//! The chat example's handler (examples/chat) over real sockets: the page,
//! the JSON protocol, rooms, errors, disconnects.

#[path = "../examples/chat/handler.rs"]
mod handler;
#[path = "../examples/chat/protocol.rs"]
mod protocol;

use std::io::Write;
use std::time::Duration;

use serde_json::Value;
use weir_mio::server::Server;
use weir_mio::{CloseCode, Message};
use weir_test_support::{
    client::Client,
    tcp::{read_to_eof, tcp},
};

fn event(client: &mut Client) -> Value {
    match client.next_message() {
        Message::Text(text) => serde_json::from_str(text.as_str()).unwrap(),
        other => panic!("expected text, got {other:?}"),
    }
}

fn s(value: &str) -> Value {
    Value::from(value)
}

#[test]
fn chat_page_rooms_messages_and_errors() {
    let server = Server::builder()
        .bind("127.0.0.1:0")
        .route("/chat", handler::Chat)
        .http(handler::page)
        .build()
        .unwrap();
    let addr = server.local_addr();
    let handle = server.handle();
    let thread = std::thread::spawn(move || server.run());

    let mut stream = tcp(addr);
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let page = String::from_utf8(read_to_eof(&mut stream)).unwrap();
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(page.contains("Content-Type: text/html"), "{page}");
    assert!(page.ends_with(handler::PAGE));

    let mut ann = Client::connect(addr, "/chat");
    let mut bob = Client::connect(addr, "/chat");
    ann.send(r#"{"type":"join","room":"lobby","name":"Ann \"A\""}"#);
    let joined = event(&mut ann);
    assert_eq!(joined["type"], s("joined"));
    assert_eq!(joined["name"], s("Ann \"A\""));
    assert_eq!(joined["count"], Value::from(1));
    let ann_id = joined["id"].as_u64().expect("an id");
    bob.send(r#"{"type":"join","room":"lobby","name":"Bob"}"#);
    for client in [&mut ann, &mut bob] {
        let joined = event(client);
        assert_eq!(
            (&joined["type"], &joined["name"]),
            (&s("joined"), &s("Bob"))
        );
        assert_eq!(joined["count"], Value::from(2));
    }
    ann.send(r#"{"type":"message","room":"lobby","text":"hi\nthere \u00e9"}"#);
    for client in [&mut ann, &mut bob] {
        let message = event(client);
        assert_eq!(message["type"], s("message"));
        assert_eq!(message["text"], s("hi\nthere é"));
        assert_eq!(message["id"], Value::from(ann_id));
    }
    // Bad requests get an error, to the sender only.
    for bad in [
        "not json",
        r#"{"type":"message","room":"elsewhere","text":"x"}"#,
        r#"{"type":"dance","room":"lobby"}"#,
        r#"{"type":"join","room":"lobby","name":"again"}"#,
    ] {
        bob.send(bad);
        assert_eq!(event(&mut bob)["type"], s("error"), "{bad}");
    }
    bob.send(r#"{"type":"leave","room":"lobby"}"#);
    for client in [&mut ann, &mut bob] {
        let left = event(client);
        assert_eq!((&left["type"], &left["name"]), (&s("left"), &s("Bob")));
        assert_eq!(left["count"], Value::from(1));
    }
    bob.send(r#"{"type":"join","room":"lobby","name":"Bob"}"#);
    assert_eq!(event(&mut ann)["count"], Value::from(2));
    assert_eq!(event(&mut bob)["count"], Value::from(2));
    // A disconnect is a leave.
    bob.close(CloseCode::NORMAL, "");
    bob.expect_close_then_eof();
    let left = event(&mut ann);
    assert_eq!((&left["type"], &left["name"]), (&s("left"), &s("Bob")));
    assert_eq!(left["count"], Value::from(1));
    // Binary is refused with 1003.
    ann.send(vec![1u8]);
    assert_eq!(
        ann.expect_close_then_eof().unwrap().0,
        CloseCode::UNSUPPORTED_DATA
    );

    handle.shutdown(Duration::from_secs(2));
    thread.join().unwrap().unwrap();
}
