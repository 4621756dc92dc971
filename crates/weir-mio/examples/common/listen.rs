//! The command line the server examples share: `[ADDR] [--tls CERT.pem
//! KEY.pem]`, made into a [`ServerBuilder`] bound to ADDR (default
//! 127.0.0.1:8080), serving TLS (`https://`, `wss://`) when `--tls` is
//! given. `autobahn-server` takes only the `--tls` part ([`tls_from_args`]).

use std::io;

use weir_mio::server::{Server, ServerBuilder};

/// A builder bound as the command line says, and whether it serves TLS.
// Unused in autobahn-server, which runs an `EventLoop` of its own.
#[allow(dead_code)]
pub fn from_args() -> io::Result<(ServerBuilder, bool)> {
    from_arg_list(std::env::args().skip(1).collect())
}

/// [`from_args`] on `args` (the command line without the program's name).
#[allow(dead_code)]
pub fn from_arg_list(args: Vec<String>) -> io::Result<(ServerBuilder, bool)> {
    let mut args = args.into_iter();
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".into());
    let builder = Server::builder().bind(addr);
    let tls = tls_from_args(args, "[ADDR] [--tls CERT.pem KEY.pem]")?;
    Ok(match tls {
        Some(tls) => (builder.tls(tls), true),
        None => (builder, false),
    })
}

/// The rest of a command line, `[--tls CERT.pem KEY.pem]`: the TLS
/// configuration read from those PEM files, or `None` when it is empty.
/// `usage` is the whole command line's, for the error.
pub fn tls_from_args(
    args: impl Iterator<Item = String>,
    usage: &str,
) -> io::Result<Option<weir_tls::ServerTls>> {
    match args.collect::<Vec<_>>().as_slice() {
        [] => Ok(None),
        [flag, cert, key] if flag == "--tls" => {
            let tls = weir_tls::ServerTls::from_pem_files(cert, key).map_err(io::Error::other)?;
            Ok(Some(tls))
        }
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("usage: {usage}"),
        )),
    }
}
