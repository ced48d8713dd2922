//! The HTTP side of the simulator: a hyper 1 server speaking Consul's HTTP API.
//!
//! Agent endpoints answer as the agent of the node whose address the request was sent
//! to: with a loopback listen address the server binds `0.0.0.0:<port>`, drops every
//! connection whose local address is not loopback, and maps each connection's local IP
//! to the agent node with that address (the listen address itself is the server node).

use super::catalog::{Catalog, CheckStatus, NodeDef, ServiceDef};
use super::faults::{Fault, Faults};
use super::handlers::{self, Ctx};
use super::request_log::{LoggedRequest, RequestLog};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// How the simulator behaves.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The ACL master token; when set, the default policy is deny.
    pub acl_token: Option<String>,
    /// Datacenter name; None uses the catalog's.
    pub datacenter: Option<String>,
    /// Name of the server node whose agent answers on the listen address.
    pub server_node: String,
    /// Consul version reported by `/v1/agent/self`.
    pub version: String,
    /// Other datacenters this agent reaches over the WAN, nearest first.
    pub remote_datacenters: Vec<RemoteDatacenter>,
}

/// Another datacenter: its catalog, or `None` when it is listed but cannot be reached.
#[derive(Clone, Debug)]
pub struct RemoteDatacenter {
    /// Its name.
    pub name: String,
    /// What its servers hold; `None` answers every read with `No path to datacenter`.
    pub catalog: Option<Catalog>,
}

impl RemoteDatacenter {
    /// The other datacenters of a fleet spec, each with the catalog its spec renders.
    pub fn from_spec(spec: &super::spec::FleetSpec) -> Vec<RemoteDatacenter> {
        spec.datacenters
            .iter()
            .map(|dc| RemoteDatacenter {
                name: dc.name.clone(),
                catalog: (!dc.unreachable).then(|| Catalog::from_spec(&spec.remote(dc))),
            })
            .collect()
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            acl_token: None,
            datacenter: None,
            server_node: "consul-server".into(),
            version: "1.17.3".into(),
            remote_datacenters: Vec::new(),
        }
    }
}

/// An encoded response body, valid for one (index, reset epoch) of its key.
pub(crate) struct Cached {
    pub index: u64,
    pub epoch: u64,
    pub body: Bytes,
}

/// Most distinct query shapes kept encoded before the cache is flushed.
const CACHE_LIMIT: usize = 4096;

/// Everything request handlers share.
pub(crate) struct Shared {
    pub catalog: Catalog,
    pub faults: Faults,
    pub opts: SimOptions,
    pub dc: String,
    pub requests: AtomicU64,
    pub log: RequestLog,
    pub cache: Mutex<HashMap<String, Cached>>,
    pub server_node: String,
    pub server_ip: IpAddr,
}

impl Shared {
    /// The agent node answering on `ip`.
    pub fn agent_for(&self, ip: IpAddr) -> Option<String> {
        match self.catalog.agent_at(ip) {
            // A node whose serfHealth is critical has no running agent to answer.
            Some(n)
                if self.catalog.check_status(&n, "serfHealth") == Some(CheckStatus::Critical) =>
            {
                None
            }
            Some(n) => Some(n),
            None if ip == self.server_ip => Some(self.server_node.clone()),
            None => None,
        }
    }

    /// The catalog answering for datacenter `dc` (empty: the local one), with its name;
    /// `None` for a datacenter that is unknown or cannot be reached.
    pub fn catalog_for<'a>(&'a self, dc: &'a str) -> Option<(&'a str, &'a Catalog)> {
        if dc.is_empty() || dc == self.dc {
            return Some((self.dc.as_str(), &self.catalog));
        }
        self.opts
            .remote_datacenters
            .iter()
            .find(|r| r.name == dc)
            .and_then(|r| r.catalog.as_ref().map(|c| (r.name.as_str(), c)))
    }

    /// Every datacenter as `/v1/catalog/datacenters` lists them: this one, then the
    /// others by distance.
    pub fn datacenters(&self) -> Vec<&str> {
        std::iter::once(self.dc.as_str())
            .chain(self.opts.remote_datacenters.iter().map(|r| r.name.as_str()))
            .collect()
    }

    /// A cached body for `key` at (`index`, `epoch`), if one is stored.
    pub fn cached(&self, key: &str, index: u64, epoch: u64) -> Option<Bytes> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(key)
            .filter(|c| c.index == index && c.epoch == epoch)
            .map(|c| c.body.clone())
    }

    /// Stores an encoded body.
    pub fn store(&self, key: String, index: u64, epoch: u64, body: Bytes) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_LIMIT && !cache.contains_key(&key) {
            cache.clear();
        }
        cache.insert(key, Cached { index, epoch, body });
    }
}

/// A running simulator.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// Marks a request whose connection must be dropped without an answer.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

