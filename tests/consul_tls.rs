//! TLS to Consul against a real TLS listener: certificates are generated here with rcgen,
//! a tokio-rustls proxy terminates TLS in front of the in-process simulator, and the real
//! binary (and `ConsulClient` directly) connect with the Consul CLI's TLS variables.
//!
//! The simulator runs with ACLs on, so a successful read also proves the token went over
//! the TLS connection; every run of the binary is checked for the token in its output.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::{json, stderr, stdout};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use roster::consul::{ConsulClient, ConsulConfig, ConsulError, Endpoint, TlsOptions};
use roster::sim::{Catalog, SimOptions, SimServer};
use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// The ACL token every run carries; it must never be printed.
const TOKEN: &str = "5ecr3t-acl-token-0f-r0ster-tls-test";

/// Certificates and keys on disk.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn certs(&self, name: &str) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(self.path(name))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn key(&self, name: &str) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_file(self.path(name)).unwrap()
    }
}

fn ca_params(name: &str) -> CertificateParams {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

fn leaf_params(names: &[&str], usage: ExtendedKeyUsagePurpose) -> CertificateParams {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut p = CertificateParams::new(names).unwrap();
    p.distinguished_name.push(DnType::CommonName, "roster test");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![usage];
    p
}

/// Writes:
/// - `ca.pem`: the test CA; `capath/` holds it (and an unrelated CA) as separate files;
/// - `server.pem`/`server.key`: `consul.test` and `127.0.0.1`, signed by the CA;
/// - `dns-only.pem`/`dns-only.key`: only `consul.test`, signed by the CA;
/// - `client.pem`/`client.key`: a client certificate signed by the CA;
/// - `rogue-client.pem`/`rogue-client.key`: a client certificate from another CA.
fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();

    let ca =
        CertifiedIssuer::self_signed(ca_params("roster test CA"), KeyPair::generate().unwrap())
            .unwrap();
    write("ca.pem", ca.pem());
    let other =
        CertifiedIssuer::self_signed(ca_params("unrelated CA"), KeyPair::generate().unwrap())
            .unwrap();
    std::fs::create_dir(dir.path().join("capath")).unwrap();
    write("capath/a-unrelated.pem", other.pem());
    write("capath/b-roster.crt", ca.pem());

    let leaves: [(&str, &[&str], ExtendedKeyUsagePurpose, bool); 4] = [
        (
            "server",
            &["consul.test", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            true,
        ),
        (
            "dns-only",
            &["consul.test"],
            ExtendedKeyUsagePurpose::ServerAuth,
            true,
        ),
        (
            "client",
            &["roster-client"],
            ExtendedKeyUsagePurpose::ClientAuth,
            true,
        ),
        (
            "rogue-client",
            &["roster-client"],
            ExtendedKeyUsagePurpose::ClientAuth,
            false,
        ),
    ];
    for (name, sans, usage, ours) in leaves {
        let key = KeyPair::generate().unwrap();
        let issuer = if ours { &ca } else { &other };
        let cert = leaf_params(sans, usage).signed_by(&key, issuer).unwrap();
        write(&format!("{name}.pem"), cert.pem());
        write(&format!("{name}.key"), key.serialize_pem());
    }
    Pki { dir }
}

/// A TLS listener on 127.0.0.1 that forwards the decrypted bytes to the simulator.
struct TlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl TlsFront {
    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    fn bare(&self) -> String {
        self.addr.to_string()
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Serves certificate `cert` (`<cert>.pem`/`.key`); with `client_ca`, requires a client
/// certificate signed by the test CA.
async fn tls_front(pki: &Pki, cert: &str, client_ca: bool, backend: SocketAddr) -> TlsFront {
    let builder = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap();
    let builder = if client_ca {
        let mut roots = RootCertStore::empty();
        for c in pki.certs("ca.pem") {
            roots.add(c).unwrap();
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config = builder
        .with_single_cert(
            pki.certs(&format!("{cert}.pem")),
            pki.key(&format!("{cert}.key")),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A failed handshake just closes the connection (after rustls's alert).
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront { addr, task }
}

async fn sim() -> SimServer {
    let opts = SimOptions {
        acl_token: Some(TOKEN.into()),
        ..SimOptions::default()
    };
    SimServer::start("127.0.0.1:0".parse().unwrap(), Catalog::new("dc1"), opts)
        .await
        .unwrap()
}

/// `roster check --consul <address> -f json` with a clean environment, HOME in a fresh
/// directory, the token and `env`; asserts the token appears nowhere in the output.
async fn check(address: &str, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("roster.log");
    let mut args: Vec<String> = vec![
        "--log-file".into(),
        log.display().to_string(),
        "check".into(),
        "--consul".into(),
        address.into(),
        "-f".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut all = vec![("CONSUL_HTTP_TOKEN", TOKEN), ("ROSTER_LOG", "trace")];
    all.extend_from_slice(env);
    let out = common::roster(home.path(), &args, &all).await;
    let logged = std::fs::read_to_string(&log).unwrap_or_default();
    for (what, text) in [
        ("stdout", stdout(&out)),
        ("stderr", stderr(&out)),
        ("log file", logged),
    ] {
        assert!(
            !text.contains(TOKEN),
            "the token leaked into {what} of a run against {address}:\n{text}"
        );
    }
    out
}

/// The consul source of a JSON report: (status, error text).
fn consul_source(out: &Output) -> (String, String) {
    let doc = json(out);
    let src = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "consul")
        .unwrap_or_else(|| panic!("no consul source: {doc}"))
        .clone();
    (
        src["status"].as_str().unwrap_or_default().to_string(),
        src["error"].as_str().unwrap_or_default().to_string(),
    )
}

fn assert_reads(out: &Output, what: &str) {
    let (status, error) = consul_source(out);
    assert_eq!(status, "ok", "{what}: {error}\nstderr: {}", stderr(out));
    assert_eq!(out.status.code(), Some(0), "{what}: {}", stderr(out));
}

/// Asserts the run failed to read Consul with exit code 2 and returns the error text.
fn assert_fails(out: &Output, what: &str) -> String {
    let (status, error) = consul_source(out);
    assert_eq!(
        status,
        "error",
        "{what} should fail; stdout: {}",
        stdout(out)
    );
    assert_eq!(out.status.code(), Some(2), "{what}: {}", stderr(out));
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_ca_file_and_directory_are_trusted_and_nothing_else() {
    let pki = pki();
    let sim = sim().await;
    let front = tls_front(&pki, "server", false, sim.addr()).await;
    let url = front.url();

    // (1) CONSUL_CACERT with the test CA.
    let out = check(&url, &[("CONSUL_CACERT", &pki.arg("ca.pem"))], &[]).await;
    assert_reads(&out, "CONSUL_CACERT");

    // (6) CONSUL_CAPATH: a directory holding the CA among others.
    let out = check(&url, &[("CONSUL_CAPATH", &pki.arg("capath"))], &[]).await;
    assert_reads(&out, "CONSUL_CAPATH");

    // (2) No CA: the system roots do not know the test CA.
    let out = check(&url, &[], &[]).await;
    let error = assert_fails(&out, "no CA");
    assert!(error.contains(&url), "the error names the URL: {error}");
    assert!(
        error.contains("certificate"),
        "the error says it is about the certificate: {error}"
    );
    assert!(
        error.contains("CONSUL_CACERT"),
        "the error says what to set: {error}"
    );

    // A CA that did not sign the server's certificate fails the same way.
    std::fs::copy(pki.path("capath/a-unrelated.pem"), pki.path("other.pem")).unwrap();
    let out = check(&url, &[("CONSUL_CACERT", &pki.arg("other.pem"))], &[]).await;
    let error = assert_fails(&out, "wrong CA");
    assert!(
        error.contains(&url) && error.contains("certificate"),
        "{error}"
    );

    // (7) CONSUL_HTTP_SSL=true turns a bare host:port into https.
    let out = check(
        &front.bare(),
        &[
            ("CONSUL_HTTP_SSL", "true"),
            ("CONSUL_CACERT", &pki.arg("ca.pem")),
        ],
        &[],
    )
    .await;
    assert_reads(&out, "CONSUL_HTTP_SSL=true with host:port");
    // ... and without it the same address is spoken to in plain http, which the TLS
    // listener does not understand.
    let out = check(
        &front.bare(),
        &[("CONSUL_CACERT", &pki.arg("ca.pem"))],
        &["--timeout", "5s"],
    )
    .await;
    let error = assert_fails(&out, "plain http to a TLS port");
    assert!(
        error.contains(&format!("http://{}", front.bare())),
        "{error}"
    );

    // (5) CONSUL_HTTP_SSL_VERIFY=false accepts the untrusted certificate.
    let out = check(&url, &[("CONSUL_HTTP_SSL_VERIFY", "false")], &[]).await;
    assert_reads(&out, "CONSUL_HTTP_SSL_VERIFY=false");

    drop(front);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_name_override_for_a_certificate_without_the_ip() {
    let pki = pki();
    let sim = sim().await;
    let front = tls_front(&pki, "dns-only", false, sim.addr()).await;
    let url = front.url();
    let ca = pki.arg("ca.pem");

    // (3) Connecting by IP to a certificate that names only consul.test.
    let out = check(&url, &[("CONSUL_CACERT", &ca)], &[]).await;
    let error = assert_fails(&out, "IP against a DNS-only certificate");
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("CONSUL_TLS_SERVER_NAME"), "{error}");

    let out = check(
        &url,
        &[
            ("CONSUL_CACERT", &ca),
            ("CONSUL_TLS_SERVER_NAME", "consul.test"),
        ],
        &[],
    )
    .await;
    assert_reads(&out, "CONSUL_TLS_SERVER_NAME=consul.test");

    // The override is checked, not a way around verification.
    let out = check(
        &url,
        &[
            ("CONSUL_CACERT", &ca),
            ("CONSUL_TLS_SERVER_NAME", "other.test"),
        ],
        &[],
    )
    .await;
    assert_fails(&out, "CONSUL_TLS_SERVER_NAME=other.test");

    // Directly through the library as well.
    let mut cfg = ConsulConfig::new(Endpoint::parse(&url, false).unwrap());
    cfg.token = Some(roster::consul::Secret::new(TOKEN));
    cfg.tls = TlsOptions {
        ca_cert: Some(pki.path("ca.pem")),
        ..TlsOptions::system()
    };
    let err = ConsulClient::new(cfg.clone())
        .unwrap()
        .services(None)
        .await
        .unwrap_err();
    assert!(matches!(err, ConsulError::Connect { .. }), "{err:?}");
    cfg.tls.server_name = Some("consul.test".into());
    let client = ConsulClient::new(cfg).unwrap();
    assert!(!format!("{client:?}").contains(TOKEN), "{client:?}");
    let (services, meta) = client.services(None).await.unwrap();
    assert!(services.contains_key("consul"), "{services:?}");
    assert!(meta.index >= 1);

    drop(front);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_when_the_server_requires_them() {
    let pki = pki();
    let sim = sim().await;
    let front = tls_front(&pki, "server", true, sim.addr()).await;
    let url = front.url();
    let ca = pki.arg("ca.pem");

    // (4) With the client certificate and key.
    let out = check(
        &url,
        &[
            ("CONSUL_CACERT", &ca),
            ("CONSUL_CLIENT_CERT", &pki.arg("client.pem")),
            ("CONSUL_CLIENT_KEY", &pki.arg("client.key")),
        ],
        &[],
    )
    .await;
    assert_reads(&out, "client certificate");

    // Without one the server refuses the handshake.
    let out = check(&url, &[("CONSUL_CACERT", &ca)], &[]).await;
    let error = assert_fails(&out, "no client certificate");
    assert!(error.contains(&url), "{error}");
    assert!(error.contains("CONSUL_CLIENT_CERT"), "{error}");

    // A client certificate from a CA the server does not trust is refused too.
    let out = check(
        &url,
        &[
            ("CONSUL_CACERT", &ca),
            ("CONSUL_CLIENT_CERT", &pki.arg("rogue-client.pem")),
            ("CONSUL_CLIENT_KEY", &pki.arg("rogue-client.key")),
        ],
        &[],
    )
    .await;
    let error = assert_fails(&out, "untrusted client certificate");
    assert!(error.contains(&url), "{error}");

    // Half of the pair is a configuration error, before any connection.
    for (var, file) in [
        ("CONSUL_CLIENT_CERT", "client.pem"),
        ("CONSUL_CLIENT_KEY", "client.key"),
    ] {
        let out = check(&url, &[("CONSUL_CACERT", &ca), (var, &pki.arg(file))], &[]).await;
        assert_eq!(out.status.code(), Some(2), "only {var}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY must be given together"),
            "only {var}: {err}"
        );
        assert!(stdout(&out).is_empty(), "only {var}: {}", stdout(&out));
    }

    // A key that does not belong to the certificate is a configuration error too.
    let mut tls = TlsOptions {
        ca_cert: Some(pki.path("ca.pem")),
        client_cert: Some(pki.path("client.pem")),
        client_key: Some(pki.path("rogue-client.key")),
        ..TlsOptions::system()
    };
    let cfg = |tls: &TlsOptions| {
        let mut c = ConsulConfig::new(Endpoint::parse(&url, false).unwrap());
        c.tls = tls.clone();
        c.token = Some(roster::consul::Secret::new(TOKEN));
        c
    };
    let err = ConsulClient::new(cfg(&tls)).unwrap_err();
    assert!(matches!(err, ConsulError::Config(_)), "{err:?}");
    // Half a pair through the library is refused as well.
    tls.client_key = None;
    let err = ConsulClient::new(cfg(&tls)).unwrap_err();
    assert!(
        err.to_string().contains("must be given together"),
        "{err:?}"
    );

    drop(front);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_tls_files_are_clear_configuration_errors() {
    let pki = pki();
    let url = "https://127.0.0.1:1";
    let base = || ConsulConfig::new(Endpoint::parse(url, false).unwrap());
    let err_of = |tls: TlsOptions| {
        let mut c = base();
        c.tls = tls;
        ConsulClient::new(c).unwrap_err().to_string()
    };
    let missing = pki.path("missing.pem");
    let err = err_of(TlsOptions {
        ca_cert: Some(missing.clone()),
        ..TlsOptions::system()
    });
    assert!(err.contains(&missing.display().to_string()), "{err}");
    std::fs::write(pki.path("empty.pem"), "not a certificate\n").unwrap();
    let err = err_of(TlsOptions {
        ca_cert: Some(pki.path("empty.pem")),
        ..TlsOptions::system()
    });
    assert!(err.contains("empty.pem"), "{err}");
    let err = err_of(TlsOptions {
        ca_path: Some(pki.path("no-such-dir")),
        ..TlsOptions::system()
    });
    assert!(err.contains("no-such-dir"), "{err}");
    let err = err_of(TlsOptions {
        ca_cert: Some(pki.path("ca.pem")),
        client_cert: Some(pki.path("client.pem")),
        client_key: Some(pki.path("client.pem")),
        ..TlsOptions::system()
    });
    assert!(err.contains("client key"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_over_plain_http_to_a_remote_address_is_warned_about() {
    // Through the settings: no network involved.
    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        sources: roster::config::SourceArgs,
    }
    let resolve = |address: &str, env: &[(&str, &str)]| {
        let cli = <Cli as clap::Parser>::try_parse_from(["roster", "--consul", address]).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        roster::config::resolve(&cli.sources, &move |k: &str| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
        .unwrap()
    };
    let s = resolve("http://10.255.255.1:8500", &[("CONSUL_HTTP_TOKEN", TOKEN)]);
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(
        s.warnings[0].contains("token") && s.warnings[0].contains("plain http"),
        "{:?}",
        s.warnings
    );
    assert!(!s.warnings[0].contains(TOKEN));
    for (address, env) in [
        ("http://10.255.255.1:8500", &[][..]),
        (
            "https://10.255.255.1:8501",
            &[("CONSUL_HTTP_TOKEN", TOKEN)][..],
        ),
        (
            "10.255.255.1:8501",
            &[("CONSUL_HTTP_TOKEN", TOKEN), ("CONSUL_HTTP_SSL", "true")][..],
        ),
        ("http://127.0.0.1:8500", &[("CONSUL_HTTP_TOKEN", TOKEN)][..]),
        ("http://localhost:8500", &[("CONSUL_HTTP_TOKEN", TOKEN)][..]),
    ] {
        let s = resolve(address, env);
        assert!(s.warnings.is_empty(), "{address}: {:?}", s.warnings);
    }

    // Through the binary: 0.0.0.0 reaches this machine but is not a loopback address,
    // so the warning is printed, and the read itself still works.
    let sim = sim().await;
    let address = format!("http://0.0.0.0:{}", sim.addr().port());
    let out = check(&address, &[], &[]).await;
    let err = stderr(&out);
    assert!(
        err.contains("warning") && err.contains("token") && err.contains("plain http"),
        "{err}"
    );
    assert_reads(&out, "plain http via 0.0.0.0");
    // Loopback over plain http is not warned about.
    let out = check(&sim.url(), &[], &[]).await;
    assert_reads(&out, "plain http on loopback");
    assert!(!stderr(&out).contains("plain http"), "{}", stderr(&out));
    sim.shutdown().await;
}
