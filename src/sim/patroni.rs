//! Patroni's REST API (3.0.2 shapes) for every simulated database member, so that the
//! live source has a witness to ask: `GET /patroni`, `GET /cluster` and the health
//! endpoints `/primary` (`/master`, `/leader`, `/`), `/replica` and `/health`.
//!
//! One listener on `0.0.0.0:<port>` answers for every member: the address a connection
//! was made to picks the member (Linux answers all of 127.0.0.0/8 on `lo`), exactly as the
//! Consul side maps addresses to agents. Connections to any other address, and to a member
//! whose Consul node is down (a dead machine), are reset without an answer.

use super::spec::{FleetSpec, MemberSpec};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Serialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// Patroni's conventional REST API port.
pub const DEFAULT_PORT: u16 = 8008;

/// The Patroni release whose answers are imitated.
const VERSION: &str = "3.0.2";
/// PostgreSQL 15.18, as `server_version` spells it.
const SERVER_VERSION: u64 = 150_018;
/// PostgreSQL's port in every member's `/cluster` entry.
const PG_PORT: u16 = 5432;

/// What a member is to Patroni.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Leader,
    StandbyLeader,
    Replica,
}

impl Role {
    /// The fleet spec's real role: `offline`, `delayed` and unknown words are replicas to
    /// Patroni, which only knows who leads.
    fn of(member: &MemberSpec) -> Role {
        match member.role.as_str() {
            "primary" => Role::Leader,
            "standby_leader" => Role::StandbyLeader,
            _ => Role::Replica,
        }
    }

    /// The word of `GET /patroni` (3.0 still says `master`).
    fn status_word(self) -> &'static str {
        match self {
            Role::Leader => "master",
            Role::StandbyLeader => "standby_leader",
            Role::Replica => "replica",
        }
    }

    /// The word of `GET /cluster`.
    fn cluster_word(self) -> &'static str {
        match self {
            Role::Leader => "leader",
            Role::StandbyLeader => "standby_leader",
            Role::Replica => "replica",
        }
    }
}

/// One member that answers.
#[derive(Clone, Debug)]
struct Member {
    name: String,
    scope: String,
    /// The datacenter and scope: each datacenter's Patroni cluster is its own, even under
    /// one name (a standby pair).
    group: String,
    ip: IpAddr,
    role: Role,
    timeline: u64,
}

/// Everything the handlers read; fixed for the server's life.
struct Members {
    by_ip: HashMap<IpAddr, Member>,
    /// Members of each cluster (by datacenter and scope) in spec order, for `GET /cluster`.
    clusters: HashMap<String, Vec<IpAddr>>,
    port: u16,
    started: String,
}

/// A running simulated Patroni fleet.
pub struct PatroniSim {
    port: u16,
    members: usize,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PatroniSim {
    /// Binds `0.0.0.0:<port>` (0: any free port) and answers for every member of `spec`
    /// whose node is up, until [`PatroniSim::shutdown`].
    pub async fn start(spec: &FleetSpec, port: u16) -> io::Result<PatroniSim> {
        let listener =
            TcpListener::bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)).await?;
        let port = listener.local_addr()?.port();
        let members = Arc::new(members(spec, port));
        let count = members.by_ip.len();
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, members, stop_rx));
        Ok(PatroniSim {
            port,
            members: count,
            stop,
            task,
        })
    }

    /// The port every member's REST API answers on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How many members answer.
    pub fn member_count(&self) -> usize {
        self.members
    }

    /// `http://<ip>:<port>`: the REST API of the member at `ip`.
    pub fn url_at(&self, ip: IpAddr) -> String {
        format!("http://{}", SocketAddr::new(ip, self.port))
    }

    /// Stops accepting, aborts open connections and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

fn members(spec: &FleetSpec, port: u16) -> Members {
    let mut by_ip = HashMap::new();
    let mut clusters: HashMap<String, Vec<IpAddr>> = HashMap::new();
    // Every datacenter's members answer on their own addresses; one that cannot be
    // reached has no path from here either.
    let local = spec
        .members()
        .map(|(c, m)| (spec.datacenter.as_str(), c, m));
    let remote = spec
        .datacenters
        .iter()
        .filter(|dc| !dc.unreachable)
        .flat_map(|dc| {
            dc.clusters
                .iter()
                .flat_map(move |c| c.members.iter().map(move |m| (dc.name.as_str(), c, m)))
        });
    for (dc, cluster, m) in local.chain(remote) {
        // A dead machine answers nothing, and its DCS key has expired: it is nowhere.
        if m.consul.node_down {
            continue;
        }
        // The spec was validated; an address that does not parse has no listener anyway.
        let Ok(ip) = m.ip.parse::<IpAddr>() else {
            continue;
        };
        if by_ip.contains_key(&ip) {
            continue;
        }
        let group = format!("{dc}/{}", cluster.name);
        by_ip.insert(
            ip,
            Member {
                name: crate::identity::instance_name(&cluster.name, m.seq),
                scope: cluster.name.clone(),
                group: group.clone(),
                ip,
                role: Role::of(m),
                timeline: cluster.timeline,
            },
        );
        clusters.entry(group).or_default().push(ip);
    }
    Members {
        by_ip,
        clusters,
        port,
        started: utc_timestamp(SystemTime::now()),
    }
}

