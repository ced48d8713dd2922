//! Key bindings: a terminal key or mouse event becomes an action, depending on the mode.
//!
//! Normal-mode bindings live in a [`Keymap`] (defaults below, overridable from the config
//! file's `[keys]`); the typing modes (filter, command line) and Ctrl-C are fixed, so a
//! bad override can never trap the user.

use crate::tui::action::Action;
use crate::tui::layout::{self, MIN_SIZE};
use crate::tui::state::{Focus, State};
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};
use std::collections::HashMap;

/// Lines one wheel notch scrolls.
pub const WHEEL_STEP: isize = 3;

/// A normal-mode command a key can be bound to (the names used in `[keys]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bind {
    /// Select the next row.
    MoveDown,
    /// Select the previous row.
    MoveUp,
    /// First row.
    Top,
    /// Last row.
    Bottom,
    /// One screen up.
    PageUp,
    /// One screen down.
    PageDown,
    /// Expand, or step in.
    Expand,
    /// Collapse, or go to the parent.
    Collapse,
    /// Expand or collapse.
    Toggle,
    /// Expand every cluster.
    ExpandAll,
    /// Collapse to clusters.
    CollapseAll,
    /// Next pane.
    NextPane,
    /// Previous pane.
    PrevPane,
    /// Start the filter.
    Filter,
    /// Drift-only view.
    DriftOnly,
    /// Next sort order.
    Sort,
    /// Read the sources now.
    Refresh,
    /// Copy the selected identity.
    Copy,
    /// Re-register the selected instance (plan, confirm, apply).
    Fix,
    /// Open the failover view.
    Failover,
    /// Open the command line.
    Command,
    /// The help overlay.
    Help,
    /// Leave.
    Quit,
}

impl Bind {
    /// Every bindable command, in help order.
    pub const ALL: [Bind; 23] = [
        Bind::MoveDown,
        Bind::MoveUp,
        Bind::Top,
        Bind::Bottom,
        Bind::PageUp,
        Bind::PageDown,
        Bind::Expand,
        Bind::Collapse,
        Bind::Toggle,
        Bind::ExpandAll,
        Bind::CollapseAll,
        Bind::NextPane,
        Bind::PrevPane,
        Bind::Filter,
        Bind::DriftOnly,
        Bind::Sort,
        Bind::Refresh,
        Bind::Copy,
        Bind::Fix,
        Bind::Failover,
        Bind::Command,
        Bind::Help,
        Bind::Quit,
    ];

