//! The live source: each instance's real role, asked of the database itself, or of
//! Patroni's REST API when the database cannot be reached with credentials.

use super::probe::{LiveProbe, LiveTarget, PatroniConfig, PgConfig, ProbeError};
use crate::fleet::{Fleet, InstanceId};
use crate::observation::{
    LiveOrigin, Observation, Origin, RoleClaim, SourceKind, SourceOutput, SourceReport,
};
use futures::stream::{self, StreamExt};

/// Everything the live source needs.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    /// PostgreSQL access; `None` asks only Patroni.
    pub pg: Option<PgConfig>,
    /// Patroni access; `None` asks only PostgreSQL.
    pub patroni: Option<PatroniConfig>,
    /// How many instances are probed at once.
    pub concurrency: usize,
}

/// The instances of a fleet that can be probed, at the port Consul's `postgres` service
/// gives, else the inventory's `pg_instances` port, else 5432.
///
/// Only what the other sources say counts, so a fleet that already holds a live read (the
/// one on screen) names the same targets as the registrations alone: an instance that
/// only an earlier probe still remembers is not asked again.
pub fn targets(fleet: &Fleet) -> Vec<LiveTarget> {
    let mut out = Vec::new();
    for inst in fleet.instances() {
        let Some(ip) = inst.registered_ip() else {
            continue;
        };
        let port = inst
            .by_source(SourceKind::Consul)
            .find_map(|o| match &o.origin {
                Origin::Consul(c) if c.service_name == "postgres" && c.port != 0 => Some(c.port),
                _ => None,
            })
            .or_else(|| {
                inst.by_source(SourceKind::Inventory)
                    .find_map(|o| match &o.origin {
                        Origin::Inventory(i) => i.port,
                        _ => None,
                    })
            })
            .unwrap_or(5432);
        out.push(LiveTarget {
            cluster: inst.cluster.clone(),
            seq: match inst.id {
                InstanceId::Seq(s) => Some(s),
                _ => None,
            },
            instance: inst.name.clone(),
            ip: ip.to_string(),
            port,
        });
    }
    out
}

/// Probes every target (bounded concurrency): PostgreSQL first, Patroni when PostgreSQL
/// cannot be asked. An instance nobody answers for is still observed, unreachable.
pub async fn read_live(targets: &[LiveTarget], cfg: &LiveConfig) -> SourceOutput {
    let report = SourceReport::new(SourceKind::Live, format!("{} instances", targets.len()));
    // Patroni does not redirect; nothing roster asks should be answered from elsewhere.
    let http = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok();
    let observations: Vec<Observation> = stream::iter(targets.iter().cloned())
        .map(|t| {
            let cfg = cfg.clone();
            let http = http.clone();
            async move {
                let task = tokio::spawn(async move {
                    let probe = probe(&t, &cfg, http.as_ref()).await;
                    observe(&t, probe)
                });
                task.await.ok()
            }
        })
        .buffer_unordered(cfg.concurrency.max(1))
        .filter_map(|o| async move { o })
        .collect()
        .await;
    let mut observations = observations;
    crate::source::consul::sort_observations(&mut observations);
    let mut report = report;
    account(&mut report, &observations);
    SourceOutput::new(report, observations)
}

/// A live read in which no instance answered is a failed read, not an `ok` one: every
/// verdict built on it would be a guess. Some silent instances are only a note, since
/// each is its own `live-unreachable` finding.
fn account(report: &mut SourceReport, observations: &[Observation]) {
    let errors: Vec<&str> = observations
        .iter()
        .filter_map(|o| match &o.origin {
            Origin::Live(l) if !l.reachable => Some(l.error.as_deref().unwrap_or("no answer")),
            _ => None,
        })
        .collect();
    let (failed, total) = (errors.len(), observations.len());
    let Some(first) = errors.first() else {
        return;
    };
    if failed == total {
        report.error(format!(
            "no instance answered: {failed} of {total} probes failed (first: {first})"
        ));
    } else {
        report.notes.push(format!(
            "{failed} of {total} instances did not answer (first: {first})"
        ));
    }
}

async fn probe(
    t: &LiveTarget,
    cfg: &LiveConfig,
    http: Option<&reqwest::Client>,
) -> Result<LiveProbe, ProbeError> {
    let mut last = ProbeError::Other("neither PostgreSQL nor Patroni is configured".into());
    if let Some(pg) = &cfg.pg {
        match super::postgres::probe_postgres(t, pg).await {
            Ok(p) => return Ok(p),
            Err(e) => last = e,
        }
    }
    if let (Some(p), Some(http)) = (&cfg.patroni, http) {
        match super::patroni::probe_patroni(http, &t.ip, p.port, p.timeout).await {
            Ok(probe) => return Ok(probe),
            Err(e) => {
                // The database's own answer says more than Patroni's silence.
                if matches!(last, ProbeError::Other(_)) || cfg.pg.is_none() {
                    last = e;
                }
            }
        }
    }
    Err(last)
}

