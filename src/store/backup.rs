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
    let conn = rusqlite::Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            hint: open_hint(path, &source),
            source,
        })?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql::Error::from)?;
    Ok(conn.into())
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
/// The database that was replaced is kept beside it as
/// `<database>.before-restore-<UTC time>` (returned), so a restore from the
/// wrong backup can be undone by restoring that file.
pub fn restore(from: &Path, db: &Path) -> Result<(DbSummary, Option<PathBuf>)> {
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
        params![],
        |r| r.get(0),
    )?;
    if tables != 3 {
        return Err(refused(
            from,
            "not a newsriver database (no stories, copies and sources tables)",
        ));
    }
    let version: i64 = src.query_row("PRAGMA user_version", params![], |r| r.get(0))?;
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
                current.query_row("PRAGMA wal_checkpoint(TRUNCATE)", params![], |r| r.get(0))?;
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
        // The old file stays reachable under a second name (a hard link:
        // nothing is copied, and the swap below is still one rename).
        let kept = if db.exists() {
            let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string();
            let kept = (1..)
                .map(|n| match n {
                    1 => with_suffix(db, &format!(".before-restore-{stamp}")),
                    n => with_suffix(db, &format!(".before-restore-{stamp}-{n}")),
                })
                .find(|p| !p.exists())
                .unwrap_or_else(|| with_suffix(db, ".before-restore"));
            std::fs::hard_link(db, &kept)
                .or_else(|_| std::fs::copy(db, &kept).map(|_| ()))
                .map_err(io_err(&kept))?;
            Some(kept)
        } else {
            None
        };
        std::fs::rename(&tmp, db).map_err(io_err(db))?;
        sync_file_and_dir(db)?;
        Ok((info, kept))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The writers' lock file beside the database (`<database>.writers`):
/// every `Writer` (`poll`, `run`, `sources remove --purge`) holds a shared
/// lock on it while its connection is open, `restore` an exclusive one
/// while it replaces the file. Shared, so that writers do not exclude each
/// other (SQLite serializes their transactions; `sources remove --purge`
/// runs beside the daemon); the daemon's own lock (`<database>.lock`, one
/// daemon per database) is another file. Never removed (removing a lock
/// file others may have open races with them).
pub fn writers_lock_file(db: &Path) -> PathBuf {
    with_suffix(db, ".writers")
}

/// A lock on the writers' lock file (`writers_lock_file`): shared for a
/// `Writer`, exclusive for `restore`; released when dropped or when the
/// process dies (an flock).
#[derive(Debug)]
pub struct WritersLock {
    _file: std::fs::File,
}

/// Opens the writers' lock file, creating it if needed; read-only when it
/// exists but this user may not write it (an flock needs no write access).
fn open_lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let rw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    match rw {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && path.exists() => {
            std::fs::File::open(path)
        }
        other => other,
    }
}

