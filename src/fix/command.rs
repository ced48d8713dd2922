//! The node command writer: a configured command run for an instance, the way Pigsty
//! repairs a node (`ssh {ip} sudo /pg/bin/pg-register {role}`), without a shell.
//!
//! The template is split into words before any value is put in, and values are limited to
//! characters no shell treats specially, so identity read from Consul or a file cannot
//! become shell syntax here or in a remote shell that `ssh` hands the words to.

use super::consul::{Part, split_placeholders};
use super::error::FixError;
use crate::text::sanitize;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Most bytes kept of each of stdout and stderr; the rest is read and discarded.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// How long to wait for the output pipes after the command ended: a background child that
/// inherited them must not hold roster up.
const PIPE_GRACE: Duration = Duration::from_secs(1);

const PLACEHOLDERS: &str = "{ip}, {node}, {role}, {cluster}, {seq}, {instance}";

/// A placeholder of a command template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Var {
    Ip,
    Node,
    Role,
    Cluster,
    Seq,
    Instance,
}

impl Var {
    fn parse(name: &str) -> Option<Var> {
        Some(match name {
            "ip" => Var::Ip,
            "node" => Var::Node,
            "role" => Var::Role,
            "cluster" => Var::Cluster,
            "seq" => Var::Seq,
            "instance" => Var::Instance,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Var::Ip => "{ip}",
            Var::Node => "{node}",
            Var::Role => "{role}",
            Var::Cluster => "{cluster}",
            Var::Seq => "{seq}",
            Var::Instance => "{instance}",
        }
    }
}

/// The values a command template is filled with for one instance.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommandValues {
    /// The node's address.
    pub ip: Option<String>,
    /// The Consul node name.
    pub node: Option<String>,
    /// The role to register (`primary`, `replica`).
    pub role: Option<String>,
    /// The cluster name.
    pub cluster: Option<String>,
    /// The instance's seq.
    pub seq: Option<u32>,
    /// The instance name.
    pub instance: Option<String>,
}

impl CommandValues {
    fn get(&self, v: Var) -> Option<String> {
        match v {
            Var::Ip => self.ip.clone(),
            Var::Node => self.node.clone(),
            Var::Role => self.role.clone(),
            Var::Cluster => self.cluster.clone(),
            Var::Seq => self.seq.map(|s| s.to_string()),
            Var::Instance => self.instance.clone(),
        }
    }
}

/// A node command template, e.g. `ssh {ip} sudo /pg/bin/pg-register {role}`.
///
/// Words are separated by whitespace; single or double quotes group words and a backslash
/// escapes the next character (outside single quotes). Placeholders are `{ip}`, `{node}`,
/// `{role}`, `{cluster}`, `{seq}` and `{instance}`; braces always denote one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandTemplate(String);

impl CommandTemplate {
    /// Checks a template: it must split into words, name a program and use known placeholders.
    pub fn new(template: impl Into<String>) -> Result<CommandTemplate, FixError> {
        let t = CommandTemplate(template.into());
        t.parse()?;
        Ok(t)
    }

    /// The template as configured.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn bad(&self, reason: impl Into<String>) -> FixError {
        FixError::Template {
            template: self.0.clone(),
            reason: reason.into(),
        }
    }

    fn parse(&self) -> Result<Vec<Vec<Part<Var>>>, FixError> {
        if self.0.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            return Err(self.bad("the command contains control characters"));
        }
        let words = split_words(&self.0).map_err(|e| self.bad(e))?;
        let parsed = words
            .iter()
            .map(|w| split_placeholders(w, Var::parse, PLACEHOLDERS))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.bad(e))?;
        match parsed.first() {
            None => Err(self.bad("the command is empty")),
            // The program itself must be what the operator wrote, never catalog data.
            Some(first) if first.iter().any(|p| matches!(p, Part::Var(_))) => {
                Err(self.bad("the program (first word) cannot be a placeholder"))
            }
            Some(_) => Ok(parsed),
        }
    }

    /// The argv for one instance: each placeholder replaced inside its word.
    pub fn expand(&self, values: &CommandValues) -> Result<Vec<String>, FixError> {
        let mut argv = Vec::new();
        for word in self.parse()? {
            let mut arg = String::new();
            for part in word {
                match part {
                    Part::Lit(l) => arg.push_str(&l),
                    Part::Var(v) => {
                        let value = values.get(v).ok_or_else(|| FixError::BadValue {
                            placeholder: v.name().into(),
                            value: String::new(),
                            reason: "no value is known for this instance".into(),
                        })?;
                        check_value(v, &value)?;
                        arg.push_str(&value);
                    }
                }
            }
            argv.push(arg);
        }
        Ok(argv)
    }
}

/// Splits a command line into words, honouring quotes and backslashes; no expansion.
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return Err("unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => cur.push(c),
                            None => return Err("a backslash ends the command".into()),
                        },
                        Some(c) => cur.push(c),
                        None => return Err("unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return Err("a backslash ends the command".into()),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Ok(words)
}

