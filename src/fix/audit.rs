//! The audit log: one JSON line per applied write (time, user, target, before, after,
//! result), appended, so what roster changed can always be traced and undone.

use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// One applied (or attempted) write.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// Who ran roster (`$USER`, else the uid).
    pub user: String,
    /// `consul`, `targets` or `command`.
    pub destination: String,
    /// The instance the write was for.
    pub instance: String,
    /// Where it wrote (agent URL and service, file, command).
    pub target: String,
    /// What was there before.
    pub before: serde_json::Value,
    /// What was written.
    pub after: serde_json::Value,
    /// `ok`, or the error.
    pub result: String,
}

impl AuditEntry {
    /// An entry stamped with the current time and user.
    pub fn now(
        destination: &str,
        instance: &str,
        target: String,
        before: serde_json::Value,
        after: serde_json::Value,
        result: String,
    ) -> AuditEntry {
        AuditEntry {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            user: current_user(),
            destination: destination.to_string(),
            instance: instance.to_string(),
            target,
            before,
            after,
            result,
        }
    }
}

fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(uid)
        .unwrap_or_else(|| "unknown".into())
}

/// The real uid from /proc, for environments without `$USER` (cron, systemd, sudo -i).
fn uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    let uid = line.split_whitespace().nth(1)?;
    Some(format!("uid {uid}"))
}

/// Where audit entries go.
#[derive(Clone, Debug)]
pub struct Audit {
    path: PathBuf,
}

impl Audit {
    /// An audit log at `path`.
    pub fn new(path: PathBuf) -> Audit {
        Audit { path }
    }

    /// The default: `$XDG_STATE_HOME/roster/audit.log` (else `~/.local/state/roster/audit.log`).
    pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        crate::logging::default_path(env).map(|p| p.with_file_name("audit.log"))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as a JSON line (the file is created readable by its owner only).
    pub fn record(&self, entry: &AuditEntry) -> Result<(), String> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options
            .open(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        let mut line = serde_json::to_string(entry).map_err(|e| e.to_string())?;
        line.push('\n');
        // One write call per line, so concurrent roster processes do not interleave.
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_data())
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::new(dir.path().join("sub").join("audit.log"));
        for r in ["ok", "403 Permission denied"] {
            audit
                .record(&AuditEntry::now(
                    "consul",
                    "pg-test-1",
                    "agent".into(),
                    serde_json::json!({"a": 1}),
                    serde_json::json!({"a": 2}),
                    r.into(),
                ))
                .unwrap();
        }
        let text = std::fs::read_to_string(audit.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["result"], "403 Permission denied");
        assert_eq!(lines[0]["after"]["a"], 2);
    }
}