fn observe(t: &LiveTarget, probe: Result<LiveProbe, ProbeError>) -> Observation {
    let (role, origin) = match probe {
        Ok(p) => {
            let from = if p.origin.via == "patroni" {
                "patroni role"
            } else {
                "pg_is_in_recovery()"
            };
            (Some(RoleClaim::new(p.role.as_str(), from)), p.origin)
        }
        Err(e) => (
            None,
            LiveOrigin {
                address: format!("{}:{}", t.ip, t.port),
                via: "postgres",
                reachable: false,
                error: Some(e.to_string()),
                ..LiveOrigin::default()
            },
        ),
    };
    Observation {
        source: SourceKind::Live,
        cluster: t.cluster.clone(),
        seq: t.seq,
        instance: None,
        service: None,
        role,
        ip: Some(t.ip.clone()),
        origin: Origin::Live(Box::new(origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registrations() -> Vec<SourceOutput> {
        let member = |seq: u32, ip: &str| {
            Observation::test(SourceKind::Inventory, "pg-a")
                .seq(seq)
                .role("replica")
                .ip(ip)
        };
        vec![SourceOutput::test(
            SourceKind::Inventory,
            vec![member(1, "10.0.0.1"), member(2, "10.0.0.2")],
        )]
    }

    #[test]
    fn a_fleet_holding_a_live_read_names_the_registrations_targets() {
        let known = targets(&Fleet::build(registrations()));
        assert_eq!(known.len(), 2);
        // The last probe: one answer at an address the registrations no longer give,
        // and one from an instance they no longer name.
        let probe = |seq: u32, ip: &str| {
            Observation::test(SourceKind::Live, "pg-a")
                .seq(seq)
                .role("primary")
                .ip(ip)
        };
        let mut outputs = registrations();
        outputs.push(SourceOutput::test(
            SourceKind::Live,
            vec![probe(1, "10.9.9.9"), probe(3, "10.0.0.3")],
        ));
        assert_eq!(targets(&Fleet::build(outputs)), known);
    }

    fn probe(seq: u32, error: Option<&str>) -> Observation {
        let t = LiveTarget {
            cluster: "pg-a".into(),
            seq: Some(seq),
            instance: format!("pg-a-{seq}"),
            ip: format!("10.0.0.{seq}"),
            port: 5432,
        };
        let answer = match error {
            Some(e) => Err(ProbeError::Auth(e.into())),
            None => Ok(LiveProbe {
                role: crate::identity::Role::Primary,
                origin: LiveOrigin {
                    reachable: true,
                    via: "postgres",
                    ..LiveOrigin::default()
                },
            }),
        };
        observe(&t, answer)
    }

    #[test]
    fn a_read_in_which_no_instance_answered_is_an_error() {
        let refused = "10.0.0.1:5432: role \"dbuser_monitor\" does not exist";
        let mut report = SourceReport::new(SourceKind::Live, "2 instances");
        account(&mut report, &[probe(1, Some(refused)), probe(2, Some("x"))]);
        assert!(!report.is_ok());
        assert_eq!(
            report.errors,
            [format!(
                "no instance answered: 2 of 2 probes failed (first: authentication failed: {refused})"
            )]
        );

        let mut report = SourceReport::new(SourceKind::Live, "2 instances");
        account(&mut report, &[probe(1, None), probe(2, Some("x"))]);
        assert!(report.is_ok(), "{report:?}");
        assert_eq!(
            report.notes,
            ["1 of 2 instances did not answer (first: authentication failed: x)"]
        );

        let mut report = SourceReport::new(SourceKind::Live, "0 instances");
        account(&mut report, &[]);
        assert!(report.is_ok() && report.notes.is_empty());
    }

    #[test]
    fn the_consul_postgres_port_is_the_one_probed() {
        let consul = |service: &str, port: u16| {
            Observation::test(SourceKind::Consul, "pg-a")
                .seq(1)
                .ip("10.0.0.1")
                .consul_service(service, port)
        };
        let fleet = Fleet::build(vec![SourceOutput::test(
            SourceKind::Consul,
            vec![consul("pgbouncer", 6432), consul("postgres", 5433)],
        )]);
        let t = targets(&fleet);
        assert_eq!((t[0].instance.as_str(), t[0].port), ("pg-a-1", 5433));
    }

    #[test]
    fn a_pg_instances_port_is_probed_when_consul_gives_none() {
        use crate::observation::InventoryOrigin;
        let entry = |seq: u32, port: Option<u16>| {
            Observation::test(SourceKind::Inventory, "pg-a")
                .seq(seq)
                .ip("10.0.0.1")
                .origin(Origin::Inventory(InventoryOrigin {
                    file: "pigsty.yml".into(),
                    line: 1,
                    group: "pg-a".into(),
                    host: "10.0.0.1".into(),
                    vars: Default::default(),
                    port,
                }))
        };
        let fleet = Fleet::build(vec![SourceOutput::test(
            SourceKind::Inventory,
            vec![entry(1, Some(6001)), entry(2, None)],
        )]);
        let ports: Vec<u16> = targets(&fleet).iter().map(|t| t.port).collect();
        assert_eq!(ports, [6001, 5432]);
    }
}
