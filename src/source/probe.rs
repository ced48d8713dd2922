//! What a live probe is given and what it returns: the types the live source and its two
//! witnesses (PostgreSQL, Patroni) share, kept apart so neither side imports the other.

use crate::consul::Secret;
use crate::identity::Role;
use crate::observation::LiveOrigin;
use std::path::PathBuf;
use std::time::Duration;

/// One instance to probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveTarget {
    /// Cluster.
    pub cluster: String,
    /// Seq, when known.
    pub seq: Option<u32>,
    /// Instance name.
    pub instance: String,
    /// Address.
    pub ip: String,
    /// PostgreSQL port (Consul's `postgres` service port, else 5432).
    pub port: u16,
}

/// How to reach PostgreSQL (libpq conventions: flags, then `PG*` variables, then `~/.pgpass`).
#[derive(Clone, Debug)]
pub struct PgConfig {
    /// User (Pigsty's monitor user is `dbuser_monitor`).
    pub user: String,
    /// Password, when one is given (else `~/.pgpass` is consulted).
    pub password: Option<Secret>,
    /// Database name.
    pub dbname: String,
    /// `disable`, `allow`, `prefer`, `require`, `verify-ca` or `verify-full`.
    pub sslmode: String,
    /// Root certificates for `verify-ca`/`verify-full` (`sslrootcert`: a PEM file, or
    /// `system`); when the file exists, `require` verifies the chain too, as in libpq.
    pub sslrootcert: Option<PathBuf>,
    /// The password file (`PGPASSFILE`, else `~/.pgpass`).
    pub passfile: Option<PathBuf>,
    /// Connect timeout.
    pub connect_timeout: Duration,
}

/// How to reach Patroni's REST API.
#[derive(Clone, Debug)]
pub struct PatroniConfig {
    /// Port of the REST API (8008).
    pub port: u16,
    /// Request timeout.
    pub timeout: Duration,
}

/// What one probe found: the role and the details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveProbe {
    /// The live role (`primary` or `replica`).
    pub role: Role,
    /// Everything else the probe read.
    pub origin: LiveOrigin,
}

/// Why a probe gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Nothing answered (refused, timed out, no route).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The server answered but refused the credentials: another witness may still answer.
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Anything else (a query failed, an answer made no sense).
    #[error("{0}")]
    Other(String),
}
