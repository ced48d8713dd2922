//! What the service serves: the latest fleet and findings, when it was built, and when
//! each cluster's identity last changed.

use crate::fleet::Cluster;
use crate::observation::{SourceKind, SourceReport};
use crate::report::CheckResult;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::time::{Duration, SystemTime};

/// A cluster as the service tells clusters apart: (datacenter, name); the datacenter is
/// empty when only one is read.
pub type ClusterKey = (String, String);

/// The latest state, shared by every request until the next rebuild replaces it.
#[derive(Debug)]
pub struct Snapshot {
    /// The fleet and its findings.
    pub result: CheckResult,
    /// When this fleet was built.
    pub built_at: SystemTime,
    /// When each cluster's identity last changed (its first read, after a start).
    pub changed: BTreeMap<ClusterKey, SystemTime>,
}

impl Snapshot {
    /// Why the service is not healthy: one line per source that is not fully read.
    pub fn problems(&self, now: SystemTime) -> Vec<String> {
        self.result
            .fleet
            .sources
            .iter()
            .filter(|s| !s.is_ok())
            .map(|s| problem(s, now))
            .collect()
    }

    /// One line per source: name, state and the age of its data.
    pub fn source_lines(&self, now: SystemTime) -> Vec<String> {
        self.result
            .fleet
            .sources
            .iter()
            .map(|s| {
                if s.is_ok() {
                    format!("{}: ok, data {}", source_name(s), age_text(s, now))
                } else {
                    problem(s, now)
                }
            })
            .collect()
    }
}

/// `consul` or `consul@dc2`.
pub fn source_name(s: &SourceReport) -> String {
    s.label()
}

fn age_text(s: &SourceReport, now: SystemTime) -> String {
    match data_age(s, now) {
        Some(age) => format!("{}s old", age.as_secs()),
        None => "of unknown age".into(),
    }
}

/// How old the data of a source is.
pub fn data_age(s: &SourceReport, now: SystemTime) -> Option<Duration> {
    s.read_at.map(|t| now.duration_since(t).unwrap_or_default())
}

fn problem(s: &SourceReport, now: SystemTime) -> String {
    let state = if s.stale {
        format!("STALE (showing data {})", age_text(s, now))
    } else if s.observations > 0 {
        "partly read".into()
    } else {
        "not read".into()
    };
    // Errors are remote text and may quote a URL with credentials.
    let errors = crate::text::redact(&crate::text::sanitize(&s.errors.join("; "), 400));
    format!("{}: {state}: {errors}", source_name(s))
}

/// Remembers each cluster's identity between rebuilds, to tell when it last changed.
#[derive(Debug, Default)]
pub struct Changes {
    prints: HashMap<ClusterKey, u64>,
    at: BTreeMap<ClusterKey, SystemTime>,
}

impl Changes {
    /// Compares a new fleet with the previous one; clusters whose identity differs (or
    /// that are new) are stamped `now`, clusters that are gone are forgotten.
    pub fn observe(
        &mut self,
        result: &CheckResult,
        now: SystemTime,
    ) -> BTreeMap<ClusterKey, SystemTime> {
        let mut prints = HashMap::with_capacity(result.fleet.clusters.len());
        for c in &result.fleet.clusters {
            let key = cluster_key(c);
            let print = fingerprint(c);
            if self.prints.get(&key) != Some(&print) {
                self.at.insert(key.clone(), now);
            }
            prints.insert(key, print);
        }
        self.at.retain(|k, _| prints.contains_key(k));
        self.prints = prints;
        self.at.clone()
    }
}

/// The key of a cluster: its datacenter (empty when only one is read) and name.
pub fn cluster_key(c: &Cluster) -> ClusterKey {
    (c.datacenter.clone().unwrap_or_default(), c.name.clone())
}

/// What identity is made of, per instance and source: the role and the addresses.
fn fingerprint(c: &Cluster) -> u64 {
    let mut h = DefaultHasher::new();
    for i in &c.instances {
        i.name.hash(&mut h);
        for kind in SourceKind::ALL {
            if i.seen_by(kind) {
                kind.hash(&mut h);
                i.role_view(kind).label().hash(&mut h);
                i.ips(kind).hash(&mut h);
            }
        }
    }
    h.finish()
}
