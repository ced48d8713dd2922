//! The event loop: terminal events and source reads become actions, the reducer updates
//! the one state, and a frame is drawn once per batch.

use super::action::{Action, Effect};
use super::feeds::{Live, LiveEvent};
use super::fixer::Fixer;
use super::state::{Options, State};
use super::{clipboard, keys, mouse, update::update, view};
use crate::config::Settings;
use crate::fleet::Fleet;
use crate::observation::SourceOutput;
use crate::report::CheckResult;
use anyhow::Context;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, Write, stdout};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::mpsc;

/// Restores the terminal when dropped, so every exit path (errors included) leaves it usable.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode().context("switching the terminal to raw mode")?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
            restore();
            return Err(e).context("entering the alternate screen");
        }
        let terminal = match Terminal::new(CrosstermBackend::new(out)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e).context("opening the terminal");
            }
        };
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        restore();
    }
}

/// True while the UI owns the terminal.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Puts the terminal back the way a shell expects it; only the first call acts, because
/// leaving the alternate screen twice restores the saved cursor again and the next
/// output (a panic message, the shell prompt) would be written over what came before.
fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let _ = disable_raw_mode();
    let _ = execute!(
        stdout(),
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    let previous = Arc::new(previous);
    std::panic::set_hook(Box::new(move |info| {
        // Restore first, or the panic message lands on the alternate screen and is lost.
        restore();
        previous(info);
    }));
}

/// Runs the interactive UI until the user quits.
pub async fn run(settings: Settings, opts: Options) -> anyhow::Result<()> {
    let loading = CheckResult::new(Fleet::default(), vec!["reading sources...".into()]);
    // A bad [keys] entry is an error before the terminal is taken over, so it can be read.
    let keymap = keys::Keymap::from_config(settings.keys.as_ref())
        .map_err(|e| anyhow::anyhow!("config file [keys]: {e}"))?;
    let mut state = State::new(loading, opts);
    state.keymap = keymap;
    let mut guard = TerminalGuard::enter()?;
    let (events_tx, mut events_rx) = mpsc::channel::<LiveEvent>(16);
    let (updates_tx, mut updates_rx) = mpsc::channel::<SourceOutput>(64);
    let (actions_tx, mut actions_rx) = mpsc::channel::<Action>(16);
    let mut fixer = Fixer::new(&settings, state.read_only, actions_tx);
    let mut live = Live::new(settings, events_tx, updates_tx);
    live.read_all();
    let mut view = DatacenterView::default();
    let mut input = EventStream::new();
    // Source ages on screen count in seconds.
    let mut clock = tokio::time::interval(std::time::Duration::from_secs(1));
    if let Ok(size) = guard.terminal.size() {
        update(&mut state, Action::Resize(size.width, size.height));
    }
    guard
        .terminal
        .draw(|f| view::draw(f, &state))
        .context("drawing")?;
    // Lets the end-to-end tests prove the terminal survives a panic; absent from release builds.
    #[cfg(debug_assertions)]
    if std::env::var_os("ROSTER_DEBUG_PANIC").is_some() {
        panic!("ROSTER_DEBUG_PANIC: a deliberate panic after the first frame");
    }
    loop {
        let mut effects = Vec::new();
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(event)) => {
                    if let Some(action) = action_for(event, &state) {
                        effects.extend(update(&mut state, action));
                    }
                }
                Some(Err(e)) => return Err(e).context("reading terminal input"),
                None => return Ok(()),
            },
            Some(event) = events_rx.recv() => {
                if let Some(result) = live.on_event(event) {
                    let shown = view.show(result);
                    effects.extend(update(&mut state, Action::Data(Box::new(shown))));
                }
            }
            Some(output) = updates_rx.recv() => live.on_update(output),
            Some(action) = actions_rx.recv() => effects.extend(update(&mut state, action)),
            _ = clock.tick() => {
                effects.extend(update(&mut state, Action::Tick(std::time::SystemTime::now())));
            }
        }
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Refresh => live.read_all(),
                // Placeholder until the event loop handles them (owned by the runtime).
                Effect::Copy(text) => {
                    // OSC 52 asks the terminal (across ssh, and through tmux) to copy.
                    let seq = clipboard::osc52(&text, std::env::var_os("TMUX").is_some());
                    let mut out = stdout();
                    let _ = out.write_all(seq.as_bytes()).and_then(|()| out.flush());
                }
                Effect::SetDatacenter(dc) if live.datacenters().is_empty() => {
                    fixer.set_datacenter(&dc);
                    live.set_datacenter(dc);
                }
                // Every datacenter is read already: only what is shown changes.
                Effect::SetDatacenter(dc) => {
                    if let Some(shown) = view.switch(&dc) {
                        // What the new data asks for waits for the next round.
                        let _ = update(&mut state, Action::Data(Box::new(shown)));
                    }
                }
                Effect::PlanFix {
                    plan_id,
                    cluster,
                    instance,
                    target,
                    datacenter,
                } => fixer.plan(
                    plan_id,
                    &state.result.fleet,
                    &cluster,
                    instance.as_deref(),
                    target,
                    datacenter.as_deref(),
                ),
                Effect::PlanUndo { plan_id, applied } => {
                    fixer.plan_undo(plan_id, &state.result.fleet, applied);
                }
                Effect::ApplyFix {
                    plan_id,
                    accept_risks,
                } => fixer.apply(plan_id, accept_risks),
            }
        }
        guard
            .terminal
            .draw(|f| view::draw(f, &state))
            .context("drawing")?;
    }
}

