//! Fleets for tests: the demo fleet read through the real sources, and synthetic ones.

use crate::fleet::Fleet;
use crate::fleet::tests::obs;
use crate::observation::{Origin, SourceKind, SourceOutput, SourceReport};
use crate::report::CheckResult;
use std::path::PathBuf;

/// Reads the demo fleet the way `roster demo` does; paths and the port are replaced by
/// fixed names so that screens do not change from run to run.
pub async fn demo_outputs() -> Vec<SourceOutput> {
    let demo = match crate::demo::Demo::start().await {
        Ok(d) => d,
        Err(e) => panic!("demo did not start: {e:#}"),
    };
    let settings = match crate::config::resolve(&demo.source_args(), &|_| None) {
        Ok(s) => s,
        Err(e) => panic!("demo settings: {e}"),
    };
    let mut outputs = crate::gather::gather(&settings).await.outputs;
    let dir = demo
        .inventory_path()
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let url = demo.server().url().to_string();
    let url = url.trim_end_matches('/').to_string();
    demo.stop().await;
    let fix = |s: &str| s.replace(&dir, "/demo").replace(&url, "http://consul.demo");
    for out in &mut outputs {
        out.report.location = fix(&out.report.location);
        for v in out.report.facts.values_mut() {
            *v = fix(v);
        }
        for o in &mut out.observations {
            match &mut o.origin {
                Origin::Targets(t) => t.file = PathBuf::from(fix(&t.file.display().to_string())),
                Origin::Inventory(i) => i.file = PathBuf::from(fix(&i.file.display().to_string())),
                _ => {}
            }
        }
    }
    outputs
}

/// The demo fleet with its findings.
pub async fn demo_result() -> CheckResult {
    CheckResult::new(Fleet::build(demo_outputs().await), Vec::new())
}

/// The demo fleet with the inventory unreadable.
pub async fn demo_with_broken_inventory() -> CheckResult {
    let outputs = demo_outputs()
        .await
        .into_iter()
        .map(|out| {
            if out.report.kind != SourceKind::Inventory {
                return out;
            }
            let mut r = SourceReport::new(SourceKind::Inventory, out.report.location);
            r.error("/demo/pigsty.yml:3:7: mapping values are not allowed here");
            SourceOutput::new(r, Vec::new())
        })
        .collect();
    CheckResult::new(Fleet::build(outputs), Vec::new())
}

/// A small fleet: `pg-a` (a-1 disagrees on its role), `pg-b` (clean) and `pg-c` (no primary).
pub fn small() -> CheckResult {
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
            Some("replica"),
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
    build(vec![
        (SourceKind::Inventory, inv),
        (SourceKind::Targets, tgt),
    ])
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
