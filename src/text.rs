//! Terminal-safe text: one sanitiser for remote strings, one masker for credentials, and
//! the registry of every secret roster holds, scrubbed from everything it shows or writes.
//!
//! Every string that comes from outside (Consul, a file, a process) and is headed for a
//! terminal, a log or a file roster writes passes through here, so that the rules live in
//! one place.

use std::borrow::Cow;
use std::sync::RwLock;

/// Secret values (and their escaped spellings) to mask wherever they appear.
static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Shortest secret that is scrubbed: a shorter one would mask ordinary words, and is no
/// protection anyway.
pub const MIN_SECRET_LEN: usize = 4;

/// Remembers a secret (an ACL token, a password) so that [`scrub`] masks it from then on.
///
/// A server can echo a secret anywhere in an answer, so matching is on the value itself,
/// not on the words around it. The JSON and URL spellings are remembered too, as a
/// secret with quotes, backslashes or reserved characters is written differently there.
pub fn register_secret(value: &str) {
    let value = value.trim();
    if value.chars().count() < MIN_SECRET_LEN {
        return;
    }
    let mut forms = vec![value.to_string()];
    if let Ok(quoted) = serde_json::to_string(value) {
        forms.push(quoted[1..quoted.len() - 1].to_string());
    }
    forms.push(url::form_urlencoded::byte_serialize(value.as_bytes()).collect());
    let mut secrets = SECRETS.write().unwrap_or_else(|p| p.into_inner());
    for form in forms {
        if !secrets.contains(&form) {
            secrets.push(form);
        }
    }
    // Longest first, so that a secret holding another one is masked whole.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// The text with every registered secret replaced by [`MASK`] (borrowed when none occurs).
pub fn scrub(text: &str) -> Cow<'_, str> {
    let secrets = SECRETS.read().unwrap_or_else(|p| p.into_inner());
    let mut out = Cow::Borrowed(text);
    for secret in secrets.iter() {
        if out.contains(secret.as_str()) {
            out = Cow::Owned(out.replace(secret.as_str(), MASK));
        }
    }
    out
}

/// Characters that reorder or hide text on a terminal: bidi embeddings, overrides,
/// isolates and marks.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
    )
}

/// One character of remote text as it may be shown: line breaks and other whitespace
/// become a space, control characters (C0, C1, DEL) and bidi controls become `?`.
fn safe_char(c: char) -> char {
    if c.is_whitespace() {
        ' '
    } else if c.is_control() || is_bidi_control(c) {
        '?'
    } else {
        c
    }
}

/// Makes remote text safe to print on a terminal without changing its layout: secrets
/// are scrubbed, line breaks become spaces, control and bidi characters become `?`;
/// runs of spaces, and the length, are kept (for diff lines, whose indentation matters).
pub fn neutralize(text: &str) -> String {
    scrub(text).chars().map(safe_char).collect()
}

/// Makes remote text safe to print on a terminal: secrets are scrubbed, control and bidi
/// characters become `?`, line breaks and whitespace runs collapse to one space, and the
/// length is bounded.
pub fn sanitize(text: &str, max: usize) -> String {
    // Scrubbed before it is cut, so that no prefix of a secret survives the cut.
    let text = scrub(text);
    let mut out = String::with_capacity(text.len().min(max));
    let mut last_space = false;
    let mut count = 0;
    for ch in text.trim().chars() {
        let c = safe_char(ch);
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        if count >= max {
            out.push('…');
            break;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// A serialised JSON document made safe for a terminal with the same data: secrets
/// scrubbed, and the characters `serde_json` leaves raw (DEL, C1 controls, bidi controls,
/// line and paragraph separators) written as `\uXXXX` escapes, which occur only inside
/// strings there.
pub fn json_safe(json: &str) -> String {
    let json = scrub(json);
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if (c.is_control() && c != '\n')
            || is_bidi_control(c)
            || matches!(c, '\u{2028}' | '\u{2029}')
        {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
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

/// The text with registered secrets, URL passwords and token-like values replaced by [`MASK`].
pub fn redact(text: &str) -> String {
    mask_markers(&mask_userinfo(&scrub(text)))
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
    fn registered_secrets_are_scrubbed_wherever_they_appear() {
        let secret = "unit-secret-\"q\\-7f1e";
        register_secret(secret);
        register_secret("abc");
        let echoed = format!("ACL not found:{secret}. Again: {secret}");
        assert_eq!(scrub(&echoed), "ACL not found:***. Again: ***");
        assert!(!sanitize(&echoed, 20).contains("unit-secret"));
        assert!(!redact(&echoed).contains("unit-secret"));
        assert!(!neutralize(&echoed).contains("unit-secret"));
        let json = serde_json::json!({ "result": echoed }).to_string();
        assert!(!json_safe(&json).contains("unit-secret"), "{json}");
        assert_eq!(scrub("abc abc"), "abc abc", "too short to be scrubbed");
    }

    #[test]
    fn json_safe_escapes_what_serde_json_leaves_raw() {
        let value = serde_json::json!({ "node": "a\u{202E}b\u{85}c\u{7f}d\nz" });
        let text = serde_json::to_string_pretty(&value).unwrap();
        let safe = json_safe(&text);
        assert!(!safe.contains(['\u{202E}', '\u{85}', '\u{7f}']), "{safe}");
        assert!(safe.contains("\\u202e"), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, value, "the same data");
    }

    #[test]
    fn neutralize_keeps_the_layout() {
        assert_eq!(neutralize("+    2:   a\r\nb\u{1b}c"), "+    2:   a  b?c");
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
