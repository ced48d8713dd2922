use super::*;
use crate::drift::Finding;
use crate::fix::plan::Destination;
use crate::fix::simulate::short;
use crate::tui::state::{FixButton, Options, RowId, Sort, VERIFY_WAIT};
use crate::tui::testdata::{large, small, small_fixed, small_two_primaries, small_with_consul};
use std::time::Duration;

fn state() -> State {
    State::new(
        small(),
        Options {
            size: (100, 30),
            ..Options::default()
        },
    )
}

fn apply(s: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    actions.into_iter().flat_map(|a| update(s, a)).collect()
}

fn ids(s: &State) -> Vec<RowId> {
    s.rows.iter().filter_map(|r| s.row_id(*r)).collect()
}

fn inst(key: &str) -> RowId {
    RowId::Instance(key.into())
}

fn cluster(name: &str) -> RowId {
    RowId::Cluster(name.into())
}

#[test]
fn small_fleets_start_expanded_large_ones_collapsed() {
    let s = state();
    assert_eq!(
        ids(&s),
        vec![
            cluster("pg-a"),
            inst("pg-a/pg-a-1"),
            inst("pg-a/pg-a-2"),
            cluster("pg-b"),
            inst("pg-b/pg-b-1"),
            inst("pg-b/pg-b-2"),
            cluster("pg-c"),
            inst("pg-c/pg-c-1"),
        ]
    );
    let big = State::new(large(30, 2), Options::default());
    assert_eq!(big.rows.len(), 30, "60 instances: clusters only");
    assert!(big.rows.iter().all(|r| matches!(r, Row::Cluster(_))));
}

#[test]
fn movement_clamps_at_both_ends() {
    let mut s = state();
    apply(&mut s, [Action::MoveUp]);
    assert_eq!(s.selected, 0);
    apply(&mut s, [Action::MoveDown, Action::MoveDown]);
    assert_eq!(s.selected, 2);
    apply(&mut s, [Action::Bottom, Action::MoveDown]);
    assert_eq!(s.selected, s.rows.len() - 1);
    apply(&mut s, [Action::Top]);
    assert_eq!(s.selected, 0);
    apply(&mut s, [Action::PageDown]);
    assert_eq!(
        s.selected,
        s.rows.len() - 1,
        "a page is longer than this fleet"
    );
    apply(&mut s, [Action::PageUp]);
    assert_eq!(s.selected, 0);
}

#[test]
fn page_and_offset_follow_the_terminal_height() {
    let mut s = State::new(
        large(200, 1),
        Options {
            size: (100, 30),
            ..Options::default()
        },
    );
    let h = s.tree_height();
    assert!(h > 5 && h < 30);
    apply(&mut s, [Action::PageDown]);
    assert_eq!(s.selected, h);
    assert!(s.offset <= s.selected && s.selected < s.offset + h);
    apply(&mut s, [Action::Bottom]);
    assert_eq!(s.offset, s.rows.len() - h);
    apply(&mut s, [Action::Resize(100, 60)]);
    assert_eq!(s.size, (100, 60));
    assert!(s.selected < s.offset + s.tree_height());
}

#[test]
fn expand_steps_in_and_collapse_steps_out() {
    let mut s = state();
    apply(&mut s, [Action::MoveDown]); // pg-a-1
    apply(&mut s, [Action::Expand]);
    assert_eq!(s.selected_id(), Some(inst("pg-a/pg-a-1")));
    assert!(matches!(s.rows[2], Row::Entry(_, 0)));
    assert!(matches!(s.rows[3], Row::Entry(_, 1)));
    apply(&mut s, [Action::Expand]); // already open: onto the first observation
    assert_eq!(s.selected_id(), Some(RowId::Entry("pg-a/pg-a-1".into(), 0)));
    apply(&mut s, [Action::Collapse]); // an observation: to its instance
    assert_eq!(s.selected_id(), Some(inst("pg-a/pg-a-1")));
    apply(&mut s, [Action::Collapse]); // open instance: closes
    assert!(!s.rows.iter().any(|r| matches!(r, Row::Entry(..))));
    apply(&mut s, [Action::Collapse]); // closed instance: to its cluster
    assert_eq!(s.selected_id(), Some(cluster("pg-a")));
    apply(&mut s, [Action::Collapse]);
    assert_eq!(s.rows.len(), 6);
    apply(&mut s, [Action::Toggle]);
    assert_eq!(s.rows.len(), 8);
}

