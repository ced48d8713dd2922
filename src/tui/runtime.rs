//! The event loop: terminal events and source reads become actions, the reducer updates
//! the one state, and a frame is drawn once per batch.

use super::action::{Action, Effect};
use super::state::{Options, State};
use super::{keys, update::update, view};
use crate::config::Settings;
use crate::fleet::Fleet;
use crate::gather::gather;
use crate::report::CheckResult;
use anyhow::Context;
use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use futures::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use std::io::{Stdout, stdout};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often the sources are read again while nothing else asks for it.
const REFRESH_EVERY: Duration = Duration::from_secs(15);

/// Restores the terminal when dropped, so every exit path (errors included) leaves it usable.
struct TerminalGuard {
    terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl TerminalGuard {
    fn enter() -> anyhow::Result<TerminalGuard> {
        install_panic_hook();
        enable_raw_mode().context("switching the terminal to raw mode")?;
        let mut out = stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen) {
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

/// Puts the terminal back the way a shell expects it; safe to call more than once.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, crossterm::cursor::Show);
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
    let settings = Arc::new(settings);
    let loading = CheckResult::new(Fleet::default(), vec!["reading sources...".into()]);
    let mut state = State::new(loading, opts);
    let mut guard = TerminalGuard::enter()?;
    let (tx, mut rx) = mpsc::channel::<CheckResult>(2);
    let mut reading = true;
    spawn_read(settings.clone(), tx.clone());
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(REFRESH_EVERY);
    tick.tick().await;
    if let Ok(size) = guard.terminal.size() {
        update(&mut state, Action::Resize(size.width, size.height));
    }
    guard
        .terminal
        .draw(|f| view::draw(f, &state))
        .context("drawing")?;
    loop {
        let mut effects = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => {
                    if let Some(action) = action_for(event, &state) {
                        effects.extend(update(&mut state, action));
                    }
                }
                Some(Err(e)) => return Err(e).context("reading terminal input"),
                None => return Ok(()),
            },
            Some(result) = rx.recv() => {
                reading = false;
                effects.extend(update(&mut state, Action::Data(Box::new(result))));
            }
            _ = tick.tick() => {
                if !reading {
                    effects.push(Effect::Refresh);
                }
            }
        }
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Refresh if !reading => {
                    reading = true;
                    spawn_read(settings.clone(), tx.clone());
                }
                Effect::Refresh => {}
            }
        }
        guard
            .terminal
            .draw(|f| view::draw(f, &state))
            .context("drawing")?;
    }
}

fn action_for(event: Event, state: &State) -> Option<Action> {
    match event {
        Event::Key(k) if k.kind != KeyEventKind::Release => keys::map(k, state),
        Event::Resize(w, h) => Some(Action::Resize(w, h)),
        _ => None,
    }
}

/// Reads every source off the UI loop and sends the result back as data.
fn spawn_read(settings: Arc<Settings>, tx: mpsc::Sender<CheckResult>) {
    tokio::spawn(async move {
        let g = gather(&settings).await;
        let result = CheckResult::new(Fleet::build(g.outputs), g.notes);
        let _ = tx.send(result).await;
    });
}
