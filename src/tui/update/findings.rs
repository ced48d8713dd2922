//! Reducers for moving through the drift: `n` / `N` and the findings list.

use crate::tui::state::{FindingsList, State, Status};

/// `n` / `N`: the next or previous drifting instance, from wherever the selection is.
pub(super) fn jump_drift(state: &mut State, forward: bool) {
    if !state.jump_drift(forward) {
        let why = if state.drifting_count() > 0 {
            "no drifting instance matches the filter"
        } else {
            "no instance drifts"
        };
        state.status = Some(Status::info(why));
    }
}

/// Opens the findings list, or closes it when open.
pub(super) fn toggle(state: &mut State) {
    state.findings_list = match state.findings_list {
        Some(_) => None,
        None => Some(FindingsList::default()),
    };
}

/// Moves the list's selection, clamped to the list.
pub(super) fn move_by(state: &mut State, delta: isize) {
    let n = state.result.findings.len();
    if let Some(l) = state.findings_list.as_mut() {
        l.selected = l
            .selected
            .saturating_add_signed(delta)
            .min(n.saturating_sub(1));
    }
}

/// Severity first, or place first; the selection stays on the same finding.
pub(super) fn cycle_sort(state: &mut State) {
    let order = state.findings_order();
    let Some(l) = state.findings_list else {
        return;
    };
    let current = order.get(l.selected).copied();
    let flipped = FindingsList {
        selected: 0,
        by_place: !l.by_place,
    };
    state.findings_list = Some(flipped);
    let selected = current
        .and_then(|f| state.findings_order().iter().position(|&o| o == f))
        .unwrap_or(0);
    state.findings_list = Some(FindingsList {
        selected,
        ..flipped
    });
    state.status = Some(Status::info(if flipped.by_place {
        "findings by place"
    } else {
        "findings by severity"
    }));
}

/// Enter: close the list and select the finding's instance (or cluster) in the tree.
pub(super) fn jump(state: &mut State) {
    let Some(l) = state.findings_list.take() else {
        return;
    };
    if let Some(&f) = state.findings_order().get(l.selected) {
        state.reveal_finding(f);
    }
}
