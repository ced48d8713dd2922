//! Asking PostgreSQL itself: `pg_is_in_recovery()`, timeline, WAL positions, standbys,
//! and its own WAL receiver.
//!
//! TLS follows libpq's `sslmode` and `sslrootcert` (see [`super::pg_tls`]).

use super::pg_tls::{Verify, connector};
use super::probe::{LiveProbe, LiveTarget, PgConfig, ProbeError};
use crate::consul::Secret;
use crate::identity::Role;
use crate::observation::{LiveOrigin, Replication};
use std::path::Path;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage, Socket};

/// Everything in one round trip: a simple query carries both statements, and the CTE
/// asks `pg_is_in_recovery()` once so a promotion mid-query cannot pick mixed branches.
///
/// The WAL receiver is the replica's own word on streaming (a row whose status is hidden
/// means the user lacks `pg_read_all_stats`); the standby list is read on replicas too,
/// since a cascading replica streams from another replica.
const PROBE_SQL: &str = r#"
WITH s AS (SELECT pg_is_in_recovery() AS rec)
SELECT s.rec::text AS in_recovery,
  (CASE WHEN s.rec
        THEN coalesce((SELECT received_tli::bigint FROM pg_stat_wal_receiver LIMIT 1),
                      (pg_control_checkpoint()).timeline_id::bigint)
        ELSE ('x' || lpad(substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8), 16, '0'))::bit(64)::bigint
   END)::text AS timeline,
  (CASE WHEN NOT s.rec THEN pg_current_wal_lsn() END)::text AS lsn,
  (CASE WHEN s.rec THEN pg_last_wal_receive_lsn() END)::text AS received_lsn,
  (CASE WHEN s.rec THEN pg_last_wal_replay_lsn() END)::text AS replayed_lsn,
  (CASE WHEN s.rec
        THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
   END)::text AS lag_bytes,
  (CASE WHEN s.rec
        THEN greatest(0, (extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000)::bigint)
   END)::text AS lag_ms,
  to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS started_at,
  current_setting('server_version') AS server_version,
  (SELECT coalesce(status, 'unknown') FROM pg_stat_wal_receiver LIMIT 1) AS wal_receiver_status,
  (SELECT CASE WHEN sender_host LIKE '%:%' THEN '[' || sender_host || ']' ELSE sender_host END
          || ':' || sender_port
   FROM pg_stat_wal_receiver LIMIT 1) AS sender
FROM s;
SELECT coalesce(host(client_addr), 'local') AS standby, application_name
FROM pg_stat_replication WHERE state = 'streaming' ORDER BY 1, 2;
"#;

/// Connects to one instance and reads its live role and replication state.
pub async fn probe_postgres(t: &LiveTarget, cfg: &PgConfig) -> Result<LiveProbe, ProbeError> {
    let address = if t.ip.contains(':') {
        format!("[{}]:{}", t.ip, t.port)
    } else {
        format!("{}:{}", t.ip, t.port)
    };
    let password = cfg.password.clone().filter(|p| !p.is_empty()).or_else(|| {
        cfg.passfile
            .as_deref()
            .and_then(|path| super::pgpass::lookup(path, &t.ip, t.port, &cfg.dbname, &cfg.user))
    });
    let mut pc = Config::new();
    pc.host(&t.ip)
        .port(t.port)
        .user(&cfg.user)
        .dbname(&cfg.dbname)
        .application_name("roster")
        .connect_timeout(cfg.connect_timeout);
    if let Some(p) = &password {
        pc.password(p.expose());
    }
    let scrub = |e: ProbeError| redact(e, password.as_ref());
    let client = connect(
        &pc,
        &cfg.sslmode,
        cfg.sslrootcert.as_deref(),
        &address,
        cfg.connect_timeout,
    )
    .await
    .map_err(scrub)?;
    let messages = tokio::time::timeout(cfg.connect_timeout, client.simple_query(PROBE_SQL))
        .await
        .map_err(|_| {
            ProbeError::Other(format!(
                "{address}: no answer to the probe query within {}",
                secs(cfg.connect_timeout)
            ))
        })?
        .map_err(|e| scrub(classify(&e, &address)))?;
    parse(&messages, address).map_err(scrub)
}

