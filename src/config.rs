//! Settings, resolved once: flags > environment (Consul CLI conventions) > config file > defaults.

pub mod datacenters;

use crate::consul::address::parse_go_bool;
use crate::consul::{ConsulConfig, ConsulError, Endpoint, Secret, TlsOptions};
use crate::source::targets::prometheus_config::{
    DEFAULT_PROMETHEUS_CONFIG, PrometheusConfigError, read_prometheus_config,
};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

/// The conventional Consul address tried when nothing is configured.
pub const DEFAULT_CONSUL: &str = "http://127.0.0.1:8500";
/// The conventional target directory tried when nothing is configured.
pub const DEFAULT_TARGETS: &str = "/etc/prometheus/targets";

/// Flags that say where the fleet's identity is read from, taken by the UI and by every
/// command that reads the sources (`check`, `serve`, `fix`).
///
/// The default is no flag given: every place comes from the environment, the config file
/// or the conventional defaults.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
#[command(next_help_heading = "Source options")]
pub struct SourceArgs {
    /// Consul HTTP address [env: CONSUL_HTTP_ADDR] (host:port, http(s)://…, unix:///path)
    #[arg(long, value_name = "URL")]
    pub consul: Option<String>,
    /// Do not read Consul, even when CONSUL_HTTP_ADDR or the config file name one
    #[arg(long)]
    pub no_consul: bool,
    /// File holding the Consul ACL token [env: CONSUL_HTTP_TOKEN_FILE, CONSUL_HTTP_TOKEN]
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Consul datacenter to query (default: the agent's own)
    #[arg(long, value_name = "DC")]
    pub dc: Option<String>,
    /// Read every datacenter Consul lists (/v1/catalog/datacenters), through the same agent
    #[arg(long, conflicts_with = "dc")]
    pub all_datacenters: bool,
    /// Prometheus static target files: a directory, a file or a glob; repeatable
    #[arg(long = "targets", value_name = "PATH")]
    pub targets: Vec<String>,
    /// Prometheus' configuration: read the target files its pg/pgsql job reads [default: /etc/prometheus/prometheus.yml when present]
    #[arg(long, value_name = "FILE")]
    pub prometheus_config: Option<PathBuf>,
    /// Pigsty inventory (pigsty.yml): the declared identity
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// Config file [default: $XDG_CONFIG_HOME/roster/config.toml]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Time limit for one Consul request (e.g. 500ms, 10s, 1m)
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// How many Consul requests may run at once
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Also ask each instance its real role (PostgreSQL, else Patroni's REST API)
    #[arg(long, help_heading = "Live role options")]
    pub live: bool,
    /// PostgreSQL user for --live [env: PGUSER] [default: dbuser_monitor]
    #[arg(long, help_heading = "Live role options", value_name = "USER")]
    pub pg_user: Option<String>,
    /// Database for --live [env: PGDATABASE] [default: postgres]
    #[arg(long, help_heading = "Live role options", value_name = "DB")]
    pub pg_dbname: Option<String>,
    /// disable, allow, prefer, require, verify-ca or verify-full [env: PGSSLMODE] [default: prefer]
    #[arg(long, help_heading = "Live role options", value_name = "MODE")]
    pub pg_sslmode: Option<String>,
    /// Root certificates (PEM) for --pg-sslmode verify-ca/verify-full, or `system`
    /// [env: PGSSLROOTCERT] [default: ~/.postgresql/root.crt]
    #[arg(long, help_heading = "Live role options", value_name = "FILE")]
    pub pg_sslrootcert: Option<PathBuf>,
    /// Patroni REST API port for --live (0: do not ask Patroni)
    #[arg(long, help_heading = "Live role options", value_name = "PORT")]
    pub patroni_port: Option<u16>,
    /// Ask only Patroni for the live role, never PostgreSQL (set by the demo, not a flag).
    #[arg(skip)]
    pub live_patroni_only: bool,
}

impl SourceArgs {
    /// These flags, each one not given taken from `outer` (the flags given before the
    /// command name, as in `roster --consul ADDR check`).
    pub fn or(self, outer: &SourceArgs) -> SourceArgs {
        let list = |v: Vec<String>, o: &Vec<String>| if v.is_empty() { o.clone() } else { v };
        SourceArgs {
            consul: self.consul.or_else(|| outer.consul.clone()),
            no_consul: self.no_consul || outer.no_consul,
            token_file: self.token_file.or_else(|| outer.token_file.clone()),
            dc: self.dc.or_else(|| outer.dc.clone()),
            all_datacenters: self.all_datacenters || outer.all_datacenters,
            targets: list(self.targets, &outer.targets),
            prometheus_config: self
                .prometheus_config
                .or_else(|| outer.prometheus_config.clone()),
            inventory: self.inventory.or_else(|| outer.inventory.clone()),
            config: self.config.or_else(|| outer.config.clone()),
            timeout: self.timeout.or(outer.timeout),
            concurrency: self.concurrency.or(outer.concurrency),
            live: self.live || outer.live,
            pg_user: self.pg_user.or_else(|| outer.pg_user.clone()),
            pg_dbname: self.pg_dbname.or_else(|| outer.pg_dbname.clone()),
            pg_sslmode: self.pg_sslmode.or_else(|| outer.pg_sslmode.clone()),
            pg_sslrootcert: self.pg_sslrootcert.or_else(|| outer.pg_sslrootcert.clone()),
            patroni_port: self.patroni_port.or(outer.patroni_port),
            live_patroni_only: self.live_patroni_only || outer.live_patroni_only,
        }
    }
}

/// Configuration problems, each saying which setting is wrong.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A Consul setting is unusable.
    #[error(transparent)]
    Consul(#[from] ConsulError),
    /// The Prometheus configuration named does not say which files its PostgreSQL job reads.
    #[error("Prometheus configuration {0}")]
    Prometheus(#[from] PrometheusConfigError),
    /// A token file could not be read.
    #[error("token file {path}: {reason}")]
    TokenFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The config file's shape (`config.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Remove every write path.
    pub read_only: Option<bool>,
    /// `dark` or `light`.
    pub theme: Option<String>,
    /// Consul settings.
    pub consul: Option<FileConsul>,
    /// Target-file settings.
    pub targets: Option<FileTargets>,
    /// Inventory settings.
    pub inventory: Option<FileInventory>,
    /// Key overrides (action name -> key).
    pub keys: Option<toml::Table>,
    /// Re-registration settings.
    pub fix: Option<FileFix>,
    /// Per-datacenter files and standby pairs (`[datacenter.NAME]`).
    pub datacenter: Option<std::collections::BTreeMap<String, datacenters::FileDatacenter>>,
}

/// `[fix]` in the config file: how roster re-registers.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileFix {
    /// Where each node's agent is: `{scheme}://{node_address}:{port}` by default.
    pub agent_address: Option<String>,
    /// The node command, e.g. `ssh {ip} sudo /pg/bin/pg-register {role}`; off when unset.
    pub command: Option<String>,
    /// Time limit for one node command (e.g. `30s`).
    pub command_timeout: Option<String>,
    /// The audit log file.
    pub audit_log: Option<PathBuf>,
}

/// `[consul]` in the config file. The token itself is never written here, only its file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConsul {
    /// False turns Consul off.
    pub enabled: Option<bool>,
    /// Address, as `CONSUL_HTTP_ADDR`.
    pub address: Option<String>,
    /// Token file, as `CONSUL_HTTP_TOKEN_FILE`.
    pub token_file: Option<PathBuf>,
    /// Datacenter.
    pub datacenter: Option<String>,
    /// Several datacenters: `"all"` or a list, nearest first.
    pub datacenters: Option<datacenters::FileDatacenters>,
    /// As `CONSUL_CACERT`.
    pub ca_cert: Option<PathBuf>,
    /// As `CONSUL_CAPATH`.
    pub ca_path: Option<PathBuf>,
    /// As `CONSUL_CLIENT_CERT`.
    pub client_cert: Option<PathBuf>,
    /// As `CONSUL_CLIENT_KEY`.
    pub client_key: Option<PathBuf>,
    /// As `CONSUL_TLS_SERVER_NAME`.
    pub tls_server_name: Option<String>,
    /// As `CONSUL_HTTP_SSL_VERIFY`.
    pub ssl_verify: Option<bool>,
    /// Most bytes read from one Consul answer (default 256 MiB).
    pub max_response_bytes: Option<u64>,
}

/// `[targets]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTargets {
    /// Directories, files or globs.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Prometheus' configuration, for the files its PostgreSQL job reads.
    pub prometheus_config: Option<PathBuf>,
}

