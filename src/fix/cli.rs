//! `roster fix`: select instances, plan, show the plan, confirm, apply, re-read and verify.

use super::apply::{ApplyReport, ApplySession, apply};
use super::audit::Audit;
use super::cluster::{HazardKind, PlanOptions, plan_cluster, simulate};
use super::command::CommandTemplate;
use super::consul::{AgentAddress, DEFAULT_AGENT_TEMPLATE};
use super::plan::{Destination, FixContext, Plan};
use super::simulate::{Outcome, Simulator, compare, short};
use crate::config::{Settings, parse_duration};
use crate::drift::{Finding, Kind, Severity};
use crate::fleet::{Fleet, Instance};
use crate::gather::gather;
use crate::identity::Role;
use crate::observation::SourceKind;
use crate::report::CheckResult;
use crate::text::{json_safe, neutralize, sanitize, scrub};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Output formats of `roster fix`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum FixFormat {
    /// Human-readable plan and results.
    Table,
    /// One JSON document.
    Json,
}

/// Flags of `roster fix`.
#[derive(clap::Args, Debug, Clone)]
pub struct FixArgs {
    /// Fix this instance (repeatable)
    #[arg(long = "instance", value_name = "INS")]
    pub instances: Vec<String>,
    /// Fix every instance of this cluster (repeatable)
    #[arg(long = "cluster", value_name = "CLS")]
    pub clusters: Vec<String>,
    /// Fix every instance with a finding of this kind (repeatable), e.g. role-mismatch
    #[arg(long = "kind", value_name = "KIND")]
    pub kinds: Vec<String>,
    /// The place to rewrite
    #[arg(long, value_enum)]
    pub to: Destination,
    /// The place to believe [default: live, then consul; never the destination]
    #[arg(long, value_name = "SOURCE", value_parser = authority_parser())]
    pub authority: Option<SourceKind>,
    /// With --to targets: add a group for an instance the target files lack (to the file
    /// holding its cluster's other groups)
    #[arg(long)]
    pub add_missing: bool,
    /// Plan only the named instances, even when their role change leaves the rest of
    /// their cluster behind (a plan that then creates an error still needs --allow-new-errors)
    #[arg(long)]
    pub member_only: bool,
    /// Apply a plan whose simulation says it creates an error-level finding
    #[arg(long)]
    pub allow_new_errors: bool,
    /// Plan and apply while more than one member is a live primary (fence the old one first!)
    #[arg(long)]
    pub override_split_brain: bool,
    /// What a primary registration becomes when another member is the live primary
    #[arg(long, value_name = "ROLE", default_value = "replica", value_parser = parse_demote_to)]
    pub demote_to: Role,
    /// Print the plan and stop
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking
    #[arg(long, conflicts_with = "dry_run")]
    pub yes: bool,
    /// Output format
    #[arg(long, short = 'f', value_enum, default_value = "table")]
    pub format: FixFormat,
    /// Agent address template [config: fix.agent_address] (placeholders {scheme}, {node_address}, {port}, {node})
    #[arg(long, value_name = "TEMPLATE")]
    pub agent_address: Option<String>,
    /// Node command template [config: fix.command], e.g. "ssh {ip} sudo /pg/bin/pg-register {role}"
    #[arg(long = "command", value_name = "TEMPLATE")]
    pub node_command: Option<String>,
    /// Time limit for one node command [config: fix.command_timeout]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub command_timeout: Option<Duration>,
    /// Audit log [config: fix.audit_log; default $XDG_STATE_HOME/roster/audit.log]
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
}

/// The values of `--authority`, each with the line `roster fix --help` shows for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Authority {
    /// The roles the databases report themselves (read with --live)
    Live,
    /// The services registered in Consul
    Consul,
    /// The Prometheus target files
    Targets,
    /// The Pigsty inventory (pigsty.yml)
    Inventory,
}

impl From<Authority> for SourceKind {
    fn from(a: Authority) -> SourceKind {
        match a {
            Authority::Live => SourceKind::Live,
            Authority::Consul => SourceKind::Consul,
            Authority::Targets => SourceKind::Targets,
            Authority::Inventory => SourceKind::Inventory,
        }
    }
}

