//! Reducer tests for moving through the drift: opening on it, `n` / `N`, the findings list.

use super::tests::apply;
use super::*;
use crate::fleet::Fleet;
use crate::report::CheckResult;
use crate::tui::state::{Applying, EventKind, FixButton, Options, RowId};
use crate::tui::testdata::{large, small};

fn state() -> State {
    State::new(
        small(),
        Options {
            size: (100, 30),
            ..Options::default()
        },
    )
}

fn inst(key: &str) -> Option<RowId> {
    Some(RowId::Instance(key.into()))
}

#[test]
fn the_first_read_opens_on_the_first_drifting_instance() {
    let loading = CheckResult::new(Fleet::default(), Vec::new());
    let mut s = State::new(loading, Options::default());
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert_eq!(s.selected_id(), inst("pg-a/pg-a-1"));
    // Later reads keep the user's selection.
    apply(&mut s, [Action::Top, Action::Data(Box::new(small()))]);
    assert_eq!(s.selected_id(), Some(RowId::Cluster("pg-a".into())));
}

#[test]
fn a_clean_first_read_stays_on_the_first_row() {
    let loading = CheckResult::new(Fleet::default(), Vec::new());
    let mut s = State::new(loading, Options::default());
    apply(&mut s, [Action::Data(Box::new(large(3, 2)))]);
    assert_eq!(s.selected, 0);
    assert_eq!(s.drifting_count(), 0);
    apply(&mut s, [Action::NextDrift]);
    assert_eq!(s.selected, 0);
    assert_eq!(
        s.status.as_ref().map(|m| m.text.as_str()),
        Some("no instance drifts")
    );
}

#[test]
fn n_and_shift_n_step_through_the_drift_and_wrap() {
    let mut s = state();
    let order = s.drifting_order();
    assert!(!order.is_empty());
    let keys: Vec<String> = order.iter().map(|&i| s.instances[i].key.clone()).collect();
    assert_eq!(keys[0], "pg-a/pg-a-1");
    // From the first row (a cluster), n goes to every drifting instance in turn, then wraps.
    for k in &keys {
        apply(&mut s, [Action::NextDrift]);
        assert_eq!(s.selected_id(), inst(k));
    }
    apply(&mut s, [Action::NextDrift]);
    assert_eq!(s.selected_id(), inst(&keys[0]));
    // N from the first wraps to the last.
    apply(&mut s, [Action::PrevDrift]);
    assert_eq!(s.selected_id(), inst(&keys[keys.len() - 1]));
}

#[test]
fn n_opens_a_collapsed_cluster() {
    let mut s = state();
    apply(&mut s, [Action::CollapseAll, Action::Bottom]);
    apply(&mut s, [Action::NextDrift]);
    assert_eq!(s.selected_id(), inst("pg-a/pg-a-1"));
    assert!(s.expanded.contains("c:pg-a"));
}

#[test]
fn the_findings_list_jumps_to_the_finding_s_instance() {
    let mut s = state();
    apply(&mut s, [Action::ToggleFindings]);
    assert!(s.findings_list.is_some());
    let order = s.findings_order();
    assert_eq!(order.len(), s.findings().len());
    // Worst first.
    let sev: Vec<_> = order.iter().map(|&i| s.findings()[i].severity).collect();
    assert!(sev.windows(2).all(|w| w[0] >= w[1]), "{sev:?}");
    let want = order
        .iter()
        .position(|&i| s.findings()[i].instance.as_deref() == Some("pg-a-1"));
    let Some(want) = want else {
        panic!("no finding of pg-a-1");
    };
    // A filter that hides the instance is dropped by the jump.
    s.set_filter("pg-b".into());
    let down = isize::try_from(want).unwrap_or(0);
    apply(&mut s, [Action::FindingsMove(down), Action::FindingsJump]);
    assert!(s.findings_list.is_none());
    assert_eq!(s.selected_id(), inst("pg-a/pg-a-1"));
    assert!(s.filter_text.is_empty());
}

