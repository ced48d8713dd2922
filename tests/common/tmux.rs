//! A private tmux server for end-to-end tests of the real binary: keys go in with
//! `send-keys`, the screen comes back with `capture-pane`.

use roster::demo::Demo;
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long to wait for the screen to show something before failing. Generous: a debug
/// build on a loaded 2-core machine; this bounds the wait, it does not measure anything.
pub const WAIT: Duration = Duration::from_secs(30);
pub const POLL: Duration = Duration::from_millis(50);
pub const SESSION: &str = "e2e";

static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// Skips loudly, or fails when external programs are required.
pub fn skip_or_panic(why: &str) {
    let msg = format!("SKIPPED: {why}");
    if std::env::var("ROSTER_REQUIRE_EXTERNAL").as_deref() == Ok("1") {
        panic!("{msg}");
    }
    eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
}

/// True when tmux runs here.
pub fn tmux_available() -> bool {
    std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Quotes a word for `sh`.
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A private tmux server (its own socket) running one shell; killed on drop, so a failing
/// test does not leave the binary running.
pub struct Tmux {
    socket: String,
    /// The socket file, removed on drop (tmux leaves it behind after `kill-server`).
    socket_path: Option<std::path::PathBuf>,
    // Held so HOME exists for as long as the shell does.
    _home: tempfile::TempDir,
}

impl Tmux {
    /// Starts a 120x35 session whose shell has a clean environment.
    pub async fn start() -> Tmux {
        let n = SERVERS.fetch_add(1, Ordering::SeqCst);
        let socket = format!("roster-e2e-{}-{n}", std::process::id());
        let home = match tempfile::Builder::new()
            .prefix("roster-e2e-home-")
            .tempdir()
        {
            Ok(d) => d,
            Err(e) => panic!("temporary HOME: {e}"),
        };
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        let shell = format!(
            "env -i PATH={} HOME={} TERM=xterm-256color PS1='e2e$ ' sh",
            quote(&path),
            quote(&home.path().display().to_string())
        );
        let mut tmux = Tmux {
            socket,
            socket_path: None,
            _home: home,
        };
        let out = tmux
            .run(&[
                "new-session",
                "-d",
                "-s",
                SESSION,
                "-x",
                "120",
                "-y",
                "35",
                &shell,
            ])
            .await;
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let socket_path = tmux.pane("socket_path").await;
        if !socket_path.is_empty() {
            tmux.socket_path = Some(socket_path.into());
        }
        tmux
    }

    pub async fn run(&self, args: &[&str]) -> Output {
        // `-f /dev/null`: the user's tmux.conf must not change keys or sizes.
        match tokio::process::Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .await
        {
            Ok(o) => o,
            Err(e) => panic!("running tmux {args:?}: {e}"),
        }
    }

    /// Types text as it is (no key names).
    pub async fn type_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", SESSION, "-l", text]).await;
        assert!(out.status.success(), "send-keys -l {text:?}");
    }

    /// Sends one named key (`Escape`, `Enter`) or character.
    pub async fn key(&self, key: &str) {
        let out = self.run(&["send-keys", "-t", SESSION, key]).await;
        assert!(out.status.success(), "send-keys {key:?}");
    }

    pub async fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]).await;
        assert!(out.status.success(), "capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A pane variable such as `alternate_on` or `pane_current_command`.
    pub async fn pane(&self, var: &str) -> String {
        let fmt = format!("#{{{var}}}");
        let out = self
            .run(&["display-message", "-p", "-t", SESSION, &fmt])
            .await;
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Polls the screen until `ok` holds for it and two captures in a row agree (so a
    /// frame caught half drawn is never judged), failing with the last screen after
    /// `within`.
    pub async fn wait_for(
        &self,
        what: &str,
        within: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        let mut previous = String::new();
        loop {
            let screen = self.screen().await;
            if screen == previous && ok(&screen) {
                return screen;
            }
            if Instant::now() >= deadline {
                panic!("screen never showed {what} (waited {within:?}); last screen:\n{screen}");
            }
            previous = screen;
            tokio::time::sleep(POLL).await;
        }
    }

    /// Starts the binary from the shell prompt against the demo's sources.
    pub async fn launch(&self, demo: &Demo) {
        self.launch_with(demo, "").await;
    }

    /// Starts the binary with `env` (e.g. `VAR=1 `) in front of the command.
    pub async fn launch_with(&self, demo: &Demo, env: &str) {
        self.wait_for("the shell prompt", WAIT, |s| s.contains("e2e$"))
            .await;
        let line = format!(
            "{env}{}; echo roster-''exit=$?",
            super::DemoArgs::ui(demo).shell_line()
        );
        self.type_text(&line).await;
        self.key("Enter").await;
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
        if let Some(p) = &self.socket_path {
            let _ = std::fs::remove_file(p);
        }
    }
}
