//! The fleet spec: one description from which the simulator's Consul catalog, the
//! Prometheus target files and the Pigsty inventory are all rendered.
//!
//! ```yaml
//! datacenter: dc1          # Consul datacenter (default dc1)
//! release: "0.7"           # service-set style: 0.7 (default), 1.0 (tag pg -> pgsql), 1.5 (no role)
//! infra:                   # nodes without database identity
//!   - { node: meta, ip: 127.10.10.2, services: [consul, prometheus, grafana] }
//! clusters:
//!   - name: pg-test
//!     timeline: 2            # PostgreSQL timeline (default 1): 2 after one failover
//!     members:
//!       - seq: 1
//!         ip: 127.10.10.11
//!         role: replica            # the real role now (default replica)
//!         node: pg-test-1          # Consul node name (default <cluster>-<seq>)
//!         consul:    { role: primary, services: { pgbouncer: { role: replica } },
//!                      node_down: false, critical: [postgres] }
//!         targets:   { role: primary, ins: pg-test-10 }
//!         inventory: { role: primary, ip: 127.10.10.99 }
//! datacenters:             # other datacenters the agent reaches over the WAN, nearest first
//!   - name: dc2
//!     clusters: [ ... ]    # as above (and `infra`), served for `?dc=dc2`
//!   - { name: dc3, unreachable: true }   # listed, but every read answers 500
//! ```
//!
//! Every place (`consul`, `targets`, `inventory`) holds the real identity unless overridden
//! with `role`, `ip`, `ins` (recorded instance name), `svc` (recorded service name) or
//! `absent: true`. Consul also takes per-service role overrides (`services`, a
//! half-rewritten registration; `absent: true` there drops one service), `node_down`
//! (serfHealth critical: the node left without `consul leave`) and `critical` (service
//! names whose check is critical).
//!
//! The real `role` and the cluster's `timeline` are what the simulated Patroni REST API
//! answers (`sim::patroni`); a member whose Consul node is down does not answer at all.
//!
//! Consul registrations are rendered the way Pigsty wrote them: from the inventory role
//! at registration time and, when the Consul role differs, rewritten the way
//! `pg-register` does it (every tag and meta value ending in `primary`/`replica`).

use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::IpAddr;

/// Why a fleet spec could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The YAML did not parse or did not match the spec shape.
    #[error("fleet spec {line}:{column}: {message}")]
    Parse {
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What went wrong.
        message: String,
    },
    /// The YAML did not parse and the parser gave no location.
    #[error("fleet spec: {0}")]
    Syntax(String),
    /// The spec parsed but is inconsistent (duplicate node, bad address...).
    #[error("fleet spec: {0}")]
    Invalid(String),
}

/// Which Pigsty release's Consul service set the simulator renders.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Release {
    /// 0.6/0.7: role in tags and meta, exporters tagged `pg`.
    #[default]
    V0_7,
    /// 1.0-1.4: as 0.7 but the tag `pg` became `pgsql`.
    V1_0,
    /// 1.5: role removed from tags and meta.
    V1_5,
}

impl Release {
    /// Parses a release number as written in the spec (`0.7`, `"1.0"`, `1.5`).
    pub fn parse(word: &str) -> Option<Release> {
        match word.trim() {
            "0.6" | "0.7" => Some(Release::V0_7),
            "1" | "1.0" | "1.1" | "1.2" | "1.3" | "1.4" => Some(Release::V1_0),
            "1.5" => Some(Release::V1_5),
            _ => None,
        }
    }

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Release::V0_7 => "0.7",
            Release::V1_0 => "1.0",
            Release::V1_5 => "1.5",
        }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Release {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Release, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Release;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Pigsty release: 0.7, 1.0 or 1.5")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Release, E> {
                Release::parse(v).ok_or_else(|| {
                    E::custom(format!("unknown release {v:?}, expected 0.7, 1.0 or 1.5"))
                })
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Release, E> {
                // A bare `1.0` arrives as the float 1, so render with one decimal.
                self.visit_str(&format!("{v:.1}"))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Release, E> {
                self.visit_str(&format!("{v}.0"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Release, E> {
                self.visit_str(&format!("{v}.0"))
            }
        }
        d.deserialize_any(V)
    }
}

/// A node that runs infrastructure services only (consul, prometheus, grafana...).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InfraNode {
    /// Consul node name (also the inventory group name).
    pub node: String,
    /// Node address.
    pub ip: String,
    /// Service names registered on the node.
    #[serde(default)]
    pub services: Vec<String>,
}

/// What one place records about a member, when it differs from the real identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlaceOverride {
    /// Recorded role word (kept verbatim, may be an unknown word).
    pub role: Option<String>,
    /// Recorded address.
    pub ip: Option<String>,
    /// Recorded instance name.
    pub ins: Option<String>,
    /// Recorded service name.
    pub svc: Option<String>,
    /// The place does not know the member at all.
    pub absent: bool,
}

