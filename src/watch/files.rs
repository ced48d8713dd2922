//! Watching target files and the inventory: the directory is watched (a file replaced by
//! rename is a new inode, so watching the file itself would lose it), changes are
//! debounced, and the source is read again.

use super::{WatchHandle, keep_last_good};
use crate::observation::SourceOutput;
use notify::{RecursiveMode, Watcher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a burst of file events is gathered before the source is read again.
const DEBOUNCE: Duration = Duration::from_millis(150);
/// How often the source is re-read when the system cannot watch files.
const FALLBACK_EVERY: Duration = Duration::from_secs(10);

/// The directories to watch for target patterns (a directory, a file, or a glob).
pub fn target_dirs(patterns: &[String]) -> Vec<(PathBuf, RecursiveMode)> {
    let mut dirs = Vec::new();
    for p in patterns {
        let path = Path::new(p);
        if path.is_dir() {
            // The target source reads immediate subdirectories too (Pigsty's pgsql/).
            dirs.push((path.to_path_buf(), RecursiveMode::Recursive));
        } else if let Some(parent) = path.parent() {
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            dirs.push((parent.to_path_buf(), RecursiveMode::NonRecursive));
        }
    }
    dirs.sort_by(|a, b| a.0.cmp(&b.0));
    dirs.dedup_by(|a, b| a.0 == b.0);
    dirs
}

/// The directory holding a single file (the inventory).
pub fn file_dir(path: &Path) -> Vec<(PathBuf, RecursiveMode)> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    vec![(parent, RecursiveMode::NonRecursive)]
}

/// Watches `dirs` and sends a fresh read (from `read`, run off the async workers) after
/// every burst of changes; starts from `seed`. Where watching is impossible the source
/// is re-read every few seconds instead, and the report says so.
pub fn spawn(
    dirs: Vec<(PathBuf, RecursiveMode)>,
    read: Arc<dyn Fn() -> SourceOutput + Send + Sync>,
    seed: SourceOutput,
    tx: mpsc::Sender<SourceOutput>,
) -> WatchHandle {
    WatchHandle::new(tokio::spawn(run(dirs, read, seed, tx)))
}

async fn run(
    dirs: Vec<(PathBuf, RecursiveMode)>,
    read: Arc<dyn Fn() -> SourceOutput + Send + Sync>,
    seed: SourceOutput,
    tx: mpsc::Sender<SourceOutput>,
) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<()>();
    let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        // Opening or reading a file changes nothing, and the re-read itself (or a
        // sibling source's read of a directory beside the file) would wake the watch
        // again, forever.
        if res.is_ok_and(|ev| !matches!(ev.kind, notify::EventKind::Access(_))) {
            let _ = ev_tx.send(());
        }
    });
    let (mut watcher, mut problem) = match watcher {
        Ok(mut w) => {
            let problem = watch_all(&mut w, &dirs);
            (Some(w), problem)
        }
        Err(e) => (None, Some(format!("cannot watch files: {e}"))),
    };
    let mut last = seed;
    loop {
        match &problem {
            None => {
                if ev_rx.recv().await.is_none() {
                    return;
                }
                tokio::time::sleep(DEBOUNCE).await;
                while ev_rx.try_recv().is_ok() {}
            }
            Some(_) => {
                tokio::time::sleep(FALLBACK_EVERY).await;
                // A directory that was missing (or deleted, which ends its watch) may
                // be back: watch it again, so changes are seen at once once more.
                if let Some(w) = &mut watcher {
                    problem = watch_all(w, &dirs);
                }
            }
        }
        let reader = read.clone();
        let Ok(mut fresh) = tokio::task::spawn_blocking(move || reader()).await else {
            continue;
        };
        // A deleted directory takes its watch with it: poll until it is back.
        if problem.is_none()
            && let Some((gone, _)) = dirs.iter().find(|(d, _)| !d.is_dir())
        {
            problem = Some(format!("cannot watch {}: it is gone", gone.display()));
        }
        if let Some(p) = &problem {
            fresh.report.notes.push(format!(
                "{p}; re-reading every {}s",
                FALLBACK_EVERY.as_secs()
            ));
        }
        let next = keep_last_good(Some(&last), fresh);
        if tx.send(next.clone()).await.is_err() {
            return;
        }
        last = next;
    }
}

