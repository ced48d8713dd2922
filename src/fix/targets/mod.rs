//! Writer for Prometheus static target files: edits one target group in place.
//!
//! Edits work on the text, not on a re-serialised document, because a target file is
//! also a document people read: every other group, label, target, comment, blank line,
//! quoting and flow/block style must survive byte for byte. A small scanner understands
//! the shapes target files take (a YAML block or flow list of groups, or a JSON array);
//! anything outside that subset (anchors, tags, multi-line scalars, ...) is refused
//! rather than guessed at. Every result is then re-parsed with the strict source parser
//! and compared group by group with what was asked, so a scanner mistake becomes an
//! error, never a wrong file.
//!
//! A general lossless YAML editor (yaml-edit 0.3, tried against this module's tests) does
//! not replace the scanner: it writes new mappings into JSON files as YAML, drops the
//! quoting of replaced values and the comment of an emptied block mapping, leaves a
//! removed group's Pigsty comment line behind, and edits through anchors, changing the
//! groups that alias the one asked, instead of refusing them.
//!
//! Writing replaces the file atomically after keeping a `.bak` of the original, and
//! refuses when the file changed since the plan was made.
//!
//! `scanner` reads the text, `splice` edits and removes groups, `emit` appends them,
//! `tokens` quotes what they write, `verify` checks every result and `file_io` puts it
//! on disk.

mod emit;
mod file_io;
mod scanner;
mod splice;
mod tokens;
mod verify;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use emit::add_group;
pub use file_io::{
    backup_path, digest, lock_path, resolve, restore_backup, write_file, write_file_with,
};
pub use splice::{edit_group, remove_group};

use crate::source::targets::{Format, TargetsError, format_of, valid_label_name};
use scanner::{Top, line_of, scan_groups};
use std::io;
use std::path::{Path, PathBuf};

/// Why a target file could not be edited or written; every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum TargetEditError {
    /// The original text is not a valid target file, so there is nothing safe to edit.
    #[error("cannot edit a file that does not parse: {0}")]
    Unparsable(TargetsError),
    /// The group index is past the end of the file.
    #[error("{}: no target group at index {index} (the file has {count})", path.display())]
    NoSuchGroup {
        /// The file.
        path: PathBuf,
        /// The index asked for.
        index: usize,
        /// How many groups the file has.
        count: usize,
    },
    /// The caller's input cannot be written (bad label name, multi-line comment, ...).
    #[error("{}: {reason}", path.display())]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong with the input.
        reason: String,
    },
    /// The file uses YAML the text editor does not handle; nothing was changed.
    #[error("{}:{line}: cannot edit this file in place: {reason}", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// 1-based line of the construct.
        line: usize,
        /// The construct.
        reason: String,
    },
    /// The edited text does not say exactly what was asked; it was not written.
    #[error("{}: the edit did not verify, nothing written: {reason}", path.display())]
    Verify {
        /// The file.
        path: PathBuf,
        /// The difference found.
        reason: String,
    },
    /// The file's content is not the one the plan was made from.
    #[error("{}: changed on disk since the plan; re-plan", path.display())]
    ChangedOnDisk {
        /// The file.
        path: PathBuf,
    },
    /// There is no `.bak` to restore.
    #[error("{}: no backup to restore", path.display())]
    NoBackup {
        /// The backup file that is missing.
        path: PathBuf,
    },
    /// A filesystem operation failed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        source: io::Error,
    },
}

/// What a successful [`write_file`] left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The copy of the original file, for [`restore_backup`].
    pub backup: PathBuf,
}

/// The file's format, or the error every entry point gives for any other extension.
fn edit_format(path: &Path) -> Result<Format, TargetEditError> {
    format_of(path).ok_or_else(|| {
        TargetEditError::Unparsable(TargetsError::UnsupportedExtension {
            path: path.to_path_buf(),
        })
    })
}

/// Scans `text`, naming the file and line of anything outside the supported subset.
fn scan(path: &Path, text: &str, format: Format) -> Result<Top, TargetEditError> {
    scan_groups(text, format == Format::Json).map_err(|u| TargetEditError::Unsupported {
        path: path.to_path_buf(),
        line: line_of(text, u.at),
        reason: u.reason,
    })
}

/// Refuses label names Prometheus would refuse, before any text is touched.
fn check_label_names<'k>(
    path: &Path,
    names: impl IntoIterator<Item = &'k String>,
) -> Result<(), TargetEditError> {
    for name in names {
        if !valid_label_name(name) {
            return Err(TargetEditError::BadInput {
                path: path.to_path_buf(),
                reason: format!("{name:?} is not a valid label name"),
            });
        }
    }
    Ok(())
}
