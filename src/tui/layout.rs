//! Screen geometry: where each pane goes at a terminal size.
//!
//! Drawing, scrolling (how many tree rows fit) and mouse hit-testing all need the same
//! rectangles, so they are computed here once, from nothing but the size and the focus.

use crate::tui::vocab::Focus;
use ratatui::layout::{Constraint, Layout, Rect};

/// Smallest usable terminal (columns, rows).
pub const MIN_SIZE: (u16, u16) = (40, 10);
/// From this width the tree and the side panes sit side by side.
const WIDE: u16 = 100;
/// From this height a narrow terminal stacks all three panes.
const TALL: u16 = 24;
/// Rows of the re-registration dialog around its plan: borders, a blank line, the buttons
/// and the key hint.
pub const FIX_CHROME: u16 = 5;

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

/// The part of the tree pane that shows rows: inside the border, below the column header.
pub fn tree_body(pane: Rect) -> Rect {
    Rect::new(
        pane.x.saturating_add(1),
        pane.y.saturating_add(2),
        pane.width.saturating_sub(2),
        pane.height.saturating_sub(3),
    )
}

/// Rows of the tree visible at a terminal size (borders and column header excluded).
pub fn tree_viewport(size: (u16, u16)) -> usize {
    let a = layout(Rect::new(0, 0, size.0, size.1), Focus::Tree);
    a.tree
        .map(|t| usize::from(tree_body(t).height))
        .unwrap_or(0)
}

/// Rows of plan the re-registration dialog can show at most in this area.
pub fn fix_max_body(area: Rect) -> u16 {
    area.height.saturating_sub(2 + FIX_CHROME).max(1)
}

/// Lines of plan the re-registration dialog shows at most at a terminal size (a page).
pub fn fix_viewport(size: (u16, u16)) -> usize {
    fix_max_body(Rect::new(0, 0, size.0, size.1)).into()
}
