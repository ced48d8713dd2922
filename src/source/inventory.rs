//! The Pigsty inventory (Ansible YAML) as the declared-identity source.
//!
//! The inventory is read as Ansible's YAML inventory plugin reads it: top-level keys are
//! groups (normally just `all`), each group may have `hosts`, `vars` and `children`;
//! `all.vars` are globals, a child group inherits the vars of the groups it is nested
//! under (its own vars override them), and host vars override group vars. Groups are
//! walked as written: a group that is only referenced by name under another group's
//! `children` (defined elsewhere) does not pick up that parent's vars.
//!
//! Every host entry whose effective vars have `pg_cluster` becomes one observation, so a
//! host listed in two database groups yields two. A top-level key other than `all` is a
//! group too, as Ansible reads it, and host vars override group vars, so Citus hosts of
//! one group with their own `pg_cluster` are clusters of their own. A host with
//! `pg_instances` (`{<port>: {pg_cluster, pg_seq, pg_role, ...}}`, Greenplum/MatrixDB
//! segment hosts) declares one instance per entry, the entry's vars over the host's and
//! `pg_port` set to the key; the host is an instance itself only when it states a
//! `pg_seq`. A file in which no host names a cluster is one error, not a read of nothing.
//!
//! Pieces that cannot be read (a `pg_seq` that is not a non-negative integer, a `pg_role`
//! that is a list, an empty `pg_cluster`) do not fail the file: the observation keeps what
//! could be read and the report gets an error naming `file:line:column`. Repeated keys
//! follow Ansible (the later one wins) and are noted.

use crate::identity::parse_seq;
use crate::observation::{
    InventoryOrigin, Observation, Origin, RoleClaim, SourceKind, SourceOutput, SourceReport,
};
use crate::source::file_error::{FileError, FileKind};
use crate::source::file_text::{self, Position, Problem};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::path::Path;

/// Deepest YAML nesting an inventory may have; Pigsty's deepest vars need about 10.
pub const MAX_INVENTORY_DEPTH: usize = 48;

/// What stops an inventory from being read at all; every message names its place.
pub type InventoryError = FileError;

/// A YAML value with positions on every node and key, in file order.
///
/// A plain value type (serde_json's) would lose the lines roster reports, and would
/// silently collapse repeated keys that Ansible users expect to be told about.
#[derive(Debug)]
enum Node {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<String>, Spanned<Node>)>),
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Int(v.into()))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Node, E> {
        Ok(i128::try_from(v).map_or_else(|_| Node::Str(v.to_string()), Node::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Node, E> {
        Ok(Node::Str(String::from_utf8_lossy(v).into_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Node::Map(entries))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Node, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

fn position(span: &Spanned<impl Sized>) -> Position {
    Position {
        line: usize::try_from(span.referenced.line()).unwrap_or(0),
        column: usize::try_from(span.referenced.column()).unwrap_or(0),
    }
}

/// A scalar's text; `None` for collections, which have no single-word reading.
fn scalar_text(node: &Node) -> Option<String> {
    match node {
        Node::Null => Some("null".to_string()),
        Node::Bool(b) => Some(b.to_string()),
        Node::Int(i) => Some(i.to_string()),
        Node::Float(f) => Some(f.to_string()),
        Node::Str(s) => Some(s.clone()),
        Node::Seq(_) | Node::Map(_) => None,
    }
}

fn to_json(node: &Node) -> serde_json::Value {
    use serde_json::Value;
    match node {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(*b),
        Node::Int(i) => i64::try_from(*i)
            .map(Value::from)
            .or_else(|_| u64::try_from(*i).map(Value::from))
            .unwrap_or_else(|_| Value::String(i.to_string())),
        Node::Float(f) => serde_json::Number::from_f64(*f)
            .map_or_else(|| Value::String(f.to_string()), Value::Number),
        Node::Str(s) => Value::String(s.clone()),
        Node::Seq(items) => Value::Array(items.iter().map(|i| to_json(&i.value)).collect()),
        Node::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.value.clone(), to_json(&v.value)))
                .collect(),
        ),
    }
}

/// A var's value as text for [`InventoryOrigin::vars`]: scalars as written, collections as JSON.
fn render(node: &Node) -> String {
    scalar_text(node).unwrap_or_else(|| to_json(node).to_string())
}

/// Effective vars of a host: name -> the node that set it last.
type Vars<'a> = BTreeMap<String, &'a Spanned<Node>>;

/// Everything read from one inventory, fatal problems aside.
#[derive(Default)]
struct Parsed {
    observations: Vec<Observation>,
    errors: Vec<String>,
    notes: Vec<String>,
    groups: usize,
    hosts: usize,
    /// True once any host's effective vars (or `pg_instances` entry) set `pg_cluster`.
    clusters_seen: bool,
}

/// Where an instance is declared: a host entry, or one entry of its `pg_instances`.
struct Declared<'a> {
    group: &'a str,
    host: &'a str,
    /// The host key, or the `pg_instances` port key: where errors point.
    at: Position,
    /// The `pg_instances` key, when the instance is one of several on its host.
    port: Option<u16>,
}

/// Walks the group tree of one inventory, collecting observations and problems.
struct Walker<'a> {
    path: &'a Path,
    out: Parsed,
}

