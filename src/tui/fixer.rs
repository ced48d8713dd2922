//! The UI's side of re-registration: plans, applies and undoes in background tasks,
//! answering the dialog with actions; the plans, and the writes of the fixes applied this
//! session, stay here, the dialog sees only text.

use super::action::Action;
use crate::config::Settings;
use crate::fix::apply::{ApplySession, apply};
use crate::fix::audit::Audit;
use crate::fix::cli::{audit_for, context_with};
use crate::fix::cluster::{PlanOptions, plan_cluster, sources_for, stale_reason};
use crate::fix::plan::{Destination, FixContext, Plan};
use crate::fix::simulate::short;
use crate::fix::undo::{AppliedFix, plan_undo};
use crate::fleet::Fleet;
use crate::gather::gather;
use crate::identity::Role;
use crate::observation::SourceKind;
use crate::tui::fix_words::{cannot_plan, rephrase};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use tokio::sync::mpsc;

/// The plans previewed, by id, each with the datacenter its cluster is in (when several
/// are read).
type Plans = Arc<Mutex<HashMap<u64, (Plan, Option<String>)>>>;

/// The writes of each fix applied this session, by plan id.
type Applied = Arc<Mutex<HashMap<u64, Record>>>;

/// A fix applied this session, as its undo needs it.
#[derive(Clone)]
struct Record {
    fix: AppliedFix,
    /// The datacenter its cluster is in, when several are read.
    datacenter: Option<String>,
    /// The Consul datacenter the writes went to (`None`: the agent's own), so that an
    /// undo after `:dc` never plans against another datacenter's places.
    written_in: Option<String>,
}

/// The Consul datacenter a context writes to (`None`: the agent's own).
fn consul_datacenter(ctx: &Result<FixContext, String>) -> Option<String> {
    ctx.as_ref()
        .ok()
        .and_then(|c| c.consul.as_ref())
        .and_then(|c| c.datacenter.clone())
}

/// Plans and applies fixes for the dialog.
pub struct Fixer {
    settings: Settings,
    ctx: Result<FixContext, String>,
    audit: Audit,
    read_only: bool,
    /// Each plan with the datacenter its cluster is in, when several are read.
    plans: Plans,
    /// The writes of every plan applied this session, by plan id, for an undo, with
    /// the datacenter they were made in.
    applied: Applied,
    actions: mpsc::Sender<Action>,
}

impl Fixer {
    /// A fixer for these settings; answers go to `actions`.
    pub fn new(settings: &Settings, read_only: bool, actions: mpsc::Sender<Action>) -> Fixer {
        Fixer {
            settings: settings.clone(),
            ctx: context_with(settings, None, None, None),
            audit: audit_for(settings, None),
            read_only,
            plans: Arc::new(Mutex::new(HashMap::new())),
            applied: Arc::new(Mutex::new(HashMap::new())),
            actions,
        }
    }

    /// Reads Consul in this datacenter from now on, as the UI does (`:dc NAME`).
    pub fn set_datacenter(&mut self, dc: &str) {
        if let Some(c) = self.settings.consul.as_mut() {
            c.config.datacenter = Some(dc.to_string());
        }
        if let Ok(ctx) = self.ctx.as_mut()
            && let Some(c) = ctx.consul.as_mut()
        {
            c.datacenter = Some(dc.to_string());
        }
    }

