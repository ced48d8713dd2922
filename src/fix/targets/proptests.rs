//! Property tests of the target-file writer on generated files in every style: an edit
//! changes exactly the group asked and leaves every other line byte for byte, and adding
//! then removing a group gives the file back.

use super::tests::all_groups;
use super::tokens::reserved_word;
use super::{add_group, edit_group, remove_group};
use crate::source::targets::TargetGroup;
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// Values: Pigsty words, and ones that need quoting in YAML.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("pg-test".to_string()),
        Just("pg-test-1".to_string()),
        Just("primary".to_string()),
        Just("10.10.10.11".to_string()),
        Just(String::new()),
        Just("true".to_string()),
        Just("42".to_string()),
        Just("a b".to_string()),
        Just("it's".to_string()),
        Just("x: y".to_string()),
        Just("#hash".to_string()),
        "[a-z0-9 .:#'\"-]{0,8}",
    ]
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("cls".to_string()),
        Just("ins".to_string()),
        Just("role".to_string()),
        Just("svc".to_string()),
        Just("ip".to_string()),
        Just("job".to_string()),
        Just("zz_9".to_string()),
    ]
}

#[derive(Clone, Debug)]
struct GenGroup {
    labels: Option<BTreeMap<String, String>>,
    targets: Vec<String>,
    block_labels: bool,
    block_targets: bool,
    labels_first: bool,
    comment: bool,
    quote: u8,
}

fn group() -> impl Strategy<Value = GenGroup> {
    (
        proptest::option::weighted(0.85, proptest::collection::btree_map(name(), value(), 0..5)),
        proptest::collection::vec("[a-z0-9.]{1,6}:[0-9]{2,4}", 0..3),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        0u8..3,
    )
        .prop_map(
            |(labels, targets, block_labels, block_targets, labels_first, comment, quote)| {
                GenGroup {
                    labels,
                    targets,
                    block_labels,
                    block_targets,
                    labels_first,
                    comment,
                    quote,
                }
            },
        )
}

/// The test's own quoting, independent of the writer's.
fn quoted(v: &str, style: u8) -> String {
    // A plain scalar may not start with '-' (a YAML indicator).
    let simple = !v.is_empty()
        && !v.starts_with('-')
        && v.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
        && !reserved_word(v);
    match style {
        0 if simple => v.to_string(),
        1 if !v.contains('\'') => format!("'{v}'"),
        _ => serde_json::to_string(v).unwrap_or_default(),
    }
}

/// Renders a YAML file; returns the text and each group's (first line, last line).
fn render_yaml(groups: &[GenGroup]) -> (String, Vec<(usize, usize)>) {
    let mut lines: Vec<String> = vec!["# generated".to_string()];
    let mut spans = Vec::new();
    for g in groups {
        if g.comment {
            lines.push("#======> some-ins [role] @ 1.2.3.4".to_string());
        }
        let first = lines.len();
        let mut fields: Vec<Vec<String>> = Vec::new();
        if let Some(labels) = &g.labels {
            if g.block_labels && !labels.is_empty() {
                let mut f = vec!["labels:".to_string()];
                f.extend(
                    labels
                        .iter()
                        .map(|(k, v)| format!("    {k}: {}", quoted(v, g.quote))),
                );
                fields.push(f);
            } else {
                let pairs: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| format!("{k}: {}", quoted(v, g.quote)))
                    .collect();
                fields.push(vec![format!("labels: {{{}}}", pairs.join(", "))]);
            }
        }
        if g.block_targets && !g.targets.is_empty() {
            let mut f = vec!["targets:".to_string()];
            f.extend(g.targets.iter().map(|t| format!("    - {t}")));
            fields.push(f);
        } else {
            fields.push(vec![format!("targets: [{}]", g.targets.join(", "))]);
        }
        if !g.labels_first {
            fields.reverse();
        }
        for (i, f) in fields.into_iter().flatten().enumerate() {
            lines.push(format!("{}{f}", if i == 0 { "- " } else { "  " }));
        }
        spans.push((first, lines.len() - 1));
        lines.push(String::new());
    }
    (lines.join("\n") + "\n", spans)
}

/// Renders a JSON file with one group per line.
fn render_json(groups: &[GenGroup]) -> (String, Vec<(usize, usize)>) {
    let mut lines = vec!["[".to_string()];
    let mut spans = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let mut fields = vec![format!(
            "\"targets\": {}",
            serde_json::to_string(&g.targets).unwrap_or_default()
        )];
        if let Some(labels) = &g.labels {
            fields.push(format!(
                "\"labels\": {}",
                serde_json::to_string(labels).unwrap_or_default()
            ));
        }
        let comma = if i + 1 < groups.len() { "," } else { "" };
        spans.push((lines.len(), lines.len()));
        lines.push(format!("  {{{}}}{comma}", fields.join(", ")));
    }
    lines.push("]".to_string());
    (lines.join("\n") + "\n", spans)
}

fn expected(groups: &[GenGroup]) -> Vec<TargetGroup> {
    groups
        .iter()
        .map(|g| TargetGroup {
            targets: g.targets.clone(),
            labels: g.labels.clone().unwrap_or_default(),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn edits_change_exactly_the_group_asked(
        groups in proptest::collection::vec(group(), 1..5),
        json in any::<bool>(),
        pick in any::<proptest::sample::Index>(),
        edits in proptest::collection::btree_map(name(), proptest::option::of(value()), 1..4),
    ) {
        let (path, (text, spans)) = if json {
            ("g.json", render_json(&groups))
        } else {
            ("g.yml", render_yaml(&groups))
        };
        let path = Path::new(path);
        prop_assert_eq!(all_groups(path, &text), Ok(expected(&groups)), "generator: {}", text);
        let index = pick.index(groups.len());
        let new = edit_group(path, &text, index, &edits);
        let new = match new {
            Ok(new) => new,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        let mut want = expected(&groups);
        for (k, v) in &edits {
            match v {
                Some(v) => want[index].labels.insert(k.clone(), v.clone()),
                None => want[index].labels.remove(k),
            };
        }
        prop_assert_eq!(all_groups(path, &new), Ok(want));
        let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (text.lines().collect(), new.lines().collect());
        let (first, last) = spans[index];
        prop_assert_eq!(&old_lines[..first], &new_lines[..first]);
        let after = old_lines.len() - last - 1;
        prop_assert_eq!(&old_lines[last + 1..], &new_lines[new_lines.len() - after..]);
    }

    #[test]
    fn add_then_remove_is_the_identity(
        groups in proptest::collection::vec(group(), 0..4),
        json in any::<bool>(),
        labels in proptest::collection::btree_map(name(), value(), 0..4),
    ) {
        let (path, (text, _)) = if json {
            ("g.json", render_json(&groups))
        } else {
            ("g.yml", render_yaml(&groups))
        };
        let path = Path::new(path);
        let targets = vec!["h:1".to_string()];
        let added = add_group(path, &text, &labels, &targets, Some("#======> added"));
        let added = match added {
            Ok(a) => a,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        let removed = remove_group(path, &added, groups.len());
        prop_assert_eq!(removed.ok(), Some(text));
    }
}
