use super::*;

#[test]
fn merges_by_seq_then_address_then_name() {
    let fleet = Fleet::build(vec![
        SourceOutput::test(
            SourceKind::Inventory,
            vec![
                Observation::test(SourceKind::Inventory, "pg-a")
                    .seq(1)
                    .role("primary")
                    .ip("10.0.0.1"),
                Observation::test(SourceKind::Inventory, "pg-a")
                    .seq(2)
                    .role("replica")
                    .ip("10.0.0.2"),
            ],
        ),
        SourceOutput::test(
            SourceKind::Targets,
            vec![
                // typo in ins, but the address places it on seq 2
                Observation::test(SourceKind::Targets, "pg-a")
                    .seq(20)
                    .instance("pg-a-20")
                    .ip("10.0.0.2"),
                // unknown address, the name places it on seq 1
                Observation::test(SourceKind::Targets, "pg-a")
                    .seq(1)
                    .instance("pg-a-1")
                    .ip("10.9.9.9"),
                // neither: stands alone under its name
                Observation::test(SourceKind::Targets, "pg-a")
                    .instance("weird")
                    .ip("10.0.0.7"),
            ],
        ),
    ]);
    let c = &fleet.clusters[0];
    let names: Vec<&str> = c.instances.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["pg-a-1", "pg-a-2", "weird"]);
    assert_eq!(c.instances[0].observations.len(), 2);
    assert_eq!(c.instances[1].observations.len(), 2);
    assert_eq!(c.instances[0].ips(SourceKind::Targets).len(), 1);
    assert_eq!(fleet.instance_count(), 3);
}

#[test]
fn role_view_prefers_postgres_when_split() {
    let mk = |svc: &str, role: &str| {
        Observation::test(SourceKind::Consul, "pg-a")
            .seq(1)
            .role(role)
            .ip("10.0.0.1")
            .consul_service(svc, 1)
    };
    let fleet = Fleet::build(vec![SourceOutput::test(
        SourceKind::Consul,
        vec![
            mk("pgbouncer", "replica"),
            mk("postgres", "primary"),
            mk("node-exporter", "replica"),
        ],
    )]);
    let view = fleet.clusters[0].instances[0].role_view(SourceKind::Consul);
    assert_eq!(view.effective(), Some(&Role::Primary));
    assert!(matches!(view, RoleView::Split(_, ref all) if all.len() == 2));
    assert_eq!(view.label(), "split");
}

/// Registrations that place by address and by name, for the live source to follow.
fn registrations() -> Vec<SourceOutput> {
    let t = |ins: &str, ip: &str| {
        Observation::test(SourceKind::Targets, "pg-a")
            .instance(ins)
            .ip(ip)
    };
    vec![
        SourceOutput::test(
            SourceKind::Consul,
            vec![
                Observation::test(SourceKind::Consul, "pg-a")
                    .seq(1)
                    .role("primary")
                    .ip("10.0.0.1"),
            ],
        ),
        SourceOutput::test(
            SourceKind::Targets,
            vec![
                t("pg-a-1", "10.0.0.1").seq(1),
                t("pg-a-2", "10.0.0.2").seq(2),
                t("weird", "10.0.0.7"),
            ],
        ),
    ]
}

#[test]
fn a_live_read_added_later_gives_the_fleet_one_merge_gives() {
    let live = |seq: Option<u32>, ip: &str| {
        let o = Observation::test(SourceKind::Live, "pg-a")
            .role("replica")
            .ip(ip);
        match seq {
            Some(s) => o.seq(s),
            None => o,
        }
    };
    let live = SourceOutput::test(
        SourceKind::Live,
        vec![
            live(Some(1), "10.0.0.1"),
            live(Some(2), "10.0.0.2"),
            live(None, "10.0.0.7"),
            // An instance no registration names any more.
            live(Some(9), "10.0.0.9"),
        ],
    );
    let mut outputs = registrations();
    let mut added = Fleet::build(outputs.clone());
    added.add_live(live.clone());
    outputs.push(live);
    let merged = Fleet::build(outputs);
    let json = |f: &Fleet| serde_json::to_value(f).unwrap();
    assert_eq!(json(&added), json(&merged));
    let weird = merged.instances().find(|i| i.name == "weird").unwrap();
    assert!(weird.seen_by(SourceKind::Live));
    let first = &merged.clusters[0].instances[0];
    let order: Vec<SourceKind> = first.observations.iter().map(|o| o.source).collect();
    // Stated seqs first, as one merge of everything has always ordered them.
    assert_eq!(
        order,
        [SourceKind::Consul, SourceKind::Live, SourceKind::Targets]
    );
}

