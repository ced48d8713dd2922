//! The simulator's in-memory Consul catalog: nodes, services and checks under one
//! raft-like index, with change notification for blocking queries.
//!
//! As in Consul, each table keeps the index of its last change and each service name
//! the index of the last change to its instances or their checks: `catalog/services`
//! moves on registrations only, `health/state/*` on any check, `health/service/<name>`
//! on that service's instances and checks (a node check counts for every service on it).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use tokio::sync::watch;

pub use super::records::{CheckDef, CheckKind, CheckStatus, NodeDef, ServiceDef, Weights};

/// The first index a fresh catalog reports (Consul never reports 0, and rarely 1).
const START_INDEX: u64 = 10;

/// Why a catalog write was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// The node is not in the catalog.
    #[error("Unknown node {0:?}")]
    UnknownNode(String),
    /// The service ID is not registered on the node.
    #[error(
        "Unknown service ID {0:?}. Ensure that the service ID is passed, not the service name."
    )]
    UnknownService(String),
    /// The check ID is not registered on the node.
    #[error("Unknown check ID {0:?}")]
    UnknownCheck(String),
    /// The registration lacks a service name.
    #[error("Missing service name")]
    MissingName,
}

/// A stored check.
#[derive(Clone, Debug)]
pub(crate) struct Check {
    pub def: CheckDef,
    pub service_id: String,
    pub service_name: String,
    pub service_tags: Vec<String>,
    pub output: String,
    pub create: u64,
    pub modify: u64,
}

/// A stored service instance.
#[derive(Clone, Debug)]
pub(crate) struct Service {
    pub def: ServiceDef,
    pub create: u64,
    pub modify: u64,
}

/// A stored node with what lives on it.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub id: String,
    pub def: NodeDef,
    pub tagged: BTreeMap<String, String>,
    pub create: u64,
    pub modify: u64,
    pub services: BTreeMap<String, Service>,
    pub checks: BTreeMap<String, Check>,
}

/// The whole catalog state; readers borrow it to serialize without copying.
#[derive(Debug)]
pub(crate) struct State {
    pub datacenter: String,
    pub index: u64,
    /// Bumped by `reset_index` so caches and waiters notice the index went backwards.
    pub epoch: u64,
    pub nodes: BTreeMap<String, Node>,
    pub nodes_index: u64,
    /// The services table: registrations and deregistrations, not check results.
    pub services_index: u64,
    /// The checks table: every check registered, changed or removed.
    pub checks_index: u64,
    /// service name -> (index of the last change touching it, instances as (node, id)).
    pub names: HashMap<String, (u64, BTreeSet<(String, String)>)>,
    /// node address -> node name, for agent nodes.
    pub agents: HashMap<IpAddr, String>,
}

impl State {
    /// The index a read of service `name` reports.
    pub fn name_index(&self, name: &str) -> u64 {
        match self.names.get(name) {
            Some((i, set)) if !set.is_empty() => *i,
            _ => self
                .services_index
                .max(self.names.get(name).map_or(0, |e| e.0)),
        }
        .max(1)
    }

    fn bump(&mut self) -> u64 {
        self.index += 1;
        self.index
    }

    fn touch_name(&mut self, name: &str, idx: u64) {
        self.names.entry(name.to_string()).or_default().0 = idx;
    }

    fn touch_node_services(&mut self, node: &str, idx: u64) {
        let names: Vec<String> = self
            .nodes
            .get(node)
            .map(|n| n.services.values().map(|s| s.def.name.clone()).collect())
            .unwrap_or_default();
        for n in names {
            self.touch_name(&n, idx);
        }
    }
}

fn node_uuid(name: &str) -> String {
    // FNV-1a, twice with different offsets: stable IDs without a dependency.
    let fnv = |seed: u64| {
        name.bytes()
            .fold(seed, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3))
    };
    let (a, b) = (fnv(0xcbf29ce484222325), fnv(0x84222325cbf29ce4));
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

