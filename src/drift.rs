//! Identity drift: a pure function from the merged fleet to findings.

use crate::fleet::{Cluster, Fleet, Instance, InstanceId, RoleView, consul_service_name};
use crate::identity::{Role, instance_name, seq_from_instance, service_name};
use crate::observation::{Observation, Origin, ReadState, SourceKind};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

mod follows;
mod live;

pub use follows::{Follows, Primaries, REGISTRATIONS, follows, member_follows, primaries};
use live::live_cluster;

/// How bad a finding is; ordered so that `Error > Warning > Info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is routed or monitored wrongly.
    Info,
    /// Something is missing or odd and will bite later.
    Warning,
    /// Routing or monitoring is wrong now.
    Error,
}

impl Severity {
    /// The lowercase name used in output and `--fail-on`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// Parses `error|warning|info`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kinds of drift roster reports; each has a stable kebab-case code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// Sources disagree on an instance's role.
    RoleMismatch,
    /// Sources disagree on an instance's address.
    IpMismatch,
    /// Other sources know the instance; Consul has no identity-bearing service for it.
    MissingInConsul,
    /// Other sources know the instance; no target group names it.
    MissingInTargets,
    /// Other sources know the instance; the inventory does not declare it.
    MissingInInventory,
    /// A recorded instance or service name is not the one derived from cluster, seq and role.
    NameMismatch,
    /// Inside Consul, the services of one instance disagree on its role.
    ServiceRoleSplit,
    /// Within one source, two addresses claim one instance or one address holds two identities.
    IdentityCollision,
    /// A source lists the cluster's roles but none of them is primary.
    NoPrimary,
    /// A source names more than one primary in a cluster.
    MultiplePrimaries,
    /// A role word that is not a known Pigsty role.
    UnknownRole,
    /// A Consul check of an identity-bearing service (or its node) is critical.
    HealthCritical,
    /// A registered or declared role differs from the role the database has now.
    LiveRoleMismatch,
    /// The instance could not be asked its role (database and Patroni both silent).
    LiveUnreachable,
    /// More than one instance of a cluster is a live primary.
    SplitBrain,
    /// A live replica streams from no one: its own WAL receiver does not stream, and
    /// neither the primary nor a streaming replica lists it among its standbys.
    ReplicaNotStreaming,
}

impl Kind {
    /// Every kind, in documentation order.
    pub const ALL: [Kind; 16] = [
        Kind::RoleMismatch,
        Kind::IpMismatch,
        Kind::MissingInConsul,
        Kind::MissingInTargets,
        Kind::MissingInInventory,
        Kind::NameMismatch,
        Kind::ServiceRoleSplit,
        Kind::IdentityCollision,
        Kind::NoPrimary,
        Kind::MultiplePrimaries,
        Kind::UnknownRole,
        Kind::HealthCritical,
        Kind::LiveRoleMismatch,
        Kind::LiveUnreachable,
        Kind::SplitBrain,
        Kind::ReplicaNotStreaming,
    ];

    /// The stable code used in output, filters and alerts.
    pub fn code(self) -> &'static str {
        match self {
            Kind::RoleMismatch => "role-mismatch",
            Kind::IpMismatch => "ip-mismatch",
            Kind::MissingInConsul => "missing-in-consul",
            Kind::MissingInTargets => "missing-in-targets",
            Kind::MissingInInventory => "missing-in-inventory",
            Kind::NameMismatch => "name-mismatch",
            Kind::ServiceRoleSplit => "service-role-split",
            Kind::IdentityCollision => "identity-collision",
            Kind::NoPrimary => "no-primary",
            Kind::MultiplePrimaries => "multiple-primaries",
            Kind::UnknownRole => "unknown-role",
            Kind::HealthCritical => "health-critical",
            Kind::LiveRoleMismatch => "live-role-mismatch",
            Kind::LiveUnreachable => "live-unreachable",
            Kind::SplitBrain => "split-brain",
            Kind::ReplicaNotStreaming => "replica-not-streaming",
        }
    }

    /// Looks a kind up by its code.
    pub fn from_code(code: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One disagreement, with the value every involved source holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of drift.
    pub kind: Kind,
    /// How bad it is.
    pub severity: Severity,
    /// The cluster concerned.
    pub cluster: String,
    /// The instance concerned; `None` for cluster-level findings.
    pub instance: Option<String>,
    /// Source (or `source/service`) -> the value it holds.
    pub sources: BTreeMap<String, String>,
    /// One line for a human.
    pub message: String,
    /// The datacenter of the cluster, when several are read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
}

