//! The Consul writers: re-registering a service through the agent of the node that owns it
//! (`PUT /v1/agent/service/register`), or through the catalog for nodes without an agent.
//!
//! Registration replaces the whole definition, so every write starts from the agent's
//! current definition and changes only identity fields; everything else is sent back as read.

use super::error::FixError;
use crate::consul::{ConsulClient, Endpoint};
use crate::identity::{Role, valid_cluster_name};
use crate::text::sanitize;
use serde_json::{Map, Value, json};
use std::net::IpAddr;
use url::Url;

/// The agent address template used when none is configured: the node's address on the
/// scheme and port of the configured Consul address.
pub const DEFAULT_AGENT_TEMPLATE: &str = "{scheme}://{node_address}:{port}";

/// The warning a plan shows with every agent write: Pigsty defines its services in files,
/// which the agent reads again at its next reload.
pub const RELOAD_WARNING: &str = "services defined in the node's /etc/consul.d files revert to \
     those files at the next `consul reload` unless the files are rewritten too \
     (pg-register on the node)";

/// A placeholder of the agent address template.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AgentVar {
    Scheme,
    NodeAddress,
    Port,
    Node,
}

impl AgentVar {
    fn parse(name: &str) -> Option<AgentVar> {
        match name {
            "scheme" => Some(AgentVar::Scheme),
            "node_address" => Some(AgentVar::NodeAddress),
            "port" => Some(AgentVar::Port),
            "node" => Some(AgentVar::Node),
            _ => None,
        }
    }
}

/// A piece of a template: literal text or a placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Part<V> {
    /// Text copied as is.
    Lit(String),
    /// A placeholder to fill in.
    Var(V),
}

type Piece = Part<AgentVar>;

/// Splits `text` into literal text and `{name}` placeholders, resolving names with `var`.
pub(crate) fn split_placeholders<V>(
    text: &str,
    var: impl Fn(&str) -> Option<V>,
    known: &str,
) -> Result<Vec<Part<V>>, String> {
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        lit.push_str(&rest[..open]);
        if rest[open..].starts_with('}') {
            return Err(format!(
                "unmatched '}}' at {:?}; placeholders are {known}",
                &rest[open..]
            ));
        }
        let after = &rest[open + 1..];
        let Some(close) = after
            .find(['}', '{'])
            .filter(|&i| after[i..].starts_with('}'))
        else {
            return Err(format!(
                "unclosed '{{' at {:?}; placeholders are {known}",
                &rest[open..]
            ));
        };
        let name = &after[..close];
        let Some(v) = var(name) else {
            return Err(format!(
                "unknown placeholder {{{name}}}; placeholders are {known}"
            ));
        };
        if !lit.is_empty() {
            out.push(Part::Lit(std::mem::take(&mut lit)));
        }
        out.push(Part::Var(v));
        rest = &after[close + 1..];
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        out.push(Part::Lit(lit));
    }
    Ok(out)
}

const AGENT_PLACEHOLDERS: &str = "{scheme}, {node_address}, {port}, {node}";

/// How to reach the agent of a node, as a URL template (default [`DEFAULT_AGENT_TEMPLATE`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentAddress {
    template: String,
    pieces: Vec<Piece>,
}

impl Default for AgentAddress {
    fn default() -> Self {
        // The default template is a constant known to parse; fall back to its pieces directly.
        AgentAddress {
            template: DEFAULT_AGENT_TEMPLATE.into(),
            pieces: vec![
                Piece::Var(AgentVar::Scheme),
                Piece::Lit("://".into()),
                Piece::Var(AgentVar::NodeAddress),
                Piece::Lit(":".into()),
                Piece::Var(AgentVar::Port),
            ],
        }
    }
}

