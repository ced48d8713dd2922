use super::*;

fn postgres(role: &str) -> Value {
    json!({
        "ID": "postgres", "Service": "postgres",
        "Tags": [role, "pg-test"],
        "Meta": {"type": "postgres", "role": role, "seq": "1", "instance": "pg-test-1",
                 "service": format!("pg-test-{role}"), "cluster": "pg-test", "version": "13"},
        "Port": 5432, "Address": "",
        "Weights": {"Passing": 1, "Warning": 1},
        "EnableTagOverride": false, "Datacenter": "dc1",
        "ContentHash": "abc", "CreateIndex": 10, "ModifyIndex": 12,
    })
}

fn endpoint(raw: &str) -> Endpoint {
    Endpoint::parse(raw, false).unwrap()
}

#[test]
fn default_template_follows_the_consul_address() {
    let a = AgentAddress::new(DEFAULT_AGENT_TEMPLATE).unwrap();
    assert_eq!(a, AgentAddress::default());
    let u = a
        .url_for(&endpoint("https://consul:8501"), "10.10.10.11")
        .unwrap();
    assert_eq!(u.as_str(), "https://10.10.10.11:8501/");
    let u = a.url_for(&endpoint("http://consul"), "fe80::1").unwrap();
    assert_eq!(
        u.as_str(),
        "http://[fe80::1]/",
        "the default port is implied"
    );
    let u = a.url_for(&endpoint("consul:8500"), "db-1.example").unwrap();
    assert_eq!(u.as_str(), "http://db-1.example:8500/");
}

#[test]
fn templates_with_node_names_and_bad_templates() {
    let a = AgentAddress::new("https://{node}.consul.internal:{port}/agent").unwrap();
    assert!(a.needs_node());
    let u = a
        .url_for_node(&endpoint("http://c:8500"), "pg-test-1", "10.0.0.1")
        .unwrap();
    assert_eq!(u.as_str(), "https://pg-test-1.consul.internal:8500/agent");
    assert!(matches!(
        a.url_for(&endpoint("http://c:8500"), "10.0.0.1"),
        Err(FixError::Template { .. })
    ));
    for (bad, word) in [
        ("{scheme}://{host}:{port}", "unknown placeholder {host}"),
        ("{scheme}://{node_address:{port}", "unclosed"),
        ("{scheme}://{node_address}}:1", "unmatched"),
        ("", "empty"),
        ("ftp://{node_address}", "scheme"),
        ("{node_address}", "not a URL"),
    ] {
        let e = AgentAddress::new(bad).unwrap_err().to_string();
        assert!(e.contains(word), "{bad}: {e}");
    }
}

#[test]
fn node_values_cannot_steer_the_url() {
    let a = AgentAddress::default();
    let c = endpoint("http://c:8500");
    for evil in ["evil.com/x?", "user@host", "", "-x", "a b"] {
        assert!(
            matches!(a.url_for(&c, evil), Err(FixError::BadValue { .. })),
            "{evil}"
        );
    }
    let unix = Endpoint::parse("unix:///run/consul.sock", false).unwrap();
    assert!(a.url_for(&unix, "10.0.0.1").is_err());
    let fixed = AgentAddress::new("http://{node_address}:8500").unwrap();
    assert_eq!(
        fixed.url_for(&unix, "10.0.0.1").unwrap().as_str(),
        "http://10.0.0.1:8500/"
    );
}