/// The sources that publish identity (as opposed to the declared inventory).
const REGISTERED: [SourceKind; 2] = [SourceKind::Consul, SourceKind::Targets];
/// The sources that are compared with each other.
const COMPARED: [SourceKind; 3] = [
    SourceKind::Consul,
    SourceKind::Targets,
    SourceKind::Inventory,
];

/// Every finding for the fleet, most severe first.
pub fn check(fleet: &Fleet) -> Vec<Finding> {
    let mut out = Vec::new();
    for cluster in &fleet.clusters {
        for inst in &cluster.instances {
            instance_findings(fleet, inst, &mut out);
        }
        primary_findings(fleet, cluster, &mut out);
        live_cluster(cluster, &mut out);
    }
    address_collisions(fleet, &mut out);
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| a.cluster.cmp(&b.cluster))
            .then_with(|| a.instance.cmp(&b.instance))
            .then_with(|| a.kind.cmp(&b.kind))
    });
    out
}

fn finding(
    kind: Kind,
    severity: Severity,
    inst: &Instance,
    sources: BTreeMap<String, String>,
    message: String,
) -> Finding {
    Finding {
        kind,
        severity,
        cluster: inst.cluster.clone(),
        instance: Some(inst.name.clone()),
        sources,
        message,
        datacenter: None,
    }
}

fn instance_findings(fleet: &Fleet, inst: &Instance, out: &mut Vec<Finding>) {
    unknown_roles(inst, out);
    service_split(inst, out);
    role_mismatch(inst, out);
    ip_mismatch(inst, out);
    missing(fleet, inst, out);
    names(inst, out);
    collisions_within(inst, out);
    health(inst, out);
    live(inst, out);
}

fn unknown_roles(inst: &Instance, out: &mut Vec<Finding>) {
    for kind in COMPARED {
        let words: BTreeSet<(&str, &str)> = inst
            .by_source(kind)
            .filter_map(|o| o.role.as_ref())
            .filter(|c| c.role.is_unknown())
            .map(|c| (c.raw.as_str(), c.from))
            .collect();
        if words.is_empty() {
            continue;
        }
        let list: Vec<String> = words.iter().map(|(w, f)| format!("{w:?} ({f})")).collect();
        let sources = BTreeMap::from([(kind.name().to_string(), join(words.iter().map(|w| w.0)))]);
        out.push(finding(
            Kind::UnknownRole,
            Severity::Warning,
            inst,
            sources,
            format!(
                "{} gives {} the unknown role {}",
                kind,
                inst.name,
                list.join(", ")
            ),
        ));
    }
}

fn service_split(inst: &Instance, out: &mut Vec<Finding>) {
    let RoleView::Split(_, roles) = inst.role_view(SourceKind::Consul) else {
        return;
    };
    let mut sources = BTreeMap::new();
    for o in inst.by_source(SourceKind::Consul) {
        if let (Some(svc), Some(claim)) = (consul_service_name(o), &o.role) {
            sources.insert(format!("consul/{svc}"), claim.role.to_string());
        }
    }
    let by_role: Vec<String> = roles
        .iter()
        .map(|r| {
            let svcs: Vec<&str> = sources
                .iter()
                .filter(|(_, v)| v.as_str() == r.as_str())
                .map(|(k, _)| k.trim_start_matches("consul/"))
                .collect();
            format!("{r}: {}", svcs.join(","))
        })
        .collect();
    out.push(finding(
        Kind::ServiceRoleSplit,
        Severity::Error,
        inst,
        sources,
        format!(
            "Consul services of {} disagree on its role ({}); a re-registration stopped half way",
            inst.name,
            by_role.join("; ")
        ),
    ));
}