fn authority_parser() -> impl clap::builder::TypedValueParser<Value = SourceKind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::EnumValueParser::<Authority>::new().map(SourceKind::from)
}

fn parse_demote_to(s: &str) -> Result<Role, String> {
    match Role::parse(s) {
        r @ (Role::Replica | Role::Offline | Role::Delayed) => Ok(r),
        _ => Err(format!(
            "{s:?}: a demoted member is replica, offline or delayed"
        )),
    }
}

/// Builds the fix context from settings and flags.
pub fn context(settings: &Settings, args: &FixArgs) -> Result<FixContext, String> {
    context_with(
        settings,
        args.agent_address.clone(),
        args.node_command.clone(),
        args.command_timeout,
    )
}

/// Builds the fix context from settings, with flags (when given) taking precedence.
pub fn context_with(
    settings: &Settings,
    agent_address: Option<String>,
    node_command: Option<String>,
    command_timeout: Option<Duration>,
) -> Result<FixContext, String> {
    let template = agent_address
        .or_else(|| settings.fix.agent_address.clone())
        .unwrap_or_else(|| DEFAULT_AGENT_TEMPLATE.to_string());
    let agent = AgentAddress::new(&template).map_err(|e| e.to_string())?;
    let command = match node_command.or_else(|| settings.fix.command.clone()) {
        Some(t) => Some(CommandTemplate::new(&t).map_err(|e| e.to_string())?),
        None => None,
    };
    let command_timeout = match (command_timeout, &settings.fix.command_timeout) {
        (Some(t), _) => t,
        (None, Some(t)) => parse_duration(t).map_err(|e| format!("fix.command_timeout: {e}"))?,
        (None, None) => Duration::from_secs(30),
    };
    Ok(FixContext {
        consul: settings.consul.as_ref().map(|c| c.config.clone()),
        agent,
        command,
        command_timeout,
    })
}

/// The instances a selection names: by name, by cluster, or by a finding's kind.
pub fn select<'a>(
    fleet: &'a Fleet,
    findings: &[Finding],
    args: &FixArgs,
) -> Result<Vec<&'a Instance>, String> {
    let kinds: Vec<Kind> = args
        .kinds
        .iter()
        .map(|k| Kind::from_code(k).ok_or_else(|| format!("unknown finding kind {k:?}")))
        .collect::<Result<_, _>>()?;
    let with_kind: BTreeSet<(&str, &str)> = findings
        .iter()
        .filter(|f| kinds.contains(&f.kind))
        .filter_map(|f| f.instance.as_deref().map(|i| (f.cluster.as_str(), i)))
        .collect();
    let chosen: Vec<&Instance> = fleet
        .instances()
        .filter(|i| {
            args.instances.contains(&i.name)
                || args.clusters.contains(&i.cluster)
                || with_kind.contains(&(i.cluster.as_str(), i.name.as_str()))
        })
        .collect();
    for name in &args.instances {
        if !fleet.instances().any(|i| &i.name == name) {
            return Err(format!("no instance {name:?} in the fleet"));
        }
    }
    for name in &args.clusters {
        if !fleet.clusters.iter().any(|c| &c.name == name) {
            return Err(format!("no cluster {name:?} in the fleet"));
        }
    }
    Ok(chosen)
}

#[derive(Serialize)]
struct Doc<'a> {
    plans: &'a [Plan],
    errors: &'a [String],
    applied: &'a [ApplyReport],
    #[serde(skip_serializing_if = "Option::is_none")]
    resolved: Option<Vec<&'a Finding>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created: Option<Vec<&'a Finding>>,
    remaining: Vec<&'a Finding>,
}

/// What a plan was made from, so that it can be made again right before it is applied.
#[derive(Clone, Debug)]
enum Request {
    /// A cluster plan: the named members (every member when `None`).
    Cluster {
        cluster: String,
        only: Option<Vec<String>>,
    },
    /// A target group added for an instance the target files lack.
    Add { cluster: String, instance: String },
}

