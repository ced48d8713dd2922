//! Reducer tests for the fix dialog: planning, the preview and its confirmations, applying,
//! and the verification that follows.

use super::tests::{apply, cluster, inst, select, state};
use super::*;
use crate::drift::Finding;
use crate::fix::plan::Destination;
use crate::fix::simulate::short;
use crate::tui::state::{FixButton, Options, RowId, VERIFY_WAIT};
use crate::tui::testdata::{small, small_fixed, small_two_primaries, small_with_consul};
use std::time::Duration;

fn plan_id_of(effects: &[Effect]) -> u64 {
    match effects {
        [Effect::PlanFix { plan_id, .. }] => *plan_id,
        other => panic!("expected one PlanFix, got {other:?}"),
    }
}

fn preview(plan_id: u64, writes: usize) -> Action {
    Action::FixPreview {
        plan_id,
        lines: vec![
            "write /t/pg-a.yml (group pg-a-1)".into(),
            "-  role: replica".into(),
            "+  role: primary".into(),
        ],
        writes,
        error: None,
        risks: Vec::new(),
        resolves: Vec::new(),
        creates: Vec::new(),
    }
}

/// [`preview`] of a plan whose simulation says it resolves pg-a-1's findings in `small`.
fn preview_resolving(plan_id: u64, writes: usize) -> Action {
    let mut a = preview(plan_id, writes);
    if let Action::FixPreview { resolves, .. } = &mut a {
        *resolves = small()
            .findings
            .into_iter()
            .filter(|f| {
                f.instance.as_deref() == Some("pg-a-1")
                    || f.cluster == "pg-a" && f.instance.is_none()
            })
            .collect();
    }
    a
}

/// [`preview`] of a plan the simulation says creates an error.
fn preview_with_risk(plan_id: u64) -> Action {
    let mut a = preview(plan_id, 1);
    if let Action::FixPreview { risks, .. } = &mut a {
        risks.push("creates multiple-primaries in pg-a (error): targets names 2 primaries".into());
    }
    a
}

fn dialog(s: &State) -> &crate::tui::state::FixDialog {
    match &s.fix {
        Some(d) => d,
        None => panic!("the dialog is closed"),
    }
}

/// pg-a-1 selected, the dialog open with a plan of `writes` writes shown; its plan id.
fn open_with_plan(s: &mut State, writes: usize) -> u64 {
    select(s, inst("pg-a/pg-a-1"));
    let id = plan_id_of(&apply(s, [Action::FixOpen]));
    apply(s, [preview(id, writes)]);
    id
}

#[test]
fn fix_opens_on_an_instance_and_plans_with_a_default_target() {
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    assert_eq!(
        apply(&mut s, [Action::FixOpen]),
        vec![Effect::PlanFix {
            plan_id: 1,
            cluster: "pg-a".into(),
            instance: Some("pg-a-1".into()),
            // No Consul record: Consul is where the instance is missing.
            target: Destination::Consul,
            datacenter: None,
        }]
    );
    let d = dialog(&s);
    assert_eq!(
        (d.plan_id, &d.preview, d.button),
        (1, &None, FixButton::Cancel)
    );
    apply(&mut s, [Action::FixClose]);
    assert!(s.fix.is_none());

    // An observation row re-registers the instance it belongs to.
    apply(&mut s, [Action::Expand, Action::Expand]);
    assert_eq!(s.selected_id(), Some(RowId::Entry("pg-a/pg-a-1".into(), 0)));
    let effects = apply(&mut s, [Action::FixOpen]);
    assert!(
        matches!(&effects[..], [Effect::PlanFix { plan_id: 2, instance: Some(i), .. }] if i == "pg-a-1"),
        "{effects:?}"
    );

    let mut s = State::new(small_with_consul(), Options::default());
    select(&mut s, inst("pg-b/pg-b-1"));
    let effects = apply(&mut s, [Action::FixOpen]);
    assert!(
        matches!(
            &effects[..],
            [Effect::PlanFix { target: Destination::Targets, instance: Some(i), .. }] if i == "pg-b-1"
        ),
        "with a Consul record the target files are the default: {effects:?}"
    );
}

