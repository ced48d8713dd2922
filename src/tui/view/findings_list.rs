//! The findings list overlay: every finding of the fleet, one line each, worst first.

use super::widgets::{clean, row_style, sev_letter};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(list) = state.findings_list else {
        return;
    };
    let rect = overlay_rect(area);
    let order = state.findings_order();
    let rows = usize::from(rect.height.saturating_sub(2)).max(1);
    // Keep the selection on screen: scroll by whole pages' worth only as far as needed.
    let offset = list.selected.saturating_sub(rows - 1);
    let width = usize::from(rect.width.saturating_sub(2));
    let place_w = order
        .iter()
        .filter_map(|&i| state.findings().get(i))
        .map(|f| place(f).chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 3);
    let kind_w = order
        .iter()
        .filter_map(|&i| state.findings().get(i))
        .map(|f| f.kind.code().len())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line> = Vec::new();
    for (pos, &i) in order.iter().enumerate().skip(offset).take(rows) {
        let Some(f) = state.findings().get(i) else {
            continue;
        };
        let head = format!(
            "{} {:<kind_w$} {:<place_w$} ",
            sev_letter(f.severity),
            f.kind.code(),
            cut(&place(f), place_w),
        );
        let room = width.saturating_sub(head.chars().count());
        let selected = pos == list.selected;
        lines.push(
            Line::from(vec![
                Span::styled(head, theme.severity(f.severity)),
                Span::raw(cut(&clean(&f.message), room)),
            ])
            .style(row_style(selected, theme)),
        );
    }
    if order.is_empty() {
        lines.push(Line::styled("no findings: every source agrees", theme.ok));
    }
    let sort = if list.by_place { "place" } else { "severity" };
    let title = format!(
        "Findings ({}, by {sort})  j/k move  Enter go to  s sort  Esc close",
        order.len()
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border)
                .title(Line::styled(cut(&title, width), theme.title)),
        ),
        rect,
    );
}

/// Where a finding is: `cluster/instance`, or the cluster alone.
fn place(f: &crate::drift::Finding) -> String {
    match &f.instance {
        Some(i) => format!("{}/{}", clean(&f.cluster), clean(i)),
        None => clean(&f.cluster),
    }
}

/// The overlay's rectangle: the whole body, between the header lines and the footer,
/// so the counts and the key hints stay visible.
pub(crate) fn overlay_rect(area: Rect) -> Rect {
    let top = area.height.min(2);
    Rect::new(
        area.x,
        area.y + top,
        area.width,
        area.height.saturating_sub(top + 1),
    )
}

/// The text cut to `max` characters, ending in `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}