/// A per-service override of a Consul registration (a half-rewritten svc file).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceOverride {
    /// Role this one service still (or already) claims.
    pub role: Option<String>,
    /// The service is not registered.
    pub absent: bool,
}

/// What Consul records about a member, when it differs from the real identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsulOverride {
    /// Role every service claims unless overridden per service.
    pub role: Option<String>,
    /// The node's address in Consul.
    pub ip: Option<String>,
    /// Recorded instance name (`meta.instance`).
    pub ins: Option<String>,
    /// Recorded service name (`meta.service`).
    pub svc: Option<String>,
    /// The node is not registered.
    pub absent: bool,
    /// Per-service overrides, keyed by service name (`pgbouncer`, `pg-test-primary`...).
    pub services: BTreeMap<String, ServiceOverride>,
    /// The node left without `consul leave`: serfHealth critical, agent unreachable.
    pub node_down: bool,
    /// Service names whose check is critical.
    pub critical: Vec<String>,
}

fn default_role() -> String {
    "replica".to_string()
}

/// One database instance of a cluster.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberSpec {
    /// Pigsty `pg_seq`.
    pub seq: u32,
    /// The node's real address.
    pub ip: String,
    /// The real role now (what the database would say).
    #[serde(default = "default_role")]
    pub role: String,
    /// Consul node name; `<cluster>-<seq>` when not given.
    #[serde(default)]
    pub node: Option<String>,
    /// What Consul holds, when it differs.
    #[serde(default)]
    pub consul: ConsulOverride,
    /// What the target files hold, when they differ.
    #[serde(default)]
    pub targets: PlaceOverride,
    /// What the inventory holds, when it differs.
    #[serde(default)]
    pub inventory: PlaceOverride,
}

fn default_timeline() -> u64 {
    1
}

/// One database cluster.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Pigsty `pg_cluster`.
    pub name: String,
    /// PostgreSQL timeline the simulated Patroni reports (one more per failover).
    #[serde(default = "default_timeline")]
    pub timeline: u64,
    /// The instances.
    pub members: Vec<MemberSpec>,
}

fn default_datacenter() -> String {
    "dc1".to_string()
}

/// Another datacenter, reached through the local agent with `?dc=`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatacenterSpec {
    /// Its name.
    pub name: String,
    /// Listed by `/v1/catalog/datacenters`, but no server answers: every read of it is
    /// Consul's 500 `No path to datacenter`.
    #[serde(default)]
    pub unreachable: bool,
    /// Its infrastructure nodes.
    #[serde(default)]
    pub infra: Vec<InfraNode>,
    /// Its database clusters.
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
}

/// A Pigsty-shaped fleet with the drift planted in it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    /// Consul datacenter name.
    #[serde(default = "default_datacenter")]
    pub datacenter: String,
    /// Service-set style.
    #[serde(default)]
    pub release: Release,
    /// Infrastructure nodes.
    #[serde(default)]
    pub infra: Vec<InfraNode>,
    /// Database clusters.
    #[serde(default)]
    pub clusters: Vec<ClusterSpec>,
    /// Other datacenters, nearest first (the local one is `datacenter`).
    #[serde(default)]
    pub datacenters: Vec<DatacenterSpec>,
}

/// Identity as one place records it for one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// Instance name.
    pub ins: String,
    /// Service name.
    pub svc: String,
    /// Role word.
    pub role: String,
    /// Address.
    pub ip: String,
}

impl MemberSpec {
    /// The Consul node name of this member.
    pub fn node_name(&self, cluster: &str) -> String {
        self.node
            .clone()
            .unwrap_or_else(|| crate::identity::instance_name(cluster, self.seq))
    }

    fn recorded(&self, cluster: &str, o: &PlaceOverride) -> Recorded {
        let role = o.role.clone().unwrap_or_else(|| self.role.clone());
        Recorded {
            ins: o
                .ins
                .clone()
                .unwrap_or_else(|| crate::identity::instance_name(cluster, self.seq)),
            svc: o.svc.clone().unwrap_or_else(|| format!("{cluster}-{role}")),
            ip: o.ip.clone().unwrap_or_else(|| self.ip.clone()),
            role,
        }
    }

    /// What the target files say about this member, or None when absent there.
    pub fn in_targets(&self, cluster: &str) -> Option<Recorded> {
        (!self.targets.absent).then(|| self.recorded(cluster, &self.targets))
    }

