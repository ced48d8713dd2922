//! The events pane: what changed during the session, one timed line each, oldest first.

use super::findings_list::{cut, overlay_rect};
use super::widgets::row_style;
use crate::drift::Severity;
use crate::tui::state::{EventKind, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(view) = state.events_view else {
        return;
    };
    let rect = overlay_rect(area);
    let rows = usize::from(rect.height.saturating_sub(2)).max(1);
    let width = usize::from(rect.width.saturating_sub(2));
    let offset = view.selected.saturating_sub(rows - 1);
    let mut lines: Vec<Line> = Vec::new();
    for (pos, e) in state.events.iter().enumerate().skip(offset).take(rows) {
        let style = match e.kind {
            EventKind::Appeared(s) => theme.severity(s),
            EventKind::Resolved | EventKind::Recovered => theme.ok,
            EventKind::Role => theme.title,
            EventKind::Stale => theme.warning,
            EventKind::Fix { ok: true, .. } => theme.ok,
            EventKind::Fix { ok: false, .. } => theme.severity(Severity::Error),
        };
        let time = crate::tui::state::clock(e.at);
        let room = width.saturating_sub(time.len() + 1);
        lines.push(
            Line::from(vec![
                Span::styled(format!("{time} "), theme.dim),
                Span::styled(cut(&e.text, room), style),
            ])
            .style(row_style(pos == view.selected, theme)),
        );
    }
    if state.events.is_empty() {
        lines.push(Line::styled(
            "nothing changed yet: findings appearing or resolving, role changes, sources \
             failing or recovering and fixes will show here",
            theme.dim,
        ));
    }
    let title = format!(
        "Events ({}, UTC)  j/k move  y copy all  u undo a fix  Esc close",
        state.events.len()
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .block(
                Block::bordered()
                    .border_style(theme.focus_border)
                    .title(Line::styled(cut(&title, width), theme.title)),
            ),
        rect,
    );
}
