//! Putting an edited text on disk: atomic replacement (temporary file in the same
//! directory, fsync, rename, directory fsync), a `.bak` of the original, a digest
//! compare-and-swap against the file the plan was made from, and restoring the `.bak`.
//!
//! Temporary names never end in `.yml`, `.yaml` or `.json`, so Prometheus' `files`
//! patterns never pick up a half-written file.

use super::{TargetEditError, WriteOutcome};
use crate::source::targets::parse_target_file;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Distinguishes temporary files of concurrent writes within one process.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path` with `bytes` so that a reader (or a crash) sees the old or the new file.
fn replace_atomically(
    path: &Path,
    bytes: &[u8],
    permissions: &fs::Permissions,
) -> Result<(), TargetEditError> {
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
        f.set_permissions(permissions.clone())
            .map_err(io_err(&tmp, "setting permissions"))?;
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
    let original = fs::read(path).map_err(io_err(path, "reading"))?;
    if digest(&original) != expected_digest {
        return Err(TargetEditError::ChangedOnDisk {
            path: path.to_path_buf(),
        });
    }
    let permissions = fs::metadata(path)
        .map_err(io_err(path, "reading metadata"))?
        .permissions();
    let backup_file = backup_path(path);
    if backup {
        replace_atomically(&backup_file, &original, &permissions)?;
    }
    replace_atomically(path, new_text.as_bytes(), &permissions)?;
    Ok(WriteOutcome {
        backup: backup_file,
    })
}

/// Puts `<file>.bak` back in place of `path`, atomically; the backup is kept.
pub fn restore_backup(path: &Path) -> Result<(), TargetEditError> {
    let backup = backup_path(path);
    let bytes = match fs::read(&backup) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(TargetEditError::NoBackup { path: backup });
        }
        Err(e) => return Err(io_err(&backup, "reading the backup")(e)),
    };
    let permissions = fs::metadata(&backup)
        .map_err(io_err(&backup, "reading metadata"))?
        .permissions();
    replace_atomically(path, &bytes, &permissions)
}

/// Puts a new file at `path` that must not exist yet, mode 0644 as Pigsty's playbooks
/// write target files; its `.bak` is empty, the original having been nothing, so
/// restoring it leaves a file without targets.
///
/// The text goes to a temporary file first and is hard-linked into place, which fails
/// rather than replaces when a file appeared at `path` since the plan.
fn create_file(path: &Path, text: &str, backup: bool) -> Result<WriteOutcome, TargetEditError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::Permissions::from_mode(0o644);
    let backup_file = backup_path(path);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".roster-new-{}-{}",
        std::process::id(),
        TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    replace_atomically(&tmp, text.as_bytes(), &mode)?;
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
        replace_atomically(&backup_file, b"", &mode)?;
    }
    Ok(WriteOutcome {
        backup: backup_file,
    })
}
