//! Pigsty's per-job target tree (1.5 and later: `targets/<job>/`), read as Prometheus'
//! PostgreSQL job reads it.
//!
//! Only `pgsql/` carries PostgreSQL identity. `patroni/` (Patroni's metrics when it
//! serves TLS) and `ping/` (VIP probes) name the same instances; they are read to
//! corroborate `pgsql/` and never become instances of their own. Every other job's
//! directory (`node/`, `etcd/`, `infra/`, `minio/`, `redis/`, ...) labels its groups with
//! `cls`/`ins`/`ip` too, for other kinds of members, and is left alone, as are files
//! directly in the root, which no job of the tree reads.

use super::collect::{Collected, dir_entries, dir_files};
use super::{TargetsError, format_of, is_directory, label, read_groups};
use crate::observation::{Observation, SourceReport};
use crate::source::file_error::{FileError, FileKind};
use crate::source::file_text;
use std::path::{Path, PathBuf};

/// The job directory holding PostgreSQL identity.
pub(super) const PGSQL: &str = "pgsql";

/// Job directories whose groups name `pgsql/`'s instances again.
const CORROBORATING: [&str; 2] = ["patroni", "ping"];

/// How many unmatched corroborating groups are named one by one before the rest are counted.
const LISTED: usize = 5;

/// True for a directory laid out as Pigsty's per-job tree: it has a `pgsql/` subdirectory.
pub(super) fn is_pigsty_tree(dir: &Path) -> bool {
    dir.join(PGSQL).is_dir()
}

/// Collects `pgsql/`'s files as identity and `patroni/`'s and `ping/`'s as corroboration,
/// and says in a note how the tree was read.
pub(super) fn collect_tree(dir: &Path, out: &mut Collected) {
    let mut read = 0usize;
    let mut skipped = 0usize;
    let mut root_files = 0usize;
    let mut corroborating = Vec::new();
    let mut ignored = Vec::new();
    for entry in dir_entries(dir, out) {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if entry.is_dir() && format_of(&entry).is_some() {
            out.errors.push(is_directory(entry));
        } else if entry.is_dir() && name == PGSQL {
            let (files, other) = dir_files(&entry, out);
            read += files.len();
            skipped += other;
            out.files.extend(files);
        } else if entry.is_dir() && CORROBORATING.contains(&name.as_str()) {
            let (files, other) = dir_files(&entry, out);
            skipped += other;
            out.corroborating.extend(files);
            corroborating.push(format!("{name}/"));
        } else if entry.is_dir() {
            ignored.push(format!("{name}/"));
        } else if format_of(&entry).is_some() {
            root_files += 1;
        } else {
            skipped += 1;
        }
    }
    let mut note = format!(
        "directory {}: Pigsty per-job tree: read {PGSQL}/ ({read} target file(s))",
        dir.display()
    );
    match corroborating.as_slice() {
        [] => {}
        [one] => note.push_str(&format!("; {one} corroborates")),
        many => note.push_str(&format!("; {} corroborate", and_list(many))),
    }
    if !ignored.is_empty() {
        note.push_str(&format!("; {} ignored", ignored.join(", ")));
    }
    if root_files > 0 {
        note.push_str(&format!(
            "; {root_files} target file(s) directly in it not read (no job of the tree reads them)"
        ));
    }
    if skipped > 0 {
        note.push_str(&format!(
            "; {skipped} other file(s) skipped (not .yml/.yaml/.json)"
        ));
    }
    out.notes.push(note);
}

fn and_list(items: &[String]) -> String {
    match items.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => items.join(""),
    }
}

/// Checks every `cls` group of the corroborating files against the instances read from
/// `pgsql/`, into notes and facts: a group naming an instance `pgsql/` does not know, or
/// placing it elsewhere, is worth a look but is not PostgreSQL identity, so it is never
/// an error nor an observation.
pub(super) fn corroborate(files: &[PathBuf], identity: &[Observation], report: &mut SourceReport) {
    if files.is_empty() {
        return;
    }
    let mut groups = 0usize;
    let mut unmatched = Vec::new();
    for file in files {
        let parsed = file_text::read_limited(file)
            .map_err(|f| TargetsError::from(FileError::read(FileKind::Target, file, f)))
            .and_then(|text| read_groups(file, &text));
        let parsed = match parsed {
            Ok(g) => g,
            Err(e) => {
                report
                    .notes
                    .push(format!("{e} (a corroborating file, not read for identity)"));
                continue;
            }
        };
        for g in parsed {
            let labels = &g.content.labels;
            let Some(cls) = label(labels, "cls") else {
                continue;
            };
            groups += 1;
            let ins = label(labels, "ins");
            let ip = label(labels, "ip");
            let known = identity.iter().any(|o| {
                o.cluster == cls
                    && (ins.is_none() || o.instance.as_deref() == ins)
                    && (ip.is_none() || o.ip.is_none() || o.ip.as_deref() == ip)
                    && (ins.is_some() || ip.is_some())
            });
            if !known {
                let what = match (ins, ip) {
                    (Some(i), Some(a)) => format!("{i} at {a}"),
                    (Some(i), None) => i.to_string(),
                    (None, Some(a)) => format!("{cls} at {a}"),
                    (None, None) => format!("cluster {cls} without ins or ip"),
                };
                unmatched.push(format!("{}:{} names {what}", file.display(), g.line));
            }
        }
    }
    let mut summary = format!(
        "{} corroborating group(s) checked against {PGSQL}/: ",
        groups
    );
    if unmatched.is_empty() {
        summary.push_str("every one names an instance it holds");
    } else {
        summary.push_str(&format!(
            "{} name(s) no instance it holds at that address",
            unmatched.len()
        ));
    }
    report.notes.push(summary);
    let extra = unmatched.len().saturating_sub(LISTED);
    report.notes.extend(unmatched.into_iter().take(LISTED));
    if extra > 0 {
        report
            .notes
            .push(format!("... and {extra} more corroborating group(s)"));
    }
    report
        .facts
        .insert("corroborating_files".into(), files.len().to_string());
    report
        .facts
        .insert("corroborating_groups".into(), groups.to_string());
}
