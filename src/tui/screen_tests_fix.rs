//! Whole-screen tests of the fix dialog: planning, the preview focused on Cancel, read-only
//! mode, the result after applying, and a plan that would create an error.

use super::screen_tests::{find, footer, press, render, state, text};
use crate::fix::plan::Destination;
use crate::tui::action::{Action, Effect};
use crate::tui::state::State;
use crate::tui::testdata::demo_result;
use crate::tui::update::update;
use ratatui::style::{Color, Modifier};

/// The demo fleet, writes allowed, pg-src-1 (Consul calls the primary a replica) selected.
async fn on_pg_src_1(read_only: bool) -> State {
    let mut s = state(demo_result().await, (100, 30));
    s.read_only = read_only;
    press(&mut s, "/pg-src-1\nj");
    assert_eq!(
        s.selected_id(),
        Some(crate::tui::state::RowId::Instance("pg-src/pg-src-1".into()))
    );
    s
}

/// What the runtime renders for the Consul plan of pg-src-1.
fn consul_plan(plan_id: u64) -> Action {
    Action::FixPreview {
        plan_id,
        lines: [
            "PUT http://127.10.10.21:8500/v1/agent/service/register (pg-src-1 postgres)",
            "-   Tags: [\"replica\", \"pg-src\"]",
            "+   Tags: [\"primary\", \"pg-src\"]",
            "-   Meta.role: replica",
            "+   Meta.role: primary",
            "PUT http://127.10.10.21:8500/v1/agent/service/register (pg-src-1 pgbouncer)",
            "-   Meta.role: replica",
            "+   Meta.role: primary",
            "warning: services defined in the node's /etc/consul.d may revert at the next agent reload",
        ]
        .map(String::from)
        .to_vec(),
        writes: 2,
        error: None,
        risks: Vec::new(),
        resolves: Vec::new(),
        creates: Vec::new(),
    }
}

/// Opens the dialog with `r` and switches it to Consul with `t`; the id of that plan.
fn open_on_consul(s: &mut State) -> u64 {
    let effects = press(s, "rtt");
    match effects.last() {
        Some(Effect::PlanFix {
            plan_id,
            cluster,
            instance: Some(instance),
            target: Destination::Consul,
            ..
        }) if cluster == "pg-src" && instance == "pg-src-1" => *plan_id,
        _ => panic!("no Consul plan asked for: {effects:?}"),
    }
}

#[tokio::test]
async fn fix_dialog_while_planning() {
    let mut s = on_pg_src_1(false).await;
    let effects = press(&mut s, "r");
    assert!(
        matches!(
            &effects[..],
            [Effect::PlanFix {
                target: Destination::Targets,
                ..
            }]
        ),
        "{effects:?}"
    );
    let screen = text(&render(&s));
    assert!(
        screen.contains("Re-register pg-src-1 → targets"),
        "{screen}"
    );
    assert!(screen.contains("planning…"), "{screen}");
    assert!(screen.contains("[ Cancel ]  [ Apply ]"), "{screen}");
    insta::assert_snapshot!("fix_planning_100x30", screen);
}