#[test]
fn collapse_all_and_expand_all() {
    let mut s = state();
    apply(&mut s, [Action::Bottom]); // pg-c-1
    apply(&mut s, [Action::CollapseAll]);
    assert_eq!(
        ids(&s),
        vec![cluster("pg-a"), cluster("pg-b"), cluster("pg-c")]
    );
    assert_eq!(
        s.selected_id(),
        Some(cluster("pg-c")),
        "selection falls back to the parent"
    );
    apply(&mut s, [Action::ExpandAll]);
    assert_eq!(s.rows.len(), 8);
    assert_eq!(s.selected_id(), Some(cluster("pg-c")));
}

#[test]
fn filter_narrows_as_typed_and_esc_restores_the_view() {
    let mut s = state();
    apply(&mut s, [Action::CollapseAll, Action::StartFilter]);
    assert!(s.filter_mode);
    for c in "role:primary".chars() {
        apply(&mut s, [Action::FilterInput(c)]);
    }
    // pg-a-1 (inventory says primary), pg-b-1; pg-c has none. Matching clusters open.
    assert_eq!(
        ids(&s),
        vec![
            cluster("pg-a"),
            inst("pg-a/pg-a-1"),
            cluster("pg-b"),
            inst("pg-b/pg-b-1")
        ]
    );
    apply(&mut s, [Action::ConfirmFilter]);
    assert!(!s.filter_mode);
    assert_eq!(s.filter_text, "role:primary");
    apply(&mut s, [Action::ClearFilter]);
    assert_eq!(s.rows.len(), 3, "collapsed again, as before the filter");
    assert!(s.filter.is_empty());
}

#[test]
fn filter_backspace_and_terms() {
    let mut s = state();
    apply(&mut s, [Action::StartFilter]);
    for c in "pg-b-2x".chars() {
        apply(&mut s, [Action::FilterInput(c)]);
    }
    assert!(s.rows.is_empty());
    assert_eq!(s.selected, 0);
    apply(&mut s, [Action::FilterBackspace]);
    assert_eq!(ids(&s), vec![cluster("pg-b"), inst("pg-b/pg-b-2")]);
    for _ in 0..10 {
        apply(&mut s, [Action::FilterBackspace]);
    }
    assert!(s.filter_mode, "emptying the filter keeps typing mode");
    assert_eq!(s.rows.len(), 8);
    apply(&mut s, [Action::FilterInput('\u{1b}')]);
    assert_eq!(s.filter_text, "", "control characters are not typed");
}

#[test]
fn filter_by_kind_and_cluster_level_findings() {
    let mut s = state();
    s.set_filter("kind:role-mismatch".into());
    assert_eq!(ids(&s), vec![cluster("pg-a"), inst("pg-a/pg-a-1")]);
    // Targets call both pg-a members replicas; nobody calls pg-c-1 primary.
    s.set_filter("kind:no-primary".into());
    assert_eq!(
        ids(&s),
        vec![
            cluster("pg-a"),
            inst("pg-a/pg-a-1"),
            inst("pg-a/pg-a-2"),
            cluster("pg-c"),
            inst("pg-c/pg-c-1")
        ]
    );
    s.set_filter("sev:error cluster:pg-a kind:role".into());
    assert_eq!(ids(&s), vec![cluster("pg-a"), inst("pg-a/pg-a-1")]);
}

#[test]
fn selection_stays_on_the_item_when_rows_change() {
    let mut s = state();
    apply(&mut s, [Action::Bottom, Action::MoveUp, Action::MoveUp]); // pg-b-2
    assert_eq!(s.selected_id(), Some(inst("pg-b/pg-b-2")));
    apply(&mut s, [Action::ToggleDriftOnly]);
    assert!(s.drift_only);
    assert!(!ids(&s).contains(&inst("pg-b/pg-b-2")));
    assert_eq!(
        s.selected_id(),
        Some(cluster("pg-c")),
        "pg-b is hidden; the index stays"
    );
    apply(&mut s, [Action::ToggleDriftOnly]);
    apply(&mut s, [Action::Bottom, Action::MoveUp, Action::MoveUp]);
    apply(&mut s, [Action::CycleSort]);
    assert_eq!(s.sort, Sort::Drift);
    assert_eq!(s.selected_id(), Some(inst("pg-b/pg-b-2")));
}

