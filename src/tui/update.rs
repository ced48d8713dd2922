//! The reducer: the only place the UI state changes.

use crate::tui::action::{Action, Effect};
use crate::tui::clipboard::selection_text;
use crate::tui::command::{self, Command};
use crate::tui::state::{FixPlan, Focus, Row, State, Status};

mod command_line;
mod events;
mod findings;
mod fix_dialog;

use fix_dialog::{
    fix_applied, fix_choose, fix_close, fix_cycle_target, fix_open, fix_preview, verify_on_data,
    verify_on_tick,
};

/// Longest plan or result line kept (the dialog wraps them).
const LINE_MAX: usize = 500;
/// Most plan or result lines kept, so a runaway plan cannot exhaust memory.
const LINES_MAX: usize = 2000;

/// Applies one action to the state and returns the work it asks for.
pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    // A message stays until the user does something; data, ticks and resizes are not that.
    if !matches!(
        action,
        Action::Data(_)
            | Action::Tick(_)
            | Action::Resize(..)
            | Action::FixPreview { .. }
            | Action::FixApplied { .. }
    ) {
        state.status = None;
    }
    match action {
        Action::MoveUp => move_by(state, -1),
        Action::MoveDown => move_by(state, 1),
        Action::PageUp => move_by(state, -page(state)),
        Action::PageDown => move_by(state, page(state)),
        Action::Top => move_to(state, 0),
        Action::Bottom => move_to(state, usize::MAX),
        Action::Expand => expand(state),
        Action::Collapse => collapse(state),
        Action::Toggle => toggle(state),
        Action::ExpandAll => expand_all(state),
        Action::CollapseAll => collapse_all(state),
        Action::CycleFocus => state.focus = state.focus.next(),
        Action::CycleFocusBack => state.focus = state.focus.prev(),
        Action::StartFilter => state.filter_mode = true,
        Action::FilterInput(c) => {
            if !c.is_control() {
                let mut text = state.filter_text.clone();
                text.push(c);
                state.set_filter(text);
            }
        }
        Action::FilterBackspace => {
            let mut text = state.filter_text.clone();
            text.pop();
            if text.is_empty() {
                state.clear_filter();
                state.filter_mode = true;
            } else {
                state.set_filter(text);
            }
        }
        Action::ConfirmFilter => state.filter_mode = false,
        Action::ClearFilter => state.clear_filter(),
        Action::ToggleDriftOnly => {
            state.drift_only = !state.drift_only;
            state.rebuild();
        }
        Action::CycleSort => {
            state.sort = state.sort.next();
            state.rebuild();
        }
        Action::ToggleHelp => state.help = !state.help,
        Action::ToggleSources => state.sources_open = !state.sources_open,
        Action::FailoverOpen => failover_open(state, None),
        Action::FailoverOf(cluster) => failover_open(state, Some(cluster)),
        Action::FailoverClose => state.failover = None,
        Action::FailoverMove(d) => failover_move(state, d),
        Action::FailoverFix => {
            let Some(v) = state.failover.take() else {
                return Vec::new();
            };
            let member = state
                .cluster_by_key(&v.cluster)
                .and_then(|c| state.clusters.get(c)?.instances.get(v.selected).copied());
            let Some(member) = member else {
                return Vec::new();
            };
            state.reveal(member);
            return fix_open(state);
        }
        Action::NextDrift => findings::jump_drift(state, true),
        Action::PrevDrift => findings::jump_drift(state, false),
        Action::ToggleFindings => findings::toggle(state),
        Action::FindingsMove(d) => findings::move_by(state, d),
        Action::FindingsSort => findings::cycle_sort(state),
        Action::FindingsJump => findings::jump(state),
        Action::ToggleEvents => events::toggle(state),
        Action::EventsMove(d) => events::move_by(state, d),
        Action::Undo => return events::undo_selected(state),
        Action::Refresh => {
            state.refreshing = true;
            return vec![Effect::Refresh];
        }
        Action::Quit => return vec![Effect::Quit],
        Action::Resize(w, h) => {
            state.size = (w, h);
            state.scroll_to_selection();
        }
        Action::Data(result) => {
            let before = state.read_facts();
            state.set_data(*result);
            state.record_changes(&before);
            verify_on_data(state);
        }
        Action::Copy if state.events_view.is_some() => return events::copy(state),
        Action::Copy => return copy(state),
        Action::StartCommand => {
            state.command = Some(String::new());
            state.history_pos = None;
        }
        Action::CommandInput(c) => {
            if let Some(text) = state.command.as_mut()
                && !c.is_control()
            {
                text.push(c);
            }
        }
        Action::CommandBackspace => {
            // As in vim: backspace on an empty line leaves the prompt.
            if let Some(text) = state.command.as_mut()
                && text.pop().is_none()
            {
                state.command = None;
            }
        }
        Action::CancelCommand => state.command = None,
        Action::CommandHistory(d) => command_line::history(state, d),
        Action::CommandComplete => command_line::complete(state),
        Action::RunCommand => {
            state.history_pos = None;
            if let Some(text) = state.command.take() {
                command_line::remember(state, &text);
                return run_command(state, &text);
            }
        }
        Action::ClickRow(row) => {
            state.focus = Focus::Tree;
            if row < state.rows.len() {
                move_to(state, row);
            }
        }
        Action::FocusPane(pane) => state.focus = pane,
        Action::Scroll(pane, delta) => scroll_pane(state, pane, delta),
        Action::Tick(now) => {
            state.now = Some(now);
            verify_on_tick(state, now);
        }
        Action::FixOpen => return fix_open(state),
        Action::FixClose => fix_close(state),
        Action::FixSwitchButton => {
            // After applying only Close is drawn; focus cannot go where nothing is shown.
            if let Some(d) = state.fix.as_mut()
                && d.result.is_none()
            {
                d.button = d.button.other();
            }
        }
        Action::FixCycleTarget => return fix_cycle_target(state),
        Action::FixScroll(delta) => {
            if let Some(d) = state.fix.as_mut() {
                // What the dialog shows: the result once there is one, else the plan (each
                // with room for the heading, error or status lines around it).
                let lines = match (&d.result, &d.preview) {
                    (Some(r), _) => r.lines.len() + 2,
                    (None, Some(p)) => p.lines.len() + 2,
                    (None, None) => 1,
                };
                let max = u16::try_from(lines.saturating_sub(1)).unwrap_or(u16::MAX);
                d.scroll = scroll(d.scroll, delta).min(max);
            }
        }
        Action::FixChoose => return fix_choose(state),
        Action::FixPreview {
            plan_id,
            lines,
            writes,
            error,
            risks,
            resolves,
            creates,
        } => fix_preview(
            state,
            FixPlan {
                plan_id,
                lines,
                writes,
                error,
                risks,
                resolves,
                creates,
            },
        ),
        Action::FixApplied {
            plan_id,
            wrote,
            ok,
            lines,
        } => fix_applied(state, plan_id, wrote, ok, &lines),
    }
    Vec::new()
}

