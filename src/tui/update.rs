//! The reducer: the only place the UI state changes.

use crate::tui::action::{Action, Effect};
use crate::tui::state::{Focus, Row, State};

/// Applies one action to the state and returns the work it asks for.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    match action {
        Action::MoveUp => move_by(state, -1),
        Action::MoveDown => move_by(state, 1),
        Action::PageUp => move_by(state, -page(state)),
        Action::PageDown => move_by(state, page(state)),
        Action::Top => move_to(state, 0),
        Action::Bottom => move_to(state, usize::MAX),
        Action::Expand => expand(state),
        Action::Collapse => collapse(state),
        Action::Toggle => toggle(state),
        Action::ExpandAll => {
            state.expanded.extend(
                state
                    .result
                    .fleet
                    .clusters
                    .iter()
                    .map(|c| format!("c:{}", c.name)),
            );
            state.rebuild();
        }
        Action::CollapseAll => {
            state.expanded.clear();
            state.rebuild();
        }
        Action::CycleFocus => state.focus = state.focus.next(),
        Action::CycleFocusBack => state.focus = state.focus.prev(),
        Action::StartFilter => state.filter_mode = true,
        Action::FilterInput(c) => {
            if !c.is_control() {
                let mut text = state.filter_text.clone();
                text.push(c);
                state.set_filter(text);
            }
        }
        Action::FilterBackspace => {
            let mut text = state.filter_text.clone();
            text.pop();
            if text.is_empty() {
                state.clear_filter();
                state.filter_mode = true;
            } else {
                state.set_filter(text);
            }
        }
        Action::ConfirmFilter => state.filter_mode = false,
        Action::ClearFilter => state.clear_filter(),
        Action::ToggleDriftOnly => {
            state.drift_only = !state.drift_only;
            state.rebuild();
        }
        Action::CycleSort => {
            state.sort = state.sort.next();
            state.rebuild();
        }
        Action::ToggleHelp => state.help = !state.help,
        Action::Refresh => {
            state.refreshing = true;
            return vec![Effect::Refresh];
        }
        Action::Quit => return vec![Effect::Quit],
        Action::Resize(w, h) => {
            state.size = (w, h);
            state.scroll_to_selection();
        }
        Action::Data(result) => state.set_data(*result),
    }
    Vec::new()
}

fn page(state: &State) -> isize {
    isize::try_from(state.tree_height()).unwrap_or(1).max(1)
}

fn move_by(state: &mut State, delta: isize) {
    match state.focus {
        Focus::Tree => {
            let target = state.selected.saturating_add_signed(delta);
            move_to(state, target);
        }
        // The panes clamp their own scroll when drawn; here it only must not wrap.
        Focus::Findings => state.findings_scroll = scroll(state.findings_scroll, delta),
        Focus::Detail => state.detail_scroll = scroll(state.detail_scroll, delta),
    }
}

fn scroll(at: u16, delta: isize) -> u16 {
    let d = i16::try_from(delta).unwrap_or(if delta < 0 { i16::MIN } else { i16::MAX });
    at.saturating_add_signed(d).min(u16::MAX / 2)
}

fn move_to(state: &mut State, target: usize) {
    if state.focus != Focus::Tree {
        let v = if target == 0 { 0 } else { u16::MAX / 2 };
        match state.focus {
            Focus::Findings => state.findings_scroll = v,
            _ => state.detail_scroll = v,
        }
        return;
    }
    let last = state.rows.len().saturating_sub(1);
    let target = target.min(last);
    if target != state.selected {
        state.selected = target;
        state.findings_scroll = 0;
        state.detail_scroll = 0;
    }
    state.scroll_to_selection();
}

fn set_expanded(state: &mut State, row: Row, open: bool) {
    let Some(key) = state.expand_key(row) else {
        return;
    };
    if open {
        state.expanded.insert(key);
    } else {
        state.expanded.remove(&key);
    }
    state.rebuild();
}

fn is_open(state: &State, row: Row) -> bool {
    match row {
        Row::Cluster(c) => state.cluster_expanded(c),
        Row::Instance(i) => state.instance_expanded(i),
        Row::Entry(..) => false,
    }
}

fn expand(state: &mut State) {
    let Some(row) = state.selected_row() else {
        return;
    };
    if is_open(state, row) {
        // Already open: step onto the first child, as file-tree UIs do.
        if matches!(state.rows.get(state.selected + 1), Some(next) if is_child(*next, row)) {
            move_to(state, state.selected + 1);
        }
    } else {
        set_expanded(state, row, true);
    }
}

fn collapse(state: &mut State) {
    let Some(row) = state.selected_row() else {
        return;
    };
    if is_open(state, row) {
        set_expanded(state, row, false);
    } else if let Some(parent) = parent_position(state, row) {
        move_to(state, parent);
    }
}

fn toggle(state: &mut State) {
    if let Some(row) = state.selected_row() {
        let open = is_open(state, row);
        set_expanded(state, row, !open);
    }
}

fn is_child(child: Row, parent: Row) -> bool {
    matches!(
        (parent, child),
        (Row::Cluster(_), Row::Instance(_)) | (Row::Instance(_), Row::Entry(..))
    )
}

fn parent_position(state: &State, row: Row) -> Option<usize> {
    let before = state.rows.get(..state.selected)?;
    match row {
        Row::Cluster(_) => None,
        Row::Instance(_) => before.iter().rposition(|r| matches!(r, Row::Cluster(_))),
        Row::Entry(i, _) => before.iter().rposition(|r| *r == Row::Instance(i)),
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
