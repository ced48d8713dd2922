//! The fleet tree: clusters, instances, and under an instance what each source recorded.

use super::datacenter;
use super::widgets::{clean, pane, row_style, sev_letter};
use crate::drift::Follows;
use crate::fleet::{Coverage, Instance};
use crate::observation::{Observation, Origin, SourceKind};
use crate::tui::state::{ClusterInfo, Focus, RoleCell, Row, State};
use crate::tui::theme::Theme;
use crate::verdict::{Verdict, describe};
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
    /// How far clusters and what is under them move right: 2 under datacenter rows.
    indent: usize,
    name: usize,
    ip: usize,
    /// One column per loaded source.
    roles: usize,
    /// The whole row, so the last column can be cut with `…` rather than by the border.
    total: usize,
}

impl Widths {
    /// Where the DRIFT column starts, on instance and cluster rows alike.
    fn drift_at(self) -> usize {
        self.indent + 4 + self.name + 1 + self.roles + 1 + self.ip + 1 + 4 + 1
    }

    /// Where the source columns start: the width of the NAME column with its indent.
    fn name_col(self) -> usize {
        self.indent + 4 + self.name + 1
    }
}

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let shown = state.rows.len();
    let title = format!(
        "Fleet ({shown} rows, sort {}{})",
        state.sort.name(),
        if state.drift_only { ", drift only" } else { "" }
    );
    let block = pane(title, state.focus == Focus::Tree, theme).title_bottom(legend(state, theme));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let name_w = state
        .instances
        .iter()
        .map(|i| {
            i.key
                .len()
                .saturating_sub(i.key.rfind('/').map_or(0, |p| p + 1))
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
        indent: if state.datacenters.is_empty() { 0 } else { 2 },
        name: name_w,
        ip: ip_w,
        roles: state.columns.len().max(1),
        total: usize::from(inner.width),
    };
    let mut lines = vec![column_header(state, w, theme)];
    let height = usize::from(inner.height.saturating_sub(1));
    let end = (state.offset + height).min(shown);
    for (pos, row) in state.rows.iter().enumerate().take(end).skip(state.offset) {
        let line = match *row {
            Row::Datacenter(d) => datacenter::row(state, d, w.name_col(), w.drift_at(), theme),
            Row::Cluster(c) => cluster_line(state, c, w, theme),
            Row::Instance(i) => instance_line(state, i, w, theme),
            Row::Entry(i, o) => entry_line(state, i, o, w.indent, theme),
        };
        lines.push(line.style(row_style(pos == state.selected, theme)));
    }
    if shown == 0 {
        lines.push(Line::styled("  nothing matches", theme.dim));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// What the one-letter source columns stand for, on the pane's bottom border.
fn legend(state: &State, theme: &Theme) -> Line<'static> {
    let parts: Vec<String> = state
        .columns
        .iter()
        .map(|k| {
            let name = k.name();
            let letter = name.chars().next().unwrap_or('?').to_ascii_uppercase();
            format!("{letter} {name}")
        })
        .collect();
    Line::styled(format!(" {} ", parts.join("  ")), theme.dim)
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
            nw = w.indent + w.name,
            iw = w.ip,
            cw = state.columns.len().max(1)
        ),
        theme.dim,
    )
}

fn cluster_line(state: &State, c: usize, w: Widths, theme: &Theme) -> Line<'static> {
    let (Some(cluster), Some(info)) = (state.result.fleet.clusters.get(c), state.clusters.get(c))
    else {
        return Line::raw("");
    };
    let marker = if state.cluster_expanded(c) { "v" } else { ">" };
    let drift = match info.worst {
        Some(s) => Span::styled(
            format!("!{} {}", sev_letter(s), info.all_findings.len()),
            theme.severity(s),
        ),
        None if info.unverified > 0 => {
            Span::styled(format!("~ {} unverified", info.unverified), theme.warning)
        }
        None => Span::styled("ok", theme.ok),
    };
    // The primary as the places name it, as text that can be cut to fit.
    let pspans = primary_spans(info, theme);
    let primary: String = pspans.iter().map(|s| s.content.as_ref()).collect();
    let pstyle = pspans.first().map_or(theme.primary, |s| s.style);
    // The name under NAME and the drift under DRIFT, as on instance rows; what is
    // between is cut to fit so the DRIFT column lines up on every row.
    let name = format!(
        "{:ind$}{marker} {} ",
        "",
        clean(&cluster.name),
        ind = w.indent
    );
    let name = format!("{name:<nw$}", nw = w.name_col());
    let room = w.drift_at().saturating_sub(name.chars().count());
    let count = format!("{} inst  ", cluster.instances.len());
    let count = ellipsis(&count, room);
    let room = room.saturating_sub(count.chars().count());
    // A disputed primary is the news on that row: it is shown whole, and its DRIFT
    // moves right rather than cutting the candidates off.
    let disputed = primary.starts_with("P?");
    let primary = if disputed {
        primary
    } else {
        ellipsis(&primary, room.saturating_sub(1))
    };
    let pad = room
        .saturating_sub(primary.chars().count())
        .max(if disputed { 2 } else { 1 });
    Line::from(vec![
        Span::styled(name, theme.title),
        Span::styled(count, theme.dim),
        Span::styled(primary, pstyle),
        Span::raw(" ".repeat(pad)),
        drift,
    ])
}

