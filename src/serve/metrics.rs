//! The `/metrics` exposition: what `roster check --format prometheus` prints, plus what
//! only a running service knows (data age, staleness, when identities changed) and the
//! process' own metrics.

use super::process::ProcessStats;
use super::state::{Snapshot, data_age};
use crate::observation::SourceReport;
use crate::report::prometheus::{datacenter_label, escape};
use std::fmt::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders every metric: the check's when a fleet has been built, the service's and the
/// process' always.
pub fn render(snapshot: Option<&Snapshot>, now: SystemTime, process: &ProcessStats) -> String {
    let mut out = String::new();
    if let Some(s) = snapshot {
        out.push_str(&crate::report::prometheus::render(&s.result));
        service(&mut out, s, now);
    }
    build_info(&mut out);
    process_metrics(&mut out, process);
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The labels that name a source: `source="consul"` (and `datacenter="dc2"`).
pub fn source_labels(s: &SourceReport) -> String {
    format!(
        "source=\"{}\"{}",
        s.kind,
        datacenter_label(s.datacenter.as_deref())
    )
}

fn seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn service(out: &mut String, s: &Snapshot, now: SystemTime) {
    let sources = &s.result.fleet.sources;
    family(
        out,
        "roster_source_stale",
        "gauge",
        "1 when the latest read of the source failed and the data shown is kept from an earlier one.",
    );
    for r in sources {
        let _ = writeln!(
            out,
            "roster_source_stale{{{}}} {}",
            source_labels(r),
            u8::from(r.stale)
        );
    }
    family(
        out,
        "roster_source_data_age_seconds",
        "gauge",
        "Seconds since the data shown for the source was read (the last good read when stale).",
    );
    for r in sources {
        if let Some(age) = data_age(r, now) {
            let _ = writeln!(
                out,
                "roster_source_data_age_seconds{{{}}} {}",
                source_labels(r),
                age.as_secs_f64()
            );
        }
    }
    family(
        out,
        "roster_cluster_identity_changed_timestamp_seconds",
        "gauge",
        "When roster last saw the cluster's identity (roles, addresses, members in any source) change; its first read after a start.",
    );
    for ((dc, cluster), at) in &s.changed {
        let dc_label = datacenter_label((!dc.is_empty()).then_some(dc.as_str()));
        let _ = writeln!(
            out,
            "roster_cluster_identity_changed_timestamp_seconds{{cluster=\"{}\"{dc_label}}} {}",
            escape(cluster),
            seconds(*at)
        );
    }
    family(
        out,
        "roster_last_build_timestamp_seconds",
        "gauge",
        "When the fleet served was last rebuilt from the sources.",
    );
    let _ = writeln!(
        out,
        "roster_last_build_timestamp_seconds {}",
        seconds(s.built_at)
    );
}

fn build_info(out: &mut String) {
    family(
        out,
        "roster_build_info",
        "gauge",
        "Always 1; the version of roster serving these metrics.",
    );
    let _ = writeln!(
        out,
        "roster_build_info{{version=\"{}\"}} 1",
        escape(env!("CARGO_PKG_VERSION"))
    );
}

fn process_metrics(out: &mut String, p: &ProcessStats) {
    let gauges: [(&str, &str, &str, Option<f64>); 6] = [
        (
            "process_cpu_seconds_total",
            "counter",
            "Total user and system CPU time spent in seconds.",
            p.cpu_seconds,
        ),
        (
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory size in bytes.",
            p.resident_bytes.map(|v| v as f64),
        ),
        (
            "process_virtual_memory_bytes",
            "gauge",
            "Virtual memory size in bytes.",
            p.virtual_bytes.map(|v| v as f64),
        ),
        (
            "process_start_time_seconds",
            "gauge",
            "Start time of the process since unix epoch in seconds.",
            p.start_time,
        ),
        (
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            p.open_fds.map(|v| v as f64),
        ),
        (
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            p.max_fds.map(|v| v as f64),
        ),
    ];
    for (name, kind, help, value) in gauges {
        if let Some(v) = value {
            family(out, name, kind, help);
            let _ = writeln!(out, "{name} {v}");
        }
    }
}
