//! The parts of Consul's JSON answers roster reads; unknown fields are ignored.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

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

/// One element of `GET /v1/health/service/<name>`, borrowing its strings from the body:
/// what a read keeps is made from it, so nothing is copied twice, and every field roster
/// does not use (tagged addresses, weights, proxy, check definitions) is skipped.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthEntryRef<'a> {
    /// The node the service runs on.
    #[serde(borrow)]
    pub node: NodeRef<'a>,
    /// The service instance.
    #[serde(borrow)]
    pub service: ServiceRef<'a>,
    /// Checks of the service and of its node.
    #[serde(borrow, default, deserialize_with = "nullable")]
    pub checks: Vec<CheckRef<'a>>,
}

/// The `Node` object of a health entry, borrowed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeRef<'a> {
    /// Node name.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub node: Cow<'a, str>,
    /// Node address.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub address: Cow<'a, str>,
    /// Datacenter.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub datacenter: Cow<'a, str>,
}

/// The `Service` object of a health entry, borrowed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceRef<'a> {
    /// Service ID (unique on its node).
    #[serde(rename = "ID", borrow, default, deserialize_with = "cow")]
    pub id: Cow<'a, str>,
    /// Service name.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub service: Cow<'a, str>,
    /// Tags.
    #[serde(borrow, default, deserialize_with = "cows")]
    pub tags: Vec<Cow<'a, str>>,
    /// Service address; empty means the node's.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub address: Cow<'a, str>,
    /// Meta, in the order sent.
    #[serde(borrow, default, deserialize_with = "pairs")]
    pub meta: MetaPairs<'a>,
    /// Port; Consul omits it when 0.
    #[serde(default, deserialize_with = "nullable")]
    pub port: u16,
}

impl ServiceRef<'_> {
    /// The value of a meta key (the last one, should a key repeat).
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }
}

/// Meta as borrowed (key, value) pairs, in the order sent.
pub type MetaPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// One check of a health entry, borrowed.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckRef<'a> {
    /// Check ID.
    #[serde(rename = "CheckID", borrow, default, deserialize_with = "cow")]
    pub check_id: Cow<'a, str>,
    /// Check name.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub name: Cow<'a, str>,
    /// `passing`, `warning` or `critical`.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub status: Cow<'a, str>,
    /// Last output.
    #[serde(borrow, default, deserialize_with = "cow")]
    pub output: Cow<'a, str>,
    /// The service it belongs to; empty for node checks.
    #[serde(rename = "ServiceID", borrow, default, deserialize_with = "cow")]
    pub service_id: Cow<'a, str>,
}

/// A JSON object of strings (or `null`) as borrowed pairs, without building a map.
fn pairs<'de, D>(d: D) -> Result<MetaPairs<'de>, D::Error>
where
    D: Deserializer<'de>,
{
    struct Pairs;
    impl<'de> Visitor<'de> for Pairs {
        type Value = MetaPairs<'de>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object of strings or null")
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(Pairs)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
            while let Some((k, v)) = map.next_entry::<Str<'de>, Str<'de>>()? {
                out.push((k.0, v.0));
            }
            Ok(out)
        }
    }
    d.deserialize_option(Pairs)
}

/// A string (or `null`, read as empty) borrowed from the body when it holds no escapes.
struct Str<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or null")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed("")))
            }
            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed("")))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                d.deserialize_str(V)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_option(V)
    }
}

/// A borrowed string field; `null` reads as empty.
fn cow<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'de, str>, D::Error> {
    Ok(Str::deserialize(d)?.0)
}

/// A list of borrowed strings; `null` reads as empty.
fn cows<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Cow<'de, str>>, D::Error> {
    let list: Option<Vec<Str<'de>>> = Option::deserialize(d)?;
    Ok(list.unwrap_or_default().into_iter().map(|s| s.0).collect())
}

impl HealthEntry {
    /// The same entry as the borrowed form a read decodes.
    pub fn borrowed(&self) -> HealthEntryRef<'_> {
        let s = |v: &str| Cow::Owned(v.to_string());
        HealthEntryRef {
            node: NodeRef {
                node: s(&self.node.node),
                address: s(&self.node.address),
                datacenter: s(&self.node.datacenter),
            },
            service: ServiceRef {
                id: s(&self.service.id),
                service: s(&self.service.service),
                tags: self.service.tags.iter().map(|t| s(t)).collect(),
                address: s(&self.service.address),
                meta: self
                    .service
                    .meta
                    .iter()
                    .map(|(k, v)| (s(k), s(v)))
                    .collect(),
                port: self.service.port,
            },
            checks: self
                .checks
                .iter()
                .map(|c| CheckRef {
                    check_id: s(&c.check_id),
                    name: s(&c.name),
                    status: s(&c.status),
                    output: s(&c.output),
                    service_id: s(&c.service_id),
                })
                .collect(),
        }
    }
}

/// One element of `GET /v1/health/state/<state>` (and of `/v1/health/node/<node>`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct StateCheck {
    /// The node the check runs on.
    #[serde(default, deserialize_with = "nullable")]
    pub node: String,
    /// Check ID.
    #[serde(rename = "CheckID", default, deserialize_with = "nullable")]
    pub check_id: String,
    /// `passing`, `warning` or `critical`.
    #[serde(default, deserialize_with = "nullable")]
    pub status: String,
    /// Last output.
    #[serde(default, deserialize_with = "nullable")]
    pub output: String,
    /// The service instance it belongs to; empty for node checks.
    #[serde(rename = "ServiceID", default, deserialize_with = "nullable")]
    pub service_id: String,
    /// The name of that service.
    #[serde(default, deserialize_with = "nullable")]
    pub service_name: String,
}

/// `GET /v1/catalog/node-services/<node>`, the part roster needs: which services run there.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeServices {
    /// The services on the node (`null` or absent for an unknown node).
    #[serde(default, deserialize_with = "nullable")]
    pub services: Vec<NodeService>,
}

/// One service of `catalog/node-services`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeService {
    /// Service name.
    #[serde(default, deserialize_with = "nullable")]
    pub service: String,
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
        let v: Vec<HealthEntryRef> = serde_json::from_str(body).unwrap();
        assert_eq!(v[0].service.port, 0);
        assert!(v[0].service.tags.is_empty() && v[0].service.meta.is_empty());
        assert_eq!(v[0].checks[0].check_id, "serfHealth");
        assert!(matches!(v[0].node.address, Cow::Borrowed("10.0.0.1")));
    }

    #[test]
    fn borrowed_meta_keeps_escaped_values_and_the_last_of_a_repeated_key() {
        let body = r#"[{"Node":{"Node":"n1"},"Service":{"ID":"s","Meta":{"a":"x\"y","b":null,"a":"z"}},"Checks":null}]"#;
        let v: Vec<HealthEntryRef> = serde_json::from_str(body).unwrap();
        assert_eq!(v[0].service.meta("a"), Some("z"));
        assert_eq!(v[0].service.meta("b"), Some(""));
        assert_eq!(v[0].service.meta[0].1, "x\"y");
        assert!(v[0].checks.is_empty());
    }
}