/// Connects per `sslmode`, driving the connection on its own task until the client drops.
async fn connect(
    pc: &Config,
    sslmode: &str,
    sslrootcert: Option<&Path>,
    address: &str,
    timeout: Duration,
) -> Result<Client, ProbeError> {
    let mode = match sslmode {
        "disable" | "allow" => {
            return connect_with(pc.clone(), SslMode::Disable, NoTls, address, timeout).await;
        }
        "prefer" => SslMode::Prefer,
        "require" | "verify-ca" | "verify-full" => SslMode::Require,
        other => {
            return Err(ProbeError::Other(format!(
                "{address}: unknown sslmode {other:?} (disable, allow, prefer, require, verify-ca, verify-full)"
            )));
        }
    };
    let verify = Verify::for_mode(sslmode, sslrootcert, address)?;
    let tls = connector(&verify, address)?;
    match connect_with(pc.clone(), mode, tls, address, timeout).await {
        // libpq retries without TLS when a prefer handshake fails.
        Err(ProbeError::Other(m)) if mode == SslMode::Prefer && m.contains(TLS_FAILED) => {
            connect_with(pc.clone(), SslMode::Disable, NoTls, address, timeout).await
        }
        Err(ProbeError::Other(m)) if m.contains(REJECTED) => Err(ProbeError::Other(format!(
            "sslmode {sslmode}: the server's certificate was rejected: {m}"
        ))),
        other => other,
    }
}

/// rustls' wording for a certificate that failed verification.
const REJECTED: &str = "invalid peer certificate";

/// tokio-postgres's wording for a failed handshake, the one case `prefer` retries in the clear.
const TLS_FAILED: &str = "error performing TLS handshake";

async fn connect_with<T>(
    mut pc: Config,
    mode: SslMode,
    tls: T,
    address: &str,
    timeout: Duration,
) -> Result<Client, ProbeError>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    pc.ssl_mode(mode);
    // tokio-postgres bounds only the TCP connect; the whole startup and authentication
    // must not hang on a server that accepts and then says nothing.
    let (client, connection) = tokio::time::timeout(timeout, pc.connect(tls))
        .await
        .map_err(|_| {
            ProbeError::Unreachable(format!("{address}: no answer within {}", secs(timeout)))
        })?
        .map_err(|e| classify(&e, address))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("postgres connection closed: {e}");
        }
    });
    Ok(client)
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// Sorts a driver error into the three kinds the live source acts on.
fn classify(e: &tokio_postgres::Error, address: &str) -> ProbeError {
    if let Some(db) = e.as_db_error() {
        let msg = format!(
            "{address}: {} (SQLSTATE {})",
            db.message(),
            db.code().code()
        );
        let code = db.code();
        return if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            ProbeError::Auth(msg)
        } else {
            ProbeError::Other(msg)
        };
    }
    let mut chain = e.to_string();
    let mut io_kind = None;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        if io_kind.is_none() {
            io_kind = s.downcast_ref::<std::io::Error>().map(std::io::Error::kind);
        }
        source = s.source();
    }
    use std::io::ErrorKind as K;
    let unreachable_io = matches!(
        io_kind,
        Some(
            K::ConnectionRefused
                | K::TimedOut
                | K::HostUnreachable
                | K::NetworkUnreachable
                | K::AddrNotAvailable
                | K::NotFound
        )
    );
    if unreachable_io || e.to_string().starts_with("error connecting to server") {
        return ProbeError::Unreachable(format!("{address}: {chain}"));
    }
    if chain.contains("password missing") {
        return ProbeError::Auth(format!(
            "{address}: the server asks for a password and none was given (PGPASSWORD or the password file)"
        ));
    }
    if e.to_string() == "authentication error" {
        return ProbeError::Auth(format!("{address}: {chain}"));
    }
    ProbeError::Other(format!("{address}: {chain}"))
}

