//! Decodes write bodies the way Consul does: keys match case-insensitively (snake_case
//! too), unknown keys and wrong types are errors (`Request decode failed: ...`).

use super::catalog::{CheckDef, CheckKind, CheckStatus, ServiceDef, Weights};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

type Obj = Map<String, Value>;

fn norm(k: &str) -> String {
    k.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Picks the known fields of an object; an unknown key is an error, as in Consul.
fn fields<'a>(
    obj: &'a Obj,
    known: &[&'static str],
) -> Result<BTreeMap<&'static str, &'a Value>, String> {
    let mut out = BTreeMap::new();
    for (k, v) in obj {
        let n = norm(k);
        let Some(name) = known.iter().find(|f| **f == n) else {
            return Err(format!("json: unknown field {k:?}"));
        };
        out.insert(*name, v);
    }
    Ok(out)
}

fn type_err(field: &str, want: &str, v: &Value) -> String {
    let got = match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    format!("json: cannot unmarshal {got} into Go struct field {field} of type {want}")
}

fn string(f: &BTreeMap<&str, &Value>, k: &str) -> Result<String, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v) => Err(type_err(k, "string", v)),
    }
}

fn boolean(f: &BTreeMap<&str, &Value>, k: &str) -> Result<bool, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(v) => Err(type_err(k, "bool", v)),
    }
}

fn port(f: &BTreeMap<&str, &Value>, k: &str) -> Result<u16, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(0),
        Some(v) => v
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| type_err(k, "int", v)),
    }
}

fn strings(f: &BTreeMap<&str, &Value>, k: &str) -> Result<Vec<String>, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| type_err(k, "string", v))
            })
            .collect(),
        Some(v) => Err(type_err(k, "[]string", v)),
    }
}

fn string_map(f: &BTreeMap<&str, &Value>, k: &str) -> Result<BTreeMap<String, String>, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o
            .iter()
            .map(|(mk, v)| match v {
                Value::String(s) => Ok((mk.clone(), s.clone())),
                v => Err(type_err(k, "map[string]string", v)),
            })
            .collect(),
        Some(v) => Err(type_err(k, "map[string]string", v)),
    }
}

fn object<'a>(f: &BTreeMap<&str, &'a Value>, k: &str) -> Result<Option<&'a Obj>, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(v) => Err(type_err(k, "struct", v)),
    }
}

fn weights(f: &BTreeMap<&str, &Value>) -> Result<Weights, String> {
    let Some(o) = object(f, "weights")? else {
        return Ok(Weights::default());
    };
    let w = fields(o, &["passing", "warning"])?;
    let int = |k: &str| -> Result<i32, String> {
        match w.get(k) {
            None | Some(Value::Null) => Ok(1),
            Some(v) => v
                .as_i64()
                .and_then(|i| i32::try_from(i).ok())
                .ok_or_else(|| type_err(k, "int", v)),
        }
    };
    Ok(Weights {
        passing: int("passing")?,
        warning: int("warning")?,
    })
}

fn tagged_addresses(f: &BTreeMap<&str, &Value>) -> Result<BTreeMap<String, (String, u16)>, String> {
    let Some(o) = object(f, "taggedaddresses")? else {
        return Ok(BTreeMap::new());
    };
    let mut out = BTreeMap::new();
    for (k, v) in o {
        let Value::Object(a) = v else {
            return Err(type_err("TaggedAddresses", "structs.ServiceAddress", v));
        };
        let a = fields(a, &["address", "port"])?;
        out.insert(k.clone(), (string(&a, "address")?, port(&a, "port")?));
    }
    Ok(out)
}

const CHECK_FIELDS: &[&str] = &[
    "checkid",
    "id",
    "name",
    "notes",
    "status",
    "output",
    "tcp",
    "http",
    "interval",
    "timeout",
    "ttl",
    "method",
    "header",
    "body",
    "tlsskipverify",
    "tlsservername",
    "serviceid",
    "servicename",
    "servicetags",
    "node",
    "type",
    "definition",
    "exposedport",
    "deregistercriticalserviceafter",
    "args",
    "scriptargs",
    "grpc",
    "grpcusetls",
    "udp",
    "h2ping",
    "shell",
    "dockercontainerid",
    "aliasnode",
    "aliasservice",
    "disableredirects",
    "outputmaxsize",
    "successbeforepassing",
    "failuresbeforecritical",
    "failuresbeforewarning",
    "createindex",
    "modifyindex",
    "namespace",
    "partition",
];

