//! The human table: one row per instance, then the findings, then a summary line.

use super::CheckResult;
use crate::drift::Severity;
use crate::fleet::Coverage;
use crate::observation::{ReadState, SourceStatus};
use crate::text::sanitize;
use crate::verdict::{Judges, Verdict, describe, unread_of};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A one-letter marker, so severity never depends on colour.
pub fn severity_letter(s: Severity) -> char {
    match s {
        Severity::Error => 'E',
        Severity::Warning => 'W',
        Severity::Info => 'I',
    }
}

/// Renders the table.
pub fn render(r: &CheckResult) -> String {
    let mut out = String::new();
    for note in &r.notes {
        let _ = writeln!(out, "note: {}", sanitize(note, 400));
    }
    for s in &r.fleet.sources {
        let state = match s.status {
            SourceStatus::Ok => "ok".to_string(),
            SourceStatus::Error => "ERROR".to_string(),
        };
        let _ = writeln!(
            out,
            "source {:<9} {:<5} {} ({} observations)",
            s.label(),
            state,
            sanitize(&s.location, 200),
            s.observations
        );
        for e in &s.errors {
            let _ = writeln!(out, "  error: {}", sanitize(e, 400));
        }
    }
    if !r.fleet.sources.is_empty() {
        out.push('\n');
    }

    let kinds = r.source_kinds();
    let verdicts = r.verdicts();
    // One cluster name can live in two datacenters: the datacenter is part of the key.
    let mut per_instance: BTreeMap<(Option<&str>, &str, &str), Vec<&str>> = BTreeMap::new();
    for f in &r.findings {
        if let Some(i) = &f.instance {
            per_instance
                .entry((f.datacenter.as_deref(), f.cluster.as_str(), i.as_str()))
                .or_default()
                .push(f.kind.code());
        }
    }
    let several = r.fleet.datacenters.len() > 1;
    let mut header = vec!["CLUSTER".to_string(), "INSTANCE".into(), "IP".into()];
    if several {
        header.insert(0, "DC".into());
    }
    header.extend(kinds.iter().map(|k| k.name().to_uppercase()));
    header.extend(["HEALTH".into(), "DRIFT".into()]);
    let mut rows = vec![header];
    let judges = Judges::new(&r.fleet);
    let instances = r
        .fleet
        .clusters
        .iter()
        .flat_map(|c| c.instances.iter().map(move |i| (c, i)));
    for ((c, i), verdict) in instances.zip(&verdicts) {
        let mut row = vec![
            c.name.clone(),
            i.name.clone(),
            i.display_ip().unwrap_or("-").to_string(),
        ];
        if several {
            row.insert(0, c.datacenter.clone().unwrap_or_else(|| "?".into()));
        }
        for k in &kinds {
            row.push(
                match judges.of(&r.fleet, c.datacenter.as_deref()).coverage(i, *k) {
                    Coverage::Record { stale: false } => i.role_view(*k).label(),
                    Coverage::Record { stale: true } => {
                        format!("{} (stale)", i.role_view(*k).label())
                    }
                    Coverage::Absent => "absent".into(),
                    Coverage::NotRead(ReadState::NotConfigured) => "-".into(),
                    Coverage::NotRead(_) => "not read".into(),
                },
            );
        }
        row.push(i.health().unwrap_or("-").to_string());
        row.push(match verdict {
            Verdict::Drift(_) => {
                let mut codes = per_instance
                    .get(&(c.datacenter.as_deref(), c.name.as_str(), i.name.as_str()))
                    .cloned()
                    .unwrap_or_default();
                codes.dedup();
                format!("! {}", codes.join(","))
            }
            Verdict::Unverified(unread) => format!("unverified: {}", describe(unread)),
            Verdict::Ok => "ok".into(),
        });
        rows.push(row.into_iter().map(|c| sanitize(&c, 60)).collect());
    }
    write_columns(&mut out, &rows);

    if !r.findings.is_empty() {
        let _ = writeln!(out, "\nFINDINGS");
        for f in &r.findings {
            let at = match &f.instance {
                Some(i) => i.clone(),
                None => format!("{} (cluster)", f.cluster),
            };
            let at = match (&f.datacenter, several) {
                (Some(dc), true) => format!("{dc}/{at}"),
                _ => at,
            };
            let _ = writeln!(
                out,
                "{} {:<20} {:<24} {}",
                severity_letter(f.severity),
                f.kind.code(),
                sanitize(&at, 60),
                sanitize(&f.message, 300)
            );
        }
    }
    let s = r.summary_of(&verdicts);
    let sources: Vec<String> = r
        .fleet
        .sources
        .iter()
        .map(|s| format!("{} {}", s.label(), if s.is_ok() { "ok" } else { "ERROR" }))
        .collect();
    // Never a bare "0 drifting" when some instances could not be compared everywhere.
    let unverified = match s.unverified_instances {
        0 => String::new(),
        n => format!(", {n} unverified: {}", describe(&unread_of(&verdicts))),
    };
    let _ = writeln!(
        out,
        "\n{}, {} ({} drifting{unverified}), {}: {} error, {} warning, {} info; sources: {}",
        count(s.clusters, "cluster"),
        count(s.instances, "instance"),
        s.drifting_instances,
        count(r.findings.len(), "finding"),
        s.errors,
        s.warnings,
        s.infos,
        if sources.is_empty() {
            "none".to_string()
        } else {
            sources.join(", ")
        }
    );
    out
}

/// `1 cluster`, `2 clusters`.
fn count(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn write_columns(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == cols {
                line.push_str(cell);
            } else {
                let _ = write!(line, "{cell:<w$}  ", w = widths[c]);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_thing_is_singular() {
        assert_eq!(count(1, "cluster"), "1 cluster");
        assert_eq!(count(0, "cluster"), "0 clusters");
        assert_eq!(count(2, "finding"), "2 findings");
    }
}
