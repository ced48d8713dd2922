//! The session's events: what changed between successive reads (findings that appeared
//! or resolved, a source's role for an instance, sources going stale and recovering)
//! and the fixes applied. This is the incident timeline the events pane shows and `y`
//! copies.

use super::State;
use crate::drift::Severity;
use crate::fix::plan::Destination;
use crate::text::sanitize;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{SystemTime, UNIX_EPOCH};

/// Most events kept; the oldest go first.
pub const EVENTS_MAX: usize = 2000;
/// Most events one read adds, so a fleet-wide change cannot flood the log.
const PER_READ_MAX: usize = 200;

/// What kind of change an event records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A finding appeared, with its severity.
    Appeared(Severity),
    /// A finding is gone.
    Resolved,
    /// A source's role for an instance changed.
    Role,
    /// A source failed (its earlier data, if any, is kept).
    Stale,
    /// A failed source answered again.
    Recovered,
    /// A fix (or an undo) was applied (or failed).
    Fix {
        /// Every write succeeded.
        ok: bool,
        /// What an undo needs, when a fix wrote something; `None` when nothing was
        /// written, and for an undo.
        undo: Option<FixRef>,
        /// It was an undo.
        undoes: bool,
    },
}

/// An applied fix as an undo names it: the writes the runtime keeps, and the dialog's
/// subject and destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixRef {
    /// The id of the applied plan (the runtime keeps its writes under it).
    pub applied: u64,
    /// The cluster (as read).
    pub cluster: String,
    /// The datacenter of the cluster, when several are read.
    pub datacenter: Option<String>,
    /// The instance; `None` for a fix of the whole cluster.
    pub instance: Option<String>,
    /// Where it wrote.
    pub target: Destination,
}

/// One line of the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When the UI saw it (the last tick's time; `None` before the first tick).
    pub at: Option<SystemTime>,
    /// What kind of change.
    pub kind: EventKind,
    /// What happened, sanitised.
    pub text: String,
}

impl Event {
    /// The line as the pane shows and `y` copies it: `03:12:07 consul: …`.
    pub fn line(&self) -> String {
        format!("{} {}", clock(self.at), self.text)
    }
}

/// The events pane while it is open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventsView {
    /// Index into [`State::events`].
    pub selected: usize,
}

/// The time of day in UTC, `HH:MM:SS`; `--:--:--` when unknown.
pub fn clock(at: Option<SystemTime>) -> String {
    let Some(secs) = at
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
    else {
        return "--:--:--".into();
    };
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// What one read said that events compare: findings, roles per source, source standing.
#[derive(Clone, Debug, Default)]
pub struct ReadFacts {
    findings: BTreeMap<(String, String, String, Severity), String>,
    roles: BTreeMap<(String, &'static str), String>,
    failing: BTreeMap<String, Option<String>>,
    instances: usize,
}

impl State {
    /// The facts of the current read, to compare with the next one.
    pub fn read_facts(&self) -> ReadFacts {
        let mut facts = ReadFacts {
            instances: self.instances.len(),
            ..ReadFacts::default()
        };
        // With several datacenters one cluster name can be in two: `name@dc` tells them
        // apart (as the tree's keys do).
        let place = |cluster: &str, dc: Option<&str>| match dc {
            Some(dc) => format!("{cluster}@{dc}"),
            None => cluster.to_string(),
        };
        for f in &self.result.findings {
            let key = (
                f.kind.code().to_string(),
                place(&f.cluster, f.datacenter.as_deref()),
                f.instance.clone().unwrap_or_default(),
                f.severity,
            );
            facts.findings.insert(key, f.message.clone());
        }
        for c in &self.result.fleet.clusters {
            let cluster = place(&c.name, c.datacenter.as_deref());
            for i in &c.instances {
                let mut per: BTreeMap<&'static str, BTreeSet<&str>> = BTreeMap::new();
                for o in &i.observations {
                    let raw = o.role.as_ref().map_or("no role", |r| r.raw.as_str());
                    per.entry(o.source.name()).or_default().insert(raw);
                }
                for (source, roles) in per {
                    let roles: Vec<&str> = roles.into_iter().collect();
                    facts
                        .roles
                        .insert((format!("{}/{}", cluster, i.name), source), roles.join("/"));
                }
            }
        }
        for s in &self.sources {
            facts.failing.insert(s.label(), s.error.clone());
        }
        facts
    }

    /// Records what changed since `before` (nothing after the first read, which is
    /// the start rather than a change).
    pub fn record_changes(&mut self, before: &ReadFacts) {
        if before.instances == 0 {
            return;
        }
        let after = self.read_facts();
        let mut out: Vec<(EventKind, String)> = Vec::new();
        for (name, error) in &after.failing {
            match (before.failing.get(name), error) {
                (Some(None) | None, Some(e)) => {
                    out.push((EventKind::Stale, format!("{name}: failing: {e}")));
                }
                (Some(Some(_)), None) => {
                    out.push((EventKind::Recovered, format!("{name}: recovered")));
                }
                _ => {}
            }
        }
        // A failing source's missing records are not news: its earlier data is kept.
        for ((key, source), role) in &after.roles {
            if let Some(old) = before.roles.get(&(key.clone(), *source))
                && old != role
            {
                out.push((
                    EventKind::Role,
                    format!("{source}: {key} role {old} -> {role}"),
                ));
            }
        }
        for ((code, cluster, instance, sev), message) in &after.findings {
            let key = (code.clone(), cluster.clone(), instance.clone(), *sev);
            if !before.findings.contains_key(&key) {
                out.push((
                    EventKind::Appeared(*sev),
                    format!("appeared: {} {code} {message}", letter(*sev)),
                ));
            }
        }
        for (code, cluster, instance, sev) in before.findings.keys() {
            let key = (code.clone(), cluster.clone(), instance.clone(), *sev);
            if !after.findings.contains_key(&key) {
                let who = if instance.is_empty() {
                    cluster
                } else {
                    instance
                };
                out.push((
                    EventKind::Resolved,
                    format!("resolved: {} {code} {who}", letter(*sev)),
                ));
            }
        }
        let total = out.len();
        for (kind, text) in out.into_iter().take(PER_READ_MAX) {
            self.push_event(kind, text);
        }
        if total > PER_READ_MAX {
            self.push_event(
                EventKind::Role,
                format!("… and {} more changes in this read", total - PER_READ_MAX),
            );
        }
    }

    /// Adds one event at the last tick's time.
    pub fn push_event(&mut self, kind: EventKind, text: String) {
        let at = self.now;
        self.events.push(Event {
            at,
            kind,
            text: sanitize(&text, 400),
        });
        if self.events.len() > EVENTS_MAX {
            let drop = self.events.len() - EVENTS_MAX;
            self.events.drain(..drop);
            if let Some(v) = self.events_view.as_mut() {
                v.selected = v.selected.saturating_sub(drop);
            }
        }
    }

    /// The whole timeline as text, one event a line, for the clipboard.
    pub fn events_text(&self) -> String {
        self.events
            .iter()
            .map(Event::line)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn letter(s: Severity) -> &'static str {
    match s {
        Severity::Error => "E",
        Severity::Warning => "W",
        Severity::Info => "I",
    }
}