async fn accept_loop(
    listener: TcpListener,
    members: Arc<Members>,
    mut stop: watch::Receiver<bool>,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let Ok(local) = stream.local_addr() else { continue };
                    // Only loopback addresses stand for members; a dead member's address
                    // has no process behind it, so the client sees a reset, not an answer.
                    if !local.ip().is_loopback() || !members.by_ip.contains_key(&local.ip()) {
                        let _ = stream.set_zero_linger();
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve(stream, local.ip(), members.clone()));
                }
                // Out of descriptors or similar: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
        while conns.try_join_next().is_some() {}
    }
    conns.shutdown().await;
}

async fn serve(stream: TcpStream, local: IpAddr, members: Arc<Members>) {
    let service = service_fn(move |req: Request<Incoming>| {
        let members = members.clone();
        async move { Ok::<_, Infallible>(answer(&members, local, req.method(), req.uri().path())) }
    });
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The answer of the member at `local` to `method path`.
fn answer(members: &Members, local: IpAddr, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let Some(me) = members.by_ip.get(&local) else {
        return json(StatusCode::NOT_FOUND, b"{}".to_vec());
    };
    // Patroni itself also takes POST/PATCH (switchover, config), which no source needs.
    if method != Method::GET {
        return json(StatusCode::METHOD_NOT_ALLOWED, b"{}".to_vec());
    }
    let healthy = |yes: bool| {
        let code = if yes {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        json(code, encode(&status(members, me)))
    };
    match path {
        "/patroni" | "/health" => healthy(true),
        // `/` is Patroni's primary check too.
        "/" | "/primary" | "/master" => healthy(me.role == Role::Leader),
        "/leader" => healthy(me.role != Role::Replica),
        "/replica" => healthy(me.role == Role::Replica),
        "/cluster" => json(StatusCode::OK, encode(&cluster(members, &me.group))),
        _ => json(StatusCode::NOT_FOUND, b"{}".to_vec()),
    }
}

fn json(code: StatusCode, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Plain structs of strings and numbers always serialise.
    serde_json::to_vec(v).unwrap_or_else(|_| b"{}".to_vec())
}

/// `GET /patroni`, fields in Patroni 3.0.2's order.
#[derive(Serialize)]
struct Status<'a> {
    state: &'static str,
    postmaster_start_time: &'a str,
    role: &'static str,
    server_version: u64,
    xlog: Xlog,
    timeline: u64,
    dcs_last_seen: u64,
    database_system_identifier: String,
    patroni: PatroniInfo<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Xlog {
    Primary {
        location: u64,
    },
    Replica {
        received_location: u64,
        replayed_location: u64,
        replayed_timestamp: Option<String>,
        paused: bool,
    },
}

#[derive(Serialize)]
struct PatroniInfo<'a> {
    version: &'static str,
    scope: &'a str,
}

/// `GET /cluster`.
#[derive(Serialize)]
struct ClusterOut<'a> {
    members: Vec<ClusterMember<'a>>,
}

#[derive(Serialize)]
struct ClusterMember<'a> {
    name: &'a str,
    role: &'static str,
    state: &'static str,
    api_url: String,
    host: String,
    port: u16,
    timeline: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lag: Option<u64>,
}

/// Where WAL is on a timeline: the same on every member, so replicas have no lag.
fn wal_position(timeline: u64) -> u64 {
    0x0400_0000 * (timeline + 1) + 0x60
}

