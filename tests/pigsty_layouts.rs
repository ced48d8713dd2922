//! Every layout Pigsty shipped, read as its playbooks and Prometheus read it: the
//! inventories and target trees of 0.x, 1.5 and 2.x/3.x under `tests/fixtures/layouts/`,
//! each describing one consistent fleet, give exactly that fleet and no finding.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::{findings, json, roster, stderr, stdout};
use roster::config::{SourceArgs, resolve};
use roster::drift;
use roster::gather::gather;
use roster::observation::{Origin, SourceKind, SourceOutput};
use roster::source::inventory::read_inventory;
use roster::source::targets::read_targets;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/layouts")
        .join(rel)
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// The settings of `--no-consul --targets ROOT --inventory FILE [--prometheus-config FILE]`.
fn args(release: &str, inventory: &str, prometheus: bool) -> SourceArgs {
    SourceArgs {
        no_consul: true,
        targets: vec![text(&fixture(&format!("{release}/targets")))],
        inventory: Some(fixture(inventory)),
        prometheus_config: prometheus.then(|| fixture(&format!("{release}/prometheus.yml"))),
        ..SourceArgs::default()
    }
}

/// Gathers a layout's sources as `roster check` does; returns the instance names (by
/// cluster, in fleet order), the findings and the targets source's notes.
async fn fleet_of(args: &SourceArgs) -> (Vec<String>, Vec<String>, Vec<String>) {
    let env = |k: &str| (k == "HOME").then(|| "/nonexistent-home".to_string());
    let settings = resolve(args, &env).unwrap();
    let g = gather(&settings).await;
    for o in &g.outputs {
        assert!(o.report.is_ok(), "{}: {:?}", o.report.kind, o.report.errors);
    }
    let names = g.fleet.instances().map(|i| i.name.clone()).collect();
    let found = drift::check(&g.fleet)
        .iter()
        .map(|f| format!("{} {}", f.kind.code(), f.message))
        .collect();
    let notes = g
        .fleet
        .source(SourceKind::Targets)
        .map(|r| r.notes.clone())
        .unwrap_or_default();
    (names, found, notes)
}

const V1_FLEET: [&str; 4] = ["pg-meta-1", "pg-test-1", "pg-test-2", "pg-test-3"];

const V3_FLEET: [&str; 12] = [
    "mx-mdw-1",
    "mx-seg1-1",
    "mx-seg1-2",
    "mx-seg2-1",
    "mx-seg2-2",
    "pg-citus0-0",
    "pg-citus1-0",
    "pg-citus1-1",
    "pg-meta-1",
    "pg-test-1",
    "pg-test-2",
    "pg-test-3",
];

#[tokio::test]
async fn every_release_line_is_one_consistent_fleet_with_or_without_prometheus_yml() {
    let cases: [(&str, &str, &[&str]); 4] = [
        ("v0", "v0/pigsty.yml", &V1_FLEET),
        ("v1", "v1/pigsty.yml", &V1_FLEET),
        ("v1", "group-only.yml", &V1_FLEET),
        ("v3", "v3/pigsty.yml", &V3_FLEET),
    ];
    for (release, inventory, fleet) in cases {
        for prometheus in [false, true] {
            let (names, found, _) = fleet_of(&args(release, inventory, prometheus)).await;
            let what = format!("{release} + {inventory}, prometheus.yml: {prometheus}");
            assert_eq!(names, fleet, "{what}");
            assert!(found.is_empty(), "{what}: {found:#?}");
        }
    }
}

