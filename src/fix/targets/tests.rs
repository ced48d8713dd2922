//! Unit tests of the target-file writer: each kind of edit, style and refusal on small
//! files whose expected text is spelled out.

use super::{TargetEditError, add_group, backup_path, digest, edit_group, remove_group};
use crate::source::targets::{TargetGroup, parse_target_groups};
use std::collections::BTreeMap;
use std::path::Path;

const PIGSTY: &str = "\
# pg-test targets
#======> pg-test-1 [primary] @ 10.10.10.11
- labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}
  targets: [10.10.10.11:9630, 10.10.10.11:9100]

#======> pg-test-2 [replica] @ 10.10.10.12
- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, role: replica, svc: pg-test-replica}
  targets: [10.10.10.12:9630, 10.10.10.12:9100]
#======> pg-test-3 [offline] @ 10.10.10.13
- labels: {cls: pg-test, ins: pg-test-3, ip: 10.10.10.13, role: offline, svc: pg-test-offline}
  targets: [10.10.10.13:9630, 10.10.10.13:9100]   # trailing comment
";

const BLOCK: &str = "\
---
- targets:
    - 10.0.0.1:9100
  labels:
    job: node   # not a database
- labels:
    cls: pg-a
    ins: 'pg-a-1'
    role: \"primary\"
  targets:
  - 10.0.0.2:9630
- targets: [10.0.0.3:9630]
";

const JSON: &str = "[\n  {\n    \"targets\": [\"10.0.0.1:9630\"],\n    \"labels\": {\n      \"cls\": \"pg-j\",\n      \"ins\": \"pg-j-1\",\n      \"role\": \"primary\"\n    }\n  },\n  {\"targets\": [\"10.0.0.2:9630\"], \"labels\": {\"cls\": \"pg-j\", \"ins\": \"pg-j-2\"}},\n  {\"targets\": [\"10.0.0.3:9100\"]}\n]\n";

fn changes(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
        .collect()
}

fn edit(path: &str, text: &str, index: usize, pairs: &[(&str, Option<&str>)]) -> String {
    edit_group(Path::new(path), text, index, &changes(pairs)).unwrap_or_else(|e| panic!("{e}"))
}

/// Every group of a text, with the error as text so results compare.
pub(super) fn all_groups(path: &Path, text: &str) -> Result<Vec<TargetGroup>, String> {
    parse_target_groups(path, text).map_err(|e| e.to_string())
}

fn labels_of(path: &str, text: &str, index: usize) -> BTreeMap<String, String> {
    let groups = all_groups(Path::new(path), text).unwrap_or_else(|e| panic!("{e}"));
    groups[index].labels.clone()
}