#[tokio::test]
async fn fix_dialog_shows_the_plan_focused_on_cancel() {
    let mut s = on_pg_src_1(false).await;
    let id = open_on_consul(&mut s);
    update(&mut s, consul_plan(id));
    let buf = render(&s);
    let screen = text(&buf);
    assert!(screen.contains("Re-register pg-src-1 → consul"), "{screen}");
    assert!(
        screen.contains("[ Cancel ]  [ Apply 2 writes ]"),
        "{screen}"
    );
    assert!(
        screen.contains("Tab switch · t target · Enter choose · Esc close"),
        "{screen}"
    );
    // Diff lines keep their sign and carry colour.
    let Some((x, y)) = find(&buf, "+   Meta.role: primary") else {
        panic!("no added line in\n{screen}");
    };
    assert_eq!(buf[(x, y)].symbol(), "+");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let Some((x, y)) = find(&buf, "-   Meta.role: replica") else {
        panic!("no removed line in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let Some((x, y)) = find(&buf, "warning: services defined") else {
        panic!("no warning in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    // The focus is visible without colour: Cancel reversed, Apply not.
    let Some((cx, cy)) = find(&buf, "[ Cancel ]") else {
        panic!("no Cancel in\n{screen}");
    };
    let Some((ax, ay)) = find(&buf, "[ Apply 2 writes ]") else {
        panic!("no Apply in\n{screen}");
    };
    assert!(buf[(cx + 2, cy)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(ax + 2, ay)].modifier.contains(Modifier::REVERSED));
    insta::assert_snapshot!("fix_preview_100x30", screen);
    press(&mut s, "\t");
    let buf = render(&s);
    assert!(buf[(ax + 2, ay)].modifier.contains(Modifier::REVERSED));
    assert!(!buf[(cx + 2, cy)].modifier.contains(Modifier::REVERSED));
    assert_eq!(
        press(&mut s, "\n"),
        vec![Effect::ApplyFix {
            plan_id: id,
            accept_risks: false
        }]
    );
    assert!(text(&render(&s)).contains("applying…"));
}

#[tokio::test]
async fn fix_dialog_read_only() {
    let mut s = on_pg_src_1(true).await;
    let id = open_on_consul(&mut s);
    update(&mut s, consul_plan(id));
    assert!(press(&mut s, "l\n").is_empty(), "read-only never applies");
    let buf = render(&s);
    let screen = text(&buf);
    assert!(
        screen.contains("[ Cancel ]  [ Apply 2 writes ]   READ-ONLY"),
        "{screen}"
    );
    assert!(
        footer(&buf).starts_with("READ-ONLY: writes are off"),
        "{screen}"
    );
    insta::assert_snapshot!("fix_read_only_100x30", screen);
    s.size = (40, 10);
    let small = text(&render(&s));
    assert!(small.contains("Re-register pg-src"), "{small}");
    assert!(small.contains("[ Cancel ]"), "{small}");
    s.size = (100, 30);
    press(&mut s, "\u{1b}");
    assert!(s.fix.is_none());
}

#[tokio::test]
async fn fix_dialog_after_applying() {
    let mut s = on_pg_src_1(false).await;
    let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    update(&mut s, Action::Tick(t0));
    let id = open_on_consul(&mut s);
    update(&mut s, consul_plan(id));
    assert_eq!(
        press(&mut s, "l\n"),
        vec![Effect::ApplyFix {
            plan_id: id,
            accept_risks: false
        }]
    );
    update(
        &mut s,
        Action::FixApplied {
            plan_id: id,
            wrote: true,
            ok: true,
            lines: vec![
                "PUT http://127.10.10.21:8500/v1/agent/service/register (pg-src-1 postgres): 200 OK".into(),
                "PUT http://127.10.10.21:8500/v1/agent/service/register (pg-src-1 pgbouncer): 200 OK".into(),
            ],
        },
    );
    let screen = text(&render(&s));
    assert!(screen.contains("applied"), "{screen}");
    assert!(screen.contains("[ Close ]"), "{screen}");
    assert!(
        screen.contains("waiting up to 10 s for the sources"),
        "{screen}"
    );
    assert!(
        screen.contains("Enter or Esc close · t plan again"),
        "{screen}"
    );
    insta::assert_snapshot!("fix_applied_100x30", screen);
    assert!(press(&mut s, "\t\n").is_empty());
    assert!(s.fix.is_none(), "Enter closes");
    update(
        &mut s,
        Action::Tick(t0 + std::time::Duration::from_secs(11)),
    );
    // The demo fleet never changed, so what was there is still there.
    assert!(
        footer(&render(&s))
            .starts_with("pg-src-1: resolved nothing; still role-mismatch pg-src-1 (error)"),
        "{}",
        footer(&render(&s))
    );
}

/// What the runtime renders for a plan of pg-test-2 alone whose simulation says it leaves
/// pg-test with two primaries in the target files.
fn risky_plan(plan_id: u64) -> Action {
    let risk = "creates multiple-primaries in pg-test (error): targets names 2 primaries in cluster pg-test: pg-test-1, pg-test-2";
    Action::FixPreview {
        plan_id,
        lines: [
            "make targets agree with consul: role primary, ip 127.10.10.12",
            "1. file /demo/targets/pg-test.yml",
            "-    5: - labels: {cls: pg-test, ins: pg-test-2, ip: 127.10.10.12, role: replica, svc: pg-test-replica}",
            "+    5: - labels: {cls: pg-test, ins: pg-test-2, ip: 127.10.10.12, role: primary, svc: pg-test-primary}",
            "resolves: role-mismatch pg-test-2 (error)",
            "creates: multiple-primaries in pg-test (error)",
        ]
        .into_iter()
        .map(String::from)
        .chain([format!("DANGER: {risk}")])
        .collect(),
        writes: 1,
        error: None,
        risks: vec![risk.to_string()],
        resolves: Vec::new(),
        creates: Vec::new(),
    }
}

#[tokio::test]
async fn a_plan_that_creates_an_error_says_so_and_asks_twice() {
    let mut s = state(demo_result().await, (100, 30));
    s.read_only = false;
    press(&mut s, "/pg-test-2\nj");
    let id = match &press(&mut s, "r")[..] {
        [Effect::PlanFix { plan_id, .. }] => *plan_id,
        other => panic!("no plan asked for: {other:?}"),
    };
    update(&mut s, risky_plan(id));
    let buf = render(&s);
    let screen = text(&buf);
    // In words and in red.
    let Some((x, y)) = find(&buf, "creates: multiple-primaries in pg-test (error)") else {
        panic!("no created finding in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let Some((x, y)) = find(&buf, "DANGER: creates multiple-primaries") else {
        panic!("no danger line in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let Some((x, y)) = find(&buf, "resolves: role-mismatch pg-test-2") else {
        panic!("no resolved finding in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Green);
    insta::assert_snapshot!("fix_creates_error_100x30", screen);

    // Apply asks a second time, naming the risk, focused on Cancel.
    assert!(press(&mut s, "l\n").is_empty());
    let buf = render(&s);
    let screen = text(&buf);
    assert!(
        screen.contains("This plan leaves the cluster worse"),
        "{screen}"
    );
    assert!(screen.contains("[ Cancel ]  [ Apply anyway ]"), "{screen}");
    let Some((cx, cy)) = find(&buf, "[ Cancel ]") else {
        panic!("no Cancel in\n{screen}");
    };
    assert!(buf[(cx + 2, cy)].modifier.contains(Modifier::REVERSED));
    insta::assert_snapshot!("fix_creates_error_confirm_100x30", screen);
    assert_eq!(
        press(&mut s, "l\n"),
        vec![Effect::ApplyFix {
            plan_id: id,
            accept_risks: true
        }]
    );
}

#[tokio::test]
async fn r_on_a_cluster_row_plans_the_cluster() {
    let mut s = state(demo_result().await, (100, 30));
    press(&mut s, "/pg-test\n");
    assert_eq!(
        s.selected_id(),
        Some(crate::tui::state::RowId::Cluster("pg-test".into()))
    );
    match &press(&mut s, "r")[..] {
        [
            Effect::PlanFix {
                cluster,
                instance: None,
                target: Destination::Targets,
                ..
            },
        ] => assert_eq!(cluster, "pg-test"),
        other => panic!("no cluster plan asked for: {other:?}"),
    }
    let screen = text(&render(&s));
    assert!(
        screen.contains("Re-register pg-test (cluster) → targets"),
        "{screen}"
    );
}