/// Never lets the password into an error, whatever the server or the driver echoed.
fn redact(e: ProbeError, password: Option<&Secret>) -> ProbeError {
    let Some(p) = password.map(Secret::expose).filter(|p| !p.is_empty()) else {
        return e;
    };
    let clean = |m: String| m.replace(p, "<redacted>");
    match e {
        ProbeError::Unreachable(m) => ProbeError::Unreachable(clean(m)),
        ProbeError::Auth(m) => ProbeError::Auth(clean(m)),
        ProbeError::Other(m) => ProbeError::Other(clean(m)),
    }
}

/// Turns the two statements' rows into a probe.
fn parse(messages: &[SimpleQueryMessage], address: String) -> Result<LiveProbe, ProbeError> {
    let mut statement = 0;
    let mut main = None;
    let mut standbys = Vec::new();
    let mut standby_names = Vec::new();
    for m in messages {
        match m {
            SimpleQueryMessage::CommandComplete(_) => statement += 1,
            SimpleQueryMessage::Row(row) if statement == 0 => {
                let get = |name: &str| row.try_get(name).ok().flatten().map(str::to_string);
                main = Some(
                    [
                        "in_recovery",
                        "timeline",
                        "lsn",
                        "received_lsn",
                        "replayed_lsn",
                        "lag_bytes",
                        "lag_ms",
                        "started_at",
                        "server_version",
                        "wal_receiver_status",
                        "sender",
                    ]
                    .map(get),
                );
            }
            SimpleQueryMessage::Row(row) => {
                if let Ok(Some(s)) = row.try_get(0) {
                    standbys.push(s.to_string());
                }
                if let Ok(Some(n)) = row.try_get(1)
                    && !n.is_empty()
                {
                    standby_names.push(n.to_string());
                }
            }
            _ => {}
        }
    }
    let Some(
        [
            in_recovery,
            timeline,
            lsn,
            received_lsn,
            replayed_lsn,
            lag_bytes,
            lag_ms,
            started_at,
            server_version,
            wal_receiver_status,
            sender,
        ],
    ) = main
    else {
        return Err(ProbeError::Other(format!(
            "{address}: the probe query returned no row"
        )));
    };
    let role = match in_recovery.as_deref() {
        Some("t" | "true") => Role::Replica,
        Some("f" | "false") => Role::Primary,
        other => {
            return Err(ProbeError::Other(format!(
                "{address}: pg_is_in_recovery() answered {other:?}"
            )));
        }
    };
    Ok(LiveProbe {
        role,
        origin: LiveOrigin {
            address,
            via: "postgres",
            reachable: true,
            error: None,
            timeline: timeline.and_then(|t| t.parse().ok()),
            lsn,
            received_lsn,
            replayed_lsn,
            lag_bytes: lag_bytes.and_then(|b| b.parse().ok()),
            lag_ms: lag_ms.and_then(|m| m.parse().ok()),
            started_at,
            server_version,
            standbys,
            replication: Box::new(Replication {
                standby_names,
                wal_receiver_status,
                sender,
            }),
            state: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_removes_the_password_everywhere() {
        let s = Secret::new("hunter2-pw");
        let e = redact(ProbeError::Auth("a: hunter2-pw rejected".into()), Some(&s));
        assert!(!e.to_string().contains("hunter2-pw"));
    }

    #[tokio::test]
    async fn unknown_sslmodes_and_verification_without_roots_are_refused_before_connecting() {
        let pc = Config::new();
        for mode in ["verify-full", "verify-ca", "bogus"] {
            let r = connect(&pc, mode, None, "10.0.0.1:5432", Duration::from_secs(1)).await;
            assert!(matches!(r, Err(ProbeError::Other(_))), "{mode}");
        }
    }
}