    /// What the inventory says about this member, or None when absent there.
    pub fn in_inventory(&self, cluster: &str) -> Option<Recorded> {
        (!self.inventory.absent).then(|| self.recorded(cluster, &self.inventory))
    }

    /// What Consul says about this member (before per-service overrides), or None.
    pub fn in_consul(&self, cluster: &str) -> Option<Recorded> {
        let c = &self.consul;
        let o = PlaceOverride {
            role: c.role.clone(),
            ip: c.ip.clone(),
            ins: c.ins.clone(),
            svc: c.svc.clone(),
            absent: c.absent,
        };
        (!c.absent).then(|| self.recorded(cluster, &o))
    }
}

impl FleetSpec {
    /// Parses and validates a spec written in YAML.
    pub fn from_yaml(text: &str) -> Result<FleetSpec, SpecError> {
        let spec: FleetSpec = serde_saphyr::from_str(text).map_err(|e| {
            let full = e.to_string();
            let first = full.lines().next().unwrap_or("").trim();
            match e.location() {
                Some(loc) => {
                    let prefix = format!("error: line {} column {}: ", loc.line(), loc.column());
                    SpecError::Parse {
                        line: loc.line(),
                        column: loc.column(),
                        message: first.strip_prefix(&prefix).unwrap_or(first).to_string(),
                    }
                }
                None => SpecError::Syntax(first.to_string()),
            }
        })?;
        spec.validate()?;
        let mut names = HashSet::from([spec.datacenter.as_str()]);
        for dc in &spec.datacenters {
            if dc.name.is_empty() || !names.insert(dc.name.as_str()) {
                return Err(SpecError::Invalid(format!(
                    "datacenter {:?} is empty or named twice",
                    dc.name
                )));
            }
            spec.remote(dc).validate()?;
        }
        Ok(spec)
    }

    /// The fleet of another datacenter, as a spec of its own (same release).
    pub fn remote(&self, dc: &DatacenterSpec) -> FleetSpec {
        FleetSpec {
            datacenter: dc.name.clone(),
            release: self.release,
            infra: dc.infra.clone(),
            clusters: dc.clusters.clone(),
            datacenters: Vec::new(),
        }
    }

    /// The demo fleet shipped in `assets/demo/fleet.yml`, drift included.
    pub fn demo() -> FleetSpec {
        #[allow(clippy::expect_used)]
        FleetSpec::from_yaml(include_str!("../../assets/demo/fleet.yml"))
            .expect("the bundled demo fleet is valid")
    }

    /// Checks what the catalog needs: unique node names and addresses, valid IPs (any seq, 0 included, as Pigsty).
    pub fn validate(&self) -> Result<(), SpecError> {
        let bad = |m: String| Err(SpecError::Invalid(m));
        let mut nodes = HashSet::new();
        let mut addrs = HashSet::new();
        let mut claim = |node: &str, ip: &str, what: &str| -> Result<(), SpecError> {
            if ip.parse::<IpAddr>().is_err() {
                return bad(format!("{what}: {ip:?} is not an IP address"));
            }
            if !nodes.insert(node.to_string()) {
                return bad(format!("{what}: node name {node:?} used twice"));
            }
            if !addrs.insert(ip.to_string()) {
                return bad(format!("{what}: node address {ip} used twice in Consul"));
            }
            Ok(())
        };
        for n in &self.infra {
            if n.node.is_empty() {
                return bad("infra node without a name".into());
            }
            claim(&n.node, &n.ip, &format!("infra node {}", n.node))?;
        }
        let mut names = HashSet::new();
        for c in &self.clusters {
            if c.name.is_empty() {
                return bad("cluster without a name".into());
            }
            if !names.insert(c.name.as_str()) {
                return bad(format!("cluster {} declared twice", c.name));
            }
            if c.timeline == 0 {
                return bad(format!("cluster {}: timeline must be positive", c.name));
            }
            for m in &c.members {
                let what = format!("cluster {} seq {}", c.name, m.seq);
                if m.ip.parse::<IpAddr>().is_err() {
                    return bad(format!("{what}: {:?} is not an IP address", m.ip));
                }
                if let Some(r) = m.in_consul(&c.name) {
                    claim(&m.node_name(&c.name), &r.ip, &what)?;
                }
            }
        }
        Ok(())
    }

    /// Every (cluster, member) pair in spec order.
    pub fn members(&self) -> impl Iterator<Item = (&ClusterSpec, &MemberSpec)> {
        self.clusters
            .iter()
            .flat_map(|c| c.members.iter().map(move |m| (c, m)))
    }

