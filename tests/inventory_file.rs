//! Behaviour of the Pigsty inventory source over real files on disk.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use proptest::prelude::*;
use roster::identity::Role;
use roster::observation::{InventoryOrigin, Observation, Origin, SourceKind, SourceOutput};
use roster::source::inventory::{parse_inventory, read_inventory};
use std::fs;
use std::path::{Path, PathBuf};

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(format!(
        "{}/tests/fixtures/inventory/{rel}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn origin(o: &Observation) -> &InventoryOrigin {
    match &o.origin {
        Origin::Inventory(i) => i,
        other => panic!("not an inventory origin: {other:?}"),
    }
}

/// (cluster, seq, role, ip, group, line) of every observation.
type Row = (
    String,
    Option<u32>,
    Option<String>,
    Option<String>,
    String,
    usize,
);

fn rows(out: &SourceOutput) -> Vec<Row> {
    out.observations
        .iter()
        .map(|o| {
            (
                o.cluster.clone(),
                o.seq,
                o.role.as_ref().map(|r| r.role.to_string()),
                o.ip.clone(),
                origin(o).group.clone(),
                origin(o).line,
            )
        })
        .collect()
}

fn row(cls: &str, seq: Option<u32>, role: Option<&str>, ip: &str, group: &str, line: usize) -> Row {
    (
        cls.to_string(),
        seq,
        role.map(str::to_string),
        Some(ip.to_string()),
        group.to_string(),
        line,
    )
}

fn var<'a>(o: &'a Observation, name: &str) -> Option<&'a str> {
    origin(o).vars.get(name).map(String::as_str)
}

