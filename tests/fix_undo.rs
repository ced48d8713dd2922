//! Undoing an applied fix against the simulator and real target files: the reverse writes
//! put back the target file and the registrations exactly, and a place someone changed
//! since the fix is refused, not overwritten.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

use roster::config::Settings;
use roster::consul::{ConsulClient, Endpoint};
use roster::demo::Demo;
use roster::fix::apply::{ApplySession, apply};
use roster::fix::audit::Audit;
use roster::fix::consul::{
    AgentAddress, DEFAULT_AGENT_TEMPLATE, agent_service, register, reregister_body,
};
use roster::fix::plan::{Destination, FixContext, Plan, Step, plan};
use roster::fix::targets::backup_path;
use roster::fix::undo::{AppliedFix, plan_undo};
use roster::fleet::Fleet;
use roster::gather::gather;
use roster::observation::SourceKind;
use serde_json::Value;
use std::time::{Duration, SystemTime};

fn settings(demo: &Demo) -> Settings {
    let mut a = demo.source_args();
    a.config = None;
    roster::config::resolve(&a, &|_| None).unwrap()
}

fn ctx(settings: &Settings) -> FixContext {
    FixContext {
        consul: settings.consul.as_ref().map(|c| c.config.clone()),
        agent: AgentAddress::new(DEFAULT_AGENT_TEMPLATE).unwrap(),
        command: None,
        command_timeout: Duration::from_secs(5),
    }
}

async fn fleet(settings: &Settings) -> Fleet {
    gather(settings).await.fleet
}

/// Plans pg-test-1 in `dest` believing `authority`, applies it, and returns what it wrote.
async fn fix(
    settings: &Settings,
    dest: Destination,
    authority: SourceKind,
    audit: &Audit,
) -> AppliedFix {
    let fleet = fleet(settings).await;
    let inst = fleet.instances().find(|i| i.name == "pg-test-1").unwrap();
    let p = plan(inst, dest, Some(authority), &ctx(settings))
        .await
        .unwrap();
    assert!(
        !p.steps.is_empty(),
        "the demo's pg-test-1 drifts in {dest:?}"
    );
    run(&p, settings, audit).await
}

async fn run(p: &Plan, settings: &Settings, audit: &Audit) -> AppliedFix {
    let report = apply(p, &ctx(settings), audit, &mut ApplySession::default()).await;
    assert!(report.ok(), "{:?}", report.results);
    AppliedFix::from_report(p, &report, SystemTime::now())
}

