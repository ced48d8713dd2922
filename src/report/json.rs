//! The JSON document of `roster check --format json`.

use super::{CheckResult, Summary};
use crate::drift::{Finding, Follows, follows, primaries};
use crate::observation::{SourceKind, SourceReport};
use crate::verdict::{Judges, Verdict, unread};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    datacenters: Vec<JsonDatacenter<'a>>,
    sources: Vec<JsonSource<'a>>,
    notes: &'a [String],
    clusters: Vec<JsonCluster>,
    instances: Vec<JsonInstance<'a>>,
    findings: &'a [Finding],
    summary: Summary,
}

#[derive(Serialize)]
struct JsonSource<'a> {
    #[serde(flatten)]
    report: &'a SourceReport,
    /// `complete`, `partial`, `stale` or `failed`.
    read: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Who each place names primary, and whether the registrations follow the live roles.
#[derive(Serialize)]
struct JsonCluster {
    cluster: String,
    /// The one instance every place that can say names primary; null when they differ.
    primary: Option<String>,
    disputed: bool,
    /// The one live primary; null without `--live`, without an answer, or with several.
    live_primary: Option<String>,
    /// Place -> the instances it names primary (null: it cannot say).
    primaries: BTreeMap<&'static str, Option<Vec<String>>>,
    /// Only with `--live`: `{"verdict": "yes"|"no"|"unknown", "reasons": [...]}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    follows: Option<Follows>,
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
    /// Per source: `record`, `absent` or `not-read`.
    coverage: BTreeMap<&'static str, &'static str>,
    /// `ok`, `drift` or `unverified`.
    verdict: &'static str,
    /// The sources not read for it (failed, partly read, stale), whatever the verdict.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    not_read: Vec<SourceKind>,
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
    let verdicts = r.verdicts();
    let judges = Judges::new(&r.fleet);
    let instances = r
        .fleet
        .clusters
        .iter()
        .flat_map(|c| {
            c.instances
                .iter()
                .map(move |i| (c.datacenter.as_deref(), i))
        })
        .zip(&verdicts)
        .map(|((dc, i), verdict)| JsonInstance {
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
            coverage: kinds
                .iter()
                .map(|k| (k.name(), judges.of(&r.fleet, dc).coverage(i, *k).code()))
                .collect(),
            verdict: verdict.code(),
            not_read: match verdict {
                Verdict::Unverified(u) => u.iter().map(|u| u.source).collect(),
                _ => unread(judges.of(&r.fleet, dc), i)
                    .iter()
                    .map(|u| u.source)
                    .collect(),
            },
            health: i.health(),
            findings: per_instance
                .get(&(dc, i.cluster.as_str(), i.name.as_str()))
                .copied()
                .unwrap_or(0),
        })
        .collect();
    let clusters = r
        .fleet
        .clusters
        .iter()
        .map(|c| {
            let p = primaries(&r.fleet, c);
            JsonCluster {
                cluster: c.name.clone(),
                primary: p.agreed().map(str::to_string),
                disputed: p.disputed(),
                live_primary: p.live().map(str::to_string),
                primaries: p
                    .places
                    .iter()
                    .map(|(k, n)| (k.name(), n.clone()))
                    .collect(),
                follows: r
                    .fleet
                    .source(SourceKind::Live)
                    .map(|_| follows(&r.fleet, c)),
            }
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
                read: s.read_state().code(),
                error: (!s.errors.is_empty()).then(|| s.errors.join("; ")),
            })
            .collect(),
        notes: &r.notes,
        clusters,
        instances,
        findings: &r.findings,
        summary: r.summary_of(&verdicts),
    };
    match serde_json::to_string_pretty(&doc) {
        Ok(s) => s + "\n",
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}
