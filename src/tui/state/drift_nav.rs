//! Moving through the drift: the drifting instances in tree order, the first one to open
//! on, and the next or previous one from wherever the selection is (`n` / `N`).

use super::{Row, State};

impl State {
    /// The instances with findings, in the order the tree shows them (sort and filter
    /// applied, collapsed clusters included): what `n` / `N` step through.
    pub fn drifting_order(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for c in self
            .cluster_order()
            .into_iter()
            .flat_map(|(_, order)| order)
        {
            let mut members: Vec<usize> = self.clusters[c]
                .instances
                .iter()
                .copied()
                .filter(|&i| self.instances[i].worst.is_some() && self.instance_visible(i))
                .collect();
            self.sort_instances(&mut members);
            out.extend(members);
        }
        out
    }

    /// How many instances have findings of their own (as `roster check` counts them).
    pub fn drifting_count(&self) -> usize {
        self.instances.iter().filter(|i| i.worst.is_some()).count()
    }

    /// Selects the first drifting instance, opening its cluster; the selection stays
    /// where it is when nothing drifts. The UI opens here so the first screen shows
    /// what is wrong rather than a clean cluster.
    pub fn select_first_drift(&mut self) {
        if let Some(&first) = self.drifting_order().first() {
            self.reveal_info(first);
        }
    }

    /// Selects the next (or previous) drifting instance after the selection, wrapping;
    /// false when no instance drifts.
    pub fn jump_drift(&mut self, forward: bool) -> bool {
        // Every datacenter, cluster and instance in tree order, collapsed or not: the
        // selection has a place in it wherever it is.
        let mut slots: Vec<Row> =
            Vec::with_capacity(self.datacenters.len() + self.clusters.len() + self.instances.len());
        for (dc, order) in self.cluster_order() {
            slots.extend(dc.map(Row::Datacenter));
            for c in order {
                slots.push(Row::Cluster(c));
                let mut members = self.clusters[c].instances.clone();
                self.sort_instances(&mut members);
                slots.extend(members.into_iter().map(Row::Instance));
            }
        }
        let here = match self.selected_row() {
            Some(Row::Entry(i, _)) => Some(Row::Instance(i)),
            other => other,
        };
        let at = here
            .and_then(|h| slots.iter().position(|s| *s == h))
            .unwrap_or(0);
        let n = slots.len();
        let drifting = |row: Row| {
            matches!(row, Row::Instance(i)
                if self.instances[i].worst.is_some() && self.instance_visible(i))
        };
        let found = (1..=n)
            .map(|step| {
                if forward {
                    (at + step) % n
                } else {
                    (at + n - step % n) % n
                }
            })
            .map(|k| slots[k])
            .find(|&row| drifting(row));
        match found {
            Some(Row::Instance(i)) => {
                self.reveal_info(i);
                true
            }
            _ => false,
        }
    }

    /// Selects an instance by its index into [`State::instances`], opening its cluster.
    pub fn reveal_info(&mut self, info: usize) {
        self.reveal(info);
        self.findings_scroll = 0;
        self.detail_scroll = 0;
    }
}