fn made_up_output(kind: &CheckKind, status: CheckStatus) -> String {
    let ok = status == CheckStatus::Passing;
    match (kind, ok) {
        (CheckKind::Serf, true) => "Agent alive and reachable".into(),
        (CheckKind::Serf, false) => "Agent not live or unreachable".into(),
        (CheckKind::Tcp(t), true) => format!("TCP connect {t}: Success"),
        (CheckKind::Tcp(t), false) => format!("dial tcp {t}: connect: connection refused"),
        (CheckKind::Http(u), true) => format!("HTTP GET {u}: 200 OK Output: "),
        (CheckKind::Http(u), false) => {
            format!("Get \"{u}\": dial tcp: connect: connection refused")
        }
        (CheckKind::Ttl(_), true) => "TTL check passed".into(),
        (CheckKind::Ttl(_), false) => "TTL expired".into(),
        (CheckKind::Other(_), _) => String::new(),
    }
}

/// A cheap-to-clone handle on the shared catalog.
#[derive(Clone, Debug)]
pub struct Catalog {
    state: Arc<RwLock<State>>,
    changed: watch::Sender<u64>,
}

impl Catalog {
    /// An empty catalog for `datacenter`.
    pub fn new(datacenter: &str) -> Catalog {
        let (changed, _) = watch::channel(START_INDEX);
        Catalog {
            state: Arc::new(RwLock::new(State {
                datacenter: datacenter.to_string(),
                index: START_INDEX,
                epoch: 0,
                nodes: BTreeMap::new(),
                nodes_index: START_INDEX,
                services_index: START_INDEX,
                checks_index: START_INDEX,
                names: HashMap::new(),
                agents: HashMap::new(),
            })),
            changed,
        }
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way
        // that matters to a simulator, so a poisoned lock is simply taken over.
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self, idx: u64) {
        self.changed.send_replace(idx);
    }

    /// A receiver that changes on every write (blocking queries wait on it).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// The datacenter this catalog serves.
    pub fn datacenter(&self) -> String {
        self.read().datacenter.clone()
    }

    /// The current raft-like index.
    pub fn index(&self) -> u64 {
        self.read().index
    }

    /// Registers or updates a node (catalog/register semantics: services stay).
    pub fn register_node(&self, def: NodeDef) -> u64 {
        let mut guard = self.write();
        let st = &mut *guard;
        let idx = st.bump();
        let mut tagged = BTreeMap::new();
        for k in ["lan", "lan_ipv4", "wan", "wan_ipv4"] {
            tagged.insert(k.to_string(), def.address.clone());
        }
        tagged.extend(def.tagged_addresses.clone());
        let name = def.name.clone();
        let existed = if let Some(n) = st.nodes.get_mut(&name) {
            if let Ok(old) = n.def.address.parse::<IpAddr>()
                && st.agents.get(&old) == Some(&name)
            {
                st.agents.remove(&old);
            }
            let agent = def.agent || n.def.agent;
            n.def = NodeDef { agent, ..def };
            n.tagged = tagged;
            n.modify = idx;
            true
        } else {
            let status = CheckStatus::Passing;
            let serf = Check {
                def: CheckDef {
                    id: "serfHealth".into(),
                    name: "Serf Health Status".into(),
                    kind: CheckKind::Serf,
                    interval: String::new(),
                    timeout: String::new(),
                    status,
                    notes: String::new(),
                    output: String::new(),
                },
                service_id: String::new(),
                service_name: String::new(),
                service_tags: Vec::new(),
                output: made_up_output(&CheckKind::Serf, status),
                create: idx,
                modify: idx,
            };
            let has_agent = def.agent;
            let node = Node {
                id: node_uuid(&name),
                def,
                tagged,
                create: idx,
                modify: idx,
                services: BTreeMap::new(),
                // serfHealth comes from the agent's gossip membership: a node registered
                // only through the catalog (no agent) has none, as in Consul.
                checks: if has_agent {
                    BTreeMap::from([("serfHealth".to_string(), serf)])
                } else {
                    BTreeMap::new()
                },
            };
            st.nodes.insert(name.clone(), node);
            false
        };
        if let Some(n) = st.nodes.get(&name)
            && n.def.agent
            && let Ok(a) = n.def.address.parse::<IpAddr>()
        {
            st.agents.insert(a, name.clone());
        }
        if existed {
            st.touch_node_services(&name, idx);
        } else {
            st.checks_index = idx;
        }
        st.nodes_index = idx;
        drop(guard);
        self.notify(idx);
        idx
    }

