//! The UI's side of re-registration: plans and applies in background tasks, answering
//! the dialog with actions; the plans themselves stay here, the dialog sees only text.

use super::action::{Action, FixTarget};
use crate::config::Settings;
use crate::fix::apply::{ApplySession, apply};
use crate::fix::audit::Audit;
use crate::fix::cli::{audit_for, context_with};
use crate::fix::plan::{Destination, FixContext, Plan, plan};
use crate::fleet::Fleet;
use crate::observation::SourceKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Plans and applies fixes for the dialog.
pub struct Fixer {
    ctx: Result<FixContext, String>,
    audit: Audit,
    read_only: bool,
    plans: Arc<Mutex<HashMap<u64, Plan>>>,
    actions: mpsc::Sender<Action>,
}

fn destination(t: FixTarget) -> Destination {
    match t {
        FixTarget::Consul => Destination::Consul,
        FixTarget::Targets => Destination::Targets,
        FixTarget::Command => Destination::Command,
    }
}

impl Fixer {
    /// A fixer for these settings; answers go to `actions`.
    pub fn new(settings: &Settings, read_only: bool, actions: mpsc::Sender<Action>) -> Fixer {
        Fixer {
            ctx: context_with(settings, None, None, None),
            audit: audit_for(settings, None),
            read_only,
            plans: Arc::new(Mutex::new(HashMap::new())),
            actions,
        }
    }

    /// Plans a fix of one instance in the background; answers with `FixPreview`.
    pub fn plan(
        &self,
        plan_id: u64,
        fleet: &Fleet,
        cluster: &str,
        instance: &str,
        target: FixTarget,
    ) {
        let tx = self.actions.clone();
        let inst = fleet
            .clusters
            .iter()
            .find(|c| c.name == cluster)
            .and_then(|c| c.instances.iter().find(|i| i.name == instance))
            .cloned();
        let ctx = self.ctx.clone();
        let plans = self.plans.clone();
        let instance = instance.to_string();
        tokio::spawn(async move {
            let outcome = match (inst, ctx) {
                (None, _) => Err(format!("{instance} is not in the latest read")),
                (_, Err(e)) => Err(e),
                (Some(inst), Ok(ctx)) => planned(&inst, destination(target), &ctx).await,
            };
            let action = match outcome {
                Ok(p) => {
                    let lines = preview(&p);
                    let writes = p.steps.len();
                    if let Ok(mut m) = plans.lock() {
                        m.insert(plan_id, p);
                    }
                    Action::FixPreview {
                        plan_id,
                        lines,
                        writes,
                        error: None,
                    }
                }
                Err(e) => Action::FixPreview {
                    plan_id,
                    lines: Vec::new(),
                    writes: 0,
                    error: Some(e),
                },
            };
            let _ = tx.send(action).await;
        });
    }

    /// Applies a previewed plan in the background; answers with `FixApplied`, then a refresh.
    pub fn apply(&self, plan_id: u64) {
        let tx = self.actions.clone();
        // The dialog already refuses in read-only mode; this is the second lock on the door.
        let plan = if self.read_only {
            Err("read-only: writes are off".to_string())
        } else {
            self.plans
                .lock()
                .ok()
                .and_then(|m| m.get(&plan_id).cloned())
                .ok_or_else(|| "the plan is gone; plan again".to_string())
        };
        let ctx = self.ctx.clone();
        let audit = self.audit.clone();
        tokio::spawn(async move {
            let action = match (plan, ctx) {
                (Err(e), _) | (_, Err(e)) => Action::FixApplied {
                    ok: false,
                    lines: vec![e],
                },
                (Ok(plan), Ok(ctx)) => {
                    let mut session = ApplySession::default();
                    let report = apply(&plan, &ctx, &audit, &mut session).await;
                    let mut lines: Vec<String> = report
                        .results
                        .iter()
                        .map(|r| {
                            format!(
                                "{} {}: {}",
                                if r.ok { "ok  " } else { "FAIL" },
                                r.target,
                                r.message
                            )
                        })
                        .collect();
                    if report.skipped > 0 {
                        lines.push(format!("{} write(s) not run", report.skipped));
                    }
                    Action::FixApplied {
                        ok: report.ok(),
                        lines,
                    }
                }
            };
            let _ = tx.send(action).await;
            // Read everything again so the dialog can tell whether the finding is gone.
            let _ = tx.send(Action::Refresh).await;
        });
    }
}

/// Plans with the default authority; for Consul, which is itself the default, the
/// target files and then the inventory are believed instead (the preview says which).
async fn planned(
    inst: &crate::fleet::Instance,
    dest: Destination,
    ctx: &FixContext,
) -> Result<Plan, String> {
    let first = plan(inst, dest, None, ctx).await;
    if first.is_ok() || dest != Destination::Consul {
        return first.map_err(|e| e.to_string());
    }
    let mut last = first.map_err(|e| e.to_string());
    for authority in [SourceKind::Targets, SourceKind::Inventory] {
        if inst.seen_by(authority) {
            match plan(inst, dest, Some(authority), ctx).await {
                Ok(p) => return Ok(p),
                Err(e) => last = Err(e.to_string()),
            }
        }
    }
    last
}

/// The plan as the dialog's lines: what it believes, each write and its diff, warnings.
pub fn preview(p: &Plan) -> Vec<String> {
    let mut lines = vec![format!(
        "make {} agree with {}: role {}, ip {}",
        p.destination.name(),
        p.authority,
        p.desired.role.as_ref().map_or("-", |r| r.as_str()),
        crate::text::sanitize(p.desired.ip.as_deref().unwrap_or("-"), 120)
    )];
    for (n, step) in p.steps.iter().enumerate() {
        lines.push(format!("{}. {}", n + 1, step.target()));
        lines.extend(step.diff());
    }
    if p.steps.is_empty() {
        lines.push("nothing to write: the destination already agrees".into());
    }
    lines.extend(p.warnings.iter().map(|w| format!("warning: {w}")));
    lines
}
