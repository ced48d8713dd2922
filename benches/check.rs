//! `roster check` end to end against `roster sim --generate` in another process, next to
//! the floor: the same requests made by curl over keep-alive connections, in the same run.
//! Run: `cargo bench --profile profiling --bench check` (add `-- 4000` to change the
//! number of instances; 10,000 by default).
//!
//! The floor is the best of a sequential curl (one connection) and four curls in parallel
//! (a quarter of the services each), over every run: what fetching the bodies costs
//! without decoding them. The ratio is the `roster check` binary (Consul only, JSON
//! output, process start to exit) over that floor; the in-process phases follow.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::config::{ConsulSetting, Settings};
use roster::consul::{ConsulConfig, Endpoint};
use roster::fleet::Fleet;
use roster::gather::gather;
use roster::report::{CheckResult, Format};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;
const CONCURRENCY: usize = 16;
const MEMBERS: usize = 4;
const CURLS: usize = 4;

/// The simulator child; killed (by its own pid) on drop.
struct SimChild(Child);

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
    let clusters = instances.div_ceil(MEMBERS);
    let dir = tempfile::tempdir().expect("tempdir");
    let targets = dir.path().join("targets");
    let inventory = dir.path().join("pigsty.yml");
    let bin = env!("CARGO_BIN_EXE_roster");
    let mut child = SimChild(
        Command::new(bin)
            .args(["sim", "--listen", "127.0.0.1:0", "--generate"])
            .arg(clusters.to_string())
            .args(["--members", &MEMBERS.to_string(), "--drift-every", "10"])
            .arg("--write-targets")
            .arg(&targets)
            .arg("--write-inventory")
            .arg(&inventory)
            .stdout(Stdio::piped())
            .spawn()
            .expect("roster sim"),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().expect("sim stdout"))
        .read_line(&mut line)
        .expect("sim banner");
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("roster sim said {line:?}"))
        .to_string();
    println!(
        "fleet: {clusters} clusters x {MEMBERS} = {} instances, `roster sim` (pid {}) at {url}",
        clusters * MEMBERS,
        child.0.id()
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

    // Warm the simulator's response cache and learn the service names.
    let names = service_names(&url).await;
    let lists = curl_lists(dir.path(), &url, &names);
    let warm = check(&consul_only).await;
    phases(&consul_only).await;
    let body_bytes = curl(&lists[..1]).1;
    println!(
        "one check reads {} services ({} requests, {} MB of JSON), finds {} instances and {} findings",
        warm.0,
        names.len() + 1,
        body_bytes / 1_000_000,
        warm.1,
        warm.2
    );

    let mut sequential = Vec::new();
    let mut parallel = Vec::new();
    let mut binary = Vec::new();
    let mut binary_all = Vec::new();
    let mut in_process = Vec::new();
    let mut in_process_all = Vec::new();
    // Interleaved, so that a change in the machine's load hits every figure alike.
    for _ in 0..RUNS {
        sequential.push(curl(&lists[..1]).0);
        parallel.push(curl(&lists[1..]).0);
        binary.push(roster_check(bin, &url, None));
        binary_all.push(roster_check(bin, &url, Some((&targets, &inventory))));
        let t = Instant::now();
        check(&consul_only).await;
        in_process.push(t.elapsed());
        let t = Instant::now();
        check(&all).await;
        in_process_all.push(t.elapsed());
    }
    let floor = best(&sequential).min(best(&parallel));

    println!("\n{RUNS} runs each, median (min..max):");
    report(
        "floor: curl, sequential, one keep-alive connection",
        &sequential,
    );
    report(
        &format!("floor: {CURLS} curls in parallel, keep-alive"),
        &parallel,
    );
    report("`roster check` binary, Consul only, JSON", &binary);
    report(
        "`roster check` binary, Consul + target files + inventory",
        &binary_all,
    );
    report(
        "in process: gather + drift + JSON, Consul only",
        &in_process,
    );
    report(
        "in process: gather + drift + JSON, all three",
        &in_process_all,
    );
    println!(
        "\nfloor (best of sequential and parallel): {:.1} ms\n\
         ratio `roster check` (Consul only) / floor: median {:.2}x, best {:.2}x\n\
         ratio in process (Consul only) / floor: median {:.2}x",
        ms(floor),
        median(&binary).as_secs_f64() / floor.as_secs_f64(),
        best(&binary).as_secs_f64() / floor.as_secs_f64(),
        median(&in_process).as_secs_f64() / floor.as_secs_f64(),
    );
    println!("load average: {}", load());
    drop(child);
}

