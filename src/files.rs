//! Replacing a file whole, so that a reader (the daemon watching a folder, an operator's
//! editor) sees the old version or the new one and never half of one: the new text is written
//! under a hidden temporary name beside it (hidden names are skipped by the catalog and the
//! schedule loader), flushed to disk, given the old file's permissions, then renamed over it.
//! And its counterpart for a name that must not be taken from another: renamed in only where
//! nothing is (two hand-overs of one name both land, neither over the other). And how much
//! room a file system has left.

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
    // Created readable by its owner only, then given its mode: a key or a configuration
    // holding password hashes is never readable by others, not even while it is written.
    let written = {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(bytes)?;
                f.sync_all()
            })
    }
    .and_then(|()| {
        use std::os::unix::fs::PermissionsExt;
        let mode = match (mode, std::fs::metadata(path)) {
            (Some(mode), _) => mode,
            // A configuration holding password hashes stays as private as it was.
            (None, Ok(old)) => old.permissions().mode(),
            // A new file: what the process's umask gives any file it creates.
            (None, Err(_)) => 0o666 & !umask(),
        };
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))
    })
    .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The process's file mode creation mask (from /proc: reading it with umask(2) would change
/// it for a moment for every thread).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|m| u32::from_str_radix(m.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists` then): two hand-overs of one
/// name at once both land, neither over the other. Where the file system cannot refuse a
/// rename over a name, a link does the same (the daemon then sees a new file, not a rename,
/// and waits for it to settle).
pub fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (f, t) = (c(from)?, c(to)?);
    // SAFETY: two NUL-terminated paths that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            f.as_ptr(),
            libc::AT_FDCWD,
            t.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EINVAL | libc::ENOSYS) => {
            std::fs::hard_link(from, to)?;
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        _ => Err(e),
    }
}

/// Creates `path` with `bytes`, whole (written beside it, flushed, renamed in), unless it
/// exists: `AlreadyExists` then, and nothing is left behind.
pub fn create_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.{}-{}.new",
        path.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|_| rename_new(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Bytes free on the file system holding `dir`, for a writer without root's reserve; `None`
/// when it cannot be asked.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: statvfs fills the struct it is given from a NUL-terminated path.
        let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
        let r = unsafe { libc::statvfs(c.as_ptr(), &raw mut st) };
        (r == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
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

    #[test]
    fn a_created_file_never_takes_the_place_of_another_and_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.toml");
        create_new(&p, b"first").unwrap();
        let e = create_new(&p, b"second").unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "first");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
