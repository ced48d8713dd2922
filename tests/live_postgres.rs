//! The live source against real PostgreSQL 15: roles, timelines, standbys, promotion,
//! unreachable and refused instances. Each test owns the addresses 127.30.<n>.x.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod pg;

use pg::Cluster;
use roster::consul::Secret;
use roster::identity::Role;
use roster::observation::Origin;
use roster::source::live::{LiveConfig, read_live};
use roster::source::postgres::probe_postgres;
use roster::source::probe::ProbeError;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_and_streaming_replica_report_roles_lsns_and_standbys() {
    let Some(primary) = Cluster::primary("127.30.1.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.1.12") else {
        return;
    };
    let cfg = Cluster::monitor_config();

    let p = probe_postgres(&primary.target("pg-a", 1), &cfg)
        .await
        .expect("the primary answers");
    assert_eq!(p.role, Role::Primary);
    assert_eq!(p.origin.address, "127.30.1.11:5432");
    assert_eq!(p.origin.via, "postgres");
    assert!(p.origin.reachable);
    assert_eq!(p.origin.timeline, Some(1));
    assert!(p.origin.lsn.as_deref().is_some_and(|l| l.contains('/')));
    assert_eq!(p.origin.received_lsn, None);
    assert_eq!(p.origin.standbys, vec!["127.30.1.12".to_string()]);
    assert!(
        p.origin
            .server_version
            .as_deref()
            .is_some_and(|v| v.starts_with("15"))
    );
    assert!(
        p.origin
            .started_at
            .as_deref()
            .is_some_and(|s| s.ends_with('Z'))
    );

    let r = probe_postgres(&replica.target("pg-a", 2), &cfg)
        .await
        .expect("the replica answers");
    assert_eq!(r.role, Role::Replica);
    assert_eq!(r.origin.timeline, Some(1));
    assert_eq!(r.origin.lsn, None);
    assert!(
        r.origin
            .received_lsn
            .as_deref()
            .is_some_and(|l| l.contains('/'))
    );
    assert!(
        r.origin
            .replayed_lsn
            .as_deref()
            .is_some_and(|l| l.contains('/'))
    );
    assert!(r.origin.lag_bytes.is_some_and(|b| b >= 0));
    assert!(r.origin.standbys.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promoted_replica_reports_primary_on_timeline_2() {
    let Some(mut primary) = Cluster::primary("127.30.2.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.2.12") else {
        return;
    };
    let cfg = Cluster::monitor_config();
    primary.stop();
    replica.promote();

    let r = probe_postgres(&replica.target("pg-b", 2), &cfg)
        .await
        .expect("the promoted replica answers");
    assert_eq!(r.role, Role::Primary);
    assert_eq!(r.origin.timeline, Some(2));
    assert!(r.origin.lsn.is_some());
    assert_eq!(r.origin.received_lsn, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_instance_is_unreachable() {
    let Some(mut primary) = Cluster::primary("127.30.3.11") else {
        return;
    };
    primary.stop();
    let err = probe_postgres(&primary.target("pg-c", 1), &Cluster::monitor_config())
        .await
        .expect_err("nothing listens");
    match err {
        ProbeError::Unreachable(m) => assert!(m.contains("127.30.3.11:5432"), "{m}"),
        other => panic!("expected Unreachable, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_or_missing_password_is_auth_and_pgpass_supplies_the_right_one() {
    let Some(primary) = Cluster::primary("127.30.4.11") else {
        return;
    };
    let target = primary.target("pg-d", 1);
    let wrong = "Wr0ng-Secret-Value-4711";
    let mut cfg = Cluster::monitor_config();
    cfg.user = pg::PW_USER.to_string();
    cfg.password = Some(Secret::new(wrong));

    let err = probe_postgres(&target, &cfg)
        .await
        .expect_err("a wrong password is refused");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, ProbeError::Auth(_)), "{text}");
    assert!(text.contains("127.30.4.11:5432"), "{text}");
    assert!(!text.contains(wrong), "{text}");

    cfg.password = None;
    let err = probe_postgres(&target, &cfg)
        .await
        .expect_err("no password is refused");
    assert!(matches!(err, ProbeError::Auth(_)), "{err:?}");

    let dir = tempfile::tempdir().expect("tempdir");
    let passfile = dir.path().join("pgpass");
    std::fs::write(
        &passfile,
        format!(
            "# the wrong host first\n127.30.4.99:5432:*:{u}:nope\n127.30.4.11:5432:*:{u}:{p}\n",
            u = pg::PW_USER,
            p = pg::PW_PASSWORD
        ),
    )
    .expect("write pgpass");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600))
            .expect("chmod pgpass");
    }
    cfg.passfile = Some(passfile);
    let ok = probe_postgres(&target, &cfg)
        .await
        .expect("the password file's password is accepted");
    assert_eq!(ok.role, Role::Primary);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sslmode_prefer_falls_back_to_plain_and_require_is_refused_without_server_tls() {
    let Some(primary) = Cluster::primary("127.30.6.11") else {
        return;
    };
    let target = primary.target("pg-f", 1);
    let mut cfg = Cluster::monitor_config();
    cfg.sslmode = "prefer".into();
    let p = probe_postgres(&target, &cfg)
        .await
        .expect("prefer connects in the clear to a server without TLS");
    assert_eq!(p.role, Role::Primary);
    cfg.sslmode = "require".into();
    let err = probe_postgres(&target, &cfg)
        .await
        .expect_err("require needs TLS");
    assert!(matches!(err, ProbeError::Other(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_live_observes_the_down_instance_as_unreachable() {
    let Some(primary) = Cluster::primary("127.30.5.11") else {
        return;
    };
    let Some(replica) = Cluster::replica_of(&primary, "127.30.5.12") else {
        return;
    };
    let mut pgc = Cluster::monitor_config();
    pgc.connect_timeout = Duration::from_secs(3);
    let targets = vec![
        primary.target("pg-e", 1),
        replica.target("pg-e", 2),
        roster::source::probe::LiveTarget {
            cluster: "pg-e".into(),
            seq: Some(3),
            instance: "pg-e-3".into(),
            ip: "127.30.5.13".into(),
            port: 5432,
        },
    ];
    let cfg = LiveConfig {
        pg: Some(pgc),
        patroni: None,
        concurrency: 4,
    };
    let out = read_live(&targets, &cfg).await;
    assert_eq!(out.observations.len(), 3);
    let by_seq = |seq: u32| {
        out.observations
            .iter()
            .find(|o| o.seq == Some(seq))
            .unwrap_or_else(|| panic!("an observation for seq {seq}"))
    };
    let live = |seq: u32| match &by_seq(seq).origin {
        Origin::Live(l) => l.clone(),
        other => panic!("not a live origin: {other:?}"),
    };
    assert_eq!(
        by_seq(1).role.as_ref().map(|r| r.role.clone()),
        Some(Role::Primary)
    );
    assert_eq!(
        by_seq(2).role.as_ref().map(|r| r.role.clone()),
        Some(Role::Replica)
    );
    assert!(live(1).reachable && live(2).reachable);
    assert_eq!(live(1).standbys, vec!["127.30.5.12".to_string()]);

    assert_eq!(by_seq(3).role, None);
    let l3 = live(3);
    assert!(!l3.reachable);
    assert_eq!(l3.address, "127.30.5.13:5432");
    assert!(
        l3.error
            .as_deref()
            .is_some_and(|e| e.contains("unreachable")),
        "{:?}",
        l3.error
    );
}

/// The live source's read of these targets, merged as the fleet `roster check` builds.
async fn fleet_of(targets: &[roster::source::probe::LiveTarget]) -> roster::fleet::Fleet {
    let cfg = LiveConfig {
        pg: Some(Cluster::monitor_config()),
        patroni: None,
        concurrency: 4,
    };
    roster::fleet::Fleet::build(vec![read_live(targets, &cfg).await])
}

fn not_streaming(fleet: &roster::fleet::Fleet) -> Vec<(String, String)> {
    roster::drift::check(fleet)
        .into_iter()
        .filter(|f| f.kind == roster::drift::Kind::ReplicaNotStreaming)
        .map(|f| (f.instance.unwrap_or_default(), f.message))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_connecting_from_other_addresses_are_streaming() {
    let Some(primary) = Cluster::primary("127.30.13.11") else {
        return;
    };
    // Registered (and probed) at .12 and .13, their WAL receivers connect from .98 and
    // .99, as over a second interface; .12 names itself the way Patroni does.
    let Some(named) =
        Cluster::replica_via(&primary, "127.30.13.12", "127.30.13.99", Some("pg-h-2"))
    else {
        return;
    };
    let Some(anonymous) = Cluster::replica_via(&primary, "127.30.13.13", "127.30.13.98", None)
    else {
        return;
    };
    let cfg = Cluster::monitor_config();
    let p = probe_postgres(&primary.target("pg-h", 1), &cfg)
        .await
        .expect("the primary answers");
    assert_eq!(p.origin.standbys, ["127.30.13.98", "127.30.13.99"]);
    assert!(
        p.origin
            .replication
            .standby_names
            .contains(&"pg-h-2".to_string()),
        "{:?}",
        p.origin
    );
    assert_eq!(p.origin.replication.wal_receiver_status, None);
    assert_eq!(p.origin.replication.sender, None);
    for (replica, from) in [(&named, "127.30.13.99:"), (&anonymous, "127.30.13.98:")] {
        let seq = if from.contains(".99") { 2 } else { 3 };
        let r = probe_postgres(&replica.target("pg-h", seq), &cfg)
            .await
            .expect("the replica answers");
        assert_eq!(
            r.origin.replication.wal_receiver_status.as_deref(),
            Some("streaming")
        );
        assert!(
            r.origin
                .replication
                .sender
                .as_deref()
                .is_some_and(|s| s.starts_with(from)),
            "{:?}",
            r.origin.replication.sender
        );
    }

    let fleet = fleet_of(&[
        primary.target("pg-h", 1),
        named.target("pg-h", 2),
        anonymous.target("pg-h", 3),
    ])
    .await;
    assert_eq!(not_streaming(&fleet), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cascading_replica_streams_and_stops_when_its_upstream_stops() {
    let Some(primary) = Cluster::primary("127.30.14.11") else {
        return;
    };
    let Some(middle) = Cluster::replica_of(&primary, "127.30.14.12") else {
        return;
    };
    let Some(cascade) = Cluster::replica_of(&middle, "127.30.14.13") else {
        return;
    };
    let cfg = Cluster::monitor_config();
    let m = probe_postgres(&middle.target("pg-c", 2), &cfg)
        .await
        .expect("the middle replica answers");
    assert_eq!(
        m.origin.standbys,
        ["127.30.14.13"],
        "a replica lists its cascade"
    );
    let targets = [
        primary.target("pg-c", 1),
        middle.target("pg-c", 2),
        cascade.target("pg-c", 3),
    ];
    assert_eq!(not_streaming(&fleet_of(&targets).await), []);

    // Its upstream gone, the cascade streams from no one.
    let middle = tokio::task::spawn_blocking(move || {
        let mut middle = middle;
        middle.stop();
        middle
    })
    .await
    .expect("stop");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let found = loop {
        let found = not_streaming(&fleet_of(&targets).await);
        if !found.is_empty() {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pg-c-3 was never reported as not streaming"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "pg-c-3", "{found:?}");
    drop(middle);
}