/// Every service name, from `catalog/services`, read with curl as the floor reads it.
async fn service_names(url: &str) -> Vec<String> {
    let out = Command::new("curl")
        .args(["-sS", "--fail", &format!("{url}/v1/catalog/services")])
        .output()
        .expect("curl is installed");
    assert!(out.status.success(), "curl failed: {out:?}");
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("catalog JSON");
    map.into_iter().map(|(k, _)| k).collect()
}

/// curl config files: [0] every request in one list, [1..] the same split in CURLS parts
/// (the catalog read goes with the first part).
fn curl_lists(dir: &Path, url: &str, names: &[String]) -> Vec<std::path::PathBuf> {
    let entry = |path: &str| format!("url = \"{url}{path}\"\noutput = \"/dev/null\"\n");
    let health: Vec<String> = names
        .iter()
        .map(|n| entry(&format!("/v1/health/service/{}", escape(n))))
        .collect();
    let catalog = entry("/v1/catalog/services");
    let mut files = Vec::new();
    let mut write = |i: usize, body: String| {
        let p = dir.join(format!("curl-{i}.conf"));
        std::fs::File::create(&p)
            .and_then(|mut f| f.write_all(body.as_bytes()))
            .expect("curl config");
        files.push(p);
    };
    write(0, format!("{catalog}{}", health.concat()));
    let part = health.len().div_ceil(CURLS).max(1);
    for (i, chunk) in health.chunks(part).enumerate() {
        let head = if i == 0 { catalog.as_str() } else { "" };
        write(i + 1, format!("{head}{}", chunk.concat()));
    }
    files
}

fn escape(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Runs one curl per config file at once; (wall time, bytes downloaded).
fn curl(configs: &[std::path::PathBuf]) -> (Duration, u64) {
    let t = Instant::now();
    let children: Vec<Child> = configs
        .iter()
        .map(|c| {
            Command::new("curl")
                .args(["-sS", "--fail", "-w", "%{size_download}\n", "-K"])
                .arg(c)
                .stdout(Stdio::piped())
                .spawn()
                .expect("curl")
        })
        .collect();
    let mut bytes = 0;
    for c in children {
        let out = c.wait_with_output().expect("curl ran");
        assert!(out.status.success(), "curl failed: {out:?}");
        bytes += String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.trim().parse::<u64>().ok())
            .sum::<u64>();
    }
    (t.elapsed(), bytes)
}

/// The `roster check` binary, process start to exit.
fn roster_check(bin: &str, url: &str, files: Option<(&Path, &Path)>) -> Duration {
    let mut cmd = Command::new(bin);
    cmd.args(["check", "--consul", url, "--format", "json"]);
    if let Some((targets, inventory)) = files {
        cmd.arg("--targets")
            .arg(targets)
            .arg("--inventory")
            .arg(inventory);
    }
    let t = Instant::now();
    let out = cmd.output().expect("roster check runs");
    let spent = t.elapsed();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    spent
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

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn best(v: &[Duration]) -> Duration {
    v.iter().copied().min().unwrap_or_default()
}

fn report(what: &str, v: &[Duration]) {
    let max = v.iter().copied().max().unwrap_or_default();
    println!(
        "  {what:<60} {:>8.1} ms  ({:.1}..{:.1})",
        ms(median(v)),
        ms(best(v)),
        ms(max)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}
