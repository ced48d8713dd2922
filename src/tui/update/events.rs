//! Reducers for the events pane: opening it, moving, copying the timeline, and the
//! event a fix leaves.

use super::fix_dialog;
use crate::tui::action::Effect;
use crate::tui::state::{EventKind, EventsView, FixRef, State, Status};

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

/// The event a fix (or an undo) leaves: which instance, where, and how it went; when it
/// wrote something, what undoing it needs.
pub(super) fn fix_applied(
    state: &mut State,
    applied: u64,
    wrote: bool,
    ok: bool,
    lines: &[String],
) {
    let (who, place, word, undo) = match &state.fix {
        Some(d) => (
            d.subject().to_string(),
            d.target.name().to_string(),
            if d.undo.is_some() { "undo" } else { "fix" },
            wrote.then(|| FixRef {
                applied,
                cluster: d.cluster.clone(),
                datacenter: d.datacenter.clone(),
                instance: d.instance.clone(),
                target: d.target,
            }),
        ),
        None => ("?".to_string(), "?".to_string(), "fix", None),
    };
    let first = lines.first().map(String::as_str).unwrap_or_default();
    let outcome = if ok { "applied" } else { "failed" };
    let text = format!("{word} {outcome}: {who} in {place}: {first}");
    state.push_event(EventKind::Fix { ok, undo }, text);
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
