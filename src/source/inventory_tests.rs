//! Unit tests of the inventory walker: vars, seqs, `pg_instances`, group-only files.

use super::*;
use crate::identity::Role;

fn parse(text: &str) -> Parsed {
    parse_detailed(Path::new("inv.yml"), text).unwrap_or_else(|e| panic!("{e}"))
}

fn origin(o: &Observation) -> &InventoryOrigin {
    match &o.origin {
        Origin::Inventory(i) => i,
        other => panic!("not an inventory origin: {other:?}"),
    }
}

const PIGSTY: &str = "\
all:
  vars: {version: v1.5, pg_dbsu: postgres}
  children:
meta:
  hosts: {10.10.10.10: {}}
  vars: {nginx_port: 80}
pg-test:
  hosts:
    10.10.10.11: { pg_seq: 1, pg_role: primary }
    10.10.10.12:
      pg_seq: '2'
      pg_role: replica
    node-3.example:
      pg_seq: 3
      pg_role: offline
      ansible_host: 10.10.10.13
  vars: { pg_cluster: pg-test, pg_users: [{name: u, roles: [a, b]}] }
";

#[test]
fn pigsty_inventory_hosts_become_observations() {
    let p = parse(PIGSTY);
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!((p.groups, p.hosts), (3, 4));
    let obs = &p.observations;
    assert_eq!(obs.len(), 3);
    let seqs: Vec<Option<u32>> = obs.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, vec![Some(1), Some(2), Some(3)]);
    let ips: Vec<&str> = obs.iter().filter_map(|o| o.ip.as_deref()).collect();
    assert_eq!(ips, vec!["10.10.10.11", "10.10.10.12", "10.10.10.13"]);
    assert_eq!(obs[0].role.as_ref().map(|r| &r.role), Some(&Role::Primary));
    assert_eq!(obs[0].role.as_ref().map(|r| r.from), Some("pg_role"));
    assert_eq!(obs[0].instance, None);
    let o = origin(&obs[2]);
    assert_eq!(
        (o.line, o.group.as_str(), o.host.as_str()),
        (13, "pg-test", "node-3.example")
    );
    assert_eq!(o.vars.get("version").map(String::as_str), Some("v1.5"));
    assert_eq!(o.vars.get("pg_seq").map(String::as_str), Some("3"));
    assert_eq!(
        o.vars.get("pg_users").map(String::as_str),
        Some(r#"[{"name":"u","roles":["a","b"]}]"#)
    );
    assert!(!o.vars.contains_key("nginx_port"));
}

#[test]
fn bad_seq_keeps_the_observation_and_reports_the_place() {
    let p = parse(
        "pg-x:\n  hosts:\n    h1: {pg_seq: zero}\n    h2: {pg_seq: -1}\n    h3: {pg_seq: 1.5}\n    h4: {}\n  vars: {pg_cluster: pg-x}\n",
    );
    assert_eq!(p.observations.len(), 4);
    assert!(p.observations.iter().all(|o| o.seq.is_none()));
    assert_eq!(p.errors.len(), 4, "{:?}", p.errors);
    assert!(
        p.errors[0].starts_with("inv.yml:3:18: host \"h1\": pg_seq \"zero\" is not"),
        "{:?}",
        p.errors
    );
    assert!(p.errors[3].contains("pg_seq is missing"), "{:?}", p.errors);
}

#[test]
fn seq_zero_is_a_seq_as_in_pigsty() {
    let p = parse(
        "pg-x:\n  hosts:\n    h1: {pg_seq: 0}\n    h2: {pg_seq: '0'}\n  vars: {pg_cluster: pg-x}\n",
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let seqs: Vec<Option<u32>> = p.observations.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, [Some(0), Some(0)]);
}

#[test]
fn empty_cluster_and_collection_role_are_errors() {
    let p = parse(
        "g:\n  hosts:\n    a: {pg_cluster: '', pg_seq: 1}\n    b: {pg_cluster: c, pg_seq: 1, pg_role: [x]}\n",
    );
    assert_eq!(p.observations.len(), 1);
    assert_eq!(p.observations[0].role, None);
    assert_eq!(p.errors.len(), 2, "{:?}", p.errors);
}

