//! Each command's help, read from the real binary: only the flags the command takes, the
//! source flags under their own heading, and `--authority`'s values spelled out.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::{Command, Output};

fn roster(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .output()
        .unwrap()
}

fn help(args: &[&str]) -> String {
    let out = roster(args);
    assert!(
        out.status.success(),
        "roster {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Each long flag of a help text, with the heading it is listed under.
fn flags(help: &str) -> BTreeMap<String, String> {
    let mut heading = String::new();
    let mut out = BTreeMap::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_string();
            continue;
        }
        // Flag lines are indented 2 (with a short flag) or 6; descriptions and value
        // lists further.
        if indent == 0 || indent > 6 || !line.trim_start().starts_with('-') {
            continue;
        }
        let flag = line
            .split_whitespace()
            .find(|w| w.starts_with("--"))
            .map(|w| w.trim_end_matches(',').to_string());
        if let Some(flag) = flag {
            let old = out.insert(flag.clone(), heading.clone());
            assert!(old.is_none(), "{flag} listed twice:\n{help}");
        }
    }
    out
}

const SOURCE_FLAGS: &[&str] = &[
    "--consul",
    "--no-consul",
    "--token-file",
    "--dc",
    "--all-datacenters",
    "--targets",
    "--prometheus-config",
    "--inventory",
    "--config",
    "--timeout",
    "--concurrency",
];
const LIVE_FLAGS: &[&str] = &[
    "--live",
    "--pg-user",
    "--pg-dbname",
    "--pg-sslmode",
    "--pg-sslrootcert",
    "--patroni-port",
];

fn assert_lacks(cmd: &str, listed: &BTreeMap<String, String>, absent: &[&str]) {
    for f in absent {
        assert!(
            !listed.contains_key(*f),
            "`roster {cmd} --help` lists {f}: {listed:#?}"
        );
    }
}

fn assert_sources_under_heading(cmd: &str, listed: &BTreeMap<String, String>) {
    for f in SOURCE_FLAGS {
        assert_eq!(
            listed.get(*f).map(String::as_str),
            Some("Source options"),
            "`roster {cmd}`: {f}"
        );
    }
    for f in LIVE_FLAGS {
        assert_eq!(
            listed.get(*f).map(String::as_str),
            Some("Live role options"),
            "`roster {cmd}`: {f}"
        );
    }
}

#[test]
fn sim_lists_only_the_simulators_flags() {
    for h in ["-h", "--help"] {
        let listed = flags(&help(&["sim", h]));
        for f in [
            "--listen",
            "--write-targets",
            "--write-inventory",
            "--patroni",
        ] {
            assert_eq!(listed.get(f).map(String::as_str), Some("Options"), "{f}");
        }
        assert_lacks("sim", &listed, &["--theme", "--read-only", "--log-file"]);
        assert_lacks("sim", &listed, SOURCE_FLAGS);
        assert_lacks("sim", &listed, LIVE_FLAGS);
    }
}

#[test]
fn check_lists_its_own_flags_and_the_sources_under_their_heading() {
    for h in ["-h", "--help"] {
        let listed = flags(&help(&["check", h]));
        for f in ["--format", "--fail-on", "--cluster", "--wait", "--log-file"] {
            assert_eq!(listed.get(f).map(String::as_str), Some("Options"), "{f}");
        }
        assert_lacks("check", &listed, &["--theme", "--read-only", "--listen"]);
        assert_sources_under_heading("check", &listed);
    }
}

