use super::*;

fn node(c: &Catalog, name: &str, ip: &str) {
    c.register_node(NodeDef {
        name: name.into(),
        address: ip.into(),
        agent: true,
        ..NodeDef::default()
    });
}

fn svc(name: &str, tags: &[&str]) -> ServiceDef {
    ServiceDef {
        name: name.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        port: 5432,
        checks: vec![CheckDef::tcp("127.0.0.1:5432")],
        ..ServiceDef::default()
    }
}

#[test]
fn writes_bump_the_index_and_record_create_modify() {
    let c = Catalog::new("dc1");
    let start = c.index();
    assert!(start > 1);
    node(&c, "n1", "127.0.0.5");
    let i1 = c
        .register_service("n1", svc("postgres", &["primary"]))
        .unwrap();
    let i2 = c
        .register_service("n1", svc("postgres", &["replica"]))
        .unwrap();
    assert!(i2 > i1 && i1 > start);
    let st = c.read();
    let s = &st.nodes["n1"].services["postgres"];
    assert_eq!((s.create, s.modify), (i1, i2));
    assert_eq!(s.def.tags, ["replica"]);
    assert_eq!(st.name_index("postgres"), i2);
    assert!(st.nodes["n1"].checks.contains_key("service:postgres"));
    drop(st);
    assert_eq!(
        c.agent_at("127.0.0.5".parse().unwrap()).as_deref(),
        Some("n1")
    );
}

#[test]
fn replace_checks_flag_controls_old_checks() {
    let c = Catalog::new("dc1");
    node(&c, "n1", "127.0.0.5");
    let mut two = svc("web", &[]);
    two.checks.push(CheckDef::http("http://x/"));
    c.register_service("n1", two).unwrap();
    assert!(c.check_status("n1", "service:web:2").is_some());
    c.register_service_with("n1", svc("web", &[]), false)
        .unwrap();
    assert!(c.check_status("n1", "service:web:2").is_some());
    assert!(c.check_status("n1", "service:web").is_some());
    c.register_service_with("n1", svc("web", &[]), true)
        .unwrap();
    assert!(c.check_status("n1", "service:web:2").is_none());
}

#[test]
fn node_check_change_touches_every_service_on_the_node() {
    let c = Catalog::new("dc1");
    node(&c, "n1", "127.0.0.5");
    c.register_service("n1", svc("a", &[])).unwrap();
    let i = c
        .set_check_status("n1", "serfHealth", CheckStatus::Critical)
        .unwrap();
    assert_eq!(c.read().name_index("a"), i);
    assert_eq!(
        c.set_check_status("n1", "nope", CheckStatus::Critical),
        Err(CatalogError::UnknownCheck("nope".into()))
    );
}

#[test]
fn deregister_and_reset() {
    let c = Catalog::new("dc1");
    node(&c, "n1", "127.0.0.5");
    c.register_service("n1", svc("a", &[])).unwrap();
    assert_eq!(
        c.deregister_service("n1", "b"),
        Err(CatalogError::UnknownService("b".into()))
    );
    c.deregister_service("n1", "a").unwrap();
    assert!(c.service_names().is_empty());
    assert!(c.read().nodes["n1"].checks.len() == 1);
    let before = c.epoch();
    c.reset_index();
    assert_eq!(c.index(), 1);
    assert_eq!(c.read().name_index("a"), 1);
    assert_ne!(c.epoch(), before);
    assert!(c.deregister_node("n1"));
    assert!(c.agent_at("127.0.0.5".parse().unwrap()).is_none());
}