impl<'a> Walker<'a> {
    fn at(&self, at: Position) -> String {
        file_text::place(self.path, at)
    }

    fn error(&mut self, at: Position, message: impl fmt::Display) {
        let place = self.at(at);
        self.out.errors.push(format!("{place}: {message}"));
    }

    fn note(&mut self, at: Position, message: impl fmt::Display) {
        let place = self.at(at);
        self.out.notes.push(format!("{place}: {message}"));
    }

    /// A mapping's entries with repeated keys resolved as Ansible does: the later wins.
    fn entries(
        &mut self,
        map: &'a [(Spanned<String>, Spanned<Node>)],
    ) -> Vec<&'a (Spanned<String>, Spanned<Node>)> {
        let mut last: HashMap<&str, usize> = HashMap::new();
        for (i, (k, _)) in map.iter().enumerate() {
            last.insert(k.value.as_str(), i);
        }
        let mut kept = Vec::new();
        for (i, entry) in map.iter().enumerate() {
            let winner = last.get(entry.0.value.as_str()).copied().unwrap_or(i);
            if winner == i {
                kept.push(entry);
            } else {
                let later = position(&map[winner].0);
                self.note(
                    position(&entry.0),
                    format_args!(
                        "key {:?} repeated at line {}; the later one wins, as in Ansible",
                        entry.0.value, later.line
                    ),
                );
            }
        }
        kept
    }

    /// A `vars`/host-vars/`hosts`/`children` value: a mapping, or nothing when null.
    fn mapping(
        &mut self,
        node: &'a Spanned<Node>,
        what: fmt::Arguments<'_>,
    ) -> Vec<&'a (Spanned<String>, Spanned<Node>)> {
        match &node.value {
            Node::Map(entries) => self.entries(entries),
            Node::Null => Vec::new(),
            _ => {
                self.error(
                    position(node),
                    format_args!("{what} is not a mapping; ignored"),
                );
                Vec::new()
            }
        }
    }

    fn group(&mut self, name: &str, node: &'a Spanned<Node>, inherited: &Vars<'a>) {
        self.out.groups += 1;
        let (mut vars_node, mut hosts_node, mut children_node) = (None, None, None);
        for (key, value) in self.mapping(node, format_args!("group {name:?}")) {
            match key.value.as_str() {
                "vars" => vars_node = Some(value),
                "hosts" => hosts_node = Some(value),
                "children" => children_node = Some(value),
                other => self.note(
                    position(key),
                    format_args!(
                        "unexpected key {other:?} in group {name:?} skipped (Ansible expects hosts, vars, children)"
                    ),
                ),
            }
        }
        let mut vars = inherited.clone();
        if let Some(v) = vars_node {
            self.merge(&mut vars, v, format_args!("vars of group {name:?}"));
        }
        if let Some(h) = hosts_node {
            for (host, host_vars) in self.mapping(h, format_args!("hosts of group {name:?}")) {
                self.host(name, host, host_vars, &vars);
            }
        }
        if let Some(c) = children_node {
            for (child, body) in self.mapping(c, format_args!("children of group {name:?}")) {
                self.group(&child.value, body, &vars);
            }
        }
    }

    fn merge(&mut self, vars: &mut Vars<'a>, node: &'a Spanned<Node>, what: fmt::Arguments<'_>) {
        for (key, value) in self.mapping(node, what) {
            vars.insert(key.value.clone(), value);
        }
    }

    fn host(
        &mut self,
        group: &str,
        host: &'a Spanned<String>,
        host_vars: &'a Spanned<Node>,
        group_vars: &Vars<'a>,
    ) {
        self.out.hosts += 1;
        let mut vars = group_vars.clone();
        self.merge(
            &mut vars,
            host_vars,
            format_args!("vars of host {:?}", host.value),
        );
        let declared = Declared {
            group,
            host: &host.value,
            at: position(host),
            port: None,
        };
        let Some(instances) = self.pg_instances(&vars, &host.value) else {
            self.declare(&declared, &vars);
            return;
        };
        // A host whose instances are listed under `pg_instances` (Greenplum/MatrixDB
        // segment hosts) is not itself an instance unless it states its own seq, as
        // Pigsty's playbooks skip its preflight check.
        if vars.contains_key("pg_seq") {
            self.declare(&declared, &vars);
        }
        vars.remove("pg_instances");
        for (key, entry) in instances {
            let at = position(key);
            let Some(port) = key.value.trim().parse::<u16>().ok().filter(|p| *p > 0) else {
                self.error(
                    at,
                    format_args!(
                        "host {:?}: pg_instances key {:?} is not a port; entry skipped",
                        host.value, key.value
                    ),
                );
                continue;
            };
            let what = format_args!("pg_instances entry {port} of host {:?}", host.value);
            let mut own = vars.clone();
            self.merge(&mut own, entry, what);
            let declared = Declared {
                port: Some(port),
                at,
                ..declared
            };
            self.declare(&declared, &own);
        }
    }

    /// The entries of a host's `pg_instances`, or `None` when it has none (absent, null
    /// or an empty mapping, Pigsty's default) or it is not a mapping (an error).
    fn pg_instances(
        &mut self,
        vars: &Vars<'a>,
        host: &str,
    ) -> Option<Vec<&'a (Spanned<String>, Spanned<Node>)>> {
        let node = vars.get("pg_instances")?;
        let entries = self.mapping(node, format_args!("pg_instances of host {host:?}"));
        (!entries.is_empty()).then_some(entries)
    }

    /// One instance, when its effective vars name a cluster.
    fn declare(&mut self, declared: &Declared<'_>, vars: &Vars<'a>) {
        if !vars.contains_key("pg_cluster") {
            if declared.port.is_some() {
                self.error(
                    declared.at,
                    format_args!(
                        "host {:?}: pg_instances entry {} has no pg_cluster; entry skipped",
                        declared.host,
                        declared.port.unwrap_or_default()
                    ),
                );
            }
            return;
        }
        self.out.clusters_seen = true;
        if let Some(obs) = self.observation(declared, vars) {
            self.out.observations.push(obs);
        }
    }

    /// A scalar var as trimmed text; `None` when absent, null or empty, error when a collection.
    fn text_var(&mut self, vars: &Vars<'a>, name: &str, host: &str) -> Option<String> {
        let node = vars.get(name)?;
        match &node.value {
            Node::Null => None,
            Node::Seq(_) | Node::Map(_) => {
                self.error(
                    position(node),
                    format_args!("host {host:?}: {name} is a collection, expected a scalar"),
                );
                None
            }
            other => scalar_text(other)
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        }
    }

    fn seq(&mut self, vars: &Vars<'a>, declared: &Declared<'_>) -> Option<u32> {
        let Some(node) = vars.get("pg_seq") else {
            let entry = declared
                .port
                .map(|p| format!(" pg_instances entry {p}:"))
                .unwrap_or_default();
            self.error(
                declared.at,
                format_args!(
                    "host {:?}:{entry} pg_seq is missing (Pigsty requires it)",
                    declared.host
                ),
            );
            return None;
        };
        let seq = match &node.value {
            Node::Int(i) => u32::try_from(*i).ok(),
            Node::Str(s) => parse_seq(s),
            _ => None,
        };
        if seq.is_none() {
            self.error(
                position(node),
                format_args!(
                    "host {:?}: pg_seq {:?} is not a non-negative integer",
                    declared.host,
                    render(&node.value)
                ),
            );
        }
        seq
    }

    fn observation(&mut self, declared: &Declared<'_>, vars: &Vars<'a>) -> Option<Observation> {
        let name = declared.host;
        let Some(cluster) = self.text_var(vars, "pg_cluster", name) else {
            self.error(
                declared.at,
                format_args!("host {name:?}: pg_cluster is empty; host skipped"),
            );
            return None;
        };
        let seq = self.seq(vars, declared);
        let role = self
            .text_var(vars, "pg_role", name)
            .map(|r| RoleClaim::new(&r, "pg_role"));
        let instance = self.text_var(vars, "pg_instance", name);
        let service = self.text_var(vars, "pg_service", name);
        let ip = host_ip(name, self.text_var(vars, "ansible_host", name));
        let mut rendered: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.clone(), render(&v.value)))
            .collect();
        if let Some(port) = declared.port {
            // As Pigsty's playbooks set it for each entry of `pg_instances`.
            rendered.insert("pg_port".into(), port.to_string());
        }
        Some(Observation {
            source: SourceKind::Inventory,
            cluster,
            seq,
            instance,
            service,
            role,
            ip: Some(ip),
            origin: Origin::Inventory(InventoryOrigin {
                file: self.path.to_path_buf(),
                line: declared.at.line,
                group: declared.group.to_string(),
                host: name.to_string(),
                vars: rendered,
                port: declared.port,
            }),
        })
    }
}

