//! Replacing a file so that no reader ever sees half of it: a temp file in
//! the same folder, fsync, rename, fsync the folder. Shared by the config
//! editor (`edit`) and the feed writer (`http`, `[server].output_dir`).

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` atomically. An existing file's permissions are
/// kept (a config at 0640 stays 0640; a new file gets 0666 less the umask,
/// as with `File::create`); the folder is created if missing; on error the
/// temp file is removed and `path` is untouched.
///
/// The temp file has a random name and is created exclusively (tempfile:
/// `O_CREAT | O_EXCL`), so a file or symlink planted in the folder under a
/// guessed name is never followed or overwritten.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let existing = std::fs::metadata(path).ok().map(|m| m.permissions());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    // tempfile creates 0600 by default; a new feed must be readable by the
    // web server in front of output_dir, as a `File::create` would make it.
    #[cfg(unix)]
    if existing.is_none() {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    if let Some(permissions) = existing {
        tmp.as_file().set_permissions(permissions)?;
    }
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    // On error the temp file is removed when `tmp` drops.
    tmp.persist(path).map_err(|e| e.error)?;
    // Make the rename itself durable.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_planted_symlink_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep me").unwrap();
        // Every name the old writer would have used, and then some.
        for name in [
            format!(".t.atom.{}.tmp", std::process::id()),
            ".t.atom.tmp".to_string(),
        ] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        let target = dir.path().join("t.atom");
        write(&target, b"<feed/>").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
        assert_eq!(std::fs::read(&target).unwrap(), b"<feed/>");
        // No temp file left behind besides the planted links.
        let left = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(left, 4, "victim, two links, t.atom");
    }

    #[test]
    fn permissions_are_kept_or_ordinary() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("config.toml");
        std::fs::write(&kept, "a").unwrap();
        std::fs::set_permissions(&kept, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&kept, b"b").unwrap();
        assert_eq!(kept.metadata().unwrap().permissions().mode() & 0o777, 0o640);
        let new = dir.path().join("new.rss");
        write(&new, b"x").unwrap();
        // Readable by a web server (nginx serves output_dir).
        assert_eq!(new.metadata().unwrap().permissions().mode() & 0o044, 0o044);
    }
}
