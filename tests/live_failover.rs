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
    spec_with(net, "")
}

/// The two-member fleet, with `second` added to the second member's spec (overrides).
fn spec_with(net: &str, second: &str) -> FleetSpec {
    FleetSpec::from_yaml(&format!(
        "datacenter: dc1\nrelease: \"0.7\"\nclusters:\n  - name: pg-live\n    members:\n      - {{ seq: 1, ip: {net}.11, role: primary }}\n      - {{ seq: 2, ip: {net}.12, role: replica{second} }}\n"
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

    // The old primary stays down (live-unreachable, a warning) and the inventory keeps
    // declaring the old roles (a warning): the on-call question is about errors.
    let wait_args = args(
        &demo,
        "check",
        &[
            "--cluster",
            "pg-live",
            "--fail-on",
            "error",
            "--wait",
            "60s",
        ],
    );
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

/// A failover Consul and the target files followed only half way: the new primary is
/// registered primary, and so is the dead old one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dead_old_primary_still_registered_primary_does_not_follow() {
    let Some(mut primary) = Cluster::primary("127.30.10.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.10.12") else {
        return;
    };
    let (primary, replica) = tokio::task::spawn_blocking(move || {
        replica.promote();
        primary.stop();
        (primary, replica)
    })
    .await
    .expect("failover");
    let half = ", consul: { role: primary }, targets: { role: primary }";
    let demo = Demo::start_with(spec_with("127.30.10", half))
        .await
        .expect("demo");
    let home = tempfile::tempdir().expect("home");
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap_or("/tmp"))];

    let cluster = ["--cluster", "pg-live"];
    let out = roster(
        home.path(),
        &args(&demo, "check", &[&cluster[..], &["-f", "json"]].concat()),
        &env,
    )
    .await;
    let doc = json(&out);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{:#?}", findings(&doc));
    assert!(
        kinds(&doc, None).contains(&("multiple-primaries".into(), "consul".into()))
            && kinds(&doc, None).contains(&("multiple-primaries".into(), "targets".into())),
        "{:#?}",
        findings(&doc)
    );
    assert!(
        text.contains(
            "pg-live: not following: consul also names pg-live-1 primary (live: pg-live-2 only); \
             targets also names pg-live-1 primary (live: pg-live-2 only)"
        ),
        "{text}"
    );
    let c = &doc["clusters"][0];
    assert_eq!(c["cluster"], "pg-live", "{c}");
    assert_eq!(c["follows"]["verdict"], "no", "{c}");
    assert_eq!(c["disputed"], true, "{c}");
    assert_eq!(c["primary"], serde_json::Value::Null, "{c}");
    assert_eq!(c["live_primary"], "pg-live-2", "{c}");
    assert_eq!(
        c["primaries"]["consul"],
        serde_json::json!(["pg-live-1", "pg-live-2"]),
        "{c}"
    );
    assert_eq!(
        c["primaries"]["live"],
        serde_json::json!(["pg-live-2"]),
        "{c}"
    );
    assert_eq!(
        c["primaries"]["inventory"],
        serde_json::json!(["pg-live-1"]),
        "{c}"
    );

    // Even when only errors count, the two primaries are errors.
    let out = roster(
        home.path(),
        &args(
            &demo,
            "check",
            &[&cluster[..], &["--fail-on", "error"]].concat(),
        ),
        &env,
    )
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("pg-live: not following:"), "{text}");
    // Without --cluster, the same fleet.
    let out = roster(home.path(), &args(&demo, "check", &[]), &env).await;
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    drop((primary, replica));
    demo.stop().await;
}

/// No database password: every probe is refused. Nothing is known, so nothing follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_password_the_live_source_fails_and_the_verdict_is_unknown() {
    let Some(primary) = Cluster::primary("127.30.11.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.11.12") else {
        return;
    };
    let demo = Demo::start_with(spec("127.30.11")).await.expect("demo");
    let home = tempfile::tempdir().expect("home");
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap_or("/tmp"))];
    // The user needs a password (scram) and none is given: no PGPASSWORD, no ~/.pgpass.
    let user = ["--pg-user", pg::PW_USER];

    let out = roster(
        home.path(),
        &args(&demo, "check", &[&user[..], &["-f", "json"]].concat()),
        &env,
    )
    .await;
    let doc = json(&out);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let live = doc["sources"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["name"] == "live"))
        .cloned()
        .expect("a live source");
    assert_eq!(live["status"], "error", "{live}");
    let error = live["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("no instance answered: 2 of 2 probes failed (first: authentication failed: 127.30.11.11:5432: "),
        "{error}"
    );

    let cluster = ["--cluster", "pg-live"];
    let out = roster(
        home.path(),
        &args(
            &demo,
            "check",
            &[
                &user[..],
                &cluster[..],
                &["--fail-on", "error", "-f", "json"],
            ]
            .concat(),
        ),
        &env,
    )
    .await;
    let doc = json(&out);
    let text = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(doc["clusters"][0]["follows"]["verdict"], "unknown", "{doc}");
    assert!(
        text.contains("pg-live: cannot tell whether every registration follows: no live answer from pg-live-1, pg-live-2 (no instance answered"),
        "{text}"
    );

    // --wait keeps asking until its time is up, and never says the registrations follow.
    let out = roster(
        home.path(),
        &args(
            &demo,
            "check",
            &[&user[..], &cluster[..], &["--wait", "3s"]].concat(),
        ),
        &env,
    )
    .await;
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    assert!(!text.contains("every registration follows\n"), "{text}");
    assert!(
        text.contains("still not known to follow after 3s"),
        "{text}"
    );
    assert!(
        text.contains("pg-live: cannot tell whether every registration follows"),
        "{text}"
    );
    drop((primary, replica));
    demo.stop().await;
}
