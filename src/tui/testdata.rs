//! Fleets for tests: the demo fleet read through the real sources, and synthetic ones.

use crate::fleet::Fleet;
use crate::observation::{Observation, SourceKind, SourceOutput};
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

/// [`small`] after a fix that went too far: the target files name both of pg-a's
/// members primary.
pub fn small_two_primaries() -> CheckResult {
    let mut parts = small_parts("primary");
    for (kind, list) in &mut parts {
        if *kind == SourceKind::Targets {
            for o in list.iter_mut() {
                if o.instance.as_deref() == Some("pg-a-2") {
                    *o = o.clone().role("primary");
                }
            }
        }
    }
    build(parts)
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
        Observation::test(SourceKind::Consul, "pg-b")
            .seq(seq)
            .instance(ins)
            .role(role)
            .ip(ip)
    })
    .collect();
    parts.push((SourceKind::Consul, consul));
    build(parts)
}

/// The sources of [`small`], with the role the target files give pg-a-1.
fn small_parts(a1_targets_role: &str) -> Vec<(SourceKind, Vec<Observation>)> {
    let inv = vec![
        Observation::test(SourceKind::Inventory, "pg-a")
            .seq(1)
            .role("primary")
            .ip("10.0.0.1"),
        Observation::test(SourceKind::Inventory, "pg-a")
            .seq(2)
            .role("replica")
            .ip("10.0.0.2"),
        Observation::test(SourceKind::Inventory, "pg-b")
            .seq(1)
            .role("primary")
            .ip("10.0.1.1"),
        Observation::test(SourceKind::Inventory, "pg-b")
            .seq(2)
            .role("replica")
            .ip("10.0.1.2"),
        Observation::test(SourceKind::Inventory, "pg-c")
            .seq(1)
            .role("replica")
            .ip("10.0.2.1"),
    ];
    let tgt = vec![
        Observation::test(SourceKind::Targets, "pg-a")
            .seq(1)
            .instance("pg-a-1")
            .role(a1_targets_role)
            .ip("10.0.0.1"),
        Observation::test(SourceKind::Targets, "pg-a")
            .seq(2)
            .instance("pg-a-2")
            .role("replica")
            .ip("10.0.0.2"),
        Observation::test(SourceKind::Targets, "pg-b")
            .seq(1)
            .instance("pg-b-1")
            .role("primary")
            .ip("10.0.1.1"),
        Observation::test(SourceKind::Targets, "pg-b")
            .seq(2)
            .instance("pg-b-2")
            .role("replica")
            .ip("10.0.1.2"),
        Observation::test(SourceKind::Targets, "pg-c")
            .seq(1)
            .instance("pg-c-1")
            .role("replica")
            .ip("10.0.2.1"),
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
            inv.push(
                Observation::test(SourceKind::Inventory, &name)
                    .seq(seq)
                    .role(role)
                    .ip(&ip),
            );
        }
    }
    build(vec![(SourceKind::Inventory, inv)])
}

fn build(parts: Vec<(SourceKind, Vec<Observation>)>) -> CheckResult {
    let outputs = parts
        .into_iter()
        .map(|(k, o)| SourceOutput::test(k, o))
        .collect();
    CheckResult::new(Fleet::build(outputs), Vec::new())
}

/// Three datacenters, nearest first, read at once: dc1 holds pg-a (its target file names
/// pg-a-2 primary too) and pg-b; dc2 holds a pg-a of its own (a name dc1 also
/// registers, not a standby pair) and pg-c (the target file calls its primary a
/// replica); dc3 cannot be reached. The target files are
/// shared, and name pg-d, which no Consul read holds: while dc3 is not read, pg-d has no
/// datacenter.
pub fn three_datacenters() -> CheckResult {
    use crate::fleet::Datacenter;
    let consul = |dc: &str, members: &[(&str, u32, &str, &str)]| {
        let mut out = SourceOutput::test(
            SourceKind::Consul,
            members
                .iter()
                .map(|(c, seq, role, ip)| {
                    Observation::test(SourceKind::Consul, c)
                        .seq(*seq)
                        .instance(&format!("{c}-{seq}"))
                        .role(role)
                        .ip(ip)
                })
                .collect(),
        );
        out.report.datacenter = Some(dc.to_string());
        out
    };
    let mut dc3 = consul("dc3", &[]);
    dc3.report
        .error("Unexpected response code: 500 (No path to datacenter)");
    let targets = [
        ("pg-a", 1, "primary", "10.1.0.1"),
        ("pg-a", 2, "primary", "10.1.0.2"),
        ("pg-b", 1, "primary", "10.1.1.1"),
        ("pg-a", 1, "primary", "10.2.0.1"),
        ("pg-c", 1, "replica", "10.2.2.1"),
        ("pg-d", 1, "primary", "10.3.0.1"),
    ]
    .into_iter()
    .map(|(c, seq, role, ip)| {
        Observation::test(SourceKind::Targets, c)
            .seq(seq)
            .instance(&format!("{c}-{seq}"))
            .role(role)
            .ip(ip)
    })
    .collect();
    let outputs = vec![
        consul(
            "dc1",
            &[
                ("pg-a", 1, "primary", "10.1.0.1"),
                ("pg-a", 2, "replica", "10.1.0.2"),
                ("pg-b", 1, "primary", "10.1.1.1"),
            ],
        ),
        consul(
            "dc2",
            &[
                ("pg-a", 1, "primary", "10.2.0.1"),
                ("pg-c", 1, "primary", "10.2.2.1"),
            ],
        ),
        dc3,
        SourceOutput::test(SourceKind::Targets, targets),
    ];
    let dcs: Vec<Datacenter> = ["dc1", "dc2", "dc3"]
        .into_iter()
        .map(|name| Datacenter {
            name: name.into(),
            standby_of: Vec::new(),
        })
        .collect();
    CheckResult::new(crate::estate::build(outputs, &dcs), Vec::new())
}
