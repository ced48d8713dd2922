//! What is computed once per read: per-instance and per-cluster facts, and one status
//! line per source, so that the tree, the filter and the sort never walk the fleet again.

use crate::drift::{Follows, Primaries, Severity};
use crate::fleet::{Coverage, Fleet, Instance, RoleView};
use crate::identity::Role;
use crate::observation::{SourceKind, SourceReport};
use crate::report::CheckResult;
use crate::text::{redact, sanitize};
use crate::tui::filter::Subject;
use crate::verdict::{Unread, Verdict, unread, verdict};
use crate::watch;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

/// What one source column says about an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleCell {
    /// The source was read completely and does not know the instance.
    Absent,
    /// The source was not read (failed, read in part, stale) and does not know it:
    /// whether it has the instance is unknown.
    NotRead,
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
            RoleCell::NotRead => '~',
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
    /// One cell per loaded source, in [`State::columns`](crate::tui::state::State::columns) order.
    pub roles: Vec<RoleCell>,
    /// What each loaded source says about it (record, stale record, absent, not read),
    /// in the same order.
    pub coverage: Vec<Coverage>,
    /// Ok, drift, or unverified (a loaded source was not read for it).
    pub verdict: Verdict,
    /// The loaded sources not read for it, whatever the verdict.
    pub unread: Vec<Unread>,
    /// The address most sources agree on.
    pub ip: Option<String>,
    /// Worst Consul check status.
    pub health: Option<String>,
    /// Indexes into the findings of this instance.
    pub findings: Vec<usize>,
    /// The worst of them.
    pub worst: Option<Severity>,
    lc_cluster: String,
    lc_dc: String,
    lc_name: String,
    ips: Vec<String>,
    lc_roles: Vec<String>,
    sources: Vec<&'static str>,
    kinds: Vec<&'static str>,
    severities: Vec<Severity>,
    pub(super) role_rank: u8,
}

/// The facts of one cluster.
#[derive(Clone, Debug)]
pub struct ClusterInfo {
    /// Stable id across reads: the name, or `name@dc` when it was read in a datacenter
    /// of several, so that one name in two datacenters stays two clusters.
    pub key: String,
    /// The datacenter it was read in, when several are read.
    pub datacenter: Option<String>,
    /// Its instances, as indexes into
    /// [`State::instances`](crate::tui::state::State::instances).
    pub instances: Vec<usize>,
    /// Who each place read names primary (the live source included).
    pub primaries: Primaries,
    /// Whether the registrations follow the live roles; `None` when live was not read.
    pub follows: Option<Follows>,
    /// Cluster-level findings (no instance), as indexes into the findings.
    pub findings: Vec<usize>,
    /// Every finding of the cluster, its instances' included.
    pub all_findings: Vec<usize>,
    /// The worst of all of them.
    pub worst: Option<Severity>,
    /// Its instances whose verdict is unverified.
    pub unverified: usize,
}

/// One datacenter of several (the tree's top level), or the clusters no datacenter
/// could be named for (`name` is `None`).
#[derive(Clone, Debug)]
pub struct DatacenterInfo {
    /// Its name (sanitised); `None` for the clusters without a datacenter.
    pub name: Option<String>,
    /// Stable id across reads: the name, empty for the clusters without one.
    pub key: String,
    /// Its clusters, as indexes into [`State::clusters`](crate::tui::state::State::clusters).
    pub clusters: Vec<usize>,
    /// Its own reads (its Consul, its files), as indexes into the source lines; empty
    /// when nothing was read for it.
    pub sources: Vec<usize>,
    /// Every one of its own reads answered (none failed, none is missing).
    pub read: bool,
    /// Its findings, as indexes into the findings.
    pub findings: Vec<usize>,
    /// Its instances whose verdict is unverified.
    pub unverified: usize,
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
    /// Its watch is re-reading without an index: the data is not confirmed yet.
    pub confirming: bool,
    /// The datacenter of this read, when several are read.
    pub datacenter: Option<String>,
}

impl SourceLine {
    fn new(r: &SourceReport) -> SourceLine {
        SourceLine {
            name: r.kind.name(),
            datacenter: r.datacenter.as_ref().map(|d| sanitize(d, 40)),
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
            confirming: r.facts.get(watch::STANDING).map(String::as_str) == Some(watch::CONFIRMING),
        }
    }

