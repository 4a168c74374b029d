//! The shared study store: PostgreSQL, for workers on any number of machines, with no
//! coordinator but the database.
//!
//! - Claims lock the study's row (`SELECT … FOR UPDATE`) for the length of
//!   suggest-and-claim, so the claims of one study follow one another across every
//!   process, and each sees every other worker's running trials. Reports, heartbeats
//!   and other studies are not held up.
//! - Heartbeats and staleness use the *server's* clock (`clock_timestamp()`), so workers
//!   whose clocks disagree still agree on which trial is stale.
//! - Tables are prefixed `s3tune_` (the database may hold other things); the schema is
//!   created, and will be migrated, by s3tune itself under an advisory lock, so many
//!   workers may start on an empty database at once.
//! - The [`Store`] trait is synchronous (the searcher runs inside the claim's
//!   transaction), like SQLite's. The connection is driven by a runtime on a thread of
//!   its own, and each call waits for its answer, so the store works from any thread,
//!   inside an async runtime or not.
//!
//! The password comes from the URL, or from `PGPASSWORD` as libpq reads it; the user
//! from the URL, `PGUSER` or the login name; TLS as libpq's `sslmode` and `sslrootcert`
//! say (see [`crate::store::tls`]).

use std::sync::Mutex;
use std::time::Duration;

use futures::executor::block_on;
use tokio_postgres::Client;

mod connect;
mod queries;

use queries::numbers_of;

use super::rows::{claimed, config_text, history_of, next_number, next_step};
use super::{
    Claim, Store, StoreError, StoredSpec, Study, StudySpec, TrialRecord, check_same, from_ms,
    status_name,
};
use crate::history::{History, Metrics, Status};
use crate::searcher::{SearchError, Suggestion};

/// The server's clock, in milliseconds since the Unix epoch.
const NOW_MS: &str = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

/// A study store in a PostgreSQL database.
pub struct PostgresStore {
    location: String,
    client: Mutex<Client>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// What went wrong, in one line (the server's own message when it sent one).
fn reason(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        let c_text = c.to_string();
        if !text.contains(&c_text) {
            text = format!("{text}: {c_text}");
        }
        cause = c.source();
    }
    text
}

