//! The header (counts, datacenter, READ-ONLY), the source status line and the footer.

use super::widgets::clean;
use crate::drift::Severity;
use crate::tui::keymap::Bind;
use crate::tui::state::{SourceLine, State};
use crate::tui::theme::Theme;
use crate::verdict::Verdict;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use std::time::Duration;

pub(super) fn draw(frame: &mut Frame, top: Rect, sources: Rect, state: &State, theme: &Theme) {
    let count = |s: Severity| state.findings().iter().filter(|f| f.severity == s).count();
    // Most important first: a narrow terminal cuts the line from the right, so the
    // severity counts are the last thing to go.
    let mut spans = vec![
        Span::styled("roster ", theme.title),
        Span::styled(format!("E:{}", count(Severity::Error)), theme.error),
        Span::raw(" "),
        Span::styled(format!("W:{}", count(Severity::Warning)), theme.warning),
        Span::raw(" "),
        Span::styled(format!("I:{}", count(Severity::Info)), theme.info),
    ];
    // The severity counts alone would read as clean when a source was not read.
    let unverified = state
        .instances
        .iter()
        .filter(|i| matches!(i.verdict, Verdict::Unverified(_)))
        .count();
    if unverified > 0 {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            format!("~{unverified} unverified"),
            theme.warning,
        ));
    }
    if state.read_only {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" READ-ONLY ", theme.read_only));
    }
    let drifting = state.drifting_count();
    let total = state.instances.len();
    spans.push(Span::styled(
        format!(
            "  {drifting} of {total} {} drifting",
            plural(total, "instance", "instances")
        ),
        if drifting > 0 {
            theme.warning
        } else {
            theme.ok
        },
    ));
    let clusters = state.result.fleet.clusters.len();
    spans.push(Span::raw(format!(
        "  {clusters} {}  dc {}",
        plural(clusters, "cluster", "clusters"),
        state.datacenter.as_deref().unwrap_or("-"),
    )));
    if state.refreshing {
        spans.push(Span::styled("  refreshing…", theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), top);

    // First the fixed parts of every source, then the room left is shared by the error
    // messages, so that one long error cannot push the other sources off the line.
    struct Part {
        name: String,
        status: String,
        style: Style,
        error: Option<String>,
        more: String,
        counts: String,
    }
    let parts: Vec<Part> = state
        .sources
        .iter()
        .map(|s| {
            let standing = Standing::of(s);
            let status = standing.status(s.age(state.now));
            let style = standing.style(theme);
            let index = s
                .index
                .as_deref()
                .map(|i| format!(" idx {i}"))
                .unwrap_or_default();
            Part {
                name: s.label(),
                status,
                style,
                error: s.error.clone(),
                more: if s.error_count > 1 {
                    let n = s.error_count - 1;
                    let word = if n == 1 { "error" } else { "errors" };
                    format!(" (+{n} more {word}, :sources)")
                } else {
                    String::new()
                },
                counts: format!(" {} obs{index}", s.observations),
            }
        })
        .collect();
    let fixed: usize = parts
        .iter()
        .map(|p| p.name.len() + 1 + p.status.chars().count() + p.more.len() + p.counts.len())
        .sum::<usize>()
        + 3 * parts.len().saturating_sub(1);
    let failing = parts.iter().filter(|p| p.error.is_some()).count().max(1);
    let room = (usize::from(sources.width).saturating_sub(fixed) / failing).max(MIN_ERROR_W);
    let mut spans = Vec::new();
    for (n, p) in parts.into_iter().enumerate() {
        if n > 0 {
            spans.push(Span::styled(" | ", theme.dim));
        }
        spans.push(Span::raw(format!("{} ", p.name)));
        spans.push(Span::styled(p.status, p.style));
        if let Some(e) = p.error {
            // A cut message says where the whole of it is, unless `more` already does.
            let cut =
                e.chars().count() > room && p.more.is_empty() && room >= MIN_ERROR_W + HINT.len();
            let text = if cut {
                shorten(&e, room.saturating_sub(HINT.len())) + HINT
            } else {
                shorten(&e, room)
            };
            spans.push(Span::styled(text, p.style));
            spans.push(Span::styled(p.more, p.style));
        }
        spans.push(Span::styled(p.counts, theme.dim));
    }
    if state.sources.is_empty() {
        spans.push(Span::styled("no sources read", theme.error));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), sources);
}