#[test]
fn pigsty_inventory_declares_every_instance() {
    let path = fixture("pigsty.yml");
    let out = read_inventory(&path);
    assert!(out.report.is_ok(), "{:?}", out.report.errors);
    assert_eq!(out.report.kind, SourceKind::Inventory);
    assert_eq!(out.report.location, path.display().to_string());
    assert_eq!(
        rows(&out),
        vec![
            row(
                "pg-meta",
                Some(1),
                Some("primary"),
                "10.10.10.10",
                "pg-meta",
                13
            ),
            row(
                "pg-test",
                Some(1),
                Some("primary"),
                "10.10.10.11",
                "pg-test",
                18
            ),
            row(
                "pg-test",
                Some(2),
                Some("replica"),
                "10.10.10.12",
                "pg-test",
                19
            ),
            row(
                "pg-test",
                Some(3),
                Some("offline"),
                "10.10.10.13",
                "pg-test",
                20
            ),
        ]
    );
    let o = &out.observations[1];
    assert_eq!(o.source, SourceKind::Inventory);
    assert_eq!(o.role.as_ref().map(|r| r.from), Some("pg_role"));
    assert_eq!(o.instance, None, "pg_instance is only reported when set");
    assert_eq!(origin(o).host, "10.10.10.11");
    assert_eq!(origin(o).file, path);
    assert_eq!(var(o, "version"), Some("v1.5.1"));
    assert_eq!(var(o, "pg_version"), Some("14"));
    assert_eq!(var(o, "pg_seq"), Some("1"));
    assert_eq!(
        var(o, "pg_users"),
        Some(r#"[{"name":"test","password":"test","roles":["dbrole_admin"]}]"#)
    );
    assert_eq!(var(&out.observations[2], "pg_seq"), Some("2"));
    assert_eq!(out.report.facts.get("hosts").map(String::as_str), Some("5"));
}

#[test]
fn infra_group_is_ignored() {
    let out = read_inventory(&fixture("pigsty.yml"));
    assert!(out.observations.iter().all(|o| origin(o).group != "meta"));
    assert!(
        out.observations
            .iter()
            .all(|o| var(o, "nginx_port").is_none())
    );
    let nested = read_inventory(&fixture("nested.yml"));
    assert!(
        nested
            .observations
            .iter()
            .all(|o| origin(o).host != "10.20.0.1")
    );
}

#[test]
fn nested_children_inherit_and_override() {
    let out = read_inventory(&fixture("nested.yml"));
    assert!(out.report.is_ok(), "{:?}", out.report.errors);
    assert_eq!(
        rows(&out),
        vec![
            row(
                "pg-alpha",
                Some(1),
                Some("primary"),
                "10.20.1.1",
                "pg-alpha",
                18
            ),
            row(
                "pg-alpha",
                Some(2),
                Some("replica"),
                "db-alpha-2.example",
                "pg-alpha",
                22
            ),
            row(
                "pg-alpha",
                Some(3),
                Some("replica"),
                "10.20.1.3",
                "pg-alpha",
                24
            ),
            row(
                "pg-beta",
                Some(1),
                Some("primary"),
                "10.20.1.3",
                "pg-beta",
                31
            ),
        ]
    );
    let alpha1 = &out.observations[0];
    assert_eq!(
        var(alpha1, "region"),
        Some("west"),
        "child group overrides all.vars"
    );
    assert_eq!(
        var(alpha1, "pg_exporter_port"),
        Some("9630"),
        "inherited from pgsql"
    );
    assert_eq!(
        var(alpha1, "pg_role"),
        Some("primary"),
        "host var overrides the global"
    );
    assert_eq!(var(&out.observations[3], "region"), Some("north"));
    assert!(
        var(alpha1, "prometheus_port").is_none(),
        "sibling vars do not leak"
    );
}

#[test]
fn non_ip_host_uses_ansible_host_and_ip_keys_win() {
    let out = read_inventory(&fixture("nested.yml"));
    let alpha1 = &out.observations[0];
    assert_eq!(origin(alpha1).host, "db-alpha-1.example");
    assert_eq!(alpha1.ip.as_deref(), Some("10.20.1.1"));
    let alpha2 = &out.observations[1];
    assert_eq!(
        alpha2.ip.as_deref(),
        Some("db-alpha-2.example"),
        "no ansible_host: the key"
    );
    let alpha3 = &out.observations[2];
    assert_eq!(
        alpha3.ip.as_deref(),
        Some("10.20.1.3"),
        "an IP key beats ansible_host"
    );
    assert_eq!(alpha3.instance.as_deref(), Some("pg-alpha-3"));
}

#[test]
fn host_in_two_pg_groups_gives_two_observations() {
    let out = read_inventory(&fixture("nested.yml"));
    let same: Vec<&str> = out
        .observations
        .iter()
        .filter(|o| origin(o).host == "10.20.1.3")
        .map(|o| o.cluster.as_str())
        .collect();
    assert_eq!(same, vec!["pg-alpha", "pg-beta"]);
}

#[test]
fn broken_yaml_is_an_error_with_file_line_column() {
    let path = fixture("broken.yml");
    let out = read_inventory(&path);
    assert!(out.report.failed_entirely());
    assert_eq!(out.report.errors.len(), 1);
    let want = format!("{}:6:11: ", path.display());
    assert!(
        out.report.errors[0].starts_with(&want),
        "{:?}",
        out.report.errors
    );
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let err = parse_inventory(&path, &text).err();
    assert!(err.is_some_and(|e| e.to_string().starts_with(&want)));
}

#[test]
fn bad_values_keep_the_observation_and_name_their_place() {
    let path = fixture("bad-values.yml");
    let out = read_inventory(&path);
    let p = path.display();
    assert_eq!(
        out.report.errors,
        vec![
            format!("{p}:6:30: host \"10.30.0.1\": pg_seq \"one\" is not a non-negative integer"),
            format!("{p}:7:30: host \"10.30.0.2\": pg_seq \"-2\" is not a non-negative integer"),
            format!("{p}:8:42: host \"10.30.0.3\": pg_role is a collection, expected a scalar"),
        ]
    );
    let seqs: Vec<Option<u32>> = out.observations.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, vec![None, None, Some(3), Some(5)]);
    assert_eq!(
        out.observations[0].role.as_ref().map(|r| &r.role),
        Some(&Role::Primary)
    );
    assert_eq!(out.report.notes.len(), 1, "{:?}", out.report.notes);
    assert!(out.report.notes[0].contains("repeated at line 10"));
}

#[test]
fn scalar_types_are_all_accepted_for_seq() {
    let text = "pg-x:\n  vars: {pg_cluster: pg-x}\n  hosts:\n    a: {pg_seq: 1}\n    b: {pg_seq: \"2\"}\n    c: {pg_seq: '03'}\n    d: {pg_seq: 04}\n    e: {pg_seq: !!str 5}\n";
    let obs = parse_inventory(Path::new("x.yml"), text).unwrap_or_else(|e| panic!("{e}"));
    let seqs: Vec<Option<u32>> = obs.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, vec![Some(1), Some(2), Some(3), Some(4), Some(5)]);
    assert_eq!(
        var(&obs[3], "pg_seq"),
        Some("04"),
        "spelling kept for leading zeros"
    );
}

