//! The real binary in a real terminal (tmux) against a simulator started by the test:
//! keys go in with `send-keys`, the screen comes back with `capture-pane`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::demo_screen::{loaded, role_letters, start_demo};
use common::tmux::{Tmux, WAIT, skip_or_panic, tmux_available};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_drive_the_real_binary_and_quit_restores_the_shell() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let tmux = Tmux::start().await;
    tmux.launch(&demo).await;

    let first = tmux.wait_for("the fleet", WAIT, loaded).await;
    assert!(first.contains("consul ok"), "{first}");
    assert!(first.contains("inventory ok"), "{first}");
    // It opens on the drift, not on a clean cluster.
    assert!(!first.contains("no drift here"), "{first}");
    assert!(first.contains("Findings: pg-new-1"), "{first}");
    assert_eq!(
        tmux.pane("alternate_on").await,
        "1",
        "the UI uses the alternate screen"
    );

    tmux.key("g").await;
    tmux.wait_for("the first row", WAIT, |s| {
        s.contains("Findings: pg-meta (0)")
    })
    .await;
    tmux.key("j").await;
    tmux.wait_for("pg-meta-1 selected", WAIT, |s| {
        s.contains("Findings: pg-meta-1")
    })
    .await;

    tmux.key("l").await;
    let expanded = tmux
        .wait_for("pg-meta-1 expanded", WAIT, |s| {
            s.contains("v pg-meta-1") && s.contains("pg-meta.yml:")
        })
        .await;
    assert!(expanded.contains("Detail: pg-meta-1"), "{expanded}");
    assert!(expanded.contains("pg-orders-2"), "{expanded}");

    tmux.type_text("/role:primary").await;
    let filtered = tmux
        .wait_for("the role:primary filter applied", WAIT, |s| {
            s.contains("/role:primary_") && !s.contains("pg-orders-2")
        })
        .await;
    // pg-test-2 is primary in Consul only; a primary anywhere matches.
    assert!(filtered.contains("pg-test-2"), "{filtered}");
    assert!(!filtered.contains("pg-test-3"), "{filtered}");

    tmux.key("Escape").await;
    tmux.wait_for("the filter cleared", WAIT, |s| {
        !s.contains("role:primary") && s.contains("pg-orders-2") && s.contains("? help")
    })
    .await;

    tmux.key("d").await;
    let drift = tmux
        .wait_for("the drift-only view", WAIT, |s| s.contains("drift only"))
        .await;
    assert!(
        role_letters(&drift, "pg-meta-1").is_none(),
        "pg-meta-1 has no drift:\n{drift}"
    );
    assert!(
        role_letters(&drift, "pg-orders-2").is_none(),
        "pg-orders-2 has no drift:\n{drift}"
    );
    assert_eq!(
        role_letters(&drift, "pg-orders-5").as_deref(),
        Some("R--"),
        "{drift}"
    );
    assert_eq!(
        role_letters(&drift, "pg-test-1").as_deref(),
        Some("RPP"),
        "{drift}"
    );

    tmux.key("?").await;
    let help = tmux
        .wait_for("the help overlay", WAIT, |s| {
            s.contains("Keys (? or Esc closes)")
        })
        .await;
    assert!(help.contains("drift-only view"), "{help}");
    tmux.key("?").await;
    tmux.wait_for("the help closed", WAIT, |s| {
        !s.contains("Keys (? or Esc closes)") && s.contains("drift only")
    })
    .await;

    tmux.key("q").await;
    let shell = tmux
        .wait_for("the shell after quitting", WAIT, |s| {
            s.contains("roster-exit=")
        })
        .await;
    assert!(shell.contains("roster-exit=0"), "{shell}");
    assert!(
        !shell.contains("Fleet ("),
        "UI left on the screen:\n{shell}"
    );
    assert!(
        shell
            .lines()
            .any(|l| l.starts_with("e2e$") && l.contains("--consul")),
        "the shell's own screen (the command line) is back:\n{shell}"
    );
    assert_eq!(
        tmux.pane("alternate_on").await,
        "0",
        "alternate screen left on"
    );
    assert_eq!(tmux.pane("pane_current_command").await, "sh");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_update_through_blocking_query() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let tmux = Tmux::start().await;
    tmux.launch(&demo).await;
    let before = tmux
        .wait_for("pg-test-1 as Consul replica", WAIT, |s| {
            loaded(s) && role_letters(s, "pg-test-1").as_deref() == Some("RPP")
        })
        .await;
    assert!(before.contains("E:6"), "{before}");

    // Promote pg-test-1's postgres registration the way pg-register would, with no key
    // pressed: only a watch on Consul can bring this to the screen.
    let catalog = demo.server().catalog();
    let Some(mut def) = catalog.service("pg-test-1", "postgres") else {
        panic!("no postgres service on pg-test-1");
    };
    let promote = |v: &mut String| {
        if v == "replica" {
            *v = "primary".into();
        } else if v == "pg-test-replica" {
            *v = "pg-test-primary".into();
        }
    };
    def.tags.iter_mut().for_each(promote);
    def.meta.values_mut().for_each(promote);
    assert_eq!(def.meta.get("role").map(String::as_str), Some("primary"));
    // Keep the checks: only the identity changes.
    if let Err(e) = catalog.register_service_with("pg-test-1", def, false) {
        panic!("re-registering postgres on pg-test-1: {e}");
    }

    // Under the 15 s periodic re-read, so only a blocking query can make this in time.
    let after = tmux
        .wait_for(
            "pg-test-1's Consul role letter change",
            Duration::from_secs(10),
            |s| role_letters(s, "pg-test-1").is_some_and(|l| !l.starts_with('R')),
        )
        .await;
    let letters = role_letters(&after, "pg-test-1").unwrap_or_default();
    assert!(
        letters.starts_with('!') || letters.starts_with('P'),
        "{letters}:\n{after}"
    );
    tmux.key("q").await;
    tmux.wait_for("the shell after quitting", WAIT, |s| {
        s.contains("roster-exit=0")
    })
    .await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_restores_the_terminal_and_shows_its_message() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let tmux = Tmux::start().await;
    tmux.launch_with(&demo, "ROSTER_DEBUG_PANIC=1 ").await;
    let shell = tmux
        .wait_for("the shell after the panic", WAIT, |s| {
            s.contains("roster-exit=")
        })
        .await;
    assert!(shell.contains("roster-exit=101"), "{shell}");
    // Whole and in order: nothing printed afterwards may land on top of the message.
    let message = shell
        .lines()
        .position(|l| l.contains("ROSTER_DEBUG_PANIC: a deliberate panic"));
    let exit = shell.lines().position(|l| l.starts_with("roster-exit=101"));
    assert!(
        matches!((message, exit), (Some(m), Some(e)) if m < e),
        "the message is readable, above the exit line:\n{shell}"
    );
    assert_eq!(
        tmux.pane("alternate_on").await,
        "0",
        "alternate screen left on"
    );
    // Raw mode would leave the shell without line editing: canonical mode must be back.
    tmux.type_text("stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon | sed 's/^/mode=/'")
        .await;
    tmux.key("Enter").await;
    let after = tmux
        .wait_for("the terminal mode", WAIT, |s| s.contains("mode="))
        .await;
    assert!(after.contains("mode=icanon"), "{after}");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r_plans_confirms_applies_and_the_finding_disappears() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let tmux = Tmux::start().await;
    tmux.launch(&demo).await;
    tmux.wait_for("the fleet", WAIT, loaded).await;
    tmux.type_text("/pg-test-1").await;
    tmux.key("Enter").await;
    tmux.key("j").await;
    let before = tmux
        .wait_for("pg-test-1 selected", WAIT, |s| {
            s.contains("Findings: pg-test-1")
        })
        .await;
    assert_eq!(
        role_letters(&before, "pg-test-1").as_deref(),
        Some("RPP"),
        "{before}"
    );

    tmux.key("r").await;
    let dialog = tmux
        .wait_for("the plan", WAIT, |s| s.contains("Apply 1 write"))
        .await;
    assert!(
        dialog.contains("make targets agree with consul"),
        "{dialog}"
    );
    assert!(dialog.contains("role: replica, svc:"), "{dialog}");
    // Enter on the default button cancels and writes nothing.
    tmux.key("Enter").await;
    tmux.wait_for("the dialog closed", WAIT, |s| !s.contains("Apply 1 write"))
        .await;
    let file = demo.targets_dir().join("pg-test.yml");
    assert!(!demo.targets_dir().join("pg-test.yml.bak").exists());

    tmux.key("r").await;
    tmux.wait_for("the plan again", WAIT, |s| s.contains("Apply 1 write"))
        .await;
    tmux.key("Tab").await;
    tmux.key("Enter").await;
    let done = tmux
        .wait_for("the finding resolved", WAIT, |s| {
            // The plan moved the whole failover: both members' findings went.
            s.contains("pg-test-1: resolved role-mismatch pg-test-1 (error), role-mismatch pg-test-2 (error)")
        })
        .await;
    assert_eq!(
        role_letters(&done, "pg-test-1").as_deref(),
        Some("RRP"),
        "{done}"
    );
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        text.contains("ins: pg-test-1, ip: 127.10.10.11, role: replica"),
        "{text}"
    );
    tmux.key("Escape").await;
    // Esc and q sent together read as Alt-q: wait for the dialog to close first.
    tmux.wait_for("the dialog closed", WAIT, |s| {
        !s.contains("make targets agree with")
    })
    .await;
    tmux.key("q").await;
    tmux.wait_for("the shell", WAIT, |s| s.contains("roster-exit=0"))
        .await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn n_walks_the_drift_and_events_record_a_live_change() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let tmux = Tmux::start().await;
    tmux.launch(&demo).await;
    let first = tmux.wait_for("the fleet", WAIT, loaded).await;
    assert!(first.contains("10 of 25 instances drifting"), "{first}");
    assert!(first.contains("Findings: pg-new-1"), "{first}");
    tmux.key("n").await;
    tmux.wait_for("n to pg-new-2", WAIT, |s| s.contains("Findings: pg-new-2"))
        .await;
    tmux.key("N").await;
    tmux.key("N").await;
    tmux.wait_for("N wrapping to the last", WAIT, |s| {
        s.contains("Findings: pg-test-2")
    })
    .await;

    // Promote pg-test-1 in Consul with no key pressed; the change reaches the timeline.
    let catalog = demo.server().catalog();
    let Some(mut def) = catalog.service("pg-test-1", "postgres") else {
        panic!("no postgres service on pg-test-1");
    };
    for v in def.meta.values_mut().chain(def.tags.iter_mut()) {
        if v == "replica" {
            *v = "primary".into();
        }
    }
    if let Err(e) = catalog.register_service_with("pg-test-1", def, false) {
        panic!("re-registering postgres on pg-test-1: {e}");
    }
    tmux.key("e").await;
    let events = tmux
        .wait_for("the role change in the events pane", WAIT, |s| {
            s.contains("Events (") && s.contains("consul: pg-test/pg-test-1 role")
        })
        .await;
    assert!(events.contains("UTC"), "{events}");
    tmux.key("y").await;
    tmux.wait_for("the copy message", WAIT, |s| s.contains("copied "))
        .await;
    tmux.key("Escape").await;
    tmux.wait_for("the pane closed", WAIT, |s| !s.contains("Events ("))
        .await;
    tmux.key("q").await;
    tmux.wait_for("the shell after quitting", WAIT, |s| {
        s.contains("roster-exit=0")
    })
    .await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn y_reaches_tmux_with_set_clipboard_on_alone() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let demo = start_demo().await;
    let tmux = Tmux::start().await;
    for setting in [["set-clipboard", "on"], ["allow-passthrough", "off"]] {
        let out = tmux.run(&["set", "-g", setting[0], setting[1]]).await;
        // tmux before 3.3 has no allow-passthrough: nothing to turn off there.
        assert!(out.status.success() || setting[0] == "allow-passthrough");
    }
    // The test's shell starts with a clean environment: say that it runs inside tmux, as
    // tmux says to every pane.
    tmux.launch_with(&demo, "TMUX=/tmp/e2e,1,0 ").await;
    tmux.wait_for("the fleet", WAIT, loaded).await;
    tmux.type_text("/pg-test-1").await;
    tmux.key("Enter").await;
    tmux.key("j").await;
    tmux.wait_for("pg-test-1 selected", WAIT, |s| {
        s.contains("Findings: pg-test-1")
    })
    .await;
    tmux.key("y").await;
    tmux.wait_for("the copy message", WAIT, |s| s.contains("copied: "))
        .await;
    let buffer = tmux.run(&["show-buffer"]).await;
    let text = String::from_utf8_lossy(&buffer.stdout);
    assert!(
        text.starts_with("cluster=pg-test instance=pg-test-1 seq=1"),
        "tmux's buffer: {text:?}"
    );
    tmux.key("q").await;
    tmux.wait_for("the shell", WAIT, |s| s.contains("roster-exit=0"))
        .await;
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_reads_the_keys_of_the_config_file_it_is_given() {
    if !tmux_available() {
        skip_or_panic("tmux not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    // `x` is bound to nothing by default: only the file can make it quit.
    std::fs::write(&config, "[keys]\nquit = \"x\"\n").unwrap();
    let tmux = Tmux::start().await;
    tmux.wait_for("the shell prompt", WAIT, |s| s.contains("e2e$"))
        .await;
    let line = format!(
        "{} demo --config {}; echo roster-''exit=$?",
        common::tmux::quote(env!("CARGO_BIN_EXE_roster")),
        common::tmux::quote(&config.display().to_string())
    );
    tmux.type_text(&line).await;
    tmux.key("Enter").await;
    tmux.wait_for("the demo fleet", WAIT, loaded).await;

    tmux.key("?").await;
    let help = tmux
        .wait_for("the help overlay", WAIT, |s| {
            s.lines().any(|l| l.contains("quit") && l.contains('x'))
        })
        .await;
    assert!(
        !help
            .lines()
            .any(|l| l.contains(" q ") && l.contains("quit")),
        "q still listed for quit:\n{help}"
    );
    tmux.key("?").await;
    tmux.wait_for("the help overlay closed", WAIT, |s| {
        !s.lines().any(|l| l.contains("this help"))
    })
    .await;
    tmux.key("x").await;
    let shell = tmux
        .wait_for("the shell after quitting with x", WAIT, |s| {
            s.contains("roster-exit=")
        })
        .await;
    assert!(shell.contains("roster-exit=0"), "{shell}");
}
