//! Whole-screen tests of what an on-call engineer works with: the first screen, moving
//! through the drift, the findings list, the events pane and undo.

use super::screen_tests::{footer, press, render, state, text};
use crate::fleet::Fleet;
use crate::report::CheckResult;
use crate::tui::action::{Action, Effect};
use crate::tui::state::State;
use crate::tui::testdata::demo_result;
use crate::tui::update::update;

/// The UI as it starts for real: empty while reading, then the first read arrives.
async fn first_screen(size: (u16, u16)) -> State {
    let loading = CheckResult::new(Fleet::default(), vec!["reading sources...".into()]);
    let mut s = state(loading, size);
    update(&mut s, Action::Data(Box::new(demo_result().await)));
    s
}

#[tokio::test]
async fn the_first_screen_opens_on_the_drift() {
    let s = first_screen((100, 30)).await;
    let screen = text(&render(&s));
    assert!(screen.contains("10 of 25 instances drifting"), "{screen}");
    assert!(!screen.contains("no drift here"), "{screen}");
    assert!(
        screen.contains("C consul  T targets  I inventory"),
        "{screen}"
    );
    insta::assert_snapshot!("first_screen_100x30", screen);
    let s = first_screen((80, 24)).await;
    insta::assert_snapshot!("first_screen_80x24", text(&render(&s)));
}

#[tokio::test]
async fn cluster_rows_line_up_with_the_drift_column() {
    let s = first_screen((100, 30)).await;
    let screen = text(&render(&s));
    let header = screen.lines().find(|l| l.contains("DRIFT")).unwrap_or("");
    let at = header.find("DRIFT").unwrap_or(0);
    let mut seen = 0;
    // Disputed rows show every candidate whole, so only the others line up.
    for line in screen
        .lines()
        .filter(|l| l.contains(" inst ") && !l.contains("P?"))
    {
        let bang = line.find('!').or_else(|| line.rfind(" ok").map(|p| p + 1));
        assert_eq!(bang, Some(at), "{line}\n{screen}");
        seen += 1;
    }
    assert!(seen >= 4, "{screen}");
}

#[tokio::test]
async fn at_the_minimum_size_the_counts_stay() {
    let s = first_screen((40, 10)).await;
    let screen = text(&render(&s));
    assert!(
        screen.lines().next().unwrap_or("").contains("E:6 W:9"),
        "{screen}"
    );
}

#[tokio::test]
async fn n_walks_the_drift_across_clusters() {
    let mut s = first_screen((100, 30)).await;
    press(&mut s, "n");
    assert!(text(&render(&s)).contains("Findings: pg-new-2"));
    press(&mut s, "nn");
    assert!(text(&render(&s)).contains("Findings: pg-src-1"));
    press(&mut s, "N");
    let screen = text(&render(&s));
    assert!(screen.contains("Findings: pg-orders-5"), "{screen}");
}

#[tokio::test]
async fn the_findings_list_shows_every_finding_worst_first() {
    let mut s = first_screen((100, 30)).await;
    press(&mut s, "F");
    let screen = text(&render(&s));
    assert!(screen.contains("Findings (15, by severity)"), "{screen}");
    insta::assert_snapshot!("findings_list_100x30", screen);
    let mut s80 = first_screen((80, 24)).await;
    press(&mut s80, "F");
    insta::assert_snapshot!("findings_list_80x24", text(&render(&s80)));
    // Enter on the third (an error of pg-src) goes there and closes the list.
    press(&mut s, "jj\n");
    let screen = text(&render(&s));
    assert!(!screen.contains("by severity"), "{screen}");
    assert!(screen.contains("Findings: pg-"), "{screen}");
    let _ = footer;
}

#[tokio::test]
async fn the_events_pane_shows_the_timeline() {
    use std::time::Duration;
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let mut s = first_screen((100, 30)).await;
    press(&mut s, "e");
    insta::assert_snapshot!("events_empty_100x30", text(&render(&s)));
    press(&mut s, "e");
    update(&mut s, Action::Tick(t0 + Duration::from_secs(130)));
    let stale = super::screen_tests::demo_with_stale_consul(
        t0,
        "connection refused",
        "http://127.0.0.1:8500",
    )
    .await;
    update(&mut s, Action::Data(Box::new(stale)));
    update(&mut s, Action::Tick(t0 + Duration::from_secs(160)));
    update(&mut s, Action::Data(Box::new(demo_result().await)));
    press(&mut s, "e");
    let screen = text(&render(&s));
    assert!(screen.contains("22:15:30 consul: failing"), "{screen}");
    assert!(screen.contains("22:16:00 consul: recovered"), "{screen}");
    insta::assert_snapshot!("events_100x30", screen);
    let effects = press(&mut s, "y");
    assert_eq!(effects.len(), 1, "{effects:?}");
    assert!(footer(&render(&s)).contains("copied"));
}

