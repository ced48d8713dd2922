//! The simulated Patroni REST API over real HTTP: Patroni 3.0.2's shapes and status codes
//! on every member's own address, a dead node that does not answer, and roster's own
//! Patroni reader agreeing with what it serves.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use roster::identity::Role;
use roster::sim::{FleetSpec, PatroniSim};
use roster::source::patroni::{cluster, probe_patroni};
use serde_json::Value;
use std::net::IpAddr;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

async fn start() -> PatroniSim {
    PatroniSim::start(&FleetSpec::demo(), 0)
        .await
        .expect("the simulated Patroni starts")
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(TIMEOUT)
        .build()
        .expect("client")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

async fn get(sim: &PatroniSim, at: &str, path: &str) -> (u16, String) {
    let url = format!("{}{path}", sim.url_at(ip(at)));
    let r = client().get(&url).send().await.expect(&url);
    let code = r.status().as_u16();
    let ctype = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(ctype, "application/json", "{url}");
    (code, r.text().await.expect("a body"))
}

async fn get_json(sim: &PatroniSim, at: &str, path: &str) -> (u16, Value) {
    let (code, text) = get(sim, at, path).await;
    let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (code, doc)
}

/// Asserts the keys appear in this order in the text.
fn assert_order(text: &str, keys: &[&str]) {
    let mut last = 0;
    for k in keys {
        let pos = text
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("no {k} in {text}"));
        assert!(pos >= last, "{k} out of order in {text}");
        last = pos;
    }
}

