//! The Pigsty service set each database node registers in Consul, rendered from a spec.

use super::catalog::{Catalog, CheckDef, CheckStatus, NodeDef, ServiceDef};
use super::spec::{ClusterSpec, FleetSpec, MemberSpec, Release};
use std::collections::BTreeMap;

/// The PostgreSQL major version written into `meta.version`.
const PG_VERSION: &str = "13";

/// True for the two words `pg-register` knows how to rewrite.
fn register_word(w: &str) -> bool {
    w == "primary" || w == "replica"
}

/// Rewrites a value the way `pg-register` does: a trailing `primary`/`replica` becomes `new`.
fn rewrite_value(v: &str, new: &str) -> String {
    for old in ["primary", "replica"] {
        if let Some(stem) = v.strip_suffix(old) {
            return format!("{stem}{new}");
        }
    }
    v.to_string()
}

fn host(ip: &str) -> String {
    if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    }
}

/// Identity written into one node's registrations.
struct Ident<'a> {
    release: Release,
    cls: &'a str,
    seq: String,
    ins: &'a str,
    ip: &'a str,
    svc_override: Option<&'a str>,
}

impl Ident<'_> {
    fn meta(&self, kind: &str, role: Option<&str>, with_version: bool) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("type".into(), kind.to_string());
        m.insert("seq".into(), self.seq.clone());
        m.insert("instance".into(), self.ins.to_string());
        m.insert("cluster".into(), self.cls.to_string());
        if let (Some(role), false) = (role, self.release == Release::V1_5) {
            m.insert("role".into(), role.to_string());
            let svc = self
                .svc_override
                .map(str::to_string)
                .unwrap_or_else(|| format!("{}-{role}", self.cls));
            m.insert("service".into(), svc);
        }
        if with_version {
            m.insert("version".into(), PG_VERSION.into());
        }
        m
    }

    /// The full service set of a node whose registrations say `role`.
    fn services(&self, role: &str) -> Vec<ServiceDef> {
        let cls = self.cls;
        let ip = host(self.ip);
        let pg = if self.release == Release::V0_7 {
            "pg"
        } else {
            "pgsql"
        };
        let role_tags = if self.release == Release::V1_5 {
            vec![cls.to_string()]
        } else {
            vec![role.to_string(), cls.to_string()]
        };
        let def = |name: &str, port: u16, tags: Vec<String>, meta, check: CheckDef| ServiceDef {
            id: name.to_string(),
            name: name.to_string(),
            tags,
            port,
            meta,
            checks: vec![check],
            ..ServiceDef::default()
        };
        let tcp = |port: u16| CheckDef::tcp(format!("{ip}:{port}"));
        let http = |port: u16| CheckDef::http(format!("http://{ip}:{port}/"));
        let exporter_tags =
            |name: &str| vec![pg.to_string(), "exporter".to_string(), name.to_string()];
        let mut out = Vec::with_capacity(9);
        for (name, port) in [("postgres", 5432), ("pgbouncer", 6432), ("patroni", 8008)] {
            let meta = self.meta(name, Some(role), true);
            out.push(def(name, port, role_tags.clone(), meta, tcp(port)));
        }
        for (name, port) in [
            ("pg-exporter", 9630),
            ("pgbouncer-exporter", 9631),
            ("node-exporter", 9100),
        ] {
            let meta = self.meta("exporter", Some(role), false);
            out.push(def(name, port, exporter_tags(name), meta, http(port)));
        }
        let haproxy_tags = vec![pg.to_string(), "exporter".to_string(), cls.to_string()];
        out.push(def(
            "haproxy",
            9101,
            haproxy_tags,
            self.meta("exporter", None, false),
            tcp(9101),
        ));
        for (route, port) in [("primary", 5433), ("replica", 5434)] {
            let name = format!("{cls}-{route}");
            let tags = vec![name.clone(), cls.to_string(), route.to_string()];
            let meta = self.meta("postgres", Some(role), true);
            out.push(def(&name, port, tags, meta, tcp(port)));
        }
        out
    }
}

