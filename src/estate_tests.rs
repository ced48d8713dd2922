use super::*;
use crate::observation::Observation;

fn dcs(names: &[&str]) -> Vec<Datacenter> {
    names
        .iter()
        .map(|n| Datacenter {
            name: n.to_string(),
            standby_of: Vec::new(),
        })
        .collect()
}

fn member(kind: SourceKind, cluster: &str, seq: u32, role: &str, ip: &str) -> Observation {
    Observation::test(kind, cluster).seq(seq).role(role).ip(ip)
}

/// A Consul read of one datacenter.
fn consul(dc: &str, members: Vec<Observation>) -> SourceOutput {
    let mut out = SourceOutput::test(SourceKind::Consul, members);
    out.report.datacenter = Some(dc.into());
    out
}

/// A Consul read of one datacenter that failed.
fn consul_failed(dc: &str) -> SourceOutput {
    let mut out = consul(dc, Vec::new());
    out.report.error("No path to datacenter");
    out
}

/// Target groups (which carry no seq label: `ins` gives it).
fn targets(groups: &[(&str, u32, &str, &str)]) -> SourceOutput {
    SourceOutput::test(
        SourceKind::Targets,
        groups
            .iter()
            .map(|(c, seq, role, ip)| {
                Observation::test(SourceKind::Targets, c)
                    .instance(&format!("{c}-{seq}"))
                    .seq(*seq)
                    .role(role)
                    .ip(ip)
            })
            .collect(),
    )
}

fn kinds(findings: &[Finding]) -> Vec<(String, Option<String>, String, Option<String>)> {
    findings
        .iter()
        .map(|f| {
            (
                f.kind.code().to_string(),
                f.datacenter.clone(),
                f.cluster.clone(),
                f.instance.clone(),
            )
        })
        .collect()
}

fn cluster_dcs(fleet: &Fleet) -> Vec<(String, Option<String>)> {
    fleet
        .clusters
        .iter()
        .map(|c| (c.name.clone(), c.datacenter.clone()))
        .collect()
}

#[test]
fn shared_files_are_compared_with_the_datacenter_whose_consul_holds_the_cluster() {
    let fleet = build(
        vec![
            consul(
                "dc1",
                vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.1.0.1")],
            ),
            consul(
                "dc2",
                vec![member(SourceKind::Consul, "pg-b", 1, "primary", "10.2.0.1")],
            ),
            targets(&[
                ("pg-a", 1, "primary", "10.1.0.1"),
                ("pg-b", 1, "replica", "10.2.0.1"),
            ]),
        ],
        &dcs(&["dc1", "dc2"]),
    );
    assert_eq!(
        cluster_dcs(&fleet),
        [
            ("pg-a".to_string(), Some("dc1".to_string())),
            ("pg-b".to_string(), Some("dc2".to_string()))
        ]
    );
    // Every read once, its datacenter's reads after the shared ones of its kind.
    let labels: Vec<String> = fleet.sources.iter().map(SourceReport::label).collect();
    assert_eq!(labels, ["consul@dc1", "consul@dc2", "targets"]);
    let findings = check(&fleet);
    let dc2 = Some("dc2".to_string());
    assert_eq!(
        kinds(&findings),
        [
            ("no-primary".into(), dc2.clone(), "pg-b".into(), None),
            (
                "role-mismatch".into(),
                dc2,
                "pg-b".into(),
                Some("pg-b-1".into())
            )
        ]
    );
}

#[test]
fn a_datacenter_not_read_is_not_read_never_empty() {
    let outputs = || {
        vec![
            consul(
                "dc1",
                vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.1.0.1")],
            ),
            targets(&[
                ("pg-a", 1, "primary", "10.1.0.1"),
                // Known to the files only: dc3's Consul may hold it.
                ("pg-c", 1, "primary", "10.3.0.1"),
            ]),
        ]
    };
    let mut with_dc3 = outputs();
    with_dc3.push(consul_failed("dc3"));
    let fleet = build(with_dc3, &dcs(&["dc1", "dc3"]));
    let pg_c = fleet.clusters.iter().find(|c| c.name == "pg-c").unwrap();
    assert_eq!(pg_c.datacenter, None, "placed nowhere while dc3 is unknown");
    assert!(check(&fleet).is_empty(), "{:#?}", check(&fleet));
    let dc3 = fleet
        .sources
        .iter()
        .find(|s| s.label() == "consul@dc3")
        .unwrap();
    assert!(!dc3.is_ok());

    // Every datacenter read: Consul really lacks it, in the nearest datacenter.
    let fleet = build(outputs(), &dcs(&["dc1"]));
    let pg_c = fleet.clusters.iter().find(|c| c.name == "pg-c").unwrap();
    assert_eq!(pg_c.datacenter.as_deref(), Some("dc1"));
    assert_eq!(
        kinds(&check(&fleet)),
        [(
            "missing-in-consul".to_string(),
            Some("dc1".to_string()),
            "pg-c".to_string(),
            Some("pg-c-1".to_string())
        )]
    );
}

