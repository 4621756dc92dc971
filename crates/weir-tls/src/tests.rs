//! The configurations work end to end: a client and a server connection
//! complete a handshake in memory, agree on `http/1.1`, and refuse a
//! certificate that does not match.

use std::io::{Read, Write};

use rcgen::{generate_simple_self_signed, CertifiedKey};
use rustls::{ClientConnection, ServerConnection};

use super::*;

/// A self-signed certificate for `names`, and its key, as PEM.
fn self_signed(names: &[&str]) -> (String, String) {
    let CertifiedKey { cert, signing_key } =
        generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap();
    (cert.pem(), signing_key.serialize_pem())
}

/// Moves TLS records between the two until neither has anything to say;
/// returns the first error either side raised.
fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), rustls::Error> {
    for _ in 0..16 {
        let mut wire = Vec::new();
        client.write_tls(&mut wire).unwrap();
        let mut input = &wire[..];
        while !input.is_empty() {
            server.read_tls(&mut input).unwrap();
        }
        server.process_new_packets()?;
        let mut back = Vec::new();
        server.write_tls(&mut back).unwrap();
        let mut input = &back[..];
        while !input.is_empty() {
            client.read_tls(&mut input).unwrap();
        }
        client.process_new_packets()?;
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("the handshake did not finish");
}

#[test]
fn a_client_trusting_the_servers_certificate_connects_with_http_1_1() {
    let (cert, key) = self_signed(&["localhost"]);
    let server_tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let client_tls = ClientTls::from_ca_pem(cert.as_bytes()).unwrap();
    let mut client = client_tls.connect("localhost").unwrap();
    let mut server = server_tls.accept().unwrap();
    handshake(&mut client, &mut server).unwrap();
    assert_eq!(client.alpn_protocol(), Some(ALPN_HTTP_1_1));
    assert_eq!(server.alpn_protocol(), Some(ALPN_HTTP_1_1));
    assert_eq!(server.server_name(), Some("localhost"));
    // Application data flows.
    client
        .writer()
        .write_all(b"GET / HTTP/1.1\r\n\r\n")
        .unwrap();
    let mut wire = Vec::new();
    client.write_tls(&mut wire).unwrap();
    server.read_tls(&mut &wire[..]).unwrap();
    server.process_new_packets().unwrap();
    let mut plain = [0; 64];
    let n = server.reader().read(&mut plain).unwrap();
    assert_eq!(&plain[..n], b"GET / HTTP/1.1\r\n\r\n");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let (cert, key) = self_signed(&["example.test"]);
    let server_tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let client_tls = ClientTls::from_ca_pem(cert.as_bytes()).unwrap();
    let mut client = client_tls.connect("localhost").unwrap();
    let mut server = server_tls.accept().unwrap();
    let error = handshake(&mut client, &mut server).unwrap_err();
    assert!(error.to_string().contains("not valid for name"), "{error}");
}

#[test]
fn an_untrusted_certificate_is_refused() {
    let (cert, key) = self_signed(&["localhost"]);
    let (other_ca, _) = self_signed(&["localhost"]);
    let server_tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let mut client = ClientTls::from_ca_pem(other_ca.as_bytes())
        .unwrap()
        .connect("localhost")
        .unwrap();
    let mut server = server_tls.accept().unwrap();
    let error = handshake(&mut client, &mut server).unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");
    // The bundled roots do not trust a self-signed certificate either.
    let mut client = ClientTls::bundled_roots().connect("localhost").unwrap();
    let mut server = server_tls.accept().unwrap();
    assert!(handshake(&mut client, &mut server).is_err());
}

#[test]
fn bad_pem_and_names_are_clear_errors() {
    let (cert, key) = self_signed(&["localhost"]);
    let no_cert = ServerTls::from_pem(b"not pem", key.as_bytes()).unwrap_err();
    assert!(
        no_cert.to_string().starts_with("certificates: "),
        "{no_cert}"
    );
    let no_key = ServerTls::from_pem(cert.as_bytes(), cert.as_bytes()).unwrap_err();
    assert!(no_key.to_string().starts_with("private key: "), "{no_key}");
    let missing = ClientTls::from_ca_file("/nonexistent/ca.pem").unwrap_err();
    assert!(
        missing
            .to_string()
            .starts_with("reading /nonexistent/ca.pem: "),
        "{missing}"
    );
    let name = ClientTls::bundled_roots().connect("bad name!").unwrap_err();
    assert!(matches!(name, TlsError::ServerName(_)), "{name}");
    // IP addresses are names too (no SNI is sent for them).
    assert!(ClientTls::bundled_roots().connect("[::1]").is_ok());
    assert!(ClientTls::bundled_roots().connect("127.0.0.1").is_ok());
}
