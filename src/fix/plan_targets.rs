//! Planning target-file writes: the label edits that make each member's group agree,
//! one write per file, and new groups (or a new per-instance file) for instances the
//! target files lack.

use super::error::FixError;
use super::plan::{Desired, Member, Plan, Step};
use super::targets::{add_group, digest, edit_group};
use crate::fleet::Instance;
use crate::identity::{Role, service_name};
use crate::observation::{Observation, Origin, SourceKind, target_port};
use crate::source::targets::{TargetGroup, parse_target_groups};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) fn plan_targets(members: &[Member<'_>], plan: &mut Plan) -> Result<(), FixError> {
    // All edits to one file go into one write, or the second would find the file changed.
    let mut by_file: BTreeMap<PathBuf, Vec<(usize, LabelChanges)>> = BTreeMap::new();
    for m in members {
        let (inst, desired) = (m.inst, &m.desired);
        let groups: Vec<&Observation> = inst.by_source(SourceKind::Targets).collect();
        if groups.is_empty() {
            plan.warnings.push(format!(
                "{} has no target group; `roster fix --to targets --add-missing` adds one",
                inst.name
            ));
            continue;
        }
        for o in groups {
            let Origin::Targets(t) = &o.origin else {
                continue;
            };
            let mut changes = target_changes(&t.labels, desired);
            if m.role_only {
                changes.retain(|label, _| label == "role" || label == "svc");
            }
            if !changes.is_empty() {
                by_file
                    .entry(t.file.clone())
                    .or_default()
                    .push((t.index, changes));
            }
            if !m.role_only
                && !t.labels.contains_key("ip")
                && let Some(want) = &desired.ip
                && o.ip.as_deref() != Some(want.as_str())
            {
                plan.warnings.push(format!(
                    "{}:{} scrapes {} but {} says the instance is at {}; the targets themselves are not rewritten",
                    t.file.display(),
                    t.line,
                    crate::text::sanitize(o.ip.as_deref().unwrap_or("?"), 80),
                    plan.authority,
                    crate::text::sanitize(want, 80)
                ));
            }
        }
    }
    for (file, mut edits) in by_file {
        edits.sort_by_key(|(index, _)| *index);
        // Symlinks resolved to the file they name (written through), regular files only.
        let (file, bytes, original, owner) = super::plan::read_target_file(&file)?;
        plan.warnings.extend(owner);
        let mut text = original.clone();
        for (index, changes) in &edits {
            text = edit_group(&file, &text, *index, changes)?;
        }
        plan.steps.push(Step::TargetFile {
            diff: text_diff(&original, &text),
            digest: digest(&bytes),
            file,
            new_text: text,
        });
    }
    Ok(())
}

/// Label -> new value (`None` removes the label).
pub type LabelChanges = BTreeMap<String, Option<String>>;

/// The label changes that make one group say what `desired` says (only labels it has).
pub fn target_changes(labels: &BTreeMap<String, String>, desired: &Desired) -> LabelChanges {
    let mut want: Vec<(&str, Option<String>)> = vec![
        ("cls", Some(desired.cluster.clone())),
        ("ins", Some(desired.instance.clone())),
        ("ip", desired.ip.clone()),
        (
            "role",
            desired.role.as_ref().map(|r| r.as_str().to_string()),
        ),
        ("svc", desired.service()),
    ];
    want.retain(|(_, v)| v.is_some());
    let mut changes = BTreeMap::new();
    for (label, value) in want {
        if let (Some(have), Some(value)) = (labels.get(label), value)
            && have != &value
            && !(label == "role" && Role::parse(have) == Role::parse(&value))
        {
            changes.insert(label.to_string(), Some(value));
        }
    }
    changes
}

/// Lines that differ between two texts, as `-`/`+` lines with their line numbers.
pub fn text_diff(before: &str, after: &str) -> Vec<String> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if a.len() == b.len() => {
                out.push(format!("- {:>4}: {x}", i + 1));
                out.push(format!("+ {:>4}: {y}", j + 1));
                i += 1;
                j += 1;
            }
            (Some(x), _) if a.len() > b.len() && !b[j..].contains(x) => {
                out.push(format!("- {:>4}: {x}", i + 1));
                i += 1;
            }
            (_, Some(y)) => {
                out.push(format!("+ {:>4}: {y}", j + 1));
                j += 1;
            }
            (Some(x), None) => {
                out.push(format!("- {:>4}: {x}", i + 1));
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// Adds a target group for an instance the target files lack, in the file that holds its
/// cluster's other groups (or `fallback`).
pub fn plan_add_target(
    inst: &Instance,
    desired: &Desired,
    cluster_file: Option<PathBuf>,
) -> Result<Step, FixError> {
    let file = cluster_file.ok_or_else(|| {
        FixError::Refused(format!(
            "no target file holds cluster {} yet: roster adds groups only next to their cluster's others",
            inst.cluster
        ))
    })?;
    let ip = desired
        .ip
        .clone()
        .ok_or_else(|| FixError::Refused(format!("no address known for {}", inst.name)))?;
    let mut labels = BTreeMap::from([
        ("cls".to_string(), desired.cluster.clone()),
        ("ins".to_string(), desired.instance.clone()),
        ("ip".to_string(), ip.clone()),
    ]);
    if let Some(r) = &desired.role {
        labels.insert("role".into(), r.as_str().to_string());
        labels.insert("svc".into(), service_name(&desired.cluster, r));
    }
    let targets: Vec<String> = [9630, 9100, 9631, 9101]
        .iter()
        .map(|p| format!("{ip}:{p}"))
        .collect();
    let (file, bytes, original, _) = super::plan::read_target_file(&file)?;
    if let Some(sibling) = per_instance_group(&file, &original) {
        return plan_instance_file(&file, &sibling, desired, &ip);
    }
    let comment = format!(
        "#======> {} [{}] @ {ip}",
        desired.instance,
        desired.role.as_ref().map_or("-", Role::as_str)
    );
    let text = add_group(&file, &original, &labels, &targets, Some(&comment))?;
    Ok(Step::TargetFile {
        diff: text_diff(&original, &text),
        digest: digest(&bytes),
        file,
        new_text: text,
    })
}

/// The one group of a file laid out one instance per file (`pgsql/<ins>.yml`, Pigsty
/// 1.0 and later), named after that group's `ins`.
fn per_instance_group(file: &Path, text: &str) -> Option<TargetGroup> {
    let groups = parse_target_groups(file, text).ok()?;
    let [only] = groups.as_slice() else {
        return None;
    };
    let stem = file.file_stem()?.to_str()?;
    (only.labels.get("ins").map(String::as_str) == Some(stem)).then(|| only.clone())
}

/// A new `<ins>.yml` next to a sibling of the per-instance layout, written as the
/// sibling is: its labels (identity ones with the instance's values) and its target
/// ports at the instance's address, under Pigsty's `# ins [role] @ ip` line.
fn plan_instance_file(
    sibling_file: &Path,
    sibling: &TargetGroup,
    desired: &Desired,
    ip: &str,
) -> Result<Step, FixError> {
    let ext = sibling_file
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "yml".into());
    let file = sibling_file.with_file_name(format!("{}.{ext}", desired.instance));
    if std::fs::symlink_metadata(&file).is_ok() {
        return Err(FixError::Refused(format!(
            "{} exists but holds no target group of {}; roster does not overwrite it",
            file.display(),
            desired.instance
        )));
    }
    let role = desired.role.as_ref().map(|r| r.as_str().to_string());
    let mut labels = BTreeMap::new();
    for (name, value) in &sibling.labels {
        let value = match name.as_str() {
            "cls" => Some(desired.cluster.clone()),
            "ins" => Some(desired.instance.clone()),
            "ip" => Some(ip.to_string()),
            "role" => role.clone(),
            "svc" => desired.service(),
            _ => Some(value.clone()),
        };
        if let Some(v) = value {
            labels.insert(name.clone(), v);
        }
    }
    let host = if ip.contains(':') {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    let mut targets: Vec<String> = sibling
        .targets
        .iter()
        .filter_map(|t| target_port(t).map(|port| format!("{host}:{port}")))
        .collect();
    if targets.is_empty() {
        targets = [9630, 9631, 8008]
            .iter()
            .map(|p| format!("{host}:{p}"))
            .collect();
    }
    let comment = format!(
        "# {} [{}] @ {ip}",
        desired.instance,
        role.as_deref().unwrap_or("-")
    );
    let text = add_group(&file, "", &labels, &targets, Some(&comment))?;
    Ok(Step::TargetFile {
        diff: text_diff("", &text),
        digest: digest(b""),
        file,
        new_text: text,
    })
}
