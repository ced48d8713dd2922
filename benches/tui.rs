//! The interactive UI at fleet scale: time to first full frame, per-key handling+render
//! latency and peak memory with the 10,000-instance generated fleet. Run:
//! `cargo bench --bench tui` (add `-- 50000` to change the number of instances).
//!
//! The simulator runs in a child process (this binary started again with `--sim-child`),
//! so that the peak RSS reported is the UI side's alone: the read, the state and the
//! rendering, as in the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use roster::config::{ConsulSetting, Settings};
use roster::consul::{ConsulConfig, Endpoint};
use roster::gather::gather;
use roster::report::CheckResult;
use roster::sim::{Catalog, FleetSpec, GenerateOptions, SimOptions, SimServer, TargetLayout};
use roster::tui::state::{Options, State};
use roster::tui::theme::ThemeKind;
use roster::tui::{keys, update::update, view::draw};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SIZE: (u16, u16) = (200, 60);
const FIRST_FRAME_RUNS: usize = 3;
const PRESSES: usize = 500;
const MEMBERS: usize = 4;
const CHILD_FLAG: &str = "--sim-child";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let instances: usize = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let spec = FleetSpec::generate(
        instances.div_ceil(MEMBERS),
        &GenerateOptions {
            members: MEMBERS,
            drift_every: Some(10),
            seed: 7,
        },
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if let Some(pos) = args.iter().position(|a| a == CHILD_FLAG) {
        let dir = PathBuf::from(args.get(pos + 1).expect("--sim-child DIR"));
        rt.block_on(serve(spec, &dir));
        return;
    }
    rt.block_on(run(spec));
}

/// The child: writes the fleet's files, serves its catalog, prints the URL, and stops
/// when the parent closes stdin (so it never outlives the benchmark).
async fn serve(spec: FleetSpec, dir: &Path) {
    let targets = dir.join("targets");
    std::fs::create_dir_all(&targets).expect("targets dir");
    spec.write_targets(&targets, TargetLayout::PerCluster)
        .expect("targets");
    spec.write_inventory(&dir.join("pigsty.yml"))
        .expect("inventory");
    let server = SimServer::start(
        ([127, 0, 0, 1], 0).into(),
        Catalog::from_spec(&spec),
        SimOptions::default(),
    )
    .await
    .expect("simulator");
    println!("{}", server.url());
    std::io::stdout().flush().expect("stdout");
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await
    .expect("stdin");
    server.shutdown().await;
}

/// The simulator child; killed on drop.
struct SimChild(Child);