/// Renders one member's registrations: written from the inventory role, then rewritten
/// by `pg-register` to the role Consul holds now (per service, for half-done rewrites).
pub fn member_services(release: Release, cluster: &ClusterSpec, m: &MemberSpec) -> Vec<ServiceDef> {
    let Some(rec) = m.in_consul(&cluster.name) else {
        return Vec::new();
    };
    let ident = Ident {
        release,
        cls: &cluster.name,
        seq: m.seq.to_string(),
        ins: &rec.ins,
        ip: &rec.ip,
        svc_override: m.consul.svc.as_deref(),
    };
    let declared = m.inventory.role.as_deref().unwrap_or(&m.role);
    let base = if register_word(declared) && release != Release::V1_5 {
        declared
    } else {
        rec.role.as_str()
    };
    let mut out = Vec::new();
    for mut s in ident.services(base) {
        let o = m.consul.services.get(&s.name);
        if o.is_some_and(|o| o.absent) {
            continue;
        }
        let want = o.and_then(|o| o.role.as_deref()).unwrap_or(&rec.role);
        if want != base && release != Release::V1_5 {
            if register_word(want) && register_word(base) {
                s.tags = s.tags.iter().map(|t| rewrite_value(t, want)).collect();
                for v in s.meta.values_mut() {
                    *v = rewrite_value(v, want);
                }
            } else if let Some(direct) = ident.services(want).into_iter().find(|d| d.name == s.name)
            {
                s = direct;
            }
        }
        if m.consul.critical.contains(&s.name) {
            for c in &mut s.checks {
                c.status = CheckStatus::Critical;
            }
        }
        out.push(s);
    }
    out
}

/// The service an infrastructure node registers for `name` (port by convention).
fn infra_service(name: &str, ip: &str) -> ServiceDef {
    let port = match name {
        "consul" => 8300,
        "prometheus" => 9090,
        "grafana" => 3000,
        "alertmanager" => 9093,
        "nginx" => 80,
        "loki" => 3100,
        "pushgateway" => 9091,
        "node-exporter" => 9100,
        "etcd" => 2379,
        _ => 0,
    };
    if name == "consul" {
        return ServiceDef {
            id: name.into(),
            name: name.into(),
            port,
            ..ServiceDef::default()
        };
    }
    let checks = if port == 0 {
        Vec::new()
    } else {
        vec![CheckDef::tcp(format!("{}:{port}", host(ip)))]
    };
    ServiceDef {
        id: name.into(),
        name: name.into(),
        tags: vec!["infra".into()],
        meta: BTreeMap::from([("type".to_string(), name.to_string())]),
        port,
        checks,
        ..ServiceDef::default()
    }
}