#[test]
fn drift_only_keeps_drifting_instances_and_their_clusters() {
    let mut s = state();
    apply(&mut s, [Action::ToggleDriftOnly]);
    assert_eq!(
        ids(&s),
        vec![cluster("pg-a"), inst("pg-a/pg-a-1"), cluster("pg-c")],
        "pg-c drifts as a cluster (no primary), its member does not"
    );
}

#[test]
fn sort_cycles_name_drift_role() {
    let mut s = state();
    apply(&mut s, [Action::CycleSort]);
    let order = ids(&s);
    // Errors (pg-a role-mismatch, pg-c no-primary) before the clean pg-b.
    assert_eq!(order.last(), Some(&inst("pg-b/pg-b-2")));
    apply(&mut s, [Action::CycleSort]);
    assert_eq!(s.sort, Sort::Role);
    apply(&mut s, [Action::CycleSort]);
    assert_eq!(s.sort, Sort::Name);
}

#[test]
fn fresh_data_keeps_selection_and_falls_back_to_parent() {
    let mut s = state();
    apply(&mut s, [Action::MoveDown, Action::MoveDown]); // pg-a-2
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert_eq!(s.selected_id(), Some(inst("pg-a/pg-a-2")));
    // A fleet where pg-a lost its second member: selection goes to the cluster.
    let mut fewer = small();
    for c in &mut fewer.fleet.clusters {
        c.instances.retain(|i| i.name != "pg-a-2");
    }
    apply(&mut s, [Action::Data(Box::new(fewer))]);
    assert_eq!(s.selected_id(), Some(cluster("pg-a")));
    // An empty read leaves nothing selected and nothing to panic over.
    let empty = crate::report::CheckResult::new(Default::default(), Vec::new());
    apply(
        &mut s,
        [
            Action::Data(Box::new(empty)),
            Action::MoveDown,
            Action::Expand,
        ],
    );
    assert_eq!(s.selected_row(), None);
}

#[test]
fn refresh_quit_help_and_focus() {
    let mut s = state();
    assert_eq!(apply(&mut s, [Action::Refresh]), vec![Effect::Refresh]);
    assert!(s.refreshing);
    apply(&mut s, [Action::Data(Box::new(small()))]);
    assert!(!s.refreshing);
    assert_eq!(apply(&mut s, [Action::Quit]), vec![Effect::Quit]);
    apply(&mut s, [Action::ToggleHelp]);
    assert!(s.help);
    apply(&mut s, [Action::CycleFocus]);
    assert_eq!(s.focus, Focus::Findings);
    apply(&mut s, [Action::MoveDown, Action::MoveDown]);
    assert_eq!(
        (s.findings_scroll, s.selected),
        (2, 0),
        "panes scroll, the tree stays"
    );
    apply(&mut s, [Action::MoveUp, Action::MoveUp, Action::MoveUp]);
    assert_eq!(s.findings_scroll, 0);
    apply(&mut s, [Action::CycleFocusBack, Action::CycleFocusBack]);
    assert_eq!(s.focus, Focus::Detail);
}

#[test]
fn selection_findings_by_row_kind() {
    let mut s = state();
    let cluster_findings = s.selection_findings();
    assert!(!cluster_findings.is_empty());
    apply(&mut s, [Action::Bottom, Action::MoveUp, Action::MoveUp]); // pg-b-2: clean
    assert!(s.selection_findings().is_empty());
    apply(&mut s, [Action::Bottom]); // pg-c-1: the cluster's no-primary shows here too
    let kinds: Vec<&str> = s
        .selection_findings()
        .iter()
        .map(|&f| s.findings()[f].kind.code())
        .collect();
    assert!(kinds.contains(&"no-primary"), "{kinds:?}");
}

#[test]
fn ten_thousand_instances_expand_filter_and_collapse() {
    let mut s = State::new(
        large(2500, 4),
        Options {
            size: (120, 40),
            ..Options::default()
        },
    );
    assert_eq!(s.instances.len(), 10_000);
    assert_eq!(
        s.rows.len(),
        2_500,
        "a large fleet starts collapsed to clusters"
    );
    apply(&mut s, [Action::ExpandAll, Action::Bottom]);
    assert_eq!(s.rows.len(), 12_500);
    apply(&mut s, [Action::StartFilter, Action::FilterInput('9')]);
    assert!(s.rows.len() < 12_500);
    apply(&mut s, [Action::ClearFilter, Action::CollapseAll]);
    assert_eq!(s.rows.len(), 2_500);
}

