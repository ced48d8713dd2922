//! The live source against a real Patroni cluster: Patroni as the witness when roster has
//! no database password, a manual switchover that leaves every registration stale, and
//! Pigsty's `on_role_change` re-registration that moves Consul but not the target files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;
mod patroni;

use common::{DemoArgs, findings, json, roster, stderr};
use patroni::{ClusterOptions, PatroniCluster};
use roster::demo::Demo;
use roster::identity::Role;
use roster::sim::{FleetSpec, TargetLayout};
use roster::source::patroni::{cluster, probe_patroni};
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(3);

/// The Pigsty fleet of the Patroni cluster, with `primary` at seq 1 or 2.
fn spec(block: u8, primary_seq: u32) -> FleetSpec {
    let role = |seq: u32| {
        if seq == primary_seq {
            "primary"
        } else {
            "replica"
        }
    };
    let yaml = format!(
        "clusters:\n  - name: pg-pat\n    members:\n      - {{ seq: 1, ip: 127.31.{block}.11, role: {} }}\n      - {{ seq: 2, ip: 127.31.{block}.12, role: {} }}\n",
        role(1),
        role(2)
    );
    FleetSpec::from_yaml(&yaml).unwrap_or_else(|e| panic!("bad spec {e}:\n{yaml}"))
}

fn options(block: u8, callback_agents: Option<Vec<String>>) -> ClusterOptions {
    ClusterOptions {
        scope: "pg-pat".into(),
        members: vec![
            ("pg-pat-1".into(), format!("127.31.{block}.11")),
            ("pg-pat-2".into(), format!("127.31.{block}.12")),
        ],
        callback_agents,
    }
}

/// `roster check --live` with Patroni as the only witness that can answer.
fn check_args(demo: &Demo, extra: &[&str]) -> Vec<String> {
    DemoArgs::new(demo, "check")
        .with(&["--live", "--patroni-port", "8008"])
        .with(&["--pg-user", "nobody-without-password"])
        .with(extra)
        .build()
}

/// Runs `roster check --live -f json` and returns the report.
async fn live_check(demo: &Demo, home: &Path) -> serde_json::Value {
    let out = roster(home, &check_args(demo, &["-f", "json"]), &[]).await;
    let doc = json(&out);
    let live = doc["sources"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == "live"));
    assert!(
        live.is_some(),
        "no live source in the report: {}\nstderr: {}",
        doc["sources"],
        stderr(&out)
    );
    doc
}

/// The `live-role-mismatch` findings of `instance` whose sources name `source`.
fn mismatches(doc: &serde_json::Value, instance: &str, source: &str) -> usize {
    doc["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|f| {
                    f["kind"] == "live-role-mismatch"
                        && f["cluster"] == "pg-pat"
                        && f["instance"] == instance
                        && f["sources"]
                            .as_object()
                            .is_some_and(|s| s.keys().any(|k| k.starts_with(source)))
                })
                .count()
        })
        .unwrap_or(0)
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_else(|e| panic!("http client: {e}"))
}

fn agent(demo: &Demo, ip: &str) -> String {
    let ip: IpAddr = ip
        .parse()
        .unwrap_or_else(|e| panic!("bad address {ip}: {e}"));
    demo.server().url_at(ip)
}

