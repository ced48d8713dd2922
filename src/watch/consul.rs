//! Watching Consul with blocking queries: one loop on `catalog/services` for services
//! that come and go, and one per identity-bearing service, each answered only when that
//! service changes, so nothing unchanged is fetched again.

use super::WatchHandle;
use super::backoff::Backoff;
use crate::consul::{Blocking, ConsulClient};
use crate::fleet::consul_service_name;
use crate::observation::{Observation, SourceOutput, SourceReport, SourceStatus};
use crate::source::consul::{ConsulIndices, read_service, read_services, sort_observations};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

/// How a Consul watch behaves.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// How long Consul may hold one blocking query.
    pub wait: Duration,
    /// At most this many per-service blocking queries are open at once (Consul limits
    /// connections per client); services beyond it are re-read when the catalog changes.
    pub limit: usize,
    /// Shortest time between two queries of one loop (Consul asks clients to rate-limit).
    pub min_interval: Duration,
    /// How long changes are gathered before one update is sent.
    pub coalesce: Duration,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            wait: Duration::from_secs(120),
            limit: 128,
            min_interval: Duration::from_millis(100),
            coalesce: Duration::from_millis(50),
        }
    }
}

/// What the watch knows, shared by its loops.
struct Shared {
    report: SourceReport,
    services: BTreeMap<String, Vec<Arc<Observation>>>,
    errors: BTreeMap<String, String>,
    read_at: Option<SystemTime>,
}

type SharedRef = Arc<Mutex<Shared>>;

/// Starts watching from a completed read (`seed`, with the index of every answer).
pub fn spawn(
    client: ConsulClient,
    seed: SourceOutput,
    indices: ConsulIndices,
    options: WatchOptions,
    tx: mpsc::Sender<SourceOutput>,
) -> WatchHandle {
    WatchHandle::new(tokio::spawn(supervise(client, seed, indices, options, tx)))
}

fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
    // A loop that panicked while holding the lock left consistent data behind (every
    // update is a single insert), so the poison can be ignored.
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