#[tokio::test]
async fn the_per_job_tree_reads_pgsql_and_says_so() {
    let (_, _, notes) = fleet_of(&args("v3", "v3/pigsty.yml", false)).await;
    let root = text(&fixture("v3/targets"));
    assert_eq!(
        notes,
        [
            format!(
                "directory {root}: Pigsty per-job tree: read pgsql/ (10 target file(s)); \
                 patroni/ and ping/ corroborate; etcd/, infra/, minio/, node/, redis/ ignored"
            ),
            "7 corroborating group(s) checked against pgsql/: every one names an instance it holds"
                .to_string(),
        ]
    );
    let out = read_targets(&[root]);
    let clusters: std::collections::BTreeSet<&str> = out
        .observations
        .iter()
        .map(|o| o.cluster.as_str())
        .collect();
    for decoy in ["etcd", "infra", "minio", "redis-ms", "mx-sdw"] {
        assert!(!clusters.contains(decoy), "{decoy} read as a database");
    }
    assert!(out.observations.iter().all(|o| match &o.origin {
        Origin::Targets(t) => t.file.parent().unwrap().ends_with("pgsql"),
        _ => false,
    }));
    assert_eq!(out.report.facts["files"], "10");
    assert_eq!(out.report.facts["corroborating_files"], "7");
}

#[tokio::test]
async fn prometheus_yml_names_the_directory_and_decoys_outside_it_are_ignored() {
    // Not Pigsty's layout: read by the directory alone, the node job's groups become
    // instances; through the PostgreSQL job's own patterns, only targets/postgres/ is.
    let mut a = args("custom", "v1/pigsty.yml", false);
    let (names, found, _) = fleet_of(&a).await;
    assert!(names.contains(&"infra-1".to_string()), "{names:?}");
    assert!(!found.is_empty());

    a.prometheus_config = Some(fixture("custom/prometheus.yml"));
    let (names, found, _) = fleet_of(&a).await;
    assert_eq!(names, V1_FLEET);
    assert!(found.is_empty(), "{found:#?}");
    let env = |_: &str| None;
    let settings = resolve(&a, &env).unwrap();
    let postgres = text(&fixture("custom/targets/postgres/*.yml"));
    assert_eq!(settings.targets, std::slice::from_ref(&postgres));
    assert_eq!(
        settings.notes,
        [format!(
            "{}: reading what Prometheus job pgsql (in {}) reads there: {postgres}",
            text(&fixture("custom/targets")),
            text(&fixture("custom/prometheus.yml"))
        )]
    );
}

#[tokio::test]
async fn the_binary_reads_the_v3_fleet_through_prometheus_yml() {
    let home = tempfile::tempdir().unwrap();
    let out = roster(
        home.path(),
        &[
            "check".into(),
            "--no-consul".into(),
            "--targets".into(),
            text(&fixture("v3/targets")),
            "--inventory".into(),
            text(&fixture("v3/pigsty.yml")),
            "--prometheus-config".into(),
            text(&fixture("v3/prometheus.yml")),
            "-f".into(),
            "json".into(),
        ],
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc = json(&out);
    assert!(findings(&doc).is_empty(), "{doc:#}");
    let names: Vec<&str> = doc["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance"].as_str().unwrap())
        .collect();
    assert_eq!(names, V3_FLEET);
    let note = doc["notes"][0].as_str().unwrap();
    assert!(note.contains("Prometheus job pgsql"), "{note}");
    assert!(note.ends_with("targets/pgsql/*.yml"), "{note}");
    assert_eq!(doc["summary"]["instances"], 12);
}

#[test]
fn v3_inventory_reads_citus_and_pg_instances() {
    let out = read_inventory(&fixture("v3/pigsty.yml"));
    assert!(out.report.is_ok(), "{:?}", out.report.errors);
    let got: Vec<(String, Option<u32>, String, Option<u16>)> = out
        .observations
        .iter()
        .map(|o| {
            let Origin::Inventory(i) = &o.origin else {
                panic!("{o:?}")
            };
            (o.cluster.clone(), o.seq, i.host.clone(), i.port)
        })
        .collect();
    let row = |c: &str, s: u32, h: &str, p: Option<u16>| (c.to_string(), Some(s), h.to_string(), p);
    assert_eq!(
        got,
        [
            row("pg-meta", 1, "10.10.10.10", None),
            row("pg-test", 1, "10.10.10.11", None),
            row("pg-test", 2, "10.10.10.12", None),
            row("pg-test", 3, "10.10.10.13", None),
            row("pg-citus0", 0, "10.10.10.30", None),
            row("pg-citus1", 0, "10.10.10.31", None),
            row("pg-citus1", 1, "10.10.10.32", None),
            row("mx-mdw", 1, "10.10.10.20", None),
            row("mx-seg1", 1, "10.10.10.21", Some(6000)),
            row("mx-seg2", 2, "10.10.10.21", Some(6001)),
            row("mx-seg2", 1, "10.10.10.22", Some(6000)),
            row("mx-seg1", 2, "10.10.10.22", Some(6001)),
        ]
    );
}

