//! The source overlay (`:sources`): where each source was read, how old its data is, and
//! every error and note in full, since the header has room only for the start of one.

use super::header::{Standing, age_text};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let mut lines: Vec<Line> = Vec::new();
    for s in &state.sources {
        let standing = Standing::of(s);
        let (word, style) = (standing.word(), standing.style(theme));
        let age = s
            .age(state.now)
            .map(|a| format!(", read {} ago", age_text(a)))
            .unwrap_or_default();
        lines.push(Line::from(vec![
            Span::styled(s.label(), theme.title),
            Span::raw(" "),
            Span::styled(word, style),
            Span::raw(format!(" {} observations{age}", s.observations)),
        ]));
        lines.push(Line::styled(format!("  {}", s.location), theme.dim));
        for e in &s.errors {
            lines.push(Line::from(vec![
                Span::styled("  error: ", style),
                Span::raw(e.clone()),
            ]));
        }
        for n in &s.notes {
            lines.push(Line::styled(format!("  note: {n}"), theme.dim));
        }
        lines.push(Line::raw(""));
    }
    if state.sources.is_empty() {
        lines.push(Line::raw("no source read yet"));
    }
    let w = area.width.saturating_sub(4).max(20).min(area.width);
    let h = area.height.saturating_sub(2).max(5).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(Span::styled(" Sources (Esc closes) ", theme.title))),
        rect,
    );
}
