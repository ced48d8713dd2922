//! Cluster plans against small fleets: one target file on disk, Consul and live
//! observations made up.

use super::*;
use crate::fix::consul::AgentAddress;
use crate::fix::plan::Step;
use crate::observation::{LiveOrigin, Observation, Origin, SourceOutput, SourceReport};
use std::path::Path;

const TARGETS: &str = "\
#======> pg-test-1 [primary] @ 10.0.0.1
- labels: {cls: pg-test, ins: pg-test-1, ip: 10.0.0.1, role: primary, svc: pg-test-primary}
  targets: [10.0.0.1:9630]
#======> pg-test-2 [replica] @ 10.0.0.2
- labels: {cls: pg-test, ins: pg-test-2, ip: 10.0.0.2, role: replica, svc: pg-test-replica}
  targets: [10.0.0.2:9630]
#======> pg-test-3 [replica] @ 10.0.0.3
- labels: {cls: pg-test, ins: pg-test-3, ip: 10.0.0.3, role: replica, svc: pg-test-replica}
  targets: [10.0.0.3:9630]
";

fn ctx() -> FixContext {
    FixContext {
        consul: None,
        agent: AgentAddress::default(),
        command: None,
        command_timeout: std::time::Duration::from_secs(1),
    }
}

/// The target file written to `dir`, read as the targets source reads it.
fn targets(dir: &Path) -> SourceOutput {
    let file = dir.join("pg-test.yml");
    std::fs::write(&file, TARGETS).unwrap();
    let obs = crate::source::targets::parse_target_file(&file, TARGETS).unwrap();
    SourceOutput::new(SourceReport::new(SourceKind::Targets, "test"), obs)
}

/// Consul after the failover: seq 2 primary, the others replicas.
fn consul(roles: &[&str]) -> SourceOutput {
    let obs = roles
        .iter()
        .enumerate()
        .map(|(n, role)| {
            let seq = u32::try_from(n + 1).unwrap();
            Observation::test(SourceKind::Consul, "pg-test")
                .seq(seq)
                .instance(&format!("pg-test-{seq}"))
                .role(role)
                .ip(&format!("10.0.0.{seq}"))
                .consul_service("postgres", 5432)
        })
        .collect();
    SourceOutput::test(SourceKind::Consul, obs)
}

/// What the live source makes of each member: `Some(role)` answered, `None` silent.
fn live(roles: &[Option<&str>]) -> SourceOutput {
    let obs = roles
        .iter()
        .enumerate()
        .map(|(n, role)| {
            let seq = u32::try_from(n + 1).unwrap();
            let ip = format!("10.0.0.{seq}");
            let o = Observation::test(SourceKind::Live, "pg-test")
                .seq(seq)
                .ip(&ip);
            let o = match role {
                Some(r) => o.role(r),
                None => o,
            };
            o.origin(Origin::Live(Box::new(LiveOrigin {
                address: format!("{ip}:8008"),
                via: "patroni",
                reachable: role.is_some(),
                error: role.is_none().then(|| "connection refused".to_string()),
                ..LiveOrigin::default()
            })))
        })
        .collect();
    SourceOutput::test(SourceKind::Live, obs)
}

fn kinds(findings: &[Finding]) -> Vec<String> {
    findings.iter().map(short).collect()
}

fn names(plan: &Plan) -> Vec<&str> {
    plan.members.iter().map(|m| m.instance.as_str()).collect()
}

async fn plan_for(
    fleet: &Fleet,
    only: Option<&[String]>,
    authority: SourceKind,
    opts: &PlanOptions,
) -> Result<Plan, FixError> {
    plan_cluster(
        fleet,
        "pg-test",
        only,
        Destination::Targets,
        Some(authority),
        &ctx(),
        opts,
    )
    .await
}

/// The plan of one member's fix with the default options; it must plan.
async fn plan_member(fleet: &Fleet, instance: &str, authority: SourceKind) -> Plan {
    plan_for(
        fleet,
        Some(&one(instance)),
        authority,
        &PlanOptions::default(),
    )
    .await
    .unwrap()
}

fn one(name: &str) -> Vec<String> {
    vec![name.to_string()]
}

