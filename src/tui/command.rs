//! The `:` command line: parsing what the user typed into a [`Command`].

use crate::tui::vocab::Sort;

/// Every command's syntax, for the help overlay.
pub const COMMANDS: &[&str] = &[
    ":q",
    ":filter TEXT",
    ":dc NAME",
    ":sort name|drift|role",
    ":expand",
    ":collapse",
    ":sources",
    ":failover CLS",
    ":findings",
    ":events",
    ":undo",
    ":help",
];

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Leave the UI.
    Quit,
    /// Set the filter (empty: clear it).
    Filter(String),
    /// Read Consul in another datacenter.
    Datacenter(String),
    /// Sort the tree.
    Sort(Sort),
    /// Expand every cluster.
    ExpandAll,
    /// Collapse to clusters.
    CollapseAll,
    /// Open the help overlay.
    Help,
    /// Open the source overlay (full errors).
    Sources,
    /// Open the failover view of a cluster.
    Failover(String),
    /// Open the list of every finding.
    Findings,
    /// Open the events pane.
    Events,
    /// Undo the latest fix applied in this session.
    Undo,
}

/// Longest datacenter name accepted (Consul's own limit is far below this).
const DC_MAX: usize = 128;

/// Parses one command line (with or without its leading `:`); the error says what is wrong.
pub fn parse(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let line = line.strip_prefix(':').unwrap_or(line).trim_start();
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((n, r)) => (n, r.trim()),
        None => (line, ""),
    };
    let no_args = |c: Command| {
        if rest.is_empty() {
            Ok(c)
        } else {
            Err(format!(":{name} takes no argument"))
        }
    };
    match name {
        "" => Err("empty command (try :help)".into()),
        "q" | "quit" | "q!" | "qa" => no_args(Command::Quit),
        "filter" | "f" => Ok(Command::Filter(rest.to_string())),
        "dc" => datacenter(rest).map(Command::Datacenter),
        "sort" => match rest {
            "name" => Ok(Command::Sort(Sort::Name)),
            "drift" => Ok(Command::Sort(Sort::Drift)),
            "role" => Ok(Command::Sort(Sort::Role)),
            _ => Err(":sort takes name, drift or role".into()),
        },
        "expand" => no_args(Command::ExpandAll),
        "collapse" => no_args(Command::CollapseAll),
        "help" | "h" | "?" => no_args(Command::Help),
        "sources" | "src" => no_args(Command::Sources),
        "failover" | "fo" => Ok(Command::Failover(rest.to_string())),
        "findings" | "fi" => no_args(Command::Findings),
        "events" | "ev" => no_args(Command::Events),
        "undo" => no_args(Command::Undo),
        other => Err(format!("unknown command :{other} (try :help)")),
    }
}

/// A datacenter name as Consul accepts it: letters, digits, `-`, `_`, `.`.
fn datacenter(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err(":dc needs a datacenter name".into());
    }
    let ok = name.len() <= DC_MAX
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(name.to_string())
    } else {
        Err(format!(
            ":dc {name:?}: a datacenter name has only letters, digits, - _ ."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_commands() {
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse(":quit"), Ok(Command::Quit));
        assert_eq!(parse("  quit  "), Ok(Command::Quit));
        assert_eq!(
            parse("filter role:primary pg-test"),
            Ok(Command::Filter("role:primary pg-test".into()))
        );
        assert_eq!(parse("filter"), Ok(Command::Filter(String::new())));
        assert_eq!(parse("dc dc2"), Ok(Command::Datacenter("dc2".into())));
        assert_eq!(parse("sort drift"), Ok(Command::Sort(Sort::Drift)));
        assert_eq!(parse("sort role"), Ok(Command::Sort(Sort::Role)));
        assert_eq!(parse("sort name"), Ok(Command::Sort(Sort::Name)));
        assert_eq!(parse("expand"), Ok(Command::ExpandAll));
        assert_eq!(parse("collapse"), Ok(Command::CollapseAll));
        assert_eq!(parse("help"), Ok(Command::Help));
        assert_eq!(parse(":undo"), Ok(Command::Undo));
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |s| parse(s).err().unwrap_or_default();
        assert!(err("frobnicate").contains("unknown command :frobnicate"));
        assert!(err("").contains("empty"));
        assert!(err("dc").contains("needs a datacenter"));
        assert!(err("dc a b").contains("letters, digits"));
        assert!(err("dc dc1?x=1").contains("letters, digits"));
        assert!(err("sort size").contains("name, drift or role"));
        assert!(err("q now").contains("takes no argument"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(line in ".{0,80}") {
            let _ = parse(&line);
        }

        #[test]
        fn a_datacenter_that_parses_is_one_safe_word(line in "dc .{0,40}") {
            if let Ok(Command::Datacenter(dc)) = parse(&line) {
                prop_assert!(!dc.is_empty());
                prop_assert!(dc.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
            }
        }
    }
}
