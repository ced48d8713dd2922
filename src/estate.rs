//! Several datacenters read at once: each datacenter's sources merged into a fleet of its
//! own, the sources shared by all of them placed where their clusters live, the drift
//! checked per datacenter, and the clusters one name gives two datacenters reported.
//!
//! A read belongs to a datacenter when its report names one (`SourceReport::datacenter`:
//! that datacenter's Consul, its own target files or inventory); a read that names none
//! is shared. A cluster of a shared read goes to the datacenter whose Consul holds it (the
//! one holding that address, when several do); a cluster no Consul holds goes to the
//! nearest datacenter, but only when every datacenter's Consul was read: otherwise the one
//! not read may hold it, and it stays in a group of its own (no datacenter) where no
//! verdict about Consul is made. Pure: no I/O, no clock.

use crate::drift::{self, Finding, Kind, Severity};
use crate::fleet::{Cluster, Datacenter, Fleet};
use crate::observation::{Observation, SourceKind, SourceOutput, SourceReport};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Merges the outputs of every source; with `datacenters` (nearest first), per datacenter.
///
/// Without datacenters this is [`Fleet::build`]. A datacenter named only by a read's
/// report (files configured for a datacenter Consul does not list) is added after them.
pub fn build(outputs: Vec<SourceOutput>, datacenters: &[Datacenter]) -> Fleet {
    if datacenters.is_empty() {
        return Fleet::build(outputs);
    }
    let mut dcs = datacenters.to_vec();
    for o in &outputs {
        if let Some(dc) = &o.report.datacenter
            && !dcs.iter().any(|d| &d.name == dc)
        {
            dcs.push(Datacenter {
                name: dc.clone(),
                standby_of: Vec::new(),
            });
        }
    }
    let index: HashMap<&str, usize> = dcs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name.as_str(), i))
        .collect();
    let placement = Placement::new(&outputs, &index);
    // Group `dcs.len()` holds what no datacenter can be named for.
    let unplaced = dcs.len();
    let mut groups: Vec<Vec<SourceOutput>> = vec![Vec::new(); dcs.len() + 1];
    let mut reports = Vec::with_capacity(outputs.len());
    for out in outputs {
        reports.push(out.report.clone());
        match out.report.datacenter.as_deref().and_then(|d| index.get(d)) {
            Some(&i) => groups[i].push(out),
            None => {
                let mut split: Vec<Vec<Arc<Observation>>> = vec![Vec::new(); dcs.len() + 1];
                for o in out.observations {
                    let to = placement.of(&o).unwrap_or(unplaced);
                    split[to].push(o);
                }
                // Every group gets the report, with the whole read's counts, so that an
                // absence from a shared read means the same in every datacenter.
                for (group, observations) in groups.iter_mut().zip(split) {
                    group.push(SourceOutput {
                        report: out.report.clone(),
                        observations,
                    });
                }
            }
        }
    }
    let mut clusters = Vec::new();
    for (i, outs) in groups.into_iter().enumerate() {
        let name = dcs.get(i).map(|d| d.name.clone());
        for mut c in Fleet::build(outs).clusters {
            c.datacenter = name.clone();
            clusters.push(c);
        }
    }
    let rank = |r: &SourceReport| {
        let dc = r.datacenter.as_deref().and_then(|d| index.get(d).copied());
        (r.kind, dc.map_or(0, |i| i + 1))
    };
    reports.sort_by_key(|r| rank(r));
    Fleet {
        clusters,
        sources: reports,
        datacenters: dcs,
    }
}

/// Where the clusters of shared reads go: the datacenters whose Consul holds each cluster
/// (nearest first) with the addresses it has there.
struct Placement {
    held: HashMap<String, Vec<(usize, HashSet<String>)>>,
    every_consul_read: bool,
}

impl Placement {
    fn new(outputs: &[SourceOutput], index: &HashMap<&str, usize>) -> Placement {
        let mut held: HashMap<String, Vec<(usize, HashSet<String>)>> = HashMap::new();
        let mut read = vec![false; index.len()];
        for out in outputs {
            if out.report.kind != SourceKind::Consul {
                continue;
            }
            let Some(&i) = out.report.datacenter.as_deref().and_then(|d| index.get(d)) else {
                continue;
            };
            read[i] |= out.report.read_state().proves_absence();
            for o in &out.observations {
                let list = held.entry(o.cluster.clone()).or_default();
                let at = match list.iter().position(|(d, _)| *d == i) {
                    Some(p) => p,
                    None => {
                        list.push((i, HashSet::new()));
                        list.len() - 1
                    }
                };
                if let Some(ip) = &o.ip {
                    list[at].1.insert(ip.clone());
                }
            }
        }
        for list in held.values_mut() {
            list.sort_by_key(|(d, _)| *d);
        }
        Placement {
            held,
            every_consul_read: read.iter().all(|r| *r),
        }
    }

    /// The datacenter an observation of a shared read belongs to, if one can be named.
    fn of(&self, o: &Observation) -> Option<usize> {
        match self.held.get(&o.cluster) {
            Some(list) => {
                let by_address =
                    o.ip.as_ref()
                        .and_then(|ip| list.iter().find(|(_, ips)| ips.contains(ip)));
                by_address.or(list.first()).map(|(d, _)| *d)
            }
            None => self.every_consul_read.then_some(0),
        }
    }
}

