//! Reducer tests for the tree and the footer: movement, expanding, filtering and sorting,
//! copying, the command line, the mouse and the clock. The helpers here are shared with the
//! sibling test modules.

use super::*;
use crate::tui::state::{Options, RowId, Sort};
use crate::tui::testdata::{large, small};

pub(super) fn state() -> State {
    State::new(
        small(),
        Options {
            size: (100, 30),
            ..Options::default()
        },
    )
}

pub(super) fn apply(s: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Effect> {
    actions.into_iter().flat_map(|a| update(s, a)).collect()
}

pub(super) fn ids(s: &State) -> Vec<RowId> {
    s.rows.iter().filter_map(|r| s.row_id(*r)).collect()
}

pub(super) fn inst(key: &str) -> RowId {
    RowId::Instance(key.into())
}

pub(super) fn cluster(name: &str) -> RowId {
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

pub(super) fn select(s: &mut State, id: RowId) {
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
