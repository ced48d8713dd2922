//! The tree: which rows are visible (expansion, sort, filter, drift-only), the selection
//! and the scroll, kept on the same item across key presses and reads.

use super::{LARGE_FLEET, Row, RowId, State};
use crate::tui::filter::Filter;
use crate::tui::layout::tree_viewport;
use crate::tui::vocab::Sort;
use crate::verdict::Unread;

/// The expansion key of a cluster (by [`ClusterInfo::key`](super::ClusterInfo::key));
/// the prefix keeps it apart from instance keys (`cluster/instance`), which share the set.
pub(super) fn cluster_key(key: &str) -> String {
    format!("c:{key}")
}

/// The expansion key of a datacenter (by [`DatacenterInfo::key`](super::DatacenterInfo::key)).
pub(super) fn datacenter_key(key: &str) -> String {
    format!("d:{key}")
}

impl State {
    /// Opens every cluster of a small fleet, so that it is all visible at once.
    pub(super) fn expand_small_fleet(&mut self) {
        if self.instances.len() <= LARGE_FLEET {
            let clusters = self.clusters.iter().map(|c| cluster_key(&c.key));
            self.expanded.extend(clusters);
        }
    }

    /// Every expansion key of datacenters and clusters (what expand-all opens).
    pub fn group_keys(&self) -> Vec<String> {
        let dcs = self.datacenters.iter().map(|d| datacenter_key(&d.key));
        dcs.chain(self.clusters.iter().map(|c| cluster_key(&c.key)))
            .collect()
    }

    /// The selected row.
    pub fn selected_row(&self) -> Option<Row> {
        self.rows.get(self.selected).copied()
    }

