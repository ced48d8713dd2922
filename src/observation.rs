//! What one source says about one instance, and how a source's read went.

use crate::identity::Role;
use crate::intern::{Meta, Text};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// The places identity is published in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// Consul service registrations (HTTP API).
    Consul,
    /// Prometheus static target files (file_sd).
    Targets,
    /// The Pigsty inventory (declared identity).
    Inventory,
    /// The databases themselves (live role).
    Live,
}

impl SourceKind {
    /// Every source kind, in display order.
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Consul,
        SourceKind::Targets,
        SourceKind::Inventory,
        SourceKind::Live,
    ];

    /// The lowercase name used in output, filters and finding kinds.
    pub fn name(self) -> &'static str {
        match self {
            SourceKind::Consul => "consul",
            SourceKind::Targets => "targets",
            SourceKind::Inventory => "inventory",
            SourceKind::Live => "live",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A role as one source states it, with the field it was read from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoleClaim {
    /// The normalised role.
    pub role: Role,
    /// The word exactly as written.
    pub raw: String,
    /// Where the word came from (`meta.role`, `meta.service`, `tag`, `label role`, `pg_role`).
    pub from: &'static str,
}

impl RoleClaim {
    /// Builds a claim from a raw word and the field it came from.
    pub fn new(raw: &str, from: &'static str) -> RoleClaim {
        RoleClaim {
            role: Role::parse(raw),
            raw: raw.trim().to_string(),
            from,
        }
    }
}

/// The status of one Consul health check attached to a service instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct CheckState {
    /// Consul's CheckID.
    pub id: Text,
    /// Human name of the check.
    pub name: Text,
    /// `passing`, `warning` or `critical` (kept as sent).
    pub status: Text,
    /// Check output (may be long; remote text).
    pub output: Text,
    /// True for node-level checks such as `serfHealth`.
    pub node_check: bool,
}

/// Where a Consul observation was read: node, service and everything attached to it.
///
/// Strings, tag lists, meta and the node's checks are shared between the service
/// instances that carry equal ones (see `source::consul_compact`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConsulOrigin {
    /// Consul node name.
    pub node: Text,
    /// The node's address.
    pub node_address: Text,
    /// Service ID on that node.
    pub service_id: Text,
    /// Service name.
    pub service_name: Text,
    /// Service address (empty means the node address).
    pub service_address: Text,
    /// Service port (0 when Consul omitted it).
    pub port: u16,
    /// Service tags as registered.
    pub tags: Arc<[Text]>,
    /// Service meta as registered.
    pub meta: Arc<Meta>,
    /// Health checks of the node (`serfHealth`), the same for every service on it.
    pub node_checks: Arc<[CheckState]>,
    /// Health checks of the service itself.
    pub service_checks: Box<[CheckState]>,
    /// Datacenter of the node.
    pub datacenter: Text,
}

impl ConsulOrigin {
    /// Every check of the instance as Consul lists them: the node's, then the service's.
    pub fn checks(&self) -> impl Iterator<Item = &CheckState> {
        self.node_checks.iter().chain(self.service_checks.iter())
    }
}

/// Where a target-file observation was read: one target group of one file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TargetOrigin {
    /// The file holding the group.
    pub file: PathBuf,
    /// 1-based line where the group starts.
    pub line: usize,
    /// 0-based position of the group in the file (Prometheus' `<file>:<index>` source).
    pub index: usize,
    /// The group's targets (`host:port`).
    pub targets: Vec<String>,
    /// The group's labels.
    pub labels: BTreeMap<String, String>,
}

/// Where an inventory observation was read: one host of one group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct InventoryOrigin {
    /// The inventory file.
    pub file: PathBuf,
    /// 1-based line of the host entry (0 when unknown).
    pub line: usize,
    /// The Ansible group (usually the cluster name).
    pub group: String,
    /// The host key (usually the node ip).
    pub host: String,
    /// The effective variables of the host (group vars overridden by host vars), as text.
    pub vars: BTreeMap<String, String>,
    /// The PostgreSQL port of an instance declared under the host's `pg_instances`
    /// (several instances on one host); `None` for the host's own instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// What a live probe of one instance found (the database itself, or Patroni's REST API).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LiveOrigin {
    /// What was probed (`host:port` of PostgreSQL, or Patroni's URL).
    pub address: String,
    /// `postgres` or `patroni`.
    pub via: &'static str,
    /// False when the instance could not be reached (then `error` says why).
    pub reachable: bool,
    /// Why it could not be reached or read.
    pub error: Option<String>,
    /// The timeline.
    pub timeline: Option<u64>,
    /// Current WAL position (primary).
    pub lsn: Option<String>,
    /// Received WAL position (replica).
    pub received_lsn: Option<String>,
    /// Replayed WAL position (replica).
    pub replayed_lsn: Option<String>,
    /// Replication lag in bytes, when known.
    pub lag_bytes: Option<i64>,
    /// Replay delay in milliseconds, when known.
    pub lag_ms: Option<u64>,
    /// `pg_postmaster_start_time()`.
    pub started_at: Option<String>,
    /// Server version.
    pub server_version: Option<String>,
    /// Addresses of the standbys streaming from it (`pg_stat_replication.client_addr`);
    /// a replica lists the standbys that cascade from it.
    pub standbys: Vec<String>,
    /// The rest of what the database says of its replication links (boxed: every
    /// `Origin` is as large as its largest variant, and most are Consul's).
    pub replication: Box<Replication>,
    /// Patroni's member state (`running`, `start failed`, ...).
    pub state: Option<String>,
}