/// The selection grouped by cluster, in fleet order: every member of a cluster named with
/// `--cluster`, else the selected members.
fn requests(fleet: &Fleet, selected: &[&Instance], args: &FixArgs) -> Vec<Request> {
    let mut by_cluster: BTreeMap<&str, Vec<&Instance>> = BTreeMap::new();
    for inst in selected {
        by_cluster
            .entry(inst.cluster.as_str())
            .or_default()
            .push(inst);
    }
    let mut out = Vec::new();
    for c in &fleet.clusters {
        let Some(members) = by_cluster.get(c.name.as_str()) else {
            continue;
        };
        let whole = args.clusters.contains(&c.name);
        let add = |i: &&&Instance| {
            args.add_missing && args.to == Destination::Targets && !i.seen_by(SourceKind::Targets)
        };
        let rest: Vec<String> = members
            .iter()
            .filter(|i| !add(i))
            .map(|i| i.name.clone())
            .collect();
        let missing: Vec<&&Instance> = members.iter().filter(|i| add(i)).collect();
        if !rest.is_empty() {
            out.push(Request::Cluster {
                cluster: c.name.clone(),
                only: (!(whole && missing.is_empty())).then_some(rest),
            });
        }
        for inst in missing {
            out.push(Request::Add {
                cluster: c.name.clone(),
                instance: inst.name.clone(),
            });
        }
    }
    out
}

fn options(args: &FixArgs) -> PlanOptions {
    PlanOptions {
        member_only: args.member_only,
        demote_to: args.demote_to.clone(),
        override_split_brain: args.override_split_brain,
    }
}

async fn make(
    fleet: &Fleet,
    request: &Request,
    args: &FixArgs,
    ctx: &FixContext,
) -> Result<Plan, String> {
    match request {
        Request::Cluster { cluster, only } => plan_cluster(
            fleet,
            cluster,
            only.as_deref(),
            args.to,
            args.authority,
            ctx,
            &options(args),
        )
        .await
        .map_err(|e| e.to_string()),
        Request::Add { cluster, instance } => {
            let inst = fleet
                .instances()
                .find(|i| &i.cluster == cluster && &i.name == instance)
                .ok_or_else(|| format!("{instance} is not in the latest read"))?;
            let mut p = add_missing(fleet, inst, args.authority).map_err(|e| e.to_string())?;
            simulate(&Simulator::new(fleet, cluster), &mut p);
            Ok(p)
        }
    }
}

fn request_name(r: &Request) -> &str {
    match r {
        Request::Cluster {
            cluster,
            only: None,
        } => cluster,
        Request::Cluster {
            only: Some(names),
            cluster,
        } => names.first().unwrap_or(cluster),
        Request::Add { instance, .. } => instance,
    }
}

/// True when the flags allow what the hazard warns of.
fn allowed(kind: HazardKind, args: &FixArgs) -> bool {
    match kind {
        HazardKind::CreatesError | HazardKind::NotSimulated => args.allow_new_errors,
        HazardKind::SplitBrain => args.override_split_brain,
    }
}

/// Runs `roster fix`; returns the exit code (0 clean, 1 findings remain or were created,
/// 2 failure).
pub async fn run(settings: &Settings, args: &FixArgs, read_only: bool) -> u8 {
    let color = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut out = std::io::stdout().lock();
    run_with(settings, args, read_only, &mut out, color).await
}