/// The cluster's primary as the places name it: `P name` when every place that can say
/// agrees (`live?` when the live roles could not confirm it), else `P?` and each
/// candidate with the letters of the places naming it (the tree's column letters), the
/// live source's candidate first.
fn primary_spans(info: &ClusterInfo, theme: &Theme) -> Vec<Span<'static>> {
    let p = &info.primaries;
    if let Some(name) = p.agreed() {
        let mut spans = vec![Span::styled(format!("P {}", clean(name)), theme.primary)];
        if matches!(info.follows, Some(Follows::Unknown(_))) {
            spans.push(Span::styled(" live?", theme.warning));
        }
        return spans;
    }
    if !p.disputed() {
        return vec![Span::styled("no primary", theme.error)];
    }
    let list: Vec<String> = p
        .candidates()
        .iter()
        .map(|(name, kinds)| {
            let letters: String = kinds.iter().map(|k| source_letter(*k)).collect();
            format!("{} ({letters})", name.map_or("none".into(), clean))
        })
        .collect();
    vec![Span::styled(format!("P? {}", list.join(" ")), theme.error)]
}

/// The one-letter name of a source, as the column header shows it.
fn source_letter(kind: SourceKind) -> char {
    kind.name()
        .chars()
        .next()
        .unwrap_or('?')
        .to_ascii_uppercase()
}

/// The text cut to `max` characters, ending in `…` when cut.
pub(super) fn ellipsis(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

fn role_span(cell: &RoleCell, coverage: Option<&Coverage>, theme: &Theme) -> Span<'static> {
    let style = match cell {
        RoleCell::Absent | RoleCell::NoRole => theme.dim,
        RoleCell::NotRead => theme.warning,
        RoleCell::Split(_) => theme.error,
        RoleCell::One(r) => theme.role(r),
    };
    // A record kept from an earlier read is still shown, in lower case, so that
    // staleness never depends on colour.
    if coverage == Some(&Coverage::Record { stale: true }) {
        let letter = cell.letter().to_ascii_lowercase();
        return Span::styled(letter.to_string(), theme.warning);
    }
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
        name = ellipsis(&name, name_w);
    }
    let pad = " ".repeat(2 + w.indent);
    let mut spans = vec![Span::raw(format!("{pad}{marker} {name:<name_w$} "))];
    spans.extend(
        info.roles
            .iter()
            .enumerate()
            .map(|(n, r)| role_span(r, info.coverage.get(n), theme)),
    );
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
    spans.push(match (info.worst, &info.verdict) {
        (None, Verdict::Unverified(unread)) => {
            Span::styled(format!("~ {}", describe(unread)), theme.warning)
        }
        (Some(s), _) => {
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
            let room = w.total.saturating_sub(w.drift_at());
            Span::styled(
                ellipsis(&format!("!{} {first}{more}", sev_letter(s)), room),
                theme.severity(s),
            )
        }
        (None, _) => Span::styled("ok", theme.dim),
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

fn entry_line(state: &State, i: usize, o: usize, indent: usize, theme: &Theme) -> Line<'static> {
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
        Span::styled(
            format!("{:ind$}      {:<9} ", "", obs.source.name(), ind = indent),
            theme.dim,
        ),
        Span::raw(format!("{letter} ")),
        Span::raw(format!("{:<22} ", clean(&short_place(obs)))),
        role,
        Span::styled(
            format!("  {}", obs.ip.as_deref().map(clean).unwrap_or_default()),
            theme.dim,
        ),
    ])
}
