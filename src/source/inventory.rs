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
//! host listed in two database groups yields two. Pieces that cannot be read (a `pg_seq`
//! that is not a non-negative integer, a `pg_role` that is a list, an empty `pg_cluster`) do
//! not fail the file: the observation keeps what could be read and the report gets an
//! error naming `file:line:column`. Repeated keys follow Ansible (the later one wins) and
//! are noted.

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
        if !vars.contains_key("pg_cluster") {
            return;
        }
        if let Some(obs) = self.observation(group, host, &vars) {
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

    fn seq(&mut self, vars: &Vars<'a>, host: &Spanned<String>) -> Option<u32> {
        let Some(node) = vars.get("pg_seq") else {
            self.error(
                position(host),
                format_args!(
                    "host {:?}: pg_seq is missing (Pigsty requires it)",
                    host.value
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
                    host.value,
                    render(&node.value)
                ),
            );
        }
        seq
    }

    fn observation(
        &mut self,
        group: &str,
        host: &'a Spanned<String>,
        vars: &Vars<'a>,
    ) -> Option<Observation> {
        let name = host.value.as_str();
        let Some(cluster) = self.text_var(vars, "pg_cluster", name) else {
            self.error(
                position(host),
                format_args!("host {name:?}: pg_cluster is empty; host skipped"),
            );
            return None;
        };
        let seq = self.seq(vars, host);
        let role = self
            .text_var(vars, "pg_role", name)
            .map(|r| RoleClaim::new(&r, "pg_role"));
        let instance = self.text_var(vars, "pg_instance", name);
        let service = self.text_var(vars, "pg_service", name);
        let ip = host_ip(name, self.text_var(vars, "ansible_host", name));
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
                line: position(host).line,
                group: group.to_string(),
                host: name.to_string(),
                vars: vars
                    .iter()
                    .map(|(k, v)| (k.clone(), render(&v.value)))
                    .collect(),
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
        Node::Null => return Ok(walker.out),
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
    Ok(walker.out)
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
mod tests {
    use super::*;
    use crate::identity::Role;

    fn parse(text: &str) -> Parsed {
        parse_detailed(Path::new("inv.yml"), text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn origin(o: &Observation) -> &InventoryOrigin {
        match &o.origin {
            Origin::Inventory(i) => i,
            other => panic!("not an inventory origin: {other:?}"),
        }
    }

    const PIGSTY: &str = "\
all:
  vars: {version: v1.5, pg_dbsu: postgres}
  children:
    meta:
      hosts: {10.10.10.10: {}}
      vars: {nginx_port: 80}
    pg-test:
      hosts:
        10.10.10.11: { pg_seq: 1, pg_role: primary }
        10.10.10.12:
          pg_seq: '2'
          pg_role: replica
        node-3.example:
          pg_seq: 3
          pg_role: offline
          ansible_host: 10.10.10.13
      vars: { pg_cluster: pg-test, pg_users: [{name: u, roles: [a, b]}] }
";

    #[test]
    fn pigsty_inventory_hosts_become_observations() {
        let p = parse(PIGSTY);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!((p.groups, p.hosts), (3, 4));
        let obs = &p.observations;
        assert_eq!(obs.len(), 3);
        let seqs: Vec<Option<u32>> = obs.iter().map(|o| o.seq).collect();
        assert_eq!(seqs, vec![Some(1), Some(2), Some(3)]);
        let ips: Vec<&str> = obs.iter().filter_map(|o| o.ip.as_deref()).collect();
        assert_eq!(ips, vec!["10.10.10.11", "10.10.10.12", "10.10.10.13"]);
        assert_eq!(obs[0].role.as_ref().map(|r| &r.role), Some(&Role::Primary));
        assert_eq!(obs[0].role.as_ref().map(|r| r.from), Some("pg_role"));
        assert_eq!(obs[0].instance, None);
        let o = origin(&obs[2]);
        assert_eq!(
            (o.line, o.group.as_str(), o.host.as_str()),
            (13, "pg-test", "node-3.example")
        );
        assert_eq!(o.vars.get("version").map(String::as_str), Some("v1.5"));
        assert_eq!(o.vars.get("pg_seq").map(String::as_str), Some("3"));
        assert_eq!(
            o.vars.get("pg_users").map(String::as_str),
            Some(r#"[{"name":"u","roles":["a","b"]}]"#)
        );
        assert!(!o.vars.contains_key("nginx_port"));
    }

    #[test]
    fn bad_seq_keeps_the_observation_and_reports_the_place() {
        let p = parse(
            "pg-x:\n  hosts:\n    h1: {pg_seq: zero}\n    h2: {pg_seq: -1}\n    h3: {pg_seq: 1.5}\n    h4: {}\n  vars: {pg_cluster: pg-x}\n",
        );
        assert_eq!(p.observations.len(), 4);
        assert!(p.observations.iter().all(|o| o.seq.is_none()));
        assert_eq!(p.errors.len(), 4, "{:?}", p.errors);
        assert!(
            p.errors[0].starts_with("inv.yml:3:18: host \"h1\": pg_seq \"zero\" is not"),
            "{:?}",
            p.errors
        );
        assert!(p.errors[3].contains("pg_seq is missing"), "{:?}", p.errors);
    }

    #[test]
    fn seq_zero_is_a_seq_as_in_pigsty() {
        let p = parse(
            "pg-x:\n  hosts:\n    h1: {pg_seq: 0}\n    h2: {pg_seq: '0'}\n  vars: {pg_cluster: pg-x}\n",
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let seqs: Vec<Option<u32>> = p.observations.iter().map(|o| o.seq).collect();
        assert_eq!(seqs, [Some(0), Some(0)]);
    }

    #[test]
    fn empty_cluster_and_collection_role_are_errors() {
        let p = parse(
            "g:\n  hosts:\n    a: {pg_cluster: '', pg_seq: 1}\n    b: {pg_cluster: c, pg_seq: 1, pg_role: [x]}\n",
        );
        assert_eq!(p.observations.len(), 1);
        assert_eq!(p.observations[0].role, None);
        assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
    }

    #[test]
    fn repeated_keys_last_wins_with_a_note() {
        let p = parse(
            "g:\n  hosts:\n    a: {pg_seq: 1}\n    a: {pg_seq: 2}\n  vars: {pg_cluster: c}\n",
        );
        assert_eq!(p.observations.len(), 1);
        assert_eq!(p.observations[0].seq, Some(2));
        assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
        assert!(p.notes[0].starts_with("inv.yml:3:5: key \"a\" repeated at line 4"));
    }

    #[test]
    fn fatal_shapes() {
        for text in ["- a\n- b\n", "just text\n", "all: {children: [\n"] {
            let e = parse_detailed(Path::new("inv.yml"), text).err();
            let Some(e) = e else {
                panic!("{text:?} must fail")
            };
            assert!(e.to_string().starts_with("inv.yml:1:"), "{e}");
        }
        assert_eq!(parse("").observations.len(), 0);
        assert_eq!(parse("# nothing\n").observations.len(), 0);
    }

    #[test]
    fn deep_vars_hit_the_limit() {
        let deep = format!(
            "all:\n  vars:\n    x: {}{}\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        let e = parse_detailed(Path::new("inv.yml"), &deep).err();
        let Some(e) = e else {
            panic!("deep vars must fail")
        };
        assert!(
            e.to_string().contains("nesting deeper than 48 levels"),
            "{e}"
        );
        let block: String = (0..200)
            .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
            .collect();
        let e = parse_detailed(Path::new("inv.yml"), &block).err();
        assert!(e.is_some_and(|e| e.to_string().contains("nesting deeper")));
    }

    #[test]
    fn host_ip_prefers_ip_keys() {
        assert_eq!(host_ip("10.0.0.1", Some("10.9.9.9".into())), "10.0.0.1");
        assert_eq!(host_ip("::1", None), "::1");
        assert_eq!(host_ip("db1", Some("10.0.0.2".into())), "10.0.0.2");
        assert_eq!(host_ip("db1", None), "db1");
    }

    #[test]
    fn rendering() {
        assert_eq!(render(&Node::Null), "null");
        assert_eq!(render(&Node::Bool(true)), "true");
        assert_eq!(render(&Node::Int(-3)), "-3");
        assert_eq!(render(&Node::Str("x y".into())), "x y");
        assert_eq!(render(&Node::Seq(Vec::new())), "[]");
    }
}
