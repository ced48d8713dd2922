//! The reducer: the only place the UI state changes.

use crate::drift::{Finding, Severity};
use crate::fix::plan::Destination;
use crate::fix::simulate::{compare, short};
use crate::observation::SourceKind;
use crate::text::redact;
use crate::text::sanitize;
use crate::tui::action::{Action, Effect};
use crate::tui::clipboard::selection_text;
use crate::tui::command::{self, Command};
use crate::tui::state::{
    FixButton, FixDialog, FixOutcome, FixPlan, FixVerify, Focus, Row, State, Status, VERIFY_WAIT,
    next_target,
};
use std::time::SystemTime;

mod command_line;
mod events;
mod findings;

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
                .result
                .fleet
                .clusters
                .iter()
                .find(|c| c.name == v.cluster)
                .and_then(|c| c.instances.get(v.selected))
                .map(|i| i.name.clone());
            let Some(member) = member else {
                return Vec::new();
            };
            state.reveal(&v.cluster, &member);
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
        } => fix_preview(
            state,
            FixPlan {
                plan_id,
                lines,
                writes,
                error,
                risks,
                resolves,
            },
        ),
        Action::FixApplied { ok, lines } => fix_applied(state, ok, &lines),
    }
    Vec::new()
}

/// Opens the failover view of `cluster`, or of the selected row's cluster.
fn failover_open(state: &mut State, cluster: Option<String>) {
    let cluster = cluster.or_else(|| {
        let row = state.selected_row()?;
        match row {
            Row::Cluster(c) => state.result.fleet.clusters.get(c).map(|c| c.name.clone()),
            Row::Instance(i) | Row::Entry(i, _) => state.instance(i).map(|i| i.cluster.clone()),
        }
    });
    match cluster {
        Some(name) if state.result.fleet.clusters.iter().any(|c| c.name == name) => {
            state.failover = Some(crate::tui::state::FailoverView {
                cluster: name,
                selected: 0,
            });
        }
        Some(name) => state.status = Some(Status::error(format!("no cluster {name:?}"))),
        None => state.status = Some(Status::error("select a cluster for the failover view")),
    }
}

fn failover_move(state: &mut State, d: isize) {
    let Some(v) = state.failover.as_mut() else {
        return;
    };
    let n = state
        .result
        .fleet
        .clusters
        .iter()
        .find(|c| c.name == v.cluster)
        .map_or(0, |c| c.instances.len());
    v.selected = v.selected.saturating_add_signed(d).min(n.saturating_sub(1));
}

/// Opens the dialog on the selected instance (or, on a cluster row, on the whole cluster)
/// and asks for its plan.
fn fix_open(state: &mut State) -> Vec<Effect> {
    let refuse = |state: &mut State| {
        state.status = Some(Status::error(
            "select an instance or a cluster to re-register",
        ));
        Vec::new()
    };
    let (cluster, instance, in_consul) = match state.selected_row() {
        Some(Row::Instance(i) | Row::Entry(i, _)) => match state.instance(i) {
            Some(inst) => (
                inst.cluster.clone(),
                Some(inst.name.clone()),
                inst.seen_by(SourceKind::Consul),
            ),
            None => return refuse(state),
        },
        Some(Row::Cluster(c)) => match state.result.fleet.clusters.get(c) {
            Some(c) => (
                c.name.clone(),
                None,
                c.instances.iter().any(|i| i.seen_by(SourceKind::Consul)),
            ),
            None => return refuse(state),
        },
        None => return refuse(state),
    };
    // With a Consul record the registration is there to copy from, and the target files
    // are the likelier place to have drifted; without one, Consul is what is missing.
    let target = if in_consul {
        Destination::Targets
    } else {
        Destination::Consul
    };
    state.fix = Some(FixDialog {
        cluster,
        instance,
        target,
        plan_id: 0,
        preview: None,
        button: FixButton::Cancel,
        scroll: 0,
        applying: false,
        result: None,
        confirm_risks: false,
    });
    plan(state)
}

/// Asks for a plan for the dialog's instance and target, forgetting the shown one.
fn plan(state: &mut State) -> Vec<Effect> {
    state.plan_seq += 1;
    let plan_id = state.plan_seq;
    let Some(d) = state.fix.as_mut() else {
        return Vec::new();
    };
    d.plan_id = plan_id;
    d.preview = None;
    d.result = None;
    d.button = FixButton::Cancel;
    d.scroll = 0;
    d.confirm_risks = false;
    vec![Effect::PlanFix {
        plan_id,
        cluster: d.cluster.clone(),
        instance: d.instance.clone(),
        target: d.target,
    }]
}

