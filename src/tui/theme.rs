//! Colours. Every meaning carried by a colour is also carried by a letter or marker, so
//! the no-colour theme loses nothing but decoration.

use crate::drift::Severity;
use crate::identity::Role;
use ratatui::style::{Color, Modifier, Style};

/// Which palette to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ThemeKind {
    /// For dark terminal backgrounds.
    #[default]
    Dark,
    /// For light terminal backgrounds.
    Light,
    /// No colours at all (`NO_COLOR`); only bold/reverse for structure.
    NoColor,
}

impl ThemeKind {
    /// Parses a theme name (`dark`, `light`, `none`/`no-color`).
    pub fn parse(name: &str) -> Option<ThemeKind> {
        match name.trim().to_ascii_lowercase().as_str() {
            "dark" => Some(ThemeKind::Dark),
            "light" => Some(ThemeKind::Light),
            "none" | "no-color" | "nocolor" | "mono" => Some(ThemeKind::NoColor),
            _ => None,
        }
    }

    /// The theme to use given a configured name and the environment; `NO_COLOR` wins.
    pub fn resolve(configured: Option<&str>, no_color_env: bool) -> ThemeKind {
        if no_color_env {
            return ThemeKind::NoColor;
        }
        configured.and_then(ThemeKind::parse).unwrap_or_default()
    }
}

/// The styles the view uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// Plain text.
    pub text: Style,
    /// Secondary text (absent values, hints).
    pub dim: Style,
    /// Titles and headings.
    pub title: Style,
    /// The selected row.
    pub selected: Style,
    /// The border of the focused pane.
    pub focus_border: Style,
    /// Borders of the other panes.
    pub border: Style,
    /// Error severity, failed sources, critical health.
    pub error: Style,
    /// Warning severity, warning health.
    pub warning: Style,
    /// Info severity.
    pub info: Style,
    /// Healthy states.
    pub ok: Style,
    /// The primary role.
    pub primary: Style,
    /// The replica role.
    pub replica: Style,
    /// Offline and delayed replicas.
    pub special: Style,
    /// The READ-ONLY marker.
    pub read_only: Style,
    /// A diff line being removed (its `-` says so without colour).
    pub diff_del: Style,
    /// A diff line being added (its `+` says so without colour).
    pub diff_add: Style,
}

impl Theme {
    /// The palette for a kind.
    pub fn new(kind: ThemeKind) -> Theme {
        match kind {
            ThemeKind::Dark => Theme::coloured(Color::Gray, Color::DarkGray, Color::Cyan),
            ThemeKind::Light => Theme::coloured(Color::Black, Color::Gray, Color::Blue),
            ThemeKind::NoColor => Theme::mono(),
        }
    }

    fn coloured(text: Color, dim: Color, accent: Color) -> Theme {
        let fg = |c: Color| Style::new().fg(c);
        Theme {
            text: fg(text),
            dim: fg(dim),
            title: fg(accent).add_modifier(Modifier::BOLD),
            selected: Style::new().add_modifier(Modifier::REVERSED),
            focus_border: fg(accent),
            border: fg(dim),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            warning: fg(Color::Yellow),
            info: fg(Color::Blue),
            ok: fg(Color::Green),
            primary: fg(Color::Green).add_modifier(Modifier::BOLD),
            replica: fg(Color::Blue),
            special: fg(Color::Magenta),
            read_only: fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::REVERSED),
            diff_del: fg(Color::Red),
            diff_add: fg(Color::Green),
        }
    }

    fn mono() -> Theme {
        let bold = Style::new().add_modifier(Modifier::BOLD);
        let plain = Style::new();
        Theme {
            text: plain,
            dim: plain,
            title: bold,
            selected: Style::new().add_modifier(Modifier::REVERSED),
            focus_border: bold,
            border: plain,
            error: bold,
            warning: plain,
            info: plain,
            ok: plain,
            primary: bold,
            replica: plain,
            special: plain,
            read_only: Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
            diff_del: plain,
            diff_add: plain,
        }
    }

    /// The style of a severity.
    pub fn severity(&self, s: Severity) -> Style {
        match s {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }

    /// The style of a role.
    pub fn role(&self, r: &Role) -> Style {
        match r {
            Role::Primary => self.primary,
            Role::Replica => self.replica,
            Role::Offline | Role::Delayed => self.special,
            Role::Unknown(_) => self.warning,
        }
    }

    /// The style of a Consul health status.
    pub fn health(&self, status: &str) -> Style {
        match status {
            "passing" => self.ok,
            "critical" => self.error,
            _ => self.warning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_env_wins_and_names_parse() {
        assert_eq!(ThemeKind::resolve(Some("light"), true), ThemeKind::NoColor);
        assert_eq!(ThemeKind::resolve(Some("light"), false), ThemeKind::Light);
        assert_eq!(ThemeKind::resolve(Some("neon"), false), ThemeKind::Dark);
        assert_eq!(Theme::new(ThemeKind::NoColor).error.fg, None);
    }
}
