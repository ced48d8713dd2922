//! Asking Patroni's REST API (`GET /patroni`, `GET /cluster`), the live witness that needs
//! no password.

use super::probe::{LiveProbe, ProbeError};
use crate::identity::Role;
use crate::observation::LiveOrigin;
use serde::Deserialize;
use std::time::Duration;

/// One member of a Patroni cluster as `GET /cluster` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatroniMember {
    /// Patroni's member name.
    pub name: String,
    /// `leader`, `replica`, `standby_leader`, ... verbatim.
    pub role: String,
    /// `running`, `streaming`, `start failed`, ... verbatim.
    pub state: String,
    /// PostgreSQL host.
    pub host: Option<String>,
    /// PostgreSQL port.
    pub port: Option<u16>,
    /// The member's timeline, when it runs.
    pub timeline: Option<u64>,
    /// Replication lag in bytes; `None` when Patroni says `unknown` or nothing.
    pub lag_bytes: Option<i64>,
}

impl PatroniMember {
    /// The role word normalised (`leader` and `standby_leader` are primaries).
    pub fn live_role(&self) -> Role {
        role_of(&self.role)
    }
}

/// The subset of `GET /patroni` roster reads; unknown fields are ignored because every
/// Patroni release adds some.
#[derive(Debug, Deserialize)]
struct PatroniStatus {
    state: Option<String>,
    role: Option<String>,
    timeline: Option<u64>,
    postmaster_start_time: Option<String>,
    server_version: Option<u64>,
    #[serde(default)]
    xlog: Xlog,
}

#[derive(Debug, Default, Deserialize)]
struct Xlog {
    location: Option<u64>,
    received_location: Option<u64>,
    replayed_location: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ClusterStatus {
    #[serde(default)]
    members: Vec<ClusterMember>,
}

#[derive(Debug, Deserialize)]
struct ClusterMember {
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    state: String,
    host: Option<String>,
    port: Option<u16>,
    timeline: Option<u64>,
    // A number, or the string "unknown" when the replica's position is not known.
    lag: Option<serde_json::Value>,
}

/// Role words of Patroni: 3.0 says `master`, later releases `primary`, `/cluster` `leader`.
fn role_of(word: &str) -> Role {
    match word {
        "standby_leader" => Role::Primary,
        w => Role::parse(w),
    }
}

/// `16/B374D848` from a byte position, the way PostgreSQL prints an LSN.
fn lsn(pos: u64) -> String {
    format!("{:X}/{:X}", pos >> 32, pos & 0xFFFF_FFFF)
}

/// PostgreSQL's numeric version (`150018`) as it prints it (`15.18`).
fn version(num: u64) -> String {
    if num >= 100_000 {
        format!("{}.{}", num / 10_000, num % 10_000)
    } else {
        format!("{}.{}.{}", num / 10_000, (num / 100) % 100, num % 100)
    }
}

/// Turns one `/patroni` answer into a probe; `url` is where it came from.
fn decode_status(url: &str, body: &[u8]) -> Result<LiveProbe, ProbeError> {
    let st: PatroniStatus = serde_json::from_slice(body)
        .map_err(|e| ProbeError::Other(format!("{url}: not a Patroni status: {e}")))?;
    let state = st.state.unwrap_or_default();
    if state != "running" {
        // A member whose PostgreSQL does not run still reports its last role; it means nothing.
        let shown = if state.is_empty() { "unknown" } else { &state };
        return Err(ProbeError::Other(format!(
            "{url}: Patroni says PostgreSQL is not running (state {shown})"
        )));
    }
    let word = st.role.unwrap_or_default();
    let role = role_of(&word);
    if !matches!(role, Role::Primary | Role::Replica) {
        return Err(ProbeError::Other(format!(
            "{url}: Patroni reports an unknown role {word:?}"
        )));
    }
    let state = if word == "standby_leader" {
        // The primary of a standby cluster still replicates from elsewhere: say so.
        format!("{state} (standby_leader)")
    } else {
        state
    };
    Ok(LiveProbe {
        role,
        origin: LiveOrigin {
            address: url.to_string(),
            via: "patroni",
            reachable: true,
            error: None,
            timeline: st.timeline,
            lsn: st.xlog.location.map(lsn),
            received_lsn: st.xlog.received_location.map(lsn),
            replayed_lsn: st.xlog.replayed_location.map(lsn),
            started_at: st.postmaster_start_time,
            server_version: st.server_version.map(version),
            state: Some(state),
            ..LiveOrigin::default()
        },
    })
}

/// Turns one `/cluster` answer into its members.
fn decode_cluster(url: &str, body: &[u8]) -> Result<Vec<PatroniMember>, ProbeError> {
    let st: ClusterStatus = serde_json::from_slice(body)
        .map_err(|e| ProbeError::Other(format!("{url}: not a Patroni cluster status: {e}")))?;
    Ok(st
        .members
        .into_iter()
        .map(|m| PatroniMember {
            name: m.name,
            role: m.role,
            state: m.state,
            host: m.host,
            port: m.port,
            timeline: m.timeline,
            lag_bytes: m.lag.as_ref().and_then(serde_json::Value::as_i64),
        })
        .collect())
}

/// GETs `url` and returns the body; transport failures are `Unreachable`.
async fn get(http: &reqwest::Client, url: &str, timeout: Duration) -> Result<Vec<u8>, ProbeError> {
    let resp = http
        .get(url)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| transport(url, &e))?;
    // Patroni answers /patroni with 503 when PostgreSQL is down, body included: read it anyway.
    let bytes = resp.bytes().await.map_err(|e| transport(url, &e))?;
    Ok(bytes.to_vec())
}

