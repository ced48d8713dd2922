//! Putting an edited text on disk: atomic replacement (temporary file in the same
//! directory, fsync, rename, directory fsync), a `.bak` of the original, a digest
//! compare-and-swap against the file the plan was made from, and restoring the `.bak`.
//!
//! Writers of one file (two operators, two roster processes) are serialised by an
//! advisory lock on a sidecar file, held from the re-read through the rename, so a
//! compare-and-swap cannot be overtaken. A symlink is written through (the link stays,
//! the file it names changes); only regular files are read or replaced; the owner, group
//! and mode of the file are kept.
//!
//! Temporary names never end in `.yml`, `.yaml` or `.json`, and neither does the lock
//! file, so Prometheus' `files` patterns never pick them up.

use super::{TargetEditError, WriteOutcome};
use crate::source::file_text::{self, ReadFailure};
use crate::source::targets::parse_target_file;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a writer waits for another one to finish with the same file.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// SHA-256 of `bytes` as lowercase hex: the plan's fingerprint of a file.
pub fn digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Where the backup of `path` lives: `<file>.bak` next to it.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".bak");
    PathBuf::from(name)
}

fn io_err(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> TargetEditError {
    let path = path.to_path_buf();
    move |source| TargetEditError::Io {
        path,
        action,
        source,
    }
}

/// The file a path names in the end: a symlink is followed to the file it points to, so
/// that the write goes there and the link stays. The plan shows this path.
pub fn resolve(path: &Path) -> Result<PathBuf, TargetEditError> {
    fs::canonicalize(path).map_err(io_err(path, "resolving the path"))
}

/// The sidecar lock file of `path`: `.<name>.roster.lock` in the same directory.
pub fn lock_path(path: &Path) -> PathBuf {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.roster.lock"))
}

/// Holds the advisory lock of one target file until dropped (closing the handle unlocks).
#[derive(Debug)]
struct FileLock {
    _held: fs::File,
}

/// Takes the lock of `path` (whose writers all take it), waiting up to [`LOCK_WAIT`].
///
/// The lock is on a sidecar file, not the target itself: the target is replaced by a
/// rename, and a lock on the old inode would not exclude a writer that opened the new one.
fn lock(path: &Path) -> Result<FileLock, TargetEditError> {
    let lock = lock_path(path);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&lock)
        // Another user's lock file can still be locked through a read-only handle.
        .or_else(|_| fs::File::open(&lock))
        .map_err(io_err(&lock, "opening the lock file"))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(FileLock { _held: file }),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(TargetEditError::BadInput {
                    path: path.to_path_buf(),
                    reason: format!(
                        "another writer has held {} for {}s; nothing written",
                        lock.display(),
                        LOCK_WAIT.as_secs()
                    ),
                });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err(&lock, "locking")(e));
            }
        }
    }
}

/// Reads the file as it is now, refusing anything but a regular file.
fn read_current(path: &Path) -> Result<(Vec<u8>, fs::Metadata), TargetEditError> {
    let failure = |f: ReadFailure| match f {
        ReadFailure::Io(e) => io_err(path, "reading")(e),
        other => TargetEditError::BadInput {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    };
    let file = file_text::open_regular(path).map_err(failure)?;
    let meta = file.metadata().map_err(io_err(path, "reading metadata"))?;
    let bytes = file_text::read_open(file, file_text::MAX_FILE_BYTES).map_err(failure)?;
    Ok((bytes, meta))
}

/// Who owns a file and its mode, to be given to its replacement.
#[derive(Clone, Copy, Debug)]
struct Ownership {
    uid: u32,
    gid: u32,
    mode: u32,
}

impl Ownership {
    fn of(meta: &fs::Metadata) -> Ownership {
        Ownership {
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
        }
    }
}

/// Gives `f` the owner, group and mode of the file it replaces. An owner roster may not
/// give (not root, someone else's file) is left as it is: the plan warned about it.
fn take_ownership(f: &fs::File, tmp: &Path, own: Ownership) -> Result<(), TargetEditError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = f.metadata().map_err(io_err(tmp, "reading metadata"))?;
    if (meta.uid(), meta.gid()) != (own.uid, own.gid) {
        match std::os::unix::fs::fchown(f, Some(own.uid), Some(own.gid)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                // The group alone may still be given (one of the writer's own groups).
                let _ = std::os::unix::fs::fchown(f, None, Some(own.gid));
            }
            Err(e) => return Err(io_err(tmp, "setting the owner")(e)),
        }
    }
    // After the chown, which clears set-id bits.
    f.set_permissions(fs::Permissions::from_mode(own.mode))
        .map_err(io_err(tmp, "setting permissions"))
}

