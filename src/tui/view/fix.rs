//! The re-registration dialog: the plan for one instance and one target, and the
//! confirmation, focused on Cancel, that every write goes through.

use super::widgets::{clamp_scroll, clean};
use crate::tui::layout::{FIX_CHROME, fix_max_body};
use crate::tui::state::{FixButton, FixDialog, State, VERIFY_WAIT};
use crate::tui::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

/// Widest the dialog gets; diff lines longer than this wrap.
const MAX_W: u16 = 100;
/// The key hint under the buttons.
const HINT: &str = "Tab switch · t target · Enter choose · Esc close";
/// The key hint once the plan was applied.
const HINT_DONE: &str = "Enter or Esc close · t plan again";
/// The key hint of an undo (it has one target: where the fix wrote).
const HINT_UNDO: &str = "Tab switch · Enter choose · Esc close";
/// The key hint once an undo was applied.
const HINT_UNDO_DONE: &str = "Enter or Esc close";
/// The key hint of the second confirmation.
const HINT_RISK: &str = "Tab switch · Enter choose (Cancel: back to the plan) · Esc close";

pub(super) fn draw(frame: &mut Frame, area: Rect, state: &State, theme: &Theme) {
    let Some(d) = &state.fix else {
        return;
    };
    let body = body(d, state, theme);
    let w = area
        .width
        .saturating_sub(4)
        .clamp(area.width.min(20), MAX_W);
    let inner_w = usize::from(w.saturating_sub(2)).max(1);
    // The plan wraps; count the rows it takes so that a short plan gets a short dialog.
    let rows: usize = body
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_w))
        .sum();
    let body_h = u16::try_from(rows)
        .unwrap_or(u16::MAX)
        .min(fix_max_body(area))
        .max(1);
    let h = (body_h + FIX_CHROME).min(area.height);
    let rect = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    let subject = match &d.instance {
        Some(i) => clean(i),
        None => format!("{} (cluster)", clean(&d.cluster)),
    };
    let block = Block::bordered()
        .border_style(if d.confirm_risks {
            theme.error
        } else {
            theme.focus_border
        })
        .title(Line::styled(
            if d.undo.is_some() {
                format!(" Undo the fix of {subject} in {} ", d.target.name())
            } else {
                format!(" Re-register {subject} → {} ", d.target.name())
            },
            theme.title,
        ));
    let inner = block.inner(rect);
    frame.render_widget(Clear, rect);
    frame.render_widget(block, rect);
    let [plan, _, buttons, hint] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let scroll = clamp_scroll(d.scroll, body.len());
    // Rows the plan takes below what is shown: the hint says so, or a long plan would
    // look complete at its first screen.
    let below = rows.saturating_sub(usize::from(scroll) + usize::from(plan.height));
    frame.render_widget(
        Paragraph::new(body)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        plan,
    );
    frame.render_widget(
        Paragraph::new(button_line(d, state, theme)).alignment(Alignment::Center),
        buttons,
    );
    frame.render_widget(
        Paragraph::new(hint_line(d, below, theme)).alignment(Alignment::Center),
        hint,
    );
}

/// The key hint, led by a "more below" marker while the plan goes on past the dialog.
fn hint_line(d: &FixDialog, below: usize, theme: &Theme) -> Line<'static> {
    let undo = d.undo.is_some();
    let hint = match (d.result.is_some(), d.confirm_risks, undo) {
        (true, _, true) => HINT_UNDO_DONE,
        (true, _, false) => HINT_DONE,
        (false, true, _) => HINT_RISK,
        (false, false, true) => HINT_UNDO,
        (false, false, false) => HINT,
    };
    if below == 0 {
        return Line::styled(hint, theme.dim);
    }
    Line::from(vec![
        Span::styled(format!("↓ {below} more (j/k scroll)"), theme.warning),
        Span::styled(format!(" · {hint}"), theme.dim),
    ])
}

