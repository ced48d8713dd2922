//! Watching more services than there are connections for: the services without a loop
//! of their own are re-read only where something changed.
//!
//! Consul's indexes are per table and per service, so `catalog/services` says only that
//! some registration happened, not where. The watched services name the nodes: every
//! Pigsty node registers the shared services (`postgres`, `pgbouncer`, `patroni`, the
//! exporters), so a re-registration changes their answers, and a node whose entries
//! changed has its other services (listed by `catalog/node-services/<node>`) re-read.
//! Checks are followed by one blocking query on `health/state/critical` (with the
//! `warning` list read alongside): a check that changes state names its service or, for
//! a node check, its node.

use super::backoff::Backoff;
use super::consul::{
    Ctx, answered, blocking, confirming, failed, lock, next_index, pace, sleep_unless_refreshed,
    take_refresh, unless_refreshed,
};
use crate::consul::wire::StateCheck;
use crate::observation::{Observation, Origin};
use crate::source::consul::read_services;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// The key of the loop on `health/state`; its errors show like any loop's.
pub(super) const HEALTH: &str = "health";

/// Every check that is not passing: (node, check ID) -> (status, service name).
pub(super) type NonPassing = BTreeMap<(String, String), (String, String)>;

/// The nodes whose entries differ between two answers of one service (added, removed
/// or changed instances).
pub(super) fn changed_nodes(
    old: &[Arc<Observation>],
    new: &[Arc<Observation>],
) -> BTreeSet<String> {
    fn key(o: &Observation) -> Option<(&str, &str)> {
        match &o.origin {
            Origin::Consul(c) => Some((c.node.as_str(), c.service_id.as_str())),
            _ => None,
        }
    }
    let before: HashMap<(&str, &str), &Arc<Observation>> =
        old.iter().filter_map(|o| key(o).map(|k| (k, o))).collect();
    let mut changed = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for o in new {
        let Some(k) = key(o) else { continue };
        seen.insert(k);
        let same = before
            .get(&k)
            .is_some_and(|b| Arc::ptr_eq(b, o) || ***b == **o);
        if !same {
            changed.insert(k.0.to_string());
        }
    }
    for k in before.keys() {
        if !seen.contains(k) {
            changed.insert(k.0.to_string());
        }
    }
    changed
}

/// The checks that are not passing among what the watch holds.
pub(super) fn non_passing_of<'a>(
    observations: impl Iterator<Item = &'a Arc<Observation>>,
) -> NonPassing {
    let mut out = NonPassing::new();
    for o in observations {
        let Origin::Consul(c) = &o.origin else {
            continue;
        };
        for ch in c.checks().filter(|ch| ch.status != "passing") {
            let service = if ch.node_check {
                String::new()
            } else {
                c.service_name.to_string()
            };
            out.insert(
                (c.node.to_string(), ch.id.to_string()),
                (ch.status.to_string(), service),
            );
        }
    }
    out
}

/// The same from Consul's `health/state` lists.
pub(super) fn non_passing_from(lists: impl IntoIterator<Item = StateCheck>) -> NonPassing {
    lists
        .into_iter()
        .filter(|c| c.status != "passing")
        .map(|c| ((c.node, c.check_id), (c.status, c.service_name)))
        .collect()
}

/// What a change of the non-passing checks concerns: the services whose own checks
/// changed, and the nodes whose node checks changed (every service on them).
pub(super) fn check_changes(
    old: &NonPassing,
    new: &NonPassing,
) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut services = BTreeSet::new();
    let mut nodes = BTreeSet::new();
    let keys: BTreeSet<&(String, String)> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (a, b) = (old.get(key), new.get(key));
        if a == b {
            continue;
        }
        let service = a.or(b).map(|v| v.1.as_str()).unwrap_or_default();
        if service.is_empty() {
            nodes.insert(key.0.clone());
        } else {
            services.insert(service.to_string());
        }
    }
    (services, nodes)
}

/// Re-reads services that have no loop of their own and keeps what they answer.
pub(super) async fn reread(ctx: &Ctx, names: Vec<String>) {
    if names.is_empty() {
        return;
    }
    for (name, result) in read_services(&ctx.client, names, &ctx.compactor).await {
        let mut s = lock(&ctx.shared);
        match result {
            Ok((obs, _)) => {
                if obs.is_empty() && !s.services.contains_key(&name) {
                    continue;
                }
                s.services.insert(name.clone(), obs);
                // Its last failure, if any, is over.
                s.loops.forget(&name);
            }
            Err(e) => {
                s.loops.failed(&name, e);
            }
        }
    }
    ctx.notify.notify_one();
}

