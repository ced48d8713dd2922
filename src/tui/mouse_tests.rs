//! Mouse hit-testing: clicks and the wheel against the panes of real layouts.

use super::*;
use crate::tui::state::Options;
use crate::tui::testdata::small;
use crossterm::event::KeyModifiers;

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
    MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

fn sized(size: (u16, u16)) -> State {
    State::new(
        small(),
        Options {
            size,
            ..Options::default()
        },
    )
}

/// A 100x30 state with the re-registration dialog open on pg-a-1.
fn with_fix_dialog() -> State {
    let mut s = sized((100, 30));
    s.selected = 1;
    crate::tui::update::update(&mut s, Action::FixOpen);
    assert!(s.fix.is_some(), "the dialog did not open");
    s
}

#[test]
fn click_on_a_tree_row_selects_it() {
    let s = sized((100, 30));
    let left = MouseEventKind::Down(MouseButton::Left);
    // Wide layout: tree at x 0..60 from y 2; border at y 2, column header at y 3, rows from 4.
    assert!(matches!(
        map_mouse(mouse(left, 5, 4), &s),
        Some(Action::ClickRow(0))
    ));
    assert!(matches!(
        map_mouse(mouse(left, 5, 6), &s),
        Some(Action::ClickRow(2))
    ));
    // The column header and the border focus the tree without selecting.
    assert!(matches!(
        map_mouse(mouse(left, 5, 3), &s),
        Some(Action::FocusPane(Focus::Tree))
    ));
    assert!(matches!(
        map_mouse(mouse(left, 0, 6), &s),
        Some(Action::FocusPane(Focus::Tree))
    ));
    // Below the last row (8 rows in this fleet).
    assert!(matches!(
        map_mouse(mouse(left, 5, 20), &s),
        Some(Action::FocusPane(Focus::Tree))
    ));
    // Header and footer are not panes.
    assert!(map_mouse(mouse(left, 5, 0), &s).is_none());
    assert!(map_mouse(mouse(left, 5, 29), &s).is_none());
}

#[test]
fn click_rows_count_from_the_scroll_offset() {
    let mut s = sized((100, 30));
    s.offset = 3;
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(matches!(
        map_mouse(mouse(left, 5, 4), &s),
        Some(Action::ClickRow(3))
    ));
}

#[test]
fn click_on_a_side_pane_focuses_it() {
    let s = sized((100, 30));
    let left = MouseEventKind::Down(MouseButton::Left);
    // Right column from x 60: findings on top, detail below.
    assert!(matches!(
        map_mouse(mouse(left, 70, 5), &s),
        Some(Action::FocusPane(Focus::Findings))
    ));
    assert!(matches!(
        map_mouse(mouse(left, 70, 25), &s),
        Some(Action::FocusPane(Focus::Detail))
    ));
    assert!(map_mouse(mouse(MouseEventKind::Down(MouseButton::Right), 70, 5), &s).is_none());
}

#[test]
fn wheel_scrolls_the_pane_under_the_pointer() {
    let s = sized((100, 30));
    assert!(matches!(
        map_mouse(mouse(MouseEventKind::ScrollDown, 5, 10), &s),
        Some(Action::Scroll(Focus::Tree, WHEEL_STEP))
    ));
    assert!(matches!(
        map_mouse(mouse(MouseEventKind::ScrollUp, 70, 25), &s),
        Some(Action::Scroll(Focus::Detail, d)) if d == -WHEEL_STEP
    ));
}

#[test]
fn mouse_is_ignored_under_help_and_on_tiny_terminals() {
    let mut s = sized((100, 30));
    s.help = true;
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(map_mouse(mouse(left, 5, 4), &s).is_none());
    let tiny = sized((30, 8));
    assert!(map_mouse(mouse(left, 5, 4), &tiny).is_none());
}

#[test]
fn narrow_short_terminals_only_hit_the_visible_pane() {
    // 60x20 shows only the focused pane, across the whole body.
    let mut s = sized((60, 20));
    s.focus = Focus::Findings;
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(matches!(
        map_mouse(mouse(left, 5, 4), &s),
        Some(Action::FocusPane(Focus::Findings))
    ));
}

#[test]
fn mouse_is_ignored_under_the_fix_dialog() {
    let s = with_fix_dialog();
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(map_mouse(mouse(left, 5, 4), &s).is_none());
    assert!(map_mouse(mouse(MouseEventKind::ScrollDown, 5, 10), &s).is_none());
}
