//! Unit tests of the drift rules over hand-built fleets.

use super::*;
use crate::consul::wire::HealthEntry;
use crate::observation::{InventoryOrigin, SourceOutput, SourceReport, TargetOrigin};
use std::path::PathBuf;

fn entry(node: &str, ip: &str, name: &str, tags: &[&str], meta: &[(&str, String)]) -> HealthEntry {
    let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
    HealthEntry::sample(node, ip, name, tags, &meta)
}

/// The Pigsty 0.7 service set of one member, as every node registers it.
fn pigsty_node(cls: &str, seq: u32, ip: &str, role: &str) -> Vec<HealthEntry> {
    let node = format!("{cls}-{seq}");
    let ident = |with_role: bool| {
        let mut m = vec![
            ("seq", seq.to_string()),
            ("instance", format!("{cls}-{seq}")),
            ("cluster", cls.to_string()),
            ("service", format!("{cls}-{role}")),
        ];
        if with_role {
            m.push(("role", role.to_string()));
        }
        m
    };
    let mut v = Vec::new();
    for name in ["postgres", "pgbouncer", "patroni"] {
        v.push(entry(&node, ip, name, &[role, cls], &ident(true)));
    }
    for name in ["pg-exporter", "pgbouncer-exporter", "node-exporter"] {
        v.push(entry(
            &node,
            ip,
            name,
            &["pg", "exporter", name],
            &ident(true),
        ));
    }
    v.push(entry(
        &node,
        ip,
        "haproxy",
        &["pg", "exporter", cls],
        &[
            ("seq", seq.to_string()),
            ("instance", format!("{cls}-{seq}")),
            ("cluster", cls.to_string()),
        ],
    ));
    for r in ["primary", "replica"] {
        let svc = format!("{cls}-{r}");
        v.push(entry(
            &node,
            ip,
            &svc,
            &[svc.as_str(), cls, r],
            &ident(false),
        ));
    }
    v.push(entry(&node, ip, "consul-agent-infra", &["infra"], &[]));
    v
}

fn consul(entries: Vec<Vec<HealthEntry>>) -> SourceOutput {
    let obs = entries
        .into_iter()
        .flatten()
        .filter_map(crate::source::consul::observe)
        .collect();
    SourceOutput::new(SourceReport::new(SourceKind::Consul, "sim"), obs)
}

fn target(cls: &str, ins: &str, ip: &str, role: Option<&str>, svc: Option<&str>) -> Observation {
    let mut o = Observation::test(SourceKind::Targets, cls)
        .instance(ins)
        .ip(ip)
        .origin(Origin::Targets(TargetOrigin {
            file: PathBuf::from(format!("targets/{cls}.yml")),
            line: 2,
            index: 0,
            targets: vec![format!("{ip}:9630")],
            labels: BTreeMap::new(),
        }));
    o.seq = crate::identity::seq_from_instance(cls, ins);
    if let Some(r) = role {
        o = o.role(r);
    }
    if let Some(s) = svc {
        o = o.service(s);
    }
    o
}

fn targets(obs: Vec<Observation>) -> SourceOutput {
    SourceOutput::new(SourceReport::new(SourceKind::Targets, "targets"), obs)
}

fn host(cls: &str, seq: u32, ip: &str, role: &str) -> Observation {
    Observation::test(SourceKind::Inventory, cls)
        .seq(seq)
        .role(role)
        .ip(ip)
        .origin(Origin::Inventory(InventoryOrigin {
            file: PathBuf::from("pigsty.yml"),
            line: 5,
            group: cls.into(),
            host: ip.into(),
            vars: BTreeMap::new(),
            port: None,
        }))
}

fn inventory(obs: Vec<Observation>) -> SourceOutput {
    SourceOutput::new(SourceReport::new(SourceKind::Inventory, "pigsty.yml"), obs)
}

fn good_target(cls: &str, seq: u32, ip: &str, role: &str) -> Observation {
    let ins = format!("{cls}-{seq}");
    let svc = format!("{cls}-{role}");
    target(cls, &ins, ip, Some(role), Some(&svc))
}

const IPS: [&str; 3] = ["10.10.10.11", "10.10.10.12", "10.10.10.13"];
const ROLES: [&str; 3] = ["primary", "replica", "offline"];