    /// The stable identity of a row.
    pub fn row_id(&self, row: Row) -> Option<RowId> {
        Some(match row {
            Row::Datacenter(d) => RowId::Datacenter(self.datacenters.get(d)?.key.clone()),
            Row::Cluster(c) => RowId::Cluster(self.clusters.get(c)?.key.clone()),
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
        self.clusters
            .get(cluster)
            .is_some_and(|c| self.expanded.contains(&cluster_key(&c.key)))
    }

    /// True when a datacenter's clusters are shown.
    pub fn datacenter_expanded(&self, dc: usize) -> bool {
        self.datacenters
            .get(dc)
            .is_some_and(|d| self.expanded.contains(&datacenter_key(&d.key)))
    }

    /// The cluster with this key ([`ClusterInfo::key`](super::ClusterInfo::key)), as an
    /// index into the fleet's clusters.
    pub fn cluster_by_key(&self, key: &str) -> Option<usize> {
        self.clusters.iter().position(|c| c.key == key)
    }

    /// The datacenter row a cluster sits under; `None` when the tree has no such level.
    pub fn datacenter_of(&self, cluster: usize) -> Option<usize> {
        let key = self
            .clusters
            .get(cluster)?
            .datacenter
            .as_deref()
            .unwrap_or("");
        self.datacenters.iter().position(|d| d.key == key)
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
            Row::Datacenter(d) => Some(datacenter_key(&self.datacenters.get(d)?.key)),
            Row::Cluster(c) => Some(cluster_key(&self.clusters.get(c)?.key)),
            Row::Instance(i) => Some(self.instances.get(i)?.key.clone()),
            Row::Entry(..) => None,
        }
    }

    /// Indexes of the findings that belong with the selection.
    ///
    /// A datacenter shows all its findings, a cluster all its findings, an instance (or
    /// one of its observations) its own plus the cluster-level ones it takes part in;
    /// with nothing selected, all.
    pub fn selection_findings(&self) -> Vec<usize> {
        match self.selected_row() {
            None => (0..self.result.findings.len()).collect(),
            Some(Row::Datacenter(d)) => self
                .datacenters
                .get(d)
                .map(|d| d.findings.clone())
                .unwrap_or_default(),
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

    /// The loaded sources not read for some instance of the selection (all instances
    /// when nothing is selected), each with why, in display order.
    pub fn selection_unread(&self) -> Vec<Unread> {
        let members: Vec<usize> = match self.selected_row() {
            None => (0..self.instances.len()).collect(),
            Some(Row::Datacenter(d)) => self
                .datacenters
                .get(d)
                .into_iter()
                .flat_map(|d| &d.clusters)
                .filter_map(|&c| self.clusters.get(c))
                .flat_map(|c| c.instances.iter().copied())
                .collect(),
            Some(Row::Cluster(c)) => self
                .clusters
                .get(c)
                .map(|c| c.instances.clone())
                .unwrap_or_default(),
            Some(Row::Instance(i) | Row::Entry(i, _)) => vec![i],
        };
        let mut out: Vec<Unread> = members
            .iter()
            .filter_map(|&i| self.instances.get(i))
            .flat_map(|info| info.unread.iter().copied())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Rebuilds the visible rows, keeping the selection on the same item.
    pub fn rebuild(&mut self) {
        let keep = self.selected_id();
        self.rebuild_keeping(keep);
    }

    /// Opens the instance's cluster (and its datacenter) in the tree and selects the
    /// instance, given by its index into [`State::instances`].
    pub fn reveal(&mut self, info: usize) {
        let Some(i) = self.instances.get(info) else {
            return;
        };
        let key = i.key.clone();
        self.open_cluster(i.cluster);
        self.rebuild_keeping(Some(RowId::Instance(key)));
    }

    /// Opens a cluster and the datacenter it is under.
    pub(super) fn open_cluster(&mut self, cluster: usize) {
        if let Some(c) = self.clusters.get(cluster) {
            self.expanded.insert(cluster_key(&c.key));
        }
        self.open_datacenter_of(cluster);
    }

    /// Opens the datacenter a cluster is under, so that the cluster's row is shown.
    pub(super) fn open_datacenter_of(&mut self, cluster: usize) {
        if let Some(d) = self.datacenter_of(cluster) {
            self.expanded
                .insert(datacenter_key(&self.datacenters[d].key));
        }
    }

    pub(super) fn rebuild_keeping(&mut self, keep: Option<RowId>) {
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
        let clusters = &self.clusters;
        let instance_pos =
            |key: &str| pos(&|r| matches!(r, Row::Instance(i) if self.instances[i].key == key));
        let cluster_pos =
            |key: &str| pos(&|r| matches!(r, Row::Cluster(c) if clusters[c].key == key));
        match id {
            RowId::Datacenter(key) => {
                pos(&|r| matches!(r, Row::Datacenter(d) if self.datacenters[d].key == *key))
            }
            // A cluster hidden under its collapsed datacenter: the datacenter.
            RowId::Cluster(key) => cluster_pos(key).or_else(|| {
                let c = clusters.iter().position(|c| c.key == *key)?;
                let d = self.datacenter_of(c)?;
                self.find(&RowId::Datacenter(self.datacenters[d].key.clone()))
            }),
            // Gone or hidden: its cluster (the instance may have left the fleet, so the
            // cluster is the one whose key starts the instance's).
            RowId::Instance(key) => instance_pos(key).or_else(|| {
                let cluster = clusters
                    .iter()
                    .filter(|c| {
                        key.strip_prefix(c.key.as_str())
                            .is_some_and(|rest| rest.starts_with('/'))
                    })
                    .max_by_key(|c| c.key.len())?;
                self.find(&RowId::Cluster(cluster.key.clone()))
            }),
            RowId::Entry(key, o) => pos(
                &|r| matches!(r, Row::Entry(i, oi) if oi == *o && self.instances[i].key == *key),
            )
            .or_else(|| self.find(&RowId::Instance(key.clone()))),
        }
    }

    /// The clusters in tree order: per datacenter when the tree has that level, sorted
    /// within it; the datacenters themselves keep their order (nearest first).
    pub(super) fn cluster_order(&self) -> Vec<(Option<usize>, Vec<usize>)> {
        if self.datacenters.is_empty() {
            let mut order: Vec<usize> = (0..self.clusters.len()).collect();
            self.sort_clusters(&mut order);
            return vec![(None, order)];
        }
        self.datacenters
            .iter()
            .enumerate()
            .map(|(d, info)| {
                let mut order = info.clusters.clone();
                self.sort_clusters(&mut order);
                (Some(d), order)
            })
            .collect()
    }

    fn visible_rows(&self) -> Vec<Row> {
        let mut rows =
            Vec::with_capacity(self.datacenters.len() + self.clusters.len() + self.instances.len());
        let narrowing = !self.filter.is_empty() || self.drift_only;
        let mut below = Vec::new();
        for (dc, order) in self.cluster_order() {
            below.clear();
            self.cluster_rows(&order, narrowing, &mut below);
            let Some(d) = dc else {
                rows.append(&mut below);
                continue;
            };
            // A datacenter not read stays in sight under "drift only": what it holds is
            // unknown, which is not the same as clean.
            let unknown = self.drift_only && self.filter.is_empty() && !self.datacenters[d].read;
            if narrowing && below.is_empty() && !unknown {
                continue;
            }
            rows.push(Row::Datacenter(d));
            if self.datacenter_expanded(d) {
                rows.append(&mut below);
            }
        }
        rows
    }

    /// The rows of these clusters (in this order) and of what is open under them.
    fn cluster_rows(&self, order: &[usize], narrowing: bool, rows: &mut Vec<Row>) {
        let mut members = Vec::new();
        for &c in order {
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
    }

    pub(super) fn instance_visible(&self, i: usize) -> bool {
        let info = &self.instances[i];
        if self.drift_only && info.worst.is_none() {
            return false;
        }
        self.filter.is_empty() || self.filter.matches(&info.subject())
    }

    pub(super) fn sort_clusters(&self, order: &mut [usize]) {
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

    pub(super) fn sort_instances(&self, members: &mut [usize]) {
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
            let hits: Vec<usize> = (0..self.clusters.len())
                .filter(|&c| {
                    self.clusters[c]
                        .instances
                        .iter()
                        .any(|&i| self.filter.matches(&self.instances[i].subject()))
                })
                .collect();
            for c in hits {
                self.open_cluster(c);
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
