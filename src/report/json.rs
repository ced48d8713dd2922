//! The JSON document of `roster check --format json`.

use super::{CheckResult, Summary};
use crate::drift::Finding;
use crate::observation::{SourceKind, SourceReport};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    datacenters: Vec<JsonDatacenter<'a>>,
    sources: Vec<JsonSource<'a>>,
    notes: &'a [String],
    instances: Vec<JsonInstance<'a>>,
    findings: &'a [Finding],
    summary: Summary,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    #[serde(flatten)]
    report: &'a SourceReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// A datacenter of several, with the state of its Consul read.
#[derive(Serialize)]
struct JsonDatacenter<'a> {
    name: &'a str,
    /// `ok`, `stale` (the latest read failed; earlier data shown) or `not read`.
    consul: &'static str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    standby_of: &'a [String],
}

#[derive(Serialize)]
struct JsonInstance<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    datacenter: Option<&'a str>,
    cluster: &'a str,
    instance: &'a str,
    ip: Option<&'a str>,
    roles: BTreeMap<&'static str, Option<String>>,
    health: Option<&'a str>,
    findings: usize,
}

/// Renders the document (pretty-printed, one trailing newline).
pub fn render(r: &CheckResult) -> String {
    let kinds = r.source_kinds();
    // Counted once: a scan of every finding per instance is quadratic on a drifting fleet.
    let mut per_instance: BTreeMap<(Option<&str>, &str, &str), usize> = BTreeMap::new();
    for f in &r.findings {
        if let Some(i) = &f.instance {
            *per_instance
                .entry((f.datacenter.as_deref(), f.cluster.as_str(), i.as_str()))
                .or_default() += 1;
        }
    }
    let instances = r
        .fleet
        .clusters
        .iter()
        .flat_map(|c| {
            c.instances
                .iter()
                .map(move |i| (c.datacenter.as_deref(), i))
        })
        .map(|(dc, i)| JsonInstance {
            datacenter: dc,
            cluster: &i.cluster,
            instance: &i.name,
            ip: i.display_ip(),
            roles: kinds
                .iter()
                .map(|k| {
                    let v = i.seen_by(*k).then(|| i.role_view(*k).label());
                    (k.name(), v)
                })
                .collect(),
            health: i.health(),
            findings: per_instance
                .get(&(dc, i.cluster.as_str(), i.name.as_str()))
                .copied()
                .unwrap_or(0),
        })
        .collect();
    let datacenters =
        r.fleet
            .datacenters
            .iter()
            .map(|d| {
                let consul = r.fleet.sources.iter().find(|s| {
                    s.kind == SourceKind::Consul && s.datacenter.as_deref() == Some(&d.name)
                });
                JsonDatacenter {
                    name: &d.name,
                    consul: match consul {
                        Some(s) if s.is_ok() => "ok",
                        Some(s) if s.stale => "stale",
                        _ => "not read",
                    },
                    standby_of: &d.standby_of,
                }
            })
            .collect();
    let doc = Doc {
        datacenters,
        sources: r
            .fleet
            .sources
            .iter()
            .map(|s| JsonSource {
                report: s,
                error: (!s.errors.is_empty()).then(|| s.errors.join("; ")),
            })
            .collect(),
        notes: &r.notes,
        instances,
        findings: &r.findings,
        summary: r.summary(),
    };
    match serde_json::to_string_pretty(&doc) {
        Ok(s) => s + "\n",
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}
