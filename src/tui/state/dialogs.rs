//! What sits over the tree: the footer message, the re-registration dialog and its
//! follow-up check, and the failover view.

use super::events::FixRef;
use crate::drift::Finding;
use crate::fix::plan::Destination;
use std::time::{Duration, SystemTime};

/// How long after applying a fix the reads have to show it took effect.
pub const VERIFY_WAIT: Duration = Duration::from_secs(10);

/// A short message in the footer, until the next key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// What to say (shown sanitised).
    pub text: String,
    /// True for errors (shown in the error style).
    pub error: bool,
}

impl Status {
    /// A plain message.
    pub fn info(text: impl Into<String>) -> Status {
        Status {
            text: text.into(),
            error: false,
        }
    }

    /// An error message.
    pub fn error(text: impl Into<String>) -> Status {
        Status {
            text: text.into(),
            error: true,
        }
    }
}

/// The buttons of the re-registration dialog.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FixButton {
    /// Close without writing; focused whenever a new plan is shown.
    #[default]
    Cancel,
    /// Apply the shown plan.
    Apply,
}

impl FixButton {
    /// The other button.
    pub fn other(self) -> FixButton {
        match self {
            FixButton::Cancel => FixButton::Apply,
            FixButton::Apply => FixButton::Cancel,
        }
    }
}

/// A plan as the dialog shows it (lines already sanitised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixPlan {
    /// The id of the request it answers; [`crate::tui::action::Effect::ApplyFix`] names it.
    pub plan_id: u64,
    /// Writes, diff lines and warnings, one per line.
    pub lines: Vec<String>,
    /// How many writes applying it makes.
    pub writes: usize,
    /// Why no plan could be made.
    pub error: Option<String>,
    /// What makes it dangerous; non-empty means Apply asks a second time.
    pub risks: Vec<String>,
    /// What the simulation says it resolves.
    pub resolves: Vec<Finding>,
    /// What the simulation says it creates.
    pub creates: Vec<Finding>,
}

/// What applying a plan did (lines already sanitised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixOutcome {
    /// Every write succeeded.
    pub ok: bool,
    /// One line per write, the server's message on failure.
    pub lines: Vec<String>,
}

/// The re-registration dialog: one instance (or a whole cluster), one target, the plan
/// and the confirmation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixDialog {
    /// The cluster (as read).
    pub cluster: String,
    /// The datacenter the cluster is in, when several are read.
    pub datacenter: Option<String>,
    /// The instance's name (as read); `None` for a plan of the whole cluster.
    pub instance: Option<String>,
    /// Where the plan writes.
    pub target: Destination,
    /// The id of the latest plan requested; answers with another id are stale.
    pub plan_id: u64,
    /// The plan; `None` while it is being computed.
    pub preview: Option<FixPlan>,
    /// The focused button.
    pub button: FixButton,
    /// First preview line shown.
    pub scroll: u16,
    /// The plan was confirmed and its result has not come back.
    pub applying: bool,
    /// What applying did.
    pub result: Option<FixOutcome>,
    /// The second step: the plan's risks shown, Apply asked for again.
    pub confirm_risks: bool,
    /// The applied fix this dialog undoes (its plan id), when it is an undo.
    pub undo: Option<u64>,
}

impl FixDialog {
    /// What the dialog re-registers: the instance, or the cluster.
    pub fn subject(&self) -> &str {
        self.instance.as_deref().unwrap_or(&self.cluster)
    }

    /// The risks of the plan shown, if any.
    pub fn risks(&self) -> &[String] {
        self.preview.as_ref().map_or(&[], |p| p.risks.as_slice())
    }

    /// True when Enter on Apply would write (read-only aside): a plan with writes, no
    /// error, not already applied or applying.
    pub fn can_apply(&self) -> bool {
        !self.applying
            && self.result.is_none()
            && self
                .preview
                .as_ref()
                .is_some_and(|p| p.writes > 0 && p.error.is_none())
    }
}

/// The destination `t` switches the dialog to: the next one in [`Destination::ALL`] order,
/// wrapping around.
pub fn next_target(target: Destination) -> Destination {
    let all = Destination::ALL;
    let at = all.iter().position(|d| *d == target).unwrap_or(0);
    all[(at + 1) % all.len()]
}

/// Waiting for the sources to show that an applied fix took effect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixVerify {
    /// The cluster.
    pub cluster: String,
    /// The datacenter it is in, when several are read (one name can be in two).
    pub datacenter: Option<String>,
    /// The instance's name; `None` for a plan of the whole cluster.
    pub instance: Option<String>,
    /// The cluster's findings when the fix was applied.
    pub before: Vec<Finding>,
    /// The findings the plan was to resolve; the wait ends when they are gone.
    pub expect: Vec<Finding>,
    /// The findings the plan was to create; the wait also ends only once they are there,
    /// so a read made before the writes is not taken for the outcome.
    pub expect_new: Vec<Finding>,
    /// After this, the findings still there are reported as not fixed.
    pub deadline: SystemTime,
}

/// The failover view of one cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailoverView {
    /// The cluster shown, by key ([`ClusterInfo::key`](super::ClusterInfo::key): its
    /// name, with its datacenter when several are read).
    pub cluster: String,
    /// The selected member (index in the cluster's instances).
    pub selected: usize,
}

/// A plan sent to be applied, as it was when Apply was chosen: the answer is matched to
/// it by plan id, whatever dialog is open when the answer comes.
#[derive(Clone, Debug)]
pub struct Applying {
    /// What the event and the undo record name: the plan's subject and destination.
    pub fix: FixRef,
    /// The instance or cluster shown (`FixDialog::subject`).
    pub subject: String,
    /// The applied fix this plan undoes, for an undo.
    pub undo: Option<u64>,
    /// The findings the plan said it resolves.
    pub expect: Vec<Finding>,
    /// The findings the plan said it creates.
    pub expect_new: Vec<Finding>,
}

impl Applying {
    /// The dialog's plan as it is sent to be applied.
    pub fn sent(d: &FixDialog) -> Applying {
        let (expect, expect_new) = d
            .preview
            .as_ref()
            .map(|p| (p.resolves.clone(), p.creates.clone()))
            .unwrap_or_default();
        Applying {
            fix: FixRef {
                applied: d.plan_id,
                cluster: d.cluster.clone(),
                datacenter: d.datacenter.clone(),
                instance: d.instance.clone(),
                target: d.target,
            },
            subject: d.subject().to_string(),
            undo: d.undo,
            expect,
            expect_new,
        }
    }
}
