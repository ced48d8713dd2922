//! Key names: parsing the names the config file's `[keys]` uses (`j`, `ctrl-r`, `pgdn`,
//! `F5`) into keys, and the labels the help and footer show for them.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_parse() {
        let k = |s: &str| Key::parse(s);
        let plain = |code| Key {
            code,
            ctrl: false,
            alt: false,
        };
        assert_eq!(k("x"), Ok(plain(KeyCode::Char('x'))));
        assert_eq!(k("D"), Ok(plain(KeyCode::Char('D'))));
        assert_eq!(k("shift-d"), Ok(plain(KeyCode::Char('D'))));
        assert_eq!(k("-"), Ok(plain(KeyCode::Char('-'))));
        assert_eq!(k("+"), Ok(plain(KeyCode::Char('+'))));
        assert_eq!(k("space"), Ok(plain(KeyCode::Char(' '))));
        assert_eq!(k("PgDn"), Ok(plain(KeyCode::PageDown)));
        assert_eq!(k("shift-tab"), Ok(plain(KeyCode::BackTab)));
        assert_eq!(k("F5"), Ok(plain(KeyCode::F(5))));
        let ctrl_r = Key {
            code: KeyCode::Char('r'),
            ctrl: true,
            alt: false,
        };
        assert_eq!(k("ctrl-r"), Ok(ctrl_r));
        assert_eq!(k("Ctrl+R"), Ok(ctrl_r));
        assert_eq!(ctrl_r.label(), "Ctrl-R");
        for bad in ["", "esc", "ctrl-c", "banana", "f13", "ctrl-", "\u{7}"] {
            assert!(k(bad).is_err(), "{bad:?} should not parse");
        }
    }
}
