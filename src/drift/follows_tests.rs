//! Unit tests of the on-call verdict and of who each place names primary.

use super::*;
use crate::observation::{LiveOrigin, Observation, Origin, SourceOutput};

const CLS: &str = "pg-a";

fn ip(seq: u32) -> String {
    format!("10.0.0.{seq}")
}

/// One place's roles for members 1, 2, ...: `P`, `R`, or `-` for no record.
fn place(kind: SourceKind, roles: &str) -> SourceOutput {
    let obs = roles
        .chars()
        .zip(1u32..)
        .filter(|(r, _)| *r != '-')
        .map(|(r, seq)| {
            let role = if r == 'P' { "primary" } else { "replica" };
            let o = Observation::test(kind, CLS)
                .instance(&format!("{CLS}-{seq}"))
                .ip(&ip(seq))
                .role(role);
            if kind == SourceKind::Targets {
                o
            } else {
                o.seq(seq)
            }
        })
        .collect();
    SourceOutput::test(kind, obs)
}

/// The live answers for members 1, 2, ...: `P`, `R`, or `x` for no answer.
fn live(roles: &str) -> SourceOutput {
    let obs = roles
        .chars()
        .zip(1u32..)
        .map(|(r, seq)| {
            let reachable = r != 'x';
            let o = Observation::test(SourceKind::Live, CLS)
                .seq(seq)
                .ip(&ip(seq))
                .origin(Origin::Live(Box::new(LiveOrigin {
                    address: format!("{}:5432", ip(seq)),
                    via: "postgres",
                    reachable,
                    error: (!reachable).then(|| "unreachable: connection refused".into()),
                    ..LiveOrigin::default()
                })));
            match r {
                'P' => o.role("primary"),
                'R' => o.role("replica"),
                _ => o,
            }
        })
        .collect();
    SourceOutput::test(SourceKind::Live, obs)
}

fn verdict(outputs: Vec<SourceOutput>) -> Follows {
    let fleet = Fleet::build(outputs);
    let cluster = fleet.clusters.first().expect("one cluster");
    follows(&fleet, cluster)
}

fn reasons(f: &Follows) -> String {
    f.reasons().join("; ")
}

#[test]
fn every_registration_naming_the_live_primary_is_a_yes() {
    let f = verdict(vec![
        place(SourceKind::Consul, "PR"),
        place(SourceKind::Targets, "PR"),
        live("PR"),
    ]);
    assert_eq!(f, Follows::Yes);
}

#[test]
fn the_dead_old_primary_still_registered_primary_is_a_no() {
    // After a failover: seq 2 is the live primary, seq 1 is down and both places still
    // name it primary next to seq 2 (multiple-primaries in each).
    let f = verdict(vec![
        place(SourceKind::Consul, "PP"),
        place(SourceKind::Targets, "PP"),
        live("xP"),
    ]);
    let Follows::No(why) = &f else {
        panic!("expected no, got {f:?}")
    };
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(
        why[0].starts_with("consul also names pg-a-1 primary"),
        "{why:?}"
    );
    assert!(why[1].starts_with("targets also names pg-a-1"), "{why:?}");
}

#[test]
fn a_place_naming_only_the_old_primary_or_none_is_a_no() {
    let f = verdict(vec![
        place(SourceKind::Consul, "PR"),
        place(SourceKind::Targets, "RR"),
        live("RP"),
    ]);
    assert_eq!(
        f,
        Follows::No(vec![
            "consul names pg-a-1 primary, live says pg-a-2".into(),
            "targets names no primary (live: pg-a-2)".into(),
        ])
    );
}

#[test]
fn the_dead_old_primary_registered_as_replica_does_not_hold_the_answer_back() {
    let f = verdict(vec![
        place(SourceKind::Consul, "RP"),
        place(SourceKind::Targets, "RP"),
        live("xP"),
    ]);
    assert_eq!(f, Follows::Yes);
}

#[test]
fn no_live_answer_at_all_is_unknown_never_yes() {
    let f = verdict(vec![
        place(SourceKind::Consul, "PR"),
        place(SourceKind::Targets, "PR"),
        live("xx"),
    ]);
    assert!(matches!(f, Follows::Unknown(_)), "{f:?}");
    assert!(reasons(&f).contains("no live answer from pg-a-1, pg-a-2"));
}

#[test]
fn a_live_source_that_failed_says_why_in_the_verdict() {
    let mut out = live("xx");
    out.report
        .error("no instance answered: 2 of 2 probes failed (first: role does not exist)");
    let f = verdict(vec![place(SourceKind::Consul, "PR"), out]);
    assert!(matches!(f, Follows::Unknown(_)), "{f:?}");
    assert!(reasons(&f).contains("role does not exist"), "{f:?}");
}

#[test]
fn without_the_live_source_the_answer_is_unknown() {
    let f = verdict(vec![place(SourceKind::Consul, "PR")]);
    assert_eq!(
        f,
        Follows::Unknown(vec!["live roles not read (--live)".into()])
    );
}

