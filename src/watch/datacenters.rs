//! The watches of several datacenters: one Consul watch per datacenter, through the same
//! agent, each with its share of the requests and of the blocking queries, and a file
//! watch for each datacenter's own target files and inventory.

use super::WatchHandle;
use super::consul::WatchOptions;
use super::files;
use crate::config::datacenters::DatacenterSettings;
use crate::consul::ConsulConfig;
use crate::observation::{SourceKind, SourceOutput};
use crate::source;
use crate::source::consul::ConsulIndices;
use crate::source::datacenters::{client_for, shares};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// The running watches, by datacenter; dropping a watch stops it.
#[derive(Debug, Default)]
pub struct DatacenterWatches {
    consul: BTreeMap<String, WatchHandle>,
    files: BTreeMap<String, Vec<WatchHandle>>,
}

impl DatacenterWatches {
    /// Starts the Consul watch of every datacenter read (from its read's indices and
    /// output, given by `seed`) that has none yet, and stops those of datacenters no
    /// longer read.
    pub fn start_consul(
        &mut self,
        config: &ConsulConfig,
        indices: Vec<(String, ConsulIndices)>,
        seed: impl Fn(SourceKind, &str) -> Option<SourceOutput>,
        updates: &mpsc::Sender<SourceOutput>,
    ) {
        let n = indices.len();
        self.consul
            .retain(|dc, _| indices.iter().any(|(d, _)| d == dc));
        let (per, _) = shares(config.concurrency, n);
        // Consul limits the connections of one client; the blocking queries of every
        // datacenter go through the same agent.
        let options = WatchOptions {
            limit: (WatchOptions::default().limit / n.max(1)).max(16),
            ..WatchOptions::default()
        };
        for (dc, indices) in indices {
            if self.consul.contains_key(&dc) {
                continue;
            }
            let (Some(seed), Ok(client)) =
                (seed(SourceKind::Consul, &dc), client_for(config, &dc, per))
            else {
                continue;
            };
            let watch =
                super::consul::spawn(client, seed, indices, options.clone(), updates.clone());
            self.consul.insert(dc, watch);
        }
    }

    /// Starts the watches of each datacenter's own files, once.
    pub fn start_files(
        &mut self,
        several: &DatacenterSettings,
        seed: impl Fn(SourceKind, &str) -> Option<SourceOutput>,
        updates: &mpsc::Sender<SourceOutput>,
    ) {
        for (dc, own) in &several.each {
            if self.files.contains_key(dc) {
                continue;
            }
            let mut watches = Vec::new();
            if let Some(seed) = seed(SourceKind::Targets, dc) {
                let patterns = own.targets.clone();
                let dirs = files::target_dirs(&patterns);
                let dc = dc.clone();
                let read = Arc::new(move || {
                    let mut out = source::targets::read_targets(&patterns);
                    out.report.datacenter = Some(dc.clone());
                    out
                });
                watches.push(files::spawn(dirs, read, seed, updates.clone()));
            }
            if let (Some(seed), Some(path)) =
                (seed(SourceKind::Inventory, dc), own.inventory.clone())
            {
                let dirs = files::file_dir(&path);
                let dc = dc.clone();
                let read = Arc::new(move || {
                    let mut out = source::inventory::read_inventory(&path);
                    out.report.datacenter = Some(dc.clone());
                    out
                });
                watches.push(files::spawn(dirs, read, seed, updates.clone()));
            }
            self.files.insert(dc.clone(), watches);
        }
    }

    /// The datacenters whose Consul is watched.
    pub fn watched(&self) -> Vec<&str> {
        self.consul.keys().map(String::as_str).collect()
    }
}
