//! What can happen to the UI (actions) and what the UI asks the outside world to do (effects).

use crate::drift::Finding;
use crate::fix::plan::Destination;
use crate::report::CheckResult;
use crate::tui::vocab::Focus;
use std::time::SystemTime;

/// One input to the reducer: a key turned into intent, or an event from outside.
#[derive(Debug)]
pub enum Action {
    /// Select the previous row (or scroll the focused pane up).
    MoveUp,
    /// Select the next row (or scroll the focused pane down).
    MoveDown,
    /// Move up one screen.
    PageUp,
    /// Move down one screen.
    PageDown,
    /// Jump to the first row.
    Top,
    /// Jump to the last row.
    Bottom,
    /// Expand the selected row, or step into it when already expanded.
    Expand,
    /// Collapse the selected row, or step out to its parent.
    Collapse,
    /// Expand or collapse the selected row.
    Toggle,
    /// Expand every cluster (instances stay as they are).
    ExpandAll,
    /// Collapse everything down to clusters.
    CollapseAll,
    /// Focus the next pane.
    CycleFocus,
    /// Focus the previous pane.
    CycleFocusBack,
    /// Start typing a filter.
    StartFilter,
    /// One typed character of the filter.
    FilterInput(char),
    /// Delete the last filter character.
    FilterBackspace,
    /// Stop typing but keep the filter.
    ConfirmFilter,
    /// Drop the filter and stop typing.
    ClearFilter,
    /// Show only drifting instances (and clusters with findings).
    ToggleDriftOnly,
    /// Next sort order (name, drift, role).
    CycleSort,
    /// Show or hide the key help.
    ToggleHelp,
    /// Show or hide every source's location, errors and notes in full.
    ToggleSources,
    /// Open the failover view of the selected cluster.
    FailoverOpen,
    /// Open the failover view of a named cluster (`:failover CLS`).
    FailoverOf(String),
    /// Close the failover view.
    FailoverClose,
    /// Move the failover view's selection.
    FailoverMove(isize),
    /// Plan the fix of the failover view's selected member.
    FailoverFix,
    /// Select the next drifting instance (wrapping).
    NextDrift,
    /// Select the previous drifting instance (wrapping).
    PrevDrift,
    /// Open or close the list of every finding of the fleet.
    ToggleFindings,
    /// Move the findings list's selection.
    FindingsMove(isize),
    /// Sort the findings list by severity or by place.
    FindingsSort,
    /// Close the findings list and select the chosen finding's instance.
    FindingsJump,
    /// Open or close the events pane (what changed during the session).
    ToggleEvents,
    /// Move the events pane's selection.
    EventsMove(isize),
    /// Undo the fix of the event selected in the events pane (emits [`Effect::PlanUndo`]).
    Undo,
    /// Read the sources again now.
    Refresh,
    /// Copy the selected identity to the clipboard (emits [`Effect::Copy`]).
    Copy,
    /// Open the `:` command line.
    StartCommand,
    /// One typed character of the command.
    CommandInput(char),
    /// Delete the last command character (closes the prompt when it is empty).
    CommandBackspace,
    /// Replace the typed command with an earlier (negative) or later one from the history.
    CommandHistory(isize),
    /// Complete the command name typed so far.
    CommandComplete,
    /// Run the typed command and close the prompt.
    RunCommand,
    /// Close the prompt without running anything.
    CancelCommand,
    /// A click on a tree row: select it (an index into the visible rows) and focus the tree.
    ClickRow(usize),
    /// A click in a pane outside the tree rows: focus it.
    FocusPane(Focus),
    /// The wheel over a pane: scroll it by this many lines (negative: up).
    Scroll(Focus, isize),
    /// The clock, sent by the event loop about once a second so ages stay current
    /// without the view reading the clock.
    Tick(SystemTime),
    /// Leave the UI.
    Quit,
    /// The terminal changed size.
    Resize(u16, u16),
    /// A fresh read of the sources.
    Data(Box<CheckResult>),
    /// Open the re-registration dialog for the selected instance, or for the whole selected
    /// cluster (emits [`Effect::PlanFix`]).
    FixOpen,
    /// Close the re-registration dialog without writing anything.
    FixClose,
    /// Move the dialog's button focus to the other button.
    FixSwitchButton,
    /// Plan again for the next [`Destination`] (in [`Destination::ALL`] order).
    FixCycleTarget,
    /// Scroll the dialog's preview by this many lines (negative: up).
    FixScroll(isize),
    /// Activate the dialog's focused button (Cancel closes; Apply emits
    /// [`Effect::ApplyFix`], or first asks again when the plan carries risks).
    FixChoose,
    /// The plan asked for by [`Effect::PlanFix`], rendered by the runtime for the dialog.
    FixPreview {
        /// The id of the [`Effect::PlanFix`] this answers; an older id is ignored.
        plan_id: u64,
        /// One line per write, diff line (`-`/`+` first) or warning (`warning:` first).
        lines: Vec<String>,
        /// How many writes applying the plan makes.
        writes: usize,
        /// Why no plan could be made.
        error: Option<String>,
        /// What makes the plan dangerous (an error it creates, a split-brain): each needs
        /// the second confirmation.
        risks: Vec<String>,
        /// The findings the simulation says the plan resolves, for the check after applying.
        resolves: Vec<Finding>,
        /// The findings the simulation says the plan creates (an undo brings the fixed
        /// ones back), for the same check.
        creates: Vec<Finding>,
    },
    /// The outcome of [`Effect::ApplyFix`].
    FixApplied {
        /// The id of the plan applied; an undo names it.
        plan_id: u64,
        /// At least one write was made (so there is something to undo).
        wrote: bool,
        /// Every write succeeded.
        ok: bool,
        /// What happened, one line per write (the server's message on failure).
        lines: Vec<String>,
    },
}

/// Work the reducer asks the event loop to do; its results come back as actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Read every source again.
    Refresh,
    /// Restore the terminal and exit.
    Quit,
    /// Put this text on the user's clipboard: write [`crate::tui::clipboard::osc52`] of it
    /// to the terminal (plain and, when `TMUX` is set, also wrapped for tmux passthrough).
    Copy(String),
    /// Read Consul in this datacenter from now on (`:dc NAME`), then refresh.
    SetDatacenter(String),
    /// Compute the plan re-registering one instance (or a whole cluster) in one place;
    /// answer with [`Action::FixPreview`] carrying the same `plan_id`.
    PlanFix {
        /// The id the answer must echo, so a late answer to an older request is dropped.
        plan_id: u64,
        /// The cluster (as read, not sanitised).
        cluster: String,
        /// The instance's name (as read, not sanitised); `None` plans the whole cluster.
        instance: Option<String>,
        /// Where to write.
        target: Destination,
        /// The datacenter the cluster is in, when several are read (one name can be
        /// in two).
        datacenter: Option<String>,
    },
    /// Compute the plan putting back what an applied fix wrote; answer with
    /// [`Action::FixPreview`] carrying `plan_id`, as [`Effect::PlanFix`] does.
    PlanUndo {
        /// The id the answer must echo.
        plan_id: u64,
        /// The id of the applied plan to undo (from [`Action::FixApplied`]).
        applied: u64,
    },
    /// Apply the plan previewed under this id (the user confirmed it); answer with
    /// [`Action::FixApplied`], then re-read the sources.
    ApplyFix {
        /// The id of the confirmed [`Action::FixPreview`].
        plan_id: u64,
        /// The user confirmed the plan's risks a second time.
        accept_risks: bool,
    },
}
