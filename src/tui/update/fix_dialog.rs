//! Reducers of the fix dialog: open, plan, choose, apply and verify.

use super::{LINE_MAX, LINES_MAX, events};
use crate::drift::{Finding, Severity};
use crate::fix::plan::Destination;
use crate::fix::simulate::{compare, short};
use crate::observation::SourceKind;
use crate::text::redact;
use crate::text::sanitize;
use crate::tui::action::Effect;
use crate::tui::state::{
    Applying, FixButton, FixDialog, FixOutcome, FixPlan, FixRef, FixVerify, Row, State, Status,
    VERIFY_WAIT, next_target,
};
use std::time::SystemTime;

pub(super) fn fix_open(state: &mut State) -> Vec<Effect> {
    let refuse = |state: &mut State| {
        state.status = Some(Status::error(
            "select an instance or a cluster to re-register",
        ));
        Vec::new()
    };
    let (cluster, instance, in_consul) = match state.selected_row() {
        Some(Row::Instance(i) | Row::Entry(i, _)) => match state.instance(i) {
            Some(inst) => (
                state.instances[i].cluster,
                Some(inst.name.clone()),
                inst.seen_by(SourceKind::Consul),
            ),
            None => return refuse(state),
        },
        Some(Row::Cluster(c)) => match state.result.fleet.clusters.get(c) {
            Some(cl) => (
                c,
                None,
                cl.instances.iter().any(|i| i.seen_by(SourceKind::Consul)),
            ),
            None => return refuse(state),
        },
        // A datacenter is not one place to re-register: its clusters are.
        Some(Row::Datacenter(_)) | None => return refuse(state),
    };
    let Some(c) = state.result.fleet.clusters.get(cluster) else {
        return refuse(state);
    };
    let (cluster, datacenter) = (c.name.clone(), c.datacenter.clone());
    // With a Consul record the registration is there to copy from, and the target files
    // are the likelier place to have drifted; without one, Consul is what is missing.
    let target = if in_consul {
        Destination::Targets
    } else {
        Destination::Consul
    };
    state.fix = Some(FixDialog {
        cluster,
        datacenter,
        instance,
        target,
        plan_id: 0,
        preview: None,
        button: FixButton::Cancel,
        scroll: 0,
        applying: false,
        result: None,
        confirm_risks: false,
        undo: None,
    });
    plan(state)
}

/// Opens the dialog on the undo of an applied fix and asks for its plan: the same
/// preview, confirmation and check afterwards as the fix had.
pub(super) fn undo_open(state: &mut State, fix: FixRef) -> Vec<Effect> {
    state.fix = Some(FixDialog {
        cluster: fix.cluster,
        datacenter: fix.datacenter,
        instance: fix.instance,
        target: fix.target,
        plan_id: 0,
        preview: None,
        button: FixButton::Cancel,
        scroll: 0,
        applying: false,
        result: None,
        confirm_risks: false,
        undo: Some(fix.applied),
    });
    plan(state)
}

/// Asks for a plan for the dialog's instance and target, forgetting the shown one.
pub(super) fn plan(state: &mut State) -> Vec<Effect> {
    state.plan_seq += 1;
    let plan_id = state.plan_seq;
    let Some(d) = state.fix.as_mut() else {
        return Vec::new();
    };
    d.plan_id = plan_id;
    d.preview = None;
    d.result = None;
    d.button = FixButton::Cancel;
    d.scroll = 0;
    d.confirm_risks = false;
    if let Some(applied) = d.undo {
        return vec![Effect::PlanUndo { plan_id, applied }];
    }
    vec![Effect::PlanFix {
        plan_id,
        cluster: d.cluster.clone(),
        instance: d.instance.clone(),
        target: d.target,
        datacenter: d.datacenter.clone(),
    }]
}

pub(super) fn fix_cycle_target(state: &mut State) -> Vec<Effect> {
    let Some(d) = state.fix.as_mut() else {
        return Vec::new();
    };
    if d.applying {
        // The confirmed plan is being written; a new one would describe a moving target.
        state.status = Some(Status::error("applying… wait for the result"));
        return Vec::new();
    }
    if d.undo.is_some() {
        state.status = Some(Status::error(
            "an undo writes back where the fix wrote: no other target",
        ));
        return Vec::new();
    }
    d.target = next_target(d.target);
    plan(state)
}

