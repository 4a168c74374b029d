//! The embedded study store: one SQLite file in WAL mode.
//!
//! WAL lets `s3tune report` read while a tuner writes; claims take the write lock up
//! front (`BEGIN IMMEDIATE`), so processes sharing the file claim one after another and
//! each sees the others' running trials. A busy timeout makes them wait for the lock
//! instead of failing. Heartbeats are stamped with this machine's clock, which every
//! process sharing the file shares.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

mod open;

use super::rows::{claimed, config_text, history_of, next_number, next_step};
use super::{
    Claim, RawStudy, RawTrial, Store, StoreError, StoredSpec, Study, StudySpec, TrialRecord,
    check_same, from_ms, status_name, to_ms,
};
use crate::history::{History, Metrics, Status};
use crate::searcher::{SearchError, Suggestion};

/// A study store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    path: String,
    conn: Mutex<Connection>,
}

impl SqliteStore {
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

    fn records(&self, conn: &Connection, study: &Study) -> Result<Vec<TrialRecord>, StoreError> {
        let raw = read_trials(conn, study).map_err(|e| self.db(e))?;
        raw.into_iter().map(|t| t.parse(&study.spec.name)).collect()
    }

    /// An update of a running trial that touched no row: the trial ended, or never was.
    fn not_updated(&self, conn: &Connection, study: &Study, trial: u64) -> StoreError {
        let exists = conn
            .query_row(
                "SELECT 1 FROM trials WHERE study = ?1 AND number = ?2",
                params![study.id, trial as i64],
                |_| Ok(()),
            )
            .optional();
        match exists {
            Ok(Some(())) => StoreError::NotRunning {
                study: study.spec.name.clone(),
                trial,
            },
            Ok(None) => StoreError::NoTrial {
                study: study.spec.name.clone(),
                trial,
            },
            Err(e) => self.db(e),
        }
    }

    /// Marks the running trials among `numbers` failed and lost.
    fn lose(
        &self,
        tx: &Connection,
        study: &Study,
        numbers: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let now = to_ms(SystemTime::now());
        let mut lost = Vec::new();
        for &n in numbers {
            let rows = tx
                .execute(
                    "UPDATE trials SET status = 'failed', lost = 1, error = ?1, finished_ms = ?2
                     WHERE study = ?3 AND number = ?4 AND status = 'running'",
                    params![reason, now, study.id, n as i64],
                )
                .map_err(|e| self.db(e))?;
            if rows > 0 {
                lost.push(n);
            }
        }
        Ok(lost)
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

fn read_trials(conn: &Connection, study: &Study) -> Result<Vec<RawTrial>, rusqlite::Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT number, config, status, reports, error, worker, started_ms, heartbeat_ms,
                finished_ms, lost, metrics
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
            lost: r.get(9)?,
            metrics: r.get(10)?,
        })
    })?;
    rows.collect()
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
        if let Some(raw) = read_study(&tx, &spec.name).map_err(|e| self.db(e))? {
            let study = raw.parse()?;
            check_same(&study, spec)?;
            return Ok(study);
        }
        let stored = StoredSpec::of(spec);
        let now = to_ms(SystemTime::now());
        tx.execute(
            "INSERT INTO studies (name, space, objective, searcher, scheduler, seed, settings,
                                  created_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                spec.name,
                stored.space,
                stored.objective,
                stored.searcher,
                stored.scheduler,
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
        self.records(&self.lock(), study)
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
        let records = self.records(&tx, study)?;
        let config = match suggest(&history_of(&records))? {
            Suggestion::Config(c) => c,
            Suggestion::Exhausted => return Ok(Claim::Exhausted),
        };
        study.spec.space.encode(&config)?;
        let number = next_number(&records);
        let (text, hash) = config_text(&config);
        let now = SystemTime::now();
        tx.execute(
            "INSERT INTO trials (study, number, config, config_hash, status, reports, worker,
                                 started_ms, heartbeat_ms)
             VALUES (?1, ?2, ?3, ?4, 'running', '[]', ?5, ?6, ?6)",
            params![study.id, number as i64, text, hash, worker, to_ms(now)],
        )
        .map_err(|e| self.db(e))?;
        tx.commit().map_err(|e| self.db(e))?;
        Ok(Claim::Trial(claimed(number, config, worker, now)))
    }

    fn report(
        &self,
        study: &Study,
        trial: u64,
        value: f64,
        metrics: &Metrics,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let stored: Option<(String, String)> = tx
            .query_row(
                "SELECT reports, metrics FROM trials
                 WHERE study = ?1 AND number = ?2 AND status = 'running'",
                params![study.id, trial as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        let Some((reports, measured)) = stored else {
            return Err(self.not_updated(&tx, study, trial));
        };
        let (reports, measured) = next_step(study, trial, &reports, &measured, value, metrics)?;
        tx.execute(
            "UPDATE trials SET reports = ?1, metrics = ?2, heartbeat_ms = ?3
             WHERE study = ?4 AND number = ?5",
            params![
                reports,
                measured,
                to_ms(SystemTime::now()),
                study.id,
                trial as i64
            ],
        )
        .map_err(|e| self.db(e))?;
        tx.commit().map_err(|e| self.db(e))
    }

    fn heartbeat(&self, study: &Study, trial: u64) -> Result<(), StoreError> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE trials SET heartbeat_ms = ?1
                 WHERE study = ?2 AND number = ?3 AND status = 'running'",
                params![to_ms(SystemTime::now()), study.id, trial as i64],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(self.not_updated(&conn, study, trial));
        }
        Ok(())
    }

    fn finish(
        &self,
        study: &Study,
        trial: u64,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let conn = self.lock();
        let n = conn
            .execute(
                "UPDATE trials SET status = ?1, error = ?2, finished_ms = ?3, heartbeat_ms = ?3
                 WHERE study = ?4 AND number = ?5 AND status = 'running'",
                params![
                    status_name(status),
                    error,
                    to_ms(SystemTime::now()),
                    study.id,
                    trial as i64
                ],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(self.not_updated(&conn, study, trial));
        }
        Ok(())
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
        super::parse_notes(study, rows)
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
        let cutoff = to_ms(
            SystemTime::now()
                .checked_sub(older_than)
                .unwrap_or(SystemTime::UNIX_EPOCH),
        );
        let numbers: Vec<u64> = {
            let mut stmt = tx
                .prepare(
                    "SELECT number FROM trials
                     WHERE study = ?1 AND status = 'running' AND heartbeat_ms <= ?2",
                )
                .map_err(|e| self.db(e))?;
            stmt.query_map(params![study.id, cutoff], |r| r.get::<_, i64>(0))
                .and_then(Iterator::collect::<Result<Vec<i64>, _>>)
                .map_err(|e| self.db(e))?
                .into_iter()
                .map(|n| n as u64)
                .collect()
        };
        let lost = self.lose(&tx, study, &numbers, reason)?;
        tx.commit().map_err(|e| self.db(e))?;
        Ok(lost)
    }

    fn fail_trials(
        &self,
        study: &Study,
        trials: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let lost = self.lose(&tx, study, trials, reason)?;
        tx.commit().map_err(|e| self.db(e))?;
        Ok(lost)
    }
}
