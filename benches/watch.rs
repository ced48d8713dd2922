//! What one change costs the Consul watch on a large fleet: the requests (and bytes)
//! after one node's re-registration (a failover rewriting its identity services) and
//! after one check turning critical, and how long each took to arrive. Run:
//! `cargo bench --profile profiling --bench watch` (add `-- 10000` for 10,000 clusters;
//! 1,000 by default). The simulator runs in process so that its request log can be read.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::consul::{ConsulClient, ConsulConfig, Endpoint};
use roster::identity::Role;
use roster::observation::{Origin, SourceOutput};
use roster::sim::{Catalog, CheckStatus, FleetSpec, GenerateOptions, SimOptions, SimServer};
use roster::source::consul::read_consul_indexed;
use roster::watch::consul::{WatchOptions, spawn};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn main() {
    let clusters: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(clusters));
}

fn role_of(out: &SourceOutput, node: &str, service: &str) -> Option<Role> {
    out.observations
        .iter()
        .find(|o| matches!(&o.origin, Origin::Consul(c) if c.node == node && c.service_name == service))
        .and_then(|o| o.role.as_ref().map(|c| c.role.clone()))
}

fn critical_on(out: &SourceOutput, node: &str, service: &str) -> bool {
    out.observations.iter().any(|o| {
        matches!(&o.origin, Origin::Consul(c) if c.node == node && c.service_name == service
            && c.checks().any(|ch| !ch.node_check && ch.status == "critical"))
    })
}

async fn until(rx: &mut mpsc::Receiver<SourceOutput>, what: impl Fn(&SourceOutput) -> bool) {
    tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let out = rx.recv().await.expect("the watch runs");
            if what(&out) {
                return;
            }
        }
    })
    .await
    .expect("the change arrives");
}

/// Waits until no request has arrived for a second (every loop blocks).
async fn settle(server: &SimServer) {
    let mut last = server.request_count();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = server.request_count();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Requests since `mark` and the bytes their answers hold now (each read again, without
/// an index).
async fn cost(server: &SimServer, mark: u64) -> (u64, u64) {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let log = server.requests_since(mark);
    let mut paths: std::collections::BTreeMap<String, usize> = Default::default();
    for r in &log {
        let kind = r.path.rsplit_once('/').map_or(r.path.as_str(), |(p, _)| p);
        *paths
            .entry(format!(
                "{kind}/{}",
                if r.has_index() { "(blocking)" } else { "" }
            ))
            .or_default() += 1;
    }
    println!("  requests by endpoint: {paths:?}");
    let mut bytes = 0;
    for r in &log {
        let url = format!("{}{}", server.url(), r.path);
        bytes += http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .len() as u64;
    }
    (log.len() as u64, bytes)
}

async fn run(clusters: usize) {
    let t = Instant::now();
    let spec = FleetSpec::generate(
        clusters,
        &GenerateOptions {
            members: 4,
            drift_every: Some(10),
            seed: 7,
        },
    );
    let catalog = Catalog::from_spec(&spec);
    let server = SimServer::start(
        ([127, 0, 0, 1], 0).into(),
        catalog.clone(),
        SimOptions::default(),
    )
    .await
    .expect("simulator");
    let client = ConsulClient::new(ConsulConfig::new(
        Endpoint::parse(&server.url(), false).unwrap(),
    ))
    .unwrap();
    let (seed, indices) = read_consul_indexed(&client).await;
    println!(
        "{clusters} clusters: {} services, {} observations, read in {:.1} s",
        indices.services.len(),
        seed.observations.len(),
        t.elapsed().as_secs_f64()
    );
    let (tx, mut rx) = mpsc::channel(64);
    let _watch = spawn(client, seed, indices, WatchOptions::default(), tx);
    settle(&server).await;

    // The last member of cluster 3 (no drift planted there) fails over to primary.
    let cls = &spec.clusters[2];
    let node = cls.members[3].node_name(&cls.name);
    let services: Vec<String> = [
        "postgres",
        "pgbouncer",
        "patroni",
        "pg-exporter",
        "pgbouncer-exporter",
        "node-exporter",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([
        format!("{}-primary", cls.name),
        format!("{}-replica", cls.name),
    ])
    .collect();
    let mark = server.request_count();
    let t = Instant::now();
    for s in &services {
        let mut def = catalog.service(&node, s).expect("service");
        def.meta.insert("role".into(), "primary".into());
        for tag in &mut def.tags {
            if tag == "replica" {
                *tag = "primary".into();
            }
        }
        catalog.register_service(&node, def).expect("registered");
    }
    until(&mut rx, |o| {
        services
            .iter()
            .all(|s| role_of(o, &node, s) == Some(Role::Primary))
    })
    .await;
    let arrived = t.elapsed();
    settle(&server).await;
    let (requests, bytes) = cost(&server, mark).await;
    println!(
        "one node's re-registration ({} services): {requests} requests, {:.1} MB, on screen after {:.0} ms",
        services.len(),
        bytes as f64 / 1e6,
        arrived.as_secs_f64() * 1000.0
    );

    let other = cls.members[0].node_name(&cls.name);
    let service = format!("{}-replica", cls.name);
    let mark = server.request_count();
    let t = Instant::now();
    catalog
        .set_check_status(&other, &format!("service:{service}"), CheckStatus::Critical)
        .expect("check");
    until(&mut rx, |o| critical_on(o, &other, &service)).await;
    let arrived = t.elapsed();
    settle(&server).await;
    let (requests, bytes) = cost(&server, mark).await;
    println!(
        "one check turning critical ({service} on {other}): {requests} requests, {:.2} MB, on screen after {:.0} ms",
        bytes as f64 / 1e6,
        arrived.as_secs_f64() * 1000.0
    );
    server.shutdown().await;
}
