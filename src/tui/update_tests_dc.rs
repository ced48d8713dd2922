//! The reducer on a read across several datacenters: the tree's datacenter level, one
//! cluster name in two datacenters kept apart, and `:dc` switching what is shown.

use super::tests::{apply, cluster, ids, inst};
use super::*;
use crate::drift::Kind;
use crate::tui::mouse::map_mouse;
use crate::tui::state::{FindingsList, Options, RowId, Sort};
use crate::tui::testdata::three_datacenters;
use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

fn state() -> State {
    State::new(
        three_datacenters(),
        Options {
            size: (100, 30),
            ..Options::default()
        },
    )
}

fn dc(name: &str) -> RowId {
    RowId::Datacenter(name.into())
}

fn select(s: &mut State, id: RowId) {
    let at = ids(s).iter().position(|i| *i == id);
    s.selected = at.unwrap_or_else(|| panic!("{id:?} not shown: {:?}", ids(s)));
}

#[test]
fn the_same_cluster_name_in_two_datacenters_is_two_clusters() {
    let s = state();
    assert_eq!(
        ids(&s),
        vec![
            dc("dc1"),
            cluster("pg-a@dc1"),
            inst("pg-a@dc1/pg-a-1"),
            inst("pg-a@dc1/pg-a-2"),
            cluster("pg-b@dc1"),
            inst("pg-b@dc1/pg-b-1"),
            dc("dc2"),
            cluster("pg-a@dc2"),
            inst("pg-a@dc2/pg-a-1"),
            cluster("pg-c@dc2"),
            inst("pg-c@dc2/pg-c-1"),
            dc("dc3"),
            dc(""),
            cluster("pg-d"),
            inst("pg-d/pg-d-1"),
        ]
    );
    // Each pg-a keeps its own findings: dc1's two primaries are not dc2's.
    let pg_a = |key: &str| s.clusters.iter().find(|c| c.key == key).unwrap();
    let kinds = |key: &str| -> Vec<Kind> {
        pg_a(key)
            .all_findings
            .iter()
            .map(|&f| s.findings()[f].kind)
            .collect()
    };
    assert!(kinds("pg-a@dc1").contains(&Kind::MultiplePrimaries));
    assert!(!kinds("pg-a@dc2").contains(&Kind::MultiplePrimaries));
    assert!(kinds("pg-a@dc2").contains(&Kind::IdentityCollision));
    assert_eq!(s.datacenters[2].name.as_deref(), Some("dc3"));
    assert!(!s.datacenters[2].read, "dc3 could not be reached");
}

#[test]
fn folding_one_pg_a_leaves_the_other_open() {
    let mut s = state();
    select(&mut s, cluster("pg-a@dc1"));
    apply(&mut s, [Action::Collapse]);
    assert!(!ids(&s).contains(&inst("pg-a@dc1/pg-a-1")));
    assert!(ids(&s).contains(&inst("pg-a@dc2/pg-a-1")));
    assert_eq!(s.selected_id(), Some(cluster("pg-a@dc1")));
}

#[test]
fn datacenter_rows_expand_and_collapse_like_cluster_rows() {
    let mut s = state();
    select(&mut s, inst("pg-a@dc2/pg-a-1"));
    // h walks up: instance -> cluster -> datacenter, then folds the datacenter.
    apply(&mut s, [Action::Collapse]);
    assert_eq!(s.selected_id(), Some(cluster("pg-a@dc2")));
    apply(&mut s, [Action::Collapse]);
    assert!(!ids(&s).contains(&inst("pg-a@dc2/pg-a-1")), "pg-a folded");
    apply(&mut s, [Action::Collapse]);
    assert_eq!(s.selected_id(), Some(dc("dc2")));
    apply(&mut s, [Action::Collapse]);
    assert_eq!(s.selected_id(), Some(dc("dc2")));
    assert!(!ids(&s).contains(&cluster("pg-c@dc2")), "dc2 folded");
    assert!(ids(&s).contains(&cluster("pg-b@dc1")), "dc1 untouched");
    // l opens it, and on an open datacenter steps onto its first cluster.
    apply(&mut s, [Action::Expand]);
    assert!(ids(&s).contains(&cluster("pg-c@dc2")));
    assert!(
        !ids(&s).contains(&inst("pg-a@dc2/pg-a-1")),
        "pg-a stays folded"
    );
    apply(&mut s, [Action::Expand]);
    assert_eq!(s.selected_id(), Some(cluster("pg-a@dc2")));
    // Enter/space toggles.
    select(&mut s, dc("dc1"));
    apply(&mut s, [Action::Toggle]);
    assert_eq!(ids(&s)[..2], [dc("dc1"), dc("dc2")]);
    apply(&mut s, [Action::Toggle]);
    assert_eq!(ids(&s)[1], cluster("pg-a@dc1"));
    // Collapse-all leaves the datacenters; expand-all opens everything again.
    apply(&mut s, [Action::CollapseAll]);
    assert_eq!(ids(&s), vec![dc("dc1"), dc("dc2"), dc("dc3"), dc("")]);
    apply(&mut s, [Action::ExpandAll]);
    assert_eq!(ids(&s).len(), 15);
    // A new read keeps what was folded.
    select(&mut s, dc("dc2"));
    apply(&mut s, [Action::Collapse]);
    apply(&mut s, [Action::Data(Box::new(three_datacenters()))]);
    assert!(!ids(&s).contains(&cluster("pg-c@dc2")));
    assert_eq!(s.selected_id(), Some(dc("dc2")));
}

