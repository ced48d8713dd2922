//! The one UI state: the latest read, indexes derived from it, and what the user did.
//!
//! Everything the view needs per instance is computed once per read ([`InstanceInfo`]),
//! so rebuilding the visible rows after a key press is a filter, a sort and a walk.

use crate::drift::{Finding, Severity};
use crate::fix::plan::Destination;
use crate::fleet::{Instance, RoleView};
use crate::identity::Role;
use crate::observation::{SourceKind, SourceReport};
use crate::report::CheckResult;
use crate::text::redact;
use crate::text::sanitize;
use crate::tui::filter::{Filter, Subject};
use crate::tui::keymap::Keymap;
use crate::tui::layout::tree_viewport;
use crate::tui::theme::ThemeKind;
pub use crate::tui::vocab::{Focus, Sort};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, SystemTime};

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

/// What one source column says about an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleCell {
    /// The source does not know the instance.
    Absent,
    /// The source knows it but states no role.
    NoRole,
    /// One role.
    One(Role),
    /// The source's own records disagree; the role that counts is kept.
    Split(Role),
}

impl RoleCell {
    /// The one-letter marker, so role never depends on colour.
    pub fn letter(&self) -> char {
        match self {
            RoleCell::Absent => '-',
            RoleCell::NoRole => '.',
            RoleCell::Split(_) => '!',
            RoleCell::One(r) => match r {
                Role::Primary => 'P',
                Role::Replica => 'R',
                Role::Offline => 'O',
                Role::Delayed => 'D',
                Role::Unknown(_) => '?',
            },
        }
    }

    /// The role, when there is one.
    pub fn role(&self) -> Option<&Role> {
        match self {
            RoleCell::One(r) | RoleCell::Split(r) => Some(r),
            _ => None,
        }
    }
}

/// The facts of one instance the tree, the filter and the sort need.
#[derive(Clone, Debug)]
pub struct InstanceInfo {
    /// Stable id across reads: `cluster/instance`.
    pub key: String,
    /// Index of the cluster in the fleet.
    pub cluster: usize,
    /// Index of the instance in its cluster.
    pub index: usize,
    /// One cell per loaded source, in [`State::columns`] order.
    pub roles: Vec<RoleCell>,
    /// The address most sources agree on.
    pub ip: Option<String>,
    /// Worst Consul check status.
    pub health: Option<String>,
    /// Indexes into the findings of this instance.
    pub findings: Vec<usize>,
    /// The worst of them.
    pub worst: Option<Severity>,
    lc_cluster: String,
    lc_name: String,
    ips: Vec<String>,
    lc_roles: Vec<String>,
    sources: Vec<&'static str>,
    kinds: Vec<&'static str>,
    severities: Vec<Severity>,
    role_rank: u8,
}

/// The facts of one cluster.
#[derive(Clone, Debug)]
pub struct ClusterInfo {
    /// Its instances, as indexes into [`State::instances`].
    pub instances: Vec<usize>,
    /// The instance most sources call primary.
    pub primary: Option<String>,
    /// Cluster-level findings (no instance), as indexes into the findings.
    pub findings: Vec<usize>,
    /// Every finding of the cluster, its instances' included.
    pub all_findings: Vec<usize>,
    /// The worst of all of them.
    pub worst: Option<Severity>,
}

/// What a visible row shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Row {
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
    /// A cluster by name.
    Cluster(String),
    /// An instance by key.
    Instance(String),
    /// An observation by instance key and position.
    Entry(String, usize),
}

/// One source in the status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceLine {
    /// Source name.
    pub name: &'static str,
    /// Where it was read from (sanitised).
    pub location: String,
    /// The first error (sanitised), when the read failed.
    pub error: Option<String>,
    /// How many errors in total.
    pub error_count: usize,
    /// Observations read.
    pub observations: usize,
    /// Consul index, when known.
    pub index: Option<String>,
    /// Every error (sanitised), for the source overlay.
    pub errors: Vec<String>,
    /// Every note (sanitised), for the source overlay.
    pub notes: Vec<String>,
    /// When its observations were read.
    pub read_at: Option<SystemTime>,
    /// The latest read failed; the observations are from an earlier one.
    pub stale: bool,
}

