//! Cluster-wide live facts: more than one live primary, and replicas that stream from no
//! one, judged from each replica's own WAL receiver and from its upstream's standby list.

use super::{Finding, Kind, Severity, finding, join, live_origin, live_role};
use crate::fleet::{Cluster, Instance};
use crate::identity::Role;
use crate::observation::LiveOrigin;
use std::collections::BTreeMap;

/// Split brain, and replicas that do not stream.
pub(super) fn live_cluster(cluster: &Cluster, out: &mut Vec<Finding>) {
    let primaries: Vec<&Instance> = cluster
        .instances
        .iter()
        .filter(|i| live_role(i).is_some_and(Role::is_primary))
        .collect();
    if primaries.len() > 1 {
        let names = join(primaries.iter().map(|i| i.name.as_str()));
        out.push(Finding {
            kind: Kind::SplitBrain,
            severity: Severity::Error,
            cluster: cluster.name.clone(),
            instance: None,
            sources: BTreeMap::from([("live".to_string(), names.clone())]),
            message: format!(
                "{} instances of {} are primary right now: {names}",
                primaries.len(),
                cluster.name
            ),
            datacenter: None,
        });
        return;
    }
    let Some(primary) = primaries.first() else {
        return;
    };
    for inst in &cluster.instances {
        if live_role(inst) != Some(&Role::Replica) {
            continue;
        }
        if let Streaming::No(why) = streaming(cluster, primary, inst, &mut Vec::new()) {
            out.push(finding(
                Kind::ReplicaNotStreaming,
                Severity::Warning,
                inst,
                BTreeMap::from([("live".to_string(), why.clone())]),
                format!("{} is a replica but does not stream: {why}", inst.name),
            ));
        }
    }
}

/// Whether a live replica streams WAL from the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Streaming {
    /// It does: its WAL receiver streams, or its upstream lists it.
    Yes,
    /// It does not, and a witness that would know says so (the reason).
    No(String),
    /// No witness that would know was asked (both answered through Patroni, say).
    Unknown,
}

/// A probe made through the database itself, the only witness of WAL streaming.
fn asked_postgres(inst: &Instance) -> Option<&LiveOrigin> {
    live_origin(inst)
        .map(|(_, l)| l)
        .filter(|l| l.reachable && l.via == "postgres")
}

/// Decides whether `replica` streams, from its own WAL receiver first (the way Patroni
/// calls a member `streaming`), then from the lists of standbys of the primary and of
/// replicas that stream themselves (a cascade). `seen` guards against upstream loops.
pub(crate) fn streaming<'a>(
    cluster: &'a Cluster,
    primary: &Instance,
    replica: &'a Instance,
    seen: &mut Vec<&'a str>,
) -> Streaming {
    if seen.contains(&replica.name.as_str()) {
        return Streaming::No(format!("its upstream chain loops back to {}", replica.name));
    }
    seen.push(&replica.name);
    let own = asked_postgres(replica);
    let status = own.and_then(|l| l.replication.wal_receiver_status.as_deref());
    if status == Some("streaming") {
        match own.and_then(|l| upstream(cluster, replica, l)) {
            // A sender that is no member's address (a relay, a VIP, a second interface)
            // is still a live WAL stream.
            None => return Streaming::Yes,
            Some(u) if u.name == primary.name => return Streaming::Yes,
            Some(u) if live_role(u) == Some(&Role::Replica) => {
                return match streaming(cluster, primary, u, seen) {
                    Streaming::No(why) => Streaming::No(format!(
                        "it streams from {}, which does not stream ({why})",
                        u.name
                    )),
                    other => other,
                };
            }
            // Streaming from a member that did not answer, or is primary on its own:
            // not provably the cluster's stream, not provably wrong either.
            Some(_) => return Streaming::Unknown,
        }
    }
    if lists(primary, replica) {
        return Streaming::Yes;
    }
    for m in &cluster.instances {
        if m.name != replica.name
            && !seen.contains(&m.name.as_str())
            && live_role(m) == Some(&Role::Replica)
            && lists(m, replica)
            && streaming(cluster, primary, m, &mut seen.clone()) == Streaming::Yes
        {
            return Streaming::Yes;
        }
    }
    let own_says = match (own, status) {
        (Some(_), None) => Some("it runs no WAL receiver".to_string()),
        (Some(_), Some(s)) if s != "unknown" => Some(format!("its WAL receiver is {s}")),
        _ => None,
    };
    let upstream_says = asked_postgres(primary).map(|p| {
        let mut list: Vec<&str> = p
            .replication
            .standby_names
            .iter()
            .map(String::as_str)
            .collect();
        list.extend(p.standbys.iter().map(String::as_str));
        list.dedup();
        if list.is_empty() {
            format!("{} streams to no standby", primary.name)
        } else {
            format!("{} streams to {}", primary.name, list.join(", "))
        }
    });
    match (own_says, upstream_says) {
        (None, None) => Streaming::Unknown,
        (a, b) => Streaming::No(a.into_iter().chain(b).collect::<Vec<_>>().join("; ")),
    }
}

/// True when `upstream`'s database lists `standby` among the standbys streaming from it,
/// by name (`application_name`) or by any address a place gives the standby.
fn lists(upstream: &Instance, standby: &Instance) -> bool {
    let Some(l) = asked_postgres(upstream) else {
        return false;
    };
    if l.replication.standby_names.contains(&standby.name) {
        return true;
    }
    standby
        .observations
        .iter()
        .filter_map(|o| o.ip.as_deref())
        .any(|ip| l.standbys.iter().any(|s| s == ip))
}

/// The member a replica's WAL receiver streams from, matched by the sender's address and
/// port against where each other member was probed or is registered.
fn upstream<'a>(
    cluster: &'a Cluster,
    replica: &Instance,
    own: &LiveOrigin,
) -> Option<&'a Instance> {
    let (host, port) = split_host_port(own.replication.sender.as_deref()?)?;
    cluster.instances.iter().find(|m| {
        if m.name == replica.name {
            return false;
        }
        let probed = asked_postgres(m).and_then(|l| split_host_port(&l.address));
        let port_ok = match probed {
            Some((_, p)) => p == port,
            None => port == "5432",
        };
        let host_ok = probed.is_some_and(|(h, _)| h == host)
            || m.observations.iter().any(|o| o.ip.as_deref() == Some(host));
        host_ok && port_ok
    })
}

/// `host:port` or `[v6]:port` into its parts.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host, port))
}

#[cfg(test)]
#[path = "live_tests.rs"]
mod tests;