/// What a database says of its replication links, beyond the addresses of its standbys.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Replication {
    /// Names of the standbys streaming from it (`pg_stat_replication.application_name`:
    /// Patroni sets it to the member name, which in Pigsty is the instance name).
    pub standby_names: Vec<String>,
    /// Its own WAL receiver's status (`pg_stat_wal_receiver.status`: `streaming`,
    /// `waiting`, ...): `None` when it runs none, `unknown` when the user may not see it.
    pub wal_receiver_status: Option<String>,
    /// Where its WAL receiver streams from (`sender_host:sender_port`), when it runs one.
    pub sender: Option<String>,
}

/// Where an observation was read, per source kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Origin {
    /// A Consul service instance (shared: the same read is held by the watch, the
    /// latest outputs and the fleet, and it is the bulk of a large fleet's memory).
    Consul(Arc<ConsulOrigin>),
    /// A target group in a file.
    Targets(TargetOrigin),
    /// A host in the inventory.
    Inventory(InventoryOrigin),
    /// A live probe of an instance (boxed: it is the largest origin, and every
    /// observation of every source would otherwise be as large as it).
    Live(Box<LiveOrigin>),
}

impl Origin {
    /// A short human location: `file:line`, or `node/service-id`.
    pub fn location(&self) -> String {
        match self {
            Origin::Consul(c) => format!("consul {}/{}", c.node, c.service_id),
            Origin::Targets(t) => format!("{}:{}", t.file.display(), t.line),
            Origin::Inventory(i) => format!("{}:{}", i.file.display(), i.line),
            Origin::Live(l) => format!("live {} ({})", l.address, l.via),
        }
    }
}

/// One source's statement about one instance. Sources only report; they never compare.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Observation {
    /// Which source said it.
    pub source: SourceKind,
    /// The cluster name (`cls`, `meta.cluster`, `pg_cluster`).
    pub cluster: String,
    /// The seq, when stated or derivable from the recorded instance name.
    pub seq: Option<u32>,
    /// The recorded instance name (`ins`, `meta.instance`), if any.
    pub instance: Option<String>,
    /// The recorded service name (`svc`, `meta.service`), if any.
    pub service: Option<String>,
    /// The role claim, if the source states one.
    pub role: Option<RoleClaim>,
    /// The instance's address as this source has it.
    pub ip: Option<String>,
    /// Where it was read.
    pub origin: Origin,
}

impl Observation {
    /// The ports this record names next to its ip, which tell apart instances sharing a
    /// host: a `pg_instances` entry's port and exporter port, a Consul service's port, a
    /// target group's target ports. Empty for an inventory host's own instance and for
    /// live probes.
    pub fn ports(&self) -> BTreeSet<u16> {
        match &self.origin {
            Origin::Inventory(i) => {
                let exporter = || i.vars.get("pg_exporter_port")?.trim().parse().ok();
                i.port
                    .into_iter()
                    .chain(i.port.and_then(|_| exporter()))
                    .collect()
            }
            Origin::Consul(c) => (c.port != 0).then_some(c.port).into_iter().collect(),
            Origin::Targets(t) => t.targets.iter().filter_map(|t| target_port(t)).collect(),
            Origin::Live(_) => BTreeSet::new(),
        }
    }
}

/// The port of a target written `host:port` or `[v6]:port`; none for a bare host.
pub fn target_port(target: &str) -> Option<u16> {
    let t = target.trim();
    let port = match t.strip_prefix('[') {
        Some(rest) => rest.split_once("]:")?.1,
        None if t.matches(':').count() == 1 => t.split_once(':')?.1,
        None => return None,
    };
    port.parse().ok()
}

/// How reading a source went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceStatus {
    /// Everything read.
    Ok,
    /// Some or all of the source could not be read.
    Error,
}

