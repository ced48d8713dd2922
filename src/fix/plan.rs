//! Fix plans: the exact writes that make one place agree with an authority, as data,
//! shown before anything runs.

use super::cluster::Hazard;
use super::command::{CommandTemplate, CommandValues};
use super::consul::{
    AgentAddress, IdentityChange, agent_service, diff_lines, is_routing_service, reregister_body,
};
use super::error::FixError;
use super::plan_targets::plan_targets;
pub use super::plan_targets::{plan_add_target, target_changes, text_diff};
use super::simulate::Outcome;
use super::targets::TargetEditError;
use super::targets::resolve;
use crate::consul::{ConsulClient, ConsulConfig, Endpoint};
use crate::fleet::Instance;
use crate::identity::{Role, instance_name, service_name};
use crate::observation::{ConsulOrigin, Observation, Origin, SourceKind};
use crate::source::file_text::{MAX_FILE_BYTES, read_open};
use crate::text::{neutralize, sanitize};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
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
    /// Where the step writes, for a human (terminal-safe: names come from Consul).
    pub fn target(&self) -> String {
        let target = match self {
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
        };
        sanitize(&target, 400)
    }

    /// The before/after lines shown in the preview (terminal-safe, indentation kept).
    pub fn diff(&self) -> Vec<String> {
        let lines = match self {
            Step::ConsulRegister { before, after, .. }
            | Step::CatalogRegister { before, after, .. } => diff_lines(before, after),
            Step::TargetFile { diff, .. } => diff.clone(),
            Step::Command { argv } => vec![format!("$ {}", argv.join(" "))],
        };
        lines.iter().map(|l| neutralize(l)).collect()
    }
}

/// Everything that will be written for one instance (and the members its role change
/// draws in), and why.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// Cluster.
    pub cluster: String,
    /// The member asked about, or the cluster's name for a plan of the whole cluster.
    pub instance: String,
    /// The place believed.
    pub authority: SourceKind,
    /// The place written.
    pub destination: Destination,
    /// The identity the writes establish for the first member planned.
    pub desired: Desired,
    /// Every member the plan writes for, with what it establishes there.
    pub members: Vec<MemberChange>,
    /// The writes, in order.
    pub steps: Vec<Step>,
    /// Things the plan cannot fix or that may undo it, for the user to read first.
    pub warnings: Vec<String>,
    /// Things worth knowing that are no risk (the cluster event, routing services).
    pub notes: Vec<String>,
    /// What the writes do to the cluster's findings, simulated before the plan is shown.
    pub outcome: Option<Outcome>,
    /// Risks that need a second, explicit confirmation (or a flag) before anything runs.
    pub hazards: Vec<Hazard>,
    /// The applied fix this plan puts back, when it is an undo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undoes: Option<String>,
}

impl Plan {
    /// An empty plan establishing `desired` for `instance`.
    pub fn new(
        cluster: &str,
        instance: &str,
        authority: SourceKind,
        destination: Destination,
        desired: Desired,
    ) -> Plan {
        Plan {
            cluster: cluster.to_string(),
            instance: instance.to_string(),
            authority,
            destination,
            desired,
            members: Vec::new(),
            steps: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            outcome: None,
            hazards: Vec::new(),
            undoes: None,
        }
    }

    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The members whose role the plan changes in the destination.
    pub fn role_moves(&self) -> impl Iterator<Item = &MemberChange> {
        self.members.iter().filter(|m| m.moves())
    }
}

/// One member a plan writes for, as planned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MemberChange {
    /// The member.
    pub instance: String,
    /// The role the destination gives it now.
    pub role_before: Option<Role>,
    /// The identity the plan establishes for it.
    pub desired: Desired,
    /// Only its role changes: another member's role change drew it into the plan.
    pub role_only: bool,
}

impl MemberChange {
    /// True when the plan changes the member's role.
    pub fn moves(&self) -> bool {
        matches!((&self.role_before, &self.desired.role), (Some(a), Some(b)) if a != b)
    }
}

/// One member to plan for: the instance, the identity to establish, how much of it.
#[derive(Clone, Debug)]
pub struct Member<'a> {
    /// The instance as read.
    pub inst: &'a Instance,
    /// What the authority (or the cluster's live primary) says it should be.
    pub desired: Desired,
    /// Write only its role (a member drawn in by another's role change).
    pub role_only: bool,
}

