//! Mouse hit-testing: a click or wheel turn becomes an action for the pane under it.
//!
//! The panes are where [`layout`] puts them when drawing, so what the user clicks is what
//! was drawn there.

use crate::tui::action::Action;
use crate::tui::layout::{self, MIN_SIZE, tree_body};
use crate::tui::state::State;
use crate::tui::vocab::Focus;
use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

/// Lines one wheel notch scrolls.
pub const WHEEL_STEP: isize = 3;

/// Maps a mouse event: a left click on a tree row selects it, a click elsewhere in a
/// pane focuses that pane, the wheel scrolls the pane under the pointer.
pub fn map_mouse(ev: MouseEvent, state: &State) -> Option<Action> {
    if state.help || state.sources_open || state.fix.is_some() || state.failover.is_some() {
        return None;
    }
    let (w, h) = state.size;
    if w < MIN_SIZE.0 || h < MIN_SIZE.1 {
        return None;
    }
    let areas = layout::layout(Rect::new(0, 0, w, h), state.focus);
    let at = Position::new(ev.column, ev.row);
    let (pane, rect) = [
        (Focus::Tree, areas.tree),
        (Focus::Findings, areas.findings),
        (Focus::Detail, areas.detail),
    ]
    .into_iter()
    .find_map(|(f, r)| r.filter(|r| r.contains(at)).map(|r| (f, r)))?;
    match ev.kind {
        MouseEventKind::Down(MouseButton::Left) => {
            if pane == Focus::Tree
                && let Some(row) = tree_row(rect, at, state.offset)
                && row < state.rows.len()
            {
                return Some(Action::ClickRow(row));
            }
            Some(Action::FocusPane(pane))
        }
        MouseEventKind::ScrollDown => Some(Action::Scroll(pane, WHEEL_STEP)),
        MouseEventKind::ScrollUp => Some(Action::Scroll(pane, -WHEEL_STEP)),
        _ => None,
    }
}

/// The tree row under a point (an index into the visible rows, counting from the scroll
/// offset), when the point is on a row.
fn tree_row(tree: Rect, at: Position, offset: usize) -> Option<usize> {
    let body = tree_body(tree);
    body.contains(at)
        .then(|| offset + usize::from(at.y - body.y))
}

#[cfg(test)]
#[path = "mouse_tests.rs"]
mod tests;