impl AgentAddress {
    /// Parses a template; placeholders are `{scheme}`, `{node_address}`, `{port}` and `{node}`.
    pub fn new(template: impl Into<String>) -> Result<AgentAddress, FixError> {
        let template = template.into();
        let bad = |reason: String| FixError::Template {
            template: template.clone(),
            reason,
        };
        if template.trim().is_empty() {
            return Err(bad("the agent address template is empty".into()));
        }
        if template.chars().any(char::is_control) || template.contains(char::is_whitespace) {
            return Err(bad(
                "a URL cannot contain whitespace or control characters".into()
            ));
        }
        let pieces =
            split_placeholders(&template, AgentVar::parse, AGENT_PLACEHOLDERS).map_err(bad)?;
        let addr = AgentAddress {
            template: template.clone(),
            pieces,
        };
        // Catch a template that can never make a URL now rather than at apply time.
        let sample = Endpoint::parse("http://127.0.0.1:8500", false)?;
        addr.expand(&sample, Some("node-1"), "127.0.0.1")
            .map_err(|e| match e {
                FixError::Template { reason, .. } => bad(reason),
                other => bad(other.to_string()),
            })?;
        Ok(addr)
    }

    /// The template as configured.
    pub fn template(&self) -> &str {
        &self.template
    }

    /// True when the template needs the node name (`{node}`), which [`AgentAddress::url_for`] lacks.
    pub fn needs_node(&self) -> bool {
        self.pieces.contains(&Piece::Var(AgentVar::Node))
    }

    /// The agent URL for a node address; scheme and port come from the configured Consul address.
    pub fn url_for(&self, consul: &Endpoint, node_address: &str) -> Result<Url, FixError> {
        self.expand(consul, None, node_address)
    }

    /// [`AgentAddress::url_for`] for templates that also use the node name.
    pub fn url_for_node(
        &self,
        consul: &Endpoint,
        node: &str,
        node_address: &str,
    ) -> Result<Url, FixError> {
        self.expand(consul, Some(node), node_address)
    }

    fn expand(
        &self,
        consul: &Endpoint,
        node: Option<&str>,
        address: &str,
    ) -> Result<Url, FixError> {
        let bad = |reason: String| FixError::Template {
            template: self.template.clone(),
            reason,
        };
        let http = match consul {
            Endpoint::Http(u) => Some(u),
            Endpoint::Unix(_) => None,
        };
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Lit(l) => out.push_str(l),
                Piece::Var(AgentVar::Scheme) => match http {
                    Some(u) => out.push_str(u.scheme()),
                    None => {
                        return Err(bad(
                            "{scheme} needs an http(s) Consul address, not a unix socket".into(),
                        ));
                    }
                },
                Piece::Var(AgentVar::Port) => match http.and_then(|u| u.port_or_known_default()) {
                    Some(p) => out.push_str(&p.to_string()),
                    None => {
                        return Err(bad(
                            "{port} needs an http(s) Consul address, not a unix socket".into(),
                        ));
                    }
                },
                Piece::Var(AgentVar::NodeAddress) => {
                    check_host_value("{node_address}", address)?;
                    match address.parse::<IpAddr>() {
                        Ok(IpAddr::V6(v6)) => out.push_str(&format!("[{v6}]")),
                        _ => out.push_str(address),
                    }
                }
                Piece::Var(AgentVar::Node) => {
                    let Some(node) = node else {
                        return Err(bad("{node} needs the node name; use url_for_node".into()));
                    };
                    check_host_value("{node}", node)?;
                    out.push_str(node);
                }
            }
        }
        let url = Url::parse(&out).map_err(|e| bad(format!("{out:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad(format!(
                "{out:?} has scheme {:?}; agents speak http or https",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad(format!("{out:?} has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials do not belong in the agent address; use the token".into(),
            ));
        }
        Ok(url)
    }
}

/// Node names and addresses come from the catalog, so they must not be able to steer the
/// URL elsewhere (`evil/` or `user@host`).
fn check_host_value(placeholder: &str, value: &str) -> Result<(), FixError> {
    let refuse = |reason: &str| FixError::BadValue {
        placeholder: placeholder.into(),
        value: sanitize(value, 80),
        reason: reason.into(),
    };
    if value.is_empty() {
        return Err(refuse("it is empty"));
    }
    if value.parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if value.starts_with(['-', '.'])
        || !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(refuse(
            "a host name holds only letters, digits, '-', '.' and '_'",
        ));
    }
    Ok(())
}