impl Drop for SimChild {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn run(spec: FleetSpec) {
    let dir = tempfile::tempdir().expect("tempdir");
    let exe = std::env::current_exe().expect("own path");
    let mut child = SimChild(
        Command::new(exe)
            .arg(CHILD_FLAG)
            .arg(dir.path())
            .arg(spec.instance_count().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("simulator child"),
    );
    let mut url = String::new();
    BufReader::new(child.0.stdout.take().expect("child stdout"))
        .read_line(&mut url)
        .expect("simulator url");
    let url = url.trim().to_string();
    assert!(url.starts_with("http://"), "simulator said {url:?}");
    println!(
        "fleet: {} instances, simulator (child process) at {url}, screen {}x{}",
        spec.instance_count(),
        SIZE.0,
        SIZE.1
    );
    drop(spec);

    let mut consul = ConsulConfig::new(Endpoint::parse(&url, false).expect("url"));
    consul.concurrency = 16;
    consul.timeout = Duration::from_secs(60);
    let settings = Settings {
        consul: Some(ConsulSetting {
            config: consul,
            origin: "bench",
            probe_only: false,
        }),
        targets: vec![dir.path().join("targets").display().to_string()],
        inventory: Some(dir.path().join("pigsty.yml")),
        ..Settings::default()
    };

    // Warm the simulator's response cache, as a second read in the UI would find it.
    drop(read(&settings).await);

    let mut reads = Vec::new();
    let mut states = Vec::new();
    let mut draws = Vec::new();
    let mut kept = None;
    let mut first_hwm = 0;
    for run in 0..FIRST_FRAME_RUNS {
        // The previous state goes first, so peak memory is one state's, as in the UI.
        drop(kept.take());
        let t = Instant::now();
        let result = read(&settings).await;
        reads.push(t.elapsed());
        let t = Instant::now();
        let state = State::new(
            result,
            Options {
                read_only: false,
                theme: ThemeKind::Dark,
                size: SIZE,
            },
        );
        states.push(t.elapsed());
        let mut terminal = Terminal::new(TestBackend::new(SIZE.0, SIZE.1)).expect("terminal");
        let t = Instant::now();
        terminal.draw(|f| draw(f, &state)).expect("draw");
        draws.push(t.elapsed());
        kept = Some((state, terminal));
        if run == 0 {
            first_hwm = memory().0;
        }
    }
    let (mut state, mut terminal) = kept.expect("one run");
    println!(
        "{} instances, {} findings, {} rows at start",
        state.instances.len(),
        state.findings().len(),
        state.rows.len()
    );

    let read_med = median(&reads);
    let state_med = median(&states);
    let draw_med = median(&draws);
    println!("\nfirst frame, median of {FIRST_FRAME_RUNS} runs:");
    row_ms("read (3 sources) + merge + drift", read_med);
    row_ms("State::new", state_med);
    row_ms("first draw", draw_med);
    row_ms("first frame: State::new + first draw", state_med + draw_med);
    row_ms(
        "first frame from the start of the read",
        read_med + state_med + draw_med,
    );

    let mut press = |code: KeyCode| -> Duration {
        let t = Instant::now();
        if let Some(a) = keys::map(KeyEvent::new(code, KeyModifiers::NONE), &state) {
            update(&mut state, a);
        }
        terminal.draw(|f| draw(f, &state)).expect("draw");
        t.elapsed()
    };

    let moves: Vec<Duration> = (0..PRESSES).map(|_| press(KeyCode::Char('j'))).collect();
    let mut expand = Vec::with_capacity(PRESSES);
    let mut collapse = Vec::with_capacity(PRESSES);
    for _ in 0..PRESSES {
        expand.push(press(KeyCode::Char('+')));
        collapse.push(press(KeyCode::Char('-')));
    }
    let typed: Vec<KeyCode> = "/pg-1"
        .chars()
        .map(KeyCode::Char)
        .chain([KeyCode::Esc])
        .collect();
    let mut filter = Vec::new();
    while filter.len() < PRESSES {
        for &k in &typed {
            filter.push(press(k));
        }
    }

    if let Some(a) = keys::map(
        KeyEvent::new(KeyCode::Char('+'), KeyModifiers::NONE),
        &state,
    ) {
        update(&mut state, a);
    }
    println!("\n{} rows with every cluster expanded", state.rows.len());
    println!("\nper key, handling + render into the test terminal:");
    println!(
        "  {:<44} {:>7} {:>9} {:>9} {:>9}",
        "key", "presses", "p50 ms", "p99 ms", "max ms"
    );
    latency("move down (j)", moves);
    latency("expand all (+)", expand);
    latency("collapse all (-)", collapse);
    latency("filter keystroke (/ p g - 1 Esc, repeated)", filter);

    let (hwm, rss) = memory();
    println!(
        "\npeak RSS (VmHWM): {first_hwm} MB after the first frame, {hwm} MB after all of it; RSS now {rss} MB"
    );
    drop(child);
}

async fn read(settings: &Settings) -> CheckResult {
    let g = gather(settings).await;
    CheckResult::new(g.fleet, g.notes)
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn latency(what: &str, mut v: Vec<Duration>) {
    v.sort();
    let n = v.len();
    let p = |q: f64| v[((n as f64 * q).ceil() as usize).clamp(1, n) - 1];
    println!(
        "  {what:<44} {n:>7} {:>9.2} {:>9.2} {:>9.2}",
        ms(p(0.50)),
        ms(p(0.99)),
        ms(v[n - 1])
    );
}

fn row_ms(what: &str, d: Duration) {
    println!("  {what:<44} {:>9.1} ms", ms(d));
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// (VmHWM, VmRSS) of this process in MB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}