/// Distinguishes temporary files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` so that a reader (or a crash) sees the old or the new file.
fn replace_atomically(path: &Path, bytes: &[u8], own: Ownership) -> Result<(), TargetEditError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| TargetEditError::BadInput {
        path: path.to_path_buf(),
        reason: "the path has no file name".to_string(),
    })?;
    // The suffix keeps the temporary name outside every `*.yml`/`*.json` pattern.
    let tmp = dir.join(format!(
        ".{}.roster-tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_err(&tmp, "creating the temporary file"))?;
        take_ownership(&f, &tmp, own)?;
        f.write_all(bytes)
            .map_err(io_err(&tmp, "writing the temporary file"))?;
        f.sync_all()
            .map_err(io_err(&tmp, "syncing the temporary file"))?;
        drop(f);
        fs::rename(&tmp, path).map_err(io_err(path, "renaming the temporary file over"))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir, "syncing the directory"))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Atomically replaces `path` with `new_text`, after a `.bak` of the original, unless the
/// file's digest is no longer `expected_digest`.
pub fn write_file(
    path: &Path,
    expected_digest: &str,
    new_text: &str,
) -> Result<WriteOutcome, TargetEditError> {
    write_file_with(path, expected_digest, new_text, true)
}

/// [`write_file`], with the `.bak` left alone when `backup` is false: the second write
/// to a file in one run must not replace the backup of the original with its first edit.
pub fn write_file_with(
    path: &Path,
    expected_digest: &str,
    new_text: &str,
    backup: bool,
) -> Result<WriteOutcome, TargetEditError> {
    // Never put a file on disk that Prometheus would refuse.
    parse_target_file(path, new_text).map_err(|e| TargetEditError::Verify {
        path: path.to_path_buf(),
        reason: format!("the new text does not parse: {e}"),
    })?;
    // A plan made while the file was absent (a new per-instance file) creates it.
    if expected_digest == digest(b"") && fs::symlink_metadata(path).is_err() {
        return create_file(path, new_text, backup);
    }
    let path = &resolve(path)?;
    let _lock = lock(path)?;
    let (original, meta) = read_current(path)?;
    if digest(&original) != expected_digest {
        return Err(TargetEditError::ChangedOnDisk {
            path: path.to_path_buf(),
        });
    }
    let own = Ownership::of(&meta);
    let backup_file = backup_path(path);
    if backup {
        replace_atomically(&backup_file, &original, own)?;
    }
    replace_atomically(path, new_text.as_bytes(), own)?;
    Ok(WriteOutcome {
        backup: backup_file,
    })
}

/// Puts `<file>.bak` back in place of `path`, atomically, with the owner and mode of the
/// file it replaces; the backup is kept.
pub fn restore_backup(path: &Path) -> Result<(), TargetEditError> {
    let path = &resolve(path)?;
    let backup = backup_path(path);
    let _lock = lock(path)?;
    let bytes = match read_current(&backup) {
        Ok((b, _)) => b,
        Err(TargetEditError::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Err(TargetEditError::NoBackup { path: backup });
        }
        Err(e) => return Err(e),
    };
    let meta = fs::metadata(path)
        .or_else(|_| fs::metadata(&backup))
        .map_err(io_err(&backup, "reading metadata"))?;
    replace_atomically(path, &bytes, Ownership::of(&meta))
}

/// Puts a new file at `path` that must not exist yet, mode 0644 as Pigsty's playbooks
/// write target files; its `.bak` is empty, the original having been nothing, so
/// restoring it leaves a file without targets.
///
/// The text goes to a temporary file first and is hard-linked into place, which fails
/// rather than replaces when a file appeared at `path` since the plan.
fn create_file(path: &Path, text: &str, backup: bool) -> Result<WriteOutcome, TargetEditError> {
    let backup_file = backup_path(path);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A new file belongs to whoever owns its directory (Prometheus' target tree), 0644.
    let dir_meta = fs::metadata(dir).map_err(io_err(dir, "reading metadata"))?;
    let own = || Ownership {
        uid: dir_meta.uid(),
        gid: dir_meta.gid(),
        mode: 0o644,
    };
    let tmp = dir.join(format!(
        ".roster-new-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    replace_atomically(&tmp, text.as_bytes(), own())?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            return Err(TargetEditError::ChangedOnDisk {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io_err(path, "creating the file")(e)),
    }
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "syncing the directory"))?;
    if backup {
        replace_atomically(&backup_file, b"", own())?;
    }
    Ok(WriteOutcome {
        backup: backup_file,
    })
}
