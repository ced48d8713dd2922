//! `roster check` output: the fleet and its findings as a table, JSON or Prometheus metrics.

pub mod json;
pub mod prometheus;
pub mod table;

use crate::drift::{Finding, Severity};
use crate::fleet::Fleet;
use crate::observation::SourceKind;
use serde::Serialize;

/// Output formats of `roster check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable columns (patronictl style).
    Table,
    /// One JSON document.
    Json,
    /// Prometheus text exposition format (node_exporter textfile collector).
    Prometheus,
}

/// A fleet, its findings and what roster noted while reading: everything a view shows.
#[derive(Clone, Debug)]
pub struct CheckResult {
    /// The merged fleet, with each source's report.
    pub fleet: Fleet,
    /// Every finding, most severe first.
    pub findings: Vec<Finding>,
    /// Notes about defaults used or sources skipped.
    pub notes: Vec<String>,
}

/// Counts for the one-line summary and the JSON `summary` object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Clusters in the fleet.
    pub clusters: usize,
    /// Instances in the fleet.
    pub instances: usize,
    /// Instances with at least one finding.
    pub drifting_instances: usize,
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Findings of severity info.
    pub infos: usize,
    /// Sources that could not be fully read.
    pub sources_failed: usize,
}

impl CheckResult {
    /// Builds the result: merges nothing itself, only runs the pure drift check (per
    /// datacenter when several are read).
    pub fn new(fleet: Fleet, notes: Vec<String>) -> CheckResult {
        let findings = crate::estate::check(&fleet);
        CheckResult {
            fleet,
            findings,
            notes,
        }
    }

    /// Keeps only the named clusters (and their findings); all of them when `names` is empty.
    pub fn only_clusters(&mut self, names: &[String]) {
        if names.is_empty() {
            return;
        }
        self.fleet.clusters.retain(|c| names.contains(&c.name));
        self.findings.retain(|f| names.contains(&f.cluster));
    }

    /// One datacenter of a result read across several: its clusters and findings, with
    /// every source (so each datacenter's state still shows); `None` when the result has
    /// no such datacenter.
    pub fn datacenter_view(&self, dc: &str) -> Option<CheckResult> {
        let one = self.fleet.datacenters.iter().find(|d| d.name == dc)?;
        let fleet = Fleet {
            clusters: self
                .fleet
                .clusters
                .iter()
                .filter(|c| c.datacenter.as_deref() == Some(dc))
                .cloned()
                .collect(),
            sources: self.fleet.sources.clone(),
            datacenters: vec![one.clone()],
        };
        Some(CheckResult {
            fleet,
            findings: self
                .findings
                .iter()
                .filter(|f| f.datacenter.as_deref() == Some(dc))
                .cloned()
                .collect(),
            notes: self.notes.clone(),
        })
    }

    /// The counts.
    pub fn summary(&self) -> Summary {
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        let drifting: std::collections::BTreeSet<(&str, &str)> = self
            .findings
            .iter()
            .filter_map(|f| f.instance.as_deref().map(|i| (f.cluster.as_str(), i)))
            .collect();
        Summary {
            clusters: self.fleet.clusters.len(),
            instances: self.fleet.instance_count(),
            drifting_instances: drifting.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            sources_failed: self.fleet.sources.iter().filter(|s| !s.is_ok()).count(),
        }
    }

    /// The exit code: 2 when a source failed, else 1 when a finding reaches `fail_on`, else 0.
    pub fn exit_code(&self, fail_on: Severity) -> i32 {
        if self.fleet.sources.iter().any(|s| !s.is_ok()) {
            2
        } else if self.findings.iter().any(|f| f.severity >= fail_on) {
            1
        } else {
            0
        }
    }

    /// The sources that were read, in display order (columns of the table).
    pub fn source_kinds(&self) -> Vec<SourceKind> {
        SourceKind::ALL
            .into_iter()
            .filter(|k| self.fleet.source(*k).is_some())
            .collect()
    }

    /// Renders in the chosen format.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => table::render(self),
            Format::Json => json::render(self),
            Format::Prometheus => prometheus::render(self),
        }
    }
}