/// A client for one node's agent: the same credentials and TLS settings as `consul`, at `url`.
pub fn agent_client(consul: &ConsulClient, url: &Url) -> Result<ConsulClient, FixError> {
    let mut config = consul.config().clone();
    config.endpoint = Endpoint::parse(url.as_str(), false)?;
    // Agent endpoints are local to the agent: `?dc=` means nothing there.
    config.datacenter = None;
    Ok(ConsulClient::new(config)?)
}

/// `GET /v1/agent/services` on a node's agent: the definition of the service `service_id`.
pub async fn agent_service(
    client_for_agent: &ConsulClient,
    service_id: &str,
) -> Result<Value, FixError> {
    let url = client_for_agent.url_segments(&["agent", "services"])?;
    let (all, _): (Option<Map<String, Value>>, _) = client_for_agent.get(url, None).await?;
    let all = all.unwrap_or_default();
    let found = all.get(service_id).or_else(|| {
        all.values()
            .find(|v| v.get("ID").and_then(Value::as_str) == Some(service_id))
    });
    match found {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(FixError::Refused(format!(
            "the agent at {} describes service {service_id:?} with something other than an object",
            client_for_agent.endpoint()
        ))),
        None => Err(FixError::MissingService {
            agent: client_for_agent.endpoint().to_string(),
            service_id: service_id.to_string(),
        }),
    }
}

/// What to change in a registration; `None` leaves that part of the identity alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IdentityChange {
    /// From which role to which (`primary`/`replica`), rewritten the way `pg-register` does.
    pub role: Option<(Role, Role)>,
    /// The new cluster name (`meta.cluster` and the tag equal to the old cluster).
    pub cluster: Option<String>,
    /// The new seq (`meta.seq`).
    pub seq: Option<u32>,
    /// The new instance name (`meta.instance`).
    pub instance: Option<String>,
    /// The new service name in meta (`meta.service`; the Consul service name never changes).
    pub service: Option<String>,
}

impl IdentityChange {
    /// A role change only.
    pub fn role(from: Role, to: Role) -> IdentityChange {
        IdentityChange {
            role: Some((from, to)),
            ..IdentityChange::default()
        }
    }
}

