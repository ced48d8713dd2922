//! The Consul watch against the simulator: changes arrive through blocking queries,
//! unchanged services are not fetched again, an index that goes backwards is survived,
//! and after a failure, a Consul restart or a refresh (`R`) every loop re-reads without
//! an index before it blocks again.
//!
//! Every wait is bounded (a liveness bound, not a speed requirement); nothing asserts on
//! timings.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::config::{self, Settings};
use roster::consul::{ConsulClient, ConsulConfig, Endpoint};
use roster::demo::Demo;
use roster::gather::gather;
use roster::identity::Role;
use roster::observation::{Origin, SourceKind, SourceOutput};
use roster::sim::{
    Catalog, CheckStatus, FleetSpec, GenerateOptions, LoggedRequest, SimOptions, SimServer,
};
use roster::source::consul::read_consul_indexed;
use roster::tui::feeds::{Live, LiveEvent};
use roster::watch::consul::{WatchOptions, spawn};
use roster::watch::{LIVE, STANDING};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Bounds the waits for recovery: generous for a debug build on a loaded 2-core machine,
/// and still far below the 2-minute blocking wait a stuck loop would sit in.
const RECOVERY: Duration = Duration::from_secs(20);

fn settings(demo: &Demo) -> Settings {
    settings_at(demo, &demo.server().url())
}

/// Consul only, at `url`.
fn settings_at(demo: &Demo, url: &str) -> Settings {
    let mut args = demo.source_args();
    args.consul = Some(url.to_string());
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
    reregister_in(&demo.server().catalog(), node, service, role);
}

fn reregister_in(catalog: &Catalog, node: &str, service: &str, role: &str) {
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
    until_within(Duration::from_secs(10), rx, what).await
}