    /// The name used in the config file's `[keys]`.
    pub fn name(self) -> &'static str {
        match self {
            Bind::MoveDown => "move_down",
            Bind::MoveUp => "move_up",
            Bind::Top => "top",
            Bind::Bottom => "bottom",
            Bind::PageUp => "page_up",
            Bind::PageDown => "page_down",
            Bind::Expand => "expand",
            Bind::Collapse => "collapse",
            Bind::Toggle => "toggle",
            Bind::ExpandAll => "expand_all",
            Bind::CollapseAll => "collapse_all",
            Bind::NextPane => "next_pane",
            Bind::PrevPane => "prev_pane",
            Bind::Filter => "filter",
            Bind::DriftOnly => "drift_only",
            Bind::Sort => "sort",
            Bind::Refresh => "refresh",
            Bind::Copy => "copy",
            Bind::Fix => "fix",
            Bind::Failover => "failover",
            Bind::Command => "command",
            Bind::Help => "help",
            Bind::Quit => "quit",
        }
    }

    /// What it does, for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Bind::MoveDown => "move down",
            Bind::MoveUp => "move up",
            Bind::Top => "first row",
            Bind::Bottom => "last row",
            Bind::PageUp => "one screen up",
            Bind::PageDown => "one screen down",
            Bind::Expand => "expand (again: step in)",
            Bind::Collapse => "collapse (again: go to parent)",
            Bind::Toggle => "expand or collapse",
            Bind::ExpandAll => "expand all",
            Bind::CollapseAll => "collapse all",
            Bind::NextPane => "next pane",
            Bind::PrevPane => "previous pane",
            Bind::Filter => "filter; role: kind: src: sev:",
            Bind::DriftOnly => "drift-only view",
            Bind::Sort => "sort: name, drift, role",
            Bind::Refresh => "refresh now",
            Bind::Copy => "copy the selection (OSC 52)",
            Bind::Fix => "re-register the instance",
            Bind::Failover => "failover view of the cluster",
            Bind::Command => "command line (see below)",
            Bind::Help => "this help",
            Bind::Quit => "quit",
        }
    }

    fn defaults(self) -> &'static [&'static str] {
        match self {
            Bind::MoveDown => &["j", "down"],
            Bind::MoveUp => &["k", "up"],
            Bind::Top => &["g", "home"],
            Bind::Bottom => &["G", "end"],
            Bind::PageUp => &["pgup", "ctrl-u"],
            Bind::PageDown => &["pgdn", "ctrl-d"],
            Bind::Expand => &["l", "right"],
            Bind::Collapse => &["h", "left"],
            Bind::Toggle => &["enter", "space"],
            Bind::ExpandAll => &["+"],
            Bind::CollapseAll => &["-"],
            Bind::NextPane => &["tab"],
            Bind::PrevPane => &["shift-tab"],
            Bind::Filter => &["/"],
            Bind::DriftOnly => &["d"],
            Bind::Sort => &["s"],
            Bind::Refresh => &["R"],
            Bind::Copy => &["y"],
            Bind::Fix => &["r"],
            Bind::Failover => &["f"],
            Bind::Command => &[":"],
            Bind::Help => &["?"],
            Bind::Quit => &["q"],
        }
    }

    /// The bindable command with this config name.
    pub fn from_name(name: &str) -> Option<Bind> {
        Bind::ALL.into_iter().find(|b| b.name() == name)
    }

    fn action(self) -> Action {
        match self {
            Bind::MoveDown => Action::MoveDown,
            Bind::MoveUp => Action::MoveUp,
            Bind::Top => Action::Top,
            Bind::Bottom => Action::Bottom,
            Bind::PageUp => Action::PageUp,
            Bind::PageDown => Action::PageDown,
            Bind::Expand => Action::Expand,
            Bind::Collapse => Action::Collapse,
            Bind::Toggle => Action::Toggle,
            Bind::ExpandAll => Action::ExpandAll,
            Bind::CollapseAll => Action::CollapseAll,
            Bind::NextPane => Action::CycleFocus,
            Bind::PrevPane => Action::CycleFocusBack,
            Bind::Filter => Action::StartFilter,
            Bind::DriftOnly => Action::ToggleDriftOnly,
            Bind::Sort => Action::CycleSort,
            Bind::Refresh => Action::Refresh,
            Bind::Copy => Action::Copy,
            Bind::Fix => Action::FixOpen,
            Bind::Failover => Action::FailoverOpen,
            Bind::Command => Action::StartCommand,
            Bind::Help => Action::ToggleHelp,
            Bind::Quit => Action::Quit,
        }
    }
}

/// One key with the modifiers that matter (Shift is part of a character's case).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl held.
    pub ctrl: bool,
    /// Alt held.
    pub alt: bool,
}