/// How a field of an `/v1/agent/services` definition is carried into a register body.
enum Carry {
    /// Sent back under this name.
    Keep(&'static str),
    /// Sent back under this name unless empty (these are rejected or meaningless when empty).
    KeepIfSet(&'static str),
    /// Read-only state that the register endpoint rejects as an unknown field.
    Drop,
}

/// Fields are matched the way Consul's decoder matches them: case-insensitively, `_` ignored.
fn carry(key: &str) -> Option<Carry> {
    let norm: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    Some(match norm.as_str() {
        "id" => Carry::Keep("ID"),
        "service" | "name" => Carry::Keep("Name"),
        "tags" => Carry::Keep("Tags"),
        "port" => Carry::Keep("Port"),
        "address" => Carry::Keep("Address"),
        "meta" => Carry::Keep("Meta"),
        "weights" => Carry::Keep("Weights"),
        "enabletagoverride" => Carry::Keep("EnableTagOverride"),
        "taggedaddresses" => Carry::Keep("TaggedAddresses"),
        "kind" => Carry::KeepIfSet("Kind"),
        "proxy" => Carry::KeepIfSet("Proxy"),
        "connect" => Carry::KeepIfSet("Connect"),
        "socketpath" => Carry::KeepIfSet("SocketPath"),
        "locality" => Carry::KeepIfSet("Locality"),
        "namespace" => Carry::KeepIfSet("Namespace"),
        "partition" => Carry::KeepIfSet("Partition"),
        "contenthash" | "createindex" | "modifyindex" | "datacenter" | "peername" => Carry::Drop,
        _ => return None,
    })
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The agent's definition turned into a register body with nothing changed.
fn carried(current: &Value) -> Result<Map<String, Value>, FixError> {
    let Value::Object(fields) = current else {
        return Err(FixError::Refused(
            "the current service definition is not a JSON object".into(),
        ));
    };
    let mut out = Map::new();
    for (k, v) in fields {
        match carry(k) {
            Some(Carry::Keep(name)) => {
                if !v.is_null() {
                    out.insert(name.into(), v.clone());
                }
            }
            Some(Carry::KeepIfSet(name)) => {
                if !is_empty_value(v) {
                    out.insert(name.into(), v.clone());
                }
            }
            Some(Carry::Drop) => {}
            None if v.is_null() => {}
            // Dropping a field roster does not know could lose part of the registration.
            None => {
                return Err(FixError::Refused(format!(
                    "the service definition has a field {:?} roster does not know how to send \
                     back; re-registering would lose it",
                    sanitize(k, 60)
                )));
            }
        }
    }
    let name = out.get("Name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty() {
        return Err(FixError::Refused(
            "the current service definition has no service name".into(),
        ));
    }
    if !out.contains_key("ID") {
        out.insert("ID".into(), Value::String(name.to_string()));
    }
    Ok(out)
}

/// The spelling `pg-register` uses for a role it can write.
fn register_word(role: &Role) -> Result<&'static str, FixError> {
    match role {
        Role::Primary => Ok("primary"),
        Role::Replica => Ok("replica"),
        other => Err(FixError::Refused(format!(
            "role {:?}: pg-register rewrites only primary and replica registrations",
            sanitize(other.as_str(), 40)
        ))),
    }
}

fn check_identity_value(what: &str, v: &str) -> Result<(), FixError> {
    if v.is_empty() || v.chars().any(char::is_control) {
        return Err(FixError::BadValue {
            placeholder: what.into(),
            value: sanitize(v, 80),
            reason: "identity values must be non-empty and free of control characters".into(),
        });
    }
    Ok(())
}

/// `pg-register`'s rewrite of one value: a value that is or ends with `from` gets `to`.
fn rewrite_role(value: &str, from: &str, to: &str) -> Option<String> {
    value.strip_suffix(from).map(|stem| format!("{stem}{to}"))
}

/// True for one of Pigsty's routing services of a cluster (`<cls>-primary`,
/// `<cls>-replica`, `<cls>-default`...), named after the route it serves, not the member.
pub fn is_routing_service(cluster: &str, service: &str) -> bool {
    service
        .strip_prefix(cluster)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// Whether the service is one of the cluster's routing services (`<cluster>-primary`,
/// `<cluster>-replica`, `<cluster>-default`...): `None` when it is not, else the role word
/// of its route when it has one (`primary` for `pg-test-primary`).
fn routing(body: &Map<String, Value>, cluster: Option<&str>) -> Option<Option<&'static str>> {
    let name = body.get("Name").and_then(Value::as_str)?;
    // The same test as `is_routing_service`, keeping the route's word.
    let rest = name.strip_prefix(cluster?)?.strip_prefix('-')?;
    Some(match Role::parse(rest) {
        r @ (Role::Primary | Role::Replica) if rest == r.as_str() => register_word(&r).ok(),
        _ => None,
    })
}

/// The body for `PUT /v1/agent/service/register`: the agent's current definition (as
/// `/v1/agent/services` returns it) with only the identity fields of `change` changed.
///
/// The role follows `pg-register`: every tag and meta value that is or ends with the old
/// word gets the new one, service names never change, except the tags of a routing service
/// (`<cluster>-primary`, `<cluster>-replica`), which name the role it routes to and are
/// kept (put back to its route when an earlier rewrite moved them); a `meta.role` spelled as a synonym
/// (`master`) is set too, since it is the field readers trust first. Cluster, seq, instance
/// and service set the meta keys the registration already has (none is added), and a
/// cluster change also renames the tag equal to the old cluster. Checks are left out so the
/// agent keeps the ones it has.
pub fn reregister_body(current: &Value, change: &IdentityChange) -> Result<Value, FixError> {
    let mut body = carried(current)?;
    let role = match &change.role {
        Some((from, to)) => Some((register_word(from)?, register_word(to)?, from)),
        None => None,
    };
    for (what, v) in [
        ("cluster", &change.cluster),
        ("instance", &change.instance),
        ("service", &change.service),
    ] {
        if let Some(v) = v {
            check_identity_value(what, v)?;
        }
    }
    if let Some(c) = &change.cluster
        && !valid_cluster_name(c)
    {
        return Err(FixError::Refused(format!(
            "cluster name {:?} breaks Pigsty's naming rule [a-z][a-z0-9-]*",
            sanitize(c, 60)
        )));
    }
    let mut meta = match body.remove("Meta") {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => {
            return Err(FixError::Refused(
                "the service's Meta is not an object of strings".into(),
            ));
        }
    };
    let old_cluster = meta
        .as_ref()
        .and_then(|m| m.get("cluster"))
        .and_then(Value::as_str)
        .map(str::to_string);

    let route = routing(&body, old_cluster.as_deref());
    if let Some(Value::Array(tags)) = body.get_mut("Tags") {
        for tag in tags.iter_mut() {
            let Value::String(t) = tag else {
                return Err(FixError::Refused(
                    "the service's Tags are not strings".into(),
                ));
            };
            match (role, &route) {
                // A routing service's tags name its route, which no member's role moves;
                // a route word an earlier pg-register rewrote is put back.
                (Some(_), Some(Some(word))) => {
                    for stray in ["primary", "replica"] {
                        if let Some(new) = rewrite_role(t, stray, word) {
                            *t = new;
                            break;
                        }
                    }
                }
                (Some(_), Some(None)) => {}
                (Some((from, to, _)), None) => {
                    if let Some(new) = rewrite_role(t, from, to) {
                        *t = new;
                    }
                }
                (None, _) => {}
            }
            if let (Some(new), Some(old)) = (&change.cluster, &old_cluster)
                && t == old
            {
                *t = new.clone();
            }
        }
    } else if body.get("Tags").is_some_and(|t| !t.is_null()) {
        return Err(FixError::Refused(
            "the service's Tags are not a list".into(),
        ));
    }

    if let Some(meta) = meta.as_mut() {
        if let Some((from, to, from_role)) = role {
            for (k, v) in meta.iter_mut() {
                let Value::String(s) = v else {
                    return Err(FixError::Refused(format!(
                        "the service's Meta.{} is not a string",
                        sanitize(k, 40)
                    )));
                };
                if let Some(new) = rewrite_role(s, from, to) {
                    *s = new;
                } else if k == "role" && Role::parse(s) == *from_role {
                    *s = to.to_string();
                }
            }
        }
        let mut set = |key: &str, value: Option<String>| {
            if let (Some(v), Some(slot)) = (value, meta.get_mut(key)) {
                *slot = Value::String(v);
            }
        };
        set("cluster", change.cluster.clone());
        set("seq", change.seq.map(|s| s.to_string()));
        set("instance", change.instance.clone());
        set("service", change.service.clone());
    }
    if let Some(m) = meta {
        body.insert("Meta".into(), Value::Object(m));
    }
    Ok(Value::Object(body))
}

/// `PUT /v1/agent/service/register` on a node's agent (without `replace-existing-checks`,
/// so the service keeps its checks).
pub async fn register(agent: &ConsulClient, body: &Value) -> Result<(), FixError> {
    if body
        .get("Name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(FixError::Refused(
            "a register body needs the service Name".into(),
        ));
    }
    let url = agent.url_segments(&["agent", "service", "register"])?;
    agent.put(url, body).await?;
    Ok(())
}

