//! The embedded study store: one SQLite file in WAL mode.
//!
//! WAL lets `s3tune report` read while a tuner writes; claims take the write lock up
//! front (`BEGIN IMMEDIATE`), so processes sharing the file claim one after another and
//! each sees the others' running trials. A busy timeout makes them wait for the lock
//! instead of failing.

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Claim, Store, StoreError, StoredSpec, Study, StudySpec, TrialRecord, from_ms, parse_status,
    status_name, to_ms,
};
use crate::history::{History, Objective, Status, Trial};
use crate::searcher::{SearchError, Suggestion};
use crate::space::{Config, Space, config_hash};

/// The schema; `user_version` tells its revision.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS studies (
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
CREATE TABLE IF NOT EXISTS trials (
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
    PRIMARY KEY (study, number)
);
CREATE TABLE IF NOT EXISTS notes (
    study  INTEGER NOT NULL REFERENCES studies(id),
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (study, key)
);
PRAGMA user_version = 1;
";

/// A study store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: String,
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`; its folder must exist.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let location = path.as_ref().display().to_string();
        let db = |e: rusqlite::Error| StoreError::Database {
            location: location.clone(),
            reason: e.to_string(),
        };
        let conn = Connection::open(path.as_ref()).map_err(db)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(db)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| StoreError::Database {
                location: location.clone(),
                reason: format!("not a study store ({e})"),
            })?;
        if version > 1 {
            return Err(StoreError::Database {
                location,
                reason: format!("schema version {version} is newer than this s3tune knows (1)"),
            });
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self {
            path: location,
            conn: Mutex::new(conn),
        })
    }

    fn db(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Database {
            location: self.path.clone(),
            reason: e.to_string(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no half-written transaction behind
        // (SQLite rolls it back), so the connection stays usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn read_study(conn: &Connection, name: &str) -> rusqlite::Result<Option<RawStudy>> {
    conn.query_row(
        "SELECT id, name, space, objective, searcher, scheduler, seed, settings, created_ms
         FROM studies WHERE name = ?1",
        [name],
        |r| {
            Ok(RawStudy {
                id: r.get(0)?,
                name: r.get(1)?,
                space: r.get(2)?,
                objective: r.get(3)?,
                searcher: r.get(4)?,
                scheduler: r.get(5)?,
                seed: r.get(6)?,
                settings: r.get(7)?,
                created_ms: r.get(8)?,
            })
        },
    )
    .optional()
}

/// A study row before its JSON fields are parsed.
struct RawStudy {
    id: i64,
    name: String,
    space: String,
    objective: String,
    searcher: String,
    scheduler: String,
    seed: i64,
    settings: String,
    created_ms: i64,
}

impl RawStudy {
    fn parse(self) -> Result<Study, StoreError> {
        let corrupt = |what: &str, reason: String| StoreError::Corrupt {
            study: self.name.clone(),
            what: what.into(),
            reason,
        };
        let space = Space::from_json(&self.space).map_err(|e| corrupt("space", e.to_string()))?;
        let objective: Objective = serde_json::from_str(&self.objective)
            .map_err(|e| corrupt("objective", e.to_string()))?;
        let settings =
            serde_json::from_str(&self.settings).map_err(|e| corrupt("settings", e.to_string()))?;
        Ok(Study {
            id: self.id,
            spec: StudySpec {
                name: self.name,
                space,
                objective,
                searcher: self.searcher,
                scheduler: self.scheduler,
                seed: self.seed as u64,
                settings,
            },
            created: from_ms(self.created_ms),
        })
    }
}

/// A trial row before its JSON fields are parsed.
struct RawTrial {
    number: i64,
    config: String,
    status: String,
    reports: String,
    error: Option<String>,
    worker: String,
    started_ms: i64,
    heartbeat_ms: i64,
    finished_ms: Option<i64>,
}

impl RawTrial {
    fn parse(self, study: &str) -> Result<TrialRecord, StoreError> {
        let corrupt = |what: &str, reason: String| StoreError::Corrupt {
            study: study.to_owned(),
            what: format!("trial {} {what}", self.number),
            reason,
        };
        let config: Config =
            serde_json::from_str(&self.config).map_err(|e| corrupt("config", e.to_string()))?;
        let reports: Vec<Option<f64>> =
            serde_json::from_str(&self.reports).map_err(|e| corrupt("reports", e.to_string()))?;
        let status = parse_status(&self.status)
            .ok_or_else(|| corrupt("status", format!("unknown status `{}`", self.status)))?;
        Ok(TrialRecord {
            trial: Trial {
                id: self.number as u64,
                config,
                status,
                // JSON has no NaN: a non-finite report is kept as null.
                reports: reports.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect(),
            },
            error: self.error,
            worker: self.worker,
            started: from_ms(self.started_ms),
            heartbeat: from_ms(self.heartbeat_ms),
            finished: self.finished_ms.map(from_ms),
        })
    }
}

fn read_trials(conn: &Connection, study: &Study) -> Result<Vec<RawTrial>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, config, status, reports, error, worker, started_ms, heartbeat_ms,
                finished_ms
         FROM trials WHERE study = ?1 ORDER BY number",
    )?;
    let rows = stmt.query_map([study.id], |r| {
        Ok(RawTrial {
            number: r.get(0)?,
            config: r.get(1)?,
            status: r.get(2)?,
            reports: r.get(3)?,
            error: r.get(4)?,
            worker: r.get(5)?,
            started_ms: r.get(6)?,
            heartbeat_ms: r.get(7)?,
            finished_ms: r.get(8)?,
        })
    })?;
    rows.collect()
}

/// An update that touched no row named a trial that does not exist.
fn one_trial(rows: usize, study: &Study, trial: u64) -> Result<(), StoreError> {
    if rows == 0 {
        return Err(StoreError::NoTrial {
            study: study.spec.name.clone(),
            trial,
        });
    }
    Ok(())
}

impl SqliteStore {
    fn parse_trials(
        &self,
        study: &Study,
        raw: Vec<RawTrial>,
    ) -> Result<Vec<TrialRecord>, StoreError> {
        raw.into_iter().map(|t| t.parse(&study.spec.name)).collect()
    }
}

impl Store for SqliteStore {
    fn location(&self) -> String {
        self.path.clone()
    }

    fn open_or_create(&self, spec: &StudySpec) -> Result<Study, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let stored = StoredSpec::of(spec);
        if let Some(raw) = read_study(&tx, &spec.name).map_err(|e| self.db(e))? {
            let study = raw.parse()?;
            let existing = StoredSpec::of(&study.spec);
            for (what, same) in [
                ("search space", existing.space == stored.space),
                ("objective", existing.objective == stored.objective),
            ] {
                if !same {
                    return Err(StoreError::Mismatch {
                        name: spec.name.clone(),
                        what: what.into(),
                    });
                }
            }
            return Ok(study);
        }
        let now = to_ms(SystemTime::now());
        tx.execute(
            "INSERT INTO studies (name, space, objective, searcher, scheduler, seed, settings,
                                  created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                spec.name,
                stored.space,
                stored.objective,
                spec.searcher,
                spec.scheduler,
                spec.seed as i64,
                spec.settings.to_string(),
                now
            ],
        )
        .map_err(|e| self.db(e))?;
        let id = tx.last_insert_rowid();
        tx.commit().map_err(|e| self.db(e))?;
        Ok(Study {
            id,
            spec: spec.clone(),
            created: from_ms(now),
        })
    }

    fn study(&self, name: &str) -> Result<Option<Study>, StoreError> {
        let conn = self.lock();
        read_study(&conn, name)
            .map_err(|e| self.db(e))?
            .map(RawStudy::parse)
            .transpose()
    }

    fn studies(&self) -> Result<Vec<String>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT name FROM studies ORDER BY id")
            .map_err(|e| self.db(e))?;
        let names = stmt
            .query_map([], |r| r.get(0))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        Ok(names)
    }

    fn trials(&self, study: &Study) -> Result<Vec<TrialRecord>, StoreError> {
        let raw = read_trials(&self.lock(), study).map_err(|e| self.db(e))?;
        self.parse_trials(study, raw)
    }

    fn claim(
        &self,
        study: &Study,
        worker: &str,
        suggest: &mut dyn FnMut(&History) -> Result<Suggestion, SearchError>,
    ) -> Result<Claim, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let raw = read_trials(&tx, study).map_err(|e| self.db(e))?;
        let records = self.parse_trials(study, raw)?;
        let history = History {
            trials: records.into_iter().map(|r| r.trial).collect(),
        };
        let config = match suggest(&history)? {
            Suggestion::Config(c) => c,
            Suggestion::Exhausted => return Ok(Claim::Exhausted),
        };
        study.spec.space.encode(&config)?;
        let number = history.trials.iter().map(|t| t.id).max().unwrap_or(0) + 1;
        let now = SystemTime::now();
        tx.execute(
            "INSERT INTO trials (study, number, config, config_hash, status, reports, worker,
                                 started_ms, heartbeat_ms)
             VALUES (?1, ?2, ?3, ?4, 'running', '[]', ?5, ?6, ?6)",
            params![
                study.id,
                number as i64,
                serde_json::to_string(&config).expect("configurations serialize"),
                format!("{:016x}", config_hash(&config)),
                worker,
                to_ms(now)
            ],
        )
        .map_err(|e| self.db(e))?;
        tx.commit().map_err(|e| self.db(e))?;
        Ok(Claim::Trial(TrialRecord {
            trial: Trial {
                id: number,
                config,
                status: Status::Pending,
                reports: Vec::new(),
            },
            error: None,
            worker: worker.to_owned(),
            started: now,
            heartbeat: now,
            finished: None,
        }))
    }

    fn report(&self, study: &Study, trial: u64, value: f64) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let reports: Option<String> = tx
            .query_row(
                "SELECT reports FROM trials WHERE study = ?1 AND number = ?2",
                params![study.id, trial as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some(reports) = reports else {
            return Err(StoreError::NoTrial {
                study: study.spec.name.clone(),
                trial,
            });
        };
        let mut values: Vec<Option<f64>> =
            serde_json::from_str(&reports).map_err(|e| StoreError::Corrupt {
                study: study.spec.name.clone(),
                what: format!("trial {trial} reports"),
                reason: e.to_string(),
            })?;
        values.push(value.is_finite().then_some(value));
        tx.execute(
            "UPDATE trials SET reports = ?1, heartbeat_ms = ?2 WHERE study = ?3 AND number = ?4",
            params![
                serde_json::to_string(&values).expect("reports serialize"),
                to_ms(SystemTime::now()),
                study.id,
                trial as i64
            ],
        )
        .map_err(|e| self.db(e))?;
        tx.commit().map_err(|e| self.db(e))
    }

    fn heartbeat(&self, study: &Study, trial: u64) -> Result<(), StoreError> {
        let n = self
            .lock()
            .execute(
                "UPDATE trials SET heartbeat_ms = ?1 WHERE study = ?2 AND number = ?3",
                params![to_ms(SystemTime::now()), study.id, trial as i64],
            )
            .map_err(|e| self.db(e))?;
        one_trial(n, study, trial)
    }

    fn finish(
        &self,
        study: &Study,
        trial: u64,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = self
            .lock()
            .execute(
                "UPDATE trials SET status = ?1, error = ?2, finished_ms = ?3, heartbeat_ms = ?3
                 WHERE study = ?4 AND number = ?5",
                params![
                    status_name(status),
                    error,
                    to_ms(SystemTime::now()),
                    study.id,
                    trial as i64
                ],
            )
            .map_err(|e| self.db(e))?;
        one_trial(n, study, trial)
    }

    fn put_note(
        &self,
        study: &Study,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        self.lock()
            .execute(
                "INSERT INTO notes (study, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (study, key) DO UPDATE SET value = excluded.value",
                params![study.id, key, value.to_string()],
            )
            .map_err(|e| self.db(e))?;
        Ok(())
    }

    fn notes(
        &self,
        study: &Study,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare("SELECT key, value FROM notes WHERE study = ?1 ORDER BY key")
            .map_err(|e| self.db(e))?;
        let rows: Vec<(String, String)> = stmt
            .query_map([study.id], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(|e| self.db(e))?;
        rows.into_iter()
            .map(|(k, v)| {
                let parsed = serde_json::from_str(&v).map_err(|e| StoreError::Corrupt {
                    study: study.spec.name.clone(),
                    what: format!("note `{k}`"),
                    reason: e.to_string(),
                })?;
                Ok((k, parsed))
            })
            .collect()
    }

    fn fail_stale(
        &self,
        study: &Study,
        older_than: Duration,
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let now = SystemTime::now();
        let cutoff = to_ms(
            now.checked_sub(older_than)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        let mut numbers: Vec<u64> = Vec::new();
        {
            let mut stmt = tx
                .prepare(
                    "SELECT number FROM trials
                     WHERE study = ?1 AND status = 'running' AND heartbeat_ms <= ?2",
                )
                .map_err(|e| self.db(e))?;
            let rows = stmt
                .query_map(params![study.id, cutoff], |r| r.get::<_, i64>(0))
                .and_then(Iterator::collect::<Result<Vec<i64>, _>>)
                .map_err(|e| self.db(e))?;
            numbers.extend(rows.into_iter().map(|n| n as u64));
        }
        for n in &numbers {
            tx.execute(
                "UPDATE trials SET status = 'failed', error = ?1, finished_ms = ?2
                 WHERE study = ?3 AND number = ?4",
                params![reason, to_ms(now), study.id, *n as i64],
            )
            .map_err(|e| self.db(e))?;
        }
        tx.commit().map_err(|e| self.db(e))?;
        Ok(numbers)
    }
}
