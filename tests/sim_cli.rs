//! `roster sim` as a command: it listens before it writes, so an address in use leaves the
//! files a running simulator serves alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Bounds a wait for the binary; it measures nothing.
const WAIT: Duration = Duration::from_secs(60);

fn sim(home: &std::path::Path, listen: &str, dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.env_clear()
        .env("HOME", home)
        .args(["sim", "--listen", listen, "--write-targets"])
        .arg(dir.join("targets"))
        .arg("--write-inventory")
        .arg(dir.join("pigsty.yml"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

#[tokio::test]
async fn an_address_in_use_fails_before_any_file_is_written() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A target directory that exists (and must stay empty) and an inventory that must not
    // appear.
    std::fs::create_dir(dir.path().join("targets")).unwrap();
    let out = tokio::time::timeout(
        WAIT,
        sim(home.path(), &addr.to_string(), dir.path()).output(),
    )
    .await
    .expect("roster sim exits on an address in use")
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("roster sim: cannot listen on {addr}")),
        "{err}"
    );
    assert!(err.contains("no file written"), "{err}");
    assert!(err.contains("in use"), "the system's reason: {err}");
    let written: Vec<_> = std::fs::read_dir(dir.path().join("targets"))
        .unwrap()
        .collect();
    assert!(written.is_empty(), "{written:?}");
    assert!(!dir.path().join("pigsty.yml").exists());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    drop(busy);
}

#[tokio::test]
async fn a_free_address_is_served_and_the_files_written() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut child = sim(home.path(), &free.to_string(), dir.path())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("roster sim says where it serves")
        .unwrap()
        .unwrap_or_default();
    assert!(
        line.starts_with(&format!("roster sim: Consul API at http://{free}")),
        "{line}"
    );
    assert!(line.contains("target files in"), "{line}");
    let targets: Vec<_> = std::fs::read_dir(dir.path().join("targets"))
        .unwrap()
        .collect();
    assert!(!targets.is_empty());
    assert!(dir.path().join("pigsty.yml").is_file());
    let answer = reqwest::get(format!("http://{free}/v1/catalog/services"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    child.kill().await.unwrap();
}
