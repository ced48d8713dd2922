//! Prometheus static target files (file_sd) as an identity source.
//!
//! Files are parsed as strictly as Prometheus parses them (unknown keys, `null` groups
//! and bad label names are errors), because a file Prometheus rejects is a file whose
//! targets Prometheus is not scraping: roster must say so rather than read it kindly.
//! Every target group with a `cls` label becomes one observation; groups without it are
//! not database instances (node or infra jobs) and are only counted.
//!
//! Patterns follow Prometheus' `file_sd_configs.files` (a `*` only in the last path
//! element), plus two conveniences Prometheus does not have: a plain file path of any
//! extension-checked name, and a directory, read by its layout (`collect`, `layout`):
//! Pigsty's per-job tree (a `pgsql/` subdirectory, 1.5 and later) as its PostgreSQL
//! job reads it, with `patroni/` and `ping/` only corroborating and other jobs' groups
//! left alone; any other directory (0.x's flat one) with the target files directly
//! inside it and inside its immediate subdirectories. The report's notes say which
//! reading was used. `prometheus_config` reads the PostgreSQL job's own patterns out of
//! `prometheus.yml`, for the settings to read exactly what Prometheus reads.

use crate::identity::seq_from_instance;
use crate::observation::{
    Observation, Origin, RoleClaim, SourceKind, SourceOutput, SourceReport, TargetOrigin,
};
use crate::source::file_error::{FileError, FileKind};
use crate::source::file_text::{self, Position, Problem};
use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_saphyr::Spanned;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

mod collect;
mod layout;
pub mod prometheus_config;

pub use collect::check_pattern;
use collect::{Collected, collect_pattern, dedup_files};

/// Deepest YAML nesting a target file may have; real files need 3 (list, group, labels).
pub const MAX_TARGET_DEPTH: usize = 16;

/// What can go wrong with one target file or pattern; every message names its place.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    /// The file is missing, a directory, unreadable, too large or not a valid target file.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file's extension does not say YAML or JSON.
    #[error("{}: unsupported extension, expected .yml, .yaml or .json", path.display())]
    UnsupportedExtension {
        /// The file.
        path: PathBuf,
    },
    /// A pattern Prometheus would refuse, or one the glob syntax cannot read.
    #[error("invalid pattern {pattern:?}: {reason}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// Why it is refused.
        reason: String,
    },
}

/// Nothing exists at `path`.
fn not_found(path: PathBuf) -> TargetsError {
    FileError::NotFound {
        path,
        kind: FileKind::Target,
    }
    .into()
}

/// A target file was expected (glob match or `.yml`/`.json` path) but `path` is a directory.
fn is_directory(path: PathBuf) -> TargetsError {
    FileError::IsDirectory {
        path,
        kind: FileKind::Target,
    }
    .into()
}

/// `path` exists but could not be read.
fn unreadable(path: PathBuf, source: io::Error) -> TargetsError {
    FileError::Read { path, source }.into()
}

/// A label name Prometheus accepts: `[a-zA-Z_][a-zA-Z0-9_]*`, checked while parsing so the
/// error carries the parser's position.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct LabelName(String);

impl<'de> Deserialize<'de> for LabelName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        if valid_label_name(&name) {
            Ok(LabelName(name))
        } else {
            Err(de::Error::custom(format!(
                "{name:?} is not a valid label name"
            )))
        }
    }
}

/// True for names matching Prometheus' `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// One target group exactly as Prometheus reads it; `null` members mean "absent" as in Go.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFields {
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<BTreeMap<LabelName, Option<String>>>,
}

/// A group that must be written as a mapping: serde's derived structs would also accept
/// a sequence (`[[targets], {labels}]`), which Prometheus refuses.
#[derive(Debug)]
struct RawGroup(GroupFields);

impl<'de> Deserialize<'de> for RawGroup {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapOnly;
        impl<'de> de::Visitor<'de> for MapOnly {
            type Value = GroupFields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a target group mapping with `targets` and `labels`")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<GroupFields, A::Error> {
                GroupFields::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(MapOnly).map(RawGroup)
    }
}

/// A list item that must be a group: Prometheus refuses `null` items outright.
#[derive(Debug)]
struct GroupItem(RawGroup);

impl<'de> Deserialize<'de> for GroupItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<RawGroup>::deserialize(d)? {
            Some(group) => Ok(GroupItem(group)),
            None => Err(de::Error::custom("nil target group item found")),
        }
    }
}

