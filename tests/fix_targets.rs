//! The target-file writer on a real filesystem: refusal after a change on disk, backups,
//! restore, and a writer SIGKILLed mid-write leaving either the old or the new file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::fix::targets::{
    TargetEditError, backup_path, digest, edit_group, remove_group, restore_backup, write_file,
};
use roster::sim::{FleetSpec, TargetLayout};
use roster::source::targets::{parse_target_file, read_targets};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Set in the child process of the crash test: the file it rewrites in a loop.
const CHILD_ENV: &str = "ROSTER_FIX_TARGETS_CRASH_CHILD";

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn demo_file(dir: &Path, name: &str) -> PathBuf {
    FleetSpec::demo()
        .write_targets(dir, TargetLayout::PerCluster)
        .expect("demo targets are written");
    let path = dir.join(name);
    assert!(path.exists(), "{} exists", path.display());
    path
}

fn role_change(role: &str) -> BTreeMap<String, Option<String>> {
    BTreeMap::from([
        ("role".to_string(), Some(role.to_string())),
        ("svc".to_string(), Some(format!("pg-test-{role}"))),
    ])
}

#[test]
fn write_refuses_after_the_file_changed_on_disk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = demo_file(dir.path(), "pg-test.yml");
    let original = read(&path);
    let planned = digest(original.as_bytes());
    let new = edit_group(&path, &original, 1, &role_change("primary")).expect("edit");

    // Someone regenerates the file between plan and apply.
    let theirs = format!("{original}# touched by someone else\n");
    fs::write(&path, &theirs).expect("write");
    let err = write_file(&path, &planned, &new).expect_err("must refuse");
    assert!(
        matches!(err, TargetEditError::ChangedOnDisk { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("changed on disk since the plan; re-plan"),
        "{err}"
    );
    assert_eq!(read(&path), theirs, "the file is left as it was");
    assert!(!backup_path(&path).exists(), "no backup of a refused write");

    // Re-planned against the current content, the write goes through.
    let new = edit_group(&path, &theirs, 1, &role_change("primary")).expect("edit");
    write_file(&path, &digest(theirs.as_bytes()), &new).expect("write");
    assert_eq!(read(&path), new);
}

#[test]
fn backup_holds_the_original_and_restore_reverts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = demo_file(dir.path(), "pg-test.yml");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
    let original = read(&path);
    let new = edit_group(&path, &original, 0, &role_change("replica")).expect("edit");
    assert_ne!(new, original);

    let outcome = write_file(&path, &digest(original.as_bytes()), &new).expect("write");
    assert_eq!(outcome.backup, dir.path().join("pg-test.yml.bak"));
    assert_eq!(read(&path), new);
    assert_eq!(read(&outcome.backup), original);
    let mode = |p: &Path| fs::metadata(p).map(|m| m.permissions().mode() & 0o777).ok();
    assert_eq!(mode(&path), Some(0o640), "permissions survive the rename");
    assert_eq!(mode(&outcome.backup), Some(0o640));

    // The source reads the new role from the written file.
    let output = read_targets(&[path.display().to_string()]);
    let roles: Vec<Option<String>> = output
        .observations
        .iter()
        .filter(|o| o.instance.as_deref() == Some("pg-test-1"))
        .map(|o| o.role.as_ref().map(|r| r.raw.clone()))
        .collect();
    assert_eq!(roles, [Some("replica".to_string())]);

    restore_backup(&path).expect("restore");
    assert_eq!(read(&path), original);
    assert_eq!(mode(&path), Some(0o640));

    // A second write replaces the older backup.
    let current = read(&path);
    let again = remove_group(&path, &current, 2).expect("remove");
    write_file(&path, &digest(current.as_bytes()), &again).expect("write");
    assert_eq!(read(&backup_path(&path)), current);
    let leftovers: Vec<String> = fs::read_dir(dir.path())
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("roster-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn restore_without_a_backup_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.yml");
    fs::write(&path, "[]\n").expect("write");
    let err = restore_backup(&path).expect_err("no backup");
    assert!(matches!(err, TargetEditError::NoBackup { .. }), "{err:?}");
    assert_eq!(read(&path), "[]\n");
}