/// [`run`] writing its report to `out` (errors still go to stderr); `color` paints what
/// a plan creates in red.
pub async fn run_with(
    settings: &Settings,
    args: &FixArgs,
    read_only: bool,
    out: &mut dyn Write,
    color: bool,
) -> u8 {
    if args.instances.is_empty() && args.clusters.is_empty() && args.kinds.is_empty() {
        eprintln!("roster fix: say what to fix: --instance, --cluster or --kind");
        return 2;
    }
    if read_only && !args.dry_run {
        eprintln!("roster fix: read-only: writes are off (use --dry-run to see the plan)");
        return 2;
    }
    let ctx = match context(settings, args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("roster fix: {e}");
            return 2;
        }
    };
    let before = read(settings).await;
    if before.fleet.sources.iter().any(|s| s.failed_entirely()) {
        for s in before.fleet.sources.iter().filter(|s| !s.is_ok()) {
            eprintln!(
                "roster fix: {}: {}",
                s.kind,
                sanitize(&s.errors.join("; "), 2000)
            );
        }
        eprintln!("roster fix: a source could not be read; not planning on partial knowledge");
        return 2;
    }
    let selected = match select(&before.fleet, &before.findings, args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("roster fix: {}", sanitize(&e, 400));
            return 2;
        }
    };
    let mut names: BTreeSet<(String, String)> = selected
        .iter()
        .map(|i| (i.cluster.clone(), i.name.clone()))
        .collect();
    let mut plans = Vec::new();
    let mut planned: Vec<Request> = Vec::new();
    let mut errors = Vec::new();
    for request in requests(&before.fleet, &selected, args) {
        match make(&before.fleet, &request, args, &ctx).await {
            Ok(p) if !p.is_empty() || !p.warnings.is_empty() || !p.hazards.is_empty() => {
                names.extend(
                    p.members
                        .iter()
                        .map(|m| (p.cluster.clone(), m.instance.clone())),
                );
                plans.push(p);
                planned.push(request);
            }
            Ok(_) => {}
            Err(e) => errors.push(format!("{}: {e}", request_name(&request))),
        }
    }
    let writes: usize = plans.iter().map(|p| p.steps.len()).sum();
    if args.format == FixFormat::Table {
        let _ = out.write_all(scrub(&render_plans(&plans, &errors, color)).as_bytes());
    }
    if args.dry_run || writes == 0 {
        if args.format == FixFormat::Json {
            let doc = Doc {
                plans: &plans,
                errors: &errors,
                applied: &[],
                resolved: None,
                created: None,
                remaining: remaining(&before, &names),
            };
            let _ = writeln!(
                out,
                "{}",
                json_safe(&serde_json::to_string_pretty(&doc).unwrap_or_default())
            );
        } else if writes == 0 {
            let _ = writeln!(out, "nothing to write");
        }
        return exit_code(&before, &names, !errors.is_empty());
    }
    let blocked: Vec<String> = plans
        .iter()
        .filter(|p| !p.is_empty())
        .flat_map(|p| {
            p.hazards
                .iter()
                .filter(|h| !allowed(h.kind, args))
                .map(move |h| format!("{}: {}", p.instance, h.message))
        })
        .collect();
    if !blocked.is_empty() {
        for b in &blocked {
            eprintln!("roster fix: refused: {b}");
        }
        eprintln!(
            "roster fix: nothing written: a plan would leave its cluster worse; plan the whole cluster \
             (without --member-only) or another authority, or pass --allow-new-errors to write it anyway"
        );
        return 2;
    }
    if !args.yes && !confirm(writes, plans.len()) {
        let _ = writeln!(out, "cancelled: nothing written");
        return 2;
    }
    let audit = audit_for(settings, args.audit_log.clone());
    let mut applied = Vec::new();
    let mut failed = false;
    let mut session = ApplySession::default();
    for (n, (p, request)) in plans.iter().zip(&planned).enumerate() {
        if p.is_empty() {
            continue;
        }
        // An earlier plan may have rewritten the same file: plan again from what is on
        // disk now, and go on only if the writes are still exactly the ones confirmed.
        let fresh = if n == 0 {
            Ok(p.clone())
        } else {
            replan(&before.fleet, request, p, args, &ctx).await
        };
        let p = match fresh {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("{}: {e}", p.instance));
                failed = true;
                break;
            }
        };
        let report = apply(&p, &ctx, &audit, &mut session).await;
        failed = !report.ok();
        applied.push(report);
        if failed {
            // The rest of the plan stops at the first write that did not take.
            break;
        }
    }
    let after = read(settings).await;
    let clusters: BTreeSet<&str> = plans.iter().map(|p| p.cluster.as_str()).collect();
    let verdict = verify(&before, &after, &clusters);
    if args.format == FixFormat::Json {
        let doc = Doc {
            plans: &plans,
            errors: &errors,
            applied: &applied,
            resolved: Some(verdict.resolves.iter().collect()),
            created: Some(verdict.creates.iter().collect()),
            remaining: remaining(&after, &names),
        };
        let _ = writeln!(
            out,
            "{}",
            json_safe(&serde_json::to_string_pretty(&doc).unwrap_or_default())
        );
    } else {
        let text = render_results(&applied, &verdict, &remaining(&after, &names), color);
        let _ = out.write_all(scrub(&text).as_bytes());
    }
    let code = exit_code(&after, &names, failed || !errors.is_empty());
    if code == 0 && !verdict.creates.is_empty() {
        1
    } else {
        code
    }
}