#[test]
fn n_and_shift_n_cross_datacenters_and_open_them() {
    let mut s = state();
    apply(&mut s, [Action::CollapseAll]);
    assert_eq!(s.selected_id(), Some(dc("dc1")));
    apply(&mut s, [Action::NextDrift]);
    assert_eq!(s.selected_id(), Some(inst("pg-a@dc1/pg-a-2")));
    apply(&mut s, [Action::NextDrift]);
    assert_eq!(s.selected_id(), Some(inst("pg-c@dc2/pg-c-1")));
    assert!(s.datacenter_expanded(1), "n opened dc2");
    // Wraps, both ways.
    apply(&mut s, [Action::NextDrift]);
    assert_eq!(s.selected_id(), Some(inst("pg-a@dc1/pg-a-2")));
    apply(&mut s, [Action::PrevDrift]);
    assert_eq!(s.selected_id(), Some(inst("pg-c@dc2/pg-c-1")));
    // From a datacenter row: the next drift after it in tree order.
    select(&mut s, dc("dc2"));
    apply(&mut s, [Action::PrevDrift]);
    assert_eq!(s.selected_id(), Some(inst("pg-a@dc1/pg-a-2")));
    assert_eq!(
        s.drifting_order()
            .iter()
            .map(|&i| s.instances[i].key.as_str())
            .collect::<Vec<_>>(),
        vec!["pg-a@dc1/pg-a-2", "pg-c@dc2/pg-c-1"]
    );
}

#[test]
fn the_findings_list_jumps_to_the_cluster_of_the_findings_datacenter() {
    let mut s = state();
    apply(&mut s, [Action::CollapseAll]);
    let collision = s
        .findings()
        .iter()
        .position(|f| f.kind == Kind::IdentityCollision)
        .unwrap();
    let at = s.findings_order().iter().position(|&f| f == collision);
    s.findings_list = Some(FindingsList {
        selected: at.unwrap(),
        by_place: false,
    });
    apply(&mut s, [Action::FindingsJump]);
    assert_eq!(s.selected_id(), Some(cluster("pg-a@dc2")));
    // An instance's finding opens its datacenter and cluster.
    let role = s
        .findings()
        .iter()
        .position(|f| f.instance.as_deref() == Some("pg-c-1"))
        .unwrap();
    let at = s.findings_order().iter().position(|&f| f == role);
    apply(&mut s, [Action::CollapseAll]);
    s.findings_list = Some(FindingsList {
        selected: at.unwrap(),
        by_place: false,
    });
    apply(&mut s, [Action::FindingsJump]);
    assert_eq!(s.selected_id(), Some(inst("pg-c@dc2/pg-c-1")));
}

#[test]
fn the_dc_filter_key_keeps_one_datacenter() {
    let mut s = state();
    s.set_filter("dc:dc2".into());
    assert_eq!(
        ids(&s),
        vec![
            dc("dc2"),
            cluster("pg-a@dc2"),
            inst("pg-a@dc2/pg-a-1"),
            cluster("pg-c@dc2"),
            inst("pg-c@dc2/pg-c-1"),
        ]
    );
    // A filter opens the datacenters holding its matches.
    apply(&mut s, [Action::ClearFilter, Action::CollapseAll]);
    s.set_filter("pg-c-1".into());
    assert_eq!(
        ids(&s),
        vec![dc("dc2"), cluster("pg-c@dc2"), inst("pg-c@dc2/pg-c-1")]
    );
}

