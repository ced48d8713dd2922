//! Prometheus' own configuration (`prometheus.yml`), read for one thing: the files its
//! PostgreSQL scrape job discovers targets from.
//!
//! Pigsty names that job `pg` (0.x, `targets/*.yml`) or `pgsql` (1.x and later,
//! `targets/pgsql/*.yml`). Only `scrape_configs[].job_name` and
//! `scrape_configs[].file_sd_configs[].files` are read, under the same size, depth and
//! alias limits as every other file; everything else is skipped unread. Relative
//! patterns are resolved against the configuration file's directory, as Prometheus
//! resolves them.

use crate::source::file_error::{FileError, FileKind};
use crate::source::file_text;
use serde::Deserialize;
use std::fs;
use std::path::{Component, Path, PathBuf};

/// Where Pigsty's Prometheus keeps its configuration, read when nothing else is named.
pub const DEFAULT_PROMETHEUS_CONFIG: &str = "/etc/prometheus/prometheus.yml";

/// The job names Pigsty gives its PostgreSQL scrape job across releases.
pub const POSTGRES_JOBS: [&str; 2] = ["pg", "pgsql"];

/// Deepest YAML nesting read; Prometheus configurations need about 8.
const MAX_CONFIG_DEPTH: usize = 32;

#[derive(Debug, Default, Deserialize)]
struct Config {
    #[serde(default)]
    scrape_configs: Option<Vec<ScrapeConfig>>,
    #[serde(default)]
    scrape_config_files: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct ScrapeConfig {
    #[serde(default)]
    job_name: Option<String>,
    #[serde(default)]
    file_sd_configs: Option<Vec<FileSdConfig>>,
}

#[derive(Debug, Deserialize)]
struct FileSdConfig {
    #[serde(default)]
    files: Option<Vec<String>>,
}

/// The PostgreSQL scrape jobs of one `prometheus.yml` and the files they read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresJobs {
    /// The configuration file.
    pub config: PathBuf,
    /// The job names found (`pg`, `pgsql`), in file order.
    pub jobs: Vec<String>,
    /// Their `file_sd_configs` patterns in file order, relative ones resolved against
    /// the configuration file's directory.
    pub patterns: Vec<String>,
}

/// Why a `prometheus.yml` names no PostgreSQL target files; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusConfigError {
    /// Missing, unreadable, too large or not YAML of the expected shape.
    #[error(transparent)]
    File(#[from] FileError),
    /// No scrape job is named `pg` or `pgsql`.
    #[error("{}: no scrape job named pg or pgsql (Pigsty's PostgreSQL job){}", path.display(),
        if *includes { "; scrape_config_files are not read" } else { "" })]
    NoJob {
        /// The configuration file.
        path: PathBuf,
        /// True when the file includes others through `scrape_config_files`.
        includes: bool,
    },
    /// The job discovers its targets another way (e.g. `consul_sd_configs`).
    #[error("{}: job {jobs} reads no target files (no file_sd_configs)", path.display())]
    NoFiles {
        /// The configuration file.
        path: PathBuf,
        /// The job names.
        jobs: String,
    },
}

impl PostgresJobs {
    /// The job names for messages: `pgsql`, or `pg and pgsql`.
    pub fn names(&self) -> String {
        self.jobs.join(" and ")
    }

    /// The patterns that look inside `dir` (the directory or below it).
    pub fn patterns_within(&self, dir: &Path) -> Vec<String> {
        let dir = normal(dir);
        self.patterns
            .iter()
            .filter(|p| {
                Path::new(p.as_str())
                    .parent()
                    .is_some_and(|parent| normal(parent).starts_with(&dir))
            })
            .cloned()
            .collect()
    }
}