impl SourceLine {
    fn new(r: &SourceReport) -> SourceLine {
        SourceLine {
            name: r.kind.name(),
            location: sanitize(&redact(&r.location), 200),
            error: r.errors.first().map(|e| sanitize(&redact(e), 300)),
            error_count: r.errors.len(),
            errors: r
                .errors
                .iter()
                .map(|e| sanitize(&redact(e), 1000))
                .collect(),
            notes: r.notes.iter().map(|n| sanitize(&redact(n), 1000)).collect(),
            observations: r.observations,
            index: r.facts.get("index").map(|i| sanitize(i, 30)),
            read_at: r.read_at,
            stale: r.stale,
        }
    }

    /// Time since the read, given the current time; `None` when either is unknown.
    /// A read "in the future" (clock stepped back) counts as just now.
    pub fn age(&self, now: Option<SystemTime>) -> Option<Duration> {
        let (now, at) = (now?, self.read_at?);
        Some(now.duration_since(at).unwrap_or(Duration::ZERO))
    }
}

/// A short message in the footer, until the next key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// What to say (shown sanitised).
    pub text: String,
    /// True for errors (shown in the error style).
    pub error: bool,
}

impl Status {
    /// A plain message.
    pub fn info(text: impl Into<String>) -> Status {
        Status {
            text: text.into(),
            error: false,
        }
    }

    /// An error message.
    pub fn error(text: impl Into<String>) -> Status {
        Status {
            text: text.into(),
            error: true,
        }
    }
}

/// The buttons of the re-registration dialog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FixButton {
    /// Close without writing; focused whenever a new plan is shown.
    #[default]
    Cancel,
    /// Apply the shown plan.
    Apply,
}

impl FixButton {
    /// The other button.
    pub fn other(self) -> FixButton {
        match self {
            FixButton::Cancel => FixButton::Apply,
            FixButton::Apply => FixButton::Cancel,
        }
    }
}

/// A plan as the dialog shows it (lines already sanitised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixPlan {
    /// The id of the request it answers; [`crate::tui::action::Effect::ApplyFix`] names it.
    pub plan_id: u64,
    /// Writes, diff lines and warnings, one per line.
    pub lines: Vec<String>,
    /// How many writes applying it makes.
    pub writes: usize,
    /// Why no plan could be made.
    pub error: Option<String>,
}

/// What applying a plan did (lines already sanitised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixOutcome {
    /// Every write succeeded.
    pub ok: bool,
    /// One line per write, the server's message on failure.
    pub lines: Vec<String>,
}

/// The re-registration dialog: one instance, one target, the plan and the confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixDialog {
    /// The instance's cluster (as read).
    pub cluster: String,
    /// The instance's name (as read).
    pub instance: String,
    /// Where the plan writes.
    pub target: Destination,
    /// The id of the latest plan requested; answers with another id are stale.
    pub plan_id: u64,
    /// The plan; `None` while it is being computed.
    pub preview: Option<FixPlan>,
    /// The focused button.
    pub button: FixButton,
    /// First preview line shown.
    pub scroll: u16,
    /// The plan was confirmed and its result has not come back.
    pub applying: bool,
    /// What applying did.
    pub result: Option<FixOutcome>,
}

impl FixDialog {
    /// True when Enter on Apply would write (read-only aside): a plan with writes, no
    /// error, not already applied or applying.
    pub fn can_apply(&self) -> bool {
        !self.applying
            && self.result.is_none()
            && self
                .preview
                .as_ref()
                .is_some_and(|p| p.writes > 0 && p.error.is_none())
    }
}

