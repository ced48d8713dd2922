use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .chain([("HOME".to_string(), "/nonexistent-home".to_string())])
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn flag_beats_env_beats_file() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        "[consul]\naddress = \"10.0.0.9:8500\"\ndatacenter = \"dcf\"\n[targets]\npaths = [\"/t\"]\n",
    )
    .unwrap();
    let mut a = SourceArgs {
        config: Some(cfg.clone()),
        ..SourceArgs::default()
    };
    let s = resolve(&a, &env_of(&[])).unwrap();
    let c = s.consul.unwrap();
    assert_eq!(c.config.endpoint.to_string(), "http://10.0.0.9:8500");
    assert_eq!(c.origin, "config file");
    assert_eq!(c.config.datacenter.as_deref(), Some("dcf"));
    assert_eq!(s.targets, ["/t"]);

    let s = resolve(&a, &env_of(&[("CONSUL_HTTP_ADDR", "https://e:8501")])).unwrap();
    assert_eq!(s.consul.unwrap().origin, "CONSUL_HTTP_ADDR");

    a.consul = Some("127.0.0.1:9".into());
    let s = resolve(&a, &env_of(&[("CONSUL_HTTP_ADDR", "https://e:8501")])).unwrap();
    assert_eq!(
        s.consul.unwrap().config.endpoint.to_string(),
        "http://127.0.0.1:9"
    );

    a.consul = None;
    a.no_consul = true;
    let s = resolve(&a, &env_of(&[("CONSUL_HTTP_ADDR", "e:8500")])).unwrap();
    assert!(s.consul.is_none());
}

#[test]
fn live_root_certificates_as_libpq_finds_them() {
    let root = |a: &SourceArgs, env: &[(&str, &str)]| {
        live_config(a, &env_of(env))
            .pg
            .and_then(|p| p.sslrootcert)
            .map(|p| p.display().to_string())
    };
    let mut a = SourceArgs::default();
    assert_eq!(
        root(&a, &[]).as_deref(),
        Some("/nonexistent-home/.postgresql/root.crt")
    );
    assert_eq!(
        root(&a, &[("PGSSLROOTCERT", "/etc/pg/ca.pem")]).as_deref(),
        Some("/etc/pg/ca.pem")
    );
    a.pg_sslrootcert = Some(PathBuf::from("system"));
    assert_eq!(
        root(&a, &[("PGSSLROOTCERT", "/etc/pg/ca.pem")]).as_deref(),
        Some("system")
    );
}

#[test]
fn ssl_and_token_conventions() {
    let dir = tempfile::tempdir().unwrap();
    let tf = dir.path().join("tok");
    std::fs::write(&tf, "from-file\n").unwrap();
    let mut a = SourceArgs {
        consul: Some("c.example:8501".into()),
        ..SourceArgs::default()
    };
    let env = env_of(&[
        ("CONSUL_HTTP_SSL", "true"),
        ("CONSUL_HTTP_TOKEN", "from-env"),
        ("CONSUL_HTTP_TOKEN_FILE", tf.to_str().unwrap()),
        ("CONSUL_HTTP_SSL_VERIFY", "false"),
        ("CONSUL_TLS_SERVER_NAME", "consul.internal"),
    ]);
    let c = resolve(&a, &env).unwrap().consul.unwrap().config;
    assert_eq!(c.endpoint.to_string(), "https://c.example:8501");
    assert_eq!(c.token.unwrap().expose(), "from-file", "the file wins");
    assert!(!c.tls.verify);
    assert_eq!(c.tls.server_name.as_deref(), Some("consul.internal"));

    let env = env_of(&[("CONSUL_HTTP_TOKEN", "tok-123")]);
    a.consul = Some("10.1.1.1:8500".into());
    let s = resolve(&a, &env).unwrap();
    assert!(s.warnings[0].contains("plain http"));
    assert!(!s.warnings[0].contains("tok-123"));
}