#[tokio::test]
async fn long_findings_wrap_under_themselves_and_scroll() {
    let mut s = first_screen((100, 30)).await;
    // pg-src-2: a role mismatch and a split of its Consul services, both long.
    press(&mut s, "nnnn");
    let screen = text(&render(&s));
    assert!(screen.contains("Findings: pg-src-2"), "{screen}");
    // The findings pane's rows: right of the tree, down to the pane's bottom border.
    let pane: Vec<String> = screen
        .lines()
        .skip_while(|l| !l.contains("Findings: pg-src-2"))
        .skip(1)
        .map(|l| l.chars().skip(61).collect::<String>())
        .take_while(|l| !l.starts_with('─'))
        .collect();
    let continuation = pane
        .iter()
        .filter(|l| l.starts_with("   ") && !l.trim().is_empty())
        .count();
    assert!(continuation >= 2, "{screen}");
    assert!(
        !pane
            .iter()
            .any(|l| l.starts_with("targets") || l.starts_with("consul")),
        "no continuation at column 0:\n{screen}"
    );
    insta::assert_snapshot!("wrapped_findings_100x30", screen);
    // Focused and scrolled to the end, the last line is still there.
    press(&mut s, "\tG");
    let end = text(&render(&s));
    assert!(end.contains("> Findings: pg-src-2"), "{end}");
}

#[tokio::test]
async fn a_clipped_fix_dialog_says_more_is_below_and_keeps_the_warning() {
    use crate::tui::state::{FixButton, FixDialog, FixPlan};
    let mut s = state(demo_result().await, (80, 24));
    s.read_only = false;
    let mut lines: Vec<String> = Vec::new();
    for n in 0..8 {
        lines.push(format!(
            "PUT http://127.10.10.21:8500/v1/agent/service/register (pg-src-1 svc{n})"
        ));
        lines.push("-   Meta.role: replica".into());
        lines.push("+   Meta.role: primary".into());
    }
    lines.push("warning: services defined in /etc/consul.d may revert at the next reload".into());
    s.fix = Some(FixDialog {
        cluster: "pg-src".into(),
        datacenter: None,
        instance: Some("pg-src-1".into()),
        target: crate::fix::plan::Destination::Consul,
        plan_id: 1,
        preview: Some(FixPlan {
            plan_id: 1,
            lines,
            writes: 8,
            error: None,
            risks: Vec::new(),
            resolves: Vec::new(),
            creates: Vec::new(),
        }),
        button: FixButton::Cancel,
        scroll: 0,
        applying: false,
        result: None,
        confirm_risks: false,
        undo: None,
    });
    let screen = text(&render(&s));
    assert!(screen.contains("more (j/k scroll)"), "{screen}");
    assert!(screen.contains("warning: services defined"), "{screen}");
    insta::assert_snapshot!("fix_clipped_80x24", screen);
    // Scrolled to the end, the marker goes.
    press(&mut s, "GGGGjjjjjjjjjjjjjjjjjjjjjjjj");
    let end = text(&render(&s));
    assert!(!end.contains("more (j/k scroll)"), "{end}");
    // Cancel says what happened.
    press(&mut s, "\n");
    assert!(s.fix.is_none());
    assert!(
        footer(&render(&s)).contains("cancelled: nothing written for pg-src-1"),
        "{}",
        footer(&render(&s))
    );
}

#[tokio::test]
async fn the_footer_shows_the_keys_of_what_is_on_top() {
    let mut s = first_screen((160, 45)).await;
    s.read_only = false;
    let mut out = String::new();
    let mut shot = |name: &str, s: &State| {
        out.push_str(&format!("{name:<9}| {}\n", footer(&render(s))));
    };
    shot("tree", &s);
    press(&mut s, "F");
    shot("findings", &s);
    press(&mut s, "\u{1b}e");
    shot("events", &s);
    press(&mut s, "\u{1b}?");
    shot("help", &s);
    press(&mut s, "\u{1b}f");
    shot("failover", &s);
    press(&mut s, "\u{1b}r");
    shot("fix", &s);
    press(&mut s, "\u{1b}/bogus:x");
    shot("filter", &s);
    press(&mut s, "\n");
    shot("unknown", &s);
    assert!(out.contains("unknown filter key bogus:"), "{out}");
    assert!(out.contains("Tab pane"), "{out}");
    insta::assert_snapshot!("footers_160x45", out);
}

