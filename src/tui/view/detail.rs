//! Everything known about the selection: per observation, where it was read and what it says.

use super::widgets::{clamp_scroll, clean, pane};
use crate::fleet::Instance;
use crate::observation::{Observation, Origin, ReadState};
use crate::tui::state::{Focus, Row, State};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let (title, lines) = match state.selected_row() {
        Some(Row::Datacenter(d)) => (
            "Detail: datacenter".to_string(),
            super::datacenter::detail(state, d, theme),
        ),
        Some(Row::Cluster(c)) => (
            "Detail: cluster".to_string(),
            cluster_lines(state, c, theme),
        ),
        Some(Row::Instance(i)) => match state.instance(i) {
            Some(inst) => (
                format!("Detail: {}", clean(&inst.name)),
                instance_lines(inst, None, theme),
            ),
            None => (String::from("Detail"), Vec::new()),
        },
        Some(Row::Entry(i, o)) => match state.instance(i) {
            Some(inst) => (
                format!("Detail: {}", clean(&inst.name)),
                instance_lines(inst, Some(o), theme),
            ),
            None => (String::from("Detail"), Vec::new()),
        },
        None => (
            String::from("Detail"),
            vec![Line::styled("nothing selected", theme.dim)],
        ),
    };
    let scroll = clamp_scroll(state.detail_scroll, lines.len());
    frame.render_widget(
        Paragraph::new(lines)
            .block(pane(title, state.focus == Focus::Detail, theme))
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

fn cluster_lines(state: &State, c: usize, theme: &Theme) -> Vec<Line<'static>> {
    let (Some(cluster), Some(info)) = (state.result.fleet.clusters.get(c), state.clusters.get(c))
    else {
        return Vec::new();
    };
    // One name can be in two datacenters: the detail says which this is.
    let name = match (&cluster.datacenter, state.datacenters.is_empty()) {
        (Some(dc), false) => format!("{} in {}", clean(&cluster.name), clean(dc)),
        _ => clean(&cluster.name),
    };
    let mut lines = vec![
        Line::styled(name, theme.title),
        Line::raw(format!("instances: {}", cluster.instances.len())),
    ];
    for &k in &state.columns {
        let names: Vec<String> = cluster
            .primaries(k)
            .iter()
            .map(|i| clean(&i.name))
            .collect();
        // "none" is a claim only a complete read can make.
        let read = state.result.fleet.read_state(k);
        let text = match (names.is_empty(), read) {
            (true, ReadState::Complete) => "none".to_string(),
            (true, ReadState::Partial) => "none found (partly read)".to_string(),
            (true, ReadState::Stale) => "none (stale)".to_string(),
            (true, r) => r.label().to_string(),
            (false, ReadState::Stale) => format!("{} (stale)", names.join(", ")),
            (false, _) => names.join(", "),
        };
        lines.push(Line::raw(format!("primary per {}: {text}", k.name())));
    }
    lines.push(Line::raw(format!(
        "findings: {} ({} cluster-level)",
        info.all_findings.len(),
        info.findings.len()
    )));
    lines
}

/// Every observation of the instance, or only one when an observation row is selected.
fn instance_lines(inst: &Instance, only: Option<usize>, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(
        format!("{} in {}", clean(&inst.name), clean(&inst.cluster)),
        theme.title,
    )];
    for (n, o) in inst.observations.iter().enumerate() {
        if only.is_some_and(|want| want != n) {
            continue;
        }
        observation_lines(o, theme, &mut lines);
    }
    lines
}

fn observation_lines(o: &Observation, theme: &Theme, out: &mut Vec<Line<'static>>) {
    out.push(Line::from(vec![
        Span::styled(format!("{} ", o.source.name()), theme.title),
        Span::raw(clean(&place(o))),
    ]));
    let role = match &o.role {
        Some(c) => Span::styled(
            format!(
                "{} (raw {:?} from {})",
                c.role.as_str(),
                clean(&c.raw),
                c.from
            ),
            theme.role(&c.role),
        ),
        None => Span::styled("none stated", theme.dim),
    };
    out.push(Line::from(vec![Span::raw("  role: "), role]));
    let field = |name: &str, v: &Option<String>| {
        Line::raw(format!(
            "  {name}: {}",
            v.as_deref().map(clean).unwrap_or_else(|| "-".into())
        ))
    };
    out.push(field("ip", &o.ip));
    out.push(field("instance", &o.instance));
    out.push(field("service", &o.service));
    match &o.origin {
        Origin::Consul(c) => {
            out.push(Line::raw(format!(
                "  node {} ({}), service {} port {}, dc {}",
                clean(&c.node),
                clean(&c.node_address),
                clean(&c.service_name),
                c.port,
                clean(&c.datacenter)
            )));
            if !c.tags.is_empty() {
                let tags: Vec<String> = c.tags.iter().map(|t| clean(t)).collect();
                out.push(Line::raw(format!("  tags: {}", tags.join(", "))));
            }
            kv("meta", c.meta.iter(), out);
            for ch in c.checks() {
                out.push(Line::from(vec![
                    Span::raw(format!("  check {}: ", clean(&ch.name))),
                    Span::styled(clean(&ch.status), theme.health(&ch.status)),
                    Span::styled(format!(" {}", sanitize_short(&ch.output)), theme.dim),
                ]));
            }
        }
        Origin::Targets(t) => {
            let targets: Vec<String> = t.targets.iter().map(|t| clean(t)).collect();
            out.push(Line::raw(format!("  targets: {}", targets.join(", "))));
            kv("labels", &t.labels, out);
        }
        Origin::Inventory(i) => {
            out.push(Line::raw(format!(
                "  group {} host {}",
                clean(&i.group),
                clean(&i.host)
            )));
            kv("vars", &i.vars, out);
        }
        Origin::Live(_) => {}
    }
}

/// Where an observation was read, in full (the tree shows a short form).
fn place(o: &Observation) -> String {
    match &o.origin {
        Origin::Consul(c) => format!("node {} service {}", c.node, c.service_id),
        other => other.location(),
    }
}

fn sanitize_short(text: &str) -> String {
    crate::text::sanitize(text, 80)
}

fn kv<K, V>(name: &str, map: impl IntoIterator<Item = (K, V)>, out: &mut Vec<Line<'static>>)
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let pairs: Vec<String> = map
        .into_iter()
        .map(|(k, v)| format!("{}={}", clean(k.as_ref()), clean(v.as_ref())))
        .collect();
    if pairs.is_empty() {
        return;
    }
    out.push(Line::raw(format!("  {name}: {}", pairs.join(" "))));
}
