//! Replacing a file whole, so that a reader (the daemon watching a folder, an operator's
//! editor) sees the old version or the new one and never half of one: the new text is written
//! under a hidden temporary name beside it (hidden names are skipped by the catalog and the
//! schedule loader), flushed to disk, given the old file's permissions, then renamed over it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `bytes`: written beside it, flushed to disk, renamed over it. The new
/// file keeps the old one's permissions.
pub fn replace(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace_as(path, bytes, None)
}

/// As [`replace`], the new file given `mode` (a program installed executable).
pub fn replace_with_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    replace_as(path, bytes, Some(mode))
}

fn replace_as(path: &Path, bytes: &[u8], mode: Option<u32>) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}-{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|_| match (mode, std::fs::metadata(path)) {
            (Some(mode), _) => {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
            }
            // A configuration holding password hashes stays as private as it was.
            (None, Ok(old)) => std::fs::set_permissions(&tmp, old.permissions()),
            (None, Err(_)) => Ok(()),
        })
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_file_keeps_its_permissions_and_leaves_no_temporary_behind() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("loaxa.toml");
        std::fs::write(&p, "old").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&p, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
