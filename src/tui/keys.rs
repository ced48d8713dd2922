//! Key bindings: a terminal key event becomes an action, depending on the mode.

use crate::tui::action::Action;
use crate::tui::state::State;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// Every binding, for the help overlay: (keys, what they do).
pub const BINDINGS: &[(&str, &str)] = &[
    ("j / Down", "move down"),
    ("k / Up", "move up"),
    ("g / Home", "first row"),
    ("G / End", "last row"),
    ("PgUp / PgDn", "one screen up / down"),
    ("l / Right", "expand (again: step in)"),
    ("h / Left", "collapse (again: go to parent)"),
    ("Enter / Space", "expand or collapse"),
    ("+ / -", "expand all / collapse all"),
    ("Tab / S-Tab", "next / previous pane"),
    ("/", "filter: words, role: kind: src: cluster: sev:"),
    ("Enter (filter)", "keep the filter, back to the tree"),
    ("Esc", "clear the filter / close help"),
    ("d", "drift-only view"),
    ("s", "sort: name, drift, role"),
    ("R", "refresh now"),
    ("?", "this help"),
    ("q / Ctrl-C", "quit"),
];

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
    if state.help {
        return match key.code {
            KeyCode::Esc | KeyCode::Char('?' | 'q') => Some(Action::ToggleHelp),
            _ => None,
        };
    }
    if state.filter_mode {
        return filter_key(key, ctrl);
    }
    if ctrl {
        return match key.code {
            KeyCode::Char('d') => Some(Action::PageDown),
            KeyCode::Char('u') => Some(Action::PageUp),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('j') | KeyCode::Down => Action::MoveDown,
        KeyCode::Char('k') | KeyCode::Up => Action::MoveUp,
        KeyCode::Char('g') | KeyCode::Home => Action::Top,
        KeyCode::Char('G') | KeyCode::End => Action::Bottom,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Char('l') | KeyCode::Right => Action::Expand,
        KeyCode::Char('h') | KeyCode::Left => Action::Collapse,
        KeyCode::Enter | KeyCode::Char(' ') => Action::Toggle,
        KeyCode::Char('+') => Action::ExpandAll,
        KeyCode::Char('-') => Action::CollapseAll,
        KeyCode::Tab => Action::CycleFocus,
        KeyCode::BackTab => Action::CycleFocusBack,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Esc if !state.filter_text.is_empty() => Action::ClearFilter,
        KeyCode::Char('d') => Action::ToggleDriftOnly,
        KeyCode::Char('s') => Action::CycleSort,
        KeyCode::Char('R') => Action::Refresh,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}

fn filter_key(key: KeyEvent, ctrl: bool) -> Option<Action> {
    match key.code {
        KeyCode::Esc => Some(Action::ClearFilter),
        KeyCode::Enter => Some(Action::ConfirmFilter),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        KeyCode::Up => Some(Action::MoveUp),
        KeyCode::Down => Some(Action::MoveDown),
        KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::CheckResult;
    use crate::tui::state::Options;

    fn state() -> State {
        State::new(
            CheckResult::new(Default::default(), Vec::new()),
            Options::default(),
        )
    }

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn normal_mode_bindings() {
        let s = state();
        let m = |c| map(key(c), &s);
        assert!(matches!(m(KeyCode::Char('j')), Some(Action::MoveDown)));
        assert!(matches!(m(KeyCode::Up), Some(Action::MoveUp)));
        assert!(matches!(m(KeyCode::Char('G')), Some(Action::Bottom)));
        assert!(matches!(m(KeyCode::Char(' ')), Some(Action::Toggle)));
        assert!(matches!(m(KeyCode::Char('/')), Some(Action::StartFilter)));
        assert!(matches!(m(KeyCode::Char('R')), Some(Action::Refresh)));
        assert!(matches!(m(KeyCode::Char('q')), Some(Action::Quit)));
        assert!(m(KeyCode::Esc).is_none(), "Esc with no filter does nothing");
        assert!(m(KeyCode::Char('x')).is_none());
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(matches!(map(ctrl_c, &s), Some(Action::Quit)));
    }

    #[test]
    fn filter_mode_sends_printable_keys_to_the_filter() {
        let mut s = state();
        s.filter_mode = true;
        assert!(matches!(
            map(key(KeyCode::Char('q')), &s),
            Some(Action::FilterInput('q'))
        ));
        assert!(matches!(
            map(key(KeyCode::Char('j')), &s),
            Some(Action::FilterInput('j'))
        ));
        assert!(matches!(
            map(key(KeyCode::Esc), &s),
            Some(Action::ClearFilter)
        ));
        assert!(matches!(
            map(key(KeyCode::Enter), &s),
            Some(Action::ConfirmFilter)
        ));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert!(matches!(map(ctrl_c, &s), Some(Action::Quit)));
    }

    #[test]
    fn help_swallows_other_keys_and_releases_are_ignored() {
        let mut s = state();
        s.help = true;
        assert!(matches!(
            map(key(KeyCode::Char('q')), &s),
            Some(Action::ToggleHelp)
        ));
        assert!(map(key(KeyCode::Char('j')), &s).is_none());
        s.help = false;
        let mut release = key(KeyCode::Char('j'));
        release.kind = KeyEventKind::Release;
        assert!(map(release, &s).is_none());
    }
}
