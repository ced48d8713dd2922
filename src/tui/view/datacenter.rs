//! A datacenter of several: its row at the top of the tree and its detail, its reads'
//! standing as the header shows it. A datacenter that was not read never looks clean.

use super::header::{Standing, age_text};
use super::tree::ellipsis;
use super::widgets::{clean, sev_letter};
use crate::drift::Severity;
use crate::tui::state::{DatacenterInfo, State};
use crate::tui::theme::Theme;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::time::Duration;

/// The name the clusters without a datacenter go under (short on the tree row).
const NO_DATACENTER: &str = "(no datacenter)";
const NO_DC: &str = "(no dc)";

/// The worst standing of a datacenter's own reads; `None` when nothing was read for it.
pub(super) fn standing(state: &State, dc: &DatacenterInfo) -> Option<Standing> {
    let rank = |s: Standing| match s {
        Standing::Ok => 0,
        Standing::Confirming => 1,
        Standing::Stale => 2,
        Standing::Error => 3,
    };
    dc.sources
        .iter()
        .filter_map(|&i| state.sources.get(i))
        .map(Standing::of)
        .max_by_key(|&s| rank(s))
}

/// The oldest of its reads, for the age next to `ok` and `STALE`.
fn age(state: &State, dc: &DatacenterInfo) -> Option<Duration> {
    dc.sources
        .iter()
        .filter_map(|&i| state.sources.get(i))
        .filter_map(|s| s.age(state.now))
        .max()
}

/// How its reads stand, in the header's words: `ok 3s`, `confirming`, `STALE 2m`,
/// `ERROR`, or `not read` when nothing was read for it.
fn status(state: &State, dc: &DatacenterInfo, theme: &Theme) -> (String, Style) {
    if dc.name.is_none() {
        return ("unplaced".into(), theme.dim);
    }
    let age = age(state, dc).map(age_text);
    let with_age = |word: &str| match &age {
        Some(a) => format!("{word} {a}"),
        None => word.to_string(),
    };
    match standing(state, dc) {
        None => ("not read".into(), theme.error),
        Some(s @ Standing::Ok) => (with_age("ok"), s.style(theme)),
        Some(s @ Standing::Confirming) => ("confirming".into(), s.style(theme)),
        Some(s @ Standing::Stale) => (with_age("STALE"), s.style(theme)),
        Some(s @ Standing::Error) => ("ERROR".into(), s.style(theme)),
    }
}

/// Its drift: the count of each severity found, else why there is no verdict (not read,
/// stale, unverified instances), else `ok`.
fn drift(state: &State, dc: &DatacenterInfo, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for sev in [Severity::Error, Severity::Warning, Severity::Info] {
        let n = dc
            .findings
            .iter()
            .filter_map(|&f| state.findings().get(f))
            .filter(|f| f.severity == sev)
            .count();
        if n > 0 {
            let gap = if spans.is_empty() { "!" } else { " " };
            spans.push(Span::styled(
                format!("{gap}{} {n}", sev_letter(sev)),
                theme.severity(sev),
            ));
        }
    }
    let unknown = match (dc.name.is_some(), standing(state, dc)) {
        (false, _) => None,
        (true, None | Some(Standing::Error)) => Some("not read"),
        (true, Some(Standing::Stale)) => Some("stale"),
        (true, _) => None,
    };
    let gap = if spans.is_empty() { "" } else { " " };
    match unknown {
        Some(why) => spans.push(Span::styled(format!("{gap}~ {why}"), theme.warning)),
        None if dc.unverified > 0 => spans.push(Span::styled(
            format!("{gap}~ {} unverified", dc.unverified),
            theme.warning,
        )),
        None if spans.is_empty() => spans.push(Span::styled("ok", theme.ok)),
        None => {}
    }
    spans
}

/// A datacenter's tree row: its name under NAME, its reads' standing and how many
/// clusters it holds, its drift under DRIFT.
pub(super) fn row(
    state: &State,
    d: usize,
    name_w: usize,
    drift_at: usize,
    theme: &Theme,
) -> Line<'static> {
    let Some(dc) = state.datacenters.get(d) else {
        return Line::raw("");
    };
    let marker = if state.datacenter_expanded(d) {
        "v"
    } else {
        ">"
    };
    let name = dc.name.as_deref().map_or(NO_DC.into(), clean);
    let name = ellipsis(&name, name_w.saturating_sub(3).max(4));
    let name = format!("{marker} {name} ");
    let name = format!("{name:<name_w$}");
    let (status, style) = status(state, dc, theme);
    let n = dc.clusters.len();
    let room = drift_at.saturating_sub(name.chars().count());
    let status = ellipsis(&status, room.saturating_sub(1));
    // The count goes first when room is short: the detail pane says it too.
    let count = format!(" {n} {}", if n == 1 { "cluster" } else { "clusters" });
    let count = if status.chars().count() + count.chars().count() < room {
        count
    } else {
        String::new()
    };
    let pad = room
        .saturating_sub(status.chars().count() + count.chars().count())
        .max(1);
    let mut spans = vec![
        Span::styled(name, theme.title),
        Span::styled(status, style),
        Span::styled(count, theme.dim),
        Span::raw(" ".repeat(pad)),
    ];
    spans.extend(drift(state, dc, theme));
    Line::from(spans)
}

/// The detail pane of a datacenter row: what it holds, each of its reads, its drift.
pub(super) fn detail(state: &State, d: usize, theme: &Theme) -> Vec<Line<'static>> {
    let Some(dc) = state.datacenters.get(d) else {
        return Vec::new();
    };
    let Some(name) = &dc.name else {
        return vec![
            Line::styled(NO_DATACENTER, theme.title),
            Line::raw(format!("clusters: {}", dc.clusters.len())),
            Line::styled(
                "no datacenter's Consul holds these clusters, and one datacenter was not \
                 read: it may hold them, so nothing about Consul is concluded for them",
                theme.warning,
            ),
        ];
    };
    let instances: usize = dc
        .clusters
        .iter()
        .filter_map(|&c| state.clusters.get(c))
        .map(|c| c.instances.len())
        .sum();
    let mut lines = vec![
        Line::styled(format!("datacenter {name}"), theme.title),
        Line::raw(format!(
            "clusters: {}, instances: {instances}",
            dc.clusters.len()
        )),
    ];
    let standby: Vec<String> = state
        .result
        .fleet
        .datacenters
        .iter()
        .filter(|x| x.name == dc.key)
        .flat_map(|x| x.standby_of.iter().map(|s| clean(s)))
        .collect();
    if !standby.is_empty() {
        lines.push(Line::raw(format!("standby of: {}", standby.join(", "))));
    }
    if matches!(standing(state, dc), None | Some(Standing::Error)) {
        lines.push(Line::styled(
            "not read: nothing about this datacenter is concluded",
            theme.error,
        ));
    }
    for s in dc.sources.iter().filter_map(|&i| state.sources.get(i)) {
        let standing = Standing::of(s);
        let mut spans = vec![
            Span::raw(format!("{} ", s.label())),
            Span::styled(standing.word(), standing.style(theme)),
        ];
        if let Some(e) = &s.error {
            spans.push(Span::styled(format!(": {e}"), standing.style(theme)));
        }
        lines.push(Line::from(spans));
    }
    let mut drift_line = vec![Span::raw("drift: ")];
    drift_line.extend(drift(state, dc, theme));
    lines.push(Line::from(drift_line));
    lines
}
