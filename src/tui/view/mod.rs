//! Pure rendering: everything on screen is a function of `&State`.

mod detail;
mod failover;
mod findings;
mod fix;
mod header;
mod help;
mod sources;
mod tree;

use crate::drift::Severity;
use crate::text::sanitize;
use crate::tui::state::{Focus, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Wrap};

/// Smallest usable terminal (columns, rows).
pub const MIN_SIZE: (u16, u16) = (40, 10);
/// From this width the tree and the side panes sit side by side.
const WIDE: u16 = 100;
/// From this height a narrow terminal stacks all three panes.
const TALL: u16 = 24;

/// Where each part of the screen goes; `None` panes are hidden at this size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Areas {
    /// Title and counts.
    pub header: Rect,
    /// One entry per source.
    pub sources: Rect,
    /// The tree pane.
    pub tree: Option<Rect>,
    /// The findings pane.
    pub findings: Option<Rect>,
    /// The detail pane.
    pub detail: Option<Rect>,
    /// Filter input and key hints.
    pub footer: Rect,
}

/// Splits the screen; short narrow terminals show only the focused pane.
pub fn layout(area: Rect, focus: Focus) -> Areas {
    let [header, sources, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (tree, findings, detail) = if area.width >= WIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(body);
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
        (Some(left), Some(top), Some(bottom))
    } else if area.height >= TALL {
        let [a, b, c] = Layout::vertical([
            Constraint::Percentage(50),
            Constraint::Percentage(25),
            Constraint::Percentage(25),
        ])
        .areas(body);
        (Some(a), Some(b), Some(c))
    } else {
        match focus {
            Focus::Tree => (Some(body), None, None),
            Focus::Findings => (None, Some(body), None),
            Focus::Detail => (None, None, Some(body)),
        }
    };
    Areas {
        header,
        sources,
        tree,
        findings,
        detail,
        footer,
    }
}

/// Rows of the tree visible at a terminal size (borders and column header excluded).
pub fn tree_viewport(size: (u16, u16)) -> usize {
    let a = layout(Rect::new(0, 0, size.0, size.1), Focus::Tree);
    a.tree
        .map(|t| usize::from(t.height.saturating_sub(3)))
        .unwrap_or(0)
}

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let theme = Theme::new(state.theme);
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, area, &theme);
        return;
    }
    let areas = layout(area, state.focus);
    header::draw(frame, areas.header, areas.sources, state, &theme);
    if let Some(r) = areas.tree {
        tree::draw(frame, r, state, &theme);
    }
    if let Some(r) = areas.findings {
        findings::draw(frame, r, state, &theme);
    }
    if let Some(r) = areas.detail {
        detail::draw(frame, r, state, &theme);
    }
    header::footer(frame, areas.footer, state, &theme);
    if state.help {
        help::draw(frame, area, state, &theme);
    } else if state.failover.is_some() {
        failover::draw(frame, area, state, &theme);
    } else if state.sources_open {
        sources::draw(frame, area, state, &theme);
    } else if state.fix.is_some() {
        fix::draw(frame, area, state, &theme);
    }
}

/// Lines of plan the re-registration dialog shows at most at a terminal size (a page).
pub fn fix_viewport(size: (u16, u16)) -> usize {
    fix::max_body(Rect::new(0, 0, size.0, size.1)).into()
}

fn too_small(frame: &mut Frame, area: Rect, theme: &Theme) {
    let text = vec![
        Line::styled("terminal too small", theme.title),
        Line::raw(format!(
            "need {}x{}, have {}x{}",
            MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
        )),
    ];
    let h = u16::try_from(text.len()).unwrap_or(2).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    let rect = Rect::new(area.x, y, area.width, h);
    frame.render_widget(
        Paragraph::new(text)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

/// A pane's frame, highlighted when focused.
fn pane(title: String, focused: bool, theme: &Theme) -> Block<'static> {
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
fn clean(text: &str) -> String {
    sanitize(text, 200)
}

/// The severity letter, so severity never depends on colour.
fn sev_letter(s: Severity) -> &'static str {
    match s {
        Severity::Error => "E",
        Severity::Warning => "W",
        Severity::Info => "I",
    }
}

/// Scroll that keeps at least one line of content on screen.
fn clamp_scroll(scroll: u16, lines: usize) -> u16 {
    scroll.min(u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX))
}

/// Style for the selected row, when it is.
fn row_style(selected: bool, theme: &Theme) -> Style {
    if selected {
        theme.selected
    } else {
        Style::new()
    }
}
