//! `roster check` end to end: the real binary against the simulator, real target files
//! on disk and a real inventory file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;
mod hostile;

use common::{DemoArgs, findings, has, json, roster, stderr, stdout};
use roster::demo::Demo;
use roster::sim::{FleetSpec, ServiceDef};

fn args(demo: &Demo, extra: &[&str]) -> Vec<String> {
    DemoArgs::new(demo, "check").with(extra).build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_fleet_reports_every_planted_drift_and_nothing_else() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = roster(home.path(), &args(&demo, &["--format", "json"]), &[]).await;
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    for s in doc["sources"].as_array().unwrap() {
        assert_eq!(s["status"], "ok", "{s}");
    }
    let expected: &[(&str, &str, Option<&str>)] = &[
        ("role-mismatch", "pg-test", Some("pg-test-1")),
        ("role-mismatch", "pg-test", Some("pg-test-2")),
        ("service-role-split", "pg-src", Some("pg-src-2")),
        ("missing-in-targets", "pg-orders", Some("pg-orders-5")),
        ("missing-in-inventory", "pg-orders", Some("pg-orders-5")),
        ("health-critical", "pg-orders", Some("pg-orders-5")),
        ("name-mismatch", "pg-stats", Some("pg-stats-4")),
        ("unknown-role", "pg-stats", Some("pg-stats-6")),
        ("ip-mismatch", "pg-stats", Some("pg-stats-7")),
        ("missing-in-consul", "pg-new", Some("pg-new-1")),
        ("missing-in-targets", "pg-new", Some("pg-new-2")),
    ];
    for (kind, cluster, inst) in expected {
        assert!(
            has(&doc, kind, cluster, *inst),
            "missing {kind} {cluster} {inst:?}; got {:#?}",
            findings(&doc)
        );
    }
    // Clean clusters and members stay clean; pg-web's switchover is invisible without a live check.
    for (_, _, cluster, inst) in findings(&doc) {
        assert!(
            !["pg-meta", "pg-web"].contains(&cluster.as_str()),
            "unexpected finding in {cluster}: {:#?}",
            findings(&doc)
        );
        assert_ne!(inst.as_deref(), Some("pg-test-3"));
        assert_ne!(inst.as_deref(), Some("pg-stats-8"));
    }
    let instances = doc["instances"].as_array().unwrap();
    assert!(instances.iter().any(|i| i["instance"] == "pg-meta-1"));
    assert_eq!(doc["summary"]["clusters"], 7);
    // Each cluster says who each place names primary; without --live there is no verdict.
    let cluster = |name: &str| {
        doc["clusters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["cluster"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no cluster {name} in {}", doc["clusters"]))
    };
    let meta = cluster("pg-meta");
    assert_eq!(meta["primary"], "pg-meta-1", "{meta}");
    assert_eq!(meta["disputed"], false, "{meta}");
    assert!(meta.get("follows").is_none(), "{meta}");
    let test = cluster("pg-test");
    assert_eq!(test["disputed"], true, "{test}");
    assert_eq!(test["primary"], serde_json::Value::Null, "{test}");
    assert_eq!(
        test["primaries"]["consul"],
        serde_json::json!(["pg-test-2"])
    );
    assert_eq!(
        test["primaries"]["targets"],
        serde_json::json!(["pg-test-1"])
    );
    assert_eq!(test["live_primary"], serde_json::Value::Null, "{test}");
    demo.stop().await;
}

