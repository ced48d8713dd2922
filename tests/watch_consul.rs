//! The Consul watch against the simulator: changes arrive through blocking queries,
//! unchanged services are not fetched again, and an index that goes backwards is survived.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::config::{self, Settings};
use roster::consul::ConsulClient;
use roster::demo::Demo;
use roster::gather::gather;
use roster::identity::Role;
use roster::observation::{Origin, SourceKind, SourceOutput};
use roster::watch::consul::{WatchOptions, spawn};
use std::time::Duration;
use tokio::sync::mpsc;

fn settings(demo: &Demo) -> Settings {
    let mut args = demo.source_args();
    args.targets.clear();
    args.inventory = None;
    config::resolve(&args, &|_| None).expect("settings")
}

fn role_of(out: &SourceOutput, node: &str, service: &str) -> Option<Role> {
    out.observations
        .iter()
        .find(|o| {
            matches!(&o.origin, Origin::Consul(c) if c.node == node && c.service_name == service)
        })
        .and_then(|o| o.role.as_ref().map(|c| c.role.clone()))
}

/// Rewrites one service's role the way pg-register does (meta and tags).
fn reregister(demo: &Demo, node: &str, service: &str, role: &str) {
    let catalog = demo.server().catalog();
    let mut def = catalog.service(node, service).expect("service exists");
    def.meta.insert("role".into(), role.into());
    for t in &mut def.tags {
        if t == "primary" || t == "replica" {
            *t = role.to_string();
        }
    }
    catalog.register_service(node, def).expect("registered");
}

async fn until(
    rx: &mut mpsc::Receiver<SourceOutput>,
    what: impl Fn(&SourceOutput) -> bool,
) -> SourceOutput {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let out = rx.recv().await.expect("the watch keeps running");
            if what(&out) {
                return out;
            }
        }
    })
    .await
    .expect("the change arrives")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_registration_arrives_and_nothing_unchanged_is_fetched_again() {
    let demo = Demo::start().await.unwrap();
    let s = settings(&demo);
    let g = gather(&s).await;
    let seed = g.outputs.into_iter().next().expect("consul read");
    assert_eq!(seed.report.kind, SourceKind::Consul);
    assert_eq!(role_of(&seed, "pg-test-1", "postgres"), Some(Role::Replica));
    let services: usize = seed.report.facts["services"].parse().unwrap();
    let client = ConsulClient::new(s.consul.unwrap().config).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let options = WatchOptions {
        wait: Duration::from_secs(30),
        ..WatchOptions::default()
    };
    let _watch = spawn(client, seed, g.consul_indices.unwrap(), options, tx);

    // Let every loop open its blocking query, then count what a change costs.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = demo.server().request_count();
    reregister(&demo, "pg-test-1", "postgres", "primary");
    let out = until(&mut rx, |o| {
        role_of(o, "pg-test-1", "postgres") == Some(Role::Primary)
    })
    .await;
    assert!(out.report.is_ok());
    assert_eq!(role_of(&out, "pg-test-1", "pgbouncer"), Some(Role::Replica));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spent = demo.server().request_count() - before;
    assert!(
        spent < 6,
        "a change to one service cost {spent} requests ({services} services in Consul)"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_that_goes_backwards_is_survived() {
    let demo = Demo::start().await.unwrap();
    let s = settings(&demo);
    let g = gather(&s).await;
    let seed = g.outputs.into_iter().next().expect("consul read");
    let client = ConsulClient::new(s.consul.unwrap().config).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let _watch = spawn(
        client,
        seed,
        g.consul_indices.unwrap(),
        WatchOptions::default(),
        tx,
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    demo.server().faults().reset_index();
    tokio::time::sleep(Duration::from_millis(500)).await;
    reregister(&demo, "pg-web-1", "patroni", "replica");
    let out = until(&mut rx, |o| {
        role_of(o, "pg-web-1", "patroni") == Some(Role::Replica)
    })
    .await;
    assert_eq!(role_of(&out, "pg-web-1", "postgres"), Some(Role::Primary));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_consul_keeps_the_data_marked_stale_and_recovers() {
    let demo = Demo::start().await.unwrap();
    let s = settings(&demo);
    let g = gather(&s).await;
    let seed = g.outputs.into_iter().next().expect("consul read");
    let count = seed.observations.len();
    let client = ConsulClient::new(s.consul.unwrap().config).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let options = WatchOptions {
        wait: Duration::from_secs(1),
        ..WatchOptions::default()
    };
    let _watch = spawn(client, seed, g.consul_indices.unwrap(), options, tx);
    demo.server()
        .faults()
        .fail_next(1000, 500, "rpc error: No cluster leader");
    let out = until(&mut rx, |o| o.report.stale).await;
    assert_eq!(out.observations.len(), count, "the last good data is kept");
    assert!(
        out.report.errors[0].contains("No cluster leader"),
        "{:?}",
        out.report.errors
    );
    demo.server().faults().clear();
    reregister(&demo, "pg-meta-1", "pgbouncer", "replica");
    let out = until(&mut rx, |o| {
        !o.report.stale && role_of(o, "pg-meta-1", "pgbouncer") == Some(Role::Replica)
    })
    .await;
    assert!(out.report.is_ok());
    demo.stop().await;
}