#[test]
fn each_command_that_reads_sources_lists_them_under_the_heading() {
    let root = flags(&help(&["--help"]));
    assert_sources_under_heading("", &root);
    for f in ["--theme", "--read-only", "--log-file"] {
        assert_eq!(root.get(f).map(String::as_str), Some("Options"), "{f}");
    }

    let serve = flags(&help(&["serve", "--help"]));
    assert_sources_under_heading("serve", &serve);
    assert!(serve.contains_key("--listen") && serve.contains_key("--resync"));
    assert_lacks("serve", &serve, &["--theme", "--read-only", "--format"]);

    let fix = flags(&help(&["fix", "--help"]));
    assert_sources_under_heading("fix", &fix);
    assert!(fix.contains_key("--read-only") && fix.contains_key("--to"));
    assert_lacks("fix", &fix, &["--theme", "--listen", "--fail-on"]);

    let demo = flags(&help(&["demo", "--help"]));
    for f in ["--check", "--no-live", "--config", "--theme", "--read-only"] {
        assert!(demo.contains_key(f), "demo lacks {f}: {demo:#?}");
    }
    assert_lacks(
        "demo",
        &demo,
        &["--consul", "--targets", "--inventory", "--listen"],
    );
    assert_lacks("demo", &demo, LIVE_FLAGS);
}

#[test]
fn authority_lists_its_values_with_a_line_each() {
    let long = help(&["fix", "--help"]);
    let at = long.find("--authority <SOURCE>").unwrap();
    let block: String = long[at..].lines().take(12).collect::<Vec<_>>().join("\n");
    for (value, words) in [
        ("live", "--live"),
        ("consul", "Consul"),
        ("targets", "target files"),
        ("inventory", "inventory"),
    ] {
        let line = block
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("- {value}:")))
            .unwrap_or_else(|| panic!("no line for {value}:\n{block}"));
        assert!(line.contains(words), "{line}");
    }
    let short = help(&["fix", "-h"]);
    assert!(
        short.contains("[possible values: live, consul, targets, inventory]"),
        "{short}"
    );

    let out = roster(&["fix", "--to", "targets", "--authority", "prometheus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("prometheus") && err.contains("live, consul, targets, inventory"),
        "{err}"
    );
}

#[test]
fn a_flag_a_command_does_not_take_is_refused() {
    for args in [
        &["sim", "--live"][..],
        &["sim", "--theme", "dark"],
        &["check", "--theme", "dark"],
        &["check", "--listen", "127.0.0.1:1"],
        &["demo", "--consul", "127.0.0.1:8500"],
    ] {
        let out = roster(args);
        assert_eq!(out.status.code(), Some(2), "roster {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("unexpected argument"),
            "roster {args:?}: {err}"
        );
    }
    // Before the command name too, with the command named in the message (a fleet file
    // that does not exist keeps a sim that wrongly starts from serving).
    for (args, name) in [
        (
            &[
                "--live",
                "sim",
                "--listen",
                "127.0.0.1:0",
                "--fleet",
                "/nonexistent.yml",
            ][..],
            "sim",
        ),
        (&["--theme", "dark", "check"], "check"),
        (&["--consul", "127.0.0.1:1", "demo", "--check"], "demo"),
    ] {
        let out = roster(args);
        assert_eq!(out.status.code(), Some(2), "roster {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("`roster {name}` takes no")),
            "roster {args:?}: {err}"
        );
    }
}

#[test]
fn source_flags_before_the_command_name_still_count() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("pigsty.yml");
    std::fs::write(
        &inventory,
        "all:\n  children:\n    pg-a:\n      hosts:\n        10.0.0.1: { pg_seq: 1, pg_role: primary }\n      vars: { pg_cluster: pg-a }\n",
    )
    .unwrap();
    let inv = inventory.to_str().unwrap();
    let after = roster(&["check", "--no-consul", "--inventory", inv, "-f", "json"]);
    let before = roster(&["--no-consul", "--inventory", inv, "check", "-f", "json"]);
    assert_eq!(
        after.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert_eq!(before.status.code(), after.status.code());
    let doc = |o: &Output| -> serde_json::Value { serde_json::from_slice(&o.stdout).unwrap() };
    let (a, b) = (doc(&after), doc(&before));
    assert_eq!(a["sources"], b["sources"]);
    assert_eq!(a["findings"], b["findings"]);
    assert!(
        a["sources"].to_string().contains("inventory"),
        "the inventory was read: {a}"
    );
}
