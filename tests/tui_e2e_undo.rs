//! Undo in the real binary in a real terminal (tmux) against the simulator: a fix applied
//! from the dialog, then `u` on its event in the events pane puts the target file back.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::demo_screen::{loaded, role_letters, start_demo};
use common::tmux::{Tmux, WAIT, skip_or_panic, tmux_available};

/// The events pane's count and the position of the first line containing `what`.
fn event_position(screen: &str, what: &str) -> Option<(usize, usize)> {
    let count = screen
        .split("Events (")
        .nth(1)?
        .split(',')
        .next()?
        .parse()
        .ok()?;
    let lines: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Events ("))
        .skip(1)
        .collect();
    let at = lines.iter().position(|l| l.contains(what))?;
    Some((count, at))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn u_on_the_fix_event_puts_the_target_file_back() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let file = demo.targets_dir().join("pg-test.yml");
    let original = std::fs::read_to_string(&file).unwrap();
    let tmux = Tmux::start().await;
    tmux.launch(&demo).await;
    tmux.wait_for("the fleet", WAIT, loaded).await;
    tmux.type_text("/pg-test-1").await;
    tmux.key("Enter").await;
    tmux.key("j").await;
    tmux.wait_for("pg-test-1 selected", WAIT, |s| {
        s.contains("Findings: pg-test-1")
    })
    .await;

    // The fix: r, Tab to Apply, Enter.
    tmux.key("r").await;
    tmux.wait_for("the plan", WAIT, |s| s.contains("Apply 1 write"))
        .await;
    tmux.key("Tab").await;
    tmux.key("Enter").await;
    let fixed = tmux
        .wait_for("the fix verified", WAIT, |s| {
            s.contains("pg-test-1: resolved role-mismatch")
        })
        .await;
    assert_eq!(
        role_letters(&fixed, "pg-test-1").as_deref(),
        Some("RRP"),
        "{fixed}"
    );
    assert_ne!(std::fs::read_to_string(&file).unwrap(), original);
    tmux.key("Escape").await;
    tmux.wait_for("the dialog closed", WAIT, |s| !s.contains("Re-register"))
        .await;

    // The events pane opens on the latest event; the reads after the fix came later.
    tmux.key("e").await;
    let events = tmux
        .wait_for("the fix in the events pane", WAIT, |s| {
            s.contains("fix applied: pg-test-1 in targets")
        })
        .await;
    let (count, at) = event_position(&events, "fix applied: pg-test-1").expect("the event");
    for _ in at + 1..count {
        tmux.key("k").await;
    }
    tmux.key("u").await;
    let dialog = tmux
        .wait_for("the undo plan", WAIT, |s| {
            s.contains("Undo the fix of pg-test-1 in targets") && s.contains("Apply 1 write")
        })
        .await;
    assert!(
        dialog.contains("undo the fix of pg-test-1 in targets applied at"),
        "{dialog}"
    );
    assert!(dialog.contains("role: primary, svc:"), "{dialog}");
    assert!(
        dialog.contains("resolves: ") && dialog.contains("creates: "),
        "{dialog}"
    );
    // Cancel is first: Enter closes and writes nothing.
    tmux.key("Enter").await;
    tmux.wait_for("the undo cancelled", WAIT, |s| {
        s.contains("cancelled: nothing written for pg-test-1")
    })
    .await;
    assert_ne!(std::fs::read_to_string(&file).unwrap(), original);

    tmux.key("u").await;
    tmux.wait_for("the undo plan again", WAIT, |s| s.contains("Apply 1 write"))
        .await;
    tmux.key("Tab").await;
    tmux.key("Enter").await;
    tmux.wait_for("the undo applied", WAIT, |s| {
        s.contains("written (the original is in")
    })
    .await;
    tmux.key("Escape").await;
    tmux.wait_for("the dialog closed", WAIT, |s| !s.contains("Undo the fix"))
        .await;
    let events = tmux
        .wait_for("the undo in the events pane", WAIT, |s| {
            s.contains("undo applied: pg-test-1 in targets")
        })
        .await;
    assert!(
        events.contains("fix applied: pg-test-1 in targets"),
        "{events}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    tmux.key("Escape").await;
    let back = tmux
        .wait_for("the target file read again", WAIT, |s| {
            !s.contains("Events (") && role_letters(s, "pg-test-1").as_deref() == Some("RPP")
        })
        .await;
    assert!(back.contains("pg-test-1"), "{back}");
    tmux.key("q").await;
    tmux.wait_for("the shell", WAIT, |s| s.contains("roster-exit=0"))
        .await;
    demo.stop().await;
}
