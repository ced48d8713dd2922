//! Small words the whole UI shares: which pane has focus and how the tree is sorted.
//!
//! They live apart from the state so that the layout, the actions and the command line
//! can name them without depending on the state.

/// The pane that receives movement keys.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Focus {
    /// The fleet tree.
    #[default]
    Tree,
    /// The findings of the selection.
    Findings,
    /// Everything observed about the selection.
    Detail,
}

impl Focus {
    /// The next pane in Tab order.
    pub fn next(self) -> Focus {
        match self {
            Focus::Tree => Focus::Findings,
            Focus::Findings => Focus::Detail,
            Focus::Detail => Focus::Tree,
        }
    }

    /// The previous pane in Tab order.
    pub fn prev(self) -> Focus {
        self.next().next()
    }
}

/// Sort orders of the tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    /// Cluster name, then seq.
    #[default]
    Name,
    /// Worst severity first.
    Drift,
    /// Primaries first within a cluster.
    Role,
}

impl Sort {
    /// The next order.
    pub fn next(self) -> Sort {
        match self {
            Sort::Name => Sort::Drift,
            Sort::Drift => Sort::Role,
            Sort::Role => Sort::Name,
        }
    }

    /// The name shown in the status line.
    pub fn name(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Drift => "drift",
            Sort::Role => "role",
        }
    }
}
