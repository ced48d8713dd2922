//! The normal-mode key bindings: one table of bindable commands, and the [`Keymap`] in
//! effect (the table's default keys with the config file's `[keys]` overrides applied).
//!
//! Everything about a binding is written once, in the `bindings!` table below: its
//! config name, default keys, help text and the action it sends. The [`Bind`] enum, the
//! default keymap, the names `[keys]` accepts, the help overlay's list and normal-mode
//! dispatch are all derived from that table.

use crate::tui::action::Action;
use crate::tui::keyname::Key;
use crossterm::event::KeyEvent;
use std::collections::HashMap;

/// One row of the binding table.
#[derive(Debug)]
pub struct Binding {
    /// The name used in the config file's `[keys]`.
    pub name: &'static str,
    /// The keys bound unless `[keys]` says otherwise, as [`Key::parse`] reads them.
    pub keys: &'static [&'static str],
    /// What it does, for the help overlay.
    pub help: &'static str,
    /// The action a bound key sends in normal mode (a function, because an action is not
    /// `Copy` and a static table cannot hand out owned ones).
    pub action: fn() -> Action,
}

/// Declares the binding table, one row per command:
/// `Variant: "config_name", [default keys], "help text", ActionVariant;`.
/// It defines the [`Bind`] enum (variants in row order) and [`BINDINGS`] (rows in the
/// same order, so a `Bind` is also its row's index).
macro_rules! bindings {
    ($($bind:ident: $name:literal, [$($key:literal),*], $help:literal, $action:ident;)*) => {
        /// A normal-mode command a key can be bound to: one per row of [`BINDINGS`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Bind {
            $(#[doc = $help] $bind,)*
        }

        impl Bind {
            /// Every bindable command, in help order.
            pub const ALL: [Bind; Bind::COUNT] = [$(Bind::$bind),*];
            /// How many commands there are.
            const COUNT: usize = [$($name),*].len();
        }

        /// Every bindable command's row, in [`Bind::ALL`] order.
        pub static BINDINGS: [Binding; Bind::COUNT] = [$(
            Binding { name: $name, keys: &[$($key),*], help: $help, action: || Action::$action },
        )*];
    };
}

// Adding a binding is adding a row here; the help overlay lists them in this order.
bindings! {
    // variant   config name     default keys        help text                         action
    MoveDown:    "move_down",    ["j", "down"],      "move down",                      MoveDown;
    MoveUp:      "move_up",      ["k", "up"],        "move up",                        MoveUp;
    Top:         "top",          ["g", "home"],      "first row",                      Top;
    Bottom:      "bottom",       ["G", "end"],       "last row",                       Bottom;
    PageUp:      "page_up",      ["pgup", "ctrl-u"], "one screen up",                  PageUp;
    PageDown:    "page_down",    ["pgdn", "ctrl-d"], "one screen down",                PageDown;
    Expand:      "expand",       ["l", "right"],     "expand (again: step in)",        Expand;
    Collapse:    "collapse",     ["h", "left"],      "collapse (again: go to parent)", Collapse;
    Toggle:      "toggle",       ["enter", "space"], "expand or collapse",             Toggle;
    ExpandAll:   "expand_all",   ["+"],              "expand all",                     ExpandAll;
    CollapseAll: "collapse_all", ["-"],              "collapse all",                   CollapseAll;
    NextPane:    "next_pane",    ["tab"],            "next pane",                      CycleFocus;
    PrevPane:    "prev_pane",    ["shift-tab"],      "previous pane",                  CycleFocusBack;
    Filter:      "filter",       ["/"],              "filter (keys below)",            StartFilter;
    DriftOnly:   "drift_only",   ["d"],              "drift-only view",                ToggleDriftOnly;
    Sort:        "sort",         ["s"],              "sort: name, drift, role",        CycleSort;
    NextDrift:   "next_drift",   ["n"],              "next drifting instance",         NextDrift;
    PrevDrift:   "prev_drift",   ["N"],              "previous drifting instance",     PrevDrift;
    Findings:    "findings",     ["F"],              "every finding (Enter jumps)",    ToggleFindings;
    Events:      "events",       ["e"],              "events of the session (y copies)", ToggleEvents;
    Undo:        "undo",         ["u"],              "undo the fix selected in events", Undo;
    Refresh:     "refresh",      ["R"],              "refresh now",                    Refresh;
    Copy:        "copy",         ["y"],              "copy the selection (OSC 52)",    Copy;
    Fix:         "fix",          ["r"],              "re-register instance or cluster", FixOpen;
    Failover:    "failover",     ["f"],              "failover view of the cluster",   FailoverOpen;
    Command:     "command",      [":"],              "command line (see below)",       StartCommand;
    Help:        "help",         ["?"],              "this help",                      ToggleHelp;
    Quit:        "quit",         ["q"],              "quit",                           Quit;
}

