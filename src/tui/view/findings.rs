//! The findings of the selection: severity letter and colour, message, each source's value.

use super::widgets::{clamp_scroll, clean, pane, sev_letter};
use crate::tui::state::{Focus, Row, State};
use crate::tui::theme::Theme;
use crate::verdict::describe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let picked = state.selection_findings();
    let scope = match state.selected_row() {
        None => "all".to_string(),
        Some(Row::Cluster(c)) => state
            .result
            .fleet
            .clusters
            .get(c)
            .map(|c| clean(&c.name))
            .unwrap_or_default(),
        Some(Row::Instance(i) | Row::Entry(i, _)) => state
            .instance(i)
            .map(|i| clean(&i.name))
            .unwrap_or_default(),
    };
    let title = format!("Findings: {scope} ({})", picked.len());
    let mut lines = Vec::new();
    // First, so that no scroll hides it: what was found is not all there may be.
    let unread = state.selection_unread();
    if !unread.is_empty() {
        lines.push(Line::styled(
            format!("not verified: {}", describe(&unread)),
            theme.warning,
        ));
    }
    for f in picked.iter().filter_map(|&i| state.findings().get(i)) {
        let style = theme.severity(f.severity);
        let who = f.instance.as_deref().unwrap_or(&f.cluster);
        lines.push(Line::from(vec![
            Span::styled(
                format!("{} {}", sev_letter(f.severity), f.kind.code()),
                style,
            ),
            Span::styled(format!(" {}", clean(who)), theme.title),
            Span::raw(format!(" {}", clean(&f.message))),
        ]));
        if !f.sources.is_empty() {
            let values: Vec<String> = f
                .sources
                .iter()
                .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
                .collect();
            lines.push(Line::styled(
                format!("    {}", values.join("  ")),
                theme.dim,
            ));
        }
    }
    // Only when every loaded source was read for the whole selection.
    if lines.is_empty() {
        lines.push(Line::styled("no drift here", theme.ok));
    }
    let scroll = clamp_scroll(state.findings_scroll, lines.len());
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane(title, state.focus == Focus::Findings, theme))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}
