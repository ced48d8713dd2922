//! Undoing an applied fix: the reverse of each write it made, as recorded in the audit
//! log (a target file's digests, a registration's before and after), planned and
//! simulated like any fix so the same preview and confirmation stand before it.
//!
//! A place that changed since the fix (a file whose digest is not the one the fix wrote,
//! a registration that is not the one it sent) is not undone: that would overwrite
//! whatever another operator, or Pigsty, wrote in between.

use super::apply::ApplyReport;
use super::audit::rfc3339_utc;
use super::cluster::simulate;
use super::consul::{IdentityChange, agent_service, catalog_service, reregister_body};
use super::error::FixError;
use super::plan::{FixContext, Plan, Step, read_target_file, text_diff};
use super::simulate::Simulator;
use super::targets::{backup_path, digest};
use crate::consul::{ConsulClient, Endpoint};
use crate::fleet::Fleet;
use crate::source::file_text::{MAX_FILE_BYTES, read_bytes_limited};
use crate::text::sanitize;
use serde_json::Value;
use std::path::Path;
use std::time::SystemTime;

/// A fix that was applied: the writes that succeeded, as the audit log records them.
#[derive(Clone, Debug)]
pub struct AppliedFix {
    /// When it was applied (RFC 3339 UTC, as in the audit log).
    pub time: String,
    /// The plan, keeping only the steps that were written, in the order they were.
    pub plan: Plan,
}

impl AppliedFix {
    /// The writes of `plan` that `report` says were made.
    pub fn from_report(plan: &Plan, report: &ApplyReport, at: SystemTime) -> AppliedFix {
        let mut written = plan.clone();
        written.steps = plan
            .steps
            .iter()
            .zip(&report.results)
            .filter(|(_, r)| r.ok)
            .map(|(s, _)| s.clone())
            .collect();
        AppliedFix {
            time: rfc3339_utc(at),
            plan: written,
        }
    }

    /// True when it wrote something there is to undo.
    pub fn wrote(&self) -> bool {
        !self.plan.steps.is_empty()
    }
}

/// What a place says now compared with what the fix left there.
enum Current {
    /// As the fix left it: the reverse write is the step.
    Same(Step),
    /// Changed since (the reason says how).
    Changed(String),
}

/// Plans the reverse of `applied`'s writes, latest first, on the places as they are now,
/// and simulates it on `fleet`; refused when any place changed since the fix, or holds
/// something roster cannot put back (a node command's effect).
pub async fn plan_undo(
    applied: &AppliedFix,
    fleet: &Fleet,
    ctx: &FixContext,
) -> Result<Plan, FixError> {
    let fix = &applied.plan;
    if !applied.wrote() {
        return Err(FixError::Refused(
            "the fix wrote nothing: nothing to undo".into(),
        ));
    }
    let mut plan = Plan::new(
        &fix.cluster,
        &fix.instance,
        fix.authority,
        fix.destination,
        fix.desired.clone(),
    );
    plan.undoes = Some(format!(
        "the fix of {} in {} applied at {}",
        sanitize(&fix.instance, 100),
        fix.destination.name(),
        applied.time
    ));
    let mut changed = Vec::new();
    for step in fix.steps.iter().rev() {
        match reverse(step, ctx).await? {
            Current::Same(s) => plan.steps.push(s),
            Current::Changed(why) => changed.push(why),
        }
    }
    if !changed.is_empty() {
        return Err(FixError::Refused(format!(
            "not undoing: changed since the fix, and undoing would overwrite that change: {}",
            changed.join("; ")
        )));
    }
    simulate(&Simulator::new(fleet, &fix.cluster), &mut plan);
    Ok(plan)
}

