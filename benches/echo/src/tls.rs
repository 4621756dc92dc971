//! TLS for the `tls` workload of benches/echo.sh: every server presents the
//! same self-signed certificate (made at run time by `make-cert`, never
//! committed) with the same rustls configuration, weir-tls's
//! [`ServerTls`]: the `ring` provider, TLS 1.3 or 1.2, ALPN `http/1.1`.
//! The load generator trusts that certificate alone.

use std::path::Path;
use std::sync::Arc;

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