    /// Plans a fix of one instance, or of a whole cluster when `instance` is `None`, in
    /// the background; answers with `FixPreview`. With several datacenters read,
    /// `datacenter` names the one the cluster is in, and only that datacenter's part of
    /// the read is planned on (its Consul is the one written).
    ///
    /// A plan never rests on stale data: when the sources it needs are stale or could not
    /// be read, everything is read again first, and the plan is refused if they still are.
    pub fn plan(
        &self,
        plan_id: u64,
        fleet: &Fleet,
        cluster: &str,
        instance: Option<&str>,
        target: Destination,
        datacenter: Option<&str>,
    ) {
        let tx = self.actions.clone();
        let dc = datacenter
            .filter(|_| !fleet.datacenters.is_empty())
            .map(str::to_string);
        let narrow = {
            let dc = dc.clone();
            move |fleet: Fleet| match &dc {
                Some(d) => crate::estate::part(&fleet, d),
                None => fleet,
            }
        };
        let fleet = &narrow(fleet.clone());
        // One name in two datacenters: which one the row meant is not known here.
        let ambiguous = fleet.clusters.iter().filter(|c| c.name == cluster).count() > 1;
        let stale = stale_reason(fleet, &sources_for(target, None));
        // The read on screen, unless it must be read again anyway (observations are
        // shared, so the copy is of pointers).
        let fleet = stale.is_none().then(|| fleet.clone());
        let settings = self.settings.clone();
        let ctx = with_datacenter(self.ctx.clone(), dc.as_deref());
        let plans = self.plans.clone();
        let cluster = cluster.to_string();
        let instance = instance.map(str::to_string);
        tokio::spawn(async move {
            let fleet = match fleet {
                Some(f) => f,
                None => narrow(gather(&settings).await.fleet),
            };
            let outcome = match ctx {
                _ if ambiguous => Err(format!(
                    "{cluster} is in more than one datacenter: show one with :dc NAME first"
                )),
                Err(e) => Err(e),
                Ok(ctx) => {
                    let why = cannot_plan(&fleet, &cluster, instance.as_deref(), target, &ctx);
                    match (why, stale_reason(&fleet, &sources_for(target, None))) {
                        (Some(why), _) => Err(why),
                        (None, Some(why)) => Err(format!(
                            "not planning on stale data, even after reading again: {why}"
                        )),
                        (None, None) => {
                            planned(&fleet, &cluster, instance.as_deref(), target, &ctx).await
                        }
                    }
                }
            };
            let _ = tx.send(answer(plan_id, outcome, dc, &plans)).await;
        });
    }

    /// Plans the undo of the fix applied under `applied` in the background, on the places
    /// as they are now; answers with `FixPreview` like [`Fixer::plan`].
    pub fn plan_undo(&self, plan_id: u64, fleet: &Fleet, applied: u64) {
        let tx = self.actions.clone();
        let record = self
            .applied
            .lock()
            .ok()
            .and_then(|m| m.get(&applied).cloned());
        // With one datacenter read, `:dc` changes where the context writes and what the
        // screen shows: an undo is planned only where its fix wrote.
        let elsewhere = record.as_ref().and_then(|r| {
            (r.datacenter.is_none() && r.written_in != consul_datacenter(&self.ctx)).then(|| {
                format!(
                    "that fix wrote in {}: show it again with :dc to undo it",
                    r.written_in
                        .as_deref()
                        .map_or("the agent's own datacenter".to_string(), |d| {
                            format!("datacenter {d}")
                        })
                )
            })
        });
        let (fix, dc) = match (record, &elsewhere) {
            (Some(r), None) => (Some(r.fix), r.datacenter),
            _ => (None, None),
        };
        let narrow = {
            let dc = dc.clone();
            move |fleet: Fleet| match &dc {
                Some(d) => crate::estate::part(&fleet, d),
                None => fleet,
            }
        };
        let fleet = &narrow(fleet.clone());
        let stale = fix
            .as_ref()
            .and_then(|f| stale_reason(fleet, &sources_for(f.plan.destination, None)));
        let fleet = stale.is_none().then(|| fleet.clone());
        let settings = self.settings.clone();
        let ctx = with_datacenter(self.ctx.clone(), dc.as_deref());
        let plans = self.plans.clone();
        tokio::spawn(async move {
            let outcome = match (fix, ctx) {
                (None, _) => Err(elsewhere.unwrap_or_else(|| {
                    "the record of that fix is gone; nothing to undo".to_string()
                })),
                (_, Err(e)) => Err(e),
                (Some(fix), Ok(ctx)) => {
                    // The simulation of what the undo resolves and creates wants fresh data.
                    let fleet = match fleet {
                        Some(f) => f,
                        None => narrow(gather(&settings).await.fleet),
                    };
                    plan_undo(&fix, &fleet, &ctx)
                        .await
                        .map_err(|e| e.to_string())
                }
            };
            let _ = tx.send(answer(plan_id, outcome, dc, &plans)).await;
        });
    }

