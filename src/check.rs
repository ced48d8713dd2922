//! `roster check`: one read and a report, or (`--wait`) reads until the selected clusters
//! are clean, printing each change, for the on-call engineer right after a switchover.

use crate::config::Settings;
use crate::consul::{Blocking, ConsulClient};
use crate::drift::{Finding, Severity};
use crate::gather::gather;
use crate::report::{CheckResult, Format};
use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

/// What to check and how to report it.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Output format of the final report.
    pub format: Format,
    /// Lowest severity that fails.
    pub fail_on: Severity,
    /// Only these clusters (all when empty).
    pub clusters: Vec<String>,
    /// Keep reading until clean, at most this long.
    pub wait: Option<Duration>,
    /// The on-call question (`--live --cluster`): done when every registration follows
    /// the live roles (no error-level `live-role-mismatch`, no `split-brain`), whatever
    /// else the fleet has.
    pub follow_only: bool,
}

impl CheckOptions {
    /// The exit code of a result under these options.
    pub fn exit_code(&self, r: &CheckResult) -> i32 {
        if !self.follow_only {
            return r.exit_code(self.fail_on);
        }
        if r.fleet.sources.iter().any(|s| !s.is_ok()) {
            return 2;
        }
        let behind = r.findings.iter().any(|f| {
            (f.kind == crate::drift::Kind::LiveRoleMismatch && f.severity == Severity::Error)
                || f.kind == crate::drift::Kind::SplitBrain
        });
        i32::from(behind)
    }
}

/// Reads once (or until clean within `wait`), prints the report, returns the exit code.
pub async fn run(settings: &Settings, opts: &CheckOptions) -> u8 {
    let started = Instant::now();
    let mut result = read(settings, &opts.clusters).await;
    if result.fleet.sources.is_empty() {
        for n in &result.notes {
            eprintln!("roster: {n}");
        }
        eprintln!(
            "roster: no source to read: pass --consul, --targets or --inventory (or set CONSUL_HTTP_ADDR)"
        );
        return 2;
    }
    if let Some(wait) = opts.wait {
        let mut index = 0;
        let client = settings
            .consul
            .as_ref()
            .and_then(|c| ConsulClient::new(c.config.clone()).ok());
        let mut shown = keys(&result.findings);
        print_state(started, &result, opts);
        while opts.exit_code(&result) != 0 && started.elapsed() < wait {
            let left = wait.saturating_sub(started.elapsed());
            // Woken by Consul the moment a registration changes; the databases cannot be
            // watched, so they are asked again at least every two seconds.
            let nap = left.min(Duration::from_secs(2));
            match &client {
                Some(c) => {
                    let blocking = Blocking { index, wait: nap };
                    match c.health_service("postgres", Some(blocking)).await {
                        Ok((_, meta)) => index = meta.index,
                        Err(_) => tokio::time::sleep(nap).await,
                    }
                }
                None => tokio::time::sleep(nap).await,
            }
            result = read(settings, &opts.clusters).await;
            let now = keys(&result.findings);
            for (kind, place) in now.difference(&shown) {
                println!("{:>6.1}s + {kind} {place}", started.elapsed().as_secs_f64());
            }
            for (kind, place) in shown.difference(&now) {
                println!(
                    "{:>6.1}s - {kind} {place} (resolved)",
                    started.elapsed().as_secs_f64()
                );
            }
            shown = now;
        }
        if opts.exit_code(&result) == 0 {
            println!(
                "{:>6.1}s every registration follows",
                started.elapsed().as_secs_f64()
            );
        } else {
            println!(
                "{:>6.1}s still drifting after {:.0}s",
                started.elapsed().as_secs_f64(),
                wait.as_secs_f64()
            );
        }
    }
    let text = result.render(opts.format);
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
    let code = u8::try_from(opts.exit_code(&result)).unwrap_or(2);
    // The process ends right after: freeing a large fleet one observation at a time
    // would only delay the exit.
    std::mem::forget(result);
    code
}

async fn read(settings: &Settings, clusters: &[String]) -> CheckResult {
    let g = gather(settings).await;
    let mut r = CheckResult::new(g.fleet, g.notes);
    r.only_clusters(clusters);
    r
}

fn keys(findings: &[Finding]) -> BTreeSet<(String, String)> {
    findings
        .iter()
        .map(|f| {
            let place = f.instance.clone().unwrap_or_else(|| f.cluster.clone());
            let source = f
                .sources
                .keys()
                .filter(|k| *k != "live")
                .cloned()
                .collect::<Vec<_>>()
                .join(",");
            (f.kind.code().to_string(), format!("{place} [{source}]"))
        })
        .collect()
}

fn print_state(started: Instant, r: &CheckResult, opts: &CheckOptions) {
    let what = if opts.follow_only {
        "waiting for every registration to follow the live roles".to_string()
    } else {
        format!("waiting until nothing at or above {} is left", opts.fail_on)
    };
    println!(
        "{:>6.1}s {} finding(s); {what}",
        started.elapsed().as_secs_f64(),
        r.findings.len()
    );
    for (kind, place) in keys(&r.findings) {
        println!("{:>6.1}s   {kind} {place}", started.elapsed().as_secs_f64());
    }
}
