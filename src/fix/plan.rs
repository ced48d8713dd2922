//! Fix plans: the exact writes that make one place agree with an authority, as data,
//! shown before anything runs.

use super::command::{CommandTemplate, CommandValues};
use super::consul::{AgentAddress, IdentityChange, agent_service, diff_lines, reregister_body};
use super::error::FixError;
use super::targets::{TargetEditError, add_group, digest, edit_group};
use crate::consul::{ConsulClient, ConsulConfig, Endpoint};
use crate::fleet::Instance;
use crate::identity::{Role, instance_name, service_name};
use crate::observation::{Observation, Origin, SourceKind};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

impl From<TargetEditError> for FixError {
    fn from(e: TargetEditError) -> FixError {
        FixError::Refused(e.to_string())
    }
}

/// The place a fix writes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    /// Consul service registrations, through each node's agent.
    Consul,
    /// The Prometheus static target files.
    Targets,
    /// A configured command run for the instance (e.g. pg-register on the node).
    Command,
}

impl Destination {
    /// Every destination, in the order the UI offers them.
    pub const ALL: [Destination; 3] = [
        Destination::Consul,
        Destination::Targets,
        Destination::Command,
    ];

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Destination::Consul => "consul",
            Destination::Targets => "targets",
            Destination::Command => "command",
        }
    }

    /// The source whose records this destination rewrites.
    pub fn source(self) -> SourceKind {
        match self {
            Destination::Consul | Destination::Command => SourceKind::Consul,
            Destination::Targets => SourceKind::Targets,
        }
    }
}

/// The identity an instance should have, as the authority states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Desired {
    /// Cluster name.
    pub cluster: String,
    /// Seq, when known.
    pub seq: Option<u32>,
    /// Derived instance name.
    pub instance: String,
    /// The role to publish.
    pub role: Option<Role>,
    /// The address to publish.
    pub ip: Option<String>,
}

impl Desired {
    /// The identity `authority` gives `inst`; `None` when it says nothing about it.
    pub fn from(inst: &Instance, authority: SourceKind) -> Option<Desired> {
        if !inst.seen_by(authority) {
            return None;
        }
        let seq = match inst.id {
            crate::fleet::InstanceId::Seq(s) => Some(s),
            _ => None,
        };
        Some(Desired {
            cluster: inst.cluster.clone(),
            seq,
            instance: seq.map_or_else(|| inst.name.clone(), |s| instance_name(&inst.cluster, s)),
            role: inst
                .role_view(authority)
                .effective()
                .filter(|r| !r.is_unknown())
                .cloned(),
            ip: inst.ip(authority).map(str::to_string),
        })
    }

    /// The service name Pigsty derives for the desired role.
    pub fn service(&self) -> Option<String> {
        self.role.as_ref().map(|r| service_name(&self.cluster, r))
    }
}

/// One write of a plan, with what it changes.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// `PUT /v1/agent/service/register` on the node's agent.
    ConsulRegister {
        /// Node name.
        node: String,
        /// Service ID on the node.
        service_id: String,
        /// The agent's base URL.
        agent: String,
        /// The definition the agent holds now.
        before: serde_json::Value,
        /// The definition that will be sent.
        after: serde_json::Value,
    },
    /// `PUT /v1/catalog/register` for a service on a node that has no agent.
    CatalogRegister {
        /// Node name.
        node: String,
        /// Node address.
        address: String,
        /// Service ID on the node.
        service_id: String,
        /// The definition the catalog holds now.
        before: serde_json::Value,
        /// The definition that will be sent.
        after: serde_json::Value,
    },
    /// A target file rewritten in place (atomically, with a `.bak`).
    TargetFile {
        /// The file.
        file: PathBuf,
        /// Digest of the file as planned; a file that changed since is refused.
        digest: String,
        /// The whole new text.
        #[serde(skip)]
        new_text: String,
        /// What changes, line by line.
        diff: Vec<String>,
    },
    /// A command run for the instance.
    Command {
        /// The argv (no shell).
        argv: Vec<String>,
    },
}

