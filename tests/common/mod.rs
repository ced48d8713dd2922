//! Helpers shared by the integration tests: running the real binary in a clean environment
//! against the demo's sources.

#![allow(dead_code)]

pub mod demo_screen;
pub mod fix;
pub mod serve;
pub mod tmux;

use roster::demo::Demo;
use std::path::Path;
use std::process::Output;

/// A roster command line reading a demo's three sources:
/// `DemoArgs::new(&demo, "check").with(&["-f", "json"]).build()`.
#[derive(Clone, Debug)]
pub struct DemoArgs {
    command: Option<String>,
    consul: String,
    targets: String,
    inventory: String,
    extra: Vec<String>,
}

impl DemoArgs {
    /// `roster <command>` reading the demo's Consul, target directory and inventory.
    pub fn new(demo: &Demo, command: &str) -> DemoArgs {
        DemoArgs {
            command: Some(command.to_string()),
            ..DemoArgs::ui(demo)
        }
    }

    /// `roster` with no command (the UI) reading the demo's sources.
    pub fn ui(demo: &Demo) -> DemoArgs {
        DemoArgs {
            command: None,
            consul: demo.server().url(),
            targets: demo.targets_dir().display().to_string(),
            inventory: demo.inventory_path().display().to_string(),
            extra: Vec::new(),
        }
    }

    /// Reads Consul at `address` instead (a proxy in front of the simulator).
    pub fn consul(mut self, address: &str) -> DemoArgs {
        self.consul = address.to_string();
        self
    }

    /// Adds arguments after the sources.
    pub fn with(mut self, extra: &[&str]) -> DemoArgs {
        self.extra.extend(extra.iter().map(|s| s.to_string()));
        self
    }

    /// The arguments, command first.
    pub fn build(self) -> Vec<String> {
        let mut v: Vec<String> = self.command.into_iter().collect();
        v.extend([
            "--consul".into(),
            self.consul,
            "--targets".into(),
            self.targets,
            "--inventory".into(),
            self.inventory,
        ]);
        v.extend(self.extra);
        v
    }

    /// The binary and its arguments as one shell command, each word quoted.
    pub fn shell_line(self) -> String {
        let mut words = vec![tmux::quote(env!("CARGO_BIN_EXE_roster"))];
        words.extend(self.build().iter().map(|a| tmux::quote(a)));
        words.join(" ")
    }
}

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
