//! [`FaultProxy`]: a TCP proxy between a client and a server under test
//! that makes the server's real socket misbehave, for adapters that own
//! their socket and rely on readiness events (weir-mio), where a faked
//! `WouldBlock` would strand data.
//!
//! Towards the server it writes what the client sent in pieces of 1 to n
//! bytes, each its own segment (`TCP_NODELAY`), so the server's reads come
//! back short and hit `WouldBlock` between pieces. From the server it reads
//! slowly, a piece at a time through a small receive buffer, so the
//! server's writes go short and block. It can also reset the server's
//! connection (`SO_LINGER` 0, then close) after a chosen byte.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rustix::net::{sockopt, AddressFamily, SocketType};

use crate::PATIENCE;

/// How a [`FaultProxy`] treats its connection.
#[derive(Clone, Debug)]
pub struct ProxyFaults {
    /// Seeds the piece sizes: the same seed cuts the same bytes the same way.
    pub seed: u64,
    /// Each piece written to, or read from, the server is 1 to this many
    /// bytes.
    pub max_piece: usize,
    /// The receive buffer (`SO_RCVBUF`) of the proxy's socket to the server,
    /// set before connecting so the window stays small.
    pub recv_buffer: usize,
    /// After this many bytes from the client have reached the server, the
    /// proxy resets the server's connection and closes the client's.
    pub reset_after: Option<u64>,
}

impl ProxyFaults {
    /// Pieces of up to `max_piece` bytes both ways through a 4 KiB receive
    /// buffer; no reset.
    pub fn dribble(seed: u64, max_piece: usize) -> Self {
        Self {
            seed,
            max_piece,
            recv_buffer: 4096,
            reset_after: None,
        }
    }
}

/// A proxy for one connection: the first client to connect to
/// [`FaultProxy::addr`] is joined to the server. Its threads end when
/// either side closes (or after [`PATIENCE`] of silence).
pub struct FaultProxy {
    addr: SocketAddr,
}

impl FaultProxy {
    /// Listens on an ephemeral loopback port, to forward to `server`.
    pub fn start(server: SocketAddr, faults: ProxyFaults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            let Ok((client, _)) = listener.accept() else {
                return;
            };
            if let Ok(upstream) = connect(server, faults.recv_buffer) {
                run(client, upstream, faults);
            }
        });
        Self { addr }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A connection to `server` whose receive buffer is `recv_buffer` bytes.
fn connect(server: SocketAddr, recv_buffer: usize) -> io::Result<TcpStream> {
    let family = match server {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let fd = rustix::net::socket(family, SocketType::STREAM, None)?;
    sockopt::set_socket_recv_buffer_size(&fd, recv_buffer)?;
    rustix::net::connect(&fd, &server)?;
    Ok(TcpStream::from(fd))
}

/// Forwards both ways until both directions are done.
fn run(client: TcpStream, upstream: TcpStream, faults: ProxyFaults) {
    for stream in [&client, &upstream] {
        let _ = stream.set_nodelay(true);
        let _ = stream.set_read_timeout(Some(PATIENCE));
        let _ = stream.set_write_timeout(Some(PATIENCE));
    }
    let (client, upstream) = (Arc::new(client), Arc::new(upstream));
    let down = {
        let (client, upstream) = (Arc::clone(&client), Arc::clone(&upstream));
        let rng = ChaCha8Rng::seed_from_u64(!faults.seed);
        let max_piece = faults.max_piece;
        thread::spawn(move || down(&upstream, &client, rng, max_piece))
    };
    up(&client, &upstream, &faults);
    let _ = down.join();
    // The last handle to `upstream` drops here: with SO_LINGER 0 (after a
    // reset) the close sends RST.
}

/// Client to server, in pieces; resets the server's connection at
/// `faults.reset_after`.
fn up(client: &TcpStream, upstream: &TcpStream, faults: &ProxyFaults) {
    let mut rng = ChaCha8Rng::seed_from_u64(faults.seed);
    let mut left = faults.reset_after.unwrap_or(u64::MAX);
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match (&*client).read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut rest = &buf[..n];
        while !rest.is_empty() {
            if left == 0 {
                return reset(client, upstream);
            }
            let piece = piece(&mut rng, faults.max_piece).min(rest.len());
            let piece = piece.min(usize::try_from(left).unwrap_or(usize::MAX));
            if (&*upstream).write_all(&rest[..piece]).is_err() {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            left -= piece as u64;
            rest = &rest[piece..];
        }
        if left == 0 {
            return reset(client, upstream);
        }
    }
    // The client is done sending (or gone): pass the half-close on.
    let _ = upstream.shutdown(Shutdown::Write);
}

/// Server to client: reads a piece at a time, so the server's writes fill
/// the small window and go short.
fn down(upstream: &TcpStream, client: &TcpStream, mut rng: ChaCha8Rng, max_piece: usize) {
    let mut buf = vec![0; max_piece.max(1)];
    loop {
        let want = piece(&mut rng, max_piece);
        match (&*upstream).read(&mut buf[..want]) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if (&*client).write_all(&buf[..n]).is_err() {
                    let _ = upstream.shutdown(Shutdown::Read);
                    return;
                }
            }
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}

/// Aborts the server's connection and closes the client's: SO_LINGER 0
/// makes the final close send RST; shutting the read side wakes the other
/// pump so that the close happens now.
fn reset(client: &TcpStream, upstream: &TcpStream) {
    let _ = sockopt::set_socket_linger(upstream, Some(Duration::ZERO));
    let _ = upstream.shutdown(Shutdown::Read);
    let _ = client.shutdown(Shutdown::Both);
}

/// A piece size from 1 to `max` bytes.
fn piece(rng: &mut ChaCha8Rng, max: usize) -> usize {
    1 + (rng.next_u64() % max.max(1) as u64) as usize
}
