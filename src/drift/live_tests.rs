//! Unit tests of the streaming decision: the replica's own WAL receiver, its upstream's
//! standby list by name or address, cascades, and witnesses that cannot say.

use super::*;
use crate::drift::check;
use crate::fleet::Fleet;
use crate::observation::{Observation, Origin, SourceKind, SourceOutput};

fn ip(seq: u32) -> String {
    format!("10.0.0.{seq}")
}

/// A member answered through PostgreSQL, its origin shaped by `f`.
fn pg(seq: u32, role: &str, f: impl FnOnce(&mut LiveOrigin)) -> Observation {
    let mut l = LiveOrigin {
        address: format!("{}:5432", ip(seq)),
        via: "postgres",
        reachable: true,
        ..LiveOrigin::default()
    };
    f(&mut l);
    Observation::test(SourceKind::Live, "pg-a")
        .seq(seq)
        .ip(&ip(seq))
        .role(role)
        .origin(Origin::Live(Box::new(l)))
}

/// A member answered through Patroni, which says nothing of streaming.
fn patroni(seq: u32, role: &str) -> Observation {
    Observation::test(SourceKind::Live, "pg-a")
        .seq(seq)
        .ip(&ip(seq))
        .role(role)
        .origin(Origin::Live(Box::new(LiveOrigin {
            address: format!("http://{}:8008/patroni", ip(seq)),
            via: "patroni",
            reachable: true,
            ..LiveOrigin::default()
        })))
}

fn streams(l: &mut LiveOrigin, from: &str) {
    l.replication.wal_receiver_status = Some("streaming".into());
    l.replication.sender = Some(from.into());
}

/// The decision for member `seq` of a one-cluster fleet whose seq 1 is the primary.
fn judge(obs: Vec<Observation>, seq: u32) -> Streaming {
    let fleet = Fleet::build(vec![SourceOutput::test(SourceKind::Live, obs)]);
    let c = &fleet.clusters[0];
    let primary = &c.instances[0];
    let replica = c
        .instances
        .iter()
        .find(|i| i.name == format!("pg-a-{seq}"))
        .expect("the member");
    streaming(c, primary, replica, &mut Vec::new())
}

#[test]
fn a_replica_whose_own_receiver_streams_from_another_address_streams() {
    // The primary sees the replica's connection from a second interface, not its
    // registered address; the replica itself says it streams.
    let obs = vec![
        pg(1, "primary", |l| l.standbys = vec!["192.168.9.2".into()]),
        pg(2, "replica", |l| streams(l, "10.0.0.1:5432")),
    ];
    assert_eq!(judge(obs, 2), Streaming::Yes);
    let obs = vec![
        pg(1, "primary", |l| l.standbys = vec!["192.168.9.2".into()]),
        pg(2, "replica", |l| streams(l, "10.0.9.9:6432")),
    ];
    assert_eq!(judge(obs, 2), Streaming::Yes, "a relay or VIP as sender");
}

#[test]
fn the_primary_listing_the_replica_by_name_or_address_is_enough() {
    let by_name = vec![
        pg(1, "primary", |l| {
            l.standbys = vec!["192.168.9.2".into()];
            l.replication.standby_names = vec!["pg-a-2".into()];
        }),
        patroni(2, "replica"),
    ];
    assert_eq!(judge(by_name, 2), Streaming::Yes);
    let by_address = vec![
        pg(1, "primary", |l| l.standbys = vec![ip(2)]),
        patroni(2, "replica"),
    ];
    assert_eq!(judge(by_address, 2), Streaming::Yes);
}

#[test]
fn a_waiting_receiver_the_primary_does_not_list_is_not_streaming() {
    let obs = vec![
        pg(1, "primary", |l| {
            l.standbys = vec![ip(3)];
            l.replication.standby_names = vec!["pg-a-3".into()];
        }),
        pg(2, "replica", |l| {
            l.replication.wal_receiver_status = Some("waiting".into())
        }),
    ];
    assert_eq!(
        judge(obs, 2),
        Streaming::No("its WAL receiver is waiting; pg-a-1 streams to pg-a-3, 10.0.0.3".into())
    );
    let obs = vec![pg(1, "primary", |_| {}), pg(2, "replica", |_| {})];
    assert_eq!(
        judge(obs, 2),
        Streaming::No("it runs no WAL receiver; pg-a-1 streams to no standby".into())
    );
}