/// A path compared by what it points at: canonical when it exists, else absolute with
/// `.` and `..` folded away.
fn normal(path: &Path) -> PathBuf {
    if let Ok(p) = fs::canonicalize(path) {
        return p;
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The PostgreSQL jobs of a `prometheus.yml` text read from `path`.
pub fn parse_prometheus_config(
    path: &Path,
    text: &str,
) -> Result<PostgresJobs, PrometheusConfigError> {
    if text.len() as u64 > file_text::MAX_FILE_BYTES {
        return Err(FileError::too_large(path, text.len() as u64).into());
    }
    // Prometheus refuses repeated keys, so a file that has them is not what it runs.
    let opts = file_text::options(MAX_CONFIG_DEPTH, serde_saphyr::DuplicateKeyPolicy::Error);
    let config: Option<Config> = serde_saphyr::from_str_with_options(text, opts)
        .map_err(|e| FileError::parse(path, file_text::yaml_problem(&e, MAX_CONFIG_DEPTH)))?;
    let config = config.unwrap_or_default();
    let base = path.parent().unwrap_or(Path::new(""));
    let mut jobs = Vec::new();
    let mut patterns = Vec::new();
    for job in config.scrape_configs.unwrap_or_default() {
        let Some(name) = job.job_name.filter(|n| POSTGRES_JOBS.contains(&n.as_str())) else {
            continue;
        };
        jobs.push(name);
        for sd in job.file_sd_configs.unwrap_or_default() {
            for file in sd.files.unwrap_or_default() {
                let resolved = base.join(&file).to_string_lossy().into_owned();
                if !patterns.contains(&resolved) {
                    patterns.push(resolved);
                }
            }
        }
    }
    let path = path.to_path_buf();
    if jobs.is_empty() {
        let includes = config
            .scrape_config_files
            .is_some_and(|files| !files.is_empty());
        return Err(PrometheusConfigError::NoJob { path, includes });
    }
    if patterns.is_empty() {
        return Err(PrometheusConfigError::NoFiles {
            path,
            jobs: jobs.join(" and "),
        });
    }
    Ok(PostgresJobs {
        config: path,
        jobs,
        patterns,
    })
}

/// Reads a `prometheus.yml` for its PostgreSQL jobs' target files.
pub fn read_prometheus_config(path: &Path) -> Result<PostgresJobs, PrometheusConfigError> {
    let text = file_text::read_limited(path)
        .map_err(|f| FileError::read(FileKind::PrometheusConfig, path, f))?;
    parse_prometheus_config(path, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<PostgresJobs, PrometheusConfigError> {
        parse_prometheus_config(Path::new("/etc/prometheus/prometheus.yml"), text)
    }

    #[test]
    fn the_postgres_jobs_files_resolved_against_the_config_directory() {
        let jobs = parse(
            "\
global: {scrape_interval: 10s}
rule_files: [rules/*.yml]
scrape_configs:
  - job_name: node
    file_sd_configs: [{files: [targets/node/*.yml]}]
  - job_name: pgsql
    metrics_path: /metrics
    file_sd_configs:
      - refresh_interval: 5s
        files: [ targets/pgsql/*.yml, /srv/extra/pg-*.json ]
    relabel_configs:
      - source_labels: [__address__]
        regex: ^redis://(.*):(\\d+)$
  - job_name: pgsql-patroni
    file_sd_configs: [{files: [targets/patroni/*.yml]}]
",
        )
        .unwrap();
        assert_eq!(jobs.jobs, ["pgsql"]);
        assert_eq!(
            jobs.patterns,
            [
                "/etc/prometheus/targets/pgsql/*.yml",
                "/srv/extra/pg-*.json"
            ]
        );
        assert_eq!(
            jobs.patterns_within(Path::new("/etc/prometheus/targets")),
            ["/etc/prometheus/targets/pgsql/*.yml"]
        );
        assert_eq!(
            jobs.patterns_within(Path::new("/etc/prometheus/./targets/../targets/")),
            ["/etc/prometheus/targets/pgsql/*.yml"]
        );
        assert!(jobs.patterns_within(Path::new("/srv/other")).is_empty());
    }

    #[test]
    fn pigsty_0x_names_its_job_pg() {
        let jobs = parse("scrape_configs:\n  - job_name: pg\n    file_sd_configs:\n      - files: [targets/*.yml]\n").unwrap();
        assert_eq!(jobs.names(), "pg");
        assert_eq!(jobs.patterns, ["/etc/prometheus/targets/*.yml"]);
    }

    #[test]
    fn files_without_the_job_or_its_files_are_clear_errors() {
        let e = parse("scrape_configs:\n  - job_name: node\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "/etc/prometheus/prometheus.yml: no scrape job named pg or pgsql (Pigsty's PostgreSQL job)"
        );
        let e = parse("scrape_config_files: [more/*.yml]\n").unwrap_err();
        assert!(
            e.to_string().ends_with("scrape_config_files are not read"),
            "{e}"
        );
        let e = parse("scrape_configs:\n  - job_name: pg\n    consul_sd_configs: [{server: '127.0.0.1:8500'}]\n")
            .unwrap_err();
        assert!(
            e.to_string()
                .ends_with("job pg reads no target files (no file_sd_configs)"),
            "{e}"
        );
        let e = parse("scrape_configs:\n  - job_name: pg\n    job_name: pgsql\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/etc/prometheus/prometheus.yml:3:"),
            "{e}"
        );
        let deep = format!("x: {}{}\n", "[".repeat(100), "]".repeat(100));
        let e = parse(&deep).unwrap_err();
        assert!(e.to_string().contains("nesting deeper than 32"), "{e}");
        let e = read_prometheus_config(Path::new("/nonexistent/prometheus.yml")).unwrap_err();
        assert_eq!(e.to_string(), "/nonexistent/prometheus.yml: no such file");
    }
}