    /// Removes a node with everything on it; false when there was no such node.
    pub fn deregister_node(&self, node: &str) -> bool {
        let mut st = self.write();
        if !st.nodes.contains_key(node) {
            return false;
        }
        let idx = st.bump();
        st.touch_node_services(node, idx);
        if let Some(n) = st.nodes.remove(node) {
            for s in n.services.values() {
                if let Some(e) = st.names.get_mut(&s.def.name) {
                    e.1.remove(&(node.to_string(), s.def.id.clone()));
                }
            }
            if let Ok(a) = n.def.address.parse::<IpAddr>()
                && st.agents.get(&a).map(String::as_str) == Some(node)
            {
                st.agents.remove(&a);
            }
        }
        st.nodes_index = idx;
        st.services_index = idx;
        st.checks_index = idx;
        drop(st);
        self.notify(idx);
        true
    }

    /// Registers a service on a node, replacing its whole definition and all its checks.
    pub fn register_service(&self, node: &str, def: ServiceDef) -> Result<u64, CatalogError> {
        self.register_service_with(node, def, true)
    }

    /// Registers a service; `replace_checks` false keeps old checks the new definition omits.
    pub fn register_service_with(
        &self,
        node: &str,
        mut def: ServiceDef,
        replace_checks: bool,
    ) -> Result<u64, CatalogError> {
        if def.name.is_empty() {
            return Err(CatalogError::MissingName);
        }
        if def.id.is_empty() {
            def.id = def.name.clone();
        }
        let mut guard = self.write();
        let st = &mut *guard;
        if !st.nodes.contains_key(node) {
            return Err(CatalogError::UnknownNode(node.to_string()));
        }
        let idx = st.bump();
        let id = def.id.clone();
        let name = def.name.clone();
        let Some(n) = st.nodes.get_mut(node) else {
            return Err(CatalogError::UnknownNode(node.to_string()));
        };
        let old_name = n.services.get(&id).map(|s| s.def.name.clone());
        let create = n.services.get(&id).map_or(idx, |s| s.create);
        // Checks: the new definition's, plus (unless replacing) the old ones it omits.
        let count = def.checks.len();
        let mut new_checks = Vec::with_capacity(count);
        for (i, c) in def.checks.iter().enumerate() {
            let mut c = c.clone();
            if c.id.is_empty() {
                c.id = if count == 1 {
                    format!("service:{id}")
                } else {
                    format!("service:{id}:{}", i + 1)
                };
            }
            if c.name.is_empty() {
                c.name = format!("Service '{name}' check");
            }
            new_checks.push(c);
        }
        let old_ids: Vec<String> = n
            .checks
            .values()
            .filter(|c| c.service_id == id)
            .map(|c| c.def.id.clone())
            .collect();
        for cid in old_ids {
            let redefined = new_checks.iter().any(|c| c.id == cid);
            if replace_checks || redefined {
                if !redefined {
                    n.checks.remove(&cid);
                }
            } else if let Some(c) = n.checks.get_mut(&cid) {
                c.service_name = name.clone();
                c.service_tags = def.tags.clone();
                c.modify = idx;
            }
        }
        for c in new_checks {
            let create = n.checks.get(&c.id).map_or(idx, |o| o.create);
            let output = if c.output.is_empty() {
                made_up_output(&c.kind, c.status)
            } else {
                c.output.clone()
            };
            n.checks.insert(
                c.id.clone(),
                Check {
                    service_id: id.clone(),
                    service_name: name.clone(),
                    service_tags: def.tags.clone(),
                    output,
                    create,
                    modify: idx,
                    def: c,
                },
            );
        }
        def.checks.clear();
        n.services.insert(
            id.clone(),
            Service {
                def,
                create,
                modify: idx,
            },
        );
        if let Some(old) = old_name.filter(|o| *o != name) {
            if let Some(e) = st.names.get_mut(&old) {
                e.1.remove(&(node.to_string(), id.clone()));
            }
            st.touch_name(&old, idx);
        }
        st.names
            .entry(name.clone())
            .or_default()
            .1
            .insert((node.to_string(), id));
        st.touch_name(&name, idx);
        st.services_index = idx;
        st.checks_index = idx;
        drop(guard);
        self.notify(idx);
        Ok(idx)
    }

