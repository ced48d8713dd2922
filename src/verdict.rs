//! The verdict on one instance: clean, drifting, or unverified because a configured
//! source that should have been compared was not read for it.
//!
//! `drift` says where the sources disagree; it cannot say that an instance is clean,
//! since a source that was not read disagrees with nothing. This module does: an
//! instance is `ok` only when every configured source was read for it (a fresh record or
//! a real absence) and nothing disagrees.

use crate::drift::{Finding, Severity};
use crate::fleet::{Fleet, Instance};
use crate::observation::{ReadState, SourceKind};
use std::collections::HashMap;

/// A configured source that says nothing current about an instance, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Unread {
    /// The source.
    pub source: SourceKind,
    /// How its latest read went (never `Complete`).
    pub read: ReadState,
}

/// What roster can say about one instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every configured source was read for it and nothing disagrees.
    Ok,
    /// It has findings; the worst is this severe.
    Drift(Severity),
    /// No finding, but these configured sources were not read for it: not known clean.
    Unverified(Vec<Unread>),
}

impl Verdict {
    /// The code used in JSON and metrics: `ok`, `drift` or `unverified`.
    pub fn code(&self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Drift(_) => "drift",
            Verdict::Unverified(_) => "unverified",
        }
    }
}

/// The configured sources whose word on the instance is not current: no record and not
/// read completely, or a record kept from a stale read. In display order.
pub fn unread(fleet: &Fleet, inst: &Instance) -> Vec<Unread> {
    fleet
        .configured()
        .into_iter()
        .filter(|&k| !fleet.coverage(inst, k).verified())
        .map(|k| Unread {
            source: k,
            read: fleet.read_state(k),
        })
        .collect()
}

/// The verdict on one instance, given its own findings (not its cluster's).
///
/// Drift wins: a disagreement found is a fact whatever else was not read.
pub fn verdict<'a>(
    fleet: &Fleet,
    inst: &Instance,
    findings: impl IntoIterator<Item = &'a Finding>,
) -> Verdict {
    if let Some(worst) = findings.into_iter().map(|f| f.severity).max() {
        return Verdict::Drift(worst);
    }
    let unread = unread(fleet, inst);
    if unread.is_empty() {
        Verdict::Ok
    } else {
        Verdict::Unverified(unread)
    }
}

/// Every instance's verdict, in [`Fleet::instances`] order.
pub fn verdicts(fleet: &Fleet, findings: &[Finding]) -> Vec<Verdict> {
    // Grouped once: a scan of every finding per instance is quadratic on a drifting fleet.
    let mut own: HashMap<(Option<&str>, &str, &str), Vec<&Finding>> = HashMap::new();
    for f in findings {
        if let Some(i) = &f.instance {
            own.entry((f.datacenter.as_deref(), f.cluster.as_str(), i.as_str()))
                .or_default()
                .push(f);
        }
    }
    let judges = Judges::new(fleet);
    fleet
        .clusters
        .iter()
        .flat_map(|c| {
            let dc = c.datacenter.as_deref();
            let judge = judges.of(fleet, dc);
            let own = &own;
            c.instances.iter().map(move |i| {
                let mine = own
                    .get(&(dc, i.cluster.as_str(), i.name.as_str()))
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                verdict(judge, i, mine.iter().copied())
            })
        })
        .collect()
}

/// The reads each datacenter's instances are judged by, when several are read: its own
/// and the shared ones. Whether a source proves an instance absent depends on which
/// datacenter's read it was: one datacenter's complete Consul says nothing of another's.
#[derive(Default)]
pub struct Judges {
    per_datacenter: Vec<(Option<String>, Fleet)>,
}

impl Judges {
    /// The reads of every datacenter of `fleet` (none needed with one datacenter).
    pub fn new(fleet: &Fleet) -> Judges {
        if fleet.datacenters.is_empty() {
            return Judges::default();
        }
        let mut per_datacenter: Vec<(Option<String>, Fleet)> = Vec::new();
        for c in &fleet.clusters {
            if !per_datacenter.iter().any(|(d, _)| *d == c.datacenter) {
                let reads = reads_for(fleet, c.datacenter.as_deref());
                per_datacenter.push((c.datacenter.clone(), reads));
            }
        }
        Judges { per_datacenter }
    }

    /// What judges the instances of a cluster in `dc` (`fleet` itself with one datacenter).
    pub fn of<'a>(&'a self, fleet: &'a Fleet, dc: Option<&str>) -> &'a Fleet {
        self.per_datacenter
            .iter()
            .find(|(d, _)| d.as_deref() == dc)
            .map_or(fleet, |(_, f)| f)
    }
}

