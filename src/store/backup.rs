//! Backup and restore: a consistent, checked copy of a live database, and
//! putting one back (refused while a daemon holds the database).

use super::*;

pub(super) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(super) fn refused(path: &Path, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// `path` with `suffix` appended to its file name (`news.db` → `news.db-wal`).
pub(super) fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(suffix);
    PathBuf::from(p)
}

/// A temporary name beside `path`, on the same file system, so that the
/// final rename is atomic.
pub(super) fn temp_beside(path: &Path, what: &str) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "newsriver.db".into());
    path.with_file_name(format!(".{name}.{what}-{}", std::process::id()))
}

/// Opens an existing database without creating one or running migrations.
pub(super) fn open_existing(path: &Path, flags: OpenFlags) -> Result<Connection> {
    if !path.is_file() {
        return Err(refused(path, "no database file here"));
    }
    let conn = Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(
        |source| StoreError::Open {
            path: path.display().to_string(),
            hint: open_hint(path, &source),
            source,
        },
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// `VACUUM INTO tmp`, then the copy must pass `integrity_check`; flushed to
/// disk before the caller renames it into place. Backup and restore both
/// end this way.
pub(super) fn checked_copy(src: &Connection, tmp: &Path) -> Result<DbSummary> {
    vacuum_into(src, tmp)?;
    let copy = open_existing(tmp, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    let check = integrity(&copy)?;
    if check != "ok" {
        return Err(refused(
            tmp,
            format!("the copy fails integrity_check: {check}"),
        ));
    }
    let info = summary(&copy, tmp)?;
    drop(copy);
    sync_file_and_dir(tmp)?;
    Ok(info)
}

/// `VACUUM INTO` a new file `dest`: one read transaction, so the copy is a
/// consistent snapshot however busy the writers are; free pages are left
/// out. It refuses a file that already exists, which is what we want.
pub(super) fn vacuum_into(conn: &Connection, dest: &Path) -> Result<()> {
    let Some(dest_str) = dest.to_str() else {
        return Err(refused(dest, "the path is not valid UTF-8"));
    };
    conn.execute("VACUUM INTO ?1", [dest_str])?;
    Ok(())
}

/// Flushes a file's data, then its directory entry.
pub(super) fn sync_file_and_dir(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err(path))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Directories cannot be fsynced everywhere; where they can, this makes
        // the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// Writes a consistent copy of the database at `db` to `dest` while other
/// processes (the daemon) go on reading and writing it. The copy is made
/// under a temporary name beside `dest`, checked with `integrity_check`,
/// flushed, and renamed into place, so `dest` is never a partial file.
/// An existing `dest` is replaced only when `force` is set.
pub fn backup(db: &Path, dest: &Path, force: bool) -> Result<DbSummary> {
    if dest.exists() && !force {
        return Err(refused(
            dest,
            "already exists; choose another name or pass --force to replace it",
        ));
    }
    // Read-only: a backup is a read command and leaves the file as it was.
    let src = open_existing(db, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let tmp = temp_beside(dest, "backup");
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let info = checked_copy(&src, &tmp)?;
        std::fs::rename(&tmp, dest).map_err(io_err(dest))?;
        sync_file_and_dir(dest)?;
        Ok(info)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Replaces the database at `db` with the backup at `from`. The caller has
/// made sure no newsriver process has `db` open (the daemon's pid file).
///
/// The backup is checked first (`integrity_check`, a newsriver schema no
/// newer than this build's); then copied with `VACUUM INTO` to a temporary
/// file beside `db` (which also folds in a `-wal` left beside the backup);
/// the current database's WAL is checkpointed into it and removed, so no
/// stale `-wal`/`-shm` can be replayed onto the restored file; and the copy
/// is renamed over `db` in one atomic step.
pub fn restore(from: &Path, db: &Path) -> Result<DbSummary> {
    if let (Ok(a), Ok(b)) = (from.canonicalize(), db.canonicalize())
        && a == b
    {
        return Err(refused(from, "is the database itself; give a backup file"));
    }
    let src = open_existing(from, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check =
        integrity(&src).map_err(|e| refused(from, format!("not a readable database: {e}")))?;
    if check != "ok" {
        return Err(refused(from, format!("fails integrity_check: {check}")));
    }
    let tables: i64 = src.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN ('stories', 'copies', 'sources')",
        [],
        |r| r.get(0),
    )?;
    if tables != 3 {
        return Err(refused(
            from,
            "not a newsriver database (no stories, copies and sources tables)",
        ));
    }
    let version: i64 = src.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION as i64 {
        return Err(refused(
            from,
            format!(
                "made by a newer newsriver (schema {version}, this one knows {})",
                SCHEMA_VERSION
            ),
        ));
    }
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let tmp = temp_beside(db, "restore");
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let info = checked_copy(&src, &tmp)?;
        drop(src);
        if db.exists() {
            // Fold the current WAL into the file and close it: with nobody
            // else attached the -wal and -shm are deleted. Another process
            // inside a transaction shows up as a busy checkpoint: refuse
            // rather than swap the file under it (one that merely holds the
            // file open is not seen; the caller checks for the daemon).
            let current = open_existing(db, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
            let busy: i64 =
                current.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy != 0 {
                return Err(refused(
                    db,
                    "another process has the database open; stop every newsriver process first",
                ));
            }
            drop(current);
        }
        for suffix in ["-wal", "-shm"] {
            let stale = with_suffix(db, suffix);
            match std::fs::remove_file(&stale) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err(&stale)(e)),
            }
        }
        std::fs::rename(&tmp, db).map_err(io_err(db))?;
        sync_file_and_dir(db)?;
        Ok(info)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
