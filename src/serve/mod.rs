//! `roster serve`: the UI's live watches without the UI, serving the drift as Prometheus
//! metrics, the check's JSON and a health check.
//!
//! Read-only by construction: nothing here imports the `fix` module, so no handler can
//! reach a write path (a test below keeps it so).

pub mod http;
pub mod metrics;
pub mod process;
pub mod state;

use crate::config::Settings;
use crate::drift::Finding;
use crate::observation::SourceReport;
use crate::watch::feeds::{Live, LiveEvent};
use state::{Changes, Snapshot};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

/// The default listen address: loopback, so nothing is exposed unless asked for.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9639";

/// Command-line arguments of `roster serve`.
#[derive(clap::Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to serve /metrics, /healthz and /api/v1/fleet on (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Read every source in full this often, besides watching them (0s: never), so the
    /// data age of a healthy source stays below it
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::config::parse_duration)]
    pub resync: Duration,
}

/// Serves until SIGTERM or SIGINT; returns the exit code.
pub async fn run(settings: Settings, args: &ServeArgs) -> u8 {
    let listener = match TcpListener::bind(args.listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("roster serve: cannot listen on {}: {e}", args.listen);
            return 2;
        }
    };
    let shutdown = match shutdown_signal() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roster serve: cannot handle signals: {e}");
            return 2;
        }
    };
    let bound = listener.local_addr().unwrap_or(args.listen);
    // The one line a supervisor or a test waits for, whatever the log settings.
    eprintln!("roster serve: listening on http://{bound}");
    tracing::info!(listen = %bound, "serving /metrics, /healthz and /api/v1/fleet");
    let (tx, rx) = watch::channel(None);
    let feeds = tokio::spawn(drive(settings, args.resync, tx));
    http::serve(listener, rx, shutdown).await;
    feeds.abort();
    tracing::info!("stopped");
    eprintln!("roster serve: stopped");
    0
}

/// Resolves on the first SIGTERM or SIGINT.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down");
    })
}

/// Owns the feeds: reads, watches and rebuilds, publishing each new fleet.
async fn drive(settings: Settings, resync: Duration, tx: watch::Sender<Option<Arc<Snapshot>>>) {
    let (events_tx, mut events_rx) = mpsc::channel::<LiveEvent>(16);
    let (updates_tx, mut updates_rx) = mpsc::channel(64);
    let mut live = Live::new(settings, events_tx, updates_tx);
    live.read_all();
    let mut changes = Changes::default();
    let mut log = ChangeLog::default();
    // An interval of zero is not allowed; "never" is a period nobody waits out.
    let period = if resync.is_zero() {
        Duration::from_secs(u64::from(u32::MAX))
    } else {
        resync
    };
    let mut resync_tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        tokio::select! {
            Some(event) = events_rx.recv() => {
                if let Some(result) = live.on_event(event) {
                    let now = SystemTime::now();
                    log.note(&result.fleet.sources, &result.findings);
                    let changed = changes.observe(&result, now);
                    tx.send_replace(Some(Arc::new(Snapshot { result, built_at: now, changed })));
                }
            }
            Some(output) = updates_rx.recv() => live.on_update(output),
            _ = resync_tick.tick() => live.read_all(),
            else => return,
        }
    }
}

/// Logs what changed between two fleets: a source's state, findings that came or went.
#[derive(Default)]
struct ChangeLog {
    sources: Vec<(String, bool)>,
    findings: BTreeSet<(String, String, String, String)>,
}

impl ChangeLog {
    fn note(&mut self, sources: &[SourceReport], findings: &[Finding]) {
        let states: Vec<(String, bool)> = sources
            .iter()
            .map(|s| (state::source_name(s), s.is_ok()))
            .collect();
        for (s, (name, ok)) in sources.iter().zip(&states) {
            if self.sources.contains(&(name.clone(), *ok)) {
                continue;
            }
            if *ok {
                tracing::info!(source = %name, observations = s.observations, "source read");
            } else {
                let errors = crate::text::redact(&s.errors.join("; "));
                tracing::warn!(source = %name, stale = s.stale, errors = %errors, "source not read");
            }
        }
        self.sources = states;
        let now: BTreeSet<(String, String, String, String)> = findings
            .iter()
            .map(|f| {
                (
                    f.kind.code().to_string(),
                    f.cluster.clone(),
                    f.instance.clone().unwrap_or_default(),
                    f.severity.name().to_string(),
                )
            })
            .collect();
        for (kind, cluster, instance, severity) in now.difference(&self.findings) {
            tracing::info!(%kind, %cluster, %instance, %severity, "finding appeared");
        }
        for (kind, cluster, instance, _) in self.findings.difference(&now) {
            tracing::info!(%kind, %cluster, %instance, "finding resolved");
        }
        self.findings = now;
    }
}

#[cfg(test)]
mod tests {
    /// Every file of this module, for the import rule below.
    const FILES: [(&str, &str); 5] = [
        ("mod.rs", include_str!("mod.rs")),
        ("http.rs", include_str!("http.rs")),
        ("metrics.rs", include_str!("metrics.rs")),
        ("process.rs", include_str!("process.rs")),
        ("state.rs", include_str!("state.rs")),
    ];

    #[test]
    fn no_write_path_is_compiled_into_the_service() {
        for (name, text) in FILES {
            for forbidden in ["crate::fix", "roster::fix", "super::super::fix"] {
                let hits = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.starts_with("//") && !l.starts_with("for forbidden"))
                    .filter(|l| l.contains(forbidden))
                    .count();
                assert_eq!(hits, 0, "src/serve/{name} imports {forbidden}");
            }
        }
    }
}