/// A clean pg-test cluster in all three sources, for tests to spoil one thing at a time.
fn clean() -> (Vec<Vec<HealthEntry>>, Vec<Observation>, Vec<Observation>) {
    let c = (0..3)
        .map(|i| pigsty_node("pg-test", i as u32 + 1, IPS[i], ROLES[i]))
        .collect();
    let t = (0..3)
        .map(|i| good_target("pg-test", i as u32 + 1, IPS[i], ROLES[i]))
        .collect();
    let inv = (0..3)
        .map(|i| host("pg-test", i as u32 + 1, IPS[i], ROLES[i]))
        .collect();
    (c, t, inv)
}

fn run(c: Vec<Vec<HealthEntry>>, t: Vec<Observation>, i: Vec<Observation>) -> Vec<Finding> {
    check(&Fleet::build(vec![consul(c), targets(t), inventory(i)]))
}

fn kinds(f: &[Finding]) -> Vec<(&'static str, Severity, Option<&str>)> {
    f.iter()
        .map(|f| (f.kind.code(), f.severity, f.instance.as_deref()))
        .collect()
}

#[test]
fn pigsty_normal_registration_has_no_findings() {
    let (c, t, i) = clean();
    let fleet = Fleet::build(vec![consul(c), targets(t), inventory(i)]);
    assert_eq!(fleet.instance_count(), 3);
    assert_eq!(check(&fleet), vec![]);
}

#[test]
fn role_words_that_mean_the_same_do_not_drift() {
    let (c, mut t, mut i) = clean();
    t[0] = target(
        "pg-test",
        "pg-test-1",
        IPS[0],
        Some("master"),
        Some("pg-test-primary"),
    );
    i[1] = host("pg-test", 2, IPS[1], "standby");
    assert_eq!(run(c, t, i), vec![]);
}

#[test]
fn failover_followed_by_consul_but_not_targets_is_a_role_mismatch() {
    let (mut c, mut t, i) = clean();
    c[0] = pigsty_node("pg-test", 1, IPS[0], "replica");
    c[1] = pigsty_node("pg-test", 2, IPS[1], "primary");
    t[0] = good_target("pg-test", 1, IPS[0], "primary");
    let f = run(c, t, i);
    let k = kinds(&f);
    assert!(
        k.contains(&("role-mismatch", Severity::Error, Some("pg-test-1"))),
        "{k:?}"
    );
    assert!(
        k.contains(&("role-mismatch", Severity::Error, Some("pg-test-2"))),
        "{k:?}"
    );
    let one = f
        .iter()
        .find(|f| f.instance.as_deref() == Some("pg-test-1"))
        .unwrap();
    assert_eq!(one.sources["consul"], "replica");
    assert_eq!(one.sources["targets"], "primary");
    assert_eq!(one.sources["inventory"], "primary");
    assert!(one.message.contains("consul replica"), "{}", one.message);
}

#[test]
fn a_stale_inventory_alone_is_a_warning() {
    let (c, t, mut i) = clean();
    i[2] = host("pg-test", 3, IPS[2], "replica");
    let f = run(c, t, i);
    assert_eq!(
        kinds(&f),
        vec![("role-mismatch", Severity::Warning, Some("pg-test-3"))]
    );
    assert!(f[0].message.contains("stale"));
}

#[test]
fn ip_mismatch_between_sources() {
    let (c, t, mut i) = clean();
    i[1] = host("pg-test", 2, "10.10.10.99", "replica");
    let f = run(c, t, i);
    let k = kinds(&f);
    assert!(
        k.contains(&("ip-mismatch", Severity::Error, Some("pg-test-2"))),
        "{k:?}"
    );
    let m = f.iter().find(|f| f.kind == Kind::IpMismatch).unwrap();
    assert_eq!(m.sources["inventory"], "10.10.10.99");
    assert_eq!(m.sources["consul"], IPS[1]);
}

#[test]
fn missing_in_each_source() {
    let (mut c, mut t, mut i) = clean();
    c.remove(2);
    t.remove(1);
    i.remove(0);
    let f = run(c, t, i);
    let k = kinds(&f);
    assert!(k.contains(&("missing-in-consul", Severity::Warning, Some("pg-test-3"))));
    assert!(k.contains(&("missing-in-targets", Severity::Warning, Some("pg-test-2"))));
    assert!(k.contains(&("missing-in-inventory", Severity::Warning, Some("pg-test-1"))));
    // the inventory lost its primary with seq 1
    assert!(k.contains(&("no-primary", Severity::Error, None)));
    assert_eq!(k.len(), 4, "{k:?}");
}