impl SimServer {
    /// Binds `listen` and serves `catalog` until [`SimServer::shutdown`].
    pub async fn start(
        listen: SocketAddr,
        catalog: Catalog,
        opts: SimOptions,
    ) -> io::Result<SimServer> {
        let loopback = matches!(listen.ip(), IpAddr::V4(v4) if v4.is_loopback());
        let bind = if loopback {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), listen.port())
        } else {
            listen
        };
        let listener = TcpListener::bind(bind).await?;
        let port = listener.local_addr()?.port();
        let server_ip = if listen.ip().is_unspecified() {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            listen.ip()
        };
        let addr = SocketAddr::new(server_ip, port);
        let server_node = match catalog.agent_at(server_ip) {
            Some(n) => n,
            None => {
                let name = opts.server_node.clone();
                catalog.register_node(NodeDef {
                    name: name.clone(),
                    address: server_ip.to_string(),
                    meta: BTreeMap::from([("consul-network-segment".into(), String::new())]),
                    agent: true,
                    ..NodeDef::default()
                });
                let consul = ServiceDef {
                    id: "consul".into(),
                    name: "consul".into(),
                    port: 8300,
                    ..ServiceDef::default()
                };
                let _ = catalog.register_service(&name, consul);
                name
            }
        };
        let dc = opts
            .datacenter
            .clone()
            .unwrap_or_else(|| catalog.datacenter());
        let shared = Arc::new(Shared {
            faults: Faults::new(catalog.clone()),
            catalog,
            opts,
            dc,
            requests: AtomicU64::new(0),
            log: RequestLog::default(),
            cache: Mutex::new(HashMap::new()),
            server_node,
            server_ip,
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, shared.clone(), stop_rx, loopback));
        Ok(SimServer {
            addr,
            shared,
            stop,
            task,
        })
    }

    /// The address clients use (the listen IP with the bound port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ip:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://<ip>:<port>` for another loopback address (to reach that node's agent).
    pub fn url_at(&self, ip: IpAddr) -> String {
        format!("http://{}", SocketAddr::new(ip, self.addr.port()))
    }

    /// The catalog being served.
    pub fn catalog(&self) -> Catalog {
        self.shared.catalog.clone()
    }

    /// The catalog of another datacenter this agent reaches (None when unknown or
    /// unreachable).
    pub fn catalog_of(&self, dc: &str) -> Option<Catalog> {
        self.shared.catalog_for(dc).map(|(_, c)| c.clone())
    }

    /// The fault plan.
    pub fn faults(&self) -> Faults {
        self.shared.faults.clone()
    }

    /// The name of the server node (the agent answering on the listen address).
    pub fn server_node(&self) -> &str {
        &self.shared.server_node
    }

    /// Total HTTP requests served so far.
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// The requests received after the `after`-th (0 for all that are kept, the latest
    /// 10,000), oldest first; compare with [`SimServer::request_count`] to take a mark.
    pub fn requests_since(&self, after: u64) -> Vec<LoggedRequest> {
        self.shared.log.since(after)
    }

    /// Stops accepting, aborts open connections and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    loopback_only: bool,
) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let Ok(local) = stream.local_addr() else { continue };
                    if loopback_only && !local.ip().is_loopback() {
                        continue;
                    }
                    // No agent listens on an address without a live agent node.
                    if shared.agent_for(local.ip()).is_none() {
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    conns.spawn(serve(stream, local.ip(), shared.clone()));
                }
                // Out of descriptors or similar: back off instead of spinning.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
            },
        }
        while conns.try_join_next().is_some() {}
    }
    conns.shutdown().await;
}

async fn serve(stream: TcpStream, local: IpAddr, shared: Arc<Shared>) {
    let service = service_fn(move |req| {
        let shared = shared.clone();
        async move { handle(shared, local, req).await }
    });
    let _ = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn handle(
    shared: Arc<Shared>,
    local: IpAddr,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let seq = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
    shared.log.record(LoggedRequest {
        seq,
        method: req.method().to_string(),
        path: req.uri().path().to_string(),
        query: req.uri().query().map(str::to_string),
    });
    let (latency, fault) = shared.faults.take();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let ctx = Ctx {
        shared: &shared,
        local,
        catalog: &shared.catalog,
        dc: &shared.dc,
    };
    match fault {
        Some(Fault::Drop) => Err(DropConnection),
        Some(Fault::Status(code, body)) => Ok(handlers::plain(&ctx, code, body)),
        Some(Fault::Truncate) => {
            let mut resp = handlers::route(&ctx, req).await?;
            let body = http_body_util::BodyExt::collect(resp.body_mut())
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            *resp.body_mut() = Full::new(body.slice(..body.len() / 2));
            Ok(resp)
        }
        None => handlers::route(&ctx, req).await,
    }
}