    /// `consul`, or `consul@dc2` for one datacenter's read of several.
    pub fn label(&self) -> String {
        match &self.datacenter {
            Some(dc) => format!("{}@{dc}", self.name),
            None => self.name.to_string(),
        }
    }

    /// Time since the read, given the current time; `None` when either is unknown.
    /// A read "in the future" (clock stepped back) counts as just now.
    pub fn age(&self, now: Option<SystemTime>) -> Option<Duration> {
        let (now, at) = (now?, self.read_at?);
        Some(now.duration_since(at).unwrap_or(Duration::ZERO))
    }
}

/// Everything derived from one read, in the shape the state keeps it.
pub(super) struct Index {
    /// The loaded sources, in column order.
    pub(super) columns: Vec<SourceKind>,
    /// Status line data per source.
    pub(super) sources: Vec<SourceLine>,
    /// Datacenter reported by Consul.
    pub(super) datacenter: Option<String>,
    /// Per-instance facts, in fleet order.
    pub(super) instances: Vec<InstanceInfo>,
    /// Per-cluster facts, in fleet order.
    pub(super) clusters: Vec<ClusterInfo>,
    /// The tree's top level when several datacenters are read; empty when one is.
    pub(super) datacenters: Vec<DatacenterInfo>,
}

/// Indexes one read.
pub(super) fn build(result: &CheckResult) -> Index {
    let columns = result.source_kinds();
    let sources: Vec<SourceLine> = result.fleet.sources.iter().map(SourceLine::new).collect();
    let datacenter = result
        .fleet
        .source(SourceKind::Consul)
        .and_then(|r| r.facts.get("datacenter").map(String::as_str))
        .or_else(|| {
            // Without `--dc` the agent's datacenter is only known from what it returned.
            result
                .fleet
                .instances()
                .flat_map(|i| &i.observations)
                .find_map(|o| match &o.origin {
                    crate::observation::Origin::Consul(c) => Some(c.datacenter.as_str()),
                    _ => None,
                })
        })
        .map(|d| sanitize(d, 40));
    // Several datacenters read: the one shown (`:dc NAME`), or how many (`:dc all`).
    let datacenter = match result.fleet.datacenters.as_slice() {
        [] => datacenter,
        [one] => Some(sanitize(&one.name, 40)),
        many => Some(format!("all {}", many.len())),
    };
    let (instances, clusters) = index(result, &columns);
    let datacenters = datacenters(result, &sources, &clusters);
    Index {
        columns,
        sources,
        datacenter,
        instances,
        clusters,
        datacenters,
    }
}

/// The tree's top level: every datacenter read (nearest first, each with its own reads
/// and findings, whether or not it holds a cluster), then the clusters no datacenter
/// could be named for. Empty when fewer than two datacenters are read.
fn datacenters(
    result: &CheckResult,
    sources: &[SourceLine],
    clusters: &[ClusterInfo],
) -> Vec<DatacenterInfo> {
    let dcs = &result.fleet.datacenters;
    if dcs.len() < 2 {
        return Vec::new();
    }
    let group = |name: Option<&str>| {
        let own: Vec<usize> = match name {
            Some(dc) => result
                .fleet
                .sources
                .iter()
                .enumerate()
                .filter(|(_, r)| r.datacenter.as_deref() == Some(dc))
                .map(|(i, _)| i)
                .collect(),
            None => Vec::new(),
        };
        let members: Vec<usize> = (0..clusters.len())
            .filter(|&c| clusters[c].datacenter.as_deref() == name)
            .collect();
        DatacenterInfo {
            name: name.map(|n| sanitize(n, 40)),
            key: name.unwrap_or_default().to_string(),
            read: !own.is_empty() && own.iter().all(|&i| sources[i].error.is_none()),
            sources: own,
            unverified: members.iter().map(|&c| clusters[c].unverified).sum(),
            clusters: members,
            findings: (0..result.findings.len())
                .filter(|&f| result.findings[f].datacenter.as_deref() == name)
                .collect(),
        }
    };
    let mut out: Vec<DatacenterInfo> = dcs.iter().map(|d| group(Some(&d.name))).collect();
    let rest = group(None);
    if !rest.clusters.is_empty() || !rest.findings.is_empty() {
        out.push(rest);
    }
    out
}