/// The shared lock a `Writer` holds. Refused, naming the process, while a
/// `restore` holds it exclusively. `None` when the lock file cannot be
/// opened at all (a folder this user may not write, a full disk): the
/// database's own open then says what is wrong, and a `restore` could not
/// replace the file there either.
pub(super) fn lock_writers_shared(db: &Path) -> Result<Option<WritersLock>> {
    let path = writers_lock_file(db);
    let file = match open_lock_file(&path) {
        Ok(f) => f,
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "no writers' lock file");
            return Ok(None);
        }
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(WritersLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Err(refused(
            db,
            format!(
                "a restore is replacing this database ({}); try again when it has finished",
                holders_text(&path, "it holds")
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

/// The exclusive lock `restore` takes: refused, naming the processes,
/// while any writer (`poll`, `run`, `sources remove --purge`) has the
/// database open, since it would go on writing to the replaced (unlinked)
/// file and its work would be lost.
pub fn lock_for_restore(db: &Path) -> Result<WritersLock> {
    let path = writers_lock_file(db);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    }
    let file = open_lock_file(&path).map_err(io_err(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(WritersLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(refused(
            db,
            format!(
                "newsriver is writing to this database ({}); let it finish or stop it, then restore",
                holders_text(&path, "they hold")
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(io_err(&path)(e)),
    }
}

/// "pid 12 (`newsriver poll`) holds <path>" for the processes holding an
/// flock on `path`, or "another process holds <path>" when they cannot be
/// found.
fn holders_text(path: &Path, verb: &str) -> String {
    let holders = lock_holders(path);
    if holders.is_empty() {
        return format!("another process holds {}", path.display());
    }
    let who: Vec<String> = holders
        .iter()
        .map(|(pid, cmd)| match cmd {
            Some(cmd) => format!("pid {pid}: `{cmd}`"),
            None => format!("pid {pid}"),
        })
        .collect();
    format!("{}; {verb} {}", who.join(", "), path.display())
}

/// The processes holding an flock on `path`, with their command lines,
/// from Linux's `/proc/locks` (empty elsewhere or when it cannot be read).
/// By hand: no crate reads `/proc/locks`, and `fcntl(F_GETLK)` sees only
/// POSIX locks, not flocks.
fn lock_holders(path: &Path) -> Vec<(u32, Option<String>)> {
    use std::os::unix::fs::MetadataExt as _;
    let (Ok(meta), Ok(locks)) = (
        std::fs::metadata(path),
        std::fs::read_to_string("/proc/locks"),
    ) else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = locks
        .lines()
        .filter_map(|line| flock_holder(line, meta.dev(), meta.ino()))
        .filter(|pid| *pid != std::process::id())
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids.into_iter()
        .map(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline"))
                .ok()
                .map(|raw| {
                    let words: Vec<String> = raw
                        .split(|b| *b == 0)
                        .filter(|w| !w.is_empty())
                        .map(|w| String::from_utf8_lossy(w).into_owned())
                        .collect();
                    words.join(" ")
                })
                .filter(|c| !c.is_empty());
            (pid, cmd)
        })
        .collect()
}

/// The pid of one `/proc/locks` line (`1: FLOCK  ADVISORY  READ 1234
/// 08:01:5678 0 EOF`) when it is an flock on the file `dev`/`ino`. The
/// device is `major:minor` in hexadecimal (Linux's `MAJOR`/`MINOR` of
/// `st_dev`).
fn flock_holder(line: &str, dev: u64, ino: u64) -> Option<u32> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    // A blocked waiter's line has "->" before its kind; it holds nothing.
    if fields.get(1) != Some(&"FLOCK") {
        return None;
    }
    let pid: u32 = fields.get(4)?.parse().ok()?;
    let mut id = fields.get(5)?.rsplitn(2, ':');
    let inode: u64 = id.next()?.parse().ok()?;
    let (major, minor) = id.next()?.split_once(':')?;
    let major = u64::from_str_radix(major, 16).ok()?;
    let minor = u64::from_str_radix(minor, 16).ok()?;
    let dev_major = ((dev >> 32) & 0xffff_f000) | ((dev >> 8) & 0x0fff);
    let dev_minor = ((dev >> 12) & 0xffff_ff00) | (dev & 0x00ff);
    (inode == ino && major == dev_major && minor == dev_minor).then_some(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proc_locks_line_names_the_flock_holder_of_the_file() {
        // st_dev 0x803 is major 8, minor 3.
        let line = "1: FLOCK  ADVISORY  READ  4242 08:03:5678 0 EOF";
        assert_eq!(flock_holder(line, 0x803, 5678), Some(4242));
        assert_eq!(flock_holder(line, 0x803, 5679), None);
        assert_eq!(flock_holder(line, 0x804, 5678), None);
        let posix = "2: POSIX  ADVISORY  WRITE 4242 08:03:5678 0 EOF";
        assert_eq!(flock_holder(posix, 0x803, 5678), None);
        let waiter = "1: -> FLOCK  ADVISORY  WRITE 77 08:03:5678 0 EOF";
        assert_eq!(flock_holder(waiter, 0x803, 5678), None);
        assert_eq!(flock_holder("garbage", 0x803, 5678), None);
    }

    #[test]
    fn writers_share_the_lock_and_restore_is_refused_while_one_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("news.db");
        let a = lock_writers_shared(&db).unwrap();
        let b = lock_writers_shared(&db).unwrap();
        assert!(a.is_some() && b.is_some());
        let refused = lock_for_restore(&db).unwrap_err().to_string();
        assert!(refused.contains("is writing to this database"), "{refused}");
        drop((a, b));
        let restoring = lock_for_restore(&db).unwrap();
        let refused = lock_writers_shared(&db).unwrap_err().to_string();
        assert!(refused.contains("a restore is replacing"), "{refused}");
        drop(restoring);
        assert!(lock_writers_shared(&db).unwrap().is_some());
    }
}
