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
//! Writing replaces the file atomically (temporary file in the same directory, fsync,
//! rename, directory fsync) after keeping a `.bak` of the original, and refuses when the
//! file changed since the plan was made. Temporary names never end in `.yml`, `.yaml` or
//! `.json`, so Prometheus' `files` patterns never pick up a half-written file.

use crate::observation::Origin;
use crate::source::targets::valid_label_name;
use crate::source::targets::{
    Format, TargetGroup, TargetsError, format_of, parse_target_file, parse_target_groups,
    target_host,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

// ---------------------------------------------------------------------------------------
// Group contents as Prometheus sees them (for verification)
// ---------------------------------------------------------------------------------------

/// The file's format, or the error every entry point gives for any other extension.
fn edit_format(path: &Path) -> Result<Format, TargetEditError> {
    format_of(path).ok_or_else(|| {
        TargetEditError::Unparsable(TargetsError::UnsupportedExtension {
            path: path.to_path_buf(),
        })
    })
}

/// Every group of the text being edited; a file the strict parser refuses is not edited.
fn original_groups(path: &Path, text: &str) -> Result<Vec<TargetGroup>, TargetEditError> {
    parse_target_groups(path, text).map_err(TargetEditError::Unparsable)
}

/// Re-parses `new_text` and checks it holds exactly `expected`, every group and the
/// database groups the source reads from it.
fn verify(path: &Path, new_text: &str, expected: &[TargetGroup]) -> Result<(), TargetEditError> {
    let fail = |reason: String| TargetEditError::Verify {
        path: path.to_path_buf(),
        reason,
    };
    let observations = parse_target_file(path, new_text)
        .map_err(|e| fail(format!("the new text does not parse: {e}")))?;
    let got = parse_target_groups(path, new_text).map_err(|e| fail(format!("re-reading: {e}")))?;
    if got.len() != expected.len() {
        return Err(fail(format!(
            "{} group(s) instead of {}",
            got.len(),
            expected.len()
        )));
    }
    if let Some((i, (g, e))) = got
        .iter()
        .zip(expected)
        .enumerate()
        .find(|(_, (g, e))| g != e)
    {
        return Err(fail(format!("group {i} would be {g:?}, expected {e:?}")));
    }
    // The observations must be exactly the expected `cls` groups, at their indexes.
    let want: Vec<(usize, &TargetGroup)> = expected
        .iter()
        .enumerate()
        .filter(|(_, g)| g.labels.get("cls").is_some_and(|c| !c.trim().is_empty()))
        .collect();
    let seen: Vec<(usize, TargetGroup)> = observations
        .into_iter()
        .filter_map(|o| match o.origin {
            Origin::Targets(t) => Some((
                t.index,
                TargetGroup {
                    targets: t.targets,
                    labels: t.labels,
                },
            )),
            _ => None,
        })
        .collect();
    let same = want.len() == seen.len()
        && want
            .iter()
            .zip(&seen)
            .all(|((wi, wg), (si, sg))| wi == si && *wg == sg);
    if !same {
        return Err(fail(
            "the target parser reads different database groups".to_string(),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Scanner: the subset of YAML (and JSON) that target files are written in
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Quote {
    Plain,
    Single,
    Double,
}

#[derive(Clone, Debug)]
struct Scalar {
    start: usize,
    end: usize,
    quote: Quote,
    value: String,
}

#[derive(Clone, Debug)]
struct Seq {
    start: usize,
    end: usize,
    flow: bool,
    items: Vec<Node>,
    /// Block style only: where each item's `-` is.
    dashes: Vec<usize>,
}

#[derive(Clone, Debug)]
struct Map {
    start: usize,
    end: usize,
    flow: bool,
    /// Block style: the column of the keys.
    indent: usize,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Entry {
    key: Scalar,
    colon_end: usize,
    value: Node,
}

#[derive(Clone, Debug)]
enum Node {
    Scalar(Scalar),
    /// A key or item with no value at all (`labels:` at the end of a line).
    Empty(usize),
    Seq(Seq),
    Map(Map),
}

impl Node {
    fn start(&self) -> usize {
        match self {
            Node::Scalar(s) => s.start,
            Node::Empty(at) => *at,
            Node::Seq(s) => s.start,
            Node::Map(m) => m.start,
        }
    }

    fn end(&self) -> usize {
        match self {
            Node::Scalar(s) => s.end,
            Node::Empty(at) => *at,
            Node::Seq(s) => s.end,
            Node::Map(m) => m.end,
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Node::Empty(_) => true,
            Node::Scalar(s) => {
                s.quote == Quote::Plain
                    && matches!(s.value.as_str(), "~" | "null" | "Null" | "NULL")
            }
            _ => false,
        }
    }
}

/// The file's list of groups.
enum Top {
    /// No groups and no list (an empty or comment-only file).
    Empty,
    /// A list of groups (block or flow).
    List(Seq),
}

impl Top {
    fn groups(&self) -> &[Node] {
        match self {
            Top::Empty => &[],
            Top::List(s) => &s.items,
        }
    }
}

/// A construct outside the supported subset, at a byte offset.
struct Unsupported {
    at: usize,
    reason: String,
}

type Scan<T> = Result<T, Unsupported>;

struct Scanner<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
    json: bool,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_flow_indicator(c: u8) -> bool {
    matches!(c, b',' | b'[' | b']' | b'{' | b'}')
}

impl<'a> Scanner<'a> {
    fn new(s: &'a str, json: bool) -> Scanner<'a> {
        Scanner {
            s,
            b: s.as_bytes(),
            pos: 0,
            json,
        }
    }

    fn err<T>(&self, reason: impl Into<String>) -> Scan<T> {
        Err(Unsupported {
            at: self.pos,
            reason: reason.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.b.get(self.pos + off).copied()
    }

    fn col(&self, pos: usize) -> usize {
        pos - line_start(self.s, pos)
    }

    fn at_eol(&self) -> bool {
        match self.peek() {
            None | Some(b'\n') => true,
            Some(b'\r') => self.peek_at(1) == Some(b'\n'),
            _ => false,
        }
    }

    fn at_comment(&self) -> bool {
        !self.json && self.peek() == Some(b'#') && (self.pos == 0 || is_ws(self.b[self.pos - 1]))
    }

    fn skip_inline_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn skip_to_eol(&mut self) {
        while !self.at_eol() {
            self.pos += 1;
        }
    }

    /// A `-` that starts a block sequence item.
    fn at_dash(&self) -> bool {
        self.peek() == Some(b'-') && self.peek_at(1).is_none_or(is_ws)
    }

    /// A `:` that ends a block mapping key.
    fn at_map_colon(&self) -> bool {
        self.peek() == Some(b':') && self.peek_at(1).is_none_or(is_ws)
    }

    /// Checks that only blanks and a comment remain on the line.
    fn rest_of_line_blank(&mut self) -> Scan<()> {
        self.skip_inline_ws();
        if self.at_comment() {
            self.skip_to_eol();
        }
        if !self.at_eol() {
            return self.err("unexpected text after a value");
        }
        Ok(())
    }

    /// From the end of a line, moves to the next line's first content; None at the end.
    fn next_content(&mut self) -> Scan<Option<usize>> {
        loop {
            match self.peek() {
                None => return Ok(None),
                Some(b'\n') => self.pos += 1,
                Some(b'\r') if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                _ => {
                    let line = self.pos;
                    while matches!(self.peek(), Some(b' ' | b'\t')) {
                        self.pos += 1;
                    }
                    if self.at_eol() || self.at_comment() {
                        self.skip_to_eol();
                        continue;
                    }
                    if self.b[line..self.pos].contains(&b'\t') {
                        return self.err("tab in indentation");
                    }
                    return Ok(Some(self.col(self.pos)));
                }
            }
        }
    }

    fn content_col(&self) -> Option<usize> {
        (self.pos < self.b.len()).then(|| self.col(self.pos))
    }

    fn top(&mut self) -> Scan<Top> {
        if self.s.starts_with('\u{feff}') {
            return self.err("byte order mark");
        }
        if self.json {
            self.flow_ws();
            if self.peek().is_none() {
                return Ok(Top::Empty);
            }
            if self.peek() != Some(b'[') {
                return self.err("the file is not a list of target groups");
            }
            let seq = self.flow_seq()?;
            self.flow_ws();
            if self.peek().is_some() {
                return self.err("text after the list of groups");
            }
            return Ok(Top::List(seq));
        }
        self.next_content()?;
        if self.b[self.pos..].starts_with(b"---")
            && self.col(self.pos) == 0
            && self.b.get(self.pos + 3).is_none_or(|c| is_ws(*c))
        {
            self.pos += 3;
            self.rest_of_line_blank()?;
            self.next_content()?;
        }
        let top = match self.peek() {
            None => return Ok(Top::Empty),
            Some(b'[') => {
                let seq = self.flow_seq()?;
                self.rest_of_line_blank()?;
                self.next_content()?;
                seq
            }
            Some(b'-') if self.at_dash() => match self.block_seq(self.col(self.pos))? {
                Node::Seq(seq) => seq,
                _ => return self.err("expected a list"),
            },
            _ => return self.err("the file is not a list of target groups"),
        };
        if self.peek().is_some() {
            return self.err("unexpected text after the list of groups");
        }
        Ok(Top::List(top))
    }

    fn block_seq(&mut self, indent: usize) -> Scan<Node> {
        let start = self.pos;
        let (mut items, mut dashes) = (Vec::new(), Vec::new());
        loop {
            dashes.push(self.pos);
            self.pos += 1;
            let empty_at = self.pos;
            let item = self.block_value(indent, empty_at, true)?;
            items.push(item);
            match self.content_col() {
                None => break,
                Some(c) if c < indent => break,
                Some(c) if c == indent && self.at_dash() => continue,
                Some(c) if c == indent => break,
                Some(_) => return self.err("unexpected indentation"),
            }
        }
        let end = items.last().map_or(start + 1, Node::end);
        Ok(Node::Seq(Seq {
            start,
            end,
            flow: false,
            items,
            dashes,
        }))
    }

    /// The value after `-` or `key:`; leaves `pos` at the next content line.
    fn block_value(&mut self, indent: usize, empty_at: usize, after_dash: bool) -> Scan<Node> {
        self.skip_inline_ws();
        if self.at_comment() {
            self.skip_to_eol();
        }
        if self.at_eol() {
            return match self.next_content()? {
                Some(c) if c > indent => self.block_node(c, true),
                Some(c) if c == indent && !after_dash && self.at_dash() => self.block_seq(c),
                _ => Ok(Node::Empty(empty_at)),
            };
        }
        let c = self.col(self.pos);
        self.block_node(c, after_dash)
    }

    fn block_node(&mut self, col: usize, compact: bool) -> Scan<Node> {
        match self.peek() {
            Some(b'-') if self.at_dash() => {
                if compact {
                    self.block_seq(col)
                } else {
                    self.err("a list on the line of its key")
                }
            }
            Some(b'[' | b'{') => {
                let node = self.flow_node()?;
                self.skip_inline_ws();
                if self.peek() == Some(b':') {
                    return self.err("a collection used as a key");
                }
                self.rest_of_line_blank()?;
                self.next_content()?;
                Ok(node)
            }
            _ => {
                let scalar = self.scalar(false)?;
                let after = self.pos;
                self.skip_inline_ws();
                if self.at_map_colon() {
                    if !compact {
                        return self.err("a mapping on the line of its key");
                    }
                    self.pos = scalar.start;
                    return self.block_map(col);
                }
                self.pos = after;
                self.rest_of_line_blank()?;
                self.next_content()?;
                Ok(Node::Scalar(scalar))
            }
        }
    }

    fn block_map(&mut self, indent: usize) -> Scan<Node> {
        let start = self.pos;
        let mut entries = Vec::new();
        loop {
            if matches!(self.peek(), Some(b'[' | b'{')) {
                return self.err("a collection used as a key");
            }
            let key = self.scalar(false)?;
            self.skip_inline_ws();
            if !self.at_map_colon() {
                return self.err("expected `:` after a key");
            }
            self.pos += 1;
            let colon_end = self.pos;
            let value = self.block_value(indent, colon_end, false)?;
            entries.push(Entry {
                key,
                colon_end,
                value,
            });
            match self.content_col() {
                None => break,
                Some(c) if c < indent => break,
                Some(c) if c == indent && !self.at_dash() => continue,
                Some(_) => return self.err("unexpected indentation"),
            }
        }
        let end = entries.last().map_or(start, |e| e.value.end());
        Ok(Node::Map(Map {
            start,
            end,
            flow: false,
            indent,
            entries,
        }))
    }

    /// Skips blanks, line breaks and (YAML) comments inside flow collections.
    fn flow_ws(&mut self) {
        loop {
            while self.peek().is_some_and(is_ws) {
                self.pos += 1;
            }
            if self.at_comment() {
                self.skip_to_eol();
            } else {
                return;
            }
        }
    }

    fn flow_node(&mut self) -> Scan<Node> {
        match self.peek() {
            Some(b'[') => self.flow_seq().map(Node::Seq),
            Some(b'{') => self.flow_map(),
            _ => self.scalar(true).map(Node::Scalar),
        }
    }

    fn flow_seq(&mut self) -> Scan<Seq> {
        let start = self.pos;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.flow_ws();
            match self.peek() {
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                None => return self.err("unterminated `[`"),
                _ => {}
            }
            let item = self.flow_node()?;
            self.flow_ws();
            items.push(item);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    break;
                }
                _ => return self.err("expected `,` or `]`"),
            }
        }
        Ok(Seq {
            start,
            end: self.pos,
            flow: true,
            items,
            dashes: Vec::new(),
        })
    }

    fn flow_map(&mut self) -> Scan<Node> {
        let start = self.pos;
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.flow_ws();
            match self.peek() {
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                None => return self.err("unterminated `{`"),
                Some(b'[' | b'{' | b'?') => return self.err("a complex key"),
                _ => {}
            }
            let key = self.scalar(true)?;
            self.flow_ws();
            if self.peek() != Some(b':') {
                return self.err("expected `:` after a key");
            }
            self.pos += 1;
            let colon_end = self.pos;
            self.flow_ws();
            let value = match self.peek() {
                Some(b',' | b'}') => Node::Empty(colon_end),
                _ => self.flow_node()?,
            };
            self.flow_ws();
            entries.push(Entry {
                key,
                colon_end,
                value,
            });
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                _ => return self.err("expected `,` or `}`"),
            }
        }
        Ok(Node::Map(Map {
            start,
            end: self.pos,
            flow: true,
            indent: 0,
            entries,
        }))
    }

    /// A one-line scalar: plain, 'single' or "double" quoted.
    fn scalar(&mut self, flow: bool) -> Scan<Scalar> {
        let start = self.pos;
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => return self.err("unterminated string"),
                        Some(b'\n' | b'\r') => return self.err("a string over several lines"),
                        Some(b'\\') => self.pos += 2,
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                let token = self.s.get(start..self.pos).unwrap_or_default();
                match serde_json::from_str::<String>(token) {
                    Ok(value) => Ok(Scalar {
                        start,
                        end: self.pos,
                        quote: Quote::Double,
                        value,
                    }),
                    Err(_) => {
                        self.pos = start;
                        self.err("a YAML-only escape in a string")
                    }
                }
            }
            Some(b'\'') if !self.json => {
                self.pos += 1;
                loop {
                    match self.peek() {
                        None => return self.err("unterminated string"),
                        Some(b'\n' | b'\r') => return self.err("a string over several lines"),
                        Some(b'\'') if self.peek_at(1) == Some(b'\'') => self.pos += 2,
                        Some(b'\'') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
                let inner = self.s.get(start + 1..self.pos - 1).unwrap_or_default();
                Ok(Scalar {
                    start,
                    end: self.pos,
                    quote: Quote::Single,
                    value: inner.replace("''", "'"),
                })
            }
            Some(c) => {
                let indicator = matches!(
                    c,
                    b',' | b'['
                        | b']'
                        | b'{'
                        | b'}'
                        | b'#'
                        | b'&'
                        | b'*'
                        | b'!'
                        | b'|'
                        | b'>'
                        | b'\''
                        | b'"'
                        | b'%'
                        | b'@'
                        | b'`'
                );
                let lone = matches!(c, b'-' | b'?' | b':')
                    && self
                        .peek_at(1)
                        .is_none_or(|n| is_ws(n) || (flow && is_flow_indicator(n)));
                if indicator || lone || is_ws(c) {
                    return self.err(format!("unsupported YAML at {:?}", c as char));
                }
                loop {
                    match self.peek() {
                        None | Some(b'\n') => break,
                        Some(b'\r') if self.peek_at(1) == Some(b'\n') => break,
                        Some(b' ' | b'\t') => {
                            let mut ahead = self.pos;
                            while matches!(self.b.get(ahead), Some(b' ' | b'\t')) {
                                ahead += 1;
                            }
                            let next = self.b.get(ahead).copied();
                            let stop = match next {
                                None | Some(b'\n' | b'\r' | b'#') => true,
                                Some(b':') => self
                                    .b
                                    .get(ahead + 1)
                                    .is_none_or(|n| is_ws(*n) || (flow && is_flow_indicator(*n))),
                                Some(n) => flow && is_flow_indicator(n),
                            };
                            if stop {
                                break;
                            }
                            self.pos = ahead;
                        }
                        Some(b':')
                            if self
                                .peek_at(1)
                                .is_none_or(|n| is_ws(n) || (flow && is_flow_indicator(n))) =>
                        {
                            break;
                        }
                        Some(n) if flow && is_flow_indicator(n) => break,
                        Some(_) => self.pos += 1,
                    }
                }
                let value = self.s.get(start..self.pos).unwrap_or_default().to_string();
                Ok(Scalar {
                    start,
                    end: self.pos,
                    quote: Quote::Plain,
                    value,
                })
            }
            None => self.err("expected a value"),
        }
    }
}

fn line_start(s: &str, pos: usize) -> usize {
    s.get(..pos)
        .and_then(|head| head.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// The position just past the line break ending the line that holds `pos`.
fn line_end_incl(s: &str, pos: usize) -> usize {
    s.get(pos..)
        .and_then(|tail| tail.find('\n'))
        .map_or(s.len(), |i| pos + i + 1)
}

fn line_of(s: &str, pos: usize) -> usize {
    s.as_bytes()[..pos.min(s.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

fn scan(path: &Path, text: &str, format: Format) -> Result<Top, TargetEditError> {
    Scanner::new(text, format == Format::Json)
        .top()
        .map_err(|u| TargetEditError::Unsupported {
            path: path.to_path_buf(),
            line: line_of(text, u.at),
            reason: u.reason,
        })
}

// ---------------------------------------------------------------------------------------
// Writing scalars
// ---------------------------------------------------------------------------------------

/// Words a YAML 1.1 or 1.2 reader might take for a boolean or null.
fn reserved_word(v: &str) -> bool {
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

fn value_token(format: Format, v: &str, old: Option<Quote>) -> String {
    match format {
        Format::Json => json_string(v),
        Format::Yaml => yaml_value(v, old),
    }
}

fn key_token(format: Format, k: &str) -> String {
    match format {
        Format::Json => json_string(k),
        Format::Yaml if plain_safe(k) => k.to_string(),
        Format::Yaml => json_string(k),
    }
}

fn flow_labels(format: Format, labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{}: {}", key_token(format, k), value_token(format, v, None)))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn flow_targets(format: Format, targets: &[String]) -> String {
    let items: Vec<String> = targets
        .iter()
        .map(|t| value_token(format, t, None))
        .collect();
    format!("[{}]", items.join(", "))
}

// ---------------------------------------------------------------------------------------
// Edits
// ---------------------------------------------------------------------------------------

/// One replacement of `start..end` in the text.
struct Splice {
    start: usize,
    end: usize,
    with: String,
}

impl Splice {
    fn insert(at: usize, with: String) -> Splice {
        Splice {
            start: at,
            end: at,
            with,
        }
    }

    fn apply(self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + self.with.len());
        out.push_str(&text[..self.start]);
        out.push_str(&self.with);
        out.push_str(&text[self.end..]);
        out
    }
}

/// The text between two neighbouring flow entries, when it is only a comma and blanks.
fn flow_separator(text: &str, entries: &[(usize, usize)]) -> Option<String> {
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

// ---------------------------------------------------------------------------------------
// Writing files
// ---------------------------------------------------------------------------------------

/// SHA-256 of `bytes` as lowercase hex: the plan's fingerprint of a file.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the backup of `path` lives: `<file>.bak` next to it.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".bak");
    PathBuf::from(name)
}

fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> TargetEditError {
    let path = path.to_path_buf();
    move |source| TargetEditError::Io {
        path,
        action,
        source,
    }
}

/// Distinguishes temporary files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` so that a reader (or a crash) sees the old or the new file.
fn replace_atomically(
    path: &Path,
    bytes: &[u8],
    permissions: &fs::Permissions,
) -> Result<(), TargetEditError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| TargetEditError::BadInput {
        path: path.to_path_buf(),
        reason: "the path has no file name".to_string(),
    })?;
    // The suffix keeps the temporary name outside every `*.yml`/`*.json` pattern.
    let tmp = dir.join(format!(
        ".{}.roster-tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp, "creating the temporary file"))?;
        f.set_permissions(permissions.clone())
            .map_err(io_err(&tmp, "setting permissions"))?;
        f.write_all(bytes)
            .map_err(io_err(&tmp, "writing the temporary file"))?;
        f.sync_all()
            .map_err(io_err(&tmp, "syncing the temporary file"))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path, "renaming the temporary file over"))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir, "syncing the directory"))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Atomically replaces `path` with `new_text`, after a `.bak` of the original, unless the
/// file's digest is no longer `expected_digest`.
pub fn write_file(
    path: &Path,
    expected_digest: &str,
    new_text: &str,
) -> Result<WriteOutcome, TargetEditError> {
    write_file_with(path, expected_digest, new_text, true)
}

/// [`write_file`], with the `.bak` left alone when `backup` is false: the second write
/// to a file in one run must not replace the backup of the original with its first edit.
pub fn write_file_with(
    path: &Path,
    expected_digest: &str,
    new_text: &str,
    backup: bool,
) -> Result<WriteOutcome, TargetEditError> {
    // Never put a file on disk that Prometheus would refuse.
    parse_target_file(path, new_text).map_err(|e| TargetEditError::Verify {
        path: path.to_path_buf(),
        reason: format!("the new text does not parse: {e}"),
    })?;
    let original = fs::read(path).map_err(io_err(path, "reading"))?;
    if digest(&original) != expected_digest {
        return Err(TargetEditError::ChangedOnDisk {
            path: path.to_path_buf(),
        });
    }
    let permissions = fs::metadata(path)
        .map_err(io_err(path, "reading metadata"))?
        .permissions();
    let backup_file = backup_path(path);
    if backup {
        replace_atomically(&backup_file, &original, &permissions)?;
    }
    replace_atomically(path, new_text.as_bytes(), &permissions)?;
    Ok(WriteOutcome {
        backup: backup_file,
    })
}

/// Puts `<file>.bak` back in place of `path`, atomically; the backup is kept.
pub fn restore_backup(path: &Path) -> Result<(), TargetEditError> {
    let backup = backup_path(path);
    let bytes = match fs::read(&backup) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(TargetEditError::NoBackup { path: backup });
        }
        Err(e) => return Err(io_err(&backup, "reading the backup")(e)),
    };
    let permissions = fs::metadata(&backup)
        .map_err(io_err(&backup, "reading metadata"))?
        .permissions();
    replace_atomically(path, &bytes, &permissions)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIGSTY: &str = "\
# pg-test targets
#======> pg-test-1 [primary] @ 10.10.10.11
- labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}
  targets: [10.10.10.11:9630, 10.10.10.11:9100]

#======> pg-test-2 [replica] @ 10.10.10.12
- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, role: replica, svc: pg-test-replica}
  targets: [10.10.10.12:9630, 10.10.10.12:9100]
#======> pg-test-3 [offline] @ 10.10.10.13
- labels: {cls: pg-test, ins: pg-test-3, ip: 10.10.10.13, role: offline, svc: pg-test-offline}
  targets: [10.10.10.13:9630, 10.10.10.13:9100]   # trailing comment
";

    const BLOCK: &str = "\
---
- targets:
    - 10.0.0.1:9100
  labels:
    job: node   # not a database
- labels:
    cls: pg-a
    ins: 'pg-a-1'
    role: \"primary\"
  targets:
  - 10.0.0.2:9630
- targets: [10.0.0.3:9630]
";

    const JSON: &str = "[\n  {\n    \"targets\": [\"10.0.0.1:9630\"],\n    \"labels\": {\n      \"cls\": \"pg-j\",\n      \"ins\": \"pg-j-1\",\n      \"role\": \"primary\"\n    }\n  },\n  {\"targets\": [\"10.0.0.2:9630\"], \"labels\": {\"cls\": \"pg-j\", \"ins\": \"pg-j-2\"}},\n  {\"targets\": [\"10.0.0.3:9100\"]}\n]\n";

    fn changes(pairs: &[(&str, Option<&str>)]) -> BTreeMap<String, Option<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.map(str::to_string)))
            .collect()
    }

    fn edit(path: &str, text: &str, index: usize, pairs: &[(&str, Option<&str>)]) -> String {
        edit_group(Path::new(path), text, index, &changes(pairs)).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every group of a text, with the error as text so results compare.
    fn all_groups(path: &Path, text: &str) -> Result<Vec<TargetGroup>, String> {
        parse_target_groups(path, text).map_err(|e| e.to_string())
    }

    fn labels_of(path: &str, text: &str, index: usize) -> BTreeMap<String, String> {
        let groups = all_groups(Path::new(path), text).unwrap_or_else(|e| panic!("{e}"));
        groups[index].labels.clone()
    }

    /// Lines of `new` that are not in `old`, and the other way round (a rough line diff).
    fn changed_lines(old: &str, new: &str) -> (Vec<String>, Vec<String>) {
        let o: Vec<&str> = old.lines().collect();
        let n: Vec<&str> = new.lines().collect();
        let head = o.iter().zip(&n).take_while(|(a, b)| a == b).count();
        let tail = o[head..]
            .iter()
            .rev()
            .zip(n[head..].iter().rev())
            .take_while(|(a, b)| a == b)
            .count();
        (
            o[head..o.len() - tail]
                .iter()
                .map(|s| s.to_string())
                .collect(),
            n[head..n.len() - tail]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
    }

    #[test]
    fn flow_value_replaced_in_first_middle_and_last_group() {
        let new = edit(
            "t.yml",
            PIGSTY,
            0,
            &[("role", Some("replica")), ("svc", Some("pg-test-replica"))],
        );
        let (old, now) = changed_lines(PIGSTY, &new);
        assert_eq!(
            old,
            [
                "- labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}"
            ]
        );
        assert_eq!(
            now,
            [
                "- labels: {cls: pg-test, ins: pg-test-1, ip: 10.10.10.11, role: replica, svc: pg-test-replica}"
            ]
        );
        let new = edit("t.yml", PIGSTY, 1, &[("role", Some("primary"))]);
        assert_eq!(
            changed_lines(PIGSTY, &new).1,
            [
                "- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, role: primary, svc: pg-test-replica}"
            ]
        );
        let new = edit("t.yml", PIGSTY, 2, &[("ip", Some("10.10.10.14"))]);
        assert!(
            new.ends_with("  targets: [10.10.10.13:9630, 10.10.10.13:9100]   # trailing comment\n")
        );
        assert_eq!(labels_of("t.yml", &new, 2)["ip"], "10.10.10.14");
    }

    #[test]
    fn flow_labels_added_and_removed() {
        let new = edit(
            "t.yml",
            PIGSTY,
            1,
            &[("svc", None), ("job", Some("pg")), ("zone", Some("a"))],
        );
        assert_eq!(
            changed_lines(PIGSTY, &new).1,
            [
                "- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, job: pg, role: replica, zone: a}"
            ]
        );
        let new = edit("t.yml", PIGSTY, 0, &[("cls", None)]);
        assert!(new.contains(
            "- labels: {ins: pg-test-1, ip: 10.10.10.11, role: primary, svc: pg-test-primary}\n"
        ));
        let one = "- labels: {cls: x}\n  targets: []\n";
        assert_eq!(
            edit("t.yml", one, 0, &[("cls", None)]),
            "- labels: {}\n  targets: []\n"
        );
        assert_eq!(
            edit("t.yml", "- labels: {}\n", 0, &[("cls", Some("yv"))]),
            "- labels: {cls: yv}\n"
        );
        // Removing a label that is not there changes nothing.
        assert_eq!(edit("t.yml", PIGSTY, 0, &[("nope", None)]), PIGSTY);
    }

    #[test]
    fn values_that_need_quotes_are_quoted() {
        let cases = [
            ("a b", "\"a b\""),
            ("true", "\"true\""),
            ("13", "\"13\""),
            ("0x1f", "\"0x1f\""),
            ("", "\"\""),
            ("#x", "\"#x\""),
            ("x: y", "\"x: y\""),
            ("-", "\"-\""),
            ("it's", "\"it's\""),
            ("line\nbreak", "\"line\\nbreak\""),
            ("10.0.0.9", "10.0.0.9"),
        ];
        for (value, token) in cases {
            let new = edit("t.yml", PIGSTY, 1, &[("role", Some(value))]);
            assert!(
                new.contains(&format!("role: {token}, svc")),
                "{value:?}: {new}"
            );
            assert_eq!(labels_of("t.yml", &new, 1)["role"], value);
        }
        // Quoted values keep their quoting style.
        let new = edit(
            "t.yml",
            BLOCK,
            1,
            &[("ins", Some("pg-a-9")), ("role", Some("replica"))],
        );
        assert!(
            new.contains("    ins: 'pg-a-9'\n    role: \"replica\"\n"),
            "{new}"
        );
    }

    #[test]
    fn block_labels_replaced_added_removed() {
        let new = edit(
            "t.yaml",
            BLOCK,
            1,
            &[
                ("role", Some("replica")),
                ("svc", Some("pg-a-replica")),
                ("cls", None),
                ("abc", Some("1")),
            ],
        );
        assert_eq!(
            new,
            "---\n- targets:\n    - 10.0.0.1:9100\n  labels:\n    job: node   # not a database\n- labels:\n    abc: \"1\"\n    ins: 'pg-a-1'\n    role: \"replica\"\n    svc: pg-a-replica\n  targets:\n  - 10.0.0.2:9630\n- targets: [10.0.0.3:9630]\n"
        );
        // The last remaining label leaves an empty mapping, keeping the line's comment.
        let new = edit("t.yaml", BLOCK, 0, &[("job", None)]);
        assert!(new.contains("  labels: {}   # not a database\n"), "{new}");
    }

    #[test]
    fn group_without_labels_gets_them() {
        let new = edit(
            "t.yml",
            BLOCK,
            2,
            &[("cls", Some("pg-b")), ("ins", Some("pg-b-1"))],
        );
        assert!(
            new.ends_with("- labels: {cls: pg-b, ins: pg-b-1}\n  targets: [10.0.0.3:9630]\n"),
            "{new}"
        );
        let new = edit("t.json", JSON, 2, &[("cls", Some("pg-j"))]);
        assert!(
            new.contains("{\"labels\": {\"cls\": \"pg-j\"}, \"targets\": [\"10.0.0.3:9100\"]}"),
            "{new}"
        );
        let new = edit(
            "t.yml",
            "- labels:\n  targets: [a:1]\n",
            0,
            &[("cls", Some("c"))],
        );
        assert_eq!(new, "- labels: {cls: c}\n  targets: [a:1]\n");
        let new = edit(
            "t.yml",
            "[{targets: [a:1], labels: ~}]\n",
            0,
            &[("cls", Some("c"))],
        );
        assert_eq!(new, "[{targets: [a:1], labels: {cls: c}}]\n");
    }

    #[test]
    fn json_edits_keep_the_layout() {
        let new = edit(
            "t.json",
            JSON,
            0,
            &[
                ("role", Some("replica")),
                ("svc", Some("pg-j-replica")),
                ("cls", None),
            ],
        );
        let want = JSON.replace(
            "      \"cls\": \"pg-j\",\n      \"ins\": \"pg-j-1\",\n      \"role\": \"primary\"\n",
            "      \"ins\": \"pg-j-1\",\n      \"role\": \"replica\",\n      \"svc\": \"pg-j-replica\"\n",
        );
        assert_ne!(want, JSON);
        assert_eq!(new, want);
        let new = edit("t.json", JSON, 1, &[("ins", None), ("a", Some("1 2"))]);
        assert!(
            new.contains("\"labels\": {\"a\": \"1 2\", \"cls\": \"pg-j\"}}"),
            "{new}"
        );
    }

    #[test]
    fn yaml_flow_list_of_groups() {
        let text = "# all in one line\n[{labels: {cls: a, ins: a-1}, targets: [h:1]}, {targets: [h:2], labels: {cls: b}}]\n";
        let new = edit("t.yml", text, 1, &[("ins", Some("b-1"))]);
        assert_eq!(
            new,
            "# all in one line\n[{labels: {cls: a, ins: a-1}, targets: [h:1]}, {targets: [h:2], labels: {cls: b, ins: b-1}}]\n"
        );
        let new = remove_group(Path::new("t.yml"), text, 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            new,
            "# all in one line\n[{targets: [h:2], labels: {cls: b}}]\n"
        );
    }

    #[test]
    fn bad_requests_are_refused() {
        let p = Path::new("t.yml");
        let e = edit_group(p, PIGSTY, 3, &changes(&[("role", Some("x"))]))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("t.yml: no target group at index 3 (the file has 3)")
        );
        let e = edit_group(p, PIGSTY, 0, &changes(&[("a-b", Some("x"))]))
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("t.yml: \"a-b\" is not a valid label name")
        );
        let e = edit_group(p, "- labels: {cls: a\n", 0, &changes(&[])).err();
        assert!(matches!(e, Some(TargetEditError::Unparsable(_))), "{e:?}");
        for unsupported in [
            "- labels: &l {cls: a}\n- labels: *l\n",
            "- labels: {cls: !!str a}\n",
            "- labels:\n    cls: >\n      a\n",
            "- labels:\n    cls: a\n      b\n",
        ] {
            match edit_group(p, unsupported, 0, &changes(&[("role", Some("r"))])) {
                Err(TargetEditError::Unsupported { .. }) => {}
                other => panic!("{unsupported:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn add_group_in_each_style() {
        let labels: BTreeMap<String, String> = [
            ("cls", "pg-test"),
            ("ins", "pg-test-4"),
            ("ip", "10.10.10.14"),
            ("role", "replica"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let targets = vec!["10.10.10.14:9630".to_string()];
        let new = add_group(Path::new("t.yml"), PIGSTY, &labels, &targets, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            new.strip_prefix(PIGSTY),
            Some(
                "#======> pg-test-4 [replica] @ 10.10.10.14\n- labels: {cls: pg-test, ins: pg-test-4, ip: 10.10.10.14, role: replica}\n  targets: [10.10.10.14:9630]\n"
            )
        );
        let new = add_group(
            Path::new("t.yml"),
            "",
            &labels,
            &targets,
            Some("added by roster"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(new.starts_with("# added by roster\n- labels:"), "{new}");
        let new = add_group(Path::new("t.json"), JSON, &labels, &targets, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(new.starts_with(&JSON[..JSON.len() - 3]), "{new}");
        assert!(new.ends_with("},\n  {\"targets\": [\"10.0.0.3:9100\"]},\n  {\"targets\": [\"10.10.10.14:9630\"], \"labels\": {\"cls\": \"pg-test\", \"ins\": \"pg-test-4\", \"ip\": \"10.10.10.14\", \"role\": \"replica\"}}\n]\n"), "{new}");
        let new = add_group(Path::new("t.json"), " ", &labels, &targets, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            all_groups(Path::new("t.json"), &new).map(|g| g.len()),
            Ok(1)
        );
        let new = add_group(Path::new("t.json"), "[]", &BTreeMap::new(), &targets, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new, "[{\"targets\": [\"10.10.10.14:9630\"]}]");
        let e = add_group(
            Path::new("t.yml"),
            PIGSTY,
            &labels,
            &targets,
            Some("two\nlines"),
        );
        assert!(matches!(e, Err(TargetEditError::BadInput { .. })), "{e:?}");
    }

    #[test]
    fn remove_group_takes_its_pigsty_comment() {
        let p = Path::new("t.yml");
        let new = remove_group(p, PIGSTY, 1).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new, PIGSTY.replace("#======> pg-test-2 [replica] @ 10.10.10.12\n- labels: {cls: pg-test, ins: pg-test-2, ip: 10.10.10.12, role: replica, svc: pg-test-replica}\n  targets: [10.10.10.12:9630, 10.10.10.12:9100]\n", ""));
        let new = remove_group(p, PIGSTY, 2).unwrap_or_else(|e| panic!("{e}"));
        assert!(new.ends_with("10.10.10.12:9100]\n"), "{new}");
        let new = remove_group(p, BLOCK, 0).unwrap_or_else(|e| panic!("{e}"));
        assert!(new.starts_with("---\n- labels:\n    cls: pg-a\n"), "{new}");
        let j = Path::new("t.json");
        for i in 0..3 {
            let new = remove_group(j, JSON, i).unwrap_or_else(|e| panic!("{e}"));
            let groups = all_groups(j, &new).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(groups.len(), 2);
        }
        let new = remove_group(j, "[{\"targets\": []}]", 0).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(new, "[]");
        assert!(matches!(
            remove_group(p, PIGSTY, 3),
            Err(TargetEditError::NoSuchGroup { .. })
        ));
    }

    #[test]
    fn crlf_files_keep_their_line_ends() {
        let text = "- labels:\r\n    cls: a\r\n  targets: [h:1]\r\n";
        let new = edit("t.yml", text, 0, &[("ins", Some("a-1"))]);
        assert_eq!(
            new,
            "- labels:\r\n    cls: a\r\n    ins: a-1\r\n  targets: [h:1]\r\n"
        );
    }

    #[test]
    fn digests_and_backup_names() {
        assert_eq!(digest(b"").len(), 64);
        assert_eq!(
            digest(b"a"),
            "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        );
        assert_eq!(
            backup_path(Path::new("/x/pg-test.yml")),
            Path::new("/x/pg-test.yml.bak")
        );
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        /// Values: Pigsty words, and ones that need quoting in YAML.
        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("pg-test".to_string()),
                Just("pg-test-1".to_string()),
                Just("primary".to_string()),
                Just("10.10.10.11".to_string()),
                Just(String::new()),
                Just("true".to_string()),
                Just("42".to_string()),
                Just("a b".to_string()),
                Just("it's".to_string()),
                Just("x: y".to_string()),
                Just("#hash".to_string()),
                "[a-z0-9 .:#'\"-]{0,8}",
            ]
        }

        fn name() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("cls".to_string()),
                Just("ins".to_string()),
                Just("role".to_string()),
                Just("svc".to_string()),
                Just("ip".to_string()),
                Just("job".to_string()),
                Just("zz_9".to_string()),
            ]
        }

        #[derive(Clone, Debug)]
        struct GenGroup {
            labels: Option<BTreeMap<String, String>>,
            targets: Vec<String>,
            block_labels: bool,
            block_targets: bool,
            labels_first: bool,
            comment: bool,
            quote: u8,
        }

        fn group() -> impl Strategy<Value = GenGroup> {
            (
                proptest::option::weighted(
                    0.85,
                    proptest::collection::btree_map(name(), value(), 0..5),
                ),
                proptest::collection::vec("[a-z0-9.]{1,6}:[0-9]{2,4}", 0..3),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                0u8..3,
            )
                .prop_map(
                    |(
                        labels,
                        targets,
                        block_labels,
                        block_targets,
                        labels_first,
                        comment,
                        quote,
                    )| GenGroup {
                        labels,
                        targets,
                        block_labels,
                        block_targets,
                        labels_first,
                        comment,
                        quote,
                    },
                )
        }

        /// The test's own quoting, independent of the writer's.
        fn quoted(v: &str, style: u8) -> String {
            // A plain scalar may not start with '-' (a YAML indicator).
            let simple = !v.is_empty()
                && !v.starts_with('-')
                && v.bytes().all(|c| c.is_ascii_lowercase() || c == b'-')
                && !reserved_word(v);
            match style {
                0 if simple => v.to_string(),
                1 if !v.contains('\'') => format!("'{v}'"),
                _ => serde_json::to_string(v).unwrap_or_default(),
            }
        }

        /// Renders a YAML file; returns the text and each group's (first line, last line).
        fn render_yaml(groups: &[GenGroup]) -> (String, Vec<(usize, usize)>) {
            let mut lines: Vec<String> = vec!["# generated".to_string()];
            let mut spans = Vec::new();
            for g in groups {
                if g.comment {
                    lines.push("#======> some-ins [role] @ 1.2.3.4".to_string());
                }
                let first = lines.len();
                let mut fields: Vec<Vec<String>> = Vec::new();
                if let Some(labels) = &g.labels {
                    if g.block_labels && !labels.is_empty() {
                        let mut f = vec!["labels:".to_string()];
                        f.extend(
                            labels
                                .iter()
                                .map(|(k, v)| format!("    {k}: {}", quoted(v, g.quote))),
                        );
                        fields.push(f);
                    } else {
                        let pairs: Vec<String> = labels
                            .iter()
                            .map(|(k, v)| format!("{k}: {}", quoted(v, g.quote)))
                            .collect();
                        fields.push(vec![format!("labels: {{{}}}", pairs.join(", "))]);
                    }
                }
                if g.block_targets && !g.targets.is_empty() {
                    let mut f = vec!["targets:".to_string()];
                    f.extend(g.targets.iter().map(|t| format!("    - {t}")));
                    fields.push(f);
                } else {
                    fields.push(vec![format!("targets: [{}]", g.targets.join(", "))]);
                }
                if !g.labels_first {
                    fields.reverse();
                }
                for (i, f) in fields.into_iter().flatten().enumerate() {
                    lines.push(format!("{}{f}", if i == 0 { "- " } else { "  " }));
                }
                spans.push((first, lines.len() - 1));
                lines.push(String::new());
            }
            (lines.join("\n") + "\n", spans)
        }

        /// Renders a JSON file with one group per line.
        fn render_json(groups: &[GenGroup]) -> (String, Vec<(usize, usize)>) {
            let mut lines = vec!["[".to_string()];
            let mut spans = Vec::new();
            for (i, g) in groups.iter().enumerate() {
                let mut fields = vec![format!(
                    "\"targets\": {}",
                    serde_json::to_string(&g.targets).unwrap_or_default()
                )];
                if let Some(labels) = &g.labels {
                    fields.push(format!(
                        "\"labels\": {}",
                        serde_json::to_string(labels).unwrap_or_default()
                    ));
                }
                let comma = if i + 1 < groups.len() { "," } else { "" };
                spans.push((lines.len(), lines.len()));
                lines.push(format!("  {{{}}}{comma}", fields.join(", ")));
            }
            lines.push("]".to_string());
            (lines.join("\n") + "\n", spans)
        }

        fn expected(groups: &[GenGroup]) -> Vec<TargetGroup> {
            groups
                .iter()
                .map(|g| TargetGroup {
                    targets: g.targets.clone(),
                    labels: g.labels.clone().unwrap_or_default(),
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(300))]
            #[test]
            fn edits_change_exactly_the_group_asked(
                groups in proptest::collection::vec(group(), 1..5),
                json in any::<bool>(),
                pick in any::<proptest::sample::Index>(),
                edits in proptest::collection::btree_map(name(), proptest::option::of(value()), 1..4),
            ) {
                let (path, (text, spans)) = if json {
                    ("g.json", render_json(&groups))
                } else {
                    ("g.yml", render_yaml(&groups))
                };
                let path = Path::new(path);
                prop_assert_eq!(all_groups(path, &text), Ok(expected(&groups)), "generator: {}", text);
                let index = pick.index(groups.len());
                let new = edit_group(path, &text, index, &edits);
                let new = match new {
                    Ok(new) => new,
                    Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
                };
                let mut want = expected(&groups);
                for (k, v) in &edits {
                    match v {
                        Some(v) => want[index].labels.insert(k.clone(), v.clone()),
                        None => want[index].labels.remove(k),
                    };
                }
                prop_assert_eq!(all_groups(path, &new), Ok(want));
                let (old_lines, new_lines): (Vec<&str>, Vec<&str>) = (text.lines().collect(), new.lines().collect());
                let (first, last) = spans[index];
                prop_assert_eq!(&old_lines[..first], &new_lines[..first]);
                let after = old_lines.len() - last - 1;
                prop_assert_eq!(&old_lines[last + 1..], &new_lines[new_lines.len() - after..]);
            }

            #[test]
            fn add_then_remove_is_the_identity(
                groups in proptest::collection::vec(group(), 0..4),
                json in any::<bool>(),
                labels in proptest::collection::btree_map(name(), value(), 0..4),
            ) {
                let (path, (text, _)) = if json {
                    ("g.json", render_json(&groups))
                } else {
                    ("g.yml", render_yaml(&groups))
                };
                let path = Path::new(path);
                let targets = vec!["h:1".to_string()];
                let added = add_group(path, &text, &labels, &targets, Some("#======> added"));
                let added = match added {
                    Ok(a) => a,
                    Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
                };
                let removed = remove_group(path, &added, groups.len());
                prop_assert_eq!(removed.ok(), Some(text));
            }
        }
    }
}