fn fix_cycle_target(state: &mut State) -> Vec<Effect> {
    let Some(d) = state.fix.as_mut() else {
        return Vec::new();
    };
    if d.applying {
        // The confirmed plan is being written; a new one would describe a moving target.
        state.status = Some(Status::error("applying… wait for the result"));
        return Vec::new();
    }
    d.target = next_target(d.target);
    plan(state)
}

fn fix_choose(state: &mut State) -> Vec<Effect> {
    let Some(d) = state.fix.as_mut() else {
        return Vec::new();
    };
    match d.button {
        // Cancel on the second step goes back to the plan; on the plan, it closes.
        FixButton::Cancel if d.confirm_risks => {
            d.confirm_risks = false;
            d.scroll = 0;
        }
        FixButton::Cancel => fix_close(state),
        FixButton::Apply => {
            if state.read_only {
                state.status = Some(Status::error("READ-ONLY: writes are off"));
            } else if d.can_apply() && !d.risks().is_empty() && !d.confirm_risks {
                // A plan that leaves the cluster worse is asked about again, Cancel first.
                d.confirm_risks = true;
                d.button = FixButton::Cancel;
                d.scroll = 0;
            } else if d.can_apply() {
                d.applying = true;
                let accept_risks = d.confirm_risks;
                d.confirm_risks = false;
                return vec![Effect::ApplyFix {
                    plan_id: d.plan_id,
                    accept_risks,
                }];
            } else {
                let why = if d.applying {
                    "applying… wait for the result"
                } else if d.result.is_some() {
                    "already applied; t plans again"
                } else if d.preview.is_none() {
                    "still planning…"
                } else {
                    "nothing to apply"
                };
                state.status = Some(Status::error(why));
            }
        }
    }
    Vec::new()
}

/// Closes the dialog; before anything was applied, the footer says nothing was written.
fn fix_close(state: &mut State) {
    let Some(d) = state.fix.take() else {
        return;
    };
    if d.result.is_none() && !d.applying {
        state.status = Some(Status::info(format!(
            "cancelled: nothing written for {}",
            sanitize(d.instance.as_deref().unwrap_or(&d.cluster), 100)
        )));
    }
}

fn fix_preview(state: &mut State, plan: FixPlan) {
    let Some(d) = state.fix.as_mut() else {
        return;
    };
    // An answer to a request made before the latest `t` (or before reopening) describes
    // a plan the user is no longer looking at.
    if plan.plan_id != d.plan_id || d.applying {
        return;
    }
    d.preview = Some(FixPlan {
        lines: clean_lines(&plan.lines),
        error: plan.error.map(|e| sanitize(&redact(&e), LINE_MAX)),
        risks: clean_lines(&plan.risks),
        ..plan
    });
    // Whatever had focus before, a plan the user has not read yet is never one Enter away.
    d.button = FixButton::Cancel;
    d.scroll = 0;
    d.confirm_risks = false;
}

fn fix_applied(state: &mut State, ok: bool, lines: &[String]) {
    let lines = clean_lines(lines);
    events::fix_applied(state, ok, &lines);
    let Some(d) = state.fix.as_mut() else {
        // The dialog was closed while applying: the footer is the only place left.
        let first = lines.first().map(String::as_str).unwrap_or_default();
        let word = if ok { "fix applied" } else { "fix failed" };
        state.status = Some(if ok {
            Status::info(format!("{word}: {first}"))
        } else {
            Status::error(format!("{word}: {first}"))
        });
        return;
    };
    d.applying = false;
    d.button = FixButton::Cancel;
    d.scroll = 0;
    d.result = Some(FixOutcome { ok, lines });
    let expect = d
        .preview
        .as_ref()
        .map(|p| p.resolves.clone())
        .unwrap_or_default();
    let (cluster, instance) = (d.cluster.clone(), d.instance.clone());
    let before = cluster_findings(state, &cluster);
    state.fix_verify = Some(FixVerify {
        cluster,
        instance,
        before,
        expect,
        // Without a tick yet the clock is unknown; the first tick then ends the wait,
        // which only happens in the second after start.
        deadline: state.now.unwrap_or(SystemTime::UNIX_EPOCH) + VERIFY_WAIT,
    });
}

fn cluster_findings(state: &State, cluster: &str) -> Vec<Finding> {
    state
        .findings()
        .iter()
        .filter(|f| f.cluster == cluster)
        .cloned()
        .collect()
}