fn role_mismatch(inst: &Instance, out: &mut Vec<Finding>) {
    let mut roles: BTreeMap<SourceKind, Role> = BTreeMap::new();
    for kind in COMPARED {
        if let Some(r) = inst.role_view(kind).effective()
            && !r.is_unknown()
        {
            roles.insert(kind, r.clone());
        }
    }
    let distinct: BTreeSet<&Role> = roles.values().collect();
    if distinct.len() < 2 {
        return;
    }
    let registered: BTreeSet<&Role> = REGISTERED.iter().filter_map(|k| roles.get(k)).collect();
    let sources: BTreeMap<String, String> = roles
        .iter()
        .map(|(k, r)| (k.name().to_string(), r.to_string()))
        .collect();
    let said = join(roles.iter().map(|(k, r)| format!("{k} {r}")));
    let (severity, message) = if registered.len() > 1 {
        (
            Severity::Error,
            format!("{} has conflicting roles: {said}", inst.name),
        )
    } else {
        (
            Severity::Warning,
            format!(
                "{} is declared {} in the inventory but registered as {}: the inventory is stale",
                inst.name,
                roles
                    .get(&SourceKind::Inventory)
                    .map(Role::as_str)
                    .unwrap_or("-"),
                join(registered.iter().map(|r| r.as_str()))
            ),
        )
    };
    out.push(finding(
        Kind::RoleMismatch,
        severity,
        inst,
        sources,
        message,
    ));
}

fn ip_mismatch(inst: &Instance, out: &mut Vec<Finding>) {
    let ips: BTreeMap<SourceKind, &str> = COMPARED
        .iter()
        .filter_map(|k| inst.ip(*k).map(|ip| (*k, ip)))
        .collect();
    let distinct: BTreeSet<&&str> = ips.values().collect();
    if distinct.len() < 2 {
        return;
    }
    let sources = ips
        .iter()
        .map(|(k, ip)| (k.name().to_string(), ip.to_string()))
        .collect();
    out.push(finding(
        Kind::IpMismatch,
        Severity::Error,
        inst,
        sources,
        format!(
            "{} has different addresses: {}",
            inst.name,
            join(ips.iter().map(|(k, ip)| format!("{k} {ip}")))
        ),
    ));
}

fn missing(fleet: &Fleet, inst: &Instance, out: &mut Vec<Finding>) {
    let seen: Vec<SourceKind> = COMPARED.into_iter().filter(|k| inst.seen_by(*k)).collect();
    if seen.is_empty() {
        return;
    }
    for (kind, code) in [
        (SourceKind::Consul, Kind::MissingInConsul),
        (SourceKind::Targets, Kind::MissingInTargets),
        (SourceKind::Inventory, Kind::MissingInInventory),
    ] {
        // Only a complete, fresh read proves an absence; anything less makes the
        // instance unverified (see `verdict`), never missing.
        if seen.contains(&kind) || !fleet.proves_absence(kind) {
            continue;
        }
        let mut sources: BTreeMap<String, String> = seen
            .iter()
            .map(|k| (k.name().to_string(), locations(inst, *k)))
            .collect();
        sources.insert(kind.name().to_string(), "absent".into());
        out.push(finding(
            code,
            Severity::Warning,
            inst,
            sources,
            format!(
                "{} is known to {} but absent from {}",
                inst.name,
                join(seen.iter().map(|k| k.name())),
                kind
            ),
        ));
    }
}

