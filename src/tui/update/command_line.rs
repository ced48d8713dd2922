//! The `:` prompt's history (Up/Down) and Tab completion of command names.

use crate::tui::command::COMMANDS;
use crate::tui::state::{State, Status};

/// Most commands remembered.
const HISTORY_MAX: usize = 100;

/// Keeps a run command for Up, without repeating the previous one.
pub(super) fn remember(state: &mut State, text: &str) {
    let text = text.trim();
    if text.is_empty() || state.command_history.last().is_some_and(|l| l == text) {
        return;
    }
    state.command_history.push(text.to_string());
    if state.command_history.len() > HISTORY_MAX {
        state.command_history.remove(0);
    }
}

/// Up (negative) and Down through the history; Down past the newest clears the line.
pub(super) fn history(state: &mut State, delta: isize) {
    let n = state.command_history.len();
    if n == 0 || state.command.is_none() {
        return;
    }
    let pos = match state.history_pos {
        None if delta < 0 => Some(n - 1),
        None => None,
        Some(p) => {
            let next = p.checked_add_signed(delta);
            match next {
                Some(q) if q < n => Some(q),
                Some(_) => None,
                // Up at the oldest stays there.
                None => Some(0),
            }
        }
    };
    state.history_pos = pos;
    state.command = Some(
        pos.and_then(|p| state.command_history.get(p).cloned())
            .unwrap_or_default(),
    );
}

/// The command names, as `:help` lists them (without the colon and arguments).
fn names() -> impl Iterator<Item = (&'static str, bool)> {
    COMMANDS.iter().map(|c| {
        let c = c.trim_start_matches(':');
        match c.split_once(' ') {
            Some((name, _)) => (name, true),
            None => (c, false),
        }
    })
}

/// Tab: one match completes (with a space when it takes an argument); several extend
/// to their common prefix and are listed in the footer.
pub(super) fn complete(state: &mut State) {
    let Some(text) = state.command.clone() else {
        return;
    };
    if text.contains(' ') {
        return;
    }
    let matches: Vec<(&str, bool)> = names().filter(|(n, _)| n.starts_with(&text)).collect();
    match matches.as_slice() {
        [] => state.status = Some(Status::error(format!("no command starts with :{text}"))),
        [(name, args)] => {
            state.command = Some(format!("{name}{}", if *args { " " } else { "" }));
        }
        many => {
            let first = many[0].0;
            let common = (text.len()..=first.len())
                .rev()
                .find(|&l| many.iter().all(|(n, _)| n.get(..l) == first.get(..l)))
                .unwrap_or(text.len());
            state.command = Some(first[..common].to_string());
            let list: Vec<String> = many.iter().map(|(n, _)| format!(":{n}")).collect();
            state.status = Some(Status::info(list.join("  ")));
        }
    }
}
