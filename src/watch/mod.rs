//! Keeping every source's data fresh: Consul blocking queries and file watches, each
//! sending a whole new [`SourceOutput`] when its place changes, and a poller for the
//! databases, which cannot be watched.

pub mod backoff;
pub mod consul;
mod consul_nodes;
pub mod datacenters;
pub mod feeds;
pub mod files;
pub mod live;
pub mod loops;

use crate::observation::SourceOutput;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The report fact in which a watch says where it stands: [`LIVE`], [`CONFIRMING`] or
/// [`RETRYING`].
pub const STANDING: &str = "watch";
/// Every part of the watch has answered; its data is current.
pub const LIVE: &str = "live";
/// Part of the watch is re-reading without an index; its data is not confirmed yet.
pub const CONFIRMING: &str = "confirming";
/// Part of the watch is failing and retrying; its data is from before (stale).
pub const RETRYING: &str = "retrying";

/// A running watch; dropping it stops the watch and everything it started.
#[derive(Debug)]
pub struct WatchHandle {
    task: JoinHandle<()>,
    refresh: Option<watch::Sender<()>>,
}

impl WatchHandle {
    /// Wraps the task that owns a watch.
    pub fn new(task: JoinHandle<()>) -> WatchHandle {
        WatchHandle {
            task,
            refresh: None,
        }
    }

    /// Wraps the task of a watch that re-reads at once when `refresh` is sent to.
    pub fn refreshable(task: JoinHandle<()>, refresh: watch::Sender<()>) -> WatchHandle {
        WatchHandle {
            task,
            refresh: Some(refresh),
        }
    }

    /// Asks the watch to read again now, without relying on what it read before (a
    /// Consul watch drops its indexes); a watch that cannot be asked ignores it.
    pub fn refresh(&self) {
        if let Some(r) = &self.refresh {
            r.send_replace(());
        }
    }

    /// True once the watch's task has ended (it panicked), so it can be started again.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A failed read replaces nothing: the previous observations stay, marked stale, with
/// the new errors and the previous read time, so the view keeps showing the fleet. A
/// failed read that began before the previous output's successful read is older news
/// than that success and is dropped (the previous output stays as it is).
pub fn keep_last_good(previous: Option<&SourceOutput>, new: SourceOutput) -> SourceOutput {
    match previous {
        Some(prev)
            if !new.report.is_ok()
                && prev.report.is_ok()
                && !prev.report.stale
                && began_before(&new, prev) =>
        {
            prev.clone()
        }
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

/// True when `new`'s read began before `prev`'s was read (a report's time is set when
/// its read begins); unknown times are not compared.
fn began_before(new: &SourceOutput, prev: &SourceOutput) -> bool {
    matches!((new.report.read_at, prev.report.read_at), (Some(n), Some(p)) if n < p)
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

    #[test]
    fn a_failure_older_than_the_last_success_is_not_shown() {
        let t0 = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let good = Observation::test(SourceKind::Consul, "pg-a").seq(1);
        let mut failed = SourceReport::new(SourceKind::Consul, "c");
        failed.read_at = Some(t0);
        failed.error("cannot reach Consul");
        let mut ok = SourceReport::new(SourceKind::Consul, "c");
        ok.read_at = Some(t0 + std::time::Duration::from_secs(2));
        let prev = SourceOutput::new(ok, vec![good]);

        // The failed read began before the success was read: the success stands.
        let kept = keep_last_good(Some(&prev), SourceOutput::new(failed.clone(), vec![]));
        assert!(kept.report.is_ok() && !kept.report.stale);
        assert!(kept.report.errors.is_empty());
        assert_eq!(kept.report.read_at, prev.report.read_at);

        // A failure that began after it is news: shown, the data kept as stale.
        failed.read_at = Some(t0 + std::time::Duration::from_secs(3));
        let kept = keep_last_good(Some(&prev), SourceOutput::new(failed, vec![]));
        assert!(kept.report.stale);
        assert_eq!(kept.report.errors, ["cannot reach Consul"]);
    }
}