/// Values come from Consul, files and the inventory; `ssh` joins its words into a line for
/// the remote shell, so only characters no shell gives meaning to are let through.
fn check_value(v: Var, value: &str) -> Result<(), FixError> {
    let refuse = |reason: &str| FixError::BadValue {
        placeholder: v.name().into(),
        value: sanitize(value, 80),
        reason: reason.into(),
    };
    if value.is_empty() {
        return Err(refuse("it is empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(refuse("it contains control characters"));
    }
    if value.starts_with('-') {
        return Err(refuse("it would read as an option"));
    }
    if let Some(c) = value.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, '.' | '_' | ':' | '%' | '@' | '+' | '=' | ',' | '/' | '-'))
    }) {
        return Err(refuse(&format!(
            "{c:?} could be read as shell syntax by a remote shell"
        )));
    }
    Ok(())
}

/// What a command did: how it ended and what it printed (lossy UTF-8, terminal-safe, bounded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    /// The argv that ran.
    pub argv: Vec<String>,
    /// The exit code, when the command exited on its own.
    pub code: Option<i32>,
    /// The signal that ended it, when one did.
    pub signal: Option<i32>,
    /// True when it ran out of time and was killed.
    pub timed_out: bool,
    /// The time limit it ran under.
    pub limit: Duration,
    /// Standard output (at most [`OUTPUT_LIMIT`] bytes of it).
    pub stdout: String,
    /// Standard error (at most [`OUTPUT_LIMIT`] bytes of it).
    pub stderr: String,
    /// True when output was cut at [`OUTPUT_LIMIT`] or not collected after the command ended.
    pub truncated: bool,
}

impl CommandOutcome {
    /// True when the command exited with status 0 in time.
    pub fn success(&self) -> bool {
        !self.timed_out && self.code == Some(0)
    }

    /// How it ended, for messages: `exit status 1`, `killed by signal 9`, `timed out`.
    pub fn status_text(&self) -> String {
        if self.timed_out {
            return format!("timed out after {:.1}s", self.limit.as_secs_f64());
        }
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit status {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "ended without a status".into(),
        }
    }

    /// The outcome as a result: failures and timeouts become [`FixError`]s carrying the
    /// end of the output.
    pub fn into_result(self) -> Result<CommandOutcome, FixError> {
        let program = self.argv.first().cloned().unwrap_or_default();
        let output = self.tail(400);
        if self.timed_out {
            Err(FixError::CommandTimedOut {
                program,
                secs: self.limit.as_secs_f64(),
                output,
            })
        } else if self.success() {
            Ok(self)
        } else {
            Err(FixError::CommandFailed {
                program,
                status: self.status_text(),
                output,
            })
        }
    }

    /// The last `max` characters of stderr, or of stdout when stderr is empty.
    pub fn tail(&self, max: usize) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let text = text.trim();
        let n = text.chars().count();
        if n <= max {
            text.to_string()
        } else {
            let start = text
                .chars()
                .take(n - max)
                .map(char::len_utf8)
                .sum::<usize>();
            format!("…{}", &text[start..])
        }
    }
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    truncated: bool,
}

fn reader<R: AsyncRead + Unpin + Send + 'static>(
    pipe: Option<R>,
) -> (Arc<Mutex<Captured>>, tokio::task::JoinHandle<()>) {
    let buf = Arc::new(Mutex::new(Captured::default()));
    let sink = buf.clone();
    let task = tokio::spawn(async move {
        let Some(mut pipe) = pipe else { return };
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let mut c = sink.lock().unwrap_or_else(|p| p.into_inner());
                    let room = OUTPUT_LIMIT.saturating_sub(c.bytes.len());
                    // Keep draining past the limit so the command never blocks on a full pipe.
                    c.bytes.extend_from_slice(&chunk[..n.min(room)]);
                    if n > room {
                        c.truncated = true;
                    }
                }
            }
        }
    });
    (buf, task)
}

async fn collect(buf: Arc<Mutex<Captured>>, task: tokio::task::JoinHandle<()>) -> (String, bool) {
    let mut task = task;
    let finished = tokio::time::timeout(PIPE_GRACE, &mut task).await.is_ok();
    if !finished {
        task.abort();
    }
    let c = buf.lock().unwrap_or_else(|p| p.into_inner());
    (printable(&c.bytes), c.truncated || !finished)
}

