//! Consul health entries turned into observations that share what they repeat.
//!
//! A `health/service` answer repeats, for every instance, the node's name, address and
//! checks, and the same tags and meta keys; the observations made of it hold one copy of
//! each string, tag list, meta map and node check list (per [`Compactor`]), and nothing of
//! the answer's body outlives the decoding.

use crate::consul::wire::{HealthEntryRef, ServiceRef};
use crate::identity::{Role, parse_seq, role_from_service, seq_from_instance};
use crate::intern::{Interner, Meta, Pool, Text};
use crate::observation::{
    CheckState, ConsulOrigin, Observation, Origin, RoleClaim, SourceKind, SourceOutput,
};
use std::sync::Arc;

/// The tables one read (or one watch) shares its strings, lists and node checks through.
#[derive(Default)]
pub struct Compactor {
    strings: Interner,
    tags: Pool<[Text]>,
    metas: Pool<Meta>,
    node_checks: Pool<[CheckState]>,
}

impl Compactor {
    /// A compactor that already holds everything a read's observations share, so that
    /// what is read later shares it too.
    pub fn adopting(output: &SourceOutput) -> Compactor {
        let mut c = Compactor::default();
        for o in &output.observations {
            if let Origin::Consul(origin) = &o.origin {
                c.adopt(origin);
            }
        }
        c
    }

    fn adopt(&mut self, o: &ConsulOrigin) {
        for t in [
            &o.node,
            &o.node_address,
            &o.service_id,
            &o.service_name,
            &o.service_address,
            &o.datacenter,
        ] {
            self.strings.adopt(t);
        }
        for t in o.tags.iter() {
            self.strings.adopt(t);
        }
        for (k, v) in o.meta.iter() {
            self.strings.adopt(k);
            self.strings.adopt(v);
        }
        for c in o.checks() {
            for t in [&c.id, &c.name, &c.status, &c.output] {
                self.strings.adopt(t);
            }
        }
        self.tags.adopt(&o.tags);
        self.metas.adopt(&o.meta);
        self.node_checks.adopt(&o.node_checks);
    }

    /// Forgets what no observation holds any more (each table once it has doubled).
    pub fn sweep(&mut self) {
        self.strings.sweep();
        self.tags.sweep();
        self.metas.sweep();
        self.node_checks.sweep();
    }

    fn text(&mut self, s: &str) -> Text {
        self.strings.text(s)
    }

    /// The identity-bearing observations of one answer's entries.
    pub fn observe_all(&mut self, entries: Vec<HealthEntryRef<'_>>) -> Vec<Observation> {
        entries
            .into_iter()
            .filter_map(|e| self.observe(e))
            .collect()
    }

    /// Turns one health entry into an observation when its meta carries Pigsty identity
    /// (`cluster` plus `instance` or `seq`).
    pub fn observe(&mut self, entry: HealthEntryRef<'_>) -> Option<Observation> {
        let svc = &entry.service;
        let cluster = svc.meta("cluster").filter(|c| !c.is_empty())?;
        let instance = svc.meta("instance").filter(|s| !s.is_empty());
        let seq_raw = svc.meta("seq").filter(|s| !s.is_empty());
        if instance.is_none() && seq_raw.is_none() {
            return None;
        }
        let seq = seq_raw
            .and_then(parse_seq)
            .or_else(|| instance.and_then(|i| seq_from_instance(cluster, i)));
        let role = role_claim(cluster, svc);
        let ip = if svc.address.is_empty() {
            &entry.node.address
        } else {
            &svc.address
        };
        let observation = Observation {
            source: SourceKind::Consul,
            cluster: cluster.to_string(),
            seq,
            instance: instance.map(str::to_string),
            service: svc.meta("service").map(str::to_string),
            role,
            ip: Some(ip.to_string()).filter(|s| !s.is_empty()),
            origin: Origin::Consul(Arc::new(self.origin(&entry))),
        };
        Some(observation)
    }