#[tokio::test]
async fn the_undo_dialog_shows_what_goes_back() {
    use crate::fix::plan::{Desired, Destination, Plan, Step};
    use crate::fix::simulate::Outcome;
    use crate::observation::SourceKind;
    use crate::tui::state::{FixButton, FixDialog, FixPlan};
    let mut s = first_screen((80, 24)).await;
    s.read_only = false;
    let desired = Desired {
        cluster: "pg-src".into(),
        seq: Some(1),
        instance: "pg-src-1".into(),
        role: None,
        ip: None,
    };
    let mut plan = Plan::new(
        "pg-src",
        "pg-src-1",
        SourceKind::Consul,
        Destination::Targets,
        desired,
    );
    plan.undoes = Some("the fix of pg-src-1 in targets applied at 2026-11-30T12:00:00Z".into());
    plan.steps.push(Step::TargetFile {
        file: "/etc/prometheus/targets/pgsql/pg-src.yml".into(),
        digest: "0".repeat(64),
        new_text: String::new(),
        diff: vec![
            "@@ line 2".into(),
            "-  labels: {cls: pg-src, ins: pg-src-1, ip: 127.10.10.21, role: replica, svc: pg-src-replica}".into(),
            "+  labels: {cls: pg-src, ins: pg-src-1, ip: 127.10.10.21, role: primary, svc: pg-src-primary}".into(),
        ],
    });
    // What putting the old text back does: the drift the fix resolved comes back.
    let creates: Vec<_> = s
        .findings()
        .iter()
        .filter(|f| f.instance.as_deref() == Some("pg-src-1"))
        .cloned()
        .collect();
    assert!(!creates.is_empty());
    plan.outcome = Some(Outcome {
        resolves: Vec::new(),
        creates,
        remains: Vec::new(),
    });
    let lines = crate::tui::fixer::preview(&plan);
    s.fix = Some(FixDialog {
        cluster: "pg-src".into(),
        datacenter: None,
        instance: Some("pg-src-1".into()),
        target: Destination::Targets,
        plan_id: 3,
        preview: Some(FixPlan {
            plan_id: 3,
            lines,
            writes: 1,
            error: None,
            risks: Vec::new(),
            resolves: Vec::new(),
            creates: Vec::new(),
        }),
        button: FixButton::Cancel,
        scroll: 0,
        applying: false,
        result: None,
        confirm_risks: false,
        undo: Some(2),
    });
    let screen = text(&render(&s));
    assert!(
        screen.contains("Undo the fix of pg-src-1 in targets"),
        "{screen}"
    );
    assert!(
        screen.contains("undo the fix of pg-src-1 in targets applied at"),
        "{screen}"
    );
    assert!(screen.contains("creates: "), "{screen}");
    assert!(!screen.contains("t target"), "{screen}");
    insta::assert_snapshot!("undo_dialog_80x24", screen);
    let s = {
        let mut big = s;
        big.size = (120, 40);
        big
    };
    insta::assert_snapshot!("undo_dialog_120x40", text(&render(&s)));
}

#[tokio::test]
async fn the_fix_dialog_says_why_a_target_cannot_be_planned() {
    use crate::fix::plan::{Destination, FixContext};
    use crate::tui::fix_words::{cannot_plan, has_flag};
    // pg-new-1, the first drifting instance, is in the inventory only.
    let mut s = first_screen((80, 24)).await;
    s.read_only = false;
    let effects = press(&mut s, "r");
    let Some(Effect::PlanFix {
        plan_id, target, ..
    }) = effects.first()
    else {
        panic!("{effects:?}");
    };
    assert_eq!(*target, Destination::Consul);
    let ctx = FixContext {
        consul: None,
        agent: Default::default(),
        command: None,
        command_timeout: std::time::Duration::from_secs(1),
    };
    let why = cannot_plan(&s.result.fleet, "pg-new", Some("pg-new-1"), *target, &ctx);
    let why = why.expect("pg-new-1 is not in Consul");
    assert!(!has_flag(&why), "{why}");
    update(
        &mut s,
        Action::FixPreview {
            plan_id: *plan_id,
            lines: Vec::new(),
            writes: 0,
            error: Some(why),
            risks: Vec::new(),
            resolves: Vec::new(),
            creates: Vec::new(),
        },
    );
    let screen = text(&render(&s));
    assert!(
        screen.contains("error: pg-new-1 has no registration in Consul to rewrite"),
        "{screen}"
    );
    assert!(!has_flag(&screen), "{screen}");
    insta::assert_snapshot!("fix_cannot_plan_80x24", screen);
}

#[tokio::test]
async fn cut_help_cells_end_in_an_ellipsis() {
    let mut s = first_screen((80, 24)).await;
    press(&mut s, "?");
    let screen = text(&render(&s));
    assert!(screen.contains("Keys (? or Esc closes)"), "{screen}");
    // "undo the fix selected in events" does not fit the right column at 80 columns.
    assert!(screen.contains("undo the fix selected …"), "{screen}");
    for line in screen.lines().filter(|l| l.starts_with('│')) {
        assert!(line.ends_with('│'), "a cell ran into the border: {line}");
    }
    insta::assert_snapshot!("help_80x24", screen);
}