impl Bind {
    /// This command's row of the table.
    pub fn binding(self) -> &'static Binding {
        // The macro emits the variants and the rows in the same order.
        &BINDINGS[self as usize]
    }

    /// The name used in the config file's `[keys]`.
    pub fn name(self) -> &'static str {
        self.binding().name
    }

    /// What it does, for the help overlay.
    pub fn describe(self) -> &'static str {
        self.binding().help
    }

    /// The bindable command with this config name.
    pub fn from_name(name: &str) -> Option<Bind> {
        Bind::ALL.into_iter().find(|b| b.name() == name)
    }

    /// The action a key bound to this command sends in normal mode.
    pub fn action(self) -> Action {
        (self.binding().action)()
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
                    .binding()
                    .keys
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

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        match text.parse::<toml::Table>() {
            Ok(t) => t,
            Err(e) => panic!("test toml: {e}"),
        }
    }

    #[test]
    fn default_keymap_binds_every_action() {
        let km = Keymap::default();
        for b in Bind::ALL {
            assert!(!km.keys(b).is_empty(), "{} has no default key", b.name());
            assert_eq!(Bind::from_name(b.name()), Some(b));
        }
        assert_eq!(km.label(Bind::MoveDown), "j / Down");
        assert_eq!(
            km,
            Keymap::from_table(&toml::Table::new()).unwrap_or_default()
        );
    }

    #[test]
    fn every_row_of_the_table_is_usable() {
        for (b, row) in Bind::ALL.into_iter().zip(&BINDINGS) {
            assert!(
                std::ptr::eq(b.binding(), row),
                "{} is not its own row",
                row.name
            );
            for k in row.keys {
                assert!(Key::parse(k).is_ok(), "{}: default key {k:?}", row.name);
            }
            assert!(!row.help.is_empty(), "{} has no help text", row.name);
        }
        let mut names: Vec<&str> = BINDINGS.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BINDINGS.len(), "config names repeat");
    }

    #[test]
    fn bad_overrides_name_the_entry() {
        let err = |text: &str| Keymap::from_table(&table(text)).err().unwrap_or_default();
        assert!(err(r#"frobnicate = "x""#).contains("[keys] frobnicate: unknown action"));
        assert!(err(r#"quit = "banana""#).contains("[keys] quit: \"banana\" is not a key name"));
        assert!(err("quit = 3").contains("[keys] quit: expected a key name"));
        assert!(err("quit = [1]").contains("[keys] quit: expected key names"));
        assert!(err("quit = []").contains("[keys] quit: no key given"));
        assert!(err(r#"quit = "esc""#).contains("reserved"));
        // `d` still toggles drift-only: binding it to filter too would be ambiguous.
        let clash = err(r#"filter = "d""#);
        assert!(
            clash.contains("d is also bound to drift_only")
                || clash.contains("also bound to filter"),
            "{clash}"
        );
        // Moving the other one away resolves it.
        assert!(Keymap::from_table(&table("filter = \"d\"\ndrift_only = \"D\"")).is_ok());
    }
}
