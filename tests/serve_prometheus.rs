//! A real Prometheus (Debian's `prometheus`) scrapes `roster serve` with the shipped
//! alert rules loaded (a copy with `for: 1s`): a drift's alert fires, and resolves once
//! the simulator's registration is fixed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::DemoArgs;
use common::serve::{Served, http_get, reregister_node};
use common::tmux::skip_or_panic;
use roster::demo::Demo;
use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// How long Prometheus may take to start, scrape, evaluate and change an alert.
const DEADLINE: Duration = Duration::from_secs(90);

/// Kills Prometheus however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The active alerts named `name` whose labels include `with`: their states.
fn alert_states(port: u16, name: &str, with: &[(&str, &str)]) -> Option<Vec<String>> {
    let (status, body) = http_get(&format!("127.0.0.1:{port}"), "/api/v1/alerts")?;
    if status != 200 {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
    let alerts = doc["data"]["alerts"].as_array()?;
    Some(
        alerts
            .iter()
            .filter(|a| {
                a["labels"]["alertname"] == name && with.iter().all(|(k, v)| a["labels"][*k] == *v)
            })
            .map(|a| a["state"].as_str().unwrap_or_default().to_string())
            .collect(),
    )
}

fn wait_for(what: &str, log: &Path, served: &Served, ok: impl Fn() -> bool) {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "{what} never happened\nprometheus log:\n{}\nroster log:\n{}",
        fs::read_to_string(log).unwrap_or_default(),
        served.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_fires_the_drift_alert_and_resolves_it_after_a_fix() {
    if !Path::new(PROMETHEUS).exists() {
        skip_or_panic("serve_prometheus: prometheus not installed (apt-get install prometheus)");
        return;
    }
    let demo = Demo::start().await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut args = DemoArgs::new(&demo, "serve").build();
    args.remove(0);
    let served = Served::start(tmp.path(), &args);

    // The shipped rules, with every `for:` shortened so the test need not wait minutes.
    let shipped = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/prometheus/roster.rules.yml"),
    )
    .unwrap();
    let rules: String = shipped
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("for: ") {
                let indent = &l[..l.len() - l.trim_start().len()];
                format!("{indent}for: 1s\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(rules, shipped, "the rules have `for:` durations to shorten");
    fs::write(tmp.path().join("roster.rules.yml"), rules).unwrap();
    let config = tmp.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files:\n  - roster.rules.yml\nscrape_configs:\n  - job_name: roster\n    honor_labels: true\n    static_configs:\n      - targets: ['{}']\n",
            served.addr
        ),
    )
    .unwrap();
    let port = free_port();
    let log = tmp.path().join("prometheus.log");
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .expect("prometheus starts");
    let _prometheus = Running(child);

    // pg-src-2's half-rewritten registration: an error-level drift, so RosterDriftError.
    let split = [
        ("kind", "service-role-split"),
        ("cluster", "pg-src"),
        ("instance", "pg-src-2"),
    ];
    wait_for(
        "RosterDriftError firing for pg-src-2",
        &log,
        &served,
        || {
            alert_states(port, "RosterDriftError", &split)
                .is_some_and(|s| s.iter().any(|s| s == "firing"))
        },
    );
    // What is not wrong does not fire: every source is read, and no live check runs.
    for quiet in [
        "RosterSourceDown",
        "RosterNoData",
        "RosterSplitBrain",
        "RosterDown",
    ] {
        let states = alert_states(port, quiet, &[]).expect("alerts answer");
        assert!(states.is_empty(), "{quiet}: {states:?}");
    }

    // The fix: pg-register finishes on pg-src-2, every service says primary.
    reregister_node(&demo.server().catalog(), "pg-src-2", "primary");
    wait_for("the pg-src-2 alert resolved", &log, &served, || {
        alert_states(port, "RosterDriftError", &split).is_some_and(|s| s.is_empty())
    });
    // The other drift of the demo is still there.
    let pg_test = [("kind", "role-mismatch"), ("instance", "pg-test-1")];
    let states = alert_states(port, "RosterDriftError", &pg_test).expect("alerts answer");
    assert_eq!(states, ["firing"]);

    // Consul goes away: the source-down alert fires.
    demo.stop().await;
    wait_for("RosterSourceDown for consul", &log, &served, || {
        alert_states(port, "RosterSourceDown", &[("source", "consul")])
            .is_some_and(|s| s.iter().any(|s| s == "firing"))
    });
    let status = served.terminate();
    assert!(status.success(), "{status:?}");
}
