//! The event loop as a `wss://` client (`EventLoop::connect_tls`,
//! `EventLoop::connect`): echoes of every size from 0 B to 16 MiB against
//! weir-std's TLS server, and a server whose certificate the client does
//! not trust, or which is not valid for the host, failing with a clear
//! error. Certificates are made here with rcgen.

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;

use weir_mio::{ClientOptions, ClientTls, Config, EventLoop, Message, ServerTls};
use weir_test_support::script::{run_client_loop, Script, Step};
use weir_test_support::PATIENCE;

/// The largest message sent.
const BIG: usize = 16 << 20;

/// A certificate for `names`, as the PEM of the certificate (what clients
/// trust) and the server's TLS set-up.
fn certificate(names: &[&str]) -> (String, ServerTls) {
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let made = rcgen::generate_simple_self_signed(names).unwrap();
    let cert = made.cert.pem();
    let key = made.signing_key.serialize_pem();
    let tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    (cert, tls)
}

/// weir-std echoing over TLS, for one client, on a thread; returns the
/// address and the thread, which ends with the connection.
fn std_echo_server(tls: ServerTls) -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        let config = weir_std::Config::default()
            .with_max_message_size(BIG + 1024)
            .with_max_frame_size(BIG + 1024);
        let accepted = weir_std::accept_tls_with(tcp, &tls, config, |_| Ok(Default::default()));
        let Ok(mut ws) = accepted else {
            return; // The client refused the certificate.
        };
        while let Ok(message) = ws.read() {
            if ws.send(message).is_err() {
                break;
            }
        }
    });
    (addr, thread)
}

/// A client loop whose limits allow [`BIG`] messages.
fn client_loop() -> EventLoop {
    let connection = weir_mio::weir_proto::Config::default()
        .with_max_message_size(BIG + 1024)
        .with_max_frame_size(BIG + 1024)
        .with_max_send_queue(2 * BIG)
        .with_close_timeout(Some(PATIENCE * 2));
    EventLoop::new(Config::default().with_connection(connection)).unwrap()
}

#[test]
fn the_loop_client_echoes_0_bytes_to_16_mib_with_a_weir_std_server_over_tls() {
    let (cert, tls) = certificate(&["localhost"]);
    let (addr, server) = std_echo_server(tls);
    let mut steps = Vec::new();
    for size in [0, 1, 125, 126, 1 << 10, 1 << 16, 1 << 20, BIG] {
        let text = String::from_utf8(vec![b'w'; size]).unwrap();
        let binary: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
        steps.push(Step::Echo(Message::from(text)));
        steps.push(Step::Echo(Message::from(binary)));
    }
    steps.push(Step::Close(1000, "done".into()));
    let mut script = Script::new(steps);
    let mut event_loop = client_loop();
    let trust = ClientTls::from_ca_pem(cert.as_bytes()).unwrap();
    let uri = format!("wss://localhost:{}/echo", addr.port());
    event_loop
        .connect_tls(&uri, ClientOptions::default(), &trust)
        .unwrap();
    run_client_loop(&mut event_loop, &mut script);
    script.assert_echoes();
    assert_eq!(script.echoes.len(), 16);
    // The server's answer to our Close: its code, no reason.
    assert_eq!(script.closes, [(1000, String::new())]);
    assert!(script.errors.is_empty(), "{:?}", script.errors);
    server.join().unwrap();
}

/// Connects to a weir-std TLS server presenting a certificate for
/// `names`, and returns what the client reported to `on_error`.
fn errors_connecting(names: &[&str], host: &str, trusted: bool) -> Vec<String> {
    let (cert, tls) = certificate(names);
    let (addr, server) = std_echo_server(tls);
    let mut script = Script::new([Step::Close(1000, String::new())]);
    let mut event_loop = client_loop();
    let uri = format!("wss://{host}:{}/", addr.port());
    if trusted {
        let trust = ClientTls::from_ca_pem(cert.as_bytes()).unwrap();
        event_loop
            .connect_tls(&uri, ClientOptions::default(), &trust)
            .unwrap();
    } else {
        // Mozilla's roots do not vouch for a self-signed certificate.
        event_loop.connect(&uri, ClientOptions::default()).unwrap();
    }
    run_client_loop(&mut event_loop, &mut script);
    assert!(!script.opened);
    server.join().unwrap();
    script.errors
}

#[test]
fn an_untrusted_certificate_fails_the_connection_with_a_clear_error() {
    let errors = errors_connecting(&["localhost"], "localhost", false);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("invalid peer certificate: UnknownIssuer"),
        "{errors:?}"
    );
}

#[test]
fn a_certificate_for_another_host_fails_the_connection_with_a_clear_error() {
    let errors = errors_connecting(&["example.org"], "localhost", true);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("invalid peer certificate: certificate not valid for name"),
        "{errors:?}"
    );
}

#[test]
fn a_host_that_cannot_be_a_tls_server_name_is_refused_at_once() {
    let mut event_loop = client_loop();
    let error = event_loop
        .connect("wss://a..b:443/", ClientOptions::default())
        .unwrap_err();
    assert!(matches!(&error, weir_mio::Error::Tls(_)), "{error:?}");
    assert!(
        error.to_string().contains("not a valid TLS server name"),
        "{error}"
    );
    assert_eq!(event_loop.connection_count(), 0);
}
