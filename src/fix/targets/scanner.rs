//! The subset of YAML (and JSON) that target files are written in, scanned into nodes
//! that know their byte ranges, so an edit can replace exactly the bytes of one value.
//!
//! The subset is what target files use in practice: a block or flow list of groups,
//! block and flow mappings and lists, one-line plain, single- and double-quoted scalars,
//! comments. Anything else (anchors, tags, multi-line scalars, a BOM, ...) is refused
//! with its position rather than guessed at.

/// How a scalar is written: the quoting an edit keeps when it replaces the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Quote {
    Plain,
    Single,
    Double,
}

/// A one-line scalar: where its token is, and its value.
#[derive(Clone, Debug)]
pub(super) struct Scalar {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) quote: Quote,
    pub(super) value: String,
}

/// A list, block (`- item` lines) or flow (`[a, b]`).
#[derive(Clone, Debug)]
pub(super) struct Seq {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) flow: bool,
    pub(super) items: Vec<Node>,
    /// Block style only: where each item's `-` is.
    pub(super) dashes: Vec<usize>,
}

/// A mapping, block (`key: value` lines) or flow (`{a: b}`).
#[derive(Clone, Debug)]
pub(super) struct Map {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) flow: bool,
    /// Block style: the column of the keys.
    pub(super) indent: usize,
    pub(super) entries: Vec<Entry>,
}

/// One `key: value` of a mapping.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    pub(super) key: Scalar,
    pub(super) colon_end: usize,
    pub(super) value: Node,
}

/// Any value the scanner understands, with its byte range.
#[derive(Clone, Debug)]
pub(super) enum Node {
    Scalar(Scalar),
    /// A key or item with no value at all (`labels:` at the end of a line).
    Empty(usize),
    Seq(Seq),
    Map(Map),
}

impl Node {
    pub(super) fn start(&self) -> usize {
        match self {
            Node::Scalar(s) => s.start,
            Node::Empty(at) => *at,
            Node::Seq(s) => s.start,
            Node::Map(m) => m.start,
        }
    }

    pub(super) fn end(&self) -> usize {
        match self {
            Node::Scalar(s) => s.end,
            Node::Empty(at) => *at,
            Node::Seq(s) => s.end,
            Node::Map(m) => m.end,
        }
    }

    pub(super) fn is_null(&self) -> bool {
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
pub(super) enum Top {
    /// No groups and no list (an empty or comment-only file).
    Empty,
    /// A list of groups (block or flow).
    List(Seq),
}

impl Top {
    pub(super) fn groups(&self) -> &[Node] {
        match self {
            Top::Empty => &[],
            Top::List(s) => &s.items,
        }
    }
}

/// A construct outside the supported subset, at a byte offset.
pub(super) struct Unsupported {
    pub(super) at: usize,
    pub(super) reason: String,
}

type Scan<T> = Result<T, Unsupported>;

/// Scans a whole target file (`json` for a `.json` file) into its list of groups.
pub(super) fn scan_groups(text: &str, json: bool) -> Result<Top, Unsupported> {
    Scanner::new(text, json).top()
}

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

/// The position where the line holding `pos` starts.
pub(super) fn line_start(s: &str, pos: usize) -> usize {
    s.get(..pos)
        .and_then(|head| head.rfind('\n'))
        .map_or(0, |i| i + 1)
}

/// The position just past the line break ending the line that holds `pos`.
pub(super) fn line_end_incl(s: &str, pos: usize) -> usize {
    s.get(pos..)
        .and_then(|tail| tail.find('\n'))
        .map_or(s.len(), |i| pos + i + 1)
}

/// The 1-based line number of `pos`, for error messages.
pub(super) fn line_of(s: &str, pos: usize) -> usize {
    s.as_bytes()[..pos.min(s.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The line break the text already uses, so added lines match it.
pub(super) fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}