impl Catalog {
    /// A catalog holding what Consul would hold for the fleet: every node with its agent,
    /// the Pigsty service set on every database node, serfHealth and one check per service.
    pub fn from_spec(spec: &FleetSpec) -> Catalog {
        let cat = Catalog::new(&spec.datacenter);
        let meta = BTreeMap::from([("consul-network-segment".to_string(), String::new())]);
        let node = |name: &str, ip: &str| {
            cat.register_node(NodeDef {
                name: name.to_string(),
                address: ip.to_string(),
                meta: meta.clone(),
                agent: true,
                ..NodeDef::default()
            });
        };
        for n in &spec.infra {
            node(&n.node, &n.ip);
        }
        for (c, m) in spec.members() {
            if let Some(rec) = m.in_consul(&c.name) {
                node(&m.node_name(&c.name), &rec.ip);
            }
        }
        // Services are registered by name on their node; errors are impossible here
        // because every node was created above.
        for n in &spec.infra {
            for s in &n.services {
                let _ = cat.register_service(&n.node, infra_service(s, &n.ip));
            }
        }
        for (c, m) in spec.members() {
            let node = m.node_name(&c.name);
            for s in member_services(spec.release, c, m) {
                let _ = cat.register_service(&node, s);
            }
            if m.consul.node_down && !m.consul.absent {
                let _ = cat.set_check_status(&node, "serfHealth", CheckStatus::Critical);
            }
        }
        cat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> FleetSpec {
        FleetSpec::demo()
    }

    fn find<'a>(v: &'a [(String, ServiceDef)], node: &str) -> &'a ServiceDef {
        &v.iter().find(|(n, _)| n == node).unwrap().1
    }

    #[test]
    fn pigsty_service_set_per_node() {
        let cat = Catalog::from_spec(&spec());
        let pg = cat.service("pg-meta-1", "postgres").unwrap();
        assert_eq!(pg.port, 5432);
        assert_eq!(pg.tags, ["primary", "pg-meta"]);
        assert_eq!(pg.meta["service"], "pg-meta-primary");
        assert_eq!(pg.meta["seq"], "1");
        assert_eq!(pg.meta["version"], "13");
        let exp = cat.service("pg-meta-1", "pg-exporter").unwrap();
        assert_eq!(exp.tags, ["pg", "exporter", "pg-exporter"]);
        assert_eq!(exp.meta["type"], "exporter");
        assert!(!exp.meta.contains_key("version"));
        let ha = cat.service("pg-meta-1", "haproxy").unwrap();
        assert!(!ha.meta.contains_key("role") && !ha.meta.contains_key("service"));
        assert_eq!(ha.tags, ["pg", "exporter", "pg-meta"]);
        let route = cat.service("pg-meta-1", "pg-meta-replica").unwrap();
        assert_eq!(route.tags, ["pg-meta-replica", "pg-meta", "replica"]);
        assert_eq!(route.port, 5434);
        assert_eq!(route.meta["service"], "pg-meta-primary");
        let st = cat.read();
        let n = &st.nodes["pg-meta-1"];
        assert_eq!(n.services.len(), 9);
        assert_eq!(n.checks.len(), 10);
        assert_eq!(n.checks["service:pg-exporter"].def.interval, "15s");
    }

    #[test]
    fn failover_rewrites_like_pg_register() {
        let cat = Catalog::from_spec(&spec());
        let routes = cat.service_instances("pg-test-primary");
        assert_eq!(
            find(&routes, "pg-test-1").tags,
            ["pg-test-replica", "pg-test", "replica"]
        );
        assert_eq!(
            find(&routes, "pg-test-2").tags,
            ["pg-test-primary", "pg-test", "primary"]
        );
        assert_eq!(
            find(&routes, "pg-test-3").tags,
            ["pg-test-primary", "pg-test", "primary"]
        );
        let pg = cat.service_instances("postgres");
        assert_eq!(find(&pg, "pg-test-2").meta["role"], "primary");
        assert_eq!(find(&pg, "pg-test-1").meta["service"], "pg-test-replica");
    }

    #[test]
    fn half_rewritten_and_down_nodes() {
        let cat = Catalog::from_spec(&spec());
        let role = |svc: &str| cat.service("pg-src-2", svc).unwrap().meta["role"].clone();
        assert_eq!(role("postgres"), "primary");
        assert_eq!(role("patroni"), "primary");
        assert_eq!(role("pg-exporter"), "primary");
        assert_eq!(role("pgbouncer"), "replica");
        assert_eq!(role("node-exporter"), "replica");
        assert_eq!(
            cat.service("pg-src-1", "postgres").unwrap().meta["role"],
            "replica"
        );
        assert_eq!(
            cat.check_status("pg-orders-5", "serfHealth"),
            Some(CheckStatus::Critical)
        );
        assert_eq!(
            cat.node_address("pg-stats-7").as_deref(),
            Some("127.10.10.57")
        );
        assert!(cat.node_address("pg-new-1").is_none());
        assert_eq!(
            cat.service("pg-web-1", "postgres").unwrap().meta["role"],
            "primary"
        );
        assert_eq!(
            cat.service("pg-stats-6", "postgres").unwrap().meta["role"],
            "replica"
        );
        assert_eq!(
            cat.service("pg-stats-8", "postgres").unwrap().tags,
            ["offline", "pg-stats"]
        );
    }

    #[test]
    fn later_releases() {
        let mut s = spec();
        s.release = Release::V1_0;
        let cat = Catalog::from_spec(&s);
        assert_eq!(
            cat.service("pg-meta-1", "pg-exporter").unwrap().tags[0],
            "pgsql"
        );
        s.release = Release::V1_5;
        let cat = Catalog::from_spec(&s);
        let pg = cat.service("pg-test-2", "postgres").unwrap();
        assert_eq!(pg.tags, ["pg-test"]);
        assert!(!pg.meta.contains_key("role") && !pg.meta.contains_key("service"));
        assert_eq!(pg.meta["instance"], "pg-test-2");
    }

    #[test]
    fn critical_services() {
        let mut s = spec();
        s.clusters[0].members[0].consul.critical = vec!["postgres".into()];
        let cat = Catalog::from_spec(&s);
        assert_eq!(
            cat.check_status("pg-meta-1", "service:postgres"),
            Some(CheckStatus::Critical)
        );
        assert_eq!(
            cat.check_status("pg-meta-1", "service:pgbouncer"),
            Some(CheckStatus::Passing)
        );
    }
}
