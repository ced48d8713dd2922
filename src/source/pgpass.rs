//! libpq's password file (`~/.pgpass`, `PGPASSFILE`), read exactly as libpq reads it so
//! that an engineer's existing file works unchanged.

use crate::consul::Secret;
use std::path::Path;

/// The password the file holds for this connection: the first matching line wins.
pub fn lookup(path: &Path, host: &str, port: u16, dbname: &str, user: &str) -> Option<Secret> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        tracing::warn!(
            "password file {} is not a plain file: ignored",
            path.display()
        );
        return None;
    }
    if insecure(&meta) {
        // libpq refuses such a file rather than trust a password others could read.
        tracing::warn!(
            "password file {} has group or world access; permissions should be u=rw (0600) or less: ignored",
            path.display()
        );
        return None;
    }
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    find(&text, host, port, dbname, user).map(Secret::new)
}

#[cfg(unix)]
fn insecure(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o077 != 0
}

#[cfg(not(unix))]
fn insecure(_meta: &std::fs::Metadata) -> bool {
    false
}

/// The password of the first line matching the connection, from the file's text.
fn find(text: &str, host: &str, port: u16, dbname: &str, user: &str) -> Option<String> {
    // libpq compares a unix socket directory or an empty host as `localhost`.
    let host = if host.is_empty() || host.starts_with('/') {
        "localhost"
    } else {
        host
    };
    let port = port.to_string();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let rest = Some(line)
            .and_then(|r| matches_field(r, host))
            .and_then(|r| matches_field(r, &port))
            .and_then(|r| matches_field(r, dbname))
            .and_then(|r| matches_field(r, user));
        let Some(rest) = rest else { continue };
        let password = unescape_password(rest);
        // libpq treats an empty password as none given.
        return (!password.is_empty()).then_some(password);
    }
    None
}

/// libpq's `pwdfMatchesString`: the rest of the line after a field that is `*` or equals
/// `token` (with `\` escaping the next character), or `None`.
fn matches_field<'a>(field: &'a str, token: &str) -> Option<&'a str> {
    if let Some(rest) = field.strip_prefix("*:") {
        return Some(rest);
    }
    let mut want = token.chars();
    let mut chars = field.char_indices();
    while let Some((i, c)) = chars.next() {
        let (c, escaped) = if c == '\\' {
            match chars.next() {
                Some((_, next)) => (next, true),
                None => return None,
            }
        } else {
            (c, false)
        };
        if c == ':' && !escaped {
            return want.next().is_none().then(|| &field[i + c.len_utf8()..]);
        }
        if want.next() != Some(c) {
            return None;
        }
    }
    None
}

/// The password field: up to the first unescaped `:`, with `\x` meaning `x`.
fn unescape_password(field: &str) -> String {
    let mut out = String::new();
    let mut chars = field.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ':' => break,
            // A trailing lone backslash stays, as in libpq.
            '\\' if chars.peek().is_some() => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn pw(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
        find(text, host, port, db, user)
    }

    #[test]
    fn exact_match() {
        let f = "10.10.10.11:5432:postgres:dbuser_monitor:s3cret\n";
        assert_eq!(
            pw(f, "10.10.10.11", 5432, "postgres", "dbuser_monitor").as_deref(),
            Some("s3cret")
        );
        assert_eq!(
            pw(f, "10.10.10.12", 5432, "postgres", "dbuser_monitor"),
            None
        );
        assert_eq!(
            pw(f, "10.10.10.11", 5433, "postgres", "dbuser_monitor"),
            None
        );
        assert_eq!(pw(f, "10.10.10.11", 5432, "meta", "dbuser_monitor"), None);
        assert_eq!(pw(f, "10.10.10.11", 5432, "postgres", "other"), None);
    }

    #[test]
    fn wildcards_and_first_match_wins() {
        let f = "\
# monitor everywhere
10.10.10.11:*:*:dbuser_monitor:special
*:*:*:dbuser_monitor:general
*:*:*:*:fallback
";
        assert_eq!(
            pw(f, "10.10.10.11", 5432, "x", "dbuser_monitor").as_deref(),
            Some("special")
        );
        assert_eq!(
            pw(f, "10.10.10.12", 6543, "x", "dbuser_monitor").as_deref(),
            Some("general")
        );
        assert_eq!(
            pw(f, "10.10.10.12", 5432, "x", "someone").as_deref(),
            Some("fallback")
        );
    }

    #[test]
    fn star_is_a_wildcard_only_as_the_whole_field() {
        let f = "10.10.*:5432:postgres:u:p\n";
        assert_eq!(pw(f, "10.10.10.11", 5432, "postgres", "u"), None);
        assert_eq!(
            pw(f, "10.10.*", 5432, "postgres", "u").as_deref(),
            Some("p")
        );
    }

    #[test]
    fn escapes_in_fields_and_password() {
        let f = r"h:5432:db\:name:us\\er:pa\:ss\\word:ignored";
        assert_eq!(
            pw(f, "h", 5432, "db:name", r"us\er").as_deref(),
            Some(r"pa:ss\word")
        );
        assert_eq!(pw(f, "h", 5432, "db", r"us\er"), None);
    }

    #[test]
    fn comments_blank_lines_crlf_and_short_lines() {
        let f = "#h:5432:db:u:commented\r\n\r\nh:5432:db\r\nh:5432:db:u:real\r\n";
        assert_eq!(pw(f, "h", 5432, "db", "u").as_deref(), Some("real"));
    }

    #[test]
    fn socket_and_empty_host_match_localhost() {
        let f = "localhost:5432:db:u:local\n";
        assert_eq!(
            pw(f, "/var/run/postgresql", 5432, "db", "u").as_deref(),
            Some("local")
        );
        assert_eq!(pw(f, "", 5432, "db", "u").as_deref(), Some("local"));
        assert_eq!(pw(f, "127.0.0.1", 5432, "db", "u"), None);
    }

    #[test]
    fn empty_password_is_none() {
        assert_eq!(pw("h:5432:db:u:\n", "h", 5432, "db", "u"), None);
    }

    #[test]
    fn prefix_of_a_field_does_not_match() {
        let f = "h:5432:postgres:dbuser:p\n";
        assert_eq!(pw(f, "h", 5432, "postgres", "dbuser_monitor"), None);
        assert_eq!(pw(f, "h", 5432, "postgre", "dbuser"), None);
    }

    #[cfg(unix)]
    #[test]
    fn file_permissions_as_libpq() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("pgpass");
        let mut f = std::fs::File::create(&path).expect("create");
        f.write_all(b"*:*:*:dbuser_monitor:from-file\n")
            .expect("write");
        drop(f);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let got = lookup(&path, "10.0.0.1", 5432, "postgres", "dbuser_monitor");
        assert_eq!(got.as_ref().map(Secret::expose), Some("from-file"));
        for mode in [0o640, 0o604, 0o620, 0o644] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
            assert_eq!(
                lookup(&path, "10.0.0.1", 5432, "postgres", "dbuser_monitor"),
                None,
                "mode {mode:o}"
            );
        }
        assert_eq!(
            lookup(
                &dir.path().join("missing"),
                "h",
                5432,
                "postgres",
                "dbuser_monitor"
            ),
            None
        );
        assert_eq!(
            lookup(dir.path(), "h", 5432, "postgres", "dbuser_monitor"),
            None
        );
    }
}