fn select(s: &mut State, id: RowId) {
    match s
        .rows
        .iter()
        .position(|r| s.row_id(*r).as_ref() == Some(&id))
    {
        Some(p) => s.selected = p,
        None => panic!("{id:?} is not visible"),
    }
}

fn typed(s: &mut State, text: &str) -> Vec<Effect> {
    let mut actions = vec![Action::StartCommand];
    actions.extend(text.chars().map(Action::CommandInput));
    actions.push(Action::RunCommand);
    apply(s, actions)
}

#[test]
fn copy_an_instance_emits_its_identity_line() {
    let mut s = state();
    select(&mut s, inst("pg-a/pg-a-1"));
    let effects = apply(&mut s, [Action::Copy]);
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(
        text.starts_with("cluster=pg-a instance=pg-a-1 seq=1 ip=10.0.0.1"),
        "{text}"
    );
    assert!(text.contains("role(inventory)=primary"), "{text}");
    assert!(text.contains("role(targets)=replica"), "{text}");
    assert!(text.contains("drift=role-mismatch"), "{text}");
    assert!(!text.contains('\n'), "one line: {text}");
    let status = s.status.clone().map(|st| st.text).unwrap_or_default();
    assert!(status.starts_with("copied: cluster=pg-a"), "{status}");
    // The next key clears the message; data and ticks do not.
    apply(
        &mut s,
        [
            Action::Tick(std::time::UNIX_EPOCH),
            Action::Data(Box::new(small())),
        ],
    );
    assert!(s.status.is_some());
    apply(&mut s, [Action::MoveDown]);
    assert!(s.status.is_none());
}

#[test]
fn copy_a_cluster_names_its_members() {
    let mut s = state();
    select(&mut s, cluster("pg-b"));
    assert_eq!(
        apply(&mut s, [Action::Copy]),
        vec![Effect::Copy(
            "cluster=pg-b primary=pg-b-1 members=pg-b-1,pg-b-2".into()
        )]
    );
}

#[test]
fn copy_with_nothing_selected_says_so() {
    let mut s = state();
    apply(&mut s, [Action::StartFilter, Action::FilterInput('z')]);
    assert!(s.rows.is_empty());
    assert!(apply(&mut s, [Action::Copy]).is_empty());
    assert!(s.status.as_ref().is_some_and(|st| st.error));
}

#[test]
fn command_line_typing_and_cancel() {
    let mut s = state();
    apply(&mut s, [Action::StartCommand, Action::CommandInput('q')]);
    assert_eq!(s.command.as_deref(), Some("q"));
    apply(&mut s, [Action::CommandInput('\u{1b}')]);
    assert_eq!(
        s.command.as_deref(),
        Some("q"),
        "control characters are dropped"
    );
    apply(&mut s, [Action::CancelCommand]);
    assert_eq!(s.command, None);
    apply(
        &mut s,
        [
            Action::StartCommand,
            Action::CommandInput('x'),
            Action::CommandBackspace,
        ],
    );
    assert_eq!(s.command.as_deref(), Some(""));
    apply(&mut s, [Action::CommandBackspace]);
    assert_eq!(s.command, None, "backspace on an empty line closes it");
    apply(&mut s, [Action::StartCommand, Action::RunCommand]);
    assert_eq!(s.command, None);
    assert!(s.status.is_none(), "an empty command does nothing");
}

#[test]
fn commands_quit_filter_sort_expand_help() {
    let mut s = state();
    assert_eq!(typed(&mut s, "q"), vec![Effect::Quit]);
    assert_eq!(typed(&mut s, "quit"), vec![Effect::Quit]);
    assert!(typed(&mut s, "filter pg-c").is_empty());
    assert_eq!(s.filter_text, "pg-c");
    assert!(!s.filter_mode);
    assert_eq!(ids(&s), vec![cluster("pg-c"), inst("pg-c/pg-c-1")]);
    typed(&mut s, "filter");
    assert!(s.filter_text.is_empty());
    assert_eq!(s.rows.len(), 8);
    typed(&mut s, "sort role");
    assert_eq!(s.sort, Sort::Role);
    typed(&mut s, "sort name");
    assert_eq!(s.sort, Sort::Name);
    typed(&mut s, "collapse");
    assert_eq!(s.rows.len(), 3);
    typed(&mut s, "expand");
    assert_eq!(s.rows.len(), 8);
    typed(&mut s, "help");
    assert!(s.help);
}

