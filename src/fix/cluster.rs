//! Cluster plans: a role change is a cluster event. A plan for one member whose role
//! moves also moves the other members whose role must change in the same place (the new
//! primary and the demoted one together), refuses during a split-brain and on stale data,
//! demotes a dead old primary once the live primary is known, and is simulated before it
//! is shown.

use super::error::FixError;
use super::plan::{Desired, Destination, FixContext, Member, Plan, check_pair, write_steps};
use super::simulate::{Simulator, short};
use crate::drift::{Finding, Kind, live_role};
use crate::fleet::{Cluster, Fleet, Instance, InstanceId};
use crate::identity::{Role, instance_name};
use crate::observation::SourceKind;
use serde::Serialize;

/// What makes a plan dangerous enough to need a second, explicit confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HazardKind {
    /// The simulation says the writes create an error-level finding.
    CreatesError,
    /// More than one member is a live primary.
    SplitBrain,
    /// The writes could not be simulated, so what they create is unknown.
    NotSimulated,
}

/// A risk of a plan, in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hazard {
    /// What kind of risk.
    pub kind: HazardKind,
    /// What it is, for a human.
    pub message: String,
}

/// How a cluster plan is made, beyond its destination and authority.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// Plan only the members asked for, even when their role change leaves others behind.
    pub member_only: bool,
    /// The role a primary registration becomes when the live primary is another member.
    pub demote_to: Role,
    /// Plan during a split-brain instead of refusing (the plan then carries a hazard).
    pub override_split_brain: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            member_only: false,
            demote_to: Role::Replica,
            override_split_brain: false,
        }
    }
}

/// The members of a cluster that are a live primary right now.
pub fn live_primaries(cluster: &Cluster) -> Vec<&Instance> {
    cluster
        .instances
        .iter()
        .filter(|i| live_role(i).is_some_and(Role::is_primary))
        .collect()
}

/// The sources a plan for `destination` rests on: the destination's, and the named
/// authority or the ones it may default to.
pub fn sources_for(destination: Destination, authority: Option<SourceKind>) -> Vec<SourceKind> {
    let mut kinds = vec![destination.source()];
    match authority {
        Some(a) => kinds.push(a),
        None => kinds.extend([SourceKind::Live, SourceKind::Consul]),
    }
    kinds.dedup();
    kinds
}