impl Member<'_> {
    /// The member as the plan records it.
    pub fn change(&self, destination: Destination) -> MemberChange {
        MemberChange {
            instance: self.inst.name.clone(),
            role_before: self
                .inst
                .role_view(destination.source())
                .effective()
                .cloned(),
            desired: self.desired.clone(),
            role_only: self.role_only,
        }
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

/// Plans the writes that make `destination` agree with `authority` for one instance,
/// and for it alone (see [`super::cluster::plan_cluster`] for the plan a role change needs).
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
    check_pair(authority, destination)?;
    let desired = Desired::from(inst, authority).ok_or_else(|| {
        FixError::Refused(format!("{authority} says nothing about {}", inst.name))
    })?;
    let mut plan = Plan::new(
        &inst.cluster,
        &inst.name,
        authority,
        destination,
        desired.clone(),
    );
    let members = [Member {
        inst,
        desired,
        role_only: false,
    }];
    write_steps(&members, ctx, &mut plan).await?;
    Ok(plan)
}

/// Refuses an authority that is the place being written.
pub fn check_pair(authority: SourceKind, destination: Destination) -> Result<(), FixError> {
    if authority == destination.source() && destination != Destination::Command {
        return Err(FixError::Refused(format!(
            "the authority and the destination are both {authority}: nothing to compare"
        )));
    }
    Ok(())
}

