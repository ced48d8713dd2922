//! TLS to Consul the way the Consul CLI configures it: CA file or directory, client
//! certificate, server-name override, and (for emergencies) no verification.

use super::error::ConsulError;
use crate::tls_verify::{AnyCertificate, ChainCheck, provider};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// TLS settings (`CONSUL_CACERT`, `CONSUL_CAPATH`, `CONSUL_CLIENT_CERT`/`KEY`,
/// `CONSUL_TLS_SERVER_NAME`, `CONSUL_HTTP_SSL_VERIFY`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of CA certificates; when set, only these are trusted.
    pub ca_cert: Option<PathBuf>,
    /// A directory of PEM CA certificates; when set, only these are trusted.
    pub ca_path: Option<PathBuf>,
    /// Client certificate chain (PEM).
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM).
    pub client_key: Option<PathBuf>,
    /// The name the server certificate must carry, when it differs from the URL's host.
    pub server_name: Option<String>,
    /// False skips certificate verification entirely.
    pub verify: bool,
}

impl TlsOptions {
    /// Options that trust the system roots and verify normally.
    pub fn system() -> TlsOptions {
        TlsOptions {
            verify: true,
            ..TlsOptions::default()
        }
    }

    /// True when nothing differs from the system defaults.
    pub fn is_system(&self) -> bool {
        *self == TlsOptions::system()
    }
}

/// Builds the rustls configuration for these options.
pub fn client_config(opts: &TlsOptions) -> Result<ClientConfig, ConsulError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ConsulError::Config(format!("TLS setup: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = if opts.verify {
        let roots = Arc::new(roots(opts)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| ConsulError::Config(format!("TLS roots: {e}")))?;
        match &opts.server_name {
            Some(name) => Arc::new(ChainCheck::named(
                webpki,
                ServerName::try_from(name.clone()).map_err(|e| {
                    ConsulError::Config(format!("CONSUL_TLS_SERVER_NAME {name:?}: {e}"))
                })?,
            )),
            None => webpki,
        }
    } else {
        Arc::new(AnyCertificate::new(&provider))
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    match (&opts.client_cert, &opts.client_key) {
        (None, None) => Ok(builder.with_no_client_auth()),
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert)?;
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| ConsulError::Config(format!("client key {}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| ConsulError::Config(format!("client certificate: {e}")))
        }
        _ => Err(ConsulError::Config(
            "CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY must be given together".into(),
        )),
    }
}

fn roots(opts: &TlsOptions) -> Result<RootCertStore, ConsulError> {
    let mut store = RootCertStore::empty();
    let mut files: Vec<PathBuf> = opts.ca_cert.iter().cloned().collect();
    if let Some(dir) = &opts.ca_path {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| ConsulError::Config(format!("CA path {}: {e}", dir.display())))?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        found.sort();
        files.extend(found);
    }
    if files.is_empty() {
        let native = rustls_native_certs::load_native_certs();
        for cert in native.certs {
            // A system store may hold certificates rustls rejects; the others still count.
            let _ = store.add(cert);
        }
        return Ok(store);
    }
    for file in files {
        for cert in read_certs(&file)? {
            store.add(cert).map_err(|e| {
                ConsulError::Config(format!("CA certificate in {}: {e}", file.display()))
            })?;
        }
    }
    if store.is_empty() {
        return Err(ConsulError::Config(
            "the configured CA files hold no certificate".into(),
        ));
    }
    Ok(store)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConsulError> {
    let iter = CertificateDer::pem_file_iter(path)
        .map_err(|e| ConsulError::Config(format!("{}: {e}", path.display())))?;
    let certs: Vec<_> = iter
        .collect::<Result<_, _>>()
        .map_err(|e| ConsulError::Config(format!("{}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(ConsulError::Config(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}
