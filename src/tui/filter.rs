//! The filter language: whitespace-separated terms that must all match.
//!
//! A bare word matches a cluster, instance, address or role (case-insensitive substring).
//! `role:`, `kind:`, `src:`, `cluster:`, `dc:` and `sev:` narrow a term to one field. Values are
//! matched as substrings (prefixes for `sev:`) so the view narrows while the user types.

use crate::drift::Severity;

/// One parsed term.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Term {
    /// Matches cluster, instance, address or role.
    Word(String),
    /// Matches a role any source claims.
    Role(String),
    /// Matches the code of a finding on the instance or its cluster.
    Kind(String),
    /// Matches a source that observed the instance.
    Src(String),
    /// Matches the cluster name.
    Cluster(String),
    /// Matches the datacenter of the instance's cluster (several datacenters read).
    Dc(String),
    /// Matches instances with a finding of exactly this severity.
    Sev(Severity),
    /// A term that can match nothing (an unknown severity); kept so the user sees why.
    Never(String),
    /// A `key:value` term whose key is not a filter key; matches nothing, and the
    /// footer says so rather than leaving an empty tree unexplained.
    UnknownKey(String),
}

/// The filter keys, as the help and the footer list them.
pub const KEYS: &str = "role: kind: src: cluster: dc: sev:";

/// A parsed filter; empty means everything matches.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Terms, all of which must match.
    pub terms: Vec<Term>,
}

/// What a term is matched against: the lowercased facts of one instance.
#[derive(Clone, Debug, Default)]
pub struct Subject<'a> {
    /// Cluster name, lowercase.
    pub cluster: &'a str,
    /// Datacenter of the cluster, lowercase; empty when none is known.
    pub datacenter: &'a str,
    /// Instance name, lowercase.
    pub instance: &'a str,
    /// Every address any source gives it.
    pub ips: &'a [String],
    /// Every role word any source claims, lowercase.
    pub roles: &'a [String],
    /// Names of the sources that observed it.
    pub sources: &'a [&'static str],
    /// Codes of its findings and of its cluster's cluster-level findings.
    pub kinds: &'a [&'static str],
    /// Severities of those findings.
    pub severities: &'a [Severity],
}

impl Filter {
    /// Parses filter text; never fails, since a half-typed filter is the normal case.
    pub fn parse(text: &str) -> Filter {
        let terms = text.split_whitespace().filter_map(parse_term).collect();
        Filter { terms }
    }