/// The destination `t` switches the dialog to: the next one in [`Destination::ALL`] order,
/// wrapping around.
pub fn next_target(target: Destination) -> Destination {
    let all = Destination::ALL;
    let at = all.iter().position(|d| *d == target).unwrap_or(0);
    all[(at + 1) % all.len()]
}

/// Waiting for the sources to show that an applied fix took effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixVerify {
    /// The instance's cluster.
    pub cluster: String,
    /// The instance's name.
    pub instance: String,
    /// The finding codes the instance had when the fix was applied.
    pub kinds: Vec<String>,
    /// After this, the findings still there are reported as not fixed.
    pub deadline: SystemTime,
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
    /// Expanded clusters (by name) and instances (by key).
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
    /// The id of the last plan requested (ids start at 1).
    pub plan_seq: u64,
}

/// The failover view of one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverView {
    /// The cluster shown.
    pub cluster: String,
    /// The selected member (index in the cluster's instances).
    pub selected: usize,
}

fn cluster_key(name: &str) -> String {
    format!("c:{name}")
}

impl State {
    /// Builds the state from a first read.
    pub fn new(result: CheckResult, opts: Options) -> State {
        let mut s = State {
            result: CheckResult::new(Default::default(), Vec::new()),
            columns: Vec::new(),
            instances: Vec::new(),
            clusters: Vec::new(),
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
            plan_seq: 0,
        };
        s.load(result);
        s.expand_small_fleet();
        s.rebuild();
        s
    }

    /// Opens every cluster of a small fleet, so that it is all visible at once.
    fn expand_small_fleet(&mut self) {
        if self.instances.len() <= LARGE_FLEET {
            self.expanded = self
                .result
                .fleet
                .clusters
                .iter()
                .map(|c| cluster_key(&c.name))
                .collect();
        }
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
    }

