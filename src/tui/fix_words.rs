//! The fix dialog's words: why a destination cannot be planned, said before planning
//! in the UI's terms, and the planner's messages with their command-line hints (flags of
//! `roster fix`) replaced by what the UI offers instead.

use crate::fix::plan::{Destination, FixContext};
use crate::fleet::Fleet;

/// Command-line hints of the shared planner and what the dialog says instead. Each left
/// side is a phrase the planner writes (a test keeps them in step with it).
pub const REPHRASED: &[(&str, &str)] = &[
    (
        "; `roster fix --to targets --add-missing` adds one",
        " to edit: the UI edits existing groups only (roster fix on the command line adds one)",
    ),
    (
        "; name the authority (--authority targets|inventory)",
        ": there is no other place to take its identity from",
    ),
    (" (--override-split-brain plans anyway)", ""),
    (
        "register it on the node (the command destination)",
        "register it on the node (t: the node command)",
    ),
];

/// A planner message in the UI's words.
pub fn rephrase(message: &str) -> String {
    REPHRASED
        .iter()
        .fold(message.to_string(), |m, (cli, ui)| m.replace(cli, ui))
}

/// Why `dest` cannot be planned for `cluster` (or its member `instance`) at all, when
/// that can be told from the read and the settings alone.
pub fn cannot_plan(
    fleet: &Fleet,
    cluster: &str,
    instance: Option<&str>,
    dest: Destination,
    ctx: &FixContext,
) -> Option<String> {
    let source = dest.source();
    let configured = fleet.source(source).is_some();
    match dest {
        Destination::Targets if !configured => {
            return Some("targets not configured (no target files were read)".into());
        }
        Destination::Consul if ctx.consul.is_none() && !configured => {
            return Some("Consul not configured (no Consul address was given)".into());
        }
        Destination::Command if ctx.command.is_none() => {
            return Some(
                "no node command configured: set [fix] command in the config file (e.g. \"ssh {ip} sudo /pg/bin/pg-register {role}\")"
                    .into(),
            );
        }
        _ => {}
    }
    let report = fleet.source(source)?;
    if report.failed_entirely() {
        return Some(format!(
            "{source} not read: {}",
            report.errors.first().map_or("no answer", String::as_str)
        ));
    }
    // Only a complete read says an instance is absent; otherwise the planner's warnings
    // name what could not be read.
    if fleet.read_state(source) != crate::observation::ReadState::Complete {
        return None;
    }
    let name = instance?;
    let inst = fleet
        .clusters
        .iter()
        .filter(|c| c.name == cluster)
        .flat_map(|c| c.instances.iter())
        .find(|i| i.name == name)?;
    if inst.seen_by(source) {
        return None;
    }
    Some(match dest {
        Destination::Targets => format!(
            "{name} is not in the target files: the UI edits existing target groups only (roster fix on the command line adds one); t plans another target"
        ),
        Destination::Consul if ctx.command.is_some() => format!(
            "{name} has no registration in Consul to rewrite: t to the node command registers it on the node"
        ),
        Destination::Consul => format!(
            "{name} has no registration in Consul to rewrite: it is registered on the node (no node command is configured)"
        ),
        // The node command registers what Consul lacks.
        Destination::Command => return None,
    })
}

/// True when a line holds a command-line flag (`--word`).
pub fn has_flag(line: &str) -> bool {
    line.match_indices("--")
        .any(|(at, _)| line[at + 2..].starts_with(|c: char| c.is_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rephrased_hint_is_the_planner_s() {
        let sources = [
            include_str!("../fix/plan_targets.rs"),
            include_str!("../fix/cluster.rs"),
            include_str!("../fix/plan.rs"),
        ];
        for (cli, ui) in REPHRASED {
            assert!(
                sources.iter().any(|s| s.contains(cli)),
                "the planner no longer writes {cli:?}"
            );
            assert!(!has_flag(ui), "{ui}");
        }
        assert_eq!(
            rephrase(
                "pg-new-1 has no target group; `roster fix --to targets --add-missing` adds one"
            ),
            "pg-new-1 has no target group to edit: the UI edits existing groups only (roster fix on the command line adds one)"
        );
        assert!(has_flag("x (--authority y)") && !has_flag("a -- b") && !has_flag("-  role"));
    }
}
