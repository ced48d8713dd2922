use super::*;
use crate::report::CheckResult;
use crate::tui::state::Options;
use crate::tui::testdata::small;

fn state() -> State {
    State::new(
        CheckResult::new(Default::default(), Vec::new()),
        Options::default(),
    )
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn table(text: &str) -> toml::Table {
    match text.parse::<toml::Table>() {
        Ok(t) => t,
        Err(e) => panic!("test toml: {e}"),
    }
}

#[test]
fn normal_mode_bindings() {
    let s = state();
    let m = |c| map(key(c), &s);
    assert!(matches!(m(KeyCode::Char('j')), Some(Action::MoveDown)));
    assert!(matches!(m(KeyCode::Up), Some(Action::MoveUp)));
    assert!(matches!(m(KeyCode::Char('G')), Some(Action::Bottom)));
    assert!(matches!(m(KeyCode::Char(' ')), Some(Action::Toggle)));
    assert!(matches!(m(KeyCode::Char('/')), Some(Action::StartFilter)));
    assert!(matches!(m(KeyCode::Char('R')), Some(Action::Refresh)));
    assert!(matches!(m(KeyCode::Char('y')), Some(Action::Copy)));
    assert!(matches!(m(KeyCode::Char(':')), Some(Action::StartCommand)));
    assert!(matches!(m(KeyCode::Char('q')), Some(Action::Quit)));
    assert!(matches!(m(KeyCode::BackTab), Some(Action::CycleFocusBack)));
    assert!(m(KeyCode::Esc).is_none(), "Esc with no filter does nothing");
    assert!(m(KeyCode::Char('x')).is_none());
    assert!(matches!(map(ctrl('c'), &s), Some(Action::Quit)));
    assert!(matches!(map(ctrl('d'), &s), Some(Action::PageDown)));
    assert!(matches!(map(ctrl('u'), &s), Some(Action::PageUp)));
    assert!(map(ctrl('j'), &s).is_none(), "Ctrl is not ignored");
    // Terminals send Shift with capitals; the character already says so.
    let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert!(matches!(map(shift_g, &s), Some(Action::Bottom)));
}

#[test]
fn filter_mode_sends_printable_keys_to_the_filter() {
    let mut s = state();
    s.filter_mode = true;
    assert!(matches!(
        map(key(KeyCode::Char('q')), &s),
        Some(Action::FilterInput('q'))
    ));
    assert!(matches!(
        map(key(KeyCode::Char('j')), &s),
        Some(Action::FilterInput('j'))
    ));
    assert!(matches!(
        map(key(KeyCode::Esc), &s),
        Some(Action::ClearFilter)
    ));
    assert!(matches!(
        map(key(KeyCode::Enter), &s),
        Some(Action::ConfirmFilter)
    ));
    assert!(matches!(map(ctrl('c'), &s), Some(Action::Quit)));
}

#[test]
fn command_mode_sends_printable_keys_to_the_command_line() {
    let mut s = state();
    s.command = Some(String::new());
    let m = |c, s: &State| map(key(c), s);
    assert!(matches!(
        m(KeyCode::Char('q'), &s),
        Some(Action::CommandInput('q'))
    ));
    assert!(matches!(
        m(KeyCode::Char(':'), &s),
        Some(Action::CommandInput(':'))
    ));
    assert!(matches!(m(KeyCode::Enter, &s), Some(Action::RunCommand)));
    assert!(matches!(m(KeyCode::Esc, &s), Some(Action::CancelCommand)));
    assert!(matches!(
        m(KeyCode::Backspace, &s),
        Some(Action::CommandBackspace)
    ));
    assert!(m(KeyCode::Down, &s).is_none());
    assert!(matches!(map(ctrl('c'), &s), Some(Action::Quit)));
    // The command line wins over a filter being typed underneath.
    s.filter_mode = true;
    assert!(matches!(m(KeyCode::Esc, &s), Some(Action::CancelCommand)));
}

#[test]
fn help_swallows_other_keys_and_releases_are_ignored() {
    let mut s = state();
    s.help = true;
    assert!(matches!(
        map(key(KeyCode::Char('q')), &s),
        Some(Action::ToggleHelp)
    ));
    assert!(map(key(KeyCode::Char('j')), &s).is_none());
    s.help = false;
    let mut release = key(KeyCode::Char('j'));
    release.kind = KeyEventKind::Release;
    assert!(map(release, &s).is_none());
}

#[test]
fn key_names_parse() {
    let k = |s: &str| Key::parse(s);
    let plain = |code| Key {
        code,
        ctrl: false,
        alt: false,
    };
    assert_eq!(k("x"), Ok(plain(KeyCode::Char('x'))));
    assert_eq!(k("D"), Ok(plain(KeyCode::Char('D'))));
    assert_eq!(k("shift-d"), Ok(plain(KeyCode::Char('D'))));
    assert_eq!(k("-"), Ok(plain(KeyCode::Char('-'))));
    assert_eq!(k("+"), Ok(plain(KeyCode::Char('+'))));
    assert_eq!(k("space"), Ok(plain(KeyCode::Char(' '))));
    assert_eq!(k("PgDn"), Ok(plain(KeyCode::PageDown)));
    assert_eq!(k("shift-tab"), Ok(plain(KeyCode::BackTab)));
    assert_eq!(k("F5"), Ok(plain(KeyCode::F(5))));
    let ctrl_r = Key {
        code: KeyCode::Char('r'),
        ctrl: true,
        alt: false,
    };
    assert_eq!(k("ctrl-r"), Ok(ctrl_r));
    assert_eq!(k("Ctrl+R"), Ok(ctrl_r));
    assert_eq!(ctrl_r.label(), "Ctrl-R");
    for bad in ["", "esc", "ctrl-c", "banana", "f13", "ctrl-", "\u{7}"] {
        assert!(k(bad).is_err(), "{bad:?} should not parse");
    }
}

#[test]
fn default_keymap_binds_every_action() {
    let km = Keymap::default();
    for b in Bind::ALL {
        assert!(!km.keys(b).is_empty(), "{} has no default key", b.name());
        assert_eq!(Bind::from_name(b.name()), Some(b));
    }
    assert_eq!(km.label(Bind::MoveDown), "j / Down");
    assert_eq!(
        km,
        Keymap::from_table(&toml::Table::new()).unwrap_or_default()
    );
}

#[test]
fn overrides_replace_the_default_keys() {
    let km = match Keymap::from_table(&table(
        r#"quit = "x"
filter = "f"
failover = "F"
drift_only = "D"
refresh = ["ctrl-r", "F5"]"#,
    )) {
        Ok(k) => k,
        Err(e) => panic!("{e}"),
    };
    let mut s = state();
    s.keymap = km;
    let m = |e, s: &State| map(e, s);
    assert!(matches!(m(key(KeyCode::Char('x')), &s), Some(Action::Quit)));
    assert!(
        m(key(KeyCode::Char('q')), &s).is_none(),
        "q no longer quits"
    );
    assert!(matches!(
        m(key(KeyCode::Char('f')), &s),
        Some(Action::StartFilter)
    ));
    assert!(m(key(KeyCode::Char('/')), &s).is_none());
    assert!(matches!(
        m(key(KeyCode::Char('D')), &s),
        Some(Action::ToggleDriftOnly)
    ));
    assert!(matches!(m(ctrl('r'), &s), Some(Action::Refresh)));
    assert!(matches!(m(ctrl('R'), &s), Some(Action::Refresh)));
    assert!(matches!(m(key(KeyCode::F(5)), &s), Some(Action::Refresh)));
    assert!(matches!(m(ctrl('c'), &s), Some(Action::Quit)));
    // The help closes with the new quit key too.
    s.help = true;
    assert!(matches!(
        m(key(KeyCode::Char('x')), &s),
        Some(Action::ToggleHelp)
    ));
    let help = s.keymap.help();
    assert!(help.contains(&("x".to_string(), Bind::Quit.describe())));
    assert!(help.contains(&("Ctrl-R / F5".to_string(), Bind::Refresh.describe())));
}

#[test]
fn bad_overrides_name_the_entry() {
    let err = |text: &str| Keymap::from_table(&table(text)).err().unwrap_or_default();
    assert!(err(r#"frobnicate = "x""#).contains("[keys] frobnicate: unknown action"));
    assert!(err(r#"quit = "banana""#).contains("[keys] quit: \"banana\" is not a key name"));
    assert!(err("quit = 3").contains("[keys] quit: expected a key name"));
    assert!(err("quit = [1]").contains("[keys] quit: expected key names"));
    assert!(err("quit = []").contains("[keys] quit: no key given"));
    assert!(err(r#"quit = "esc""#).contains("reserved"));
    // `d` still toggles drift-only: binding it to filter too would be ambiguous.
    let clash = err(r#"filter = "d""#);
    assert!(
        clash.contains("d is also bound to drift_only") || clash.contains("also bound to filter"),
        "{clash}"
    );
    // Moving the other one away resolves it.
    assert!(Keymap::from_table(&table("filter = \"d\"\ndrift_only = \"D\"")).is_ok());
}

fn mouse(kind: MouseEventKind, column: u16, row: u16) -> MouseEvent {
    MouseEvent {
        kind,
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

fn sized(size: (u16, u16)) -> State {
    State::new(
        small(),
        Options {
            size,
            ..Options::default()
        },
    )
}

#[test]
fn click_on_a_tree_row_selects_it() {
    let s = sized((100, 30));
    let left = MouseEventKind::Down(MouseButton::Left);
    // Wide layout: tree at x 0..60 from y 2; border at y 2, column header at y 3, rows from 4.
    assert!(matches!(
        map_mouse(mouse(left, 5, 4), &s),
        Some(Action::ClickRow(0))
    ));
    assert!(matches!(
        map_mouse(mouse(left, 5, 6), &s),
        Some(Action::ClickRow(2))
    ));
    // The column header and the border focus the tree without selecting.
    assert!(matches!(
        map_mouse(mouse(left, 5, 3), &s),
        Some(Action::FocusPane(Focus::Tree))
    ));
    assert!(matches!(
        map_mouse(mouse(left, 0, 6), &s),
        Some(Action::FocusPane(Focus::Tree))
    ));
    // Below the last row (8 rows in this fleet).
    assert!(matches!(
        map_mouse(mouse(left, 5, 20), &s),
        Some(Action::FocusPane(Focus::Tree))
    ));
    // Header and footer are not panes.
    assert!(map_mouse(mouse(left, 5, 0), &s).is_none());
    assert!(map_mouse(mouse(left, 5, 29), &s).is_none());
}

#[test]
fn click_rows_count_from_the_scroll_offset() {
    let mut s = sized((100, 30));
    s.offset = 3;
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(matches!(
        map_mouse(mouse(left, 5, 4), &s),
        Some(Action::ClickRow(3))
    ));
}

#[test]
fn click_on_a_side_pane_focuses_it() {
    let s = sized((100, 30));
    let left = MouseEventKind::Down(MouseButton::Left);
    // Right column from x 60: findings on top, detail below.
    assert!(matches!(
        map_mouse(mouse(left, 70, 5), &s),
        Some(Action::FocusPane(Focus::Findings))
    ));
    assert!(matches!(
        map_mouse(mouse(left, 70, 25), &s),
        Some(Action::FocusPane(Focus::Detail))
    ));
    assert!(map_mouse(mouse(MouseEventKind::Down(MouseButton::Right), 70, 5), &s).is_none());
}

#[test]
fn wheel_scrolls_the_pane_under_the_pointer() {
    let s = sized((100, 30));
    assert!(matches!(
        map_mouse(mouse(MouseEventKind::ScrollDown, 5, 10), &s),
        Some(Action::Scroll(Focus::Tree, WHEEL_STEP))
    ));
    assert!(matches!(
        map_mouse(mouse(MouseEventKind::ScrollUp, 70, 25), &s),
        Some(Action::Scroll(Focus::Detail, d)) if d == -WHEEL_STEP
    ));
}

#[test]
fn mouse_is_ignored_under_help_and_on_tiny_terminals() {
    let mut s = sized((100, 30));
    s.help = true;
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(map_mouse(mouse(left, 5, 4), &s).is_none());
    let tiny = sized((30, 8));
    assert!(map_mouse(mouse(left, 5, 4), &tiny).is_none());
}

#[test]
fn narrow_short_terminals_only_hit_the_visible_pane() {
    // 60x20 shows only the focused pane, across the whole body.
    let mut s = sized((60, 20));
    s.focus = Focus::Findings;
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(matches!(
        map_mouse(mouse(left, 5, 4), &s),
        Some(Action::FocusPane(Focus::Findings))
    ));
}

/// A 100x30 state with the re-registration dialog open on pg-a-1.
fn with_fix_dialog() -> State {
    let mut s = sized((100, 30));
    s.selected = 1;
    crate::tui::update::update(&mut s, Action::FixOpen);
    assert!(s.fix.is_some(), "the dialog did not open");
    s
}

#[test]
fn r_opens_the_fix_dialog_and_the_dialog_owns_the_keys() {
    let s = sized((100, 30));
    assert!(matches!(
        map(key(KeyCode::Char('r')), &s),
        Some(Action::FixOpen)
    ));
    let s = with_fix_dialog();
    let m = |c| map(key(c), &s);
    assert!(matches!(m(KeyCode::Esc), Some(Action::FixClose)));
    assert!(
        matches!(m(KeyCode::Char('q')), Some(Action::FixClose)),
        "q closes rather than quitting"
    );
    for c in [
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Char('h'),
        KeyCode::Char('l'),
    ] {
        assert!(matches!(m(c), Some(Action::FixSwitchButton)), "{c:?}");
    }
    assert!(matches!(
        m(KeyCode::Char('t')),
        Some(Action::FixCycleTarget)
    ));
    assert!(matches!(m(KeyCode::Char('j')), Some(Action::FixScroll(1))));
    assert!(matches!(m(KeyCode::Char('k')), Some(Action::FixScroll(-1))));
    let page = match m(KeyCode::PageDown) {
        Some(Action::FixScroll(n)) => n,
        other => panic!("{other:?}"),
    };
    assert!(page > 1, "a page is more than a line: {page}");
    assert!(matches!(m(KeyCode::PageUp), Some(Action::FixScroll(n)) if n == -page));
    assert!(matches!(m(KeyCode::Enter), Some(Action::FixChoose)));
    assert!(m(KeyCode::Char('r')).is_none());
    assert!(
        m(KeyCode::Char('/')).is_none(),
        "no filter under the dialog"
    );
    assert!(matches!(map(ctrl('c'), &s), Some(Action::Quit)));
}

#[test]
fn mouse_is_ignored_under_the_fix_dialog() {
    let s = with_fix_dialog();
    let left = MouseEventKind::Down(MouseButton::Left);
    assert!(map_mouse(mouse(left, 5, 4), &s).is_none());
    assert!(map_mouse(mouse(MouseEventKind::ScrollDown, 5, 10), &s).is_none());
}