/// `[inventory]` in the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileInventory {
    /// The inventory file.
    pub path: PathBuf,
}

/// How Consul is to be read.
#[derive(Debug, Clone)]
pub struct ConsulSetting {
    /// The client configuration.
    pub config: ConsulConfig,
    /// Where the address came from (`--consul`, `CONSUL_HTTP_ADDR`, `config file`, `default`).
    pub origin: &'static str,
    /// True when nothing asked for Consul and it is only tried at its conventional place.
    pub probe_only: bool,
}

/// Everything a command needs to know about where to read, resolved once.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Consul, when used.
    pub consul: Option<ConsulSetting>,
    /// Target patterns, possibly empty.
    pub targets: Vec<String>,
    /// The inventory, when used.
    pub inventory: Option<PathBuf>,
    /// True when writes are off.
    pub read_only: bool,
    /// The theme name from the config file.
    pub theme: Option<String>,
    /// Key overrides from the config file's `[keys]` (action name -> key).
    pub keys: Option<toml::Table>,
    /// Re-registration settings from the config file's `[fix]`.
    pub fix: FileFix,
    /// The live source, when asked for.
    pub live: Option<crate::source::live::LiveConfig>,
    /// Several datacenters, when asked for (only with Consul, which lists them).
    pub datacenters: Option<datacenters::DatacenterSettings>,
    /// What roster chose on the user's behalf (defaults used), for the user to see.
    pub notes: Vec<String>,
    /// Risky settings worth a warning (a token over plain http to a remote address).
    pub warnings: Vec<String>,
}