    fn load(&mut self, result: CheckResult) {
        self.columns = result.source_kinds();
        self.sources = result.fleet.sources.iter().map(SourceLine::new).collect();
        self.datacenter = result
            .fleet
            .source(SourceKind::Consul)
            .and_then(|r| r.facts.get("datacenter"))
            .or_else(|| {
                // Without `--dc` the agent's datacenter is only known from what it returned.
                result
                    .fleet
                    .instances()
                    .flat_map(|i| &i.observations)
                    .find_map(|o| match &o.origin {
                        crate::observation::Origin::Consul(c) => Some(&c.datacenter),
                        _ => None,
                    })
            })
            .map(|d| sanitize(d, 40));
        let (instances, clusters) = index(&result, &self.columns);
        self.instances = instances;
        self.clusters = clusters;
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

    /// The selected row.
    pub fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.selected).copied()
    }

    /// The stable identity of a row.
    pub fn row_id(&self, row: Row) -> Option<RowId> {
        Some(match row {
            Row::Cluster(c) => RowId::Cluster(self.result.fleet.clusters.get(c)?.name.clone()),
            Row::Instance(i) => RowId::Instance(self.instances.get(i)?.key.clone()),
            Row::Entry(i, o) => RowId::Entry(self.instances.get(i)?.key.clone(), o),
        })
    }

    /// The stable identity of the selected row.
    pub fn selected_id(&self) -> Option<RowId> {
        self.selected_row().and_then(|r| self.row_id(r))
    }

    /// True when a cluster's instances are shown.
    pub fn cluster_expanded(&self, cluster: usize) -> bool {
        self.result
            .fleet
            .clusters
            .get(cluster)
            .is_some_and(|c| self.expanded.contains(&cluster_key(&c.name)))
    }

    /// True when an instance's observations are shown.
    pub fn instance_expanded(&self, info: usize) -> bool {
        self.instances
            .get(info)
            .is_some_and(|i| self.expanded.contains(&i.key))
    }

    /// The expansion key of a row, if it can expand.
    pub fn expand_key(&self, row: Row) -> Option<String> {
        match row {
            Row::Cluster(c) => Some(cluster_key(&self.result.fleet.clusters.get(c)?.name)),
            Row::Instance(i) => Some(self.instances.get(i)?.key.clone()),
            Row::Entry(..) => None,
        }
    }

    /// Indexes of the findings that belong with the selection.
    ///
    /// A cluster shows all its findings, an instance (or one of its observations) its
    /// own plus the cluster-level ones it takes part in; with nothing selected, all.
    pub fn selection_findings(&self) -> Vec<usize> {
        match self.selected_row() {
            None => (0..self.result.findings.len()).collect(),
            Some(Row::Cluster(c)) => self
                .clusters
                .get(c)
                .map(|c| c.all_findings.clone())
                .unwrap_or_default(),
            Some(Row::Instance(i) | Row::Entry(i, _)) => {
                let Some(info) = self.instances.get(i) else {
                    return Vec::new();
                };
                let mut out = info.findings.clone();
                if let Some(c) = self.clusters.get(info.cluster) {
                    out.extend(&c.findings);
                }
                out
            }
        }
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

    /// Rebuilds the visible rows, keeping the selection on the same item.
    pub fn rebuild(&mut self) {
        let keep = self.selected_id();
        self.rebuild_keeping(keep);
    }

    /// Opens the instance's cluster in the tree and selects the instance.
    pub fn reveal(&mut self, cluster: &str, instance: &str) {
        self.expanded.insert(cluster_key(cluster));
        self.rebuild_keeping(Some(RowId::Instance(format!("{cluster}/{instance}"))));
    }

    fn rebuild_keeping(&mut self, keep: Option<RowId>) {
        let old = self.selected;
        self.rows = self.visible_rows();
        self.selected = keep
            .and_then(|id| self.find(&id))
            .unwrap_or_else(|| old.min(self.rows.len().saturating_sub(1)));
        self.scroll_to_selection();
    }

    /// Where a row with this identity (or else its parent) now is.
    fn find(&self, id: &RowId) -> Option<usize> {
        let pos = |want: &dyn Fn(Row) -> bool| self.rows.iter().position(|r| want(*r));
        let clusters = &self.result.fleet.clusters;
        let instance_pos =
            |key: &str| pos(&|r| matches!(r, Row::Instance(i) if self.instances[i].key == key));
        let cluster_pos =
            |name: &str| pos(&|r| matches!(r, Row::Cluster(c) if clusters[c].name == name));
        match id {
            RowId::Cluster(name) => cluster_pos(name),
            RowId::Instance(key) => instance_pos(key).or_else(|| {
                let (cluster, _) = key.split_once('/')?;
                cluster_pos(cluster)
            }),
            RowId::Entry(key, o) => pos(
                &|r| matches!(r, Row::Entry(i, oi) if oi == *o && self.instances[i].key == *key),
            )
            .or_else(|| self.find(&RowId::Instance(key.clone()))),
        }
    }

    fn visible_rows(&self) -> Vec<Row> {
        let mut rows = Vec::with_capacity(self.clusters.len() + self.instances.len());
        let mut order: Vec<usize> = (0..self.clusters.len()).collect();
        self.sort_clusters(&mut order);
        let narrowing = !self.filter.is_empty() || self.drift_only;
        let mut members = Vec::new();
        for c in order {
            let info = &self.clusters[c];
            members.clear();
            members.extend(
                info.instances
                    .iter()
                    .copied()
                    .filter(|&i| self.instance_visible(i)),
            );
            let cluster_drifts = self.drift_only && !info.findings.is_empty();
            if narrowing && members.is_empty() && !cluster_drifts {
                continue;
            }
            rows.push(Row::Cluster(c));
            if !self.cluster_expanded(c) {
                continue;
            }
            self.sort_instances(&mut members);
            for &i in &members {
                rows.push(Row::Instance(i));
                if self.expanded.contains(&self.instances[i].key)
                    && let Some(inst) = self.instance(i)
                {
                    rows.extend((0..inst.observations.len()).map(|o| Row::Entry(i, o)));
                }
            }
        }
        rows
    }

    fn instance_visible(&self, i: usize) -> bool {
        let info = &self.instances[i];
        if self.drift_only && info.worst.is_none() {
            return false;
        }
        self.filter.is_empty() || self.filter.matches(&info.subject())
    }

    fn sort_clusters(&self, order: &mut [usize]) {
        if self.sort == Sort::Drift {
            // Stable: ties keep name order.
            order.sort_by(|&a, &b| {
                let (ca, cb) = (&self.clusters[a], &self.clusters[b]);
                cb.worst
                    .cmp(&ca.worst)
                    .then(cb.all_findings.len().cmp(&ca.all_findings.len()))
            });
        }
    }

    fn sort_instances(&self, members: &mut [usize]) {
        let inst = &self.instances;
        match self.sort {
            Sort::Name => {}
            Sort::Drift => members.sort_by(|&a, &b| {
                inst[b]
                    .worst
                    .cmp(&inst[a].worst)
                    .then(inst[b].findings.len().cmp(&inst[a].findings.len()))
            }),
            Sort::Role => members.sort_by_key(|&i| inst[i].role_rank),
        }
    }

    /// Rows the tree can show at once at the current size.
    pub fn tree_height(&self) -> usize {
        tree_viewport(self.size).max(1)
    }

    /// Moves the tree's scroll offset so the selection is visible.
    pub fn scroll_to_selection(&mut self) {
        let h = self.tree_height();
        if self.selected < self.offset {
            self.offset = self.selected;
        } else if self.selected >= self.offset + h {
            self.offset = self.selected + 1 - h;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(h));
    }

    /// Applies new filter text.
    pub fn set_filter(&mut self, text: String) {
        if self.saved_expanded.is_none() && !text.is_empty() {
            self.saved_expanded = Some(self.expanded.clone());
        }
        self.filter = Filter::parse(&text);
        self.filter_text = text;
        if !self.filter.is_empty() {
            // Matches are instances: show them without making the user open each cluster.
            for (c, info) in self.clusters.iter().enumerate() {
                let hit = info
                    .instances
                    .iter()
                    .any(|&i| self.filter.matches(&self.instances[i].subject()));
                if hit && let Some(cluster) = self.result.fleet.clusters.get(c) {
                    self.expanded.insert(cluster_key(&cluster.name));
                }
            }
        }
        self.rebuild();
    }

    /// Drops the filter and restores the expansion from before it.
    pub fn clear_filter(&mut self) {
        self.filter_text.clear();
        self.filter = Filter::default();
        self.filter_mode = false;
        if let Some(saved) = self.saved_expanded.take() {
            self.expanded = saved;
        }
        self.rebuild();
    }
}