/// The expected resolutions not seen yet.
fn pending(v: &FixVerify, now: &[Finding]) -> Vec<Finding> {
    let left = compare(&v.expect, now);
    v.expect
        .iter()
        .filter(|f| !left.resolves.contains(f))
        .cloned()
        .collect()
}

/// The footer after a fix: what it resolved, what is still wrong, what it made wrong.
fn verdict(state: &State, v: &FixVerify, late: bool) -> Status {
    let now = cluster_findings(state, &v.cluster);
    let seen = compare(&v.before, &now);
    let mut still = pending(v, &now);
    let concerns = |f: &Finding| match &v.instance {
        Some(i) => f.instance.as_deref().is_none_or(|x| x == i),
        None => true,
    };
    for f in seen
        .remains
        .iter()
        .filter(|f| f.severity >= Severity::Warning)
    {
        if concerns(f) && !still.iter().any(|s| short(s) == short(f)) {
            still.push(f.clone());
        }
    }
    let words = |list: &[Finding]| {
        let mut w: Vec<String> = list
            .iter()
            .map(|f| format!("{} ({})", short(f), f.severity))
            .collect();
        w.dedup();
        w.join(", ")
    };
    let subject = v.instance.as_deref().unwrap_or(&v.cluster);
    let mut text = if seen.resolves.is_empty() {
        format!("{subject}: resolved nothing")
    } else {
        format!("{subject}: resolved {}", words(&seen.resolves))
    };
    if !still.is_empty() {
        text.push_str(&format!("; still {}", words(&still)));
    }
    if !seen.creates.is_empty() {
        text.push_str(&format!("; new {}", words(&seen.creates)));
    }
    let missed = !pending(v, &now).is_empty();
    if late && !still.is_empty() {
        text.push_str(&format!(" after {} s", VERIFY_WAIT.as_secs()));
    }
    if missed || !seen.creates.is_empty() || (seen.resolves.is_empty() && !still.is_empty()) {
        Status::error(text)
    } else {
        Status::info(text)
    }
}

fn verify_on_data(state: &mut State) {
    let Some(v) = &state.fix_verify else {
        return;
    };
    // A cluster missing from a read (a source failed, say) proves nothing.
    if !state
        .result
        .fleet
        .clusters
        .iter()
        .any(|c| c.name == v.cluster)
        || v.instance
            .as_deref()
            .is_some_and(|i| !state.has_instance(&v.cluster, i))
        || !pending(v, &cluster_findings(state, &v.cluster)).is_empty()
    {
        return;
    }
    state.status = Some(verdict(state, v, false));
    state.fix_verify = None;
}

fn verify_on_tick(state: &mut State, now: SystemTime) {
    let Some(v) = &state.fix_verify else {
        return;
    };
    if now <= v.deadline {
        return;
    }
    let secs = VERIFY_WAIT.as_secs();
    let gone = match &v.instance {
        Some(i) => !state.has_instance(&v.cluster, i),
        None => !state
            .result
            .fleet
            .clusters
            .iter()
            .any(|c| c.name == v.cluster),
    };
    state.status = Some(if gone {
        Status::error(format!(
            "{}: not in the latest read {secs} s after the fix",
            v.instance.as_deref().unwrap_or(&v.cluster)
        ))
    } else {
        verdict(state, v, true)
    });
    state.fix_verify = None;
}

/// Remote lines made safe for the terminal, keeping a diff line's sign and indentation
/// (which `sanitize` alone would trim away).
fn clean_lines(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .take(LINES_MAX)
        .map(|l| clean_line(l))
        .collect()
}

fn clean_line(line: &str) -> String {
    let (sign, rest) = match line.strip_prefix(['-', '+']) {
        Some(rest) => (&line[..1], rest),
        None => ("", line),
    };
    let indent: usize = rest
        .chars()
        .take_while(|c| *c == ' ' || *c == '\t')
        .map(|c| if c == '\t' { 4 } else { 1 })
        .sum();
    let body = sanitize(&redact(rest), LINE_MAX);
    if body.is_empty() {
        return sign.to_string();
    }
    format!("{sign}{}{body}", " ".repeat(indent.min(40)))
}

fn expand_all(state: &mut State) {
    state.expanded.extend(
        state
            .result
            .fleet
            .clusters
            .iter()
            .map(|c| format!("c:{}", c.name)),
    );
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
        (Row::Cluster(_), Row::Instance(_)) | (Row::Instance(_), Row::Entry(..))
    )
}

fn parent_position(state: &State, row: Row) -> Option<usize> {
    let before = state.rows.get(..state.selected)?;
    match row {
        Row::Cluster(_) => None,
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
