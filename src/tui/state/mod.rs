//! The one UI state: the latest read, indexes derived from it, and what the user did.
//!
//! Everything the view needs per instance is computed once per read (`index`:
//! [`InstanceInfo`], [`ClusterInfo`]), so rebuilding the visible rows after a key press is
//! a filter, a sort and a walk (`tree`: selection, scroll, expansion, sort and filter).
//! The re-registration dialog, the failover view and the footer message are `dialogs`.
//!
//! `index` and `dialogs` know nothing of [`State`]; `tree` adds the tree's methods to it.

mod dialogs;
mod drift_nav;
mod events;
mod findings_list;
mod index;
mod tree;

pub use crate::tui::vocab::{Focus, Sort};
pub use dialogs::{
    Applying, FailoverView, FixButton, FixDialog, FixOutcome, FixPlan, FixVerify, Status,
    VERIFY_WAIT, next_target,
};
pub use events::{Event, EventKind, EventsView, FixRef, ReadFacts, clock};
pub use findings_list::FindingsList;
pub use index::{ClusterInfo, DatacenterInfo, InstanceInfo, RoleCell, SourceLine};

use crate::drift::Finding;
use crate::fleet::Instance;
use crate::observation::SourceKind;
use crate::report::CheckResult;
use crate::tui::filter::Filter;
use crate::tui::keymap::Keymap;
use crate::tui::theme::ThemeKind;
use std::collections::HashSet;
use std::time::SystemTime;

/// Fleets with more instances than this start collapsed to clusters.
pub const LARGE_FLEET: usize = 50;

/// How the UI starts.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Writes are off; shown in the header.
    pub read_only: bool,
    /// The palette.
    pub theme: ThemeKind,
    /// Terminal size at start (columns, rows).
    pub size: (u16, u16),
}

/// What a visible row shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
    /// A datacenter of several (index into [`State::datacenters`]).
    Datacenter(usize),
    /// A cluster (index into the fleet's clusters).
    Cluster(usize),
    /// An instance (index into [`State::instances`]).
    Instance(usize),
    /// One observation of an instance: (instance info, observation index).
    Entry(usize, usize),
}

/// A row's identity that survives a refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowId {
    /// A datacenter by key ([`DatacenterInfo::key`]).
    Datacenter(String),
    /// A cluster by key ([`ClusterInfo::key`]: the name, with its datacenter when
    /// several are read).
    Cluster(String),
    /// An instance by key ([`InstanceInfo::key`]).
    Instance(String),
    /// An observation by instance key and position.
    Entry(String, usize),
}

/// The whole UI state.
#[derive(Debug)]
pub struct State {
    /// The latest read.
    pub result: CheckResult,
    /// The loaded sources, in column order.
    pub columns: Vec<SourceKind>,
    /// Per-instance facts, in fleet order.
    pub instances: Vec<InstanceInfo>,
    /// Per-cluster facts, in fleet order.
    pub clusters: Vec<ClusterInfo>,
    /// The tree's top level when several datacenters are read; empty when one is.
    pub datacenters: Vec<DatacenterInfo>,
    /// Status line data per source.
    pub sources: Vec<SourceLine>,
    /// Datacenter reported by Consul.
    pub datacenter: Option<String>,
    /// The visible rows.
    pub rows: Vec<Row>,
    /// Index into `rows`.
    pub selected: usize,
    /// First visible row of the tree.
    pub offset: usize,
    /// Expanded datacenters, clusters and instances (by key).
    pub expanded: HashSet<String>,
    /// Expansion before the filter started, restored when it is cleared.
    saved_expanded: Option<HashSet<String>>,
    /// The pane receiving movement keys.
    pub focus: Focus,
    /// Scroll of the findings pane.
    pub findings_scroll: u16,
    /// Scroll of the detail pane.
    pub detail_scroll: u16,
    /// The filter as typed.
    pub filter_text: String,
    /// The filter as parsed.
    pub filter: Filter,
    /// True while the user is typing the filter.
    pub filter_mode: bool,
    /// Show only drifting instances.
    pub drift_only: bool,
    /// Tree order.
    pub sort: Sort,
    /// The help overlay is open.
    pub help: bool,
    /// The source overlay (every source's location, errors and notes, in full) is open.
    pub sources_open: bool,
    /// Writes are off.
    pub read_only: bool,
    /// Palette.
    pub theme: ThemeKind,
    /// Terminal size (columns, rows).
    pub size: (u16, u16),
    /// A refresh was asked for and has not come back.
    pub refreshing: bool,
    /// The effective key bindings (defaults unless `[keys]` overrides them).
    pub keymap: Keymap,
    /// The `:` command line while it is open (the text after the colon).
    pub command: Option<String>,
    /// The footer message, cleared by the next key.
    pub status: Option<Status>,
    /// The time of the last tick; ages are computed from it so drawing stays pure.
    pub now: Option<SystemTime>,
    /// The re-registration dialog, while it is open.
    pub fix: Option<FixDialog>,
    /// The failover view (a cluster's members against the live roles), while it is open.
    pub failover: Option<FailoverView>,
    /// An applied fix whose effect the next reads should show.
    pub fix_verify: Option<FixVerify>,
    /// Plans sent to be applied whose answer has not come yet, by plan id.
    pub applying: std::collections::HashMap<u64, Applying>,
    /// The id of the last plan requested (ids start at 1).
    pub plan_seq: u64,
    /// The findings list (every finding of the fleet), while it is open.
    pub findings_list: Option<FindingsList>,
    /// What changed during the session, oldest first.
    pub events: Vec<Event>,
    /// The events pane, while it is open.
    pub events_view: Option<EventsView>,
    /// Commands run this session, oldest first, for Up/Down in the prompt.
    pub command_history: Vec<String>,
    /// Where Up/Down is in the history while browsing it.
    pub history_pos: Option<usize>,
}