#[test]
fn missing_and_directory_paths_are_errors() {
    let missing = fixture("nope.yml");
    let out = read_inventory(&missing);
    assert_eq!(
        out.report.errors,
        vec![format!("{}: no such file", missing.display())]
    );
    let dir = fixture("");
    let out = read_inventory(&dir);
    assert!(
        out.report.errors[0].ends_with("is a directory, expected an inventory file"),
        "{:?}",
        out.report.errors
    );
}

#[test]
fn unreadable_inventory_is_an_error() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("pigsty.yml");
    fs::write(&path, "all: {}\n").unwrap_or_else(|e| panic!("{e}"));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap_or_else(|e| panic!("{e}"));
    if fs::read(&path).is_ok() {
        eprintln!(
            "SKIPPED assertion: permissions do not block reads here (running as root); \
             cannot check the unreadable-file error"
        );
        return;
    }
    let out = read_inventory(&path);
    let want = format!("{}: cannot read: ", path.display());
    assert!(
        out.report.errors[0].starts_with(&want),
        "{:?}",
        out.report.errors
    );
}

#[test]
fn deep_nesting_hits_a_limit_not_the_stack() {
    let block: String = (0..300)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    let flow = format!(
        "all:\n  vars:\n    x: {}{}\n",
        "{a: ".repeat(100_000),
        "}".repeat(100_000)
    );
    for text in [block, flow] {
        let err = parse_inventory(Path::new("deep.yml"), &text).err();
        let Some(err) = err else {
            panic!("deep nesting must fail")
        };
        let msg = err.to_string();
        assert!(msg.starts_with("deep.yml:"), "{msg}");
        assert!(msg.contains("nesting deeper than 48 levels"), "{msg}");
    }
}

#[test]
fn alias_bombs_hit_a_limit() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let prev = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
        ));
    }
    let err = parse_inventory(Path::new("bomb.yml"), &text).err();
    let msg = err.map(|e| e.to_string()).unwrap_or_default();
    assert!(msg.starts_with("bomb.yml:"), "{msg}");
    assert!(msg.contains("limit"), "{msg}");
}

/// Fragments shaped like inventories, so parsing gets past the first token.
fn fragment() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("all".to_string()),
        Just("children".to_string()),
        Just("hosts".to_string()),
        Just("vars".to_string()),
        Just("pg_cluster".to_string()),
        Just("pg_seq".to_string()),
        Just("pg_role".to_string()),
        Just("ansible_host".to_string()),
        Just("10.0.0.1".to_string()),
        Just("pg-test".to_string()),
        "[a-z0-9_.-]{0,6}",
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("  ".to_string()),
        Just("- ".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(", ".to_string()),
        Just("'".to_string()),
        Just("\"".to_string()),
        Just("~".to_string()),
        Just("&x ".to_string()),
        Just("*x".to_string()),
        Just("<<: ".to_string()),
        Just("!!str ".to_string()),
        Just("# c\n".to_string()),
    ];
    prop::collection::vec(token, 0..80).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn parse_never_panics_on_arbitrary_text(text in ".*") {
        let _ = parse_inventory(Path::new("p.yml"), &text);
    }

    #[test]
    fn parse_never_panics_on_plausible_fragments(text in fragment()) {
        let _ = parse_inventory(Path::new("p.yml"), &text);
    }

    #[test]
    fn every_declared_host_is_observed_with_its_seq(
        hosts in prop::collection::vec((1u8..255, 1u32..100, any::<bool>()), 1..10)
    ) {
        let mut text = String::from("all:\n  children:\n    pg-p:\n      vars: {pg_cluster: pg-p}\n      hosts:\n");
        let mut seen = std::collections::BTreeSet::new();
        let mut expected = Vec::new();
        for (octet, seq, quoted) in &hosts {
            if !seen.insert(*octet) {
                continue;
            }
            let seq_text = if *quoted { format!("'{seq}'") } else { seq.to_string() };
            text.push_str(&format!("        10.0.0.{octet}: {{pg_seq: {seq_text}}}\n"));
            expected.push((format!("10.0.0.{octet}"), Some(*seq), 6 + expected.len()));
        }
        let obs = parse_inventory(Path::new("p.yml"), &text);
        prop_assert!(obs.is_ok(), "{:?}", obs.err().map(|e| e.to_string()));
        let got: Vec<(String, Option<u32>, usize)> = obs
            .unwrap_or_default()
            .iter()
            .map(|o| (o.ip.clone().unwrap_or_default(), o.seq, origin(o).line))
            .collect();
        prop_assert_eq!(got, expected);
    }
}
