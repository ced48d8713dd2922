//! Faults that a hostile (or badly broken) Consul causes on purpose, against the real
//! binary: redirects that would carry the token elsewhere, error bodies that echo the
//! token, answers without end, control characters and bidi overrides in the catalog, and
//! blocking queries that never block. A sibling of `faults.rs`, with a scripted server
//! (`hostile/mod.rs`) instead of the simulator.
//!
//! Every wait is bounded; nothing asserts on timings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test reports failure

mod hostile;

use hostile::{Reply, Request, Tiny, args, consul, entry, roster, target_file, texts};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Bounds every run; generous for a debug build on a loaded 2-core machine.
const LIMIT: Duration = Duration::from_secs(120);

const TOKEN: &str = "5a4e7c1b-hostile-echo-token-9d2f";

fn token_file(dir: &std::path::Path) -> String {
    let path = dir.join("token");
    std::fs::write(&path, format!("{TOKEN}\n")).expect("token file");
    path.display().to_string()
}

fn consul_error(doc: &Value) -> String {
    doc["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "consul"))
        .and_then(|s| s["error"].as_str())
        .unwrap_or_else(|| panic!("no Consul error in {doc}"))
        .to_string()
}

fn json_of(out: &std::process::Output) -> Value {
    let (o, e) = texts(out);
    serde_json::from_str(&o).unwrap_or_else(|err| panic!("not JSON ({err}):\n{o}\nstderr:\n{e}"))
}

fn instances(doc: &Value) -> Vec<String> {
    doc["instances"]
        .as_array()
        .expect("instances")
        .iter()
        .filter_map(|i| i["instance"].as_str().map(String::from))
        .collect()
}

// ---------------------------------------------------------------- redirects

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_does_not_follow_a_redirect_and_the_token_stays_home() {
    let elsewhere = Tiny::start(|_| Reply::json(&json!({}))).await;
    let to = elsewhere.addr();
    let hostile =
        Tiny::start(move |r: &Request| Reply::redirect(307, &format!("http://{to}{}", r.target)))
            .await;
    let dir = tempfile::tempdir().expect("tmp");
    let tf = token_file(dir.path());
    let out = roster(
        &args(&[
            "check",
            "--consul",
            &hostile.url(),
            "--token-file",
            &tf,
            "-f",
            "json",
        ]),
        &[],
        LIMIT,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));
    let err = consul_error(&json_of(&out));
    assert!(
        err.contains("307") && err.contains(&format!("redirect to {to}")),
        "{err}"
    );
    assert!(err.contains("does not follow redirects"), "{err}");
    let leaked = elsewhere.requests();
    assert!(
        leaked.is_empty(),
        "the redirect was followed: {:?}",
        leaked.iter().map(Request::text).collect::<Vec<_>>()
    );
}

/// The health answers are streamed (cut into elements as they arrive): that path refuses
/// a redirect the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirected_health_answer_is_refused_and_the_token_stays_home() {
    let elsewhere = Tiny::start(|_| Reply::json(&json!([]))).await;
    let to = elsewhere.addr();
    let hostile = Tiny::start(move |r: &Request| {
        if r.target.starts_with("/v1/catalog/services") {
            Reply::json(&json!({"postgres": ["primary"]}))
        } else {
            Reply::redirect(307, &format!("http://{to}{}", r.target))
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let tf = token_file(dir.path());
    let out = roster(
        &args(&[
            "check",
            "--consul",
            &hostile.url(),
            "--token-file",
            &tf,
            "-f",
            "json",
        ]),
        &[],
        LIMIT,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));
    let err = consul_error(&json_of(&out));
    assert!(err.contains("does not follow redirects"), "{err}");
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere
            .requests()
            .iter()
            .map(Request::text)
            .collect::<Vec<_>>()
    );
}

// ---------------------------------------------------------------- the token echoed

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_echoed_by_consul_reaches_no_output_and_no_log() {
    let entries = vec![
        entry("pg-h-1", "127.0.0.1", "pg-h", 1, "primary"),
        // A server-provided name that holds the token (without a primary, so that the
        // cluster has a finding and its name reaches the metrics too).
        entry("pg-t-1", "127.0.0.2", &format!("pg-{TOKEN}"), 1, "replica"),
    ];
    let hostile = Tiny::start(consul(entries, &["web", "api"], |r: &Request| {
        match r.path() {
            "/v1/health/service/web" => Reply::text(
                500,
                &format!("rpc error making call: ACL not found: token={TOKEN}; {TOKEN}"),
            ),
            "/v1/health/service/api" => Reply::text(
                403,
                &format!(
                    "Permission denied: token with AccessorID '{TOKEN}' lacks permission 'service:read' {TOKEN}"
                ),
            ),
            _ => Reply::text(404, "Invalid URL path"),
        }
    }))
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let tf = token_file(dir.path());
    let log = dir.path().join("roster.log");
    for format in ["table", "json", "prometheus"] {
        let out = roster(
            &args(&[
                "check",
                "--consul",
                &hostile.url(),
                "--token-file",
                &tf,
                "--log-file",
                &log.display().to_string(),
                "-f",
                format,
            ]),
            &[("ROSTER_LOG", "trace")],
            LIMIT,
        )
        .await;
        let (o, e) = texts(&out);
        assert_eq!(out.status.code(), Some(2), "{format}: {o}\n{e}");
        assert!(!o.contains(TOKEN), "{format} stdout:\n{o}");
        assert!(!e.contains(TOKEN), "{format} stderr:\n{e}");
        match format {
            "json" => {
                let err = consul_error(&json_of(&out));
                assert!(err.contains("500") && err.contains("403"), "{err}");
                assert!(err.contains("***"), "{err}");
            }
            "table" => assert!(o.contains("pg-h-1"), "{o}"),
            _ => assert!(o.contains("roster_source_up{source=\"consul\"} 0"), "{o}"),
        }
    }
    let logged = std::fs::read_to_string(&log).expect("the trace log is written");
    assert!(!logged.is_empty());
    assert!(!logged.contains(TOKEN), "the log holds the token");
    // The token did go to Consul, so the test is not vacuous.
    assert!(
        hostile
            .requests()
            .iter()
            .all(|r| r.header("x-consul-token") == Some(TOKEN))
    );
}

