//! The merged fleet: clusters -> instances -> what each source says about them.

use crate::identity::{Role, instance_name};
use crate::observation::{Observation, Origin, ReadState, SourceKind, SourceOutput, SourceReport};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// How an instance is told apart inside its cluster, strongest first.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(untagged)]
pub enum InstanceId {
    /// The Pigsty seq (the normal case).
    Seq(u32),
    /// A recorded instance name that does not follow `cls-seq`.
    Name(String),
    /// Only an address is known.
    Ip(String),
}

/// One database instance and every observation of it.
#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    /// The cluster it belongs to.
    pub cluster: String,
    /// How it is keyed.
    pub id: InstanceId,
    /// Display name: `cls-seq` when the seq is known.
    pub name: String,
    /// Everything the sources said about it.
    pub observations: Vec<Arc<Observation>>,
}

/// What a source's role claims for one instance amount to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleView {
    /// The source states no role.
    None,
    /// Every claim agrees.
    One(Role),
    /// The claims disagree (only Consul can, across its services); the first is the
    /// role that counts for cross-source comparison.
    Split(Role, Vec<Role>),
}

impl RoleView {
    /// The role that represents the source in cross-source comparisons.
    pub fn effective(&self) -> Option<&Role> {
        match self {
            RoleView::None => None,
            RoleView::One(r) | RoleView::Split(r, _) => Some(r),
        }
    }

    /// Short text for tables: `primary`, `split`, or `-`.
    pub fn label(&self) -> String {
        match self {
            RoleView::None => "-".into(),
            RoleView::One(r) => r.as_str().to_string(),
            RoleView::Split(..) => "split".into(),
        }
    }
}

/// What one source says about one instance: a record, a real absence, or nothing known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// The source has a record of the instance; `stale` when it is kept from an
    /// earlier read because the latest one failed.
    Record {
        /// The record is from an earlier read.
        stale: bool,
    },
    /// The source was read completely and has no record: a real absence.
    Absent,
    /// The source has no record and was not read completely (why is the read state),
    /// so whether it knows the instance is unknown.
    NotRead(ReadState),
}

impl Coverage {
    /// The code used in JSON: `record`, `absent` or `not-read`.
    pub fn code(self) -> &'static str {
        match self {
            Coverage::Record { .. } => "record",
            Coverage::Absent => "absent",
            // With several datacenters a source may be configured for another one only.
            Coverage::NotRead(ReadState::NotConfigured) => "not-configured",
            Coverage::NotRead(_) => "not-read",
        }
    }

    /// True when this is current knowledge (a fresh record or a real absence), which
    /// is all a verdict may be built on.
    pub fn verified(self) -> bool {
        matches!(self, Coverage::Record { stale: false } | Coverage::Absent)
    }
}

impl Instance {
    /// An instance nothing has been said about yet, named after its key.
    fn new(cluster: String, id: InstanceId) -> Instance {
        let name = match &id {
            InstanceId::Seq(s) => instance_name(&cluster, *s),
            InstanceId::Name(n) => n.clone(),
            InstanceId::Ip(ip) => format!("{cluster}@{ip}"),
        };
        Instance {
            cluster,
            id,
            name,
            observations: Vec::new(),
        }
    }

    /// The observations one source made of this instance.
    pub fn by_source(&self, kind: SourceKind) -> impl Iterator<Item = &Observation> {
        self.observations
            .iter()
            .map(Arc::as_ref)
            .filter(move |o| o.source == kind)
    }

    /// True when the source said anything about this instance.
    pub fn seen_by(&self, kind: SourceKind) -> bool {
        self.by_source(kind).next().is_some()
    }

    /// What a source read as `read` says about this instance.
    pub fn coverage(&self, kind: SourceKind, read: ReadState) -> Coverage {
        if self.seen_by(kind) {
            Coverage::Record {
                stale: read == ReadState::Stale,
            }
        } else if read.proves_absence() {
            Coverage::Absent
        } else {
            Coverage::NotRead(read)
        }
    }

