//! The help overlay: every key binding as it is in effect, the commands and the legend.

use super::findings_list::cut;
use crate::tui::command::COMMANDS;
use crate::tui::keymap::Bind;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// Width of the key column of each half.
const KEY_W: usize = 15;
/// Widest the overlay gets.
const MAX_W: u16 = 110;

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let w = area.width.min(MAX_W);
    let inner_w = usize::from(w.saturating_sub(2));
    let entries = state.keymap.help();
    // Two columns when there is room, so the whole list fits a 24-line terminal.
    let columns = if inner_w >= 2 * (KEY_W + 20) { 2 } else { 1 };
    let col_w = inner_w / columns;
    let per_col = entries.len().div_ceil(columns);
    let mut lines: Vec<Line> = Vec::new();
    for r in 0..per_col {
        let mut spans = Vec::new();
        for c in 0..columns {
            let Some((keys, what)) = entries.get(c * per_col + r) else {
                continue;
            };
            let desc_w = col_w.saturating_sub(KEY_W + 1);
            // A cell that does not fit ends in `…`, as the tree's cells do.
            let keys = cut(keys, KEY_W - 1);
            let what = cut(what, desc_w);
            spans.push(Span::styled(format!("{keys:<KEY_W$}"), theme.title));
            // Pad all but the last column so the next one lines up.
            if c + 1 < columns {
                spans.push(Span::raw(format!("{what:<w$} ", w = desc_w)));
            } else {
                spans.push(Span::raw(what));
            }
        }
        lines.push(Line::from(spans));
    }
    let commands = COMMANDS.join("  ");
    lines.push(Line::from(vec![
        Span::styled("commands: ", theme.title),
        Span::raw(commands.clone()),
    ]));
    lines.push(Line::from(vec![
        Span::styled("filter keys: ", theme.title),
        Span::raw(format!(
            "{}  (other words match names and addresses)",
            crate::tui::filter::KEYS
        )),
    ]));
    lines.push(Line::styled(
        "roles: P primary  R replica  O offline  D delayed  ? unknown word",
        theme.dim,
    ));
    lines.push(Line::styled(
        "       ! the source disagrees with itself  . no role  - absent  ~ not read",
        theme.dim,
    ));
    lines.push(Line::styled(
        "       p r o d (lower case): kept from a stale read   ~ in DRIFT: unverified",
        theme.dim,
    ));
    lines.push(Line::styled(
        "severity: E error  W warning  I info",
        theme.dim,
    ));
    // The commands line may wrap; leave room for it.
    let commands_w = commands.chars().count() + "commands: ".len();
    let extra = commands_w.div_ceil(inner_w.max(1)).saturating_sub(1);
    let h = area
        .height
        .min(u16::try_from(lines.len() + extra + 2).unwrap_or(u16::MAX));
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .border_style(theme.focus_border)
                .title(Line::styled(
                    format!("Keys ({} or Esc closes)", state.keymap.label(Bind::Help)),
                    theme.title,
                )),
        ),
        rect,
    );
}
