//! Replacing a file so that no reader ever sees half of it: a temp file in
//! the same folder, fsync, rename, fsync the folder. Shared by the config
//! editor (`edit`) and the feed writer (`http`, `[server].output_dir`).

use std::fs::File;
use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` atomically. An existing file's permissions are
/// kept (a config at 0640 stays 0640); the folder is created if missing; on
/// error the temp file is removed and `path` is untouched.
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
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // Make the rename itself durable.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
