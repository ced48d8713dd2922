//! A real Consul client (Debian's python3-consul) against the simulator: if it works
//! there, blocking queries included, the simulator is shaped right.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::sim::{Catalog, CheckDef, FleetSpec, ServiceDef, SimOptions, SimServer};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const PYTHON: &str = "/usr/bin/python3";

const SCRIPT: &str = r#"
import json, sys, time
import consul

host, port, agent_host = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = consul.Consul(host=host, port=port)

def out(**kv):
    print(json.dumps(kv), flush=True)

idx, services = c.catalog.services()
out(step="services", index=idx, names=sorted(services), postgres=sorted(services["postgres"]))

idx, nodes = c.health.service("postgres")
out(step="health", index=idx, count=len(nodes),
    roles=sorted({n["Service"]["Meta"].get("role", "") for n in nodes}))

t0 = time.time()
idx2, _ = c.health.service("postgres", index=idx, wait="1s")
out(step="block", index=idx2, elapsed=time.time() - t0)

out(step="waiting", index=idx)
t0 = time.time()
idx3, nodes3 = c.health.service("postgres", index=idx, wait="60s")
out(step="woke", index=idx3, elapsed=time.time() - t0,
    nodes=sorted(n["Node"]["Node"] for n in nodes3))

a = consul.Consul(host=agent_host, port=port)
ok = a.agent.service.register("roster-py", service_id="roster-py-1", port=7777, tags=["py"])
_, inst = c.catalog.service("roster-py")
out(step="register", ok=ok, nodes=[i["Node"] for i in inst], ids=[i["ServiceID"] for i in inst],
    tags=[i["ServiceTags"] for i in inst], port=[i["ServicePort"] for i in inst])
"#;

fn skip_or_panic(why: &str) {
    let msg = format!("SKIPPED: sim_python_consul: {why} (install python3-consul)");
    if std::env::var("ROSTER_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
}

fn python_consul_available() -> Result<(), String> {
    if !Path::new(PYTHON).exists() {
        return Err(format!("{PYTHON} not found"));
    }
    let out = std::process::Command::new(PYTHON)
        .args(["-c", "import consul"])
        .output()
        .map_err(|e| format!("running {PYTHON}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "python module consul missing: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_consul_client_reads_blocks_and_registers() {
    if let Err(why) = python_consul_available() {
        skip_or_panic(&why);
        return;
    }
    let sim = SimServer::start(
        "127.0.0.1:0".parse().unwrap(),
        Catalog::from_spec(&FleetSpec::demo()),
        SimOptions::default(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("client.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let mut child = std::process::Command::new(PYTHON)
        .arg(&script)
        .arg(sim.addr().ip().to_string())
        .arg(sim.addr().port().to_string())
        .arg("127.10.10.13")
        .env_remove("CONSUL_HTTP_TOKEN")
        .env("NO_PROXY", "*")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Lines come from a reader thread so the test can react to "waiting" mid-run.
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut steps = std::collections::BTreeMap::new();
    let read_all = async {
        while let Some(line) = rx.recv().await {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            let step = v["step"].as_str().unwrap().to_string();
            if step == "waiting" {
                // Give the client time to send the blocking request, then change postgres.
                tokio::time::sleep(Duration::from_millis(300)).await;
                sim.catalog()
                    .register_service(
                        "meta",
                        ServiceDef {
                            name: "postgres".into(),
                            port: 5432,
                            checks: vec![CheckDef::tcp("127.10.10.2:5432")],
                            ..ServiceDef::default()
                        },
                    )
                    .unwrap();
            }
            steps.insert(step, v);
        }
    };
    let finished = tokio::time::timeout(Duration::from_secs(60), read_all).await;
    if finished.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(finished.is_ok(), "python client hung: {stderr}");
    assert!(out.status.success(), "python client failed: {stderr}");

    let s = &steps["services"];
    assert!(
        s["names"]
            .as_array()
            .unwrap()
            .contains(&"pg-test-primary".into())
    );
    assert!(
        s["postgres"]
            .as_array()
            .unwrap()
            .contains(&"primary".into())
    );
    let h = &steps["health"];
    assert!(h["count"].as_u64().unwrap() > 20);
    assert_eq!(
        h["roles"],
        serde_json::json!(["offline", "primary", "replica"])
    );
    let b = &steps["block"];
    assert!(b["elapsed"].as_f64().unwrap() >= 0.95, "{b}");
    assert_eq!(b["index"], h["index"], "nothing changed while blocking");
    let w = &steps["woke"];
    let (before, after): (u64, u64) = (
        h["index"].as_str().unwrap().parse().unwrap(),
        w["index"].as_str().unwrap().parse().unwrap(),
    );
    assert!(after > before);
    assert!(w["nodes"].as_array().unwrap().contains(&"meta".into()));
    let r = &steps["register"];
    assert_eq!(r["ok"], true);
    assert_eq!(r["nodes"], serde_json::json!(["pg-test-3"]));
    assert_eq!(r["ids"], serde_json::json!(["roster-py-1"]));
    assert_eq!(r["tags"], serde_json::json!([["py"]]));
    assert_eq!(r["port"], serde_json::json!([7777]));
    sim.shutdown().await;
}