/// Every finding: [`drift::check`] per datacenter, each finding naming its datacenter,
/// and the cluster names registered in two datacenters' Consul that are not standby pairs.
pub fn check(fleet: &Fleet) -> Vec<Finding> {
    if fleet.datacenters.is_empty() {
        return drift::check(fleet);
    }
    let mut groups: Vec<Option<&str>> = fleet
        .datacenters
        .iter()
        .map(|d| Some(d.name.as_str()))
        .collect();
    groups.push(None);
    let mut out = Vec::new();
    for dc in &groups {
        let clusters: Vec<Cluster> = fleet
            .clusters
            .iter()
            .filter(|c| c.datacenter.as_deref() == *dc)
            .cloned()
            .collect();
        if clusters.is_empty() {
            continue;
        }
        let sub = Fleet {
            clusters,
            sources: sources_of(fleet, *dc),
            ..Fleet::default()
        };
        for mut f in drift::check(&sub) {
            f.datacenter = dc.map(str::to_string);
            out.push(f);
        }
    }
    out.extend(collisions(fleet));
    let rank = |dc: &Option<String>| {
        dc.as_deref()
            .and_then(|d| fleet.datacenters.iter().position(|x| x.name == d))
            .unwrap_or(usize::MAX)
    };
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| rank(&a.datacenter).cmp(&rank(&b.datacenter)))
            .then_with(|| a.cluster.cmp(&b.cluster))
            .then_with(|| a.instance.cmp(&b.instance))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    out
}

/// One datacenter's part of a fleet read across several, as [`check`] sees it: its
/// clusters and the reads that speak for it (its own and the shared ones).
pub fn part(fleet: &Fleet, dc: &str) -> Fleet {
    Fleet {
        clusters: fleet
            .clusters
            .iter()
            .filter(|c| c.datacenter.as_deref() == Some(dc))
            .cloned()
            .collect(),
        sources: sources_of(fleet, Some(dc)),
        ..Fleet::default()
    }
}

/// The reports that speak for one datacenter: its own and the shared ones. Of several of
/// one kind, the least trusted (failed, then stale, then partial) comes first, so that the
/// drift check (which asks the first) makes no verdict of absence, and no record passes
/// as current, that another read of the kind could contradict.
fn sources_of(fleet: &Fleet, dc: Option<&str>) -> Vec<SourceReport> {
    let mut v: Vec<SourceReport> = fleet
        .sources
        .iter()
        .filter(|r| r.datacenter.is_none() || r.datacenter.as_deref() == dc)
        .cloned()
        .collect();
    v.sort_by_key(|r| (r.kind, r.read_state().distrust_rank()));
    v
}

/// One finding per pair of datacenters whose Consul both hold a cluster of one name,
/// unless one is configured as the other's standby.
fn collisions(fleet: &Fleet) -> Vec<Finding> {
    let mut by_name: BTreeMap<&str, Vec<&Cluster>> = BTreeMap::new();
    for c in &fleet.clusters {
        let in_consul = c.instances.iter().any(|i| i.seen_by(SourceKind::Consul));
        if c.datacenter.is_some() && in_consul {
            by_name.entry(c.name.as_str()).or_default().push(c);
        }
    }
    let standby = |a: &str, b: &str| {
        let of = |x: &str, y: &str| {
            fleet
                .datacenters
                .iter()
                .any(|d| d.name == x && d.standby_of.iter().any(|s| s == y))
        };
        of(a, b) || of(b, a)
    };
    let mut out = Vec::new();
    for (name, list) in by_name {
        for (i, a) in list.iter().enumerate() {
            for b in &list[i + 1..] {
                let (Some(da), Some(db)) = (a.datacenter.as_deref(), b.datacenter.as_deref())
                else {
                    continue;
                };
                if standby(da, db) {
                    continue;
                }
                let sources = BTreeMap::from([
                    (format!("consul@{da}"), members(a)),
                    (format!("consul@{db}"), members(b)),
                ]);
                out.push(Finding {
                    kind: Kind::IdentityCollision,
                    severity: Severity::Error,
                    cluster: name.to_string(),
                    instance: None,
                    sources,
                    message: format!(
                        "cluster {name} is registered in Consul in both {da} and {db}; \
                         if {db} holds its standby cluster, say so in the config file \
                         ([datacenter.{db}] standby_of = \"{da}\")"
                    ),
                    datacenter: Some(db.to_string()),
                });
            }
        }
    }
    out
}

/// `pg-test-1 10.0.0.1, pg-test-2 10.0.0.2`: a cluster's members as Consul has them.
fn members(c: &Cluster) -> String {
    c.instances
        .iter()
        .filter(|i| i.seen_by(SourceKind::Consul))
        .map(|i| match i.ip(SourceKind::Consul) {
            Some(ip) => format!("{} {ip}", i.name),
            None => i.name.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[path = "estate_tests.rs"]
mod tests;
