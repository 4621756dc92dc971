//! The write side's accounting: what rustls holds of ours is counted as
//! pending until its records are on the socket, in batches of at most
//! [`BATCH`], and nothing handed over is lost.

use std::io::{self, IoSlice, Read};
use std::net::{TcpListener, TcpStream as StdTcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use weir_tls::{ClientTls, ServerTls};

use super::{first_bytes, TlsSession, BATCH};

/// Long enough for any step here on a loaded machine; only a hang reaches it.
const PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn first_bytes_cuts_the_slices_at_the_limit() {
    let (a, b, c) = ([1u8; 3], [2u8; 5], [3u8; 10]);
    let slices = [IoSlice::new(&a), IoSlice::new(&b), IoSlice::new(&c)];
    let mut out = [IoSlice::new(&[]); 8];
    let count = first_bytes(&slices, 6, &mut out);
    assert_eq!(count, 2);
    assert_eq!((&*out[0], &*out[1]), (&a[..], &b[..3]));
    let mut short = [IoSlice::new(&[]); 1];
    assert_eq!(first_bytes(&slices, 100, &mut short), 1);
    assert_eq!(&*short[0], &a[..]);
    assert_eq!(first_bytes(&slices, 0, &mut out), 0);
}

/// Calls `step` until it returns `Some`, failing after [`PATIENCE`].
fn eventually<T>(mut step: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(done) = step() {
            return done;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no progress within {PATIENCE:?}"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn plaintext_in_rustls_counts_as_pending_until_its_records_are_written() {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = made.cert.pem();
    let key = made.signing_key.serialize_pem();
    let server_tls = ServerTls::from_pem(cert.as_bytes(), key.as_bytes()).unwrap();
    let trust = ClientTls::from_ca_pem(cert.as_bytes()).unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client_tcp = StdTcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server_tcp, _) = listener.accept().unwrap();
    server_tcp.set_nonblocking(true).unwrap();
    let socket = TcpStream::from_std(server_tcp);

    // The client: a blocking rustls client that completes the handshake,
    // then reads nothing until told, then reads everything.
    let (go, wait) = mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let mut conn = trust.connect("localhost").unwrap();
        let mut tcp = client_tcp;
        tcp.set_read_timeout(Some(PATIENCE)).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut tcp).unwrap();
        }
        wait.recv().unwrap();
        let mut received = Vec::new();
        weir_tls::rustls::StreamOwned::new(conn, tcp)
            .read_to_end(&mut received)
            .unwrap();
        received
    });

    let mut session = TlsSession::accept(&server_tls).unwrap();
    let mut scratch = bytes::BytesMut::with_capacity(4096);
    eventually(|| {
        match session.read(&socket, &mut scratch) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => panic!("no application data was sent: {other:?}"),
        }
        session.write_records(&socket).unwrap();
        (!session.inner.conn.is_handshaking()).then_some(())
    });

    // Send until the socket is full: the batch whose records did not all
    // go out is counted, whole.
    let data: Vec<u8> = (0..16 << 20).map(|i| (i % 251) as u8).collect();
    let mut sent = 0;
    loop {
        match session.write(&socket, &[IoSlice::new(&data[sent..])]) {
            Ok(taken) => sent += taken,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
        assert!(sent < data.len(), "the socket never filled");
    }
    assert_eq!(session.pending(), BATCH);

    // Once the client reads, everything handed over arrives, and nothing
    // is pending any more.
    go.send(()).unwrap();
    eventually(|| {
        match session.write(&socket, &[IoSlice::new(&data[sent..])]) {
            Ok(taken) => sent += taken,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
        (sent == data.len() && session.pending() == 0).then_some(())
    });
    session.close_notify(&socket);
    eventually(|| {
        session.write_records(&socket).unwrap();
        (session.pending() == 0).then_some(())
    });
    assert!(client.join().unwrap() == data);
}
