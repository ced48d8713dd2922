//! Whole screens of a read across several datacenters: the tree's datacenter level.

use super::screen_tests::{press, render, state, text};
use crate::tui::state::{Row, State};
use crate::tui::testdata::three_datacenters;

/// The tree's lines (inside the pane, up to its bottom border).
fn tree_lines(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(3)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| {
            let inner = l.trim_start_matches('│');
            inner.split('│').next().unwrap_or("").trim_end().to_string()
        })
        .collect()
}

fn select_dc(s: &mut State, name: &str) {
    let at = s.rows.iter().position(
        |r| matches!(r, Row::Datacenter(d) if s.datacenters[*d].name.as_deref() == Some(name)),
    );
    s.selected = at.unwrap_or_else(|| panic!("no row for {name}"));
}

#[test]
fn the_tree_has_a_datacenter_level() {
    let s = state(three_datacenters(), (100, 30));
    let screen = text(&render(&s));
    let tree = tree_lines(&screen);
    // Each datacenter is a row with its state and drift; clusters sit under it, and
    // the name both datacenters use is one row under each.
    assert!(
        tree[1].starts_with("v dc1          ok 2 clusters"),
        "{screen}"
    );
    assert!(tree[1].ends_with("!E 2"), "{screen}");
    let dc3 = tree.iter().find(|l| l.starts_with("v dc3")).unwrap();
    assert!(
        dc3.contains("ERROR") && dc3.contains("~ not read"),
        "{screen}"
    );
    assert!(
        !dc3.contains(" ok"),
        "a datacenter not read looks clean: {screen}"
    );
    let pg_a: Vec<&String> = tree.iter().filter(|l| l.starts_with("  v pg-a ")).collect();
    assert_eq!(pg_a.len(), 2, "{screen}");
    // Clusters no datacenter holds while dc3 is not read: unverified, never clean.
    let none = tree.iter().find(|l| l.starts_with("v (no dc)")).unwrap();
    assert!(none.contains("~ 1 unverified"), "{screen}");
    assert!(screen.contains("~ consul not read"), "{screen}");
    insta::assert_snapshot!("three_datacenters_100x30", screen);
    let s = state(three_datacenters(), (80, 24));
    insta::assert_snapshot!("three_datacenters_80x24", text(&render(&s)));
}

#[test]
fn datacenter_and_cluster_rows_line_up_with_the_drift_column() {
    for size in [(100, 30), (80, 24), (160, 45)] {
        let s = state(three_datacenters(), size);
        let screen = text(&render(&s));
        let tree = tree_lines(&screen);
        let at = tree[0].find("DRIFT").unwrap();
        // A disputed primary is shown whole and moves its DRIFT right, as without
        // datacenters.
        let rows = tree.iter().skip(1);
        for line in rows.filter(|l| !l.is_empty() && !l.contains("P?")) {
            let drift = &line[line.char_indices().nth(at).map_or(line.len(), |(i, _)| i)..];
            let before = &line[..line.len() - drift.len()];
            // Whatever stands under DRIFT starts there, after a space.
            assert!(before.ends_with(' '), "{size:?} {line:?}\n{screen}");
            assert!(!drift.starts_with(' '), "{size:?} {line:?}\n{screen}");
        }
    }
}

#[test]
fn a_datacenter_not_read_says_so_in_every_pane() {
    let mut s = state(three_datacenters(), (100, 30));
    select_dc(&mut s, "dc3");
    let screen = text(&render(&s));
    assert!(screen.contains("Findings: dc3 (0)"), "{screen}");
    assert!(screen.contains("│not read: nothing concluded"), "{screen}");
    assert!(!screen.contains("no drift here"), "{screen}");
    assert!(screen.contains("consul@dc3 ERROR: Unexpected"), "{screen}");
    insta::assert_snapshot!("datacenter_not_read_100x30", screen);
}

#[test]
fn one_datacenter_shown_is_the_flat_tree() {
    let one = three_datacenters().datacenter_view("dc2").unwrap();
    let s = state(one, (100, 30));
    let screen = text(&render(&s));
    let tree = tree_lines(&screen);
    assert!(tree[1].starts_with("v pg-a "), "{screen}");
    assert!(tree[2].starts_with("  > pg-a-1 "), "{screen}");
    assert!(!tree.iter().any(|l| l.starts_with("v dc")), "{screen}");
}

#[test]
fn a_cluster_says_which_datacenter_it_is_in() {
    let mut s = state(three_datacenters(), (100, 30));
    let at = s
        .rows
        .iter()
        .position(|r| matches!(r, Row::Cluster(c) if s.clusters[*c].key == "pg-a@dc2"));
    s.selected = at.unwrap();
    let screen = text(&render(&s));
    assert!(screen.contains("│pg-a in dc2"), "{screen}");
}

#[test]
fn datacenter_rows_fold_with_the_cluster_keys() {
    let mut s = state(three_datacenters(), (100, 30));
    select_dc(&mut s, "dc1");
    press(&mut s, "h");
    let tree = tree_lines(&text(&render(&s)));
    assert!(tree[1].starts_with("> dc1"), "{tree:#?}");
    assert!(tree[2].starts_with("v dc2"), "{tree:#?}");
    press(&mut s, "l");
    let tree = tree_lines(&text(&render(&s)));
    assert!(tree[2].starts_with("  v pg-a"), "{tree:#?}");
}

#[test]
fn a_datacenter_name_with_escapes_reaches_no_cell_raw() {
    // Consul lists datacenter names; a hostile one must not write to the terminal.
    let evil = "dc2\u{1b}]52;c;ZXZpbA==\u{7}\r\nok \u{202e}";
    let mut r = three_datacenters();
    for d in &mut r.fleet.datacenters {
        if d.name == "dc2" {
            d.name = evil.into();
        }
    }
    for c in &mut r.fleet.clusters {
        if c.datacenter.as_deref() == Some("dc2") {
            c.datacenter = Some(evil.into());
        }
    }
    for s in &mut r.fleet.sources {
        if s.datacenter.as_deref() == Some("dc2") {
            s.datacenter = Some(evil.into());
        }
    }
    let mut s = state(r, (100, 30));
    s.selected = s
        .rows
        .iter()
        .position(|r| matches!(r, Row::Datacenter(d) if s.datacenters[*d].key == evil))
        .unwrap();
    let buffer = render(&s);
    let cells: String = buffer.content().iter().map(|c| c.symbol()).collect();
    for bad in ['\u{1b}', '\u{7}', '\r', '\n', '\u{202e}'] {
        assert!(
            !cells.contains(bad),
            "{bad:?} on screen:\n{}",
            text(&buffer)
        );
    }
    assert!(
        text(&buffer).contains("datacenter dc2"),
        "{}",
        text(&buffer)
    );
}