/// The plan, or what happened when it was applied (every line already sanitised).
fn body(d: &FixDialog, state: &State, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(r) = &d.result {
        lines.push(if r.ok {
            Line::styled("applied", theme.ok)
        } else {
            Line::styled("failed; the rest of the plan was not applied", theme.error)
        });
        lines.extend(r.lines.iter().map(|l| plan_line(l, theme)));
        let waiting = state
            .fix_verify
            .as_ref()
            .is_some_and(|v| v.cluster == d.cluster && v.instance == d.instance);
        if waiting {
            lines.push(Line::styled(
                format!(
                    "waiting up to {} s for the sources to show the change…",
                    VERIFY_WAIT.as_secs()
                ),
                theme.dim,
            ));
        }
        return lines;
    }
    let Some(p) = &d.preview else {
        lines.push(Line::styled("planning…", theme.dim));
        return lines;
    };
    if d.confirm_risks {
        lines.push(Line::styled(
            "This plan leaves the cluster worse or runs into danger:",
            theme.error,
        ));
        for r in &p.risks {
            lines.push(Line::styled(format!("  DANGER: {r}"), theme.error));
        }
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "Apply its {} write(s) anyway? Cancel goes back to the plan.",
            p.writes
        )));
        return lines;
    }
    // First, like the warnings: the reason Apply is off must not scroll out of sight.
    if state.read_only && p.error.is_none() && p.writes > 0 {
        lines.push(Line::styled(
            "read-only: writes are off in this session; the plan is shown, not applied",
            theme.warning,
        ));
    }
    if let Some(e) = &p.error {
        lines.push(Line::from(vec![
            Span::styled("error: ", theme.error),
            Span::styled(e.clone(), theme.error),
        ]));
    }
    // Warnings first: a clipped dialog must never hide one.
    let (warnings, rest): (Vec<&String>, Vec<&String>) =
        p.lines.iter().partition(|l| is_warning(l));
    lines.extend(warnings.into_iter().map(|l| plan_line(l, theme)));
    lines.extend(rest.into_iter().map(|l| plan_line(l, theme)));
    if p.error.is_none()
        && p.writes == 0
        && !p.lines.iter().any(|l| l.starts_with("nothing to write"))
    {
        lines.push(Line::styled(
            format!("nothing to write: {} already agrees", d.target.name()),
            theme.dim,
        ));
    }
    if d.applying {
        lines.push(Line::styled("applying…", theme.dim));
    }
    lines
}

/// One plan line, styled by its sign or first word; the sign and the word stay, so the
/// plan reads without colour.
fn plan_line(line: &str, theme: &Theme) -> Line<'static> {
    let style = if line.starts_with('-') {
        theme.diff_del
    } else if line.starts_with('+') {
        theme.diff_add
    } else if line.starts_with("DANGER:")
        || (line.starts_with("creates:") && line.contains("(error)"))
    {
        theme.error
    } else if line.starts_with("creates:") && line != "creates: nothing" {
        theme.warning
    } else if line.starts_with("resolves:") && line != "resolves: nothing" {
        theme.ok
    } else if is_warning(line) {
        theme.warning
    } else {
        Style::new()
    };
    Line::styled(line.to_string(), style)
}

fn is_warning(line: &str) -> bool {
    line.trim_start()
        .get(..8)
        .is_some_and(|w| w.eq_ignore_ascii_case("warning:"))
}

/// `[ Cancel ]  [ Apply N writes ]`, the focused one reversed; after applying, `[ Close ]`.
fn button_line(d: &FixDialog, state: &State, theme: &Theme) -> Line<'static> {
    let focus = |b: FixButton, enabled: bool| {
        let base = if enabled { Style::new() } else { theme.dim };
        if d.button == b {
            base.patch(theme.selected)
        } else {
            base
        }
    };
    if d.result.is_some() {
        return Line::from(Span::styled("[ Close ]", theme.selected));
    }
    let apply = match &d.preview {
        Some(_) if d.confirm_risks => "[ Apply anyway ]".to_string(),
        // Not "Apply 0 writes": there is nothing the button could do.
        Some(p) if p.error.is_some() || p.writes == 0 => "[ nothing to apply ]".to_string(),
        Some(p) => {
            let s = if p.writes == 1 { "" } else { "s" };
            format!("[ Apply {} write{s} ]", p.writes)
        }
        _ => "[ Apply ]".to_string(),
    };
    let enabled = d.can_apply() && !state.read_only;
    let mut spans = vec![
        Span::styled("[ Cancel ]", focus(FixButton::Cancel, true)),
        Span::raw("  "),
        Span::styled(apply, focus(FixButton::Apply, enabled)),
    ];
    if state.read_only {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" READ-ONLY ", theme.read_only));
    }
    Line::from(spans)
}
