//! Edits made by splicing the original text: setting and removing labels of one group,
//! and removing a group. Each splice replaces the bytes of one value or entry, so the
//! rest of the file (other groups, comments, blank lines, quoting, style) is untouched.

use super::scanner::{Map, Node, Seq, Top, line_end_incl, line_of, line_start, newline};
use super::tokens::{flow_labels, key_token, value_token};
use super::verify::{original_groups, verify};
use super::{TargetEditError, check_label_names, edit_format, scan};
use crate::source::targets::Format;
use std::collections::BTreeMap;
use std::path::Path;

/// One replacement of `start..end` in the text.
pub(super) struct Splice {
    start: usize,
    end: usize,
    with: String,
}

impl Splice {
    /// Inserts `with` at `at`, replacing nothing.
    pub(super) fn insert(at: usize, with: String) -> Splice {
        Splice {
            start: at,
            end: at,
            with,
        }
    }

    /// The text with this replacement made.
    pub(super) fn apply(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.with.len());
        out.push_str(&text[..self.start]);
        out.push_str(&self.with);
        out.push_str(&text[self.end..]);
        out
    }
}

/// The text between two neighbouring flow entries, when it is only a comma and blanks.
pub(super) fn flow_separator(text: &str, entries: &[(usize, usize)]) -> Option<String> {
    entries.windows(2).find_map(|w| {
        let between = text.get(w[0].1..w[1].0)?;
        let clean = between.matches(',').count() == 1
            && between.chars().all(|c| c == ',' || c.is_whitespace());
        clean.then(|| between.to_string())
    })
}

/// Removal of item `i` of a flow collection together with one separator.
fn flow_removal(text: &str, spans: &[(usize, usize)], i: usize) -> Splice {
    let (start, end) = spans[i];
    if let Some(next) = spans.get(i + 1) {
        return Splice {
            start,
            end: next.0,
            with: String::new(),
        };
    }
    if i > 0 {
        return Splice {
            start: spans[i - 1].1,
            end,
            with: String::new(),
        };
    }
    // The only item: drop its trailing comma too, if it has one.
    let rest = text.get(end..).unwrap_or_default();
    let trimmed = rest.trim_start();
    let end = if trimmed.starts_with(',') {
        end + (rest.len() - trimmed.len()) + 1
    } else {
        end
    };
    Splice {
        start,
        end,
        with: String::new(),
    }
}

fn entry_spans(m: &Map) -> Vec<(usize, usize)> {
    m.entries
        .iter()
        .map(|e| (e.key.start, e.value.end().max(e.colon_end)))
        .collect()
}

/// The splice that sets or removes one label of one group.
fn label_splice(
    text: &str,
    format: Format,
    group: &Map,
    name: &str,
    value: Option<&str>,
    unsupported: &dyn Fn(usize, &str) -> TargetEditError,
) -> Result<Option<Splice>, TargetEditError> {
    let nl = newline(text);
    let labels = group.entries.iter().find(|e| e.key.value == "labels");
    let Some(labels) = labels else {
        let Some(value) = value else { return Ok(None) };
        let one = BTreeMap::from([(name.to_string(), value.to_string())]);
        let entry = format!(
            "{}: {}",
            key_token(format, "labels"),
            flow_labels(format, &one)
        );
        return Ok(Some(match group.entries.first() {
            None => Splice::insert(group.start + 1, entry),
            Some(first) if group.flow => Splice::insert(first.key.start, format!("{entry}, ")),
            Some(first) => Splice::insert(
                first.key.start,
                format!("{entry}{nl}{}", " ".repeat(group.indent)),
            ),
        }));
    };
    let map = match &labels.value {
        Node::Map(m) => m,
        v if v.is_null() => {
            let Some(value) = value else { return Ok(None) };
            let one = BTreeMap::from([(name.to_string(), value.to_string())]);
            let with = flow_labels(format, &one);
            return Ok(Some(match v {
                Node::Empty(at) => Splice::insert(*at, format!(" {with}")),
                other => Splice {
                    start: other.start(),
                    end: other.end(),
                    with,
                },
            }));
        }
        other => return Err(unsupported(other.start(), "`labels` is not a mapping")),
    };
    let found = map.entries.iter().position(|e| e.key.value == name);
    match (found, value) {
        (None, None) => Ok(None),
        (Some(i), Some(v)) => {
            let entry = &map.entries[i];
            Ok(Some(match &entry.value {
                Node::Scalar(s) => Splice {
                    start: s.start,
                    end: s.end,
                    with: value_token(format, v, Some(s.quote)),
                },
                Node::Empty(at) => {
                    Splice::insert(*at, format!(" {}", value_token(format, v, None)))
                }
                other => return Err(unsupported(other.start(), "a label value is a collection")),
            }))
        }
        (Some(i), None) if map.flow => Ok(Some(flow_removal(text, &entry_spans(map), i))),
        (Some(i), None) => {
            let entry = &map.entries[i];
            if map.entries.len() == 1 {
                return Ok(Some(Splice {
                    start: labels.colon_end,
                    end: entry.value.end().max(entry.colon_end),
                    with: " {}".to_string(),
                }));
            }
            Ok(Some(Splice {
                start: line_start(text, entry.key.start),
                end: line_end_incl(text, entry.value.end().max(entry.colon_end)),
                with: String::new(),
            }))
        }
        (None, Some(v)) => {
            let pair = format!(
                "{}: {}",
                key_token(format, name),
                value_token(format, v, None)
            );
            let before = map.entries.iter().find(|e| e.key.value.as_str() > name);
            if map.flow {
                let spans = entry_spans(map);
                let sep = flow_separator(text, &spans).unwrap_or_else(|| ", ".to_string());
                return Ok(Some(match (before, spans.last()) {
                    (Some(b), _) => Splice::insert(b.key.start, format!("{pair}{sep}")),
                    (None, Some(last)) => Splice::insert(last.1, format!("{sep}{pair}")),
                    (None, None) => Splice::insert(map.start + 1, pair),
                }));
            }
            let line = format!("{}{pair}", " ".repeat(map.indent));
            Ok(Some(match (before, map.entries.last()) {
                (Some(b), _) => {
                    Splice::insert(line_start(text, b.key.start), format!("{line}{nl}"))
                }
                (None, Some(last)) => {
                    let at = line_end_incl(text, last.value.end().max(last.colon_end));
                    if text[..at].ends_with('\n') {
                        Splice::insert(at, format!("{line}{nl}"))
                    } else {
                        Splice::insert(at, format!("{nl}{line}"))
                    }
                }
                (None, None) => return Err(unsupported(map.start, "an empty block mapping")),
            }))
        }
    }
}