fn locations(inst: &Instance, kind: SourceKind) -> String {
    let locs: BTreeSet<String> = inst
        .by_source(kind)
        .map(|o| match &o.origin {
            Origin::Consul(c) => format!("node {}", c.node),
            other => other.location(),
        })
        .collect();
    join(locs)
}

fn names(inst: &Instance, out: &mut Vec<Finding>) {
    let mut wrong: BTreeMap<String, String> = BTreeMap::new();
    let mut reasons: BTreeSet<String> = BTreeSet::new();
    for o in &inst.observations {
        // Names are compared in place: formatting the expected ones for every
        // observation of a large fleet showed in the profile.
        if let Some(recorded) = &o.instance {
            match expected_seq(inst, o) {
                Some(seq) if !names_instance(recorded, &o.cluster, seq) => {
                    let place = place_of(o);
                    let expected = instance_name(&o.cluster, seq);
                    wrong.insert(place.clone(), recorded.clone());
                    reasons.insert(format!(
                        "{place} records instance {recorded}, expected {expected}"
                    ));
                }
                None if seq_from_instance(&o.cluster, recorded).is_none() => {
                    let place = place_of(o);
                    wrong.insert(place.clone(), recorded.clone());
                    reasons.insert(format!(
                        "{place} records instance {recorded}, which is not of the form {}-<seq>",
                        o.cluster
                    ));
                }
                _ => {}
            }
        }
        if let (Some(recorded), Some(claim)) = (&o.service, &o.role)
            && !claim.role.is_unknown()
            && !names_service(recorded, &o.cluster, &claim.role)
        {
            let place = place_of(o);
            let expected = service_name(&o.cluster, &claim.role);
            wrong.insert(format!("{place} service"), recorded.clone());
            reasons.insert(format!(
                "{place} records service {recorded}, expected {expected}"
            ));
        }
    }
    if wrong.is_empty() {
        return;
    }
    out.push(finding(
        Kind::NameMismatch,
        Severity::Warning,
        inst,
        wrong,
        format!("{}: {}", inst.name, join(reasons)),
    ));
}

/// `name == instance_name(cluster, seq)`, without building the expected name.
fn names_instance(name: &str, cluster: &str, seq: u32) -> bool {
    let Some(rest) = name.strip_prefix(cluster).and_then(|r| r.strip_prefix('-')) else {
        return false;
    };
    let canonical = !rest.is_empty()
        && rest.bytes().all(|b| b.is_ascii_digit())
        && (rest == "0" || !rest.starts_with('0'));
    canonical && rest.parse::<u32>().ok() == Some(seq)
}

/// `name == service_name(cluster, role)`, without building the expected name.
fn names_service(name: &str, cluster: &str, role: &Role) -> bool {
    name.strip_prefix(cluster)
        .and_then(|r| r.strip_prefix('-'))
        .is_some_and(|r| r == role.as_str())
}

/// The seq of the instance name an observation should carry: the seq it states, else
/// the instance's seq. `None` when no seq is known anywhere.
fn expected_seq(inst: &Instance, o: &Observation) -> Option<u32> {
    let stated = match o.source {
        // A target group's seq is read off its own `ins`, so it proves nothing.
        SourceKind::Targets => None,
        _ => o.seq,
    };
    stated.or(match inst.id {
        InstanceId::Seq(s) => Some(s),
        _ => None,
    })
}

fn place_of(o: &Observation) -> String {
    match &o.origin {
        Origin::Consul(c) => format!("consul/{}", c.service_name),
        _ => o.source.name().to_string(),
    }
}

