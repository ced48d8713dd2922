//! The live source over TLS to a real PostgreSQL 15 (`ssl = on`): certificates made here
//! with rcgen; `require` encrypts, `verify-ca` checks the chain, `verify-full` the chain
//! and the host name, each refusing what it should with an error that says why.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod pg;

use pg::Cluster;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use roster::consul::Secret;
use roster::identity::Role;
use roster::source::postgres::probe_postgres;
use roster::source::probe::{PgConfig, ProbeError};
use std::path::Path;

const IP: &str = "127.30.15.11";

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
}

/// A server certificate for `names`, signed by `issuer`: (certificate, key) as PEM.
fn server_cert(names: &[&str], issuer: &CertifiedIssuer<'static, KeyPair>) -> (String, String) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut p = CertificateParams::new(names).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "roster test server");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn config(sslmode: &str, root: Option<&Path>) -> PgConfig {
    let mut c = Cluster::monitor_config();
    c.sslmode = sslmode.into();
    c.sslrootcert = root.map(Path::to_path_buf);
    c
}

async fn role(primary: &Cluster, cfg: &PgConfig) -> Result<Role, ProbeError> {
    probe_postgres(&primary.target("pg-tls", 1), cfg)
        .await
        .map(|p| p.role)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_verify_ca_and_verify_full_against_a_real_server() {
    let Some(mut primary) = Cluster::primary(IP) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = ca("roster test CA");
    let theirs = ca("another CA");
    let ca_file = dir.path().join("ca.pem");
    let other_ca_file = dir.path().join("other-ca.pem");
    std::fs::write(&ca_file, ours.pem()).unwrap();
    std::fs::write(&other_ca_file, theirs.pem()).unwrap();
    let (cert, key) = server_cert(&[IP], &ours);
    let p = tokio::task::spawn_blocking(move || {
        primary.enable_tls(&cert, &key);
        primary
    })
    .await
    .unwrap();
    let primary = p;

    assert_eq!(
        role(&primary, &config("require", None)).await,
        Ok(Role::Primary)
    );
    assert_eq!(
        role(&primary, &config("verify-ca", Some(&ca_file))).await,
        Ok(Role::Primary)
    );
    assert_eq!(
        role(&primary, &config("verify-full", Some(&ca_file))).await,
        Ok(Role::Primary)
    );

    // A certificate from a CA the roots do not hold is refused by both verifying modes,
    // and by `require` too once a root file is given (libpq's rule).
    for mode in ["verify-ca", "verify-full", "require"] {
        let err = role(&primary, &config(mode, Some(&other_ca_file)))
            .await
            .expect_err(mode)
            .to_string();
        assert!(
            err.contains(&format!(
                "sslmode {mode}: the server's certificate was rejected"
            )) && err.contains("UnknownIssuer"),
            "{mode}: {err}"
        );
    }
    // No roots at all: refused before connecting, saying what to set.
    let missing = dir.path().join("nonexistent.crt");
    let err = role(&primary, &config("verify-full", Some(&missing)))
        .await
        .expect_err("no root file")
        .to_string();
    assert!(
        err.contains("does not exist") && err.contains("PGSSLROOTCERT"),
        "{err}"
    );

    // Over a verified connection the password still authenticates and never shows.
    let mut cfg = config("verify-full", Some(&ca_file));
    cfg.user = pg::PW_USER.into();
    cfg.password = Some(Secret::new(pg::PW_PASSWORD));
    assert_eq!(role(&primary, &cfg).await, Ok(Role::Primary));
    let wrong = "Wr0ng-TLS-Secret-9931";
    cfg.password = Some(Secret::new(wrong));
    let err = role(&primary, &cfg).await.expect_err("wrong password");
    assert!(matches!(err, ProbeError::Auth(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(wrong), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_refuses_a_certificate_for_another_host_name() {
    let ip = "127.30.15.21";
    let Some(mut primary) = Cluster::primary(ip) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ours = ca("roster test CA");
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ours.pem()).unwrap();
    let (cert, key) = server_cert(&["db.wrong.example"], &ours);
    let primary = tokio::task::spawn_blocking(move || {
        primary.enable_tls(&cert, &key);
        primary
    })
    .await
    .unwrap();

    let err = probe_postgres(
        &primary.target("pg-tls", 1),
        &config("verify-full", Some(&ca_file)),
    )
    .await
    .expect_err("the certificate does not name the address")
    .to_string();
    assert!(
        err.contains("sslmode verify-full: the server's certificate was rejected")
            && err.contains(&format!("{ip}:5432"))
            && err.contains(&format!("not valid for name \"{ip}\""))
            && err.contains("db.wrong.example"),
        "{err}"
    );
    // The chain is good: verify-ca (which does not check names) connects.
    let p = probe_postgres(
        &primary.target("pg-tls", 1),
        &config("verify-ca", Some(&ca_file)),
    )
    .await
    .expect("verify-ca accepts a good chain whatever its names");
    assert_eq!(p.role, Role::Primary);
}