    /// Number of database instances in the spec.
    pub fn instance_count(&self) -> usize {
        self.clusters.iter().map(|c| c.members.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_overrides_and_defaults() {
        let spec = FleetSpec::from_yaml(
            "release: 1.0\nclusters:\n  - name: pg-a\n    members:\n      - seq: 1\n        ip: 127.1.0.1\n        role: primary\n        consul: { services: { pgbouncer: { role: replica } }, node_down: true, critical: [postgres] }\n        targets: { ins: pg-a-10 }\n      - { seq: 2, ip: 127.1.0.2, inventory: { absent: true } }\n",
        )
        .unwrap();
        assert_eq!(spec.datacenter, "dc1");
        assert_eq!(spec.release, Release::V1_0);
        let c = &spec.clusters[0];
        let m1 = &c.members[0];
        assert!(m1.consul.node_down);
        assert_eq!(m1.consul.critical, vec!["postgres"]);
        assert_eq!(
            m1.consul.services["pgbouncer"].role.as_deref(),
            Some("replica")
        );
        assert_eq!(m1.in_targets("pg-a").unwrap().ins, "pg-a-10");
        assert_eq!(m1.in_targets("pg-a").unwrap().svc, "pg-a-primary");
        assert_eq!(c.members[1].role, "replica");
        assert_eq!(c.timeline, 1);
        assert!(c.members[1].in_inventory("pg-a").is_none());
        assert_eq!(c.members[1].node_name("pg-a"), "pg-a-2");
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = FleetSpec::from_yaml("clusters:\n  - name: a\n    members:\n      - { seq: 1, ip: 127.0.0.9, rol: primary }\n")
            .unwrap_err();
        match err {
            SpecError::Parse { line, message, .. } => {
                assert_eq!(line, 4);
                assert!(message.contains("rol"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(FleetSpec::from_yaml("release: 0.9\n").is_err());
    }

    #[test]
    fn other_datacenters_are_specs_of_their_own() {
        let spec = FleetSpec::from_yaml(
            "clusters:\n  - name: pg-a\n    members: [{ seq: 1, ip: 127.1.0.1 }]\ndatacenters:\n  - name: dc2\n    clusters:\n      - name: pg-a\n        members: [{ seq: 1, ip: 127.2.0.1, role: primary }]\n  - { name: dc3, unreachable: true }\n",
        )
        .unwrap();
        assert_eq!(spec.datacenters.len(), 2);
        let dc2 = spec.remote(&spec.datacenters[0]);
        assert_eq!(dc2.datacenter, "dc2");
        assert_eq!(dc2.clusters[0].members[0].ip, "127.2.0.1");
        assert!(spec.datacenters[1].unreachable);
        let twice = "datacenters:\n  - { name: dc2 }\n  - { name: dc2 }\n";
        assert!(FleetSpec::from_yaml(twice).is_err());
        let local = "datacenters:\n  - { name: dc1 }\n";
        assert!(FleetSpec::from_yaml(local).is_err());
        let bad = "datacenters:\n  - name: dc2\n    clusters: [{ name: a, members: [{ seq: 1, ip: not-an-ip }] }]\n";
        assert!(FleetSpec::from_yaml(bad).is_err());
    }

    #[test]
    fn rejects_duplicate_nodes_and_bad_ips() {
        let dup = "clusters:\n  - name: a\n    members:\n      - { seq: 1, ip: 127.0.0.9 }\n      - { seq: 2, ip: 127.0.0.9 }\n";
        assert!(matches!(
            FleetSpec::from_yaml(dup),
            Err(SpecError::Invalid(_))
        ));
        let bad = "clusters:\n  - name: a\n    members:\n      - { seq: 1, ip: nope }\n";
        assert!(matches!(
            FleetSpec::from_yaml(bad),
            Err(SpecError::Invalid(_))
        ));
        let zero = "clusters:\n  - name: a\n    timeline: 0\n    members: []\n";
        assert!(matches!(
            FleetSpec::from_yaml(zero),
            Err(SpecError::Invalid(_))
        ));
    }

    #[test]
    fn demo_parses() {
        let d = FleetSpec::demo();
        assert!(d.clusters.iter().any(|c| c.name == "pg-stats"));
        let timeline = |name: &str| {
            d.clusters
                .iter()
                .find(|c| c.name == name)
                .map(|c| c.timeline)
        };
        // The failed-over clusters are one timeline on; the others never moved.
        for name in ["pg-test", "pg-src", "pg-web"] {
            assert_eq!(timeline(name), Some(2), "{name}");
        }
        assert_eq!(timeline("pg-meta"), Some(1));
        assert_eq!(d.release, Release::V0_7);
    }
}