impl InstanceInfo {
    fn subject(&self) -> Subject<'_> {
        Subject {
            cluster: &self.lc_cluster,
            instance: &self.lc_name,
            ips: &self.ips,
            roles: &self.lc_roles,
            sources: &self.sources,
            kinds: &self.kinds,
            severities: &self.severities,
        }
    }
}

fn role_rank(r: Option<&Role>) -> u8 {
    match r {
        Some(Role::Primary) => 0,
        Some(Role::Replica) => 1,
        Some(Role::Offline) => 2,
        Some(Role::Delayed) => 3,
        Some(Role::Unknown(_)) => 4,
        None => 5,
    }
}

/// Computes the per-instance and per-cluster facts of one read.
fn index(result: &CheckResult, columns: &[SourceKind]) -> (Vec<InstanceInfo>, Vec<ClusterInfo>) {
    let fleet = &result.fleet;
    let mut by_name: HashMap<(&str, &str), usize> = HashMap::new();
    let mut instances = Vec::with_capacity(fleet.instance_count());
    let mut clusters = Vec::with_capacity(fleet.clusters.len());
    let mut cluster_by_name: HashMap<&str, usize> = HashMap::new();
    for (ci, c) in fleet.clusters.iter().enumerate() {
        cluster_by_name.insert(&c.name, ci);
        let mut members = Vec::with_capacity(c.instances.len());
        let mut best: Option<(usize, &str)> = None;
        for (ii, inst) in c.instances.iter().enumerate() {
            let info = instance_info(inst, ci, ii, columns);
            let votes = info
                .roles
                .iter()
                .filter(|r| r.role().is_some_and(Role::is_primary))
                .count();
            if votes > 0 && best.is_none_or(|(n, _)| votes > n) {
                best = Some((votes, &inst.name));
            }
            by_name.insert((&c.name, &inst.name), instances.len());
            members.push(instances.len());
            instances.push(info);
        }
        clusters.push(ClusterInfo {
            instances: members,
            primary: best.map(|(_, n)| n.to_string()),
            findings: Vec::new(),
            all_findings: Vec::new(),
            worst: None,
        });
    }
    for (fi, f) in result.findings.iter().enumerate() {
        let Some(&ci) = cluster_by_name.get(f.cluster.as_str()) else {
            continue;
        };
        let cluster = &mut clusters[ci];
        cluster.all_findings.push(fi);
        cluster.worst = cluster.worst.max(Some(f.severity));
        match f
            .instance
            .as_deref()
            .and_then(|n| by_name.get(&(f.cluster.as_str(), n)))
        {
            Some(&ii) => {
                let info = &mut instances[ii];
                info.findings.push(fi);
                info.worst = info.worst.max(Some(f.severity));
                info.kinds.push(f.kind.code());
                info.severities.push(f.severity);
            }
            None => cluster.findings.push(fi),
        }
    }
    // Cluster-level findings describe every member, so the filter finds them there too.
    for c in &clusters {
        for &fi in &c.findings {
            let f = &result.findings[fi];
            for &ii in &c.instances {
                instances[ii].kinds.push(f.kind.code());
                instances[ii].severities.push(f.severity);
            }
        }
    }
    (instances, clusters)
}