#[test]
fn a_file_naming_no_cluster_is_one_clear_error() {
    let path = fixture("v3/prometheus.yml");
    let out = read_inventory(&path);
    assert!(out.report.failed_entirely());
    assert_eq!(
        out.report.errors,
        [format!(
            "no database clusters in {}: no host has pg_cluster; is this the Pigsty inventory?",
            path.display()
        )]
    );
    // What it found wrong on the way is kept, as notes.
    assert!(
        out.report.notes[0].ends_with("group \"rule_files\" is not a mapping; ignored"),
        "{:?}",
        out.report.notes
    );
}

/// Copies a fixture tree into `to`, leaving out the files `skip` names.
fn copy_tree(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if skip.contains(&name.as_str()) {
            continue;
        }
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to.join(&name), skip);
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

#[test]
fn a_corroborating_group_of_no_instance_is_a_note_not_an_instance() {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixture("v3/targets"), dir.path(), &[]);
    std::fs::write(
        dir.path().join("patroni/pg-test-9.yml"),
        "- labels: { cls: pg-test, ins: pg-test-9, ip: 10.10.10.19 }\n  targets: [ 10.10.10.19:8008 ]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("ping/broken.yml"), "- targets: [\n").unwrap();
    let out: SourceOutput = read_targets(&[text(dir.path())]);
    assert!(out.report.is_ok(), "{:?}", out.report.errors);
    assert_eq!(out.observations.len(), 12);
    let notes = &out.report.notes;
    assert!(
        notes.iter().any(|n| n.ends_with(
            "8 corroborating group(s) checked against pgsql/: 1 name(s) no instance it holds at that address"
        )),
        "{notes:?}"
    );
    let nine = format!(
        "{}:1 names pg-test-9 at 10.10.10.19",
        dir.path().join("patroni/pg-test-9.yml").display()
    );
    assert!(notes.contains(&nine), "{notes:?}");
    assert!(
        notes.iter().any(|n| n.contains("broken.yml")
            && n.ends_with("(a corroborating file, not read for identity)")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn add_missing_writes_the_instances_own_file_in_the_per_instance_layout() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets");
    copy_tree(&fixture("v1/targets"), &targets, &["pg-test-3.yml"]);
    let home = tempfile::tempdir().unwrap();
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap())];
    let sources = |cmd: &str| -> Vec<String> {
        vec![
            cmd.into(),
            "--no-consul".into(),
            "--targets".into(),
            text(&targets),
            "--inventory".into(),
            text(&fixture("v1/pigsty.yml")),
        ]
    };
    let mut fix = sources("fix");
    fix.extend(
        [
            "--instance",
            "pg-test-3",
            "--to",
            "targets",
            "--authority",
            "inventory",
            "--add-missing",
            "--yes",
        ]
        .map(String::from),
    );
    let out = roster(home.path(), &fix, &env).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let written = std::fs::read_to_string(targets.join("pgsql/pg-test-3.yml")).unwrap();
    assert_eq!(
        written,
        "# pg-test-3 [offline] @ 10.10.10.13\n\
         - labels: {cls: pg-test, ins: pg-test-3, ip: 10.10.10.13}\n  \
         targets: [10.10.10.13:9630, 10.10.10.13:9631, 10.10.10.13:8008]\n"
    );
    let sibling = std::fs::read_to_string(targets.join("pgsql/pg-test-2.yml")).unwrap();
    assert_eq!(
        sibling,
        std::fs::read_to_string(fixture("v1/targets/pgsql/pg-test-2.yml")).unwrap(),
        "the sibling the new file is modelled on is left alone"
    );
    let mut check = sources("check");
    check.extend(["-f", "json"].map(String::from));
    let doc = json(&roster(home.path(), &check, &env).await);
    assert!(findings(&doc).is_empty(), "{doc:#}");
}