#[tokio::test]
async fn status_of_a_leader_and_a_replica() {
    let sim = start().await;
    // pg-web: the manual switchover made seq 3 the leader, on timeline 2.
    let (code, text) = get(&sim, "127.10.10.43", "/patroni").await;
    assert_eq!(code, 200);
    assert_order(
        &text,
        &[
            "state",
            "postmaster_start_time",
            "role",
            "server_version",
            "xlog",
            "timeline",
            "dcs_last_seen",
            "database_system_identifier",
            "patroni",
        ],
    );
    let leader: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(leader["state"], "running");
    assert_eq!(leader["role"], "master");
    assert_eq!(leader["timeline"], 2);
    assert_eq!(leader["server_version"], 150_018);
    assert!(leader["xlog"]["location"].is_u64(), "{leader}");
    assert!(leader["xlog"].get("received_location").is_none());
    assert!(leader["postmaster_start_time"].is_string());
    assert!(leader["dcs_last_seen"].is_u64());
    assert_eq!(leader["patroni"]["version"], "3.0.2");
    assert_eq!(leader["patroni"]["scope"], "pg-web");
    let sysid = leader["database_system_identifier"]
        .as_str()
        .expect("a string");
    assert_eq!(sysid.len(), 19);

    let (code, replica) = get_json(&sim, "127.10.10.41", "/patroni").await;
    assert_eq!(code, 200);
    assert_eq!(replica["role"], "replica");
    assert_eq!(replica["timeline"], 2);
    assert_eq!(replica["database_system_identifier"], sysid, "one cluster");
    let xlog = &replica["xlog"];
    assert_eq!(xlog["received_location"], leader["xlog"]["location"]);
    assert_eq!(xlog["replayed_location"], leader["xlog"]["location"]);
    assert!(xlog["replayed_timestamp"].is_null(), "{xlog}");
    assert_eq!(xlog["paused"], false);
    assert!(xlog.get("location").is_none());

    // A cluster that never failed over is on timeline 1; offline is a replica to Patroni.
    assert_eq!(
        get_json(&sim, "127.10.10.10", "/patroni").await.1["timeline"],
        1
    );
    assert_eq!(
        get_json(&sim, "127.10.10.58", "/patroni").await.1["role"],
        "replica"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn health_endpoints_answer_by_status_code() {
    let sim = start().await;
    let (leader, replica) = ("127.10.10.43", "127.10.10.41");
    for path in ["/primary", "/master", "/leader", "/"] {
        assert_eq!(get(&sim, leader, path).await.0, 200, "{path} on the leader");
        let (code, body) = get_json(&sim, replica, path).await;
        assert_eq!(code, 503, "{path} on a replica");
        assert_eq!(body["role"], "replica", "the status comes with a 503 too");
    }
    assert_eq!(get(&sim, replica, "/replica").await.0, 200);
    assert_eq!(get(&sim, leader, "/replica").await.0, 503);
    for at in [leader, replica] {
        assert_eq!(get(&sim, at, "/health").await.0, 200, "{at}");
    }
    assert_eq!(get(&sim, leader, "/nonexistent").await.0, 404);
    let r = client()
        .post(format!("{}/switchover", sim.url_at(ip(leader))))
        .send()
        .await
        .expect("an answer");
    assert_eq!(r.status().as_u16(), 405);
    sim.shutdown().await;
}

#[tokio::test]
async fn cluster_lists_every_member_from_any_member() {
    let sim = start().await;
    let (code, text) = get(&sim, "127.10.10.11", "/cluster").await;
    assert_eq!(code, 200);
    assert_order(
        &text,
        &[
            "members", "name", "role", "state", "api_url", "host", "port", "timeline",
        ],
    );
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let members = doc["members"].as_array().expect("members");
    let names: Vec<&str> = members.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["pg-test-1", "pg-test-2", "pg-test-3"]);
    let leader = &members[1];
    assert_eq!(leader["role"], "leader");
    assert_eq!(leader["state"], "running");
    assert_eq!(leader["host"], "127.10.10.12");
    assert_eq!(leader["port"], 5432);
    assert_eq!(leader["timeline"], 2);
    assert_eq!(
        leader["api_url"],
        format!("{}/patroni", sim.url_at(ip("127.10.10.12")))
    );
    assert!(leader.get("lag").is_none(), "{leader}");
    for r in [&members[0], &members[2]] {
        assert_eq!(r["role"], "replica");
        assert_eq!(r["lag"], 0);
    }

    // The dead node's key has expired: pg-orders lists four members.
    let (_, orders) = get_json(&sim, "127.10.10.31", "/cluster").await;
    let names: Vec<&str> = orders["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["pg-orders-1", "pg-orders-2", "pg-orders-3", "pg-orders-4"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dead_node_and_a_stranger_do_not_answer() {
    let sim = start().await;
    // pg-orders-5's node is down in Consul; 127.10.10.99 is nobody.
    for at in ["127.10.10.35", "127.10.10.99"] {
        let url = format!("{}/patroni", sim.url_at(ip(at)));
        let r = client().get(&url).send().await;
        assert!(r.is_err(), "{url} answered: {r:?}");
    }
    // The members around it still answer.
    assert_eq!(get(&sim, "127.10.10.34", "/health").await.0, 200);
    sim.shutdown().await;
}

#[tokio::test]
async fn roster_reads_what_the_simulator_serves() {
    let sim = start().await;
    let http = client();
    let p = probe_patroni(&http, "127.10.10.43", sim.port(), TIMEOUT)
        .await
        .expect("pg-web-3 answers");
    assert_eq!(p.role, Role::Primary);
    assert_eq!(p.origin.via, "patroni");
    assert_eq!(p.origin.timeline, Some(2));
    assert_eq!(p.origin.state.as_deref(), Some("running"));
    assert_eq!(p.origin.server_version.as_deref(), Some("15.18"));
    let p = probe_patroni(&http, "127.10.10.41", sim.port(), TIMEOUT)
        .await
        .expect("pg-web-1 answers");
    assert_eq!(p.role, Role::Replica);
    assert!(p.origin.received_lsn.is_some());

    let members = cluster(&http, "127.10.10.42", sim.port(), TIMEOUT)
        .await
        .expect("pg-web's members");
    let roles: Vec<(String, Role)> = members
        .iter()
        .map(|m| (m.name.clone(), m.live_role()))
        .collect();
    assert_eq!(
        roles,
        [
            ("pg-web-1".to_string(), Role::Replica),
            ("pg-web-2".to_string(), Role::Replica),
            ("pg-web-3".to_string(), Role::Primary),
        ]
    );
    assert!(members.iter().all(|m| m.timeline == Some(2)));
    let e = probe_patroni(&http, "127.10.10.35", sim.port(), TIMEOUT)
        .await
        .expect_err("the dead node");
    assert!(e.to_string().contains("127.10.10.35"), "{e}");
    sim.shutdown().await;
}