impl State {
    /// Builds the state from a first read.
    pub fn new(result: CheckResult, opts: Options) -> State {
        let mut s = State {
            result: CheckResult::new(Default::default(), Vec::new()),
            columns: Vec::new(),
            instances: Vec::new(),
            clusters: Vec::new(),
            datacenters: Vec::new(),
            sources: Vec::new(),
            datacenter: None,
            rows: Vec::new(),
            selected: 0,
            offset: 0,
            expanded: HashSet::new(),
            saved_expanded: None,
            focus: Focus::Tree,
            findings_scroll: 0,
            detail_scroll: 0,
            filter_text: String::new(),
            filter: Filter::default(),
            filter_mode: false,
            drift_only: false,
            sort: Sort::Name,
            help: false,
            sources_open: false,
            read_only: opts.read_only,
            theme: opts.theme,
            size: opts.size,
            refreshing: false,
            keymap: Keymap::default(),
            command: None,
            status: None,
            now: None,
            fix: None,
            failover: None,
            fix_verify: None,
            applying: std::collections::HashMap::new(),
            plan_seq: 0,
            findings_list: None,
            events: Vec::new(),
            events_view: None,
            command_history: Vec::new(),
            history_pos: None,
        };
        s.load(result);
        s.expand_small_fleet();
        s.rebuild();
        s
    }

    /// Replaces the data, keeping expansion, filter and the selected item.
    pub fn set_data(&mut self, result: CheckResult) {
        let keep = self.selected_id();
        // The first real read replaces the empty "loading" state: treat it as the start.
        let first = self.instances.is_empty();
        self.load(result);
        if first {
            self.expand_small_fleet();
        }
        self.rebuild_keeping(keep);
        if first {
            self.select_first_drift();
        }
    }

    fn load(&mut self, result: CheckResult) {
        let read = index::build(&result);
        self.columns = read.columns;
        self.sources = read.sources;
        self.datacenter = read.datacenter;
        self.instances = read.instances;
        self.clusters = read.clusters;
        // A datacenter not shown before (the first read, `:dc all`) opens: the level
        // is there to tell clusters apart, not to hide them.
        for d in &read.datacenters {
            if !self.datacenters.iter().any(|o| o.key == d.key) {
                self.expanded.insert(tree::datacenter_key(&d.key));
            }
        }
        self.datacenters = read.datacenters;
        self.result = result;
        self.refreshing = false;
    }

    /// The findings of the fleet.
    pub fn findings(&self) -> &[Finding] {
        &self.result.findings
    }

    /// The fleet instance behind an info.
    pub fn instance(&self, info: usize) -> Option<&Instance> {
        let i = self.instances.get(info)?;
        self.result
            .fleet
            .clusters
            .get(i.cluster)?
            .instances
            .get(i.index)
    }

    /// The finding codes concerning one instance (its own findings, not the cluster's),
    /// sorted and without repeats; empty when the instance is not in the fleet.
    pub fn instance_kinds(&self, cluster: &str, instance: &str) -> Vec<String> {
        let mut kinds: Vec<String> = self
            .result
            .findings
            .iter()
            .filter(|f| f.cluster == cluster && f.instance.as_deref() == Some(instance))
            // With the severity: an error that became a stale-inventory warning is resolved.
            .map(|f| format!("{} ({})", f.kind.code(), f.severity))
            .collect();
        kinds.sort();
        kinds.dedup();
        kinds
    }

    /// True when the fleet has this instance.
    pub fn has_instance(&self, cluster: &str, instance: &str) -> bool {
        self.result
            .fleet
            .clusters
            .iter()
            .filter(|c| c.name == cluster)
            .any(|c| c.instances.iter().any(|i| i.name == instance))
    }
}