    /// Applies a previewed plan in the background; answers with `FixApplied`, then a
    /// refresh. A plan with risks runs only when the user confirmed them (`accept_risks`).
    pub fn apply(&self, plan_id: u64, accept_risks: bool) {
        let tx = self.actions.clone();
        // The dialog already refuses in read-only mode; this is the second lock on the door.
        let plan = if self.read_only {
            Err("read-only: writes are off".to_string())
        } else {
            self.plans
                .lock()
                .ok()
                .and_then(|m| m.get(&plan_id).cloned())
                .ok_or_else(|| "the plan is gone; plan again".to_string())
                .and_then(|(p, dc)| {
                    if p.hazards.is_empty() || accept_risks {
                        Ok((p, dc))
                    } else {
                        Err("the plan's risks were not confirmed; nothing written".to_string())
                    }
                })
        };
        let ctx = self.ctx.clone();
        let audit = self.audit.clone();
        let applied = self.applied.clone();
        tokio::spawn(async move {
            let (plan, ctx, dc) = match plan {
                Ok((p, dc)) => (Ok(p), with_datacenter(ctx, dc.as_deref()), dc),
                Err(e) => (Err(e), ctx, None),
            };
            let written_in = consul_datacenter(&ctx);
            let action = match (plan, ctx) {
                (Err(e), _) | (_, Err(e)) => Action::FixApplied {
                    plan_id,
                    wrote: false,
                    ok: false,
                    lines: vec![e],
                },
                (Ok(plan), Ok(ctx)) => {
                    let mut session = ApplySession::default();
                    let report = apply(&plan, &ctx, &audit, &mut session).await;
                    let done = AppliedFix::from_report(&plan, &report, SystemTime::now());
                    let wrote = done.wrote();
                    if wrote && let Ok(mut m) = applied.lock() {
                        let record = Record {
                            fix: done,
                            datacenter: dc,
                            written_in,
                        };
                        m.insert(plan_id, record);
                    }
                    let mut lines: Vec<String> = report
                        .results
                        .iter()
                        .map(|r| {
                            format!(
                                "{} {}: {}",
                                if r.ok { "ok  " } else { "FAIL" },
                                r.target,
                                r.message
                            )
                        })
                        .collect();
                    if report.skipped > 0 {
                        lines.push(format!("{} write(s) not run", report.skipped));
                    }
                    Action::FixApplied {
                        plan_id,
                        wrote,
                        ok: report.ok(),
                        lines,
                    }
                }
            };
            let _ = tx.send(action).await;
            // Read everything again so the dialog can tell whether the finding is gone.
            let _ = tx.send(Action::Refresh).await;
        });
    }
}

/// The dialog's answer to a plan request; a plan is kept under its id for Apply.
fn answer(
    plan_id: u64,
    outcome: Result<Plan, String>,
    dc: Option<String>,
    plans: &Mutex<HashMap<u64, (Plan, Option<String>)>>,
) -> Action {
    match outcome {
        Ok(p) => {
            let lines = preview(&p).iter().map(|l| rephrase(l)).collect();
            let writes = p.steps.len();
            let risks = p.hazards.iter().map(|h| h.message.clone()).collect();
            let (resolves, creates) = p
                .outcome
                .as_ref()
                .map(|o| (o.resolves.clone(), o.creates.clone()))
                .unwrap_or_default();
            if let Ok(mut m) = plans.lock() {
                m.insert(plan_id, (p, dc));
            }
            Action::FixPreview {
                plan_id,
                lines,
                writes,
                error: None,
                risks,
                resolves,
                creates,
            }
        }
        Err(e) => Action::FixPreview {
            plan_id,
            lines: Vec::new(),
            writes: 0,
            error: Some(rephrase(&e)),
            risks: Vec::new(),
            resolves: Vec::new(),
            creates: Vec::new(),
        },
    }
}

/// The context writing to Consul in `dc` (the catalog of the datacenter the cluster is
/// in; agents answer for their own node wherever it is).
fn with_datacenter(
    ctx: Result<FixContext, String>,
    dc: Option<&str>,
) -> Result<FixContext, String> {
    let mut ctx = ctx?;
    if let (Some(dc), Some(c)) = (dc, ctx.consul.as_mut()) {
        c.datacenter = Some(dc.to_string());
    }
    Ok(ctx)
}

