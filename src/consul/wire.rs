//! The parts of Consul's JSON answers roster reads; unknown fields are ignored.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Treats `null` like a missing value, as Go emits nil slices and maps as `null`.
fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One element of `GET /v1/health/service/<name>`.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthEntry {
    /// The node the service runs on.
    pub node: HealthNode,
    /// The service instance.
    pub service: HealthService,
    /// Checks of the service and of its node.
    #[serde(default, deserialize_with = "nullable")]
    pub checks: Vec<HealthCheck>,
}

/// The `Node` object of a health entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthNode {
    /// Node name.
    #[serde(default, deserialize_with = "nullable")]
    pub node: String,
    /// Node address.
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    /// Datacenter.
    #[serde(default, deserialize_with = "nullable")]
    pub datacenter: String,
}

/// The `Service` object of a health entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthService {
    /// Service ID (unique on its node).
    #[serde(rename = "ID", default, deserialize_with = "nullable")]
    pub id: String,
    /// Service name.
    #[serde(default, deserialize_with = "nullable")]
    pub service: String,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<String>,
    /// Service address; empty means the node's.
    #[serde(default, deserialize_with = "nullable")]
    pub address: String,
    /// Meta (string to string).
    #[serde(default, deserialize_with = "nullable")]
    pub meta: BTreeMap<String, String>,
    /// Port; Consul omits it when 0.
    #[serde(default, deserialize_with = "nullable")]
    pub port: u16,
}

/// One check of a health entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthCheck {
    /// Check ID.
    #[serde(rename = "CheckID", default, deserialize_with = "nullable")]
    pub check_id: String,
    /// Check name.
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    /// `passing`, `warning` or `critical`.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    /// Last output.
    #[serde(default, deserialize_with = "nullable")]
    pub output: String,
    /// The service it belongs to; empty for node checks.
    #[serde(rename = "ServiceID", default, deserialize_with = "nullable")]
    pub service_id: String,
}

/// `GET /v1/agent/self`, the part roster needs.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentSelf {
    /// The agent's configuration.
    #[serde(default)]
    pub config: AgentConfig,
}

/// `Config` of `/v1/agent/self`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AgentConfig {
    /// The agent's datacenter.
    #[serde(default, deserialize_with = "nullable")]
    pub datacenter: String,
    /// The agent's node name.
    #[serde(default, deserialize_with = "nullable")]
    pub node_name: String,
    /// Consul version.
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
}

#[cfg(test)]
impl HealthEntry {
    /// A passing service instance (with its node's serfHealth check), for tests.
    pub(crate) fn sample(
        node: &str,
        ip: &str,
        name: &str,
        tags: &[&str],
        meta: &[(&str, &str)],
    ) -> HealthEntry {
        let check = |id: String, check_name: &str, service_id: &str| HealthCheck {
            check_id: id,
            name: check_name.into(),
            status: "passing".into(),
            output: String::new(),
            service_id: service_id.into(),
        };
        HealthEntry {
            node: HealthNode {
                node: node.into(),
                address: ip.into(),
                datacenter: "dc1".into(),
            },
            service: HealthService {
                id: name.into(),
                service: name.into(),
                tags: tags.iter().map(|s| s.to_string()).collect(),
                address: String::new(),
                meta: meta
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                port: 5432,
            },
            checks: vec![
                check("serfHealth".into(), "Serf Health Status", ""),
                check(format!("service:{name}"), name, name),
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_consul_shapes_with_nulls_and_missing_port() {
        let body = r#"[{"Node":{"ID":"x","Node":"n1","Address":"10.0.0.1","Datacenter":"dc1","TaggedAddresses":null,"Meta":null},
            "Service":{"ID":"postgres","Service":"postgres","Tags":null,"Address":"","Meta":null,"Weights":{"Passing":1,"Warning":1}},
            "Checks":[{"Node":"n1","CheckID":"serfHealth","Name":"Serf Health Status","Status":"passing","ServiceID":"","Extra":1}]}]"#;
        let v: Vec<HealthEntry> = serde_json::from_str(body).unwrap();
        assert_eq!(v[0].service.port, 0);
        assert!(v[0].service.tags.is_empty());
        assert_eq!(v[0].checks[0].check_id, "serfHealth");
        assert_eq!(v[0].node.address, "10.0.0.1");
    }
}
