//! The simulator keeps Consul's indexes per table and per service, and serves the reads
//! that name nodes (`health/state/*`, `health/node/<node>`, `catalog/node-services/<node>`)
//! with Consul's shapes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::sim::{Catalog, CheckStatus, FleetSpec, SimOptions, SimServer};
use serde_json::Value;

async fn start() -> SimServer {
    let catalog = Catalog::from_spec(&FleetSpec::demo());
    SimServer::start(
        "127.0.0.1:0".parse().unwrap(),
        catalog,
        SimOptions::default(),
    )
    .await
    .expect("simulator starts")
}

/// (X-Consul-Index, body as JSON) of a GET.
async fn get(url: &str) -> (u64, Value) {
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .expect(url);
    assert_eq!(r.status().as_u16(), 200, "{url}");
    let index = r.headers()["x-consul-index"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (index, r.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_table_and_service_moves_only_with_its_own_changes() {
    let sim = start().await;
    let u = sim.url();
    let services = format!("{u}/v1/catalog/services");
    let checks = format!("{u}/v1/health/state/any");
    let postgres = format!("{u}/v1/health/service/postgres");
    let pgbouncer = format!("{u}/v1/health/service/pgbouncer");
    let (s0, c0, p0, b0) = (
        get(&services).await.0,
        get(&checks).await.0,
        get(&postgres).await.0,
        get(&pgbouncer).await.0,
    );

    // A check result is no registration: the catalog and other services stay put.
    sim.catalog()
        .set_check_status("pg-test-1", "service:postgres", CheckStatus::Critical)
        .unwrap();
    assert_eq!(get(&services).await.0, s0);
    assert_eq!(get(&pgbouncer).await.0, b0);
    let (c1, _) = get(&checks).await;
    assert!(c1 > c0);
    assert!(get(&postgres).await.0 > p0);
    let (_, critical) = get(&format!("{u}/v1/health/state/critical")).await;
    let found = critical
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["Node"] == "pg-test-1" && c["CheckID"] == "service:postgres")
        .expect("the critical check is listed");
    assert_eq!(found["ServiceName"], "postgres");
    assert_eq!(found["Status"], "critical");
    let keys: Vec<&str> = found
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert!(keys.contains(&"Output") && keys.contains(&"ModifyIndex"));

    // A re-registration moves the services table (and the service, and its checks).
    let cat = sim.catalog();
    let def = cat.service("pg-test-1", "pgbouncer").unwrap();
    cat.register_service("pg-test-1", def).unwrap();
    assert!(get(&services).await.0 > s0);
    assert!(get(&pgbouncer).await.0 > b0);
    assert!(get(&checks).await.0 > c1);

    let bad = reqwest::get(format!("{u}/v1/health/state/sick"))
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_s_services_and_checks_are_read_by_node() {
    let sim = start().await;
    let u = sim.url();
    let (index, v) = get(&format!("{u}/v1/catalog/node-services/pg-test-1")).await;
    assert_eq!(index, get(&format!("{u}/v1/catalog/services")).await.0);
    assert_eq!(v["Node"]["Node"], "pg-test-1");
    assert!(v["Node"]["Address"].is_string());
    let services = v["Services"].as_array().unwrap();
    let postgres = services
        .iter()
        .find(|s| s["Service"] == "postgres")
        .expect("postgres is on the node");
    assert_eq!(postgres["Meta"]["cluster"], "pg-test");
    assert!(postgres["Tags"].is_array() && postgres["ModifyIndex"].is_u64());

    let (_, none) = get(&format!("{u}/v1/catalog/node-services/no-such-node")).await;
    assert_eq!(none["Node"], Value::Null);
    assert_eq!(none["Services"], serde_json::json!([]));

    let (_, checks) = get(&format!("{u}/v1/health/node/pg-test-1")).await;
    let ids: Vec<&str> = checks
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["CheckID"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"serfHealth"), "{ids:?}");
    assert!(ids.contains(&"service:postgres"), "{ids:?}");
    assert!(
        checks
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["Node"] == "pg-test-1")
    );
    sim.shutdown().await;
}
