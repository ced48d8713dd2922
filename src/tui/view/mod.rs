//! Pure rendering: everything on screen is a function of `&State`.

mod datacenter;
mod detail;
mod events;
mod failover;
mod findings;
mod findings_list;
mod fix;
mod header;
mod help;
mod sources;
mod tree;
mod widgets;

use crate::tui::layout::{MIN_SIZE, layout};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

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
    } else if state.findings_list.is_some() {
        findings_list::draw(frame, area, state, &theme);
    } else if state.events_view.is_some() {
        events::draw(frame, area, state, &theme);
    }
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