impl Step {
    /// Where the step writes, for a human.
    pub fn target(&self) -> String {
        match self {
            Step::ConsulRegister {
                node,
                service_id,
                agent,
                ..
            } => format!("consul agent {agent} (node {node}) service {service_id}"),
            Step::CatalogRegister {
                node, service_id, ..
            } => format!("consul catalog (agentless node {node}) service {service_id}"),
            Step::TargetFile { file, .. } => format!("file {}", file.display()),
            Step::Command { argv } => format!("command {}", argv.join(" ")),
        }
    }

    /// The before/after lines shown in the preview.
    pub fn diff(&self) -> Vec<String> {
        match self {
            Step::ConsulRegister { before, after, .. }
            | Step::CatalogRegister { before, after, .. } => diff_lines(before, after),
            Step::TargetFile { diff, .. } => diff.clone(),
            Step::Command { argv } => vec![format!("$ {}", argv.join(" "))],
        }
    }
}

/// Everything that will be written for one instance, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// Cluster.
    pub cluster: String,
    /// Instance.
    pub instance: String,
    /// The place believed.
    pub authority: SourceKind,
    /// The place written.
    pub destination: Destination,
    /// The identity the writes establish.
    pub desired: Desired,
    /// The writes, in order.
    pub steps: Vec<Step>,
    /// Things the plan cannot fix or that may undo it, for the user to read first.
    pub warnings: Vec<String>,
}

