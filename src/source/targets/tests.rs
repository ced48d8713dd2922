use super::*;
use crate::identity::Role;

fn yml(text: &str) -> Result<Vec<Observation>, TargetsError> {
    parse_target_file(Path::new("t.yml"), text)
}

fn origin(o: &Observation) -> &TargetOrigin {
    match &o.origin {
        Origin::Targets(t) => t,
        other => panic!("not a target origin: {other:?}"),
    }
}

#[test]
fn pigsty_flow_group_becomes_an_observation() {
    let text = "#======> pg-test-1 [primary] @ 10.10.10.11\n\
        - labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}\n\
        \x20 targets: [10.10.10.11:9630, 10.10.10.11:9100]\n";
    let obs = yml(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(obs.len(), 1);
    let o = &obs[0];
    assert_eq!(o.source, SourceKind::Targets);
    assert_eq!(o.cluster, "pg-test");
    assert_eq!(o.seq, Some(1));
    assert_eq!(o.instance.as_deref(), Some("pg-test-1"));
    assert_eq!(o.service.as_deref(), Some("pg-test-primary"));
    assert_eq!(o.ip.as_deref(), Some("10.10.10.11"));
    let role = o.role.as_ref().map(|r| (r.role.clone(), r.from));
    assert_eq!(role, Some((Role::Primary, "label role")));
    let t = origin(o);
    assert_eq!((t.line, t.index), (2, 0));
    assert_eq!(t.targets.len(), 2);
    assert_eq!(t.labels.len(), 5);
}

#[test]
fn groups_without_cls_are_skipped_but_keep_their_index() {
    let text = "- targets: [10.0.0.1:9100]\n  labels: {job: node}\n\
                - targets: ['[fe80::1]:9630']\n  labels: {cls: pg-a}\n";
    let parsed = parse_file(Path::new("t.yml"), text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.groups, 2);
    assert_eq!(parsed.observations.len(), 1);
    let o = &parsed.observations[0];
    assert_eq!(origin(o).index, 1);
    assert_eq!(origin(o).line, 3);
    assert_eq!(o.ip.as_deref(), Some("fe80::1"));
    assert_eq!(o.seq, None);
    assert_eq!(o.role, None);
}

#[test]
fn every_group_is_returned_in_file_order() {
    let text = "- targets: [10.0.0.1:9100]\n  labels: {job: node}\n- labels: {cls: pg-a, x: ~}\n";
    let groups = parse_target_groups(Path::new("t.yml"), text).unwrap_or_else(|e| panic!("{e}"));
    let group = |targets: &[&str], labels: &[(&str, &str)]| TargetGroup {
        targets: targets.iter().map(|t| t.to_string()).collect(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    assert_eq!(
        groups,
        vec![
            group(&["10.0.0.1:9100"], &[("job", "node")]),
            group(&[], &[("cls", "pg-a"), ("x", "")]),
        ]
    );
    // The same strictness as the observations: one reader behind both.
    for (path, bad) in [("t.yml", "- labels: {1bad: x}\n"), ("t.txt", "[]")] {
        let all = parse_target_groups(Path::new(path), bad).map_err(|e| e.to_string());
        let cls = parse_target_file(Path::new(path), bad).map_err(|e| e.to_string());
        assert!(all.is_err(), "{bad:?}");
        assert_eq!(all.err(), cls.err(), "{bad:?}");
    }
    assert_eq!(format_of(Path::new("a.YML")), Some(Format::Yaml));
    assert_eq!(format_of(Path::new("a.Json")), Some(Format::Json));
    assert_eq!(format_of(Path::new("a.txt")), None);
}

#[test]
fn empty_and_null_files_have_no_groups() {
    for text in ["", "\n# just a comment\n", "~\n", "[]"] {
        assert_eq!(yml(text).map(|v| v.len()).ok(), Some(0), "{text:?}");
    }
    let json = parse_target_file(Path::new("t.json"), "  \n");
    assert_eq!(json.map(|v| v.len()).ok(), Some(0));
}

fn parse_error(path: &str, text: &str) -> String {
    match parse_target_file(Path::new(path), text) {
        Ok(v) => panic!("expected an error for {text:?}, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn strictness_matches_prometheus() {
    let e = parse_error("t.yml", "- labels: {cls: a}\n  target: [x]\n");
    assert!(e.starts_with("t.yml:2:3: unknown field `target`"), "{e}");
    let e = parse_error("t.yml", "- labels: {cls: a}\n- null\n");
    assert!(
        e.starts_with("t.yml:2:") && e.ends_with("nil target group item found"),
        "{e}"
    );
    let e = parse_error("t.yml", "- labels: {cls: a, 1bad: x}\n");
    assert!(e.contains("\"1bad\" is not a valid label name"), "{e}");
    assert!(e.starts_with("t.yml:1:"), "{e}");
    let e = parse_error("t.yml", "- labels: {cls: a, cls: b}\n");
    assert!(e.contains("duplicate"), "{e}");
    let e = parse_error("t.yml", "labels: {cls: a}\n");
    assert!(e.starts_with("t.yml:1:1: "), "{e}");
    let e = parse_error("t.json", "[\n {\"labels\": {\"cls\": \"a\"}},\n null\n]");
    assert!(
        e.starts_with("t.json:3:") && e.contains("nil target group item found"),
        "{e}"
    );
    let e = parse_error("t.json", "[{\"labels\": {\"cls\": 1}}]");
    assert!(e.starts_with("t.json:1:"), "{e}");
    let e = parse_error("t.yml", "- [[h:1], {cls: a}]\n");
    assert!(e.starts_with("t.yml:1:3: "), "{e}");
    let e = parse_error("t.json", "[[[\"h:1\"], {\"cls\": \"a\"}]]");
    assert!(e.starts_with("t.json:1:"), "{e}");
    let e = parse_error("t.txt", "[]");
    assert!(e.contains("unsupported extension"), "{e}");
}

#[test]
fn yaml_scalars_are_label_text() {
    let obs = yml("- labels: {cls: pg-a, ins: pg-a-2, port: 9630, on: yes, empty: ~}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let t = origin(&obs[0]);
    assert_eq!(t.labels.get("port").map(String::as_str), Some("9630"));
    assert_eq!(t.labels.get("on").map(String::as_str), Some("yes"));
    assert_eq!(t.labels.get("empty").map(String::as_str), Some(""));
    assert_eq!(obs[0].seq, Some(2));
}

#[test]
fn json_lines_follow_elements() {
    let text = "[\n  {\"labels\": {\"cls\": \"a\", \"x\": \"[,{\\\"\"}},\n\n  {\"labels\": {\"cls\": \"b\"},\n   \"targets\": [\"h:1\"]}\n]\n";
    let obs = parse_target_file(Path::new("t.JSON"), text).unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<usize> = obs.iter().map(|o| origin(o).line).collect();
    assert_eq!(lines, vec![2, 4]);
    assert_eq!(json_element_lines("[{}, {},\n{}]"), vec![1, 1, 2]);
    assert_eq!(json_element_lines("[]"), Vec::<usize>::new());
}

#[test]
fn deep_nesting_hits_a_limit() {
    // The scanner refuses deep flow nesting before the schema sees it; block nesting
    // is refused by the schema (a group is a mapping of at most two levels).
    let deep = format!("{}{}\n", "[".repeat(5000), "]".repeat(5000));
    let e = parse_error("t.yml", &deep);
    assert!(
        e.starts_with("t.yml:1:17: nesting deeper than 16 levels"),
        "{e}"
    );
    let block: String = (0..5000)
        .map(|i| format!("{}- \n", " ".repeat(i)))
        .collect();
    let e = parse_error("t.yml", &block);
    assert!(e.starts_with("t.yml:2:"), "{e}");
    let deep_json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = parse_error("t.json", &deep_json);
    assert!(e.starts_with("t.json:1:"), "{e}");
}

#[test]
fn target_hosts() {
    assert_eq!(target_host("10.0.0.1:9630").as_deref(), Some("10.0.0.1"));
    assert_eq!(target_host("db1").as_deref(), Some("db1"));
    assert_eq!(target_host("[::1]:9630").as_deref(), Some("::1"));
    assert_eq!(target_host("[::1]").as_deref(), Some("::1"));
    assert_eq!(target_host("fe80::2").as_deref(), Some("fe80::2"));
    assert_eq!(target_host(":9630"), None);
    assert_eq!(target_host("[oops"), None);
    assert_eq!(target_host(""), None);
}

#[test]
fn label_names() {
    for ok in ["cls", "_x", "A_1", "__meta_x"] {
        assert!(valid_label_name(ok), "{ok}");
    }
    for bad in ["", "1a", "a-b", "a.b", "é"] {
        assert!(!valid_label_name(bad), "{bad}");
    }
}

#[test]
fn patterns_follow_the_prometheus_rule() {
    for ok in [
        "targets/*.yml",
        "/etc/prometheus/targets/pg*.json",
        "a.YAML",
        "x/*-*.yaml",
    ] {
        assert!(check_pattern(ok).is_ok(), "{ok}");
    }
    for bad in [
        "targets/*/x.yml",
        "*/all.yml",
        "targets/*",
        "targets/*.Yml",
        "t/*.txt",
    ] {
        assert!(check_pattern(bad).is_err(), "{bad}");
    }
}
