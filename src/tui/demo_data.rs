//! The demo fleet as the UI sees it, with every run-specific name fixed, for screen tests
//! and the screenshot generator (both need the same bytes on every run).

use crate::demo::Demo;
use crate::fleet::Fleet;
use crate::observation::{Origin, SourceKind, SourceOutput, SourceReport};
use crate::report::CheckResult;
use anyhow::Context;
use std::path::PathBuf;

/// The directory name that replaces the demo's temporary directory.
pub const DEMO_DIR: &str = "/demo";
/// The URL that replaces the simulator's random loopback port.
pub const DEMO_URL: &str = "http://consul.demo";

/// Reads the demo fleet the way `roster demo` does, with its paths and port replaced by
/// [`DEMO_DIR`] and [`DEMO_URL`].
pub async fn demo_outputs() -> anyhow::Result<Vec<SourceOutput>> {
    let demo = Demo::start().await.context("starting the demo")?;
    let settings = crate::config::resolve(&demo.source_args(), &|_| None)
        .context("resolving the demo settings")?;
    let mut outputs = crate::gather::gather(&settings).await.outputs;
    let dir = demo
        .inventory_path()
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let url = demo.server().url();
    let url = url.trim_end_matches('/').to_string();
    demo.stop().await;
    let fix = |s: &str| {
        if dir.is_empty() {
            s.replace(&url, DEMO_URL)
        } else {
            s.replace(&dir, DEMO_DIR).replace(&url, DEMO_URL)
        }
    };
    for out in &mut outputs {
        out.report.location = fix(&out.report.location);
        for e in out.report.errors.iter_mut().chain(&mut out.report.notes) {
            *e = fix(e);
        }
        for v in out.report.facts.values_mut() {
            *v = fix(v);
        }
        for o in &mut out.observations {
            match &mut std::sync::Arc::make_mut(o).origin {
                Origin::Targets(t) => t.file = PathBuf::from(fix(&t.file.display().to_string())),
                Origin::Inventory(i) => i.file = PathBuf::from(fix(&i.file.display().to_string())),
                _ => {}
            }
        }
    }
    Ok(outputs)
}

/// The demo fleet with its findings.
pub async fn demo_result() -> anyhow::Result<CheckResult> {
    Ok(CheckResult::new(
        Fleet::build(demo_outputs().await?),
        Vec::new(),
    ))
}

/// The demo fleet as it looks when the inventory does not parse.
pub async fn demo_with_broken_inventory() -> anyhow::Result<CheckResult> {
    let outputs = demo_outputs()
        .await?
        .into_iter()
        .map(|out| {
            if out.report.kind != SourceKind::Inventory {
                return out;
            }
            let mut r = SourceReport::new(SourceKind::Inventory, out.report.location);
            r.error(format!(
                "{DEMO_DIR}/pigsty.yml:3:7: mapping values are not allowed here"
            ));
            SourceOutput::new(r, Vec::new())
        })
        .collect();
    Ok(CheckResult::new(Fleet::build(outputs), Vec::new()))
}

/// The demo fleet plus a live read in which pg-web's manual switchover is visible: seq 3
/// is the primary now, every place still says seq 1.
pub async fn demo_with_live_switchover() -> anyhow::Result<CheckResult> {
    use crate::observation::{
        LiveOrigin, Observation, Origin, RoleClaim, SourceKind, SourceReport,
    };
    let mut outputs = demo_outputs().await?;
    let member = |seq: u32, role: &str, standbys: &[&str]| Observation {
        source: SourceKind::Live,
        cluster: "pg-web".into(),
        seq: Some(seq),
        instance: None,
        service: None,
        role: Some(RoleClaim::new(role, "pg_is_in_recovery()")),
        ip: Some(format!("127.10.10.4{seq}")),
        origin: Origin::Live(Box::new(LiveOrigin {
            address: format!("127.10.10.4{seq}:5432"),
            via: "postgres",
            reachable: true,
            timeline: Some(2),
            lag_bytes: Some(0),
            standbys: standbys.iter().map(|s| s.to_string()).collect(),
            ..LiveOrigin::default()
        })),
    };
    outputs.push(crate::observation::SourceOutput::new(
        SourceReport::new(SourceKind::Live, "3 instances"),
        vec![
            member(1, "replica", &[]),
            member(2, "replica", &[]),
            member(3, "primary", &["127.10.10.41", "127.10.10.42"]),
        ],
    ));
    Ok(CheckResult::new(
        crate::fleet::Fleet::build(outputs),
        Vec::new(),
    ))
}