/// The outcome of reading one source: status, errors (with their places) and counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SourceReport {
    /// The source kind.
    #[serde(rename = "name")]
    pub kind: SourceKind,
    /// `ok` or `error`.
    pub status: SourceStatus,
    /// Where it was read from (URL, paths, file).
    pub location: String,
    /// Every problem met, each naming its place (URL, file:line:column).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Notes that are not errors (e.g. skipped files, which default place was used).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// How many observations the source produced.
    pub observations: usize,
    /// Source-specific facts (Consul index, datacenter, files read).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub facts: BTreeMap<String, String>,
    /// When the observations were read (the last good read, when `stale`).
    #[serde(skip)]
    pub read_at: Option<std::time::SystemTime>,
    /// True when the latest read failed and the observations are kept from an earlier one.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
    /// The datacenter this read belongs to, when several are read (`None`: not tied to
    /// one, like target files shared by every datacenter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
}

impl SourceReport {
    /// A fresh report for a source read from `location`.
    pub fn new(kind: SourceKind, location: impl Into<String>) -> SourceReport {
        SourceReport {
            kind,
            status: SourceStatus::Ok,
            location: location.into(),
            errors: Vec::new(),
            notes: Vec::new(),
            observations: 0,
            facts: BTreeMap::new(),
            read_at: Some(std::time::SystemTime::now()),
            stale: false,
            datacenter: None,
        }
    }

    /// The source's name as shown: `consul`, or `consul@dc2` when it belongs to one
    /// datacenter of several.
    pub fn label(&self) -> String {
        match &self.datacenter {
            Some(dc) => format!("{}@{dc}", self.kind),
            None => self.kind.name().to_string(),
        }
    }

    /// Records an error; the source becomes `error` but keeps whatever it did read.
    pub fn error(&mut self, message: impl Into<String>) {
        self.status = SourceStatus::Error;
        self.errors.push(message.into());
    }

    /// True when nothing went wrong.
    pub fn is_ok(&self) -> bool {
        self.status == SourceStatus::Ok
    }

    /// True when the source failed so completely that it said nothing at all.
    pub fn failed_entirely(&self) -> bool {
        !self.is_ok() && self.observations == 0
    }

    /// How completely the latest read covered the source.
    pub fn read_state(&self) -> ReadState {
        if self.stale {
            ReadState::Stale
        } else if self.failed_entirely() {
            ReadState::Failed
        } else if !self.is_ok() {
            ReadState::Partial
        } else {
            ReadState::Complete
        }
    }
}

/// How completely a source was read, which decides what its silence about an instance means.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadState {
    /// The latest read covered everything: an instance it does not name is really absent.
    Complete,
    /// The latest read failed in part (some files, some services): what it read are
    /// records, but the instance it does not name may be in the part it could not read.
    Partial,
    /// The latest read failed; the records shown are kept from an earlier read.
    Stale,
    /// The latest read failed and nothing of the source is known.
    Failed,
    /// The source is not configured (for this datacenter or at all), so it was never read.
    NotConfigured,
}

impl ReadState {
    /// True when an instance missing from the source is a real absence.
    pub fn proves_absence(self) -> bool {
        self == ReadState::Complete
    }

    /// How little the read can be trusted, least first (failed 0 .. complete 3): of
    /// several reads of one kind speaking for the same instances, the least trusted is
    /// the one asked, so that one read's completeness never hides another's failure.
    pub fn distrust_rank(self) -> u8 {
        match self {
            ReadState::Failed => 0,
            ReadState::Stale => 1,
            ReadState::Partial => 2,
            ReadState::Complete => 3,
            ReadState::NotConfigured => 4,
        }
    }

    /// True when a record from the source is current, so it can make a verdict.
    pub fn fresh(self) -> bool {
        matches!(self, ReadState::Complete | ReadState::Partial)
    }

    /// A few words for people: `read`, `partly read`, `stale`, `not read`, `not configured`.
    pub fn label(self) -> &'static str {
        match self {
            ReadState::Complete => "read",
            ReadState::Partial => "partly read",
            ReadState::Stale => "stale",
            ReadState::Failed => "not read",
            ReadState::NotConfigured => "not configured",
        }
    }

    /// The kebab-case code used in JSON and metrics.
    pub fn code(self) -> &'static str {
        match self {
            ReadState::Complete => "complete",
            ReadState::Partial => "partial",
            ReadState::Stale => "stale",
            ReadState::Failed => "failed",
            ReadState::NotConfigured => "not-configured",
        }
    }
}

/// A source read: its report and its observations.
#[derive(Clone, Debug)]
pub struct SourceOutput {
    /// How the read went.
    pub report: SourceReport,
    /// What it said.
    pub observations: Vec<Arc<Observation>>,
}

impl SourceOutput {
    /// Bundles observations with the report, filling in the count.
    pub fn new(report: SourceReport, observations: Vec<Observation>) -> SourceOutput {
        SourceOutput::shared(report, observations.into_iter().map(Arc::new).collect())
    }

