//! The Consul simulator over real HTTP: shapes, field order, error texts, blocking
//! queries, ACLs, agent-per-address and fault injection.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::sim::{Catalog, CheckDef, CheckStatus, FleetSpec, ServiceDef, SimOptions, SimServer};
use std::net::IpAddr;
use std::time::{Duration, Instant};

async fn start_with(opts: SimOptions) -> SimServer {
    let catalog = Catalog::from_spec(&FleetSpec::demo());
    SimServer::start("127.0.0.1:0".parse().unwrap(), catalog, opts)
        .await
        .expect("simulator starts")
}

async fn start() -> SimServer {
    start_with(SimOptions::default()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

fn index_of(r: &reqwest::Response) -> u64 {
    header(r, "x-consul-index").parse().expect("X-Consul-Index")
}

async fn get_text(url: &str) -> (u16, String) {
    let r = client().get(url).send().await.expect(url);
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

async fn put(url: &str, body: &str) -> (u16, String) {
    let r = client()
        .put(url)
        .body(body.to_string())
        .send()
        .await
        .expect(url);
    let s = r.status().as_u16();
    (s, r.text().await.unwrap())
}

/// Asserts the keys appear in this order (first occurrence) in the text.
fn assert_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    for k in keys {
        let pat = format!("\"{k}\":");
        let pos = text
            .find(&pat)
            .unwrap_or_else(|| panic!("key {k} missing in {}", &text[..text.len().min(600)]));
        assert!(
            pos >= last,
            "key {k} out of order in {}",
            &text[..text.len().min(900)]
        );
        last = pos;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_services_shape_and_headers() {
    let sim = start().await;
    let r = client()
        .get(format!("{}/v1/catalog/services", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/json");
    assert!(index_of(&r) > 1);
    assert_eq!(header(&r, "x-consul-knownleader"), "true");
    assert_eq!(header(&r, "x-consul-lastcontact"), "0");
    assert_eq!(header(&r, "x-consul-default-acl-policy"), "allow");
    let v: serde_json::Value = r.json().await.unwrap();
    let pg: Vec<&str> = v["postgres"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for t in ["primary", "replica", "offline", "pg-test", "pg-stats"] {
        assert!(pg.contains(&t), "{t} in {pg:?}");
    }
    assert_eq!(v["consul"], serde_json::json!([]));
    assert!(v.get("pg-test-primary").is_some());
    assert!(
        v.get("pg-new-primary").is_none(),
        "pg-new is inventory-only"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_service_field_order_and_empty_cases() {
    let sim = start().await;
    let (s, text) = get_text(&format!("{}/v1/catalog/service/postgres", sim.url())).await;
    assert_eq!(s, 200);
    assert_order(
        &text,
        &[
            "ID",
            "Node",
            "Address",
            "Datacenter",
            "TaggedAddresses",
            "NodeMeta",
            "ServiceKind",
            "ServiceID",
            "ServiceName",
            "ServiceTags",
            "ServiceAddress",
            "ServiceWeights",
            "ServiceMeta",
            "ServicePort",
            "ServiceSocketPath",
            "ServiceEnableTagOverride",
            "ServiceProxy",
            "ServiceConnect",
            "ServiceLocality",
            "CreateIndex",
            "ModifyIndex",
        ],
    );
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let t1 = v.iter().find(|e| e["Node"] == "pg-test-1").unwrap();
    assert_eq!(t1["ServiceMeta"]["role"], "replica");
    assert_eq!(t1["ServiceMeta"]["seq"], "1");
    assert_eq!(t1["ServicePort"], 5432);
    assert_eq!(t1["Address"], "127.10.10.11");
    assert_eq!(t1["ServiceLocality"], serde_json::Value::Null);
    let stats7 = v.iter().find(|e| e["Node"] == "pg-stats-7").unwrap();
    assert_eq!(stats7["Address"], "127.10.10.57", "Consul keeps the old ip");
    let nodes: Vec<&str> = v.iter().map(|e| e["Node"].as_str().unwrap()).collect();
    let mut sorted = nodes.clone();
    sorted.sort();
    assert_eq!(nodes, sorted);

    assert_eq!(
        get_text(&format!("{}/v1/catalog/service/nope", sim.url())).await,
        (200, "[]".to_string())
    );
    assert_eq!(
        get_text(&format!("{}/v1/catalog/service/", sim.url())).await,
        (400, "Missing service name".to_string())
    );
    let (s, text) = get_text(&format!("{}/v1/catalog/nodes", sim.url())).await;
    assert_eq!(s, 200);
    assert_order(
        &text,
        &[
            "ID",
            "Node",
            "Address",
            "Datacenter",
            "TaggedAddresses",
            "Meta",
            "CreateIndex",
            "ModifyIndex",
        ],
    );
    let nodes: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(nodes.iter().any(|n| n["Node"] == "consul-server"));
    assert!(nodes.iter().any(|n| n["Node"] == "meta"));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_service_shape_checks_and_omitted_port() {
    let sim = start().await;
    let (s, text) = get_text(&format!("{}/v1/health/service/pgbouncer", sim.url())).await;
    assert_eq!(s, 200);
    assert_order(&text, &["Node", "Service", "Checks"]);
    let first_service = &text[text.find("\"Service\":{").unwrap() + 10..];
    assert_order(
        first_service,
        &[
            "ID",
            "Service",
            "Tags",
            "Address",
            "Meta",
            "Port",
            "Weights",
            "EnableTagOverride",
            "Proxy",
            "Connect",
            "CreateIndex",
            "ModifyIndex",
        ],
    );
    let checks = &text[text.find("\"Checks\":[").unwrap()..];
    assert_order(
        checks,
        &[
            "Node",
            "CheckID",
            "Name",
            "Status",
            "Notes",
            "Output",
            "ServiceID",
            "ServiceName",
            "ServiceTags",
            "Type",
            "Interval",
            "Timeout",
            "ExposedPort",
            "Definition",
            "CreateIndex",
            "ModifyIndex",
        ],
    );
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let src2 = v.iter().find(|e| e["Node"]["Node"] == "pg-src-2").unwrap();
    assert_eq!(src2["Service"]["Meta"]["role"], "replica", "half-rewritten");
    let checks = src2["Checks"].as_array().unwrap();
    assert_eq!(checks[0]["CheckID"], "serfHealth");
    assert_eq!(checks[0]["ServiceID"], "");
    assert_eq!(checks[1]["CheckID"], "service:pgbouncer");
    assert_eq!(checks[1]["Type"], "tcp");
    assert_eq!(checks[1]["Interval"], "15s");
    assert_eq!(checks[1]["Timeout"], "1s");
    assert_eq!(checks[1]["Definition"]["TCP"], "127.10.10.22:6432");

    // Port 0 is omitted from the health Service object.
    let cat = sim.catalog();
    cat.register_service(
        "pg-meta-1",
        ServiceDef {
            name: "portless".into(),
            ..ServiceDef::default()
        },
    )
    .unwrap();
    let (_, text) = get_text(&format!("{}/v1/health/service/portless", sim.url())).await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(v[0]["Service"].get("Port").is_none(), "{text}");
    assert!(v[0]["Service"].get("Weights").is_some());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passing_filter_and_tag_filter() {
    let sim = start().await;
    let base = format!("{}/v1/health/service/postgres", sim.url());
    let nodes = |text: &str| -> Vec<String> {
        let v: Vec<serde_json::Value> = serde_json::from_str(text).unwrap();
        v.iter()
            .map(|e| e["Node"]["Node"].as_str().unwrap().to_string())
            .collect()
    };
    let all = nodes(&get_text(&base).await.1);
    assert!(all.contains(&"pg-orders-5".to_string()));
    for q in ["?passing", "?passing=1", "?passing=true"] {
        let some = nodes(&get_text(&format!("{base}{q}")).await.1);
        assert!(!some.contains(&"pg-orders-5".to_string()), "{q}");
        assert_eq!(some.len(), all.len() - 1, "{q}");
    }
    assert_eq!(
        nodes(&get_text(&format!("{base}?passing=false")).await.1).len(),
        all.len()
    );
    sim.catalog()
        .set_check_status("pg-meta-1", "service:postgres", CheckStatus::Warning)
        .unwrap();
    let some = nodes(&get_text(&format!("{base}?passing")).await.1);
    assert!(!some.contains(&"pg-meta-1".to_string()));
    assert_eq!(
        get_text(&format!("{base}?passing=maybe")).await,
        (400, "Invalid value for ?passing".to_string())
    );
    let (_, text) = get_text(&format!("{base}?tag=primary")).await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    assert!(!v.is_empty());
    for e in &v {
        assert!(
            e["Service"]["Tags"]
                .as_array()
                .unwrap()
                .contains(&"primary".into())
        );
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_codes_and_texts() {
    let sim = start().await;
    let u = sim.url();
    assert_eq!(
        get_text(&format!("{u}/v1/kv/x")).await,
        (
            404,
            "Invalid URL path: not a recognized HTTP API endpoint".into()
        )
    );
    let r = client()
        .put(format!("{u}/v1/catalog/services"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow"), "OPTIONS,GET");
    assert_eq!(header(&r, "x-consul-default-acl-policy"), "allow");
    assert_eq!(r.text().await.unwrap(), "method PUT not allowed");
    let r = client()
        .get(format!("{u}/v1/agent/service/register"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow"), "OPTIONS,PUT");
    assert_eq!(
        get_text(&format!("{u}/v1/catalog/services?dc=dc9")).await,
        (500, "No path to datacenter".into())
    );
    assert_eq!(
        get_text(&format!("{u}/v1/catalog/services?dc=dc1")).await.0,
        200
    );
    assert_eq!(
        get_text(&format!("{u}/v1/health/service/postgres?index=5&wait=5")).await,
        (400, "Invalid wait time".into())
    );
    assert_eq!(
        get_text(&format!("{u}/v1/health/service/postgres?index=x")).await,
        (400, "Invalid index".into())
    );
    assert_eq!(
        get_text(&format!("{u}/v1/catalog/services?ns=x")).await.0,
        400
    );
    assert_eq!(
        get_text(&format!("{u}/v1/catalog/services?stale")).await.0,
        200
    );
    assert_eq!(
        get_text(&format!("{u}/v1/catalog/services?consistent"))
            .await
            .0,
        200
    );
    assert_eq!(
        get_text(&format!("{u}/v1/status/leader")).await,
        (200, format!("\"{}:8300\"", sim.addr().ip()))
    );
    let (s, pretty) = get_text(&format!("{u}/v1/catalog/nodes?pretty")).await;
    assert_eq!(s, 200);
    assert!(pretty.contains("\n        \"ID\""), "{}", &pretty[..200]);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_query_waits_until_wait() {
    let sim = start().await;
    let url = format!("{}/v1/health/service/postgres", sim.url());
    let r = client().get(&url).send().await.unwrap();
    let idx = index_of(&r);
    let t0 = Instant::now();
    let r = client()
        .get(format!("{url}?index={idx}&wait=1s"))
        .send()
        .await
        .unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(990),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(index_of(&r), idx, "nothing changed");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_query_wakes_on_register() {
    let sim = start().await;
    let url = format!("{}/v1/health/service/postgres", sim.url());
    let idx = index_of(&client().get(&url).send().await.unwrap());
    let waiter = tokio::spawn(async move {
        let r = client()
            .get(format!("{url}?index={idx}&wait=120s"))
            .send()
            .await
            .unwrap();
        let i = index_of(&r);
        (i, r.text().await.unwrap())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A change to another service does not wake it.
    sim.catalog()
        .register_service(
            "meta",
            ServiceDef {
                name: "unrelated".into(),
                ..ServiceDef::default()
            },
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!waiter.is_finished(), "woke for an unrelated service");
    let mut def = sim.catalog().service("meta", "unrelated").unwrap();
    def.name = "postgres".into();
    def.id = "postgres".into();
    def.port = 5432;
    def.checks = vec![CheckDef::tcp("127.10.10.2:5432")];
    sim.catalog().register_service("meta", def).unwrap();
    let (new_idx, body) = tokio::time::timeout(Duration::from_secs(30), waiter)
        .await
        .expect("blocking query woke on the write")
        .unwrap();
    assert!(new_idx > idx);
    assert!(body.contains("\"Node\":\"meta\""));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_endpoints_answer_per_node_address() {
    let sim = start().await;
    let at = |ip: &str| sim.url_at(ip.parse::<IpAddr>().unwrap());
    let (s, text) = get_text(&format!("{}/v1/agent/self", at("127.10.10.11"))).await;
    assert_eq!(s, 200);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["Config"]["NodeName"], "pg-test-1");
    assert_eq!(v["Config"]["Datacenter"], "dc1");
    assert_eq!(v["Config"]["Server"], false);
    assert_order(&text, &["Config", "Member", "Meta"]);
    let (_, text) = get_text(&format!("{}/v1/agent/self", sim.url())).await;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["Config"]["NodeName"], "consul-server");
    assert_eq!(v["Config"]["Server"], true);

    let r = client()
        .get(format!("{}/v1/agent/services", at("127.10.10.11")))
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("x-consul-index").is_none());
    let text = r.text().await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v.as_object().unwrap().len(), 9);
    assert_eq!(v["postgres"]["Meta"]["instance"], "pg-test-1");
    assert_order(
        &text,
        &[
            "ID",
            "Service",
            "Tags",
            "Meta",
            "Port",
            "Address",
            "Weights",
            "EnableTagOverride",
            "Datacenter",
        ],
    );

    // The registration replaces the whole definition on that node only.
    let (s, body) = put(
        &format!("{}/v1/agent/service/register", at("127.10.10.11")),
        r#"{"ID":"postgres","Name":"postgres","Tags":["primary","pg-test"],"Port":5432}"#,
    )
    .await;
    assert_eq!((s, body.as_str()), (200, ""));
    let cat = sim.catalog();
    let pg1 = cat.service("pg-test-1", "postgres").unwrap();
    assert_eq!(pg1.tags, ["primary", "pg-test"]);
    assert!(pg1.meta.is_empty(), "meta not sent is gone");
    assert!(
        !cat.service("pg-test-2", "postgres")
            .unwrap()
            .meta
            .is_empty()
    );
    assert!(
        cat.check_status("pg-test-1", "service:postgres").is_some(),
        "kept without replace-existing-checks"
    );
    let (s, _) = put(
        &format!(
            "{}/v1/agent/service/register?replace-existing-checks",
            at("127.10.10.11")
        ),
        r#"{"Name":"postgres","Port":5432}"#,
    )
    .await;
    assert_eq!(s, 200);
    assert!(cat.check_status("pg-test-1", "service:postgres").is_none());

    let (s, body) = put(
        &format!("{}/v1/agent/service/register", at("127.10.10.11")),
        r#"{"Name":"x","Colour":"red"}"#,
    )
    .await;
    assert_eq!(s, 400);
    assert!(body.starts_with("Request decode failed: "), "{body}");
    assert_eq!(
        put(
            &format!("{}/v1/agent/service/register", at("127.10.10.11")),
            r#"{"Port":1}"#
        )
        .await,
        (400, "Missing service name".into())
    );
    assert_eq!(
        put(&format!("{}/v1/agent/service/deregister/nope", at("127.10.10.11")), "").await,
        (
            404,
            "Unknown service ID \"nope\". Ensure that the service ID is passed, not the service name.".into()
        )
    );
    assert_eq!(
        put(
            &format!("{}/v1/agent/service/deregister/patroni", at("127.10.10.12")),
            ""
        )
        .await,
        (200, String::new())
    );
    assert!(cat.service("pg-test-2", "patroni").is_none());
    assert!(cat.service("pg-test-1", "patroni").is_some());

    // No agent answers where no node lives, nor on a node that is down.
    for ip in ["127.99.0.1", "127.10.10.35"] {
        let r = client()
            .get(format!("{}/v1/agent/self", at(ip)))
            .send()
            .await;
        assert!(r.is_err(), "{ip} answered: {:?}", r.map(|r| r.status()));
    }
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_register_and_deregister() {
    let sim = start().await;
    let u = sim.url();
    let (s, body) = put(
        &format!("{u}/v1/catalog/register"),
        r#"{"Node":"ext-db","Address":"10.0.0.9","Service":{"ID":"pg","Service":"postgres","Tags":["primary"],"Port":5432,"Meta":{"cluster":"ext","seq":"1"}},"Check":{"CheckID":"service:pg","Name":"pg","Status":"passing","ServiceID":"pg"}}"#,
    )
    .await;
    assert_eq!((s, body.as_str()), (200, "true"));
    let (_, text) = get_text(&format!("{u}/v1/health/service/postgres?passing")).await;
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    let e = v.iter().find(|e| e["Node"]["Node"] == "ext-db").unwrap();
    assert_eq!(e["Service"]["ID"], "pg");
    // A catalog-only node has no agent, so no serfHealth: the service check stands alone.
    let checks = e["Checks"].as_array().unwrap();
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["CheckID"], "service:pg");
    assert_eq!(checks[0]["Status"], "passing");
    assert_eq!(
        put(
            &format!("{u}/v1/catalog/register"),
            r#"{"Address":"10.0.0.9"}"#
        )
        .await,
        (500, "Must provide node".into())
    );
    assert_eq!(
        put(&format!("{u}/v1/catalog/register"), r#"{"Node":"x"}"#).await,
        (
            500,
            "Must provide address if SkipNodeUpdate is not set".into()
        )
    );
    let (s, body) = put(&format!("{u}/v1/catalog/register"), "{not json").await;
    assert_eq!(s, 400);
    assert!(body.starts_with("Request decode failed: "));
    assert_eq!(
        put(
            &format!("{u}/v1/catalog/deregister"),
            r#"{"Node":"ext-db","ServiceID":"pg"}"#
        )
        .await,
        (200, "true".into())
    );
    assert!(sim.catalog().service("ext-db", "pg").is_none());
    assert_eq!(
        put(
            &format!("{u}/v1/catalog/deregister"),
            r#"{"Node":"pg-orders-5"}"#
        )
        .await,
        (200, "true".into())
    );
    assert!(sim.catalog().node_address("pg-orders-5").is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_denies_without_the_token() {
    let sim = start_with(SimOptions {
        acl_token: Some("s3cret-master".into()),
        ..SimOptions::default()
    })
    .await;
    let url = format!("{}/v1/catalog/services", sim.url());
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(header(&r, "x-consul-default-acl-policy"), "deny");
    let body = r.text().await.unwrap();
    assert!(
        body.starts_with("Permission denied: anonymous token lacks permission 'service:read'"),
        "{body}"
    );
    let r = client()
        .get(&url)
        .header("X-Consul-Token", "wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.text().await.unwrap(), "ACL not found");
    let ok = client()
        .get(&url)
        .header("X-Consul-Token", "s3cret-master")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let ok = client()
        .get(&url)
        .header("Authorization", "Bearer s3cret-master")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let (s, body) = put(
        &format!("{}/v1/agent/service/register", sim.url()),
        r#"{"Name":"web"}"#,
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(
        body,
        "Permission denied: anonymous token lacks permission 'service:write' on \"web\""
    );
    assert!(sim.catalog().service("consul-server", "web").is_none());
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_latency_status_truncate_drop_and_index_reset() {
    let sim = start().await;
    let url = format!("{}/v1/health/service/postgres", sim.url());
    let faults = sim.faults();

    faults.set_latency(Duration::from_millis(300));
    let t0 = Instant::now();
    assert_eq!(get_text(&url).await.0, 200);
    assert!(t0.elapsed() >= Duration::from_millis(300));
    faults.set_latency(Duration::ZERO);

    faults.fail_next(2, 500, "rpc error: No cluster leader");
    faults.fail_next(1, 429, "Your IP is issuing too many concurrent connections");
    assert_eq!(
        get_text(&url).await,
        (500, "rpc error: No cluster leader".into())
    );
    assert_eq!(get_text(&url).await.0, 500);
    assert_eq!(get_text(&url).await.0, 429);
    assert_eq!(get_text(&url).await.0, 200);

    faults.truncate_next(1);
    let (s, text) = get_text(&url).await;
    assert_eq!(s, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(&get_text(&url).await.1).is_ok());

    faults.drop_next(1);
    assert!(client().get(&url).send().await.is_err());
    assert_eq!(get_text(&url).await.0, 200);

    let before = index_of(&client().get(&url).send().await.unwrap());
    let waiter = tokio::spawn({
        let url = url.clone();
        async move {
            let r = client()
                .get(format!("{url}?index={before}&wait=120s"))
                .send()
                .await
                .unwrap();
            index_of(&r)
        }
    });
    // A reset that lands before the waiter's query starts blocking wakes nothing, so
    // reset until the waiter answers (on a loaded machine it may start late).
    let mut waiter = waiter;
    let mut after = None;
    for _ in 0..60 {
        faults.reset_index();
        if let Ok(done) = tokio::time::timeout(Duration::from_millis(500), &mut waiter).await {
            after = Some(done.unwrap());
            break;
        }
    }
    let after = after.expect("a reset wakes blocking queries");
    assert!(after < before, "{after} < {before}");
    assert!(after >= 1, "X-Consul-Index is never 0");
    let r = client()
        .get(format!("{}/v1/catalog/services", sim.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(index_of(&r), 1);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_count_and_cached_bodies_stay_correct() {
    let sim = start().await;
    let url = format!("{}/v1/health/service/pgbouncer", sim.url());
    let before = sim.request_count();
    let a = get_text(&url).await.1;
    let b = get_text(&url).await.1;
    assert_eq!(a, b);
    assert_eq!(sim.request_count(), before + 2);
    // A write to the service invalidates the cached body.
    sim.catalog()
        .set_check_status("pg-test-1", "service:pgbouncer", CheckStatus::Critical)
        .unwrap();
    let c = get_text(&url).await.1;
    assert_ne!(a, c);
    assert!(c.contains("\"Status\":\"critical\""));
    sim.shutdown().await;
}