/// The findings of the planned clusters before and after, compared.
fn verify(before: &CheckResult, after: &CheckResult, clusters: &BTreeSet<&str>) -> Outcome {
    let of = |r: &CheckResult| -> Vec<Finding> {
        r.findings
            .iter()
            .filter(|f| clusters.contains(f.cluster.as_str()))
            .cloned()
            .collect()
    };
    compare(&of(before), &of(after))
}

/// A plan that adds the target group of an instance the target files lack, in the file
/// that holds its cluster's other groups.
fn add_missing(
    fleet: &Fleet,
    inst: &Instance,
    authority: Option<SourceKind>,
) -> Result<Plan, super::error::FixError> {
    let authority = match authority {
        Some(a) => a,
        None => super::plan::default_authority(inst, Destination::Targets)?,
    };
    let desired = super::plan::Desired::from(inst, authority).ok_or_else(|| {
        super::error::FixError::Refused(format!("{authority} says nothing about {}", inst.name))
    })?;
    let file = fleet
        .clusters
        .iter()
        .filter(|c| c.name == inst.cluster)
        .flat_map(|c| c.instances.iter())
        .flat_map(|i| i.by_source(SourceKind::Targets))
        .find_map(|o| match &o.origin {
            crate::observation::Origin::Targets(t) => Some(t.file.clone()),
            _ => None,
        });
    let step = super::plan::plan_add_target(inst, &desired, file)?;
    let mut plan = Plan::new(
        &inst.cluster,
        &inst.name,
        authority,
        Destination::Targets,
        desired.clone(),
    );
    plan.members.push(super::plan::MemberChange {
        instance: inst.name.clone(),
        role_before: None,
        desired,
        role_only: false,
    });
    plan.steps.push(step);
    Ok(plan)
}

/// The audit log: the flag, else `[fix] audit_log`, else the state directory.
pub fn audit_for(settings: &Settings, flag: Option<PathBuf>) -> Audit {
    Audit::new(
        flag.or_else(|| settings.fix.audit_log.clone())
            .or_else(|| Audit::default_path(&|k| std::env::var(k).ok()))
            .unwrap_or_else(|| PathBuf::from("roster-audit.log")),
    )
}

async fn replan(
    fleet: &Fleet,
    request: &Request,
    confirmed: &Plan,
    args: &FixArgs,
    ctx: &FixContext,
) -> Result<Plan, String> {
    let fresh = make(fleet, request, args, ctx).await?;
    let diffs = |p: &Plan| {
        p.steps
            .iter()
            .map(|s| (s.target(), s.diff()))
            .collect::<Vec<_>>()
    };
    if diffs(&fresh) == diffs(confirmed) {
        Ok(fresh)
    } else {
        Err("its place changed since the plan was shown; nothing written for it, re-plan".into())
    }
}

async fn read(settings: &Settings) -> CheckResult {
    let g = gather(settings).await;
    CheckResult::new(g.fleet, g.notes)
}

fn remaining<'a>(r: &'a CheckResult, names: &BTreeSet<(String, String)>) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| match &f.instance {
            Some(i) => names.contains(&(f.cluster.clone(), i.clone())),
            // A cluster's own findings (two primaries, none) concern every member.
            None => names.iter().any(|(c, _)| c == &f.cluster),
        })
        .collect()
}

fn exit_code(r: &CheckResult, names: &BTreeSet<(String, String)>, failed: bool) -> u8 {
    if failed || r.fleet.sources.iter().any(|s| !s.is_ok()) {
        2
    } else if remaining(r, names)
        .iter()
        .any(|f| f.severity >= Severity::Warning)
    {
        1
    } else {
        0
    }
}

/// Asks on the terminal; anything but `y`/`yes` (and no terminal at all) is a no.
fn confirm(writes: usize, plans: usize) -> bool {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!("roster fix: no terminal to confirm on: pass --yes to apply, or --dry-run");
        return false;
    }
    eprint!("apply {writes} write(s) for {plans} instance(s)? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if stdin.lock().read_line(&mut line).is_err() {
        return false;
    }
    matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