#[tokio::test]
async fn a_plan_that_creates_multiple_primaries_is_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::build(vec![
        consul(&["replica", "primary", "replica"]),
        targets(dir.path()),
    ]);
    let opts = PlanOptions {
        member_only: true,
        ..PlanOptions::default()
    };
    let p = plan_for(&fleet, Some(&one("pg-test-2")), SourceKind::Consul, &opts)
        .await
        .unwrap();
    assert_eq!(names(&p), ["pg-test-2"]);
    assert_eq!(p.steps.len(), 1);
    let o = p.outcome.as_ref().unwrap();
    assert_eq!(kinds(&o.creates), ["multiple-primaries in pg-test"]);
    assert_eq!(kinds(&o.resolves), ["role-mismatch pg-test-2"]);
    assert_eq!(p.hazards.len(), 1, "{:?}", p.hazards);
    assert_eq!(p.hazards[0].kind, HazardKind::CreatesError);
    assert!(
        p.hazards[0]
            .message
            .starts_with("creates multiple-primaries in pg-test (error)"),
        "{}",
        p.hazards[0].message
    );
    assert!(
        p.warnings
            .iter()
            .any(|w| w.contains("pg-test-1 stays primary in targets, though consul says replica")),
        "{:?}",
        p.warnings
    );
    // Simulated, not written.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pg-test.yml")).unwrap(),
        TARGETS
    );
}

#[tokio::test]
async fn a_cluster_plan_resolves_the_failover_with_nothing_created() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::build(vec![
        consul(&["replica", "primary", "replica"]),
        targets(dir.path()),
    ]);
    let p = plan_member(&fleet, "pg-test-2", SourceKind::Consul).await;
    assert_eq!(p.instance, "pg-test-2");
    assert_eq!(names(&p), ["pg-test-2", "pg-test-1"]);
    assert!(p.members[1].role_only);
    let moves: Vec<(String, Option<Role>, Option<Role>)> = p
        .role_moves()
        .map(|m| {
            (
                m.instance.clone(),
                m.role_before.clone(),
                m.desired.role.clone(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("pg-test-2".into(), Some(Role::Replica), Some(Role::Primary)),
            ("pg-test-1".into(), Some(Role::Primary), Some(Role::Replica)),
        ]
    );
    // Both members' edits go into one write of the one file.
    assert_eq!(p.steps.len(), 1);
    assert!(
        p.notes[0].starts_with("make targets follow the failover of pg-test"),
        "{:?}",
        p.notes
    );
    let o = p.outcome.as_ref().unwrap();
    assert!(o.creates.is_empty(), "{:?}", o.creates);
    assert_eq!(
        kinds(&o.resolves),
        ["role-mismatch pg-test-1", "role-mismatch pg-test-2"]
    );
    assert!(p.hazards.is_empty(), "{:?}", p.hazards);
    // A member whose role does not move draws nobody in.
    let clean = plan_member(&fleet, "pg-test-3", SourceKind::Consul).await;
    assert_eq!(names(&clean), ["pg-test-3"]);
    assert!(clean.is_empty());
}

#[tokio::test]
async fn a_dead_old_primary_is_demoted_once_the_live_primary_is_known() {
    let dir = tempfile::tempdir().unwrap();
    // pg-test-1, the old primary, is down; pg-test-2 is the live primary.
    let fleet = Fleet::build(vec![
        targets(dir.path()),
        live(&[None, Some("primary"), Some("replica")]),
    ]);
    let p = plan_member(&fleet, "pg-test-1", SourceKind::Live).await;
    assert_eq!(names(&p), ["pg-test-1", "pg-test-2"]);
    assert_eq!(p.members[0].desired.role, Some(Role::Replica));
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("pg-test-1 cannot be asked its role") && n.contains("pg-test-2")),
        "{:?}",
        p.notes
    );
    let Step::TargetFile { new_text, .. } = &p.steps[0] else {
        panic!("{:?}", p.steps);
    };
    assert!(new_text.contains("ins: pg-test-1, ip: 10.0.0.1, role: replica, svc: pg-test-replica"));
    assert!(new_text.contains("ins: pg-test-2, ip: 10.0.0.2, role: primary, svc: pg-test-primary"));
    let o = p.outcome.as_ref().unwrap();
    assert!(o.creates.is_empty(), "{:?}", o.creates);
    assert!(kinds(&o.resolves).contains(&"live-role-mismatch pg-test-2".to_string()));

    // The operator's word for a demoted member; a standby keeps its own word.
    let opts = PlanOptions {
        demote_to: Role::Offline,
        ..PlanOptions::default()
    };
    let p = plan_for(&fleet, None, SourceKind::Live, &opts)
        .await
        .unwrap();
    assert_eq!(p.instance, "pg-test", "a plan of the whole cluster");
    let roles: Vec<(&str, Option<&Role>)> = p
        .members
        .iter()
        .map(|m| (m.instance.as_str(), m.desired.role.as_ref()))
        .collect();
    assert_eq!(
        roles,
        [
            ("pg-test-1", Some(&Role::Offline)),
            ("pg-test-2", Some(&Role::Primary)),
            ("pg-test-3", Some(&Role::Replica)),
        ]
    );

    // Consul still names the dead member primary: the disagreement the target files'
    // fix opens with it is Consul being behind, counted as such, not a hazard.
    let fleet = Fleet::build(vec![
        consul(&["primary", "replica", "replica"]),
        targets(dir.path()),
        live(&[None, Some("primary"), Some("replica")]),
    ]);
    let p = plan_member(&fleet, "pg-test-2", SourceKind::Live).await;
    assert_eq!(names(&p), ["pg-test-2", "pg-test-1"]);
    let o = p.outcome.as_ref().unwrap();
    assert_eq!(
        kinds(&o.creates),
        ["role-mismatch pg-test-1", "role-mismatch pg-test-2"]
    );
    assert!(p.hazards.is_empty(), "{:?}", p.hazards);
    assert!(
        p.notes
            .iter()
            .any(|n| n.starts_with("role-mismatch pg-test-1 appears because consul still has")),
        "{:?}",
        p.notes
    );

    // Without a live primary nothing says what the dead member is: no role is planned.
    let fleet = Fleet::build(vec![
        targets(dir.path()),
        live(&[None, Some("replica"), Some("replica")]),
    ]);
    let p = plan_member(&fleet, "pg-test-1", SourceKind::Live).await;
    assert!(p.is_empty(), "{:?}", p.steps);
}