#[test]
fn drift_only_keeps_a_datacenter_not_read_in_sight() {
    let mut s = state();
    apply(&mut s, [Action::ToggleDriftOnly]);
    let shown = ids(&s);
    assert!(shown.contains(&dc("dc3")), "{shown:?}");
    assert!(shown.contains(&inst("pg-c@dc2/pg-c-1")));
    assert!(!shown.contains(&cluster("pg-b@dc1")), "{shown:?}");
}

#[test]
fn sorting_orders_clusters_within_their_datacenter() {
    let mut s = state();
    apply(&mut s, [Action::CollapseAll, Action::ExpandAll]);
    s.sort = Sort::Drift;
    s.rebuild();
    let shown = ids(&s);
    // Sorted by drift across the fleet, clean pg-b would come after dc2's drifting
    // clusters; sorted within its datacenter it stays under dc1. The datacenters stay
    // nearest first whatever their drift.
    let pos = |id: RowId| shown.iter().position(|x| *x == id).unwrap();
    assert!(pos(dc("dc1")) < pos(dc("dc2")) && pos(dc("dc2")) < pos(dc("dc3")));
    assert!(pos(cluster("pg-a@dc1")) < pos(cluster("pg-b@dc1")));
    assert!(pos(cluster("pg-b@dc1")) < pos(dc("dc2")));
}

#[test]
fn the_fix_dialog_plans_in_the_rows_datacenter() {
    let mut s = state();
    select(&mut s, dc("dc2"));
    assert!(apply(&mut s, [Action::FixOpen]).is_empty());
    assert!(
        s.fix.is_none(),
        "a datacenter is not one place to re-register"
    );
    select(&mut s, inst("pg-a@dc2/pg-a-1"));
    match &apply(&mut s, [Action::FixOpen])[..] {
        [
            Effect::PlanFix {
                cluster,
                instance,
                datacenter,
                ..
            },
        ] => {
            assert_eq!(cluster, "pg-a");
            assert_eq!(instance.as_deref(), Some("pg-a-1"));
            assert_eq!(datacenter.as_deref(), Some("dc2"));
        }
        other => panic!("expected a plan, got {other:?}"),
    }
    apply(&mut s, [Action::FixClose]);
    select(&mut s, cluster("pg-a@dc1"));
    match &apply(&mut s, [Action::FixOpen])[..] {
        [Effect::PlanFix { datacenter, .. }] => assert_eq!(datacenter.as_deref(), Some("dc1")),
        other => panic!("expected a plan, got {other:?}"),
    }
}

#[test]
fn a_click_selects_a_datacenter_row() {
    let mut s = state();
    let at = ids(&s).iter().position(|i| *i == dc("dc2")).unwrap();
    // Wide layout: the tree's rows start at y 4.
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: 5,
        row: 4 + u16::try_from(at).unwrap(),
        modifiers: KeyModifiers::NONE,
    };
    let action = map_mouse(click, &s).unwrap();
    apply(&mut s, [action]);
    assert_eq!(s.selected_id(), Some(dc("dc2")));
}

#[test]
fn switching_datacenters_keeps_the_selection_where_it_still_is() {
    let mut s = state();
    select(&mut s, inst("pg-a@dc2/pg-a-1"));
    let dc2 = three_datacenters().datacenter_view("dc2").unwrap();
    apply(&mut s, [Action::Data(Box::new(dc2))]);
    // One datacenter shown: no datacenter rows, the same instance selected.
    assert!(s.datacenters.is_empty());
    assert_eq!(ids(&s)[0], cluster("pg-a@dc2"));
    assert_eq!(s.selected_id(), Some(inst("pg-a@dc2/pg-a-1")));
    apply(&mut s, [Action::Data(Box::new(three_datacenters()))]);
    assert_eq!(s.selected_id(), Some(inst("pg-a@dc2/pg-a-1")));
    assert_eq!(ids(&s)[0], dc("dc1"), "every datacenter open again");
    assert!(ids(&s).contains(&cluster("pg-b@dc1")));
    // What is not in the datacenter shown cannot stay selected; something is.
    select(&mut s, inst("pg-b@dc1/pg-b-1"));
    let dc2 = three_datacenters().datacenter_view("dc2").unwrap();
    apply(&mut s, [Action::Data(Box::new(dc2))]);
    assert!(s.selected < s.rows.len());
}