/// The host key when it is an IP address, else `ansible_host`, else the key (a DNS name).
fn host_ip(key: &str, ansible_host: Option<String>) -> String {
    if key.trim().parse::<IpAddr>().is_ok() {
        return key.trim().to_string();
    }
    ansible_host.unwrap_or_else(|| key.to_string())
}

fn parse_tree(path: &Path, text: &str) -> Result<Spanned<Node>, InventoryError> {
    if text.len() as u64 > file_text::MAX_FILE_BYTES {
        return Err(InventoryError::too_large(path, text.len() as u64));
    }
    let opts = file_text::options(
        MAX_INVENTORY_DEPTH,
        serde_saphyr::DuplicateKeyPolicy::PassThrough,
    );
    serde_saphyr::from_str_with_options(text, opts)
        .map_err(|e| InventoryError::parse(path, file_text::yaml_problem(&e, MAX_INVENTORY_DEPTH)))
}

fn parse_detailed(path: &Path, text: &str) -> Result<Parsed, InventoryError> {
    let root = parse_tree(path, text)?;
    let mut walker = Walker {
        path,
        out: Parsed::default(),
    };
    let top = match &root.value {
        Node::Null => return Ok(no_clusters(walker.out, path)),
        Node::Map(entries) => walker.entries(entries),
        _ => {
            return Err(InventoryError::parse(
                path,
                Problem {
                    at: position(&root),
                    message: "the inventory must be a mapping of groups (e.g. `all:`)".into(),
                },
            ));
        }
    };
    let globals = global_vars(&top);
    for (name, body) in top {
        walker.group(&name.value, body, &globals);
    }
    if walker.out.clusters_seen {
        Ok(walker.out)
    } else {
        Ok(no_clusters(walker.out, path))
    }
}

