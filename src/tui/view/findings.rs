//! The findings of the selection: severity letter and colour, message, each source's value.

use super::widgets::{clamp_scroll, clean, pane, sev_letter};
use crate::tui::state::{Focus, Row, State};
use crate::tui::theme::Theme;
use crate::verdict::describe;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let picked = state.selection_findings();
    let scope = match state.selected_row() {
        None => "all".to_string(),
        Some(Row::Datacenter(d)) => state
            .datacenters
            .get(d)
            .and_then(|d| d.name.as_deref())
            .map_or("no datacenter".into(), clean),
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
    if let Some(Row::Datacenter(d)) = state.selected_row()
        && let Some(dc) = state.datacenters.get(d)
        && dc.name.is_some()
        && matches!(
            super::datacenter::standing(state, dc),
            None | Some(super::header::Standing::Error)
        )
    {
        lines.push(Line::styled("not read: nothing concluded", theme.warning));
    }
    let unread = state.selection_unread();
    if !unread.is_empty() {
        lines.push(Line::styled(
            format!("not verified: {}", describe(&unread)),
            theme.warning,
        ));
    }
    // Wrapped here rather than by the paragraph, so that continuation lines are
    // indented under their finding and the scroll limit counts every line drawn.
    let width = usize::from(area.width.saturating_sub(2)).max(8);
    for f in picked.iter().filter_map(|&i| state.findings().get(i)) {
        let style = theme.severity(f.severity);
        let who = f.instance.as_deref().unwrap_or(&f.cluster);
        let head = vec![
            Span::styled(
                format!("{} {}", sev_letter(f.severity), f.kind.code()),
                style,
            ),
            Span::styled(format!(" {}", clean(who)), theme.title),
        ];
        lines.extend(hanging(
            head,
            &clean(&f.message),
            width,
            INDENT,
            Style::new(),
        ));
        if !f.sources.is_empty() {
            let values: Vec<String> = f
                .sources
                .iter()
                .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
                .collect();
            let head = vec![Span::raw(" ".repeat(INDENT - 1))];
            lines.extend(hanging(
                head,
                &values.join("  "),
                width,
                INDENT + 2,
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
            .scroll((scroll, 0)),
        area,
    );
}

/// How far a finding's continuation lines are indented.
const INDENT: usize = 4;

/// `head` followed by `text`, word-wrapped to `width`; every line after the first starts
/// `indent` columns in. A word longer than a line is cut into pieces.
fn hanging(
    head: Vec<Span<'static>>,
    text: &str,
    width: usize,
    indent: usize,
    style: Style,
) -> Vec<Line<'static>> {
    let indent = indent.min(width / 2);
    let mut out = Vec::new();
    let mut spans = head;
    let mut used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    let mut current = String::new();
    let flush = |spans: &mut Vec<Span<'static>>, current: &mut String| {
        if !current.is_empty() {
            spans.push(Span::styled(std::mem::take(current), style));
        }
    };
    // At the start of a continuation line a word needs no separating space.
    let mut fresh = false;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let mut word: String = word.to_string();
        loop {
            let sep = usize::from(!fresh);
            let len = word.chars().count();
            if used + sep + len <= width {
                if sep == 1 {
                    current.push(' ');
                }
                current.push_str(&word);
                used += sep + len;
                fresh = false;
                break;
            }
            if !fresh {
                flush(&mut spans, &mut current);
                out.push(Line::from(std::mem::take(&mut spans)));
                spans.push(Span::raw(" ".repeat(indent)));
                used = indent;
                fresh = true;
                continue;
            }
            // Longer than a whole line: cut it.
            let room = width.saturating_sub(used).max(1);
            current.extend(word.chars().take(room));
            word = word.chars().skip(room).collect();
            used = width;
            fresh = false;
            if word.is_empty() {
                break;
            }
        }
    }
    flush(&mut spans, &mut current);
    out.push(Line::from(spans));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn continuation_lines_hang_under_the_finding() {
        let head = vec![Span::raw("W kind who")];
        let lines = hanging(head, "one two three four five six", 20, 4, Style::new());
        assert_eq!(
            plain(&lines),
            vec!["W kind who one two", "    three four five", "    six"]
        );
        for l in &plain(&lines) {
            assert!(l.chars().count() <= 20, "{l:?}");
        }
    }

    #[test]
    fn a_word_longer_than_the_line_is_cut_not_lost() {
        let lines = hanging(vec![Span::raw("E k")], &"x".repeat(30), 12, 4, Style::new());
        let text: String = plain(&lines).concat();
        assert_eq!(text.matches('x').count(), 30, "{lines:?}");
        assert!(plain(&lines).iter().all(|l| l.chars().count() <= 12));
    }
}