#[test]
fn missing_in_inventory_only_when_an_inventory_is_loaded() {
    let (c, mut t, _) = clean();
    t.pop();
    let f = check(&Fleet::build(vec![consul(c), targets(t)]));
    assert_eq!(
        kinds(&f),
        vec![("missing-in-targets", Severity::Warning, Some("pg-test-3"))]
    );
}

#[test]
fn a_source_that_failed_entirely_claims_nothing_missing() {
    let (c, t, _) = clean();
    let mut broken = SourceReport::new(SourceKind::Inventory, "pigsty.yml");
    broken.error("pigsty.yml:3:1: bad YAML");
    let f = check(&Fleet::build(vec![
        consul(c),
        targets(t),
        SourceOutput::new(broken, vec![]),
    ]));
    assert_eq!(f, vec![]);
}

#[test]
fn a_partial_or_stale_read_claims_nothing_missing_and_no_missing_primary() {
    // The target file holding pg-test-1 (the primary) could not be read this time.
    let (c, mut t, i) = clean();
    t.remove(0);
    for stale in [false, true] {
        let mut read = targets(t.clone());
        read.report.error("targets/pg-test-1.yml:2:1: bad YAML");
        read.report.stale = stale;
        let f = check(&Fleet::build(vec![
            consul(c.clone()),
            read,
            inventory(i.clone()),
        ]));
        let k = kinds(&f);
        assert!(!k.iter().any(|k| k.0 == "missing-in-targets"), "{k:?}");
        // Stale data is a whole earlier read: its primary count still stands.
        assert_eq!(k.iter().any(|k| k.0 == "no-primary"), stale, "{k:?}");
    }
}

#[test]
fn name_mismatch_for_instance_and_service() {
    let (c, mut t, i) = clean();
    // typo in ins: the address still places it on seq 2
    t[1] = target(
        "pg-test",
        "pg-test-20",
        IPS[1],
        Some("replica"),
        Some("pg-test-replica"),
    );
    // svc does not match role
    t[2] = target(
        "pg-test",
        "pg-test-3",
        IPS[2],
        Some("offline"),
        Some("pg-test-replica"),
    );
    let f = run(c, t, i);
    let k = kinds(&f);
    assert_eq!(
        k,
        vec![
            ("name-mismatch", Severity::Warning, Some("pg-test-2")),
            ("name-mismatch", Severity::Warning, Some("pg-test-3")),
        ]
    );
    assert!(f[0].message.contains("pg-test-20"), "{}", f[0].message);
}

#[test]
fn consul_meta_instance_that_is_not_cls_seq() {
    let (mut c, t, i) = clean();
    for e in &mut c[0] {
        if e.service.service == "postgres" {
            e.service
                .meta
                .insert("instance".into(), "pg-test-one".into());
        }
    }
    let f = run(c, t, i);
    assert_eq!(
        kinds(&f),
        vec![("name-mismatch", Severity::Warning, Some("pg-test-1"))]
    );
    assert_eq!(f[0].sources["consul/postgres"], "pg-test-one");
}

#[test]
fn half_rewritten_registration_is_a_service_role_split() {
    let (mut c, t, i) = clean();
    // seq 2 promoted; the callback died after postgres and patroni
    for e in &mut c[1] {
        if ["postgres", "patroni"].contains(&e.service.service.as_str()) {
            e.service.meta.insert("role".into(), "primary".into());
            e.service
                .meta
                .insert("service".into(), "pg-test-primary".into());
        }
    }
    let f = run(c, t, i);
    let split = f.iter().find(|f| f.kind == Kind::ServiceRoleSplit).unwrap();
    assert_eq!(split.instance.as_deref(), Some("pg-test-2"));
    assert_eq!(split.sources["consul/postgres"], "primary");
    assert_eq!(split.sources["consul/pgbouncer"], "replica");
    // postgres speaks for the instance: consul now has two primaries and disagrees with targets
    let k = kinds(&f);
    assert!(
        k.contains(&("multiple-primaries", Severity::Error, None)),
        "{k:?}"
    );
    assert!(
        k.contains(&("role-mismatch", Severity::Error, Some("pg-test-2"))),
        "{k:?}"
    );
}