impl Plan {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// What planning and applying need to know beyond the fleet.
#[derive(Clone, Debug)]
pub struct FixContext {
    /// The Consul configuration roster reads with (agents are reached with the same token and TLS).
    pub consul: Option<ConsulConfig>,
    /// How to reach each node's agent.
    pub agent: AgentAddress,
    /// The node command, when configured.
    pub command: Option<CommandTemplate>,
    /// Limit for one node command.
    pub command_timeout: Duration,
}

/// The authority used when none is named: live, then Consul, and never the destination itself.
pub fn default_authority(
    inst: &Instance,
    destination: Destination,
) -> Result<SourceKind, FixError> {
    for kind in [SourceKind::Live, SourceKind::Consul] {
        if kind != destination.source() && inst.seen_by(kind) {
            return Ok(kind);
        }
    }
    Err(FixError::Refused(format!(
        "{}: nothing more trustworthy than {} knows this instance; name the authority (--authority targets|inventory)",
        inst.name,
        destination.name()
    )))
}

/// Plans the writes that make `destination` agree with `authority` for one instance.
pub async fn plan(
    inst: &Instance,
    destination: Destination,
    authority: Option<SourceKind>,
    ctx: &FixContext,
) -> Result<Plan, FixError> {
    let authority = match authority {
        Some(a) => a,
        None => default_authority(inst, destination)?,
    };
    if authority == destination.source() && destination != Destination::Command {
        return Err(FixError::Refused(format!(
            "the authority and the destination are both {authority}: nothing to compare"
        )));
    }
    let desired = Desired::from(inst, authority).ok_or_else(|| {
        FixError::Refused(format!("{authority} says nothing about {}", inst.name))
    })?;
    let mut plan = Plan {
        cluster: inst.cluster.clone(),
        instance: inst.name.clone(),
        authority,
        destination,
        desired,
        steps: Vec::new(),
        warnings: Vec::new(),
    };
    match destination {
        Destination::Consul => plan_consul(inst, ctx, &mut plan).await?,
        Destination::Targets => plan_targets(inst, &mut plan)?,
        Destination::Command => plan_command(inst, ctx, &mut plan)?,
    }
    Ok(plan)
}

async fn plan_consul(inst: &Instance, ctx: &FixContext, plan: &mut Plan) -> Result<(), FixError> {
    let config = ctx.consul.as_ref().ok_or_else(|| {
        FixError::Refused("Consul is not configured: nothing to re-register".into())
    })?;
    let observations: Vec<&Observation> = inst.by_source(SourceKind::Consul).collect();
    if observations.is_empty() {
        plan.warnings.push(format!(
            "{} has no registration in Consul: register it on the node (the command destination)",
            inst.name
        ));
        return Ok(());
    }
    let desired = plan.desired.clone();
    let mut agents: BTreeMap<String, ConsulClient> = BTreeMap::new();
    for o in observations {
        let Origin::Consul(c) = &o.origin else {
            continue;
        };
        let change = consul_change(o, &desired);
        if let (Some(ip), Some(want)) = (o.ip.as_deref(), desired.ip.as_deref())
            && ip != want
        {
            let note = format!(
                "Consul has {} at {ip}, {} says {want}: an address comes from the node's own agent; re-register from the node",
                inst.name, plan.authority
            );
            if !plan.warnings.contains(&note) {
                plan.warnings.push(note);
            }
        }
        let Some(change) = change else { continue };
        // A node without serfHealth has no agent (registered through the catalog, e.g.
        // by consul-esm): there the catalog is the place to write, and only there.
        if !c.checks().any(|ch| ch.node_check && ch.id == "serfHealth") {
            let consul = ConsulClient::new(config.clone()).map_err(FixError::from)?;
            let before =
                super::consul::catalog_service(&consul, &c.service_name, &c.node, &c.service_id)
                    .await?;
            let after = reregister_body(&before, &change)?;
            if before != after {
                plan.steps.push(Step::CatalogRegister {
                    node: c.node.to_string(),
                    address: c.node_address.to_string(),
                    service_id: c.service_id.to_string(),
                    before,
                    after,
                });
            }
            continue;
        }
        let agent_url = ctx.agent.url_for(&config.endpoint, &c.node_address)?;
        let client = match agents.get(agent_url.as_str()) {
            Some(c) => c.clone(),
            None => {
                let mut cfg = config.clone();
                cfg.endpoint =
                    Endpoint::parse(agent_url.as_str(), false).map_err(FixError::from)?;
                // The agent answers for its own node in its own datacenter.
                cfg.datacenter = None;
                let client = ConsulClient::new(cfg).map_err(FixError::from)?;
                agents.insert(agent_url.to_string(), client.clone());
                client
            }
        };
        let before = agent_service(&client, &c.service_id).await?;
        let after = reregister_body(&before, &change)?;
        if before != after {
            plan.steps.push(Step::ConsulRegister {
                node: c.node.to_string(),
                service_id: c.service_id.to_string(),
                agent: agent_url.to_string().trim_end_matches('/').to_string(),
                before,
                after,
            });
        }
    }
    if !plan.steps.is_empty() {
        plan.warnings
            .push(super::consul::RELOAD_WARNING.to_string());
    }
    Ok(())
}

/// The identity change one Consul registration needs, if any.
fn consul_change(o: &Observation, desired: &Desired) -> Option<IdentityChange> {
    let mut change = IdentityChange::default();
    if let (Some(claim), Some(want)) = (&o.role, &desired.role)
        && &claim.role != want
        && !claim.role.is_unknown()
    {
        change.role = Some((claim.role.clone(), want.clone()));
    }
    if o.cluster != desired.cluster {
        change.cluster = Some(desired.cluster.clone());
    }
    if let (Some(seq), Some(want)) = (o.seq, desired.seq)
        && seq != want
    {
        change.seq = Some(want);
    }
    if let Some(ins) = &o.instance
        && ins != &desired.instance
    {
        change.instance = Some(desired.instance.clone());
    }
    (change != IdentityChange::default()).then_some(change)
}

fn plan_targets(inst: &Instance, plan: &mut Plan) -> Result<(), FixError> {
    let desired = plan.desired.clone();
    let groups: Vec<&Observation> = inst.by_source(SourceKind::Targets).collect();
    if groups.is_empty() {
        plan.warnings.push(format!(
            "{} has no target group; `roster fix --to targets --add-missing` adds one",
            inst.name
        ));
        return Ok(());
    }
    // All edits to one file go into one write, or the second would find the file changed.
    let mut by_file: BTreeMap<PathBuf, Vec<(usize, LabelChanges)>> = BTreeMap::new();
    for o in groups {
        let Origin::Targets(t) = &o.origin else {
            continue;
        };
        let changes = target_changes(&t.labels, &desired);
        if !changes.is_empty() {
            by_file
                .entry(t.file.clone())
                .or_default()
                .push((t.index, changes));
        }
        if !t.labels.contains_key("ip")
            && let Some(want) = &desired.ip
            && o.ip.as_deref() != Some(want.as_str())
        {
            plan.warnings.push(format!(
                "{}:{} scrapes {} but {} says the instance is at {want}; the targets themselves are not rewritten",
                t.file.display(),
                t.line,
                o.ip.as_deref().unwrap_or("?"),
                plan.authority
            ));
        }
    }
    for (file, edits) in by_file {
        let bytes = std::fs::read(&file)
            .map_err(|e| FixError::Refused(format!("cannot read {}: {e}", file.display())))?;
        let original = String::from_utf8(bytes.clone())
            .map_err(|_| FixError::Refused(format!("{} is not UTF-8 text", file.display())))?;
        let mut text = original.clone();
        for (index, changes) in &edits {
            text = edit_group(&file, &text, *index, changes)?;
        }
        plan.steps.push(Step::TargetFile {
            diff: text_diff(&original, &text),
            digest: digest(&bytes),
            file,
            new_text: text,
        });
    }
    Ok(())
}

/// Label -> new value (`None` removes the label).
pub type LabelChanges = BTreeMap<String, Option<String>>;

/// The label changes that make one group say what `desired` says (only labels it has).
pub fn target_changes(labels: &BTreeMap<String, String>, desired: &Desired) -> LabelChanges {
    let mut want: Vec<(&str, Option<String>)> = vec![
        ("cls", Some(desired.cluster.clone())),
        ("ins", Some(desired.instance.clone())),
        ("ip", desired.ip.clone()),
        (
            "role",
            desired.role.as_ref().map(|r| r.as_str().to_string()),
        ),
        ("svc", desired.service()),
    ];
    want.retain(|(_, v)| v.is_some());
    let mut changes = BTreeMap::new();
    for (label, value) in want {
        if let (Some(have), Some(value)) = (labels.get(label), value)
            && have != &value
            && !(label == "role" && Role::parse(have) == Role::parse(&value))
        {
            changes.insert(label.to_string(), Some(value));
        }
    }
    changes
}

/// Lines that differ between two texts, as `-`/`+` lines with their line numbers.
pub fn text_diff(before: &str, after: &str) -> Vec<String> {
    let a: Vec<&str> = before.lines().collect();
    let b: Vec<&str> = after.lines().collect();
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if a.len() == b.len() => {
                out.push(format!("- {:>4}: {x}", i + 1));
                out.push(format!("+ {:>4}: {y}", j + 1));
                i += 1;
                j += 1;
            }
            (Some(x), _) if a.len() > b.len() && !b[j..].contains(x) => {
                out.push(format!("- {:>4}: {x}", i + 1));
                i += 1;
            }
            (_, Some(y)) => {
                out.push(format!("+ {:>4}: {y}", j + 1));
                j += 1;
            }
            (Some(x), None) => {
                out.push(format!("- {:>4}: {x}", i + 1));
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

fn plan_command(inst: &Instance, ctx: &FixContext, plan: &mut Plan) -> Result<(), FixError> {
    let template = ctx.command.as_ref().ok_or_else(|| {
        FixError::Refused(
            "no node command is configured ([fix] command in the config file, e.g. \"ssh {ip} sudo /pg/bin/pg-register {role}\")"
                .into(),
        )
    })?;
    let d = &plan.desired;
    let role = d.role.as_ref().ok_or_else(|| {
        FixError::Refused(format!(
            "{} states no role for {}",
            plan.authority, inst.name
        ))
    })?;
    let node = inst
        .by_source(SourceKind::Consul)
        .find_map(|o| match &o.origin {
            Origin::Consul(c) => Some(c.node.to_string()),
            _ => None,
        })
        .unwrap_or_else(|| inst.name.clone());
    let values = CommandValues {
        ip: d.ip.clone(),
        node: Some(node),
        role: Some(role.as_str().to_string()),
        cluster: Some(d.cluster.clone()),
        seq: d.seq,
        instance: Some(d.instance.clone()),
    };
    let argv = template.expand(&values)?;
    plan.steps.push(Step::Command { argv });
    Ok(())
}

/// Adds a target group for an instance the target files lack, in the file that holds its
/// cluster's other groups (or `fallback`).
pub fn plan_add_target(
    inst: &Instance,
    desired: &Desired,
    cluster_file: Option<PathBuf>,
) -> Result<Step, FixError> {
    let file = cluster_file.ok_or_else(|| {
        FixError::Refused(format!(
            "no target file holds cluster {} yet: roster adds groups only next to their cluster's others",
            inst.cluster
        ))
    })?;
    let ip = desired
        .ip
        .clone()
        .ok_or_else(|| FixError::Refused(format!("no address known for {}", inst.name)))?;
    let mut labels = BTreeMap::from([
        ("cls".to_string(), desired.cluster.clone()),
        ("ins".to_string(), desired.instance.clone()),
        ("ip".to_string(), ip.clone()),
    ]);
    if let Some(r) = &desired.role {
        labels.insert("role".into(), r.as_str().to_string());
        labels.insert("svc".into(), service_name(&desired.cluster, r));
    }
    let targets: Vec<String> = [9630, 9100, 9631, 9101]
        .iter()
        .map(|p| format!("{ip}:{p}"))
        .collect();
    let bytes = std::fs::read(&file)
        .map_err(|e| FixError::Refused(format!("cannot read {}: {e}", file.display())))?;
    let original = String::from_utf8(bytes.clone())
        .map_err(|_| FixError::Refused(format!("{} is not UTF-8 text", file.display())))?;
    let comment = format!(
        "#======> {} [{}] @ {ip}",
        desired.instance,
        desired.role.as_ref().map_or("-", Role::as_str)
    );
    let text = add_group(&file, &original, &labels, &targets, Some(&comment))?;
    Ok(Step::TargetFile {
        diff: text_diff(&original, &text),
        digest: digest(&bytes),
        file,
        new_text: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_changes_touch_only_labels_the_group_has() {
        let desired = Desired {
            cluster: "pg-test".into(),
            seq: Some(1),
            instance: "pg-test-1".into(),
            role: Some(Role::Replica),
            ip: Some("10.0.0.1".into()),
        };
        let labels: BTreeMap<String, String> = [
            ("cls", "pg-test"),
            ("ins", "pg-test-1"),
            ("ip", "10.0.0.1"),
            ("role", "primary"),
            ("svc", "pg-test-primary"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let c = target_changes(&labels, &desired);
        assert_eq!(
            c,
            BTreeMap::from([
                ("role".to_string(), Some("replica".to_string())),
                ("svc".to_string(), Some("pg-test-replica".to_string())),
            ])
        );
        let only_ins: BTreeMap<String, String> = [
            ("cls".to_string(), "pg-test".to_string()),
            ("ins".to_string(), "pg-test-10".to_string()),
        ]
        .into();
        let c = target_changes(&only_ins, &desired);
        assert_eq!(
            c,
            BTreeMap::from([("ins".to_string(), Some("pg-test-1".to_string()))])
        );
        let mut same = labels.clone();
        same.insert("role".into(), "standby".into());
        same.insert("svc".into(), "pg-test-replica".into());
        assert!(
            target_changes(&same, &desired).is_empty(),
            "standby means replica"
        );
    }

    #[test]
    fn text_diff_shows_changed_and_added_lines() {
        let d = text_diff("a\nb\nc\n", "a\nB\nc\n");
        assert_eq!(d, ["-    2: b", "+    2: B"]);
        let d = text_diff("a\n", "a\nb\n");
        assert_eq!(d, ["+    2: b"]);
        let d = text_diff("a\nb\nc\n", "a\nc\n");
        assert_eq!(d, ["-    2: b"]);
    }
}