#[test]
fn fix_on_a_cluster_row_plans_the_whole_cluster() {
    let mut s = state();
    select(&mut s, cluster("pg-a"));
    assert_eq!(
        apply(&mut s, [Action::FixOpen]),
        vec![Effect::PlanFix {
            plan_id: 1,
            cluster: "pg-a".into(),
            instance: None,
            target: Destination::Consul,
            datacenter: None,
        }]
    );
    let d = dialog(&s);
    assert_eq!((d.subject(), d.instance.as_deref()), ("pg-a", None));
    apply(&mut s, [preview(1, 2), Action::FixCycleTarget]);
    match &apply(&mut s, [Action::FixCycleTarget])[..] {
        [Effect::PlanFix { instance, .. }] => assert_eq!(instance, &None, "t keeps the cluster"),
        other => panic!("{other:?}"),
    }
    let mut s = State::new(small_with_consul(), Options::default());
    select(&mut s, cluster("pg-b"));
    assert!(matches!(
        &apply(&mut s, [Action::FixOpen])[..],
        [Effect::PlanFix {
            target: Destination::Targets,
            instance: None,
            ..
        }]
    ));

    let mut empty = State::new(
        crate::report::CheckResult::new(Default::default(), Vec::new()),
        Options::default(),
    );
    assert!(apply(&mut empty, [Action::FixOpen]).is_empty());
    assert!(empty.fix.is_none());
    assert_eq!(
        empty.status,
        Some(Status::error(
            "select an instance or a cluster to re-register"
        ))
    );
}

#[test]
fn a_plan_with_risks_needs_a_second_confirmation() {
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    let id = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    apply(&mut s, [preview_with_risk(id)]);
    assert_eq!(
        dialog(&s).risks(),
        ["creates multiple-primaries in pg-a (error): targets names 2 primaries"]
    );
    // The first Apply only opens the second step, focused on Cancel again.
    let choose_apply = || [Action::FixSwitchButton, Action::FixChoose];
    assert!(apply(&mut s, choose_apply()).is_empty());
    let d = dialog(&s);
    assert!(d.confirm_risks && !d.applying);
    assert_eq!(d.button, FixButton::Cancel);
    // Enter on Cancel goes back to the plan, not straight out.
    assert!(apply(&mut s, [Action::FixChoose]).is_empty());
    assert!(!dialog(&s).confirm_risks);
    assert!(s.fix.is_some());
    // Apply, Apply anyway: the effect says the risks were confirmed.
    apply(&mut s, choose_apply());
    assert_eq!(
        apply(&mut s, choose_apply()),
        vec![Effect::ApplyFix {
            plan_id: id,
            accept_risks: true
        }]
    );
    assert!(dialog(&s).applying);

    // A new plan shown while on the second step starts over on the plan.
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    let id = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    apply(&mut s, [preview_with_risk(id)]);
    apply(&mut s, choose_apply());
    assert!(dialog(&s).confirm_risks);
    let next = plan_id_of(&apply(&mut s, [Action::FixCycleTarget]));
    assert!(!dialog(&s).confirm_risks);
    apply(&mut s, [preview(next, 1)]);
    assert_eq!(
        apply(&mut s, choose_apply()),
        vec![Effect::ApplyFix {
            plan_id: next,
            accept_risks: false
        }],
        "a plan without risks applies on the first Apply"
    );
}

#[test]
fn fix_focus_starts_on_cancel_and_resets_on_every_new_preview() {
    let mut s = state();
    let id = open_with_plan(&mut s, 2);
    assert_eq!(dialog(&s).button, FixButton::Cancel);
    apply(&mut s, [Action::FixSwitchButton]);
    assert_eq!(dialog(&s).button, FixButton::Apply);
    // The same plan delivered again (the runtime re-planned after a change) is unread.
    apply(&mut s, [preview(id, 3)]);
    assert_eq!(dialog(&s).button, FixButton::Cancel);
    apply(&mut s, [Action::FixSwitchButton]);
    let next = plan_id_of(&apply(&mut s, [Action::FixCycleTarget]));
    assert_eq!(dialog(&s).button, FixButton::Cancel, "planning again");
    apply(&mut s, [Action::FixSwitchButton, preview(next, 1)]);
    assert_eq!(dialog(&s).button, FixButton::Cancel);
}