#[test]
fn files_of_one_datacenter_speak_only_for_it() {
    let mut dc2_targets = targets(&[("pg-b", 1, "primary", "10.2.0.1")]);
    dc2_targets.report.datacenter = Some("dc2".into());
    let fleet = build(
        vec![
            consul(
                "dc1",
                vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.1.0.1")],
            ),
            consul(
                "dc2",
                vec![member(SourceKind::Consul, "pg-b", 1, "primary", "10.2.0.1")],
            ),
            dc2_targets,
        ],
        &dcs(&["dc1", "dc2"]),
    );
    // dc1 has no target files: nothing is missing from them there.
    assert!(check(&fleet).is_empty(), "{:#?}", check(&fleet));
    let labels: Vec<String> = fleet.sources.iter().map(SourceReport::label).collect();
    assert_eq!(labels, ["consul@dc1", "consul@dc2", "targets@dc2"]);
}

#[test]
fn one_cluster_name_in_two_datacenters_is_a_collision_unless_a_standby_pair() {
    let outputs = || {
        vec![
            consul(
                "dc1",
                vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.1.0.1")],
            ),
            consul(
                "dc2",
                vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.2.0.1")],
            ),
            // The shared file places each member by its address.
            targets(&[
                ("pg-a", 1, "primary", "10.1.0.1"),
                ("pg-a", 1, "primary", "10.2.0.1"),
            ]),
        ]
    };
    let fleet = build(outputs(), &dcs(&["dc1", "dc2"]));
    let findings = check(&fleet);
    assert_eq!(
        kinds(&findings),
        [(
            "identity-collision".to_string(),
            Some("dc2".to_string()),
            "pg-a".to_string(),
            None
        )]
    );
    let f = &findings[0];
    assert_eq!(f.sources["consul@dc1"], "pg-a-1 10.1.0.1");
    assert_eq!(f.sources["consul@dc2"], "pg-a-1 10.2.0.1");
    assert!(f.message.contains("standby_of"), "{}", f.message);

    let mut pair = dcs(&["dc1", "dc2"]);
    pair[1].standby_of = vec!["dc1".into()];
    let fleet = build(outputs(), &pair);
    assert!(check(&fleet).is_empty(), "{:#?}", check(&fleet));
}

#[test]
fn one_datacenter_is_the_plain_merge() {
    let outputs = vec![
        SourceOutput::test(
            SourceKind::Consul,
            vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.1.0.1")],
        ),
        targets(&[("pg-a", 1, "replica", "10.1.0.1")]),
    ];
    let fleet = build(outputs.clone(), &[]);
    let plain = Fleet::build(outputs);
    assert_eq!(
        serde_json::to_value(&fleet).unwrap(),
        serde_json::to_value(&plain).unwrap()
    );
    assert_eq!(check(&fleet), drift::check(&plain));
    assert!(check(&fleet).iter().all(|f| f.datacenter.is_none()));
}

#[test]
fn each_instance_is_judged_by_its_own_datacenters_reads() {
    use crate::verdict::verdicts;
    // dc1 read; dc2 not read. pg-b (dc2's files) and pg-c (no Consul holds it) are
    // known to the files only: neither may look clean, and dc1's complete Consul proves
    // nothing about them.
    let mut dc2_targets = targets(&[("pg-b", 1, "primary", "10.2.0.1")]);
    dc2_targets.report.datacenter = Some("dc2".into());
    let fleet = build(
        vec![
            consul(
                "dc1",
                vec![member(SourceKind::Consul, "pg-a", 1, "primary", "10.1.0.1")],
            ),
            consul_failed("dc2"),
            targets(&[
                ("pg-a", 1, "primary", "10.1.0.1"),
                ("pg-c", 1, "primary", "10.3.0.1"),
            ]),
            dc2_targets,
        ],
        &dcs(&["dc1", "dc2"]),
    );
    let findings = check(&fleet);
    let judged: Vec<(String, Option<String>, &str)> = fleet
        .clusters
        .iter()
        .flat_map(|c| {
            c.instances
                .iter()
                .map(move |i| (i.name.clone(), c.datacenter.clone()))
        })
        .zip(verdicts(&fleet, &findings))
        .map(|((name, dc), v)| (name, dc, v.code()))
        .collect();
    let of = |name: &str| {
        judged
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, dc, v)| (dc.clone(), *v))
    };
    assert_eq!(of("pg-a-1"), Some((Some("dc1".into()), "ok")), "{judged:?}");
    assert_eq!(
        of("pg-b-1"),
        Some((Some("dc2".into()), "unverified")),
        "{judged:?}"
    );
    assert_eq!(of("pg-c-1"), Some((None, "unverified")), "{judged:?}");
    let rendered =
        crate::report::CheckResult::new(fleet, Vec::new()).render(crate::report::Format::Json);
    let doc: serde_json::Value = serde_json::from_str(&rendered).unwrap();
    for i in doc["instances"].as_array().unwrap() {
        if i["instance"] != "pg-a-1" {
            assert_eq!(i["coverage"]["consul"], "not-read", "{i}");
        }
    }
}

