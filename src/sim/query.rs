//! Query-string handling with Consul's (Go's) parsing rules for durations and booleans.

/// A decoded query string, keeping repeated keys and bare flags (`?passing`).
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes a raw query string (`a=1&b&c=x%20y`).
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|r| {
                url::form_urlencoded::parse(r.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    /// The first value of `key` (empty for a bare flag).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// True when `key` is present at all.
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Every value of a repeated key, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_flags_and_repeats() {
        let q = Query::parse(Some("passing&tag=a&tag=b%20c&index=5"));
        assert_eq!(q.get("passing"), Some(""));
        assert_eq!(q.all("tag"), ["a", "b c"]);
        assert!(!q.has("wait"));
    }
}