impl PostgresStore {
    fn db(&self, e: &tokio_postgres::Error) -> StoreError {
        StoreError::Database {
            location: self.location.clone(),
            reason: reason(e),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Client> {
        // A panic mid-transaction drops the transaction, which rolls it back.
        self.client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Store for PostgresStore {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn open_or_create(&self, spec: &StudySpec) -> Result<Study, StoreError> {
        if let Some(study) = self.study(&spec.name)? {
            check_same(&study, spec)?;
            return Ok(study);
        }
        let stored = StoredSpec::of(spec);
        let created = {
            let client = self.lock();
            block_on(async {
                client
                    .query_opt(
                        &format!(
                            "INSERT INTO s3tune_studies (name, space, objective, searcher,
                                 scheduler, seed, settings, created_ms)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, {NOW_MS})
                             ON CONFLICT (name) DO NOTHING
                             RETURNING id, created_ms"
                        ),
                        &[
                            &spec.name,
                            &stored.space,
                            &stored.objective,
                            &stored.searcher,
                            &stored.scheduler,
                            &(spec.seed as i64),
                            &spec.settings.to_string(),
                        ],
                    )
                    .await
                    .map_err(|e| self.db(&e))
            })?
        };
        match created {
            Some(row) => Ok(Study {
                id: row.get(0),
                spec: spec.clone(),
                created: from_ms(row.get(1)),
            }),
            // Another process created it first: join it, if it is the same study.
            None => {
                let study = self
                    .study(&spec.name)?
                    .ok_or_else(|| StoreError::NoStudy(spec.name.clone()))?;
                check_same(&study, spec)?;
                Ok(study)
            }
        }
    }

    fn study(&self, name: &str) -> Result<Option<Study>, StoreError> {
        let client = self.lock();
        block_on(self.read_study(&*client, name))
    }

    fn studies(&self) -> Result<Vec<String>, StoreError> {
        let client = self.lock();
        let rows = block_on(client.query("SELECT name FROM s3tune_studies ORDER BY id", &[]))
            .map_err(|e| self.db(&e))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn trials(&self, study: &Study) -> Result<Vec<TrialRecord>, StoreError> {
        let client = self.lock();
        block_on(self.records(&*client, study))
    }

    fn claim(
        &self,
        study: &Study,
        worker: &str,
        suggest: &mut dyn FnMut(&History) -> Result<Suggestion, SearchError>,
    ) -> Result<Claim, StoreError> {
        let mut client = self.lock();
        block_on(async {
            let db = |e: tokio_postgres::Error| self.db(&e);
            let tx = client.transaction().await.map_err(db)?;
            // Claims of this study wait here for one another.
            tx.query_opt(
                "SELECT id FROM s3tune_studies WHERE id = $1 FOR UPDATE",
                &[&study.id],
            )
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::NoStudy(study.spec.name.clone()))?;
            let records = self.records(&tx, study).await?;
            let config = match suggest(&history_of(&records))? {
                Suggestion::Config(c) => c,
                Suggestion::Exhausted => return Ok(Claim::Exhausted),
            };
            study.spec.space.encode(&config)?;
            let number = next_number(&records);
            let (text, hash) = config_text(&config);
            let row = tx
                .query_one(
                    &format!(
                        "INSERT INTO s3tune_trials (study, number, config, config_hash, status,
                             reports, worker, started_ms, heartbeat_ms)
                         VALUES ($1, $2, $3, $4, 'running', '[]', $5, {NOW_MS}, {NOW_MS})
                         RETURNING started_ms"
                    ),
                    &[&study.id, &(number as i64), &text, &hash, &worker],
                )
                .await
                .map_err(db)?;
            tx.commit().await.map_err(db)?;
            Ok(Claim::Trial(claimed(
                number,
                config,
                worker,
                from_ms(row.get(0)),
            )))
        })
    }

    fn report(
        &self,
        study: &Study,
        trial: u64,
        value: f64,
        metrics: &Metrics,
    ) -> Result<(), StoreError> {
        let mut client = self.lock();
        block_on(async {
            let db = |e: tokio_postgres::Error| self.db(&e);
            let tx = client.transaction().await.map_err(db)?;
            let number = trial as i64;
            let Some(row) = tx
                .query_opt(
                    "SELECT reports, metrics FROM s3tune_trials
                     WHERE study = $1 AND number = $2 AND status = 'running' FOR UPDATE",
                    &[&study.id, &number],
                )
                .await
                .map_err(db)?
            else {
                return Err(self.not_updated(&tx, study, trial).await);
            };
            let (reports, measured) =
                next_step(study, trial, row.get(0), row.get(1), value, metrics)?;
            tx.execute(
                &format!(
                    "UPDATE s3tune_trials SET reports = $3, metrics = $4, heartbeat_ms = {NOW_MS}
                     WHERE study = $1 AND number = $2"
                ),
                &[&study.id, &number, &reports, &measured],
            )
            .await
            .map_err(db)?;
            tx.commit().await.map_err(db)
        })
    }

    fn heartbeat(&self, study: &Study, trial: u64) -> Result<(), StoreError> {
        self.update_running(
            study,
            trial,
            &format!(
                "UPDATE s3tune_trials SET heartbeat_ms = {NOW_MS}
                 WHERE study = $1 AND number = $2 AND status = 'running'"
            ),
            &[],
        )
    }

    fn finish(
        &self,
        study: &Study,
        trial: u64,
        status: Status,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        self.update_running(
            study,
            trial,
            &format!(
                "UPDATE s3tune_trials
                 SET status = $3, error = $4, finished_ms = {NOW_MS}, heartbeat_ms = {NOW_MS}
                 WHERE study = $1 AND number = $2 AND status = 'running'"
            ),
            &[&status_name(status), &error],
        )
    }

    fn put_note(
        &self,
        study: &Study,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let client = self.lock();
        block_on(client.execute(
            "INSERT INTO s3tune_notes (study, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (study, key) DO UPDATE SET value = excluded.value",
            &[&study.id, &key, &value.to_string()],
        ))
        .map_err(|e| self.db(&e))?;
        Ok(())
    }

    fn notes(
        &self,
        study: &Study,
    ) -> Result<std::collections::BTreeMap<String, serde_json::Value>, StoreError> {
        let client = self.lock();
        let rows = block_on(client.query(
            "SELECT key, value FROM s3tune_notes WHERE study = $1 ORDER BY key",
            &[&study.id],
        ))
        .map_err(|e| self.db(&e))?;
        super::parse_notes(study, rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn fail_stale(
        &self,
        study: &Study,
        older_than: Duration,
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let client = self.lock();
        let older = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
        let rows = block_on(client.query(
            &format!(
                "UPDATE s3tune_trials
                 SET status = 'failed', lost = TRUE, error = $1, finished_ms = {NOW_MS}
                 WHERE study = $2 AND status = 'running' AND heartbeat_ms <= {NOW_MS} - $3
                 RETURNING number"
            ),
            &[&reason, &study.id, &older],
        ))
        .map_err(|e| self.db(&e))?;
        let mut lost = numbers_of(&rows);
        lost.sort_unstable();
        Ok(lost)
    }

    fn fail_trials(
        &self,
        study: &Study,
        trials: &[u64],
        reason: &str,
    ) -> Result<Vec<u64>, StoreError> {
        let client = self.lock();
        let mut lost = block_on(self.lose(&*client, study, trials, reason))?;
        lost.sort_unstable();
        Ok(lost)
    }
}
