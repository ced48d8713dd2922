//! Prometheus text exposition of findings and source health, for the textfile collector.

use super::CheckResult;
use crate::drift::Severity;
use crate::verdict::Judges;
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

/// `,datacenter="dc2"` for what belongs to one datacenter of several, else nothing.
pub fn datacenter_label(dc: Option<&str>) -> String {
    dc.map(|d| format!(",datacenter=\"{}\"", escape(d)))
        .unwrap_or_default()
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
    let mut series: BTreeMap<(String, &str, String, String, String), u64> = BTreeMap::new();
    for f in &r.findings {
        *series
            .entry((
                f.kind.code().to_string(),
                f.severity.name(),
                f.cluster.clone(),
                f.instance.clone().unwrap_or_default(),
                datacenter_label(f.datacenter.as_deref()),
            ))
            .or_default() += 1;
    }
    family(
        &mut out,
        "roster_finding",
        "Identity drift found by roster, one series per kind and place.",
    );
    for ((kind, sev, cluster, inst, dc), n) in &series {
        let _ = writeln!(
            out,
            "roster_finding{{kind=\"{}\",severity=\"{}\",cluster=\"{}\",instance=\"{}\"{dc}}} {n}",
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
            "roster_source_up{{source=\"{}\"{}}} {}",
            s.kind,
            datacenter_label(s.datacenter.as_deref()),
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
            "roster_source_observations{{source=\"{}\"{}}} {}",
            s.kind,
            datacenter_label(s.datacenter.as_deref()),
            s.observations
        );
    }
    let verdicts = r.verdicts();
    family(
        &mut out,
        "roster_source_unread_instances",
        "Instances the source was not read for (it failed, was read in part, or is stale).",
    );
    let judges = Judges::new(&r.fleet);
    for kind in r.source_kinds() {
        let n = r
            .fleet
            .clusters
            .iter()
            .flat_map(|c| {
                let judge = judges.of(&r.fleet, c.datacenter.as_deref());
                // A source configured for another datacenter only is not unread here.
                let configured = judge.source(kind).is_some();
                c.instances
                    .iter()
                    .filter(move |i| configured && !judge.coverage(i, kind).verified())
            })
            .count();
        let _ = writeln!(
            out,
            "roster_source_unread_instances{{source=\"{kind}\"}} {n}"
        );
    }
    let sum = r.summary_of(&verdicts);
    family(&mut out, "roster_findings", "Findings by severity.");
    for (sev, n) in [
        (Severity::Error, sum.errors),
        (Severity::Warning, sum.warnings),
        (Severity::Info, sum.infos),
    ] {
        let _ = writeln!(out, "roster_findings{{severity=\"{sev}\"}} {n}");
    }
    // By verdict, so that no clean count can be read off instances nobody compared.
    family(
        &mut out,
        "roster_instances",
        "Instances in the fleet by verdict: ok (every source read, no finding), drift, \
         unverified (no finding, but a source was not read for it).",
    );
    for (verdict, n) in [
        ("ok", sum.ok_instances),
        ("drift", sum.drifting_instances),
        ("unverified", sum.unverified_instances),
    ] {
        let _ = writeln!(out, "roster_instances{{verdict=\"{verdict}\"}} {n}");
    }
    for (name, help, v) in [
        ("roster_clusters", "Clusters in the fleet.", sum.clusters),
        (
            "roster_drifting_instances",
            "Instances with at least one finding.",
            sum.drifting_instances,
        ),
        (
            "roster_unverified_instances",
            "Instances with no finding that a configured source was not read for.",
            sum.unverified_instances,
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
