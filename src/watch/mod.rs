//! Keeping every source's data fresh: Consul blocking queries and file watches, each
//! sending a whole new [`SourceOutput`] when its place changes, and a poller for the
//! databases, which cannot be watched.

pub mod backoff;
pub mod consul;
pub mod datacenters;
pub mod feeds;
pub mod files;
pub mod live;

use crate::observation::SourceOutput;
use tokio::task::JoinHandle;

/// A running watch; dropping it stops the watch and everything it started.
#[derive(Debug)]
pub struct WatchHandle(JoinHandle<()>);

impl WatchHandle {
    /// Wraps the task that owns a watch.
    pub fn new(task: JoinHandle<()>) -> WatchHandle {
        WatchHandle(task)
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A failed read replaces nothing: the previous observations stay, marked stale, with
/// the new errors and the previous read time, so the view keeps showing the fleet.
pub fn keep_last_good(previous: Option<&SourceOutput>, new: SourceOutput) -> SourceOutput {
    match previous {
        Some(prev) if new.report.failed_entirely() && !prev.observations.is_empty() => {
            let mut report = prev.report.clone();
            report.status = new.report.status;
            report.errors = new.report.errors;
            report.stale = true;
            SourceOutput::shared(report, prev.observations.clone())
        }
        _ => new,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::{Observation, SourceKind, SourceReport};

    #[test]
    fn a_failed_read_keeps_the_last_good_data() {
        let good = Observation::test(SourceKind::Targets, "pg-a")
            .seq(1)
            .instance("pg-a-1")
            .ip("10.0.0.1");
        let prev = SourceOutput::new(SourceReport::new(SourceKind::Targets, "t"), vec![good]);
        let mut failed = SourceReport::new(SourceKind::Targets, "t");
        failed.error("t/a.yml:1:1: bad");
        let kept = keep_last_good(Some(&prev), SourceOutput::new(failed.clone(), vec![]));
        assert!(kept.report.stale);
        assert_eq!(kept.observations.len(), 1);
        assert_eq!(kept.report.errors, ["t/a.yml:1:1: bad"]);
        assert_eq!(kept.report.read_at, prev.report.read_at);

        let fresh = SourceOutput::new(SourceReport::new(SourceKind::Targets, "t"), vec![]);
        assert!(!keep_last_good(Some(&prev), fresh).report.stale);
        assert!(
            !keep_last_good(None, SourceOutput::new(failed, vec![]))
                .report
                .stale
        );
    }
}
