//! Reading text files under limits, and where in them YAML or JSON went wrong.
//!
//! Both file sources read text written by people and tools roster does not control, so
//! every read is size-capped and every YAML parse runs under an explicit serde-saphyr
//! budget: a hostile or broken file must end in an error that names its place, never in
//! an exhausted stack or heap.

use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest file the file sources will read; identity files are kilobytes, not megabytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Most YAML events (scalars, collection starts and ends) one file may produce.
pub const MAX_EVENTS: usize = 1_000_000;

/// Most anchors/aliases one file may use; keeps alias expansion ("billion laughs") bounded.
pub const MAX_ALIASES: usize = 10_000;

/// A 1-based position in a text; `0` means unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    /// 1-based line, 0 when unknown.
    pub line: usize,
    /// 1-based column (in characters), 0 when unknown.
    pub column: usize,
}

/// A parse failure reduced to its position and a one-line message without the position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Where the parser stopped.
    pub at: Position,
    /// What went wrong, without the position (the caller prefixes `file:line:column`).
    pub message: String,
}

/// Renders `file:line:column`, dropping the parts that are unknown.
pub fn place(path: &Path, at: Position) -> String {
    match (at.line, at.column) {
        (0, _) => path.display().to_string(),
        (line, 0) => format!("{}:{line}", path.display()),
        (line, column) => format!("{}:{line}:{column}", path.display()),
    }
}

/// Display helper so error enums can write `{}` for a place.
pub struct Place<'a>(pub &'a Path, pub Position);

impl fmt::Display for Place<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&place(self.0, self.1))
    }
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadFailure {
    /// The operating system refused or failed the read.
    Io(io::Error),
    /// The file is bigger than the limit; the size seen is attached.
    TooLarge(u64),
    /// The path is not a regular file; what it is instead (`a FIFO`, `a directory`, ...).
    NotRegular(&'static str),
}

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadFailure::Io(e) => write!(f, "{e}"),
            ReadFailure::TooLarge(size) => write!(f, "{size} bytes, too large"),
            ReadFailure::NotRegular(what) => write!(f, "not a regular file ({what})"),
        }
    }
}

/// What a non-regular file is, in words.
fn kind_of(t: FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// Linux's `O_NONBLOCK`: opening a FIFO without a writer returns at once instead of waiting.
const O_NONBLOCK: i32 = 0o4000;

/// Opens `path` for reading if it is a regular file; anything else is refused without
/// waiting, as the open does not block on a FIFO and the type is checked on the opened
/// handle itself (so a swap between a check and the open changes nothing).
pub fn open_regular(path: &Path) -> Result<File, ReadFailure> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(O_NONBLOCK)
        .open(path)
        .map_err(ReadFailure::Io)?;
    let kind = file.metadata().map_err(ReadFailure::Io)?.file_type();
    if kind.is_file() {
        Ok(file)
    } else {
        Err(ReadFailure::NotRegular(kind_of(kind)))
    }
}

/// Reads a whole regular file of at most `limit` bytes.
///
/// The cap is enforced on the bytes actually read, not only on the metadata, so a file
/// that grows while being read cannot make roster allocate without bound.
pub fn read_bytes_limited(path: &Path, limit: u64) -> Result<Vec<u8>, ReadFailure> {
    read_open(open_regular(path)?, limit)
}

