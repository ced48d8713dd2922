//! Consul service registrations as an identity source.

use super::consul_compact::Compactor;
use crate::consul::wire::{HealthEntry, HealthEntryRef};
use crate::consul::{Blocking, ConsulClient, ConsulError};
use crate::observation::{Observation, Origin, SourceKind, SourceOutput, SourceReport};
use futures::stream::{self, StreamExt};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Per-service `X-Consul-Index` values of one read, so a watch can continue from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsulIndices {
    /// The index of `catalog/services`.
    pub catalog: u64,
    /// Service name -> the index of its `health/service` answer.
    pub services: BTreeMap<String, u64>,
}

/// A [`Compactor`] shared by the concurrent reads of one source.
pub type SharedCompactor = Arc<Mutex<Compactor>>;

/// Reads every service from Consul and returns the identity-bearing instances.
///
/// A failing service is an error in the report; the other services still count.
pub async fn read_consul(client: &ConsulClient) -> SourceOutput {
    read_consul_indexed(client).await.0
}

/// [`read_consul`], also returning the index of every answer.
pub async fn read_consul_indexed(client: &ConsulClient) -> (SourceOutput, ConsulIndices) {
    let mut report = SourceReport::new(SourceKind::Consul, client.endpoint().to_string());
    let mut indices = ConsulIndices::default();
    if let Some(dc) = &client.config().datacenter {
        report.facts.insert("datacenter".into(), dc.clone());
    }
    let (services, meta) = match client.services(None).await {
        Ok(v) => v,
        Err(e) => {
            if matches!(e, ConsulError::Connect { .. }) {
                report.facts.insert("unreachable".into(), "true".into());
            }
            report.error(e.to_string());
            return (SourceOutput::new(report, Vec::new()), indices);
        }
    };
    indices.catalog = meta.index;
    report.facts.insert("index".into(), meta.index.to_string());
    if let Some(leader) = meta.known_leader {
        report
            .facts
            .insert("known_leader".into(), leader.to_string());
    }
    report
        .facts
        .insert("services".into(), services.len().to_string());
    let names: Vec<String> = services.into_keys().collect();
    let compactor = SharedCompactor::default();
    let results = read_services(client, names, &compactor).await;
    let mut observations = Vec::new();
    let mut failed = Vec::new();
    for (name, result) in results {
        match result {
            Ok((obs, index)) => {
                observations.extend(obs);
                indices.services.insert(name, index);
            }
            Err(e) => failed.push((name, e)),
        }
    }
    failed.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, e) in failed {
        report.error(e);
    }
    sort_observations(&mut observations);
    (SourceOutput::shared(report, observations), indices)
}

/// One service's identity-bearing observations and the index of the answer.
pub type ServiceRead = Result<(Vec<Arc<Observation>>, u64), String>;

/// Reads `health/service` for each name with bounded concurrency.
///
/// Each read is its own task so that decoding (the bulk of the work on a large
/// fleet) spreads over every core instead of running inside one future.
pub async fn read_services(
    client: &ConsulClient,
    names: Vec<String>,
    compactor: &SharedCompactor,
) -> Vec<(String, ServiceRead)> {
    stream::iter(names)
        .map(|name| {
            let client = client.clone();
            let compactor = compactor.clone();
            async move {
                let task = tokio::spawn({
                    let name = name.clone();
                    async move { read_service(&client, &name, None, &compactor).await }
                });
                let result = task
                    .await
                    .unwrap_or_else(|e| Err(format!("reading service {name:?} failed: {e}")));
                (name, result)
            }
        })
        .buffer_unordered(client.config().concurrency.max(1))
        .collect()
        .await
}