    /// True when the filter lets everything through.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// True when every term matches the subject.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        self.terms.iter().all(|t| t.matches(s))
    }

    /// The keys of `key:value` terms that are not filter keys (`bogus` of `bogus:x`).
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.terms
            .iter()
            .filter_map(|t| match t {
                Term::UnknownKey(key) => Some(key.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Terms that can never match, for the status line.
    pub fn problems(&self) -> Vec<&str> {
        self.terms
            .iter()
            .filter_map(|t| match t {
                Term::Never(raw) => Some(raw.as_str()),
                _ => None,
            })
            .collect()
    }
}

fn parse_term(raw: &str) -> Option<Term> {
    let lower = raw.to_lowercase();
    let Some((key, value)) = lower.split_once(':') else {
        return Some(Term::Word(lower));
    };
    // `role:` with nothing after it yet is a term being typed: let everything through.
    let value = value.to_string();
    let term = match key {
        "role" => Term::Role(value),
        "kind" => Term::Kind(value),
        "src" | "source" => Term::Src(value),
        "cluster" | "cls" => Term::Cluster(value),
        "dc" | "datacenter" => Term::Dc(value),
        "sev" | "severity" => {
            if value.is_empty() {
                return None;
            }
            match parse_severity(&value) {
                Some(s) => Term::Sev(s),
                None => Term::Never(raw.to_string()),
            }
        }
        // A word of letters before the colon reads as a key; anything else (an IPv6
        // address, `host:5432`) is text to look for.
        k if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic()) => {
            if value.is_empty() {
                return None;
            }
            return Some(Term::UnknownKey(k.to_string()));
        }
        _ => return Some(Term::Word(lower)),
    };
    let empty = match &term {
        Term::Role(v) | Term::Kind(v) | Term::Src(v) | Term::Cluster(v) | Term::Dc(v) => {
            v.is_empty()
        }
        _ => false,
    };
    (!empty).then_some(term)
}

fn parse_severity(value: &str) -> Option<Severity> {
    [Severity::Error, Severity::Warning, Severity::Info]
        .into_iter()
        .find(|s| s.name().starts_with(value))
}

impl Term {
    /// True when this one term matches the subject.
    pub fn matches(&self, s: &Subject<'_>) -> bool {
        let any = |items: &[String], v: &str| items.iter().any(|i| i.contains(v));
        match self {
            Term::Word(w) => {
                s.cluster.contains(w.as_str())
                    || s.instance.contains(w.as_str())
                    || any(s.ips, w)
                    || any(s.roles, w)
            }
            Term::Role(v) => any(s.roles, v),
            Term::Kind(v) => s.kinds.iter().any(|k| k.contains(v.as_str())),
            Term::Src(v) => s.sources.iter().any(|k| k.starts_with(v.as_str())),
            Term::Cluster(v) => s.cluster.contains(v.as_str()),
            Term::Dc(v) => s.datacenter.contains(v.as_str()),
            Term::Sev(sev) => s.severities.contains(sev),
            Term::Never(_) | Term::UnknownKey(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn subject<'a>(
        roles: &'a [String],
        ips: &'a [String],
        kinds: &'a [&'static str],
        sevs: &'a [Severity],
    ) -> Subject<'a> {
        Subject {
            cluster: "pg-test",
            datacenter: "dc1",
            instance: "pg-test-1",
            ips,
            roles,
            sources: &["consul", "inventory"],
            kinds,
            severities: sevs,
        }
    }

    #[test]
    fn an_unknown_key_is_reported_not_searched_for() {
        let f = Filter::parse("bogus:x pg");
        assert_eq!(f.unknown_keys(), vec!["bogus"]);
        assert!(!f.matches(&Subject::default()));
        // Addresses and ports are text, not keys.
        assert!(
            Filter::parse("fe80::1 10.0.0.1:5432")
                .unknown_keys()
                .is_empty()
        );
        // Half typed: nothing after the colon yet lets everything through.
        assert!(Filter::parse("bogus:").is_empty());
    }

    #[test]
    fn dc_matches_the_datacenter_only() {
        let f = Filter::parse("dc:dc1");
        assert_eq!(f.terms, vec![Term::Dc("dc1".into())]);
        let mut s = subject(&[], &[], &[], &[]);
        assert!(f.matches(&s));
        s.datacenter = "dc2";
        assert!(!f.matches(&s));
        // A cluster without a datacenter is not in any.
        s.datacenter = "";
        assert!(!f.matches(&s));
        assert!(Filter::parse("datacenter:dc2").matches(&Subject {
            datacenter: "dc2",
            ..Subject::default()
        }));
    }

    #[test]
    fn parses_keyed_terms() {
        let f =
            Filter::parse("  Role:Primary kind:role-mismatch src:consul cluster:pg-test sev:e x ");
        assert_eq!(
            f.terms,
            vec![
                Term::Role("primary".into()),
                Term::Kind("role-mismatch".into()),
                Term::Src("consul".into()),
                Term::Cluster("pg-test".into()),
                Term::Sev(Severity::Error),
                Term::Word("x".into()),
            ]
        );
    }

    #[test]
    fn half_typed_terms_are_ignored_and_bad_severity_is_reported() {
        assert!(Filter::parse("role: kind: sev:").is_empty());
        let f = Filter::parse("sev:fatal");
        assert_eq!(f.problems(), vec!["sev:fatal"]);
        assert_eq!(
            Filter::parse("foo:bar").terms,
            vec![Term::UnknownKey("foo".into())]
        );
    }

    #[test]
    fn all_terms_must_match() {
        let roles = vec!["primary".to_string(), "replica".to_string()];
        let ips = vec!["10.0.0.1".to_string()];
        let kinds = ["role-mismatch"];
        let sevs = [Severity::Error];
        let s = subject(&roles, &ips, &kinds, &sevs);
        for yes in [
            "",
            "PG-TEST",
            "10.0.0",
            "prim",
            "role:replica",
            "kind:role",
            "src:con",
            "src:inventory",
            "cluster:pg-te",
            "sev:error",
            "test-1 role:primary sev:err",
        ] {
            assert!(Filter::parse(yes).matches(&s), "{yes} should match");
        }
        for no in [
            "pg-web",
            "role:offline",
            "kind:ip",
            "src:targets",
            "cluster:web",
            "sev:warning",
            "sev:bogus",
            "pg-test role:offline",
        ] {
            assert!(!Filter::parse(no).matches(&s), "{no} should not match");
        }
    }

    proptest! {
        #[test]
        fn parser_never_panics(text in "\\PC{0,40}", raw in proptest::collection::vec(any::<char>(), 0..20)) {
            let roles = vec!["primary".to_string()];
            let ips = vec!["10.0.0.1".to_string()];
            let s = subject(&roles, &ips, &[], &[]);
            let _ = Filter::parse(&text).matches(&s);
            let raw: String = raw.into_iter().collect();
            let _ = Filter::parse(&raw).matches(&s);
        }
    }
}