pub(super) fn fix_choose(state: &mut State) -> Vec<Effect> {
    let Some(d) = state.fix.as_mut() else {
        return Vec::new();
    };
    match d.button {
        // Cancel on the second step goes back to the plan; on the plan, it closes.
        FixButton::Cancel if d.confirm_risks => {
            d.confirm_risks = false;
            d.scroll = 0;
        }
        FixButton::Cancel => fix_close(state),
        FixButton::Apply => {
            if state.read_only {
                state.status = Some(Status::error("READ-ONLY: writes are off"));
            } else if d.can_apply() && !d.risks().is_empty() && !d.confirm_risks {
                // A plan that leaves the cluster worse is asked about again, Cancel first.
                d.confirm_risks = true;
                d.button = FixButton::Cancel;
                d.scroll = 0;
            } else if d.can_apply() {
                d.applying = true;
                let accept_risks = d.confirm_risks;
                d.confirm_risks = false;
                let plan_id = d.plan_id;
                let applying = Applying::sent(d);
                state.applying.insert(plan_id, applying);
                return vec![Effect::ApplyFix {
                    plan_id,
                    accept_risks,
                }];
            } else {
                let why = if d.applying {
                    "applying… wait for the result"
                } else if d.result.is_some() && d.undo.is_some() {
                    "already applied"
                } else if d.result.is_some() {
                    "already applied; t plans again"
                } else if d.preview.is_none() {
                    "still planning…"
                } else {
                    "nothing to apply"
                };
                state.status = Some(Status::error(why));
            }
        }
    }
    Vec::new()
}

/// Closes the dialog; before anything was applied, the footer says nothing was written.
pub(super) fn fix_close(state: &mut State) {
    let Some(d) = state.fix.take() else {
        return;
    };
    if d.result.is_none() && !d.applying {
        state.status = Some(Status::info(format!(
            "cancelled: nothing written for {}",
            sanitize(d.instance.as_deref().unwrap_or(&d.cluster), 100)
        )));
    }
}

pub(super) fn fix_preview(state: &mut State, plan: FixPlan) {
    let Some(d) = state.fix.as_mut() else {
        return;
    };
    // An answer to a request made before the latest `t` (or before reopening) describes
    // a plan the user is no longer looking at.
    if plan.plan_id != d.plan_id || d.applying {
        return;
    }
    d.preview = Some(FixPlan {
        lines: clean_lines(&plan.lines),
        error: plan.error.map(|e| sanitize(&redact(&e), LINE_MAX)),
        risks: clean_lines(&plan.risks),
        ..plan
    });
    // Whatever had focus before, a plan the user has not read yet is never one Enter away.
    d.button = FixButton::Cancel;
    d.scroll = 0;
    d.confirm_risks = false;
}

/// The answer to an Apply: matched to what was sent by its plan id, so that a dialog
/// closed or opened on something else meanwhile neither loses it nor takes it for its own.
pub(super) fn fix_applied(
    state: &mut State,
    applied: u64,
    wrote: bool,
    ok: bool,
    lines: &[String],
) {
    let lines = clean_lines(lines);
    let Some(sent) = state.applying.remove(&applied) else {
        return;
    };
    events::fix_applied(state, &sent, wrote, ok, &lines);
    match state.fix.as_mut() {
        Some(d) if d.applying && d.plan_id == applied => {
            d.applying = false;
            d.button = FixButton::Cancel;
            d.scroll = 0;
            d.result = Some(FixOutcome {
                ok,
                lines: lines.clone(),
            });
        }
        // The dialog was closed (or shows something else): the footer is the place left.
        _ => {
            let first = lines.first().map(String::as_str).unwrap_or_default();
            let word = match (sent.undo.is_some(), ok) {
                (false, true) => "fix applied",
                (false, false) => "fix failed",
                (true, true) => "undo applied",
                (true, false) => "undo failed",
            };
            let text = format!("{word} for {}: {first}", sent.subject);
            state.status = Some(if ok {
                Status::info(text)
            } else {
                Status::error(text)
            });
        }
    }
    // Nothing written, nothing to look for in the next reads.
    if !wrote {
        return;
    }
    let before = cluster_findings(state, &sent.fix.cluster, sent.fix.datacenter.as_deref());
    state.fix_verify = Some(FixVerify {
        cluster: sent.fix.cluster,
        datacenter: sent.fix.datacenter,
        instance: sent.fix.instance,
        before,
        expect: sent.expect,
        expect_new: sent.expect_new,
        // Without a tick yet the clock is unknown; the first tick then ends the wait,
        // which only happens in the second after start.
        deadline: state.now.unwrap_or(SystemTime::UNIX_EPOCH) + VERIFY_WAIT,
    });
}

/// The findings of the cluster of this name (in this datacenter, when one is given).
pub(super) fn cluster_findings(state: &State, cluster: &str, dc: Option<&str>) -> Vec<Finding> {
    state
        .findings()
        .iter()
        .filter(|f| f.cluster == cluster && (dc.is_none() || f.datacenter.as_deref() == dc))
        .cloned()
        .collect()
}

