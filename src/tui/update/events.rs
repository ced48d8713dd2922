//! Reducers for the events pane: opening it, moving, copying the timeline, and the
//! event a fix leaves.

use super::fix_dialog;
use crate::tui::action::Effect;
use crate::tui::state::{Applying, EventKind, EventsView, State, Status};

/// Opens the pane on the latest event.
pub(super) fn open(state: &mut State) {
    state.events_view = Some(EventsView {
        selected: state.events.len().saturating_sub(1),
    });
}

/// Opens the pane, or closes it when open.
pub(super) fn toggle(state: &mut State) {
    if state.events_view.is_some() {
        state.events_view = None;
    } else {
        open(state);
    }
}

/// Moves the selection, clamped to the timeline.
pub(super) fn move_by(state: &mut State, delta: isize) {
    let n = state.events.len();
    if let Some(v) = state.events_view.as_mut() {
        v.selected = v
            .selected
            .saturating_add_signed(delta)
            .min(n.saturating_sub(1));
    }
}

/// `y` in the pane: the whole timeline, for the incident notes.
pub(super) fn copy(state: &mut State) -> Vec<Effect> {
    if state.events.is_empty() {
        state.status = Some(Status::error("no events yet to copy"));
        return Vec::new();
    }
    let n = state.events.len();
    let word = if n == 1 { "event" } else { "events" };
    state.status = Some(Status::info(format!("copied {n} {word}")));
    vec![Effect::Copy(state.events_text())]
}

/// The event a fix (or an undo) leaves: which instance, where, and how it went; when a
/// fix wrote something, what undoing it needs (an undo's own writes are not undone
/// again: that is the fix, planned afresh with `r`).
pub(super) fn fix_applied(
    state: &mut State,
    sent: &Applying,
    wrote: bool,
    ok: bool,
    lines: &[String],
) {
    let word = if sent.undo.is_some() { "undo" } else { "fix" };
    let undo = (wrote && sent.undo.is_none()).then(|| sent.fix.clone());
    let first = lines.first().map(String::as_str).unwrap_or_default();
    let outcome = if ok { "applied" } else { "failed" };
    let text = format!(
        "{word} {outcome}: {} in {}: {first}",
        sent.subject,
        sent.fix.target.name()
    );
    state.push_event(
        EventKind::Fix {
            ok,
            undo,
            undoes: sent.undo.is_some(),
        },
        text,
    );
}

/// `u` in the events pane: undo the selected event's fix; anywhere else, or on another
/// event, the footer says why not.
pub(super) fn undo_selected(state: &mut State) -> Vec<Effect> {
    let Some(v) = state.events_view else {
        state.status = Some(Status::error(
            "u undoes the fix selected in the events pane (e); :undo undoes the latest",
        ));
        return Vec::new();
    };
    let why = match state.events.get(v.selected).map(|e| &e.kind) {
        Some(EventKind::Fix {
            undo: Some(fix), ..
        }) => return fix_dialog::undo_open(state, fix.clone()),
        Some(EventKind::Fix { undoes: true, .. }) => "that was an undo: r plans the fix again",
        Some(EventKind::Fix { undo: None, .. }) => "that fix wrote nothing: nothing to undo",
        Some(_) => "not a fix: select a \"fix applied\" event to undo it",
        None => "no events yet: nothing to undo",
    };
    state.status = Some(Status::error(why));
    Vec::new()
}

/// `:undo`: undo the latest fix of this session that wrote something.
pub(super) fn undo_latest(state: &mut State) -> Vec<Effect> {
    let latest = state.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::Fix {
            undo: Some(fix), ..
        } => Some(fix.clone()),
        _ => None,
    });
    match latest {
        Some(fix) => fix_dialog::undo_open(state, fix),
        None => {
            state.status = Some(Status::error("no fix applied in this session to undo"));
            Vec::new()
        }
    }
}