fn collisions_within(inst: &Instance, out: &mut Vec<Finding>) {
    for kind in COMPARED {
        let ips = inst.ips(kind);
        if ips.len() > 1 {
            let list = join(ips.iter());
            let message = format!(
                "{kind} has {} at {} addresses: {list}",
                inst.name,
                ips.len()
            );
            out.push(collision(inst, kind, list, message));
        }
        let names: BTreeSet<&str> = inst
            .by_source(kind)
            .filter_map(|o| o.instance.as_deref())
            .collect();
        // Only target groups are placed by address, so only they can pile up on one instance.
        if kind == SourceKind::Targets && names.len() > 1 {
            let ip = inst.ip(kind).unwrap_or("one address");
            let list = join(names.iter());
            let message = format!("{kind} has {ip} holding {} identities: {list}", names.len());
            out.push(collision(inst, kind, list, message));
        }
    }
}

fn collision(inst: &Instance, kind: SourceKind, value: String, message: String) -> Finding {
    let sources = BTreeMap::from([(kind.name().to_string(), value)]);
    finding(
        Kind::IdentityCollision,
        Severity::Error,
        inst,
        sources,
        message,
    )
}

/// One address holding several instances inside one source, fleet-wide.
fn address_collisions(fleet: &Fleet, out: &mut Vec<Finding>) {
    for kind in COMPARED {
        let mut by_ip: HashMap<&str, Vec<&Instance>> = HashMap::new();
        for inst in fleet.instances() {
            for ip in inst.ips(kind) {
                by_ip.entry(ip).or_default().push(inst);
            }
        }
        let mut collided: Vec<(&str, Vec<&Instance>)> =
            by_ip.into_iter().filter(|(_, v)| v.len() > 1).collect();
        collided.sort_by(|a, b| a.0.cmp(b.0));
        for (ip, insts) in collided {
            let insts = not_told_apart(kind, ip, insts);
            if insts.len() < 2 {
                continue;
            }
            let names = join(insts.iter().map(|i| i.name.as_str()));
            for inst in &insts {
                let message = format!("{kind} puts {} instances at {ip}: {names}", insts.len());
                out.push(collision(inst, kind, format!("{ip}: {names}"), message));
            }
        }
    }
}

/// The instances at one ip whose ports do not tell them apart: with ports, ip + port is
/// the address, so instances each named with ports of their own (several instances on
/// one host) do not collide; an instance named with no port collides with every other.
fn not_told_apart<'a>(kind: SourceKind, ip: &str, insts: Vec<&'a Instance>) -> Vec<&'a Instance> {
    let ports: Vec<BTreeSet<u16>> = insts.iter().map(|i| i.ports_at(kind, ip)).collect();
    if ports.iter().any(BTreeSet::is_empty) {
        return insts;
    }
    // Counted once per port rather than compared pairwise: one ip can hold many groups.
    let mut holders: HashMap<u16, usize> = HashMap::new();
    for p in ports.iter().flatten() {
        *holders.entry(*p).or_default() += 1;
    }
    insts
        .into_iter()
        .zip(&ports)
        .filter(|(_, own)| own.iter().any(|p| holders.get(p).is_some_and(|n| *n > 1)))
        .map(|(i, _)| i)
        .collect()
}

fn health(inst: &Instance, out: &mut Vec<Finding>) {
    let mut critical: BTreeMap<String, String> = BTreeMap::new();
    for o in inst.by_source(SourceKind::Consul) {
        if let Origin::Consul(c) = &o.origin {
            for ch in c.checks().filter(|ch| ch.status == "critical") {
                let key = if ch.node_check {
                    format!("node {}/{}", c.node, ch.id)
                } else {
                    format!("{}/{}", c.service_name, ch.id)
                };
                critical.insert(key, first_line(&ch.output));
            }
        }
    }
    if critical.is_empty() {
        return;
    }
    let names = join(critical.keys());
    let sources = critical
        .into_iter()
        .map(|(k, v)| {
            (
                format!("consul/{k}"),
                format!("critical {v}").trim().to_string(),
            )
        })
        .collect();
    out.push(finding(
        Kind::HealthCritical,
        Severity::Warning,
        inst,
        sources,
        format!("{} has critical Consul checks: {names}", inst.name),
    ));
}

