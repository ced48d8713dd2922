//! The header (counts, datacenter, READ-ONLY), the source status line and the footer.

use super::clean;
use crate::drift::Severity;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn draw(frame: &mut Frame, top: Rect, sources: Rect, state: &State, theme: &Theme) {
    let count = |s: Severity| state.findings().iter().filter(|f| f.severity == s).count();
    let mut spans = vec![
        Span::styled("roster", theme.title),
        Span::raw(format!(
            "  dc {}  clusters {}  instances {}  ",
            state.datacenter.as_deref().unwrap_or("-"),
            state.result.fleet.clusters.len(),
            state.instances.len()
        )),
        Span::styled(format!("E:{}", count(Severity::Error)), theme.error),
        Span::raw(" "),
        Span::styled(format!("W:{}", count(Severity::Warning)), theme.warning),
        Span::raw(" "),
        Span::styled(format!("I:{}", count(Severity::Info)), theme.info),
    ];
    if state.refreshing {
        spans.push(Span::styled("  refreshing…", theme.dim));
    }
    if state.read_only {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" READ-ONLY ", theme.read_only));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), top);

    let mut spans = Vec::new();
    for (n, s) in state.sources.iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" | ", theme.dim));
        }
        spans.push(Span::raw(format!("{} ", s.name)));
        match &s.error {
            None => spans.push(Span::styled("ok", theme.ok)),
            Some(e) => {
                let more = if s.error_count > 1 {
                    format!(" (+{})", s.error_count - 1)
                } else {
                    String::new()
                };
                spans.push(Span::styled(format!("ERROR: {e}{more}"), theme.error));
            }
        }
        let index = s
            .index
            .as_deref()
            .map(|i| format!(" idx {i}"))
            .unwrap_or_default();
        spans.push(Span::styled(
            format!(" {} obs{index}", s.observations),
            theme.dim,
        ));
    }
    if state.sources.is_empty() {
        spans.push(Span::styled("no sources read", theme.error));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), sources);
}

pub(super) fn footer(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let line = if state.filter_mode {
        Line::from(vec![
            Span::styled("/", theme.title),
            Span::raw(clean_input(&state.filter_text)),
            Span::styled("_", theme.selected),
            Span::styled("  Enter keep  Esc clear", theme.dim),
        ])
    } else {
        let mut spans = Vec::new();
        if !state.filter_text.is_empty() {
            spans.push(Span::styled(
                format!("filter: {}  ", clean_input(&state.filter_text)),
                theme.title,
            ));
        }
        let bad = state.filter.problems();
        if !bad.is_empty() {
            spans.push(Span::styled(
                format!("matches nothing: {}  ", clean(&bad.join(" "))),
                theme.warning,
            ));
        }
        spans.push(Span::styled(
            "? help  / filter  d drift  s sort  R refresh  q quit",
            theme.dim,
        ));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// Typed text keeps its spaces (sanitize would trim the one being typed).
fn clean_input(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}