/// The write that puts back what `step` replaced, if the place still holds what it wrote.
async fn reverse(step: &Step, ctx: &FixContext) -> Result<Current, FixError> {
    match step {
        Step::TargetFile {
            file,
            digest: before,
            new_text,
            ..
        } => Ok(reverse_file(file, before, &digest(new_text.as_bytes()))),
        Step::ConsulRegister {
            node,
            service_id,
            agent,
            before,
            after,
        } => {
            let client = agent_client(ctx, agent)?;
            let now = match agent_service(&client, service_id).await {
                Ok(v) => v,
                Err(FixError::MissingService { .. }) => {
                    return Ok(Current::Changed(format!(
                        "service {} is no longer registered with the agent at {agent}",
                        sanitize(service_id, 100)
                    )));
                }
                Err(e) => return Err(e),
            };
            if let Some(why) = same_registration(service_id, &now, before, after)? {
                return Ok(Current::Changed(why));
            }
            Ok(Current::Same(Step::ConsulRegister {
                node: node.clone(),
                service_id: service_id.clone(),
                agent: agent.clone(),
                before: now,
                after: register_body(before)?,
            }))
        }
        Step::CatalogRegister {
            node,
            address,
            service_id,
            before,
            after,
        } => {
            let config = ctx
                .consul
                .clone()
                .ok_or_else(|| FixError::Refused("Consul is not configured".into()))?;
            let client = ConsulClient::new(config)?;
            let name = before
                .get("Service")
                .or_else(|| before.get("Name"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let now = match catalog_service(&client, name, node, service_id).await {
                Ok(v) => v,
                Err(FixError::MissingService { .. }) => {
                    return Ok(Current::Changed(format!(
                        "service {} is no longer in the catalog on node {}",
                        sanitize(service_id, 100),
                        sanitize(node, 100)
                    )));
                }
                Err(e) => return Err(e),
            };
            if let Some(why) = same_registration(service_id, &now, before, after)? {
                return Ok(Current::Changed(why));
            }
            Ok(Current::Same(Step::CatalogRegister {
                node: node.clone(),
                address: address.clone(),
                service_id: service_id.clone(),
                before: now,
                after: register_body(before)?,
            }))
        }
        Step::Command { argv } => Err(FixError::Refused(format!(
            "a node command cannot be undone by roster (it ran {}); run it again with the earlier role",
            sanitize(&argv.join(" "), 200)
        ))),
    }
}

/// `None` when the registration `now` is the one the fix sent (`after`), compared as
/// register bodies so the fields Consul adds on reading do not count; else why not.
fn same_registration(
    service_id: &str,
    now: &Value,
    before: &Value,
    after: &Value,
) -> Result<Option<String>, FixError> {
    if !before.is_object() {
        // Every fix re-registers a definition it read; one without a before was not made
        // by roster's planner and is not guessed at.
        return Err(FixError::Refused(format!(
            "the record of service {} has no earlier definition to put back",
            sanitize(service_id, 100)
        )));
    }
    Ok((register_body(now)? != register_body(after)?).then(|| {
        format!(
            "service {} is no longer the registration the fix sent",
            sanitize(service_id, 100)
        )
    }))
}

/// A definition as a register body, nothing changed: what re-registering it sends, and
/// the form two definitions are compared in.
fn register_body(v: &Value) -> Result<Value, FixError> {
    reregister_body(v, &IdentityChange::default())
}

/// The write putting a target file's `.bak` back, when the file is still the one the fix
/// wrote and the `.bak` still the one it replaced.
fn reverse_file(file: &Path, before: &str, after: &str) -> Current {
    let shown = file.display();
    let (real, bytes, text) = match read_target_file(file) {
        Ok((real, bytes, text, _)) => (real, bytes, text),
        Err(e) => return Current::Changed(e.to_string()),
    };
    if digest(&bytes) != after {
        return Current::Changed(format!(
            "{shown} is no longer the text the fix wrote (its digest differs)"
        ));
    }
    let backup = backup_path(&real);
    let old = match read_bytes_limited(&backup, MAX_FILE_BYTES) {
        Ok(b) => b,
        Err(e) => {
            return Current::Changed(format!("{} cannot be read: {e}", backup.display()));
        }
    };
    if digest(&old) != before {
        return Current::Changed(format!(
            "{} no longer holds the text from before the fix (its digest differs)",
            backup.display()
        ));
    }
    let Ok(old) = String::from_utf8(old) else {
        return Current::Changed(format!("{} is not UTF-8 text", backup.display()));
    };
    Current::Same(Step::TargetFile {
        diff: text_diff(&text, &old),
        digest: digest(&bytes),
        file: real,
        new_text: old,
    })
}

/// A client for the agent a step wrote through (same token and TLS as the Consul read).
fn agent_client(ctx: &FixContext, agent: &str) -> Result<ConsulClient, FixError> {
    let mut config = ctx
        .consul
        .clone()
        .ok_or_else(|| FixError::Refused("Consul is not configured".into()))?;
    config.endpoint = Endpoint::parse(agent, false)?;
    config.datacenter = None;
    Ok(ConsulClient::new(config)?)
}