    /// The sources that observed this instance, in display order.
    pub fn sources(&self) -> Vec<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .filter(|k| self.seen_by(*k))
            .collect()
    }

    /// The role this source gives the instance.
    ///
    /// For Consul, where every service carries its own claim, the `postgres` service
    /// speaks for the instance when the services disagree, since it is what routing uses.
    pub fn role_view(&self, kind: SourceKind) -> RoleView {
        let claims: Vec<(&Observation, &Role)> = self
            .by_source(kind)
            .filter_map(|o| o.role.as_ref().map(|c| (o, &c.role)))
            .collect();
        let Some((_, first)) = claims.first() else {
            return RoleView::None;
        };
        let distinct: BTreeSet<&Role> = claims.iter().map(|(_, r)| *r).collect();
        if distinct.len() == 1 {
            return RoleView::One((*first).clone());
        }
        let lead = claims
            .iter()
            .find(|(o, _)| consul_service_name(o) == Some("postgres"))
            .map(|(_, r)| (*r).clone())
            .unwrap_or_else(|| majority(claims.iter().map(|(_, r)| *r)));
        RoleView::Split(lead, distinct.into_iter().cloned().collect())
    }

    /// The distinct addresses this source gives the instance.
    pub fn ips(&self, kind: SourceKind) -> BTreeSet<&str> {
        self.by_source(kind)
            .filter_map(|o| o.ip.as_deref())
            .collect()
    }

    /// The ports a source names for this instance at one address (see
    /// [`Observation::ports`]); empty when it names none there.
    pub fn ports_at(&self, kind: SourceKind, ip: &str) -> BTreeSet<u16> {
        self.by_source(kind)
            .filter(|o| o.ip.as_deref() == Some(ip))
            .flat_map(|o| o.ports())
            .collect()
    }

    /// The one address a source gives, when it gives exactly one.
    pub fn ip(&self, kind: SourceKind) -> Option<&str> {
        let ips = self.ips(kind);
        if ips.len() == 1 {
            ips.into_iter().next()
        } else {
            None
        }
    }

    /// The address most sources agree on, for display (one vote per source, since
    /// Consul alone repeats it once per service).
    pub fn display_ip(&self) -> Option<&str> {
        self.ip_among(&SourceKind::ALL)
    }

    /// The address the places that publish identity agree on: [`Instance::display_ip`]
    /// without the live source, which only repeats the address it was sent to.
    pub fn registered_ip(&self) -> Option<&str> {
        self.ip_among(&[
            SourceKind::Consul,
            SourceKind::Targets,
            SourceKind::Inventory,
        ])
    }

    fn ip_among(&self, kinds: &[SourceKind]) -> Option<&str> {
        majority_str(kinds.iter().flat_map(|k| self.ips(*k).into_iter()))
    }

    /// The worst Consul check status of the instance's services and node, if any.
    pub fn health(&self) -> Option<&str> {
        let mut worst: Option<&str> = None;
        for o in self.by_source(SourceKind::Consul) {
            if let Origin::Consul(c) = &o.origin {
                for ch in c.checks() {
                    if rank(&ch.status) > worst.map(rank).unwrap_or(0) {
                        worst = Some(ch.status.as_str());
                    }
                }
            }
        }
        worst
    }
}

fn rank(status: &str) -> u8 {
    match status {
        "passing" => 1,
        "warning" => 2,
        "critical" => 3,
        _ => 2,
    }
}

/// The Consul service name behind an observation, if it came from Consul.
pub fn consul_service_name(o: &Observation) -> Option<&str> {
    match &o.origin {
        Origin::Consul(c) => Some(c.service_name.as_str()),
        _ => None,
    }
}

fn majority<'a>(roles: impl Iterator<Item = &'a Role>) -> Role {
    let mut counts: BTreeMap<&Role, usize> = BTreeMap::new();
    for r in roles {
        *counts.entry(r).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(r, _)| r.clone())
        .unwrap_or(Role::Unknown(String::new()))
}

fn majority_str<'a>(items: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for s in items {
        *counts.entry(s).or_default() += 1;
    }
    counts.into_iter().max_by_key(|(_, n)| *n).map(|(s, _)| s)
}

/// One cluster and its instances, ordered by seq.
#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    /// The cluster name.
    pub name: String,
    /// The datacenter it is read in, when several are read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    /// Its instances, by seq, then name, then address.
    pub instances: Vec<Instance>,
}

impl Cluster {
    /// Instances whose effective role in this source is primary.
    pub fn primaries(&self, kind: SourceKind) -> Vec<&Instance> {
        self.instances
            .iter()
            .filter(|i| {
                i.role_view(kind)
                    .effective()
                    .is_some_and(|r| r.is_primary())
            })
            .collect()
    }
}

/// The whole fleet as merged from every source read.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Fleet {
    /// Clusters by name (by datacenter, then name, when several datacenters are read).
    pub clusters: Vec<Cluster>,
    /// How each source's read went, in the order they were given.
    pub sources: Vec<SourceReport>,
    /// The datacenters read, nearest first, when several are (`crate::estate`); empty
    /// when one is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub datacenters: Vec<Datacenter>,
}