/// The reads that speak for the clusters of one datacenter of several: its own and the
/// shared ones. The clusters no datacenter could be named for are judged by every read,
/// the failed ones first, so that a datacenter not read leaves them unverified rather
/// than clean.
pub fn reads_for(fleet: &Fleet, dc: Option<&str>) -> Fleet {
    let mut sources: Vec<crate::observation::SourceReport> = fleet
        .sources
        .iter()
        .filter(|r| dc.is_none() || r.datacenter.is_none() || r.datacenter.as_deref() == dc)
        .cloned()
        .collect();
    // The first read of a kind is the one asked: the least trusted wins.
    sources.sort_by_key(|r| (r.kind, r.read_state().distrust_rank()));
    Fleet {
        sources,
        ..Fleet::default()
    }
}

/// The sources not read for some unverified instance, each with why, in display order.
pub fn unread_of(verdicts: &[Verdict]) -> Vec<Unread> {
    let mut all: Vec<Unread> = verdicts
        .iter()
        .flat_map(|v| match v {
            Verdict::Unverified(u) => u.as_slice(),
            _ => &[],
        })
        .copied()
        .collect();
    all.sort();
    all.dedup();
    all
}

/// Words for people, sources grouped by why: `consul not read`,
/// `consul, inventory not read; targets stale`.
pub fn describe(unread: &[Unread]) -> String {
    let mut groups: Vec<(ReadState, Vec<&str>)> = Vec::new();
    for u in unread {
        match groups.iter_mut().find(|(r, _)| *r == u.read) {
            Some((_, names)) => {
                if !names.contains(&u.source.name()) {
                    names.push(u.source.name());
                }
            }
            None => groups.push((u.read, vec![u.source.name()])),
        }
    }
    groups
        .iter()
        .map(|(read, names)| format!("{} {}", names.join(", "), read.label()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Coverage;
    use crate::observation::{Observation, SourceOutput};

    /// pg-a-1 in Consul and the target files, pg-a-2 in the target files only.
    fn outputs() -> Vec<SourceOutput> {
        let t = |seq: u32, role: &str| {
            Observation::test(SourceKind::Targets, "pg-a")
                .seq(seq)
                .instance(&format!("pg-a-{seq}"))
                .role(role)
                .ip(&format!("10.0.0.{seq}"))
        };
        vec![
            SourceOutput::test(
                SourceKind::Consul,
                vec![
                    Observation::test(SourceKind::Consul, "pg-a")
                        .seq(1)
                        .role("primary")
                        .ip("10.0.0.1"),
                ],
            ),
            SourceOutput::test(SourceKind::Targets, vec![t(1, "primary"), t(2, "replica")]),
        ]
    }

    /// The fleet with Consul's read changed by `change`.
    fn with_consul(change: impl Fn(&mut SourceOutput)) -> Fleet {
        let mut outs = outputs();
        change(&mut outs[0]);
        Fleet::build(outs)
    }

    fn named<'a>(fleet: &'a Fleet, name: &str) -> &'a Instance {
        fleet
            .instances()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
    }

    fn cover(fleet: &Fleet, name: &str, kind: SourceKind) -> Coverage {
        fleet.coverage(named(fleet, name), kind)
    }

    fn verdict_of(fleet: &Fleet, name: &str) -> Verdict {
        let findings = crate::drift::check(fleet);
        let inst = named(fleet, name);
        let own = findings
            .iter()
            .filter(|f| f.instance.as_deref() == Some(inst.name.as_str()));
        verdict(fleet, inst, own)
    }

    fn consul(read: ReadState) -> Vec<Unread> {
        vec![Unread {
            source: SourceKind::Consul,
            read,
        }]
    }

    #[test]
    fn a_fresh_complete_read_gives_records_and_real_absences() {
        let fleet = Fleet::build(outputs());
        assert_eq!(
            cover(&fleet, "pg-a-1", SourceKind::Consul),
            Coverage::Record { stale: false }
        );
        assert_eq!(
            cover(&fleet, "pg-a-2", SourceKind::Consul),
            Coverage::Absent
        );
        assert_eq!(verdict_of(&fleet, "pg-a-1"), Verdict::Ok);
        // The absence is real, so it is drift.
        assert_eq!(
            verdict_of(&fleet, "pg-a-2"),
            Verdict::Drift(Severity::Warning)
        );
    }

    #[test]
    fn a_failed_read_leaves_every_instance_unverified_and_none_missing() {
        let fleet = with_consul(|c| {
            c.observations.clear();
            c.report.observations = 0;
            c.report.error("cannot reach Consul");
        });
        for name in ["pg-a-1", "pg-a-2"] {
            assert_eq!(
                cover(&fleet, name, SourceKind::Consul),
                Coverage::NotRead(ReadState::Failed)
            );
            assert_eq!(
                verdict_of(&fleet, name),
                Verdict::Unverified(consul(ReadState::Failed))
            );
        }
        assert!(crate::drift::check(&fleet).is_empty());
    }

    #[test]
    fn a_partial_read_keeps_its_records_but_proves_no_absence() {
        let fleet = with_consul(|c| c.report.error("GET /v1/health/service/pg-a-replica: 500"));
        assert_eq!(fleet.read_state(SourceKind::Consul), ReadState::Partial);
        assert_eq!(
            cover(&fleet, "pg-a-1", SourceKind::Consul),
            Coverage::Record { stale: false }
        );
        assert_eq!(verdict_of(&fleet, "pg-a-1"), Verdict::Ok);
        assert_eq!(
            cover(&fleet, "pg-a-2", SourceKind::Consul),
            Coverage::NotRead(ReadState::Partial)
        );
        assert_eq!(
            verdict_of(&fleet, "pg-a-2"),
            Verdict::Unverified(consul(ReadState::Partial))
        );
        assert!(
            !crate::drift::check(&fleet)
                .iter()
                .any(|f| f.kind == crate::drift::Kind::MissingInConsul)
        );
    }

    #[test]
    fn a_stale_read_shows_its_records_as_stale_and_verifies_nothing() {
        let fleet = with_consul(|c| {
            c.report.error("cannot reach Consul");
            c.report.stale = true;
        });
        assert_eq!(
            cover(&fleet, "pg-a-1", SourceKind::Consul),
            Coverage::Record { stale: true }
        );
        assert_eq!(
            cover(&fleet, "pg-a-2", SourceKind::Consul),
            Coverage::NotRead(ReadState::Stale)
        );
        for name in ["pg-a-1", "pg-a-2"] {
            assert_eq!(
                verdict_of(&fleet, name),
                Verdict::Unverified(consul(ReadState::Stale))
            );
        }
    }

    #[test]
    fn a_source_not_configured_is_not_read_and_not_part_of_a_verdict() {
        let fleet = Fleet::build(outputs());
        let inst = named(&fleet, "pg-a-1");
        assert_eq!(
            fleet.coverage(inst, SourceKind::Inventory),
            Coverage::NotRead(ReadState::NotConfigured)
        );
        assert_eq!(
            fleet.configured(),
            [SourceKind::Consul, SourceKind::Targets]
        );
        assert!(unread(&fleet, inst).is_empty());
    }

    #[test]
    fn drift_wins_over_unread_sources() {
        // Targets disagree with Consul's stale record: a finding, so drift, not unverified.
        let mut outs = outputs();
        outs[0].report.stale = true;
        outs[0].report.error("cannot reach Consul");
        outs[1] = SourceOutput::test(
            SourceKind::Targets,
            vec![
                Observation::test(SourceKind::Targets, "pg-a")
                    .seq(1)
                    .instance("pg-a-1")
                    .role("replica")
                    .ip("10.0.0.1"),
            ],
        );
        let fleet = Fleet::build(outs);
        assert_eq!(
            verdict_of(&fleet, "pg-a-1"),
            Verdict::Drift(Severity::Error)
        );
    }

    #[test]
    fn verdicts_follow_fleet_order() {
        let fleet = with_consul(|c| c.report.error("one service failed"));
        let findings = crate::drift::check(&fleet);
        let all = verdicts(&fleet, &findings);
        assert_eq!(
            all,
            [Verdict::Ok, Verdict::Unverified(consul(ReadState::Partial))]
        );
    }

    #[test]
    fn descriptions_group_sources_by_why() {
        let u = |source, read| Unread { source, read };
        assert_eq!(
            describe(&[
                u(SourceKind::Consul, ReadState::Failed),
                u(SourceKind::Targets, ReadState::Stale),
                u(SourceKind::Inventory, ReadState::Failed),
            ]),
            "consul, inventory not read; targets stale"
        );
        assert_eq!(describe(&[]), "");
    }
}
