//! The failover story against real PostgreSQL: a primary and a streaming replica on their
//! own loopback addresses, their Pigsty registrations in the Consul simulator; promote the
//! replica and roster must see that the registrations no longer follow, fix Consul with the
//! live role as authority, and `check --wait` must return once everything follows.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;
mod pg;

use common::{DemoArgs, findings, json, roster, stderr, stdout};
use pg::Cluster;
use roster::demo::Demo;
use roster::sim::FleetSpec;

fn spec(net: &str) -> FleetSpec {
    FleetSpec::from_yaml(&format!(
        "datacenter: dc1\nrelease: \"0.7\"\nclusters:\n  - name: pg-live\n    members:\n      - {{ seq: 1, ip: {net}.11, role: primary }}\n      - {{ seq: 2, ip: {net}.12, role: replica }}\n"
    ))
    .expect("spec")
}

fn args(demo: &Demo, cmd: &str, extra: &[&str]) -> Vec<String> {
    DemoArgs::new(demo, cmd)
        .with(&["--live", "--patroni-port", "0"])
        .with(extra)
        .build()
}

fn kinds(doc: &serde_json::Value, instance: Option<&str>) -> Vec<(String, String)> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["instance"].as_str() == instance)
        .map(|f| {
            let source = f["sources"]
                .as_object()
                .map(|m| {
                    m.keys()
                        .filter(|k| *k != "live")
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            (f["kind"].as_str().unwrap_or_default().to_string(), source)
        })
        .collect()
}

/// pg-register on a node: every tag and meta value ending in the old role gets the new one.
fn pg_register(demo: &Demo, node: &str, from: &str, to: &str) {
    let catalog = demo.server().catalog();
    for (n, mut def) in catalog
        .service_names()
        .iter()
        .flat_map(|s| catalog.service_instances(s))
    {
        if n != node {
            continue;
        }
        let mut changed = false;
        for t in &mut def.tags {
            if t.ends_with(from) {
                *t = format!("{}{to}", &t[..t.len() - from.len()]);
                changed = true;
            }
        }
        for v in def.meta.values_mut() {
            if v.ends_with(from) {
                *v = format!("{}{to}", &v[..v.len() - from.len()]);
                changed = true;
            }
        }
        if changed {
            catalog.register_service(node, def).expect("re-registered");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promotion_is_seen_and_consul_is_fixed_from_the_live_role() {
    let Some(mut primary) = Cluster::primary("127.30.8.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.8.12") else {
        return;
    };
    let demo = Demo::start_with(spec("127.30.8")).await.expect("demo");
    let home = tempfile::tempdir().expect("home");
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap_or("/tmp"))];

    let out = roster(home.path(), &args(&demo, "check", &["-f", "json"]), &env).await;
    let doc = json(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "agreeing fleet: {:#?}",
        findings(&doc)
    );
    let live = doc["instances"][1]["roles"]["live"].clone();
    assert_eq!(live, "replica", "{doc}");

    // Both primary at once: split brain.
    let replica = tokio::task::spawn_blocking(move || {
        replica.promote();
        replica
    })
    .await
    .expect("promote");
    let doc = json(&roster(home.path(), &args(&demo, "check", &["-f", "json"]), &env).await);
    assert!(
        kinds(&doc, None).iter().any(|(k, _)| k == "split-brain"),
        "{:#?}",
        findings(&doc)
    );

    // The old primary goes away, as after a failover.
    let primary = tokio::task::spawn_blocking(move || {
        primary.stop();
        primary
    })
    .await
    .expect("stop");
    let out = roster(home.path(), &args(&demo, "check", &["-f", "json"]), &env).await;
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(1));
    let two = kinds(&doc, Some("pg-live-2"));
    assert!(
        two.contains(&("live-role-mismatch".into(), "consul".into())),
        "{two:?}"
    );
    assert!(
        two.contains(&("live-role-mismatch".into(), "targets".into())),
        "{two:?}"
    );
    let one = kinds(&doc, Some("pg-live-1"));
    assert!(
        one.contains(&("live-unreachable".into(), String::new())),
        "{one:?}"
    );

    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-live-2",
                "--to",
                "consul",
                "--authority",
                "live",
                "--yes",
            ],
        ),
        &env,
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains("make consul agree with live"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(!text.contains("FAIL"), "{text}");
    let doc = json(&roster(home.path(), &args(&demo, "check", &["-f", "json"]), &env).await);
    let two = kinds(&doc, Some("pg-live-2"));
    assert!(
        !two.contains(&("live-role-mismatch".into(), "consul".into())),
        "{two:?}"
    );
    drop((primary, replica));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_wait_returns_once_every_registration_follows() {
    let Some(mut primary) = Cluster::primary("127.30.9.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.9.12") else {
        return;
    };
    let replica = tokio::task::spawn_blocking(move || {
        replica.promote();
        replica
    })
    .await
    .expect("promote");
    let primary_stopped = tokio::task::spawn_blocking(move || {
        primary.stop();
        primary
    })
    .await
    .expect("stop");
    let demo = Demo::start_with(spec("127.30.9")).await.expect("demo");
    let home = tempfile::tempdir().expect("home");
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap_or("/tmp"))];

    let wait_args = args(&demo, "check", &["--cluster", "pg-live", "--wait", "60s"]);
    let waiting = roster(home.path(), &wait_args, &env);
    let fixing = async {
        // What Patroni's callback and a target regeneration do, while the check waits.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        pg_register(&demo, "pg-live-2", "replica", "primary");
        pg_register(&demo, "pg-live-1", "primary", "replica");
        roster(
            home.path(),
            &args(
                &demo,
                "fix",
                &[
                    "--cluster",
                    "pg-live",
                    "--to",
                    "targets",
                    "--authority",
                    "consul",
                    "--yes",
                ],
            ),
            &env,
        )
        .await
    };
    let (out, fixed) = tokio::join!(waiting, fixing);
    assert!(!stdout(&fixed).contains("FAIL"), "{}", stdout(&fixed));
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("every registration follows"), "{text}");
    assert!(
        text.contains("(resolved)"),
        "changes are printed as they happen: {text}"
    );
    drop((replica, primary_stopped));
    demo.stop().await;
}