/// Adds the writes for `members` to `plan` (and records the members).
pub async fn write_steps(
    members: &[Member<'_>],
    ctx: &FixContext,
    plan: &mut Plan,
) -> Result<(), FixError> {
    plan.members
        .extend(members.iter().map(|m| m.change(plan.destination)));
    match plan.destination {
        Destination::Consul => plan_consul(members, ctx, plan).await,
        Destination::Targets => plan_targets(members, plan),
        Destination::Command => plan_command(members, ctx, plan),
    }
}

/// How a node's agent can be reached, by its `serfHealth` check.
enum AgentState {
    /// The node has an agent that answers.
    Up,
    /// The node has an agent, but it is down.
    Down,
    /// The node was registered through the catalog (consul-esm and the like).
    None,
}

fn agent_state(c: &ConsulOrigin) -> AgentState {
    match c.checks().find(|ch| ch.node_check && ch.id == "serfHealth") {
        None => AgentState::None,
        Some(ch) if ch.status == "critical" => AgentState::Down,
        Some(_) => AgentState::Up,
    }
}

fn push_once(list: &mut Vec<String>, line: String) {
    if !list.contains(&line) {
        list.push(line);
    }
}

async fn plan_consul(
    members: &[Member<'_>],
    ctx: &FixContext,
    plan: &mut Plan,
) -> Result<(), FixError> {
    let config = ctx.consul.as_ref().ok_or_else(|| {
        FixError::Refused("Consul is not configured: nothing to re-register".into())
    })?;
    let mut agents: BTreeMap<String, ConsulClient> = BTreeMap::new();
    let mut through_agent = false;
    for m in members {
        let inst = m.inst;
        let observations: Vec<&Observation> = inst.by_source(SourceKind::Consul).collect();
        if observations.is_empty() {
            plan.warnings.push(format!(
                "{} has no registration in Consul: register it on the node (the command destination)",
                inst.name
            ));
            continue;
        }
        for o in observations {
            let Origin::Consul(c) = &o.origin else {
                continue;
            };
            let mut change = consul_change(o, &m.desired);
            if m.role_only {
                change = change
                    .and_then(|ch| ch.role)
                    .map(|(from, to)| IdentityChange::role(from, to));
            } else if let (Some(ip), Some(want)) = (o.ip.as_deref(), m.desired.ip.as_deref())
                && ip != want
            {
                push_once(
                    &mut plan.warnings,
                    format!(
                        "Consul has {} at {}, {} says {}: an address comes from the node's own agent; re-register from the node",
                        sanitize(&inst.name, 80),
                        sanitize(ip, 80),
                        plan.authority,
                        sanitize(want, 80)
                    ),
                );
            }
            let Some(change) = change else { continue };
            if change.role.is_some() && is_routing_service(&o.cluster, &c.service_name) {
                push_once(
                    &mut plan.notes,
                    format!(
                        "{}-primary and {}-replica are routing services: their tags name the role they route to and stay; only the member's role fields change",
                        o.cluster, o.cluster
                    ),
                );
            }
            let agent = agent_state(c);
            // Without a running agent the catalog is the only place to write: an agentless
            // node (consul-esm) keeps it, a node that is down has no agent to ask.
            if !matches!(agent, AgentState::Up) {
                if matches!(agent, AgentState::Down) {
                    push_once(
                        &mut plan.warnings,
                        format!(
                            "node {} is down (serfHealth critical): its agent cannot be asked, so the catalog is written; when the node returns its agent restores its own definitions (re-register it there)",
                            sanitize(&c.node, 80)
                        ),
                    );
                }
                let consul = ConsulClient::new(config.clone()).map_err(FixError::from)?;
                let before = super::consul::catalog_service(
                    &consul,
                    &c.service_name,
                    &c.node,
                    &c.service_id,
                )
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
                    warn_plain_http(plan, config, &config.endpoint);
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
                through_agent = true;
                plan.steps.push(Step::ConsulRegister {
                    node: c.node.to_string(),
                    service_id: c.service_id.to_string(),
                    agent: agent_url.to_string().trim_end_matches('/').to_string(),
                    before,
                    after,
                });
                warn_plain_http(plan, config, client.endpoint());
            }
        }
    }
    if through_agent {
        plan.warnings
            .push(super::consul::RELOAD_WARNING.to_string());
    }
    Ok(())
}

/// Warns once per endpoint when a write would carry the ACL token over plain http to
/// another machine (`roster check` says the same of the address it reads).
fn warn_plain_http(plan: &mut Plan, config: &ConsulConfig, endpoint: &Endpoint) {
    let has_token = config.token.as_ref().is_some_and(|t| !t.is_empty());
    if !has_token || endpoint.is_tls() || endpoint.is_local() {
        return;
    }
    let note = format!(
        "the Consul ACL token is sent over plain http to {endpoint}; use https (CONSUL_HTTP_SSL=true, or an https agent address)"
    );
    if !plan.warnings.contains(&note) {
        plan.warnings.push(note);
    }
}

/// A warning when the rewritten file cannot keep its owner: roster is not root and the
/// file belongs to someone else, so the new file (and its `.bak`) will be roster's.
pub fn owner_warning(file: &Path, meta: &std::fs::Metadata) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let euid = super::audit::process_uids().1;
    (euid != 0 && meta.uid() != euid).then(|| {
        format!(
            "{} belongs to uid {} gid {}; roster runs as uid {euid} and cannot keep that owner: the rewritten file and its .bak will belong to uid {euid}",
            file.display(),
            meta.uid(),
            meta.gid()
        )
    })
}

/// The file a target step writes (a symlink resolved to the file it names), its bytes and
/// text, and any warning about its owner.
pub fn read_target_file(
    file: &Path,
) -> Result<(PathBuf, Vec<u8>, String, Option<String>), FixError> {
    let refused = |e: String| FixError::Refused(format!("cannot read {}: {e}", file.display()));
    let real = resolve(file)?;
    let handle =
        crate::source::file_text::open_regular(&real).map_err(|e| refused(e.to_string()))?;
    let meta = handle.metadata().map_err(|e| refused(e.to_string()))?;
    let bytes = read_open(handle, MAX_FILE_BYTES).map_err(|e| refused(e.to_string()))?;
    let text = String::from_utf8(bytes.clone())
        .map_err(|_| FixError::Refused(format!("{} is not UTF-8 text", real.display())))?;
    let warning = owner_warning(&real, &meta);
    Ok((real, bytes, text, warning))
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

fn plan_command(members: &[Member<'_>], ctx: &FixContext, plan: &mut Plan) -> Result<(), FixError> {
    let template = ctx.command.as_ref().ok_or_else(|| {
        FixError::Refused(
            "no node command is configured ([fix] command in the config file, e.g. \"ssh {ip} sudo /pg/bin/pg-register {role}\")"
                .into(),
        )
    })?;
    for m in members {
        let (inst, d) = (m.inst, &m.desired);
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
            ip: d
                .ip
                .clone()
                .or_else(|| inst.registered_ip().map(str::to_string)),
            node: Some(node),
            role: Some(role.as_str().to_string()),
            cluster: Some(d.cluster.clone()),
            seq: d.seq,
            instance: Some(d.instance.clone()),
        };
        let argv = template.expand(&values)?;
        plan.steps.push(Step::Command { argv });
    }
    Ok(())
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
