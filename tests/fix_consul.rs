//! The Consul and node-command writers against the simulator: a re-registration through
//! the node's own agent changes the role and nothing else (checks included), ACL denials
//! and unreachable agents are clear errors without the token, agentless nodes go through
//! the catalog, and commands run without a shell under a time limit.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic is how a test or bench reports failure

mod hostile;

use hostile::{Reply, Request, Tiny, entry, target_file, texts};
use roster::consul::{ConsulClient, ConsulConfig, ConsulError, Endpoint, Secret};
use roster::demo::Demo;
use roster::fix::command::{CommandTemplate, CommandValues, run};
use roster::fix::consul::{
    AgentAddress, IdentityChange, agent_client, agent_service, catalog_register, catalog_service,
    diff_lines, register, reregister_body,
};
use roster::fix::error::FixError;
use roster::identity::Role;
use roster::observation::{ConsulOrigin, Origin, SourceOutput};
use roster::sim::{CheckDef, FleetSpec, NodeDef, ServiceDef, SimOptions};
use roster::source::consul::read_consul;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "s3cret-master-token-0b6f";
const WRONG: &str = "wrong-token-value-77a1";

fn client(url: &str, token: Option<&str>) -> ConsulClient {
    let mut cfg = ConsulConfig::new(Endpoint::parse(url, false).expect("simulator URL"));
    cfg.token = token.map(Secret::new);
    cfg.timeout = Duration::from_secs(5);
    ConsulClient::new(cfg).expect("client")
}

fn agent_for(consul: &ConsulClient, node_address: &str) -> ConsulClient {
    let url = AgentAddress::default()
        .url_for(consul.endpoint(), node_address)
        .expect("agent URL");
    agent_client(consul, &url).expect("agent client")
}

fn origins(out: &SourceOutput, node: &str) -> Vec<Arc<ConsulOrigin>> {
    out.observations
        .iter()
        .filter_map(|o| match &o.origin {
            Origin::Consul(c) if c.node == node => Some(c.clone()),
            _ => None,
        })
        .collect()
}

fn role_of(out: &SourceOutput, node: &str, service_id: &str) -> Option<Role> {
    out.observations
        .iter()
        .find(|o| matches!(&o.origin, Origin::Consul(c) if c.node == node && c.service_id == service_id))
        .and_then(|o| o.role.as_ref().map(|r| r.role.clone()))
}

fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

