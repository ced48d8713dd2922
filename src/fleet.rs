//! The merged fleet: clusters -> instances -> what each source says about them.

use crate::identity::{Role, instance_name};
use crate::observation::{Observation, Origin, SourceKind, SourceOutput, SourceReport};
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
    /// Clusters by name.
    pub clusters: Vec<Cluster>,
    /// How each source's read went, in the order they were given.
    pub sources: Vec<SourceReport>,
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

    /// True when the source was read and said something (so absences from it mean something).
    pub fn source_usable(&self, kind: SourceKind) -> bool {
        self.source(kind).is_some_and(|s| !s.failed_entirely())
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

/// Groups observations by instance, borrowing the keys from the observations (which
/// outlive it) instead of copying a cluster name and an address for each.
#[derive(Default)]
struct Merger<'a> {
    instances: FxHashMap<(&'a str, InstanceId), Vec<Arc<Observation>>>,
    by_ip: FxHashMap<(&'a str, &'a str), BTreeSet<InstanceId>>,
}

impl<'a> Merger<'a> {
    fn place(&mut self, id: InstanceId, o: &'a Arc<Observation>) {
        if let Some(ip) = &o.ip {
            let ids = self.by_ip.entry((&o.cluster, ip)).or_default();
            if !ids.contains(&id) {
                ids.insert(id.clone());
            }
        }
        self.instances
            .entry((&o.cluster, id))
            .or_default()
            .push(o.clone());
    }

    fn find_home(&self, o: &Observation) -> InstanceId {
        let only =
            o.ip.as_deref()
                .and_then(|ip| self.by_ip.get(&(o.cluster.as_str(), ip)))
                .filter(|ids| ids.len() == 1)
                .and_then(|ids| ids.iter().next());
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
                    instances,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_by_seq_then_address_then_name() {
        let fleet = Fleet::build(vec![
            SourceOutput::test(
                SourceKind::Inventory,
                vec![
                    Observation::test(SourceKind::Inventory, "pg-a")
                        .seq(1)
                        .role("primary")
                        .ip("10.0.0.1"),
                    Observation::test(SourceKind::Inventory, "pg-a")
                        .seq(2)
                        .role("replica")
                        .ip("10.0.0.2"),
                ],
            ),
            SourceOutput::test(
                SourceKind::Targets,
                vec![
                    // typo in ins, but the address places it on seq 2
                    Observation::test(SourceKind::Targets, "pg-a")
                        .seq(20)
                        .instance("pg-a-20")
                        .ip("10.0.0.2"),
                    // unknown address, the name places it on seq 1
                    Observation::test(SourceKind::Targets, "pg-a")
                        .seq(1)
                        .instance("pg-a-1")
                        .ip("10.9.9.9"),
                    // neither: stands alone under its name
                    Observation::test(SourceKind::Targets, "pg-a")
                        .instance("weird")
                        .ip("10.0.0.7"),
                ],
            ),
        ]);
        let c = &fleet.clusters[0];
        let names: Vec<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["pg-a-1", "pg-a-2", "weird"]);
        assert_eq!(c.instances[0].observations.len(), 2);
        assert_eq!(c.instances[1].observations.len(), 2);
        assert_eq!(c.instances[0].ips(SourceKind::Targets).len(), 1);
        assert_eq!(fleet.instance_count(), 3);
    }

    #[test]
    fn role_view_prefers_postgres_when_split() {
        let mk = |svc: &str, role: &str| {
            Observation::test(SourceKind::Consul, "pg-a")
                .seq(1)
                .role(role)
                .ip("10.0.0.1")
                .consul_service(svc, 1)
        };
        let fleet = Fleet::build(vec![SourceOutput::test(
            SourceKind::Consul,
            vec![
                mk("pgbouncer", "replica"),
                mk("postgres", "primary"),
                mk("node-exporter", "replica"),
            ],
        )]);
        let view = fleet.clusters[0].instances[0].role_view(SourceKind::Consul);
        assert_eq!(view.effective(), Some(&Role::Primary));
        assert!(matches!(view, RoleView::Split(_, ref all) if all.len() == 2));
        assert_eq!(view.label(), "split");
    }

    /// Registrations that place by address and by name, for the live source to follow.
    fn registrations() -> Vec<SourceOutput> {
        let t = |ins: &str, ip: &str| {
            Observation::test(SourceKind::Targets, "pg-a")
                .instance(ins)
                .ip(ip)
        };
        vec![
            SourceOutput::test(
                SourceKind::Consul,
                vec![
                    Observation::test(SourceKind::Consul, "pg-a")
                        .seq(1)
                        .role("primary")
                        .ip("10.0.0.1"),
                ],
            ),
            SourceOutput::test(
                SourceKind::Targets,
                vec![
                    t("pg-a-1", "10.0.0.1").seq(1),
                    t("pg-a-2", "10.0.0.2").seq(2),
                    t("weird", "10.0.0.7"),
                ],
            ),
        ]
    }

    #[test]
    fn a_live_read_added_later_gives_the_fleet_one_merge_gives() {
        let live = |seq: Option<u32>, ip: &str| {
            let o = Observation::test(SourceKind::Live, "pg-a")
                .role("replica")
                .ip(ip);
            match seq {
                Some(s) => o.seq(s),
                None => o,
            }
        };
        let live = SourceOutput::test(
            SourceKind::Live,
            vec![
                live(Some(1), "10.0.0.1"),
                live(Some(2), "10.0.0.2"),
                live(None, "10.0.0.7"),
                // An instance no registration names any more.
                live(Some(9), "10.0.0.9"),
            ],
        );
        let mut outputs = registrations();
        let mut added = Fleet::build(outputs.clone());
        added.add_live(live.clone());
        outputs.push(live);
        let merged = Fleet::build(outputs);
        let json = |f: &Fleet| serde_json::to_value(f).unwrap();
        assert_eq!(json(&added), json(&merged));
        let weird = merged.instances().find(|i| i.name == "weird").unwrap();
        assert!(weird.seen_by(SourceKind::Live));
        let first = &merged.clusters[0].instances[0];
        let order: Vec<SourceKind> = first.observations.iter().map(|o| o.source).collect();
        // Stated seqs first, as one merge of everything has always ordered them.
        assert_eq!(
            order,
            [SourceKind::Consul, SourceKind::Live, SourceKind::Targets]
        );
    }

    #[test]
    fn a_stale_live_read_does_not_move_a_registration() {
        // The probe saw seq 3 at 10.0.0.7 before the address went to the `weird` target.
        let stale = SourceOutput::test(
            SourceKind::Live,
            vec![
                Observation::test(SourceKind::Live, "pg-a")
                    .seq(3)
                    .ip("10.0.0.7"),
            ],
        );
        let mut outputs = registrations();
        outputs.push(stale);
        let fleet = Fleet::build(outputs);
        let weird = fleet.instances().find(|i| i.name == "weird").unwrap();
        assert_eq!(weird.sources(), [SourceKind::Targets]);
        let three = fleet.instances().find(|i| i.name == "pg-a-3").unwrap();
        assert_eq!(three.sources(), [SourceKind::Live]);
    }
}