/// The byte range a group occupies: whole lines for block lists, the node for flow.
fn group_span(text: &str, list: &Seq, index: usize) -> (usize, usize) {
    let node = &list.items[index];
    if list.flow {
        (node.start(), node.end())
    } else {
        let dash = list.dashes[index];
        (
            line_start(text, dash),
            line_end_incl(text, node.end().max(dash + 1)),
        )
    }
}

/// Sets (Some) or removes (None) labels of the group at `index` (0-based, Prometheus' order).
pub fn edit_group(
    path: &Path,
    text: &str,
    index: usize,
    changes: &BTreeMap<String, Option<String>>,
) -> Result<String, TargetEditError> {
    let format = edit_format(path)?;
    let old = original_groups(path, text)?;
    let Some(target) = old.get(index) else {
        return Err(TargetEditError::NoSuchGroup {
            path: path.to_path_buf(),
            index,
            count: old.len(),
        });
    };
    check_label_names(path, changes.keys())?;
    let mut expected = old.clone();
    let mut labels = target.labels.clone();
    for (k, v) in changes {
        match v {
            Some(v) => labels.insert(k.clone(), v.clone()),
            None => labels.remove(k),
        };
    }
    expected[index].labels = labels;

    let (span_start, span_end) = match scan(path, text, format)? {
        Top::List(list) if list.items.len() == old.len() => group_span(text, &list, index),
        top => {
            return Err(TargetEditError::Verify {
                path: path.to_path_buf(),
                reason: format!(
                    "the scanner found {} group(s), the parser {}",
                    top.groups().len(),
                    old.len()
                ),
            });
        }
    };
    let mut new = text.to_string();
    for (name, value) in changes {
        let top = scan(path, &new, format)?;
        let Some(node) = top.groups().get(index) else {
            return Err(TargetEditError::Verify {
                path: path.to_path_buf(),
                reason: "the group disappeared while editing".to_string(),
            });
        };
        let unsupported = |at: usize, reason: &str| TargetEditError::Unsupported {
            path: path.to_path_buf(),
            line: line_of(&new, at),
            reason: reason.to_string(),
        };
        let Node::Map(group) = node else {
            return Err(unsupported(node.start(), "the group is not a mapping"));
        };
        if let Some(splice) =
            label_splice(&new, format, group, name, value.as_deref(), &unsupported)?
        {
            new = splice.apply(&new);
        }
    }
    // Everything outside the group's own lines must be untouched, comments included,
    // which no parser can check for us.
    let (head, tail) = (&text[..span_start], &text[span_end..]);
    if !(new.starts_with(head) && new.ends_with(tail) && new.len() >= head.len() + tail.len()) {
        return Err(TargetEditError::Verify {
            path: path.to_path_buf(),
            reason: "text outside the group changed".to_string(),
        });
    }
    verify(path, &new, &expected)?;
    Ok(new)
}

/// Removes the group at `index` and, in YAML, the Pigsty comment line right above it.
pub fn remove_group(path: &Path, text: &str, index: usize) -> Result<String, TargetEditError> {
    let format = edit_format(path)?;
    let old = original_groups(path, text)?;
    if index >= old.len() {
        return Err(TargetEditError::NoSuchGroup {
            path: path.to_path_buf(),
            index,
            count: old.len(),
        });
    }
    let top = scan(path, text, format)?;
    let Top::List(list) = top else {
        return Err(TargetEditError::Verify {
            path: path.to_path_buf(),
            reason: "the scanner found no groups".to_string(),
        });
    };
    if list.items.len() != old.len() {
        return Err(TargetEditError::Verify {
            path: path.to_path_buf(),
            reason: format!(
                "the scanner found {} group(s), the parser {}",
                list.items.len(),
                old.len()
            ),
        });
    }
    let splice = if list.flow {
        let spans: Vec<(usize, usize)> = list.items.iter().map(|n| (n.start(), n.end())).collect();
        flow_removal(text, &spans, index)
    } else {
        let (mut start, end) = group_span(text, &list, index);
        if start > 0 {
            let above = line_start(text, start - 1);
            if text[above..start].trim_start().starts_with("#======>") {
                start = above;
            }
        }
        Splice {
            start,
            end,
            with: String::new(),
        }
    };
    let new = splice.apply(text);
    let mut expected = old;
    expected.remove(index);
    verify(path, &new, &expected)?;
    Ok(new)
}
