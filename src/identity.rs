//! Pigsty instance identity: roles, derived names and the rules that tie them together.

use serde::Serialize;
use std::fmt;

/// A database instance's role, normalised the way Pigsty's Patroni callback does.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// The read-write leader (`primary`, `master`, `leader`, `p`, `m`, `l`).
    Primary,
    /// A streaming standby (`replica`, `standby`, `slave`, `r`, `s`).
    Replica,
    /// A replica reserved for offline/analytic queries.
    Offline,
    /// A replica that deliberately replays with a delay.
    Delayed,
    /// A word roster does not recognise, kept exactly as written.
    Unknown(String),
}

impl Role {
    /// Normalises a role word; unrecognised words are kept as [`Role::Unknown`].
    pub fn parse(word: &str) -> Role {
        let w = word.trim();
        match w.to_ascii_lowercase().as_str() {
            "primary" | "p" | "master" | "m" | "leader" | "l" => Role::Primary,
            "replica" | "r" | "standby" | "s" | "slave" => Role::Replica,
            "offline" => Role::Offline,
            "delayed" => Role::Delayed,
            _ => Role::Unknown(w.to_string()),
        }
    }

    /// Parses a word only if it is a recognised role (used for tags, which are mostly not roles).
    pub fn parse_known(word: &str) -> Option<Role> {
        match Role::parse(word) {
            Role::Unknown(_) => None,
            r => Some(r),
        }
    }

    /// The canonical spelling (`primary`, `replica`, ...), or the raw word when unknown.
    pub fn as_str(&self) -> &str {
        match self {
            Role::Primary => "primary",
            Role::Replica => "replica",
            Role::Offline => "offline",
            Role::Delayed => "delayed",
            Role::Unknown(w) => w,
        }
    }

    /// True for the read-write role.
    pub fn is_primary(&self) -> bool {
        matches!(self, Role::Primary)
    }

    /// True when the word was not recognised.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Role::Unknown(_))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The instance name Pigsty derives from cluster and seq: `{cluster}-{seq}`.
pub fn instance_name(cluster: &str, seq: u32) -> String {
    format!("{cluster}-{seq}")
}

/// The service name Pigsty derives from cluster and role: `{cluster}-{role}`.
pub fn service_name(cluster: &str, role: &Role) -> String {
    format!("{cluster}-{}", role.as_str())
}

/// Recovers the seq from an instance name of the form `{cluster}-{seq}`.
pub fn seq_from_instance(cluster: &str, instance: &str) -> Option<u32> {
    let rest = instance.strip_prefix(cluster)?.strip_prefix('-')?;
    if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    rest.parse().ok()
}

/// Parses a seq value as written in meta or inventory (`"1"`, `1`).
///
/// Any non-negative integer is a seq, as Pigsty's playbooks accept it: Citus examples
/// number a shard's members from 0 (`pg-citus0-0`).
pub fn parse_seq(raw: &str) -> Option<u32> {
    raw.trim().parse::<u32>().ok()
}

/// Recovers the role word from a service name of the form `{cluster}-{role}`.
pub fn role_from_service(cluster: &str, service: &str) -> Option<Role> {
    let rest = service.strip_prefix(cluster)?.strip_prefix('-')?;
    Role::parse_known(rest)
}

/// True when a name follows Pigsty's cluster naming rule `[a-z][a-z0-9-]*`.
pub fn valid_cluster_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_words_normalise_like_the_patroni_callback() {
        for w in ["primary", "p", "master", "M", "leader", "l", " Primary "] {
            assert_eq!(Role::parse(w), Role::Primary, "{w}");
        }
        for w in ["replica", "r", "standby", "s", "slave", "SLAVE"] {
            assert_eq!(Role::parse(w), Role::Replica, "{w}");
        }
        assert_eq!(Role::parse("offline"), Role::Offline);
        assert_eq!(Role::parse("delayed"), Role::Delayed);
        assert_eq!(
            Role::parse("standby_leader"),
            Role::Unknown("standby_leader".into())
        );
        assert_eq!(Role::parse("Leadr").as_str(), "Leadr");
        assert_eq!(Role::parse_known("pg"), None);
    }

    #[test]
    fn derived_names() {
        assert_eq!(instance_name("pg-test", 2), "pg-test-2");
        assert_eq!(service_name("pg-test", &Role::Replica), "pg-test-replica");
        assert_eq!(seq_from_instance("pg-test", "pg-test-12"), Some(12));
        assert_eq!(seq_from_instance("pg-test", "pg-test-"), None);
        assert_eq!(seq_from_instance("pg-test", "pg-test-0"), Some(0));
        assert_eq!(seq_from_instance("pg-test", "pg-test--1"), None);
        assert_eq!(seq_from_instance("pg-test", "pg-testing-1"), None);
        assert_eq!(seq_from_instance("pg", "pg-test-1"), None);
        assert_eq!(
            role_from_service("pg-test", "pg-test-primary"),
            Some(Role::Primary)
        );
        assert_eq!(role_from_service("pg-test", "pg-test-default"), None);
        assert_eq!(parse_seq(" 3"), Some(3));
        assert_eq!(parse_seq("x"), None);
        assert_eq!(parse_seq("0"), Some(0));
        assert_eq!(parse_seq("-1"), None);
        assert!(valid_cluster_name("pg-test2"));
        assert!(!valid_cluster_name("Pg-test"));
        assert!(!valid_cluster_name(""));
    }
}