/// Opens the failover view of `cluster` (a name, or `name@dc` of one datacenter of
/// several), or of the selected row's cluster.
fn failover_open(state: &mut State, cluster: Option<String>) {
    let selected = || match state.selected_row()? {
        Row::Datacenter(_) => None,
        Row::Cluster(c) => Some(c),
        Row::Instance(i) | Row::Entry(i, _) => Some(state.instances.get(i)?.cluster),
    };
    let found = match &cluster {
        Some(name) => state.cluster_by_key(name).or_else(|| {
            state
                .result
                .fleet
                .clusters
                .iter()
                .position(|c| c.name == *name)
        }),
        None => selected(),
    };
    let cluster = cluster.or_else(|| Some(state.clusters.get(found?)?.key.clone()));
    match (found.and_then(|c| state.clusters.get(c)), cluster) {
        (Some(info), _) => {
            state.failover = Some(crate::tui::state::FailoverView {
                cluster: info.key.clone(),
                selected: 0,
            });
        }
        (None, Some(name)) => state.status = Some(Status::error(format!("no cluster {name:?}"))),
        (None, None) => {
            state.status = Some(Status::error("select a cluster for the failover view"));
        }
    }
}

fn failover_move(state: &mut State, d: isize) {
    let Some(v) = state.failover.as_mut() else {
        return;
    };
    let n = state
        .clusters
        .iter()
        .find(|c| c.key == v.cluster)
        .map_or(0, |c| c.instances.len());
    v.selected = v.selected.saturating_add_signed(d).min(n.saturating_sub(1));
}

/// Opens the dialog on the selected instance (or, on a cluster row, on the whole cluster)
/// and asks for its plan.
fn expand_all(state: &mut State) {
    let keys = state.group_keys();
    state.expanded.extend(keys);
    state.rebuild();
}

fn collapse_all(state: &mut State) {
    state.expanded.clear();
    state.rebuild();
}

fn copy(state: &mut State) -> Vec<Effect> {
    match selection_text(state) {
        Some(text) => {
            state.status = Some(Status::info(format!("copied: {text}")));
            vec![Effect::Copy(text)]
        }
        None => {
            state.status = Some(Status::error("nothing selected to copy"));
            Vec::new()
        }
    }
}

fn run_command(state: &mut State, text: &str) -> Vec<Effect> {
    if text.trim().is_empty() {
        return Vec::new();
    }
    let cmd = match command::parse(text) {
        Ok(c) => c,
        Err(e) => {
            state.status = Some(Status::error(e));
            return Vec::new();
        }
    };
    match cmd {
        Command::Quit => return vec![Effect::Quit],
        Command::Filter(f) if f.is_empty() => state.clear_filter(),
        Command::Filter(f) => {
            state.set_filter(f);
            state.filter_mode = false;
        }
        Command::Datacenter(dc) => {
            state.status = Some(Status::info(format!("switching to datacenter {dc}…")));
            state.refreshing = true;
            return vec![Effect::SetDatacenter(dc)];
        }
        Command::Sort(s) => {
            state.sort = s;
            state.rebuild();
        }
        Command::ExpandAll => expand_all(state),
        Command::CollapseAll => collapse_all(state),
        Command::Help => state.help = true,
        Command::Sources => state.sources_open = true,
        Command::Findings => state.findings_list = Some(Default::default()),
        Command::Events => events::open(state),
        Command::Undo => return events::undo_latest(state),
        Command::Failover(cluster) => {
            failover_open(state, (!cluster.is_empty()).then_some(cluster));
        }
    }
    Vec::new()
}

