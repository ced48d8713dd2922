//! Terminal-safe text: one sanitiser for remote strings and one masker for credentials.
//!
//! Every string that comes from outside (Consul, a file, a process) and is headed for a
//! terminal, a log or a file roster writes passes through here, so that the rules live in
//! one place.

/// Makes remote text safe to print on a terminal: control characters become `?`,
/// whitespace runs collapse, and the length is bounded.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut last_space = false;
    for ch in text.trim().chars() {
        let c = if ch.is_whitespace() {
            ' '
        } else if ch.is_control() {
            '?'
        } else {
            ch
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if out.chars().count() >= max {
            out.push('…');
            break;
        }
        out.push(c);
    }
    out
}

/// Words after which a credential follows.
const MARKERS: &[&str] = &[
    "token=",
    "token:",
    "token\":\"",
    "bearer ",
    "basic ",
    "auth=",
];

/// What a masked credential reads as.
pub const MASK: &str = "***";

/// The text with URL passwords and token-like values replaced by [`MASK`].
pub fn redact(text: &str) -> String {
    mask_markers(&mask_userinfo(text))
}

/// `scheme://user:pass@host` becomes `scheme://***@host`.
fn mask_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(userinfo_end) => {
                out.push_str(MASK);
                rest = &tail[userinfo_end..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

fn mask_markers(text: &str) -> String {
    // ASCII lowercasing keeps byte offsets, so positions found here index `text` too.
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while pos < text.len() {
        let hit = MARKERS
            .iter()
            .filter_map(|m| lower[pos..].find(m).map(|i| (pos + i, m.len())))
            .min_by_key(|&(i, _)| i);
        let Some((start, len)) = hit else {
            break;
        };
        // `Token: value` and `Token:value` both occur in echoed headers.
        let after = start + len;
        let value_start = text[after..]
            .find(|c: char| c != ' ')
            .map_or(text.len(), |i| after + i);
        let value_end = text[value_start..]
            .find(|c: char| c.is_whitespace() || "&\"',;)]}".contains(c))
            .map_or(text.len(), |i| value_start + i);
        out.push_str(&text[pos..value_start]);
        if value_end > value_start {
            out.push_str(MASK);
        }
        pos = value_end;
    }
    out.push_str(&text[pos..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_neutralises_terminal_control() {
        assert_eq!(
            sanitize("ACL \x1b[2Jnot\n found\t", 100),
            "ACL ?[2Jnot found"
        );
        assert_eq!(sanitize("abcdef", 3), "abc…");
    }
    #[test]
    fn sanitize_neutralises_bidi_overrides_and_line_breaks() {
        let forged = "10.9.9.9\r\nok written\u{202E}1.0\u{2066}x\u{2069}\u{85}";
        let clean = sanitize(forged, 200);
        assert!(!clean.contains(['\r', '\n', '\u{85}']), "{clean:?}");
        for c in '\u{202A}'..='\u{202E}' {
            assert!(!sanitize(&format!("a{c}b"), 10).contains(c), "{c:?}");
        }
        for c in '\u{2066}'..='\u{2069}' {
            assert!(!sanitize(&format!("a{c}b"), 10).contains(c), "{c:?}");
        }
        assert_eq!(clean, "10.9.9.9 ok written?1.0?x?");
    }

    #[test]
    fn masks_url_passwords_and_token_values() {
        assert_eq!(
            redact("http://ops:hunter2@consul:8500/v1/catalog?token=abc-123&dc=x"),
            "http://***@consul:8500/v1/catalog?token=***&dc=x"
        );
        assert_eq!(
            redact("403 from proxy: X-Consul-Token: 5e1f-aa Authorization: Basic dXNl"),
            "403 from proxy: X-Consul-Token: *** Authorization: Basic ***"
        );
        assert_eq!(redact(r#"{"Token":"s3cr3t"}"#), r#"{"Token":"***"}"#);
        assert_eq!(redact("Bearer abc"), "Bearer ***");
    }

    #[test]
    fn leaves_ordinary_text_alone() {
        for text in [
            "http://consul.demo:8500",
            "ACL not found",
            "/demo/pigsty.yml:3:7: mapping values are not allowed here",
            "token",
            "",
            "naïve ünïcode @ text://",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
