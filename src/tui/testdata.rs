//! Fleets for tests: the demo fleet read through the real sources, and synthetic ones.

use crate::fleet::Fleet;
use crate::fleet::tests::obs;
use crate::observation::{SourceKind, SourceOutput, SourceReport};
use crate::report::CheckResult;

/// The demo fleet with its findings, names fixed (see [`crate::tui::demo_data`]).
pub async fn demo_result() -> CheckResult {
    match crate::tui::demo_data::demo_result().await {
        Ok(r) => r,
        Err(e) => panic!("demo fleet: {e:#}"),
    }
}

/// The demo fleet with the inventory unreadable.
pub async fn demo_with_broken_inventory() -> CheckResult {
    match crate::tui::demo_data::demo_with_broken_inventory().await {
        Ok(r) => r,
        Err(e) => panic!("demo fleet: {e:#}"),
    }
}

/// A small fleet: `pg-a` (a-1 disagrees on its role), `pg-b` (clean) and `pg-c` (no primary).
pub fn small() -> CheckResult {
    build(small_parts("replica"))
}

/// [`small`] after pg-a-1 was re-registered in the target files: its role agrees.
pub fn small_fixed() -> CheckResult {
    build(small_parts("primary"))
}

/// [`small`] with Consul records for pg-b's members (as the inventory has them).
pub fn small_with_consul() -> CheckResult {
    let mut parts = small_parts("replica");
    let consul = [
        (1, "pg-b-1", "primary", "10.0.1.1"),
        (2, "pg-b-2", "replica", "10.0.1.2"),
    ]
    .into_iter()
    .map(|(seq, ins, role, ip)| {
        obs(
            SourceKind::Consul,
            "pg-b",
            Some(seq),
            Some(ins),
            Some(role),
            ip,
        )
    })
    .collect();
    parts.push((SourceKind::Consul, consul));
    build(parts)
}

/// The sources of [`small`], with the role the target files give pg-a-1.
fn small_parts(a1_targets_role: &str) -> Vec<(SourceKind, Vec<crate::observation::Observation>)> {
    let inv = vec![
        obs(
            SourceKind::Inventory,
            "pg-a",
            Some(1),
            None,
            Some("primary"),
            "10.0.0.1",
        ),
        obs(
            SourceKind::Inventory,
            "pg-a",
            Some(2),
            None,
            Some("replica"),
            "10.0.0.2",
        ),
        obs(
            SourceKind::Inventory,
            "pg-b",
            Some(1),
            None,
            Some("primary"),
            "10.0.1.1",
        ),
        obs(
            SourceKind::Inventory,
            "pg-b",
            Some(2),
            None,
            Some("replica"),
            "10.0.1.2",
        ),
        obs(
            SourceKind::Inventory,
            "pg-c",
            Some(1),
            None,
            Some("replica"),
            "10.0.2.1",
        ),
    ];
    let tgt = vec![
        obs(
            SourceKind::Targets,
            "pg-a",
            Some(1),
            Some("pg-a-1"),
            Some(a1_targets_role),
            "10.0.0.1",
        ),
        obs(
            SourceKind::Targets,
            "pg-a",
            Some(2),
            Some("pg-a-2"),
            Some("replica"),
            "10.0.0.2",
        ),
        obs(
            SourceKind::Targets,
            "pg-b",
            Some(1),
            Some("pg-b-1"),
            Some("primary"),
            "10.0.1.1",
        ),
        obs(
            SourceKind::Targets,
            "pg-b",
            Some(2),
            Some("pg-b-2"),
            Some("replica"),
            "10.0.1.2",
        ),
        obs(
            SourceKind::Targets,
            "pg-c",
            Some(1),
            Some("pg-c-1"),
            Some("replica"),
            "10.0.2.1",
        ),
    ];
    vec![(SourceKind::Inventory, inv), (SourceKind::Targets, tgt)]
}

/// A generated fleet of `clusters` clusters of `per` clean instances each.
pub fn large(clusters: usize, per: u32) -> CheckResult {
    let mut inv = Vec::new();
    for c in 0..clusters {
        let name = format!("pg-{c:05}");
        for seq in 1..=per {
            let role = if seq == 1 { "primary" } else { "replica" };
            let ip = format!("10.{}.{}.{seq}", c / 250, c % 250);
            inv.push(obs(
                SourceKind::Inventory,
                &name,
                Some(seq),
                None,
                Some(role),
                &ip,
            ));
        }
    }
    build(vec![(SourceKind::Inventory, inv)])
}

fn build(parts: Vec<(SourceKind, Vec<crate::observation::Observation>)>) -> CheckResult {
    let outputs = parts
        .into_iter()
        .map(|(k, o)| SourceOutput::new(SourceReport::new(k, "test"), o))
        .collect();
    CheckResult::new(Fleet::build(outputs), Vec::new())
}
