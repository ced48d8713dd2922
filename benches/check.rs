//! `roster check` end to end against the simulator with a generated fleet, next to the
//! raw fetch of the same endpoints. Run: `cargo bench --bench check` (add `-- 50000` to
//! change the number of instances).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use futures::stream::{self, StreamExt};
use roster::config::{ConsulSetting, Settings};
use roster::consul::{ConsulConfig, Endpoint};
use roster::fleet::Fleet;
use roster::gather::gather;
use roster::report::{CheckResult, Format};
use roster::sim::{Catalog, FleetSpec, GenerateOptions, SimOptions, SimServer, TargetLayout};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const CONCURRENCY: usize = 16;

fn main() {
    let instances: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(instances));
}

async fn run(instances: usize) {
    let members = 4;
    let clusters = instances.div_ceil(members);
    let spec = FleetSpec::generate(
        clusters,
        &GenerateOptions {
            members,
            drift_every: Some(10),
            seed: 7,
        },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = dir.path().join("targets");
    std::fs::create_dir_all(&targets).expect("targets dir");
    spec.write_targets(&targets, TargetLayout::PerCluster)
        .expect("targets");
    let inventory = dir.path().join("pigsty.yml");
    spec.write_inventory(&inventory).expect("inventory");
    let server = SimServer::start(
        ([127, 0, 0, 1], 0).into(),
        Catalog::from_spec(&spec),
        SimOptions::default(),
    )
    .await
    .expect("simulator");
    let url = server.url();
    println!(
        "fleet: {clusters} clusters x {members} = {} instances, simulator at {url}",
        spec.instance_count()
    );

    let mut consul_cfg = ConsulConfig::new(Endpoint::parse(&url, false).expect("url"));
    consul_cfg.concurrency = CONCURRENCY;
    consul_cfg.timeout = Duration::from_secs(60);
    let consul_only = Settings {
        consul: Some(ConsulSetting {
            config: consul_cfg,
            origin: "bench",
            probe_only: false,
        }),
        ..Settings::default()
    };
    let mut all = consul_only.clone();
    all.targets = vec![targets.display().to_string()];
    all.inventory = Some(inventory.clone());

    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");

    // Warm both paths once (connection pool, simulator response cache).
    let raw_bytes = raw_fetch(&http, &url).await;
    let warm = check(&consul_only).await;
    phases(&consul_only).await;
    println!(
        "one check reads {} services ({} MB of JSON), finds {} instances and {} findings",
        warm.0,
        raw_bytes / 1_000_000,
        warm.1,
        warm.2
    );

    let before = server.request_count();
    let raw = time(RUNS, || async {
        raw_fetch(&http, &url).await;
    })
    .await;
    let per_raw = (server.request_count() - before) / RUNS as u64;
    let before = server.request_count();
    let consul = time(RUNS, || async {
        check(&consul_only).await;
    })
    .await;
    let per_check = (server.request_count() - before) / RUNS as u64;
    let full = time(RUNS, || async {
        check(&all).await;
    })
    .await;
    let bin = env!("CARGO_BIN_EXE_roster");
    let binary = time(3, || async {
        let out = tokio::process::Command::new(bin)
            .args(["check", "--consul", &url, "--format", "json"])
            .arg("--targets")
            .arg(&targets)
            .arg("--inventory")
            .arg(&inventory)
            .output()
            .await
            .expect("binary runs");
        assert!(out.status.code().is_some());
    })
    .await;

    println!("\nmedian of {RUNS} runs (min..max):");
    report(
        "raw fetch (GET catalog/services + every health/service, bodies read)",
        raw,
    );
    report(
        "roster check, Consul only (fetch+decode+merge+drift+JSON)",
        consul,
    );
    report("roster check, Consul + target files + inventory", full);
    report(
        "roster check binary, all sources, process start to exit",
        binary,
    );
    println!(
        "\nratio check/raw fetch (Consul only): {:.2}x; HTTP requests per run: raw {per_raw}, check {per_check}",
        consul.0.as_secs_f64() / raw.0.as_secs_f64()
    );
    server.shutdown().await;
}

/// Returns (services, instances, findings) so the work cannot be optimised away.
async fn check(settings: &Settings) -> (usize, usize, usize) {
    let g = gather(settings).await;
    let services = g
        .outputs
        .first()
        .and_then(|o| o.report.facts.get("services"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let result = CheckResult::new(g.fleet, g.notes);
    let text = result.render(Format::Json);
    assert!(!text.is_empty());
    (
        services,
        result.fleet.instance_count(),
        result.findings.len(),
    )
}

/// One timed pass through the pipeline, phase by phase.
async fn phases(settings: &Settings) {
    let t = Instant::now();
    let g = gather(settings).await;
    let fetched = t.elapsed();
    // gather merged the outputs already; they are merged again to time the merge alone.
    let t = Instant::now();
    let fleet = Fleet::build(g.outputs);
    let built = t.elapsed();
    let t = Instant::now();
    let result = CheckResult::new(fleet, g.notes);
    let checked = t.elapsed();
    let t = Instant::now();
    let text = result.render(Format::Json);
    let rendered = t.elapsed();
    println!(
        "phases: fetch+decode+merge {:.1} ms, merge {:.1} ms, drift {:.1} ms, render {:.1} ms ({} KB)",
        ms(fetched),
        ms(built),
        ms(checked),
        ms(rendered),
        text.len() / 1000
    );
}

async fn raw_fetch(http: &reqwest::Client, url: &str) -> usize {
    let names: serde_json::Map<String, serde_json::Value> = http
        .get(format!("{url}/v1/catalog/services"))
        .send()
        .await
        .expect("services")
        .json()
        .await
        .expect("services json");
    stream::iter(names.keys().cloned().collect::<Vec<_>>())
        .map(|n| async move {
            let u = format!("{url}/v1/health/service/{n}");
            http.get(u)
                .send()
                .await
                .expect("health")
                .bytes()
                .await
                .expect("body")
                .len()
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0usize, |a, b| async move { a + b })
        .await
}

/// (median, min, max)
async fn time<F, Fut>(runs: usize, mut f: F) -> (Duration, Duration, Duration)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        v.push(t.elapsed());
    }
    v.sort();
    (v[runs / 2], v[0], v[runs - 1])
}

fn report(what: &str, (med, min, max): (Duration, Duration, Duration)) {
    println!(
        "  {what:<72} {:>8.1} ms  ({:.1}..{:.1})",
        ms(med),
        ms(min),
        ms(max)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