#[test]
fn a_stale_live_read_does_not_move_a_registration() {
    // The probe saw seq 3 at 10.0.0.7 before the address went to the `weird` target.
    let stale = SourceOutput::test(
        SourceKind::Live,
        vec![
            Observation::test(SourceKind::Live, "pg-a")
                .seq(3)
                .ip("10.0.0.7"),
        ],
    );
    let mut outputs = registrations();
    outputs.push(stale);
    let fleet = Fleet::build(outputs);
    let weird = fleet.instances().find(|i| i.name == "weird").unwrap();
    assert_eq!(weird.sources(), [SourceKind::Targets]);
    let three = fleet.instances().find(|i| i.name == "pg-a-3").unwrap();
    assert_eq!(three.sources(), [SourceKind::Live]);
}

/// An inventory `pg_instances` entry of cluster pg-a on `ip` at `port`.
fn entry(seq: u32, ip: &str, port: u16, exporter: u16) -> Observation {
    use crate::observation::InventoryOrigin;
    Observation::test(SourceKind::Inventory, "pg-a")
        .seq(seq)
        .ip(ip)
        .origin(Origin::Inventory(InventoryOrigin {
            file: "pigsty.yml".into(),
            line: 1,
            group: "pg-a".into(),
            host: ip.into(),
            vars: BTreeMap::from([("pg_exporter_port".into(), exporter.to_string())]),
            port: Some(port),
        }))
}

/// A target group of pg-a naming `ins`, scraped at `ip:port`.
fn scraped(ins: &str, ip: &str, port: u16) -> Observation {
    use crate::observation::TargetOrigin;
    let o = Observation::test(SourceKind::Targets, "pg-a")
        .instance(ins)
        .ip(ip)
        .origin(Origin::Targets(TargetOrigin {
            file: "pgsql/x.yml".into(),
            line: 1,
            index: 0,
            targets: vec![format!("{ip}:{port}")],
            labels: BTreeMap::new(),
        }));
    match crate::identity::seq_from_instance("pg-a", ins) {
        Some(seq) => o.seq(seq),
        None => o,
    }
}

#[test]
fn instances_sharing_a_host_are_told_apart_by_port() {
    let fleet = Fleet::build(vec![
        SourceOutput::test(
            SourceKind::Inventory,
            vec![
                entry(1, "10.0.0.1", 6000, 9633),
                entry(2, "10.0.0.1", 6001, 9634),
                entry(5, "10.0.0.2", 6000, 9633),
            ],
        ),
        SourceOutput::test(
            SourceKind::Targets,
            vec![
                // A typo in ins: the exporter port places it on seq 2.
                scraped("pg-a-x", "10.0.0.1", 9634),
                // A port no instance declares: its own instance, by its name.
                scraped("pg-a-3", "10.0.0.1", 9635),
                // The only instance at 10.0.0.2 is declared at another port.
                scraped("pg-a-4", "10.0.0.2", 9634),
                scraped("pg-a-5", "10.0.0.2", 9633),
            ],
        ),
    ]);
    let seen: Vec<(&str, usize)> = fleet
        .instances()
        .map(|i| (i.name.as_str(), i.observations.len()))
        .collect();
    assert_eq!(
        seen,
        [
            ("pg-a-1", 1),
            ("pg-a-2", 2),
            ("pg-a-3", 1),
            ("pg-a-4", 1),
            ("pg-a-5", 2)
        ]
    );
    let two = fleet.instances().find(|i| i.name == "pg-a-2").unwrap();
    assert_eq!(
        two.ports_at(SourceKind::Inventory, "10.0.0.1"),
        BTreeSet::from([6001, 9634])
    );
}