/// Plans with the default authority; for Consul, which is itself the default, the
/// target files and then the inventory are believed instead (the preview says which).
///
/// A split-brain does not stop the plan here: it becomes a risk the dialog asks about a
/// second time.
async fn planned(
    fleet: &Fleet,
    cluster: &str,
    instance: Option<&str>,
    dest: Destination,
    ctx: &FixContext,
) -> Result<Plan, String> {
    let only = instance.map(|i| vec![i.to_string()]);
    let opts = PlanOptions {
        override_split_brain: true,
        demote_to: Role::Replica,
        ..PlanOptions::default()
    };
    let attempt = |authority: Option<SourceKind>| {
        plan_cluster(fleet, cluster, only.as_deref(), dest, authority, ctx, &opts)
    };
    let first = attempt(None).await;
    if first.is_ok() || dest != Destination::Consul {
        return first.map_err(|e| e.to_string());
    }
    let mut last = first.map_err(|e| e.to_string());
    let seen = |kind: SourceKind| {
        fleet
            .clusters
            .iter()
            .filter(|c| c.name == cluster)
            .flat_map(|c| c.instances.iter())
            .filter(|i| instance.is_none_or(|n| n == i.name))
            .any(|i| i.seen_by(kind))
    };
    for authority in [SourceKind::Targets, SourceKind::Inventory] {
        if seen(authority) {
            match attempt(Some(authority)).await {
                Ok(p) => return Ok(p),
                Err(e) => last = Err(e.to_string()),
            }
        }
    }
    last
}

