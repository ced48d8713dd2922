//! TLS to PostgreSQL the way libpq's `sslmode` and `sslrootcert` mean it: `prefer` and
//! `require` encrypt without checking the certificate (unless a root certificate file
//! exists, which makes `require` act as `verify-ca`), `verify-ca` checks the chain against
//! the root certificates, `verify-full` also checks that the certificate names the host.

use super::probe::ProbeError;
use crate::tls_verify::{AnyCertificate, ChainCheck, provider};
use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslrootcert=system`: the operating system's trusted roots.
pub const SYSTEM_ROOTS: &str = "system";

/// How the server's certificate is checked.
#[derive(Clone, Debug)]
pub enum Verify {
    /// Not at all (`prefer`, `require` without a root certificate file).
    Nothing,
    /// The chain against these roots, not the name (`verify-ca`).
    Chain(Arc<RootCertStore>),
    /// The chain and the host name (`verify-full`).
    Full(Arc<RootCertStore>),
}

impl Verify {
    /// What `sslmode` asks for, given the root certificate setting (`sslrootcert`).
    ///
    /// Refused before any connection: a verifying mode without root certificates, and
    /// `system` roots with a mode weaker than `verify-full` (libpq refuses both).
    pub fn for_mode(
        sslmode: &str,
        root: Option<&Path>,
        address: &str,
    ) -> Result<Verify, ProbeError> {
        let roots = || load_roots(root, sslmode, address);
        match sslmode {
            "prefer" => Ok(Verify::Nothing),
            "require" => match root {
                Some(p) if p == Path::new(SYSTEM_ROOTS) => Err(ProbeError::Other(format!(
                    "{address}: sslrootcert=system needs sslmode verify-full, not require"
                ))),
                // libpq: "if a root CA file exists, require behaves like verify-ca".
                Some(p) if p.is_file() => Ok(Verify::Chain(roots()?)),
                _ => Ok(Verify::Nothing),
            },
            "verify-ca" => match root {
                Some(p) if p == Path::new(SYSTEM_ROOTS) => Err(ProbeError::Other(format!(
                    "{address}: sslrootcert=system needs sslmode verify-full, not verify-ca"
                ))),
                _ => Ok(Verify::Chain(roots()?)),
            },
            "verify-full" => Ok(Verify::Full(roots()?)),
            other => Err(ProbeError::Other(format!(
                "{address}: sslmode {other:?} is not a TLS mode"
            ))),
        }
    }
}

/// The root certificates: a PEM file, or the system's for `system`.
fn load_roots(
    root: Option<&Path>,
    sslmode: &str,
    address: &str,
) -> Result<Arc<RootCertStore>, ProbeError> {
    let err = |m: String| ProbeError::Other(format!("{address}: {m}"));
    let Some(path) = root else {
        return Err(err(format!(
            "sslmode {sslmode} needs root certificates: give a file with --pg-sslrootcert or PGSSLROOTCERT (or sslmode require, which does not verify)"
        )));
    };
    let mut store = RootCertStore::empty();
    if path == Path::new(SYSTEM_ROOTS) {
        for cert in rustls_native_certs::load_native_certs().certs {
            // A system store may hold certificates rustls rejects; the others still count.
            let _ = store.add(cert);
        }
    } else {
        if !path.is_file() {
            return Err(err(format!(
                "root certificate file \"{}\" does not exist: give it with --pg-sslrootcert or PGSSLROOTCERT, or use sslmode require (no verification)",
                path.display()
            )));
        }
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| err(format!("root certificate file {}: {e}", path.display())))?;
        for cert in certs {
            store
                .add(cert)
                .map_err(|e| err(format!("root certificate file {}: {e}", path.display())))?;
        }
    }
    if store.is_empty() {
        return Err(err(format!(
            "root certificate file {} holds no certificate",
            path.display()
        )));
    }
    Ok(Arc::new(store))
}

/// A rustls connector that checks what `verify` says.
pub fn connector(verify: &Verify, address: &str) -> Result<MakeRustlsConnect, ProbeError> {
    let provider = provider();
    let setup = |e: String| ProbeError::Other(format!("{address}: TLS setup: {e}"));
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(AnyCertificate::new(&provider)),
        Verify::Chain(roots) | Verify::Full(roots) => {
            let webpki =
                WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
                    .build()
                    .map_err(|e| setup(e.to_string()))?;
            if matches!(verify, Verify::Full(_)) {
                webpki
            } else {
                Arc::new(ChainCheck::any_name(webpki))
            }
        }
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifying_modes_need_root_certificates_and_system_roots_need_verify_full() {
        let a = "10.0.0.1:5432";
        for mode in ["verify-ca", "verify-full"] {
            let e = Verify::for_mode(mode, None, a).expect_err(mode).to_string();
            assert!(e.contains("needs root certificates"), "{e}");
            let missing = Path::new("/nonexistent/root.crt");
            let e = Verify::for_mode(mode, Some(missing), a)
                .expect_err(mode)
                .to_string();
            assert!(
                e.contains("root certificate file \"/nonexistent/root.crt\" does not exist"),
                "{e}"
            );
        }
        let system = Some(Path::new(SYSTEM_ROOTS));
        assert!(Verify::for_mode("require", system, a).is_err());
        assert!(Verify::for_mode("verify-ca", system, a).is_err());
        assert!(matches!(
            Verify::for_mode("require", Some(Path::new("/nonexistent/root.crt")), a),
            Ok(Verify::Nothing)
        ));
        assert!(matches!(
            Verify::for_mode("prefer", None, a),
            Ok(Verify::Nothing)
        ));
    }

    #[test]
    fn a_file_without_certificates_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let empty = dir.path().join("root.crt");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let e = Verify::for_mode("verify-full", Some(&empty), "a:1")
            .expect_err("no certificate")
            .to_string();
        assert!(e.contains("holds no certificate"), "{e}");
        // With the file present, `require` verifies the chain, and so refuses it too.
        assert!(Verify::for_mode("require", Some(&empty), "a:1").is_err());
    }
}
