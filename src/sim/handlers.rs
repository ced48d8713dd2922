//! Consul HTTP endpoints: routing, ACLs, blocking reads and writes, with Consul's
//! exact status codes and plain-text error bodies.

use super::catalog::{CatalogError, NodeDef, State};
use super::decode;
use super::node_reads;
use super::query::Query;
use super::server::{DropConnection, Shared};
use super::wire::{self, AgentServiceOut, CatalogServiceOut, HealthEntryOut, NodeOut};
use crate::go_syntax::{parse_bool as parse_go_bool, parse_duration};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

/// What a handler knows about the request's connection, and the datacenter it reads.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub local: IpAddr,
    /// The catalog of the datacenter asked for (`?dc=`; the agent's own by default).
    pub catalog: &'a super::catalog::Catalog,
    /// That datacenter's name.
    pub dc: &'a str,
}

pub(super) type Resp = Response<Full<Bytes>>;

const MAX_BODY: usize = 4 << 20;
const DEFAULT_WAIT: Duration = Duration::from_secs(300);
const MAX_WAIT: Duration = Duration::from_secs(600);

fn policy(ctx: &Ctx<'_>) -> HeaderValue {
    HeaderValue::from_static(if ctx.shared.opts.acl_token.is_some() {
        "deny"
    } else {
        "allow"
    })
}

/// A plain-text answer, the way Consul reports every error.
pub(crate) fn plain(ctx: &Ctx<'_>, code: u16, body: impl Into<String>) -> Resp {
    let mut r = Response::new(Full::new(Bytes::from(body.into())));
    *r.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        HeaderName::from_static("x-consul-default-acl-policy"),
        policy(ctx),
    );
    r
}

/// An error answer (status + plain text), turned into a response at the end.
pub(super) struct Fail {
    code: u16,
    body: String,
}

impl Fail {
    fn into_resp(self, ctx: &Ctx<'_>) -> Resp {
        plain(ctx, self.code, self.body)
    }
}

pub(super) fn fail(code: u16, body: impl Into<String>) -> Fail {
    Fail {
        code,
        body: body.into(),
    }
}

/// Encodes a read result (state borrowed under the read lock, pretty or compact).
type Render<'a> = dyn Fn(&State, bool) -> Result<Vec<u8>, serde_json::Error> + Sync + 'a;

/// A JSON answer; `index` adds the blocking-query headers.
fn json(ctx: &Ctx<'_>, body: Bytes, index: Option<u64>) -> Resp {
    let mut r = Response::new(Full::new(body));
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(
        HeaderName::from_static("x-consul-default-acl-policy"),
        policy(ctx),
    );
    if let Some(i) = index {
        h.insert(
            HeaderName::from_static("x-consul-index"),
            HeaderValue::from(i.max(1)),
        );
        h.insert(
            HeaderName::from_static("x-consul-knownleader"),
            HeaderValue::from_static("true"),
        );
        h.insert(
            HeaderName::from_static("x-consul-lastcontact"),
            HeaderValue::from_static("0"),
        );
    }
    r
}

