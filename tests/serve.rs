//! `roster serve` end to end: the real binary watching the simulator, its target files
//! and inventory, asked over HTTP while the simulator changes and goes away.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::DemoArgs;
use common::serve::{Served, parse_metrics, promtool_check_metrics, reregister_node, sample};
use common::tmux::skip_or_panic;
use roster::demo::Demo;

/// Source flags for the demo's three places (no command: `Served` adds `serve`).
fn sources(demo: &Demo) -> Vec<String> {
    let mut args = DemoArgs::new(demo, "serve").build();
    args.remove(0);
    args
}

fn has_finding(metrics: &str, kind: &str, instance: &str) -> bool {
    sample(
        &parse_metrics(metrics),
        "roster_finding",
        &[("kind", kind), ("instance", instance)],
    )
    .is_some_and(|v| v > 0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_the_simulator_and_health_follows_consul() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let served = Served::start(home.path(), &sources(&demo));

    let (_, health) = served.until("/healthz", "200", |s, _| s == 200);
    assert!(health.starts_with("ok\n"), "{health}");
    for source in ["consul", "targets", "inventory"] {
        assert!(health.contains(&format!("{source}: ok")), "{health}");
    }

    // The check's exposition, and the service's own metrics beside it.
    let (status, text) = served.must_get("/metrics");
    assert_eq!(status, 200);
    let m = parse_metrics(&text);
    assert!(has_finding(&text, "role-mismatch", "pg-test-1"), "{text}");
    assert!(!has_finding(&text, "role-mismatch", "pg-meta-1"), "{text}");
    for source in ["consul", "targets", "inventory"] {
        let s = [("source", source)];
        assert_eq!(sample(&m, "roster_source_up", &s), Some(1.0), "{text}");
        assert_eq!(sample(&m, "roster_source_stale", &s), Some(0.0), "{text}");
        let age = sample(&m, "roster_source_data_age_seconds", &s).expect("age");
        assert!(age >= 0.0, "{text}");
    }
    let changed_at = |m: &[common::serve::Sample]| {
        sample(
            m,
            "roster_cluster_identity_changed_timestamp_seconds",
            &[("cluster", "pg-meta")],
        )
        .expect("pg-meta has a change time")
    };
    let first_change = changed_at(&m);
    for name in [
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_start_time_seconds",
    ] {
        assert!(
            sample(&m, name, &[]).is_some_and(|v| v > 0.0),
            "{name}\n{text}"
        );
    }
    match promtool_check_metrics(&text) {
        Some(result) => result.unwrap_or_else(|e| panic!("promtool rejects /metrics: {e}\n{text}")),
        None => skip_or_panic("promtool not installed: /metrics not linted"),
    }

    // The check's JSON of the same state.
    let (status, body) = served.must_get("/api/v1/fleet");
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert!(common::has(
        &doc,
        "role-mismatch",
        "pg-test",
        Some("pg-test-1")
    ));
    assert_eq!(doc["summary"]["clusters"], 7, "{body}");

    // A re-registration in Consul shows on /metrics, through the watch.
    reregister_node(&demo.server().catalog(), "pg-meta-1", "replica");
    let (_, text) = served.until("/metrics", "pg-meta-1's role-mismatch", |_, t| {
        has_finding(t, "role-mismatch", "pg-meta-1")
    });
    assert!(changed_at(&parse_metrics(&text)) > first_change, "{text}");
    let (_, body) = served.until("/api/v1/fleet", "the JSON follows", |_, b| {
        b.contains("pg-meta-1")
            && serde_json::from_str::<serde_json::Value>(b)
                .is_ok_and(|d| common::has(&d, "role-mismatch", "pg-meta", Some("pg-meta-1")))
    });
    assert!(!body.is_empty());
    // And a target file edit too.
    let file = demo.targets_dir().join("pg-meta.yml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("primary", "replica")).unwrap();
    // Consul and the target file now agree; only the inventory differs: a warning.
    served.until("/metrics", "the target file edit", |_, t| {
        let m = parse_metrics(t);
        let mismatch = |severity| {
            let labels = [
                ("kind", "role-mismatch"),
                ("instance", "pg-meta-1"),
                ("severity", severity),
            ];
            sample(&m, "roster_finding", &labels).is_some()
        };
        mismatch("warning") && !mismatch("error")
    });

    // Consul goes away: not healthy, and the reason names it.
    demo.stop().await;
    let (_, body) = served.until("/healthz", "503", |s, _| s == 503);
    assert!(body.contains("consul: "), "{body}");
    assert!(body.contains("targets: ok"), "{body}");
    let (_, text) = served.must_get("/metrics");
    let m = parse_metrics(&text);
    assert_eq!(
        sample(&m, "roster_source_up", &[("source", "consul")]),
        Some(0.0)
    );
    assert_eq!(
        sample(&m, "roster_source_stale", &[("source", "consul")]),
        Some(1.0)
    );

    let log = served.log();
    let status = served.terminate();
    assert!(status.success(), "exit {status:?}\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_first_read_it_is_not_ready_and_it_never_writes() {
    // A Consul that never answers: the first read takes until the timeout.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let home = tempfile::tempdir().unwrap();
    let consul = format!("http://{}", silent.local_addr().unwrap());
    let served = Served::start(
        home.path(),
        &["--consul".into(), consul, "--timeout".into(), "20s".into()],
    );
    let (status, body) = served.must_get("/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("not ready"), "{body}");
    let (status, _) = served.must_get("/api/v1/fleet");
    assert_eq!(status, 503);
    // The process metrics are there from the start.
    let (status, text) = served.must_get("/metrics");
    assert_eq!(status, 200);
    assert!(text.contains("process_start_time_seconds"), "{text}");
    // Nothing but GET and HEAD.
    let mut stream = std::net::TcpStream::connect(&served.addr).unwrap();
    use std::io::{Read, Write};
    write!(
        stream,
        "PUT /api/v1/fleet HTTP/1.0\r\nContent-Length: 0\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 405") || answer.starts_with("HTTP/1.1 405"),
        "{answer}"
    );
    let status = served.terminate();
    assert!(status.success(), "{status:?}");
    drop(silent);
}