async fn until_within(
    bound: Duration,
    rx: &mut mpsc::Receiver<SourceOutput>,
    what: impl Fn(&SourceOutput) -> bool,
) -> SourceOutput {
    tokio::time::timeout(bound, async {
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
    let paths = loop_paths(&seed);
    let client = ConsulClient::new(s.consul.unwrap().config).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let _watch = spawn(
        client,
        seed,
        g.consul_indices.unwrap(),
        WatchOptions::default(),
        tx,
    );
    until_blocking(demo.server(), 0, &paths).await;
    let mark = demo.server().request_count();
    demo.server().faults().reset_index();
    // Every loop, the catalog's and each service's, starts over with a plain read.
    eventually("every loop re-reading without an index", || {
        let log = demo.server().requests_since(mark);
        paths.iter().all(|p| reread_then_blocked(&log, p))
    })
    .await;
    for r in demo.server().requests_since(mark) {
        if !r.has_index() {
            assert_eq!(
                r.param("wait"),
                None,
                "a plain read, not a blocking one: {r:?}"
            );
        }
    }
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

/// The request path of every loop of a watch seeded with `seed`: the catalog's and one
/// per identity-bearing service.
fn loop_paths(seed: &SourceOutput) -> BTreeSet<String> {
    let mut paths = BTreeSet::from(["/v1/catalog/services".to_string()]);
    for o in seed.observations.iter() {
        if let Origin::Consul(c) = &o.origin {
            paths.insert(format!("/v1/health/service/{}", c.service_name));
        }
    }
    paths
}

/// True when `path` was read without an index and then blocked on one, in that order:
/// a loop that learned the current index before it waited again.
fn reread_then_blocked(log: &[LoggedRequest], path: &str) -> bool {
    let mut plain = false;
    for r in log.iter().filter(|r| r.path == path) {
        if !r.has_index() {
            plain = true;
        } else if plain {
            return true;
        }
    }
    false
}

/// Polls `cond` until it holds, within [`RECOVERY`].
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + RECOVERY;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "never saw {what} within {RECOVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every loop path has a blocking query among the requests after `after`.
async fn until_blocking(server: &SimServer, after: u64, paths: &BTreeSet<String>) {
    eventually("every loop blocking", || {
        let log = server.requests_since(after);
        paths
            .iter()
            .all(|p| log.iter().any(|r| &r.path == p && r.has_index()))
    })
    .await;
}

/// Binds the same port again (the old listener may take a moment to go).
async fn restart_on(addr: SocketAddr, catalog: Catalog) -> SimServer {
    let deadline = Instant::now() + RECOVERY;
    loop {
        match SimServer::start(addr, catalog.clone(), SimOptions::default()).await {
            Ok(s) => return s,
            Err(e) => {
                assert!(Instant::now() < deadline, "cannot bind {addr} again: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

fn has_service(out: &SourceOutput, service: &str) -> bool {
    out.observations
        .iter()
        .any(|o| matches!(&o.origin, Origin::Consul(c) if c.service_name == service))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consul_restarted_with_a_lower_index_is_read_again_without_one() {
    let demo = Demo::start().await.unwrap();
    let spec = FleetSpec::demo();
    let first = SimServer::start(
        ([127, 0, 0, 1], 0).into(),
        Catalog::from_spec(&spec),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let addr = first.addr();
    let s = settings_at(&demo, &first.url());
    let client = ConsulClient::new(s.consul.unwrap().config).unwrap();
    let (seed, indices) = read_consul_indexed(&client).await;
    assert!(seed.report.is_ok(), "{:?}", seed.report.errors);
    let paths = loop_paths(&seed);
    let count = seed.observations.len();
    let old_index = indices.catalog;
    let (tx, mut rx) = mpsc::channel(64);
    // The UI's options: a blocking query may be held for 2 minutes.
    let _watch = spawn(client, seed, indices, WatchOptions::default(), tx);
    until_blocking(&first, 0, &paths).await;

    first.shutdown().await;
    let down = until_within(RECOVERY, &mut rx, |o| o.report.stale).await;
    assert_eq!(down.observations.len(), count, "the last good data is kept");

    // A new Consul on the same port whose indexes start over, below the ones the loops
    // last blocked on, with a re-registration and a new service.
    let catalog = Catalog::from_spec(&spec);
    catalog.reset_index();
    reregister_in(&catalog, "pg-test-1", "postgres", "primary");
    let mut extra = catalog
        .service("pg-test-2", "postgres")
        .expect("service exists");
    extra.id = "pg-test-extra".into();
    extra.name = "pg-test-extra".into();
    extra.checks.clear();
    catalog.register_service("pg-test-2", extra).unwrap();
    assert!(
        catalog.index() < old_index,
        "{} < {old_index}",
        catalog.index()
    );
    let second = restart_on(addr, catalog).await;
    let started = Instant::now();
    let back = until_within(RECOVERY, &mut rx, |o| {
        o.report.is_ok()
            && !o.report.stale
            && role_of(o, "pg-test-1", "postgres") == Some(Role::Primary)
            && has_service(o, "pg-test-extra")
    })
    .await;
    eprintln!(
        "recovery: the new Consul's data arrived {:?} after it started",
        started.elapsed()
    );
    assert_eq!(back.report.facts[STANDING], LIVE);
    assert_eq!(back.observations.len(), count + 1);

    // The first request of every loop to the new Consul had no index.
    let log = second.requests_since(0);
    for path in &paths {
        let first = log
            .iter()
            .find(|r| &r.path == path)
            .unwrap_or_else(|| panic!("{path} was never asked: {log:?}"));
        assert!(!first.has_index(), "{path}: {first:?}");
    }
    second.shutdown().await;
    demo.stop().await;
}

/// Hands background news to the feeds, as the UI loop does, until `done` holds.
async fn pump_until(
    live: &mut Live,
    events: &mut mpsc::Receiver<LiveEvent>,
    updates: &mut mpsc::Receiver<SourceOutput>,
    what: &str,
    done: impl Fn() -> bool,
) {
    let deadline = Instant::now() + RECOVERY;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "never saw {what} within {RECOVERY:?}"
        );
        tokio::select! {
            Some(event) = events.recv() => {
                live.on_event(event);
            }
            Some(output) = updates.recv() => live.on_update(output),
            () = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_makes_every_loop_read_again_without_an_index() {
    let demo = Demo::start().await.unwrap();
    let s = settings(&demo);
    let g = gather(&s).await;
    let paths = loop_paths(&g.outputs[0]);
    let (events_tx, mut events) = mpsc::channel(16);
    let (updates_tx, mut updates) = mpsc::channel(64);
    let mut live = Live::new(s, events_tx, updates_tx);
    let server = demo.server();

    let start = server.request_count();
    live.read_all();
    pump_until(
        &mut live,
        &mut events,
        &mut updates,
        "every loop blocking",
        || {
            let log = server.requests_since(start);
            paths
                .iter()
                .all(|p| log.iter().any(|r| &r.path == p && r.has_index()))
        },
    )
    .await;

    // `R`: the watch's loops drop the queries they hold and read again without an index
    // before blocking again (the full read's own requests never carry one).
    let mark = server.request_count();
    live.read_all();
    pump_until(
        &mut live,
        &mut events,
        &mut updates,
        "every loop re-reading without an index, then blocking",
        || {
            let log = server.requests_since(mark);
            paths.iter().all(|p| reread_then_blocked(&log, p))
        },
    )
    .await;
    drop(live);
    demo.stop().await;
}

/// The services `pg-register` rewrites on a node of cluster `cls` (all but `haproxy`).
fn identity_services(cls: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "postgres",
        "pgbouncer",
        "patroni",
        "pg-exporter",
        "pgbouncer-exporter",
        "node-exporter",
    ]
    .map(String::from)
    .to_vec();
    v.push(format!("{cls}-primary"));
    v.push(format!("{cls}-replica"));
    v
}

fn critical_on(out: &SourceOutput, node: &str, service: &str) -> bool {
    out.observations.iter().any(|o| {
        matches!(&o.origin, Origin::Consul(c) if c.node == node && c.service_name == service
            && c.checks().any(|ch| !ch.node_check && ch.status == "critical"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn above_the_watch_limit_a_node_s_re_registration_costs_a_few_requests() {
    // 60 clusters of 2: 120 cluster services and the 6 shared identity services, far
    // more than the 16 loops allowed here.
    let spec = FleetSpec::generate(
        60,
        &GenerateOptions {
            members: 2,
            drift_every: None,
            seed: 1,
        },
    );
    let catalog = Catalog::from_spec(&spec);
    let server = SimServer::start(
        ([127, 0, 0, 1], 0).into(),
        catalog.clone(),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let config = ConsulConfig::new(Endpoint::parse(&server.url(), false).unwrap());
    let client = ConsulClient::new(config).unwrap();
    let (seed, indices) = read_consul_indexed(&client).await;
    assert!(seed.report.is_ok(), "{:?}", seed.report.errors);
    let options = WatchOptions {
        wait: Duration::from_secs(30),
        limit: 16,
        ..WatchOptions::default()
    };
    let services = indices.services.len();
    assert!(services > 4 * options.limit, "{services} services");
    let (tx, mut rx) = mpsc::channel(64);
    let _watch = spawn(client, seed, indices, options, tx);

    // Every loop blocks: the catalog, the health states and the 16 services, and the
    // shared services are among the watched.
    let shared = [
        "postgres",
        "pgbouncer",
        "patroni",
        "pg-exporter",
        "pgbouncer-exporter",
        "node-exporter",
    ];
    let mut paths: BTreeSet<String> = shared
        .iter()
        .map(|s| format!("/v1/health/service/{s}"))
        .collect();
    paths.insert("/v1/catalog/services".into());
    paths.insert("/v1/health/state/critical".into());
    until_blocking(&server, 0, &paths).await;
    eventually("16 service loops blocking", || {
        let blocking: BTreeSet<String> = server
            .requests_since(0)
            .into_iter()
            .filter(|r| r.has_index() && r.path.starts_with("/v1/health/service/"))
            .map(|r| r.path)
            .collect();
        blocking.len() == 16
    })
    .await;

    // A failover re-registers every identity service of pg-0042's second member.
    let node = spec.clusters[41].members[1].node_name("pg-0042");
    let before = server.request_count();
    for service in identity_services("pg-0042") {
        reregister_in(&catalog, &node, &service, "primary");
    }
    let out = until(&mut rx, |o| {
        identity_services("pg-0042")
            .iter()
            .all(|s| role_of(o, &node, s) == Some(Role::Primary))
    })
    .await;
    assert!(out.report.is_ok(), "{:?}", out.report.errors);
    // Whatever arrives late is counted too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let spent = server.request_count() - before;
    let log: Vec<String> = server
        .requests_since(before)
        .into_iter()
        .map(|r| r.path)
        .collect();
    eprintln!("one node's re-registration: {spent} requests: {log:?}");
    assert!(
        spent <= 30,
        "one node's re-registration cost {spent} requests ({services} services): {log:?}"
    );

    // A check of a service without a loop of its own turns critical, and arrives.
    let other = spec.clusters[41].members[0].node_name("pg-0042");
    let before = server.request_count();
    catalog
        .set_check_status(&other, "service:pg-0042-replica", CheckStatus::Critical)
        .unwrap();
    until(&mut rx, |o| critical_on(o, &other, "pg-0042-replica")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let spent = server.request_count() - before;
    assert!(spent <= 30, "a check change cost {spent} requests");
    server.shutdown().await;
}
