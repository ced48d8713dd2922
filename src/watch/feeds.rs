//! Live data for a long-running view (the UI, `roster serve`): the latest output of
//! every source, the watches that renew them, and the rebuild of the fleet off the
//! caller's loop whenever one changes; each rebuilt fleet tells the live poller which
//! instances to ask next.

use crate::config::Settings;
use crate::consul::ConsulClient;
use crate::fleet::{Datacenter, Fleet};
use crate::gather::{Gathered, gather};
use crate::observation::{SourceKind, SourceOutput, SourceReport};
use crate::report::CheckResult;
use crate::source;
use crate::source::probe::LiveTarget;
use crate::watch::consul::WatchOptions;
use crate::watch::datacenters::DatacenterWatches;
use crate::watch::live::LivePoller;
use crate::watch::{WatchHandle, files, keep_last_good};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// What background work reports back to the loop that owns the [`Live`].
#[derive(Debug)]
pub enum LiveEvent {
    /// A full read of every source finished.
    Gathered(Box<Gathered>),
    /// A fleet rebuilt from the latest outputs.
    Built {
        /// The fleet and its findings.
        result: Box<CheckResult>,
        /// The instances of that fleet to probe, when the live source is on.
        targets: Option<Vec<LiveTarget>>,
    },
    /// A rebuild died (a bug); the next change tries again.
    BuildFailed,
    /// Time to read everything again (the datacenters could not be listed).
    ReadAgain,
}

/// How long to wait before listing the datacenters again after a failure.
const LIST_AGAIN: Duration = Duration::from_secs(10);

/// Keeps every source current and turns their outputs into fleets for a view.
pub struct Live {
    settings: Settings,
    latest: Vec<SourceOutput>,
    notes: Vec<String>,
    consul_watch: Option<WatchHandle>,
    file_watches: Option<Vec<WatchHandle>>,
    live_poller: Option<LivePoller>,
    live_every: Duration,
    /// With several datacenters: those read, nearest first.
    datacenters: Vec<Datacenter>,
    dc_watches: DatacenterWatches,
    events: mpsc::Sender<LiveEvent>,
    updates: mpsc::Sender<SourceOutput>,
    reading: bool,
    building: bool,
    dirty: bool,
}

impl Live {
    /// A live view of the configured sources; nothing is read until [`Live::read_all`].
    pub fn new(
        settings: Settings,
        events: mpsc::Sender<LiveEvent>,
        updates: mpsc::Sender<SourceOutput>,
    ) -> Live {
        Live {
            settings,
            latest: Vec::new(),
            notes: Vec::new(),
            consul_watch: None,
            file_watches: None,
            live_poller: None,
            live_every: crate::watch::live::EVERY,
            datacenters: Vec::new(),
            dc_watches: DatacenterWatches::default(),
            events,
            updates,
            reading: false,
            building: false,
            dirty: false,
        }
    }

    /// Asks the databases every `every` instead of every [`crate::watch::live::EVERY`].
    pub fn with_live_every(mut self, every: Duration) -> Live {
        self.live_every = every;
        self
    }

    /// Reads every source once more (unless a read is already running). A running
    /// Consul watch re-reads instead, every loop without an index, so that no loop keeps
    /// blocking on an index from before a Consul restart; it stays the one voice of
    /// Consul, and what the full read says of Consul is left out.
    pub fn read_all(&mut self) {
        if self.reading {
            return;
        }
        self.reading = true;
        if let Some(w) = self.consul_watching() {
            w.refresh();
        }
        let settings = self.settings.clone();
        let tx = self.events.clone();
        tokio::spawn(async move {
            let g = gather(&settings).await;
            let _ = tx.send(LiveEvent::Gathered(Box::new(g))).await;
        });
    }

    /// Switches Consul to another datacenter: its watch restarts from a fresh read. With
    /// several datacenters read, every one is already watched: nothing to switch.
    pub fn set_datacenter(&mut self, dc: String) {
        if self.settings.datacenters.is_some() {
            return;
        }
        if let Some(c) = self.settings.consul.as_mut() {
            c.config.datacenter = Some(dc.clone());
            self.consul_watch = None;
            // Until the new datacenter answers, Consul is unread there, not empty: a
            // rebuild in between must not find every instance clean without it.
            let location = self
                .output(SourceKind::Consul)
                .map(|o| o.report.location)
                .unwrap_or_default();
            let mut pending = SourceReport::new(SourceKind::Consul, location);
            pending.error(format!("datacenter {dc}: not read yet"));
            pending.read_at = None;
            self.latest.retain(|o| o.report.kind != SourceKind::Consul);
            self.store(SourceOutput::new(pending, Vec::new()), false);
            self.read_all();
        }
    }

