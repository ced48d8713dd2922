//! The on-call question, "does every registration follow the live roles?", answered in
//! one place for `roster check --live --cluster`, the failover view and the tree, and who
//! each place names primary, for the cluster row, its copy and the JSON.

use super::live_role;
use crate::fleet::{Cluster, Fleet, Instance};
use crate::identity::Role;
use crate::observation::{SourceKind, SourceReport};
use serde::Serialize;

/// The places that must name the live primary: what routing and monitoring read. The
/// inventory is a declaration, judged by its own findings (`role-mismatch`, info-level
/// `live-role-mismatch`), so a stale `pigsty.yml` does not hold the answer back.
pub const REGISTRATIONS: [SourceKind; 2] = [SourceKind::Consul, SourceKind::Targets];

/// Whether every registration of a cluster follows its live roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reasons", rename_all = "lowercase")]
pub enum Follows {
    /// Exactly one live primary, and every registration read names exactly it as primary.
    Yes,
    /// Some registration names another primary, none, or more than one, or the cluster
    /// has no single live primary; the reasons say which.
    No(Vec<String>),
    /// Nothing shows a registration is wrong, but something needed for a yes is missing
    /// (no live answer, a place not read); never a yes.
    Unknown(Vec<String>),
}

impl Follows {
    /// `yes`, `no` or `unknown`.
    pub fn word(&self) -> &'static str {
        match self {
            Follows::Yes => "yes",
            Follows::No(_) => "no",
            Follows::Unknown(_) => "unknown",
        }
    }

    /// Why it is not a yes (empty for a yes).
    pub fn reasons(&self) -> &[String] {
        match self {
            Follows::Yes => &[],
            Follows::No(r) | Follows::Unknown(r) => r,
        }
    }

    /// True only for a yes.
    pub fn is_yes(&self) -> bool {
        *self == Follows::Yes
    }
}

/// Answers the on-call question for one cluster of a fleet (the fleet's source reports
/// say which places were read and how).
pub fn follows(fleet: &Fleet, cluster: &Cluster) -> Follows {
    let mut no = Vec::new();
    let mut unknown = Vec::new();
    let Some(live_report) = fleet.source(SourceKind::Live) else {
        return Follows::Unknown(vec!["live roles not read (--live)".into()]);
    };
    let truth = live_truth(live_report, cluster, &mut no, &mut unknown);
    let places: Vec<SourceKind> = REGISTRATIONS
        .into_iter()
        .filter(|k| fleet.source(*k).is_some())
        .collect();
    if places.is_empty() {
        unknown.push("no registration read (neither Consul nor target files)".into());
    }
    for kind in places {
        let Some(report) = fleet.source(kind) else {
            continue;
        };
        if let Some(why) = not_read(report) {
            unknown.push(why);
            if report.failed_entirely() {
                continue;
            }
        }
        let Some(named) = named_primaries(cluster, kind) else {
            // Read, and silent about this cluster's roles: nothing here to follow.
            continue;
        };
        let Some(primary) = truth else { continue };
        if let Some(why) = place_reason(kind, &named, primary) {
            no.push(why);
        }
    }
    if !no.is_empty() {
        Follows::No(no)
    } else if !unknown.is_empty() || truth.is_none() {
        Follows::Unknown(unknown)
    } else {
        Follows::Yes
    }
}

/// The one live primary of the cluster, or why there is none.
fn live_truth<'a>(
    report: &SourceReport,
    cluster: &'a Cluster,
    no: &mut Vec<String>,
    unknown: &mut Vec<String>,
) -> Option<&'a str> {
    let primaries: Vec<&str> = cluster
        .instances
        .iter()
        .filter(|i| live_role(i).is_some_and(Role::is_primary))
        .map(|i| i.name.as_str())
        .collect();
    let silent: Vec<&str> = cluster
        .instances
        .iter()
        .filter(|i| live_role(i).is_none())
        .map(|i| i.name.as_str())
        .collect();
    match primaries.as_slice() {
        [one] => Some(one),
        [] if !silent.is_empty() => {
            let mut why = format!("no live answer from {}", silent.join(", "));
            if !report.is_ok()
                && let Some(e) = report.errors.first()
            {
                why.push_str(&format!(" ({})", first_line(e)));
            }
            unknown.push(why);
            None
        }
        [] => {
            no.push(format!("no member of {} is primary (live)", cluster.name));
            None
        }
        many => {
            no.push(format!(
                "split brain: {} are all primary (live)",
                many.join(", ")
            ));
            None
        }
    }
}

/// Why a place's claims cannot count as current, if they cannot.
fn not_read(report: &SourceReport) -> Option<String> {
    let first = report.errors.first().map(|e| first_line(e));
    let kind = report.kind;
    if report.failed_entirely() {
        return Some(format!(
            "{kind} not read ({})",
            first.unwrap_or_else(|| "no answer".into())
        ));
    }
    if report.stale {
        return Some(format!("{kind} is stale: its latest read failed"));
    }
    if !report.is_ok() {
        return Some(format!(
            "{kind} read only in part ({})",
            first.unwrap_or_default()
        ));
    }
    None
}