/// Catalog fields of `/v1/catalog/service/<name>` and their agent-definition names.
const CATALOG_FIELDS: &[(&str, &str)] = &[
    ("ServiceKind", "Kind"),
    ("ServiceID", "ID"),
    ("ServiceName", "Service"),
    ("ServiceTags", "Tags"),
    ("ServiceAddress", "Address"),
    ("ServiceTaggedAddresses", "TaggedAddresses"),
    ("ServiceWeights", "Weights"),
    ("ServiceMeta", "Meta"),
    ("ServicePort", "Port"),
    ("ServiceSocketPath", "SocketPath"),
    ("ServiceEnableTagOverride", "EnableTagOverride"),
    ("ServiceProxy", "Proxy"),
    ("ServiceConnect", "Connect"),
    ("ServiceLocality", "Locality"),
];

/// A service's definition read from the catalog (`/v1/catalog/service/<name>`), in the
/// shape `/v1/agent/services` uses, for nodes that have no agent to ask.
pub async fn catalog_service(
    consul: &ConsulClient,
    service_name: &str,
    node: &str,
    service_id: &str,
) -> Result<Value, FixError> {
    let url = consul.url_segments(&["catalog", "service", service_name])?;
    let (entries, _): (Option<Vec<Map<String, Value>>>, _) = consul.get(url, None).await?;
    let entry = entries.unwrap_or_default().into_iter().find(|e| {
        e.get("Node").and_then(Value::as_str) == Some(node)
            && e.get("ServiceID").and_then(Value::as_str) == Some(service_id)
    });
    let Some(entry) = entry else {
        return Err(FixError::MissingService {
            agent: format!("{} (catalog, node {node:?})", consul.endpoint()),
            service_id: service_id.to_string(),
        });
    };
    let mut out = Map::new();
    for (from, to) in CATALOG_FIELDS {
        if let Some(v) = entry.get(*from).filter(|v| !v.is_null()) {
            out.insert((*to).to_string(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// The `PUT /v1/catalog/register` body that writes a register body onto an agentless node,
/// leaving the node record alone.
pub fn catalog_register_body(node: &str, address: &str, body: &Value) -> Result<Value, FixError> {
    if node.is_empty() {
        return Err(FixError::Refused(
            "a catalog registration needs the node name".into(),
        ));
    }
    let mut service = carried(body)?;
    if let Some(name) = service.remove("Name") {
        service.insert("Service".into(), name);
    }
    Ok(json!({
        "Node": node,
        "Address": address,
        "Service": Value::Object(service),
        "SkipNodeUpdate": true,
    }))
}

/// `PUT /v1/catalog/register` of a service on a node without an agent. On a node with an
/// agent the agent's anti-entropy sync would undo it: use [`register`] there.
pub async fn catalog_register(
    consul: &ConsulClient,
    node: &str,
    address: &str,
    body: &Value,
) -> Result<(), FixError> {
    let request = catalog_register_body(node, address, body)?;
    let url = consul.url_segments(&["catalog", "register"])?;
    let answer = consul.put(url.clone(), &request).await?;
    match serde_json::from_slice::<Value>(&answer) {
        Ok(Value::Bool(true)) => Ok(()),
        _ => Err(FixError::Refused(format!(
            "{url}: Consul did not confirm the registration (answered {:?})",
            sanitize(&String::from_utf8_lossy(&answer), 80)
        ))),
    }
}

/// A readable before/after diff of two service definitions, for previews:
/// `- Tags: [replica, pg-test]` / `+ Tags: [primary, pg-test]`, `~ Meta.role: replica -> primary`.
///
/// Both sides are first put in register-body shape, so `Service` and `Name` or read-only
/// fields such as `Datacenter` do not show up as changes.
pub fn diff_lines(before: &Value, after: &Value) -> Vec<String> {
    let norm = |v: &Value| match carried(v) {
        Ok(m) => Value::Object(m),
        Err(_) => v.clone(),
    };
    let mut out = Vec::new();
    diff_into(&mut out, "", &norm(before), &norm(after));
    out
}

fn diff_into(out: &mut Vec<String>, path: &str, before: &Value, after: &Value) {
    if before == after {
        return;
    }
    let join = |k: &str| {
        if path.is_empty() {
            sanitize(k, 60)
        } else {
            format!("{path}.{}", sanitize(k, 60))
        }
    };
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                match (b.get(k), a.get(k)) {
                    (Some(x), Some(y)) => diff_into(out, &join(k), x, y),
                    (Some(x), None) => out.push(format!("- {}: {}", join(k), show(x))),
                    (None, Some(y)) => out.push(format!("+ {}: {}", join(k), show(y))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(_), Value::Array(_)) => {
            out.push(format!("- {path}: {}", show(before)));
            out.push(format!("+ {path}: {}", show(after)));
        }
        _ => out.push(format!("~ {path}: {} -> {}", show(before), show(after))),
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => sanitize(s, 120),
        Value::Array(a) => format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", sanitize(k, 60), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
#[path = "consul_tests.rs"]
mod tests;
