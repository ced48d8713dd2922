//! A real Prometheus (Debian's `prometheus`) reads every target file roster writes.
//!
//! Prometheus runs with a `file_sd_configs` job over a directory holding the demo fleet's
//! files plus a JSON file; roster edits, adds and removes groups through `write_file`,
//! and the test polls `/api/v1/targets` until Prometheus reports exactly the groups the
//! files now hold, while `prometheus_sd_file_read_errors_total` stays 0.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::fix::targets::{add_group, digest, edit_group, remove_group, write_file};
use roster::sim::{FleetSpec, TargetLayout};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PROMETHEUS: &str = "/usr/bin/prometheus";

/// How long Prometheus may take to start and to pick up a change.
const DEADLINE: Duration = Duration::from_secs(90);

/// Kills Prometheus however the test ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A plain HTTP/1.0 GET (no chunking to decode); None while the server is not up.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// One scraped target as the test compares it: file, address and the group's own labels.
type Seen = (String, String, BTreeMap<String, String>);

/// What the files on disk say Prometheus should show.
fn expected(files: &[PathBuf]) -> BTreeSet<Seen> {
    let mut out = BTreeSet::new();
    for file in files {
        let text = fs::read_to_string(file).expect("read");
        #[derive(serde::Deserialize)]
        struct G {
            #[serde(default)]
            targets: Vec<String>,
            #[serde(default)]
            labels: BTreeMap<String, String>,
        }
        let groups: Vec<G> = if file.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).expect("json")
        } else {
            serde_saphyr::from_str::<Option<Vec<G>>>(&text)
                .expect("yaml")
                .unwrap_or_default()
        };
        for g in groups {
            for t in &g.targets {
                out.insert((file.display().to_string(), t.clone(), g.labels.clone()));
            }
        }
    }
    out
}

