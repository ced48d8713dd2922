//! The fleet tree: clusters, instances, and under an instance what each source recorded.

use super::widgets::{clean, pane, row_style, sev_letter};
use crate::fleet::Instance;
use crate::observation::{Observation, Origin};
use crate::tui::state::{Focus, RoleCell, Row, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Longest instance name given its own column before names are cut.
const NAME_MAX: usize = 24;
/// Widest address column (IPv6 addresses are cut).
const IP_MAX: usize = 39;

/// Column widths shared by the header and every instance row.
#[derive(Clone, Copy)]
struct Widths {
    name: usize,
    ip: usize,
}

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let shown = state.rows.len();
    let title = format!(
        "Fleet ({shown} rows, sort {}{})",
        state.sort.name(),
        if state.drift_only { ", drift only" } else { "" }
    );
    let block = pane(title, state.focus == Focus::Tree, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let name_w = state
        .instances
        .iter()
        .map(|i| {
            i.key
                .len()
                .saturating_sub(i.key.find('/').map_or(0, |p| p + 1))
        })
        .max()
        .unwrap_or(8)
        .clamp(8, NAME_MAX);
    let ip_w = state
        .instances
        .iter()
        .filter_map(|i| i.ip.as_ref().map(String::len))
        .max()
        .unwrap_or(2)
        .clamp(2, IP_MAX);
    let w = Widths {
        name: name_w,
        ip: ip_w,
    };
    let mut lines = vec![column_header(state, w, theme)];
    let height = usize::from(inner.height.saturating_sub(1));
    let end = (state.offset + height).min(shown);
    for (pos, row) in state.rows.iter().enumerate().take(end).skip(state.offset) {
        let line = match *row {
            Row::Cluster(c) => cluster_line(state, c, theme),
            Row::Instance(i) => instance_line(state, i, w, theme),
            Row::Entry(i, o) => entry_line(state, i, o, theme),
        };
        lines.push(line.style(row_style(pos == state.selected, theme)));
    }
    if shown == 0 {
        lines.push(Line::styled("  nothing matches", theme.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn column_header(state: &State, w: Widths, theme: &Theme) -> Line<'static> {
    let letters: String = state
        .columns
        .iter()
        .map(|k| k.name().chars().next().unwrap_or('?').to_ascii_uppercase())
        .collect();
    Line::styled(
        format!(
            "    {:<nw$} {letters:<cw$} {:<iw$} {:<4} DRIFT",
            "NAME",
            "IP",
            "HLTH",
            nw = w.name,
            iw = w.ip,
            cw = state.columns.len().max(1)
        ),
        theme.dim,
    )
}

fn cluster_line(state: &State, c: usize, theme: &Theme) -> Line<'static> {
    let (Some(cluster), Some(info)) = (state.result.fleet.clusters.get(c), state.clusters.get(c))
    else {
        return Line::raw("");
    };
    let marker = if state.cluster_expanded(c) { "v" } else { ">" };
    let primary = match &info.primary {
        Some(p) => Span::styled(format!("P {}", clean(p)), theme.primary),
        None => Span::styled("no primary", theme.error),
    };
    let drift = match info.worst {
        Some(s) => Span::styled(
            format!("!{} {}", sev_letter(s), info.all_findings.len()),
            theme.severity(s),
        ),
        None => Span::styled("ok", theme.ok),
    };
    Line::from(vec![
        Span::styled(format!("{marker} {}", clean(&cluster.name)), theme.title),
        Span::styled(format!("  {} inst  ", cluster.instances.len()), theme.dim),
        primary,
        Span::raw("  "),
        drift,
    ])
}

fn role_span(cell: &RoleCell, theme: &Theme) -> Span<'static> {
    let style = match cell {
        RoleCell::Absent | RoleCell::NoRole => theme.dim,
        RoleCell::Split(_) => theme.error,
        RoleCell::One(r) => theme.role(r),
    };
    Span::styled(cell.letter().to_string(), style)
}

fn instance_line(state: &State, i: usize, w: Widths, theme: &Theme) -> Line<'static> {
    let name_w = w.name;
    let (Some(info), Some(inst)) = (state.instances.get(i), state.instance(i)) else {
        return Line::raw("");
    };
    let marker = if state.instance_expanded(i) { "v" } else { ">" };
    let mut name = clean(&inst.name);
    if name.chars().count() > name_w {
        name = name
            .chars()
            .take(name_w.saturating_sub(1))
            .collect::<String>()
            + "~";
    }
    let mut spans = vec![Span::raw(format!("  {marker} {name:<name_w$} "))];
    spans.extend(info.roles.iter().map(|r| role_span(r, theme)));
    let ip: String = info
        .ip
        .as_deref()
        .map(clean)
        .unwrap_or_else(|| "-".into())
        .chars()
        .take(w.ip)
        .collect();
    spans.push(Span::raw(format!(" {ip:<iw$} ", iw = w.ip)));
    let (health, hstyle) = match info.health.as_deref() {
        Some("passing") => ("ok", theme.ok),
        Some("critical") => ("CRIT", theme.error),
        Some(other) => (if other == "warning" { "warn" } else { "?" }, theme.warning),
        None => ("-", theme.dim),
    };
    spans.push(Span::styled(format!("{health:<4}"), hstyle));
    spans.push(Span::raw(" "));
    spans.push(match info.worst {
        Some(s) => {
            let first = info
                .findings
                .iter()
                .filter_map(|&f| state.findings().get(f))
                .find(|f| f.severity == s)
                .map(|f| f.kind.code())
                .unwrap_or("");
            let more = info.findings.len().saturating_sub(1);
            let more = if more > 0 {
                format!(" +{more}")
            } else {
                String::new()
            };
            Span::styled(
                format!("!{} {first}{more}", sev_letter(s)),
                theme.severity(s),
            )
        }
        None => Span::styled("ok", theme.dim),
    });
    Line::from(spans)
}

/// A short place: the file name rather than the whole path, which the detail pane shows.
pub(super) fn short_place(o: &Observation) -> String {
    let file = |p: &std::path::Path, line: usize| {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
        format!("{}:{line}", name.unwrap_or_default())
    };
    match &o.origin {
        Origin::Consul(c) => c.service_id.to_string(),
        Origin::Targets(t) => file(&t.file, t.line),
        Origin::Inventory(i) => file(&i.file, i.line),
        Origin::Live(l) => l.address.clone(),
    }
}

fn entry_line(state: &State, i: usize, o: usize, theme: &Theme) -> Line<'static> {
    let Some(obs) = state
        .instance(i)
        .and_then(|inst: &Instance| inst.observations.get(o))
    else {
        return Line::raw("");
    };
    let (letter, role) = match &obs.role {
        Some(c) => (
            RoleCell::One(c.role.clone()).letter(),
            Span::styled(
                format!("{} ({})", clean(&c.raw), c.from),
                theme.role(&c.role),
            ),
        ),
        None => ('.', Span::styled("no role", theme.dim)),
    };
    Line::from(vec![
        Span::styled(format!("      {:<9} ", obs.source.name()), theme.dim),
        Span::raw(format!("{letter} ")),
        Span::raw(format!("{:<22} ", clean(&short_place(obs)))),
        role,
        Span::styled(
            format!("  {}", obs.ip.as_deref().map(clean).unwrap_or_default()),
            theme.dim,
        ),
    ])
}