/// A file in which no host names a cluster is most likely not the inventory at all (an
/// infra-only config, prometheus.yml): one error says so. The shapes it found wrong on
/// the way stay as notes, in case it is a broken inventory after all; the notes about
/// its unfamiliar keys, which would only bury the error, are counted instead of listed.
fn no_clusters(mut out: Parsed, path: &Path) -> Parsed {
    let hidden = std::mem::take(&mut out.notes).len();
    out.notes = std::mem::take(&mut out.errors);
    out.errors.push(format!(
        "no database clusters in {}: no host has pg_cluster; is this the Pigsty inventory?",
        path.display()
    ));
    if hidden > 0 {
        out.notes
            .push(format!("{hidden} note(s) about unexpected keys not shown"));
    }
    out
}

/// `all.vars`: the globals every top-level group starts from (Ansible's `all` contains them).
fn global_vars<'a>(top: &[&'a (Spanned<String>, Spanned<Node>)]) -> Vars<'a> {
    let mut globals = Vars::new();
    let Some((_, all)) = top.iter().find(|(k, _)| k.value == "all") else {
        return globals;
    };
    if let Node::Map(entries) = &all.value {
        for (key, value) in entries.iter().rev() {
            if key.value == "vars" {
                if let Node::Map(vars) = &value.value {
                    for (k, v) in vars {
                        globals.insert(k.value.clone(), v);
                    }
                }
                break;
            }
        }
    }
    globals
}

/// Parses an inventory into one observation per host entry with `pg_cluster`.
///
/// Only fatal problems are returned as errors; the non-fatal ones (a bad `pg_seq`, ...)
/// appear in the report of [`read_inventory`].
pub fn parse_inventory(path: &Path, text: &str) -> Result<Vec<Observation>, InventoryError> {
    parse_detailed(path, text).map(|p| p.observations)
}

/// Reads the inventory file; problems go into the report, never into a panic.
pub fn read_inventory(path: &Path) -> SourceOutput {
    let mut report = SourceReport::new(SourceKind::Inventory, path.display().to_string());
    let parsed = file_text::read_limited(path)
        .map_err(|f| InventoryError::read(FileKind::Inventory, path, f))
        .and_then(|text| parse_detailed(path, &text));
    match parsed {
        Ok(p) => {
            for e in p.errors {
                report.error(e);
            }
            report.notes.extend(p.notes);
            report.facts.insert("groups".into(), p.groups.to_string());
            report.facts.insert("hosts".into(), p.hosts.to_string());
            SourceOutput::new(report, p.observations)
        }
        Err(e) => {
            report.error(e.to_string());
            SourceOutput::new(report, Vec::new())
        }
    }
}

#[cfg(test)]
#[path = "inventory_tests.rs"]
mod tests;