const RED: &str = "\x1b[31m";
const RESET: &str = "\x1b[0m";

fn paint(text: &str, red: bool) -> String {
    if red {
        format!("{RED}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn list(findings: &[Finding]) -> String {
    let words: Vec<String> = findings
        .iter()
        .map(|f| format!("{} ({})", short(f), f.severity))
        .collect();
    if words.is_empty() {
        "nothing".into()
    } else {
        words.join(", ")
    }
}

/// The plans as text: per plan the authority, the cluster event, every write with its
/// diff, notes and warnings, and what the simulation says it resolves and creates.
pub fn render_plans(plans: &[Plan], errors: &[String], color: bool) -> String {
    let mut s = String::new();
    for p in plans {
        let role = p.desired.role.as_ref().map_or("-", |r| r.as_str());
        if p.instance == p.cluster {
            let _ = writeln!(
                s,
                "{} (cluster): make {} agree with {}",
                sanitize(&p.cluster, 120),
                p.destination.name(),
                p.authority
            );
        } else {
            let _ = writeln!(
                s,
                "{} ({}): make {} agree with {} (role {role}, ip {})",
                sanitize(&p.instance, 120),
                sanitize(&p.cluster, 120),
                p.destination.name(),
                p.authority,
                sanitize(p.desired.ip.as_deref().unwrap_or("-"), 120)
            );
        }
        for n in &p.notes {
            let _ = writeln!(s, "  note: {n}");
        }
        for (n, step) in p.steps.iter().enumerate() {
            let _ = writeln!(s, "  {}. {}", n + 1, step.target());
            for line in step.diff() {
                let _ = writeln!(s, "       {line}");
            }
        }
        for w in &p.warnings {
            let _ = writeln!(s, "  warning: {}", neutralize(w));
        }
        if let Some(o) = &p.outcome
            && !p.is_empty()
        {
            let _ = writeln!(s, "  resolves: {}", list(&o.resolves));
            let bad = o.created_errors().next().is_some();
            let _ = writeln!(
                s,
                "{}",
                paint(&format!("  creates: {}", list(&o.creates)), color && bad)
            );
        }
        for h in &p.hazards {
            let flag = match h.kind {
                HazardKind::SplitBrain => "--override-split-brain",
                _ => "--allow-new-errors",
            };
            let _ = writeln!(
                s,
                "{}",
                paint(
                    &format!("  DANGER: {} (applying it needs {flag})", h.message),
                    color
                )
            );
        }
    }
    for e in errors {
        let _ = writeln!(s, "cannot plan {}", sanitize(e, 1000));
    }
    s
}

fn render_results(
    applied: &[ApplyReport],
    verdict: &Outcome,
    remaining: &[&Finding],
    color: bool,
) -> String {
    let mut s = String::new();
    for r in applied {
        for step in &r.results {
            let _ = writeln!(
                s,
                "{} {}: {}",
                if step.ok { "ok  " } else { "FAIL" },
                sanitize(&step.target, 400),
                sanitize(&step.message, 1000)
            );
        }
        if r.skipped > 0 {
            let _ = writeln!(
                s,
                "stopped: {} write(s) of {} not run",
                r.skipped,
                sanitize(&r.instance, 120)
            );
        }
    }
    for f in &verdict.resolves {
        let _ = writeln!(
            s,
            "resolved: {} {} ({})",
            f.kind,
            sanitize(f.instance.as_deref().unwrap_or(&f.cluster), 120),
            f.severity
        );
    }
    for f in &verdict.creates {
        let line = format!(
            "created: {} {} ({}): {}",
            f.kind,
            f.instance.as_deref().unwrap_or(&f.cluster),
            f.severity,
            f.message
        );
        let _ = writeln!(s, "{}", paint(&line, color));
    }
    for f in remaining {
        if verdict.creates.contains(f) {
            continue;
        }
        let _ = writeln!(
            s,
            "remaining: {} {} ({}): {}",
            f.kind,
            sanitize(f.instance.as_deref().unwrap_or(&f.cluster), 120),
            f.severity,
            sanitize(&f.message, 400)
        );
    }
    s
}
