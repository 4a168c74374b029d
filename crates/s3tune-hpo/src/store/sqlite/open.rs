//! Opening the file: made with the schema when new, migrated when older, refused when
//! newer; or opened only to read.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::SqliteStore;
use crate::store::StoreError;

/// The schema revision this code writes (`PRAGMA user_version`).
const VERSION: i64 = 3;

/// The schema of revision 3, for a new file.
const SCHEMA: &str = "
CREATE TABLE studies (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    space       TEXT NOT NULL,
    objective   TEXT NOT NULL,
    searcher    TEXT NOT NULL,
    scheduler   TEXT NOT NULL,
    seed        INTEGER NOT NULL,
    settings    TEXT NOT NULL,
    created_ms  INTEGER NOT NULL
);
CREATE TABLE trials (
    study        INTEGER NOT NULL REFERENCES studies(id),
    number       INTEGER NOT NULL,
    config       TEXT NOT NULL,
    config_hash  TEXT NOT NULL,
    status       TEXT NOT NULL,
    reports      TEXT NOT NULL,
    error        TEXT,
    worker       TEXT NOT NULL,
    started_ms   INTEGER NOT NULL,
    heartbeat_ms INTEGER NOT NULL,
    finished_ms  INTEGER,
    lost         INTEGER NOT NULL DEFAULT 0,
    metrics      TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (study, number)
);
CREATE TABLE notes (
    study  INTEGER NOT NULL REFERENCES studies(id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (study, key)
);
";

/// The schema revision of the store open as `conn` (0: none yet), with the wait for
/// other processes' locks set.
fn revision(conn: &Connection, location: &str) -> Result<i64, StoreError> {
    let db = |reason: String| StoreError::Database {
        location: location.to_owned(),
        reason,
    };
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(|e| db(e.to_string()))?;
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| db(format!("not a study store ({e})")))
}

/// Revision 1 → 2: trials lost with their worker are told from failed ones.
const MIGRATE_1_2: &str = "ALTER TABLE trials ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;";

/// Revision 2 → 3: what each report measured besides the objective (memory, CPU, …).
const MIGRATE_2_3: &str = "ALTER TABLE trials ADD COLUMN metrics TEXT NOT NULL DEFAULT '[]';";

impl SqliteStore {
    /// Opens the store at `path` only to read it: nothing is created or changed (a
    /// missing file, or one that holds no studies, is an error). For reports of a study
    /// that may be running elsewhere. A file of an older revision must be opened for
    /// writing once first, which migrates it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let location = path.as_ref().display().to_string();
        let db = |e: rusqlite::Error| StoreError::Database {
            location: location.clone(),
            reason: e.to_string(),
        };
        if !path.as_ref().is_file() {
            return Err(StoreError::Database {
                location,
                reason: "no such file".to_owned(),
            });
        }
        let conn = Connection::open_with_flags(
            path.as_ref(),
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(db)?;
        let version = revision(&conn, &location)?;
        match version {
            VERSION => Ok(Self {
                path: location,
                conn: Mutex::new(conn),
            }),
            0 => Err(StoreError::Database {
                location,
                reason: "not a study store (it holds no s3tune studies)".to_owned(),
            }),
            v if v > VERSION => Err(too_new(location, v)),
            _ => Err(StoreError::Database {
                location,
                reason: "made by an older s3tune: run `s3tune tune` or `s3tune worker` on it once, which updates it".to_owned(),
            }),
        }
    }

    /// Opens (creating if needed) the store at `path`; its folder must exist. A file of
    /// an older revision is migrated; one of a newer revision is refused.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let location = path.as_ref().display().to_string();
        let db = |e: rusqlite::Error| StoreError::Database {
            location: location.clone(),
            reason: e.to_string(),
        };
        let mut conn = Connection::open(path.as_ref()).map_err(db)?;
        let version = revision(&conn, &location)?;
        if version > VERSION {
            return Err(too_new(location, version));
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        if version < VERSION {
            // Several processes may open a new file at once: one creates, the others see.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db)?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .map_err(db)?;
            match version {
                0 => tx.execute_batch(SCHEMA).map_err(db)?,
                1 => tx
                    .execute_batch(&format!("{MIGRATE_1_2}{MIGRATE_2_3}"))
                    .map_err(db)?,
                2 => tx.execute_batch(MIGRATE_2_3).map_err(db)?,
                VERSION => {}
                v => return Err(too_new(location, v)),
            }
            tx.pragma_update(None, "user_version", VERSION)
                .map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(Self {
            path: location,
            conn: Mutex::new(conn),
        })
    }
}

fn too_new(location: String, version: i64) -> StoreError {
    StoreError::Database {
        location,
        reason: format!(
            "schema version {version} is newer than this s3tune knows ({VERSION}); use a newer s3tune"
        ),
    }
}