#[test]
fn dc_command_asks_for_the_datacenter() {
    let mut s = state();
    assert_eq!(
        typed(&mut s, "dc dc2"),
        vec![Effect::SetDatacenter("dc2".into())]
    );
    assert!(s.refreshing);
    assert!(s.status.as_ref().is_some_and(|st| st.text.contains("dc2")));
}

#[test]
fn unknown_command_is_an_error_in_the_footer() {
    let mut s = state();
    assert!(typed(&mut s, "frobnicate").is_empty());
    let st = s.status.clone();
    assert!(
        st.as_ref()
            .is_some_and(|st| st.error && st.text.contains("unknown command :frobnicate")),
        "{st:?}"
    );
    assert_eq!(s.command, None);
}

#[test]
fn click_selects_and_focuses_the_tree() {
    let mut s = state();
    s.focus = Focus::Detail;
    apply(&mut s, [Action::ClickRow(4)]);
    assert_eq!(s.focus, Focus::Tree);
    assert_eq!(s.selected, 4);
    apply(&mut s, [Action::ClickRow(99)]);
    assert_eq!(s.selected, 4, "a row that is gone selects nothing");
    apply(&mut s, [Action::FocusPane(Focus::Findings)]);
    assert_eq!(s.focus, Focus::Findings);
    assert_eq!(s.selected, 4);
}

#[test]
fn wheel_scrolls_panes_and_the_tree_view() {
    let mut s = State::new(
        large(200, 1),
        Options {
            size: (100, 30),
            ..Options::default()
        },
    );
    let h = s.tree_height();
    apply(&mut s, [Action::Scroll(Focus::Tree, 3)]);
    assert_eq!(s.offset, 3);
    assert_eq!(s.selected, 3, "the selection follows to stay visible");
    assert_eq!(s.focus, Focus::Tree);
    apply(&mut s, [Action::Scroll(Focus::Tree, -100)]);
    assert_eq!(s.offset, 0);
    assert_eq!(s.selected, 3, "still visible: stays");
    apply(&mut s, [Action::Scroll(Focus::Tree, 10_000)]);
    assert_eq!(s.offset, s.rows.len() - h);
    assert!(s.selected >= s.offset && s.selected < s.rows.len());
    apply(&mut s, [Action::Scroll(Focus::Detail, 3)]);
    assert_eq!(s.detail_scroll, 3);
    apply(&mut s, [Action::Scroll(Focus::Findings, -3)]);
    assert_eq!(s.findings_scroll, 0);
    assert_eq!(s.focus, Focus::Tree, "the wheel does not move focus");
}

#[test]
fn tick_sets_the_clock() {
    let mut s = state();
    assert_eq!(s.now, None);
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    assert!(apply(&mut s, [Action::Tick(t)]).is_empty());
    assert_eq!(s.now, Some(t));
}

#[test]
fn source_age_is_now_minus_read_time() {
    use crate::observation::{SourceKind, SourceOutput, SourceReport};
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
    let mut r = SourceReport::new(SourceKind::Inventory, "inv");
    r.read_at = Some(t0);
    let result = crate::report::CheckResult::new(
        crate::fleet::Fleet::build(vec![SourceOutput::new(r, Vec::new())]),
        Vec::new(),
    );
    let mut s = State::new(result, Options::default());
    let line = s.sources[0].clone();
    assert_eq!(line.age(None), None);
    apply(
        &mut s,
        [Action::Tick(t0 + std::time::Duration::from_secs(7))],
    );
    assert_eq!(line.age(s.now), Some(std::time::Duration::from_secs(7)));
    // A clock stepped back reads as "just now", not as an error.
    let earlier = t0 - std::time::Duration::from_secs(5);
    assert_eq!(line.age(Some(earlier)), Some(std::time::Duration::ZERO));
}

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
            "fix failed: wrote /t/pg-a.yml (backup /t/pg-a.yml.bak)"
        ))
    );
    assert_eq!(s.fix_verify, None);
}
