//! The live source: each instance's real role, asked of the database itself, or of
//! Patroni's REST API when the database cannot be reached with credentials.

use crate::consul::Secret;
use crate::fleet::{Fleet, InstanceId};
use crate::identity::Role;
use crate::observation::{
    LiveOrigin, Observation, Origin, RoleClaim, SourceKind, SourceOutput, SourceReport,
};
use futures::stream::{self, StreamExt};
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
    /// `disable`, `prefer` or `require`.
    pub sslmode: String,
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

/// Everything the live source needs.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// PostgreSQL access; `None` asks only Patroni.
    pub pg: Option<PgConfig>,
    /// Patroni access; `None` asks only PostgreSQL.
    pub patroni: Option<PatroniConfig>,
    /// How many instances are probed at once.
    pub concurrency: usize,
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

/// The instances of a fleet that can be probed, with the port Consul's `postgres` service gives.
pub fn targets(fleet: &Fleet) -> Vec<LiveTarget> {
    let mut out = Vec::new();
    for inst in fleet.instances() {
        let Some(ip) = inst.display_ip() else {
            continue;
        };
        let port = inst
            .by_source(SourceKind::Consul)
            .find_map(|o| match &o.origin {
                Origin::Consul(c) if c.service_name == "postgres" && c.port != 0 => Some(c.port),
                _ => None,
            })
            .unwrap_or(5432);
        out.push(LiveTarget {
            cluster: inst.cluster.clone(),
            seq: match inst.id {
                InstanceId::Seq(s) => Some(s),
                _ => None,
            },
            instance: inst.name.clone(),
            ip: ip.to_string(),
            port,
        });
    }
    out
}

/// Probes every target (bounded concurrency): PostgreSQL first, Patroni when PostgreSQL
/// cannot be asked. An instance nobody answers for is still observed, unreachable.
pub async fn read_live(targets: &[LiveTarget], cfg: &LiveConfig) -> SourceOutput {
    let report = SourceReport::new(SourceKind::Live, format!("{} instances", targets.len()));
    // Patroni does not redirect; nothing roster asks should be answered from elsewhere.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok();
    let observations: Vec<Observation> = stream::iter(targets.iter().cloned())
        .map(|t| {
            let cfg = cfg.clone();
            let http = http.clone();
            async move {
                let task = tokio::spawn(async move {
                    let probe = probe(&t, &cfg, http.as_ref()).await;
                    observe(&t, probe)
                });
                task.await.ok()
            }
        })
        .buffer_unordered(cfg.concurrency.max(1))
        .filter_map(|o| async move { o })
        .collect()
        .await;
    let mut observations = observations;
    crate::source::consul::sort_observations(&mut observations);
    SourceOutput::new(report, observations)
}

async fn probe(
    t: &LiveTarget,
    cfg: &LiveConfig,
    http: Option<&reqwest::Client>,
) -> Result<LiveProbe, ProbeError> {
    let mut last = ProbeError::Other("neither PostgreSQL nor Patroni is configured".into());
    if let Some(pg) = &cfg.pg {
        match super::postgres::probe_postgres(t, pg).await {
            Ok(p) => return Ok(p),
            Err(e) => last = e,
        }
    }
    if let (Some(p), Some(http)) = (&cfg.patroni, http) {
        match super::patroni::probe_patroni(http, &t.ip, p.port, p.timeout).await {
            Ok(probe) => return Ok(probe),
            Err(e) => {
                // The database's own answer says more than Patroni's silence.
                if matches!(last, ProbeError::Other(_)) || cfg.pg.is_none() {
                    last = e;
                }
            }
        }
    }
    Err(last)
}

fn observe(t: &LiveTarget, probe: Result<LiveProbe, ProbeError>) -> Observation {
    let (role, origin) = match probe {
        Ok(p) => {
            let from = if p.origin.via == "patroni" {
                "patroni role"
            } else {
                "pg_is_in_recovery()"
            };
            (Some(RoleClaim::new(p.role.as_str(), from)), p.origin)
        }
        Err(e) => (
            None,
            LiveOrigin {
                address: format!("{}:{}", t.ip, t.port),
                via: "postgres",
                reachable: false,
                error: Some(e.to_string()),
                ..LiveOrigin::default()
            },
        ),
    };
    Observation {
        source: SourceKind::Live,
        cluster: t.cluster.clone(),
        seq: t.seq,
        instance: None,
        service: None,
        role,
        ip: Some(t.ip.clone()),
        origin: Origin::Live(origin),
    }
}