/// The instances a place names primary in a cluster; `None` when it states no role for
/// any of them.
fn named_primaries(cluster: &Cluster, kind: SourceKind) -> Option<Vec<String>> {
    let states_roles = cluster
        .instances
        .iter()
        .any(|i| i.role_view(kind).effective().is_some());
    states_roles.then(|| {
        cluster
            .primaries(kind)
            .iter()
            .map(|i| i.name.clone())
            .collect()
    })
}

/// Why a place that names `named` does not follow the live `primary`; `None` when it does.
fn place_reason(kind: SourceKind, named: &[String], primary: &str) -> Option<String> {
    let others: Vec<&str> = named
        .iter()
        .map(String::as_str)
        .filter(|n| *n != primary)
        .collect();
    let has = named.len() > others.len();
    match (has, others.is_empty()) {
        (true, true) => None,
        (true, false) => Some(format!(
            "{kind} also names {} primary (live: {primary} only)",
            others.join(", ")
        )),
        (false, true) => Some(format!("{kind} names no primary (live: {primary})")),
        (false, false) => Some(format!(
            "{kind} names {} primary, live says {primary}",
            others.join(", ")
        )),
    }
}

/// Whether one place's role for one member agrees with its live role: `None` when either
/// is not known (no live answer, or the place states no role for it).
pub fn member_follows(inst: &Instance, kind: SourceKind) -> Option<bool> {
    let live = live_role(inst)?;
    let claimed = inst.role_view(kind).effective()?.clone();
    if claimed.is_unknown() {
        return Some(false);
    }
    // The database only knows primary or standby: offline and delayed members are
    // standbys too, so only primary-ness is compared.
    Some(claimed.is_primary() == live.is_primary())
}

/// Who each place read names primary in one cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Primaries {
    /// One entry per place read, in display order (Consul, targets, inventory, live):
    /// the instances it names primary, or `None` when it cannot say (it failed, states no
    /// role for this cluster, or no member answered the live probe).
    pub places: Vec<(SourceKind, Option<Vec<String>>)>,
}

impl Primaries {
    /// The one instance every place that can say names, and names alone.
    pub fn agreed(&self) -> Option<&str> {
        let mut known = self.places.iter().filter_map(|(_, n)| n.as_deref());
        let first = known.next()?;
        let [one] = first else { return None };
        known.all(|n| n == first).then_some(one.as_str())
    }

    /// True when the places that can say do not all name the same single primary (or
    /// all name the same two).
    pub fn disputed(&self) -> bool {
        let mut known = self.places.iter().filter_map(|(_, n)| n.as_deref());
        let Some(first) = known.next() else {
            return false;
        };
        first.len() > 1 || known.any(|n| n != first)
    }

    /// True when some place can say who is primary (even if it says nobody is).
    pub fn known(&self) -> bool {
        self.places.iter().any(|(_, n)| n.is_some())
    }

    /// What one place says, when it was read.
    pub fn of(&self, kind: SourceKind) -> Option<&Option<Vec<String>>> {
        self.places.iter().find(|(k, _)| *k == kind).map(|(_, n)| n)
    }

    /// The one live primary, when the live source names exactly one.
    pub fn live(&self) -> Option<&str> {
        match self.of(SourceKind::Live)? {
            Some(names) => match names.as_slice() {
                [one] => Some(one.as_str()),
                _ => None,
            },
            None => None,
        }
    }

    /// Each candidate (`None`: no primary at all) with the places that name it: the live
    /// source's first, then in the order places name them.
    pub fn candidates(&self) -> Vec<(Option<&str>, Vec<SourceKind>)> {
        let mut out: Vec<(Option<&str>, Vec<SourceKind>)> = Vec::new();
        for (kind, named) in &self.places {
            let Some(named) = named else { continue };
            let names: Vec<Option<&str>> = if named.is_empty() {
                vec![None]
            } else {
                named.iter().map(|n| Some(n.as_str())).collect()
            };
            for name in names {
                match out.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, kinds)) => kinds.push(*kind),
                    None => out.push((name, vec![*kind])),
                }
            }
        }
        out.sort_by_key(|(_, kinds)| !kinds.contains(&SourceKind::Live));
        out
    }
}

/// Who each place read names primary in `cluster`.
pub fn primaries(fleet: &Fleet, cluster: &Cluster) -> Primaries {
    let places = SourceKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let report = fleet.source(kind)?;
            let named = if report.failed_entirely() {
                None
            } else if kind == SourceKind::Live {
                let answered = cluster.instances.iter().any(|i| live_role(i).is_some());
                answered.then(|| {
                    cluster
                        .instances
                        .iter()
                        .filter(|i| live_role(i).is_some_and(Role::is_primary))
                        .map(|i| i.name.clone())
                        .collect()
                })
            } else {
                named_primaries(cluster, kind)
            };
            Some((kind, named))
        })
        .collect();
    Primaries { places }
}

fn first_line(s: &str) -> String {
    const MAX: usize = 300;
    let line = s.lines().next().unwrap_or("").trim();
    if line.chars().count() > MAX {
        line.chars().take(MAX - 1).chain(['…']).collect()
    } else {
        line.to_string()
    }
}

#[cfg(test)]
#[path = "follows_tests.rs"]
mod tests;
