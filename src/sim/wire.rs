//! Borrowed views of catalog state in Consul's exact JSON field order.

use super::catalog::{Check, CheckKind, Node, Service, State};
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeStruct};
use std::collections::BTreeMap;

/// `ServiceWeights` / `Weights`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct WeightsOut {
    passing: i32,
    warning: i32,
}

/// An empty JSON object (`{}`).
struct Empty;

impl Serialize for Empty {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

/// The `Proxy`/`ServiceProxy` object of a non-proxy service.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ProxyOut {
    mode: &'static str,
    mesh_gateway: Empty,
    expose: Empty,
}

const PROXY: ProxyOut = ProxyOut {
    mode: "",
    mesh_gateway: Empty,
    expose: Empty,
};

/// Service tagged addresses: `{"k": {"Address": .., "Port": ..}}`.
struct TaggedOut<'a>(&'a BTreeMap<String, (String, u16)>);

impl Serialize for TaggedOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        #[serde(rename_all = "PascalCase")]
        struct Addr<'a> {
            address: &'a str,
            port: u16,
        }
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, (a, p)) in self.0 {
            m.serialize_entry(
                k,
                &Addr {
                    address: a,
                    port: *p,
                },
            )?;
        }
        m.end()
    }
}

fn weights(svc: &Service) -> WeightsOut {
    WeightsOut {
        passing: svc.def.weights.passing,
        warning: svc.def.weights.warning,
    }
}

/// A node as `/v1/catalog/nodes` and the `Node` of `/v1/health/service` show it.
pub(crate) struct NodeOut<'a> {
    pub node: &'a Node,
    pub dc: &'a str,
}

impl Serialize for NodeOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let n = self.node;
        let mut st = s.serialize_struct("Node", 8)?;
        st.serialize_field("ID", &n.id)?;
        st.serialize_field("Node", &n.def.name)?;
        st.serialize_field("Address", &n.def.address)?;
        st.serialize_field("Datacenter", self.dc)?;
        st.serialize_field("TaggedAddresses", &n.tagged)?;
        st.serialize_field("Meta", &n.def.meta)?;
        st.serialize_field("CreateIndex", &n.create)?;
        st.serialize_field("ModifyIndex", &n.modify)?;
        st.end()
    }
}

/// One element of `/v1/catalog/service/<name>`.
pub(crate) struct CatalogServiceOut<'a> {
    pub node: &'a Node,
    pub svc: &'a Service,
    pub dc: &'a str,
}

impl Serialize for CatalogServiceOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (n, v) = (self.node, &self.svc.def);
        let mut st = s.serialize_struct("ServiceNode", 23)?;
        st.serialize_field("ID", &n.id)?;
        st.serialize_field("Node", &n.def.name)?;
        st.serialize_field("Address", &n.def.address)?;
        st.serialize_field("Datacenter", self.dc)?;
        st.serialize_field("TaggedAddresses", &n.tagged)?;
        st.serialize_field("NodeMeta", &n.def.meta)?;
        st.serialize_field("ServiceKind", "")?;
        st.serialize_field("ServiceID", &v.id)?;
        st.serialize_field("ServiceName", &v.name)?;
        st.serialize_field("ServiceTags", &v.tags)?;
        st.serialize_field("ServiceAddress", &v.address)?;
        if !v.tagged_addresses.is_empty() {
            st.serialize_field("ServiceTaggedAddresses", &TaggedOut(&v.tagged_addresses))?;
        }
        st.serialize_field("ServiceWeights", &weights(self.svc))?;
        st.serialize_field("ServiceMeta", &v.meta)?;
        st.serialize_field("ServicePort", &v.port)?;
        st.serialize_field("ServiceSocketPath", "")?;
        st.serialize_field("ServiceEnableTagOverride", &v.enable_tag_override)?;
        st.serialize_field("ServiceProxy", &PROXY)?;
        st.serialize_field("ServiceConnect", &Empty)?;
        st.serialize_field("ServiceLocality", &None::<()>)?;
        st.serialize_field("CreateIndex", &self.svc.create)?;
        st.serialize_field("ModifyIndex", &self.svc.modify)?;
        st.end()
    }
}

/// The `Service` of a `/v1/health/service` entry (and an element of the `Services` of
/// `/v1/catalog/node-services/<node>`).
pub(crate) struct HealthServiceOut<'a>(pub &'a Service);

impl Serialize for HealthServiceOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = &self.0.def;
        let mut st = s.serialize_struct("NodeService", 13)?;
        st.serialize_field("ID", &v.id)?;
        st.serialize_field("Service", &v.name)?;
        st.serialize_field("Tags", &v.tags)?;
        st.serialize_field("Address", &v.address)?;
        if !v.tagged_addresses.is_empty() {
            st.serialize_field("TaggedAddresses", &TaggedOut(&v.tagged_addresses))?;
        }
        st.serialize_field("Meta", &v.meta)?;
        if v.port != 0 {
            st.serialize_field("Port", &v.port)?;
        }
        st.serialize_field("Weights", &weights(self.0))?;
        st.serialize_field("EnableTagOverride", &v.enable_tag_override)?;
        st.serialize_field("Proxy", &PROXY)?;
        st.serialize_field("Connect", &Empty)?;
        st.serialize_field("CreateIndex", &self.0.create)?;
        st.serialize_field("ModifyIndex", &self.0.modify)?;
        st.end()
    }
}

/// A check's `Definition` (only what was defined, Consul omits the rest).
struct DefinitionOut<'a>(&'a Check);