/// The live probe of an instance, when there is one.
fn live_origin(inst: &Instance) -> Option<(&Observation, &crate::observation::LiveOrigin)> {
    inst.by_source(SourceKind::Live)
        .find_map(|o| match &o.origin {
            Origin::Live(l) => Some((o, &**l)),
            _ => None,
        })
}

/// The role the database has now, when it could be asked.
pub fn live_role(inst: &Instance) -> Option<&Role> {
    live_origin(inst).and_then(|(o, l)| {
        l.reachable
            .then_some(o.role.as_ref().map(|c| &c.role))
            .flatten()
    })
}

fn live(inst: &Instance, out: &mut Vec<Finding>) {
    let Some((_, origin)) = live_origin(inst) else {
        return;
    };
    if !origin.reachable {
        let why = origin.error.clone().unwrap_or_else(|| "no answer".into());
        out.push(finding(
            Kind::LiveUnreachable,
            Severity::Warning,
            inst,
            BTreeMap::from([("live".to_string(), first_line(&why))]),
            format!(
                "{} could not be asked its role: {}",
                inst.name,
                first_line(&why)
            ),
        ));
        return;
    }
    let Some(truth) = live_role(inst) else { return };
    for kind in COMPARED {
        let Some(claimed) = inst.role_view(kind).effective().cloned() else {
            continue;
        };
        // The database only knows primary or standby: offline and delayed members are
        // standbys too, so only primary-ness is compared.
        if claimed.is_unknown() || claimed.is_primary() == truth.is_primary() {
            continue;
        }
        let (severity, what) = match kind {
            SourceKind::Inventory => (Severity::Info, "declares"),
            SourceKind::Targets => (Severity::Error, "labels"),
            _ => (Severity::Error, "registers"),
        };
        out.push(finding(
            Kind::LiveRoleMismatch,
            severity,
            inst,
            BTreeMap::from([
                (kind.name().to_string(), claimed.to_string()),
                ("live".to_string(), truth.to_string()),
            ]),
            format!(
                "{kind} {what} {} as {claimed}, but it is {truth} (live, via {})",
                inst.name, origin.via
            ),
        ));
    }
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("").trim();
    line.chars().take(120).collect()
}

fn primary_findings(fleet: &Fleet, cluster: &Cluster, out: &mut Vec<Finding>) {
    for kind in COMPARED {
        // A partial read may have missed exactly the primary's registration.
        let partial = fleet.read_state(kind) == ReadState::Partial;
        let with_roles: Vec<&Instance> = cluster
            .instances
            .iter()
            .filter(|i| i.role_view(kind).effective().is_some())
            .collect();
        if with_roles.is_empty() {
            continue;
        }
        let primaries = cluster.primaries(kind);
        let sources: BTreeMap<String, String> = BTreeMap::from([(
            kind.name().to_string(),
            join(with_roles.iter().map(|i| {
                format!(
                    "{}={}",
                    i.name,
                    i.role_view(kind)
                        .effective()
                        .map(Role::as_str)
                        .unwrap_or("-")
                )
            })),
        )]);
        let (code, message) = match primaries.len() {
            0 if partial => continue,
            0 => (
                Kind::NoPrimary,
                format!("{kind} names no primary in cluster {}", cluster.name),
            ),
            1 => continue,
            n => (
                Kind::MultiplePrimaries,
                format!(
                    "{kind} names {n} primaries in cluster {}: {}",
                    cluster.name,
                    join(primaries.iter().map(|i| i.name.as_str()))
                ),
            ),
        };
        out.push(Finding {
            kind: code,
            severity: Severity::Error,
            cluster: cluster.name.clone(),
            instance: None,
            sources,
            message,
            datacenter: None,
        });
    }
}

fn join<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let v: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    v.join(", ")
}

#[cfg(test)]
#[path = "drift_tests.rs"]
mod tests;