/// True when the latest read has the fixed cluster (and its instance, for a fix of one).
fn still_read(state: &State, v: &FixVerify) -> bool {
    state
        .result
        .fleet
        .clusters
        .iter()
        .filter(|c| c.name == v.cluster)
        .filter(|c| v.datacenter.is_none() || c.datacenter == v.datacenter)
        .any(|c| {
            v.instance
                .as_deref()
                .is_none_or(|i| c.instances.iter().any(|m| m.name == i))
        })
}

/// The expected resolutions not seen yet.
pub(super) fn pending(v: &FixVerify, now: &[Finding]) -> Vec<Finding> {
    let left = compare(&v.expect, now);
    v.expect
        .iter()
        .filter(|f| !left.resolves.contains(f))
        .cloned()
        .collect()
}

/// True when every finding the plan was to create is there (a read made before the
/// writes has none of them).
pub(super) fn arrived(v: &FixVerify, now: &[Finding]) -> bool {
    v.expect_new
        .iter()
        .all(|f| now.iter().any(|g| short(g) == short(f)))
}

/// The footer after a fix: what it resolved, what is still wrong, what it made wrong.
pub(super) fn verdict(state: &State, v: &FixVerify, late: bool) -> Status {
    let now = cluster_findings(state, &v.cluster, v.datacenter.as_deref());
    let seen = compare(&v.before, &now);
    let mut still = pending(v, &now);
    let concerns = |f: &Finding| match &v.instance {
        Some(i) => f.instance.as_deref().is_none_or(|x| x == i),
        None => true,
    };
    for f in seen
        .remains
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
    {
        if concerns(f) && !still.iter().any(|s| short(s) == short(f)) {
            still.push(f.clone());
        }
    }
    let words = |list: &[Finding]| {
        let mut w: Vec<String> = list
            .iter()
            .map(|f| format!("{} ({})", short(f), f.severity))
            .collect();
        w.dedup();
        w.join(", ")
    };
    let subject = v.instance.as_deref().unwrap_or(&v.cluster);
    let mut text = if seen.resolves.is_empty() {
        format!("{subject}: resolved nothing")
    } else {
        format!("{subject}: resolved {}", words(&seen.resolves))
    };
    if !still.is_empty() {
        text.push_str(&format!("; still {}", words(&still)));
    }
    if !seen.creates.is_empty() {
        text.push_str(&format!("; new {}", words(&seen.creates)));
    }
    let missed = !pending(v, &now).is_empty();
    if late && !still.is_empty() {
        text.push_str(&format!(" after {} s", VERIFY_WAIT.as_secs()));
    }
    if missed || !seen.creates.is_empty() || (seen.resolves.is_empty() && !still.is_empty()) {
        Status::error(text)
    } else {
        Status::info(text)
    }
}

pub(super) fn verify_on_data(state: &mut State) {
    let Some(v) = &state.fix_verify else {
        return;
    };
    // A cluster missing from a read (a source failed, say) proves nothing.
    let now = cluster_findings(state, &v.cluster, v.datacenter.as_deref());
    if !still_read(state, v) || !pending(v, &now).is_empty() || !arrived(v, &now) {
        return;
    }
    state.status = Some(verdict(state, v, false));
    state.fix_verify = None;
}

pub(super) fn verify_on_tick(state: &mut State, now: SystemTime) {
    let Some(v) = &state.fix_verify else {
        return;
    };
    if now <= v.deadline {
        return;
    }
    let secs = VERIFY_WAIT.as_secs();
    let gone = !still_read(state, v);
    state.status = Some(if gone {
        Status::error(format!(
            "{}: not in the latest read {secs} s after the fix",
            v.instance.as_deref().unwrap_or(&v.cluster)
        ))
    } else {
        verdict(state, v, true)
    });
    state.fix_verify = None;
}

/// Remote lines made safe for the terminal, keeping a diff line's sign and indentation
/// (which `sanitize` alone would trim away).
pub(super) fn clean_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .take(LINES_MAX)
        .map(|l| clean_line(l))
        .collect()
}

pub(super) fn clean_line(line: &str) -> String {
    let (sign, rest) = match line.strip_prefix(['-', '+']) {
        Some(rest) => (&line[..1], rest),
        None => ("", line),
    };
    let indent: usize = rest
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum();
    let body = sanitize(&redact(rest), LINE_MAX);
    if body.is_empty() {
        return sign.to_string();
    }
    format!("{sign}{}{body}", " ".repeat(indent.min(40)))
}
