//! Several datacenters: the simulator serving them as Consul does, and `roster check
//! --all-datacenters` / `roster serve` reading them through one agent: one datacenter
//! drifting, one clean, a third listed but unreachable (not read, never empty).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::serve::{Served, parse_metrics, reregister_node, sample};
use common::tmux::{Tmux, WAIT, skip_or_panic, tmux_available};
use common::{DemoArgs, findings, json, roster, stderr, stdout};
use roster::demo::Demo;
use roster::sim::FleetSpec;
use std::path::Path;

/// dc1 (local): pg-alpha's target files missed a failover; pg-paper is declared and
/// rendered into files but registered nowhere. dc2: clean. dc3: listed, unreachable.
const FLEET: &str = "\
datacenter: dc1
clusters:
  - name: pg-alpha
    members:
      - { seq: 1, ip: 127.41.0.1, role: primary, targets: { role: replica } }
      - { seq: 2, ip: 127.41.0.2, role: replica, targets: { role: primary } }
  - name: pg-paper
    members:
      - { seq: 1, ip: 127.41.0.21, role: primary, consul: { absent: true } }
datacenters:
  - name: dc2
    clusters:
      - name: pg-beta
        members:
          - { seq: 1, ip: 127.42.0.1, role: primary }
          - { seq: 2, ip: 127.42.0.2, role: replica }
  - { name: dc3, unreachable: true }
";

/// The config file: every datacenter, dc2's files its own; dc1's files are given as
/// shared ones (`--targets`, `--inventory`) and must find their datacenter.
fn config(demo: &Demo, dir: &Path, extra: &str) -> std::path::PathBuf {
    let (targets, inventory) = demo.datacenter_files("dc2").expect("dc2 files");
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[consul]\ndatacenters = \"all\"\n[datacenter.dc2]\ntargets = [{:?}]\ninventory = {:?}\n{extra}",
            targets.display().to_string(),
            inventory.display().to_string()
        ),
    )
    .unwrap();
    path
}