#[test]
fn a_copy_names_the_datacenter() {
    let mut s = state();
    select(&mut s, dc("dc2"));
    assert_eq!(
        apply(&mut s, [Action::Copy]),
        vec![Effect::Copy(
            "datacenter=dc2 findings=3 clusters=pg-a,pg-c".into()
        )]
    );
    select(&mut s, cluster("pg-a@dc2"));
    match &apply(&mut s, [Action::Copy])[..] {
        [Effect::Copy(text)] => assert!(text.starts_with("cluster=pg-a datacenter=dc2 "), "{text}"),
        other => panic!("expected a copy, got {other:?}"),
    }
}

#[test]
fn the_failover_view_is_of_the_rows_datacenter() {
    let mut s = state();
    select(&mut s, inst("pg-a@dc2/pg-a-1"));
    apply(&mut s, [Action::FailoverOpen]);
    assert_eq!(
        s.failover.as_ref().map(|v| v.cluster.as_str()),
        Some("pg-a@dc2")
    );
    // dc2's pg-a has one member: the view cannot move past it.
    apply(&mut s, [Action::FailoverMove(1)]);
    assert_eq!(s.failover.as_ref().map(|v| v.selected), Some(0));
    // Its fix key opens the dialog on dc2's member, not dc1's.
    match &apply(&mut s, [Action::FailoverFix])[..] {
        [Effect::PlanFix { datacenter, .. }] => assert_eq!(datacenter.as_deref(), Some("dc2")),
        other => panic!("expected a plan, got {other:?}"),
    }
    assert_eq!(s.selected_id(), Some(inst("pg-a@dc2/pg-a-1")));
    // By name alone, the nearest; by name@dc, that one.
    apply(
        &mut s,
        [Action::FixClose, Action::FailoverOf("pg-a".into())],
    );
    assert_eq!(
        s.failover.as_ref().map(|v| v.cluster.as_str()),
        Some("pg-a@dc1")
    );
    apply(
        &mut s,
        [Action::FailoverClose, Action::FailoverOf("pg-a@dc2".into())],
    );
    assert_eq!(
        s.failover.as_ref().map(|v| v.cluster.as_str()),
        Some("pg-a@dc2")
    );
    apply(&mut s, [Action::FailoverClose]);
    select(&mut s, dc("dc1"));
    apply(&mut s, [Action::FailoverOpen]);
    assert!(s.failover.is_none(), "a datacenter is not a cluster");
}

#[test]
fn a_fix_is_verified_against_its_own_datacenters_cluster() {
    let mut s = state();
    select(&mut s, cluster("pg-a@dc2"));
    apply(&mut s, [Action::FixOpen]);
    let preview = Action::FixPreview {
        plan_id: 1,
        lines: vec!["write consul (pg-a-1)".into()],
        writes: 1,
        error: None,
        risks: Vec::new(),
        resolves: Vec::new(),
        creates: Vec::new(),
    };
    let effects = apply(
        &mut s,
        [preview, Action::FixSwitchButton, Action::FixChoose],
    );
    assert!(
        matches!(&effects[..], [Effect::ApplyFix { plan_id: 1, .. }]),
        "{effects:?}"
    );
    apply(
        &mut s,
        [Action::FixApplied {
            plan_id: 1,
            wrote: true,
            ok: true,
            lines: vec!["ok".into()],
        }],
    );
    let v = s.fix_verify.as_ref().unwrap();
    assert_eq!(v.datacenter.as_deref(), Some("dc2"));
    // dc1's pg-a and its two primaries are another cluster.
    assert!(!v.before.is_empty());
    assert!(
        v.before
            .iter()
            .all(|f| f.datacenter.as_deref() == Some("dc2") && f.kind != Kind::MultiplePrimaries),
        "{:?}",
        v.before
    );
    // The next read still has dc2's collision: said so, nothing about dc1's.
    apply(&mut s, [Action::Data(Box::new(three_datacenters()))]);
    let text = s
        .status
        .as_ref()
        .map(|st| st.text.clone())
        .unwrap_or_default();
    assert!(text.contains("identity-collision"), "{text}");
    assert!(!text.contains("multiple-primaries"), "{text}");
}

#[test]
fn events_tell_each_datacenters_consul_apart() {
    let mut s = state();
    let mut next = three_datacenters();
    for r in &mut next.fleet.sources {
        if r.datacenter.as_deref() == Some("dc1") {
            r.error("connection refused");
            r.stale = true;
        }
    }
    apply(&mut s, [Action::Data(Box::new(next))]);
    let texts: Vec<&str> = s.events.iter().map(|e| e.text.as_str()).collect();
    // dc3 was failing already; dc1's Consul failing now is news of its own.
    assert!(
        texts.contains(&"consul@dc1: failing: connection refused"),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.starts_with("consul@dc3")),
        "{texts:?}"
    );
}
