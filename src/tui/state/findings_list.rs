//! The findings list (`F`, `:findings`): every finding of the fleet in one overlay,
//! sorted by severity or by place, Enter jumps to its instance in the tree.

use super::{RowId, State};
use crate::drift::Finding;

/// The findings list while it is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FindingsList {
    /// Index into [`State::findings_order`].
    pub selected: usize,
    /// Worst first (the default); else in fleet order (cluster, then instance).
    pub by_place: bool,
}

impl State {
    /// The fleet's findings as the list shows them, as indexes into the findings.
    pub fn findings_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.result.findings.len()).collect();
        let by_place = self.findings_list.is_some_and(|l| l.by_place);
        let place = |f: &Finding| (f.datacenter.clone(), f.cluster.clone(), f.instance.clone());
        let all = &self.result.findings;
        if by_place {
            order.sort_by_key(|&i| place(&all[i]));
        } else {
            // Stable: within a severity, fleet order.
            order.sort_by(|&a, &b| all[b].severity.cmp(&all[a].severity));
        }
        order
    }

    /// Selects the place a finding is about: its instance, or its cluster for a
    /// cluster-level one. A filter that hides it is dropped, since the user asked to
    /// see this very row.
    pub fn reveal_finding(&mut self, finding: usize) {
        let Some(f) = self.result.findings.get(finding) else {
            return;
        };
        // The cluster of that name in the finding's datacenter: one name can be in two.
        let clusters = &self.result.fleet.clusters;
        let Some(c) = clusters
            .iter()
            .position(|c| c.name == f.cluster && c.datacenter == f.datacenter)
            .or_else(|| clusters.iter().position(|c| c.name == f.cluster))
        else {
            return;
        };
        let info = f.instance.as_ref().and_then(|name| {
            let key = format!("{}/{name}", self.clusters.get(c)?.key);
            self.instances.iter().position(|i| i.key == key)
        });
        if info.is_some_and(|i| !self.instance_visible(i)) {
            self.drift_only = false;
            self.clear_filter();
        }
        match info {
            Some(i) => self.reveal(i),
            None => {
                self.open_datacenter_of(c);
                let key = self.clusters.get(c).map(|c| c.key.clone());
                self.rebuild_keeping(key.map(RowId::Cluster));
            }
        }
        self.findings_scroll = 0;
        self.detail_scroll = 0;
    }
}