impl Key {
    /// The key of a terminal event, normalised the way [`Key::parse`] normalises names.
    pub fn from_event(ev: KeyEvent) -> Key {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let code = match ev.code {
            // Terminals report Ctrl-R as 'r' or 'R' depending on Shift handling.
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            other => other,
        };
        Key {
            code,
            ctrl,
            alt: ev.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// Parses a key name: a character (`x`, `D`, `:`), a named key (`enter`, `space`,
    /// `tab`, `shift-tab`, `up`, `pgdn`, `f5`, ...), optionally with `ctrl-`/`alt-`.
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut rest = text.trim();
        let (mut ctrl, mut alt, mut shift) = (false, false, false);
        loop {
            // A lone "-" or "+" is a key, not a modifier separator.
            if rest.chars().count() <= 1 {
                break;
            }
            let lower = rest.to_ascii_lowercase();
            let strip = |p: &str| {
                lower
                    .strip_prefix(p)
                    .map(|_| &rest[p.len()..])
                    .filter(|r| !r.is_empty())
            };
            if let Some(r) = strip("ctrl-").or_else(|| strip("ctrl+")) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = strip("alt-").or_else(|| strip("alt+")) {
                alt = true;
                rest = r;
            } else if let Some(r) = strip("shift-").or_else(|| strip("shift+")) {
                shift = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(format!("{text:?} names no key")),
            (Some(c), None) if c.is_control() => return Err(format!("{text:?} is not a key")),
            (Some(c), None) => {
                let c = if ctrl {
                    c.to_ascii_lowercase()
                } else if shift {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                KeyCode::Char(c)
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "space" => KeyCode::Char(' '),
                "tab" if shift => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "esc" | "escape" => {
                    return Err(format!(
                        "{text:?}: Esc is reserved (it clears the filter and closes prompts)"
                    ));
                }
                f => match f.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                    Some(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(format!("{text:?} is not a key name")),
                },
            },
        };
        if ctrl && code == KeyCode::Char('c') {
            return Err(format!("{text:?}: Ctrl-C is reserved (it always quits)"));
        }
        Ok(Key { code, ctrl, alt })
    }

    /// The name shown in the help, e.g. `j`, `Down`, `Ctrl-R`.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            // Ctrl-R reads better than Ctrl-r, and both mean the same key.
            KeyCode::Char(c) if self.ctrl => c.to_ascii_uppercase().to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "Enter".into(),
            KeyCode::Tab => "Tab".into(),
            KeyCode::BackTab => "S-Tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::Delete => "Del".into(),
            KeyCode::Insert => "Ins".into(),
            KeyCode::Up => "Up".into(),
            KeyCode::Down => "Down".into(),
            KeyCode::Left => "Left".into(),
            KeyCode::Right => "Right".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        let mut out = String::new();
        if self.ctrl {
            out.push_str("Ctrl-");
        }
        if self.alt {
            out.push_str("Alt-");
        }
        out.push_str(&base);
        out
    }
}

/// The effective normal-mode bindings: defaults with the config file's overrides applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keymap {
    keys: Vec<(Bind, Vec<Key>)>,
    lookup: HashMap<Key, Bind>,
}

impl Default for Keymap {
    fn default() -> Keymap {
        let keys = Bind::ALL
            .into_iter()
            .map(|b| {
                let keys = b
                    .defaults()
                    .iter()
                    .filter_map(|k| Key::parse(k).ok())
                    .collect();
                (b, keys)
            })
            .collect();
        // The defaults are known to be unique; a clash would be a bug caught by the tests.
        Keymap::build(keys).unwrap_or_else(|_| Keymap {
            keys: Vec::new(),
            lookup: HashMap::new(),
        })
    }
}

impl Keymap {
    /// Applies `[keys]` overrides (`quit = "x"`, `refresh = ["ctrl-r", "F5"]`): each named
    /// action's default keys are replaced; an unknown name, a bad key or a key bound twice
    /// is an error naming the entry.
    pub fn from_table(table: &toml::Table) -> Result<Keymap, String> {
        let mut keys = Keymap::default().keys;
        for (name, value) in table {
            let Some(bind) = Bind::from_name(name) else {
                let known: Vec<&str> = Bind::ALL.iter().map(|b| b.name()).collect();
                return Err(format!(
                    "[keys] {name}: unknown action (known: {})",
                    known.join(", ")
                ));
            };
            let names: Vec<&str> = match value {
                toml::Value::String(s) => vec![s.as_str()],
                toml::Value::Array(items) => {
                    let mut names = Vec::with_capacity(items.len());
                    for item in items {
                        match item.as_str() {
                            Some(s) => names.push(s),
                            None => {
                                return Err(format!(
                                    "[keys] {name}: expected key names as strings, found {item}"
                                ));
                            }
                        }
                    }
                    names
                }
                other => {
                    return Err(format!(
                        "[keys] {name}: expected a key name or a list of them, found {other}"
                    ));
                }
            };
            if names.is_empty() {
                return Err(format!("[keys] {name}: no key given"));
            }
            let parsed = names
                .iter()
                .map(|n| Key::parse(n).map_err(|e| format!("[keys] {name}: {e}")))
                .collect::<Result<Vec<Key>, String>>()?;
            if let Some(slot) = keys.iter_mut().find(|(b, _)| *b == bind) {
                slot.1 = parsed;
            }
        }
        Keymap::build(keys)
    }

