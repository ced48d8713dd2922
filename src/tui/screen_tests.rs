//! Whole-screen tests: the demo fleet, driven by key events, drawn into a test terminal.

use crate::report::CheckResult;
use crate::tui::action::Effect;
use crate::tui::state::{Options, State};
use crate::tui::testdata::{demo_result, demo_with_broken_inventory};
use crate::tui::theme::ThemeKind;
use crate::tui::{keys, update::update, view::draw};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn state(result: CheckResult, size: (u16, u16)) -> State {
    State::new(
        result,
        Options {
            read_only: true,
            theme: ThemeKind::Dark,
            size,
        },
    )
}

/// Sends keys the way the event loop will: map, then reduce.
fn press(state: &mut State, keys: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\u{1b}' => KeyCode::Esc,
            '\t' => KeyCode::Tab,
            c => KeyCode::Char(c),
        };
        if let Some(a) = keys::map(KeyEvent::new(code, KeyModifiers::NONE), state) {
            effects.extend(update(state, a));
        }
    }
    effects
}

fn render(state: &State) -> Buffer {
    let (w, h) = state.size;
    let mut terminal = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test terminal: {e}"),
    };
    if let Err(e) = terminal.draw(|f| draw(f, state)) {
        panic!("draw: {e}");
    }
    terminal.backend().buffer().clone()
}

fn text(buf: &Buffer) -> String {
    let area = buf.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Where `needle` starts on screen, as (x, y) in cells.
fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
    let screen = text(buf);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = line[..byte].chars().count();
            return Some((u16::try_from(x).ok()?, u16::try_from(y).ok()?));
        }
    }
    None
}

#[tokio::test]
async fn initial_screen() {
    let s = state(demo_result().await, (100, 30));
    let buf = render(&s);
    let screen = text(&buf);
    assert!(screen.contains("READ-ONLY"), "{screen}");
    assert!(screen.contains("consul ok"), "{screen}");
    insta::assert_snapshot!("initial_100x30", screen);
}

#[tokio::test]
async fn error_finding_is_red_and_lettered() {
    let mut s = state(demo_result().await, (100, 30));
    // pg-src-1 disagrees on its role (an error).
    press(&mut s, "/pg-src-1\n");
    let buf = render(&s);
    let screen = text(&buf);
    let Some((x, y)) = find(&buf, "!E role-mism") else {
        panic!("no drift marker in\n{screen}");
    };
    assert_eq!(buf[(x + 1, y)].symbol(), "E");
    assert_eq!(buf[(x + 1, y)].fg, Color::Red);
    // The same finding in the findings pane carries letter and colour too.
    let Some((fx, fy)) = find(&buf, "E role-mismatch pg-src-1") else {
        panic!("no finding in\n{screen}");
    };
    assert_eq!(buf[(fx, fy)].fg, Color::Red);
    // Role letters: consul says replica, the others primary.
    let Some((rx, ry)) = find(&buf, "RPP") else {
        panic!("no role columns in\n{screen}");
    };
    assert_eq!(buf[(rx, ry)].fg, Color::Blue);
    assert_eq!(buf[(rx + 1, ry)].fg, Color::Green);
    assert!(buf[(rx + 1, ry)].modifier.contains(Modifier::BOLD));
}

#[tokio::test]
async fn no_color_theme_keeps_letters_without_colour() {
    let mut s = state(demo_result().await, (100, 30));
    s.theme = ThemeKind::NoColor;
    press(&mut s, "/pg-src-1\n");
    let buf = render(&s);
    let Some((x, y)) = find(&buf, "!E role-mism") else {
        panic!("no drift marker in\n{}", text(&buf));
    };
    assert_eq!(buf[(x + 1, y)].fg, Color::Reset);
}

#[tokio::test]
async fn expand_an_instance() {
    let mut s = state(demo_result().await, (100, 30));
    // pg-meta, pg-meta-1: expand it to see one row per source record.
    press(&mut s, "jl");
    let screen = text(&render(&s));
    assert!(screen.contains("pg-meta.yml:"), "{screen}");
    insta::assert_snapshot!("expand_100x30", screen);
}

#[tokio::test]
async fn filter_role_primary() {
    let mut s = state(demo_result().await, (100, 30));
    press(&mut s, "/role:primary");
    let typing = text(&render(&s));
    assert!(typing.contains("/role:primary_"), "{typing}");
    press(&mut s, "\n");
    let screen = text(&render(&s));
    assert!(screen.contains("filter: role:primary"), "{screen}");
    assert!(
        !screen.contains("pg-test-3"),
        "a replica everywhere: {screen}"
    );
    insta::assert_snapshot!("filter_role_primary_100x30", screen);
    press(&mut s, "\u{1b}");
    assert!(s.filter_text.is_empty());
}

#[tokio::test]
async fn drift_only() {
    let mut s = state(demo_result().await, (100, 30));
    press(&mut s, "d");
    let screen = text(&render(&s));
    assert!(screen.contains("drift only"), "{screen}");
    assert!(!screen.contains("pg-web"), "pg-web has no drift: {screen}");
    insta::assert_snapshot!("drift_only_100x30", screen);
}

#[tokio::test]
async fn help_overlay() {
    let mut s = state(demo_result().await, (100, 30));
    press(&mut s, "?");
    let screen = text(&render(&s));
    for (keys, _) in keys::BINDINGS {
        assert!(screen.contains(keys), "{keys} missing from help:\n{screen}");
    }
    insta::assert_snapshot!("help_100x30", screen);
    press(&mut s, "q");
    assert!(!s.help, "q closes the help rather than quitting");
    assert_eq!(press(&mut s, "q"), vec![Effect::Quit]);
}

#[tokio::test]
async fn source_error_is_shown() {
    let s = state(demo_with_broken_inventory().await, (100, 30));
    let buf = render(&s);
    let screen = text(&buf);
    let Some((x, y)) = find(&buf, "ERROR: /demo/pigsty.yml:3:7") else {
        panic!("no source error in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Red);
    insta::assert_snapshot!("source_error_100x30", screen);
}

#[tokio::test]
async fn small_terminals() {
    let result = demo_result().await;
    let mut s = state(result, (40, 10));
    let screen = text(&render(&s));
    assert!(!screen.contains("too small"), "{screen}");
    insta::assert_snapshot!("minimum_40x10", screen);
    press(&mut s, "\t");
    let findings = text(&render(&s));
    assert!(findings.contains("Findings"), "{findings}");
    s.size = (30, 8);
    let screen = text(&render(&s));
    assert!(screen.contains("terminal too small"), "{screen}");
    insta::assert_snapshot!("too_small_30x8", screen);
}

#[tokio::test]
async fn remote_control_characters_never_reach_the_screen() {
    let mut result = demo_result().await;
    if let Some(c) = result.fleet.clusters.first_mut()
        && let Some(i) = c.instances.first_mut()
    {
        i.name = "evil\u{1b}[2Jname".into();
    }
    let s = state(result, (100, 30));
    let screen = text(&render(&s));
    assert!(!screen.contains('\u{1b}'));
    assert!(screen.contains("evil?[2Jname"), "{screen}");
}
