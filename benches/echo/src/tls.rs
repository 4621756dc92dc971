//! TLS for the `tls` workload of benches/echo.sh: every server presents the
//! same self-signed certificate (made at run time by `make-cert`, never
//! committed) with the same rustls configuration, weir-tls's
//! [`ServerTls`]: the `ring` provider, TLS 1.3 or 1.2, ALPN `http/1.1`.
//! The load generator trusts that certificate alone.
//!
//! The tokio servers (weir-tokio, tokio-tungstenite, fastwebsockets) share
//! their main loop, [`serve_tokio`], which does the TLS handshake with
//! tokio-rustls before serving when asked to, and their runtime,
//! [`run_current_thread`].

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use weir_tls::rustls::client::Resumption;
use weir_tls::rustls::ClientConfig;
use weir_tls::{ClientTls, ServerTls};

/// The server's TLS set-up when the arguments after the port are
/// `tls CERT.pem KEY.pem`, `None` when the second argument is not `tls`.
/// Exits (status 2) when the files do not make a configuration.
pub fn server_tls_arg() -> Option<ServerTls> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(2).map(String::as_str) != Some("tls") {
        return None;
    }
    let (Some(cert), Some(key)) = (args.get(3), args.get(4)) else {
        eprintln!("usage: {} PORT tls CERT.pem KEY.pem", args[0]);
        std::process::exit(2)
    };
    match ServerTls::from_pem_files(cert, key) {
        Ok(tls) => Some(tls),
        Err(e) => {
            eprintln!("{}: {e}", args[0]);
            std::process::exit(2)
        }
    }
}

/// How a tokio server serves one accepted connection, over whatever stream
/// it is given (TCP, or TLS over TCP): [`serve_tokio`] calls it on a task
/// of its own.
pub trait ServeStream: Copy + Send + 'static {
    /// Serves the connection until it ends.
    fn serve<S>(self, stream: S) -> impl Future<Output = ()> + Send + 'static
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static;
}

/// A tokio server's main loop: takes the port and the TLS arguments
/// ([`server_tls_arg`]) from the command line, listens on 127.0.0.1,
/// announces itself as `name`, and gives every accepted connection
/// TCP_NODELAY and a task of its own, which completes the TLS handshake
/// first when TLS was asked for, then runs `server`. Ends only on an error
/// of the listener.
pub async fn serve_tokio(name: &str, server: impl ServeStream) -> std::io::Result<()> {
    let port = crate::port_arg();
    let tls = server_tls_arg().map(|tls| TlsAcceptor::from(Arc::clone(tls.config())));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    crate::announce(name, port);
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        match &tls {
            Some(acceptor) => {
                let accept = acceptor.accept(stream);
                tokio::spawn(async move {
                    if let Ok(stream) = accept.await {
                        server.serve(stream).await;
                    }
                });
            }
            None => {
                tokio::spawn(server.serve(stream));
            }
        }
    }
}

/// Runs [`serve_tokio`] on tokio's current-thread runtime (I/O and
/// timers): the set-up of fastwebsockets' example server, given to every
/// tokio server of the benches so that they differ in their WebSocket
/// code only (each also runs a connection's echo `unconstrained`, outside
/// tokio's cooperative budget, as that example does).
pub fn run_current_thread(name: &str, server: impl ServeStream) -> std::io::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?
        .block_on(serve_tokio(name, server))
}

/// The load generator's client configuration: trusts only the
/// certificates in the PEM file `ca` (weir-tls's
/// [`ClientTls::from_ca_file`]), without session resumption, so that every
/// connection makes a full handshake.
pub fn client_config(ca: &Path) -> Result<Arc<ClientConfig>, weir_tls::TlsError> {
    let mut config = ClientConfig::clone(ClientTls::from_ca_file(ca)?.config());
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Makes a self-signed certificate for `127.0.0.1` and `localhost` (an
/// ECDSA P-256 key, rcgen's default) and writes it to `dir/cert.pem`, its
/// private key to `dir/key.pem`.
pub fn write_self_signed(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let made =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    std::fs::write(dir.join("cert.pem"), made.cert.pem())?;
    std::fs::write(dir.join("key.pem"), made.signing_key.serialize_pem())?;
    Ok(())
}