    /// The keymap for the settings' `[keys]` table: the defaults when there is none.
    pub fn from_config(keys: Option<&toml::Table>) -> Result<Keymap, String> {
        keys.map_or_else(|| Ok(Keymap::default()), Keymap::from_table)
    }

    fn build(keys: Vec<(Bind, Vec<Key>)>) -> Result<Keymap, String> {
        let mut lookup = HashMap::new();
        for (bind, ks) in &keys {
            for k in ks {
                if let Some(other) = lookup.insert(*k, *bind)
                    && other != *bind
                {
                    return Err(format!(
                        "[keys] {}: {} is also bound to {} (rebind that one too)",
                        bind.name(),
                        k.label(),
                        other.name()
                    ));
                }
            }
        }
        Ok(Keymap { keys, lookup })
    }

    /// The command bound to a key, if any.
    pub fn bind_for(&self, key: KeyEvent) -> Option<Bind> {
        self.lookup.get(&Key::from_event(key)).copied()
    }

    /// The keys of one command.
    pub fn keys(&self, bind: Bind) -> &[Key] {
        self.keys
            .iter()
            .find(|(b, _)| *b == bind)
            .map(|(_, k)| k.as_slice())
            .unwrap_or(&[])
    }

    /// The keys of one command as shown to the user, e.g. `j / Down`; `-` when unbound.
    pub fn label(&self, bind: Bind) -> String {
        let labels: Vec<String> = self.keys(bind).iter().map(Key::label).collect();
        if labels.is_empty() {
            "-".into()
        } else {
            labels.join(" / ")
        }
    }

    /// Every binding for the help overlay: (keys, what they do), fixed keys included.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Bind::ALL
            .into_iter()
            .map(|b| (self.label(b), b.describe()))
            .collect();
        out.extend(FIXED.iter().map(|(k, d)| ((*k).to_string(), *d)));
        out
    }
}

/// Keys that cannot be rebound, for the help overlay.
pub const FIXED: &[(&str, &str)] = &[
    ("Enter (prompt)", "keep filter / run command"),
    ("Esc", "clear filter, cancel, close help"),
    ("Tab t Enter", "fix dialog: button/target/choose"),
    ("Ctrl-C", "quit (always)"),
    ("mouse", "click selects, wheel scrolls"),
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
        // The filter narrows the tree while typing, so moving through the result helps.
        KeyCode::Up if !command => Some(Action::MoveUp),
        KeyCode::Down if !command => Some(Action::MoveDown),
        KeyCode::Char(c) if !ctrl && command => Some(Action::CommandInput(c)),
        KeyCode::Char(c) if !ctrl => Some(Action::FilterInput(c)),
        _ => None,
    }
}

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

/// The tree row under a point: inside the border, below the column header.
fn tree_row(tree: Rect, at: Position, offset: usize) -> Option<usize> {
    let first = tree.y.checked_add(2)?;
    let end = tree.bottom().checked_sub(1)?;
    let inside_x = at.x > tree.x && at.x.saturating_add(1) < tree.right();
    (inside_x && at.y >= first && at.y < end).then(|| offset + usize::from(at.y - first))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