/// Reads the rest of an opened file, at most `limit` bytes (see [`read_bytes_limited`]).
pub fn read_open(file: File, limit: u64) -> Result<Vec<u8>, ReadFailure> {
    let len = file.metadata().map_err(ReadFailure::Io)?.len();
    if len > limit {
        return Err(ReadFailure::TooLarge(len));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadFailure::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadFailure::TooLarge(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Reads a whole UTF-8 regular file, refusing anything larger than [`MAX_FILE_BYTES`].
pub fn read_limited(path: &Path) -> Result<String, ReadFailure> {
    let bytes = read_bytes_limited(path, MAX_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadFailure::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// serde-saphyr options for one source: strict YAML 1.2 booleans, no snippets, bounded budget.
///
/// `max_depth` bounds block and flow nesting alike; it is what keeps a deeply nested
/// file from recursing through the deserializer until the stack runs out.
/// `duplicate_keys` is a parameter because Prometheus rejects repeated keys while Ansible
/// (PyYAML) lets the last one win.
pub fn options(
    max_depth: usize,
    duplicate_keys: serde_saphyr::DuplicateKeyPolicy,
) -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        duplicate_keys: duplicate_keys,
        budget: serde_saphyr::budget! {
            max_depth: max_depth,
            flow_nesting_limit: max_depth,
            max_events: MAX_EVENTS,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ALIASES,
        },
    }
}

/// Turns a serde-saphyr error into a position and a position-free, one-line message.
pub fn yaml_problem(err: &serde_saphyr::Error, max_depth: usize) -> Problem {
    let at = err
        .location()
        .map(|l| Position {
            line: usize::try_from(l.line()).unwrap_or(0),
            column: usize::try_from(l.column()).unwrap_or(0),
        })
        .unwrap_or_default();
    let text = one_line(&err.to_string());
    let message = strip_suffix_position(&text, at).to_string();
    Problem {
        at,
        message: explain_limit(message, max_depth),
    }
}

/// Turns a serde_json error into a position and a position-free message.
pub fn json_problem(err: &serde_json::Error) -> Problem {
    let at = Position {
        line: err.line(),
        column: err.column(),
    };
    let text = one_line(&err.to_string());
    let message = strip_suffix_position(&text, at).to_string();
    let message = if message.contains("recursion limit exceeded") {
        format!("{message} (JSON nesting is limited to 128 levels)")
    } else {
        message
    };
    Problem { at, message }
}

/// Both parsers append the position (serde-saphyr " at line L, column C", serde_json
/// " at line L column C"); the caller prints the place first instead.
fn strip_suffix_position(text: &str, at: Position) -> &str {
    let saphyr = format!(" at line {}, column {}", at.line, at.column);
    let json = format!(" at line {} column {}", at.line, at.column);
    text.strip_suffix(&saphyr)
        .or_else(|| text.strip_suffix(&json))
        .unwrap_or(text)
}

/// Messages end up in one-line reports and terminal cells: no embedded newlines.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// serde-saphyr names budget breaches by their Rust debug form; say what limit was hit.
fn explain_limit(message: String, max_depth: usize) -> String {
    if message.starts_with("budget breached: Depth") || message.contains("recursion limit") {
        format!("nesting deeper than {max_depth} levels (roster's limit for this file)")
    } else if message.starts_with("multiple YAML documents detected") {
        "more than one YAML document (`---`) in one file".to_string()
    } else if message.starts_with("budget breached") {
        format!("{message} (roster's size limits for YAML files)")
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn place_drops_unknown_parts() {
        let p = Path::new("t.yml");
        assert_eq!(place(p, Position::default()), "t.yml");
        assert_eq!(place(p, Position { line: 3, column: 0 }), "t.yml:3");
        assert_eq!(place(p, Position { line: 3, column: 7 }), "t.yml:3:7");
    }

    #[test]
    fn yaml_errors_lose_their_suffix_but_keep_the_position() {
        let err = serde_saphyr::from_str_with_options::<BTreeMap<String, String>>(
            "a: b\nc: [d\n",
            options(8, serde_saphyr::DuplicateKeyPolicy::Error),
        )
        .err();
        let Some(err) = err else {
            panic!("unclosed flow sequence must not parse");
        };
        let problem = yaml_problem(&err, 8);
        assert!(problem.at.line >= 2, "{problem:?}");
        assert!(!problem.message.contains(" at line "), "{problem:?}");
    }

    #[test]
    fn depth_breach_is_explained() {
        let deep = format!("{}{}", "[".repeat(50), "]".repeat(50));
        let err = serde_saphyr::from_str_with_options::<serde_json::Value>(
            &deep,
            options(8, serde_saphyr::DuplicateKeyPolicy::Error),
        )
        .err();
        let Some(err) = err else {
            panic!("50 levels must exceed a limit of 8");
        };
        let problem = yaml_problem(&err, 8);
        assert!(
            problem.message.contains("deeper than 8 levels"),
            "{problem:?}"
        );
    }

    #[test]
    fn json_errors_carry_line_and_column() {
        let err = serde_json::from_str::<serde_json::Value>("[\n  {\"a\": }\n]").err();
        let Some(err) = err else {
            panic!("invalid JSON must not parse");
        };
        let problem = json_problem(&err);
        assert_eq!(problem.at.line, 2);
        assert!(problem.at.column > 0);
        assert!(!problem.message.contains(" at line "));
    }

    #[test]
    fn json_recursion_is_limited() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = serde_json::from_str::<serde_json::Value>(&deep).err();
        let Some(err) = err else {
            panic!("serde_json must refuse 10000 levels of nesting");
        };
        assert!(json_problem(&err).message.contains("recursion limit"));
    }

    #[test]
    fn read_limited_refuses_directories_and_devices() {
        let dir = std::env::temp_dir();
        assert!(matches!(
            read_limited(&dir),
            Err(ReadFailure::NotRegular("a directory"))
        ));
        assert!(matches!(
            read_limited(Path::new("/dev/zero")),
            Err(ReadFailure::NotRegular("a character device"))
        ));
    }
}