/// The wheel: panes scroll their text; the tree scrolls its view and drags the selection
/// along only as far as needed to keep it visible.
fn scroll_pane(state: &mut State, pane: Focus, delta: isize) {
    match pane {
        Focus::Findings => state.findings_scroll = scroll(state.findings_scroll, delta),
        Focus::Detail => state.detail_scroll = scroll(state.detail_scroll, delta),
        Focus::Tree => {
            let h = state.tree_height();
            let max_offset = state.rows.len().saturating_sub(h);
            let offset = state.offset.saturating_add_signed(delta).min(max_offset);
            state.offset = offset;
            let target = state.selected.clamp(offset, (offset + h).saturating_sub(1));
            if target != state.selected && target < state.rows.len() {
                state.selected = target;
                state.findings_scroll = 0;
                state.detail_scroll = 0;
            }
        }
    }
}

fn page(state: &State) -> isize {
    isize::try_from(state.tree_height()).unwrap_or(1).max(1)
}

fn move_by(state: &mut State, delta: isize) {
    match state.focus {
        Focus::Tree => {
            let target = state.selected.saturating_add_signed(delta);
            move_to(state, target);
        }
        // The panes clamp their own scroll when drawn; here it only must not wrap.
        Focus::Findings => state.findings_scroll = scroll(state.findings_scroll, delta),
        Focus::Detail => state.detail_scroll = scroll(state.detail_scroll, delta),
    }
}

fn scroll(at: u16, delta: isize) -> u16 {
    let d = i16::try_from(delta).unwrap_or(if delta < 0 { i16::MIN } else { i16::MAX });
    at.saturating_add_signed(d).min(u16::MAX / 2)
}

fn move_to(state: &mut State, target: usize) {
    if state.focus != Focus::Tree {
        let v = if target == 0 { 0 } else { u16::MAX / 2 };
        match state.focus {
            Focus::Findings => state.findings_scroll = v,
            _ => state.detail_scroll = v,
        }
        return;
    }
    let last = state.rows.len().saturating_sub(1);
    let target = target.min(last);
    if target != state.selected {
        state.selected = target;
        state.findings_scroll = 0;
        state.detail_scroll = 0;
    }
    state.scroll_to_selection();
}

fn set_expanded(state: &mut State, row: Row, open: bool) {
    let Some(key) = state.expand_key(row) else {
        return;
    };
    if open {
        state.expanded.insert(key);
    } else {
        state.expanded.remove(&key);
    }
    state.rebuild();
}

fn is_open(state: &State, row: Row) -> bool {
    match row {
        Row::Datacenter(d) => state.datacenter_expanded(d),
        Row::Cluster(c) => state.cluster_expanded(c),
        Row::Instance(i) => state.instance_expanded(i),
        Row::Entry(..) => false,
    }
}

fn expand(state: &mut State) {
    let Some(row) = state.selected_row() else {
        return;
    };
    if is_open(state, row) {
        // Already open: step onto the first child, as file-tree UIs do.
        if matches!(state.rows.get(state.selected + 1), Some(next) if is_child(*next, row)) {
            move_to(state, state.selected + 1);
        }
    } else {
        set_expanded(state, row, true);
    }
}

fn collapse(state: &mut State) {
    let Some(row) = state.selected_row() else {
        return;
    };
    if is_open(state, row) {
        set_expanded(state, row, false);
    } else if let Some(parent) = parent_position(state, row) {
        move_to(state, parent);
    }
}

fn toggle(state: &mut State) {
    if let Some(row) = state.selected_row() {
        let open = is_open(state, row);
        set_expanded(state, row, !open);
    }
}

fn is_child(child: Row, parent: Row) -> bool {
    matches!(
        (parent, child),
        (Row::Datacenter(_), Row::Cluster(_))
            | (Row::Cluster(_), Row::Instance(_))
            | (Row::Instance(_), Row::Entry(..))
    )
}

fn parent_position(state: &State, row: Row) -> Option<usize> {
    let before = state.rows.get(..state.selected)?;
    match row {
        Row::Datacenter(_) => None,
        Row::Cluster(_) => before.iter().rposition(|r| matches!(r, Row::Datacenter(_))),
        Row::Instance(_) => before.iter().rposition(|r| matches!(r, Row::Cluster(_))),
        Row::Entry(i, _) => before.iter().rposition(|r| *r == Row::Instance(i)),
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "update_tests_oncall.rs"]
mod tests_oncall;

#[cfg(test)]
#[path = "update_tests_dc.rs"]
mod tests_dc;

#[cfg(test)]
#[path = "update_tests_fix.rs"]
mod tests_fix;