/// One target group as Prometheus reads it, whether or not it has a `cls` label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// The `targets` list in file order (empty when absent or `null`).
    pub targets: Vec<String>,
    /// The labels, a `null` value read as the empty string as Prometheus does.
    pub labels: BTreeMap<String, String>,
}

impl TargetGroup {
    fn new(raw: RawGroup) -> TargetGroup {
        let raw = raw.0;
        let labels = raw
            .labels
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.0, v.unwrap_or_default()))
            .collect();
        TargetGroup {
            targets: raw.targets.unwrap_or_default(),
            labels,
        }
    }
}

/// A parsed group and the 1-based line it starts on.
struct Group {
    line: usize,
    content: TargetGroup,
}

impl Group {
    fn new(line: usize, raw: RawGroup) -> Group {
        Group {
            line,
            content: TargetGroup::new(raw),
        }
    }
}

/// The file formats file_sd knows, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.yml` or `.yaml`, in any letter case.
    Yaml,
    /// `.json`, in any letter case.
    Json,
}

/// The format a target file's extension says, or None for any other extension.
pub fn format_of(path: &Path) -> Option<Format> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "yml" | "yaml" => Some(Format::Yaml),
        "json" => Some(Format::Json),
        _ => None,
    }
}

/// The groups of one file plus the count of groups that were not database instances.
struct ParsedFile {
    observations: Vec<Observation>,
    groups: usize,
}

/// Parses one target file (format by extension) into one observation per `cls` group.
pub fn parse_target_file(path: &Path, text: &str) -> Result<Vec<Observation>, TargetsError> {
    parse_file(path, text).map(|p| p.observations)
}

/// Every group of one target file's text in file order, `cls` or not, read as strictly
/// and with the same limits as [`parse_target_file`] reads it.
pub fn parse_target_groups(path: &Path, text: &str) -> Result<Vec<TargetGroup>, TargetsError> {
    Ok(read_groups(path, text)?
        .into_iter()
        .map(|g| g.content)
        .collect())
}

fn read_groups(path: &Path, text: &str) -> Result<Vec<Group>, TargetsError> {
    if text.len() as u64 > file_text::MAX_FILE_BYTES {
        return Err(FileError::too_large(path, text.len() as u64).into());
    }
    let groups = match format_of(path) {
        Some(Format::Yaml) => parse_yaml_groups(text),
        Some(Format::Json) => parse_json_groups(text),
        None => {
            return Err(TargetsError::UnsupportedExtension {
                path: path.to_path_buf(),
            });
        }
    }
    .map_err(|p| FileError::parse(path, p))?;
    Ok(groups)
}

fn parse_file(path: &Path, text: &str) -> Result<ParsedFile, TargetsError> {
    let groups = read_groups(path, text)?;
    let count = groups.len();
    let observations = groups
        .into_iter()
        .enumerate()
        .filter_map(|(index, g)| observation(path, index, g))
        .collect();
    Ok(ParsedFile {
        observations,
        groups: count,
    })
}

fn parse_yaml_groups(text: &str) -> Result<Vec<Group>, Problem> {
    let opts = file_text::options(MAX_TARGET_DEPTH, serde_saphyr::DuplicateKeyPolicy::Error);
    let items: Option<Vec<Spanned<GroupItem>>> = serde_saphyr::from_str_with_options(text, opts)
        .map_err(|e| file_text::yaml_problem(&e, MAX_TARGET_DEPTH))?;
    Ok(items
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let line = usize::try_from(s.referenced.line()).unwrap_or(0);
            Group::new(line, s.value.0)
        })
        .collect())
}

fn parse_json_groups(text: &str) -> Result<Vec<Group>, Problem> {
    // Prometheus errors on an empty JSON file; roster treats it like an empty YAML file
    // because a file that is being (re)written is often momentarily empty.
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    // Null items are read as `None` and refused here rather than inside serde_json,
    // whose position for a custom error is wherever its reader stopped, not the item.
    let items: Option<Vec<Option<RawGroup>>> =
        serde_json::from_str(text).map_err(|e| file_text::json_problem(&e))?;
    let lines = json_element_lines(text);
    let line_of = |i: usize| lines.get(i).copied().unwrap_or(0);
    let mut groups = Vec::new();
    for (i, item) in items.unwrap_or_default().into_iter().enumerate() {
        let Some(raw) = item else {
            return Err(Problem {
                at: Position {
                    line: line_of(i),
                    column: 0,
                },
                message: "nil target group item found".to_string(),
            });
        };
        groups.push(Group::new(line_of(i), raw));
    }
    Ok(groups)
}

