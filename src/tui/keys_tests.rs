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
    // Up/Down walk the history, Tab completes.
    assert!(matches!(
        m(KeyCode::Down, &s),
        Some(Action::CommandHistory(1))
    ));
    assert!(matches!(m(KeyCode::Tab, &s), Some(Action::CommandComplete)));
    assert!(m(KeyCode::F(5), &s).is_none());
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
fn overrides_replace_the_default_keys() {
    let km = match Keymap::from_table(&table(
        r#"quit = "x"
filter = "f"
failover = "V"
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

fn sized(size: (u16, u16)) -> State {
    State::new(
        small(),
        Options {
            size,
            ..Options::default()
        },
    )
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
fn u_undoes_in_the_events_pane_and_is_rebindable() {
    let mut s = state();
    assert!(matches!(
        map(key(KeyCode::Char('u')), &s),
        Some(Action::Undo)
    ));
    // Ctrl-U still pages up.
    assert!(matches!(map(ctrl('u'), &s), Some(Action::PageUp)));
    s.events_view = Some(Default::default());
    assert!(matches!(
        map(key(KeyCode::Char('u')), &s),
        Some(Action::Undo)
    ));
    s.keymap = Keymap::from_table(&table(r#"undo = "U""#)).unwrap_or_default();
    assert!(map(key(KeyCode::Char('u')), &s).is_none());
    assert!(matches!(
        map(key(KeyCode::Char('U')), &s),
        Some(Action::Undo)
    ));
}