/// Watches every directory (again); the last failure, if any, as a problem to report.
fn watch_all(
    w: &mut notify::RecommendedWatcher,
    dirs: &[(PathBuf, RecursiveMode)],
) -> Option<String> {
    let mut problem = None;
    for (dir, mode) in dirs {
        // Forget a watch the directory's deletion ended, so the new one is registered.
        let _ = w.unwatch(dir);
        if let Err(e) = w.watch(dir, *mode) {
            problem = Some(format!("cannot watch {}: {e}", dir.display()));
        }
    }
    problem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_directories_not_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_string_lossy().into_owned();
        let dirs = target_dirs(&[
            d.clone(),
            format!("{d}/pgsql/*.yml"),
            format!("{d}/all.yml"),
        ]);
        assert_eq!(dirs.len(), 2, "{dirs:?}");
        assert_eq!(dirs[0].0, dir.path());
        assert!(matches!(dirs[0].1, RecursiveMode::Recursive));
        assert_eq!(dirs[1].0, dir.path().join("pgsql"));
        assert_eq!(file_dir(Path::new("pigsty.yml"))[0].0, PathBuf::from("."));
    }

    #[tokio::test]
    async fn an_edited_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.yml");
        std::fs::write(
            &file,
            "- targets: ['10.0.0.1:9100']\n  labels: {cls: pg-a, ins: pg-a-1}\n",
        )
        .unwrap();
        let patterns = vec![dir.path().to_string_lossy().into_owned()];
        let read = {
            let patterns = patterns.clone();
            Arc::new(move || crate::source::targets::read_targets(&patterns))
        };
        let seed = read();
        assert_eq!(seed.observations.len(), 1);
        let (tx, mut rx) = mpsc::channel(4);
        let _watch = spawn(target_dirs(&patterns), read, seed, tx);
        // Give the watcher a moment to register before the edit.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let tmp = dir.path().join(".t.yml.tmp");
        std::fs::write(
            &tmp,
            "- targets: ['10.0.0.1:9100']\n  labels: {cls: pg-a, ins: pg-a-1}\n- targets: ['10.0.0.2:9100']\n  labels: {cls: pg-a, ins: pg-a-2}\n",
        )
        .unwrap();
        std::fs::rename(&tmp, &file).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let out = rx.recv().await.expect("the watch keeps running");
                if out.observations.len() == 2 {
                    return out;
                }
            }
        })
        .await
        .expect("the edit is seen");
        assert!(got.report.is_ok());

        // A broken edit keeps the last good observations, marked stale.
        std::fs::write(&file, "- targets: [\n").unwrap();
        let kept = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                let out = rx.recv().await.expect("the watch keeps running");
                if !out.report.is_ok() {
                    return out;
                }
            }
        })
        .await
        .expect("the broken edit is seen");
        assert!(kept.report.stale, "{:?}", kept.report);
        assert_eq!(kept.observations.len(), 2);
    }

    #[tokio::test]
    async fn reading_a_watched_file_does_not_wake_the_watch() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pigsty.yml");
        std::fs::write(&file, "all: {}\n").unwrap();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let read = {
            let (file, count) = (file.clone(), count.clone());
            Arc::new(move || {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = std::fs::read_to_string(&file);
                crate::source::inventory::read_inventory(&file)
            })
        };
        let seed = read();
        let (tx, mut rx) = mpsc::channel(4);
        let _watch = spawn(file_dir(&file), read, seed, tx);
        tokio::time::sleep(Duration::from_millis(100)).await;
        for _ in 0..5 {
            let _ = std::fs::read_to_string(&file);
        }
        // Long enough for several debounce rounds of a watch that woke on reads.
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            count.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "reads woke the watch"
        );
        std::fs::write(dir.path().join("other"), "x").unwrap();
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("the write is seen")
            .expect("the watch keeps running");
        // The seed, then exactly one re-read for the write: the watch's own read did
        // not wake it either.
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
