//! The help overlay: every key binding.

use crate::tui::keys::BINDINGS;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub(super) fn draw(frame: &mut Frame, area: Rect, theme: &Theme) {
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:<16}"), theme.title),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::styled(
        "roles: P primary  R replica  O offline  D delayed  ? unknown word",
        theme.dim,
    ));
    lines.push(Line::styled(
        "       ! the source disagrees with itself  . no role  - absent",
        theme.dim,
    ));
    lines.push(Line::styled(
        "severity: E error  W warning  I info",
        theme.dim,
    ));
    let w = area.width.min(72);
    let h = area
        .height
        .min(u16::try_from(lines.len() + 2).unwrap_or(u16::MAX));
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border)
                .title(Line::styled("Keys (? or Esc closes)", theme.title)),
        ),
        rect,
    );
}