impl Settings {
    /// True when no source at all will be read.
    pub fn is_empty(&self) -> bool {
        self.consul.is_none() && self.targets.is_empty() && self.inventory.is_none()
    }
}

/// The default config file location.
pub fn default_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("roster").join("config.toml"))
}

/// Reads the config file: an explicit one must exist, the default one may be absent.
pub fn load_file(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<FileConfig, ConfigError> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_config_path(env) {
            Some(p) => (p, false),
            None => return Ok(FileConfig::default()),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(FileConfig::default());
        }
        Err(e) => {
            return Err(ConfigError::File {
                path,
                reason: e.to_string(),
            });
        }
    };
    toml::from_str(&text).map_err(|e| ConfigError::File {
        path,
        reason: e.to_string().trim().replace('\n', " "),
    })
}

/// Resolves the settings from flags, the environment (`env`) and the config file.
pub fn resolve(
    args: &SourceArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, ConfigError> {
    // Consul treats an empty variable as unset.
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let file = load_file(args.config.as_deref(), &env)?;
    let mut fc = file.consul.unwrap_or_default();
    let several = datacenters::resolve(
        args.all_datacenters,
        args.dc.is_some(),
        fc.datacenters.take(),
        file.datacenter,
    )?;
    let mut s = Settings {
        read_only: file.read_only.unwrap_or(false),
        theme: file.theme,
        keys: file.keys,
        fix: file.fix.unwrap_or_default(),
        ..Settings::default()
    };

    let file_targets = file.targets.unwrap_or_default();
    s.targets = if !args.targets.is_empty() {
        args.targets.clone()
    } else {
        file_targets.paths
    };
    let prometheus = args
        .prometheus_config
        .clone()
        .or(file_targets.prometheus_config);
    s.inventory = args.inventory.clone().or(file.inventory.map(|i| i.path));

    let address: Option<(String, &'static str)> = args
        .consul
        .clone()
        .map(|a| (a, "--consul"))
        .or_else(|| env("CONSUL_HTTP_ADDR").map(|a| (a, "CONSUL_HTTP_ADDR")))
        .or_else(|| fc.address.clone().map(|a| (a, "config file")));
    // `enabled = false` in the file is outranked by an address from a flag or the environment.
    let enabled = !args.no_consul
        && (matches!(address, Some((_, o)) if o != "config file") || fc.enabled != Some(false));
    let nothing_configured =
        address.is_none() && s.targets.is_empty() && s.inventory.is_none() && prometheus.is_none();
    let (address, origin, probe_only) = match address {
        Some((a, o)) => (a, o, false),
        None if nothing_configured => (DEFAULT_CONSUL.to_string(), "default", true),
        None => (String::new(), "", false),
    };

    if enabled && !address.is_empty() {
        let ssl = match env("CONSUL_HTTP_SSL") {
            Some(v) => parse_go_bool("CONSUL_HTTP_SSL", &v)?,
            None => false,
        };
        let mut config = ConsulConfig::new(Endpoint::parse(&address, ssl)?);
        config.port_given = crate::consul::address::names_port(&address);
        config.token = token(args, &env, &fc)?;
        if let Some(auth) = env("CONSUL_HTTP_AUTH") {
            let (user, pass) = auth.split_once(':').unwrap_or((auth.as_str(), ""));
            config.basic_auth = Some((user.to_string(), Secret::new(pass)));
        }
        config.datacenter = args.dc.clone().or(fc.datacenter.clone());
        config.namespace = env("CONSUL_NAMESPACE");
        config.partition = env("CONSUL_PARTITION");
        config.tls = TlsOptions {
            ca_cert: env("CONSUL_CACERT")
                .map(PathBuf::from)
                .or(fc.ca_cert.clone()),
            ca_path: env("CONSUL_CAPATH")
                .map(PathBuf::from)
                .or(fc.ca_path.clone()),
            client_cert: env("CONSUL_CLIENT_CERT")
                .map(PathBuf::from)
                .or(fc.client_cert.clone()),
            client_key: env("CONSUL_CLIENT_KEY")
                .map(PathBuf::from)
                .or(fc.client_key.clone()),
            server_name: env("CONSUL_TLS_SERVER_NAME").or(fc.tls_server_name.clone()),
            verify: match env("CONSUL_HTTP_SSL_VERIFY") {
                Some(v) => parse_go_bool("CONSUL_HTTP_SSL_VERIFY", &v)?,
                None => fc.ssl_verify.unwrap_or(true),
            },
        };
        if config.tls.client_cert.is_some() != config.tls.client_key.is_some() {
            return Err(ConsulError::Config(
                "CONSUL_CLIENT_CERT and CONSUL_CLIENT_KEY must be given together".into(),
            )
            .into());
        }
        if let Some(t) = args.timeout {
            config.timeout = t;
        }
        if let Some(c) = args.concurrency {
            config.concurrency = c.clamp(1, 256);
        }
        if let Some(max) = fc.max_response_bytes {
            if max == 0 {
                return Err(ConsulError::Config(
                    "[consul] max_response_bytes must be more than 0".into(),
                )
                .into());
            }
            config.max_response_bytes = max;
        }
        if config.token.is_some() && !config.endpoint.is_tls() && !config.endpoint.is_local() {
            s.warnings.push(format!(
                "the Consul ACL token is sent over plain http to {}; use https (CONSUL_HTTP_SSL=true)",
                config.endpoint
            ));
        }
        if probe_only {
            s.notes.push(format!(
                "no source configured: trying Consul at its conventional address {}",
                config.endpoint
            ));
        }
        s.consul = Some(ConsulSetting {
            config,
            origin,
            probe_only,
        });
    }

    match several {
        Some(d) if s.consul.is_some() => s.datacenters = Some(d),
        Some(_) => s
            .notes
            .push("several datacenters need Consul to list them: reading one".into()),
        None => {}
    }

    if args.live {
        let mut live = live_config(args, &env);
        if args.live_patroni_only {
            live.pg = None;
        }
        s.live = Some(live);
    }

    if nothing_configured && Path::new(DEFAULT_TARGETS).is_dir() {
        s.targets.push(DEFAULT_TARGETS.to_string());
        s.notes.push(format!(
            "no source configured: reading target files from {DEFAULT_TARGETS}"
        ));
    }
    match prometheus {
        Some(path) => read_what_prometheus_reads(&mut s, &path, true)?,
        None if !s.targets.is_empty() && Path::new(DEFAULT_PROMETHEUS_CONFIG).is_file() => {
            read_what_prometheus_reads(&mut s, Path::new(DEFAULT_PROMETHEUS_CONFIG), false)?;
        }
        None => {}
    }
    Ok(s)
}

/// Narrows the target paths to the files Prometheus' PostgreSQL job reads: with no
/// paths, its patterns; a directory holding some of them, those patterns instead of the
/// directory's layout. Files and globs named outright are read as named.
///
/// A configuration named by a flag or the config file must say which files that is; the
/// conventional one is only used where it speaks about the directories given.
fn read_what_prometheus_reads(
    s: &mut Settings,
    path: &Path,
    explicit: bool,
) -> Result<(), ConfigError> {
    let jobs = match read_prometheus_config(path) {
        Ok(jobs) => jobs,
        Err(e) if explicit => return Err(e.into()),
        // A stock or unrelated Prometheus on the machine says nothing about the fleet.
        Err(e) => {
            tracing::debug!(error = %e, "the conventional Prometheus configuration is not used");
            return Ok(());
        }
    };
    let job = format!(
        "Prometheus job {} (in {})",
        jobs.names(),
        jobs.config.display()
    );
    if s.targets.is_empty() {
        s.targets = jobs.patterns.clone();
        s.notes.push(format!(
            "reading the target files of {job}: {}",
            jobs.patterns.join(", ")
        ));
        return Ok(());
    }
    let mut targets: Vec<String> = Vec::new();
    for given in std::mem::take(&mut s.targets) {
        let within = if Path::new(&given).is_dir() {
            jobs.patterns_within(Path::new(&given))
        } else {
            Vec::new()
        };
        if within.is_empty() {
            if explicit && Path::new(&given).is_dir() {
                s.notes.push(format!(
                    "{job} reads no files under {given}; {given} read by its layout"
                ));
            }
            targets.push(given);
        } else {
            s.notes.push(format!(
                "{given}: reading what {job} reads there: {}",
                within.join(", ")
            ));
            targets.extend(within);
        }
    }
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.clone()));
    s.targets = targets;
    Ok(())
}

