//! The service's shipped files: the Prometheus example and alert rules pass `promtool`,
//! and the systemd unit is hardened, read-only and passes `systemd-analyze verify` with
//! the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::serve::PROMTOOL;
use common::tmux::skip_or_panic;
use std::path::{Path, PathBuf};
use std::process::Command;

fn asset(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(path)
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_rules_and_the_scrape_example_pass_promtool() {
    if !Path::new(PROMTOOL).exists() {
        skip_or_panic("serve_assets: promtool not installed (apt-get install prometheus)");
        return;
    }
    let rules = asset("prometheus/roster.rules.yml");
    let (ok, said) = run(PROMTOOL, &["check", "rules", rules.to_str().unwrap()]);
    assert!(ok, "{said}");
    assert!(said.contains("SUCCESS: 7 rules found"), "{said}");
    let config = asset("prometheus/prometheus.yml");
    let (ok, said) = run(PROMTOOL, &["check", "config", config.to_str().unwrap()]);
    assert!(ok, "{said}");

    // Every alert the README promises is there.
    let text = std::fs::read_to_string(&rules).unwrap();
    for alert in [
        "RosterSplitBrain",
        "RosterDriftError",
        "RosterDriftWarning",
        "RosterSourceDown",
        "RosterSourceStale",
        "RosterDown",
        "RosterNoData",
    ] {
        assert!(text.contains(&format!("alert: {alert}\n")), "{alert}");
    }
}

#[test]
fn the_unit_is_read_only_and_hardened() {
    let unit = std::fs::read_to_string(asset("systemd/roster.service")).unwrap();
    let has = |line: &str| unit.lines().any(|l| l.trim() == line);
    for line in [
        "DynamicUser=yes",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "CapabilityBoundingSet=",
        "LoadCredential=consul-token:/etc/roster/consul-token",
        "--token-file ${CREDENTIALS_DIRECTORY}/consul-token",
    ] {
        assert!(has(line), "roster.service lacks {line:?}");
    }
    assert!(unit.contains("/usr/local/bin/roster serve"), "{unit}");
    // No token on the command line or in the environment, no writable path granted.
    for absent in ["CONSUL_HTTP_TOKEN=", "ReadWritePaths", "StateDirectory"] {
        assert!(!unit.contains(absent), "roster.service has {absent}");
    }
    // The flags it passes are flags `roster serve` knows.
    let dir = tempfile::tempdir().unwrap();
    let exec: String = unit
        .split("ExecStart=")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.contains('='))
        .map(|l| l.trim().trim_end_matches('\\').to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let exec = exec.replace("--listen 127.0.0.1:9639", "--listen 127.0.0.1:9639 --help");
    let words: Vec<&str> = exec.split_whitespace().skip(1).collect();
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(&words)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{exec}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let analyze = "/usr/bin/systemd-analyze";
    if !Path::new(analyze).exists() {
        skip_or_panic("serve_assets: systemd-analyze not installed");
        return;
    }
    // The unit as installed, but running this build's binary.
    let dir = tempfile::tempdir().unwrap();
    let unit = std::fs::read_to_string(asset("systemd/roster.service"))
        .unwrap()
        .replace("/usr/local/bin/roster", env!("CARGO_BIN_EXE_roster"));
    let path = dir.path().join("roster.service");
    std::fs::write(&path, unit).unwrap();
    let (ok, said) = run(analyze, &["verify", path.to_str().unwrap()]);
    assert!(ok, "{said}");
    let complaints: Vec<&str> = said
        .lines()
        .filter(|l| l.contains("roster.service"))
        .collect();
    assert!(complaints.is_empty(), "{said}");
}
