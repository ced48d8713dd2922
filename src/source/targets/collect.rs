//! Which files a list of paths, globs and directories names, as Prometheus' `files`
//! patterns name them, plus the directories roster reads by their layout.

use super::layout;
use super::{TargetsError, format_of, is_directory, not_found, unreadable};
use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Extensions Prometheus accepts in a `files` pattern (exactly these spellings).
const PATTERN_EXTENSIONS: [&str; 6] = [".json", ".yml", ".yaml", ".JSON", ".YML", ".YAML"];

/// Checks a glob the way Prometheus does: `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
pub fn check_pattern(pattern: &str) -> Result<(), TargetsError> {
    let bad = |reason: &str| TargetsError::BadPattern {
        pattern: pattern.to_string(),
        reason: reason.to_string(),
    };
    if !PATTERN_EXTENSIONS.iter().any(|e| pattern.ends_with(e)) {
        return Err(bad(
            "must end in .json, .yml or .yaml (Prometheus file_sd rule)",
        ));
    }
    if let Some(star) = pattern.find('*')
        && pattern[star..].contains('/')
    {
        return Err(bad(
            "`*` is only allowed in the last path element (Prometheus file_sd rule)",
        ));
    }
    Ok(())
}

pub(super) fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The files to read, deduplicated and sorted, with the problems and notes met finding them.
#[derive(Default)]
pub(super) struct Collected {
    /// The files that carry PostgreSQL identity.
    pub(super) files: Vec<PathBuf>,
    /// Files of Pigsty's `patroni/` and `ping/` jobs: read to corroborate the instances
    /// of `pgsql/`, never as instances of their own.
    pub(super) corroborating: Vec<PathBuf>,
    pub(super) errors: Vec<TargetsError>,
    pub(super) notes: Vec<String>,
}

pub(super) fn collect_pattern(pattern: &str, out: &mut Collected) {
    if is_glob(pattern) {
        collect_glob(pattern, out);
        return;
    }
    let path = PathBuf::from(pattern);
    match fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            out.errors.push(not_found(path));
        }
        Err(source) => out.errors.push(unreadable(path, source)),
        Ok(meta) if meta.is_dir() && format_of(&path).is_some() => {
            out.errors.push(is_directory(path));
        }
        Ok(meta) if meta.is_dir() => collect_dir(&path, out),
        Ok(_) => out.files.push(path),
    }
}

fn collect_glob(pattern: &str, out: &mut Collected) {
    if let Err(e) = check_pattern(pattern) {
        out.errors.push(e);
        return;
    }
    let paths = match glob::glob(pattern) {
        Ok(paths) => paths,
        Err(e) => {
            out.errors.push(TargetsError::BadPattern {
                pattern: pattern.to_string(),
                reason: e.to_string(),
            });
            return;
        }
    };
    let mut matched = 0usize;
    for entry in paths {
        matched += 1;
        match entry {
            Ok(path) if path.is_dir() => out.errors.push(is_directory(path)),
            Ok(path) => out.files.push(path),
            Err(e) => out.errors.push(unreadable(
                e.path().to_path_buf(),
                io::Error::new(e.error().kind(), e.error().to_string()),
            )),
        }
    }
    if matched == 0 {
        note_empty_glob(pattern, out);
    }
}

/// Prometheus silently reads nothing for a glob that matches nothing; roster notes it,
/// and calls it an error when even the directory the glob looks in is missing.
fn note_empty_glob(pattern: &str, out: &mut Collected) {
    let dir = Path::new(pattern)
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !is_glob(&d.to_string_lossy()));
    match dir {
        Some(d) if !d.exists() => out.errors.push(not_found(d.to_path_buf())),
        _ => out
            .notes
            .push(format!("pattern {pattern:?} matched no files")),
    }
}

/// Reads a directory by its layout: Pigsty's per-job tree (a `pgsql/` subdirectory) as
/// Prometheus' PostgreSQL job reads it, anything else (0.x's flat directory of one file
/// per cluster or instance) with its own target files and those of its immediate
/// subdirectories.
fn collect_dir(dir: &Path, out: &mut Collected) {
    if layout::is_pigsty_tree(dir) {
        layout::collect_tree(dir, out);
        return;
    }
    let mut files = 0usize;
    let mut skipped = 0usize;
    let mut subdirs = BTreeSet::new();
    for entry in dir_entries(dir, out) {
        // A directory named like a target file is most likely a file replaced by a
        // directory: an error naming it, not a silently empty subdirectory.
        if entry.is_dir() && format_of(&entry).is_some() {
            out.errors.push(is_directory(entry));
        } else if entry.is_dir() {
            let (inner, other) = dir_files(&entry, out);
            skipped += other;
            if !inner.is_empty() {
                files += inner.len();
                subdirs.insert(entry.clone());
                out.files.extend(inner);
            }
        } else if format_of(&entry).is_some() {
            files += 1;
            out.files.push(entry);
        } else {
            skipped += 1;
        }
    }
    out.notes.push(dir_note(dir, files, skipped, &subdirs));
}

/// The target files directly inside `dir`, and how many other files it holds; a
/// directory inside it named like a target file is an error.
pub(super) fn dir_files(dir: &Path, out: &mut Collected) -> (Vec<PathBuf>, usize) {
    let mut files = Vec::new();
    let mut skipped = 0usize;
    for inner in dir_entries(dir, out) {
        if inner.is_dir() && format_of(&inner).is_some() {
            out.errors.push(is_directory(inner));
        } else if !inner.is_dir() && format_of(&inner).is_some() {
            files.push(inner);
        } else if !inner.is_dir() {
            skipped += 1;
        }
    }
    (files, skipped)
}

fn dir_note(dir: &Path, files: usize, skipped: usize, subdirs: &BTreeSet<PathBuf>) -> String {
    let mut note = format!("directory {}: {files} target file(s)", dir.display());
    if !subdirs.is_empty() {
        let names: Vec<String> = subdirs.iter().map(|d| d.display().to_string()).collect();
        note.push_str(&format!(", read from it and from {}", names.join(", ")));
    }
    if skipped > 0 {
        note.push_str(&format!(
            "; {skipped} other file(s) skipped (not .yml/.yaml/.json)"
        ));
    }
    note
}

pub(super) fn dir_entries(dir: &Path, out: &mut Collected) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(rd) => {
            let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            v.sort();
            v
        }
        Err(source) => {
            out.errors.push(unreadable(dir.to_path_buf(), source));
            Vec::new()
        }
    }
}

/// Sorts and drops files reached twice (through two patterns, or a symlink).
pub(super) fn dedup_files(files: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut seen = BTreeSet::new();
    let mut sorted = files;
    sorted.sort();
    sorted
        .into_iter()
        .filter(|p| seen.insert(fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .collect()
}