#[test]
fn repeated_keys_last_wins_with_a_note() {
    let p =
        parse("g:\n  hosts:\n    a: {pg_seq: 1}\n    a: {pg_seq: 2}\n  vars: {pg_cluster: c}\n");
    assert_eq!(p.observations.len(), 1);
    assert_eq!(p.observations[0].seq, Some(2));
    assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
    assert!(p.notes[0].starts_with("inv.yml:3:5: key \"a\" repeated at line 4"));
}

#[test]
fn fatal_shapes() {
    for text in ["- a\n- b\n", "just text\n", "all: {children: [\n"] {
        let e = parse_detailed(Path::new("inv.yml"), text).err();
        let Some(e) = e else {
            panic!("{text:?} must fail")
        };
        assert!(e.to_string().starts_with("inv.yml:1:"), "{e}");
    }
    assert_eq!(parse("").observations.len(), 0);
    assert_eq!(parse("# nothing\n").observations.len(), 0);
}

#[test]
fn deep_vars_hit_the_limit() {
    let deep = format!(
        "all:\n  vars:\n    x: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = parse_detailed(Path::new("inv.yml"), &deep).err();
    let Some(e) = e else {
        panic!("deep vars must fail")
    };
    assert!(
        e.to_string().contains("nesting deeper than 48 levels"),
        "{e}"
    );
    let block: String = (0..200)
        .map(|i| format!("{}k{i}:\n", "  ".repeat(i)))
        .collect();
    let e = parse_detailed(Path::new("inv.yml"), &block).err();
    assert!(e.is_some_and(|e| e.to_string().contains("nesting deeper")));
}

#[test]
fn host_ip_prefers_ip_keys() {
    assert_eq!(host_ip("10.0.0.1", Some("10.9.9.9".into())), "10.0.0.1");
    assert_eq!(host_ip("::1", None), "::1");
    assert_eq!(host_ip("db1", Some("10.0.0.2".into())), "10.0.0.2");
    assert_eq!(host_ip("db1", None), "db1");
}

#[test]
fn rendering() {
    assert_eq!(render(&Node::Null), "null");
    assert_eq!(render(&Node::Bool(true)), "true");
    assert_eq!(render(&Node::Int(-3)), "-3");
    assert_eq!(render(&Node::Str("x y".into())), "x y");
    assert_eq!(render(&Node::Seq(Vec::new())), "[]");
}

#[test]
fn pg_instances_are_instances_of_their_own_at_their_port() {
    let p = parse(
        "\
mx-sdw:
  hosts:
    10.10.10.11:
      nodename: mx-sdw-1
      pg_instances:
        6000: { pg_cluster: mx-seg1, pg_seq: 1, pg_role: primary, pg_exporter_port: 9633 }
        6001: { pg_cluster: mx-seg2, pg_seq: 2, pg_role: replica, pg_exporter_port: 9634 }
    10.10.10.12:
      pg_seq: 1
      pg_role: primary
      pg_instances: {}
  vars: { pg_cluster: mx-sdw, gp_role: segment }
",
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let got: Vec<(&str, Option<u32>, Option<u16>, usize)> = p
        .observations
        .iter()
        .map(|o| (o.cluster.as_str(), o.seq, origin(o).port, origin(o).line))
        .collect();
    // The segment host itself states no seq: only its entries are instances; the
    // other host's empty `pg_instances` (Pigsty's default) leaves it an instance.
    assert_eq!(
        got,
        [
            ("mx-seg1", Some(1), Some(6000), 6),
            ("mx-seg2", Some(2), Some(6001), 7),
            ("mx-sdw", Some(1), None, 8),
        ]
    );
    let seg2 = origin(&p.observations[1]);
    assert_eq!(seg2.host, "10.10.10.11");
    assert_eq!(seg2.vars.get("pg_port").map(String::as_str), Some("6001"));
    assert_eq!(
        seg2.vars.get("nodename").map(String::as_str),
        Some("mx-sdw-1")
    );
    assert_eq!(
        seg2.vars.get("gp_role").map(String::as_str),
        Some("segment")
    );
    assert!(!seg2.vars.contains_key("pg_instances"));
    assert_eq!(p.observations[1].ip.as_deref(), Some("10.10.10.11"));
}

#[test]
fn bad_pg_instances_entries_are_errors_and_the_rest_is_read() {
    let p = parse(
        "\
g:
  hosts:
    h1:
      pg_instances:
        web: { pg_cluster: a, pg_seq: 1 }
        6001: { pg_seq: 2 }
        6002: { pg_cluster: a }
        6003: { pg_cluster: a, pg_seq: 3 }
    h2: { pg_cluster: b, pg_seq: 1, pg_instances: [6000] }
",
    );
    let got: Vec<(&str, Option<u32>)> = p
        .observations
        .iter()
        .map(|o| (o.cluster.as_str(), o.seq))
        .collect();
    assert_eq!(got, [("a", None), ("a", Some(3)), ("b", Some(1))]);
    assert_eq!(p.errors.len(), 4, "{:?}", p.errors);
    assert!(p.errors[0].contains("pg_instances key \"web\" is not a port"));
    assert!(p.errors[1].contains("entry 6001 has no pg_cluster"));
    assert!(
        p.errors[2]
            .starts_with("inv.yml:7:9: host \"h1\": pg_instances entry 6002: pg_seq is missing")
    );
    assert!(p.errors[3].contains("pg_instances of host \"h2\" is not a mapping"));
}

#[test]
fn citus_hosts_of_one_group_are_clusters_of_their_own() {
    let p = parse(
        "\
all:
  children:
    pg-citus:
      hosts:
        10.10.10.10: { pg_group: 0, pg_cluster: pg-citus0, pg_seq: 0, pg_role: primary }
        10.10.10.11: { pg_group: 1, pg_cluster: pg-citus1, pg_seq: 0, pg_role: primary }
        10.10.10.12: { pg_group: 1, pg_cluster: pg-citus1, pg_seq: 1, pg_role: replica }
      vars: { pg_mode: citus, pg_shard: pg-citus }
",
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    let got: Vec<(&str, Option<u32>, &str)> = p
        .observations
        .iter()
        .map(|o| (o.cluster.as_str(), o.seq, origin(o).group.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("pg-citus0", Some(0), "pg-citus"),
            ("pg-citus1", Some(0), "pg-citus"),
            ("pg-citus1", Some(1), "pg-citus"),
        ]
    );
}

#[test]
fn a_top_level_group_without_all_is_a_group() {
    let p = parse(
        "pg-test:\n  hosts:\n    10.10.10.11: { pg_seq: 1, pg_role: primary }\n  vars: { pg_cluster: pg-test }\n",
    );
    assert!(p.errors.is_empty(), "{:?}", p.errors);
    assert_eq!(p.observations.len(), 1);
    assert_eq!(origin(&p.observations[0]).group, "pg-test");
}

#[test]
fn a_file_without_clusters_is_one_clear_error() {
    let text = "global: {scrape_interval: 10s}\nscrape_configs:\n  - job_name: pgsql\nrule_files: [rules/*.yml]\n";
    let p = parse(text);
    assert!(p.observations.is_empty());
    assert_eq!(
        p.errors,
        ["no database clusters in inv.yml: no host has pg_cluster; is this the Pigsty inventory?"]
    );
    assert_eq!(
        p.notes,
        [
            "inv.yml:3:3: group \"scrape_configs\" is not a mapping; ignored",
            "inv.yml:4:13: group \"rule_files\" is not a mapping; ignored",
            "1 note(s) about unexpected keys not shown"
        ]
    );
    for empty in ["", "all: {children: {infra: {hosts: {10.0.0.1: {}}}}}\n"] {
        let p = parse(empty);
        assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
        assert!(p.errors[0].starts_with("no database clusters in inv.yml"));
    }
}