/// The live source's settings: flags, then libpq's `PG*` variables, then defaults.
fn live_config(
    args: &SourceArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> crate::source::live::LiveConfig {
    use crate::source::live::LiveConfig;
    use crate::source::probe::{PatroniConfig, PgConfig};
    let timeout = env("PGCONNECT_TIMEOUT")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .filter(|t| *t > 0)
        .map_or(Duration::from_secs(3), Duration::from_secs);
    let passfile = env("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
    let patroni_port = args.patroni_port.unwrap_or(8008);
    LiveConfig {
        pg: Some(PgConfig {
            user: args
                .pg_user
                .clone()
                .or_else(|| env("PGUSER"))
                .unwrap_or_else(|| "dbuser_monitor".into()),
            password: env("PGPASSWORD").map(Secret::new),
            dbname: args
                .pg_dbname
                .clone()
                .or_else(|| env("PGDATABASE"))
                .unwrap_or_else(|| "postgres".into()),
            sslmode: args
                .pg_sslmode
                .clone()
                .or_else(|| env("PGSSLMODE"))
                .unwrap_or_else(|| "prefer".into()),
            sslrootcert: args
                .pg_sslrootcert
                .clone()
                .or_else(|| env("PGSSLROOTCERT").map(PathBuf::from))
                .or_else(|| env("HOME").map(|h| Path::new(&h).join(".postgresql/root.crt"))),
            passfile,
            connect_timeout: timeout,
        }),
        patroni: (patroni_port != 0).then_some(PatroniConfig {
            port: patroni_port,
            timeout,
        }),
        concurrency: args.concurrency.unwrap_or(16).clamp(1, 256),
    }
}

fn token(
    args: &SourceArgs,
    env: &dyn Fn(&str) -> Option<String>,
    fc: &FileConsul,
) -> Result<Option<Secret>, ConfigError> {
    let file = args
        .token_file
        .clone()
        .or_else(|| env("CONSUL_HTTP_TOKEN_FILE").map(PathBuf::from));
    if let Some(path) = file {
        return read_token(&path).map(Some);
    }
    if let Some(t) = env("CONSUL_HTTP_TOKEN") {
        return Ok(Some(Secret::new(t)));
    }
    match &fc.token_file {
        Some(path) => read_token(path).map(Some),
        None => Ok(None),
    }
}

fn read_token(path: &Path) -> Result<Secret, ConfigError> {
    use crate::consul::secret::MAX_TOKEN_FILE_BYTES;
    use crate::source::file_text::{ReadFailure, read_bytes_limited};
    // Bounded and regular files only (`/dev/zero` or a FIFO would never end); the error
    // never quotes the file's content: it is the token.
    let bytes =
        read_bytes_limited(path, MAX_TOKEN_FILE_BYTES).map_err(|f| ConfigError::TokenFile {
            path: path.to_path_buf(),
            reason: match f {
                ReadFailure::TooLarge(_) => format!("larger than {MAX_TOKEN_FILE_BYTES} bytes"),
                ReadFailure::NotRegular(_) => f.to_string(),
                ReadFailure::Io(e) => e.kind().to_string(),
            },
        })?;
    let text = String::from_utf8(bytes).map_err(|_| ConfigError::TokenFile {
        path: path.to_path_buf(),
        reason: "not UTF-8 text".into(),
    })?;
    let secret = Secret::new(text);
    if secret.is_empty() {
        return Err(ConfigError::TokenFile {
            path: path.to_path_buf(),
            reason: "the file is empty".into(),
        });
    }
    Ok(secret)
}

/// Parses a duration written as Go writes them (`500ms`, `10s`, `1m30s`, `2h`), around blanks.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    crate::go_syntax::parse_duration(raw.trim())
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
