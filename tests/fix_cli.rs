//! `roster fix` end to end: the real binary plans, applies and verifies against the
//! simulator and real target files; the audit log records every write.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::{DemoArgs, has, json, roster, stderr, stdout};
use roster::demo::Demo;
use roster::fix::audit::Audit;
use roster::fix::plan::{Destination, FixContext, Step, plan};
use roster::gather::gather;
use roster::observation::SourceKind;

fn args(demo: &Demo, cmd: &str, extra: &[&str]) -> Vec<String> {
    DemoArgs::new(demo, cmd).with(extra).build()
}

async fn check(demo: &Demo, home: &std::path::Path) -> serde_json::Value {
    json(&roster(home, &args(demo, "check", &["-f", "json"]), &[]).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_follow_consul_after_a_failover() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let env = [("XDG_STATE_HOME", state.to_str().unwrap())];
    let file = demo.targets_dir().join("pg-test.yml");
    let original = std::fs::read_to_string(&file).unwrap();

    let dry = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &["--cluster", "pg-test", "--to", "targets", "--dry-run"],
        ),
        &env,
    )
    .await;
    assert_eq!(dry.status.code(), Some(1), "{}", stderr(&dry));
    let text = stdout(&dry);
    assert!(text.contains("make targets agree with consul"), "{text}");
    assert!(text.contains("+    2: - labels: {cls: pg-test, ins: pg-test-1, ip: 127.10.10.11, role: replica, svc: pg-test-replica}"), "{text}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        original,
        "a dry run writes nothing"
    );

    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &["--cluster", "pg-test", "--to", "targets", "--yes"],
        ),
        &env,
    )
    .await;
    let text = stdout(&out);
    assert!(text.contains("resolved: role-mismatch pg-test-1"), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    // Only the stale inventory (a warning) is left.
    assert_eq!(out.status.code(), Some(1), "{text}");
    let doc = check(&demo, home.path()).await;
    for f in doc["findings"].as_array().unwrap() {
        if f["cluster"] == "pg-test" {
            assert_eq!(f["severity"], "warning", "{f}");
        }
    }
    let now = std::fs::read_to_string(&file).unwrap();
    assert!(now.contains("#======>"), "comments survive");
    assert_eq!(
        std::fs::read_to_string(file.with_extension("yml.bak")).unwrap(),
        original,
        "the .bak holds the original"
    );
    let audit = std::fs::read_to_string(state.join("roster/audit.log")).unwrap();
    let entries: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One write (both members' groups are in the one file, edited together), recorded as
    // started before it is made, then with its outcome.
    assert_eq!(entries.len(), 2, "{audit}");
    let results: Vec<&str> = entries
        .iter()
        .filter_map(|e| e["result"].as_str())
        .collect();
    assert_eq!(results, ["started", "ok"], "{audit}");
    assert!(entries.iter().all(|e| e["destination"] == "targets"));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_half_rewritten_registration_is_completed_through_the_agent() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let env = [("XDG_STATE_HOME", state.to_str().unwrap())];
    assert!(has(
        &check(&demo, home.path()).await,
        "service-role-split",
        "pg-src",
        Some("pg-src-2")
    ));
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-src-2",
                "--to",
                "consul",
                "--authority",
                "targets",
                "--yes",
                "-f",
                "json",
            ],
        ),
        &env,
    )
    .await;
    let doc = json(&out);
    let applied = &doc["applied"][0]["results"];
    assert!(
        applied.as_array().unwrap().iter().all(|r| r["ok"] == true),
        "{doc}"
    );
    let after = check(&demo, home.path()).await;
    assert!(
        !has(&after, "service-role-split", "pg-src", Some("pg-src-2")),
        "{after}"
    );
    // The checks of a re-registered service survive.
    let health = after["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "pg-src-2")
        .unwrap()["health"]
        .clone();
    assert_eq!(health, "passing");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_unreachable_agent_and_no_terminal_write_nothing() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let file = demo.targets_dir().join("pg-test.yml");
    let original = std::fs::read_to_string(&file).unwrap();

    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--read-only",
                "--cluster",
                "pg-test",
                "--to",
                "targets",
                "--yes",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));

    // No terminal to confirm on and no --yes: refused.
    let out = roster(
        home.path(),
        &args(&demo, "fix", &["--cluster", "pg-test", "--to", "targets"]),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);

    // pg-orders-5's node is down: its agent does not answer.
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-orders-5",
                "--to",
                "consul",
                "--authority",
                "inventory",
                "--yes",
            ],
        ),
        &[],
    )
    .await;
    // The inventory does not know pg-orders-5: nothing to believe, a clear refusal.
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("inventory says nothing about pg-orders-5"),
        "{}",
        stdout(&out)
    );

    // An agent that does not answer: planning fails with the address, nothing is written.
    let before = check(&demo, home.path()).await;
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-test-1",
                "--to",
                "consul",
                "--authority",
                "targets",
                "--agent-address",
                "http://{node_address}:1",
                "--yes",
            ],
        ),
        &[],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    assert!(
        text.contains("cannot plan pg-test-1") && text.contains("127.10.10.11:1"),
        "{text}"
    );
    assert_eq!(
        check(&demo, home.path()).await["findings"],
        before["findings"]
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_between_plan_and_apply_is_refused() {
    let demo = Demo::start().await.unwrap();
    let mut a = demo.source_args();
    a.config = None;
    let settings = roster::config::resolve(&a, &|_| None).unwrap();
    let g = gather(&settings).await;
    let fleet = g.fleet;
    let inst = fleet.instances().find(|i| i.name == "pg-test-1").unwrap();
    let ctx = FixContext {
        consul: settings.consul.as_ref().map(|c| c.config.clone()),
        agent: roster::fix::consul::AgentAddress::new(roster::fix::consul::DEFAULT_AGENT_TEMPLATE)
            .unwrap(),
        command: None,
        command_timeout: std::time::Duration::from_secs(5),
    };
    let p = plan(inst, Destination::Targets, Some(SourceKind::Consul), &ctx)
        .await
        .unwrap();
    assert!(matches!(p.steps[0], Step::TargetFile { .. }));
    let file = demo.targets_dir().join("pg-test.yml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("# edited by someone else\n");
    std::fs::write(&file, &text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut session = roster::fix::apply::ApplySession::default();
    let audit = Audit::new(dir.path().join("a.log"));
    let report = roster::fix::apply::apply(&p, &ctx, &audit, &mut session).await;
    assert!(!report.ok());
    assert!(
        report.results[0].message.contains("changed on disk"),
        "{:?}",
        report.results
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        text,
        "the other edit is kept"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_command_runs_with_the_desired_role() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-test-1",
                "--to",
                "command",
                "--authority",
                "inventory",
                "--command",
                "echo pg-register {role} on {ip}",
                "--yes",
            ],
        ),
        &[("XDG_STATE_HOME", home.path().to_str().unwrap())],
    )
    .await;
    let text = stdout(&out);
    assert!(
        text.contains("$ echo pg-register primary on 127.10.10.11"),
        "{text}"
    );
    assert!(
        text.contains("ok   command echo pg-register primary on 127.10.10.11"),
        "{text}"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_reaches_the_output_or_the_audit_log() {
    let token = "9f1c7e2a-fix-audit-token-0042";
    let options = roster::sim::SimOptions {
        acl_token: Some(token.to_string()),
        ..Default::default()
    };
    let demo = Demo::start_with_options(roster::sim::FleetSpec::demo(), options)
        .await
        .unwrap();
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let state = home.path().join("state");
    let env = [("XDG_STATE_HOME", state.to_str().unwrap())];
    let tf = token_file.to_str().unwrap();
    for to in [
        vec![
            "--instance",
            "pg-src-2",
            "--to",
            "consul",
            "--authority",
            "targets",
        ],
        vec!["--cluster", "pg-test", "--to", "targets"],
    ] {
        let mut extra = to.clone();
        extra.extend(["--token-file", tf, "--yes"]);
        let out = roster(home.path(), &args(&demo, "fix", &extra), &env).await;
        assert!(!stdout(&out).contains("FAIL"), "{}", stdout(&out));
        assert!(!stdout(&out).contains(token) && !stderr(&out).contains(token));
    }
    let audit = std::fs::read_to_string(state.join("roster/audit.log")).unwrap();
    assert!(audit.lines().count() >= 6, "{audit}");
    assert!(!audit.contains(token));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agentless_node_is_fixed_through_the_catalog() {
    use roster::sim::{CheckDef, NodeDef, ServiceDef};
    let demo = Demo::start().await.unwrap();
    let catalog = demo.server().catalog();
    catalog.register_node(NodeDef {
        name: "ext-pg-1".into(),
        address: "127.20.0.1".into(),
        agent: false,
        ..NodeDef::default()
    });
    let meta = [
        ("role", "replica"),
        ("seq", "1"),
        ("instance", "pg-ext-1"),
        ("service", "pg-ext-replica"),
        ("cluster", "pg-ext"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    catalog
        .register_service(
            "ext-pg-1",
            ServiceDef {
                id: "postgres".into(),
                name: "postgres".into(),
                tags: vec!["replica".into(), "pg-ext".into()],
                meta,
                port: 5432,
                checks: vec![CheckDef::tcp("127.20.0.1:5432")],
                ..ServiceDef::default()
            },
        )
        .unwrap();
    std::fs::write(
        demo.targets_dir().join("pg-ext.yml"),
        "- labels: {cls: pg-ext, ins: pg-ext-1, ip: 127.20.0.1, role: primary, svc: pg-ext-primary}\n  targets: [127.20.0.1:9630]\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap())];
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--instance",
                "pg-ext-1",
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
        text.contains("ok   consul catalog (agentless node ext-pg-1) service postgres"),
        "{text}"
    );
    assert!(
        text.contains("resolved: role-mismatch pg-ext-1 (error)"),
        "{text}"
    );
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_target_group_is_added_only_when_asked() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let env = [("XDG_STATE_HOME", home.path().to_str().unwrap())];
    let fix = ["--instance", "pg-orders-5", "--to", "targets", "--yes"];
    let out = roster(home.path(), &args(&demo, "fix", &fix), &env).await;
    assert!(stdout(&out).contains("--add-missing"), "{}", stdout(&out));
    assert!(has(
        &check(&demo, home.path()).await,
        "missing-in-targets",
        "pg-orders",
        Some("pg-orders-5")
    ));

    let mut with_add = fix.to_vec();
    with_add.push("--add-missing");
    let out = roster(home.path(), &args(&demo, "fix", &with_add), &env).await;
    let text = stdout(&out);
    assert!(
        text.contains("#======> pg-orders-5 [replica] @ 127.10.10.35"),
        "{text}"
    );
    assert!(
        text.contains("resolved: missing-in-targets pg-orders-5"),
        "{text}"
    );
    let file = std::fs::read_to_string(demo.targets_dir().join("pg-orders.yml")).unwrap();
    assert!(file.contains("ins: pg-orders-5"), "{file}");
    demo.stop().await;
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_log_that_cannot_be_written_stops_every_write() {
    let demo = Demo::start().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let file = demo.targets_dir().join("pg-test.yml");
    let original = std::fs::read_to_string(&file).unwrap();
    // A full disk, and a path whose directory cannot exist.
    for audit in ["/dev/full", "/dev/null/roster/audit.log"] {
        let out = roster(
            home.path(),
            &args(
                &demo,
                "fix",
                &[
                    "--cluster",
                    "pg-test",
                    "--to",
                    "targets",
                    "--yes",
                    "--audit-log",
                    audit,
                ],
            ),
            &[],
        )
        .await;
        let (o, e) = (stdout(&out), stderr(&out));
        assert_eq!(out.status.code(), Some(2), "{audit}: {o}\n{e}");
        assert!(
            format!("{o}{e}").contains(&format!("audit log {audit} cannot be written")),
            "{audit}: {o}\n{e}"
        );
        assert!(!o.contains("ok   file"), "{audit}: {o}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            original,
            "{audit}: nothing is written without its audit entry"
        );
        assert!(!file.with_extension("yml.bak").exists(), "{audit}");
    }

    // A writable log: entries carry an RFC 3339 UTC time, the user's name and uid.
    let log = home.path().join("audit.log");
    let out = roster(
        home.path(),
        &args(
            &demo,
            "fix",
            &[
                "--cluster",
                "pg-test",
                "--to",
                "targets",
                "--yes",
                "--audit-log",
                log.to_str().unwrap(),
            ],
        ),
        &[],
    )
    .await;
    assert!(stdout(&out).contains("ok   file"), "{}", stdout(&out));
    let text = std::fs::read_to_string(&log).unwrap();
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap();
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let time = e["time"].as_str().unwrap_or_else(|| panic!("{line}"));
        let shape: String = time
            .chars()
            .map(|c| if c.is_ascii_digit() { '0' } else { c })
            .collect();
        assert_eq!(shape, "0000-00-00T00:00:00Z", "{line}");
        assert_eq!(
            e["uid"].as_u64().map(|u| u.to_string()),
            Some(uid.clone()),
            "{line}"
        );
        let user = e["user"].as_str().unwrap_or_else(|| panic!("{line}"));
        assert!(!user.is_empty(), "{line}");
        if uid == "0" {
            assert_eq!(user, "root", "{line}");
        }
    }
    demo.stop().await;
}
