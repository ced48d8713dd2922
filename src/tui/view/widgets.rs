//! Small pieces every pane draws with: the pane frame, safe text, severity letters,
//! scroll clamping and the selected-row style.

use crate::drift::Severity;
use crate::text::sanitize;
use crate::tui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::Block;

/// A pane's frame, highlighted when focused.
pub(super) fn pane(title: String, focused: bool, theme: &Theme) -> Block<'static> {
    let border = if focused {
        theme.focus_border
    } else {
        theme.border
    };
    let marker = if focused { "> " } else { "" };
    Block::bordered()
        .border_style(border)
        .title(Line::styled(format!("{marker}{title}"), theme.title))
}

/// Remote text made safe for the terminal.
pub(super) fn clean(text: &str) -> String {
    sanitize(text, 200)
}

/// The severity letter, so severity never depends on colour.
pub(super) fn sev_letter(s: Severity) -> &'static str {
    match s {
        Severity::Error => "E",
        Severity::Warning => "W",
        Severity::Info => "I",
    }
}

/// Scroll that keeps at least one line of content on screen.
pub(super) fn clamp_scroll(scroll: u16, lines: usize) -> u16 {
    scroll.min(u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX))
}

/// Style for the selected row, when it is.
pub(super) fn row_style(selected: bool, theme: &Theme) -> Style {
    if selected {
        theme.selected
    } else {
        Style::new()
    }
}