#[test]
fn a_registration_place_that_was_not_read_makes_it_unknown() {
    let mut failed = SourceReport::new(SourceKind::Consul, "http://consul");
    failed.error("http://consul/v1/catalog/services: connection refused");
    let f = verdict(vec![
        SourceOutput::new(failed, Vec::new()),
        place(SourceKind::Targets, "RP"),
        live("RP"),
    ]);
    assert!(matches!(f, Follows::Unknown(_)), "{f:?}");
    assert!(reasons(&f).starts_with("consul not read ("), "{f:?}");
}

#[test]
fn a_stale_place_is_unknown_and_a_wrong_place_still_says_no() {
    let mut stale = place(SourceKind::Consul, "RP");
    stale.report.stale = true;
    let f = verdict(vec![stale.clone(), live("RP")]);
    assert!(matches!(f, Follows::Unknown(_)), "{f:?}");
    // Evidence that a place is wrong outweighs another place's silence.
    let f = verdict(vec![stale, place(SourceKind::Targets, "PR"), live("RP")]);
    assert!(matches!(f, Follows::No(_)), "{f:?}");
}

#[test]
fn split_brain_and_no_live_primary_are_no() {
    let f = verdict(vec![place(SourceKind::Consul, "PR"), live("PP")]);
    assert!(reasons(&f).contains("split brain: pg-a-1, pg-a-2"), "{f:?}");
    assert!(matches!(f, Follows::No(_)));
    let f = verdict(vec![place(SourceKind::Consul, "PR"), live("RR")]);
    assert_eq!(
        f,
        Follows::No(vec!["no member of pg-a is primary (live)".into()])
    );
}

#[test]
fn the_inventory_is_a_declaration_and_does_not_decide() {
    let f = verdict(vec![
        place(SourceKind::Consul, "RP"),
        place(SourceKind::Inventory, "PR"),
        live("RP"),
    ]);
    assert_eq!(f, Follows::Yes);
}

#[test]
fn a_place_silent_about_the_cluster_is_not_asked_to_follow() {
    let f = verdict(vec![
        place(SourceKind::Consul, "RP"),
        place(SourceKind::Targets, "--"),
        live("RP"),
    ]);
    assert_eq!(f, Follows::Yes);
}

#[test]
fn member_marks_are_unknown_without_a_live_answer() {
    let fleet = Fleet::build(vec![place(SourceKind::Consul, "PP"), live("xP")]);
    let c = &fleet.clusters[0];
    assert_eq!(member_follows(&c.instances[0], SourceKind::Consul), None);
    assert_eq!(
        member_follows(&c.instances[1], SourceKind::Consul),
        Some(true)
    );
    assert_eq!(member_follows(&c.instances[1], SourceKind::Targets), None);
}

#[test]
fn primaries_per_place_and_the_dispute() {
    let fleet = Fleet::build(vec![
        place(SourceKind::Consul, "RP"),
        place(SourceKind::Targets, "PR"),
        place(SourceKind::Inventory, "PR"),
        live("RP"),
    ]);
    let p = primaries(&fleet, &fleet.clusters[0]);
    let one = |n: &str| Some(vec![n.to_string()]);
    assert_eq!(
        p.places,
        vec![
            (SourceKind::Consul, one("pg-a-2")),
            (SourceKind::Targets, one("pg-a-1")),
            (SourceKind::Inventory, one("pg-a-1")),
            (SourceKind::Live, one("pg-a-2")),
        ]
    );
    assert!(p.disputed());
    assert_eq!(p.agreed(), None);
    assert_eq!(p.live(), Some("pg-a-2"));
    assert_eq!(
        p.candidates(),
        vec![
            (Some("pg-a-2"), vec![SourceKind::Consul, SourceKind::Live]),
            (
                Some("pg-a-1"),
                vec![SourceKind::Targets, SourceKind::Inventory]
            ),
        ]
    );
}

#[test]
fn primaries_agree_when_every_place_that_can_say_names_one() {
    let fleet = Fleet::build(vec![
        place(SourceKind::Consul, "PR"),
        place(SourceKind::Targets, "PR"),
        live("xx"),
    ]);
    let p = primaries(&fleet, &fleet.clusters[0]);
    assert_eq!(p.of(SourceKind::Live), Some(&None), "no live answer");
    assert_eq!(p.agreed(), Some("pg-a-1"));
    assert!(!p.disputed());
    assert_eq!(p.live(), None);

    let fleet = Fleet::build(vec![
        place(SourceKind::Consul, "RR"),
        place(SourceKind::Targets, "RR"),
    ]);
    let p = primaries(&fleet, &fleet.clusters[0]);
    assert!(p.known() && !p.disputed() && p.agreed().is_none(), "{p:?}");

    let fleet = Fleet::build(vec![
        place(SourceKind::Consul, "PP"),
        place(SourceKind::Targets, "RR"),
    ]);
    let p = primaries(&fleet, &fleet.clusters[0]);
    assert!(p.disputed());
    assert_eq!(
        p.candidates(),
        vec![
            (Some("pg-a-1"), vec![SourceKind::Consul]),
            (Some("pg-a-2"), vec![SourceKind::Consul]),
            (None, vec![SourceKind::Targets]),
        ]
    );
}
