//! The failover view (`f` on a cluster, `:failover CLS`): patronictl's shape — members,
//! live role, timeline, lag — and for each place whether it follows the live roles.

use crate::drift::{Follows, follows, live_role, member_follows};
use crate::fleet::{Cluster, Instance};
use crate::identity::Role;
use crate::observation::{Origin, SourceKind};
use crate::text::sanitize;
use crate::tui::state::State;
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

/// The places whose roles are shown beside the live ones.
const PLACES: [SourceKind; 3] = [
    SourceKind::Consul,
    SourceKind::Targets,
    SourceKind::Inventory,
];

fn live_details(inst: &Instance) -> (String, String, String) {
    let origin = inst
        .by_source(SourceKind::Live)
        .find_map(|o| match &o.origin {
            Origin::Live(l) => Some(l),
            _ => None,
        });
    match origin {
        None => ("not read".into(), "-".into(), "-".into()),
        Some(l) if !l.reachable => ("unreachable".into(), "-".into(), "-".into()),
        Some(l) => (
            live_role(inst).map_or("?".into(), |r| format!("{r} ({})", l.via)),
            l.timeline.map_or("-".into(), |t| t.to_string()),
            match (l.lag_bytes, l.lag_ms) {
                (Some(b), _) => format!("{b} B"),
                (None, Some(ms)) => format!("{ms} ms"),
                _ => "-".into(),
            },
        ),
    }
}

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(view) = &state.failover else { return };
    let Some(cluster) = state
        .cluster_by_key(&view.cluster)
        .and_then(|c| state.result.fleet.clusters.get(c))
    else {
        return;
    };
    let places: Vec<SourceKind> = PLACES
        .into_iter()
        .filter(|k| state.result.fleet.source(*k).is_some())
        .collect();
    let mut lines = vec![header(&places, theme)];
    for (n, inst) in cluster.instances.iter().enumerate() {
        lines.push(member(inst, &places, n == view.selected, theme));
    }
    lines.push(Line::raw(""));
    lines.extend(verdict(cluster, state, theme));
    let w = area.width.saturating_sub(4).clamp(20, 110).min(area.width);
    let h = u16::try_from(lines.len() + 2)
        .unwrap_or(u16::MAX)
        .min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    frame.render_widget(Clear, rect);
    let place = match (&cluster.datacenter, state.datacenters.is_empty()) {
        (Some(dc), false) => format!(" in {}", sanitize(dc, 40)),
        _ => String::new(),
    };
    let title = format!(
        " Failover check: {}{place} (j/k member · r fix it · Esc close) ",
        sanitize(&cluster.name, 40)
    );
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(Span::styled(title, theme.title))),
        rect,
    );
}

fn header(places: &[SourceKind], theme: &Theme) -> Line<'static> {
    let mut s = format!(
        "  {:<14} {:<13} {:<19} {:>3} {:>8}",
        "MEMBER", "HOST", "LIVE ROLE", "TL", "LAG"
    );
    for p in places {
        s.push_str(&format!("  {:<12}", p.name().to_uppercase()));
    }
    Line::styled(s, theme.title)
}

fn member(inst: &Instance, places: &[SourceKind], selected: bool, theme: &Theme) -> Line<'static> {
    let (role, tl, lag) = live_details(inst);
    let marker = if selected { "> " } else { "  " };
    let base = format!(
        "{marker}{:<14} {:<13} {:<19} {:>3} {:>8}",
        sanitize(&inst.name, 14),
        sanitize(inst.display_ip().unwrap_or("-"), 13),
        role,
        tl,
        lag
    );
    let style = if selected {
        theme.selected.add_modifier(Modifier::BOLD)
    } else {
        ratatui::style::Style::default()
    };
    let mut spans = vec![Span::styled(base, style)];
    for p in places {
        let claimed = inst
            .role_view(*p)
            .effective()
            .map_or("-".to_string(), |r| sanitize(r.as_str(), 10));
        // A mark and a word, so following never depends on colour.
        let (text, st) = match member_follows(inst, *p) {
            Some(true) => (format!("  ok {claimed:<9}"), theme.ok),
            Some(false) => (format!("  NO {claimed:<9}"), theme.error),
            None => (format!("  ?  {claimed:<9}"), theme.dim),
        };
        spans.push(Span::styled(text, st));
    }
    Line::from(spans)
}

fn verdict(cluster: &Cluster, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    if state.result.fleet.source(SourceKind::Live).is_none() {
        return vec![Line::styled(
            "live roles not read: start roster with --live (PostgreSQL, else Patroni's REST API)",
            theme.warning,
        )];
    }
    let primaries: Vec<&str> = cluster
        .instances
        .iter()
        .filter(|i| live_role(i).is_some_and(Role::is_primary))
        .map(|i| i.name.as_str())
        .collect();
    let mut lines = vec![match primaries.len() {
        0 => Line::styled("no live primary", theme.error),
        1 => Line::raw(format!("live primary: {}", primaries[0])),
        _ => Line::styled(
            format!(
                "SPLIT BRAIN: {} are all primary — fence the old primary first; until one live primary remains, r asks twice",
                primaries.join(", ")
            ),
            theme.error,
        ),
    }];
    // One reason a line, so none is cut at the popup's edge.
    let (head, why, style) = match follows(&state.result.fleet, cluster) {
        Follows::Yes => (
            "every registration follows the live roles",
            Vec::new(),
            theme.ok,
        ),
        Follows::No(why) => (
            "not following — select a member and press r:",
            why,
            theme.error,
        ),
        Follows::Unknown(why) => (
            "cannot tell whether every registration follows:",
            why,
            theme.warning,
        ),
    };
    lines.push(Line::styled(head, style));
    for reason in why {
        lines.push(Line::styled(
            format!("  - {}", sanitize(&reason, 200)),
            style,
        ));
    }
    lines
}