#[test]
fn write_refuses_text_prometheus_would_reject() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("x.yml");
    fs::write(&path, "[]\n").expect("write");
    let err = write_file(&path, &digest(b"[]\n"), "- labels: {bad-name: x}\n").expect_err("bad");
    assert!(matches!(err, TargetEditError::Verify { .. }), "{err:?}");
    assert_eq!(read(&path), "[]\n");
}

/// A target file of a few megabytes, so that a kill lands inside the write often.
fn big_file(tag: &str) -> String {
    let filler = tag.repeat(40_000 / tag.len());
    let mut text = String::from("# big file for the crash test\n");
    for i in 0..60 {
        text.push_str(&format!(
            "#======> pg-big-{i} [replica] @ 10.0.0.{i}\n- labels: {{cls: pg-big, ins: pg-big-{i}, note: {filler}}}\n  targets: [10.0.0.{i}:9630]\n"
        ));
    }
    text
}

/// Child mode of the crash test: flips the file between the two texts until killed.
#[test]
fn crash_child() {
    let Ok(file) = std::env::var(CHILD_ENV) else {
        return;
    };
    let path = PathBuf::from(file);
    let (old, new) = (big_file("old-"), big_file("new-"));
    for _ in 0..500 {
        let current = read(&path);
        let next = if current == old { &new } else { &old };
        write_file(&path, &digest(current.as_bytes()), next).expect("child write");
    }
}

/// What Prometheus' `files: [dir/*.yml, dir/*.yaml, dir/*.json]` would read in `dir`.
fn prometheus_matches(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for ext in ["yml", "yaml", "json", "YML", "YAML", "JSON"] {
        let pattern = format!("{}/*.{ext}", dir.display());
        for entry in glob::glob(&pattern).expect("pattern").flatten() {
            names.push(entry.file_name().map(|n| n.to_string_lossy().into_owned()));
        }
    }
    let mut names: Vec<String> = names.into_iter().flatten().collect();
    names.sort();
    names
}

#[test]
fn crash_mid_write_leaves_the_old_or_the_new_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.yml");
    let (old, new) = (big_file("old-"), big_file("new-"));
    fs::write(&path, &old).expect("write");
    let exe = std::env::current_exe().expect("test binary");
    let (mut saw_old, mut saw_new, mut saw_temp) = (0, 0, 0);
    for round in 0..30u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the child");
        // Kill points spread over start-up and many write cycles.
        std::thread::sleep(Duration::from_millis(
            20 + rand::random_range(0..400) + round,
        ));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");

        let text = read(&path);
        assert!(
            text == old || text == new,
            "round {round}: the file is neither the old nor the new text ({} bytes)",
            text.len()
        );
        if text == old {
            saw_old += 1;
        } else {
            saw_new += 1;
        }
        let groups = parse_target_file(&path, &text).expect("the file parses");
        assert_eq!(groups.len(), 60);
        if let Ok(bak) = fs::read_to_string(backup_path(&path)) {
            assert!(bak == old || bak == new, "round {round}: torn backup");
        }

        // Leftover temporary files must be invisible to Prometheus and to roster.
        assert_eq!(prometheus_matches(dir.path()), ["big.yml"], "round {round}");
        let report = read_targets(&[dir.path().display().to_string()]);
        assert_eq!(
            report.report.facts.get("files").map(String::as_str),
            Some("1")
        );
        for entry in fs::read_dir(dir.path()).expect("read_dir").flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains("roster-tmp") {
                saw_temp += 1;
                fs::remove_file(entry.path()).expect("clean up");
            } else {
                assert!(
                    name == "big.yml" || name == "big.yml.bak",
                    "unexpected {name}"
                );
            }
        }
    }
    println!("crash rounds: old {saw_old}, new {saw_new}, interrupted temp files {saw_temp}");
}
