//! Reducers for the events pane: opening it, moving, copying the timeline, and the
//! event a fix leaves.

use crate::tui::action::Effect;
use crate::tui::state::{EventKind, EventsView, State, Status};

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

/// The event a fix leaves: which instance, where, and how it went.
pub(super) fn fix_applied(state: &mut State, ok: bool, lines: &[String]) {
    let (who, place) = match &state.fix {
        Some(d) => (
            d.instance.clone().unwrap_or_else(|| d.cluster.clone()),
            d.target.name().to_string(),
        ),
        None => ("?".to_string(), "?".to_string()),
    };
    let first = lines.first().map(String::as_str).unwrap_or_default();
    let text = if ok {
        format!("fix applied: {who} in {place}: {first}")
    } else {
        format!("fix failed: {who} in {place}: {first}")
    };
    state.push_event(EventKind::Fix { ok }, text);
}
