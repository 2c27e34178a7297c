//! Owner-only permissions for the embedded store's files (unix).
//!
//! The data directory holds the SQLite database (password hashes, session
//! records, the audit trail) and the master key that unseals signing keys:
//! nobody but the service's own user should read any of it. The directory
//! is created 0700. The database file is created 0600 *before* SQLite opens
//! it, because SQLite would create it 0644 (less the umask) and gives its
//! `-wal` and `-shm` files the database file's mode (`os_unix.c`,
//! `findCreateFileMode` and `unixOpenSharedMemory`). A database file, or
//! one of those companions, already readable by group or others is
//! tightened to 0600 with a warning. Elsewhere than unix these are plain
//! creations.
use std::io;
use std::path::{Path, PathBuf};

/// Mode of the data directory.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
/// Mode of the database file and its companions.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;
/// Files SQLite keeps beside the database, with the database file's mode.
const COMPANIONS: &[&str] = &["-wal", "-shm", "-journal"];

/// Creates the data directory (and missing parents) owner-only. An
/// existing directory is left as it is, with a warning if others can enter
/// it: it may be shared on purpose, and the files in it are private anyway.
pub fn create_data_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(dir = %dir.display(), mode = format!("{mode:o}"), "data directory is open to group or others");
        }
    }
    Ok(())
}

/// Makes sure the SQLite database file exists with mode 0600 before SQLite
/// opens it, and that neither it nor a companion file is readable by others.
pub fn prepare_database_file(path: &Path) -> io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    // Create if missing; never truncate an existing database.
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    drop(options.open(path)?);
    tighten(path)?;
    for suffix in COMPANIONS {
        let companion = with_suffix(path, suffix);
        match tighten(&companion) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name, as SQLite names the
/// files it keeps beside a database.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Sets an existing file readable by group or others to 0600, with a warning.
#[cfg(unix)]
fn tighten(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        tracing::warn!(file = %path.display(), mode = format!("{mode:o}"), "database file was open to group or others; set to 600");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(FILE_MODE))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn tighten(path: &Path) -> io::Result<()> {
    std::fs::metadata(path).map(drop)
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn new_directories_and_database_files_are_owner_only() {
        let tmp = tempfile::TempDir::new().unwrap();
        let dir = tmp.path().join("a/b");
        create_data_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700, "missing parents too");
        let db = dir.join("x.db");
        prepare_database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
    }

    #[test]
    fn existing_files_open_to_others_are_tightened_and_kept() {
        let tmp = tempfile::TempDir::new().unwrap();
        let db = tmp.path().join("x.db");
        std::fs::write(&db, b"contents").unwrap();
        std::fs::write(with_suffix(&db, "-wal"), b"log").unwrap();
        for file in [db.clone(), with_suffix(&db, "-wal")] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        prepare_database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&with_suffix(&db, "-wal")), 0o600);
        assert_eq!(std::fs::read(&db).unwrap(), b"contents", "never truncated");
        assert!(!with_suffix(&db, "-shm").exists(), "companions are not created");
    }
}