#[test]
fn a_cascading_replica_streams_through_a_streaming_replica() {
    // By its own receiver: seq 3 streams from seq 2, which streams from the primary.
    let chain = |two_streams: bool| {
        vec![
            pg(1, "primary", |_| {}),
            pg(2, "replica", |l| {
                if two_streams {
                    streams(l, "10.0.0.1:5432");
                }
                l.standbys = vec![ip(3)];
            }),
            pg(3, "replica", |l| streams(l, "10.0.0.2:5432")),
        ]
    };
    assert_eq!(judge(chain(true), 3), Streaming::Yes);
    match judge(chain(false), 3) {
        Streaming::No(why) => assert!(
            why.starts_with(
                "it streams from pg-a-2, which does not stream (it runs no WAL receiver"
            ),
            "{why}"
        ),
        other => panic!("expected no, got {other:?}"),
    }
    // By the upstream replica's list, when seq 3 was asked through Patroni.
    let listed = vec![
        pg(1, "primary", |l| {
            l.replication.standby_names = vec!["pg-a-2".into()]
        }),
        pg(2, "replica", |l| {
            l.replication.standby_names = vec!["pg-a-3".into()]
        }),
        patroni(3, "replica"),
    ];
    assert_eq!(judge(listed, 3), Streaming::Yes);
}

#[test]
fn an_upstream_loop_is_not_streaming() {
    let obs = vec![
        pg(1, "primary", |_| {}),
        pg(2, "replica", |l| streams(l, "10.0.0.3:5432")),
        pg(3, "replica", |l| streams(l, "10.0.0.2:5432")),
    ];
    assert!(matches!(judge(obs, 2), Streaming::No(_)));
}

#[test]
fn witnesses_that_cannot_see_streaming_make_no_verdict() {
    let obs = vec![patroni(1, "primary"), patroni(2, "replica")];
    assert_eq!(judge(obs, 2), Streaming::Unknown);
    // A receiver whose details the user may not read, and a primary asked via Patroni.
    let obs = vec![
        patroni(1, "primary"),
        pg(2, "replica", |l| {
            l.replication.wal_receiver_status = Some("unknown".into())
        }),
    ];
    assert_eq!(judge(obs, 2), Streaming::Unknown);
    // Streaming from a member that did not answer: not provably right or wrong.
    let obs = vec![
        pg(1, "primary", |_| {}),
        pg(2, "replica", |l| streams(l, "10.0.0.3:5432")),
        Observation::test(SourceKind::Live, "pg-a")
            .seq(3)
            .ip(&ip(3))
            .origin(Origin::Live(Box::new(LiveOrigin {
                address: format!("{}:5432", ip(3)),
                via: "postgres",
                reachable: false,
                error: Some("unreachable: connection refused".into()),
                ..LiveOrigin::default()
            }))),
    ];
    assert_eq!(judge(obs, 2), Streaming::Unknown);
}

#[test]
fn the_finding_says_why() {
    let fleet = Fleet::build(vec![SourceOutput::test(
        SourceKind::Live,
        vec![
            pg(1, "primary", |l| l.standbys = vec![ip(2)]),
            pg(2, "replica", |l| streams(l, "10.0.0.1:5432")),
            pg(3, "replica", |l| {
                l.replication.wal_receiver_status = Some("stopping".into())
            }),
        ],
    )]);
    let f = check(&fleet);
    let kinds: Vec<_> = f.iter().map(|f| (f.kind, f.instance.as_deref())).collect();
    assert_eq!(kinds, vec![(Kind::ReplicaNotStreaming, Some("pg-a-3"))]);
    assert_eq!(
        f[0].message,
        "pg-a-3 is a replica but does not stream: its WAL receiver is stopping; pg-a-1 streams to 10.0.0.2"
    );
}