/// What Prometheus shows, from `discoveredLabels` of active and dropped targets.
fn observed(port: u16) -> Option<BTreeSet<Seen>> {
    let (status, body) = get(port, "/api/v1/targets?state=any")?;
    if status != 200 {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
    let mut out = BTreeSet::new();
    for list in ["activeTargets", "droppedTargets"] {
        for t in doc["data"][list].as_array().into_iter().flatten() {
            let Some(labels) = t["discoveredLabels"].as_object() else {
                continue;
            };
            let text = |k: &str| labels.get(k).and_then(|v| v.as_str()).map(String::from);
            let own: BTreeMap<String, String> = labels
                .iter()
                .filter(|(k, _)| !k.starts_with("__") && k.as_str() != "job")
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect();
            out.insert((
                text("__meta_filepath").unwrap_or_default(),
                text("__address__").unwrap_or_default(),
                own,
            ));
        }
    }
    Some(out)
}

/// `prometheus_sd_file_read_errors_total` from /metrics.
fn read_errors(port: u16) -> Option<f64> {
    let (_, body) = get(port, "/metrics")?;
    body.lines()
        .find(|l| l.starts_with("prometheus_sd_file_read_errors_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}

/// Polls until Prometheus shows exactly what the files hold; panics with the difference.
fn wait_for_files(port: u16, files: &[PathBuf], log: &Path, step: &str) {
    let want = expected(files);
    let start = Instant::now();
    let mut last = None;
    while start.elapsed() < DEADLINE {
        assert_eq!(
            read_errors(port).unwrap_or(0.0),
            0.0,
            "{step}: Prometheus failed to read a file\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        last = observed(port);
        if last.as_ref() == Some(&want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let got = last.unwrap_or_default();
    let missing: Vec<&Seen> = want.difference(&got).take(5).collect();
    let extra: Vec<&Seen> = got.difference(&want).take(5).collect();
    panic!(
        "{step}: Prometheus does not show the files' groups\nmissing: {missing:#?}\nextra: {extra:#?}\nlog:\n{}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

fn apply(path: &Path, edit: impl FnOnce(&str) -> String) {
    let original = fs::read_to_string(path).expect("read");
    let new = edit(&original);
    assert_ne!(
        new,
        original,
        "{}: the edit changes something",
        path.display()
    );
    write_file(path, &digest(original.as_bytes()), &new).expect("write_file");
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn prometheus_reads_every_file_roster_writes() {
    if !Path::new(PROMETHEUS).exists() {
        if std::env::var("ROSTER_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
            panic!(
                "{PROMETHEUS} is required (ROSTER_REQUIRE_EXTERNAL=1): apt-get install prometheus"
            );
        }
        eprintln!("\n*** SKIPPED: prometheus not installed ({PROMETHEUS} missing) ***\n");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("targets");
    let mut files = FleetSpec::demo()
        .write_targets(&dir, TargetLayout::PerCluster)
        .expect("demo targets");
    let json = dir.join("extra.json");
    fs::write(
        &json,
        "[\n  {\"targets\": [\"127.20.0.1:9630\"], \"labels\": {\"cls\": \"pg-json\", \"ins\": \"pg-json-1\", \"role\": \"primary\"}},\n  {\"targets\": [\"127.20.0.2:9630\"], \"labels\": {\"cls\": \"pg-json\", \"ins\": \"pg-json-2\", \"role\": \"replica\"}}\n]\n",
    )
    .expect("json");
    files.push(json.clone());

    let config = tmp.path().join("prometheus.yml");
    fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1h\n  scrape_timeout: 10s\n  evaluation_interval: 1h\nscrape_configs:\n  - job_name: pg\n    file_sd_configs:\n      - files: ['{d}/*.yml', '{d}/*.json']\n        refresh_interval: 1s\n",
            d = dir.display()
        ),
    )
    .expect("config");
    let port = free_port();
    let log = tmp.path().join("prometheus.log");
    let log_file = fs::File::create(&log).expect("log");
    let child = Command::new(PROMETHEUS)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            tmp.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .expect("prometheus starts");
    let _guard = Running(child);

    wait_for_files(port, &files, &log, "initial files");

    // Role fix in a Pigsty flow-style file, with a label that needs quoting.
    let pg_test = dir.join("pg-test.yml");
    apply(&pg_test, |text| {
        let changes = BTreeMap::from([
            ("role".to_string(), Some("primary".to_string())),
            ("svc".to_string(), Some("pg-test-primary".to_string())),
            ("note".to_string(), Some("fixed: by roster".to_string())),
        ]);
        edit_group(&pg_test, text, 1, &changes).expect("edit pg-test")
    });
    // A missing instance added to the same file.
    apply(&pg_test, |text| {
        let l = labels(&[
            ("cls", "pg-test"),
            ("ins", "pg-test-9"),
            ("ip", "127.10.10.19"),
            ("role", "replica"),
            ("svc", "pg-test-replica"),
        ]);
        add_group(&pg_test, text, &l, &["127.10.10.19:9630".to_string()], None).expect("add")
    });
    // JSON: a label removed and one changed, then a group added.
    apply(&json, |text| {
        let changes = BTreeMap::from([
            ("role".to_string(), None),
            ("ins".to_string(), Some("pg-json-7".to_string())),
        ]);
        edit_group(&json, text, 0, &changes).expect("edit json")
    });
    apply(&json, |text| {
        let l = labels(&[("cls", "pg-json"), ("ins", "pg-json-3"), ("role", "true")]);
        add_group(&json, text, &l, &["127.20.0.3:9630".to_string()], None).expect("add json")
    });
    // A group removed from another file that has more than one.
    let other = files
        .iter()
        .find(|f| {
            *f != &pg_test
                && f.extension().is_some_and(|e| e == "yml")
                && fs::read_to_string(f).is_ok_and(|t| t.matches("#======>").count() > 1)
        })
        .cloned()
        .expect("a second file with several groups");
    apply(&other, |text| {
        remove_group(&other, text, 0).expect("remove")
    });

    wait_for_files(port, &files, &log, "after the edits");
    let text = fs::read_to_string(&pg_test).expect("read");
    assert!(text.contains("note: \"fixed: by roster\""), "{text}");
}