/// Why the fleet's data for these sources must not drive a write (stale or unread), if it
/// must not.
pub fn stale_reason(fleet: &Fleet, kinds: &[SourceKind]) -> Option<String> {
    let reasons: Vec<String> = kinds
        .iter()
        .filter_map(|k| {
            let r = fleet.source(*k)?;
            if r.stale {
                Some(format!(
                    "{k}'s latest read failed; what is shown is from an earlier read"
                ))
            } else if r.failed_entirely() {
                Some(format!(
                    "{k} could not be read ({})",
                    r.errors.first().map_or("no answer", String::as_str)
                ))
            } else {
                None
            }
        })
        .collect();
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// The authority a cluster plan believes when none is named: live, then Consul, never
/// the destination itself.
fn default_authority(
    focus: &[&Instance],
    destination: Destination,
) -> Result<SourceKind, FixError> {
    for kind in [SourceKind::Live, SourceKind::Consul] {
        if kind != destination.source() && focus.iter().any(|i| i.seen_by(kind)) {
            return Ok(kind);
        }
    }
    let names: Vec<&str> = focus.iter().map(|i| i.name.as_str()).collect();
    Err(FixError::Refused(format!(
        "{}: nothing more trustworthy than {} knows this instance; name the authority (--authority targets|inventory)",
        names.join(", "),
        destination.name()
    )))
}

/// True when the destination gives `inst` a role other than the one `desired` wants.
fn role_moves(inst: &Instance, destination: Destination, desired: &Desired) -> bool {
    let Some(want) = &desired.role else {
        return false;
    };
    inst.by_source(destination.source())
        .filter_map(|o| o.role.as_ref())
        .any(|c| !c.role.is_unknown() && &c.role != want)
}

/// The identity `authority` gives `inst`, and a note when the role is inferred.
///
/// The live source knows only primary or not: a standby keeps the non-primary word the
/// destination has (offline stays offline), a primary registration of a standby becomes
/// `demote_to`. A member live cannot ask is not primary when another member is the
/// cluster's one live primary.
fn desired_for(
    inst: &Instance,
    authority: SourceKind,
    destination: Destination,
    live_primary: Option<&str>,
    opts: &PlanOptions,
) -> (Option<Desired>, Option<String>) {
    let base = Desired::from(inst, authority);
    let seen = base.is_some();
    if authority != SourceKind::Live {
        return (base, None);
    }
    let have = inst
        .role_view(destination.source())
        .effective()
        .filter(|r| !r.is_unknown())
        .cloned();
    let standby_word = |have: Option<Role>| match have {
        Some(r) if !r.is_primary() => r,
        _ => opts.demote_to.clone(),
    };
    let (role, note) = match live_role(inst) {
        Some(r) if r.is_primary() => (Some(Role::Primary), None),
        Some(_) => (Some(standby_word(have)), None),
        None => match live_primary {
            Some(p) if p != inst.name => {
                let note = have.as_ref().is_some_and(Role::is_primary).then(|| {
                    format!(
                        "{} cannot be asked its role and {p} is the cluster's one live primary: {} is not primary",
                        inst.name, inst.name
                    )
                });
                (Some(standby_word(have)), note)
            }
            _ => (None, None),
        },
    };
    let desired = base.unwrap_or_else(|| {
        let seq = match inst.id {
            InstanceId::Seq(s) => Some(s),
            _ => None,
        };
        Desired {
            cluster: inst.cluster.clone(),
            seq,
            instance: seq.map_or_else(|| inst.name.clone(), |s| instance_name(&inst.cluster, s)),
            role: None,
            ip: None,
        }
    });
    (
        (seen || role.is_some()).then_some(Desired { role, ..desired }),
        note,
    )
}

/// Findings the authority has of its own about a member: the role it gives is a guess.
fn own_findings(before: &[Finding], authority: SourceKind, instance: &str) -> Vec<String> {
    let mut kinds: Vec<String> = before
        .iter()
        .filter(|f| f.instance.as_deref() == Some(instance))
        .filter(|f| match f.kind {
            Kind::ServiceRoleSplit => authority == SourceKind::Consul,
            Kind::IdentityCollision => f.sources.contains_key(authority.name()),
            _ => false,
        })
        .map(|f| f.kind.code().to_string())
        .collect();
    kinds.dedup();
    kinds
}

/// Plans the writes that make `destination` agree with `authority` for the members named
/// in `only` (every member when `None`) of `cluster`, and, when a role moves, for the other
/// members whose role must change in the same place; then simulates the plan.
pub async fn plan_cluster(
    fleet: &Fleet,
    cluster: &str,
    only: Option<&[String]>,
    destination: Destination,
    authority: Option<SourceKind>,
    ctx: &FixContext,
    opts: &PlanOptions,
) -> Result<Plan, FixError> {
    let c = fleet
        .clusters
        .iter()
        .find(|c| c.name == cluster)
        .ok_or_else(|| FixError::Refused(format!("no cluster {cluster:?} in the latest read")))?;
    let focus: Vec<&Instance> = c
        .instances
        .iter()
        .filter(|i| only.is_none_or(|names| names.contains(&i.name)))
        .collect();
    if focus.is_empty() {
        return Err(FixError::Refused(format!(
            "no such member of {cluster} in the latest read"
        )));
    }
    let authority = match authority {
        Some(a) => a,
        None => default_authority(&focus, destination)?,
    };
    check_pair(authority, destination)?;
    if let Some(why) = stale_reason(fleet, &[destination.source(), authority]) {
        return Err(FixError::Refused(format!(
            "not planning on stale data: {why}; read again (R in the UI) and plan again"
        )));
    }
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let mut hazards = Vec::new();
    for kind in [destination.source(), authority] {
        if let Some(r) = fleet.source(kind)
            && !r.is_ok()
        {
            let line = format!(
                "{kind} was read with errors ({}): what it could not read is not planned",
                r.errors.first().map_or("", String::as_str)
            );
            if !warnings.contains(&line) {
                warnings.push(line);
            }
        }
    }
    let primaries = live_primaries(c);
    if primaries.len() > 1 {
        let names: Vec<&str> = primaries.iter().map(|i| i.name.as_str()).collect();
        let risk = format!(
            "split-brain in {cluster}: {} are all primary right now (live); fence the old primary first, or the registrations send clients to whichever one this plan names",
            names.join(", ")
        );
        if !opts.override_split_brain {
            return Err(FixError::Refused(format!(
                "{risk}; nothing is re-registered until one live primary remains (--override-split-brain plans anyway)"
            )));
        }
        hazards.push(Hazard {
            kind: HazardKind::SplitBrain,
            message: risk,
        });
    }
    let live_primary = match primaries.as_slice() {
        [one] => Some(one.name.as_str()),
        _ => None,
    };
    let sim = Simulator::new(fleet, cluster);

    let mut members: Vec<Member<'_>> = Vec::new();
    let mut silent = Vec::new();
    for inst in &focus {
        let (desired, note) = desired_for(inst, authority, destination, live_primary, opts);
        notes.extend(note);
        match desired {
            Some(desired) => members.push(Member {
                inst,
                desired,
                role_only: false,
            }),
            None => silent.push(inst.name.as_str()),
        }
    }
    if members.is_empty() {
        return Err(FixError::Refused(format!(
            "{authority} says nothing about {}",
            silent.join(", ")
        )));
    }
    for name in silent {
        warnings.push(format!(
            "{authority} says nothing about {name}: not planned"
        ));
    }
    let event = members
        .iter()
        .any(|m| role_moves(m.inst, destination, &m.desired));
    if event {
        let left: Vec<&Instance> = c
            .instances
            .iter()
            .filter(|i| !focus.iter().any(|f| f.name == i.name))
            .collect();
        for inst in left {
            let (desired, note) = desired_for(inst, authority, destination, live_primary, opts);
            let Some(desired) = desired.filter(|d| role_moves(inst, destination, d)) else {
                continue;
            };
            if opts.member_only {
                warnings.push(format!(
                    "only the named members are planned: {} stays {} in {}, though {} says {}",
                    inst.name,
                    inst.role_view(destination.source())
                        .effective()
                        .map_or("-", Role::as_str),
                    destination.name(),
                    authority,
                    desired.role.as_ref().map_or("-", Role::as_str)
                ));
                continue;
            }
            notes.extend(note);
            members.push(Member {
                inst,
                desired,
                role_only: true,
            });
        }
    }
    for m in &members {
        let own = own_findings(sim.before(), authority, &m.inst.name);
        if !own.is_empty() {
            warnings.push(format!(
                "{authority} has findings of its own for {} ({}): the role it gives is a guess; read what the plan creates, or name another authority",
                m.inst.name,
                own.join(", ")
            ));
        }
    }
    let label = match only {
        None => cluster.to_string(),
        Some(_) => members[0].inst.name.clone(),
    };
    let mut plan = Plan::new(
        cluster,
        &label,
        authority,
        destination,
        members[0].desired.clone(),
    );
    write_steps(&members, ctx, &mut plan).await?;
    let moves: Vec<String> = plan
        .role_moves()
        .map(|m| {
            format!(
                "{} {} → {}",
                m.instance,
                m.role_before.as_ref().map_or("-", Role::as_str),
                m.desired.role.as_ref().map_or("-", Role::as_str)
            )
        })
        .collect();
    if moves.len() > 1 || members.iter().any(|m| m.role_only) {
        notes.insert(
            0,
            format!(
                "make {} follow the failover of {cluster} ({} has it): {}",
                destination.name(),
                authority,
                moves.join(", ")
            ),
        );
    }
    plan.notes.splice(0..0, notes);
    plan.warnings.splice(0..0, warnings);
    plan.hazards.extend(hazards);
    simulate(&sim, &mut plan);
    Ok(plan)
}

/// True when `place` gives `instance` a role the live roles say it does not have: the
/// database disagrees on primary-ness, or the member cannot be asked, another member is the
/// cluster's one live primary, and the place still calls this one primary.
fn behind_live(fleet: &Fleet, cluster: &str, instance: &str, place: &str) -> bool {
    let Some(c) = fleet.clusters.iter().find(|c| c.name == cluster) else {
        return false;
    };
    let Some(inst) = c.instances.iter().find(|i| i.name == instance) else {
        return false;
    };
    let Some(kind) = SourceKind::ALL.into_iter().find(|k| k.name() == place) else {
        return false;
    };
    let Some(claimed) = inst
        .role_view(kind)
        .effective()
        .filter(|r| !r.is_unknown())
        .cloned()
    else {
        return false;
    };
    match live_role(inst) {
        Some(live) => claimed.is_primary() != live.is_primary(),
        None => {
            let primaries = live_primaries(c);
            claimed.is_primary() && primaries.len() == 1 && primaries[0].name != inst.name
        }
    }
}

/// Why a created finding is no regression, if it is none: a role disagreement that only
/// appears because the destination now follows the live roles and another place it names
/// was already behind them (and stays so until it is fixed too).
fn explained(f: &Finding, plan: &Plan, before: &Fleet, after: &Fleet) -> Option<String> {
    let instance = f.instance.as_deref()?;
    if f.kind != Kind::RoleMismatch {
        return None;
    }
    let dest = plan.destination.source().name();
    if behind_live(after, &f.cluster, instance, dest) {
        return None;
    }
    let behind: Vec<&str> = f
        .sources
        .keys()
        .map(String::as_str)
        .filter(|k| *k != dest && behind_live(before, &f.cluster, instance, k))
        .collect();
    if behind.is_empty() {
        return None;
    }
    let (has, follows) = if behind.len() == 1 {
        ("has", "it follows")
    } else {
        ("have", "they follow")
    };
    Some(format!(
        "{} appears because {} still {has} a role the live roles do not give it; it goes once {follows} too",
        short(f),
        behind.join(" and "),
    ))
}

/// Runs the plan's writes on a copy of its cluster and records what they resolve and
/// create; every error-level finding created becomes a hazard, unless the live roles
/// explain it as another place still behind.
pub fn simulate(sim: &Simulator, plan: &mut Plan) {
    match sim.run(plan) {
        Ok((outcome, after)) => {
            for f in outcome.created_errors() {
                if let Some(why) = explained(f, plan, sim.fleet(), &after) {
                    plan.notes.push(why);
                    continue;
                }
                plan.hazards.push(Hazard {
                    kind: HazardKind::CreatesError,
                    message: format!("creates {} ({}): {}", short(f), f.severity, f.message),
                });
            }
            plan.outcome = Some(outcome);
        }
        Err(e) => plan.hazards.push(Hazard {
            kind: HazardKind::NotSimulated,
            message: format!("could not be simulated: {e}"),
        }),
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