#[test]
fn enter_on_cancel_closes_without_effect() {
    let mut s = state();
    open_with_plan(&mut s, 2);
    assert!(apply(&mut s, [Action::FixChoose]).is_empty());
    assert!(s.fix.is_none());
    // Switching twice comes back to Cancel.
    open_with_plan(&mut s, 2);
    let effects = apply(
        &mut s,
        [
            Action::FixSwitchButton,
            Action::FixSwitchButton,
            Action::FixChoose,
        ],
    );
    assert!(effects.is_empty(), "{effects:?}");
    assert!(s.fix.is_none());
}

#[test]
fn apply_emits_apply_fix_with_the_plan_id_only_when_allowed() {
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    let id = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    let choose_apply = || [Action::FixSwitchButton, Action::FixChoose];
    assert!(apply(&mut s, choose_apply()).is_empty(), "still planning");
    assert!(s.fix.is_some());

    let mut failed = preview(id, 2);
    if let Action::FixPreview { error, .. } = &mut failed {
        *error = Some("GET /v1/agent/services: 403 ACL not found".into());
    }
    apply(&mut s, [failed]);
    assert!(
        apply(&mut s, choose_apply()).is_empty(),
        "a plan with an error"
    );

    apply(&mut s, [preview(id, 0)]);
    assert!(apply(&mut s, choose_apply()).is_empty(), "nothing to write");
    assert_eq!(s.status, Some(Status::error("nothing to apply")));

    // A newer plan replaces this one; Apply names the plan on screen.
    let newer = plan_id_of(&apply(&mut s, [Action::FixCycleTarget]));
    assert_ne!(newer, id);
    apply(&mut s, [preview(newer, 2)]);
    assert_eq!(
        apply(&mut s, choose_apply()),
        vec![Effect::ApplyFix {
            plan_id: newer,
            accept_risks: false
        }]
    );
    assert!(dialog(&s).applying);
    assert!(
        apply(&mut s, [Action::FixChoose]).is_empty(),
        "not twice while applying"
    );
    assert!(
        apply(&mut s, [Action::FixCycleTarget]).is_empty(),
        "no new plan while applying"
    );
}

#[test]
fn stale_preview_is_ignored() {
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    let first = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    let second = plan_id_of(&apply(&mut s, [Action::FixCycleTarget]));
    apply(&mut s, [preview(first, 2)]);
    assert_eq!(dialog(&s).preview, None, "the answer to the older request");
    apply(&mut s, [preview(second, 1)]);
    let shown = dialog(&s).preview.as_ref().map(|p| (p.plan_id, p.writes));
    assert_eq!(shown, Some((second, 1)));
    // A preview with no dialog open changes nothing.
    apply(&mut s, [Action::FixClose, preview(second, 1)]);
    assert!(s.fix.is_none());
}

#[test]
fn read_only_blocks_apply() {
    let mut s = State::new(
        small(),
        Options {
            read_only: true,
            size: (100, 30),
            ..Options::default()
        },
    );
    open_with_plan(&mut s, 2);
    assert!(dialog(&s).can_apply(), "the plan itself is fine");
    let effects = apply(&mut s, [Action::FixSwitchButton, Action::FixChoose]);
    assert!(effects.is_empty(), "{effects:?}");
    assert!(!dialog(&s).applying);
    assert_eq!(s.status, Some(Status::error("READ-ONLY: writes are off")));
}