/// Where a source stands, as the status line and the source overlay say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Standing {
    /// Read, and confirmed by its latest answer.
    Ok,
    /// Its watch re-reads without an index (after `R` or a restart): not `ok` until
    /// that read answers, though nothing failed.
    Confirming,
    /// The latest read failed; earlier data is shown.
    Stale,
    /// The latest read failed and there is nothing earlier.
    Error,
}

impl Standing {
    /// A source's standing. Its error is the latest news of the part of the source that
    /// failed: a watch drops a loop's error when that loop answers, and a failed read
    /// older than a success does not replace it, so an error here is never older than
    /// the latest successful answer.
    pub(super) fn of(s: &SourceLine) -> Standing {
        match (&s.error, s.stale) {
            (Some(_), true) => Standing::Stale,
            (Some(_), false) => Standing::Error,
            (None, _) if s.confirming => Standing::Confirming,
            (None, _) => Standing::Ok,
        }
    }

    /// The word for the source overlay.
    pub(super) fn word(self) -> &'static str {
        match self {
            Standing::Ok => "ok",
            Standing::Confirming => "confirming",
            Standing::Stale => "STALE",
            Standing::Error => "ERROR",
        }
    }

    /// The status in the header, given the data's age; an error message follows it.
    fn status(self, age: Option<Duration>) -> String {
        let age = age.map(age_text);
        match self {
            Standing::Ok => age
                .map(|a| format!("ok {a}"))
                .unwrap_or_else(|| "ok".into()),
            Standing::Confirming => "confirming".into(),
            Standing::Stale => format!(
                "STALE{}: ",
                age.map(|a| format!(" {a}")).unwrap_or_default()
            ),
            Standing::Error => "ERROR: ".into(),
        }
    }

    /// The colour the status is drawn in.
    pub(super) fn style(self, theme: &Theme) -> Style {
        match self {
            Standing::Ok => theme.ok,
            // Not red: the data is still there, only old (or not yet confirmed).
            Standing::Confirming | Standing::Stale => theme.warning,
            Standing::Error => theme.error,
        }
    }
}

/// Where a cut error message can be read whole.
const HINT: &str = " :sources";

/// Shortest an error message is cut to, however many sources fail.
const MIN_ERROR_W: usize = 16;

/// The text cut to `max` characters, marked with `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The word for `n` things.
fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// A short age: `3s`, `2m`, `5h`, `3d`.
pub(super) fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..172_800 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