    /// Handles background news; returns a fleet when one is ready for the view.
    pub fn on_event(&mut self, event: LiveEvent) -> Option<CheckResult> {
        match event {
            LiveEvent::Gathered(g) => {
                self.reading = false;
                let g = *g;
                self.notes = g.notes;
                let read = g.outputs.len();
                if self.settings.datacenters.is_some() {
                    // A full read says which datacenters exist now: forget the others.
                    let keys: Vec<_> = g.outputs.iter().map(key).collect();
                    self.latest.retain(|o| keys.contains(&key(o)));
                    self.datacenters = g.datacenters.clone();
                    if g.datacenters.is_empty() {
                        self.read_again_later();
                    }
                }
                let watched = self.consul_watching().is_some();
                let mut as_read = true;
                for out in g.outputs {
                    // Two voices for one source would let the older answer win.
                    if watched
                        && out.report.kind == SourceKind::Consul
                        && out.report.datacenter.is_none()
                    {
                        as_read = false;
                        continue;
                    }
                    as_read &= self.store(out, true);
                }
                self.start_watches(g.consul_indices);
                self.start_datacenter_watches(g.datacenter_indices);
                // The read's own fleet is the one to show unless older data was kept.
                let fleet = (as_read && self.latest.len() == read).then_some(g.fleet);
                self.rebuild(fleet);
                None
            }
            LiveEvent::Built { result, targets } => {
                self.building = false;
                if let (Some(poller), Some(targets)) = (&self.live_poller, targets) {
                    poller.follow(targets);
                }
                if self.dirty {
                    self.dirty = false;
                    self.rebuild(None);
                }
                Some(*result)
            }
            LiveEvent::BuildFailed => {
                self.building = false;
                None
            }
            LiveEvent::ReadAgain => {
                self.read_all();
                None
            }
        }
    }

    fn read_again_later(&self) {
        let tx = self.events.clone();
        tokio::spawn(async move {
            tokio::time::sleep(LIST_AGAIN).await;
            let _ = tx.send(LiveEvent::ReadAgain).await;
        });
    }

    /// The datacenters being read, nearest first (empty with one).
    pub fn datacenters(&self) -> &[Datacenter] {
        &self.datacenters
    }

    /// A watch sent a new output for its source.
    pub fn on_update(&mut self, output: SourceOutput) {
        self.store(output, false);
        self.rebuild(None);
    }

    /// Keeps the output as its source's latest; false when a failed read left the
    /// previous one in place instead (`guard`).
    fn store(&mut self, output: SourceOutput, guard: bool) -> bool {
        let k = key(&output);
        let pos = self.latest.iter().position(|o| key(o) == k);
        let (output, as_read) = if guard {
            // A fresh read is never stale: a stale output is the previous one, kept.
            let kept = keep_last_good(pos.map(|p| &self.latest[p]), output);
            let as_read = !kept.report.stale;
            (kept, as_read)
        } else {
            (output, true)
        };
        match pos {
            Some(p) => self.latest[p] = output,
            None => {
                self.latest.push(output);
                self.latest.sort_by_key(key);
            }
        }
        as_read
    }

    /// With several datacenters: each one's Consul watch and its own files' watches.
    fn start_datacenter_watches(&mut self, indices: Vec<(String, source::consul::ConsulIndices)>) {
        let (Some(several), Some(consul)) = (&self.settings.datacenters, &self.settings.consul)
        else {
            return;
        };
        let latest = &self.latest;
        let seed = |kind: SourceKind, dc: &str| {
            latest
                .iter()
                .find(|o| o.report.kind == kind && o.report.datacenter.as_deref() == Some(dc))
                .cloned()
        };
        // A read that could not list the datacenters says nothing of the ones watched.
        if !self.datacenters.is_empty() {
            self.dc_watches
                .start_consul(&consul.config, indices, seed, &self.updates);
        }
        self.dc_watches.start_files(several, seed, &self.updates);
    }

    /// The Consul watch, while it runs.
    fn consul_watching(&self) -> Option<&WatchHandle> {
        self.consul_watch.as_ref().filter(|w| !w.is_finished())
    }

    fn start_watches(&mut self, indices: Option<source::consul::ConsulIndices>) {
        if self.consul_watching().is_none()
            && let (Some(setting), Some(indices)) = (&self.settings.consul, indices)
            && let Some(seed) = self.output(SourceKind::Consul)
            && let Ok(client) = ConsulClient::new(setting.config.clone())
        {
            self.consul_watch = Some(crate::watch::consul::spawn(
                client,
                seed,
                indices,
                WatchOptions::default(),
                self.updates.clone(),
            ));
        }
        if self.file_watches.is_none() {
            let mut watches = Vec::new();
            if let Some(seed) = self.output(SourceKind::Targets) {
                let patterns = self.settings.targets.clone();
                let dirs = files::target_dirs(&patterns);
                let read = Arc::new(move || source::targets::read_targets(&patterns));
                watches.push(files::spawn(dirs, read, seed, self.updates.clone()));
            }
            if let (Some(seed), Some(path)) = (
                self.output(SourceKind::Inventory),
                self.settings.inventory.clone(),
            ) {
                let dirs = files::file_dir(&path);
                let read = Arc::new(move || source::inventory::read_inventory(&path));
                watches.push(files::spawn(dirs, read, seed, self.updates.clone()));
            }
            self.file_watches = Some(watches);
        }
        if self.live_poller.is_none()
            && let Some(cfg) = self.settings.live.clone()
        {
            self.live_poller = Some(LivePoller::spawn(
                cfg,
                self.live_every,
                self.updates.clone(),
            ));
        }
    }

