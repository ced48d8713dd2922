//! Logs go to a file, never to the terminal (the UI owns it), except for a service
//! (`roster serve`), whose stderr is its log; the level comes from `ROSTER_LOG`.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use tracing_subscriber::EnvFilter;

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
        .with_writer(Mutex::new(file))
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

#[cfg(test)]
mod tests {
    use super::*;

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