/// One datacenter of a fleet read across several.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Datacenter {
    /// Its name.
    pub name: String,
    /// The datacenters whose clusters it holds standbys of: a cluster name registered
    /// in both is a standby pair, not a collision.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub standby_of: Vec<String>,
}

impl Fleet {
    /// Merges the outputs of every source into clusters and instances.
    ///
    /// Observations that state a seq are placed first, so that the weaker keys of
    /// the others (an address, a recorded name) can find the instance they belong to.
    /// The live source's observations come last of all, as [`Fleet::add_live`] places
    /// them: the live source asks the instances the others name, so what it answers
    /// must not move where their observations land.
    pub fn build(outputs: Vec<SourceOutput>) -> Fleet {
        let mut sources = Vec::with_capacity(outputs.len());
        let mut anchored = Vec::new();
        let mut loose = Vec::new();
        let mut live = Vec::new();
        for out in outputs {
            if out.report.kind == SourceKind::Live {
                live.extend(out.observations);
            } else {
                for o in out.observations {
                    if stated_seq(&o).is_some() {
                        anchored.push(o);
                    } else {
                        loose.push(o);
                    }
                }
            }
            sources.push(out.report);
        }
        let mut merger = Merger::default();
        for o in &anchored {
            let seq = stated_seq(o).unwrap_or_default();
            merger.place(InstanceId::Seq(seq), o);
        }
        for o in &loose {
            let id = merger.find_home(o);
            merger.place(id, o);
        }
        let mut fleet = Fleet {
            clusters: merger.finish(),
            sources,
            ..Fleet::default()
        };
        fleet.follow(live);
        fleet
    }

    /// Adds a live read to the fleet it probed: the fleet [`Fleet::build`] makes of the
    /// same outputs with the live one among them, without merging the others again.
    pub fn add_live(&mut self, output: SourceOutput) {
        self.sources.push(output.report);
        self.follow(output.observations);
    }

    /// Places observations after everything else, keeping each instance's order the
    /// one a single merge gives (stated seqs first, then the rest, by source).
    fn follow(&mut self, observations: Vec<Arc<Observation>>) {
        let (anchored, loose): (Vec<_>, Vec<_>) = observations
            .into_iter()
            .partition(|o| stated_seq(o).is_some());
        for o in anchored {
            let id = InstanceId::Seq(stated_seq(&o).unwrap_or_default());
            let list = &mut self.instance_mut(&o.cluster, id).observations;
            let at = list
                .iter()
                .position(|x| stated_seq(x).is_none())
                .unwrap_or(list.len());
            list.insert(at, o);
        }
        for o in loose {
            let id = home(&o, self.only_instance_at(&o.cluster, o.ip.as_deref()));
            self.instance_mut(&o.cluster, id).observations.push(o);
        }
    }

    /// The instance of a cluster with this key, added in its sorted place when new.
    fn instance_mut(&mut self, cluster: &str, id: InstanceId) -> &mut Instance {
        let c = match self
            .clusters
            .binary_search_by(|c| c.name.as_str().cmp(cluster))
        {
            Ok(c) => c,
            Err(at) => {
                self.clusters.insert(
                    at,
                    Cluster {
                        name: cluster.to_string(),
                        datacenter: None,
                        instances: Vec::new(),
                    },
                );
                at
            }
        };
        let instances = &mut self.clusters[c].instances;
        let i = match instances.binary_search_by(|i| i.id.cmp(&id)) {
            Ok(i) => i,
            Err(at) => {
                instances.insert(at, Instance::new(cluster.to_string(), id));
                at
            }
        };
        &mut instances[i]
    }

    /// The one instance of a cluster some observation places at this address, if only one.
    fn only_instance_at(&self, cluster: &str, ip: Option<&str>) -> Option<&InstanceId> {
        let ip = ip?;
        let c = self
            .clusters
            .binary_search_by(|c| c.name.as_str().cmp(cluster))
            .ok()?;
        let mut at = self.clusters[c]
            .instances
            .iter()
            .filter(|i| i.observations.iter().any(|o| o.ip.as_deref() == Some(ip)));
        match (at.next(), at.next()) {
            (Some(only), None) => Some(&only.id),
            _ => None,
        }
    }

    /// The report of one source, if it was read.
    pub fn source(&self, kind: SourceKind) -> Option<&SourceReport> {
        self.sources.iter().find(|s| s.kind == kind)
    }

    /// How completely a source was read; `NotConfigured` when the fleet has no read of it.
    pub fn read_state(&self, kind: SourceKind) -> ReadState {
        self.source(kind)
            .map_or(ReadState::NotConfigured, SourceReport::read_state)
    }

