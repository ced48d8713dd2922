//! A new group appended in the file's own style: a Pigsty comment line and a two-line
//! block item for YAML lists, an element matching its neighbours' layout for flow lists
//! and JSON arrays.

use super::scanner::{Top, line_start, newline};
use super::splice::{Splice, flow_separator};
use super::tokens::{flow_labels, flow_targets};
use super::verify::{original_groups, verify};
use super::{TargetEditError, check_label_names, edit_format, scan};
use crate::source::targets::{Format, TargetGroup, target_host};
use std::collections::BTreeMap;
use std::path::Path;

/// The Pigsty comment line for a group: `#======> ins [role] @ ip`.
fn pigsty_comment(labels: &BTreeMap<String, String>, targets: &[String]) -> Option<String> {
    let ins = labels.get("ins")?;
    let mut line = format!("#======> {ins}");
    if let Some(role) = labels.get("role") {
        line.push_str(&format!(" [{role}]"));
    }
    let ip = labels
        .get("ip")
        .cloned()
        .or_else(|| targets.first().and_then(|t| target_host(t)));
    if let Some(ip) = ip {
        line.push_str(&format!(" @ {ip}"));
    }
    Some(line)
}

/// A new JSON group: one line, or `pretty_indent`ed over several like its neighbours.
fn json_element(
    labels: &BTreeMap<String, String>,
    targets: &[String],
    pretty_indent: Option<&str>,
    nl: &str,
) -> String {
    let mut fields = vec![format!(
        "\"targets\": {}",
        flow_targets(Format::Json, targets)
    )];
    if !labels.is_empty() {
        fields.push(format!("\"labels\": {}", flow_labels(Format::Json, labels)));
    }
    match pretty_indent {
        None => format!("{{{}}}", fields.join(", ")),
        Some(indent) => {
            let inner: Vec<String> = fields.iter().map(|f| format!("{indent}  {f}")).collect();
            format!("{{{nl}{}{nl}{indent}}}", inner.join(&format!(",{nl}")))
        }
    }
}

/// Appends a group (labels, targets) in the file's style, with a comment line for YAML.
///
/// `comment` replaces Pigsty's `#======> ins [role] @ ip` line (a leading `#` is added
/// when missing); JSON has no comments, so it is not written there.
pub fn add_group(
    path: &Path,
    text: &str,
    labels: &BTreeMap<String, String>,
    targets: &[String],
    comment: Option<&str>,
) -> Result<String, TargetEditError> {
    let format = edit_format(path)?;
    let old = original_groups(path, text)?;
    check_label_names(path, labels.keys())?;
    let bad = |reason: &str| TargetEditError::BadInput {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let comment = match comment {
        Some(c) if c.contains(['\n', '\r']) => return Err(bad("the comment must be one line")),
        Some(c) if c.starts_with('#') => Some(c.to_string()),
        Some(c) => Some(format!("# {c}")),
        None => pigsty_comment(labels, targets),
    };
    let nl = newline(text);
    let top = scan(path, text, format)?;
    let new = match (&top, format) {
        (Top::Empty, Format::Json) => {
            format!(
                "[{nl}  {}{nl}]{nl}",
                json_element(labels, targets, None, nl)
            )
        }
        (Top::List(list), _) if list.flow => {
            let spans: Vec<(usize, usize)> =
                list.items.iter().map(|n| (n.start(), n.end())).collect();
            let element = |indent: Option<&str>| match format {
                Format::Json => json_element(labels, targets, indent, nl),
                Format::Yaml => {
                    let mut fields = Vec::new();
                    if !labels.is_empty() {
                        fields.push(format!("labels: {}", flow_labels(format, labels)));
                    }
                    fields.push(format!("targets: {}", flow_targets(format, targets)));
                    format!("{{{}}}", fields.join(", "))
                }
            };
            match spans.last() {
                None => Splice::insert(list.start + 1, element(None)).apply(text),
                Some(&(start, end)) => {
                    let own_line = text[line_start(text, start)..start].trim().is_empty();
                    let indent = &text[line_start(text, start)..start];
                    let multi_line = text[start..end].contains('\n');
                    let sep = flow_separator(text, &spans).unwrap_or_else(|| {
                        if own_line && text[list.start..list.end].contains('\n') {
                            format!(",{nl}{indent}")
                        } else {
                            ", ".to_string()
                        }
                    });
                    let pretty = (multi_line && own_line).then_some(indent);
                    Splice::insert(end, format!("{sep}{}", element(pretty))).apply(text)
                }
            }
        }
        (_, Format::Yaml) => {
            let indent = match &top {
                Top::List(list) => list.dashes.first().map_or(0, |d| d - line_start(text, *d)),
                Top::Empty => 0,
            };
            let pad = " ".repeat(indent);
            let mut out = text.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(nl);
            }
            if let Some(c) = comment {
                out.push_str(&format!("{pad}{c}{nl}"));
            }
            let targets_line = format!("targets: {}", flow_targets(format, targets));
            if labels.is_empty() {
                out.push_str(&format!("{pad}- {targets_line}{nl}"));
            } else {
                out.push_str(&format!(
                    "{pad}- labels: {}{nl}{pad}  {targets_line}{nl}",
                    flow_labels(format, labels)
                ));
            }
            out
        }
        (Top::List(_), Format::Json) => {
            return Err(bad("a JSON file whose list is not a JSON array"));
        }
    };
    let mut expected = old;
    expected.push(TargetGroup {
        targets: targets.to_vec(),
        labels: labels.clone(),
    });
    verify(path, &new, &expected)?;
    Ok(new)
}
