//! Reads every configured source at once and merges them into the fleet of that read.

use crate::config::Settings;
use crate::config::datacenters::DatacenterSettings;
use crate::consul::ConsulClient;
use crate::fleet::Datacenter;
use crate::fleet::Fleet;
use crate::observation::{SourceKind, SourceOutput, SourceReport};
use crate::source;
use crate::source::consul::ConsulIndices;

/// What one read of all sources produced.
#[derive(Debug, Default)]
pub struct Gathered {
    /// One output per source read, in the order consul, targets, inventory, live.
    pub outputs: Vec<SourceOutput>,
    /// Those outputs merged: the one fleet of this read.
    pub fleet: Fleet,
    /// What roster decided on the user's behalf while reading.
    pub notes: Vec<String>,
    /// The index of every Consul answer, when Consul was read, for a watch to continue from.
    pub consul_indices: Option<ConsulIndices>,
    /// With several datacenters: those read, nearest first, with their standby pairs.
    pub datacenters: Vec<Datacenter>,
    /// With several datacenters: each one's Consul indices, for its watch.
    pub datacenter_indices: Vec<(String, ConsulIndices)>,
}

/// Reads Consul, the target files and the inventory concurrently, then, with `--live`,
/// asks the instances their fleet names.
///
/// A Consul that was only tried at its conventional address and did not answer is
/// left out with a note rather than reported as a failure: nobody asked for it.
pub async fn gather(settings: &Settings) -> Gathered {
    if let (Some(several), Some(consul)) = (&settings.datacenters, &settings.consul) {
        return gather_datacenters(settings, &consul.config, several).await;
    }
    let mut notes = settings.notes.clone();
    let consul = async {
        let setting = settings.consul.as_ref()?;
        let client = match ConsulClient::new(setting.config.clone()) {
            Ok(c) => c,
            Err(e) => {
                let mut r =
                    SourceReport::new(SourceKind::Consul, setting.config.endpoint.to_string());
                r.error(e.to_string());
                return Some((SourceOutput::new(r, Vec::new()), ConsulIndices::default()));
            }
        };
        Some(source::consul::read_consul_indexed(&client).await)
    };
    let targets = async {
        if settings.targets.is_empty() {
            return None;
        }
        let patterns = settings.targets.clone();
        Some(
            run_blocking(SourceKind::Targets, move || {
                source::targets::read_targets(&patterns)
            })
            .await,
        )
    };
    let inventory = async {
        let path = settings.inventory.clone()?;
        Some(
            run_blocking(SourceKind::Inventory, move || {
                source::inventory::read_inventory(&path)
            })
            .await,
        )
    };
    let (c, t, i) = tokio::join!(consul, targets, inventory);
    let mut outputs = Vec::new();
    let mut consul_indices = None;
    if let Some((c, indices)) = c {
        let probe = settings.consul.as_ref().is_some_and(|s| s.probe_only);
        if probe && c.report.facts.contains_key("unreachable") {
            notes.push(format!(
                "no Consul answered at {}; Consul not used",
                c.report.location
            ));
        } else {
            outputs.push(c);
            consul_indices = Some(indices);
        }
    }
    outputs.extend(t);
    outputs.extend(i);
    let mut fleet = Fleet::build(outputs.clone());
    if let Some(live) = &settings.live {
        let output = source::live::read_live(&source::live::targets(&fleet), live).await;
        outputs.push(output.clone());
        fleet.add_live(output);
    }
    log_reads(&outputs);
    Gathered {
        outputs,
        fleet,
        notes,
        consul_indices,
        datacenters: Vec::new(),
        datacenter_indices: Vec::new(),
    }
}

/// [`gather`] across several datacenters: each one's Consul and its own files, the shared
/// files, then the live source for every instance, merged per datacenter.
async fn gather_datacenters(
    settings: &Settings,
    consul: &crate::consul::ConsulConfig,
    several: &DatacenterSettings,
) -> Gathered {
    let consul_reads = source::datacenters::read(consul, &several.names);
    let shared = read_files(settings.targets.clone(), settings.inventory.clone(), None);
    let own = futures::future::join_all(several.each.iter().map(|(dc, files)| {
        read_files(
            files.targets.clone(),
            files.inventory.clone(),
            Some(dc.clone()),
        )
    }));
    let (reads, shared, own) = tokio::join!(consul_reads, shared, own);
    let datacenters = several.describe(&reads.names);
    let mut outputs = reads.outputs;
    outputs.extend(shared);
    outputs.extend(own.into_iter().flatten());
    let mut fleet = crate::estate::build(outputs.clone(), &datacenters);
    if let Some(live) = &settings.live {
        let output = source::live::read_live(&source::live::targets(&fleet), live).await;
        outputs.push(output);
        fleet = crate::estate::build(outputs.clone(), &datacenters);
    }
    log_reads(&outputs);
    Gathered {
        outputs,
        fleet,
        notes: settings.notes.clone(),
        consul_indices: None,
        datacenters,
        datacenter_indices: reads.indices,
    }
}

/// Target files and an inventory, read off the async workers; each report names the
/// datacenter they belong to, if any.
async fn read_files(
    targets: Vec<String>,
    inventory: Option<std::path::PathBuf>,
    datacenter: Option<String>,
) -> Vec<SourceOutput> {
    let t = async {
        if targets.is_empty() {
            return None;
        }
        Some(
            run_blocking(SourceKind::Targets, move || {
                source::targets::read_targets(&targets)
            })
            .await,
        )
    };
    let i = async {
        let path = inventory?;
        Some(
            run_blocking(SourceKind::Inventory, move || {
                source::inventory::read_inventory(&path)
            })
            .await,
        )
    };
    let (t, i) = tokio::join!(t, i);
    let mut out: Vec<SourceOutput> = t.into_iter().chain(i).collect();
    for o in &mut out {
        o.report.datacenter = datacenter.clone();
    }
    out
}

fn log_reads(outputs: &[SourceOutput]) {
    for o in outputs {
        let r = &o.report;
        let source = r.label();
        if r.is_ok() {
            tracing::info!(%source, observations = r.observations, "read");
        } else {
            tracing::warn!(%source, observations = r.observations, errors = ?r.errors, "read with errors");
        }
    }
}

/// File parsing is blocking work; keep it off the async workers.
async fn run_blocking(
    kind: SourceKind,
    f: impl FnOnce() -> SourceOutput + Send + 'static,
) -> SourceOutput {
    match tokio::task::spawn_blocking(f).await {
        Ok(out) => out,
        Err(e) => {
            let mut r = SourceReport::new(kind, "");
            r.error(format!("reading {kind} failed: {e}"));
            SourceOutput::new(r, Vec::new())
        }
    }
}