/// One target file of one kind read for one datacenter and in a shared read.
fn files(kind: SourceKind, dc: Option<&str>, cluster: &str, role: &str, ip: &str) -> SourceOutput {
    let mut out = SourceOutput::test(
        kind,
        vec![
            Observation::test(kind, cluster)
                .instance(&format!("{cluster}-1"))
                .seq(1)
                .role(role)
                .ip(ip),
        ],
    );
    out.report.datacenter = dc.map(str::to_string);
    out
}

fn one_consul(dc: &str, cluster: &str, ip: &str) -> SourceOutput {
    consul(
        dc,
        vec![member(SourceKind::Consul, cluster, 1, "primary", ip)],
    )
}

fn verdict_in(r: &crate::report::CheckResult, dc: &str, name: &str) -> crate::verdict::Verdict {
    let at = r
        .fleet
        .clusters
        .iter()
        .flat_map(|c| {
            c.instances
                .iter()
                .map(move |i| (c.datacenter.clone(), i.name.clone()))
        })
        .position(|(d, n)| d.as_deref() == Some(dc) && n == name)
        .unwrap();
    r.verdicts()[at].clone()
}

#[test]
fn a_stale_datacenter_read_is_not_hidden_behind_a_complete_shared_one() {
    // dc2's own target files: the watch kept the last good read, marked stale.
    let mut dc2_targets = files(
        SourceKind::Targets,
        Some("dc2"),
        "pg-b",
        "primary",
        "10.2.0.1",
    );
    dc2_targets
        .report
        .error("cannot read /etc/prometheus/targets-dc2");
    dc2_targets.report.stale = true;
    let fleet = build(
        vec![
            one_consul("dc1", "pg-a", "10.1.0.1"),
            one_consul("dc2", "pg-b", "10.2.0.1"),
            files(SourceKind::Targets, None, "pg-a", "primary", "10.1.0.1"),
            dc2_targets,
        ],
        &dcs(&["dc1", "dc2"]),
    );
    let r = crate::report::CheckResult::new(fleet, Vec::new());
    let v = verdict_in(&r, "dc2", "pg-b-1");
    assert!(matches!(v, crate::verdict::Verdict::Unverified(_)), "{v:?}");
}

#[test]
fn a_source_only_another_datacenter_has_is_not_unread_here() {
    let fleet = build(
        vec![
            one_consul("dc1", "pg-a", "10.1.0.1"),
            one_consul("dc2", "pg-b", "10.2.0.1"),
            files(
                SourceKind::Inventory,
                Some("dc2"),
                "pg-b",
                "primary",
                "10.2.0.1",
            ),
        ],
        &dcs(&["dc1", "dc2"]),
    );
    let r = crate::report::CheckResult::new(fleet, Vec::new());
    assert_eq!(verdict_in(&r, "dc1", "pg-a-1"), crate::verdict::Verdict::Ok);
    let metrics = r.render(crate::report::Format::Prometheus);
    assert!(
        metrics.contains("roster_source_unread_instances{source=\"inventory\"} 0"),
        "{metrics}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&r.render(crate::report::Format::Json)).unwrap();
    let pg_a = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "pg-a-1")
        .unwrap();
    assert_eq!(pg_a["coverage"]["inventory"], "not-configured", "{pg_a}");
}

#[test]
fn drifting_instances_of_one_name_in_two_datacenters_are_two() {
    let fleet = build(
        vec![
            one_consul("dc1", "pg-a", "10.1.0.1"),
            one_consul("dc2", "pg-a", "10.2.0.1"),
            files(
                SourceKind::Targets,
                Some("dc1"),
                "pg-a",
                "replica",
                "10.1.0.1",
            ),
            files(
                SourceKind::Targets,
                Some("dc2"),
                "pg-a",
                "replica",
                "10.2.0.1",
            ),
        ],
        &dcs(&["dc1", "dc2"]),
    );
    let s = crate::report::CheckResult::new(fleet, Vec::new()).summary();
    assert_eq!(
        (
            s.instances,
            s.drifting_instances,
            s.ok_instances + s.drifting_instances + s.unverified_instances
        ),
        (2, 2, 2),
        "{s:?}"
    );
}
