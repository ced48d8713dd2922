//! Whole-screen tests: the demo fleet, driven by key events, drawn into a test terminal.

use crate::report::CheckResult;
use crate::tui::action::{Action, Effect};
use crate::tui::state::{Options, State};
use crate::tui::testdata::{demo_result, demo_with_broken_inventory};
use crate::tui::theme::ThemeKind;
use crate::tui::{keys, update::update, view::draw};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

pub(super) fn state(result: CheckResult, size: (u16, u16)) -> State {
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
pub(super) fn press(state: &mut State, keys: &str) -> Vec<Effect> {
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

pub(super) fn render(state: &State) -> Buffer {
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

pub(super) fn text(buf: &Buffer) -> String {
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
pub(super) fn find(buf: &Buffer, needle: &str) -> Option<(u16, u16)> {
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
    for (keys, what) in s.keymap.help() {
        assert!(
            screen.contains(&format!("{keys:<15}{what}")),
            "{keys} {what} missing from help:\n{screen}"
        );
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
    let Some((x, y)) = find(&buf, "ERROR: /demo/pigsty.yml:3:") else {
        panic!("no source error in\n{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Red);
    insta::assert_snapshot!("source_error_100x30", screen);
}

/// `:dc dc2` when the datacenter cannot be reached: Consul read, nothing known of it.
#[tokio::test]
async fn a_failed_source_leaves_every_instance_not_read_never_clean() {
    use crate::fleet::Fleet;
    use crate::observation::{SourceKind, SourceOutput, SourceReport};
    let mut outputs = match crate::tui::demo_data::demo_outputs().await {
        Ok(o) => o,
        Err(e) => panic!("demo fleet: {e:#}"),
    };
    for out in &mut outputs {
        if out.report.kind == SourceKind::Consul {
            let mut r = SourceReport::new(SourceKind::Consul, "http://consul.demo");
            r.error("GET http://consul.demo/v1/catalog/services?dc=dc2: No path to datacenter");
            *out = SourceOutput::new(r, Vec::new());
        }
    }
    let mut s = state(
        CheckResult::new(Fleet::build(outputs), Vec::new()),
        (100, 30),
    );
    assert!(
        s.instances
            .iter()
            .all(|i| i.roles[0] == crate::tui::state::RoleCell::NotRead)
    );
    let screen = text(&render(&s));
    assert!(!screen.contains("no drift here"), "{screen}");
    assert!(!screen.contains("missing-in-consul"), "{screen}");
    assert!(screen.contains("not verified: consul not read"), "{screen}");
    assert!(
        screen.contains(" unverified"),
        "the header counts them: {screen}"
    );
    // pg-meta-1 agrees everywhere it was read: still not clean, and it says why.
    let row = screen
        .lines()
        .find(|l| l.contains("> pg-meta-1 "))
        .unwrap_or_default();
    assert!(
        row.contains(" ~PP ") && row.contains("~ consul not read"),
        "{row}"
    );
    press(&mut s, "j");
    let screen = text(&render(&s));
    assert!(screen.contains("Findings: pg-meta-1 (0)"), "{screen}");
    assert!(screen.contains("not verified: consul not read"), "{screen}");
    assert!(!screen.contains("no drift here"), "{screen}");
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

pub(super) fn footer(buf: &Buffer) -> String {
    text(buf).lines().last().unwrap_or_default().to_string()
}

#[tokio::test]
async fn copy_shows_what_was_copied_until_the_next_key() {
    let mut s = state(demo_result().await, (100, 30));
    let effects = press(&mut s, "jy");
    let [Effect::Copy(copied)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert!(
        copied.starts_with("cluster=pg-meta instance=pg-meta-1 seq=1 ip=127.10.10.10"),
        "{copied}"
    );
    assert!(copied.contains("role(consul)=primary role(targets)=primary role(inventory)=primary"));
    let buf = render(&s);
    let line = footer(&buf);
    assert!(
        line.starts_with("copied: cluster=pg-meta instance=pg-meta-1"),
        "{line}"
    );
    assert_eq!(buf[(0, 29)].fg, Color::Green);
    insta::assert_snapshot!("copied_footer_100x30", line);
    press(&mut s, "j");
    assert!(!footer(&render(&s)).contains("copied"));
}

#[tokio::test]
async fn command_line_prompt_and_errors() {
    let mut s = state(demo_result().await, (100, 30));
    press(&mut s, ":sort dri");
    let screen = text(&render(&s));
    assert!(
        screen.ends_with(":sort dri_  Enter run  Esc cancel\n"),
        "{screen}"
    );
    insta::assert_snapshot!("command_prompt_100x30", screen);
    press(&mut s, "ft\n");
    let screen = text(&render(&s));
    assert!(
        screen.contains("sort drift"),
        "the tree title shows the order: {screen}"
    );
    press(&mut s, ":frobnicate\n");
    let buf = render(&s);
    let line = footer(&buf);
    assert!(
        line.starts_with("unknown command :frobnicate (try :help)"),
        "{line}"
    );
    assert_eq!(buf[(0, 29)].fg, Color::Red);
    insta::assert_snapshot!("command_error_footer_100x30", line);
    // Esc leaves the prompt without running it.
    press(&mut s, ":q\u{1b}");
    assert!(s.command.is_none());
    assert_eq!(press(&mut s, ":q\n"), vec![Effect::Quit]);
}

#[tokio::test]
async fn command_help_and_filter() {
    let mut s = state(demo_result().await, (100, 30));
    press(&mut s, ":filter role:primary\n");
    let screen = text(&render(&s));
    assert!(screen.contains("filter: role:primary"), "{screen}");
    assert!(!screen.contains("pg-test-3"), "{screen}");
    press(&mut s, ":help\n");
    let screen = text(&render(&s));
    assert!(screen.contains(":dc NAME"), "{screen}");
}

#[tokio::test]
async fn help_lists_the_keys_in_effect() {
    let mut s = state(demo_result().await, (100, 30));
    let keys = "quit = \"x\"\nfilter = \"f\"\nfailover = \"V\"\nrefresh = \"ctrl-r\"";
    let table = match keys.parse::<toml::Table>() {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    s.keymap = match keys::Keymap::from_table(&table) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let line = footer(&render(&s));
    assert!(
        line.contains("f filter") && line.contains("Ctrl-R refresh") && line.contains("x quit"),
        "{line}"
    );
    press(&mut s, "?");
    let screen = text(&render(&s));
    assert!(screen.contains("x              quit"), "{screen}");
    assert!(screen.contains("f              filter"), "{screen}");
    assert!(screen.contains("Ctrl-R         refresh now"), "{screen}");
    assert!(!screen.contains("q              quit"), "{screen}");
    press(&mut s, "x");
    assert!(!s.help, "the new quit key closes help");
    assert_eq!(press(&mut s, "x"), vec![Effect::Quit]);
}

#[tokio::test]
async fn click_selects_the_row_under_the_pointer() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut s = state(demo_result().await, (100, 30));
    s.focus = crate::tui::state::Focus::Detail;
    let buf = render(&s);
    let Some((x, y)) = find(&buf, "> pg-src-2") else {
        panic!("pg-src-2 not on screen:\n{}", text(&buf));
    };
    let click = MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x + 2,
        row: y,
        modifiers: KeyModifiers::NONE,
    };
    let Some(action) = crate::tui::mouse::map_mouse(click, &s) else {
        panic!("no action for a click on a row");
    };
    update(&mut s, action);
    let buf = render(&s);
    let screen = text(&buf);
    assert!(screen.contains("> Fleet"), "the tree is focused: {screen}");
    assert!(screen.contains("Detail: pg-src-2"), "{screen}");
    assert_ne!(
        buf[(x + 2, y)].style(),
        buf[(x + 2, y + 1)].style(),
        "the row is highlighted"
    );
}

/// The demo fleet with Consul's latest read failed (kept data from 125 s ago) and fixed
/// read times for the others.
pub(super) async fn demo_with_stale_consul(
    t0: std::time::SystemTime,
    error: &str,
    location: &str,
) -> CheckResult {
    use crate::fleet::Fleet;
    use crate::observation::SourceKind;
    use std::time::Duration;
    let mut outputs = match crate::tui::demo_data::demo_outputs().await {
        Ok(o) => o,
        Err(e) => panic!("demo fleet: {e:#}"),
    };
    for out in &mut outputs {
        let r = &mut out.report;
        match r.kind {
            SourceKind::Consul => {
                r.read_at = Some(t0);
                r.stale = true;
                r.location = location.to_string();
                r.error(error);
            }
            SourceKind::Targets => r.read_at = Some(t0 + Duration::from_secs(120)),
            _ => r.read_at = Some(t0 + Duration::from_secs(125)),
        }
    }
    CheckResult::new(Fleet::build(outputs), Vec::new())
}

#[tokio::test]
async fn stale_source_shows_its_age_and_error() {
    use std::time::Duration;
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let result = demo_with_stale_consul(
        t0,
        "GET http://consul.demo/v1/catalog/services: connection refused",
        "http://consul.demo",
    )
    .await;
    let mut s = state(result, (100, 30));
    let before = text(&render(&s));
    assert!(
        before.contains("consul STALE: GET"),
        "no age before the first tick: {before}"
    );
    update(&mut s, Action::Tick(t0 + Duration::from_secs(125)));
    let buf = render(&s);
    let screen = text(&buf);
    let Some((x, y)) = find(&buf, "consul STALE 2m: GET http") else {
        panic!("no stale marker in\n{screen}");
    };
    assert_eq!(
        buf[(x + 7, y)].fg,
        Color::Yellow,
        "stale is a warning, not an error"
    );
    assert!(screen.contains("targets ok 5s"), "{screen}");
    assert!(screen.contains("inventory ok 0s"), "{screen}");
    assert!(
        screen.contains("pg-meta-1"),
        "stale data is still shown: {screen}"
    );
    insta::assert_snapshot!("stale_source_100x30", screen);
}

#[tokio::test]
async fn the_token_never_reaches_a_frame() {
    use std::time::Duration;
    const TOKEN: &str = "7f3c9b2e-5d4a-4e1b-9c8d-0a1b2c3d4e5f";
    let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let error = format!(
        "GET http://ops:{TOKEN}@consul.demo/v1/health/service/pg?token={TOKEN}: 403 \
         (proxy echoed X-Consul-Token: {TOKEN})"
    );
    let location = format!("http://ops:{TOKEN}@consul.demo:8500/?token={TOKEN}");
    for size in [(100, 30), (240, 40), (40, 10)] {
        let result = demo_with_stale_consul(t0, &error, &location).await;
        let mut s = state(result, size);
        update(&mut s, Action::Tick(t0 + Duration::from_secs(3)));
        let mut frames = vec![text(&render(&s))];
        let mut effects = Vec::new();
        // y copy, : command line, ? help, / filter, + expand all, plus a detail view.
        for key in [
            "y", ":", "dc", "\u{1b}", "?", "?", "/", "con", "\u{1b}", "+", "jjl", "\t\t", "y", "r",
        ] {
            effects.extend(press(&mut s, key));
            frames.push(text(&render(&s)));
        }
        for (n, frame) in frames.iter().enumerate() {
            assert!(
                !frame.contains(TOKEN),
                "frame {n} at {size:?} shows the token:\n{frame}"
            );
            assert!(
                !frame.contains("7f3c9b2e"),
                "frame {n} at {size:?} shows part of it:\n{frame}"
            );
        }
        for e in &effects {
            assert!(!format!("{e:?}").contains(TOKEN), "{e:?}");
        }
        if size.0 >= 240 {
            // Proof that the error was on screen, masked, rather than cut off.
            assert!(frames[0].contains("token=***"), "{}", frames[0]);
        }
    }
}

#[tokio::test]
async fn sources_overlay_shows_every_error_in_full() {
    let mut s = state(demo_with_broken_inventory().await, (100, 30));
    let header = text(&render(&s));
    assert!(
        !header.contains("mapping values are not allowed here"),
        "{header}"
    );
    press(&mut s, ":sources\n");
    let screen = text(&render(&s));
    assert!(screen.contains("Sources (Esc closes)"), "{screen}");
    assert!(
        screen.contains("error: /demo/pigsty.yml:3:7: mapping values are not allowed here"),
        "{screen}"
    );
    assert!(screen.contains("consul ok"), "{screen}");
    press(&mut s, "j");
    assert!(s.sources_open, "other keys do nothing while it is open");
    press(&mut s, "\u{1b}");
    assert!(!s.sources_open);
    assert!(!text(&render(&s)).contains("Sources (Esc closes)"));
}

#[tokio::test]
async fn failover_view_shows_who_follows_the_live_primary() {
    let mut s = state(
        crate::tui::demo_data::demo_with_live_switchover()
            .await
            .expect("demo"),
        (120, 35),
    );
    press(&mut s, ":failover pg-web\n");
    let screen = text(&render(&s));
    assert!(screen.contains("Failover check: pg-web"), "{screen}");
    assert!(screen.contains("live primary: pg-web-3"), "{screen}");
    assert!(
        screen.contains("not following — select a member and press r:"),
        "{screen}"
    );
    assert!(
        screen.contains("- consul names pg-web-1 primary, live says pg-web-3"),
        "{screen}"
    );
    assert!(
        screen.contains("- targets names pg-web-1 primary, live says pg-web-3"),
        "{screen}"
    );
    let row = screen.lines().find(|l| l.contains("pg-web-3 ")).unwrap();
    assert!(
        row.contains("primary (postgres)") && row.contains("NO replica"),
        "{row}"
    );
    let row = screen.lines().find(|l| l.contains("pg-web-2 ")).unwrap();
    assert!(row.contains("ok replica") && !row.contains("NO"), "{row}");
    insta::assert_snapshot!("failover_pg_web_120x35", screen);

    // The fix for a member that does not follow is one key away.
    press(&mut s, "jj");
    let effects = press(&mut s, "r");
    assert!(s.failover.is_none());
    match effects.first() {
        Some(Effect::PlanFix { instance, .. }) => {
            assert_eq!(instance.as_deref(), Some("pg-web-3"));
        }
        other => panic!("expected a plan for pg-web-3, got {other:?}"),
    }
}

#[tokio::test]
async fn failover_view_without_live_says_how_to_get_it() {
    let mut s = state(demo_result().await, (120, 35));
    press(&mut s, "f");
    let screen = text(&render(&s));
    assert!(screen.contains("Failover check: pg-meta"), "{screen}");
    assert!(screen.contains("start roster with --live"), "{screen}");
    press(&mut s, "\u{1b}");
    assert!(s.failover.is_none());
}

#[tokio::test]
async fn a_disputed_cluster_row_shows_each_place_s_primary_and_copies_them_all() {
    // pg-web after a switchover nobody followed: live says seq 3, every place seq 1.
    let mut s = state(
        crate::tui::demo_data::demo_with_live_switchover()
            .await
            .expect("demo"),
        (100, 16),
    );
    press(&mut s, "/cluster:pg-web\n");
    let buf = render(&s);
    let screen = text(&buf);
    let row = screen
        .lines()
        .find(|l| l.contains("v pg-web "))
        .unwrap_or_else(|| panic!("no pg-web row in\n{screen}"));
    assert!(
        row.contains("P? pg-web-3 (L) pg-web-1 (CTI)  !E"),
        "the live primary first, then what the places say: {row}"
    );
    let Some((x, y)) = find(&buf, "P? pg-web-3") else {
        panic!("{screen}");
    };
    assert_eq!(buf[(x, y)].fg, Color::Red, "a dispute is an error");
    insta::assert_snapshot!("disputed_cluster_row_100x16", screen);

    let effects = press(&mut s, "y");
    let [Effect::Copy(copied)] = effects.as_slice() else {
        panic!("{effects:?}");
    };
    assert_eq!(
        copied,
        "cluster=pg-web primary=disputed primary(consul)=pg-web-1 primary(targets)=pg-web-1 \
         primary(inventory)=pg-web-1 primary(live)=pg-web-3 follows=no \
         members=pg-web-1,pg-web-2,pg-web-3"
    );
}