fn expected_rewrite(v: &str) -> String {
    v.strip_suffix("replica")
        .map_or_else(|| v.to_string(), |s| format!("{s}primary"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promoting_pg_test_1_through_its_agent_changes_only_the_role() {
    let demo = Demo::start().await.expect("demo");
    let consul = client(&demo.server().url(), None);
    let before = read_consul(&consul).await;
    let services = origins(&before, "pg-test-1");
    assert!(
        services.len() >= 9,
        "the whole Pigsty service set: {services:?}"
    );
    let node_address = services[0].node_address.clone();
    let agent = agent_for(&consul, &node_address);
    assert!(agent.endpoint().to_string().contains(node_address.as_str()));

    let mut defs_before = BTreeMap::new();
    for s in &services {
        let current = agent_service(&agent, &s.service_id)
            .await
            .expect("current definition");
        let body = reregister_body(
            &current,
            &IdentityChange::role(Role::Replica, Role::Primary),
        )
        .expect("body");
        assert!(!diff_lines(&current, &body).is_empty() || s.service_name == "haproxy");
        register(&agent, &body).await.expect("registered");
        defs_before.insert(s.service_id.clone(), current);
    }

    let after = read_consul(&consul).await;
    assert!(after.report.errors.is_empty(), "{:?}", after.report.errors);
    for s in &services {
        let now = agent_service(&agent, &s.service_id)
            .await
            .expect("definition after");
        let then = &defs_before[&s.service_id];
        assert_eq!(
            without(&now, &["Tags", "Meta"]),
            without(then, &["Tags", "Meta"]),
            "{}: only tags and meta may change",
            s.service_id
        );
        let new = origins(&after, "pg-test-1")
            .into_iter()
            .find(|o| o.service_id == s.service_id)
            .expect("still registered");
        assert_eq!(new.service_name, s.service_name, "names never change");
        assert_eq!(
            (new.port, &new.service_address, &new.node_address),
            (s.port, &s.service_address, &s.node_address)
        );
        assert_eq!(
            new.checks().collect::<Vec<_>>(),
            s.checks().collect::<Vec<_>>(),
            "{}: every check survives",
            s.service_id
        );
        assert!(
            !new.checks().all(|c| c.node_check),
            "{} has its own check",
            s.service_id
        );
        // A routing service's tags name its route, which the member's promotion does not
        // move (pg-register had moved pg-test-primary's to replica: they are put back).
        let want_tags: Vec<String> = match s.service_name.strip_prefix("pg-test-") {
            Some(route) => s
                .tags
                .iter()
                .map(|t| {
                    t.strip_suffix("replica")
                        .or_else(|| t.strip_suffix("primary"))
                        .map_or_else(|| t.to_string(), |stem| format!("{stem}{route}"))
                })
                .collect(),
            None => s.tags.iter().map(|t| expected_rewrite(t)).collect(),
        };
        let new_tags: Vec<String> = new.tags.iter().map(|t| t.to_string()).collect();
        assert_eq!(new_tags, want_tags, "{}", s.service_id);
        let want_meta: BTreeMap<String, String> = s
            .meta
            .iter()
            .map(|(k, v)| (k.to_string(), expected_rewrite(v)))
            .collect();
        let new_meta: BTreeMap<String, String> = new
            .meta
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(new_meta, want_meta, "{}", s.service_id);
        if s.meta.get("role").is_some() || s.meta.get("service").is_some() {
            assert_eq!(
                role_of(&before, "pg-test-1", &s.service_id),
                Some(Role::Replica)
            );
            assert_eq!(
                role_of(&after, "pg-test-1", &s.service_id),
                Some(Role::Primary)
            );
        }
    }
    let cluster_primary = origins(&after, "pg-test-1")
        .into_iter()
        .find(|o| o.service_name == "pg-test-primary")
        .expect("cluster service");
    assert_eq!(
        *cluster_primary.tags,
        ["pg-test-primary", "pg-test", "primary"]
    );
    assert_eq!(
        cluster_primary.meta.get("service").unwrap(),
        "pg-test-primary"
    );
    // Nothing on the other nodes moved.
    assert_eq!(origins(&after, "pg-test-2"), origins(&before, "pg-test-2"));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acl_denied_names_403_and_consul_s_words_never_the_token() {
    let opts = SimOptions {
        acl_token: Some(TOKEN.into()),
        ..SimOptions::default()
    };
    let demo = Demo::start_with_options(FleetSpec::demo(), opts)
        .await
        .expect("demo");
    let url = demo.server().url();
    let good = agent_for(&client(&url, Some(TOKEN)), "127.10.10.11");
    let anonymous = agent_for(&client(&url, None), "127.10.10.11");
    let wrong = agent_for(&client(&url, Some(WRONG)), "127.10.10.11");

    let e = agent_service(&anonymous, "postgres").await.unwrap_err();
    assert_eq!(e.status(), Some(403), "{e}");
    assert!(
        e.to_string()
            .contains("Permission denied: anonymous token lacks permission 'service:read'"),
        "{e}"
    );

    let current = agent_service(&good, "postgres")
        .await
        .expect("allowed read");
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .expect("body");
    for (who, agent, words) in [
        (
            "anonymous",
            &anonymous,
            "lacks permission 'service:write' on \"postgres\"",
        ),
        ("wrong token", &wrong, "ACL not found"),
    ] {
        let e = register(agent, &body).await.unwrap_err();
        let text = e.to_string();
        assert_eq!(e.status(), Some(403), "{who}: {text}");
        assert!(
            text.contains("403") && text.contains(words),
            "{who}: {text}"
        );
        assert!(text.contains("/v1/agent/service/register"), "{who}: {text}");
        assert!(
            !text.contains(TOKEN) && !text.contains(WRONG),
            "{who}: {text}"
        );
        assert!(!format!("{e:?}").contains(WRONG), "{who}");
    }
    let unchanged = agent_service(&good, "postgres").await.expect("read");
    assert_eq!(unchanged, current, "a denied write changes nothing");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_agents_are_clear_errors() {
    let demo = Demo::start().await.expect("demo");
    let consul = client(&demo.server().url(), None);
    // pg-orders-5 left without `consul leave`; 127.77.0.1 is no node at all.
    for address in ["127.10.10.35", "127.77.0.1"] {
        let agent = agent_for(&consul, address);
        let e = agent_service(&agent, "postgres").await.unwrap_err();
        assert!(
            matches!(
                &e,
                FixError::Consul(ConsulError::Connect { .. } | ConsulError::Body { .. })
            ),
            "{address}: {e:?}"
        );
        assert!(e.is_unreachable(), "{e:?}");
        assert!(e.to_string().contains(address), "{e}");
        let body = serde_json::json!({"ID": "postgres", "Name": "postgres"});
        assert!(register(&agent, &body).await.is_err());
    }
    // Nothing listens at all on this port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let closed = client(&format!("http://127.0.0.1:{port}"), None);
    let agent = agent_for(&closed, "127.10.10.11");
    let e = agent_service(&agent, "postgres").await.unwrap_err();
    assert!(e.to_string().to_lowercase().contains("refused"), "{e}");
    assert!(e.is_unreachable());
    assert!(
        e.to_string().contains(&format!("127.10.10.11:{port}")),
        "{e}"
    );
    // A service the agent does not have is named with the agent.
    let live = agent_for(&consul, "127.10.10.11");
    let e = agent_service(&live, "no-such-service").await.unwrap_err();
    assert!(matches!(e, FixError::MissingService { .. }), "{e:?}");
    assert!(!e.is_unreachable());
    assert!(e.to_string().contains("no-such-service") && e.to_string().contains("127.10.10.11"));
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agentless_nodes_are_rewritten_through_the_catalog() {
    let demo = Demo::start().await.expect("demo");
    let catalog = demo.server().catalog();
    catalog.register_node(NodeDef {
        name: "ext-pg-1".into(),
        address: "127.20.0.1".into(),
        agent: false,
        ..NodeDef::default()
    });
    let meta: BTreeMap<String, String> = [
        ("type", "postgres"),
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
        .expect("registered");
    let consul = client(&demo.server().url(), None);
    let before = read_consul(&consul).await;
    let old = origins(&before, "ext-pg-1");
    assert_eq!(old.len(), 1);

    // No agent answers for it: that is why the catalog is used.
    assert!(
        agent_service(&agent_for(&consul, "127.20.0.1"), "postgres")
            .await
            .is_err()
    );

    let current = catalog_service(&consul, "postgres", "ext-pg-1", "postgres")
        .await
        .expect("catalog definition");
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .expect("body");
    catalog_register(&consul, "ext-pg-1", "127.20.0.1", &body)
        .await
        .expect("catalog write");

    let after = read_consul(&consul).await;
    let new = origins(&after, "ext-pg-1");
    assert_eq!(new.len(), 1);
    assert_eq!(role_of(&after, "ext-pg-1", "postgres"), Some(Role::Primary));
    assert_eq!(*new[0].tags, ["primary", "pg-ext"]);
    assert_eq!(new[0].meta.get("service").unwrap(), "pg-ext-primary");
    assert_eq!(
        new[0].checks().collect::<Vec<_>>(),
        old[0].checks().collect::<Vec<_>>(),
        "checks survive"
    );
    assert_eq!(
        (new[0].port, &new[0].node_address),
        (5432, &old[0].node_address)
    );
    let now = catalog_service(&consul, "postgres", "ext-pg-1", "postgres")
        .await
        .expect("read back");
    assert_eq!(
        without(&now, &["Tags", "Meta"]),
        without(&current, &["Tags", "Meta"])
    );
    let e = catalog_service(&consul, "postgres", "ext-pg-1", "nope")
        .await
        .unwrap_err();
    assert!(matches!(e, FixError::MissingService { .. }), "{e:?}");
    demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_commands_run_without_a_shell() {
    let values = CommandValues {
        ip: Some("127.10.10.11".into()),
        node: Some("pg-test-1".into()),
        role: Some("primary".into()),
        cluster: Some("pg-test".into()),
        seq: Some(1),
        instance: Some("pg-test-1".into()),
    };
    let argv = CommandTemplate::new("echo pg-register {role} on {node}; $(id)")
        .expect("template")
        .expand(&values)
        .expect("argv");
    let out = run(&argv, Duration::from_secs(10)).await.expect("ran");
    assert!(out.success(), "{out:?}");
    assert_eq!(
        out.stdout, "pg-register primary on pg-test-1; $(id)\n",
        "no shell ran"
    );
    assert_eq!(out.code, Some(0));
    assert!(out.clone().into_result().is_ok());

    let failing = [
        "sh",
        "-c",
        "echo half done; echo refused by node >&2; exit 3",
    ]
    .map(String::from);
    let out = run(&failing, Duration::from_secs(10)).await.expect("ran");
    assert!(!out.success());
    assert_eq!(out.code, Some(3));
    assert_eq!(out.stdout, "half done\n");
    let e = out.into_result().unwrap_err().to_string();
    assert!(
        e.contains("exit status 3") && e.contains("refused by node"),
        "{e}"
    );

    let missing = ["/nonexistent/pg-register".to_string()];
    let e = run(&missing, Duration::from_secs(10)).await.unwrap_err();
    assert!(matches!(e, FixError::CommandSpawn { .. }), "{e:?}");

    let slow = ["sleep", "10"].map(String::from);
    let out = run(&slow, Duration::from_millis(200)).await.expect("ran");
    assert!(out.timed_out && !out.success(), "{out:?}");
    assert_eq!(out.code, None, "killed, not exited");
    let e = out.into_result().unwrap_err();
    assert!(matches!(e, FixError::CommandTimedOut { .. }), "{e:?}");
    assert!(e.to_string().contains("killed"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_node_command_leaves_no_child_behind() {
    // A duration no other test uses, so that only this test's children match.
    let marker = "3141.59";
    let argv = ["sh", "-c", &format!("sleep {marker} & sleep {marker}")].map(String::from);
    let out = run(&argv, Duration::from_secs(1)).await.expect("ran");
    assert!(out.timed_out, "{out:?}");
    let left = |marker: &str| -> Vec<u32> {
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c == format!("sleep\0{marker}\0").as_bytes())
            })
            .collect()
    };
    // The kill is sent before `run` returns; give the kernel a moment to reap.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut alive = left(marker);
    while !alive.is_empty() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        alive = left(marker);
    }
    for pid in &alive {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    assert!(
        alive.is_empty(),
        "children of the command survive: {alive:?}"
    );
}

// ---------------------------------------------------------------- a hostile agent

const ECHO: &str = "71c0d5e3-agent-echo-token-4b8a";
const LIMIT: Duration = Duration::from_secs(120);

/// A fleet of one instance that Consul calls primary and the target file replica, served
/// by a scripted Consul that is also the instance's agent; `put` answers the writes.
struct Scene {
    consul: Tiny,
    dir: tempfile::TempDir,
    targets: std::path::PathBuf,
}

impl Scene {
    async fn start(
        bind: std::net::SocketAddr,
        node: &str,
        node_address: &str,
        put: impl Fn(&Request) -> Reply + Send + Sync + 'static,
    ) -> Scene {
        let entries = vec![entry(node, node_address, "pg-h", 1, "primary")];
        let consul = Tiny::start_on(
            bind,
            hostile::consul(entries, &[], move |r: &Request| {
                if r.method == "PUT" {
                    put(r)
                } else {
                    Reply::text(404, "Invalid URL path")
                }
            }),
        )
        .await;
        let dir = tempfile::tempdir().expect("tmp");
        let targets = dir.path().join("pg-h.yml");
        std::fs::write(
            &targets,
            target_file("pg-h", &[(1, "replica", "127.0.0.1")]),
        )
        .expect("targets");
        std::fs::write(dir.path().join("token"), ECHO).expect("token");
        Scene {
            consul,
            dir,
            targets,
        }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// `roster fix` of the instance to Consul, believing the target file, through `agent`.
    async fn fix(&self, agent: &str, extra: &[&str], env: &[(&str, &str)]) -> std::process::Output {
        let mut argv = hostile::args(&[
            "fix",
            "--consul",
            &format!("http://127.0.0.1:{}", self.consul.addr().port()),
            "--targets",
            &self.targets.display().to_string(),
            "--instance",
            "pg-h-1",
            "--to",
            "consul",
            "--authority",
            "targets",
            "--agent-address",
            agent,
            "--token-file",
            &self.path("token"),
            "--audit-log",
            &self.path("audit.log"),
        ]);
        argv.extend(extra.iter().map(|s| s.to_string()));
        hostile::roster(&argv, env, LIMIT).await
    }
}

fn loopback() -> std::net::SocketAddr {
    ([127, 0, 0, 1], 0).into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_redirected_elsewhere_is_not_followed() {
    let elsewhere = Tiny::start(|_| Reply::text(200, "")).await;
    let to = elsewhere.addr();
    let scene = Scene::start(loopback(), "pg-h-1", "127.0.0.1", move |r: &Request| {
        Reply::redirect(307, &format!("http://{to}{}", r.target))
    })
    .await;
    let agent = scene.consul.url();
    let out = scene
        .fix(&agent, &["--yes", "--allow-new-errors"], &[])
        .await;
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{o}\n{e}");
    assert!(o.contains("FAIL"), "{o}");
    assert!(
        o.contains(&format!("307 redirect to {to}")) && o.contains("does not follow redirects"),
        "{o}"
    );
    assert!(
        scene.consul.requests().iter().any(|r| r.method == "PUT"),
        "the write was attempted"
    );
    let leaked = elsewhere.requests();
    assert!(
        leaked.is_empty(),
        "the write went elsewhere: {:?}",
        leaked.iter().map(Request::text).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_echoed_by_the_agent_reaches_no_output_audit_or_log() {
    let scene = Scene::start(loopback(), "pg-h-1", "127.0.0.1", |_: &Request| {
        Reply::text(
            403,
            &format!(
                "Permission denied: token with AccessorID '{ECHO}' lacks permission 'service:write' on \"postgres\" ({ECHO})"
            ),
        )
    })
    .await;
    let agent = scene.consul.url();
    let log = scene.path("roster.log");
    let out = scene
        .fix(
            &agent,
            &["--yes", "--allow-new-errors", "--log-file", &log],
            &[("ROSTER_LOG", "trace")],
        )
        .await;
    let (o, e) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{o}\n{e}");
    assert!(o.contains("FAIL") && o.contains("403"), "{o}");
    assert!(!o.contains(ECHO), "stdout:\n{o}");
    assert!(!e.contains(ECHO), "stderr:\n{e}");
    let audit = std::fs::read_to_string(scene.path("audit.log")).expect("audit log");
    assert!(audit.contains("403"), "{audit}");
    assert!(!audit.contains(ECHO), "audit:\n{audit}");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(!logged.is_empty());
    assert!(!logged.contains(ECHO), "the log holds the token");
    let put = scene
        .consul
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .expect("the write was sent");
    assert_eq!(put.header("x-consul-token"), Some(ECHO));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_bound_for_a_remote_agent_over_plain_http_is_warned_about() {
    // Any address of this machine that is not loopback; the route is looked up, nothing is sent.
    let ip = std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("198.51.100.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    let Some(ip) = ip else {
        eprintln!(
            "\n!!!!!!!! SKIPPED: this machine has no non-loopback address to put an agent on !!!!!!!!\n"
        );
        return;
    };
    let scene = Scene::start(
        ([0, 0, 0, 0], 0).into(),
        "pg-h-1",
        "127.0.0.1",
        |_: &Request| Reply::text(200, ""),
    )
    .await;
    let agent = format!("http://{ip}:{}", scene.consul.addr().port());
    let out = scene.fix(&agent, &["--dry-run"], &[]).await;
    let (o, e) = texts(&out);
    assert!(
        o.contains("1. consul agent"),
        "the plan was made:\n{o}\n{e}"
    );
    assert!(
        o.lines()
            .any(|l| l.contains("warning:") && l.contains("plain http") && l.contains(&agent)),
        "{o}"
    );
    assert!(!o.contains(ECHO));
    // On the loopback agent the same plan has no such warning.
    let loopback_agent = format!("http://127.0.0.1:{}", scene.consul.addr().port());
    let out = scene.fix(&loopback_agent, &["--dry-run"], &[]).await;
    let (o, e) = texts(&out);
    assert!(o.contains("1. consul agent"), "{o}\n{e}");
    assert!(!o.contains("plain http"), "{o}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_lines_from_the_catalog_never_reach_the_plan() {
    let address = "10.9.9.9\r\nok   consul agent http://10.9.9.9:8500 (node pg-h-1) service x: registered\u{202E}";
    let scene = Scene::start(loopback(), "pg-h-1\u{202E}1-gp", address, |_: &Request| {
        Reply::text(200, "")
    })
    .await;
    let agent = scene.consul.url();
    let out = scene.fix(&agent, &["--dry-run"], &[]).await;
    let (o, e) = texts(&out);
    assert!(
        o.contains("1. consul agent"),
        "the plan was made:\n{o}\n{e}"
    );
    assert!(
        o.contains("10.9.9.9"),
        "the address is shown, made safe:\n{o}"
    );
    assert!(!o.contains('\r'), "{o:?}");
    assert!(!o.contains('\u{202E}'), "{o:?}");
    assert!(
        !o.lines().any(|l| l.trim_start().starts_with("ok ")),
        "a forged line in the plan:\n{o}"
    );
    let out = scene.fix(&agent, &["--dry-run", "-f", "json"], &[]).await;
    let (o, e) = texts(&out);
    let doc: Value = serde_json::from_str(&o).unwrap_or_else(|err| panic!("{err}: {o}\n{e}"));
    assert!(!o.contains('\u{202E}'), "{o:?}");
    assert!(
        doc.to_string().contains("pg-h-1\u{202E}1-gp"),
        "JSON keeps the data, escaped"
    );
}