    fn origin(&mut self, entry: &HealthEntryRef<'_>) -> ConsulOrigin {
        let svc = &entry.service;
        let tags: Vec<Text> = svc.tags.iter().map(|t| self.text(t)).collect();
        let tags = self.tags.get(tags.as_slice(), |t: &[Text]| Arc::from(t));
        let pairs = svc
            .meta
            .iter()
            .map(|(k, v)| (self.text(k), self.text(v)))
            .collect();
        let meta = self.metas.get(&Meta::new(pairs), |m| Arc::new(m.clone()));
        let mut node_checks = Vec::new();
        let mut service_checks = Vec::new();
        for c in &entry.checks {
            let state = CheckState {
                id: self.text(&c.check_id),
                name: self.text(&c.name),
                status: self.text(&c.status),
                output: self.text(&c.output),
                node_check: c.service_id.is_empty(),
            };
            if state.node_check {
                node_checks.push(state);
            } else {
                service_checks.push(state);
            }
        }
        let node_checks = self
            .node_checks
            .get(node_checks.as_slice(), |c: &[CheckState]| Arc::from(c));
        ConsulOrigin {
            node: self.text(&entry.node.node),
            node_address: self.text(&entry.node.address),
            service_id: self.text(&svc.id),
            service_name: self.text(&svc.service),
            service_address: self.text(&svc.address),
            port: svc.port,
            tags,
            meta,
            node_checks,
            service_checks: service_checks.into_boxed_slice(),
            datacenter: self.text(&entry.node.datacenter),
        }
    }
}

/// The node's role as one service states it, by Pigsty's reader rule: `meta.role`,
/// else a `meta.service` of the form `<cluster>-<role>`, else (for a service with
/// neither, and not a cluster service) a tag that is a role word.
fn role_claim(cluster: &str, svc: &ServiceRef<'_>) -> Option<RoleClaim> {
    if let Some(role) = svc.meta("role").filter(|r| !r.trim().is_empty()) {
        return Some(RoleClaim::new(role, "meta.role"));
    }
    if let Some(service) = svc.meta("service") {
        let suffix = service
            .strip_prefix(cluster)
            .and_then(|s| s.strip_prefix('-'));
        return match (role_from_service(cluster, service), suffix) {
            (Some(_), Some(word)) => Some(RoleClaim::new(word, "meta.service")),
            _ => None,
        };
    }
    // The tags of `<cluster>-primary|replica` name the role the service routes to,
    // which every member registers: reading them would invent a primary on every node.
    let cluster_service = svc
        .service
        .strip_prefix(cluster)
        .is_some_and(|rest| rest.starts_with('-'));
    if cluster_service {
        return None;
    }
    svc.tags
        .iter()
        .find(|t| t.len() > 1 && Role::parse_known(t).is_some())
        .map(|t| RoleClaim::new(t, "tag"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consul::wire::HealthEntry;

    #[test]
    fn instances_share_strings_lists_meta_and_node_checks() {
        let meta = [("cluster", "pg-a"), ("seq", "1"), ("instance", "pg-a-1")];
        let mut c = Compactor::default();
        let a = HealthEntry::sample("n1", "10.0.0.1", "postgres", &["primary"], &meta);
        let b = HealthEntry::sample("n1", "10.0.0.1", "patroni", &["primary"], &meta);
        let (a, b) = (c.observe(a.borrowed()), c.observe(b.borrowed()));
        let origin = |o: Option<Observation>| match o.map(|o| o.origin) {
            Some(Origin::Consul(c)) => c,
            other => panic!("not a Consul observation: {other:?}"),
        };
        let (a, b) = (origin(a), origin(b));
        assert!(Arc::ptr_eq(&a.tags, &b.tags));
        assert!(Arc::ptr_eq(&a.meta, &b.meta));
        assert!(Arc::ptr_eq(&a.node_checks, &b.node_checks));
        assert_eq!(a.node_checks[0].id, "serfHealth");
        assert_eq!(b.service_checks[0].id, "service:patroni");
        let ids: Vec<&str> = b.checks().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["serfHealth", "service:patroni"], "node checks first");
    }
}