#[test]
fn role_rewrite_follows_pg_register() {
    let body = reregister_body(
        &postgres("replica"),
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    assert_eq!(body["Name"], "postgres");
    assert_eq!(body["ID"], "postgres");
    assert_eq!(body["Tags"], json!(["primary", "pg-test"]));
    assert_eq!(body["Meta"]["role"], "primary");
    assert_eq!(body["Meta"]["service"], "pg-test-primary");
    assert_eq!(body["Meta"]["cluster"], "pg-test");
    assert_eq!(body["Meta"]["instance"], "pg-test-1");
    assert_eq!(body["Port"], 5432);
    for gone in [
        "Service",
        "Datacenter",
        "ContentHash",
        "CreateIndex",
        "ModifyIndex",
    ] {
        assert!(body.get(gone).is_none(), "{gone} must not be sent");
    }
    assert!(body.get("Check").is_none() && body.get("Checks").is_none());
}

#[test]
fn cluster_service_names_never_change() {
    let current = json!({
        "ID": "pg-test-primary", "Service": "pg-test-primary",
        "Tags": ["pg-test-primary", "pg-test", "primary"],
        "Meta": {"type": "postgres", "seq": "1", "instance": "pg-test-1",
                 "service": "pg-test-primary", "cluster": "pg-test"},
        "Port": 5433,
    });
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Primary, Role::Replica),
    )
    .unwrap();
    assert_eq!(body["Name"], "pg-test-primary");
    assert_eq!(body["ID"], "pg-test-primary");
    // The tags name the route, which no member's role change moves; the member's role
    // fields do move.
    assert_eq!(
        body["Tags"],
        json!(["pg-test-primary", "pg-test", "primary"])
    );
    assert_eq!(body["Meta"]["service"], "pg-test-replica");
    assert_eq!(body["Meta"]["cluster"], "pg-test");
}

