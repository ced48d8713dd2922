//! Applying a plan: each write in order, every one audited, stopping at the first that fails.
//!
//! The audit log fails closed: a write is recorded as started before it is made, and a
//! write that cannot be recorded is not made.

use super::audit::{Audit, AuditEntry, STARTED};
use super::plan::{FixContext, Plan, Step};
use crate::consul::{ConsulClient, Endpoint};
use serde::Serialize;

/// How one step went.
#[derive(Clone, Debug, Serialize)]
pub struct StepResult {
    /// Where it wrote.
    pub target: String,
    /// True when the write was accepted.
    pub ok: bool,
    /// What happened (the server's or the system's words on failure).
    pub message: String,
}

/// How a whole plan went.
#[derive(Clone, Debug, Serialize)]
pub struct ApplyReport {
    /// The instance.
    pub instance: String,
    /// One result per step that ran.
    pub results: Vec<StepResult>,
    /// Steps not run because an earlier one failed.
    pub skipped: usize,
    /// Why the audit log misses an outcome, when it does (the plan stopped there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit_error: Option<String>,
}

impl ApplyReport {
    /// True when every step ran, succeeded and is in the audit log.
    pub fn ok(&self) -> bool {
        self.skipped == 0 && self.audit_error.is_none() && self.results.iter().all(|r| r.ok)
    }
}

/// What one run of fixes remembers across plans.
#[derive(Debug, Default)]
pub struct ApplySession {
    backed_up: std::collections::BTreeSet<std::path::PathBuf>,
}

/// Runs the plan's steps in order; the first failure stops the rest. Within one
/// `session`, a file's `.bak` is made once, so it always holds the original.
pub async fn apply(
    plan: &Plan,
    ctx: &FixContext,
    audit: &Audit,
    session: &mut ApplySession,
) -> ApplyReport {
    let mut report = ApplyReport {
        instance: plan.instance.clone(),
        results: Vec::new(),
        skipped: 0,
        audit_error: None,
    };
    if plan.steps.is_empty() {
        return report;
    }
    let mut log = audit.open();
    for (i, step) in plan.steps.iter().enumerate() {
        let (before, after) = audit_values(step);
        let entry = |result: String| {
            AuditEntry::now(
                plan.destination.name(),
                &plan.instance,
                step.target(),
                before.clone(),
                after.clone(),
                result,
            )
        };
        // Fail closed: a write whose attempt cannot be recorded is not made.
        let started = match &mut log {
            Ok(log) => log.append(&entry(STARTED.into())),
            Err(e) => Err(e.clone()),
        };
        if let Err(e) = started {
            report.results.push(StepResult {
                target: step.target(),
                ok: false,
                message: format!("not run: {e}"),
            });
            report.skipped = plan.steps.len() - i - 1;
            break;
        }
        let outcome = run_step(step, ctx, session).await;
        let (ok, message) = match &outcome {
            Ok(m) => (true, m.clone()),
            Err(e) => (false, e.clone()),
        };
        tracing::info!(target = %step.target(), ok, result = %message, "fix step");
        let result = if ok { "ok".into() } else { message.clone() };
        let recorded = match &mut log {
            Ok(log) => log.append(&entry(result)),
            Err(e) => Err(e.clone()),
        };
        let message = match &recorded {
            Err(e) => format!("{message} (the outcome is not in the audit log: {e})"),
            Ok(()) => message,
        };
        report.results.push(StepResult {
            target: step.target(),
            ok,
            message,
        });
        if !ok || recorded.is_err() {
            report.audit_error = recorded.err();
            report.skipped = plan.steps.len() - i - 1;
            break;
        }
    }
    report
}

fn audit_values(step: &Step) -> (serde_json::Value, serde_json::Value) {
    match step {
        Step::ConsulRegister { before, after, .. }
        | Step::CatalogRegister { before, after, .. } => (before.clone(), after.clone()),
        // The digest after is what an undo checks the file against.
        Step::TargetFile {
            digest,
            diff,
            new_text,
            ..
        } => (
            serde_json::json!({ "digest": digest }),
            serde_json::json!({ "digest": super::targets::digest(new_text.as_bytes()), "diff": diff }),
        ),
        Step::Command { argv } => (serde_json::Value::Null, serde_json::json!({ "argv": argv })),
    }
}

async fn run_step(
    step: &Step,
    ctx: &FixContext,
    session: &mut ApplySession,
) -> Result<String, String> {
    match step {
        Step::ConsulRegister { agent, after, .. } => {
            let mut cfg = ctx
                .consul
                .clone()
                .ok_or_else(|| "Consul is not configured".to_string())?;
            cfg.endpoint = Endpoint::parse(agent, false).map_err(|e| e.to_string())?;
            cfg.datacenter = None;
            let client = ConsulClient::new(cfg).map_err(|e| e.to_string())?;
            super::consul::register(&client, after)
                .await
                .map(|()| "registered".to_string())
                .map_err(|e| e.to_string())
        }
        Step::CatalogRegister {
            node,
            address,
            after,
            ..
        } => {
            let cfg = ctx
                .consul
                .clone()
                .ok_or_else(|| "Consul is not configured".to_string())?;
            let client = ConsulClient::new(cfg).map_err(|e| e.to_string())?;
            super::consul::catalog_register(&client, node, address, after)
                .await
                .map(|()| "registered in the catalog".to_string())
                .map_err(|e| e.to_string())
        }
        Step::TargetFile {
            file,
            digest,
            new_text,
            ..
        } => {
            let backup = !session.backed_up.contains(file);
            let (path, digest, text) = (file.clone(), digest.clone(), new_text.clone());
            let result = tokio::task::spawn_blocking(move || {
                super::targets::write_file_with(&path, &digest, &text, backup)
                    .map(|o| format!("written (the original is in {})", o.backup.display()))
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("the write task failed: {e}"))?;
            if result.is_ok() {
                session.backed_up.insert(file.clone());
            }
            result
        }
        Step::Command { argv } => super::command::run(argv, ctx.command_timeout)
            .await
            .and_then(|out| out.into_result())
            .map(|out| format!("{}: {}", out.status_text(), out.tail(400)))
            .map_err(|e| e.to_string()),
    }
}
