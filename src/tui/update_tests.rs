use super::*;
use crate::tui::state::{Options, RowId, Sort};
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