#[test]
fn routing_services_keep_the_tags_of_their_route() {
    let routing = |name: &str, tags: Value, member: &str| {
        json!({
            "ID": name, "Service": name, "Tags": tags,
            "Meta": {"type": "postgres", "seq": "2", "instance": "pg-live-2",
                     "role": member, "service": format!("pg-live-{member}"), "cluster": "pg-live"},
            "Port": 5434,
        })
    };
    // A replica promoted: its pg-live-replica service still routes to replicas.
    let current = routing(
        "pg-live-replica",
        json!(["pg-live-replica", "pg-live", "replica"]),
        "replica",
    );
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    assert_eq!(
        body["Tags"],
        json!(["pg-live-replica", "pg-live", "replica"])
    );
    assert_eq!(body["Meta"]["role"], "primary");
    assert_eq!(body["Meta"]["service"], "pg-live-primary");
    // Tags an earlier pg-register moved off the route are put back.
    let current = routing(
        "pg-live-primary",
        json!(["pg-live-replica", "pg-live", "replica"]),
        "replica",
    );
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    assert_eq!(
        body["Tags"],
        json!(["pg-live-primary", "pg-live", "primary"])
    );
    // A route that is no role (0.8's pg_services) keeps its tags as they are.
    let default = routing(
        "pg-live-default",
        json!(["pg-live-default", "pg-live", "replica"]),
        "replica",
    );
    let body = reregister_body(
        &default,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    assert_eq!(body["Tags"], default["Tags"]);
    assert_eq!(body["Meta"]["role"], "primary");
    // No role change, no tag touched, even off the route.
    let body = reregister_body(
        &current,
        &IdentityChange {
            instance: Some("pg-live-2".into()),
            ..IdentityChange::default()
        },
    )
    .unwrap();
    assert_eq!(body["Tags"], current["Tags"]);
}

#[test]
fn role_meta_synonyms_and_untouched_values() {
    let mut current = postgres("replica");
    current["Meta"]["role"] = json!("standby");
    current["Meta"]["note"] = json!("primary-site");
    current["Tags"] = json!(["replica", "pg-test", "primary-dc"]);
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    assert_eq!(body["Meta"]["role"], "primary");
    assert_eq!(body["Meta"]["note"], "primary-site");
    assert_eq!(body["Tags"], json!(["primary", "pg-test", "primary-dc"]));
    // Exact spelling, as pg-register's rewrite: "Replica" is not the word it writes.
    current["Tags"] = json!(["Replica"]);
    let body = reregister_body(
        &current,
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    assert_eq!(body["Tags"], json!(["Replica"]));
}

#[test]
fn unknown_role_words_are_refused() {
    for (from, to) in [
        (Role::Replica, Role::Unknown("boss".into())),
        (Role::Unknown("x".into()), Role::Primary),
        (Role::Replica, Role::Offline),
    ] {
        let e = reregister_body(&postgres("replica"), &IdentityChange::role(from, to)).unwrap_err();
        assert!(matches!(e, FixError::Refused(_)), "{e}");
    }
}

#[test]
fn other_identity_fields_set_existing_meta_only() {
    let change = IdentityChange {
        cluster: Some("pg-new".into()),
        seq: Some(4),
        instance: Some("pg-new-4".into()),
        service: Some("pg-new-replica".into()),
        ..IdentityChange::default()
    };
    let body = reregister_body(&postgres("replica"), &change).unwrap();
    assert_eq!(body["Tags"], json!(["replica", "pg-new"]));
    assert_eq!(body["Meta"]["cluster"], "pg-new");
    assert_eq!(body["Meta"]["seq"], "4");
    assert_eq!(body["Meta"]["instance"], "pg-new-4");
    assert_eq!(body["Meta"]["service"], "pg-new-replica");
    assert_eq!(body["Meta"]["role"], "replica");

    let haproxy = json!({"ID": "haproxy", "Service": "haproxy", "Tags": ["pg", "exporter", "pg-test"],
        "Meta": {"type": "exporter", "seq": "1", "instance": "pg-test-1", "cluster": "pg-test"}, "Port": 9101});
    let body = reregister_body(&haproxy, &change).unwrap();
    assert!(body["Meta"].get("service").is_none(), "no key is added");

    let bad = IdentityChange {
        cluster: Some("Pg_Test".into()),
        ..IdentityChange::default()
    };
    assert!(reregister_body(&haproxy, &bad).is_err());
    let bad = IdentityChange {
        instance: Some("a\u{1b}[2J".into()),
        ..IdentityChange::default()
    };
    assert!(reregister_body(&haproxy, &bad).is_err());
}

#[test]
fn definitions_roster_cannot_carry_are_refused() {
    let mut current = postgres("replica");
    current["SomethingNew"] = json!({"x": 1});
    let e = reregister_body(&current, &IdentityChange::default()).unwrap_err();
    assert!(e.to_string().contains("SomethingNew"), "{e}");
    assert!(reregister_body(&json!({"ID": "x"}), &IdentityChange::default()).is_err());
    assert!(reregister_body(&json!([1]), &IdentityChange::default()).is_err());
    let mut current = postgres("replica");
    current["Meta"]["n"] = json!(1);
    assert!(
        reregister_body(
            &current,
            &IdentityChange::role(Role::Replica, Role::Primary)
        )
        .is_err()
    );
    let connect = json!({"ID": "web", "Service": "web", "Kind": "", "Proxy": {}, "Connect": {"Native": true}});
    let body = reregister_body(&connect, &IdentityChange::default()).unwrap();
    assert!(body.get("Kind").is_none() && body.get("Proxy").is_none());
    assert_eq!(body["Connect"], json!({"Native": true}));
}

#[test]
fn diff_shows_only_what_changes() {
    let before = postgres("replica");
    let after =
        reregister_body(&before, &IdentityChange::role(Role::Replica, Role::Primary)).unwrap();
    assert_eq!(
        diff_lines(&before, &after),
        vec![
            "~ Meta.role: replica -> primary",
            "~ Meta.service: pg-test-replica -> pg-test-primary",
            "- Tags: [replica, pg-test]",
            "+ Tags: [primary, pg-test]",
        ]
    );
    assert!(diff_lines(&before, &before).is_empty());
    let mut more = after.clone();
    more["Meta"]["new"] = json!("v");
    more["Port"] = json!(6432);
    more.as_object_mut().unwrap().remove("Weights");
    let lines = diff_lines(&after, &more);
    assert!(lines.contains(&"+ Meta.new: v".to_string()), "{lines:?}");
    assert!(
        lines.contains(&"~ Port: 5432 -> 6432".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"- Weights: {Passing: 1, Warning: 1}".to_string()),
        "{lines:?}"
    );
}

#[test]
fn catalog_bodies_use_the_catalog_names() {
    let body = reregister_body(
        &postgres("replica"),
        &IdentityChange::role(Role::Replica, Role::Primary),
    )
    .unwrap();
    let r = catalog_register_body("ext-1", "10.0.0.9", &body).unwrap();
    assert_eq!(r["Node"], "ext-1");
    assert_eq!(r["SkipNodeUpdate"], true);
    assert_eq!(r["Service"]["Service"], "postgres");
    assert!(r["Service"].get("Name").is_none());
    assert_eq!(r["Service"]["Tags"], json!(["primary", "pg-test"]));
    assert!(catalog_register_body("", "10.0.0.9", &body).is_err());
}

mod survives {
    use super::super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z][a-z0-9-]{0,10}",
            "\\PC{0,12}",
            Just("primary".to_string()),
            Just("replica".to_string()),
            Just("pg-test-replica".to_string()),
            Just("pg-test".to_string()),
            Just("master".to_string()),
        ]
    }

    fn expected(v: &str, from: &str, to: &str) -> String {
        v.strip_suffix(from)
            .map_or_else(|| v.to_string(), |s| format!("{s}{to}"))
    }

    proptest! {
        #[test]
        fn only_identity_fields_change(
            tags in vec(word(), 0..6),
            meta in btree_map(word(), word(), 0..8),
            port in any::<u16>(),
            address in prop_oneof![Just(String::new()), "[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}"],
            passing in 1..100i32,
            warning in 1..100i32,
            tagged in btree_map("[a-z_]{1,8}", ("[a-z0-9.:]{0,15}", any::<u16>()), 0..4),
            eto in any::<bool>(),
            promote in any::<bool>(),
            with_meta_role in any::<bool>(),
        ) {
            let (from, to) = if promote { (Role::Replica, Role::Primary) } else { (Role::Primary, Role::Replica) };
            let (fw, tw) = (from.as_str().to_string(), to.as_str().to_string());
            let mut meta = meta;
            if with_meta_role {
                meta.insert("role".into(), fw.clone());
            }
            let tagged: BTreeMap<String, Value> = tagged
                .into_iter()
                .map(|(k, (a, p))| (k, json!({"Address": a, "Port": p})))
                .collect();
            let mut current = json!({
                "ID": "svc-1", "Service": "postgres", "Tags": tags, "Meta": meta,
                "Port": port, "Address": address,
                "Weights": {"Passing": passing, "Warning": warning},
                "EnableTagOverride": eto, "Datacenter": "dc1", "ContentHash": "h",
            });
            if !tagged.is_empty() {
                current["TaggedAddresses"] = json!(tagged);
            }
            let body = reregister_body(&current, &IdentityChange::role(from.clone(), to.clone())).unwrap();

            prop_assert_eq!(&body["ID"], "svc-1");
            prop_assert_eq!(&body["Name"], "postgres");
            prop_assert_eq!(&body["Port"], &json!(port));
            prop_assert_eq!(&body["Address"], &json!(address));
            prop_assert_eq!(&body["Weights"], &json!({"Passing": passing, "Warning": warning}));
            prop_assert_eq!(&body["EnableTagOverride"], &json!(eto));
            prop_assert_eq!(body.get("TaggedAddresses"), current.get("TaggedAddresses"));
            let want_tags: Vec<String> = tags.iter().map(|t| expected(t, &fw, &tw)).collect();
            prop_assert_eq!(&body["Tags"], &json!(want_tags));
            let got = body["Meta"].as_object().unwrap();
            prop_assert_eq!(got.len(), meta.len());
            for (k, v) in &meta {
                let want = if k == "role" && Role::parse(v) == from && !v.ends_with(fw.as_str()) {
                    tw.clone()
                } else {
                    expected(v, &fw, &tw)
                };
                prop_assert_eq!(got.get(k), Some(&json!(want)), "meta {}", k);
            }
            let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
            for k in keys {
                prop_assert!(
                    ["ID", "Name", "Tags", "Meta", "Port", "Address", "Weights",
                     "EnableTagOverride", "TaggedAddresses"].contains(&k.as_str()),
                    "unexpected field {}", k
                );
            }
        }
    }
}
