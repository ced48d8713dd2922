//! The audit log: JSON lines (time, user, target, before, after, result), appended, so
//! what roster changed can always be traced and undone.
//!
//! It fails closed: each write is recorded as `started` before it is made, and a write
//! whose record cannot be appended is not made at all; its outcome follows as a second
//! line. Every line passes [`crate::text::json_safe`], so no secret is written into it.

use serde::Serialize;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The `result` of the line written before a write is made.
pub const STARTED: &str = "started";

/// One applied (or attempted) write.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    /// When, in RFC 3339 UTC (`2026-11-30T12:00:00Z`).
    pub time: String,
    /// Who ran roster: the name of [`AuditEntry::uid`] (from /etc/passwd, else `$USER` or
    /// `$LOGNAME`, else the uid itself).
    pub user: String,
    /// The real uid roster ran as.
    pub uid: u32,
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
    /// [`STARTED`], `ok`, or the error.
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
        let uid = process_uids().0;
        AuditEntry {
            time: rfc3339_utc(SystemTime::now()),
            user: user_name(uid, &|k| std::env::var(k).ok()),
            uid,
            destination: destination.to_string(),
            instance: instance.to_string(),
            target,
            before,
            after,
            result,
        }
    }
}

/// `time` as `YYYY-MM-DDTHH:MM:SSZ` (seconds, UTC); times before 1970 read as 1970.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(i64::MAX / 2));
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// The login name of `uid`: /etc/passwd first (it names the uid, whatever the
/// environment says), then `$USER` or `$LOGNAME`, then the uid in digits.
fn user_name(uid: u32, env: &dyn Fn(&str) -> Option<String>) -> String {
    let from_passwd = crate::source::file_text::read_bytes_limited(
        Path::new("/etc/passwd"),
        crate::source::file_text::MAX_FILE_BYTES,
    )
    .ok()
    .and_then(|b| passwd_name(&String::from_utf8_lossy(&b), uid));
    from_passwd
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| uid.to_string())
}

/// The name of `uid` in a passwd file's text (`name:x:uid:gid:...`).
fn passwd_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id = fields.nth(1)?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

/// Where audit entries go.
#[derive(Clone, Debug)]
pub struct Audit {
    path: PathBuf,
}

/// An audit log opened for appending.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
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

    fn failed(&self, reason: impl std::fmt::Display) -> String {
        format!(
            "audit log {} cannot be written: {reason}",
            self.path.display()
        )
    }

    /// Opens the log for appending (created readable by its owner only, with its directory).
    pub fn open(&self) -> Result<AuditLog, String> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| self.failed(format!("{}: {e}", dir.display())))?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(&self.path).map_err(|e| self.failed(e))?;
        Ok(AuditLog {
            path: self.path.clone(),
            file,
        })
    }

    /// Appends one entry (opening the log for it).
    pub fn record(&self, entry: &AuditEntry) -> Result<(), String> {
        self.open()?.append(entry)
    }
}

impl AuditLog {
    /// Appends one entry as a JSON line and syncs it to disk.
    pub fn append(&mut self, entry: &AuditEntry) -> Result<(), String> {
        let failed = |reason: String| {
            format!(
                "audit log {} cannot be written: {reason}",
                self.path.display()
            )
        };
        let json = serde_json::to_string(entry).map_err(|e| failed(e.to_string()))?;
        let mut line = crate::text::json_safe(&json);
        line.push('\n');
        // One write call per line, so concurrent roster processes do not interleave.
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| failed(e.to_string()))
    }
}

/// The process's real and effective uid, as the kernel reports them in
/// `/proc/self/status` (`Uid: real effective saved fs`); `(0, 0)` is never guessed: an
/// unreadable status gives `u32::MAX`, which names nobody.
pub fn process_uids() -> (u32, u32) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let ids: Vec<u32> = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    (
        ids.first().copied().unwrap_or(u32::MAX),
        ids.get(1).copied().unwrap_or(u32::MAX),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(result: &str) -> AuditEntry {
        AuditEntry::now(
            "consul",
            "pg-test-1",
            "agent".into(),
            serde_json::json!({"a": 1}),
            serde_json::json!({"a": 2}),
            result.into(),
        )
    }

    #[test]
    fn appends_json_lines() {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::new(dir.path().join("sub").join("audit.log"));
        for r in ["ok", "403 Permission denied"] {
            audit.record(&entry(r)).unwrap();
        }
        let text = std::fs::read_to_string(audit.path()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1]["result"], "403 Permission denied");
        assert_eq!(lines[0]["after"]["a"], 2);
        assert!(lines[0]["uid"].is_u64() && lines[0]["user"].is_string());
    }

    #[test]
    fn a_log_that_cannot_be_written_says_so() {
        let e = Audit::new("/dev/full".into())
            .record(&entry("ok"))
            .unwrap_err();
        assert!(
            e.starts_with("audit log /dev/full cannot be written: "),
            "{e}"
        );
        let e = Audit::new("/dev/null/x/audit.log".into())
            .open()
            .unwrap_err();
        assert!(e.contains("/dev/null/x"), "{e}");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |secs: u64| rfc3339_utc(UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_868_799), "2000-02-29T23:59:59Z");
        assert_eq!(at(1_796_040_000), "2026-11-30T12:00:00Z");
        assert_eq!(at(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn users_by_uid_then_environment_then_digits() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/usr/sbin/nologin\n";
        assert_eq!(passwd_name(passwd, 65534).as_deref(), Some("nobody"));
        assert_eq!(passwd_name(passwd, 1000), None);
        assert_eq!(passwd_name("broken line\n::x\n", 0), None);
        let env = |k: &str| (k == "LOGNAME").then(|| "dba".to_string());
        assert_eq!(user_name(4_000_000_000, &env), "dba");
        assert_eq!(user_name(4_000_000_000, &|_| None), "4000000000");
    }
}
