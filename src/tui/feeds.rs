//! The UI's live data: the latest output of every source, the watches that renew them,
//! and the rebuild of the fleet off the UI loop whenever one changes.

use crate::config::Settings;
use crate::consul::ConsulClient;
use crate::fleet::Fleet;
use crate::gather::{Gathered, gather};
use crate::observation::{SourceKind, SourceOutput};
use crate::report::CheckResult;
use crate::source;
use crate::watch::consul::WatchOptions;
use crate::watch::{WatchHandle, files, keep_last_good};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How often the live roles are asked again while the UI runs.
const LIVE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// What background work reports back to the UI loop.
#[derive(Debug)]
pub enum LiveEvent {
    /// A full read of every source finished.
    Gathered(Box<Gathered>),
    /// A fleet rebuilt from the latest outputs.
    Built(Box<CheckResult>),
    /// A rebuild died (a bug); the next change tries again.
    BuildFailed,
}

/// Keeps every source current and turns their outputs into fleets for the UI.
pub struct Live {
    settings: Settings,
    latest: Vec<SourceOutput>,
    notes: Vec<String>,
    consul_watch: Option<WatchHandle>,
    file_watches: Option<Vec<WatchHandle>>,
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
            events,
            updates,
            reading: false,
            building: false,
            dirty: false,
        }
    }

    /// Reads every source once more (unless a read is already running).
    pub fn read_all(&mut self) {
        if self.reading {
            return;
        }
        self.reading = true;
        let settings = self.settings.clone();
        let tx = self.events.clone();
        tokio::spawn(async move {
            let g = gather(&settings).await;
            let _ = tx.send(LiveEvent::Gathered(Box::new(g))).await;
        });
    }

    /// Switches Consul to another datacenter: its watch restarts from a fresh read.
    pub fn set_datacenter(&mut self, dc: String) {
        if let Some(c) = self.settings.consul.as_mut() {
            c.config.datacenter = Some(dc);
            self.consul_watch = None;
            self.latest.retain(|o| o.report.kind != SourceKind::Consul);
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
                let indices = g.consul_indices;
                for out in g.outputs {
                    self.store(out, true);
                }
                self.start_watches(indices);
                self.rebuild();
                None
            }
            LiveEvent::Built(result) => {
                self.building = false;
                if self.dirty {
                    self.dirty = false;
                    self.rebuild();
                }
                Some(*result)
            }
            LiveEvent::BuildFailed => {
                self.building = false;
                None
            }
        }
    }

    /// A watch sent a new output for its source.
    pub fn on_update(&mut self, output: SourceOutput) {
        self.store(output, false);
        self.rebuild();
    }

    fn store(&mut self, output: SourceOutput, guard: bool) {
        let kind = output.report.kind;
        let pos = self.latest.iter().position(|o| o.report.kind == kind);
        let output = if guard {
            keep_last_good(pos.map(|p| &self.latest[p]), output)
        } else {
            output
        };
        match pos {
            Some(p) => self.latest[p] = output,
            None => {
                self.latest.push(output);
                self.latest.sort_by_key(|o| o.report.kind);
            }
        }
    }

    fn start_watches(&mut self, indices: Option<source::consul::ConsulIndices>) {
        if self.consul_watch.is_none()
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
            if let Some(cfg) = self.settings.live.clone() {
                // The databases cannot be watched: they are asked again every few
                // seconds, about the instances the registrations name.
                let known = Fleet::build(
                    self.latest
                        .iter()
                        .filter(|o| o.report.kind != SourceKind::Live)
                        .cloned()
                        .collect(),
                );
                let targets = source::live::targets(&known);
                let tx = self.updates.clone();
                watches.push(WatchHandle::new(tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(LIVE_EVERY).await;
                        let out = source::live::read_live(&targets, &cfg).await;
                        if tx.send(out).await.is_err() {
                            return;
                        }
                    }
                })));
            }
            self.file_watches = Some(watches);
        }
    }

    fn output(&self, kind: SourceKind) -> Option<SourceOutput> {
        self.latest.iter().find(|o| o.report.kind == kind).cloned()
    }

    /// Rebuilds the fleet off the UI loop; a change during a rebuild triggers one more.
    fn rebuild(&mut self) {
        if self.building {
            self.dirty = true;
            return;
        }
        self.building = true;
        let outputs = self.latest.clone();
        let notes = self.notes.clone();
        let tx = self.events.clone();
        tokio::spawn(async move {
            let built =
                tokio::task::spawn_blocking(move || CheckResult::new(Fleet::build(outputs), notes))
                    .await;
            let event = match built {
                Ok(result) => LiveEvent::Built(Box::new(result)),
                Err(_) => LiveEvent::BuildFailed,
            };
            let _ = tx.send(event).await;
        });
    }
}