impl Serialize for DefinitionOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = &self.0.def;
        let mut m = s.serialize_map(None)?;
        match &d.kind {
            CheckKind::Http(u) => m.serialize_entry("HTTP", u)?,
            CheckKind::Tcp(t) => m.serialize_entry("TCP", t)?,
            _ => {}
        }
        if !d.interval.is_empty() {
            m.serialize_entry("Interval", &d.interval)?;
        }
        if !d.timeout.is_empty() {
            m.serialize_entry("Timeout", &d.timeout)?;
        }
        if let CheckKind::Ttl(t) = &d.kind {
            m.serialize_entry("TTL", t)?;
        }
        m.end()
    }
}

/// One element of `Checks` (and of `health/state`, `health/node`).
pub(crate) struct CheckOut<'a> {
    pub node: &'a str,
    pub check: &'a Check,
}

impl Serialize for CheckOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.check;
        let mut st = s.serialize_struct("HealthCheck", 16)?;
        st.serialize_field("Node", self.node)?;
        st.serialize_field("CheckID", &c.def.id)?;
        st.serialize_field("Name", &c.def.name)?;
        st.serialize_field("Status", c.def.status.as_str())?;
        st.serialize_field("Notes", &c.def.notes)?;
        st.serialize_field("Output", &c.output)?;
        st.serialize_field("ServiceID", &c.service_id)?;
        st.serialize_field("ServiceName", &c.service_name)?;
        st.serialize_field("ServiceTags", &c.service_tags)?;
        st.serialize_field("Type", c.def.kind.type_name())?;
        st.serialize_field("Interval", &c.def.interval)?;
        st.serialize_field("Timeout", &c.def.timeout)?;
        st.serialize_field("ExposedPort", &0)?;
        st.serialize_field("Definition", &DefinitionOut(c))?;
        st.serialize_field("CreateIndex", &c.create)?;
        st.serialize_field("ModifyIndex", &c.modify)?;
        st.end()
    }
}

/// The checks of one service instance: the node's checks first, then the service's.
struct ChecksOut<'a> {
    node: &'a Node,
    service_id: &'a str,
}

impl Serialize for ChecksOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let name = self.node.def.name.as_str();
        let mut seq = s.serialize_seq(None)?;
        for c in self
            .node
            .checks
            .values()
            .filter(|c| c.service_id.is_empty())
        {
            seq.serialize_element(&CheckOut {
                node: name,
                check: c,
            })?;
        }
        for c in self
            .node
            .checks
            .values()
            .filter(|c| !c.service_id.is_empty() && c.service_id == self.service_id)
        {
            seq.serialize_element(&CheckOut {
                node: name,
                check: c,
            })?;
        }
        seq.end()
    }
}

/// One element of `/v1/health/service/<name>`.
pub(crate) struct HealthEntryOut<'a> {
    pub node: &'a Node,
    pub svc: &'a Service,
    pub dc: &'a str,
}

impl Serialize for HealthEntryOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("CheckServiceNode", 3)?;
        st.serialize_field(
            "Node",
            &NodeOut {
                node: self.node,
                dc: self.dc,
            },
        )?;
        st.serialize_field("Service", &HealthServiceOut(self.svc))?;
        st.serialize_field(
            "Checks",
            &ChecksOut {
                node: self.node,
                service_id: &self.svc.def.id,
            },
        )?;
        st.end()
    }
}

/// One value of `/v1/agent/services`.
pub(crate) struct AgentServiceOut<'a> {
    pub svc: &'a Service,
    pub dc: &'a str,
}

impl Serialize for AgentServiceOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = &self.svc.def;
        let mut st = s.serialize_struct("AgentService", 9)?;
        st.serialize_field("ID", &v.id)?;
        st.serialize_field("Service", &v.name)?;
        st.serialize_field("Tags", &v.tags)?;
        st.serialize_field("Meta", &v.meta)?;
        st.serialize_field("Port", &v.port)?;
        st.serialize_field("Address", &v.address)?;
        if !v.tagged_addresses.is_empty() {
            st.serialize_field("TaggedAddresses", &TaggedOut(&v.tagged_addresses))?;
        }
        st.serialize_field("Weights", &weights(self.svc))?;
        st.serialize_field("EnableTagOverride", &v.enable_tag_override)?;
        st.serialize_field("Datacenter", self.dc)?;
        st.end()
    }
}

/// True when every check of the instance (node checks included) passes.
pub(crate) fn all_passing(node: &Node, service_id: &str) -> bool {
    node.checks
        .values()
        .filter(|c| c.service_id.is_empty() || c.service_id == service_id)
        .all(|c| c.def.status == super::catalog::CheckStatus::Passing)
}

/// The instances of a service name as (node, service), in (node, id) order.
pub(crate) fn instances<'a>(st: &'a State, name: &str) -> Vec<(&'a Node, &'a Service)> {
    let Some((_, set)) = st.names.get(name) else {
        return Vec::new();
    };
    set.iter()
        .filter_map(|(node, id)| {
            let n = st.nodes.get(node)?;
            Some((n, n.services.get(id)?))
        })
        .collect()
}

/// `/v1/catalog/node-services/<node>`: the node and every service on it.
pub(crate) struct NodeServicesOut<'a> {
    pub node: Option<&'a Node>,
    pub dc: &'a str,
}

impl Serialize for NodeServicesOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("NodeServiceList", 2)?;
        match self.node {
            Some(node) => {
                st.serialize_field("Node", &NodeOut { node, dc: self.dc })?;
                let services: Vec<HealthServiceOut<'_>> =
                    node.services.values().map(HealthServiceOut).collect();
                st.serialize_field("Services", &services)?;
            }
            None => {
                st.serialize_field("Node", &None::<()>)?;
                st.serialize_field("Services", &[(); 0])?;
            }
        }
        st.end()
    }
}
