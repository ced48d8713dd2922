//! `roster fix` end to end: the real binary plans, applies and verifies against the
//! simulator and real target files; the audit log records every write.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod common;

use common::fix::{args, check};
use common::{has, json, roster, stderr, stdout};
use roster::demo::Demo;
use roster::fix::audit::Audit;
use roster::fix::plan::{Destination, FixContext, Step, plan};
use roster::gather::gather;
use roster::observation::SourceKind;

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
