//! The simulation: findings compared, and writes read back as their places' readers would.

use super::*;
use crate::drift::Kind;
use crate::fix::plan::{Desired, MemberChange};
use crate::identity::Role;
use crate::intern::{Meta, Text};
use std::sync::Arc;

fn finding(kind: Kind, severity: Severity, instance: Option<&str>, sources: &[&str]) -> Finding {
    Finding {
        kind,
        severity,
        cluster: "pg-test".into(),
        instance: instance.map(str::to_string),
        sources: sources
            .iter()
            .map(|s| (s.to_string(), "x".to_string()))
            .collect(),
        message: String::new(),
        datacenter: None,
    }
}

#[test]
fn compare_tells_resolved_created_and_remaining_apart() {
    use Severity::{Error, Warning};
    let mismatch = |sev| {
        finding(
            Kind::RoleMismatch,
            sev,
            Some("pg-test-2"),
            &["consul", "inventory", "targets"],
        )
    };
    let live = |place| {
        finding(
            Kind::LiveRoleMismatch,
            Error,
            Some("pg-test-1"),
            &[place, "live"],
        )
    };
    let two = finding(Kind::MultiplePrimaries, Error, None, &["targets"]);
    let before = vec![mismatch(Error), live("targets")];
    let after = vec![
        mismatch(Warning),
        live("targets"),
        live("consul"),
        two.clone(),
    ];
    let o = compare(&before, &after);
    // An error that is now a stale-inventory warning is resolved, at its old severity.
    assert_eq!(o.resolves, vec![mismatch(Error)]);
    // The same kind in another place is a new finding.
    assert_eq!(o.creates, vec![live("consul"), two.clone()]);
    assert_eq!(o.remains, vec![mismatch(Warning), live("targets")]);
    assert_eq!(o.created_errors().count(), 2);
    assert_eq!(short(&two), "multiple-primaries in pg-test");
    // A disagreement that only grew more severe was there before: not created.
    let o = compare(&[mismatch(Warning)], &[mismatch(Error)]);
    assert_eq!(
        (o.resolves, o.creates, o.remains),
        (vec![], vec![], vec![mismatch(Error)])
    );
}

fn origin(service: &str, tags: &[&str], meta: &[(&str, &str)]) -> ConsulOrigin {
    ConsulOrigin {
        node: "pg-test-2".into(),
        node_address: "10.0.0.2".into(),
        service_id: service.into(),
        service_name: service.into(),
        service_address: "".into(),
        port: 5433,
        tags: tags.iter().map(|t| Text::from(*t)).collect(),
        meta: Arc::new(Meta::new(
            meta.iter()
                .map(|(k, v)| (Text::from(*k), Text::from(*v)))
                .collect(),
        )),
        node_checks: Arc::new([]),
        service_checks: Box::new([]),
        datacenter: "dc1".into(),
    }
}

#[test]
fn a_new_definition_is_read_with_consuls_reader_rule() {
    let meta = [
        ("cluster", "pg-test"),
        ("seq", "2"),
        ("instance", "pg-test-2"),
        ("service", "pg-test-replica"),
    ];
    let c = origin(
        "pg-test-primary",
        &["pg-test-primary", "pg-test", "primary"],
        &meta,
    );
    let after = reregister_body(
        &definition(&c),
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    let o = observe_definition(&c, &after).unwrap();
    // The member's role comes from meta.service; the route's tags say nothing of it.
    let claim = o.role.unwrap();
    assert_eq!((claim.role, claim.from), (Role::Primary, "meta.service"));
    assert_eq!(o.ip.as_deref(), Some("10.0.0.2"));
    assert_eq!(o.seq, Some(2));
    // Without identity in its meta a definition is no observation.
    assert!(observe_definition(&c, &serde_json::json!({"Name": "pg-test-primary"})).is_none());
}

fn consul_fleet() -> Fleet {
    let member = |seq: u32, role: &str| {
        let ip = format!("10.0.0.{seq}");
        let meta = [
            ("cluster", "pg-test".to_string()),
            ("seq", seq.to_string()),
            ("instance", format!("pg-test-{seq}")),
            ("role", role.to_string()),
        ];
        let meta: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut c = origin("postgres", &[role, "pg-test"], &meta);
        c.node = format!("pg-test-{seq}").into();
        c.node_address = ip.clone().into();
        observe_definition(&c, &definition(&c)).unwrap()
    };
    Fleet::build(vec![SourceOutput::test(
        SourceKind::Consul,
        vec![member(1, "primary"), member(2, "primary")],
    )])
}

fn desired(seq: u32, role: Role) -> Desired {
    Desired {
        cluster: "pg-test".into(),
        seq: Some(seq),
        instance: format!("pg-test-{seq}"),
        role: Some(role),
        ip: None,
    }
}

#[test]
fn consul_writes_and_node_commands_are_simulated() {
    let fleet = consul_fleet();
    let sim = Simulator::new(&fleet, "pg-test");
    assert_eq!(
        sim.before().iter().map(short).collect::<Vec<_>>(),
        ["multiple-primaries in pg-test"]
    );
    let inst = fleet.instances().next().unwrap();
    let Origin::Consul(c) = &inst.observations[0].origin else {
        panic!("not a Consul observation");
    };
    let after = reregister_body(
        &definition(c),
        &IdentityChange::role(Role::Primary, Role::Replica),
    )
    .unwrap();
    let mut plan = Plan::new(
        "pg-test",
        "pg-test-1",
        SourceKind::Live,
        Destination::Consul,
        desired(1, Role::Replica),
    );
    plan.steps.push(Step::ConsulRegister {
        node: c.node.to_string(),
        service_id: c.service_id.to_string(),
        agent: "http://10.0.0.1:8500".into(),
        before: definition(c),
        after,
    });
    let o = sim.outcome(&plan).unwrap();
    assert_eq!(
        o.resolves.iter().map(short).collect::<Vec<_>>(),
        ["multiple-primaries in pg-test"]
    );
    assert!(o.creates.is_empty());

    // The node command is taken to register what the plan wants on each member.
    let mut plan = Plan::new(
        "pg-test",
        "pg-test",
        SourceKind::Live,
        Destination::Command,
        desired(1, Role::Replica),
    );
    for (seq, role) in [(1, Role::Replica), (2, Role::Replica)] {
        plan.members.push(MemberChange {
            instance: format!("pg-test-{seq}"),
            role_before: Some(Role::Primary),
            desired: desired(seq, role),
            role_only: false,
        });
        plan.steps.push(Step::Command {
            argv: vec!["pg-register".into(), "replica".into()],
        });
    }
    let o = sim.outcome(&plan).unwrap();
    assert_eq!(
        o.creates.iter().map(short).collect::<Vec<_>>(),
        ["no-primary in pg-test"]
    );
}