    /// The latest output of a source not tied to one datacenter.
    fn output(&self, kind: SourceKind) -> Option<SourceOutput> {
        self.latest
            .iter()
            .find(|o| o.report.kind == kind && o.report.datacenter.is_none())
            .cloned()
    }

    /// Rebuilds the fleet off the owner's loop (or takes `built`, a fleet of the latest outputs
    /// already merged); a change during a rebuild triggers one more.
    fn rebuild(&mut self, built: Option<Fleet>) {
        if self.building {
            self.dirty = true;
            return;
        }
        self.building = true;
        let outputs = match built {
            Some(_) => Vec::new(),
            None => self.latest.clone(),
        };
        let notes = self.notes.clone();
        let live = self.settings.live.is_some();
        let datacenters = self.datacenters.clone();
        let tx = self.events.clone();
        tokio::spawn(async move {
            let built = tokio::task::spawn_blocking(move || {
                let fleet = built.unwrap_or_else(|| crate::estate::build(outputs, &datacenters));
                let targets = live.then(|| source::live::targets(&fleet));
                (CheckResult::new(fleet, notes), targets)
            })
            .await;
            let event = match built {
                Ok((result, targets)) => LiveEvent::Built {
                    result: Box::new(result),
                    targets,
                },
                Err(_) => LiveEvent::BuildFailed,
            };
            let _ = tx.send(event).await;
        });
    }
}

/// Which source an output is the latest of: its kind and datacenter.
fn key(o: &SourceOutput) -> (SourceKind, Option<String>) {
    (o.report.kind, o.report.datacenter.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::Observation;
    use crate::source::live::LiveConfig;
    use std::collections::BTreeSet;

    /// An inventory of pg-a with members 1..=n.
    fn inventory(n: u32) -> SourceOutput {
        let member = |seq: u32| {
            Observation::test(SourceKind::Inventory, "pg-a")
                .seq(seq)
                .role("replica")
                .ip(&format!("10.0.0.{seq}"))
        };
        SourceOutput::test(SourceKind::Inventory, (1..=n).map(member).collect())
    }

    /// Hands the next rebuilt fleet back to the feeds, as the owning loop does.
    async fn next_built(live: &mut Live, events: &mut mpsc::Receiver<LiveEvent>) {
        loop {
            let event = events.recv().await.expect("the feeds are alive");
            let built = matches!(event, LiveEvent::Built { .. });
            live.on_event(event);
            if built {
                return;
            }
        }
    }

    async fn next_live_read(updates: &mut mpsc::Receiver<SourceOutput>) -> BTreeSet<u32> {
        loop {
            let out = tokio::time::timeout(Duration::from_secs(60), updates.recv())
                .await
                .expect("the poller reads again")
                .expect("the poller is alive");
            if out.report.kind == SourceKind::Live {
                return out.observations.iter().filter_map(|o| o.seq).collect();
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_live_poller_asks_an_instance_registered_after_the_start() {
        let (events_tx, mut events) = mpsc::channel(16);
        let (updates_tx, mut updates) = mpsc::channel(64);
        let settings = Settings {
            // Neither witness configured: every probe answers at once, unreachable.
            live: Some(LiveConfig {
                pg: None,
                patroni: None,
                concurrency: 4,
            }),
            ..Settings::default()
        };
        let mut live =
            Live::new(settings, events_tx, updates_tx).with_live_every(Duration::from_millis(10));
        live.on_event(LiveEvent::Gathered(Box::new(Gathered {
            outputs: vec![inventory(1)],
            fleet: Fleet::build(vec![inventory(1)]),
            notes: Vec::new(),
            ..Gathered::default()
        })));
        next_built(&mut live, &mut events).await;
        assert_eq!(next_live_read(&mut updates).await, BTreeSet::from([1]));

        // pg-a-2 is registered while the UI runs.
        live.on_update(inventory(2));
        next_built(&mut live, &mut events).await;
        // What the poller sent before it was told: queued, and at most one round in flight.
        while updates.try_recv().is_ok() {}
        let mut asked = next_live_read(&mut updates).await;
        if !asked.contains(&2) {
            asked = next_live_read(&mut updates).await;
        }
        assert_eq!(asked, BTreeSet::from([1, 2]));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_datacenter_switch_leaves_consul_unread_not_empty() {
        let (events_tx, _events) = mpsc::channel(16);
        let (updates_tx, _updates) = mpsc::channel(16);
        let args = crate::config::SourceArgs {
            consul: Some("http://127.0.0.1:1".into()),
            ..crate::config::SourceArgs::default()
        };
        let settings = crate::config::resolve(&args, &|_| None).expect("settings");
        let mut live = Live::new(settings, events_tx, updates_tx);
        live.set_datacenter("dc2".into());
        let consul = live.output(SourceKind::Consul).expect("a Consul output");
        assert!(consul.report.failed_entirely(), "{:?}", consul.report);
        assert!(
            consul.report.errors.iter().any(|e| e.contains("dc2")),
            "{:?}",
            consul.report.errors
        );
    }
}