#[tokio::test]
async fn a_split_brain_is_refused_unless_overridden() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = Fleet::build(vec![
        targets(dir.path()),
        live(&[Some("primary"), Some("primary"), Some("replica")]),
    ]);
    for authority in [SourceKind::Live, SourceKind::Inventory] {
        let err = plan_for(
            &fleet,
            Some(&one("pg-test-2")),
            authority,
            &PlanOptions::default(),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("split-brain in pg-test: pg-test-1, pg-test-2 are all primary")
                && err.contains("fence the old primary first")
                && err.contains("--override-split-brain"),
            "{err}"
        );
    }
    let opts = PlanOptions {
        override_split_brain: true,
        ..PlanOptions::default()
    };
    let p = plan_for(&fleet, Some(&one("pg-test-2")), SourceKind::Live, &opts)
        .await
        .unwrap();
    assert_eq!(p.hazards[0].kind, HazardKind::SplitBrain);
}

#[tokio::test]
async fn stale_data_never_drives_a_plan() {
    let dir = tempfile::tempdir().unwrap();
    let mut stale = consul(&["replica", "primary", "replica"]);
    stale.report.stale = true;
    let fleet = Fleet::build(vec![stale, targets(dir.path())]);
    let err = plan_for(
        &fleet,
        Some(&one("pg-test-2")),
        SourceKind::Consul,
        &PlanOptions::default(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("not planning on stale data: consul's latest read failed"),
        "{err}"
    );
    assert_eq!(
        stale_reason(&fleet, &sources_for(Destination::Targets, None)).as_deref(),
        Some("consul's latest read failed; what is shown is from an earlier read")
    );
    assert_eq!(
        stale_reason(&fleet, &[SourceKind::Targets, SourceKind::Inventory]),
        None
    );
}

#[tokio::test]
async fn an_authority_with_findings_of_its_own_is_named_in_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let split = |svc: &str, role: &str| {
        Observation::test(SourceKind::Consul, "pg-test")
            .seq(2)
            .instance("pg-test-2")
            .role(role)
            .ip("10.0.0.2")
            .consul_service(svc, 6432)
    };
    let mut consul = consul(&["replica", "primary", "replica"]);
    consul
        .observations
        .push(std::sync::Arc::new(split("pgbouncer", "replica")));
    let fleet = Fleet::build(vec![consul, targets(dir.path())]);
    let p = plan_cluster(
        &fleet,
        "pg-test",
        Some(&one("pg-test-2")),
        Destination::Targets,
        None,
        &ctx(),
        &PlanOptions::default(),
    )
    .await
    .unwrap();
    assert_eq!(p.authority, SourceKind::Consul, "the default");
    assert!(
        p.warnings
            .iter()
            .any(|w| w
                .starts_with("consul has findings of its own for pg-test-2 (service-role-split)")),
        "{:?}",
        p.warnings
    );
}

#[tokio::test]
async fn a_disagreement_with_a_place_still_behind_is_explained_not_a_hazard() {
    let dir = tempfile::tempdir().unwrap();
    // A switchover nobody followed: Consul and the target files name seq 1, live seq 2.
    let fleet = Fleet::build(vec![
        consul(&["primary", "replica", "replica"]),
        targets(dir.path()),
        live(&[Some("replica"), Some("primary"), Some("replica")]),
    ]);
    let p = plan_member(&fleet, "pg-test-2", SourceKind::Live).await;
    let o = p.outcome.as_ref().unwrap();
    assert_eq!(
        kinds(&o.creates),
        ["role-mismatch pg-test-1", "role-mismatch pg-test-2"]
    );
    assert!(p.hazards.is_empty(), "{:?}", p.hazards);
    assert!(
        p.notes.iter().any(|n| n
            .starts_with("role-mismatch pg-test-2 appears because consul still has a role the live roles do not give it")),
        "{:?}",
        p.notes
    );
}