/// The services the watch holds on a node.
fn services_on(ctx: &Ctx, node: &str) -> BTreeSet<String> {
    let s = lock(&ctx.shared);
    s.services
        .iter()
        .filter(|(_, obs)| {
            obs.iter()
                .any(|o| matches!(&o.origin, Origin::Consul(c) if c.node == node))
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Re-reads, in batches, the unwatched services of the nodes the watched services and
/// the health loop name: one batch per burst, however many loops named a node.
pub(super) async fn refresh_nodes(ctx: Ctx, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = rx.recv().await {
        // Several watched services wake for one re-registration: gather their news.
        tokio::time::sleep(ctx.options.coalesce * 2).await;
        let mut nodes = BTreeSet::from([first]);
        while let Ok(n) = rx.try_recv() {
            nodes.insert(n);
        }
        let mut names = BTreeSet::new();
        for node in &nodes {
            match ctx.client.node_services(node).await {
                Ok(list) => names.extend(list.services.into_iter().map(|s| s.service)),
                Err(e) => tracing::warn!(%node, error = %e, "reading a node's services failed"),
            }
            // A service that left the node is re-read too, so its entry goes.
            names.extend(services_on(&ctx, node));
        }
        let unwatched: Vec<String> = {
            let s = lock(&ctx.shared);
            names
                .into_iter()
                .filter(|n| !s.watched.contains(n))
                .collect()
        };
        reread(&ctx, unwatched).await;
    }
}

/// Follows every check in the datacenter with one blocking query, and re-reads the
/// unwatched services (or nodes) whose checks changed state.
pub(super) async fn watch_health(ctx: Ctx, nodes: mpsc::UnboundedSender<String>) {
    let mut known = non_passing_of(lock(&ctx.shared).services.values().flatten());
    let mut refresh = ctx.refresh.clone();
    let mut backoff = Backoff::default();
    let mut last: Option<Instant> = None;
    let mut index = 0;
    loop {
        if take_refresh(&mut refresh) {
            index = 0;
        }
        if index == 0 {
            confirming(&ctx, HEALTH);
        }
        pace(last, ctx.options.min_interval).await;
        last = Some(Instant::now());
        let read = async {
            let wait = blocking(index, ctx.options.wait);
            let (critical, meta) = ctx.client.health_state("critical", wait).await?;
            let (warning, _) = ctx.client.health_state("warning", None).await?;
            Ok::<_, crate::consul::ConsulError>((critical.into_iter().chain(warning), meta))
        };
        let Some(result) = unless_refreshed(read, &mut refresh).await else {
            index = 0;
            continue;
        };
        match result {
            Ok((checks, meta)) => {
                backoff.reset();
                let now = non_passing_from(checks);
                if now != known {
                    let (services, changed) = check_changes(&known, &now);
                    known = now;
                    for node in changed {
                        let _ = nodes.send(node);
                    }
                    let unwatched: Vec<String> = {
                        let s = lock(&ctx.shared);
                        services
                            .into_iter()
                            .filter(|n| !s.watched.contains(n))
                            .collect()
                    };
                    reread(&ctx, unwatched).await;
                }
                index = next_index(index, meta.index);
                if index != 0 {
                    answered(&ctx, HEALTH);
                }
            }
            Err(e) => {
                index = 0;
                failed(&ctx, HEALTH, e.to_string());
                sleep_unless_refreshed(backoff.next_delay(), &mut refresh).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::SourceKind;

    fn obs(node: &str, service: &str, role: &str) -> Arc<Observation> {
        let mut o = Observation::test(SourceKind::Consul, "pg-a")
            .seq(1)
            .role(role)
            .ip("10.0.0.1")
            .consul_service(service, 5432);
        if let Origin::Consul(c) = &mut o.origin {
            Arc::make_mut(c).node = node.into();
        }
        Arc::new(o)
    }

    #[test]
    fn the_nodes_an_answer_changed_are_named() {
        let old = vec![
            obs("n1", "postgres", "primary"),
            obs("n2", "postgres", "replica"),
            obs("n3", "postgres", "replica"),
        ];
        let new = vec![
            old[0].clone(),
            obs("n2", "postgres", "primary"),
            obs("n4", "postgres", "replica"),
        ];
        let changed: Vec<String> = changed_nodes(&old, &new).into_iter().collect();
        assert_eq!(changed, ["n2", "n3", "n4"]);
        assert!(changed_nodes(&old, &old.clone()).is_empty());
    }

    #[test]
    fn a_check_change_names_its_service_or_its_node() {
        let check = |node: &str, id: &str, status: &str, service: &str| StateCheck {
            node: node.into(),
            check_id: id.into(),
            status: status.into(),
            service_name: service.into(),
            ..StateCheck::default()
        };
        let old = non_passing_from([check(
            "n1",
            "service:pg-a-primary",
            "critical",
            "pg-a-primary",
        )]);
        let new = non_passing_from([
            check("n1", "service:pg-a-primary", "passing", "pg-a-primary"),
            check("n2", "serfHealth", "critical", ""),
            check("n3", "service:x", "warning", "x"),
        ]);
        let (services, nodes) = check_changes(&old, &new);
        assert_eq!(
            services,
            BTreeSet::from(["pg-a-primary".into(), "x".into()])
        );
        assert_eq!(nodes, BTreeSet::from(["n2".into()]));
        assert_eq!(check_changes(&new, &new), Default::default());
    }
}