/// Lines of `new` that are not in `old`, and the other way round (a rough line diff).
fn changed_lines(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
    let o: Vec<&str> = old.lines().collect();
    let n: Vec<&str> = new.lines().collect();
    let head = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
    let tail = o[head..]
        .iter()
        .rev()
        .zip(n[head..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    (
        o[head..o.len() - tail]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        n[head..n.len() - tail]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    )
}

#[test]
fn flow_value_replaced_in_first_middle_and_last_group() {
    let new = edit(
        "t.yml",
        PIGSTY,
        0,
        &[("role", Some("replica")), ("svc", Some("pg-test-replica"))],
    );
    let (old, now) = changed_lines(PIGSTY, &new);
    assert_eq!(
        old,
        [
            "- labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}"
        ]
    );
    assert_eq!(
        now,
        [
            "- labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: replica, svc: pg-test-replica}"
        ]
    );
    let new = edit("t.yml", PIGSTY, 1, &[("role", Some("primary"))]);
    assert_eq!(
        changed_lines(PIGSTY, &new).1,
        [
            "- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, role: primary, svc: pg-test-replica}"
        ]
    );
    let new = edit("t.yml", PIGSTY, 2, &[("ip", Some("10.10.10.14"))]);
    assert!(
        new.ends_with("  targets: [10.10.10.13:9630, 10.10.10.13:9100]   # trailing comment\n")
    );
    assert_eq!(labels_of("t.yml", &new, 2)["ip"], "10.10.10.14");
}

#[test]
fn flow_labels_added_and_removed() {
    let new = edit(
        "t.yml",
        PIGSTY,
        1,
        &[("svc", None), ("job", Some("pg")), ("zone", Some("a"))],
    );
    assert_eq!(
        changed_lines(PIGSTY, &new).1,
        [
            "- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, job: pg, role: replica, zone: a}"
        ]
    );
    let new = edit("t.yml", PIGSTY, 0, &[("cls", None)]);
    assert!(new.contains(
        "- labels: {ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}\n"
    ));
    let one = "- labels: {cls: x}\n  targets: []\n";
    assert_eq!(
        edit("t.yml", one, 0, &[("cls", None)]),
        "- labels: {}\n  targets: []\n"
    );
    assert_eq!(
        edit("t.yml", "- labels: {}\n", 0, &[("cls", Some("yv"))]),
        "- labels: {cls: yv}\n"
    );
    // Removing a label that is not there changes nothing.
    assert_eq!(edit("t.yml", PIGSTY, 0, &[("nope", None)]), PIGSTY);
}

#[test]
fn values_that_need_quotes_are_quoted() {
    let cases = [
        ("a b", "\"a b\""),
        ("true", "\"true\""),
        ("13", "\"13\""),
        ("0x1f", "\"0x1f\""),
        ("", "\"\""),
        ("#x", "\"#x\""),
        ("x: y", "\"x: y\""),
        ("-", "\"-\""),
        ("it's", "\"it's\""),
        ("line\nbreak", "\"line\\nbreak\""),
        ("10.0.0.9", "10.0.0.9"),
    ];
    for (value, token) in cases {
        let new = edit("t.yml", PIGSTY, 1, &[("role", Some(value))]);
        assert!(
            new.contains(&format!("role: {token}, svc")),
            "{value:?}: {new}"
        );
        assert_eq!(labels_of("t.yml", &new, 1)["role"], value);
    }
    // Quoted values keep their quoting style.
    let new = edit(
        "t.yml",
        BLOCK,
        1,
        &[("ins", Some("pg-a-9")), ("role", Some("replica"))],
    );
    assert!(
        new.contains("    ins: 'pg-a-9'\n    role: \"replica\"\n"),
        "{new}"
    );
}

#[test]
fn block_labels_replaced_added_removed() {
    let new = edit(
        "t.yaml",
        BLOCK,
        1,
        &[
            ("role", Some("replica")),
            ("svc", Some("pg-a-replica")),
            ("cls", None),
            ("abc", Some("1")),
        ],
    );
    assert_eq!(
        new,
        "---\n- targets:\n    - 10.0.0.1:9100\n  labels:\n    job: node   # not a database\n- labels:\n    abc: \"1\"\n    ins: 'pg-a-1'\n    role: \"replica\"\n    svc: pg-a-replica\n  targets:\n  - 10.0.0.2:9630\n- targets: [10.0.0.3:9630]\n"
    );
    // The last remaining label leaves an empty mapping, keeping the line's comment.
    let new = edit("t.yaml", BLOCK, 0, &[("job", None)]);
    assert!(new.contains("  labels: {}   # not a database\n"), "{new}");
}

#[test]
fn group_without_labels_gets_them() {
    let new = edit(
        "t.yml",
        BLOCK,
        2,
        &[("cls", Some("pg-b")), ("ins", Some("pg-b-1"))],
    );
    assert!(
        new.ends_with("- labels: {cls: pg-b, ins: pg-b-1}\n  targets: [10.0.0.3:9630]\n"),
        "{new}"
    );
    let new = edit("t.json", JSON, 2, &[("cls", Some("pg-j"))]);
    assert!(
        new.contains("{\"labels\": {\"cls\": \"pg-j\"}, \"targets\": [\"10.0.0.3:9100\"]}"),
        "{new}"
    );
    let new = edit(
        "t.yml",
        "- labels:\n  targets: [a:1]\n",
        0,
        &[("cls", Some("c"))],
    );
    assert_eq!(new, "- labels: {cls: c}\n  targets: [a:1]\n");
    let new = edit(
        "t.yml",
        "[{targets: [a:1], labels: ~}]\n",
        0,
        &[("cls", Some("c"))],
    );
    assert_eq!(new, "[{targets: [a:1], labels: {cls: c}}]\n");
}

#[test]
fn json_edits_keep_the_layout() {
    let new = edit(
        "t.json",
        JSON,
        0,
        &[
            ("role", Some("replica")),
            ("svc", Some("pg-j-replica")),
            ("cls", None),
        ],
    );
    let want = JSON.replace(
        "      \"cls\": \"pg-j\",\n      \"ins\": \"pg-j-1\",\n      \"role\": \"primary\"\n",
        "      \"ins\": \"pg-j-1\",\n      \"role\": \"replica\",\n      \"svc\": \"pg-j-replica\"\n",
    );
    assert_ne!(want, JSON);
    assert_eq!(new, want);
    let new = edit("t.json", JSON, 1, &[("ins", None), ("a", Some("1 2"))]);
    assert!(
        new.contains("\"labels\": {\"a\": \"1 2\", \"cls\": \"pg-j\"}}"),
        "{new}"
    );
}

#[test]
fn yaml_flow_list_of_groups() {
    let text = "# all in one line\n[{labels: {cls: a, ins: a-1}, targets: [h:1]}, {targets: [h:2], labels: {cls: b}}]\n";
    let new = edit("t.yml", text, 1, &[("ins", Some("b-1"))]);
    assert_eq!(
        new,
        "# all in one line\n[{labels: {cls: a, ins: a-1}, targets: [h:1]}, {targets: [h:2], labels: {cls: b, ins: b-1}}]\n"
    );
    let new = remove_group(Path::new("t.yml"), text, 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        new,
        "# all in one line\n[{targets: [h:2], labels: {cls: b}}]\n"
    );
}

#[test]
fn bad_requests_are_refused() {
    let p = Path::new("t.yml");
    let e = edit_group(p, PIGSTY, 3, &changes(&[("role", Some("x"))]))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("t.yml: no target group at index 3 (the file has 3)")
    );
    let e = edit_group(p, PIGSTY, 0, &changes(&[("a-b", Some("x"))]))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("t.yml: \"a-b\" is not a valid label name")
    );
    let e = edit_group(p, "- labels: {cls: a\n", 0, &changes(&[])).err();
    assert!(matches!(e, Some(TargetEditError::Unparsable(_))), "{e:?}");
    for unsupported in [
        "- labels: &l {cls: a}\n- labels: *l\n",
        "- labels: {cls: !!str a}\n",
        "- labels:\n    cls: >\n      a\n",
        "- labels:\n    cls: a\n      b\n",
    ] {
        match edit_group(p, unsupported, 0, &changes(&[("role", Some("r"))])) {
            Err(TargetEditError::Unsupported { .. }) => {}
            other => panic!("{unsupported:?}: {other:?}"),
        }
    }
}