/// Lossy UTF-8 with terminal control characters (escape sequences) neutralised; lines kept.
fn printable(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .map(|c| {
            if c == '\n' || c == '\t' || !c.is_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Sends SIGKILL to every process of a process group.
fn kill_group(pgid: u32) {
    // A negative pid names the group, which is the command's own (it was made its leader
    // at spawn); kill(1) sends the signal without any unsafe code in roster.
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Kills the command's process group if the command is abandoned (roster cancelled, the
/// future dropped) before it ended, as `kill_on_drop` reaches only the command itself.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            kill_group(pgid);
        }
    }
}

/// Runs `argv` directly (no shell) with stdin closed, capturing its output, and kills it
/// when `timeout` runs out. A command that ran is `Ok` whatever its status; see
/// [`CommandOutcome::into_result`].
///
/// The command leads a process group of its own, and a timeout kills the whole group:
/// `ssh` or a script with children of its own must not leave them running.
pub async fn run(argv: &[String], timeout: Duration) -> Result<CommandOutcome, FixError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(FixError::Refused("the command is empty".into()));
    };
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| FixError::CommandSpawn {
            program: program.clone(),
            reason: e.to_string(),
        })?;
    let mut guard = GroupGuard(child.id());
    let (out_buf, out_task) = reader(child.stdout.take());
    let (err_buf, err_task) = reader(child.stderr.take());
    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (status, false),
        Err(_) => {
            if let Some(pgid) = guard.0.take() {
                kill_group(pgid);
            }
            let _ = child.start_kill();
            (child.wait().await, true)
        }
    };
    // Ended on its own: what it started in the background is its business.
    guard.0 = None;
    let status = status.map_err(|e| FixError::CommandSpawn {
        program: program.clone(),
        reason: format!("waiting for it failed: {e}"),
    })?;
    let (stdout, t1) = collect(out_buf, out_task).await;
    let (stderr, t2) = collect(err_buf, err_task).await;
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    Ok(CommandOutcome {
        argv: argv.to_vec(),
        code: status.code(),
        signal,
        timed_out,
        limit: timeout,
        stdout,
        stderr,
        truncated: t1 || t2,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> CommandValues {
        CommandValues {
            ip: Some("10.10.10.11".into()),
            node: Some("pg-test-1".into()),
            role: Some("primary".into()),
            cluster: Some("pg-test".into()),
            seq: Some(1),
            instance: Some("pg-test-1".into()),
        }
    }

    #[test]
    fn expands_inside_words_without_a_shell() {
        let t = CommandTemplate::new("ssh {ip} sudo /pg/bin/pg-register {role}").unwrap();
        assert_eq!(
            t.expand(&values()).unwrap(),
            [
                "ssh",
                "10.10.10.11",
                "sudo",
                "/pg/bin/pg-register",
                "primary"
            ]
        );
        let t = CommandTemplate::new(
            r#"ssh -o "User=dba" {node}.db 'sudo pg-register {role}' --ins={instance} seq\ {seq}"#,
        )
        .unwrap();
        assert_eq!(
            t.expand(&values()).unwrap(),
            [
                "ssh",
                "-o",
                "User=dba",
                "pg-test-1.db",
                "sudo pg-register primary",
                "--ins=pg-test-1",
                "seq 1"
            ]
        );
    }

    #[test]
    fn bad_templates_are_named() {
        for (bad, word) in [
            ("", "empty"),
            ("   ", "empty"),
            ("ssh {host}", "unknown placeholder {host}"),
            ("ssh {ip", "unclosed"),
            ("ssh 'x", "unclosed single quote"),
            ("ssh \"x", "unclosed double quote"),
            ("{node} x", "program"),
            ("ssh\u{1b}x", "control"),
        ] {
            let e = CommandTemplate::new(bad).unwrap_err().to_string();
            assert!(e.contains(word), "{bad:?}: {e}");
        }
    }

    #[test]
    fn values_cannot_inject() {
        let t = CommandTemplate::new("ssh {ip} pg-register {role}").unwrap();
        for evil in [
            "primary; rm -rf /",
            "$(reboot)",
            "`id`",
            "a b",
            "-oProxyCommand=x",
            "x\ny",
            "x\u{1b}[2J",
            "a'b",
            "",
        ] {
            let v = CommandValues {
                role: Some(evil.into()),
                ..values()
            };
            assert!(
                matches!(t.expand(&v), Err(FixError::BadValue { .. })),
                "{evil:?}"
            );
        }
        let v = CommandValues {
            role: None,
            ..values()
        };
        let e = t.expand(&v).unwrap_err().to_string();
        assert!(e.contains("{role}"), "{e}");
        let v = CommandValues {
            ip: Some("fe80::1%eth0".into()),
            ..values()
        };
        assert_eq!(t.expand(&v).unwrap()[1], "fe80::1%eth0");
    }

    #[test]
    fn outcome_texts() {
        let o = CommandOutcome {
            argv: vec!["x".into()],
            code: Some(2),
            signal: None,
            timed_out: false,
            limit: Duration::from_secs(5),
            stdout: "out".into(),
            stderr: "bad thing\n".into(),
            truncated: false,
        };
        assert!(!o.success());
        let e = o.clone().into_result().unwrap_err().to_string();
        assert_eq!(e, "\"x\" failed (exit status 2): bad thing");
        assert_eq!(o.tail(3), "…ing");
        assert_eq!(printable(b"a\x1b[2Jb\n\xff"), "a?[2Jb\n\u{fffd}");
    }
}