/// A decoded check and the service ID it names (if any).
fn check(v: &Value, default_status: Option<CheckStatus>) -> Result<(CheckDef, String), String> {
    let Value::Object(o) = v else {
        return Err(type_err("Check", "structs.CheckType", v));
    };
    let f = fields(o, CHECK_FIELDS)?;
    let mut def = object(&f, "definition")?;
    let dfields = match def.take() {
        Some(d) => fields(d, CHECK_FIELDS)?,
        None => BTreeMap::new(),
    };
    let pick = |k: &str| -> Result<String, String> {
        let s = string(&f, k)?;
        if s.is_empty() {
            string(&dfields, k)
        } else {
            Ok(s)
        }
    };
    let kind = if !pick("tcp")?.is_empty() {
        CheckKind::Tcp(pick("tcp")?)
    } else if !pick("http")?.is_empty() {
        CheckKind::Http(pick("http")?)
    } else if !pick("ttl")?.is_empty() {
        CheckKind::Ttl(pick("ttl")?)
    } else {
        CheckKind::Other(string(&f, "type")?)
    };
    let status = match string(&f, "status")?.as_str() {
        "" => default_status.unwrap_or(match kind {
            CheckKind::Ttl(_) => CheckStatus::Critical,
            _ => CheckStatus::Passing,
        }),
        s => CheckStatus::parse(s)
            .ok_or_else(|| format!("Status {s:?} is not a valid check status"))?,
    };
    let id = {
        let c = string(&f, "checkid")?;
        if c.is_empty() { string(&f, "id")? } else { c }
    };
    Ok((
        CheckDef {
            id,
            name: string(&f, "name")?,
            kind,
            interval: pick("interval")?,
            timeout: pick("timeout")?,
            status,
            notes: string(&f, "notes")?,
            output: string(&f, "output")?,
        },
        string(&f, "serviceid")?,
    ))
}

fn checks(
    f: &BTreeMap<&str, &Value>,
    default_status: Option<CheckStatus>,
) -> Result<Vec<(CheckDef, String)>, String> {
    let mut out = Vec::new();
    if let Some(v) = f.get("check").filter(|v| !v.is_null()) {
        out.push(check(v, default_status)?);
    }
    match f.get("checks") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) => {
            for v in a {
                out.push(check(v, default_status)?);
            }
        }
        Some(v) => return Err(type_err("Checks", "structs.CheckTypes", v)),
    }
    Ok(out)
}

fn parse(body: &[u8]) -> Result<Obj, String> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(v) => Err(type_err("body", "struct", &v)),
        Err(e) => Err(e.to_string()),
    }
}

/// A decode result: `Err(message)` becomes 400 `Request decode failed: <message>`.
pub type Decoded<T> = Result<T, String>;

/// Decodes `PUT /v1/agent/service/register`.
pub fn agent_service(body: &[u8]) -> Decoded<ServiceDef> {
    let o = parse(body)?;
    let f = fields(
        &o,
        &[
            "id",
            "name",
            "tags",
            "port",
            "address",
            "meta",
            "weights",
            "enabletagoverride",
            "taggedaddresses",
            "check",
            "checks",
            "kind",
            "proxy",
            "connect",
            "socketpath",
            "token",
            "namespace",
            "partition",
            "locality",
        ],
    )?;
    service_from(&f, "name", None)
}

fn service_from(
    f: &BTreeMap<&str, &Value>,
    name_key: &str,
    default_status: Option<CheckStatus>,
) -> Decoded<ServiceDef> {
    Ok(ServiceDef {
        id: string(f, "id")?,
        name: string(f, name_key)?,
        tags: strings(f, "tags")?,
        address: string(f, "address")?,
        meta: string_map(f, "meta")?,
        port: port(f, "port")?,
        weights: weights(f)?,
        enable_tag_override: boolean(f, "enabletagoverride")?,
        tagged_addresses: tagged_addresses(f)?,
        checks: checks(f, default_status)?
            .into_iter()
            .map(|(c, _)| c)
            .collect(),
    })
}

/// A decoded `PUT /v1/catalog/register` body.
#[derive(Debug, Default)]
pub struct CatalogRegister {
    /// Node name.
    pub node: String,
    /// Node address.
    pub address: String,
    /// Requested datacenter (empty: the local one).
    pub datacenter: String,
    /// Node meta.
    pub node_meta: BTreeMap<String, String>,
    /// Node tagged addresses.
    pub tagged_addresses: BTreeMap<String, String>,
    /// The service, if any.
    pub service: Option<ServiceDef>,
    /// Checks with the service ID each names.
    pub checks: Vec<(CheckDef, String)>,
    /// Leave the node record alone when it exists.
    pub skip_node_update: bool,
}

