//! Helpers shared by the integration tests: running the real binary in a clean environment.

#![allow(dead_code)]

pub mod tmux;

use std::path::Path;
use std::process::Output;

/// Runs the roster binary with `args`, a clean environment plus `env`, and HOME in `home`
/// so that no user config file is picked up.
pub async fn roster(home: &Path, args: &[String], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", home)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("the roster binary runs")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Stdout parsed as JSON, with the whole output in the panic message when it is not.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", stdout(o), stderr(o)))
}

/// The findings of a JSON report as (kind, severity, cluster, instance) tuples.
pub fn findings(doc: &serde_json::Value) -> Vec<(String, String, String, Option<String>)> {
    doc["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
                f["cluster"].as_str().unwrap_or_default().to_string(),
                f["instance"].as_str().map(String::from),
            )
        })
        .collect()
}

/// Whether the report has a finding of `kind` for `instance` (or the cluster when `None`).
pub fn has(doc: &serde_json::Value, kind: &str, cluster: &str, instance: Option<&str>) -> bool {
    findings(doc)
        .iter()
        .any(|(k, _, c, i)| k == kind && c == cluster && i.as_deref() == instance)
}