// ---------------------------------------------------------------- answers without end

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_stops_at_the_cap_and_the_rest_is_read() {
    let entries = vec![entry("pg-h-1", "127.0.0.1", "pg-h", 1, "primary")];
    let hostile = Tiny::start(consul(entries, &["big"], |r: &Request| {
        if r.path() == "/v1/health/service/big" {
            Reply::endless()
        } else {
            Reply::text(404, "Invalid URL path")
        }
    }))
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[consul]\nmax_response_bytes = 1048576\n").expect("config");
    let out = roster(
        &args(&[
            "check",
            "--config",
            &cfg.display().to_string(),
            "--consul",
            &hostile.url(),
            "--timeout",
            "20s",
            "-f",
            "json",
        ]),
        &[],
        LIMIT,
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{:?}", texts(&out));
    let doc = json_of(&out);
    let err = consul_error(&doc);
    assert!(
        err.contains("/v1/health/service/big") && err.contains("1048576-byte limit"),
        "{err}"
    );
    assert!(instances(&doc).contains(&"pg-h-1".to_string()), "{doc}");
    // roster stopped reading near the cap; socket buffers hold a few MB at most.
    let sent = hostile.bytes_sent();
    assert!(
        sent < 64 * 1024 * 1024,
        "{sent} bytes were sent before roster stopped"
    );
}

// ---------------------------------------------------------------- forged lines

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_characters_and_bidi_overrides_never_reach_the_output_raw() {
    let evil_address = "10.9.9.9\r\nok   file /etc/prometheus/targets/x.yml: written\u{202E}";
    let evil_cluster = "pg-\"q\\\nx\u{202E}";
    let entries = vec![
        entry("pg-h-1\u{202E}", evil_address, "pg-h", 1, "primary"),
        // Without a primary the cluster has a finding, so its name reaches the metrics.
        entry("pg-e-1", "127.0.0.3", evil_cluster, 1, "replica"),
    ];
    let hostile = Tiny::start(consul(entries, &[], |_| {
        Reply::text(404, "Invalid URL path")
    }))
    .await;
    for format in ["table", "prometheus", "json"] {
        let out = roster(
            &args(&["check", "--consul", &hostile.url(), "-f", format]),
            &[],
            LIMIT,
        )
        .await;
        let (o, e) = texts(&out);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{format}: {o}\n{e}"
        );
        assert!(!o.contains('\r'), "{format}: a raw CR:\n{o:?}");
        assert!(
            !o.contains('\u{202E}'),
            "{format}: a raw bidi override:\n{o:?}"
        );
        assert!(
            !o.lines().any(|l| l.trim_start().starts_with("ok ")),
            "{format}: a forged line:\n{o}"
        );
        if format == "prometheus" {
            assert!(
                o.contains(r#"cluster="pg-\"q\\\nx?""#),
                "label values escaped as the exposition format says:\n{o}"
            );
            for line in o.lines() {
                assert!(
                    line.starts_with('#') || line.starts_with("roster_"),
                    "a line that is not a metric: {line:?}"
                );
            }
        }
    }
}

// ---------------------------------------------------------------- blocking queries that never block

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_is_rate_limited_when_blocking_queries_return_at_once() {
    let index = Arc::new(AtomicU64::new(10));
    let entries = vec![entry("pg-h-1", "127.0.0.1", "pg-h", 1, "primary")];
    let serve = consul(entries, &[], |_| Reply::text(404, "Invalid URL path"));
    let hostile = Tiny::start({
        let index = index.clone();
        move |r: &Request| serve(r).index(index.fetch_add(1, Ordering::Relaxed))
    })
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    let targets = dir.path().join("pg-h.yml");
    // The target file says replica: a role mismatch that no re-read resolves.
    std::fs::write(
        &targets,
        target_file("pg-h", &[(1, "replica", "127.0.0.1")]),
    )
    .expect("targets");
    let out = roster(
        &args(&[
            "check",
            "--consul",
            &hostile.url(),
            "--targets",
            &targets.display().to_string(),
            "--wait",
            "3s",
        ]),
        &[],
        LIMIT,
    )
    .await;
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "{o}\n{e}");
    assert!(o.contains("still drifting"), "{o}");
    let blocking = hostile
        .requests()
        .iter()
        .filter(|r| r.is_blocking())
        .count();
    assert!(blocking >= 1, "the wait used blocking queries");
    assert!(
        blocking <= 10,
        "{blocking} blocking queries in a 3 s wait: the loop is not rate-limited"
    );
}
