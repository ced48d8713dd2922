//! Server certificate checks shared by the Consul and the PostgreSQL clients beyond
//! rustls' own: the chain checked against another name, the chain without its name, and
//! no certificate check at all (the handshake's signatures are always checked).

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error as TlsError, SignatureScheme};
use std::sync::Arc;

/// The one crypto provider roster's TLS clients use.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What the name check of a verified chain becomes.
#[derive(Debug)]
enum Name {
    /// The certificate must name this, not the host connected to (`CONSUL_TLS_SERVER_NAME`).
    Instead(ServerName<'static>),
    /// Not checked (libpq's `verify-ca`): webpki checks the chain before the name, so a
    /// name error means the chain was good.
    Forgiven,
}

/// A webpki chain check with its name check changed; signatures as webpki checks them.
#[derive(Debug)]
pub struct ChainCheck {
    inner: Arc<WebPkiServerVerifier>,
    name: Name,
}

impl ChainCheck {
    /// The chain, against `name` instead of the host connected to.
    pub fn named(inner: Arc<WebPkiServerVerifier>, name: ServerName<'static>) -> ChainCheck {
        ChainCheck {
            inner,
            name: Name::Instead(name),
        }
    }

    /// The chain only, whatever host it names.
    pub fn any_name(inner: Arc<WebPkiServerVerifier>) -> ChainCheck {
        ChainCheck {
            inner,
            name: Name::Forgiven,
        }
    }
}

impl ServerCertVerifier for ChainCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        match &self.name {
            Name::Instead(name) => {
                self.inner
                    .verify_server_cert(end_entity, intermediates, name, ocsp, now)
            }
            Name::Forgiven => match self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp,
                now,
            ) {
                Err(TlsError::InvalidCertificate(
                    CertificateError::NotValidForName
                    | CertificateError::NotValidForNameContext { .. },
                )) => Ok(ServerCertVerified::assertion()),
                other => other,
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Any certificate (`CONSUL_HTTP_SSL_VERIFY=false`, libpq's `prefer`/`require`): the
/// connection is encrypted and the handshake's signatures checked, the chain not.
#[derive(Debug)]
pub struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyCertificate {
    /// Checking signatures with `provider`'s algorithms.
    pub fn new(provider: &CryptoProvider) -> AnyCertificate {
        AnyCertificate {
            algorithms: provider.signature_verification_algorithms,
        }
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