fn instance_info(inst: &Instance, ci: usize, ii: usize, columns: &[SourceKind]) -> InstanceInfo {
    let roles: Vec<RoleCell> = columns
        .iter()
        .map(|&k| {
            if !inst.seen_by(k) {
                return RoleCell::Absent;
            }
            match inst.role_view(k) {
                RoleView::None => RoleCell::NoRole,
                RoleView::One(r) => RoleCell::One(r),
                RoleView::Split(r, _) => RoleCell::Split(r),
            }
        })
        .collect();
    let mut lc_roles: Vec<String> = inst
        .observations
        .iter()
        .filter_map(|o| o.role.as_ref())
        .flat_map(|c| [c.role.as_str().to_lowercase(), c.raw.to_lowercase()])
        .collect();
    lc_roles.sort();
    lc_roles.dedup();
    let mut ips: Vec<String> = inst
        .observations
        .iter()
        .filter_map(|o| o.ip.clone())
        .collect();
    ips.sort();
    ips.dedup();
    let rank = roles.iter().map(|r| role_rank(r.role())).min().unwrap_or(5);
    InstanceInfo {
        key: format!("{}/{}", inst.cluster, inst.name),
        cluster: ci,
        index: ii,
        ip: inst.display_ip().map(str::to_string),
        health: inst.health().map(str::to_string),
        findings: Vec::new(),
        worst: None,
        lc_cluster: inst.cluster.to_lowercase(),
        lc_name: inst.name.to_lowercase(),
        ips,
        lc_roles,
        sources: inst.sources().into_iter().map(SourceKind::name).collect(),
        kinds: Vec::new(),
        severities: Vec::new(),
        role_rank: rank,
        roles,
    }
}