fn args(demo: &Demo, config: &Path, command: &str, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = [
        command,
        "--consul",
        &demo.server().url(),
        "--config",
        &config.display().to_string(),
        "--targets",
        &demo.targets_dir().display().to_string(),
        "--inventory",
        &demo.inventory_path().display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_serves_each_datacenter_as_consul_does() {
    let demo = Demo::start_with(FleetSpec::from_yaml(FLEET).unwrap())
        .await
        .unwrap();
    let base = demo.server().url();
    let http = reqwest::Client::new();
    let get = |path: String| {
        let http = http.clone();
        async move {
            let r = http.get(path).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    // Nearest first, the agent's own datacenter before the others.
    let (status, body) = get(format!("{base}/v1/catalog/datacenters")).await;
    assert_eq!((status, body.as_str()), (200, "[\"dc1\",\"dc2\",\"dc3\"]"));
    let (status, body) = get(format!("{base}/v1/health/service/postgres?dc=dc2")).await;
    assert_eq!(status, 200, "{body}");
    let entries: serde_json::Value = serde_json::from_str(&body).unwrap();
    let nodes: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["Node"]["Node"].as_str().unwrap())
        .collect();
    assert_eq!(nodes, ["pg-beta-1", "pg-beta-2"]);
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["Node"]["Datacenter"] == "dc2")
    );
    let (_, local) = get(format!("{base}/v1/catalog/services")).await;
    assert!(
        local.contains("pg-alpha") && !local.contains("pg-beta"),
        "{local}"
    );
    for dc in ["dc3", "nowhere"] {
        let (status, body) = get(format!("{base}/v1/catalog/services?dc={dc}")).await;
        assert_eq!(
            (status, body.as_str()),
            (500, "No path to datacenter"),
            "{dc}"
        );
    }
    // dc2's indexes are its own: a blocking query there wakes on dc2's change.
    let (_, _) = get(format!("{base}/v1/catalog/services?dc=dc2")).await;
    let r = http
        .get(format!("{base}/v1/health/service/postgres?dc=dc2"))
        .send()
        .await
        .unwrap();
    let index: u64 = r.headers()["x-consul-index"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let blocked = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/v1/health/service/postgres?dc=dc2&index={index}&wait=30s");
        async move { http.get(url).send().await.unwrap().text().await.unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let dc2 = demo.server().catalog_of("dc2").expect("dc2 is reachable");
    reregister_node(&dc2, "pg-beta-1", "replica");
    let woke = tokio::time::timeout(std::time::Duration::from_secs(20), blocked)
        .await
        .expect("the blocking query wakes")
        .unwrap();
    assert!(woke.contains("\"role\":\"replica\""), "{woke}");
    assert!(demo.server().catalog_of("dc3").is_none());
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_every_datacenter_and_says_which_was_not_read() {
    let demo = Demo::start_with(FleetSpec::from_yaml(FLEET).unwrap())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cfg = config(&demo, home.path(), "");

    let out = roster(
        home.path(),
        &args(&demo, &cfg, "check", &["-f", "json"]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "dc3 not read\n{}", stderr(&out));
    let doc = json(&out);
    let states: Vec<(String, String)> = doc["datacenters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["consul"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [("dc1", "ok"), ("dc2", "ok"), ("dc3", "not read")];
    assert_eq!(
        states,
        want.map(|(a, b)| (a.to_string(), b.to_string())),
        "{doc:#}"
    );
    let dc3 = doc["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "consul" && s["datacenter"] == "dc3")
        .expect("dc3's Consul is a source of its own");
    assert_eq!(dc3["status"], "error");
    assert!(
        dc3["error"]
            .as_str()
            .unwrap()
            .contains("No path to datacenter"),
        "{dc3}"
    );

    // The drift is dc1's, found by the shared files placed there; dc2 is clean.
    let with_dc: Vec<(String, String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["datacenter"].as_str().unwrap_or("-").to_string(),
                f["cluster"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        with_dc.contains(&("role-mismatch".into(), "dc1".into(), "pg-alpha".into())),
        "{with_dc:?}"
    );
    assert!(with_dc.iter().all(|(_, dc, _)| dc == "dc1"), "{with_dc:?}");
    // pg-paper is in no Consul read, and dc3 (not read) may hold it: no verdict.
    assert!(
        !findings(&doc).iter().any(|(_, _, c, _)| c == "pg-paper"),
        "{:#?}",
        findings(&doc)
    );
    let instance_dc = |name: &str| {
        doc["instances"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["instance"] == name)
            .map(|i| i["datacenter"].clone())
            .expect(name)
    };
    assert_eq!(instance_dc("pg-alpha-1"), "dc1");
    assert_eq!(instance_dc("pg-beta-2"), "dc2");
    assert!(instance_dc("pg-paper-1").is_null());

    // Prometheus: every series of one datacenter labelled with it.
    let out = roster(
        home.path(),
        &args(&demo, &cfg, "check", &["-f", "prometheus"]),
        &[],
    )
    .await;
    let m = parse_metrics(&stdout(&out));
    let up = |dc: &str| {
        sample(
            &m,
            "roster_source_up",
            &[("source", "consul"), ("datacenter", dc)],
        )
    };
    assert_eq!(
        (up("dc1"), up("dc2"), up("dc3")),
        (Some(1.0), Some(1.0), Some(0.0))
    );
    let mismatch = [
        ("kind", "role-mismatch"),
        ("instance", "pg-alpha-1"),
        ("datacenter", "dc1"),
    ];
    assert_eq!(sample(&m, "roster_finding", &mismatch), Some(1.0));
    let dc2_targets = [("source", "targets"), ("datacenter", "dc2")];
    assert_eq!(sample(&m, "roster_source_up", &dc2_targets), Some(1.0));
    assert!(
        m.iter().any(|(n, l, _)| n == "roster_source_up"
            && l.get("source").map(String::as_str) == Some("targets")
            && !l.contains_key("datacenter")),
        "the shared target files are a source of no datacenter"
    );

    // The table has a datacenter column.
    let out = roster(home.path(), &args(&demo, &cfg, "check", &[]), &[]).await;
    let text = stdout(&out);
    assert!(text.lines().any(|l| l.starts_with("DC ")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("dc2 ") && l.contains("pg-beta-1")),
        "{text}"
    );
    assert!(text.contains("consul@dc3 ERROR"), "{text}");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cluster_name_in_two_datacenters_unless_a_standby_pair() {
    let spec = "\
clusters:
  - name: pg-orders
    members: [{ seq: 1, ip: 127.43.0.1, role: primary }]
datacenters:
  - name: dc2
    clusters:
      - name: pg-orders
        members: [{ seq: 1, ip: 127.44.0.1, role: primary }]
";
    let demo = Demo::start_with(FleetSpec::from_yaml(spec).unwrap())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let home_path = home.path().to_path_buf();
    let run = |extra: &'static str| {
        let cfg = config(&demo, &home_path, extra);
        let a = args(&demo, &cfg, "check", &["-f", "json"]);
        let home = home_path.clone();
        async move { json(&roster(&home, &a, &[]).await) }
    };
    let doc = run("").await;
    let collisions: Vec<&serde_json::Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "identity-collision")
        .collect();
    assert_eq!(collisions.len(), 1, "{doc:#}");
    assert_eq!(collisions[0]["cluster"], "pg-orders");
    assert_eq!(collisions[0]["datacenter"], "dc2");
    assert_eq!(
        collisions[0]["sources"]["consul@dc1"],
        "pg-orders-1 127.43.0.1"
    );
    // dc1's files (given as shared) land in dc1, dc2's own in dc2: nothing else is found.
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1, "{doc:#}");

    let doc = run("standby_of = \"dc1\"\n").await;
    assert_eq!(doc["findings"].as_array().unwrap().len(), 0, "{doc:#}");
    assert_eq!(doc["datacenters"][1]["standby_of"][0], "dc1");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_watches_every_datacenter() {
    let demo = Demo::start_with(FleetSpec::from_yaml(FLEET).unwrap())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cfg = config(&demo, home.path(), "");
    let mut a = args(&demo, &cfg, "serve", &[]);
    a.remove(0);
    let served = Served::start(home.path(), &a);
    // dc3 is not read: not healthy, and it says which.
    let (_, body) = served.until("/healthz", "the first read", |s, b| {
        s == 503 && b.contains("consul@dc2: ok")
    });
    assert!(body.contains("consul@dc3: not read"), "{body}");
    assert!(body.contains("No path to datacenter"), "{body}");

    let dc2 = demo.server().catalog_of("dc2").unwrap();
    reregister_node(&dc2, "pg-beta-1", "replica");
    let (_, text) = served.until("/metrics", "dc2's re-registration", |_, t| {
        let m = parse_metrics(t);
        let labels = [
            ("kind", "role-mismatch"),
            ("instance", "pg-beta-1"),
            ("datacenter", "dc2"),
        ];
        sample(&m, "roster_finding", &labels).is_some()
    });
    let m = parse_metrics(&text);
    let up = [("source", "consul"), ("datacenter", "dc3")];
    assert_eq!(sample(&m, "roster_source_up", &up), Some(0.0));
    let changed = [("cluster", "pg-beta"), ("datacenter", "dc2")];
    assert!(
        sample(
            &m,
            "roster_cluster_identity_changed_timestamp_seconds",
            &changed
        )
        .is_some()
    );
    if let Some(result) = common::serve::promtool_check_metrics(&text) {
        result.unwrap_or_else(|e| panic!("promtool: {e}\n{text}"));
    }
    let (_, body) = served.must_get("/api/v1/fleet");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["datacenters"][2]["consul"], "not read");
    let status = served.terminate();
    assert!(status.success());
    demo.stop().await;
}

/// What `check --all-datacenters` prints, table and JSON: each datacenter's reads with
/// their state, and pg-paper (held by no read datacenter's Consul while dc3 is not read)
/// unverified, never "absent, ok".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_across_datacenters_leaves_a_cluster_no_read_datacenter_holds_unverified() {
    let demo = Demo::start_with(FleetSpec::from_yaml(FLEET).unwrap())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cfg = config(&demo, home.path(), "");
    let (dc2_targets, dc2_inventory) = demo.datacenter_files("dc2").unwrap();
    // Where the files and the simulator are differs per run; what is said of them not.
    let places = [
        (demo.server().url(), "CONSUL".to_string()),
        (dc2_targets.display().to_string(), "DC2_TARGETS".into()),
        (dc2_inventory.display().to_string(), "DC2_INVENTORY".into()),
        (demo.targets_dir().display().to_string(), "TARGETS".into()),
        (
            demo.inventory_path().display().to_string(),
            "INVENTORY".into(),
        ),
        (home.path().display().to_string(), "HOME".into()),
    ];
    let normal = |text: String| {
        places
            .iter()
            .fold(text, |t, (from, to)| t.replace(from.as_str(), to))
    };
    let out = roster(home.path(), &args(&demo, &cfg, "check", &[]), &[]).await;
    assert_eq!(out.status.code(), Some(2), "dc3 not read\n{}", stderr(&out));
    insta::assert_snapshot!("check_all_datacenters_table", normal(stdout(&out)));

    let out = roster(
        home.path(),
        &args(&demo, &cfg, "check", &["-f", "json"]),
        &[],
    )
    .await;
    let doc = json(&out);
    // The parts that do not depend on when it was read.
    let kept = serde_json::json!({
        "datacenters": doc["datacenters"],
        "findings": doc["findings"],
        "instances": doc["instances"],
        "summary": doc["summary"],
    });
    let text = serde_json::to_string_pretty(&kept).unwrap();
    insta::assert_snapshot!("check_all_datacenters_json", normal(text));
    demo.stop().await;
}

/// The UI in a real terminal: a datacenter level in the tree, the one not read saying so,
/// and `:dc` switching between one datacenter (the tree as with one) and all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_tree_has_a_datacenter_level() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = Demo::start_with(FleetSpec::from_yaml(FLEET).unwrap())
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cfg = config(&demo, home.path(), "");
    let tmux = Tmux::start().await;
    tmux.wait_for("the shell prompt", WAIT, |s| s.contains("e2e$"))
        .await;
    let cfg = cfg.display().to_string();
    let line = DemoArgs::ui(&demo).with(&["--config", &cfg]).shell_line();
    tmux.type_text(&format!("{line}; echo roster-''exit=$?"))
        .await;
    tmux.key("Enter").await;
    let row = |screen: &str, start: &str| {
        screen
            .lines()
            .map(|l| l.trim_start_matches('│'))
            .find(|l| l.starts_with(start))
            .map(str::to_string)
    };
    let screen = tmux
        .wait_for("the datacenters", WAIT, |s| {
            row(s, "v dc3").is_some() && s.contains("pg-paper-1")
        })
        .await;
    assert!(row(&screen, "v dc1").unwrap().contains(" ok "), "{screen}");
    let dc3 = row(&screen, "v dc3").unwrap();
    assert!(
        dc3.contains("ERROR") && dc3.contains("~ not read"),
        "{screen}"
    );
    // pg-paper is in no Consul read, and dc3 may hold it: no datacenter, unverified.
    assert!(row(&screen, "v (no dc)").is_some(), "{screen}");
    assert!(row(&screen, "  v pg-beta").is_some(), "{screen}");

    tmux.type_text(":dc dc2").await;
    tmux.key("Enter").await;
    let screen = tmux
        .wait_for("dc2 alone", WAIT, |s| {
            s.contains("dc dc2") && row(s, "v pg-beta").is_some()
        })
        .await;
    assert!(
        row(&screen, "v dc").is_none(),
        "one datacenter, no level\n{screen}"
    );
    tmux.type_text(":dc all").await;
    tmux.key("Enter").await;
    tmux.wait_for("every datacenter again", WAIT, |s| {
        row(s, "v dc1").is_some() && row(s, "  v pg-beta").is_some()
    })
    .await;
    tmux.key("q").await;
    let screen = tmux
        .wait_for("the shell", WAIT, |s| s.contains("roster-exit="))
        .await;
    // Quitting is a clean exit, whatever the datacenters said.
    assert!(screen.contains("roster-exit=0"), "{screen}");
    demo.stop().await;
}
