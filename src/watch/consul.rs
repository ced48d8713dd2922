//! Watching Consul with blocking queries: one loop on `catalog/services` for services
//! that come and go, and one per identity-bearing service while connections allow (the
//! services shared by every node first), each answered only when that service changes,
//! so nothing unchanged is fetched again; the services beyond the limit are re-read
//! only where a change was seen (`consul_nodes`). After a failure, an index
//! that went backwards, or a refresh, a loop re-reads without an index first: Consul may
//! have restarted with lower indexes, and a blocking query on an index it has not reached
//! would wait out its whole `wait` while Consul answers.

use super::backoff::Backoff;
use super::consul_nodes::{changed_nodes, refresh_nodes, watch_health};
use super::loops::{CATALOG, LoopState, Loops};
use super::{CONFIRMING, LIVE, RETRYING, STANDING, WatchHandle};
use crate::consul::{Blocking, ConsulClient};
use crate::fleet::consul_service_name;
use crate::observation::{Observation, SourceOutput, SourceReport, SourceStatus};
use crate::source::consul::{
    ConsulIndices, SharedCompactor, read_service, read_services, sort_observations,
};
use crate::source::consul_compact::Compactor;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{Notify, mpsc, watch};
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
pub(super) struct Shared {
    report: SourceReport,
    pub(super) services: BTreeMap<String, Vec<Arc<Observation>>>,
    pub(super) loops: Loops,
    read_at: Option<SystemTime>,
    /// The services with a blocking loop of their own.
    pub(super) watched: BTreeSet<String>,
}

type SharedRef = Arc<Mutex<Shared>>;

/// What every loop of one watch works with.
#[derive(Clone)]
pub(super) struct Ctx {
    pub(super) client: ConsulClient,
    pub(super) shared: SharedRef,
    /// Shared with every read of the watch, so re-read services share the seed's strings.
    pub(super) compactor: SharedCompactor,
    pub(super) notify: Arc<Notify>,
    pub(super) options: WatchOptions,
    pub(super) refresh: watch::Receiver<()>,
    /// Nodes whose unwatched services must be re-read.
    nodes: mpsc::UnboundedSender<String>,
}

/// Starts watching from a completed read (`seed`, with the index of every answer).
/// [`WatchHandle::refresh`] makes every loop re-read without an index at once.
pub fn spawn(
    client: ConsulClient,
    seed: SourceOutput,
    indices: ConsulIndices,
    options: WatchOptions,
    tx: mpsc::Sender<SourceOutput>,
) -> WatchHandle {
    let (refresh, refresh_rx) = watch::channel(());
    let task = tokio::spawn(supervise(client, seed, indices, options, tx, refresh_rx));
    WatchHandle::refreshable(task, refresh)
}