pub(super) fn encode<T: Serialize + ?Sized>(
    v: &T,
    pretty: bool,
) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(256);
    if pretty {
        let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
        v.serialize(&mut ser)?;
    } else {
        serde_json::to_writer(&mut out, v)?;
    }
    Ok(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Some(v) = std::str::from_utf8(&b[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The endpoints the simulator knows, with their path argument.
enum Endpoint {
    CatalogServices,
    CatalogService(String),
    CatalogNodes,
    HealthService(String),
    CatalogDatacenters,
    HealthState(String),
    HealthNode(String),
    CatalogNodeServices(String),
    AgentSelf,
    AgentServices,
    StatusLeader,
    AgentRegister,
    AgentDeregister(String),
    CatalogRegister,
    CatalogDeregister,
}

impl Endpoint {
    fn parse(path: &str) -> Option<Endpoint> {
        let rest = path.strip_prefix("/v1/")?;
        let arg = |prefix: &str| rest.strip_prefix(prefix).map(percent_decode);
        Some(match rest {
            "catalog/services" => Endpoint::CatalogServices,
            "catalog/nodes" => Endpoint::CatalogNodes,
            "catalog/datacenters" => Endpoint::CatalogDatacenters,
            "agent/self" => Endpoint::AgentSelf,
            "agent/services" => Endpoint::AgentServices,
            "status/leader" => Endpoint::StatusLeader,
            "agent/service/register" => Endpoint::AgentRegister,
            "catalog/register" => Endpoint::CatalogRegister,
            "catalog/deregister" => Endpoint::CatalogDeregister,
            _ => {
                if let Some(n) = arg("catalog/service/") {
                    Endpoint::CatalogService(n)
                } else if let Some(n) = arg("health/service/") {
                    Endpoint::HealthService(n)
                } else if let Some(s) = arg("health/state/") {
                    Endpoint::HealthState(s)
                } else if let Some(n) = arg("health/node/") {
                    Endpoint::HealthNode(n)
                } else if let Some(n) = arg("catalog/node-services/") {
                    Endpoint::CatalogNodeServices(n)
                } else if let Some(n) = arg("agent/service/deregister/") {
                    Endpoint::AgentDeregister(n)
                } else {
                    return None;
                }
            }
        })
    }

    fn method(&self) -> Method {
        match self {
            Endpoint::AgentRegister
            | Endpoint::AgentDeregister(_)
            | Endpoint::CatalogRegister
            | Endpoint::CatalogDeregister => Method::PUT,
            _ => Method::GET,
        }
    }
}

/// How the request's token stands against the ACL.
pub(super) enum Token {
    Allowed,
    Anonymous,
}

fn token_of(req: &Request<Incoming>, q: &Query) -> Option<String> {
    let h = req.headers();
    if let Some(t) = h.get("x-consul-token").and_then(|v| v.to_str().ok()) {
        return Some(t.trim().to_string());
    }
    if let Some(t) = h
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_string());
    }
    q.get("token").map(str::to_string)
}

fn same_secret(a: &str, b: &str) -> bool {
    // Constant-time for equal lengths, so the master token cannot be guessed by timing.
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Resolves the token: Err is the 403 answer for an unknown token.
fn resolve(ctx: &Ctx<'_>, token: Option<String>) -> Result<Token, Fail> {
    let Some(master) = ctx.shared.opts.acl_token.as_deref() else {
        return Ok(Token::Allowed);
    };
    match token.filter(|t| !t.is_empty()) {
        None => Ok(Token::Anonymous),
        Some(t) if same_secret(&t, master) => Ok(Token::Allowed),
        Some(_) => Err(fail(403, "ACL not found")),
    }
}

pub(super) fn require(t: &Token, perm: &str, on: &str) -> Result<(), Fail> {
    match t {
        Token::Allowed => Ok(()),
        Token::Anonymous => Err(fail(
            403,
            format!("Permission denied: anonymous token lacks permission '{perm}' on {on:?}"),
        )),
    }
}

/// Routes one request; `Err` drops the connection (only when its agent vanished).
pub(crate) async fn route(ctx: &Ctx<'_>, req: Request<Incoming>) -> Result<Resp, DropConnection> {
    let Some(ep) = Endpoint::parse(req.uri().path()) else {
        return Ok(plain(
            ctx,
            404,
            "Invalid URL path: not a recognized HTTP API endpoint",
        ));
    };
    let allowed = ep.method();
    let allow = if allowed == Method::PUT {
        "OPTIONS,PUT"
    } else {
        "OPTIONS,GET"
    };
    if req.method() == Method::OPTIONS {
        let mut r = plain(ctx, 200, "");
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return Ok(r);
    }
    if *req.method() != allowed {
        let mut r = plain(ctx, 405, format!("method {} not allowed", req.method()));
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        return Ok(r);
    }
    let q = Query::parse(req.uri().query());
    if q.has("ns") {
        return Ok(plain(
            ctx,
            400,
            "Invalid query parameter: \"ns\" - Namespaces are a Consul Enterprise feature",
        ));
    }
    if q.has("partition") {
        return Ok(plain(
            ctx,
            400,
            "Invalid query parameter: \"partition\" - Partitions are a Consul Enterprise feature",
        ));
    }
    let Some((dc, catalog)) = ctx.shared.catalog_for(q.get("dc").unwrap_or_default()) else {
        return Ok(plain(ctx, 500, "No path to datacenter"));
    };
    let ctx = &Ctx {
        catalog,
        dc,
        ..*ctx
    };
    if q.has("filter") && allowed == Method::GET {
        return Ok(plain(
            ctx,
            500,
            "Failed to create boolean expression evaluator: ?filter is not supported by roster sim",
        ));
    }
    let token = match resolve(ctx, token_of(&req, &q)) {
        Ok(t) => t,
        Err(f) => return Ok(f.into_resp(ctx)),
    };
    let agent = || ctx.shared.agent_for(ctx.local).ok_or(DropConnection);
    let result = match ep {
        Endpoint::CatalogServices => catalog_services(ctx, &q, &token).await,
        Endpoint::CatalogService(name) => service_read(ctx, &q, &token, name, false).await,
        Endpoint::HealthService(name) => service_read(ctx, &q, &token, name, true).await,
        Endpoint::CatalogNodes => catalog_nodes(ctx, &q, &token).await,
        // Any token may list datacenters, as in Consul.
        Endpoint::CatalogDatacenters => encode(&ctx.shared.datacenters(), q.has("pretty"))
            .map(|b| json(ctx, b.into(), None))
            .map_err(|e| fail(500, e.to_string())),
        Endpoint::HealthState(s) => node_reads::health_state(ctx, &q, &token, s).await,
        Endpoint::HealthNode(n) => node_reads::health_node(ctx, &q, &token, n).await,
        Endpoint::CatalogNodeServices(n) => node_reads::node_services(ctx, &q, &token, n).await,
        Endpoint::AgentSelf => agent_self(ctx, &q, &token, &agent()?),
        Endpoint::AgentServices => agent_services(ctx, &q, &token, &agent()?),
        Endpoint::StatusLeader => {
            let leader = format!("{}:8300", ctx.shared.server_ip);
            encode(&leader, q.has("pretty"))
                .map(|b| json(ctx, b.into(), None))
                .map_err(|e| fail(500, e.to_string()))
        }
        Endpoint::AgentRegister => {
            let node = agent()?;
            let body = read_body(req).await;
            body.and_then(|b| agent_register(ctx, &q, &token, &node, &b))
        }
        Endpoint::AgentDeregister(id) => agent_deregister(ctx, &token, &agent()?, &id),
        Endpoint::CatalogRegister => {
            let body = read_body(req).await;
            body.and_then(|b| catalog_register(ctx, &token, &b))
        }
        Endpoint::CatalogDeregister => {
            let body = read_body(req).await;
            body.and_then(|b| catalog_deregister(ctx, &token, &b))
        }
    };
    Ok(result.unwrap_or_else(|f| f.into_resp(ctx)))
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, Fail> {
    match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => Err(fail(400, format!("Request decode failed: {e}"))),
    }
}

/// Parses `?index`/`?wait`; Err is the 400 answer.
fn blocking_params(q: &Query) -> Result<(u64, Duration), Fail> {
    let index = match q.get("index") {
        None | Some("") => 0,
        Some(v) => v.parse::<u64>().map_err(|_| fail(400, "Invalid index"))?,
    };
    let wait = match q.get("wait") {
        None | Some("") => DEFAULT_WAIT,
        Some(v) => parse_duration(v)
            .ok()
            .ok_or_else(|| fail(400, "Invalid wait time"))?,
    };
    let wait = if wait.is_zero() {
        DEFAULT_WAIT
    } else {
        wait.min(MAX_WAIT)
    };
    Ok((index, wait))
}

/// Waits until `index_of` passes the client's index (or the index was reset), or `wait`
/// (plus up to wait/16 jitter, as Consul adds) elapses.
async fn block(ctx: &Ctx<'_>, min: u64, wait: Duration, index_of: &(dyn Fn(&State) -> u64 + Sync)) {
    if min == 0 {
        return;
    }
    let jitter_ms = (wait.as_millis() / 16) as u64;
    let jitter = Duration::from_millis(rand::rng().random_range(0..=jitter_ms));
    let deadline = tokio::time::Instant::now() + wait + jitter;
    let mut rx = ctx.catalog.subscribe();
    let epoch0 = ctx.catalog.epoch();
    loop {
        {
            let st = ctx.catalog.read();
            if index_of(&st).max(1) > min || st.epoch != epoch0 {
                return;
            }
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep_until(deadline) => return,
        }
    }
}

/// A blocking read answered from the body cache when the index has not moved.
pub(super) async fn blocking_read(
    ctx: &Ctx<'_>,
    q: &Query,
    key: String,
    index_of: &(dyn Fn(&State) -> u64 + Sync),
    render: &Render<'_>,
) -> Result<Resp, Fail> {
    let (min, wait) = blocking_params(q)?;
    block(ctx, min, wait, index_of).await;
    let pretty = q.has("pretty");
    // Each datacenter has its own indexes: a body is cached per datacenter.
    let key = format!("{}\u{0}{key}", ctx.dc);
    let key = if pretty { format!("{key}&pretty") } else { key };
    let st = ctx.catalog.read();
    let index = index_of(&st).max(1);
    if let Some(body) = ctx.shared.cached(&key, index, st.epoch) {
        return Ok(json(ctx, body, Some(index)));
    }
    let epoch = st.epoch;
    let body = Bytes::from(render(&st, pretty).map_err(|e| fail(500, e.to_string()))?);
    drop(st);
    ctx.shared.store(key, index, epoch, body.clone());
    Ok(json(ctx, body, Some(index)))
}

async fn catalog_services(ctx: &Ctx<'_>, q: &Query, t: &Token) -> Result<Resp, Fail> {
    require(t, "service:read", "")?;
    let render = |st: &State, pretty: bool| {
        let mut out: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (name, (_, set)) in &st.names {
            if set.is_empty() {
                continue;
            }
            let mut tags: Vec<&str> = set
                .iter()
                .filter_map(|(n, id)| st.nodes.get(n)?.services.get(id))
                .flat_map(|s| s.def.tags.iter().map(String::as_str))
                .collect();
            tags.sort_unstable();
            tags.dedup();
            out.insert(name, tags);
        }
        encode(&out, pretty)
    };
    let index_of = |st: &State| st.services_index;
    blocking_read(ctx, q, "services".into(), &index_of, &render).await
}

async fn catalog_nodes(ctx: &Ctx<'_>, q: &Query, t: &Token) -> Result<Resp, Fail> {
    require(t, "node:read", "")?;
    let dc = ctx.dc;
    let render = |st: &State, pretty: bool| {
        let v: Vec<NodeOut<'_>> = st.nodes.values().map(|node| NodeOut { node, dc }).collect();
        encode(&v, pretty)
    };
    let index_of = |st: &State| st.nodes_index;
    blocking_read(ctx, q, "nodes".into(), &index_of, &render).await
}

async fn service_read(
    ctx: &Ctx<'_>,
    q: &Query,
    t: &Token,
    name: String,
    health: bool,
) -> Result<Resp, Fail> {
    if name.is_empty() {
        return Err(fail(400, "Missing service name"));
    }
    require(t, "service:read", &name)?;
    let passing = match (health, q.get("passing")) {
        (true, Some("")) => true,
        (true, Some(v)) => {
            parse_go_bool(v).ok_or_else(|| fail(400, "Invalid value for ?passing"))?
        }
        _ => false,
    };
    let tags: Vec<String> = q.all("tag").into_iter().map(str::to_string).collect();
    let dc = ctx.dc;
    let key = format!(
        "{}\u{0}{name}\u{0}{passing}\u{0}{}",
        if health { "health" } else { "catalog" },
        tags.join("\u{1}")
    );
    let render = |st: &State, pretty: bool| {
        let picked = wire::instances(st, &name).into_iter().filter(|(n, s)| {
            tags.iter().all(|t| s.def.tags.contains(t))
                && (!passing || wire::all_passing(n, &s.def.id))
        });
        if health {
            let v: Vec<HealthEntryOut<'_>> = picked
                .map(|(node, svc)| HealthEntryOut { node, svc, dc })
                .collect();
            encode(&v, pretty)
        } else {
            let v: Vec<CatalogServiceOut<'_>> = picked
                .map(|(node, svc)| CatalogServiceOut { node, svc, dc })
                .collect();
            encode(&v, pretty)
        }
    };
    let index_of = |st: &State| st.name_index(&name);
    blocking_read(ctx, q, key, &index_of, &render).await
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SelfConfig<'a> {
    datacenter: &'a str,
    primary_datacenter: &'a str,
    node_name: &'a str,
    #[serde(rename = "NodeID")]
    node_id: &'a str,
    revision: &'a str,
    server: bool,
    version: &'a str,
    build_date: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SelfMember<'a> {
    name: &'a str,
    addr: &'a str,
    port: u16,
    tags: BTreeMap<&'a str, String>,
    status: u8,
    protocol_min: u8,
    protocol_max: u8,
    protocol_cur: u8,
    delegate_min: u8,
    delegate_max: u8,
    delegate_cur: u8,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SelfOut<'a> {
    config: SelfConfig<'a>,
    member: SelfMember<'a>,
    meta: &'a BTreeMap<String, String>,
}

fn agent_self(ctx: &Ctx<'_>, q: &Query, t: &Token, node: &str) -> Result<Resp, Fail> {
    require(t, "agent:read", node)?;
    let st = ctx.shared.catalog.read();
    let Some(n) = st.nodes.get(node) else {
        return Err(fail(500, "agent node is gone from the catalog"));
    };
    let server = node == ctx.shared.server_node;
    let version = ctx.shared.opts.version.as_str();
    let dc = ctx.shared.dc.as_str();
    let mut tags = BTreeMap::new();
    tags.insert("dc", dc.to_string());
    tags.insert("role", if server { "consul" } else { "node" }.to_string());
    tags.insert("id", n.id.clone());
    tags.insert("build", format!("{version}:sim"));
    let out = SelfOut {
        config: SelfConfig {
            datacenter: dc,
            primary_datacenter: dc,
            node_name: node,
            node_id: &n.id,
            revision: "sim",
            server,
            version,
            build_date: "2024-01-01T00:00:00Z",
        },
        member: SelfMember {
            name: node,
            addr: &n.def.address,
            port: 8301,
            tags,
            status: 1,
            protocol_min: 1,
            protocol_max: 5,
            protocol_cur: 2,
            delegate_min: 2,
            delegate_max: 5,
            delegate_cur: 4,
        },
        meta: &n.def.meta,
    };
    let body = encode(&out, q.has("pretty")).map_err(|e| fail(500, e.to_string()))?;
    Ok(json(ctx, body.into(), None))
}

fn agent_services(ctx: &Ctx<'_>, q: &Query, t: &Token, node: &str) -> Result<Resp, Fail> {
    require(t, "service:read", "")?;
    let st = ctx.shared.catalog.read();
    let dc = ctx.shared.dc.as_str();
    let map: BTreeMap<&str, AgentServiceOut<'_>> = st
        .nodes
        .get(node)
        .map(|n| {
            n.services
                .iter()
                .map(|(id, svc)| (id.as_str(), AgentServiceOut { svc, dc }))
                .collect()
        })
        .unwrap_or_default();
    let body = encode(&map, q.has("pretty")).map_err(|e| fail(500, e.to_string()))?;
    Ok(json(ctx, body.into(), None))
}

fn empty_ok(ctx: &Ctx<'_>) -> Resp {
    let mut r = plain(ctx, 200, "");
    r.headers_mut().remove(CONTENT_TYPE);
    r
}

fn json_true(ctx: &Ctx<'_>) -> Resp {
    json(ctx, Bytes::from_static(b"true"), None)
}

fn agent_register(
    ctx: &Ctx<'_>,
    q: &Query,
    t: &Token,
    node: &str,
    body: &[u8],
) -> Result<Resp, Fail> {
    let def = decode::agent_service(body)
        .map_err(|e| fail(400, format!("Request decode failed: {e}")))?;
    if def.name.is_empty() {
        return Err(fail(400, "Missing service name"));
    }
    if def
        .address
        .parse::<IpAddr>()
        .is_ok_and(|a| a.is_unspecified())
    {
        return Err(fail(400, "Invalid service address"));
    }
    require(t, "service:write", &def.name)?;
    let replace = match q.get("replace-existing-checks") {
        None => false,
        Some("") => true,
        Some(v) => parse_go_bool(v).unwrap_or(false),
    };
    ctx.shared
        .catalog
        .register_service_with(node, def, replace)
        .map_err(|e| fail(500, e.to_string()))?;
    Ok(empty_ok(ctx))
}

fn agent_deregister(ctx: &Ctx<'_>, t: &Token, node: &str, id: &str) -> Result<Resp, Fail> {
    if id.is_empty() {
        return Err(fail(400, "Missing service ID"));
    }
    let Some(svc) = ctx.shared.catalog.service(node, id) else {
        return Err(fail(
            404,
            CatalogError::UnknownService(id.to_string()).to_string(),
        ));
    };
    require(t, "service:write", &svc.name)?;
    ctx.shared
        .catalog
        .deregister_service(node, id)
        .map_err(|e| fail(404, e.to_string()))?;
    Ok(empty_ok(ctx))
}

fn catalog_register(ctx: &Ctx<'_>, t: &Token, body: &[u8]) -> Result<Resp, Fail> {
    let r = decode::catalog_register(body)
        .map_err(|e| fail(400, format!("Request decode failed: {e}")))?;
    if !r.datacenter.is_empty() && r.datacenter != ctx.dc {
        return Err(fail(500, "No path to datacenter"));
    }
    if r.node.is_empty() {
        return Err(fail(500, "Must provide node"));
    }
    let cat = ctx.catalog;
    let exists = cat.node_address(&r.node).is_some();
    if r.address.is_empty() && !(r.skip_node_update && exists) {
        return Err(fail(
            500,
            "Must provide address if SkipNodeUpdate is not set",
        ));
    }
    if let Some(s) = &r.service
        && s.name.is_empty()
    {
        return Err(fail(
            500,
            "Must provide service name (Service.Service) when Service is set",
        ));
    }
    if let Some(s) = &r.service {
        require(t, "service:write", &s.name)?;
    }
    require(t, "node:write", &r.node)?;
    if !(r.skip_node_update && exists) {
        cat.register_node(NodeDef {
            name: r.node.clone(),
            address: r.address.clone(),
            meta: r.node_meta.clone(),
            tagged_addresses: r.tagged_addresses.clone(),
            agent: false,
        });
    }
    let service_id = r.service.as_ref().map(|s| {
        if s.id.is_empty() {
            s.name.clone()
        } else {
            s.id.clone()
        }
    });
    if let Some(s) = r.service {
        cat.register_service_with(&r.node, s, false)
            .map_err(|e| fail(500, e.to_string()))?;
    }
    for (check, sid) in r.checks {
        let sid = if sid.is_empty() && check.id.starts_with("service:") {
            service_id.clone().unwrap_or_default()
        } else {
            sid
        };
        cat.register_check(&r.node, &sid, check)
            .map_err(|e| fail(500, e.to_string()))?;
    }
    Ok(json_true(ctx))
}

fn catalog_deregister(ctx: &Ctx<'_>, t: &Token, body: &[u8]) -> Result<Resp, Fail> {
    let r = decode::catalog_deregister(body)
        .map_err(|e| fail(400, format!("Request decode failed: {e}")))?;
    if !r.datacenter.is_empty() && r.datacenter != ctx.dc {
        return Err(fail(500, "No path to datacenter"));
    }
    if r.node.is_empty() {
        return Err(fail(500, "Must provide node"));
    }
    require(t, "node:write", &r.node)?;
    let cat = ctx.catalog;
    // Consul answers `true` for things already gone; so does the simulator.
    if !r.service_id.is_empty() {
        let _ = cat.deregister_service(&r.node, &r.service_id);
    } else if !r.check_id.is_empty() {
        let _ = cat.deregister_check(&r.node, &r.check_id);
    } else {
        cat.deregister_node(&r.node);
    }
    Ok(json_true(ctx))
}