pub(super) fn footer(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let line = if let Some(cmd) = &state.command {
        Line::from(vec![
            Span::styled(":", theme.title),
            Span::raw(clean_input(cmd)),
            Span::styled("_", theme.selected),
            Span::styled("  Enter run  Esc cancel", theme.dim),
        ])
    } else if state.filter_mode {
        Line::from(vec![
            Span::styled("/", theme.title),
            Span::raw(clean_input(&state.filter_text)),
            Span::styled("_", theme.selected),
            Span::styled("  Enter keep  Esc clear", theme.dim),
        ])
    } else {
        let mut spans = Vec::new();
        if let Some(st) = &state.status {
            let style = if st.error { theme.error } else { theme.ok };
            spans.push(Span::styled(format!("{}  ", clean(&st.text)), style));
        }
        if !state.filter_text.is_empty() {
            spans.push(Span::styled(
                format!("filter: {}  ", clean_input(&state.filter_text)),
                theme.title,
            ));
        }
        let unknown = state.filter.unknown_keys();
        if !unknown.is_empty() {
            spans.push(Span::styled(
                format!(
                    "unknown filter key {}: (keys: {})  ",
                    clean(&unknown.join(": ")),
                    crate::tui::filter::KEYS
                ),
                theme.error,
            ));
        }
        let bad = state.filter.problems();
        if !bad.is_empty() {
            spans.push(Span::styled(
                format!("matches nothing: {}  ", clean(&bad.join(" "))),
                theme.warning,
            ));
        }
        spans.push(Span::styled(hints(state), theme.dim));
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// The key hints of what is on top: an overlay's own keys, else the tree's, with the
/// keys in effect (the first of each binding).
fn hints(state: &State) -> String {
    let key = |b: Bind| state.keymap.keys(b).first().map(|k| k.label());
    let fixed = |text: &str| text.to_string();
    if state.help {
        return format!("{} or Esc close help", key(Bind::Help).unwrap_or_default());
    }
    if state.failover.is_some() {
        return fixed("j/k move  r re-register the member  f or Esc close");
    }
    if state.sources_open {
        return fixed("Esc close");
    }
    if state.fix.as_ref().is_some_and(|d| d.undo.is_some()) {
        return fixed("Tab button  j/k scroll  Enter choose  Esc close");
    }
    if state.fix.is_some() {
        return fixed("Tab button  t target  j/k scroll  Enter choose  Esc close");
    }
    if state.findings_list.is_some() {
        return fixed("j/k move  Enter go to  s severity/place  Esc close");
    }
    if state.events_view.is_some() {
        return fixed("j/k move  u undo the fix  y copy the timeline  Esc close");
    }
    [
        (Bind::Help, "help"),
        (Bind::NextDrift, "next drift"),
        (Bind::Findings, "findings"),
        (Bind::Events, "events"),
        (Bind::Fix, "fix"),
        (Bind::Filter, "filter"),
        (Bind::Refresh, "refresh"),
        (Bind::Quit, "quit"),
        // Past 100 columns these are cut first; the help lists them all.
        (Bind::Failover, "failover"),
        (Bind::NextPane, "pane"),
        (Bind::Command, "cmd"),
        (Bind::DriftOnly, "drift"),
        (Bind::Sort, "sort"),
        (Bind::Copy, "copy"),
    ]
    .iter()
    .filter_map(|&(b, what)| Some(format!("{} {what}", key(b)?)))
    .collect::<Vec<_>>()
    .join("  ")
}

/// Typed text keeps its spaces (sanitize would trim the one being typed).
fn clean_input(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line() -> SourceLine {
        SourceLine {
            name: "consul",
            location: "http://127.0.0.1:8500".into(),
            error: None,
            error_count: 0,
            observations: 3,
            index: Some("42".into()),
            errors: Vec::new(),
            notes: Vec::new(),
            read_at: None,
            stale: false,
            confirming: false,
            datacenter: None,
        }
    }

    #[test]
    fn a_watch_re_reading_without_an_index_is_not_ok_until_it_answers() {
        let mut s = line();
        s.confirming = true;
        let standing = Standing::of(&s);
        assert_eq!(standing, Standing::Confirming);
        let status = standing.status(Some(Duration::from_secs(3)));
        assert_eq!(status, "confirming");
        assert_ne!(standing.word(), "ok");
        s.confirming = false;
        assert_eq!(
            Standing::of(&s).status(Some(Duration::from_secs(3))),
            "ok 3s"
        );
    }

    #[test]
    fn a_failure_outranks_doubt_and_stale_data_shows_its_age() {
        let mut s = line();
        s.confirming = true;
        s.error = Some("cannot reach Consul".into());
        s.stale = true;
        assert_eq!(Standing::of(&s), Standing::Stale);
        assert_eq!(
            Standing::of(&s).status(Some(Duration::from_secs(125))),
            "STALE 2m: "
        );
        s.stale = false;
        assert_eq!(Standing::of(&s).status(None), "ERROR: ");
    }
}