    /// Like [`SourceOutput::new`] for observations that are already shared.
    pub fn shared(mut report: SourceReport, observations: Vec<Arc<Observation>>) -> SourceOutput {
        report.observations = observations.len();
        SourceOutput {
            report,
            observations,
        }
    }
}

/// Observations for unit tests, one stated field at a time:
/// `Observation::test(SourceKind::Targets, "pg-a").seq(1).ip("10.0.0.1")`.
///
/// The origin is a target group at `t.yml:1` whatever the source, unless one is given:
/// merging and most rules look at what is said, not where it was read.
#[cfg(test)]
impl Observation {
    /// An observation by `source` of `cluster` that states nothing else yet.
    pub(crate) fn test(source: SourceKind, cluster: &str) -> Observation {
        Observation {
            source,
            cluster: cluster.into(),
            seq: None,
            instance: None,
            service: None,
            role: None,
            ip: None,
            origin: Origin::Targets(TargetOrigin {
                file: PathBuf::from("t.yml"),
                line: 1,
                index: 0,
                targets: Vec::new(),
                labels: BTreeMap::new(),
            }),
        }
    }

    /// States the seq.
    pub(crate) fn seq(mut self, seq: u32) -> Observation {
        self.seq = Some(seq);
        self
    }

    /// States the recorded instance name.
    pub(crate) fn instance(mut self, name: &str) -> Observation {
        self.instance = Some(name.into());
        self
    }

    /// States the recorded service name.
    pub(crate) fn service(mut self, name: &str) -> Observation {
        self.service = Some(name.into());
        self
    }

    /// States a role, read from the field this source usually keeps it in.
    pub(crate) fn role(self, raw: &str) -> Observation {
        let from = match self.source {
            SourceKind::Consul => "meta.role",
            SourceKind::Targets => "label role",
            SourceKind::Inventory => "pg_role",
            SourceKind::Live => "pg_is_in_recovery()",
        };
        self.role_from(raw, from)
    }

    /// States a role read from the named field.
    pub(crate) fn role_from(mut self, raw: &str, from: &'static str) -> Observation {
        self.role = Some(RoleClaim::new(raw, from));
        self
    }

    /// States the address.
    pub(crate) fn ip(mut self, ip: &str) -> Observation {
        self.ip = Some(ip.into());
        self
    }

    /// Read from a Consul service registration of that name and port, on a node named
    /// after the cluster at the observation's address.
    pub(crate) fn consul_service(self, service: &str, port: u16) -> Observation {
        let address = self.ip.clone().unwrap_or_default();
        let node = self.cluster.clone();
        self.origin(Origin::Consul(Arc::new(ConsulOrigin {
            node: node.into(),
            node_address: address.into(),
            service_id: service.into(),
            service_name: service.into(),
            service_address: Text::default(),
            port,
            tags: Arc::from([]),
            meta: Arc::default(),
            node_checks: Arc::from([]),
            service_checks: Box::from([]),
            datacenter: "dc1".into(),
        })))
    }

    /// Says where it was read.
    pub(crate) fn origin(mut self, origin: Origin) -> Observation {
        self.origin = origin;
        self
    }
}

#[cfg(test)]
impl SourceOutput {
    /// A read of `kind` at a test location that said exactly these observations.
    pub(crate) fn test(kind: SourceKind, observations: Vec<Observation>) -> SourceOutput {
        SourceOutput::new(SourceReport::new(kind, "test"), observations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_ports_in_every_spelling() {
        assert_eq!(target_port("10.0.0.1:9630"), Some(9630));
        assert_eq!(target_port(" [fe80::1]:9100 "), Some(9100));
        assert_eq!(target_port("fe80::1"), None);
        assert_eq!(target_port("db1"), None);
        assert_eq!(target_port("db1:http"), None);
        let t =
            Observation::test(SourceKind::Targets, "pg-a").origin(Origin::Targets(TargetOrigin {
                file: PathBuf::from("t.yml"),
                line: 1,
                index: 0,
                targets: vec!["10.0.0.1:9631".into(), "10.0.0.1:9630".into(), "x".into()],
                labels: BTreeMap::new(),
            }));
        assert_eq!(t.ports(), BTreeSet::from([9630, 9631]));
        let host = Observation::test(SourceKind::Inventory, "pg-a").origin(Origin::Inventory(
            InventoryOrigin {
                file: PathBuf::from("pigsty.yml"),
                line: 1,
                group: "pg-a".into(),
                host: "10.0.0.1".into(),
                vars: BTreeMap::from([("pg_exporter_port".into(), "9630".into())]),
                port: None,
            },
        ));
        assert!(
            host.ports().is_empty(),
            "a host's own instance names no port"
        );
    }
}
