//! Plans are simulated: a plan's writes are applied to a copy of its cluster's part of
//! the fleet, `drift::check` runs on the copy, and the findings before and after are
//! compared, so that a plan says what it resolves and what it creates before anyone
//! confirms it.
//!
//! Each write becomes what the place's own reader would make of it: a target file's new
//! text is parsed by `source::targets`, a Consul definition goes through the reader rule
//! of `source::consul`, and a node command is taken to register the desired role the way
//! `pg-register` does.

use super::consul::{IdentityChange, reregister_body};
use super::plan::{Destination, Plan, Step};
use crate::consul::wire::{HealthCheck, HealthEntry, HealthNode, HealthService};
use crate::drift::{Finding, Severity, check};
use crate::fleet::Fleet;
use crate::observation::{
    ConsulOrigin, Observation, Origin, SourceKind, SourceOutput, SourceReport,
};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

/// What a plan's writes do to its cluster's findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Findings there now that the writes make go away.
    pub resolves: Vec<Finding>,
    /// Findings the writes bring that are not there now.
    pub creates: Vec<Finding>,
    /// Findings the writes leave in place.
    pub remains: Vec<Finding>,
}

impl Outcome {
    /// The created findings of error severity: what needs a second confirmation.
    pub fn created_errors(&self) -> impl Iterator<Item = &Finding> {
        self.creates
            .iter()
            .filter(|f| f.severity == Severity::Error)
    }
}

/// True when both findings say the same thing about the same place: kind, cluster,
/// instance and the places (sources) they name. Values may differ.
fn same_place(a: &Finding, b: &Finding) -> bool {
    a.kind == b.kind
        && a.cluster == b.cluster
        && a.instance == b.instance
        && a.sources.keys().eq(b.sources.keys())
}

/// Findings before and after compared. A finding is resolved when nothing at least as
/// severe is left in its place (an error that became a stale-inventory warning is
/// resolved, at its old severity), and created when nothing was in its place before: a
/// disagreement that only grew more severe (a registration put right, now at odds with
/// one still wrong) was there before.
pub fn compare(before: &[Finding], after: &[Finding]) -> Outcome {
    let mut out = Outcome::default();
    for f in before {
        if !after
            .iter()
            .any(|g| same_place(f, g) && g.severity >= f.severity)
        {
            out.resolves.push(f.clone());
        }
    }
    for f in after {
        if before.iter().any(|g| same_place(f, g)) {
            out.remains.push(f.clone());
        } else {
            out.creates.push(f.clone());
        }
    }
    out
}

/// A finding in a few words: `multiple-primaries in pg-test`, `role-mismatch pg-test-1`.
pub fn short(f: &Finding) -> String {
    match &f.instance {
        Some(i) => format!("{} {i}", f.kind),
        None => format!("{} in {}", f.kind, f.cluster),
    }
}

/// One cluster's part of a fleet, to which plans' writes are applied on a copy.
///
/// Only the cluster's observations are kept, with the other clusters' observations at
/// the same addresses (so a collision across clusters still shows); every source report
/// is kept as read, so an absence means what it meant in the whole fleet.
#[derive(Debug)]
pub struct Simulator {
    cluster: String,
    outputs: Vec<SourceOutput>,
    ips: BTreeSet<String>,
    fleet: Fleet,
    before: Vec<Finding>,
}

impl Simulator {
    /// The part of `fleet` that concerns `cluster`, and its findings now.
    pub fn new(fleet: &Fleet, cluster: &str) -> Simulator {
        let ips: BTreeSet<String> = fleet
            .clusters
            .iter()
            .filter(|c| c.name == cluster)
            .flat_map(|c| c.instances.iter())
            .flat_map(|i| i.observations.iter())
            .filter_map(|o| o.ip.clone())
            .collect();
        let mut by_source: BTreeMap<SourceKind, Vec<Arc<Observation>>> = BTreeMap::new();
        for inst in fleet.instances() {
            for o in &inst.observations {
                if o.cluster == cluster || o.ip.as_ref().is_some_and(|ip| ips.contains(ip)) {
                    by_source.entry(o.source).or_default().push(o.clone());
                }
            }
        }
        let mut outputs: Vec<SourceOutput> = fleet
            .sources
            .iter()
            .map(|r| SourceOutput {
                // The report as read: its count says whether the source said anything.
                report: r.clone(),
                observations: by_source.remove(&r.kind).unwrap_or_default(),
            })
            .collect();
        for (kind, observations) in by_source {
            outputs.push(SourceOutput::shared(
                SourceReport::new(kind, "as read"),
                observations,
            ));
        }
        let fleet = Fleet::build(outputs.clone());
        let before = of_cluster(check(&fleet), cluster);
        Simulator {
            cluster: cluster.to_string(),
            outputs,
            ips,
            fleet,
            before,
        }
    }

    /// The cluster's findings as read.
    pub fn before(&self) -> &[Finding] {
        &self.before
    }

    /// The cluster's part of the fleet as read.
    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// The cluster's findings after the plan's writes, compared with the ones now.
    pub fn outcome(&self, plan: &Plan) -> Result<Outcome, String> {
        self.run(plan).map(|(outcome, _)| outcome)
    }