    /// Removes a service and its checks from a node.
    pub fn deregister_service(&self, node: &str, id: &str) -> Result<u64, CatalogError> {
        let mut st = self.write();
        let has = st
            .nodes
            .get(node)
            .ok_or_else(|| CatalogError::UnknownNode(node.to_string()))?
            .services
            .contains_key(id);
        if !has {
            return Err(CatalogError::UnknownService(id.to_string()));
        }
        let idx = st.bump();
        let Some(n) = st.nodes.get_mut(node) else {
            return Err(CatalogError::UnknownNode(node.to_string()));
        };
        let name = n
            .services
            .remove(id)
            .map(|s| s.def.name)
            .unwrap_or_default();
        n.checks.retain(|_, c| c.service_id != id);
        if let Some(e) = st.names.get_mut(&name) {
            e.1.remove(&(node.to_string(), id.to_string()));
        }
        st.touch_name(&name, idx);
        st.services_index = idx;
        st.checks_index = idx;
        drop(st);
        self.notify(idx);
        Ok(idx)
    }

    /// Sets a check's status (node checks like `serfHealth` included).
    pub fn set_check_status(
        &self,
        node: &str,
        check_id: &str,
        status: CheckStatus,
    ) -> Result<u64, CatalogError> {
        let mut st = self.write();
        let n = st
            .nodes
            .get(node)
            .ok_or_else(|| CatalogError::UnknownNode(node.to_string()))?;
        let Some(c) = n.checks.get(check_id) else {
            return Err(CatalogError::UnknownCheck(check_id.to_string()));
        };
        let (service, service_name) = (c.service_id.clone(), c.service_name.clone());
        let idx = st.bump();
        if let Some(c) = st
            .nodes
            .get_mut(node)
            .and_then(|n| n.checks.get_mut(check_id))
        {
            c.def.status = status;
            c.output = made_up_output(&c.def.kind, status);
            c.modify = idx;
        }
        if service.is_empty() {
            st.touch_node_services(node, idx);
        } else {
            st.touch_name(&service_name, idx);
        }
        st.checks_index = idx;
        drop(st);
        self.notify(idx);
        Ok(idx)
    }

    /// Adds or replaces one check on a node, bound to `service_id` (empty: a node check).
    pub fn register_check(
        &self,
        node: &str,
        service_id: &str,
        mut def: CheckDef,
    ) -> Result<u64, CatalogError> {
        let mut guard = self.write();
        let st = &mut *guard;
        let n = st
            .nodes
            .get(node)
            .ok_or_else(|| CatalogError::UnknownNode(node.to_string()))?;
        let (name, tags) = match service_id {
            "" => (String::new(), Vec::new()),
            id => {
                let s = n
                    .services
                    .get(id)
                    .ok_or_else(|| CatalogError::UnknownService(id.to_string()))?;
                (s.def.name.clone(), s.def.tags.clone())
            }
        };
        if def.id.is_empty() {
            def.id = if service_id.is_empty() {
                def.name.clone()
            } else {
                format!("service:{service_id}")
            };
        }
        if def.id.is_empty() {
            return Err(CatalogError::UnknownCheck(String::new()));
        }
        let idx = st.bump();
        let Some(n) = st.nodes.get_mut(node) else {
            return Err(CatalogError::UnknownNode(node.to_string()));
        };
        let create = n.checks.get(&def.id).map_or(idx, |c| c.create);
        let output = if def.output.is_empty() {
            made_up_output(&def.kind, def.status)
        } else {
            def.output.clone()
        };
        n.checks.insert(
            def.id.clone(),
            Check {
                def,
                service_id: service_id.to_string(),
                service_name: name.clone(),
                service_tags: tags,
                output,
                create,
                modify: idx,
            },
        );
        if name.is_empty() {
            st.touch_node_services(node, idx);
        } else {
            st.touch_name(&name, idx);
        }
        st.checks_index = idx;
        drop(guard);
        self.notify(idx);
        Ok(idx)
    }

