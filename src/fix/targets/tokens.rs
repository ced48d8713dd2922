//! The tokens written for new text: label values and names quoted so that every YAML
//! reader (1.1 or 1.2) and JSON reads back the same string, and new flow collections.

use super::scanner::Quote;
use crate::source::targets::Format;
use std::collections::BTreeMap;

/// Words a YAML 1.1 or 1.2 reader might take for a boolean or null.
pub(super) fn reserved_word(v: &str) -> bool {
    matches!(
        v.to_ascii_lowercase().as_str(),
        "true" | "false" | "null" | "~" | "yes" | "no" | "on" | "off" | "y" | "n"
    )
}

/// A value that a YAML reader could take for a number (int, float, hex, octal, .inf, 1_000).
fn numberish(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    v.parse::<f64>().is_ok()
        || ["0x", "0o", "0b"].iter().any(|p| body.starts_with(p))
        || matches!(body, ".inf" | ".nan")
        || (body.starts_with(|c: char| c.is_ascii_digit())
            && body
                .chars()
                .all(|c| c.is_ascii_digit() || c == '_' || c == ':'))
}

/// True when `v` can be written as a YAML plain scalar in block and flow context alike.
fn plain_safe(v: &str) -> bool {
    let mut bytes = v.bytes();
    let first_ok = matches!(bytes.next(), Some(c) if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/'));
    first_ok
        && v.bytes().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-' | b'/' | b':' | b'+' | b'@')
        })
        && !v.ends_with(':')
        && !reserved_word(v)
        && !numberish(v)
}

/// A JSON string, which is also a YAML double-quoted scalar.
fn json_string(v: &str) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "\"\"".to_string())
}

/// A YAML value token, keeping the quoting of the value it replaces when it can.
fn yaml_value(v: &str, old: Option<Quote>) -> String {
    let printable = !v.chars().any(char::is_control);
    match old {
        Some(Quote::Double) => json_string(v),
        Some(Quote::Single) if printable => format!("'{}'", v.replace('\'', "''")),
        _ if plain_safe(v) => v.to_string(),
        _ => json_string(v),
    }
}

/// A label value token in the file's format.
pub(super) fn value_token(format: Format, v: &str, old: Option<Quote>) -> String {
    match format {
        Format::Json => json_string(v),
        Format::Yaml => yaml_value(v, old),
    }
}

/// A label name (or `labels`) token in the file's format.
pub(super) fn key_token(format: Format, k: &str) -> String {
    match format {
        Format::Json => json_string(k),
        Format::Yaml if plain_safe(k) => k.to_string(),
        Format::Yaml => json_string(k),
    }
}

/// A new labels mapping in flow style: `{a: b, c: d}`.
pub(super) fn flow_labels(format: Format, labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}: {}", key_token(format, k), value_token(format, v, None)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

/// A new targets list in flow style: `[a, b]`.
pub(super) fn flow_targets(format: Format, targets: &[String]) -> String {
    let items: Vec<String> = targets
        .iter()
        .map(|t| value_token(format, t, None))
        .collect();
    format!("[{}]", items.join(", "))
}
