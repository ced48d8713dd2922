//! Logs go to a file, never to the terminal (the UI owns it), except for a service
//! (`roster serve`), whose stderr is its log; the level comes from `ROSTER_LOG`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The default log file: `$XDG_STATE_HOME/roster/roster.log` (else `~/.local/state/...`).
pub fn default_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local").join("state")))?;
    Some(base.join("roster").join("roster.log"))
}

/// Sends log records to `path` (created with its directory, appended to).
///
/// Failing to open the log is not worth stopping for: the reason is returned for the
/// caller to mention, and nothing is logged.
pub fn init(path: &Path, env_filter: Option<&str>) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    tracing_subscriber::fmt()
        .with_writer(LogFile(Mutex::new(file)))
        .with_ansi(false)
        .with_env_filter(filter(env_filter))
        .try_init()
        .map_err(|e| e.to_string())
}

/// Sends log records to stderr, for a service whose supervisor (systemd's journal)
/// collects it.
pub fn init_stderr(env_filter: Option<&str>) -> Result<(), String> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_env_filter(filter(env_filter))
        .try_init()
        .map_err(|e| e.to_string())
}

fn filter(env_filter: Option<&str>) -> EnvFilter {
    env_filter
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("roster=info"))
}

/// The log file, written only through [`Scrubbed`].
struct LogFile(Mutex<File>);

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = Scrubbed<MutexGuard<'a, File>>;

    fn make_writer(&'a self) -> Self::Writer {
        Scrubbed(self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A writer that takes each record whole (the formatter writes one record per call),
/// scrubs the secrets out of it and neutralises control characters, so that neither a
/// token echoed by a server nor a forged line break reaches the log.
struct Scrubbed<W>(W);

impl<W> Write for Scrubbed<W>
where
    W: std::ops::DerefMut,
    W::Target: Write,
{
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (record, newline) = match text.strip_suffix('\n') {
            Some(r) => (r, "\n"),
            None => (text.as_ref(), ""),
        };
        let clean = format!("{}{newline}", crate::text::neutralize(record));
        self.0.write_all(clean.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_scrubbed_and_stay_one_line() {
        crate::text::register_secret("log-secret-0c4f");
        let mut out = Vec::new();
        Scrubbed(&mut out)
            .write_all(b"WARN 403 token log-secret-0c4f\r\nINFO forged\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "WARN 403 token ***  INFO forged\n"
        );
    }

    #[test]
    fn state_dir_conventions() {
        let env = |k: &str| match k {
            "HOME" => Some("/home/dba".to_string()),
            _ => None,
        };
        assert_eq!(
            default_path(&env),
            Some(PathBuf::from("/home/dba/.local/state/roster/roster.log"))
        );
        let env = |k: &str| (k == "XDG_STATE_HOME").then(|| "/var/x".to_string());
        assert_eq!(
            default_path(&env),
            Some(PathBuf::from("/var/x/roster/roster.log"))
        );
    }
}