    /// Removes one check from a node.
    pub fn deregister_check(&self, node: &str, check_id: &str) -> Result<u64, CatalogError> {
        let mut guard = self.write();
        let st = &mut *guard;
        let n = st
            .nodes
            .get_mut(node)
            .ok_or_else(|| CatalogError::UnknownNode(node.to_string()))?;
        let c = n
            .checks
            .remove(check_id)
            .ok_or_else(|| CatalogError::UnknownCheck(check_id.to_string()))?;
        let idx = st.bump();
        if c.service_name.is_empty() {
            st.touch_node_services(node, idx);
        } else {
            st.touch_name(&c.service_name, idx);
        }
        st.checks_index = idx;
        drop(guard);
        self.notify(idx);
        Ok(idx)
    }

    /// Makes every index go back to 1, as after a snapshot restore (clients must cope).
    pub fn reset_index(&self) {
        let mut st = self.write();
        st.index = 1;
        st.epoch += 1;
        st.nodes_index = 1;
        st.services_index = 1;
        st.checks_index = 1;
        for e in st.names.values_mut() {
            e.0 = 1;
        }
        for n in st.nodes.values_mut() {
            n.create = 1;
            n.modify = 1;
            for s in n.services.values_mut() {
                s.create = 1;
                s.modify = 1;
            }
            for c in n.checks.values_mut() {
                c.create = 1;
                c.modify = 1;
            }
        }
        drop(st);
        self.notify(1);
    }

    /// The reset generation: changes whenever [`Catalog::reset_index`] runs.
    pub fn epoch(&self) -> u64 {
        self.read().epoch
    }

    /// Node names in order.
    pub fn node_names(&self) -> Vec<String> {
        self.read().nodes.keys().cloned().collect()
    }

    /// A node's address.
    pub fn node_address(&self, node: &str) -> Option<String> {
        self.read().nodes.get(node).map(|n| n.def.address.clone())
    }

    /// The agent node answering on `ip`, if an agent runs there.
    pub fn agent_at(&self, ip: IpAddr) -> Option<String> {
        self.read().agents.get(&ip).cloned()
    }

    /// Registered service names (those with at least one instance), sorted.
    pub fn service_names(&self) -> Vec<String> {
        let st = self.read();
        let mut v: Vec<String> = st
            .names
            .iter()
            .filter(|(_, (_, set))| !set.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        v.sort();
        v
    }

    /// One service definition on a node (without its checks).
    pub fn service(&self, node: &str, id: &str) -> Option<ServiceDef> {
        let st = self.read();
        st.nodes.get(node)?.services.get(id).map(|s| s.def.clone())
    }

    /// Every instance of a service name as (node, definition), ordered by node.
    pub fn service_instances(&self, name: &str) -> Vec<(String, ServiceDef)> {
        let st = self.read();
        let Some((_, set)) = st.names.get(name) else {
            return Vec::new();
        };
        set.iter()
            .filter_map(|(node, id)| {
                let s = st.nodes.get(node)?.services.get(id)?;
                Some((node.clone(), s.def.clone()))
            })
            .collect()
    }

    /// A check's status.
    pub fn check_status(&self, node: &str, check_id: &str) -> Option<CheckStatus> {
        let st = self.read();
        st.nodes
            .get(node)?
            .checks
            .get(check_id)
            .map(|c| c.def.status)
    }

    /// The number of service instances in the catalog.
    pub fn instance_count(&self) -> usize {
        self.read().nodes.values().map(|n| n.services.len()).sum()
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;
