//! `roster fix` end to end after a failover and with live sources: a failed-over cluster
//! moved as a whole, a change that creates an error, a dead old primary and a split-brain.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::fix::{args, check};
use common::{has, json, roster, stderr, stdout};
use roster::demo::Demo;
use roster::gather::gather;

/// Two failed-over clusters whose inventory was updated: in `pg-tgt` Consul followed and
/// the target files did not; in `pg-csl` the target files were regenerated and Consul kept
/// the old roles (a switchover without the callback).
const FAILED_OVER: &str = r#"
datacenter: dc1
release: "0.7"
clusters:
  - name: pg-tgt
    timeline: 2
    members:
      - { seq: 1, ip: 127.20.1.11, role: replica, targets: { role: primary } }
      - { seq: 2, ip: 127.20.1.12, role: primary, targets: { role: replica } }
      - { seq: 3, ip: 127.20.1.13, role: replica }
  - name: pg-csl
    timeline: 2
    members:
      - { seq: 1, ip: 127.20.1.21, role: replica, consul: { role: primary } }
      - { seq: 2, ip: 127.20.1.22, role: primary, consul: { role: replica } }
"#;

async fn failed_over() -> Demo {
    Demo::start_with(roster::sim::FleetSpec::from_yaml(FAILED_OVER).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixing_one_member_of_a_failed_over_cluster_moves_the_whole_cluster() {
    let demo = failed_over().await;
    let home = tempfile::tempdir().unwrap();
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap())];
    let before = check(&demo, home.path()).await;
    assert!(has(&before, "role-mismatch", "pg-tgt", Some("pg-tgt-2")));

    // Target files follow Consul: the new primary and the demoted one together.
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-tgt-2",
                "--to",
                "targets",
                "--authority",
                "consul",
                "--yes",
            ],
        ),
        &env,
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains(
            "note: make targets follow the failover of pg-tgt (consul has it): pg-tgt-2 replica → primary, pg-tgt-1 primary → replica"
        ),
        "{text}"
    );
    assert!(
        text.contains("ins: pg-tgt-1, ip: 127.20.1.11, role: replica"),
        "{text}"
    );
    assert!(
        text.contains("ins: pg-tgt-2, ip: 127.20.1.12, role: primary"),
        "{text}"
    );
    assert!(text.contains("  creates: nothing"), "{text}");
    assert!(
        text.contains("resolved: role-mismatch pg-tgt-1 (error)"),
        "{text}"
    );
    assert!(
        text.contains("resolved: role-mismatch pg-tgt-2 (error)"),
        "{text}"
    );
    assert!(!text.contains("created:"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));

    // Consul follows the target files: no second primary in Consul.
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-csl-2",
                "--to",
                "consul",
                "--authority",
                "targets",
                "--yes",
            ],
        ),
        &env,
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains("(node pg-csl-1) service postgres")
            && text.contains("(node pg-csl-2) service postgres"),
        "{text}"
    );
    assert!(
        !text.contains("created:") && !text.contains("FAIL"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let after = check(&demo, home.path()).await;
    assert!(
        common::findings(&after).is_empty(),
        "every place follows: {after}"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_member_change_that_creates_an_error_needs_the_flag_and_is_reported() {
    let demo = failed_over().await;
    let home = tempfile::tempdir().unwrap();
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap())];
    let file = demo.targets_dir().join("pg-tgt.yml");
    let original = std::fs::read_to_string(&file).unwrap();
    let one = [
        "--instance",
        "pg-tgt-2",
        "--to",
        "targets",
        "--authority",
        "consul",
        "--member-only",
        "--yes",
    ];
    let out = roster(home.path(), &args(&demo, "fix", &one), &env).await;
    let text = stdout(&out);
    assert!(
        text.contains("  creates: multiple-primaries in pg-tgt (error)"),
        "{text}"
    );
    assert!(
        text.contains("DANGER: creates multiple-primaries in pg-tgt (error)")
            && text.contains("--allow-new-errors"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(2), "{text}");
    let err = stderr(&out);
    assert!(
        err.contains("refused: pg-tgt-2: creates multiple-primaries in pg-tgt (error)")
            && err.contains("nothing written"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);

    // With the flag it is written, and the verification says what it made worse.
    let mut forced = one.to_vec();
    forced.push("--allow-new-errors");
    let out = roster(home.path(), &args(&demo, "fix", &forced), &env).await;
    let text = stdout(&out);
    assert!(
        text.contains("resolved: role-mismatch pg-tgt-2 (error)"),
        "{text}"
    );
    assert!(
        text.contains("created: multiple-primaries pg-tgt (error): targets names 2 primaries in cluster pg-tgt"),
        "{text}"
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(has(
        &check(&demo, home.path()).await,
        "multiple-primaries",
        "pg-tgt",
        None
    ));

    // The JSON document lists what was created too.
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-csl-2",
                "--to",
                "consul",
                "--authority",
                "targets",
                "--member-only",
                "--allow-new-errors",
                "--yes",
                "-f",
                "json",
            ],
        ),
        &env,
    )
    .await;
    let doc = json(&out);
    let created: Vec<&str> = doc["created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["multiple-primaries"], "{doc}");
    assert_eq!(out.status.code(), Some(1));
    demo.stop().await;
}

/// `roster fix` in this process, with the demo's live source (the simulated Patroni only);
/// the exit code and what it printed.
async fn fix_live(demo: &Demo, audit: &std::path::Path, extra: &[&str]) -> (u8, String) {
    #[derive(clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        fix: roster::fix::cli::FixArgs,
    }
    use clap::Parser as _;
    let settings = roster::config::resolve(&demo.live_source_args(), &|_| None).unwrap();
    let mut argv = vec!["fix", "--audit-log", audit.to_str().unwrap()];
    argv.extend(extra);
    let args = Cmd::try_parse_from(argv).unwrap().fix;
    let mut out = Vec::new();
    let code = roster::fix::cli::run_with(&settings, &args, false, &mut out, false).await;
    (code, String::from_utf8(out).unwrap())
}

async fn live_findings(demo: &Demo) -> Vec<roster::drift::Finding> {
    let settings = roster::config::resolve(&demo.live_source_args(), &|_| None).unwrap();
    roster::drift::check(&gather(&settings).await.fleet)
}

/// `pg-dead`: its primary's node died, seq 2 was promoted and its callback re-registered
/// it; the dead node's registrations and the target files still name seq 1 primary.
/// `pg-sb`: a split-brain, both members answer as primary.
const DEAD_AND_SPLIT: &str = r#"
datacenter: dc1
release: "0.7"
clusters:
  - name: pg-dead
    timeline: 2
    members:
      - seq: 1
        ip: 127.20.2.11
        role: replica
        consul: { role: primary, node_down: true }
        targets: { role: primary }
      - { seq: 2, ip: 127.20.2.12, role: primary, targets: { role: replica } }
      - { seq: 3, ip: 127.20.2.13, role: replica }
  - name: pg-sb
    timeline: 2
    members:
      - { seq: 1, ip: 127.20.2.21, role: primary }
      - { seq: 2, ip: 127.20.2.22, role: primary, consul: { role: replica }, targets: { role: replica } }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_old_primary_is_demoted_once_the_live_primary_is_known() {
    let demo = Demo::start_with(roster::sim::FleetSpec::from_yaml(DEAD_AND_SPLIT).unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let kinds = |fs: &[roster::drift::Finding]| {
        fs.iter()
            .filter(|f| f.cluster == "pg-dead")
            .map(|f| format!("{} {}", f.kind, f.instance.as_deref().unwrap_or("-")))
            .collect::<Vec<_>>()
    };
    let before = kinds(&live_findings(&demo).await);
    assert!(
        before.contains(&"multiple-primaries -".to_string()),
        "{before:?}"
    );
    assert!(
        before.contains(&"live-unreachable pg-dead-1".to_string()),
        "{before:?}"
    );

    // The target files: the live authority (the default) demotes the dead member.
    let (code, text) = fix_live(
        &demo,
        &audit,
        &["--cluster", "pg-dead", "--to", "targets", "--yes"],
    )
    .await;
    assert!(text.contains("make targets agree with live"), "{text}");
    assert!(
        text.contains("note: pg-dead-1 cannot be asked its role and pg-dead-2 is the cluster's one live primary"),
        "{text}"
    );
    assert!(
        text.contains("ins: pg-dead-1, ip: 127.20.2.11, role: replica"),
        "{text}"
    );
    assert!(
        text.contains("ins: pg-dead-2, ip: 127.20.2.12, role: primary"),
        "{text}"
    );
    assert!(!text.contains("created:"), "{text}");
    // The dead member stays unreachable and its node critical: warnings remain.
    assert_eq!(code, 1, "{text}");

    // Consul: the dead node has no agent to ask, so its catalog entries are demoted.
    let (code, text) = fix_live(
        &demo,
        &audit,
        &[
            "--instance",
            "pg-dead-1",
            "--to",
            "consul",
            "--authority",
            "live",
            "--yes",
        ],
    )
    .await;
    assert!(
        text.contains("ok   consul catalog (agentless node pg-dead-1) service postgres")
            && text.contains("node pg-dead-1 is down (serfHealth critical)"),
        "{text}"
    );
    assert!(
        text.contains("resolved: multiple-primaries pg-dead (error)"),
        "{text}"
    );
    assert!(
        !text.contains("created:") && !text.contains("FAIL"),
        "{text}"
    );
    assert_eq!(code, 1, "{text}");
    let after = kinds(&live_findings(&demo).await);
    assert!(
        !after.contains(&"multiple-primaries -".to_string()),
        "{after:?}"
    );
    assert!(
        !after.iter().any(|k| k.starts_with("role-mismatch")),
        "{after:?}"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_brain_is_refused_until_overridden() {
    let demo = Demo::start_with(roster::sim::FleetSpec::from_yaml(DEAD_AND_SPLIT).unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.log");
    let file = demo.targets_dir().join("pg-sb.yml");
    let original = std::fs::read_to_string(&file).unwrap();
    let fix = ["--instance", "pg-sb-2", "--to", "targets", "--yes"];
    let (code, text) = fix_live(&demo, &audit, &fix).await;
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("cannot plan pg-sb-2: split-brain in pg-sb: pg-sb-1, pg-sb-2 are all primary right now (live); fence the old primary first"),
        "{text}"
    );
    assert!(text.contains("--override-split-brain"), "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    assert!(!audit.exists(), "nothing was written");

    // Overridden, the plan is made and says both of its risks; each needs its own flag.
    let mut over = fix.to_vec();
    over.push("--override-split-brain");
    let (code, text) = fix_live(&demo, &audit, &over).await;
    assert!(
        text.contains("DANGER: split-brain in pg-sb")
            && text.contains("DANGER: creates multiple-primaries in pg-sb (error)"),
        "{text}"
    );
    assert_eq!(code, 2, "{text}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    over.push("--allow-new-errors");
    let (_, text) = fix_live(&demo, &audit, &over).await;
    assert!(text.contains("ok   file"), "{text}");
    assert_ne!(std::fs::read_to_string(&file).unwrap(), original);
    demo.stop().await;
}