async fn start(block: u8, demo: &Demo, callback: bool) -> PatroniCluster {
    let agents = callback.then(|| {
        vec![
            agent(demo, &format!("127.31.{block}.11")),
            agent(demo, &format!("127.31.{block}.12")),
        ]
    });
    PatroniCluster::start(options(block, agents))
        .await
        .unwrap_or_else(|e| panic!("Patroni cluster did not start: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patroni_witness_sees_a_manual_switchover_that_registrations_missed() {
    if !patroni::require("patroni_witness_sees_a_manual_switchover_that_registrations_missed") {
        return;
    }
    let t0 = Instant::now();
    let block = 0;
    let demo = Demo::start_with(spec(block, 1))
        .await
        .unwrap_or_else(|e| panic!("demo: {e:#}"));
    let pat = start(block, &demo, false).await;
    eprintln!("bootstrap: {:?}", t0.elapsed());
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("home: {e}"));
    let http = http();
    let (ip1, ip2) = (
        pat.member("pg-pat-1").ip.clone(),
        pat.member("pg-pat-2").ip.clone(),
    );

    // (a) the probe: the leader is primary, the replica replica, both with a timeline.
    let p1 = probe_patroni(&http, &ip1, 8008, TIMEOUT).await;
    let p2 = probe_patroni(&http, &ip2, 8008, TIMEOUT).await;
    let (p1, p2) = match (p1, p2) {
        (Ok(a), Ok(b)) => (a, b),
        other => panic!("probe failed: {other:?}\n{}", pat.logs()),
    };
    assert_eq!(p1.role, Role::Primary, "{p1:?}");
    assert_eq!(p2.role, Role::Replica, "{p2:?}");
    assert_eq!(p1.origin.via, "patroni");
    assert!(p1.origin.reachable && p2.origin.reachable);
    assert_eq!(p1.origin.address, format!("http://{ip1}:8008/patroni"));
    let tl = p1
        .origin
        .timeline
        .unwrap_or_else(|| panic!("no timeline: {p1:?}"));
    assert_eq!(p2.origin.timeline, Some(tl), "{p2:?}");
    assert!(p1.origin.lsn.is_some(), "{p1:?}");
    assert!(
        p2.origin.received_lsn.is_some() || p2.origin.replayed_lsn.is_some(),
        "{p2:?}"
    );
    assert_eq!(p1.origin.state.as_deref(), Some("running"));
    assert!(
        p1.origin
            .server_version
            .as_deref()
            .is_some_and(|v| v.starts_with("15.")),
        "{p1:?}"
    );
    let members = cluster(&http, &ip2, 8008, TIMEOUT)
        .await
        .unwrap_or_else(|e| panic!("/cluster: {e}"));
    let roles: Vec<(String, Role)> = members
        .iter()
        .map(|m| (m.name.clone(), m.live_role()))
        .collect();
    assert_eq!(
        roles,
        vec![
            ("pg-pat-1".to_string(), Role::Primary),
            ("pg-pat-2".to_string(), Role::Replica)
        ],
        "{members:?}"
    );

    // Before any switchover every registration agrees with the live roles.
    let doc = live_check(&demo, home.path()).await;
    for ins in ["pg-pat-1", "pg-pat-2"] {
        assert_eq!(mismatches(&doc, ins, ""), 0, "{:#?}", findings(&doc));
    }

    // (b) a manual switchover: nobody re-registers, so Consul and the targets are stale.
    let t1 = Instant::now();
    let after = pat
        .switchover("pg-pat-1", "pg-pat-2")
        .await
        .unwrap_or_else(|e| panic!("switchover: {e}"));
    eprintln!("switchover: {:?}", t1.elapsed());
    let q1 = probe_patroni(&http, &ip1, 8008, TIMEOUT).await;
    let q2 = probe_patroni(&http, &ip2, 8008, TIMEOUT).await;
    assert!(matches!(&q1, Ok(p) if p.role == Role::Replica), "{q1:?}");
    assert!(
        matches!(&q2, Ok(p) if p.role == Role::Primary && p.origin.timeline == Some(after.timeline)),
        "{q2:?}"
    );
    assert!(after.timeline > tl);

    let doc = live_check(&demo, home.path()).await;
    for ins in ["pg-pat-1", "pg-pat-2"] {
        for source in ["consul", "targets"] {
            assert!(
                mismatches(&doc, ins, source) > 0,
                "no live-role-mismatch for {ins} in {source}: {:#?}\n{}",
                findings(&doc),
                doc["findings"]
            );
        }
    }
    let severities: Vec<&str> = doc["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            f["kind"] == "live-role-mismatch"
                && f["sources"]
                    .as_object()
                    .is_some_and(|s| s.contains_key("consul"))
        })
        .filter_map(|f| f["severity"].as_str())
        .collect();
    assert!(severities.iter().all(|s| *s == "error"), "{severities:?}");

    // The fix: regenerate the files from the live roles, then re-register Consul while
    // `--wait` watches; it must notice and exit 0.
    // The inventory too: while it declares the old roles, the registrations disagree with
    // it (`role-mismatch`, a warning) and `--wait` rightly keeps waiting.
    let fixed = spec(block, 2);
    fixed
        .write_targets(demo.targets_dir(), TargetLayout::PerCluster)
        .unwrap_or_else(|e| panic!("rewriting targets: {e}"));
    fixed
        .write_inventory(demo.inventory_path())
        .unwrap_or_else(|e| panic!("rewriting the inventory: {e}"));
    let wait_args = check_args(&demo, &["--cluster", "pg-pat", "--wait", "60s"]);
    let wait_home = home.path().to_path_buf();
    let waiter = tokio::spawn(async move { roster(&wait_home, &wait_args, &[]).await });
    // Give the waiter a moment to see the stale state, so the fix arrives while it waits.
    tokio::time::sleep(Duration::from_secs(2)).await;
    for (ip, role) in [(&ip1, "replica"), (&ip2, "primary")] {
        pat.register(&agent(&demo, ip), role)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let t2 = Instant::now();
    let out = tokio::time::timeout(Duration::from_secs(90), waiter)
        .await
        .unwrap_or_else(|_| panic!("roster check --wait did not return"))
        .unwrap_or_else(|e| panic!("waiter: {e}"));
    eprintln!("check --wait after the fix: {:?}", t2.elapsed());
    assert_eq!(
        out.status.code(),
        Some(0),
        "check --wait: {}\n{}",
        common::stdout(&out),
        stderr(&out)
    );
    eprintln!("total: {:?}", t0.elapsed());
    drop(pat);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patroni_callback_moves_consul_but_not_the_target_files() {
    if !patroni::require("patroni_callback_moves_consul_but_not_the_target_files") {
        return;
    }
    let t0 = Instant::now();
    // Its own addresses, so that it can run beside the other cluster.
    let block = 1;
    let demo = Demo::start_with(spec(block, 1))
        .await
        .unwrap_or_else(|e| panic!("demo: {e:#}"));
    let pat = start(block, &demo, true).await;
    eprintln!("bootstrap (with callback): {:?}", t0.elapsed());
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("home: {e}"));

    let t1 = Instant::now();
    pat.switchover("pg-pat-1", "pg-pat-2")
        .await
        .unwrap_or_else(|e| panic!("switchover: {e}"));
    eprintln!("switchover: {:?}", t1.elapsed());

    // The callbacks run after the role change, in the background: poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(60);
    let doc = loop {
        let doc = live_check(&demo, home.path()).await;
        let consul_stale =
            mismatches(&doc, "pg-pat-1", "consul") + mismatches(&doc, "pg-pat-2", "consul");
        if consul_stale == 0 {
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "Consul did not follow the switchover: {:#?}\ncallback log:\n{}\n{}",
            findings(&doc),
            pat.callback_log(),
            pat.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    eprintln!("Consul followed after: {:?}", t1.elapsed());
    let log = pat.callback_log();
    assert!(log.contains("registered"), "callback never ran:\n{log}");
    for ins in ["pg-pat-1", "pg-pat-2"] {
        assert!(
            mismatches(&doc, ins, "targets") > 0,
            "the target files cannot follow a callback, yet no live-role-mismatch for {ins}: {:#?}",
            findings(&doc)
        );
    }
    eprintln!("total: {:?}", t0.elapsed());
    drop(pat);
    demo.stop().await;
}
