//! The target-file writer on a real filesystem: refusal after a change on disk, backups,
//! restore, a writer SIGKILLed mid-write leaving either the old or the new file, files
//! owned by someone else, symlinked files, and two operators writing one file at once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::fix::targets::{
    TargetEditError, backup_path, digest, edit_group, remove_group, restore_backup, write_file,
};
use roster::sim::{FleetSpec, TargetLayout};
use roster::source::targets::{parse_target_file, parse_target_groups, read_targets};
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
                    name == "big.yml" || name == "big.yml.bak" || name == ".big.yml.roster.lock",
                    "unexpected {name}"
                );
            }
        }
    }
    println!("crash rounds: old {saw_old}, new {saw_new}, interrupted temp files {saw_temp}");
}

// ---------------------------------------------------------------- files that belong to others

#[test]
fn a_rewrite_keeps_the_owner_group_and_mode_of_the_file_and_its_backup() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = demo_file(dir.path(), "pg-test.yml");
    // Prometheus' own files: prometheus:prometheus 0640 (nobody here, uid/gid 65534).
    if let Err(e) = std::os::unix::fs::chown(&path, Some(65534), Some(65534)) {
        eprintln!(
            "\n!!!!!!!! SKIPPED: chown to 65534 needs root ({e}); ownership cannot be tested !!!!!!!!\n"
        );
        return;
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).expect("chmod");
    let owner = |p: &Path| {
        let m = fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        (m.uid(), m.gid(), m.mode() & 0o7777)
    };
    let original = read(&path);
    let new = edit_group(&path, &original, 0, &role_change("replica")).expect("edit");
    let outcome = write_file(&path, &digest(original.as_bytes()), &new).expect("write");
    assert_eq!(read(&path), new);
    assert_eq!(owner(&path), (65534, 65534, 0o640), "the file");
    assert_eq!(owner(&outcome.backup), (65534, 65534, 0o640), "the .bak");
    restore_backup(&path).expect("restore");
    assert_eq!(read(&path), original);
    assert_eq!(owner(&path), (65534, 65534, 0o640), "after a restore");
}

#[test]
fn a_symlinked_target_file_is_written_through_and_stays_a_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real_dir = dir.path().join("real");
    let link_dir = dir.path().join("links");
    fs::create_dir_all(&real_dir).expect("mkdir");
    fs::create_dir_all(&link_dir).expect("mkdir");
    let real = demo_file(&real_dir, "pg-test.yml");
    let link = link_dir.join("pg-test.yml");
    std::os::unix::fs::symlink("../real/pg-test.yml", &link).expect("symlink");
    let original = read(&link);
    let new = edit_group(&link, &original, 0, &role_change("replica")).expect("edit");
    let outcome = write_file(&link, &digest(original.as_bytes()), &new).expect("write");
    let meta = fs::symlink_metadata(&link).expect("lstat");
    assert!(meta.file_type().is_symlink(), "the link is kept");
    assert_eq!(
        fs::read_link(&link).expect("readlink"),
        PathBuf::from("../real/pg-test.yml")
    );
    assert_eq!(
        read(&real),
        new,
        "written through to the file the link names"
    );
    assert_eq!(outcome.backup, real_dir.join("pg-test.yml.bak"));
    assert_eq!(read(&outcome.backup), original);
    let in_link_dir: Vec<String> = fs::read_dir(&link_dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        in_link_dir,
        ["pg-test.yml"],
        "nothing else next to the link"
    );
}

// ---------------------------------------------------------------- the real binary

/// An inventory that says pg-h-1 is primary and pg-h-2 replica.
const INVENTORY: &str = "all:\n  children:\n    pg-h:\n      vars: { pg_cluster: pg-h }\n      hosts:\n        127.0.0.1: { pg_seq: 1, pg_role: primary }\n        127.0.0.2: { pg_seq: 2, pg_role: replica }\n";

/// Target groups that say the opposite, with a comment between them.
const DRIFTED: &str = "- labels: {cls: pg-h, ins: pg-h-1, ip: 127.0.0.1, role: replica}\n  targets: [127.0.0.1:9630]\n# the second member\n- labels: {cls: pg-h, ins: pg-h-2, ip: 127.0.0.2, role: primary}\n  targets: [127.0.0.2:9630]\n";

/// `roster fix --to targets` believing the inventory, run as its own process.
fn fix_process(dir: &Path, targets: &Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir)
        .args(["fix", "--no-consul", "--targets"])
        .arg(targets)
        .arg("--inventory")
        .arg(dir.join("pigsty.yml"))
        .args(["--to", "targets", "--authority", "inventory", "--audit-log"])
        .arg(dir.join("audit.log"))
        .args(extra)
        .stdin(Stdio::null());
    cmd
}