impl InstanceInfo {
    pub(super) fn subject(&self) -> Subject<'_> {
        Subject {
            cluster: &self.lc_cluster,
            datacenter: &self.lc_dc,
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
    // One cluster name can be read in two datacenters: the datacenter is part of the key.
    let mut by_name: HashMap<(Option<&str>, &str, &str), usize> = HashMap::new();
    let mut instances = Vec::with_capacity(fleet.instance_count());
    let mut clusters = Vec::with_capacity(fleet.clusters.len());
    let mut cluster_by_name: HashMap<(Option<&str>, &str), usize> = HashMap::new();
    // Several datacenters: each instance is judged by the reads that speak for its own.
    let mut reads: HashMap<Option<&str>, Fleet> = HashMap::new();
    for (ci, c) in fleet.clusters.iter().enumerate() {
        let dc = c.datacenter.as_deref();
        let fleet = if fleet.datacenters.is_empty() {
            fleet
        } else {
            &*reads
                .entry(dc)
                .or_insert_with(|| crate::verdict::reads_for(fleet, dc))
        };
        cluster_by_name.insert((dc, &c.name), ci);
        let key = cluster_key(c);
        let mut members = Vec::with_capacity(c.instances.len());
        for (ii, inst) in c.instances.iter().enumerate() {
            let info = instance_info(fleet, inst, (ci, &key, dc), ii, columns);
            by_name.insert((dc, &c.name, &inst.name), instances.len());
            members.push(instances.len());
            instances.push(info);
        }
        clusters.push(ClusterInfo {
            key,
            datacenter: c.datacenter.clone(),
            instances: members,
            primaries: crate::drift::primaries(fleet, c),
            follows: fleet
                .source(SourceKind::Live)
                .map(|_| crate::drift::follows(fleet, c)),
            findings: Vec::new(),
            all_findings: Vec::new(),
            worst: None,
            unverified: 0,
        });
    }
    for (fi, f) in result.findings.iter().enumerate() {
        let dc = f.datacenter.as_deref();
        let Some(&ci) = cluster_by_name.get(&(dc, f.cluster.as_str())) else {
            continue;
        };
        let cluster = &mut clusters[ci];
        cluster.all_findings.push(fi);
        cluster.worst = cluster.worst.max(Some(f.severity));
        match f
            .instance
            .as_deref()
            .and_then(|n| by_name.get(&(dc, f.cluster.as_str(), n)))
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
    for info in &mut instances {
        let Some(c) = fleet.clusters.get(info.cluster) else {
            continue;
        };
        let Some(inst) = c.instances.get(info.index) else {
            continue;
        };
        let own = info.findings.iter().filter_map(|&f| result.findings.get(f));
        let judge = reads.get(&c.datacenter.as_deref()).unwrap_or(fleet);
        info.verdict = verdict(judge, inst, own);
        if matches!(info.verdict, Verdict::Unverified(_)) {
            clusters[info.cluster].unverified += 1;
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

/// A cluster's stable id: see [`ClusterInfo::key`].
fn cluster_key(c: &crate::fleet::Cluster) -> String {
    match &c.datacenter {
        Some(dc) => format!("{}@{dc}", c.name),
        None => c.name.clone(),
    }
}

fn instance_info(
    fleet: &Fleet,
    inst: &Instance,
    (ci, cluster_key, dc): (usize, &str, Option<&str>),
    ii: usize,
    columns: &[SourceKind],
) -> InstanceInfo {
    let coverage: Vec<Coverage> = columns.iter().map(|&k| fleet.coverage(inst, k)).collect();
    let roles: Vec<RoleCell> = columns
        .iter()
        .zip(&coverage)
        .map(|(&k, c)| {
            match c {
                Coverage::Absent => return RoleCell::Absent,
                Coverage::NotRead(_) => return RoleCell::NotRead,
                Coverage::Record { .. } => {}
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
        key: format!("{cluster_key}/{}", inst.name),
        cluster: ci,
        index: ii,
        ip: inst.display_ip().map(str::to_string),
        health: inst.health().map(str::to_string),
        findings: Vec::new(),
        worst: None,
        lc_cluster: inst.cluster.to_lowercase(),
        lc_dc: dc.unwrap_or_default().to_lowercase(),
        lc_name: inst.name.to_lowercase(),
        ips,
        lc_roles,
        sources: inst.sources().into_iter().map(SourceKind::name).collect(),
        kinds: Vec::new(),
        severities: Vec::new(),
        role_rank: rank,
        roles,
        coverage,
        // Set once the instance's findings are known.
        verdict: Verdict::Ok,
        unread: unread(fleet, inst),
    }
}