/// With several datacenters read: the one shown (`:dc NAME`; all of them at first and
/// after `:dc all`) and the latest full result, so a switch needs no new read.
#[derive(Default)]
struct DatacenterView {
    shown: Option<String>,
    latest: Option<CheckResult>,
}

impl DatacenterView {
    /// What to show of a new result.
    fn show(&mut self, result: CheckResult) -> CheckResult {
        if result.fleet.datacenters.is_empty() {
            return result;
        }
        let shown = self.view_of(&result);
        self.latest = Some(result);
        shown
    }

    /// Shows another datacenter (or `all`); the result to show now, if there is one.
    fn switch(&mut self, dc: &str) -> Option<CheckResult> {
        self.shown = (dc != "all").then(|| dc.to_string());
        let latest = self.latest.as_ref()?;
        Some(self.view_of(latest))
    }

    fn view_of(&self, result: &CheckResult) -> CheckResult {
        self.shown
            .as_deref()
            .and_then(|dc| result.datacenter_view(dc))
            .unwrap_or_else(|| result.clone())
    }
}

fn action_for(event: Event, state: &State) -> Option<Action> {
    match event {
        Event::Key(k) if k.kind != KeyEventKind::Release => keys::map(k, state),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        Event::Mouse(m) => mouse::map_mouse(m, state),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Datacenter;
    use crate::observation::{Observation, SourceKind};

    /// pg-a in dc1 and dc2 (a standby pair), pg-b in dc2 only, dc2's pg-b drifting.
    fn two_datacenters() -> CheckResult {
        let consul = |dc: &str, members: &[(&str, &str, &str)]| {
            let mut out = SourceOutput::test(
                SourceKind::Consul,
                members
                    .iter()
                    .map(|(c, role, ip)| {
                        Observation::test(SourceKind::Consul, c)
                            .seq(1)
                            .role(role)
                            .ip(ip)
                    })
                    .collect(),
            );
            out.report.datacenter = Some(dc.to_string());
            out
        };
        let mut dc2_inventory = SourceOutput::test(
            SourceKind::Inventory,
            vec![
                Observation::test(SourceKind::Inventory, "pg-b")
                    .seq(1)
                    .role("replica")
                    .ip("10.2.0.2"),
            ],
        );
        dc2_inventory.report.datacenter = Some("dc2".into());
        let outputs = vec![
            consul("dc1", &[("pg-a", "primary", "10.1.0.1")]),
            consul(
                "dc2",
                &[
                    ("pg-a", "primary", "10.2.0.1"),
                    ("pg-b", "primary", "10.2.0.2"),
                ],
            ),
            dc2_inventory,
        ];
        let dcs = vec![
            Datacenter {
                name: "dc1".into(),
                standby_of: Vec::new(),
            },
            Datacenter {
                name: "dc2".into(),
                standby_of: vec!["dc1".into()],
            },
        ];
        CheckResult::new(crate::estate::build(outputs, &dcs), Vec::new())
    }

    fn clusters(r: &CheckResult) -> Vec<(Option<String>, String)> {
        r.fleet
            .clusters
            .iter()
            .map(|c| (c.datacenter.clone(), c.name.clone()))
            .collect()
    }

    #[test]
    fn dc_switches_what_is_shown_without_a_read() {
        let mut view = DatacenterView::default();
        let all = view.show(two_datacenters());
        assert_eq!(clusters(&all).len(), 3);
        let dc2 = view.switch("dc2").expect("a result to show");
        assert_eq!(
            clusters(&dc2),
            [
                (Some("dc2".to_string()), "pg-a".to_string()),
                (Some("dc2".to_string()), "pg-b".to_string())
            ]
        );
        assert!(!dc2.findings.is_empty());
        assert!(
            dc2.findings
                .iter()
                .all(|f| f.datacenter.as_deref() == Some("dc2"))
        );
        // Every datacenter's sources stay, so the header shows each one's state.
        assert_eq!(dc2.fleet.sources.len(), all.fleet.sources.len());
        // The next read is shown the same way.
        let next = view.show(two_datacenters());
        assert_eq!(clusters(&next).len(), 2);
        let dc1 = view.switch("dc1").unwrap();
        assert!(dc1.findings.is_empty(), "{:?}", dc1.findings);
        assert_eq!(clusters(&view.switch("all").unwrap()).len(), 3);
    }

    #[test]
    fn the_header_names_the_datacenter_shown_and_each_source_its_own() {
        let opts = || Options {
            size: (100, 30),
            ..Options::default()
        };
        let all = two_datacenters();
        let state = State::new(all.clone(), opts());
        assert_eq!(state.datacenter.as_deref(), Some("all 2"));
        let labels: Vec<String> = state.sources.iter().map(|s| s.label()).collect();
        assert_eq!(labels, ["consul@dc1", "consul@dc2", "inventory@dc2"]);
        let state = State::new(all.datacenter_view("dc2").unwrap(), opts());
        assert_eq!(state.datacenter.as_deref(), Some("dc2"));
    }
}