fn role_in_file(path: &Path, instance: &str) -> Option<String> {
    let text = read(path);
    let groups = parse_target_groups(path, &text).expect("the file parses");
    groups
        .iter()
        .find(|g| g.labels.get("ins").map(String::as_str) == Some(instance))
        .and_then(|g| g.labels.get("role").cloned())
}

#[test]
fn the_plan_names_the_file_a_symlink_points_to_and_the_fix_keeps_the_link() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("pigsty.yml"), INVENTORY).expect("inventory");
    let real_dir = dir.path().join("real");
    let link_dir = dir.path().join("targets");
    fs::create_dir_all(&real_dir).expect("mkdir");
    fs::create_dir_all(&link_dir).expect("mkdir");
    let real = real_dir.join("pg-h.yml");
    fs::write(&real, DRIFTED).expect("targets");
    let link = link_dir.join("pg-h.yml");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let canonical = fs::canonicalize(&real).expect("canonical");

    let out = fix_process(
        dir.path(),
        &link_dir,
        &["--instance", "pg-h-1", "--dry-run"],
    )
    .output()
    .expect("roster runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("1. file {}", canonical.display())),
        "the plan names the real file:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = fix_process(dir.path(), &link_dir, &["--instance", "pg-h-1", "--yes"])
        .output()
        .expect("roster runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ok   file"), "{text}");
    assert!(
        fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(role_in_file(&real, "pg-h-1").as_deref(), Some("primary"));
}

#[test]
fn two_operators_fixing_one_file_at_once_never_lose_a_write_that_said_ok() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("pigsty.yml"), INVENTORY).expect("inventory");
    let targets = dir.path().join("targets");
    fs::create_dir_all(&targets).expect("mkdir");
    let file = targets.join("pg-h.yml");
    let (mut both, mut refused) = (0, 0);
    for round in 0..20 {
        fs::write(&file, DRIFTED).expect("reset the file");
        let _ = fs::remove_file(backup_path(&file));
        let spawn = |instance: &str| {
            fix_process(dir.path(), &targets, &["--instance", instance, "--yes"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("roster runs")
        };
        let (a, b) = (spawn("pg-h-1"), spawn("pg-h-2"));
        let runs = [
            ("pg-h-1", "primary", a.wait_with_output().expect("wait")),
            ("pg-h-2", "replica", b.wait_with_output().expect("wait")),
        ];
        let mut failed = 0;
        for (instance, want, out) in &runs {
            let text = String::from_utf8_lossy(&out.stdout);
            let said_ok = text.lines().any(|l| l.starts_with("ok   file"));
            let in_file = role_in_file(&file, instance).as_deref() == Some(*want);
            if said_ok {
                assert!(
                    in_file,
                    "round {round}: the fix of {instance} said ok but the file lacks it:\n{text}\n{}",
                    read(&file)
                );
            } else {
                failed += 1;
                assert!(
                    text.contains("changed on disk since the plan"),
                    "round {round}: {instance} failed for another reason:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                assert!(
                    !in_file,
                    "round {round}: {instance} failed yet its change is in"
                );
            }
        }
        assert!(failed <= 1, "round {round}: both runs failed");
        if failed == 0 {
            both += 1;
        } else {
            refused += 1;
        }
    }
    println!("concurrent rounds: both written {both}, one refused {refused}");
}

#[test]
fn the_plan_warns_when_the_owner_of_a_file_cannot_be_kept() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let in_dir = |name: &str| dir.path().join(name);
    fs::write(in_dir("pigsty.yml"), INVENTORY).expect("inventory");
    let targets = in_dir("targets");
    fs::create_dir_all(&targets).expect("mkdir");
    let file = targets.join("pg-h.yml");
    fs::write(&file, DRIFTED).expect("targets");
    let owner = fs::metadata(&file).expect("stat").uid();
    if owner != 0 || Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!(
            "\n!!!!!!!! SKIPPED: needs root and setpriv to run roster as another user !!!!!!!!\n"
        );
        return;
    }
    for p in [dir.path(), targets.as_path()] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let as_nobody = |extra: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_roster"))
            .env_clear()
            .env("HOME", dir.path())
            .args(["fix", "--no-consul", "--targets"])
            .arg(&targets)
            .arg("--inventory")
            .arg(in_dir("pigsty.yml"))
            .args([
                "--to",
                "targets",
                "--authority",
                "inventory",
                "--instance",
                "pg-h-1",
            ])
            .args(extra);
        cmd.output().expect("roster runs")
    };
    let out = as_nobody(&["--dry-run"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1. file"),
        "a plan:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.lines().any(|l| l.contains("warning:")
            && l.contains(&file.display().to_string())
            && l.contains("uid 0")
            && l.contains("uid 65534")),
        "{text}"
    );
    // As its owner, no such warning.
    let out = fix_process(dir.path(), &targets, &["--instance", "pg-h-1", "--dry-run"])
        .output()
        .expect("roster runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("1. file"), "{text}");
    assert!(!text.contains("uid 65534"), "{text}");
}