fn status<'a>(members: &'a Members, me: &'a Member) -> Status<'a> {
    let pos = wal_position(me.timeline);
    let xlog = match me.role {
        Role::Leader => Xlog::Primary { location: pos },
        Role::StandbyLeader | Role::Replica => Xlog::Replica {
            received_location: pos,
            replayed_location: pos,
            replayed_timestamp: None,
            paused: false,
        },
    };
    Status {
        state: "running",
        postmaster_start_time: &members.started,
        role: me.role.status_word(),
        server_version: SERVER_VERSION,
        xlog,
        timeline: me.timeline,
        dcs_last_seen: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        database_system_identifier: system_identifier(&me.scope),
        patroni: PatroniInfo {
            version: VERSION,
            scope: &me.scope,
        },
    }
}

fn cluster<'a>(members: &'a Members, group: &str) -> ClusterOut<'a> {
    let ips = members.clusters.get(group).map_or(&[][..], Vec::as_slice);
    ClusterOut {
        members: ips
            .iter()
            .filter_map(|ip| members.by_ip.get(ip))
            .map(|m| ClusterMember {
                name: &m.name,
                role: m.role.cluster_word(),
                state: "running",
                api_url: format!("http://{}/patroni", SocketAddr::new(m.ip, members.port)),
                host: m.ip.to_string(),
                port: PG_PORT,
                timeline: m.timeline,
                lag: (m.role == Role::Replica).then_some(0),
            })
            .collect(),
    }
}

/// A stable 19-digit identifier per cluster (every member of a cluster shares one).
fn system_identifier(scope: &str) -> String {
    // FNV-1a: stable across runs and platforms, unlike the std hasher.
    let hash = scope.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    (7_000_000_000_000_000_000 + hash % 1_000_000_000_000_000_000).to_string()
}

/// `2026-11-25 10:00:01.123456+00:00`, the way Patroni prints `postmaster_start_time`.
fn utc_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:06}+00:00",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60,
        d.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_like_patroni() {
        let t = UNIX_EPOCH + Duration::new(1_795_000_000, 123_456_000);
        assert_eq!(utc_timestamp(t), "2026-11-18 11:06:40.123456+00:00");
        assert_eq!(
            utc_timestamp(UNIX_EPOCH),
            "1970-01-01 00:00:00.000000+00:00"
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(utc_timestamp(leap), "2000-02-29 00:00:00.000000+00:00");
    }

    #[test]
    fn identifiers_are_stable_and_per_cluster() {
        let a = system_identifier("pg-test");
        assert_eq!(a.len(), 19);
        assert_eq!(a, system_identifier("pg-test"));
        assert_ne!(a, system_identifier("pg-web"));
    }

    #[test]
    fn every_reachable_datacenters_members_answer_each_in_its_own_cluster() {
        let spec = FleetSpec::from_yaml(
            "datacenter: dc1
clusters:
  - name: pg-meta
    members:
      - { seq: 1, ip: 127.41.0.1, role: primary }
datacenters:
  - name: dc2
    clusters:
      - name: pg-meta
        members:
          - { seq: 1, ip: 127.42.0.1, role: primary }
          - { seq: 2, ip: 127.42.0.2, role: replica }
  - name: dc3
    unreachable: true
    clusters:
      - name: pg-far
        members:
          - { seq: 1, ip: 127.43.0.1, role: primary }
",
        )
        .expect("spec");
        let m = members(&spec, 8008);
        let at = |ip: &str| m.by_ip.get(&ip.parse::<IpAddr>().expect("ip"));
        assert_eq!(at("127.42.0.2").map(|m| m.role), Some(Role::Replica));
        // One name, two datacenters: two Patroni clusters, each listing only its own.
        assert_eq!(m.clusters["dc1/pg-meta"].len(), 1);
        assert_eq!(m.clusters["dc2/pg-meta"].len(), 2);
        // No path to dc3: its members do not answer.
        assert!(at("127.43.0.1").is_none());
    }

    #[test]
    fn demo_members_dead_nodes_and_roles() {
        let m = members(&FleetSpec::demo(), 8008);
        let at = |ip: &str| m.by_ip.get(&ip.parse::<IpAddr>().expect("ip"));
        // pg-orders-5's node is down: it answers nothing and is not in its cluster.
        assert!(at("127.10.10.35").is_none());
        assert_eq!(m.clusters["dc1/pg-orders"].len(), 4);
        let web3 = at("127.10.10.43").expect("pg-web-3");
        assert_eq!((web3.role, web3.timeline), (Role::Leader, 2));
        // offline is a replica to Patroni; the replaced node answers on its new address.
        assert_eq!(at("127.10.10.58").map(|m| m.role), Some(Role::Replica));
        assert_eq!(
            at("127.10.10.67").map(|m| m.name.as_str()),
            Some("pg-stats-7")
        );
        assert_eq!(at("127.10.10.10").map(|m| m.timeline), Some(1));
    }
}