    /// [`Simulator::outcome`], with the cluster's part of the fleet after the writes.
    pub fn run(&self, plan: &Plan) -> Result<(Outcome, Fleet), String> {
        let mut outputs = self.outputs.clone();
        match plan.destination {
            Destination::Targets => {
                for step in &plan.steps {
                    if let Step::TargetFile { file, new_text, .. } = step {
                        self.rewrite_file(&mut outputs, file, new_text)?;
                    }
                }
            }
            Destination::Consul => {
                for step in &plan.steps {
                    if let Step::ConsulRegister {
                        node,
                        service_id,
                        after,
                        ..
                    }
                    | Step::CatalogRegister {
                        node,
                        service_id,
                        after,
                        ..
                    } = step
                    {
                        reregister(&mut outputs, node, service_id, after);
                    }
                }
            }
            Destination::Command => self.run_commands(&mut outputs, plan),
        }
        let fleet = Fleet::build(outputs);
        let after = of_cluster(check(&fleet), &self.cluster);
        Ok((compare(&self.before, &after), fleet))
    }

    /// A target file's observations replaced by what its new text says.
    fn rewrite_file(
        &self,
        outputs: &mut [SourceOutput],
        file: &Path,
        text: &str,
    ) -> Result<(), String> {
        let parsed = crate::source::targets::parse_target_file(file, text)
            .map_err(|e| format!("the new text of {} does not read back: {e}", file.display()))?;
        let Some(out) = outputs
            .iter_mut()
            .find(|o| o.report.kind == SourceKind::Targets)
        else {
            return Ok(());
        };
        out.observations.retain(|o| match &o.origin {
            Origin::Targets(t) => t.file != file,
            _ => true,
        });
        out.observations
            .extend(parsed.into_iter().filter(|o| self.keeps(o)).map(Arc::new));
        Ok(())
    }

    /// The node command, taken to do what `pg-register <role>` does: every Consul service
    /// of the member re-registered with the desired role.
    fn run_commands(&self, outputs: &mut [SourceOutput], plan: &Plan) {
        for m in &plan.members {
            let Some(want) = &m.desired.role else {
                continue;
            };
            let Some(inst) = self
                .fleet
                .instances()
                .find(|i| i.cluster == plan.cluster && i.name == m.instance)
            else {
                continue;
            };
            for o in inst.by_source(SourceKind::Consul) {
                let (Origin::Consul(c), Some(claim)) = (&o.origin, &o.role) else {
                    continue;
                };
                if claim.role == *want || claim.role.is_unknown() {
                    continue;
                }
                let change = IdentityChange::role(claim.role.clone(), want.clone());
                // pg-register writes only primary and replica; anything else stays as it is.
                if let Ok(after) = reregister_body(&definition(c), &change) {
                    reregister(outputs, &c.node, &c.service_id, &after);
                }
            }
        }
    }

    fn keeps(&self, o: &Observation) -> bool {
        o.cluster == self.cluster || o.ip.as_ref().is_some_and(|ip| self.ips.contains(ip))
    }
}

fn of_cluster(findings: Vec<Finding>, cluster: &str) -> Vec<Finding> {
    findings
        .into_iter()
        .filter(|f| f.cluster == cluster)
        .collect()
}

/// A Consul service's observation replaced by what its new definition says.
fn reregister(outputs: &mut [SourceOutput], node: &str, service_id: &str, after: &Value) {
    let Some(out) = outputs
        .iter_mut()
        .find(|o| o.report.kind == SourceKind::Consul)
    else {
        return;
    };
    let at = out.observations.iter().position(|o| match &o.origin {
        Origin::Consul(c) => c.node == node && c.service_id == service_id,
        _ => false,
    });
    let Some(at) = at else {
        return;
    };
    let Origin::Consul(c) = &out.observations[at].origin else {
        return;
    };
    match observe_definition(c, after) {
        Some(o) => out.observations[at] = Arc::new(o),
        // A definition without Pigsty identity is no observation at all.
        None => {
            out.observations.remove(at);
        }
    }
}

/// A registration as read, in the shape the agent's `/v1/agent/services` returns.
fn definition(c: &ConsulOrigin) -> Value {
    json!({
        "ID": c.service_id,
        "Service": c.service_name,
        "Tags": c.tags,
        "Meta": c.meta,
        "Port": c.port,
        "Address": c.service_address,
    })
}

/// What `source::consul` would read from a service on `c`'s node defined as `def`.
pub fn observe_definition(c: &ConsulOrigin, def: &Value) -> Option<Observation> {
    let text = |k: &str| def.get(k).and_then(Value::as_str).map(str::to_string);
    let tags = def
        .get("Tags")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let meta = def
        .get("Meta")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let entry = HealthEntry {
        node: HealthNode {
            node: c.node.to_string(),
            address: c.node_address.to_string(),
            datacenter: c.datacenter.to_string(),
        },
        service: HealthService {
            id: text("ID").unwrap_or_else(|| c.service_id.to_string()),
            service: text("Name")
                .or_else(|| text("Service"))
                .unwrap_or_else(|| c.service_name.to_string()),
            tags,
            address: text("Address").unwrap_or_default(),
            meta,
            port: def
                .get("Port")
                .and_then(Value::as_u64)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(c.port),
        },
        checks: c
            .checks()
            .map(|ch| HealthCheck {
                check_id: ch.id.to_string(),
                name: ch.name.to_string(),
                status: ch.status.to_string(),
                output: ch.output.to_string(),
                service_id: if ch.node_check {
                    String::new()
                } else {
                    c.service_id.to_string()
                },
            })
            .collect(),
    };
    crate::source::consul::observe(entry)
}

#[cfg(test)]
#[path = "simulate_tests.rs"]
mod tests;
