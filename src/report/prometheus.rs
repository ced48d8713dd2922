//! Prometheus text exposition of findings and source health, for the textfile collector.

use super::CheckResult;
use crate::drift::Severity;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Escapes a label value as the exposition format requires (backslash, double quote,
/// line feed); the format has no escape for other control or bidi characters, and a
/// textfile is read on terminals too, so those become `?`.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() || crate::text::is_bidi_control(c) => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Writes the HELP and TYPE lines that open a gauge family.
fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// Renders the metrics.
pub fn render(r: &CheckResult) -> String {
    let mut out = String::new();
    // Several findings may share one label set (e.g. no-primary in two sources):
    // one series each, valued by how many there are.
    let mut series: BTreeMap<(String, &str, String, String), u64> = BTreeMap::new();
    for f in &r.findings {
        *series
            .entry((
                f.kind.code().to_string(),
                f.severity.name(),
                f.cluster.clone(),
                f.instance.clone().unwrap_or_default(),
            ))
            .or_default() += 1;
    }
    family(
        &mut out,
        "roster_finding",
        "Identity drift found by roster, one series per kind and place.",
    );
    for ((kind, sev, cluster, inst), n) in &series {
        let _ = writeln!(
            out,
            "roster_finding{{kind=\"{}\",severity=\"{}\",cluster=\"{}\",instance=\"{}\"}} {n}",
            escape(kind),
            sev,
            escape(cluster),
            escape(inst)
        );
    }
    family(
        &mut out,
        "roster_source_up",
        "Whether roster could read the source (1) or not (0).",
    );
    for s in &r.fleet.sources {
        let _ = writeln!(
            out,
            "roster_source_up{{source=\"{}\"}} {}",
            s.kind,
            u8::from(s.is_ok())
        );
    }
    family(
        &mut out,
        "roster_source_observations",
        "Identity records read from the source.",
    );
    for s in &r.fleet.sources {
        let _ = writeln!(
            out,
            "roster_source_observations{{source=\"{}\"}} {}",
            s.kind, s.observations
        );
    }
    let sum = r.summary();
    family(&mut out, "roster_findings", "Findings by severity.");
    for (sev, n) in [
        (Severity::Error, sum.errors),
        (Severity::Warning, sum.warnings),
        (Severity::Info, sum.infos),
    ] {
        let _ = writeln!(out, "roster_findings{{severity=\"{sev}\"}} {n}");
    }
    for (name, help, v) in [
        ("roster_clusters", "Clusters in the fleet.", sum.clusters),
        ("roster_instances", "Instances in the fleet.", sum.instances),
        (
            "roster_drifting_instances",
            "Instances with at least one finding.",
            sum.drifting_instances,
        ),
    ] {
        family(&mut out, name, help);
        let _ = writeln!(out, "{name} {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_label_values() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape("a\rb\u{202E}c\u{9b}"), "a?b?c?");
    }
}