#[test]
fn bad_settings_are_clear_errors() {
    let mut a = SourceArgs {
        consul: Some("c:1".into()),
        ..SourceArgs::default()
    };
    let e = resolve(&a, &env_of(&[("CONSUL_HTTP_SSL", "yes")])).unwrap_err();
    assert!(e.to_string().contains("CONSUL_HTTP_SSL"), "{e}");
    let e = resolve(&a, &env_of(&[("CONSUL_CLIENT_CERT", "/x.pem")])).unwrap_err();
    assert!(e.to_string().contains("together"), "{e}");
    a.token_file = Some("/nonexistent/token".into());
    let e = resolve(&a, &env_of(&[])).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/token"), "{e}");
    a.token_file = None;
    a.config = Some("/nonexistent/roster.toml".into());
    assert!(resolve(&a, &env_of(&[])).is_err());
}

#[test]
fn nothing_configured_tries_the_conventional_places() {
    let s = resolve(&SourceArgs::default(), &env_of(&[])).unwrap();
    let c = s.consul.unwrap();
    assert!(c.probe_only);
    assert_eq!(c.config.endpoint.to_string(), DEFAULT_CONSUL);
    assert!(s.notes[0].contains("conventional"));
    let a = SourceArgs {
        inventory: Some("inv.yml".into()),
        ..SourceArgs::default()
    };
    assert!(resolve(&a, &env_of(&[])).unwrap().consul.is_none());
}

#[test]
fn the_prometheus_config_names_what_its_postgres_job_reads() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("targets");
    std::fs::create_dir_all(root.join("pgsql")).unwrap();
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let prom = dir.path().join("prometheus.yml");
    std::fs::write(
        &prom,
        "scrape_configs:\n  - job_name: node\n    file_sd_configs: [{files: [targets/node/*.yml]}]\n  - job_name: pgsql\n    file_sd_configs: [{files: [targets/pgsql/*.yml]}]\n",
    )
    .unwrap();
    let pgsql = dir.path().join("targets/pgsql/*.yml").display().to_string();

    // Alone, it names the files, and counts as a configured source.
    let mut a = SourceArgs {
        prometheus_config: Some(prom.clone()),
        ..SourceArgs::default()
    };
    let s = resolve(&a, &env_of(&[])).unwrap();
    assert_eq!(s.targets, std::slice::from_ref(&pgsql));
    assert!(s.consul.is_none());
    assert!(s.notes[0].contains("job pgsql"), "{:?}", s.notes);

    // With the root given, the job's patterns replace it; a directory it does not
    // read, or a file named outright, is read as given.
    let file = dir.path().join("extra.yml").display().to_string();
    a.targets = vec![
        root.display().to_string(),
        other.display().to_string(),
        file.clone(),
    ];
    let s = resolve(&a, &env_of(&[])).unwrap();
    assert_eq!(s.targets, [pgsql, other.display().to_string(), file]);
    assert!(
        s.notes.iter().any(|n| n.contains("reads no files under")),
        "{:?}",
        s.notes
    );

    // Named in the config file, without paths.
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[targets]\nprometheus_config = {:?}\n",
            prom.display().to_string()
        ),
    )
    .unwrap();
    let a = SourceArgs {
        config: Some(cfg),
        no_consul: true,
        ..SourceArgs::default()
    };
    assert_eq!(resolve(&a, &env_of(&[])).unwrap().targets.len(), 1);

    // A named configuration that says nothing usable is an error.
    std::fs::write(&prom, "scrape_configs: []\n").unwrap();
    let a = SourceArgs {
        prometheus_config: Some(prom),
        ..SourceArgs::default()
    };
    let e = resolve(&a, &env_of(&[])).unwrap_err();
    assert!(
        e.to_string().contains("no scrape job named pg or pgsql"),
        "{e}"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
    assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
    assert!(parse_duration("10").is_err());
    assert!(parse_duration("5d").is_err());
    assert!(parse_duration("").is_err());
}