#[test]
fn two_addresses_for_one_instance_and_two_identities_on_one_address() {
    let (mut c, t, mut i) = clean();
    c.push(pigsty_node("pg-test", 3, "10.10.10.33", "offline"));
    i.push(host("pg-test", 4, IPS[0], "replica"));
    let f = run(c, t, i);
    let coll: Vec<_> = f
        .iter()
        .filter(|f| f.kind == Kind::IdentityCollision)
        .map(|f| (f.instance.as_deref(), f.sources.keys().next().cloned()))
        .collect();
    assert!(
        coll.contains(&(Some("pg-test-3"), Some("consul".into()))),
        "{coll:?}"
    );
    assert!(
        coll.contains(&(Some("pg-test-1"), Some("inventory".into()))),
        "{coll:?}"
    );
    assert!(
        coll.contains(&(Some("pg-test-4"), Some("inventory".into()))),
        "{coll:?}"
    );
}

#[test]
fn no_primary_and_multiple_primaries_per_source() {
    let (c, mut t, mut i) = clean();
    t[0] = good_target("pg-test", 1, IPS[0], "replica");
    i[1] = host("pg-test", 2, IPS[1], "primary");
    let f = run(c, t, i);
    let cluster_level: Vec<_> = f
        .iter()
        .filter(|f| f.instance.is_none())
        .map(|f| {
            (
                f.kind.code(),
                f.sources.keys().next().cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        cluster_level,
        vec![
            ("no-primary", "targets".to_string()),
            ("multiple-primaries", "inventory".to_string())
        ]
    );
}

#[test]
fn unknown_role_words_are_reported_not_compared() {
    let (c, t, mut i) = clean();
    i[1] = host("pg-test", 2, IPS[1], "standby_leader");
    let f = run(c, t, i);
    assert_eq!(
        kinds(&f),
        vec![("unknown-role", Severity::Warning, Some("pg-test-2"))]
    );
    assert!(f[0].message.contains("standby_leader"));
}

#[test]
fn critical_checks_of_identity_services_and_their_node() {
    let (mut c, t, i) = clean();
    for e in &mut c[2] {
        e.checks[0].status = "critical".into();
        e.checks[0].output = "Agent not live or unreachable\nmore".into();
    }
    let f = run(c, t, i);
    assert_eq!(
        kinds(&f),
        vec![("health-critical", Severity::Warning, Some("pg-test-3"))]
    );
    assert!(f[0].message.contains("serfHealth"));
    assert!(f[0].sources.values().all(|v| !v.contains('\n')));
}

#[test]
fn every_kind_is_exercised_and_has_a_unique_code() {
    let codes: BTreeSet<&str> = Kind::ALL.iter().map(|k| k.code()).collect();
    assert_eq!(codes.len(), Kind::ALL.len());
    for k in Kind::ALL {
        assert_eq!(Kind::from_code(k.code()), Some(k));
    }
}

fn live(cls: &str, seq: u32, ip: &str, role: Option<&str>, standbys: &[&str]) -> Observation {
    use crate::observation::LiveOrigin;
    let o = Observation::test(SourceKind::Live, cls)
        .seq(seq)
        .ip(ip)
        .origin(Origin::Live(Box::new(LiveOrigin {
            address: format!("{ip}:5432"),
            via: "postgres",
            reachable: role.is_some(),
            error: role
                .is_none()
                .then(|| "unreachable: connection refused".to_string()),
            standbys: standbys.iter().map(|s| s.to_string()).collect(),
            ..LiveOrigin::default()
        })));
    match role {
        Some(r) => o.role(r),
        None => o,
    }
}

fn with_live(obs: Vec<Observation>) -> Vec<Finding> {
    let (c, t, i) = clean();
    check(&Fleet::build(vec![
        consul(c),
        targets(t),
        inventory(i),
        SourceOutput::new(SourceReport::new(SourceKind::Live, "live"), obs),
    ]))
}

#[test]
fn live_agreeing_with_every_place_adds_nothing() {
    let f = with_live(vec![
        live("pg-test", 1, IPS[0], Some("primary"), &[IPS[1], IPS[2]]),
        live("pg-test", 2, IPS[1], Some("replica"), &[]),
        live("pg-test", 3, IPS[2], Some("replica"), &[]),
    ]);
    assert_eq!(f, vec![]);
}

#[test]
fn a_manual_switchover_is_a_live_role_mismatch_in_every_place() {
    let f = with_live(vec![
        live("pg-test", 1, IPS[0], Some("replica"), &[]),
        live("pg-test", 2, IPS[1], Some("primary"), &[IPS[0], IPS[2]]),
        live("pg-test", 3, IPS[2], Some("replica"), &[]),
    ]);
    let k: Vec<_> = f
        .iter()
        .map(|f| {
            (
                f.kind.code(),
                f.severity,
                f.instance.as_deref(),
                f.sources.keys().next().cloned(),
            )
        })
        .collect();
    assert!(
        k.contains(&(
            "live-role-mismatch",
            Severity::Error,
            Some("pg-test-1"),
            Some("consul".into())
        )),
        "{k:?}"
    );
    let inventory = f
        .iter()
        .find(|f| f.kind == Kind::LiveRoleMismatch && f.sources.contains_key("inventory"))
        .unwrap();
    assert_eq!(inventory.severity, Severity::Info);
    assert!(f.iter().all(|f| f.kind == Kind::LiveRoleMismatch), "{f:?}");
    assert_eq!(f.len(), 6, "three places x two instances: {f:#?}");
}

#[test]
fn unreachable_split_brain_and_not_streaming() {
    let f = with_live(vec![
        live("pg-test", 1, IPS[0], Some("primary"), &[IPS[1]]),
        live("pg-test", 2, IPS[1], Some("replica"), &[]),
        live("pg-test", 3, IPS[2], None, &[]),
    ]);
    let kinds: Vec<_> = f
        .iter()
        .map(|f| (f.kind.code(), f.instance.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        vec![("live-unreachable", Some("pg-test-3"))],
        "{f:#?}"
    );
    assert!(f[0].message.contains("connection refused"));

    let f = with_live(vec![
        live("pg-test", 1, IPS[0], Some("primary"), &[IPS[1]]),
        live("pg-test", 2, IPS[1], Some("replica"), &[]),
        live("pg-test", 3, IPS[2], Some("replica"), &[]),
    ]);
    let kinds: Vec<_> = f
        .iter()
        .map(|f| (f.kind.code(), f.instance.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        vec![("replica-not-streaming", Some("pg-test-3"))],
        "{f:#?}"
    );

    let f = with_live(vec![
        live("pg-test", 1, IPS[0], Some("primary"), &[]),
        live("pg-test", 2, IPS[1], Some("primary"), &[]),
        live("pg-test", 3, IPS[2], Some("replica"), &[]),
    ]);
    let split = f.iter().find(|f| f.kind == Kind::SplitBrain).unwrap();
    assert_eq!(split.severity, Severity::Error);
    assert_eq!(split.instance, None);
    assert!(
        split.message.contains("pg-test-1, pg-test-2"),
        "{}",
        split.message
    );
}

/// A Greenplum-style segment: `pg_instances` entry `port` of host `ip`, and its target group
/// scraping the entry's exporter port.
fn segment(cls: &str, seq: u32, ip: &str, port: u16, exporter: u16) -> (Observation, Observation) {
    let role = if seq == 1 { "primary" } else { "replica" };
    let mut inv = host(cls, seq, ip, role);
    if let Origin::Inventory(i) = &mut inv.origin {
        i.port = Some(port);
        i.vars
            .insert("pg_exporter_port".into(), exporter.to_string());
    }
    let ins = format!("{cls}-{seq}");
    let mut t = target(cls, &ins, ip, None, None);
    if let Origin::Targets(o) = &mut t.origin {
        o.targets = vec![format!("{ip}:{exporter}")];
    }
    (inv, t)
}

#[test]
fn instances_on_one_host_at_their_own_ports_do_not_collide() {
    let members = [
        segment("mx-seg1", 1, "10.10.10.11", 6000, 9633),
        segment("mx-seg2", 2, "10.10.10.11", 6001, 9634),
        segment("mx-seg2", 1, "10.10.10.12", 6000, 9633),
        segment("mx-seg1", 2, "10.10.10.12", 6001, 9634),
    ];
    let (i, t): (Vec<_>, Vec<_>) = members.iter().cloned().unzip();
    let f = check(&Fleet::build(vec![
        targets(t.clone()),
        inventory(i.clone()),
    ]));
    assert!(f.is_empty(), "{:?}", kinds(&f));

    // Two groups scraping one exporter port on one host are one address again.
    let mut t = t;
    if let Origin::Targets(o) = &mut t[1].origin {
        o.targets = vec!["10.10.10.11:9633".into()];
    }
    let f = check(&Fleet::build(vec![targets(t), inventory(i)]));
    let coll: Vec<_> = f
        .iter()
        .filter(|f| f.kind == Kind::IdentityCollision)
        .map(|f| (f.instance.as_deref(), f.sources.keys().next().cloned()))
        .collect();
    assert_eq!(
        coll,
        [
            (Some("mx-seg1-1"), Some("targets".into())),
            (Some("mx-seg2-2"), Some("targets".into()))
        ]
    );
}