/// The 1-based line on which each element of the top-level JSON array starts.
///
/// serde_json keeps no positions for values, so this scans the (already validated) text,
/// tracking strings and nesting, and records where each depth-1 value begins.
fn json_element_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut line, mut depth) = (1usize, 0usize);
    let (mut in_string, mut escaped, mut expect_value) = (false, false, false);
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        if c.is_whitespace() {
            continue;
        }
        if depth == 1 && expect_value && c != ']' {
            lines.push(line);
        }
        expect_value = false;
        match c {
            '"' => in_string = true,
            '[' | '{' => {
                depth += 1;
                expect_value = depth == 1;
            }
            ']' | '}' => depth = depth.saturating_sub(1),
            ',' => expect_value = depth == 1,
            _ => {}
        }
    }
    lines
}

/// A label value, treating an empty value as absent like Prometheus does.
fn label<'a>(labels: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    labels.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn observation(path: &Path, index: usize, group: Group) -> Option<Observation> {
    let Group { line, content } = group;
    let labels = &content.labels;
    let cluster = label(labels, "cls")?.to_string();
    let instance = label(labels, "ins").map(str::to_string);
    let seq = instance
        .as_deref()
        .and_then(|ins| seq_from_instance(&cluster, ins));
    let ip = label(labels, "ip")
        .map(str::to_string)
        .or_else(|| content.targets.first().and_then(|t| target_host(t)));
    Some(Observation {
        source: SourceKind::Targets,
        seq,
        instance,
        service: label(labels, "svc").map(str::to_string),
        role: label(labels, "role").map(|r| RoleClaim::new(r, "label role")),
        ip,
        origin: Origin::Targets(TargetOrigin {
            file: path.to_path_buf(),
            line,
            index,
            targets: content.targets,
            labels: content.labels,
        }),
        cluster,
    })
}

/// The host part of a target: `[v6]:port`, `host:port`, a bare host or a bare IPv6 address.
pub fn target_host(target: &str) -> Option<String> {
    let t = target.trim();
    let host = if let Some(rest) = t.strip_prefix('[') {
        rest.split_once(']').map(|(h, _)| h)?
    } else if t.matches(':').count() == 1 {
        t.split_once(':').map(|(h, _)| h)?
    } else {
        t
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// Totals kept while reading, reported as facts.
#[derive(Default)]
struct Tally {
    /// Files read from disk (parsed or not).
    files: usize,
    /// Files found but not readable.
    unread: usize,
    /// Files read that did not parse.
    unparsed: usize,
    groups: usize,
    observations: usize,
}

/// Reads every target file the patterns name; one bad file never hides the others.
pub fn read_targets(patterns: &[String]) -> SourceOutput {
    let mut report = SourceReport::new(SourceKind::Targets, patterns.join(", "));
    if patterns.is_empty() {
        report.error("no target file patterns given");
    }
    let mut collected = Collected::default();
    for pattern in patterns {
        collect_pattern(pattern, &mut collected);
    }
    let files = dedup_files(std::mem::take(&mut collected.files));
    let mut observations = Vec::new();
    let mut tally = Tally::default();
    for file in &files {
        let text = match file_text::read_limited(file) {
            Ok(text) => text,
            Err(f) => {
                tally.unread += 1;
                collected
                    .errors
                    .push(FileError::read(FileKind::Target, file, f).into());
                continue;
            }
        };
        tally.files += 1;
        match parse_file(file, &text) {
            Ok(parsed) => {
                tally.groups += parsed.groups;
                tally.observations += parsed.observations.len();
                observations.extend(parsed.observations);
            }
            Err(e) => {
                tally.unparsed += 1;
                collected.errors.push(e);
            }
        }
    }
    let corroborating = std::mem::take(&mut collected.corroborating);
    finish_report(&mut report, collected, &tally);
    layout::corroborate(&corroborating, &observations, &mut report);
    SourceOutput::new(report, observations)
}

fn finish_report(report: &mut SourceReport, collected: Collected, tally: &Tally) {
    for e in collected.errors {
        report.error(e.to_string());
    }
    report.notes.extend(collected.notes);
    let skipped = tally.groups - tally.observations;
    if skipped > 0 {
        report.notes.push(format!(
            "{skipped} target group(s) without a cls label skipped (not database instances)"
        ));
    }
    let facts = [
        ("files", tally.files),
        ("files_unreadable", tally.unread),
        ("files_unparsed", tally.unparsed),
        ("groups", tally.groups),
        ("groups_without_cls", skipped),
    ];
    for (name, value) in facts {
        report.facts.insert(name.to_string(), value.to_string());
    }
}

#[cfg(test)]
mod tests;
