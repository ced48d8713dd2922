//! Key dispatch: a terminal key becomes an action, depending on the mode.
//!
//! Normal-mode keys come from the [`Keymap`] (see [`crate::tui::keymap`] for the binding
//! table); the typing modes (filter, command line), the dialogs and Ctrl-C are fixed here,
//! so a bad override can never trap the user. Mouse events are mapped in
//! [`crate::tui::mouse`].

pub use crate::tui::keymap::{Bind, FIXED, Keymap};
pub use crate::tui::keyname::Key;

use crate::tui::action::Action;
use crate::tui::layout;
use crate::tui::state::State;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Maps a key to an action in the current mode; `None` for keys without a binding.
pub fn map(key: KeyEvent, state: &State) -> Option<Action> {
    // Key releases and repeats arrive only with the kitty protocol; act on presses.
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c' | 'C')) {
        return Some(Action::Quit);
    }
    if state.fix.is_some() {
        return fix_key(key, ctrl, state);
    }
    if state.failover.is_some() {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('q' | 'f') => Some(Action::FailoverClose),
            KeyCode::Char('j') | KeyCode::Down => Some(Action::FailoverMove(1)),
            KeyCode::Char('k') | KeyCode::Up => Some(Action::FailoverMove(-1)),
            KeyCode::Char('r') => Some(Action::FailoverFix),
            _ => None,
        };
    }
    if state.findings_list.is_some() {
        return findings_key(key, state);
    }
    if state.events_view.is_some() {
        return events_key(key, state);
    }
    if state.sources_open {
        if key.code == KeyCode::Esc {
            return Some(Action::ToggleSources);
        }
        return match state.keymap.bind_for(key) {
            Some(Bind::Help | Bind::Quit) => Some(Action::ToggleSources),
            _ => None,
        };
    }
    if state.help {
        if key.code == KeyCode::Esc {
            return Some(Action::ToggleHelp);
        }
        return match state.keymap.bind_for(key) {
            Some(Bind::Help | Bind::Quit) => Some(Action::ToggleHelp),
            _ => None,
        };
    }
    if state.command.is_some() {
        return prompt_key(key, ctrl, PromptKind::Command);
    }
    if state.filter_mode {
        return prompt_key(key, ctrl, PromptKind::Filter);
    }
    if key.code == KeyCode::Esc {
        return (!state.filter_text.is_empty()).then_some(Action::ClearFilter);
    }
    state.keymap.bind_for(key).map(Bind::action)
}

/// The re-registration dialog's keys are fixed, like the prompts', so that a rebinding
/// can never make Apply reachable by a key the user did not expect.
fn fix_key(key: KeyEvent, ctrl: bool, state: &State) -> Option<Action> {
    let page = isize::try_from(layout::fix_viewport(state.size))
        .unwrap_or(1)
        .max(1);
    if ctrl {
        return match key.code {
            KeyCode::Char('d') => Some(Action::FixScroll(page)),
            KeyCode::Char('u') => Some(Action::FixScroll(-page)),
            _ => None,
        };
    }
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => Some(Action::FixClose),
        KeyCode::Tab
        | KeyCode::BackTab
        | KeyCode::Left
        | KeyCode::Right
        | KeyCode::Char('h' | 'l') => Some(Action::FixSwitchButton),
        KeyCode::Char('t') => Some(Action::FixCycleTarget),
        KeyCode::Char('j') | KeyCode::Down => Some(Action::FixScroll(1)),
        KeyCode::Char('k') | KeyCode::Up => Some(Action::FixScroll(-1)),
        KeyCode::PageDown => Some(Action::FixScroll(page)),
        KeyCode::PageUp => Some(Action::FixScroll(-page)),
        KeyCode::Enter => Some(Action::FixChoose),
        _ => None,
    }
}

/// The findings list: movement, sort, Enter jumps, and its own key (or Esc, q) closes.
fn findings_key(key: KeyEvent, state: &State) -> Option<Action> {
    let page = isize::try_from(state.tree_height()).unwrap_or(1).max(1);
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => Some(Action::ToggleFindings),
        KeyCode::Char('j') | KeyCode::Down => Some(Action::FindingsMove(1)),
        KeyCode::Char('k') | KeyCode::Up => Some(Action::FindingsMove(-1)),
        KeyCode::Char('g') | KeyCode::Home => Some(Action::FindingsMove(isize::MIN / 2)),
        KeyCode::Char('G') | KeyCode::End => Some(Action::FindingsMove(isize::MAX / 2)),
        KeyCode::PageDown => Some(Action::FindingsMove(page)),
        KeyCode::PageUp => Some(Action::FindingsMove(-page)),
        KeyCode::Char('s') => Some(Action::FindingsSort),
        KeyCode::Enter => Some(Action::FindingsJump),
        _ => match state.keymap.bind_for(key) {
            Some(Bind::Findings) => Some(Action::ToggleFindings),
            _ => None,
        },
    }
}

/// The events pane: movement, `y` copies the timeline, its own key (or Esc, q) closes.
fn events_key(key: KeyEvent, state: &State) -> Option<Action> {
    let page = isize::try_from(state.tree_height()).unwrap_or(1).max(1);
    match key.code {
        KeyCode::Esc | KeyCode::Char('q') => Some(Action::ToggleEvents),
        KeyCode::Char('j') | KeyCode::Down => Some(Action::EventsMove(1)),
        KeyCode::Char('k') | KeyCode::Up => Some(Action::EventsMove(-1)),
        KeyCode::Char('g') | KeyCode::Home => Some(Action::EventsMove(isize::MIN / 2)),
        KeyCode::Char('G') | KeyCode::End => Some(Action::EventsMove(isize::MAX / 2)),
        KeyCode::PageDown => Some(Action::EventsMove(page)),
        KeyCode::PageUp => Some(Action::EventsMove(-page)),
        _ => match state.keymap.bind_for(key) {
            Some(Bind::Events) => Some(Action::ToggleEvents),
            Some(Bind::Copy) => Some(Action::Copy),
            Some(Bind::Undo) => Some(Action::Undo),
            _ => None,
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PromptKind {
    Filter,
    Command,
}

fn prompt_key(key: KeyEvent, ctrl: bool, kind: PromptKind) -> Option<Action> {
    let command = kind == PromptKind::Command;
    match key.code {
        KeyCode::Esc if command => Some(Action::CancelCommand),
        KeyCode::Esc => Some(Action::ClearFilter),
        KeyCode::Enter if command => Some(Action::RunCommand),
        KeyCode::Enter => Some(Action::ConfirmFilter),
        KeyCode::Backspace if command => Some(Action::CommandBackspace),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        KeyCode::Up if command => Some(Action::CommandHistory(-1)),
        KeyCode::Down if command => Some(Action::CommandHistory(1)),
        KeyCode::Tab if command => Some(Action::CommandComplete),
        // The filter narrows the tree while typing, so moving through the result helps.
        KeyCode::Up if !command => Some(Action::MoveUp),
        KeyCode::Down if !command => Some(Action::MoveDown),
        KeyCode::Char(c) if !ctrl && command => Some(Action::CommandInput(c)),
        KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
        _ => None,
    }
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