fn findings_list(list: &[crate::drift::Finding]) -> String {
    if list.is_empty() {
        return "nothing".into();
    }
    list.iter()
        .map(|f| format!("{} ({})", short(f), f.severity))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The plan as the dialog's lines: what it believes, the cluster event, each write and
/// its diff, notes, warnings, and what it resolves and creates.
pub fn preview(p: &Plan) -> Vec<String> {
    let mut lines = vec![if let Some(fix) = &p.undoes {
        format!(
            "undo {fix}: put back in {} what was there before",
            p.destination.name()
        )
    } else if p.instance == p.cluster {
        format!(
            "make {} agree with {} for every member of {}",
            p.destination.name(),
            p.authority,
            p.cluster
        )
    } else {
        format!(
            "make {} agree with {}: role {}, ip {}",
            p.destination.name(),
            p.authority,
            p.desired.role.as_ref().map_or("-", |r| r.as_str()),
            crate::text::sanitize(p.desired.ip.as_deref().unwrap_or("-"), 120)
        )
    }];
    lines.extend(p.notes.iter().map(|n| format!("note: {n}")));
    for (n, step) in p.steps.iter().enumerate() {
        lines.push(format!("{}. {}", n + 1, step.target()));
        lines.extend(step.diff());
    }
    if p.steps.is_empty() && p.warnings.is_empty() {
        lines.push("nothing to write: the destination already agrees".into());
    } else if p.steps.is_empty() {
        lines.push("nothing to write: the warnings say why".into());
    }
    lines.extend(p.warnings.iter().map(|w| format!("warning: {w}")));
    if let Some(o) = &p.outcome
        && !p.steps.is_empty()
    {
        lines.push(format!("resolves: {}", findings_list(&o.resolves)));
        lines.push(format!("creates: {}", findings_list(&o.creates)));
    }
    lines.extend(p.hazards.iter().map(|h| format!("DANGER: {}", h.message)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Datacenter;
    use crate::observation::{Observation, SourceOutput};

    /// The dialog's answer for one plan request against the demo.
    async fn answer_for(
        settings: &Settings,
        instance: &str,
        target: Destination,
    ) -> (Option<String>, Vec<String>) {
        let fleet = gather(settings).await.fleet;
        let (tx, mut rx) = mpsc::channel(4);
        let fixer = Fixer::new(settings, true, tx);
        let cluster = instance.rsplit_once('-').map_or("", |(c, _)| c);
        fixer.plan(1, &fleet, cluster, Some(instance), target, None);
        match rx.recv().await {
            Some(Action::FixPreview { error, lines, .. }) => (error, lines),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_dialog_says_why_a_target_cannot_be_planned_without_flags() {
        let demo = crate::demo::Demo::start().await.unwrap();
        let mut args = demo.source_args();
        args.config = None;
        let settings = crate::config::resolve(&args, &|_| None).unwrap();
        let mut said = Vec::new();
        // pg-new-1 is in the inventory only.
        let (e, lines) = answer_for(&settings, "pg-new-1", Destination::Targets).await;
        let e = e.unwrap_or_default();
        assert!(
            e.starts_with("pg-new-1 is not in the target files"),
            "{e} {lines:?}"
        );
        said.push(e);
        let (e, _) = answer_for(&settings, "pg-new-1", Destination::Consul).await;
        let e = e.unwrap_or_default();
        assert!(
            e.starts_with("pg-new-1 has no registration in Consul to rewrite"),
            "{e}"
        );
        said.push(e);
        let (e, _) = answer_for(&settings, "pg-test-1", Destination::Command).await;
        let e = e.unwrap_or_default();
        assert!(e.starts_with("no node command configured"), "{e}");
        said.push(e);
        // A plan that works says nothing of flags either.
        let (e, lines) = answer_for(&settings, "pg-test-1", Destination::Targets).await;
        assert!(e.is_none() && !lines.is_empty(), "{e:?}");
        said.extend(lines);
        // Without target files configured.
        let mut args = demo.source_args();
        args.config = None;
        args.targets = Vec::new();
        let no_targets = crate::config::resolve(&args, &|_| None).unwrap();
        let (e, _) = answer_for(&no_targets, "pg-test-1", Destination::Targets).await;
        let e = e.unwrap_or_default();
        assert_eq!(e, "targets not configured (no target files were read)");
        said.push(e);
        for line in &said {
            assert!(!crate::tui::fix_words::has_flag(line), "{line}");
        }
        demo.stop().await;
    }

    /// The next answer of the fixer, skipping the refresh an apply asks for.
    async fn next(rx: &mut mpsc::Receiver<Action>) -> Action {
        loop {
            match rx.recv().await {
                Some(Action::Refresh) => continue,
                Some(a) => return a,
                None => panic!("the fixer hung up"),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_undo_is_planned_only_in_the_datacenter_its_fix_wrote() {
        let demo = crate::demo::Demo::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut args = demo.source_args();
        args.config = None;
        let mut settings = crate::config::resolve(&args, &|_| None).unwrap();
        settings.fix.audit_log = Some(dir.path().join("audit.log"));
        let fleet = gather(&settings).await.fleet;
        let (tx, mut rx) = mpsc::channel(8);
        let mut fixer = Fixer::new(&settings, false, tx);
        fixer.plan(
            1,
            &fleet,
            "pg-test",
            Some("pg-test-1"),
            Destination::Targets,
            None,
        );
        let Action::FixPreview { error: None, .. } = next(&mut rx).await else {
            panic!("no plan");
        };
        fixer.apply(1, true);
        let Action::FixApplied { wrote: true, .. } = next(&mut rx).await else {
            panic!("nothing written");
        };
        // `:dc dc2` with one datacenter read: the screen and the context are dc2's now.
        fixer.set_datacenter("dc2");
        fixer.plan_undo(2, &fleet, 1);
        let Action::FixPreview { error, .. } = next(&mut rx).await else {
            panic!("no answer");
        };
        assert_eq!(
            error.as_deref(),
            Some("that fix wrote in the agent's own datacenter: show it again with :dc to undo it")
        );
        demo.stop().await;
    }

    #[tokio::test]
    async fn a_name_in_two_datacenters_is_not_guessed() {
        let consul = |dc: &str, ip: &str| {
            let mut out = SourceOutput::test(
                SourceKind::Consul,
                vec![
                    Observation::test(SourceKind::Consul, "pg-a")
                        .seq(1)
                        .role("primary")
                        .ip(ip),
                ],
            );
            out.report.datacenter = Some(dc.into());
            out
        };
        let dcs: Vec<Datacenter> = ["dc1", "dc2"]
            .iter()
            .map(|n| Datacenter {
                name: n.to_string(),
                standby_of: Vec::new(),
            })
            .collect();
        let fleet = crate::estate::build(
            vec![consul("dc1", "10.1.0.1"), consul("dc2", "10.2.0.1")],
            &dcs,
        );
        let (tx, mut rx) = mpsc::channel(4);
        let fixer = Fixer::new(&Settings::default(), true, tx);
        fixer.plan(
            1,
            &fleet,
            "pg-a",
            Some("pg-a-1"),
            Destination::Targets,
            None,
        );
        match rx.recv().await {
            Some(Action::FixPreview {
                error: Some(e),
                writes: 0,
                ..
            }) => {
                assert!(e.contains("more than one datacenter"), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
        // Named with its datacenter (a row under a datacenter), the cluster is one.
        fixer.plan(
            2,
            &fleet,
            "pg-a",
            Some("pg-a-1"),
            Destination::Targets,
            Some("dc2"),
        );
        match rx.recv().await {
            Some(Action::FixPreview {
                plan_id: 2, error, ..
            }) => {
                let e = error.unwrap_or_default();
                assert!(!e.contains("more than one datacenter"), "{e}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