async fn undo(applied: &AppliedFix, settings: &Settings) -> Result<Plan, String> {
    plan_undo(applied, &fleet(settings).await, &ctx(settings))
        .await
        .map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undoing_a_target_file_fix_puts_the_original_back() {
    let demo = Demo::start().await.unwrap();
    let settings = settings(&demo);
    let dir = tempfile::tempdir().unwrap();
    let audit = Audit::new(dir.path().join("audit.log"));
    let file = demo.targets_dir().join("pg-test.yml");
    let original = std::fs::read_to_string(&file).unwrap();

    let applied = fix(&settings, Destination::Targets, SourceKind::Consul, &audit).await;
    let fixed = std::fs::read_to_string(&file).unwrap();
    assert_ne!(fixed, original);
    // The audit record states the digest the fix left, which undo checks against.
    let log = std::fs::read_to_string(audit.path()).unwrap();
    let last: Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(
        last["after"]["digest"],
        roster::fix::targets::digest(fixed.as_bytes())
    );

    let p = undo(&applied, &settings).await.unwrap();
    assert!(
        p.undoes
            .as_deref()
            .unwrap()
            .contains("pg-test-1 in targets")
    );
    let [Step::TargetFile { new_text, diff, .. }] = p.steps.as_slice() else {
        panic!("one reverse write: {:?}", p.steps);
    };
    assert_eq!(new_text, &original);
    assert!(
        diff.iter()
            .any(|l| l.starts_with('+') && l.contains("role: primary")),
        "{diff:?}"
    );
    let outcome = p.outcome.as_ref().expect("simulated");
    // The single-member fix left targets without a primary; putting it back resolves that.
    assert!(
        outcome
            .resolves
            .iter()
            .any(|f| f.kind.code() == "no-primary"),
        "{outcome:?}"
    );
    run(&p, &settings, &audit).await;
    assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_file_changed_since_the_fix_is_not_undone() {
    let demo = Demo::start().await.unwrap();
    let settings = settings(&demo);
    let dir = tempfile::tempdir().unwrap();
    let audit = Audit::new(dir.path().join("audit.log"));
    let file = demo.targets_dir().join("pg-test.yml");

    let applied = fix(&settings, Destination::Targets, SourceKind::Consul, &audit).await;
    // A second operator edits the file after the fix.
    let theirs = format!(
        "{}# someone else's edit\n",
        std::fs::read_to_string(&file).unwrap()
    );
    std::fs::write(&file, &theirs).unwrap();
    let e = undo(&applied, &settings).await.unwrap_err();
    assert!(e.starts_with("not undoing: changed since the fix"), "{e}");
    assert!(
        e.contains("pg-test.yml is no longer the text the fix wrote"),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), theirs);

    // The file back as the fix left it, but the .bak replaced: nothing to restore from.
    let fixed = theirs
        .trim_end_matches("# someone else's edit\n")
        .to_string();
    std::fs::write(&file, &fixed).unwrap();
    assert!(undo(&applied, &settings).await.is_ok());
    std::fs::write(backup_path(&file), "- targets: []\n").unwrap();
    let e = undo(&applied, &settings).await.unwrap_err();
    assert!(
        e.contains(".bak no longer holds the text from before the fix"),
        "{e}"
    );
    demo.stop().await;
}

/// Every definition of pg-test-1's services on its agent, register-body shaped.
async fn definitions(applied: &AppliedFix, settings: &Settings) -> Vec<Value> {
    let mut out = Vec::new();
    for step in &applied.plan.steps {
        let Step::ConsulRegister {
            agent, service_id, ..
        } = step
        else {
            panic!("a Consul fix writes through the agent: {step:?}");
        };
        let mut cfg = settings.consul.as_ref().unwrap().config.clone();
        cfg.endpoint = Endpoint::parse(agent, false).unwrap();
        cfg.datacenter = None;
        let client = ConsulClient::new(cfg).unwrap();
        let now = agent_service(&client, service_id).await.unwrap();
        out.push(reregister_body(&now, &Default::default()).unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undoing_a_consul_fix_re_registers_the_previous_definitions() {
    let demo = Demo::start().await.unwrap();
    let settings = settings(&demo);
    let dir = tempfile::tempdir().unwrap();
    let audit = Audit::new(dir.path().join("audit.log"));

    let applied = fix(&settings, Destination::Consul, SourceKind::Targets, &audit).await;
    let originals: Vec<Value> = applied
        .plan
        .steps
        .iter()
        .map(|s| match s {
            Step::ConsulRegister { before, .. } => {
                reregister_body(before, &Default::default()).unwrap()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_ne!(definitions(&applied, &settings).await, originals);

    let p = undo(&applied, &settings).await.unwrap();
    assert_eq!(p.steps.len(), applied.plan.steps.len());
    for step in &p.steps {
        let Step::ConsulRegister { after, .. } = step else {
            panic!("{step:?}");
        };
        assert!(originals.contains(after), "{after}");
        assert!(
            step.diff().iter().any(|l| l.contains("primary -> replica")
                || (l.starts_with('+') && l.contains("replica"))),
            "{:?}",
            step.diff()
        );
    }
    run(&p, &settings, &audit).await;
    assert_eq!(definitions(&applied, &settings).await, originals);
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_changed_since_the_fix_is_not_undone() {
    let demo = Demo::start().await.unwrap();
    let settings = settings(&demo);
    let dir = tempfile::tempdir().unwrap();
    let audit = Audit::new(dir.path().join("audit.log"));

    let applied = fix(&settings, Destination::Consul, SourceKind::Targets, &audit).await;
    // Someone re-registers one of the services with another tag after the fix.
    let Some(Step::ConsulRegister {
        agent,
        service_id,
        after,
        ..
    }) = applied.plan.steps.first()
    else {
        panic!("{:?}", applied.plan.steps);
    };
    let mut theirs = after.clone();
    theirs["Tags"]
        .as_array_mut()
        .unwrap()
        .push("hand-made".into());
    let mut cfg = settings.consul.as_ref().unwrap().config.clone();
    cfg.endpoint = Endpoint::parse(agent, false).unwrap();
    cfg.datacenter = None;
    let client = ConsulClient::new(cfg).unwrap();
    register(&client, &theirs).await.unwrap();

    let e = undo(&applied, &settings).await.unwrap_err();
    assert!(e.starts_with("not undoing: changed since the fix"), "{e}");
    assert!(
        e.contains(&format!(
            "service {service_id} is no longer the registration the fix sent"
        )),
        "{e}"
    );
    let now = agent_service(&client, service_id).await.unwrap();
    assert!(now["Tags"].to_string().contains("hand-made"));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fix_that_wrote_nothing_has_nothing_to_undo() {
    let demo = Demo::start().await.unwrap();
    let settings = settings(&demo);
    let fleet = fleet(&settings).await;
    let inst = fleet.instances().find(|i| i.name == "pg-test-1").unwrap();
    let p = plan(
        inst,
        Destination::Targets,
        Some(SourceKind::Consul),
        &ctx(&settings),
    )
    .await
    .unwrap();
    let report = roster::fix::apply::ApplyReport {
        instance: p.instance.clone(),
        results: Vec::new(),
        skipped: p.steps.len(),
        audit_error: None,
    };
    let applied = AppliedFix::from_report(&p, &report, SystemTime::now());
    assert!(!applied.wrote());
    let e = undo(&applied, &settings).await.unwrap_err();
    assert!(e.contains("nothing to undo"), "{e}");
    demo.stop().await;
}