#[test]
fn add_group_in_each_style() {
    let labels: BTreeMap<String, String> = [
        ("cls", "pg-test"),
        ("ins", "pg-test-4"),
        ("ip", "10.10.10.14"),
        ("role", "replica"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let targets = vec!["10.10.10.14:9630".to_string()];
    let new = add_group(Path::new("t.yml"), PIGSTY, &labels, &targets, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        new.strip_prefix(PIGSTY),
        Some(
            "#======> pg-test-4 [replica] @ 10.10.10.14\n- labels: {cls: pg-test, ins: pg-test-4, ip: 10.10.10.14, role: replica}\n  targets: [10.10.10.14:9630]\n"
        )
    );
    let new = add_group(
        Path::new("t.yml"),
        "",
        &labels,
        &targets,
        Some("added by roster"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(new.starts_with("# added by roster\n- labels:"), "{new}");
    let new = add_group(Path::new("t.json"), JSON, &labels, &targets, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(new.starts_with(&JSON[..JSON.len() - 3]), "{new}");
    assert!(new.ends_with("},\n  {\"targets\": [\"10.0.0.3:9100\"]},\n  {\"targets\": [\"10.10.10.14:9630\"], \"labels\": {\"cls\": \"pg-test\", \"ins\": \"pg-test-4\", \"ip\": \"10.10.10.14\", \"role\": \"replica\"}}\n]\n"), "{new}");
    let new = add_group(Path::new("t.json"), " ", &labels, &targets, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        all_groups(Path::new("t.json"), &new).map(|g| g.len()),
        Ok(1)
    );
    let new = add_group(Path::new("t.json"), "[]", &BTreeMap::new(), &targets, None)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(new, "[{\"targets\": [\"10.10.10.14:9630\"]}]");
    let e = add_group(
        Path::new("t.yml"),
        PIGSTY,
        &labels,
        &targets,
        Some("two\nlines"),
    );
    assert!(matches!(e, Err(TargetEditError::BadInput { .. })), "{e:?}");
}

#[test]
fn remove_group_takes_its_pigsty_comment() {
    let p = Path::new("t.yml");
    let new = remove_group(p, PIGSTY, 1).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(new, PIGSTY.replace("#======> pg-test-2 [replica] @ 10.10.10.12\n- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, role: replica, svc: pg-test-replica}\n  targets: [10.10.10.12:9630, 10.10.10.12:9100]\n", ""));
    let new = remove_group(p, PIGSTY, 2).unwrap_or_else(|e| panic!("{e}"));
    assert!(new.ends_with("10.10.10.12:9100]\n"), "{new}");
    let new = remove_group(p, BLOCK, 0).unwrap_or_else(|e| panic!("{e}"));
    assert!(new.starts_with("---\n- labels:\n    cls: pg-a\n"), "{new}");
    let j = Path::new("t.json");
    for i in 0..3 {
        let new = remove_group(j, JSON, i).unwrap_or_else(|e| panic!("{e}"));
        let groups = all_groups(j, &new).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(groups.len(), 2);
    }
    let new = remove_group(j, "[{\"targets\": []}]", 0).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(new, "[]");
    assert!(matches!(
        remove_group(p, PIGSTY, 3),
        Err(TargetEditError::NoSuchGroup { .. })
    ));
}

#[test]
fn crlf_files_keep_their_line_ends() {
    let text = "- labels:\r\n    cls: a\r\n  targets: [h:1]\r\n";
    let new = edit("t.yml", text, 0, &[("ins", Some("a-1"))]);
    assert_eq!(
        new,
        "- labels:\r\n    cls: a\r\n    ins: a-1\r\n  targets: [h:1]\r\n"
    );
}

#[test]
fn digests_and_backup_names() {
    assert_eq!(digest(b"").len(), 64);
    assert_eq!(
        digest(b"a"),
        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
    );
    assert_eq!(
        backup_path(Path::new("/x/pg-test.yml")),
        Path::new("/x/pg-test.yml.bak")
    );
}

#[test]
fn a_plan_made_while_the_file_was_absent_creates_it_once() {
    use super::write_file_with;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pg-test-3.yml");
    let labels: BTreeMap<String, String> = [("cls", "pg-test"), ("ins", "pg-test-3")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let text = add_group(&path, "", &labels, &["10.0.0.3:9630".into()], Some("# new")).unwrap();
    assert_eq!(
        text,
        "# new\n- labels: {cls: pg-test, ins: pg-test-3}\n  targets: [10.0.0.3:9630]\n"
    );
    let absent = digest(b"");
    write_file_with(&path, &absent, &text, true).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(std::fs::read(backup_path(&path)).unwrap(), b"");
    // The same plan again finds the file there: a changed file, not a second create.
    let again = write_file_with(&path, &absent, &text, true).unwrap_err();
    assert!(
        matches!(again, TargetEditError::ChangedOnDisk { .. }),
        "{again}"
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".roster.lock"))
        .collect();
    assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
}
