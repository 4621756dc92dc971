//! The command line the server examples share: `[ADDR] [--tls CERT.pem
//! KEY.pem]`, made into a [`ServerBuilder`] bound to ADDR (default
//! 127.0.0.1:8080), serving TLS (`https://`, `wss://`) when `--tls` is
//! given.

use std::io;

use weir_mio::server::{Server, ServerBuilder};

/// A builder bound as the command line says, and whether it serves TLS.
pub fn from_args() -> io::Result<(ServerBuilder, bool)> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let builder = Server::builder().bind(addr);
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, ..) => Ok((builder, false)),
        (Some("--tls"), Some(cert), Some(key)) => {
            let tls = weir_tls::ServerTls::from_pem_files(cert, key).map_err(io::Error::other)?;
            Ok((builder.tls(tls), true))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "usage: [ADDR] [--tls CERT.pem KEY.pem]",
        )),
    }
}
