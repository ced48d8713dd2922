//! The file problems both file sources share: missing, a directory, unreadable, too large, unparsable.
//!
//! Target files and the inventory fail in the same ways before their contents matter;
//! only the wording of two messages differs, and [`FileKind`] carries that difference.

use crate::source::file_text::{self, Place, Position, Problem, ReadFailure};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Which file source a [`FileError`] comes from; it only changes the wording of messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A Prometheus static target file (file_sd).
    Target,
    /// The Pigsty (Ansible YAML) inventory.
    Inventory,
    /// Prometheus' own configuration (`prometheus.yml`).
    PrometheusConfig,
}

impl FileKind {
    /// What a missing path is called in this source's messages.
    fn missing(self) -> &'static str {
        match self {
            FileKind::Target => "no such file or directory",
            FileKind::Inventory | FileKind::PrometheusConfig => "no such file",
        }
    }

    /// The file this source expected, with its article.
    fn expected(self) -> &'static str {
        match self {
            FileKind::Target => "a target file",
            FileKind::Inventory => "an inventory file",
            FileKind::PrometheusConfig => "a Prometheus configuration file",
        }
    }
}

/// Renders the "nothing there" message of a [`FileKind`].
struct Missing(FileKind);

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.missing())
    }
}

/// Renders the "expected ..." noun of a [`FileKind`].
struct Expected(FileKind);

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.expected())
    }
}

/// What can go wrong reading and parsing one file; every message names its place.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Nothing exists at the path.
    #[error("{}: {}", path.display(), Missing(*kind))]
    NotFound {
        /// The missing path.
        path: PathBuf,
        /// The source that looked for it.
        kind: FileKind,
    },
    /// A file was expected but the path is a directory.
    #[error("{}: is a directory, expected {}", path.display(), Expected(*kind))]
    IsDirectory {
        /// The directory.
        path: PathBuf,
        /// The source that expected a file.
        kind: FileKind,
    },
    /// The file exists but could not be read (permissions, I/O, not UTF-8).
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
    /// The file is bigger than [`file_text::MAX_FILE_BYTES`].
    #[error("{}: file is {size} bytes, larger than the {limit}-byte limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The text does not parse, breaks a limit, or has the wrong shape for its source.
    #[error("{}: {message}", Place(path, Position { line: *line, column: *column }))]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line, 0 when unknown.
        line: usize,
        /// 1-based column, 0 when unknown.
        column: usize,
        /// What went wrong, without the position.
        message: String,
    },
}

impl FileError {
    /// A parse failure at the problem's position in `path`.
    pub fn parse(path: &Path, problem: Problem) -> FileError {
        FileError::Parse {
            path: path.to_path_buf(),
            line: problem.at.line,
            column: problem.at.column,
            message: problem.message,
        }
    }

    /// A failed [`file_text::read_limited`] of `path`, sorted into not found, directory, too large or I/O.
    pub fn read(kind: FileKind, path: &Path, failure: ReadFailure) -> FileError {
        let path = path.to_path_buf();
        match failure {
            ReadFailure::TooLarge(size) => FileError::TooLarge {
                path,
                size,
                limit: file_text::MAX_FILE_BYTES,
            },
            ReadFailure::Io(e) if e.kind() == io::ErrorKind::NotFound => {
                FileError::NotFound { path, kind }
            }
            ReadFailure::Io(e) if e.kind() == io::ErrorKind::IsADirectory => {
                FileError::IsDirectory { path, kind }
            }
            ReadFailure::NotRegular("a directory") => FileError::IsDirectory { path, kind },
            failure @ ReadFailure::NotRegular(_) => FileError::Read {
                path,
                source: io::Error::other(failure.to_string()),
            },
            ReadFailure::Io(source) => FileError::Read { path, source },
        }
    }

    /// Text of `size` bytes for `path` that is over [`file_text::MAX_FILE_BYTES`].
    pub fn too_large(path: &Path, size: u64) -> FileError {
        FileError::TooLarge {
            path: path.to_path_buf(),
            size,
            limit: file_text::MAX_FILE_BYTES,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_differ_only_by_kind() {
        let p = Path::new("f.yml");
        let nf = |kind| {
            FileError::NotFound {
                path: p.into(),
                kind,
            }
            .to_string()
        };
        assert_eq!(nf(FileKind::Target), "f.yml: no such file or directory");
        assert_eq!(nf(FileKind::Inventory), "f.yml: no such file");
        let dir = |kind| {
            FileError::IsDirectory {
                path: p.into(),
                kind,
            }
            .to_string()
        };
        assert_eq!(
            dir(FileKind::Target),
            "f.yml: is a directory, expected a target file"
        );
        assert_eq!(
            dir(FileKind::Inventory),
            "f.yml: is a directory, expected an inventory file"
        );
    }

    #[test]
    fn parse_and_size_messages() {
        let p = Path::new("f.yml");
        let problem = Problem {
            at: Position { line: 3, column: 7 },
            message: "bad".into(),
        };
        assert_eq!(FileError::parse(p, problem).to_string(), "f.yml:3:7: bad");
        assert_eq!(
            FileError::too_large(p, 5).to_string(),
            format!(
                "f.yml: file is 5 bytes, larger than the {}-byte limit",
                file_text::MAX_FILE_BYTES
            )
        );
    }

    #[test]
    fn read_failures_are_sorted() {
        let nf = io::Error::new(io::ErrorKind::NotFound, "x");
        let e = FileError::read(FileKind::Inventory, Path::new("i.yml"), ReadFailure::Io(nf));
        assert!(matches!(e, FileError::NotFound { .. }));
        let e = FileError::read(
            FileKind::Target,
            Path::new("t.yml"),
            ReadFailure::TooLarge(9),
        );
        assert!(matches!(e, FileError::TooLarge { size: 9, .. }));
    }
}