#[test]
fn the_findings_list_sorts_by_place_keeping_the_selection() {
    let mut s = state();
    apply(&mut s, [Action::ToggleFindings, Action::FindingsMove(1)]);
    let before = s.findings_order()[1];
    apply(&mut s, [Action::FindingsSort]);
    let l = s.findings_list.unwrap_or_default();
    assert!(l.by_place);
    assert_eq!(s.findings_order()[l.selected], before);
    let places: Vec<_> = s
        .findings_order()
        .iter()
        .map(|&i| s.findings()[i].cluster.clone())
        .collect();
    assert!(places.windows(2).all(|w| w[0] <= w[1]), "{places:?}");
    apply(
        &mut s,
        [Action::FindingsMove(-100), Action::FindingsMove(100)],
    );
    assert_eq!(
        s.findings_list.map(|l| l.selected),
        Some(s.findings().len() - 1)
    );
}

#[test]
fn the_findings_command_opens_the_list() {
    let mut s = state();
    apply(
        &mut s,
        [Action::StartCommand]
            .into_iter()
            .chain("findings".chars().map(Action::CommandInput))
            .chain([Action::RunCommand]),
    );
    assert!(s.findings_list.is_some());
}

fn at(secs: u64) -> Action {
    Action::Tick(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

#[test]
fn reads_leave_events_of_what_changed() {
    use crate::tui::testdata::small_fixed;
    let mut s = state();
    // 03:12:07 UTC.
    apply(&mut s, [at(3 * 3600 + 12 * 60 + 7)]);
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert!(s.events.is_empty(), "an unchanged read is no event");
    apply(&mut s, [Action::Data(Box::new(small_fixed()))]);
    let lines: Vec<String> = s.events.iter().map(|e| e.line()).collect();
    assert!(
        lines.contains(&"03:12:07 targets: pg-a/pg-a-1 role replica -> primary".to_string()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("03:12:07 resolved: W role-mismatch pg-a-1")),
        "{lines:?}"
    );
    apply(&mut s, [at(3 * 3600 + 15 * 60 + 40)]);
    apply(&mut s, [Action::Data(Box::new(small()))]);
    let lines: Vec<String> = s.events.iter().map(|e| e.line()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("03:15:40 appeared: W role-mismatch")),
        "{lines:?}"
    );
}

#[test]
fn the_first_read_is_the_start_not_a_change() {
    let loading = CheckResult::new(Fleet::default(), Vec::new());
    let mut s = State::new(loading, Options::default());
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert!(s.events.is_empty());
}

#[test]
fn y_in_the_events_pane_copies_the_timeline() {
    use crate::tui::testdata::small_fixed;
    let mut s = state();
    assert!(apply(&mut s, [Action::ToggleEvents, Action::Copy]).is_empty());
    assert_eq!(
        s.status.as_ref().map(|m| m.text.as_str()),
        Some("no events yet to copy")
    );
    apply(&mut s, [Action::Data(Box::new(small_fixed()))]);
    let effects = apply(&mut s, [Action::Copy]);
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(text, &s.events_text());
    assert!(text.contains("--:--:-- targets: pg-a/pg-a-1 role replica -> primary"));
    assert_eq!(text.lines().count(), s.events.len());
}

#[test]
fn a_fix_leaves_an_event() {
    let mut s = state();
    apply(&mut s, [Action::NextDrift, Action::FixOpen]);
    sent(&mut s, 1);
    apply(
        &mut s,
        [Action::FixApplied {
            plan_id: 1,
            wrote: true,
            ok: true,
            lines: vec!["targets pg-a.yml: pg-a-1 re-registered".into()],
        }],
    );
    let last = s.events.last().map(|e| e.text.clone()).unwrap_or_default();
    assert!(last.starts_with("fix applied: pg-a-1 in "), "{last}");
    apply(&mut s, [Action::StartCommand]);
    apply(&mut s, "events".chars().map(Action::CommandInput));
    apply(&mut s, [Action::RunCommand]);
    assert_eq!(s.events_view.map(|v| v.selected), Some(s.events.len() - 1));
}

fn typed(s: &mut State, text: &str) {
    apply(s, [Action::StartCommand]);
    apply(s, text.chars().map(Action::CommandInput));
}

#[test]
fn the_command_line_completes_and_remembers() {
    let mut s = state();
    typed(&mut s, "fi");
    apply(&mut s, [Action::CommandComplete]);
    // :filter, :findings: the common prefix, and both listed.
    assert_eq!(s.command.as_deref(), Some("fi"));
    let listed = s
        .status
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default();
    assert!(
        listed.contains(":filter") && listed.contains(":findings"),
        "{listed}"
    );
    apply(&mut s, [Action::CommandInput('n'), Action::CommandComplete]);
    assert_eq!(s.command.as_deref(), Some("findings"));
    apply(&mut s, [Action::RunCommand, Action::ToggleFindings]);
    typed(&mut s, "sor");
    apply(&mut s, [Action::CommandComplete]);
    assert_eq!(s.command.as_deref(), Some("sort "));
    apply(&mut s, "drift".chars().map(Action::CommandInput));
    apply(&mut s, [Action::RunCommand]);
    // Up walks back, Down forward, past the newest the line is empty again.
    apply(&mut s, [Action::StartCommand, Action::CommandHistory(-1)]);
    assert_eq!(s.command.as_deref(), Some("sort drift"));
    apply(&mut s, [Action::CommandHistory(-1)]);
    assert_eq!(s.command.as_deref(), Some("findings"));
    apply(&mut s, [Action::CommandHistory(-1)]);
    assert_eq!(s.command.as_deref(), Some("findings"));
    apply(
        &mut s,
        [Action::CommandHistory(1), Action::CommandHistory(1)],
    );
    assert_eq!(s.command.as_deref(), Some(""));
}

/// pg-a-1's fix applied under plan id 7 (writing when `wrote`), its dialog closed, the
/// events pane open on its event.
fn fixed(wrote: bool) -> State {
    let mut s = state();
    apply(&mut s, [Action::NextDrift, Action::FixOpen]);
    sent(&mut s, 7);
    apply(
        &mut s,
        [
            Action::FixApplied {
                plan_id: 7,
                wrote,
                ok: wrote,
                lines: vec!["ok   file /t/pg-a.yml: written".into()],
            },
            Action::FixClose,
            Action::ToggleEvents,
        ],
    );
    s
}

/// Marks the open dialog's plan as sent to be applied under `plan_id`, as Apply does.
fn sent(s: &mut State, plan_id: u64) {
    let d = s.fix.as_mut().expect("a dialog");
    d.plan_id = plan_id;
    d.applying = true;
    let sent = Applying::sent(d);
    s.applying.insert(plan_id, sent);
}

fn footer_text(s: &State) -> String {
    s.status
        .as_ref()
        .map(|m| m.text.clone())
        .unwrap_or_default()
}

#[test]
fn u_on_a_fix_event_plans_its_undo_in_the_same_dialog() {
    let mut s = fixed(true);
    let target = s.events.last().map(|e| e.kind.clone());
    assert!(
        matches!(&target, Some(EventKind::Fix { ok: true, undo: Some(r), .. }) if r.applied == 7 && r.instance.as_deref() == Some("pg-a-1")),
        "{target:?}"
    );
    let effects = apply(&mut s, [Action::Undo]);
    let [
        Effect::PlanUndo {
            plan_id,
            applied: 7,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}");
    };
    let d = s.fix.as_ref().expect("the dialog is open");
    assert_eq!(
        (d.undo, d.plan_id, d.button),
        (Some(7), *plan_id, FixButton::Cancel)
    );
    assert_eq!(d.instance.as_deref(), Some("pg-a-1"));
    // An undo writes where the fix wrote: `t` has nothing to switch to.
    let target = d.target;
    assert!(apply(&mut s, [Action::FixCycleTarget]).is_empty());
    assert_eq!(s.fix.as_ref().map(|d| d.target), Some(target));
    assert!(
        footer_text(&s).contains("no other target"),
        "{}",
        footer_text(&s)
    );
    // Applying goes the way of every fix: Apply, the outcome, an event saying undo.
    let id = *plan_id;
    apply(&mut s, [preview(id, 1), Action::FixSwitchButton]);
    assert_eq!(
        apply(&mut s, [Action::FixChoose]),
        [Effect::ApplyFix {
            plan_id: id,
            accept_risks: false
        }]
    );
    apply(
        &mut s,
        [Action::FixApplied {
            plan_id: id,
            wrote: true,
            ok: true,
            lines: vec!["ok   file /t/pg-a.yml: written".into()],
        }],
    );
    let last = s.events.last().map(|e| e.text.clone()).unwrap_or_default();
    assert!(last.starts_with("undo applied: pg-a-1 in "), "{last}");
    assert!(s.fix_verify.is_some(), "the undo is checked like a fix");
}

fn preview(plan_id: u64, writes: usize) -> Action {
    Action::FixPreview {
        plan_id,
        lines: vec!["undo the fix of pg-a-1 in targets applied at 2026-11-30T12:00:00Z".into()],
        writes,
        error: None,
        risks: Vec::new(),
        resolves: Vec::new(),
        creates: Vec::new(),
    }
}

#[test]
fn u_elsewhere_says_why_not() {
    let mut s = fixed(true);
    apply(&mut s, [Action::ToggleEvents]);
    assert!(apply(&mut s, [Action::Undo]).is_empty());
    assert!(s.fix.is_none());
    assert!(
        footer_text(&s).contains("events pane (e)"),
        "{}",
        footer_text(&s)
    );
    // On an event that is not a fix.
    s.push_event(EventKind::Recovered, "consul: recovered".into());
    apply(&mut s, [Action::ToggleEvents]);
    assert!(apply(&mut s, [Action::Undo]).is_empty());
    assert!(
        footer_text(&s).starts_with("not a fix"),
        "{}",
        footer_text(&s)
    );
    // On a fix that wrote nothing.
    let mut s = fixed(false);
    assert!(apply(&mut s, [Action::Undo]).is_empty());
    assert!(s.fix.is_none());
    assert_eq!(footer_text(&s), "that fix wrote nothing: nothing to undo");
}

#[test]
fn colon_undo_takes_the_latest_fix_that_wrote() {
    let mut s = state();
    typed(&mut s, "undo");
    assert!(apply(&mut s, [Action::RunCommand]).is_empty());
    assert_eq!(footer_text(&s), "no fix applied in this session to undo");
    let mut s = fixed(true);
    apply(&mut s, [Action::ToggleEvents]);
    s.push_event(
        EventKind::Fix {
            ok: false,
            undo: None,
            undoes: false,
        },
        "fix failed: x".into(),
    );
    typed(&mut s, "undo");
    let effects = apply(&mut s, [Action::RunCommand]);
    assert!(
        matches!(effects.as_slice(), [Effect::PlanUndo { applied: 7, .. }]),
        "{effects:?}"
    );
}

#[test]
fn an_undo_is_verified_once_the_findings_it_brings_back_are_read() {
    use crate::tui::testdata::small_fixed;
    // The fix was verified: pg-a-1 agrees everywhere.
    let mut s = fixed(true);
    apply(&mut s, [Action::Data(Box::new(small_fixed()))]);
    let back: Vec<_> = small()
        .findings
        .into_iter()
        .filter(|f| f.instance.as_deref() == Some("pg-a-1"))
        .collect();
    assert!(!back.is_empty());
    let effects = apply(&mut s, [Action::Undo]);
    let [Effect::PlanUndo { plan_id, .. }] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    let id = *plan_id;
    let mut answer = preview(id, 1);
    if let Action::FixPreview { creates, .. } = &mut answer {
        *creates = back.clone();
    }
    apply(&mut s, [answer, Action::FixSwitchButton, Action::FixChoose]);
    apply(
        &mut s,
        [Action::FixApplied {
            plan_id: id,
            wrote: true,
            ok: true,
            lines: vec!["ok   file /t/pg-a.yml: written".into()],
        }],
    );
    // A read made before the write shows none of them: the check goes on waiting.
    apply(&mut s, [Action::Data(Box::new(small_fixed()))]);
    assert!(s.fix_verify.is_some());
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert!(s.fix_verify.is_none());
    let text = footer_text(&s);
    assert!(
        text.starts_with("pg-a-1: ") && text.contains("new "),
        "{text}"
    );
}