fn transport(url: &str, e: &reqwest::Error) -> ProbeError {
    if e.is_connect() || e.is_timeout() {
        ProbeError::Unreachable(format!("{url}: {}", error_chain(e)))
    } else {
        ProbeError::Other(format!("{url}: {}", error_chain(e)))
    }
}

/// reqwest's top-level message hides the cause (refused, timed out): show the chain.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

fn base(ip: &str, port: u16) -> String {
    if ip.contains(':') && !ip.starts_with('[') {
        format!("http://[{ip}]:{port}")
    } else {
        format!("http://{ip}:{port}")
    }
}

/// Reads one member's role and state from its Patroni REST API.
pub async fn probe_patroni(
    http: &reqwest::Client,
    ip: &str,
    port: u16,
    timeout: Duration,
) -> Result<LiveProbe, ProbeError> {
    let url = format!("{}/patroni", base(ip, port));
    let body = get(http, &url, timeout).await?;
    decode_status(&url, &body)
}

/// Reads the whole cluster as one member sees it (`GET /cluster`).
pub async fn cluster(
    http: &reqwest::Client,
    ip: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<PatroniMember>, ProbeError> {
    let url = format!("{}/cluster", base(ip, port));
    let body = get(http, &url, timeout).await?;
    decode_cluster(&url, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "http://127.31.0.11:8008/patroni";

    // Answers as patroni.md records them for Patroni 3.0.2.
    const PRIMARY_30: &str = r#"{"state": "running", "postmaster_start_time": "2026-11-25 10:00:01.123456+00:00", "role": "master", "server_version": 150018, "xlog": {"location": 67108864}, "timeline": 1, "dcs_last_seen": 1795000000, "database_system_identifier": "7441234567890123456", "patroni": {"version": "3.0.2", "scope": "pg-pat"}}"#;
    const REPLICA_30: &str = r#"{"state": "running", "postmaster_start_time": "2026-11-25 10:00:05.000000+00:00", "role": "replica", "server_version": 150018, "xlog": {"received_location": 67108864, "replayed_location": 67108000, "replayed_timestamp": null, "paused": false}, "timeline": 1, "dcs_last_seen": 1795000000, "database_system_identifier": "7441234567890123456", "patroni": {"version": "3.0.2", "scope": "pg-pat"}}"#;
    const START_FAILED: &str = r#"{"state": "start failed", "role": "replica", "dcs_last_seen": 1795000000, "database_system_identifier": "7441234567890123456", "patroni": {"version": "3.0.2", "scope": "pg-pat"}}"#;
    const CLUSTER: &str = r#"{"members": [{"name": "pg-pat-1", "role": "leader", "state": "running", "api_url": "http://127.31.0.11:8008/patroni", "host": "127.31.0.11", "port": 5432, "timeline": 2}, {"name": "pg-pat-2", "role": "replica", "state": "streaming", "api_url": "http://127.31.0.12:8008/patroni", "host": "127.31.0.12", "port": 5432, "timeline": 2, "lag": 0}, {"name": "pg-pat-3", "role": "replica", "state": "start failed", "api_url": "http://127.31.0.13:8008/patroni", "host": "127.31.0.13", "port": 5432, "lag": "unknown"}]}"#;

    #[test]
    fn patroni_30_master_is_primary() {
        let p = decode_status(URL, PRIMARY_30.as_bytes()).expect("decodes");
        assert_eq!(p.role, Role::Primary);
        assert_eq!(p.origin.via, "patroni");
        assert_eq!(p.origin.address, URL);
        assert!(p.origin.reachable);
        assert_eq!(p.origin.timeline, Some(1));
        assert_eq!(p.origin.lsn.as_deref(), Some("0/4000000"));
        assert_eq!(p.origin.received_lsn, None);
        assert_eq!(p.origin.server_version.as_deref(), Some("15.18"));
        assert_eq!(p.origin.state.as_deref(), Some("running"));
        assert_eq!(
            p.origin.started_at.as_deref(),
            Some("2026-11-25 10:00:01.123456+00:00")
        );
    }

    #[test]
    fn newer_primary_word_is_primary() {
        let body = PRIMARY_30.replace("\"master\"", "\"primary\"");
        let p = decode_status(URL, body.as_bytes()).expect("decodes");
        assert_eq!(p.role, Role::Primary);
    }

    #[test]
    fn standby_leader_is_primary_noted_in_state() {
        let body = PRIMARY_30.replace("\"master\"", "\"standby_leader\"");
        let p = decode_status(URL, body.as_bytes()).expect("decodes");
        assert_eq!(p.role, Role::Primary);
        assert_eq!(p.origin.state.as_deref(), Some("running (standby_leader)"));
    }

    #[test]
    fn replica_positions() {
        let p = decode_status(URL, REPLICA_30.as_bytes()).expect("decodes");
        assert_eq!(p.role, Role::Replica);
        assert_eq!(p.origin.timeline, Some(1));
        assert_eq!(p.origin.lsn, None);
        assert_eq!(p.origin.received_lsn.as_deref(), Some("0/4000000"));
        assert_eq!(p.origin.replayed_lsn.as_deref(), Some("0/3FFFCA0"));
    }

    #[test]
    fn start_failed_says_nothing_about_role() {
        let e = decode_status(URL, START_FAILED.as_bytes()).expect_err("not running");
        match e {
            ProbeError::Other(m) => assert!(m.contains("start failed"), "{m}"),
            other => panic!("wrong error {other:?}"),
        }
    }

    #[test]
    fn undecodable_names_the_url() {
        let e = decode_status(URL, b"<html>proxy</html>").expect_err("not JSON");
        match e {
            ProbeError::Other(m) => assert!(m.contains(URL), "{m}"),
            other => panic!("wrong error {other:?}"),
        }
    }

    #[test]
    fn cluster_with_unknown_lag() {
        let m = decode_cluster("http://x/cluster", CLUSTER.as_bytes()).expect("decodes");
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].name, "pg-pat-1");
        assert_eq!(m[0].live_role(), Role::Primary);
        assert_eq!(m[0].lag_bytes, None);
        assert_eq!(m[0].timeline, Some(2));
        assert_eq!(m[1].live_role(), Role::Replica);
        assert_eq!(m[1].state, "streaming");
        assert_eq!(m[1].lag_bytes, Some(0));
        assert_eq!(m[1].host.as_deref(), Some("127.31.0.12"));
        assert_eq!(m[1].port, Some(5432));
        assert_eq!(m[2].lag_bytes, None);
        assert_eq!(m[2].timeline, None);
    }

    #[test]
    fn lsn_and_version_render_like_postgres() {
        assert_eq!(lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(version(90_624), "9.6.24");
    }

    #[tokio::test]
    async fn refused_is_unreachable() {
        // Bind then drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("client");
        let e = probe_patroni(&http, "127.0.0.1", port, Duration::from_secs(2))
            .await
            .expect_err("nothing listens");
        assert!(matches!(e, ProbeError::Unreachable(_)), "{e:?}");
    }
}