/// Decodes `PUT /v1/catalog/register`.
pub fn catalog_register(body: &[u8]) -> Decoded<CatalogRegister> {
    let o = parse(body)?;
    let f = fields(
        &o,
        &[
            "id",
            "node",
            "address",
            "datacenter",
            "taggedaddresses",
            "nodemeta",
            "service",
            "check",
            "checks",
            "skipnodeupdate",
            "partition",
            "peername",
            "locality",
        ],
    )?;
    let service = match object(&f, "service")? {
        None => None,
        Some(s) => {
            let sf = fields(
                s,
                &[
                    "id",
                    "service",
                    "tags",
                    "address",
                    "taggedaddresses",
                    "meta",
                    "port",
                    "weights",
                    "enabletagoverride",
                    "kind",
                    "proxy",
                    "connect",
                    "socketpath",
                    "locality",
                    "createindex",
                    "modifyindex",
                    "namespace",
                    "partition",
                    "peername",
                    "datacenter",
                ],
            )?;
            Some(service_from(&sf, "service", Some(CheckStatus::Critical))?)
        }
    };
    let tagged = match object(&f, "taggedaddresses")? {
        None => BTreeMap::new(),
        Some(t) => t
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                v => Err(type_err("TaggedAddresses", "map[string]string", v)),
            })
            .collect::<Result<_, _>>()?,
    };
    Ok(CatalogRegister {
        node: string(&f, "node")?,
        address: string(&f, "address")?,
        datacenter: string(&f, "datacenter")?,
        node_meta: string_map(&f, "nodemeta")?,
        tagged_addresses: tagged,
        service,
        checks: checks(&f, Some(CheckStatus::Critical))?,
        skip_node_update: boolean(&f, "skipnodeupdate")?,
    })
}

/// A decoded `PUT /v1/catalog/deregister` body.
#[derive(Debug, Default)]
pub struct CatalogDeregister {
    /// Node name.
    pub node: String,
    /// Requested datacenter.
    pub datacenter: String,
    /// Service to remove (else the check, else the whole node).
    pub service_id: String,
    /// Check to remove.
    pub check_id: String,
}

/// Decodes `PUT /v1/catalog/deregister`.
pub fn catalog_deregister(body: &[u8]) -> Decoded<CatalogDeregister> {
    let o = parse(body)?;
    let f = fields(
        &o,
        &[
            "node",
            "datacenter",
            "serviceid",
            "checkid",
            "partition",
            "namespace",
            "peername",
        ],
    )?;
    Ok(CatalogDeregister {
        node: string(&f, "node")?,
        datacenter: string(&f, "datacenter")?,
        service_id: string(&f, "serviceid")?,
        check_id: string(&f, "checkid")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_body_in_any_case() {
        let s = agent_service(
            br#"{"name":"web","ID":"web1","Tags":["a"],"port":80,"Meta":{"k":"v"},
                "check":{"tcp":"127.0.0.1:80","interval":"10s"},"enable_tag_override":true}"#,
        )
        .unwrap();
        assert_eq!(
            (s.id.as_str(), s.name.as_str(), s.port),
            ("web1", "web", 80)
        );
        assert!(s.enable_tag_override);
        assert_eq!(s.checks[0].kind, CheckKind::Tcp("127.0.0.1:80".into()));
        assert_eq!(s.checks[0].status, CheckStatus::Passing);
    }

    #[test]
    fn unknown_fields_and_bad_types_are_errors() {
        assert_eq!(
            agent_service(br#"{"Name":"x","Bogus":1}"#).unwrap_err(),
            "json: unknown field \"Bogus\""
        );
        assert!(
            agent_service(br#"{"Name":"x","Port":"80"}"#)
                .unwrap_err()
                .to_lowercase()
                .contains("port")
        );
        assert!(agent_service(b"{nope").is_err());
        assert!(agent_service(b"[]").is_err());
        assert!(catalog_register(br#"{"Node":"n","Service":{"Name":"x"}}"#).is_err());
    }

    #[test]
    fn catalog_bodies() {
        let r = catalog_register(
            br#"{"Node":"ext","Address":"127.0.0.9","Service":{"Service":"db","Port":5432},
                "Check":{"CheckID":"c1","Status":"passing","ServiceID":"db"}}"#,
        )
        .unwrap();
        assert_eq!(r.node, "ext");
        assert_eq!(r.service.unwrap().name, "db");
        assert_eq!(r.checks[0].1, "db");
        let d = catalog_deregister(br#"{"Node":"ext","ServiceID":"db"}"#).unwrap();
        assert_eq!(d.service_id, "db");
    }
}