async fn supervise(
    client: ConsulClient,
    seed: SourceOutput,
    indices: ConsulIndices,
    options: WatchOptions,
    tx: mpsc::Sender<SourceOutput>,
) {
    let mut services: BTreeMap<String, Vec<Arc<Observation>>> = BTreeMap::new();
    for o in seed.observations {
        if let Some(name) = consul_service_name(&o) {
            services.entry(name.to_string()).or_default().push(o);
        }
    }
    let mut report = seed.report;
    report.errors.clear();
    report.status = SourceStatus::Ok;
    report.stale = false;
    let shared: SharedRef = Arc::new(Mutex::new(Shared {
        read_at: report.read_at,
        report,
        services,
        errors: BTreeMap::new(),
    }));
    let notify = Arc::new(Notify::new());
    let mut tasks = JoinSet::new();
    tasks.spawn(publish(shared.clone(), notify.clone(), options.clone(), tx));

    let mut known: BTreeSet<String> = indices.services.keys().cloned().collect();
    let mut watched: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
    // The biggest services first: they carry the node roles.
    let mut identity: Vec<(String, usize)> = lock(&shared)
        .services
        .iter()
        .map(|(k, v)| (k.clone(), v.len()))
        .collect();
    identity.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (name, _) in identity.into_iter().take(options.limit) {
        let index = indices.services.get(&name).copied().unwrap_or(0);
        let h = tasks.spawn(watch_service(
            client.clone(),
            name.clone(),
            index,
            shared.clone(),
            notify.clone(),
            options.clone(),
        ));
        watched.insert(name, h);
    }

    let mut index = indices.catalog;
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        let blocking = Blocking {
            index,
            wait: options.wait,
        };
        match client.services(Some(blocking)).await {
            Ok((names, meta)) => {
                backoff.reset();
                set_error(&shared, &notify, "catalog", None);
                let next = next_index(index, meta.index);
                let changed = meta.index != index;
                index = next;
                if changed {
                    lock(&shared)
                        .report
                        .facts
                        .insert("index".into(), meta.index.to_string());
                    let names: BTreeSet<String> = names.into_keys().collect();
                    catalog_changed(
                        &client,
                        &names,
                        &mut known,
                        &mut watched,
                        &mut tasks,
                        &shared,
                        &notify,
                        &options,
                    )
                    .await;
                }
            }
            Err(e) => {
                set_error(&shared, &notify, "catalog", Some(e.to_string()));
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
        pace(started, options.min_interval).await;
    }
}

/// Services that appeared are read (and watched while there is room), services that
/// went away are dropped, and identity services without a loop of their own are re-read.
#[allow(clippy::too_many_arguments)]
async fn catalog_changed(
    client: &ConsulClient,
    names: &BTreeSet<String>,
    known: &mut BTreeSet<String>,
    watched: &mut HashMap<String, tokio::task::AbortHandle>,
    tasks: &mut JoinSet<()>,
    shared: &SharedRef,
    notify: &Arc<Notify>,
    options: &WatchOptions,
) {
    let removed: Vec<String> = known.difference(names).cloned().collect();
    {
        let mut s = lock(shared);
        for name in &removed {
            s.services.remove(name);
            s.errors.remove(name);
        }
    }
    for name in &removed {
        if let Some(h) = watched.remove(name) {
            h.abort();
        }
    }
    let added: Vec<String> = names.difference(known).cloned().collect();
    let unwatched: Vec<String> = lock(shared)
        .services
        .keys()
        .filter(|n| !watched.contains_key(*n) && names.contains(*n))
        .cloned()
        .collect();
    let mut to_read = added.clone();
    to_read.extend(unwatched);
    for (name, result) in read_services(client, to_read).await {
        match result {
            Ok((obs, index)) => {
                let has_identity = !obs.is_empty();
                lock(shared)
                    .services
                    .insert(name.clone(), obs.into_iter().map(Arc::new).collect());
                if has_identity && !watched.contains_key(&name) && watched.len() < options.limit {
                    let h = tasks.spawn(watch_service(
                        client.clone(),
                        name.clone(),
                        index,
                        shared.clone(),
                        notify.clone(),
                        options.clone(),
                    ));
                    watched.insert(name, h);
                }
            }
            Err(e) => {
                lock(shared).errors.insert(name, e);
            }
        }
    }
    *known = names.clone();
    notify.notify_one();
}

/// One service's blocking loop: answers come only when the service changed or the wait ran out.
async fn watch_service(
    client: ConsulClient,
    name: String,
    mut index: u64,
    shared: SharedRef,
    notify: Arc<Notify>,
    options: WatchOptions,
) {
    let mut backoff = Backoff::default();
    loop {
        let started = Instant::now();
        let blocking = Blocking {
            index,
            wait: options.wait,
        };
        match read_service(&client, &name, Some(blocking)).await {
            Ok((obs, new_index)) => {
                backoff.reset();
                set_error(&shared, &notify, &name, None);
                if new_index != index {
                    lock(&shared)
                        .services
                        .insert(name.clone(), obs.into_iter().map(Arc::new).collect());
                    notify.notify_one();
                }
                index = next_index(index, new_index);
            }
            Err(e) => {
                set_error(&shared, &notify, &name, Some(e));
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
        pace(started, options.min_interval).await;
    }
}

/// The index to block on next, by Consul's client rules: an index that went backwards
/// starts over at 0 (the next answer comes at once), and an index below 1 counts as 1.
pub fn next_index(previous: u64, returned: u64) -> u64 {
    if returned < previous {
        tracing::info!(
            previous,
            returned,
            "Consul index went backwards; starting over"
        );
        0
    } else {
        returned.max(1)
    }
}

/// Waits until `min` has passed since `started`: the rate limit of a blocking-query loop,
/// since a server may answer every blocking query at once.
pub async fn pace(started: Instant, min: Duration) {
    let spent = started.elapsed();
    if spent < min {
        tokio::time::sleep(min - spent).await;
    }
}

fn set_error(shared: &SharedRef, notify: &Notify, key: &str, error: Option<String>) {
    let mut s = lock(shared);
    let changed = match error {
        Some(e) => {
            let changed = s.errors.insert(key.to_string(), e.clone()).as_ref() != Some(&e);
            if changed {
                tracing::warn!(watch = key, error = %e, "Consul watch failing; retrying with backoff");
            }
            changed
        }
        None => {
            let recovered = s.errors.remove(key).is_some();
            if recovered {
                tracing::info!(watch = key, "Consul watch recovered");
            }
            recovered
        }
    };
    if changed {
        notify.notify_one();
    }
}

/// Sends one update per burst of changes.
async fn publish(
    shared: SharedRef,
    notify: Arc<Notify>,
    options: WatchOptions,
    tx: mpsc::Sender<SourceOutput>,
) {
    loop {
        notify.notified().await;
        tokio::time::sleep(options.coalesce).await;
        let output = snapshot(&mut lock(&shared));
        if tx.send(output).await.is_err() {
            return;
        }
    }
}

/// The watch's current knowledge as one source output.
fn snapshot(s: &mut Shared) -> SourceOutput {
    let mut report = s.report.clone();
    if s.errors.is_empty() {
        s.read_at = Some(SystemTime::now());
        report.facts.insert("watch".into(), "live".into());
    } else {
        report.status = SourceStatus::Error;
        // Stale only when there is earlier data to show; without any it is just an error.
        report.stale = s.services.values().any(|v| !v.is_empty());
        // The catalog's own error says most; then a few of the others, counted.
        let mut errors: Vec<&String> = s.errors.get("catalog").into_iter().collect();
        let mut distinct: BTreeSet<&String> = BTreeSet::new();
        for (k, e) in &s.errors {
            if k != "catalog" && distinct.insert(e) && distinct.len() <= 3 {
                errors.push(e);
            }
        }
        report.errors = errors.into_iter().cloned().collect();
        if s.errors.len() > report.errors.len() {
            report
                .errors
                .push(format!("{} Consul reads failing in all", s.errors.len()));
        }
        report.facts.insert("watch".into(), "retrying".into());
    }
    report.read_at = s.read_at;
    let mut observations: Vec<Arc<Observation>> = s.services.values().flatten().cloned().collect();
    sort_observations(&mut observations);
    SourceOutput::shared(report, observations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_rules() {
        assert_eq!(next_index(10, 12), 12);
        assert_eq!(next_index(10, 10), 10);
        assert_eq!(next_index(10, 3), 0, "went backwards: start over");
        assert_eq!(next_index(0, 0), 1, "below 1 counts as 1");
    }
}