/// Reads one service (optionally as a blocking query) into observations.
///
/// Each instance is decoded as it arrives, borrowing its strings, and turned into an
/// observation at once; the compactor's lock is held for one instance at a time.
pub async fn read_service(
    client: &ConsulClient,
    name: &str,
    blocking: Option<Blocking>,
    compactor: &SharedCompactor,
) -> ServiceRead {
    let url = client
        .url_segments(&["health", "service", name])
        .map_err(|e| e.to_string())?;
    let mut observations = Vec::new();
    let meta = client
        .get_each(url, blocking, |text| {
            let entry: HealthEntryRef<'_> =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            let mut compactor = compactor.lock().unwrap_or_else(|p| p.into_inner());
            observations.extend(compactor.observe(entry).map(Arc::new));
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok((observations, meta.index))
}

/// Orders observations by cluster, seq, node and service, so output is stable.
pub fn sort_observations<T: std::borrow::Borrow<Observation>>(observations: &mut [T]) {
    fn key(o: &Observation) -> (&str, Option<u32>, &str, &str) {
        match &o.origin {
            Origin::Consul(c) => (&o.cluster, o.seq, &c.node, &c.service_id),
            _ => (&o.cluster, o.seq, "", ""),
        }
    }
    observations.sort_by(|a, b| key(a.borrow()).cmp(&key(b.borrow())));
}

/// Turns one owned health entry into an observation (see [`Compactor::observe`]); each
/// call shares nothing with any other.
pub fn observe(entry: HealthEntry) -> Option<Observation> {
    Compactor::default().observe(entry.borrowed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;

    fn entry(name: &str, tags: &[&str], meta: &[(&str, &str)]) -> HealthEntry {
        HealthEntry::sample("pg-test-1", "10.10.10.11", name, tags, meta)
    }

    #[test]
    fn identity_needs_cluster_and_instance_or_seq() {
        assert!(observe(entry("consul", &[], &[])).is_none());
        assert!(observe(entry("x", &[], &[("cluster", "pg-test")])).is_none());
        let o = observe(entry(
            "x",
            &[],
            &[("cluster", "pg-test"), ("instance", "pg-test-3")],
        ))
        .unwrap();
        assert_eq!(o.seq, Some(3));
        assert_eq!(o.ip.as_deref(), Some("10.10.10.11"));
        assert!(o.role.is_none());
    }

    #[test]
    fn role_comes_from_meta_role_then_service_then_tags() {
        let base = [
            ("cluster", "pg-test"),
            ("seq", "1"),
            ("instance", "pg-test-1"),
        ];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut m = base.to_vec();
            m.extend_from_slice(extra);
            m
        };
        let o = observe(entry(
            "postgres",
            &["replica", "pg-test"],
            &with(&[("role", "master"), ("service", "pg-test-replica")]),
        ))
        .unwrap();
        let c = o.role.unwrap();
        assert_eq!((c.role, c.from), (Role::Primary, "meta.role"));

        let o = observe(entry(
            "pg-test-primary",
            &["pg-test-primary", "pg-test", "primary"],
            &with(&[("service", "pg-test-replica")]),
        ))
        .unwrap();
        assert_eq!(
            o.role.unwrap().role,
            Role::Replica,
            "cluster-service tags ignored"
        );

        let o = observe(entry("pg-test-replica", &["replica"], &with(&[]))).unwrap();
        assert!(o.role.is_none(), "cluster service without meta has no role");

        let o = observe(entry("patroni-own", &["pg", "master"], &with(&[]))).unwrap();
        let c = o.role.unwrap();
        assert_eq!((c.role, c.from), (Role::Primary, "tag"));

        let o = observe(entry("haproxy", &["pg", "exporter", "pg-test"], &with(&[]))).unwrap();
        assert!(o.role.is_none());

        let o = observe(entry("x", &[], &with(&[("service", "pg-test-default")]))).unwrap();
        assert!(o.role.is_none());
    }

    mod never_panics {
        use super::super::observe;
        use crate::consul::wire::HealthEntry;
        use proptest::prelude::*;

        fn meta_value() -> impl Strategy<Value = String> {
            prop_oneof![
                Just(String::new()),
                Just("pg-test".to_string()),
                Just("pg-test-1".to_string()),
                Just("primary".to_string()),
                "[0-9]{1,12}",
                "\\PC{0,12}",
            ]
        }

        proptest! {
            #[test]
            fn decoding_arbitrary_text_never_panics(text in "\\PC{0,200}") {
                if let Ok(entries) = serde_json::from_str::<Vec<HealthEntry>>(&text) {
                    for e in entries {
                        let _ = observe(e);
                    }
                }
            }

            #[test]
            fn observing_plausible_entries_never_panics(
                cluster in meta_value(), seq in meta_value(), instance in meta_value(),
                role in meta_value(), service in meta_value(), name in meta_value(),
                tags in proptest::collection::vec(meta_value(), 0..4),
                port in proptest::option::of(any::<i64>()),
            ) {
                let body = serde_json::json!([{
                    "Node": {"Node": "n", "Address": "10.0.0.1", "Datacenter": "dc1"},
                    "Service": {"ID": name, "Service": name, "Tags": tags, "Address": "",
                        "Meta": {"cluster": cluster, "seq": seq, "instance": instance,
                                 "role": role, "service": service},
                        "Port": port},
                    "Checks": null
                }]);
                match serde_json::from_value::<Vec<HealthEntry>>(body) {
                    Ok(entries) => {
                        for e in entries {
                            if let Some(o) = observe(e) {
                                prop_assert!(!o.cluster.is_empty());
                            }
                        }
                    }
                    // a port outside 0..=65535 is a decode error, never a panic
                    Err(e) => prop_assert!(e.to_string().contains("Port") || e.to_string().contains("invalid value")),
                }
            }
        }
    }
}