pub(super) fn lock(shared: &SharedRef) -> std::sync::MutexGuard<'_, Shared> {
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
    refresh: watch::Receiver<()>,
) {
    let compactor = Arc::new(Mutex::new(Compactor::adopting(&seed)));
    let mut services: BTreeMap<String, Vec<Arc<Observation>>> = BTreeMap::new();
    for o in seed.observations {
        if let Some(name) = consul_service_name(&o) {
            services.entry(name.to_string()).or_default().push(o);
        }
    }
    let mut loops = Loops::default();
    let mut index = indices.catalog;
    // The services that failed in the seed are known only by their errors: the catalog
    // is read again at once (without an index), which reads them as new.
    if let Some(first) = seed.report.errors.first() {
        let more = seed.report.errors.len() - 1;
        let error = match more {
            0 => first.clone(),
            n => format!("{first} (and {n} more errors)"),
        };
        loops.failed(CATALOG, error);
        index = 0;
    }
    let mut report = seed.report;
    report.errors.clear();
    report.status = SourceStatus::Ok;
    report.stale = false;
    let (nodes, nodes_rx) = mpsc::unbounded_channel();
    let ctx = Ctx {
        client,
        compactor,
        nodes,
        shared: Arc::new(Mutex::new(Shared {
            read_at: report.read_at,
            report,
            services,
            loops,
            watched: BTreeSet::new(),
        })),
        notify: Arc::new(Notify::new()),
        options,
        refresh,
    };
    let mut tasks = JoinSet::new();
    tasks.spawn(publish(
        ctx.shared.clone(),
        ctx.compactor.clone(),
        ctx.notify.clone(),
        ctx.options.clone(),
        tx,
    ));

    tasks.spawn(refresh_nodes(ctx.clone(), nodes_rx));

    let mut known: BTreeSet<String> = indices.services.keys().cloned().collect();
    let mut watched: HashMap<String, tokio::task::AbortHandle> = HashMap::new();
    let ranked = by_value(&lock(&ctx.shared).services);
    for name in ranked.into_iter().take(ctx.options.limit) {
        let index = indices.services.get(&name).copied().unwrap_or(0);
        let h = tasks.spawn(watch_service(ctx.clone(), name.clone(), index, false));
        watched.insert(name, h);
    }
    let mut health = false;
    follow_the_rest(&ctx, &watched, &mut health, &mut tasks);

    let mut refresh = ctx.refresh.clone();
    let mut backoff = Backoff::default();
    let mut last: Option<Instant> = None;
    loop {
        if take_refresh(&mut refresh) {
            index = 0;
        }
        if index == 0 {
            confirming(&ctx, CATALOG);
        }
        pace(last, ctx.options.min_interval).await;
        last = Some(Instant::now());
        let read = ctx.client.services(blocking(index, ctx.options.wait));
        let Some(result) = unless_refreshed(read, &mut refresh).await else {
            index = 0;
            continue;
        };
        match result {
            Ok((names, meta)) => {
                backoff.reset();
                let asked = index;
                index = next_index(asked, meta.index);
                if meta.index != asked {
                    lock(&ctx.shared)
                        .report
                        .facts
                        .insert("index".into(), meta.index.to_string());
                    let names: BTreeSet<String> = names.into_keys().collect();
                    // A read without an index may follow a failure or a restart: then
                    // every unwatched service is read again, not only the new ones.
                    let full = asked == 0;
                    catalog_changed(&ctx, &names, full, &mut known, &mut watched, &mut tasks).await;
                    follow_the_rest(&ctx, &watched, &mut health, &mut tasks);
                }
                // An index that went backwards leaves the catalog in doubt until re-read.
                if index != 0 {
                    answered(&ctx, CATALOG);
                }
            }
            Err(e) => {
                // Consul may have restarted with lower indexes: a blocking query on the
                // old one would wait out its whole `wait` while Consul answers.
                index = 0;
                failed(&ctx, CATALOG, e.to_string());
                sleep_unless_refreshed(backoff.next_delay(), &mut refresh).await;
            }
        }
    }
}

