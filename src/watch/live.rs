//! The live source cannot be watched: the databases are asked again every few seconds,
//! each time about the instances of the fleet as it is now.

use super::WatchHandle;
use crate::observation::SourceOutput;
use crate::source::live::{LiveConfig, read_live};
use crate::source::probe::LiveTarget;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// How often the live roles are asked again while the UI runs.
pub const EVERY: Duration = Duration::from_secs(5);

/// A running live poller; dropping it stops the polling.
#[derive(Debug)]
pub struct LivePoller {
    targets: watch::Sender<Option<Vec<LiveTarget>>>,
    _task: WatchHandle,
}

impl LivePoller {
    /// Starts asking, every `every`, the instances last given to [`LivePoller::follow`];
    /// nothing is asked before the first ones arrive.
    pub fn spawn(cfg: LiveConfig, every: Duration, tx: mpsc::Sender<SourceOutput>) -> LivePoller {
        let (targets, rx) = watch::channel(None);
        LivePoller {
            targets,
            _task: WatchHandle::new(tokio::spawn(run(cfg, every, rx, tx))),
        }
    }

    /// Asks about these instances from the next round on: those of the latest fleet.
    pub fn follow(&self, targets: Vec<LiveTarget>) {
        self.targets.send_replace(Some(targets));
    }
}

async fn run(
    cfg: LiveConfig,
    every: Duration,
    mut targets: watch::Receiver<Option<Vec<LiveTarget>>>,
    tx: mpsc::Sender<SourceOutput>,
) {
    // Until a fleet names its instances an empty read would blank the live column.
    if targets.wait_for(Option::is_some).await.is_err() {
        return;
    }
    loop {
        tokio::time::sleep(every).await;
        let now = targets.borrow_and_update().clone().unwrap_or_default();
        let out = read_live(&now, &cfg).await;
        if tx.send(out).await.is_err() {
            return;
        }
    }
}
