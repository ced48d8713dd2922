//! A JSON array answer cut into its elements as the body arrives.
//!
//! The answers of a large catalog run to megabytes (`health/service/postgres` names every
//! node); holding each whole before decoding it made the bodies in flight the largest
//! part of a read's memory. The splitter keeps only the element being received.

use memchr::memchr2;

/// Cuts the bytes of a top-level JSON array into the text of each element.
#[derive(Debug, Default)]
pub struct ArraySplitter {
    /// The element received so far (or, for an answer that is not an array, the answer).
    element: Vec<u8>,
    /// Nesting depth: 0 outside the array, 1 between its elements.
    depth: u32,
    in_string: bool,
    escaped: bool,
    /// Inside an element (a scalar element ends at `,` or `]`, a nested one at depth 1).
    in_element: bool,
    /// The array has been closed.
    done: bool,
    /// The answer is not an array (only `null` is accepted, as Go writes a nil slice).
    not_array: bool,
}

impl ArraySplitter {
    /// Feeds the next bytes; `each` gets every element completed by them, in order.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        mut each: impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), SplitError<E>> {
        let mut start = self.in_element.then_some(0);
        let mut i = 0;
        while i < chunk.len() {
            if self.escaped {
                // The byte after a backslash (possibly at the start of this chunk).
                self.escaped = false;
                i += 1;
                continue;
            }
            if self.in_string {
                // Most of an answer is string content: jump to the next quote or escape.
                let Some(at) = memchr2(b'"', b'\\', &chunk[i..]) else {
                    break;
                };
                i += at;
                if chunk[i] == b'\\' {
                    self.escaped = true;
                } else {
                    self.in_string = false;
                }
                i += 1;
                continue;
            }
            let b = chunk[i];
            if self.done {
                if !b.is_ascii_whitespace() {
                    return Err(SplitError::Syntax("text after the end of the array"));
                }
                i += 1;
                continue;
            }
            if self.not_array {
                i += 1;
                continue;
            }
            if self.depth == 0 {
                match b {
                    b'[' => self.depth = 1,
                    _ if b.is_ascii_whitespace() => {}
                    _ => {
                        self.not_array = true;
                        self.in_element = true;
                        start = Some(i);
                    }
                }
                i += 1;
                continue;
            }
            let opens = !self.in_element && self.depth == 1;
            match b {
                b'"' => {
                    if opens {
                        self.in_element = true;
                        start = Some(i);
                    }
                    self.in_string = true;
                }
                b'[' | b'{' => {
                    if opens {
                        self.in_element = true;
                        start = Some(i);
                    }
                    self.depth += 1;
                }
                b']' | b'}' => {
                    if self.depth == 1 {
                        // The array closes: a scalar element in progress ends here.
                        if self.in_element {
                            self.finish(chunk, start.take(), i, &mut each)?;
                        }
                        self.done = true;
                        self.depth = 0;
                    } else {
                        self.depth -= 1;
                        if self.depth == 1 {
                            self.finish(chunk, start.take(), i + 1, &mut each)?;
                        }
                    }
                }
                b',' if self.depth == 1 => {
                    if self.in_element {
                        self.finish(chunk, start.take(), i, &mut each)?;
                    }
                }
                _ if b.is_ascii_whitespace() => {}
                _ => {
                    if opens {
                        self.in_element = true;
                        start = Some(i);
                    }
                }
            }
            i += 1;
        }
        if let Some(s) = start {
            self.element.extend_from_slice(&chunk[s..]);
        }
        Ok(())
    }

    fn finish<E>(
        &mut self,
        chunk: &[u8],
        start: Option<usize>,
        end: usize,
        each: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), SplitError<E>> {
        self.in_element = false;
        let result = match (start, self.element.is_empty()) {
            // The whole element arrived in this chunk: no copy.
            (Some(s), true) => each(trim(&chunk[s..end])),
            (s, _) => {
                self.element.extend_from_slice(&chunk[s.unwrap_or(0)..end]);
                let r = each(trim(&self.element));
                self.element.clear();
                r
            }
        };
        result.map_err(SplitError::Element)
    }

    /// Ends the answer: an error when it stopped inside the array, or was not an array.
    pub fn end<E>(self) -> Result<(), SplitError<E>> {
        if self.not_array {
            return match trim(&self.element) {
                b"null" => Ok(()),
                _ => Err(SplitError::Syntax("the answer is not a JSON array")),
            };
        }
        if self.done {
            Ok(())
        } else if self.depth == 0 && !self.in_string {
            Err(SplitError::Syntax("empty answer"))
        } else {
            Err(SplitError::Syntax("the answer ends inside the array"))
        }
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

/// Why an answer could not be cut into elements.
#[derive(Debug, PartialEq, Eq)]
pub enum SplitError<E> {
    /// The answer is not a well-formed JSON array.
    Syntax(&'static str),
    /// The element handler refused an element.
    Element(E),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_in(body: &[u8], sizes: &[usize]) -> Result<Vec<String>, SplitError<()>> {
        let mut s = ArraySplitter::default();
        let mut out = Vec::new();
        let mut rest = body;
        let mut k = 0;
        while !rest.is_empty() {
            let n = sizes
                .get(k)
                .copied()
                .unwrap_or(rest.len())
                .clamp(1, rest.len());
            k += 1;
            s.feed(&rest[..n], |e: &[u8]| {
                out.push(String::from_utf8_lossy(e).into_owned());
                Ok(())
            })?;
            rest = &rest[n..];
        }
        s.end()?;
        Ok(out)
    }

    #[test]
    fn elements_arrive_whole_whatever_the_chunks() {
        let body = br#" [ {"a":"x]\"}","b":[1,{"c":null}]}, 2 ,"s\\",[],null ] "#;
        let want = [
            r#"{"a":"x]\"}","b":[1,{"c":null}]}"#,
            "2",
            r#""s\\""#,
            "[]",
            "null",
        ];
        for size in 1..body.len() {
            assert_eq!(split_in(body, &vec![size; body.len()]).unwrap(), want);
        }
    }

    #[test]
    fn null_and_empty_arrays_have_no_elements_and_broken_answers_are_errors() {
        assert_eq!(split_in(b"null", &[]).unwrap(), Vec::<String>::new());
        assert_eq!(split_in(b"[]", &[]).unwrap(), Vec::<String>::new());
        assert!(split_in(b"[{\"a\":1}", &[]).is_err(), "truncated");
        assert!(split_in(b"{\"a\":1}", &[]).is_err(), "not an array");
        assert!(split_in(b"[1] 2", &[]).is_err(), "trailing text");
        assert!(split_in(b"", &[]).is_err(), "empty");
    }

    proptest! {
        #[test]
        fn any_array_splits_into_what_serde_reads(
            values in proptest::collection::vec(any_json(), 0..6),
            cuts in proptest::collection::vec(1usize..40, 0..20),
        ) {
            let body = serde_json::to_string(&values).unwrap();
            let got = split_in(body.as_bytes(), &cuts).unwrap();
            let parsed: Vec<serde_json::Value> =
                got.iter().map(|e| serde_json::from_str(e).unwrap()).collect();
            prop_assert_eq!(parsed, values);
        }
    }

    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i32>().prop_map(serde_json::Value::from),
            "[\\PC\"\\\\\\]\\[{},]{0,8}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\"\\]]{0,3}", inner, 0..3)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
