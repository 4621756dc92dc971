//! The TLS choices that weir's adapters share, made once, on
//! [`rustls`](https://docs.rs/rustls):
//!
//! - **Crypto provider: `ring`.** It builds with a C compiler alone, which
//!   every Rust toolchain already needs for linking; rustls's default
//!   (`aws-lc-rs`) also needs CMake, which a fresh machine may lack.
//! - **Client roots: Mozilla's, bundled** (`webpki-roots`). A client then
//!   trusts the same authorities on every machine, container or not,
//!   without reading the platform's store; [`ClientTls::from_ca_pem`]
//!   trusts other roots instead (a self-signed test server), and
//!   [`ClientTls::from_config`] takes any rustls configuration.
//! - **ALPN: `http/1.1`** offered by clients and chosen by servers, as the
//!   WebSocket handshake is an HTTP/1.1 request (RFC 6455 section 4.1).
//! - **Certificates and keys from PEM** ([`ServerTls::from_pem`],
//!   [`ServerTls::from_pem_files`]), parsed by `rustls-pki-types`.
//!
//! This crate does no I/O of its own beyond reading PEM files: it hands out
//! rustls connection objects ([`ClientTls::connect`], [`ServerTls::accept`])
//! that each adapter drives over its own transport, blocking (weir-std) or
//! inside an event loop (weir-mio).

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

pub use rustls;
pub use rustls_pki_types as pki_types;

use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// The ALPN protocol both sides name: the handshake is HTTP/1.1.
pub const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// What went wrong while setting TLS up (not during a handshake: those
/// errors come from the connection, as [`rustls::Error`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read.
    Read {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// PEM text held no certificate, or a certificate that does not parse.
    Certificates(String),
    /// PEM text held no private key, or one that does not parse.
    PrivateKey(String),
    /// A host name that cannot be a TLS server name (for SNI and the
    /// certificate check).
    ServerName(String),
    /// rustls refused the configuration or the connection.
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, error } => write!(f, "reading {path}: {error}"),
            Self::Certificates(why) => write!(f, "certificates: {why}"),
            Self::PrivateKey(why) => write!(f, "private key: {why}"),
            Self::ServerName(name) => write!(f, "not a valid TLS server name: {name:?}"),
            Self::Rustls(error) => write!(f, "TLS: {error}"),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { error, .. } => Some(error),
            Self::Rustls(error) => Some(error),
            _ => None,
        }
    }
}

impl From<rustls::Error> for TlsError {
    fn from(error: rustls::Error) -> Self {
        Self::Rustls(error)
    }
}

/// The crypto provider weir uses: rustls's `ring` provider.
pub fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    Arc::clone(PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())))
}

/// How a client does TLS: which roots it trusts, and the rest of its rustls
/// configuration. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl ClientTls {
    /// Trusts Mozilla's root authorities, bundled at build time. The root
    /// store is built once per process and shared.
    pub fn bundled_roots() -> Self {
        static BUNDLED: OnceLock<ClientTls> = OnceLock::new();
        BUNDLED
            .get_or_init(|| {
                let roots = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                // The provider's defaults are known-good: this cannot fail.
                Self::with_roots(roots).unwrap_or_else(|e| unreachable!("ring's defaults: {e}"))
            })
            .clone()
    }

    /// Trusts only the certificates in `pem` (one or more `CERTIFICATE`
    /// blocks), e.g. a self-signed server's own certificate or a private
    /// CA.
    pub fn from_ca_pem(pem: &[u8]) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in certificates(pem)? {
            roots
                .add(cert)
                .map_err(|e| TlsError::Certificates(e.to_string()))?;
        }
        Self::with_roots(roots)
    }

    /// [`ClientTls::from_ca_pem`] with the PEM read from `path`.
    pub fn from_ca_file(path: impl AsRef<Path>) -> Result<Self, TlsError> {
        Self::from_ca_pem(&read(path.as_ref())?)
    }

    /// Uses `config` as it is (its roots, verifier, ALPN and the rest).
    /// Give it `http/1.1` in `alpn_protocols` ([`ALPN_HTTP_1_1`]) to offer
    /// ALPN as the other constructors do.
    pub fn from_config(config: Arc<ClientConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ClientConfig> {
        &self.config
    }

    /// A new client connection to `host` (a DNS name or an IP address):
    /// the name is sent as SNI (not for IP addresses) and the server's
    /// certificate must be valid for it.
    pub fn connect(&self, host: &str) -> Result<ClientConnection, TlsError> {
        let name = server_name(host)?;
        Ok(ClientConnection::new(Arc::clone(&self.config), name)?)
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, TlsError> {
        let mut config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        Ok(Self::from_config(Arc::new(config)))
    }
}

impl Default for ClientTls {
    /// [`ClientTls::bundled_roots`].
    fn default() -> Self {
        Self::bundled_roots()
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// The TLS server name for `host` (a DNS name or an IP address, an IPv6
/// literal with or without its brackets): what a client sends as SNI and
/// checks the certificate against. For adapters that make their TLS
/// sessions themselves (tokio-rustls) rather than with
/// [`ClientTls::connect`].
pub fn server_name(host: &str) -> Result<ServerName<'static>, TlsError> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|_| TlsError::ServerName(host.to_owned()))
}

/// How a server does TLS: its certificate chain and key, and the rest of
/// its rustls configuration. Cheap to clone (one `Arc`).
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
}

impl ServerTls {
    /// A server presenting the certificate chain in `chain_pem` (the
    /// server's certificate first, then any intermediates) with the private
    /// key in `key_pem` (PKCS#8, PKCS#1 or SEC1), without client
    /// certificates, choosing `http/1.1` by ALPN.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, TlsError> {
        let chain = certificates(chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| TlsError::PrivateKey(e.to_string()))?;
        let mut config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
        Ok(Self::from_config(Arc::new(config)))
    }

    /// [`ServerTls::from_pem`] with both read from files.
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<Self, TlsError> {
        Self::from_pem(&read(chain.as_ref())?, &read(key.as_ref())?)
    }

    /// Uses `config` as it is.
    pub fn from_config(config: Arc<ServerConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<ServerConfig> {
        &self.config
    }

    /// A new server connection, for one accepted client.
    pub fn accept(&self) -> Result<ServerConnection, TlsError> {
        Ok(ServerConnection::new(Arc::clone(&self.config))?)
    }
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// Every certificate in `pem`; at least one.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Certificates(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Certificates("no CERTIFICATE in the PEM".into()));
    }
    Ok(certs)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|error| TlsError::Read {
        path: path.display().to_string(),
        error,
    })
}

#[cfg(test)]
mod tests;