/// The identity services, those that carry the most nodes' roles first: the shared
/// services (on every node of many clusters) name the nodes that change, a cluster's
/// own services only that cluster's.
fn by_value(services: &BTreeMap<String, Vec<Arc<Observation>>>) -> Vec<String> {
    let mut ranked: Vec<(usize, usize, &String)> = services
        .iter()
        .map(|(name, obs)| {
            let clusters: BTreeSet<&str> = obs.iter().map(|o| o.cluster.as_str()).collect();
            (clusters.len(), obs.len(), name)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    ranked.into_iter().map(|(_, _, n)| n.clone()).collect()
}

/// Records which services have a loop, and starts the health loop once some do not.
fn follow_the_rest(
    ctx: &Ctx,
    watched: &HashMap<String, tokio::task::AbortHandle>,
    health: &mut bool,
    tasks: &mut JoinSet<()>,
) {
    let mut s = lock(&ctx.shared);
    s.watched = watched.keys().cloned().collect();
    let unwatched = s.services.keys().any(|n| !s.watched.contains(n));
    drop(s);
    if unwatched && !*health {
        *health = true;
        tasks.spawn(watch_health(ctx.clone(), ctx.nodes.clone()));
    }
}

/// Services that appeared are read (and watched while there is room) and services that
/// went away are dropped; after a read without an index (`full`), identity services
/// without a loop of their own are re-read too.
async fn catalog_changed(
    ctx: &Ctx,
    names: &BTreeSet<String>,
    full: bool,
    known: &mut BTreeSet<String>,
    watched: &mut HashMap<String, tokio::task::AbortHandle>,
    tasks: &mut JoinSet<()>,
) {
    let removed: Vec<String> = known.difference(names).cloned().collect();
    {
        let mut s = lock(&ctx.shared);
        for name in &removed {
            s.services.remove(name);
            s.loops.forget(name);
        }
    }
    for name in &removed {
        if let Some(h) = watched.remove(name) {
            h.abort();
        }
    }
    let added: Vec<String> = names.difference(known).cloned().collect();
    let unwatched: Vec<String> = lock(&ctx.shared)
        .services
        .keys()
        .filter(|n| full && !watched.contains_key(*n) && names.contains(*n))
        .cloned()
        .collect();
    let mut to_read = added;
    to_read.extend(unwatched);
    *known = names.clone();
    for (name, result) in read_services(&ctx.client, to_read, &ctx.compactor).await {
        let room = !watched.contains_key(&name) && watched.len() < ctx.options.limit;
        match result {
            Ok((obs, index)) => {
                let has_identity = !obs.is_empty();
                {
                    let mut s = lock(&ctx.shared);
                    s.services.insert(name.clone(), obs);
                    s.loops.answered(&name);
                }
                if has_identity && room {
                    let h = tasks.spawn(watch_service(ctx.clone(), name.clone(), index, false));
                    watched.insert(name, h);
                }
            }
            Err(e) => {
                lock(&ctx.shared).loops.failed(&name, e);
                // Whether it carries identity is unknown until it answers: its own loop
                // retries it with backoff; without room, the next catalog change does.
                if room {
                    let h = tasks.spawn(watch_service(ctx.clone(), name.clone(), 0, true));
                    watched.insert(name, h);
                } else {
                    known.remove(&name);
                }
            }
        }
    }
    ctx.notify.notify_one();
}

/// One service's blocking loop: answers come only when the service changed or the wait
/// ran out. `retry` starts it with a backoff delay (its first read already failed).
async fn watch_service(ctx: Ctx, name: String, mut index: u64, retry: bool) {
    let mut refresh = ctx.refresh.clone();
    let mut backoff = Backoff::default();
    if retry {
        sleep_unless_refreshed(backoff.next_delay(), &mut refresh).await;
    }
    let mut last: Option<Instant> = None;
    loop {
        if take_refresh(&mut refresh) {
            index = 0;
        }
        if index == 0 {
            confirming(&ctx, &name);
        }
        pace(last, ctx.options.min_interval).await;
        last = Some(Instant::now());
        let read = read_service(
            &ctx.client,
            &name,
            blocking(index, ctx.options.wait),
            &ctx.compactor,
        );
        let Some(result) = unless_refreshed(read, &mut refresh).await else {
            index = 0;
            continue;
        };
        match result {
            Ok((obs, new_index)) => {
                backoff.reset();
                if new_index != index {
                    let mut s = lock(&ctx.shared);
                    // The nodes this answer changed have their unwatched services re-read.
                    if s.services.len() > s.watched.len() {
                        let old = s.services.get(&name).map(Vec::as_slice).unwrap_or(&[]);
                        for node in changed_nodes(old, &obs) {
                            let _ = ctx.nodes.send(node);
                        }
                    }
                    s.services.insert(name.clone(), obs);
                    drop(s);
                    ctx.notify.notify_one();
                }
                index = next_index(index, new_index);
                if index != 0 {
                    answered(&ctx, &name);
                }
            }
            Err(e) => {
                index = 0;
                failed(&ctx, &name, e);
                sleep_unless_refreshed(backoff.next_delay(), &mut refresh).await;
            }
        }
    }
}

/// A blocking query on `index`, or, at 0, a plain read that answers at once with the
/// current index (and the short request timeout, not the long wait's).
pub(super) fn blocking(index: u64, wait: Duration) -> Option<Blocking> {
    (index > 0).then_some(Blocking { index, wait })
}

/// The index to block on next, by Consul's client rules: an index that went backwards
/// starts over at 0 (the next read has no index and answers at once), and an index
/// below 1 counts as 1.
pub fn next_index(previous: u64, returned: u64) -> u64 {
    if returned < previous {
        tracing::info!(
            previous,
            returned,
            "Consul index went backwards; re-reading without an index"
        );
        0
    } else {
        returned.max(1)
    }
}

/// True (once) when a refresh was asked for since the last look.
pub(super) fn take_refresh(refresh: &mut watch::Receiver<()>) -> bool {
    let asked = refresh.has_changed().unwrap_or(false);
    if asked {
        refresh.borrow_and_update();
    }
    asked
}

/// Resolves when a refresh is asked for; never once nobody can ask any more.
async fn refreshed(refresh: &mut watch::Receiver<()>) {
    if refresh.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The read's result, or None when a refresh cut it short (the read is dropped, which
/// closes its connection).
pub(super) async fn unless_refreshed<T>(
    read: impl std::future::Future<Output = T>,
    refresh: &mut watch::Receiver<()>,
) -> Option<T> {
    tokio::select! {
        biased;
        () = refreshed(refresh) => None,
        result = read => Some(result),
    }
}

pub(super) async fn sleep_unless_refreshed(delay: Duration, refresh: &mut watch::Receiver<()>) {
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        () = refreshed(refresh) => {}
    }
}

/// Keeps two reads of one loop at least `min` apart (Consul asks clients to rate-limit,
/// and a server may answer every blocking query at once).
pub async fn pace(last: Option<Instant>, min: Duration) {
    if let Some(spent) = last.map(|l| l.elapsed())
        && spent < min
    {
        tokio::time::sleep(min - spent).await;
    }
}

pub(super) fn answered(ctx: &Ctx, key: &str) {
    let mut s = lock(&ctx.shared);
    let was_failing = matches!(s.loops.get(key), Some(LoopState::Failed(_)));
    if s.loops.answered(key) {
        ctx.notify.notify_one();
    }
    if was_failing {
        tracing::info!(watch = key, "Consul watch recovered");
    }
}

pub(super) fn failed(ctx: &Ctx, key: &str, error: String) {
    let mut s = lock(&ctx.shared);
    if s.loops.failed(key, error.clone()) {
        tracing::warn!(watch = key, %error, "Consul watch failing; retrying with backoff");
        ctx.notify.notify_one();
    }
}

pub(super) fn confirming(ctx: &Ctx, key: &str) {
    if lock(&ctx.shared).loops.confirming(key) {
        ctx.notify.notify_one();
    }
}

/// Sends one update per burst of changes.
async fn publish(
    shared: SharedRef,
    compactor: SharedCompactor,
    notify: Arc<Notify>,
    options: WatchOptions,
    tx: mpsc::Sender<SourceOutput>,
) {
    loop {
        notify.notified().await;
        tokio::time::sleep(options.coalesce).await;
        let output = snapshot(&mut lock(&shared), SystemTime::now());
        // Replaced observations let go of what only they held.
        compactor.lock().unwrap_or_else(|p| p.into_inner()).sweep();
        if tx.send(output).await.is_err() {
            return;
        }
    }
}

/// The watch's current knowledge as one source output, at `now`: fresh only when every
/// loop has answered; in doubt (`confirming`, not stale) while a loop re-reads without
/// an index; stale with the failing loops' errors while any fails.
fn snapshot(s: &mut Shared, now: SystemTime) -> SourceOutput {
    let mut report = s.report.clone();
    let summary = s.loops.summary();
    let standing = if summary.confirmed() {
        s.read_at = Some(now);
        LIVE
    } else if summary.failing == 0 {
        CONFIRMING
    } else {
        report.status = SourceStatus::Error;
        // Stale only when there is earlier data to show; without any it is just an error.
        report.stale = s.services.values().any(|v| !v.is_empty());
        report.errors = summary.errors;
        RETRYING
    };
    report.facts.insert(STANDING.into(), standing.into());
    report.read_at = s.read_at;
    let mut observations: Vec<Arc<Observation>> = s.services.values().flatten().cloned().collect();
    sort_observations(&mut observations);
    SourceOutput::shared(report, observations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::SourceKind;

    fn at(secs: u64) -> SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    /// A watch of one service that has answered once, at `at(0)`.
    fn watching_postgres() -> Shared {
        let o = Observation::test(SourceKind::Consul, "pg-a").seq(1);
        let mut loops = Loops::default();
        loops.answered(CATALOG);
        loops.answered("postgres");
        Shared {
            report: SourceReport::new(SourceKind::Consul, "http://127.0.0.1:8500"),
            services: BTreeMap::from([("postgres".to_string(), vec![Arc::new(o)])]),
            loops,
            read_at: Some(at(0)),
            watched: BTreeSet::from(["postgres".to_string()]),
        }
    }

    #[test]
    fn an_error_is_shown_until_its_loop_answers_and_not_after() {
        let mut s = watching_postgres();
        s.loops.failed("postgres", "cannot reach Consul".into());
        let out = snapshot(&mut s, at(5));
        assert!(out.report.stale && !out.report.is_ok());
        assert_eq!(out.report.errors, ["cannot reach Consul"]);
        assert_eq!(out.report.read_at, Some(at(0)), "the data's age goes on");
        assert_eq!(out.report.facts[STANDING], RETRYING);
        assert_eq!(out.observations.len(), 1, "the last good data is kept");

        // The catalog answering is not the service's recovery.
        s.loops.answered(CATALOG);
        assert!(snapshot(&mut s, at(6)).report.stale);

        s.loops.answered("postgres");
        let out = snapshot(&mut s, at(7));
        assert!(out.report.is_ok() && !out.report.stale);
        assert!(out.report.errors.is_empty());
        assert_eq!(out.report.read_at, Some(at(7)));
        assert_eq!(out.report.facts[STANDING], LIVE);
    }

    #[test]
    fn a_watch_re_reading_without_an_index_is_not_live_until_every_loop_answers() {
        let mut s = watching_postgres();
        s.loops.confirming(CATALOG);
        s.loops.confirming("postgres");
        let out = snapshot(&mut s, at(5));
        // Nothing failed: not stale, no error, but not confirmed either.
        assert!(out.report.is_ok() && !out.report.stale);
        assert_eq!(out.report.facts[STANDING], CONFIRMING);
        assert_eq!(out.report.read_at, Some(at(0)), "not read again yet");
        s.loops.answered(CATALOG);
        assert_eq!(snapshot(&mut s, at(6)).report.facts[STANDING], CONFIRMING);
        s.loops.answered("postgres");
        let out = snapshot(&mut s, at(7));
        assert_eq!(out.report.facts[STANDING], LIVE);
        assert_eq!(out.report.read_at, Some(at(7)));
    }

    #[test]
    fn a_read_without_an_index_is_not_a_blocking_query() {
        let wait = Duration::from_secs(120);
        assert_eq!(blocking(0, wait), None);
        assert_eq!(blocking(7, wait), Some(Blocking { index: 7, wait }));
    }

    #[test]
    fn index_rules() {
        assert_eq!(next_index(10, 12), 12);
        assert_eq!(next_index(10, 10), 10);
        assert_eq!(next_index(10, 3), 0, "went backwards: start over");
        assert_eq!(next_index(0, 0), 1, "below 1 counts as 1");
    }
}
