//! Tests of planning: label changes, diffs.

use super::*;

#[test]
fn target_changes_touch_only_labels_the_group_has() {
    let desired = Desired {
        cluster: "pg-test".into(),
        seq: Some(1),
        instance: "pg-test-1".into(),
        role: Some(Role::Replica),
        ip: Some("10.0.0.1".into()),
    };
    let labels: BTreeMap<String, String> = [
        ("cls", "pg-test"),
        ("ins", "pg-test-1"),
        ("ip", "10.0.0.1"),
        ("role", "primary"),
        ("svc", "pg-test-primary"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let c = target_changes(&labels, &desired);
    assert_eq!(
        c,
        BTreeMap::from([
            ("role".to_string(), Some("replica".to_string())),
            ("svc".to_string(), Some("pg-test-replica".to_string())),
        ])
    );
    let only_ins: BTreeMap<String, String> = [
        ("cls".to_string(), "pg-test".to_string()),
        ("ins".to_string(), "pg-test-10".to_string()),
    ]
    .into();
    let c = target_changes(&only_ins, &desired);
    assert_eq!(
        c,
        BTreeMap::from([("ins".to_string(), Some("pg-test-1".to_string()))])
    );
    let mut same = labels.clone();
    same.insert("role".into(), "standby".into());
    same.insert("svc".into(), "pg-test-replica".into());
    assert!(
        target_changes(&same, &desired).is_empty(),
        "standby means replica"
    );
}

#[test]
fn text_diff_shows_changed_and_added_lines() {
    let d = text_diff("a\nb\nc\n", "a\nB\nc\n");
    assert_eq!(d, ["-    2: b", "+    2: B"]);
    let d = text_diff("a\n", "a\nb\n");
    assert_eq!(d, ["+    2: b"]);
    let d = text_diff("a\nb\nc\n", "a\nc\n");
    assert_eq!(d, ["-    2: b"]);
}