#[test]
fn t_cycles_the_target_and_plans_again() {
    let mut s = state();
    open_with_plan(&mut s, 2);
    let mut seen = Vec::new();
    for _ in 0..3 {
        match &apply(&mut s, [Action::FixCycleTarget])[..] {
            [
                Effect::PlanFix {
                    plan_id,
                    instance,
                    target,
                    ..
                },
            ] => {
                assert_eq!(instance.as_deref(), Some("pg-a-1"));
                assert_eq!(dialog(&s).preview, None, "planning… again");
                assert_eq!(dialog(&s).plan_id, *plan_id);
                seen.push((*plan_id, *target));
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        seen,
        vec![
            (2, Destination::Targets),
            (3, Destination::Command),
            (4, Destination::Consul)
        ]
    );
}

#[test]
fn preview_scrolls_within_its_lines() {
    let mut s = state();
    open_with_plan(&mut s, 2);
    apply(&mut s, [Action::FixScroll(1)]);
    assert_eq!(dialog(&s).scroll, 1);
    apply(&mut s, [Action::FixScroll(100)]);
    assert_eq!(
        dialog(&s).scroll,
        4,
        "three plan lines and room for two more: the last stays visible"
    );
    apply(&mut s, [Action::FixScroll(-100)]);
    assert_eq!(dialog(&s).scroll, 0);
}

#[test]
fn remote_plan_lines_are_sanitised_keeping_sign_and_indent() {
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    let id = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    apply(
        &mut s,
        [Action::FixPreview {
            plan_id: id,
            lines: vec![
                "+    role: \u{1b}[2Jprimary".into(),
                "PUT http://ops:secret@10.0.0.1:8500/v1/agent/service/register?token=abc".into(),
            ],
            writes: 1,
            error: Some("bad\u{7}  thing".into()),
            risks: vec!["creates \u{1b}[2Jno-primary".into()],
            resolves: Vec::new(),
            creates: Vec::new(),
        }],
    );
    let p = dialog(&s).preview.clone();
    let Some(p) = p else {
        panic!("no preview");
    };
    assert_eq!(p.lines[0], "+    role: ?[2Jprimary");
    assert!(!p.lines[1].contains("secret") && !p.lines[1].contains("abc"));
    assert_eq!(p.error.as_deref(), Some("bad? thing"));
    assert_eq!(p.risks, ["creates ?[2Jno-primary"]);
}

fn applied(ok: bool) -> Action {
    Action::FixApplied {
        plan_id: 1,
        wrote: ok,
        ok,
        lines: vec!["wrote /t/pg-a.yml (backup /t/pg-a.yml.bak)".into()],
    }
}

/// pg-a-1 selected, a plan resolving its findings shown and applied; its dialog open.
fn applied_resolving(s: &mut State, t0: std::time::SystemTime) {
    apply(s, [Action::Tick(t0)]);
    select(s, inst("pg-a/pg-a-1"));
    let id = plan_id_of(&apply(s, [Action::FixOpen]));
    apply(s, [preview_resolving(id, 1)]);
    apply(s, [Action::FixSwitchButton, Action::FixChoose]);
    apply(s, [applied(true)]);
}

#[test]
fn verify_reports_resolved_when_the_kinds_are_gone() {
    let mut s = state();
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    applied_resolving(&mut s, t0);
    let d = dialog(&s);
    assert!(!d.applying, "the result came back");
    assert_eq!(d.button, FixButton::Cancel, "Enter now closes");
    assert_eq!(d.result.as_ref().map(|r| r.ok), Some(true));
    apply(&mut s, [Action::FixSwitchButton]);
    assert_eq!(
        dialog(&s).button,
        FixButton::Cancel,
        "only Close is left to focus"
    );
    let v = s.fix_verify.clone().unwrap();
    assert_eq!(
        (v.cluster.as_str(), v.instance.as_deref(), v.deadline),
        ("pg-a", Some("pg-a-1"), t0 + VERIFY_WAIT)
    );
    let shorts = |l: &[Finding]| l.iter().map(short).collect::<Vec<_>>();
    assert_eq!(
        shorts(&v.before),
        ["no-primary in pg-a", "role-mismatch pg-a-1"]
    );
    assert_eq!(shorts(&v.expect), shorts(&v.before));
    // A read from before the write took effect: keep waiting.
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert!(s.fix_verify.is_some());
    assert_eq!(s.status, None);
    apply(&mut s, [Action::Data(Box::new(small_fixed()))]);
    assert_eq!(s.fix_verify, None);
    assert_eq!(
        s.status,
        Some(Status::info(
            "pg-a-1: resolved no-primary in pg-a (error), role-mismatch pg-a-1 (warning)"
        ))
    );
    // The dialog stays until the user closes it.
    assert!(s.fix.is_some());
    assert!(apply(&mut s, [Action::FixChoose]).is_empty());
    assert!(s.fix.is_none());
}

#[test]
fn verify_reports_what_is_still_there_after_the_deadline() {
    let mut s = state();
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    applied_resolving(&mut s, t0);
    apply(&mut s, [Action::FixClose]);
    apply(&mut s, [Action::Tick(t0 + VERIFY_WAIT)]);
    assert!(s.fix_verify.is_some(), "not past the deadline yet");
    apply(&mut s, [Action::Data(Box::new(small()))]);
    apply(
        &mut s,
        [Action::Tick(t0 + VERIFY_WAIT + Duration::from_secs(1))],
    );
    assert_eq!(s.fix_verify, None);
    assert_eq!(
        s.status,
        Some(Status::error(
            "pg-a-1: resolved nothing; still no-primary in pg-a (error), role-mismatch pg-a-1 (warning) after 10 s"
        ))
    );
}

#[test]
fn verify_reports_what_a_fix_made_wrong() {
    let mut s = state();
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    applied_resolving(&mut s, t0);
    // What was expected went away, and the cluster now has two primaries.
    apply(&mut s, [Action::Data(Box::new(small_two_primaries()))]);
    assert_eq!(s.fix_verify, None);
    assert_eq!(
        s.status,
        Some(Status::error(
            "pg-a-1: resolved no-primary in pg-a (error), role-mismatch pg-a-1 (warning); \
             new multiple-primaries in pg-a (error), role-mismatch pg-a-2 (warning)"
        ))
    );
}

#[test]
fn a_result_after_the_dialog_closed_goes_to_the_footer() {
    let mut s = state();
    open_with_plan(&mut s, 1);
    apply(&mut s, [Action::FixSwitchButton, Action::FixChoose]);
    apply(&mut s, [Action::FixClose, applied(false)]);
    assert_eq!(
        s.status,
        Some(Status::error(
            "fix failed for pg-a-1: wrote /t/pg-a.yml (backup /t/pg-a.yml.bak)"
        ))
    );
    assert_eq!(s.fix_verify, None);
}

/// The dialog is closed while a fix is applied (Esc is allowed then) and another is
/// opened: the first fix's answer is not taken for the second's.
#[test]
fn an_apply_answer_is_not_taken_for_another_dialogs() {
    use crate::tui::state::EventKind;
    let mut s = State::new(small_with_consul(), Options::default());
    select(&mut s, inst("pg-a/pg-a-1"));
    let a = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    apply(&mut s, [preview(a, 1)]);
    let effects = apply(&mut s, [Action::FixSwitchButton, Action::FixChoose]);
    assert!(matches!(&effects[..], [Effect::ApplyFix { plan_id, .. }] if *plan_id == a));
    apply(&mut s, [Action::FixClose]);
    select(&mut s, inst("pg-b/pg-b-1"));
    let b = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    assert_ne!(a, b);
    apply(
        &mut s,
        [Action::FixApplied {
            plan_id: a,
            wrote: true,
            ok: true,
            lines: vec!["ok   wrote /t/pg-a.yml".into()],
        }],
    );
    let undo = s.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::Fix { undo, .. } => Some(undo.clone()),
        _ => None,
    });
    let undo = undo.flatten().expect("the fix wrote: it can be undone");
    assert_eq!(
        (undo.cluster.as_str(), undo.instance.as_deref()),
        ("pg-a", Some("pg-a-1")),
        "the event names the dialog open now, not the fix applied"
    );
    assert!(
        dialog(&s).result.is_none(),
        "pg-b-1's dialog shows pg-a-1's result as its own"
    );
}

/// A fix that wrote, whose dialog was closed while it was applied, can still be undone.
#[test]
fn a_fix_closed_while_applying_can_still_be_undone() {
    use crate::tui::state::EventKind;
    let mut s = State::new(small_with_consul(), Options::default());
    select(&mut s, inst("pg-a/pg-a-1"));
    let a = plan_id_of(&apply(&mut s, [Action::FixOpen]));
    apply(&mut s, [preview(a, 1)]);
    apply(&mut s, [Action::FixSwitchButton, Action::FixChoose]);
    apply(&mut s, [Action::FixClose]);
    apply(
        &mut s,
        [Action::FixApplied {
            plan_id: a,
            wrote: true,
            ok: true,
            lines: vec!["ok   wrote /t/pg-a.yml".into()],
        }],
    );
    let last = s.events.last().map(|e| e.kind.clone());
    assert!(
        matches!(last, Some(EventKind::Fix { undo: Some(_), .. })),
        "{last:?}"
    );
}