const EXTRA_KINDS: &str = r#"
datacenter: dc1
release: "0.7"
clusters:
  - name: pg-dup
    members:
      - { seq: 1, ip: 127.10.20.1, role: primary }
      - { seq: 2, ip: 127.10.20.2, role: replica, consul: { role: primary } }
      - { seq: 3, ip: 127.10.20.3, role: replica }
      - { seq: 4, ip: 127.10.20.4, role: replica, targets: { ip: 127.10.20.2 } }
  - name: pg-headless
    members:
      - { seq: 1, ip: 127.10.20.11, role: primary, targets: { role: replica } }
      - { seq: 2, ip: 127.10.20.12, role: replica }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collisions_and_primary_counts() {
    let spec = FleetSpec::from_yaml(EXTRA_KINDS).unwrap();
    let demo = Demo::start_with(spec).await.unwrap();
    // A stray registration claims pg-dup-3 from a second address (a copied svc file).
    let stray = ServiceDef {
        name: "postgres-copy".into(),
        address: "127.10.20.1".into(),
        port: 5432,
        meta: [
            ("cluster", "pg-dup"),
            ("seq", "3"),
            ("instance", "pg-dup-3"),
            ("role", "replica"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        ..ServiceDef::default()
    };
    demo.server()
        .catalog()
        .register_service("pg-dup-1", stray)
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = roster(home.path(), &args(&demo, &["--format", "json"]), &[]).await;
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        has(&doc, "multiple-primaries", "pg-dup", None),
        "{:#?}",
        findings(&doc)
    );
    assert!(
        has(&doc, "identity-collision", "pg-dup", Some("pg-dup-1")),
        "{:#?}",
        findings(&doc)
    );
    assert!(
        has(&doc, "identity-collision", "pg-dup", Some("pg-dup-3")),
        "{:#?}",
        findings(&doc)
    );
    // one address holding two identities inside the target files
    assert!(
        has(&doc, "identity-collision", "pg-dup", Some("pg-dup-2")),
        "{:#?}",
        findings(&doc)
    );
    assert!(
        has(&doc, "no-primary", "pg-headless", None),
        "{:#?}",
        findings(&doc)
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consul_down_is_a_source_error_and_the_others_still_report() {
    let demo = Demo::start().await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let home = tempfile::tempdir().unwrap();
    let mut a = args(&demo, &["--format", "json"]);
    a[2] = format!("127.0.0.1:{port}");
    let out = roster(home.path(), &a, &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    let consul = &doc["sources"][0];
    assert_eq!(consul["name"], "consul");
    assert_eq!(consul["status"], "error");
    let err = consul["error"].as_str().unwrap();
    assert!(
        err.contains("cannot reach Consul") && err.contains(&port.to_string()),
        "{err}"
    );
    assert_eq!(doc["sources"][1]["status"], "ok");
    assert!(doc["summary"]["instances"].as_u64().unwrap() > 20);
    // Consul said nothing, so nothing can be missing from it.
    assert!(!findings(&doc).iter().any(|f| f.0 == "missing-in-consul"));
    assert_eq!(consul["read"], "failed");
    let instances = doc["instances"].as_array().unwrap();
    for i in instances {
        assert_eq!(i["coverage"]["consul"], "not-read", "{i}");
        assert_ne!(i["verdict"], "ok", "{i}");
    }
    // pg-meta-1 agrees in every place that was read, and is still not called clean.
    let meta = instances
        .iter()
        .find(|i| i["instance"] == "pg-meta-1")
        .unwrap();
    assert_eq!(meta["verdict"], "unverified", "{meta}");
    assert_eq!(meta["not_read"], serde_json::json!(["consul"]), "{meta}");
    assert_eq!(doc["summary"]["ok_instances"], 0);
    let unverified = doc["summary"]["unverified_instances"].as_u64().unwrap();
    assert!(unverified > 0);

    let table = roster(home.path(), &a[..a.len() - 2], &[]).await;
    assert_eq!(table.status.code(), Some(2));
    let text = stdout(&table);
    let row = text.lines().find(|l| l.contains("pg-meta-1 ")).unwrap();
    assert!(row.contains("not read"), "{row}");
    assert!(!row.contains("absent"), "{row}");
    assert!(row.ends_with("unverified: consul not read"), "{row}");
    assert!(
        text.contains(&format!("{unverified} unverified: consul not read")),
        "{text}"
    );

    let mut p = a[..a.len() - 2].to_vec();
    p.extend(["-f".into(), "prometheus".into()]);
    let metrics = stdout(&roster(home.path(), &p, &[]).await);
    assert!(
        metrics.contains("roster_source_up{source=\"consul\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "roster_instances{{verdict=\"unverified\"}} {unverified}\n"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains("roster_instances{verdict=\"ok\"} 0\n"),
        "{metrics}"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_target_file_is_named_and_hides_nothing_else() {
    let demo = Demo::start().await.unwrap();
    std::fs::write(
        demo.targets_dir().join("zz-broken.yml"),
        "- labels: {cls: pg-x, ins: pg-x-1\n  targets: [127.0.0.1:9630]\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = roster(home.path(), &args(&demo, &["--format", "json"]), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    let targets = source(&doc, "targets");
    assert_eq!(targets["status"], "error");
    let err = targets["error"].as_str().unwrap();
    assert!(err.contains("zz-broken.yml:"), "{err}");
    assert!(
        err.split("zz-broken.yml:")
            .nth(1)
            .unwrap()
            .chars()
            .next()
            .unwrap()
            .is_ascii_digit(),
        "line number follows the file: {err}"
    );
    // The good files still count: pg-test is still compared (and still drifts).
    assert!(has(&doc, "role-mismatch", "pg-test", Some("pg-test-1")));
    assert!(!has(
        &doc,
        "missing-in-targets",
        "pg-meta",
        Some("pg-meta-1")
    ));
    // What a broken file held is unknown: no instance is missing from the target files,
    // and pg-new-2, which no good file names, drifts (Consul lacks it) with the target
    // files named as not read for it.
    assert_eq!(targets["read"], "partial");
    assert!(
        !findings(&doc).iter().any(|f| f.0 == "missing-in-targets"),
        "{:#?}",
        findings(&doc)
    );
    let new2 = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "pg-new-2")
        .unwrap();
    assert_eq!(new2["coverage"]["targets"], "not-read", "{new2}");
    assert_eq!(new2["verdict"], "drift", "{new2}");
    assert_eq!(new2["not_read"], serde_json::json!(["targets"]), "{new2}");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_and_prometheus_formats_and_fail_on() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = roster(home.path(), &args(&demo, &[]), &[]).await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1));
    let header = text
        .lines()
        .find(|l| l.starts_with("CLUSTER"))
        .expect("a header row");
    for col in [
        "INSTANCE",
        "IP",
        "CONSUL",
        "TARGETS",
        "INVENTORY",
        "HEALTH",
        "DRIFT",
    ] {
        assert!(header.contains(col), "{header}");
    }
    let row = text.lines().find(|l| l.contains("pg-test-1 ")).unwrap();
    assert!(
        row.contains("replica") && row.contains("primary") && row.contains("! role-mismatch"),
        "{row}"
    );
    assert!(text.contains("FINDINGS"));
    assert!(
        text.lines().last().unwrap().contains("7 clusters"),
        "{text}"
    );

    let out = roster(home.path(), &args(&demo, &["--format", "prometheus"]), &[]).await;
    let text = stdout(&out);
    assert!(
        text.contains("roster_source_up{source=\"consul\"} 1"),
        "{text}"
    );
    assert!(text.contains(
        "roster_finding{kind=\"role-mismatch\",severity=\"error\",cluster=\"pg-test\",instance=\"pg-test-1\"} 1"
    ));
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, value) = line.rsplit_once(' ').unwrap();
        assert!(value.parse::<f64>().is_ok(), "{line}");
        assert!(series.starts_with("roster_"), "{line}");
    }

    // Only warnings and worse make it fail; errors exist in the demo, so --fail-on error fails too.
    let out = roster(
        home.path(),
        &args(&demo, &["--fail-on", "error", "-f", "json"]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_fleet_exits_zero() {
    let spec = FleetSpec::from_yaml(
        "datacenter: dc1\nclusters:\n  - name: pg-ok\n    members:\n      - { seq: 1, ip: 127.10.30.1, role: primary }\n      - { seq: 2, ip: 127.10.30.2, role: replica }\n",
    )
    .unwrap();
    let demo = Demo::start_with(spec).await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = roster(home.path(), &args(&demo, &["-f", "json"]), &[]).await;
    let doc = json(&out);
    assert_eq!(findings(&doc), vec![]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_to_read_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let out = roster(home.path(), &["check".into(), "--no-consul".into()], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no source to read"),
        "{}",
        stderr(&out)
    );

    let out = roster(
        home.path(),
        &[
            "check".into(),
            "--inventory".into(),
            "/nonexistent/pigsty.yml".into(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stdout(&out).contains("/nonexistent/pigsty.yml"),
        "{}",
        stdout(&out)
    );

    let out = roster(
        home.path(),
        &["check".into(), "--consul".into(), "ftp://x".into()],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("scheme"), "{}", stderr(&out));
}

fn source<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name} in {doc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consul_500_and_malformed_json_are_source_errors_with_the_url() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();

    demo.server()
        .faults()
        .fail_next(1, 500, "rpc error making call: No cluster leader");
    let out = roster(home.path(), &args(&demo, &["-f", "json"]), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    let err = source(&doc, "consul")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(err.contains("/v1/catalog/services"), "{err}");
    assert!(
        err.contains("500 rpc error making call: No cluster leader"),
        "{err}"
    );
    assert_eq!(source(&doc, "targets")["status"], "ok");

    demo.server().faults().truncate_next(1);
    let out = roster(home.path(), &args(&demo, &["-f", "json"]), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let doc = json(&out);
    let err = source(&doc, "consul")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        err.contains("not the JSON Consul sends") || err.contains("cut off"),
        "{err}"
    );

    demo.server().faults().clear();
    let out = roster(home.path(), &args(&demo, &["-f", "json"]), &[]).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "recovers once the fault is gone"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_denied_names_the_reason_and_never_the_token() {
    let token = "5b9a1c2e-roster-test-token-0001";
    let options = roster::sim::SimOptions {
        acl_token: Some(token.to_string()),
        ..Default::default()
    };
    let demo = Demo::start_with_options(FleetSpec::demo(), options)
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();

    let out = roster(home.path(), &args(&demo, &["-f", "json"]), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    let err = source(&json(&out), "consul")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        err.contains("403") && err.contains("Permission denied"),
        "{err}"
    );

    let wrong = "wrong-token-should-never-print-7f3e";
    let out = roster(
        home.path(),
        &args(&demo, &["-f", "json"]),
        &[("CONSUL_HTTP_TOKEN", wrong)],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let err = source(&json(&out), "consul")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        err.contains("403") && err.contains("ACL not found"),
        "{err}"
    );
    assert!(!stdout(&out).contains(wrong) && !stderr(&out).contains(wrong));

    let token_file = home.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    for format in ["json", "table", "prometheus"] {
        let out = roster(
            home.path(),
            &args(
                &demo,
                &["-f", format, "--token-file", token_file.to_str().unwrap()],
            ),
            &[],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(!stdout(&out).contains(token) && !stderr(&out).contains(token));
    }
    demo.stop().await;
}

/// `(instance, place, severity)` of every `live-role-mismatch` of a report.
fn live_mismatches(doc: &serde_json::Value) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "live-role-mismatch")
        .map(|f| {
            let place = f["sources"]
                .as_object()
                .unwrap()
                .keys()
                .find(|k| *k != "live")
                .cloned()
                .unwrap_or_default();
            (
                f["instance"].as_str().unwrap_or_default().to_string(),
                place,
                f["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roster_demo_tells_the_on_call_story_from_the_simulated_patroni() {
    let home = tempfile::tempdir().unwrap();
    let demo_check = |extra: &[&str]| {
        let mut a = vec![
            "demo".to_string(),
            "--check".into(),
            "-f".into(),
            "json".into(),
        ];
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let out = roster(home.path(), &demo_check(&[]), &[]).await;
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(
        source(&doc, "live")["status"],
        "ok",
        "live is on by default"
    );

    let row = |i: &str, place: &str, sev: &str| (i.to_string(), place.to_string(), sev.to_string());
    let mismatches = live_mismatches(&doc);
    // pg-web: a switchover nobody followed; pg-test: only Consul followed its failover.
    for expected in [
        row("pg-web-1", "consul", "error"),
        row("pg-web-1", "targets", "error"),
        row("pg-web-1", "inventory", "info"),
        row("pg-web-3", "consul", "error"),
        row("pg-web-3", "targets", "error"),
        row("pg-web-3", "inventory", "info"),
        row("pg-test-1", "targets", "error"),
        row("pg-test-2", "targets", "error"),
    ] {
        assert!(
            mismatches.contains(&expected),
            "{expected:?} not in {mismatches:#?}"
        );
    }
    assert!(
        !mismatches
            .iter()
            .any(|(i, p, _)| i.starts_with("pg-test") && p == "consul"),
        "Consul followed pg-test's failover: {mismatches:#?}"
    );
    for (i, _, _) in &mismatches {
        assert!(
            ["pg-web-", "pg-test-", "pg-src-"]
                .iter()
                .any(|c| i.starts_with(c)),
            "a healthy cluster drifts from its live roles: {mismatches:#?}"
        );
    }
    for f in doc["findings"].as_array().unwrap() {
        if f["kind"] == "live-role-mismatch" {
            let m = f["message"].as_str().unwrap();
            assert!(m.ends_with("(live, via patroni)"), "{m}");
        }
    }
    let unreachable: Vec<_> = findings(&doc)
        .into_iter()
        .filter(|f| f.0 == "live-unreachable")
        .collect();
    assert_eq!(
        unreachable,
        [(
            "live-unreachable".to_string(),
            "warning".to_string(),
            "pg-orders".to_string(),
            Some("pg-orders-5".to_string())
        )],
        "only the dead node is unreachable"
    );
    let dead = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "live-unreachable")
        .unwrap();
    let why = dead["sources"]["live"].as_str().unwrap();
    assert!(
        why.contains("127.10.10.35:") && why.contains("/patroni") && !why.contains(":5432"),
        "only Patroni is asked, never a PostgreSQL port: {why}"
    );
    // The record-keeping drift is still reported as without the live source.
    for (kind, cluster, inst) in [
        ("service-role-split", "pg-src", "pg-src-2"),
        ("missing-in-targets", "pg-orders", "pg-orders-5"),
        ("name-mismatch", "pg-stats", "pg-stats-4"),
        ("unknown-role", "pg-stats", "pg-stats-6"),
        ("ip-mismatch", "pg-stats", "pg-stats-7"),
        ("missing-in-consul", "pg-new", "pg-new-1"),
    ] {
        assert!(has(&doc, kind, cluster, Some(inst)), "no {kind} {inst}");
    }

    // `--live` stays accepted; `--no-live` leaves the live source out.
    let out = roster(home.path(), &demo_check(&["--live"]), &[]).await;
    assert_eq!(live_mismatches(&json(&out)), mismatches);
    let out = roster(home.path(), &demo_check(&["--no-live"]), &[]).await;
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        !doc["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "live"),
        "{}",
        doc["sources"]
    );
    assert!(live_mismatches(&doc).is_empty());
}

// ---------------------------------------------------------------- files that are not files

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

const LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifos_among_the_files_are_refused_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets");
    std::fs::create_dir(&targets).unwrap();
    std::fs::write(
        targets.join("pg-h.yml"),
        hostile::target_file("pg-h", &[(1, "primary", "127.0.0.1")]),
    )
    .unwrap();
    // Nothing ever writes to these: a blocking open or read would wait forever.
    let fifo = targets.join("pg-fifo.yml");
    mkfifo(&fifo);
    let inventory = dir.path().join("pigsty.yml");
    mkfifo(&inventory);
    let out = hostile::roster(
        &hostile::args(&[
            "check",
            "--no-consul",
            "--targets",
            &targets.display().to_string(),
            "--inventory",
            &inventory.display().to_string(),
            "-f",
            "json",
        ]),
        &[],
        LIMIT,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let doc = json(&out);
    let t = source(&doc, "targets")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        t.contains(&format!(
            "{}: cannot read: not a regular file (a FIFO)",
            fifo.display()
        )),
        "{t}"
    );
    let i = source(&doc, "inventory")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        i.contains(&format!(
            "{}: cannot read: not a regular file (a FIFO)",
            inventory.display()
        )),
        "{i}"
    );
    let names: Vec<&str> = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["instance"].as_str())
        .collect();
    assert_eq!(names, ["pg-h-1"], "the other target file is read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_files_are_bounded_and_must_be_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big-token");
    std::fs::write(&big, "a".repeat(1024 * 1024)).unwrap();
    let fifo = dir.path().join("fifo-token");
    mkfifo(&fifo);
    let cases = [
        (big.display().to_string(), "larger than 4096 bytes"),
        (fifo.display().to_string(), "not a regular file (a FIFO)"),
        (
            "/dev/zero".to_string(),
            "not a regular file (a character device)",
        ),
        (
            dir.path().display().to_string(),
            "not a regular file (a directory)",
        ),
    ];
    for (path, reason) in &cases {
        for via_env in [false, true] {
            let mut argv = vec![
                "check".to_string(),
                "--consul".into(),
                "http://127.0.0.1:1".into(),
            ];
            let mut env = Vec::new();
            if via_env {
                env.push(("CONSUL_HTTP_TOKEN_FILE", path.as_str()));
            } else {
                argv.extend(["--token-file".to_string(), path.clone()]);
            }
            // Capped address space: an unbounded read of /dev/zero ends in an
            // allocation failure instead of eating the machine.
            let mut limited = vec![
                "-c".to_string(),
                "ulimit -v 4194304 && exec \"$0\" \"$@\"".into(),
                env!("CARGO_BIN_EXE_roster").into(),
            ];
            limited.extend(argv);
            let out = run_limited(&limited, &env).await;
            let e = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{path} (env {via_env}): {e}");
            assert!(
                e.contains(&format!("token file {path}: {reason}")),
                "{path} (env {via_env}): {e}"
            );
        }
    }
}

/// `sh` with `argv` under the test's time limit, killed when it runs out.
async fn run_limited(argv: &[String], env: &[(&str, &str)]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new("sh");
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .args(argv)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    tokio::time::timeout(LIMIT, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("{argv:?} still running after {LIMIT:?}"))
        .unwrap()
}
