//! `roster check` output: the fleet and its findings as a table, JSON or Prometheus metrics.

pub mod json;
pub mod prometheus;
pub mod table;

use crate::drift::{Finding, Severity};
use crate::fleet::Fleet;
use crate::observation::SourceKind;
use crate::verdict::{Verdict, unread_of};
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
    /// Instances every configured source was read for, with no finding: the clean ones.
    pub ok_instances: usize,
    /// Instances with no finding but not known clean: a configured source was not read
    /// for them (failed, read in part, or stale).
    pub unverified_instances: usize,
    /// The sources not read for some unverified instance, in display order.
    pub not_read: Vec<SourceKind>,
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

    /// Every instance's verdict, in fleet order.
    pub fn verdicts(&self) -> Vec<Verdict> {
        crate::verdict::verdicts(&self.fleet, &self.findings)
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
        self.summary_of(&self.verdicts())
    }

    /// The counts, given the verdicts [`CheckResult::verdicts`] returned.
    pub fn summary_of(&self, verdicts: &[Verdict]) -> Summary {
        let mut not_read: Vec<SourceKind> = unread_of(verdicts).iter().map(|u| u.source).collect();
        not_read.dedup();
        let count = |s: Severity| self.findings.iter().filter(|f| f.severity == s).count();
        // One name in two datacenters is two instances.
        let drifting: std::collections::BTreeSet<(Option<&str>, &str, &str)> = self
            .findings
            .iter()
            .filter_map(|f| {
                f.instance
                    .as_deref()
                    .map(|i| (f.datacenter.as_deref(), f.cluster.as_str(), i))
            })
            .collect();
        Summary {
            clusters: self.fleet.clusters.len(),
            instances: self.fleet.instance_count(),
            drifting_instances: drifting.len(),
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            infos: count(Severity::Info),
            sources_failed: self.fleet.sources.iter().filter(|s| !s.is_ok()).count(),
            ok_instances: verdicts.iter().filter(|v| **v == Verdict::Ok).count(),
            unverified_instances: verdicts
                .iter()
                .filter(|v| matches!(v, Verdict::Unverified(_)))
                .count(),
            not_read,
        }
    }

    /// The exit code: 2 when a source failed or an instance is unverified, else 1 when a
    /// finding reaches `fail_on`, else 0. An unverified instance always comes from a
    /// source that failed; it is named here so that no change to the first rule can let
    /// an unread source exit 0.
    pub fn exit_code(&self, fail_on: Severity) -> i32 {
        if self.fleet.sources.iter().any(|s| !s.is_ok())
            || self
                .verdicts()
                .iter()
                .any(|v| matches!(v, Verdict::Unverified(_)))
        {
            2
        } else if self.findings.iter().any(|f| f.severity >= fail_on) {
            1
        } else {
            0
        }
    }

    /// The sources that were read, in display order (columns of the table).
    pub fn source_kinds(&self) -> Vec<SourceKind> {
        self.fleet.configured()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Observation, SourceOutput, SourceReport};

    /// pg-a-1 and pg-a-2 in the target files; Consul down.
    fn consul_down() -> CheckResult {
        let t = |seq: u32| {
            Observation::test(SourceKind::Targets, "pg-a")
                .seq(seq)
                .instance(&format!("pg-a-{seq}"))
                .role(if seq == 1 { "primary" } else { "replica" })
                .ip(&format!("10.0.0.{seq}"))
        };
        let mut down = SourceReport::new(SourceKind::Consul, "http://127.0.0.1:1");
        down.error("cannot reach Consul");
        CheckResult::new(
            Fleet::build(vec![
                SourceOutput::new(down, Vec::new()),
                SourceOutput::test(SourceKind::Targets, vec![t(1), t(2)]),
            ]),
            Vec::new(),
        )
    }

    #[test]
    fn instances_nobody_could_compare_are_counted_unverified_never_ok() {
        let r = consul_down();
        let s = r.summary();
        assert_eq!(
            (s.ok_instances, s.drifting_instances, s.unverified_instances),
            (0, 0, 2)
        );
        assert_eq!(s.not_read, [SourceKind::Consul]);
        assert_eq!(r.exit_code(Severity::Info), 2);
    }

    #[test]
    fn every_output_says_not_read_and_unverified() {
        let r = consul_down();
        let table = r.render(Format::Table);
        let row = table
            .lines()
            .find(|l| l.contains("pg-a-1 "))
            .unwrap_or_default();
        assert!(row.contains("not read"), "{table}");
        assert!(!row.contains("absent"), "{table}");
        assert!(row.ends_with("unverified: consul not read"), "{table}");
        assert!(
            table.contains("(0 drifting, 2 unverified: consul not read)"),
            "{table}"
        );
        let doc: serde_json::Value =
            serde_json::from_str(&r.render(Format::Json)).unwrap_or_default();
        assert_eq!(doc["instances"][0]["coverage"]["consul"], "not-read");
        assert_eq!(doc["instances"][0]["coverage"]["targets"], "record");
        assert_eq!(doc["instances"][0]["verdict"], "unverified");
        assert_eq!(doc["summary"]["unverified_instances"], 2);
        let metrics = r.render(Format::Prometheus);
        assert!(
            metrics.contains("roster_instances{verdict=\"ok\"} 0\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("roster_instances{verdict=\"unverified\"} 2\n"),
            "{metrics}"
        );
        assert!(
            metrics.contains("roster_source_unread_instances{source=\"consul\"} 2\n"),
            "{metrics}"
        );
    }
}