    /// True when an instance missing from the source is a real absence: the source was
    /// read completely and is not stale. A partial read's silence proves nothing.
    pub fn proves_absence(&self, kind: SourceKind) -> bool {
        self.read_state(kind).proves_absence()
    }

    /// What a source says about one of the fleet's instances.
    pub fn coverage(&self, inst: &Instance, kind: SourceKind) -> Coverage {
        inst.coverage(kind, self.read_state(kind))
    }

    /// The sources that were read (or tried), in display order: the ones every verdict
    /// must cover.
    pub fn configured(&self) -> Vec<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .filter(|k| self.source(*k).is_some())
            .collect()
    }

    /// Every instance of every cluster.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.clusters.iter().flat_map(|c| c.instances.iter())
    }

    /// Number of instances in the fleet.
    pub fn instance_count(&self) -> usize {
        self.clusters.iter().map(|c| c.instances.len()).sum()
    }
}

/// A seq the observation states outright (not one guessed from a name).
fn stated_seq(o: &Observation) -> Option<u32> {
    match o.source {
        // Target files carry no seq label: theirs is always read off `ins`.
        SourceKind::Targets => None,
        _ => o.seq,
    }
}

/// Where an observation without a stated seq belongs: the one instance already at its
/// address, else the seq its name implies, else its name, else its address.
fn home(o: &Observation, only_at_address: Option<&InstanceId>) -> InstanceId {
    if let Some(id) = only_at_address {
        return id.clone();
    }
    if let Some(seq) = o.seq {
        return InstanceId::Seq(seq);
    }
    if let Some(name) = &o.instance {
        return InstanceId::Name(name.clone());
    }
    InstanceId::Ip(o.ip.clone().unwrap_or_default())
}

/// What the observations placed so far say about an instance at one address.
#[derive(Default)]
struct AtAddress {
    ports: BTreeSet<u16>,
    /// Declared as one of several instances on its host (an inventory `pg_instances` entry).
    one_of_several: bool,
}

/// Groups observations by instance, borrowing the keys from the observations (which
/// outlive it) instead of copying a cluster name and an address for each.
#[derive(Default)]
struct Merger<'a> {
    instances: FxHashMap<(&'a str, InstanceId), Vec<Arc<Observation>>>,
    by_ip: FxHashMap<(&'a str, &'a str), BTreeMap<InstanceId, AtAddress>>,
}

impl<'a> Merger<'a> {
    fn place(&mut self, id: InstanceId, o: &'a Arc<Observation>) {
        if let Some(ip) = &o.ip {
            let at = self
                .by_ip
                .entry((&o.cluster, ip))
                .or_default()
                .entry(id.clone())
                .or_default();
            at.ports.extend(o.ports());
            at.one_of_several |= matches!(&o.origin, Origin::Inventory(i) if i.port.is_some());
        }
        self.instances
            .entry((&o.cluster, id))
            .or_default()
            .push(o.clone());
    }

    /// The instance an observation's address names: ip + port, where ports tell the
    /// instances at one ip apart, else the ip alone when only one instance is there.
    fn find_home(&self, o: &Observation) -> InstanceId {
        let ports = o.ports();
        let at =
            o.ip.as_deref()
                .and_then(|ip| self.by_ip.get(&(o.cluster.as_str(), ip)));
        let only = at.and_then(|ids| {
            let meets = |a: &AtAddress| !a.ports.is_disjoint(&ports);
            if ids.len() == 1 {
                // On a host declared to hold several instances, another port is another one.
                let (id, a) = ids.iter().next()?;
                let elsewhere = a.one_of_several && !ports.is_empty() && !meets(a);
                return (!elsewhere).then_some(id);
            }
            if ports.is_empty() || ids.values().any(|a| a.ports.is_empty()) {
                return None;
            }
            let mut meeting = ids.iter().filter(|(_, a)| meets(a)).map(|(id, _)| id);
            match (meeting.next(), meeting.next()) {
                (Some(id), None) => Some(id),
                _ => None,
            }
        });
        home(o, only)
    }

    fn finish(self) -> Vec<Cluster> {
        let mut clusters: BTreeMap<&str, Vec<Instance>> = BTreeMap::new();
        for ((cluster, id), observations) in self.instances {
            let mut instance = Instance::new(cluster.to_string(), id);
            instance.observations = observations;
            clusters.entry(cluster).or_default().push(instance);
        }
        clusters
            .into_iter()
            .map(|(name, mut instances)| {
                instances.sort_by(|a, b| a.id.cmp(&b.id));
                Cluster {
                    name: name.to_string(),
                    datacenter: None,
                    instances,
                }
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;
